//! The history of agents in the store: every agent that ever connected, with its last known
//! metadata, first and last seen, how many times it connected and why it last went away.
//! Also the tags agents have carried. Written at connect and disconnect through the
//! group-commit writer, so a storm of reconnects costs a few commits, not one each.

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::protocol::Hello;
use crate::store::{Reads, StoreError, Table, WriteTx};

/// Agents by `agent_id`.
pub const AGENT_HISTORY: Table = Table::new("agent_history_v1");
/// Tags by name.
pub const TAGS: Table = Table::new("tags_v1");
/// Most agents a listing reads (bounds loops over the table).
pub const MAX_AGENTS: usize = 100_000;
/// Most tags a listing reads.
pub const MAX_TAGS: usize = 10_000;

/// What is kept of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// The agent's stable id.
    pub agent_id: String,
    /// Its last `hello`.
    pub hello: Hello,
    /// The pool it last connected into.
    pub pool_id: String,
    /// Unix milliseconds of its first connection.
    pub first_seen_ms: i64,
    /// Unix milliseconds of the last connect or disconnect.
    pub last_seen_ms: i64,
    /// How many connections it opened.
    pub connections: u64,
    /// Why its last connection ended (a close reason name), empty while connected.
    pub last_disconnect_reason: String,
}

/// A tag and when agents carried it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    /// The tag.
    pub name: String,
    /// Unix milliseconds when an agent first carried it.
    pub first_seen_ms: i64,
    /// Unix milliseconds when an agent last connected with it.
    pub last_seen_ms: i64,
}

/// Records a connection: creates or updates the agent and its tags.
pub fn connected(
    tx: &mut WriteTx<'_>,
    hello: &Hello,
    pool_id: &str,
    now_ms: i64,
) -> Result<AgentRecord, StoreError> {
    let key = hello.agent_id.as_bytes();
    let record = match tx.get_json::<AgentRecord>(&AGENT_HISTORY, key)? {
        Some(old) => AgentRecord {
            hello: hello.clone(),
            pool_id: pool_id.to_string(),
            last_seen_ms: now_ms,
            connections: old.connections.saturating_add(1),
            last_disconnect_reason: String::new(),
            ..old
        },
        None => AgentRecord {
            agent_id: hello.agent_id.clone(),
            hello: hello.clone(),
            pool_id: pool_id.to_string(),
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
            connections: 1,
            last_disconnect_reason: String::new(),
        },
    };
    tx.put_json(&AGENT_HISTORY, key, &record)?;
    for tag in &hello.tags {
        let tag_record = match tx.get_json::<TagRecord>(&TAGS, tag.as_bytes())? {
            Some(t) => TagRecord {
                last_seen_ms: now_ms,
                ..t
            },
            None => TagRecord {
                name: tag.clone(),
                first_seen_ms: now_ms,
                last_seen_ms: now_ms,
            },
        };
        tx.put_json(&TAGS, tag.as_bytes(), &tag_record)?;
    }
    Ok(record)
}

/// Records the end of a connection.
pub fn disconnected(
    tx: &mut WriteTx<'_>,
    agent_id: &str,
    reason: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    if let Some(mut record) = tx.get_json::<AgentRecord>(&AGENT_HISTORY, agent_id.as_bytes())? {
        record.last_seen_ms = now_ms;
        record.last_disconnect_reason = reason.to_string();
        tx.put_json(&AGENT_HISTORY, agent_id.as_bytes(), &record)?;
    }
    Ok(())
}

/// One agent's record.
pub fn get(tx: &impl Reads, agent_id: &str) -> Result<Option<AgentRecord>, StoreError> {
    tx.get_json_value(&AGENT_HISTORY, agent_id.as_bytes())
}

/// Every agent's record, by id.
pub fn list(tx: &impl Reads) -> Result<Vec<AgentRecord>, StoreError> {
    tx.scan_json(&AGENT_HISTORY, MAX_AGENTS)
}

/// The decoded records of [`list`], kept between reads while the table is unchanged: the
/// Agents list and the API read every record per request, and decoding 10,000 of them cost
/// most of a page at fleet size (BENCHMARKS.md, P3). Keyed on the store's table generation,
/// so any committed write to the history (connect, disconnect, a tag removed) is seen by the
/// next read.
#[derive(Debug, Default)]
pub struct HistoryCache {
    kept: Mutex<Option<(u64, Arc<Vec<AgentRecord>>)>>,
}

impl HistoryCache {
    /// Every agent's record as of `tx`, where `generation` is
    /// `Store::table_generation(&AGENT_HISTORY)` taken before `tx` began.
    pub fn list(
        &self,
        tx: &impl Reads,
        generation: u64,
    ) -> Result<Arc<Vec<AgentRecord>>, StoreError> {
        if let Some((g, records)) = &*self.kept.lock().unwrap_or_else(PoisonError::into_inner)
            && *g == generation
        {
            return Ok(Arc::clone(records));
        }
        // Decoded outside the lock: concurrent misses each decode once rather than queue.
        let records = Arc::new(list(tx)?);
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        // A slow reader of an older generation does not replace a newer copy.
        if kept.as_ref().is_none_or(|(g, _)| *g <= generation) {
            *kept = Some((generation, Arc::clone(&records)));
        }
        Ok(records)
    }
}

/// Every known tag, by name.
pub fn tags(tx: &impl Reads) -> Result<Vec<TagRecord>, StoreError> {
    tx.scan_json(&TAGS, MAX_TAGS)
}

/// Forgets a tag; answers whether it existed.
pub fn delete_tag(tx: &mut WriteTx<'_>, name: &str) -> Result<bool, StoreError> {
    tx.delete(&TAGS, name.as_bytes())
}

/// Marks every agent left "connected" by a previous run as gone: the appliance stopped
/// without saying goodbye to them (crash, kill), so their last seen time is the best we know.
pub fn close_stale(tx: &mut WriteTx<'_>) -> Result<usize, StoreError> {
    let mut n = 0;
    for mut record in list(tx)? {
        if record.last_disconnect_reason.is_empty() {
            record.last_disconnect_reason = "appliance_restart".to_string();
            tx.put_json(&AGENT_HISTORY, record.agent_id.as_bytes(), &record)?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::view::tests::hello;
    use crate::store::{Store, StoreOptions};

    /// The cache answers its copy while the table's generation stays, and reads again once a
    /// committed write (here a disconnect) moves it.
    #[test]
    fn the_cache_follows_the_table_generation() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        let cache = HistoryCache::default();
        let connect = |id: &'static str| {
            store
                .write_blocking(move |tx| connected(tx, &hello(id, id, "java", &[]), "p1", 1))
                .unwrap();
        };
        let read = |generation: u64| {
            store
                .read_blocking(|tx| cache.list(tx, generation))
                .unwrap()
        };
        connect("a");
        let g1 = store.table_generation(&AGENT_HISTORY);
        assert_eq!(read(g1).len(), 1);
        connect("b");
        let g2 = store.table_generation(&AGENT_HISTORY);
        assert_ne!(g1, g2);
        assert_eq!(read(g1).len(), 1, "the copy under the old generation");
        assert_eq!(read(g2).len(), 2);
        store
            .write_blocking(|tx| disconnected(tx, "a", "agent_stopped", 2))
            .unwrap();
        let g3 = store.table_generation(&AGENT_HISTORY);
        let records = read(g3);
        assert_eq!(records[0].last_disconnect_reason, "agent_stopped");
        assert!(Arc::ptr_eq(&records, &read(g3)), "a hit decodes nothing");
    }
}
