//! Backup and restore: round trip with carried files, consistency under concurrent writes,
//! and refusal of existing targets and damaged backups without writing anything.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::super::{Store, StoreError, Table, restore};
use super::{THINGS, all_rows, dir, open, put};

const COUNTERS: Table = Table::new("counters_v1");
const LOG: Table = Table::new("log_v1");
const TOTAL: u64 = 1_000;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "tls/key.pem".to_string(),
            b"-----BEGIN PRIVATE KEY-----".to_vec(),
        ),
        ("tls/cert.pem".to_string(), vec![7u8; 3000]),
    ]
}

/// A store with two tables and a distinctive value, and a backup of it at `backup`.
async fn store_with_backup(dir: &Path) -> (Store, std::path::PathBuf) {
    let store = open(&dir.join("store.redb"));
    for i in 0..100u32 {
        put(&store, THINGS, format!("t{i:03}").as_bytes(), &[b'x'; 200]);
    }
    put(&store, LOG, b"marker", &[0xAB; 64]);
    let backup = dir.join("backup.redb");
    store.backup_to_with_files(&backup, &files()).await.unwrap();
    (store, backup)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_round_trip_with_files() {
    let dir = dir();
    let (store, backup) = store_with_backup(dir.path()).await;
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let target = dir.path().join("restored.redb");
    let stats = restore(&backup, &target).unwrap();
    // things_v1, log_v1 and meta_v1.
    assert_eq!(stats.tables, 3);
    assert_eq!(stats.rows, 100 + 1 + 1);
    assert!(stats.bytes > 0);
    let mut expected = files();
    expected.sort();
    assert_eq!(stats.files, expected);
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let restored = open(&target);
    assert_eq!(all_rows(&restored, THINGS), all_rows(&store, THINGS));
    assert_eq!(all_rows(&restored, LOG), all_rows(&store, LOG));
    assert_eq!(restored.schema_version(), 1);
    // No temporary files left behind.
    assert_eq!(
        entries(dir.path()),
        vec!["backup.redb", "restored.redb", "store.redb"]
    );
}

/// Moves a random amount between two counters and appends a log row, all in one transaction:
/// in every committed state `a + b == TOTAL` and the log has `n` rows.
fn transfer(tx: &mut super::super::WriteTx<'_>, amount: u64) -> Result<(), StoreError> {
    let a: u64 = tx.get_json(&COUNTERS, b"a")?.unwrap_or(TOTAL);
    let b: u64 = tx.get_json(&COUNTERS, b"b")?.unwrap_or(0);
    let n: u64 = tx.get_json(&COUNTERS, b"n")?.unwrap_or(0);
    let moved = amount % (a + 1);
    tx.put_json(&COUNTERS, b"a", &(a - moved))?;
    tx.put_json(&COUNTERS, b"b", &(b + moved))?;
    tx.put_json(&COUNTERS, b"n", &(n + 1))?;
    tx.put(&LOG, format!("{n:08}").as_bytes(), &[0u8; 100])
}

fn check_invariant(store: &Store) -> u64 {
    store
        .read_blocking(|tx| {
            let a: u64 = tx.get_json(&COUNTERS, b"a")?.unwrap_or(TOTAL);
            let b: u64 = tx.get_json(&COUNTERS, b"b")?.unwrap_or(0);
            let n: u64 = tx.get_json(&COUNTERS, b"n")?.unwrap_or(0);
            assert_eq!(a + b, TOTAL, "half a transaction is visible");
            assert_eq!(tx.len(&LOG)?, n, "log rows and counter disagree");
            Ok(n)
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_writes_is_a_consistent_snapshot() {
    let dir = dir();
    let store = open(&dir.path().join("store.redb"));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8u64 {
        let store = store.clone();
        let stop = Arc::clone(&stop);
        writers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) && i < 10_000 {
                let amount = (w * 7919 + i * 104_729) % 97;
                store.write(move |tx| transfer(tx, amount)).await.unwrap();
                i += 1;
            }
        }));
    }
    // Let some writes land, then take backups while the writers keep going.
    while check_invariant(&store) < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let mut backups = Vec::new();
    for i in 0..3 {
        let path = dir.path().join(format!("backup-{i}.redb"));
        let stats = store.backup_to(&path).await.unwrap();
        backups.push((path, stats));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let final_n = check_invariant(&store);

    let mut seen = Vec::new();
    for (i, (path, stats)) in backups.iter().enumerate() {
        let target = dir.path().join(format!("restored-{i}.redb"));
        let restored_stats = restore(path, &target).unwrap();
        assert_eq!(restored_stats.rows, stats.rows);
        assert_eq!(restored_stats.tables, stats.tables);
        let restored = open(&target);
        let n = check_invariant(&restored);
        // meta_v1 (1 row) + counters_v1 (3 rows) + the log.
        assert_eq!(stats.rows, 1 + 3 + n);
        seen.push(n);
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(
        seen[0] >= 50 && *seen.last().unwrap() <= final_n,
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_never_overwrites_and_checks_file_names() {
    let dir = dir();
    let store = open(&dir.path().join("store.redb"));
    let dest = dir.path().join("exists.redb");
    std::fs::write(&dest, b"precious").unwrap();
    let result = store.backup_to(&dest).await;
    assert!(matches!(result, Err(StoreError::Backup(_))), "{result:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious");

    for bad in [
        "../escape",
        "/etc/passwd",
        "",
        "a//b",
        "./x",
        "a/..",
        "a\\b",
    ] {
        let files = vec![(bad.to_string(), b"x".to_vec())];
        let result = store
            .backup_to_with_files(&dir.path().join("b.redb"), &files)
            .await;
        assert!(
            matches!(result, Err(StoreError::Backup(_))),
            "{bad:?}: {result:?}"
        );
    }
    let twice = vec![("a".to_string(), vec![]), ("a".to_string(), vec![])];
    let result = store
        .backup_to_with_files(&dir.path().join("b.redb"), &twice)
        .await;
    assert!(matches!(result, Err(StoreError::Backup(_))), "{result:?}");
    assert_eq!(entries(dir.path()), vec!["exists.redb", "store.redb"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_an_existing_target() {
    let dir = dir();
    let (_store, backup) = store_with_backup(dir.path()).await;
    let target = dir.path().join("target.redb");
    std::fs::write(&target, b"keep me").unwrap();
    let result = restore(&backup, &target);
    assert!(
        matches!(&result, Err(StoreError::NotEmpty { path }) if *path == target),
        "{result:?}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    // Refusing an existing store file too (the live store itself).
    let result = restore(&backup, &dir.path().join("store.redb"));
    assert!(
        matches!(result, Err(StoreError::NotEmpty { .. })),
        "{result:?}"
    );
}

/// Restores `backup` into a fresh path and checks that it is refused and nothing is written.
fn assert_refused(backup: &Path, what: &str) {
    let parent = backup.parent().unwrap();
    let before = entries(parent);
    let target = parent.join("target.redb");
    let result = restore(backup, &target);
    assert!(
        matches!(result, Err(StoreError::Backup(_) | StoreError::Io(_))),
        "{what}: {result:?}"
    );
    assert!(!target.exists(), "{what}: the target was created");
    assert_eq!(entries(parent), before, "{what}: files were left behind");
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("pattern not in the file")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_damaged_backups_without_writing_anything() {
    let dir = dir();
    let (store, backup) = store_with_backup(dir.path()).await;
    store.close().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let copy = |name: &str, damage: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = std::fs::read(&backup).unwrap();
        damage(&mut bytes);
        let path = work.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };

    // One flipped bit inside a stored value.
    let flipped = copy("flipped.redb", &|b| {
        let at = find(b, &[0xAB; 64]) + 10;
        b[at] ^= 0x01;
    });
    assert_refused(&flipped, "a flipped bit in a value");

    // The manifest edited to claim another row count.
    let edited = copy("edited.redb", &|b| {
        let at = find(b, b"\"rows\":100");
        b[at + 7] = b'9';
    });
    assert_refused(&edited, "an edited manifest");

    // Truncated to half, and to almost nothing.
    let half = copy("half.redb", &|b| b.truncate(b.len() / 2));
    assert_refused(&half, "truncated to half");
    let tiny = copy("tiny.redb", &|b| b.truncate(100));
    assert_refused(&tiny, "truncated to 100 bytes");

    // The header destroyed.
    let header = copy("header.redb", &|b| b[..64].fill(0));
    assert_refused(&header, "a zeroed header");

    // Not a redb file at all, and a store file that is not a backup.
    let garbage = work.join("garbage.redb");
    std::fs::write(&garbage, vec![0x5Au8; 10_000]).unwrap();
    assert_refused(&garbage, "garbage");
    std::fs::copy(dir.path().join("store.redb"), work.join("plain.redb")).unwrap();
    assert_refused(&work.join("plain.redb"), "a store that is not a backup");

    // A missing backup.
    let result = restore(&work.join("missing.redb"), &work.join("target.redb"));
    assert!(result.is_err());
    assert!(!work.join("target.redb").exists());

    // The intact backup still restores.
    restore(&backup, &work.join("target.redb")).unwrap();
}
