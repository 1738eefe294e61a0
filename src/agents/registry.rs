//! The live registry: which agents are connected right now, what they told us in `hello`,
//! and the artifacts and classes of their current connection. In memory only (the history of
//! agents lives in the store, see `history.rs`); rebuilt by the agents themselves, because
//! every reconnect resends the full state.
//!
//! One `RwLock` guards the map; every operation holds it for a short, bounded piece of work
//! (one frame's worth), so pages read a consistent picture without stalling ingest for long.
//! Class names are interned: thousands of JVMs load the same library classes.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::{mpsc, watch};

use super::protocol::{AgentStats, Artifact, ArtifactKind, ClassLoads, CloseReason, Hello};

/// A session number, unique for the life of the process.
pub type SessionNo = u64;

/// Class and module names, each stored once, referred to by number.
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Interner {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let name: Arc<str> = Arc::from(name);
        self.names.push(Arc::clone(&name));
        self.ids.insert(name, id);
        id
    }

    fn name(&self, id: u32) -> Option<&Arc<str>> {
        self.names.get(id as usize)
    }
}

/// What the registry knows of one artifact of one connection.
#[derive(Debug, Clone)]
pub struct ArtifactState {
    /// As declared by the agent.
    pub declared: Artifact,
    /// Interned names of the classes loaded from it.
    classes: Vec<u32>,
    /// For runtime artifacts: classes loaded, as counted by the agent.
    pub runtime_count: u64,
}

impl ArtifactState {
    /// Whether any class was loaded from it (present-only artifacts have none).
    pub fn loaded(&self) -> bool {
        !self.classes.is_empty() || self.runtime_count > 0
    }

    /// How many classes were loaded from it.
    pub fn class_count(&self) -> u64 {
        if self.declared.kind == ArtifactKind::Runtime {
            self.runtime_count
        } else {
            self.classes.len() as u64
        }
    }
}

/// One connected agent.
#[derive(Debug)]
struct Live {
    summary: AgentSummary,
    artifacts: HashMap<u32, ArtifactState>,
    /// Names already recorded per artifact, so a repeated load is not counted twice.
    seen: HashSet<(u32, u32)>,
    last_seq: u64,
    kick: mpsc::Sender<CloseReason>,
    outbox: mpsc::Sender<String>,
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

/// One artifact of an agent, with its class names, for the agent page.
#[derive(Debug, Clone)]
pub struct ArtifactView {
    /// As declared.
    pub declared: Artifact,
    /// Classes loaded (runtime: the count).
    pub class_count: u64,
    /// Up to the asked number of class names, sorted.
    pub classes: Vec<Arc<str>>,
}

/// Why a `class_loads` frame was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// `seq` did not follow the previous frame: the connection must close.
    #[error("seq {got} does not follow {last}")]
    Sequence {
        /// The previous frame's seq.
        last: u64,
        /// This frame's.
        got: u64,
    },
    /// The frame refers to something not declared; the frame is ignored.
    #[error("{0}")]
    Invalid(String),
}

/// The registry of connected agents. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Registry {
    inner: RwLock<Inner>,
    changes: watch::Sender<u64>,
    next_session: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    live: HashMap<SessionNo, Live>,
    names: Interner,
}

/// Most class names kept per connection: far above any real JVM (PetClinic loads ~21,000),
/// low enough that one agent cannot fill the appliance's memory.
pub const MAX_CLASSES_PER_AGENT: usize = 200_000;
/// Most artifacts kept per connection.
pub const MAX_ARTIFACTS_PER_AGENT: usize = 20_000;

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
            changes: watch::channel(0).0,
            next_session: AtomicU64::new(1),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind: keep serving it.
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn changed(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
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
        let mut inner = self.write();
        for old in inner.live.values() {
            if old.summary.hello.agent_id == summary.hello.agent_id
                && old.summary.hello.instance_id == summary.hello.instance_id
            {
                let _ = old.kick.try_send(CloseReason::Replaced);
            }
        }
        inner.live.insert(
            summary.session,
            Live {
                summary,
                artifacts: HashMap::new(),
                seen: HashSet::new(),
                last_seq: 0,
                kick,
                outbox,
            },
        );
        drop(inner);
        self.changed();
    }

    /// Removes a connection; answers what it was.
    pub fn remove(&self, session: SessionNo) -> Option<AgentSummary> {
        let gone = self.write().live.remove(&session).map(|l| l.summary);
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
        let mut guard = self.write();
        let inner = &mut *guard;
        let Some(live) = inner.live.get_mut(&session) else {
            return Ok(());
        };
        if frame.seq != live.last_seq.saturating_add(1) {
            return Err(IngestError::Sequence {
                last: live.last_seq,
                got: frame.seq,
            });
        }
        // Check the whole frame first, so that a bad one changes nothing.
        let new_refs: HashSet<u32> = frame.artifacts.iter().map(|a| a.id).collect();
        if new_refs.len() != frame.artifacts.len() {
            return Err(IngestError::Invalid(
                "an artifact ref is declared twice in one frame".into(),
            ));
        }
        if let Some(dup) = frame
            .artifacts
            .iter()
            .find(|a| live.artifacts.contains_key(&a.id))
        {
            return Err(IngestError::Invalid(format!(
                "artifact {} was already declared on this connection",
                dup.id
            )));
        }
        if live.artifacts.len() + frame.artifacts.len() > MAX_ARTIFACTS_PER_AGENT {
            return Err(IngestError::Invalid(format!(
                "more than {MAX_ARTIFACTS_PER_AGENT} artifacts on one connection"
            )));
        }
        let known = |r: u32| live.artifacts.contains_key(&r) || new_refs.contains(&r);
        if let Some(bad) = frame
            .artifacts
            .iter()
            .filter_map(|a| a.parent)
            .chain(frame.loads.iter().map(|l| l.artifact))
            .find(|r| !known(*r))
        {
            return Err(IngestError::Invalid(format!(
                "artifact {bad} is not declared on this connection"
            )));
        }
        live.last_seq = frame.seq;
        for a in &frame.artifacts {
            live.artifacts.insert(
                a.id,
                ArtifactState {
                    declared: a.clone(),
                    classes: Vec::new(),
                    runtime_count: 0,
                },
            );
        }
        for load in &frame.loads {
            let Some(art) = live.artifacts.get_mut(&load.artifact) else {
                continue;
            };
            if let Some(count) = load.count {
                art.runtime_count = art.runtime_count.max(count);
            }
            for name in &load.classes {
                if live.seen.len() >= MAX_CLASSES_PER_AGENT {
                    break;
                }
                let id = inner.names.intern(name);
                if live.seen.insert((load.artifact, id)) {
                    art.classes.push(id);
                }
            }
        }
        live.summary.artifacts = live.artifacts.len();
        live.summary.classes_loaded = live
            .artifacts
            .values()
            .map(ArtifactState::class_count)
            .sum();
        if frame.initial_done {
            live.summary.initial_done = true;
        }
        drop(guard);
        self.changed();
        Ok(())
    }

    /// Queues a message for one connection. A full outbox means the agent does not read
    /// what it is sent: it is closed as a slow reader rather than allowed to hold memory.
    pub fn send_to(&self, session: SessionNo, text: String) -> bool {
        let inner = self.read();
        let Some(live) = inner.live.get(&session) else {
            return false;
        };
        match live.outbox.try_send(text) {
            Ok(()) => true,
            Err(_) => {
                let _ = live.kick.try_send(CloseReason::SlowReader);
                false
            }
        }
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
        let inner = self.read();
        let Some(live) = inner.live.get(&session) else {
            return Vec::new();
        };
        let mut out: Vec<ArtifactView> = live
            .artifacts
            .values()
            .map(|a| {
                let mut classes: Vec<Arc<str>> = a
                    .classes
                    .iter()
                    .filter_map(|id| inner.names.name(*id).cloned())
                    .collect();
                classes.sort();
                classes.truncate(max_names);
                ArtifactView {
                    declared: a.declared.clone(),
                    class_count: a.class_count(),
                    classes,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (b.class_count > 0)
                .cmp(&(a.class_count > 0))
                .then_with(|| a.declared.location.cmp(&b.declared.location))
        });
        out
    }

    /// How many agents are connected to a pool.
    pub fn count_in_pool(&self, pool_id: &str) -> usize {
        self.read()
            .live
            .values()
            .filter(|l| l.summary.pool_id == pool_id)
            .count()
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
        self.read().names.names.len()
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
