//! The Temporary Access pages: the list of grants (active, expired, revoked) and the form for
//! a new grant.

use std::collections::BTreeSet;

use maud::{Markup, html};

use crate::ui::components::{
    ButtonKind, Field, FormErrors, Status, Tone, badge, card, checkbox_group, confirm_action,
    empty_state, error_summary, link_button, notice, post_form, rel_time, submit, table, tag,
};
use crate::ui::layout::{PageCtx, page};

/// Where the pages live.
pub const BASE: &str = "/settings/iam/temporary-access";

/// Where a grant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GrantState {
    /// Counts now.
    #[default]
    Active,
    /// Ran out.
    Expired,
    /// Ended by someone (unix seconds).
    Revoked(i64),
}

/// One grant in the list (times in unix seconds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantRow {
    /// Id, for the revoke form.
    pub id: String,
    /// Grantee names.
    pub users: Vec<String>,
    /// Pool names.
    pub pools: Vec<String>,
    /// Role labels.
    pub roles: Vec<String>,
    /// Incident id.
    pub incident: String,
    /// Who granted it.
    pub created_by: String,
    /// When.
    pub created: i64,
    /// Until when.
    pub expires: i64,
    /// Where it stands.
    pub state: GrantState,
    /// Whether the viewer may revoke it.
    pub can_revoke: bool,
}

/// The Temporary Access list.
pub fn list(
    ctx: &PageCtx,
    rows: &[GrantRow],
    can_create: bool,
    now: i64,
    notice_text: Option<&str>,
) -> Markup {
    let primary =
        can_create.then(|| link_button(ButtonKind::Primary, &format!("{BASE}/new"), "New grant"));
    let active = rows
        .iter()
        .filter(|r| r.state == GrantState::Active)
        .count();
    let body_rows = html! {
        @for g in rows {
            tr {
                th scope="row" { (g.incident) }
                td { (g.users.join(", ")) }
                td { ul class="tag-list" { @for p in &g.pools { li { (tag(p)) } } } }
                td { (g.roles.join(", ")) }
                td {
                    @match g.state {
                        GrantState::Active => { (badge(Status::Ok, "Active")) " ends " (rel_time(g.expires, now)) }
                        GrantState::Expired => { (badge(Status::Unknown, "Expired")) " " (rel_time(g.expires, now)) }
                        GrantState::Revoked(at) => { (badge(Status::Warning, "Revoked")) " " (rel_time(at, now)) }
                    }
                }
                td { (g.created_by) br; span class="small muted" { (rel_time(g.created, now)) } }
                td {
                    @if g.can_revoke && g.state == GrantState::Active {
                        (confirm_action("Revoke",
                            "The users lose the pools they reach through this grant at once.",
                            &format!("{BASE}/{}/revoke", g.id), ctx.csrf, "Revoke the grant"))
                    }
                }
            }
        }
    };
    let body = html! {
        @if let Some(n) = notice_text { (notice(Tone::Ok, n)) }
        @if rows.is_empty() {
            (empty_state("No temporary access granted",
                "Grants give users roles on agent pools for a limited time, for an incident. They expire by themselves.",
                None))
        } @else {
            p class="list-meta" { (active) " active of at most 100 · " (rows.len()) " in total" }
            (table("Temporary access grants", &["Incident", "Users", "Agent pools", "Roles", "Status", "Granted by", ""], body_rows))
        }
    };
    page(
        ctx,
        "Temporary Access",
        "Grant roles on agent pools for a limited time.",
        primary,
        body,
    )
}

/// The new-grant form.
#[derive(Clone, Debug, Default)]
pub struct GrantForm {
    /// Every user as `(id, label)`.
    pub users: Vec<(String, String)>,
    /// The pools the granter reaches, as `(id, name)`.
    pub pools: Vec<(String, String)>,
    /// The grantable roles as `(id, label)`.
    pub roles: Vec<(String, String)>,
    /// Checked user ids.
    pub selected_users: BTreeSet<String>,
    /// Checked pool ids.
    pub selected_pools: BTreeSet<String>,
    /// Checked role ids.
    pub selected_roles: BTreeSet<String>,
    /// Incident as typed.
    pub incident: String,
    /// Days as typed.
    pub days: String,
    /// Hours as typed.
    pub hours: String,
}

/// The new-grant page.
pub fn new_form(ctx: &PageCtx, f: &GrantForm, errors: &FormErrors) -> Markup {
    let body = card(
        "New grant",
        html! {
            (error_summary(errors))
            (post_form(BASE, ctx.csrf, html! {
                (Field::text("incident", "Incident or ticket").value(&f.incident).required()
                    .length(Some(1), Some(100)).help("Why the access is needed, e.g. INC-2041.").render(errors))
                (checkbox_group("users", "Users", &f.users, &f.selected_users,
                    Some("At most 50 users."), errors))
                (checkbox_group("pools", "Agent pools", &f.pools, &f.selected_pools,
                    Some("At most 20 pools."), errors))
                (checkbox_group("roles", "Roles on these pools", &f.roles, &f.selected_roles, None, errors))
                div class="field" id="f-duration" {
                    (Field::new("number", "days", "Days").value(&f.days).required()
                        .help("0 to 31.").render(errors))
                    (Field::new("number", "hours", "Hours").value(&f.hours)
                        .help("0 to 23, added to the days. A grant lasts at most 31 days.").render(errors))
                    @if let Some(m) = errors.field("duration") { p class="field-error" { (m) } }
                }
                div class="form-actions" {
                    (submit(ButtonKind::Primary, "Grant access"))
                    (link_button(ButtonKind::Secondary, BASE, "Cancel"))
                }
            }))
        },
    );
    page(
        ctx,
        "New temporary access",
        "Give users roles on agent pools until the grant expires.",
        None,
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
    use crate::ui::layout::UserView;
    use crate::ui::nav::NavId;
    use crate::ui::test_support::assert_csp_clean;

    #[test]
    fn list_and_form_render() {
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
        let rows = vec![
            GrantRow {
                id: "g1".into(),
                incident: "INC-1".into(),
                state: GrantState::Active,
                can_revoke: true,
                ..Default::default()
            },
            GrantRow {
                id: "g2".into(),
                incident: "INC-2".into(),
                state: GrantState::Expired,
                can_revoke: true,
                ..Default::default()
            },
        ];
        let html = list(&ctx, &rows, true, 0, None).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("/g1/revoke") && !html.contains("/g2/revoke"));
        assert!(html.contains("Expired"));
        let errors = FormErrors::none().with_field("duration", "a grant lasts at most 31 days");
        let html = new_form(&ctx, &GrantForm::default(), &errors).into_string();
        assert_csp_clean(&html);
        assert_eq!(html.matches("a grant lasts at most 31 days").count(), 2);
    }
}
