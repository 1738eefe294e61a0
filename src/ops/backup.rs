//! Backup and restore of a whole data directory: the store's tables plus the TLS certificate
//! and key, so that a restored appliance keeps the pin its agents were given.
//!
//! A backup is taken from a read snapshot while the appliance keeps running (through the
//! control socket) or from the store directly when it is stopped. Restore only writes into an
//! empty or missing data directory, and validates the whole backup before writing anything.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::app::{prepare_data_dir, store_path};
use crate::store::{self, BackupStats, RestoreStats, StoreError};
use crate::tls::TlsFiles;

/// Names the TLS files carry inside a backup.
const CERT: &str = "tls/cert.pem";
const KEY: &str = "tls/key.pem";
const PREVIOUS_CERT: &str = "tls/previous-cert.pem";

/// The TLS files of a data directory, as (name in backup, bytes).
pub fn tls_files_for_backup(files: &TlsFiles) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for (name, path) in [
        (CERT, &files.cert),
        (KEY, &files.key),
        (PREVIOUS_CERT, &files.previous_cert),
    ] {
        match std::fs::read(path) {
            Ok(bytes) => out.push((name.to_string(), bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == PREVIOUS_CERT => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// One line describing a finished backup.
pub fn describe(to: &Path, stats: &BackupStats) -> String {
    format!(
        "backup written to {}: {} tables, {} rows, {} bytes",
        to.display(),
        stats.tables,
        stats.rows,
        stats.bytes
    )
}

/// Restores `backup` into `data_dir`, which must be missing or empty.
pub fn restore(backup: &Path, data_dir: &Path) -> Result<RestoreStats, StoreError> {
    if data_dir.exists() {
        let mut entries = std::fs::read_dir(data_dir).map_err(StoreError::Io)?;
        if entries.next().is_some() {
            return Err(StoreError::NotEmpty {
                path: data_dir.to_path_buf(),
            });
        }
    }
    prepare_data_dir(data_dir).map_err(|e| StoreError::Backup(e.to_string()))?;
    let stats = store::restore(backup, &store_path(data_dir))?;
    let tls = TlsFiles::in_dir(data_dir);
    for (name, bytes) in &stats.files {
        let (path, mode) = match name.as_str() {
            CERT => (&tls.cert, 0o644),
            KEY => (&tls.key, 0o600),
            PREVIOUS_CERT => (&tls.previous_cert, 0o644),
            other => {
                tracing::warn!("ignoring unknown file {other} in the backup");
                continue;
            }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .map_err(StoreError::Io)?;
        f.write_all(bytes).map_err(StoreError::Io)?;
        f.sync_all().map_err(StoreError::Io)?;
    }
    Ok(stats)
}
