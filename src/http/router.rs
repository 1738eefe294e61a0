//! Every route of the appliance as one [`Endpoint`] enum. [`Endpoint::parse`] maps a method
//! and path to it; [`Endpoint::access`] names what each one needs, in a `match` without a
//! wildcard arm: a new route does not compile until someone decides who may call it.

use hyper::Method;

use crate::iam::roles::{Need, Permission};
use crate::ui::nav::{self, NavId};

/// A parsed route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /healthz`: liveness and store readiness.
    Healthz,
    /// `GET /assets/<hash>/<name>`: embedded static files.
    Asset {
        /// Content hash from the URL.
        hash: String,
        /// File name.
        name: String,
    },
    /// `GET /favicon.ico`: redirects to the hashed icon.
    Favicon,
    /// `GET /`: to the first page.
    Home,
    /// `GET /sign-in`
    SignInForm,
    /// `POST /sign-in`
    SignIn,
    /// `POST /sign-out`
    SignOut,
    /// `GET /setup?token=`: the first-admin form.
    SetupForm,
    /// `POST /setup`
    Setup,
    /// `GET /profile`
    Profile,
    /// `POST /profile/password`
    ChangePassword,
    /// A portal page of the navigation.
    Page(NavId),
    /// `GET /settings/security/audit-events/verify`: the list plus a walk of the hash chain.
    AuditVerify,
    /// `GET /settings/security/audit-events/export?format=csv|jsonl`
    AuditExport,
    /// `POST /settings/security/api-keys`: create a key from the portal.
    ApiKeyCreateForm,
    /// `POST /settings/security/api-keys/{id}/revoke`
    ApiKeyRevokeForm {
        /// Key id.
        id: String,
    },
    /// `GET /api/v1/audit-events`
    ApiAuditEvents,
    /// `GET /api/v1/api-keys`
    ApiKeysList,
    /// `POST /api/v1/api-keys`
    ApiKeyCreate,
    /// `DELETE /api/v1/api-keys/{id}`
    ApiKeyRevoke {
        /// Key id.
        id: String,
    },
    /// Anything under `/api/` that does not exist (yet).
    ApiUnknown,
    // Users (Settings › Identity and Access Management); handlers in `http::users`.
    /// `GET /settings/iam/users/new`: the create-user form.
    UserNew,
    /// `POST /settings/iam/users`: creates a user.
    UserCreate,
    /// `GET /settings/iam/users/{id}`: one user.
    UserDetail(String),
    /// `POST /settings/iam/users/{id}/roles`
    UserRoles(String),
    /// `POST /settings/iam/users/{id}/enable` (`true`) or `/disable` (`false`).
    UserEnabled(String, bool),
    /// `POST /settings/iam/users/{id}/delete`
    UserDelete(String),
    /// `POST /settings/iam/users/{id}/activation-link`: a new link for a pending user.
    UserActivationLink(String),
    /// `POST /settings/iam/rbac-mode`: the RBAC mode switch.
    RbacMode,
    /// `GET /activate?token=`: the activation form of a new user.
    ActivateForm,
    /// `POST /activate`
    Activate,
}

/// What a route requires of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// A signed-in user whose roles meet the need of the permission.
    Role(Permission, Need),
}

/// Why a request matches no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    /// No such path.
    NotFound,
    /// The path exists with other methods.
    Method,
}

impl Endpoint {
    /// Maps a method and path (without query) to a route.
    pub fn parse(method: &Method, path: &str) -> Result<Endpoint, NoRoute> {
        let get = *method == Method::GET || *method == Method::HEAD;
        let post = *method == Method::POST;
        let only = |ok: bool, e: Endpoint| if ok { Ok(e) } else { Err(NoRoute::Method) };
        if let Some(rest) = path.strip_prefix("/api/v1/") {
            return Ok(api_route(method, rest));
        }
        if path.starts_with("/api/") {
            return Ok(Endpoint::ApiUnknown);
        }
        if let Some(id) = path
            .strip_prefix("/settings/security/api-keys/")
            .and_then(|r| r.strip_suffix("/revoke"))
        {
            return only(post, Endpoint::ApiKeyRevokeForm { id: id.to_string() });
        }
        if let Some(rest) = path.strip_prefix("/assets/") {
            let (hash, name) = rest.split_once('/').ok_or(NoRoute::NotFound)?;
            return only(
                get,
                Endpoint::Asset {
                    hash: hash.to_string(),
                    name: name.to_string(),
                },
            );
        }
        match path {
            "/healthz" => only(get, Endpoint::Healthz),
            "/favicon.ico" => only(get, Endpoint::Favicon),
            "/" => only(get, Endpoint::Home),
            "/sign-in" if post => Ok(Endpoint::SignIn),
            "/sign-in" => only(get, Endpoint::SignInForm),
            "/sign-out" => only(post, Endpoint::SignOut),
            "/setup" if post => Ok(Endpoint::Setup),
            "/setup" => only(get, Endpoint::SetupForm),
            "/profile" => only(get, Endpoint::Profile),
            "/profile/password" => only(post, Endpoint::ChangePassword),
            "/settings/security/audit-events/verify" => only(get, Endpoint::AuditVerify),
            "/settings/security/audit-events/export" => only(get, Endpoint::AuditExport),
            "/settings/security/api-keys" if post => Ok(Endpoint::ApiKeyCreateForm),
            "/activate" if post => Ok(Endpoint::Activate),
            "/activate" => only(get, Endpoint::ActivateForm),
            "/settings/iam/users" if post => Ok(Endpoint::UserCreate),
            "/settings/iam/rbac-mode" => only(post, Endpoint::RbacMode),
            other if other.starts_with(super::users::PREFIX) => {
                super::users::parse(get, post, other)
            }
            other => match nav::by_path(other) {
                Some(entry) => only(get, Endpoint::Page(entry.id)),
                None => Err(NoRoute::NotFound),
            },
        }
    }

    /// What the route needs. Exhaustive on purpose: see the module docs.
    pub fn access(&self) -> Access {
        match self {
            Endpoint::Healthz
            | Endpoint::Asset { .. }
            | Endpoint::Favicon
            | Endpoint::SignInForm
            | Endpoint::SignIn
            | Endpoint::SetupForm
            | Endpoint::Setup
            | Endpoint::ActivateForm
            | Endpoint::Activate
            | Endpoint::ApiUnknown => Access::Public,
            Endpoint::ApiAuditEvents => Access::Role(Permission::AuditEvents, Need::View),
            Endpoint::ApiKeysList => Access::Role(Permission::ApiKeys, Need::View),
            Endpoint::ApiKeyCreate
            | Endpoint::ApiKeyRevoke { .. }
            | Endpoint::ApiKeyCreateForm
            | Endpoint::ApiKeyRevokeForm { .. } => {
                Access::Role(Permission::ApiKeys, Need::Administer)
            }
            Endpoint::Home | Endpoint::SignOut | Endpoint::Profile | Endpoint::ChangePassword => {
                Access::SignedIn
            }
            Endpoint::AuditVerify => Access::Role(Permission::AuditEvents, Need::View),
            Endpoint::AuditExport => Access::Role(Permission::AuditEvents, Need::Administer),
            Endpoint::Page(id) => match page_permission(*id) {
                Some(p) => Access::Role(p, Need::View),
                None => Access::SignedIn,
            },
            Endpoint::UserDetail(_) => Access::Role(Permission::Users, Need::View),
            Endpoint::UserNew
            | Endpoint::UserCreate
            | Endpoint::UserRoles(_)
            | Endpoint::UserEnabled(..)
            | Endpoint::UserDelete(_)
            | Endpoint::UserActivationLink(_) => Access::Role(Permission::Users, Need::Administer),
            Endpoint::RbacMode => Access::Role(Permission::IdentityConfig, Need::Administer),
        }
    }

    /// Whether the answer is JSON (API) rather than a portal page.
    pub fn is_api(&self) -> bool {
        matches!(
            self,
            Endpoint::ApiUnknown
                | Endpoint::Healthz
                | Endpoint::ApiAuditEvents
                | Endpoint::ApiKeysList
                | Endpoint::ApiKeyCreate
                | Endpoint::ApiKeyRevoke { .. }
        )
    }
}

/// Routes under `/api/v1/`; unknown paths and methods are `ApiUnknown` (a JSON 404).
fn api_route(method: &Method, rest: &str) -> Endpoint {
    let segments: Vec<&str> = rest.split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["audit-events"]) => Endpoint::ApiAuditEvents,
        ("GET", ["api-keys"]) => Endpoint::ApiKeysList,
        ("POST", ["api-keys"]) => Endpoint::ApiKeyCreate,
        ("DELETE", ["api-keys", id]) if !id.is_empty() => Endpoint::ApiKeyRevoke {
            id: (*id).to_string(),
        },
        _ => Endpoint::ApiUnknown,
    }
}

/// The permission that decides whether a navigation page is shown; `None` for pages every
/// signed-in user may open.
pub fn page_permission(id: NavId) -> Option<Permission> {
    use Permission as P;
    match id {
        NavId::GettingStarted => None,
        NavId::DataExplorer => Some(P::SnapshotsAndLogs),
        NavId::Agents => Some(P::Agents),
        NavId::CustomSources => Some(P::CustomSources),
        NavId::Tags => Some(P::Tags),
        NavId::Actions => Some(P::Actions),
        NavId::Integrations => Some(P::Integrations),
        NavId::Reachability => Some(P::Reachability),
        NavId::NameAndPlan => Some(P::NameAndPlan),
        NavId::Usage => Some(P::NameAndPlan),
        NavId::Users => Some(P::Users),
        NavId::AgentPools => Some(P::AgentPools),
        NavId::AccessGroups => Some(P::AccessGroups),
        NavId::TemporaryAccess => Some(P::TemporaryAccess),
        NavId::Identity => Some(P::IdentityConfig),
        NavId::AiDebugger => Some(P::ServiceSettings),
        NavId::PiiRedaction => Some(P::PiiAndBlocklist),
        NavId::Blocklist => Some(P::PiiAndBlocklist),
        NavId::AuditEvents => Some(P::AuditEvents),
        NavId::ApiKeys => Some(P::ApiKeys),
        NavId::ServiceConfiguration => Some(P::ServiceSettings),
        NavId::Diagnostics => Some(P::Diagnostics),
        NavId::WatchedPackages => Some(P::WatchedPackages),
        NavId::Webhooks => Some(P::Integrations),
        NavId::Sbom => Some(P::Reachability),
        NavId::PackageEnrichment => Some(P::WatchedPackages),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        assert_eq!(
            Endpoint::parse(&Method::GET, "/healthz"),
            Ok(Endpoint::Healthz)
        );
        assert_eq!(
            Endpoint::parse(&Method::POST, "/sign-in"),
            Ok(Endpoint::SignIn)
        );
        assert_eq!(
            Endpoint::parse(&Method::GET, "/sign-in"),
            Ok(Endpoint::SignInForm)
        );
        assert_eq!(
            Endpoint::parse(&Method::GET, "/sign-out"),
            Err(NoRoute::Method)
        );
        assert_eq!(
            Endpoint::parse(&Method::GET, "/nope"),
            Err(NoRoute::NotFound)
        );
        assert_eq!(
            Endpoint::parse(&Method::GET, "/settings/iam/users"),
            Ok(Endpoint::Page(NavId::Users))
        );
        assert_eq!(
            Endpoint::parse(&Method::GET, "/api/v1/users"),
            Ok(Endpoint::ApiUnknown)
        );
    }

    #[test]
    fn every_nav_page_is_routed() {
        for entry in nav::NAV {
            assert_eq!(
                Endpoint::parse(&Method::GET, entry.path),
                Ok(Endpoint::Page(entry.id)),
                "{}",
                entry.path
            );
        }
    }
}
