//! One-time activation links for users created without a password: the Company Admin hands
//! the link over (air-gapped sites have no mail server), the user opens it, chooses a
//! password and is signed in.
//!
//! Mirrors the setup link: only the token's SHA-256 is stored, a link expires after
//! [`ACTIVATION_TTL_MS`], using it and setting the password happen in one write transaction
//! (two browsers racing with one link cannot both succeed), and a user has at most one live
//! link: a new one replaces the old.

use serde::{Deserialize, Serialize};

use super::tokens::digest;
use super::users::{self, User};
use crate::store::{ReadTx, StoreError, Table, WriteTx};

/// Pending activation links by the SHA-256 of their token.
pub const ACTIVATION_LINKS: Table = Table::new("activation_links_v1");
/// The digest of each user's live link, by user id (to replace or revoke it).
pub const ACTIVATION_BY_USER: Table = Table::new("activation_by_user_v1");

/// How long a link works: 7 days.
pub const ACTIVATION_TTL_MS: i64 = 7 * 24 * 3_600_000;

/// The link a new user opens, from the appliance's base URL (`https://host:port`) and the
/// token: the one place that knows its shape, for the portal, the API and the CLI alike.
pub fn link(base_url: &str, token: &str) -> String {
    format!("{base_url}/activate?token={token}")
}

#[derive(Debug, Serialize, Deserialize)]
struct Link {
    user_id: String,
    expires_ms: i64,
}

/// Stores a link for `user_id` whose token hashes to `key` (the caller makes the token outside
/// the write closure, which may run more than once); any older link of the user stops working.
/// Answers the expiry time.
pub fn issue(
    tx: &mut WriteTx<'_>,
    user_id: &str,
    key: [u8; 32],
    now_ms: i64,
) -> Result<i64, StoreError> {
    revoke_for(tx, user_id)?;
    let expires_ms = now_ms.saturating_add(ACTIVATION_TTL_MS);
    tx.put_json(
        &ACTIVATION_LINKS,
        &key,
        &Link {
            user_id: user_id.to_string(),
            expires_ms,
        },
    )?;
    tx.put(&ACTIVATION_BY_USER, user_id.as_bytes(), &key)?;
    Ok(expires_ms)
}

/// Removes the user's live link, if any (on delete, on a new link, once used).
pub fn revoke_for(tx: &mut WriteTx<'_>, user_id: &str) -> Result<(), StoreError> {
    if let Some(old) = tx.get(&ACTIVATION_BY_USER, user_id.as_bytes())? {
        tx.delete(&ACTIVATION_LINKS, &old)?;
        tx.delete(&ACTIVATION_BY_USER, user_id.as_bytes())?;
    }
    Ok(())
}

/// Whether the user has a link that has not expired (for the Users list's status).
pub fn pending_until(tx: &ReadTx, user_id: &str) -> Result<Option<i64>, StoreError> {
    let Some(key) = tx.get(&ACTIVATION_BY_USER, user_id.as_bytes())? else {
        return Ok(None);
    };
    let link: Option<Link> = tx.get_json(&ACTIVATION_LINKS, &key)?;
    Ok(link.map(|l| l.expires_ms))
}

/// A usable link's user: it exists, has not expired, and its user exists, is enabled and has
/// no password yet.
fn usable(link: Option<Link>, user: Option<User>, now_ms: i64) -> Option<User> {
    let link = link.filter(|l| l.expires_ms > now_ms)?;
    user.filter(|u| u.id == link.user_id && !u.disabled && u.password_hash.is_none())
}

/// The user a live link belongs to (for showing the form); `None` when unknown, used,
/// expired, or the user was disabled meanwhile.
pub fn lookup(tx: &ReadTx, token: &str, now_ms: i64) -> Result<Option<User>, StoreError> {
    let link: Option<Link> = tx.get_json(&ACTIVATION_LINKS, &digest(token))?;
    let user = match &link {
        Some(l) => users::get(tx, &l.user_id)?,
        None => None,
    };
    Ok(usable(link, user, now_ms))
}

/// Uses the link: sets the password and removes the link, atomically. `NotFound` when the
/// link is not usable (see [`lookup`]).
pub fn consume(
    tx: &mut WriteTx<'_>,
    token: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<User, StoreError> {
    let key = digest(token);
    let link: Option<Link> = tx.get_json(&ACTIVATION_LINKS, &key)?;
    let user = match &link {
        Some(l) => tx.get_json::<User>(&users::USERS, l.user_id.as_bytes())?,
        None => None,
    };
    let Some(user) = usable(link, user, now_ms) else {
        return Err(StoreError::NotFound("activation link".into()));
    };
    revoke_for(tx, &user.id)?;
    users::set_password(tx, &user.id, password_hash, now_ms.div_euclid(1000))
}
