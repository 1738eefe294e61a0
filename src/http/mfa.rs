//! Two-step sign-in, the portal side of `iam::mfa`: setting it up and managing it on Profile,
//! and the second step of sign-in.
//!
//! Every change is audited in the same write as the change itself. Wrong codes count in the
//! sign-in throttle exactly like wrong passwords, so guessing six digits is as slow as
//! guessing a password.

use hyper::Response;

use super::auth::{pre_csrf, start_session, user_actor, with_pre_csrf};
use super::handler::{Call, Principal};
use super::portal::{framed, principal};
use super::respond::{self, Body, PRE_CSRF_COOKIE, SESSION_COOKIE};
use super::router::Endpoint;
use crate::error::Error;
use crate::iam::mfa::{self, CodeKind, MfaPolicy, MfaRecord, Pending};
use crate::iam::roles::{self, Need, Permission, Role};
use crate::iam::{IamError, users};
use crate::security::audit::{self, AuditEvent, Outcome};
use crate::store::StoreError;
use crate::ui::components::FormErrors;
use crate::ui::nav::{self, NavId};
use crate::ui::pages::mfa as pages;

/// The cookie holding the pending second step's token.
pub const PENDING_COOKIE: &str = "__Host-lantern-2fa";

/// Where the second step is asked.
const CHALLENGE_PATH: &str = "/sign-in/two-step";

/// The routes of two-step sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaRoute {
    /// `GET /profile/two-step`: set it up, or manage it once on.
    Page,
    /// `POST /profile/two-step/enable`: confirm the setup with a first code.
    Enable,
    /// `POST /profile/two-step/disable`: turn it off (password and code).
    Disable,
    /// `POST /profile/two-step/recovery-codes`: new recovery codes (password and code).
    RecoveryCodes,
    /// `GET /sign-in/two-step`: the second step of sign-in.
    ChallengeForm,
    /// `POST /sign-in/two-step`
    Challenge,
    /// `POST /settings/iam/identity/two-step`: who must use two-step sign-in.
    Policy,
}

/// Parses the two-step routes; `None` when `path` is not one of them.
pub fn parse(
    get: bool,
    post: bool,
    path: &str,
) -> Option<Result<MfaRoute, super::router::NoRoute>> {
    let only = |ok: bool, r: MfaRoute| {
        Some(if ok {
            Ok(r)
        } else {
            Err(super::router::NoRoute::Method)
        })
    };
    match path {
        "/profile/two-step" => only(get, MfaRoute::Page),
        "/profile/two-step/enable" => only(post, MfaRoute::Enable),
        "/profile/two-step/disable" => only(post, MfaRoute::Disable),
        "/profile/two-step/recovery-codes" => only(post, MfaRoute::RecoveryCodes),
        CHALLENGE_PATH if post => Some(Ok(MfaRoute::Challenge)),
        CHALLENGE_PATH => only(get, MfaRoute::ChallengeForm),
        "/settings/iam/identity/two-step" => only(post, MfaRoute::Policy),
        _ => None,
    }
}

/// Serves a two-step route.
pub async fn handle(call: &Call, route: MfaRoute) -> Result<Response<Body>, Error> {
    match route {
        MfaRoute::Page => page(call).await,
        MfaRoute::Enable => enable(call).await,
        MfaRoute::Disable => change(call, false).await,
        MfaRoute::RecoveryCodes => change(call, true).await,
        MfaRoute::ChallengeForm => challenge_form(call).await,
        MfaRoute::Challenge => challenge(call).await,
        MfaRoute::Policy => set_policy(call).await,
    }
}

/// The routes a user who must still set up two-step sign-in may reach: Profile, the setup
/// itself and signing out (plus the files every page needs).
fn open_before_enrolment(endpoint: &Endpoint) -> bool {
    matches!(
        endpoint,
        Endpoint::Mfa(
            MfaRoute::Page
                | MfaRoute::Enable
                | MfaRoute::Disable
                | MfaRoute::RecoveryCodes
                | MfaRoute::ChallengeForm
                | MfaRoute::Challenge
        ) | Endpoint::Profile
            | Endpoint::SignOut
            | Endpoint::Asset { .. }
            | Endpoint::Favicon
    )
}

/// For a signed-in user whom the policy requires to use two-step sign-in but who has not set
/// it up: the redirect to the setup, for every route but the few open before enrolment.
pub async fn enrolment_gate(
    call: &Call,
    endpoint: &Endpoint,
) -> Result<Option<Response<Body>>, Error> {
    let Some(p) = &call.principal else {
        return Ok(None);
    };
    if open_before_enrolment(endpoint) || !must_enrol(call, p).await? {
        return Ok(None);
    }
    Ok(Some(respond::redirect("/profile/two-step")))
}

async fn must_enrol(call: &Call, p: &Principal) -> Result<bool, Error> {
    let (id, roles) = (p.user.id.clone(), p.user.roles.clone());
    Ok(call
        .state
        .store
        .read(move |tx| mfa::must_enrol(tx, &id, &roles))
        .await?)
}

fn policy_view(policy: &MfaPolicy, can_change: bool) -> pages::PolicyView {
    pages::PolicyView {
        everyone: policy.everyone,
        roles: Role::ALL
            .iter()
            .map(|r| (r.id().to_string(), r.label().to_string()))
            .collect(),
        required: policy.roles.iter().map(|r| r.id().to_string()).collect(),
        can_change,
    }
}

/// `GET /settings/iam/identity`: the two-step policy, then what the page will do.
pub async fn identity_page(call: &Call, notice: Option<&str>) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let policy = call.state.store.read(mfa::policy).await?;
    let can_change = roles::allows(&p.user.roles, Permission::IdentityConfig, Need::Administer);
    let view = policy_view(&policy, can_change);
    let entry = nav::entry(NavId::Identity);
    let markup = framed(&call.state, p, &call.path, |ctx| {
        pages::identity(ctx, entry, &view, notice)
    });
    Ok(respond::html(200, markup))
}

/// `POST /settings/iam/identity/two-step`: stores who must use two-step sign-in; audited.
async fn set_policy(call: &Call) -> Result<Response<Body>, Error> {
    let policy = MfaPolicy {
        everyone: call.form.get("everyone") == Some("on"),
        roles: Role::ALL
            .into_iter()
            .filter(|r| call.form.all("roles").any(|v| v == r.id()))
            .collect(),
    };
    let now = call.state.clock.now_ms();
    let event = AuditEvent::new("mfa.policy", call.actor(), Outcome::Success)
        .source(call.peer.ip())
        .details(serde_json::json!({
            "everyone": policy.everyone,
            "roles": policy.roles.iter().map(|r| r.id()).collect::<Vec<_>>(),
        }));
    let stored = policy.clone();
    call.state
        .store
        .write(move |tx| {
            mfa::set_policy(tx, &stored)?;
            audit::append(tx, now, event.clone())?;
            Ok(())
        })
        .await?;
    tracing::info!(
        everyone = policy.everyone,
        "two-step sign-in policy changed"
    );
    identity_page(call, Some("The two-step sign-in policy was saved.")).await
}

/// Reads the user's record.
async fn record(call: &Call, user_id: &str) -> Result<Option<MfaRecord>, Error> {
    let id = user_id.to_string();
    Ok(call.state.store.read(move |tx| mfa::get(tx, &id)).await?)
}

/// `GET /profile/two-step`: the setup page (a secret is drawn on the first visit and kept
/// until confirmed), or the management page once it is on.
async fn page(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    match record(call, &p.user.id).await? {
        Some(r) if r.enabled => manage(call, p, &r, None, &FormErrors::default(), None),
        existing => {
            let r = match existing {
                Some(r) => r,
                None => {
                    let r = MfaRecord {
                        secret: mfa::new_secret(),
                        ..MfaRecord::default()
                    };
                    let (id, stored) = (p.user.id.clone(), r.clone());
                    call.state
                        .store
                        .write(move |tx| mfa::put(tx, &id, &stored))
                        .await?;
                    r
                }
            };
            setup(call, p, &r, &FormErrors::default()).await
        }
    }
}

async fn setup(
    call: &Call,
    p: &Principal,
    r: &MfaRecord,
    errors: &FormErrors,
) -> Result<Response<Body>, Error> {
    let required = must_enrol(call, p).await?;
    let uri = mfa::otpauth_uri(&p.user.email, &r.secret);
    let grouped = mfa::grouped(&r.secret);
    let status = if errors.is_empty() { 200 } else { 400 };
    let markup = framed(&call.state, p, "/profile", |ctx| {
        pages::setup(ctx, &grouped, &uri, errors, required)
    });
    Ok(respond::html(status, markup))
}

fn manage(
    call: &Call,
    p: &Principal,
    r: &MfaRecord,
    new_codes: Option<&[String]>,
    errors: &FormErrors,
    notice: Option<&str>,
) -> Result<Response<Body>, Error> {
    let status = if errors.is_empty() { 200 } else { 400 };
    let markup = framed(&call.state, p, "/profile", |ctx| {
        pages::manage(
            ctx,
            &p.user.email,
            r.recovery.len(),
            new_codes,
            errors,
            notice,
        )
    });
    Ok(respond::html(status, markup))
}

/// `POST /profile/two-step/enable`: a right code turns it on and issues recovery codes.
async fn enable(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let Some(mut r) = record(call, &p.user.id).await? else {
        return Ok(respond::redirect("/profile/two-step"));
    };
    if r.enabled {
        return Ok(respond::redirect("/profile/two-step"));
    }
    let now = call.state.clock.now_secs();
    let code = call.form.text("code");
    if mfa::looks_like_recovery(code) || r.accept(code, now).is_none() {
        let errors = FormErrors::none()
            .with_field(
                "code",
                "this code is not right; check the key and the time on your device",
            )
            .with_summary("Two-step sign-in is not on yet.");
        return setup(call, p, &r, &errors).await;
    }
    let (codes, stored) = mfa::new_recovery_codes();
    r.enabled = true;
    r.recovery = stored;
    let event = AuditEvent::new("mfa.enable", call.actor(), Outcome::Success)
        .source(call.peer.ip())
        .target(p.user.id.clone());
    write_with_audit(call, &p.user.id, Some(r.clone()), event).await?;
    tracing::info!(user = %p.user.id, "two-step sign-in turned on");
    manage(
        call,
        p,
        &r,
        Some(&codes),
        &FormErrors::default(),
        Some("Two-step sign-in is on. From now on, signing in asks for a code."),
    )
}

/// Stores (or, with `None`, removes) the record and appends `event`, in one write.
async fn write_with_audit(
    call: &Call,
    user_id: &str,
    record: Option<MfaRecord>,
    event: AuditEvent,
) -> Result<(), Error> {
    let id = user_id.to_string();
    let now = call.state.clock.now_ms();
    call.state
        .store
        .write(move |tx| {
            match &record {
                Some(r) => mfa::put(tx, &id, r)?,
                None => mfa::remove(tx, &id)?,
            }
            audit::append(tx, now, event.clone())?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// Re-authentication for a change while two-step sign-in is on: the password and a current
/// code (six digits or a recovery code), throttled like sign-in. On success, the record
/// with the code's use noted.
async fn reauthenticate(
    call: &Call,
    p: &Principal,
    record: &MfaRecord,
) -> Result<Result<(MfaRecord, CodeKind), FormErrors>, Error> {
    let state = &call.state;
    if let Err(retry_after_secs) = state.throttle.check(&p.user.email, call.peer.ip()) {
        return Ok(Err(FormErrors::none().with_summary(format!(
            "Too many attempts. Try again in {retry_after_secs} seconds."
        ))));
    }
    let mut errors = FormErrors::default();
    let password = call.form.text("current_password").to_string();
    if !state
        .hasher
        .verify(password, p.user.password_hash.clone())
        .await?
    {
        errors.fields.push((
            "current_password",
            "this is not your current password".into(),
        ));
    }
    let mut r = record.clone();
    let kind = r.accept(call.form.text("code"), state.clock.now_secs());
    if kind.is_none() {
        errors
            .fields
            .push(("code", "this code is not right or was already used".into()));
    }
    match kind {
        Some(kind) if errors.fields.is_empty() => Ok(Ok((r, kind))),
        _ => {
            state.throttle.record_failure(&p.user.email);
            Ok(Err(errors))
        }
    }
}

/// `POST /profile/two-step/disable` (`regenerate` false) and
/// `POST /profile/two-step/recovery-codes` (`regenerate` true).
async fn change(call: &Call, regenerate: bool) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let kind = if regenerate {
        "mfa.recovery_codes"
    } else {
        "mfa.disable"
    };
    let Some(r) = record(call, &p.user.id).await?.filter(|r| r.enabled) else {
        return Ok(respond::redirect("/profile/two-step"));
    };
    let (mut updated, used) = match reauthenticate(call, p, &r).await? {
        Ok(ok) => ok,
        Err(mut errors) => {
            call.audit(
                AuditEvent::new(kind, call.actor(), Outcome::Failure)
                    .target(p.user.id.clone())
                    .details(serde_json::json!({"reason": "re-authentication failed"})),
            )
            .await;
            if errors.summary.is_none() {
                errors.summary =
                    Some("Nothing was changed. Please correct the fields marked below.".into());
            }
            return manage(call, p, &r, None, &errors, None);
        }
    };
    let details = serde_json::json!({"code": code_kind_name(used)});
    let event = AuditEvent::new(kind, call.actor(), Outcome::Success)
        .source(call.peer.ip())
        .target(p.user.id.clone())
        .details(details);
    if regenerate {
        let (codes, stored) = mfa::new_recovery_codes();
        updated.recovery = stored;
        write_with_audit(call, &p.user.id, Some(updated.clone()), event).await?;
        tracing::info!(user = %p.user.id, "recovery codes replaced");
        manage(
            call,
            p,
            &updated,
            Some(&codes),
            &FormErrors::default(),
            Some("New recovery codes were made; the old ones no longer work."),
        )
    } else {
        write_with_audit(call, &p.user.id, None, event).await?;
        tracing::info!(user = %p.user.id, "two-step sign-in turned off");
        super::portal::profile(
            call,
            Some("Two-step sign-in is off."),
            &FormErrors::default(),
        )
        .await
    }
}

fn code_kind_name(kind: CodeKind) -> &'static str {
    match kind {
        CodeKind::Totp => "authenticator",
        CodeKind::Recovery => "recovery code",
    }
}

/// Called by sign-in once the password is right: for a user with two-step sign-in on, starts
/// the second step and answers with its page; `None` when the user has it off.
pub(crate) async fn start_second_step(
    call: &Call,
    user: &users::User,
    account: &str,
    next: Option<&str>,
) -> Result<Option<Response<Body>>, Error> {
    let state = &call.state;
    let now = state.clock.now_ms();
    let pending = Pending {
        user_id: user.id.clone(),
        account: account.to_string(),
        next: next.map(str::to_string),
        expires_ms: now + mfa::PENDING_MS,
    };
    let token = state
        .store
        .write(move |tx| {
            if !mfa::is_enabled(tx, &pending.user_id)? {
                return Ok(None);
            }
            mfa::start_pending(tx, &pending, now).map(Some)
        })
        .await?;
    let Some(token) = token else {
        return Ok(None);
    };
    tracing::info!(user = %user.id, "password right; second step asked");
    let mut r = respond::redirect(CHALLENGE_PATH);
    let max_age = u64::try_from(mfa::PENDING_MS / 1000).unwrap_or(300);
    respond::set_cookie(&mut r, PENDING_COOKIE, &token, max_age);
    Ok(Some(r))
}

/// The pending second step of this browser, if live.
async fn pending(call: &Call) -> Result<Option<(String, Pending)>, Error> {
    let Some(token) = call.cookie(PENDING_COOKIE).map(str::to_string) else {
        return Ok(None);
    };
    let now = call.state.clock.now_ms();
    let t = token.clone();
    let found = call
        .state
        .store
        .read(move |tx| mfa::find_pending(tx, &t, now))
        .await?;
    Ok(found.map(|p| (token, p)))
}

/// `GET /sign-in/two-step`
async fn challenge_form(call: &Call) -> Result<Response<Body>, Error> {
    if pending(call).await?.is_none() {
        return Ok(respond::redirect("/sign-in?notice=two-step-expired"));
    }
    let csrf = pre_csrf(call);
    Ok(with_pre_csrf(
        respond::html(200, pages::challenge(&csrf, None)),
        &csrf,
    ))
}

/// `POST /sign-in/two-step`: a right code starts the session; a wrong one counts in the
/// throttle and answers like a wrong password. The pending step is used once.
async fn challenge(call: &Call) -> Result<Response<Body>, Error> {
    let state = &call.state;
    let Some((token, pending)) = pending(call).await? else {
        return Ok(respond::redirect("/sign-in?notice=two-step-expired"));
    };
    let csrf = pre_csrf(call);
    let failed = |message: &str, status: u16| {
        with_pre_csrf(
            respond::html(status, pages::challenge(&csrf, Some(message))),
            &csrf,
        )
    };
    let user_id = pending.user_id.clone();
    let found = state
        .store
        .read(move |tx| {
            let user = users::get(tx, &user_id)?;
            let record = mfa::get(tx, &user_id)?;
            Ok((user, record))
        })
        .await?;
    let (Some(user), Some(record)) = found else {
        return Ok(respond::redirect("/sign-in?notice=two-step-expired"));
    };
    if user.disabled || !record.enabled {
        return Ok(respond::redirect("/sign-in?notice=two-step-expired"));
    }
    if let Err(retry_after_secs) = state.throttle.check(&pending.account, call.peer.ip()) {
        call.audit(
            AuditEvent::new("auth.second_step", user_actor(&user), Outcome::Denied).details(
                serde_json::json!({"reason": "throttled", "retry_after_secs": retry_after_secs}),
            ),
        )
        .await;
        let message = format!("Too many attempts. Try again in {retry_after_secs} seconds.");
        let mut r = failed(&message, 429);
        respond::add_retry_after(&Error::TooManyRequests { retry_after_secs }, &mut r);
        return Ok(r);
    }
    let mut updated = record.clone();
    let Some(kind) = updated.accept(call.form.text("code"), state.clock.now_secs()) else {
        state.throttle.record_failure(&pending.account);
        tracing::info!(peer = %call.peer.ip(), "second step failed");
        call.audit(
            AuditEvent::new("auth.second_step", user_actor(&user), Outcome::Failure)
                .details(serde_json::json!({"reason": "wrong or used code"})),
        )
        .await;
        return Ok(failed(&IamError::BadCredentials.to_string(), 401));
    };
    let now = state.clock.now_ms();
    let source = call.peer.ip().to_string();
    let actor = user_actor(&user);
    let id = user.id.clone();
    let left = updated.recovery.len();
    // The pending step is taken inside the write: of two racing posts, one finds it gone.
    let taken = state
        .store
        .write(move |tx| {
            if mfa::find_pending(tx, &token, now)?.is_none() {
                return Err(StoreError::NotFound("pending second step".into()));
            }
            mfa::end_pending(tx, &token)?;
            mfa::put(tx, &id, &updated)?;
            let event = AuditEvent::new("auth.second_step", actor.clone(), Outcome::Success)
                .source(&source)
                .details(serde_json::json!({"code": code_kind_name(kind)}));
            audit::append(tx, now, event)?;
            if kind == CodeKind::Recovery {
                let used =
                    AuditEvent::new("mfa.recovery_code_used", actor.clone(), Outcome::Success)
                        .source(&source)
                        .target(id.clone())
                        .details(serde_json::json!({"left": left}));
                audit::append(tx, now, used)?;
            }
            Ok(())
        })
        .await;
    match taken {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => {
            return Ok(respond::redirect("/sign-in?notice=two-step-expired"));
        }
        Err(e) => return Err(e.into()),
    }
    state.throttle.record_success(&pending.account);
    let session_id = start_session(call, &user.id).await?;
    tracing::info!(user = %user.id, peer = %call.peer.ip(), "signed in with two steps");
    call.audit(AuditEvent::new(
        "auth.sign_in",
        user_actor(&user),
        Outcome::Success,
    ))
    .await;
    let next = respond::safe_next(pending.next.as_deref());
    let mut r = respond::redirect(next.unwrap_or("/"));
    respond::set_cookie(
        &mut r,
        SESSION_COOKIE,
        &session_id,
        state.session_max_age_secs(),
    );
    respond::set_cookie(&mut r, PRE_CSRF_COOKIE, "", 0);
    respond::set_cookie(&mut r, PENDING_COOKIE, "", 0);
    Ok(r)
}

/// For re-authentication (password change, new API key): whether two-step sign-in is on
/// and, if so, the code in the form is right (its use is stored). `Ok(true)` when no code
/// is needed or the code is right.
pub(crate) async fn reauth_code_ok(call: &Call, p: &Principal) -> Result<bool, Error> {
    let Some(r) = record(call, &p.user.id).await?.filter(|r| r.enabled) else {
        return Ok(true);
    };
    let mut updated = r;
    if updated
        .accept(call.form.text("code"), call.state.clock.now_secs())
        .is_none()
    {
        call.state.throttle.record_failure(&p.user.email);
        return Ok(false);
    }
    let id = p.user.id.clone();
    call.state
        .store
        .write(move |tx| mfa::put(tx, &id, &updated))
        .await?;
    Ok(true)
}

/// Whether the user has two-step sign-in on (for the Profile page).
pub(crate) async fn is_on(call: &Call, user_id: &str) -> Result<bool, Error> {
    Ok(record(call, user_id).await?.is_some_and(|r| r.enabled))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::http::router::{Access, NoRoute};
    use hyper::Method;

    #[test]
    fn routes_parse_and_name_who_may_call_them() {
        let parse = |m: &Method, p: &str| Endpoint::parse(m, p);
        assert_eq!(
            parse(&Method::GET, "/profile/two-step"),
            Ok(Endpoint::Mfa(MfaRoute::Page))
        );
        assert_eq!(
            parse(&Method::GET, "/profile/two-step/disable"),
            Err(NoRoute::Method)
        );
        assert_eq!(
            parse(&Method::POST, "/sign-in/two-step"),
            Ok(Endpoint::Mfa(MfaRoute::Challenge))
        );
        assert_eq!(Endpoint::Mfa(MfaRoute::Challenge).access(), Access::Public);
        assert_eq!(Endpoint::Mfa(MfaRoute::Disable).access(), Access::SignedIn);
        assert_eq!(
            Endpoint::Mfa(MfaRoute::Policy).access(),
            Access::Role(Permission::IdentityConfig, Need::Administer)
        );
        assert!(open_before_enrolment(&Endpoint::SignOut));
        assert!(!open_before_enrolment(&Endpoint::Mfa(MfaRoute::Policy)));
        assert!(!open_before_enrolment(&Endpoint::ChangePassword));
    }
}
