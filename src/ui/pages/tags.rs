//! Entities › Tags: every tag the user's agents carry, how many of them carry it (connected
//! and known), links to those agents, and deleting a tag (refused while connected agents
//! carry it; the page says why next to the button instead of offering one that fails).

use maud::{Markup, html};

use crate::agents::tags::TagRow;
use crate::ui::components::{
    ButtonKind, Tone, confirm_action_with, empty_state, link_button, notice, query_string,
    rel_time, table, tag,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::{self, NavId};

use super::agents::BASE as AGENTS;

/// Where the page lives.
pub const BASE: &str = "/entities/tags";
/// Where deletes are posted (the tag travels in the form: tags may hold `/`).
pub const DELETE: &str = "/entities/tags/delete";

/// The Tags page.
#[derive(Clone, Debug, Default)]
pub struct TagList {
    /// The tags.
    pub rows: Vec<TagRow>,
    /// Show delete buttons (Tags: change).
    pub can_delete: bool,
    /// A confirmation to show on top.
    pub notice: Option<String>,
    /// A refusal to show on top.
    pub error: Option<String>,
    /// Now, unix ms.
    pub now_ms: i64,
}

fn agents_link(name: &str, connected: bool, count: usize) -> Markup {
    let query = if connected {
        query_string(&[("tag", name), ("connected", "yes")])
    } else {
        query_string(&[("tag", name)])
    };
    html! { a href={ (AGENTS) (query) } { (count) } }
}

/// The Tags page.
pub fn list(ctx: &PageCtx, v: &TagList) -> Markup {
    let now = v.now_ms.div_euclid(1000);
    let rows = html! {
        @for r in &v.rows {
            tr {
                th scope="row" { (tag(&r.name)) }
                td class="num" { (agents_link(&r.name, true, r.connected)) }
                td class="num" { (agents_link(&r.name, false, r.known)) }
                td {
                    @match r.first_seen_ms {
                        Some(t) => (rel_time(t.div_euclid(1000), now)),
                        None => span class="muted" { "—" },
                    }
                }
                td {
                    @match r.last_seen_ms {
                        Some(t) => (rel_time(t.div_euclid(1000), now)),
                        None => span class="muted" { "—" },
                    }
                }
                @if v.can_delete {
                    td {
                        @if r.connected > 0 {
                            span class="small muted" { "in use by connected agents" }
                        } @else {
                            (confirm_action_with("Delete",
                                &format!("The tag {} is forgotten: it leaves the agents' records and the filters. An agent that connects with it brings it back.", r.name),
                                DELETE, ctx.csrf, "Delete the tag", &[("name", &r.name)]))
                        }
                    }
                }
            }
        }
    };
    let mut columns = vec![
        "Tag",
        "Connected agents",
        "Known agents",
        "First seen",
        "Last seen",
    ];
    if v.can_delete {
        columns.push("Delete");
    }
    let body = html! {
        @if let Some(n) = &v.notice { (notice(Tone::Ok, n)) }
        @if let Some(e) = &v.error { (notice(Tone::Error, e)) }
        @if v.rows.is_empty() {
            (empty_state("No tags yet",
                "Agents report tags from their configuration (tags=a;b for Java, LANTERN_TAGS for both). Tags of the agents in your pools appear here.",
                Some(link_button(ButtonKind::Secondary, nav::entry(NavId::GettingStarted).path, "Getting Started"))))
        } @else {
            p class="list-meta" { (v.rows.len()) " " (if v.rows.len() == 1 { "tag" } else { "tags" }) }
            (table("Tags", &columns, rows))
        }
    };
    let entry = nav::entry(NavId::Tags);
    page(ctx, entry.label, entry.summary, None, body)
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
    use crate::ui::layout::UserView;
    use crate::ui::test_support::assert_csp_clean;

    #[test]
    fn tags_link_to_their_agents_and_in_use_ones_cannot_be_deleted() {
        let all = |_: NavId| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "Community",
            user: Some(UserView {
                name: "Ada",
                email: "a@x",
            }),
            current_path: BASE,
            csrf: "tok",
            visible: &all,
        };
        let row = |name: &str, connected| TagRow {
            name: name.into(),
            first_seen_ms: Some(1_000),
            last_seen_ms: None,
            connected,
            known: 2,
        };
        let v = TagList {
            rows: vec![row("team/pay", 1), row("old", 0)],
            can_delete: true,
            now_ms: 5_000,
            ..Default::default()
        };
        let html = list(&ctx, &v).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("href=\"/entities/agents?tag=team%2Fpay&amp;connected=yes\""));
        assert!(html.contains("in use by connected agents"));
        assert_eq!(html.matches("Delete the tag").count(), 1);
        assert!(html.contains("name=\"name\" value=\"old\""));
        let v = TagList {
            can_delete: false,
            ..v
        };
        assert!(!list(&ctx, &v).into_string().contains("Delete the tag"));
        let empty = list(&ctx, &TagList::default()).into_string();
        assert!(empty.contains("No tags yet"));
    }
}
