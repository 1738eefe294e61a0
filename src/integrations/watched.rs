//! Watched Packages in the store, and the webhook events that package and class loads fire.
//!
//! Storage: [`WATCHED`] by id (JSON `reach::watch::Entry`), at most [`MAX_ENTRIES`]. Two
//! entries never share package and version text; a CSV import updates such an entry instead
//! of adding a second one, and adds to its classes rather than replacing them, so an import
//! never loses what was there.
//!
//! Events come from the reachability writer (`agents::reach_store`), not from ingest: every
//! flush compares each package record it writes with the stored one in the same transaction
//! (`reach::watch::package_change`) and hands the classes first written for a package (only
//! the names some entry watches, see [`watched_class_names`]) to [`Notifier`] through a
//! bounded queue. Because the comparison is against what is durable, a restart (which
//! restores the records) fires nothing again: "vulnerable package first loaded in a pool"
//! fires once per package and pool for the life of the data. The advisory matcher runs here,
//! once per package first loaded in a pool, never per class-load frame.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use tokio::sync::mpsc;

use super::delivery::{Dispatcher, Targets};
use super::webhooks::{self as hooks, EventType, WebhookEvent};
use crate::agents::reach_store::REACH_PACKAGES;
use crate::clock::SharedClock;
use crate::iam::tokens;
use crate::reach::PackageRecord;
use crate::reach::purl::PackageId;
use crate::reach::watch::{Changes, Checked, CsvReport, Entry, FieldError, LineError};
use crate::store::{Reads, Store, StoreError, Table, WriteTx};
use crate::vuln::index::Matcher;

/// Watched Packages by id.
pub const WATCHED: Table = Table::new("watched_packages_v1");
/// Most entries.
pub const MAX_ENTRIES: usize = 5_000;
/// Change sets waiting for the notifier; more are dropped with a warning (the writer must
/// never wait on webhook work).
pub const QUEUE: usize = 64;
/// Most advisory ids named in one event.
const ADVISORIES_NAMED: usize = 20;

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum WatchedError {
    /// A field is wrong.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// No such entry.
    #[error("no such watched package")]
    NotFound,
    /// [`MAX_ENTRIES`] reached.
    #[error("at most {MAX_ENTRIES} watched packages")]
    TooMany,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every entry, by package then version.
pub fn list(tx: &impl Reads) -> Result<Vec<Entry>, StoreError> {
    let mut all = tx.scan_json::<Entry>(&WATCHED, MAX_ENTRIES + 1)?;
    all.sort_by(|a, b| {
        (a.package.as_str(), a.version.as_str(), a.id.as_str()).cmp(&(
            b.package.as_str(),
            b.version.as_str(),
            b.id.as_str(),
        ))
    });
    Ok(all)
}

/// One entry.
pub fn get(tx: &impl Reads, id: &str) -> Result<Option<Entry>, StoreError> {
    tx.get_json_value(&WATCHED, id.as_bytes())
}

/// Refuses a webhook id that names no webhook.
fn check_webhook(tx: &impl Reads, c: &Checked) -> Result<(), WatchedError> {
    if let Some(w) = &c.webhook
        && tx
            .get_json_value::<hooks::Webhook>(&hooks::WEBHOOKS, w.as_bytes())?
            .is_none()
    {
        return Err(FieldError {
            field: "webhook",
            message: format!("no webhook has the id {w}"),
        }
        .into());
    }
    Ok(())
}

fn duplicate(existing: &[Entry], c: &Checked, except: Option<&str>) -> Option<String> {
    existing
        .iter()
        .find(|e| e.key() == c.key() && Some(e.id.as_str()) != except)
        .map(|e| e.id.clone())
}

/// A new entry with a fresh id from checked fields (create and import share it).
fn new_entry(c: &Checked, now_ms: i64) -> Entry {
    Entry {
        id: tokens::random_id(),
        ecosystem: c.ecosystem,
        package: c.package.clone(),
        version: c.version.clone(),
        classes: c.classes.clone(),
        webhook: c.webhook.clone(),
        note: c.note.clone(),
        created_ms: now_ms,
        updated_ms: now_ms,
    }
}

/// Creates an entry.
pub fn create(tx: &mut WriteTx<'_>, c: &Checked, now_ms: i64) -> Result<Entry, WatchedError> {
    check_webhook(tx, c)?;
    let all = list(tx)?;
    if all.len() >= MAX_ENTRIES {
        return Err(WatchedError::TooMany);
    }
    if let Some(id) = duplicate(&all, c, None) {
        return Err(FieldError {
            field: "package",
            message: format!("this package and version are already watched (entry {id})"),
        }
        .into());
    }
    let entry = new_entry(c, now_ms);
    tx.put_json(&WATCHED, entry.id.as_bytes(), &entry)?;
    Ok(entry)
}

/// Replaces an entry's fields.
pub fn update(
    tx: &mut WriteTx<'_>,
    id: &str,
    c: &Checked,
    now_ms: i64,
) -> Result<Entry, WatchedError> {
    let mut entry = get(tx, id)?.ok_or(WatchedError::NotFound)?;
    check_webhook(tx, c)?;
    if let Some(other) = duplicate(&list(tx)?, c, Some(id)) {
        return Err(FieldError {
            field: "package",
            message: format!("this package and version are already watched (entry {other})"),
        }
        .into());
    }
    entry.ecosystem = c.ecosystem;
    entry.package = c.package.clone();
    entry.version = c.version.clone();
    entry.classes = c.classes.clone();
    entry.webhook = c.webhook.clone();
    entry.note = c.note.clone();
    entry.updated_ms = now_ms;
    tx.put_json(&WATCHED, id.as_bytes(), &entry)?;
    Ok(entry)
}

/// Removes an entry.
pub fn delete(tx: &mut WriteTx<'_>, id: &str) -> Result<Entry, WatchedError> {
    let entry = get(tx, id)?.ok_or(WatchedError::NotFound)?;
    tx.delete(&WATCHED, id.as_bytes())?;
    Ok(entry)
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportResult {
    /// Entries added.
    pub created: usize,
    /// Existing entries (same package and version) that got the line's classes, webhook
    /// and note.
    pub updated: usize,
    /// Lines refused, by the parser or here (unknown webhook, the entry bound).
    pub errors: Vec<LineError>,
}

/// Stores the good rows of a parsed CSV file: new entries are added, an entry with the same
/// package and version gets the row's classes added and its webhook and note set when the
/// row gives them. Lines naming an unknown webhook, and lines past [`MAX_ENTRIES`], are
/// refused with their number; nothing stored before is removed.
pub fn import(
    tx: &mut WriteTx<'_>,
    report: &CsvReport,
    now_ms: i64,
) -> Result<ImportResult, StoreError> {
    let mut all = list(tx)?;
    let mut out = ImportResult {
        errors: report.errors.clone(),
        ..Default::default()
    };
    for (line, c) in &report.rows {
        if let Err(e) = check_webhook(tx, c) {
            out.errors.push(LineError {
                line: *line,
                reason: e.to_string(),
            });
            continue;
        }
        if let Some(e) = all.iter_mut().find(|e| e.key() == c.key()) {
            for class in &c.classes {
                if !e.classes.contains(class) {
                    e.classes.push(class.clone());
                }
            }
            if c.webhook.is_some() {
                e.webhook = c.webhook.clone();
            }
            if !c.note.is_empty() {
                e.note = c.note.clone();
            }
            e.updated_ms = now_ms;
            tx.put_json(&WATCHED, e.id.as_bytes(), &*e)?;
            out.updated += 1;
            continue;
        }
        if all.len() >= MAX_ENTRIES {
            out.errors.push(LineError {
                line: *line,
                reason: WatchedError::TooMany.to_string(),
            });
            continue;
        }
        let entry = new_entry(c, now_ms);
        tx.put_json(&WATCHED, entry.id.as_bytes(), &entry)?;
        all.push(entry);
        out.created += 1;
    }
    out.errors.sort_by_key(|e| e.line);
    Ok(out)
}

/// Every class or module name some entry watches: the reachability writer keeps only the
/// first loads of these for the notifier.
pub fn watched_class_names(tx: &impl Reads) -> Result<HashSet<String>, StoreError> {
    Ok(list(tx)?.into_iter().flat_map(|e| e.classes).collect())
}

fn targets_of(entry: &Entry) -> Targets {
    match &entry.webhook {
        Some(id) => Targets::Only(vec![id.clone()]),
        None => Targets::All,
    }
}

fn shown(id: &PackageId) -> String {
    if id.version.is_empty() {
        id.name.clone()
    } else {
        format!("{} {}", id.name, id.version)
    }
}

fn watched_as(entry: &Entry) -> String {
    if entry.version.is_empty() {
        format!("{} (any version)", entry.package)
    } else {
        format!("{} {}", entry.package, entry.version)
    }
}

/// The events of one change set: `packages` resolves a purl to its package (for classes
/// whose package record was not part of the change), `advisories` names the advisories of
/// a package (empty when it is not vulnerable).
pub fn events(
    changes: &Changes,
    entries: &[Entry],
    packages: &BTreeMap<String, PackageId>,
    mut advisories: impl FnMut(&PackageId) -> Vec<String>,
    now_ms: i64,
) -> Vec<(WebhookEvent, Targets)> {
    let mut out = Vec::new();
    for ch in &changes.packages {
        if ch.newly_loaded {
            for e in entries.iter().filter(|e| e.matches(&ch.id)) {
                let pools = ch.new_pools.join(", ");
                out.push((
                    WebhookEvent::new(
                        EventType::WatchedPackageLoaded,
                        now_ms,
                        &format!("Watched package loaded: {}", shown(&ch.id)),
                        &format!(
                            "{} ({}) was loaded for the first time, by an agent of pool {}. Watched as {}.",
                            shown(&ch.id),
                            ch.id.purl,
                            if pools.is_empty() { "(unknown)" } else { &pools },
                            watched_as(e)
                        ),
                    ),
                    targets_of(e),
                ));
            }
        }
        if ch.new_pools.is_empty() || !crate::reach::assess::matchable(&ch.id) {
            continue;
        }
        let ids = advisories(&ch.id);
        if ids.is_empty() {
            continue;
        }
        let mut named: Vec<&str> = ids
            .iter()
            .take(ADVISORIES_NAMED)
            .map(String::as_str)
            .collect();
        if ids.len() > ADVISORIES_NAMED {
            named.push("…");
        }
        for pool in &ch.new_pools {
            out.push((
                WebhookEvent::new(
                    EventType::VulnerablePackageLoaded,
                    now_ms,
                    &format!(
                        "Vulnerable package first loaded in pool {pool}: {}",
                        shown(&ch.id)
                    ),
                    &format!(
                        "{} ({}) was loaded for the first time by an agent of pool {pool}. Advisories: {}.",
                        shown(&ch.id),
                        ch.id.purl,
                        named.join(", ")
                    ),
                ),
                Targets::All,
            ));
        }
    }
    for (purl, class) in &changes.classes {
        let Some(id) = packages.get(purl) else {
            continue;
        };
        for e in entries
            .iter()
            .filter(|e| e.classes.contains(class) && e.matches(id))
        {
            out.push((
                WebhookEvent::new(
                    EventType::WatchedClassLoaded,
                    now_ms,
                    &format!("Watched class loaded: {class} ({})", shown(id)),
                    &format!(
                        "{class} of {} ({purl}) was loaded for the first time. Watched as {}.",
                        shown(id),
                        watched_as(e)
                    ),
                ),
                targets_of(e),
            ));
        }
    }
    out
}

/// Turns change sets from the reachability writer into webhook events.
#[derive(Clone)]
pub struct Notifier {
    /// The store (entries, package records).
    pub store: Store,
    /// The advisories.
    pub vulndb: Matcher,
    /// Where events go.
    pub webhooks: Dispatcher,
    /// Event times.
    pub clock: SharedClock,
}

impl Notifier {
    /// Starts the task that reads change sets until every sender is gone; answers the sender
    /// for the reachability writer.
    pub fn start(self) -> mpsc::Sender<Changes> {
        let (tx, mut rx) = mpsc::channel::<Changes>(QUEUE);
        tokio::spawn(async move {
            while let Some(changes) = rx.recv().await {
                if let Err(e) = self.notify(changes).await {
                    tracing::warn!("watched package events not sent: {e}");
                }
            }
        });
        tx
    }

    /// Fires the events of one change set.
    pub async fn notify(&self, changes: Changes) -> Result<usize, StoreError> {
        let purls: BTreeSet<String> = changes
            .classes
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| !changes.packages.iter().any(|c| &c.id.purl == p))
            .collect();
        let (entries, mut packages) = self
            .store
            .read(move |tx| {
                let mut packages = BTreeMap::new();
                for purl in purls {
                    if let Some(r) =
                        tx.get_json::<PackageRecord>(&REACH_PACKAGES, purl.as_bytes())?
                    {
                        packages.insert(
                            purl,
                            PackageId {
                                purl: r.purl,
                                name: r.name,
                                version: r.version,
                                ecosystem: r.ecosystem,
                            },
                        );
                    }
                }
                // An entry whose webhook was deleted since falls back to every webhook
                // rather than to none.
                let hooks: HashSet<String> = hooks::list(tx)?.into_iter().map(|h| h.id).collect();
                let mut entries = list(tx)?;
                for e in &mut entries {
                    if e.webhook.as_ref().is_some_and(|w| !hooks.contains(w)) {
                        e.webhook = None;
                    }
                }
                Ok((entries, packages))
            })
            .await?;
        for c in &changes.packages {
            packages.insert(c.id.purl.clone(), c.id.clone());
        }
        let advisories = self.vulndb.snapshot();
        let events = events(
            &changes,
            &entries,
            &packages,
            |id| {
                advisories
                    .query(&id.ecosystem, &id.name, &id.version)
                    .iter()
                    .map(|a| a.id.clone())
                    .collect()
            },
            self.clock.now_ms(),
        );
        let n = events.len();
        for (event, targets) in events {
            self.webhooks.fire(event, targets);
        }
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::reach::watch::{Ecosystem, PackageChange};

    fn entry(package: &str, version: &str, classes: &[&str], webhook: Option<&str>) -> Entry {
        Entry {
            id: format!("e-{package}"),
            ecosystem: if package.contains(':') {
                Ecosystem::Maven
            } else {
                Ecosystem::Pypi
            },
            package: package.into(),
            version: version.into(),
            classes: classes.iter().map(|s| s.to_string()).collect(),
            webhook: webhook.map(str::to_string),
            note: String::new(),
            created_ms: 0,
            updated_ms: 0,
        }
    }

    fn id(name: &str, version: &str) -> PackageId {
        PackageId {
            purl: format!("pkg:maven/{}@{version}", name.replace(':', "/")),
            name: name.into(),
            version: version.into(),
            ecosystem: "Maven".into(),
        }
    }

    #[test]
    fn each_kind_of_event_goes_where_the_entry_says() {
        let entries = [
            entry("g:a", "[1.0,2.0)", &["g.A"], Some("hook1")),
            entry("g:b", "", &[], None),
        ];
        let changes = Changes {
            packages: vec![
                PackageChange {
                    id: id("g:a", "1.5"),
                    newly_loaded: true,
                    new_pools: vec!["p1".into()],
                },
                PackageChange {
                    id: id("g:b", "3.0"),
                    newly_loaded: false,
                    new_pools: vec!["p1".into(), "p2".into()],
                },
                PackageChange {
                    id: id("g:a", "2.0"),
                    newly_loaded: true,
                    new_pools: vec!["p1".into()],
                },
            ],
            classes: vec![
                ("pkg:maven/g/a@1.5".into(), "g.A".into()),
                ("pkg:maven/g/a@1.5".into(), "g.Other".into()),
                ("pkg:maven/g/a@2.0".into(), "g.A".into()),
                ("pkg:unknown".into(), "g.A".into()),
            ],
        };
        let packages: BTreeMap<_, _> = changes
            .packages
            .iter()
            .map(|c| (c.id.purl.clone(), c.id.clone()))
            .collect();
        let ev = events(
            &changes,
            &entries,
            &packages,
            |p| {
                if p.name == "g:b" {
                    vec!["GHSA-1".into()]
                } else {
                    Vec::new()
                }
            },
            1,
        );
        let got: Vec<_> = ev
            .iter()
            .map(|(e, t)| (e.event_type, e.title.clone(), t.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    EventType::WatchedPackageLoaded,
                    "Watched package loaded: g:a 1.5".to_string(),
                    Targets::Only(vec!["hook1".into()])
                ),
                (
                    EventType::VulnerablePackageLoaded,
                    "Vulnerable package first loaded in pool p1: g:b 3.0".to_string(),
                    Targets::All
                ),
                (
                    EventType::VulnerablePackageLoaded,
                    "Vulnerable package first loaded in pool p2: g:b 3.0".to_string(),
                    Targets::All
                ),
                (
                    EventType::WatchedClassLoaded,
                    "Watched class loaded: g.A (g:a 1.5)".to_string(),
                    Targets::Only(vec!["hook1".into()])
                ),
            ]
        );
        assert!(ev[2].0.message.contains("GHSA-1"));
    }
}
