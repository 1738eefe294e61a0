//! The request pipeline, in order: route, read the body within its limits, find the
//! session, authorise (one decision, from the route's [`Access`]), check CSRF on every
//! state-changing request, call the page or action, add the security headers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, Response};

use super::api_keys as api_keys_page;
use super::form::{self, Form};
use super::respond::{self, Body, PRE_CSRF_COOKIE, SESSION_COOKIE};
use super::router::{Access, Endpoint, NoRoute};
use super::users as user_admin;
use super::{api, audit_events, auth, entities, grants, groups, pools, portal};
use crate::app::AppState;
use crate::error::Error;
use crate::iam::api_keys::{self, ApiKey};
use crate::iam::roles::{self, Role};
use crate::iam::sessions::Session;
use crate::iam::tokens::constant_time_eq;
use crate::iam::users::{self, User};
use crate::security::audit::{self, Actor, AuditEvent, Outcome};
use crate::ui::nav::NavId;

/// How long a client may take to send a request body once the headers are in.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A signed-in user with their session.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user, read fresh for this request (role changes apply at once); `roles` are the
    /// effective ones of the RBAC mode (see `iam::settings::effective_roles`).
    pub user: User,
    /// Their session.
    pub session: Session,
    /// The session id from the cookie (to end it on sign-out).
    pub session_id: String,
}

/// Everything a page or action handler gets.
#[derive(Debug)]
pub struct Call {
    /// Shared appliance state.
    pub state: Arc<AppState>,
    /// The client's address.
    pub peer: SocketAddr,
    /// The request path, without query.
    pub path: String,
    /// The parsed query string.
    pub query: Form,
    /// The parsed urlencoded body (empty for GET).
    pub form: Form,
    /// The signed-in user, if any.
    pub principal: Option<Principal>,
    /// The request headers.
    pub headers: HeaderMap,
    /// The raw request body (JSON for the API).
    pub body: Bytes,
    /// The API key the request came with (API routes only; they never use cookies).
    pub api_key: Option<ApiCaller>,
    /// The unread body of an upload route (see `Endpoint::streams_body`), taken once by
    /// the route after authorisation.
    pub upload: std::sync::Mutex<Option<Incoming>>,
}

/// An API request's key, its owner and the roles it acts with.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    /// The key (without its secret).
    pub key: ApiKey,
    /// The user it belongs to, read fresh for this request.
    pub owner: User,
    /// Its scopes that the owner still holds.
    pub roles: Vec<Role>,
}

impl Call {
    /// The audit actor for this request: the signed-in user, else anonymous.
    pub fn actor(&self) -> Actor {
        match (&self.principal, &self.api_key) {
            (Some(p), _) => Actor::User {
                id: p.user.id.clone(),
                email: p.user.email.clone(),
            },
            (None, Some(k)) => Actor::ApiKey {
                id: k.key.id.clone(),
                label: k.key.label.clone(),
            },
            (None, None) => Actor::Anonymous { claimed: None },
        }
    }

    /// The roles the caller acts with: the signed-in user's, or the API key's.
    pub fn roles(&self) -> Option<&[Role]> {
        match (&self.principal, &self.api_key) {
            (Some(p), _) => Some(&p.user.roles),
            (None, Some(k)) => Some(&k.roles),
            (None, None) => None,
        }
    }

    /// Writes an audit event with this request's source address.
    pub async fn audit(&self, event: AuditEvent) {
        let event = event.source(self.peer.ip());
        audit::record(&self.state.store, self.state.clock.now_ms(), event).await;
    }

    /// The value of a cookie sent with the request.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| form::cookie(h, name))
    }
}

/// Serves one request; never fails (errors become answers).
pub async fn handle(
    state: Arc<AppState>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if let Ok(Endpoint::AgentGateway) = Endpoint::parse(&method, &path) {
        let mut response = super::agent_upgrade::upgrade(state, peer, req).await;
        respond::add_security_headers(response.headers_mut());
        return Ok(response);
    }
    let wants_json = path.starts_with("/api/") || path == "/healthz";
    // Filled in by `run` once the session is known, so error pages keep the user's frame.
    let mut signed_in: Option<Principal> = None;
    let mut response = match run(Arc::clone(&state), peer, req, &mut signed_in).await {
        Ok(r) => r,
        Err(err) => {
            if wants_json {
                respond::json_error(&err)
            } else {
                portal::error_page(&state, signed_in.as_ref(), &err)
            }
        }
    };
    respond::add_security_headers(response.headers_mut());
    tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
    Ok(response)
}

async fn run(
    state: Arc<AppState>,
    peer: SocketAddr,
    req: Request<Incoming>,
    signed_in: &mut Option<Principal>,
) -> Result<Response<Body>, Error> {
    let (mut parts, body) = req.into_parts();
    // HTTP/2 carries the host in the :authority pseudo-header; the origin check wants it.
    if !parts.headers.contains_key(header::HOST)
        && let Some(authority) = parts.uri.authority()
        && let Ok(v) = header::HeaderValue::from_str(authority.as_str())
    {
        parts.headers.insert(header::HOST, v);
    }
    let endpoint = Endpoint::parse(&parts.method, parts.uri.path()).map_err(|e| match e {
        NoRoute::NotFound => Error::NotFound,
        NoRoute::Method => Error::MethodNotAllowed(parts.method.to_string()),
    })?;
    let query = Form::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .map_err(|e| Error::BadRequest(e.to_string()))?;
    let changes_state = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let mut upload = None;
    let body = if endpoint.streams_body() {
        upload = Some(body);
        Bytes::new()
    } else if changes_state {
        read_body(body, &parts.headers, state.config.http.max_body_bytes).await?
    } else {
        Bytes::new()
    };
    let is_api = endpoint.is_api();
    let form = if changes_state && !is_api {
        Form::parse(&body).map_err(|e| Error::BadRequest(e.to_string()))?
    } else {
        Form::default()
    };
    let mut call = Call {
        state,
        peer,
        path: parts.uri.path().to_string(),
        query,
        form,
        principal: None,
        headers: parts.headers,
        body,
        api_key: None,
        upload: std::sync::Mutex::new(upload),
    };
    // The API authenticates by bearer key only and the portal by session cookie only, so a
    // browser's cookies never authorise an API call (and the API needs no CSRF token).
    if is_api || (endpoint.accepts_api_key() && call.headers.contains_key(header::AUTHORIZATION)) {
        call.api_key = find_api_key(&call).await?;
    } else {
        call.principal = find_principal(&call, !endpoint.is_background()).await?;
        signed_in.clone_from(&call.principal);
    }
    match endpoint.access() {
        Access::Public => {}
        // Answered by `handle` before this pipeline, which knows no agent keys.
        Access::AgentPoolKey => return Err(Error::NotFound),
        Access::SignedIn | Access::Role(..) if call.roles().is_none() => {
            if is_api {
                return Err(Error::Unauthorized);
            }
            let next = form::encode(&call.path);
            return Ok(respond::redirect(&format!("/sign-in?next={next}")));
        }
        Access::SignedIn => {}
        Access::Role(permission, need) => {
            let allowed = call
                .roles()
                .is_some_and(|roles| roles::allows(roles, permission, need));
            if !allowed {
                tracing::info!(path = %call.path, "authorisation refused");
                call.audit(
                    AuditEvent::new("access.denied", call.actor(), Outcome::Denied)
                        .target(call.path.clone()),
                )
                .await;
                return Err(Error::Forbidden(
                    "your roles do not allow this page; ask a Company Admin".into(),
                ));
            }
        }
    }
    if let Some(r) = super::mfa::enrolment_gate(&call, &endpoint).await? {
        return Ok(r);
    }
    if changes_state
        && !is_api
        && let Err(e) = check_csrf(&call, &endpoint)
    {
        call.audit(
            AuditEvent::new("access.csrf_refused", call.actor(), Outcome::Denied)
                .target(call.path.clone()),
        )
        .await;
        return Err(e);
    }
    dispatch(endpoint, call).await
}

async fn dispatch(endpoint: Endpoint, call: Call) -> Result<Response<Body>, Error> {
    match endpoint {
        Endpoint::Healthz => Ok(portal::healthz(&call.state)),
        Endpoint::Asset { hash, name } => portal::asset(&hash, &name),
        Endpoint::Favicon => Ok(respond::redirect(&crate::ui::assets::url("favicon.svg"))),
        Endpoint::Home => Ok(respond::redirect("/getting-started")),
        Endpoint::SignInForm => auth::sign_in_form(&call),
        Endpoint::SignIn => auth::sign_in(&call).await,
        Endpoint::SignOut => auth::sign_out(&call).await,
        Endpoint::SetupForm => auth::setup_form(&call).await,
        Endpoint::Setup => auth::setup(&call).await,
        Endpoint::Profile => portal::profile(&call, None, &Default::default()).await,
        Endpoint::ChangePassword => portal::change_password(&call).await,
        Endpoint::Page(NavId::AuditEvents) => audit_events::page(&call, false).await,
        Endpoint::AuditVerify => audit_events::page(&call, true).await,
        Endpoint::AuditExport => audit_events::export(&call).await,
        Endpoint::Page(NavId::ApiKeys) => api_keys_page::page(&call).await,
        Endpoint::ApiKeyCreateForm => api_keys_page::create(&call).await,
        Endpoint::ApiKeyRevokeForm { id } => api_keys_page::revoke(&call, &id).await,
        Endpoint::ApiAuditEvents => api::audit_events(&call).await,
        Endpoint::ApiKeysList => api::list_keys(&call).await,
        Endpoint::ApiKeyCreate => api::create_key_api(&call).await,
        Endpoint::ApiKeyRevoke { id } => api::revoke_key_api(&call, &id).await,
        Endpoint::Page(NavId::Users) => user_admin::list(&call).await,
        Endpoint::Page(NavId::AgentPools) => pools::list(&call, None).await,
        Endpoint::Page(NavId::AccessGroups) => groups::list(&call, None).await,
        Endpoint::Page(NavId::TemporaryAccess) => grants::list(&call, None).await,
        Endpoint::Page(NavId::Identity) => super::mfa::identity_page(&call, None).await,
        Endpoint::Page(NavId::Agents) => entities::agents_list(&call).await,
        Endpoint::Page(NavId::Tags) => entities::tags_list(&call, None, None, 200).await,
        Endpoint::Page(NavId::CustomSources) => entities::sources_list(&call, None).await,
        Endpoint::Entity(route) => entities::handle(&call, route).await,
        Endpoint::EntitiesApi(route) => super::api_agents::handle(&call, route).await,
        Endpoint::Page(NavId::GettingStarted) => portal::getting_started(&call).await,
        Endpoint::Page(NavId::PackageEnrichment) => super::vulndb::page(&call).await,
        Endpoint::Vulndb(route) => super::vulndb::handle(&call, route).await,
        Endpoint::Page(NavId::Webhooks) => super::webhooks::list(&call).await,
        Endpoint::Webhooks(route) => super::webhooks::handle(&call, route).await,
        Endpoint::Page(NavId::Reachability) => super::reachability::list_page(&call).await,
        Endpoint::Reach(route) => super::reachability::handle(&call, route).await,
        Endpoint::Actions(route) => super::actions::handle(&call, route).await,
        Endpoint::Page(NavId::Actions) => super::actions::list_page(&call).await,
        Endpoint::Page(NavId::DataExplorer) => super::data_explorer::snapshots_page(&call).await,
        Endpoint::Page(NavId::WatchedPackages) => super::watched::list(&call).await,
        Endpoint::Watched(route) => super::watched::handle(&call, route).await,
        Endpoint::Page(NavId::Sbom) => super::sbom::page(&call).await,
        Endpoint::Sbom(route) => super::sbom::handle(&call, route).await,
        Endpoint::Page(NavId::ServiceConfiguration) => super::service_config::page(&call).await,
        Endpoint::ServiceConfig(route) => super::service_config::handle(&call, route).await,
        Endpoint::Page(NavId::PiiRedaction) => super::security_settings::pii(&call).await,
        Endpoint::Page(NavId::Blocklist) => super::security_settings::blocklist_list(&call).await,
        Endpoint::Security(route) => super::security_settings::handle(&call, route).await,
        Endpoint::Page(NavId::Diagnostics) => super::diagnostics::page(&call).await,
        Endpoint::Diagnostics(route) => super::diagnostics::handle(&call, route).await,
        Endpoint::Page(id) => portal::page(&call, id),
        Endpoint::Pool(route) => pools::handle(&call, route).await,
        Endpoint::Group(route) => groups::handle(&call, route).await,
        Endpoint::Grant(route) => grants::handle(&call, route).await,
        Endpoint::Rest(route) => super::api_iam::handle(&call, route).await,
        Endpoint::Mfa(route) => super::mfa::handle(&call, route).await,
        Endpoint::ApiUnknown | Endpoint::AgentGateway => Err(Error::NotFound),
        Endpoint::DownloadJavaAgent => portal::download_java_agent(),
        Endpoint::UserNew => user_admin::new_form(&call).await,
        Endpoint::UserCreate => user_admin::create(&call).await,
        Endpoint::UserDetail(id) => user_admin::detail(&call, &id).await,
        Endpoint::UserRoles(id) => user_admin::set_roles(&call, &id).await,
        Endpoint::UserEnabled(id, on) => user_admin::set_enabled(&call, &id, on).await,
        Endpoint::UserDelete(id) => user_admin::delete(&call, &id).await,
        Endpoint::UserActivationLink(id) => user_admin::activation_link(&call, &id).await,
        Endpoint::UserMfaReset(id) => user_admin::reset_mfa(&call, &id).await,
        Endpoint::RbacMode => user_admin::rbac_mode(&call).await,
        Endpoint::ActivateForm => user_admin::activate_form(&call).await,
        Endpoint::Activate => user_admin::activate(&call).await,
    }
}

/// Reads a body up to `limit` bytes within [`BODY_READ_TIMEOUT`]: 413 above, 408 when slow.
async fn read_body(body: Incoming, headers: &HeaderMap, limit: usize) -> Result<Bytes, Error> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Error::PayloadTooLarge { limit });
    }
    match tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, limit).collect()).await {
        Err(_) => Err(Error::Timeout),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(Error::PayloadTooLarge { limit })
        }
        Ok(Err(e)) => Err(Error::BadRequest(format!(
            "the request body broke off: {e}"
        ))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// The API key in `Authorization: Bearer`, if it is live and its owner enabled. A key that
/// is presented but not accepted is a 401, not an anonymous call.
async fn find_api_key(call: &Call) -> Result<Option<ApiCaller>, Error> {
    let Some(value) = call.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string())
        .ok_or(Error::Unauthorized)?;
    let now = call.state.clock.now_ms();
    let key_for_log = api_keys::fingerprint(&presented);
    let found = call
        .state
        .store
        .read(move |tx| {
            // The owner's roles count as the RBAC mode allows, exactly as for a session.
            let rbac = crate::iam::settings::rbac_enabled(tx)?;
            Ok(
                api_keys::authenticate(tx, &presented, now)?.map(|(key, mut owner)| {
                    owner.roles = crate::iam::settings::effective_roles(&owner.roles, rbac);
                    (key, owner)
                }),
            )
        })
        .await?;
    match found {
        Ok((key, owner)) => {
            call.state
                .api_key_uses
                .note(&call.state.store, &key.id, now);
            let roles = key.effective_roles(&owner);
            Ok(Some(ApiCaller { key, owner, roles }))
        }
        Err(why) => {
            tracing::info!(key = %key_for_log, "API key refused: {why:?}");
            call.audit(
                AuditEvent::new(
                    "auth.api_key",
                    Actor::Anonymous { claimed: None },
                    Outcome::Failure,
                )
                .details(
                    serde_json::json!({"reason": format!("{why:?}"), "fingerprint": key_for_log}),
                ),
            )
            .await;
            Err(Error::Unauthorized)
        }
    }
}

/// The signed-in user of the session cookie. `refresh` counts the request as the user's
/// activity (the idle timeout starts again); requests a page makes by itself do not.
async fn find_principal(call: &Call, refresh: bool) -> Result<Option<Principal>, Error> {
    let Some(id) = call.cookie(SESSION_COOKIE).map(str::to_string) else {
        return Ok(None);
    };
    let session = if refresh {
        call.state.sessions.lookup(&id).await
    } else {
        call.state.sessions.peek(&id)
    };
    let Some(session) = session else {
        return Ok(None);
    };
    let user_id = session.user_id.clone();
    // Roles count as the mode allows (non-RBAC: only Developer and Company Admin), read in
    // the same snapshot as the user so a mode switch applies to the next request.
    let user = call
        .state
        .store
        .read(move |tx| {
            let rbac = crate::iam::settings::rbac_enabled(tx)?;
            Ok(users::get(tx, &user_id)?.map(|mut u| {
                u.roles = crate::iam::settings::effective_roles(&u.roles, rbac);
                u
            }))
        })
        .await?;
    Ok(user.filter(|u| !u.disabled).map(|user| Principal {
        user,
        session,
        session_id: id,
    }))
}

/// CSRF defence for every state-changing request: the browser must say the request comes
/// from our own origin (`Origin`, else `Sec-Fetch-Site`), and the form must carry the token
/// of the session (or, before sign-in, the double-submit cookie's token).
fn check_csrf(call: &Call, endpoint: &Endpoint) -> Result<(), Error> {
    let refuse = |why: &str| {
        tracing::info!(path = %call.path, "CSRF check refused a request: {why}");
        Err(Error::Forbidden(
            "this form is out of date or came from another site; reload the page and try again"
                .into(),
        ))
    };
    if !same_origin(&call.headers) {
        return refuse("cross-origin");
    }
    // An upload's body is the file, so its token travels in a header.
    let header_token = call
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .filter(|_| endpoint.streams_body());
    let sent = header_token.unwrap_or_else(|| call.form.text("csrf"));
    let expected = match endpoint {
        Endpoint::SignIn
        | Endpoint::Setup
        | Endpoint::Activate
        | Endpoint::Mfa(super::mfa::MfaRoute::Challenge) => {
            call.cookie(PRE_CSRF_COOKIE).map(str::to_string)
        }
        _ => call.principal.as_ref().map(|p| p.session.csrf.clone()),
    };
    match expected {
        Some(expected)
            if !sent.is_empty() && constant_time_eq(sent.as_bytes(), expected.as_bytes()) =>
        {
            Ok(())
        }
        _ => refuse("token missing or wrong"),
    }
}

/// True when `Origin` names this host, or, without `Origin`, `Sec-Fetch-Site` says
/// same-origin or a user-typed navigation. Requests with neither are refused.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        return match host {
            Some(host) => origin.eq_ignore_ascii_case(&format!("https://{host}")),
            None => false,
        };
    }
    matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("same-origin" | "none")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_must_match_the_host() {
        assert!(same_origin(&headers(&[
            ("host", "a:8443"),
            ("origin", "https://a:8443")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a:8443"),
            ("origin", "https://evil")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a:8443"),
            ("origin", "http://a:8443")
        ])));
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("host", "a:8443")])));
    }
}
