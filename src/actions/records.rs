//! What the store keeps of actions: the actions themselves, and the snapshots and log lines
//! agents send for them. Results are keyed by action, then time, then a sequence number, so an
//! action's results read in order with one prefix scan; each action keeps at most
//! [`MAX_SNAPSHOTS_PER_ACTION`] snapshots and [`MAX_LOGS_PER_ACTION`] lines (oldest dropped), so
//! no agent can fill the disk through one action.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::Action;
use crate::store::{ReadTx, Reads, StoreError, Table, WriteTx};

/// Actions by id.
pub const ACTIONS: Table = Table::new("actions_v1");
/// Snapshots by action id, time, sequence.
pub const SNAPSHOTS: Table = Table::new("action_snapshots_v1");
/// Log lines by action id, time, sequence.
pub const LOGS: Table = Table::new("action_logs_v1");
/// Per action and result kind (`s/ID`, `l/ID`): the next sequence number and how many are kept.
pub const COUNTS: Table = Table::new("action_result_counts_v1");

/// A result table's bookkeeping for one action.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Count {
    next: u64,
    kept: u64,
}

/// Most actions the appliance holds (expired ones are purged by retention).
pub const MAX_ACTIONS: usize = 100_000;
/// Most snapshots kept per action.
pub const MAX_SNAPSHOTS_PER_ACTION: u64 = 1000;
/// Most log lines kept per action.
pub const MAX_LOGS_PER_ACTION: u64 = 10_000;

/// Which agent a result came from, as it was when it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FromAgent {
    /// The agent's id.
    pub agent_id: String,
    /// Its display name.
    pub agent_name: String,
    /// Its pool.
    pub pool_id: String,
    /// Its tags.
    pub tags: Vec<String>,
}

/// One stored snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSnapshot {
    /// Where it came from.
    #[serde(flatten)]
    pub from: FromAgent,
    /// Sequence number within the action, for a stable id.
    pub seq: u64,
    /// When it was hit, ms since the epoch (agent's clock).
    pub time_ms: i64,
    /// The thread.
    pub thread: String,
    /// Stack frames, innermost first.
    pub frames: Value,
    /// `this`, when the method is not static.
    pub this: Option<Value>,
    /// The probed frame's locals.
    pub locals: Value,
    /// Watch expressions' values.
    pub watches: Value,
    /// Whether a budget cut something.
    pub truncated: bool,
}

/// One stored log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredLog {
    /// Where it came from.
    #[serde(flatten)]
    pub from: FromAgent,
    /// Sequence number within the action.
    pub seq: u64,
    /// When, ms since the epoch.
    pub time_ms: i64,
    /// `debug` … `error`.
    pub level: String,
    /// The thread.
    pub thread: String,
    /// The formatted line.
    pub text: String,
}

fn result_key(action_id: &str, time_ms: i64, seq: u64) -> Vec<u8> {
    let mut k = prefix(action_id);
    // Offset so that negative times (a badly set agent clock) still sort first.
    k.extend_from_slice(&(time_ms as u64 ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn prefix(action_id: &str) -> Vec<u8> {
    let mut k = action_id.as_bytes().to_vec();
    k.push(0);
    k
}

/// Saves an action (new or changed).
pub fn put(tx: &mut WriteTx<'_>, action: &Action) -> Result<(), StoreError> {
    tx.put_json(&ACTIONS, action.id.as_bytes(), action)
}

/// One action (also inside a write, to change it).
pub fn get(tx: &impl Reads, id: &str) -> Result<Option<Action>, StoreError> {
    tx.get_json_value(&ACTIONS, id.as_bytes())
}

/// Every action, by id.
pub fn list(tx: &ReadTx) -> Result<Vec<Action>, StoreError> {
    let mut out = Vec::new();
    for (_, v) in tx.scan_prefix(&ACTIONS, b"", MAX_ACTIONS)? {
        match serde_json::from_slice::<Action>(&v) {
            Ok(a) => out.push(a),
            Err(e) => tracing::warn!("an unreadable action record was skipped: {e}"),
        }
    }
    Ok(out)
}

/// Removes an action and its results; answers whether it existed.
pub fn delete(tx: &mut WriteTx<'_>, id: &str) -> Result<bool, StoreError> {
    let existed = tx.delete(&ACTIONS, id.as_bytes())?;
    for (table, max) in [
        (&SNAPSHOTS, MAX_SNAPSHOTS_PER_ACTION),
        (&LOGS, MAX_LOGS_PER_ACTION),
    ] {
        let limit = usize::try_from(max).unwrap_or(usize::MAX);
        for (k, _) in tx.scan_prefix(table, &prefix(id), limit)? {
            tx.delete(table, &k)?;
        }
        tx.delete(&COUNTS, &count_key(table, id))?;
    }
    Ok(existed)
}

/// One bounded step of removing an action after retention: deletes at most `budget` of its
/// snapshots and log lines; once none is left, its bookkeeping and the action record too.
/// Answers the rows deleted and whether the action is gone, so the caller can commit between
/// steps and never hold the writer for long.
pub fn purge_step(
    tx: &mut WriteTx<'_>,
    id: &str,
    budget: usize,
) -> Result<(usize, bool), StoreError> {
    let mut deleted = 0;
    for table in [&SNAPSHOTS, &LOGS] {
        let left = budget.saturating_sub(deleted);
        if left == 0 {
            return Ok((deleted, false));
        }
        let rows = tx.scan_prefix(table, &prefix(id), left)?;
        let full = rows.len() == left;
        for (k, _) in rows {
            tx.delete(table, &k)?;
            deleted += 1;
        }
        if full {
            // Maybe more: the next step looks again.
            return Ok((deleted, false));
        }
    }
    tx.delete(&COUNTS, &count_key(&SNAPSHOTS, id))?;
    tx.delete(&COUNTS, &count_key(&LOGS, id))?;
    tx.delete(&ACTIONS, id.as_bytes())?;
    Ok((deleted, true))
}

fn count_key(table: &Table, action_id: &str) -> Vec<u8> {
    let kind = if table == &SNAPSHOTS { "s/" } else { "l/" };
    format!("{kind}{action_id}").into_bytes()
}

/// Appends a result under its action, dropping the oldest beyond `max`; answers its sequence
/// number. Constant work per result: the count is kept beside, not recounted.
fn append<V: Serialize>(
    tx: &mut WriteTx<'_>,
    table: &Table,
    action_id: &str,
    time_ms: i64,
    max: u64,
    make: impl FnOnce(u64) -> V,
) -> Result<u64, StoreError> {
    let ck = count_key(table, action_id);
    let mut count: Count = tx.get_json(&COUNTS, &ck)?.unwrap_or_default();
    let seq = count.next.max(1);
    tx.put_json(table, &result_key(action_id, time_ms, seq), &make(seq))?;
    count.next = seq + 1;
    count.kept += 1;
    while count.kept > max {
        let Some((oldest, _)) = tx
            .scan_prefix(table, &prefix(action_id), 1)?
            .into_iter()
            .next()
        else {
            break;
        };
        tx.delete(table, &oldest)?;
        count.kept -= 1;
    }
    tx.put_json(&COUNTS, &ck, &count)?;
    Ok(seq)
}

/// Stores a snapshot for its action (which must exist); answers its sequence number
/// (`snapshot.seq` is replaced).
pub fn add_snapshot(
    tx: &mut WriteTx<'_>,
    action_id: &str,
    snapshot: StoredSnapshot,
) -> Result<Option<u64>, StoreError> {
    if tx.get(&ACTIONS, action_id.as_bytes())?.is_none() {
        return Ok(None);
    }
    let time = snapshot.time_ms;
    append(
        tx,
        &SNAPSHOTS,
        action_id,
        time,
        MAX_SNAPSHOTS_PER_ACTION,
        |seq| StoredSnapshot { seq, ..snapshot },
    )
    .map(Some)
}

/// Stores a log line for its action (which must exist).
pub fn add_log(
    tx: &mut WriteTx<'_>,
    action_id: &str,
    line: StoredLog,
) -> Result<Option<u64>, StoreError> {
    if tx.get(&ACTIONS, action_id.as_bytes())?.is_none() {
        return Ok(None);
    }
    let time = line.time_ms;
    append(tx, &LOGS, action_id, time, MAX_LOGS_PER_ACTION, |seq| {
        StoredLog { seq, ..line }
    })
    .map(Some)
}

/// How many snapshots and log lines an action has received in all (dropped ones included):
/// one read of its bookkeeping, never a scan.
pub fn hit_counts(tx: &ReadTx, action_id: &str) -> Result<(u64, u64), StoreError> {
    let total = |table: &Table| -> Result<u64, StoreError> {
        let c: Option<Count> = tx.get_json(&COUNTS, &count_key(table, action_id))?;
        Ok(c.map_or(0, |c| c.next.saturating_sub(1)))
    };
    Ok((total(&SNAPSHOTS)?, total(&LOGS)?))
}

/// One snapshot by its action and sequence number. Bounded like [`snapshots`]: the key holds
/// the time before the sequence, so this walks the action's (at most
/// [`MAX_SNAPSHOTS_PER_ACTION`]) keys.
pub fn snapshot(
    tx: &ReadTx,
    action_id: &str,
    seq: u64,
) -> Result<Option<StoredSnapshot>, StoreError> {
    let limit = usize::try_from(MAX_SNAPSHOTS_PER_ACTION).unwrap_or(usize::MAX);
    for (k, v) in tx.scan_prefix(&SNAPSHOTS, &prefix(action_id), limit)? {
        if k.ends_with(&seq.to_be_bytes()) {
            return Ok(serde_json::from_slice(&v).ok());
        }
    }
    Ok(None)
}

/// An action's snapshots, newest first.
pub fn snapshots(tx: &ReadTx, action_id: &str) -> Result<Vec<StoredSnapshot>, StoreError> {
    results(tx, &SNAPSHOTS, action_id)
}

/// An action's log lines, newest first.
pub fn logs(tx: &ReadTx, action_id: &str) -> Result<Vec<StoredLog>, StoreError> {
    results(tx, &LOGS, action_id)
}

fn results<V: serde::de::DeserializeOwned>(
    tx: &ReadTx,
    table: &Table,
    action_id: &str,
) -> Result<Vec<V>, StoreError> {
    let max = if table == &SNAPSHOTS {
        MAX_SNAPSHOTS_PER_ACTION
    } else {
        MAX_LOGS_PER_ACTION
    };
    let mut out: Vec<V> = tx
        .scan_prefix(
            table,
            &prefix(action_id),
            usize::try_from(max).unwrap_or(usize::MAX),
        )?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect();
    out.reverse();
    Ok(out)
}
