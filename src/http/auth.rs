//! Sign-in, sign-out and the first-admin setup link: the portal side of `iam`.

use hyper::Response;

use super::handler::Call;
use super::respond::{self, Body, PRE_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::Error;
use crate::iam::tokens::random_secret;
use crate::iam::{IamError, passwords, setup, users};
use crate::security::audit::{Actor, AuditEvent, Outcome};
use crate::ui::components::FormErrors;
use crate::ui::pages::auth as pages;

/// Lifetime of the pre-sign-in CSRF cookie: long enough to fill in a form.
const PRE_CSRF_MAX_AGE: u64 = 3600;

/// The pre-sign-in CSRF token: the one the browser already holds, or a new one.
pub(crate) fn pre_csrf(call: &Call) -> String {
    call.cookie(PRE_CSRF_COOKIE)
        .filter(|t| t.len() == 43)
        .map_or_else(random_secret, str::to_string)
}

pub(crate) fn with_pre_csrf(mut r: Response<Body>, token: &str) -> Response<Body> {
    respond::set_cookie(&mut r, PRE_CSRF_COOKIE, token, PRE_CSRF_MAX_AGE);
    r
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "signed-out" => Some("You are signed out."),
        "password-changed" => Some("Your password was changed. Sign in with the new one."),
        "expired" => Some("Your session ended. Sign in again."),
        "two-step-expired" => Some("The sign-in took too long. Sign in again."),
        _ => None,
    }
}

/// Starts a session for `user_id` once they have proven who they are (password, second step,
/// setup or activation link) and answers its id for the cookie. The session this browser
/// was signed in with, if any, ends here: every sign-in gets a new id and never leaves the
/// previous one alive behind it (ASVS 5.0 7.2.4, re-authentication included).
pub(crate) async fn start_session(call: &Call, user_id: &str) -> Result<String, Error> {
    if let Some(p) = &call.principal {
        call.state.sessions.end(&p.session_id).await;
    }
    let (session_id, _) = call.state.sessions.create(user_id).await?;
    Ok(session_id)
}

/// `GET /sign-in`
pub fn sign_in_form(call: &Call) -> Result<Response<Body>, Error> {
    if call.principal.is_some() {
        return Ok(respond::redirect("/"));
    }
    let csrf = pre_csrf(call);
    let notice = notice_text(call.query.get("notice"));
    let page = pages::sign_in(&csrf, "", None, notice);
    Ok(with_pre_csrf(respond::html(200, page), &csrf))
}

/// `POST /sign-in`: throttled, same answer and cost for unknown users and wrong passwords.
pub async fn sign_in(call: &Call) -> Result<Response<Body>, Error> {
    let state = &call.state;
    let typed_email = call.form.text("email").trim().to_string();
    let password = call.form.text("password").to_string();
    let csrf = pre_csrf(call);
    let account = typed_email.to_lowercase();
    let failed = |message: &str, status: u16| {
        let page = pages::sign_in(&csrf, &typed_email, Some(message), None);
        Ok(with_pre_csrf(respond::html(status, page), &csrf))
    };
    let anonymous = Actor::Anonymous {
        claimed: Some(account.clone()),
    };
    if let Err(retry_after_secs) = state.throttle.check(&account, call.peer.ip()) {
        tracing::warn!(peer = %call.peer.ip(), "sign-in throttled");
        call.audit(
            AuditEvent::new("auth.sign_in", anonymous, Outcome::Denied).details(
                serde_json::json!({"reason": "throttled", "retry_after_secs": retry_after_secs}),
            ),
        )
        .await;
        let message = format!("Too many attempts. Try again in {retry_after_secs} seconds.");
        let mut r = failed(&message, 429)?;
        respond::add_retry_after(&Error::TooManyRequests { retry_after_secs }, &mut r);
        return Ok(r);
    }
    let user = match users::normalize_email(&typed_email) {
        Ok(email) => {
            state
                .store
                .read(move |tx| users::find_by_email(tx, &email))
                .await?
        }
        Err(_) => None,
    };
    let usable = user.filter(|u| !u.disabled);
    let hash = usable.as_ref().and_then(|u| u.password_hash.clone());
    let ok = match state.hasher.verify(password, hash).await {
        Ok(ok) => ok,
        Err(IamError::Throttled { retry_after_secs }) => {
            let message = "The appliance is busy. Try again in a moment.";
            let mut r = failed(message, 429)?;
            respond::add_retry_after(&Error::TooManyRequests { retry_after_secs }, &mut r);
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    };
    let Some(user) = usable.filter(|_| ok) else {
        state.throttle.record_failure(&account);
        tracing::info!(peer = %call.peer.ip(), "sign-in failed");
        call.audit(
            AuditEvent::new("auth.sign_in", anonymous, Outcome::Failure)
                .details(serde_json::json!({"reason": "bad credentials"})),
        )
        .await;
        return failed(&IamError::BadCredentials.to_string(), 401);
    };
    let next = respond::safe_next(call.query.get("next").or(call.form.get("next")));
    // With two-step sign-in on, the session waits for the code (and the throttle's reset too).
    if let Some(r) = super::mfa::start_second_step(call, &user, &account, next).await? {
        return Ok(r);
    }
    state.throttle.record_success(&account);
    let session_id = start_session(call, &user.id).await?;
    tracing::info!(user = %user.id, peer = %call.peer.ip(), "signed in");
    call.audit(AuditEvent::new(
        "auth.sign_in",
        user_actor(&user),
        Outcome::Success,
    ))
    .await;
    let mut r = respond::redirect(next.unwrap_or("/"));
    respond::set_cookie(
        &mut r,
        SESSION_COOKIE,
        &session_id,
        state.session_max_age_secs(),
    );
    respond::set_cookie(&mut r, PRE_CSRF_COOKIE, "", 0);
    Ok(r)
}

/// `POST /sign-out`
pub async fn sign_out(call: &Call) -> Result<Response<Body>, Error> {
    if let Some(p) = &call.principal {
        call.state.sessions.end(&p.session_id).await;
        tracing::info!(user = %p.user.id, "signed out");
        call.audit(AuditEvent::new(
            "auth.sign_out",
            call.actor(),
            Outcome::Success,
        ))
        .await;
    }
    let mut r = respond::redirect("/sign-in?notice=signed-out");
    respond::set_cookie(&mut r, SESSION_COOKIE, "", 0);
    Ok(r)
}

/// `GET /setup?token=`
pub async fn setup_form(call: &Call) -> Result<Response<Body>, Error> {
    let token = call.query.text("token").to_string();
    let now = call.state.clock.now_ms();
    if token.is_empty() || !setup::is_valid(&call.state.store, &token, now).await? {
        return Ok(respond::html(404, pages::setup_invalid()));
    }
    let csrf = pre_csrf(call);
    let page = pages::setup(
        &csrf,
        &token,
        &pages::SetupValues::default(),
        &FormErrors::default(),
    );
    Ok(with_pre_csrf(respond::html(200, page), &csrf))
}

/// `POST /setup`: validates, hashes, then uses the link and creates the admin atomically.
pub async fn setup(call: &Call) -> Result<Response<Body>, Error> {
    let state = &call.state;
    let token = call.form.text("token").to_string();
    let now = state.clock.now_ms();
    if token.is_empty() || !setup::is_valid(&state.store, &token, now).await? {
        return Ok(respond::html(404, pages::setup_invalid()));
    }
    let values = pages::SetupValues {
        name: call.form.text("name").to_string(),
        email: call.form.text("email").to_string(),
    };
    let password = call.form.text("password").to_string();
    let mut errors = FormErrors::default();
    let (email, name) = check_email_and_name(&values.email, &values.name, &mut errors);
    check_new_password(
        call,
        "password",
        "password_confirm",
        &values.email,
        &mut errors,
    );
    let (Some(email), Some(name), true) = (email, name, errors.fields.is_empty()) else {
        errors.summary = Some("Please correct the fields marked below.".into());
        let csrf = pre_csrf(call);
        let page = pages::setup(&csrf, &token, &values, &errors);
        return Ok(with_pre_csrf(respond::html(400, page), &csrf));
    };
    let hash = state.hasher.hash(password).await?;
    let user = match setup::consume(&state.store, &token, email, name, hash, now).await {
        Ok(user) => user,
        Err(crate::store::StoreError::NotFound(_)) => {
            return Ok(respond::html(404, pages::setup_invalid()));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %user.id, peer = %call.peer.ip(), "first Company Admin created through the setup link");
    call.audit(
        AuditEvent::new("user.create", user_actor(&user), Outcome::Success)
            .target(user.id.clone())
            .details(serde_json::json!({"via": "setup link", "roles": user.roles})),
    )
    .await;
    let session_id = start_session(call, &user.id).await?;
    let mut r = respond::redirect("/getting-started");
    respond::set_cookie(
        &mut r,
        SESSION_COOKIE,
        &session_id,
        state.session_max_age_secs(),
    );
    respond::set_cookie(&mut r, PRE_CSRF_COOKIE, "", 0);
    Ok(r)
}

/// The audit actor for a user.
pub fn user_actor(user: &users::User) -> Actor {
    Actor::User {
        id: user.id.clone(),
        email: user.email.clone(),
    }
}

/// Checks a new password typed twice: the policy on `field`, then that `confirm` matches.
/// Errors go next to the field they concern.
pub(crate) fn check_new_password(
    call: &Call,
    field: &'static str,
    confirm: &'static str,
    email: &str,
    errors: &mut FormErrors,
) {
    let password = call.form.text(field);
    if let Err(e) = passwords::check_policy(field, password, email) {
        push_error(errors, e);
    } else if password != call.form.text(confirm) {
        errors
            .fields
            .push((confirm, "the two passwords differ".into()));
    }
}

/// Normalises the typed e-mail and name; errors go next to their fields.
pub(crate) fn check_email_and_name(
    email: &str,
    name: &str,
    errors: &mut FormErrors,
) -> (Option<String>, Option<String>) {
    let email = users::normalize_email(email)
        .map_err(|e| push_error(errors, e))
        .ok();
    let name = users::normalize_name(name, email.as_deref().unwrap_or_default())
        .map_err(|e| push_error(errors, e))
        .ok();
    (email, name)
}

/// Adds a field error from an [`IamError::Invalid`]; other errors go to the summary.
pub fn push_error(errors: &mut FormErrors, e: IamError) {
    match e {
        IamError::Invalid { field, message } => errors.fields.push((field, message)),
        other => errors.summary = Some(other.to_string()),
    }
}
