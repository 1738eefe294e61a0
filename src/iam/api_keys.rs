//! API keys (DEFAULTS.md): 256-bit random secrets shown once, stored as SHA-256, with a label,
//! scopes, an expiry (90 days by default, 365 at most), a last-used time, and revocation.
//!
//! A key's scopes are role ids (plus `metrics` and `scim`), never wider than its creator's
//! roles; when used, it acts with the roles that are in both its scopes and its owner's
//! *current* roles, so a key can only narrow what its owner may do — also after the owner
//! lost a role. A disabled or deleted owner makes the key stop working.

use serde::{Deserialize, Serialize};

use super::IamError;
use super::roles::Role;
use super::tokens::{digest, hex, random_id, random_secret};
use super::users::{self, User};
use crate::store::{ReadTx, StoreError, Table, WriteTx};

/// Keys by id.
pub const API_KEYS: Table = Table::new("api_keys_v1");
/// Key ids by the SHA-256 of the key.
pub const API_KEY_HASHES: Table = Table::new("api_key_hashes_v1");

/// Prefix of every key, so a leaked key is recognisable in logs and scanners.
pub const KEY_PREFIX: &str = "lk_";
/// Default lifetime in days.
pub const DEFAULT_DAYS: u32 = 90;
/// Longest lifetime in days.
pub const MAX_DAYS: u32 = 365;

/// What a key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Read `/metrics` (Prometheus).
    Metrics,
    /// Provision users and groups through `/scim/v2`.
    Scim,
    /// Act with this role (if the owner still holds it). Serialised as the bare role id.
    #[serde(untagged)]
    Role(Role),
}

impl Scope {
    /// The scope id used in the API and CLI.
    pub fn id(self) -> &'static str {
        match self {
            Scope::Role(r) => r.id(),
            Scope::Metrics => "metrics",
            Scope::Scim => "scim",
        }
    }

    /// Parses a scope id.
    pub fn from_id(id: &str) -> Option<Scope> {
        match id {
            "metrics" => Some(Scope::Metrics),
            "scim" => Some(Scope::Scim),
            other => Role::from_id(other).map(Scope::Role),
        }
    }
}

/// A stored key (without the secret).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiKey {
    /// Random id.
    pub id: String,
    /// 3–50 characters, shown in lists and the audit trail.
    pub label: String,
    /// The user who created it; it acts on their behalf.
    pub owner_id: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Unix ms.
    pub created_ms: i64,
    /// Unix ms; unusable from then on.
    pub expires_ms: i64,
    /// Unix ms of the last use, if any.
    pub last_used_ms: Option<i64>,
    /// Revoked keys stay listed but never work again.
    pub revoked: bool,
}

impl ApiKey {
    /// Whether the key works at `now_ms`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        !self.revoked && now_ms < self.expires_ms
    }

    /// The roles the key acts with: its role scopes that its owner still holds.
    pub fn effective_roles(&self, owner: &User) -> Vec<Role> {
        self.scopes
            .iter()
            .filter_map(|s| match s {
                Scope::Role(r) if owner.roles.contains(r) => Some(*r),
                _ => None,
            })
            .collect()
    }
}

/// Which scopes `creator` may put on a key: their own roles, plus `metrics` and `scim` for a
/// Company Admin.
pub fn grantable_scopes(creator: &User) -> Vec<Scope> {
    let mut out: Vec<Scope> = creator.roles.iter().map(|r| Scope::Role(*r)).collect();
    if creator.roles.contains(&Role::CompanyAdmin) {
        out.push(Scope::Metrics);
        out.push(Scope::Scim);
    }
    out
}

/// Checks a new key's label, scopes and lifetime against the creator.
pub fn validate(
    creator: &User,
    label: &str,
    scope_ids: &[String],
    days: u32,
) -> Result<(String, Vec<Scope>), IamError> {
    let label = label.trim();
    let chars = label.chars().count();
    if !(3..=50).contains(&chars) {
        return Err(IamError::invalid("label", "use 3 to 50 characters"));
    }
    if label.chars().any(char::is_control) {
        return Err(IamError::invalid(
            "label",
            "the label has control characters",
        ));
    }
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(IamError::invalid(
            "expires_in_days",
            format!("choose 1 to {MAX_DAYS} days"),
        ));
    }
    let allowed = grantable_scopes(creator);
    let mut scopes = Vec::new();
    for id in scope_ids {
        let scope = Scope::from_id(id)
            .ok_or_else(|| IamError::invalid("scopes", format!("there is no scope {id}")))?;
        if !allowed.contains(&scope) {
            return Err(IamError::invalid(
                "scopes",
                format!("the scope {id} is wider than your own roles"),
            ));
        }
        scopes.push(scope);
    }
    if scopes.is_empty() {
        return Err(IamError::invalid("scopes", "choose at least one scope"));
    }
    scopes.sort();
    scopes.dedup();
    Ok((label.to_string(), scopes))
}

/// Stores a new key for `owner`; returns it with the secret, which is never stored.
pub fn create(
    tx: &mut WriteTx<'_>,
    owner_id: &str,
    label: &str,
    scopes: &[Scope],
    days: u32,
    now_ms: i64,
) -> Result<(ApiKey, String), StoreError> {
    let secret = format!("{KEY_PREFIX}{}", random_secret());
    let key = ApiKey {
        id: random_id(),
        label: label.to_string(),
        owner_id: owner_id.to_string(),
        scopes: scopes.to_vec(),
        created_ms: now_ms,
        expires_ms: now_ms.saturating_add(i64::from(days) * 86_400_000),
        last_used_ms: None,
        revoked: false,
    };
    tx.put_json(&API_KEYS, key.id.as_bytes(), &key)?;
    tx.put(&API_KEY_HASHES, &digest(&secret), key.id.as_bytes())?;
    Ok((key, secret))
}

/// Revokes a key; `NotFound` if there is none with this id.
pub fn revoke(tx: &mut WriteTx<'_>, id: &str) -> Result<ApiKey, StoreError> {
    let mut key: ApiKey = tx
        .get_json(&API_KEYS, id.as_bytes())?
        .ok_or_else(|| StoreError::NotFound(format!("API key {id}")))?;
    key.revoked = true;
    tx.put_json(&API_KEYS, id.as_bytes(), &key)?;
    Ok(key)
}

/// Revokes every key of a user (disable, delete).
pub fn revoke_all_of(tx: &mut WriteTx<'_>, owner_id: &str) -> Result<usize, StoreError> {
    let rows = tx.scan_prefix(&API_KEYS, b"", usize::MAX)?;
    let mut n = 0;
    for (_, value) in rows {
        let Ok(key) = serde_json::from_slice::<ApiKey>(&value) else {
            continue;
        };
        if key.owner_id == owner_id && !key.revoked {
            revoke(tx, &key.id)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Every key, newest first (at most `limit`).
pub fn list(tx: &ReadTx, limit: usize) -> Result<Vec<ApiKey>, StoreError> {
    let rows = tx.scan_prefix(&API_KEYS, b"", limit)?;
    let mut keys: Vec<ApiKey> = rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice(v).ok())
        .collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_ms));
    Ok(keys)
}

/// Why a presented key was not accepted (the answer is always a plain 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not a key we issued.
    Unknown,
    /// Revoked or expired.
    NotLive,
    /// Its owner is disabled or gone.
    OwnerDisabled,
}

/// Looks up a presented key: the key and its owner when it works at `now_ms`.
pub fn authenticate(
    tx: &ReadTx,
    presented: &str,
    now_ms: i64,
) -> Result<Result<(ApiKey, User), Rejection>, StoreError> {
    if !presented.starts_with(KEY_PREFIX) {
        return Ok(Err(Rejection::Unknown));
    }
    let Some(id) = tx.get(&API_KEY_HASHES, &digest(presented))? else {
        return Ok(Err(Rejection::Unknown));
    };
    let Some(key) = tx.get_json::<ApiKey>(&API_KEYS, &id)? else {
        return Ok(Err(Rejection::Unknown));
    };
    if !key.is_live(now_ms) {
        return Ok(Err(Rejection::NotLive));
    }
    match users::get(tx, &key.owner_id)? {
        Some(owner) if !owner.disabled => Ok(Ok((key, owner))),
        _ => Ok(Err(Rejection::OwnerDisabled)),
    }
}

/// Records a use (written lazily by the caller; a lost last-used time is harmless).
pub fn touch(tx: &mut WriteTx<'_>, id: &str, now_ms: i64) -> Result<(), StoreError> {
    if let Some(mut key) = tx.get_json::<ApiKey>(&API_KEYS, id.as_bytes())? {
        key.last_used_ms = Some(now_ms);
        tx.put_json(&API_KEYS, id.as_bytes(), &key)?;
    }
    Ok(())
}

/// Remembers when keys were last used and writes that back at most once a minute per key,
/// in the background: an API call must not wait for (or cost) a durable write.
#[derive(Debug, Default)]
pub struct UsageTracker {
    written: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

/// How stale a stored last-used time may get.
const USAGE_WRITE_EVERY_MS: i64 = 60_000;
/// Most keys tracked; beyond it the map starts over (it only saves writes).
const USAGE_TRACKED: usize = 100_000;

impl UsageTracker {
    /// Notes a use of key `id` at `now_ms`, writing it if the stored time is stale.
    pub fn note(&self, store: &crate::store::Store, id: &str, now_ms: i64) {
        {
            let mut written = self
                .written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if written
                .get(id)
                .is_some_and(|t| now_ms - t < USAGE_WRITE_EVERY_MS)
            {
                return;
            }
            if written.len() >= USAGE_TRACKED {
                written.clear();
            }
            written.insert(id.to_string(), now_ms);
        }
        let store = store.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            if let Err(e) = store.write(move |tx| touch(tx, &id, now_ms)).await {
                tracing::warn!("could not store an API key's last use: {e}");
            }
        });
    }
}

/// A short fingerprint of a key for logs (never the key itself).
pub fn fingerprint(presented: &str) -> String {
    hex(digest(presented).get(..4).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::users::NewUser;
    use crate::store::{Store, StoreOptions};

    fn user(roles: &[Role]) -> User {
        User {
            id: "u1".into(),
            email: "a@b.c".into(),
            name: "A".into(),
            roles: roles.to_vec(),
            password_hash: None,
            disabled: false,
            created_secs: 0,
            password_changed_secs: 0,
        }
    }

    #[test]
    fn scopes_never_widen_the_creator() {
        let dev = user(&[Role::Developer]);
        let ok = validate(&dev, "ci pipeline", &["developer".into()], 90).unwrap();
        assert_eq!(ok.1, vec![Scope::Role(Role::Developer)]);
        for (scope, why) in [
            ("company-admin", "wider"),
            ("metrics", "wider"),
            ("root", "no scope"),
        ] {
            let e = validate(&dev, "ci pipeline", &[scope.into()], 90).unwrap_err();
            assert!(e.to_string().contains(why), "{scope}: {e}");
        }
        assert!(
            validate(&dev, "ci", &["developer".into()], 90).is_err(),
            "label too short"
        );
        assert!(validate(&dev, "ci pipeline", &["developer".into()], 366).is_err());
        assert!(validate(&dev, "ci pipeline", &[], 90).is_err());
        let admin = user(&[Role::CompanyAdmin]);
        let (_, scopes) =
            validate(&admin, "scraper", &["metrics".into(), "scim".into()], 30).unwrap();
        assert_eq!(scopes, vec![Scope::Metrics, Scope::Scim]);
        assert_eq!(
            serde_json::to_string(&scopes).unwrap(),
            r#"["metrics","scim"]"#
        );
        let back: Vec<Scope> = serde_json::from_str(r#"["developer","metrics"]"#).unwrap();
        assert_eq!(back, vec![Scope::Role(Role::Developer), Scope::Metrics]);
    }

    #[test]
    fn keys_authenticate_until_revoked_expired_or_the_owner_is_disabled() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        let owner = store
            .write_blocking(|tx| {
                users::create(
                    tx,
                    &NewUser {
                        email: "o@example.org".into(),
                        name: "O".into(),
                        roles: vec![Role::CompanyAdmin, Role::Developer],
                        password_hash: None,
                    },
                    0,
                )
            })
            .unwrap();
        let owner_id = owner.id.clone();
        let (key, secret) = store
            .write_blocking(move |tx| {
                create(
                    tx,
                    &owner_id,
                    "automation",
                    &[Scope::Role(Role::Developer)],
                    1,
                    1_000,
                )
            })
            .unwrap();
        assert!(secret.starts_with(KEY_PREFIX) && secret.len() > 40);
        let s = secret.clone();
        let (found, who) = store
            .read_blocking(move |tx| authenticate(tx, &s, 2_000))
            .unwrap()
            .unwrap();
        assert_eq!(found.id, key.id);
        assert_eq!(found.effective_roles(&who), vec![Role::Developer]);
        let check = |secret: &str, now: i64| {
            let s = secret.to_string();
            store
                .read_blocking(move |tx| authenticate(tx, &s, now))
                .unwrap()
        };
        assert_eq!(check("lk_nope", 2_000).unwrap_err(), Rejection::Unknown);
        assert_eq!(check("nope", 2_000).unwrap_err(), Rejection::Unknown);
        assert_eq!(
            check(&secret, 1_000 + 86_400_000).unwrap_err(),
            Rejection::NotLive
        );
        let id = key.id.clone();
        store.write_blocking(move |tx| revoke(tx, &id)).unwrap();
        assert_eq!(check(&secret, 2_000).unwrap_err(), Rejection::NotLive);
        // A role the owner lost no longer reaches through the key.
        let mut demoted = who.clone();
        demoted.roles = vec![Role::CompanyAdmin];
        assert!(found.effective_roles(&demoted).is_empty());
    }
}
