//! Agent pools: the groups agents connect into, each with its own agent-pool key.
//!
//! Owns the table `agent_pools_v1`, the **Default** pool (made at start-up, never deleted),
//! key creation and rotation with a grace period for the previous key, detaching and
//! re-enabling, and [`authenticate_key`], the check the agent gateway runs on every upgrade.
//! Keys are 256-bit random values shown once; only their SHA-256 is stored, so a copy of the
//! store does not let anyone connect an agent.
//!
//! Who may change which pool is decided here too (`actor` arguments): a Company Admin any
//! pool, a Group Admin only pools in their pool scope (`scope.rs`).

use serde::{Deserialize, Serialize};

use super::roles::{self, Need, Permission};
use super::scope;
use super::tokens;
use super::users::User;
use crate::store::{Reads, StoreError, Table, WriteTx};

/// Pools by id.
pub const AGENT_POOLS: Table = Table::new("agent_pools_v1");
/// Pool ids by key hash (current and previous keys), so that a key check is one lookup
/// however many pools exist: agents reconnect in storms.
pub const AGENT_POOL_KEYS: Table = Table::new("agent_pool_keys_v1");
/// The id of the pool that exists from the first start and cannot be deleted.
pub const DEFAULT_POOL_ID: &str = "default";
/// Longest pool description (`DEFAULTS.md`).
pub const MAX_DESCRIPTION: usize = 255;
/// Longest pool name.
pub const MAX_NAME: usize = 64;
/// How long a rotated-out key keeps working (`DEFAULTS.md`: 24 h).
pub const KEY_GRACE_MS: i64 = 24 * 3600 * 1000;
/// Most pools read by one listing or key check: bounds every loop over the table.
pub const MAX_POOLS: usize = 1000;

/// A stored agent pool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pool {
    /// `default` for the Default pool, else a random 128-bit hex id.
    pub id: String,
    /// Unique name (compared without regard to case).
    pub name: String,
    /// Free text, at most [`MAX_DESCRIPTION`] characters.
    pub description: String,
    /// Unix milliseconds of creation.
    pub created_ms: i64,
    /// A detached pool refuses its agents; its key is kept for re-enabling.
    pub detached: bool,
    /// Why it was detached (shown to refused agents and in the portal).
    pub detach_reason: String,
    /// Hex SHA-256 of the current key; `None` until a key was made (the Default pool starts
    /// without one, because nobody could have seen a key made at start-up).
    pub key_hash: Option<String>,
    /// Unix milliseconds of the last key creation or rotation.
    pub key_created_ms: Option<i64>,
    /// How many keys the pool has had: changes with every rotation, so a form can say which
    /// key it meant to replace.
    #[serde(default)]
    pub key_version: u64,
    /// Hex SHA-256 of the key before the last rotation, valid until `previous_key_expires_ms`.
    pub previous_key_hash: Option<String>,
    /// When the previous key stops working (rotation + [`KEY_GRACE_MS`]).
    pub previous_key_expires_ms: Option<i64>,
}

impl Pool {
    /// Whether this is the Default pool.
    pub fn is_default(&self) -> bool {
        self.id == DEFAULT_POOL_ID
    }

    /// Whether the previous key still authenticates at `now_ms`.
    pub fn previous_key_valid(&self, now_ms: i64) -> bool {
        self.previous_key_hash.is_some() && self.previous_key_expires_ms.is_some_and(|t| now_ms < t)
    }
}

/// Why a pool change was refused.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// A field failed validation (400).
    #[error("{field}: {message}")]
    Invalid {
        /// The form field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Conflicts with what is stored: a taken name, the Default pool, connected agents (409).
    #[error("{0}")]
    Conflict(String),
    /// No such pool, or not in the actor's scope (404: no existence leak).
    #[error("there is no such agent pool")]
    NotFound,
    /// The actor's roles do not allow this change (403).
    #[error("{0}")]
    NotAllowed(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an agent-pool key was refused.
#[derive(Debug, thiserror::Error)]
pub enum PoolKeyError {
    /// No pool has this key (or it is a previous key past its grace period).
    #[error("the agent-pool key is not valid")]
    Unknown,
    /// The key belongs to a detached pool.
    #[error("the agent pool {pool} is detached: {reason}")]
    Detached {
        /// The pool's name.
        pool: String,
        /// The reason the admin gave.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a pool is created with.
#[derive(Debug, Clone, Default)]
pub struct NewPool {
    /// The name as typed.
    pub name: String,
    /// The description as typed.
    pub description: String,
}

/// Creates the Default pool if it is missing (start-up; idempotent).
pub fn ensure_default(tx: &mut WriteTx<'_>, now_ms: i64) -> Result<Pool, StoreError> {
    if let Some(p) = tx.get_json::<Pool>(&AGENT_POOLS, DEFAULT_POOL_ID.as_bytes())? {
        return Ok(p);
    }
    let pool = Pool {
        id: DEFAULT_POOL_ID.to_string(),
        name: "Default".to_string(),
        description:
            "The pool that exists from the first start. Make a key on its page to connect agents."
                .to_string(),
        created_ms: now_ms,
        detached: false,
        detach_reason: String::new(),
        key_hash: None,
        key_created_ms: None,
        key_version: 0,
        previous_key_hash: None,
        previous_key_expires_ms: None,
    };
    tx.put_json(&AGENT_POOLS, pool.id.as_bytes(), &pool)?;
    Ok(pool)
}

/// Every pool, the Default pool first, then by name.
pub fn list(tx: &impl Reads) -> Result<Vec<Pool>, StoreError> {
    let mut pools = tx.scan_json::<Pool>(&AGENT_POOLS, MAX_POOLS)?;
    pools.sort_by(|a, b| {
        (!a.is_default(), a.name.to_lowercase()).cmp(&(!b.is_default(), b.name.to_lowercase()))
    });
    Ok(pools)
}

/// The pool with this id.
pub fn get(tx: &impl Reads, id: &str) -> Result<Option<Pool>, StoreError> {
    tx.get_json_value(&AGENT_POOLS, id.as_bytes())
}

/// The pools `user` may see: all, or those in their pool scope.
pub fn visible(tx: &impl Reads, user: &User, now_ms: i64) -> Result<Vec<Pool>, StoreError> {
    let scope = scope::pool_scope(tx, user, now_ms)?;
    Ok(list(tx)?
        .into_iter()
        .filter(|p| scope.contains(&p.id))
        .collect())
}

/// The pool with this id if `user` may see it; `NotFound` otherwise (no existence leak).
pub fn get_visible(tx: &impl Reads, user: &User, id: &str, now_ms: i64) -> Result<Pool, PoolError> {
    let pool = get(tx, id)?.ok_or(PoolError::NotFound)?;
    if scope::pool_scope(tx, user, now_ms)?.contains(&pool.id) {
        Ok(pool)
    } else {
        Err(PoolError::NotFound)
    }
}

fn check_description(raw: &str) -> Result<String, PoolError> {
    let d = raw.trim();
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(PoolError::Invalid {
            field: "description",
            message: format!(
                "use at most {MAX_DESCRIPTION} characters (this one has {})",
                d.chars().count()
            ),
        });
    }
    if d.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(PoolError::Invalid {
            field: "description",
            message: "the description has control characters".into(),
        });
    }
    Ok(d.to_string())
}

fn check_name(tx: &impl Reads, raw: &str, except_id: Option<&str>) -> Result<String, PoolError> {
    let name = raw.trim();
    let invalid = |m: String| PoolError::Invalid {
        field: "name",
        message: m,
    };
    if name.is_empty() {
        return Err(invalid("enter a name".into()));
    }
    if name.chars().count() > MAX_NAME {
        return Err(invalid(format!("use at most {MAX_NAME} characters")));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'))
    {
        return Err(invalid(
            "use letters, digits, spaces, '-', '_' and '.' only".into(),
        ));
    }
    let lower = name.to_lowercase();
    let taken = list(tx)?
        .iter()
        .any(|p| p.name.to_lowercase() == lower && Some(p.id.as_str()) != except_id);
    if taken {
        return Err(PoolError::Conflict(format!(
            "an agent pool named {name} already exists"
        )));
    }
    Ok(name.to_string())
}

/// Company Admins may change any pool; others need `Change` of Agent Pools and the pool in
/// their scope. Answers `NotFound` for pools the actor cannot see at all.
fn check_may_change(
    tx: &impl Reads,
    actor: &User,
    pool: &Pool,
    now_ms: i64,
) -> Result<(), PoolError> {
    if roles::allows(&actor.roles, Permission::AgentPools, Need::Administer) {
        return Ok(());
    }
    let scope = scope::pool_scope(tx, actor, now_ms)?;
    if !scope.contains(&pool.id) {
        return Err(PoolError::NotFound);
    }
    if !roles::allows(&actor.roles, Permission::AgentPools, Need::Change) {
        return Err(PoolError::NotAllowed(
            "your roles allow you to see this pool, not to change it".into(),
        ));
    }
    Ok(())
}

fn check_administer(actor: &User) -> Result<(), PoolError> {
    if roles::allows(&actor.roles, Permission::AgentPools, Need::Administer) {
        Ok(())
    } else {
        Err(PoolError::NotAllowed(
            "only a Company Admin may create or delete agent pools".into(),
        ))
    }
}

fn hash_key(key: &str) -> String {
    tokens::hex(&tokens::digest(key))
}

fn index_key(tx: &mut WriteTx<'_>, hash: Option<&str>, pool_id: &str) -> Result<(), StoreError> {
    match hash {
        Some(h) => tx.put(&AGENT_POOL_KEYS, h.as_bytes(), pool_id.as_bytes()),
        None => Ok(()),
    }
}

/// Creates a pool with a fresh key; answers the pool and the key, which the caller shows once
/// and then forgets. Only Company Admins create pools.
pub fn create(
    tx: &mut WriteTx<'_>,
    actor: &User,
    new: &NewPool,
    now_ms: i64,
) -> Result<(Pool, String), PoolError> {
    check_administer(actor)?;
    let description = check_description(&new.description)?;
    let name = check_name(tx, &new.name, None)?;
    if tx.len(&AGENT_POOLS)? >= MAX_POOLS as u64 {
        return Err(PoolError::Conflict(format!(
            "there are already {MAX_POOLS} agent pools; delete one first"
        )));
    }
    let key = tokens::random_secret();
    let pool = Pool {
        id: tokens::random_id(),
        name,
        description,
        created_ms: now_ms,
        detached: false,
        detach_reason: String::new(),
        key_hash: Some(hash_key(&key)),
        key_created_ms: Some(now_ms),
        key_version: 1,
        previous_key_hash: None,
        previous_key_expires_ms: None,
    };
    tx.put_json(&AGENT_POOLS, pool.id.as_bytes(), &pool)?;
    index_key(tx, pool.key_hash.as_deref(), &pool.id)?;
    Ok((pool, key))
}

fn load_for_change(
    tx: &WriteTx<'_>,
    actor: &User,
    id: &str,
    now_ms: i64,
) -> Result<Pool, PoolError> {
    let pool = get(tx, id)?.ok_or(PoolError::NotFound)?;
    check_may_change(tx, actor, &pool, now_ms)?;
    Ok(pool)
}

/// Replaces a pool's description.
pub fn set_description(
    tx: &mut WriteTx<'_>,
    actor: &User,
    id: &str,
    description: &str,
    now_ms: i64,
) -> Result<Pool, PoolError> {
    let mut pool = load_for_change(tx, actor, id, now_ms)?;
    pool.description = check_description(description)?;
    tx.put_json(&AGENT_POOLS, pool.id.as_bytes(), &pool)?;
    Ok(pool)
}

/// Makes a new key; the current one stays valid for [`KEY_GRACE_MS`] so agents can be
/// switched over without downtime. A key that was still in its grace period from an earlier
/// rotation stops working now (only one previous key is kept).
pub fn rotate_key(
    tx: &mut WriteTx<'_>,
    actor: &User,
    id: &str,
    now_ms: i64,
) -> Result<(Pool, String), PoolError> {
    let mut pool = load_for_change(tx, actor, id, now_ms)?;
    let key = tokens::random_secret();
    if let Some(dropped) = pool.previous_key_hash.take() {
        tx.delete(&AGENT_POOL_KEYS, dropped.as_bytes())?;
    }
    pool.previous_key_hash = pool.key_hash.take();
    pool.previous_key_expires_ms = pool
        .previous_key_hash
        .as_ref()
        .map(|_| now_ms.saturating_add(KEY_GRACE_MS));
    pool.key_hash = Some(hash_key(&key));
    pool.key_created_ms = Some(now_ms);
    pool.key_version = pool.key_version.saturating_add(1);
    tx.put_json(&AGENT_POOLS, pool.id.as_bytes(), &pool)?;
    index_key(tx, pool.key_hash.as_deref(), &pool.id)?;
    Ok((pool, key))
}

/// Detaches a pool: its agents are refused with `reason` until it is re-enabled.
pub fn detach(
    tx: &mut WriteTx<'_>,
    actor: &User,
    id: &str,
    reason: &str,
    now_ms: i64,
) -> Result<Pool, PoolError> {
    let mut pool = load_for_change(tx, actor, id, now_ms)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(PoolError::Invalid {
            field: "reason",
            message: "say why the pool is detached; its agents are told".into(),
        });
    }
    if reason.chars().count() > MAX_DESCRIPTION || reason.chars().any(char::is_control) {
        return Err(PoolError::Invalid {
            field: "reason",
            message: format!("use at most {MAX_DESCRIPTION} characters on one line"),
        });
    }
    if pool.detached {
        return Err(PoolError::Conflict("this pool is already detached".into()));
    }
    pool.detached = true;
    pool.detach_reason = reason.to_string();
    tx.put_json(&AGENT_POOLS, pool.id.as_bytes(), &pool)?;
    Ok(pool)
}

/// Re-enables a detached pool; its keys work again.
pub fn reenable(
    tx: &mut WriteTx<'_>,
    actor: &User,
    id: &str,
    now_ms: i64,
) -> Result<Pool, PoolError> {
    let mut pool = load_for_change(tx, actor, id, now_ms)?;
    if !pool.detached {
        return Err(PoolError::Conflict("this pool is not detached".into()));
    }
    pool.detached = false;
    pool.detach_reason.clear();
    tx.put_json(&AGENT_POOLS, pool.id.as_bytes(), &pool)?;
    Ok(pool)
}

/// Deletes a pool and takes it out of every access group. Refused for the Default pool and
/// while agents are connected (`connected`: the live registry's count for this pool, which
/// lives outside the store).
pub fn delete(
    tx: &mut WriteTx<'_>,
    actor: &User,
    id: &str,
    connected: usize,
) -> Result<Pool, PoolError> {
    check_administer(actor)?;
    let pool = get(tx, id)?.ok_or(PoolError::NotFound)?;
    if pool.is_default() {
        return Err(PoolError::Conflict(
            "the Default pool cannot be deleted".into(),
        ));
    }
    if connected > 0 {
        return Err(PoolError::Conflict(format!(
            "{connected} agents are connected to this pool; detach it and wait for them to leave first"
        )));
    }
    super::groups::remove_pool_everywhere(tx, &pool.id)?;
    for hash in [&pool.key_hash, &pool.previous_key_hash]
        .into_iter()
        .flatten()
    {
        tx.delete(&AGENT_POOL_KEYS, hash.as_bytes())?;
    }
    tx.delete(&AGENT_POOLS, pool.id.as_bytes())?;
    Ok(pool)
}

/// The pool an agent-pool key belongs to: the current key, or the previous key within its
/// grace period. A detached pool is refused with its reason. Used by the agent gateway on
/// every connection: one index lookup, then the pool record decides (hashes compared in
/// constant time).
pub fn authenticate_key(tx: &impl Reads, key: &str, now_ms: i64) -> Result<Pool, PoolKeyError> {
    let hash = hash_key(key);
    // The index only narrows the search; the pool record decides, so a stale index entry
    // (a previous key past its grace) never authenticates.
    let Some(id) = tx.get_bytes(&AGENT_POOL_KEYS, hash.as_bytes())? else {
        return Err(PoolKeyError::Unknown);
    };
    let id = String::from_utf8_lossy(&id).into_owned();
    let Some(pool) = get(tx, &id)? else {
        return Err(PoolKeyError::Unknown);
    };
    let matches = |h: &Option<String>| {
        h.as_deref()
            .is_some_and(|h| tokens::constant_time_eq(h.as_bytes(), hash.as_bytes()))
    };
    let valid = matches(&pool.key_hash)
        || (pool.previous_key_valid(now_ms) && matches(&pool.previous_key_hash));
    match pool {
        _ if !valid => Err(PoolKeyError::Unknown),
        p if p.detached => Err(PoolKeyError::Detached {
            pool: p.name,
            reason: p.detach_reason,
        }),
        p => Ok(p),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::iam::roles::Role;
    use crate::store::{Store, StoreOptions};

    pub(crate) fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        (dir, s)
    }

    pub(crate) fn user(id: &str, roles: &[Role]) -> User {
        User {
            id: id.into(),
            email: format!("{id}@x.org"),
            name: id.into(),
            roles: roles.to_vec(),
            password_hash: None,
            disabled: false,
            created_secs: 0,
            password_changed_secs: 0,
        }
    }

    #[test]
    fn keys_authenticate_through_rotation_and_detach() {
        let (_d, s) = store();
        let admin = user("a", &[Role::CompanyAdmin]);
        let t0 = 1_000_000;
        let (pool, k1) = s
            .write_blocking({
                let admin = admin.clone();
                move |tx| {
                    ensure_default(tx, t0)?;
                    Ok(create(
                        tx,
                        &admin,
                        &NewPool {
                            name: "prod".into(),
                            description: "x".into(),
                        },
                        t0,
                    ))
                }
            })
            .unwrap()
            .unwrap();
        assert_eq!(k1.len(), 43);
        assert_ne!(pool.key_hash.as_deref(), Some(k1.as_str()), "only a hash");
        let auth = |key: &str, now: i64| {
            let key = key.to_string();
            s.read_blocking(move |tx| Ok(authenticate_key(tx, &key, now)))
                .unwrap()
        };
        assert_eq!(auth(&k1, t0).unwrap().id, pool.id);
        assert!(matches!(auth("nope", t0), Err(PoolKeyError::Unknown)));
        let id = pool.id.clone();
        let (_, k2) = s
            .write_blocking({
                let admin = admin.clone();
                move |tx| Ok(rotate_key(tx, &admin, &id, t0 + 10))
            })
            .unwrap()
            .unwrap();
        assert!(auth(&k1, t0 + 10 + KEY_GRACE_MS - 1).is_ok(), "in grace");
        assert!(auth(&k2, t0 + 10 + KEY_GRACE_MS - 1).is_ok());
        assert!(matches!(
            auth(&k1, t0 + 10 + KEY_GRACE_MS),
            Err(PoolKeyError::Unknown)
        ));
        assert!(auth(&k2, t0 + 10 + KEY_GRACE_MS).is_ok());
        // A second rotation drops the first key for good, even inside its old grace period.
        let id = pool.id.clone();
        let (_, k3) = s
            .write_blocking({
                let admin = admin.clone();
                move |tx| Ok(rotate_key(tx, &admin, &id, t0 + 20))
            })
            .unwrap()
            .unwrap();
        assert!(matches!(auth(&k1, t0 + 20), Err(PoolKeyError::Unknown)));
        assert!(auth(&k2, t0 + 20).is_ok() && auth(&k3, t0 + 20).is_ok());
        let k2 = k3;
        let id = pool.id.clone();
        s.write_blocking({
            let admin = admin.clone();
            move |tx| Ok(detach(tx, &admin, &id, "decommissioned", t0))
        })
        .unwrap()
        .unwrap();
        match auth(&k2, t0) {
            Err(PoolKeyError::Detached { reason, .. }) => assert_eq!(reason, "decommissioned"),
            other => panic!("{other:?}"),
        }
        let id = pool.id.clone();
        s.write_blocking(move |tx| Ok(reenable(tx, &admin, &id, t0)))
            .unwrap()
            .unwrap();
        assert!(auth(&k2, t0).is_ok());
    }

    #[test]
    fn default_pool_is_idempotent_and_undeletable() {
        let (_d, s) = store();
        let admin = user("a", &[Role::CompanyAdmin]);
        let r = s
            .write_blocking(move |tx| {
                let a = ensure_default(tx, 1)?;
                let b = ensure_default(tx, 2)?;
                assert_eq!(a, b);
                Ok(delete(tx, &admin, DEFAULT_POOL_ID, 0))
            })
            .unwrap();
        assert!(matches!(r, Err(PoolError::Conflict(_))));
        assert_eq!(s.read_blocking(list).unwrap().len(), 1);
    }

    #[test]
    fn validation_and_permissions() {
        let (_d, s) = store();
        let admin = user("a", &[Role::CompanyAdmin]);
        let dev = user("d", &[Role::Developer]);
        let r = s
            .write_blocking(move |tx| {
                ensure_default(tx, 1)?;
                let long = NewPool {
                    name: "p".into(),
                    description: "x".repeat(256),
                };
                assert!(matches!(
                    create(tx, &admin, &long, 1),
                    Err(PoolError::Invalid {
                        field: "description",
                        ..
                    })
                ));
                let ok = NewPool {
                    name: "p".into(),
                    description: "x".repeat(255),
                };
                create(tx, &admin, &ok, 1).unwrap();
                let dup = NewPool {
                    name: " P ".into(),
                    description: String::new(),
                };
                assert!(matches!(
                    create(tx, &admin, &dup, 1),
                    Err(PoolError::Conflict(_))
                ));
                assert!(matches!(
                    create(tx, &dev, &dup, 1),
                    Err(PoolError::NotAllowed(_))
                ));
                // A Group Admin changes the pools of the groups they administer, and cannot
                // even see the others.
                let lead = user("lead", &[Role::GroupAdmin]);
                let mine = list(tx)?.into_iter().find(|p| p.name == "p").unwrap();
                crate::iam::groups::ensure_default(tx, 1)?;
                let g = crate::iam::groups::Group {
                    id: "g".into(),
                    name: "g".into(),
                    members: Default::default(),
                    admins: std::collections::BTreeSet::from(["lead".to_string()]),
                    pools: std::collections::BTreeSet::from([mine.id.clone()]),
                    created_ms: None,
                };
                tx.put_json(&crate::iam::groups::ACCESS_GROUPS, b"g", &g)?;
                assert!(rotate_key(tx, &lead, &mine.id, 1).is_ok());
                assert!(detach(tx, &lead, &mine.id, "why", 1).is_ok());
                assert!(matches!(
                    rotate_key(tx, &lead, DEFAULT_POOL_ID, 1),
                    Err(PoolError::NotFound)
                ));
                assert!(matches!(
                    delete(tx, &lead, &mine.id, 0),
                    Err(PoolError::NotAllowed(_))
                ));
                // The developer reaches the Default pool (Default group) but only reads it.
                let dev_in_default = user("d", &[Role::Developer]);
                crate::iam::groups::add_to_default(tx, "d")?;
                assert!(matches!(
                    rotate_key(tx, &dev_in_default, DEFAULT_POOL_ID, 1),
                    Err(PoolError::NotAllowed(_))
                ));
                // Not in a developer's scope (no groups): invisible.
                let stranger = user("s", &[Role::Developer]);
                Ok(rotate_key(tx, &stranger, DEFAULT_POOL_ID, 1).map(|_| ()))
            })
            .unwrap();
        assert!(matches!(r, Err(PoolError::NotFound)));
    }
}
