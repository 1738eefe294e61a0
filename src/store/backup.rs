//! Backup and restore of the whole store, plus a few small files of the data directory (the
//! TLS certificate and key).
//!
//! A backup is itself a redb file: redb checksums its pages, the file opens with the same code,
//! and any table can be copied generically because every table is bytes to bytes. Besides the
//! store's tables it holds two reserved tables: `__lantern_backup_files_v1` (relative file name
//! to contents) and `__lantern_backup_manifest_v1`, whose one row is a JSON manifest with the
//! format version, the schema version, every table with its row count, every file with its size,
//! and a SHA-256 over all of it in a fixed order.
//!
//! A backup is taken from one read snapshot, so it is consistent while writes go on; it is
//! written private (0600) under a temporary name and then given its final name, never over an
//! existing file. A restore first reads the whole backup and checks it against the manifest
//! (tables, counts, digest, file names); only then does it write, again under a temporary
//! name, into a path that must not exist yet.

use std::collections::BTreeSet;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{ReadableDatabase, ReadableTable, TableHandle};
use serde::{Deserialize, Serialize};

use super::error::{StoreError, from_open_error};
use super::fsio::{self, TempFile};
use super::migrate::{BASE_SCHEMA_VERSION, MIGRATIONS, target_version};
use super::tables::{META, SCHEMA_VERSION_KEY, raw_def};

/// The table holding the manifest inside a backup file.
const MANIFEST_TABLE: &str = "__lantern_backup_manifest_v1";
/// The table holding the carried files inside a backup file.
const FILES_TABLE: &str = "__lantern_backup_files_v1";
/// Store tables must not use this prefix, so they can never collide with the two above.
pub(crate) const RESERVED_PREFIX: &str = "__lantern_backup";
/// The manifest's key in [`MANIFEST_TABLE`].
const MANIFEST_KEY: &[u8] = b"manifest";
/// The backup format this binary writes and reads.
const FORMAT: u32 = 1;

/// At most this many files ride along in one backup.
pub const MAX_BACKUP_FILES: usize = 64;
/// At most this many bytes per carried file: they are meant for certificates and keys.
pub const MAX_BACKUP_FILE_BYTES: usize = 4 * 1024 * 1024;

/// A file carried by a backup: its name relative to the data directory, and its contents.
pub type CarriedFile = (String, Vec<u8>);

/// What a backup wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupStats {
    /// Store tables copied (the backup's own bookkeeping tables are not counted).
    pub tables: usize,
    /// Rows copied, over all tables.
    pub rows: u64,
    /// Size of the backup file in bytes.
    pub bytes: u64,
}

/// What a restore wrote, and the carried files for the caller to put back in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreStats {
    /// Store tables restored.
    pub tables: usize,
    /// Rows restored, over all tables.
    pub rows: u64,
    /// Size of the restored store file in bytes.
    pub bytes: u64,
    /// The files carried by the backup: a relative name (checked: no absolute path, no `..`)
    /// and the contents. The store does not write them; the caller decides where they go.
    pub files: Vec<CarriedFile>,
}

/// The one row of [`MANIFEST_TABLE`]: what the backup must contain, checked by `restore`.
#[derive(Serialize, Deserialize, Debug)]
struct Manifest {
    /// [`FORMAT`] when written; a restore refuses any other.
    format: u32,
    /// The store's schema version at the snapshot; a restore refuses one newer than its own.
    schema_version: u32,
    /// When the backup was taken, for people choosing between backups.
    created_unix_ms: u64,
    /// In name order, which is also the order the digest covers them in.
    tables: Vec<TableEntry>,
    /// In name order.
    files: Vec<FileEntry>,
    /// Hex SHA-256 over every table name, key and value, then every file name and contents.
    sha256: String,
}

/// A store table in the backup and how many rows it must have.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
struct TableEntry {
    /// The table's name, as in the store.
    name: String,
    /// Its row count at the snapshot.
    rows: u64,
}

/// A carried file in the backup and its size.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
struct FileEntry {
    /// Relative to the data directory.
    name: String,
    /// Its size in bytes.
    bytes: u64,
}

/// The content digest. Every field is tagged and length-prefixed, so no two different contents
/// can feed the same byte stream.
struct Digest(ring::digest::Context);

impl Digest {
    fn new() -> Digest {
        Digest(ring::digest::Context::new(&ring::digest::SHA256))
    }

    fn field(&mut self, tag: u8, bytes: &[u8]) {
        self.0.update(&[tag]);
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn table(&mut self, name: &str) {
        self.field(b'T', name.as_bytes());
    }

    fn row(&mut self, key: &[u8], value: &[u8]) {
        self.field(b'K', key);
        self.field(b'V', value);
    }

    fn file(&mut self, name: &str, contents: &[u8]) {
        self.field(b'F', name.as_bytes());
        self.field(b'D', contents);
    }

    fn finish(self) -> String {
        self.0
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Checks a carried file's name: relative, `/`-separated, no empty, `.` or `..` component, no
/// backslash or NUL. A restore hands these names to the caller, so a crafted backup must not be
/// able to point outside the data directory.
fn check_file_name(name: &str) -> Result<(), StoreError> {
    let bad = name.is_empty()
        || name.len() > 255
        || name.contains(['\\', '\0'])
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(StoreError::Backup(format!(
            "{name:?} is not a valid relative file name"
        )));
    }
    Ok(())
}

/// Checks the files to carry and sorts them by name (the order the digest uses).
fn sorted_files(files: &[CarriedFile]) -> Result<Vec<&CarriedFile>, StoreError> {
    if files.len() > MAX_BACKUP_FILES {
        return Err(StoreError::Backup(format!(
            "{} files to carry, at most {MAX_BACKUP_FILES}",
            files.len()
        )));
    }
    let mut sorted: Vec<&CarriedFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut previous: Option<&str> = None;
    for (name, contents) in &sorted {
        check_file_name(name)?;
        if contents.len() > MAX_BACKUP_FILE_BYTES {
            return Err(StoreError::Backup(format!(
                "{name} has {} bytes, at most {MAX_BACKUP_FILE_BYTES}",
                contents.len()
            )));
        }
        if previous == Some(name.as_str()) {
            return Err(StoreError::Backup(format!("{name} is given twice")));
        }
        previous = Some(name);
    }
    Ok(sorted)
}

/// The schema version recorded in a snapshot (a store never migrated is at the base version).
fn schema_version(snapshot: &redb::ReadTransaction) -> Result<u32, StoreError> {
    let table = match snapshot.open_table(META.def()) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(BASE_SCHEMA_VERSION),
        Err(e) => return Err(e.into()),
    };
    match table.get(SCHEMA_VERSION_KEY)? {
        Some(raw) => Ok(serde_json::from_slice(raw.value())?),
        None => Ok(BASE_SCHEMA_VERSION),
    }
}

/// The names of every table in a snapshot, sorted. Multimap tables are never created by the
/// store, so finding one means the file is not ours.
fn table_names(snapshot: &redb::ReadTransaction) -> Result<Vec<String>, StoreError> {
    if snapshot.list_multimap_tables()?.next().is_some() {
        return Err(StoreError::Backup(
            "the file holds multimap tables, which the store never writes".to_string(),
        ));
    }
    let mut names: Vec<String> = snapshot
        .list_tables()?
        .map(|t| t.name().to_string())
        .collect();
    names.sort();
    Ok(names)
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Writes a backup of the committed state of `db` (one snapshot) plus `files` to `dest`.
pub(crate) fn write_backup(
    db: &redb::Database,
    dest: &Path,
    files: &[CarriedFile],
) -> Result<BackupStats, StoreError> {
    let files = sorted_files(files)?;
    if fsio::exists(dest) {
        return Err(StoreError::Backup(format!(
            "{} already exists; a backup never overwrites a file",
            dest.display()
        )));
    }
    let snapshot = db.begin_read()?;
    let schema_version = schema_version(&snapshot)?;
    let names = table_names(&snapshot)?;
    if let Some(name) = names.iter().find(|n| n.starts_with(RESERVED_PREFIX)) {
        return Err(StoreError::Backup(format!(
            "the store has a table named {name}, a name reserved for backups"
        )));
    }

    let tmp = TempFile::beside(dest)?;
    let out = redb::Builder::new()
        .create(tmp.path())
        .map_err(|e| from_open_error(e, tmp.path()))?;
    // One transaction, committed durably (redb's default): the backup is all or nothing.
    let txn = out.begin_write()?;
    let mut digest = Digest::new();
    let mut tables = Vec::with_capacity(names.len());
    {
        for name in &names {
            let src = snapshot.open_table(raw_def(name)?)?;
            let mut dst = txn.open_table(raw_def(name)?)?;
            digest.table(name);
            let mut rows = 0u64;
            for item in src.iter()? {
                let (k, v) = item?;
                let (k, v) = (k.value(), v.value());
                dst.insert(k, v)?;
                digest.row(k, v);
                rows += 1;
            }
            tables.push(TableEntry {
                name: name.clone(),
                rows,
            });
        }
        let mut carried = txn.open_table(raw_def(FILES_TABLE)?)?;
        for (name, contents) in &files {
            carried.insert(name.as_bytes(), contents.as_slice())?;
            digest.file(name, contents);
        }
        let manifest = Manifest {
            format: FORMAT,
            schema_version,
            created_unix_ms: now_unix_ms(),
            files: files
                .iter()
                .map(|(name, contents)| FileEntry {
                    name: name.clone(),
                    bytes: contents.len() as u64,
                })
                .collect(),
            sha256: digest.finish(),
            tables,
        };
        let mut meta = txn.open_table(raw_def(MANIFEST_TABLE)?)?;
        meta.insert(MANIFEST_KEY, serde_json::to_vec(&manifest)?.as_slice())?;
        tables = manifest.tables;
    }
    txn.commit()?;
    out.close().map_err(|e| from_open_error(e, tmp.path()))?;
    drop(snapshot);

    tmp.publish(dest).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            StoreError::Backup(format!(
                "{} appeared while the backup was written",
                dest.display()
            ))
        } else {
            StoreError::Io(e)
        }
    })?;
    Ok(BackupStats {
        tables: tables.len(),
        rows: tables.iter().map(|t| t.rows).sum(),
        bytes: std::fs::metadata(dest)?.len(),
    })
}

/// Restores the store at `store_path` from `backup`.
///
/// `store_path` must not exist (`NotEmpty` otherwise). The whole backup is read and checked
/// against its manifest (table list, row counts, SHA-256, file names) before anything is
/// written; a damaged, truncated or foreign file is refused with `Backup` and leaves nothing
/// behind. The store is written private (0600) under a temporary name in the same directory
/// and then given its name. The carried files are returned, not written: the caller knows
/// where they belong. The restored store is migrated by the next `Store::open`; a backup from
/// a newer schema than this binary's is refused with `Migration`.
pub fn restore(backup: &Path, store_path: &Path) -> Result<RestoreStats, StoreError> {
    if fsio::exists(store_path) {
        return Err(StoreError::NotEmpty {
            path: store_path.to_path_buf(),
        });
    }
    // redb may panic on a damaged file rather than report it. A damaged backup is bad input,
    // not a bug, so the panic becomes an error; the temporary file is removed on unwinding.
    catch_unwind(AssertUnwindSafe(|| restore_checked(backup, store_path))).unwrap_or_else(|_| {
        Err(StoreError::Backup(format!(
            "{} is damaged: reading it failed",
            backup.display()
        )))
    })
}

/// Explains a failure to read a backup as a bad backup, keeping I/O and version errors as
/// they are.
fn invalid(backup: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Io(e) => StoreError::Io(e),
        StoreError::Backup(m) => StoreError::Backup(m),
        StoreError::Migration(m) => StoreError::Migration(m),
        other => StoreError::Backup(format!(
            "{} is not a valid backup: {other}",
            backup.display()
        )),
    }
}

fn restore_checked(backup: &Path, store_path: &Path) -> Result<RestoreStats, StoreError> {
    let src = redb::Builder::new()
        .open_read_only(backup)
        .map_err(|e| invalid(backup, from_open_error(e, backup)))?;
    let snapshot = src.begin_read().map_err(|e| invalid(backup, e.into()))?;
    let (manifest, files) = validate(&snapshot).map_err(|e| invalid(backup, e))?;

    // The backup is sound: only now is anything written.
    let tmp = TempFile::beside(store_path)?;
    let out = redb::Builder::new()
        .create(tmp.path())
        .map_err(|e| from_open_error(e, tmp.path()))?;
    let txn = out.begin_write()?;
    let mut digest = Digest::new();
    {
        for entry in &manifest.tables {
            let src = snapshot.open_table(raw_def(&entry.name)?)?;
            let mut dst = txn.open_table(raw_def(&entry.name)?)?;
            digest.table(&entry.name);
            for item in src.iter()? {
                let (k, v) = item?;
                let (k, v) = (k.value(), v.value());
                dst.insert(k, v)?;
                digest.row(k, v);
            }
        }
    }
    for (name, contents) in &files {
        digest.file(name, contents);
    }
    // Same snapshot as the check, so this can only differ if the file changed under us.
    if digest.finish() != manifest.sha256 {
        txn.abort()?;
        return Err(StoreError::Backup(format!(
            "{} changed while it was being restored",
            backup.display()
        )));
    }
    txn.commit()?;
    out.close().map_err(|e| from_open_error(e, tmp.path()))?;
    tmp.publish(store_path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            StoreError::NotEmpty {
                path: store_path.to_path_buf(),
            }
        } else {
            StoreError::Io(e)
        }
    })?;
    Ok(RestoreStats {
        tables: manifest.tables.len(),
        rows: manifest.tables.iter().map(|t| t.rows).sum(),
        bytes: std::fs::metadata(store_path)?.len(),
        files,
    })
}

/// Reads the whole backup and checks it against its manifest; answers the manifest and the
/// carried files.
fn validate(snapshot: &redb::ReadTransaction) -> Result<(Manifest, Vec<CarriedFile>), StoreError> {
    let manifest = read_manifest(snapshot)?;
    if manifest.format != FORMAT {
        return Err(StoreError::Backup(format!(
            "backup format {} is not supported (this binary reads format {FORMAT})",
            manifest.format
        )));
    }
    let supported = target_version(MIGRATIONS);
    if manifest.schema_version > supported {
        return Err(StoreError::Migration(format!(
            "the backup is at schema version {}, newer than this binary's {supported}",
            manifest.schema_version
        )));
    }

    // The manifest's tables, strictly in name order, must be exactly the file's tables.
    let listed: Vec<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
    if listed.windows(2).any(|w| w.first() >= w.get(1))
        || listed.iter().any(|n| n.starts_with(RESERVED_PREFIX))
    {
        return Err(StoreError::Backup(
            "the manifest's table list is malformed".to_string(),
        ));
    }
    let mut expected: BTreeSet<&str> = listed.iter().copied().collect();
    expected.insert(MANIFEST_TABLE);
    expected.insert(FILES_TABLE);
    let names = table_names(snapshot)?;
    let found: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    if found != expected {
        return Err(StoreError::Backup(
            "the file's tables do not match its manifest".to_string(),
        ));
    }

    let mut digest = Digest::new();
    for entry in &manifest.tables {
        let table = snapshot.open_table(raw_def(&entry.name)?)?;
        digest.table(&entry.name);
        let mut rows = 0u64;
        for item in table.iter()? {
            let (k, v) = item?;
            digest.row(k.value(), v.value());
            rows += 1;
        }
        if rows != entry.rows {
            return Err(StoreError::Backup(format!(
                "table {} has {rows} rows, its manifest says {}",
                entry.name, entry.rows
            )));
        }
    }

    let files = read_files(snapshot)?;
    let listed_files: Vec<FileEntry> = files
        .iter()
        .map(|(name, contents)| FileEntry {
            name: name.clone(),
            bytes: contents.len() as u64,
        })
        .collect();
    if listed_files != manifest.files {
        return Err(StoreError::Backup(
            "the carried files do not match the manifest".to_string(),
        ));
    }
    for (name, contents) in &files {
        digest.file(name, contents);
    }
    if digest.finish() != manifest.sha256 {
        return Err(StoreError::Backup(
            "the contents do not match the manifest's SHA-256".to_string(),
        ));
    }
    Ok((manifest, files))
}

fn read_manifest(snapshot: &redb::ReadTransaction) -> Result<Manifest, StoreError> {
    let table = match snapshot.open_table(raw_def(MANIFEST_TABLE)?) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Err(StoreError::Backup(
                "the file has no backup manifest: it is not a Lantern backup".to_string(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let raw = table
        .get(MANIFEST_KEY)?
        .ok_or_else(|| StoreError::Backup("the backup manifest is empty".to_string()))?;
    serde_json::from_slice(raw.value())
        .map_err(|e| StoreError::Backup(format!("the backup manifest does not decode: {e}")))
}

/// The carried files in name order, each name and size checked, at most
/// [`MAX_BACKUP_FILES`] of them.
fn read_files(snapshot: &redb::ReadTransaction) -> Result<Vec<CarriedFile>, StoreError> {
    let table = snapshot.open_table(raw_def(FILES_TABLE)?)?;
    let mut files = Vec::new();
    for item in table.iter()? {
        if files.len() >= MAX_BACKUP_FILES {
            return Err(StoreError::Backup(format!(
                "more than {MAX_BACKUP_FILES} carried files"
            )));
        }
        let (k, v) = item?;
        let name = String::from_utf8(k.value().to_vec())
            .map_err(|_| StoreError::Backup("a carried file name is not UTF-8".to_string()))?;
        check_file_name(&name)?;
        let contents = v.value();
        if contents.len() > MAX_BACKUP_FILE_BYTES {
            return Err(StoreError::Backup(format!(
                "carried file {name} is too large"
            )));
        }
        files.push((name, contents.to_vec()));
    }
    Ok(files)
}
