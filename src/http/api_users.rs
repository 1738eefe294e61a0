//! The `users` resource of the REST API: list, create (with a password or an activation link
//! shown once), read, change roles or enabled state, delete, reset two-step sign-in — through
//! `iam::admin`, exactly as the portal's user administration, with the API key as the audit
//! actor.

use hyper::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{caller, list_answer, paging};
use super::api_iam::json_body;
use super::handler::Call;
use super::respond::{self, Body};
use crate::error::Error;
use crate::iam::admin::{self, Acting, ListQuery};
use crate::iam::roles::Role;
use crate::iam::tokens::{digest, random_secret};
use crate::iam::users::{self, NewUser, User};
use crate::iam::{passwords, settings};
use crate::security::audit::{AuditEvent, Outcome};
use crate::store::StoreError;

fn user_json(u: &User) -> Value {
    let status = match admin::status(u) {
        admin::Status::Enabled => "enabled",
        admin::Status::Disabled => "disabled",
        admin::Status::Pending => "pending",
    };
    json!({
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "roles": u.roles.iter().map(|r| r.id()).collect::<Vec<_>>(),
        "status": status,
        "created": crate::clock::rfc3339(u.created_secs),
    })
}

fn acting(call: &Call) -> Result<Acting, Error> {
    Ok(Acting {
        actor: call.actor(),
        user_id: caller(call)?.owner.id.clone(),
        source: call.peer.ip().to_string(),
        now_ms: call.state.clock.now_ms(),
    })
}

/// Audits a refused change (validation or conflict) as a failure, as the portal does.
async fn refused(call: &Call, kind: &str, target: &str, reason: &str) {
    call.audit(
        AuditEvent::new(kind, call.actor(), Outcome::Failure)
            .target(target)
            .details(json!({ "reason": reason })),
    )
    .await;
}

/// Runs `result`'s refusal through the audit trail: every error but a store failure is
/// recorded as a failed `kind` on `target`.
async fn audit_refusal<T>(
    call: &Call,
    kind: &str,
    target: &str,
    result: Result<T, Error>,
) -> Result<T, Error> {
    if let Err(e @ (Error::Invalid { .. } | Error::Conflict(_) | Error::BadRequest(_))) = &result {
        refused(call, kind, target, &e.to_string()).await;
    }
    result
}

fn parse_roles(ids: &[String]) -> Result<Vec<Role>, Error> {
    ids.iter()
        .map(|id| {
            Role::from_id(id).ok_or_else(|| Error::Invalid {
                field: "roles",
                message: format!("{id} is not a role"),
            })
        })
        .collect()
}

/// `GET /api/v1/users?q=&offset=&limit=`
pub async fn list(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let query = ListQuery {
        q: call.query.get("q").unwrap_or_default().to_string(),
        offset,
        limit,
        ..ListQuery::default()
    };
    let page = call
        .state
        .store
        .read(move |tx| admin::list(tx, &query))
        .await?;
    let items = page.items.iter().map(user_json).collect();
    Ok(list_answer(items, page.total, offset, limit))
}

/// `GET /api/v1/users/{id}`
pub async fn get(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let id = id.to_string();
    let user = call.state.store.read(move |tx| users::get(tx, &id)).await?;
    Ok(respond::json(
        200,
        &user_json(&user.ok_or(Error::NotFound)?),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    email: String,
    name: String,
    #[serde(default)]
    roles: Vec<String>,
    password: Option<String>,
}

/// Checks a create request; answers the user to create (without the password hash).
async fn validate_new(call: &Call, body: &NewUserBody) -> Result<NewUser, Error> {
    let email = users::normalize_email(&body.email)?;
    let name = users::normalize_name(&body.name, &email)?;
    let roles = parse_roles(&body.roles)?;
    let rbac = call.state.store.read(settings::rbac_enabled).await?;
    let allowed = settings::assignable_roles(rbac);
    if let Some(r) = roles.iter().find(|r| !allowed.contains(r)) {
        return Err(Error::Invalid {
            field: "roles",
            message: format!(
                "{} cannot be assigned in non-RBAC mode: only Developer and Company Admin exist",
                r.label()
            ),
        });
    }
    if let Some(password) = &body.password {
        passwords::check_policy("password", password, &email)?;
    }
    let lookup = email.clone();
    let taken = call
        .state
        .store
        .read(move |tx| users::find_by_email(tx, &lookup))
        .await?;
    if taken.is_some() {
        return Err(Error::Conflict(format!(
            "a user with the e-mail address {email} already exists"
        )));
    }
    Ok(NewUser {
        email,
        name,
        roles,
        password_hash: None,
    })
}

/// `POST /api/v1/users {"email","name","roles","password"?}`: without a password the answer
/// carries the user's `activation_link`, shown this once.
pub async fn create(call: &Call) -> Result<Response<Body>, Error> {
    let body: NewUserBody = json_body(call)?;
    let target = body.email.trim().to_lowercase();
    let mut new = audit_refusal(
        call,
        "user.create",
        &target,
        validate_new(call, &body).await,
    )
    .await?;
    let token = match body.password {
        Some(password) => {
            new.password_hash = Some(call.state.hasher.hash(password).await?);
            None
        }
        None => Some(random_secret()),
    };
    let key = token.as_deref().map(digest);
    let who = acting(call)?;
    let result = call
        .state
        .store
        .write(move |tx| admin::create(tx, &new, key, &who))
        .await
        .map_err(Error::from);
    let (user, expires) = audit_refusal(call, "user.create", &target, result).await?;
    let mut v = user_json(&user);
    if let (Some(token), Some(obj)) = (token, v.as_object_mut()) {
        obj.insert(
            "activation_link".into(),
            json!(crate::iam::activation::link(&call.state.public_url, &token)),
        );
        obj.insert(
            "activation_link_expires".into(),
            json!(expires.map(super::api::time)),
        );
    }
    Ok(respond::json(201, &v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    roles: Option<Vec<String>>,
    enabled: Option<bool>,
}

/// `PATCH /api/v1/users/{id} {"roles"?,"enabled"?}`: both changes in one transaction (all or
/// nothing); disabling ends the user's sessions and API keys.
pub async fn update(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let body: UserPatch = json_body(call)?;
    let kind = match (&body.roles, body.enabled) {
        (Some(_), _) => "user.roles_change",
        (None, Some(true)) => "user.enable",
        (None, Some(false)) => "user.disable",
        (None, None) => {
            return Err(Error::Invalid {
                field: "roles",
                message: "send roles, enabled or both".into(),
            });
        }
    };
    let roles = match body.roles.as_deref().map(parse_roles).transpose() {
        Ok(r) => r,
        Err(e) => return audit_refusal(call, kind, id, Err(e)).await,
    };
    let who = acting(call)?;
    let target = id.to_string();
    let enabled = body.enabled;
    let result = call
        .state
        .store
        .write(move |tx| {
            let mut user = None;
            if let Some(roles) = &roles {
                user = Some(admin::set_roles(tx, &target, roles.clone(), &who)?);
            }
            if let Some(on) = enabled {
                user = Some(admin::set_enabled(tx, &target, on, &who)?);
            }
            user.ok_or_else(|| StoreError::NotFound(target.clone()))
        })
        .await
        .map_err(Error::from);
    let user = audit_refusal(call, kind, id, result).await?;
    if enabled == Some(false) {
        call.state.sessions.end_all_for(id, None).await;
    }
    Ok(respond::json(200, &user_json(&user)))
}

/// `DELETE /api/v1/users/{id}`: ends the user's sessions once the deletion is durable.
pub async fn delete(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let who = acting(call)?;
    let target = id.to_string();
    let result = call
        .state
        .store
        .write(move |tx| admin::delete(tx, &target, &who))
        .await
        .map_err(Error::from);
    let user = audit_refusal(call, "user.delete", id, result).await?;
    call.state.sessions.end_all_for(id, None).await;
    Ok(respond::json(200, &user_json(&user)))
}

/// `DELETE /api/v1/users/{id}/mfa`: removes the user's two-step sign-in (authenticator key
/// and recovery codes) and ends their sessions once that is durable. 404 for an unknown
/// user, 409 when they have none turned on or it is the key owner's own account.
pub async fn reset_mfa(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let who = acting(call)?;
    let target = id.to_string();
    let result = call
        .state
        .store
        .write(move |tx| admin::reset_mfa(tx, &target, &who))
        .await
        .map_err(Error::from);
    let user = audit_refusal(call, "mfa.reset", id, result).await?;
    call.state.sessions.end_all_for(id, None).await;
    Ok(respond::json(200, &user_json(&user)))
}
