//! Data Explorer: what actions captured, in three tabs. Snapshots: a list with filters kept in
//! the address and CSV/JSON export, and one hit's page with its stack and its variables as a
//! tree of `<details>` (runtime and declared types, and why a value was cut). Logs: the lines,
//! following live over server-sent events with a live indicator and a pause button. Metrics:
//! a server-drawn SVG chart per counter, tic-toc, duration and metric action, with labelled
//! axes and units, a `<title>` on every point and the numbers in a table beside it.

use maud::{Markup, html};
use serde_json::Value;

use crate::actions::explore::{Found, Results};
use crate::actions::live::MetricPoint;
use crate::actions::model::{Action, Kind};
use crate::actions::records::{StoredLog, StoredSnapshot};
use crate::ui::components::{
    ButtonKind, FormErrors, Tone, card, empty_state, facts, human_utc, live_list, notice,
    query_string, rel_time, select, submit, table, tag, url_encode,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::pages::actions::{detail_path, location_text};

/// The Snapshots tab.
pub const SNAPSHOTS: &str = "/data-explorer";
/// The Logs tab.
pub const LOGS: &str = "/data-explorer/logs";
/// The Metrics tab.
pub const METRICS: &str = "/data-explorer/metrics";
/// The export.
pub const EXPORT: &str = "/data-explorer/export";

/// The filters as typed (kept in the address).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Action id.
    pub action: String,
    /// Agent id or name.
    pub agent: String,
    /// Tag.
    pub tag: String,
    /// Pool id.
    pub pool: String,
    /// Author.
    pub author: String,
    /// Log level.
    pub level: String,
    /// Free text.
    pub q: String,
    /// From (RFC 3339 or a date).
    pub from: String,
    /// Until (RFC 3339 or a date).
    pub to: String,
}

impl Query {
    /// The query string of these filters (with `extra` pairs first).
    pub fn to_query(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = extra.to_vec();
        pairs.extend([
            ("action", self.action.as_str()),
            ("agent", self.agent.as_str()),
            ("tag", self.tag.as_str()),
            ("pool", self.pool.as_str()),
            ("author", self.author.as_str()),
            ("level", self.level.as_str()),
            ("q", self.q.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]);
        query_string(&pairs)
    }
}

/// Which tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Snapshots.
    Snapshots,
    /// Logs.
    Logs,
    /// Metrics.
    Metrics,
}

fn tabs(current: Tab, q: &Query) -> Markup {
    let qs = q.to_query(&[]);
    let item = |tab: Tab, path: &str, label: &str| {
        html! {
            li { a href={ (path) (qs) } aria-current=[(tab == current).then_some("page")] { (label) } }
        }
    };
    html! {
        // A navigation landmark of its own, but not a <nav>: the site navigation's current
        // entry stays the only <nav> link marked as the current page.
        div role="navigation" aria-label="Data Explorer tabs" {
            ul class="tabs" {
                (item(Tab::Snapshots, SNAPSHOTS, "Snapshots"))
                (item(Tab::Logs, LOGS, "Logs"))
                (item(Tab::Metrics, METRICS, "Metrics"))
            }
        }
    }
}

/// Which pages of Entities › Actions the viewer may open from here. Company Viewer and
/// Security read snapshots and logs but not actions, so they get no links they cannot follow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionLinks {
    /// An action's page (its location links there).
    pub open: bool,
    /// The "New action" form.
    pub create: bool,
}

impl ActionLinks {
    /// The action's location, linked to its page when the viewer may open it.
    fn location(self, a: &Action) -> Markup {
        html! {
            @if self.open { a href=(detail_path(&a.id)) { code { (location_text(&a.location)) } } }
            @else { code { (location_text(&a.location)) } }
        }
    }

    /// The "New action" button of an empty tab, when the viewer may place actions.
    fn new_action(self) -> Option<Markup> {
        self.create.then(|| {
            crate::ui::components::link_button(
                ButtonKind::Primary,
                crate::ui::pages::actions::NEW,
                "New action",
            )
        })
    }
}

/// Common data of every tab.
#[derive(Debug)]
pub struct Common<'a> {
    /// The filters.
    pub query: &'a Query,
    /// A filter that could not be read: `(field, message)`.
    pub errors: &'a FormErrors,
    /// The actions of this tab's kinds in scope, `(id, label)`, for the action filter.
    pub actions: &'a [(String, String)],
    /// Pools in scope, `(id, name)`.
    pub pools: &'a [(String, String)],
    /// Unix ms now.
    pub now_ms: i64,
    /// The links to actions the viewer may follow.
    pub links: ActionLinks,
}

fn text_filter(
    name: &str,
    label: &str,
    value: &str,
    placeholder: &str,
    errors: &FormErrors,
) -> Markup {
    let id = format!("f-{name}");
    let error = errors.field(name);
    html! {
        div class=(if error.is_some() { "field field-invalid" } else { "field" }) {
            label for=(id) { (label) }
            input id=(id) type="text" name=(name) value=(value) placeholder=(placeholder)
                aria-invalid=[error.map(|_| "true")];
            @if let Some(m) = error { p class="field-error" { (m) } }
        }
    }
}

fn filters(path: &str, tab: Tab, c: &Common) -> Markup {
    let q = c.query;
    let mut actions: Vec<(&str, &str)> = vec![("", "Any action")];
    actions.extend(c.actions.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    let mut pools: Vec<(&str, &str)> = vec![("", "Any pool")];
    pools.extend(c.pools.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    let levels = [
        ("", "Any level"),
        ("debug", "Debug"),
        ("info", "Info"),
        ("warn", "Warning"),
        ("error", "Error"),
    ];
    html! {
        form class="filter-bar" method="get" action=(path) role="search" aria-label="Filters" {
            (select("action", "Action", &actions, &q.action, None, c.errors))
            (text_filter("agent", "Agent", &q.agent, "agent name or id", c.errors))
            (text_filter("tag", "Tag", &q.tag, "production", c.errors))
            (select("pool", "Pool", &pools, &q.pool, None, c.errors))
            @if tab == Tab::Logs {
                (select("level", "Level", &levels, &q.level, None, c.errors))
            } @else {
                (text_filter("author", "Author", &q.author, "dev@example.com", c.errors))
            }
            (text_filter("q", "Text", &q.q, "order 42", c.errors))
            (text_filter("from", "From", &q.from, "2026-11-28 or 2026-11-28T10:00:00Z", c.errors))
            (text_filter("to", "Until", &q.to, "2026-11-29", c.errors))
            (submit(ButtonKind::Secondary, "Filter"))
            " " a href=(path) { "Clear" }
        }
    }
}

fn bound_notice<T>(r: &Results<T>, shown: usize) -> Markup {
    html! {
        p class="list-meta" {
            (r.matched) " matching, newest first"
            @if r.matched > shown { "; the newest " (shown) " are shown (export for more)" }
            "."
        }
        @if !r.complete {
            (notice(Tone::Info, "Only the newest results were searched (the search reads a bounded number per request). Narrow it by action, agent or time to reach older ones."))
        }
    }
}

/// The path of one snapshot's page.
pub fn hit_path(action_id: &str, seq: u64) -> String {
    format!("/data-explorer/snapshots/{}/{seq}", url_encode(action_id))
}

fn frame_text(f: &Value) -> String {
    let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let at = match (
        f.get("file").and_then(Value::as_str),
        f.get("line").and_then(Value::as_u64),
    ) {
        (Some(file), Some(line)) => format!(" ({file}:{line})"),
        (Some(file), None) => format!(" ({file})"),
        _ => String::new(),
    };
    format!("{}.{}{at}", s("class"), s("method"))
}

/// The Snapshots tab.
pub fn snapshots(ctx: &PageCtx, c: &Common, r: &Results<StoredSnapshot>) -> Markup {
    let now = c.now_ms.div_euclid(1000);
    let rows = html! {
        @for f in &r.items {
            @let s = &f.item;
            tr {
                th scope="row" { a href=(hit_path(&f.action.id, s.seq)) { (rel_time(s.time_ms.div_euclid(1000), now)) } }
                td { (c.links.location(&f.action)) }
                td { (s.from.agent_name) br; span class="small muted" { (s.from.pool_id) } }
                td { @for t in &s.from.tags { (tag(t)) " " } }
                td { (f.action.author) }
                td { @if let Some(fr) = s.frames.get(0) { code class="small" { (frame_text(fr)) } } }
            }
        }
    };
    let export = c
        .query
        .to_query(&[("kind", "snapshots"), ("format", "csv")]);
    let export_json = c
        .query
        .to_query(&[("kind", "snapshots"), ("format", "json")]);
    let body = html! {
        (tabs(Tab::Snapshots, c.query))
        (filters(SNAPSHOTS, Tab::Snapshots, c))
        @if r.items.is_empty() {
            (empty_state("No snapshots match",
                "A snapshot action captures the stack and variables each time its line runs (and its condition holds). Place one from Entities › Actions, or widen the filters.",
                c.links.new_action()))
        } @else {
            (bound_notice(r, r.items.len()))
            p { "Export these results: " a href={ (EXPORT) (export) } { "CSV" } " · " a href={ (EXPORT) (export_json) } { "JSON" } }
            (table("Snapshots", &["Time", "Action", "Agent", "Tags", "Author", "Where"], rows))
        }
    };
    page(
        ctx,
        "Data Explorer",
        "Snapshots captured by your actions; open one to see its stack and variables.",
        None,
        body,
    )
}

/// Why a value was cut, in words.
pub fn cut_text(cut: &str) -> &'static str {
    match cut {
        "depth" => "not captured: deeper than the agent goes (3 levels)",
        "size_budget" => {
            "cut short: the snapshot's size or time budget ran out, what is shown is the beginning"
        }
        "redacted" => "redacted: hidden by the redaction rules",
        "inaccessible" => "inaccessible: the module does not open this class to the agent",
        _ => "cut",
    }
}

/// How deep the tree is drawn (agents send at most 3 levels; this bounds what a bad agent
/// could make the page recurse through).
const MAX_TREE_DEPTH: usize = 8;
/// Most children drawn per value.
const MAX_CHILDREN: usize = 200;

fn type_text(v: &Value) -> String {
    let runtime = v.get("type").and_then(Value::as_str).unwrap_or("?");
    match v.get("declared").and_then(Value::as_str) {
        Some(d) if d != runtime => format!("{runtime} (declared {d})"),
        _ => runtime.to_string(),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v.get("value")? {
        Value::String(s) => Some(format!("\"{s}\"")),
        other => Some(other.to_string()),
    }
}

fn children(v: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    if let Some(fields) = v.get("fields").and_then(Value::as_array) {
        for f in fields.iter().take(MAX_CHILDREN) {
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            out.push((name, f));
        }
    }
    if let Some(items) = v.get("items").and_then(Value::as_array) {
        for (i, item) in items.iter().take(MAX_CHILDREN).enumerate() {
            out.push((format!("[{i}]"), item));
        }
    }
    if let Some(entries) = v.get("entries").and_then(Value::as_array) {
        for e in entries.iter().take(MAX_CHILDREN) {
            let key = e.get("key").map_or_else(
                || "?".to_string(),
                |k| scalar_text(k).unwrap_or_else(|| type_text(k)),
            );
            if let Some(val) = e.get("value") {
                out.push((format!("[{key}]"), val));
            }
        }
    }
    out
}

fn node(name: &str, v: &Value, depth: usize) -> Markup {
    let kids = if depth < MAX_TREE_DEPTH {
        children(v)
    } else {
        Vec::new()
    };
    let head = html! {
        span class="var-name" { (name) }
        @if let Some(s) = scalar_text(v) { " = " code { (s) } }
        @if let Some(e) = v.get("error").and_then(Value::as_str) { " " span class="var-cut" { "could not be evaluated: " (e) } }
        " " span class="var-type" { (type_text(v)) }
        @if let Some(n) = v.get("length").and_then(Value::as_u64) { " " span class="var-type" { "length " (n) } }
        @if let Some(c) = v.get("cut").and_then(Value::as_str) { " " span class="var-cut" { "(" (cut_text(c)) ")" } }
    };
    html! {
        li {
            @if kids.is_empty() {
                (head)
            } @else {
                details open[depth == 0] {
                    summary { (head) }
                    ul class="var-tree" {
                        @for (n, k) in &kids { (node(n, k, depth + 1)) }
                    }
                }
            }
        }
    }
}

/// A list of named values (locals, watches) as a tree.
pub fn value_tree(values: &Value, name_key: &str) -> Markup {
    html! {
        @match values.as_array() {
            Some(list) if !list.is_empty() => {
                ul class="var-tree" {
                    @for v in list.iter().take(MAX_CHILDREN) {
                        (node(v.get(name_key).and_then(Value::as_str).unwrap_or("?"), v, 0))
                    }
                }
            }
            _ => p class="muted" { "None." },
        }
    }
}

/// One snapshot's page.
pub fn hit(ctx: &PageCtx, f: &Found<StoredSnapshot>, links: ActionLinks, now_ms: i64) -> Markup {
    let s = &f.item;
    let a: &Action = &f.action;
    let now = now_ms.div_euclid(1000);
    let frames = s.frames.as_array().cloned().unwrap_or_default();
    let body = html! {
        p { a href={ (SNAPSHOTS) (query_string(&[("action", &a.id)])) } { "All snapshots of this action" } }
        @if s.truncated {
            (notice(Tone::Info, "The agent's budget cut part of this snapshot; cut values say why."))
        }
        (card("Hit", facts(&[
            ("Time", html! { (human_utc(s.time_ms.div_euclid(1000))) " (" (rel_time(s.time_ms.div_euclid(1000), now)) ")" }),
            ("Action", html! { (a.kind.as_str()) " at " (links.location(a)) }),
            ("Condition", html! { @match &a.condition { Some(c) => code { (c.text) }, None => "always" } }),
            ("Agent", html! { a href=(format!("/entities/agents/{}", url_encode(&s.from.agent_id))) { (s.from.agent_name) } }),
            ("Pool", html! { (s.from.pool_id) }),
            ("Tags", html! { @for t in &s.from.tags { (tag(t)) " " } }),
            ("Thread", html! { code { (s.thread) } }),
            ("Author", html! { (a.author) }),
        ])))
        (card("Stack", html! {
            @if frames.is_empty() { p class="muted" { "No frames." } }
            @else {
                ol class="stack" {
                    @for fr in frames.iter().take(MAX_CHILDREN) { li { code { (frame_text(fr)) } } }
                }
            }
        }))
        (card("Variables", html! {
            h3 { "Local variables" }
            (value_tree(&s.locals, "name"))
            @if let Some(this) = &s.this {
                h3 { code { "this" } }
                ul class="var-tree" { (node("this", this, 0)) }
            }
            @if s.watches.as_array().is_some_and(|w| !w.is_empty()) {
                h3 { "Watch expressions" }
                (value_tree(&s.watches, "text"))
            }
        }))
    };
    page(
        ctx,
        &format!("Snapshot at {}", location_text(&a.location)),
        "One hit: its stack and the values in scope at the line.",
        None,
        body,
    )
}

/// The Logs tab's live region: the lines, newest first.
pub fn logs_region(r: &Results<StoredLog>, links: ActionLinks, now_ms: i64) -> Markup {
    let now = now_ms.div_euclid(1000);
    html! {
        @if r.items.is_empty() {
            (empty_state("No log lines match",
                "A log action prints a line each time its line runs, as if a log statement were there. Place one from Entities › Actions, or widen the filters. New lines appear here as they arrive.", None))
        } @else {
            (bound_notice(r, r.items.len()))
            (table("Log lines", &["Time", "Level", "Agent", "Line", "Action"], html! {
                @for f in &r.items {
                    @let l = &f.item;
                    tr {
                        th scope="row" { (rel_time(l.time_ms.div_euclid(1000), now)) }
                        td { (l.level) }
                        td { (l.from.agent_name) }
                        td class="log-line" { (l.text) }
                        td { (links.location(&f.action)) }
                    }
                }
            }))
        }
    }
}

/// The Logs tab.
pub fn logs(ctx: &PageCtx, c: &Common, r: &Results<StoredLog>) -> Markup {
    let stream = format!("{LOGS}/live{}", c.query.to_query(&[]));
    let export = c.query.to_query(&[("kind", "logs"), ("format", "csv")]);
    let export_json = c.query.to_query(&[("kind", "logs"), ("format", "json")]);
    let body = html! {
        (tabs(Tab::Logs, c.query))
        (filters(LOGS, Tab::Logs, c))
        p { "Export: " a href={ (EXPORT) (export) } { "CSV" } " · " a href={ (EXPORT) (export_json) } { "JSON" } }
        (live_list(&stream, logs_region(r, c.links, c.now_ms)))
    };
    page(
        ctx,
        "Data Explorer",
        "Dynamic log lines from every agent in one place, following live.",
        None,
        body,
    )
}

/// One metric action's chart data.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The action.
    pub action: Action,
    /// Its points in the window, oldest first.
    pub points: Vec<MetricPoint>,
}

/// What a chart plots for a kind: title of the y axis and the value of a point.
fn measure(kind: Kind) -> (&'static str, fn(&MetricPoint) -> Option<f64>) {
    fn count(p: &MetricPoint) -> Option<f64> {
        Some(p.count as f64)
    }
    fn mean_ms(p: &MetricPoint) -> Option<f64> {
        (p.count > 0).then(|| p.sum.unwrap_or(0.0) / p.count as f64 / 1e6)
    }
    fn mean(p: &MetricPoint) -> Option<f64> {
        (p.count > 0).then(|| p.sum.unwrap_or(0.0) / p.count as f64)
    }
    match kind {
        Kind::Tictoc | Kind::Duration => ("mean time (ms)", mean_ms),
        Kind::Metric => ("mean value", mean),
        _ => ("hits per interval", count),
    }
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

fn clock(ms: i64) -> String {
    let full = human_utc(ms.div_euclid(1000));
    full.get(11..19).unwrap_or(&full).to_string()
}

/// The chart of one action: an SVG line with a `<title>` per point, and the numbers in a
/// table (so nothing depends on seeing the line).
pub fn chart(c: &Chart) -> Markup {
    let (unit, value) = measure(c.action.kind);
    let pts: Vec<(i64, f64, &MetricPoint)> = c
        .points
        .iter()
        .filter_map(|p| value(p).map(|v| (p.end_ms, v, p)))
        .collect();
    let title = format!(
        "{} at {}",
        c.action.kind.as_str(),
        location_text(&c.action.location)
    );
    let (t0, t1) = match (pts.first(), pts.last()) {
        (Some(a), Some(b)) => (a.0, b.0.max(a.0 + 1)),
        _ => (0, 1),
    };
    let vmax = pts.iter().map(|p| p.1).fold(0.0_f64, f64::max).max(1e-9);
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / vmax) * (H - TOP - BOTTOM);
    let line: Vec<String> = pts
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1)))
        .collect();
    let fmt = |v: f64| {
        if v >= 100.0 || v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    html! {
        figure {
            @if pts.is_empty() {
                p class="muted" { (title) ": no hits in the last 5 minutes. Agents send aggregates every 10 seconds while the line runs." }
            } @else {
                svg class="chart" viewBox={ "0 0 " (W) " " (H) } role="img" aria-labelledby={ "chart-" (c.action.id) } {
                    title id={ "chart-" (c.action.id) } { (title) ": " (unit) " over the last 5 minutes" }
                    line class="axis" x1=(LEFT) y1=(H - BOTTOM) x2=(W - RIGHT) y2=(H - BOTTOM) {}
                    line class="axis" x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(H - BOTTOM) {}
                    @for i in 0..=2 {
                        @let v = vmax * f64::from(i) / 2.0;
                        line class="grid" x1=(LEFT) y1=(y(v)) x2=(W - RIGHT) y2=(y(v)) {}
                        text x=(LEFT - 6.0) y=(y(v) + 4.0) text-anchor="end" { (fmt(v)) }
                    }
                    text x=(LEFT) y=(H - BOTTOM + 16.0) text-anchor="start" { (clock(t0)) }
                    text x=(W - RIGHT) y=(H - BOTTOM + 16.0) text-anchor="end" { (clock(t1)) }
                    text x=((LEFT + W - RIGHT) / 2.0) y=(H - 6.0) text-anchor="middle" { "time (UTC)" }
                    text x="12" y=((TOP + H - BOTTOM) / 2.0) text-anchor="middle" transform={ "rotate(-90 12 " ((TOP + H - BOTTOM) / 2.0) ")" } { (unit) }
                    polyline class="series" points=(line.join(" ")) {}
                    @for p in &pts {
                        circle class="point" cx=(format!("{:.1}", x(p.0))) cy=(format!("{:.1}", y(p.1))) r="3" {
                            title { (clock(p.0)) " UTC, " (p.2.agent_id) ": " (fmt(p.1)) " " (unit) " (" (p.2.count) " hits)" }
                        }
                    }
                }
                figcaption { (title) }
                details {
                    summary { "The numbers" }
                    (table(&title, &["End of interval (UTC)", "Agent", "Hits", unit], html! {
                        @for p in &pts {
                            tr { th scope="row" { (clock(p.0)) } td { (p.2.agent_id) } td { (p.2.count) } td { (fmt(p.1)) } }
                        }
                    }))
                }
            }
        }
    }
}

/// The Metrics tab.
pub fn metrics(ctx: &PageCtx, c: &Common, charts: &[Chart]) -> Markup {
    let body = html! {
        (tabs(Tab::Metrics, c.query))
        @if charts.is_empty() {
            (empty_state("No metric actions",
                "Counters, tic-tocs, durations and metrics show here as charts of the last 5 minutes. Place one from Entities › Actions.",
                c.links.new_action()))
        } @else {
            @for ch in charts { (card(&format!("{} at {}", ch.action.kind.as_str(), location_text(&ch.action.location)), chart(ch))) }
        }
    };
    page(
        ctx,
        "Data Explorer",
        "Counters, tic-tocs, durations and metrics over the last 5 minutes.",
        None,
        body,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::actions::model::{Caps, NewAction, Origin};
    use crate::actions::records::FromAgent;
    use crate::ui::test_support::{assert_csp_clean, with_page_ctx};
    use serde_json::json;
    use std::sync::Arc;

    fn action(kind: &str) -> Action {
        NewAction {
            kind: Some(kind.into()),
            location: Some(json!({"file": "Shop.java", "line": 12})),
            target: Some(json!({"kind": "tag", "id": "prod"})),
            ..Default::default()
        }
        .validate(
            Origin::Portal,
            &Caps::default(),
            "a1".into(),
            "dev@x".into(),
            0,
        )
        .unwrap()
    }

    fn snapshot() -> StoredSnapshot {
        StoredSnapshot {
            from: FromAgent {
                agent_id: "id-shop".into(),
                agent_name: "shop<1>".into(),
                pool_id: "default".into(),
                tags: vec!["prod".into()],
            },
            seq: 3,
            time_ms: 1_000,
            thread: "main".into(),
            frames: json!([{"class": "demo.Shop", "method": "checkout", "file": "Shop.java", "line": 12}]),
            this: Some(
                json!({"type": "demo.Shop", "fields": [{"name": "count", "type": "int", "value": 3}]}),
            ),
            locals: json!([
                {"name": "order", "type": "demo.Order", "fields": [
                    {"name": "lines", "type": "java.util.ArrayList", "declared": "java.util.List", "length": 1000,
                     "items": [{"type": "java.lang.String", "value": "<book>"}], "cut": "size_budget"}]},
                {"name": "password", "type": "java.lang.String", "cut": "redacted"},
                {"name": "m", "type": "java.util.HashMap", "entries": [{"key": {"type": "java.lang.String", "value": "k"}, "value": {"type": "int", "value": 1}}]}
            ]),
            watches: json!([{"text": "order.id", "type": "long", "value": 7}]),
            truncated: true,
        }
    }

    #[test]
    fn a_hit_shows_its_stack_and_a_tree_that_says_why_values_were_cut() {
        let f = Found {
            action: Arc::new(action("snapshot")),
            item: snapshot(),
        };
        let all = ActionLinks {
            open: true,
            create: true,
        };
        let html = with_page_ctx("/data-explorer", |ctx| {
            hit(ctx, &f, all, 5_000).into_string()
        });
        assert_csp_clean(&html);
        assert!(html.contains("href=\"/entities/actions/a1\""));
        assert!(html.contains("demo.Shop.checkout (Shop.java:12)"));
        assert!(html.contains("java.util.ArrayList (declared java.util.List)"));
        assert!(
            html.contains("&quot;&lt;book&gt;&quot;"),
            "values are escaped"
        );
        assert!(html.contains("redacted: hidden by the redaction rules"));
        assert!(html.contains("cut short: the snapshot"));
        assert!(html.contains("[&quot;k&quot;]"), "map entries by key");
        assert!(html.contains("<details open><summary><span class=\"var-name\">order</span>"));
        assert!(html.contains("order.id"));
        assert!(html.contains("shop&lt;1&gt;"));
    }

    #[test]
    fn lists_charts_and_empty_states_render_clean() {
        let q = Query {
            action: "a1".into(),
            q: "x y".into(),
            ..Default::default()
        };
        let errors = FormErrors::none();
        let c = Common {
            query: &q,
            errors: &errors,
            actions: &[("a1".into(), "snapshot at Shop.java:12".into())],
            pools: &[],
            now_ms: 2_000,
            links: ActionLinks {
                open: true,
                create: true,
            },
        };
        let r = Results {
            items: vec![Found {
                action: Arc::new(action("snapshot")),
                item: snapshot(),
            }],
            matched: 1,
            complete: false,
        };
        let html = with_page_ctx(SNAPSHOTS, |ctx| snapshots(ctx, &c, &r).into_string());
        assert_csp_clean(&html);
        assert!(html.contains("/data-explorer/snapshots/a1/3"));
        assert!(html.contains(
            "/data-explorer/export?kind=snapshots&amp;format=csv&amp;action=a1&amp;q=x%20y"
        ));
        assert!(html.contains("Only the newest results were searched"));
        let empty: Results<StoredLog> = Results {
            items: vec![],
            matched: 0,
            complete: true,
        };
        let html = with_page_ctx(LOGS, |ctx| logs(ctx, &c, &empty).into_string());
        assert_csp_clean(&html);
        assert!(html.contains("data-live=\"/data-explorer/logs/live?action=a1&amp;q=x%20y\""));
        assert!(html.contains("No log lines match"));
        let point = |end_ms, count, sum| MetricPoint {
            agent_id: "id-shop".into(),
            end_ms,
            interval_ms: 10_000,
            count,
            sum,
            min: None,
            max: None,
        };
        let charts = [
            Chart {
                action: action("counter"),
                points: vec![point(10_000, 4, None), point(20_000, 8, None)],
            },
            Chart {
                action: NewAction {
                    kind: Some("duration".into()),
                    location: Some(json!({"class": "demo.Shop", "method": "checkout"})),
                    target: Some(json!({"kind": "tag", "id": "prod"})),
                    ..Default::default()
                }
                .validate(Origin::Portal, &Caps::default(), "a2".into(), "d".into(), 0)
                .unwrap(),
                points: vec![point(10_000, 2, Some(3e6))],
            },
        ];
        let html = with_page_ctx(METRICS, |ctx| metrics(ctx, &c, &charts).into_string());
        assert_csp_clean(&html);
        assert!(html.contains("hits per interval"));
        assert!(html.contains("00:00:20 UTC, id-shop: 8 hits per interval (8 hits)"));
        assert!(html.contains("mean time (ms)"));
        assert!(html.contains("1.50"), "3 ms over 2 hits");
    }

    #[test]
    fn readers_of_results_who_cannot_open_actions_get_no_links_to_them() {
        // Company Viewer and Security: results yes, Entities › Actions no.
        let none = ActionLinks::default();
        let f = Found {
            action: Arc::new(action("snapshot")),
            item: snapshot(),
        };
        let q = Query::default();
        let errors = FormErrors::none();
        let c = Common {
            query: &q,
            errors: &errors,
            actions: &[],
            pools: &[],
            now_ms: 2_000,
            links: none,
        };
        let one = Results {
            items: vec![f],
            matched: 1,
            complete: true,
        };
        let empty: Results<StoredSnapshot> = Results {
            items: vec![],
            matched: 0,
            complete: true,
        };
        let pages = [
            with_page_ctx(SNAPSHOTS, |ctx| snapshots(ctx, &c, &one).into_string()),
            with_page_ctx(SNAPSHOTS, |ctx| snapshots(ctx, &c, &empty).into_string()),
            with_page_ctx(METRICS, |ctx| metrics(ctx, &c, &[]).into_string()),
            with_page_ctx(SNAPSHOTS, |ctx| {
                hit(ctx, &one.items[0], none, 0).into_string()
            }),
        ];
        for html in &pages {
            assert!(!html.contains("href=\"/entities/actions/"), "{html}");
        }
        assert!(
            pages[0].contains("<code>Shop.java:12</code>"),
            "the location, as text"
        );
    }
}
