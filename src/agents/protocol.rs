//! The agent protocol, version 1: every message that crosses `wss://HOST:8443/agent/v1`, as
//! Rust types. These types are the single source on the appliance side; `agents/PROTOCOL.md`
//! documents them for agent authors and a test decodes every example of that document with
//! them. Decoding is strict about what the appliance relies on (types, limits) and lenient
//! about the rest (unknown fields are ignored, so a newer agent can add optional fields).

use std::borrow::Cow;

use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer, Serialize};

/// The newest protocol version this appliance speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The oldest protocol version this appliance still accepts.
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// Limits an agent must respect; sent in [`HelloAck::limits`] and enforced on every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest text message the appliance reads, fragments reassembled; a bigger one closes
    /// the connection (1009).
    pub max_message_bytes: u32,
    /// Largest websocket frame: a longer message is sent in fragments (RFC 6455 §5.4). Small
    /// frames keep the appliance's per-connection read buffer small (it grows to the largest
    /// frame read and keeps that size).
    pub max_frame_bytes: u32,
    /// Most class or module names in one `class_loads` frame.
    pub max_classes_per_batch: u32,
    /// Most artifacts declared in one `class_loads` frame.
    pub max_artifacts_per_batch: u32,
    /// How long an agent may hold new loads before sending them.
    pub batch_interval_ms: u32,
    /// Longest class, module, location or coordinate string.
    pub max_name_bytes: u32,
    /// Most tags on one agent.
    pub max_tags: u32,
}

/// The limits of protocol version 1 (DEFAULTS.md: 1 MiB messages; batches ≤ 1 s or ≤ 20,000
/// classes).
pub const LIMITS: Limits = Limits {
    max_message_bytes: 1024 * 1024,
    max_frame_bytes: 64 * 1024,
    max_classes_per_batch: 20_000,
    max_artifacts_per_batch: 5_000,
    batch_interval_ms: 1_000,
    max_name_bytes: 1_024,
    max_tags: 32,
};

/// Longest tag, display name, host name or identifier.
pub const MAX_LABEL_BYTES: usize = 128;

/// A message from an agent. Decoded by hand (below) rather than by serde's internally tagged
/// enums, which buffer every message into an intermediate tree before building it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum AgentMessage {
    /// Must be the first message of every connection.
    #[serde(rename = "hello")]
    Hello(Hello),
    /// Artifacts the process holds and the classes or modules it loaded from them.
    #[serde(rename = "class_loads")]
    ClassLoads(ClassLoads),
    /// The agent's own counters, sent now and then.
    #[serde(rename = "agent_stats")]
    AgentStats(AgentStats),
    /// The agent could not handle something the appliance sent.
    #[serde(rename = "error")]
    Error(ErrorMessage),
    /// An action's status on this agent changed (capability `actions`).
    #[serde(rename = "action.status")]
    ActionStatus(ActionStatus),
    /// A snapshot action was hit.
    #[serde(rename = "snapshot")]
    Snapshot(Snapshot),
    /// A log action printed a line.
    #[serde(rename = "log")]
    Log(LogLine),
    /// Aggregates of counter, duration, tic-toc and metric actions.
    #[serde(rename = "metric")]
    Metric(Metrics),
}

impl<'de> Deserialize<'de> for AgentMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AgentMessageVisitor)
    }
}

/// Builds an [`AgentMessage`] in one pass when `type` is the object's first key, as every
/// agent writes it; any other order goes through a `serde_json::Value` and still decodes.
struct AgentMessageVisitor;

impl AgentMessageVisitor {
    fn body<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<AgentMessage, D::Error> {
        Ok(match kind {
            "hello" => AgentMessage::Hello(Hello::deserialize(rest)?),
            "class_loads" => AgentMessage::ClassLoads(ClassLoads::deserialize(rest)?),
            "agent_stats" => AgentMessage::AgentStats(AgentStats::deserialize(rest)?),
            "error" => AgentMessage::Error(ErrorMessage::deserialize(rest)?),
            "action.status" => AgentMessage::ActionStatus(ActionStatus::deserialize(rest)?),
            "snapshot" => AgentMessage::Snapshot(Snapshot::deserialize(rest)?),
            "log" => AgentMessage::Log(LogLine::deserialize(rest)?),
            "metric" => AgentMessage::Metric(Metrics::deserialize(rest)?),
            other => {
                return Err(de::Error::unknown_variant(other, &KNOWN_AGENT_TYPES));
            }
        })
    }
}

impl<'de> Visitor<'de> for AgentMessageVisitor {
    type Value = AgentMessage;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object with a string `type`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AgentMessage, A::Error> {
        let Some(first) = map.next_key::<Cow<'de, str>>()? else {
            return Err(de::Error::missing_field("type"));
        };
        if first == "type" {
            let kind = map.next_value::<Cow<'de, str>>()?;
            return Self::body(&kind, MapAccessDeserializer::new(map));
        }
        let mut object = serde_json::Map::new();
        object.insert(first.into_owned(), map.next_value()?);
        while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
            object.insert(key, value);
        }
        let kind = match object.remove("type") {
            Some(serde_json::Value::String(kind)) => kind,
            Some(_) => return Err(de::Error::custom("`type` must be a string")),
            None => return Err(de::Error::missing_field("type")),
        };
        Self::body(&kind, serde_json::Value::Object(object)).map_err(de::Error::custom)
    }
}

/// A message from the appliance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerMessage {
    /// The answer to `hello`: the session is open.
    #[serde(rename = "hello_ack")]
    HelloAck(HelloAck),
    /// The appliance could not handle something the agent sent; the connection stays open.
    #[serde(rename = "error")]
    Error(ErrorMessage),
}

/// Who the agent is and what it can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// The newest protocol version the agent speaks.
    pub protocol: u32,
    /// The oldest version it speaks (defaults to `protocol`).
    #[serde(default)]
    pub min_protocol: Option<u32>,
    /// Stable across restarts of the same application instance (the agent derives it from
    /// host, name and working directory, or takes it from configuration).
    pub agent_id: String,
    /// New on every start of the process; tells a restart from a reconnect.
    pub instance_id: String,
    /// The runtime the agent lives in.
    pub runtime: Runtime,
    /// The agent's own version.
    pub agent_version: String,
    /// The name shown in the portal.
    pub display_name: String,
    /// The host name as the process sees it.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// Tags from the agent's configuration.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What the agent can do, e.g. `class_loads`.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// The runtime an agent lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runtime {
    /// `java` or `python`.
    pub name: String,
    /// The runtime's version, e.g. `17.0.15`.
    pub version: String,
    /// Who built the runtime, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
}

/// The appliance's answer to `hello`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloAck {
    /// The protocol version both sides now speak.
    pub protocol: u32,
    /// This connection's session id (for the agent's log lines).
    pub session_id: String,
    /// How often the appliance pings; the agent may treat twice this without traffic as a
    /// dead connection.
    pub heartbeat_secs: u32,
    /// Limits the agent must respect.
    pub limits: Limits,
}

/// A batch of the class-load stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassLoads {
    /// 1, 2, 3 ... on each connection; a gap or repeat is an error.
    pub seq: u64,
    /// True while the agent sends the state it had when it connected.
    #[serde(default)]
    pub initial: bool,
    /// True on the last frame of that start-up state.
    #[serde(default)]
    pub initial_done: bool,
    /// Artifacts declared in this frame (each once per connection).
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// Classes or modules loaded, grouped by artifact.
    #[serde(default)]
    pub loads: Vec<Load>,
}

/// A place code is loaded from: a jar, a directory, a jar inside a jar, the runtime itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// The agent's number for it on this connection; `loads` refer to it.
    #[serde(rename = "ref")]
    pub id: u32,
    /// Where it is: a file path, `jar:file:/app.jar!/BOOT-INF/lib/x.jar`, `jrt:/java.base`.
    pub location: String,
    /// What kind of place it is.
    pub kind: ArtifactKind,
    /// The artifact containing this one (nested jars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
    /// SHA-256 of the file's bytes, lower-case hex (jars only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// What the artifact says it is; several for shaded jars; empty when nothing is known.
    #[serde(default)]
    pub coordinates: Vec<Coordinates>,
}

/// The kinds of [`Artifact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// A jar file on disk.
    Jar,
    /// A jar inside another jar (`BOOT-INF/lib`, `WEB-INF/lib` of a packed war).
    NestedJar,
    /// A directory of classes (`WEB-INF/classes`, a build output).
    Directory,
    /// The runtime itself (the JDK, the Python standard library): one component, its
    /// classes counted, not listed.
    Runtime,
    /// A Python distribution (site-packages).
    Distribution,
}

/// One identity an artifact claims, and how the agent found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    /// Where the identity came from.
    pub source: CoordinateSource,
    /// Maven groupId, when the source names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Maven artifactId, OSGi symbolic name, module name or distribution name.
    pub name: String,
    /// The version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// How an agent found [`Coordinates`], from most to least trustworthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordinateSource {
    /// `META-INF/maven/**/pom.properties`.
    PomProperties,
    /// The operating system's Maven repository (`/usr/share/maven-repo` on Debian) links to
    /// the file under these coordinates: the packager's word, for jars without pom.properties.
    SystemMavenRepo,
    /// Python distribution metadata (`importlib.metadata`).
    DistMetadata,
    /// The manifest's `Bundle-SymbolicName` / `Bundle-Version`.
    ManifestBundle,
    /// The manifest's `Implementation-Title` / `-Vendor-Id` / `-Version`.
    ManifestImplementation,
    /// The manifest's `Automatic-Module-Name`.
    ManifestModule,
    /// The runtime's own name and version.
    Runtime,
    /// A guess from the file name: not to be trusted for matching.
    FileNameGuess,
}

impl CoordinateSource {
    /// Whether the coordinates came from the artifact's own metadata rather than a guess.
    pub fn is_guess(self) -> bool {
        matches!(self, CoordinateSource::FileNameGuess)
    }
}

/// Classes or modules loaded from one artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// The artifact's `ref`, declared in this frame or an earlier one of this connection.
    pub artifact: u32,
    /// Fully qualified names (`org.apache.catalina.Servlet`, `flask.app`).
    #[serde(default)]
    pub classes: Vec<String>,
    /// For a `runtime` artifact: how many classes it has loaded so far (names not listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// The agent's own counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStats {
    /// Classes or modules observed since the process started.
    pub classes_seen: u64,
    /// Messages the agent dropped because its send queue was full.
    #[serde(default)]
    pub messages_dropped: u64,
    /// Milliseconds since the agent started.
    #[serde(default)]
    pub uptime_ms: u64,
}

/// `action.status`: where an action stands on this agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionStatus {
    /// The action.
    pub id: String,
    /// `pending`, `installed`, `error`, `completed`, `expired`, `rate_limited`,
    /// `paused_quota`, `condition_error`.
    pub status: String,
    /// The reason, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where the probe sits, once installed: `{"class", "method", "line"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolved>,
}

/// The place a probe was installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolved {
    /// Class name.
    pub class: String,
    /// Method name.
    pub method: String,
    /// Line, absent for a method entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// The statuses an agent may report.
pub const ACTION_STATUSES: [&str; 8] = [
    "pending",
    "installed",
    "error",
    "completed",
    "expired",
    "rate_limited",
    "paused_quota",
    "condition_error",
];

/// `snapshot`: the stack and variables at a hit. The value trees are kept as JSON: the
/// appliance stores and shows them, and the message's size is already bounded by the frame
/// limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The action.
    pub id: String,
    /// When, ms since the epoch.
    pub time: i64,
    /// The thread's name.
    #[serde(default)]
    pub thread: String,
    /// Frames, innermost first.
    pub frames: Vec<serde_json::Value>,
    /// The probed object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub this: Option<serde_json::Value>,
    /// The probed frame's locals.
    #[serde(default)]
    pub locals: Vec<serde_json::Value>,
    /// Watch values.
    #[serde(default)]
    pub watches: Vec<serde_json::Value>,
    /// Whether a budget cut something.
    #[serde(default)]
    pub truncated: bool,
}

/// `log`: one formatted line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLine {
    /// The action.
    pub id: String,
    /// When, ms since the epoch.
    pub time: i64,
    /// `debug`, `info`, `warn`, `error`.
    pub level: String,
    /// The thread's name.
    #[serde(default)]
    pub thread: String,
    /// The line.
    pub text: String,
}

/// `metric`: one interval's aggregates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// The interval, ms.
    pub interval_ms: u64,
    /// End of the interval, ms since the epoch.
    pub end: i64,
    /// Per action.
    pub actions: Vec<Aggregate>,
}

/// One action's aggregate over an interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// The action.
    pub id: String,
    /// Hits.
    pub count: u64,
    /// Sum of the values (ns for durations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    /// Smallest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// An error report, from either side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// A stable snake_case code (see [`ErrorCode`]).
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The type of the message that caused it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

/// The error codes the appliance sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The message type is not known to this appliance; the message was ignored.
    UnknownType,
    /// The message is well-formed JSON of a known type but its fields are wrong or over a
    /// limit; the message was ignored.
    InvalidMessage,
    /// A message arrived before `hello` was acknowledged, or `hello` came twice.
    OutOfOrder,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::OutOfOrder => "out_of_order",
        }
    }
}

/// Websocket close codes the appliance uses, with what an agent should do about each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// 1001: the appliance is shutting down; reconnect with back-off.
    GoingAway,
    /// 1002: malformed JSON, a missing `hello`, a `seq` gap.
    ProtocolError,
    /// 1003: a binary frame (the protocol is text only).
    BinaryFrame,
    /// 1007: a text frame that is not UTF-8 (RFC 6455 §8.1).
    InvalidUtf8,
    /// 1008: the pool was detached or deleted, or its key is no longer valid.
    PolicyViolation,
    /// 1009: a frame over `max_message_bytes`.
    TooBig,
    /// 4000: an administrator disconnected the agent.
    DisconnectedByAdmin,
    /// 4001: a newer connection of the same agent instance replaced this one.
    Replaced,
    /// 4002: nothing arrived for the idle timeout (no pong, no message).
    IdleTimeout,
    /// 4003: the agent did not read what the appliance sent fast enough.
    SlowReader,
    /// 4004: no protocol version both sides speak.
    UnsupportedVersion,
    /// 4005: `hello` did not arrive within the hello timeout.
    HelloTimeout,
}

impl CloseReason {
    /// The websocket close code.
    pub fn code(self) -> u16 {
        match self {
            CloseReason::GoingAway => 1001,
            CloseReason::ProtocolError => 1002,
            CloseReason::BinaryFrame => 1003,
            CloseReason::InvalidUtf8 => 1007,
            CloseReason::PolicyViolation => 1008,
            CloseReason::TooBig => 1009,
            CloseReason::DisconnectedByAdmin => 4000,
            CloseReason::Replaced => 4001,
            CloseReason::IdleTimeout => 4002,
            CloseReason::SlowReader => 4003,
            CloseReason::UnsupportedVersion => 4004,
            CloseReason::HelloTimeout => 4005,
        }
    }

    /// A short snake_case name, kept in the agent's history.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::GoingAway => "appliance_shutdown",
            CloseReason::ProtocolError => "protocol_error",
            CloseReason::BinaryFrame => "binary_frame",
            CloseReason::InvalidUtf8 => "invalid_utf8",
            CloseReason::PolicyViolation => "pool_refused",
            CloseReason::TooBig => "message_too_big",
            CloseReason::DisconnectedByAdmin => "disconnected_by_admin",
            CloseReason::Replaced => "replaced",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::SlowReader => "slow_reader",
            CloseReason::UnsupportedVersion => "unsupported_version",
            CloseReason::HelloTimeout => "hello_timeout",
        }
    }
}

/// Why a text frame could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or not an object with a string `type`: the connection is closed.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A type this appliance does not know: answered with `error`, connection kept.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// A known type with wrong fields or over a limit: answered with `error`, connection kept.
    #[error("invalid {kind} message: {reason}")]
    Invalid {
        /// The message type.
        kind: String,
        /// What is wrong.
        reason: String,
    },
}

/// Only the `type` field, to tell an unknown type from a bad known one.
#[derive(Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: String,
}

const KNOWN_AGENT_TYPES: [&str; 8] = [
    "hello",
    "class_loads",
    "agent_stats",
    "error",
    "action.status",
    "snapshot",
    "log",
    "metric",
];

/// Decodes and checks one text frame from an agent.
pub fn decode(text: &str) -> Result<AgentMessage, DecodeError> {
    match serde_json::from_str::<AgentMessage>(text) {
        Ok(message) => {
            check(&message).map_err(|reason| DecodeError::Invalid {
                kind: message_type(&message).to_string(),
                reason,
            })?;
            Ok(message)
        }
        Err(typed) => {
            let kind = serde_json::from_str::<TypeOnly>(text)
                .map_err(|e| DecodeError::Malformed(e.to_string()))?
                .kind;
            if KNOWN_AGENT_TYPES.contains(&kind.as_str()) {
                Err(DecodeError::Invalid {
                    kind,
                    reason: typed.to_string(),
                })
            } else {
                Err(DecodeError::UnknownType(kind))
            }
        }
    }
}

/// The wire name of a message's type.
pub fn message_type(message: &AgentMessage) -> &'static str {
    match message {
        AgentMessage::Hello(_) => "hello",
        AgentMessage::ClassLoads(_) => "class_loads",
        AgentMessage::AgentStats(_) => "agent_stats",
        AgentMessage::Error(_) => "error",
        AgentMessage::ActionStatus(_) => "action.status",
        AgentMessage::Snapshot(_) => "snapshot",
        AgentMessage::Log(_) => "log",
        AgentMessage::Metric(_) => "metric",
    }
}

/// Encodes a message for an agent.
pub fn encode(message: &ServerMessage) -> String {
    // Serialising these plain structs cannot fail; an empty object keeps the type total.
    serde_json::to_string(message).unwrap_or_else(|_| "{}".to_string())
}

fn label_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_LABEL_BYTES && !has_control(s)
}

fn name_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= LIMITS.max_name_bytes as usize && !has_control(s)
}

/// Whether `s` holds a control character (Unicode category Cc). Checked for every class name
/// on the hot path, so plain ASCII, nearly every name, is checked byte by byte.
fn has_control(s: &str) -> bool {
    if s.is_ascii() {
        s.bytes().any(|b| b < 0x20 || b == 0x7f)
    } else {
        s.chars().any(char::is_control)
    }
}

/// The limits that serde's types cannot say.
fn check(message: &AgentMessage) -> Result<(), String> {
    match message {
        AgentMessage::Hello(h) => {
            for (field, value) in [
                ("agent_id", &h.agent_id),
                ("instance_id", &h.instance_id),
                ("display_name", &h.display_name),
                ("host", &h.host),
                ("agent_version", &h.agent_version),
                ("runtime.name", &h.runtime.name),
                ("runtime.version", &h.runtime.version),
            ] {
                if !label_ok(value) {
                    return Err(format!(
                        "{field} must be 1 to {MAX_LABEL_BYTES} bytes without control characters"
                    ));
                }
            }
            if h.tags.len() > LIMITS.max_tags as usize {
                return Err(format!("at most {} tags", LIMITS.max_tags));
            }
            if let Some(bad) = h.tags.iter().find(|t| !tag_ok(t)) {
                return Err(format!(
                    "tag {bad:?} must be 1 to 64 characters of letters, digits and . _ - : /"
                ));
            }
            if h.capabilities.len() > 64 || h.capabilities.iter().any(|c| !label_ok(c)) {
                return Err("capabilities must be at most 64 short names".into());
            }
            Ok(())
        }
        AgentMessage::ClassLoads(c) => {
            if c.seq == 0 {
                return Err("seq starts at 1".into());
            }
            if c.artifacts.len() > LIMITS.max_artifacts_per_batch as usize {
                return Err(format!(
                    "at most {} artifacts per frame",
                    LIMITS.max_artifacts_per_batch
                ));
            }
            let classes: usize = c.loads.iter().map(|l| l.classes.len()).sum();
            if classes > LIMITS.max_classes_per_batch as usize {
                return Err(format!(
                    "at most {} classes per frame",
                    LIMITS.max_classes_per_batch
                ));
            }
            for a in &c.artifacts {
                if !name_ok(&a.location) {
                    return Err(format!("artifact {} has no usable location", a.id));
                }
                if let Some(sha) = &a.sha256
                    && !(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(format!("artifact {}: sha256 must be 64 hex digits", a.id));
                }
                if a.coordinates.len() > 64 {
                    return Err(format!("artifact {}: at most 64 coordinates", a.id));
                }
                for co in &a.coordinates {
                    let parts = [Some(&co.name), co.group.as_ref(), co.version.as_ref()];
                    if parts.into_iter().flatten().any(|s| !name_ok(s)) {
                        return Err(format!("artifact {}: bad coordinates", a.id));
                    }
                }
            }
            if let Some(bad) = c
                .loads
                .iter()
                .flat_map(|l| &l.classes)
                .find(|n| !name_ok(n))
            {
                let shown: String = bad.chars().take(60).collect();
                return Err(format!(
                    "class name {shown:?} is empty, too long or has control characters"
                ));
            }
            Ok(())
        }
        AgentMessage::AgentStats(_) => Ok(()),
        AgentMessage::ActionStatus(a) => {
            action_id_ok(&a.id)?;
            if !ACTION_STATUSES.contains(&a.status.as_str()) {
                return Err(format!("unknown status {:?}", a.status));
            }
            if a.message.as_ref().is_some_and(|m| m.len() > 1024) {
                return Err("message ≤ 1024 bytes".into());
            }
            Ok(())
        }
        AgentMessage::Snapshot(s) => {
            action_id_ok(&s.id)?;
            if s.frames.len() > 20 || s.locals.len() > 1000 || s.watches.len() > 20 {
                return Err("at most 20 frames, 1000 locals and 20 watches".into());
            }
            if !s.thread.is_empty() && !label_ok(&s.thread) {
                return Err("thread name too long or with control characters".into());
            }
            Ok(())
        }
        AgentMessage::Log(l) => {
            action_id_ok(&l.id)?;
            if !matches!(l.level.as_str(), "debug" | "info" | "warn" | "error") {
                return Err(format!("unknown level {:?}", l.level));
            }
            if l.text.len() > 8192 || l.thread.len() > MAX_LABEL_BYTES {
                return Err("text ≤ 8192 bytes".into());
            }
            Ok(())
        }
        AgentMessage::Metric(m) => {
            if m.actions.len() > 1000 {
                return Err("at most 1000 actions per metric message".into());
            }
            m.actions.iter().try_for_each(|a| action_id_ok(&a.id))
        }
        AgentMessage::Error(e) => {
            if e.code.len() > MAX_LABEL_BYTES || e.message.len() > 4096 {
                return Err("error code ≤ 128 bytes, message ≤ 4096 bytes".into());
            }
            Ok(())
        }
    }
}

/// An action id: 1–64 bytes of letters, digits, `-` and `_`.
fn action_id_ok(id: &str) -> Result<(), String> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("an action id is 1 to 64 letters, digits, - or _".into());
    }
    Ok(())
}

/// A tag: 1–64 of letters, digits and `. _ - : /`.
pub fn tag_ok(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 64
        && tag
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example of `agents/PROTOCOL.md` decodes with these types, in its direction, and
    /// every message type of both enums has at least one example.
    #[test]
    fn protocol_doc_examples_match_the_types() {
        let doc = include_str!("../../agents/PROTOCOL.md");
        let mut seen = std::collections::BTreeSet::new();
        let mut rest = doc;
        while let Some(start) = rest.find("```json ") {
            let after = &rest[start + 8..];
            let (direction, body) = after.split_once('\n').unwrap();
            let end = body.find("```").unwrap();
            let example = &body[..end];
            rest = &body[end + 3..];
            let kind = serde_json::from_str::<serde_json::Value>(example).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string();
            match direction.trim() {
                "agent" => {
                    let m = decode(example).unwrap_or_else(|e| panic!("{e}: {example}"));
                    assert_eq!(message_type(&m), kind);
                }
                "appliance" => {
                    let m: ServerMessage =
                        serde_json::from_str(example).unwrap_or_else(|e| panic!("{e}: {example}"));
                    let back: serde_json::Value = serde_json::from_str(&encode(&m)).unwrap();
                    assert_eq!(
                        back,
                        serde_json::from_str::<serde_json::Value>(example).unwrap()
                    );
                }
                other => panic!("unknown direction {other:?}"),
            }
            seen.insert(format!("{} {kind}", direction.trim()));
        }
        for want in KNOWN_AGENT_TYPES {
            assert!(
                seen.contains(&format!("agent {want}")),
                "no example of {want}"
            );
        }
        for want in ["hello_ack", "error"] {
            assert!(
                seen.contains(&format!("appliance {want}")),
                "no example of {want}"
            );
        }
        assert_eq!(LIMITS.max_message_bytes, 1_048_576);
    }

    #[test]
    fn unknown_type_is_not_malformed() {
        assert_eq!(
            decode(r#"{"type":"teleport","x":1}"#),
            Err(DecodeError::UnknownType("teleport".into()))
        );
        assert!(matches!(
            decode("{not json"),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode(r#"{"no":"type"}"#),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode(r#"{"type":"class_loads","seq":"x"}"#),
            Err(DecodeError::Invalid { .. })
        ));
    }

    /// The one-pass decoder (type first) and the fallback (type anywhere) agree, and both
    /// keep the closed field sets closed.
    #[test]
    fn type_may_come_anywhere_in_the_object() {
        let first = r#"{"type":"class_loads","seq":3,"initial":true,"loads":[{"artifact":1,"classes":["a.B"]}]}"#;
        let last = r#"{"seq":3,"initial":true,"loads":[{"artifact":1,"classes":["a.B"]}],"type":"class_loads"}"#;
        let a = decode(first).unwrap();
        assert_eq!(a, decode(last).unwrap());
        assert!(matches!(a, AgentMessage::ClassLoads(ref c) if c.seq == 3 && c.initial));
        for bad in [
            r#"{"type":"class_loads","seq":1,"sequence":2}"#,
            r#"{"seq":1,"sequence":2,"type":"class_loads"}"#,
        ] {
            assert!(
                matches!(decode(bad), Err(DecodeError::Invalid { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            decode(r#"{"x":1,"type":"teleport"}"#),
            Err(DecodeError::UnknownType("teleport".into()))
        );
        assert!(matches!(
            decode(r#"{"type":7}"#),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(decode("{}"), Err(DecodeError::Malformed(_))));
        assert!(matches!(
            decode(r#"{"type":"class_loads","seq":1,"type":"class_loads"}"#),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(decode("[1]"), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn control_characters_are_found_in_ascii_and_beyond() {
        assert!(!has_control("org.example.Main$1"));
        assert!(!has_control("ünïcode.Klasse"));
        assert!(has_control("a\u{0}b"));
        assert!(has_control("a\tb"));
        assert!(has_control("a\u{7f}"));
        assert!(has_control("ü\u{85}"));
        assert!(has_control("x\u{9f}"));
    }

    #[test]
    fn limits_are_checked() {
        let names: Vec<String> = (0..20_001).map(|i| format!("a.C{i}")).collect();
        let frame = serde_json::json!({"type":"class_loads","seq":1,"loads":[{"artifact":1,"classes":names}]});
        assert!(matches!(
            decode(&frame.to_string()),
            Err(DecodeError::Invalid { .. })
        ));
        let frame = serde_json::json!({"type":"class_loads","seq":1,"artifacts":[{"ref":1,"location":"/a.jar","kind":"jar","sha256":"zz"}]});
        assert!(matches!(
            decode(&frame.to_string()),
            Err(DecodeError::Invalid { .. })
        ));
    }
}
