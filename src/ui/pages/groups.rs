//! The Access Groups pages: the list and one form for creating, editing or just viewing a
//! group (members, Group Admins, agent pools).

use std::collections::BTreeSet;

use maud::{Markup, html};

use crate::ui::components::{
    ButtonKind, Field, FormErrors, Tone, card, checkbox_group, confirm_action, error_summary,
    link_button, notice, post_form, submit, table, tag,
};
use crate::ui::layout::{PageCtx, page};

/// Where the pages live.
pub const BASE: &str = "/settings/iam/access-groups";

/// One group in the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupRow {
    /// Id, for links.
    pub id: String,
    /// Name.
    pub name: String,
    /// The Default group.
    pub is_default: bool,
    /// How many members.
    pub members: usize,
    /// Names of its Group Admins.
    pub admins: Vec<String>,
    /// Names of its pools.
    pub pools: Vec<String>,
    /// Whether the viewer may change it (shows "Edit" instead of "View").
    pub can_manage: bool,
}

/// The Access Groups list.
pub fn list(
    ctx: &PageCtx,
    rows: &[GroupRow],
    can_create: bool,
    notice_text: Option<&str>,
) -> Markup {
    let primary =
        can_create.then(|| link_button(ButtonKind::Primary, &format!("{BASE}/new"), "New group"));
    let body_rows = html! {
        @for g in rows {
            tr {
                th scope="row" {
                    a href={ (BASE) "/" (g.id) } { (g.name) }
                    @if g.is_default { " " span class="small muted" { "(every new user)" } }
                }
                td class="num" { (g.members) }
                td { @if g.admins.is_empty() { span class="muted" { "—" } } @else { (g.admins.join(", ")) } }
                td {
                    @if g.pools.is_empty() { span class="muted" { "no pools" } }
                    @else { ul class="tag-list" { @for p in &g.pools { li { (tag(p)) } } } }
                }
                td { a href={ (BASE) "/" (g.id) } { @if g.can_manage { "Edit" } @else { "View" } } }
            }
        }
    };
    let body = html! {
        @if let Some(n) = notice_text { (notice(Tone::Ok, n)) }
        p class="list-meta" { (rows.len()) " groups" }
        (table("Access groups", &["Name", "Members", "Group Admins", "Agent pools", ""], body_rows))
    };
    page(
        ctx,
        "Access Groups",
        "Which users may debug on which agent pools.",
        primary,
        body,
    )
}

/// The group form: new (no `id`), edit, or read-only.
#[derive(Clone, Debug, Default)]
pub struct GroupForm {
    /// `None` for a new group.
    pub id: Option<String>,
    /// Name as stored or typed.
    pub name: String,
    /// The Default group (keeps its name, cannot be deleted).
    pub is_default: bool,
    /// Every user as `(id, "Name <email>")`.
    pub users: Vec<(String, String)>,
    /// The users who may be Group Admins (they hold the role), same form.
    pub admin_choices: Vec<(String, String)>,
    /// Every pool as `(id, name)`.
    pub pools: Vec<(String, String)>,
    /// Checked member ids.
    pub members: BTreeSet<String>,
    /// Checked admin ids.
    pub admins: BTreeSet<String>,
    /// Checked pool ids.
    pub selected_pools: BTreeSet<String>,
    /// May change the name and the admins (Company Admins).
    pub full_edit: bool,
    /// May change anything at all (else the page only shows the group).
    pub can_edit: bool,
    /// Show delete.
    pub can_delete: bool,
    /// A confirmation to show on top.
    pub notice: Option<String>,
}

fn names(options: &[(String, String)], ids: &BTreeSet<String>) -> Markup {
    let picked: Vec<&str> = options
        .iter()
        .filter(|(id, _)| ids.contains(id))
        .map(|(_, l)| l.as_str())
        .collect();
    html! {
        @if picked.is_empty() { p class="muted" { "None." } }
        @else { ul class="plain-list" { @for n in picked { li { (n) } } } }
    }
}

/// The group page.
pub fn form(ctx: &PageCtx, f: &GroupForm, errors: &FormErrors) -> Markup {
    let title = match &f.id {
        None => "New access group".to_string(),
        Some(_) => f.name.clone(),
    };
    let action = match &f.id {
        None => BASE.to_string(),
        Some(id) => format!("{BASE}/{id}"),
    };
    let body = html! {
        @if let Some(n) = &f.notice { (notice(Tone::Ok, n)) }
        (error_summary(errors))
        @if f.can_edit {
            (card(if f.id.is_some() { "Members and pools" } else { "New group" }, post_form(&action, ctx.csrf, html! {
                @if f.full_edit && !f.is_default {
                    (Field::text("name", "Name").value(&f.name).required().length(Some(1), Some(64)).render(errors))
                } @else {
                    input type="hidden" name="name" value=(f.name);
                }
                (checkbox_group("members", "Members", &f.users, &f.members,
                    Some("Members may debug on the group's pools."), errors))
                @if f.full_edit && f.admin_choices.is_empty() {
                    div class="field" {
                        p { strong { "Group Admins" } }
                        p class="muted" { "No user holds the Group Admin role yet; give it to someone under Users to let them manage this group." }
                    }
                } @else if f.full_edit {
                    (checkbox_group("admins", "Group Admins", &f.admin_choices, &f.admins,
                        Some("Users with the Group Admin role; they manage this group's members and pools."), errors))
                } @else {
                    @for a in &f.admins { input type="hidden" name="admins" value=(a); }
                    div class="field" { p { strong { "Group Admins" } } (names(&f.users, &f.admins)) }
                }
                (checkbox_group("pools", "Agent pools", &f.pools, &f.selected_pools,
                    (!f.full_edit).then_some("You can add only pools you reach yourself."), errors))
                div class="form-actions" {
                    (submit(ButtonKind::Primary, if f.id.is_some() { "Save group" } else { "Create group" }))
                    (link_button(ButtonKind::Secondary, BASE, "Cancel"))
                }
            })))
        } @else {
            div class="grid-2" {
                (card("Members", names(&f.users, &f.members)))
                (card("Group Admins", names(&f.users, &f.admins)))
                (card("Agent pools", names(&f.pools, &f.selected_pools)))
            }
        }
        @if f.can_delete {
            @if let Some(id) = &f.id {
                (card("Delete", confirm_action("Delete group",
                    "The group is deleted; its members lose the pools they reach only through it.",
                    &format!("{BASE}/{id}/delete"), ctx.csrf, "Delete the group")))
            }
        }
    };
    page(
        ctx,
        &title,
        "An access group: its members, its Group Admins and its agent pools.",
        Some(link_button(ButtonKind::Secondary, BASE, "All groups")),
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
    fn read_only_group_has_no_form() {
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
        let mut f = GroupForm {
            id: Some("g1".into()),
            name: "Team".into(),
            users: vec![("u1".into(), "Bob <b@x>".into())],
            members: BTreeSet::from(["u1".to_string()]),
            ..Default::default()
        };
        let html = form(&ctx, &f, &FormErrors::none()).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("Bob &lt;b@x&gt;"));
        assert!(!html.contains("action=\"/settings/iam/access-groups/g1\""));
        f.can_edit = true;
        let html = form(&ctx, &f, &FormErrors::none()).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("action=\"/settings/iam/access-groups/g1\""));
        assert!(html.contains("value=\"u1\" checked"));
    }
}
