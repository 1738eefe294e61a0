//! Pool scope, in one place: which agent pools a user may act on (`ROLES.md`, "Pool scope").
//!
//! Company-wide roles reach every pool; everyone else reaches the pools of their access
//! groups and of their unexpired temporary-access grants. Every read of pool-bound data
//! (agents, actions, snapshots, logs, tags, custom sources, reachability) filters by
//! [`pool_scope`], and an object outside the scope answers 404, not 403. The scope is
//! computed from the store on every request, so group and grant changes apply at once.

use std::collections::BTreeSet;

use super::roles::Role;
use super::users::User;
use super::{grants, groups};
use crate::store::{Reads, StoreError};

/// The roles that reach every pool regardless of groups and grants.
pub const COMPANY_WIDE: [Role; 5] = [
    Role::CompanyAdmin,
    Role::CompanyViewer,
    Role::Security,
    Role::Appsec,
    Role::IncidentResponder,
];

/// The pools a user may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolScope {
    /// Every pool (a company-wide role).
    All,
    /// Only these pool ids.
    Only(BTreeSet<String>),
}

impl PoolScope {
    /// Whether the pool with this id is in scope.
    pub fn contains(&self, pool_id: &str) -> bool {
        match self {
            PoolScope::All => true,
            PoolScope::Only(ids) => ids.contains(pool_id),
        }
    }

    /// The pool ids in scope; `None` for every pool.
    pub fn ids(&self) -> Option<&BTreeSet<String>> {
        match self {
            PoolScope::All => None,
            PoolScope::Only(ids) => Some(ids),
        }
    }
}

/// The pool scope of `user` at `now_ms`: [`PoolScope::All`] for company-wide roles, else the
/// pools of the groups they are a member or admin of, together with the pools of their
/// grants that are neither expired nor revoked.
pub fn pool_scope(tx: &impl Reads, user: &User, now_ms: i64) -> Result<PoolScope, StoreError> {
    // Company-wide roles reach every pool; in non-RBAC mode every developer does too.
    let rbac = super::settings::rbac_enabled(tx)?;
    let roles = super::settings::effective_roles(&user.roles, rbac);
    if super::settings::reaches_all_pools(&roles, rbac) {
        return Ok(PoolScope::All);
    }
    let mut ids = BTreeSet::new();
    for g in groups::list(tx)? {
        if g.members.contains(&user.id) || g.admins.contains(&user.id) {
            ids.extend(g.pools.iter().cloned());
        }
    }
    for grant in grants::list(tx)? {
        if grant.is_active(now_ms) && grant.users.contains(&user.id) {
            ids.extend(grant.pools.iter().cloned());
        }
    }
    Ok(PoolScope::Only(ids))
}
