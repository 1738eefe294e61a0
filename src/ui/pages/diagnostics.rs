//! Settings › Compliance › System Diagnostics: one reading of the appliance and its host,
//! each figure with a line on what it is; the connected agents and ingest rates; the recent
//! server log; the diagnostics bundle and the dependency SBOM as downloads. A plain page: the
//! "Refresh" link takes a new reading (CPU usage and rates are measured between readings).

use maud::{Markup, html};

use crate::ops::diagnostics::{Diagnostics, Disk, MAX_BUNDLE_BYTES};
use crate::ui::components::{
    ButtonKind, card, code_block, download_button, empty_state, facts, human_bytes, human_count,
    human_duration, rel_time, table,
};
use crate::ui::layout::{PageCtx, page};

/// Where the page lives.
pub const PATH: &str = "/settings/compliance/diagnostics";
/// The bundle download.
pub const BUNDLE: &str = "/settings/compliance/diagnostics/bundle";
/// The dependency SBOM download.
pub const SBOM: &str = "/settings/compliance/diagnostics/sbom";
/// Log lines shown on the page (the bundle has all that are kept).
const LOG_ON_PAGE: usize = 200;

/// What the page shows.
#[derive(Debug)]
pub struct View<'a> {
    /// The reading.
    pub d: &'a Diagnostics,
    /// The recent log, oldest first.
    pub log: &'a [String],
    /// The reading's time, unix seconds (relative times count from it).
    pub now_secs: i64,
}

/// A figure with what it means under it.
fn figure(value: impl Into<String>, help: &str) -> Markup {
    html! {
        (value.into())
        p class="field-help" { (help) }
    }
}

fn unknown() -> String {
    "not known on this platform".to_string()
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return String::new();
    }
    // Display only: two significant digits.
    #[allow(clippy::cast_precision_loss)]
    let pct = part as f64 * 100.0 / whole as f64;
    format!(" ({pct:.0} %)")
}

fn disk_text(d: &Disk) -> String {
    let used = d.total_bytes.saturating_sub(d.available_bytes);
    format!(
        "{} free of {} ({} used{}) on {}, {}",
        human_bytes(d.available_bytes),
        human_bytes(d.total_bytes),
        human_bytes(used),
        share(used, d.total_bytes),
        d.mount_point,
        d.file_system
    )
}

fn rate(v: &View, key: &str) -> String {
    let r = v.d.ingest.per_second.get(key).copied().unwrap_or(0.0);
    if key == "bytes" {
        // Rounded to whole bytes for display.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let b = r.max(0.0).round() as u64;
        format!("{}/s", human_bytes(b))
    } else if r >= 10.0 {
        format!("{r:.0}/s")
    } else {
        format!("{r:.2}/s")
    }
}

fn overview(v: &View) -> Markup {
    let d = v.d;
    card(
        "Appliance",
        facts(&[
            (
                "Version",
                figure(d.version, "The Lantern version this binary was built as."),
            ),
            (
                "Up for",
                html! {
                    (human_duration(d.uptime_secs)) ", since " (rel_time(d.started_ms / 1000, v.now_secs))
                    p class="field-help" { "Time since this process started. Counters and rates below start from zero at every start." }
                },
            ),
            (
                "Reading taken",
                html! {
                    (rel_time(v.now_secs, v.now_secs)) " · " a href=(PATH) { "Refresh" }
                    p class="field-help" { "Every figure on this page is from this moment; Refresh takes a new reading." }
                },
            ),
        ]),
    )
}

fn host(v: &View) -> Markup {
    let h = &v.d.host;
    let cpu = match h.cpu_usage_percent {
        Some(p) => format!("{p:.0} % busy across {} CPUs", h.cpus),
        None => unknown(),
    };
    let load = match h.load_average {
        Some([one, five, fifteen]) => format!("{one:.2} · {five:.2} · {fifteen:.2}"),
        None => unknown(),
    };
    let memory = format!(
        "{} used of {}{}, {} available",
        human_bytes(h.memory_used_bytes),
        human_bytes(h.memory_total_bytes),
        share(h.memory_used_bytes, h.memory_total_bytes),
        human_bytes(h.memory_available_bytes)
    );
    let swap = if h.swap_total_bytes == 0 {
        "none configured".to_string()
    } else {
        format!(
            "{} used of {}",
            human_bytes(h.swap_used_bytes),
            human_bytes(h.swap_total_bytes)
        )
    };
    let system = [h.os.as_deref(), h.kernel.as_deref().map(|k| k.trim())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", kernel ");
    card(
        "Host",
        facts(&[
            (
                "Host name",
                figure(
                    h.host_name.clone().unwrap_or_else(unknown),
                    "The machine the appliance runs on.",
                ),
            ),
            (
                "System",
                figure(
                    if system.is_empty() { unknown() } else { system },
                    "Operating system and kernel.",
                ),
            ),
            (
                "CPU",
                figure(
                    cpu,
                    "Share of all CPUs in use since the previous reading (or since start).",
                ),
            ),
            (
                "Load average",
                figure(
                    load,
                    "Runnable tasks averaged over 1, 5 and 15 minutes; above the CPU count means work waits for a CPU.",
                ),
            ),
            (
                "Memory",
                figure(
                    memory,
                    "Physical memory of the host; available is what new work can use without swapping.",
                ),
            ),
            (
                "Swap",
                figure(
                    swap,
                    "Swap in use slows everything down; it should stay near zero.",
                ),
            ),
            (
                "Host up for",
                figure(
                    h.uptime_secs.map(human_duration).unwrap_or_else(unknown),
                    "Time since the host booted.",
                ),
            ),
        ]),
    )
}

fn process(v: &View) -> Markup {
    let p = &v.d.process;
    let bytes = |b: Option<u64>| b.map(human_bytes).unwrap_or_else(unknown);
    let fds = match (p.open_fds, p.fd_limit) {
        (Some(n), Some(limit)) => format!("{} of {}", human_count(n), human_count(limit)),
        (Some(n), None) => human_count(n),
        _ => unknown(),
    };
    card(
        "Lantern process",
        facts(&[
            (
                "Process id",
                figure(p.pid.to_string(), "The appliance's process on the host."),
            ),
            (
                "Resident memory",
                figure(
                    bytes(p.rss_bytes),
                    "Memory the process holds in RAM now (RSS), caches of the store included.",
                ),
            ),
            (
                "Address space",
                figure(
                    bytes(p.virtual_bytes),
                    "Virtual memory reserved; most of it is never used and costs nothing.",
                ),
            ),
            (
                "Threads",
                figure(
                    p.threads.map(human_count).unwrap_or_else(unknown),
                    "Worker, blocking and store threads.",
                ),
            ),
            (
                "Open files",
                figure(
                    fds,
                    "File descriptors in use (every agent, browser and API connection is one) against the limit; near the limit, new connections fail.",
                ),
            ),
        ]),
    )
}

fn disks(v: &View) -> Markup {
    let h = &v.d.host;
    let s = &v.d.store;
    card(
        "Store and disks",
        html! {
            (facts(&[
                ("Store file", figure(human_bytes(s.file_bytes), "The size of the database file (lantern.redb) in the data directory; it grows with snapshots, logs, metrics and audit events, and retention keeps it in check.")),
                ("Data disk", figure(h.data_disk.as_ref().map(disk_text).unwrap_or_else(unknown), "The file system that holds the data directory. When it fills up, writes fail: keep a good margin.")),
                ("Durable commits", figure(format!("{} commits of {} writes since start; largest {} writes in one commit", human_count(s.commits), human_count(s.committed_writes), human_count(s.largest_batch)), "Writes are grouped into durable commits (each one synced to disk).")),
                ("Mean commit time", figure(format!("{:.1} ms", s.mean_commit_micros as f64 / 1000.0), "How long a sync to disk takes on average; slow disks show here first.")),
                ("Failed writes", figure(human_count(s.failed_writes), "Writes refused or failed since start; the server log says why.")),
                ("Waiting writes", figure(human_count(s.queued), "Writes queued for the next commit right now.")),
            ]))
            @if h.disks.len() > 1 {
                details {
                    summary { "All mounted file systems (" (h.disks.len()) ")" }
                    (table("Mounted file systems", &["Mount point", "Type", "Size", "Free"], html! {
                        @for d in &h.disks {
                            tr {
                                th scope="row" { (d.mount_point) }
                                td { (d.file_system) }
                                td { (human_bytes(d.total_bytes)) }
                                td { (human_bytes(d.available_bytes)) }
                            }
                        }
                    }))
                }
            }
        },
    )
}

fn agents(v: &View) -> Markup {
    let a = &v.d.agents;
    let i = &v.d.ingest;
    let runtimes = if a.runtimes.is_empty() {
        "none".to_string()
    } else {
        a.runtimes
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows: [(&str, &str, u64, &str); 6] = [
        (
            "Messages",
            "messages",
            i.totals.messages,
            "Every message agents sent after connecting.",
        ),
        ("Bytes", "bytes", i.totals.bytes, "Their size as received."),
        (
            "Class-load batches",
            "class_load_frames",
            i.totals.class_load_frames,
            "Batches of loaded classes and modules taken into Runtime Reachability.",
        ),
        (
            "Snapshots",
            "snapshots",
            i.totals.snapshots,
            "Snapshots stored for their actions.",
        ),
        (
            "Log lines",
            "log_lines",
            i.totals.log_lines,
            "Lines of log actions stored.",
        ),
        (
            "Metric samples",
            "metrics",
            i.totals.metrics,
            "Samples of metric actions taken.",
        ),
    ];
    card(
        "Agents and ingest",
        html! {
            (facts(&[
                ("Connected agents", html! {
                    (human_count(u64::try_from(a.connected).unwrap_or(u64::MAX))) " in " (a.pools) " pools (" (runtimes) ")"
                    @if a.starting > 0 { ", " (a.starting) " still sending their start-up state" }
                    p class="field-help" { "Agents connected right now. " a href="/entities/agents" { "See them on the Agents page" } "." }
                }),
            ]))
            (table("What agents sent", &["What", "Since start", "Rate"], html! {
                @for (label, key, total, help) in rows {
                    tr {
                        th scope="row" { (label) p class="field-help" { (help) } }
                        td { @if key == "bytes" { (human_bytes(total)) } @else { (human_count(total)) } }
                        td { (rate(v, key)) }
                    }
                }
            }))
            p class="field-help" {
                "Rates are averaged over the last " (human_duration(i.window_secs as u64)) " between readings; a reading taken within a second of the start shows none."
            }
        },
    )
}

fn log(v: &View) -> Markup {
    let shown = v.log.len().min(LOG_ON_PAGE);
    let skip = v.log.len() - shown;
    let text = v
        .log
        .iter()
        .skip(skip)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    card(
        "Recent server log",
        html! {
            @if v.log.is_empty() {
                (empty_state(
                    "No log lines yet",
                    "The appliance keeps its latest log lines in memory from the moment it starts (what also goes to the journal). Lines appear here as it logs.",
                    None,
                ))
            } @else {
                p class="field-help" {
                    "The last " (shown) " of " (v.log.len()) " lines kept in memory (at most " (v.d.log.capacity) "), oldest first. "
                    "Secrets such as keys, tokens and passwords are replaced by [redacted] as lines are recorded. The bundle holds every kept line."
                }
                (code_block(&text, "Server log"))
            }
        },
    )
}

fn downloads(v: &View) -> Markup {
    card(
        "Downloads",
        facts(&[
            (
                "Diagnostics bundle",
                html! {
                    a href=(BUNDLE) download { "Download the diagnostics bundle" } " (.zip)"
                    p class="field-help" {
                        "A zip file for support: these figures, the server and Service Configuration settings, the recent log, the connected agents and the dependency SBOM. "
                        "Secrets (API keys, agent-pool keys, passwords, session ids, tokens) are removed. "
                        "It is made on the spot (at most " (human_bytes(MAX_BUNDLE_BYTES as u64)) ") and each download is recorded in Audit Events."
                    }
                },
            ),
            (
                "Dependency SBOM",
                html! {
                    a href=(SBOM) download { "Download the dependency SBOM" } " (" (v.d.sbom.format) ", " (v.d.sbom.components) " crates)"
                    p class="field-help" {
                        "The third-party Rust crates compiled into this appliance, with versions, package URLs and SHA-256 checksums, made when the binary was built. "
                        "For the libraries your applications load, see the Runtime SBOM under Runtime Reachability."
                    }
                },
            ),
        ]),
    )
}

/// The page.
pub fn diagnostics_page(ctx: &PageCtx, v: &View) -> Markup {
    let primary = download_button(ButtonKind::Primary, BUNDLE, "Download bundle");
    let body = html! {
        div class="grid-2" {
            (overview(v))
            (downloads(v))
            (host(v))
            (process(v))
        }
        (disks(v))
        (agents(v))
        (log(v))
    };
    page(
        ctx,
        "System Diagnostics",
        "Check the health of the appliance and its host, and download a bundle for support.",
        Some(primary),
        body,
    )
}
