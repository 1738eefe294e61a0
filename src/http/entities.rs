//! Entities handlers (Agents, Tags, Custom Sources) for the portal, and the operations the
//! REST API shares with it (`http::api_agents`): reading agents, tags and sources within the
//! caller's pool scope, disconnecting an agent, deleting a tag, creating and deleting a
//! source — each change audited in the same transaction as what it writes.
//!
//! The rules live in `agents::{view, tags, sources}`; the live list's event stream lives here
//! because it is plumbing: it re-renders the list region when the registry changes (after a
//! short pause, so a burst of connections costs one render) and every few seconds (so
//! heartbeat times move), re-checking the session and the user's roles and scope each time,
//! and ends after a bounded time; the browser's `EventSource` then reconnects on its own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::Response;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::admin::{Change, acting_user, audited};
use super::form::Form;
use super::handler::Call;
use super::portal::{framed, principal};
use super::respond::{self, Body};
use super::router::{NoRoute, object_id, path_text};
use crate::agents::protocol::{self, CloseReason};
use crate::agents::registry::ArtifactView;
use crate::agents::sources::{
    self, CustomSource, MatchMode, NewSource, Rule, RuleField, SourceError,
};
use crate::agents::tags::{self, Forgotten, TagError, TagRow};
use crate::agents::view::{self, AgentError, AgentFilter, AgentRow, SortKey};
use crate::app::AppState;
use crate::error::Error;
use crate::iam::roles::{self, Need, Permission};
use crate::iam::scope::{self, PoolScope};
use crate::iam::users::{self, User};
use crate::iam::{pools, settings};
use crate::ui::components::FormErrors;
use crate::ui::pages::agents::{self as agents_page, AgentDetail, AgentList, ListQuery};
use crate::ui::pages::custom_sources::{
    self as sources_page, SourceDetail, SourceForm, SourceLine, SourceList,
};
use crate::ui::pages::tags::{self as tags_page, TagList};

/// The portal routes of the Entities area below the three list pages (which are navigation
/// pages, [`super::router::Endpoint::Page`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityRoute {
    /// `GET /entities/agents/live?<list query>`: the list's server-sent events.
    AgentsLive,
    /// `GET /entities/agents/{agent_id}` (percent-encoded id).
    Agent(String),
    /// `POST /entities/agents/{agent_id}/disconnect`
    AgentDisconnect(String),
    /// `POST /entities/tags/delete` with the tag in the form field `name`.
    TagDelete,
    /// `GET /entities/custom-sources/new`
    SourceNew,
    /// `POST /entities/custom-sources`
    SourceCreate,
    /// `GET /entities/custom-sources/{id}`
    Source(String),
    /// `POST /entities/custom-sources/{id}/delete`
    SourceDelete(String),
}

/// Parses the routes of [`EntityRoute`]; `None` when `path` is none of them.
pub fn parse(get: bool, post: bool, path: &str) -> Option<Result<EntityRoute, NoRoute>> {
    let only = |ok: bool, r: EntityRoute| Some(if ok { Ok(r) } else { Err(NoRoute::Method) });
    if path == sources_page::BASE && post {
        return Some(Ok(EntityRoute::SourceCreate));
    }
    if path == tags_page::DELETE {
        return only(post, EntityRoute::TagDelete);
    }
    if let Some(rest) = path
        .strip_prefix(agents_page::BASE)
        .and_then(|r| r.strip_prefix('/'))
    {
        // Compared before decoding: an agent called "live" is linked as `%6Cive`.
        if rest == "live" {
            return only(get, EntityRoute::AgentsLive);
        }
        let (raw, disconnect) = match rest.strip_suffix("/disconnect") {
            Some(raw) => (raw, true),
            None => (rest, false),
        };
        // Ids are one encoded segment; a bare `/` is never one of our links.
        let Some(id) = path_text(raw).filter(|_| !raw.contains('/')) else {
            return Some(Err(NoRoute::NotFound));
        };
        return if disconnect {
            only(post, EntityRoute::AgentDisconnect(id))
        } else {
            only(get, EntityRoute::Agent(id))
        };
    }
    if let Some(rest) = path
        .strip_prefix(sources_page::BASE)
        .and_then(|r| r.strip_prefix('/'))
    {
        let (id, verb) = rest.split_once('/').unwrap_or((rest, ""));
        if id == "new" && verb.is_empty() {
            return only(get, EntityRoute::SourceNew);
        }
        let Some(id) = object_id(id) else {
            return Some(Err(NoRoute::NotFound));
        };
        return match verb {
            "" => only(get, EntityRoute::Source(id)),
            "delete" => only(post, EntityRoute::SourceDelete(id)),
            _ => Some(Err(NoRoute::NotFound)),
        };
    }
    None
}

/// Serves one route of [`EntityRoute`].
pub async fn handle(call: &Call, route: EntityRoute) -> Result<Response<Body>, Error> {
    match route {
        EntityRoute::AgentsLive => agents_live(call),
        EntityRoute::Agent(id) => agent_page(call, &id, None).await,
        EntityRoute::AgentDisconnect(id) => {
            let row = disconnect(call, &id).await?;
            let notice = format!(
                "{} was disconnected (close code 4000). It reconnects by itself after a back-off unless its pool is detached.",
                row.hello.display_name
            );
            agent_page(call, &id, Some(notice)).await
        }
        EntityRoute::TagDelete => tag_delete_form(call).await,
        EntityRoute::SourceNew => {
            let form = SourceForm {
                match_mode: "any".into(),
                pools: pool_choices(call).await?,
                ..SourceForm::default()
            };
            source_form(call, &form, &FormErrors::none(), 200)
        }
        EntityRoute::SourceCreate => source_create_form(call).await,
        EntityRoute::Source(id) => source_page(call, &id, None).await,
        EntityRoute::SourceDelete(id) => {
            let s = delete_source(call, &id).await?;
            sources_list(
                call,
                Some(format!("The custom source {} was deleted.", s.name)),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading within the caller's scope (portal and API)
// ---------------------------------------------------------------------------------------------

/// What one read of the store and the registry gives a list.
pub(crate) struct Scoped {
    /// Every agent, by name (shared: see `view::RowsCache`); [`Scoped::rows`] are the
    /// caller's.
    all: Arc<Vec<AgentRow>>,
    /// The caller's scope.
    pub scope: PoolScope,
    /// Pools in scope, `(id, name)`, by name.
    pub pools: Vec<(String, String)>,
}

impl Scoped {
    /// The agents in the caller's scope, by name.
    pub fn rows(&self) -> impl Iterator<Item = &AgentRow> {
        view::in_scope(&self.all, &self.scope)
    }

    /// The agents in the caller's scope that pass `filter`, in the order asked for, as
    /// positions in these rows: made once for the rows, the scope, the filter and the order,
    /// then kept for the requests that follow (`view::Listings`). At ten thousand agents,
    /// walking every row per request was most of what a list page cost.
    pub fn listing(
        &self,
        state: &AppState,
        filter: &AgentFilter,
        sort: SortKey,
        descending: bool,
    ) -> Arc<view::Listing> {
        let key = view::ListingKey::new(&self.all, &self.scope, filter, sort, descending);
        let made = state
            .agents
            .listings
            .get_or_make(key, std::time::Instant::now(), || {
                Ok::<_, std::convert::Infallible>(view::Listing::make(
                    &self.all,
                    &self.scope,
                    filter,
                    sort,
                    descending,
                ))
            });
        match made {
            Ok(listing) => listing,
            Err(never) => match never {},
        }
    }

    /// Up to `limit` rows of `listing` (made from these rows) from `offset` on.
    pub fn page<'a>(
        &'a self,
        listing: &'a view::Listing,
        offset: usize,
        limit: usize,
    ) -> impl Iterator<Item = &'a AgentRow> + 'a {
        listing.page(&self.all, offset, limit)
    }
}

/// Agents, scope and pools of `user`, read in one snapshot.
async fn scoped_for(state: &Arc<AppState>, user: User) -> Result<Scoped, Error> {
    let now_ms = state.clock.now_ms();
    let registry = Arc::clone(&state.agents.registry);
    let history = Arc::clone(&state.agents.history);
    let cache = Arc::clone(&state.agents.rows);
    // Taken before the read begins (see `Store::table_generation` and `view::RowsKey`).
    let key = view::RowsKey {
        registry: registry.change_count(),
        history: state
            .store
            .table_generation(&crate::agents::history::AGENT_HISTORY),
        pools: state.store.table_generation(&pools::AGENT_POOLS),
    };
    let scoped = state
        .store
        .read(move |tx| {
            let (scope, pools) = scope_and_pools(tx, &user, now_ms)?;
            let all = cache.get_or_make(key, std::time::Instant::now(), || {
                view::load(tx, &registry, &history, key.history)
            })?;
            Ok(Scoped { all, scope, pools })
        })
        .await?;
    Ok(scoped)
}

/// `user`'s pool scope and the pools in it, `(id, name)` by name (for the pool filters).
pub(crate) fn scope_and_pools(
    tx: &impl crate::store::Reads,
    user: &User,
    now_ms: i64,
) -> Result<(PoolScope, Vec<(String, String)>), crate::store::StoreError> {
    let scope = scope::pool_scope(tx, user, now_ms)?;
    let mut pools: Vec<(String, String)> = pools::list(tx)?
        .into_iter()
        .filter(|p| scope.contains(&p.id))
        .map(|p| (p.id, p.name))
        .collect();
    pools.sort_by_key(|a| a.1.to_lowercase());
    Ok((scope, pools))
}

/// [`scoped_for`] the caller.
pub(crate) async fn scoped(call: &Call) -> Result<Scoped, Error> {
    scoped_for(&call.state, acting_user(call)?).await
}

/// One agent the caller may see; 404 otherwise.
pub(crate) async fn visible_agent(call: &Call, agent_id: &str) -> Result<AgentRow, Error> {
    let user = acting_user(call)?;
    let now_ms = call.state.clock.now_ms();
    let registry = Arc::clone(&call.state.agents.registry);
    let id = agent_id.to_string();
    let row = call
        .state
        .store
        .read(move |tx| {
            let row = view::load_one(tx, &registry, &id)?;
            let scope = scope::pool_scope(tx, &user, now_ms)?;
            Ok(row.filter(|r| scope.contains(&r.pool_id)))
        })
        .await?;
    row.ok_or(Error::NotFound)
}

/// The artifacts of a connected agent (none while disconnected), loaded first, with up to
/// `names` class names each; at most `max` artifacts, and how many more there are.
pub(crate) fn artifacts_of(
    state: &AppState,
    row: &AgentRow,
    names: usize,
    max: usize,
) -> (Vec<ArtifactView>, usize) {
    let Some(live) = &row.live else {
        return (Vec::new(), 0);
    };
    let mut all = state.agents.registry.artifacts(live.session, names);
    let more = all.len().saturating_sub(max);
    all.truncate(max);
    (all, more)
}

/// Reads a yes/no query value: `true`/`yes`/`1`, `false`/`no`/`0`, or nothing.
pub(crate) fn flag(field: &'static str, value: Option<&str>) -> Result<Option<bool>, Error> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some("true" | "yes" | "1") => Ok(Some(true)),
        Some("false" | "no" | "0") => Ok(Some(false)),
        Some(_) => Err(Error::Invalid {
            field,
            message: "must be true or false".into(),
        }),
    }
}

/// The filters of the Agents list and `GET /api/v1/agents` from a query string.
pub(crate) fn agent_filter(query: &Form) -> Result<AgentFilter, Error> {
    let text = |name: &str| query.filled(name);
    let name = text("name");
    if name.as_ref().is_some_and(|n| n.chars().count() > 128) {
        return Err(Error::Invalid {
            field: "name",
            message: "a name pattern has at most 128 characters".into(),
        });
    }
    Ok(AgentFilter {
        pool: text("pool"),
        tag: text("tag"),
        name,
        runtime: text("runtime"),
        connected: flag("connected", query.get("connected"))?,
    })
}

fn list_query(query: &Form) -> Result<(ListQuery, AgentFilter), Error> {
    let filter = agent_filter(query)?;
    let sort = match query.get("sort").filter(|s| !s.is_empty()) {
        None => SortKey::Name,
        Some(s) => SortKey::parse(s).ok_or(Error::Invalid {
            field: "sort",
            message: "sort by name, status, pool or last_seen".into(),
        })?,
    };
    let offset = match query.get("offset").filter(|s| !s.is_empty()) {
        None => 0,
        Some(v) => v.parse().map_err(|_| Error::Invalid {
            field: "offset",
            message: "must be a whole number".into(),
        })?,
    };
    let q = ListQuery {
        pool: filter.pool.clone().unwrap_or_default(),
        tag: filter.tag.clone().unwrap_or_default(),
        name: filter.name.clone().unwrap_or_default(),
        runtime: filter.runtime.clone().unwrap_or_default(),
        connected: match filter.connected {
            None => String::new(),
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
        },
        sort,
        desc: query.get("dir") == Some("desc"),
        offset,
    };
    Ok((q, filter))
}

// ---------------------------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------------------------

async fn agent_list(
    state: &Arc<AppState>,
    user: User,
    q: &ListQuery,
    filter: &AgentFilter,
) -> Result<AgentList, Error> {
    let scoped = scoped_for(state, user).await?;
    let listing = scoped.listing(state, filter, q.sort, q.desc);
    // Only the rows shown are copied.
    let rows = scoped
        .page(&listing, q.offset, agents_page::PAGE_SIZE)
        .cloned()
        .collect();
    Ok(AgentList {
        rows,
        total: listing.total(),
        connected: listing.connected,
        known: listing.known,
        query: q.clone(),
        pools: scoped.pools,
        runtimes: listing.runtimes.clone(),
        now_ms: state.clock.now_ms(),
    })
}

/// `GET /entities/agents`
pub async fn agents_list(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (q, filter) = list_query(&call.query)?;
    let v = agent_list(&call.state, p.user.clone(), &q, &filter).await?;
    let markup = framed(&call.state, p, agents_page::BASE, |ctx| {
        agents_page::list(ctx, &v)
    });
    Ok(respond::html(200, markup))
}

/// A pause after a registry change before rendering, so a burst costs one render.
const LIVE_DEBOUNCE: Duration = Duration::from_secs(1);
/// Longest time between renders (heartbeat times move even when nobody connects).
const LIVE_REFRESH: Duration = Duration::from_secs(5);
/// How often the stream checks that the client is still there and the appliance running.
const LIVE_CHECK: Duration = Duration::from_secs(1);
/// How long one stream lasts; the browser reconnects after it (and re-authenticates).
const LIVE_LIFETIME: Duration = Duration::from_secs(600);
/// Longest wait for a slow client to take one event.
const LIVE_SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// What the browser waits before reconnecting, in ms (the `retry` field).
const LIVE_RETRY_MS: u64 = 3000;

/// One server-sent event; every line of `data` becomes a `data:` line.
fn sse_event(event: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str("event: ");
    out.push_str(event);
    out.push('\n');
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// `GET /entities/agents/live`: the list region as server-sent events.
fn agents_live(call: &Call) -> Result<Response<Body>, Error> {
    let (q, filter) = list_query(&call.query)?;
    // Getting Started's "waiting for your first agent" step listens to the same changes.
    let view = match call.query.get("view") {
        None | Some("") | Some("list") => LiveView::Agents(q, filter),
        Some("getting-started") => LiveView::GettingStarted,
        Some(_) => {
            return Err(Error::Invalid {
                field: "view",
                message: "view is list or getting-started".into(),
            });
        }
    };
    live_stream(call, view)
}

/// Starts a stream of `view` for the caller's session: re-rendered when the registry changes
/// (see the module docs), ended when the session or the right to see it is gone.
pub(crate) fn live_stream(call: &Call, view: LiveView) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (response, tx) = respond::event_stream(4);
    let state = Arc::clone(&call.state);
    let watcher = LiveWatcher {
        session_id: p.session_id.clone(),
        user_id: p.user.id.clone(),
        view,
    };
    tokio::spawn(async move { watcher.run(state, tx).await });
    Ok(response)
}

/// Who a stream renders for and what.
struct LiveWatcher {
    session_id: String,
    user_id: String,
    view: LiveView,
}

/// Which region a live stream renders.
pub(crate) enum LiveView {
    /// The Agents list's table for this query.
    Agents(ListQuery, AgentFilter),
    /// Getting Started's last step: connected agents in the user's pools.
    GettingStarted,
    /// The Runtime Reachability Assessment's sections for this query.
    Reachability(
        crate::reach::assess::Filter,
        crate::ui::pages::reachability::ReachQuery,
    ),
    /// The Data Explorer's log lines for these filters.
    Logs(crate::ui::pages::data_explorer::Query),
}

impl LiveView {
    /// What the user must be allowed to see for the stream to go on.
    fn permission(&self) -> Permission {
        match self {
            LiveView::Agents(..) | LiveView::GettingStarted => Permission::Agents,
            LiveView::Reachability(..) => Permission::Reachability,
            LiveView::Logs(..) => Permission::SnapshotsAndLogs,
        }
    }
}

/// Agents connected now in `user`'s pools (Getting Started's last step).
pub async fn connected_in_scope(state: &Arc<AppState>, user: User) -> Result<usize, Error> {
    let now_ms = state.clock.now_ms();
    let scope = state
        .store
        .read(move |tx| scope::pool_scope(tx, &user, now_ms))
        .await?;
    // From the registry's counts alone: the history adds nothing to a count of connected
    // agents, and reading it costs a decode of every agent ever seen.
    Ok(state.agents.registry.connected_agents(scope.ids()))
}

impl LiveWatcher {
    async fn run(self, state: Arc<AppState>, tx: mpsc::Sender<Bytes>) {
        let started = Instant::now();
        let mut changes = state.agents.registry.subscribe();
        let retry = Bytes::from(format!("retry: {LIVE_RETRY_MS}\n\n"));
        if tx.send(retry).await.is_err() {
            return;
        }
        let mut next_render = Instant::now();
        loop {
            if started.elapsed() >= LIVE_LIFETIME || !state.is_ready() || tx.is_closed() {
                return;
            }
            let wake = next_render.min(Instant::now() + LIVE_CHECK);
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    next_render = next_render.min(Instant::now() + LIVE_DEBOUNCE);
                }
                () = tokio::time::sleep_until(wake) => {}
            }
            if Instant::now() < next_render {
                continue;
            }
            next_render = Instant::now() + LIVE_REFRESH;
            let event = match self.render(&state).await {
                Ok(Some(html)) => sse_event("rows", &html),
                // Signed out, expired, disabled or no longer allowed: tell the page to stop
                // instead of letting it reconnect into a sign-in redirect.
                Ok(None) => {
                    let _ = tokio::time::timeout(
                        LIVE_SEND_TIMEOUT,
                        tx.send(sse_event("end", "signed out")),
                    )
                    .await;
                    return;
                }
                Err(e) => {
                    tracing::debug!("live region not rendered: {e}");
                    continue;
                }
            };
            match tokio::time::timeout(LIVE_SEND_TIMEOUT, tx.send(event)).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
    }

    /// The region for the session's user as it is now; `None` when the session or the
    /// user's right to see it is gone. The session is only peeked at: an open page does
    /// not keep a session alive.
    async fn render(&self, state: &Arc<AppState>) -> Result<Option<String>, Error> {
        let Some(session) = state.sessions.peek(&self.session_id) else {
            return Ok(None);
        };
        if session.user_id != self.user_id {
            return Ok(None);
        }
        let id = self.user_id.clone();
        let user = state
            .store
            .read(move |tx| {
                let rbac = settings::rbac_enabled(tx)?;
                Ok(users::get(tx, &id)?.map(|mut u| {
                    u.roles = settings::effective_roles(&u.roles, rbac);
                    u
                }))
            })
            .await?;
        let Some(user) = user.filter(|u| !u.disabled) else {
            return Ok(None);
        };
        if !roles::allows(&user.roles, self.view.permission(), Need::View) {
            return Ok(None);
        }
        let (q, filter) = match &self.view {
            LiveView::GettingStarted => {
                let connected = connected_in_scope(state, user).await?;
                return Ok(Some(
                    crate::ui::pages::getting_started::waiting_step(connected).into_string(),
                ));
            }
            LiveView::Reachability(filter, q) => {
                return Ok(Some(
                    super::reachability::live_region(state, user, filter, q).await?,
                ));
            }
            LiveView::Logs(q) => {
                return Ok(Some(
                    super::data_explorer::logs_region(state, user, q).await?,
                ));
            }
            LiveView::Agents(q, filter) => (q, filter),
        };
        let v = agent_list(state, user, q, filter).await?;
        Ok(Some(agents_page::live_region(&v).into_string()))
    }
}

async fn agent_page(
    call: &Call,
    agent_id: &str,
    notice: Option<String>,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let row = visible_agent(call, agent_id).await?;
    let (artifacts, more_artifacts) = artifacts_of(
        &call.state,
        &row,
        agents_page::NAMES_PER_ARTIFACT,
        agents_page::MAX_ARTIFACTS_SHOWN,
    );
    let d = AgentDetail {
        row,
        artifacts,
        more_artifacts,
        can_disconnect: roles::allows(&p.user.roles, Permission::Agents, Need::Change),
        can_place_actions: roles::allows(&p.user.roles, Permission::Actions, Need::Change),
        notice,
        now_ms: call.state.clock.now_ms(),
    };
    let markup = framed(&call.state, p, &call.path, |ctx| {
        agents_page::detail(ctx, &d)
    });
    Ok(respond::html(200, markup))
}

/// How long a disconnect waits for the agent to leave the registry, so that the answer
/// already shows it gone.
const DISCONNECT_WAIT: Duration = Duration::from_secs(2);

/// Disconnects a connected agent in the caller's scope (close code 4000), audited as
/// `agent.disconnect`; answers the agent as it is afterwards. 404 outside the scope, 409
/// when it is not connected.
pub(crate) async fn disconnect(call: &Call, agent_id: &str) -> Result<AgentRow, Error> {
    let row = visible_agent(call, agent_id).await?;
    let registry = Arc::clone(&call.state.agents.registry);
    let closed = registry.disconnect_agent(agent_id, CloseReason::DisconnectedByAdmin);
    let (name, pool) = (row.hello.display_name.clone(), row.pool_id.clone());
    let id = agent_id.to_string();
    let r: Result<usize, AgentError> = audited(
        call,
        "agent.disconnect",
        agent_id,
        move |_tx, _actor, _now| {
            if closed == 0 {
                return Err(AgentError::NotConnected(format!(
                    "{name} is not connected, so there is nothing to disconnect"
                )));
            }
            Ok(Change {
                target: id.clone(),
                details: json!({ "name": name, "pool": pool, "connections": closed }),
                value: closed,
            })
        },
    )
    .await?;
    r?;
    let deadline = Instant::now() + DISCONNECT_WAIT;
    while registry.find(agent_id).is_some() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    visible_agent(call, agent_id).await
}

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

/// The tags the caller may see, with counts over the agents of their scope.
pub(crate) async fn tag_rows(call: &Call) -> Result<Vec<TagRow>, Error> {
    let s = scoped(call).await?;
    let records = call.state.store.read(crate::agents::history::tags).await?;
    Ok(tags::rows(
        records,
        s.rows(),
        matches!(s.scope, PoolScope::All),
    ))
}

/// Deletes a tag within the caller's scope, audited as `tag.delete`.
pub(crate) async fn delete_tag(
    call: &Call,
    name: &str,
) -> Result<Result<Forgotten, TagError>, Error> {
    if !protocol::tag_ok(name) {
        return Ok(Err(TagError::NotFound));
    }
    let registry = Arc::clone(&call.state.agents.registry);
    let tag = name.to_string();
    audited(call, "tag.delete", name, move |tx, actor, now| {
        let reach = scope::pool_scope(tx, actor, now)?;
        let gone = tags::forget(tx, &registry, &tag, &reach)?;
        Ok(Change {
            target: gone.name.clone(),
            details: json!({ "agents": gone.agents, "record_deleted": gone.record_deleted }),
            value: gone,
        })
    })
    .await
}

/// `GET /entities/tags`
pub async fn tags_list(
    call: &Call,
    notice: Option<String>,
    error: Option<String>,
    status: u16,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let v = TagList {
        rows: tag_rows(call).await?,
        can_delete: roles::allows(&p.user.roles, Permission::Tags, Need::Change),
        notice,
        error,
        now_ms: call.state.clock.now_ms(),
    };
    let markup = framed(&call.state, p, tags_page::BASE, |ctx| {
        tags_page::list(ctx, &v)
    });
    Ok(respond::html(status, markup))
}

async fn tag_delete_form(call: &Call) -> Result<Response<Body>, Error> {
    let name = call.form.text("name").trim().to_string();
    match delete_tag(call, &name).await? {
        Ok(gone) => {
            let notice = format!(
                "The tag {} was deleted{}.",
                gone.name,
                match gone.agents {
                    0 => String::new(),
                    1 => " from 1 agent".to_string(),
                    n => format!(" from {n} agents"),
                }
            );
            tags_list(call, Some(notice), None, 200).await
        }
        Err(TagError::InUse(message)) => tags_list(call, None, Some(message), 409).await,
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Custom sources
// ---------------------------------------------------------------------------------------------

/// The sources the caller may see with their match counts over the agents of their scope.
/// With `agents`, also the agents each one matches (connected first).
pub(crate) async fn source_lines(
    call: &Call,
    only: Option<&str>,
) -> Result<Vec<(SourceLine, Vec<AgentRow>)>, Error> {
    let s = scoped(call).await?;
    let reach = s.scope.clone();
    let (all, people) = call
        .state
        .store
        .read(move |tx| {
            let all = sources::in_scope(tx, &reach)?;
            let ids: BTreeSet<String> = all.iter().map(|s| s.created_by.clone()).collect();
            let mut people = BTreeMap::new();
            for id in ids {
                if let Some(u) = users::get(tx, &id)? {
                    people.insert(id, format!("{} <{}>", u.name, u.email));
                }
            }
            Ok((all, people))
        })
        .await?;
    let names: BTreeMap<&str, &str> = s
        .pools
        .iter()
        .map(|(id, n)| (id.as_str(), n.as_str()))
        .collect();
    let mut out = Vec::new();
    for source in all.into_iter().filter(|x| only.is_none_or(|id| x.id == id)) {
        let m = source.matcher();
        let mut matching: Vec<AgentRow> = s
            .rows()
            .filter(|r| m.matches(&r.pool_id, &r.hello.display_name, r.tags()))
            .cloned()
            .collect();
        view::sort(&mut matching, SortKey::Status, false);
        let line = SourceLine {
            pool_name: names.get(source.pool_id.as_str()).map(|n| n.to_string()),
            matching_now: matching.iter().filter(|r| r.connected()).count(),
            matching_known: matching.len(),
            created_by: people
                .get(&source.created_by)
                .cloned()
                .unwrap_or_else(|| source.created_by.clone()),
            source,
        };
        out.push((line, matching));
    }
    Ok(out)
}

/// One source the caller may see, with the agents it matches; 404 otherwise.
pub(crate) async fn visible_source(
    call: &Call,
    id: &str,
) -> Result<(SourceLine, Vec<AgentRow>), Error> {
    source_lines(call, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound)
}

/// Creates a source, audited as `custom_source.create` (refusals too).
pub(crate) async fn create_source(
    call: &Call,
    new: NewSource,
) -> Result<Result<CustomSource, SourceError>, Error> {
    audited(call, "custom_source.create", "", move |tx, actor, now| {
        let s = sources::create(tx, actor, &new, now)?;
        Ok(Change {
            target: s.id.clone(),
            details: source_details(&s),
            value: s,
        })
    })
    .await
}

/// Deletes a source in the caller's scope, audited as `custom_source.delete`.
pub(crate) async fn delete_source(call: &Call, id: &str) -> Result<CustomSource, Error> {
    let sid = id.to_string();
    let r: Result<CustomSource, SourceError> =
        audited(call, "custom_source.delete", id, move |tx, actor, now| {
            let s = sources::delete(tx, actor, &sid, now)?;
            Ok(Change {
                target: s.id.clone(),
                details: source_details(&s),
                value: s,
            })
        })
        .await?;
    Ok(r?)
}

fn source_details(s: &CustomSource) -> serde_json::Value {
    json!({
        "name": s.name,
        "pool": s.pool_id,
        "match": s.match_mode.as_str(),
        "rules": s.rules,
    })
}

/// `GET /entities/custom-sources`
pub async fn sources_list(call: &Call, notice: Option<String>) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let v = SourceList {
        lines: source_lines(call, None)
            .await?
            .into_iter()
            .map(|(l, _)| l)
            .collect(),
        can_change: roles::allows(&p.user.roles, Permission::CustomSources, Need::Change),
        notice,
        now_ms: call.state.clock.now_ms(),
    };
    let markup = framed(&call.state, p, sources_page::BASE, |ctx| {
        sources_page::list(ctx, &v)
    });
    Ok(respond::html(200, markup))
}

async fn source_page(
    call: &Call,
    id: &str,
    notice: Option<String>,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (line, agents) = visible_source(call, id).await?;
    let d = SourceDetail {
        line,
        agents,
        can_change: roles::allows(&p.user.roles, Permission::CustomSources, Need::Change),
        notice,
        now_ms: call.state.clock.now_ms(),
    };
    let markup = framed(&call.state, p, &call.path, |ctx| {
        sources_page::detail(ctx, &d)
    });
    Ok(respond::html(200, markup))
}

async fn pool_choices(call: &Call) -> Result<Vec<(String, String)>, Error> {
    let user = acting_user(call)?;
    let now_ms = call.state.clock.now_ms();
    let visible = call
        .state
        .store
        .read(move |tx| pools::visible(tx, &user, now_ms))
        .await?;
    Ok(visible.into_iter().map(|p| (p.id, p.name)).collect())
}

fn source_form(
    call: &Call,
    form: &SourceForm,
    errors: &FormErrors,
    status: u16,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let markup = framed(&call.state, p, sources_page::BASE, |ctx| {
        sources_page::new_form(ctx, form, errors)
    });
    Ok(respond::html(status, markup))
}

async fn source_create_form(call: &Call) -> Result<Response<Body>, Error> {
    let typed: Vec<(String, String)> = call
        .form
        .all("field")
        .zip(call.form.all("pattern"))
        .map(|(f, p)| (f.to_string(), p.to_string()))
        .collect();
    let mut form = SourceForm {
        name: call.form.text("name").to_string(),
        pool: call.form.text("pool").to_string(),
        match_mode: call.form.text("match").to_string(),
        rules: typed
            .iter()
            .filter(|(_, p)| !p.trim().is_empty())
            .cloned()
            .collect(),
        pools: Vec::new(),
    };
    let refuse = |field: &'static str, message: String| {
        FormErrors::none()
            .with_summary(
                "The custom source was not created. Please correct the field marked below.",
            )
            .with_field(field, message)
    };
    let mut rules = Vec::new();
    for (field, pattern) in &form.rules {
        let Some(field) = RuleField::parse(field) else {
            form.pools = pool_choices(call).await?;
            let e = refuse("rules", format!("{field:?} is not tag or name"));
            return source_form(call, &form, &e, 400);
        };
        rules.push(Rule {
            field,
            pattern: pattern.clone(),
        });
    }
    let Some(match_mode) = MatchMode::parse(&form.match_mode) else {
        form.pools = pool_choices(call).await?;
        let e = refuse("match", "choose any or all".into());
        return source_form(call, &form, &e, 400);
    };
    let new = NewSource {
        name: form.name.clone(),
        pool_id: form.pool.clone(),
        rules,
        match_mode,
    };
    match create_source(call, new).await? {
        Ok(s) => {
            source_page(
                call,
                &s.id,
                Some(format!("The custom source {} was created.", s.name)),
            )
            .await
        }
        Err(SourceError::Invalid { field, message }) => {
            form.pools = pool_choices(call).await?;
            source_form(call, &form, &refuse(field, message), 400)
        }
        Err(SourceError::Conflict(message)) => {
            form.pools = pool_choices(call).await?;
            source_form(call, &form, &refuse("name", message), 409)
        }
        Err(e) => Err(e.into()),
    }
}
