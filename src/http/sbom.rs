//! The Runtime SBOM over HTTP: the page (Settings › Runtime Reachability › SBOM), its
//! download (`GET /settings/reachability/sbom/download`, session) and
//! `GET /api/v1/sbom` (API key), both with `format`, `pool`, `tag`, `name`, `supplier`,
//! `version` and `include_not_loaded`.
//!
//! One reading serves all three: the caller's pool scope from the store, then, under the
//! index's shared lock, the package rows and live artifacts that scope (narrowed by the pool
//! and tag filters) sees; `reach::sbom` writes the document outside the lock. Every export
//! is audited (`sbom.export`: who, format, scope, how many components): an SBOM is a map
//! of which versions run where, exactly what an attacker looks for, so taking one out of
//! the appliance is worth a record even though it changes nothing.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::header::{self, HeaderValue};
use serde_json::json;

use super::admin::acting_user;
use super::entities::scope_and_pools;
use super::form::Form;
use super::handler::Call;
use super::portal::{framed, principal};
use super::respond::{self, Body};
use super::router::NoRoute;
use crate::agents::protocol::MAX_LABEL_BYTES;
use crate::app::AppState;
use crate::error::Error;
use crate::iam::scope::PoolScope;
use crate::iam::tokens::random_bytes;
use crate::iam::users::User;
use crate::reach::PackageStatus;
use crate::reach::assess::Filter;
use crate::reach::sbom::{Application, DocumentInfo, Evidence, Format, Sbom, SbomError};
use crate::security::audit::{AuditEvent, Outcome};
use crate::ui::components::FormErrors;
use crate::ui::pages::sbom::{self as page, DOWNLOAD, SbomQuery, SbomView};

/// Longest pool id taken (ids are 32 hex characters; `default`).
const MAX_POOL_CHARS: usize = 64;

/// The SBOM routes besides the page itself (a navigation page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SbomRoute {
    /// `GET /settings/reachability/sbom/download?...`: the file, for a signed-in user.
    Download,
    /// `GET /api/v1/sbom?...`
    Api,
}

impl SbomRoute {
    /// The portal route; `None` when `path` is not it.
    pub fn parse_portal(get: bool, path: &str) -> Option<Result<SbomRoute, NoRoute>> {
        (path == DOWNLOAD).then_some(if get {
            Ok(SbomRoute::Download)
        } else {
            Err(NoRoute::Method)
        })
    }

    /// The API route (`path` is below `/api/v1/`, split at `/`).
    pub fn parse_api(method: &str, path: &[&str]) -> Option<SbomRoute> {
        matches!((method, path), ("GET" | "HEAD", ["sbom"])).then_some(SbomRoute::Api)
    }

    /// Whether the route answers as the API does (JSON errors, API key).
    pub fn is_api(&self) -> bool {
        matches!(self, SbomRoute::Api)
    }
}

/// A checked request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    format: Format,
    pool: Option<String>,
    tag: Option<String>,
    application: Application,
    include_not_loaded: bool,
}

fn invalid(e: &SbomError) -> Error {
    Error::Invalid {
        field: e.field(),
        message: e.to_string(),
    }
}

/// The request of a query string, and the form's values as typed.
pub(crate) fn request_of(query: &Form) -> (SbomQuery, Result<Request, Error>) {
    let typed = SbomQuery {
        format: query.text("format").trim().to_string(),
        pool: query.text("pool").trim().to_string(),
        tag: query.text("tag").trim().to_string(),
        name: query.text("name").to_string(),
        supplier: query.text("supplier").to_string(),
        version: query.text("version").to_string(),
        include_not_loaded: matches!(
            query.get("include_not_loaded").map(str::trim),
            Some("true" | "on" | "yes" | "1")
        ),
    };
    let checked = check(query, &typed);
    (typed, checked)
}

fn check(query: &Form, typed: &SbomQuery) -> Result<Request, Error> {
    let format = match query.filled("format") {
        None => Format::CycloneDx,
        Some(f) => Format::parse(&f).map_err(|e| invalid(&e))?,
    };
    let include_not_loaded = match query.get("include_not_loaded").map(str::trim) {
        None | Some("" | "false" | "no" | "0") => false,
        Some("true" | "on" | "yes" | "1") => true,
        Some(_) => {
            return Err(Error::Invalid {
                field: "include_not_loaded",
                message: "include_not_loaded is true or false".into(),
            });
        }
    };
    let pool = query.filled("pool");
    if pool
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_POOL_CHARS || p.chars().any(char::is_control))
    {
        return Err(Error::Invalid {
            field: "pool",
            message: format!("pool is a pool id of at most {MAX_POOL_CHARS} characters"),
        });
    }
    let tag = query.filled("tag");
    if tag
        .as_ref()
        .is_some_and(|t| t.len() > MAX_LABEL_BYTES || t.chars().any(char::is_control))
    {
        return Err(Error::Invalid {
            field: "tag",
            message: format!("tag is a tag of at most {MAX_LABEL_BYTES} bytes"),
        });
    }
    let application = Application::new(
        Some(typed.name.as_str()),
        Some(typed.supplier.as_str()),
        Some(typed.version.as_str()),
    )
    .map_err(|e| invalid(&e))?;
    Ok(Request {
        format,
        pool,
        tag,
        application,
        include_not_loaded,
    })
}

/// The SBOM `user` may have for `req`: rows and evidence of the pools in their scope only.
async fn build(state: &Arc<AppState>, user: User, req: &Request) -> Result<Sbom, Error> {
    let now_ms = state.clock.now_ms();
    let scope = state
        .store
        .read(move |tx| Ok(scope_and_pools(tx, &user, now_ms)?.0))
        .await?;
    Ok(read(state, &scope, req, now_ms))
}

fn read(state: &AppState, scope: &PoolScope, req: &Request, now_ms: i64) -> Sbom {
    let scope_ids = scope.ids();
    let filter = Filter {
        pool: req.pool.clone(),
        tag: req.tag.clone(),
        ..Filter::default()
    };
    let visible = filter.pools(scope_ids);
    let (rows, evidence) = state.agents.registry.with_index(|index| {
        let seen = filter.seen(visible.as_ref());
        let rows = index.packages_seen(now_ms, seen);
        let mut evidence = Evidence::new();
        index.artifacts_seen(seen, |agent, artifact, ids, loaded| {
            evidence.add(agent, artifact, ids, loaded);
        });
        (rows, evidence)
    });
    Sbom::new(
        rows,
        &evidence,
        DocumentInfo {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            now_ms,
            serial: random_bytes::<16>(),
            namespace_base: state.public_url.clone(),
            application: req.application.clone(),
            pool: req.pool.clone(),
            tag: req.tag.clone(),
            include_not_loaded: req.include_not_loaded,
        },
    )
}

/// Serves the download and the API.
pub async fn handle(call: &Call, _route: SbomRoute) -> Result<Response<Body>, Error> {
    let (_, req) = request_of(&call.query);
    let req = req?;
    let sbom = build(&call.state, acting_user(call)?, &req).await?;
    let body = sbom.render(req.format);
    call.audit(
        AuditEvent::new("sbom.export", call.actor(), Outcome::Success)
            .target(req.format.as_str())
            .details(json!({
                "format": req.format.as_str(),
                "pool": req.pool,
                "tag": req.tag,
                "include_not_loaded": req.include_not_loaded,
                "application": req.application.name,
                "components": sbom.components.len(),
            })),
    )
    .await;
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(req.format.content_type()),
    );
    // The name holds only [A-Za-z0-9.-]; a failure here would be a bug, and then the
    // browser's own name is better than none.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        sbom.file_name(req.format)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    // A snapshot of the fleet at one moment, and scoped to the caller: never from a cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `GET /settings/reachability/sbom`: the explanation, the form and the count of the
/// current choice; a bad choice is shown next to its field (400).
pub async fn page(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (typed, req) = request_of(&call.query);
    let now_ms = call.state.clock.now_ms();
    let user = p.user.clone();
    let (scope, pools) = call
        .state
        .store
        .read(move |tx| scope_and_pools(tx, &user, now_ms))
        .await?;
    let (errors, loaded, not_loaded) = match &req {
        Ok(req) => {
            let mut all = req.clone();
            all.include_not_loaded = true;
            let sbom = read(&call.state, &scope, &all, now_ms);
            let loaded = sbom
                .components
                .iter()
                .filter(|c| c.row.status == PackageStatus::Loaded)
                .count();
            let not_loaded = sbom.components.len().saturating_sub(loaded);
            (FormErrors::none(), loaded, not_loaded)
        }
        Err(Error::Invalid { field, message }) => (
            FormErrors::none()
                .with_field(field, message.clone())
                .with_summary("The export could not be prepared: see the marked field."),
            0,
            0,
        ),
        Err(_) => (FormErrors::none(), 0, 0),
    };
    let view = SbomView {
        query: &typed,
        errors: &errors,
        pools: &pools,
        loaded,
        not_loaded,
        url: &call.state.public_url,
    };
    let markup = framed(&call.state, p, page::PAGE, |ctx| {
        page::sbom_page(ctx, &view)
    });
    Ok(respond::html(
        if errors.is_empty() { 200 } else { 400 },
        markup,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn field(q: &str) -> &'static str {
        match request_of(&Form::parse(q.as_bytes()).unwrap()).1 {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{q}: {other:?}"),
        }
    }

    #[test]
    fn routes_and_parameters() {
        assert_eq!(SbomRoute::parse_api("GET", &["sbom"]), Some(SbomRoute::Api));
        assert_eq!(SbomRoute::parse_api("POST", &["sbom"]), None);
        assert_eq!(SbomRoute::parse_api("GET", &["sbom", "x"]), None);
        assert_eq!(
            SbomRoute::parse_portal(true, DOWNLOAD),
            Some(Ok(SbomRoute::Download))
        );
        assert_eq!(
            SbomRoute::parse_portal(false, DOWNLOAD),
            Some(Err(NoRoute::Method))
        );
        assert_eq!(SbomRoute::parse_portal(true, page::PAGE), None);
        assert_eq!(field("format=xml"), "format");
        assert_eq!(field("include_not_loaded=maybe"), "include_not_loaded");
        assert_eq!(field(&format!("pool={}", "p".repeat(65))), "pool");
        assert_eq!(field(&format!("tag={}", "t".repeat(129))), "tag");
        assert_eq!(field(&format!("name={}", "n".repeat(201))), "name");
        assert_eq!(field("version=1%0A2"), "version");
        let (typed, req) = request_of(
            &Form::parse(b"format=csv&pool=p1&tag=web&name=pay&include_not_loaded=on").unwrap(),
        );
        let req = req.unwrap();
        assert_eq!(req.format, Format::Csv);
        assert_eq!(req.pool.as_deref(), Some("p1"));
        assert_eq!(req.tag.as_deref(), Some("web"));
        assert_eq!(req.application.name, "pay");
        assert!(req.include_not_loaded && typed.include_not_loaded);
        let (_, plain) = request_of(&Form::parse(b"").unwrap());
        let plain = plain.unwrap();
        assert_eq!(plain.format, Format::CycloneDx);
        assert!(!plain.include_not_loaded);
    }
}
