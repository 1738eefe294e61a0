//! The Data Explorer over HTTP: `/data-explorer` (snapshots), `/data-explorer/logs` (with its
//! live stream `/data-explorer/logs/live`), `/data-explorer/metrics`, one snapshot's page
//! `/data-explorer/snapshots/{action}/{seq}` and `/data-explorer/export` (CSV or JSON of the
//! filtered snapshots or log lines).
//!
//! Scope (`ROLES.md`, "Snapshots and logs"): results are read only from actions the caller's
//! pool scope reaches, and of those only the results of agents in the caller's pools; a
//! snapshot outside it answers 404. The search itself is `actions::explore` (bounded reads).

use std::collections::BTreeSet;
use std::sync::Arc;

use hyper::Response;
use hyper::header::{self, HeaderValue};
use serde_json::{Value, json};

use super::actions::{ActionsRoute, actions_in_scope};
use super::admin::{acting_user, principal};
use super::api::{parse_time, time};
use super::form::Form;
use super::handler::Call;
use super::portal::framed;
use super::respond::{self, Body};
use crate::actions::explore::{self, Filter, Found, Results};
use crate::actions::model::{Action, Kind};
use crate::actions::records;
use crate::app::AppState;
use crate::error::Error;
use crate::iam::roles::{self, Role};
use crate::iam::scope::PoolScope;
use crate::iam::users::User;
use crate::ui::components::FormErrors;
use crate::ui::pages::actions::location_text;
use crate::ui::pages::data_explorer::{self as page, ActionLinks, Chart, Common, Query};

/// Results shown on a page.
const PAGE_ROWS: usize = 200;
/// Results in one export.
const EXPORT_ROWS: usize = 5_000;
/// Metric charts on one page.
const MAX_CHARTS: usize = 50;

/// Serves one Data Explorer route.
pub async fn handle(call: &Call, route: ActionsRoute) -> Result<Response<Body>, Error> {
    match route {
        ActionsRoute::ExplorerLogs => logs_page(call).await,
        ActionsRoute::ExplorerLogsLive => {
            let (q, _, errors) = query_of(&call.query);
            if let Some((field, message)) = errors.fields.first() {
                return Err(Error::Invalid {
                    field,
                    message: message.clone(),
                });
            }
            super::entities::live_stream(call, super::entities::LiveView::Logs(q))
        }
        ActionsRoute::ExplorerMetrics => metrics_page(call).await,
        ActionsRoute::ExplorerExport => export(call).await,
        ActionsRoute::ExplorerHit(id, seq) => hit_page(call, &id, seq).await,
        _ => Err(Error::NotFound),
    }
}

/// The filters of the query string, typed and read; a value that cannot be read is reported
/// against its field and left out of the filter.
fn query_of(form: &Form) -> (Query, Filter, FormErrors) {
    let q = typed(form);
    let (filter, errors) = filter_of(&q);
    (q, filter, errors)
}

fn typed(form: &Form) -> Query {
    let t = |n: &str| form.text(n).trim().chars().take(256).collect::<String>();
    Query {
        action: t("action"),
        agent: t("agent"),
        tag: t("tag"),
        pool: t("pool"),
        author: t("author"),
        level: t("level"),
        q: t("q"),
        from: t("from"),
        to: t("to"),
    }
}

fn filter_of(q: &Query) -> (Filter, FormErrors) {
    let mut errors = FormErrors::none();
    let mut when = |field: &'static str, v: &str| -> Option<i64> {
        if v.is_empty() {
            return None;
        }
        match parse_time(field, v) {
            Ok(ms) => Some(ms),
            Err(e) => {
                let message = match e {
                    Error::Invalid { message, .. } => message,
                    other => other.to_string(),
                };
                errors.fields.push((field, message));
                None
            }
        }
    };
    let from_ms = when("from", &q.from);
    let to_ms = when("to", &q.to);
    let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
    let filter = Filter {
        action: some(&q.action),
        agent: some(&q.agent),
        tag: some(&q.tag),
        pool: some(&q.pool),
        author: some(&q.author),
        level: some(&q.level),
        text: some(&q.q),
        from_ms,
        to_ms,
    };
    (filter, errors)
}

/// What a search needs to know of the caller: the pools whose results they may read
/// (`None`: all), the pools to offer in the filter, and the actions in scope (newest first).
struct Seen {
    pools: Option<BTreeSet<String>>,
    pool_choices: Vec<(String, String)>,
    actions: Vec<Arc<Action>>,
}

async fn seen(state: &Arc<AppState>, user: User) -> Result<Seen, Error> {
    let now_ms = state.clock.now_ms();
    let (scope, pool_choices) = state
        .store
        .read(move |tx| super::entities::scope_and_pools(tx, &user, now_ms))
        .await?;
    let actions = actions_in_scope(state, &scope)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect();
    Ok(Seen {
        pools: match scope {
            PoolScope::All => None,
            PoolScope::Only(p) => Some(p),
        },
        pool_choices,
        actions,
    })
}

/// The links to Entities › Actions that `roles` may follow, decided by those routes' own needs
/// (Company Viewer and Security read results but not actions).
fn action_links(roles: &[Role]) -> ActionLinks {
    let may = |route: ActionsRoute| {
        let (permission, need) = route.access();
        roles::allows(roles, permission, need)
    };
    ActionLinks {
        open: may(ActionsRoute::Detail(String::new())),
        create: may(ActionsRoute::NewForm),
    }
}

fn action_choices(actions: &[Arc<Action>], kinds: &[Kind]) -> Vec<(String, String)> {
    actions
        .iter()
        .filter(|a| kinds.contains(&a.kind))
        .take(500)
        .map(|a| {
            (
                a.id.clone(),
                format!(
                    "{} at {} ({})",
                    a.kind.as_str(),
                    location_text(&a.location),
                    a.id
                ),
            )
        })
        .collect()
}

async fn find_snapshots(
    state: &Arc<AppState>,
    seen: &Seen,
    filter: Filter,
    limit: usize,
) -> Result<Results<records::StoredSnapshot>, Error> {
    let actions: Vec<Arc<Action>> = seen
        .actions
        .iter()
        .filter(|a| filter.admits(a))
        .cloned()
        .collect();
    let pools = seen.pools.clone();
    Ok(state
        .store
        .read(move |tx| explore::snapshots(tx, &actions, pools.as_ref(), &filter, limit))
        .await?)
}

async fn find_logs(
    state: &Arc<AppState>,
    seen: &Seen,
    filter: Filter,
    limit: usize,
) -> Result<Results<records::StoredLog>, Error> {
    let actions: Vec<Arc<Action>> = seen
        .actions
        .iter()
        .filter(|a| filter.admits(a))
        .cloned()
        .collect();
    let pools = seen.pools.clone();
    Ok(state
        .store
        .read(move |tx| explore::logs(tx, &actions, pools.as_ref(), &filter, limit))
        .await?)
}

/// `GET /data-explorer`: the Snapshots tab.
pub async fn snapshots_page(call: &Call) -> Result<Response<Body>, Error> {
    let (query, filter, errors) = query_of(&call.query);
    let seen = seen(&call.state, principal(call)?.user.clone()).await?;
    let found = find_snapshots(&call.state, &seen, filter, PAGE_ROWS).await?;
    tab(call, &seen, &query, &errors, Kind::Snapshot, |ctx, c| {
        page::snapshots(ctx, c, &found)
    })
}

async fn logs_page(call: &Call) -> Result<Response<Body>, Error> {
    let (query, filter, errors) = query_of(&call.query);
    let seen = seen(&call.state, principal(call)?.user.clone()).await?;
    let found = find_logs(&call.state, &seen, filter, PAGE_ROWS).await?;
    tab(call, &seen, &query, &errors, Kind::Log, |ctx, c| {
        page::logs(ctx, c, &found)
    })
}

/// A results tab in the portal frame: its filters' choices (actions of `kind`, the caller's
/// pools), what `render` draws, and 400 while a filter is wrong.
fn tab(
    call: &Call,
    seen: &Seen,
    query: &Query,
    errors: &FormErrors,
    kind: Kind,
    render: impl FnOnce(&crate::ui::layout::PageCtx, &Common) -> maud::Markup,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let actions = action_choices(&seen.actions, &[kind]);
    let c = Common {
        query,
        errors,
        actions: &actions,
        pools: &seen.pool_choices,
        now_ms: call.state.clock.now_ms(),
        links: action_links(&p.user.roles),
    };
    let markup = framed(&call.state, p, page::SNAPSHOTS, |ctx| render(ctx, &c));
    Ok(respond::html(
        if errors.is_empty() { 200 } else { 400 },
        markup,
    ))
}

/// The Logs tab's region for `user` now (the live stream's events).
pub(crate) async fn logs_region(
    state: &Arc<AppState>,
    user: User,
    q: &Query,
) -> Result<String, Error> {
    let (filter, _) = filter_of(q);
    let links = action_links(&user.roles);
    let seen = seen(state, user).await?;
    let found = find_logs(state, &seen, filter, PAGE_ROWS).await?;
    Ok(page::logs_region(&found, links, state.clock.now_ms()).into_string())
}

async fn metrics_page(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (q, filter, errors) = query_of(&call.query);
    let seen = seen(&call.state, p.user.clone()).await?;
    let live = &call.state.agents.actions;
    let charts: Vec<Chart> = seen
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a.kind,
                Kind::Counter | Kind::Tictoc | Kind::Duration | Kind::Metric
            )
        })
        .filter(|a| filter.admits(a))
        .take(MAX_CHARTS)
        .map(|a| Chart {
            action: (**a).clone(),
            points: live
                .metric_points(&a.id)
                .into_iter()
                .filter(|pt| filter.agent.as_ref().is_none_or(|g| *g == pt.agent_id))
                .collect(),
        })
        .collect();
    let c = Common {
        query: &q,
        errors: &errors,
        actions: &[],
        pools: &seen.pool_choices,
        now_ms: call.state.clock.now_ms(),
        links: action_links(&p.user.roles),
    };
    let markup = framed(&call.state, p, page::SNAPSHOTS, |ctx| {
        page::metrics(ctx, &c, &charts)
    });
    Ok(respond::html(200, markup))
}

async fn hit_page(call: &Call, id: &str, seq: u64) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let seen = seen(&call.state, p.user.clone()).await?;
    let action = seen
        .actions
        .iter()
        .find(|a| a.id == id)
        .cloned()
        .ok_or(Error::NotFound)?;
    let aid = action.id.clone();
    let item = call
        .state
        .store
        .read(move |tx| records::snapshot(tx, &aid, seq))
        .await?
        .filter(|s| {
            seen.pools
                .as_ref()
                .is_none_or(|p| p.contains(&s.from.pool_id))
        })
        .ok_or(Error::NotFound)?;
    let found = Found { action, item };
    let now = call.state.clock.now_ms();
    let links = action_links(&p.user.roles);
    let markup = framed(&call.state, p, page::SNAPSHOTS, |ctx| {
        page::hit(ctx, &found, links, now)
    });
    Ok(respond::html(200, markup))
}

fn csv_line(cells: &[&str]) -> String {
    let line: Vec<String> = cells
        .iter()
        .map(|c| crate::reach::sbom::csv_cell(c))
        .collect();
    format!("{}\r\n", line.join(","))
}

/// `GET /data-explorer/export?kind=snapshots|logs&format=csv|json` with the page's filters.
async fn export(call: &Call) -> Result<Response<Body>, Error> {
    let user = acting_user(call)?;
    let (_, filter, errors) = query_of(&call.query);
    if let Some((field, message)) = errors.fields.first() {
        return Err(Error::Invalid {
            field,
            message: message.clone(),
        });
    }
    let csv = match call.query.get("format") {
        None | Some("" | "csv") => true,
        Some("json") => false,
        Some(_) => {
            return Err(Error::Invalid {
                field: "format",
                message: "csv or json".into(),
            });
        }
    };
    let seen = seen(&call.state, user).await?;
    let (name, body) = match call.query.get("kind") {
        None | Some("" | "snapshots") => {
            let r = find_snapshots(&call.state, &seen, filter, EXPORT_ROWS).await?;
            let body = if csv {
                let mut out = csv_line(&[
                    "time",
                    "action",
                    "location",
                    "author",
                    "agent_id",
                    "agent_name",
                    "pool",
                    "tags",
                    "thread",
                    "top_frame",
                ]);
                for f in &r.items {
                    let s = &f.item;
                    let top = s.frames.get(0).map(|fr| fr.to_string()).unwrap_or_default();
                    out.push_str(&csv_line(&[
                        &time(s.time_ms),
                        &f.action.id,
                        &location_text(&f.action.location),
                        &f.action.author,
                        &s.from.agent_id,
                        &s.from.agent_name,
                        &s.from.pool_id,
                        &s.from.tags.join(" "),
                        &s.thread,
                        &top,
                    ]));
                }
                out
            } else {
                let items: Vec<Value> = r
                    .items
                    .iter()
                    .map(|f| {
                        let s = &f.item;
                        json!({"time": time(s.time_ms), "action_id": f.action.id, "seq": s.seq,
                           "location": f.action.location, "author": f.action.author,
                           "agent_id": s.from.agent_id, "agent_name": s.from.agent_name,
                           "pool_id": s.from.pool_id, "tags": s.from.tags, "thread": s.thread,
                           "frames": s.frames, "this": s.this, "locals": s.locals,
                           "watches": s.watches, "truncated": s.truncated})
                    })
                    .collect();
                json!({"items": items, "total": r.matched, "complete": r.complete}).to_string()
            };
            ("snapshots", body)
        }
        Some("logs") => {
            let r = find_logs(&call.state, &seen, filter, EXPORT_ROWS).await?;
            let body = if csv {
                let mut out = csv_line(&[
                    "time",
                    "action",
                    "location",
                    "agent_id",
                    "agent_name",
                    "pool",
                    "level",
                    "thread",
                    "text",
                ]);
                for f in &r.items {
                    let l = &f.item;
                    out.push_str(&csv_line(&[
                        &time(l.time_ms),
                        &f.action.id,
                        &location_text(&f.action.location),
                        &l.from.agent_id,
                        &l.from.agent_name,
                        &l.from.pool_id,
                        &l.level,
                        &l.thread,
                        &l.text,
                    ]));
                }
                out
            } else {
                let items: Vec<Value> = r.items.iter().map(|f| {
                    let l = &f.item;
                    json!({"time": time(l.time_ms), "action_id": f.action.id, "seq": l.seq,
                           "agent_id": l.from.agent_id, "agent_name": l.from.agent_name,
                           "pool_id": l.from.pool_id, "level": l.level, "thread": l.thread, "text": l.text})
                }).collect();
                json!({"items": items, "total": r.matched, "complete": r.complete}).to_string()
            };
            ("logs", body)
        }
        Some(_) => {
            return Err(Error::Invalid {
                field: "kind",
                message: "snapshots or logs".into(),
            });
        }
    };
    let (content_type, ext) = if csv {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/json", "json")
    };
    let mut r = Response::new(respond::full(body));
    let headers = r.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"lantern-{name}.{ext}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
