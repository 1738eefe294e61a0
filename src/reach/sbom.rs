//! The Runtime SBOM: the packages of the reachability index as one viewer sees them (pool
//! scope, pool and tag filters already applied by the caller through [`super::Seen`]),
//! written as CycloneDX 1.6 JSON, SPDX 2.3 JSON or CSV.
//!
//! What makes it a *runtime* SBOM is that, by default, it lists only packages whose code an
//! agent saw loaded, and says so with evidence: for each component, how its identity was
//! found (the artifact's own metadata, the runtime's report, a file name that agrees) and
//! where it was loaded (the artifact locations of the live agents, with their pools).
//! Packages that are only declared (on a class path or in site-packages, never loaded) are
//! left out unless asked for, and then marked `not_loaded`.
//!
//! Pure: no I/O, no clock, no randomness. The caller passes the rows and artifacts it read
//! under the index lock ([`Evidence::add`] is meant for [`super::Index::artifacts_seen`]),
//! the time and the random bytes of the serial number. Output order is by purl, so two
//! exports of the same state differ only in serial number and time.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::index::{AgentInfo, PackageRow, PackageStatus};
use super::purl::{PackageId, package_of};
use crate::agents::protocol::{Artifact, CoordinateSource};

/// Most locations kept per component: a package loaded from the same path by every agent
/// is one location; thousands of distinct paths would say nothing more.
pub const MAX_LOCATIONS_PER_COMPONENT: usize = 256;
/// Most agent ids named per location (the rest are counted).
pub const MAX_AGENTS_PER_LOCATION: usize = 1_000;
/// Agent ids spelled out in a location's context text before "and N more".
const AGENTS_IN_TEXT: usize = 10;
/// Longest application name, supplier or version taken from the user.
pub const MAX_APPLICATION_FIELD_CHARS: usize = 200;
/// The application's name when the user gives none.
pub const DEFAULT_APPLICATION_NAME: &str = "runtime";
/// The application's `bom-ref`; component refs are purls (`pkg:...`), so it cannot clash.
const APPLICATION_REF: &str = "application";

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.6 JSON.
    CycloneDx,
    /// SPDX 2.3 JSON.
    Spdx,
    /// Comma-separated values, one package a line.
    Csv,
}

impl Format {
    /// The format of an API name (`cyclonedx`, `spdx`, `csv`).
    pub fn parse(s: &str) -> Result<Format, SbomError> {
        match s {
            "cyclonedx" => Ok(Format::CycloneDx),
            "spdx" => Ok(Format::Spdx),
            "csv" => Ok(Format::Csv),
            _ => Err(SbomError::Format),
        }
    }

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::CycloneDx => "cyclonedx",
            Format::Spdx => "spdx",
            Format::Csv => "csv",
        }
    }

    /// The media type each format registers.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::CycloneDx => "application/vnd.cyclonedx+json; version=1.6",
            Format::Spdx => "application/spdx+json",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The file extension each format's tools expect.
    pub fn extension(self) -> &'static str {
        match self {
            Format::CycloneDx => "cdx.json",
            Format::Spdx => "spdx.json",
            Format::Csv => "csv",
        }
    }
}

/// Why an SBOM request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SbomError {
    /// Not one of the formats.
    #[error("format is cyclonedx, spdx or csv")]
    Format,
    /// An application field is too long.
    #[error("{field} has at most {max} characters")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// An application field holds control characters (they would end up in file names and
    /// documents other tools parse).
    #[error("{field} may not contain control characters")]
    Control {
        /// The field.
        field: &'static str,
    },
}

impl SbomError {
    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            SbomError::Format => "format",
            SbomError::TooLong { field, .. } | SbomError::Control { field } => field,
        }
    }
}

/// The application the SBOM describes, as the user names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Its name ([`DEFAULT_APPLICATION_NAME`] when none was given).
    pub name: String,
    /// Who supplies it (an organisation).
    pub supplier: Option<String>,
    /// Its version.
    pub version: Option<String>,
}

impl Application {
    /// Checks what the user typed: blank means not given.
    pub fn new(
        name: Option<&str>,
        supplier: Option<&str>,
        version: Option<&str>,
    ) -> Result<Application, SbomError> {
        fn field(field: &'static str, v: Option<&str>) -> Result<Option<String>, SbomError> {
            let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            if v.chars().count() > MAX_APPLICATION_FIELD_CHARS {
                return Err(SbomError::TooLong {
                    field,
                    max: MAX_APPLICATION_FIELD_CHARS,
                });
            }
            if v.chars().any(char::is_control) {
                return Err(SbomError::Control { field });
            }
            Ok(Some(v.to_string()))
        }
        Ok(Application {
            name: field("name", name)?.unwrap_or_else(|| DEFAULT_APPLICATION_NAME.to_string()),
            supplier: field("supplier", supplier)?,
            version: field("version", version)?,
        })
    }
}

/// What a document says about itself and its scope.
#[derive(Debug, Clone)]
pub struct DocumentInfo {
    /// The appliance's version (the tool that made the document).
    pub tool_version: String,
    /// Unix ms of the export.
    pub now_ms: i64,
    /// 16 random bytes: the CycloneDX serial number and the SPDX namespace.
    pub serial: [u8; 16],
    /// The start of the SPDX document namespace (the appliance's URL); the serial follows.
    pub namespace_base: String,
    /// The application described.
    pub application: Application,
    /// The pool filter, if any (the caller's scope bounds the rows regardless).
    pub pool: Option<String>,
    /// The tag filter, if any.
    pub tag: Option<String>,
    /// Whether packages never loaded are listed too.
    pub include_not_loaded: bool,
}

/// One location a component was found at, and who has it there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Occurrence {
    /// The SHA-256 values the agents reported for the file (lower-case hex, checked).
    pub sha256: BTreeSet<String>,
    /// Agents that have it here (up to [`MAX_AGENTS_PER_LOCATION`]).
    pub agents: BTreeSet<String>,
    /// Agents beyond that bound.
    pub more_agents: usize,
    /// Their pools.
    pub pools: BTreeSet<String>,
    /// Whether any of them loaded classes from it.
    pub loaded: bool,
}

/// How a component's identity was established: technique (the CycloneDX 1.6 enum), the
/// evidence as text, and a confidence in percent.
type Methods = BTreeMap<(&'static str, String), u8>;

/// The evidence about one package from the live agents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageEvidence {
    /// Locations, by path.
    pub locations: BTreeMap<String, Occurrence>,
    /// Locations left out beyond [`MAX_LOCATIONS_PER_COMPONENT`].
    pub more_locations: usize,
    methods: Methods,
}

impl PackageEvidence {
    /// The distinct SHA-256 values over every location.
    pub fn sha256(&self) -> BTreeSet<&str> {
        self.locations
            .values()
            .flat_map(|o| o.sha256.iter().map(String::as_str))
            .collect()
    }
}

/// Evidence for every package, by purl, gathered from live agents' artifacts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    by_purl: BTreeMap<String, PackageEvidence>,
}

/// The identity method a trustworthy coordinate source stands for.
fn method_of(source: CoordinateSource) -> (&'static str, &'static str, u8) {
    match source {
        CoordinateSource::PomProperties => (
            "manifest-analysis",
            "META-INF/maven pom.properties of the artifact",
            95,
        ),
        // The operating system's packager linked the file under these coordinates.
        CoordinateSource::SystemMavenRepo => (
            "manifest-analysis",
            "the system's Maven repository (/usr/share/maven-repo) links to the file",
            85,
        ),
        CoordinateSource::DistMetadata => (
            "manifest-analysis",
            "Python distribution metadata (importlib.metadata)",
            95,
        ),
        CoordinateSource::ManifestBundle => (
            "manifest-analysis",
            "MANIFEST.MF Bundle-SymbolicName and Bundle-Version",
            70,
        ),
        CoordinateSource::ManifestImplementation => (
            "manifest-analysis",
            "MANIFEST.MF Implementation-Title, -Vendor-Id and -Version",
            60,
        ),
        CoordinateSource::ManifestModule => {
            ("manifest-analysis", "MANIFEST.MF Automatic-Module-Name", 50)
        }
        // The agent asks the running runtime for its own name and version.
        CoordinateSource::Runtime => (
            "instrumentation",
            "name and version reported by the running runtime",
            90,
        ),
        CoordinateSource::FileNameGuess => ("filename", "the artifact's file name agrees", 30),
    }
}

/// The class-load hook proves the code ran; the identity itself still rests on metadata,
/// hence less than certain.
const LOADED_METHOD: (&str, &str, u8) = (
    "instrumentation",
    "classes loaded at runtime, seen by the agent's class-load hook",
    80,
);

/// Lower-case ASCII name with `_` and `.` as `-`, to compare a file-name guess with a
/// package name (PEP 503 style, which is also harmless for Maven artifact ids).
fn loose(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '_' | '.' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Whether a file-name guess names the same package and version as `id`.
fn guess_agrees(id: &PackageId, name: &str, version: Option<&str>) -> bool {
    let own = id.name.rsplit(':').next().unwrap_or(&id.name);
    !id.version.is_empty() && version == Some(id.version.as_str()) && loose(own) == loose(name)
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Evidence {
    /// No evidence yet.
    pub fn new() -> Evidence {
        Evidence::default()
    }

    /// Takes one artifact of a live connection (see [`super::Index::artifacts_seen`]).
    pub fn add(
        &mut self,
        agent: &AgentInfo,
        artifact: &Artifact,
        packages: &[&PackageId],
        loaded: bool,
    ) {
        for id in packages {
            let ev = self.by_purl.entry(id.purl.clone()).or_default();
            for c in &artifact.coordinates {
                let counts = if c.source.is_guess() {
                    guess_agrees(id, &c.name, c.version.as_deref())
                } else {
                    package_of(artifact.kind, c).purl == id.purl
                };
                if counts {
                    let (technique, value, confidence) = method_of(c.source);
                    ev.methods
                        .insert((technique, value.to_string()), confidence);
                }
            }
            if loaded {
                let (technique, value, confidence) = LOADED_METHOD;
                ev.methods
                    .insert((technique, value.to_string()), confidence);
            }
            if !ev.locations.contains_key(&artifact.location)
                && ev.locations.len() >= MAX_LOCATIONS_PER_COMPONENT
            {
                ev.more_locations = ev.more_locations.saturating_add(1);
                continue;
            }
            let at = ev.locations.entry(artifact.location.clone()).or_default();
            if let Some(h) = artifact.sha256.as_deref().filter(|h| is_sha256(h)) {
                at.sha256.insert(h.to_ascii_lowercase());
            }
            if at.agents.contains(&agent.agent_id) {
                // the same agent twice (a reconnect racing its old session): once is enough
            } else if at.agents.len() < MAX_AGENTS_PER_LOCATION {
                at.agents.insert(agent.agent_id.clone());
            } else {
                at.more_agents = at.more_agents.saturating_add(1);
            }
            at.pools.insert(agent.pool_id.clone());
            at.loaded |= loaded;
        }
    }

    /// The evidence about one package.
    pub fn get(&self, purl: &str) -> Option<&PackageEvidence> {
        self.by_purl.get(purl)
    }
}

/// One component: its row and what the live agents show of it.
#[derive(Debug, Clone)]
pub struct Component {
    /// The index row, as the viewer sees it.
    pub row: PackageRow,
    /// Locations and identity methods; empty when no live agent has it (history only).
    pub evidence: PackageEvidence,
}

impl Component {
    fn loaded(&self) -> bool {
        self.row.status == PackageStatus::Loaded
    }

    fn status(&self) -> &'static str {
        if self.loaded() {
            "loaded"
        } else {
            "not_loaded"
        }
    }

    /// `(group, name)`: Maven names are `group:artifact`.
    fn group_and_name(&self) -> (Option<&str>, &str) {
        let id = &self.row.id;
        match (id.ecosystem.as_str(), id.name.split_once(':')) {
            ("Maven", Some((group, name))) => (Some(group), name),
            _ => (None, id.name.as_str()),
        }
    }

    /// The identity methods, falling back to what the history says when no live agent
    /// has the package: the index makes Maven and PyPI packages only from an artifact's
    /// metadata, so that much is known even after the agents left.
    fn methods(&self) -> Vec<(&'static str, String, u8)> {
        let mut out: Vec<(&'static str, String, u8)> = self
            .evidence
            .methods
            .iter()
            .map(|((t, v), c)| (*t, v.clone(), *c))
            .collect();
        if out.is_empty() {
            let recorded = match self.row.id.ecosystem.as_str() {
                "Maven" | "PyPI" => (
                    "manifest-analysis",
                    "package metadata recorded by an agent (no agent has it now)",
                    90,
                ),
                _ => (
                    "other",
                    "identity recorded by an agent (no agent has it now)",
                    50,
                ),
            };
            out.push((recorded.0, recorded.1.to_string(), recorded.2));
            if self.loaded() {
                out.push((
                    LOADED_METHOD.0,
                    "classes were loaded at runtime (recorded; no agent has it now)".into(),
                    LOADED_METHOD.2,
                ));
            }
        }
        out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)).then(a.1.cmp(&b.1)));
        out
    }
}

/// An SBOM ready to be written in any format.
#[derive(Debug, Clone)]
pub struct Sbom {
    /// The components, by purl.
    pub components: Vec<Component>,
    /// What the document says about itself.
    pub info: DocumentInfo,
}

fn confidence(percent: u8) -> Value {
    json!(f64::from(percent) / 100.0)
}

/// A version 4 UUID from 16 random bytes, in RFC 4122 text form.
pub fn uuid_v4(bytes: [u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        let b = match i {
            6 => (b & 0x0f) | 0x40,
            8 => (b & 0x3f) | 0x80,
            _ => *b,
        };
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// `text` with every character outside `[A-Za-z0-9.-]` as `-` (what an SPDX id may hold).
pub fn spdx_id_part(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "-".into() } else { s }
}

/// One CSV cell, quoted as RFC 4180 says. A cell that starts with `=`, `+`, `-`, `@` (or a
/// tab or carriage return) gets a leading `'`: spreadsheets run such cells as formulas, and
/// package names, tags, agent ids and paths all come from agents or users, so an export
/// opened in a spreadsheet must not execute text an attacker chose.
pub fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn time(ms: i64) -> String {
    crate::clock::rfc3339(ms.div_euclid(1000))
}

/// A short, human description of who has a component at one location.
fn occurrence_context(o: &Occurrence) -> String {
    let total = o.agents.len().saturating_add(o.more_agents);
    let named: Vec<&str> = o
        .agents
        .iter()
        .take(AGENTS_IN_TEXT)
        .map(String::as_str)
        .collect();
    let rest = total.saturating_sub(named.len());
    let mut text = format!(
        "{} by {total} agent{} ({}{})",
        if o.loaded {
            "loaded"
        } else {
            "present, not loaded,"
        },
        if total == 1 { "" } else { "s" },
        named.join(", "),
        if rest > 0 {
            format!(" and {rest} more")
        } else {
            String::new()
        },
    );
    if !o.pools.is_empty() {
        let pools: Vec<&str> = o.pools.iter().map(String::as_str).collect();
        text.push_str(&format!(
            " in pool{} {}",
            if pools.len() == 1 { "" } else { "s" },
            pools.join(", ")
        ));
    }
    text
}

fn property(name: &str, value: impl Into<String>) -> Value {
    json!({"name": name, "value": value.into()})
}

impl Sbom {
    /// The components of `rows` (as the viewer sees them) with their `evidence`: only the
    /// loaded ones unless `info.include_not_loaded`, ordered by purl.
    pub fn new(rows: Vec<PackageRow>, evidence: &Evidence, info: DocumentInfo) -> Sbom {
        let mut components: Vec<Component> = rows
            .into_iter()
            .filter(|r| info.include_not_loaded || r.status == PackageStatus::Loaded)
            .map(|row| Component {
                evidence: evidence.get(&row.id.purl).cloned().unwrap_or_default(),
                row,
            })
            .collect();
        components.sort_by(|a, b| a.row.id.purl.cmp(&b.row.id.purl));
        Sbom { components, info }
    }

    /// The serial number (`urn:uuid:...`).
    pub fn serial_number(&self) -> String {
        format!("urn:uuid:{}", uuid_v4(self.info.serial))
    }

    /// The document in `format`, as bytes.
    pub fn render(&self, format: Format) -> Vec<u8> {
        match format {
            Format::CycloneDx => pretty(&self.cyclonedx()),
            Format::Spdx => pretty(&self.spdx()),
            Format::Csv => self.csv().into_bytes(),
        }
    }

    /// A download file name: application, time, extension; only safe characters.
    pub fn file_name(&self, format: Format) -> String {
        let stamp = time(self.info.now_ms).replace([':', '-'], "");
        let app: String = spdx_id_part(&self.info.application.name)
            .chars()
            .take(64)
            .collect();
        format!("sbom-{app}-{stamp}.{}", format.extension())
    }

    fn scope_properties(&self) -> Vec<Value> {
        let mut props = vec![property(
            "lantern:sbom:kind",
            "runtime: components whose code agents saw loaded",
        )];
        if let Some(p) = &self.info.pool {
            props.push(property("lantern:scope:pool", p.clone()));
        }
        if let Some(t) = &self.info.tag {
            props.push(property("lantern:scope:tag", t.clone()));
        }
        props.push(property(
            "lantern:scope:include_not_loaded",
            self.info.include_not_loaded.to_string(),
        ));
        props
    }

    /// CycloneDX 1.6 JSON.
    pub fn cyclonedx(&self) -> Value {
        let app = &self.info.application;
        let mut app_component = Map::new();
        app_component.insert("type".into(), json!("application"));
        app_component.insert("bom-ref".into(), json!(APPLICATION_REF));
        if let Some(s) = &app.supplier {
            app_component.insert("supplier".into(), json!({"name": s}));
        }
        app_component.insert("name".into(), json!(app.name));
        if let Some(v) = &app.version {
            app_component.insert("version".into(), json!(v));
        }
        let components: Vec<Value> = self.components.iter().map(cyclonedx_component).collect();
        let refs: Vec<&str> = self
            .components
            .iter()
            .map(|c| c.row.id.purl.as_str())
            .collect();
        json!({
            "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "serialNumber": self.serial_number(),
            "version": 1,
            "metadata": {
                "timestamp": time(self.info.now_ms),
                "tools": {"components": [{
                    "type": "application",
                    "name": "lantern",
                    "version": self.info.tool_version,
                    "description": "Lantern appliance: runtime reachability from live agents",
                }]},
                "component": Value::Object(app_component),
                "properties": self.scope_properties(),
            },
            "components": components,
            "dependencies": [{"ref": APPLICATION_REF, "dependsOn": refs}],
        })
    }

    /// SPDX 2.3 JSON.
    pub fn spdx(&self) -> Value {
        let app = &self.info.application;
        let uuid = uuid_v4(self.info.serial);
        let mut creators = vec![format!("Tool: lantern-{}", self.info.tool_version)];
        if let Some(s) = &app.supplier {
            creators.push(format!("Organization: {s}"));
        }
        let supplier = app.supplier.as_ref().map_or_else(
            || "NOASSERTION".to_string(),
            |s| format!("Organization: {s}"),
        );
        let mut used: BTreeSet<String> = BTreeSet::new();
        let app_id = "SPDXRef-Application".to_string();
        used.insert(app_id.clone());
        let mut root = Map::new();
        root.insert("SPDXID".into(), json!(app_id));
        root.insert("name".into(), json!(app.name));
        if let Some(v) = &app.version {
            root.insert("versionInfo".into(), json!(v));
        }
        root.insert("supplier".into(), json!(supplier));
        for (k, v) in noassertions() {
            root.insert(k.into(), v);
        }
        root.insert("primaryPackagePurpose".into(), json!("APPLICATION"));
        let mut packages = vec![Value::Object(root)];
        let mut relationships = vec![json!({
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": app_id,
        })];
        for c in &self.components {
            let id = &c.row.id;
            let base = format!(
                "SPDXRef-Package-{}",
                spdx_id_part(&if id.version.is_empty() {
                    id.name.clone()
                } else {
                    format!("{}-{}", id.name, id.version)
                })
            );
            let mut spdx_id = base.clone();
            let mut n = 1u32;
            while used.contains(&spdx_id) {
                n = n.saturating_add(1);
                spdx_id = format!("{base}-{n}");
            }
            used.insert(spdx_id.clone());
            let mut p = Map::new();
            p.insert("SPDXID".into(), json!(spdx_id));
            p.insert("name".into(), json!(id.name));
            if !id.version.is_empty() {
                p.insert("versionInfo".into(), json!(id.version));
            }
            p.insert("supplier".into(), json!("NOASSERTION"));
            for (k, v) in noassertions() {
                p.insert(k.into(), v);
            }
            let hashes = c.evidence.sha256();
            if !hashes.is_empty() {
                p.insert(
                    "checksums".into(),
                    json!(
                        hashes
                            .iter()
                            .map(|h| json!({"algorithm": "SHA256", "checksumValue": h}))
                            .collect::<Vec<_>>()
                    ),
                );
            }
            p.insert(
                "externalRefs".into(),
                json!([{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": id.purl,
                }]),
            );
            p.insert("primaryPackagePurpose".into(), json!("LIBRARY"));
            p.insert("comment".into(), json!(spdx_comment(c)));
            packages.push(Value::Object(p));
            relationships.push(json!({
                "spdxElementId": app_id,
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": spdx_id,
            }));
        }
        let base = self.info.namespace_base.trim_end_matches('/');
        json!({
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": format!("{} runtime SBOM", app.name),
            "documentNamespace": format!("{base}/spdx/{}-{uuid}", spdx_id_part(&app.name)),
            "creationInfo": {
                "created": time(self.info.now_ms),
                "creators": creators,
                "comment": self.scope_comment(),
            },
            "packages": packages,
            "relationships": relationships,
        })
    }

    fn scope_comment(&self) -> String {
        let mut s = String::from(if self.info.include_not_loaded {
            "Runtime SBOM: packages agents saw loaded, and packages present but never loaded (marked in each package's comment)."
        } else {
            "Runtime SBOM: only packages whose code agents saw loaded."
        });
        if let Some(p) = &self.info.pool {
            s.push_str(&format!(" Pool: {p}."));
        }
        if let Some(t) = &self.info.tag {
            s.push_str(&format!(" Tag: {t}."));
        }
        s
    }

    /// CSV with a header line; lists inside a cell are separated by `;`.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "purl,name,group,version,ecosystem,status,agents,pools,tags,first_seen,last_seen,sha256,locations\r\n",
        );
        for c in &self.components {
            let (group, name) = c.group_and_name();
            let id = &c.row.id;
            let hashes: Vec<&str> = c.evidence.sha256().into_iter().collect();
            let locations: Vec<&str> = c.evidence.locations.keys().map(String::as_str).collect();
            let cells = [
                id.purl.clone(),
                name.to_string(),
                group.unwrap_or_default().to_string(),
                id.version.clone(),
                id.ecosystem.clone(),
                c.status().to_string(),
                c.row.agents.join(";"),
                c.row.pools.join(";"),
                c.row.tags.join(";"),
                time(c.row.first_seen_ms),
                time(c.row.last_seen_ms),
                hashes.join(";"),
                locations.join(";"),
            ];
            let line: Vec<String> = cells.iter().map(|v| csv_cell(v)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// The fields SPDX requires that the appliance cannot know (licences, download places).
fn noassertions() -> [(&'static str, Value); 5] {
    [
        ("downloadLocation", json!("NOASSERTION")),
        ("filesAnalyzed", json!(false)),
        ("licenseConcluded", json!("NOASSERTION")),
        ("licenseDeclared", json!("NOASSERTION")),
        ("copyrightText", json!("NOASSERTION")),
    ]
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

fn spdx_comment(c: &Component) -> String {
    let mut s = format!(
        "lantern: {}; first seen {}; last seen {}; {} agent(s) now",
        c.status(),
        time(c.row.first_seen_ms),
        time(c.row.last_seen_ms),
        c.row.agents.len()
    );
    if !c.row.pools.is_empty() {
        s.push_str(&format!("; pools {}", c.row.pools.join(", ")));
    }
    for (loc, o) in &c.evidence.locations {
        s.push_str(&format!("; {loc}: {}", occurrence_context(o)));
    }
    s
}

fn cyclonedx_component(c: &Component) -> Value {
    let id = &c.row.id;
    let (group, name) = c.group_and_name();
    let mut m = Map::new();
    m.insert("type".into(), json!("library"));
    m.insert("bom-ref".into(), json!(id.purl));
    if let Some(g) = group {
        m.insert("group".into(), json!(g));
    }
    m.insert("name".into(), json!(name));
    if !id.version.is_empty() {
        m.insert("version".into(), json!(id.version));
    }
    let hashes = c.evidence.sha256();
    let mut props = vec![property("lantern:status", c.status())];
    // One file behind a purl is the normal case; two builds under one version are worth
    // showing but not as the component's hash, which claims to be *the* file.
    match hashes.len() {
        0 => {}
        1 => {
            m.insert(
                "hashes".into(),
                json!(
                    hashes
                        .iter()
                        .map(|h| json!({"alg": "SHA-256", "content": h}))
                        .collect::<Vec<_>>()
                ),
            );
        }
        _ => props.extend(hashes.iter().map(|h| property("lantern:sha256", *h))),
    }
    m.insert("purl".into(), json!(id.purl));
    let methods = c.methods();
    let best = methods.iter().map(|m| m.2).max().unwrap_or(0);
    let mut evidence = Map::new();
    evidence.insert(
        "identity".into(),
        json!([{
            "field": "purl",
            "confidence": confidence(best),
            "concludedValue": id.purl,
            "methods": methods.iter().map(|(t, v, conf)| json!({
                "technique": t,
                "confidence": confidence(*conf),
                "value": v,
            })).collect::<Vec<_>>(),
        }]),
    );
    if !c.evidence.locations.is_empty() {
        evidence.insert(
            "occurrences".into(),
            json!(
                c.evidence
                    .locations
                    .iter()
                    .map(|(loc, o)| json!({
                        "location": loc,
                        "additionalContext": occurrence_context(o),
                    }))
                    .collect::<Vec<_>>()
            ),
        );
    }
    m.insert("evidence".into(), Value::Object(evidence));
    props.push(property("lantern:first_seen", time(c.row.first_seen_ms)));
    props.push(property("lantern:last_seen", time(c.row.last_seen_ms)));
    if let Some(t) = c.row.first_loaded_ms {
        props.push(property("lantern:first_loaded", time(t)));
    }
    props.push(property("lantern:agents", c.row.agents.len().to_string()));
    props.push(property(
        "lantern:agents_ever",
        c.row.ever_agents.to_string(),
    ));
    props.push(property(
        "lantern:classes_loaded",
        c.row.classes_loaded.to_string(),
    ));
    props.extend(
        c.row
            .pools
            .iter()
            .map(|p| property("lantern:pool", p.clone())),
    );
    props.extend(
        c.row
            .tags
            .iter()
            .map(|t| property("lantern:tag", t.clone())),
    );
    if c.evidence.more_locations > 0 {
        props.push(property(
            "lantern:locations_not_listed",
            c.evidence.more_locations.to_string(),
        ));
    }
    m.insert("properties".into(), json!(props));
    Value::Object(m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::agents::protocol::{ArtifactKind, Coordinates};
    use crate::reach::{Index, LoadRef, Seen};

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn coord(source: CoordinateSource, group: Option<&str>, name: &str, v: &str) -> Coordinates {
        Coordinates {
            source,
            group: group.map(Into::into),
            name: name.into(),
            version: Some(v.into()),
        }
    }

    fn jar(r: u32, location: &str, coords: Vec<Coordinates>, sha256: Option<&str>) -> Artifact {
        Artifact {
            id: r,
            location: location.into(),
            kind: ArtifactKind::Jar,
            parent: None,
            sha256: sha256.map(Into::into),
            coordinates: coords,
        }
    }

    fn agent(
        index: &mut Index,
        session: u64,
        id: &str,
        pool: &str,
        jars: &[Artifact],
        loaded: &[u32],
    ) {
        index.connect(
            session,
            AgentInfo {
                agent_id: id.into(),
                pool_id: pool.into(),
                tags: vec![format!("tag-{pool}")],
            },
        );
        let names: Vec<Vec<String>> = loaded.iter().map(|r| vec![format!("C{r}")]).collect();
        let loads: Vec<LoadRef<'_, String>> = loaded
            .iter()
            .zip(&names)
            .map(|(r, n)| LoadRef {
                artifact: *r,
                count: None,
                names: n.as_slice(),
            })
            .collect();
        let p = index.prepare(session, 1, jars, &loads).unwrap().unwrap();
        index.apply(p, 1_764_300_000_000).unwrap();
    }

    /// `a1` (pool p1) loads log4j (pom.properties, hash, file name agrees) and declares
    /// never-loaded snakeyaml; `b1` (pool p2) loads log4j from another path and a jar with
    /// a formula-like name.
    fn fixture() -> Index {
        let mut index = Index::new();
        let log4j = |r, loc| {
            jar(
                r,
                loc,
                vec![
                    coord(
                        CoordinateSource::FileNameGuess,
                        None,
                        "log4j-core",
                        "2.14.1",
                    ),
                    coord(
                        CoordinateSource::PomProperties,
                        Some("org.apache.logging.log4j"),
                        "log4j-core",
                        "2.14.1",
                    ),
                ],
                Some(HASH),
            )
        };
        let yaml = jar(
            1,
            "/app/lib/snakeyaml.jar",
            vec![coord(
                CoordinateSource::PomProperties,
                Some("org.yaml"),
                "snakeyaml",
                "1.33",
            )],
            Some("not-a-hash"),
        );
        agent(
            &mut index,
            1,
            "a1",
            "p1",
            &[log4j(0, "/app/lib/log4j-core-2.14.1.jar"), yaml],
            &[0],
        );
        let odd = jar(
            1,
            "/srv/x,\"y\".jar",
            vec![coord(
                CoordinateSource::ManifestBundle,
                None,
                "=cmd|' /C calc'!A0",
                "1",
            )],
            None,
        );
        agent(
            &mut index,
            2,
            "b1",
            "p2",
            &[log4j(0, "/srv/log4j.jar"), odd],
            &[0, 1],
        );
        index
    }

    fn info(include_not_loaded: bool) -> DocumentInfo {
        DocumentInfo {
            tool_version: "0.1.0".into(),
            now_ms: 1_764_300_000_000,
            serial: [7; 16],
            namespace_base: "https://lantern.example:8443/".into(),
            application: Application::new(Some("Pay API"), Some("Acme, Inc."), Some("4.2"))
                .unwrap(),
            pool: None,
            tag: None,
            include_not_loaded,
        }
    }

    fn sbom(index: &Index, pools: Option<&BTreeSet<String>>, include_not_loaded: bool) -> Sbom {
        let seen = Seen { pools, tag: None };
        let rows = index.packages_seen(1_764_300_001_000, seen);
        let mut ev = Evidence::new();
        index.artifacts_seen(seen, |a, art, ids, loaded| ev.add(a, art, ids, loaded));
        Sbom::new(rows, &ev, info(include_not_loaded))
    }

    const LOG4J: &str = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1";

    #[test]
    fn cyclonedx_lists_loaded_components_with_evidence() {
        let index = fixture();
        let bom = sbom(&index, None, false).cyclonedx();
        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert_eq!(bom["specVersion"], "1.6");
        assert_eq!(bom["version"], 1);
        assert_eq!(
            bom["serialNumber"],
            "urn:uuid:07070707-0707-4707-8707-070707070707"
        );
        assert_eq!(bom["metadata"]["timestamp"], "2025-11-28T03:20:00Z");
        assert_eq!(bom["metadata"]["tools"]["components"][0]["name"], "lantern");
        let app = &bom["metadata"]["component"];
        assert_eq!(app["type"], "application");
        assert_eq!(app["name"], "Pay API");
        assert_eq!(app["version"], "4.2");
        assert_eq!(app["supplier"]["name"], "Acme, Inc.");
        let comps = bom["components"].as_array().unwrap();
        let purls: Vec<&str> = comps.iter().map(|c| c["purl"].as_str().unwrap()).collect();
        assert_eq!(
            purls,
            ["pkg:generic/%3Dcmd%7C%27%20%2FC%20calc%27%21A0@1", LOG4J],
            "by purl, never-loaded snakeyaml left out"
        );
        let log4j = &comps[1];
        assert_eq!(log4j["type"], "library");
        assert_eq!(log4j["bom-ref"], LOG4J);
        assert_eq!(log4j["group"], "org.apache.logging.log4j");
        assert_eq!(log4j["name"], "log4j-core");
        assert_eq!(log4j["version"], "2.14.1");
        assert_eq!(
            log4j["hashes"],
            json!([{"alg": "SHA-256", "content": HASH}])
        );
        let identity = &log4j["evidence"]["identity"][0];
        assert_eq!(identity["field"], "purl");
        assert_eq!(identity["concludedValue"], LOG4J);
        assert_eq!(identity["confidence"], 0.95);
        let techniques: Vec<&str> = identity["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["technique"].as_str().unwrap())
            .collect();
        assert_eq!(
            techniques,
            ["manifest-analysis", "instrumentation", "filename"]
        );
        let occ = log4j["evidence"]["occurrences"].as_array().unwrap();
        assert_eq!(occ.len(), 2);
        assert_eq!(occ[0]["location"], "/app/lib/log4j-core-2.14.1.jar");
        assert_eq!(
            occ[0]["additionalContext"],
            "loaded by 1 agent (a1) in pool p1"
        );
        assert_eq!(occ[1]["location"], "/srv/log4j.jar");
        let props: Vec<(String, String)> = log4j["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().into(),
                    p["value"].as_str().unwrap().into(),
                )
            })
            .collect();
        let has = |n: &str, v: &str| props.contains(&(n.to_string(), v.to_string()));
        assert!(has("lantern:status", "loaded"), "{props:?}");
        assert!(has("lantern:agents", "2"));
        assert!(has("lantern:pool", "p1") && has("lantern:pool", "p2"));
        assert!(has("lantern:tag", "tag-p1"));
        assert!(props.iter().any(|(n, _)| n == "lantern:first_seen"));
        assert!(props.iter().any(|(n, _)| n == "lantern:last_seen"));
        // A bundle name without group: manifest-analysis with its lower confidence.
        assert_eq!(
            comps[0]["evidence"]["identity"][0]["methods"][0]["confidence"],
            0.8
        );
        assert!(comps[0].get("group").is_none());
        assert!(comps[0].get("hashes").is_none());
        assert_eq!(
            bom["dependencies"],
            json!([{"ref": "application", "dependsOn": purls}])
        );
    }

    #[test]
    fn not_loaded_components_only_when_asked_and_marked() {
        let index = fixture();
        let all = sbom(&index, None, true);
        assert_eq!(all.components.len(), 3);
        let bom = all.cyclonedx();
        let yaml = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "snakeyaml")
            .unwrap();
        assert!(
            yaml["properties"]
                .as_array()
                .unwrap()
                .contains(&json!({"name": "lantern:status", "value": "not_loaded"}))
        );
        assert!(yaml.get("hashes").is_none(), "an invalid hash is dropped");
        let techniques: Vec<&str> = yaml["evidence"]["identity"][0]["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["technique"].as_str().unwrap())
            .collect();
        assert_eq!(
            techniques,
            ["manifest-analysis"],
            "no instrumentation: never loaded"
        );
        assert_eq!(
            yaml["evidence"]["occurrences"][0]["additionalContext"],
            "present, not loaded, by 1 agent (a1) in pool p1"
        );
        assert!(all.csv().contains(",not_loaded,"));
    }

    #[test]
    fn the_viewers_pools_bound_components_and_their_evidence() {
        let index = fixture();
        let p2: BTreeSet<String> = ["p2".to_string()].into();
        let s = sbom(&index, Some(&p2), true);
        let purls: Vec<&str> = s
            .components
            .iter()
            .map(|c| c.row.id.purl.as_str())
            .collect();
        assert_eq!(purls.len(), 2, "{purls:?}");
        assert!(
            !purls.iter().any(|p| p.contains("snakeyaml")),
            "only p1 has it"
        );
        let log4j = s
            .components
            .iter()
            .find(|c| c.row.id.purl == LOG4J)
            .unwrap();
        assert_eq!(
            log4j.evidence.locations.keys().collect::<Vec<_>>(),
            ["/srv/log4j.jar"]
        );
        assert_eq!(log4j.row.agents, ["b1"]);
        let text = String::from_utf8(s.render(Format::Spdx)).unwrap()
            + &String::from_utf8(s.render(Format::CycloneDx)).unwrap()
            + &s.csv();
        assert!(!text.contains("a1") && !text.contains("/app/lib") && !text.contains("tag-p1"));
        let none: BTreeSet<String> = ["p9".to_string()].into();
        let empty = sbom(&index, Some(&none), true);
        assert!(empty.components.is_empty());
        assert_eq!(empty.cyclonedx()["components"], json!([]));
        assert_eq!(empty.cyclonedx()["dependencies"][0]["dependsOn"], json!([]));
    }

    #[test]
    fn remembered_packages_keep_honest_evidence() {
        let mut index = fixture();
        index.disconnect(1, 1_764_300_000_500);
        index.disconnect(2, 1_764_300_000_500);
        let s = sbom(&index, None, false);
        let bom = s.cyclonedx();
        let log4j = &bom["components"][1];
        assert!(log4j["evidence"].get("occurrences").is_none());
        let methods = &log4j["evidence"]["identity"][0]["methods"];
        assert_eq!(methods[0]["technique"], "manifest-analysis");
        assert_eq!(methods[1]["technique"], "instrumentation");
        assert!(methods[1]["value"].as_str().unwrap().contains("recorded"));
        let generic = &bom["components"][0]["evidence"]["identity"][0]["methods"];
        assert_eq!(generic[0]["technique"], "instrumentation");
        assert_eq!(
            generic[1]["technique"], "other",
            "a bundle name could be any source"
        );
    }

    #[test]
    fn every_format_is_deterministic_for_the_same_state() {
        let index = fixture();
        for f in [Format::CycloneDx, Format::Spdx, Format::Csv] {
            assert_eq!(
                sbom(&index, None, true).render(f),
                sbom(&index, None, true).render(f),
                "{f:?}"
            );
        }
        let mut other = sbom(&index, None, true);
        other.info.serial = [8; 16];
        assert_ne!(
            other.serial_number(),
            sbom(&index, None, true).serial_number()
        );
    }

    #[test]
    fn spdx_document_with_sanitised_unique_ids() {
        let index = fixture();
        let doc = sbom(&index, None, true).spdx();
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        assert_eq!(doc["dataLicense"], "CC0-1.0");
        assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
        assert_eq!(doc["name"], "Pay API runtime SBOM");
        assert_eq!(
            doc["documentNamespace"],
            "https://lantern.example:8443/spdx/Pay-API-07070707-0707-4707-8707-070707070707"
        );
        assert_eq!(
            doc["creationInfo"]["creators"],
            json!(["Tool: lantern-0.1.0", "Organization: Acme, Inc."])
        );
        let packages = doc["packages"].as_array().unwrap();
        assert_eq!(packages.len(), 4);
        let ids: Vec<&str> = packages
            .iter()
            .map(|p| p["SPDXID"].as_str().unwrap())
            .collect();
        for id in &ids {
            let rest = id.strip_prefix("SPDXRef-").unwrap();
            assert!(
                rest.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{id}"
            );
        }
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
        assert_eq!(ids[0], "SPDXRef-Application");
        assert_eq!(ids[1], "SPDXRef-Package--cmd----C-calc--A0-1");
        assert_eq!(
            ids[2],
            "SPDXRef-Package-org.apache.logging.log4j-log4j-core-2.14.1"
        );
        let root = &packages[0];
        assert_eq!(root["supplier"], "Organization: Acme, Inc.");
        assert_eq!(root["primaryPackagePurpose"], "APPLICATION");
        let log4j = &packages[2];
        for f in [
            "downloadLocation",
            "licenseConcluded",
            "licenseDeclared",
            "copyrightText",
        ] {
            assert_eq!(log4j[f], "NOASSERTION", "{f}");
        }
        assert_eq!(log4j["filesAnalyzed"], false);
        assert_eq!(
            log4j["checksums"],
            json!([{"algorithm": "SHA256", "checksumValue": HASH}])
        );
        assert_eq!(
            log4j["externalRefs"],
            json!([{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": LOG4J}])
        );
        let rels = doc["relationships"].as_array().unwrap();
        assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
        assert_eq!(rels.len(), 4);
        assert!(
            rels[1..]
                .iter()
                .all(|r| r["relationshipType"] == "DEPENDS_ON"
                    && r["spdxElementId"] == "SPDXRef-Application")
        );
        // Two names that sanitise alike still get distinct ids.
        let mut s = sbom(&index, None, true);
        let mut twin = s.components[1].clone();
        twin.row.id.purl.push('x');
        twin.row.id.name = "org.apache.logging.log4j/log4j-core".into();
        s.components.insert(2, twin);
        let doc = s.spdx();
        assert_eq!(
            doc["packages"][3]["SPDXID"],
            "SPDXRef-Package-org.apache.logging.log4j-log4j-core-2.14.1-2"
        );
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("=a,b"), "\"'=a,b\"");
        let index = fixture();
        let csv = sbom(&index, None, false).csv();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "purl,name,group,version,ecosystem,status,agents,pools,tags,first_seen,last_seen,sha256,locations"
        );
        assert_eq!(lines.len(), 4, "header, two rows, the empty rest: {csv}");
        assert!(lines[1].starts_with("pkg:generic/%3Dcmd%7C%27%20%2FC%20calc%27%21A0@1,'=cmd|' /C calc'!A0,,1,generic,loaded,b1,p2,tag-p2,"), "{}", lines[1]);
        assert!(
            lines[1].ends_with(",,\"/srv/x,\"\"y\"\".jar\""),
            "{}",
            lines[1]
        );
        assert_eq!(
            lines[2],
            format!(
                "{LOG4J},log4j-core,org.apache.logging.log4j,2.14.1,Maven,loaded,a1;b1,p1;p2,tag-p1;tag-p2,2025-11-28T03:20:00Z,2025-11-28T03:20:01Z,{HASH},/app/lib/log4j-core-2.14.1.jar;/srv/log4j.jar"
            )
        );
    }

    #[test]
    fn parameters_and_names() {
        assert_eq!(Format::parse("spdx"), Ok(Format::Spdx));
        assert_eq!(Format::parse("SPDX"), Err(SbomError::Format));
        assert_eq!(Format::parse("xml").unwrap_err().field(), "format");
        let a = Application::new(Some("  "), None, Some("")).unwrap();
        assert_eq!(a.name, DEFAULT_APPLICATION_NAME);
        assert_eq!(a.version, None);
        let long = "x".repeat(MAX_APPLICATION_FIELD_CHARS + 1);
        assert_eq!(
            Application::new(None, Some(&long), None)
                .unwrap_err()
                .field(),
            "supplier"
        );
        assert_eq!(
            Application::new(Some("a\nb"), None, None),
            Err(SbomError::Control { field: "name" })
        );
        assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(
            method_of(CoordinateSource::SystemMavenRepo).0,
            "manifest-analysis"
        );
        assert_eq!(spdx_id_part("a b/c@1.0_x"), "a-b-c-1.0-x");
        assert_eq!(spdx_id_part(""), "-");
        let index = fixture();
        let s = sbom(&index, None, false);
        assert_eq!(
            s.file_name(Format::CycloneDx),
            "sbom-Pay-API-20251128T032000Z.cdx.json"
        );
        assert_eq!(
            s.file_name(Format::Csv),
            "sbom-Pay-API-20251128T032000Z.csv"
        );
    }
}
