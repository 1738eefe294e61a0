//! Sign-in throttling (DEFAULTS.md): per account, after `failures` failed attempts within the
//! window every further attempt must wait a delay that doubles with each failure (capped at
//! the window), so an account is never locked for good; per source address, a token bucket.
//! Unknown accounts are throttled exactly like known ones, so throttling leaks nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clock::SharedClock;

/// Most accounts and addresses tracked; older entries are pruned first.
const MAX_TRACKED: usize = 100_000;
/// Sign-in attempts a source address may make in a burst...
const IP_BURST: f64 = 20.0;
/// ...and the refill rate, attempts per second (20 a minute).
const IP_REFILL_PER_SEC: f64 = 20.0 / 60.0;
/// The first delay once the failure budget is spent.
const BASE_DELAY_MS: i64 = 60_000;

/// Tracks failed sign-ins per account and attempts per address.
#[derive(Debug)]
pub struct Throttle {
    clock: SharedClock,
    failures_allowed: usize,
    window_ms: i64,
    accounts: Mutex<HashMap<String, Vec<i64>>>,
    addresses: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

impl Throttle {
    /// `failures_allowed` failures per account per `window_minutes`.
    pub fn new(clock: SharedClock, failures_allowed: u32, window_minutes: u64) -> Self {
        Throttle {
            clock,
            failures_allowed: usize::try_from(failures_allowed).unwrap_or(5).max(1),
            window_ms: i64::try_from(window_minutes.saturating_mul(60_000)).unwrap_or(900_000),
            accounts: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one attempt from the address's bucket and checks the account's delay.
    /// `Err(seconds)` says how long to wait before trying again.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), u64> {
        let now = self.clock.now_ms();
        self.check_address(address, now)?;
        let accounts = lock(&self.accounts);
        if let Some(failures) = accounts.get(account) {
            let recent: Vec<i64> = failures
                .iter()
                .copied()
                .filter(|t| now - t < self.window_ms)
                .collect();
            if let Some(wait_until) = self.wait_until(&recent)
                && wait_until > now
            {
                return Err(ms_to_secs(wait_until - now));
            }
        }
        Ok(())
    }

    fn wait_until(&self, recent: &[i64]) -> Option<i64> {
        let excess = recent.len().checked_sub(self.failures_allowed)?;
        let last = recent.iter().copied().max()?;
        let factor = 1i64 << excess.min(20);
        Some(last + BASE_DELAY_MS.saturating_mul(factor).min(self.window_ms))
    }

    fn check_address(&self, address: IpAddr, now: i64) -> Result<(), u64> {
        let mut buckets = lock(&self.addresses);
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, b| now - b.updated_ms < 60_000);
        }
        let bucket = buckets.entry(address).or_insert(Bucket {
            tokens: IP_BURST,
            updated_ms: now,
        });
        let elapsed = (now - bucket.updated_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * IP_REFILL_PER_SEC).min(IP_BURST);
        bucket.updated_ms = now;
        if bucket.tokens < 1.0 {
            let secs = ((1.0 - bucket.tokens) / IP_REFILL_PER_SEC).ceil();
            return Err(if secs.is_finite() && secs > 0.0 {
                secs as u64
            } else {
                1
            });
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Records a failed attempt for the account.
    pub fn record_failure(&self, account: &str) {
        let now = self.clock.now_ms();
        let mut accounts = lock(&self.accounts);
        if accounts.len() >= MAX_TRACKED {
            let window = self.window_ms;
            accounts.retain(|_, f| f.iter().any(|t| now - t < window));
        }
        let failures = accounts.entry(account.to_string()).or_default();
        failures.retain(|t| now - t < self.window_ms);
        // Bounded: beyond this many the delay is already the whole window.
        if failures.len() < self.failures_allowed + 32 {
            failures.push(now);
        } else if let Some(last) = failures.last_mut() {
            *last = now;
        }
    }

    /// Forgets the account's failures after a successful sign-in.
    pub fn record_success(&self, account: &str) {
        lock(&self.accounts).remove(account);
    }
}

fn ms_to_secs(ms: i64) -> u64 {
    u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn delay_grows_after_the_budget_and_never_locks_for_good() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let t = Throttle::new(clock.clone(), 5, 15);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..5 {
            assert!(t.check("a@b.c", ip).is_ok());
            t.record_failure("a@b.c");
        }
        assert_eq!(t.check("a@b.c", ip), Err(60));
        assert!(
            t.check("other@b.c", ip).is_ok(),
            "other accounts unaffected"
        );
        clock.advance_ms(60_000);
        assert!(t.check("a@b.c", ip).is_ok());
        t.record_failure("a@b.c");
        assert_eq!(t.check("a@b.c", ip), Err(120), "the delay doubles");
        clock.advance_ms(15 * 60_000);
        assert!(t.check("a@b.c", ip).is_ok(), "the window forgets");
        t.record_success("a@b.c");
    }

    #[test]
    fn an_address_has_a_bucket() {
        let clock = Arc::new(ManualClock::new(0));
        let t = Throttle::new(clock.clone(), 5, 15);
        let ip: IpAddr = [10, 0, 0, 2].into();
        let allowed = (0..40)
            .filter(|i| t.check(&format!("u{i}"), ip).is_ok())
            .count();
        assert_eq!(allowed, 20);
        clock.advance_ms(3_000);
        assert!(t.check("x", ip).is_ok(), "refills at 20 a minute");
        assert!(t.check("y", [10, 0, 0, 3].into()).is_ok());
    }
}
