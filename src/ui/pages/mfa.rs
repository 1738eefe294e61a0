//! Two-step sign-in pages: setting it up on Profile (the key to type into an authenticator
//! app, then a code to confirm), managing it once on (recovery codes, turning it off), and
//! the second step of sign-in.
//!
//! There is no QR code: the appliance carries no image library, and typing a 32-letter key
//! works with every authenticator app.

use maud::{Markup, html};

use crate::ui::components::{
    ButtonKind, Field, FormErrors, Tone, card, checkbox, checkbox_group, code_block, copyable,
    csrf_input, error_summary, notice, notice_with, post_form, submit,
};
use crate::ui::layout::{PageCtx, bare, page};

const TITLE: &str = "Two-step sign-in";
const SUMMARY: &str = "A code from an authenticator app in addition to your password.";

/// The code field: six digits from the app, or a recovery code where `recovery` allows it.
fn code_field<'a>(label: &'a str, recovery: bool) -> Field<'a> {
    let help = if recovery {
        "The 6 digits your authenticator app shows now, or one of your recovery codes."
    } else {
        "The 6 digits your authenticator app shows now."
    };
    Field::text("code", label)
        .autocomplete("one-time-code")
        .required()
        .help(help)
}

/// Setting it up: the key (grouped, with a copy button), the `otpauth://` URI, and a form
/// POSTed to `/profile/two-step/enable` with the first `code`. `required` says the policy
/// demands it before anything else.
pub fn setup(
    ctx: &PageCtx,
    secret_grouped: &str,
    uri: &str,
    errors: &FormErrors,
    required: bool,
) -> Markup {
    let body = html! {
        @if required {
            (notice(Tone::Warning, "Your organisation requires two-step sign-in. Set it up to continue: the rest of the portal opens once it is on."))
        }
        (card("1. Add Lantern to your authenticator app", html! {
            p { "Enter this key in your authenticator app (time-based, 6 digits, 30 seconds):" }
            (copyable(secret_grouped, "Key"))
            p class="muted small" { "Apps that accept a link take this one instead:" }
            (code_block(uri, "otpauth link"))
        }))
        (card("2. Confirm with a code", html! {
            (error_summary(errors))
            (post_form("/profile/two-step/enable", ctx.csrf, html! {
                (code_field("Code from the app", false).autofocus(true).render(errors))
                div class="form-actions" {
                    (submit(ButtonKind::Primary, "Turn on two-step sign-in"))
                }
            }))
        }))
    };
    page(ctx, TITLE, SUMMARY, None, body)
}

/// The re-authentication fields asked before a change: the password and a current code.
fn reauth_fields(errors: &FormErrors, email: &str) -> Markup {
    html! {
        input type="email" autocomplete="username" value=(email) hidden readonly;
        (Field::password("current_password", "Current password")
            .autocomplete("current-password")
            .required()
            .render(errors))
        (code_field("Current code", true).render(errors))
    }
}

/// Two-step sign-in is on: recovery codes left, new ones (shown once, right after enrolment
/// or regeneration), and the forms to regenerate them or turn two-step sign-in off.
pub fn manage(
    ctx: &PageCtx,
    email: &str,
    recovery_left: usize,
    new_codes: Option<&[String]>,
    errors: &FormErrors,
    notice_text: Option<&str>,
) -> Markup {
    let body = html! {
        @if let Some(text) = notice_text {
            (notice(Tone::Ok, text))
        }
        @if let Some(codes) = new_codes {
            (notice_with(Tone::Warning, "Your recovery codes", html! {
                p { "Each works once, in place of a code, if you lose your authenticator app. Copy them now and keep them somewhere safe: you will not see them again." }
                (code_block(&codes.join("\n"), "Recovery codes"))
            }))
        }
        (error_summary(errors))
        (card("Status", html! {
            p { "Two-step sign-in is " strong { "on" } ". " (recovery_left) " recovery codes are left." }
        }))
        div class="grid-2" {
            (card("New recovery codes", html! {
                p { "Replaces all your recovery codes with ten new ones." }
                (post_form("/profile/two-step/recovery-codes", ctx.csrf, html! {
                    (reauth_fields(errors, email))
                    div class="form-actions" {
                        (submit(ButtonKind::Secondary, "Make new recovery codes"))
                    }
                }))
            }))
            (card("Turn off", html! {
                p { "Sign-in then needs only your password." }
                (post_form("/profile/two-step/disable", ctx.csrf, html! {
                    (reauth_fields(errors, email))
                    div class="form-actions" {
                        (submit(ButtonKind::Danger, "Turn off two-step sign-in"))
                    }
                }))
            }))
        }
    };
    page(ctx, TITLE, SUMMARY, None, body)
}

/// The second step of sign-in: one code field, POSTed to `/sign-in/two-step` with `csrf`
/// (the pre-sign-in token). `error` stays generic, like a wrong password.
pub fn challenge(csrf: &str, error: Option<&str>) -> Markup {
    let none = FormErrors::none();
    let body = html! {
        @if let Some(text) = error {
            (notice(Tone::Error, text))
        }
        p { "Enter the 6-digit code (or a recovery code)." }
        form class="form" method="post" action="/sign-in/two-step" {
            (csrf_input(csrf))
            (code_field("Code", true).autofocus(true).render(&none))
            div class="form-actions form-actions-full" {
                (submit(ButtonKind::Primary, "Continue"))
            }
        }
    };
    bare(TITLE, body)
}

/// The two-step policy as the Identity Configuration page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyView {
    /// Everyone must use two-step sign-in.
    pub everyone: bool,
    /// Every role as `(id, label)`.
    pub roles: Vec<(String, String)>,
    /// Ids of the roles whose holders must.
    pub required: std::collections::BTreeSet<String>,
    /// Whether the viewer may change it (Company Admin).
    pub can_change: bool,
}

/// Settings › Identity Configuration: the "Two-step sign-in" policy (POSTed to
/// `/settings/iam/identity/two-step` with `everyone` and `roles`), then what the rest of the
/// page will do once built.
pub fn identity(
    ctx: &PageCtx,
    entry: &crate::ui::nav::NavEntry,
    v: &PolicyView,
    notice_text: Option<&str>,
) -> Markup {
    let none = FormErrors::none();
    let required_roles: Vec<&str> = v
        .roles
        .iter()
        .filter(|(id, _)| v.required.contains(id))
        .map(|(_, label)| label.as_str())
        .collect();
    let body = html! {
        @if let Some(text) = notice_text {
            (notice(Tone::Ok, text))
        }
        (card("Two-step sign-in", html! {
            p {
                "Users who must use two-step sign-in and have not set it up are sent to their "
                "Profile after signing in, and reach nothing else until it is on."
            }
            @if v.can_change {
                (post_form("/settings/iam/identity/two-step", ctx.csrf, html! {
                    (checkbox("everyone", "Required for everyone", v.everyone, None))
                    (checkbox_group("roles", "Required for these roles", &v.roles, &v.required,
                        Some("Applies to anyone holding at least one of the roles checked."), &none))
                    div class="form-actions" {
                        (submit(ButtonKind::Primary, "Save"))
                    }
                }))
            } @else if v.everyone {
                p { strong { "Required for everyone." } }
            } @else if required_roles.is_empty() {
                p { strong { "Optional for everyone." } }
            } @else {
                p { "Required for: " strong { (required_roles.join(", ")) } }
            }
        }))
        section class="card" {
            h2 class="card-title" { "Not available yet in this version" }
            ul class="checklist" {
                @for point in entry.planned {
                    li { (point) }
                }
            }
        }
    };
    page(ctx, entry.label, entry.summary, None, body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ui::layout::UserView;
    use crate::ui::nav::NavId;
    use crate::ui::test_support::assert_csp_clean;

    fn ctx_render(f: impl FnOnce(&PageCtx) -> Markup) -> String {
        let all = |_: NavId| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "Community",
            user: Some(UserView {
                name: "Ada",
                email: "ada@example.org",
            }),
            current_path: "/profile/two-step",
            csrf: "tok",
            visible: &all,
        };
        f(&ctx).into_string()
    }

    #[test]
    fn setup_shows_key_and_link_and_asks_a_code() {
        let html = ctx_render(|c| {
            setup(
                c,
                "ABCD EFGH",
                "otpauth://totp/x?a=1&b=2",
                &FormErrors::none(),
                true,
            )
        });
        assert_csp_clean(&html);
        assert!(html.contains("ABCD EFGH"));
        assert!(html.contains("otpauth://totp/x?a=1&amp;b=2"));
        assert!(html.contains("action=\"/profile/two-step/enable\""));
        assert!(html.contains("requires two-step sign-in"));
    }

    #[test]
    fn identity_page_shows_the_policy_form_or_its_state() {
        let entry = crate::ui::nav::entry(NavId::Identity);
        let mut v = PolicyView {
            everyone: false,
            roles: vec![("company-admin".into(), "Company Admin".into())],
            required: ["company-admin".to_string()].into_iter().collect(),
            can_change: true,
        };
        let html = ctx_render(|c| identity(c, entry, &v, Some("Saved.")));
        assert_csp_clean(&html);
        assert!(html.contains("action=\"/settings/iam/identity/two-step\""));
        assert!(html.contains("value=\"company-admin\" checked"));
        v.can_change = false;
        let html = ctx_render(|c| identity(c, entry, &v, None));
        assert!(!html.contains("/settings/iam/identity/two-step"));
        assert!(html.contains("Required for: <strong>Company Admin"));
    }

    #[test]
    fn manage_shows_codes_once_and_reauth_forms() {
        let codes = vec!["abcde-12345".to_string()];
        let html = ctx_render(|c| manage(c, "a@x", 9, Some(&codes), &FormErrors::none(), None));
        assert_csp_clean(&html);
        assert!(html.contains("abcde-12345") && html.contains("9 recovery codes"));
        assert_eq!(html.matches("name=\"current_password\"").count(), 2);
        let challenge = challenge("t", Some("wrong")).into_string();
        assert_csp_clean(&challenge);
        assert!(challenge.contains("action=\"/sign-in/two-step\"") && challenge.contains("wrong"));
    }
}
