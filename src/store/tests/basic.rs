//! The API: put, get, delete, scans, JSON, reopen, `InUse`, `Closed`, `QueueFull`.

use std::os::unix::fs::PermissionsExt;

use serde::{Deserialize, Serialize};

use super::super::{META, Store, StoreError, StoreOptions, Table};
use super::{Gate, THINGS, all_rows, dir, open, put, wait_queued};

const OTHER: Table = Table::new("other_v1");

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Thing {
    name: String,
    size: u32,
}

#[test]
fn put_get_delete_scan() {
    let dir = dir();
    let store = open(&dir.path().join("store.redb"));
    for key in ["a1", "a2", "a3", "b1", "c"] {
        put(
            &store,
            THINGS,
            key.as_bytes(),
            format!("v-{key}").as_bytes(),
        );
    }
    put(&store, OTHER, b"a1", b"other");

    store
        .read_blocking(|tx| {
            assert_eq!(tx.get(&THINGS, b"a2")?, Some(b"v-a2".to_vec()));
            assert_eq!(tx.get(&THINGS, b"zz")?, None);
            assert_eq!(tx.get(&OTHER, b"a1")?, Some(b"other".to_vec()));
            assert_eq!(tx.len(&THINGS)?, 5);
            let a = tx.scan_prefix(&THINGS, b"a", 100)?;
            let keys: Vec<&[u8]> = a.iter().map(|(k, _)| k.as_slice()).collect();
            assert_eq!(keys, vec![b"a1".as_slice(), b"a2", b"a3"]);
            assert_eq!(tx.scan_prefix(&THINGS, b"a", 2)?.len(), 2);
            assert_eq!(tx.scan_prefix(&THINGS, b"a", 0)?.len(), 0);
            assert_eq!(tx.scan_prefix(&THINGS, b"d", 10)?.len(), 0);
            let from_a3 = tx.scan_range(&THINGS, b"a3", 2)?;
            assert_eq!(
                from_a3,
                vec![
                    (b"a3".to_vec(), b"v-a3".to_vec()),
                    (b"b1".to_vec(), b"v-b1".to_vec())
                ]
            );
            // A table never written reads as empty rather than failing.
            let never = Table::new("never_v1");
            assert_eq!(tx.get(&never, b"x")?, None);
            assert_eq!(tx.len(&never)?, 0);
            assert!(tx.scan_prefix(&never, b"", 10)?.is_empty());
            Ok(())
        })
        .unwrap();

    let deleted = store
        .write_blocking(|tx| Ok((tx.delete(&THINGS, b"a1")?, tx.delete(&THINGS, b"a1")?)))
        .unwrap();
    assert_eq!(deleted, (true, false));
    assert_eq!(all_rows(&store, THINGS).len(), 4);
    store.close().unwrap();
}

#[test]
fn a_write_closure_sees_its_own_writes_and_scans_them() {
    let dir = dir();
    let store = open(&dir.path().join("store.redb"));
    let seen = store
        .write_blocking(|tx| {
            tx.put(&THINGS, b"k1", b"1")?;
            tx.put(&THINGS, b"k2", b"2")?;
            let got = tx.get(&THINGS, b"k1")?;
            let scanned = tx.scan_prefix(&THINGS, b"k", 10)?;
            let from = tx.scan_range(&THINGS, b"k2", 10)?;
            Ok((got, scanned.len(), from.len(), tx.len(&THINGS)?))
        })
        .unwrap();
    assert_eq!(seen, (Some(b"1".to_vec()), 2, 1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_round_trip_and_bad_json_is_codec() {
    let dir = dir();
    let store = open(&dir.path().join("store.redb"));
    let thing = Thing {
        name: "widget".into(),
        size: 7,
    };
    let stored = thing.clone();
    store
        .write(move |tx| {
            tx.put_json(&THINGS, b"w", &stored)?;
            tx.put(&THINGS, b"bad", b"{not json")
        })
        .await
        .unwrap();
    let back: Option<Thing> = store.read(|tx| tx.get_json(&THINGS, b"w")).await.unwrap();
    assert_eq!(back, Some(thing));
    let bad = store.read(|tx| tx.get_json::<Thing>(&THINGS, b"bad")).await;
    assert!(matches!(bad, Err(StoreError::Codec(_))), "{bad:?}");
    let in_write = store
        .write(|tx| tx.get_json::<Thing>(&THINGS, b"w"))
        .await
        .unwrap();
    assert_eq!(in_write.map(|t| t.size), Some(7));
}

#[test]
fn data_survives_close_and_reopen_and_the_file_is_private() {
    let dir = dir();
    let path = dir.path().join("store.redb");
    let store = open(&path);
    put(&store, THINGS, b"k", b"v");
    assert_eq!(store.schema_version(), 1);
    store.close().unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let store = open(&path);
    assert_eq!(
        all_rows(&store, THINGS),
        vec![(b"k".to_vec(), b"v".to_vec())]
    );
    let version: Option<u32> = store
        .read_blocking(|tx| tx.get_json(&META, b"schema_version"))
        .unwrap();
    assert_eq!(version, Some(1));
    assert!(store.file_size() > 0);
}

#[test]
fn a_second_open_is_in_use() {
    let dir = dir();
    let path = dir.path().join("store.redb");
    let store = open(&path);
    let second = Store::open(&path, StoreOptions::default());
    match second {
        Err(e @ StoreError::InUse { .. }) => {
            assert_eq!(
                e.to_string(),
                format!(
                    "the store at {} is in use by another process",
                    path.display()
                )
            );
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    // Once closed, the file is free again.
    store.close().unwrap();
    Store::open(&path, StoreOptions::default())
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn open_needs_an_existing_directory() {
    let dir = dir();
    let result = Store::open(
        &dir.path().join("missing/store.redb"),
        StoreOptions::default(),
    );
    assert!(matches!(result, Err(StoreError::Io(_))), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_close_everything_answers_closed() {
    let dir = dir();
    let store = open(&dir.path().join("store.redb"));
    let clone = store.clone();
    store.close().unwrap();
    store.close().unwrap();
    assert!(matches!(
        clone.write(|tx| tx.put(&THINGS, b"k", b"v")).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        clone.write_blocking(|tx| tx.put(&THINGS, b"k", b"v")),
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        clone.read(|tx| tx.len(&THINGS)).await,
        Err(StoreError::Closed)
    ));
    let backup = clone.backup_to(&dir.path().join("b.redb")).await;
    assert!(matches!(backup, Err(StoreError::Closed)), "{backup:?}");
}

#[test]
fn dropping_the_last_handle_commits_and_releases_the_file() {
    let dir = dir();
    let path = dir.path().join("store.redb");
    let store = open(&path);
    put(&store, THINGS, b"k", b"v");
    drop(store);
    let store = open(&path);
    assert_eq!(all_rows(&store, THINGS).len(), 1);
}

#[test]
fn write_blocking_inside_a_write_closure_is_refused() {
    let dir = dir();
    let store = open(&dir.path().join("store.redb"));
    let inner = store.clone();
    let result = store
        .write_blocking(move |_| Ok(inner.write_blocking(|tx| tx.put(&THINGS, b"k", b"v"))))
        .unwrap();
    assert!(matches!(result, Err(StoreError::Internal(_))), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_queue_full() {
    let dir = dir();
    let opts = StoreOptions {
        queue_bound: 1,
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("store.redb"), opts).unwrap();
    let gate = Gate::hold(&store);
    let queued = tokio::spawn({
        let store = store.clone();
        async move { store.write(|tx| tx.put(&THINGS, b"q", b"1")).await }
    });
    wait_queued(&store, 1);
    let refused = store.write(|tx| tx.put(&THINGS, b"r", b"1")).await;
    assert!(matches!(refused, Err(StoreError::QueueFull)), "{refused:?}");
    gate.release();
    queued.await.unwrap().unwrap();
    let rows = store
        .read(|tx| tx.scan_range(&THINGS, b"", 10))
        .await
        .unwrap();
    assert_eq!(rows, vec![(b"q".to_vec(), b"1".to_vec())]);
}

#[test]
fn handles_can_be_shared_across_threads_and_tasks() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Store>();
    fn sendable<T: Send + 'static>() {}
    sendable::<StoreError>();
}

/// A table's generation moves with every committed transaction that opened it, is already
/// moved when the writer answers, and stays put for failed writes and other tables.
#[test]
fn table_generation_moves_with_committed_writes_to_that_table() {
    let dir = dir();
    let store = open(&dir.path().join("store.redb"));
    let before = (
        store.table_generation(&THINGS),
        store.table_generation(&OTHER),
    );
    put(&store, THINGS, b"k", b"v");
    let after_put = store.table_generation(&THINGS);
    assert_ne!(after_put, before.0, "answered before the generation moved");
    assert_eq!(
        store.table_generation(&OTHER),
        before.1,
        "another table moved"
    );

    // A job that fails leaves no trace, the generation included.
    let failed = store.write_blocking(|tx| {
        tx.put(&THINGS, b"k2", b"v2")?;
        Err::<(), _>(StoreError::Internal("refused".into()))
    });
    assert!(failed.is_err());
    assert_eq!(store.table_generation(&THINGS), after_put);

    // Dropping a table counts as a change of it.
    store.write_blocking(|tx| tx.drop_table(&THINGS)).unwrap();
    assert_ne!(store.table_generation(&THINGS), after_put);
}
