//! What an action is, and the rules that turn a user's request (API or portal form) into one:
//! types, locations, targets, expressions parsed by [`super::expr`], and the defaults and
//! organisation caps of `DEFAULTS.md` (expiry 3,600 s within 60 s … 7 days; snapshot hits 1
//! from the portal and 10 from the API when not given, at most 50). Every problem is reported
//! against the field it belongs to, all at once, so a form can show them beside their inputs.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::expr::{self, ExprError};

/// What an action does at its location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Stack and variables at a line, without stopping.
    Snapshot,
    /// A formatted line, as if a log statement were there.
    Log,
    /// How often the line runs.
    Counter,
    /// Time between two lines of one method on one thread.
    Tictoc,
    /// How long a method takes.
    Duration,
    /// A number read at the line, aggregated.
    Metric,
}

impl Kind {
    /// The protocol's and the API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Snapshot => "snapshot",
            Kind::Log => "log",
            Kind::Counter => "counter",
            Kind::Tictoc => "tictoc",
            Kind::Duration => "duration",
            Kind::Metric => "metric",
        }
    }

    /// Every kind, in the order the portal offers them.
    pub const ALL: [Kind; 6] = [
        Kind::Snapshot,
        Kind::Log,
        Kind::Counter,
        Kind::Tictoc,
        Kind::Duration,
        Kind::Metric,
    ];
}

/// Where in the code an action sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Location {
    /// A line of a source file, named by its file name or a path ending in it.
    Line {
        /// `OrderServlet.java` or `com/acme/OrderServlet.java`.
        file: String,
        /// 1-based line number.
        line: u32,
    },
    /// A method's entry (every method of that name in the class).
    Method {
        /// Fully qualified class name.
        class: String,
        /// Method name.
        method: String,
    },
}

/// Which agents an action reaches. Tag, custom source and pool targets also reach agents that
/// connect later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `agent`, `tag`, `custom_source` or `pool`.
    pub kind: TargetKind,
    /// The agent id, tag name, custom source id or pool id.
    pub id: String,
}

/// The kinds of [`Target`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// One agent, by id.
    Agent,
    /// Every agent with this tag.
    Tag,
    /// Every agent a custom source selects.
    CustomSource,
    /// Every agent of a pool.
    Pool,
}

/// An expression as the user wrote it and as agents get it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    /// The text, shown back to people.
    pub text: String,
    /// The protocol tree.
    pub tree: Value,
}

/// A log line's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Debug.
    Debug,
    /// Info, the default.
    #[default]
    Info,
    /// Warning.
    Warn,
    /// Error.
    Error,
}

/// A stored, valid action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Unique id (`a-` and 16 hex digits).
    pub id: String,
    /// What it does.
    pub kind: Kind,
    /// Where.
    pub location: Location,
    /// The second line of a tic-toc.
    pub end: Option<Location>,
    /// Fires only where this holds.
    pub condition: Option<Expr>,
    /// Snapshot watch expressions.
    pub watches: Vec<Expr>,
    /// Log template text and its parsed parts.
    pub template: Option<(String, Vec<Value>)>,
    /// Log level.
    pub level: Level,
    /// Log outputs: `appliance`, `stdout`.
    pub outputs: Vec<String>,
    /// A metric's number.
    pub value: Option<Expr>,
    /// Hits per agent before the action completes; `None` is no cap.
    pub max_hits: Option<u32>,
    /// When it expires, ms since the epoch.
    pub expires_at_ms: i64,
    /// Which agents.
    pub target: Target,
    /// The pools its author could reach when it was made; it reaches agents of these pools
    /// only. `None` for a company-wide role: every pool.
    #[serde(default)]
    pub scope_pools: Option<Vec<String>>,
    /// Whether quotas are ignored (only roles that may).
    pub ignore_quota: bool,
    /// Switched off by someone: kept with its results, taken off every agent until enabled.
    #[serde(default)]
    pub disabled: bool,
    /// Who made it (user id or API key label).
    pub author: String,
    /// When it was made, ms.
    pub created_ms: i64,
    /// When it last changed, ms.
    pub updated_ms: i64,
}

/// Where a request comes from; the defaults differ (`DEFAULTS.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The portal's form.
    Portal,
    /// `/api/v1/actions` or the CLI.
    Api,
}

/// The organisation's limits on actions, built from Service Configuration
/// (`crate::ops::service_config`); [`Default`] is `DEFAULTS.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Expiry when none is given, seconds.
    pub default_expiry_s: u64,
    /// Shortest expiry, seconds.
    pub min_expiry_s: u64,
    /// Longest expiry, seconds.
    pub max_expiry_s: u64,
    /// Most hits a snapshot may ask for per agent.
    pub max_snapshot_hits: u32,
    /// Hits of a snapshot made in the portal without a count.
    pub portal_snapshot_hits: u32,
    /// Hits of a snapshot made through the API without a count.
    pub api_snapshot_hits: u32,
}

impl Default for Caps {
    fn default() -> Caps {
        Caps {
            default_expiry_s: 3600,
            min_expiry_s: 60,
            max_expiry_s: 7 * 24 * 3600,
            max_snapshot_hits: 50,
            portal_snapshot_hits: 1,
            api_snapshot_hits: 10,
        }
    }
}

/// A request to create an action, as `POST /api/v1/actions` takes it (issue text and
/// `INTERFACES.md`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    /// `snapshot`, `log`, `counter`, `tictoc`, `duration`, `metric`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `{"file","line"}` or `{"class","method"}`.
    pub location: Option<Value>,
    /// Tic-toc's second line.
    pub end: Option<Value>,
    /// `{"kind","id"}`.
    pub target: Option<Value>,
    /// Condition text.
    pub condition: Option<String>,
    /// Snapshot watch expressions.
    pub expressions: Option<Vec<String>>,
    /// Log template with `{expr}` placeholders.
    pub template: Option<String>,
    /// Log level.
    pub level: Option<String>,
    /// Log outputs.
    pub outputs: Option<Vec<String>>,
    /// Metric value expression.
    pub value: Option<String>,
    /// Hit cap per agent.
    pub max_hits: Option<u64>,
    /// Seconds until expiry.
    pub expires_in_s: Option<u64>,
    /// Ignore quotas (only for roles that may).
    pub ignore_quota: Option<bool>,
}

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The request's field name (`location.line`, `condition`, `expressions[2]`).
    pub field: String,
    /// What is wrong, for people.
    pub message: String,
}

fn problem(errors: &mut Vec<FieldError>, field: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

/// Most watch expressions of one snapshot (protocol limit).
pub const MAX_WATCHES: usize = 20;
/// Longest file, class or method name.
const MAX_NAME_BYTES: usize = 512;
/// Longest template text.
const MAX_TEMPLATE_BYTES: usize = 8192;

fn expression(errors: &mut Vec<FieldError>, field: &str, text: &str) -> Option<Expr> {
    match expr::parse(text) {
        Ok(tree) => Some(Expr {
            text: text.to_string(),
            tree,
        }),
        Err(ExprError { position, message }) => {
            problem(
                errors,
                field,
                format!("{message} (at character {})", position + 1),
            );
            None
        }
    }
}

fn name_ok(s: &str) -> bool {
    !s.trim().is_empty() && s.len() <= MAX_NAME_BYTES && !s.chars().any(char::is_control)
}

fn location_of(errors: &mut Vec<FieldError>, field: &str, v: Option<&Value>) -> Option<Location> {
    let Some(v) = v else {
        problem(
            errors,
            field,
            "required: {\"file\", \"line\"} or {\"class\", \"method\"}",
        );
        return None;
    };
    match serde_json::from_value::<Location>(v.clone()) {
        Ok(Location::Line { line: 0, .. }) => {
            problem(errors, format!("{field}.line"), "lines start at 1");
            None
        }
        Ok(Location::Line { file, .. }) if !name_ok(&file) => {
            problem(
                errors,
                format!("{field}.file"),
                "a file name such as OrderServlet.java",
            );
            None
        }
        Ok(Location::Method { class, method }) if !name_ok(&class) || !name_ok(&method) => {
            problem(errors, field, "a class name and a method name");
            None
        }
        Ok(l) => Some(l),
        Err(_) => {
            problem(
                errors,
                field,
                "either {\"file\": \"OrderServlet.java\", \"line\": 64} or {\"class\": \"com.acme.OrderServlet\", \"method\": \"doGet\"}",
            );
            None
        }
    }
}

impl NewAction {
    /// Checks the request and builds the action, with `id`, `author` and the time given.
    pub fn validate(
        &self,
        origin: Origin,
        caps: &Caps,
        id: String,
        author: String,
        now_ms: i64,
    ) -> Result<Action, Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = match self.kind.as_deref() {
            None => {
                problem(&mut errors, "type", "required");
                None
            }
            Some(k) => {
                let found = Kind::ALL.into_iter().find(|x| x.as_str() == k);
                if found.is_none() {
                    problem(
                        &mut errors,
                        "type",
                        "one of snapshot, log, counter, tictoc, duration, metric",
                    );
                }
                found
            }
        };
        let location = location_of(&mut errors, "location", self.location.as_ref());
        let target = match self
            .target
            .as_ref()
            .map(|t| serde_json::from_value::<Target>(t.clone()))
        {
            None => {
                problem(&mut errors, "target", "required: {\"kind\", \"id\"}");
                None
            }
            Some(Ok(t)) if name_ok(&t.id) => Some(t),
            Some(_) => {
                problem(
                    &mut errors,
                    "target",
                    "{\"kind\": \"agent\" | \"tag\" | \"custom_source\" | \"pool\", \"id\": \"...\"}",
                );
                None
            }
        };
        let condition = self
            .condition
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .and_then(|c| expression(&mut errors, "condition", c));

        let mut watches = Vec::new();
        let mut template = None;
        let mut value = None;
        let mut end = None;
        let mut level = Level::Info;
        let mut outputs = vec!["appliance".to_string()];
        let kind_only = |errors: &mut Vec<FieldError>, present: bool, field: &str, k: &str| {
            if present {
                problem(errors, field, format!("only for {k} actions"));
            }
        };
        if let Some(kind) = kind {
            if kind == Kind::Snapshot {
                let exprs = self.expressions.clone().unwrap_or_default();
                if exprs.len() > MAX_WATCHES {
                    problem(&mut errors, "expressions", format!("at most {MAX_WATCHES}"));
                }
                for (i, text) in exprs.iter().take(MAX_WATCHES).enumerate() {
                    if let Some(e) = expression(&mut errors, &format!("expressions[{i}]"), text) {
                        watches.push(e);
                    }
                }
            } else {
                kind_only(
                    &mut errors,
                    self.expressions.is_some(),
                    "expressions",
                    "snapshot",
                );
            }
            if kind == Kind::Log {
                match self.template.as_deref() {
                    None | Some("") => {
                        problem(&mut errors, "template", "required for a log action")
                    }
                    Some(t) if t.len() > MAX_TEMPLATE_BYTES => problem(
                        &mut errors,
                        "template",
                        format!("at most {MAX_TEMPLATE_BYTES} bytes"),
                    ),
                    Some(t) => match expr::parse_template(t) {
                        Ok(parts) => template = Some((t.to_string(), parts)),
                        Err(e) => problem(
                            &mut errors,
                            "template",
                            format!("{} (at character {})", e.message, e.position + 1),
                        ),
                    },
                }
                level = match self.level.as_deref() {
                    None => Level::Info,
                    Some(l) => serde_json::from_value(json!(l)).unwrap_or_else(|_| {
                        problem(&mut errors, "level", "one of debug, info, warn, error");
                        Level::Info
                    }),
                };
                if let Some(o) = &self.outputs {
                    if o.is_empty()
                        || o.len() > 2
                        || o.iter().any(|x| x != "appliance" && x != "stdout")
                    {
                        problem(&mut errors, "outputs", "appliance, stdout or both");
                    } else {
                        outputs = o.clone();
                    }
                }
            } else {
                kind_only(&mut errors, self.template.is_some(), "template", "log");
                kind_only(&mut errors, self.level.is_some(), "level", "log");
                kind_only(&mut errors, self.outputs.is_some(), "outputs", "log");
            }
            if kind == Kind::Metric {
                match self.value.as_deref() {
                    None | Some("") => problem(&mut errors, "value", "required for a metric"),
                    Some(v) => value = expression(&mut errors, "value", v),
                }
            } else {
                kind_only(&mut errors, self.value.is_some(), "value", "metric");
            }
            if kind == Kind::Tictoc {
                end = location_of(&mut errors, "end", self.end.as_ref());
                if let (
                    Some(Location::Line { file: a, line: la }),
                    Some(Location::Line { file: b, line: lb }),
                ) = (&location, &end)
                {
                    if a != b {
                        problem(&mut errors, "end.file", "the same file as the start");
                    } else if lb <= la {
                        problem(&mut errors, "end.line", "after the start line");
                    }
                } else if location.is_some() && end.is_some() {
                    problem(
                        &mut errors,
                        "location",
                        "a tic-toc measures between two lines",
                    );
                }
            } else {
                kind_only(&mut errors, self.end.is_some(), "end", "tictoc");
            }
            if kind == Kind::Duration && !matches!(location, Some(Location::Method { .. }) | None) {
                problem(
                    &mut errors,
                    "location",
                    "a method duration needs {\"class\", \"method\"}",
                );
            }
        }

        let max_hits = match (kind, self.max_hits) {
            (Some(Kind::Snapshot), None) => Some(match origin {
                Origin::Portal => caps.portal_snapshot_hits,
                Origin::Api => caps.api_snapshot_hits,
            }),
            (Some(Kind::Snapshot), Some(n)) if n == 0 || n > u64::from(caps.max_snapshot_hits) => {
                problem(
                    &mut errors,
                    "max_hits",
                    format!("between 1 and {} for a snapshot", caps.max_snapshot_hits),
                );
                None
            }
            (_, Some(0)) => {
                problem(
                    &mut errors,
                    "max_hits",
                    "at least 1, or leave it out for no cap",
                );
                None
            }
            (_, Some(n)) => u32::try_from(n).ok().or_else(|| {
                problem(&mut errors, "max_hits", "too large");
                None
            }),
            (_, None) => None,
        };
        let expiry_s = self.expires_in_s.unwrap_or(caps.default_expiry_s);
        if !(caps.min_expiry_s..=caps.max_expiry_s).contains(&expiry_s) {
            problem(
                &mut errors,
                "expires_in_s",
                format!(
                    "between {} and {} seconds",
                    caps.min_expiry_s, caps.max_expiry_s
                ),
            );
        }
        let (Some(kind), Some(location), Some(target), true) =
            (kind, location, target, errors.is_empty())
        else {
            return Err(errors);
        };
        let expires_at_ms =
            now_ms.saturating_add(i64::try_from(expiry_s.saturating_mul(1000)).unwrap_or(i64::MAX));
        Ok(Action {
            id,
            kind,
            location,
            end,
            condition,
            watches,
            template,
            level,
            outputs,
            value,
            max_hits,
            expires_at_ms,
            target,
            scope_pools: None,
            ignore_quota: self.ignore_quota.unwrap_or(false),
            disabled: false,
            author,
            created_ms: now_ms,
            updated_ms: now_ms,
        })
    }
}

impl Action {
    /// The action as `action.set` / `action.sync` carry it (without `type`).
    pub fn wire(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("action".into(), json!(self.kind.as_str()));
        m.insert("location".into(), json!(self.location));
        if let Some(end) = &self.end {
            m.insert("end".into(), json!(end));
        }
        if let Some(c) = &self.condition {
            m.insert("condition".into(), c.tree.clone());
        }
        if self.kind == Kind::Snapshot && !self.watches.is_empty() {
            m.insert(
                "watches".into(),
                Value::Array(
                    self.watches
                        .iter()
                        .map(|w| json!({"text": w.text, "expr": w.tree}))
                        .collect(),
                ),
            );
        }
        if let Some((_, parts)) = &self.template {
            m.insert("template".into(), json!(parts));
            m.insert("level".into(), json!(self.level));
            m.insert("outputs".into(), json!(self.outputs));
        }
        if let Some(v) = &self.value {
            m.insert("value".into(), v.tree.clone());
        }
        if let Some(n) = self.max_hits {
            m.insert("max_hits".into(), json!(n));
        }
        if self.ignore_quota {
            m.insert("ignore_quota".into(), json!(true));
        }
        m.insert("expires_at".into(), json!(self.expires_at_ms));
        Value::Object(m)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn req(v: Value) -> NewAction {
        serde_json::from_value(v).unwrap()
    }

    fn ok(v: Value, origin: Origin) -> Action {
        req(v)
            .validate(
                origin,
                &Caps::default(),
                "a-1".into(),
                "alice".into(),
                1_000,
            )
            .unwrap()
    }

    fn errs(v: Value) -> Vec<FieldError> {
        req(v)
            .validate(
                Origin::Api,
                &Caps::default(),
                "a-1".into(),
                "alice".into(),
                0,
            )
            .unwrap_err()
    }

    fn fields(v: Value) -> Vec<String> {
        errs(v).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_snapshot_with_defaults_and_its_wire_form() {
        let a = ok(
            json!({"type": "snapshot", "location": {"file": "OrderServlet.java", "line": 64},
                   "target": {"kind": "tag", "id": "production"},
                   "condition": "order.total > 100", "expressions": ["order.customer.id"]}),
            Origin::Api,
        );
        assert_eq!(a.max_hits, Some(10), "10 from the API when not given");
        assert_eq!(a.expires_at_ms, 1_000 + 3_600_000);
        let w = a.wire();
        assert_eq!(w["action"], "snapshot");
        assert_eq!(
            w["location"],
            json!({"file": "OrderServlet.java", "line": 64})
        );
        assert_eq!(w["condition"]["op"], ">");
        assert_eq!(w["watches"][0]["text"], "order.customer.id");
        assert_eq!(
            w["watches"][0]["expr"]["path"],
            json!(["order", "customer", "id"])
        );
        assert_eq!(w["max_hits"], 10);
        assert_eq!(w["expires_at"], 3_601_000);
        assert!(
            w.get("ignore_quota").is_none(),
            "held to quotas unless asked"
        );
        let exempt = ok(
            json!({"type": "log", "location": {"file": "A.java", "line": 1}, "template": "x",
                   "target": {"kind": "agent", "id": "x"}, "ignore_quota": true}),
            Origin::Api,
        );
        assert_eq!(exempt.wire()["ignore_quota"], true, "agents are told");
        let portal = ok(
            json!({"type": "snapshot", "location": {"file": "A.java", "line": 1},
                   "target": {"kind": "agent", "id": "x"}}),
            Origin::Portal,
        );
        assert_eq!(portal.max_hits, Some(1), "1 from the portal");
    }

    #[test]
    fn logs_metrics_tictoc_and_durations() {
        let log = ok(
            json!({"type": "log", "location": {"file": "com/acme/A.java", "line": 70},
                   "target": {"kind": "pool", "id": "p"}, "template": "order {order.id}",
                   "level": "warn", "outputs": ["stdout"]}),
            Origin::Api,
        );
        assert_eq!(log.max_hits, None, "logs are capped by rate only");
        let w = log.wire();
        assert_eq!(w["template"][0], "order ");
        assert_eq!(
            (w["level"].clone(), w["outputs"].clone()),
            (json!("warn"), json!(["stdout"]))
        );
        let m = ok(
            json!({"type": "metric", "location": {"file": "A.java", "line": 3},
                   "target": {"kind": "agent", "id": "x"}, "value": "order.total"}),
            Origin::Api,
        );
        assert_eq!(m.wire()["value"]["op"], "path");
        let t = ok(
            json!({"type": "tictoc", "location": {"file": "A.java", "line": 3},
                   "end": {"file": "A.java", "line": 9}, "target": {"kind": "agent", "id": "x"}}),
            Origin::Api,
        );
        assert_eq!(t.wire()["end"]["line"], 9);
        let d = ok(
            json!({"type": "duration", "location": {"class": "com.acme.A", "method": "run"},
                   "target": {"kind": "custom_source", "id": "s"}}),
            Origin::Api,
        );
        assert_eq!(
            d.wire()["location"],
            json!({"class": "com.acme.A", "method": "run"})
        );
    }

    #[test]
    fn every_problem_against_its_field() {
        assert_eq!(fields(json!({})), ["type", "location", "target"]);
        assert_eq!(
            fields(
                json!({"type": "snap", "location": {"file": "A.java", "line": 0},
                          "target": {"kind": "team", "id": "x"}})
            ),
            ["type", "location.line", "target"]
        );
        let e = errs(
            json!({"type": "snapshot", "location": {"file": "A.java", "line": 1},
                            "target": {"kind": "agent", "id": "x"}, "condition": "a = 1"}),
        );
        assert_eq!(e[0].field, "condition");
        assert!(e[0].message.contains("at character 3"), "{e:?}");
        assert_eq!(
            fields(
                json!({"type": "log", "location": {"file": "A.java", "line": 1},
                          "target": {"kind": "agent", "id": "x"}})
            ),
            ["template"]
        );
        assert_eq!(
            fields(
                json!({"type": "counter", "location": {"file": "A.java", "line": 1},
                          "target": {"kind": "agent", "id": "x"}, "template": "x",
                          "expressions": ["a"], "value": "b"})
            ),
            ["expressions", "template", "value"]
        );
        assert_eq!(
            fields(
                json!({"type": "tictoc", "location": {"file": "A.java", "line": 5},
                          "end": {"file": "A.java", "line": 5}, "target": {"kind": "agent", "id": "x"}})
            ),
            ["end.line"]
        );
        assert_eq!(
            fields(
                json!({"type": "duration", "location": {"file": "A.java", "line": 5},
                          "target": {"kind": "agent", "id": "x"}})
            ),
            ["location"]
        );
        assert_eq!(
            fields(
                json!({"type": "snapshot", "location": {"file": "A.java", "line": 5},
                          "target": {"kind": "agent", "id": "x"}, "max_hits": 51, "expires_in_s": 30})
            ),
            ["max_hits", "expires_in_s"]
        );
        assert_eq!(
            fields(
                json!({"type": "log", "location": {"file": "A.java", "line": 5}, "template": "{a",
                          "target": {"kind": "agent", "id": "x"}, "level": "loud", "outputs": ["disk"]})
            ),
            ["template", "level", "outputs"]
        );
        let many: Vec<String> = (0..21).map(|i| format!("v{i}")).collect();
        assert_eq!(
            fields(
                json!({"type": "snapshot", "location": {"file": "A.java", "line": 5},
                          "target": {"kind": "agent", "id": "x"}, "expressions": many})
            ),
            ["expressions"]
        );
        assert!(serde_json::from_value::<NewAction>(json!({"type": "log", "colour": 1})).is_err());
    }
}
