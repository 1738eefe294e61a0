//! Role × route: for every role of `ROLES.md` and every route (portal and API), whether the
//! router's one authorisation decision lets it through, written out as a table from the
//! permission matrix of `ROLES.md` — not derived from the code under test.
//!
//! `expected` matches every `Endpoint` without a wildcard, so a new route does not compile
//! until this table says who may call it; `samples` must then list it too (its count is
//! checked against the table's rows).

use lantern::http::actions::ActionsRoute;
use lantern::http::api_agents::EntitiesApiRoute;
use lantern::http::diagnostics::DiagnosticsRoute;
use lantern::http::entities::EntityRoute;
use lantern::http::mfa::MfaRoute;
use lantern::http::reachability::ReachRoute;
use lantern::http::router::{Access, Endpoint, GrantRoute, GroupRoute, PoolRoute, RestRoute};
use lantern::http::sbom::SbomRoute;
use lantern::http::security_settings::SecurityRoute;
use lantern::http::service_config::ServiceConfigRoute;
use lantern::http::vulndb::VulndbRoute;
use lantern::http::watched::WatchedRoute;
use lantern::http::webhooks::WebhooksRoute;
use lantern::iam::roles::{Role, allows};
use lantern::ui::nav::{self, NavId};

/// Column order of the masks below, as in `ROLES.md`.
const ROLES: [Role; 7] = [
    Role::CompanyAdmin,
    Role::CompanyViewer,
    Role::GroupAdmin,
    Role::Security,
    Role::Appsec,
    Role::IncidentResponder,
    Role::Developer,
];

/// Anyone, signed in or not.
const PUBLIC: &str = "public";
/// Any signed-in user (every role).
const SIGNED_IN: &str = "signed-in";
/// Agents only, with an agent-pool key checked before the websocket upgrade.
const AGENT_KEY: &str = "agent-pool-key";
/// Masks, one character per role in [`ROLES`] order: `y` allowed, `-` refused.
const ALL: &str = "yyyyyyy";
const ADMIN_ONLY: &str = "y------";
/// Read by admin, viewer, group admin and security (Users, Access Groups, Temporary Access).
const IAM_READERS: &str = "yyyy---";
/// Read by admin, viewer and security (settings, identity configuration, audit, API keys).
const SETTINGS_READERS: &str = "yy-y---";
/// Changed by admin and, within their scope, group admins.
const SCOPED_CHANGE: &str = "y-y----";
/// Agents (view; disconnect): W R S R R W S(view) — disconnecting needs W or S.
const AGENTS_CHANGE: &str = "y-y--y-";
/// Custom Sources: W R S R R W S — changed by admin, group admin, incident responder and
/// developer (within scope).
const SOURCES_CHANGE: &str = "y-y--yy";

fn page(id: NavId) -> &'static str {
    match id {
        NavId::GettingStarted => SIGNED_IN,
        // Snapshots and logs: R R S R — R S.
        NavId::DataExplorer => "yyyy-yy",
        NavId::Agents | NavId::CustomSources | NavId::Tags => ALL,
        // Actions: W — S — S W S.
        NavId::Actions => "y-y-yyy",
        // Integrations and webhooks: W R — — W(webhooks) — —.
        NavId::Integrations | NavId::Webhooks => "yy--y--",
        NavId::Reachability | NavId::Sbom => ALL,
        NavId::NameAndPlan | NavId::Usage => ALL,
        NavId::Users | NavId::AccessGroups | NavId::TemporaryAccess => IAM_READERS,
        NavId::AgentPools => ALL,
        NavId::Identity | NavId::AiDebugger | NavId::ServiceConfiguration => SETTINGS_READERS,
        // PII redaction and blocklist: W R — W R R R.
        NavId::PiiRedaction | NavId::Blocklist => "yy-yyyy",
        NavId::AuditEvents | NavId::ApiKeys => SETTINGS_READERS,
        // Diagnostics: W R — R — R —.
        NavId::Diagnostics => "yy-y-y-",
        // Watched packages, enrichment: W R — — W — —.
        NavId::WatchedPackages | NavId::PackageEnrichment => "yy--y--",
    }
}

fn expected(e: &Endpoint) -> &'static str {
    use RestRoute as R;
    match e {
        Endpoint::Healthz
        | Endpoint::Asset { .. }
        | Endpoint::Favicon
        | Endpoint::SignInForm
        | Endpoint::SignIn
        | Endpoint::SetupForm
        | Endpoint::Setup
        | Endpoint::ActivateForm
        | Endpoint::Activate
        | Endpoint::ApiUnknown => PUBLIC,
        // No user role at all: only an agent-pool key opens it (tests/it/agents.rs).
        Endpoint::AgentGateway => AGENT_KEY,
        Endpoint::DownloadJavaAgent => SIGNED_IN,
        Endpoint::Home | Endpoint::SignOut | Endpoint::Profile | Endpoint::ChangePassword => {
            SIGNED_IN
        }
        Endpoint::Page(id) => page(*id),
        Endpoint::AuditVerify | Endpoint::ApiAuditEvents => SETTINGS_READERS,
        // Export: W for admin and security.
        Endpoint::AuditExport => "y--y---",
        Endpoint::ApiKeysList => SETTINGS_READERS,
        Endpoint::ApiKeyCreate
        | Endpoint::ApiKeyRevoke { .. }
        | Endpoint::ApiKeyCreateForm
        | Endpoint::ApiKeyRevokeForm { .. } => ADMIN_ONLY,
        Endpoint::UserDetail(_) => IAM_READERS,
        Endpoint::UserNew
        | Endpoint::UserCreate
        | Endpoint::UserRoles(_)
        | Endpoint::UserEnabled(..)
        | Endpoint::UserDelete(_)
        | Endpoint::UserActivationLink(_)
        // Resetting someone's two-step sign-in changes a user: W for the Company Admin only.
        | Endpoint::UserMfaReset(_)
        | Endpoint::RbacMode => ADMIN_ONLY,
        Endpoint::Pool(p) => match p {
            PoolRoute::Detail(_) => ALL,
            PoolRoute::NewForm | PoolRoute::Create | PoolRoute::Delete(_) => ADMIN_ONLY,
            PoolRoute::Describe(_)
            | PoolRoute::Rotate(_)
            | PoolRoute::Detach(_)
            | PoolRoute::Enable(_) => SCOPED_CHANGE,
        },
        Endpoint::Group(g) => match g {
            GroupRoute::Detail(_) => IAM_READERS,
            GroupRoute::Update(_) => SCOPED_CHANGE,
            GroupRoute::NewForm | GroupRoute::Create | GroupRoute::Delete(_) => ADMIN_ONLY,
        },
        Endpoint::Grant(g) => match g {
            GrantRoute::NewForm | GrantRoute::Create | GrantRoute::Revoke(_) => SCOPED_CHANGE,
        },
        // The second step of sign-in is proven by its own pending-step cookie.
        Endpoint::Mfa(m) => match m {
            MfaRoute::ChallengeForm | MfaRoute::Challenge => PUBLIC,
            MfaRoute::Page | MfaRoute::Enable | MfaRoute::Disable | MfaRoute::RecoveryCodes => {
                SIGNED_IN
            }
            // The MFA policy is Identity Configuration: W for the Company Admin only.
            MfaRoute::Policy => ADMIN_ONLY,
        },
        Endpoint::Entity(e) => match e {
            EntityRoute::AgentsLive | EntityRoute::Agent(_) => ALL,
            EntityRoute::AgentDisconnect(_) => AGENTS_CHANGE,
            // Tags (view; delete): W R S R R R S(view).
            EntityRoute::TagDelete => SCOPED_CHANGE,
            EntityRoute::Source(_) => ALL,
            EntityRoute::SourceNew | EntityRoute::SourceCreate | EntityRoute::SourceDelete(_) => {
                SOURCES_CHANGE
            }
        },
        Endpoint::EntitiesApi(a) => match a {
            EntitiesApiRoute::AgentsList | EntitiesApiRoute::AgentGet(_) => ALL,
            EntitiesApiRoute::AgentDisconnect(_) => AGENTS_CHANGE,
            EntitiesApiRoute::TagsList => ALL,
            EntitiesApiRoute::TagDelete(_) => SCOPED_CHANGE,
            EntitiesApiRoute::SourcesList | EntitiesApiRoute::SourceGet(_) => ALL,
            EntitiesApiRoute::SourceCreate | EntitiesApiRoute::SourceDelete(_) => SOURCES_CHANGE,
        },
        Endpoint::Rest(r) => match r {
            R::OpenApi => PUBLIC,
            R::UsersList | R::UserGet(_) => IAM_READERS,
            R::UserCreate | R::UserUpdate(_) | R::UserDelete(_) | R::UserMfaReset(_) => ADMIN_ONLY,
            R::GroupsList | R::GroupGet(_) => IAM_READERS,
            R::GroupUpdate(_) => SCOPED_CHANGE,
            R::GroupCreate | R::GroupDelete(_) => ADMIN_ONLY,
            R::PoolsList | R::PoolGet(_) => ALL,
            R::PoolCreate | R::PoolDelete(_) => ADMIN_ONLY,
            R::PoolUpdate(_) | R::PoolRotate(_) | R::PoolDetach(_) | R::PoolEnable(_) => {
                SCOPED_CHANGE
            }
            R::GrantsList => IAM_READERS,
            R::GrantCreate | R::GrantRevoke(_) => SCOPED_CHANGE,
        },
        // Vulnerability data: R like Package Enrichment (W R — — W — —); importing is W:
        // Company Admin and AppSec only.
        Endpoint::Vulndb(v) => match v {
            VulndbRoute::ApiStatus | VulndbRoute::ApiImports => "yy--y--",
            VulndbRoute::Upload | VulndbRoute::ApiImport => "y---y--",
        },
        // Webhooks: read like Integrations (W R — — W(webhooks) — —); changed, tested and
        // rotated by the W cells only: Company Admin and AppSec.
        Endpoint::Webhooks(w) => match w {
            WebhooksRoute::Detail(_)
            | WebhooksRoute::ApiList
            | WebhooksRoute::ApiGet(_)
            | WebhooksRoute::ApiDeliveries(_) => "yy--y--",
            WebhooksRoute::Create
            | WebhooksRoute::Update(_)
            | WebhooksRoute::Rotate(_)
            | WebhooksRoute::Test(_)
            | WebhooksRoute::Delete(_)
            | WebhooksRoute::ApiCreate
            | WebhooksRoute::ApiUpdate(_)
            | WebhooksRoute::ApiDelete(_)
            | WebhooksRoute::ApiTest(_)
            | WebhooksRoute::ApiRotate(_) => "y---y--",
        },
        // Runtime Reachability view: R R S R R R S — everyone, developers and group admins
        // within their pools (the rows are scoped by the handlers, tests/it/reachability.rs).
        Endpoint::Reach(r) => match r {
            ReachRoute::Live | ReachRoute::Package(_) | ReachRoute::ApiList | ReachRoute::ApiGet(_) => {
                ALL
            }
        },
        // Actions: W — S — S(counter probes only) W S; seen by every cell above "—".
        // Results are "Snapshots and logs": R R S R — R S.
        Endpoint::Actions(a) => match a {
            // Actions (view): W — S — S W S.
            ActionsRoute::List
            | ActionsRoute::Get(_)
            | ActionsRoute::Status(_)
            | ActionsRoute::Detail(_) => "y-y-yyy",
            // Actions: create / disable / delete own: W — S — — W S (whose action it is, and
            // "delete others'", is the handler's check).
            ActionsRoute::Create
            | ActionsRoute::Delete(_)
            | ActionsRoute::Validate
            | ActionsRoute::Disable(_)
            | ActionsRoute::Enable(_)
            | ActionsRoute::NewForm
            | ActionsRoute::FormCreate
            | ActionsRoute::FormValidate
            | ActionsRoute::FormDisable(_)
            | ActionsRoute::FormEnable(_)
            | ActionsRoute::FormDelete(_) => "y-y--yy",
            // Snapshots and logs (Data Explorer): R R S R — R S.
            ActionsRoute::Snapshots(_)
            | ActionsRoute::Logs(_)
            | ActionsRoute::Metrics(_)
            | ActionsRoute::ExplorerLogs
            | ActionsRoute::ExplorerLogsLive
            | ActionsRoute::ExplorerMetrics
            | ActionsRoute::ExplorerExport
            | ActionsRoute::ExplorerHit(..) => "yyyy-yy",
        },
        // Watched Packages: W R — — W — —.
        Endpoint::Watched(w) => match w {
            WatchedRoute::Detail(_) | WatchedRoute::ApiList | WatchedRoute::ApiGet(_) => "yy--y--",
            WatchedRoute::Create
            | WatchedRoute::Import
            | WatchedRoute::Update(_)
            | WatchedRoute::Delete(_)
            | WatchedRoute::ApiCreate
            | WatchedRoute::ApiImport
            | WatchedRoute::ApiUpdate(_)
            | WatchedRoute::ApiDelete(_) => "y---y--",
        },
        // "SBOM export" shares the row: R R S R R R S (scoped by the handler, tests/it/sbom.rs).
        Endpoint::Sbom(SbomRoute::Download | SbomRoute::Api) => ALL,
        // Service configuration: W R — R — — —.
        // System Diagnostics (view, download bundle): W R — R — R —; every route reads.
        Endpoint::Diagnostics(
            DiagnosticsRoute::Bundle
            | DiagnosticsRoute::Sbom
            | DiagnosticsRoute::ApiGet
            | DiagnosticsRoute::ApiBundle
            | DiagnosticsRoute::ApiSbom,
        ) => "yy-y-y-",
        Endpoint::ServiceConfig(s) => match s {
            ServiceConfigRoute::ApiGet => SETTINGS_READERS,
            ServiceConfigRoute::Save | ServiceConfigRoute::ApiPut => ADMIN_ONLY,
        },
        // PII Redaction, Blocklist: W R — W R R R; the testers only read.
        Endpoint::Security(s) => match s {
            SecurityRoute::PiiDetail(_)
            | SecurityRoute::PiiTest
            | SecurityRoute::BlocklistTest
            | SecurityRoute::ApiList
            | SecurityRoute::ApiGet(_)
            | SecurityRoute::ApiLibrary
            | SecurityRoute::ApiAssignments
            | SecurityRoute::ApiTest
            | SecurityRoute::ApiBlocklist
            | SecurityRoute::ApiBlocklistTest => "yy-yyyy",
            SecurityRoute::PiiCreate
            | SecurityRoute::PiiUpdate(_)
            | SecurityRoute::PiiDelete(_)
            | SecurityRoute::PiiAssign
            | SecurityRoute::BlocklistSave
            | SecurityRoute::ApiCreate
            | SecurityRoute::ApiUpdate(_)
            | SecurityRoute::ApiDelete(_)
            | SecurityRoute::ApiAssign(_)
            | SecurityRoute::ApiBlocklistPut => "y--y---",
        },
    }
}

/// How many routes other than navigation pages [`samples`] must list: one per arm of
/// [`expected`] and its nested matches. Raise it with every new route.
const ROUTES_BESIDES_PAGES: usize = 183;

/// One of every route.
fn samples() -> Vec<Endpoint> {
    use RestRoute as R;
    let x = || "x1".to_string();
    let mut v = vec![
        Endpoint::Healthz,
        Endpoint::Asset {
            hash: x(),
            name: x(),
        },
        Endpoint::Favicon,
        Endpoint::Home,
        Endpoint::SignInForm,
        Endpoint::SignIn,
        Endpoint::SignOut,
        Endpoint::SetupForm,
        Endpoint::Setup,
        Endpoint::Profile,
        Endpoint::ChangePassword,
        Endpoint::AuditVerify,
        Endpoint::AuditExport,
        Endpoint::ApiKeyCreateForm,
        Endpoint::ApiKeyRevokeForm { id: x() },
        Endpoint::ApiAuditEvents,
        Endpoint::ApiKeysList,
        Endpoint::ApiKeyCreate,
        Endpoint::ApiKeyRevoke { id: x() },
        Endpoint::ApiUnknown,
        Endpoint::AgentGateway,
        Endpoint::DownloadJavaAgent,
        Endpoint::UserNew,
        Endpoint::UserCreate,
        Endpoint::UserDetail(x()),
        Endpoint::UserRoles(x()),
        Endpoint::UserEnabled(x(), true),
        Endpoint::UserEnabled(x(), false),
        Endpoint::UserDelete(x()),
        Endpoint::UserActivationLink(x()),
        Endpoint::UserMfaReset(x()),
        Endpoint::RbacMode,
        Endpoint::ActivateForm,
        Endpoint::Activate,
    ];
    v.extend(
        [
            PoolRoute::NewForm,
            PoolRoute::Create,
            PoolRoute::Detail(x()),
            PoolRoute::Describe(x()),
            PoolRoute::Rotate(x()),
            PoolRoute::Detach(x()),
            PoolRoute::Enable(x()),
            PoolRoute::Delete(x()),
        ]
        .map(Endpoint::Pool),
    );
    v.extend(
        [
            GroupRoute::NewForm,
            GroupRoute::Create,
            GroupRoute::Detail(x()),
            GroupRoute::Update(x()),
            GroupRoute::Delete(x()),
        ]
        .map(Endpoint::Group),
    );
    v.extend(
        [
            GrantRoute::NewForm,
            GrantRoute::Create,
            GrantRoute::Revoke(x()),
        ]
        .map(Endpoint::Grant),
    );
    v.extend(
        [
            R::OpenApi,
            R::UsersList,
            R::UserCreate,
            R::UserGet(x()),
            R::UserUpdate(x()),
            R::UserDelete(x()),
            R::UserMfaReset(x()),
            R::GroupsList,
            R::GroupCreate,
            R::GroupGet(x()),
            R::GroupUpdate(x()),
            R::GroupDelete(x()),
            R::PoolsList,
            R::PoolCreate,
            R::PoolGet(x()),
            R::PoolUpdate(x()),
            R::PoolRotate(x()),
            R::PoolDetach(x()),
            R::PoolEnable(x()),
            R::PoolDelete(x()),
            R::GrantsList,
            R::GrantCreate,
            R::GrantRevoke(x()),
        ]
        .map(Endpoint::Rest),
    );
    v.extend(
        [
            EntityRoute::AgentsLive,
            EntityRoute::Agent(x()),
            EntityRoute::AgentDisconnect(x()),
            EntityRoute::TagDelete,
            EntityRoute::SourceNew,
            EntityRoute::SourceCreate,
            EntityRoute::Source(x()),
            EntityRoute::SourceDelete(x()),
        ]
        .map(Endpoint::Entity),
    );
    v.extend(
        [
            EntitiesApiRoute::AgentsList,
            EntitiesApiRoute::AgentGet(x()),
            EntitiesApiRoute::AgentDisconnect(x()),
            EntitiesApiRoute::TagsList,
            EntitiesApiRoute::TagDelete(x()),
            EntitiesApiRoute::SourcesList,
            EntitiesApiRoute::SourceCreate,
            EntitiesApiRoute::SourceGet(x()),
            EntitiesApiRoute::SourceDelete(x()),
        ]
        .map(Endpoint::EntitiesApi),
    );
    v.extend(
        [
            MfaRoute::ChallengeForm,
            MfaRoute::Challenge,
            MfaRoute::Page,
            MfaRoute::Enable,
            MfaRoute::Disable,
            MfaRoute::RecoveryCodes,
            MfaRoute::Policy,
        ]
        .map(Endpoint::Mfa),
    );
    v.extend(
        [
            VulndbRoute::Upload,
            VulndbRoute::ApiStatus,
            VulndbRoute::ApiImports,
            VulndbRoute::ApiImport,
        ]
        .map(Endpoint::Vulndb),
    );
    let x = || "x1".to_string();
    v.extend(
        [
            WebhooksRoute::Create,
            WebhooksRoute::Detail(x()),
            WebhooksRoute::Update(x()),
            WebhooksRoute::Rotate(x()),
            WebhooksRoute::Test(x()),
            WebhooksRoute::Delete(x()),
            WebhooksRoute::ApiList,
            WebhooksRoute::ApiCreate,
            WebhooksRoute::ApiGet(x()),
            WebhooksRoute::ApiUpdate(x()),
            WebhooksRoute::ApiDelete(x()),
            WebhooksRoute::ApiTest(x()),
            WebhooksRoute::ApiRotate(x()),
            WebhooksRoute::ApiDeliveries(x()),
        ]
        .map(Endpoint::Webhooks),
    );
    v.extend(
        [
            ReachRoute::Live,
            ReachRoute::Package(x()),
            ReachRoute::ApiList,
            ReachRoute::ApiGet(x()),
        ]
        .map(Endpoint::Reach),
    );
    v.extend(
        [
            ActionsRoute::List,
            ActionsRoute::Create,
            ActionsRoute::Get(x()),
            ActionsRoute::Delete(x()),
            ActionsRoute::Status(x()),
            ActionsRoute::Snapshots(x()),
            ActionsRoute::Logs(x()),
            ActionsRoute::Metrics(x()),
            ActionsRoute::Validate,
            ActionsRoute::Disable(x()),
            ActionsRoute::Enable(x()),
            ActionsRoute::NewForm,
            ActionsRoute::FormCreate,
            ActionsRoute::FormValidate,
            ActionsRoute::Detail(x()),
            ActionsRoute::FormDisable(x()),
            ActionsRoute::FormEnable(x()),
            ActionsRoute::FormDelete(x()),
            ActionsRoute::ExplorerLogs,
            ActionsRoute::ExplorerLogsLive,
            ActionsRoute::ExplorerMetrics,
            ActionsRoute::ExplorerExport,
            ActionsRoute::ExplorerHit(x(), 1),
        ]
        .map(Endpoint::Actions),
    );
    v.extend(
        [
            WatchedRoute::Create,
            WatchedRoute::Import,
            WatchedRoute::Detail(x()),
            WatchedRoute::Update(x()),
            WatchedRoute::Delete(x()),
            WatchedRoute::ApiList,
            WatchedRoute::ApiCreate,
            WatchedRoute::ApiImport,
            WatchedRoute::ApiGet(x()),
            WatchedRoute::ApiUpdate(x()),
            WatchedRoute::ApiDelete(x()),
        ]
        .map(Endpoint::Watched),
    );
    v.extend([SbomRoute::Download, SbomRoute::Api].map(Endpoint::Sbom));
    v.extend(
        [
            DiagnosticsRoute::Bundle,
            DiagnosticsRoute::Sbom,
            DiagnosticsRoute::ApiGet,
            DiagnosticsRoute::ApiBundle,
            DiagnosticsRoute::ApiSbom,
        ]
        .map(Endpoint::Diagnostics),
    );
    v.extend(
        [
            ServiceConfigRoute::Save,
            ServiceConfigRoute::ApiGet,
            ServiceConfigRoute::ApiPut,
        ]
        .map(Endpoint::ServiceConfig),
    );
    v.extend(
        [
            SecurityRoute::PiiCreate,
            SecurityRoute::PiiDetail(x()),
            SecurityRoute::PiiUpdate(x()),
            SecurityRoute::PiiDelete(x()),
            SecurityRoute::PiiAssign,
            SecurityRoute::PiiTest,
            SecurityRoute::BlocklistSave,
            SecurityRoute::BlocklistTest,
            SecurityRoute::ApiList,
            SecurityRoute::ApiCreate,
            SecurityRoute::ApiGet(x()),
            SecurityRoute::ApiUpdate(x()),
            SecurityRoute::ApiDelete(x()),
            SecurityRoute::ApiLibrary,
            SecurityRoute::ApiAssignments,
            SecurityRoute::ApiAssign(x()),
            SecurityRoute::ApiTest,
            SecurityRoute::ApiBlocklist,
            SecurityRoute::ApiBlocklistPut,
            SecurityRoute::ApiBlocklistTest,
        ]
        .map(Endpoint::Security),
    );
    assert_eq!(
        v.len(),
        ROUTES_BESIDES_PAGES,
        "every route has a sample (update ROUTES_BESIDES_PAGES with a new one)"
    );
    v.extend(nav::NAV.iter().map(|entry| Endpoint::Page(entry.id)));
    v
}

#[test]
fn every_role_reaches_exactly_the_routes_of_the_matrix() {
    let routes = samples();
    let mut checked = 0;
    for route in &routes {
        let want = expected(route);
        let access = route.access();
        match (want, access) {
            (PUBLIC, Access::Public)
            | (SIGNED_IN, Access::SignedIn)
            | (AGENT_KEY, Access::AgentPoolKey) => {}
            (mask, Access::Role(permission, need)) if mask.len() == ROLES.len() => {
                for (role, flag) in ROLES.iter().zip(mask.chars()) {
                    let got = allows(&[*role], permission, need);
                    assert_eq!(
                        got,
                        flag == 'y',
                        "{role:?} on {route:?} ({permission:?}, {need:?})"
                    );
                    checked += 1;
                }
            }
            (want, got) => panic!("{route:?}: the matrix says {want}, the router says {got:?}"),
        }
    }
    assert!(checked >= 7 * 70, "{checked}");
}

#[test]
fn nobody_without_roles_passes_a_role_check() {
    for route in samples() {
        if let Access::Role(permission, need) = route.access() {
            assert!(!allows(&[], permission, need), "{route:?}");
        }
    }
}
