//! Views made from data that changes under them (the agent list, Runtime Reachability), kept
//! for a moment so that a busy portal does not make the same view for every request.
//!
//! A view is kept under a key that names what it was made from (change counters, store
//! generations, the caller's scope and filters), and for a maximum age: the key cannot name
//! everything (heartbeat times move on every ping), so age bounds what shows late. The key is
//! read before the view is made, so a view made from data newer than its key only costs one
//! more making on the next request; never an old view under a new key.
//!
//! When a view of an unchanged key ages, one caller makes it again while the others are
//! answered with the aged one (up to twice the maximum age): at ten thousand agents making a
//! view takes tens of milliseconds, and four page loads arriving meanwhile each making their
//! own was most of the portal's CPU in the fleet benchmark.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Up to `max_kept` views, each answered again while its key is asked for and it is younger
/// than `max_age`.
#[derive(Debug)]
pub struct Recent<K, V> {
    max_age: Duration,
    max_kept: usize,
    kept: Mutex<Vec<Kept<K, V>>>,
}

#[derive(Debug)]
struct Kept<K, V> {
    key: K,
    made: Instant,
    view: Arc<V>,
    /// A caller is making this key's view again (see the module docs).
    remaking: bool,
}

impl<K: PartialEq, V> Recent<K, V> {
    /// Keeps up to `max_kept` views (at least one), each for less than `max_age`.
    pub fn new(max_age: Duration, max_kept: usize) -> Recent<K, V> {
        Recent {
            max_age,
            max_kept: max_kept.max(1),
            kept: Mutex::new(Vec::new()),
        }
    }

    /// The view of `key` at `now`: a kept one, or one made by `make` (and kept when made).
    /// A failure is answered and not kept.
    pub fn get_or_make<E>(
        &self,
        key: K,
        now: Instant,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        if let Some(k) = self.lock().iter_mut().find(|k| k.key == key) {
            let age = now.saturating_duration_since(k.made);
            if age < self.max_age || (k.remaking && age < self.max_age * 2) {
                return Ok(Arc::clone(&k.view));
            }
            k.remaking = true;
        }
        // Made outside the lock, so that no hit waits for it. Concurrent callers of a key
        // nothing is kept for each make their own: a new key follows a change, which is rare.
        let view = match make() {
            Ok(view) => Arc::new(view),
            Err(e) => {
                if let Some(k) = self.lock().iter_mut().find(|k| k.key == key) {
                    k.remaking = false;
                }
                return Err(e);
            }
        };
        let mut kept = self.lock();
        kept.retain(|k| k.key != key);
        if kept.len() >= self.max_kept
            && let Some((oldest, _)) = kept.iter().enumerate().min_by_key(|(_, k)| k.made)
        {
            kept.swap_remove(oldest);
        }
        kept.push(Kept {
            key,
            made: now,
            view: Arc::clone(&view),
            remaking: false,
        });
        Ok(view)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Kept<K, V>>> {
        // What is kept is whole at every step (a push or a removal), so a panic elsewhere
        // while the lock was held leaves nothing half done.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_view_is_answered_again_until_its_key_moves_or_it_ages() {
        let age = Duration::from_secs(1);
        let recent: Recent<(u64, u64), String> = Recent::new(age, 1);
        let start = Instant::now();
        let made = Cell::new(0);
        let get = |key: (u64, u64), at: Instant| {
            recent
                .get_or_make(key, at, || {
                    made.set(made.get() + 1);
                    Ok::<_, ()>(format!("{key:?} #{}", made.get()))
                })
                .unwrap()
        };
        let first = get((1, 1), start);
        assert!(Arc::ptr_eq(&first, &get((1, 1), start + age / 2)));
        assert_eq!(made.get(), 1, "a hit makes nothing");
        get((2, 1), start);
        get((1, 2), start);
        assert_eq!(made.get(), 3, "each part of the key counts");
        get((1, 1), start);
        assert_eq!(made.get(), 4, "one kept: the others went");
        assert_eq!(
            *get((1, 1), start + age),
            "(1, 1) #5",
            "as old as the limit: made again"
        );
        let failed = recent.get_or_make((3, 3), start, || Err::<String, _>("no store"));
        assert_eq!(failed, Err("no store"), "a failure is answered");
        get((1, 1), start + age);
        assert_eq!(made.get(), 5, "and the view before it is still kept");
    }

    #[test]
    fn while_one_caller_makes_an_aged_view_again_the_others_get_the_aged_one() {
        let age = Duration::from_secs(1);
        let recent: Recent<u8, u32> = Recent::new(age, 4);
        let start = Instant::now();
        recent.get_or_make(1, start, || Ok::<_, ()>(1)).unwrap();
        let later = start + age;
        let during = recent
            .get_or_make(1, later, || {
                // Another caller arrives while this one makes the view again.
                let other = recent.get_or_make(1, later, || Ok::<_, ()>(99)).unwrap();
                assert_eq!(*other, 1, "answered with the aged view, not made twice");
                let too_old = recent.get_or_make(1, start + age * 2, || Ok::<_, ()>(3));
                assert_eq!(*too_old.unwrap(), 3, "never older than twice the age");
                Ok::<_, ()>(2)
            })
            .unwrap();
        assert_eq!(*during, 2);
        assert_eq!(
            *recent.get_or_make(1, later, || Ok::<_, ()>(99)).unwrap(),
            2
        );
        // A failed remake lets the next caller try at once.
        let much_later = later + age;
        assert!(
            recent
                .get_or_make(1, much_later, || Err::<u32, _>(()))
                .is_err()
        );
        assert_eq!(
            *recent
                .get_or_make(1, much_later, || Ok::<_, ()>(4))
                .unwrap(),
            4
        );
    }

    #[test]
    fn the_oldest_view_goes_first_when_full() {
        let recent: Recent<u32, u32> = Recent::new(Duration::from_secs(60), 2);
        let start = Instant::now();
        let made = Cell::new(0);
        let get = |key: u32, at: Instant| {
            *recent
                .get_or_make(key, at, || {
                    made.set(made.get() + 1);
                    Ok::<_, ()>(key)
                })
                .unwrap()
        };
        get(1, start);
        get(2, start + Duration::from_secs(1));
        get(3, start + Duration::from_secs(2));
        assert_eq!(made.get(), 3);
        get(2, start + Duration::from_secs(3));
        get(3, start + Duration::from_secs(3));
        assert_eq!(made.get(), 3, "2 and 3 are kept");
        get(1, start + Duration::from_secs(3));
        assert_eq!(made.get(), 4, "1 went first");
    }
}
