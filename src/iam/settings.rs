//! Identity settings that a Company Admin switches at run time, kept in `settings_v1`; so far
//! the RBAC mode (`ROLES.md`: in non-RBAC mode only `developer` and `company-admin` exist and
//! every developer reaches every pool).
//!
//! Other modules ask [`rbac_enabled`] inside their own read transaction, so a switch applies
//! to the next request without a cache to invalidate.

use serde::{Deserialize, Serialize};

use super::roles::Role;
use crate::store::{Reads, StoreError, Table, WriteTx};

/// Run-time settings by key; values are JSON.
pub const SETTINGS: Table = Table::new("settings_v1");
/// The key of the RBAC mode in [`SETTINGS`].
const RBAC_MODE_KEY: &[u8] = b"rbac_mode";

/// The roles that can be assigned in non-RBAC mode.
pub const NON_RBAC_ROLES: [Role; 2] = [Role::CompanyAdmin, Role::Developer];

/// The stored form of the mode: a word rather than a bool, so a third mode stays possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RbacMode {
    Rbac,
    NonRbac,
}

/// Whether role-based access control is on (the default when nothing is stored).
pub fn rbac_enabled(tx: &impl Reads) -> Result<bool, StoreError> {
    let mode: Option<RbacMode> = tx.get_json_value(&SETTINGS, RBAC_MODE_KEY)?;
    Ok(mode != Some(RbacMode::NonRbac))
}

/// [`rbac_enabled`] inside a write transaction (to check a change against the mode
/// atomically).
pub fn rbac_enabled_in_write(tx: &WriteTx<'_>) -> Result<bool, StoreError> {
    rbac_enabled(tx)
}

/// Stores the mode. Users keep the roles they hold; see [`effective_roles`].
pub fn set_rbac_enabled(tx: &mut WriteTx<'_>, on: bool) -> Result<(), StoreError> {
    let mode = if on {
        RbacMode::Rbac
    } else {
        RbacMode::NonRbac
    };
    tx.put_json(&SETTINGS, RBAC_MODE_KEY, &mode)
}

/// The roles an administrator may assign in the given mode.
pub fn assignable_roles(rbac: bool) -> &'static [Role] {
    if rbac { &Role::ALL } else { &NON_RBAC_ROLES }
}

/// The roles that count for authorisation. Switching to non-RBAC keeps the stored roles (so
/// switching back restores them) but only Company Admin and Developer exist meanwhile: other
/// roles are ignored, and a user left with none acts as a Developer.
pub fn effective_roles(stored: &[Role], rbac: bool) -> Vec<Role> {
    if rbac {
        return stored.to_vec();
    }
    let kept: Vec<Role> = stored
        .iter()
        .copied()
        .filter(|r| NON_RBAC_ROLES.contains(r))
        .collect();
    if kept.is_empty() {
        vec![Role::Developer]
    } else {
        kept
    }
}

/// Whether a user with these (effective) roles reaches every pool regardless of access
/// groups: company-wide roles always do, and in non-RBAC mode every developer does.
pub fn reaches_all_pools(roles: &[Role], rbac: bool) -> bool {
    !rbac
        || roles.iter().any(|r| {
            matches!(
                r,
                Role::CompanyAdmin
                    | Role::CompanyViewer
                    | Role::Security
                    | Role::Appsec
                    | Role::IncidentResponder
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_rbac_keeps_only_admin_and_developer() {
        assert_eq!(
            effective_roles(&[Role::Security, Role::CompanyAdmin], false),
            vec![Role::CompanyAdmin]
        );
        assert_eq!(
            effective_roles(&[Role::Security], false),
            vec![Role::Developer]
        );
        assert_eq!(
            effective_roles(&[Role::Security], true),
            vec![Role::Security]
        );
        assert_eq!(assignable_roles(false).len(), 2);
        assert_eq!(assignable_roles(true).len(), 7);
        assert!(reaches_all_pools(&[Role::Developer], false));
        assert!(!reaches_all_pools(&[Role::Developer], true));
        assert!(!reaches_all_pools(&[Role::GroupAdmin], true));
        assert!(reaches_all_pools(&[Role::Appsec], true));
    }
}
