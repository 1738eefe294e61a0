//! Settings › Identity and Access Management › Users, and the `/activate` link of new users:
//! the portal side of `iam::admin` and `iam::activation`.
//!
//! Authorisation happens in the pipeline (each route names its permission in
//! `Endpoint::access`); here the handlers parse, call the domain inside one write transaction
//! (change and audit record together), end sessions once a disable or delete is durable, and
//! render. Refused attempts (validation, conflicts) are audited as failures.

use hyper::Response;
use serde_json::json;

use super::auth::{
    check_email_and_name, check_new_password, pre_csrf, start_session, user_actor, with_pre_csrf,
};
use super::handler::{Call, Principal};
use super::portal::{framed, principal};
use super::respond::{self, Body, PRE_CSRF_COOKIE, SESSION_COOKIE};
use super::router::{Endpoint, NoRoute};
use crate::error::Error;
use crate::iam::admin::{self, Acting, ListQuery};
use crate::iam::roles::{self, Need, Permission, Role};
use crate::iam::tokens::{digest, random_secret};
use crate::iam::users::{self, NewUser, User};
use crate::iam::{activation, mfa, settings};
use crate::security::audit::{self, AuditEvent, Outcome};
use crate::store::StoreError;
use crate::ui::components::FormErrors;
use crate::ui::pages::users as pages;

/// Every per-user route starts with this.
pub const PREFIX: &str = "/settings/iam/users/";

/// Longest search text taken from the URL.
const MAX_QUERY: usize = 100;

/// Maps a path under [`PREFIX`] to its route.
pub fn parse(get: bool, post: bool, path: &str) -> Result<Endpoint, NoRoute> {
    let only = |ok: bool, e: Endpoint| if ok { Ok(e) } else { Err(NoRoute::Method) };
    let rest = path.strip_prefix(PREFIX).ok_or(NoRoute::NotFound)?;
    if rest == "new" {
        return only(get, Endpoint::UserNew);
    }
    let (id, action) = match rest.split_once('/') {
        Some((id, action)) => (id, Some(action)),
        None => (rest, None),
    };
    // Ids are 128-bit lowercase hex (`tokens::random_id`); anything else cannot exist.
    if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(NoRoute::NotFound);
    }
    let id = id.to_string();
    match action {
        None => only(get, Endpoint::UserDetail(id)),
        Some("roles") => only(post, Endpoint::UserRoles(id)),
        Some("enable") => only(post, Endpoint::UserEnabled(id, true)),
        Some("disable") => only(post, Endpoint::UserEnabled(id, false)),
        Some("delete") => only(post, Endpoint::UserDelete(id)),
        Some("activation-link") => only(post, Endpoint::UserActivationLink(id)),
        Some("reset-two-step") => only(post, Endpoint::UserMfaReset(id)),
        Some(_) => Err(NoRoute::NotFound),
    }
}

fn acting(call: &Call, p: &Principal) -> Acting {
    Acting {
        actor: call.actor(),
        user_id: p.user.id.clone(),
        source: call.peer.ip().to_string(),
        now_ms: call.state.clock.now_ms(),
    }
}

/// Audits a refused change (validation or conflict) as a failure.
async fn refused(call: &Call, kind: &str, target: &str, reason: &str) {
    call.audit(
        AuditEvent::new(kind, call.actor(), Outcome::Failure)
            .target(target)
            .details(json!({ "reason": reason })),
    )
    .await;
}

fn can_write(p: &Principal) -> bool {
    roles::allows(&p.user.roles, Permission::Users, Need::Administer)
}

fn options(roles: &[Role]) -> Vec<pages::RoleOption> {
    roles.iter().map(|r| (r.id(), r.label())).collect()
}

fn state_of(user: &User) -> pages::UserState {
    match admin::status(user) {
        admin::Status::Enabled => pages::UserState::Enabled,
        admin::Status::Disabled => pages::UserState::Disabled,
        admin::Status::Pending => pages::UserState::Pending,
    }
}

/// The chosen roles of a form; `Invalid` for an id that is not a role.
fn form_roles(call: &Call) -> Result<Vec<Role>, Error> {
    call.form
        .all("role")
        .map(|id| {
            Role::from_id(id).ok_or_else(|| Error::Invalid {
                field: "role",
                message: format!("{id} is not a role"),
            })
        })
        .collect()
}

fn notice_text(code: Option<&str>) -> Option<String> {
    let text = match code? {
        "created" => "The user was created. They can sign in with the password you set.",
        "roles" => "The roles were saved. They apply to the user's next request.",
        "enabled" => "The user was enabled and can sign in again.",
        "disabled" => "The user was disabled and signed out everywhere.",
        "deleted" => "The user was deleted and signed out everywhere.",
        "two-step-reset" => {
            "Two-step sign-in was reset and the user was signed out everywhere. They sign in with their password and set it up again (at once, if it is required for them)."
        }
        "mode" => "The access control mode was switched.",
        _ => return None,
    };
    Some(text.to_string())
}

fn parse_number(call: &Call, name: &str, default: usize) -> usize {
    call.query
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `GET /settings/iam/users?q=&role=&offset=&limit=`
pub async fn list(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let q: String = call
        .query
        .text("q")
        .trim()
        .chars()
        .take(MAX_QUERY)
        .collect();
    let role = Role::from_id(call.query.text("role"));
    let query = ListQuery {
        q: q.clone(),
        role,
        offset: parse_number(call, "offset", 0),
        limit: parse_number(call, "limit", admin::DEFAULT_PAGE).clamp(1, admin::MAX_PAGE),
        sort: admin::SortKey::from_id(call.query.text("sort")).unwrap_or_default(),
        descending: call.query.text("dir") == "desc",
    };
    let lookup = query.clone();
    let (rbac, page) = call
        .state
        .store
        .read(move |tx| Ok((settings::rbac_enabled(tx)?, admin::list(tx, &lookup)?)))
        .await?;
    let view = pages::ListView {
        rows: page
            .items
            .iter()
            .map(|u| pages::UserRow {
                id: u.id.clone(),
                name: u.name.clone(),
                email: u.email.clone(),
                roles: u.roles.iter().map(|r| r.label()).collect(),
                state: state_of(u),
                created: u.created_secs,
            })
            .collect(),
        total: page.total,
        q,
        role: role.map(|r| r.id().to_string()).unwrap_or_default(),
        offset: query.offset,
        limit: query.limit,
        sort: query.sort.id(),
        descending: query.descending,
        role_options: options(&Role::ALL),
        now: call.state.clock.now_secs(),
        can_write: can_write(p),
        rbac,
        can_switch_mode: roles::allows(&p.user.roles, Permission::IdentityConfig, Need::Administer),
        notice: notice_text(call.query.get("notice")),
    };
    let markup = framed(&call.state, p, pages::BASE, |ctx| pages::list(ctx, &view));
    Ok(respond::html(200, markup))
}

async fn assignable(call: &Call) -> Result<&'static [Role], Error> {
    let rbac = call.state.store.read(settings::rbac_enabled).await?;
    Ok(settings::assignable_roles(rbac))
}

fn render_new(
    call: &Call,
    p: &Principal,
    status: u16,
    values: &pages::NewUserValues,
    allowed: &[Role],
    errors: &FormErrors,
) -> Response<Body> {
    let markup = framed(&call.state, p, pages::BASE, |ctx| {
        pages::new_form(ctx, values, &options(allowed), errors)
    });
    respond::html(status, markup)
}

/// `GET /settings/iam/users/new`
pub async fn new_form(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let allowed = assignable(call).await?;
    let values = pages::NewUserValues {
        roles: vec![Role::Developer.id().to_string()],
        method: "link".into(),
        ..Default::default()
    };
    Ok(render_new(
        call,
        p,
        200,
        &values,
        allowed,
        &FormErrors::none(),
    ))
}

/// `POST /settings/iam/users`: validates, then creates the user and its audit record (and the
/// activation link) in one write. A duplicate e-mail re-renders the form with 409.
pub async fn create(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let state = &call.state;
    let allowed = assignable(call).await?;
    let values = pages::NewUserValues {
        name: call.form.text("name").to_string(),
        email: call.form.text("email").to_string(),
        roles: call.form.all("role").map(str::to_string).collect(),
        method: call.form.text("method").to_string(),
    };
    let by_link = values.method != "password";
    let password = call.form.text("password").to_string();
    let mut errors = FormErrors::default();
    let mut status = 400;
    let (email, name) = check_email_and_name(&values.email, &values.name, &mut errors);
    let chosen = match form_roles(call) {
        Ok(roles) => roles,
        Err(e) => {
            errors.fields.push(("role", e.to_string()));
            Vec::new()
        }
    };
    if let Some(r) = chosen.iter().find(|r| !allowed.contains(r)) {
        errors.fields.push((
            "role",
            format!(
                "{} cannot be assigned in non-RBAC mode: only Developer and Company Admin exist",
                r.label()
            ),
        ));
    }
    if !by_link {
        check_new_password(
            call,
            "password",
            "password_confirm",
            &values.email,
            &mut errors,
        );
    }
    if let Some(email) = &email {
        let lookup = email.clone();
        if state
            .store
            .read(move |tx| users::find_by_email(tx, &lookup))
            .await?
            .is_some()
        {
            errors.fields.push((
                "email",
                format!("a user with the e-mail address {email} already exists"),
            ));
            status = 409;
        }
    }
    let target = email.clone().unwrap_or_default();
    let (Some(email), Some(name), true) = (email, name, errors.fields.is_empty()) else {
        let reasons: Vec<String> = errors
            .fields
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect();
        refused(call, "user.create", &target, &reasons.join("; ")).await;
        errors.summary =
            Some("The user was not created. Please correct the fields marked below.".into());
        return Ok(render_new(call, p, status, &values, allowed, &errors));
    };
    let password_hash = if by_link {
        None
    } else {
        Some(state.hasher.hash(password).await?)
    };
    let token = by_link.then(random_secret);
    let key = token.as_deref().map(digest);
    let new = NewUser {
        email,
        name,
        roles: chosen,
        password_hash,
    };
    let who = acting(call, p);
    let result = state
        .store
        .write(move |tx| admin::create(tx, &new, key, &who))
        .await;
    let user = match result {
        Ok((user, _)) => user,
        Err(StoreError::Conflict(message)) => {
            // Lost a race with another create of the same address, or the mode changed.
            refused(call, "user.create", &target, &message).await;
            errors.fields.push(("email", message));
            errors.summary = Some("The user was not created.".into());
            return Ok(render_new(call, p, 409, &values, allowed, &errors));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %user.id, by = %p.user.id, "user created");
    match token {
        Some(token) => {
            let link = activation::link(&state.public_url, &token);
            detail_page(call, &user.id, Some(link), None).await
        }
        None => Ok(respond::redirect(&format!(
            "{}/{}?notice=created",
            pages::BASE,
            user.id
        ))),
    }
}

/// `GET /settings/iam/users/{id}`
pub async fn detail(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    detail_page(call, id, None, notice_text(call.query.get("notice"))).await
}

async fn detail_page(
    call: &Call,
    id: &str,
    new_link: Option<String>,
    notice: Option<String>,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let lookup = id.to_string();
    let (user, rbac, link_expires, mfa_on) = call
        .state
        .store
        .read(move |tx| {
            Ok((
                users::get(tx, &lookup)?,
                settings::rbac_enabled(tx)?,
                activation::pending_until(tx, &lookup)?,
                mfa::is_enabled(tx, &lookup)?,
            ))
        })
        .await?;
    let user = user.ok_or(Error::NotFound)?;
    let view = pages::DetailView {
        id: user.id.clone(),
        name: user.name.clone(),
        email: user.email.clone(),
        roles: user.roles.iter().map(|r| r.id().to_string()).collect(),
        role_labels: user.roles.iter().map(|r| r.label()).collect(),
        state: state_of(&user),
        created: user.created_secs,
        link_expires: link_expires
            .filter(|_| user.password_hash.is_none())
            .map(|ms| ms.div_euclid(1000)),
        now: call.state.clock.now_secs(),
        options: options(settings::assignable_roles(rbac)),
        inactive: user
            .roles
            .iter()
            .filter(|r| !settings::assignable_roles(rbac).contains(r))
            .map(|r| r.label())
            .collect(),
        can_write: can_write(p),
        is_self: user.id == p.user.id,
        mfa_on,
        new_link,
        notice,
    };
    let markup = framed(&call.state, p, pages::BASE, |ctx| pages::detail(ctx, &view));
    Ok(respond::html(200, markup))
}

/// Runs one audited change; a refusal (`Conflict`) is audited as a failure and answered 409.
async fn change<T, F>(call: &Call, kind: &str, id: &str, f: F) -> Result<T, Error>
where
    F: FnMut(&mut crate::store::WriteTx<'_>) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    match call.state.store.write(f).await {
        Ok(v) => Ok(v),
        Err(StoreError::Conflict(message)) => {
            refused(call, kind, id, &message).await;
            Err(Error::Conflict(message))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/iam/users/{id}/roles`
pub async fn set_roles(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let chosen = match form_roles(call) {
        Ok(r) => r,
        Err(e) => {
            refused(call, "user.roles_change", id, &e.to_string()).await;
            return Err(e);
        }
    };
    let who = acting(call, p);
    let target = id.to_string();
    change(call, "user.roles_change", id, move |tx| {
        admin::set_roles(tx, &target, chosen.clone(), &who)
    })
    .await?;
    Ok(respond::redirect(&format!(
        "{}/{id}?notice=roles",
        pages::BASE
    )))
}

/// `POST /settings/iam/users/{id}/enable|disable`: disabling ends every session of the user
/// once the change is durable.
pub async fn set_enabled(call: &Call, id: &str, on: bool) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let who = acting(call, p);
    let target = id.to_string();
    let kind = if on { "user.enable" } else { "user.disable" };
    change(call, kind, id, move |tx| {
        admin::set_enabled(tx, &target, on, &who)
    })
    .await?;
    if !on {
        call.state.sessions.end_all_for(id, None).await;
    }
    let notice = if on { "enabled" } else { "disabled" };
    Ok(respond::redirect(&format!(
        "{}/{id}?notice={notice}",
        pages::BASE
    )))
}

/// `POST /settings/iam/users/{id}/delete`: ends the user's sessions once durable.
pub async fn delete(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let who = acting(call, p);
    let target = id.to_string();
    change(call, "user.delete", id, move |tx| {
        admin::delete(tx, &target, &who)
    })
    .await?;
    call.state.sessions.end_all_for(id, None).await;
    Ok(respond::redirect(&format!(
        "{}?notice=deleted",
        pages::BASE
    )))
}

/// `POST /settings/iam/users/{id}/reset-two-step`: removes the user's two-step sign-in (they
/// lost their authenticator and recovery codes) and ends their sessions once durable.
pub async fn reset_mfa(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let who = acting(call, p);
    let target = id.to_string();
    change(call, "mfa.reset", id, move |tx| {
        admin::reset_mfa(tx, &target, &who)
    })
    .await?;
    call.state.sessions.end_all_for(id, None).await;
    tracing::info!(user = %id, by = %p.user.id, "two-step sign-in reset");
    Ok(respond::redirect(&format!(
        "{}/{id}?notice=two-step-reset",
        pages::BASE
    )))
}

/// `POST /settings/iam/users/{id}/activation-link`: a new link, shown once.
pub async fn activation_link(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let who = acting(call, p);
    let target = id.to_string();
    let token = random_secret();
    let key = digest(&token);
    change(call, "user.activation_link", id, move |tx| {
        admin::new_activation_link(tx, &target, key, &who)
    })
    .await?;
    let link = activation::link(&call.state.public_url, &token);
    detail_page(call, id, Some(link), None).await
}

/// `POST /settings/iam/rbac-mode` with `mode=rbac|non-rbac`.
pub async fn rbac_mode(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let on = match call.form.text("mode") {
        "rbac" => true,
        "non-rbac" => false,
        other => {
            refused(call, "settings.rbac_mode", "rbac_mode", "unknown mode").await;
            return Err(Error::Invalid {
                field: "mode",
                message: format!("{other:?} is not a mode; use rbac or non-rbac"),
            });
        }
    };
    let who = acting(call, p);
    change(call, "settings.rbac_mode", "rbac_mode", move |tx| {
        admin::set_rbac_mode(tx, on, &who)
    })
    .await?;
    Ok(respond::redirect(&format!("{}?notice=mode", pages::BASE)))
}

fn invalid_link() -> Response<Body> {
    respond::html(404, pages::activate_invalid())
}

async fn link_user(call: &Call, token: &str) -> Result<Option<User>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let token = token.to_string();
    let now = call.state.clock.now_ms();
    Ok(call
        .state
        .store
        .read(move |tx| activation::lookup(tx, &token, now))
        .await?)
}

/// `GET /activate?token=`
pub async fn activate_form(call: &Call) -> Result<Response<Body>, Error> {
    let token = call.query.text("token").to_string();
    let Some(user) = link_user(call, &token).await? else {
        return Ok(invalid_link());
    };
    let csrf = pre_csrf(call);
    let page = pages::activate(&csrf, &token, &user.name, &user.email, &FormErrors::none());
    Ok(with_pre_csrf(respond::html(200, page), &csrf))
}

/// `POST /activate`: checks the password, then uses the link, sets the password and writes
/// the audit record in one write; signs the user in.
pub async fn activate(call: &Call) -> Result<Response<Body>, Error> {
    let state = &call.state;
    let token = call.form.text("token").to_string();
    let Some(user) = link_user(call, &token).await? else {
        return Ok(invalid_link());
    };
    let password = call.form.text("password").to_string();
    let mut errors = FormErrors::default();
    check_new_password(
        call,
        "password",
        "password_confirm",
        &user.email,
        &mut errors,
    );
    if !errors.fields.is_empty() {
        errors.summary = Some("Please correct the fields marked below.".into());
        let csrf = pre_csrf(call);
        let page = pages::activate(&csrf, &token, &user.name, &user.email, &errors);
        return Ok(with_pre_csrf(respond::html(400, page), &csrf));
    }
    let hash = state.hasher.hash(password).await?;
    let now = state.clock.now_ms();
    let source = call.peer.ip().to_string();
    let result = state
        .store
        .write(move |tx| {
            let user = activation::consume(tx, &token, &hash, now)?;
            let event = AuditEvent::new("user.activate", user_actor(&user), Outcome::Success)
                .source(&source)
                .target(user.id.clone());
            audit::append(tx, now, event)?;
            Ok(user)
        })
        .await;
    let user = match result {
        Ok(user) => user,
        Err(StoreError::NotFound(_)) => return Ok(invalid_link()),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %user.id, "account activated");
    let session_id = start_session(call, &user.id).await?;
    let mut r = respond::redirect("/");
    respond::set_cookie(
        &mut r,
        SESSION_COOKIE,
        &session_id,
        state.session_max_age_secs(),
    );
    respond::set_cookie(&mut r, PRE_CSRF_COOKIE, "", 0);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_paths_parse() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            parse(true, false, &format!("{PREFIX}{id}")),
            Ok(Endpoint::UserDetail(id.into()))
        );
        assert_eq!(
            parse(false, true, &format!("{PREFIX}{id}/disable")),
            Ok(Endpoint::UserEnabled(id.into(), false))
        );
        assert_eq!(
            parse(true, false, &format!("{PREFIX}{id}/delete")),
            Err(NoRoute::Method)
        );
        assert_eq!(
            parse(false, true, &format!("{PREFIX}{id}/reset-two-step")),
            Ok(Endpoint::UserMfaReset(id.into()))
        );
        assert_eq!(
            parse(true, false, &format!("{PREFIX}new")),
            Ok(Endpoint::UserNew)
        );
        assert_eq!(
            parse(true, false, &format!("{PREFIX}..")),
            Err(NoRoute::NotFound)
        );
        assert_eq!(
            parse(false, true, &format!("{PREFIX}{id}/nope")),
            Err(NoRoute::NotFound)
        );
    }
}
