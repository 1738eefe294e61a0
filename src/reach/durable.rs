//! What of the index must survive a restart, and its byte codec: the index hands out batches
//! of changed records ([`Index::take_dirty`]) for the appliance to write, and rebuilds itself
//! from what was written ([`Index::restore`]).
//!
//! Kept per package: its identity (purl, name, version, ecosystem), first and last seen,
//! first loaded, and the agent ids, pools and tags that ever loaded it (up to
//! `MAX_HISTORY_PER_PACKAGE` each) — one [`PackageRecord`] under the purl. And every class
//! ever loaded from it, one key each (`purl NUL class`, empty value), so a package that gains
//! a class costs one small write, not a rewrite of thousands of names. Not kept: the live
//! connections (agents resend their whole state when they reconnect) and the classes of
//! artifacts without a package identity (application code, which has no advisories). A
//! package's last seen is rewritten only when it moved by `LAST_SEEN_STEP_MS`, so after a
//! crash it may be up to that much (plus the writer's interval) behind.

use serde::{Deserialize, Serialize};

use super::index::{Index, Package, queue};
use super::purl::PackageId;

/// The stored form of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    /// Package URL (also the key).
    pub purl: String,
    /// Name as shown.
    pub name: String,
    /// Version, may be empty.
    pub version: String,
    /// OSV ecosystem.
    pub ecosystem: String,
    /// Unix ms first seen.
    pub first_seen_ms: i64,
    /// Unix ms last seen (see the module documentation for its granularity).
    pub last_seen_ms: i64,
    /// Unix ms a class of it was first loaded.
    #[serde(default)]
    pub first_loaded_ms: Option<i64>,
    /// Agent ids that ever loaded it.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Their pools.
    #[serde(default)]
    pub pools: Vec<String>,
    /// Their tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Changed records to write, from [`Index::take_dirty`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DirtyBatch {
    /// Package records: key (the purl), value (JSON of [`PackageRecord`]).
    pub packages: Vec<(Vec<u8>, Vec<u8>)>,
    /// Class keys: `purl NUL class name`; the value is empty.
    pub classes: Vec<Vec<u8>>,
    /// What to put back if the write fails (package, classes handed out from).
    receipt: Vec<(u32, usize, bool)>,
}

impl DirtyBatch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.classes.is_empty()
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.packages.len() + self.classes.len()
    }
}

/// The key of one class of a package.
pub fn class_key(purl: &str, class: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(purl.len() + 1 + class.len());
    key.extend_from_slice(purl.as_bytes());
    key.push(0);
    key.extend_from_slice(class.as_bytes());
    key
}

/// The stored form of `pkg`, with `last_seen_ms` as its last-seen time.
fn record_of(pkg: &Package, last_seen_ms: i64) -> PackageRecord {
    PackageRecord {
        purl: pkg.id.purl.clone(),
        name: pkg.id.name.clone(),
        version: pkg.id.version.clone(),
        ecosystem: pkg.id.ecosystem.clone(),
        first_seen_ms: pkg.first_seen_ms,
        last_seen_ms,
        first_loaded_ms: pkg.first_loaded_ms,
        agents: pkg.agents.iter().cloned().collect(),
        pools: pkg.pools.iter().cloned().collect(),
        tags: pkg.tags.iter().cloned().collect(),
    }
}

/// Splits a class key into purl and class name.
pub fn split_class_key(key: &[u8]) -> Option<(&str, &str)> {
    let nul = key.iter().position(|b| *b == 0)?;
    let purl = std::str::from_utf8(key.get(..nul)?).ok()?;
    let class = std::str::from_utf8(key.get(nul + 1..)?).ok()?;
    Some((purl, class))
}

/// Why stored reachability data could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored reachability record {key:?}: {reason}")]
pub struct RestoreError {
    /// The key, lossily as text.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl Index {
    /// Hands out up to about `max_records` changed records and marks them written. If the
    /// write fails, give the batch back with [`Index::unflush`].
    pub fn take_dirty(&mut self, max_records: usize) -> DirtyBatch {
        let mut batch = DirtyBatch::default();
        let mut rest = Vec::new();
        let queued = std::mem::take(&mut self.dirty);
        for p in queued {
            if batch.len() >= max_records {
                rest.push(p);
                continue;
            }
            let Some(pkg) = self.packages.get_mut(p as usize) else {
                continue;
            };
            let meta = pkg.meta_dirty;
            let list_no = pkg.list as usize;
            if meta {
                pkg.meta_dirty = false;
                pkg.persisted_last_seen_ms = pkg.last_seen_ms;
                let record = record_of(pkg, pkg.last_seen_ms);
                // Serialising plain strings and numbers cannot fail.
                let value = serde_json::to_vec(&record).unwrap_or_default();
                batch.packages.push((record.purl.into_bytes(), value));
            }
            let purl = pkg.id.purl.clone();
            pkg.queued = false;
            let mut from = usize::MAX;
            if let Some(list) = self.lists.get_mut(list_no)
                && list.owner == Some(p)
            {
                from = list.persisted;
                let room = max_records.saturating_sub(batch.len()).max(1);
                let upto = list.order.len().min(from.saturating_add(room));
                for id in list.order.get(from..upto).unwrap_or_default() {
                    if let Some(name) = self.names.name(*id) {
                        batch.classes.push(class_key(&purl, name));
                    }
                }
                list.persisted = upto;
                if upto < list.order.len() {
                    rest.push(p);
                    if let Some(pkg) = self.packages.get_mut(p as usize) {
                        pkg.queued = true;
                    }
                }
            }
            batch.receipt.push((p, from, meta));
        }
        rest.append(&mut self.dirty);
        self.dirty = rest;
        batch
    }

    /// Puts a batch whose write failed back in the queue, to be handed out again.
    pub fn unflush(&mut self, batch: DirtyBatch) {
        for (p, from, meta) in batch.receipt {
            if let Some(list_no) = self.packages.get(p as usize).map(|pkg| pkg.list as usize)
                && from != usize::MAX
                && let Some(list) = self.lists.get_mut(list_no)
            {
                list.persisted = list.persisted.min(from);
            }
            if meta && let Some(pkg) = self.packages.get_mut(p as usize) {
                pkg.persisted_last_seen_ms = i64::MIN;
            }
            queue(&mut self.packages, &mut self.dirty, p, meta);
        }
    }

    /// Rebuilds the durable part from stored rows: package records (key, value) first, then
    /// class keys. A class of an unknown package is skipped; a record that does not decode is
    /// an error (the caller logs it and goes on without it).
    pub fn restore<'a>(
        &mut self,
        packages: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        classes: impl IntoIterator<Item = &'a [u8]>,
    ) -> Vec<RestoreError> {
        let mut errors = Vec::new();
        for (key, value) in packages {
            let record: PackageRecord = match serde_json::from_slice(value) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(RestoreError {
                        key: String::from_utf8_lossy(key).into_owned(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            self.restore_package(record);
        }
        for key in classes {
            let Some((purl, class)) = split_class_key(key) else {
                errors.push(RestoreError {
                    key: String::from_utf8_lossy(key).into_owned(),
                    reason: "not a class key".into(),
                });
                continue;
            };
            let Some(list) = self
                .package_no(purl)
                .and_then(|p| self.packages.get(p as usize))
                .map(|pkg| pkg.list)
            else {
                continue;
            };
            self.restore_class(list, class);
        }
        errors
    }

    fn restore_package(&mut self, r: PackageRecord) {
        let id = PackageId {
            purl: r.purl,
            name: r.name,
            version: r.version,
            ecosystem: r.ecosystem,
        };
        let list = self.list_for(&id.purl);
        let p = self.package(&id, list, r.first_seen_ms);
        if let Some(l) = self.lists.get_mut(list as usize)
            && l.owner.is_none()
        {
            l.owner = Some(p);
        }
        let Some(pkg) = self.packages.get_mut(p as usize) else {
            return;
        };
        pkg.first_seen_ms = r.first_seen_ms;
        pkg.last_seen_ms = r.last_seen_ms;
        pkg.persisted_last_seen_ms = r.last_seen_ms;
        pkg.first_loaded_ms = r.first_loaded_ms;
        pkg.agents = r.agents.into_iter().collect();
        pkg.pools = r.pools.into_iter().collect();
        pkg.tags = r.tags.into_iter().collect();
        // Just read from the store: nothing to write back.
        pkg.meta_dirty = false;
        pkg.queued = false;
        self.dirty.retain(|d| *d != p);
    }

    /// The durable state as records, by purl, each with its class names sorted: what a
    /// restart would rebuild (tests compare it across a round trip).
    pub fn durable_view(&self) -> Vec<(PackageRecord, Vec<String>)> {
        let mut out: Vec<(PackageRecord, Vec<String>)> = self
            .packages
            .iter()
            .enumerate()
            .map(|(p, pkg)| {
                let mut classes: Vec<String> = self
                    .lists
                    .get(pkg.list as usize)
                    .filter(|l| l.owner.is_some_and(|o| o as usize == p))
                    .map(|l| {
                        l.order
                            .iter()
                            .take(l.persisted)
                            .filter_map(|id| self.names.name(*id))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                classes.sort();
                (record_of(pkg, pkg.persisted_last_seen_ms), classes)
            })
            .collect();
        out.sort_by(|a, b| a.0.purl.cmp(&b.0.purl));
        out
    }
}
