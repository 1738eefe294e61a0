//! Configuration: the embedded default `config/lantern.toml`, an optional file, `LANTERN_*`
//! environment variables and command-line flags, merged in that order of rising precedence.
//!
//! The embedded default lists every key, so it doubles as the schema: a key that is not in it
//! is an error naming the key, and a value whose type differs from the default's is an error
//! naming the key and the expected type. Nothing here touches the data directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The documented example configuration, also the built-in default.
pub const DEFAULT_TOML: &str = include_str!("../config/lantern.toml");

/// The only configuration format version this binary reads.
const SUPPORTED_VERSION: i64 = 1;

/// Why a configuration was refused: where (file or variable), which key, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: {key}: {reason}")]
pub struct ConfigError {
    /// The file path, environment variable or flag that held the bad value.
    pub origin: String,
    /// The dotted key, e.g. `http.max_connections` (or `-` when the whole file is unreadable).
    pub key: String,
    /// A human sentence saying what is wrong.
    pub reason: String,
}

impl ConfigError {
    fn new(origin: impl Into<String>, key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            origin: origin.into(),
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// The validated configuration the appliance runs with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Format version; only 1 exists.
    pub version: i64,
    /// Data directory: store, TLS material, control socket.
    pub data_dir: PathBuf,
    /// The HTTPS listen address (an IP literal and port).
    pub listen: SocketAddr,
    /// Host name used in printed links; empty means the machine's host name.
    pub public_host: String,
    /// TLS settings.
    pub tls: TlsConfig,
    /// HTTP limits and timeouts.
    pub http: HttpConfig,
    /// Sign-in, sessions and throttling.
    pub auth: AuthConfig,
    /// Logging.
    pub log: LogConfig,
    /// Outbound webhooks: trust, timeouts, retries, queue.
    pub webhooks: WebhooksConfig,
}

/// `[webhooks]`: how events are delivered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// PEM file of the CA certificates receivers are trusted by; empty means the system
    /// bundle at [`SYSTEM_CA_BUNDLE`] (when present).
    pub ca_bundle: String,
    /// Seconds one attempt may take: connect, TLS handshake and the answer's headers, each.
    pub timeout_secs: u64,
    /// Attempts per event in all (the first and the retries).
    pub attempts: u32,
    /// Wait before the first retry, ms.
    pub retry_first_ms: u64,
    /// Each later retry waits this many times longer.
    pub retry_factor: u32,
    /// Events waiting for delivery; beyond it new events are dropped with a log line.
    pub queue: usize,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Accept `http://` URLs to loopback addresses (tests, a local relay).
    pub allow_http_loopback: bool,
}

/// The system CA bundle used when `webhooks.ca_bundle` is empty (Debian and derivatives).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// `[tls]`: handshake limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Seconds a client has to complete the TLS handshake.
    pub handshake_timeout_secs: u64,
}

/// `[http]`: connection caps, timeouts and body limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a client has to send its request headers.
    pub header_read_timeout_secs: u64,
    /// Most concurrent connections.
    pub max_connections: usize,
    /// Largest ordinary request body in bytes.
    pub max_body_bytes: usize,
    /// Largest upload in bytes.
    pub max_upload_bytes: usize,
    /// Largest request header block in bytes.
    pub max_header_bytes: usize,
    /// Seconds open requests get to finish on shutdown.
    pub shutdown_grace_secs: u64,
}

/// `[auth]`: sessions, setup links, throttling, hashing concurrency.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Idle session timeout in minutes.
    pub session_idle_minutes: u64,
    /// Absolute session lifetime in hours.
    pub session_absolute_hours: u64,
    /// Validity of a one-time setup link in minutes.
    pub setup_link_minutes: u64,
    /// Failed sign-ins per account per window before 429.
    pub throttle_failures: u32,
    /// Throttling window in minutes.
    pub throttle_window_minutes: u64,
    /// Most concurrent password hashes.
    pub max_concurrent_hashes: usize,
}

/// `[log]`: the log filter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// error | warn | info | debug | trace
    pub level: String,
}

impl TlsConfig {
    /// The handshake deadline.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.handshake_timeout_secs)
    }
}

impl HttpConfig {
    /// The header read deadline.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }
    /// The drain deadline on shutdown.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// Values given on the command line; they beat everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--listen`
    pub listen: Option<String>,
}

/// Loads the configuration: embedded default, then `file` (if any), then the `LANTERN_*`
/// variables of `env`, then `flags`; validates the result.
pub fn load(
    file: Option<&Path>,
    env: &BTreeMap<String, String>,
    flags: &Overrides,
) -> Result<Config, ConfigError> {
    let mut merged = built_in_defaults()?;
    let schema = merged.clone();
    if let Some(path) = file {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(&origin, "-", format!("cannot read the file: {e}")))?;
        let table = parse_toml(&text, &origin)?;
        merge_checked(&mut merged, &schema, table, "", &origin)?;
    }
    apply_env(&mut merged, &schema, env)?;
    if let Some(dir) = &flags.data_dir {
        let value = toml::Value::String(dir.display().to_string());
        merged.insert("data_dir".into(), value);
    }
    if let Some(listen) = &flags.listen {
        merged.insert("listen".into(), toml::Value::String(listen.clone()));
    }
    let config: Config = toml::Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new("configuration", "-", e.message()))?;
    validate(&config)?;
    Ok(config)
}

/// Validates configuration text alone (embedded default + `text`), as `check-config` and the
/// fuzz target do.
pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let mut merged = built_in_defaults()?;
    let schema = merged.clone();
    let table = parse_toml(text, origin)?;
    merge_checked(&mut merged, &schema, table, "", origin)?;
    let config: Config = toml::Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new(origin, "-", e.message()))?;
    validate(&config)?;
    Ok(config)
}

/// The `LANTERN_*` variables of the current process, for [`load`].
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("LANTERN_"))
        .collect()
}

/// The embedded defaults as a table, parsed once per process: every configuration text merges
/// over them (at start, in the diagnostics bundle, in tests and fuzzing), and parsing the long
/// commented file was most of the cost of reading a short text (the fuzz target ran about a
/// thousand a second).
fn built_in_defaults() -> Result<toml::Table, ConfigError> {
    static PARSED: std::sync::LazyLock<Result<toml::Table, ConfigError>> =
        std::sync::LazyLock::new(|| parse_toml(DEFAULT_TOML, "built-in default"));
    PARSED.clone()
}

fn parse_toml(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| {
        let key = match e.span() {
            Some(span) => format!("byte {}", span.start),
            None => "-".into(),
        };
        ConfigError::new(origin, key, e.message().trim().to_string())
    })
}

/// A key as TOML would write it in a dotted path: bare when it can be, else quoted, so that an
/// empty key (`'' = 1`, found by fuzzing: the error named no key) or one with a dot is still
/// shown and told apart.
fn key_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("\"{}\"", key.escape_default())
    }
}

/// Copies `from` into `into`, refusing keys the schema lacks and values of another type.
fn merge_checked(
    into: &mut toml::Table,
    schema: &toml::Table,
    from: toml::Table,
    prefix: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    for (key, value) in from {
        let segment = key_segment(&key);
        let path = if prefix.is_empty() {
            segment
        } else {
            format!("{prefix}.{segment}")
        };
        let Some(expected) = schema.get(&key) else {
            return Err(ConfigError::new(origin, path, "unknown key"));
        };
        match (expected, value) {
            (toml::Value::Table(sub_schema), toml::Value::Table(sub)) => {
                let target = into
                    .entry(key.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(target) = target {
                    merge_checked(target, sub_schema, sub, &path, origin)?;
                }
            }
            (expected, value) if same_type(expected, &value) => {
                into.insert(key, value);
            }
            (expected, _) => {
                return Err(ConfigError::new(
                    origin,
                    path,
                    format!("expected {}", type_name(expected)),
                ));
            }
        }
    }
    Ok(())
}

fn same_type(a: &toml::Value, b: &toml::Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "true or false",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a section",
    }
}

/// Applies `LANTERN_<SECTION>_<KEY>` and `LANTERN_<KEY>` variables that name a known key.
///
/// Variables that name no key are left alone: the same environment carries the CLI's
/// `LANTERN_API_KEY` and the agents' `LANTERN_SERVER`, which are not configuration keys.
fn apply_env(
    into: &mut toml::Table,
    schema: &toml::Table,
    env: &BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix("LANTERN_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let Some((section, key, expected)) = resolve_env_key(schema, &rest) else {
            continue;
        };
        let value = typed_value(expected, raw).ok_or_else(|| {
            let path = section.map_or(key.clone(), |s| format!("{s}.{key}"));
            ConfigError::new(var, path, format!("expected {}", type_name(expected)))
        })?;
        match section {
            None => {
                into.insert(key, value);
            }
            Some(section) => {
                if let Some(toml::Value::Table(target)) = into.get_mut(section) {
                    target.insert(key, value);
                }
            }
        }
    }
    Ok(())
}

fn resolve_env_key<'s>(
    schema: &'s toml::Table,
    rest: &str,
) -> Option<(Option<&'s str>, String, &'s toml::Value)> {
    if let Some(v) = schema.get(rest).filter(|v| !v.is_table()) {
        return Some((None, rest.to_string(), v));
    }
    for (section, value) in schema {
        let toml::Value::Table(sub) = value else {
            continue;
        };
        let Some(key) = rest
            .strip_prefix(section.as_str())
            .and_then(|r| r.strip_prefix('_'))
        else {
            continue;
        };
        if let Some(v) = sub.get(key) {
            return Some((Some(section.as_str()), key.to_string(), v));
        }
    }
    None
}

fn typed_value(expected: &toml::Value, raw: &str) -> Option<toml::Value> {
    match expected {
        toml::Value::String(_) => Some(toml::Value::String(raw.to_string())),
        toml::Value::Integer(_) => raw.trim().parse().ok().map(toml::Value::Integer),
        toml::Value::Float(_) => raw.trim().parse().ok().map(toml::Value::Float),
        toml::Value::Boolean(_) => match raw.trim() {
            "true" | "1" | "yes" => Some(toml::Value::Boolean(true)),
            "false" | "0" | "no" => Some(toml::Value::Boolean(false)),
            _ => None,
        },
        _ => None,
    }
}

/// Range checks that the types alone cannot express.
fn validate(c: &Config) -> Result<(), ConfigError> {
    let origin = "configuration";
    let check = |ok: bool, key: &str, reason: &str| {
        if ok {
            Ok(())
        } else {
            Err(ConfigError::new(origin, key, reason))
        }
    };
    check(
        c.version == SUPPORTED_VERSION,
        "version",
        "only version 1 is supported by this binary",
    )?;
    check(
        !c.data_dir.as_os_str().is_empty(),
        "data_dir",
        "must not be empty",
    )?;
    check(
        (1..=300).contains(&c.tls.handshake_timeout_secs),
        "tls.handshake_timeout_secs",
        "must be between 1 and 300",
    )?;
    check(
        (1..=300).contains(&c.http.header_read_timeout_secs),
        "http.header_read_timeout_secs",
        "must be between 1 and 300",
    )?;
    check(
        (1..=1_000_000).contains(&c.http.max_connections),
        "http.max_connections",
        "must be between 1 and 1000000",
    )?;
    check(
        (1024..=64 << 20).contains(&c.http.max_body_bytes),
        "http.max_body_bytes",
        "must be between 1024 and 67108864",
    )?;
    check(
        c.http.max_upload_bytes >= c.http.max_body_bytes && c.http.max_upload_bytes <= 4 << 30,
        "http.max_upload_bytes",
        "must be at least http.max_body_bytes and at most 4 GiB",
    )?;
    check(
        (4096..=1 << 20).contains(&c.http.max_header_bytes),
        "http.max_header_bytes",
        "must be between 4096 and 1048576",
    )?;
    check(
        c.http.shutdown_grace_secs <= 600,
        "http.shutdown_grace_secs",
        "must be at most 600",
    )?;
    check(
        (1..=1440).contains(&c.auth.session_idle_minutes),
        "auth.session_idle_minutes",
        "must be between 1 and 1440",
    )?;
    check(
        (1..=720).contains(&c.auth.session_absolute_hours),
        "auth.session_absolute_hours",
        "must be between 1 and 720",
    )?;
    check(
        (1..=10080).contains(&c.auth.setup_link_minutes),
        "auth.setup_link_minutes",
        "must be between 1 and 10080",
    )?;
    check(
        (1..=100).contains(&c.auth.throttle_failures),
        "auth.throttle_failures",
        "must be between 1 and 100",
    )?;
    check(
        (1..=1440).contains(&c.auth.throttle_window_minutes),
        "auth.throttle_window_minutes",
        "must be between 1 and 1440",
    )?;
    check(
        (1..=64).contains(&c.auth.max_concurrent_hashes),
        "auth.max_concurrent_hashes",
        "must be between 1 and 64",
    )?;
    check(
        ["error", "warn", "info", "debug", "trace"].contains(&c.log.level.as_str()),
        "log.level",
        "must be one of error, warn, info, debug, trace",
    )?;
    let w = &c.webhooks;
    check(
        (1..=120).contains(&w.timeout_secs),
        "webhooks.timeout_secs",
        "must be between 1 and 120",
    )?;
    check(
        (1..=10).contains(&w.attempts),
        "webhooks.attempts",
        "must be between 1 and 10",
    )?;
    check(
        (1..=3_600_000).contains(&w.retry_first_ms),
        "webhooks.retry_first_ms",
        "must be between 1 and 3600000",
    )?;
    check(
        (1..=10).contains(&w.retry_factor),
        "webhooks.retry_factor",
        "must be between 1 and 10",
    )?;
    check(
        (1..=100_000).contains(&w.queue),
        "webhooks.queue",
        "must be between 1 and 100000",
    )?;
    check(
        (1..=64).contains(&w.concurrency),
        "webhooks.concurrency",
        "must be between 1 and 64",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        load(Some(&path), &env(vars), &Overrides::default())
    }

    #[test]
    fn embedded_default_is_valid() {
        let c = load(None, &BTreeMap::new(), &Overrides::default()).unwrap();
        assert_eq!(c.listen.port(), 8443);
        assert_eq!(c.data_dir, PathBuf::from("./lantern-data"));
        assert_eq!(c.auth.session_idle_minutes, 30);
    }

    #[test]
    fn unknown_key_names_the_key() {
        let e = load_text("version = 1\n[http]\nmax_conections = 3\n", &[]).unwrap_err();
        assert_eq!(e.key, "http.max_conections");
        assert_eq!(e.reason, "unknown key");
        let e = load_text("colour = \"red\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "colour");
    }

    /// Found by fuzzing (`'' = '.'`): an empty key, or one with a dot, is named quoted.
    #[test]
    fn odd_unknown_keys_are_named_quoted() {
        let e = load_text("'' = '.'\n", &[]).unwrap_err();
        assert_eq!((e.key.as_str(), e.reason.as_str()), ("\"\"", "unknown key"));
        let e = load_text("[http]\n'a.b' = 1\n", &[]).unwrap_err();
        assert_eq!(e.key, "http.\"a.b\"");
    }

    #[test]
    fn wrong_type_names_the_expected_type() {
        let e = load_text("[http]\nmax_connections = \"many\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "http.max_connections");
        assert_eq!(e.reason, "expected an integer");
    }

    #[test]
    fn syntax_error_is_reported() {
        let e = load_text("[http\n", &[]).unwrap_err();
        assert!(e.origin.ends_with("c.toml"), "{e}");
    }

    #[test]
    fn precedence_is_flag_env_file_default() {
        let text = "listen = \"127.0.0.1:9000\"\n[http]\nmax_connections = 10\n";
        let c = load_text(text, &[]).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.http.max_connections, 10);
        let c = load_text(
            text,
            &[
                ("LANTERN_LISTEN", "127.0.0.1:9001"),
                ("LANTERN_HTTP_MAX_CONNECTIONS", "11"),
                ("LANTERN_API_KEY", "not a config key"),
            ],
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9001);
        assert_eq!(c.http.max_connections, 11);
        let flags = Overrides {
            listen: Some("127.0.0.1:9002".into()),
            data_dir: Some("/tmp/x".into()),
        };
        let c = load(None, &env(&[("LANTERN_LISTEN", "127.0.0.1:9001")]), &flags).unwrap();
        assert_eq!(c.listen.port(), 9002);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let e = load(
            None,
            &env(&[("LANTERN_AUTH_SESSION_IDLE_MINUTES", "soon")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(e.origin, "LANTERN_AUTH_SESSION_IDLE_MINUTES");
        assert_eq!(e.key, "auth.session_idle_minutes");
    }

    #[test]
    fn ranges_and_addresses_are_checked() {
        let e = load_text("[auth]\nsession_idle_minutes = 0\n", &[]).unwrap_err();
        assert_eq!(e.key, "auth.session_idle_minutes");
        assert!(load_text("listen = \"example.org:443\"\n", &[]).is_err());
        let e = load_text("version = 2\n", &[]).unwrap_err();
        assert_eq!(e.key, "version");
    }
}
