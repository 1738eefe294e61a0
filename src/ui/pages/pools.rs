//! The Agent Pools pages: the list, the form for a new pool and a pool's detail page with its
//! key, description, detach / re-enable and delete. A new key appears once, on the answer to
//! the request that made it, and on no other page.

use maud::{Markup, html};

use crate::ui::components::{
    ButtonKind, Field, FormErrors, Status, Tone, badge, card, confirm_action, empty_state,
    error_summary, facts, link_button, notice, notice_with, post_form, query_string, rel_time,
    secret_once, submit, table,
};
use crate::ui::layout::{PageCtx, page};

/// Where the pages live.
pub const BASE: &str = "/settings/iam/agent-pools";

/// One pool as the pages show it (times in unix seconds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolView {
    /// Id, for links.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The Default pool (cannot be deleted).
    pub is_default: bool,
    /// Detached, with the reason.
    pub detached: Option<String>,
    /// When the current key was made; `None` when the pool has no key yet.
    pub key_created: Option<i64>,
    /// The current key's version: the rotate form sends it back, so a reloaded or repeated
    /// form cannot rotate a second time.
    pub key_stamp: String,
    /// Until when the previous key still works, if it does.
    pub previous_key_until: Option<i64>,
    /// Creation time.
    pub created: i64,
    /// Agents connected to it now (from the live registry).
    pub agents: usize,
}

/// The list page.
#[derive(Clone, Debug, Default)]
pub struct PoolList {
    /// The pools the user may see.
    pub pools: Vec<PoolView>,
    /// Show "New pool" (Company Admins).
    pub can_create: bool,
    /// Now, for relative times.
    pub now: i64,
    /// A confirmation to show on top (after a delete).
    pub notice: Option<String>,
}

fn status(p: &PoolView) -> Markup {
    match &p.detached {
        Some(reason) => {
            html! { (badge(Status::Error, "Detached")) " " span class="muted" { (reason) } }
        }
        None => badge(Status::Ok, "Active"),
    }
}

/// The live count, linking to the Agents list narrowed to the pool.
fn agents_cell(p: &PoolView) -> Markup {
    let href = format!(
        "{}{}",
        super::agents::BASE,
        query_string(&[("pool", &p.id)])
    );
    html! { a href=(href) { (p.agents) " connected" } }
}

/// The Agent Pools list.
pub fn list(ctx: &PageCtx, v: &PoolList) -> Markup {
    let primary = v
        .can_create
        .then(|| link_button(ButtonKind::Primary, &format!("{BASE}/new"), "New pool"));
    let rows = html! {
        @for p in &v.pools {
            tr {
                th scope="row" { a href={ (BASE) "/" (p.id) } { (p.name) } }
                td { @if p.description.is_empty() { span class="muted" { "—" } } @else { (p.description) } }
                td class="num" { (agents_cell(p)) }
                td { (status(p)) }
                td {
                    @match p.key_created {
                        Some(t) => { "made " (rel_time(t, v.now)) }
                        None => span class="muted" { "no key yet" },
                    }
                    @if let Some(until) = p.previous_key_until {
                        br; span class="small muted" { "previous key stops working " (rel_time(until, v.now)) }
                    }
                }
                td { (rel_time(p.created, v.now)) }
            }
        }
    };
    let body = html! {
        @if let Some(n) = &v.notice { (notice(Tone::Ok, n)) }
        @if v.pools.is_empty() {
            (empty_state("No agent pools for you",
                "Agent pools reach you through your access groups or a temporary-access grant. Ask a Group Admin or a Company Admin.",
                None))
        } @else {
            p class="list-meta" { (v.pools.len()) " pools" }
            (table("Agent pools", &["Name", "Description", "Agents", "Status", "Key", "Created"], rows))
        }
    };
    page(
        ctx,
        "Agent Pools",
        "The pools agents connect to, each with its own key.",
        primary,
        body,
    )
}

/// The new-pool form, with what was typed after an error.
pub fn new_form(ctx: &PageCtx, name: &str, description: &str, errors: &FormErrors) -> Markup {
    let body = card(
        "New agent pool",
        html! {
            (error_summary(errors))
            (post_form(BASE, ctx.csrf, html! {
                (Field::text("name", "Name").value(name).required().autofocus(true)
                    .length(Some(1), Some(64))
                    .help("Unique; letters, digits, spaces, '-', '_' and '.'.").render(errors))
                (Field::textarea("description", "Description").value(description)
                    .length(None, Some(255))
                    .help("Up to 255 characters: what runs in this pool, who owns it.").render(errors))
                p class="field-help" { "The pool's key is shown once, right after the pool is created." }
                div class="form-actions" {
                    (submit(ButtonKind::Primary, "Create pool"))
                    (link_button(ButtonKind::Secondary, BASE, "Cancel"))
                }
            }))
        },
    );
    page(
        ctx,
        "New agent pool",
        "Agents that use this pool's key connect into it.",
        None,
        body,
    )
}

/// A pool's detail page.
#[derive(Clone, Debug, Default)]
pub struct PoolDetail {
    /// The pool.
    pub pool: PoolView,
    /// Show the change forms (edit, rotate, detach / re-enable).
    pub can_change: bool,
    /// Show delete (Company Admins; never for the Default pool).
    pub can_delete: bool,
    /// A key made by this very request: shown once.
    pub new_key: Option<String>,
    /// A confirmation to show on top.
    pub notice: Option<String>,
    /// The description field's value (what was typed after an error).
    pub description_value: String,
    /// The detach reason as typed after an error.
    pub reason_value: String,
    /// Now, for relative times.
    pub now: i64,
}

/// A pool's detail page.
pub fn detail(ctx: &PageCtx, d: &PoolDetail, errors: &FormErrors) -> Markup {
    let p = &d.pool;
    let base = format!("{BASE}/{}", p.id);
    let key_fact = html! {
        @match p.key_created {
            Some(t) => { "made " (rel_time(t, d.now)) }
            None => span class="muted" { "no key yet" },
        }
        @if let Some(until) = p.previous_key_until {
            br; span class="small muted" { "The previous key stops working " (rel_time(until, d.now)) "." }
        }
    };
    let body = html! {
        @if let Some(n) = &d.notice { (notice(Tone::Ok, n)) }
        @if let Some(key) = &d.new_key {
            (secret_once("Agent-pool key", key))
        }
        (error_summary(errors))
        @if let Some(reason) = &p.detached {
            (notice_with(Tone::Warning, "This pool is detached", html! {
                p { "Its agents are refused with the reason: " strong { (reason) } }
            }))
        }
        div class="grid-2" {
            (card("Pool", facts(&[
                ("Name", html! { (p.name) }),
                ("Status", status(p)),
                ("Agents", agents_cell(p)),
                ("Key", key_fact),
                ("Created", rel_time(p.created, d.now)),
            ])))
            @if d.can_change {
                (card("Description", post_form(&format!("{base}/description"), ctx.csrf, html! {
                    (Field::textarea("description", "Description").value(&d.description_value)
                        .length(None, Some(255)).help("Up to 255 characters.").render(errors))
                    div class="form-actions" { (submit(ButtonKind::Primary, "Save description")) }
                })))
            } @else {
                (card("Description", html! {
                    @if p.description.is_empty() { p class="muted" { "No description." } } @else { p { (p.description) } }
                }))
            }
        }
        @if d.can_change {
            (card("Key", html! {
                @if p.key_created.is_some() {
                    p { "A new key is shown once. The current key keeps working for 24 hours, so agents can be moved over without downtime; a key still in its grace period from an earlier rotation stops at once." }
                    (post_form(&format!("{base}/rotate"), ctx.csrf, html! {
                        input type="hidden" name="key_made" value=(p.key_stamp);
                        (submit(ButtonKind::Secondary, "Rotate key"))
                    }))
                } @else {
                    p { "This pool has no key yet. Make one to connect agents; it is shown once." }
                    (post_form(&format!("{base}/rotate"), ctx.csrf, html! {
                        input type="hidden" name="key_made" value=(p.key_stamp);
                        (submit(ButtonKind::Primary, "Make a key"))
                    }))
                }
            }))
            (card(if p.detached.is_some() { "Re-enable" } else { "Detach" }, html! {
                @if p.detached.is_some() {
                    p { "Agents with this pool's key may connect again." }
                    (post_form(&format!("{base}/enable"), ctx.csrf, submit(ButtonKind::Secondary, "Re-enable pool")))
                } @else {
                    p { "Detaching refuses this pool's agents, with your reason, until the pool is re-enabled. The key is kept." }
                    (post_form(&format!("{base}/detach"), ctx.csrf, html! {
                        (Field::text("reason", "Reason").value(&d.reason_value).required()
                            .length(Some(1), Some(255)).help("Agents and admins see it.").render(errors))
                        div class="form-actions" { (submit(ButtonKind::Danger, "Detach pool")) }
                    }))
                }
            }))
        }
        @if d.can_delete {
            (card("Delete", html! {
                p { "Deleting removes the pool from every access group. It is refused while agents are connected." }
                (confirm_action("Delete pool",
                    "The pool and its key are deleted and it leaves every access group. This cannot be undone.",
                    &format!("{base}/delete"), ctx.csrf, "Delete the pool"))
            }))
        }
    };
    page(
        ctx,
        &p.name,
        "An agent pool: its key, its status and its description.",
        Some(link_button(ButtonKind::Secondary, BASE, "All pools")),
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
    use crate::ui::test_support::assert_csp_clean;

    fn with_ctx<R>(f: impl FnOnce(&PageCtx) -> R) -> R {
        crate::ui::test_support::with_page_ctx(BASE, f)
    }

    fn pool() -> PoolView {
        PoolView {
            id: "abc".into(),
            name: "prod <eu>".into(),
            description: "payments".into(),
            is_default: false,
            detached: Some("moved".into()),
            key_created: Some(100),
            key_stamp: "100000".into(),
            previous_key_until: Some(200),
            created: 50,
            agents: 3,
        }
    }

    #[test]
    fn list_shows_live_agent_counts_and_hides_buttons() {
        let v = PoolList {
            pools: vec![pool()],
            can_create: false,
            now: 150,
            notice: None,
        };
        let html = with_ctx(|c| list(c, &v)).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("prod &lt;eu&gt;"));
        assert!(html.contains("<a href=\"/entities/agents?pool=abc\">3 connected</a>"));
        assert!(!html.contains("New pool"));
        let v = PoolList {
            can_create: true,
            ..v
        };
        assert!(with_ctx(|c| list(c, &v)).into_string().contains("New pool"));
    }

    #[test]
    fn detail_shows_the_key_only_when_given() {
        let mut d = PoolDetail {
            pool: pool(),
            can_change: true,
            can_delete: true,
            new_key: Some("SECRETKEY".into()),
            now: 150,
            ..Default::default()
        };
        let html = with_ctx(|c| detail(c, &d, &FormErrors::none())).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("SECRETKEY") && html.contains("you will not see this again"));
        assert!(html.contains("Re-enable pool") && html.contains("Delete pool"));
        d.new_key = None;
        d.can_change = false;
        d.can_delete = false;
        let html = with_ctx(|c| detail(c, &d, &FormErrors::none())).into_string();
        assert!(!html.contains("SECRETKEY"));
        assert!(!html.contains("action=\"/settings/iam/agent-pools/abc/"));
    }
}
