//! The one-time setup link that creates the first Company Admin (no default credentials).
//!
//! While no user exists, every start issues a fresh link (replacing older ones) that expires
//! after `auth.setup_link_minutes`. Only the token's SHA-256 is stored. Using the link and
//! creating the admin happen in one write transaction, so two browsers racing with the same
//! link cannot both succeed, and no link works once any user exists.

use serde::{Deserialize, Serialize};

use super::roles::Role;
use super::tokens::{digest, random_secret};
use super::users::{self, NewUser, User};
use crate::store::{Store, StoreError, Table, WriteTx};

/// Pending setup links by the SHA-256 of their token.
pub const SETUP_LINKS: Table = Table::new("setup_links_v1");

#[derive(Debug, Serialize, Deserialize)]
struct SetupLink {
    expires_ms: i64,
}

/// Issues a new setup link token if the store has no user yet; older links stop working.
pub async fn issue_if_needed(
    store: &Store,
    now_ms: i64,
    ttl_minutes: u64,
) -> Result<Option<String>, StoreError> {
    let token = random_secret();
    let key = digest(&token);
    let ttl_ms = i64::try_from(ttl_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX);
    let issued = store
        .write(move |tx| {
            if users::count_in_write(tx)? > 0 {
                return Ok(false);
            }
            clear(tx)?;
            tx.put_json(
                &SETUP_LINKS,
                &key,
                &SetupLink {
                    expires_ms: now_ms.saturating_add(ttl_ms),
                },
            )?;
            Ok(true)
        })
        .await?;
    Ok(issued.then_some(token))
}

fn clear(tx: &mut WriteTx<'_>) -> Result<(), StoreError> {
    for (k, _) in tx.scan_prefix(&SETUP_LINKS, b"", 1000)? {
        tx.delete(&SETUP_LINKS, &k)?;
    }
    Ok(())
}

/// Whether `token` is a live setup link (for showing the form).
pub async fn is_valid(store: &Store, token: &str, now_ms: i64) -> Result<bool, StoreError> {
    let key = digest(token);
    store
        .read(move |tx| {
            if users::count(tx)? > 0 {
                return Ok(false);
            }
            let link: Option<SetupLink> = tx.get_json(&SETUP_LINKS, &key)?;
            Ok(link.is_some_and(|l| l.expires_ms > now_ms))
        })
        .await
}

/// Uses the link: creates the first Company Admin and removes every setup link, atomically.
/// `NotFound` when the link is unknown, used or expired.
pub async fn consume(
    store: &Store,
    token: &str,
    email: String,
    name: String,
    password_hash: String,
    now_ms: i64,
) -> Result<User, StoreError> {
    let key = digest(token);
    store
        .write(move |tx| {
            let link: Option<SetupLink> = tx.get_json(&SETUP_LINKS, &key)?;
            let live = link.is_some_and(|l| l.expires_ms > now_ms);
            if !live || users::count_in_write(tx)? > 0 {
                return Err(StoreError::NotFound("setup link".into()));
            }
            let user = users::create(
                tx,
                &NewUser {
                    email: email.clone(),
                    name: name.clone(),
                    roles: vec![Role::CompanyAdmin],
                    password_hash: Some(password_hash.clone()),
                },
                now_ms.div_euclid(1000),
            )?;
            clear(tx)?;
            Ok(user)
        })
        .await
}
