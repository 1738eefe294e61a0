//! Migrations: a synthetic `things_v1` -> `things_v2` step, idempotence, refusal of a newer
//! store or a broken chain, and all-or-nothing failure.

use std::cell::Cell;

use serde::{Deserialize, Serialize};

use super::super::{META, Migration, Store, StoreError, StoreOptions, Table, WriteTx};
use super::{THINGS, all_rows, dir, open, put};

const THINGS_V2: Table = Table::new("things_v2");

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct ThingV2 {
    name: String,
    shout: String,
}

thread_local! {
    /// Migrations run on the thread that opens the store; a per-thread count keeps tests that
    /// run in parallel apart.
    static APPLIED: Cell<usize> = const { Cell::new(0) };
}

fn applied() -> usize {
    APPLIED.with(Cell::get)
}

/// things_v1 (key -> UTF-8 name) becomes things_v2 (key -> JSON {name, shout}).
fn things_v1_to_v2(tx: &mut WriteTx<'_>) -> Result<(), StoreError> {
    APPLIED.with(|n| n.set(n.get() + 1));
    let mut start = Vec::new();
    loop {
        let rows = tx.scan_range(&THINGS, &start, 2)?;
        let Some((last, _)) = rows.last() else { break };
        start = last.clone();
        start.push(0);
        for (key, value) in rows {
            let name = String::from_utf8(value).map_err(|e| StoreError::Codec(e.to_string()))?;
            let shout = name.to_uppercase();
            tx.put_json(&THINGS_V2, &key, &ThingV2 { name, shout })?;
        }
    }
    tx.drop_table(&THINGS)?;
    Ok(())
}

fn failing_step(tx: &mut WriteTx<'_>) -> Result<(), StoreError> {
    tx.put(&META, b"half", b"done")?;
    Err(StoreError::Conflict("this step always fails".into()))
}

const STEP: Migration = Migration {
    from: 1,
    to: 2,
    description: "things_v1 -> things_v2 with a shouted name",
    apply: things_v1_to_v2,
};

fn store_at_v1(path: &std::path::Path) {
    let store = open(path);
    for (k, v) in [
        ("k1", "ant"),
        ("k2", "bee"),
        ("k3", "cat"),
        ("k4", "dog"),
        ("k5", "eel"),
    ] {
        put(&store, THINGS, k.as_bytes(), v.as_bytes());
    }
    store.close().unwrap();
}

fn schema_in_file(store: &Store) -> Option<u32> {
    store
        .read_blocking(|tx| tx.get_json(&META, b"schema_version"))
        .unwrap()
}

#[test]
fn a_migration_transforms_rows_once_and_a_newer_store_is_refused() {
    let dir = dir();
    let path = dir.path().join("store.redb");
    store_at_v1(&path);

    let applied_before = applied();
    let store = Store::open_with_migrations(&path, StoreOptions::default(), &[STEP]).unwrap();
    assert_eq!(applied(), applied_before + 1);
    assert_eq!(store.schema_version(), 2);
    assert_eq!(schema_in_file(&store), Some(2));
    assert!(all_rows(&store, THINGS).is_empty(), "the old table is gone");
    let v2 = all_rows(&store, THINGS_V2);
    assert_eq!(v2.len(), 5);
    let k3: ThingV2 = serde_json::from_slice(&v2[2].1).unwrap();
    assert_eq!(
        k3,
        ThingV2 {
            name: "cat".into(),
            shout: "CAT".into()
        }
    );
    store.close().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();

    // Running the same list again is a no-op.
    let store = Store::open_with_migrations(&path, StoreOptions::default(), &[STEP]).unwrap();
    assert_eq!(applied(), applied_before + 1);
    assert_eq!(all_rows(&store, THINGS_V2), v2);
    store.close().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);

    // A binary that only knows version 1 refuses the version-2 store, and leaves it alone.
    let older = Store::open(&path, StoreOptions::default());
    match older {
        Err(StoreError::Migration(m)) => assert!(m.contains("newer"), "{m}"),
        other => panic!("expected Migration, got {other:?}"),
    }
    let store = Store::open_with_migrations(&path, StoreOptions::default(), &[STEP]).unwrap();
    assert_eq!(all_rows(&store, THINGS_V2).len(), 5);
}

#[test]
fn a_fresh_store_runs_every_step() {
    let dir = dir();
    let store =
        Store::open_with_migrations(&dir.path().join("s.redb"), StoreOptions::default(), &[STEP])
            .unwrap();
    assert_eq!(schema_in_file(&store), Some(2));
    assert!(all_rows(&store, THINGS_V2).is_empty());
}

#[test]
fn a_broken_chain_is_refused() {
    let dir = dir();
    let path = dir.path().join("s.redb");
    let skip = Migration {
        from: 2,
        to: 3,
        description: "starts at 2",
        apply: things_v1_to_v2,
    };
    for list in [vec![skip], vec![STEP, STEP]] {
        let result = Store::open_with_migrations(&path, StoreOptions::default(), &list);
        assert!(
            matches!(result, Err(StoreError::Migration(_))),
            "{result:?}"
        );
    }
}

#[test]
fn a_failing_step_leaves_the_store_untouched() {
    let dir = dir();
    let path = dir.path().join("store.redb");
    store_at_v1(&path);
    let fail = Migration {
        from: 2,
        to: 3,
        description: "always fails",
        apply: failing_step,
    };
    let result = Store::open_with_migrations(&path, StoreOptions::default(), &[STEP, fail]);
    match result {
        Err(StoreError::Migration(m)) => assert!(m.contains("always fails"), "{m}"),
        other => panic!("expected Migration, got {other:?}"),
    }
    // Neither step is visible: still version 1, things_v1 intact, no things_v2, no half write.
    let store = open(&path);
    assert_eq!(schema_in_file(&store), Some(1));
    assert_eq!(all_rows(&store, THINGS).len(), 5);
    assert!(all_rows(&store, THINGS_V2).is_empty());
    let half = store.read_blocking(|tx| tx.get(&META, b"half")).unwrap();
    assert_eq!(half, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_from_a_newer_schema_is_refused_by_restore() {
    let dir = dir();
    let store =
        Store::open_with_migrations(&dir.path().join("s.redb"), StoreOptions::default(), &[STEP])
            .unwrap();
    let backup = dir.path().join("backup.redb");
    store.backup_to(&backup).await.unwrap();
    let target = dir.path().join("restored.redb");
    let result = super::super::restore(&backup, &target);
    assert!(
        matches!(result, Err(StoreError::Migration(_))),
        "{result:?}"
    );
    assert!(!target.exists());
}
