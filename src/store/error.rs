//! The store's one error type, [`StoreError`], and the conversions from redb's errors into it.
//!
//! redb's error enums stay inside this module: callers see what went wrong in the store's own
//! terms (in use, corrupt, closed, ...), so the HTTP layer can map each variant to one answer.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the store, and the two domain outcomes (`Conflict`,
/// `NotFound`) that domain code returns from inside write closures to abort its own job.
#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    /// Another process (or another `Store` in this process) has the store file open.
    #[error("the store at {} is in use by another process", path.display())]
    InUse {
        /// The store file that is locked.
        path: PathBuf,
    },
    /// The operating system refused a read, write, sync, create or rename.
    #[error("store I/O error: {0}")]
    Io(#[from] io::Error),
    /// The file is not a valid store, or a checksum, count or structure check failed.
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    /// A value could not be encoded or decoded (JSON), or is too large to store.
    #[error("cannot encode or decode a stored value: {0}")]
    Codec(String),
    /// The writer has stopped (`Store::close` was called): nothing more can be written.
    #[error("the store is closed")]
    Closed,
    /// The writer's queue is full: the caller should shed load (for example answer 503).
    #[error("the store's write queue is full")]
    QueueFull,
    /// A restore was asked to write over something that already exists.
    #[error("{} already exists: restore only into a new path", path.display())]
    NotEmpty {
        /// The restore target that exists.
        path: PathBuf,
    },
    /// A backup could not be written, or a backup file is invalid.
    #[error("backup failed: {0}")]
    Backup(String),
    /// The schema migrations could not run, or the store is newer than this binary.
    #[error("schema migration failed: {0}")]
    Migration(String),
    /// Domain code: the write conflicts with what is stored (returned from a write closure).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Domain code: something the write needs does not exist (returned from a write closure).
    #[error("not found: {0}")]
    NotFound(String),
    /// A bug rather than bad input: a write closure panicked, a thread died, or redb reported
    /// a misuse. The message is for the log; the user should see a generic failure.
    #[error("internal store error: {0}")]
    Internal(String),
}

impl StoreError {
    /// A copy of this error for one more caller: a failed commit is answered to every job of
    /// its batch, and `io::Error` is not `Clone`, so the copy keeps the kind and the message.
    pub(crate) fn duplicate(&self) -> StoreError {
        match self {
            StoreError::InUse { path } => StoreError::InUse { path: path.clone() },
            StoreError::Io(e) => StoreError::Io(io::Error::new(e.kind(), e.to_string())),
            StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
            StoreError::Codec(m) => StoreError::Codec(m.clone()),
            StoreError::Closed => StoreError::Closed,
            StoreError::QueueFull => StoreError::QueueFull,
            StoreError::NotEmpty { path } => StoreError::NotEmpty { path: path.clone() },
            StoreError::Backup(m) => StoreError::Backup(m.clone()),
            StoreError::Migration(m) => StoreError::Migration(m.clone()),
            StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
            StoreError::NotFound(m) => StoreError::NotFound(m.clone()),
            StoreError::Internal(m) => StoreError::Internal(m.clone()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Codec(e.to_string())
    }
}

impl From<redb::StorageError> for StoreError {
    fn from(e: redb::StorageError) -> Self {
        match e {
            redb::StorageError::Corrupted(m) => StoreError::Corrupt(m),
            redb::StorageError::ValueTooLarge(n) => {
                StoreError::Codec(format!("a key or value of {n} bytes is too large to store"))
            }
            redb::StorageError::Io(e) => StoreError::Io(e),
            // redb refuses all I/O after one failed, until reopened: say so rather than hide it.
            redb::StorageError::PreviousIo => StoreError::Io(io::Error::other(
                "an earlier I/O error left the store unusable until it is reopened",
            )),
            redb::StorageError::DatabaseClosed => StoreError::Closed,
            other => StoreError::Internal(other.to_string()),
        }
    }
}

impl From<redb::TableError> for StoreError {
    fn from(e: redb::TableError) -> Self {
        match e {
            redb::TableError::Storage(e) => e.into(),
            // Every table is &[u8] -> &[u8]; another type means the file was not written by us.
            redb::TableError::TableTypeMismatch { .. }
            | redb::TableError::TableIsMultimap(_)
            | redb::TableError::TypeDefinitionChanged { .. } => StoreError::Corrupt(e.to_string()),
            other => StoreError::Internal(other.to_string()),
        }
    }
}

impl From<redb::TransactionError> for StoreError {
    fn from(e: redb::TransactionError) -> Self {
        match e {
            redb::TransactionError::Storage(e) => e.into(),
            other => StoreError::Internal(other.to_string()),
        }
    }
}

impl From<redb::CommitError> for StoreError {
    fn from(e: redb::CommitError) -> Self {
        match e {
            redb::CommitError::Storage(e) => e.into(),
            other => StoreError::Internal(other.to_string()),
        }
    }
}

impl From<redb::SetDurabilityError> for StoreError {
    fn from(e: redb::SetDurabilityError) -> Self {
        StoreError::Internal(e.to_string())
    }
}

/// Converts an error from opening a database file. `DatabaseAlreadyOpen` needs the path to say
/// which store is in use, so this is a function rather than a `From` impl.
pub(crate) fn from_open_error(e: redb::DatabaseError, path: &std::path::Path) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
            path: path.to_path_buf(),
        },
        redb::DatabaseError::Storage(e) => e.into(),
        redb::DatabaseError::UpgradeRequired(v) => StoreError::Corrupt(format!(
            "{} uses redb file format {v}, which this binary cannot read",
            path.display()
        )),
        redb::DatabaseError::RepairAborted => {
            StoreError::Corrupt(format!("the repair of {} was aborted", path.display()))
        }
        other => StoreError::Internal(other.to_string()),
    }
}
