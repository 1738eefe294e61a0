//! The Profile page (header menu → Profile): who the user is, which roles and access groups
//! they hold, changing their password, and signing out.

use maud::{Markup, html};

use crate::ui::components::{
    ButtonKind, Field, FormErrors, Tone, card, error_summary, facts, link_button, notice,
    post_form, rel_time, submit, tag,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::pages::auth::{PASSWORD_MAX, PASSWORD_MIN};

/// What the Profile page shows about the signed-in user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileView {
    /// Display name.
    pub name: String,
    /// E-mail address (the sign-in name).
    pub email: String,
    /// Role ids (`company-admin`, `developer`, ...; `ROLES.md`).
    pub roles: Vec<String>,
    /// Names of the access groups the user belongs to.
    pub groups: Vec<String>,
    /// The user's active temporary-access grants.
    pub grants: Vec<ProfileGrant>,
    /// When the account was created (unix seconds).
    pub created: i64,
    /// The current time (unix seconds), for relative times.
    pub now: i64,
    /// Whether two-step sign-in is on (then a password change asks for a code too).
    pub two_step: bool,
}

/// One active temporary-access grant of the user (times in unix seconds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileGrant {
    /// The incident it is for.
    pub incident: String,
    /// Names of the pools it reaches.
    pub pools: Vec<String>,
    /// Labels of the roles it grants.
    pub roles: Vec<String>,
    /// When it expires.
    pub expires: i64,
}

/// The persona name and scope of a role id from `ROLES.md`; unknown ids are shown as given.
pub fn role_label(id: &str) -> (&str, Option<&'static str>) {
    match id {
        "company-admin" => ("Company Admin", Some("everything, all pools")),
        "company-viewer" => ("Company Viewer", Some("read-only, all pools, no secrets")),
        "group-admin" => (
            "Group Admin",
            Some("manages the access groups they administer and their pools"),
        ),
        "security" => (
            "Security",
            Some("audit, PII redaction, blocklist, API-key oversight"),
        ),
        "appsec" => (
            "AppSec",
            Some("runtime reachability, SBOM, vulnerability data, webhooks"),
        ),
        "incident-responder" => (
            "Incident Responder",
            Some("debug on any pool, may ignore quotas"),
        ),
        "developer" => (
            "Developer",
            Some("debug on the pools of their access groups"),
        ),
        other => (other, None),
    }
}

/// The Profile page. `errors` belong to the change-password form (fields `current_password`,
/// `new_password`, `new_password_confirm`); `notice` confirms a change ("Password changed.").
pub fn profile(
    ctx: &PageCtx,
    p: &ProfileView,
    errors: &FormErrors,
    notice_text: Option<&str>,
) -> Markup {
    let roles = html! {
        @if p.roles.is_empty() {
            span class="muted" { "No roles: this account can sign in but not see any area." }
        } @else {
            ul class="plain-list" {
                @for id in &p.roles {
                    @let (label, scope) = role_label(id);
                    li {
                        (tag(label))
                        @if let Some(scope) = scope { " " span class="muted" { (scope) } }
                    }
                }
            }
        }
    };
    let groups = html! {
        @if p.groups.is_empty() {
            span class="muted" { "None." }
        } @else {
            ul class="tag-list" {
                @for g in &p.groups { li { (tag(g)) } }
            }
        }
    };
    let grants = html! {
        @if p.grants.is_empty() {
            p class="muted" { "You have no active temporary access." }
        } @else {
            ul class="plain-list" {
                @for g in &p.grants {
                    li {
                        strong { (g.incident) } ": "
                        (g.roles.join(", ")) " on " (g.pools.join(", "))
                        ", expires " (rel_time(g.expires, p.now))
                    }
                }
            }
        }
    };
    let body = html! {
        @if let Some(text) = notice_text {
            (notice(Tone::Ok, text))
        }
        div class="grid-2" {
            (card("Account", facts(&[
                ("Name", html! { (p.name) }),
                ("E-mail", html! { (p.email) }),
                ("Member since", rel_time(p.created, p.now)),
                ("Roles", roles),
                ("Access groups", groups),
            ])))
            (card("Change password", html! {
                (error_summary(errors))
                (post_form("/profile/password", ctx.csrf, html! {
                    // Tells password managers which account the new password belongs to.
                    // No `name`, so it is not submitted and handlers see only their fields.
                    input type="email" autocomplete="username" value=(p.email) hidden readonly;
                    (Field::password("current_password", "Current password")
                        .autocomplete("current-password")
                        .required()
                        .render(errors))
                    (Field::password("new_password", "New password")
                        .autocomplete("new-password")
                        .required()
                        .length(Some(PASSWORD_MIN), Some(PASSWORD_MAX))
                        .help("8 to 128 characters. Common passwords are refused.")
                        .render(errors))
                    (Field::password("new_password_confirm", "New password again")
                        .autocomplete("new-password")
                        .required()
                        .length(Some(PASSWORD_MIN), Some(PASSWORD_MAX))
                        .render(errors))
                    @if p.two_step {
                        (Field::text("code", "Current code")
                            .autocomplete("one-time-code")
                            .required()
                            .help("The 6 digits your authenticator app shows now, or a recovery code.")
                            .render(errors))
                    }
                    div class="form-actions" {
                        (submit(ButtonKind::Primary, "Change password"))
                    }
                }))
            }))
        }
        (card("Two-step sign-in", html! {
            @if p.two_step {
                p { "On: signing in asks for a code from your authenticator app." }
                (link_button(ButtonKind::Secondary, "/profile/two-step", "Manage two-step sign-in"))
            } @else {
                p { "Off: signing in needs only your password." }
                (link_button(ButtonKind::Primary, "/profile/two-step", "Set up two-step sign-in"))
            }
        }))
        (card("Temporary access", grants))
        (card("Sign out", html! {
            p { "Ends this session in this browser." }
            (post_form("/sign-out", ctx.csrf, submit(ButtonKind::Secondary, "Sign out")))
        }))
    };
    page(
        ctx,
        "Profile",
        "Your account, your roles and your password.",
        None,
        body,
    )
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
    use crate::ui::layout::UserView;
    use crate::ui::nav::NavId;
    use crate::ui::test_support::assert_csp_clean;

    fn render(p: &ProfileView, errors: &FormErrors) -> String {
        let all = |_: NavId| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "Community",
            user: Some(UserView {
                name: &p.name,
                email: &p.email,
            }),
            current_path: "/profile",
            csrf: "tok",
            visible: &all,
        };
        profile(&ctx, p, errors, Some("Password changed.")).into_string()
    }

    #[test]
    fn shows_account_roles_and_forms() {
        let p = ProfileView {
            name: "Ada <b>Lovelace</b>".into(),
            email: "ada@example.com".into(),
            roles: vec!["company-admin".into(), "custom-x".into()],
            groups: vec![],
            grants: vec![ProfileGrant {
                incident: "INC-9".into(),
                pools: vec!["prod".into()],
                roles: vec!["Developer".into()],
                expires: 1_000 + 4 * 86_400,
            }],
            created: 1_000,
            now: 1_000 + 3 * 86_400,
            two_step: true,
        };
        let errors =
            FormErrors::none().with_field("current_password", "The current password is wrong.");
        let html = render(&p, &errors);
        assert_csp_clean(&html);
        assert!(html.contains("Ada &lt;b&gt;Lovelace&lt;/b&gt;"));
        assert!(html.contains("Company Admin") && html.contains("custom-x"));
        assert!(html.contains("INC-9") && html.contains("in 1 day"));
        assert!(html.contains("3 days ago"));
        assert!(html.contains("action=\"/profile/password\""));
        for f in ["current_password", "new_password", "new_password_confirm"] {
            assert!(html.contains(&format!("name=\"{f}\"")));
        }
        assert_eq!(html.matches("The current password is wrong.").count(), 2);
        // The header menu and the page each have a sign-out form.
        assert_eq!(html.matches("action=\"/sign-out\"").count(), 2);
        assert!(html.contains("Password changed."));
        assert!(html.contains("name=\"code\"") && html.contains("Manage two-step sign-in"));
    }

    #[test]
    fn lists_groups_when_present() {
        let p = ProfileView {
            groups: vec!["Default".into()],
            ..ProfileView::default()
        };
        let html = render(&p, &FormErrors::none());
        assert!(html.contains(">Default</span>"));
        assert!(html.contains("no active temporary access"));
        assert!(!html.contains("name=\"code\"") && html.contains("Set up two-step sign-in"));
    }
}
