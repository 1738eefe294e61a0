//! The offline vulnerability database over HTTP: the Package Enrichment page, its upload
//! route, and `/api/v1/vulndb` (status), `/api/v1/vulndb/imports` (history, and a new import
//! whose body is a JSON record, an array of records, or a dump zip).
//!
//! Uploads are the one place a body may be larger than the general limit: it is not read
//! before authorisation (see `handler`), then streamed into a spool file with its own bound
//! ([`MAX_UPLOAD_BYTES`]) and a timeout on every chunk, so memory stays flat whatever the
//! size and an anonymous client cannot make the appliance write anything.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::Response;
use hyper::header;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::api::{list_answer, paging};
use super::handler::Call;
use super::respond::{self, Body};
use crate::error::Error;
use crate::iam::roles::{self, Need, Permission};
use crate::ui::nav::{self, NavId};
use crate::ui::pages::package_enrichment::{EnrichmentView, page_view};
use crate::vuln::db::{self, ImportRun, Input, MAX_UPLOAD_BYTES, VulnError};
use crate::vuln::spool::SpoolFile;

/// How long one chunk of an upload may take to arrive.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(30);
/// Import runs shown on the page.
const RUNS_SHOWN: usize = 20;

/// The vulnerability-database routes besides the page itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VulndbRoute {
    /// `POST /settings/reachability/package-enrichment/imports?name=FILE`: one file from
    /// the page's upload form (raw body, CSRF token in `X-CSRF-Token`).
    Upload,
    /// `GET /api/v1/vulndb`
    ApiStatus,
    /// `GET /api/v1/vulndb/imports`
    ApiImports,
    /// `POST /api/v1/vulndb/imports?name=FILE`
    ApiImport,
}

impl VulndbRoute {
    /// The API routes (`path` is below `/api/v1/`, split at `/`).
    pub fn parse_api(method: &str, path: &[&str]) -> Option<VulndbRoute> {
        match (method, path) {
            ("GET", ["vulndb"]) => Some(VulndbRoute::ApiStatus),
            ("GET", ["vulndb", "imports"]) => Some(VulndbRoute::ApiImports),
            ("POST", ["vulndb", "imports"]) => Some(VulndbRoute::ApiImport),
            _ => None,
        }
    }

    /// Whether the route takes an upload (its body is streamed after authorisation, not
    /// read up front within the general limit).
    pub fn streams_body(&self) -> bool {
        matches!(self, VulndbRoute::Upload | VulndbRoute::ApiImport)
    }

    /// Whether the route answers JSON to API keys.
    pub fn is_api(&self) -> bool {
        !matches!(self, VulndbRoute::Upload)
    }
}

/// Serves a route.
pub async fn handle(call: &Call, route: VulndbRoute) -> Result<Response<Body>, Error> {
    match route {
        VulndbRoute::ApiStatus => {
            let matcher = call.state.vulndb.clone();
            let status = call
                .state
                .store
                .read(move |tx| db::status(tx, &matcher))
                .await?;
            Ok(respond::json(200, &status_json(&status)))
        }
        VulndbRoute::ApiImports => {
            let (offset, limit) = paging(call)?;
            let (runs, total) = call
                .state
                .store
                .read(move |tx| db::history(tx, offset, limit))
                .await?;
            let items = runs.iter().map(run_json).collect();
            Ok(list_answer(
                items,
                usize::try_from(total).unwrap_or(usize::MAX),
                offset,
                limit,
            ))
        }
        VulndbRoute::ApiImport => {
            let run = receive_and_import(call).await?;
            Ok(respond::json(201, &run_json(&run)))
        }
        // The page's script reads JSON; an error is JSON too so it can show the reason.
        VulndbRoute::Upload => match receive_and_import(call).await {
            Ok(run) => Ok(respond::json(201, &run_json(&run))),
            Err(e) => {
                let mut r = respond::json_error(&e);
                respond::add_retry_after(&e, &mut r);
                Ok(r)
            }
        },
    }
}

/// The Package Enrichment page.
pub async fn page(call: &Call) -> Result<Response<Body>, Error> {
    let p = call.principal.as_ref().ok_or(Error::Unauthorized)?;
    let matcher = call.state.vulndb.clone();
    let (status, runs) = call
        .state
        .store
        .read(move |tx| {
            let status = db::status(tx, &matcher)?;
            let (runs, _) = db::history(tx, 0, RUNS_SHOWN)?;
            Ok((status, runs))
        })
        .await?;
    let view = EnrichmentView {
        status: &status,
        runs: &runs,
        now_ms: call.state.clock.now_ms(),
        can_import: roles::allows(&p.user.roles, Permission::WatchedPackages, Need::Administer),
    };
    let path = nav::entry(NavId::PackageEnrichment).path;
    let markup = super::portal::framed(&call.state, p, path, |ctx| page_view(ctx, &view));
    Ok(respond::html(200, markup))
}

fn status_json(status: &db::Status) -> Value {
    let s = &status.stats;
    json!({
        "loaded": s.records > 0,
        "advisories": s.records,
        "withdrawn": s.withdrawn,
        "by_ecosystem": s.by_ecosystem,
        "newest_modified": s.newest_modified,
        "last_import": status.last_import.as_ref().map(run_json),
    })
}

fn run_json(run: &ImportRun) -> Value {
    json!({
        "id": run.id,
        "imported_at": super::api::time(run.at_ms),
        "actor": run.actor,
        "sources": run.sources,
        "kept": run.kept(),
        "added": run.added,
        "replaced": run.replaced,
        "unchanged": run.unchanged,
        "withdrawn": run.withdrawn,
        "invalid_total": run.invalid_total,
        "invalid": run.invalid,
        "duration_ms": run.duration_ms,
    })
}

/// The file name the client gives in `?name=` (shown in results), cut and cleaned.
fn upload_name(call: &Call) -> String {
    let name: String = call
        .query
        .get("name")
        .unwrap_or("upload")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if name.trim().is_empty() {
        "upload".to_string()
    } else {
        name
    }
}

async fn receive_and_import(call: &Call) -> Result<ImportRun, Error> {
    let started = Instant::now();
    let spool = receive(call).await?;
    let input = Input {
        path: spool.path().to_path_buf(),
        name: upload_name(call),
    };
    let result = db::import_inputs(
        &call.state.store,
        &call.state.vulndb,
        vec![input],
        call.actor(),
        call.state.clock.now_ms(),
        started,
    )
    .await;
    drop(spool);
    result.map_err(|e| match e {
        VulnError::Store(s) => Error::from(s),
        other => Error::BadRequest(other.to_string()),
    })
}

/// Streams the request body into a spool file, within [`MAX_UPLOAD_BYTES`].
async fn receive(call: &Call) -> Result<SpoolFile, Error> {
    let limit = usize::try_from(MAX_UPLOAD_BYTES).unwrap_or(usize::MAX);
    let declared = call
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES) {
        return Err(Error::PayloadTooLarge { limit });
    }
    let mut body = call
        .upload
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .ok_or_else(|| Error::BadRequest("the upload was already read".into()))?;
    let (spool, mut file) = SpoolFile::create(&call.state.config.data_dir)
        .await
        .map_err(|e| internal(&e))?;
    let mut total: u64 = 0;
    loop {
        let frame = match tokio::time::timeout(CHUNK_TIMEOUT, body.frame()).await {
            Err(_) => return Err(Error::Timeout),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(Error::BadRequest(format!("the upload broke off: {e}")));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len() as u64);
        if total > MAX_UPLOAD_BYTES {
            return Err(Error::PayloadTooLarge { limit });
        }
        file.write_all(&data).await.map_err(|e| internal(&e))?;
    }
    file.flush().await.map_err(|e| internal(&e))?;
    if total == 0 {
        return Err(Error::BadRequest("the upload is empty".into()));
    }
    Ok(spool)
}

fn internal(e: &std::io::Error) -> Error {
    Error::internal(format!("spooling an upload failed: {e}"))
}
