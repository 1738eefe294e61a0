//! The in-memory advisory matcher the appliance queries: OSV records compiled once when they
//! are loaded (range events parsed in their ecosystem's order and sorted, explicit PyPI
//! versions parsed), so that a query parses only its own version. The answers are the same
//! as [`super::matching::affects`] record by record (checked by the tests below against the
//! fixture expectations and against the per-query path over the whole PyPA dump).
//!
//! [`Matcher`] is the shared handle: readers take the current [`Index`] (an `Arc`, cloned
//! under a lock held for a pointer copy) and query it without any lock, while an import
//! builds a new index aside and swaps it in; a query never sees half an import.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use serde::Serialize;

use super::matching::{CompiledRange, Query, Scheme, Version, base_ecosystem, range_scheme};
use super::osv::{Record, SeveritySummary};
use super::pep440::PypiVersion;

/// What a query answers about one advisory: enough for a list row, a badge and a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advisory {
    /// The record's id (`GHSA-...`, `PYSEC-...`).
    pub id: String,
    /// Other ids of the same vulnerability, CVE ids among them.
    pub aliases: Vec<String>,
    /// The severity to show (CVSS v3 score computed from the vector, else the rating given).
    pub severity: Option<SeveritySummary>,
    /// One line of text, when the record has one.
    pub summary: Option<String>,
    /// When the record last changed (RFC 3339).
    pub modified: String,
}

impl Advisory {
    fn of(record: &Record) -> Advisory {
        Advisory {
            id: record.id.clone(),
            aliases: record.aliases.clone(),
            severity: record.severity_summary(),
            summary: record.summary.clone(),
            modified: record.modified.clone(),
        }
    }
}

/// One `affected` entry of a record, compiled.
#[derive(Debug)]
struct Entry {
    /// Index into [`Index::advisories`].
    advisory: usize,
    /// The `versions` list as written (every ecosystem matches the exact text).
    versions: HashSet<String>,
    /// The valid PEP 440 versions of the list (PyPI only: `2.10` is `2.10.0` there).
    pypi_versions: Vec<PypiVersion>,
    /// The ranges that can be evaluated (GIT ranges and unknown orders left out).
    ranges: Vec<CompiledRange>,
}

/// Counts for the status page and the API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Records held, withdrawn ones included.
    pub records: usize,
    /// Withdrawn records (kept for display, never matched).
    pub withdrawn: usize,
    /// Records per base ecosystem (a record naming packages of two ecosystems counts in
    /// both).
    pub by_ecosystem: BTreeMap<String, usize>,
    /// The newest `modified` of any record, as written in it.
    pub newest_modified: Option<String>,
    /// The same as milliseconds since the Unix epoch.
    pub newest_modified_ms: Option<i64>,
}

/// The compiled advisories; immutable once built.
#[derive(Debug, Default)]
pub struct Index {
    advisories: Vec<Arc<Advisory>>,
    /// (base ecosystem, normalised name) → compiled entries naming that package.
    by_package: HashMap<(String, String), Vec<Entry>>,
    stats: Stats,
}

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index::default()
    }

    /// Adds one record (each id once: the caller, the store, keeps one copy per id).
    /// Withdrawn records are counted and never matched.
    pub fn add(&mut self, record: &Record) {
        self.stats.records = self.stats.records.saturating_add(1);
        if let Some(at) = record.modified_at() {
            let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
            if self.stats.newest_modified_ms.is_none_or(|n| ms > n) {
                self.stats.newest_modified_ms = Some(ms);
                self.stats.newest_modified = Some(record.modified.clone());
            }
        }
        let ecosystems: HashSet<&str> = record
            .affected
            .iter()
            .map(|a| base_ecosystem(&a.package.ecosystem))
            .collect();
        for ecosystem in ecosystems {
            *self
                .stats
                .by_ecosystem
                .entry(ecosystem.to_string())
                .or_default() += 1;
        }
        if record.is_withdrawn() {
            self.stats.withdrawn = self.stats.withdrawn.saturating_add(1);
            return;
        }
        let advisory = self.advisories.len();
        self.advisories.push(Arc::new(Advisory::of(record)));
        for affected in &record.affected {
            let ecosystem = &affected.package.ecosystem;
            let scheme = Scheme::of_ecosystem(ecosystem);
            let ranges = affected
                .ranges
                .iter()
                .filter_map(|r| {
                    range_scheme(r.kind, scheme).map(|s| CompiledRange::compile(&r.events, s, true))
                })
                .collect();
            let pypi_versions = if scheme == Some(Scheme::Pypi) {
                affected
                    .versions
                    .iter()
                    .map(|v| PypiVersion::parse(v))
                    .filter(PypiVersion::is_valid)
                    .collect()
            } else {
                Vec::new()
            };
            let key = (
                base_ecosystem(ecosystem).to_string(),
                super::matching::normalize_name(ecosystem, &affected.package.name),
            );
            self.by_package.entry(key).or_default().push(Entry {
                advisory,
                versions: affected.versions.iter().cloned().collect(),
                pypi_versions,
                ranges,
            });
        }
    }

    /// The counts of what is held.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether no record is held at all (the portal shows that as a problem: nothing can be
    /// matched, which is not the same as nothing being vulnerable).
    pub fn is_empty(&self) -> bool {
        self.stats.records == 0
    }

    /// The advisories that affect `name` at `version` in `ecosystem` (`Maven`, `PyPI`, ...;
    /// a `:suffix` is ignored; PyPI names compare after PEP 503 normalisation), by id.
    pub fn query(&self, ecosystem: &str, name: &str, version: &str) -> Vec<Arc<Advisory>> {
        self.matches(&Query::new(ecosystem, name, version))
    }

    /// [`Index::query`] for a query already built (to ask many indexes, or to time it).
    pub fn matches(&self, query: &Query) -> Vec<Arc<Advisory>> {
        let key = (query.ecosystem.clone(), query.name.clone());
        let Some(entries) = self.by_package.get(&key) else {
            return Vec::new();
        };
        // A SEMVER range in an ecosystem of another order needs the version as SemVer:
        // parsed at most once per query.
        let mut semver: Option<Version> = None;
        let mut hits: Vec<usize> = Vec::new();
        for entry in entries {
            if hits.contains(&entry.advisory) {
                continue;
            }
            if self.entry_matches(entry, query, &mut semver) {
                hits.push(entry.advisory);
            }
        }
        let mut found: Vec<Arc<Advisory>> = hits
            .into_iter()
            .filter_map(|i| self.advisories.get(i).cloned())
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    }

    fn entry_matches(&self, entry: &Entry, query: &Query, semver: &mut Option<Version>) -> bool {
        if entry.versions.contains(&query.text) {
            return true;
        }
        if let Some(v @ Version::Pypi(PypiVersion::Valid(_))) = &query.version
            && entry
                .pypi_versions
                .iter()
                .any(|p| matches!(v, Version::Pypi(q) if q == p))
        {
            return true;
        }
        entry.ranges.iter().any(|range| {
            let scheme = range.scheme();
            match &query.version {
                Some(v) if query.scheme == Some(scheme) => range.contains(v),
                _ => {
                    let v = semver.get_or_insert_with(|| scheme.parse(&query.text));
                    range.contains(v)
                }
            }
        })
    }
}

/// The shared, swappable handle on the current [`Index`]: cheap to clone, safe to query
/// from any number of threads while an import replaces the index.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    current: Arc<RwLock<Arc<Index>>>,
}

impl Matcher {
    /// A matcher holding an empty index.
    pub fn new() -> Matcher {
        Matcher::default()
    }

    /// The index in force now; keep it for a whole page or request so all its answers agree.
    pub fn snapshot(&self) -> Arc<Index> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts `index` in force; queries already running finish on the old one.
    pub fn replace(&self, index: Index) {
        let index = Arc::new(index);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = index;
    }

    /// [`Index::query`] on the index in force.
    pub fn query(&self, ecosystem: &str, name: &str, version: &str) -> Vec<Arc<Advisory>> {
        self.snapshot().query(ecosystem, name, version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::matching::{Database, affects};
    use crate::vuln::osv::{self, DumpLimits};
    use std::path::PathBuf;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv")
    }

    fn fixture_records() -> Vec<Record> {
        let limits = DumpLimits::default();
        let mut records = Vec::new();
        for dir in ["records/maven", "records/pypi"] {
            records.extend(
                osv::read_dir(&fixtures().join(dir), &limits)
                    .unwrap()
                    .records,
            );
        }
        records
    }

    #[test]
    fn reproduces_expected_matches_exactly() {
        let mut index = Index::new();
        fixture_records().iter().for_each(|r| index.add(r));
        let expected: serde_json::Value =
            serde_json::from_str(&crate::vuln::fixture("osv/expected-matches.json")).unwrap();
        let tuples = expected.as_array().unwrap();
        assert_eq!(tuples.len(), 37);
        for t in tuples {
            let got: Vec<String> = index
                .query(
                    t["ecosystem"].as_str().unwrap(),
                    t["name"].as_str().unwrap(),
                    t["version"].as_str().unwrap(),
                )
                .iter()
                .map(|a| a.id.clone())
                .collect();
            let want: Vec<String> = t["affected_by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, want, "{}", t["purl"]);
        }
    }

    /// The versions PyPA records name (event versions, listed versions, and a version just
    /// around each), for the packages of every 37th record: the compiled index answers
    /// exactly what the per-query evaluation answers. Every record is in both, so each query
    /// is checked against the whole dump. (Every 7th record took 146 s of the unit tests'
    /// 156 s in a debug build, nearly all of it the reference path parsing versions.)
    #[test]
    fn agrees_with_the_per_query_path_on_the_whole_pypa_dump() {
        let path = fixtures().join("dumps/pypa-advisory-database-20241010/PyPI/all.zip");
        let import = osv::read_dump_file(&path, &DumpLimits::default()).unwrap();
        let mut index = Index::new();
        let mut db = Database::new();
        for r in &import.records {
            index.add(r);
            db.insert(r.clone());
        }
        let mut queries = 0;
        for record in import.records.iter().step_by(37) {
            for affected in &record.affected {
                let mut versions: Vec<String> = affected.versions.iter().take(5).cloned().collect();
                for range in &affected.ranges {
                    for e in &range.events {
                        versions.push(e.version().to_string());
                        versions.push(format!("{}.1", e.version()));
                        versions.push(format!("{}rc1", e.version()));
                    }
                }
                for v in versions {
                    let q = Query::new("PyPI", &affected.package.name, &v);
                    let want: Vec<&str> = db.matches(&q).iter().map(|r| r.id.as_str()).collect();
                    let got: Vec<String> = index.matches(&q).iter().map(|a| a.id.clone()).collect();
                    assert_eq!(got, want, "{} {v}", affected.package.name);
                    queries += 1;
                }
            }
        }
        assert!(queries > 1000, "{queries}");
        let stats = index.stats();
        assert_eq!((stats.records, stats.withdrawn), (2654, 10));
        assert_eq!(stats.by_ecosystem.get("PyPI"), Some(&2654));
        assert!(
            stats
                .newest_modified
                .as_deref()
                .unwrap()
                .starts_with("2024-10")
        );
    }

    #[test]
    fn withdrawn_records_are_counted_but_never_match() {
        let mut records = fixture_records();
        let log4j = records
            .iter_mut()
            .find(|r| r.id == "GHSA-jfh8-c2jp-5v3q")
            .unwrap();
        let q = Query::new("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1");
        assert!(affects(log4j, &q));
        log4j.withdrawn = Some("2024-01-01T00:00:00Z".into());
        let mut index = Index::new();
        records.iter().for_each(|r| index.add(r));
        assert!(
            index
                .matches(&q)
                .iter()
                .all(|a| a.id != "GHSA-jfh8-c2jp-5v3q")
        );
        assert_eq!(index.stats().withdrawn, 1);
    }

    #[test]
    fn the_matcher_swaps_under_concurrent_readers() {
        let matcher = Matcher::new();
        assert!(matcher.snapshot().is_empty());
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let m = matcher.clone();
                std::thread::spawn(move || {
                    let mut seen = HashSet::new();
                    for _ in 0..2000 {
                        let hits = m.query("PyPI", "Django", "4.2.0");
                        seen.insert(hits.len());
                    }
                    seen
                })
            })
            .collect();
        let mut index = Index::new();
        fixture_records().iter().for_each(|r| index.add(r));
        matcher.replace(index);
        for r in readers {
            // Each answer is from one whole index: none, or all of them.
            let seen = r.join().unwrap();
            assert!(
                seen.iter()
                    .all(|n| *n == 0 || *n == matcher.query("PyPI", "django", "4.2.0").len())
            );
        }
        assert!(!matcher.query("PyPI", "django", "4.2.0").is_empty());
    }
}
