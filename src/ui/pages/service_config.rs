//! Settings › Compliance › Service Configuration: the organisation's limits and retention
//! periods in three sections (Actions, Retention, Capture limits), each field with its
//! default and range under it, per-field errors with a summary on top and the typed values
//! kept, "Reset to default" per field and per section; and, read-only, the server-level
//! settings of the configuration file. Roles that may only read see the values without a
//! form.
//!
//! The reset buttons belong to a second form (`form="reset-form"`), so pressing Enter in a
//! field always saves and a reset never sends the other fields' unsaved text.

use std::collections::BTreeMap;

use maud::{Markup, html};

use crate::ops::service_config::{FIELDS, FieldSpec, Section, ServiceConfig};
use crate::ui::components::{
    ButtonKind, Field, FormErrors, Tone, card, csrf_input, error_summary, notice, post_form, submit,
};
use crate::ui::layout::{PageCtx, page};

/// Where the page lives and its forms post.
pub const PATH: &str = "/settings/compliance/service-configuration";
const RESET_FORM: &str = "reset-form";

/// What the page shows.
#[derive(Debug)]
pub struct View<'a> {
    /// The configuration in force.
    pub config: &'a ServiceConfig,
    /// Values typed into a refused form, by key (shown instead of those in force).
    pub typed: &'a BTreeMap<String, String>,
    /// The refused form's errors.
    pub errors: &'a FormErrors,
    /// May change (Company Admin).
    pub can_change: bool,
    /// A success message.
    pub notice: Option<&'a str>,
    /// The server-level settings of the configuration file: (section, [(label, value)]).
    pub server: &'a [(&'static str, Vec<(&'static str, String)>)],
}

fn help(f: &FieldSpec) -> String {
    format!(
        "{} Default {} {}; from {} to {}.",
        f.help, f.default, f.unit, f.min, f.max
    )
}

fn field(v: &View, f: &FieldSpec) -> Markup {
    let current = v.config.get(f.key).unwrap_or(f.default).to_string();
    let value = v.typed.get(f.key).cloned().unwrap_or(current);
    let help = help(f);
    let label = format!("{} ({})", f.label, f.unit);
    let mut input = Field::new("number", f.key, &label)
        .value(&value)
        .help(&help);
    if v.can_change {
        input = input.required();
    } else {
        input = input.readonly();
    }
    html! {
        div class="setting" {
            (input.render(v.errors))
            @if v.can_change && v.config.get(f.key) != Some(f.default) {
                button type="submit" class="button" form=(RESET_FORM) name="reset" value=(f.key) {
                    "Reset " (f.label.to_lowercase()) " to default"
                }
            }
        }
    }
}

fn section(v: &View, s: Section) -> Markup {
    html! {
        fieldset class="settings-section" {
            legend { (s.title()) }
            @for f in FIELDS.iter().filter(|f| f.section == s) {
                (field(v, f))
            }
            @if v.can_change {
                button type="submit" class="button" form=(RESET_FORM) name="reset"
                    value={ "section:" (s.id()) } {
                    "Reset " (s.title().to_lowercase()) " to defaults"
                }
            }
        }
    }
}

/// The page.
pub fn service_config(ctx: &PageCtx, v: &View) -> Markup {
    let sections = html! {
        @for s in Section::ALL { (section(v, s)) }
    };
    let body = html! {
        @if let Some(text) = v.notice { (notice(Tone::Ok, text)) }
        @if v.can_change {
            (error_summary(v.errors))
            (post_form(PATH, ctx.csrf, html! {
                (sections)
                (submit(ButtonKind::Primary, "Save"))
            }))
            form id=(RESET_FORM) method="post" action=(PATH) { (csrf_input(ctx.csrf)) }
        } @else {
            (notice(Tone::Info, "You can see these settings; a Company Admin changes them."))
            div class="form" { (sections) }
        }
        (card("Server (configuration file)", html! {
            p { "Set in the configuration file or the environment; a restart applies a change." }
            @for (title, rows) in v.server {
                h3 { (title) }
                dl class="facts" {
                    @for (label, value) in rows {
                        dt { (label) } dd { (value) }
                    }
                }
            }
        }))
    };
    page(
        ctx,
        "Service Configuration",
        "The limits and retention periods the appliance enforces.",
        None,
        body,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ui::test_support::assert_csp_clean;

    fn render(v: &View) -> String {
        let visible = |_| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "",
            user: None,
            current_path: PATH,
            csrf: "tok",
            visible: &visible,
        };
        service_config(&ctx, v).into_string()
    }

    #[test]
    fn fields_show_defaults_ranges_errors_and_typed_values() {
        let config = ServiceConfig {
            capture_depth: 5,
            ..ServiceConfig::default()
        };
        let typed: BTreeMap<String, String> =
            [("results_retention_days".to_string(), "0".to_string())].into();
        let errors = FormErrors::none().with_field("results_retention_days", "from 1 to 3650");
        let server = [("HTTP", vec![("Listen", "0.0.0.0:8443".to_string())])];
        let v = View {
            config: &config,
            typed: &typed,
            errors: &errors,
            can_change: true,
            notice: None,
            server: &server,
        };
        let html = render(&v);
        assert_csp_clean(&html);
        assert!(html.contains("Default 10 days; from 1 to 3650."), "{html}");
        assert!(html.contains(r#"name="results_retention_days" type="number" value="0""#));
        assert!(html.contains("There is a problem"));
        assert!(
            html.contains(r#"name="reset" value="capture_depth""#),
            "changed: resettable"
        );
        assert!(
            !html.contains(r#"name="reset" value="capture_fields""#),
            "at default"
        );
        assert!(html.contains(r#"value="section:retention""#));
        assert!(html.contains("0.0.0.0:8443"));
        let read_only = render(&View {
            can_change: false,
            ..v
        });
        assert!(!read_only.contains("<form"), "no form for readers");
        assert!(read_only.contains("readonly"));
    }
}
