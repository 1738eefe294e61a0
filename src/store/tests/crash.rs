//! Crash consistency (QUALITY.md R1, in small): a child process writes hard with many
//! concurrent writers and prints every acknowledged write; it is killed with SIGKILL at a
//! seeded moment; the reopened store must hold every acknowledged write, no half transaction,
//! and its invariant.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::super::{Store, StoreError, StoreOptions, Table, WriteTx};
use super::dir;

const A: Table = Table::new("crash_a_v1");
const B: Table = Table::new("crash_b_v1");
const COUNTERS: Table = Table::new("crash_counters_v1");
const CHILD_DIR: &str = "LANTERN_STORE_CRASH_DIR";
const CHILD_CYCLE: &str = "LANTERN_STORE_CRASH_CYCLE";
const CYCLES: u64 = 6;

/// One transaction: a row in A, the same key in B, and x += amount, y -= amount.
fn write_pair(tx: &mut WriteTx<'_>, key: &[u8], amount: i64) -> Result<(), StoreError> {
    let x: i64 = tx.get_json(&COUNTERS, b"x")?.unwrap_or(0);
    let y: i64 = tx.get_json(&COUNTERS, b"y")?.unwrap_or(0);
    tx.put_json(&COUNTERS, b"x", &(x + amount))?;
    tx.put(&A, key, b"a")?;
    tx.put(&B, key, &[0x42; 300])?;
    tx.put_json(&COUNTERS, b"y", &(y - amount))
}

/// The child: writes until killed (or 30 s, so it can never run away) and prints `ACK key`
/// after each acknowledged write. Does nothing unless started by the parent test.
#[test]
#[ignore = "started as a child process by kill_9_during_heavy_writes_loses_no_acknowledged_write"]
fn crash_child() {
    let (Some(dir), Some(cycle)) = (std::env::var_os(CHILD_DIR), std::env::var_os(CHILD_CYCLE))
    else {
        return;
    };
    let cycle = cycle.to_string_lossy().into_owned();
    let store = Store::open(&Path::new(&dir).join("store.redb"), StoreOptions::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        for t in 0..24i64 {
            let store = store.clone();
            let cycle = cycle.clone();
            tokio::spawn(async move {
                for n in 0..1_000_000i64 {
                    let key = format!("{cycle}/{t:02}/{n:07}");
                    let k = key.clone().into_bytes();
                    store
                        .write(move |tx| write_pair(tx, &k, t * 1000 + n))
                        .await
                        .unwrap();
                    println!("ACK {key}");
                }
            });
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
}

/// Kills the child if the parent fails before it does.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn kill_9_during_heavy_writes_loses_no_acknowledged_write() {
    let dir = dir();
    let path = dir.path().join("store.redb");
    let exe = std::env::current_exe().unwrap();
    for cycle in 0..CYCLES {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store::tests::crash::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_CYCLE, cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut child = Reap(child);
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(key) = line.strip_prefix("ACK ") {
                    let _ = tx.send(key.to_string());
                }
            }
        });
        // Kill at a seeded moment once the writes are flowing.
        let mut acked = vec![rx.recv_timeout(Duration::from_secs(20)).unwrap()];
        std::thread::sleep(Duration::from_millis(20 + (cycle * 7919) % 150));
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        reader.join().unwrap();
        acked.extend(rx.try_iter());

        let started = Instant::now();
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        let reopen = started.elapsed();
        let (a_rows, x_plus_y) = store
            .read_blocking(move |tx| {
                for key in &acked {
                    assert!(
                        tx.get(&A, key.as_bytes())?.is_some(),
                        "acknowledged {key} lost"
                    );
                    assert!(
                        tx.get(&B, key.as_bytes())?.is_some(),
                        "acknowledged {key} half lost"
                    );
                }
                let a = tx.scan_range(&A, b"", usize::MAX)?;
                let b = tx.scan_range(&B, b"", usize::MAX)?;
                let a_keys: Vec<&Vec<u8>> = a.iter().map(|(k, _)| k).collect();
                let b_keys: Vec<&Vec<u8>> = b.iter().map(|(k, _)| k).collect();
                assert_eq!(a_keys, b_keys, "half a transaction survived");
                let x: i64 = tx.get_json(&COUNTERS, b"x")?.unwrap_or(0);
                let y: i64 = tx.get_json(&COUNTERS, b"y")?.unwrap_or(0);
                Ok((a.len(), x + y))
            })
            .unwrap();
        assert_eq!(x_plus_y, 0, "the counters' invariant broke");
        eprintln!(
            "crash cycle {cycle}: {a_rows} rows, file {} KiB, reopen after kill -9 took {reopen:?}",
            store.file_size() / 1024
        );
        store.close().unwrap();
    }
}
