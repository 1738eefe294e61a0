//! The retention sweep: applies Service Configuration's retention periods to what the store
//! keeps. Run at start and then every minute by the appliance (and directly by tests, with
//! the time they choose).
//!
//! - An action *ends* when it expires. (A deleted action loses its results at once; an action
//!   that completed its hit cap on some agents may still run on others, so completion does not
//!   end it.) Once it ended longer ago than the results retention (10 days by default), its
//!   snapshots, log lines and its record are deleted, and what memory held of it (statuses,
//!   metric points and roll-ups) is forgotten. Active actions and recently ended ones keep
//!   everything.
//! - Audit events older than the audit retention (400 days by default) are deleted from the
//!   oldest on; the chain's anchor moves with them so the rest still verifies
//!   (`crate::security::audit::prune_step`).
//!
//! Deletion runs in steps of at most [`STEP_ROWS`] rows, each its own write through the
//! group-commit writer, so ingestion is never held up for long; a sweep takes at most
//! [`MAX_STEPS`] steps and leaves the rest to the next one. A sweep that deleted anything is
//! audited (`retention.sweep`).

use serde_json::json;

use crate::actions::live::Live;
use crate::actions::records;
use crate::ops::service_config::ServiceConfig;
use crate::security::audit::{self, Actor, AuditEvent, Outcome};
use crate::store::{Store, StoreError};

/// Most rows one write of the sweep deletes.
pub const STEP_ROWS: usize = 500;
/// Most writes one sweep makes.
pub const MAX_STEPS: usize = 2_000;

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Ended actions removed with their results.
    pub actions: usize,
    /// Snapshots and log lines deleted.
    pub results: usize,
    /// Audit events deleted.
    pub audit_events: usize,
    /// Whether the step bound stopped the sweep before it was done.
    pub unfinished: bool,
}

/// Runs one sweep at `now_ms` with the retention periods of `config`.
pub async fn sweep(
    store: &Store,
    live: &Live,
    config: &ServiceConfig,
    now_ms: i64,
) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let mut steps = 0usize;
    let cutoff = now_ms.saturating_sub(config.results_retention_ms());
    let ended: Vec<String> = store
        .read(records::list)
        .await?
        .into_iter()
        .filter(|a| a.expires_at_ms <= cutoff && !live.is_active(&a.id))
        .map(|a| a.id)
        .collect();
    'actions: for id in ended {
        loop {
            if steps >= MAX_STEPS {
                report.unfinished = true;
                break 'actions;
            }
            steps += 1;
            let step_id = id.clone();
            let (rows, done) = store
                .write(move |tx| records::purge_step(tx, &step_id, STEP_ROWS))
                .await?;
            report.results += rows;
            if done {
                report.actions += 1;
                live.forget(&id);
                break;
            }
        }
    }
    let audit_cutoff = now_ms.saturating_sub(config.audit_retention_ms());
    loop {
        if steps >= MAX_STEPS {
            report.unfinished = true;
            break;
        }
        steps += 1;
        let n = store
            .write(move |tx| audit::prune_step(tx, audit_cutoff, STEP_ROWS))
            .await?;
        report.audit_events += n;
        if n < STEP_ROWS {
            break;
        }
    }
    if report.actions + report.results + report.audit_events > 0 {
        let event = AuditEvent::new("retention.sweep", Actor::System, Outcome::Success).details(
            json!({"actions": report.actions, "results": report.results,
                   "audit_events": report.audit_events,
                   "results_retention_days": config.results_retention_days,
                   "audit_retention_days": config.audit_retention_days}),
        );
        audit::record(store, now_ms, event).await;
    }
    Ok(report)
}
