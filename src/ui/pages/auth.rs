//! Pages shown before anyone is signed in: sign-in, first-admin setup and the "setup link no
//! longer valid" page. All use the bare card frame (no navigation, no user).

use maud::{Markup, html};

use crate::ui::components::{
    ButtonKind, Field, FormErrors, Tone, code_block, csrf_input, error_summary, notice, submit,
};
use crate::ui::layout::bare;

/// Shortest accepted password (`DEFAULTS.md`, ASVS 6.2).
pub const PASSWORD_MIN: u32 = 8;
/// Longest accepted password.
pub const PASSWORD_MAX: u32 = 128;

const PASSWORD_HELP: &str = "8 to 128 characters. Common passwords are refused. \
    A few unrelated words are easier to remember than a short complicated one.";

/// The sign-in page: e-mail and password, POSTed to `/sign-in` with `csrf`.
///
/// `email` refills the field after a failed attempt; `error` is shown as an alert (keep it
/// generic: it must not tell which of e-mail or password was wrong); `notice` is a neutral
/// message such as "You have been signed out.".
pub fn sign_in(
    ctx_csrf: &str,
    email: &str,
    error: Option<&str>,
    notice_text: Option<&str>,
) -> Markup {
    let none = FormErrors::none();
    let body = html! {
        @if let Some(text) = notice_text {
            (notice(Tone::Info, text))
        }
        @if let Some(text) = error {
            (notice(Tone::Error, text))
        }
        form class="form" method="post" action="/sign-in" {
            (csrf_input(ctx_csrf))
            (Field::email("email", "E-mail")
                .value(email)
                .autocomplete("username")
                .required()
                .autofocus(email.is_empty())
                .render(&none))
            (Field::password("password", "Password")
                .autocomplete("current-password")
                .required()
                .autofocus(!email.is_empty())
                .render(&none))
            div class="form-actions form-actions-full" {
                (submit(ButtonKind::Primary, "Sign in"))
            }
        }
        p class="muted small" { "Cannot sign in? Ask a Company Admin of this appliance." }
    };
    bare("Sign in", body)
}

/// What was typed into the setup form, sent back after an error (never the passwords).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupValues {
    /// The new admin's display name.
    pub name: String,
    /// The new admin's e-mail address (their sign-in name).
    pub email: String,
}

/// "Create the first Company Admin": the page behind the one-time setup link, POSTed to
/// `/setup` with the link's `token`, `name`, `email`, `password`, `password_confirm` and
/// `csrf`.
pub fn setup(csrf: &str, token: &str, values: &SetupValues, errors: &FormErrors) -> Markup {
    let body = html! {
        p {
            "This appliance has no users yet. The account you create here is its first "
            strong { "Company Admin" }
            ": it can do everything, including creating the other users. This link works once."
        }
        (error_summary(errors))
        form class="form" method="post" action="/setup" {
            (csrf_input(csrf))
            input type="hidden" name="token" value=(token);
            (Field::text("name", "Your name")
                .value(&values.name)
                .autocomplete("name")
                .required()
                .autofocus(errors.is_empty() || errors.field("name").is_some())
                .length(None, Some(100))
                .render(errors))
            (Field::email("email", "E-mail")
                .value(&values.email)
                .autocomplete("username")
                .required()
                .help("You sign in with this address.")
                .render(errors))
            (Field::password("password", "Password")
                .autocomplete("new-password")
                .required()
                .length(Some(PASSWORD_MIN), Some(PASSWORD_MAX))
                .help(PASSWORD_HELP)
                .render(errors))
            (Field::password("password_confirm", "Password again")
                .autocomplete("new-password")
                .required()
                .length(Some(PASSWORD_MIN), Some(PASSWORD_MAX))
                .help("Type the same password once more.")
                .render(errors))
            div class="form-actions form-actions-full" {
                (submit(ButtonKind::Primary, "Create the Company Admin"))
            }
        }
    };
    bare("Create the first Company Admin", body)
}

/// The setup link was already used or has expired: how to create the first admin from the
/// appliance host instead.
pub fn setup_invalid() -> Markup {
    let body = html! {
        p { "The link has already been used, or it has expired. Each setup link works once." }
        p {
            "While no user exists, each start of the appliance prints a fresh setup link. "
            "Or create the first Company Admin from a shell on the appliance host:"
        }
        (code_block("lantern admin create --email you@example.com --name \"Your Name\" < password-file", "Command"))
        p class="small" {
            "The password is read from standard input. Add "
            code { "--data-dir DIR" }
            " if the appliance does not use its default data directory ("
            code { "/var/lib/lantern" }
            " under systemd)."
        }
        p { "If an account already exists, " a href="/sign-in" { "sign in" } " instead." }
    };
    bare("This setup link cannot be used", body)
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
    use crate::ui::test_support::{assert_csp_clean, tags};

    #[test]
    fn sign_in_form_has_the_right_fields() {
        let html = sign_in("tok", "", None, Some("You have been signed out.")).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("action=\"/sign-in\""));
        assert!(html.contains("name=\"csrf\" value=\"tok\""));
        assert!(html.contains(
            "name=\"email\" type=\"email\" value=\"\" autocomplete=\"username\" required autofocus"
        ));
        assert!(html.contains("name=\"password\" type=\"password\" value=\"\" autocomplete=\"current-password\" required"));
        assert_eq!(
            tags(&html)
                .iter()
                .filter(|t| t.attrs.iter().any(|a| a == "autofocus"))
                .count(),
            1
        );
        assert!(html.contains("You have been signed out."));
    }

    #[test]
    fn sign_in_after_error_keeps_email_and_focuses_password() {
        let html =
            sign_in("tok", "a\"@x", Some("E-mail or password is wrong."), None).into_string();
        assert!(html.contains("value=\"a&quot;@x\""));
        assert!(html.contains("role=\"alert\""));
        assert!(html.contains("autocomplete=\"current-password\" required autofocus"));
    }

    #[test]
    fn setup_keeps_values_and_shows_errors_twice() {
        let values = SetupValues {
            name: "<script>alert(1)</script>".into(),
            email: "ada@example.com".into(),
        };
        let errors = FormErrors::none().with_field(
            "password",
            "Choose a longer password: at least 8 characters.",
        );
        let html = setup("tok", "setup-token", &values, &errors).into_string();
        assert_csp_clean(&html);
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("name=\"token\" value=\"setup-token\""));
        assert!(html.contains("value=\"ada@example.com\""));
        for name in ["name", "email", "password", "password_confirm", "csrf"] {
            assert!(html.contains(&format!("name=\"{name}\"")), "{name}");
        }
        assert_eq!(
            html.matches("Choose a longer password").count(),
            2,
            "summary and field"
        );
        assert!(html.contains("minlength=\"8\" maxlength=\"128\""));
        assert!(html.contains("Common passwords are refused"));
        assert!(html.contains("autocomplete=\"new-password\""));
    }

    #[test]
    fn setup_invalid_says_what_to_run() {
        let html = setup_invalid().into_string();
        assert_csp_clean(&html);
        assert!(html.contains("lantern admin create --email"));
    }
}
