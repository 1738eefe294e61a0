//! `lantern action ...`: live-debugging actions from a terminal, through the appliance's REST
//! API as the API key's user (so the same validation, permissions, scope and audit apply as in
//! the portal). This module turns the command line into the API's request bodies and its
//! answers into lines people read; [`crate::apiclient`] carries them.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::apiclient::{Answer, ApiClient};
use crate::cli::CliError;

/// How to reach the appliance's API, for every `lantern action` command.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// The appliance, e.g. https://10.0.0.5:8443; the configuration's own address when not given.
    #[arg(long, env = "LANTERN_URL", global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Accept the appliance's certificate by this public-key pin (`lantern tls pin` prints it;
    /// repeatable). On the appliance host the data directory's pins are used by default.
    #[arg(
        long = "pin",
        env = "LANTERN_PIN",
        global = true,
        value_name = "PIN",
        value_delimiter = ','
    )]
    pub pins: Vec<String>,
    /// Accept the appliance's certificate through these CAs (PEM), for sites that installed
    /// their own certificate.
    #[arg(long, env = "LANTERN_CA", global = true, value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,
    /// A file holding the API key (else the LANTERN_API_KEY environment variable; a key is
    /// never taken on the command line, where other users could see it).
    #[arg(long, global = true, value_name = "FILE")]
    pub api_key_file: Option<std::path::PathBuf>,
    /// Print the API's JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The fields of a new action every kind shares.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// FILE:LINE (OrderServlet.java:64, com/acme/OrderServlet.java:64) or CLASS#METHOD.
    #[arg(value_name = "LOCATION")]
    pub at: String,
    /// Which agents: agent:ID, tag:NAME, source:ID (a custom source) or pool:ID.
    #[arg(long, value_name = "TARGET")]
    pub target: String,
    /// Fire only where this holds, e.g. `order.total > 100 && user != null`.
    #[arg(long = "if", value_name = "CONDITION")]
    pub condition: Option<String>,
    /// Hits per agent before the action completes.
    #[arg(long, value_name = "N")]
    pub max_hits: Option<u64>,
    /// Lifetime: seconds or 30m, 2h, 7d (default 1 h).
    #[arg(long, value_name = "DURATION")]
    pub expires_in: Option<String>,
    /// Ignore rate quotas (only roles that may).
    #[arg(long)]
    pub ignore_quota: bool,
}

impl CommonArgs {
    fn common(&self) -> Common {
        Common {
            target: self.target.clone(),
            condition: self.condition.clone(),
            max_hits: self.max_hits,
            expires_in: self.expires_in.clone(),
            ignore_quota: self.ignore_quota,
        }
    }
}

/// `lantern action ...`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ActionCommand {
    /// Capture the stack and variables where a line runs, without stopping the application.
    Snapshot {
        #[command(flatten)]
        common: CommonArgs,
        /// An expression to capture besides the locals (repeatable).
        #[arg(long = "watch", value_name = "EXPR")]
        watches: Vec<String>,
    },
    /// Print a line where code runs: `--template "order {order.id} for {user.name}"`.
    Log {
        #[command(flatten)]
        common: CommonArgs,
        /// The line, with `{expr}` placeholders.
        #[arg(long, value_name = "TEMPLATE")]
        template: String,
        /// debug, info, warn or error.
        #[arg(long, value_name = "LEVEL")]
        level: Option<String>,
        /// Where the line goes: appliance, stdout (the application's) or both (repeatable).
        #[arg(long = "print", value_name = "WHERE", value_delimiter = ',')]
        outputs: Vec<String>,
    },
    /// Count how often a line runs.
    Counter {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Time from one line to a later one of the same method: LOCATION is the first.
    Tictoc {
        #[command(flatten)]
        common: CommonArgs,
        /// The second line (same file) or FILE:LINE.
        #[arg(long, value_name = "LINE")]
        end: String,
    },
    /// Time every call of a method: LOCATION is CLASS#METHOD.
    Duration {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Aggregate a number where a line runs.
    Metric {
        #[command(flatten)]
        common: CommonArgs,
        /// The number, e.g. `order.total`.
        #[arg(long, value_name = "EXPR")]
        value: String,
    },
    /// Actions in your scope, newest first.
    List {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One action: each agent's status with its reason, and its latest results.
    Show {
        /// The action's id.
        id: String,
        /// How many snapshots and log lines.
        #[arg(long, default_value_t = 10)]
        last: u32,
    },
    /// Delete an action with its results: agents remove its probes at once.
    Delete {
        /// The action's id.
        id: String,
    },
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Runs one `lantern action` command against `client`; answers what to print.
pub async fn run(
    client: &ApiClient,
    command: ActionCommand,
    json_out: bool,
) -> Result<String, CliError> {
    let create = |kind: &str, common: &CommonArgs, extra: Map<String, Value>| {
        request(kind, &common.at, &common.common(), extra)
    };
    let mut extra = Map::new();
    let body = match &command {
        ActionCommand::Snapshot { common, watches } => {
            if !watches.is_empty() {
                extra.insert("expressions".into(), json!(watches));
            }
            create("snapshot", common, extra)?
        }
        ActionCommand::Log {
            common,
            template,
            level,
            outputs,
        } => {
            extra.insert("template".into(), json!(template));
            if let Some(l) = level {
                extra.insert("level".into(), json!(l));
            }
            if !outputs.is_empty() {
                let mut expanded: Vec<&str> = Vec::new();
                for o in outputs {
                    match o.as_str() {
                        "both" => expanded.extend(["appliance", "stdout"]),
                        other => expanded.push(other),
                    }
                }
                extra.insert("outputs".into(), json!(expanded));
            }
            create("log", common, extra)?
        }
        ActionCommand::Counter { common } => create("counter", common, extra)?,
        ActionCommand::Duration { common } => create("duration", common, extra)?,
        ActionCommand::Tictoc { common, end } => {
            extra.insert("end".into(), end_location(&common.at, end)?);
            create("tictoc", common, extra)?
        }
        ActionCommand::Metric { common, value } => {
            extra.insert("value".into(), json!(value));
            create("metric", common, extra)?
        }
        ActionCommand::List { limit } => return list(client, *limit, json_out).await,
        ActionCommand::Show { id, last } => return show(client, id, *last, json_out).await,
        ActionCommand::Delete { id } => {
            let id = checked_id(id)?;
            let answer = call(client, "DELETE", &format!("/actions/{id}"), None).await?;
            return Ok(if json_out {
                pretty(&answer)
            } else {
                format!("deleted {id}; its agents remove the probes now")
            });
        }
    };
    let a = call(client, "POST", "/actions", Some(&body)).await?;
    Ok(if json_out {
        pretty(&a)
    } else {
        created_line(&a)
    })
}

async fn list(client: &ApiClient, limit: u32, json_out: bool) -> Result<String, CliError> {
    let path = format!("/actions?limit={}", limit.clamp(1, 1000));
    let list = call(client, "GET", &path, None).await?;
    Ok(if json_out {
        pretty(&list)
    } else {
        list_text(&list)
    })
}

async fn show(client: &ApiClient, id: &str, last: u32, json_out: bool) -> Result<String, CliError> {
    let id = checked_id(id)?;
    let a = call(client, "GET", &format!("/actions/{id}"), None).await?;
    let last = u64::from(last.clamp(1, 1000));
    let s = newest(client, id, "snapshots", last).await?;
    let l = newest(client, id, "logs", last).await?;
    let m = call(client, "GET", &format!("/actions/{id}/metrics"), None).await?;
    if json_out {
        return Ok(pretty(
            &json!({"action": a, "snapshots": s, "logs": l, "metrics": m}),
        ));
    }
    Ok(show_text(&a, &s, &l, &m))
}

/// The last `last` results of one kind (they are listed oldest first: the total, then the
/// last page).
async fn newest(client: &ApiClient, id: &str, what: &str, last: u64) -> Result<Value, CliError> {
    let probe = call(
        client,
        "GET",
        &format!("/actions/{id}/{what}?limit=1"),
        None,
    )
    .await?;
    let offset = at(&probe, "total")
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(last);
    let path = format!("/actions/{id}/{what}?offset={offset}&limit={last}");
    call(client, "GET", &path, None).await
}

/// Where an action goes, as typed: `OrderServlet.java:64` or `com.acme.OrderServlet#doGet`.
pub fn location(text: &str) -> Result<Value, CliError> {
    if let Some((class, method)) = text.split_once('#') {
        if class.is_empty() || method.is_empty() {
            return Err(usage_location(text));
        }
        return Ok(json!({"class": class, "method": method}));
    }
    match text.rsplit_once(':') {
        Some((file, line)) if !file.is_empty() => {
            let line: u32 = line.parse().map_err(|_| usage_location(text))?;
            Ok(json!({"file": file, "line": line}))
        }
        _ => Err(usage_location(text)),
    }
}

fn usage_location(text: &str) -> CliError {
    CliError::Usage(format!(
        "{text:?} is not a location; write FILE:LINE (OrderServlet.java:64, com/acme/OrderServlet.java:64) or CLASS#METHOD (com.acme.OrderServlet#doGet)"
    ))
}

/// Which agents, as typed: `agent:ID`, `tag:NAME`, `source:ID` (or `custom_source:ID`), `pool:ID`.
pub fn target(text: &str) -> Result<Value, CliError> {
    let (kind, id) = text.split_once(':').ok_or_else(|| usage_target(text))?;
    let kind = match kind {
        "agent" => "agent",
        "tag" => "tag",
        "source" | "custom_source" | "custom-source" => "custom_source",
        "pool" => "pool",
        _ => return Err(usage_target(text)),
    };
    if id.is_empty() {
        return Err(usage_target(text));
    }
    Ok(json!({"kind": kind, "id": id}))
}

fn usage_target(text: &str) -> CliError {
    CliError::Usage(format!(
        "{text:?} is not a target; write agent:ID, tag:NAME, source:ID or pool:ID"
    ))
}

/// A duration as typed: `90`, `90s`, `30m`, `2h`, `7d`; answers seconds.
pub fn duration_s(text: &str) -> Result<u64, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "{text:?} is not a duration; write seconds or a number with s, m, h or d (30m, 2h)"
        ))
    };
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (text.get(..i).ok_or_else(bad)?, c),
        _ => (text, 's'),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// The fields every kind may carry; the appliance decides which ones a kind accepts.
#[derive(Debug, Clone, Default)]
pub struct Common {
    /// `--target`.
    pub target: String,
    /// `--if`.
    pub condition: Option<String>,
    /// `--max-hits`.
    pub max_hits: Option<u64>,
    /// `--expires-in`.
    pub expires_in: Option<String>,
    /// `--ignore-quota`.
    pub ignore_quota: bool,
}

/// The body of `POST /api/v1/actions` for `kind` at `at`, with `extra` fields of that kind.
pub fn request(
    kind: &str,
    at: &str,
    common: &Common,
    extra: Map<String, Value>,
) -> Result<Value, CliError> {
    let mut body = Map::new();
    body.insert("type".into(), json!(kind));
    body.insert("location".into(), location(at)?);
    body.insert("target".into(), target(&common.target)?);
    if let Some(c) = &common.condition {
        body.insert("condition".into(), json!(c));
    }
    if let Some(n) = common.max_hits {
        body.insert("max_hits".into(), json!(n));
    }
    if let Some(e) = &common.expires_in {
        body.insert("expires_in_s".into(), json!(duration_s(e)?));
    }
    if common.ignore_quota {
        body.insert("ignore_quota".into(), json!(true));
    }
    body.extend(extra);
    Ok(Value::Object(body))
}

/// The second line of a tic-toc: `LINE` in the same file, or a whole `FILE:LINE`.
pub fn end_location(at: &str, end: &str) -> Result<Value, CliError> {
    if let Ok(line) = end.parse::<u32>() {
        let start = location(at)?;
        let file = start.get("file").and_then(Value::as_str).ok_or_else(|| {
            CliError::Usage("a tic-toc starts at FILE:LINE, not at a method".into())
        })?;
        return Ok(json!({"file": file, "line": line}));
    }
    location(end)
}

/// What a call's answer means for the command: the body on success, the API's own error
/// sentence (with its per-field problems) otherwise.
pub fn expect_ok(answer: Answer) -> Result<Value, CliError> {
    if (200..300).contains(&answer.status) {
        Ok(answer.body)
    } else {
        Err(CliError::Failed(answer.error_text()))
    }
}

/// Runs one call.
pub async fn call(
    client: &ApiClient,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, CliError> {
    let answer = client
        .call(method, path, body)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    expect_ok(answer)
}

/// A member of a JSON object, `Null` when absent (the API's answers are read leniently: a
/// missing field prints as empty, it does not stop the command).
fn at<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// `Shop.java:42`, `com.acme.Shop#pay`.
pub fn location_text(l: &Value) -> String {
    match (at(l, "file").as_str(), at(l, "class").as_str()) {
        (Some(f), _) => format!("{f}:{}", at(l, "line")),
        (None, Some(c)) => format!("{c}#{}", text(l, "method")),
        _ => l.to_string(),
    }
}

fn target_text(t: &Value) -> String {
    format!("{}:{}", text(t, "kind"), text(t, "id"))
}

/// The line printed after a create.
pub fn created_line(a: &Value) -> String {
    format!(
        "created {} ({} at {} for {}), expires {}\n  see it with: lantern action show {}",
        text(a, "id"),
        text(a, "type"),
        location_text(at(a, "location")),
        target_text(at(a, "target")),
        text(a, "expires_at"),
        text(a, "id"),
    )
}

/// `lantern action list`: one line per action.
pub fn list_text(list: &Value) -> String {
    let items = at(list, "items")
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if items.is_empty() {
        return "no actions in your scope; create one with `lantern action snapshot FILE:LINE --target ...`".into();
    }
    let mut out = format!(
        "{:<18} {:<9} {:<8} {:<40} {:<24} {}\n",
        "ID", "TYPE", "STATE", "LOCATION", "TARGET", "AUTHOR"
    );
    for a in items {
        let _ = writeln!(
            out,
            "{:<18} {:<9} {:<8} {:<40} {:<24} {}",
            text(a, "id"),
            text(a, "type"),
            text(a, "state"),
            location_text(at(a, "location")),
            target_text(at(a, "target")),
            text(a, "author"),
        );
    }
    let total = at(list, "total").as_u64().unwrap_or(0);
    if total > items.len() as u64 {
        let _ = writeln!(out, "({} of {total} shown; use --limit)", items.len());
    }
    out.trim_end().to_string()
}

/// `lantern action show`: the action, each agent's status with its reason, and its latest
/// results (snapshots summarised, log lines as they are, metric aggregates).
pub fn show_text(a: &Value, snapshots: &Value, logs: &Value, metrics: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", text(a, "type"), text(a, "id"));
    let mut row = |k: &str, v: String| {
        if !v.is_empty() && v != "null" {
            let _ = writeln!(out, "  {k:<12} {v}");
        }
    };
    row("location", location_text(at(a, "location")));
    if !at(a, "end").is_null() {
        row("until", location_text(at(a, "end")));
    }
    row("target", target_text(at(a, "target")));
    row("state", text(a, "state").into());
    row("condition", text(a, "condition").into());
    if let Some(w) = at(a, "expressions").as_array().filter(|w| !w.is_empty()) {
        row(
            "watch",
            w.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    row("template", text(a, "template").into());
    row("value", text(a, "value").into());
    row("max hits", at(a, "max_hits").to_string());
    row("expires", text(a, "expires_at").into());
    row("author", text(a, "author").into());
    row("created", text(a, "created").into());
    let agents = at(a, "agents").as_array().map(Vec::as_slice).unwrap_or(&[]);
    if agents.is_empty() {
        out.push_str("no agent runs it yet (none connected matches the target)\n");
    } else {
        out.push_str("agents:\n");
        for s in agents {
            let mut line = format!("  {:<24} {}", text(s, "agent_name"), text(s, "status"));
            if let Some(m) = at(s, "message").as_str() {
                let _ = write!(line, ": {m}");
            }
            let r = at(s, "resolved");
            if let Some(c) = at(r, "class").as_str() {
                let _ = write!(line, " ({c}.{}", text(r, "method"));
                if let Some(l) = at(r, "line").as_u64() {
                    let _ = write!(line, " line {l}");
                }
                line.push(')');
            }
            let _ = writeln!(out, "{line}");
        }
    }
    let count = |v: &Value| at(v, "total").as_u64().unwrap_or(0);
    if count(snapshots) > 0 {
        let _ = writeln!(out, "snapshots: {}", count(snapshots));
        for s in at(snapshots, "items")
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let top = s.pointer("/frames/0").unwrap_or(&Value::Null);
            let _ = writeln!(
                out,
                "  #{} {} {} at {}.{}:{}, {} locals",
                at(s, "seq"),
                text(s, "time"),
                text(s, "agent_name"),
                text(top, "class"),
                text(top, "method"),
                at(top, "line"),
                at(s, "locals").as_array().map_or(0, Vec::len),
            );
        }
    }
    if count(logs) > 0 {
        let _ = writeln!(out, "log lines: {}", count(logs));
        for l in at(logs, "items")
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let _ = writeln!(
                out,
                "  {} {} [{}] {}",
                text(l, "time"),
                text(l, "agent_name"),
                text(l, "level"),
                text(l, "text")
            );
        }
    }
    if count(metrics) > 0 {
        let _ = writeln!(out, "metric intervals (last 300 s): {}", count(metrics));
        for m in at(metrics, "items")
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let _ = writeln!(
                out,
                "  {} {}: count {}, sum {}, min {}, max {}",
                text(m, "end"),
                text(m, "agent_id"),
                at(m, "count"),
                at(m, "sum"),
                at(m, "min"),
                at(m, "max")
            );
        }
    }
    out.trim_end().to_string()
}

/// An action id as the API takes it in a path.
pub fn checked_id(id: &str) -> Result<&str, CliError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(CliError::Usage(format!(
            "{id:?} is not an action id (they look like a1b2c3d4e5f6a7b8c9)"
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn locations_as_typed() {
        assert_eq!(
            location("Shop.java:42").unwrap(),
            json!({"file": "Shop.java", "line": 42})
        );
        assert_eq!(
            location("com/acme/Shop.java:7").unwrap(),
            json!({"file": "com/acme/Shop.java", "line": 7})
        );
        assert_eq!(
            location("com.acme.Shop#pay").unwrap(),
            json!({"class": "com.acme.Shop", "method": "pay"})
        );
        for bad in [
            "Shop.java",
            "Shop.java:x",
            ":4",
            "#pay",
            "com.acme.Shop#",
            "",
        ] {
            assert!(matches!(location(bad), Err(CliError::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn targets_as_typed() {
        assert_eq!(
            target("source:s1").unwrap(),
            json!({"kind": "custom_source", "id": "s1"})
        );
        assert_eq!(
            target("tag:prod").unwrap(),
            json!({"kind": "tag", "id": "prod"})
        );
        for bad in ["prod", "tag:", "host:x"] {
            assert!(target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_s("90").unwrap(), 90);
        assert_eq!(duration_s("30m").unwrap(), 1800);
        assert_eq!(duration_s("2h").unwrap(), 7200);
        assert_eq!(duration_s("7d").unwrap(), 604_800);
        for bad in ["", "m", "1w", "-5", "99999999999999999999d"] {
            assert!(duration_s(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_request_carries_what_was_typed() {
        let common = Common {
            target: "tag:prod".into(),
            condition: Some("qty > 3".into()),
            max_hits: Some(2),
            expires_in: Some("10m".into()),
            ignore_quota: false,
        };
        let mut extra = Map::new();
        extra.insert("expressions".into(), json!(["order.id"]));
        let body = request("snapshot", "Shop.java:42", &common, extra).unwrap();
        assert_eq!(
            body,
            json!({"type": "snapshot", "location": {"file": "Shop.java", "line": 42},
                   "target": {"kind": "tag", "id": "prod"}, "condition": "qty > 3",
                   "max_hits": 2, "expires_in_s": 600, "expressions": ["order.id"]})
        );
        assert_eq!(
            end_location("Shop.java:42", "50").unwrap(),
            json!({"file": "Shop.java", "line": 50})
        );
        assert!(end_location("a.B#m", "50").is_err());
    }

    #[test]
    fn ids_cannot_reach_other_paths() {
        assert!(checked_id("a0123abcd").is_ok());
        for bad in ["", "../users", "a1/snapshots", "a1?x=1"] {
            assert!(checked_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn show_lists_statuses_with_reasons() {
        let a = json!({"id": "a1", "type": "snapshot", "location": {"file": "Shop.java", "line": 42},
            "target": {"kind": "tag", "id": "prod"}, "state": "active", "expires_at": "2026-11-28T10:00:00Z",
            "agents": [{"agent_name": "shop-1", "status": "error", "message": "no code at line 42 in Shop.java"},
                       {"agent_name": "shop-2", "status": "installed",
                        "resolved": {"class": "Shop", "method": "pay", "line": 42}}]});
        let empty = json!({"items": [], "total": 0});
        let t = show_text(&a, &empty, &empty, &empty);
        assert!(
            t.contains("shop-1                   error: no code at line 42 in Shop.java"),
            "{t}"
        );
        assert!(
            t.contains("shop-2                   installed (Shop.pay line 42)"),
            "{t}"
        );
    }
}
