//! The reachability index on its hot path (QUALITY.md P2), in process: the start-up states of
//! simulated JVMs (the fleet bench's workload: names Zipf-drawn from 4,000 shared libraries
//! plus 10 % application classes, `--classes` per JVM, spread over 64 application profiles),
//! decoded beforehand into `class_loads` frames of `--frame-kib` (≥ 100 names each), then
//! ingested through `Registry::ingest`, the appliance's own code path (locks, sequence and
//! reference checks, the index).
//!
//! Printed, as the median of `--runs`:
//! 1. class-load events per CPU-second of the process for the registry, and as the same
//!    run's baseline a plain `HashSet<String>` taking the same names (lookup, and an owned
//!    copy for each new one), with the ratio;
//! 2. the interner's heap bytes per distinct name against the bytes of the distinct names
//!    themselves (P2: ≤ 2×), and the shared class lists' entries.
//!
//! ```sh
//! cargo bench --bench reach                                  # 500 JVMs × 21,000 classes
//! cargo bench --bench reach -- --agents 200 --frame-kib 8    # ~150-name frames
//! ```
//!
//! Then criterion times one interner lookup of a known name and of an unknown one.
// A benchmark is a measuring harness, not product code: a broken setup should stop it loudly.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};

use criterion::Criterion;
use lantern::agents::protocol::{
    self, AgentMessage, Artifact, ArtifactKind, ClassLoads, CoordinateSource, Coordinates, Hello,
    LIMITS, Load, Runtime,
};
use lantern::agents::registry::{AgentSummary, Registry};
use lantern::reach::Interner;
use serde_json::json;
use tokio_tungstenite::tungstenite::Utf8Bytes;

#[path = "common/workload.rs"]
#[allow(dead_code)]
mod workload;

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat`.
fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

struct Options {
    agents: usize,
    classes: usize,
    frame_kib: usize,
    runs: usize,
}

fn options() -> Options {
    let mut o = Options {
        agents: 500,
        classes: 21_000,
        frame_kib: 64,
        runs: 3,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = || args.get(i + 1).and_then(|v| v.parse().ok());
        match args[i].as_str() {
            "--agents" => o.agents = value().expect("--agents N"),
            "--classes" => o.classes = value().expect("--classes N"),
            "--frame-kib" => o.frame_kib = value().expect("--frame-kib N"),
            "--runs" => o.runs = value().expect("--runs N"),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

const PROFILES: usize = 64;

fn summary(session: u64) -> AgentSummary {
    let hello = workload::hello(session as usize, 0, Ipv4Addr::LOCALHOST, "b");
    let Ok(AgentMessage::Hello(hello)) = protocol::decode(hello.as_str()) else {
        panic!("the workload's hello decodes");
    };
    workload::summary(session, &hello)
}

struct Run {
    events: usize,
    index_rate: f64,
    baseline_rate: f64,
    names: usize,
    name_bytes: usize,
    interner_bytes: usize,
    list_entries: usize,
    min_batch: usize,
}

fn one_run(o: &Options, frames: &[Vec<ClassLoads>]) -> Run {
    let registry = Registry::new();
    let mut sessions = Vec::new();
    for g in 0..o.agents {
        let (kick, kicked) = tokio::sync::mpsc::channel(1);
        let (outbox, outgoing) = tokio::sync::mpsc::channel(1);
        let session = g as u64 + 1;
        registry.register(summary(session), kick, outbox);
        sessions.push((kicked, outgoing));
    }
    let events: usize = (0..o.agents)
        .map(|g| {
            frames[g % PROFILES]
                .iter()
                .flat_map(|f| &f.loads)
                .map(|l| l.classes.len())
                .sum::<usize>()
        })
        .sum();
    let min_batch = frames
        .iter()
        .flat_map(|fs| fs.iter().take(fs.len().saturating_sub(1)))
        .map(|f| f.loads.iter().map(|l| l.classes.len()).sum::<usize>())
        .min()
        .unwrap_or(0);

    let cpu = process_cpu_secs();
    for g in 0..o.agents {
        for frame in &frames[g % PROFILES] {
            registry
                .ingest(g as u64 + 1, frame)
                .expect("the workload's frames are valid");
        }
    }
    let index_secs = process_cpu_secs() - cpu;

    let cpu = process_cpu_secs();
    let mut set: HashSet<String> = HashSet::new();
    for g in 0..o.agents {
        for frame in &frames[g % PROFILES] {
            for load in &frame.loads {
                for name in &load.classes {
                    if !set.contains(name.as_str()) {
                        set.insert(name.clone());
                    }
                }
            }
        }
    }
    black_box(set.len());
    let baseline_secs = process_cpu_secs() - cpu;

    let stats = registry.with_index(|i| i.stats());
    assert_eq!(
        stats.names,
        set.len(),
        "the index and the baseline saw the same names"
    );
    let name_bytes: usize = set.iter().map(String::len).sum();
    assert_eq!(stats.name_bytes, name_bytes);
    drop(sessions);
    Run {
        events,
        index_rate: events as f64 / index_secs.max(0.01),
        baseline_rate: events as f64 / baseline_secs.max(0.01),
        names: stats.names,
        name_bytes: stats.name_bytes,
        interner_bytes: stats.interner_bytes,
        list_entries: stats.list_entries,
        min_batch,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let o = options();
    let frames: Vec<Vec<ClassLoads>> = (0..PROFILES)
        .map(|p| {
            let (texts, _) = workload::frames(p, &workload::profile(p, o.classes), o.frame_kib);
            texts
                .iter()
                .map(|t| match protocol::decode(t.as_str()) {
                    Ok(AgentMessage::ClassLoads(c)) => c,
                    other => panic!("a workload frame decodes: {other:?}"),
                })
                .collect()
        })
        .collect();
    println!(
        "reach: {} JVMs × {} classes over {PROFILES} profiles, frames of ≤ {} KiB, {} runs",
        o.agents, o.classes, o.frame_kib, o.runs
    );
    let mut runs = Vec::new();
    for r in 0..o.runs.max(1) {
        let run = one_run(&o, &frames);
        println!(
            "run {}: {} events; registry {:.0} events/CPU-s; HashSet<String> baseline {:.0}; ratio {:.2}×; \
             {} distinct names, {:.1} bytes each, interner {:.1} bytes each ({:.2}× the names); \
             {} shared-list entries; smallest frame {} names",
            r + 1,
            run.events,
            run.index_rate,
            run.baseline_rate,
            run.index_rate / run.baseline_rate,
            run.names,
            run.name_bytes as f64 / run.names as f64,
            run.interner_bytes as f64 / run.names as f64,
            run.interner_bytes as f64 / run.name_bytes as f64,
            run.list_entries,
            run.min_batch,
        );
        runs.push(run);
    }
    let index = median(runs.iter().map(|r| r.index_rate).collect());
    let baseline = median(runs.iter().map(|r| r.baseline_rate).collect());
    let ratios = median(
        runs.iter()
            .map(|r| r.index_rate / r.baseline_rate)
            .collect(),
    );
    let memory = median(
        runs.iter()
            .map(|r| r.interner_bytes as f64 / r.name_bytes as f64)
            .collect(),
    );
    println!(
        "median: registry {index:.0} events/CPU-s (P2: ≥ 1,000,000); baseline {baseline:.0}; ratio {ratios:.2}×; interner {memory:.2}× the bytes of distinct names (P2: ≤ 2×)"
    );

    let mut interner = Interner::new();
    let names: Vec<String> = (0..200_000)
        .map(|i| workload::library_class(i % workload::LIBRARIES, i / workload::LIBRARIES))
        .collect();
    for n in &names {
        interner.intern(n);
    }
    // Not `configure_from_args`: the options above are this bench's own.
    let mut c = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    let mut k = 0usize;
    c.bench_function("interner_get_known", |b| {
        b.iter(|| {
            k = (k + 7919) % names.len();
            black_box(interner.get(black_box(&names[k])))
        })
    });
    c.bench_function("interner_get_unknown", |b| {
        b.iter(|| black_box(interner.get(black_box("org.example.NotThere"))))
    });
    c.final_summary();
}
