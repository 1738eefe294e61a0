//! The group-commit writer: one commit answers many callers, a failing job fails alone, the
//! window and batch bounds hold, close flushes the queue, and the linger policy.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::super::writer::{LastBatch, linger_budget};
use super::super::{Store, StoreError, StoreOptions};
use super::{Gate, THINGS, all_rows, dir, open, wait_queued};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_writers_are_all_acknowledged_and_durable() {
    let dir = dir();
    let path = dir.path().join("store.redb");
    let store = open(&path);
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(move |tx| {
                    tx.put(&THINGS, format!("k{i:03}").as_bytes(), &i.to_le_bytes())?;
                    Ok(i * 2)
                })
                .await
        }));
    }
    for (i, task) in (0u32..).zip(tasks) {
        // Each caller gets its own closure's answer.
        assert_eq!(task.await.unwrap().unwrap(), i * 2);
    }
    let stats = store.writer_stats();
    assert_eq!(stats.committed_jobs, 200);
    assert!(
        stats.commits < 200 && stats.largest_batch > 1,
        "no grouping happened: {stats:?}"
    );
    store.close().unwrap();

    let store = open(&path);
    let rows = all_rows(&store, THINGS);
    assert_eq!(rows.len(), 200);
    for (i, (k, v)) in (0u32..).zip(rows) {
        assert_eq!(k, format!("k{i:03}").into_bytes());
        assert_eq!(v, i.to_le_bytes().to_vec());
    }
}

/// Queues one async write and waits until it is in the writer's queue, so the order of the
/// batch is known.
fn queue<T: Send + 'static>(
    store: &Store,
    f: impl FnMut(&mut super::super::WriteTx<'_>) -> Result<T, StoreError> + Send + 'static,
) -> tokio::task::JoinHandle<Result<T, StoreError>> {
    let before = store.writer_stats().queued;
    let handle = tokio::spawn({
        let store = store.clone();
        async move { store.write(f).await }
    });
    wait_queued(store, before + 1);
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_panicking_job_does_not_affect_its_batch_mates() {
    let dir = dir();
    // A wide window: printing the panic (with a backtrace) may take longer than 50 ms, which
    // would rightly push the last job into another batch.
    let opts = StoreOptions {
        max_commit_window: Duration::from_secs(10),
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("store.redb"), opts).unwrap();
    let runs_a = Arc::new(AtomicUsize::new(0));

    let gate = Gate::hold(&store);
    let commits_before = store.writer_stats().commits;
    let a = queue(&store, {
        let runs_a = Arc::clone(&runs_a);
        move |tx| {
            runs_a.fetch_add(1, Ordering::SeqCst);
            tx.put(&THINGS, b"a", b"1")?;
            Ok("a")
        }
    });
    let failing = queue(&store, |tx| {
        tx.put(&THINGS, b"poison", b"1")?;
        Err::<&str, _>(StoreError::Conflict("no".into()))
    });
    let b = queue(&store, |tx| {
        // Must never see the failed job's partial write.
        if tx.get(&THINGS, b"poison")?.is_some() {
            return Err(StoreError::Internal("saw a failed job's write".into()));
        }
        tx.put(&THINGS, b"b", b"1")?;
        Ok("b")
    });
    let panicking = queue(&store, |tx| {
        tx.put(&THINGS, b"panic", b"1")?;
        if tx.len(&THINGS)? < 1_000_000 {
            panic!("boom");
        }
        Ok("never")
    });
    let c = queue(&store, |tx| {
        tx.put(&THINGS, b"c", b"1")?;
        Ok("c")
    });
    gate.release();

    assert_eq!(a.await.unwrap().unwrap(), "a");
    assert!(matches!(failing.await.unwrap(), Err(StoreError::Conflict(m)) if m == "no"));
    assert_eq!(b.await.unwrap().unwrap(), "b");
    let panicked = panicking.await.unwrap();
    assert!(
        matches!(&panicked, Err(StoreError::Internal(m)) if m.contains("boom")),
        "{panicked:?}"
    );
    assert_eq!(c.await.unwrap().unwrap(), "c");

    // The gate's own commit, then the five jobs as one batch and one commit; `a` ran again
    // after each failure.
    let stats = store.writer_stats();
    assert_eq!(stats.commits, commits_before + 2, "{stats:?}");
    assert!(stats.largest_batch >= 3, "{stats:?}");
    assert_eq!(stats.failed_jobs, 2);
    assert_eq!(runs_a.load(Ordering::SeqCst), 3);
    let keys: Vec<Vec<u8>> = all_rows(&store, THINGS)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);

    // The writer is still alive after the panic.
    store.write(|tx| tx.put(&THINGS, b"d", b"1")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_never_held_open_past_the_commit_window() {
    let dir = dir();
    let opts = StoreOptions {
        max_commit_window: Duration::from_millis(40),
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("store.redb"), opts).unwrap();
    let gate = Gate::hold(&store);
    let commits_before = store.writer_stats().commits;
    let mut jobs = Vec::new();
    for i in 0..4u8 {
        jobs.push(queue(&store, move |tx| {
            std::thread::sleep(Duration::from_millis(25));
            tx.put(&THINGS, &[i], b"1")
        }));
    }
    let released = Instant::now();
    gate.release();
    for job in jobs {
        job.await.unwrap().unwrap();
    }
    // 25 ms per job and a 40 ms window: at most two jobs per commit (the third would start at
    // 50 ms, past the window), after the gate's own commit. A loaded machine may sleep longer
    // and so commit more often; what must never happen is fewer commits than the window allows.
    let stats = store.writer_stats();
    let batches = stats.commits - commits_before - 1;
    assert!((2..=4).contains(&batches), "{stats:?}");
    assert!(released.elapsed() >= Duration::from_millis(100));
    assert_eq!(all_rows(&store, THINGS).len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_holds_at_most_max_batch_rows_jobs() {
    let dir = dir();
    let opts = StoreOptions {
        max_batch_rows: 3,
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("store.redb"), opts).unwrap();
    let gate = Gate::hold(&store);
    let commits_before = store.writer_stats().commits;
    let mut jobs = Vec::new();
    for i in 0..7u8 {
        jobs.push(queue(&store, move |tx| tx.put(&THINGS, &[i], b"1")));
    }
    gate.release();
    for job in jobs {
        job.await.unwrap().unwrap();
    }
    // The gate's own commit, then 3 + 3 + 1.
    let stats = store.writer_stats();
    assert_eq!(stats.commits, commits_before + 1 + 3, "{stats:?}");
    assert_eq!(stats.largest_batch, 3);
    assert_eq!(all_rows(&store, THINGS).len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_commits_everything_queued_before_it() {
    let dir = dir();
    let path = dir.path().join("store.redb");
    let store = open(&path);
    let gate = Gate::hold(&store);
    let mut jobs = Vec::new();
    for i in 0..50u8 {
        jobs.push(queue(&store, move |tx| tx.put(&THINGS, &[i], b"1")));
    }
    let closer = std::thread::spawn({
        let store = store.clone();
        move || store.close()
    });
    // Let close() queue its marker behind the 50 jobs before the writer goes on.
    std::thread::sleep(Duration::from_millis(50));
    gate.release();
    closer.join().unwrap().unwrap();
    for job in jobs {
        job.await.unwrap().unwrap();
    }
    assert!(matches!(
        store.write(|tx| tx.put(&THINGS, b"late", b"1")).await,
        Err(StoreError::Closed)
    ));
    let store = open(&path);
    assert_eq!(all_rows(&store, THINGS).len(), 50);
}

#[test]
fn sequential_writes_commit_one_by_one() {
    let dir = dir();
    let store = open(&dir.path().join("store.redb"));
    for i in 0..5u8 {
        store
            .write_blocking(move |tx| tx.put(&THINGS, &[i], b"1"))
            .unwrap();
    }
    let stats = store.writer_stats();
    assert_eq!((stats.commits, stats.largest_batch), (5, 1));
}

#[test]
fn linger_only_after_a_concurrent_batch_and_only_briefly() {
    let window = Duration::from_millis(50);
    let now = Instant::now();
    let last = |jobs, waiting, commit_ms, answered_ago_us| LastBatch {
        jobs,
        waiting,
        commit_took: Duration::from_millis(commit_ms),
        answered_at: now - Duration::from_micros(answered_ago_us),
    };
    // No history, or a lone writer: never wait.
    assert_eq!(linger_budget(None, now, window), None);
    assert_eq!(linger_budget(Some(&last(1, 0, 4, 10)), now, window), None);
    // A concurrent batch just answered: wait at most a quarter of its commit for as many jobs.
    assert_eq!(
        linger_budget(Some(&last(64, 0, 4, 10)), now, window),
        Some((Duration::from_millis(1), 64))
    );
    // Two cohorts (40 answered, 24 waiting): wait for all 64, so they merge again.
    assert_eq!(
        linger_budget(Some(&last(40, 24, 4, 10)), now, window),
        Some((Duration::from_millis(1), 64))
    );
    assert_eq!(
        linger_budget(Some(&last(1, 63, 4, 10)), now, window),
        Some((Duration::from_millis(1), 64))
    );
    // A quiet spell since the answers: this is a new, independent write.
    assert_eq!(
        linger_budget(Some(&last(64, 0, 4, 5_000)), now, window),
        None
    );
    // Never more than half the commit window, however slow the last commit was.
    assert_eq!(
        linger_budget(Some(&last(8, 0, 400, 10)), now, window),
        Some((Duration::from_millis(25), 8))
    );
    assert_eq!(
        linger_budget(Some(&last(8, 0, 4, 10)), now, Duration::ZERO),
        None
    );
}
