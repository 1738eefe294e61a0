//! The identity resources of the REST API: `agent-pools`, `groups` and `temp-access` (users
//! live in `http::api_users`), plus the OpenAPI document that describes every `/api/v1` route.
//!
//! Each handler parses JSON, calls the same domain function as the portal (through
//! `http::admin::audited`, so the change and its audit record are written together, with the
//! API key as the actor) and answers JSON. Scope and Group Admin rules live in the domain.

use std::collections::BTreeSet;

use hyper::Response;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::admin::{Change, acting_user, audited};
use super::api::{list_answer, paging, time};
use super::handler::Call;
use super::respond::{self, Body};
use crate::error::Error;
use crate::iam::grants::{self, Grant, GrantError, NewGrant};
use crate::iam::groups::{self, Group, GroupError, GroupInput};
use crate::iam::pools::{self, NewPool, Pool, PoolError};
use crate::iam::roles::Role;
use crate::iam::scope;

/// The OpenAPI 3.1 document of `/api/v1`, kept next to the code it describes; a test checks
/// it against [`RestRoute::parse`] both ways.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The identity routes of the REST API; `{id}` is an object id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestRoute {
    /// `GET /api/v1/openapi.json`
    OpenApi,
    /// `GET /api/v1/users?q=&offset=&limit=`
    UsersList,
    /// `POST /api/v1/users`
    UserCreate,
    /// `GET /api/v1/users/{id}`
    UserGet(String),
    /// `PATCH /api/v1/users/{id}`
    UserUpdate(String),
    /// `DELETE /api/v1/users/{id}`
    UserDelete(String),
    /// `DELETE /api/v1/users/{id}/mfa`: resets the user's two-step sign-in.
    UserMfaReset(String),
    /// `GET /api/v1/groups`
    GroupsList,
    /// `POST /api/v1/groups`
    GroupCreate,
    /// `GET /api/v1/groups/{id}`
    GroupGet(String),
    /// `PATCH /api/v1/groups/{id}`
    GroupUpdate(String),
    /// `DELETE /api/v1/groups/{id}`
    GroupDelete(String),
    /// `GET /api/v1/agent-pools`
    PoolsList,
    /// `POST /api/v1/agent-pools`
    PoolCreate,
    /// `GET /api/v1/agent-pools/{id}`
    PoolGet(String),
    /// `PATCH /api/v1/agent-pools/{id}`
    PoolUpdate(String),
    /// `POST /api/v1/agent-pools/{id}/keys`
    PoolRotate(String),
    /// `POST /api/v1/agent-pools/{id}/detach`
    PoolDetach(String),
    /// `POST /api/v1/agent-pools/{id}/enable`
    PoolEnable(String),
    /// `DELETE /api/v1/agent-pools/{id}`
    PoolDelete(String),
    /// `GET /api/v1/temp-access`
    GrantsList,
    /// `POST /api/v1/temp-access`
    GrantCreate,
    /// `DELETE /api/v1/temp-access/{id}`
    GrantRevoke(String),
}

/// An object id in a path: the random hex ids (and `default`) only, as in the portal.
fn id(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| s.to_string())
}

impl RestRoute {
    /// The route for a method and the path segments after `/api/v1/`; `None` when there is
    /// none (the router answers a JSON 404 then).
    pub fn parse(method: &str, segments: &[&str]) -> Option<RestRoute> {
        use RestRoute as R;
        let one = |s: &str, f: fn(String) -> R| id(s).map(f);
        match (method, segments) {
            ("GET" | "HEAD", ["openapi.json"]) => Some(R::OpenApi),
            ("GET" | "HEAD", ["users"]) => Some(R::UsersList),
            ("POST", ["users"]) => Some(R::UserCreate),
            ("GET" | "HEAD", ["users", i]) => one(i, R::UserGet),
            ("PATCH", ["users", i]) => one(i, R::UserUpdate),
            ("DELETE", ["users", i]) => one(i, R::UserDelete),
            ("DELETE", ["users", i, "mfa"]) => one(i, R::UserMfaReset),
            ("GET" | "HEAD", ["groups"]) => Some(R::GroupsList),
            ("POST", ["groups"]) => Some(R::GroupCreate),
            ("GET" | "HEAD", ["groups", i]) => one(i, R::GroupGet),
            ("PATCH", ["groups", i]) => one(i, R::GroupUpdate),
            ("DELETE", ["groups", i]) => one(i, R::GroupDelete),
            ("GET" | "HEAD", ["agent-pools"]) => Some(R::PoolsList),
            ("POST", ["agent-pools"]) => Some(R::PoolCreate),
            ("GET" | "HEAD", ["agent-pools", i]) => one(i, R::PoolGet),
            ("PATCH", ["agent-pools", i]) => one(i, R::PoolUpdate),
            ("DELETE", ["agent-pools", i]) => one(i, R::PoolDelete),
            ("POST", ["agent-pools", i, "keys"]) => one(i, R::PoolRotate),
            ("POST", ["agent-pools", i, "detach"]) => one(i, R::PoolDetach),
            ("POST", ["agent-pools", i, "enable"]) => one(i, R::PoolEnable),
            ("GET" | "HEAD", ["temp-access"]) => Some(R::GrantsList),
            ("POST", ["temp-access"]) => Some(R::GrantCreate),
            ("DELETE", ["temp-access", i]) => one(i, R::GrantRevoke),
            _ => None,
        }
    }
}

/// The request body as `T`: 400 `bad_request` with serde's sentence when it is not valid
/// JSON for `T` (unknown fields included, the bodies deny them).
///
/// Every body of the API is a JSON object. serde would also fill a struct from an array
/// (`[]` makes a blocklist with no rules, every field defaulted), so anything else is
/// refused before serde sees it.
pub(crate) fn json_body<T: DeserializeOwned>(call: &Call) -> Result<T, Error> {
    let first = call.body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(Error::BadRequest(
            "the body must be a JSON object ({...})".into(),
        ));
    }
    serde_json::from_slice(&call.body)
        .map_err(|e| Error::BadRequest(format!("the body is not valid JSON for this request: {e}")))
}

/// Serves one identity route.
pub async fn handle(call: &Call, route: RestRoute) -> Result<Response<Body>, Error> {
    use RestRoute as R;
    match route {
        R::OpenApi => Ok(respond::json(
            200,
            &serde_json::from_str::<Value>(OPENAPI).map_err(Error::internal)?,
        )),
        R::UsersList => super::api_users::list(call).await,
        R::UserCreate => super::api_users::create(call).await,
        R::UserGet(id) => super::api_users::get(call, &id).await,
        R::UserUpdate(id) => super::api_users::update(call, &id).await,
        R::UserDelete(id) => super::api_users::delete(call, &id).await,
        R::UserMfaReset(id) => super::api_users::reset_mfa(call, &id).await,
        R::GroupsList => groups_list(call).await,
        R::GroupCreate => group_create(call).await,
        R::GroupGet(id) => Ok(respond::json(
            200,
            &group_json(&visible_group(call, &id).await?),
        )),
        R::GroupUpdate(id) => group_update(call, &id).await,
        R::GroupDelete(id) => group_delete(call, &id).await,
        R::PoolsList => pools_list(call).await,
        R::PoolCreate => pool_create(call).await,
        R::PoolGet(id) => {
            let pool = visible_pool(call, &id).await?;
            Ok(respond::json(200, &pool_json(call, &pool)))
        }
        R::PoolUpdate(id) => pool_update(call, &id).await,
        R::PoolRotate(id) => pool_rotate(call, &id).await,
        R::PoolDetach(id) => pool_detach(call, &id).await,
        R::PoolEnable(id) => pool_enable(call, &id).await,
        R::PoolDelete(id) => pool_delete(call, &id).await,
        R::GrantsList => grants_list(call).await,
        R::GrantCreate => grant_create(call).await,
        R::GrantRevoke(id) => grant_revoke(call, &id).await,
    }
}

// ---- agent pools ----

fn pool_json(call: &Call, p: &Pool) -> Value {
    let now_ms = call.state.clock.now_ms();
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "is_default": p.is_default(),
        "detached": p.detached,
        "detach_reason": p.detached.then(|| p.detach_reason.clone()),
        "created": time(p.created_ms),
        "key_created": p.key_created_ms.map(time),
        "previous_key_valid_until": p
            .previous_key_valid(now_ms)
            .then_some(p.previous_key_expires_ms)
            .flatten()
            .map(time),
        "agents_connected": call.state.agents.registry.count_in_pool(&p.id),
    })
}

fn pool_with_key(call: &Call, p: &Pool, key: &str) -> Value {
    let mut v = pool_json(call, p);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("key".into(), json!(key));
    }
    v
}

async fn visible_pool(call: &Call, id: &str) -> Result<Pool, Error> {
    let user = acting_user(call)?;
    let now_ms = call.state.clock.now_ms();
    let id = id.to_string();
    let pool = call
        .state
        .store
        .read(move |tx| Ok(pools::get_visible(tx, &user, &id, now_ms)))
        .await??;
    Ok(pool)
}

/// `GET /api/v1/agent-pools`: only the pools in the caller's scope.
async fn pools_list(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let user = acting_user(call)?;
    let now_ms = call.state.clock.now_ms();
    let visible = call
        .state
        .store
        .read(move |tx| pools::visible(tx, &user, now_ms))
        .await?;
    let items = visible
        .iter()
        .skip(offset)
        .take(limit)
        .map(|p| pool_json(call, p))
        .collect();
    Ok(list_answer(items, visible.len(), offset, limit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolBody {
    name: String,
    #[serde(default)]
    description: String,
}

/// `POST /api/v1/agent-pools` → the pool with its key (shown this once).
async fn pool_create(call: &Call) -> Result<Response<Body>, Error> {
    let body: PoolBody = json_body(call)?;
    let input = NewPool {
        name: body.name,
        description: body.description,
    };
    let r: Result<_, PoolError> = audited(call, "pool.create", "", move |tx, actor, now| {
        let (p, key) = pools::create(tx, actor, &input, now)?;
        Ok(Change {
            target: p.id.clone(),
            details: json!({ "name": p.name, "description": p.description }),
            value: (p, key),
        })
    })
    .await?;
    let (pool, key) = r?;
    Ok(respond::json(201, &pool_with_key(call, &pool, &key)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DescriptionBody {
    description: String,
}

/// `PATCH /api/v1/agent-pools/{id} {"description"}`
async fn pool_update(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let body: DescriptionBody = json_body(call)?;
    let pid = id.to_string();
    let r: Result<_, PoolError> = audited(call, "pool.update", id, move |tx, actor, now| {
        let p = pools::set_description(tx, actor, &pid, &body.description, now)?;
        Ok(Change {
            target: p.id.clone(),
            details: json!({ "name": p.name, "description": p.description }),
            value: p,
        })
    })
    .await?;
    Ok(respond::json(200, &pool_json(call, &r?)))
}

/// `POST /api/v1/agent-pools/{id}/keys` → the pool with its new key; the previous key keeps
/// working for the grace period.
async fn pool_rotate(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let pid = id.to_string();
    let r: Result<_, PoolError> = audited(call, "pool.key_rotate", id, move |tx, actor, now| {
        let (p, key) = pools::rotate_key(tx, actor, &pid, now)?;
        Ok(Change {
            target: p.id.clone(),
            details: json!({
                "name": p.name,
                "previous_key_valid_until_ms": p.previous_key_expires_ms,
            }),
            value: (p, key),
        })
    })
    .await?;
    let (pool, key) = r?;
    Ok(respond::json(200, &pool_with_key(call, &pool, &key)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetachBody {
    reason: String,
}

/// `POST /api/v1/agent-pools/{id}/detach {"reason"}`
async fn pool_detach(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let body: DetachBody = json_body(call)?;
    let pid = id.to_string();
    let r: Result<_, PoolError> = audited(call, "pool.detach", id, move |tx, actor, now| {
        let p = pools::detach(tx, actor, &pid, &body.reason, now)?;
        Ok(Change {
            target: p.id.clone(),
            details: json!({ "name": p.name, "reason": p.detach_reason }),
            value: p,
        })
    })
    .await?;
    if let Ok(p) = &r {
        call.state
            .agents
            .registry
            .disconnect_pool(&p.id, crate::agents::protocol::CloseReason::PolicyViolation);
    }
    Ok(respond::json(200, &pool_json(call, &r?)))
}

/// `POST /api/v1/agent-pools/{id}/enable`
async fn pool_enable(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let pid = id.to_string();
    let r: Result<_, PoolError> = audited(call, "pool.reenable", id, move |tx, actor, now| {
        let p = pools::reenable(tx, actor, &pid, now)?;
        Ok(Change {
            target: p.id.clone(),
            details: json!({ "name": p.name }),
            value: p,
        })
    })
    .await?;
    Ok(respond::json(200, &pool_json(call, &r?)))
}

/// `DELETE /api/v1/agent-pools/{id}`: the Default pool answers 409.
async fn pool_delete(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let pid = id.to_string();
    let connected = call.state.agents.registry.count_in_pool(id);
    let r: Result<_, PoolError> = audited(call, "pool.delete", id, move |tx, actor, _now| {
        let p = pools::delete(tx, actor, &pid, connected)?;
        Ok(Change {
            target: p.id.clone(),
            details: json!({ "name": p.name }),
            value: p,
        })
    })
    .await?;
    Ok(respond::json(200, &pool_json(call, &r?)))
}

// ---- access groups ----

fn group_json(g: &Group) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "is_default": g.is_default(),
        "members": g.members,
        "admins": g.admins,
        "pools": g.pools,
    })
}

/// A group the caller may see (as in the portal); others answer 404.
async fn visible_group(call: &Call, id: &str) -> Result<Group, Error> {
    let user = acting_user(call)?;
    let id = id.to_string();
    let group = call
        .state
        .store
        .read(move |tx| groups::get(tx, &id))
        .await?;
    group
        .filter(|g| super::groups::sees(&user, g))
        .ok_or(Error::NotFound)
}

/// `GET /api/v1/groups`
async fn groups_list(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let user = acting_user(call)?;
    let all = call.state.store.read(groups::list).await?;
    let seen: Vec<&Group> = all
        .iter()
        .filter(|g| super::groups::sees(&user, g))
        .collect();
    let items = seen
        .iter()
        .skip(offset)
        .take(limit)
        .map(|g| group_json(g))
        .collect();
    Ok(list_answer(items, seen.len(), offset, limit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupBody {
    name: Option<String>,
    members: Option<BTreeSet<String>>,
    admins: Option<BTreeSet<String>>,
    pools: Option<BTreeSet<String>>,
}

fn group_details(g: &Group) -> Value {
    json!({ "name": g.name, "members": g.members, "admins": g.admins, "pools": g.pools })
}

/// `POST /api/v1/groups {"name","members"?,"admins"?,"pools"?}`
async fn group_create(call: &Call) -> Result<Response<Body>, Error> {
    let body: GroupBody = json_body(call)?;
    let input = GroupInput {
        name: body.name.unwrap_or_default(),
        members: body.members.unwrap_or_default(),
        admins: body.admins.unwrap_or_default(),
        pools: body.pools.unwrap_or_default(),
    };
    let r: Result<_, GroupError> = audited(call, "group.create", "", move |tx, actor, now| {
        let g = groups::create(tx, actor, &input, now)?;
        Ok(Change {
            target: g.id.clone(),
            details: group_details(&g),
            value: g,
        })
    })
    .await?;
    Ok(respond::json(201, &group_json(&r?)))
}

/// `PATCH /api/v1/groups/{id}`: fields left out keep their value; the domain decides what a
/// Group Admin may change.
async fn group_update(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let body: GroupBody = json_body(call)?;
    let current = visible_group(call, id).await?;
    let input = GroupInput {
        name: body.name.unwrap_or(current.name),
        members: body.members.unwrap_or(current.members),
        admins: body.admins.unwrap_or(current.admins),
        pools: body.pools.unwrap_or(current.pools),
    };
    let gid = id.to_string();
    let r: Result<_, GroupError> = audited(call, "group.update", id, move |tx, actor, now| {
        let g = groups::update(tx, actor, &gid, &input, now)?;
        Ok(Change {
            target: g.id.clone(),
            details: group_details(&g),
            value: g,
        })
    })
    .await?;
    Ok(respond::json(200, &group_json(&r?)))
}

/// `DELETE /api/v1/groups/{id}`: the Default group answers 409.
async fn group_delete(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let gid = id.to_string();
    let r: Result<_, GroupError> = audited(call, "group.delete", id, move |tx, actor, _now| {
        let g = groups::delete(tx, actor, &gid)?;
        Ok(Change {
            target: g.id.clone(),
            details: group_details(&g),
            value: g,
        })
    })
    .await?;
    Ok(respond::json(200, &group_json(&r?)))
}

// ---- temporary access ----

fn grant_json(g: &Grant, now_ms: i64) -> Value {
    let status = match g.revoked_ms {
        Some(_) => "revoked",
        None if g.is_active(now_ms) => "active",
        None => "expired",
    };
    json!({
        "id": g.id,
        "users": g.users,
        "pools": g.pools,
        "roles": g.roles.iter().map(|r| r.id()).collect::<Vec<_>>(),
        "incident": g.incident,
        "created_by": g.created_by,
        "created": time(g.created_ms),
        "expires": time(g.expires_ms),
        "revoked": g.revoked_ms.map(time),
        "status": status,
    })
}

fn grant_details(g: &Grant) -> Value {
    json!({
        "incident": g.incident,
        "users": g.users,
        "pools": g.pools,
        "roles": g.roles,
        "expires_ms": g.expires_ms,
    })
}

/// `GET /api/v1/temp-access`: grants touching a pool in the caller's scope.
async fn grants_list(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let user = acting_user(call)?;
    let now_ms = call.state.clock.now_ms();
    let (all, reach) = call
        .state
        .store
        .read(move |tx| Ok((grants::list(tx)?, scope::pool_scope(tx, &user, now_ms)?)))
        .await?;
    let seen: Vec<&Grant> = all
        .iter()
        .filter(|g| {
            matches!(reach, scope::PoolScope::All) || g.pools.iter().any(|x| reach.contains(x))
        })
        .collect();
    let items = seen
        .iter()
        .skip(offset)
        .take(limit)
        .map(|g| grant_json(g, now_ms))
        .collect();
    Ok(list_answer(items, seen.len(), offset, limit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    users: BTreeSet<String>,
    pools: BTreeSet<String>,
    roles: Vec<String>,
    incident: String,
    /// How long the grant lasts, in hours.
    hours: i64,
}

/// `POST /api/v1/temp-access {"users","pools","roles","incident","hours"}`
async fn grant_create(call: &Call) -> Result<Response<Body>, Error> {
    let body: GrantBody = json_body(call)?;
    let mut roles = BTreeSet::new();
    for r in &body.roles {
        roles.insert(Role::from_id(r).ok_or_else(|| Error::Invalid {
            field: "roles",
            message: format!("{r} is not a role"),
        })?);
    }
    let new = NewGrant {
        users: body.users,
        pools: body.pools,
        roles,
        incident: body.incident,
        duration_ms: body.hours.saturating_mul(3_600_000),
    };
    let r: Result<_, GrantError> = audited(call, "grant.create", "", move |tx, actor, now| {
        let g = grants::create(tx, actor, &new, now)?;
        Ok(Change {
            target: g.id.clone(),
            details: grant_details(&g),
            value: g,
        })
    })
    .await?;
    Ok(respond::json(
        201,
        &grant_json(&r?, call.state.clock.now_ms()),
    ))
}

/// `DELETE /api/v1/temp-access/{id}`: revokes the grant.
async fn grant_revoke(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let gid = id.to_string();
    let r: Result<_, GrantError> = audited(call, "grant.revoke", id, move |tx, actor, now| {
        let g = grants::revoke(tx, actor, &gid, now)?;
        Ok(Change {
            target: g.id.clone(),
            details: grant_details(&g),
            value: g,
        })
    })
    .await?;
    Ok(respond::json(
        200,
        &grant_json(&r?, call.state.clock.now_ms()),
    ))
}

#[cfg(test)]
mod tests {
    use hyper::Method;

    use super::*;
    use crate::http::router::Endpoint;

    /// The documented method and path (below `/api/v1`) of every API endpoint, `None` for
    /// portal routes and the unknown-API fallback. No wildcard arm: a new route does not
    /// compile until someone says where the OpenAPI document describes it.
    fn documented(e: &Endpoint) -> Option<(&'static str, &'static str)> {
        use RestRoute as R;
        match e {
            Endpoint::ApiAuditEvents => Some(("get", "/audit-events")),
            Endpoint::ApiKeysList => Some(("get", "/api-keys")),
            Endpoint::ApiKeyCreate => Some(("post", "/api-keys")),
            Endpoint::ApiKeyRevoke { .. } => Some(("delete", "/api-keys/{id}")),
            Endpoint::Rest(r) => Some(match r {
                R::OpenApi => ("get", "/openapi.json"),
                R::UsersList => ("get", "/users"),
                R::UserCreate => ("post", "/users"),
                R::UserGet(_) => ("get", "/users/{id}"),
                R::UserUpdate(_) => ("patch", "/users/{id}"),
                R::UserDelete(_) => ("delete", "/users/{id}"),
                R::UserMfaReset(_) => ("delete", "/users/{id}/mfa"),
                R::GroupsList => ("get", "/groups"),
                R::GroupCreate => ("post", "/groups"),
                R::GroupGet(_) => ("get", "/groups/{id}"),
                R::GroupUpdate(_) => ("patch", "/groups/{id}"),
                R::GroupDelete(_) => ("delete", "/groups/{id}"),
                R::PoolsList => ("get", "/agent-pools"),
                R::PoolCreate => ("post", "/agent-pools"),
                R::PoolGet(_) => ("get", "/agent-pools/{id}"),
                R::PoolUpdate(_) => ("patch", "/agent-pools/{id}"),
                R::PoolRotate(_) => ("post", "/agent-pools/{id}/keys"),
                R::PoolDetach(_) => ("post", "/agent-pools/{id}/detach"),
                R::PoolEnable(_) => ("post", "/agent-pools/{id}/enable"),
                R::PoolDelete(_) => ("delete", "/agent-pools/{id}"),
                R::GrantsList => ("get", "/temp-access"),
                R::GrantCreate => ("post", "/temp-access"),
                R::GrantRevoke(_) => ("delete", "/temp-access/{id}"),
            }),
            Endpoint::EntitiesApi(r) => {
                use crate::http::api_agents::EntitiesApiRoute as A;
                Some(match r {
                    A::AgentsList => ("get", "/agents"),
                    A::AgentGet(_) => ("get", "/agents/{agent_id}"),
                    A::AgentDisconnect(_) => ("post", "/agents/{agent_id}/disconnect"),
                    A::TagsList => ("get", "/tags"),
                    A::TagDelete(_) => ("delete", "/tags/{name}"),
                    A::SourcesList => ("get", "/custom-sources"),
                    A::SourceCreate => ("post", "/custom-sources"),
                    A::SourceGet(_) => ("get", "/custom-sources/{id}"),
                    A::SourceDelete(_) => ("delete", "/custom-sources/{id}"),
                })
            }
            Endpoint::ApiUnknown
            | Endpoint::Entity(_)
            | Endpoint::Mfa(_)
            | Endpoint::Healthz
            | Endpoint::Asset { .. }
            | Endpoint::Favicon
            | Endpoint::Home
            | Endpoint::SignInForm
            | Endpoint::SignIn
            | Endpoint::SignOut
            | Endpoint::SetupForm
            | Endpoint::Setup
            | Endpoint::Profile
            | Endpoint::ChangePassword
            | Endpoint::Page(_)
            | Endpoint::AuditVerify
            | Endpoint::AuditExport
            | Endpoint::ApiKeyCreateForm
            | Endpoint::ApiKeyRevokeForm { .. }
            | Endpoint::UserNew
            | Endpoint::UserCreate
            | Endpoint::UserDetail(_)
            | Endpoint::UserRoles(_)
            | Endpoint::UserEnabled(..)
            | Endpoint::UserDelete(_)
            | Endpoint::UserActivationLink(_)
            | Endpoint::UserMfaReset(_)
            | Endpoint::RbacMode
            | Endpoint::ActivateForm
            | Endpoint::Activate
            | Endpoint::Pool(_)
            | Endpoint::Group(_)
            | Endpoint::Grant(_)
            | Endpoint::AgentGateway
            | Endpoint::DownloadJavaAgent => None,
            Endpoint::Vulndb(r) => {
                use crate::http::vulndb::VulndbRoute as V;
                match r {
                    V::ApiStatus => Some(("get", "/vulndb")),
                    V::ApiImports => Some(("get", "/vulndb/imports")),
                    V::ApiImport => Some(("post", "/vulndb/imports")),
                    V::Upload => None,
                }
            }
            Endpoint::Actions(r) => {
                use crate::http::actions::ActionsRoute as A;
                match r {
                    A::List => Some(("get", "/actions")),
                    A::Create => Some(("post", "/actions")),
                    A::Validate => Some(("post", "/actions/validate")),
                    A::Get(_) => Some(("get", "/actions/{id}")),
                    A::Delete(_) => Some(("delete", "/actions/{id}")),
                    A::Disable(_) => Some(("post", "/actions/{id}/disable")),
                    A::Enable(_) => Some(("post", "/actions/{id}/enable")),
                    A::Status(_) => Some(("get", "/actions/{id}/status")),
                    A::Snapshots(_) => Some(("get", "/actions/{id}/snapshots")),
                    A::Logs(_) => Some(("get", "/actions/{id}/logs")),
                    A::Metrics(_) => Some(("get", "/actions/{id}/metrics")),
                    A::NewForm
                    | A::FormCreate
                    | A::FormValidate
                    | A::Detail(_)
                    | A::FormDisable(_)
                    | A::FormEnable(_)
                    | A::FormDelete(_)
                    | A::ExplorerLogs
                    | A::ExplorerLogsLive
                    | A::ExplorerMetrics
                    | A::ExplorerExport
                    | A::ExplorerHit(..) => None,
                }
            }
            Endpoint::Reach(r) => {
                use crate::http::reachability::ReachRoute as P;
                match r {
                    P::ApiList => Some(("get", "/reachability/packages")),
                    P::ApiGet(_) => Some(("get", "/reachability/packages/{purl}")),
                    P::Live | P::Package(_) => None,
                }
            }
            Endpoint::Webhooks(r) => {
                use crate::http::webhooks::WebhooksRoute as W;
                match r {
                    W::ApiList => Some(("get", "/webhooks")),
                    W::ApiCreate => Some(("post", "/webhooks")),
                    W::ApiGet(_) => Some(("get", "/webhooks/{id}")),
                    W::ApiUpdate(_) => Some(("patch", "/webhooks/{id}")),
                    W::ApiDelete(_) => Some(("delete", "/webhooks/{id}")),
                    W::ApiTest(_) => Some(("post", "/webhooks/{id}/test")),
                    W::ApiRotate(_) => Some(("post", "/webhooks/{id}/rotate-secret")),
                    W::ApiDeliveries(_) => Some(("get", "/webhooks/{id}/deliveries")),
                    W::Create
                    | W::Detail(_)
                    | W::Update(_)
                    | W::Rotate(_)
                    | W::Test(_)
                    | W::Delete(_) => None,
                }
            }
            Endpoint::Watched(r) => {
                use crate::http::watched::WatchedRoute as W;
                match r {
                    W::ApiList => Some(("get", "/watched-packages")),
                    W::ApiCreate => Some(("post", "/watched-packages")),
                    W::ApiImport => Some(("post", "/watched-packages/import")),
                    W::ApiGet(_) => Some(("get", "/watched-packages/{id}")),
                    W::ApiUpdate(_) => Some(("put", "/watched-packages/{id}")),
                    W::ApiDelete(_) => Some(("delete", "/watched-packages/{id}")),
                    W::Create | W::Import | W::Detail(_) | W::Update(_) | W::Delete(_) => None,
                }
            }
            Endpoint::Sbom(r) => {
                use crate::http::sbom::SbomRoute as S;
                match r {
                    S::Api => Some(("get", "/sbom")),
                    S::Download => None,
                }
            }
            Endpoint::Diagnostics(r) => {
                use crate::http::diagnostics::DiagnosticsRoute as D;
                match r {
                    D::ApiGet => Some(("get", "/diagnostics")),
                    D::ApiBundle => Some(("get", "/diagnostics/bundle")),
                    D::ApiSbom => Some(("get", "/diagnostics/sbom")),
                    D::Bundle | D::Sbom => None,
                }
            }
            Endpoint::ServiceConfig(r) => {
                use crate::http::service_config::ServiceConfigRoute as S;
                match r {
                    S::ApiGet => Some(("get", "/settings/service")),
                    S::ApiPut => Some(("put", "/settings/service")),
                    S::Save => None,
                }
            }
            Endpoint::Security(r) => {
                use crate::http::security_settings::SecurityRoute as S;
                match r {
                    S::ApiList => Some(("get", "/pii-patterns")),
                    S::ApiCreate => Some(("post", "/pii-patterns")),
                    S::ApiGet(_) => Some(("get", "/pii-patterns/{id}")),
                    S::ApiUpdate(_) => Some(("put", "/pii-patterns/{id}")),
                    S::ApiDelete(_) => Some(("delete", "/pii-patterns/{id}")),
                    S::ApiLibrary => Some(("get", "/pii-patterns/library")),
                    S::ApiAssignments => Some(("get", "/pii-patterns/assignments")),
                    S::ApiAssign(_) => Some(("put", "/pii-patterns/assignments/{pool_id}")),
                    S::ApiTest => Some(("post", "/pii-patterns/test")),
                    S::ApiBlocklist => Some(("get", "/blocklist")),
                    S::ApiBlocklistPut => Some(("put", "/blocklist")),
                    S::ApiBlocklistTest => Some(("post", "/blocklist/test")),
                    S::PiiCreate
                    | S::PiiDetail(_)
                    | S::PiiUpdate(_)
                    | S::PiiDelete(_)
                    | S::PiiAssign
                    | S::PiiTest
                    | S::BlocklistSave
                    | S::BlocklistTest => None,
                }
            }
        }
    }

    /// One of every API endpoint. When a variant is added above, add it here too: the
    /// count check below fails until the document and this list agree.
    fn api_samples() -> Vec<Endpoint> {
        use RestRoute as R;
        let x = || "x1".to_string();
        let mut v = vec![
            Endpoint::ApiAuditEvents,
            Endpoint::ApiKeysList,
            Endpoint::ApiKeyCreate,
            Endpoint::ApiKeyRevoke { id: x() },
        ];
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
        {
            use crate::http::api_agents::EntitiesApiRoute as A;
            v.extend(
                [
                    A::AgentsList,
                    A::AgentGet(x()),
                    A::AgentDisconnect(x()),
                    A::TagsList,
                    A::TagDelete(x()),
                    A::SourcesList,
                    A::SourceCreate,
                    A::SourceGet(x()),
                    A::SourceDelete(x()),
                ]
                .map(Endpoint::EntitiesApi),
            );
        }
        {
            use crate::http::vulndb::VulndbRoute as V;
            v.extend([V::ApiStatus, V::ApiImports, V::ApiImport].map(Endpoint::Vulndb));
        }
        {
            use crate::http::webhooks::WebhooksRoute as W;
            v.extend(
                [
                    W::ApiList,
                    W::ApiCreate,
                    W::ApiGet(x()),
                    W::ApiUpdate(x()),
                    W::ApiDelete(x()),
                    W::ApiTest(x()),
                    W::ApiRotate(x()),
                    W::ApiDeliveries(x()),
                ]
                .map(Endpoint::Webhooks),
            );
        }
        {
            use crate::http::reachability::ReachRoute as P;
            v.extend([P::ApiList, P::ApiGet(x())].map(Endpoint::Reach));
        }
        {
            use crate::http::watched::WatchedRoute as W;
            v.extend(
                [
                    W::ApiList,
                    W::ApiCreate,
                    W::ApiImport,
                    W::ApiGet(x()),
                    W::ApiUpdate(x()),
                    W::ApiDelete(x()),
                ]
                .map(Endpoint::Watched),
            );
        }
        v.push(Endpoint::Sbom(crate::http::sbom::SbomRoute::Api));
        {
            use crate::http::diagnostics::DiagnosticsRoute as D;
            v.extend([D::ApiGet, D::ApiBundle, D::ApiSbom].map(Endpoint::Diagnostics));
        }
        {
            use crate::http::service_config::ServiceConfigRoute as S;
            v.extend([S::ApiGet, S::ApiPut].map(Endpoint::ServiceConfig));
        }
        {
            use crate::http::actions::ActionsRoute as A;
            v.extend(
                [
                    A::List,
                    A::Create,
                    A::Get(x()),
                    A::Delete(x()),
                    A::Status(x()),
                    A::Snapshots(x()),
                    A::Logs(x()),
                    A::Metrics(x()),
                    A::Validate,
                    A::Disable(x()),
                    A::Enable(x()),
                ]
                .map(Endpoint::Actions),
            );
        }
        {
            use crate::http::security_settings::SecurityRoute as S;
            v.extend(
                [
                    S::ApiList,
                    S::ApiCreate,
                    S::ApiGet(x()),
                    S::ApiUpdate(x()),
                    S::ApiDelete(x()),
                    S::ApiLibrary,
                    S::ApiAssignments,
                    S::ApiAssign(x()),
                    S::ApiTest,
                    S::ApiBlocklist,
                    S::ApiBlocklistPut,
                    S::ApiBlocklistTest,
                ]
                .map(Endpoint::Security),
            );
        }
        v
    }

    /// A documented path with every `{parameter}` replaced by `x1`.
    fn concrete(path: &str) -> String {
        let mut out = String::from("/api/v1");
        for segment in path.split('/').skip(1) {
            out.push('/');
            if segment.starts_with('{') && segment.ends_with('}') {
                out.push_str("x1");
            } else {
                out.push_str(segment);
            }
        }
        out
    }

    fn operations() -> Vec<(String, String)> {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.push((method.clone(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn every_documented_operation_is_a_route() {
        for (method, path) in operations() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let concrete = concrete(&path);
            let e = Endpoint::parse(&m, &concrete).unwrap();
            assert_ne!(
                e,
                Endpoint::ApiUnknown,
                "{method} {path} is documented but not routed"
            );
            assert_eq!(
                documented(&e),
                Some((method.as_str(), path.as_str())),
                "{method} {path} routes to {e:?}"
            );
        }
    }

    #[test]
    fn every_api_route_is_documented() {
        let ops = operations();
        let samples = api_samples();
        for e in &samples {
            let (method, path) = documented(e).unwrap();
            assert!(
                ops.iter().any(|(m, p)| m == method && p == path),
                "{method} {path} ({e:?}) is missing from openapi.json"
            );
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let concrete = concrete(path);
            assert_eq!(Endpoint::parse(&m, &concrete).as_ref(), Ok(e), "{concrete}");
        }
        assert_eq!(
            samples.len(),
            ops.len(),
            "one sample per documented operation"
        );
    }

    #[test]
    fn the_document_resolves_its_references() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        let text = OPENAPI;
        for (at, _) in text.match_indices("\"$ref\": \"#/") {
            let rest = &text[at + 10..];
            let end = rest.find('"').unwrap();
            let pointer = &rest[..end];
            assert!(doc.pointer(pointer).is_some(), "dangling $ref {pointer}");
        }
        assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
    }
}
