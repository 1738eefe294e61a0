//! Settings › Runtime Reachability › Watched Packages: the entries with their status, an add
//! form, a CSV import (pasted text, reported line by line), and one entry's page (edit,
//! remove with confirmation). Plain forms with the CSRF field, so everything works from the
//! keyboard and without JavaScript.

use maud::{Markup, html};

use crate::integrations::webhooks::Webhook;
use crate::reach::assess::Status as ReachStatus;
use crate::reach::watch::{Entry, EntryStatus, LineError, MAX_CSV_ROWS, WatchInput};
use crate::ui::components::{
    ButtonKind, Field, FormErrors, Status, Tone, badge, card, confirm_action, empty_state,
    error_summary, field_id, notice, post_form, rel_time, select, submit, table,
};
use crate::ui::layout::{PageCtx, page};

/// Where the list lives.
pub const BASE: &str = "/settings/reachability/watched-packages";
/// Where the CSV form posts.
pub const IMPORT: &str = "/settings/reachability/watched-packages/import";

/// What an import did, for the page.
#[derive(Debug, Clone, Default)]
pub struct ImportView {
    /// Entries added.
    pub created: usize,
    /// Entries updated.
    pub updated: usize,
    /// Lines refused.
    pub errors: Vec<LineError>,
    /// The whole file was refused (size, header, encoding).
    pub refused: Option<String>,
}

/// The list page.
#[derive(Debug)]
pub struct ListView<'a> {
    /// Entries with their status as the viewer sees it.
    pub entries: &'a [(Entry, EntryStatus)],
    /// Webhooks, for the form's choice and the names in the list.
    pub hooks: &'a [Webhook],
    /// May change (Company Admin, AppSec).
    pub can_change: bool,
    /// The add form's values.
    pub form: &'a WatchInput,
    /// The add form's errors.
    pub errors: &'a FormErrors,
    /// The CSV text after a refused import, to correct and send again.
    pub csv: &'a str,
    /// The last import's report.
    pub import: Option<&'a ImportView>,
    /// A success message.
    pub notice: Option<&'a str>,
    /// Unix ms now.
    pub now_ms: i64,
}

/// One entry's page.
#[derive(Debug)]
pub struct DetailView<'a> {
    /// The entry and its status.
    pub entry: &'a Entry,
    /// Its status.
    pub status: &'a EntryStatus,
    /// Webhooks, for the form's choice.
    pub hooks: &'a [Webhook],
    /// May change it.
    pub can_change: bool,
    /// The edit form's values.
    pub form: &'a WatchInput,
    /// The edit form's errors.
    pub errors: &'a FormErrors,
    /// A success message.
    pub notice: Option<&'a str>,
    /// Unix ms now.
    pub now_ms: i64,
}

/// The badge of a status.
pub fn status_badge(s: ReachStatus) -> Markup {
    match s {
        ReachStatus::NotLoaded => badge(Status::Unknown, "Not loaded"),
        ReachStatus::Loaded => badge(Status::Warning, "Loaded"),
        ReachStatus::LoadedWithClasses => badge(Status::Error, "Watched classes loaded"),
    }
}

fn fields(form: &WatchInput, hooks: &[Webhook], errors: &FormErrors) -> Markup {
    let mut options: Vec<(&str, &str)> = vec![("", "Every enabled webhook")];
    options.extend(hooks.iter().map(|h| (h.id.as_str(), h.name.as_str())));
    let classes = form.classes.join("\n");
    html! {
        (error_summary(errors))
        (Field::text("package", "Package").value(&form.package).required().length(Some(1), Some(300))
            .placeholder("org.apache.logging.log4j:log4j-core")
            .help("Maven groupId:artifactId, or a PyPI name (compared as PEP 503 normalises it).").render(errors))
        (Field::text("version", "Version").value(&form.version).placeholder("[2.0,2.15.0)")
            .help("Empty for any version; an exact version (2.14.1); a Maven range ([2.0,2.15.0), [ ] inclusive, ( ) exclusive); or comparisons (>=5.1,<6.0). Compared in the ecosystem's version order.").render(errors))
        (Field::textarea("classes", "Classes or modules").value(&classes)
            .help("Optional. Java classes (org.example.Foo) or Python modules (yaml.constructor), one per line or separated by ; or spaces. When one of them is loaded the status becomes \"Watched classes loaded\".").render(errors))
        (select("webhook", "Webhook", &options, form.webhook.as_deref().unwrap_or(""), Some("Where this entry's events go."), errors))
        (Field::textarea("note", "Note").value(&form.note).length(None, Some(1000)).render(errors))
    }
}

fn seen(s: &EntryStatus, now_ms: i64) -> Markup {
    html! {
        @match s.last_seen_ms {
            Some(t) => (rel_time(t.div_euclid(1000), now_ms)),
            None => "never",
        }
    }
}

fn hook_name<'a>(hooks: &'a [Webhook], id: Option<&'a str>) -> &'a str {
    match id {
        None => "every webhook",
        Some(id) => hooks
            .iter()
            .find(|h| h.id == id)
            .map_or(id, |h| h.name.as_str()),
    }
}

fn import_report(r: &ImportView) -> Markup {
    html! {
        @if let Some(why) = &r.refused {
            (notice(Tone::Error, &format!("The file was not imported: {why}. Nothing was changed.")))
        } @else {
            (notice(if r.errors.is_empty() { Tone::Ok } else { Tone::Warning },
                &format!("Imported: {} added, {} updated, {} lines refused.", r.created, r.updated, r.errors.len())))
            @if !r.errors.is_empty() {
                (table("Refused lines", &["Line", "Reason"], html! {
                    @for e in &r.errors {
                        tr { th scope="row" { (e.line) } td { (e.reason) } }
                    }
                }))
            }
        }
    }
}

/// The list, the add form and the import form.
pub fn list(ctx: &PageCtx, v: &ListView) -> Markup {
    let rows = html! {
        @for (e, s) in v.entries {
            tr {
                th scope="row" { a href=(format!("{BASE}/{}", e.id)) { (e.package) } }
                td { @if e.version.is_empty() { "any" } @else { code { (e.version) } } }
                td { (status_badge(s.status))
                    @if !s.classes_loaded.is_empty() { " " (s.classes_loaded.join(", ")) } }
                td { (s.agents.len()) }
                td { (s.pools.join(", ")) }
                td { (seen(s, v.now_ms)) }
                td { (hook_name(v.hooks, e.webhook.as_deref())) }
            }
        }
    };
    let body = html! {
        @if let Some(text) = v.notice { (notice(Tone::Ok, text)) }
        @if let Some(r) = v.import { (import_report(r)) }
        @if v.entries.is_empty() {
            (empty_state("No watched packages yet", "Watch a package to see at a glance whether any agent loads it, and to get a webhook event the moment one does.", None))
        } @else {
            (table("Watched packages", &["Package", "Version", "Status", "Agents", "Pools", "Last seen", "Webhook"], rows))
        }
        @if v.can_change {
            (card("Watch a package", post_form(BASE, ctx.csrf, html! {
                (fields(v.form, v.hooks, v.errors))
                (submit(ButtonKind::Primary, "Watch package"))
            })))
            (card("Import a CSV file", post_form(IMPORT, ctx.csrf, html! {
                // Shown by lantern.js, which reads the chosen file into the text field.
                div class="field" hidden {
                    label for="csv-file" { "CSV file" }
                    input type="file" id="csv-file" accept=".csv,text/csv,text/plain" data-fill=(field_id("csv"));
                }
                (Field::textarea("csv", "CSV").value(v.csv).required()
                    .placeholder("package,version,classes,webhook")
                    .help(&format!("Paste the file. First line: package,version,classes,webhook (an optional fifth column note). Classes separated by ; or spaces; webhook is a webhook id or empty. At most {MAX_CSV_ROWS} rows and 1 MiB. Bad lines are listed with their number; good lines are kept; an existing entry with the same package and version gets the line's classes added.")).render(&FormErrors::none()))
                (submit(ButtonKind::Secondary, "Import"))
            })))
        }
    };
    page(
        ctx,
        "Watched Packages",
        "The packages you want to hear about as soon as they are loaded, with their status across your agents.",
        None,
        body,
    )
}

/// One entry.
pub fn detail(ctx: &PageCtx, v: &DetailView) -> Markup {
    let e = v.entry;
    let s = v.status;
    let path = format!("{BASE}/{}", e.id);
    let body = html! {
        @if let Some(text) = v.notice { (notice(Tone::Ok, text)) }
        p { (status_badge(s.status)) " " a href=(BASE) { "All watched packages" } }
        (card("Status", html! {
            dl class="facts" {
                dt { "Packages seen" } dd { @if s.packages.is_empty() { "none" } @else { (s.packages.join(", ")) } }
                dt { "Watched classes loaded" } dd { @if s.classes_loaded.is_empty() { "none" } @else { (s.classes_loaded.join(", ")) } }
                dt { "Agents loading it now" } dd { (s.agents.join(", ")) }
                dt { "Pools" } dd { (s.pools.join(", ")) }
                dt { "First seen" } dd { @match s.first_seen_ms { Some(t) => (rel_time(t.div_euclid(1000), v.now_ms)), None => "never" } }
                dt { "Last seen" } dd { (seen(s, v.now_ms)) }
            }
        }))
        @if v.can_change {
            (card("Settings", post_form(&path, ctx.csrf, html! {
                (fields(v.form, v.hooks, v.errors))
                (submit(ButtonKind::Primary, "Save"))
            })))
            (card("Remove", confirm_action("Remove watched package", "The entry is removed; its events stop. Reachability data is kept.", &format!("{path}/delete"), ctx.csrf, "Remove")))
        }
    };
    page(
        ctx,
        &e.package,
        "A watched package: its status and settings.",
        None,
        body,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::reach::watch::Ecosystem;
    use crate::ui::test_support::assert_csp_clean;

    fn with_ctx<R>(f: impl FnOnce(&PageCtx) -> R) -> R {
        crate::ui::test_support::with_page_ctx(BASE, f)
    }

    fn entry() -> (Entry, EntryStatus) {
        (
            Entry {
                id: "e1".into(),
                ecosystem: Ecosystem::Maven,
                package: "g:<a>".into(),
                version: "[1.0,2.0)".into(),
                classes: vec!["g.A".into()],
                webhook: Some("h1".into()),
                note: String::new(),
                created_ms: 0,
                updated_ms: 0,
            },
            EntryStatus {
                status: ReachStatus::LoadedWithClasses,
                packages: vec!["pkg:maven/g/a@1.5".into()],
                classes_loaded: vec!["g.A".into()],
                agents: vec!["a1".into()],
                pools: vec!["default".into()],
                first_seen_ms: Some(1_000),
                last_seen_ms: Some(2_000),
                first_loaded_ms: Some(1_500),
            },
        )
    }

    #[test]
    fn the_list_escapes_shows_status_and_reports_each_refused_line() {
        let entries = [entry()];
        let import = ImportView {
            created: 1,
            updated: 0,
            errors: vec![LineError {
                line: 3,
                reason: "package: <bad>".into(),
            }],
            refused: None,
        };
        let html = with_ctx(|ctx| {
            list(
                ctx,
                &ListView {
                    entries: &entries,
                    hooks: &[],
                    can_change: true,
                    form: &WatchInput::default(),
                    errors: &FormErrors::none(),
                    csv: "",
                    import: Some(&import),
                    notice: None,
                    now_ms: 3_000,
                },
            )
            .into_string()
        });
        assert!(html.contains("g:&lt;a&gt;"));
        assert!(html.contains("Watched classes loaded"));
        assert!(html.contains("package: &lt;bad&gt;"));
        assert!(html.contains("1 added, 0 updated, 1 lines refused"));
        assert!(html.contains("data-fill=\"") && html.contains("Watch a package"));
        assert_csp_clean(&html);
        let read_only = with_ctx(|ctx| {
            list(
                ctx,
                &ListView {
                    entries: &[],
                    hooks: &[],
                    can_change: false,
                    form: &WatchInput::default(),
                    errors: &FormErrors::none(),
                    csv: "",
                    import: None,
                    notice: None,
                    now_ms: 0,
                },
            )
            .into_string()
        });
        assert!(read_only.contains("No watched packages yet"));
        assert!(!read_only.contains("Import a CSV file"));
    }
}
