//! The simulated agent fleet (QUALITY.md P1, P2, P3, P5 and R4's restart): a load generator
//! that speaks the real agent protocol (`agents/PROTOCOL.md`) to the real appliance binary,
//! and the same traffic to a bare tokio-tungstenite TLS echo server as the same-run baseline.
//!
//! What one run does, once against the appliance and once against the baseline (alternating
//! which goes first from run to run):
//!
//! 1. Starts the server on a free loopback port and samples it at rest.
//! 2. **Connect storm**: several client processes (this executable again, `--client`), each
//!    holding up to ~4,000 agents behind its own `127.0.0.x` source address, connect with
//!    jitter: TCP, TLS trusting the server's certificate, the upgrade with the pool key,
//!    `hello`, `hello_ack` (latency counted from `hello` sent to `hello_ack` read).
//! 3. **Idle** (P1): after a settle time, the server's RSS (`VmRSS` of `/proc/<pid>/status`)
//!    plus the kernel's TCP memory (`/proc/net/sockstat`, `TCP: ... mem` pages × 4096), minus
//!    the same at rest, divided by the agents connected. Sampled before the class-load storm,
//!    so that it is the cost of a connection; what the storm adds (class state, buffers kept
//!    after big frames) is printed after it as RSS growth per agent.
//! 4. **Class-load storm** (P2): every agent sends its start-up state as `class_loads` frames
//!    (`initial`, `seq` 1, 2, ...; ≤ 20,000 classes and < 1 MiB per frame). The names come
//!    from a fixed universe of library artifacts picked with a Zipf distribution, so most
//!    JVMs share the popular libraries' names, plus a few application classes of their own;
//!    each agent runs one of `--profiles` such draws. After its last frame each agent sends
//!    a message of a type no appliance knows (`fleet.sync`) and waits for the `error` reply:
//!    the appliance handles one connection's frames in order, so that reply proves every
//!    frame before it was ingested (or refused, which shows up as an earlier `error` or a
//!    close). The baseline echoes everything but `class_loads`, so the same wait works.
//!    P2 = class names sent ÷ server CPU-seconds (utime + stime of `/proc/<pid>/stat`)
//!    spent between the storm's start and the last reply.
//! 5. **Steady state** (P3, appliance only): the agents stay connected, answer pings and send
//!    `agent_stats` every minute. Every agent makes one `fleet.sync` round trip at a random
//!    moment of a `--page-secs` window (the agent's view of the appliance's latency), at rest.
//!    Then `--page-concurrency` keep-alive HTTPS connections, signed in through the portal's
//!    form as the Company Admin, load the Agents list, Runtime Reachability and Getting
//!    Started in turn for `--page-secs`: p50/p99 latency and pages per server CPU-second.
//!    Then the same page load again while every agent makes its round trip once more: the
//!    ratio of the two round-trip distributions is "agent ack latency unchanged ±20 %".
//!    The baseline of the pages is a hyper hello-world HTTPS server (this executable again,
//!    `--hello-server`) loaded the same way in the same run.
//! 6. **Action fan-out** (P5): `POST /api/v1/actions` creates a counter at a method of the
//!    one class every simulated JVM loaded, for the Default pool every agent is in. Each
//!    agent answers `action.set` as the Java agent does (`action.status` `installed` with
//!    `resolved`) and notes when the set arrived and when its status left; P5 is the time
//!    from the start of the POST to the status leaving the agent (same clock: one machine).
//!    `GET /api/v1/actions/{id}/status` must then count every agent `installed`.
//! 7. **Kill and restart**: SIGKILL, then the appliance starts again on the same data
//!    directory and port. Every agent reconnects with the back-off and jitter of PROTOCOL.md
//!    (the n-th attempt after a random wait in [0, min(60 s, 1 s × 2^n)]), sends `hello` and
//!    its full state again and must find the action in the `action.sync` after `hello_ack`;
//!    then the appliance must count every agent `installed` again. Printed: time from the kill
//!    until listening, until each `hello_ack`, until each agent's state was taken (the
//!    `fleet.sync` reply), and the new process's CPU-seconds for all of it. The action is
//!    deleted afterwards, so every run starts from the same store.
//! 8. **Disconnect**: every agent closes with 1000, then the server is stopped.
//!
//! Printed per run and as the median over `--runs`: KiB per agent and the ratio to the
//! baseline (P1: ≤ 32 KiB and ≤ 1.5×), events per server CPU-second and the ratio to the
//! baseline's raw frame rate (P2: ≥ 1,000,000 and ≥ 0.25×), CPU-seconds per phase, p50/p99
//! `hello_ack` latency, failures by reason; for the appliance also P3 (p50/p99 of pages,
//! pages per CPU-second and the ratio to hello-world, the round trip at rest and under page
//! load), P5 (p50/p99/max) and the restart's times and CPU-seconds. Then an in-process breakdown runs the same
//! frames through the appliance's own decode and registry code on one thread (`--breakdown`
//! alone runs only that), to say which step spends the CPU the end-to-end figure counts.
//!
//! ```sh
//! cargo build --release
//! cargo bench --bench fleet -- --smoke          # 500 agents, 2,000 classes, 1 run; fails on loss
//!                                               # (a missing hello_ack, frame, round trip,
//!                                               # install ack or re-sync), never on timing
//! cargo bench --bench fleet                     # 10,000 agents, 21,000 classes, 3 runs
//! cargo bench --bench fleet -- --agents 4000 --classes 5000 --runs 3
//! ```
//!
//! `LANTERN_BIN` names the appliance binary (default: the release build cargo made for this
//! bench); `--appliance-env KEY=VALUE` measures a variant of it (`TOKIO_WORKER_THREADS=1`);
//! `--frame-kib` makes the frames smaller than the protocol allows. Every wait has a
//! deadline and every loop a bound: a stuck phase stops the bench with an error that names
//! it (so does the machine running low on memory, `--min-free-mib`), and the servers and
//! client processes are killed on the way out.
// A benchmark is a measuring harness, not product code: a broken setup should stop it loudly.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::{Arc, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;
use lantern::agents::protocol::{
    AgentMessage, Artifact, ArtifactKind, ClassLoads, CoordinateSource, Coordinates, Hello, LIMITS,
    Load, Runtime,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::client::TlsStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

#[derive(Parser, Debug, Clone)]
#[command(
    about = "Simulated agent fleet against the real appliance (QUALITY.md P1, P2, P3, P5, restart)"
)]
struct Opts {
    /// Agents in the fleet.
    #[arg(long, default_value_t = 10_000)]
    agents: usize,
    /// Class names each agent sends in its start-up state (0: no class-load storm).
    #[arg(long, default_value_t = 21_000)]
    classes: usize,
    /// Client processes (default: one per 4,000 agents, at least 2).
    #[arg(long)]
    processes: Option<usize>,
    /// Runs; the figures printed last are their medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// 500 agents, 2,000 classes, 1 run; exits non-zero if any agent misses its hello_ack
    /// or any frame goes unprocessed.
    #[arg(long)]
    smoke: bool,
    /// Connect storm: agents start over this many milliseconds (default: 2 ms per agent,
    /// at least 2 s).
    #[arg(long)]
    connect_ms: Option<u64>,
    /// Distinct application profiles (Zipf draws of libraries) the agents are spread over.
    #[arg(long, default_value_t = 64)]
    profiles: usize,
    /// Agents of one client process sending their storm at the same time (bounds the
    /// frames in flight, hence the memory of both sides).
    #[arg(long, default_value_t = 16)]
    storm_concurrency: usize,
    /// Most KiB of class names per `class_loads` frame (at most 900: frames stay under the
    /// 1 MiB limit).
    #[arg(long, default_value_t = workload::DEFAULT_FRAME_KIB)]
    frame_kib: usize,
    /// An environment variable for the appliance only, e.g. `TOKIO_WORKER_THREADS=1` or
    /// `LANTERN_LOG_LEVEL=warn`, to measure a variant (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    appliance_env: Vec<String>,
    /// Stop (with an error) when the machine's available memory falls below this many MiB.
    #[arg(long, default_value_t = 2_048)]
    min_free_mib: u64,
    /// Seconds between the last hello_ack and the idle memory sample.
    #[arg(long)]
    settle_secs: Option<u64>,

    /// Seconds of each portal page load (P3) and of each window of agent round trips.
    #[arg(long)]
    page_secs: Option<u64>,
    /// Portal page requests in flight at once (one keep-alive connection each).
    #[arg(long, default_value_t = 4)]
    page_concurrency: usize,

    /// Only the in-process breakdown of the appliance's per-event CPU (no servers).
    #[arg(long)]
    breakdown: bool,

    /// Checks the harness itself: `seq-repeat` makes agent 0 send its first frame again,
    /// which the appliance must refuse and the run must report (non-zero exit).
    #[arg(long, hide = true)]
    fault: Option<String>,

    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    /// Role: one client process of the fleet.
    #[arg(long, hide = true)]
    client: bool,
    /// Role: the bare tokio-tungstenite TLS echo server (the baseline).
    #[arg(long, hide = true)]
    baseline_server: bool,
    /// Role: a hyper hello-world HTTPS server (the baseline of portal pages).
    #[arg(long, hide = true)]
    hello_server: bool,
    /// Client: the class the fan-out's action probes.
    #[arg(long, hide = true)]
    action_class: Option<String>,
    /// Client: the server to connect to.
    #[arg(long, hide = true)]
    target: Option<SocketAddr>,
    /// Client: the source address of every socket.
    #[arg(long, hide = true)]
    source: Option<Ipv4Addr>,
    /// Client: the certificate to trust; baseline server: where to write its own.
    #[arg(long, hide = true)]
    cert: Option<PathBuf>,
    /// Client: fleet-wide number of its first agent.
    #[arg(long, hide = true, default_value_t = 0)]
    first: usize,
    /// Client: how many agents it holds.
    #[arg(long, hide = true, default_value_t = 0)]
    count: usize,
    /// Client: the server is the baseline (an echo of `hello` counts as its ack).
    #[arg(long, hide = true)]
    baseline: bool,
    /// Client: tells this run's agent instances apart from the previous run's.
    #[arg(long, hide = true, default_value = "0")]
    nonce: String,
}

fn main() -> ExitCode {
    let opts = Opts::parse();
    if opts.client {
        return client::main(&opts);
    }
    if opts.baseline_server || opts.hello_server {
        return baseline::main(&opts);
    }
    if opts.breakdown {
        let classes = if opts.smoke {
            2_000
        } else {
            opts.classes.max(1)
        };
        breakdown::run(opts.profiles, classes, opts.frame_kib, opts.agents);
        return ExitCode::SUCCESS;
    }
    match orchestrate::main(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the agents send: a universe of library artifacts and Zipf-drawn application profiles
// ---------------------------------------------------------------------------------------------

#[path = "common/cpu.rs"]
mod cpu;
#[path = "common/workload.rs"]
mod workload;

/// Microseconds since the Unix epoch: the one clock the orchestrator and its client
/// processes share (all on one machine).
fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// TLS helpers shared by the roles
// ---------------------------------------------------------------------------------------------

fn tls_connector(cert_pem: &Path, alpn: Vec<Vec<u8>>) -> Result<TlsConnector, String> {
    let pem = std::fs::read(cert_pem).map_err(|e| format!("{}: {e}", cert_pem.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{}: {e}", cert_pem.display()))?;
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn;
    // Every simulated agent is its own JVM: a full handshake each, no shared ticket cache.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}

// ---------------------------------------------------------------------------------------------
// Role: one client process of the fleet
// ---------------------------------------------------------------------------------------------

mod client {
    use super::*;
    use std::collections::BTreeSet;

    type Ws = WebSocketStream<TlsStream<TcpStream>>;

    /// One step of opening a connection (TCP, TLS, upgrade, hello_ack) may take this long.
    const STEP_TIMEOUT: Duration = Duration::from_secs(30);
    /// One frame may take this long to leave.
    const SEND_TIMEOUT: Duration = Duration::from_secs(120);
    /// Frames an agent reads while it waits for something, at most (pings, mostly).
    const MAX_FRAMES_PER_WAIT: usize = 10_000;
    /// Things an idle agent handles between two commands, at most (frames, stats ticks).
    const MAX_IDLE_EVENTS: usize = 100_000;
    /// Commands a client process takes from the orchestrator, at most.
    const MAX_COMMANDS: usize = 16;
    /// The Java agent sends `agent_stats` every 60 s.
    const STATS_EVERY: Duration = Duration::from_secs(60);
    /// Actions an agent keeps track of, at most (PROTOCOL.md: 1,000 per agent).
    const MAX_ACTIONS: usize = 1_000;
    /// Reconnect back-off of PROTOCOL.md (and agents/java Backoff.java): the n-th attempt
    /// waits a random time in [0, min(60 s, 1 s × 2^n)].
    const BACKOFF_BASE_MS: u64 = 1_000;
    const BACKOFF_CAP_MS: u64 = 60_000;
    /// Reconnect attempts per agent, at most (with the cap above: over 15 minutes).
    const MAX_ATTEMPTS: u32 = 20;

    /// What every agent task of this process shares.
    struct Ctx {
        target: SocketAddr,
        source: Ipv4Addr,
        tls: TlsConnector,
        key: String,
        baseline: bool,
        connect_ms: u64,
        nonce: String,
        /// `--fault seq-repeat`: agent 0 sends its first frame again after the others.
        seq_repeat: bool,
        /// Per profile: its frames.
        frames: Vec<Vec<Utf8Bytes>>,
        /// Per profile: class names in its frames.
        classes: Vec<usize>,
        /// The class the fan-out's action probes, and per profile whether it loaded it.
        action_class: String,
        has_class: Vec<bool>,
        storm_slots: Arc<Semaphore>,
    }

    /// Commands from the orchestrator, numbered; every agent follows each in turn.
    #[derive(Clone, Debug)]
    enum Cmd {
        Idle,
        /// Send the start-up state, then `fleet.sync`, and wait for its reply.
        Storm {
            deadline: Instant,
        },
        /// One `fleet.sync` round trip at a random moment within the window.
        Probe {
            window_ms: u64,
            deadline: Instant,
        },
        /// Report when `action.set` for this action arrived (waiting for it until the deadline).
        Sets {
            id: String,
            deadline: Instant,
        },
        /// The appliance is about to be killed: wait for the connection to end, reconnect with
        /// back-off, send the state again, and check that `action.sync` lists this action.
        Reconnect {
            id: String,
            deadline: Instant,
        },
        Quit,
    }

    #[derive(Debug)]
    enum Report {
        Ready(Result<(u64, u64), String>),
        Storm(Result<StormDone, String>),
        Probe(Result<u64, String>),
        Sets(Result<(u64, u64), String>),
        Back(Result<Back, String>),
        Done(Result<Option<String>, String>),
    }

    #[derive(Debug)]
    struct StormDone {
        frames: usize,
        classes: usize,
        bytes: usize,
        sync_us: u64,
    }

    /// One agent back after the appliance's restart; times in µs since the Unix epoch.
    #[derive(Debug)]
    struct Back {
        lost_us: u64,
        acked_us: u64,
        back_us: u64,
        attempts: u32,
        classes: usize,
    }

    /// What one agent remembers of the live-debugging messages it got.
    struct St {
        /// `action.set` per action: when it arrived and when the status left (µs, epoch).
        sets: HashMap<String, (u64, u64)>,
        /// The actions listed by this connection's `action.sync` (None before the first).
        synced: Option<BTreeSet<String>>,
        /// The actions it runs.
        running: BTreeSet<String>,
        next_stats: tokio::time::Instant,
        started: Instant,
        rng: workload::Rng,
    }

    impl St {
        fn new(g: usize) -> St {
            let mut rng = workload::Rng(g as u64 ^ 0x57A7_5EED);
            let first = Duration::from_millis(rng.below(STATS_EVERY.as_millis() as u64));
            St {
                sets: HashMap::new(),
                synced: None,
                running: BTreeSet::new(),
                next_stats: tokio::time::Instant::now() + first,
                started: Instant::now(),
                rng,
            }
        }
    }

    pub fn main(opts: &Opts) -> ExitCode {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("fleet client: no runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        match runtime.block_on(run(opts)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!(
                    "fleet client {}: {e}",
                    opts.source.map(|s| s.to_string()).unwrap_or_default()
                );
                ExitCode::FAILURE
            }
        }
    }

    fn emit(v: &Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }

    async fn run(opts: &Opts) -> Result<(), String> {
        let target = opts.target.ok_or("--target missing")?;
        let source = opts.source.ok_or("--source missing")?;
        let cert = opts.cert.clone().ok_or("--cert missing")?;
        let key = std::env::var("FLEET_POOL_KEY").map_err(|_| "FLEET_POOL_KEY missing")?;
        let action_class = opts.action_class.clone().unwrap_or_default();
        let profiles = opts.profiles.clamp(1, opts.agents.max(1));
        let (mut frames, mut classes, mut has_class) = (Vec::new(), Vec::new(), Vec::new());
        for p in 0..profiles {
            if opts.classes == 0 {
                frames.push(Vec::new());
                classes.push(0);
                has_class.push(false);
            } else {
                let profile = workload::profile(p, opts.classes);
                has_class.push(workload::loads(&profile, &action_class));
                let (f, c) = workload::frames(p, &profile, opts.frame_kib);
                frames.push(f);
                classes.push(c);
            }
        }
        let ctx = Arc::new(Ctx {
            target,
            source,
            tls: tls_connector(&cert, vec![b"http/1.1".to_vec()])?,
            key,
            baseline: opts.baseline,
            connect_ms: opts.connect_ms.unwrap_or(2_000),
            nonce: opts.nonce.clone(),
            frames,
            classes,
            action_class,
            has_class,
            storm_slots: Arc::new(Semaphore::new(opts.storm_concurrency.max(1))),
            seq_repeat: opts.fault.as_deref() == Some("seq-repeat"),
        });

        // Commands arrive as lines on stdin; end of input (the orchestrator is gone) = quit.
        let (lines_tx, mut lines) = mpsc::channel::<String>(16);
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines().take(64) {
                let Ok(line) = line else { break };
                if lines_tx.blocking_send(line).is_err() {
                    return;
                }
            }
            let _ = lines_tx.blocking_send("quit".into());
        });

        let (cmd_tx, cmd_rx) = watch::channel((0u32, Cmd::Idle));
        let (report_tx, mut reports) = mpsc::unbounded_channel();
        for k in 0..opts.count {
            let g = opts.first + k;
            tokio::spawn(agent(
                Arc::clone(&ctx),
                g,
                g % profiles,
                cmd_rx.clone(),
                report_tx.clone(),
            ));
        }
        drop(report_tx);

        // Connect storm.
        let deadline = Instant::now()
            + Duration::from_millis(ctx.connect_ms)
            + STEP_TIMEOUT * 3
            + Duration::from_secs(10);
        let (mut ack_us, mut connect_us) = (Vec::new(), Vec::new());
        let failures = gather(&mut reports, opts.count, deadline, "connect", |r| match r {
            Report::Ready(r) => Some(r.map(|(ack, total)| {
                ack_us.push(ack);
                connect_us.push(total);
            })),
            _ => None,
        })
        .await;
        let ready = ack_us.len();
        emit(&json!({"phase": "ready", "ok": ready, "failures": failures,
                     "ack_us": ack_us, "connect_us": connect_us}));

        // Then whatever the orchestrator asks, in order.
        let mut seq = 0u32;
        for _ in 0..MAX_COMMANDS {
            let line = tokio::time::timeout(Duration::from_secs(6 * 3600), lines.recv())
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| "quit".into());
            let words: Vec<&str> = line.split_whitespace().collect();
            let secs =
                |at: usize| -> u64 { words.get(at).and_then(|s| s.parse().ok()).unwrap_or(600) };
            let word = |at: usize| words.get(at).map(|s| s.to_string()).unwrap_or_default();
            seq += 1;
            match words.first().copied() {
                Some("storm") => {
                    let deadline = Instant::now() + Duration::from_secs(secs(1));
                    let _ = cmd_tx.send((seq, Cmd::Storm { deadline }));
                    let (mut frames, mut classes, mut bytes, mut sync_us) = (0, 0, 0, Vec::new());
                    let failures = gather(
                        &mut reports,
                        ready,
                        deadline + Duration::from_secs(5),
                        "storm",
                        |r| match r {
                            Report::Storm(r) => Some(r.map(|s| {
                                frames += s.frames;
                                classes += s.classes;
                                bytes += s.bytes;
                                sync_us.push(s.sync_us);
                            })),
                            _ => None,
                        },
                    )
                    .await;
                    emit(
                        &json!({"phase": "storm", "ok": sync_us.len(), "failures": failures,
                                 "frames": frames, "classes": classes, "bytes": bytes,
                                 "sync_us": sync_us}),
                    );
                }
                Some("probe") => {
                    let window_ms = secs(1);
                    let deadline = Instant::now()
                        + Duration::from_millis(window_ms)
                        + Duration::from_secs(secs(2));
                    let _ = cmd_tx.send((
                        seq,
                        Cmd::Probe {
                            window_ms,
                            deadline,
                        },
                    ));
                    let mut rtt_us = Vec::new();
                    let failures = gather(
                        &mut reports,
                        ready,
                        deadline + Duration::from_secs(5),
                        "probe",
                        |r| match r {
                            Report::Probe(r) => Some(r.map(|us| rtt_us.push(us))),
                            _ => None,
                        },
                    )
                    .await;
                    emit(
                        &json!({"phase": "probe", "ok": rtt_us.len(), "failures": failures,
                                 "rtt_us": rtt_us}),
                    );
                }
                Some("sets") => {
                    let deadline = Instant::now() + Duration::from_secs(secs(1));
                    let id = word(2);
                    let _ = cmd_tx.send((seq, Cmd::Sets { id, deadline }));
                    let (mut received_us, mut sent_us) = (Vec::new(), Vec::new());
                    let failures = gather(
                        &mut reports,
                        ready,
                        deadline + Duration::from_secs(5),
                        "fan-out",
                        |r| match r {
                            Report::Sets(r) => Some(r.map(|(got, sent)| {
                                received_us.push(got);
                                sent_us.push(sent);
                            })),
                            _ => None,
                        },
                    )
                    .await;
                    emit(
                        &json!({"phase": "sets", "ok": sent_us.len(), "failures": failures,
                                 "received_us": received_us, "sent_us": sent_us}),
                    );
                }
                Some("reconnect") => {
                    let deadline = Instant::now() + Duration::from_secs(secs(1));
                    let id = word(2);
                    let _ = cmd_tx.send((seq, Cmd::Reconnect { id, deadline }));
                    // Every agent task sees the command before its next poll; the
                    // orchestrator kills the appliance only after this line.
                    tokio::task::yield_now().await;
                    emit(&json!({"phase": "armed"}));
                    let (mut lost, mut acked, mut back, mut attempts, mut classes) =
                        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0);
                    let failures = gather(
                        &mut reports,
                        ready,
                        deadline + Duration::from_secs(5),
                        "restart",
                        |r| match r {
                            Report::Back(r) => Some(r.map(|b| {
                                lost.push(b.lost_us);
                                acked.push(b.acked_us);
                                back.push(b.back_us);
                                attempts.push(b.attempts);
                                classes += b.classes;
                            })),
                            _ => None,
                        },
                    )
                    .await;
                    emit(
                        &json!({"phase": "back", "ok": back.len(), "failures": failures,
                                 "lost_us": lost, "acked_us": acked, "back_us": back,
                                 "attempts": attempts, "classes": classes}),
                    );
                }
                Some("quit") => {
                    let _ = cmd_tx.send((seq, Cmd::Quit));
                    let mut notes = BTreeMap::new();
                    let mut ok = 0usize;
                    let failures = gather(
                        &mut reports,
                        ready,
                        Instant::now() + Duration::from_secs(20),
                        "close",
                        |r| match r {
                            Report::Done(r) => Some(r.map(|note| {
                                ok += 1;
                                if let Some(note) = note {
                                    *notes.entry(note).or_insert(0usize) += 1;
                                }
                            })),
                            _ => None,
                        },
                    )
                    .await;
                    emit(&json!({"phase": "done", "ok": ok, "failures": failures, "notes": notes}));
                    return Ok(());
                }
                other => return Err(format!("unknown command {other:?}")),
            }
        }
        Err("too many commands".into())
    }

    /// Takes reports until `take` has counted `n` of them or `deadline` passed; `take`
    /// answers `None` for a report that does not belong to the phase (a late one of the
    /// previous phase), else the agent's outcome. Answers the failures by reason, the
    /// agents that did not answer in time among them.
    async fn gather(
        reports: &mut mpsc::UnboundedReceiver<Report>,
        n: usize,
        deadline: Instant,
        phase: &str,
        mut take: impl FnMut(Report) -> Option<Result<(), String>>,
    ) -> BTreeMap<String, usize> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let mut failures = BTreeMap::new();
        let mut counted = 0;
        for _ in 0..n.saturating_mul(3) {
            if counted == n {
                break;
            }
            match tokio::time::timeout_at(deadline, reports.recv()).await {
                Ok(Some(r)) => match take(r) {
                    Some(Ok(())) => counted += 1,
                    Some(Err(why)) => {
                        counted += 1;
                        *failures.entry(why).or_insert(0usize) += 1;
                    }
                    None => {}
                },
                Ok(None) | Err(_) => break,
            }
        }
        if counted < n {
            failures.insert(
                format!("{phase}: no answer within the deadline"),
                n - counted,
            );
        }
        failures
    }

    /// One simulated agent, from its jittered start to its close. It sends exactly one
    /// report per command once connected, so the process can count the missing ones.
    async fn agent(
        ctx: Arc<Ctx>,
        g: usize,
        profile: usize,
        mut cmds: watch::Receiver<(u32, Cmd)>,
        reports: mpsc::UnboundedSender<Report>,
    ) {
        let jitter = workload::Rng(g as u64 ^ 0x1177).below(ctx.connect_ms.max(1));
        tokio::time::sleep(Duration::from_millis(jitter)).await;
        let mut st = St::new(g);
        let mut ws = match open(&ctx, g, profile).await {
            Ok((ws, ack, total)) => {
                let _ = reports.send(Report::Ready(Ok((ack, total))));
                Some(ws)
            }
            Err(why) => {
                let _ = reports.send(Report::Ready(Err(why)));
                return;
            }
        };
        // A connection that broke is reported in each later phase, so that the process
        // counts one report per agent per phase.
        let mut broken: Option<String> = None;
        let mut seen = 0;
        for _ in 0..MAX_COMMANDS {
            let Some((seq, cmd)) = wait_cmd(
                &ctx,
                &mut st,
                &mut ws,
                &mut broken,
                &mut cmds,
                seen,
                g,
                profile,
            )
            .await
            else {
                return;
            };
            seen = seq;
            let live = match (&broken, ws.as_mut()) {
                (None, Some(w)) => Ok(w),
                (Some(why), _) => Err(why.clone()),
                (None, None) => Err("no connection".to_string()),
            };
            let report = match cmd {
                Cmd::Idle => continue,
                Cmd::Storm { deadline } => {
                    let r = match live {
                        Ok(w) => storm(&ctx, &mut st, w, g, profile, deadline).await,
                        Err(why) => Err(why),
                    };
                    if let Err(why) = &r {
                        broken.get_or_insert_with(|| why.clone());
                    }
                    Report::Storm(r)
                }
                Cmd::Probe {
                    window_ms,
                    deadline,
                } => {
                    let r = match live {
                        Ok(w) => probe(&ctx, &mut st, w, g, profile, window_ms, deadline).await,
                        Err(why) => Err(why),
                    };
                    if let Err(why) = &r {
                        broken.get_or_insert_with(|| why.clone());
                    }
                    Report::Probe(r)
                }
                Cmd::Sets { id, deadline } => {
                    let r = match live {
                        Ok(w) => wait_set(&ctx, &mut st, w, profile, &id, deadline).await,
                        Err(why) => Err(why),
                    };
                    Report::Sets(r)
                }
                Cmd::Reconnect { id, deadline } => {
                    let r = match broken.clone() {
                        Some(why) => Err(why),
                        None => reconnect(&ctx, &mut st, &mut ws, g, profile, &id, deadline).await,
                    };
                    if let Err(why) = &r {
                        broken.get_or_insert_with(|| why.clone());
                    }
                    Report::Back(r)
                }
                Cmd::Quit => {
                    // A connection that already failed was counted in the phase where it
                    // failed.
                    let done = match (broken, ws.as_mut()) {
                        (None, Some(w)) => close(w).await,
                        _ => Ok(Some(
                            "close: not attempted, the connection had failed".into(),
                        )),
                    };
                    let _ = reports.send(Report::Done(done));
                    return;
                }
            };
            let _ = reports.send(report);
        }
    }

    enum IdleEvent {
        Command(bool),
        Frame(Option<Result<Message, tungstenite::Error>>),
        Stats,
    }

    /// Waits for the next command, meanwhile reading the connection (answering pings, the
    /// appliance's messages) and sending `agent_stats` every minute as the Java agent does.
    #[allow(clippy::too_many_arguments)]
    async fn wait_cmd(
        ctx: &Ctx,
        st: &mut St,
        ws: &mut Option<Ws>,
        broken: &mut Option<String>,
        cmds: &mut watch::Receiver<(u32, Cmd)>,
        seen: u32,
        g: usize,
        profile: usize,
    ) -> Option<(u32, Cmd)> {
        for events in 0..=MAX_IDLE_EVENTS {
            {
                let current = cmds.borrow_and_update();
                if current.0 != seen {
                    return Some(current.clone());
                }
            }
            if events == MAX_IDLE_EVENTS {
                broken.get_or_insert_with(|| "too many frames while idle".into());
            }
            let event = match ws.as_mut() {
                // Biased: a command already given wins over a frame (the restart's lost
                // connection must be taken as part of the restart, not as a failure).
                Some(w) if broken.is_none() => tokio::select! {
                    biased;
                    changed = cmds.changed() => IdleEvent::Command(changed.is_ok()),
                    frame = w.next() => IdleEvent::Frame(frame),
                    _ = tokio::time::sleep_until(st.next_stats) => IdleEvent::Stats,
                },
                _ => IdleEvent::Command(cmds.changed().await.is_ok()),
            };
            match event {
                IdleEvent::Command(true) => {}
                IdleEvent::Command(false) => return None,
                IdleEvent::Frame(frame) => {
                    if let Some(w) = ws.as_mut()
                        && let Err(why) = idle_frame(ctx, st, w, profile, frame).await
                    {
                        *broken = Some(why);
                    }
                }
                IdleEvent::Stats => {
                    st.next_stats += STATS_EVERY;
                    if let Some(w) = ws.as_mut() {
                        let stats = json!({"type": "agent_stats",
                            "classes_seen": ctx.classes.get(profile).copied().unwrap_or(0),
                            "messages_dropped": 0,
                            "uptime_ms": st.started.elapsed().as_millis() as u64,
                            "agent": g});
                        if let Err(why) =
                            send(w, Message::Text(stats.to_string().into()), SEND_TIMEOUT).await
                        {
                            *broken = Some(why);
                        }
                    }
                }
            }
        }
        None
    }

    /// The status the Java agent answers an action with: `installed` where its class is
    /// loaded, `pending` until it is.
    fn status_message(ctx: &Ctx, profile: usize, action: &Value) -> String {
        let id = action["id"].as_str().unwrap_or_default();
        let class = action["location"]["class"].as_str();
        let loaded = class == Some(ctx.action_class.as_str())
            && ctx.has_class.get(profile).copied().unwrap_or(false);
        if loaded {
            json!({"type": "action.status", "id": id, "status": "installed",
                   "resolved": {"class": class, "method": action["location"]["method"]}})
        } else {
            json!({"type": "action.status", "id": id, "status": "pending",
                   "message": "no loaded class has the location yet"})
        }
        .to_string()
    }

    /// A text frame from the server. The live-debugging messages are answered here as the
    /// Java agent answers them (PROTOCOL.md); anything else is handed back to the caller.
    async fn on_text(
        ctx: &Ctx,
        st: &mut St,
        ws: &mut Ws,
        profile: usize,
        text: &str,
    ) -> Result<Option<String>, String> {
        if ctx.baseline {
            // The echo server sends back our own agent_stats.
            if serde_json::from_str::<Value>(text).is_ok_and(|v| v["type"] == "agent_stats") {
                return Ok(None);
            }
            return Ok(Some(text.to_string()));
        }
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Ok(Some(text.to_string()));
        };
        match v["type"].as_str() {
            Some("config.update") => Ok(None),
            Some("action.set") => {
                let received = now_us();
                let id = v["id"].as_str().ok_or("action.set without an id")?;
                let status = status_message(ctx, profile, &v);
                send(ws, Message::Text(status.into()), SEND_TIMEOUT).await?;
                if st.sets.len() < MAX_ACTIONS {
                    st.sets.insert(id.to_string(), (received, now_us()));
                }
                if st.running.len() < MAX_ACTIONS {
                    st.running.insert(id.to_string());
                }
                Ok(None)
            }
            Some("action.sync") => {
                let list = v["actions"]
                    .as_array()
                    .ok_or("action.sync without actions")?;
                let mut ids = BTreeSet::new();
                for action in list.iter().take(MAX_ACTIONS) {
                    let id = action["id"]
                        .as_str()
                        .ok_or("action.sync: an action without an id")?;
                    let status = status_message(ctx, profile, action);
                    send(ws, Message::Text(status.into()), SEND_TIMEOUT).await?;
                    ids.insert(id.to_string());
                }
                st.running = ids.clone();
                st.synced = Some(ids);
                Ok(None)
            }
            Some("action.remove") => {
                for id in v["ids"].as_array().into_iter().flatten() {
                    if let Some(id) = id.as_str() {
                        st.running.remove(id);
                    }
                }
                Ok(None)
            }
            _ => Ok(Some(text.to_string())),
        }
    }

    async fn open(ctx: &Ctx, g: usize, profile: usize) -> Result<(Ws, u64, u64), String> {
        let started = Instant::now();
        let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {:?}", e.kind()))?;
        let _ = socket.set_reuseaddr(true);
        socket
            .bind(SocketAddr::new(IpAddr::V4(ctx.source), 0))
            .map_err(|e| format!("bind {}: {:?}", ctx.source, e.kind()))?;
        let tcp = tokio::time::timeout(STEP_TIMEOUT, socket.connect(ctx.target))
            .await
            .map_err(|_| "connect: timeout".to_string())?
            .map_err(|e| format!("connect: {:?}", e.kind()))?;
        let _ = tcp.set_nodelay(true);
        let tls = tokio::time::timeout(
            STEP_TIMEOUT,
            ctx.tls
                .connect(ServerName::IpAddress(ctx.target.ip().into()), tcp),
        )
        .await
        .map_err(|_| "tls: timeout".to_string())?
        .map_err(|e| format!("tls: {e}"))?;
        let mut req = format!("wss://{}/agent/v1", ctx.target)
            .into_client_request()
            .map_err(|e| format!("request: {e}"))?;
        let auth = format!("Bearer {}", ctx.key)
            .parse()
            .map_err(|_| "the pool key is not a header value".to_string())?;
        req.headers_mut().insert("authorization", auth);
        let config = lantern::agents::gateway::websocket_config();
        let upgraded = tokio::time::timeout(
            STEP_TIMEOUT,
            tokio_tungstenite::client_async_with_config(req, tls, Some(config)),
        )
        .await
        .map_err(|_| "upgrade: timeout".to_string())?;
        let mut ws = match upgraded {
            Ok((ws, _)) => ws,
            Err(tungstenite::Error::Http(resp)) => {
                return Err(format!("upgrade: HTTP {}", resp.status().as_u16()));
            }
            Err(e) => return Err(format!("upgrade: {e}")),
        };
        let hello = workload::hello(g, profile, ctx.source, &ctx.nonce);
        send(&mut ws, Message::Text(hello.clone()), STEP_TIMEOUT).await?;
        let sent = Instant::now();
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        let text = next_text(&mut ws, deadline)
            .await
            .map_err(|e| format!("hello: {e}"))?;
        let acked = if ctx.baseline {
            text == hello.as_str()
        } else {
            text.starts_with("{\"type\":\"hello_ack\"")
        };
        if !acked {
            return Err(format!("hello: answered {}", clip(&text)));
        }
        let ack_us = sent.elapsed().as_micros() as u64;
        Ok((ws, ack_us, started.elapsed().as_micros() as u64))
    }

    /// Reads the connection (answering what `on_text` answers) until `until` completes.
    async fn serve_until<F: std::future::Future>(
        ctx: &Ctx,
        st: &mut St,
        ws: &mut Ws,
        profile: usize,
        until: F,
        deadline: tokio::time::Instant,
    ) -> Result<F::Output, String> {
        tokio::pin!(until);
        for _ in 0..MAX_FRAMES_PER_WAIT {
            let frame = tokio::select! {
                out = &mut until => return Ok(out),
                frame = ws.next() => frame,
                _ = tokio::time::sleep_until(deadline) => {
                    return Err("the deadline passed".into());
                }
            };
            idle_frame(ctx, st, ws, profile, frame).await?;
        }
        Err("too many frames while waiting".into())
    }

    /// Whether `text` is the server's answer to `fleet.sync`.
    fn is_sync_reply(ctx: &Ctx, text: &str, sync: &Utf8Bytes) -> bool {
        if ctx.baseline {
            text == sync.as_str()
        } else {
            let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            v["type"] == "error" && v["code"] == "unknown_type" && v["about"] == workload::SYNC_TYPE
        }
    }

    /// Sends this agent's start-up state, then `fleet.sync`, and waits for the answer that
    /// proves the server has handled every frame before it.
    async fn storm(
        ctx: &Ctx,
        st: &mut St,
        ws: &mut Ws,
        g: usize,
        profile: usize,
        deadline: Instant,
    ) -> Result<StormDone, String> {
        let deadline = tokio::time::Instant::from_std(deadline);
        // Wait for a sending slot, answering pings meanwhile: an agent that stops reading
        // for 90 s is closed by the appliance as idle.
        let slot = Arc::clone(&ctx.storm_slots).acquire_owned();
        let permit = serve_until(ctx, st, ws, profile, slot, deadline)
            .await
            .map_err(|e| format!("storm: {e} while waiting to send"))?
            .map_err(|_| "storm: slots closed".to_string())?;
        let frames = &ctx.frames[profile];
        // The harness's own check: agent 0 sending its first frame twice is a `seq` repeat
        // the appliance must refuse, and the run must then fail.
        let repeat = frames.iter().take(usize::from(ctx.seq_repeat && g == 0));
        let mut bytes = 0;
        for frame in frames.iter().chain(repeat) {
            bytes += frame.len();
            send_fragmented(ws, frame, SEND_TIMEOUT)
                .await
                .map_err(|e| format!("storm: {e}"))?;
        }
        let sync = workload::sync(g);
        send(ws, Message::Text(sync.clone()), SEND_TIMEOUT)
            .await
            .map_err(|e| format!("storm: {e}"))?;
        drop(permit);
        let sent = Instant::now();
        let text = next_reply(ctx, st, ws, profile, deadline)
            .await
            .map_err(|e| format!("storm: {e} while waiting for the sync reply"))?;
        if !is_sync_reply(ctx, &text, &sync) {
            return Err(format!("storm: the server answered {}", clip(&text)));
        }
        Ok(StormDone {
            frames: frames.len(),
            classes: ctx.classes[profile],
            bytes,
            sync_us: sent.elapsed().as_micros() as u64,
        })
    }

    /// One round trip of a message that gets a reply (`fleet.sync`, answered `error`), at a
    /// random moment within the window: the agent's view of the appliance's latency.
    async fn probe(
        ctx: &Ctx,
        st: &mut St,
        ws: &mut Ws,
        g: usize,
        profile: usize,
        window_ms: u64,
        deadline: Instant,
    ) -> Result<u64, String> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let at = tokio::time::Instant::now() + Duration::from_millis(st.rng.below(window_ms));
        serve_until(ctx, st, ws, profile, tokio::time::sleep_until(at), deadline)
            .await
            .map_err(|e| format!("probe: {e} before sending"))?;
        let sync = workload::sync(g);
        send(ws, Message::Text(sync.clone()), SEND_TIMEOUT)
            .await
            .map_err(|e| format!("probe: {e}"))?;
        let sent = Instant::now();
        let text = next_reply(ctx, st, ws, profile, deadline)
            .await
            .map_err(|e| format!("probe: {e} while waiting for the reply"))?;
        if !is_sync_reply(ctx, &text, &sync) {
            return Err(format!("probe: the server answered {}", clip(&text)));
        }
        Ok(sent.elapsed().as_micros() as u64)
    }

    /// When `action.set` for `id` arrived and its status left (waiting for it if need be).
    async fn wait_set(
        ctx: &Ctx,
        st: &mut St,
        ws: &mut Ws,
        profile: usize,
        id: &str,
        deadline: Instant,
    ) -> Result<(u64, u64), String> {
        let deadline = tokio::time::Instant::from_std(deadline);
        for _ in 0..MAX_FRAMES_PER_WAIT {
            if let Some(times) = st.sets.get(id) {
                return Ok(*times);
            }
            let frame = tokio::time::timeout_at(deadline, ws.next())
                .await
                .map_err(|_| "no action.set for the action before the deadline".to_string())?;
            idle_frame(ctx, st, ws, profile, frame)
                .await
                .map_err(|e| format!("waiting for action.set: {e}"))?;
        }
        Err("too many frames while waiting for action.set".into())
    }

    /// After the appliance was killed: the connection ends, the agent reconnects with the
    /// back-off and jitter of PROTOCOL.md, sends `hello` and its full state again, and must
    /// find the action in the `action.sync` that follows `hello_ack`.
    async fn reconnect(
        ctx: &Ctx,
        st: &mut St,
        ws: &mut Option<Ws>,
        g: usize,
        profile: usize,
        id: &str,
        deadline: Instant,
    ) -> Result<Back, String> {
        let until = tokio::time::Instant::from_std(deadline);
        if let Some(w) = ws.as_mut() {
            let mut ended = false;
            for _ in 0..MAX_FRAMES_PER_WAIT {
                let frame = tokio::time::timeout_at(until, w.next())
                    .await
                    .map_err(|_| "restart: the connection did not end before the deadline")?;
                match frame {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => ended = true,
                    Some(Ok(Message::Text(t))) => match on_text(ctx, st, w, profile, &t).await {
                        Ok(None) => {}
                        Ok(Some(t)) => {
                            return Err(format!("restart: unexpected frame {}", clip(&t)));
                        }
                        // The appliance went away while an answer was leaving.
                        Err(_) => ended = true,
                    },
                    Some(Ok(_)) => {}
                }
                if ended {
                    break;
                }
            }
            if !ended {
                return Err("restart: too many frames before the connection ended".into());
            }
        }
        let lost_us = now_us();
        *ws = None;
        st.synced = None;
        st.running.clear();
        // The connection had lasted (a minute, for the Java agent): the schedule starts over.
        let mut last = String::from("no attempt");
        let mut opened = None;
        for attempt in 0..MAX_ATTEMPTS {
            let ceiling = BACKOFF_CAP_MS.min(BACKOFF_BASE_MS << attempt.min(6));
            let wait = Duration::from_millis(st.rng.below(ceiling + 1));
            if Instant::now() + wait > deadline {
                break;
            }
            tokio::time::sleep(wait).await;
            match open(ctx, g, profile).await {
                Ok((w, _, _)) => {
                    opened = Some((w, attempt + 1));
                    break;
                }
                Err(why) => last = why,
            }
        }
        let Some((mut w, attempts)) = opened else {
            return Err(format!(
                "restart: not reconnected before the deadline (last attempt: {last})"
            ));
        };
        let acked_us = now_us();
        let state = storm(ctx, st, &mut w, g, profile, deadline)
            .await
            .map_err(|e| format!("restart: {e}"))?;
        let back_us = now_us();
        *ws = Some(w);
        match &st.synced {
            None => Err("restart: no action.sync after hello_ack".into()),
            Some(ids) if !ids.contains(id) => {
                Err("restart: the action.sync after hello_ack lacks the action".into())
            }
            Some(_) => Ok(Back {
                lost_us,
                acked_us,
                back_us,
                attempts,
                classes: state.classes,
            }),
        }
    }

    /// A frame that arrived while the agent had nothing to say: pings are fine (tungstenite
    /// queues the pong and sends it on the next poll), so are the live-debugging messages
    /// `on_text` answers; anything else is a failure.
    async fn idle_frame(
        ctx: &Ctx,
        st: &mut St,
        ws: &mut Ws,
        profile: usize,
        frame: Option<Result<Message, tungstenite::Error>>,
    ) -> Result<(), String> {
        match frame {
            None => Err("connection ended while idle".into()),
            Some(Err(e)) => Err(format!("read error while idle: {}", short_error(&e))),
            Some(Ok(Message::Close(f))) => Err(format!(
                "closed by the server while idle: {}",
                f.map(|f| format!("{} {}", u16::from(f.code), f.reason))
                    .unwrap_or_default()
            )),
            Some(Ok(Message::Text(t))) => match on_text(ctx, st, ws, profile, &t).await? {
                None => Ok(()),
                Some(t) => Err(format!("unexpected frame while idle: {}", clip(&t))),
            },
            Some(Ok(_)) => Ok(()),
        }
    }

    /// The next text frame `on_text` does not answer itself, before `deadline`.
    async fn next_reply(
        ctx: &Ctx,
        st: &mut St,
        ws: &mut Ws,
        profile: usize,
        deadline: tokio::time::Instant,
    ) -> Result<String, String> {
        for _ in 0..MAX_FRAMES_PER_WAIT {
            let text = next_text(ws, deadline).await?;
            if let Some(text) = on_text(ctx, st, ws, profile, &text).await? {
                return Ok(text);
            }
        }
        Err("too many frames without a reply".into())
    }

    /// The next text frame before `deadline`; pings and pongs are skipped.
    async fn next_text(ws: &mut Ws, deadline: tokio::time::Instant) -> Result<String, String> {
        for _ in 0..MAX_FRAMES_PER_WAIT {
            let frame = tokio::time::timeout_at(deadline, ws.next())
                .await
                .map_err(|_| "no answer before the deadline".to_string())?;
            match frame {
                None => return Err("connection ended".into()),
                Some(Err(e)) => return Err(format!("read error: {}", short_error(&e))),
                Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_string()),
                Some(Ok(Message::Close(f))) => {
                    return Err(format!(
                        "closed by the server: {}",
                        f.map(|f| format!("{} {}", u16::from(f.code), f.reason))
                            .unwrap_or_default()
                    ));
                }
                Some(Ok(_)) => continue,
            }
        }
        Err("too many frames without text".into())
    }

    /// Sends a text message in frames of at most `max_frame_bytes`, as PROTOCOL.md asks.
    async fn send_fragmented(ws: &mut Ws, text: &Utf8Bytes, limit: Duration) -> Result<(), String> {
        use tungstenite::protocol::frame::Frame;
        use tungstenite::protocol::frame::coding::{Data, OpCode};
        let step = LIMITS.max_frame_bytes as usize;
        if text.len() <= step {
            return send(ws, Message::Text(text.clone()), limit).await;
        }
        let bytes = Bytes::from(text.clone());
        let mut start = 0;
        while start < bytes.len() {
            let end = (start + step).min(bytes.len());
            let op = if start == 0 {
                Data::Text
            } else {
                Data::Continue
            };
            let frame = Frame::message(
                bytes.slice(start..end),
                OpCode::Data(op),
                end == bytes.len(),
            );
            send(ws, Message::Frame(frame), limit).await?;
            start = end;
        }
        Ok(())
    }

    async fn send(ws: &mut Ws, message: Message, limit: Duration) -> Result<(), String> {
        tokio::time::timeout(limit, ws.send(message))
            .await
            .map_err(|_| "send timed out".to_string())?
            .map_err(|e| format!("send failed: {}", short_error(&e)))
    }

    /// Closes with 1000 and waits briefly for the server's close. `Ok(Some(note))`: the
    /// connection ended without the close reply RFC 6455 asks for. Nothing is lost by that
    /// (the agent is leaving), so it is reported as a note, not a failure.
    async fn close(ws: &mut Ws) -> Result<Option<String>, String> {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "fleet done".into(),
        };
        send(ws, Message::Close(Some(frame)), Duration::from_secs(5)).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let dropped = "close: the server dropped the connection without a close reply";
        for _ in 0..MAX_FRAMES_PER_WAIT {
            match tokio::time::timeout_at(deadline, ws.next()).await {
                Err(_) => return Err("close: no close reply within 5 s".into()),
                Ok(Some(Ok(Message::Close(_)))) => return Ok(None),
                Ok(None) | Ok(Some(Err(tungstenite::Error::ConnectionClosed))) => {
                    return Ok(Some(dropped.into()));
                }
                Ok(Some(Err(tungstenite::Error::Io(e))))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    return Ok(Some(dropped.into()));
                }
                Ok(Some(Err(e))) => return Err(format!("close: {}", short_error(&e))),
                Ok(Some(Ok(_))) => continue,
            }
        }
        Err("close: too many frames".into())
    }

    /// An error as a short, countable reason (no addresses or byte offsets).
    fn short_error(e: &tungstenite::Error) -> String {
        match e {
            tungstenite::Error::Io(io) => format!("io {:?}", io.kind()),
            tungstenite::Error::Protocol(p) => format!("protocol {p}"),
            other => other.to_string(),
        }
    }

    fn clip(s: &str) -> String {
        s.chars().take(160).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Role: the baseline, a bare tokio-tungstenite TLS echo server with default settings
// ---------------------------------------------------------------------------------------------

mod baseline {
    use super::*;

    /// A connection that says nothing for this long is dropped (the fleet never idles
    /// that long; the bound keeps a forgotten connection from living forever).
    const IDLE_LIMIT: Duration = Duration::from_secs(3_600);
    const MAX_CONNECTIONS: usize = 1_000_000;

    pub fn main(opts: &Opts) -> ExitCode {
        match run(opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fleet baseline server: {e}");
                ExitCode::FAILURE
            }
        }
    }

    fn run(opts: &Opts) -> Result<(), String> {
        let dir = opts.cert.clone().ok_or("--cert (a directory) missing")?;
        // The same kind of certificate the appliance makes for itself (ECDSA P-256).
        let (cert_pem, key_pem) =
            lantern::tls::generate_self_signed("localhost", &[IpAddr::V4(Ipv4Addr::LOCALHOST)])
                .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("cert.pem"), &cert_pem).map_err(|e| e.to_string())?;
        let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| e.to_string())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| e.to_string())?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let hello = opts.hello_server;
        // The same runtime shape as the appliance's: multi-threaded, one worker per core.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .await
                .map_err(|e| e.to_string())?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            println!("listening {addr}");
            let _ = std::io::stdout().flush();
            // The orchestrator closes our stdin to stop us (and kills us if that fails).
            let (eof_tx, mut eof) = mpsc::channel::<()>(1);
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = std::io::stdin().take(1 << 16).read_to_end(&mut sink);
                let _ = eof_tx.blocking_send(());
            });
            for _ in 0..MAX_CONNECTIONS {
                let (tcp, _) = tokio::select! {
                    r = listener.accept() => match r {
                        Ok(pair) => pair,
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                    _ = eof.recv() => return Ok(()),
                };
                let _ = tcp.set_nodelay(true);
                if hello {
                    tokio::spawn(serve_hello(acceptor.clone(), tcp));
                } else {
                    tokio::spawn(serve(acceptor.clone(), tcp));
                }
            }
            Ok(())
        })
    }

    /// The baseline of portal pages: hyper's HTTP/1.1 server with keep-alive over the same
    /// TLS, answering every request with a fixed 13-byte body.
    async fn serve_hello(acceptor: TlsAcceptor, tcp: TcpStream) {
        let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
        else {
            return;
        };
        let service = hyper::service::service_fn(|_req| async {
            Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                Bytes::from_static(b"Hello, world!"),
            )))
        });
        let connection =
            hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service);
        let _ = tokio::time::timeout(IDLE_LIMIT, connection).await;
    }

    /// Echoes every text frame but `class_loads`, which it only reads: that is the least a
    /// server must do with a batch (TLS, websocket framing, UTF-8 check).
    async fn serve(acceptor: TlsAcceptor, tcp: TcpStream) {
        let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
        else {
            return;
        };
        let Ok(Ok(mut ws)) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::accept_async(tls),
        )
        .await
        else {
            return;
        };
        loop {
            let Ok(Some(Ok(message))) = tokio::time::timeout(IDLE_LIMIT, ws.next()).await else {
                return;
            };
            match message {
                Message::Text(t) if !t.as_str().starts_with("{\"type\":\"class_loads\"") => {
                    let Ok(()) = ws.send(Message::Text(t)).await else {
                        return;
                    };
                }
                Message::Close(_) => {
                    // tungstenite has queued the close reply; it leaves on a flush.
                    let _ = tokio::time::timeout(Duration::from_secs(2), ws.flush()).await;
                    return;
                }
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// In-process breakdown: where the appliance's per-event CPU goes
// ---------------------------------------------------------------------------------------------

/// The storm's frames through the appliance's own code, one step at a time, on this thread:
/// the fleet run says how much CPU an event costs the appliance end to end; this says which
/// step spends it. Variants of the decode step (a bare JSON scan, the struct without its
/// enum tag) show what the gateway's decode costs above the least it has to do.
mod breakdown {
    use super::*;
    use lantern::agents::protocol;
    use lantern::agents::registry::Registry;

    /// rustc's FxHasher (multiply and rotate), for the variant above; not DoS-resistant.
    #[derive(Default)]
    struct FxHasher(u64);
    impl std::hash::Hasher for FxHasher {
        fn write(&mut self, bytes: &[u8]) {
            for chunk in bytes.chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                    .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
            }
        }
        fn finish(&self) -> u64 {
            self.0
        }
    }

    use crate::cpu::thread_cpu_ns;

    /// Runs `pass` until it has used 0.3 CPU-s (at most 50 times); answers ns per event.
    fn per_event(events_per_pass: usize, mut pass: impl FnMut()) -> f64 {
        let start = thread_cpu_ns();
        let mut passes = 0u64;
        while passes < 50 && (passes == 0 || thread_cpu_ns() - start < 300_000_000) {
            pass();
            passes += 1;
        }
        (thread_cpu_ns() - start) as f64 / (passes as f64 * events_per_pass as f64)
    }

    /// Prints ns per class-load event for each step, over `profiles` profiles.
    pub fn run(profiles: usize, classes: usize, frame_kib: usize, fleet_agents: usize) {
        let profiles = profiles.clamp(1, 16);
        let mut frames: Vec<Vec<Utf8Bytes>> = Vec::new();
        let mut events = 0;
        for p in 0..profiles {
            let (f, n) = workload::frames(p, &workload::profile(p, classes), frame_kib);
            frames.push(f);
            events += n;
        }
        let all: Vec<&Utf8Bytes> = frames.iter().flatten().collect();
        let decoded: Vec<Vec<ClassLoads>> = frames
            .iter()
            .map(|fs| {
                fs.iter()
                    .map(|f| match protocol::decode(f.as_str()) {
                        Ok(AgentMessage::ClassLoads(c)) => c,
                        other => panic!("a generated frame does not decode: {other:?}"),
                    })
                    .collect()
            })
            .collect();
        let untagged: Vec<String> = decoded
            .iter()
            .flatten()
            .map(|c| serde_json::to_string(c).expect("serialises"))
            .collect();

        let scan = per_event(events, || {
            for f in &all {
                std::hint::black_box(
                    serde_json::from_str::<serde::de::IgnoredAny>(f.as_str()).is_ok(),
                );
            }
        });
        let direct = per_event(events, || {
            for f in &untagged {
                std::hint::black_box(serde_json::from_str::<ClassLoads>(f).is_ok());
            }
        });
        let decode = per_event(events, || {
            for f in &all {
                std::hint::black_box(protocol::decode(f.as_str()).is_ok());
            }
        });

        // Ingest: the first agent of each profile brings names the registry has not seen;
        // later agents of the same profile bring only known names, as in a real fleet.
        let hello: Hello =
            match protocol::decode(workload::hello(0, 0, Ipv4Addr::LOCALHOST, "b").as_str()) {
                Ok(AgentMessage::Hello(h)) => h,
                other => panic!("the generated hello does not decode: {other:?}"),
            };
        let registry = Registry::new();
        let mut channels = Vec::new();
        let mut session = 0u64;
        let mut ingest_pass = |registry: &Registry| {
            for batch in &decoded {
                session += 1;
                let (kick, kicked) = mpsc::channel(1);
                let (outbox, outgoing) = mpsc::channel(1);
                channels.push((kicked, outgoing));
                registry.register(workload::summary(session, &hello), kick, outbox);
                for frame in batch {
                    registry
                        .ingest(session, frame)
                        .expect("a generated frame is accepted");
                }
            }
        };
        let start = thread_cpu_ns();
        ingest_pass(&registry);
        let first = (thread_cpu_ns() - start) as f64 / events as f64;
        let start = thread_cpu_ns();
        let mut again = 0;
        for _ in 0..4 {
            ingest_pass(&registry);
            again += events;
        }
        let known = (thread_cpu_ns() - start) as f64 / again as f64;

        // The same ingest from two threads at once into one registry (the appliance runs
        // one tokio worker per core, and every frame takes the registry's write lock):
        // CPU of both threads per event, names already interned.
        let shared = Registry::new();
        let warm = {
            let mut n = 0u64;
            for batch in &decoded {
                n += 1;
                let (kick, _) = mpsc::channel(1);
                let (outbox, _) = mpsc::channel(1);
                shared.register(workload::summary(n, &hello), kick, outbox);
                for frame in batch {
                    let _ = shared.ingest(n, frame);
                }
            }
            n
        };
        let cpu_ns: Vec<u64> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2u64)
                .map(|t| {
                    let (shared, decoded, hello) = (&shared, &decoded, &hello);
                    scope.spawn(move || {
                        let start = thread_cpu_ns();
                        let mut keep = Vec::new();
                        for pass in 0..2u64 {
                            for (k, batch) in decoded.iter().enumerate() {
                                let session = warm + 1 + (t * 2 + pass) * 1_000 + k as u64;
                                let (kick, kicked) = mpsc::channel(1);
                                let (outbox, outgoing) = mpsc::channel(1);
                                keep.push((kicked, outgoing));
                                shared.register(workload::summary(session, hello), kick, outbox);
                                for frame in batch {
                                    let _ = shared.ingest(session, frame);
                                }
                            }
                        }
                        thread_cpu_ns() - start
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
        });
        let two_threads = cpu_ns.iter().sum::<u64>() as f64 / (4 * events) as f64;

        // Registering a connection at fleet size: `Registry::register` looks at every live
        // connection for an older one of the same instance.
        let crowd = Registry::new();
        let fleet = fleet_agents.max(1_000);
        let mut last_tenth = 0u64;
        for n in 0..fleet as u64 {
            let mut h = hello.clone();
            h.agent_id = format!("fleet-{n:05}");
            let (kick, _) = mpsc::channel(1);
            let (outbox, _) = mpsc::channel(1);
            let start = thread_cpu_ns();
            crowd.register(workload::summary(n + 1, &h), kick, outbox);
            if n >= fleet as u64 * 9 / 10 {
                last_tenth += thread_cpu_ns() - start;
            }
        }
        let register_us = last_tenth as f64 / 1_000.0 / (fleet - fleet * 9 / 10) as f64;

        // Replicas of the two per-name steps of `Registry::ingest` (registry.rs: the interner
        // `HashMap<Arc<str>, u32>` and the per-connection `seen: HashSet<(u32, u32)>`, both
        // with std's SipHash), to split its cost between them.
        let names: Vec<(u32, &str)> = decoded
            .iter()
            .flatten()
            .flat_map(|c| c.loads.iter())
            .flat_map(|l| l.classes.iter().map(move |n| (l.artifact, n.as_str())))
            .collect();
        let mut interner: HashMap<Arc<str>, u32> = HashMap::new();
        for (_, n) in &names {
            let next = interner.len() as u32;
            interner.entry(Arc::from(*n)).or_insert(next);
        }
        let lookup = per_event(events, || {
            for (_, n) in &names {
                std::hint::black_box(interner.get(*n));
            }
        });
        // The same table with a cheap multiplicative hash instead of SipHash: tells the
        // hashing from the memory traffic.
        let mut fx: HashMap<Arc<str>, u32, std::hash::BuildHasherDefault<FxHasher>> =
            HashMap::default();
        for (_, n) in &names {
            let next = fx.len() as u32;
            fx.entry(Arc::from(*n)).or_insert(next);
        }
        let lookup_fx = per_event(events, || {
            for (_, n) in &names {
                std::hint::black_box(fx.get(*n));
            }
        });
        let ids: Vec<Vec<(u32, u32)>> = decoded
            .iter()
            .map(|batch| {
                batch
                    .iter()
                    .flat_map(|c| c.loads.iter())
                    .flat_map(|l| {
                        l.classes
                            .iter()
                            .map(|n| (l.artifact, interner.get(n.as_str()).copied().unwrap_or(0)))
                    })
                    .collect()
            })
            .collect();
        let seen = per_event(events, || {
            for agent in &ids {
                let mut seen = std::collections::HashSet::new();
                for id in agent {
                    seen.insert(*id);
                }
                std::hint::black_box(seen.len());
            }
        });

        println!(
            "  in-process breakdown, one thread, ns per class-load event ({events} events over {profiles} profiles):"
        );
        println!("    JSON scan only (serde IgnoredAny)             {scan:8.0}");
        println!("    ClassLoads struct, no enum tag (serde_json)   {direct:8.0}");
        println!("    protocol::decode (what the gateway calls)      {decode:8.0}");
        println!("    Registry::ingest, names new to the registry    {first:8.0}");
        println!("    Registry::ingest, names already interned       {known:8.0}");
        println!("      of which: interner lookup, known name (replica) {lookup:8.0}");
        println!("        (the same lookup with an Fx-style hash:         {lookup_fx:8.0})");
        println!("      of which: seen-set insert, per agent (replica)  {seen:8.0}");
        println!(
            "    Registry::ingest, known names, 2 threads at once  {two_threads:8.0}  (CPU of both)"
        );
        println!(
            "  Registry::register with {} agents connected: {register_us:.1} us CPU each (last tenth)",
            fleet
        );
        println!(
            "    (registry now holds {} agents, {} distinct names)",
            registry.len(),
            registry.distinct_names()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Role: the orchestrator
// ---------------------------------------------------------------------------------------------

mod orchestrate {
    use super::*;

    /// The Company Admin the bench signs in as.
    const ADMIN_EMAIL: &str = "fleet@example.org";
    const ADMIN_PASSWORD: &str = "fleet simulator lamp 2026";
    /// The method the fan-out's action probes (the simulated agents resolve any).
    const ACTION_METHOD: &str = "handle";

    /// Agents one client process holds by default.
    const AGENTS_PER_PROCESS: usize = 4_000;
    /// File descriptors a process needs beyond its sockets (runtime, store, logs, pipes).
    const FD_MARGIN: usize = 256;

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Kind {
        Appliance,
        Baseline,
    }

    impl Kind {
        fn name(self) -> &'static str {
            match self {
                Kind::Appliance => "appliance",
                Kind::Baseline => "baseline",
            }
        }
    }

    /// A child process killed (and reaped) when dropped, whatever happened before.
    struct Proc {
        child: Child,
        name: String,
    }

    impl Proc {
        fn pid(&self) -> u32 {
            self.child.id()
        }
        fn exited(&mut self) -> Option<std::process::ExitStatus> {
            self.child.try_wait().ok().flatten()
        }
        /// SIGTERM, then SIGKILL if it is not gone within `grace`.
        fn stop(&mut self, grace: Duration) {
            if self.exited().is_some() {
                return;
            }
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid().to_string()])
                .status();
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if self.exited().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            eprintln!(
                "fleet: {} did not stop within {grace:?}; killing it",
                self.name
            );
        }
    }

    impl Proc {
        /// SIGKILL, and reaped.
        fn kill_now(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Drop for Proc {
        fn drop(&mut self) {
            if self.exited().is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }

    /// Runs `exe args` through `sh` so that the soft open-file limit is first raised to the
    /// hard one (no libc binding needed for setrlimit).
    fn with_raised_nofile(exe: &Path, args: &[String]) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec \"$0\" \"$@\"")
            .arg(exe)
            .args(args);
        cmd
    }

    fn hard_nofile() -> Option<usize> {
        let out = Command::new("sh")
            .args(["-c", "ulimit -Hn"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if text == "unlimited" {
            Some(usize::MAX)
        } else {
            text.parse().ok()
        }
    }

    fn clock_ticks() -> f64 {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    }

    /// One look at a server process.
    #[derive(Clone, Copy, Debug, Default)]
    struct Sample {
        rss_kib: u64,
        sock_kib: u64,
        cpu_ticks: u64,
    }

    impl Sample {
        fn mem_kib(&self) -> u64 {
            self.rss_kib + self.sock_kib
        }
    }

    fn cpu_ticks(pid: u32) -> Result<u64, String> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
        // Fields after the command name (which may hold spaces) start at state (field 3);
        // utime and stime are fields 14 and 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
        match (field(14), field(15)) {
            (Some(u), Some(s)) => Ok(u + s),
            _ => Err(format!("/proc/{pid}/stat: unexpected format")),
        }
    }

    fn sample(pid: u32) -> Result<Sample, String> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or("no VmRSS")?;
        let sockstat =
            std::fs::read_to_string("/proc/net/sockstat").map_err(|e| format!("sockstat: {e}"))?;
        let pages: u64 = sockstat
            .lines()
            .find(|l| l.starts_with("TCP:"))
            .and_then(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                let at = words.iter().position(|w| *w == "mem")?;
                words.get(at + 1)?.parse().ok()
            })
            .ok_or("no TCP mem in /proc/net/sockstat")?;
        Ok(Sample {
            rss_kib,
            sock_kib: pages * 4,
            cpu_ticks: cpu_ticks(pid)?,
        })
    }

    /// Median of three samples a second apart (memory), the last one's CPU.
    fn settled_sample(pid: u32) -> Result<Sample, String> {
        let mut samples = Vec::new();
        for _ in 0..3 {
            std::thread::sleep(Duration::from_secs(1));
            samples.push(sample(pid)?);
        }
        let mut mem: Vec<Sample> = samples.clone();
        mem.sort_by_key(|s| s.mem_kib());
        let mut mid = mem[1];
        mid.cpu_ticks = samples[2].cpu_ticks;
        Ok(mid)
    }

    fn mem_available_mib() -> Option<u64> {
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(kib / 1024)
    }

    fn free_port() -> Result<u16, String> {
        let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
        Ok(l.local_addr().map_err(|e| e.to_string())?.port())
    }

    fn log_tail(path: &Path) -> String {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// A server under test.
    struct Server {
        kind: Kind,
        proc: Proc,
        addr: SocketAddr,
        cert: PathBuf,
        log: PathBuf,
    }

    fn start_appliance(
        bin: &Path,
        data: &Path,
        log: &Path,
        env: &[String],
        port: Option<u16>,
    ) -> Result<Server, String> {
        let port = match port {
            Some(port) => port,
            None => free_port()?,
        };
        let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let args = vec![
            "serve".to_string(),
            "--data-dir".into(),
            data.display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
        ];
        let mut cmd = with_raised_nofile(bin, &args);
        for pair in env {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("--appliance-env {pair:?}: expected KEY=VALUE"))?;
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut proc = Proc {
            child,
            name: "the appliance".into(),
        };
        // `run` prints the banner once the listener is bound and the appliance is ready.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::fs::read_to_string(log)
                .unwrap_or_default()
                .contains("is listening on")
            {
                break;
            }
            if let Some(status) = proc.exited() {
                return Err(format!(
                    "the appliance exited ({status}):\n{}",
                    log_tail(log)
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the appliance did not start in 30 s:\n{}",
                    log_tail(log)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Server {
            kind: Kind::Appliance,
            proc,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            cert: data.join("tls/cert.pem"),
            log: log.to_path_buf(),
        })
    }

    /// The echo server (`role` `--baseline-server`) or the hello-world one (`--hello-server`).
    fn start_baseline(exe: &Path, dir: &Path, role: &str) -> Result<Server, String> {
        let log = dir.join(format!("{}.log", role.trim_start_matches('-')));
        let err = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let args = vec![role.to_string(), "--cert".into(), dir.display().to_string()];
        let mut child = with_raised_nofile(exe, &args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start the baseline server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let proc = Proc {
            child,
            name: "the baseline server".into(),
        };
        let (tx, rx) = std_mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).take(4096).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| format!("the baseline server did not start:\n{}", log_tail(&log)))?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("the baseline server said {line:?}:\n{}", log_tail(&log)))?;
        Ok(Server {
            kind: Kind::Baseline,
            proc,
            addr,
            cert: dir.join("cert.pem"),
            log,
        })
    }

    /// The client processes of one phase and the lines they print.
    struct Fleet {
        procs: Vec<Proc>,
        stdins: Vec<Option<ChildStdin>>,
        lines: std_mpsc::Receiver<(usize, String)>,
        /// Stop the phase when the machine's available memory falls below this (MiB).
        min_free_mib: u64,
    }

    struct Plan {
        exe: PathBuf,
        agents: usize,
        processes: usize,
        classes: usize,
        profiles: usize,
        connect_ms: u64,
        storm_concurrency: usize,
        frame_kib: usize,
        min_free_mib: u64,
        fault: Option<String>,
        settle: Duration,
        key: String,
        /// Events a storm carries, for its deadline.
        storm_events: usize,
        /// A Company Admin's API key (actions API).
        api_key: String,
        page_secs: u64,
        page_concurrency: usize,
        /// To restart the appliance: its binary, data directory, environment, log directory.
        bin: PathBuf,
        data: PathBuf,
        appliance_env: Vec<String>,
        logs: PathBuf,
    }

    impl Fleet {
        fn spawn(
            plan: &Plan,
            server: &Server,
            first_ip: usize,
            nonce: &str,
        ) -> Result<Fleet, String> {
            let (tx, lines) = std_mpsc::channel();
            let mut procs = Vec::new();
            let mut stdins = Vec::new();
            let per = plan.agents.div_ceil(plan.processes);
            for p in 0..plan.processes {
                let first = p * per;
                let count = per.min(plan.agents.saturating_sub(first));
                let octet = first_ip + p;
                if octet > 254 {
                    return Err(
                        "out of 127.0.0.x source addresses; use fewer runs or processes".into(),
                    );
                }
                let mut args = vec![
                    "--client".to_string(),
                    "--target".into(),
                    server.addr.to_string(),
                    "--source".into(),
                    format!("127.0.0.{octet}"),
                    "--cert".into(),
                    server.cert.display().to_string(),
                    "--first".into(),
                    first.to_string(),
                    "--count".into(),
                    count.to_string(),
                    "--agents".into(),
                    plan.agents.to_string(),
                    "--classes".into(),
                    plan.classes.to_string(),
                    "--profiles".into(),
                    plan.profiles.to_string(),
                    "--connect-ms".into(),
                    plan.connect_ms.to_string(),
                    "--storm-concurrency".into(),
                    plan.storm_concurrency.to_string(),
                    "--frame-kib".into(),
                    plan.frame_kib.to_string(),
                    "--nonce".into(),
                    nonce.to_string(),
                    "--action-class".into(),
                    workload::shared_class(),
                ];
                if let Some(fault) = &plan.fault {
                    args.push(format!("--fault={fault}"));
                }
                if server.kind == Kind::Baseline {
                    args.push("--baseline".into());
                }
                let mut child = with_raised_nofile(&plan.exe, &args)
                    .env("FLEET_POOL_KEY", &plan.key)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .map_err(|e| format!("cannot start a client process: {e}"))?;
                let stdout = child.stdout.take().ok_or("no stdout")?;
                stdins.push(child.stdin.take());
                procs.push(Proc {
                    child,
                    name: format!("client process {p}"),
                });
                let tx = tx.clone();
                std::thread::spawn(move || {
                    // A client prints one line per phase; the bound only stops a runaway.
                    for line in BufReader::new(stdout).lines().take(100) {
                        let Ok(line) = line else { break };
                        if tx.send((p, line)).is_err() {
                            break;
                        }
                    }
                });
            }
            Ok(Fleet {
                procs,
                stdins,
                lines,
                min_free_mib: plan.min_free_mib,
            })
        }

        fn command(&mut self, line: &str) {
            for stdin in self.stdins.iter_mut().flatten() {
                let _ = writeln!(stdin, "{line}");
                let _ = stdin.flush();
            }
        }

        /// One `phase` line from every client process before `deadline`.
        fn collect(&mut self, phase: &str, deadline: Instant) -> Result<Vec<Value>, String> {
            let mut got: Vec<Option<Value>> = vec![None; self.procs.len()];
            while got.iter().any(Option::is_none) {
                // Look at the machine's memory every second: a fleet too big for it stops
                // here with a reason instead of waking the OOM killer.
                let left = deadline.saturating_duration_since(Instant::now());
                if let Some(free) = mem_available_mib()
                    && free < self.min_free_mib
                {
                    return Err(format!(
                        "phase {phase}: stopped because the machine has only {free} MiB of memory available (--min-free-mib {})",
                        self.min_free_mib
                    ));
                }
                match self.lines.recv_timeout(left.min(Duration::from_secs(1))) {
                    Ok((p, line)) => match serde_json::from_str::<Value>(&line) {
                        Ok(v) if v["phase"] == phase => got[p] = Some(v),
                        _ => eprintln!("client {p}: {line}"),
                    },
                    Err(std_mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => continue,
                    Err(_) => {
                        let missing: Vec<usize> =
                            (0..got.len()).filter(|p| got[*p].is_none()).collect();
                        let mut why = format!(
                            "phase {phase}: client processes {missing:?} did not report in time"
                        );
                        for p in missing {
                            if let Some(status) = self.procs[p].exited() {
                                why.push_str(&format!("; client {p} exited ({status})"));
                            }
                        }
                        return Err(why);
                    }
                }
            }
            Ok(got.into_iter().flatten().collect())
        }

        fn cpu_ticks(&self) -> u64 {
            self.procs
                .iter()
                .filter_map(|p| cpu_ticks(p.pid()).ok())
                .sum()
        }

        fn finish(mut self) {
            self.stdins.clear();
            let deadline = Instant::now() + Duration::from_secs(10);
            for p in &mut self.procs {
                while p.exited().is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// What one phase against one server measured.
    #[derive(Debug, Default, Clone)]
    struct Measured {
        agents_ok: usize,
        failures: BTreeMap<String, usize>,
        /// Departures from the websocket RFC that lose nothing, by kind.
        notes: BTreeMap<String, usize>,
        kib_per_agent: f64,
        /// The RSS part of it (the rest is the kernel's TCP memory, counted machine-wide).
        rss_kib_per_agent: f64,
        ack_us: Vec<u64>,
        connect_us: Vec<u64>,
        /// CPU-seconds of the server per phase.
        cpu: Vec<(&'static str, f64)>,
        client_cpu_storm: f64,
        events: usize,
        frames: usize,
        bytes: usize,
        storm_cpu: f64,
        storm_wall: f64,
        rss_after_storm_kib: i64,
        rss_idle_kib: u64,
        /// Agents' `fleet.sync` round trips at rest and while portal pages load.
        probe_rest_us: Vec<u64>,
        probe_load_us: Vec<u64>,
        /// P3: pages alone, and pages while the agents' round trips run.
        pages: Option<PageLoad>,
        pages_under_probes: Option<PageLoad>,
        fanout: Option<FanOut>,
        restart: Option<Restart>,
    }

    impl Measured {
        fn events_per_cpu(&self) -> f64 {
            if self.storm_cpu > 0.0 {
                self.events as f64 / self.storm_cpu
            } else {
                f64::NAN
            }
        }
    }

    fn merge_failures(into: &mut BTreeMap<String, usize>, v: &Value, prefix: &str) {
        if let Some(map) = v["failures"].as_object() {
            for (why, n) in map {
                *into.entry(format!("{prefix}{why}")).or_insert(0) +=
                    n.as_u64().unwrap_or(0) as usize;
            }
        }
    }

    fn numbers(v: &Value, key: &str) -> Vec<u64> {
        v[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    }

    /// One server, one fleet: connect storm, idle sample, class-load storm, disconnect.
    fn phase(
        plan: &Plan,
        mut server: Server,
        first_ip: usize,
        nonce: &str,
        ticks: f64,
    ) -> Result<Measured, String> {
        let pid = server.proc.pid();
        let secs = |a: u64, b: u64| b.saturating_sub(a) as f64 / ticks;
        let rest = settled_sample(pid)?;
        let mut m = Measured::default();
        m.cpu.push(("start + rest", rest.cpu_ticks as f64 / ticks));

        let mut fleet = Fleet::spawn(plan, &server, first_ip, nonce)?;
        let ready_by =
            Instant::now() + Duration::from_millis(plan.connect_ms) + Duration::from_secs(150);
        let ready = fleet.collect("ready", ready_by)?;
        let connected = sample(pid)?;
        m.cpu
            .push(("connect storm", secs(rest.cpu_ticks, connected.cpu_ticks)));
        for v in &ready {
            m.agents_ok += v["ok"].as_u64().unwrap_or(0) as usize;
            merge_failures(&mut m.failures, v, "connect: ");
            m.ack_us.extend(numbers(v, "ack_us"));
            m.connect_us.extend(numbers(v, "connect_us"));
        }
        if m.agents_ok == 0 {
            return Err(format!(
                "no agent connected to the {}: {:?}\n{}",
                server.kind.name(),
                m.failures,
                log_tail(&server.log)
            ));
        }

        std::thread::sleep(plan.settle);
        let idle = settled_sample(pid)?;
        m.cpu.push((
            "idle (settle + sample)",
            secs(connected.cpu_ticks, idle.cpu_ticks),
        ));
        m.rss_idle_kib = idle.rss_kib;
        let grown = idle.mem_kib() as f64 - rest.mem_kib() as f64;
        m.kib_per_agent = grown / m.agents_ok as f64;
        m.rss_kib_per_agent = (idle.rss_kib as f64 - rest.rss_kib as f64) / m.agents_ok as f64;

        let mut before_quit = idle;
        if plan.classes > 0 {
            // Deadline: generous against a slow machine (100,000 events per wall second) but
            // finite, so a lost frame shows up as an error instead of a hang.
            let storm_secs = 120 + (plan.storm_events / 100_000) as u64;
            let clients_before = fleet.cpu_ticks();
            let t0 = Instant::now();
            fleet.command(&format!("storm {storm_secs}"));
            let stormed = fleet.collect(
                "storm",
                Instant::now() + Duration::from_secs(storm_secs + 30),
            )?;
            m.storm_wall = t0.elapsed().as_secs_f64();
            let after = sample(pid)?;
            m.client_cpu_storm = fleet.cpu_ticks().saturating_sub(clients_before) as f64 / ticks;
            m.storm_cpu = secs(idle.cpu_ticks, after.cpu_ticks);
            m.cpu.push(("class-load storm", m.storm_cpu));
            m.rss_after_storm_kib = after.rss_kib as i64 - idle.rss_kib as i64;
            for v in &stormed {
                merge_failures(&mut m.failures, v, "");
                m.events += v["classes"].as_u64().unwrap_or(0) as usize;
                m.frames += v["frames"].as_u64().unwrap_or(0) as usize;
                m.bytes += v["bytes"].as_u64().unwrap_or(0) as usize;
            }
            before_quit = after;
        }
        if server.kind == Kind::Appliance {
            live(plan, &mut server, &mut fleet, &mut m, nonce, ticks)?;
            before_quit = sample(server.proc.pid())?;
        }

        fleet.command("quit");
        let done = fleet.collect("done", Instant::now() + Duration::from_secs(40))?;
        for v in &done {
            merge_failures(&mut m.failures, v, "");
            if let Some(map) = v["notes"].as_object() {
                for (note, n) in map {
                    *m.notes.entry(note.clone()).or_insert(0) += n.as_u64().unwrap_or(0) as usize;
                }
            }
        }
        let after_quit = sample(server.proc.pid())?;
        m.cpu.push((
            "disconnect",
            secs(before_quit.cpu_ticks, after_quit.cpu_ticks),
        ));
        fleet.finish();
        server.proc.stop(Duration::from_secs(30));
        Ok(m)
    }

    // -----------------------------------------------------------------------------------------
    // Steady state (P3), action fan-out (P5), kill and restart: the appliance only
    // -----------------------------------------------------------------------------------------

    /// The portal pages P3 loads, signed in as the Company Admin: the Agents list, Runtime
    /// Reachability and Getting Started (the baseline answers the same paths).
    const PAGES: [&str; 3] = ["/entities/agents", "/reachability", "/getting-started"];
    /// Requests one page-load connection makes, at most (the time bound stops it first).
    const MAX_PAGE_REQUESTS: usize = 1_000_000;
    /// One HTTP request may take this long.
    const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

    type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

    /// A page load against one server: latencies of the 200 answers, what went wrong, and
    /// the server's CPU over it.
    #[derive(Debug, Default, Clone)]
    pub struct PageLoad {
        lat_us: Vec<u64>,
        /// The same latencies by path: which page costs what.
        by_page: BTreeMap<&'static str, Vec<u64>>,
        /// Body bytes received by path.
        bytes_by_page: BTreeMap<&'static str, u64>,
        failures: BTreeMap<String, usize>,
        cpu_s: f64,
        wall_s: f64,
    }

    impl PageLoad {
        fn per_cpu(&self) -> f64 {
            if self.cpu_s > 0.0 {
                self.lat_us.len() as f64 / self.cpu_s
            } else {
                f64::NAN
            }
        }
        fn p(&self, q: f64) -> f64 {
            let mut v = self.lat_us.clone();
            v.sort_unstable();
            percentile(&v, q) / 1000.0
        }
    }

    /// The fan-out of one action to the fleet, in ms after the POST started.
    #[derive(Debug, Default, Clone)]
    pub struct FanOut {
        post_ms: f64,
        received_ms: Vec<f64>,
        installed_ms: Vec<f64>,
        cpu_s: f64,
    }

    /// The kill and restart: ms after the SIGKILL.
    #[derive(Debug, Default, Clone)]
    pub struct Restart {
        listening_ms: f64,
        acked_ms: Vec<f64>,
        back_ms: Vec<f64>,
        attempts: Vec<u64>,
        classes: usize,
        cpu_s: f64,
    }

    fn spread(v: &[f64]) -> (f64, f64, f64) {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        if s.is_empty() {
            return (f64::NAN, f64::NAN, f64::NAN);
        }
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        (at(0.5), at(0.99), s[s.len() - 1])
    }

    async fn http_connect(addr: SocketAddr, tls: &TlsConnector) -> Result<Sender, String> {
        let tcp = tokio::time::timeout(HTTP_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| "connect: timeout".to_string())?
            .map_err(|e| format!("connect: {:?}", e.kind()))?;
        let _ = tcp.set_nodelay(true);
        let tls = tokio::time::timeout(
            HTTP_TIMEOUT,
            tls.connect(ServerName::IpAddress(addr.ip().into()), tcp),
        )
        .await
        .map_err(|_| "tls: timeout".to_string())?
        .map_err(|e| format!("tls: {e}"))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("http: {e}"))?;
        tokio::spawn(conn);
        Ok(send)
    }

    /// One request on a kept-alive connection: status, `Set-Cookie` values, body.
    async fn http_request(
        send: &mut Sender,
        req: hyper::Request<Full<Bytes>>,
    ) -> Result<(u16, Vec<String>, Bytes), String> {
        let exchange = async {
            send.ready().await.map_err(|e| format!("http: {e}"))?;
            let resp = send
                .send_request(req)
                .await
                .map_err(|e| format!("http: {e}"))?;
            let status = resp.status().as_u16();
            let cookies = resp
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_string)
                .collect();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("http body: {e}"))?
                .to_bytes();
            Ok((status, cookies, body))
        };
        tokio::time::timeout(HTTP_TIMEOUT, exchange)
            .await
            .map_err(|_| "http: timeout".to_string())?
    }

    /// One REST call with the bench's API key, on its own connection.
    async fn api(
        addr: SocketAddr,
        tls: &TlsConnector,
        key: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut send = http_connect(addr, tls).await?;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {key}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        let (status, _, body) = http_request(&mut send, req).await?;
        let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok((status, v))
    }

    fn form_encode(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }

    /// The value of the form's `csrf` field.
    fn csrf_of(page: &str) -> Option<String> {
        let at = page.find("name=\"csrf\"")?;
        let start = page[..at].rfind('<')?;
        let end = at + page[at..].find('>')?;
        let tag = &page[start..end];
        let v = tag.find("value=\"")? + 7;
        let rest = &tag[v..];
        Some(rest[..rest.find('"')?].to_string())
    }

    fn absorb(jar: &mut BTreeMap<String, String>, set_cookies: &[String]) {
        for set in set_cookies {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if set.contains("Max-Age=0") {
                    jar.remove(k.trim());
                } else {
                    jar.insert(k.trim().to_string(), v.to_string());
                }
            }
        }
    }

    /// Signs in through the portal's form, as a browser does; answers the `Cookie` header.
    async fn sign_in(addr: SocketAddr, tls: &TlsConnector) -> Result<String, String> {
        let mut send = http_connect(addr, tls).await?;
        let mut jar = BTreeMap::new();
        let req = hyper::Request::get("/sign-in")
            .header("host", addr.to_string())
            .body(Full::default())
            .map_err(|e| e.to_string())?;
        let (status, cookies, body) = http_request(&mut send, req).await?;
        absorb(&mut jar, &cookies);
        let page = String::from_utf8_lossy(&body);
        if status != 200 {
            return Err(format!("GET /sign-in answered {status}"));
        }
        let csrf = csrf_of(&page).ok_or("no csrf field on the sign-in page")?;
        let form = format!(
            "csrf={}&email={}&password={}",
            form_encode(&csrf),
            form_encode(ADMIN_EMAIL),
            form_encode(ADMIN_PASSWORD)
        );
        let cookie: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let req = hyper::Request::post("/sign-in")
            .header("host", addr.to_string())
            .header("origin", format!("https://{addr}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie.join("; "))
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| e.to_string())?;
        let (status, cookies, body) = http_request(&mut send, req).await?;
        absorb(&mut jar, &cookies);
        if status != 303 {
            return Err(format!(
                "POST /sign-in answered {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
        let cookie: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Ok(cookie.join("; "))
    }

    /// One page-load connection: GETs the pages in turn, keep-alive, until `until`.
    async fn page_worker(
        addr: SocketAddr,
        tls: TlsConnector,
        cookie: Option<String>,
        w: usize,
        until: Instant,
    ) -> (Vec<(&'static str, u64, usize)>, BTreeMap<String, usize>) {
        let (mut lat, mut failures) = (Vec::new(), BTreeMap::new());
        let mut conn: Option<Sender> = None;
        for i in 0..MAX_PAGE_REQUESTS {
            if Instant::now() >= until {
                break;
            }
            let send = match conn.as_mut() {
                Some(send) => send,
                None => match http_connect(addr, &tls).await {
                    Ok(send) => conn.insert(send),
                    Err(e) => {
                        *failures.entry(format!("connect: {e}")).or_insert(0) += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let path = PAGES[(w + i) % PAGES.len()];
            let mut req = hyper::Request::get(path).header("host", addr.to_string());
            if let Some(cookie) = &cookie {
                req = req.header("cookie", cookie.as_str());
            }
            let Ok(req) = req.body(Full::default()) else {
                break;
            };
            let started = Instant::now();
            match http_request(send, req).await {
                Ok((200, _, body)) => {
                    lat.push((path, started.elapsed().as_micros() as u64, body.len()));
                }
                Ok((status, _, _)) => {
                    *failures.entry(format!("GET {path}: {status}")).or_insert(0) += 1;
                }
                Err(e) => {
                    *failures.entry(format!("GET {path}: {e}")).or_insert(0) += 1;
                    conn = None;
                }
            }
        }
        (lat, failures)
    }

    /// `concurrency` connections loading the pages for `length`; the server's CPU over it.
    fn page_load(
        addr: SocketAddr,
        cert: &Path,
        cookie: Option<String>,
        concurrency: usize,
        length: Duration,
        pid: u32,
        ticks: f64,
    ) -> Result<PageLoad, String> {
        let tls = tls_connector(cert, vec![b"http/1.1".to_vec()])?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let cpu0 = cpu_ticks(pid)?;
        let started = Instant::now();
        let until = started + length;
        let parts = runtime.block_on(async {
            let workers: Vec<_> = (0..concurrency.max(1))
                .map(|w| tokio::spawn(page_worker(addr, tls.clone(), cookie.clone(), w, until)))
                .collect();
            let mut parts = Vec::new();
            for w in workers {
                parts.push(w.await);
            }
            parts
        });
        let mut load = PageLoad {
            cpu_s: cpu_ticks(pid)?.saturating_sub(cpu0) as f64 / ticks,
            wall_s: started.elapsed().as_secs_f64(),
            ..PageLoad::default()
        };
        for part in parts {
            let (lat, failures) = part.map_err(|e| format!("a page-load task failed: {e}"))?;
            for (path, us, bytes) in lat {
                load.lat_us.push(us);
                load.by_page.entry(path).or_default().push(us);
                *load.bytes_by_page.entry(path).or_default() += bytes as u64;
            }
            for (why, n) in failures {
                *load.failures.entry(why).or_insert(0) += n;
            }
        }
        Ok(load)
    }

    /// Polls the action's per-agent status until `want` agents have answered (the count by
    /// status at the end; at most `wait`).
    async fn statuses(
        addr: SocketAddr,
        tls: &TlsConnector,
        key: &str,
        id: &str,
        want: usize,
        wait: Duration,
    ) -> Result<BTreeMap<String, usize>, String> {
        let until = Instant::now() + wait;
        let path = format!("/api/v1/actions/{id}/status");
        for _ in 0..10_000 {
            let (status, v) = api(addr, tls, key, "GET", &path, None).await?;
            if status != 200 {
                return Err(format!("GET {path} answered {status}: {v}"));
            }
            let mut by = BTreeMap::new();
            for item in v["items"].as_array().into_iter().flatten() {
                let s = item["status"].as_str().unwrap_or("?").to_string();
                *by.entry(s).or_insert(0usize) += 1;
            }
            let answered: usize = by
                .iter()
                .filter(|(s, _)| *s != "sent")
                .map(|(_, n)| n)
                .sum();
            if answered >= want || Instant::now() >= until {
                return Ok(by);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(format!("GET {path}: too many polls"))
    }

    /// Checks the appliance's own count of the action: every connected agent answered, and
    /// `installed` where its class is loaded (every agent, when the fleet loads classes).
    fn check_counts(
        m: &mut Measured,
        when: &str,
        by: &BTreeMap<String, usize>,
        plan: &Plan,
        agents: usize,
    ) {
        let installed = by.get("installed").copied().unwrap_or(0);
        let want = if plan.classes > 0 { agents } else { 0 };
        if installed != want {
            m.failures.insert(
                format!(
                    "{when}: the appliance counts {installed} of {want} agents installed ({by:?})"
                ),
                1,
            );
        }
    }

    /// Steady state, fan-out, kill and restart, while the fleet is connected to the
    /// appliance. Failures that lose nothing of the protocol (a slow page) are measured;
    /// a broken exchange is recorded in `m.failures`.
    fn live(
        plan: &Plan,
        server: &mut Server,
        fleet: &mut Fleet,
        m: &mut Measured,
        nonce: &str,
        ticks: f64,
    ) -> Result<(), String> {
        let secs = |a: u64, b: u64| b.saturating_sub(a) as f64 / ticks;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let tls = tls_connector(&server.cert, vec![b"http/1.1".to_vec()])?;
        let (addr, pid, window) = (server.addr, server.proc.pid(), plan.page_secs);
        let probe_cmd = format!("probe {} 60", window * 1000);
        let probe_by = || Instant::now() + Duration::from_secs(window + 90);

        // Steady state: every agent's round trip at rest, then pages alone, then both.
        let t0 = cpu_ticks(pid)?;
        fleet.command(&probe_cmd);
        for v in fleet.collect("probe", probe_by())? {
            merge_failures(&mut m.failures, &v, "");
            m.probe_rest_us.extend(numbers(&v, "rtt_us"));
        }
        m.cpu
            .push(("round trips at rest", secs(t0, cpu_ticks(pid)?)));
        // The timer needs the runtime: the timeout is made inside it.
        let cookie = runtime
            .block_on(async { tokio::time::timeout(HTTP_TIMEOUT, sign_in(addr, &tls)).await })
            .map_err(|_| "sign-in timed out".to_string())??;
        let pages = page_load(
            addr,
            &server.cert,
            Some(cookie.clone()),
            plan.page_concurrency,
            Duration::from_secs(window),
            pid,
            ticks,
        )?;
        m.cpu.push(("portal pages", pages.cpu_s));
        for (why, n) in &pages.failures {
            m.failures.insert(format!("pages: {why}"), *n);
        }
        m.pages = Some(pages);
        let (cert, concurrency) = (server.cert.clone(), plan.page_concurrency);
        let loader = std::thread::spawn(move || {
            page_load(
                addr,
                &cert,
                Some(cookie),
                concurrency,
                Duration::from_secs(window + 1),
                pid,
                ticks,
            )
        });
        fleet.command(&probe_cmd);
        let probed = fleet.collect("probe", probe_by());
        let under = loader
            .join()
            .map_err(|_| "the page-load thread panicked".to_string())??;
        for v in probed? {
            merge_failures(&mut m.failures, &v, "");
            m.probe_load_us.extend(numbers(&v, "rtt_us"));
        }
        m.cpu.push(("pages + round trips", under.cpu_s));
        m.pages_under_probes = Some(under);

        // P5: one action for the pool every agent is in, at the class every agent loaded.
        let body = json!({"type": "counter",
            "location": {"class": workload::shared_class(), "method": ACTION_METHOD},
            "target": {"kind": "pool", "id": "default"}, "expires_in_s": 7200});
        let t0 = cpu_ticks(pid)?;
        let posted = now_us();
        let (status, v) = runtime.block_on(api(
            addr,
            &tls,
            &plan.api_key,
            "POST",
            "/api/v1/actions",
            Some(body),
        ))?;
        let answered = now_us();
        if status != 201 {
            return Err(format!("POST /api/v1/actions answered {status}: {v}"));
        }
        let id = v["id"]
            .as_str()
            .ok_or("no id in the new action")?
            .to_string();
        let fan_secs = 60 + plan.agents as u64 / 100;
        fleet.command(&format!("sets {fan_secs} {id}"));
        let sets = fleet.collect("sets", Instant::now() + Duration::from_secs(fan_secs + 30))?;
        let since_post = |us: u64| us.saturating_sub(posted) as f64 / 1000.0;
        let mut fan = FanOut {
            post_ms: since_post(answered),
            cpu_s: secs(t0, cpu_ticks(pid)?),
            ..FanOut::default()
        };
        for v in &sets {
            merge_failures(&mut m.failures, v, "");
            fan.received_ms
                .extend(numbers(v, "received_us").into_iter().map(since_post));
            fan.installed_ms
                .extend(numbers(v, "sent_us").into_iter().map(since_post));
        }
        m.cpu.push(("action fan-out", fan.cpu_s));
        m.fanout = Some(fan);
        let wait = Duration::from_secs(20);
        let by = runtime.block_on(statuses(addr, &tls, &plan.api_key, &id, m.agents_ok, wait))?;
        check_counts(m, "fan-out", &by, plan, m.agents_ok);

        // Kill and restart on the same data directory and port; the agents reconnect with
        // back-off and jitter and send their state again.
        let restart_secs = 180 + plan.agents as u64 / 20 + (plan.storm_events / 100_000) as u64;
        fleet.command(&format!("reconnect {restart_secs} {id}"));
        fleet.collect("armed", Instant::now() + Duration::from_secs(30))?;
        let killed = now_us();
        server.proc.kill_now();
        let started = Instant::now();
        let log = plan.logs.join(format!("appliance-{nonce}-restarted.log"));
        *server = start_appliance(
            &plan.bin,
            &plan.data,
            &log,
            &plan.appliance_env,
            Some(addr.port()),
        )?;
        let pid = server.proc.pid();
        let mut restart = Restart {
            listening_ms: started.elapsed().as_secs_f64() * 1000.0,
            ..Restart::default()
        };
        let since_kill = |us: u64| us.saturating_sub(killed) as f64 / 1000.0;
        let back = fleet.collect(
            "back",
            Instant::now() + Duration::from_secs(restart_secs + 30),
        )?;
        restart.cpu_s = cpu_ticks(pid)? as f64 / ticks;
        let mut back_ok = 0;
        for v in &back {
            merge_failures(&mut m.failures, v, "");
            back_ok += v["ok"].as_u64().unwrap_or(0) as usize;
            restart
                .acked_ms
                .extend(numbers(v, "acked_us").into_iter().map(since_kill));
            restart
                .back_ms
                .extend(numbers(v, "back_us").into_iter().map(since_kill));
            restart.attempts.extend(numbers(v, "attempts"));
            restart.classes += v["classes"].as_u64().unwrap_or(0) as usize;
        }
        m.cpu
            .push(("restart: new process until all back", restart.cpu_s));
        m.restart = Some(restart);
        let by = runtime.block_on(statuses(addr, &tls, &plan.api_key, &id, back_ok, wait))?;
        check_counts(m, "after the restart", &by, plan, back_ok);

        // The next run starts from the same store: it creates its own action.
        let (status, v) = runtime.block_on(api(
            addr,
            &tls,
            &plan.api_key,
            "DELETE",
            &format!("/api/v1/actions/{id}"),
            None,
        ))?;
        if !(200..300).contains(&status) {
            return Err(format!(
                "DELETE /api/v1/actions/{id} answered {status}: {v}"
            ));
        }
        Ok(())
    }

    /// The hyper hello-world baseline of P3: the same page load, no agents.
    fn hello_pages(plan: &Plan, dir: &Path, ticks: f64) -> Result<PageLoad, String> {
        let mut server = start_baseline(&plan.exe, dir, "--hello-server")?;
        let load = page_load(
            server.addr,
            &server.cert,
            None,
            plan.page_concurrency,
            Duration::from_secs(plan.page_secs),
            server.proc.pid(),
            ticks,
        );
        server.proc.stop(Duration::from_secs(10));
        load
    }

    fn percentile(sorted: &[u64], p: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let at = ((sorted.len() - 1) as f64 * p).round() as usize;
        sorted[at.min(sorted.len() - 1)] as f64
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.retain(|x| x.is_finite());
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }

    fn us_spread(v: &[u64]) -> (f64, f64) {
        let mut v = v.to_vec();
        v.sort_unstable();
        (percentile(&v, 0.5) / 1000.0, percentile(&v, 0.99) / 1000.0)
    }

    /// The steady state, fan-out and restart of one appliance run.
    fn print_live(m: &Measured) {
        if let Some(p) = &m.pages {
            println!(
                "    P3 portal pages ({}), signed in, {} agents connected: {} pages in {:.1} s, p50 {:.1} ms, p99 {:.1} ms; {:.2} server CPU-s -> {:.0} pages/CPU-s",
                PAGES.join(" "),
                m.agents_ok,
                p.lat_us.len(),
                p.wall_s,
                p.p(0.5),
                p.p(0.99),
                p.cpu_s,
                p.per_cpu()
            );
            for (path, lat) in &p.by_page {
                let (p50, p99) = us_spread(lat);
                let bytes = p.bytes_by_page.get(path).copied().unwrap_or(0);
                println!(
                    "      {path}: {} pages of {:.1} KiB on average, p50 {p50:.1} ms, p99 {p99:.1} ms",
                    lat.len(),
                    bytes as f64 / lat.len().max(1) as f64 / 1024.0
                );
            }
        }
        if let Some(p) = &m.pages_under_probes {
            println!(
                "      the same while every agent made a round trip: {} pages, p50 {:.1} ms, p99 {:.1} ms",
                p.lat_us.len(),
                p.p(0.5),
                p.p(0.99)
            );
        }
        if !m.probe_rest_us.is_empty() {
            let (r50, r99) = us_spread(&m.probe_rest_us);
            let (l50, l99) = us_spread(&m.probe_load_us);
            println!(
                "    agent round trip (fleet.sync -> error): at rest p50 {r50:.1} ms, p99 {r99:.1} ms ({} agents); under page load p50 {l50:.1} ms, p99 {l99:.1} ms ({} agents); ratio p50 {:.2}x, p99 {:.2}x",
                m.probe_rest_us.len(),
                m.probe_load_us.len(),
                l50 / r50,
                l99 / r99
            );
        }
        if let Some(f) = &m.fanout {
            let (r50, r99, rmax) = spread(&f.received_ms);
            let (i50, i99, imax) = spread(&f.installed_ms);
            println!(
                "    P5 fan-out: POST answered in {:.1} ms; action.set at the agent p50 {r50:.1} ms, p99 {r99:.1} ms, max {rmax:.1} ms; installed ack sent p50 {i50:.1} ms, p99 {i99:.1} ms, max {imax:.1} ms after the POST started ({} agents); {:.2} server CPU-s",
                f.post_ms,
                f.installed_ms.len(),
                f.cpu_s
            );
        }
        if let Some(r) = &m.restart {
            let (a50, a99, amax) = spread(&r.acked_ms);
            let (b50, b99, bmax) = spread(&r.back_ms);
            let attempts_max = r.attempts.iter().max().copied().unwrap_or(0);
            println!(
                "    restart: SIGKILL -> listening again in {:.0} ms; hello_ack p50 {a50:.0} ms, p99 {a99:.0} ms, max {amax:.0} ms after the kill; state re-sent and action.sync checked: {} agents, p50 {b50:.0} ms, p99 {b99:.0} ms, all back {:.1} s after the kill; attempts at most {attempts_max}; the new process used {:.2} CPU-s ({} class names re-sent, {:.1} ms CPU per agent)",
                r.listening_ms,
                r.back_ms.len(),
                bmax / 1000.0,
                r.cpu_s,
                r.classes,
                r.cpu_s * 1000.0 / r.back_ms.len().max(1) as f64
            );
        }
    }

    fn print_measured(kind: Kind, m: &Measured, agents: usize) {
        let mut ack = m.ack_us.clone();
        ack.sort_unstable();
        let mut conn = m.connect_us.clone();
        conn.sort_unstable();
        println!("  {}:", kind.name());
        println!(
            "    connected {}/{agents}; hello_ack p50 {:.1} ms, p99 {:.1} ms; connect+TLS+upgrade+hello p50 {:.1} ms, p99 {:.1} ms",
            m.agents_ok,
            percentile(&ack, 0.5) / 1000.0,
            percentile(&ack, 0.99) / 1000.0,
            percentile(&conn, 0.5) / 1000.0,
            percentile(&conn, 0.99) / 1000.0,
        );
        println!(
            "    P1 idle memory: {:.1} KiB per agent ({:.1} RSS + {:.1} kernel TCP; server RSS at idle {} MiB)",
            m.kib_per_agent,
            m.rss_kib_per_agent,
            m.kib_per_agent - m.rss_kib_per_agent,
            m.rss_idle_kib / 1024
        );
        if m.events > 0 {
            println!(
                "    P2 storm: {} class names in {} frames ({:.0} MiB) in {:.1} s wall, {:.2} server CPU-s -> {:.0} events/CPU-s ({:.0} frames/CPU-s, {:.0} MiB/CPU-s); clients used {:.2} CPU-s",
                m.events,
                m.frames,
                m.bytes as f64 / 1048576.0,
                m.storm_wall,
                m.storm_cpu,
                m.events_per_cpu(),
                m.frames as f64 / m.storm_cpu,
                m.bytes as f64 / 1048576.0 / m.storm_cpu,
                m.client_cpu_storm,
            );
            println!(
                "    server RSS grew by {:.0} MiB during the storm ({:.1} KiB per agent)",
                m.rss_after_storm_kib as f64 / 1024.0,
                m.rss_after_storm_kib as f64 / m.agents_ok.max(1) as f64
            );
        }
        print_live(m);
        let cpu: Vec<String> = m.cpu.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
        println!("    server CPU-s per phase: {}", cpu.join(", "));
        if !m.failures.is_empty() {
            println!("    FAILURES: {:?}", m.failures);
        }
        if !m.notes.is_empty() {
            println!("    notes: {:?}", m.notes);
        }
    }

    pub fn main(mut opts: Opts) -> Result<(), String> {
        if opts.smoke {
            opts.agents = 500;
            opts.classes = 2_000;
            opts.runs = 1;
        }
        if opts.agents == 0 || opts.runs == 0 {
            return Err("--agents and --runs must be at least 1".into());
        }
        let processes = opts
            .processes
            .unwrap_or_else(|| opts.agents.div_ceil(AGENTS_PER_PROCESS).max(2))
            .clamp(1, opts.agents);
        let per_process = opts.agents.div_ceil(processes);
        let hard = hard_nofile().ok_or("cannot read the open-file limit (sh -c 'ulimit -Hn')")?;
        if per_process + FD_MARGIN > hard {
            return Err(format!(
                "each client process would hold {per_process} sockets but the hard open-file limit is {hard}: use --processes {}",
                opts.agents.div_ceil(hard.saturating_sub(FD_MARGIN).max(1))
            ));
        }
        if opts.agents + FD_MARGIN > hard {
            return Err(format!(
                "the servers would hold {} sockets but the hard open-file limit is {hard}; raise it (ulimit -Hn) or use fewer --agents",
                opts.agents
            ));
        }
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let bin = std::env::var_os("LANTERN_BIN")
            .map(PathBuf::from)
            .or_else(|| option_env!("CARGO_BIN_EXE_lantern").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("target/x86_64-unknown-linux-gnu/release/lantern"));
        if !bin.is_file() {
            return Err(format!(
                "no appliance binary at {}: run `cargo build --release` or set LANTERN_BIN",
                bin.display()
            ));
        }
        let ticks = clock_ticks();
        let connect_ms = opts
            .connect_ms
            .unwrap_or((opts.agents as u64 * 2).max(2_000));
        let settle =
            Duration::from_secs(opts.settle_secs.unwrap_or(if opts.smoke { 2 } else { 5 }));
        let profiles = opts.profiles.clamp(1, opts.agents);

        let tmp = tempfile::Builder::new()
            .prefix("lantern-fleet-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let data = tmp.path().join("data");
        let baseline_dir = tmp.path().join("baseline");
        std::fs::create_dir_all(&baseline_dir).map_err(|e| e.to_string())?;

        println!(
            "fleet: {} agents in {processes} client processes, {} classes each over {profiles} profiles in frames of at most {} KiB of names, {} run(s)",
            opts.agents,
            opts.classes,
            opts.frame_kib.clamp(1, workload::DEFAULT_FRAME_KIB),
            opts.runs
        );
        println!(
            "fleet: appliance {}{}",
            bin.display(),
            if opts.appliance_env.is_empty() {
                String::new()
            } else {
                format!(" with {}", opts.appliance_env.join(" "))
            }
        );
        let (key, api_key) = setup(&bin, &data, &tmp.path().join("setup.log"))?;
        let storm_events = if opts.classes == 0 {
            0
        } else {
            opts.classes * opts.agents
        };
        let plan = Plan {
            exe,
            agents: opts.agents,
            processes,
            classes: opts.classes,
            profiles,
            connect_ms,
            storm_concurrency: opts.storm_concurrency,
            frame_kib: opts.frame_kib,
            min_free_mib: opts.min_free_mib,
            fault: opts.fault.clone(),
            settle,
            key,
            storm_events,
            api_key,
            page_secs: opts
                .page_secs
                .unwrap_or(if opts.smoke { 3 } else { 10 })
                .max(1),
            page_concurrency: opts.page_concurrency.max(1),
            bin: bin.clone(),
            data: data.clone(),
            appliance_env: opts.appliance_env.clone(),
            logs: tmp.path().to_path_buf(),
        };
        if opts.classes > 0 {
            let (names, bytes) = workload::distinct_names(profiles, opts.classes);
            println!(
                "fleet: the storm carries {storm_events} class names, {names} distinct ({:.1} MiB of names)",
                bytes as f64 / 1048576.0
            );
        }

        let mut results: Vec<(Measured, Measured)> = Vec::new();
        let mut hellos: Vec<PageLoad> = Vec::new();
        let mut next_ip = 2;
        for run in 0..opts.runs {
            println!("run {}/{}:", run + 1, opts.runs);
            let order = if run % 2 == 0 {
                [Kind::Appliance, Kind::Baseline]
            } else {
                [Kind::Baseline, Kind::Appliance]
            };
            let (mut app, mut base) = (None, None);
            for kind in order {
                let server = match kind {
                    Kind::Appliance => start_appliance(
                        &bin,
                        &data,
                        &tmp.path().join(format!("appliance-{run}.log")),
                        &opts.appliance_env,
                        None,
                    )?,
                    Kind::Baseline => {
                        start_baseline(&plan.exe, &baseline_dir, "--baseline-server")?
                    }
                };
                let log = server.log.clone();
                // Fresh source addresses for every phase: the previous phase's sockets may
                // still hold their ports in TIME_WAIT.
                let m = phase(&plan, server, next_ip, &format!("r{run}"), ticks).map_err(|e| {
                    format!(
                        "run {} against the {}: {e}\nserver log:\n{}",
                        run + 1,
                        kind.name(),
                        log_tail(&log)
                    )
                })?;
                next_ip += processes;
                print_measured(kind, &m, opts.agents);
                match kind {
                    Kind::Appliance => app = Some(m),
                    Kind::Baseline => base = Some(m),
                }
            }
            let hello = hello_pages(&plan, &baseline_dir, ticks)
                .map_err(|e| format!("run {}: the hello-world baseline: {e}", run + 1))?;
            println!(
                "  hello-world baseline (hyper, TLS, same {} connections): {} pages in {:.1} s, p50 {:.2} ms, p99 {:.2} ms; {:.2} server CPU-s -> {:.0} pages/CPU-s",
                plan.page_concurrency,
                hello.lat_us.len(),
                hello.wall_s,
                hello.p(0.5),
                hello.p(0.99),
                hello.cpu_s,
                hello.per_cpu()
            );
            if let (Some(a), Some(b)) = (app, base) {
                println!(
                    "  ratios: P1 {:.2}x baseline memory per agent; P2 {:.3}x baseline events per CPU-s; P3 {:.3}x hello-world pages per CPU-s",
                    a.kib_per_agent / b.kib_per_agent,
                    a.events_per_cpu() / b.events_per_cpu(),
                    a.pages.as_ref().map(PageLoad::per_cpu).unwrap_or(f64::NAN) / hello.per_cpu()
                );
                results.push((a, b));
                hellos.push(hello);
            }
        }

        let med =
            |f: &dyn Fn(&(Measured, Measured)) -> f64| median(results.iter().map(f).collect());
        let mut all_ack: Vec<u64> = results
            .iter()
            .flat_map(|(a, _)| a.ack_us.iter().copied())
            .collect();
        all_ack.sort_unstable();
        println!("summary (median of {} run(s)):", results.len());
        let p1 = med(&|(a, _)| a.kib_per_agent);
        let p1_base = med(&|(_, b)| b.kib_per_agent);
        let p1_ratio = med(&|(a, b)| a.kib_per_agent / b.kib_per_agent);
        println!(
            "  P1 idle memory per agent: appliance {p1:.1} KiB, baseline {p1_base:.1} KiB, ratio {p1_ratio:.2}x  (target <= 32 KiB and <= 1.5x) {}",
            verdict(p1 <= 32.0 && p1_ratio <= 1.5)
        );
        if opts.classes > 0 {
            let p2 = med(&|(a, _)| a.events_per_cpu());
            let p2_base = med(&|(_, b)| b.events_per_cpu());
            let p2_ratio = med(&|(a, b)| a.events_per_cpu() / b.events_per_cpu());
            println!(
                "  P2 class-load events per server CPU-s: appliance {p2:.0}, baseline {p2_base:.0}, ratio {p2_ratio:.3}x  (target >= 1,000,000 and >= 0.25x) {}",
                verdict(p2 >= 1_000_000.0 && p2_ratio >= 0.25)
            );
            println!(
                "  storm server CPU-s: appliance {:.2}, baseline {:.2}",
                med(&|(a, _)| a.storm_cpu),
                med(&|(_, b)| b.storm_cpu)
            );
        }
        if opts.classes > 0 {
            breakdown::run(profiles, opts.classes, opts.frame_kib, opts.agents);
        }
        println!(
            "  hello_ack latency over all runs (appliance): p50 {:.1} ms, p99 {:.1} ms",
            percentile(&all_ack, 0.5) / 1000.0,
            percentile(&all_ack, 0.99) / 1000.0
        );
        summarise_live(&results, &hellos);

        // What makes the run a failure: a broken protocol or a lost message, never timing.
        let mut broken = Vec::new();
        for (run, (a, b)) in results.iter().enumerate() {
            for (kind, m) in [(Kind::Appliance, a), (Kind::Baseline, b)] {
                if m.agents_ok != opts.agents {
                    broken.push(format!(
                        "run {}: {} of {} agents got no {} ack",
                        run + 1,
                        opts.agents - m.agents_ok,
                        opts.agents,
                        kind.name()
                    ));
                }
                if !m.failures.is_empty() {
                    broken.push(format!(
                        "run {}: {}: {:?}",
                        run + 1,
                        kind.name(),
                        m.failures
                    ));
                }
                if kind == Kind::Appliance {
                    let fanned = m.fanout.as_ref().map_or(0, |f| f.installed_ms.len());
                    let back = m.restart.as_ref().map_or(0, |r| r.back_ms.len());
                    for (what, got) in [
                        ("round trips at rest", m.probe_rest_us.len()),
                        ("round trips under page load", m.probe_load_us.len()),
                        ("install acks", fanned),
                        ("agents back after the restart", back),
                    ] {
                        if got != m.agents_ok {
                            broken.push(format!(
                                "run {}: {got} of {} {what}",
                                run + 1,
                                m.agents_ok
                            ));
                        }
                    }
                }
                if opts.classes > 0 && m.events != storm_events {
                    broken.push(format!(
                        "run {}: {} processed {} of {storm_events} class names",
                        run + 1,
                        kind.name(),
                        m.events
                    ));
                }
            }
        }
        if broken.is_empty() {
            println!(
                "fleet: OK (every agent acknowledged, every frame processed, every action installed, every agent back after the restart)"
            );
            Ok(())
        } else {
            Err(broken.join("\n"))
        }
    }

    /// P3, P5 and the restart over the runs (medians of the per-run figures).
    fn summarise_live(results: &[(Measured, Measured)], hellos: &[PageLoad]) {
        let app: Vec<&Measured> = results.iter().map(|(a, _)| a).collect();
        let med = |f: &dyn Fn(&Measured) -> Option<f64>| {
            median(app.iter().filter_map(|m| f(m)).collect())
        };
        let p50 = med(&|m| m.pages.as_ref().map(|p| p.p(0.5)));
        let p99 = med(&|m| m.pages.as_ref().map(|p| p.p(0.99)));
        let per_cpu = med(&|m| m.pages.as_ref().map(PageLoad::per_cpu));
        let hello = median(hellos.iter().map(PageLoad::per_cpu).collect());
        let ratio = median(
            app.iter()
                .zip(hellos)
                .filter_map(|(m, h)| Some(m.pages.as_ref()?.per_cpu() / h.per_cpu()))
                .collect(),
        );
        println!(
            "  P3 portal pages with the fleet connected: p50 {p50:.1} ms, p99 {p99:.1} ms; {per_cpu:.0} pages/CPU-s vs hello-world {hello:.0}, ratio {ratio:.3}x  (target p99 < 50 ms and >= 0.1x) {}",
            verdict(p99 < 50.0 && ratio >= 0.1)
        );
        let rest50 = med(&|m| Some(us_spread(&m.probe_rest_us).0));
        let rest99 = med(&|m| Some(us_spread(&m.probe_rest_us).1));
        let load50 = med(&|m| Some(us_spread(&m.probe_load_us).0));
        let load99 = med(&|m| Some(us_spread(&m.probe_load_us).1));
        let r50 = med(&|m| Some(us_spread(&m.probe_load_us).0 / us_spread(&m.probe_rest_us).0));
        let r99 = med(&|m| Some(us_spread(&m.probe_load_us).1 / us_spread(&m.probe_rest_us).1));
        println!(
            "  P3 agent round trip: at rest p50 {rest50:.1} ms, p99 {rest99:.1} ms; under page load p50 {load50:.1} ms, p99 {load99:.1} ms; ratio p50 {r50:.2}x, p99 {r99:.2}x  (target unchanged +-20 %) {}",
            verdict((0.8..=1.2).contains(&r50) && (0.8..=1.2).contains(&r99))
        );
        let f99 = med(&|m| m.fanout.as_ref().map(|f| spread(&f.installed_ms).1));
        let f50 = med(&|m| m.fanout.as_ref().map(|f| spread(&f.installed_ms).0));
        let fmax = med(&|m| m.fanout.as_ref().map(|f| spread(&f.installed_ms).2));
        let fcpu = med(&|m| m.fanout.as_ref().map(|f| f.cpu_s));
        println!(
            "  P5 action fan-out, POST start -> installed ack sent: p50 {f50:.1} ms, p99 {f99:.1} ms, max {fmax:.1} ms; {fcpu:.2} server CPU-s  (target p99 <= 1,000 ms) {}",
            verdict(f99 <= 1000.0)
        );
        let back = med(&|m| m.restart.as_ref().map(|r| spread(&r.back_ms).2 / 1000.0));
        let acked99 = med(&|m| m.restart.as_ref().map(|r| spread(&r.acked_ms).1));
        let listening = med(&|m| m.restart.as_ref().map(|r| r.listening_ms));
        let rcpu = med(&|m| m.restart.as_ref().map(|r| r.cpu_s));
        println!(
            "  restart: listening {listening:.0} ms after SIGKILL; hello_ack p99 {acked99:.0} ms after it; every agent back with its state and the action re-synced {back:.1} s after it; {rcpu:.2} CPU-s of the new process"
        );
    }

    fn verdict(ok: bool) -> &'static str {
        if ok { "MET" } else { "MISSED" }
    }

    /// Once per bench: a data directory with a Company Admin, an API key and the Default
    /// pool's agent key, made the way an operator would (CLI, then REST).
    fn setup(bin: &Path, data: &Path, log: &Path) -> Result<(String, String), String> {
        let mut server = start_appliance(bin, data, log, &[], None)?;
        let email = ADMIN_EMAIL;
        let data_arg = data.display().to_string();
        let mut admin = Command::new(bin)
            .args([
                "admin",
                "create",
                "--data-dir",
                &data_arg,
                "--email",
                email,
                "--name",
                "Fleet Admin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("lantern admin create: {e}"))?;
        if let Some(mut stdin) = admin.stdin.take() {
            writeln!(stdin, "{ADMIN_PASSWORD}").map_err(|e| e.to_string())?;
        }
        let out = wait_output(admin, "lantern admin create")?;
        if !out.status.success() {
            return Err(format!(
                "lantern admin create: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let key = Command::new(bin)
            .args([
                "api-key",
                "create",
                "--data-dir",
                &data_arg,
                "--email",
                email,
                "--label",
                "fleet bench",
                "--scope",
                "company-admin",
                "--days",
                "1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("lantern api-key create: {e}"))?;
        let out = wait_output(key, "lantern api-key create")?;
        if !out.status.success() {
            return Err(format!(
                "lantern api-key create: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let api_key = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let pool_key = runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(20),
                post_pool_key(server.addr, &server.cert, &api_key),
            )
            .await
        });
        server.proc.stop(Duration::from_secs(30));
        let pool_key = pool_key
            .map_err(|_| "POST /api/v1/agent-pools/default/keys timed out".to_string())??;
        Ok((pool_key, api_key))
    }

    /// Waits at most 60 s for a CLI command (argon2 hashing takes a moment).
    fn wait_output(child: Child, what: &str) -> Result<std::process::Output, String> {
        let (tx, rx) = std_mpsc::channel();
        let pid = child.id();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(out) => out.map_err(|e| format!("{what}: {e}")),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                Err(format!("{what} did not finish in 60 s"))
            }
        }
    }

    async fn post_pool_key(addr: SocketAddr, cert: &Path, api_key: &str) -> Result<String, String> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let tls = tls_connector(cert, vec![b"http/1.1".to_vec()])?
            .connect(ServerName::IpAddress(addr.ip().into()), tcp)
            .await
            .map_err(|e| format!("tls: {e}"))?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("http: {e}"))?;
        tokio::spawn(conn);
        let req = hyper::Request::post("/api/v1/agent-pools/default/keys")
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {api_key}"))
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = send
            .send_request(req)
            .await
            .map_err(|e| format!("http: {e}"))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("http body: {e}"))?
            .to_bytes();
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            return Err(format!(
                "POST /api/v1/agent-pools/default/keys answered {status}: {text}"
            ));
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("pool key answer: {e}"))?;
        v["key"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no key in {text}"))
    }
}
