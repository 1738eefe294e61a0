//! Every route of the appliance as one [`Endpoint`] enum. [`Endpoint::parse`] maps a method
//! and path to it; [`Endpoint::access`] names what each one needs, in a `match` without a
//! wildcard arm: a new route does not compile until someone decides who may call it.

use hyper::Method;

pub use super::api_iam::RestRoute;
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
    /// `POST /settings/iam/users/{id}/reset-two-step`: removes a user's two-step sign-in.
    UserMfaReset(String),
    /// `POST /settings/iam/rbac-mode`: the RBAC mode switch.
    RbacMode,
    /// `GET /activate?token=`: the activation form of a new user.
    ActivateForm,
    /// `POST /activate`
    Activate,
    /// Agent pools below `/settings/iam/agent-pools` (the list itself is a [`Endpoint::Page`]).
    Pool(PoolRoute),
    /// Access groups below `/settings/iam/access-groups`.
    Group(GroupRoute),
    /// Temporary access below `/settings/iam/temporary-access`.
    Grant(GrantRoute),
    /// The identity resources of the REST API (users, groups, agent pools, temporary
    /// access) and its OpenAPI document; see `http::api_iam`.
    Rest(RestRoute),
    /// Two-step sign-in: on Profile, and the second step of sign-in.
    Mfa(super::mfa::MfaRoute),
    /// `GET /agent/v1`: the agent websocket (`http::agent_upgrade`).
    AgentGateway,
    /// `GET /downloads/lantern-agent.jar`: the Java agent (session or API key).
    DownloadJavaAgent,
    /// Entities pages below the Agents, Tags and Custom Sources lists (`http::entities`).
    Entity(super::entities::EntityRoute),
    /// The Entities resources of the REST API: agents, tags, custom sources
    /// (`http::api_agents`).
    EntitiesApi(super::api_agents::EntitiesApiRoute),
    /// The offline vulnerability database: the page's upload and its API (`http::vulndb`).
    Vulndb(super::vulndb::VulndbRoute),
    /// Webhooks: the page's forms and `/api/v1/webhooks` (`http::webhooks`).
    Webhooks(super::webhooks::WebhooksRoute),
    /// Runtime Reachability below the Assessment page, and `/api/v1/reachability/packages`
    /// (`http::reachability`).
    Reach(super::reachability::ReachRoute),
    /// Actions and their results: `/api/v1/actions`, the pages below Entities › Actions and
    /// the Data Explorer's (`http::actions`, `http::data_explorer`).
    Actions(super::actions::ActionsRoute),
    /// Watched Packages: the page's forms and `/api/v1/watched-packages` (`http::watched`).
    Watched(super::watched::WatchedRoute),
    /// The Runtime SBOM: the page's download and `/api/v1/sbom` (`http::sbom`).
    Sbom(super::sbom::SbomRoute),
    /// Service Configuration: the page's form and `/api/v1/settings/service`
    /// (`http::service_config`).
    ServiceConfig(super::service_config::ServiceConfigRoute),
    /// PII Redaction and Blocklist: the pages' forms, `/api/v1/pii-patterns` and
    /// `/api/v1/blocklist` (`http::security_settings`).
    Security(super::security_settings::SecurityRoute),
    /// System Diagnostics: the page's downloads and `/api/v1/diagnostics`
    /// (`http::diagnostics`).
    Diagnostics(super::diagnostics::DiagnosticsRoute),
}

/// The agent-pool routes; `{id}` is a pool id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolRoute {
    /// `GET /settings/iam/agent-pools/new`
    NewForm,
    /// `POST /settings/iam/agent-pools`
    Create,
    /// `GET /settings/iam/agent-pools/{id}`
    Detail(String),
    /// `POST /settings/iam/agent-pools/{id}/description`
    Describe(String),
    /// `POST /settings/iam/agent-pools/{id}/rotate`
    Rotate(String),
    /// `POST /settings/iam/agent-pools/{id}/detach`
    Detach(String),
    /// `POST /settings/iam/agent-pools/{id}/enable`
    Enable(String),
    /// `POST /settings/iam/agent-pools/{id}/delete`
    Delete(String),
}

/// The access-group routes; `{id}` is a group id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRoute {
    /// `GET /settings/iam/access-groups/new`
    NewForm,
    /// `POST /settings/iam/access-groups`
    Create,
    /// `GET /settings/iam/access-groups/{id}`
    Detail(String),
    /// `POST /settings/iam/access-groups/{id}`
    Update(String),
    /// `POST /settings/iam/access-groups/{id}/delete`
    Delete(String),
}

/// The temporary-access routes; `{id}` is a grant id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRoute {
    /// `GET /settings/iam/temporary-access/new`
    NewForm,
    /// `POST /settings/iam/temporary-access`
    Create,
    /// `POST /settings/iam/temporary-access/{id}/revoke`
    Revoke(String),
}

/// Where the IAM administration routes live.
const POOLS_PATH: &str = "/settings/iam/agent-pools";
const GROUPS_PATH: &str = "/settings/iam/access-groups";
const GRANTS_PATH: &str = "/settings/iam/temporary-access";

/// An object id in a path: the random hex ids (and `default`) only, so a path segment can
/// never smuggle anything into a key or a page.
pub(crate) fn object_id(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| s.to_string())
}

/// A percent-encoded path segment (or several, for tags) decoded into text: agent ids and
/// tags are chosen by agents, so they may hold `/`, `:` or spaces. `None` when the escapes
/// are broken, the text is not UTF-8 or holds control characters, or it is empty or over
/// 128 bytes (the protocol's longest id or tag). `+` stays a plus: this is a path, not a form.
pub(crate) fn path_text(raw: &str) -> Option<String> {
    decode_path(raw, crate::agents::protocol::MAX_LABEL_BYTES)
}

/// [`path_text`] with another bound on the decoded length (package URLs are longer than ids).
pub(crate) fn decode_path(raw: &str, max_bytes: usize) -> Option<String> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().and_then(hex)?;
            let lo = bytes.next().and_then(hex)?;
            out.push(hi << 4 | lo);
        } else {
            out.push(b);
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.is_empty() && text.len() <= max_bytes && !text.chars().any(char::is_control))
        .then_some(text)
}

/// Parses the IAM administration routes; `None` when `path` is not one of them (the lists
/// themselves are navigation pages).
fn parse_iam_admin(get: bool, post: bool, path: &str) -> Option<Result<Endpoint, NoRoute>> {
    let only = |ok: bool, e: Endpoint| Some(if ok { Ok(e) } else { Err(NoRoute::Method) });
    if path == POOLS_PATH && post {
        return Some(Ok(Endpoint::Pool(PoolRoute::Create)));
    }
    if path == GROUPS_PATH && post {
        return Some(Ok(Endpoint::Group(GroupRoute::Create)));
    }
    if path == GRANTS_PATH && post {
        return Some(Ok(Endpoint::Grant(GrantRoute::Create)));
    }
    if let Some(rest) = path
        .strip_prefix(POOLS_PATH)
        .and_then(|r| r.strip_prefix('/'))
    {
        let (id, verb) = rest.split_once('/').unwrap_or((rest, ""));
        if id == "new" && verb.is_empty() {
            return only(get, Endpoint::Pool(PoolRoute::NewForm));
        }
        let id = object_id(id)?;
        let route = match verb {
            "" => return only(get, Endpoint::Pool(PoolRoute::Detail(id))),
            "description" => PoolRoute::Describe(id),
            "rotate" => PoolRoute::Rotate(id),
            "detach" => PoolRoute::Detach(id),
            "enable" => PoolRoute::Enable(id),
            "delete" => PoolRoute::Delete(id),
            _ => return None,
        };
        return only(post, Endpoint::Pool(route));
    }
    if let Some(rest) = path
        .strip_prefix(GROUPS_PATH)
        .and_then(|r| r.strip_prefix('/'))
    {
        let (id, verb) = rest.split_once('/').unwrap_or((rest, ""));
        if id == "new" && verb.is_empty() {
            return only(get, Endpoint::Group(GroupRoute::NewForm));
        }
        let id = object_id(id)?;
        return match verb {
            "" if post => Some(Ok(Endpoint::Group(GroupRoute::Update(id)))),
            "" => only(get, Endpoint::Group(GroupRoute::Detail(id))),
            "delete" => only(post, Endpoint::Group(GroupRoute::Delete(id))),
            _ => None,
        };
    }
    if let Some(rest) = path
        .strip_prefix(GRANTS_PATH)
        .and_then(|r| r.strip_prefix('/'))
    {
        let (id, verb) = rest.split_once('/').unwrap_or((rest, ""));
        if id == "new" && verb.is_empty() {
            return only(get, Endpoint::Grant(GrantRoute::NewForm));
        }
        let id = object_id(id)?;
        return match verb {
            "revoke" => only(post, Endpoint::Grant(GrantRoute::Revoke(id))),
            _ => None,
        };
    }
    None
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
    /// An agent with an agent-pool key, checked before the websocket upgrade.
    AgentPoolKey,
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
        if path == "/agent/v1" {
            return Ok(Endpoint::AgentGateway);
        }
        if path == "/downloads/lantern-agent.jar" {
            return only(get, Endpoint::DownloadJavaAgent);
        }
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
        if let Some(route) = parse_iam_admin(get, post, path) {
            return route;
        }
        if let Some(route) = super::mfa::parse(get, post, path) {
            return route.map(Endpoint::Mfa);
        }
        if let Some(route) = super::entities::parse(get, post, path) {
            return route.map(Endpoint::Entity);
        }
        if let Some(route) = super::webhooks::WebhooksRoute::parse_portal(get, post, path) {
            return route.map(Endpoint::Webhooks);
        }
        if let Some(route) = super::reachability::ReachRoute::parse_portal(get, path) {
            return route.map(Endpoint::Reach);
        }
        if let Some(route) = super::watched::WatchedRoute::parse_portal(get, post, path) {
            return route.map(Endpoint::Watched);
        }
        if let Some(route) = super::service_config::ServiceConfigRoute::parse_portal(post, path) {
            return Ok(Endpoint::ServiceConfig(route));
        }
        if let Some(route) = super::actions::ActionsRoute::parse_portal(get, post, path) {
            return route.map(Endpoint::Actions);
        }
        if let Some(route) = super::sbom::SbomRoute::parse_portal(get, path) {
            return route.map(Endpoint::Sbom);
        }
        if let Some(route) = super::security_settings::SecurityRoute::parse_portal(get, post, path)
        {
            return route.map(Endpoint::Security);
        }
        if let Some(route) = super::diagnostics::DiagnosticsRoute::parse_portal(get, path) {
            return route.map(Endpoint::Diagnostics);
        }
        if path == crate::ui::pages::package_enrichment::UPLOAD_PATH {
            return only(post, Endpoint::Vulndb(super::vulndb::VulndbRoute::Upload));
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
        use Permission as P;
        match self {
            Endpoint::AgentGateway => Access::AgentPoolKey,
            Endpoint::DownloadJavaAgent => Access::SignedIn,
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
            | Endpoint::UserActivationLink(_)
            | Endpoint::UserMfaReset(_) => Access::Role(Permission::Users, Need::Administer),
            Endpoint::RbacMode => Access::Role(Permission::IdentityConfig, Need::Administer),
            // Creating and deleting pools is company-wide; the other changes are "S": the
            // domain (`iam::pools`) then checks that the pool is in the caller's scope.
            Endpoint::Pool(route) => match route {
                PoolRoute::Detail(_) => Access::Role(P::AgentPools, Need::View),
                PoolRoute::NewForm | PoolRoute::Create | PoolRoute::Delete(_) => {
                    Access::Role(P::AgentPools, Need::Administer)
                }
                PoolRoute::Describe(_)
                | PoolRoute::Rotate(_)
                | PoolRoute::Detach(_)
                | PoolRoute::Enable(_) => Access::Role(P::AgentPools, Need::Change),
            },
            // Group Admins change the groups they administer (`iam::groups` checks which).
            Endpoint::Group(route) => match route {
                GroupRoute::Detail(_) => Access::Role(P::AccessGroups, Need::View),
                GroupRoute::Update(_) => Access::Role(P::AccessGroups, Need::Change),
                GroupRoute::NewForm | GroupRoute::Create | GroupRoute::Delete(_) => {
                    Access::Role(P::AccessGroups, Need::Administer)
                }
            },
            // Group Admins grant on pools in their scope (`iam::grants` checks which).
            Endpoint::Grant(route) => match route {
                GrantRoute::NewForm | GrantRoute::Create | GrantRoute::Revoke(_) => {
                    Access::Role(P::TemporaryAccess, Need::Change)
                }
            },
            // The same needs as the portal routes for the same objects (above); scope and
            // Group Admin rules are checked by the same domain functions.
            Endpoint::Rest(route) => {
                use RestRoute as R;
                match route {
                    R::OpenApi => Access::Public,
                    R::UsersList | R::UserGet(_) => Access::Role(P::Users, Need::View),
                    R::UserCreate | R::UserUpdate(_) | R::UserDelete(_) | R::UserMfaReset(_) => {
                        Access::Role(P::Users, Need::Administer)
                    }
                    R::GroupsList | R::GroupGet(_) => Access::Role(P::AccessGroups, Need::View),
                    R::GroupUpdate(_) => Access::Role(P::AccessGroups, Need::Change),
                    R::GroupCreate | R::GroupDelete(_) => {
                        Access::Role(P::AccessGroups, Need::Administer)
                    }
                    R::PoolsList | R::PoolGet(_) => Access::Role(P::AgentPools, Need::View),
                    R::PoolCreate | R::PoolDelete(_) => {
                        Access::Role(P::AgentPools, Need::Administer)
                    }
                    R::PoolUpdate(_) | R::PoolRotate(_) | R::PoolDetach(_) | R::PoolEnable(_) => {
                        Access::Role(P::AgentPools, Need::Change)
                    }
                    R::GrantsList => Access::Role(P::TemporaryAccess, Need::View),
                    R::GrantCreate | R::GrantRevoke(_) => {
                        Access::Role(P::TemporaryAccess, Need::Change)
                    }
                }
            }
            // Scope (an agent, tag or source outside the caller's pools answers 404) is
            // checked by `http::entities` with `iam::scope`, as for pools.
            Endpoint::Entity(route) => {
                use super::entities::EntityRoute as E;
                match route {
                    E::AgentsLive | E::Agent(_) => Access::Role(P::Agents, Need::View),
                    E::AgentDisconnect(_) => Access::Role(P::Agents, Need::Change),
                    E::TagDelete => Access::Role(P::Tags, Need::Change),
                    E::Source(_) => Access::Role(P::CustomSources, Need::View),
                    E::SourceNew | E::SourceCreate | E::SourceDelete(_) => {
                        Access::Role(P::CustomSources, Need::Change)
                    }
                }
            }
            // The same needs as the portal routes for the same objects (above).
            Endpoint::EntitiesApi(route) => {
                use super::api_agents::EntitiesApiRoute as A;
                match route {
                    A::AgentsList | A::AgentGet(_) => Access::Role(P::Agents, Need::View),
                    A::AgentDisconnect(_) => Access::Role(P::Agents, Need::Change),
                    A::TagsList => Access::Role(P::Tags, Need::View),
                    A::TagDelete(_) => Access::Role(P::Tags, Need::Change),
                    A::SourcesList | A::SourceGet(_) => Access::Role(P::CustomSources, Need::View),
                    A::SourceCreate | A::SourceDelete(_) => {
                        Access::Role(P::CustomSources, Need::Change)
                    }
                }
            }
            // Vulnerability data: read by whoever may see Package Enrichment, imported by
            // the roles with W on "vulnerability import" (Company Admin, AppSec).
            Endpoint::Vulndb(route) => {
                use super::vulndb::VulndbRoute as V;
                match route {
                    V::ApiStatus | V::ApiImports => Access::Role(P::WatchedPackages, Need::View),
                    V::Upload | V::ApiImport => Access::Role(P::WatchedPackages, Need::Administer),
                }
            }
            // Webhooks are read by whoever may see Integrations (Company Admin and Viewer,
            // AppSec) and changed by the roles ROLES.md gives W on them: Company Admin and
            // AppSec, the same pair as "W" on vulnerability data, hence that permission.
            Endpoint::Webhooks(route) => {
                if route.reads_only() {
                    Access::Role(P::Integrations, Need::View)
                } else {
                    Access::Role(P::WatchedPackages, Need::Administer)
                }
            }
            // ROLES.md "Watched Packages": W for Company Admin and AppSec, R for Company Viewer.
            Endpoint::Watched(route) => {
                if route.reads_only() {
                    Access::Role(P::WatchedPackages, Need::View)
                } else {
                    Access::Role(P::WatchedPackages, Need::Administer)
                }
            }
            // Every reachability read is the "Runtime Reachability view" permission; pool
            // scope (rows, and 404 for a package outside it) is applied by the handlers.
            // Actions: the permission of each route; pool scope and ownership (deleting
            // another user's action) are decided by the handlers.
            Endpoint::Actions(route) => {
                let (permission, need) = route.access();
                Access::Role(permission, need)
            }
            // ROLES.md "service configuration": W for Company Admin, R for Company Viewer
            // and Security.
            Endpoint::ServiceConfig(route) => {
                let (permission, need) = route.access();
                Access::Role(permission, need)
            }
            Endpoint::Reach(route) => match route {
                super::reachability::ReachRoute::Live
                | super::reachability::ReachRoute::Package(_)
                | super::reachability::ReachRoute::ApiList
                | super::reachability::ReachRoute::ApiGet(_) => {
                    Access::Role(P::Reachability, Need::View)
                }
            },
            // "Runtime Reachability view, SBOM export" (R R S R R R S): one permission; the
            // handler bounds the components by the caller's pool scope.
            Endpoint::Sbom(super::sbom::SbomRoute::Download | super::sbom::SbomRoute::Api) => {
                Access::Role(P::Reachability, Need::View)
            }
            // ROLES.md "PII Redaction, Blocklist": W for Company Admin and Security, R for the
            // others listed; the testers only read.
            Endpoint::Security(route) => {
                if route.reads_only() {
                    Access::Role(P::PiiAndBlocklist, Need::View)
                } else {
                    Access::Role(P::PiiAndBlocklist, Need::Administer)
                }
            }
            // ROLES.md "System Diagnostics (view, download bundle)": W R — R — R —; every
            // route only reads (the bundle has its secrets removed), so the readers may
            // download it too.
            Endpoint::Diagnostics(route) => {
                let (permission, need) = route.access();
                Access::Role(permission, need)
            }
            // The second step proves itself with its own pending-step cookie.
            Endpoint::Mfa(route) => {
                use super::mfa::MfaRoute as M;
                match route {
                    M::ChallengeForm | M::Challenge => Access::Public,
                    M::Page | M::Enable | M::Disable | M::RecoveryCodes => Access::SignedIn,
                    M::Policy => Access::Role(P::IdentityConfig, Need::Administer),
                }
            }
        }
    }

    /// Whether a bearer API key may stand in for a session outside `/api/` (downloads, so
    /// that a deployment script can fetch the agent).
    pub fn accepts_api_key(&self) -> bool {
        matches!(self, Endpoint::DownloadJavaAgent)
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
                | Endpoint::Rest(_)
                | Endpoint::EntitiesApi(_)
        ) || matches!(self, Endpoint::Vulndb(route) if route.is_api())
            || matches!(self, Endpoint::Webhooks(route) if route.is_api())
            || matches!(self, Endpoint::Reach(route) if route.is_api())
            || matches!(self, Endpoint::Actions(route) if route.is_api())
            || matches!(self, Endpoint::Watched(route) if route.is_api())
            || matches!(self, Endpoint::Sbom(route) if route.is_api())
            || matches!(self, Endpoint::ServiceConfig(route) if route.is_api())
            || matches!(self, Endpoint::Security(route) if route.is_api())
            || matches!(self, Endpoint::Diagnostics(route) if route.is_api())
    }

    /// Whether the body is an upload, streamed by the route itself after authorisation
    /// instead of being read up front within the general body limit.
    pub fn streams_body(&self) -> bool {
        matches!(self, Endpoint::Vulndb(route) if route.streams_body())
    }

    /// Whether the page itself makes this request in the background (a live list's event
    /// stream), so that it must not count as the user's activity and keep the session alive.
    pub fn is_background(&self) -> bool {
        matches!(
            self,
            Endpoint::Entity(super::entities::EntityRoute::AgentsLive)
                | Endpoint::Reach(super::reachability::ReachRoute::Live)
        ) || matches!(self, Endpoint::Actions(route) if route.is_background())
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
        (m, path) => RestRoute::parse(m, path)
            .map(Endpoint::Rest)
            .or_else(|| super::vulndb::VulndbRoute::parse_api(m, path).map(Endpoint::Vulndb))
            .or_else(|| super::webhooks::WebhooksRoute::parse_api(m, path).map(Endpoint::Webhooks))
            .or_else(|| super::reachability::ReachRoute::parse_api(m, path).map(Endpoint::Reach))
            .or_else(|| super::actions::ActionsRoute::parse(m, path).map(Endpoint::Actions))
            .or_else(|| super::watched::WatchedRoute::parse_api(m, path).map(Endpoint::Watched))
            .or_else(|| super::sbom::SbomRoute::parse_api(m, path).map(Endpoint::Sbom))
            .or_else(|| {
                super::service_config::ServiceConfigRoute::parse_api(m, path)
                    .map(Endpoint::ServiceConfig)
            })
            .or_else(|| {
                super::security_settings::SecurityRoute::parse_api(m, path).map(Endpoint::Security)
            })
            .or_else(|| {
                super::api_agents::EntitiesApiRoute::parse(m, path).map(Endpoint::EntitiesApi)
            })
            .or_else(|| {
                super::diagnostics::DiagnosticsRoute::parse_api(m, path).map(Endpoint::Diagnostics)
            })
            .unwrap_or(Endpoint::ApiUnknown),
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
            Ok(Endpoint::Rest(RestRoute::UsersList))
        );
        assert_eq!(
            Endpoint::parse(&Method::GET, "/api/v1/nothing-here"),
            Ok(Endpoint::ApiUnknown)
        );
    }

    #[test]
    fn iam_admin_routes_parse_and_name_their_permission() {
        use Permission as P;
        let post = |p: &str| Endpoint::parse(&Method::POST, p);
        let get = |p: &str| Endpoint::parse(&Method::GET, p);
        assert_eq!(
            post("/settings/iam/agent-pools"),
            Ok(Endpoint::Pool(PoolRoute::Create))
        );
        assert_eq!(
            get("/settings/iam/agent-pools/new"),
            Ok(Endpoint::Pool(PoolRoute::NewForm))
        );
        assert_eq!(
            post("/settings/iam/agent-pools/ab12/rotate"),
            Ok(Endpoint::Pool(PoolRoute::Rotate("ab12".into())))
        );
        assert_eq!(
            get("/settings/iam/agent-pools/ab12/rotate"),
            Err(NoRoute::Method)
        );
        assert_eq!(
            get("/settings/iam/agent-pools/a.b"),
            Err(NoRoute::NotFound),
            "ids are alphanumeric"
        );
        assert_eq!(
            get("/settings/iam/agent-pools"),
            Ok(Endpoint::Page(NavId::AgentPools))
        );
        assert_eq!(
            post("/settings/iam/access-groups/g1"),
            Ok(Endpoint::Group(GroupRoute::Update("g1".into())))
        );
        assert_eq!(
            post("/settings/iam/temporary-access/x/revoke"),
            Ok(Endpoint::Grant(GrantRoute::Revoke("x".into())))
        );
        assert_eq!(
            Endpoint::Pool(PoolRoute::Delete("x".into())).access(),
            Access::Role(P::AgentPools, Need::Administer)
        );
        assert_eq!(
            Endpoint::Pool(PoolRoute::Detach("x".into())).access(),
            Access::Role(P::AgentPools, Need::Change)
        );
        assert_eq!(
            Endpoint::Group(GroupRoute::Update("x".into())).access(),
            Access::Role(P::AccessGroups, Need::Change)
        );
        assert_eq!(
            Endpoint::Grant(GrantRoute::Create).access(),
            Access::Role(P::TemporaryAccess, Need::Change)
        );
    }

    /// Role × route for the IAM administration routes against the matrix of `ROLES.md`
    /// (Agent Pools: W R S R R R R(own); Access Groups and Temporary Access: W R S R — — —).
    #[test]
    fn iam_admin_routes_follow_the_matrix_for_every_role() {
        use crate::iam::roles::{Role, allows};
        let id = || "x".to_string();
        let routes = [
            Endpoint::Page(NavId::AgentPools),
            Endpoint::Pool(PoolRoute::Detail(id())),
            Endpoint::Pool(PoolRoute::Rotate(id())),
            Endpoint::Pool(PoolRoute::Create),
            Endpoint::Page(NavId::AccessGroups),
            Endpoint::Group(GroupRoute::Update(id())),
            Endpoint::Group(GroupRoute::Delete(id())),
            Endpoint::Page(NavId::TemporaryAccess),
            Endpoint::Grant(GrantRoute::Create),
        ];
        // For each role: may it reach each route above (in order)?
        let expected: [(Role, [bool; 9]); 7] = [
            (Role::CompanyAdmin, [true; 9]),
            (
                Role::CompanyViewer,
                [true, true, false, false, true, false, false, true, false],
            ),
            (
                Role::GroupAdmin,
                [true, true, true, false, true, true, false, true, true],
            ),
            (
                Role::Security,
                [true, true, false, false, true, false, false, true, false],
            ),
            (
                Role::Appsec,
                [true, true, false, false, false, false, false, false, false],
            ),
            (
                Role::IncidentResponder,
                [true, true, false, false, false, false, false, false, false],
            ),
            (
                Role::Developer,
                [true, true, false, false, false, false, false, false, false],
            ),
        ];
        for (role, allowed) in expected {
            for (route, want) in routes.iter().zip(allowed) {
                let got = match route.access() {
                    Access::Role(p, need) => allows(&[role], p, need),
                    other => panic!("{route:?} is {other:?}"),
                };
                assert_eq!(got, want, "{role:?} on {route:?}");
            }
        }
    }

    #[test]
    fn entity_routes_parse_and_decode_their_ids() {
        use super::super::entities::EntityRoute as E;
        let get = |p: &str| Endpoint::parse(&Method::GET, p);
        let post = |p: &str| Endpoint::parse(&Method::POST, p);
        assert_eq!(get("/entities/agents"), Ok(Endpoint::Page(NavId::Agents)));
        assert_eq!(
            get("/entities/agents/live"),
            Ok(Endpoint::Entity(E::AgentsLive))
        );
        assert_eq!(
            get("/entities/agents/%6Cive"),
            Ok(Endpoint::Entity(E::Agent("live".into()))),
            "an agent called live has an encoded link"
        );
        assert_eq!(
            get("/entities/agents/web%2F7%20a+b"),
            Ok(Endpoint::Entity(E::Agent("web/7 a+b".into())))
        );
        assert_eq!(get("/entities/agents/a/b"), Err(NoRoute::NotFound));
        assert_eq!(get("/entities/agents/%zz"), Err(NoRoute::NotFound));
        assert_eq!(
            post("/entities/agents/x/disconnect"),
            Ok(Endpoint::Entity(E::AgentDisconnect("x".into())))
        );
        assert_eq!(get("/entities/agents/x/disconnect"), Err(NoRoute::Method));
        assert_eq!(
            post("/entities/tags/delete"),
            Ok(Endpoint::Entity(E::TagDelete))
        );
        assert_eq!(get("/entities/tags"), Ok(Endpoint::Page(NavId::Tags)));
        assert_eq!(
            get("/entities/custom-sources/new"),
            Ok(Endpoint::Entity(E::SourceNew))
        );
        assert_eq!(
            post("/entities/custom-sources"),
            Ok(Endpoint::Entity(E::SourceCreate))
        );
        assert_eq!(
            get("/entities/custom-sources"),
            Ok(Endpoint::Page(NavId::CustomSources))
        );
        assert_eq!(
            post("/entities/custom-sources/ab12/delete"),
            Ok(Endpoint::Entity(E::SourceDelete("ab12".into())))
        );
        assert_eq!(get("/entities/custom-sources/a.b"), Err(NoRoute::NotFound));
        assert!(Endpoint::Entity(E::AgentsLive).is_background());
        assert!(!Endpoint::Page(NavId::Agents).is_background());
        assert_eq!(
            Endpoint::Entity(E::AgentDisconnect("x".into())).access(),
            Access::Role(Permission::Agents, Need::Change)
        );
    }

    #[test]
    fn vulndb_routes_parse_and_only_uploads_stream_their_body() {
        use super::super::vulndb::VulndbRoute as V;
        let v = |m: &Method, p: &str| Endpoint::parse(m, p);
        assert_eq!(
            v(&Method::GET, "/api/v1/vulndb"),
            Ok(Endpoint::Vulndb(V::ApiStatus))
        );
        assert_eq!(
            v(&Method::POST, "/api/v1/vulndb/imports"),
            Ok(Endpoint::Vulndb(V::ApiImport))
        );
        assert_eq!(
            v(&Method::DELETE, "/api/v1/vulndb/imports"),
            Ok(Endpoint::ApiUnknown)
        );
        let upload = v(
            &Method::POST,
            "/settings/reachability/package-enrichment/imports",
        );
        assert_eq!(upload, Ok(Endpoint::Vulndb(V::Upload)));
        assert_eq!(
            v(
                &Method::GET,
                "/settings/reachability/package-enrichment/imports"
            ),
            Err(NoRoute::Method)
        );
        assert!(Endpoint::Vulndb(V::Upload).streams_body());
        assert!(!Endpoint::Vulndb(V::Upload).is_api());
        assert!(
            Endpoint::Vulndb(V::ApiImport).streams_body()
                && Endpoint::Vulndb(V::ApiImport).is_api()
        );
        assert!(!Endpoint::Vulndb(V::ApiStatus).streams_body());
        assert!(!Endpoint::UserCreate.streams_body());
    }

    #[test]
    fn path_text_decodes_percent_escapes_only() {
        assert_eq!(path_text("a%2Fb%3Ac+d").as_deref(), Some("a/b:c+d"));
        assert_eq!(path_text("zo%C3%AB").as_deref(), Some("zoë"));
        assert_eq!(path_text(""), None);
        assert_eq!(path_text("%"), None);
        assert_eq!(path_text("%4"), None);
        assert_eq!(path_text("%FF"), None, "not UTF-8");
        assert_eq!(path_text("a%09b"), None, "control character");
        assert_eq!(path_text(&"x".repeat(129)), None);
        assert!(path_text(&"x".repeat(128)).is_some());
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
