//! Actions over the REST API: `GET /api/v1/actions` (those in the caller's scope),
//! `POST /api/v1/actions`, `GET`/`DELETE /api/v1/actions/{id}`, and an action's results:
//! `/status` (per agent, with reasons), `/snapshots`, `/logs` and `/metrics`.
//!
//! Scope (`ROLES.md`): a caller limited to some pools makes actions that reach only agents of
//! those pools (the action keeps that scope), sees only actions whose scope or pool target
//! meets theirs, and gets 404 for the rest. Deleting another user's action needs "Actions:
//! delete others'"; ignoring quotas needs "Ignore quotas". Creation and deletion are audited
//! (`action.create`, `action.delete`) in the same transaction as the change.

use hyper::Response;
use serde_json::{Value, json};

use super::admin::{Change, Refusal, acting_user, audited};
use super::api::{list_answer, paging, time};
use super::api_iam::json_body;
use super::handler::Call;
use super::respond::{self, Body};
use super::router::object_id;
use crate::actions::live::AgentStatus;
use crate::actions::model::{Action, Caps, FieldError, NewAction, Origin, TargetKind};
use crate::actions::records;
use crate::error::Error;
use crate::iam::roles::{self, Need, Permission};
use crate::iam::scope::{self, PoolScope};
use crate::iam::tokens;
use crate::security::audit::{AuditEvent, Outcome};
use crate::store::StoreError;

/// The action routes of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionsRoute {
    /// `GET /api/v1/actions`
    List,
    /// `POST /api/v1/actions`
    Create,
    /// `GET /api/v1/actions/{id}`
    Get(String),
    /// `DELETE /api/v1/actions/{id}`
    Delete(String),
    /// `GET /api/v1/actions/{id}/status`
    Status(String),
    /// `GET /api/v1/actions/{id}/snapshots`
    Snapshots(String),
    /// `GET /api/v1/actions/{id}/logs`
    Logs(String),
    /// `GET /api/v1/actions/{id}/metrics`
    Metrics(String),
}

impl ActionsRoute {
    /// The route for a method and the path segments after `/api/v1/`, if it is one of these.
    pub fn parse(method: &str, path: &[&str]) -> Option<ActionsRoute> {
        use ActionsRoute as R;
        match (method, path) {
            ("GET" | "HEAD", ["actions"]) => Some(R::List),
            ("POST", ["actions"]) => Some(R::Create),
            ("GET" | "HEAD", ["actions", id]) => object_id(id).map(R::Get),
            ("DELETE", ["actions", id]) => object_id(id).map(R::Delete),
            ("GET" | "HEAD", ["actions", id, "status"]) => object_id(id).map(R::Status),
            ("GET" | "HEAD", ["actions", id, "snapshots"]) => object_id(id).map(R::Snapshots),
            ("GET" | "HEAD", ["actions", id, "logs"]) => object_id(id).map(R::Logs),
            ("GET" | "HEAD", ["actions", id, "metrics"]) => object_id(id).map(R::Metrics),
            _ => None,
        }
    }

    /// The permission each route needs; scope and ownership are checked by the handlers.
    pub fn access(&self) -> (Permission, Need) {
        use ActionsRoute as R;
        match self {
            R::List | R::Get(_) | R::Status(_) => (Permission::Actions, Need::View),
            R::Create | R::Delete(_) => (Permission::Actions, Need::Change),
            R::Snapshots(_) | R::Logs(_) | R::Metrics(_) => {
                (Permission::SnapshotsAndLogs, Need::View)
            }
        }
    }
}

/// Why a create or delete was refused (audited as a failure).
#[derive(Debug, thiserror::Error)]
enum ActionError {
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    #[error("no such action")]
    NotFound,
}

impl Refusal for ActionError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            ActionError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

/// Serves one route.
pub async fn handle(call: &Call, route: ActionsRoute) -> Result<Response<Body>, Error> {
    use ActionsRoute as R;
    match route {
        R::List => list(call).await,
        R::Create => create(call).await,
        R::Get(id) => {
            let a = visible(call, &id).await?;
            let statuses = call.state.agents.actions.statuses(&a.id);
            Ok(respond::json(200, &action_json(call, &a, Some(&statuses))))
        }
        R::Delete(id) => delete(call, &id).await,
        R::Status(id) => {
            let a = visible(call, &id).await?;
            let items: Vec<Value> = call
                .state
                .agents
                .actions
                .statuses(&a.id)
                .iter()
                .map(status_json)
                .collect();
            let n = items.len();
            Ok(list_answer(items, n, 0, n.max(1)))
        }
        R::Snapshots(id) => {
            let a = visible(call, &id).await?;
            let (offset, limit) = paging(call)?;
            let all = call
                .state
                .store
                .read(move |tx| records::snapshots(tx, &a.id))
                .await?;
            let items = all
                .iter()
                .skip(offset)
                .take(limit)
                .map(|s| {
                    json!({"seq": s.seq, "time": time(s.time_ms), "agent_id": s.from.agent_id,
                       "agent_name": s.from.agent_name, "pool_id": s.from.pool_id,
                       "tags": s.from.tags, "thread": s.thread, "frames": s.frames,
                       "this": s.this, "locals": s.locals, "watches": s.watches,
                       "truncated": s.truncated})
                })
                .collect();
            Ok(list_answer(items, all.len(), offset, limit))
        }
        R::Logs(id) => {
            let a = visible(call, &id).await?;
            let (offset, limit) = paging(call)?;
            let all = call
                .state
                .store
                .read(move |tx| records::logs(tx, &a.id))
                .await?;
            let items = all
                .iter()
                .skip(offset)
                .take(limit)
                .map(|l| {
                    json!({"seq": l.seq, "time": time(l.time_ms), "agent_id": l.from.agent_id,
                       "agent_name": l.from.agent_name, "level": l.level, "thread": l.thread,
                       "text": l.text})
                })
                .collect();
            Ok(list_answer(items, all.len(), offset, limit))
        }
        R::Metrics(id) => {
            let a = visible(call, &id).await?;
            let points = call.state.agents.actions.metric_points(&a.id);
            let n = points.len();
            let items: Vec<Value> = points
                .iter()
                .map(|p| {
                    json!({"agent_id": p.agent_id, "end": time(p.end_ms),
                       "interval_ms": p.interval_ms, "count": p.count, "sum": p.sum,
                       "min": p.min, "max": p.max})
                })
                .collect();
            Ok(list_answer(items, n, 0, n.max(1)))
        }
    }
}

/// `GET /entities/actions`: every action in the viewer's scope with each agent's status.
pub async fn list_page(call: &Call) -> Result<Response<Body>, Error> {
    let p = super::admin::principal(call)?;
    let all = in_scope_newest_first(call).await?;
    let live = &call.state.agents.actions;
    let rows: Vec<crate::ui::pages::actions::ActionRow> = all
        .into_iter()
        .take(PAGE_ROWS)
        .map(|action| crate::ui::pages::actions::ActionRow {
            active: live.is_active(&action.id),
            statuses: live.statuses(&action.id),
            action,
        })
        .collect();
    let now = call.state.clock.now_ms();
    let markup = super::portal::framed(&call.state, p, &call.path, |ctx| {
        crate::ui::pages::actions::list(ctx, &rows, now)
    });
    Ok(respond::html(200, markup))
}

/// Actions shown on the page (newest first); the API pages through the rest.
const PAGE_ROWS: usize = 500;

/// The caller's pool scope.
async fn scope_of(call: &Call) -> Result<PoolScope, Error> {
    let user = acting_user(call)?;
    let now = call.state.clock.now_ms();
    Ok(call
        .state
        .store
        .read(move |tx| scope::pool_scope(tx, &user, now))
        .await?)
}

/// Whether a caller with `scope` may see `a`.
fn in_scope(scope: &PoolScope, a: &Action) -> bool {
    match scope {
        PoolScope::All => true,
        PoolScope::Only(pools) => {
            a.scope_pools
                .as_ref()
                .is_some_and(|p| p.iter().any(|x| pools.contains(x)))
                || (a.target.kind == TargetKind::Pool && pools.contains(&a.target.id))
        }
    }
}

/// The action, if it exists and the caller's scope reaches it; 404 otherwise.
async fn visible(call: &Call, id: &str) -> Result<Action, Error> {
    let scope = scope_of(call).await?;
    let id = id.to_string();
    let a = call
        .state
        .store
        .read(move |tx| records::get(tx, &id))
        .await?
        .ok_or(Error::NotFound)?;
    if in_scope(&scope, &a) {
        Ok(a)
    } else {
        Err(Error::NotFound)
    }
}

/// Every action the caller's scope reaches, newest first (the page and the API list).
async fn in_scope_newest_first(call: &Call) -> Result<Vec<Action>, Error> {
    let scope = scope_of(call).await?;
    let mut all = call.state.store.read(records::list).await?;
    all.retain(|a| in_scope(&scope, a));
    all.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.id.cmp(&b.id)));
    Ok(all)
}

async fn list(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let all = in_scope_newest_first(call).await?;
    let items = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|a| action_json(call, a, None))
        .collect();
    Ok(list_answer(items, all.len(), offset, limit))
}

fn field_errors(errors: &[FieldError]) -> Response<Body> {
    let message = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    respond::json(
        400,
        &json!({"error": {"code": "invalid", "message": message, "fields": errors}}),
    )
}

async fn create(call: &Call) -> Result<Response<Body>, Error> {
    let new: NewAction = json_body(call)?;
    let user = acting_user(call)?;
    if new.ignore_quota == Some(true)
        && !roles::allows(&user.roles, Permission::IgnoreQuotas, Need::Change)
    {
        return Ok(field_errors(&[FieldError {
            field: "ignore_quota".into(),
            message: "your roles may not ignore quotas".into(),
        }]));
    }
    let id = format!("a{}", tokens::hex(&tokens::random_bytes::<8>()));
    let now = call.state.clock.now_ms();
    let mut action = match new.validate(Origin::Api, &Caps::default(), id, user.email.clone(), now)
    {
        Ok(a) => a,
        Err(errors) => return Ok(field_errors(&errors)),
    };
    if let Some(refusal) = blocked(call, &action).await {
        return Ok(refusal);
    }
    let scope = scope_of(call).await?;
    action.scope_pools = match &scope {
        PoolScope::All => None,
        PoolScope::Only(p) => Some(p.iter().cloned().collect()),
    };
    // A target the caller cannot reach is answered like one that does not exist.
    let reachable = match action.target.kind {
        TargetKind::Pool => scope.contains(&action.target.id),
        TargetKind::Agent => match call.state.agents.registry.find(&action.target.id) {
            Some(agent) => scope.contains(&agent.pool_id),
            // An agent not connected now: known agents are checked against history.
            None => {
                let agent_id = action.target.id.clone();
                let pool = call
                    .state
                    .store
                    .read(move |tx| crate::agents::history::get(tx, &agent_id))
                    .await?;
                pool.is_some_and(|r| scope.contains(&r.pool_id))
            }
        },
        TargetKind::Tag | TargetKind::CustomSource => true,
    };
    if !reachable {
        return Ok(field_errors(&[FieldError {
            field: "target".into(),
            message: format!(
                "no {} {:?} in your pools",
                target_kind(action.target.kind),
                action.target.id
            ),
        }]));
    }
    let stored = action.clone();
    let created = audited(call, "action.create", action.id.clone(), move |tx, _, _| {
        records::put(tx, &stored)?;
        Ok::<_, ActionError>(Change {
            value: (),
            target: stored.id.clone(),
            details: json!({"type": stored.kind.as_str(), "location": stored.location,
                            "target": stored.target}),
        })
    })
    .await?;
    if let Err(e) = created {
        return Err(Error::BadRequest(e.to_string()));
    }
    call.state.agents.actions.added(action.clone()).await;
    Ok(respond::json(201, &action_json(call, &action, Some(&[]))))
}

/// The blocklist's answer to a new action: `None` when its location (and end) may be probed,
/// else the refusal, with the rule named, after an `action.blocked` audit record.
async fn blocked(call: &Call, action: &Action) -> Option<Response<Body>> {
    let list = call.state.agents.config.blocklist();
    let (field, rule) = [
        ("location", Some(&action.location)),
        ("end", action.end.as_ref()),
    ]
    .into_iter()
    .find_map(|(field, loc)| Some((field, list.blocked(loc?)?.to_string())))?;
    let message = format!("blocked by the blocklist: {rule}");
    call.audit(
        AuditEvent::new("action.blocked", call.actor(), Outcome::Denied)
            .target(action.id.clone())
            .details(
                json!({"type": action.kind.as_str(), "location": action.location,
                            "end": action.end, "rule": rule}),
            ),
    )
    .await;
    Some(respond::json(
        400,
        &json!({"error": {"code": "blocked_location", "message": format!("{field}: {message}"),
                          "fields": [{"field": field, "message": message, "code": "blocked_location"}]}}),
    ))
}

async fn delete(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let a = visible(call, id).await?;
    let user = acting_user(call)?;
    if a.author != user.email
        && !roles::allows(&user.roles, Permission::OthersActions, Need::Change)
    {
        return Err(Error::Forbidden(
            "this action is another user's; your roles may delete only your own".into(),
        ));
    }
    let target = a.id.clone();
    let done = audited(call, "action.delete", target.clone(), move |tx, _, _| {
        if !records::delete(tx, &target)? {
            return Err(ActionError::NotFound);
        }
        Ok(Change {
            value: (),
            target: target.clone(),
            details: json!({}),
        })
    })
    .await?;
    match done {
        Ok(()) => {
            call.state.agents.actions.removed(&a.id).await;
            call.state.agents.actions.forget(&a.id);
            Ok(respond::json(200, &json!({"deleted": a.id})))
        }
        Err(ActionError::NotFound) => Err(Error::NotFound),
        Err(e) => Err(Error::Conflict(e.to_string())),
    }
}

fn target_kind(k: TargetKind) -> &'static str {
    match k {
        TargetKind::Agent => "agent",
        TargetKind::Tag => "tag",
        TargetKind::CustomSource => "custom source",
        TargetKind::Pool => "pool",
    }
}

fn status_json(s: &AgentStatus) -> Value {
    json!({"agent_id": s.agent_id, "agent_name": s.agent_name, "status": s.status,
           "message": s.message, "resolved": s.resolved, "at": time(s.at_ms)})
}

/// An action as the API shows it.
fn action_json(call: &Call, a: &Action, statuses: Option<&[AgentStatus]>) -> Value {
    let live = call.state.agents.actions.is_active(&a.id);
    let now = call.state.clock.now_ms();
    let mut v = json!({
        "id": a.id,
        "type": a.kind.as_str(),
        "location": a.location,
        "end": a.end,
        "target": a.target,
        "condition": a.condition.as_ref().map(|c| &c.text),
        "expressions": a.watches.iter().map(|w| &w.text).collect::<Vec<_>>(),
        "template": a.template.as_ref().map(|t| &t.0),
        "level": a.template.as_ref().map(|_| a.level),
        "outputs": a.template.as_ref().map(|_| &a.outputs),
        "value": a.value.as_ref().map(|v| &v.text),
        "max_hits": a.max_hits,
        "expires_at": time(a.expires_at_ms),
        "state": if live { "active" } else if a.expires_at_ms <= now { "expired" } else { "inactive" },
        "ignore_quota": a.ignore_quota,
        "author": a.author,
        "created": time(a.created_ms),
        "updated": time(a.updated_ms),
    });
    if let (Some(statuses), Some(m)) = (statuses, v.as_object_mut()) {
        m.insert(
            "agents".into(),
            Value::Array(statuses.iter().map(status_json).collect()),
        );
    }
    v
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        use ActionsRoute as R;
        assert_eq!(R::parse("GET", &["actions"]), Some(R::List));
        assert_eq!(R::parse("POST", &["actions"]), Some(R::Create));
        assert_eq!(
            R::parse("GET", &["actions", "a1f", "snapshots"]),
            Some(R::Snapshots("a1f".into()))
        );
        assert_eq!(
            R::parse("DELETE", &["actions", "a1f"]),
            Some(R::Delete("a1f".into()))
        );
        assert_eq!(
            R::parse("GET", &["actions", "a-1"]),
            None,
            "ids are alphanumeric"
        );
        assert_eq!(R::parse("PUT", &["actions", "a1"]), None);
    }
}
