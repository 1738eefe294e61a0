//! System Diagnostics over HTTP: the page (Settings › Compliance › System Diagnostics), the
//! bundle and dependency-SBOM downloads below it, and `GET /api/v1/diagnostics`,
//! `/api/v1/diagnostics/bundle` and `/api/v1/diagnostics/sbom`. Every route reads only, so
//! each needs the "System Diagnostics" permission to view (`ROLES.md`: Company Admin, Company
//! Viewer, Security, Incident Responder).
//!
//! A reading touches `/proc` and asks every mounted file system for its size, so it runs on a
//! blocking thread with a timeout (a hung network mount must not hold a worker). A bundle
//! download is audited (`diagnostics.bundle`): it takes the configuration and log out of the
//! appliance, even with the secrets removed.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::header::{self, HeaderValue};
use serde_json::json;

use super::handler::Call;
use super::portal::{framed, principal};
use super::respond::{self, Body};
use super::router::NoRoute;
use crate::agents::registry::AgentSummary;
use crate::app::AppState;
use crate::error::Error;
use crate::iam::roles::{Need, Permission};
use crate::ops::diagnostics::{
    self as diag, BundleParts, DEPENDENCY_SBOM, DEPENDENCY_SBOM_FILE, Diagnostics, Inputs,
    RECENT_LOG,
};
use crate::security::audit::{AuditEvent, Outcome};
use crate::ui::pages::diagnostics::{self as page, BUNDLE, PATH, SBOM};

/// How long a reading may take before the answer says the host did not answer.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The System Diagnostics routes besides the page itself (a navigation page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiagnosticsRoute {
    /// `GET /settings/compliance/diagnostics/bundle`: the bundle, for a signed-in user.
    Bundle,
    /// `GET /settings/compliance/diagnostics/sbom`: the dependency SBOM.
    Sbom,
    /// `GET /api/v1/diagnostics`
    ApiGet,
    /// `GET /api/v1/diagnostics/bundle`
    ApiBundle,
    /// `GET /api/v1/diagnostics/sbom`
    ApiSbom,
}

impl DiagnosticsRoute {
    /// The portal routes; `None` when `path` is not one of them.
    pub fn parse_portal(get: bool, path: &str) -> Option<Result<DiagnosticsRoute, NoRoute>> {
        let route = match path {
            BUNDLE => DiagnosticsRoute::Bundle,
            SBOM => DiagnosticsRoute::Sbom,
            _ => return None,
        };
        Some(if get { Ok(route) } else { Err(NoRoute::Method) })
    }

    /// The API routes (`path` is below `/api/v1/`, split at `/`).
    pub fn parse_api(method: &str, path: &[&str]) -> Option<DiagnosticsRoute> {
        match (method, path) {
            ("GET" | "HEAD", ["diagnostics"]) => Some(DiagnosticsRoute::ApiGet),
            ("GET" | "HEAD", ["diagnostics", "bundle"]) => Some(DiagnosticsRoute::ApiBundle),
            ("GET" | "HEAD", ["diagnostics", "sbom"]) => Some(DiagnosticsRoute::ApiSbom),
            _ => None,
        }
    }

    /// Whether the route answers as the API does (JSON errors, API key).
    pub fn is_api(&self) -> bool {
        !matches!(self, DiagnosticsRoute::Bundle | DiagnosticsRoute::Sbom)
    }

    /// The permission each route needs: all of them read.
    pub fn access(&self) -> (Permission, Need) {
        match self {
            DiagnosticsRoute::Bundle
            | DiagnosticsRoute::Sbom
            | DiagnosticsRoute::ApiGet
            | DiagnosticsRoute::ApiBundle
            | DiagnosticsRoute::ApiSbom => (Permission::Diagnostics, Need::View),
        }
    }
}

/// One reading, off the async workers and within [`READ_TIMEOUT`]; with the agents it saw.
async fn reading(state: &Arc<AppState>) -> Result<(Diagnostics, Vec<AgentSummary>), Error> {
    let st = Arc::clone(state);
    let task = tokio::task::spawn_blocking(move || {
        let agents = st.agents.registry.list();
        let inputs = Inputs {
            now_ms: st.clock.now_ms(),
            data_dir: &st.config.data_dir,
            store_bytes: st.store.file_size(),
            schema_version: st.store.schema_version(),
            writer: st.store.writer_stats(),
            agents: &agents,
            ingest: st.agents.ingest.totals(),
        };
        let d = st.diagnostics.read(&inputs);
        (d, agents)
    });
    match tokio::time::timeout(READ_TIMEOUT, task).await {
        Ok(Ok(reading)) => Ok(reading),
        Ok(Err(e)) => Err(Error::internal(format!("diagnostics reading failed: {e}"))),
        Err(_) => Err(Error::Unavailable(
            "the host did not answer within 10 seconds (a hung network mount?); try again".into(),
        )),
    }
}

/// The reading as the API answers it: the figures plus the recent log.
fn reading_json(d: &Diagnostics, log: &[String]) -> serde_json::Value {
    let mut v = serde_json::to_value(d).unwrap_or_else(|_| json!({}));
    if let Some(o) = v.as_object_mut() {
        o.insert("recent_log".into(), json!(log));
    }
    v
}

fn download(content_type: &'static str, name: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    let headers = r.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Names hold only [A-Za-z0-9.-].
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Serves the downloads and the API.
pub async fn handle(call: &Call, route: DiagnosticsRoute) -> Result<Response<Body>, Error> {
    match route {
        DiagnosticsRoute::ApiGet => {
            let (d, _) = reading(&call.state).await?;
            Ok(respond::json(200, &reading_json(&d, &RECENT_LOG.lines())))
        }
        DiagnosticsRoute::Sbom | DiagnosticsRoute::ApiSbom => Ok(download(
            "application/vnd.cyclonedx+json; version=1.6",
            DEPENDENCY_SBOM_FILE,
            Bytes::from_static(DEPENDENCY_SBOM.as_bytes()),
        )),
        DiagnosticsRoute::Bundle | DiagnosticsRoute::ApiBundle => bundle(call).await,
    }
}

async fn bundle(call: &Call) -> Result<Response<Body>, Error> {
    let (d, agents) = reading(&call.state).await?;
    let log = RECENT_LOG.lines();
    let service = call.state.settings.get().values_json();
    let configuration = diag::configuration(&call.state.config, service);
    let agents = diag::agent_rows(&agents);
    let zip = diag::bundle(&BundleParts {
        diagnostics: &d,
        configuration: &configuration,
        agents: &agents,
        log: &log,
    })
    .map_err(Error::internal)?;
    let name = diag::bundle_file_name(d.generated_ms);
    call.audit(
        AuditEvent::new("diagnostics.bundle", call.actor(), Outcome::Success)
            .target(name.clone())
            .details(json!({
                "bytes": zip.len(),
                "log_lines": log.len(),
                "agents": d.agents.connected,
            })),
    )
    .await;
    Ok(download("application/zip", &name, zip))
}

/// `GET /settings/compliance/diagnostics`: the figures, explained.
pub async fn page(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (d, _) = reading(&call.state).await?;
    let log = RECENT_LOG.lines();
    let view = page::View {
        d: &d,
        log: &log,
        now_secs: d.generated_ms / 1000,
    };
    let markup = framed(&call.state, p, PATH, |ctx| {
        page::diagnostics_page(ctx, &view)
    });
    Ok(respond::html(200, markup))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        use DiagnosticsRoute as R;
        assert_eq!(R::parse_api("GET", &["diagnostics"]), Some(R::ApiGet));
        assert_eq!(
            R::parse_api("GET", &["diagnostics", "bundle"]),
            Some(R::ApiBundle)
        );
        assert_eq!(
            R::parse_api("GET", &["diagnostics", "sbom"]),
            Some(R::ApiSbom)
        );
        assert_eq!(R::parse_api("POST", &["diagnostics"]), None);
        assert_eq!(R::parse_api("GET", &["diagnostics", "x"]), None);
        assert_eq!(R::parse_portal(true, BUNDLE), Some(Ok(R::Bundle)));
        assert_eq!(R::parse_portal(false, SBOM), Some(Err(NoRoute::Method)));
        assert_eq!(R::parse_portal(true, PATH), None);
        assert!(R::ApiBundle.is_api() && !R::Bundle.is_api());
        assert_eq!(R::Bundle.access(), (Permission::Diagnostics, Need::View));
    }
}
