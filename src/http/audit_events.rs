//! Audit Events in the portal: the filtered list, chain verification and streamed exports
//! (CSV and JSON lines) of the audit trail.

use bytes::Bytes;
use hyper::Response;

use super::form::Form;
use super::handler::Call;
use super::respond::{self, Body};
use crate::error::Error;
use crate::iam::roles::{self, Need, Permission};
use crate::security::audit::{self, AuditRecord, Filter, Outcome};
use crate::ui::components::FormErrors;
use crate::ui::pages::audit::{AuditQuery, AuditView, page_view};

/// Default and largest page sizes (INTERFACES.md list conventions).
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 1000;
/// Records per store read while exporting.
const EXPORT_PAGE: usize = 1000;

/// Reads the filters; unreadable ones are reported next to their field and ignored.
fn parse(q: &Form) -> (AuditQuery, Filter, FormErrors) {
    let mut errors = FormErrors::default();
    let query = AuditQuery {
        kind: q.text("type").trim().to_string(),
        actor: q.text("actor").trim().to_string(),
        outcome: q.text("outcome").to_string(),
        since: q.text("since").to_string(),
        until: q.text("until").to_string(),
        offset: q.text("offset").parse().unwrap_or(0),
        limit: q
            .text("limit")
            .parse()
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT),
    };
    let outcome = match query.outcome.as_str() {
        "" => None,
        "success" => Some(Outcome::Success),
        "failure" => Some(Outcome::Failure),
        "denied" => Some(Outcome::Denied),
        _ => {
            errors
                .fields
                .push(("outcome", "choose success, failure or denied".into()));
            None
        }
    };
    let mut day = |name: &'static str, value: &str, add_days: i64| {
        if value.is_empty() {
            return None;
        }
        match day_start_ms(value) {
            Some(ms) => Some(ms + add_days * 86_400_000),
            None => {
                errors
                    .fields
                    .push((name, "use a date like 2026-11-27".into()));
                None
            }
        }
    };
    let since_ms = day("since", &query.since, 0);
    let until_ms = day("until", &query.until, 1);
    let filter = Filter {
        kind: (!query.kind.is_empty()).then(|| query.kind.clone()),
        actor: (!query.actor.is_empty()).then(|| query.actor.clone()),
        outcome,
        since_ms,
        until_ms,
    };
    (query, filter, errors)
}

/// Unix ms of 00:00 UTC of a `YYYY-MM-DD` date.
fn day_start_ms(value: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(value, &format).ok()?;
    let midnight = date.midnight().assume_utc();
    Some(midnight.unix_timestamp() * 1000)
}

/// `GET /settings/security/audit-events` (and `/verify`, which also walks the chain).
pub async fn page(call: &Call, verify: bool) -> Result<Response<Body>, Error> {
    let p = call.principal.as_ref().ok_or(Error::Unauthorized)?;
    let (query, filter, errors) = parse(&call.query);
    let (offset, limit) = (query.offset, query.limit);
    let (records, total) = call
        .state
        .store
        .read(move |tx| audit::list(tx, &filter, offset, limit))
        .await?;
    let verification = if verify {
        let v = call.state.store.read(audit::verify).await?;
        Some(audit::describe(&v))
    } else {
        None
    };
    let view = AuditView {
        query: &query,
        records: &records,
        total,
        now: call.state.clock.now_secs(),
        can_export: roles::allows(&p.user.roles, Permission::AuditEvents, Need::Administer),
        errors: &errors,
        verification,
    };
    let markup = super::portal::framed(&call.state, p, &call.path, |ctx| page_view(ctx, &view));
    Ok(respond::html(
        if errors.is_empty() { 200 } else { 400 },
        markup,
    ))
}

/// `GET /settings/security/audit-events/export?format=csv|jsonl&...`: every matching record,
/// oldest first, streamed page by page.
pub async fn export(call: &Call) -> Result<Response<Body>, Error> {
    let (_, filter, errors) = parse(&call.query);
    if let Some((field, message)) = errors.fields.first() {
        return Err(Error::Invalid {
            field,
            message: message.clone(),
        });
    }
    let csv = match call.query.text("format") {
        "csv" | "" => true,
        "jsonl" => false,
        _ => {
            return Err(Error::Invalid {
                field: "format",
                message: "choose csv or jsonl".into(),
            });
        }
    };
    let (content_type, name) = if csv {
        ("text/csv; charset=utf-8", "lantern-audit.csv")
    } else {
        ("application/x-ndjson", "lantern-audit.jsonl")
    };
    let (response, tx) = respond::stream(content_type, name, 8);
    let store = call.state.store.clone();
    tokio::spawn(async move {
        if csv {
            let header = "seq,time,type,actor,source,target,outcome,details,prev_hash,hash\n";
            if tx
                .send(Bytes::from_static(header.as_bytes()))
                .await
                .is_err()
            {
                return;
            }
        }
        let mut next = 1u64;
        loop {
            let start = next.to_be_bytes().to_vec();
            let page = store
                .read(move |rtx| rtx.scan_range(&audit::AUDIT, &start, EXPORT_PAGE))
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("audit export stopped: {e}");
                    return;
                }
            };
            let done = page.len() < EXPORT_PAGE;
            let mut chunk = String::new();
            for (_, value) in page {
                let Ok(record) = serde_json::from_slice::<AuditRecord>(&value) else {
                    continue;
                };
                next = record.seq + 1;
                if filter.matches(&record) {
                    if csv {
                        chunk.push_str(&csv_row(&record));
                    } else {
                        chunk.push_str(&serde_json::to_string(&record).unwrap_or_default());
                        chunk.push('\n');
                    }
                }
            }
            if !chunk.is_empty() && tx.send(Bytes::from(chunk)).await.is_err() {
                return; // the client went away
            }
            if done {
                return;
            }
        }
    });
    Ok(response)
}

/// One CSV line (RFC 4180 quoting). Cells that a spreadsheet would run as a formula are
/// prefixed with `'`, so an export opened in a spreadsheet cannot execute attacker text.
fn csv_row(r: &AuditRecord) -> String {
    let details = if r.event.details.is_null() {
        String::new()
    } else {
        r.event.details.to_string()
    };
    let cells = [
        r.seq.to_string(),
        crate::clock::rfc3339(r.time_ms.div_euclid(1000)),
        r.event.kind.clone(),
        r.event.actor.label(),
        r.event.source.clone().unwrap_or_default(),
        r.event.target.clone().unwrap_or_default(),
        serde_json::to_value(r.event.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        details,
        r.prev_hash.clone(),
        r.hash.clone(),
    ];
    let mut line = cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(day_start_ms("1970-01-02"), Some(86_400_000));
        assert_eq!(day_start_ms("27.11.2026"), None);
    }

    #[test]
    fn bad_filters_are_reported_per_field() {
        let q = Form::parse(b"outcome=maybe&since=yesterday&limit=99999").unwrap();
        let (query, filter, errors) = parse(&q);
        assert_eq!(query.limit, MAX_LIMIT);
        assert!(errors.field("outcome").is_some());
        assert!(errors.field("since").is_some());
        assert!(filter.outcome.is_none() && filter.since_ms.is_none());
    }
}
