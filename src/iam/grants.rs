//! Temporary access: time-limited grants of roles on agent pools to users, tied to an
//! incident.
//!
//! Owns the table `temp_grants_v1` and the limits of `DEFAULTS.md` (≤ 50 users and ≤ 20
//! pools per grant, ≤ 31 days, ≤ 100 grants active at once). A grant counts while it is
//! neither revoked nor expired by the injected clock; an expired grant is kept for the record
//! and simply stops counting. The pools of a user's active grants join their pool scope
//! (`scope.rs`). The granted roles are stored with the grant for the actions work to apply
//! on those pools; they never widen the scope to all pools.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::pools;
use super::roles::{self, Need, Permission, Role};
use super::scope;
use super::tokens;
use super::users::{self, User};
use crate::store::{Reads, StoreError, Table, WriteTx};

/// Grants by id.
pub const TEMP_GRANTS: Table = Table::new("temp_grants_v1");
/// Most users in one grant.
pub const MAX_USERS: usize = 50;
/// Most pools in one grant.
pub const MAX_POOLS: usize = 20;
/// Longest grant, in days.
pub const MAX_DAYS: i64 = 31;
/// Most grants active at once.
pub const MAX_ACTIVE: usize = 100;
/// Longest incident id.
pub const MAX_INCIDENT: usize = 100;
/// Most grants kept (active and past) and read by one listing.
pub const MAX_STORED: usize = 10_000;
/// The roles a grant may carry: the pool-bound debugging roles. Company-wide roles cannot be
/// handed out through a grant, which would bypass Users management.
pub const GRANTABLE: [Role; 2] = [Role::Developer, Role::IncidentResponder];

const DAY_MS: i64 = 86_400_000;

/// A stored grant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    /// Random 128-bit hex id.
    pub id: String,
    /// User ids of the grantees.
    pub users: BTreeSet<String>,
    /// Pool ids the grant reaches.
    pub pools: BTreeSet<String>,
    /// Roles granted on those pools.
    pub roles: Vec<Role>,
    /// The incident or ticket the grant is for.
    pub incident: String,
    /// Who made it (user id).
    pub created_by: String,
    /// Unix milliseconds of creation.
    pub created_ms: i64,
    /// When it stops counting.
    pub expires_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

impl Grant {
    /// Whether the grant counts at `now_ms`: not revoked and not expired.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_ms.is_none() && now_ms < self.expires_ms
    }
}

/// Why a grant change was refused.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A field failed validation or a per-grant limit was exceeded (400).
    #[error("{field}: {message}")]
    Invalid {
        /// The form field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Too many active grants, or already revoked (409).
    #[error("{0}")]
    Conflict(String),
    /// No such grant (404).
    #[error("there is no such grant")]
    NotFound,
    /// The actor may not do this (403).
    #[error("{0}")]
    NotAllowed(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A grant as submitted.
#[derive(Debug, Clone, Default)]
pub struct NewGrant {
    /// Grantee user ids.
    pub users: BTreeSet<String>,
    /// Pool ids.
    pub pools: BTreeSet<String>,
    /// Roles granted.
    pub roles: BTreeSet<Role>,
    /// Incident id as typed.
    pub incident: String,
    /// How long it lasts, in milliseconds from now.
    pub duration_ms: i64,
}

/// Every stored grant, newest first.
pub fn list(tx: &impl Reads) -> Result<Vec<Grant>, StoreError> {
    let mut grants = tx.scan_json::<Grant>(&TEMP_GRANTS, MAX_STORED)?;
    grants.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.id.cmp(&b.id)));
    Ok(grants)
}

/// The active grants that name `user_id`, soonest expiry first.
pub fn active_for(tx: &impl Reads, user_id: &str, now_ms: i64) -> Result<Vec<Grant>, StoreError> {
    let mut out: Vec<Grant> = list(tx)?
        .into_iter()
        .filter(|g| g.is_active(now_ms) && g.users.contains(user_id))
        .collect();
    out.sort_by_key(|g| g.expires_ms);
    Ok(out)
}

/// Checks the sizes and the duration first (cheap, and the limits are what the user must
/// hear about), then that every user and pool exists and is within the actor's reach.
fn check(tx: &impl Reads, actor: &User, new: &NewGrant, now_ms: i64) -> Result<String, GrantError> {
    let invalid = |field, m: String| Err(GrantError::Invalid { field, message: m });
    if new.users.is_empty() {
        return invalid("users", "choose at least one user".into());
    }
    if new.users.len() > MAX_USERS {
        return invalid(
            "users",
            format!(
                "a grant names at most {MAX_USERS} users (this one names {})",
                new.users.len()
            ),
        );
    }
    if new.pools.is_empty() {
        return invalid("pools", "choose at least one agent pool".into());
    }
    if new.pools.len() > MAX_POOLS {
        return invalid(
            "pools",
            format!(
                "a grant reaches at most {MAX_POOLS} pools (this one reaches {})",
                new.pools.len()
            ),
        );
    }
    if new.duration_ms <= 0 {
        return invalid("duration", "a grant must last some time".into());
    }
    if new.duration_ms > MAX_DAYS * DAY_MS {
        return invalid("duration", format!("a grant lasts at most {MAX_DAYS} days"));
    }
    if new.roles.is_empty() {
        return invalid("roles", "choose at least one role".into());
    }
    if let Some(r) = new.roles.iter().find(|r| !GRANTABLE.contains(r)) {
        return invalid(
            "roles",
            format!("{} cannot be granted temporarily", r.label()),
        );
    }
    let incident = new.incident.trim();
    if incident.is_empty() {
        return invalid("incident", "enter the incident or ticket id".into());
    }
    if incident.chars().count() > MAX_INCIDENT || incident.chars().any(char::is_control) {
        return invalid(
            "incident",
            format!("use at most {MAX_INCIDENT} characters on one line"),
        );
    }
    for id in &new.users {
        if tx
            .get_json_value::<User>(&users::USERS, id.as_bytes())?
            .is_none()
        {
            return invalid("users", format!("there is no user with id {id}"));
        }
    }
    let reach = scope::pool_scope(tx, actor, now_ms)?;
    for id in &new.pools {
        if pools::get(tx, id)?.is_none() || !reach.contains(id) {
            return invalid("pools", format!("there is no agent pool with id {id}"));
        }
    }
    Ok(incident.to_string())
}

fn check_change(actor: &User) -> Result<(), GrantError> {
    if roles::allows(&actor.roles, Permission::TemporaryAccess, Need::Change) {
        Ok(())
    } else {
        Err(GrantError::NotAllowed(
            "your roles do not allow granting temporary access".into(),
        ))
    }
}

/// Creates a grant. A Company Admin may grant on any pool; a Group Admin only on pools in
/// their own pool scope. Refused with `Invalid` beyond a per-grant limit and with `Conflict`
/// when [`MAX_ACTIVE`] grants are already active; nothing is stored then.
pub fn create(
    tx: &mut WriteTx<'_>,
    actor: &User,
    new: &NewGrant,
    now_ms: i64,
) -> Result<Grant, GrantError> {
    check_change(actor)?;
    let incident = check(tx, actor, new, now_ms)?;
    let all = list(tx)?;
    let active = all.iter().filter(|g| g.is_active(now_ms)).count();
    if active >= MAX_ACTIVE {
        return Err(GrantError::Conflict(format!(
            "{active} grants are active, the most allowed at once is {MAX_ACTIVE}; revoke one or wait for one to expire"
        )));
    }
    if all.len() >= MAX_STORED {
        return Err(GrantError::Conflict(format!(
            "{MAX_STORED} grants are stored; old ones must be cleaned up first"
        )));
    }
    let grant = Grant {
        id: tokens::random_id(),
        users: new.users.clone(),
        pools: new.pools.clone(),
        roles: new.roles.iter().copied().collect(),
        incident,
        created_by: actor.id.clone(),
        created_ms: now_ms,
        expires_ms: now_ms.saturating_add(new.duration_ms),
        revoked_ms: None,
    };
    tx.put_json(&TEMP_GRANTS, grant.id.as_bytes(), &grant)?;
    Ok(grant)
}

/// Whether `actor` may revoke `grant`: a Company Admin always; a Group Admin when every pool
/// of the grant is in their scope.
pub fn may_revoke(
    tx: &impl Reads,
    actor: &User,
    grant: &Grant,
    now_ms: i64,
) -> Result<bool, StoreError> {
    if roles::allows(&actor.roles, Permission::TemporaryAccess, Need::Administer) {
        return Ok(true);
    }
    if !roles::allows(&actor.roles, Permission::TemporaryAccess, Need::Change) {
        return Ok(false);
    }
    let reach = scope::pool_scope(tx, actor, now_ms)?;
    Ok(grant.pools.iter().all(|p| reach.contains(p)))
}

/// Revokes an active grant at `now_ms`.
pub fn revoke(
    tx: &mut WriteTx<'_>,
    actor: &User,
    id: &str,
    now_ms: i64,
) -> Result<Grant, GrantError> {
    check_change(actor)?;
    let mut grant: Grant = tx
        .get_json(&TEMP_GRANTS, id.as_bytes())?
        .ok_or(GrantError::NotFound)?;
    if !may_revoke(tx, actor, &grant, now_ms)? {
        return Err(GrantError::NotAllowed(
            "this grant reaches pools outside your scope".into(),
        ));
    }
    if !grant.is_active(now_ms) {
        return Err(GrantError::Conflict(
            "this grant has already expired or been revoked".into(),
        ));
    }
    grant.revoked_ms = Some(now_ms);
    tx.put_json(&TEMP_GRANTS, grant.id.as_bytes(), &grant)?;
    Ok(grant)
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
    use crate::iam::groups;
    use crate::iam::scope::{PoolScope, pool_scope};
    use crate::iam::users::NewUser;
    use crate::store::{Store, StoreOptions};

    fn mk(tx: &mut WriteTx<'_>, email: &str, roles: &[Role]) -> User {
        users::create(
            tx,
            &NewUser {
                email: email.into(),
                name: String::new(),
                roles: roles.to_vec(),
                password_hash: None,
            },
            0,
        )
        .unwrap()
    }

    fn ids(n: usize) -> BTreeSet<String> {
        (0..n).map(|i| format!("id{i}")).collect()
    }

    #[test]
    fn limits_are_refused_and_nothing_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        s.write_blocking(|tx| {
            pools::ensure_default(tx, 0)?;
            let admin = mk(tx, "a@x.org", &[Role::CompanyAdmin]);
            let dev = mk(tx, "d@x.org", &[Role::Developer]);
            let ok = NewGrant {
                users: BTreeSet::from([dev.id.clone()]),
                pools: BTreeSet::from([pools::DEFAULT_POOL_ID.to_string()]),
                roles: BTreeSet::from([Role::Developer]),
                incident: "INC-1".into(),
                duration_ms: DAY_MS,
            };
            let field = |r: Result<Grant, GrantError>| match r {
                Err(GrantError::Invalid { field, .. }) => field,
                other => panic!("{other:?}"),
            };
            let mut g = ok.clone();
            g.users = ids(51);
            assert_eq!(field(create(tx, &admin, &g, 0)), "users");
            let mut g = ok.clone();
            g.pools = ids(21);
            assert_eq!(field(create(tx, &admin, &g, 0)), "pools");
            let mut g = ok.clone();
            g.duration_ms = 32 * DAY_MS;
            assert_eq!(field(create(tx, &admin, &g, 0)), "duration");
            let mut g = ok.clone();
            g.duration_ms = 31 * DAY_MS;
            g.roles = BTreeSet::from([Role::CompanyAdmin]);
            assert_eq!(field(create(tx, &admin, &g, 0)), "roles");
            assert_eq!(list(tx)?.len(), 0);
            for _ in 0..MAX_ACTIVE {
                create(tx, &admin, &ok, 0).unwrap();
            }
            assert!(matches!(
                create(tx, &admin, &ok, 0),
                Err(GrantError::Conflict(_))
            ));
            assert_eq!(list(tx)?.len(), MAX_ACTIVE);
            // Once they expire, there is room again.
            assert!(create(tx, &admin, &ok, DAY_MS).is_ok());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn pool_scope_rules_of_roles_md() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        s.write_blocking(|tx| {
            pools::ensure_default(tx, 0)?;
            groups::ensure_default(tx, 0)?;
            let admin = mk(tx, "a@x.org", &[Role::CompanyAdmin]);
            let dev = mk(tx, "d@x.org", &[Role::Developer]);
            let (p1, _) = pools::create(
                tx,
                &admin,
                &pools::NewPool {
                    name: "one".into(),
                    description: String::new(),
                },
                0,
            )
            .unwrap();
            let (p2, _) = pools::create(
                tx,
                &admin,
                &pools::NewPool {
                    name: "two".into(),
                    description: String::new(),
                },
                0,
            )
            .unwrap();
            let only = |v: &[&str]| PoolScope::Only(v.iter().map(|s| s.to_string()).collect());
            // Company-wide roles reach every pool, with no group or grant.
            for r in crate::iam::scope::COMPANY_WIDE {
                let u = User {
                    roles: vec![r],
                    id: "nobody".into(),
                    ..dev.clone()
                };
                assert_eq!(pool_scope(tx, &u, 0)?, PoolScope::All, "{r:?}");
                assert!(pool_scope(tx, &u, 0)?.contains(&p2.id));
            }
            // Group Admin is not company-wide.
            let lead = User {
                roles: vec![Role::GroupAdmin],
                id: "lead".into(),
                ..dev.clone()
            };
            assert_eq!(pool_scope(tx, &lead, 0)?, only(&[]));
            // Roles add up: one company-wide role among others is enough.
            let both = User {
                roles: vec![Role::Developer, Role::IncidentResponder],
                ..dev.clone()
            };
            assert_eq!(pool_scope(tx, &both, 0)?, PoolScope::All);
            // A developer: the pools of their groups (the Default group holds the Default pool).
            assert_eq!(pool_scope(tx, &dev, 0)?, only(&["default"]));
            let g = groups::create(
                tx,
                &admin,
                &groups::GroupInput {
                    name: "team".into(),
                    members: BTreeSet::from([dev.id.clone()]),
                    pools: BTreeSet::from([p1.id.clone()]),
                    ..Default::default()
                },
                0,
            )
            .unwrap();
            assert_eq!(pool_scope(tx, &dev, 0)?, only(&["default", &p1.id]));
            // Non-RBAC mode: every developer reaches every pool; switching back restores groups.
            crate::iam::settings::set_rbac_enabled(tx, false)?;
            assert_eq!(pool_scope(tx, &dev, 0)?, PoolScope::All);
            crate::iam::settings::set_rbac_enabled(tx, true)?;
            assert_eq!(pool_scope(tx, &dev, 0)?, only(&["default", &p1.id]));
            // A Group Admin reaches the pools of the groups they administer.
            let real_lead = mk(tx, "l@x.org", &[Role::GroupAdmin]);
            groups::create(
                tx,
                &admin,
                &groups::GroupInput {
                    name: "led".into(),
                    admins: BTreeSet::from([real_lead.id.clone()]),
                    pools: BTreeSet::from([p2.id.clone()]),
                    ..Default::default()
                },
                0,
            )
            .unwrap();
            assert!(pool_scope(tx, &real_lead, 0)?.contains(&p2.id));
            assert!(!pool_scope(tx, &real_lead, 0)?.contains(&p1.id));
            // ...and grants temporary access only on those pools.
            let lead_grant = |pool: &str| NewGrant {
                users: BTreeSet::from([real_lead.id.clone()]),
                pools: BTreeSet::from([pool.to_string()]),
                roles: BTreeSet::from([Role::Developer]),
                incident: "INC-L".into(),
                duration_ms: 10,
            };
            assert!(matches!(
                create(tx, &real_lead, &lead_grant(&p1.id), 0),
                Err(GrantError::Invalid { field: "pools", .. })
            ));
            let own = create(tx, &real_lead, &lead_grant(&p2.id), 0).unwrap();
            assert!(may_revoke(tx, &real_lead, &own, 0)?);
            assert!(matches!(
                create(tx, &dev, &lead_grant(&p2.id), 0),
                Err(GrantError::NotAllowed(_))
            ));
            // ∪ the pools of unexpired grants.
            let grant = create(
                tx,
                &admin,
                &NewGrant {
                    users: BTreeSet::from([dev.id.clone()]),
                    pools: BTreeSet::from([p2.id.clone()]),
                    roles: BTreeSet::from([Role::IncidentResponder]),
                    incident: "INC-7".into(),
                    duration_ms: 1000,
                },
                0,
            )
            .unwrap();
            assert!(pool_scope(tx, &dev, 999)?.contains(&p2.id));
            // A granted role does not make the scope company-wide.
            assert!(!pool_scope(tx, &dev, 999)?.contains("elsewhere"));
            assert!(!pool_scope(tx, &dev, 1000)?.contains(&p2.id), "expired");
            // Revoked grants stop counting at once.
            let g2 = create(
                tx,
                &admin,
                &NewGrant {
                    users: BTreeSet::from([dev.id.clone()]),
                    pools: BTreeSet::from([p2.id.clone()]),
                    roles: BTreeSet::from([Role::Developer]),
                    incident: "INC-8".into(),
                    duration_ms: 10_000,
                },
                0,
            )
            .unwrap();
            assert!(pool_scope(tx, &dev, 1500)?.contains(&p2.id));
            revoke(tx, &admin, &g2.id, 1500).unwrap();
            assert!(!pool_scope(tx, &dev, 1501)?.contains(&p2.id));
            assert!(matches!(
                revoke(tx, &admin, &grant.id, 2000),
                Err(GrantError::Conflict(_))
            ));
            // Leaving a group takes its pools away.
            let input = groups::GroupInput {
                name: g.name.clone(),
                pools: g.pools.clone(),
                ..Default::default()
            };
            groups::update(tx, &admin, &g.id, &input, 0).unwrap();
            assert_eq!(pool_scope(tx, &dev, 20_000)?, only(&["default"]));
            Ok(())
        })
        .unwrap();
    }
}
