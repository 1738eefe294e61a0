//! Is a package at a version affected by an OSV record? OSV's evaluation algorithm (the
//! "Evaluation" section of the schema): for each `affected` entry of the same package, the
//! version is affected if the `versions` list holds it or any ECOSYSTEM/SEMVER range
//! includes it. A range's events are sorted by version first (`introduced: "0"` lowest), then
//! walked: `introduced` opens, `fixed` closes at its version, `last_affected` closes after
//! its version; `limit` events bound the whole range. GIT ranges need the repository and are
//! left to the `versions` list. Withdrawn records never match.
//!
//! Package names compare as their ecosystem defines: PyPI names after PEP 503 normalisation
//! (lower case, runs of `-`, `_`, `.` as one `-`), others exactly (Maven `group:artifact`).
//! An ecosystem with a `:suffix` (`Maven:https://maven.google.com`) is that ecosystem.

use std::collections::HashMap;

use super::maven::MavenVersion;
use super::osv::{Affected, Event, Range, RangeType, Record};
use super::pep440::PypiVersion;
use super::semver::SemverOrder;

/// A version order the matcher knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Maven `ComparableVersion`.
    Maven,
    /// PEP 440 with the legacy fallback.
    Pypi,
    /// SemVer 2.0 (lenient).
    Semver,
}

impl Scheme {
    /// The order of an ecosystem's ECOSYSTEM ranges, if the matcher has it.
    pub fn of_ecosystem(ecosystem: &str) -> Option<Scheme> {
        match base_ecosystem(ecosystem) {
            "Maven" => Some(Scheme::Maven),
            "PyPI" => Some(Scheme::Pypi),
            "npm" | "crates.io" | "Go" => Some(Scheme::Semver),
            _ => None,
        }
    }

    /// Parses `text` in this order (never fails).
    pub fn parse(self, text: &str) -> Version {
        match self {
            Scheme::Maven => Version::Maven(MavenVersion::parse(text)),
            Scheme::Pypi => Version::Pypi(PypiVersion::parse(text)),
            Scheme::Semver => Version::Semver(SemverOrder::parse(text)),
        }
    }
}

/// A version parsed in one of the schemes. Versions of different schemes are never compared
/// by the matcher; the order between them is only there to make `Ord` total.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// A Maven version.
    Maven(MavenVersion),
    /// A PyPI version.
    Pypi(PypiVersion),
    /// A SemVer version.
    Semver(SemverOrder),
}

/// The ecosystem without its `:suffix`.
pub fn base_ecosystem(ecosystem: &str) -> &str {
    ecosystem
        .split_once(':')
        .map_or(ecosystem, |(base, _)| base)
}

/// A package name in the form the ecosystem compares names in.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    if base_ecosystem(ecosystem) != "PyPI" {
        return name.to_string();
    }
    // PEP 503: lower case, and every run of `-`, `_`, `.` becomes one `-`.
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// The package and version being asked about, parsed once for many records.
#[derive(Debug, Clone)]
pub struct Query {
    /// The base ecosystem (without `:suffix`).
    pub(crate) ecosystem: String,
    /// The name as the ecosystem compares names.
    pub(crate) name: String,
    /// The version as given.
    pub(crate) text: String,
    /// The ecosystem's order, when known.
    pub(crate) scheme: Option<Scheme>,
    /// The version parsed in that order.
    pub(crate) version: Option<Version>,
}

impl Query {
    /// A package (`ecosystem`, `name`) at `version`.
    pub fn new(ecosystem: &str, name: &str, version: &str) -> Query {
        let scheme = Scheme::of_ecosystem(ecosystem);
        Query {
            ecosystem: base_ecosystem(ecosystem).to_string(),
            name: normalize_name(ecosystem, name),
            text: version.to_string(),
            scheme,
            version: scheme.map(|s| s.parse(version)),
        }
    }

    fn is_package(&self, affected: &Affected) -> bool {
        base_ecosystem(&affected.package.ecosystem) == self.ecosystem
            && normalize_name(&affected.package.ecosystem, &affected.package.name) == self.name
    }
}

/// Whether `record` affects the queried package version.
pub fn affects(record: &Record, query: &Query) -> bool {
    if record.is_withdrawn() {
        return false;
    }
    record
        .affected
        .iter()
        .filter(|a| query.is_package(a))
        .any(|a| in_versions(a, query) || a.ranges.iter().any(|r| in_range(r, query)))
}

/// The `versions` list holds the version: the same text, or, for PyPI, the same PEP 440
/// version (`2.10` and `2.10.0` are one release there; Maven and SemVer artifacts are
/// published under their exact text).
fn in_versions(affected: &Affected, query: &Query) -> bool {
    affected.versions.iter().any(|listed| {
        listed == &query.text
            || match (&query.version, query.scheme) {
                (Some(Version::Pypi(v @ PypiVersion::Valid(_))), Some(Scheme::Pypi)) => {
                    let other = PypiVersion::parse(listed);
                    other.is_valid() && &other == v
                }
                _ => false,
            }
    })
}

/// An event's version in the range's order: `introduced: "0"` is below everything.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Zero,
    At(Version),
}

/// What an event does to the walk (the version it carries is in its [`Bound`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Introduced,
    Fixed,
    LastAffected,
}

/// One range with its event versions parsed and sorted once, ready for many queries: the
/// schema's `IncludedInRanges` without any parsing at query time.
#[derive(Debug, Clone)]
pub struct CompiledRange {
    /// The order the event versions were parsed in (the query must be parsed in it too).
    scheme: Scheme,
    /// The events other than `limit`, sorted by version.
    timeline: Vec<(Bound, Step)>,
    /// The `limit` events: `None` for `"*"` (no limit).
    limits: Vec<Option<Version>>,
}

impl CompiledRange {
    /// Parses and sorts `events` in `scheme`. `sorted` is false only in a test that shows
    /// why the sort matters.
    pub(crate) fn compile(events: &[Event], scheme: Scheme, sorted: bool) -> CompiledRange {
        let mut timeline: Vec<(Bound, Step)> = events
            .iter()
            .filter_map(|e| {
                let step = match e {
                    Event::Introduced(_) => Step::Introduced,
                    Event::Fixed(_) => Step::Fixed,
                    Event::LastAffected(_) => Step::LastAffected,
                    Event::Limit(_) => return None,
                };
                let bound = match e {
                    Event::Introduced(v) if v == "0" => Bound::Zero,
                    other => Bound::At(scheme.parse(other.version())),
                };
                Some((bound, step))
            })
            .collect();
        if sorted {
            // Stable, and every order here is total, so equal versions keep the record's order.
            timeline.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let limits = events
            .iter()
            .filter_map(|e| match e {
                Event::Limit(v) if v.contains('*') => Some(None),
                Event::Limit(v) => Some(Some(scheme.parse(v))),
                _ => None,
            })
            .collect();
        CompiledRange {
            scheme,
            timeline,
            limits,
        }
    }

    /// The order this range's versions are in.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Whether `version` (parsed in [`CompiledRange::scheme`]) is in the range.
    pub fn contains(&self, version: &Version) -> bool {
        let before_limits = self.limits.is_empty()
            || self.limits.iter().any(|limit| match limit {
                None => true,
                Some(limit) => version < limit,
            });
        if !before_limits {
            return false;
        }
        let mut vulnerable = false;
        for (bound, step) in &self.timeline {
            match (step, bound) {
                (Step::Introduced, Bound::Zero) => vulnerable = true,
                (Step::Introduced, Bound::At(at)) if version >= at => vulnerable = true,
                // `fixed` is the first version without the flaw, `last_affected` the last
                // with it.
                (Step::Fixed, Bound::At(at)) if version >= at => vulnerable = false,
                (Step::LastAffected, Bound::At(at)) if version > at => vulnerable = false,
                _ => {}
            }
        }
        vulnerable
    }
}

/// The order a range is evaluated in for a package of `ecosystem_scheme`: GIT ranges and
/// ECOSYSTEM ranges of an ecosystem without a known order are never evaluated.
pub(crate) fn range_scheme(kind: RangeType, ecosystem_scheme: Option<Scheme>) -> Option<Scheme> {
    match kind {
        RangeType::Git => None,
        RangeType::Semver => Some(Scheme::Semver),
        RangeType::Ecosystem => ecosystem_scheme,
    }
}

fn in_range(range: &Range, query: &Query) -> bool {
    let Some(scheme) = range_scheme(range.kind, query.scheme) else {
        return false;
    };
    let parsed;
    let version = match &query.version {
        Some(v) if query.scheme == Some(scheme) => v,
        _ => {
            parsed = scheme.parse(&query.text);
            &parsed
        }
    };
    evaluate(&range.events, scheme, version, true)
}

/// The schema's `IncludedInRanges` for one range, parsing its events on every call (the
/// per-query path [`Database`] keeps as the benchmark's baseline).
fn evaluate(events: &[Event], scheme: Scheme, version: &Version, sorted: bool) -> bool {
    CompiledRange::compile(events, scheme, sorted).contains(version)
}

/// Records indexed by package, for many queries. A record added twice (the same id from a
/// directory and a dump) is kept once, the copy with the later `modified` winning.
#[derive(Debug, Default)]
pub struct Database {
    records: Vec<Record>,
    by_id: HashMap<String, usize>,
    /// (base ecosystem, normalised name) → indexes into `records`.
    by_package: HashMap<(String, String), Vec<usize>>,
}

impl Database {
    /// An empty database.
    pub fn new() -> Database {
        Database::default()
    }

    /// Adds (or replaces with a newer copy) a record.
    pub fn insert(&mut self, record: Record) {
        if let Some(&at) = self.by_id.get(&record.id) {
            let Some(existing) = self.records.get_mut(at) else {
                return;
            };
            if record.modified_at() > existing.modified_at() {
                // Same id, so the package keys may differ: re-index this slot.
                for list in self.by_package.values_mut() {
                    list.retain(|&i| i != at);
                }
                *existing = record;
                self.index(at);
            }
            return;
        }
        let at = self.records.len();
        self.by_id.insert(record.id.clone(), at);
        self.records.push(record);
        self.index(at);
    }

    fn index(&mut self, at: usize) {
        let Some(record) = self.records.get(at) else {
            return;
        };
        for affected in &record.affected {
            let key = (
                base_ecosystem(&affected.package.ecosystem).to_string(),
                normalize_name(&affected.package.ecosystem, &affected.package.name),
            );
            let list = self.by_package.entry(key).or_default();
            if !list.contains(&at) {
                list.push(at);
            }
        }
    }

    /// How many records are held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records that affect the queried package version, by id.
    pub fn matches(&self, query: &Query) -> Vec<&Record> {
        let key = (query.ecosystem.clone(), query.name.clone());
        let mut found: Vec<&Record> = self
            .by_package
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.records.get(i))
            .filter(|r| affects(r, query))
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::osv::{self, DumpLimits, RecordLimits};
    use serde_json::Value;
    use std::path::PathBuf;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv")
    }

    /// The fixture records: the two record directories and the two sample dumps.
    fn database() -> Database {
        let limits = DumpLimits::default();
        let mut db = Database::new();
        let mut bad = Vec::new();
        for dir in ["records/maven", "records/pypi"] {
            let import = osv::read_dir(&fixtures().join(dir), &limits).unwrap();
            bad.extend(import.bad.iter().map(|b| b.id.clone().unwrap()));
            import.records.into_iter().for_each(|r| db.insert(r));
        }
        for dump in ["dumps/sample/Maven/all.zip", "dumps/sample/PyPI/all.zip"] {
            let import = osv::read_dump_file(&fixtures().join(dump), &limits).unwrap();
            bad.extend(import.bad.iter().map(|b| b.id.clone().unwrap()));
            import.records.into_iter().for_each(|r| db.insert(r));
        }
        // The one invalid fixture record, once from its file and once from the dump.
        assert_eq!(bad, vec!["PYSEC-2021-371", "PYSEC-2021-371"]);
        // 28 files (13 Maven, 15 PyPI), 27 valid; the dumps hold the same records again.
        assert_eq!(db.len(), 27);
        db
    }

    #[test]
    fn reproduces_expected_matches_exactly() {
        let db = database();
        let expected: Value =
            serde_json::from_str(&crate::vuln::fixture("osv/expected-matches.json")).unwrap();
        let tuples = expected.as_array().unwrap();
        assert_eq!(tuples.len(), 37);
        let mut failures = Vec::new();
        for t in tuples {
            let query = Query::new(
                t["ecosystem"].as_str().unwrap(),
                t["name"].as_str().unwrap(),
                t["version"].as_str().unwrap(),
            );
            let got: Vec<&str> = db.matches(&query).iter().map(|r| r.id.as_str()).collect();
            let want: Vec<&str> = t["affected_by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            if got != want {
                failures.push(format!("{}: got {got:?}, want {want:?}", t["purl"]));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// urllib3 2.0.3 against PYSEC-2023-192/212, whose events are out of order: walked as
    /// written they miss it (the fixture records that as `naive_unsorted_event_eval_gives`).
    #[test]
    fn unsorted_events_would_miss_urllib3_2_0_3() {
        let db = database();
        let query = Query::new("PyPI", "urllib3", "2.0.3");
        for id in ["PYSEC-2023-192", "PYSEC-2023-212"] {
            let record = db.records.iter().find(|r| r.id == id).unwrap();
            let version = query.version.clone().unwrap();
            let naive = record.affected.iter().flat_map(|a| &a.ranges).any(|r| {
                r.kind == RangeType::Ecosystem && evaluate(&r.events, Scheme::Pypi, &version, false)
            });
            assert!(!naive, "{id}: unsorted evaluation");
            assert!(affects(record, &query), "{id}: sorted evaluation");
        }
    }

    fn record(affected: Value) -> Record {
        let json = serde_json::json!({
            "id": "TEST-1", "modified": "2024-01-01T00:00:00Z", "affected": affected
        });
        osv::parse_record(json.to_string().as_bytes(), &RecordLimits::default()).unwrap()
    }

    fn hit(r: &Record, eco: &str, name: &str, version: &str) -> bool {
        affects(r, &Query::new(eco, name, version))
    }

    #[test]
    fn fixed_last_affected_limit_and_versions() {
        let r = record(serde_json::json!([{
            "package": {"ecosystem": "PyPI", "name": "Foo_Bar.baz"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.5"}]},
                {"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"last_affected": "2.3"}]},
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"limit": "0.5"}]},
                {"type": "GIT", "repo": "https://example.org/r", "events": [{"introduced": "0"}]}
            ],
            "versions": ["7.0"]
        }]));
        for (v, want) in [
            ("0.1", true),
            ("0.5", false),
            ("0.9", false),
            ("1.0", true),
            ("1.4.9", true),
            ("1.5", false),
            ("2.3", true),
            ("2.3.0", true),
            ("2.3.1", false),
            ("7.0", true),
            ("7.0.0", true),
            ("8.0", false),
        ] {
            assert_eq!(hit(&r, "PyPI", "foo-bar-baz", v), want, "{v}");
        }
        assert!(hit(&r, "PyPI", "FOO--BAR__BAZ", "1.2"));
        assert!(!hit(&r, "Maven", "foo-bar-baz", "1.2"));
        assert!(!hit(&r, "PyPI", "foobarbaz", "1.2"));
    }

    #[test]
    fn maven_names_are_exact_and_withdrawn_records_never_match() {
        let mut r = record(serde_json::json!([{
            "package": {"ecosystem": "Maven:https://repo.example.org", "name": "org.example:lib"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]
        }]));
        assert!(hit(&r, "Maven", "org.example:lib", "1.9-SNAPSHOT"));
        assert!(hit(&r, "Maven", "org.example:lib", "2.0-rc1"));
        assert!(!hit(&r, "Maven", "org.example:lib", "2.0.0"));
        assert!(!hit(&r, "Maven", "org.example:Lib", "1.0"));
        r.withdrawn = Some("2024-02-01T00:00:00Z".into());
        assert!(!hit(&r, "Maven", "org.example:lib", "1.0"));
    }

    #[test]
    fn semver_ranges_and_unknown_ecosystems() {
        let r = record(serde_json::json!([
            {"package": {"ecosystem": "npm", "name": "left-pad"},
             "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0-beta"}, {"fixed": "1.3.0"}]}]},
            {"package": {"ecosystem": "Hackage", "name": "x"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
             "versions": ["1.2"]}
        ]));
        assert!(hit(&r, "npm", "left-pad", "1.0.0"));
        assert!(hit(&r, "npm", "left-pad", "1.0.0-rc.1"));
        assert!(!hit(&r, "npm", "left-pad", "1.0.0-alpha"));
        assert!(!hit(&r, "npm", "left-pad", "1.3.0"));
        // No order known for Hackage: only the explicit list answers.
        assert!(hit(&r, "Hackage", "x", "1.2"));
        assert!(!hit(&r, "Hackage", "x", "1.3"));
    }

    #[test]
    fn pep_503_names() {
        assert_eq!(normalize_name("PyPI", "Jinja2"), "jinja2");
        assert_eq!(normalize_name("PyPI", "zope.interface"), "zope-interface");
        assert_eq!(normalize_name("PyPI", "a-_.-b"), "a-b");
        assert_eq!(normalize_name("Maven", "Org.X:Y_z"), "Org.X:Y_z");
    }
}
