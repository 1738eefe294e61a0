//! Portal pages: the navigation pages, Getting Started, Profile (with password change), the
//! health check, embedded assets and the error page.

use hyper::Response;
use hyper::header::{self, HeaderValue};

use super::handler::{Call, Principal};
use super::respond::{self, Body};
use super::router::page_permission;
use crate::app::AppState;
use crate::error::Error;
use crate::iam::roles::{self, Need};
use crate::iam::users;
use crate::security::audit::{AuditEvent, Outcome};
use crate::ui::components::FormErrors;
use crate::ui::layout::{PageCtx, UserView};
use crate::ui::nav::{self, NavId};
use crate::ui::pages;

/// Whether `roles` may open the navigation page `id` (and so see it, and links to it).
pub(crate) fn page_visible(roles: &[roles::Role], id: NavId) -> bool {
    page_permission(id).is_none_or(|perm| roles::allows(roles, perm, Need::View))
}

/// Renders with the frame of a signed-in user (shared with the IAM administration handlers).
pub(crate) fn framed<R>(
    state: &AppState,
    p: &Principal,
    path: &str,
    render: impl FnOnce(&PageCtx) -> R,
) -> R {
    let roles = p.user.roles.clone();
    let visible = move |id: NavId| page_visible(&roles, id);
    let company = state.company_name();
    let ctx = PageCtx {
        company: &company,
        // Licences arrive with Organization › Name & Plan; until then say so plainly.
        tier: "No licence installed",
        user: Some(UserView {
            name: &p.user.name,
            email: &p.user.email,
        }),
        current_path: path,
        csrf: &p.session.csrf,
        visible: &visible,
    };
    render(&ctx)
}

pub(crate) fn principal(call: &Call) -> Result<&Principal, Error> {
    call.principal.as_ref().ok_or(Error::Unauthorized)
}

/// `GET /healthz`: 200 once the store is open, 503 before and while shutting down.
pub fn healthz(state: &AppState) -> Response<Body> {
    if state.is_ready() {
        respond::json(200, &serde_json::json!({"status": "ok"}))
    } else {
        respond::json(503, &serde_json::json!({"status": "starting"}))
    }
}

/// `GET /assets/<hash>/<name>`: immutable, cached for a year.
pub fn asset(hash: &str, name: &str) -> Result<Response<Body>, Error> {
    let asset = crate::ui::assets::lookup(hash, name).ok_or(Error::NotFound)?;
    let mut r = respond::bytes(asset.content_type, asset.bytes);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(r)
}

/// A navigation page whose capability has not landed yet: it describes what it will do.
pub fn page(call: &Call, id: NavId) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let state = &call.state;
    let markup = framed(state, p, &call.path, |ctx| {
        pages::planned::planned(ctx, nav::entry(id))
    });
    Ok(respond::html(200, markup))
}

/// `GET /getting-started`: with this appliance's address and pin, and the agents connected
/// in the viewer's pools.
pub async fn getting_started(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let state = &call.state;
    let connected_agents = super::entities::connected_in_scope(state, p.user.clone()).await?;
    let info = pages::getting_started::GettingStartedInfo {
        url: state.public_url.clone(),
        pins: state.pins(),
        java_agent_available: crate::agents::downloads::JAVA_AGENT.is_some(),
        connected_agents,
    };
    let markup = framed(state, p, &call.path, |ctx| {
        pages::getting_started::page(ctx, &info)
    });
    Ok(respond::html(200, markup))
}

/// `GET /downloads/lantern-agent.jar`: the embedded Java agent, or a 404 that says how to
/// build it when this appliance was built without a JDK.
pub fn download_java_agent() -> Result<Response<Body>, Error> {
    use crate::agents::downloads::{JAVA_AGENT, JAVA_AGENT_BUILD_HINT, JAVA_AGENT_FILE};
    let Some(jar) = JAVA_AGENT else {
        return Err(Error::Unavailable(JAVA_AGENT_BUILD_HINT.to_string()));
    };
    let mut r = respond::bytes("application/java-archive", jar);
    let disposition = format!("attachment; filename=\"{JAVA_AGENT_FILE}\"");
    if let Ok(v) = hyper::header::HeaderValue::from_str(&disposition) {
        r.headers_mut()
            .insert(hyper::header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    Ok(r)
}

/// `GET /profile` (also re-rendered after a password change attempt).
pub async fn profile(
    call: &Call,
    notice: Option<&str>,
    errors: &FormErrors,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let state = &call.state;
    let (groups, grants) = super::grants::profile_data(call).await?;
    let view = pages::profile::ProfileView {
        name: p.user.name.clone(),
        email: p.user.email.clone(),
        roles: p.user.roles.iter().map(|r| r.label().to_string()).collect(),
        groups,
        grants,
        created: p.user.created_secs,
        now: state.clock.now_secs(),
        two_step: super::mfa::is_on(call, &p.user.id).await?,
    };
    let status = if errors.fields.is_empty() && errors.summary.is_none() {
        200
    } else {
        400
    };
    let markup = framed(state, p, "/profile", |ctx| {
        pages::profile::profile(ctx, &view, errors, notice)
    });
    Ok(respond::html(status, markup))
}

/// `POST /profile/password`: needs the current password; ends the user's other sessions.
pub async fn change_password(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let state = &call.state;
    let current = call.form.text("current_password").to_string();
    let new = call.form.text("new_password").to_string();
    let mut errors = FormErrors::default();
    if let Err(retry_after_secs) = state.throttle.check(&p.user.email, call.peer.ip()) {
        errors.summary = Some(format!(
            "Too many attempts. Try again in {retry_after_secs} seconds."
        ));
        return profile(call, None, &errors).await;
    }
    let ok = state
        .hasher
        .verify(current, p.user.password_hash.clone())
        .await?;
    if !ok {
        state.throttle.record_failure(&p.user.email);
        errors.fields.push((
            "current_password",
            "this is not your current password".into(),
        ));
    }
    super::auth::check_new_password(
        call,
        "new_password",
        "new_password_confirm",
        &p.user.email,
        &mut errors,
    );
    // Checked last, so that a code is not spent on an attempt that fails anyway.
    if errors.fields.is_empty() && !super::mfa::reauth_code_ok(call, p).await? {
        errors
            .fields
            .push(("code", "this code is not right or was already used".into()));
    }
    if !errors.fields.is_empty() {
        errors.summary =
            Some("The password was not changed. Please correct the fields marked below.".into());
        return profile(call, None, &errors).await;
    }
    let hash = state.hasher.hash(new).await?;
    let id = p.user.id.clone();
    let now = state.clock.now_secs();
    state
        .store
        .write(move |tx| users::set_password(tx, &id, &hash, now))
        .await?;
    state
        .sessions
        .end_all_for(&p.user.id, Some(&p.session_id))
        .await;
    tracing::info!(user = %p.user.id, "password changed; other sessions ended");
    call.audit(
        AuditEvent::new("user.password_change", call.actor(), Outcome::Success)
            .target(p.user.id.clone()),
    )
    .await;
    profile(
        call,
        Some("Your password was changed. Your other sessions were signed out."),
        &FormErrors::default(),
    )
    .await
}

/// The HTML error page; framed when the user is signed in.
pub fn error_page(state: &AppState, principal: Option<&Principal>, err: &Error) -> Response<Body> {
    let id = match err {
        Error::Internal { id } => Some(id.as_str()),
        _ => None,
    };
    let message = err.to_string();
    let markup = match principal {
        Some(p) => framed(state, p, "", |ctx| {
            pages::error::page(Some(ctx), err.status(), err.title(), &message, id)
        }),
        None => pages::error::page(None, err.status(), err.title(), &message, id),
    };
    let mut r = respond::html(err.status(), markup);
    respond::add_retry_after(err, &mut r);
    r
}
