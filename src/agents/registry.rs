//! The live registry: which agents are connected right now, what they told us in `hello`,
//! and the artifacts and classes of their current connection. In memory only (the history of
//! agents lives in the store, see `history.rs`); rebuilt by the agents themselves, because
//! every reconnect resends the full state.
//!
//! Two locks, each held for a short, bounded piece of work: one over the connections (their
//! summaries and channels, indexed by session and by agent instance), one over the
//! reachability index (`crate::reach`), which holds every connection's artifacts and classes.
//! A frame is resolved against the index under the shared lock (the costly part: one name
//! after another), then applied under the exclusive lock (a few operations per name), so
//! frames of different agents resolve in parallel and pages are never held up for a whole
//! frame.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::{mpsc, watch};

use super::connected::ConnectedCounts;
use super::protocol::{AgentStats, ClassLoads, CloseReason, Hello};
use crate::reach::{AgentInfo, Index, LoadRef};
pub use crate::reach::{ArtifactView, IngestError, MAX_ARTIFACTS_PER_AGENT, MAX_CLASSES_PER_AGENT};

/// A session number, unique for the life of the process.
pub type SessionNo = u64;

/// One connected agent.
#[derive(Debug)]
struct Live {
    summary: AgentSummary,
    kick: mpsc::Sender<CloseReason>,
    outbox: mpsc::Sender<String>,
}

impl Live {
    /// Queues one message; a full outbox closes the connection as a slow reader.
    fn queue(&self, text: String) -> bool {
        match self.outbox.try_send(text) {
            Ok(()) => true,
            Err(_) => {
                let _ = self.kick.try_send(CloseReason::SlowReader);
                false
            }
        }
    }
}

/// One connection a fan-out chose ([`Registry::send_to_each`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Its agent's id.
    pub agent_id: String,
    /// Its agent's display name.
    pub display_name: String,
    /// Whether the message was queued (else the connection is gone or being closed).
    pub queued: bool,
}

/// What lists and pages show of a connected agent.
#[derive(Debug, Clone)]
pub struct AgentSummary {
    /// This connection's number.
    pub session: SessionNo,
    /// This connection's id, as sent in `hello_ack`.
    pub session_id: String,
    /// The agent's `hello`.
    pub hello: Hello,
    /// The pool its key belongs to.
    pub pool_id: String,
    /// The pool's name at connect time.
    pub pool_name: String,
    /// Where the connection comes from.
    pub peer: SocketAddr,
    /// The protocol version in use.
    pub protocol: u32,
    /// Unix milliseconds of the upgrade.
    pub connected_ms: i64,
    /// Unix milliseconds of the last frame or pong.
    pub last_heartbeat_ms: i64,
    /// Classes loaded, runtime classes included.
    pub classes_loaded: u64,
    /// Artifacts declared on this connection.
    pub artifacts: usize,
    /// Whether the start-up state has been received completely.
    pub initial_done: bool,
    /// The agent's last `agent_stats`.
    pub stats: Option<AgentStats>,
}

/// The registry of connected agents. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Registry {
    inner: RwLock<Inner>,
    index: RwLock<Index>,
    changes: watch::Sender<u64>,
    next_session: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    live: HashMap<SessionNo, Live>,
    /// Live sessions by (agent id, instance id), so a reconnect finds the connection it
    /// replaces without scanning the fleet.
    by_instance: HashMap<(String, String), BTreeSet<SessionNo>>,
    /// How many agents are connected, overall and per pool.
    counts: ConnectedCounts,
}

// A panic while holding a lock leaves plain data behind: keep serving it.
fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn instance_key(hello: &Hello) -> (String, String) {
    (hello.agent_id.clone(), hello.instance_id.clone())
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry {
            inner: RwLock::new(Inner::default()),
            index: RwLock::new(Index::new()),
            changes: watch::channel(0).0,
            next_session: AtomicU64::new(1),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        read_lock(&self.inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        write_lock(&self.inner)
    }

    fn index_read(&self) -> RwLockReadGuard<'_, Index> {
        read_lock(&self.index)
    }

    fn index_write(&self) -> RwLockWriteGuard<'_, Index> {
        write_lock(&self.index)
    }

    /// Runs `f` on the reachability index under its shared lock (pages, API). Keep `f` short:
    /// ingest waits for it.
    pub fn with_index<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        f(&self.index_read())
    }

    /// Runs `f` on the reachability index under its exclusive lock (restore at start-up,
    /// taking dirty records for the store).
    pub fn with_index_mut<R>(&self, f: impl FnOnce(&mut Index) -> R) -> R {
        f(&mut self.index_write())
    }

    fn changed(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// How many changes [`subscribe`](Self::subscribe) has announced: a key for views made from
    /// the registry (heartbeats and counters do not count).
    pub fn change_count(&self) -> u64 {
        *self.changes.borrow()
    }

    /// A receiver that wakes whenever an agent connects, disconnects or reports loads.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// A fresh session number.
    pub fn next_session(&self) -> SessionNo {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a connection. Another live connection of the same agent instance (same
    /// `agent_id` and `instance_id`) is told to close with [`CloseReason::Replaced`]: the
    /// agent reconnected before the appliance noticed the old connection was dead.
    pub fn register(
        &self,
        summary: AgentSummary,
        kick: mpsc::Sender<CloseReason>,
        outbox: mpsc::Sender<String>,
    ) {
        let session = summary.session;
        let key = instance_key(&summary.hello);
        let info = AgentInfo {
            agent_id: summary.hello.agent_id.clone(),
            pool_id: summary.pool_id.clone(),
            tags: summary.hello.tags.clone(),
        };
        let mut inner = self.write();
        let inner = &mut *inner;
        let same = inner.by_instance.entry(key).or_default();
        for old in same.iter() {
            if let Some(old) = inner.live.get(old) {
                let _ = old.kick.try_send(CloseReason::Replaced);
            }
        }
        same.insert(session);
        inner
            .counts
            .connected(&summary.hello.agent_id, &summary.pool_id);
        inner.live.insert(
            session,
            Live {
                summary,
                kick,
                outbox,
            },
        );
        // Under the connections' lock, so a `remove` of this session cannot slip in between.
        self.index_write().connect(session, info);
        self.changed();
    }

    /// Removes a connection; answers what it was. Its packages keep their history, last
    /// seen at its last heartbeat.
    pub fn remove(&self, session: SessionNo) -> Option<AgentSummary> {
        let mut inner = self.write();
        let gone = inner.live.remove(&session).map(|l| l.summary);
        if let Some(s) = &gone {
            inner.counts.disconnected(&s.hello.agent_id, &s.pool_id);
            let key = instance_key(&s.hello);
            if let Some(same) = inner.by_instance.get_mut(&key) {
                same.remove(&session);
                if same.is_empty() {
                    inner.by_instance.remove(&key);
                }
            }
            self.index_write().disconnect(session, s.last_heartbeat_ms);
        }
        drop(inner);
        self.changed();
        gone
    }

    /// Notes life (a frame or a pong) on a connection.
    pub fn heartbeat(&self, session: SessionNo, now_ms: i64) {
        if let Some(l) = self.write().live.get_mut(&session) {
            l.summary.last_heartbeat_ms = now_ms;
        }
    }

    /// Keeps an agent's counters.
    pub fn stats(&self, session: SessionNo, stats: AgentStats) {
        if let Some(l) = self.write().live.get_mut(&session) {
            l.summary.stats = Some(stats);
        }
    }

    /// Takes one `class_loads` frame. A sequence error means the connection must close; an
    /// invalid reference leaves the registry exactly as it was.
    pub fn ingest(&self, session: SessionNo, frame: &ClassLoads) -> Result<(), IngestError> {
        // The gateway notes a heartbeat as each frame arrives: that is the frame's time.
        let Some(now_ms) = self
            .read()
            .live
            .get(&session)
            .map(|l| l.summary.last_heartbeat_ms)
        else {
            return Ok(());
        };
        let loads: Vec<LoadRef<'_, _>> = frame
            .loads
            .iter()
            .map(|l| LoadRef {
                artifact: l.artifact,
                count: l.count,
                names: l.classes.as_slice(),
            })
            .collect();
        let prepared = self
            .index_read()
            .prepare(session, frame.seq, &frame.artifacts, &loads)?;
        let Some(prepared) = prepared else {
            return Ok(());
        };
        let Some(counts) = self.index_write().apply(prepared, now_ms)? else {
            return Ok(());
        };
        if let Some(live) = self.write().live.get_mut(&session) {
            live.summary.artifacts = counts.artifacts;
            live.summary.classes_loaded = counts.classes;
            if frame.initial_done {
                live.summary.initial_done = true;
            }
        }
        self.changed();
        Ok(())
    }

    /// Queues a message for one connection. A full outbox means the agent does not read
    /// what it is sent: it is closed as a slow reader rather than allowed to hold memory.
    pub fn send_to(&self, session: SessionNo, text: String) -> bool {
        let inner = self.read();
        inner
            .live
            .get(&session)
            .is_some_and(|live| live.queue(text))
    }

    /// Queues `text` for every connection `pick` chooses, under one read lock: a fan-out to
    /// the whole fleet copies no summaries and sorts nothing (it was most of an action's
    /// create request at 10,000 agents). Answers who was chosen, and whether each send was
    /// queued (see [`Registry::send_to`]).
    pub fn send_to_each(&self, text: &str, pick: impl Fn(&AgentSummary) -> bool) -> Vec<Sent> {
        let inner = self.read();
        inner
            .live
            .values()
            .filter(|l| pick(&l.summary))
            .map(|l| Sent {
                agent_id: l.summary.hello.agent_id.clone(),
                display_name: l.summary.hello.display_name.clone(),
                queued: l.queue(text.to_string()),
            })
            .collect()
    }

    /// Every connected agent.
    pub fn list(&self) -> Vec<AgentSummary> {
        let mut all: Vec<AgentSummary> = self
            .read()
            .live
            .values()
            .map(|l| l.summary.clone())
            .collect();
        all.sort_by(|a, b| {
            a.hello
                .display_name
                .cmp(&b.hello.display_name)
                .then(a.session.cmp(&b.session))
        });
        all
    }

    /// The newest live connection of an agent.
    pub fn find(&self, agent_id: &str) -> Option<AgentSummary> {
        self.read()
            .live
            .values()
            .filter(|l| l.summary.hello.agent_id == agent_id)
            .max_by_key(|l| l.summary.session)
            .map(|l| l.summary.clone())
    }

    /// The artifacts of a connection, with up to `max_names` class names each, sorted with
    /// loaded artifacts first.
    pub fn artifacts(&self, session: SessionNo, max_names: usize) -> Vec<ArtifactView> {
        self.index_read().artifacts(session, max_names)
    }

    /// How many distinct agents (by id: two processes with one id count once) are connected
    /// to one of `pools`, or to any pool (`None`).
    pub fn connected_agents(&self, pools: Option<&BTreeSet<String>>) -> usize {
        let inner = self.read();
        match pools {
            None => inner.counts.all(),
            Some(pools) => inner.counts.in_pools(pools),
        }
    }

    /// How many distinct agents are connected to a pool.
    pub fn count_in_pool(&self, pool_id: &str) -> usize {
        self.read().counts.in_pool(pool_id)
    }

    /// How many agents are connected.
    pub fn len(&self) -> usize {
        self.read().live.len()
    }

    /// Whether no agent is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct interned names (for diagnostics and benchmarks).
    pub fn distinct_names(&self) -> usize {
        self.index_read().stats().names
    }

    /// Asks every live connection of an agent to close; answers how many were asked.
    pub fn disconnect_agent(&self, agent_id: &str, reason: CloseReason) -> usize {
        self.kick_where(reason, |s| s.hello.agent_id == agent_id)
    }

    /// Asks every agent of a pool to close (pool detached or deleted).
    pub fn disconnect_pool(&self, pool_id: &str, reason: CloseReason) -> usize {
        self.kick_where(reason, |s| s.pool_id == pool_id)
    }

    /// Asks every agent to close (shutdown).
    pub fn disconnect_all(&self, reason: CloseReason) -> usize {
        self.kick_where(reason, |_| true)
    }

    fn kick_where(&self, reason: CloseReason, pick: impl Fn(&AgentSummary) -> bool) -> usize {
        self.read()
            .live
            .values()
            .filter(|l| pick(&l.summary))
            .filter(|l| l.kick.try_send(reason).is_ok())
            .count()
    }
}
