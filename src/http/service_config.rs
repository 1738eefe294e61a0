//! Service Configuration over HTTP: the page's form (`POST
//! /settings/compliance/service-configuration`, with per-field and per-section resets) and
//! `GET`/`PUT /api/v1/settings/service`. Company Admin writes; Company Viewer and Security read
//! (`ROLES.md`, "service configuration").
//!
//! A save is checked as a whole (nothing is stored when any value is refused), stored with its
//! audit record (`settings.update`, with every value that changed) in one transaction, then put
//! in force: the cache is swapped and, when a capture limit changed, every connected agent
//! that runs actions gets a `config.update`.

use std::collections::BTreeMap;

use hyper::Response;
use serde_json::{Value, json};

use super::admin::{Change, Refusal, audited, principal};
use super::handler::Call;
use super::respond::{self, Body};
use crate::actions::model::FieldError as ActionFieldError;
use crate::error::Error;
use crate::iam::roles::{self, Need, Permission};
use crate::ops::service_config::{
    self as sc, Changes, FIELDS, FieldError, Section, ServiceConfig, ServiceConfigError,
};
use crate::store::{StoreError, StoreOptions};
use crate::ui::components::FormErrors;
use crate::ui::pages::service_config::{self as page, PATH};

/// The Service Configuration routes besides the page itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceConfigRoute {
    /// `POST /settings/compliance/service-configuration`: save or reset from the page.
    Save,
    /// `GET /api/v1/settings/service`
    ApiGet,
    /// `PUT /api/v1/settings/service`
    ApiPut,
}

impl ServiceConfigRoute {
    /// The page's form route (the page itself is a navigation page).
    pub fn parse_portal(post: bool, path: &str) -> Option<ServiceConfigRoute> {
        (post && path == PATH).then_some(ServiceConfigRoute::Save)
    }

    /// The API routes (`path` is below `/api/v1/`, split at `/`).
    pub fn parse_api(method: &str, path: &[&str]) -> Option<ServiceConfigRoute> {
        match (method, path) {
            ("GET" | "HEAD", ["settings", "service"]) => Some(ServiceConfigRoute::ApiGet),
            ("PUT", ["settings", "service"]) => Some(ServiceConfigRoute::ApiPut),
            _ => None,
        }
    }

    /// Whether the route answers JSON.
    pub fn is_api(&self) -> bool {
        !matches!(self, ServiceConfigRoute::Save)
    }

    /// The permission each route needs.
    pub fn access(&self) -> (Permission, Need) {
        match self {
            ServiceConfigRoute::ApiGet => (Permission::ServiceSettings, Need::View),
            ServiceConfigRoute::Save | ServiceConfigRoute::ApiPut => {
                (Permission::ServiceSettings, Need::Administer)
            }
        }
    }
}

impl Refusal for ServiceConfigError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            ServiceConfigError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

/// Serves one route.
pub async fn handle(call: &Call, route: ServiceConfigRoute) -> Result<Response<Body>, Error> {
    match route {
        ServiceConfigRoute::ApiGet => {
            Ok(respond::json(200, &config_json(&call.state.settings.get())))
        }
        ServiceConfigRoute::ApiPut => {
            let body: Value = super::api_iam::json_body(call)?;
            let changes = match sc::changes_from_json(&body) {
                Ok(c) => c,
                Err(errors) => return Ok(field_errors(&errors)),
            };
            match save(call, changes).await? {
                Ok(config) => Ok(respond::json(200, &config_json(&config))),
                Err(ServiceConfigError::Invalid(errors)) => Ok(field_errors(&errors)),
                Err(ServiceConfigError::Store(e)) => Err(e.into()),
            }
        }
        ServiceConfigRoute::Save => {
            let (changes, typed) = form_changes(call);
            match save(call, changes).await? {
                Ok(_) => render(call, None, Some("Service Configuration was saved.")).await,
                Err(ServiceConfigError::Invalid(errors)) => {
                    let mut form = FormErrors::none()
                        .with_summary("Nothing was saved. Please correct the fields marked below.");
                    for e in errors {
                        form = form.with_field(e.field, e.message);
                    }
                    render(call, Some((typed, form)), None).await
                }
                Err(ServiceConfigError::Store(e)) => Err(e.into()),
            }
        }
    }
}

/// The page (`GET` of the navigation entry).
pub async fn page(call: &Call) -> Result<Response<Body>, Error> {
    render(call, None, None).await
}

async fn render(
    call: &Call,
    failed: Option<(BTreeMap<String, String>, FormErrors)>,
    notice: Option<&str>,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let code = if failed.is_some() { 400 } else { 200 };
    let (typed, errors) = failed.unwrap_or_default();
    let config = call.state.settings.get();
    let server = server_rows(call);
    let view = page::View {
        config: &config,
        typed: &typed,
        errors: &errors,
        can_change: call
            .roles()
            .is_some_and(|r| roles::allows(r, Permission::ServiceSettings, Need::Administer)),
        notice,
        server: &server,
    };
    let markup =
        super::portal::framed(&call.state, p, PATH, |ctx| page::service_config(ctx, &view));
    Ok(respond::html(code, markup))
}

/// The form's changes: a reset button names a field or a section (only those go back to their
/// defaults); otherwise every field as typed. Also answers the typed values, to show again.
fn form_changes(call: &Call) -> (Changes, BTreeMap<String, String>) {
    let reset = call.form.text("reset");
    if !reset.is_empty() {
        let section = reset.strip_prefix("section:");
        let changes = FIELDS
            .iter()
            .filter(|f| match section {
                Some(s) => Section::ALL.iter().any(|x| x.id() == s && f.section == *x),
                None => f.key == reset,
            })
            .map(|f| (f.key.to_string(), None))
            .collect();
        return (changes, BTreeMap::new());
    }
    let typed: BTreeMap<String, String> = FIELDS
        .iter()
        .map(|f| (f.key.to_string(), call.form.text(f.key).trim().to_string()))
        .collect();
    let changes = typed
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    (changes, typed)
}

/// Checks and stores `changes` with its audit record; on success puts the result in force.
async fn save(
    call: &Call,
    changes: Changes,
) -> Result<Result<ServiceConfig, ServiceConfigError>, Error> {
    let result = audited(call, "settings.update", "service", move |tx, _, _| {
        let (old, new) = sc::save(tx, &changes)?;
        Ok(Change {
            target: "service".into(),
            details: json!({"settings": "service", "revision": new.revision,
                            "changed": old.changes(&new)}),
            value: (old, new),
        })
    })
    .await?;
    Ok(result.map(|(old, new)| {
        call.state.settings.replace(new.clone());
        let capture_changed = FIELDS
            .iter()
            .any(|f| f.section == Section::Capture && old.get(f.key) != new.get(f.key));
        if capture_changed {
            let sent = call.state.agents.send_capture_limits();
            tracing::info!(agents = sent, "capture limits sent");
        }
        new
    }))
}

/// Per-field errors in the shape of the actions API.
fn field_errors(errors: &[FieldError]) -> Response<Body> {
    let errors: Vec<ActionFieldError> = errors
        .iter()
        .map(|e| ActionFieldError {
            field: e.field.to_string(),
            message: e.message.clone(),
        })
        .collect();
    super::actions::field_errors(&errors)
}

fn config_json(c: &ServiceConfig) -> Value {
    let fields: Vec<Value> = FIELDS
        .iter()
        .map(|f| {
            json!({"key": f.key, "section": f.section.id(), "label": f.label, "unit": f.unit,
                   "default": f.default, "min": f.min, "max": f.max, "help": f.help})
        })
        .collect();
    json!({"revision": c.revision, "values": c.values_json(), "fields": fields})
}

/// The server-level settings of the configuration file, shown read-only.
fn server_rows(call: &Call) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let c = &call.state.config;
    let store = StoreOptions::default();
    let ws = crate::agents::protocol::LIMITS;
    vec![
        (
            "Listening",
            vec![
                ("Listen address", c.listen.to_string()),
                ("Public URL", call.state.public_url.clone()),
                ("Data directory", c.data_dir.display().to_string()),
            ],
        ),
        (
            "TLS",
            vec![
                (
                    "Certificate",
                    call.state.tls_files.cert.display().to_string(),
                ),
                (
                    "Handshake timeout",
                    format!("{} s", c.tls.handshake_timeout_secs),
                ),
                ("Versions", "TLS 1.2 and 1.3".into()),
            ],
        ),
        (
            "Agent websocket (per connection)",
            vec![
                ("Largest message", format!("{} bytes", ws.max_message_bytes)),
                ("Largest frame", format!("{} bytes", ws.max_frame_bytes)),
                (
                    "Ping interval",
                    format!("{} s", crate::agents::gateway::PING_INTERVAL.as_secs()),
                ),
                (
                    "Idle timeout",
                    format!("{} s", crate::agents::gateway::IDLE_TIMEOUT.as_secs()),
                ),
                (
                    "Send queue",
                    format!("{} messages", crate::agents::gateway::OUTBOX_CAPACITY),
                ),
            ],
        ),
        (
            "HTTP",
            vec![
                (
                    "Header read timeout",
                    format!("{} s", c.http.header_read_timeout_secs),
                ),
                ("Connections", c.http.max_connections.to_string()),
                ("Request body", format!("{} bytes", c.http.max_body_bytes)),
                ("Uploads", format!("{} bytes", c.http.max_upload_bytes)),
                ("Headers", format!("{} bytes", c.http.max_header_bytes)),
                (
                    "Shutdown grace",
                    format!("{} s", c.http.shutdown_grace_secs),
                ),
            ],
        ),
        (
            "Durable writes",
            vec![
                (
                    "Rows per commit",
                    format!("at most {}", store.max_batch_rows),
                ),
                (
                    "Commit window",
                    format!("at most {} ms", store.max_commit_window.as_millis()),
                ),
                ("Write queue", format!("{} writes", store.queue_bound)),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        use ServiceConfigRoute as R;
        assert_eq!(
            R::parse_api("GET", &["settings", "service"]),
            Some(R::ApiGet)
        );
        assert_eq!(
            R::parse_api("PUT", &["settings", "service"]),
            Some(R::ApiPut)
        );
        assert_eq!(R::parse_api("POST", &["settings", "service"]), None);
        assert_eq!(R::parse_portal(true, PATH), Some(R::Save));
        assert_eq!(R::parse_portal(false, PATH), None);
        assert!(R::ApiPut.is_api() && !R::Save.is_api());
        assert_eq!(R::ApiGet.access().1, Need::View);
    }
}
