//! Runtime Reachability over HTTP: the Assessment page (a navigation page), its live stream,
//! a package's page, and `GET /api/v1/reachability/packages` (list) and
//! `GET /api/v1/reachability/packages/{purl}` (one).
//!
//! Page, stream and API share one reading ([`assessment_for`]): the caller's pool scope from
//! the store, the rows of the index as that scope (narrowed by the pool and tag filters) sees
//! them, taken under the index's shared lock, then the advisory matching and ranking of
//! `reach::assess` outside it, so that ingest never waits on matching. A package outside the
//! scope answers 404, like every pool-bound object.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use hyper::Response;
use serde_json::{Value, json};

use super::admin::acting_user;
use super::api::{list_answer, paging, parse_time, time};
use super::entities::{LiveView, flag, live_stream, scope_and_pools};
use super::form::Form;
use super::handler::Call;
use super::portal::{framed, page_visible, principal};
use super::respond::{self, Body};
use super::router::{NoRoute, decode_path};
use crate::app::AppState;
use crate::error::Error;
use crate::iam::scope::PoolScope;
use crate::iam::users::User;
use crate::reach::PackageId;
use crate::reach::assess::{self, Assessed, Assessment, Filter, Status};
use crate::recent::Recent;
use crate::ui::nav::{self, NavId};
use crate::ui::pages::reachability::{
    self as page, CLASSES_SHOWN, PACKAGES, PackageView, ReachQuery, ReachView,
};
use crate::vuln::cvss::Rating;
use crate::vuln::index::Advisory;

/// Longest package URL taken from a path (far above real ones, which stay under 200 bytes).
const MAX_PURL_BYTES: usize = 1_024;
/// Class names in `GET /api/v1/reachability/packages/{purl}`.
pub const API_CLASSES: usize = 1_000;

/// The reachability routes besides the navigation page itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReachRoute {
    /// `GET /reachability/live?<filters>`: the sections as server-sent events.
    Live,
    /// `GET /reachability/packages/{purl}` (percent-encoded).
    Package(String),
    /// `GET /api/v1/reachability/packages?<filters>&offset=&limit=`
    ApiList,
    /// `GET /api/v1/reachability/packages/{purl}` (percent-encoded).
    ApiGet(String),
}

impl ReachRoute {
    /// The portal routes; `None` when `path` is none of them.
    pub fn parse_portal(get: bool, path: &str) -> Option<Result<ReachRoute, NoRoute>> {
        let only = |r: ReachRoute| Some(if get { Ok(r) } else { Err(NoRoute::Method) });
        if path == page::LIVE {
            return only(ReachRoute::Live);
        }
        let rest = path.strip_prefix(PACKAGES)?.strip_prefix('/')?;
        match decode_path(rest, MAX_PURL_BYTES) {
            Some(purl) => only(ReachRoute::Package(purl)),
            None => Some(Err(NoRoute::NotFound)),
        }
    }

    /// The API routes (`path` is below `/api/v1/`, split at `/`). A purl's own `/` may come
    /// unencoded: whatever follows `packages/` is the purl.
    pub fn parse_api(method: &str, path: &[&str]) -> Option<ReachRoute> {
        match (method, path) {
            ("GET" | "HEAD", ["reachability", "packages"]) => Some(ReachRoute::ApiList),
            ("GET" | "HEAD", ["reachability", "packages", rest @ ..]) if !rest.is_empty() => {
                decode_path(&rest.join("/"), MAX_PURL_BYTES).map(ReachRoute::ApiGet)
            }
            _ => None,
        }
    }

    /// Whether the route answers JSON.
    pub fn is_api(&self) -> bool {
        matches!(self, ReachRoute::ApiList | ReachRoute::ApiGet(_))
    }
}

/// Serves a route.
pub async fn handle(call: &Call, route: ReachRoute) -> Result<Response<Body>, Error> {
    match route {
        ReachRoute::Live => {
            let (filter, q) = filter_of(&call.query)?;
            live_stream(call, LiveView::Reachability(filter, q))
        }
        ReachRoute::Package(purl) => package_page(call, &purl).await,
        ReachRoute::ApiList => api_list(call).await,
        ReachRoute::ApiGet(purl) => {
            let v = package_for(&call.state, acting_user(call)?, &purl, API_CLASSES).await?;
            let mut item = item_json(&v.detail.row, v.status, &v.advisories);
            if let Some(obj) = item.as_object_mut() {
                obj.insert(
                    "first_loaded".into(),
                    json!(v.detail.row.first_loaded_ms.map(time)),
                );
                obj.insert("classes_loaded".into(), json!(v.detail.row.classes_loaded));
                obj.insert("classes".into(), json!(v.detail.classes));
                obj.insert(
                    "connections".into(),
                    json!(
                        v.detail
                            .agents
                            .iter()
                            .map(|a| json!({
                                "agent_id": a.agent_id,
                                "pool": a.pool_id,
                                "loaded": a.loaded,
                            }))
                            .collect::<Vec<_>>()
                    ),
                );
            }
            Ok(respond::json(200, &item))
        }
    }
}

/// The filters from a query string, checked, and as the page keeps them.
pub(crate) fn filter_of(query: &Form) -> Result<(Filter, ReachQuery), Error> {
    let text = |name: &str| query.filled(name);
    let name = text("name");
    if name.as_ref().is_some_and(|n| n.chars().count() > 256) {
        return Err(Error::Invalid {
            field: "name",
            message: "a name pattern has at most 256 characters".into(),
        });
    }
    let status = match text("status") {
        None => None,
        Some(s) => Some(Status::parse(&s).ok_or(Error::Invalid {
            field: "status",
            message: "status is not_loaded, loaded or loaded_with_classes".into(),
        })?),
    };
    let min_severity = match text("min_severity") {
        None => None,
        Some(s) => Some(Rating::from_word(&s).filter(|r| *r != Rating::None).ok_or(
            Error::Invalid {
                field: "min_severity",
                message: "min_severity is low, medium, high or critical".into(),
            },
        )?),
    };
    let loaded_since_ms = match text("loaded_since") {
        None => None,
        Some(s) => Some(parse_time("loaded_since", &s)?),
    };
    let vulnerable = flag("vulnerable", query.get("vulnerable"))?;
    let filter = Filter {
        pool: text("pool"),
        tag: text("tag"),
        name,
        status,
        min_severity,
        loaded_since_ms,
        vulnerable,
    };
    let q = ReachQuery {
        pool: filter.pool.clone().unwrap_or_default(),
        tag: filter.tag.clone().unwrap_or_default(),
        name: filter.name.clone().unwrap_or_default(),
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        min_severity: min_severity
            .map(|r| r.to_string().to_lowercase())
            .unwrap_or_default(),
        loaded_since: text("loaded_since").unwrap_or_default(),
        vulnerable: vulnerable.map(|v| v.to_string()).unwrap_or_default(),
    };
    Ok((filter, q))
}

/// What one reading gives the page, the stream and the API.
struct Reading {
    /// The index as the caller sees it (shared: see [`Readings`]).
    index: Arc<IndexReading>,
    pools: Vec<(String, String)>,
    advisories_loaded: bool,
    enrichment_link: bool,
    now_ms: i64,
}

/// The ids a scope allows, `None` for every pool.
/// The purls among `rows` from which a class some watched entry names was loaded.
pub(crate) fn watched_with_classes(
    index: &crate::reach::Index,
    watched: &[crate::reach::watch::Entry],
    rows: &[crate::reach::PackageRow],
) -> BTreeSet<String> {
    let by_name = crate::reach::watch::RowsByName::new(rows);
    watched
        .iter()
        .filter(|e| !e.classes.is_empty())
        .flat_map(|e| {
            by_name
                .matching(e)
                .into_iter()
                .filter(|r| e.classes.iter().any(|c| index.has_class(&r.id.purl, c)))
                .map(|r| r.id.purl.clone())
        })
        .collect()
}

/// The advisories of a package in the current advisory index.
fn lookup(index: &crate::vuln::index::Index) -> impl FnMut(&PackageId) -> Vec<Arc<Advisory>> {
    |id| index.query(&id.ecosystem, &id.name, &id.version)
}

/// Longest time a Runtime Reachability reading is answered again (see [`Readings`]). Only
/// what moves without a registry change shows its age: last-seen times of live packages,
/// which the page shows in seconds at best ("just now" below ten) and its live region
/// re-renders every few seconds; the agents' list rows are kept as long
/// (`agents::view::ROWS_MAX_AGE`).
const READING_MAX_AGE: Duration = crate::agents::view::ROWS_MAX_AGE;

/// Readings kept at once: one per scope and filter combination in use.
const READINGS_KEPT: usize = 16;

/// What one reading is made from. Each part is taken before the reading is made (see
/// `crate::recent`).
#[derive(Debug)]
pub(crate) struct ReadingKey {
    /// `Registry::change_count`: connects, disconnects, class loads.
    registry: u64,
    /// The store's generation of the watched packages.
    watched: u64,
    /// The advisory index in force, compared by identity; weak, so that a replaced index is
    /// freed at once rather than when its readings go.
    advisories: Weak<crate::vuln::index::Index>,
    /// The caller's pool scope (`None`: every pool).
    scope: Option<BTreeSet<String>>,
    filter: Filter,
}

impl PartialEq for ReadingKey {
    fn eq(&self, other: &ReadingKey) -> bool {
        self.registry == other.registry
            && self.watched == other.watched
            && Weak::ptr_eq(&self.advisories, &other.advisories)
            && self.scope == other.scope
            && self.filter == other.filter
    }
}

/// The assessments of the page, its live stream and the API, kept for a moment: at ten
/// thousand agents one walks every user of every package.
pub(crate) type Readings = Recent<ReadingKey, IndexReading>;

/// One reading of the index, as [`Readings`] keeps it.
#[derive(Debug)]
pub(crate) struct IndexReading {
    /// The rows the scope and filters see, assessed.
    assessment: Arc<Assessment>,
    /// Packages the scope sees before the filters (0: no agent reported any yet).
    known: usize,
}

/// Empty [`Readings`] for the application state.
pub(crate) fn readings() -> Readings {
    Recent::new(READING_MAX_AGE, READINGS_KEPT)
}

/// The assessment for `user` under `filter`, with what the page needs around it.
async fn assessment_for(
    state: &Arc<AppState>,
    user: User,
    filter: &Filter,
) -> Result<Reading, Error> {
    let now_ms = state.clock.now_ms();
    let enrichment_link = page_visible(&user.roles, NavId::PackageEnrichment);
    let registry = state.agents.registry.change_count();
    let watched_generation = state
        .store
        .table_generation(&crate::integrations::watched::WATCHED);
    let (scope, pools, watched) = state
        .store
        .read(move |tx| {
            let (scope, pools) = scope_and_pools(tx, &user, now_ms)?;
            Ok((scope, pools, crate::integrations::watched::list(tx)?))
        })
        .await?;
    let advisories = state.vulndb.snapshot();
    let key = ReadingKey {
        registry,
        watched: watched_generation,
        advisories: Arc::downgrade(&advisories),
        scope: scope.ids().cloned(),
        filter: filter.clone(),
    };
    let index = state.reach_readings.get_or_make(key, Instant::now(), || {
        Ok::<_, Error>(read_index(
            state,
            &scope,
            &watched,
            &advisories,
            filter,
            now_ms,
        ))
    })?;
    Ok(Reading {
        index,
        pools,
        advisories_loaded: !advisories.is_empty(),
        enrichment_link,
        now_ms,
    })
}

/// The rows of the index as `scope` and `filter` see them, assessed, and how many packages
/// the scope sees before the filters.
fn read_index(
    state: &AppState,
    scope: &PoolScope,
    watched: &[crate::reach::watch::Entry],
    advisories: &crate::vuln::index::Index,
    filter: &Filter,
    now_ms: i64,
) -> IndexReading {
    let visible = filter.pools(scope.ids());
    let (rows, known, with_classes) = state.agents.registry.with_index(|index| {
        let mut rows = index.packages_seen(now_ms, filter.seen(visible.as_ref()));
        let with_classes = watched_with_classes(index, watched, &rows);
        // A watched package nothing in this view has reported is listed as never loaded.
        let unseen: Vec<_> = {
            let by_name = crate::reach::watch::RowsByName::new(&rows);
            watched
                .iter()
                .filter(|e| by_name.matching(e).is_empty())
                .map(crate::reach::watch::unseen_row)
                .collect()
        };
        rows.extend(unseen);
        // The empty state needs to know whether anything is there before the filters.
        let known = if filter.pool.is_none() && filter.tag.is_none() {
            rows.len()
        } else {
            index
                .packages_seen(now_ms, Filter::default().seen(scope.ids()))
                .len()
        };
        (rows, known, with_classes)
    });
    let assessment = assess::assess_watched(rows, filter, lookup(advisories), |row| {
        with_classes.contains(&row.id.purl)
    });
    IndexReading {
        assessment: Arc::new(assessment),
        known,
    }
}

fn view_of(r: Reading, query: ReachQuery) -> ReachView {
    ReachView {
        assessment: Arc::clone(&r.index.assessment),
        query,
        pools: r.pools,
        advisories_loaded: r.advisories_loaded,
        enrichment_link: r.enrichment_link,
        known: r.index.known,
        now_ms: r.now_ms,
    }
}

/// `GET /reachability`
pub async fn list_page(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (filter, q) = filter_of(&call.query)?;
    let v = view_of(
        assessment_for(&call.state, p.user.clone(), &filter).await?,
        q,
    );
    let path = nav::entry(NavId::Reachability).path;
    let markup = framed(&call.state, p, path, |ctx| page::list(ctx, &v));
    Ok(respond::html(200, markup))
}

/// The live region for the stream (`http::entities` runs the stream).
pub(crate) async fn live_region(
    state: &Arc<AppState>,
    user: User,
    filter: &Filter,
    q: &ReachQuery,
) -> Result<String, Error> {
    let v = view_of(assessment_for(state, user, filter).await?, q.clone());
    Ok(page::live_region(&v).into_string())
}

/// One package as `user` may see it; 404 outside their scope.
async fn package_for(
    state: &Arc<AppState>,
    user: User,
    purl: &str,
    classes: usize,
) -> Result<PackageView, Error> {
    let now_ms = state.clock.now_ms();
    let enrichment_link = page_visible(&user.roles, NavId::PackageEnrichment);
    let (scope, watched) = state
        .store
        .read(move |tx| {
            Ok((
                scope_and_pools(tx, &user, now_ms)?.0,
                crate::integrations::watched::list(tx)?,
            ))
        })
        .await?;
    let found = state.agents.registry.with_index(|index| {
        let seen = Filter::default();
        let d = index.package_detail_seen(purl, now_ms, classes, seen.seen(scope.ids()))?;
        let w = watched_with_classes(index, &watched, std::slice::from_ref(&d.row));
        Some((d, !w.is_empty()))
    });
    // A watched package nothing in this view has reported is listed as never loaded, so its
    // link leads to the same row here, with no agents and no classes.
    let (detail, with_classes) = match found {
        Some(found) => found,
        None => watched
            .iter()
            .map(crate::reach::watch::unseen_row)
            .find(|row| row.id.purl == purl)
            .map(|row| {
                let detail = crate::reach::PackageDetail {
                    row,
                    agents: Vec::new(),
                    ever_agents: Vec::new(),
                    classes: Vec::new(),
                };
                (detail, false)
            })
            .ok_or(Error::NotFound)?,
    };
    let advisories_index = state.vulndb.snapshot();
    let mut one = assess::assess_watched(
        vec![detail.row.clone()],
        &Filter::default(),
        lookup(&advisories_index),
        |_| with_classes,
    );
    let Some(Assessed {
        status, advisories, ..
    }) = one.rows.pop()
    else {
        return Err(Error::NotFound);
    };
    Ok(PackageView {
        detail,
        status,
        advisories,
        advisories_loaded: !advisories_index.is_empty(),
        enrichment_link,
        now_ms,
    })
}

/// `GET /reachability/packages/{purl}`
async fn package_page(call: &Call, purl: &str) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let v = package_for(&call.state, p.user.clone(), purl, CLASSES_SHOWN).await?;
    let path = nav::entry(NavId::Reachability).path;
    let markup = framed(&call.state, p, path, |ctx| page::package_page(ctx, &v));
    Ok(respond::html(200, markup))
}

/// An advisory as the API shows it.
fn advisory_json(a: &Advisory) -> Value {
    json!({
        "id": a.id,
        "aliases": a.aliases,
        "severity": a.severity.as_ref().map(|s| json!({
            "rating": s.rating.map(|r| r.to_string().to_lowercase()),
            "score": s.score_tenths.map(|t| f64::from(t) / 10.0),
            "vector": s.vector,
            "source": s.source,
        })),
        "summary": a.summary,
    })
}

/// A package as the API lists it (`INTERFACES.md`, issue 5 item 8).
fn item_json(
    row: &crate::reach::PackageRow,
    status: Status,
    advisories: &[Arc<Advisory>],
) -> Value {
    json!({
        "purl": row.id.purl,
        "name": row.id.name,
        "version": row.id.version,
        "ecosystem": row.id.ecosystem,
        "status": status.as_str(),
        "agents": row.agents,
        "pools": row.pools,
        "tags": row.tags,
        "first_seen": time(row.first_seen_ms),
        "last_seen": time(row.last_seen_ms),
        "vulnerabilities": advisories.iter().map(|a| advisory_json(a)).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/reachability/packages`: vulnerable and loaded first, then loaded, then
/// vulnerable never loaded, then the rest (`reach::assess`).
async fn api_list(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let (filter, _) = filter_of(&call.query)?;
    let r = assessment_for(&call.state, acting_user(call)?, &filter).await?;
    let rows = &r.index.assessment.rows;
    let items = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|a| item_json(&a.row, a.status, &a.advisories))
        .collect();
    Ok(list_answer(items, rows.len(), offset, limit))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_with_encoded_and_bare_purls() {
        assert_eq!(
            ReachRoute::parse_api("GET", &["reachability", "packages"]),
            Some(ReachRoute::ApiList)
        );
        let want = Some(ReachRoute::ApiGet("pkg:maven/org.example/a@1.0".into()));
        assert_eq!(
            ReachRoute::parse_api(
                "GET",
                &[
                    "reachability",
                    "packages",
                    "pkg%3Amaven%2Forg.example%2Fa%401.0"
                ]
            ),
            want
        );
        assert_eq!(
            ReachRoute::parse_api(
                "GET",
                &[
                    "reachability",
                    "packages",
                    "pkg:maven",
                    "org.example",
                    "a@1.0"
                ]
            ),
            want
        );
        assert_eq!(
            ReachRoute::parse_api("POST", &["reachability", "packages"]),
            None
        );
        assert_eq!(
            ReachRoute::parse_portal(true, &page::package_path("pkg:pypi/x@1")),
            Some(Ok(ReachRoute::Package("pkg:pypi/x@1".into())))
        );
        assert_eq!(
            ReachRoute::parse_portal(false, page::LIVE),
            Some(Err(NoRoute::Method))
        );
        assert_eq!(ReachRoute::parse_portal(true, "/reachability"), None);
    }

    #[test]
    fn bad_filters_are_400s_with_the_field() {
        let field = |q: &str| match filter_of(&Form::parse(q.as_bytes()).unwrap()) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{q}: {other:?}"),
        };
        assert_eq!(field("status=running"), "status");
        assert_eq!(field("min_severity=severe"), "min_severity");
        assert_eq!(field("min_severity=none"), "min_severity");
        assert_eq!(field("loaded_since=yesterday"), "loaded_since");
        assert_eq!(field("vulnerable=maybe"), "vulnerable");
        let (f, q) = filter_of(
            &Form::parse(b"status=loaded&min_severity=HIGH&loaded_since=2026-11-27").unwrap(),
        )
        .unwrap();
        assert_eq!(f.status, Some(Status::Loaded));
        assert_eq!(f.min_severity, Some(Rating::High));
        assert_eq!(f.loaded_since_ms, Some(1_795_737_600_000));
        assert_eq!(
            q.current(),
            "?status=loaded&min_severity=high&loaded_since=2026-11-27"
        );
    }
}
