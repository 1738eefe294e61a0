//! Server-side sessions (DEFAULTS.md): a 256-bit random id in the `__Host-lantern` cookie, an
//! idle timeout and an absolute lifetime from the injected clock, a CSRF token per session.
//!
//! The live set is kept in memory for a lookup per request without touching the store; the
//! store keeps a copy (keyed by the id's SHA-256, never the id itself) so that a restart does
//! not sign everybody out. Last-seen times are written back at most once a minute per session:
//! they only decide the idle timeout, so losing a minute of them in a crash is harmless.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::tokens::{digest, random_secret};
use crate::clock::SharedClock;
use crate::store::{Store, StoreError, Table};

/// Sessions by the SHA-256 of their id.
pub const SESSIONS: Table = Table::new("sessions_v1");

/// Most live sessions; beyond it the least recently used one is ended.
const MAX_SESSIONS: usize = 100_000;
/// How stale a stored last-seen time may get before it is written back.
const PERSIST_EVERY_MS: i64 = 60_000;

/// One signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// The user it belongs to.
    pub user_id: String,
    /// The token forms of this session must carry.
    pub csrf: String,
    /// Sign-in time, unix ms.
    pub created_ms: i64,
    /// Last request, unix ms.
    pub last_seen_ms: i64,
    /// When `last_seen_ms` was last written to the store.
    #[serde(skip)]
    persisted_ms: i64,
}

/// The session table, in memory and in the store.
#[derive(Debug)]
pub struct Sessions {
    store: Store,
    clock: SharedClock,
    idle_ms: i64,
    absolute_ms: i64,
    live: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// Loads the stored sessions that have not expired.
    pub fn load(
        store: Store,
        clock: SharedClock,
        idle_minutes: u64,
        absolute_hours: u64,
    ) -> Result<Self, StoreError> {
        let sessions = Sessions {
            store,
            clock,
            idle_ms: i64::try_from(idle_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX),
            absolute_ms: i64::try_from(absolute_hours.saturating_mul(3_600_000))
                .unwrap_or(i64::MAX),
            live: Mutex::new(HashMap::new()),
        };
        let rows = sessions
            .store
            .read_blocking(|tx| tx.scan_prefix(&SESSIONS, b"", MAX_SESSIONS))?;
        let now = sessions.clock.now_ms();
        let mut stale = Vec::new();
        let mut live = sessions.lock();
        for (key, value) in rows {
            let parsed = serde_json::from_slice::<Session>(&value);
            match (<[u8; 32]>::try_from(key.as_slice()), parsed) {
                (Ok(k), Ok(mut s)) if sessions.is_valid(&s, now) => {
                    s.persisted_ms = s.last_seen_ms;
                    live.insert(k, s);
                }
                _ => stale.push(key),
            }
        }
        drop(live);
        // Sessions that ended while the appliance was down (or unreadable rows) are removed
        // once here, so the table does not grow with every expired sign-in.
        if !stale.is_empty() {
            sessions.store.write_blocking(move |tx| {
                for k in &stale {
                    tx.delete(&SESSIONS, k)?;
                }
                Ok(())
            })?;
        }
        Ok(sessions)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_valid(&self, s: &Session, now: i64) -> bool {
        now - s.last_seen_ms < self.idle_ms && now - s.created_ms < self.absolute_ms
    }

    /// Starts a session for `user_id`; returns the id to put in the cookie. Durable before
    /// it returns.
    pub async fn create(&self, user_id: &str) -> Result<(String, Session), StoreError> {
        let id = random_secret();
        let key = digest(&id);
        let now = self.clock.now_ms();
        let session = Session {
            user_id: user_id.to_string(),
            csrf: random_secret(),
            created_ms: now,
            last_seen_ms: now,
            persisted_ms: now,
        };
        let stored = session.clone();
        self.store
            .write(move |tx| tx.put_json(&SESSIONS, &key, &stored))
            .await?;
        let evicted = {
            let mut live = self.lock();
            let mut evicted = None;
            if live.len() >= MAX_SESSIONS {
                evicted = live
                    .iter()
                    .min_by_key(|(_, s)| s.last_seen_ms)
                    .map(|(k, _)| *k);
                if let Some(k) = evicted {
                    live.remove(&k);
                }
            }
            live.insert(key, session.clone());
            evicted
        };
        if let Some(k) = evicted {
            self.forget_stored(vec![k]).await;
        }
        Ok((id, session))
    }

    /// The live session with this id, refreshed; `None` if unknown or expired.
    pub async fn lookup(&self, id: &str) -> Option<Session> {
        let key = digest(id);
        let now = self.clock.now_ms();
        let (found, persist, expired) = {
            let mut live = self.lock();
            match live.get_mut(&key) {
                Some(s) if self.is_valid(s, now) => {
                    s.last_seen_ms = now;
                    let persist = now - s.persisted_ms >= PERSIST_EVERY_MS;
                    if persist {
                        s.persisted_ms = now;
                    }
                    (Some(s.clone()), persist.then(|| s.clone()), false)
                }
                Some(_) => {
                    live.remove(&key);
                    (None, None, true)
                }
                None => (None, None, false),
            }
        };
        // Only a session that existed and expired is deleted from the store: an unknown id
        // (a stale or forged cookie) must not cost a durable write.
        if expired {
            self.forget_stored(vec![key]).await;
        }
        if let Some(s) = persist {
            let store = self.store.clone();
            // Written in the background: a lost last-seen time only shortens an idle timeout.
            tokio::spawn(async move {
                if let Err(e) = store
                    .write(move |tx| tx.put_json(&SESSIONS, &key, &s))
                    .await
                {
                    tracing::warn!("could not store a session's last-seen time: {e}");
                }
            });
        }
        found
    }

    /// The live session with this id, *not* refreshed; `None` if unknown or expired. For
    /// requests a page makes by itself (a live list's event stream and its reconnects): an
    /// open tab must not keep a session alive past its idle timeout.
    pub fn peek(&self, id: &str) -> Option<Session> {
        let key = digest(id);
        let now = self.clock.now_ms();
        self.lock()
            .get(&key)
            .filter(|s| self.is_valid(s, now))
            .cloned()
    }

    /// Ends the session with this id (sign-out).
    pub async fn end(&self, id: &str) {
        let key = digest(id);
        self.lock().remove(&key);
        self.forget_stored(vec![key]).await;
    }

    /// Ends every session of a user (password change elsewhere, disable, delete), except the
    /// session `keep` if given.
    pub async fn end_all_for(&self, user_id: &str, keep: Option<&str>) {
        let keep = keep.map(digest);
        let keys: Vec<[u8; 32]> = {
            let mut live = self.lock();
            let keys: Vec<_> = live
                .iter()
                .filter(|(k, s)| s.user_id == user_id && Some(**k) != keep)
                .map(|(k, _)| *k)
                .collect();
            for k in &keys {
                live.remove(k);
            }
            keys
        };
        self.forget_stored(keys).await;
    }

    /// How many sessions are live.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    async fn forget_stored(&self, keys: Vec<[u8; 32]>) {
        if keys.is_empty() {
            return;
        }
        let result = self
            .store
            .write(move |tx| {
                for k in &keys {
                    tx.delete(&SESSIONS, k)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::warn!("could not delete ended sessions from the store: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::StoreOptions;
    use std::sync::Arc;

    #[tokio::test]
    async fn expiry_unknown_ids_and_restart_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        let clock = Arc::new(ManualClock::new(1_000_000));
        let sessions = Sessions::load(store.clone(), clock.clone(), 30, 12).unwrap();
        let (id, _) = sessions.create("u1").await.unwrap();
        assert!(sessions.lookup(&id).await.is_some());

        // A forged or stale id costs no durable write.
        let commits = store.writer_stats().commits;
        assert!(sessions.lookup("not-a-session").await.is_none());
        assert_eq!(store.writer_stats().commits, commits);

        // Idle timeout, then a restart removes what expired meanwhile.
        let (other, _) = sessions.create("u2").await.unwrap();
        clock.advance_ms(31 * 60_000);
        assert!(sessions.lookup(&id).await.is_none());
        let reloaded = Sessions::load(store.clone(), clock.clone(), 30, 12).unwrap();
        assert_eq!(reloaded.count(), 0);
        assert!(reloaded.lookup(&other).await.is_none());
        let left = store
            .read_blocking(|tx| tx.scan_prefix(&SESSIONS, b"", 10))
            .unwrap();
        assert!(
            left.is_empty(),
            "expired sessions were removed from the store"
        );
    }

    #[tokio::test]
    async fn peeking_does_not_keep_a_session_alive() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        let clock = Arc::new(ManualClock::new(1_000_000));
        let sessions = Sessions::load(store.clone(), clock.clone(), 30, 12).unwrap();
        let (id, _) = sessions.create("u1").await.unwrap();
        assert!(sessions.peek("not-a-session").is_none());
        for _ in 0..2 {
            clock.advance_ms(10 * 60_000);
            assert!(sessions.peek(&id).is_some());
        }
        clock.advance_ms(11 * 60_000);
        assert!(sessions.peek(&id).is_none(), "idle for 31 minutes of peeks");
        assert!(sessions.lookup(&id).await.is_none());
    }
}
