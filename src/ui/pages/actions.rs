//! Entities › Actions ("Action Information"): every action in the viewer's scope with its
//! type, location, condition, target, author, times, expiry, hits and the status each agent
//! reported; the "New action" form (also opened from an agent's page with that agent as the
//! target); and one action's page with its per-agent statuses in plain words (quotas
//! included), disable/enable and delete. Plain forms with the CSRF field: everything works
//! without JavaScript; `lantern.js` adds validation as you type and hides the fields the
//! chosen type does not use.

use maud::{Markup, html};

use crate::actions::live::AgentStatus;
use crate::actions::model::{Action, Kind, Location, TargetKind};
use crate::ui::components::{
    ButtonKind, Field, FormErrors, Status, Tone, badge, card, checkbox, confirm_action,
    empty_state, error_summary, facts, field_id, link_button, notice, post_form, query_string,
    rel_time, select, submit, table, url_encode,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::{self, NavId};

/// Where the list lives.
pub const BASE: &str = "/entities/actions";
/// The form.
pub const NEW: &str = "/entities/actions/new";
/// Where the form's script asks for the errors of what is typed so far.
pub const VALIDATE: &str = "/entities/actions/validate";

/// One action as the pages show it.
#[derive(Clone, Debug)]
pub struct ActionRow {
    /// The action.
    pub action: Action,
    /// Whether it is live (not expired, disabled or deleted).
    pub active: bool,
    /// Each agent's status.
    pub statuses: Vec<AgentStatus>,
    /// Snapshots and log lines received in all.
    pub hits: (u64, u64),
    /// Hits counted by metric aggregates in the last five minutes.
    pub metric_hits: u64,
}

impl ActionRow {
    /// The hits, in words that fit the kind.
    pub fn hits_text(&self) -> String {
        let n = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        match self.action.kind {
            Kind::Snapshot => n(self.hits.0, "snapshot", "snapshots"),
            Kind::Log => n(self.hits.1, "log line", "log lines"),
            _ => n(
                self.metric_hits,
                "hit in the last 5 min",
                "hits in the last 5 min",
            ),
        }
    }

    /// Its state in a word: active, disabled or expired.
    pub fn state(&self, now_ms: i64) -> &'static str {
        if self.action.disabled {
            "disabled"
        } else if self.active {
            "active"
        } else if self.action.expires_at_ms <= now_ms {
            "expired"
        } else {
            "inactive"
        }
    }
}

/// `file:line` or `class.method()`.
pub fn location_text(l: &Location) -> String {
    match l {
        Location::Line { file, line } => format!("{file}:{line}"),
        Location::Method { class, method } => format!("{class}.{method}()"),
    }
}

/// The kind as a title starts with it.
pub fn kind_title(k: Kind) -> &'static str {
    match k {
        Kind::Snapshot => "Snapshot",
        Kind::Log => "Log",
        Kind::Counter => "Counter",
        Kind::Tictoc => "Tic-toc",
        Kind::Duration => "Duration",
        Kind::Metric => "Metric",
    }
}

/// The kind of a target in words.
pub fn target_kind_text(k: TargetKind) -> &'static str {
    match k {
        TargetKind::Agent => "agent",
        TargetKind::Tag => "tag",
        TargetKind::CustomSource => "custom source",
        TargetKind::Pool => "pool",
    }
}

fn target_text(a: &Action) -> String {
    format!("{} {}", target_kind_text(a.target.kind), a.target.id)
}

/// The badge for an agent's status, with words people use.
fn status_badge(s: &str) -> Markup {
    match s {
        "installed" => badge(Status::Ok, "Installed"),
        "completed" => badge(Status::Ok, "Completed (hit cap)"),
        "sent" => badge(Status::Unknown, "Sent, no answer yet"),
        "pending" => badge(Status::Warning, "Pending: class not loaded yet"),
        "rate_limited" => badge(Status::Warning, "Rate-limited"),
        "paused_quota" => badge(Status::Warning, "Paused: log quota spent"),
        "expired" => badge(Status::Unknown, "Expired"),
        "disabled" => badge(Status::Unknown, "Disabled"),
        "condition_error" => badge(Status::Error, "Condition error"),
        "error" => badge(Status::Error, "Error"),
        other => badge(Status::Unknown, other),
    }
}

/// What a status means, in a sentence (quotas and limits included, so nobody has to guess why
/// an action stopped firing).
pub fn status_explained(s: &AgentStatus, a: &Action) -> String {
    let why = s.message.as_deref().unwrap_or("no reason given");
    match s.status.as_str() {
        "sent" => "Sent to the agent; it has not answered yet.".into(),
        "pending" => "Waiting: no loaded class has this location yet. The agent installs it as soon as the class loads.".into(),
        "installed" => match &s.resolved {
            Some(r) => format!(
                "Installed in {}.{}{}.",
                r.class,
                r.method,
                r.line.map(|l| format!(" at line {l}")).unwrap_or_default()
            ),
            None => "Installed.".into(),
        },
        "error" => format!("Could not be installed: {why}."),
        "completed" => match a.max_hits {
            Some(n) => format!(
                "Completed: it reached its cap of {n} {} on this agent and was removed there.",
                if n == 1 { "hit" } else { "hits" }
            ),
            None => "Completed on this agent.".into(),
        },
        "expired" => "Expired: its time ran out and it was removed.".into(),
        "disabled" => "Disabled: taken off this agent until someone enables it.".into(),
        "rate_limited" => "Rate-limited: it fires more often than the agent allows (1 snapshot a second per action, 10 per agent), so hits are being dropped. It goes on by itself when the code runs less often.".into(),
        "paused_quota" => "Paused by quota: the agent's log quota (50 lines or 20 KiB a second) is spent, so this action waits for the rest of the second and then goes on by itself.".into(),
        "condition_error" => format!("Stopped: its condition could not be evaluated ({why}). Fix the condition and create the action again."),
        other => format!("{other}: {why}"),
    }
}

fn statuses_cell(statuses: &[AgentStatus], now: i64) -> Markup {
    html! {
        @if statuses.is_empty() {
            span class="muted" { "No agent reached yet" }
        } @else {
            ul class="plain-list" {
                @for s in statuses {
                    li {
                        (s.agent_name) " " (status_badge(&s.status))
                        @if let Some(m) = &s.message { " " span class="small" { (m) } }
                        @if let Some(r) = &s.resolved {
                            " " span class="small muted" {
                                "at " (r.class) "." (r.method)
                                @if let Some(l) = r.line { ":" (l) }
                            }
                        }
                        " " span class="small muted" { (rel_time(s.at_ms.div_euclid(1000), now)) }
                    }
                }
            }
        }
    }
}

fn expiry_cell(r: &ActionRow, now_ms: i64) -> Markup {
    let a = &r.action;
    let now = now_ms.div_euclid(1000);
    html! {
        @match r.state(now_ms) {
            "active" => { "expires " (rel_time(a.expires_at_ms.div_euclid(1000), now)) },
            "disabled" => (badge(Status::Unknown, "Disabled")),
            _ => (badge(Status::Unknown, "Expired")),
        }
        @if let Some(h) = a.max_hits { br; span class="small muted" { "at most " (h) " hits per agent" } }
    }
}

/// The path of an action's page.
pub fn detail_path(id: &str) -> String {
    format!("{BASE}/{}", url_encode(id))
}

/// The list page.
pub fn list(ctx: &PageCtx, rows: &[ActionRow], can_create: bool, now_ms: i64) -> Markup {
    let now = now_ms.div_euclid(1000);
    let body_rows = html! {
        @for r in rows {
            @let a = &r.action;
            tr {
                th scope="row" {
                    a href=(detail_path(&a.id)) { (a.kind.as_str()) }
                    br; span class="small muted" { code { (a.id) } }
                }
                td {
                    code { (location_text(&a.location)) }
                    @if let Some(end) = &a.end { " → " code { (location_text(end)) } }
                }
                td {
                    @match &a.condition {
                        Some(c) => code { (c.text) },
                        None => span class="muted" { "always" },
                    }
                    @if let Some((t, _)) = &a.template { br; span class="small" { "log: " code { (t) } } }
                    @for w in &a.watches { br; span class="small" { "watch: " code { (w.text) } } }
                }
                td { (target_text(a)) }
                td { (a.author) br; span class="small muted" { (rel_time(a.created_ms.div_euclid(1000), now)) } }
                td { (expiry_cell(r, now_ms)) }
                td { (r.hits_text()) }
                td { (statuses_cell(&r.statuses, now)) }
            }
        }
    };
    let columns = [
        "Type",
        "Location",
        "Condition",
        "Target",
        "Author",
        "Expiry",
        "Hits",
        "Status per agent",
    ];
    let primary = can_create.then(|| link_button(ButtonKind::Primary, NEW, "New action"));
    let body = html! {
        @if rows.is_empty() {
            (empty_state("No actions yet",
                "A snapshot, log or metric placed on a line of a running application appears here with the status each agent reports: pending until its class loads, installed, or an error with its reason.",
                Some(if can_create { link_button(ButtonKind::Primary, NEW, "New action") }
                     else { link_button(ButtonKind::Secondary, nav::entry(NavId::GettingStarted).path, "Getting Started") })))
        } @else {
            p class="list-meta" {
                (rows.len()) " " (if rows.len() == 1 { "action" } else { "actions" }) ", newest first."
                // AppSec sees actions but not their results: no link it cannot follow.
                @if (ctx.visible)(NavId::DataExplorer) {
                    " Their snapshots, logs and metrics are in the " a href=(nav::entry(NavId::DataExplorer).path) { "Data Explorer" } "."
                }
            }
            (table("Actions", &columns, body_rows))
        }
    };
    let entry = nav::entry(NavId::Actions);
    page(ctx, entry.label, entry.summary, primary, body)
}

/// The form's values as typed (strings, so that a wrong value comes back as it was).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionForm {
    /// `snapshot` … `metric`.
    pub kind: String,
    /// Source file.
    pub file: String,
    /// Line number.
    pub line: String,
    /// Class (method locations).
    pub class: String,
    /// Method (method locations).
    pub method: String,
    /// A tic-toc's second line (same file).
    pub end_line: String,
    /// `kind:id`, e.g. `agent:id-orders`.
    pub target: String,
    /// Condition text.
    pub condition: String,
    /// Watch expressions, one per line.
    pub expressions: String,
    /// Log template.
    pub template: String,
    /// Log level.
    pub level: String,
    /// Log outputs (`appliance`, `stdout`).
    pub outputs: Vec<String>,
    /// Metric value expression.
    pub value: String,
    /// Hit cap.
    pub max_hits: String,
    /// Seconds until expiry.
    pub expires_in: String,
    /// Ignore quotas.
    pub ignore_quota: bool,
}

/// Expiry choices of the form: `(seconds, label)`.
pub const EXPIRY_CHOICES: [(&str, &str); 6] = [
    ("300", "5 minutes"),
    ("900", "15 minutes"),
    ("3600", "1 hour (default)"),
    ("14400", "4 hours"),
    ("86400", "1 day"),
    ("604800", "7 days"),
];

/// The form page's data.
#[derive(Debug)]
pub struct FormView<'a> {
    /// Values.
    pub form: &'a ActionForm,
    /// Errors.
    pub errors: &'a FormErrors,
    /// Target choices: `(value, label)`, e.g. `("tag:prod", "Tag prod")`.
    pub targets: &'a [(String, String)],
    /// Whether the viewer may ignore quotas (the checkbox is shown only then).
    pub may_ignore_quota: bool,
}

/// The fields of one kind, hidden by the script when another kind is chosen.
fn for_kinds(kinds: &str, legend: &str, body: Markup) -> Markup {
    html! {
        fieldset class="fieldset" data-kinds=(kinds) {
            legend { (legend) }
            (body)
        }
    }
}

/// The "New action" form.
pub fn form(ctx: &PageCtx, v: &FormView) -> Markup {
    let f = v.form;
    let e = v.errors;
    let kinds: Vec<(&str, &str)> = vec![
        ("snapshot", "Snapshot: stack and variables at a line"),
        (
            "log",
            "Log: a line printed as if a log statement were there",
        ),
        ("counter", "Counter: how often a line runs"),
        ("tictoc", "Tic-toc: time between two lines"),
        ("duration", "Duration: how long a method takes"),
        ("metric", "Metric: a number read at a line"),
    ];
    let mut targets: Vec<(&str, &str)> = vec![("", "Choose agents…")];
    targets.extend(v.targets.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    let levels = [
        ("info", "Info"),
        ("debug", "Debug"),
        ("warn", "Warning"),
        ("error", "Error"),
    ];
    let out = |o: &str| f.outputs.iter().any(|x| x == o);
    let outputs_error = e.field("outputs");
    let body = html! {
        (card("Place an action", html! {
            form class="form" method="post" action=(BASE) data-validate=(VALIDATE) novalidate {
                (crate::ui::components::csrf_input(ctx.csrf))
                (error_summary(e))
                (select("type", "Type", &kinds, if f.kind.is_empty() { "snapshot" } else { &f.kind },
                    Some("What the action does. A snapshot never stops the application."), e))
                fieldset class="fieldset" {
                    legend { "Location" }
                    p class="field-help" { "A line (file and line number); a duration takes a method (class and method) instead." }
                    div data-kinds="snapshot log counter tictoc metric" {
                        (Field::text("file", "File").value(&f.file).placeholder("OrderServlet.java").required()
                            .help("The file name, or a path ending in it (com/acme/OrderServlet.java).").render(e))
                        (Field::new("text", "line", "Line").value(&f.line).placeholder("64").required().render(e))
                    }
                    div data-kinds="tictoc" {
                        (Field::new("text", "end_line", "End line").value(&f.end_line).placeholder("81").required()
                            .help("A tic-toc measures from the line above to this later line of the same file.").render(e))
                    }
                    div data-kinds="duration" {
                        (Field::text("class", "Class").value(&f.class).placeholder("com.acme.OrderServlet").required().render(e))
                        (Field::text("method", "Method").value(&f.method).placeholder("doGet").required().render(e))
                    }
                }
                (select("target", "Target", &targets, &f.target,
                    Some("Which agents: one agent, every agent with a tag, a custom source or a whole pool (tags, sources and pools also reach agents that connect later)."), e))
                (Field::text("condition", "Condition").value(&f.condition).placeholder("order.total > 100")
                    .help("Fires only where this holds: field paths, literals, == != < <= > >=, && || !. Leave empty to fire every time.").render(e))
                (for_kinds("snapshot", "Snapshot", html! {
                    (Field::textarea("expressions", "Watch expressions").value(&f.expressions)
                        .placeholder("order.customer.id")
                        .help("One per line, at most 20; their values are captured with the snapshot.").render(e))
                }))
                (for_kinds("log", "Log", html! {
                    (Field::text("template", "Log message").value(&f.template).required().placeholder("order {order.id} for {user.name}")
                        .help("Text with {expressions} in braces, filled in at the line.").render(e))
                    (select("level", "Level", &levels, if f.level.is_empty() { "info" } else { &f.level }, None, e))
                    fieldset class=(if outputs_error.is_some() { "field field-invalid" } else { "field" }) id=(field_id("outputs")) {
                        legend { "Where to print" }
                        div class="field-check" {
                            input id="f-outputs-appliance" type="checkbox" name="outputs" value="appliance" checked[out("appliance") || f.outputs.is_empty()];
                            label for="f-outputs-appliance" { "The appliance (Data Explorer)" }
                        }
                        div class="field-check" {
                            input id="f-outputs-stdout" type="checkbox" name="outputs" value="stdout" checked[out("stdout")];
                            label for="f-outputs-stdout" { "The application's standard output" }
                        }
                        @if let Some(m) = outputs_error { p class="field-error" id="f-outputs-error" { (m) } }
                    }
                }))
                (for_kinds("metric", "Metric", html! {
                    (Field::text("value", "Value").value(&f.value).required().placeholder("order.total")
                        .help("The number read at the line; count, sum, min and max are kept.").render(e))
                }))
                (Field::new("number", "max_hits", "Max hits per agent").value(&f.max_hits)
                    .help("A snapshot stops after this many hits on each agent: 1 when empty, at most 50. Other types run until they expire when empty.").render(e))
                (select("expires_in", "Expires after", &EXPIRY_CHOICES, if f.expires_in.is_empty() { "3600" } else { &f.expires_in },
                    Some("The action is removed from every agent when its time is up."), e))
                @if v.may_ignore_quota {
                    (checkbox("ignore_quota", "Ignore quotas", f.ignore_quota,
                        Some("Skip the appliance's quotas for this action (agents still protect the application's CPU).")))
                }
                p class="field-help" data-validate-status aria-live="polite" {}
                (submit(ButtonKind::Primary, "Create action"))
            }
        }))
    };
    page(
        ctx,
        "New action",
        "Place a snapshot, log or metric into running code without stopping or redeploying it.",
        None,
        body,
    )
}

/// One action's page.
#[derive(Debug)]
pub struct DetailView<'a> {
    /// The action, its statuses and hits.
    pub row: &'a ActionRow,
    /// May disable, enable or delete it (own, or others' with that permission).
    pub can_change: bool,
    /// A message after a change.
    pub notice: Option<&'a str>,
    /// Unix ms now.
    pub now_ms: i64,
}

/// The action's page.
pub fn detail(ctx: &PageCtx, v: &DetailView) -> Markup {
    let r = v.row;
    let a = &r.action;
    let now = v.now_ms.div_euclid(1000);
    let path = detail_path(&a.id);
    let results_query = query_string(&[("action", &a.id)]);
    let quota: Vec<&AgentStatus> = r
        .statuses
        .iter()
        .filter(|s| matches!(s.status.as_str(), "rate_limited" | "paused_quota"))
        .collect();
    let state = r.state(v.now_ms);
    let fact_rows: Vec<(&str, Markup)> = vec![
        ("Type", html! { (a.kind.as_str()) }),
        (
            "State",
            html! { @match state {
                "active" => (badge(Status::Ok, "Active")),
                "disabled" => (badge(Status::Unknown, "Disabled")),
                _ => (badge(Status::Unknown, "Expired")),
            } },
        ),
        (
            "Location",
            html! {
                code { (location_text(&a.location)) }
                @if let Some(end) = &a.end { " → " code { (location_text(end)) } }
            },
        ),
        (
            "Condition",
            html! { @match &a.condition { Some(c) => code { (c.text) }, None => "always" } },
        ),
        ("Target", html! { (target_text(a)) }),
        ("Author", html! { (a.author) }),
        ("Created", rel_time(a.created_ms.div_euclid(1000), now)),
        ("Updated", rel_time(a.updated_ms.div_euclid(1000), now)),
        ("Expires", rel_time(a.expires_at_ms.div_euclid(1000), now)),
        (
            "Hits",
            html! {
                (r.hits_text())
                @if let Some(h) = a.max_hits { " (at most " (h) " per agent)" }
            },
        ),
        (
            "Quotas",
            html! { @if a.ignore_quota { "ignored for this action" } @else { "apply" } },
        ),
    ];
    let body = html! {
        @if let Some(text) = v.notice { (notice(Tone::Ok, text)) }
        p { a href=(BASE) { "All actions" } }
        @for s in &quota {
            (notice(Tone::Warning, &format!("{}: {}", s.agent_name, status_explained(s, a))))
        }
        (card("Action", html! {
            (facts(&fact_rows))
            @if let Some((t, _)) = &a.template {
                p { "Log message: " code { (t) } " (" (serde_json::to_value(a.level).ok().and_then(|l| l.as_str().map(str::to_string)).unwrap_or_default()) ", to " (a.outputs.join(" and ")) ")" }
            }
            @if !a.watches.is_empty() {
                p { "Watch expressions:" }
                ul { @for w in &a.watches { li { code { (w.text) } } } }
            }
            @if let Some(val) = &a.value { p { "Value: " code { (val.text) } } }
        }))
        (card("Status per agent", html! {
            @if r.statuses.is_empty() {
                (empty_state("No agent reached yet",
                    "The action goes to every connected agent its target covers, and to those that connect later. Check that the target has agents connected with the actions capability.", None))
            } @else {
                (table("Status per agent", &["Agent", "Status", "What it means", "Since"], html! {
                    @for s in &r.statuses {
                        tr {
                            th scope="row" { a href=(format!("/entities/agents/{}", url_encode(&s.agent_id))) { (s.agent_name) } }
                            td { (status_badge(&s.status)) }
                            td { (status_explained(s, a)) }
                            td { (rel_time(s.at_ms.div_euclid(1000), now)) }
                        }
                    }
                }))
            }
        }))
        // The results are in the Data Explorer, which not every role that sees actions opens.
        @if (ctx.visible)(NavId::DataExplorer) {
            (card("Results", html! {
                ul {
                    @match a.kind {
                        Kind::Snapshot => li { a href={ "/data-explorer" (results_query) } { "Snapshots of this action" } },
                        Kind::Log => li { a href={ "/data-explorer/logs" (results_query) } { "Log lines of this action" } },
                        _ => li { a href={ "/data-explorer/metrics" (results_query) } { "Metrics of this action" } },
                    }
                }
            }))
        }
        @if v.can_change {
            (card("Change", html! {
                @if a.disabled {
                    (post_form(&format!("{path}/enable"), ctx.csrf, html! {
                        p { "Enabled again, it is sent to its agents as before (its expiry does not change)." }
                        (submit(ButtonKind::Primary, "Enable"))
                    }))
                } @else if state == "active" {
                    (post_form(&format!("{path}/disable"), ctx.csrf, html! {
                        p { "Disabling takes it off every agent at once; it keeps its results and can be enabled again." }
                        (submit(ButtonKind::Secondary, "Disable"))
                    }))
                }
                (confirm_action("Delete action",
                    "The action is taken off every agent and deleted with its snapshots and log lines. This cannot be undone.",
                    &format!("{path}/delete"), ctx.csrf, "Delete action and its results"))
            }))
        }
    };
    page(
        ctx,
        &format!("{} at {}", kind_title(a.kind), location_text(&a.location)),
        "One action: where it is, who it reaches and how each agent runs it.",
        None,
        body,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::actions::model::{Caps, NewAction, Origin};
    use crate::agents::protocol::Resolved;
    use crate::ui::layout::UserView;
    use crate::ui::test_support::assert_csp_clean;

    #[test]
    fn rows_show_location_condition_statuses_and_escape_text() {
        let a = NewAction {
            kind: Some("snapshot".into()),
            location: Some(serde_json::json!({"file": "Order<Servlet>.java", "line": 64})),
            target: Some(serde_json::json!({"kind": "tag", "id": "prod"})),
            condition: Some("name == '<b>'".into()),
            ..Default::default()
        }
        .validate(
            Origin::Api,
            &Caps::default(),
            "a1".into(),
            "dev@example.com".into(),
            0,
        )
        .unwrap();
        let row = ActionRow {
            hits: (2, 0),
            metric_hits: 0,
            action: a,
            active: true,
            statuses: vec![AgentStatus {
                agent_id: "ag".into(),
                agent_name: "orders-1".into(),
                status: "installed".into(),
                message: None,
                resolved: Some(Resolved {
                    class: "com.acme.OrderServlet".into(),
                    method: "doGet".into(),
                    line: Some(64),
                }),
                at_ms: 0,
            }],
        };
        let all = |_: NavId| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "Community",
            user: Some(UserView {
                name: "Ada",
                email: "a@x",
            }),
            current_path: "/entities/actions",
            csrf: "tok",
            visible: &all,
        };
        let html = list(&ctx, &[row], true, 1000).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("Order&lt;Servlet&gt;.java:64"), "{html}");
        assert!(html.contains("name == '&lt;b&gt;'"));
        assert!(html.contains("Installed"));
        assert!(html.contains("com.acme.OrderServlet.doGet:64"));
        assert!(html.contains("tag prod"));
        assert!(html.contains("at most 10 hits per agent"));
        let empty = list(&ctx, &[], true, 0).into_string();
        assert!(empty.contains("No actions yet"));
        assert!(empty.contains("href=\"/entities/actions/new\""));
    }

    fn row(status: &str, message: Option<&str>) -> ActionRow {
        let mut a = NewAction {
            kind: Some("log".into()),
            location: Some(serde_json::json!({"file": "Shop.java", "line": 12})),
            target: Some(serde_json::json!({"kind": "agent", "id": "id-shop"})),
            template: Some("order {order.id}".into()),
            ..Default::default()
        }
        .validate(
            Origin::Portal,
            &Caps::default(),
            "a1".into(),
            "dev@x".into(),
            0,
        )
        .unwrap();
        a.expires_at_ms = 10_000_000;
        ActionRow {
            action: a,
            active: true,
            hits: (0, 5),
            metric_hits: 0,
            statuses: vec![AgentStatus {
                agent_id: "id-shop".into(),
                agent_name: "shop".into(),
                status: status.into(),
                message: message.map(str::to_string),
                resolved: None,
                at_ms: 0,
            }],
        }
    }

    #[test]
    fn the_action_page_explains_quotas_and_offers_disable_and_a_confirmed_delete() {
        let r = row("paused_quota", None);
        let html = crate::ui::test_support::with_page_ctx(BASE, |ctx| {
            detail(
                ctx,
                &DetailView {
                    row: &r,
                    can_change: true,
                    notice: None,
                    now_ms: 1_000,
                },
            )
            .into_string()
        });
        assert_csp_clean(&html);
        assert!(
            html.contains("Paused by quota: the agent&#39;s log quota")
                || html.contains("Paused by quota: the agent's log quota"),
            "{html}"
        );
        assert!(html.contains("notice-warning"), "said on top too");
        assert!(html.contains("5 log lines"));
        assert!(html.contains("action=\"/entities/actions/a1/disable\""));
        assert!(html.contains("<details class=\"confirm\">"));
        assert!(html.contains("deleted with its snapshots and log lines"));
        assert!(html.contains("href=\"/data-explorer/logs?action=a1\""));
        let mut off = row("condition_error", Some("NullPointerException at order.id"));
        off.action.disabled = true;
        off.active = false;
        let html = crate::ui::test_support::with_page_ctx(BASE, |ctx| {
            detail(
                ctx,
                &DetailView {
                    row: &off,
                    can_change: false,
                    notice: None,
                    now_ms: 1_000,
                },
            )
            .into_string()
        });
        assert!(html.contains("could not be evaluated (NullPointerException at order.id)"));
        assert!(html.contains("Disabled"));
        assert!(
            !html.contains("/delete"),
            "no change offered without the right"
        );
    }

    #[test]
    fn the_form_keeps_values_shows_errors_and_offers_ignore_quota_only_to_those_who_may() {
        let f = ActionForm {
            kind: "snapshot".into(),
            file: "Shop<1>.java".into(),
            line: "x".into(),
            target: "agent:id-shop".into(),
            ..Default::default()
        };
        let errors = FormErrors::none().with_field("line", "Line: a whole number such as 64");
        let targets = [(
            "agent:id-shop".to_string(),
            "Agent shop (connected)".to_string(),
        )];
        let html = crate::ui::test_support::with_page_ctx(NEW, |ctx| {
            form(
                ctx,
                &FormView {
                    form: &f,
                    errors: &errors,
                    targets: &targets,
                    may_ignore_quota: false,
                },
            )
            .into_string()
        });
        assert_csp_clean(&html);
        assert!(html.contains("value=\"Shop&lt;1&gt;.java\""));
        assert!(html.contains("Line: a whole number such as 64"));
        assert!(html.contains("There is a problem"));
        assert!(html.contains("<option value=\"agent:id-shop\" selected>"));
        assert!(html.contains("data-validate=\"/entities/actions/validate\""));
        assert!(html.contains("data-kinds=\"tictoc\""));
        assert!(!html.contains("ignore_quota"));
        let html = crate::ui::test_support::with_page_ctx(NEW, |ctx| {
            form(
                ctx,
                &FormView {
                    form: &f,
                    errors: &FormErrors::none(),
                    targets: &targets,
                    may_ignore_quota: true,
                },
            )
            .into_string()
        });
        assert!(html.contains("name=\"ignore_quota\""));
    }
}
