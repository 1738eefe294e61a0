//! Settings › Security › PII Redaction (templates, the built-in library, pool assignments, the
//! tester) and Blocklist (rules, exceptions, a location tester). Plain forms with the CSRF
//! field: the library's "add" buttons submit the form they sit in and come back with the
//! pattern added (nothing saved), so everything works from the keyboard and without
//! JavaScript. Readers see the same pages without the forms that change anything.

use maud::{Markup, html};

use crate::iam::pools::Pool;
use crate::security::blocklist::Blocklist;
use crate::security::redaction::{
    DEFAULT_ID, LIBRARY, LibraryKind, MAX_PATTERN_BYTES, MAX_PATTERNS, Template, TemplateInput,
    Verdict,
};
use crate::ui::components::{
    ButtonKind, Field, FormErrors, Status, Tone, badge, card, checkbox, confirm_action,
    empty_state, error_summary, notice, post_form, rel_time, select, submit, table,
};
use crate::ui::layout::{PageCtx, page};

/// The PII Redaction page.
pub const PII: &str = "/settings/security/pii-redaction";
/// The Blocklist page.
pub const BLOCKLIST: &str = "/settings/security/blocklist";
/// Where the location tester posts.
pub const BLOCKLIST_TEST: &str = "/settings/security/blocklist/test";
/// After a save.
pub const SAVED: &str = "Saved. Connected agents have been sent the change.";
/// After an assignment.
pub const ASSIGNED: &str =
    "The pool's template was changed. Its connected agents have been sent it.";

/// The tester's form and answer.
#[derive(Debug, Clone)]
pub struct TestView {
    /// The template tried.
    pub template_id: String,
    /// The variables as typed.
    pub variables: String,
    /// What the template does to them, or why the text was not understood.
    pub result: Result<Vec<Verdict>, String>,
}

/// The PII Redaction page.
#[derive(Debug)]
pub struct PiiView<'a> {
    /// Every template, Default first.
    pub templates: &'a [Template],
    /// Every pool with the template it uses.
    pub assigned: &'a [(Pool, String)],
    /// May change (Company Admin, Security).
    pub can_change: bool,
    /// The new-template form's values.
    pub form: &'a TemplateInput,
    /// Its errors.
    pub errors: &'a FormErrors,
    /// A message on top.
    pub notice: Option<&'a str>,
    /// The tester's last run.
    pub test: Option<&'a TestView>,
    /// Unix ms now.
    pub now_ms: i64,
}

/// One template's page.
#[derive(Debug)]
pub struct TemplateView<'a> {
    /// The template.
    pub template: &'a Template,
    /// The pools that use it.
    pub pools: &'a [&'a Pool],
    /// May change it.
    pub can_change: bool,
    /// The form's values.
    pub form: &'a TemplateInput,
    /// Its errors.
    pub errors: &'a FormErrors,
    /// A message on top.
    pub notice: Option<&'a str>,
    /// Unix ms now.
    pub now_ms: i64,
}

/// The Blocklist page.
#[derive(Debug)]
pub struct BlocklistView<'a> {
    /// The lists (as stored, or as typed after a refusal).
    pub list: &'a Blocklist,
    /// May change them.
    pub can_change: bool,
    /// The form's errors.
    pub errors: &'a FormErrors,
    /// A message on top.
    pub notice: Option<&'a str>,
    /// The location tester's last answer.
    pub test: Option<&'a LocationTest>,
}

/// What the location tester found.
#[derive(Debug, Clone)]
pub struct LocationTest {
    /// As typed.
    pub location: String,
    /// Whether it could be read as a location.
    pub valid: bool,
    /// The rule that blocks it.
    pub rule: Option<String>,
}

fn template_fields(form: &TemplateInput, errors: &FormErrors) -> Markup {
    let names = form.name_patterns.join("\n");
    let values = form.value_patterns.join("\n");
    let limits = format!(
        "One regular expression a line (RE2 syntax), matched without regard to case anywhere in the text; at most {MAX_PATTERNS}, each at most {MAX_PATTERN_BYTES} bytes. Use ^ and $ to match a whole name."
    );
    html! {
        (error_summary(errors))
        (Field::text("name", "Name").value(&form.name).required().length(Some(1), Some(80)).render(errors))
        (Field::textarea("name_patterns", "Variable names").value(&names)
            .placeholder("passw(or)?d").help(&format!("Variables, fields and map keys whose name matches keep no value. {limits}")).render(errors))
        (Field::textarea("value_patterns", "Values").value(&values)
            .placeholder("[0-9]{3}-[0-9]{2}-[0-9]{4}").help(&format!("String values that contain a match are not kept. {limits}")).render(errors))
        (checkbox("card_numbers", "Credit card numbers", form.card_numbers,
            Some("13 to 19 digits, spaces or dashes between them allowed, that pass the Luhn check.")))
        (checkbox("private_keys", "PEM private keys", form.private_keys, None))
    }
}

fn library_buttons(form: &TemplateInput) -> Markup {
    html! {
        fieldset class="field" {
            legend { "Built-in library" }
            p class="field-help" { "Adds the pattern to the form above; press Save to keep it." }
            ul class="plain-list" {
                @for e in LIBRARY {
                    @let present = match e.kind {
                        LibraryKind::CardNumbers => form.card_numbers,
                        LibraryKind::PrivateKeys => form.private_keys,
                        LibraryKind::Name => form.name_patterns.iter().any(|p| p == e.pattern),
                        LibraryKind::Value => form.value_patterns.iter().any(|p| p == e.pattern),
                    };
                    li {
                        button type="submit" class="button" name="add" value=(e.key)
                            disabled[present] formnovalidate {
                            @if present { "✓ " } @else { "Add " } (e.label)
                        }
                        @if !e.pattern.is_empty() { " " code { (e.pattern) } }
                    }
                }
            }
        }
    }
}

fn kept(t: &Template) -> String {
    let mut parts = vec![
        format!("{} name patterns", t.rules.name_patterns.len()),
        format!("{} value patterns", t.rules.value_patterns.len()),
    ];
    if t.rules.card_numbers {
        parts.push("card numbers".into());
    }
    if t.rules.private_keys {
        parts.push("private keys".into());
    }
    parts.join(", ")
}

fn changed(t: &Template, now_ms: i64) -> Markup {
    html! {
        @if t.updated_ms > 0 { (rel_time(t.updated_ms.div_euclid(1000), now_ms.div_euclid(1000))) }
        @else { "built in" }
    }
}

fn verdicts(result: &Result<Vec<Verdict>, String>) -> Markup {
    html! {
        @match result {
            Err(why) => (notice(Tone::Error, &format!("The variables were not understood: {why}"))),
            Ok(v) if v.is_empty() => (notice(Tone::Info, "No variables to try.")),
            Ok(v) => (table("What would be kept", &["Name", "Kept", "Why"], html! {
                @for x in v {
                    tr {
                        th scope="row" { code { (x.name) } }
                        td { @if x.redacted { (badge(Status::Warning, "redacted")) } @else { code { (x.shown) } } }
                        td { (x.reason.as_deref().unwrap_or("no rule matches")) }
                    }
                }
            })),
        }
    }
}

/// The PII Redaction page.
pub fn pii(ctx: &PageCtx, v: &PiiView) -> Markup {
    let rows = html! {
        @for t in v.templates {
            @let pools: Vec<&str> = v.assigned.iter().filter(|(_, id)| *id == t.id).map(|(p, _)| p.name.as_str()).collect();
            tr {
                th scope="row" { a href=(format!("{PII}/{}", t.id)) { (t.name) } }
                td { (kept(t)) }
                td { @if pools.is_empty() { span class="muted" { "none" } } @else { (pools.join(", ")) } }
                td { (changed(t, v.now_ms)) }
            }
        }
    };
    let options: Vec<(&str, &str)> = v
        .templates
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    let assignments = html! {
        @for (pool, tid) in v.assigned {
            tr {
                th scope="row" { (pool.name) }
                td {
                    @if v.can_change {
                        form method="post" action=(format!("{PII}/assignments")) {
                            (crate::ui::components::csrf_input(ctx.csrf))
                            input type="hidden" name="pool_id" value=(pool.id);
                            label class="sr-only" for=(format!("template-{}", pool.id)) { "Template for " (pool.name) }
                            select id=(format!("template-{}", pool.id)) name="template_id" {
                                @for (id, name) in &options {
                                    option value=(id) selected[*id == tid.as_str()] { (name) }
                                }
                            }
                            " " (submit(ButtonKind::Secondary, "Assign"))
                        }
                    } @else {
                        (v.templates.iter().find(|t| &t.id == tid).map_or(tid.as_str(), |t| t.name.as_str()))
                    }
                }
            }
        }
    };
    let (test_id, test_text) = v.test.map_or((DEFAULT_ID, ""), |t| {
        (t.template_id.as_str(), t.variables.as_str())
    });
    let body = html! {
        @if let Some(text) = v.notice { (notice(Tone::Ok, text)) }
        p { "Snapshot and log values pass these rules twice: in the agent, before they leave the application, and in the appliance, before they are stored. A redacted value is shown as " code { "[redacted]" } ". Changes reach running agents at once." }
        (table("Templates", &["Template", "Redacts", "Pools", "Changed"], rows))
        (card("Pools", html! {
            p class="muted" { "Each agent pool uses one template; a pool without a choice uses Default." }
            @if v.assigned.is_empty() {
                (empty_state("No agent pools", "Pools are made under Identity and Access Management.", None))
            } @else {
                (table("Template of each pool", &["Pool", "Template"], assignments))
            }
        }))
        (card("Try a template", html! {
            (post_form(&format!("{PII}/test"), ctx.csrf, html! {
                (select("template_id", "Template", &options, test_id, None, &FormErrors::none()))
                (Field::textarea("variables", "Variables").value(test_text).required()
                    .placeholder("password = hunter2\nnote = paid with 4111 1111 1111 1111")
                    .help("One name = value a line, or a JSON object of names and values. Nothing is stored.")
                    .render(&FormErrors::none()))
                (submit(ButtonKind::Secondary, "Try"))
            }))
            @if let Some(t) = v.test { (verdicts(&t.result)) }
        }))
        @if v.can_change {
            (card("New template", post_form(PII, ctx.csrf, html! {
                (template_fields(v.form, v.errors))
                (library_buttons(v.form))
                (submit(ButtonKind::Primary, "Save template"))
            })))
        }
    };
    page(
        ctx,
        "PII Redaction",
        "Keep personal data and secrets out of snapshots and logs, per agent pool.",
        None,
        body,
    )
}

/// One template: its form (or, for readers, its rules) and removal.
pub fn template(ctx: &PageCtx, v: &TemplateView) -> Markup {
    let t = v.template;
    let path = format!("{PII}/{}", t.id);
    let pools: Vec<&str> = v.pools.iter().map(|p| p.name.as_str()).collect();
    let body = html! {
        @if let Some(text) = v.notice { (notice(Tone::Ok, text)) }
        p { a href=(PII) { "← All templates" } }
        p { "Used by: " @if pools.is_empty() {
                @if t.id == DEFAULT_ID { "every pool without a template of its own" } @else { "no pool" }
            } @else { (pools.join(", ")) } }
        @if v.can_change {
            (card("Template", post_form(&path, ctx.csrf, html! {
                (template_fields(v.form, v.errors))
                (library_buttons(v.form))
                (submit(ButtonKind::Primary, "Save"))
            })))
            @if t.id != DEFAULT_ID {
                (confirm_action("Delete template",
                    "Delete this template? Pools that use it will use Default from now on, and their agents get Default at once.",
                    &format!("{path}/delete"), ctx.csrf, "Delete"))
            }
        } @else {
            (card("Variable names", pattern_list(&t.rules.name_patterns)))
            (card("Values", pattern_list(&t.rules.value_patterns)))
            p { "Credit card numbers: " (if t.rules.card_numbers { "redacted" } else { "kept" })
                ". PEM private keys: " (if t.rules.private_keys { "redacted" } else { "kept" }) "." }
        }
    };
    let _ = v.now_ms;
    page(ctx, &t.name, "A PII redaction template.", None, body)
}

fn pattern_list(list: &[String]) -> Markup {
    html! {
        @if list.is_empty() { p class="muted" { "None." } }
        @else { ul { @for p in list { li { code { (p) } } } } }
    }
}

/// The Blocklist page.
pub fn blocklist(ctx: &PageCtx, v: &BlocklistView) -> Markup {
    let rules = v.list.rules.join("\n");
    let exceptions = v.list.exceptions.join("\n");
    let body = html! {
        @if let Some(text) = v.notice { (notice(Tone::Ok, text)) }
        p { "No action may be placed in blocked code: the appliance refuses to create it, and agents refuse to install it (and remove probes that become blocked). Changes reach running agents at once." }
        @if v.can_change {
            (card("Rules", post_form(BLOCKLIST, ctx.csrf, html! {
                (error_summary(v.errors))
                (Field::textarea("rules", "Blocked").value(&rules)
                    .placeholder("com.acme.secret.*\n*Crypto*.java\ncom/acme/billing/**")
                    .help("One pattern a line. Packages and classes with dots (com.acme.secret.* takes sub-packages too); files and paths with / or a file name (*Crypto*.java). * stays within one part of the name, ** spans several.")
                    .render(v.errors))
                (Field::textarea("exceptions", "Exceptions").value(&exceptions)
                    .placeholder("com.acme.secret.PublicApi")
                    .help("The same patterns; a location matching an exception is not blocked.")
                    .render(v.errors))
                (submit(ButtonKind::Primary, "Save blocklist"))
            })))
        } @else if v.list.rules.is_empty() {
            (empty_state("Nothing is blocked", "Company Admins and Security officers can block packages, classes, files and paths here.", None))
        } @else {
            (card("Blocked", pattern_list(&v.list.rules)))
            (card("Exceptions", pattern_list(&v.list.exceptions)))
        }
        (card("Test a location", html! {
            (post_form(BLOCKLIST_TEST, ctx.csrf, html! {
                (Field::text("location", "Location").value(v.test.map_or("", |t| t.location.as_str())).required()
                    .placeholder("com.acme.secret.Vault or com/acme/billing/Pay.java:42")
                    .help("A class (optionally #method), or a file with or without :line. Checked against the saved blocklist.")
                    .render(&FormErrors::none()))
                (submit(ButtonKind::Secondary, "Test"))
            }))
            @if let Some(t) = v.test {
                @if !t.valid {
                    (notice(Tone::Error, "That is not a class or a file name."))
                } @else if let Some(rule) = &t.rule {
                    (notice(Tone::Warning, &format!("Blocked by the rule {rule}.")))
                } @else {
                    (notice(Tone::Ok, "Not blocked: actions may be placed there."))
                }
            }
        }))
    };
    page(
        ctx,
        "Blocklist",
        "Forbid actions in chosen packages, classes, files and paths.",
        None,
        body,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::security::redaction::default_template;
    use crate::ui::test_support::{assert_csp_clean, with_page_ctx};

    #[test]
    fn readers_see_no_forms_that_change() {
        let t = vec![default_template(0)];
        let form = TemplateInput::default();
        let errors = FormErrors::none();
        let v = PiiView {
            templates: &t,
            assigned: &[],
            can_change: false,
            form: &form,
            errors: &errors,
            notice: None,
            test: None,
            now_ms: 0,
        };
        let html = with_page_ctx(PII, |ctx| pii(ctx, &v)).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("Try a template"));
        assert!(!html.contains("New template"));
        let v = PiiView {
            can_change: true,
            ..v
        };
        let html = with_page_ctx(PII, |ctx| pii(ctx, &v)).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("New template") && html.contains("name=\"add\" value=\"us_ssn\""));
    }
}
