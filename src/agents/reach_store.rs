//! Keeps the reachability index's durable part in the store: reads it back into the registry's
//! index at start-up, and writes the index's changed records in batches through the
//! group-commit writer every [`FLUSH_INTERVAL`] (at most [`FLUSH_RECORDS`] per commit), and
//! once more at shutdown. What the records hold and why is `crate::reach::durable`'s to say;
//! this module only moves bytes between the index and two tables, and tells the watched-package
//! events what the writes changed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::registry::Registry;
use crate::integrations::watched::watched_class_names;
use crate::reach::durable::split_class_key;
use crate::reach::watch::{Changes, package_change};
use crate::reach::{DirtyBatch, PackageRecord};
use crate::store::{ReadTx, Row, Store, StoreError, Table};

/// Package records by purl.
pub const REACH_PACKAGES: Table = Table::new("reach_packages_v1");
/// Classes of packages: key `purl NUL class name`, empty value.
pub const REACH_CLASSES: Table = Table::new("reach_classes_v1");
/// How often changed records are written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);
/// Most records per write (one group commit).
pub const FLUSH_RECORDS: usize = 20_000;
/// Rows read per page at start-up.
const PAGE_ROWS: usize = 10_000;
/// Most rows read back per table: bounds the start-up loop.
const MAX_ROWS: usize = 50_000_000;

/// Reads every row of `table`, page by page.
fn read_all(tx: &ReadTx, table: &Table) -> Result<Vec<Row>, StoreError> {
    let mut rows = Vec::new();
    let mut start: Vec<u8> = Vec::new();
    while rows.len() < MAX_ROWS {
        let page = tx.scan_range(table, &start, PAGE_ROWS)?;
        let full = page.len() == PAGE_ROWS;
        if let Some((last, _)) = page.last() {
            start = last.clone();
            start.push(0);
        }
        rows.extend(page);
        if !full {
            break;
        }
    }
    Ok(rows)
}

/// Rebuilds the durable part of `registry`'s index from the store; answers how many
/// packages it now knows. Records that do not decode are logged and skipped.
pub async fn load(store: &Store, registry: &Registry) -> Result<usize, StoreError> {
    let (packages, classes) = store
        .read(|tx| {
            Ok((
                read_all(tx, &REACH_PACKAGES)?,
                read_all(tx, &REACH_CLASSES)?,
            ))
        })
        .await?;
    let errors = registry.with_index_mut(|index| {
        index.restore(
            packages.iter().map(|(k, v)| (k.as_slice(), v.as_slice())),
            classes.iter().map(|(k, _)| k.as_slice()),
        )
    });
    for e in &errors {
        tracing::warn!("reachability record skipped: {e}");
    }
    Ok(registry.with_index(|index| index.stats().packages))
}

/// Writes one batch; on failure the index gets it back for the next try. Answers what the
/// batch changed that webhook events care about (`reach::watch::package_change`, compared
/// with the stored records in the same transaction), and the first loads of the classes some
/// watched package names.
async fn write(
    store: &Store,
    registry: &Registry,
    batch: DirtyBatch,
) -> Result<Changes, StoreError> {
    let rows = Arc::new((batch.packages.clone(), batch.classes.clone()));
    let result = store
        .write(move |tx| {
            let mut changes = Changes::default();
            for (key, value) in &rows.0 {
                if let Ok(new) = serde_json::from_slice::<PackageRecord>(value) {
                    let old = tx
                        .get(&REACH_PACKAGES, key)?
                        .and_then(|v| serde_json::from_slice::<PackageRecord>(&v).ok());
                    changes.packages.extend(package_change(old.as_ref(), &new));
                }
                tx.put(&REACH_PACKAGES, key, value)?;
            }
            let watched = if rows.1.is_empty() {
                HashSet::new()
            } else {
                watched_class_names(tx)?
            };
            for key in &rows.1 {
                if !watched.is_empty()
                    && let Some((purl, class)) = split_class_key(key)
                    && watched.contains(class)
                {
                    changes.classes.push((purl.to_string(), class.to_string()));
                }
                tx.put(&REACH_CLASSES, key, &[])?;
            }
            Ok(changes)
        })
        .await;
    if result.is_err() {
        registry.with_index_mut(|index| index.unflush(batch));
    }
    result
}

/// Writes everything the index has changed, in batches of at most [`FLUSH_RECORDS`].
pub async fn flush(store: &Store, registry: &Registry) -> Result<usize, StoreError> {
    flush_changes(store, registry, &mut Changes::default()).await
}

/// [`flush`], adding what the writes changed to `changes`.
pub async fn flush_changes(
    store: &Store,
    registry: &Registry,
    changes: &mut Changes,
) -> Result<usize, StoreError> {
    let mut written = 0;
    // Bounded: each round takes what is queued now; new changes wait for the next call.
    for _ in 0..1_000 {
        let batch = registry.with_index_mut(|index| index.take_dirty(FLUSH_RECORDS));
        if batch.is_empty() {
            break;
        }
        written += batch.len();
        let c = write(store, registry, batch).await?;
        changes.packages.extend(c.packages);
        changes.classes.extend(c.classes);
    }
    Ok(written)
}

/// The writer task: flushes every [`FLUSH_INTERVAL`] until aborted (the shutdown path
/// aborts it and calls [`flush`] once more after the agents are gone), handing what each
/// flush changed to `events` (the watched-package and vulnerable-package webhooks) without
/// waiting: a full queue drops the change set with a warning.
pub async fn run(store: Store, registry: Arc<Registry>, events: Option<mpsc::Sender<Changes>>) {
    let mut tick = tokio::time::interval(FLUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut changes = Changes::default();
        if let Err(e) = flush_changes(&store, &registry, &mut changes).await {
            tracing::warn!("reachability records not written yet: {e}");
        }
        if let Some(events) = &events
            && !changes.is_empty()
            && events.try_send(changes).is_err()
        {
            tracing::warn!("watched package events dropped: the event queue is full");
        }
    }
}
