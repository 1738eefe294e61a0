//! The offline vulnerability database: imported OSV records kept durably in the store, the
//! record of every import run, and the import itself (read the files, keep the good
//! records, list the bad ones, write everything in one transaction with its audit event,
//! then swap a freshly compiled [`Index`] into the running [`Matcher`]).
//!
//! Guarantees: an import is all or nothing (one durable transaction), so a file that is not
//! OSV at all fails the whole import and changes nothing; a bad record inside a good file is
//! skipped and listed with its id and reason, and never removes or spoils what was imported
//! before. A record replaces the stored copy of the same id only when its `modified` is
//! newer (a withdrawn copy is a newer copy like any other: it is kept and stops matching).
//! Re-importing the same data changes nothing but the run list.
//!
//! Codec of [`VULN_RECORDS`] (key: the record id): one version byte (`1`), one byte holding
//! the length of `modified`, `modified` itself, then the record as JSON; the prefix lets an
//! import compare ages without decoding the stored JSON.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::index::{Index, Matcher};
use super::osv::{self, DumpLimits, Import, OsvError, Record};
use crate::security::audit::{self, Actor, AuditEvent, Outcome};
use crate::store::{ReadTx, Store, StoreError, Table, WriteTx};

/// Imported records by id (codec in the module notes).
pub const VULN_RECORDS: Table = Table::new("vuln_records_v1");
/// Import runs by (`u64::MAX - at_ms` big-endian, run id): newest first; JSON [`ImportRun`].
pub const VULN_IMPORTS: Table = Table::new("vuln_imports_v1");

/// Bad records listed in full in a run (the count is always exact); more are summarised.
pub const MAX_LISTED_INVALID: usize = 1000;
/// Import runs kept in the history; older ones are dropped by the next import.
pub const MAX_RUNS_KEPT: usize = 1000;
/// Most bytes one import may bring over a connection (an upload, or the files the command
/// line sends): DEFAULTS.md's upload bound. The osv.dev PyPI dump is tens of MiB.
pub const MAX_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;
/// Records read per store page when loading the matcher.
const LOAD_PAGE: usize = 512;
/// Version byte of the record codec.
const CODEC_V1: u8 = 1;

/// Why an import failed as a whole (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum VulnError {
    /// A file is neither an OSV JSON record (or array of them) nor a zip dump.
    #[error("{source_name} is not OSV data: {reason}")]
    NotOsv {
        /// The file as the user named it.
        source_name: String,
        /// What was found instead.
        reason: String,
    },
    /// A file, directory or dump could not be read at all.
    #[error("{source_name}: {error}")]
    Unreadable {
        /// The file as the user named it.
        source_name: String,
        /// Why.
        error: OsvError,
    },
    /// Nothing to import.
    #[error("no file to import")]
    Empty,
    /// The files were read but hold no valid record. Refused as a whole: a recorded import
    /// of nothing would make the database look freshly updated.
    #[error("no valid OSV record in the upload ({invalid} invalid{first})")]
    NoRecords {
        /// Records that were read and refused.
        invalid: usize,
        /// The first refusal's reason, `: ...`, when there is one.
        first: String,
    },
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A record that was skipped, as kept in the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidRecord {
    /// The file or zip entry it came from.
    pub source: String,
    /// Its id, when the JSON got that far.
    pub id: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

/// One import, as recorded and as answered to whoever ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRun {
    /// Random id.
    pub id: String,
    /// When it was committed (ms since the Unix epoch).
    pub at_ms: i64,
    /// Who ran it (the audit actor's label: an e-mail, `API key L`, `command line`).
    pub actor: String,
    /// The files as named by the user (or the upload's file name).
    pub sources: Vec<String>,
    /// Valid records read (withdrawn ones included).
    pub read: u64,
    /// Of those, records whose id was new.
    pub added: u64,
    /// Of those, records that replaced an older copy (newer `modified`).
    pub replaced: u64,
    /// Of those, records the store already held as new or newer: nothing changed.
    pub unchanged: u64,
    /// Withdrawn records among those read (kept, shown as withdrawn, never matched).
    pub withdrawn: u64,
    /// How many records were skipped as invalid.
    pub invalid_total: u64,
    /// The skipped records, at most [`MAX_LISTED_INVALID`].
    pub invalid: Vec<InvalidRecord>,
    /// Read, check and write time in milliseconds.
    pub duration_ms: u64,
}

impl ImportRun {
    /// Records of this run that are now in the store (new, replaced or already there).
    pub fn kept(&self) -> u64 {
        self.read
    }

    /// The lines `lantern vulndb import` prints.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "imported {}: kept {} ({} new, {} replaced by a newer copy, {} already up to date), invalid {}, withdrawn {}, in {:.2} s",
            self.sources.join(", "),
            self.kept(),
            self.added,
            self.replaced,
            self.unchanged,
            self.invalid_total,
            self.withdrawn,
            self.duration_ms as f64 / 1000.0
        );
        for bad in &self.invalid {
            out.push_str(&format!(
                "\ninvalid {} ({}): {}",
                bad.id.as_deref().unwrap_or("(no id)"),
                bad.source,
                bad.reason
            ));
        }
        let unlisted = self.invalid_total.saturating_sub(self.invalid.len() as u64);
        if unlisted > 0 {
            out.push_str(&format!("\n... and {unlisted} more invalid records"));
        }
        out
    }
}

/// The state of the database, for the status page and `GET /api/v1/vulndb`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Counts of what the matcher holds.
    pub stats: super::index::Stats,
    /// The latest import, if any.
    pub last_import: Option<ImportRun>,
}

/// A file to import: where its bytes are, and how the user named it.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file or directory to read.
    pub path: PathBuf,
    /// The name shown in results (the user's path, or an upload's file name).
    pub name: String,
}

impl Input {
    /// A file or directory named by its own path.
    pub fn path(path: &Path) -> Input {
        Input {
            path: path.to_path_buf(),
            name: path.display().to_string(),
        }
    }
}

/// Reads every input: a directory's `*.json` files, a zip dump (by its `PK` signature), or
/// a JSON file holding one record or an array of records. A bad record is listed; a file
/// that is none of these fails the whole read.
pub fn read_inputs(inputs: &[Input], limits: &DumpLimits) -> Result<Import, VulnError> {
    if inputs.is_empty() {
        return Err(VulnError::Empty);
    }
    let mut all = Import::default();
    for input in inputs {
        let import = read_input(input, limits)?;
        all.records.extend(import.records);
        all.bad.extend(import.bad);
    }
    if all.records.is_empty() {
        return Err(VulnError::NoRecords {
            invalid: all.bad.len(),
            first: all
                .bad
                .first()
                .map(|b| format!(": {}: {}", b.source, b.error))
                .unwrap_or_default(),
        });
    }
    Ok(all)
}

fn read_input(input: &Input, limits: &DumpLimits) -> Result<Import, VulnError> {
    let unreadable = |error| VulnError::Unreadable {
        source_name: input.name.clone(),
        error,
    };
    if input.path.is_dir() {
        return osv::read_dir(&input.path, limits).map_err(unreadable);
    }
    let mut file = std::fs::File::open(&input.path).map_err(|source| {
        unreadable(OsvError::Io {
            path: input.name.clone(),
            source,
        })
    })?;
    let mut magic = [0u8; 4];
    let got = std::io::Read::read(&mut file, &mut magic).unwrap_or(0);
    if got == 4 && magic == *b"PK\x03\x04" {
        return osv::read_dump_file(&input.path, limits).map_err(unreadable);
    }
    let bytes = osv::read_record_bytes(&input.path, limits.max_total_bytes).map_err(unreadable)?;
    read_json(&input.name, &bytes, limits)
}

/// One JSON document: a record, or an array of records.
pub fn read_json(name: &str, bytes: &[u8], limits: &DumpLimits) -> Result<Import, VulnError> {
    let not_osv = |reason: String| VulnError::NotOsv {
        source_name: name.to_string(),
        reason,
    };
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| not_osv(format!("neither a zip dump nor JSON ({e})")))?;
    let mut import = Import::default();
    match value {
        serde_json::Value::Array(items) => {
            if items.len() > limits.max_entries {
                return Err(not_osv(format!("more than {} records", limits.max_entries)));
            }
            for (i, item) in items.iter().enumerate() {
                let bytes = serde_json::to_vec(item).unwrap_or_default();
                import.take(format!("{name}[{i}]"), &bytes, &limits.record);
            }
        }
        serde_json::Value::Object(map)
            if map.contains_key("id") || map.contains_key("modified") =>
        {
            import.take(name.to_string(), bytes, &limits.record);
        }
        _ => {
            return Err(not_osv(
                "JSON, but not an OSV record (no id, no modified) nor an array of them".into(),
            ));
        }
    }
    Ok(import)
}

/// A valid record encoded for the store, with what the write needs to know about it.
#[derive(Debug)]
struct Prepared {
    id: String,
    modified: String,
    withdrawn: bool,
    value: Vec<u8>,
}

fn encode(record: &Record) -> Result<Vec<u8>, StoreError> {
    let modified = record.modified.as_bytes();
    let len = u8::try_from(modified.len())
        .map_err(|_| StoreError::Codec(format!("{}: modified is too long", record.id)))?;
    let mut out = Vec::with_capacity(modified.len() + 256);
    out.push(CODEC_V1);
    out.push(len);
    out.extend_from_slice(modified);
    serde_json::to_writer(&mut out, record).map_err(|e| StoreError::Codec(e.to_string()))?;
    Ok(out)
}

/// The stored `modified` and JSON of a value.
fn split(value: &[u8]) -> Result<(&str, &[u8]), StoreError> {
    let bad = || StoreError::Codec("a vulnerability record with a bad header".to_string());
    let (&version, rest) = value.split_first().ok_or_else(bad)?;
    let (&len, rest) = rest.split_first().ok_or_else(bad)?;
    if version != CODEC_V1 {
        return Err(bad());
    }
    let (modified, json) = rest.split_at_checked(usize::from(len)).ok_or_else(bad)?;
    Ok((std::str::from_utf8(modified).map_err(|_| bad())?, json))
}

fn decode(value: &[u8]) -> Result<Record, StoreError> {
    let (_, json) = split(value)?;
    serde_json::from_slice(json).map_err(|e| StoreError::Codec(e.to_string()))
}

/// Whether `new` is a newer `modified` than `old` (compared as points in time; an old
/// value that does not parse is older than anything).
fn newer(new: &str, old: &str) -> bool {
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    };
    match (parse(new), parse(old)) {
        (Some(n), Some(o)) => n > o,
        (Some(_), None) => true,
        _ => false,
    }
}

/// An import read and encoded, ready to be written (by [`import`] or [`import_blocking`]).
#[derive(Debug)]
pub struct Pending {
    records: Vec<Prepared>,
    run: ImportRun,
    started: Instant,
}

/// Encodes what `read` found; `started` is when reading began (the run's duration counts
/// from there).
pub fn prepare(
    read: Import,
    sources: Vec<String>,
    actor: &Actor,
    started: Instant,
) -> Result<Pending, VulnError> {
    let mut records: Vec<Prepared> = Vec::with_capacity(read.records.len());
    // Within one import the newest copy of an id wins, as against the store.
    let mut at: std::collections::HashMap<String, usize> = Default::default();
    for record in &read.records {
        let prepared = Prepared {
            id: record.id.clone(),
            modified: record.modified.clone(),
            withdrawn: record.is_withdrawn(),
            value: encode(record)?,
        };
        match at.get(&record.id).and_then(|&i| records.get_mut(i)) {
            Some(existing) if newer(&prepared.modified, &existing.modified) => {
                *existing = prepared;
            }
            Some(_) => {}
            None => {
                at.insert(record.id.clone(), records.len());
                records.push(prepared);
            }
        }
    }
    let invalid_total = read.bad.len() as u64;
    let invalid = read
        .bad
        .into_iter()
        .take(MAX_LISTED_INVALID)
        .map(|b| InvalidRecord {
            source: b.source,
            id: b.id,
            reason: b.error.to_string(),
        })
        .collect();
    let run = ImportRun {
        id: crate::iam::tokens::random_id(),
        at_ms: 0,
        actor: actor.label(),
        sources,
        read: read.records.len() as u64,
        added: 0,
        replaced: 0,
        unchanged: 0,
        withdrawn: read.records.iter().filter(|r| r.is_withdrawn()).count() as u64,
        invalid_total,
        invalid,
        duration_ms: 0,
    };
    Ok(Pending {
        records,
        run,
        started,
    })
}

fn run_key(run: &ImportRun) -> Vec<u8> {
    let inverted = u64::MAX - u64::try_from(run.at_ms).unwrap_or(0);
    let mut key = inverted.to_be_bytes().to_vec();
    key.extend_from_slice(run.id.as_bytes());
    key
}

/// Writes a prepared import in an open transaction, with its run and its audit event.
fn write(
    tx: &mut WriteTx<'_>,
    pending: &Pending,
    actor: &Actor,
    now_ms: i64,
) -> Result<ImportRun, StoreError> {
    let mut run = pending.run.clone();
    run.at_ms = now_ms;
    let (mut added, mut replaced, mut unchanged) = (0u64, 0u64, 0u64);
    for p in &pending.records {
        match tx.get(&VULN_RECORDS, p.id.as_bytes())? {
            None => {
                tx.put(&VULN_RECORDS, p.id.as_bytes(), &p.value)?;
                added += 1;
            }
            Some(old) if newer(&p.modified, split(&old)?.0) => {
                tx.put(&VULN_RECORDS, p.id.as_bytes(), &p.value)?;
                replaced += 1;
            }
            Some(_) => unchanged += 1,
        }
    }
    // Duplicates inside the import count once, as the older copy "already up to date".
    let duplicates = run.read.saturating_sub(pending.records.len() as u64);
    run.added = added;
    run.replaced = replaced;
    run.unchanged = unchanged + duplicates;
    run.duration_ms = u64::try_from(pending.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tx.put_json(&VULN_IMPORTS, &run_key(&run), &run)?;
    // Keep the history bounded: drop the oldest runs past the bound.
    let rows = tx.len(&VULN_IMPORTS)?;
    if rows > MAX_RUNS_KEPT as u64 {
        let start = MAX_RUNS_KEPT;
        let old = tx.scan_range(&VULN_IMPORTS, b"", start.saturating_add(100))?;
        for (key, _) in old.into_iter().skip(start) {
            tx.delete(&VULN_IMPORTS, &key)?;
        }
    }
    let pending_withdrawn = pending.records.iter().filter(|p| p.withdrawn).count();
    let event = AuditEvent::new("vulndb.import", actor.clone(), Outcome::Success)
        .target(run.sources.join(", "))
        .details(serde_json::json!({
            "run": run.id,
            "read": run.read,
            "added": run.added,
            "replaced": run.replaced,
            "unchanged": run.unchanged,
            "withdrawn": pending_withdrawn,
            "invalid": run.invalid_total,
        }));
    audit::append(tx, now_ms, event)?;
    Ok(run)
}

/// Writes a prepared import through the running store and swaps the reloaded index into
/// `matcher`.
pub async fn import(
    store: &Store,
    matcher: &Matcher,
    pending: Pending,
    actor: Actor,
    now_ms: i64,
) -> Result<ImportRun, VulnError> {
    let pending = std::sync::Arc::new(pending);
    let job = std::sync::Arc::clone(&pending);
    let mut run = store
        .write(move |tx| write(tx, &job, &actor, now_ms))
        .await?;
    drop(pending);
    let started = Instant::now();
    let index = store.read(load).await?;
    matcher.replace(index);
    // The run as stored says how long reading and writing took; the answer adds the
    // reload of the matcher.
    let reload = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    run.duration_ms = run.duration_ms.saturating_add(reload);
    Ok(run)
}

/// Reads `inputs` (on the blocking pool), writes them with [`import`] and updates
/// `matcher`; a failure is audited too, with what was wrong.
pub async fn import_inputs(
    store: &Store,
    matcher: &Matcher,
    inputs: Vec<Input>,
    actor: Actor,
    now_ms: i64,
    started: Instant,
) -> Result<ImportRun, VulnError> {
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    let who = actor.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        let read = read_inputs(&inputs, &DumpLimits::default())?;
        prepare(read, names, &who, started)
    })
    .await
    .map_err(|e| VulnError::Store(StoreError::Internal(e.to_string())))
    .and_then(|r| r);
    let result = match prepared {
        Ok(pending) => import(store, matcher, pending, actor.clone(), now_ms).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        let event = AuditEvent::new("vulndb.import", actor, Outcome::Failure)
            .details(serde_json::json!({"error": e.to_string()}));
        audit::record(store, now_ms, event).await;
    }
    result
}

/// [`import`] for the command line with the appliance stopped (no matcher to update).
pub fn import_blocking(
    store: &Store,
    pending: Pending,
    actor: Actor,
    now_ms: i64,
) -> Result<ImportRun, VulnError> {
    Ok(store.write_blocking(move |tx| write(tx, &pending, &actor, now_ms))?)
}

/// Compiles every stored record into a new [`Index`], reading the table page by page.
pub fn load(tx: &ReadTx) -> Result<Index, StoreError> {
    let mut index = Index::new();
    let mut start: Vec<u8> = Vec::new();
    loop {
        let rows = tx.scan_range(&VULN_RECORDS, &start, LOAD_PAGE)?;
        let Some((last, _)) = rows.last() else {
            break;
        };
        start.clone_from(last);
        start.push(0);
        let full = rows.len() == LOAD_PAGE;
        for (_, value) in rows {
            index.add(&decode(&value)?);
        }
        if !full {
            break;
        }
    }
    Ok(index)
}

/// Up to `limit` import runs from `offset`, newest first, with the total count.
pub fn history(
    tx: &ReadTx,
    offset: usize,
    limit: usize,
) -> Result<(Vec<ImportRun>, u64), StoreError> {
    let total = tx.len(&VULN_IMPORTS)?;
    let rows = tx.scan_range(&VULN_IMPORTS, b"", offset.saturating_add(limit))?;
    let runs = rows
        .into_iter()
        .skip(offset)
        .map(|(_, v)| serde_json::from_slice(&v).map_err(StoreError::from))
        .collect::<Result<Vec<ImportRun>, StoreError>>()?;
    Ok((runs, total))
}

/// The database's status: the matcher's counts and the latest run.
pub fn status(tx: &ReadTx, matcher: &Matcher) -> Result<Status, StoreError> {
    let (mut last, _) = history(tx, 0, 1)?;
    Ok(Status {
        stats: matcher.snapshot().stats().clone(),
        last_import: last.pop(),
    })
}

/// One stored record by id.
pub fn get(tx: &ReadTx, id: &str) -> Result<Option<Record>, StoreError> {
    tx.get(&VULN_RECORDS, id.as_bytes())?
        .map(|v| decode(&v))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv")
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb"), Default::default()).unwrap();
        (dir, store)
    }

    fn run(store: &Store, inputs: &[Input]) -> Result<ImportRun, VulnError> {
        let started = Instant::now();
        let read = read_inputs(inputs, &DumpLimits::default())?;
        let names = inputs.iter().map(|i| i.name.clone()).collect();
        let pending = prepare(read, names, &Actor::Cli, started)?;
        import_blocking(store, pending, Actor::Cli, 1_700_000_000_000)
    }

    #[test]
    fn codec_round_trips_and_keeps_modified_in_front() {
        let dir = fixtures().join("records/maven");
        for record in osv::read_dir(&dir, &DumpLimits::default()).unwrap().records {
            let bytes = encode(&record).unwrap();
            assert_eq!(split(&bytes).unwrap().0, record.modified);
            assert_eq!(decode(&bytes).unwrap(), record);
        }
        assert!(decode(b"").is_err());
        assert!(decode(&[2, 0]).is_err());
        assert!(decode(&[1, 200, b'x']).is_err());
    }

    #[test]
    fn directories_files_and_dumps_import_and_reimport_idempotently() {
        let (_dir, store) = store();
        let inputs = [
            Input::path(&fixtures().join("records/pypi")),
            Input::path(&fixtures().join("dumps/sample/Maven/all.zip")),
        ];
        let first = run(&store, &inputs).unwrap();
        assert_eq!((first.read, first.added, first.invalid_total), (27, 27, 1));
        assert_eq!(first.invalid[0].id.as_deref(), Some("PYSEC-2021-371"));
        let second = run(&store, &inputs).unwrap();
        assert_eq!(
            (second.added, second.replaced, second.unchanged),
            (0, 0, 27)
        );
        let index = store.read_blocking(load).unwrap();
        assert_eq!(index.stats().records, 27);
        assert_eq!(index.stats().by_ecosystem.get("Maven"), Some(&13));
        let (runs, total) = store.read_blocking(|tx| history(tx, 0, 10)).unwrap();
        assert_eq!((runs.len(), total), (2, 2));
        assert!(first.describe().contains("invalid PYSEC-2021-371"));
        store.close().unwrap();
    }

    #[test]
    fn newer_copies_replace_older_ones_and_withdrawn_is_honoured() {
        let (dir, store) = store();
        let record = |modified: &str, withdrawn: bool| {
            let mut v = serde_json::json!({
                "id": "X-1", "modified": modified, "summary": modified,
                "affected": [{"package": {"ecosystem": "PyPI", "name": "p"}, "versions": ["1.0"]}]
            });
            if withdrawn {
                v["withdrawn"] = "2024-06-01T00:00:00Z".into();
            }
            v
        };
        let file = dir.path().join("x.json");
        let write = |v: serde_json::Value| std::fs::write(&file, v.to_string()).unwrap();
        write(record("2024-02-01T00:00:00Z", false));
        assert_eq!(run(&store, &[Input::path(&file)]).unwrap().added, 1);
        write(record("2024-01-01T00:00:00Z", false));
        assert_eq!(run(&store, &[Input::path(&file)]).unwrap().unchanged, 1);
        let kept = store.read_blocking(|tx| get(tx, "X-1")).unwrap().unwrap();
        assert_eq!(kept.summary.as_deref(), Some("2024-02-01T00:00:00Z"));
        assert_eq!(
            store
                .read_blocking(load)
                .unwrap()
                .query("PyPI", "P", "1.0")
                .len(),
            1
        );
        write(record("2024-06-01T00:00:00Z", true));
        let r = run(&store, &[Input::path(&file)]).unwrap();
        assert_eq!((r.replaced, r.withdrawn), (1, 1));
        let index = store.read_blocking(load).unwrap();
        assert!(index.query("PyPI", "p", "1.0").is_empty());
        assert_eq!(index.stats().withdrawn, 1);
        // An array of records; the newer duplicate wins inside one import.
        let arr = serde_json::json!([
            record("2024-07-01T00:00:00Z", false),
            record("2024-08-01T00:00:00Z", false)
        ]);
        write(arr);
        let r = run(&store, &[Input::path(&file)]).unwrap();
        assert_eq!((r.read, r.replaced, r.unchanged), (2, 1, 1));
        store.close().unwrap();
    }

    #[test]
    fn a_file_that_is_not_osv_fails_the_whole_import_and_loses_nothing() {
        let (dir, store) = store();
        run(&store, &[Input::path(&fixtures().join("records/maven"))]).unwrap();
        let junk = dir.path().join("notes.txt");
        for bytes in [
            &b"hello"[..],
            b"{\"foo\": 1}",
            b"42",
            b"PK\x03\x04 not a zip",
        ] {
            std::fs::write(&junk, bytes).unwrap();
            let err = run(
                &store,
                &[
                    Input::path(&fixtures().join("records/pypi")),
                    Input::path(&junk),
                ],
            )
            .unwrap_err();
            assert!(err.to_string().contains("notes.txt"), "{err}");
        }
        let index = store.read_blocking(load).unwrap();
        assert_eq!(index.stats().records, 13);
        let (_, total) = store.read_blocking(|tx| history(tx, 0, 10)).unwrap();
        assert_eq!(total, 1);
        assert!(matches!(run(&store, &[]), Err(VulnError::Empty)));
        store.close().unwrap();
    }
}
