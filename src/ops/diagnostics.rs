//! System Diagnostics: the health of the appliance and its host at one moment (host CPU,
//! memory and disks from `sysinfo`; the process's memory, threads and open files from
//! `/proc/self`; the store file and its writer; connected agents; ingest rates; uptime and
//! version), the recent server log, the dependency SBOM made at build time, and the
//! downloadable diagnostics bundle that puts them together.
//!
//! The recent log is a bounded in-memory ring fed by [`LogTee`], the writer `lantern serve`
//! logs through: each line goes to stderr exactly as before and, with escape codes removed,
//! secrets scrubbed ([`scrub`]) and its length bounded, into the ring. Nothing here is
//! stored: a restart starts an empty ring.
//!
//! Secrets never leave through this module: the configuration in the bundle is an allowlist
//! of settings that hold none, agent rows carry no keys, and log lines are scrubbed on the
//! way in (API keys, bearer tokens, `password=`/`token=`/`key=`-style values, credentials in
//! URLs, and long random-looking strings such as pool keys and session ids).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Instant;

use regex::Regex;
use serde::Serialize;
use serde_json::{Value, json};

use crate::agents::ingest::IngestTotals;
use crate::agents::registry::AgentSummary;
use crate::config::Config;
use crate::store::WriterStats;

/// Lines the recent-log ring keeps (the oldest go first).
pub const LOG_LINES: usize = 500;
/// Longest line kept, in bytes; longer ones are cut (and say so).
pub const LOG_LINE_BYTES: usize = 2048;
/// Bytes of one log event the tee looks at; the rest still goes to stderr.
const TEE_BYTES: usize = 8 * 1024;
/// Largest diagnostics bundle; the parts above are bounded well below it.
pub const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;
/// Most agents listed in the bundle (the page and API give counts only).
pub const MAX_AGENT_ROWS: usize = 10_000;
/// Most disks listed.
const MAX_DISKS: usize = 32;
/// How long an ingest-rate baseline is kept before a newer one replaces it: rates cover the
/// last 30 to 60 seconds or so between two readings.
const RATE_BASELINE_SECS: u64 = 30;

/// The appliance's dependency SBOM, made by `build.rs` from `Cargo.lock`.
pub const DEPENDENCY_SBOM: &str =
    include_str!(concat!(env!("OUT_DIR"), "/dependency-sbom.cdx.json"));

/// The file name the dependency SBOM is offered under.
pub const DEPENDENCY_SBOM_FILE: &str = concat!(
    "lantern-",
    env!("CARGO_PKG_VERSION"),
    "-dependencies.cdx.json"
);

/// Why diagnostics could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DiagnosticsError {
    /// The bundle could not be written (an archive error).
    #[error("the diagnostics bundle could not be written: {0}")]
    Bundle(String),
    /// The bundle grew past [`MAX_BUNDLE_BYTES`].
    #[error("the diagnostics bundle would be larger than {MAX_BUNDLE_BYTES} bytes")]
    TooLarge,
}

// ---------------------------------------------------------------------------------------------
// The recent server log
// ---------------------------------------------------------------------------------------------

/// A bounded ring of the latest log lines, already cleaned and scrubbed.
#[derive(Debug)]
pub struct LogRing {
    lines: Mutex<VecDeque<String>>,
    capacity: usize,
    seen: AtomicU64,
}

impl LogRing {
    /// An empty ring of `capacity` lines.
    pub const fn new(capacity: usize) -> LogRing {
        LogRing {
            lines: Mutex::new(VecDeque::new()),
            capacity,
            seen: AtomicU64::new(0),
        }
    }

    /// Takes one log event's text: escape codes removed, secrets scrubbed, cut to
    /// [`LOG_LINE_BYTES`]. The oldest line goes when the ring is full.
    pub fn push(&self, raw: &str) {
        let line = clean_line(raw);
        if line.is_empty() || self.capacity == 0 {
            return;
        }
        self.seen.fetch_add(1, Ordering::Relaxed);
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        while lines.len() >= self.capacity {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The lines kept, oldest first.
    pub fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().cloned().collect()
    }

    /// How many lines the ring keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lines taken since start (kept or since dropped).
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }
}

/// The recent log of this process.
pub static RECENT_LOG: LogRing = LogRing::new(LOG_LINES);

/// A `tracing_subscriber` writer that writes to stderr unchanged and copies each event into
/// [`RECENT_LOG`].
#[derive(Debug, Clone, Copy, Default)]
pub struct LogTee;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogTee {
    type Writer = TeeWriter;

    fn make_writer(&'a self) -> TeeWriter {
        TeeWriter {
            copy: Vec::new(),
            cut: false,
        }
    }
}

/// One event's writer (see [`LogTee`]); the copy goes into the ring when it is dropped.
#[derive(Debug)]
pub struct TeeWriter {
    copy: Vec<u8>,
    cut: bool,
}

impl Write for TeeWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = std::io::stderr().write(buf)?;
        let room = TEE_BYTES.saturating_sub(self.copy.len());
        let written = buf.get(..n).unwrap_or_default();
        if written.len() > room {
            self.cut = true;
        }
        self.copy
            .extend_from_slice(written.get(..room.min(written.len())).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl Drop for TeeWriter {
    fn drop(&mut self) {
        if self.copy.is_empty() {
            return;
        }
        let mut text = String::from_utf8_lossy(&self.copy).into_owned();
        if self.cut {
            // The cut may have split a secret; drop the partial word so that no prefix of one
            // too short to recognise is kept.
            let keep = text.rfind(char::is_whitespace).unwrap_or(0);
            text.truncate(keep);
            text.push_str(" …");
        }
        RECENT_LOG.push(&text);
    }
}

/// Removes terminal escape sequences and other control characters (inner line breaks
/// become ` ⏎ `), scrubs secrets, then cuts to [`LOG_LINE_BYTES`] at a character boundary.
pub fn clean_line(raw: &str) -> String {
    let mut plain = String::with_capacity(raw.len().min(TEE_BYTES));
    let mut chars = raw.trim_end().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // CSI: ESC [ parameters... final byte in @..~
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for f in chars.by_ref() {
                        if ('@'..='~').contains(&f) {
                            break;
                        }
                    }
                }
            }
            '\n' => plain.push_str(" ⏎ "),
            '\t' => plain.push(' '),
            c if c.is_control() => {}
            c => plain.push(c),
        }
        if plain.len() > TEE_BYTES {
            let keep = plain.rfind(char::is_whitespace).unwrap_or(0);
            plain.truncate(keep);
            break;
        }
    }
    let mut line = scrub(&plain);
    if line.len() > LOG_LINE_BYTES {
        let mut end = LOG_LINE_BYTES;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str(" … (cut)");
    }
    line
}

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

struct Scrubbers {
    api_key: Regex,
    auth_scheme: Regex,
    url_credentials: Regex,
    named_value: Regex,
    opaque: Regex,
}

static SCRUBBERS: LazyLock<Option<Scrubbers>> = LazyLock::new(|| {
    Some(Scrubbers {
        api_key: Regex::new(r"lk_[A-Za-z0-9_\-]+").ok()?,
        auth_scheme: Regex::new(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]+").ok()?,
        url_credentials: Regex::new(r"(?i)([a-z][a-z0-9+.\-]*://)[^/\s@]+@").ok()?,
        named_value: Regex::new(concat!(
            r#"(?i)\b([\w.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|pool[_\-]?key|"#,
            r#"key|authorization|cookie|session|csrf|credential)[\w.\-]*)"#,
            r#"("?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'&,;}\]]+)"#
        ))
        .ok()?,
        opaque: Regex::new(r"[A-Za-z0-9_\-]{40,}").ok()?,
    })
});

/// `text` with secrets replaced by [`REDACTED`]: API keys (`lk_…`), `Bearer`/`Basic`
/// credentials, `user:password@` in URLs, the value after any name that speaks of a password,
/// secret, token, key, cookie, session or credential (`token=…`, `"password": "…"`, quoted
/// values whole), and any run of 40 or more base64url characters mixing two of upper case,
/// lower case and digits (pool keys, session ids
/// and other random secrets, which carry no name when printed bare). Should the patterns ever
/// fail to compile, the whole text is withheld rather than shown unscrubbed.
pub fn scrub(text: &str) -> String {
    let Some(s) = SCRUBBERS.as_ref() else {
        return REDACTED.to_string();
    };
    let out = s.api_key.replace_all(text, "lk_[redacted]");
    let out = s.auth_scheme.replace_all(&out, "${1}${2}[redacted]");
    let out = s.url_credentials.replace_all(&out, "${1}[redacted]@");
    let out = s.named_value.replace_all(&out, "${1}${2}[redacted]");
    let out = s.opaque.replace_all(&out, |caps: &regex::Captures<'_>| {
        let run = caps.get(0).map(|m| m.as_str()).unwrap_or_default();
        // Random text mixes character classes; long words, paths and snake_case names don't.
        let classes = [
            run.bytes().any(|b| b.is_ascii_digit()),
            run.bytes().any(|b| b.is_ascii_lowercase()),
            run.bytes().any(|b| b.is_ascii_uppercase()),
        ];
        if classes.iter().filter(|c| **c).count() >= 2 {
            REDACTED.to_string()
        } else {
            run.to_string()
        }
    });
    out.into_owned()
}

// ---------------------------------------------------------------------------------------------
// The readings
// ---------------------------------------------------------------------------------------------

/// The probe behind the readings: the `sysinfo` handle (so CPU usage is measured between two
/// readings) and the ingest-rate baselines. One per appliance, in its state.
#[derive(Debug)]
pub struct Probe {
    started: Instant,
    started_ms: i64,
    system: Mutex<Option<sysinfo::System>>,
    baselines: Mutex<Baselines>,
}

#[derive(Debug)]
struct Baselines {
    /// The older baseline rates are measured from.
    previous: (Instant, IngestTotals),
    /// The newer one, which becomes `previous` once it is [`RATE_BASELINE_SECS`] old.
    current: (Instant, IngestTotals),
}

/// What the probe cannot find for itself: facts owned by other modules.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// Unix milliseconds now.
    pub now_ms: i64,
    /// The data directory (which disk holds it).
    pub data_dir: &'a Path,
    /// The store file's size.
    pub store_bytes: u64,
    /// The store's schema version.
    pub schema_version: u32,
    /// The store writer's counters.
    pub writer: WriterStats,
    /// The connected agents.
    pub agents: &'a [AgentSummary],
    /// What agents have sent since start.
    pub ingest: IngestTotals,
}

/// One reading of everything (the page, the API and the bundle's `diagnostics.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    /// When it was taken (unix ms).
    pub generated_ms: i64,
    /// The appliance's version.
    pub version: &'static str,
    /// When the appliance started (unix ms).
    pub started_ms: i64,
    /// Seconds since then.
    pub uptime_secs: u64,
    /// The host.
    pub host: Host,
    /// This process.
    pub process: ProcessFacts,
    /// The store.
    pub store: StoreFacts,
    /// Connected agents.
    pub agents: AgentFacts,
    /// What agents send.
    pub ingest: Ingest,
    /// The recent log (its lines are listed separately).
    pub log: LogFacts,
    /// The dependency SBOM.
    pub sbom: SbomFacts,
}

/// The host as `sysinfo` sees it; `None` where the platform does not say.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// The host name.
    pub host_name: Option<String>,
    /// The operating system, e.g. `Linux 13 Debian GNU/Linux`.
    pub os: Option<String>,
    /// The kernel version.
    pub kernel: Option<String>,
    /// Logical CPUs.
    pub cpus: usize,
    /// Busy share of all CPUs since the previous reading (or since start), 0–100.
    pub cpu_usage_percent: Option<f32>,
    /// Run-queue load over 1, 5 and 15 minutes.
    pub load_average: Option<[f64; 3]>,
    /// Physical memory.
    pub memory_total_bytes: u64,
    /// Memory in use.
    pub memory_used_bytes: u64,
    /// Memory available to new work without swapping.
    pub memory_available_bytes: u64,
    /// Swap space.
    pub swap_total_bytes: u64,
    /// Swap in use.
    pub swap_used_bytes: u64,
    /// Seconds since the host booted.
    pub uptime_secs: Option<u64>,
    /// The disk that holds the data directory.
    pub data_disk: Option<Disk>,
    /// Every mounted disk (at most 32).
    pub disks: Vec<Disk>,
}

/// One mounted file system.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Disk {
    /// Where it is mounted.
    pub mount_point: String,
    /// Its file system type.
    pub file_system: String,
    /// Its size.
    pub total_bytes: u64,
    /// Space free for use.
    pub available_bytes: u64,
}

/// This process, from `/proc/self`.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessFacts {
    /// Process id.
    pub pid: u32,
    /// Resident memory.
    pub rss_bytes: Option<u64>,
    /// Address space reserved (mostly not resident).
    pub virtual_bytes: Option<u64>,
    /// Threads.
    pub threads: Option<u64>,
    /// Open file descriptors (sockets included).
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors.
    pub fd_limit: Option<u64>,
}

/// The store file and its writer.
#[derive(Debug, Clone, Serialize)]
pub struct StoreFacts {
    /// The file's size on disk.
    pub file_bytes: u64,
    /// The schema version.
    pub schema_version: u32,
    /// Durable commits since start.
    pub commits: u64,
    /// Writes committed since start.
    pub committed_writes: u64,
    /// Writes that failed since start.
    pub failed_writes: u64,
    /// The most writes in one commit.
    pub largest_batch: u64,
    /// Writes waiting now.
    pub queued: u64,
    /// Mean time of one durable commit, in microseconds.
    pub mean_commit_micros: u64,
}

/// Connected agents, counted.
#[derive(Debug, Clone, Serialize)]
pub struct AgentFacts {
    /// Connections.
    pub connected: usize,
    /// Distinct pools they belong to.
    pub pools: usize,
    /// Connections by runtime (`java`, `python`).
    pub runtimes: BTreeMap<String, usize>,
    /// Connections whose start-up state has not arrived completely.
    pub starting: usize,
}

/// What agents sent: totals since start and rates over a recent window.
#[derive(Debug, Clone, Serialize)]
pub struct Ingest {
    /// Totals since start.
    pub totals: IngestTotals,
    /// The window the rates cover, in seconds.
    pub window_secs: f64,
    /// Per second over that window, by the names of `totals`.
    pub per_second: BTreeMap<&'static str, f64>,
}

/// The recent log's extent.
#[derive(Debug, Clone, Serialize)]
pub struct LogFacts {
    /// Lines kept now.
    pub lines: usize,
    /// Lines kept at most.
    pub capacity: usize,
    /// Lines seen since start.
    pub seen: u64,
}

/// The dependency SBOM's extent.
#[derive(Debug, Clone, Serialize)]
pub struct SbomFacts {
    /// Its format.
    pub format: &'static str,
    /// Crates listed.
    pub components: usize,
}

/// Components of [`DEPENDENCY_SBOM`].
pub fn sbom_components() -> usize {
    static COUNT: LazyLock<usize> = LazyLock::new(|| {
        serde_json::from_str::<Value>(DEPENDENCY_SBOM)
            .ok()
            .and_then(|v| v.get("components").and_then(Value::as_array).map(Vec::len))
            .unwrap_or(0)
    });
    *COUNT
}

impl Probe {
    /// A probe started now (the appliance's start).
    pub fn new(now_ms: i64) -> Probe {
        let started = Instant::now();
        let system = sysinfo::System::new().ok().map(|mut s| {
            s.refresh_cpu_usage();
            s
        });
        let zero = (started, IngestTotals::default());
        Probe {
            started,
            started_ms: now_ms,
            system: Mutex::new(system),
            baselines: Mutex::new(Baselines {
                previous: zero,
                current: zero,
            }),
        }
    }

    /// Takes a reading. Blocking (it reads `/proc` and asks every mounted file system for
    /// its size): call it off the async workers, with a timeout.
    pub fn read(&self, inputs: &Inputs<'_>) -> Diagnostics {
        let lines = RECENT_LOG
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        Diagnostics {
            generated_ms: inputs.now_ms,
            version: env!("CARGO_PKG_VERSION"),
            started_ms: self.started_ms,
            uptime_secs: self.started.elapsed().as_secs(),
            host: self.host(inputs.data_dir),
            process: process_facts(),
            store: store_facts(inputs),
            agents: agent_facts(inputs.agents),
            ingest: self.ingest(inputs.ingest),
            log: LogFacts {
                lines,
                capacity: RECENT_LOG.capacity(),
                seen: RECENT_LOG.seen(),
            },
            sbom: SbomFacts {
                format: "CycloneDX 1.6",
                components: sbom_components(),
            },
        }
    }

    fn host(&self, data_dir: &Path) -> Host {
        let mut guard = self.system.lock().unwrap_or_else(PoisonError::into_inner);
        let (cpus, cpu, mem) = match guard.as_mut() {
            Some(s) => {
                s.refresh_cpu_usage();
                s.refresh_memory();
                (
                    s.cpus().len(),
                    Some(s.global_cpu_usage()),
                    [
                        s.total_memory(),
                        s.used_memory(),
                        s.available_memory(),
                        s.total_swap(),
                        s.used_swap(),
                    ],
                )
            }
            None => (0, None, [0; 5]),
        };
        drop(guard);
        let [
            memory_total_bytes,
            memory_used_bytes,
            memory_available_bytes,
            swap_total_bytes,
            swap_used_bytes,
        ] = mem;
        let disks = disks();
        Host {
            host_name: sysinfo::System::host_name().ok(),
            os: sysinfo::System::long_os_version().ok(),
            kernel: sysinfo::System::kernel_version().ok(),
            cpus,
            cpu_usage_percent: cpu.filter(|c| c.is_finite()),
            load_average: sysinfo::System::load_average()
                .ok()
                .map(|l| [l.one, l.five, l.fifteen]),
            memory_total_bytes,
            memory_used_bytes,
            memory_available_bytes,
            swap_total_bytes,
            swap_used_bytes,
            uptime_secs: sysinfo::System::uptime().ok(),
            data_disk: disk_of(&disks, data_dir),
            disks,
        }
    }

    fn ingest(&self, now: IngestTotals) -> Ingest {
        let at = Instant::now();
        let mut b = self
            .baselines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if at.duration_since(b.current.0).as_secs() >= RATE_BASELINE_SECS {
            b.previous = b.current;
            b.current = (at, now);
        }
        let (since, then) = b.previous;
        drop(b);
        let window_secs = at.duration_since(since).as_secs_f64();
        // Counters only grow; a window under a second would make noise, not a rate.
        #[allow(clippy::cast_precision_loss)]
        let rate = |now: u64, then: u64| {
            if window_secs < 1.0 {
                0.0
            } else {
                now.saturating_sub(then) as f64 / window_secs
            }
        };
        let per_second = BTreeMap::from([
            ("messages", rate(now.messages, then.messages)),
            ("bytes", rate(now.bytes, then.bytes)),
            (
                "class_load_frames",
                rate(now.class_load_frames, then.class_load_frames),
            ),
            ("snapshots", rate(now.snapshots, then.snapshots)),
            ("log_lines", rate(now.log_lines, then.log_lines)),
            ("metrics", rate(now.metrics, then.metrics)),
        ]);
        Ingest {
            totals: now,
            window_secs,
            per_second,
        }
    }
}

fn disks() -> Vec<Disk> {
    let Ok(list) = sysinfo::Disks::new_with_refreshed_list() else {
        return Vec::new();
    };
    let mut out: Vec<Disk> = list
        .iter()
        .filter(|d| d.total_space() > 0)
        .map(|d| Disk {
            mount_point: d.mount_point().display().to_string(),
            file_system: d.file_system().to_string_lossy().into_owned(),
            total_bytes: d.total_space(),
            available_bytes: d.available_space(),
        })
        .collect();
    out.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    out.dedup_by(|a, b| a.mount_point == b.mount_point);
    out.truncate(MAX_DISKS);
    out
}

/// The disk whose mount point is the longest prefix of `dir` (made absolute).
fn disk_of(disks: &[Disk], dir: &Path) -> Option<Disk> {
    let dir: PathBuf = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    disks
        .iter()
        .filter(|d| dir.starts_with(&d.mount_point))
        .max_by_key(|d| d.mount_point.len())
        .cloned()
}

/// A `Name:   123 kB` field of `/proc/self/status`, in bytes (or as a count without unit).
fn status_field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    let rest = line.get(name.len()..)?.trim_start_matches(':').trim();
    let mut parts = rest.split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    Some(match parts.next() {
        Some("kB") => n.saturating_mul(1024),
        _ => n,
    })
}

/// The soft "Max open files" of `/proc/self/limits`.
fn fd_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.get("Max open files".len()..)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn process_facts() -> ProcessFacts {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let fd_limit = fd_limit(&limits);
    // Bounded by the limit itself (or a million) so that a runaway never makes this slow.
    let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|dir| {
        let bound = usize::try_from(fd_limit.unwrap_or(1 << 20)).unwrap_or(1 << 20);
        u64::try_from(dir.take(bound).count()).unwrap_or(u64::MAX)
    });
    ProcessFacts {
        pid: std::process::id(),
        rss_bytes: status_field(&status, "VmRSS"),
        virtual_bytes: status_field(&status, "VmSize"),
        threads: status_field(&status, "Threads"),
        open_fds,
        fd_limit,
    }
}

fn store_facts(i: &Inputs<'_>) -> StoreFacts {
    let w = i.writer;
    let mean = w
        .commit_time
        .as_micros()
        .checked_div(u128::from(w.commits.max(1)))
        .unwrap_or(0);
    StoreFacts {
        file_bytes: i.store_bytes,
        schema_version: i.schema_version,
        commits: w.commits,
        committed_writes: w.committed_jobs,
        failed_writes: w.failed_jobs,
        largest_batch: w.largest_batch,
        queued: w.queued,
        mean_commit_micros: u64::try_from(mean).unwrap_or(u64::MAX),
    }
}

fn agent_facts(agents: &[AgentSummary]) -> AgentFacts {
    let mut runtimes: BTreeMap<String, usize> = BTreeMap::new();
    for a in agents {
        *runtimes.entry(a.hello.runtime.name.clone()).or_default() += 1;
    }
    AgentFacts {
        connected: agents.len(),
        pools: agents
            .iter()
            .map(|a| a.pool_id.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        runtimes,
        starting: agents.iter().filter(|a| !a.initial_done).count(),
    }
}

// ---------------------------------------------------------------------------------------------
// The bundle
// ---------------------------------------------------------------------------------------------

/// The connected agents as listed in the bundle: who, where, what, since when; no keys.
pub fn agent_rows(agents: &[AgentSummary]) -> Value {
    let rows: Vec<Value> = agents
        .iter()
        .take(MAX_AGENT_ROWS)
        .map(|a| {
            json!({
                "agent_id": a.hello.agent_id,
                "display_name": a.hello.display_name,
                "pool_id": a.pool_id,
                "pool_name": a.pool_name,
                "host": a.hello.host,
                "pid": a.hello.pid,
                "runtime": a.hello.runtime.name,
                "runtime_version": a.hello.runtime.version,
                "agent_version": a.hello.agent_version,
                "protocol": a.protocol,
                "peer": a.peer.to_string(),
                "connected_ms": a.connected_ms,
                "last_heartbeat_ms": a.last_heartbeat_ms,
                "classes_loaded": a.classes_loaded,
                "artifacts": a.artifacts,
                "initial_done": a.initial_done,
                "tags": a.hello.tags,
            })
        })
        .collect();
    json!({"connected": agents.len(), "listed": rows.len(), "agents": rows})
}

/// The configuration in the bundle: the server settings of the configuration file (an
/// allowlist: none of them is a secret, and a setting added later stays out until someone
/// adds it here) and the Service Configuration values in force.
pub fn configuration(config: &Config, service: Value) -> Value {
    json!({
        "server": {
            "version": config.version,
            "data_dir": config.data_dir.display().to_string(),
            "listen": config.listen.to_string(),
            "public_host": config.public_host,
            "tls": {"handshake_timeout_secs": config.tls.handshake_timeout_secs},
            "http": {
                "header_read_timeout_secs": config.http.header_read_timeout_secs,
                "max_connections": config.http.max_connections,
                "max_body_bytes": config.http.max_body_bytes,
                "max_upload_bytes": config.http.max_upload_bytes,
                "max_header_bytes": config.http.max_header_bytes,
                "shutdown_grace_secs": config.http.shutdown_grace_secs,
            },
            "auth": {
                "session_idle_minutes": config.auth.session_idle_minutes,
                "session_absolute_hours": config.auth.session_absolute_hours,
                "setup_link_minutes": config.auth.setup_link_minutes,
                "throttle_failures": config.auth.throttle_failures,
                "throttle_window_minutes": config.auth.throttle_window_minutes,
                "max_concurrent_hashes": config.auth.max_concurrent_hashes,
            },
            "log": {"level": config.log.level},
            "webhooks": {
                "ca_bundle": config.webhooks.ca_bundle,
                "timeout_secs": config.webhooks.timeout_secs,
                "attempts": config.webhooks.attempts,
                "retry_first_ms": config.webhooks.retry_first_ms,
                "retry_factor": config.webhooks.retry_factor,
                "queue": config.webhooks.queue,
                "concurrency": config.webhooks.concurrency,
                "allow_http_loopback": config.webhooks.allow_http_loopback,
            },
        },
        "service": service,
    })
}

/// The parts of a bundle.
#[derive(Debug)]
pub struct BundleParts<'a> {
    /// The reading.
    pub diagnostics: &'a Diagnostics,
    /// See [`configuration`].
    pub configuration: &'a Value,
    /// See [`agent_rows`].
    pub agents: &'a Value,
    /// The recent log, oldest first.
    pub log: &'a [String],
}

/// The files of a bundle, in order: `(name, contents)`.
pub fn bundle_files(parts: &BundleParts<'_>) -> Vec<(&'static str, Vec<u8>)> {
    let pretty = |v: &Value| {
        let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
        out.push(b'\n');
        out
    };
    let diagnostics = serde_json::to_value(parts.diagnostics).unwrap_or(Value::Null);
    let mut log = parts.log.join("\n");
    log.push('\n');
    let readme = format!(
        "Lantern {version} diagnostics bundle, taken {taken} (unix ms {ms}).\n\n\
         diagnostics.json       host, process, store, agents and ingest figures at that moment\n\
         configuration.json     the server settings and the Service Configuration in force\n\
         recent-log.txt         the last {lines} server log lines kept in memory (oldest first)\n\
         agents.json            the connected agents (no keys)\n\
         dependencies.cdx.json  the appliance's dependency SBOM (CycloneDX 1.6), made at build time\n\n\
         Secrets are removed: no API keys, agent-pool keys, passwords, session ids or tokens.\n\
         Log lines are scrubbed as they are recorded; what was removed reads {REDACTED}.\n",
        version = parts.diagnostics.version,
        taken = crate::ui::components::human_utc(parts.diagnostics.generated_ms / 1000),
        ms = parts.diagnostics.generated_ms,
        lines = parts.log.len(),
    );
    vec![
        ("README.txt", readme.into_bytes()),
        ("diagnostics.json", pretty(&diagnostics)),
        ("configuration.json", pretty(parts.configuration)),
        ("recent-log.txt", log.into_bytes()),
        ("agents.json", pretty(parts.agents)),
        ("dependencies.cdx.json", DEPENDENCY_SBOM.as_bytes().to_vec()),
    ]
}

/// The bundle as a zip archive built in memory, at most [`MAX_BUNDLE_BYTES`].
pub fn bundle(parts: &BundleParts<'_>) -> Result<Vec<u8>, DiagnosticsError> {
    let files = bundle_files(parts);
    let raw: usize = files.iter().map(|(_, b)| b.len()).sum();
    if raw > MAX_BUNDLE_BYTES {
        return Err(DiagnosticsError::TooLarge);
    }
    let err = |e: &dyn std::fmt::Display| DiagnosticsError::Bundle(e.to_string());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for (name, body) in &files {
        zip.start_file(format!("lantern-diagnostics/{name}"), options)
            .map_err(|e| err(&e))?;
        zip.write_all(body).map_err(|e| err(&e))?;
    }
    let out = zip.finish().map_err(|e| err(&e))?.into_inner();
    if out.len() > MAX_BUNDLE_BYTES {
        return Err(DiagnosticsError::TooLarge);
    }
    Ok(out)
}

/// The bundle's file name, e.g. `lantern-diagnostics-20261128T112634Z.zip`.
pub fn bundle_file_name(now_ms: i64) -> String {
    let iso = crate::ui::components::iso_utc(now_ms / 1000);
    let compact: String = iso.chars().filter(|c| *c != '-' && *c != ':').collect();
    format!("lantern-diagnostics-{compact}.zip")
}

#[cfg(test)]
// Tests may fail loudly; the denies exist for production paths.
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    const POOL_KEY: &str = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u";
    const API_KEY: &str = "lk_b3kX9_aQ2-Zt7mN4pR8sV1wY5cE6fG0hJ3kL";

    #[test]
    fn the_ring_keeps_the_newest_lines_up_to_its_capacity() {
        let ring = LogRing::new(3);
        for i in 0..10 {
            ring.push(&format!("line {i}\n"));
        }
        assert_eq!(ring.lines(), ["line 7", "line 8", "line 9"]);
        assert_eq!(ring.seen(), 10);
        ring.push("   \n");
        assert_eq!(ring.lines().len(), 3, "blank lines are not kept");
        let empty = LogRing::new(0);
        empty.push("x");
        assert!(empty.lines().is_empty());
    }

    #[test]
    fn lines_are_cut_to_their_bound_at_a_character_boundary() {
        let ring = LogRing::new(2);
        ring.push(&"é".repeat(LOG_LINE_BYTES));
        let line = &ring.lines()[0];
        assert!(
            line.len() <= LOG_LINE_BYTES + " … (cut)".len(),
            "{}",
            line.len()
        );
        assert!(line.ends_with("(cut)"));
        let huge = "word ".repeat(100_000);
        assert!(clean_line(&huge).len() <= LOG_LINE_BYTES + 16);
    }

    #[test]
    fn escape_codes_and_control_characters_are_removed() {
        let raw = "\u{1b}[2m2026-11-28T11:00:00Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m lantern: ready\u{7}\nsecond";
        assert_eq!(
            clean_line(raw),
            "2026-11-28T11:00:00Z  INFO lantern: ready ⏎ second"
        );
    }

    #[test]
    fn secrets_are_scrubbed_and_ordinary_text_is_kept() {
        let cases = [
            (format!("api key {API_KEY} used"), API_KEY),
            (format!("authorization: Bearer {POOL_KEY}"), POOL_KEY),
            (
                "Authorization: Basic dXNlcjpwYXNzd29yZA==".to_string(),
                "dXNlcjpwYXNzd29yZA",
            ),
            (format!("pool_key={POOL_KEY} rotated"), POOL_KEY),
            (
                "https://lantern:8443/setup?token=abcDEF123&x=1".to_string(),
                "abcDEF123",
            ),
            (
                r#"{"password": "hunter2!", "user": "a"}"#.to_string(),
                "hunter2",
            ),
            ("password=correct-horse".to_string(), "correct-horse"),
            ("session_id=s3ss10n".to_string(), "s3ss10n"),
            (
                "proxy https://bob:pa55@proxy.local:3128/".to_string(),
                "pa55",
            ),
            (format!("bare {POOL_KEY} printed"), POOL_KEY),
        ];
        for (line, secret) in &cases {
            let clean = clean_line(line);
            assert!(!clean.contains(secret), "{line:?} became {clean:?}");
            assert!(clean.contains(REDACTED), "{clean:?}");
        }
        let ordinary = [
            "2026-11-28T11:00:00Z  INFO lantern::app: reachability index restored packages=12",
            "agent connected agent_id=web-7 pool=payments runtime=java",
            "listening on https://0.0.0.0:8443 (data directory /var/lib/lantern/data/store)",
            "class org.apache.logging.log4j.core.lookup.JndiLookup loaded",
            "pool 0123456789abcdef0123456789abcdef created",
            "a_very_long_snake_case_name_of_a_function_in_some_module called",
        ];
        for line in ordinary {
            assert_eq!(clean_line(line), line);
        }
    }

    #[test]
    fn the_tee_copies_what_goes_to_stderr_into_the_recent_log() {
        let marker = format!("tee-test-{}", std::process::id());
        {
            let mut w = tracing_subscriber::fmt::MakeWriter::make_writer(&LogTee);
            writeln!(w, "{marker} token={POOL_KEY}").unwrap();
        }
        let lines = RECENT_LOG.lines();
        let line = lines.iter().find(|l| l.contains(&marker)).unwrap();
        assert!(
            !line.contains(POOL_KEY) && line.contains(REDACTED),
            "{line}"
        );
    }

    #[test]
    fn proc_fields_parse() {
        let status = "Name:\tlantern\nVmSize:\t  123456 kB\nVmRSS:\t    2048 kB\nThreads:\t7\n";
        assert_eq!(status_field(status, "VmRSS"), Some(2048 * 1024));
        assert_eq!(status_field(status, "VmSize"), Some(123_456 * 1024));
        assert_eq!(status_field(status, "Threads"), Some(7));
        assert_eq!(status_field(status, "VmSwap"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(fd_limit(limits), Some(1024));
        let p = process_facts();
        assert!(p.rss_bytes.unwrap() > 0 && p.open_fds.unwrap() > 0);
    }

    #[test]
    fn the_data_disk_is_the_longest_mount_prefix() {
        let d = |m: &str| Disk {
            mount_point: m.into(),
            file_system: "ext4".into(),
            total_bytes: 10,
            available_bytes: 5,
        };
        let disks = [d("/"), d("/var"), d("/var/lib/lantern"), d("/variety")];
        assert_eq!(
            disk_of(&disks, Path::new("/var/lib/lantern/data"))
                .unwrap()
                .mount_point,
            "/var/lib/lantern"
        );
        assert_eq!(
            disk_of(&disks, Path::new("/variety-x"))
                .unwrap()
                .mount_point,
            "/",
            "a prefix of the name is not a parent directory"
        );
    }

    #[test]
    fn the_dependency_sbom_names_normal_dependencies_only() {
        let bom: Value = serde_json::from_str(DEPENDENCY_SBOM).unwrap();
        assert_eq!(bom["specVersion"], "1.6");
        let names: Vec<&str> = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        for want in ["rustls", "redb", "hyper", "maud", "ring"] {
            assert!(names.contains(&want), "{want}");
        }
        for dev_only in ["proptest", "criterion", "tempfile"] {
            assert!(!names.contains(&dev_only), "{dev_only}");
        }
        assert_eq!(sbom_components(), names.len());
    }

    #[test]
    fn a_reading_has_real_numbers_and_the_bundle_its_files() {
        let probe = Probe::new(1_700_000_000_000);
        let d = probe.read(&Inputs {
            now_ms: 1_700_000_001_000,
            data_dir: Path::new("."),
            store_bytes: 4096,
            schema_version: 3,
            writer: WriterStats::default(),
            agents: &[],
            ingest: IngestTotals::default(),
        });
        assert!(d.host.cpus > 0 && d.host.memory_total_bytes > 0);
        assert!(d.host.data_disk.is_some(), "{:?}", d.host.disks);
        assert_eq!(d.store.file_bytes, 4096);
        let config = crate::config::load(
            None,
            &Default::default(),
            &crate::config::Overrides::default(),
        )
        .unwrap();
        let config = configuration(&config, json!({"a": 1}));
        let agents = agent_rows(&[]);
        let log = vec!["one".to_string(), "two".to_string()];
        let zip = bundle(&BundleParts {
            diagnostics: &d,
            configuration: &config,
            agents: &agents,
            log: &log,
        })
        .unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        assert_eq!(archive.len(), 6);
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut archive
                .by_name("lantern-diagnostics/recent-log.txt")
                .unwrap(),
            &mut text,
        )
        .unwrap();
        assert_eq!(text, "one\ntwo\n");
        assert_eq!(
            bundle_file_name(1_764_329_194_000),
            "lantern-diagnostics-20251128T112634Z.zip"
        );
    }
}
