//! File-system helpers for writing a whole file safely: private (0600) creation, a temporary
//! name beside the destination that is removed on failure, and publishing it under its final
//! name without ever overwriting an existing file.
//!
//! Backups and restores hold every secret the appliance has, so they are never readable by
//! other users, never half-written under their final name, and never clobber a file.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Creates `path` (which must not exist) readable and writable by the owner only.
pub(crate) fn create_private_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Creates `path` readable and writable by the owner only, if it does not exist yet; an
/// existing file is left as it is.
pub(crate) fn create_private_if_missing(path: &Path) -> io::Result<()> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(drop)
}

/// Whether anything (file, directory, dangling symlink) exists at `path`.
pub(crate) fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary file beside a destination, removed on drop unless it was published.
pub(crate) struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Creates an empty private file with a unique hidden name in `dest`'s directory, so the
    /// final rename stays within one file system.
    pub(crate) fn beside(dest: &Path) -> io::Result<TempFile> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lantern".to_string());
        let name = format!(
            ".{base}.tmp-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let path = parent_dir(dest).join(name);
        create_private_new(&path)?;
        Ok(TempFile { path, armed: true })
    }

    /// The temporary file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs the temporary file and gives it the name `dest`, failing with `AlreadyExists` if
    /// `dest` exists. A hard link is used because, unlike `rename`, it never replaces an
    /// existing file; `rename` is the fallback on file systems without links.
    pub(crate) fn publish(mut self, dest: &Path) -> io::Result<()> {
        File::open(&self.path)?.sync_all()?;
        match fs::hard_link(&self.path, dest) {
            Ok(()) => {
                fs::remove_file(&self.path)?;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
            Err(_) => {
                if exists(dest) {
                    return Err(io::Error::from(io::ErrorKind::AlreadyExists));
                }
                fs::rename(&self.path, dest)?;
            }
        }
        self.armed = false;
        // The new directory entry is only durable once the directory itself is synced.
        File::open(parent_dir(dest))?.sync_all()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Err(e) = fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove a temporary file");
        }
    }
}
