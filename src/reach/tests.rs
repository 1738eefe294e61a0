//! The index against a naive model (`BTreeMap`s and `BTreeSet`s of strings) under random
//! interleavings of connects, frames (valid or not), disconnects, failed and successful
//! writes of the durable records, and restarts rebuilt from those records.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::index::LAST_SEEN_STEP_MS;
use super::*;
use crate::agents::protocol::{Artifact, ArtifactKind, CoordinateSource, Coordinates};

const SLOTS: usize = 4;
const REFS: u32 = 6;
const CLASSES: usize = 12;

/// Artifact `r` of the catalog: refs 0–4 are jars of four packages (4 repeats package 0 under
/// another location), ref 5 a directory without identity.
fn artifact(r: u32) -> Artifact {
    let coordinates = if r == 5 {
        Vec::new()
    } else {
        vec![Coordinates {
            source: CoordinateSource::PomProperties,
            group: Some("org.example".into()),
            name: format!("lib{}", r % 4),
            version: Some("1.0".into()),
        }]
    };
    Artifact {
        id: r,
        location: format!("/app/lib/{r}.jar"),
        kind: if r == 5 {
            ArtifactKind::Directory
        } else {
            ArtifactKind::Jar
        },
        parent: None,
        sha256: None,
        coordinates,
    }
}

fn purl(r: u32) -> Option<String> {
    (r != 5).then(|| format!("pkg:maven/org.example/lib{}@1.0", r % 4))
}

fn class(r: u32, k: usize) -> String {
    // Packages 0 and 4 share names; the directory has its own.
    format!(
        "org.example.lib{}.C{k}",
        r % 4 + if r == 5 { 10 } else { 0 }
    )
}

#[derive(Debug, Clone)]
enum Op {
    Connect {
        slot: usize,
        agent: u8,
        pool: u8,
        tag: u8,
    },
    Frame {
        slot: usize,
        bad_seq: bool,
        declare: Vec<u32>,
        loads: Vec<(u32, Vec<usize>)>,
    },
    Disconnect {
        slot: usize,
    },
    FailedWrite {
        max: usize,
    },
    Write {
        max: usize,
    },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..SLOTS, 0u8..3, 0u8..2, 0u8..3)
            .prop_map(|(slot, agent, pool, tag)| Op::Connect { slot, agent, pool, tag }),
        8 => (
            0..SLOTS,
            prop::bool::weighted(0.05),
            prop::collection::vec(0..REFS, 0..3),
            prop::collection::vec((0..REFS, prop::collection::vec(0..CLASSES, 0..8)), 0..3),
        )
            .prop_map(|(slot, bad_seq, declare, loads)| Op::Frame { slot, bad_seq, declare, loads }),
        2 => (0..SLOTS).prop_map(|slot| Op::Disconnect { slot }),
        1 => (1usize..6).prop_map(|max| Op::FailedWrite { max }),
        2 => (1usize..6).prop_map(|max| Op::Write { max }),
        1 => Just(Op::Restart),
    ]
}

#[derive(Debug, Clone)]
struct ModelAgent {
    session: Session,
    agent_id: String,
    pool: String,
    tag: String,
    last_seq: u64,
    artifacts: BTreeMap<u32, BTreeSet<String>>,
}

#[derive(Debug, Clone, Default)]
struct ModelPackage {
    first_seen: i64,
    last_seen: i64,
    first_loaded: Option<i64>,
    agents: BTreeSet<String>,
    pools: BTreeSet<String>,
    tags: BTreeSet<String>,
    classes: BTreeSet<String>,
}

#[derive(Default)]
struct Model {
    slots: BTreeMap<usize, ModelAgent>,
    packages: BTreeMap<String, ModelPackage>,
    next_session: Session,
}

impl Model {
    fn touch(&mut self, purl: &str, now: i64) {
        let p = self.packages.get_mut(purl).unwrap();
        p.last_seen = p.last_seen.max(now);
    }

    fn disconnect(&mut self, slot: usize, now: i64) {
        if let Some(a) = self.slots.remove(&slot) {
            for r in a.artifacts.keys() {
                if let Some(p) = purl(*r) {
                    self.touch(&p, now);
                }
            }
        }
    }
}

/// The durable store: the two tables as sorted maps.
#[derive(Default)]
struct Stored {
    packages: BTreeMap<Vec<u8>, Vec<u8>>,
    classes: BTreeSet<Vec<u8>>,
}

impl Stored {
    fn write(&mut self, batch: &DirtyBatch) {
        for (k, v) in &batch.packages {
            self.packages.insert(k.clone(), v.clone());
        }
        self.classes.extend(batch.classes.iter().cloned());
    }

    fn rebuild(&self) -> Index {
        let mut fresh = Index::new();
        let errors = fresh.restore(
            self.packages
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice())),
            self.classes.iter().map(Vec::as_slice),
        );
        assert!(errors.is_empty(), "{errors:?}");
        fresh
    }
}

fn flush_all(index: &mut Index, stored: &mut Stored, max: usize) {
    for _ in 0..10_000 {
        let batch = index.take_dirty(max);
        if batch.is_empty() {
            return;
        }
        stored.write(&batch);
    }
    panic!("the dirty queue never empties");
}

fn frame(
    index: &mut Index,
    model: &mut Model,
    slot: usize,
    bad_seq: bool,
    declare: &[u32],
    loads: &[(u32, Vec<usize>)],
    now: i64,
) {
    let Some(agent) = model.slots.get(&slot).cloned() else {
        return;
    };
    let seq = agent.last_seq + if bad_seq { 2 } else { 1 };
    let artifacts: Vec<Artifact> = declare.iter().map(|r| artifact(*r)).collect();
    let names: Vec<Vec<String>> = loads
        .iter()
        .map(|(r, ks)| ks.iter().map(|k| class(*r, *k)).collect())
        .collect();
    let refs: Vec<LoadRef<'_, String>> = loads
        .iter()
        .zip(&names)
        .map(|((r, _), n)| LoadRef {
            artifact: *r,
            count: None,
            names: n.as_slice(),
        })
        .collect();
    let result = index
        .prepare(agent.session, seq, &artifacts, &refs)
        .and_then(|p| index.apply(p.unwrap(), now));
    // The model's verdict.
    let unique: BTreeSet<u32> = declare.iter().copied().collect();
    let valid = !bad_seq
        && unique.len() == declare.len()
        && declare.iter().all(|r| !agent.artifacts.contains_key(r))
        && loads
            .iter()
            .all(|(r, _)| agent.artifacts.contains_key(r) || unique.contains(r));
    if bad_seq {
        assert!(
            matches!(result, Err(IngestError::Sequence { .. })),
            "{result:?}"
        );
        return;
    }
    if !valid {
        assert!(matches!(result, Err(IngestError::Invalid(_))), "{result:?}");
        return;
    }
    let counts = result.unwrap().unwrap();
    let a = model.slots.get_mut(&slot).unwrap();
    a.last_seq = seq;
    for r in declare {
        a.artifacts.insert(*r, BTreeSet::new());
        if let Some(p) = purl(*r) {
            let pkg = model.packages.entry(p).or_insert_with(|| ModelPackage {
                first_seen: now,
                last_seen: now,
                ..Default::default()
            });
            pkg.last_seen = pkg.last_seen.max(now);
        }
    }
    let mut touched = Vec::new();
    for ((r, _), n) in loads.iter().zip(&names) {
        let set = a.artifacts.get_mut(r).unwrap();
        let was_loaded = !set.is_empty();
        set.extend(n.iter().cloned());
        if set.is_empty() {
            continue;
        }
        let Some(p) = purl(*r) else { continue };
        let pkg = model.packages.get_mut(&p).unwrap();
        pkg.classes.extend(n.iter().cloned());
        if !was_loaded {
            pkg.first_loaded.get_or_insert(now);
            pkg.agents.insert(a.agent_id.clone());
            pkg.pools.insert(a.pool.clone());
            pkg.tags.insert(a.tag.clone());
        }
        touched.push(p);
    }
    for p in touched {
        model.touch(&p, now);
    }
    let a = &model.slots[&slot];
    assert_eq!(counts.artifacts, a.artifacts.len());
    assert_eq!(
        counts.classes,
        a.artifacts.values().map(|s| s.len() as u64).sum::<u64>()
    );
}

fn compare(index: &Index, model: &Model, now: i64) {
    for a in model.slots.values() {
        let got: BTreeMap<u32, BTreeSet<String>> = index
            .artifacts(a.session, usize::MAX)
            .into_iter()
            .map(|v| {
                assert_eq!(v.class_count, v.classes.len() as u64);
                (
                    v.declared.id,
                    v.classes.iter().map(|c| c.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(got, a.artifacts, "artifacts of session {}", a.session);
    }
    let rows = index.packages(now);
    assert_eq!(
        rows.iter().map(|r| r.id.purl.clone()).collect::<Vec<_>>(),
        model.packages.keys().cloned().collect::<Vec<_>>()
    );
    for row in rows {
        let m = &model.packages[&row.id.purl];
        let mut declared = 0;
        let mut agents = BTreeSet::new();
        let mut pools = BTreeSet::new();
        let mut tags = BTreeSet::new();
        for a in model.slots.values() {
            let mine: Vec<&BTreeSet<String>> = a
                .artifacts
                .iter()
                .filter(|(r, _)| purl(**r).as_deref() == Some(row.id.purl.as_str()))
                .map(|(_, s)| s)
                .collect();
            if mine.is_empty() {
                continue;
            }
            declared += 1;
            if mine.iter().any(|s| !s.is_empty()) {
                agents.insert(a.agent_id.clone());
                pools.insert(a.pool.clone());
                tags.insert(a.tag.clone());
            }
        }
        let live = declared > 0;
        if !live {
            pools = m.pools.clone();
            tags = m.tags.clone();
        }
        let status = if !agents.is_empty() || (!live && m.first_loaded.is_some()) {
            PackageStatus::Loaded
        } else {
            PackageStatus::NotLoaded
        };
        assert_eq!(row.status, status, "{}", row.id.purl);
        assert_eq!(row.declared_by, declared);
        assert_eq!(row.agents, agents.into_iter().collect::<Vec<_>>());
        assert_eq!(row.pools, pools.into_iter().collect::<Vec<_>>());
        assert_eq!(row.tags, tags.into_iter().collect::<Vec<_>>());
        assert_eq!(row.first_seen_ms, m.first_seen);
        assert_eq!(row.first_loaded_ms, m.first_loaded);
        let last = if live {
            m.last_seen.max(now)
        } else {
            m.last_seen
        };
        assert_eq!(row.last_seen_ms, last, "{}", row.id.purl);
        assert_eq!(row.classes_loaded, m.classes.len());
        assert_eq!(row.ever_agents, m.agents.len());
        let detail = index.package_detail(&row.id.purl, now, usize::MAX).unwrap();
        assert_eq!(
            detail.classes,
            m.classes.iter().cloned().collect::<Vec<_>>()
        );
        assert_eq!(
            detail.ever_agents,
            m.agents.iter().cloned().collect::<Vec<_>>()
        );
        assert_eq!(detail.agents.len(), declared);
    }
}

/// After a full write, the durable view equals the model's history and survives a rebuild.
fn check_durable(index: &Index, stored: &Stored, model: &Model) -> Index {
    let fresh = stored.rebuild();
    let view = index.durable_view();
    assert_eq!(fresh.durable_view(), view, "the rebuilt index differs");
    for (record, classes) in &view {
        let m = &model.packages[&record.purl];
        assert_eq!(record.first_seen_ms, m.first_seen);
        assert_eq!(record.first_loaded_ms, m.first_loaded);
        assert!(record.last_seen_ms <= m.last_seen);
        assert!(record.last_seen_ms > m.last_seen - LAST_SEEN_STEP_MS);
        assert_eq!(record.agents, m.agents.iter().cloned().collect::<Vec<_>>());
        assert_eq!(record.pools, m.pools.iter().cloned().collect::<Vec<_>>());
        assert_eq!(record.tags, m.tags.iter().cloned().collect::<Vec<_>>());
        assert_eq!(classes, &m.classes.iter().cloned().collect::<Vec<_>>());
    }
    fresh
}

fn run(ops: Vec<Op>) {
    let mut index = Index::new();
    let mut model = Model::default();
    let mut stored = Stored::default();
    for (i, op) in ops.into_iter().enumerate() {
        let now = (i as i64 + 1) * 7_000;
        match op {
            Op::Connect {
                slot,
                agent,
                pool,
                tag,
            } => {
                if let Some(old) = model.slots.get(&slot) {
                    index.disconnect(old.session, now);
                    model.disconnect(slot, now);
                }
                model.next_session += 1;
                let a = ModelAgent {
                    session: model.next_session,
                    agent_id: format!("agent{agent}"),
                    pool: format!("pool{pool}"),
                    tag: format!("tag{tag}"),
                    last_seq: 0,
                    artifacts: BTreeMap::new(),
                };
                index.connect(
                    a.session,
                    AgentInfo {
                        agent_id: a.agent_id.clone(),
                        pool_id: a.pool.clone(),
                        tags: vec![a.tag.clone()],
                    },
                );
                model.slots.insert(slot, a);
            }
            Op::Frame {
                slot,
                bad_seq,
                declare,
                loads,
            } => frame(&mut index, &mut model, slot, bad_seq, &declare, &loads, now),
            Op::Disconnect { slot } => {
                if let Some(a) = model.slots.get(&slot) {
                    index.disconnect(a.session, now);
                    model.disconnect(slot, now);
                }
            }
            Op::FailedWrite { max } => {
                let batch = index.take_dirty(max);
                index.unflush(batch);
            }
            Op::Write { max } => {
                let batch = index.take_dirty(max);
                stored.write(&batch);
            }
            Op::Restart => {
                flush_all(&mut index, &mut stored, 4);
                index = check_durable(&index, &stored, &model);
                // Live connections die with the process; what was not written is lost
                // only within the last-seen step.
                model.slots.clear();
                for (record, _) in index.durable_view() {
                    model.packages.get_mut(&record.purl).unwrap().last_seen = record.last_seen_ms;
                }
            }
        }
        compare(&index, &model, now);
    }
    flush_all(&mut index, &mut stored, 1_000);
    check_durable(&index, &stored, &model);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn index_matches_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}

/// Two connections load the same library in different orders: each sees exactly its own
/// classes, and the shared list holds each class once.
#[test]
fn out_of_order_loads_share_one_list() {
    let mut index = Index::new();
    let info = |id: &str| AgentInfo {
        agent_id: id.into(),
        pool_id: "p".into(),
        tags: vec![],
    };
    index.connect(1, info("a"));
    index.connect(2, info("b"));
    let jar = [artifact(0)];
    let names = |ks: &[usize]| -> Vec<String> { ks.iter().map(|k| class(0, *k)).collect() };
    let a = names(&[0, 1, 2, 3]);
    let b = names(&[3, 0, 2, 5, 1]);
    for (session, n) in [(1, &a), (2, &b)] {
        let loads = [LoadRef {
            artifact: 0,
            count: None,
            names: n.as_slice(),
        }];
        let p = index.prepare(session, 1, &jar, &loads).unwrap().unwrap();
        index.apply(p, 1).unwrap();
    }
    let classes = |s| -> Vec<String> {
        index.artifacts(s, 100)[0]
            .classes
            .iter()
            .map(|c| c.to_string())
            .collect()
    };
    assert_eq!(classes(1), names(&[0, 1, 2, 3]));
    assert_eq!(classes(2), names(&[0, 1, 2, 3, 5]));
    let stats = index.stats();
    assert_eq!((stats.lists, stats.list_entries, stats.names), (1, 5, 5));
}
