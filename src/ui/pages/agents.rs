//! Entities › Agents: the list of every agent in the user's pools, connected or not, with
//! filters kept in the address, and an agent's own page with its metadata, its connection and
//! the artifacts it loaded classes from, and the Disconnect button.
//!
//! The list's table sits in a region (`data-live`) that `lantern.js` replaces with what the
//! server pushes over server-sent events ([`live_region`] renders it, for the page and for the
//! stream alike); without JavaScript the page is an ordinary page that shows the state at the
//! time it was loaded.

use maud::{Markup, html};

use crate::agents::protocol::{ArtifactKind, Coordinates};
use crate::agents::registry::ArtifactView;
use crate::agents::view::{AgentRow, SortKey};
use crate::ui::components::{
    ButtonKind, FormErrors, PatternField, Status, Tone, badge, card, confirm_action, empty_state,
    facts, human_count, human_millis, link_button, live_list, name_pool_tag_fields, notice,
    query_string, rel_time, select, submit, tag, url_encode,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::{self, NavId};

/// Where the pages live.
pub const BASE: &str = "/entities/agents";
/// The event stream of the list (same query as the list).
pub const LIVE: &str = "/entities/agents/live";
/// Rows per page of the list.
pub const PAGE_SIZE: usize = 100;
/// Class names shown per artifact on an agent's page (the API gives more).
pub const NAMES_PER_ARTIFACT: usize = 50;
/// Artifacts shown on an agent's page.
pub const MAX_ARTIFACTS_SHOWN: usize = 1_000;

/// The path of an agent's page. The id is one encoded segment; an agent called `live` is
/// written with an encoded first letter so that its page is not mistaken for the stream.
pub fn agent_path(agent_id: &str) -> String {
    let segment = url_encode(agent_id);
    if segment == "live" {
        return format!("{BASE}/%6Cive");
    }
    format!("{BASE}/{segment}")
}

/// The list's query: filters, sort and page, as they travel in the address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Pool id.
    pub pool: String,
    /// Tag.
    pub tag: String,
    /// Name pattern.
    pub name: String,
    /// Runtime name.
    pub runtime: String,
    /// "", "yes" or "no".
    pub connected: String,
    /// Sort key.
    pub sort: SortKey,
    /// Descending.
    pub desc: bool,
    /// First row shown.
    pub offset: usize,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            pool: String::new(),
            tag: String::new(),
            name: String::new(),
            runtime: String::new(),
            connected: String::new(),
            sort: SortKey::Name,
            desc: false,
            offset: 0,
        }
    }
}

impl ListQuery {
    /// Whether a filter is set.
    pub fn filtered(&self) -> bool {
        !(self.pool.is_empty()
            && self.tag.is_empty()
            && self.name.is_empty()
            && self.runtime.is_empty()
            && self.connected.is_empty())
    }

    /// The query string (with `?`), with another sort and offset.
    pub fn with(&self, sort: SortKey, desc: bool, offset: usize) -> String {
        let offset = if offset == 0 {
            String::new()
        } else {
            offset.to_string()
        };
        let sort_value = if sort == SortKey::Name {
            ""
        } else {
            sort.as_str()
        };
        query_string(&[
            ("name", &self.name),
            ("pool", &self.pool),
            ("tag", &self.tag),
            ("runtime", &self.runtime),
            ("connected", &self.connected),
            ("sort", sort_value),
            ("dir", if desc { "desc" } else { "" }),
            ("offset", &offset),
        ])
    }

    /// This query as a string (with `?`, or "" when it is empty).
    pub fn current(&self) -> String {
        self.with(self.sort, self.desc, self.offset)
    }
}

/// The list page and its live region.
#[derive(Clone, Debug, Default)]
pub struct AgentList {
    /// The rows of this page.
    pub rows: Vec<AgentRow>,
    /// Rows that pass the filters.
    pub total: usize,
    /// Of those, connected.
    pub connected: usize,
    /// Agents in the user's pools before filtering (0: nobody connected one yet).
    pub known: usize,
    /// The query.
    pub query: ListQuery,
    /// Pools for the filter, `(id, name)`.
    pub pools: Vec<(String, String)>,
    /// Runtimes seen, for the filter.
    pub runtimes: Vec<String>,
    /// Now, unix ms.
    pub now_ms: i64,
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// A close-reason name (see `agents::protocol::CloseReason::as_str` and the gateway's
/// endings) as a few words for people.
pub fn reason_label(reason: &str) -> String {
    let text = match reason {
        "agent_stopped" => "the agent stopped",
        "agent_closed" => "closed by the agent",
        "connection_lost" => "connection lost",
        "appliance_restart" => "the appliance restarted",
        "appliance_shutdown" => "the appliance shut down",
        "disconnected_by_admin" => "disconnected by an administrator",
        "replaced" => "replaced by a newer connection",
        "idle_timeout" => "silent for too long",
        "slow_reader" => "too slow to read",
        "pool_refused" => "pool detached or key no longer valid",
        "protocol_error" => "protocol error",
        "binary_frame" => "sent a binary frame",
        "invalid_utf8" => "sent text that is not UTF-8",
        "message_too_big" => "message too big",
        "unsupported_version" => "no common protocol version",
        "hello_timeout" => "no hello in time",
        other => {
            return match other.strip_prefix("agent_closed_") {
                Some(code) => format!("closed by the agent (code {code})"),
                None => other.to_string(),
            };
        }
    };
    text.to_string()
}

/// Connected / Disconnected, with the reason.
pub fn status(row: &AgentRow) -> Markup {
    if row.connected() {
        badge(Status::Ok, "Connected")
    } else {
        html! {
            (badge(Status::Unknown, "Disconnected"))
            @if !row.last_disconnect_reason.is_empty() {
                br; span class="small muted" { (reason_label(&row.last_disconnect_reason)) }
            }
        }
    }
}

fn runtime(row: &AgentRow) -> String {
    format!("{} {}", row.hello.runtime.name, row.hello.runtime.version)
}

fn pool_cell(row: &AgentRow) -> Markup {
    match &row.pool_name {
        Some(name) => html! { (name) },
        None => html! { span class="muted" title=(row.pool_id) { "deleted pool" } },
    }
}

fn tags_cell(tags: &[String]) -> Markup {
    html! {
        @if tags.is_empty() {
            span class="muted" { "—" }
        } @else {
            ul class="tag-list" {
                @for t in tags {
                    li { a href={ (BASE) (query_string(&[("tag", t)])) } { (tag(t)) } }
                }
            }
        }
    }
}

fn sort_header(q: &ListQuery, key: SortKey, label: &str) -> Markup {
    let current = q.sort == key;
    let aria = match (current, q.desc) {
        (false, _) => "none",
        (true, false) => "ascending",
        (true, true) => "descending",
    };
    html! {
        th scope="col" aria-sort=(aria) {
            a href={ (BASE) (q.with(key, current && !q.desc, 0)) } { (label) }
        }
    }
}

/// The part of the list the event stream replaces: count, table and pagination, or the
/// empty state.
pub fn live_region(v: &AgentList) -> Markup {
    let q = &v.query;
    let now = secs(v.now_ms);
    let first = q.offset.saturating_add(1).min(v.total);
    let last = q.offset.saturating_add(v.rows.len());
    html! {
        @if v.known == 0 {
            (empty_state("No agents yet",
                "Agents appear here, live, as soon as they connect. Start your application with the Lantern agent and an agent-pool key: Getting Started has the exact command for Java and Python, and Settings › Agent Pools makes the key.",
                Some(html! {
                    (link_button(ButtonKind::Primary, nav::entry(NavId::GettingStarted).path, "Getting Started"))
                    " "
                    (link_button(ButtonKind::Secondary, nav::entry(NavId::AgentPools).path, "Agent Pools"))
                })))
        } @else if v.total == 0 {
            (empty_state("No agents match",
                "None of your agents has this name, pool, tag, runtime or status. Change the filters or clear them.",
                Some(link_button(ButtonKind::Secondary, BASE, "Clear filters"))))
        } @else if v.rows.is_empty() {
            (empty_state("Nothing on this page",
                &format!("{} agents match, on earlier pages.", v.total),
                Some(link_button(ButtonKind::Secondary, &format!("{BASE}{}", q.with(q.sort, q.desc, 0)), "First page"))))
        } @else {
            div class="list-meta" {
                span { "Showing " (first) "–" (last) " of " (v.total) " "
                    (if v.total == 1 { "agent" } else { "agents" })
                    " · " (v.connected) " connected" }
            }
            div class="table-wrap" { table class="table table-compact" {
                caption class="sr-only" { "Agents" }
                thead { tr {
                    (sort_header(q, SortKey::Name, "Name"))
                    (sort_header(q, SortKey::Status, "Status"))
                    th scope="col" { "Runtime" }
                    th scope="col" { "Host" }
                    (sort_header(q, SortKey::Pool, "Pool"))
                    th scope="col" { "Tags" }
                    th scope="col" { abbr title="Connected since" { "Connected" } }
                    (sort_header(q, SortKey::LastSeen, "Heartbeat"))
                    th scope="col" class="num" { abbr title="Classes loaded" { "Classes" } }
                } }
                tbody {
                    @for r in &v.rows {
                        tr {
                            th scope="row" {
                                a class="nowrap" href=(agent_path(&r.agent_id)) { (r.hello.display_name) }
                                br; span class="small muted" { (r.agent_id) }
                            }
                            td { (status(r)) }
                            td {
                                span class="nowrap" { (runtime(r)) }
                                br; span class="small muted nowrap" { "agent " (r.hello.agent_version) }
                            }
                            td {
                                (r.hello.host)
                                br; span class="small muted nowrap" { "pid " (r.hello.pid) }
                            }
                            td { (pool_cell(r)) }
                            td { (tags_cell(r.tags())) }
                            td {
                                @match &r.live {
                                    Some(l) => (rel_time(secs(l.connected_ms), now)),
                                    None => span class="muted" { "—" },
                                }
                            }
                            td { (rel_time(secs(r.last_heartbeat_ms()), now)) }
                            td class="num" {
                                @if r.connected() { (human_count(r.classes_loaded())) }
                                @else { span class="muted" { "—" } }
                            }
                        }
                    }
                }
            } }
            @if q.offset > 0 || last < v.total {
                nav class="pagination" aria-label="Pages" {
                    @if q.offset > 0 {
                        a class="button" href={ (BASE) (q.with(q.sort, q.desc, q.offset.saturating_sub(PAGE_SIZE))) } { "Previous" }
                    }
                    @if last < v.total {
                        a class="button" href={ (BASE) (q.with(q.sort, q.desc, last)) } { "Next" }
                    }
                }
            }
        }
    }
}

/// The Agents list.
pub fn list(ctx: &PageCtx, v: &AgentList) -> Markup {
    let q = &v.query;
    let mut pools: Vec<(&str, &str)> = vec![("", "All pools")];
    pools.extend(
        v.pools
            .iter()
            .map(|(id, name)| (id.as_str(), name.as_str())),
    );
    let mut runtimes: Vec<(&str, &str)> = vec![("", "Any runtime")];
    runtimes.extend(v.runtimes.iter().map(|r| (r.as_str(), r.as_str())));
    let statuses = [
        ("", "Any status"),
        ("yes", "Connected"),
        ("no", "Disconnected"),
    ];
    let none = FormErrors::none();
    let body = html! {
        form class="filter-bar" method="get" action=(BASE) role="search" {
            (name_pool_tag_fields(
                PatternField { label: "Name", placeholder: "orders-*", help: "Display name; * matches anything." },
                (&q.name, &q.pool, &q.tag),
                &pools,
            ))
            (select("runtime", "Runtime", &runtimes, &q.runtime, None, &none))
            (select("connected", "Status", &statuses, &q.connected, None, &none))
            @if q.sort != SortKey::Name { input type="hidden" name="sort" value=(q.sort.as_str()); }
            @if q.desc { input type="hidden" name="dir" value="desc"; }
            (submit(ButtonKind::Secondary, "Filter"))
            @if q.filtered() {
                a href=(BASE) { "Clear filters" }
            }
        }
        (live_list(&format!("{LIVE}{}", q.current()), live_region(v)))
    };
    let entry = nav::entry(NavId::Agents);
    page(ctx, entry.label, entry.summary, None, body)
}

/// An agent's page.
#[derive(Clone, Debug)]
pub struct AgentDetail {
    /// The agent.
    pub row: AgentRow,
    /// Its artifacts on the current connection (empty while disconnected), loaded first,
    /// at most [`MAX_ARTIFACTS_SHOWN`].
    pub artifacts: Vec<ArtifactView>,
    /// Artifacts not shown.
    pub more_artifacts: usize,
    /// Show the Disconnect button (Agents: change, and connected).
    pub can_disconnect: bool,
    /// Show "New action" with this agent as the target (Actions: change).
    pub can_place_actions: bool,
    /// A confirmation to show on top.
    pub notice: Option<String>,
    /// Now, unix ms.
    pub now_ms: i64,
}

fn coordinate(c: &Coordinates) -> Markup {
    let mut text = String::new();
    if let Some(g) = &c.group {
        text.push_str(g);
        text.push(':');
    }
    text.push_str(&c.name);
    if let Some(v) = &c.version {
        text.push(':');
        text.push_str(v);
    }
    let source = serde_json::to_value(c.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    html! {
        li {
            code { (text) }
            " "
            @if c.source.is_guess() {
                (badge(Status::Warning, "guess"))
                span class="small muted" { " from the file name; not used for matching" }
            } @else {
                span class="small muted" { "from " (source.replace('_', " ")) }
            }
        }
    }
}

fn kind_label(k: ArtifactKind) -> &'static str {
    match k {
        ArtifactKind::Jar => "jar",
        ArtifactKind::NestedJar => "nested jar",
        ArtifactKind::Directory => "directory",
        ArtifactKind::Runtime => "runtime",
        ArtifactKind::Distribution => "distribution",
    }
}

fn artifacts_table(d: &AgentDetail) -> Markup {
    let parent_of = |r: u32| {
        d.artifacts
            .iter()
            .find(|a| a.declared.id == r)
            .map(|a| a.declared.location.clone())
    };
    let rows = html! {
        @for a in &d.artifacts {
            tr {
                th scope="row" {
                    code class="break" { (a.declared.location) }
                    @if let Some(parent) = a.declared.parent.and_then(parent_of) {
                        br; span class="small muted" { "inside " (parent) }
                    }
                }
                td { (kind_label(a.declared.kind)) }
                td {
                    @if a.declared.coordinates.is_empty() {
                        span class="muted" { "unknown" }
                    } @else {
                        ul class="plain-list" { @for c in &a.declared.coordinates { (coordinate(c)) } }
                    }
                }
                td {
                    @match &a.declared.sha256 {
                        Some(h) => code title=(h) { (h.chars().take(12).collect::<String>()) "…" },
                        None => span class="muted" { "—" },
                    }
                }
                td {
                    @if a.class_count == 0 {
                        (badge(Status::Unknown, "present, never loaded"))
                    } @else {
                        strong { (human_count(a.class_count)) }
                    }
                    @if a.declared.kind == ArtifactKind::Runtime && a.class_count > 0 {
                        br; span class="small muted" { "counted, not listed" }
                    } @else if !a.classes.is_empty() {
                        details class="class-names" {
                            summary { "show " (a.classes.len()) " " (if a.classes.len() == 1 { "name" } else { "names" }) }
                            ul class="plain-list small" {
                                @for c in &a.classes { li { code class="break" { (c.as_ref()) } } }
                            }
                            @let more = a.class_count.saturating_sub(a.classes.len() as u64);
                            @if more > 0 {
                                p class="small muted" { (human_count(more)) " more not shown here; the API lists them." }
                            }
                        }
                    }
                }
            }
        }
    };
    crate::ui::components::table(
        "Artifacts",
        &[
            "Location",
            "Kind",
            "Coordinates",
            "SHA-256",
            "Classes loaded",
        ],
        rows,
    )
}

/// An agent's page.
pub fn detail(ctx: &PageCtx, d: &AgentDetail) -> Markup {
    let r = &d.row;
    let now = secs(d.now_ms);
    let h = &r.hello;
    let identity = facts(&[
        ("Status", status(r)),
        ("Agent id", html! { code { (r.agent_id) } }),
        ("Instance", html! { code { (h.instance_id) } }),
        (
            "Runtime",
            html! {
                (runtime(r))
                @if let Some(v) = &h.runtime.vendor { span class="muted" { " (" (v) ")" } }
            },
        ),
        ("Agent version", html! { (h.agent_version) }),
        ("Host", html! { (h.host) }),
        ("PID", html! { (h.pid) }),
        (
            "Pool",
            html! {
                (pool_cell(r))
                " "
                a class="small" href={ (BASE) (query_string(&[("pool", &r.pool_id)])) } { "its agents" }
            },
        ),
        ("Tags", tags_cell(r.tags())),
        (
            "Capabilities",
            html! {
                @if h.capabilities.is_empty() { span class="muted" { "none" } }
                @else { (h.capabilities.join(", ")) }
            },
        ),
        ("First seen", rel_time(secs(r.first_seen_ms), now)),
        ("Last seen", rel_time(secs(r.last_seen_ms), now)),
        ("Connections", html! { (r.connections) }),
    ]);
    let connection = match &r.live {
        None => html! {
            p { "Not connected. "
                @if !r.last_disconnect_reason.is_empty() {
                    "Its last connection ended: " strong { (reason_label(&r.last_disconnect_reason)) } ", "
                    (rel_time(secs(r.last_seen_ms), now)) "."
                }
            }
            p class="muted" { "Artifacts and classes are shown while the agent is connected: it sends them again on every connection." }
        },
        Some(l) => facts(&[
            ("Session", html! { code { (l.session_id) } }),
            ("Peer address", html! { (l.peer) }),
            ("Protocol", html! { "version " (l.protocol) }),
            ("Connected since", rel_time(secs(l.connected_ms), now)),
            ("Last heartbeat", rel_time(secs(l.last_heartbeat_ms), now)),
            (
                "Start-up state",
                if l.initial_done {
                    badge(Status::Ok, "complete")
                } else {
                    badge(Status::Warning, "still arriving")
                },
            ),
            ("Classes loaded", html! { (human_count(l.classes_loaded)) }),
            ("Artifacts", html! { (human_count(l.artifacts as u64)) }),
            (
                "Agent statistics",
                match &l.stats {
                    None => html! { span class="muted" { "not reported yet" } },
                    Some(s) => html! {
                        (human_count(s.classes_seen)) " classes seen, "
                        (human_count(s.messages_dropped)) " messages dropped, up "
                        (human_millis(s.uptime_ms))
                    },
                },
            ),
        ]),
    };
    let body = html! {
        @if let Some(n) = &d.notice { (notice(Tone::Ok, n)) }
        div class="grid-2" {
            (card("Agent", identity))
            (card("Connection", html! {
                (connection)
                @if d.can_disconnect && r.connected() {
                    (confirm_action("Disconnect",
                        "The agent's connection is closed now (close code 4000). It reconnects by itself after a back-off; to keep it out, detach its pool.",
                        &format!("{}/disconnect", agent_path(&r.agent_id)), ctx.csrf, "Disconnect the agent"))
                }
            }))
        }
        @if r.connected() {
            h2 { "Artifacts" }
            @if d.artifacts.is_empty() {
                (empty_state("No artifacts yet", "The agent has not declared any artifact on this connection yet.", None))
            } @else {
                p class="list-meta" {
                    span { (d.artifacts.len() + d.more_artifacts) " artifacts; those that loaded classes first. A coordinate marked "
                        strong { "guess" } " comes from the file name only." }
                }
                (artifacts_table(d))
                @if d.more_artifacts > 0 {
                    p class="muted" { (d.more_artifacts) " more artifacts are not shown here; GET /api/v1/agents/{id} lists them all." }
                }
            }
        }
    };
    page(
        ctx,
        &h.display_name,
        "An agent: what it is, where it runs, its connection and what it has loaded.",
        Some(html! {
            @if d.can_place_actions {
                (link_button(ButtonKind::Primary,
                    &format!("{}{}", crate::ui::pages::actions::NEW,
                        crate::ui::components::query_string(&[("target", &format!("agent:{}", r.agent_id))])),
                    "New action"))
                " "
            }
            (link_button(ButtonKind::Secondary, BASE, "All agents"))
        }),
        body,
    )
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::agents::protocol::{Artifact, CoordinateSource};
    use crate::agents::view::merge;
    use crate::agents::view::tests::{live, record};
    use crate::ui::test_support::assert_csp_clean;
    use std::sync::Arc;

    fn with_ctx<R>(f: impl FnOnce(&PageCtx) -> R) -> R {
        crate::ui::test_support::with_page_ctx(BASE, f)
    }

    fn rows() -> Vec<AgentRow> {
        merge(
            &[record("a/1", "<orders>", "p1", &["team/pay:prod"])],
            vec![live(1, "live", "live-one", "p1", &[])],
        )
    }

    #[test]
    fn the_list_escapes_links_and_shows_statuses() {
        let rows = rows();
        let v = AgentList {
            total: rows.len(),
            connected: 1,
            known: 2,
            rows,
            query: ListQuery {
                tag: "team/pay:prod".into(),
                ..Default::default()
            },
            pools: vec![("p1".into(), "Pool 1".into())],
            runtimes: vec!["java".into()],
            now_ms: 1_000_000,
        };
        let html = with_ctx(|c| list(c, &v)).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("&lt;orders&gt;"));
        assert!(html.contains("href=\"/entities/agents/a%2F1\""));
        assert!(html.contains("href=\"/entities/agents/%6Cive\""), "{html}");
        assert!(html.contains("data-live=\"/entities/agents/live?tag=team%2Fpay%3Aprod\""));
        assert!(html.contains("Connected") && html.contains("the agent stopped"));
        assert!(html.contains("Clear filters"));
        assert!(html.contains("Showing 1–2 of 2 agents · 1 connected"));
    }

    #[test]
    fn empty_lists_explain_what_to_do() {
        let v = AgentList::default();
        let html = live_region(&v).into_string();
        assert!(html.contains("No agents yet"));
        assert!(html.contains("href=\"/getting-started\""));
        assert!(html.contains("href=\"/settings/iam/agent-pools\""));
        let v = AgentList {
            known: 3,
            ..Default::default()
        };
        assert!(live_region(&v).into_string().contains("No agents match"));
    }

    #[test]
    fn the_agent_page_marks_guesses_and_never_loaded_artifacts() {
        let row = rows().into_iter().find(|r| r.connected()).unwrap();
        let art = |id, loc: &str, source, classes: Vec<&str>, count| ArtifactView {
            declared: Artifact {
                id,
                location: loc.into(),
                kind: ArtifactKind::Jar,
                parent: None,
                sha256: Some("ab".repeat(32)),
                coordinates: vec![Coordinates {
                    source,
                    group: None,
                    name: "guava".into(),
                    version: Some("32".into()),
                }],
            },
            class_count: count,
            classes: classes.into_iter().map(Arc::from).collect(),
        };
        let d = AgentDetail {
            row,
            artifacts: vec![
                art(1, "/a.jar", CoordinateSource::FileNameGuess, vec!["a.B"], 3),
                art(2, "/b.jar", CoordinateSource::PomProperties, vec![], 0),
            ],
            more_artifacts: 0,
            can_disconnect: true,
            can_place_actions: true,
            notice: None,
            now_ms: 1_000_000,
        };
        let html = with_ctx(|c| detail(c, &d)).into_string();
        assert_csp_clean(&html);
        assert!(html.contains(">guess</span>"));
        assert!(html.contains("from pom properties"));
        assert!(html.contains("present, never loaded"));
        assert!(html.contains("2 more not shown here"));
        assert!(html.contains(&format!("title=\"{}\"", "ab".repeat(32))));
        assert!(html.contains("action=\"/entities/agents/%6Cive/disconnect\""));
        assert!(html.contains("href=\"/entities/actions/new?target=agent%3Alive\""));
        let d = AgentDetail {
            can_disconnect: false,
            ..d
        };
        let html = with_ctx(|c| detail(c, &d)).into_string();
        assert!(!html.contains("/disconnect"));
    }

    #[test]
    fn reasons_read_as_words() {
        assert_eq!(
            reason_label("disconnected_by_admin"),
            "disconnected by an administrator"
        );
        assert_eq!(
            reason_label("agent_closed_4999"),
            "closed by the agent (code 4999)"
        );
        assert_eq!(reason_label("something_new"), "something_new");
    }
}
