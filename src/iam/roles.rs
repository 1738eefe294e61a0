//! The seven persona roles and the permission matrix of `ROLES.md`, in one place.
//!
//! Every route names a [`Permission`] and the [`Need`] it has of it; [`allows`] is the single
//! function that answers whether a set of roles meets that need. The matrix is a `match` with
//! no wildcard arm, so adding a role or a permission does not compile until someone decides.

use serde::{Deserialize, Serialize};

/// A predefined persona role. Ids are the kebab-case names used in the API and CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// DevOps manager / IT admin: everything, all pools.
    CompanyAdmin,
    /// Engineering manager, compliance auditor: read-only, all pools, no secrets.
    CompanyViewer,
    /// Team lead: manages the access groups they administer and those groups' pools.
    GroupAdmin,
    /// Security officer: audit, PII redaction, blocklist, API-key oversight.
    Security,
    /// Application-security engineer: reachability, SBOM, vulnerability data, webhooks.
    Appsec,
    /// On-call engineer: debug on any pool, may ignore quotas.
    IncidentResponder,
    /// Developer: debug on the pools of their access groups.
    Developer,
}

impl Role {
    /// Every role, in the order of `ROLES.md`.
    pub const ALL: [Role; 7] = [
        Role::CompanyAdmin,
        Role::CompanyViewer,
        Role::GroupAdmin,
        Role::Security,
        Role::Appsec,
        Role::IncidentResponder,
        Role::Developer,
    ];

    /// The role id used in the API, the CLI and the store.
    pub fn id(self) -> &'static str {
        match self {
            Role::CompanyAdmin => "company-admin",
            Role::CompanyViewer => "company-viewer",
            Role::GroupAdmin => "group-admin",
            Role::Security => "security",
            Role::Appsec => "appsec",
            Role::IncidentResponder => "incident-responder",
            Role::Developer => "developer",
        }
    }

    /// The human name shown in the portal.
    pub fn label(self) -> &'static str {
        match self {
            Role::CompanyAdmin => "Company Admin",
            Role::CompanyViewer => "Company Viewer",
            Role::GroupAdmin => "Group Admin",
            Role::Security => "Security",
            Role::Appsec => "AppSec",
            Role::IncidentResponder => "Incident Responder",
            Role::Developer => "Developer",
        }
    }

    /// Parses a role id.
    pub fn from_id(id: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.id() == id)
    }
}

/// A row of the permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Name & Plan, Usage Dashboard.
    NameAndPlan,
    /// License upload, service configuration, AI Debugger settings.
    ServiceSettings,
    /// Integrations (connect, edit, disconnect).
    Integrations,
    /// Users (create, enable/disable, delete, roles).
    Users,
    /// RBAC mode switch, Identity Configuration.
    IdentityConfig,
    /// Access Groups.
    AccessGroups,
    /// Agent Pools (create, key rotation, detach).
    AgentPools,
    /// Temporary Access.
    TemporaryAccess,
    /// API Keys.
    ApiKeys,
    /// Audit Events (view, export).
    AuditEvents,
    /// PII Redaction, Blocklist.
    PiiAndBlocklist,
    /// Agents (view; disconnect).
    Agents,
    /// Tags (view; delete).
    Tags,
    /// Custom Sources.
    CustomSources,
    /// Actions: create / disable / delete own.
    Actions,
    /// Actions: delete others'.
    OthersActions,
    /// Ignore quotas.
    IgnoreQuotas,
    /// Snapshots and logs (Data Explorer).
    SnapshotsAndLogs,
    /// Runtime Reachability view, SBOM export.
    Reachability,
    /// Watched Packages, vulnerability import, enrichment, VEX decisions.
    WatchedPackages,
    /// System Diagnostics (view, download bundle).
    Diagnostics,
    /// AI Debugger "explain".
    AiExplain,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// — : nothing.
    None,
    /// Read within the pools in scope, with a restriction the feature applies
    /// ("view", "own", "labels only", "counter probes only", "if enabled for role").
    Limited,
    /// R: read everything.
    Read,
    /// S: read and write within pool scope.
    Scoped,
    /// W: create, change, delete.
    Write,
}

/// What a route needs of its permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Seeing the page or object (any level above None).
    View,
    /// Changing something (Scoped or Write; scope checks happen in the domain).
    Change,
    /// Changing anything, company-wide (Write).
    Administer,
}

/// The matrix of `ROLES.md`: the level `role` has of `permission`.
pub fn level(role: Role, permission: Permission) -> Level {
    use Level::{Limited as L, None as N, Read as R, Scoped as S, Write as W};
    use Permission as P;
    // Columns: admin, viewer, group-admin, security, appsec, incident-responder, developer.
    let row: [Level; 7] = match permission {
        P::NameAndPlan => [W, R, R, R, R, R, R],
        P::ServiceSettings => [W, R, N, R, N, N, N],
        P::Integrations => [W, R, N, N, L, N, N],
        P::Users => [W, R, R, R, N, N, N],
        P::IdentityConfig => [W, R, N, R, N, N, N],
        P::AccessGroups => [W, R, S, R, N, N, N],
        P::AgentPools => [W, R, S, R, R, R, L],
        P::TemporaryAccess => [W, R, S, R, N, N, N],
        P::ApiKeys => [W, L, N, L, N, N, N],
        P::AuditEvents => [W, R, N, W, N, N, N],
        P::PiiAndBlocklist => [W, R, N, W, R, R, R],
        P::Agents => [W, R, S, R, R, W, L],
        P::Tags => [W, R, S, R, R, R, L],
        P::CustomSources => [W, R, S, R, R, W, S],
        P::Actions => [W, N, S, N, L, W, S],
        P::OthersActions => [W, N, S, N, N, W, N],
        P::IgnoreQuotas => [W, N, N, N, N, W, N],
        P::SnapshotsAndLogs => [R, R, S, R, N, R, S],
        P::Reachability => [R, R, S, R, R, R, S],
        P::WatchedPackages => [W, R, N, N, W, N, N],
        P::Diagnostics => [W, R, N, R, N, R, N],
        P::AiExplain => [W, N, S, N, N, W, L],
    };
    let column = match role {
        Role::CompanyAdmin => 0,
        Role::CompanyViewer => 1,
        Role::GroupAdmin => 2,
        Role::Security => 3,
        Role::Appsec => 4,
        Role::IncidentResponder => 5,
        Role::Developer => 6,
    };
    row.get(column).copied().unwrap_or(Level::None)
}

/// The single authorisation decision: do `roles` together meet `need` of `permission`?
/// Roles add up, so the best level among them counts.
pub fn allows(roles: &[Role], permission: Permission, need: Need) -> bool {
    let best = roles
        .iter()
        .map(|r| level(*r, permission))
        .max()
        .unwrap_or(Level::None);
    match need {
        Need::View => best > Level::None,
        Need::Change => best >= Level::Scoped,
        Need::Administer => best == Level::Write,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_ids_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_id(r.id()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.id()));
        }
        assert_eq!(Role::from_id("root"), None);
    }

    #[test]
    fn matrix_spot_checks_from_roles_md() {
        use Permission as P;
        assert!(allows(&[Role::CompanyAdmin], P::Users, Need::Administer));
        assert!(allows(&[Role::CompanyViewer], P::Users, Need::View));
        assert!(!allows(&[Role::CompanyViewer], P::Users, Need::Change));
        assert!(!allows(&[Role::Developer], P::Users, Need::View));
        assert!(!allows(&[Role::Appsec], P::SnapshotsAndLogs, Need::View));
        assert!(allows(&[Role::Security], P::AuditEvents, Need::Administer));
        assert!(allows(&[Role::Developer], P::Actions, Need::Change));
        assert!(!allows(&[Role::Developer], P::OthersActions, Need::Change));
        assert!(!allows(
            &[Role::CompanyAdmin],
            P::SnapshotsAndLogs,
            Need::Change
        ));
        assert!(!allows(&[], P::NameAndPlan, Need::View));
        // Roles add up.
        assert!(allows(
            &[Role::Developer, Role::Appsec],
            P::WatchedPackages,
            Need::Administer
        ));
    }
}
