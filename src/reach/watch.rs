//! Watched Packages: the rules of an entry (a package, a version or range, classes or modules
//! to watch, a webhook, a note), the CSV import format, an entry's status computed from the
//! index's rows, and what a flush of the index changed that the events care about.
//!
//! Pure, like the rest of `reach`: storage is `integrations::watched`, the HTTP side
//! `http::watched`.
//!
//! Decisions, each for a reason:
//! - A package is `groupId:artifactId` (Maven, exactly as Maven compares it) or a PyPI name
//!   (kept PEP 503-normalised, because that is how PyPI and the advisories compare names):
//!   the colon is what tells them apart, so nobody has to pick an ecosystem in a form.
//! - Versions are compared in the ecosystem's own order (Maven `ComparableVersion`,
//!   PEP 440) through `vuln::matching`, the same order the advisory matcher uses, so "is
//!   1.2.3 in the watched range" and "is 1.2.3 affected" never disagree.
//! - Version text: empty or `*` is any version; `[1.0,2.0)` is a Maven range (`[`/`]`
//!   inclusive, `(`/`)` exclusive, one side may be empty, `[1.0]` is exactly 1.0); text with
//!   `>=`, `>`, `<=`, `<`, `==` is a comma-separated list of PEP 440-style comparisons that
//!   must all hold (`>=1.0,<2.0`); anything else is one exact version.
//! - Classes (Java, `a.b.C`, `/` taken as `.`) and modules (Python, `a.b`) are exact names:
//!   a watch names the code a finding is about, not a family of it.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::assess::Status;
use super::durable::PackageRecord;
use super::index::{PackageRow, PackageStatus};
use super::purl::PackageId;
use crate::vuln::matching::{Scheme, normalize_name};

/// Longest package text.
pub const MAX_PACKAGE: usize = 300;
/// Longest version text.
pub const MAX_VERSION: usize = 200;
/// Most classes or modules per entry.
pub const MAX_CLASSES: usize = 100;
/// Longest class or module name.
pub const MAX_CLASS: usize = 512;
/// Longest note.
pub const MAX_NOTE: usize = 1_000;
/// Longest webhook id.
pub const MAX_WEBHOOK_ID: usize = 64;
/// Largest CSV file accepted, in bytes.
pub const MAX_CSV_BYTES: usize = 1024 * 1024;
/// Most data rows in one CSV file.
pub const MAX_CSV_ROWS: usize = 5_000;
/// The CSV header, in this order.
pub const CSV_HEADER: [&str; 4] = ["package", "version", "classes", "webhook"];

/// The ecosystems an entry can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ecosystem {
    /// `groupId:artifactId`.
    Maven,
    /// A PyPI distribution name.
    #[serde(rename = "PyPI")]
    Pypi,
}

impl Ecosystem {
    /// The OSV name, as [`PackageId::ecosystem`] has it.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Maven => "Maven",
            Ecosystem::Pypi => "PyPI",
        }
    }

    fn scheme(self) -> Scheme {
        match self {
            Ecosystem::Maven => Scheme::Maven,
            Ecosystem::Pypi => Scheme::Pypi,
        }
    }
}

/// A refusal, naming the field it is about so a form can show it next to that field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// `package`, `version`, `classes`, `webhook` or `note`.
    pub field: &'static str,
    /// What is wrong, in words.
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// What a user gives to create or change an entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchInput {
    /// `groupId:artifactId` or a PyPI name.
    pub package: String,
    /// Version text (see the module documentation); empty is any version.
    #[serde(default)]
    pub version: String,
    /// Classes (Java) or modules (Python) to watch.
    #[serde(default)]
    pub classes: Vec<String>,
    /// A webhook id; `None` or empty sends this entry's events to every webhook.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Free text.
    #[serde(default)]
    pub note: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Random hex id.
    pub id: String,
    /// Ecosystem of the package.
    pub ecosystem: Ecosystem,
    /// `groupId:artifactId`, or the PEP 503 name.
    pub package: String,
    /// Version text as checked (trimmed); empty for any version.
    pub version: String,
    /// Classes or modules, as checked.
    pub classes: Vec<String>,
    /// Webhook id, if the entry's events go to one webhook only.
    pub webhook: Option<String>,
    /// Free text.
    pub note: String,
    /// Created, unix ms.
    pub created_ms: i64,
    /// Last changed, unix ms.
    pub updated_ms: i64,
}

/// An input that passed [`check`]: the fields of an [`Entry`] without id and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Package as kept.
    pub package: String,
    /// Version text as kept.
    pub version: String,
    /// Classes as kept.
    pub classes: Vec<String>,
    /// Webhook id (existence is the caller's to check: it needs the store).
    pub webhook: Option<String>,
    /// Note.
    pub note: String,
}

impl Checked {
    /// The key two entries must not share: the same package and version text.
    pub fn key(&self) -> (Ecosystem, &str, &str) {
        (self.ecosystem, &self.package, &self.version)
    }
}

impl Entry {
    /// See [`Checked::key`].
    pub fn key(&self) -> (Ecosystem, &str, &str) {
        (self.ecosystem, &self.package, &self.version)
    }

    /// The entry's version rule (stored text always parses; a bad one matches nothing).
    pub fn spec(&self) -> Option<VersionSpec> {
        VersionSpec::parse(&self.version).ok()
    }

    /// Whether `id` is a package this entry watches.
    pub fn matches(&self, id: &PackageId) -> bool {
        id.ecosystem == self.ecosystem.as_str()
            && normalize_name(&id.ecosystem, &id.name) == self.package
            && self
                .spec()
                .is_some_and(|s| s.contains(self.ecosystem, &id.version))
    }
}

/// Parses the package text into its ecosystem and kept form.
pub fn parse_package(text: &str) -> Result<(Ecosystem, String), FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(refuse("package", "enter groupId:artifactId or a PyPI name"));
    }
    if text.len() > MAX_PACKAGE {
        return Err(refuse(
            "package",
            format!("at most {MAX_PACKAGE} characters"),
        ));
    }
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    if let Some((group, artifact)) = text.split_once(':') {
        if !part_ok(group) || !part_ok(artifact) {
            return Err(refuse(
                "package",
                "a Maven package is groupId:artifactId (letters, digits, '.', '_', '-')",
            ));
        }
        return Ok((Ecosystem::Maven, text.to_string()));
    }
    // PEP 508 names: letters and digits, with '.', '_', '-' inside.
    let ends_ok = text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !part_ok(text) || !ends_ok {
        return Err(refuse(
            "package",
            "not a PyPI name (letters, digits, and '.', '_', '-' between them) nor groupId:artifactId",
        ));
    }
    Ok((Ecosystem::Pypi, normalize_name("PyPI", text)))
}

/// A comparison operator of a version rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Op {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Op::Eq => o == Ordering::Equal,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
        }
    }
}

/// A version rule: every comparison must hold; none means any version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSpec {
    /// `(op, version)`: the package's version `op` this version.
    pub clauses: Vec<(Op, String)>,
}

impl VersionSpec {
    /// Parses version text (see the module documentation for the forms).
    pub fn parse(text: &str) -> Result<VersionSpec, FieldError> {
        let text = text.trim();
        if text.len() > MAX_VERSION {
            return Err(refuse(
                "version",
                format!("at most {MAX_VERSION} characters"),
            ));
        }
        if text.is_empty() || text == "*" {
            return Ok(VersionSpec {
                clauses: Vec::new(),
            });
        }
        let clauses = if text.starts_with(['[', '(']) {
            maven_range(text)?
        } else if text.contains(['<', '>', '=']) {
            comparisons(text)?
        } else {
            vec![(Op::Eq, one_version(text)?)]
        };
        Ok(VersionSpec { clauses })
    }

    /// Whether the version `version` (in `ecosystem`'s order) satisfies the rule. A package
    /// without a version satisfies only "any version".
    pub fn contains(&self, ecosystem: Ecosystem, version: &str) -> bool {
        if self.clauses.is_empty() {
            return true;
        }
        if version.is_empty() {
            return false;
        }
        let scheme = ecosystem.scheme();
        let v = scheme.parse(version);
        self.clauses
            .iter()
            .all(|(op, bound)| op.holds(v.cmp(&scheme.parse(bound))))
    }
}

fn one_version(text: &str) -> Result<String, FieldError> {
    let t = text.trim();
    if t.is_empty()
        || t.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, ',' | ';' | '"' | '[' | ']' | '(' | ')' | '<' | '>' | '=')
        })
    {
        return Err(refuse(
            "version",
            format!("{t:?} is not a version (use 1.2.3, [1.0,2.0) or >=1.0,<2.0)"),
        ));
    }
    Ok(t.to_string())
}

/// `[1.0,2.0)`, `[1.0,)`, `(,2.0]`, `[1.0]`.
fn maven_range(text: &str) -> Result<Vec<(Op, String)>, FieldError> {
    let bad = || {
        refuse(
            "version",
            "a range is [low,high) with [ ] inclusive and ( ) exclusive, e.g. [1.0,2.0)",
        )
    };
    let (open, rest) = text.split_at(1);
    let close = rest.chars().last().ok_or_else(bad)?;
    if !matches!(close, ']' | ')') {
        return Err(bad());
    }
    let inner = rest.get(..rest.len() - 1).ok_or_else(bad)?;
    let Some((low, high)) = inner.split_once(',') else {
        // `[1.0]`: exactly that version.
        if open == "[" && close == ']' {
            return Ok(vec![(Op::Eq, one_version(inner)?)]);
        }
        return Err(bad());
    };
    let mut out = Vec::new();
    if !low.trim().is_empty() {
        let op = if open == "[" { Op::Ge } else { Op::Gt };
        out.push((op, one_version(low)?));
    }
    if !high.trim().is_empty() {
        let op = if close == ']' { Op::Le } else { Op::Lt };
        out.push((op, one_version(high)?));
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// `>=1.0,<2.0`.
fn comparisons(text: &str) -> Result<Vec<(Op, String)>, FieldError> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let p = part.trim();
        let (op, rest) = if let Some(r) = p.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = p.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = p.strip_prefix("==") {
            (Op::Eq, r)
        } else if let Some(r) = p.strip_prefix('>') {
            (Op::Gt, r)
        } else if let Some(r) = p.strip_prefix('<') {
            (Op::Lt, r)
        } else {
            return Err(refuse(
                "version",
                format!("{p:?}: each comparison starts with >=, >, <=, < or =="),
            ));
        };
        out.push((op, one_version(rest)?));
    }
    Ok(out)
}

/// Checks classes or modules: trimmed, no empty ones, no duplicates, bounded.
fn check_classes(ecosystem: Ecosystem, classes: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for c in classes {
        let c = c.trim();
        if c.is_empty() {
            continue;
        }
        if c.len() > MAX_CLASS {
            return Err(refuse(
                "classes",
                format!("a name is at most {MAX_CLASS} characters"),
            ));
        }
        if c.chars()
            .any(|ch| ch.is_whitespace() || ch.is_control() || matches!(ch, ',' | ';' | '"'))
        {
            return Err(refuse(
                "classes",
                format!("{c:?} is not a class or module name"),
            ));
        }
        // Agents report Java classes with dots; a path-style name means the same class.
        let c = match ecosystem {
            Ecosystem::Maven => c.replace('/', "."),
            Ecosystem::Pypi => c.to_string(),
        };
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if out.len() > MAX_CLASSES {
        return Err(refuse("classes", format!("at most {MAX_CLASSES} names")));
    }
    Ok(out)
}

/// Checks an input; every refusal, in field order.
pub fn check(input: &WatchInput) -> Result<Checked, Vec<FieldError>> {
    let mut errors = Vec::new();
    let package = parse_package(&input.package)
        .map_err(|e| errors.push(e))
        .ok();
    let version = VersionSpec::parse(&input.version)
        .map(|_| input.version.trim().to_string())
        .map_err(|e| errors.push(e))
        .ok();
    let classes = check_classes(
        package.as_ref().map_or(Ecosystem::Maven, |p| p.0),
        &input.classes,
    )
    .map_err(|e| errors.push(e))
    .ok();
    let webhook = input
        .webhook
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty());
    if let Some(w) = webhook
        && (w.len() > MAX_WEBHOOK_ID || !w.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        errors.push(refuse("webhook", "not a webhook id"));
    }
    if input.note.chars().count() > MAX_NOTE {
        errors.push(refuse("note", format!("at most {MAX_NOTE} characters")));
    }
    match (package, version, classes) {
        (Some((ecosystem, package)), Some(version), Some(classes)) if errors.is_empty() => {
            Ok(Checked {
                ecosystem,
                package,
                version,
                classes,
                webhook: webhook.map(str::to_string),
                note: input.note.trim().to_string(),
            })
        }
        _ => Err(errors),
    }
}

/// Splits the classes text of a form or a CSV cell: `;`, `,` or white space between names.
pub fn split_classes(text: &str) -> Vec<String> {
    text.split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// One refused CSV line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// A parsed CSV file: the good rows with their line numbers, and the refused lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvReport {
    /// Good rows.
    pub rows: Vec<(usize, Checked)>,
    /// Refused lines.
    pub errors: Vec<LineError>,
}

/// Why a whole CSV file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// Over [`MAX_CSV_BYTES`].
    #[error("the file is larger than {MAX_CSV_BYTES} bytes")]
    TooLarge,
    /// Over [`MAX_CSV_ROWS`] data rows.
    #[error("the file has more than {MAX_CSV_ROWS} rows")]
    TooManyRows,
    /// Not UTF-8.
    #[error("the file is not UTF-8 text")]
    NotText,
    /// No header, or not the expected one.
    #[error("the first line must be the header: package,version,classes,webhook")]
    Header,
}

/// The fields of one CSV line (RFC 4180 quoting, within the line).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            fields.push(std::mem::take(&mut cur));
            at_start = true;
        } else {
            cur.push(c);
            at_start = false;
        }
    }
    if quoted {
        return Err("a quoted field is not closed on its line".to_string());
    }
    fields.push(cur);
    Ok(fields)
}

/// Parses a CSV file with the header `package,version,classes,webhook` (a fifth column
/// `note` is accepted). Each bad line is reported with its number; the good ones are kept.
pub fn parse_csv(bytes: &[u8]) -> Result<CsvReport, CsvError> {
    if bytes.len() > MAX_CSV_BYTES {
        return Err(CsvError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| CsvError::NotText)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate();
    let header = lines
        .by_ref()
        .find(|(_, l)| !l.trim().is_empty())
        .ok_or(CsvError::Header)?;
    let names: Vec<String> = csv_fields(header.1)
        .map_err(|_| CsvError::Header)?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let with_note = names.len() == 5 && names.get(4).is_some_and(|n| n == "note");
    if names.get(..4) != Some(&CSV_HEADER.map(str::to_string)[..])
        || (names.len() > 4 && !with_note)
    {
        return Err(CsvError::Header);
    }
    let mut report = CsvReport::default();
    let mut rows = 0;
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        rows += 1;
        if rows > MAX_CSV_ROWS {
            return Err(CsvError::TooManyRows);
        }
        let fields = match csv_fields(line) {
            Ok(f) => f,
            Err(reason) => {
                report.errors.push(LineError {
                    line: line_no,
                    reason,
                });
                continue;
            }
        };
        if fields.is_empty() || fields.len() > names.len() {
            report.errors.push(LineError {
                line: line_no,
                reason: format!(
                    "{} fields; expected at most {} ({})",
                    fields.len(),
                    names.len(),
                    names.join(",")
                ),
            });
            continue;
        }
        let cell = |n: usize| fields.get(n).map_or("", |s| s.as_str());
        let input = WatchInput {
            package: cell(0).to_string(),
            version: cell(1).to_string(),
            classes: split_classes(cell(2)),
            webhook: Some(cell(3).to_string()),
            note: cell(4).to_string(),
        };
        match check(&input) {
            Ok(c) => report.rows.push((line_no, c)),
            Err(errors) => report.errors.push(LineError {
                line: line_no,
                reason: errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
        }
    }
    Ok(report)
}

/// An entry's status as a viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryStatus {
    /// `not_loaded`, `loaded` or `loaded_with_classes`.
    pub status: Status,
    /// Package URLs the entry matches that the viewer sees (loaded or not).
    pub packages: Vec<String>,
    /// Watched classes loaded from a matching package.
    pub classes_loaded: Vec<String>,
    /// Live agents that load a matching package.
    pub agents: Vec<String>,
    /// Pools of the agents that load (or loaded) a matching package.
    pub pools: Vec<String>,
    /// First seen in an agent, unix ms.
    pub first_seen_ms: Option<i64>,
    /// Last seen in an agent, unix ms.
    pub last_seen_ms: Option<i64>,
    /// First class loaded, unix ms.
    pub first_loaded_ms: Option<i64>,
}

/// The status of `entry` from the index rows a viewer sees; `has_class(purl, name)` answers
/// whether a class was ever loaded from a package.
pub fn status_of<'r>(
    entry: &Entry,
    rows: impl IntoIterator<Item = &'r PackageRow>,
    mut has_class: impl FnMut(&str, &str) -> bool,
) -> EntryStatus {
    let mut packages = Vec::new();
    let mut classes = BTreeSet::new();
    let mut agents = BTreeSet::new();
    let mut pools = BTreeSet::new();
    let (mut first, mut last, mut loaded_at) = (None::<i64>, None::<i64>, None::<i64>);
    let mut loaded = false;
    for row in rows.into_iter().filter(|r| entry.matches(&r.id)) {
        packages.push(row.id.purl.clone());
        first = Some(first.map_or(row.first_seen_ms, |f| f.min(row.first_seen_ms)));
        last = Some(last.map_or(row.last_seen_ms, |l| l.max(row.last_seen_ms)));
        if row.status != PackageStatus::Loaded {
            continue;
        }
        loaded = true;
        if let Some(t) = row.first_loaded_ms {
            loaded_at = Some(loaded_at.map_or(t, |l| l.min(t)));
        }
        agents.extend(row.agents.iter().cloned());
        pools.extend(row.pools.iter().cloned());
        for c in &entry.classes {
            if has_class(&row.id.purl, c) {
                classes.insert(c.clone());
            }
        }
    }
    let status = match (loaded, classes.is_empty()) {
        (false, _) => Status::NotLoaded,
        (true, true) => Status::Loaded,
        (true, false) => Status::LoadedWithClasses,
    };
    EntryStatus {
        status,
        packages,
        classes_loaded: classes.into_iter().collect(),
        agents: agents.into_iter().collect(),
        pools: pools.into_iter().collect(),
        first_seen_ms: first,
        last_seen_ms: last,
        first_loaded_ms: loaded_at,
    }
}

/// Index rows by ecosystem and compared name, so that matching many entries against many
/// rows looks only at each entry's candidates (and normalises each row's name once).
#[derive(Debug, Default)]
pub struct RowsByName<'a> {
    map: HashMap<(&'a str, String), Vec<&'a PackageRow>>,
}

impl<'a> RowsByName<'a> {
    /// Groups `rows`; rows of other ecosystems are left out (no entry can match them).
    pub fn new(rows: &'a [PackageRow]) -> RowsByName<'a> {
        let mut map: HashMap<(&'a str, String), Vec<&'a PackageRow>> = HashMap::new();
        for r in rows {
            let eco = r.id.ecosystem.as_str();
            if eco == "Maven" || eco == "PyPI" {
                map.entry((eco, normalize_name(eco, &r.id.name)))
                    .or_default()
                    .push(r);
            }
        }
        RowsByName { map }
    }

    /// The rows `entry` matches.
    pub fn matching(&self, entry: &Entry) -> Vec<&'a PackageRow> {
        self.map
            .get(&(entry.ecosystem.as_str(), entry.package.clone()))
            .map(|rows| {
                rows.iter()
                    .copied()
                    .filter(|r| entry.matches(&r.id))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A synthetic index row for a watched package nothing has reported, so the assessment can
/// list it as `not_loaded`. Its times are the entry's creation (when watching began).
pub fn unseen_row(entry: &Entry) -> PackageRow {
    let exact = entry
        .spec()
        .and_then(|s| match s.clauses.as_slice() {
            [(Op::Eq, v)] => Some(v.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let path = match entry.ecosystem {
        Ecosystem::Maven => format!("maven/{}", entry.package.replacen(':', "/", 1)),
        Ecosystem::Pypi => format!("pypi/{}", entry.package),
    };
    let at = if exact.is_empty() {
        String::new()
    } else {
        format!("@{exact}")
    };
    PackageRow {
        id: PackageId {
            purl: format!("pkg:{path}{at}"),
            name: entry.package.clone(),
            version: exact,
            ecosystem: entry.ecosystem.as_str().to_string(),
        },
        status: PackageStatus::NotLoaded,
        agents: Vec::new(),
        declared_by: 0,
        pools: Vec::new(),
        tags: Vec::new(),
        first_seen_ms: entry.created_ms,
        last_seen_ms: entry.created_ms,
        first_loaded_ms: None,
        classes_loaded: 0,
        ever_agents: 0,
    }
}

/// What one written package record changed that events care about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageChange {
    /// The package.
    pub id: PackageId,
    /// Its first class load ever (the stored record had none before).
    pub newly_loaded: bool,
    /// Pools whose agents loaded it for the first time.
    pub new_pools: Vec<String>,
}

/// Compares the stored record (`None` if there was none) with the one replacing it; `None`
/// when nothing an event cares about changed. Because both come from the store in the same
/// write, a restart (which restores the records) never reports the same change twice.
pub fn package_change(old: Option<&PackageRecord>, new: &PackageRecord) -> Option<PackageChange> {
    let was_loaded = old.is_some_and(|o| o.first_loaded_ms.is_some());
    let newly_loaded = !was_loaded && new.first_loaded_ms.is_some();
    let new_pools: Vec<String> = if new.first_loaded_ms.is_some() {
        new.pools
            .iter()
            .filter(|p| old.is_none_or(|o| !o.pools.contains(p)))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    (newly_loaded || !new_pools.is_empty()).then(|| PackageChange {
        id: PackageId {
            purl: new.purl.clone(),
            name: new.name.clone(),
            version: new.version.clone(),
            ecosystem: new.ecosystem.clone(),
        },
        newly_loaded,
        new_pools,
    })
}

/// What one flush of the index wrote that the events care about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Packages first loaded, or first loaded in a pool.
    pub packages: Vec<PackageChange>,
    /// Classes first loaded from a package: `(purl, class name)`.
    pub classes: Vec<(String, String)>,
}

impl Changes {
    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.classes.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn spec(t: &str) -> VersionSpec {
        VersionSpec::parse(t).unwrap()
    }

    #[test]
    fn packages_are_maven_coordinates_or_pep503_names() {
        assert_eq!(
            parse_package(" org.apache.logging.log4j:log4j-core ").unwrap(),
            (
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core".into()
            )
        );
        assert_eq!(
            parse_package("PyYAML").unwrap(),
            (Ecosystem::Pypi, "pyyaml".into())
        );
        assert_eq!(
            parse_package("Foo__Bar.baz").unwrap(),
            (Ecosystem::Pypi, "foo-bar-baz".into())
        );
        for bad in ["", "a:b:c", ":b", "a:", "-x", "x y", "a:b c"] {
            assert!(parse_package(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_follow_each_ecosystems_order() {
        let m = Ecosystem::Maven;
        assert!(spec("").contains(m, "1.0"));
        assert!(spec("*").contains(m, ""));
        assert!(spec("2.14.1").contains(m, "2.14.1"));
        // ComparableVersion: 1.0 == 1.0.0 == 1-ga.
        assert!(spec("1.0").contains(m, "1.0.0"));
        assert!(!spec("2.14.1").contains(m, "2.14.2"));
        assert!(!spec("2.14.1").contains(m, ""));
        let r = spec("[2.0,2.15.0)");
        assert!(r.contains(m, "2.0"));
        assert!(r.contains(m, "2.14.1"));
        assert!(!r.contains(m, "2.15.0"));
        // A release candidate comes before its release in Maven's order.
        assert!(r.contains(m, "2.15.0-rc1"));
        assert!(!r.contains(m, "1.9"));
        assert!(spec("(,1.0]").contains(m, "1.0"));
        assert!(!spec("(1.0,)").contains(m, "1.0"));
        assert!(spec("[1.2]").contains(m, "1.2"));
        let p = Ecosystem::Pypi;
        let r = spec(">=5.1,<6.0");
        assert!(r.contains(p, "5.4.1"));
        assert!(!r.contains(p, "6.0"));
        assert!(!r.contains(p, "6.0.0"));
        // PEP 440: 6.0rc1 is before 6.0; 5.1.post1 after 5.1.
        assert!(r.contains(p, "6.0rc1"));
        assert!(r.contains(p, "5.1.post1"));
        assert!(spec("==1.0").contains(p, "1.0.0"));
        for bad in [
            "[1.0", "[1.0,2.0", "(,)", "=>1.0", "1.0 2.0", ">=", "[1.0)", ">=1.0;<2", ">>1",
        ] {
            assert!(VersionSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn check_reports_every_field() {
        let e = check(&WatchInput {
            package: "a:b:c".into(),
            version: "[1".into(),
            classes: vec!["a b".into()],
            webhook: Some("x-y".into()),
            note: "n".repeat(MAX_NOTE + 1),
        })
        .unwrap_err();
        let fields: Vec<_> = e.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["package", "version", "classes", "webhook", "note"]);
        let c = check(&WatchInput {
            package: "org.x:y".into(),
            version: " [1.0,2.0) ".into(),
            classes: split_classes("org/x/A;org.x.B org.x.A"),
            webhook: Some(" ".into()),
            note: " why ".into(),
        })
        .unwrap();
        assert_eq!(c.version, "[1.0,2.0)");
        assert_eq!(c.classes, ["org.x.A", "org.x.B"]);
        assert_eq!(c.webhook, None);
        assert_eq!(c.note, "why");
    }

    #[test]
    fn csv_keeps_good_lines_and_numbers_the_bad_ones() {
        let csv = "package,version,classes,webhook\n\
                   org.apache.logging.log4j:log4j-core,\"[2.0,2.15.0)\",org.apache.logging.log4j.core.lookup.JndiLookup,\n\
                   \n\
                   not a package,1.0,,\n\
                   PyYAML,>=5.1,yaml.constructor;yaml.loader,\n\
                   a:b,1.0,,,,,\n\
                   \"a:b,1.0\n\
                   x:y,[1,,\n";
        let r = parse_csv(csv.as_bytes()).unwrap();
        let good: Vec<_> = r
            .rows
            .iter()
            .map(|(l, c)| (*l, c.package.as_str()))
            .collect();
        assert_eq!(
            good,
            [(2, "org.apache.logging.log4j:log4j-core"), (5, "pyyaml")]
        );
        assert_eq!(r.rows[1].1.classes, ["yaml.constructor", "yaml.loader"]);
        let bad: Vec<_> = r.errors.iter().map(|e| e.line).collect();
        assert_eq!(bad, [4, 6, 7, 8]);
        assert!(r.errors[0].reason.starts_with("package:"), "{:?}", r.errors);
        assert!(r.errors[3].reason.starts_with("version:"), "{:?}", r.errors);
    }

    #[test]
    fn csv_files_are_bounded_and_need_the_header() {
        assert_eq!(parse_csv(b"pkg,version\nx:y,1"), Err(CsvError::Header));
        assert_eq!(parse_csv(b""), Err(CsvError::Header));
        assert_eq!(parse_csv(b"\xff\xfe"), Err(CsvError::NotText));
        let big = vec![b'a'; MAX_CSV_BYTES + 1];
        assert_eq!(parse_csv(&big), Err(CsvError::TooLarge));
        let mut many = String::from("package,version,classes,webhook\n");
        for i in 0..=MAX_CSV_ROWS {
            many.push_str(&format!("g:a{i},1.0,,\n"));
        }
        assert_eq!(parse_csv(many.as_bytes()), Err(CsvError::TooManyRows));
        let ok =
            parse_csv(b"\xef\xbb\xbfPackage, Version ,classes,webhook,note\r\nx:y,,,,hello\r\n")
                .unwrap();
        assert_eq!(ok.rows[0].1.note, "hello");
    }

    fn entry(package: &str, version: &str, classes: &[&str]) -> Entry {
        let c = check(&WatchInput {
            package: package.into(),
            version: version.into(),
            classes: classes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .unwrap();
        Entry {
            id: "e1".into(),
            ecosystem: c.ecosystem,
            package: c.package,
            version: c.version,
            classes: c.classes,
            webhook: None,
            note: String::new(),
            created_ms: 5,
            updated_ms: 5,
        }
    }

    fn row(name: &str, version: &str, loaded: bool) -> PackageRow {
        let mut r = unseen_row(&entry(name, version, &[]));
        if loaded {
            r.status = PackageStatus::Loaded;
            r.agents = vec!["a1".into()];
            r.pools = vec!["default".into()];
            r.first_loaded_ms = Some(10);
        }
        r.first_seen_ms = 7;
        r.last_seen_ms = 20;
        r
    }

    #[test]
    fn status_moves_from_not_loaded_to_loaded_to_loaded_with_classes() {
        let e = entry("g:a", "[1.0,2.0)", &["g.A", "g.B"]);
        let none = status_of(&e, &[], |_, _| true);
        assert_eq!(none.status, Status::NotLoaded);
        assert!(none.packages.is_empty());
        let other = [row("g:a", "2.0", true), row("g:b", "1.0", true)];
        assert_eq!(status_of(&e, &other, |_, _| true).status, Status::NotLoaded);
        let declared = [row("g:a", "1.5", false)];
        let s = status_of(&e, &declared, |_, _| true);
        assert_eq!(s.status, Status::NotLoaded);
        assert_eq!(s.packages, ["pkg:maven/g/a@1.5"]);
        let loaded = [row("g:a", "1.5", true)];
        let s = status_of(&e, &loaded, |_, _| false);
        assert_eq!(s.status, Status::Loaded);
        assert_eq!(
            (s.agents.clone(), s.pools.clone()),
            (vec!["a1".to_string()], vec!["default".to_string()])
        );
        assert_eq!(
            (s.first_seen_ms, s.last_seen_ms, s.first_loaded_ms),
            (Some(7), Some(20), Some(10))
        );
        let s = status_of(&e, &loaded, |purl, c| {
            purl == "pkg:maven/g/a@1.5" && c == "g.B"
        });
        assert_eq!(s.status, Status::LoadedWithClasses);
        assert_eq!(s.classes_loaded, ["g.B"]);
        // PyPI names match after normalisation on both sides.
        let p = entry("PyYAML", "", &[]);
        let mut r = row("pyyaml", "6.0", true);
        r.id.name = "PyYAML".into();
        assert_eq!(
            status_of(&p, &[r.clone()], |_, _| false).status,
            Status::Loaded
        );
        let rows = [r, row("g:a", "1.5", true), row("g:a", "2.5", true)];
        let by = RowsByName::new(&rows);
        assert_eq!(by.matching(&p).len(), 1);
        let got: Vec<_> = by
            .matching(&e)
            .iter()
            .map(|r| r.id.version.as_str())
            .collect();
        assert_eq!(got, ["1.5"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any file: refused as a whole, or every non-blank data line is either kept or
        /// refused with its own number, never a panic.
        #[test]
        fn any_csv_is_parsed_or_refused(
            body in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("\n".to_string()),
                    proptest::strategy::Just(",".to_string()),
                    proptest::strategy::Just("\"".to_string()),
                    proptest::strategy::Just(";".to_string()),
                    "[a-z0-9:.\\[\\](<>=_ -]{0,8}",
                ],
                0..40,
            )
        ) {
            let text = format!("package,version,classes,webhook\n{}", body.concat());
            let r = parse_csv(text.as_bytes()).unwrap();
            let lines: Vec<usize> = text
                .lines()
                .enumerate()
                .skip(1)
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, _)| i + 1)
                .collect();
            let mut seen: Vec<usize> = r.rows.iter().map(|(l, _)| *l).chain(r.errors.iter().map(|e| e.line)).collect();
            seen.sort_unstable();
            proptest::prop_assert_eq!(seen, lines);
            for (_, c) in &r.rows {
                proptest::prop_assert!(VersionSpec::parse(&c.version).is_ok());
            }
        }
    }

    fn record(first_loaded: Option<i64>, pools: &[&str]) -> PackageRecord {
        PackageRecord {
            purl: "pkg:maven/g/a@1.0".into(),
            name: "g:a".into(),
            version: "1.0".into(),
            ecosystem: "Maven".into(),
            first_seen_ms: 1,
            last_seen_ms: 2,
            first_loaded_ms: first_loaded,
            agents: Vec::new(),
            pools: pools.iter().map(|s| s.to_string()).collect(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn changes_are_first_loads_and_new_pools_only() {
        assert_eq!(package_change(None, &record(None, &[])), None);
        let c = package_change(None, &record(Some(3), &["p1"])).unwrap();
        assert!(c.newly_loaded);
        assert_eq!(c.new_pools, ["p1"]);
        let old = record(Some(3), &["p1"]);
        assert_eq!(package_change(Some(&old), &record(Some(3), &["p1"])), None);
        let c = package_change(Some(&old), &record(Some(3), &["p1", "p2"])).unwrap();
        assert!(!c.newly_loaded);
        assert_eq!(c.new_pools, ["p2"]);
        let declared = record(None, &[]);
        assert!(
            package_change(Some(&declared), &record(Some(4), &["p1"]))
                .unwrap()
                .newly_loaded
        );
    }
}
