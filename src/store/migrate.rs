//! Schema migrations: the list of steps that bring a store file up to this binary's schema
//! version, and the runner that applies them at open.
//!
//! The version lives in [`META`] under `schema_version`. All pending steps run, in order, in ONE
//! durable transaction together with the version bump: a store is either fully at the old
//! version or fully at the new one, even after a crash mid-migration. A store newer than the
//! binary is refused rather than guessed at, since an older binary cannot know what a newer
//! layout means.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::error::StoreError;
use super::tables::{META, SCHEMA_VERSION_KEY};
use super::tx::WriteTx;
use super::writer::begin_durable;

/// The schema version of a store that has never been migrated (and of a new, empty store
/// before the migrations run).
pub const BASE_SCHEMA_VERSION: u32 = 1;

/// One step of the schema, from version `from` to version `to` (`to == from + 1`).
///
/// A layout change is a new table (`things_v2`) filled from the old one (`things_v1`), which
/// the step then drops: rows are never reinterpreted in place.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// The version this step starts from.
    pub from: u32,
    /// The version the store is at once this step has run.
    pub to: u32,
    /// What the step does, for the log and for error messages.
    pub description: &'static str,
    /// The step itself. It runs inside the open's single transaction; returning `Err` aborts
    /// every step and leaves the store untouched at its old version.
    pub apply: fn(&mut WriteTx<'_>) -> Result<(), StoreError>,
}

/// The migrations of this binary, oldest first. Empty: the schema is at version 1.
pub static MIGRATIONS: &[Migration] = &[];

/// The schema version a store is at after `migrations` have run.
pub fn target_version(migrations: &[Migration]) -> u32 {
    migrations.last().map_or(BASE_SCHEMA_VERSION, |m| m.to)
}

/// Checks that `migrations` form one chain from [`BASE_SCHEMA_VERSION`] upwards, one version
/// per step, so no step can be skipped or run twice.
fn check_chain(migrations: &[Migration]) -> Result<(), StoreError> {
    let mut version = BASE_SCHEMA_VERSION;
    for m in migrations {
        if m.from != version || m.to != version.saturating_add(1) {
            return Err(StoreError::Migration(format!(
                "migration \"{}\" goes from {} to {}, expected {} to {}",
                m.description,
                m.from,
                m.to,
                version,
                version.saturating_add(1)
            )));
        }
        version = m.to;
    }
    Ok(())
}

/// Brings the store up to the target version of `migrations`; answers the version it is at.
/// A store already at the target version is left untouched (no commit at all).
pub(crate) fn run(db: &redb::Database, migrations: &[Migration]) -> Result<u32, StoreError> {
    check_chain(migrations)?;
    let target = target_version(migrations);
    let txn = begin_durable(db)?;
    let outcome = {
        let mut tx = WriteTx::new(&txn);
        apply_pending(&mut tx, migrations, target)
    };
    match outcome {
        Ok(Some(version)) => {
            txn.commit()?;
            Ok(version)
        }
        Ok(None) => {
            txn.abort()?;
            Ok(target)
        }
        Err(e) => {
            // Dropping the transaction would abort it too; aborting explicitly surfaces an
            // error, which is only logged because the migration's own error matters more.
            if let Err(abort) = txn.abort() {
                tracing::warn!(error = %abort, "aborting a failed migration failed");
            }
            Err(e)
        }
    }
}

/// Applies the steps the store still needs inside `tx`; answers the new version, or `None`
/// when there was nothing to do.
fn apply_pending(
    tx: &mut WriteTx<'_>,
    migrations: &[Migration],
    target: u32,
) -> Result<Option<u32>, StoreError> {
    let stored: Option<u32> = tx
        .get_json(&META, SCHEMA_VERSION_KEY)
        .map_err(|e| StoreError::Migration(format!("cannot read the schema version: {e}")))?;
    let mut version = stored.unwrap_or(BASE_SCHEMA_VERSION);
    if version > target {
        return Err(StoreError::Migration(format!(
            "the store is at schema version {version}, newer than this binary's {target}: \
             run a newer Lantern, or restore a backup taken by this version"
        )));
    }
    if stored == Some(target) {
        return Ok(None);
    }
    let pending: Vec<&Migration> = migrations.iter().filter(|m| m.from >= version).collect();
    for m in pending {
        tracing::info!(
            from = m.from,
            to = m.to,
            step = m.description,
            "migrating the store"
        );
        let result = catch_unwind(AssertUnwindSafe(|| (m.apply)(tx)))
            .unwrap_or_else(|_| Err(StoreError::Internal("the migration panicked".to_string())));
        result.map_err(|e| {
            StoreError::Migration(format!(
                "step {} -> {} ({}) failed: {e}",
                m.from, m.to, m.description
            ))
        })?;
        version = m.to;
    }
    tx.put_json(&META, SCHEMA_VERSION_KEY, &version)?;
    Ok(Some(version))
}
