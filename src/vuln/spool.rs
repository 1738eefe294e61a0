//! Temporary files for vulnerability data arriving over a connection (a portal or API
//! upload, a file sent by `lantern vulndb import` through the control socket): written to
//! `<data_dir>/uploads/` (owner-only, inside the appliance's own sandbox), bounded in size,
//! removed when dropped, and swept at start in case the process died holding one.
//!
//! A dump is a zip, whose directory sits at its end, so it must be whole before it can be
//! read: spooling it to disk keeps memory flat whatever the upload's size.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The directory below the data directory that holds spooled files.
const DIR: &str = "uploads";

/// A spooled file; removed from disk when dropped.
#[derive(Debug)]
pub struct SpoolFile {
    path: PathBuf,
}

impl SpoolFile {
    /// Creates a new, empty, owner-only file under `<data_dir>/uploads/` and opens it for
    /// writing.
    pub async fn create(data_dir: &Path) -> std::io::Result<(SpoolFile, tokio::fs::File)> {
        let dir = data_dir.join(DIR);
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)?;
        }
        let path = dir.join(format!("{}.part", crate::iam::tokens::random_id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok((SpoolFile { path }, tokio::fs::File::from_std(file)))
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes files a previous run left behind (it was killed while receiving them).
pub fn sweep(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir.join(DIR)) else {
        return;
    };
    // Bounded: nothing else writes there, and each upload leaves at most one file.
    for entry in entries.flatten().take(100_000) {
        if entry.path().extension().is_some_and(|e| e == "part") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spooled_files_are_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        use tokio::io::AsyncWriteExt;
        let dir = tempfile::tempdir().unwrap();
        let (spool, mut file) = SpoolFile::create(dir.path()).await.unwrap();
        file.write_all(b"x").await.unwrap();
        file.flush().await.unwrap();
        let path = spool.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        drop(spool);
        assert!(!path.exists());
        let (left, _) = SpoolFile::create(dir.path()).await.unwrap();
        let kept = left.path().to_path_buf();
        std::mem::forget(left);
        sweep(dir.path());
        assert!(!kept.exists());
    }
}
