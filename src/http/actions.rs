//! Actions over the REST API: `GET /api/v1/actions` (those in the caller's scope),
//! `POST /api/v1/actions`, `POST /api/v1/actions/validate` (the same checks, nothing stored),
//! `GET`/`DELETE /api/v1/actions/{id}`, `POST /api/v1/actions/{id}/disable` and `/enable`, and
//! an action's results: `/status` (per agent, with reasons), `/snapshots`, `/logs` and
//! `/metrics`. The portal's Entities › Actions pages (list, "New action" form with its
//! validation endpoint, one action's page with disable/enable/delete) go through the same
//! functions, so the API and the form share one set of rules; the Data Explorer's routes are
//! parsed here and served by `http::data_explorer`.
//!
//! Scope (`ROLES.md`): a caller limited to some pools makes actions that reach only agents of
//! those pools (the action keeps that scope), sees only actions whose scope or pool target
//! meets theirs, and gets 404 for the rest. Deleting or disabling another user's action needs
//! "Actions: delete others'"; ignoring quotas needs "Ignore quotas". Creation, deletion,
//! disabling and enabling are audited (`action.create`, `action.delete`, `action.disable`,
//! `action.enable`) in the same transaction as the change.

use hyper::Response;
use serde_json::{Value, json};

use super::admin::{Change, Refusal, acting_user, audited};
use super::api::{list_answer, paging, time};
use super::api_iam::json_body;
use super::handler::Call;
use super::respond::{self, Body};
use super::router::{NoRoute, object_id};
use crate::actions::live::AgentStatus;
use crate::actions::model::{Action, FieldError, NewAction, Origin, TargetKind};
use crate::actions::records;
use crate::error::Error;
use crate::iam::roles::{self, Need, Permission};
use crate::iam::scope::{self, PoolScope};
use crate::iam::tokens;
use crate::security::audit::{AuditEvent, Outcome};
use crate::store::StoreError;
use crate::ui::components::FormErrors;
use crate::ui::pages::actions::{self as page, ActionForm, ActionRow, BASE};

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
    /// `POST /api/v1/actions/validate`: the create checks without creating.
    Validate,
    /// `POST /api/v1/actions/{id}/disable`
    Disable(String),
    /// `POST /api/v1/actions/{id}/enable`
    Enable(String),
    /// `GET /entities/actions/new`: the form (`?target=agent:ID` pre-fills the target).
    NewForm,
    /// `POST /entities/actions`: the form's submission.
    FormCreate,
    /// `POST /entities/actions/validate`: the form's errors as JSON, for the script.
    FormValidate,
    /// `GET /entities/actions/{id}`: one action's page.
    Detail(String),
    /// `POST /entities/actions/{id}/disable`
    FormDisable(String),
    /// `POST /entities/actions/{id}/enable`
    FormEnable(String),
    /// `POST /entities/actions/{id}/delete`
    FormDelete(String),
    /// `GET /data-explorer/logs`: log lines, following live.
    ExplorerLogs,
    /// `GET /data-explorer/logs/live`: the log region as server-sent events.
    ExplorerLogsLive,
    /// `GET /data-explorer/metrics`: charts of counters, tic-tocs, durations and metrics.
    ExplorerMetrics,
    /// `GET /data-explorer/export?kind=snapshots|logs&format=csv|json` with the list filters.
    ExplorerExport,
    /// `GET /data-explorer/snapshots/{action}/{seq}`: one hit.
    ExplorerHit(String, u64),
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
            ("POST", ["actions", "validate"]) => Some(R::Validate),
            ("POST", ["actions", id, "disable"]) => object_id(id).map(R::Disable),
            ("POST", ["actions", id, "enable"]) => object_id(id).map(R::Enable),
            _ => None,
        }
    }

    /// The portal routes: below `/entities/actions` (the list itself is a navigation page) and
    /// below `/data-explorer`.
    pub fn parse_portal(
        get: bool,
        post: bool,
        path: &str,
    ) -> Option<Result<ActionsRoute, NoRoute>> {
        use ActionsRoute as R;
        let only = |ok: bool, r: R| Some(if ok { Ok(r) } else { Err(NoRoute::Method) });
        if path == BASE {
            return post.then_some(Ok(R::FormCreate));
        }
        if let Some(rest) = path.strip_prefix("/data-explorer/") {
            return match rest.split('/').collect::<Vec<_>>().as_slice() {
                ["logs"] => only(get, R::ExplorerLogs),
                ["logs", "live"] => only(get, R::ExplorerLogsLive),
                ["metrics"] => only(get, R::ExplorerMetrics),
                ["export"] => only(get, R::ExplorerExport),
                ["snapshots", id, seq] => {
                    let hit = object_id(id).zip(seq.parse().ok())?;
                    only(get, R::ExplorerHit(hit.0, hit.1))
                }
                _ => None,
            };
        }
        let rest = path.strip_prefix(BASE)?.strip_prefix('/')?;
        let (id, verb) = rest.split_once('/').unwrap_or((rest, ""));
        match (id, verb) {
            ("new", "") => return only(get, R::NewForm),
            ("validate", "") => return only(post, R::FormValidate),
            _ => {}
        }
        let id = object_id(id)?;
        match verb {
            "" => only(get, R::Detail(id)),
            "disable" => only(post, R::FormDisable(id)),
            "enable" => only(post, R::FormEnable(id)),
            "delete" => only(post, R::FormDelete(id)),
            _ => None,
        }
    }

    /// Whether the route answers JSON to API keys (the rest are portal pages).
    pub fn is_api(&self) -> bool {
        use ActionsRoute as R;
        matches!(
            self,
            R::List
                | R::Create
                | R::Get(_)
                | R::Delete(_)
                | R::Status(_)
                | R::Snapshots(_)
                | R::Logs(_)
                | R::Metrics(_)
                | R::Validate
                | R::Disable(_)
                | R::Enable(_)
        )
    }

    /// Whether the page makes this request by itself (a live region's stream).
    pub fn is_background(&self) -> bool {
        matches!(self, ActionsRoute::ExplorerLogsLive)
    }

    /// The permission each route needs; scope and ownership are checked by the handlers.
    pub fn access(&self) -> (Permission, Need) {
        use ActionsRoute as R;
        match self {
            R::List | R::Get(_) | R::Status(_) | R::Detail(_) => (Permission::Actions, Need::View),
            R::Create
            | R::Delete(_)
            | R::Validate
            | R::Disable(_)
            | R::Enable(_)
            | R::NewForm
            | R::FormCreate
            | R::FormValidate
            | R::FormDisable(_)
            | R::FormEnable(_)
            | R::FormDelete(_) => (Permission::Actions, Need::Change),
            R::Snapshots(_)
            | R::Logs(_)
            | R::Metrics(_)
            | R::ExplorerLogs
            | R::ExplorerLogsLive
            | R::ExplorerMetrics
            | R::ExplorerExport
            | R::ExplorerHit(..) => (Permission::SnapshotsAndLogs, Need::View),
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
    #[error("the action is already {0}")]
    Unchanged(&'static str),
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
        R::Create => create_api(call).await,
        R::Get(id) => {
            let a = visible(call, &id).await?;
            let statuses = call.state.agents.actions.statuses(&a.id);
            Ok(respond::json(200, &action_json(call, &a, Some(&statuses))))
        }
        R::Delete(id) => {
            let a = delete(call, &id).await?;
            Ok(respond::json(200, &json!({"deleted": a.id})))
        }
        R::Validate => {
            let new: NewAction = json_body(call)?;
            match check(call, &new, Origin::Api).await? {
                Ok(a) => Ok(respond::json(
                    200,
                    &json!({"valid": true, "action": a.wire()}),
                )),
                Err(errors) => Ok(field_errors(&errors)),
            }
        }
        R::Disable(id) => toggle_api(call, &id, true).await,
        R::Enable(id) => toggle_api(call, &id, false).await,
        R::NewForm => {
            let mut form = ActionForm::default();
            if let Some(t) = call.query.filled("target") {
                form.target = t;
            }
            form_page(call, &form, &FormErrors::none()).await
        }
        R::FormCreate => {
            let form = form_of(call);
            let (new, pre) = request_of(&form);
            let result = if pre.is_empty() {
                create(call, &new, Origin::Portal).await?
            } else {
                Err(check(call, &new, Origin::Portal)
                    .await?
                    .err()
                    .unwrap_or_default())
            };
            match result {
                Ok(a) => Ok(respond::redirect(&page::detail_path(&a.id))),
                Err(errors) => {
                    let errors = form_errors(&form, &pre, &errors);
                    form_page(call, &form, &errors).await
                }
            }
        }
        R::FormValidate => {
            let form = form_of(call);
            let (new, pre) = request_of(&form);
            let errors = match check(call, &new, Origin::Portal).await? {
                Ok(_) => Vec::new(),
                Err(e) => e,
            };
            let errors = form_errors(&form, &pre, &errors);
            let fields: Vec<Value> = errors
                .fields
                .iter()
                .map(|(f, m)| json!({"field": f, "message": m}))
                .collect();
            Ok(respond::json(
                200,
                &json!({"valid": fields.is_empty(), "errors": fields}),
            ))
        }
        R::Detail(id) => detail_page(call, &id, None).await,
        R::FormDisable(id) => {
            set_disabled(call, &id, true).await?;
            detail_page(
                call,
                &id,
                Some("The action is disabled: it was taken off its agents."),
            )
            .await
        }
        R::FormEnable(id) => {
            set_disabled(call, &id, false).await?;
            detail_page(
                call,
                &id,
                Some("The action is enabled: it was sent to its agents again."),
            )
            .await
        }
        R::FormDelete(id) => {
            delete(call, &id).await?;
            Ok(respond::redirect(BASE))
        }
        R::ExplorerLogs
        | R::ExplorerLogsLive
        | R::ExplorerMetrics
        | R::ExplorerExport
        | R::ExplorerHit(..) => super::data_explorer::handle(call, route).await,
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
            let (points, hours) = call.state.agents.actions.metric_series(&a.id);
            let n = points.len();
            let items: Vec<Value> = points
                .iter()
                .map(|p| {
                    json!({"agent_id": p.agent_id, "end": time(p.end_ms),
                       "interval_ms": p.interval_ms, "count": p.count, "sum": p.sum,
                       "min": p.min, "max": p.max})
                })
                .collect();
            let hourly: Vec<Value> = hours
                .iter()
                .map(|h| {
                    json!({"hour": time(h.hour_ms), "points": h.points, "count": h.count,
                       "sum": h.sum, "min": h.min, "max": h.max})
                })
                .collect();
            // The list shape of every collection, plus the roll-ups of the hours before the
            // full-resolution window.
            Ok(respond::json(
                200,
                &json!({"items": items, "total": n, "offset": 0, "limit": n.max(1),
                        "window_s": call.state.settings.get().metric_window_s,
                        "hourly": hourly}),
            ))
        }
    }
}

/// `GET /entities/actions`: every action in the viewer's scope with each agent's status.
pub async fn list_page(call: &Call) -> Result<Response<Body>, Error> {
    let p = super::admin::principal(call)?;
    let all = in_scope_newest_first(call).await?;
    let mut rows = Vec::new();
    for action in all.into_iter().take(PAGE_ROWS) {
        rows.push(row_of(call, action).await?);
    }
    let now = call.state.clock.now_ms();
    let can_create = roles::allows(&p.user.roles, Permission::Actions, Need::Change);
    let markup = super::portal::framed(&call.state, p, &call.path, |ctx| {
        page::list(ctx, &rows, can_create, now)
    });
    Ok(respond::html(200, markup))
}

/// An action with its statuses and hits, as the pages show it.
pub(crate) async fn row_of(call: &Call, action: Action) -> Result<ActionRow, Error> {
    let live = &call.state.agents.actions;
    let id = action.id.clone();
    let hits = call
        .state
        .store
        .read(move |tx| records::hit_counts(tx, &id))
        .await?;
    Ok(ActionRow {
        active: live.is_active(&action.id),
        statuses: live.statuses(&action.id),
        metric_hits: live.metric_points(&action.id).iter().map(|p| p.count).sum(),
        hits,
        action,
    })
}

async fn detail_page(call: &Call, id: &str, notice: Option<&str>) -> Result<Response<Body>, Error> {
    let p = super::admin::principal(call)?;
    let a = visible(call, id).await?;
    let can_change = may_change(&p.user, &a);
    let row = row_of(call, a).await?;
    let view = page::DetailView {
        row: &row,
        can_change,
        notice,
        now_ms: call.state.clock.now_ms(),
    };
    let markup = super::portal::framed(&call.state, p, BASE, |ctx| page::detail(ctx, &view));
    Ok(respond::html(200, markup))
}

/// Whether `user` may disable, enable or delete `a`: their own with "create / disable /
/// delete own", another's with "delete others'" as well.
fn may_change(user: &crate::iam::users::User, a: &Action) -> bool {
    roles::allows(&user.roles, Permission::Actions, Need::Change)
        && (a.author == user.email
            || roles::allows(&user.roles, Permission::OthersActions, Need::Change))
}

async fn form_page(
    call: &Call,
    form: &ActionForm,
    errors: &FormErrors,
) -> Result<Response<Body>, Error> {
    let p = super::admin::principal(call)?;
    let targets = target_choices(call).await?;
    let view = page::FormView {
        form,
        errors,
        targets: &targets,
        may_ignore_quota: roles::allows(&p.user.roles, Permission::IgnoreQuotas, Need::Change),
    };
    let markup = super::portal::framed(&call.state, p, BASE, |ctx| page::form(ctx, &view));
    Ok(respond::html(
        if errors.is_empty() { 200 } else { 400 },
        markup,
    ))
}

/// Most choices of each kind in the form's target list.
const MAX_TARGET_CHOICES: usize = 500;

/// The targets the caller may choose: agents, tags, custom sources and pools in their scope.
async fn target_choices(call: &Call) -> Result<Vec<(String, String)>, Error> {
    let scoped = super::entities::scoped(call).await?;
    let scope = scoped.scope.clone();
    let sources = call.state.store.read(crate::agents::sources::list).await?;
    let mut out: Vec<(String, String)> = Vec::new();
    for r in scoped.rows().take(MAX_TARGET_CHOICES) {
        let state = if r.connected() {
            "connected"
        } else {
            "not connected"
        };
        out.push((
            format!("agent:{}", r.agent_id),
            format!("Agent {} ({state})", r.hello.display_name),
        ));
    }
    let tags: std::collections::BTreeSet<&String> = scoped.rows().flat_map(|r| r.tags()).collect();
    for t in tags.into_iter().take(MAX_TARGET_CHOICES) {
        out.push((format!("tag:{t}"), format!("Tag {t}")));
    }
    for s in sources
        .iter()
        .filter(|s| scope.contains(&s.pool_id))
        .take(MAX_TARGET_CHOICES)
    {
        out.push((
            format!("custom_source:{}", s.id),
            format!("Custom source {}", s.name),
        ));
    }
    for (id, name) in scoped.pools.iter().take(MAX_TARGET_CHOICES) {
        out.push((format!("pool:{id}"), format!("Pool {name}")));
    }
    Ok(out)
}

/// The form's fields as typed.
fn form_of(call: &Call) -> ActionForm {
    let f = &call.form;
    let t = |n: &str| f.text(n).trim().to_string();
    ActionForm {
        kind: t("type"),
        file: t("file"),
        line: t("line"),
        class: t("class"),
        method: t("method"),
        end_line: t("end_line"),
        target: t("target"),
        condition: t("condition"),
        expressions: f.text("expressions").to_string(),
        template: f.text("template").to_string(),
        level: t("level"),
        outputs: f.all("outputs").map(str::to_string).collect(),
        value: t("value"),
        max_hits: t("max_hits"),
        expires_in: t("expires_in"),
        ignore_quota: f.get("ignore_quota").is_some(),
    }
}

/// A form's problems found before the model's checks: `(form field, message)`.
type PreErrors = Vec<(&'static str, String)>;

/// The API request a form stands for, and what could not even be turned into one (a line that
/// is not a number). Only the fields of the chosen type are passed on, so a value left in a
/// field of another type is ignored rather than refused.
fn request_of(f: &ActionForm) -> (NewAction, PreErrors) {
    let mut pre = Vec::new();
    let mut number = |field: &'static str, text: &str, what: &str| -> Option<u64> {
        if text.is_empty() {
            return None;
        }
        let n = text.parse::<u64>().ok();
        if n.is_none() {
            pre.push((field, format!("{what}: a whole number such as 64")));
        }
        n
    };
    let kind = f.kind.as_str();
    let line = number("line", &f.line, "Line");
    let end_line = number("end_line", &f.end_line, "End line");
    let max_hits = number("max_hits", &f.max_hits, "Max hits");
    let expires_in_s = number("expires_in", &f.expires_in, "Expiry");
    let by_method =
        kind == "duration" || (f.file.is_empty() && f.line.is_empty() && !f.class.is_empty());
    let location = if by_method {
        (!f.class.is_empty() || !f.method.is_empty())
            .then(|| json!({"class": f.class, "method": f.method}))
    } else if f.file.is_empty() && f.line.is_empty() {
        None
    } else {
        // A line that is not a number was reported above; 1 stands in so the other checks run.
        Some(json!({"file": f.file, "line": line.unwrap_or(1)}))
    };
    let end = (kind == "tictoc")
        .then(|| json!({"file": f.file, "line": end_line.unwrap_or(0)}))
        .filter(|_| !f.end_line.is_empty());
    if kind == "tictoc" && f.end_line.is_empty() {
        pre.push((
            "end_line",
            "required: the line where the measurement ends".into(),
        ));
    }
    let target = f
        .target
        .split_once(':')
        .map(|(k, id)| json!({"kind": k, "id": id}));
    let expressions: Vec<String> = f
        .expressions
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let new = NewAction {
        kind: (!kind.is_empty()).then(|| kind.to_string()),
        location,
        end,
        target,
        condition: (!f.condition.is_empty()).then(|| f.condition.clone()),
        expressions: (kind == "snapshot" && !expressions.is_empty()).then_some(expressions),
        template: (kind == "log").then(|| f.template.clone()),
        level: (kind == "log" && !f.level.is_empty()).then(|| f.level.clone()),
        outputs: (kind == "log").then(|| f.outputs.clone()),
        value: (kind == "metric").then(|| f.value.clone()),
        max_hits,
        expires_in_s,
        ignore_quota: f.ignore_quota.then_some(true),
    };
    (new, pre)
}

/// The model's per-field errors under the form's field names, after the form's own.
fn form_errors(
    f: &ActionForm,
    pre: &[(&'static str, String)],
    errors: &[FieldError],
) -> FormErrors {
    let mut out = FormErrors::none();
    out.fields.extend(pre.iter().cloned());
    let by_method =
        f.kind == "duration" || (f.file.is_empty() && f.line.is_empty() && !f.class.is_empty());
    for e in errors {
        let (name, message): (&'static str, String) = match e.field.as_str() {
            "type" => ("type", e.message.clone()),
            "location.line" => ("line", e.message.clone()),
            "location.file" => ("file", e.message.clone()),
            "location" if by_method => ("class", e.message.clone()),
            "location" => ("file", "required: a file and a line number".into()),
            "end" | "end.line" | "end.file" => ("end_line", e.message.clone()),
            "target" if f.target.is_empty() => ("target", "required: choose the agents".into()),
            "target" => ("target", e.message.clone()),
            "condition" => ("condition", e.message.clone()),
            "template" => ("template", e.message.clone()),
            "level" => ("level", e.message.clone()),
            "outputs" => ("outputs", e.message.clone()),
            "value" => ("value", e.message.clone()),
            "max_hits" => ("max_hits", e.message.clone()),
            "expires_in_s" => ("expires_in", e.message.clone()),
            "ignore_quota" => ("ignore_quota", e.message.clone()),
            other => match other
                .strip_prefix("expressions[")
                .and_then(|r| r.strip_suffix(']'))
            {
                Some(i) => (
                    "expressions",
                    format!(
                        "line {}: {}",
                        i.parse::<usize>().map_or(0, |n| n + 1),
                        e.message
                    ),
                ),
                None if other == "expressions" => ("expressions", e.message.clone()),
                None => {
                    out.summary = Some(format!("{other}: {}", e.message));
                    continue;
                }
            },
        };
        // A line already reported as not a number is not reported again.
        if out.field(name).is_none() {
            out.fields.push((name, message));
        }
    }
    out
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
    actions_in_scope(&call.state, &scope).await
}

/// Every action `scope` reaches, newest first (also the Data Explorer's).
pub(crate) async fn actions_in_scope(
    state: &crate::app::AppState,
    scope: &PoolScope,
) -> Result<Vec<Action>, Error> {
    let mut all = state.store.read(records::list).await?;
    all.retain(|a| in_scope(scope, a));
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

/// A 400 answer listing every field's problem (`error.fields`), the shape of per-field
/// validation errors across the API.
pub(crate) fn field_errors(errors: &[FieldError]) -> Response<Body> {
    let message = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    // A location the blocklist covers is not a typing mistake: it has its own code.
    let code = if errors.iter().any(is_blocked) {
        "blocked_location"
    } else {
        "invalid"
    };
    respond::json(
        400,
        &json!({"error": {"code": code, "message": message, "fields": errors}}),
    )
}

async fn create_api(call: &Call) -> Result<Response<Body>, Error> {
    let new: NewAction = json_body(call)?;
    match create(call, &new, Origin::Api).await? {
        Ok(action) => Ok(respond::json(201, &action_json(call, &action, Some(&[])))),
        Err(errors) => Ok(field_errors(&errors)),
    }
}

/// Every check a create makes (fields, the right to ignore quotas, a target within the
/// caller's scope), without storing or sending anything: the API's and the form's
/// validation, and the first half of [`create`].
async fn check(
    call: &Call,
    new: &NewAction,
    origin: Origin,
) -> Result<Result<Action, Vec<FieldError>>, Error> {
    let user = acting_user(call)?;
    let mut refused = Vec::new();
    if new.ignore_quota == Some(true)
        && !roles::allows(&user.roles, Permission::IgnoreQuotas, Need::Change)
    {
        refused.push(FieldError {
            field: "ignore_quota".into(),
            message: "your roles may not ignore quotas".into(),
        });
    }
    let id = format!("a{}", tokens::hex(&tokens::random_bytes::<8>()));
    let now = call.state.clock.now_ms();
    let caps = call.state.settings.get().caps();
    let mut action = match new.validate(origin, &caps, id, user.email.clone(), now) {
        Ok(a) if refused.is_empty() => a,
        Ok(_) => return Ok(Err(refused)),
        Err(mut errors) => {
            errors.extend(refused);
            return Ok(Err(errors));
        }
    };
    if let Some(refusal) = blocked(call, &action) {
        return Ok(Err(vec![refusal]));
    }
    let scope = scope_of(call).await?;
    action.scope_pools = scope.ids().map(|p| p.iter().cloned().collect());
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
        return Ok(Err(vec![FieldError {
            field: "target".into(),
            message: format!(
                "no {} {:?} in your pools",
                page::target_kind_text(action.target.kind),
                action.target.id
            ),
        }]));
    }
    Ok(Ok(action))
}

/// Checks, stores (audited as `action.create`) and sends a new action to its agents.
async fn create(
    call: &Call,
    new: &NewAction,
    origin: Origin,
) -> Result<Result<Action, Vec<FieldError>>, Error> {
    let action = match check(call, new, origin).await? {
        Ok(a) => a,
        Err(errors) => {
            if let Some(e) = errors.iter().find(|e| is_blocked(e)) {
                let rule = e.message.trim_start_matches(BLOCKED).to_string();
                call.audit(
                    AuditEvent::new("action.blocked", call.actor(), Outcome::Denied).details(
                        json!({"type": new.kind, "location": new.location, "end": new.end,
                               "field": e.field, "rule": rule}),
                    ),
                )
                .await;
            }
            return Ok(Err(errors));
        }
    };
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
    Ok(Ok(action))
}

/// How a blocklist refusal starts; the API answers it with the code `blocked_location`.
const BLOCKED: &str = "blocked by the blocklist: ";

fn is_blocked(e: &FieldError) -> bool {
    e.message.starts_with(BLOCKED)
}

/// The blocklist's answer to a new action: `None` when its location (and end) may be probed,
/// else the refusal against that field, naming the rule.
fn blocked(call: &Call, action: &Action) -> Option<FieldError> {
    let list = call.state.agents.config.blocklist();
    [
        ("location", Some(&action.location)),
        ("end", action.end.as_ref()),
    ]
    .into_iter()
    .find_map(|(field, loc)| {
        let rule = list.blocked(loc?)?;
        Some(FieldError {
            field: field.into(),
            message: format!("{BLOCKED}{rule}"),
        })
    })
}

/// The action if the caller may change it (own, or others' with that permission).
async fn changeable(call: &Call, id: &str) -> Result<Action, Error> {
    let a = visible(call, id).await?;
    if !may_change(&acting_user(call)?, &a) {
        return Err(Error::Forbidden(
            "this action is another user's; your roles may change only your own".into(),
        ));
    }
    Ok(a)
}

/// Deletes an action with its results (audited as `action.delete`) and takes it off its
/// agents; answers it as it was.
async fn delete(call: &Call, id: &str) -> Result<Action, Error> {
    let a = changeable(call, id).await?;
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
            Ok(a)
        }
        Err(ActionError::NotFound) => Err(Error::NotFound),
        Err(e) => Err(Error::Conflict(e.to_string())),
    }
}

/// Disables (taken off every agent with `action.remove`) or enables (sent again with
/// `action.set`) an action, audited as `action.disable` / `action.enable`; answers it as it
/// is afterwards. 409 when it already is so, or when it has expired.
async fn set_disabled(call: &Call, id: &str, disabled: bool) -> Result<Action, Error> {
    let a = changeable(call, id).await?;
    let now = call.state.clock.now_ms();
    if a.expires_at_ms <= now {
        return Err(Error::Conflict(
            "the action has expired; create a new one instead".into(),
        ));
    }
    let kind = if disabled {
        "action.disable"
    } else {
        "action.enable"
    };
    let target = a.id.clone();
    let done = audited(call, kind, target.clone(), move |tx, _, now| {
        let mut a = records::get(tx, &target)?.ok_or(ActionError::NotFound)?;
        if a.disabled == disabled {
            return Err(ActionError::Unchanged(if disabled {
                "disabled"
            } else {
                "enabled"
            }));
        }
        a.disabled = disabled;
        a.updated_ms = now;
        records::put(tx, &a)?;
        Ok(Change {
            value: a,
            target: target.clone(),
            details: json!({}),
        })
    })
    .await?;
    let a = match done {
        Ok(a) => a,
        Err(ActionError::NotFound) => return Err(Error::NotFound),
        Err(e) => return Err(Error::Conflict(e.to_string())),
    };
    if disabled {
        call.state.agents.actions.disabled(&a.id).await;
    } else {
        call.state.agents.actions.added(a.clone()).await;
    }
    Ok(a)
}

async fn toggle_api(call: &Call, id: &str, disabled: bool) -> Result<Response<Body>, Error> {
    let a = set_disabled(call, id, disabled).await?;
    let statuses = call.state.agents.actions.statuses(&a.id);
    Ok(respond::json(200, &action_json(call, &a, Some(&statuses))))
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
        "state": if a.disabled { "disabled" } else if live { "active" } else if a.expires_at_ms <= now { "expired" } else { "inactive" },
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
    use crate::actions::model::Caps;

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
        assert_eq!(
            R::parse("POST", &["actions", "validate"]),
            Some(R::Validate)
        );
        assert_eq!(
            R::parse("POST", &["actions", "a1", "disable"]),
            Some(R::Disable("a1".into()))
        );
        let portal = |get, post, p: &str| R::parse_portal(get, post, p);
        assert_eq!(
            portal(true, false, "/entities/actions/new"),
            Some(Ok(R::NewForm))
        );
        assert_eq!(
            portal(false, true, "/entities/actions"),
            Some(Ok(R::FormCreate))
        );
        assert_eq!(
            portal(true, false, "/entities/actions"),
            None,
            "the list is a nav page"
        );
        assert_eq!(
            portal(false, true, "/entities/actions/validate"),
            Some(Ok(R::FormValidate))
        );
        assert_eq!(
            portal(true, false, "/entities/actions/a1"),
            Some(Ok(R::Detail("a1".into())))
        );
        assert_eq!(
            portal(true, false, "/entities/actions/a1/delete"),
            Some(Err(NoRoute::Method))
        );
        assert_eq!(
            portal(true, false, "/data-explorer/snapshots/a1/7"),
            Some(Ok(R::ExplorerHit("a1".into(), 7)))
        );
        assert_eq!(portal(true, false, "/data-explorer/snapshots/a1/x"), None);
        assert_eq!(
            portal(true, false, "/data-explorer/logs/live"),
            Some(Ok(R::ExplorerLogsLive))
        );
        assert!(R::ExplorerLogsLive.is_background() && !R::ExplorerLogsLive.is_api());
        assert!(R::Validate.is_api() && !R::FormValidate.is_api());
    }

    fn form(pairs: &[(&str, &str)]) -> ActionForm {
        let mut f = ActionForm::default();
        for (k, v) in pairs {
            let v = (*v).to_string();
            match *k {
                "type" => f.kind = v,
                "file" => f.file = v,
                "line" => f.line = v,
                "class" => f.class = v,
                "method" => f.method = v,
                "end_line" => f.end_line = v,
                "target" => f.target = v,
                "condition" => f.condition = v,
                "expressions" => f.expressions = v,
                "template" => f.template = v,
                _ => panic!("{k}"),
            }
        }
        f
    }

    fn errors_of(f: &ActionForm) -> Vec<(&'static str, String)> {
        let (new, pre) = request_of(f);
        let errors = new
            .validate(
                Origin::Portal,
                &Caps::default(),
                "a1".into(),
                "me".into(),
                0,
            )
            .err()
            .unwrap_or_default();
        form_errors(f, &pre, &errors).fields
    }

    #[test]
    fn the_form_becomes_the_api_request_and_errors_come_back_under_its_fields() {
        let ok = form(&[
            ("type", "snapshot"),
            ("file", "Shop.java"),
            ("line", "12"),
            ("target", "agent:id-shop"),
            ("expressions", "order.id\n\n  total "),
            ("template", "left over from trying a log"),
        ]);
        let (new, pre) = request_of(&ok);
        assert!(pre.is_empty());
        let a = new
            .validate(
                Origin::Portal,
                &Caps::default(),
                "a1".into(),
                "me".into(),
                0,
            )
            .unwrap();
        assert_eq!(a.max_hits, Some(1), "1 hit from the portal");
        assert_eq!(a.watches.len(), 2);
        assert!(a.template.is_none(), "fields of other types are ignored");
        assert_eq!(a.target.id, "id-shop");

        let fields = |pairs: &[(&str, &str)]| -> Vec<&'static str> {
            errors_of(&form(pairs))
                .into_iter()
                .map(|(f, _)| f)
                .collect()
        };
        assert_eq!(fields(&[("type", "snapshot")]), ["file", "target"]);
        assert_eq!(
            fields(&[
                ("type", "snapshot"),
                ("file", "A.java"),
                ("line", "x"),
                ("target", "tag:p")
            ]),
            ["line"]
        );
        let e = errors_of(&form(&[
            ("type", "snapshot"),
            ("file", "A.java"),
            ("line", "3"),
            ("target", "tag:p"),
            ("condition", "a = 1"),
            ("expressions", "ok\nb >"),
        ]));
        assert_eq!(e[0].0, "condition");
        assert!(e[0].1.contains("at character 3"), "{e:?}");
        assert_eq!(e[1].0, "expressions");
        assert!(e[1].1.starts_with("line 2: "), "{e:?}");
        assert_eq!(
            fields(&[
                ("type", "tictoc"),
                ("file", "A.java"),
                ("line", "3"),
                ("target", "tag:p")
            ]),
            ["end_line"]
        );
        assert_eq!(
            fields(&[
                ("type", "tictoc"),
                ("file", "A.java"),
                ("line", "3"),
                ("end_line", "2"),
                ("target", "tag:p")
            ]),
            ["end_line"]
        );
        assert_eq!(
            fields(&[
                ("type", "duration"),
                ("class", "demo.Shop"),
                ("target", "tag:p")
            ]),
            ["class"]
        );
        assert!(
            fields(&[
                ("type", "duration"),
                ("class", "demo.Shop"),
                ("method", "run"),
                ("target", "tag:p")
            ])
            .is_empty()
        );
        assert_eq!(
            fields(&[
                ("type", "log"),
                ("file", "A.java"),
                ("line", "3"),
                ("target", "tag:p"),
                ("template", "{a")
            ]),
            ["template", "outputs"],
            "no box ticked is no output: refused, not guessed"
        );
    }
}
