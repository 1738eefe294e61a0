//! Durable write throughput of the store's group-commit writer (QUALITY.md P4).
//!
//! Both sides use the same `Store` on the same disk in the same run, one row per write, and
//! every row is acknowledged only once durable:
//! - single: one writer at a time, so every row is its own durable commit (the baseline);
//! - group: 64 concurrent writers, each waiting for its acknowledgement before writing again,
//!   so the writer commits them in groups.
//!
//! Criterion reports rows per second for each; then three rounds of interleaved slices (about a
//! second per side) measure the ratio group/single, and the median is printed as
//! `group-commit ratio: NN.Nx (target >= 40x)`. The whole run takes about 20 s plus the build.
//! The store lives under `CARGO_TARGET_TMPDIR` (a real disk, not tmpfs, where fsync is free).

use std::error::Error;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use lantern::store::{Store, StoreError, StoreOptions, Table};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

const ROWS: Table = Table::new("bench_rows_v1");
/// Concurrent writers on the group side.
const WRITERS: u64 = 64;
/// The P4 target.
const TARGET_RATIO: f64 = 40.0;
/// A row about the size of an audit event.
const VALUE: [u8; 120] = [0x5a; 120];

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// Writes one row under a fresh key; answers when it is durable.
async fn write_row(store: &Store, seq: &AtomicU64) -> Result<(), StoreError> {
    let key = seq.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    store
        .write(move |tx| tx.put(&ROWS, black_box(&key), black_box(&VALUE)))
        .await
}

/// `rows` writes, one at a time: each is its own durable commit.
async fn single_commits(store: &Store, seq: &Arc<AtomicU64>, rows: u64) -> BenchResult<Duration> {
    let started = Instant::now();
    for _ in 0..rows {
        write_row(store, seq).await?;
    }
    Ok(started.elapsed())
}

/// `WRITERS` concurrent writers, each writing `per_writer` rows one after the other.
async fn group_commits(
    store: &Store,
    seq: &Arc<AtomicU64>,
    per_writer: u64,
) -> BenchResult<Duration> {
    let started = Instant::now();
    let mut writers = JoinSet::new();
    for _ in 0..WRITERS {
        let store = store.clone();
        let seq = Arc::clone(seq);
        writers.spawn(async move {
            for _ in 0..per_writer {
                write_row(&store, &seq).await?;
            }
            Ok::<(), StoreError>(())
        });
    }
    while let Some(done) = writers.join_next().await {
        done??;
    }
    Ok(started.elapsed())
}

/// Inside criterion's timing closures there is no `?`: report and stop.
fn or_exit(result: BenchResult<Duration>) -> Duration {
    result.unwrap_or_else(|e| {
        eprintln!("store_commit bench failed: {e}");
        std::process::exit(1)
    })
}

fn rate(rows: u64, took: Duration) -> f64 {
    rows as f64 / took.as_secs_f64().max(1e-9)
}

/// Single commits for about `span`: answers rows written and time taken.
async fn single_for(
    store: &Store,
    seq: &Arc<AtomicU64>,
    span: Duration,
) -> BenchResult<(u64, Duration)> {
    let started = Instant::now();
    let mut rows = 0;
    while started.elapsed() < span {
        write_row(store, seq).await?;
        rows += 1;
    }
    Ok((rows, started.elapsed()))
}

/// `WRITERS` concurrent writers for about `span`: answers rows written and time taken (until
/// the last writer's last acknowledgement).
async fn group_for(
    store: &Store,
    seq: &Arc<AtomicU64>,
    span: Duration,
) -> BenchResult<(u64, Duration)> {
    let started = Instant::now();
    let rows = Arc::new(AtomicU64::new(0));
    let mut writers = JoinSet::new();
    for _ in 0..WRITERS {
        let store = store.clone();
        let seq = Arc::clone(seq);
        let rows = Arc::clone(&rows);
        writers.spawn(async move {
            while started.elapsed() < span {
                write_row(&store, &seq).await?;
                rows.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), StoreError>(())
        });
    }
    while let Some(done) = writers.join_next().await {
        done??;
    }
    Ok((rows.load(Ordering::Relaxed), started.elapsed()))
}

/// Three rounds; each interleaves five 200 ms slices of single commits with five of group
/// commits, so a drift in the disk's fsync latency (the machine is shared) hits both sides
/// alike. Answers the median of the rounds' ratios.
fn same_run_ratio(rt: &Runtime, store: &Store, seq: &Arc<AtomicU64>) -> BenchResult<f64> {
    const SLICE: Duration = Duration::from_millis(200);
    const SLICES: usize = 5;
    let mut ratios = Vec::new();
    for round in 1..=3 {
        let (mut single_rows, mut single_time) = (0u64, Duration::ZERO);
        let (mut group_rows, mut group_time) = (0u64, Duration::ZERO);
        let (mut group_commits, mut group_jobs) = (0u64, 0u64);
        let (mut single_commits, mut single_commit_time) = (0u64, Duration::ZERO);
        let (mut group_commit_time, mut linger_time) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..SLICES {
            let start = store.writer_stats();
            let (rows, took) = rt.block_on(single_for(store, seq, SLICE))?;
            let middle = store.writer_stats();
            single_rows += rows;
            single_time += took;
            single_commits += middle.commits.saturating_sub(start.commits);
            single_commit_time += middle.commit_time.saturating_sub(start.commit_time);
            let (rows, took) = rt.block_on(group_for(store, seq, SLICE))?;
            let end = store.writer_stats();
            group_rows += rows;
            group_time += took;
            group_commits += end.commits.saturating_sub(middle.commits);
            group_jobs += end.committed_jobs.saturating_sub(middle.committed_jobs);
            group_commit_time += end.commit_time.saturating_sub(middle.commit_time);
            linger_time += end.linger_time.saturating_sub(middle.linger_time);
        }
        let single = rate(single_rows, single_time);
        let group = rate(group_rows, group_time);
        let ms_per = |d: Duration, n: u64| d.as_secs_f64() * 1e3 / n.max(1) as f64;
        println!(
            "round {round}: single {single:.0} rows/s ({:.2} ms per commit), group ({WRITERS} \
             writers) {group:.0} rows/s ({:.1} rows, {:.2} ms in commit and {:.2} ms lingering \
             per commit), ratio {:.1}x",
            ms_per(single_commit_time, single_commits),
            group_jobs as f64 / group_commits.max(1) as f64,
            ms_per(group_commit_time, group_commits),
            ms_per(linger_time, group_commits),
            group / single
        );
        ratios.push(group / single);
    }
    ratios.sort_by(f64::total_cmp);
    ratios
        .get(ratios.len() / 2)
        .copied()
        .ok_or_else(|| "no rounds ran".into())
}

fn main() -> BenchResult<()> {
    let dir = tempfile::Builder::new()
        .prefix("store-commit-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let store = Store::open(&dir.path().join("bench.redb"), StoreOptions::default())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let seq = Arc::new(AtomicU64::new(0));

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    {
        let mut group = c.benchmark_group("store_commit");
        group.throughput(Throughput::Elements(1));
        group.bench_function("single_durable_commit", |b| {
            b.iter_custom(|iters| or_exit(rt.block_on(single_commits(&store, &seq, iters))));
        });
        group.throughput(Throughput::Elements(WRITERS));
        group.bench_function("group_commit_64_writers", |b| {
            b.iter_custom(|iters| or_exit(rt.block_on(group_commits(&store, &seq, iters))));
        });
        group.finish();
    }
    c.final_summary();

    // `cargo test --benches` runs each benchmark once to check it works; skip the timed rounds.
    if std::env::args().any(|a| a == "--test") {
        store.close()?;
        return Ok(());
    }
    let ratio = same_run_ratio(&rt, &store, &seq)?;
    let stats = store.writer_stats();
    println!(
        "writer: {} commits, {} rows, largest batch {}",
        stats.commits, stats.committed_jobs, stats.largest_batch
    );
    println!("group-commit ratio: {ratio:.1}x (target >= {TARGET_RATIO:.0}x)");
    store.close()?;
    Ok(())
}
