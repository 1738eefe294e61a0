//! Tests of the store against real redb files in temporary directories: the API (`basic`), the
//! group-commit writer (`writer`), backup and restore (`backup`), migrations (`migrate`), a
//! model-based property test (`model`) and kill -9 crash consistency (`crash`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod backup;
mod basic;
mod crash;
mod migrate;
mod model;
mod writer;

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Row, Store, StoreOptions, Table};

/// A table for tests.
pub(super) const THINGS: Table = Table::new("things_v1");

pub(super) fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub(super) fn open(path: &Path) -> Store {
    Store::open(path, StoreOptions::default()).unwrap()
}

pub(super) fn put(store: &Store, table: Table, key: &[u8], value: &[u8]) {
    let (key, value) = (key.to_vec(), value.to_vec());
    store
        .write_blocking(move |tx| tx.put(&table, &key, &value))
        .unwrap();
}

pub(super) fn all_rows(store: &Store, table: Table) -> Vec<Row> {
    store
        .read_blocking(move |tx| tx.scan_range(&table, b"", usize::MAX))
        .unwrap()
}

/// Waits until at least `n` jobs wait in the writer's queue (bounded: fails after 10 s).
pub(super) fn wait_queued(store: &Store, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.writer_stats().queued < n {
        assert!(Instant::now() < deadline, "jobs never reached the queue");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Holds the writer inside a write closure until released, so that the jobs queued meanwhile
/// form one known batch.
pub(super) struct Gate {
    release: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Gate {
    pub(super) fn hold(store: &Store) -> Gate {
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let store = store.clone();
        let thread = std::thread::spawn(move || {
            store
                .write_blocking(move |_| {
                    let _ = started_tx.send(());
                    let _ = release_rx.recv_timeout(Duration::from_secs(10));
                    Ok(())
                })
                .unwrap();
        });
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Gate {
            release: release_tx,
            thread,
        }
    }

    pub(super) fn release(self) {
        self.release.send(()).unwrap();
        self.thread.join().unwrap();
    }
}
