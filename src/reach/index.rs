//! The index itself: per live agent connection the artifacts it declared and the classes it
//! loaded from each; per package (purl) who declares and who loads it, first and last seen,
//! and every class ever loaded from it.
//!
//! Classes are kept as *shared lists*: each package (or, for an artifact without identity,
//! each location) has one append-only list of the class ids ever loaded from it, in first-load
//! order. JVMs running the same library load mostly the same classes in mostly the same order,
//! so a connection's classes of an artifact are "the first `prefix` entries of the shared list"
//! plus a usually empty set of positions that arrived out of order. That makes a connection's
//! class state a few bytes per artifact instead of bytes per class, and lets ingest check each
//! incoming name against the list entry it is expected to be (one comparison, sequential memory)
//! before falling back to a hash lookup.
//!
//! Ingest is two-phase so that a caller can hold a shared lock for the expensive part:
//! [`Index::prepare`] (`&self`) validates a frame and resolves its names; [`Index::apply`]
//! (`&mut self`) interns what was new and updates the state, a few operations per name.
//! Positions in a shared list never change, so what `prepare` found stays true for `apply`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::interner::Interner;
use super::purl::{PackageId, packages_of};
use crate::agents::protocol::{Artifact, ArtifactKind};

/// A connection's number (the registry's session number).
pub type Session = u64;

/// Most class names kept per connection: far above any real JVM (PetClinic loads ~21,000),
/// low enough that one agent cannot fill the appliance's memory.
pub const MAX_CLASSES_PER_AGENT: usize = 200_000;
/// Most artifacts kept per connection.
pub const MAX_ARTIFACTS_PER_AGENT: usize = 20_000;
/// Most agent ids, pools or tags remembered per package (the history shows them; the live
/// sets are not capped).
pub const MAX_HISTORY_PER_PACKAGE: usize = 10_000;
/// A package's last-seen time is written to the store again only when it moved by this much:
/// every frame touches it, and rewriting thousands of records per second would buy nothing.
pub const LAST_SEEN_STEP_MS: i64 = 60_000;

const NONE: u32 = u32::MAX;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// Who an agent connection is, as far as packages care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    /// The agent's stable id.
    pub agent_id: String,
    /// The pool it connected into.
    pub pool_id: String,
    /// Its tags.
    pub tags: Vec<String>,
}

/// One load of a frame: an artifact ref, the runtime's count, the names (any string type).
#[derive(Debug, Clone, Copy)]
pub struct LoadRef<'a, N> {
    /// The artifact's `ref` on the connection.
    pub artifact: u32,
    /// For a runtime artifact: classes loaded so far.
    pub count: Option<u64>,
    /// The class or module names.
    pub names: &'a [N],
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

/// One artifact of a connection as pages show it.
#[derive(Debug, Clone)]
pub struct ArtifactView {
    /// As declared.
    pub declared: Artifact,
    /// Classes loaded (runtime: the count).
    pub class_count: u64,
    /// Up to the asked number of class names, sorted.
    pub classes: Vec<Arc<str>>,
}

/// A connection's totals after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentCounts {
    /// Artifacts declared.
    pub artifacts: usize,
    /// Classes loaded, runtime counts included.
    pub classes: u64,
}

/// Whether a package's code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PackageStatus {
    /// Present (declared by an agent, or remembered) but no class of it loaded.
    NotLoaded,
    /// Classes of it are loaded: by a live agent, or, while no live agent has it, at some
    /// point in its history.
    Loaded,
}

/// A package as lists and the API show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRow {
    /// Its identity.
    pub id: PackageId,
    /// See [`PackageStatus`].
    pub status: PackageStatus,
    /// Live agents (ids, sorted) that load classes of it now.
    pub agents: Vec<String>,
    /// Live connections that declare it, loading or not.
    pub declared_by: usize,
    /// Pools of the live agents that load it, else (no live agent) of every agent that ever
    /// did.
    pub pools: Vec<String>,
    /// Tags, the same way.
    pub tags: Vec<String>,
    /// Unix ms it was first seen in an agent.
    pub first_seen_ms: i64,
    /// Unix ms it was last seen (now, while a live agent has it).
    pub last_seen_ms: i64,
    /// Unix ms a class of it was first loaded.
    pub first_loaded_ms: Option<i64>,
    /// Distinct classes ever loaded from it.
    pub classes_loaded: usize,
    /// Agents that ever loaded it (up to [`MAX_HISTORY_PER_PACKAGE`]).
    pub ever_agents: usize,
}

/// One live connection that has a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageAgent {
    /// The connection.
    pub session: Session,
    /// The agent's id.
    pub agent_id: String,
    /// Its pool.
    pub pool_id: String,
    /// Whether it loaded classes of the package (else it only declares it).
    pub loaded: bool,
}

/// One package with its agents and classes, for the package page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageDetail {
    /// The row.
    pub row: PackageRow,
    /// Live connections that have it, by agent id.
    pub agents: Vec<PackageAgent>,
    /// Every agent id that ever loaded it, sorted.
    pub ever_agents: Vec<String>,
    /// Up to the asked number of its loaded class names, sorted.
    pub classes: Vec<String>,
}

/// Whose view a package query answers: which agents count. Pool scoping (`ROLES.md`) and the
/// pool and tag filters of the pages are both this.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen<'a> {
    /// Only agents of these pools; `None` for every pool.
    pub pools: Option<&'a BTreeSet<String>>,
    /// Only agents carrying this tag.
    pub tag: Option<&'a str>,
}

impl Seen<'_> {
    /// Every agent.
    pub const ALL: Seen<'static> = Seen {
        pools: None,
        tag: None,
    };

    fn lets_through(&self, info: &AgentInfo) -> bool {
        self.pools.is_none_or(|p| p.contains(&info.pool_id))
            && self.tag.is_none_or(|t| info.tags.iter().any(|x| x == t))
    }

    fn is_restricted(&self) -> bool {
        self.pools.is_some() || self.tag.is_some()
    }
}

/// Sizes, for diagnostics and the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    /// Distinct names.
    pub names: usize,
    /// Bytes of those names.
    pub name_bytes: usize,
    /// Heap bytes of the interner.
    pub interner_bytes: usize,
    /// Packages known.
    pub packages: usize,
    /// Shared class lists.
    pub lists: usize,
    /// Entries of all shared lists.
    pub list_entries: usize,
    /// Live connections.
    pub agents: usize,
}

/// One shared, append-only class list.
#[derive(Debug, Default)]
pub(super) struct ClassList {
    /// Class ids in first-load order.
    pub(super) order: Vec<u32>,
    /// Class id → its position in `order`.
    pos: FastMap<u32, u32>,
    /// The package whose durable record carries this list's classes.
    pub(super) owner: Option<u32>,
    /// Entries of `order` already handed out for the store.
    pub(super) persisted: usize,
}

impl ClassList {
    /// The position of `id`, appending it if new; `None` when the list is full.
    fn position(&mut self, id: u32) -> Option<u32> {
        if let Some(p) = self.pos.get(&id) {
            return Some(*p);
        }
        let p = u32::try_from(self.order.len())
            .ok()
            .filter(|p| *p != NONE)?;
        self.order.push(id);
        self.pos.insert(id, p);
        Some(p)
    }
}

/// How a live connection uses a package.
#[derive(Debug, Default, Clone, Copy)]
struct Use {
    /// Its artifacts that are this package.
    declared: u32,
    /// Of those, the ones with classes loaded.
    loaded: u32,
}

/// What the index keeps of a package.
#[derive(Debug)]
pub(super) struct Package {
    pub(super) id: PackageId,
    pub(super) list: u32,
    pub(super) first_seen_ms: i64,
    pub(super) last_seen_ms: i64,
    pub(super) first_loaded_ms: Option<i64>,
    pub(super) pools: BTreeSet<String>,
    pub(super) tags: BTreeSet<String>,
    pub(super) agents: BTreeSet<String>,
    users: FastMap<Session, Use>,
    /// The last-seen time in the last record handed out for the store.
    pub(super) persisted_last_seen_ms: i64,
    /// Whether the record (not counting classes) changed since it was handed out.
    pub(super) meta_dirty: bool,
    /// Whether the package is in the dirty queue.
    pub(super) queued: bool,
}

/// One artifact of a live connection.
#[derive(Debug)]
struct AgentArtifact {
    declared: Artifact,
    list: u32,
    packages: Vec<u32>,
    /// The connection loaded the first `prefix` entries of the shared list...
    prefix: u32,
    /// ...and these positions beyond it.
    extras: FastSet<u32>,
    runtime_count: u64,
}

impl AgentArtifact {
    fn named(&self) -> u64 {
        u64::from(self.prefix) + self.extras.len() as u64
    }

    fn loaded(&self) -> bool {
        self.prefix > 0 || !self.extras.is_empty() || self.runtime_count > 0
    }

    fn class_count(&self) -> u64 {
        if self.declared.kind == ArtifactKind::Runtime {
            self.runtime_count
        } else {
            self.named()
        }
    }

    /// Records that the connection loaded the class at `pos`; answers whether it is new.
    fn add(&mut self, list: &ClassList, pos: u32) -> bool {
        if pos < self.prefix {
            return false;
        }
        if pos > self.prefix {
            return self.extras.insert(pos);
        }
        self.prefix = self.prefix.saturating_add(1);
        // Positions that arrived early join the prefix once the gap closes.
        while !self.extras.is_empty()
            && list.order.len() > self.prefix as usize
            && self.extras.remove(&self.prefix)
        {
            self.prefix = self.prefix.saturating_add(1);
        }
        true
    }

    fn positions(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.prefix).chain(self.extras.iter().copied())
    }
}

/// One live connection.
#[derive(Debug)]
struct Agent {
    info: AgentInfo,
    last_seq: u64,
    artifacts: FastMap<u32, AgentArtifact>,
    named: usize,
}

impl Agent {
    fn counts(&self) -> AgentCounts {
        AgentCounts {
            artifacts: self.artifacts.len(),
            classes: self
                .artifacts
                .values()
                .map(AgentArtifact::class_count)
                .sum(),
        }
    }
}

/// A frame checked and resolved against the index by [`Index::prepare`], for
/// [`Index::apply`].
#[derive(Debug)]
pub struct Prepared<'a> {
    session: Session,
    last_seq: u64,
    seq: u64,
    new: Vec<(Artifact, Vec<PackageId>)>,
    loads: Vec<PreparedLoad<'a>>,
}

#[derive(Debug)]
struct PreparedLoad<'a> {
    artifact: u32,
    count: Option<u64>,
    items: Vec<Item<'a>>,
}

/// A name with what `prepare` learnt: its id and its position in the artifact's list, each
/// `NONE` when not known yet.
#[derive(Debug, Clone, Copy)]
struct Item<'a> {
    name: &'a str,
    id: u32,
    pos: u32,
}

/// The index (see the module documentation).
#[derive(Debug, Default)]
pub struct Index {
    pub(super) names: Interner,
    pub(super) lists: Vec<ClassList>,
    list_keys: HashMap<String, u32>,
    pub(super) packages: Vec<Package>,
    package_ids: HashMap<String, u32>,
    agents: FastMap<Session, Agent>,
    pub(super) dirty: Vec<u32>,
}

/// The shared-list key of an artifact: its first package, else its location.
fn list_key(artifact: &Artifact, packages: &[PackageId]) -> String {
    match packages.first() {
        Some(p) => format!("p:{}", p.purl),
        None => format!("l:{}", artifact.location),
    }
}

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index::default()
    }

    /// Opens a connection's state (replacing any under the same number).
    pub fn connect(&mut self, session: Session, info: AgentInfo) {
        self.disconnect(session, 0);
        self.agents.insert(
            session,
            Agent {
                info,
                last_seq: 0,
                artifacts: FastMap::default(),
                named: 0,
            },
        );
    }

    /// Drops a connection's state at `now_ms`. Its packages keep their history; their last
    /// seen becomes `now_ms`.
    pub fn disconnect(&mut self, session: Session, now_ms: i64) {
        let Some(agent) = self.agents.remove(&session) else {
            return;
        };
        let mut touched: BTreeSet<u32> = BTreeSet::new();
        for art in agent.artifacts.values() {
            touched.extend(art.packages.iter().copied());
        }
        for p in touched {
            if let Some(pkg) = self.packages.get_mut(p as usize) {
                pkg.users.remove(&session);
            }
            self.touch(p, now_ms);
        }
    }

    /// Checks a frame and resolves its names without changing anything. `Ok(None)` when the
    /// connection is not known (it went away meanwhile); the frame is then dropped.
    pub fn prepare<'a, N: AsRef<str>>(
        &self,
        session: Session,
        seq: u64,
        artifacts: &[Artifact],
        loads: &[LoadRef<'a, N>],
    ) -> Result<Option<Prepared<'a>>, IngestError> {
        let Some(agent) = self.agents.get(&session) else {
            return Ok(None);
        };
        if seq != agent.last_seq.saturating_add(1) {
            return Err(IngestError::Sequence {
                last: agent.last_seq,
                got: seq,
            });
        }
        // Check the whole frame first, so that a bad one changes nothing.
        let new_refs: HashSet<u32> = artifacts.iter().map(|a| a.id).collect();
        if new_refs.len() != artifacts.len() {
            return Err(IngestError::Invalid(
                "an artifact ref is declared twice in one frame".into(),
            ));
        }
        if let Some(dup) = artifacts
            .iter()
            .find(|a| agent.artifacts.contains_key(&a.id))
        {
            return Err(IngestError::Invalid(format!(
                "artifact {} was already declared on this connection",
                dup.id
            )));
        }
        if agent.artifacts.len() + artifacts.len() > MAX_ARTIFACTS_PER_AGENT {
            return Err(IngestError::Invalid(format!(
                "more than {MAX_ARTIFACTS_PER_AGENT} artifacts on one connection"
            )));
        }
        let known = |r: u32| agent.artifacts.contains_key(&r) || new_refs.contains(&r);
        if let Some(bad) = artifacts
            .iter()
            .filter_map(|a| a.parent)
            .chain(loads.iter().map(|l| l.artifact))
            .find(|r| !known(*r))
        {
            return Err(IngestError::Invalid(format!(
                "artifact {bad} is not declared on this connection"
            )));
        }
        let new: Vec<(Artifact, Vec<PackageId>)> = artifacts
            .iter()
            .map(|a| (a.clone(), packages_of(a)))
            .collect();
        // Where each artifact's next class is expected in its shared list.
        let mut cursors: HashMap<u32, (Option<&ClassList>, u32)> = HashMap::new();
        let mut prepared = Vec::with_capacity(loads.len());
        for load in loads {
            let (list, cursor) = cursors.entry(load.artifact).or_insert_with(|| {
                match agent.artifacts.get(&load.artifact) {
                    Some(art) => (self.lists.get(art.list as usize), art.prefix),
                    None => {
                        let list = new
                            .iter()
                            .find(|(a, _)| a.id == load.artifact)
                            .and_then(|(a, p)| self.list_keys.get(&list_key(a, p)))
                            .and_then(|l| self.lists.get(*l as usize));
                        (list, 0)
                    }
                }
            });
            let mut items = Vec::with_capacity(load.names.len());
            for name in load.names {
                let name = name.as_ref();
                items.push(self.resolve(*list, cursor, name));
            }
            prepared.push(PreparedLoad {
                artifact: load.artifact,
                count: load.count,
                items,
            });
        }
        Ok(Some(Prepared {
            session,
            last_seq: agent.last_seq,
            seq,
            new,
            loads: prepared,
        }))
    }

    /// One name: first the list entry it is expected to be, then the hash lookups.
    fn resolve<'a>(&self, list: Option<&ClassList>, cursor: &mut u32, name: &'a str) -> Item<'a> {
        if let Some(list) = list {
            if let Some(id) = list.order.get(*cursor as usize)
                && self.names.name(*id) == Some(name)
            {
                let item = Item {
                    name,
                    id: *id,
                    pos: *cursor,
                };
                *cursor = cursor.saturating_add(1);
                return item;
            }
            if let Some(id) = self.names.get(name) {
                let pos = list.pos.get(&id).copied().unwrap_or(NONE);
                if pos != NONE {
                    // Expect the list's order to go on from here.
                    *cursor = pos.saturating_add(1);
                }
                return Item { name, id, pos };
            }
            return Item {
                name,
                id: NONE,
                pos: NONE,
            };
        }
        Item {
            name,
            id: self.names.get(name).unwrap_or(NONE),
            pos: NONE,
        }
    }

    /// Takes a prepared frame at `now_ms`; answers the connection's new totals (`None` when
    /// it went away meanwhile).
    pub fn apply(
        &mut self,
        prepared: Prepared<'_>,
        now_ms: i64,
    ) -> Result<Option<AgentCounts>, IngestError> {
        let session = prepared.session;
        match self.agents.get_mut(&session) {
            None => return Ok(None),
            Some(agent) if agent.last_seq != prepared.last_seq => {
                // Two frames of one connection prepared at once: only the first counts.
                return Err(IngestError::Sequence {
                    last: agent.last_seq,
                    got: prepared.seq,
                });
            }
            Some(agent) => agent.last_seq = prepared.seq,
        }
        for (artifact, packages) in prepared.new {
            self.declare(session, artifact, &packages, now_ms);
        }
        let mut became_loaded: Vec<u32> = Vec::new();
        let mut loaded_packages: BTreeSet<u32> = BTreeSet::new();
        let Index {
            names,
            lists,
            packages,
            agents,
            dirty,
            ..
        } = self;
        let Some(agent) = agents.get_mut(&session) else {
            return Ok(None);
        };
        for load in prepared.loads {
            let Some(art) = agent.artifacts.get_mut(&load.artifact) else {
                continue;
            };
            let Some(list) = lists.get_mut(art.list as usize) else {
                continue;
            };
            let was_loaded = art.loaded();
            if let Some(count) = load.count {
                art.runtime_count = art.runtime_count.max(count);
            }
            let before = list.order.len();
            for item in load.items {
                if agent.named >= MAX_CLASSES_PER_AGENT {
                    break;
                }
                let pos = if item.pos != NONE {
                    Some(item.pos)
                } else {
                    let id = if item.id != NONE {
                        Some(item.id)
                    } else {
                        names.intern(item.name)
                    };
                    id.and_then(|id| list.position(id))
                };
                if let Some(pos) = pos
                    && art.add(list, pos)
                {
                    agent.named += 1;
                }
            }
            if list.order.len() > before
                && let Some(owner) = list.owner
            {
                queue(packages, dirty, owner, false);
            }
            if art.loaded() {
                loaded_packages.extend(art.packages.iter().copied());
                if !was_loaded {
                    became_loaded.extend(art.packages.iter().copied());
                }
            }
        }
        let counts = agent.counts();
        let info = agent.info.clone();
        for p in became_loaded {
            let Some(pkg) = packages.get_mut(p as usize) else {
                continue;
            };
            pkg.users.entry(session).or_default().loaded += 1;
            let mut changed = pkg.first_loaded_ms.is_none();
            pkg.first_loaded_ms.get_or_insert(now_ms);
            changed |= remember(&mut pkg.agents, &info.agent_id);
            changed |= remember(&mut pkg.pools, &info.pool_id);
            for tag in &info.tags {
                changed |= remember(&mut pkg.tags, tag);
            }
            if changed {
                queue(packages, dirty, p, true);
            }
        }
        for p in loaded_packages {
            self.touch(p, now_ms);
        }
        Ok(Some(counts))
    }

    /// A new artifact of a connection: its packages and its shared list.
    fn declare(&mut self, session: Session, artifact: Artifact, ids: &[PackageId], now_ms: i64) {
        let key = list_key(&artifact, ids);
        let list = match self.list_keys.get(&key) {
            Some(l) => *l,
            None => {
                let l = u32::try_from(self.lists.len()).unwrap_or(NONE);
                self.lists.push(ClassList::default());
                self.list_keys.insert(key, l);
                l
            }
        };
        let mut packages = Vec::with_capacity(ids.len());
        for id in ids {
            let p = self.package(id, list, now_ms);
            if let Some(pkg) = self.packages.get_mut(p as usize) {
                pkg.users.entry(session).or_default().declared += 1;
            }
            self.touch(p, now_ms);
            packages.push(p);
        }
        if let (Some(first), Some(l)) = (packages.first(), self.lists.get_mut(list as usize))
            && l.owner.is_none()
        {
            l.owner = Some(*first);
        }
        if let Some(agent) = self.agents.get_mut(&session) {
            agent.artifacts.insert(
                artifact.id,
                AgentArtifact {
                    declared: artifact,
                    list,
                    packages,
                    prefix: 0,
                    extras: FastSet::default(),
                    runtime_count: 0,
                },
            );
        }
    }

    /// The number of the package `id`, made (first seen `now_ms`) if new.
    pub(super) fn package(&mut self, id: &PackageId, list: u32, now_ms: i64) -> u32 {
        if let Some(p) = self.package_ids.get(&id.purl) {
            return *p;
        }
        let p = u32::try_from(self.packages.len()).unwrap_or(NONE);
        self.packages.push(Package {
            id: id.clone(),
            list,
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
            first_loaded_ms: None,
            pools: BTreeSet::new(),
            tags: BTreeSet::new(),
            agents: BTreeSet::new(),
            users: FastMap::default(),
            persisted_last_seen_ms: now_ms,
            meta_dirty: false,
            queued: false,
        });
        self.package_ids.insert(id.purl.clone(), p);
        queue(&mut self.packages, &mut self.dirty, p, true);
        p
    }

    /// The shared list of a package's own classes (made for a package restored from the
    /// store before any agent declared it).
    pub(super) fn list_for(&mut self, purl: &str) -> u32 {
        let key = format!("p:{purl}");
        if let Some(l) = self.list_keys.get(&key) {
            return *l;
        }
        let l = u32::try_from(self.lists.len()).unwrap_or(NONE);
        self.lists.push(ClassList::default());
        self.list_keys.insert(key, l);
        l
    }

    /// Appends a class to a list (restoring from the store).
    pub(super) fn restore_class(&mut self, list: u32, name: &str) {
        let Some(id) = self.names.intern(name) else {
            return;
        };
        if let Some(l) = self.lists.get_mut(list as usize) {
            let _ = l.position(id);
            l.persisted = l.order.len();
        }
    }

    /// The package number of a purl.
    pub(super) fn package_no(&self, purl: &str) -> Option<u32> {
        self.package_ids.get(purl).copied()
    }

    /// Moves a package's last seen to `now_ms`, queueing its record when it moved far.
    fn touch(&mut self, p: u32, now_ms: i64) {
        let Some(pkg) = self.packages.get_mut(p as usize) else {
            return;
        };
        pkg.last_seen_ms = pkg.last_seen_ms.max(now_ms);
        if pkg.last_seen_ms.saturating_sub(pkg.persisted_last_seen_ms) >= LAST_SEEN_STEP_MS {
            queue(&mut self.packages, &mut self.dirty, p, true);
        }
    }

    /// A connection's artifacts, loaded ones first, with up to `max_names` class names each.
    pub fn artifacts(&self, session: Session, max_names: usize) -> Vec<ArtifactView> {
        let Some(agent) = self.agents.get(&session) else {
            return Vec::new();
        };
        let mut out: Vec<ArtifactView> = agent
            .artifacts
            .values()
            .map(|a| {
                let mut classes: Vec<Arc<str>> = Vec::new();
                if let Some(list) = self.lists.get(a.list as usize) {
                    classes = a
                        .positions()
                        .filter_map(|p| list.order.get(p as usize))
                        .filter_map(|id| self.names.name(*id))
                        .map(Arc::from)
                        .collect();
                }
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
                .then_with(|| a.declared.id.cmp(&b.declared.id))
        });
        out
    }

    /// A connection's totals.
    pub fn counts(&self, session: Session) -> Option<AgentCounts> {
        self.agents.get(&session).map(Agent::counts)
    }

    /// A package as `seen` sees it; `None` when nothing of it can be attributed to the agents
    /// `seen` lets through.
    ///
    /// Live connections count only when `seen` lets their agent through. With none of those,
    /// the row falls back to the package's history (the pools and tags of every agent that
    /// ever loaded it): a restricted viewer then sees it only when one of those pools is
    /// theirs, and sees its tags only when every one of those pools is, because the history
    /// does not say which tag came from which pool.
    fn row_seen(&self, pkg: &Package, now_ms: i64, seen: Seen<'_>) -> Option<PackageRow> {
        // Borrowed while walking: a package every agent uses has as many users as the fleet,
        // and an owned copy per user was most of a Reachability page at 10,000 agents.
        let mut agents: BTreeSet<&str> = BTreeSet::new();
        let mut pools: BTreeSet<&str> = BTreeSet::new();
        let mut tags: BTreeSet<&str> = BTreeSet::new();
        let mut declared_by = 0;
        for (session, u) in &pkg.users {
            let Some(a) = self.agents.get(session) else {
                continue;
            };
            if !seen.lets_through(&a.info) {
                continue;
            }
            declared_by += 1;
            if u.loaded == 0 {
                continue;
            }
            agents.insert(&a.info.agent_id);
            pools.insert(&a.info.pool_id);
            tags.extend(a.info.tags.iter().map(String::as_str));
        }
        let live = declared_by > 0;
        // The history may be shown whole only when every pool in it is the viewer's.
        let whole = seen.tag.is_none()
            && seen
                .pools
                .is_none_or(|s| pkg.pools.iter().all(|p| s.contains(p)));
        let ever_agents = if whole {
            pkg.agents.len()
        } else {
            agents.len()
        };
        let status = if live {
            if agents.is_empty() {
                PackageStatus::NotLoaded
            } else {
                PackageStatus::Loaded
            }
        } else {
            pools = pkg
                .pools
                .iter()
                .filter(|p| seen.pools.is_none_or(|s| s.contains(*p)))
                .map(String::as_str)
                .collect();
            if seen.is_restricted() {
                // A tag filter over history: only when the history's tags may be shown.
                let all_pools = pools.len() == pkg.pools.len();
                let tagged = seen.tag.is_none_or(|t| all_pools && pkg.tags.contains(t));
                if pools.is_empty() || !tagged {
                    return None;
                }
                if all_pools {
                    tags = pkg.tags.iter().map(String::as_str).collect();
                }
            } else {
                tags = pkg.tags.iter().map(String::as_str).collect();
            }
            if pkg.first_loaded_ms.is_some() {
                PackageStatus::Loaded
            } else {
                PackageStatus::NotLoaded
            }
        };
        Some(PackageRow {
            id: pkg.id.clone(),
            status,
            agents: agents.into_iter().map(str::to_string).collect(),
            declared_by,
            pools: pools.into_iter().map(str::to_string).collect(),
            tags: tags.into_iter().map(str::to_string).collect(),
            first_seen_ms: pkg.first_seen_ms,
            last_seen_ms: if live {
                pkg.last_seen_ms.max(now_ms)
            } else {
                pkg.last_seen_ms
            },
            first_loaded_ms: pkg.first_loaded_ms,
            classes_loaded: self
                .lists
                .get(pkg.list as usize)
                .map_or(0, |l| l.order.len()),
            ever_agents,
        })
    }

    /// Every package, by purl.
    pub fn packages(&self, now_ms: i64) -> Vec<PackageRow> {
        self.packages_seen(now_ms, Seen::ALL)
    }

    /// The packages `seen` may see, by purl, each with only the agents, pools and tags it
    /// lets through (see [`Seen`]).
    pub fn packages_seen(&self, now_ms: i64, seen: Seen<'_>) -> Vec<PackageRow> {
        let mut rows: Vec<PackageRow> = self
            .packages
            .iter()
            .filter_map(|p| self.row_seen(p, now_ms, seen))
            .collect();
        rows.sort_by(|a, b| a.id.purl.cmp(&b.id.purl));
        rows
    }

    /// One package with its live agents and up to `max_classes` class names.
    pub fn package_detail(
        &self,
        purl: &str,
        now_ms: i64,
        max_classes: usize,
    ) -> Option<PackageDetail> {
        self.package_detail_seen(purl, now_ms, max_classes, Seen::ALL)
    }

    /// [`Index::package_detail`] as `seen` sees it: `None` when it may not see the package;
    /// only the connections it lets through; the agents that ever loaded it only for an
    /// unrestricted viewer (the history does not say which pool each came from).
    pub fn package_detail_seen(
        &self,
        purl: &str,
        now_ms: i64,
        max_classes: usize,
        seen: Seen<'_>,
    ) -> Option<PackageDetail> {
        let pkg = self.packages.get(self.package_no(purl)? as usize)?;
        let row = self.row_seen(pkg, now_ms, seen)?;
        let mut agents: Vec<PackageAgent> = pkg
            .users
            .iter()
            .filter_map(|(session, u)| {
                let a = self.agents.get(session)?;
                seen.lets_through(&a.info).then(|| PackageAgent {
                    session: *session,
                    agent_id: a.info.agent_id.clone(),
                    pool_id: a.info.pool_id.clone(),
                    loaded: u.loaded > 0,
                })
            })
            .collect();
        agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id).then(a.session.cmp(&b.session)));
        let mut classes: Vec<String> = self
            .lists
            .get(pkg.list as usize)
            .map(|l| {
                l.order
                    .iter()
                    .filter_map(|id| self.names.name(*id))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        classes.sort();
        classes.truncate(max_classes);
        Some(PackageDetail {
            row,
            agents,
            ever_agents: if seen.is_restricted() {
                Vec::new()
            } else {
                pkg.agents.iter().cloned().collect()
            },
            classes,
        })
    }

    /// Whether the class (or module) `name` was ever loaded from the package `purl`: a hash
    /// lookup of the name and one of its position in the package's list. For the watched
    /// classes' status; not on the ingest path.
    pub fn has_class(&self, purl: &str, name: &str) -> bool {
        let Some(id) = self.names.get(name) else {
            return false;
        };
        self.package_no(purl)
            .and_then(|n| self.packages.get(n as usize))
            .and_then(|p| self.lists.get(p.list as usize))
            .is_some_and(|l| l.pos.contains_key(&id))
    }

    /// Calls `f` once per artifact of every live connection `seen` lets through that is at
    /// least one package: the connection's agent, the artifact as declared, its packages and
    /// whether classes of it are loaded. For the SBOM, which needs locations and hashes that
    /// the package rows do not keep; `f` runs under the caller's lock, so it should only
    /// copy what it needs.
    pub fn artifacts_seen(
        &self,
        seen: Seen<'_>,
        mut f: impl FnMut(&AgentInfo, &Artifact, &[&PackageId], bool),
    ) {
        let mut ids: Vec<&PackageId> = Vec::new();
        for agent in self.agents.values() {
            if !seen.lets_through(&agent.info) {
                continue;
            }
            for art in agent.artifacts.values() {
                ids.clear();
                ids.extend(
                    art.packages
                        .iter()
                        .filter_map(|p| self.packages.get(*p as usize))
                        .map(|p| &p.id),
                );
                if !ids.is_empty() {
                    f(&agent.info, &art.declared, &ids, art.loaded());
                }
            }
        }
    }

    /// Sizes.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            names: self.names.len(),
            name_bytes: self.names.name_bytes(),
            interner_bytes: self.names.memory_bytes(),
            packages: self.packages.len(),
            lists: self.lists.len(),
            list_entries: self.lists.iter().map(|l| l.order.len()).sum(),
            agents: self.agents.len(),
        }
    }
}

/// Adds to a bounded history set; answers whether it changed.
fn remember(set: &mut BTreeSet<String>, value: &str) -> bool {
    if set.len() >= MAX_HISTORY_PER_PACKAGE || set.contains(value) {
        return false;
    }
    set.insert(value.to_string())
}

/// Puts a package in the dirty queue; `meta` says its record (not only its classes) changed.
pub(super) fn queue(packages: &mut [Package], dirty: &mut Vec<u32>, p: u32, meta: bool) {
    let Some(pkg) = packages.get_mut(p as usize) else {
        return;
    };
    pkg.meta_dirty |= meta;
    if !pkg.queued {
        pkg.queued = true;
        dirty.push(p);
    }
}
