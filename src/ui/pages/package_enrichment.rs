//! Settings › Runtime Reachability › Package Enrichment: the state of the offline
//! vulnerability database (how many advisories, per ecosystem, how fresh), an upload form for
//! OSV dump zips and JSON records (with a progress bar from `lantern.js`), and the result of
//! every import with its invalid records. An empty database is shown as a problem: with no
//! advisories nothing can be matched, which must never read as "nothing is vulnerable".

use maud::{Markup, html};

use crate::ui::components::{
    ButtonKind, Status, Tone, badge, card, csrf_input, empty_state, facts, human_count,
    human_millis, notice_with, rel_time, submit, table,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::{self, NavId};
use crate::vuln::db::{ImportRun, Status as DbStatus};

/// Where the page's upload form posts each file (one request per file, raw bytes).
pub const UPLOAD_PATH: &str = "/settings/reachability/package-enrichment/imports";

/// What the page shows.
#[derive(Debug)]
pub struct EnrichmentView<'a> {
    /// Counts and the latest run.
    pub status: &'a DbStatus,
    /// Recent runs, newest first.
    pub runs: &'a [ImportRun],
    /// Unix ms now.
    pub now_ms: i64,
    /// May import (Company Admin, AppSec).
    pub can_import: bool,
}

fn run_rows(runs: &[ImportRun], now: i64) -> Markup {
    html! {
        @for run in runs {
            tr {
                th scope="row" { (rel_time(run.at_ms.div_euclid(1000), now)) }
                td { (run.actor) }
                td { @for s in &run.sources { div { code { (s) } } } }
                td { (human_count(run.kept())) " (" (human_count(run.added)) " new, " (human_count(run.replaced)) " replaced, " (human_count(run.unchanged)) " unchanged)" }
                td {
                    @if run.invalid_total == 0 { "0" } @else {
                        details {
                            summary { (badge(Status::Warning, &format!("{} invalid", run.invalid_total))) }
                            ul class="invalid-records" {
                                @for bad in &run.invalid {
                                    li { strong { (bad.id.as_deref().unwrap_or("(no id)")) } " — " (bad.reason) " " span class="muted" { "(" (bad.source) ")" } }
                                }
                            }
                            @let unlisted = run.invalid_total.saturating_sub(run.invalid.len() as u64);
                            @if unlisted > 0 { p { "… and " (unlisted) " more" } }
                        }
                    }
                }
                td { (human_count(run.withdrawn)) }
                td { (human_millis(run.duration_ms)) }
            }
        }
    }
}

/// The page.
pub fn page_view(ctx: &PageCtx, v: &EnrichmentView) -> Markup {
    let entry = nav::entry(NavId::PackageEnrichment);
    let now = v.now_ms.div_euclid(1000);
    let stats = &v.status.stats;
    let body = html! {
        @if stats.records == 0 {
            (notice_with(Tone::Warning, "No advisories loaded", html! {
                p { "Loaded packages cannot be matched to any vulnerability until advisories are imported: an empty list of findings means “not checked”, not “not vulnerable”." }
                p { "Import an osv.dev dump (" code { "https://osv-vulnerabilities.storage.googleapis.com/<ECOSYSTEM>/all.zip" } ", copied in from outside) below, or on the appliance host with " code { "lantern vulndb import FILE..." } "." }
            }))
        }
        (card("Advisory database", html! {
            (facts(&[
                ("State", if stats.records == 0 { badge(Status::Warning, "no advisories loaded") } else { badge(Status::Ok, "loaded") }),
                ("Advisories", html! { (human_count(stats.records as u64)) @if stats.withdrawn > 0 { " (" (stats.withdrawn) " withdrawn, never matched)" } }),
                ("Newest record", match stats.newest_modified_ms {
                    Some(ms) => html! { "modified " (rel_time(ms.div_euclid(1000), now)) },
                    None => html! { "—" },
                }),
                ("Last import", match &v.status.last_import {
                    Some(run) => html! { (rel_time(run.at_ms.div_euclid(1000), now)) " by " (run.actor) },
                    None => html! { "never" },
                }),
            ]))
            @if !stats.by_ecosystem.is_empty() {
                (table("Advisories per ecosystem", &["Ecosystem", "Advisories"], html! {
                    @for (ecosystem, count) in &stats.by_ecosystem {
                        tr { th scope="row" { (ecosystem) } td { (human_count(*count as u64)) } }
                    }
                }))
            }
        }))
        @if v.can_import {
            section class="card" {
                h2 class="card-title" { "Import advisories" }
                form class="form" id="vulndb-upload" method="post" action=(UPLOAD_PATH) data-upload=(UPLOAD_PATH) {
                    (csrf_input(ctx.csrf))
                    div class="field" {
                        label for="vulndb-files" { "OSV files" }
                        input type="file" id="vulndb-files" name="files" multiple accept=".zip,.json,application/zip,application/json" aria-describedby="vulndb-files-help" required;
                        p class="help" id="vulndb-files-help" { "osv.dev dump zips (" code { "ECOSYSTEM/all.zip" } ") or OSV JSON files (one record or an array), up to 512 MiB each. Invalid records are skipped and listed; nothing already imported is lost." }
                    }
                    div class="upload-progress" hidden {
                        progress id="vulndb-progress" max="100" value="0" aria-label="Upload progress" {}
                    }
                    output id="vulndb-result" for="vulndb-files" aria-live="polite" {}
                    noscript { p { "Uploading from the browser needs JavaScript; without it, use " code { "lantern vulndb import FILE..." } " on the appliance host." } }
                    (submit(ButtonKind::Primary, "Import"))
                }
            }
        }
        @if v.runs.is_empty() {
            (empty_state("No imports yet", "Each import is listed here with what it kept and which records it skipped and why.", None))
        } @else {
            h2 { "Imports" }
            (table("Imports, newest first", &["When", "By", "Files", "Kept", "Invalid", "Withdrawn", "Took"], run_rows(v.runs, now)))
        }
    };
    page(ctx, entry.label, entry.summary, None, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::test_support::{assert_csp_clean, with_page_ctx};
    use crate::vuln::db::InvalidRecord;
    use crate::vuln::index::Stats;

    fn status(records: usize) -> DbStatus {
        let mut stats = Stats {
            records,
            ..Stats::default()
        };
        if records > 0 {
            stats.by_ecosystem.insert("PyPI".into(), records);
            stats.newest_modified_ms = Some(1_700_000_000_000);
        }
        DbStatus {
            stats,
            last_import: None,
        }
    }

    #[test]
    fn an_empty_database_is_a_warning_not_a_clean_bill() {
        let s = status(0);
        let html = with_page_ctx(UPLOAD_PATH, |ctx| {
            page_view(
                ctx,
                &EnrichmentView {
                    status: &s,
                    runs: &[],
                    now_ms: 0,
                    can_import: true,
                },
            )
            .into_string()
        });
        assert!(html.contains("No advisories loaded"));
        assert!(html.contains("badge-warning"));
        assert!(html.contains("id=\"vulndb-upload\""));
        assert!(html.contains("name=\"csrf\""));
        assert_csp_clean(&html);
    }

    #[test]
    fn runs_list_their_invalid_records_and_readers_get_no_form() {
        let s = status(2654);
        let run = ImportRun {
            id: "r1".into(),
            at_ms: 1_700_000_000_000,
            actor: "a@example.org".into(),
            sources: vec!["PyPI/all.zip".into()],
            read: 2654,
            added: 2654,
            replaced: 0,
            unchanged: 0,
            withdrawn: 10,
            invalid_total: 1,
            invalid: vec![InvalidRecord {
                source: "PYSEC-2021-371.json".into(),
                id: Some("PYSEC-2021-371".into()),
                reason: "<b>bad</b>".into(),
            }],
            duration_ms: 900,
        };
        let html = with_page_ctx(UPLOAD_PATH, |ctx| {
            page_view(
                ctx,
                &EnrichmentView {
                    status: &s,
                    runs: std::slice::from_ref(&run),
                    now_ms: 1_700_000_060_000,
                    can_import: false,
                },
            )
            .into_string()
        });
        assert!(!html.contains("No advisories loaded"));
        assert!(html.contains("PYSEC-2021-371"));
        assert!(html.contains("&lt;b&gt;bad"));
        assert!(html.contains("PyPI"));
        assert!(!html.contains("vulndb-upload"));
        assert_csp_clean(&html);
    }
}
