//! The store: Lantern's only persistent state, one redb file, and the only module that names
//! redb.
//!
//! It owns the [`Store`] handle (open, read, write, backup, close), the group-commit writer
//! (`writer.rs`), the transaction handles domain code sees (`tx.rs`), table names (`tables.rs`),
//! schema migrations (`migrate.rs`), backup and restore (`backup.rs`) and the error type
//! (`error.rs`). Domain modules choose their own key layout and value codec on top of
//! byte-keyed, byte-valued tables.
//!
//! Guarantees: a write is acknowledged only after the transaction holding it was committed with
//! `Durability::Immediate`; reads see a consistent snapshot; one process at a time has the
//! file open (`InUse` otherwise).

mod backup;
mod error;
mod fsio;
mod migrate;
mod tables;
mod tx;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use redb::ReadableDatabase;

pub use backup::{
    BackupStats, CarriedFile, MAX_BACKUP_FILE_BYTES, MAX_BACKUP_FILES, RestoreStats, restore,
};
pub use error::StoreError;
pub use migrate::{BASE_SCHEMA_VERSION, MIGRATIONS, Migration, target_version};
pub use tables::{META, Table};
pub use tx::{ReadTx, Reads, Row, WriteTx};
pub use writer::WriterStats;

use writer::{Counters, Job, Msg, Reply};

/// redb's page cache. redb's default (1 GiB) is far above the appliance's memory budget (P6:
/// idle RSS < 64 MiB); the cache only fills as pages are read, and hot data (sessions, keys,
/// live actions) is small.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Tuning of the group-commit writer (DEFAULTS.md "durable writes").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most write jobs committed together in one durable transaction (default 1000).
    pub max_batch_rows: usize,
    /// The longest a batch is held open between taking its first job and committing: jobs not
    /// yet run when it closes go to the next batch (default 50 ms).
    pub max_commit_window: Duration,
    /// How many write jobs may wait for the writer; beyond that `write` answers `QueueFull`
    /// (default 10 000).
    pub queue_bound: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_batch_rows: 1000,
            max_commit_window: Duration::from_millis(50),
            queue_bound: 10_000,
        }
    }
}

/// The open store. Cheap to clone (an `Arc` inside); open it once per process and share it.
///
/// Writes go through one writer thread that commits them in groups (see `writer.rs`); reads run
/// on redb snapshots, concurrently with writes and with each other.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// What the `Store` handles share.
struct Inner {
    /// Where the file is, for `file_size` and error messages.
    path: PathBuf,
    /// `None` once closed. Readers clone the `Arc` for the length of one read.
    db: RwLock<Option<Arc<redb::Database>>>,
    /// The writer's bounded queue.
    sender: SyncSender<Msg>,
    /// Set by `close`: new writes answer `Closed` without touching the queue.
    closed: AtomicBool,
    /// The writer thread, until `close` (or the last drop) joins it.
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Shared with the writer, for `writer_stats`.
    counters: Arc<Counters>,
    /// The version the migrations left the store at.
    schema_version: AtomicU64,
}

impl Store {
    /// Opens the store at `path`, creating the file (owner-only, 0600) if it is missing; its
    /// directory must exist. Runs this binary's [`MIGRATIONS`] and starts the writer.
    ///
    /// Fails with `InUse` if another process has the file open, `Migration` if the file's schema
    /// is newer than this binary's, `Corrupt` if it is not a store.
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        Store::open_with_migrations(path, opts, MIGRATIONS)
    }

    /// [`Store::open`] with an explicit migration list (tests run synthetic migrations).
    /// `migrations` must form one chain from [`BASE_SCHEMA_VERSION`], one version per step.
    pub fn open_with_migrations(
        path: &Path,
        opts: StoreOptions,
        migrations: &[Migration],
    ) -> Result<Store, StoreError> {
        fsio::create_private_if_missing(path)?;
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .set_repair_callback(|session| {
                tracing::warn!(
                    progress = session.progress(),
                    "repairing the store after an unclean shutdown"
                );
            })
            .create(path)
            .map_err(|e| error::from_open_error(e, path))?;
        let version = migrate::run(&db, migrations)?;
        let db = Arc::new(db);
        let (sender, receiver) = std::sync::mpsc::sync_channel(opts.queue_bound.max(1));
        let counters = Arc::new(Counters::default());
        let handle = writer::spawn(Arc::clone(&db), receiver, &opts, Arc::clone(&counters))?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                db: RwLock::new(Some(db)),
                sender,
                closed: AtomicBool::new(false),
                writer: Mutex::new(Some(handle)),
                counters,
                schema_version: AtomicU64::new(u64::from(version)),
            }),
        })
    }

    /// Runs `f` in the next group commit and answers its result once the batch is durable.
    ///
    /// `f` may run more than once (a batch-mate's failure makes the batch re-run), and its
    /// writes are discarded if it returns `Err` or panics; only its last run counts. Answers
    /// `QueueFull` at once when the queue is full (the caller should shed load) and `Closed`
    /// after [`Store::close`]. Dropping the returned future does not cancel a queued write.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnMut(&mut WriteTx<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner
            .submit(Box::new(Job::new(f, Reply::Async(reply))), false)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// [`Store::write`] for code outside the async runtime (CLI, start-up): same writer, same
    /// guarantees, but it waits for room when the queue is full instead of answering
    /// `QueueFull`. It blocks the calling thread until the commit, so do not call it on a
    /// runtime worker; called from inside a write closure it answers `Internal` rather than
    /// deadlock.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnMut(&mut WriteTx<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        if writer::on_writer_thread() {
            return Err(StoreError::Internal(
                "write_blocking called from inside a write closure".to_string(),
            ));
        }
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.inner
            .submit(Box::new(Job::new(f, Reply::Blocking(reply))), true)?;
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a snapshot of the committed state, on tokio's blocking pool (redb reads are
    /// synchronous). Answers `Closed` after [`Store::close`].
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&ReadTx) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(f))
            .await
            .map_err(join_error)?
    }

    /// [`Store::read`] on the calling thread.
    pub fn read_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&ReadTx) -> Result<T, StoreError>,
    {
        let db = self.inner.database()?;
        let txn = db.begin_read()?;
        f(&ReadTx::new(txn))
    }

    /// Writes a consistent backup of the store to `dest` while writes go on (see
    /// [`Store::backup_to_with_files`]).
    pub async fn backup_to(&self, dest: &Path) -> Result<BackupStats, StoreError> {
        self.backup_to_with_files(dest, &[]).await
    }

    /// Writes a backup of one snapshot of the store to `dest`, carrying `files` (relative name,
    /// contents; at most [`MAX_BACKUP_FILES`] of at most [`MAX_BACKUP_FILE_BYTES`] each) for
    /// [`restore`] to hand back. `dest` must not exist; it is written owner-only (0600) under a
    /// temporary name in the same directory and then linked into place, so it is never seen
    /// half-written and never overwrites anything. Writes are not paused.
    pub async fn backup_to_with_files(
        &self,
        dest: &Path,
        files: &[CarriedFile],
    ) -> Result<BackupStats, StoreError> {
        let db = self.inner.database()?;
        let dest = dest.to_path_buf();
        let files = files.to_vec();
        tokio::task::spawn_blocking(move || backup::write_backup(&db, &dest, &files))
            .await
            .map_err(join_error)?
    }

    /// Commits everything already queued, stops and joins the writer and releases the file.
    /// Later writes and reads answer `Closed`. Calling it again is harmless. A read still
    /// running keeps the file open until it ends.
    pub fn close(&self) -> Result<(), StoreError> {
        self.inner.shutdown()
    }

    /// The size of the store file in bytes (0 if it cannot be read).
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(&self.inner.path).map_or(0, |m| m.len())
    }

    /// The path the store was opened at.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version the store is at (after the migrations run by `open`).
    pub fn schema_version(&self) -> u32 {
        u32::try_from(self.inner.schema_version.load(Ordering::Relaxed)).unwrap_or(u32::MAX)
    }

    /// A number that changes whenever a committed write transaction has opened `table`
    /// (see `writer::Counters::generation`): take it *before* [`Store::read`] and keep a
    /// decoded copy of the table under it; while the number stays the same, the copy is
    /// current. Every write counts, including one that only read the table, so a copy is at
    /// worst reloaded too often, never kept too long.
    pub fn table_generation(&self, table: &Table) -> u64 {
        self.inner.counters.generation(table.name())
    }

    /// The writer's counters: commits, jobs, largest batch, queue depth.
    pub fn writer_stats(&self) -> WriterStats {
        self.inner.counters.snapshot()
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    if e.is_cancelled() {
        StoreError::Closed
    } else {
        StoreError::Internal(format!("a store task panicked: {e}"))
    }
}

impl Inner {
    fn database(&self) -> Result<Arc<redb::Database>, StoreError> {
        self.db
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(Arc::clone)
            .ok_or(StoreError::Closed)
    }

    /// Queues a job; `wait` chooses between waiting for room and answering `QueueFull`.
    fn submit(&self, job: Box<dyn writer::Pending>, wait: bool) -> Result<(), StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        // Counted before sending so the writer's decrement can never run first.
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        let sent = if wait {
            self.sender
                .send(Msg::Job(job))
                .map_err(|_| StoreError::Closed)
        } else {
            self.sender.try_send(Msg::Job(job)).map_err(|e| match e {
                TrySendError::Full(_) => StoreError::QueueFull,
                TrySendError::Disconnected(_) => StoreError::Closed,
            })
        };
        if sent.is_err() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
        }
        sent
    }

    /// Stops the writer after it has committed everything queued, then closes the database.
    fn shutdown(&self) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.closed.store(true, Ordering::Release);
        if let Some(handle) = writer.take() {
            if writer::on_writer_thread() {
                // The last handle was dropped by a write closure on the writer itself, which
                // cannot join itself: it stops on the marker and the file closes as it exits.
                let _ = self.sender.try_send(Msg::Shutdown);
                return Ok(());
            }
            // The marker queues behind every job already accepted, so those are committed
            // first. Sending fails only if the writer is already gone.
            let _ = self.sender.send(Msg::Shutdown);
            handle
                .join()
                .map_err(|_| StoreError::Internal("the writer thread panicked".to_string()))?;
        }
        let db = self
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(db) = db {
            // If a read still holds the database, it closes when that read ends.
            if let Ok(db) = Arc::try_unwrap(db) {
                db.close()
                    .map_err(|e| error::from_open_error(e, &self.path))?;
            }
        }
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone without `close`: still commit what is queued and release
        // the file, so a reopen in this process works.
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "closing the store failed");
        }
    }
}
