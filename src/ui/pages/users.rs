//! Settings › Identity and Access Management › Users: the list with search, role filter and
//! pages; the create form (password or activation link); one user's page with roles,
//! enable/disable, delete, a new activation link and resetting two-step sign-in; the RBAC
//! mode switch; and the activation pages a new user sees before they are signed in.
//!
//! Handlers decide what the viewer may do (`can_write`, `can_switch_mode`); read-only viewers
//! get the same pages without any buttons or forms that change something.

use maud::{Markup, html};

use crate::ui::components::{
    ButtonKind, Field, FormErrors, Status, Tone, badge, card, confirm_action, empty_state,
    error_summary, facts, field_id, human_utc, link_button, notice, post_form, rel_time,
    secret_once, submit, tag,
};
use crate::ui::layout::{PageCtx, bare, page};
use crate::ui::pages::auth::{PASSWORD_MAX, PASSWORD_MIN};

/// Where the Users pages live.
pub const BASE: &str = "/settings/iam/users";

/// A role as the pages show it: `(id, label)`, e.g. `("company-admin", "Company Admin")`.
pub type RoleOption = (&'static str, &'static str);

/// A user's state in the list and on their page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserState {
    /// Can sign in.
    Enabled,
    /// Cannot sign in; sessions were ended.
    Disabled,
    /// Created with an activation link that has not been used yet.
    Pending,
}

fn state_badge(s: UserState) -> Markup {
    match s {
        UserState::Enabled => badge(Status::Ok, "Enabled"),
        UserState::Disabled => badge(Status::Error, "Disabled"),
        UserState::Pending => badge(Status::Warning, "Pending activation"),
    }
}

/// One row of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    /// User id (for the link to their page).
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Role labels.
    pub roles: Vec<&'static str>,
    /// Enabled, disabled or pending.
    pub state: UserState,
    /// Creation time, unix seconds.
    pub created: i64,
}

/// Everything the list page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListView {
    /// This page's rows.
    pub rows: Vec<UserRow>,
    /// How many users match the filters.
    pub total: usize,
    /// The search text.
    pub q: String,
    /// The role filter (role id), empty for all.
    pub role: String,
    /// Rows skipped.
    pub offset: usize,
    /// Rows per page.
    pub limit: usize,
    /// The sort column's id (`name`, `email`, `created`).
    pub sort: &'static str,
    /// Reverse order.
    pub descending: bool,
    /// Roles for the filter.
    pub role_options: Vec<RoleOption>,
    /// Current time, unix seconds.
    pub now: i64,
    /// Whether the viewer may create and change users.
    pub can_write: bool,
    /// Whether RBAC is on.
    pub rbac: bool,
    /// Whether the viewer may switch the RBAC mode.
    pub can_switch_mode: bool,
    /// A confirmation to show on top ("The user was deleted.").
    pub notice: Option<String>,
}

/// The list's URL with its filters, the order `sort`/`descending`, at `offset`.
fn list_url(v: &ListView, sort: &str, descending: bool, offset: usize) -> String {
    let mut params = Vec::new();
    if !v.q.is_empty() {
        params.push(format!("q={}", encode(&v.q)));
    }
    if !v.role.is_empty() {
        params.push(format!("role={}", encode(&v.role)));
    }
    if sort != "name" || descending {
        params.push(format!("sort={}", encode(sort)));
    }
    if descending {
        params.push("dir=desc".to_string());
    }
    let limit = v.limit;
    if offset > 0 {
        params.push(format!("offset={offset}"));
    }
    params.push(format!("limit={limit}"));
    format!("{BASE}?{}", params.join("&"))
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(s: &str) -> String {
    use std::fmt::Write;
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// A column header that sorts by `key`: a link that sorts ascending, or reverses the current
/// order. `aria-sort` tells screen readers the order, and the stylesheet draws the arrow
/// from it (`none` marks a sortable column that is not the current one).
fn sort_header(v: &ListView, key: &str, label: &str) -> Markup {
    let current = v.sort == key;
    let aria = match (current, v.descending) {
        (false, _) => "none",
        (true, false) => "ascending",
        (true, true) => "descending",
    };
    html! {
        th scope="col" aria-sort=(aria) {
            a href=(list_url(v, key, current && !v.descending, 0)) { (label) }
        }
    }
}

/// The Users list.
pub fn list(ctx: &PageCtx, v: &ListView) -> Markup {
    let filtered = !v.q.is_empty() || !v.role.is_empty();
    let first = v.offset.saturating_add(1).min(v.total);
    let last = v.offset.saturating_add(v.rows.len());
    let primary = v
        .can_write
        .then(|| link_button(ButtonKind::Primary, &format!("{BASE}/new"), "Create user"));
    let mut role_filter: Vec<(&str, &str)> = vec![("", "All roles")];
    role_filter.extend(v.role_options.iter().copied());
    let body = html! {
        @if let Some(text) = &v.notice {
            (notice(Tone::Ok, text))
        }
        form class="filter-bar" method="get" action=(BASE) role="search" {
            div class="field" {
                label for="f-q" { "Search" }
                input id="f-q" type="search" name="q" value=(v.q) placeholder="Name or e-mail";
            }
            (crate::ui::components::select("role", "Role", &role_filter, &v.role, None, &FormErrors::none()))
            input type="hidden" name="limit" value=(v.limit);
            (submit(ButtonKind::Secondary, "Filter"))
            @if filtered {
                a href=(BASE) { "Clear filters" }
            }
        }
        @if v.total == 0 {
            @if filtered {
                (empty_state("No users match", "No user has this name, e-mail or role. Change the search or clear the filters.",
                    Some(link_button(ButtonKind::Secondary, BASE, "Clear filters"))))
            } @else {
                (empty_state("No users yet", "Users you create appear here.", primary.clone()))
            }
        } @else if v.rows.is_empty() {
            // An offset past the end (an old bookmark, a user deleted meanwhile).
            (empty_state("Nothing on this page", &format!("{} users match, on earlier pages.", v.total),
                Some(link_button(ButtonKind::Secondary, &list_url(v, v.sort, v.descending, 0), "First page"))))
        } @else {
            div class="list-meta" {
                span { "Showing " (first) "–" (last) " of " (v.total) " " (if v.total == 1 { "user" } else { "users" }) }
            }
            div class="table-wrap" { table class="table" {
                caption class="sr-only" { "Users" }
                thead { tr {
                    (sort_header(v, "name", "Name"))
                    (sort_header(v, "email", "E-mail"))
                    th scope="col" { "Roles" }
                    th scope="col" { "Status" }
                    (sort_header(v, "created", "Created"))
                } }
                tbody {
                @for r in &v.rows {
                    tr {
                        th scope="row" { a href={ (BASE) "/" (r.id) } { (r.name) } }
                        td { (r.email) }
                        td { ul class="tag-list" { @for role in &r.roles { li { (tag(role)) } } } }
                        td { (state_badge(r.state)) }
                        td { (rel_time(r.created, v.now)) }
                    }
                }
                }
            } }
            @if v.offset > 0 || last < v.total {
                nav class="pagination" aria-label="Pages" {
                    @if v.offset > 0 {
                        a class="button" href=(list_url(v, v.sort, v.descending, v.offset.saturating_sub(v.limit))) { "Previous" }
                    }
                    @if last < v.total {
                        a class="button" href=(list_url(v, v.sort, v.descending, last)) { "Next" }
                    }
                }
            }
        }
        (card("Access control mode", html! {
            @if v.rbac {
                p { strong { "RBAC" } ": the seven roles apply; developers reach the pools of their access groups." }
            } @else {
                p { strong { "Non-RBAC" } ": only Developer and Company Admin exist, and every developer reaches every pool. Other roles users hold are kept but have no effect." }
            }
            @if v.can_switch_mode {
                (post_form("/settings/iam/rbac-mode", ctx.csrf, html! {
                    input type="hidden" name="mode" value=(if v.rbac { "non-rbac" } else { "rbac" });
                    p class="field-help" {
                        @if v.rbac {
                            "Switching keeps every user's roles; they take effect again when you switch back."
                        } @else {
                            "Switching back makes the roles users hold count again."
                        }
                    }
                    div class="form-actions" {
                        (submit(ButtonKind::Secondary, if v.rbac { "Switch to non-RBAC mode" } else { "Switch to RBAC mode" }))
                    }
                }))
            }
        }))
    };
    page(
        ctx,
        "Users",
        "Manage who can sign in and which roles they hold.",
        primary,
        body,
    )
}

/// The role checkboxes of the create and detail forms (`name="role"`, one value per role).
fn role_checkboxes(options: &[RoleOption], chosen: &[String], errors: &FormErrors) -> Markup {
    let error = errors.field("role");
    html! {
        fieldset class=(if error.is_some() { "field field-invalid" } else { "field" }) id=(field_id("role")) {
            legend { "Roles" }
            @if let Some(message) = error {
                p class="field-error" { (message) }
            }
            @for (id, label) in options {
                div class="field-check" {
                    input id={ "f-role-" (id) } type="checkbox" name="role" value=(id)
                        checked[chosen.iter().any(|c| c == id)];
                    label for={ "f-role-" (id) } { (label) }
                }
            }
            p class="field-help" { "Roles add up. With none chosen the user gets Developer." }
        }
    }
}

/// What was typed into the create form (never the passwords).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewUserValues {
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Chosen role ids.
    pub roles: Vec<String>,
    /// `"password"` or `"link"`.
    pub method: String,
}

/// The create-user form, POSTed to [`BASE`].
pub fn new_form(
    ctx: &PageCtx,
    values: &NewUserValues,
    options: &[RoleOption],
    errors: &FormErrors,
) -> Markup {
    let link = values.method != "password";
    let body = html! {
        (error_summary(errors))
        (card("New user", post_form(BASE, ctx.csrf, html! {
            (Field::text("name", "Name").value(&values.name).autocomplete("off")
                .length(None, Some(100)).help("Leave empty to use the part of the e-mail before the @.")
                .render(errors))
            (Field::email("email", "E-mail").value(&values.email).autocomplete("off").required()
                .help("The user signs in with this address.").render(errors))
            (role_checkboxes(options, &values.roles, errors))
            fieldset class="field" {
                legend { "How they get in" }
                div class="field-check" {
                    input id="f-method-link" type="radio" name="method" value="link" checked[link];
                    label for="f-method-link" { "Create an activation link" }
                    p class="field-help" { "Shown once, valid for 7 days. Hand it to the user; they choose their own password." }
                }
                div class="field-check" {
                    input id="f-method-password" type="radio" name="method" value="password" checked[!link];
                    label for="f-method-password" { "Set a password now" }
                }
            }
            (Field::password("password", "Password")
                .autocomplete("new-password").length(Some(PASSWORD_MIN), Some(PASSWORD_MAX))
                .help("Only when you set it now: 8 to 128 characters. Common passwords are refused.")
                .render(errors))
            (Field::password("password_confirm", "Password again").autocomplete("new-password")
                .length(Some(PASSWORD_MIN), Some(PASSWORD_MAX)).render(errors))
            div class="form-actions" {
                (submit(ButtonKind::Primary, "Create user"))
                a href=(BASE) { "Cancel" }
            }
        })))
    };
    page(
        ctx,
        "Create user",
        "Add someone who may sign in to this appliance.",
        None,
        body,
    )
}

/// Everything one user's page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailView {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Role ids held.
    pub roles: Vec<String>,
    /// Labels of the roles held.
    pub role_labels: Vec<&'static str>,
    /// Enabled, disabled or pending.
    pub state: UserState,
    /// Creation time, unix seconds.
    pub created: i64,
    /// Expiry of the live activation link, unix seconds.
    pub link_expires: Option<i64>,
    /// Current time, unix seconds.
    pub now: i64,
    /// Roles that may be assigned in the current mode.
    pub options: Vec<RoleOption>,
    /// Labels of roles the user holds that have no effect in non-RBAC mode.
    pub inactive: Vec<&'static str>,
    /// Whether the viewer may change users.
    pub can_write: bool,
    /// Whether this is the viewer's own account (no disable, delete or two-step reset).
    pub is_self: bool,
    /// Whether the user has two-step sign-in turned on (then it can be reset).
    pub mfa_on: bool,
    /// A freshly made activation link, shown once.
    pub new_link: Option<String>,
    /// A confirmation to show on top.
    pub notice: Option<String>,
}

/// One user's page.
pub fn detail(ctx: &PageCtx, v: &DetailView) -> Markup {
    let url = format!("{BASE}/{}", v.id);
    let roles = html! {
        ul class="tag-list" { @for r in &v.role_labels { li { (tag(r)) } } }
    };
    let link_fact = match v.link_expires {
        Some(t) if t > v.now => html! { "expires " (rel_time(t, v.now)) },
        Some(_) => html! { "expired" },
        None => html! { "none" },
    };
    let body = html! {
        @if let Some(text) = &v.notice {
            (notice(Tone::Ok, text))
        }
        @if let Some(link) = &v.new_link {
            (secret_once("Activation link", link))
            p class="small muted" {
                "Hand this link to " (v.email) " over a channel you trust. It works once, for 7 days: "
                "they choose a password and are signed in."
            }
        }
        div class="grid-2" {
            (card("Account", facts(&[
                ("Name", html! { (v.name) }),
                ("E-mail", html! { (v.email) }),
                ("Status", state_badge(v.state)),
                ("Created", html! { (rel_time(v.created, v.now)) " " span class="muted small" { "(" (human_utc(v.created)) ")" } }),
                ("Roles", roles),
                ("Two-step sign-in", html! { @if v.mfa_on { "on" } @else { "off" } }),
                ("Activation link", link_fact),
            ])))
            @if v.can_write {
                (card("Change roles", post_form(&format!("{url}/roles"), ctx.csrf, html! {
                    (role_checkboxes(&v.options, &v.roles, &FormErrors::none()))
                    @if !v.inactive.is_empty() {
                        p class="field-help" {
                            "Held but without effect in non-RBAC mode: " (v.inactive.join(", "))
                            ". Saving here replaces them."
                        }
                    }
                    p class="field-help" { "Changes apply to the user's next request." }
                    div class="form-actions" { (submit(ButtonKind::Primary, "Save roles")) }
                })))
            }
        }
        @if v.can_write {
            (card("Account actions", html! {
                @if v.state == UserState::Pending {
                    p { "The user has not activated their account yet. A new activation link replaces the previous one." }
                    (post_form(&format!("{url}/activation-link"), ctx.csrf,
                        submit(ButtonKind::Secondary, "New activation link")))
                }
                @if v.is_self {
                    p class="muted" { "This is your own account: another Company Admin can disable or delete it." }
                } @else {
                    p { "Disabling signs the user out everywhere at once; enabling lets them sign in again. Deleting removes the account for good." }
                    div class="form-actions" {
                        @if v.state == UserState::Disabled {
                            (post_form(&format!("{url}/enable"), ctx.csrf,
                                submit(ButtonKind::Secondary, "Enable user")))
                        } @else {
                            (confirm_action("Disable user",
                                "The user is signed out everywhere at once and cannot sign in until enabled again.",
                                &format!("{url}/disable"), ctx.csrf, "Disable now"))
                        }
                        (confirm_action("Delete user",
                            "The account is removed for good and the user is signed out everywhere. Audit records stay.",
                            &format!("{url}/delete"), ctx.csrf, "Delete for good"))
                    }
                    @if v.mfa_on {
                        p {
                            "Lost phone and recovery codes? Resetting two-step sign-in removes their "
                            "authenticator key and recovery codes and signs them out everywhere."
                        }
                        div class="form-actions" {
                            (confirm_action("Reset two-step sign-in",
                                "Their authenticator key and recovery codes stop working and they are signed out everywhere. They sign in with their password alone and set two-step sign-in up again (at once, if it is required for them). Make sure you know who asked.",
                                &format!("{url}/reset-two-step"), ctx.csrf, "Reset now"))
                        }
                    }
                }
            }))
        }
        p { a href=(BASE) { "← All users" } }
    };
    page(ctx, &v.name, &v.email, None, body)
}

/// The activation page behind a link: the user chooses a password (POSTed to `/activate`
/// with `token`, `password`, `password_confirm` and the pre-sign-in `csrf`).
pub fn activate(csrf: &str, token: &str, name: &str, email: &str, errors: &FormErrors) -> Markup {
    let body = html! {
        p { "Welcome, " strong { (name) } ". Choose a password to activate your account; you are signed in right after." }
        (error_summary(errors))
        form class="form" method="post" action="/activate" {
            (crate::ui::components::csrf_input(csrf))
            input type="hidden" name="token" value=(token);
            // Marked required only so the label does not say "optional": it is read-only and filled.
            (Field::email("email", "E-mail").value(email).autocomplete("username").readonly().required()
                .help("You sign in with this address.").render(&FormErrors::none()))
            (Field::password("password", "Password").autocomplete("new-password").required()
                .autofocus(true).length(Some(PASSWORD_MIN), Some(PASSWORD_MAX))
                .help("8 to 128 characters. Common passwords are refused.").render(errors))
            (Field::password("password_confirm", "Password again").autocomplete("new-password")
                .required().length(Some(PASSWORD_MIN), Some(PASSWORD_MAX)).render(errors))
            div class="form-actions form-actions-full" {
                (submit(ButtonKind::Primary, "Activate my account"))
            }
        }
    };
    bare("Activate your account", body)
}

/// The link was used, replaced or has expired.
pub fn activate_invalid() -> Markup {
    let body = html! {
        p { "This activation link has already been used, was replaced by a newer one, or has expired. Each link works once, for 7 days." }
        p { "Ask a Company Admin of this appliance for a new link. If you already activated your account, " a href="/sign-in" { "sign in" } "." }
    };
    bare("This activation link cannot be used", body)
}

#[cfg(test)]
// Tests may fail loudly; the denies exist for production paths.
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

    fn sample(can_write: bool) -> ListView {
        ListView {
            rows: vec![
                UserRow {
                    id: "a1".into(),
                    name: "Ada Admin".into(),
                    email: "ada@x.org".into(),
                    roles: vec!["Company Admin"],
                    state: UserState::Enabled,
                    created: 1_000,
                },
                UserRow {
                    id: "b2".into(),
                    name: "<b>Bob</b>".into(),
                    email: "bob@x.org".into(),
                    roles: vec!["Developer", "AppSec"],
                    state: UserState::Pending,
                    created: 2_000,
                },
            ],
            total: 45,
            q: "x&y".into(),
            role: "developer".into(),
            offset: 20,
            limit: 20,
            sort: "name",
            descending: false,
            role_options: vec![
                ("developer", "Developer"),
                ("company-admin", "Company Admin"),
            ],
            now: 90_000,
            can_write,
            rbac: true,
            can_switch_mode: can_write,
            notice: None,
        }
    }

    #[test]
    fn list_escapes_pages_and_keeps_filters() {
        let html = with_ctx(|ctx| list(ctx, &sample(true))).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("&lt;b&gt;Bob&lt;/b&gt;"));
        assert!(html.contains("Showing 21–22 of 45 users"));
        assert!(html.contains("Pending activation"));
        assert!(
            html.contains("href=\"/settings/iam/users?q=x%26y&amp;role=developer&amp;limit=20\""),
            "{html}"
        );
        assert!(html.contains("offset=22"));
        assert!(html.contains("aria-sort=\"ascending\""));
        assert!(
            html.contains("role=developer&amp;sort=name&amp;dir=desc&amp;limit=20"),
            "the current column reverses"
        );
        assert!(html.contains("Create user"));
        assert!(html.contains("Switch to non-RBAC mode"));
        // Written for the browser check (see the report): tests/it renders the real thing.
        if let Ok(path) = std::env::var("LANTERN_RENDER_USERS") {
            std::fs::write(path, &html).unwrap();
        }
    }

    #[test]
    fn read_only_list_has_no_buttons() {
        let html = with_ctx(|ctx| list(ctx, &sample(false))).into_string();
        assert!(!html.contains("Create user"));
        assert!(!html.contains("Switch to"));
        assert!(!html.contains("method=\"post\" action=\"/settings"));
    }

    #[test]
    fn a_page_past_the_end_links_to_the_first() {
        let mut v = sample(true);
        v.rows.clear();
        v.offset = 100;
        let html = with_ctx(|ctx| list(ctx, &v)).into_string();
        assert!(html.contains("Nothing on this page"));
        assert!(!html.contains("Showing"));
    }

    #[test]
    fn empty_list_explains() {
        let mut v = sample(true);
        v.rows.clear();
        v.total = 0;
        v.offset = 0;
        let html = with_ctx(|ctx| list(ctx, &v)).into_string();
        assert!(html.contains("No users match"));
        assert!(!html.contains("<table"));
    }

    #[test]
    fn new_form_keeps_values_and_shows_errors() {
        let values = NewUserValues {
            name: "Eve".into(),
            email: "eve@x.org".into(),
            roles: vec!["developer".into()],
            method: "password".into(),
        };
        let errors =
            FormErrors::none().with_field("email", "a user with this e-mail already exists");
        let html = with_ctx(|ctx| {
            new_form(
                ctx,
                &values,
                &[("developer", "Developer"), ("security", "Security")],
                &errors,
            )
        })
        .into_string();
        assert_csp_clean(&html);
        assert_eq!(html.matches("already exists").count(), 2);
        assert!(html.contains("value=\"eve@x.org\""));
        assert!(html.contains("value=\"developer\" checked"));
        assert!(!html.contains("value=\"security\" checked"));
        assert!(html.contains("value=\"password\" checked"));
        if let Ok(path) = std::env::var("LANTERN_RENDER_NEW_USER") {
            std::fs::write(path, &html).unwrap();
        }
    }

    #[test]
    fn detail_shows_link_once_and_hides_self_actions() {
        let v = DetailView {
            id: "b2".into(),
            name: "Bob".into(),
            email: "bob@x.org".into(),
            roles: vec!["developer".into()],
            role_labels: vec!["Developer"],
            state: UserState::Pending,
            created: 1_000,
            link_expires: Some(600_000),
            now: 2_000,
            options: vec![("developer", "Developer")],
            inactive: vec!["Security"],
            can_write: true,
            is_self: true,
            mfa_on: true,
            new_link: Some("https://a/activate?token=T".into()),
            notice: None,
        };
        let html = with_ctx(|ctx| detail(ctx, &v)).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("you will not see this again"));
        assert!(html.contains("without effect in non-RBAC mode: Security"));
        assert!(html.contains("/settings/iam/users/b2/activation-link"));
        assert!(!html.contains("/settings/iam/users/b2/delete"));
        assert!(
            !html.contains("/settings/iam/users/b2/reset-two-step"),
            "not for one's own account"
        );
        if let Ok(path) = std::env::var("LANTERN_RENDER_USER_LINK") {
            std::fs::write(path, &html).unwrap();
        }
        let other = DetailView {
            is_self: false,
            new_link: None,
            ..v
        };
        let html = with_ctx(|ctx| detail(ctx, &other)).into_string();
        assert!(html.contains("/settings/iam/users/b2/delete"));
        assert!(html.contains("/settings/iam/users/b2/disable"));
        assert!(html.contains("action=\"/settings/iam/users/b2/reset-two-step\""));
        assert!(html.contains("Reset two-step sign-in"));
        let without = DetailView {
            mfa_on: false,
            ..other.clone()
        };
        let html = with_ctx(|ctx| detail(ctx, &without)).into_string();
        assert!(!html.contains("reset-two-step"), "nothing to reset");
        if let Ok(path) = std::env::var("LANTERN_RENDER_USER") {
            std::fs::write(path, &html).unwrap();
        }
    }

    #[test]
    fn activation_pages_render() {
        let html = activate("c", "T", "Bob", "bob@x.org", &FormErrors::none()).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("name=\"token\" value=\"T\""));
        if let Ok(path) = std::env::var("LANTERN_RENDER_ACTIVATE") {
            std::fs::write(path, &html).unwrap();
        }
        assert!(
            activate_invalid()
                .into_string()
                .contains("Ask a Company Admin")
        );
    }
}
