//! Settings › Security › Audit Events: the filterable, paged list of the tamper-evident audit
//! trail, its exports and the result of a chain verification.

use maud::{Markup, html};

use crate::security::audit::{AuditRecord, Outcome};
use crate::ui::components::{
    ButtonKind, FormErrors, Status, Tone, badge, empty_state, link_button, notice, rel_time,
    select, table,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::{self, NavId};

/// The filters as typed (echoed back into the form and the links).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Event type prefix (`auth.`, `user.`, ...); empty for all.
    pub kind: String,
    /// Actor substring.
    pub actor: String,
    /// `success`, `failure`, `denied` or empty.
    pub outcome: String,
    /// `YYYY-MM-DD` or empty.
    pub since: String,
    /// `YYYY-MM-DD` (inclusive) or empty.
    pub until: String,
    /// Page offset.
    pub offset: usize,
    /// Page size.
    pub limit: usize,
}

impl AuditQuery {
    /// The query string of the filters (without paging), for links.
    pub fn filter_query(&self) -> String {
        let pairs = [
            ("type", &self.kind),
            ("actor", &self.actor),
            ("outcome", &self.outcome),
            ("since", &self.since),
            ("until", &self.until),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", crate::http::form::encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// What the page shows.
#[derive(Debug)]
pub struct AuditView<'a> {
    /// The filters.
    pub query: &'a AuditQuery,
    /// This page of records, newest first.
    pub records: &'a [AuditRecord],
    /// How many records match.
    pub total: usize,
    /// The current time, unix seconds.
    pub now: i64,
    /// Whether the user may export.
    pub can_export: bool,
    /// A filter the server could not read, shown next to the field.
    pub errors: &'a FormErrors,
    /// The result of "Verify the chain", when asked.
    pub verification: Option<Result<String, String>>,
}

const TYPES: &[(&str, &str)] = &[
    ("", "All types"),
    ("auth.", "Sign-in and sign-out"),
    ("user.", "Users"),
    ("access.", "Refused access"),
    ("system.", "System"),
];
const OUTCOMES: &[(&str, &str)] = &[
    ("", "Any outcome"),
    ("success", "Success"),
    ("failure", "Failure"),
    ("denied", "Denied"),
];

fn outcome_badge(o: Outcome) -> Markup {
    match o {
        Outcome::Success => badge(Status::Ok, "success"),
        Outcome::Failure => badge(Status::Warning, "failure"),
        Outcome::Denied => badge(Status::Error, "denied"),
    }
}

/// The whole page.
pub fn page_view(ctx: &PageCtx, v: &AuditView) -> Markup {
    let entry = nav::entry(NavId::AuditEvents);
    let base = entry.path;
    let filters = v.query.filter_query();
    let with = |extra: &str| {
        let mut q = filters.clone();
        if !extra.is_empty() {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(extra);
        }
        if q.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{q}")
        }
    };
    let primary = html! {
        (link_button(ButtonKind::Secondary, &format!("{base}/verify"), "Verify the chain"))
    };
    let body = html! {
        @if let Some(result) = &v.verification {
            @match result {
                Ok(message) => (notice(Tone::Ok, message)),
                Err(message) => (notice(Tone::Error, message)),
            }
        }
        form class="filter-bar" method="get" action=(base) {
            (select("type", "Type", TYPES, &v.query.kind, None, v.errors))
            div class="field" {
                label for="f-actor" { "Actor" }
                input id="f-actor" type="search" name="actor" value=(v.query.actor) placeholder="e-mail or key label";
            }
            (select("outcome", "Outcome", OUTCOMES, &v.query.outcome, None, v.errors))
            (date_field("since", "From (UTC)", &v.query.since, v.errors))
            (date_field("until", "Until (UTC, inclusive)", &v.query.until, v.errors))
            button type="submit" class="button" { "Apply" }
        }
        div class="list-meta" {
            span { (v.total) " events" }
            @if v.can_export {
                span {
                    "Export: "
                    a href=(export_href(base, &filters, "csv")) download { "CSV" }
                    " · "
                    a href=(export_href(base, &filters, "jsonl")) download { "JSON lines" }
                }
            }
        }
        @if v.records.is_empty() {
            (empty_state("No audit events match", "Security-relevant events — sign-ins, user and setting changes, refused requests — appear here as they happen. Widen the filters to see more.", None))
        } @else {
            (table("Audit events, newest first", &["#", "Time", "Type", "Actor", "Source", "Target", "Outcome", "Details"], html! {
                @for r in v.records {
                    tr {
                        th scope="row" class="num" { (r.seq) }
                        td { (rel_time(r.time_ms.div_euclid(1000), v.now)) }
                        td { code { (r.event.kind) } }
                        td { (r.event.actor.label()) }
                        td { (r.event.source.as_deref().unwrap_or("—")) }
                        td { (r.event.target.as_deref().unwrap_or("—")) }
                        td { (outcome_badge(r.event.outcome)) }
                        td { @if !r.event.details.is_null() { code { (r.event.details.to_string()) } } }
                    }
                }
            }))
            nav class="pagination" aria-label="Pages" {
                @if v.query.offset > 0 {
                    a class="button button-small" href=(with(&format!("offset={}&limit={}", v.query.offset.saturating_sub(v.query.limit), v.query.limit))) { "Newer" }
                }
                span { (v.query.offset + 1) "–" (v.query.offset + v.records.len()) " of " (v.total) }
                @if v.query.offset + v.records.len() < v.total {
                    a class="button button-small" href=(with(&format!("offset={}&limit={}", v.query.offset + v.query.limit, v.query.limit))) { "Older" }
                }
            }
        }
    };
    page(ctx, entry.label, entry.summary, Some(primary), body)
}

fn export_href(base: &str, filters: &str, format: &str) -> String {
    if filters.is_empty() {
        format!("{base}/export?format={format}")
    } else {
        format!("{base}/export?{filters}&format={format}")
    }
}

fn date_field(name: &str, label: &str, value: &str, errors: &FormErrors) -> Markup {
    let id = format!("f-{name}");
    let error = errors.field(name);
    html! {
        div class=(if error.is_some() { "field field-invalid" } else { "field" }) {
            label for=(id) { (label) }
            input id=(id) type="date" name=(name) value=(value) aria-invalid=[error.is_some().then_some("true")];
            @if let Some(e) = error { p class="field-error" { (e) } }
        }
    }
}
