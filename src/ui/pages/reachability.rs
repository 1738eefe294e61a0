//! Platform › Runtime Reachability Assessment: every package the user's agents have, with its
//! status, agents, pools, tags, first and last seen and its advisories, in two sections —
//! loaded (vulnerable first, worst first) and never loaded (vulnerable first) — under a GET
//! filter form, and a package's own page with its agents, loaded classes and advisories.
//!
//! The sections sit in a `data-live` region that `lantern.js` replaces from the server-sent
//! events of [`LIVE`] (the Agents list's mechanism); without JavaScript the page shows the
//! state when it was loaded. An empty advisory database is shown as a problem with a link to
//! Package Enrichment: no advisories means "not checked", never "nothing vulnerable".

use std::sync::Arc;

use maud::{Markup, html};

use crate::reach::assess::{Assessed, Assessment, Status as ReachStatus};
use crate::reach::{PackageDetail, PackageRow};
use crate::ui::components::{
    ButtonKind, FormErrors, PatternField, Status, Tone, badge, card, empty_state, facts,
    human_count, link_button, live_list, name_pool_tag_fields, notice_with, query_string, rel_time,
    select, submit, table, tag, url_encode,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::{self, NavId};
use crate::ui::pages::agents::agent_path;
use crate::vuln::cvss::Rating;
use crate::vuln::index::Advisory;

/// Where the page lives.
pub const BASE: &str = "/reachability";
/// The event stream of the sections (same query as the page).
pub const LIVE: &str = "/reachability/live";
/// Where package pages live (`/reachability/packages/{encoded purl}`).
pub const PACKAGES: &str = "/reachability/packages";
/// Rows shown per section; the filters (or the API) reach the rest.
pub const ROWS_PER_SECTION: usize = 500;
/// Class names shown on a package page.
pub const CLASSES_SHOWN: usize = 200;

/// The path of a package's page: the purl as one encoded segment.
pub fn package_path(purl: &str) -> String {
    format!("{PACKAGES}/{}", url_encode(purl))
}

/// The page's filters as they travel in the address (already checked by the handler).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReachQuery {
    /// Pool id.
    pub pool: String,
    /// Tag.
    pub tag: String,
    /// Name pattern.
    pub name: String,
    /// `not_loaded`, `loaded`, `loaded_with_classes` or "".
    pub status: String,
    /// `low` ... `critical` or "".
    pub min_severity: String,
    /// A date or RFC 3339 time, or "".
    pub loaded_since: String,
    /// `true`, `false` or "".
    pub vulnerable: String,
}

impl ReachQuery {
    /// This query as a string (with `?`, or "" when it is empty).
    pub fn current(&self) -> String {
        query_string(&[
            ("name", &self.name),
            ("pool", &self.pool),
            ("tag", &self.tag),
            ("status", &self.status),
            ("min_severity", &self.min_severity),
            ("loaded_since", &self.loaded_since),
            ("vulnerable", &self.vulnerable),
        ])
    }

    /// Whether a filter is set.
    pub fn filtered(&self) -> bool {
        !self.current().is_empty()
    }
}

/// What the page and its live region show.
#[derive(Clone, Debug, Default)]
pub struct ReachView {
    /// The assessment after the filters (shared with other requests for a moment).
    pub assessment: Arc<Assessment>,
    /// The filters.
    pub query: ReachQuery,
    /// Pools in the user's scope, `(id, name)`.
    pub pools: Vec<(String, String)>,
    /// Whether any advisory is imported.
    pub advisories_loaded: bool,
    /// Whether the viewer may open Package Enrichment (where advisories are imported).
    pub enrichment_link: bool,
    /// Packages the user may see before the filters (0: no agent reported any yet).
    pub known: usize,
    /// Now, unix ms.
    pub now_ms: i64,
}

/// The badge of a rating: the word (and score) in the status colour, never colour alone.
pub fn severity_badge(rating: Option<Rating>, score_tenths: Option<u8>) -> Markup {
    let label = match (rating, score_tenths) {
        (Some(r), Some(s)) => format!("{r} {}.{}", s / 10, s % 10),
        (Some(r), None) => r.to_string(),
        (None, _) => "Unrated".to_string(),
    };
    let status = match rating {
        Some(Rating::Critical | Rating::High) => Status::Error,
        Some(Rating::Medium) => Status::Warning,
        Some(Rating::Low | Rating::None) | None => Status::Unknown,
    };
    badge(status, &label)
}

fn advisory_badge(a: &Advisory) -> Markup {
    let s = a.severity.as_ref();
    severity_badge(s.and_then(|s| s.rating), s.and_then(|s| s.score_tenths))
}

fn status_badge(s: ReachStatus) -> Markup {
    match s {
        ReachStatus::NotLoaded => badge(Status::Unknown, "Not loaded"),
        ReachStatus::Loaded => badge(Status::Ok, "Loaded"),
        ReachStatus::LoadedWithClasses => badge(Status::Ok, "Watched classes loaded"),
    }
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

fn list_cell(items: &[String]) -> Markup {
    html! {
        @if items.is_empty() { span class="muted" { "—" } }
        @else { ul class="tag-list" { @for t in items { li { (tag(t)) } } } }
    }
}

fn advisories_cell(r: &Assessed) -> Markup {
    html! {
        @if r.advisories.is_empty() { span class="muted" { "none known" } }
        @else {
            @if let Some(worst) = r.advisories.first() { (advisory_badge(worst)) " " }
            span class="small" {
                @for (i, a) in r.advisories.iter().take(3).enumerate() {
                    @if i > 0 { ", " }
                    (a.id)
                }
                @if r.advisories.len() > 3 { " +" (r.advisories.len() - 3) " more" }
            }
        }
    }
}

fn section(title: &str, caption: &str, rows: &[&Assessed], now: i64) -> Markup {
    let shown = rows.len().min(ROWS_PER_SECTION);
    html! {
        section class="card" aria-label=(title) {
            h2 class="card-title" { (title) " " span class="muted small" { "(" (rows.len()) ")" } }
            @if rows.is_empty() {
                p class="muted" { "No package in this section matches." }
            } @else {
                div class="table-wrap" { table class="table table-compact" {
                    caption class="sr-only" { (caption) }
                    thead { tr {
                        th scope="col" { "Package" }
                        th scope="col" { "Status" }
                        th scope="col" { "Vulnerabilities" }
                        th scope="col" class="num" { "Agents" }
                        th scope="col" { "Pools" }
                        th scope="col" { "Tags" }
                        th scope="col" { "First seen" }
                        th scope="col" { "Last seen" }
                    } }
                    tbody {
                        @for r in rows.iter().take(shown) {
                            tr {
                                th scope="row" {
                                    a href=(package_path(&r.row.id.purl)) { (r.row.id.name) }
                                    " " span class="muted" { (r.row.id.version) }
                                    br; span class="small muted" { (r.row.id.ecosystem) }
                                }
                                td { (status_badge(r.status)) }
                                td { (advisories_cell(r)) }
                                td class="num" { (r.row.agents.len()) }
                                td { (list_cell(&r.row.pools)) }
                                td { (list_cell(&r.row.tags)) }
                                td { (rel_time(secs(r.row.first_seen_ms), now)) }
                                td { (rel_time(secs(r.row.last_seen_ms), now)) }
                            }
                        }
                    }
                } }
                @if shown < rows.len() {
                    p class="small muted" { "Showing " (shown) " of " (rows.len()) ". Narrow the filters, or use GET /api/v1/reachability/packages for everything." }
                }
            }
        }
    }
}

/// The "no advisories loaded" problem, with the way out: a link for those who may open
/// Package Enrichment, who does it for the others.
fn no_advisories(link: bool) -> Markup {
    let enrichment = nav::entry(NavId::PackageEnrichment);
    notice_with(
        Tone::Warning,
        "No advisories loaded",
        html! {
            p { "No vulnerability data has been imported, so no package below can be matched to an advisory: “none known” means “not checked”, not “not vulnerable”." }
            @if link {
                p { a href=(enrichment.path) { "Import advisories in Package Enrichment" } }
            } @else {
                p { "A Company Admin or an AppSec engineer imports them in " (enrichment.label) "." }
            }
        },
    )
}

/// The part the event stream replaces: the problem notice, the counts and both sections.
pub fn live_region(v: &ReachView) -> Markup {
    let now = secs(v.now_ms);
    let a = &v.assessment;
    let loaded: Vec<&Assessed> = a.loaded().collect();
    let never: Vec<&Assessed> = a.never_loaded().collect();
    html! {
        @if !v.advisories_loaded { (no_advisories(v.enrichment_link)) }
        @if v.known == 0 {
            (empty_state("No packages yet",
                "Packages appear here, live, as soon as an agent reports what its application loads. Start your application with the Lantern agent: Getting Started has the exact command.",
                Some(link_button(ButtonKind::Primary, nav::entry(NavId::GettingStarted).path, "Getting Started"))))
        } @else if a.rows.is_empty() {
            (empty_state("No packages match",
                "None of your packages has this name, pool, tag, status, severity or load time. Change the filters or clear them.",
                Some(link_button(ButtonKind::Secondary, BASE, "Clear filters"))))
        } @else {
            div class="list-meta" {
                span {
                    (a.counts.vulnerable_loaded) " vulnerable and loaded · "
                    (a.counts.loaded) " loaded, none known · "
                    (a.counts.vulnerable_not_loaded) " vulnerable, never loaded · "
                    (a.counts.not_loaded) " never loaded"
                }
            }
            (section("Loaded", "Loaded packages, vulnerable first", &loaded, now))
            (section("Never loaded", "Packages no agent loaded a class of, vulnerable first", &never, now))
        }
    }
}

/// The page.
pub fn list(ctx: &PageCtx, v: &ReachView) -> Markup {
    let q = &v.query;
    let mut pools: Vec<(&str, &str)> = vec![("", "All pools")];
    pools.extend(v.pools.iter().map(|(id, n)| (id.as_str(), n.as_str())));
    let statuses = [
        ("", "Any status"),
        ("loaded", "Loaded"),
        ("loaded_with_classes", "Watched classes loaded"),
        ("not_loaded", "Not loaded"),
    ];
    let severities = [
        ("", "Any severity"),
        ("low", "Low or worse"),
        ("medium", "Medium or worse"),
        ("high", "High or worse"),
        ("critical", "Critical"),
    ];
    let vulnerable = [("", "Any"), ("true", "Vulnerable"), ("false", "None known")];
    let none = FormErrors::none();
    let body = html! {
        form class="filter-bar" method="get" action=(BASE) role="search" {
            (name_pool_tag_fields(
                PatternField { label: "Package", placeholder: "org.apache.*", help: "Name or package URL; * matches anything." },
                (&q.name, &q.pool, &q.tag),
                &pools,
            ))
            (select("status", "Status", &statuses, &q.status, None, &none))
            (select("min_severity", "Severity", &severities, &q.min_severity, None, &none))
            (select("vulnerable", "Vulnerabilities", &vulnerable, &q.vulnerable, None, &none))
            div class="field" {
                label for="f-since" { "First loaded since" }
                input id="f-since" type="date" name="loaded_since" value=(q.loaded_since);
            }
            (submit(ButtonKind::Secondary, "Filter"))
            @if q.filtered() { a href=(BASE) { "Clear filters" } }
        }
        (live_list(&format!("{LIVE}{}", q.current()), live_region(v)))
    };
    let entry = nav::entry(NavId::Reachability);
    page(ctx, entry.label, entry.summary, None, body)
}

/// A package's page.
#[derive(Clone, Debug)]
pub struct PackageView {
    /// The package, its agents and classes as the user may see them.
    pub detail: PackageDetail,
    /// Its status.
    pub status: ReachStatus,
    /// Its advisories, worst first.
    pub advisories: Vec<std::sync::Arc<Advisory>>,
    /// Whether any advisory is imported.
    pub advisories_loaded: bool,
    /// Whether the viewer may open Package Enrichment (where advisories are imported).
    pub enrichment_link: bool,
    /// Now, unix ms.
    pub now_ms: i64,
}

fn row_facts(row: &PackageRow, status: ReachStatus, now: i64) -> Markup {
    facts(&[
        ("Package URL", html! { code { (row.id.purl) } }),
        ("Ecosystem", html! { (row.id.ecosystem) }),
        (
            "Version",
            html! { @if row.id.version.is_empty() { span class="muted" { "unknown" } } @else { (row.id.version) } },
        ),
        ("Status", status_badge(status)),
        ("First seen", rel_time(secs(row.first_seen_ms), now)),
        (
            "First loaded",
            match row.first_loaded_ms {
                Some(ms) => rel_time(secs(ms), now),
                None => html! { span class="muted" { "never" } },
            },
        ),
        ("Last seen", rel_time(secs(row.last_seen_ms), now)),
        ("Pools", list_cell(&row.pools)),
        ("Tags", list_cell(&row.tags)),
        (
            "Classes loaded",
            html! { (human_count(row.classes_loaded as u64)) },
        ),
    ])
}

/// The package page.
pub fn package_page(ctx: &PageCtx, v: &PackageView) -> Markup {
    let now = secs(v.now_ms);
    let d = &v.detail;
    let title = format!("{} {}", d.row.id.name, d.row.id.version);
    let advisories = html! {
        @if !v.advisories_loaded {
            (no_advisories(v.enrichment_link))
        } @else if v.advisories.is_empty() {
            p { "No imported advisory affects this version." }
        } @else {
            (table("Advisories", &["Advisory", "Severity", "Aliases", "Summary"], html! {
                @for a in &v.advisories {
                    tr {
                        th scope="row" { (a.id) }
                        td { (advisory_badge(a)) }
                        td { (a.aliases.join(", ")) }
                        td { (a.summary.as_deref().unwrap_or("")) }
                    }
                }
            }))
        }
    };
    let agents = html! {
        @if d.agents.is_empty() {
            p class="muted" { "No connected agent has this package now." }
        } @else {
            (table("Agents with this package", &["Agent", "Pool", "Classes"], html! {
                @for a in &d.agents {
                    tr {
                        th scope="row" { a href=(agent_path(&a.agent_id)) { (a.agent_id) } }
                        td { (a.pool_id) }
                        td { @if a.loaded { (badge(Status::Ok, "loaded")) } @else { (badge(Status::Unknown, "declared only")) } }
                    }
                }
            }))
        }
        @if !d.ever_agents.is_empty() {
            p class="small muted" { "Agents that ever loaded it: " (d.ever_agents.join(", ")) }
        }
    };
    let classes = html! {
        @if d.classes.is_empty() {
            p class="muted" { "No class of this package was loaded." }
        } @else {
            ul class="class-list" { @for c in &d.classes { li { code { (c) } } } }
            @if d.row.classes_loaded > d.classes.len() {
                p class="small muted" { "Showing " (d.classes.len()) " of " (d.row.classes_loaded) " classes, by name." }
            }
        }
    };
    let body = html! {
        p { a href=(BASE) { "← Runtime Reachability" } }
        (card("Package", row_facts(&d.row, v.status, now)))
        (card("Advisories", advisories))
        (card("Agents", agents))
        (card("Loaded classes", classes))
    };
    page(
        ctx,
        &title,
        "Where this package is loaded, which of its classes run, and what is known about it.",
        None,
        body,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::reach::PackageId;
    use crate::reach::assess::{Counts, Group};
    use crate::reach::{PackageDetail, PackageStatus};
    use crate::ui::test_support::assert_csp_clean;
    use crate::vuln::osv::SeveritySummary;

    fn with_ctx<R>(f: impl FnOnce(&PageCtx) -> R) -> R {
        crate::ui::test_support::with_page_ctx(BASE, f)
    }

    fn row(name: &str, status: PackageStatus) -> PackageRow {
        PackageRow {
            id: PackageId {
                purl: format!("pkg:maven/org.example/{name}@1.0"),
                name: format!("org.example:{name}"),
                version: "1.0".into(),
                ecosystem: "Maven".into(),
            },
            status,
            agents: vec!["a<1>".into()],
            declared_by: 1,
            pools: vec!["p1".into()],
            tags: vec!["web".into()],
            first_seen_ms: 1_000,
            last_seen_ms: 2_000,
            first_loaded_ms: Some(1_000),
            classes_loaded: 3,
            ever_agents: 1,
        }
    }

    fn advisory() -> Arc<Advisory> {
        Arc::new(Advisory {
            id: "GHSA-1".into(),
            aliases: vec!["CVE-2021-1".into()],
            severity: Some(SeveritySummary {
                rating: Some(Rating::Critical),
                score_tenths: Some(98),
                vector: None,
                source: "CVSS_V3",
            }),
            summary: Some("<bad> thing".into()),
            modified: String::new(),
        })
    }

    #[test]
    fn both_sections_render_with_severity_words_and_escaped_text() {
        let assessment = Assessment {
            rows: vec![
                Assessed {
                    row: row("hot", PackageStatus::Loaded),
                    status: ReachStatus::Loaded,
                    advisories: vec![advisory()],
                    group: Group::VulnerableLoaded,
                },
                Assessed {
                    row: row("cold", PackageStatus::NotLoaded),
                    status: ReachStatus::NotLoaded,
                    advisories: vec![advisory()],
                    group: Group::VulnerableNotLoaded,
                },
            ],
            counts: Counts {
                vulnerable_loaded: 1,
                vulnerable_not_loaded: 1,
                ..Counts::default()
            },
        };
        let v = ReachView {
            assessment: Arc::new(assessment),
            query: ReachQuery {
                status: "loaded".into(),
                ..ReachQuery::default()
            },
            pools: vec![("p1".into(), "Pool <1>".into())],
            advisories_loaded: true,
            enrichment_link: true,
            known: 2,
            now_ms: 10_000,
        };
        let html = with_ctx(|c| list(c, &v)).into_string();
        assert_csp_clean(&html);
        let loaded = html.find("aria-label=\"Loaded\"").unwrap();
        let never = html.find("aria-label=\"Never loaded\"").unwrap();
        assert!(loaded < html.find("org.example:hot").unwrap());
        assert!(html.find("org.example:hot").unwrap() < never);
        assert!(never < html.find("org.example:cold").unwrap());
        assert!(html.contains("Critical 9.8"));
        assert!(html.contains("Pool &lt;1&gt;"));
        assert!(html.contains("data-live=\"/reachability/live?status=loaded\""));
        assert!(
            html.contains("href=\"/reachability/packages/pkg%3Amaven%2Forg.example%2Fhot%401.0\"")
        );
        assert!(!html.contains("No advisories loaded"));
    }

    #[test]
    fn no_advisories_is_a_problem_not_a_clean_bill() {
        let mut v = ReachView {
            known: 1,
            enrichment_link: true,
            ..ReachView::default()
        };
        let html = live_region(&v).into_string();
        assert!(html.contains("No advisories loaded"));
        assert!(html.contains(nav::entry(NavId::PackageEnrichment).path));
        assert!(html.contains("No packages match"));
        // Who may not open Package Enrichment is told who imports, not given a dead link.
        v.enrichment_link = false;
        let html = live_region(&v).into_string();
        assert!(html.contains("No advisories loaded"));
        assert!(!html.contains(nav::entry(NavId::PackageEnrichment).path));
        assert!(html.contains("imports them in Package Enrichment"));
        let pkg = PackageView {
            detail: PackageDetail {
                row: row("hot", PackageStatus::Loaded),
                agents: vec![],
                ever_agents: vec![],
                classes: vec!["org.example.A".into()],
            },
            status: ReachStatus::Loaded,
            advisories: vec![],
            advisories_loaded: false,
            enrichment_link: true,
            now_ms: 10_000,
        };
        let html = with_ctx(|c| package_page(c, &pkg)).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("No advisories loaded"));
        assert!(!html.contains("No imported advisory affects"));
        assert!(html.contains("Showing 1 of 3 classes"));
    }
}
