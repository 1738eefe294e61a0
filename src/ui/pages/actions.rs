//! Entities › Actions ("Action Information"): every action in the viewer's scope with its
//! type, location, condition, target, author, times, expiry and hit cap, and the status each
//! agent reported with its reason. Actions are made through `/api/v1/actions` for now; the
//! page says so instead of offering a form that does not exist yet.

use maud::{Markup, html};

use crate::actions::live::AgentStatus;
use crate::actions::model::{Action, Location, TargetKind};
use crate::ui::components::{
    ButtonKind, Status, Tone, badge, empty_state, link_button, notice, rel_time, table,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::{self, NavId};

/// One action as the page shows it.
#[derive(Clone, Debug)]
pub struct ActionRow {
    /// The action.
    pub action: Action,
    /// Whether it is live (not expired, not deleted).
    pub active: bool,
    /// Each agent's status.
    pub statuses: Vec<AgentStatus>,
}

/// `file:line` or `class.method()`.
pub fn location_text(l: &Location) -> String {
    match l {
        Location::Line { file, line } => format!("{file}:{line}"),
        Location::Method { class, method } => format!("{class}.{method}()"),
    }
}

fn target_text(a: &Action) -> String {
    let kind = match a.target.kind {
        TargetKind::Agent => "agent",
        TargetKind::Tag => "tag",
        TargetKind::CustomSource => "custom source",
        TargetKind::Pool => "pool",
    };
    format!("{kind} {}", a.target.id)
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
        "condition_error" => badge(Status::Error, "Condition error"),
        "error" => badge(Status::Error, "Error"),
        other => badge(Status::Unknown, other),
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

/// The Actions page.
pub fn list(ctx: &PageCtx, rows: &[ActionRow], now_ms: i64) -> Markup {
    let now = now_ms.div_euclid(1000);
    let body_rows = html! {
        @for r in rows {
            @let a = &r.action;
            tr {
                th scope="row" {
                    (a.kind.as_str())
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
                td {
                    @if r.active {
                        "expires " (rel_time(a.expires_at_ms.div_euclid(1000), now))
                    } @else {
                        (badge(Status::Unknown, "Expired"))
                    }
                    @if let Some(h) = a.max_hits { br; span class="small muted" { "at most " (h) " hits per agent" } }
                }
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
        "Status per agent",
    ];
    let body = html! {
        (notice(Tone::Info, "Actions are placed through the REST API (POST /api/v1/actions, see the API reference) for now; the form on this page and the Data Explorer are being built. Results: /api/v1/actions/{id}/snapshots, /logs, /metrics."))
        @if rows.is_empty() {
            (empty_state("No actions yet",
                "A snapshot, log or metric placed on a line of a running application appears here with the status each agent reports: pending until its class loads, installed, or an error with its reason.",
                Some(link_button(ButtonKind::Secondary, nav::entry(NavId::GettingStarted).path, "Getting Started"))))
        } @else {
            p class="list-meta" { (rows.len()) " " (if rows.len() == 1 { "action" } else { "actions" }) ", newest first" }
            (table("Actions", &columns, body_rows))
        }
    };
    let entry = nav::entry(NavId::Actions);
    page(ctx, entry.label, entry.summary, None, body)
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
        let html = list(&ctx, &[row], 1000).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("Order&lt;Servlet&gt;.java:64"), "{html}");
        assert!(html.contains("name == '&lt;b&gt;'"));
        assert!(html.contains("Installed"));
        assert!(html.contains("com.acme.OrderServlet.doGet:64"));
        assert!(html.contains("tag prod"));
        assert!(html.contains("at most 10 hits per agent"));
        let empty = list(&ctx, &[], 0).into_string();
        assert!(empty.contains("No actions yet"));
    }
}
