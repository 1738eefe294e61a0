//! Service Configuration (Settings › Compliance): the organisation's limits that a Company
//! Admin changes at run time — snapshot hit caps, action expiry bounds, how long metric points
//! stay at full resolution, retention of ended actions' results and of audit events, and the
//! capture limits agents obey (`DEFAULTS.md`).
//!
//! Every value has a default (used while nothing is stored) and a range; [`check`] reports
//! every value out of range against its field, all at once, and a refused change stores
//! nothing. The stored form lives in [`SERVICE_CONFIG`] under one key, with a revision number
//! that grows by one per save. [`Settings`] caches the current form in memory (read on every
//! action create and metric frame) and is swapped whole after a save, never older over newer.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::store::{Reads, StoreError, Table, WriteTx};

/// The stored configuration, under [`KEY`].
pub const SERVICE_CONFIG: Table = Table::new("service_config_v1");
const KEY: &[u8] = b"current";

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ServiceConfigError {
    /// Values out of range or of the wrong type, each against its field.
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's key (`snapshot_hits_max`).
    pub field: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The groups the page shows the fields in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// Hit caps and expiry of actions.
    Actions,
    /// How long results and audit events are kept.
    Retention,
    /// What agents capture per snapshot.
    Capture,
}

impl Section {
    /// The id used in forms (`reset=section:actions`).
    pub fn id(self) -> &'static str {
        match self {
            Section::Actions => "actions",
            Section::Retention => "retention",
            Section::Capture => "capture",
        }
    }

    /// The heading.
    pub fn title(self) -> &'static str {
        match self {
            Section::Actions => "Actions",
            Section::Retention => "Retention",
            Section::Capture => "Capture limits",
        }
    }

    /// Every section, in page order.
    pub const ALL: [Section; 3] = [Section::Actions, Section::Retention, Section::Capture];
}

/// What one setting is: its key, where it is shown, what it means, its default and range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The key in the API and the form.
    pub key: &'static str,
    /// Where the page shows it.
    pub section: Section,
    /// The label.
    pub label: &'static str,
    /// What it does, for the help text.
    pub help: &'static str,
    /// The unit, for people (`seconds`, `days`, `bytes`).
    pub unit: &'static str,
    /// The value while nothing is stored.
    pub default: u64,
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value.
    pub max: u64,
}

/// Declares the settings once: the struct, its defaults, the field table and generic access.
macro_rules! settings {
    ($( $key:ident: $section:ident, $label:literal, $unit:literal, $default:expr, $min:expr, $max:expr, $help:literal; )*) => {
        /// The values in force. Unknown or missing stored fields take their defaults, so an
        /// older or newer stored form still loads.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct ServiceConfig {
            /// Grows by one with every save (0: never saved); the cache never goes back.
            pub revision: u64,
            $(
                #[doc = $help]
                pub $key: u64,
            )*
        }

        impl Default for ServiceConfig {
            fn default() -> ServiceConfig {
                ServiceConfig { revision: 0, $( $key: $default, )* }
            }
        }

        /// Every setting, in page order.
        pub const FIELDS: &[FieldSpec] = &[
            $( FieldSpec {
                key: stringify!($key),
                section: Section::$section,
                label: $label,
                help: $help,
                unit: $unit,
                default: $default,
                min: $min,
                max: $max,
            }, )*
        ];

        impl ServiceConfig {
            /// The value of the setting `key`.
            pub fn get(&self, key: &str) -> Option<u64> {
                match key {
                    $( stringify!($key) => Some(self.$key), )*
                    _ => None,
                }
            }

            fn set(&mut self, key: &str, value: u64) -> bool {
                match key {
                    $( stringify!($key) => { self.$key = value; true } )*
                    _ => false,
                }
            }
        }
    };
}

const DAY_S: u64 = 24 * 3600;

settings! {
    snapshot_hits_portal: Actions, "Snapshot hits from the portal", "hits", 1, 1, 1000,
        "Hits per agent of a snapshot made in the portal without a hit count.";
    snapshot_hits_api: Actions, "Snapshot hits from the API", "hits", 10, 1, 1000,
        "Hits per agent of a snapshot made through the API or CLI without a hit count.";
    snapshot_hits_max: Actions, "Snapshot hit cap", "hits", 50, 1, 1000,
        "The most hits any snapshot may ask for, per agent (the organisation's cap).";
    default_expiry_s: Actions, "Default expiry", "seconds", 3600, 60, 30 * DAY_S,
        "How long an action runs when its author gives no expiry.";
    min_expiry_s: Actions, "Minimum action TTL", "seconds", 60, 10, DAY_S,
        "The shortest expiry an action may have.";
    max_expiry_s: Actions, "Maximum expiry", "seconds", 7 * DAY_S, 60, 30 * DAY_S,
        "The longest expiry an action may have.";
    metric_window_s: Actions, "Metric data at full resolution", "seconds", 300, 60, 3600,
        "Counter, tic-toc, duration and metric points are kept as sent for this long, then rolled up into hourly aggregates.";
    results_retention_days: Retention, "Snapshots and logs of ended actions", "days", 10, 1, 3650,
        "Snapshots, log lines and the record of an action are deleted this long after the action expired.";
    audit_retention_days: Retention, "Audit events", "days", 400, 30, 3650,
        "Audit events older than this are deleted; the chain stays verifiable from the oldest kept event.";
    capture_depth: Capture, "Object depth", "levels", 3, 1, 10,
        "How deep agents follow object references.";
    capture_fields: Capture, "Fields per object", "fields", 20, 1, 200,
        "Fields captured per object.";
    capture_items: Capture, "Collection and array items", "items", 100, 1, 1000,
        "Items captured per collection, map or array.";
    capture_string_chars: Capture, "Characters per string", "characters", 255, 16, 8192,
        "Longer strings are cut and marked.";
    capture_bytes_java: Capture, "Bytes per snapshot (Java)", "bytes", 64 * 1024, 16 * 1024, 512 * 1024,
        "The size budget of one snapshot from a Java agent.";
    capture_bytes_python: Capture, "Bytes per snapshot (Python)", "bytes", 32 * 1024, 16 * 1024, 512 * 1024,
        "The size budget of one snapshot from a Python agent.";
    capture_frames: Capture, "Stack frames", "frames", 20, 1, 100,
        "Stack frames captured per snapshot.";
    capture_time_ms: Capture, "Capture time per hit", "milliseconds", 10, 1, 1000,
        "Time one capture may take after warm-up; then it is cut and marked.";
}

impl ServiceConfig {
    /// The organisation's action caps, for [`crate::actions::model::NewAction::validate`].
    pub fn caps(&self) -> crate::actions::model::Caps {
        crate::actions::model::Caps {
            default_expiry_s: self.default_expiry_s,
            min_expiry_s: self.min_expiry_s,
            max_expiry_s: self.max_expiry_s,
            max_snapshot_hits: u32::try_from(self.snapshot_hits_max).unwrap_or(u32::MAX),
            portal_snapshot_hits: u32::try_from(self.snapshot_hits_portal).unwrap_or(1),
            api_snapshot_hits: u32::try_from(self.snapshot_hits_api).unwrap_or(1),
        }
    }

    /// How long metric points stay at full resolution, ms.
    pub fn metric_window_ms(&self) -> i64 {
        i64::try_from(self.metric_window_s.saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    /// How long an ended action's results are kept, ms.
    pub fn results_retention_ms(&self) -> i64 {
        days_ms(self.results_retention_days)
    }

    /// How long audit events are kept, ms.
    pub fn audit_retention_ms(&self) -> i64 {
        days_ms(self.audit_retention_days)
    }

    /// The settings as the API shows them: every key with its value.
    pub fn values_json(&self) -> Value {
        let map: serde_json::Map<String, Value> = FIELDS
            .iter()
            .map(|f| {
                (
                    f.key.to_string(),
                    json!(self.get(f.key).unwrap_or(f.default)),
                )
            })
            .collect();
        Value::Object(map)
    }

    /// Which settings differ between `self` and `new`: `{key: {"from", "to"}}`, for the audit.
    pub fn changes(&self, new: &ServiceConfig) -> Value {
        let map: serde_json::Map<String, Value> = FIELDS
            .iter()
            .filter_map(|f| {
                let (a, b) = (self.get(f.key)?, new.get(f.key)?);
                (a != b).then(|| (f.key.to_string(), json!({"from": a, "to": b})))
            })
            .collect();
        Value::Object(map)
    }
}

fn days_ms(days: u64) -> i64 {
    i64::try_from(days.saturating_mul(DAY_S).saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// The field of `key`, if it is a setting.
pub fn field(key: &str) -> Option<&'static FieldSpec> {
    FIELDS.iter().find(|f| f.key == key)
}

/// What a change asks for: per key, a number to set, or `None` to go back to the default.
/// Keys not listed keep their current value. Values are kept as typed so a refused form can
/// show them again.
pub type Changes = BTreeMap<String, Option<String>>;

/// The changes of a JSON object (the API): numbers set, `null` resets; anything else is an
/// error against its field (unknown keys against themselves).
pub fn changes_from_json(body: &Value) -> Result<Changes, Vec<FieldError>> {
    let Some(map) = body.as_object() else {
        return Err(vec![FieldError {
            field: "body",
            message: "a JSON object of settings".into(),
        }]);
    };
    let mut out = Changes::new();
    let mut errors = Vec::new();
    for (k, v) in map.iter().take(FIELDS.len() + 16) {
        let Some(f) = field(k) else {
            // The key is not 'static: report it through a generic field with its name.
            errors.push(FieldError {
                field: "body",
                message: format!("unknown setting {k:?}"),
            });
            continue;
        };
        match v {
            Value::Null => {
                out.insert(k.clone(), None);
            }
            Value::Number(n) => {
                out.insert(k.clone(), Some(n.to_string()));
            }
            _ => errors.push(FieldError {
                field: f.key,
                message: "a whole number, or null for the default".into(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Applies `changes` to `current` and checks the result: every value in its range, the hit
/// defaults within the cap, the default expiry between the minimum and the maximum. Answers
/// the new configuration (with the next revision) or every problem.
pub fn check(current: &ServiceConfig, changes: &Changes) -> Result<ServiceConfig, Vec<FieldError>> {
    let mut next = current.clone();
    let mut errors = Vec::new();
    for (key, value) in changes {
        let Some(f) = field(key) else {
            errors.push(FieldError {
                field: "body",
                message: format!("unknown setting {key:?}"),
            });
            continue;
        };
        let v = match value.as_deref().map(str::trim) {
            None => f.default,
            Some(text) => match text.parse::<u64>() {
                Ok(v) if (f.min..=f.max).contains(&v) => v,
                _ => {
                    errors.push(FieldError {
                        field: f.key,
                        message: format!(
                            "a whole number from {} to {} {} (default {})",
                            f.min, f.max, f.unit, f.default
                        ),
                    });
                    continue;
                }
            },
        };
        next.set(f.key, v);
    }
    let bad = |errors: &[FieldError], key: &str| errors.iter().any(|e| e.field == key);
    for key in ["snapshot_hits_portal", "snapshot_hits_api"] {
        let v = next.get(key).unwrap_or(0);
        if !bad(&errors, key) && !bad(&errors, "snapshot_hits_max") && v > next.snapshot_hits_max {
            errors.push(FieldError {
                field: if key == "snapshot_hits_portal" {
                    "snapshot_hits_portal"
                } else {
                    "snapshot_hits_api"
                },
                message: format!("at most the snapshot hit cap ({})", next.snapshot_hits_max),
            });
        }
    }
    if !bad(&errors, "min_expiry_s") && !bad(&errors, "max_expiry_s") {
        if next.min_expiry_s > next.max_expiry_s {
            errors.push(FieldError {
                field: "min_expiry_s",
                message: format!("at most the maximum expiry ({} s)", next.max_expiry_s),
            });
        } else if !bad(&errors, "default_expiry_s")
            && !(next.min_expiry_s..=next.max_expiry_s).contains(&next.default_expiry_s)
        {
            errors.push(FieldError {
                field: "default_expiry_s",
                message: format!(
                    "between the minimum ({} s) and the maximum expiry ({} s)",
                    next.min_expiry_s, next.max_expiry_s
                ),
            });
        }
    }
    if !errors.is_empty() {
        // In page order, so the summary reads like the form.
        errors.sort_by_key(|e| FIELDS.iter().position(|f| f.key == e.field));
        return Err(errors);
    }
    next.revision = current.revision.saturating_add(1);
    Ok(next)
}

/// The stored configuration, or the defaults when none is stored.
pub fn load(tx: &impl Reads) -> Result<ServiceConfig, StoreError> {
    Ok(tx.get_json_value(&SERVICE_CONFIG, KEY)?.unwrap_or_default())
}

/// Checks `changes` against the stored configuration and stores the result, in the caller's
/// transaction (so the audit record goes with it). Answers the old and the new form.
pub fn save(
    tx: &mut WriteTx<'_>,
    changes: &Changes,
) -> Result<(ServiceConfig, ServiceConfig), ServiceConfigError> {
    let current: ServiceConfig = tx.get_json(&SERVICE_CONFIG, KEY)?.unwrap_or_default();
    let next = check(&current, changes).map_err(ServiceConfigError::Invalid)?;
    tx.put_json(&SERVICE_CONFIG, KEY, &next)?;
    Ok((current, next))
}

/// The configuration in force, cached: cheap to read on every request, swapped whole.
#[derive(Debug, Default)]
pub struct Settings {
    current: RwLock<Arc<ServiceConfig>>,
}

impl Settings {
    /// A cache holding `config`.
    pub fn new(config: ServiceConfig) -> Settings {
        Settings {
            current: RwLock::new(Arc::new(config)),
        }
    }

    /// The configuration in force.
    pub fn get(&self) -> Arc<ServiceConfig> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts a saved configuration in force, unless a later save already did (two saves
    /// finishing in the other order must not leave the older one in force).
    pub fn replace(&self, config: ServiceConfig) {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if config.revision >= current.revision {
            *current = Arc::new(config);
        }
    }
}

/// The capture limits as agents get them: a `config.update` with a `capture` object
/// (`agents/PROTOCOL.md`), the byte budget chosen for the agent's runtime (`java`, `python`).
pub fn capture_limits_message(config: &ServiceConfig, runtime: &str) -> Value {
    let bytes = if runtime == "python" {
        config.capture_bytes_python
    } else {
        config.capture_bytes_java
    };
    json!({
        "type": "config.update",
        "capture": {
            "max_depth": config.capture_depth,
            "max_fields": config.capture_fields,
            "max_items": config.capture_items,
            "max_string_chars": config.capture_string_chars,
            "max_snapshot_bytes": bytes,
            "max_frames": config.capture_frames,
            "max_capture_ms": config.capture_time_ms,
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, Option<&str>)]) -> Changes {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn defaults_are_those_of_defaults_md() {
        let c = ServiceConfig::default();
        assert_eq!(
            (
                c.snapshot_hits_portal,
                c.snapshot_hits_api,
                c.snapshot_hits_max
            ),
            (1, 10, 50)
        );
        assert_eq!(
            (c.default_expiry_s, c.min_expiry_s, c.max_expiry_s),
            (3600, 60, 604_800)
        );
        assert_eq!(c.metric_window_ms(), 300_000);
        assert_eq!(c.results_retention_days, 10);
        assert_eq!(c.audit_retention_days, 400);
        assert_eq!(
            (c.capture_bytes_java, c.capture_bytes_python),
            (65_536, 32_768)
        );
        for f in FIELDS {
            assert!(f.min <= f.default && f.default <= f.max, "{}", f.key);
            assert_eq!(c.get(f.key), Some(f.default));
        }
        assert_eq!(c.caps(), crate::actions::model::Caps::default());
        assert_eq!(check(&c, &Changes::new()).unwrap().revision, 1);
    }

    #[test]
    fn every_bad_value_is_reported_against_its_field() {
        let c = ServiceConfig::default();
        let errors = check(
            &c,
            &set(&[
                ("results_retention_days", Some("0")),
                ("capture_depth", Some("three")),
                ("snapshot_hits_max", Some("5")),
                ("snapshot_hits_api", Some("8")),
                ("default_expiry_s", Some("30")),
            ]),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "snapshot_hits_api",
                "default_expiry_s",
                "results_retention_days",
                "capture_depth"
            ]
        );
        assert!(
            errors[2].message.contains("from 1 to 3650 days"),
            "{errors:?}"
        );
        let e = check(
            &c,
            &set(&[
                ("min_expiry_s", Some("7200")),
                ("max_expiry_s", Some("3600")),
            ]),
        )
        .unwrap_err();
        assert_eq!(e[0].field, "min_expiry_s");
        assert!(check(&c, &set(&[("nope", Some("1"))])).is_err());
    }

    #[test]
    fn a_change_keeps_other_values_and_null_resets() {
        let c = check(
            &ServiceConfig::default(),
            &set(&[
                ("snapshot_hits_max", Some("5")),
                ("snapshot_hits_api", Some("5")),
            ]),
        )
        .unwrap();
        assert_eq!((c.snapshot_hits_max, c.snapshot_hits_api), (5, 5));
        assert_eq!(c.caps().max_snapshot_hits, 5);
        let back = check(
            &c,
            &changes_from_json(&json!({"snapshot_hits_max": null, "snapshot_hits_api": null}))
                .unwrap(),
        )
        .unwrap();
        assert_eq!((back.snapshot_hits_max, back.revision), (50, 2));
        assert_eq!(
            ServiceConfig::default().changes(&c),
            json!({"snapshot_hits_max": {"from": 50, "to": 5}, "snapshot_hits_api": {"from": 10, "to": 5}})
        );
        let e = changes_from_json(&json!({"capture_depth": "3", "x": 1})).unwrap_err();
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn the_cache_never_goes_back_to_an_older_revision() {
        let s = Settings::new(ServiceConfig::default());
        let newer = ServiceConfig {
            revision: 2,
            capture_depth: 5,
            ..ServiceConfig::default()
        };
        s.replace(newer.clone());
        s.replace(ServiceConfig {
            revision: 1,
            ..ServiceConfig::default()
        });
        assert_eq!(*s.get(), newer);
    }

    #[test]
    fn capture_limits_follow_the_runtime() {
        let c = ServiceConfig::default();
        let m = capture_limits_message(&c, "python");
        assert_eq!(m["type"], "config.update");
        assert_eq!(m["capture"]["max_snapshot_bytes"], 32_768);
        assert_eq!(
            capture_limits_message(&c, "java")["capture"]["max_snapshot_bytes"],
            65_536
        );
        assert_eq!(m["capture"]["max_depth"], 3);
    }
}
