//! The OSV record model (what matching and the portal need) and its readers: one JSON record,
//! a directory of them, or an osv.dev dump (`<ECOSYSTEM>/all.zip`, one `<id>.json` per entry).
//!
//! A record is checked for what the appliance relies on, following the OSV schema: an id and
//! RFC 3339 timestamps, package ecosystem and name, ranges of a known type whose events have
//! exactly one kind each, at least one `introduced`, never both `fixed` and `last_affected`,
//! a `repo` and full commit hashes in GIT ranges. A dump is read entry by entry: a bad record
//! is skipped and listed with its reason, the rest are kept. Withdrawn records are kept (the
//! portal shows them as withdrawn) and never match (see [`super::matching`]). Every list a
//! record holds, every entry of a dump and the bytes each one inflates to are bounded.

use std::io::{Read, Seek};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cvss::{self, Rating};

/// Why a record, a file or a dump could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OsvError {
    /// The file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// What was being read.
        path: String,
        /// The error the system gave.
        source: std::io::Error,
    },
    /// More bytes than a record (or a dump) may have.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// A record, a dump entry or the dump itself.
        what: &'static str,
        /// The limit that was passed.
        limit: u64,
    },
    /// Not JSON, or JSON that is not shaped like an OSV record.
    #[error("not an OSV record: {0}")]
    Json(String),
    /// Shaped like a record but breaking a rule of the OSV schema that the appliance relies on.
    #[error("{field}: {problem}")]
    Invalid {
        /// Where in the record, as a JSON path (`affected[0].ranges[1].events[2]`).
        field: String,
        /// What is wrong there.
        problem: String,
    },
    /// The zip archive itself is unreadable (an unreadable entry is a [`BadRecord`] instead).
    #[error("zip: {0}")]
    Zip(String),
    /// More entries (or records) than the limit.
    #[error("more than {0} entries")]
    TooManyEntries(usize),
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> OsvError {
    OsvError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

/// One OSV record, with the fields matching and the portal use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record's id (`GHSA-...`, `PYSEC-...`).
    pub id: String,
    /// When the record last changed (RFC 3339): the newer of two copies wins.
    pub modified: String,
    /// When it was first published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Set when the record was withdrawn: it is kept for display and never matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other ids of the same vulnerability (CVE ids, other databases).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub aliases: Vec<String>,
    /// One line of text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer CommonMark text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Scores for the whole record.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub severity: Vec<Severity>,
    /// Which packages and versions are affected.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub affected: Vec<Affected>,
    /// Links for the portal.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub references: Vec<Reference>,
    /// The database's own fields (GitHub puts its severity word here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A score of a record or of one affected package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector string (or the database's word).
    pub score: String,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `FIX`, `WEB`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The address.
    pub url: String,
}

/// One affected package with its ranges and explicit versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// Which package.
    pub package: Package,
    /// A score for this package only.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub severity: Vec<Severity>,
    /// Ranges of affected versions.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub ranges: Vec<Range>,
    /// Affected versions listed one by one.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub versions: Vec<String>,
    /// The ecosystem's own fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    /// The database's own fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A package in an ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// `Maven`, `PyPI`, ... possibly with a `:suffix`.
    pub ecosystem: String,
    /// `group:artifact` for Maven, the project name for PyPI.
    pub name: String,
    /// The package URL without version, when the record gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// How a range's versions are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeType {
    /// The ecosystem's own order.
    #[serde(rename = "ECOSYSTEM")]
    Ecosystem,
    /// SemVer 2.0.
    #[serde(rename = "SEMVER")]
    Semver,
    /// Commits of a repository (not evaluated against versions).
    #[serde(rename = "GIT")]
    Git,
}

/// A range of affected versions, as a timeline of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// How the event versions are ordered.
    #[serde(rename = "type")]
    pub kind: RangeType,
    /// The repository, for GIT ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events, in any order (the evaluation sorts them).
    pub events: Vec<Event>,
}

/// One event of a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEvent", into = "RawEvent")]
pub enum Event {
    /// Affected from this version on (`"0"`: from the first version).
    Introduced(String),
    /// Not affected from this version on.
    Fixed(String),
    /// Affected up to and including this version.
    LastAffected(String),
    /// Nothing at or above this version is in the range (`"*"`: no limit).
    Limit(String),
}

/// An event as JSON has it: an object that should carry exactly one of these keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RawEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<String>,
}

impl TryFrom<RawEvent> for Event {
    type Error = String;

    fn try_from(raw: RawEvent) -> Result<Event, String> {
        match (raw.introduced, raw.fixed, raw.last_affected, raw.limit) {
            (Some(v), None, None, None) => Ok(Event::Introduced(v)),
            (None, Some(v), None, None) => Ok(Event::Fixed(v)),
            (None, None, Some(v), None) => Ok(Event::LastAffected(v)),
            (None, None, None, Some(v)) => Ok(Event::Limit(v)),
            (None, None, None, None) => {
                Err("an event without introduced, fixed, last_affected or limit".into())
            }
            _ => {
                Err("an event with more than one of introduced, fixed, last_affected, limit".into())
            }
        }
    }
}

impl From<Event> for RawEvent {
    fn from(event: Event) -> RawEvent {
        let mut raw = RawEvent::default();
        match event {
            Event::Introduced(v) => raw.introduced = Some(v),
            Event::Fixed(v) => raw.fixed = Some(v),
            Event::LastAffected(v) => raw.last_affected = Some(v),
            Event::Limit(v) => raw.limit = Some(v),
        }
        raw
    }
}

impl Event {
    /// The version string the event carries.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// `null` where the schema allows it, read as an empty list.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Limits on one record. Real records are far below them (the largest PyPA record lists 514
/// versions); they exist so that one hostile record cannot take the importer's memory.
#[derive(Debug, Clone, Copy)]
pub struct RecordLimits {
    /// Bytes of JSON.
    pub max_bytes: u64,
    /// `affected` entries.
    pub max_affected: usize,
    /// Ranges per affected entry.
    pub max_ranges: usize,
    /// Events per range.
    pub max_events: usize,
    /// Explicit versions per affected entry.
    pub max_versions: usize,
    /// Aliases, severities and references, each.
    pub max_other: usize,
}

impl Default for RecordLimits {
    fn default() -> Self {
        RecordLimits {
            max_bytes: 16 * 1024 * 1024,
            max_affected: 10_000,
            max_ranges: 1_000,
            max_events: 10_000,
            max_versions: 200_000,
            max_other: 10_000,
        }
    }
}

/// The summary severity the portal shows for a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeveritySummary {
    /// The qualitative rating, when one is known.
    pub rating: Option<Rating>,
    /// The CVSS v3 base score in tenths, when a v3 vector is present and valid.
    pub score_tenths: Option<u8>,
    /// The vector the summary comes from, if any.
    pub vector: Option<String>,
    /// Where the rating came from: `CVSS_V3`, `CVSS_V4` or `database_specific`.
    pub source: &'static str,
}

impl Record {
    /// Whether the record was withdrawn.
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.is_some()
    }

    /// The CVE ids among the aliases (and the id itself when it is one).
    pub fn cve_ids(&self) -> Vec<&str> {
        std::iter::once(self.id.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .filter(|a| a.starts_with("CVE-"))
            .collect()
    }

    /// `modified` as a point in time (validated on reading, so `None` only for a record
    /// built by hand).
    pub fn modified_at(&self) -> Option<time::OffsetDateTime> {
        parse_timestamp(&self.modified)
    }

    /// The severity to show: the CVSS v3 base score computed from the vector when there is
    /// one (record level first, then per package); else a CVSS v4 vector with the rating the
    /// database gives; else the database's rating alone.
    pub fn severity_summary(&self) -> Option<SeveritySummary> {
        let database_rating = self
            .database_specific
            .as_ref()
            .and_then(|d| d.get("severity"))
            .and_then(serde_json::Value::as_str)
            .and_then(Rating::from_word);
        let all = self
            .severity
            .iter()
            .chain(self.affected.iter().flat_map(|a| a.severity.iter()));
        let mut v4 = None;
        for severity in all {
            match severity.kind.as_str() {
                "CVSS_V3" => {
                    if let Ok(tenths) = cvss::base_score_v3(&severity.score) {
                        return Some(SeveritySummary {
                            rating: Some(Rating::of_tenths(tenths)),
                            score_tenths: Some(tenths),
                            vector: Some(severity.score.clone()),
                            source: "CVSS_V3",
                        });
                    }
                }
                "CVSS_V4" if v4.is_none() && cvss::check_v4(&severity.score).is_ok() => {
                    v4 = Some(severity.score.clone());
                }
                _ => {}
            }
        }
        if let Some(vector) = v4 {
            return Some(SeveritySummary {
                rating: database_rating,
                score_tenths: None,
                vector: Some(vector),
                source: "CVSS_V4",
            });
        }
        database_rating.map(|rating| SeveritySummary {
            rating: Some(rating),
            score_tenths: None,
            vector: None,
            source: "database_specific",
        })
    }

    /// Checks the rules listed in the module notes.
    pub fn validate(&self, limits: &RecordLimits) -> Result<(), OsvError> {
        if self.id.is_empty() || self.id.len() > 200 || self.id.contains(['/', '\\']) {
            return Err(invalid(
                "id",
                format!("{:?} is not a record id", cut(&self.id)),
            ));
        }
        for (field, value) in [
            ("modified", Some(&self.modified)),
            ("published", self.published.as_ref()),
            ("withdrawn", self.withdrawn.as_ref()),
        ] {
            if let Some(value) = value
                && parse_timestamp(value).is_none()
            {
                return Err(invalid(
                    field,
                    format!("{:?} is not an RFC 3339 time", cut(value)),
                ));
            }
        }
        for (field, len) in [
            ("aliases", self.aliases.len()),
            ("severity", self.severity.len()),
            ("references", self.references.len()),
        ] {
            if len > limits.max_other {
                return Err(invalid(
                    field,
                    format!("more than {} entries", limits.max_other),
                ));
            }
        }
        if self.affected.len() > limits.max_affected {
            return Err(invalid(
                "affected",
                format!("more than {} entries", limits.max_affected),
            ));
        }
        for (a, affected) in self.affected.iter().enumerate() {
            let at = format!("affected[{a}]");
            if affected.package.ecosystem.is_empty() {
                return Err(invalid(format!("{at}.package.ecosystem"), "empty"));
            }
            if affected.package.name.is_empty() {
                return Err(invalid(format!("{at}.package.name"), "empty"));
            }
            if affected.ranges.len() > limits.max_ranges {
                return Err(invalid(
                    format!("{at}.ranges"),
                    format!("more than {} ranges", limits.max_ranges),
                ));
            }
            if affected.versions.len() > limits.max_versions {
                return Err(invalid(
                    format!("{at}.versions"),
                    format!("more than {} versions", limits.max_versions),
                ));
            }
            for (r, range) in affected.ranges.iter().enumerate() {
                validate_range(range, &format!("{at}.ranges[{r}]"), limits)?;
            }
        }
        Ok(())
    }
}

fn validate_range(range: &Range, at: &str, limits: &RecordLimits) -> Result<(), OsvError> {
    if range.events.is_empty() {
        return Err(invalid(format!("{at}.events"), "no events"));
    }
    if range.events.len() > limits.max_events {
        return Err(invalid(
            format!("{at}.events"),
            format!("more than {} events", limits.max_events),
        ));
    }
    if !range
        .events
        .iter()
        .any(|e| matches!(e, Event::Introduced(_)))
    {
        return Err(invalid(format!("{at}.events"), "no introduced event"));
    }
    let fixed = range.events.iter().any(|e| matches!(e, Event::Fixed(_)));
    let last = range
        .events
        .iter()
        .any(|e| matches!(e, Event::LastAffected(_)));
    if fixed && last {
        return Err(invalid(
            format!("{at}.events"),
            "both fixed and last_affected events",
        ));
    }
    for (e, event) in range.events.iter().enumerate() {
        if event.version().is_empty() {
            return Err(invalid(format!("{at}.events[{e}]"), "empty version"));
        }
    }
    if range.kind == RangeType::Git {
        if range.repo.as_deref().is_none_or(str::is_empty) {
            return Err(invalid(format!("{at}.repo"), "a GIT range without a repo"));
        }
        for (e, event) in range.events.iter().enumerate() {
            if !is_commit(event.version()) {
                return Err(invalid(
                    format!("{at}.events[{e}]"),
                    format!(
                        "GIT event {:?} is not a full commit hash",
                        cut(event.version())
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `0` or a full SHA-1 / SHA-256 commit hash in lower-case hex, as the schema requires.
fn is_commit(text: &str) -> bool {
    text == "0"
        || ((text.len() == 40 || text.len() == 64)
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn parse_timestamp(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// At most 80 characters of `text`, for messages.
fn cut(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Reads one record from JSON bytes and validates it.
pub fn parse_record(bytes: &[u8], limits: &RecordLimits) -> Result<Record, OsvError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(OsvError::TooLarge {
            what: "a record",
            limit: limits.max_bytes,
        });
    }
    let record: Record =
        serde_json::from_slice(bytes).map_err(|e| OsvError::Json(e.to_string()))?;
    record.validate(limits)?;
    Ok(record)
}

/// Reads at most `limit` bytes from `reader`, failing if there are more.
fn read_bounded(reader: impl Read, limit: u64, what: &'static str) -> Result<Vec<u8>, OsvError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| OsvError::Io {
            path: what.to_string(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(OsvError::TooLarge { what, limit });
    }
    Ok(bytes)
}

/// Reads one record from a JSON file.
pub fn read_record_file(path: &Path, limits: &RecordLimits) -> Result<Record, OsvError> {
    let io = |source| OsvError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let bytes = read_bounded(file, limits.max_bytes, "a record")?;
    parse_record(&bytes, limits)
}

/// The bytes of a file, at most `limit` of them (more is `TooLarge`).
pub fn read_record_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, OsvError> {
    let file = std::fs::File::open(path).map_err(|source| OsvError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_bounded(file, limit, "a JSON file")
}

/// A record that was skipped, and why.
#[derive(Debug)]
pub struct BadRecord {
    /// The file or zip entry it came from.
    pub source: String,
    /// Its id, when the JSON got that far.
    pub id: Option<String>,
    /// What is wrong.
    pub error: OsvError,
}

/// What an import read: the good records (withdrawn ones included) and the skipped ones.
#[derive(Debug, Default)]
pub struct Import {
    /// Valid records, in the order read.
    pub records: Vec<Record>,
    /// Skipped records with their reasons.
    pub bad: Vec<BadRecord>,
}

impl Import {
    /// The records that are withdrawn.
    pub fn withdrawn(&self) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(|r| r.is_withdrawn())
    }

    /// Parses one record's bytes, keeping it or listing it as bad.
    pub(crate) fn take(&mut self, source: String, bytes: &[u8], limits: &RecordLimits) {
        match parse_record(bytes, limits) {
            Ok(record) => self.records.push(record),
            Err(error) => self.bad.push(BadRecord {
                source,
                id: id_of(bytes),
                error,
            }),
        }
    }
}

/// The `id` of a JSON object, if it has a string one: named in the list of bad records.
fn id_of(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct JustId {
        id: String,
    }
    serde_json::from_slice::<JustId>(bytes).ok().map(|j| j.id)
}

/// Limits on a dump (an osv.dev `all.zip`). The PyPI dump of 2026 is about 20,000 records
/// and 60 MB inflated; Maven's is similar.
#[derive(Debug, Clone, Copy)]
pub struct DumpLimits {
    /// Entries in the archive.
    pub max_entries: usize,
    /// Inflated bytes of all entries together (zip bombs).
    pub max_total_bytes: u64,
    /// Limits on each record (its `max_bytes` bounds each inflated entry).
    pub record: RecordLimits,
}

impl Default for DumpLimits {
    fn default() -> Self {
        DumpLimits {
            max_entries: 500_000,
            max_total_bytes: 4 * 1024 * 1024 * 1024,
            record: RecordLimits::default(),
        }
    }
}

/// Reads an osv.dev dump from a file.
pub fn read_dump_file(path: &Path, limits: &DumpLimits) -> Result<Import, OsvError> {
    let file = std::fs::File::open(path).map_err(|source| OsvError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_dump(std::io::BufReader::new(file), limits)
}

/// Reads an osv.dev dump: every `*.json` entry is a record; other entries (directories,
/// other files) are listed as skipped. Fails as a whole only when the archive itself is
/// unreadable or over a limit.
pub fn read_dump(reader: impl Read + Seek, limits: &DumpLimits) -> Result<Import, OsvError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| OsvError::Zip(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(OsvError::TooManyEntries(limits.max_entries));
    }
    let mut import = Import::default();
    let mut total: u64 = 0;
    // Bounded by `max_entries`, checked above.
    for index in 0..archive.len() {
        let mut entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(e) => {
                import.bad.push(BadRecord {
                    source: format!("entry #{index}"),
                    id: None,
                    error: OsvError::Zip(e.to_string()),
                });
                continue;
            }
        };
        let name = match entry.name() {
            Ok(name) => name.to_string(),
            Err(e) => {
                import.bad.push(BadRecord {
                    source: format!("entry #{index}"),
                    id: None,
                    error: OsvError::Zip(e.to_string()),
                });
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        if !name.ends_with(".json") {
            import.bad.push(BadRecord {
                source: name,
                id: None,
                error: invalid("entry", "not a .json file"),
            });
            continue;
        }
        // The declared size is checked first, the real inflated size while reading: a
        // lying header cannot get past `read_bounded`.
        if entry.size() > limits.record.max_bytes {
            import.bad.push(BadRecord {
                source: name,
                id: None,
                error: OsvError::TooLarge {
                    what: "a dump entry",
                    limit: limits.record.max_bytes,
                },
            });
            continue;
        }
        let bytes = match read_bounded(&mut entry, limits.record.max_bytes, "a dump entry") {
            Ok(bytes) => bytes,
            Err(error) => {
                import.bad.push(BadRecord {
                    source: name,
                    id: None,
                    error,
                });
                continue;
            }
        };
        total = total.saturating_add(bytes.len() as u64);
        if total > limits.max_total_bytes {
            return Err(OsvError::TooLarge {
                what: "the inflated dump",
                limit: limits.max_total_bytes,
            });
        }
        import.take(name, &bytes, &limits.record);
    }
    Ok(import)
}

/// Reads every `*.json` file of a directory (not its subdirectories), in name order.
pub fn read_dir(dir: &Path, limits: &DumpLimits) -> Result<Import, OsvError> {
    let io = |source| OsvError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            paths.push(path);
            if paths.len() > limits.max_entries {
                return Err(OsvError::TooManyEntries(limits.max_entries));
            }
        }
    }
    paths.sort();
    let mut import = Import::default();
    let mut total: u64 = 0;
    for path in paths {
        let source = path.display().to_string();
        let bytes = std::fs::File::open(&path)
            .map_err(|source| OsvError::Io {
                path: source_name(&path),
                source,
            })
            .and_then(|f| read_bounded(f, limits.record.max_bytes, "a record"));
        match bytes {
            Ok(bytes) => {
                total = total.saturating_add(bytes.len() as u64);
                if total > limits.max_total_bytes {
                    return Err(OsvError::TooLarge {
                        what: "the records",
                        limit: limits.max_total_bytes,
                    });
                }
                import.take(source, &bytes, &limits.record);
            }
            Err(error) => import.bad.push(BadRecord {
                source,
                id: None,
                error,
            }),
        }
    }
    Ok(import)
}

fn source_name(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use std::path::PathBuf;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv")
    }

    #[test]
    fn the_full_pypa_dump() {
        let path = fixtures().join("dumps/pypa-advisory-database-20241010/PyPI/all.zip");
        let import = read_dump_file(&path, &DumpLimits::default()).unwrap();
        assert_eq!(import.records.len() + import.bad.len(), 2661);
        let mut bad: Vec<(String, String)> = import
            .bad
            .iter()
            .map(|b| (b.id.clone().unwrap(), b.error.to_string()))
            .collect();
        bad.sort();
        let ids: Vec<&str> = bad.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "PYSEC-2017-27",
                "PYSEC-2019-155",
                "PYSEC-2021-371",
                "PYSEC-2021-424",
                "PYSEC-2021-425",
                "PYSEC-2021-436",
                "PYSEC-2023-80",
            ]
        );
        // Each reason names the event and its value.
        let reasons: Vec<&str> = bad.iter().map(|(_, r)| r.as_str()).collect();
        assert!(
            reasons[1].contains("\"4e7d0df9093\" is not a full commit hash"),
            "{reasons:?}"
        );
        for reason in &reasons {
            assert!(
                reason.contains("GIT event") && reason.contains("].events["),
                "{reason}"
            );
        }
        let mut withdrawn: Vec<&str> = import.withdrawn().map(|r| r.id.as_str()).collect();
        withdrawn.sort();
        assert_eq!(
            withdrawn,
            [
                "PYSEC-2019-144",
                "PYSEC-2020-221",
                "PYSEC-2021-125",
                "PYSEC-2021-13",
                "PYSEC-2022-15",
                "PYSEC-2022-43055",
                "PYSEC-2022-43059",
                "PYSEC-2023-101",
                "PYSEC-2023-141",
                "PYSEC-2023-73",
            ]
        );
        assert_eq!(import.records.len(), 2654);
        // Withdrawn records are kept and never match.
        let mut db = crate::vuln::matching::Database::new();
        for r in import.records {
            db.insert(r);
        }
        let withdrawn_record = import_one("PYSEC-2023-73");
        for affected in &withdrawn_record.affected {
            for version in affected.versions.iter().take(3) {
                let q = crate::vuln::matching::Query::new("PyPI", &affected.package.name, version);
                assert!(db.matches(&q).iter().all(|r| r.id != "PYSEC-2023-73"));
            }
        }
    }

    fn import_one(id: &str) -> Record {
        let path = fixtures().join("dumps/pypa-advisory-database-20241010/PyPI/all.zip");
        let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut entry = archive.by_name(&format!("{id}.json")).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let record = parse_record(&bytes, &RecordLimits::default()).unwrap();
        assert!(record.is_withdrawn());
        assert!(!record.affected.is_empty());
        record
    }

    #[test]
    fn aliases_and_severity() {
        let dir = fixtures().join("records");
        let limits = RecordLimits::default();
        let django = read_record_file(&dir.join("pypi/GHSA-qg2p-9jwr-mmqf.json"), &limits).unwrap();
        assert_eq!(django.cve_ids(), ["CVE-2024-38875"]);
        let s = django.severity_summary().unwrap();
        assert_eq!(
            (s.score_tenths, s.rating, s.source),
            (Some(75), Some(Rating::High), "CVSS_V3")
        );
        let log4j = read_record_file(&dir.join("maven/GHSA-65fg-84f6-3jq3.json"), &limits).unwrap();
        let s = log4j.severity_summary().unwrap();
        assert_eq!(
            (s.score_tenths, s.rating),
            (Some(98), Some(Rating::Critical))
        );
        // A v4 vector alone: kept, rated by the database's word.
        let mut v4_only = django.clone();
        v4_only.severity.retain(|s| s.kind == "CVSS_V4");
        let s = v4_only.severity_summary().unwrap();
        assert_eq!(
            (s.score_tenths, s.rating, s.source),
            (None, Some(Rating::High), "CVSS_V4")
        );
        assert!(s.vector.unwrap().starts_with("CVSS:4.0/"));
        // PyPA records carry no severity at all.
        let pysec = read_record_file(&dir.join("pypi/PYSEC-2023-62.json"), &limits).unwrap();
        assert_eq!(pysec.severity_summary(), None);
    }

    #[test]
    fn each_rule_has_its_reason() {
        let limits = RecordLimits::default();
        let base = |affected: &str| {
            format!(r#"{{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":{affected}}}"#)
        };
        let pkg = r#""package":{"ecosystem":"PyPI","name":"p"}"#;
        for (affected, reason) in [
            (
                format!(r#"[{{{pkg},"ranges":[{{"type":"ECOSYSTEM","events":[]}}]}}]"#),
                "no events",
            ),
            (
                format!(
                    r#"[{{{pkg},"ranges":[{{"type":"ECOSYSTEM","events":[{{"fixed":"1"}}]}}]}}]"#
                ),
                "no introduced",
            ),
            (
                format!(
                    r#"[{{{pkg},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"1"}},{{"last_affected":"2"}}]}}]}}]"#
                ),
                "both fixed and last_affected",
            ),
            (
                format!(
                    r#"[{{{pkg},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0","fixed":"1"}}]}}]}}]"#
                ),
                "more than one of",
            ),
            (
                format!(
                    r#"[{{{pkg},"ranges":[{{"type":"GIT","events":[{{"introduced":"0"}}]}}]}}]"#
                ),
                "without a repo",
            ),
            (
                format!(
                    r#"[{{{pkg},"ranges":[{{"type":"SVN","events":[{{"introduced":"0"}}]}}]}}]"#
                ),
                "unknown variant",
            ),
            (
                r#"[{"package":{"ecosystem":"PyPI","name":""}}]"#.to_string(),
                "package.name: empty",
            ),
        ] {
            let err = parse_record(base(&affected).as_bytes(), &limits).unwrap_err();
            assert!(
                err.to_string().contains(reason),
                "{err} should say {reason}"
            );
        }
        for (json, reason) in [
            (r#"{"id":"X-1"}"#, "missing field `modified`"),
            (
                r#"{"id":"X-1","modified":"yesterday"}"#,
                "not an RFC 3339 time",
            ),
            (
                r#"{"id":"","modified":"2024-01-01T00:00:00Z"}"#,
                "not a record id",
            ),
            (r#"[1,2]"#, "not an OSV record"),
        ] {
            let err = parse_record(json.as_bytes(), &limits).unwrap_err();
            assert!(
                err.to_string().contains(reason),
                "{err} should say {reason}"
            );
        }
        // `null` lists are empty lists, as the schema allows.
        let ok = r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","aliases":null,"affected":null,"severity":null}"#;
        assert!(
            parse_record(ok.as_bytes(), &limits)
                .unwrap()
                .affected
                .is_empty()
        );
        let small = RecordLimits {
            max_versions: 2,
            ..RecordLimits::default()
        };
        let many = base(&format!(r#"[{{{pkg},"versions":["1","2","3"]}}]"#));
        assert!(
            parse_record(many.as_bytes(), &small)
                .unwrap_err()
                .to_string()
                .contains("more than 2 versions")
        );
    }

    fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn dump_limits_stop_bombs() {
        let good = br#"{"id":"X-1","modified":"2024-01-01T00:00:00Z"}"#.to_vec();
        // 8 MiB of spaces around a record deflates to a few KiB.
        let mut padded = vec![b' '; 8 * 1024 * 1024];
        padded.extend_from_slice(&good);
        let bytes = zip_of(&[
            ("X-1.json", good.clone()),
            ("BIG.json", padded),
            ("notes.txt", b"x".to_vec()),
        ]);
        assert!(bytes.len() < 100_000);
        let limits = DumpLimits {
            record: RecordLimits {
                max_bytes: 1024 * 1024,
                ..RecordLimits::default()
            },
            ..DumpLimits::default()
        };
        let import = read_dump(Cursor::new(&bytes), &limits).unwrap();
        assert_eq!(import.records.len(), 1);
        let bad: Vec<String> = import
            .bad
            .iter()
            .map(|b| format!("{}: {}", b.source, b.error))
            .collect();
        assert_eq!(
            bad,
            [
                "BIG.json: a dump entry is larger than 1048576 bytes",
                "notes.txt: entry: not a .json file",
            ]
        );
        let few = DumpLimits {
            max_entries: 2,
            ..DumpLimits::default()
        };
        assert!(matches!(
            read_dump(Cursor::new(&bytes), &few),
            Err(OsvError::TooManyEntries(2))
        ));
        let small_total = DumpLimits {
            max_total_bytes: 4 * 1024 * 1024,
            ..DumpLimits::default()
        };
        assert!(matches!(
            read_dump(Cursor::new(&bytes), &small_total),
            Err(OsvError::TooLarge { .. })
        ));
        assert!(matches!(
            read_dump(Cursor::new(b"PK\x03\x04 not a zip"), &limits),
            Err(OsvError::Zip(_))
        ));
    }

    #[test]
    fn records_round_trip_through_json() {
        let dir = fixtures().join("records/maven");
        let import = read_dir(&dir, &DumpLimits::default()).unwrap();
        assert_eq!((import.records.len(), import.bad.len()), (13, 0));
        for record in import.records {
            let again = parse_record(
                serde_json::to_string(&record).unwrap().as_bytes(),
                &RecordLimits::default(),
            )
            .unwrap();
            assert_eq!(again, record);
        }
    }
}
