//! Watched Packages over HTTP: the portal page (Settings › Runtime Reachability › Watched
//! Packages: list with status, add, edit, remove, CSV import) and `/api/v1/watched-packages`
//! (list with status, create), `/api/v1/watched-packages/{id}` (get, replace, delete) and
//! `/api/v1/watched-packages/import` (a CSV body).
//!
//! Changes are audited (`watched_package.create`, `.update`, `.delete`, `.import`) in the
//! same transaction as the change. Statuses are computed as the caller's pool scope sees the
//! reachability index, like the assessment.

use std::sync::Arc;

use hyper::Response;
use serde_json::{Value, json};

use super::admin::{Change, Refusal, acting_user, audited, principal};
use super::api::{list_answer, paging, time};
use super::api_iam::json_body;
use super::entities::scope_and_pools;
use super::handler::Call;
use super::respond::{self, Body};
use super::router::{NoRoute, object_id};
use crate::app::AppState;
use crate::error::Error;
use crate::iam::roles::{self, Need, Permission};
use crate::iam::users::User;
use crate::integrations::watched::{self as store, ImportResult, WatchedError};
use crate::integrations::webhooks as hooks;
use crate::reach::Seen;
use crate::reach::watch::{
    self, CsvReport, Entry, EntryStatus, FieldError, WatchInput, split_classes,
};
use crate::store::StoreError;
use crate::ui::components::FormErrors;
use crate::ui::pages::watched::{self as page, BASE, IMPORT, ImportView};

/// The Watched Packages routes besides the list page itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchedRoute {
    /// `POST /settings/reachability/watched-packages`: add from the page.
    Create,
    /// `POST /settings/reachability/watched-packages/import`: the pasted CSV.
    Import,
    /// `GET /settings/reachability/watched-packages/{id}`
    Detail(String),
    /// `POST /settings/reachability/watched-packages/{id}`: save the edit form.
    Update(String),
    /// `POST /settings/reachability/watched-packages/{id}/delete`
    Delete(String),
    /// `GET /api/v1/watched-packages`
    ApiList,
    /// `POST /api/v1/watched-packages`
    ApiCreate,
    /// `POST /api/v1/watched-packages/import`
    ApiImport,
    /// `GET /api/v1/watched-packages/{id}`
    ApiGet(String),
    /// `PUT /api/v1/watched-packages/{id}`
    ApiUpdate(String),
    /// `DELETE /api/v1/watched-packages/{id}`
    ApiDelete(String),
}

impl WatchedRoute {
    /// The portal routes below the page (the list itself is a navigation page).
    pub fn parse_portal(
        get: bool,
        post: bool,
        path: &str,
    ) -> Option<Result<WatchedRoute, NoRoute>> {
        if path == BASE {
            return post.then_some(Ok(WatchedRoute::Create));
        }
        let only = |ok: bool, r: WatchedRoute| Some(if ok { Ok(r) } else { Err(NoRoute::Method) });
        if path == IMPORT {
            return only(post, WatchedRoute::Import);
        }
        let rest = path.strip_prefix(BASE)?.strip_prefix('/')?;
        let (id, verb) = rest.split_once('/').unwrap_or((rest, ""));
        let id = object_id(id)?;
        match verb {
            "" if post => Some(Ok(WatchedRoute::Update(id))),
            "" => only(get, WatchedRoute::Detail(id)),
            "delete" => only(post, WatchedRoute::Delete(id)),
            _ => None,
        }
    }

    /// The API routes (`path` is below `/api/v1/`, split at `/`).
    pub fn parse_api(method: &str, path: &[&str]) -> Option<WatchedRoute> {
        use WatchedRoute as W;
        match (method, path) {
            ("GET" | "HEAD", ["watched-packages"]) => Some(W::ApiList),
            ("POST", ["watched-packages"]) => Some(W::ApiCreate),
            ("POST", ["watched-packages", "import"]) => Some(W::ApiImport),
            ("GET" | "HEAD", ["watched-packages", id]) => object_id(id).map(W::ApiGet),
            ("PUT", ["watched-packages", id]) => object_id(id).map(W::ApiUpdate),
            ("DELETE", ["watched-packages", id]) => object_id(id).map(W::ApiDelete),
            _ => None,
        }
    }

    /// Whether the route answers JSON to API keys.
    pub fn is_api(&self) -> bool {
        use WatchedRoute as W;
        matches!(
            self,
            W::ApiList
                | W::ApiCreate
                | W::ApiImport
                | W::ApiGet(_)
                | W::ApiUpdate(_)
                | W::ApiDelete(_)
        )
    }

    /// Whether the route only reads.
    pub fn reads_only(&self) -> bool {
        use WatchedRoute as W;
        matches!(self, W::Detail(_) | W::ApiList | W::ApiGet(_))
    }
}

impl Refusal for WatchedError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            WatchedError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

impl From<WatchedError> for Error {
    fn from(e: WatchedError) -> Error {
        match e {
            WatchedError::Invalid(FieldError { field, message }) => {
                Error::Invalid { field, message }
            }
            WatchedError::NotFound => Error::NotFound,
            WatchedError::TooMany => Error::Conflict(e.to_string()),
            WatchedError::Store(s) => Error::from(s),
        }
    }
}

/// A refusal of the CSV file as a whole, or of the audit's "nothing to do": never a store
/// failure, which stays an `Error`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ImportRefused(String);

impl Refusal for ImportRefused {
    fn refusal(self) -> Result<Self, StoreError> {
        Ok(self)
    }
}

/// Serves one route.
pub async fn handle(call: &Call, route: WatchedRoute) -> Result<Response<Body>, Error> {
    use WatchedRoute as W;
    match route {
        W::ApiList => {
            let (offset, limit) = paging(call)?;
            let all = with_status(&call.state, acting_user(call)?).await?;
            let total = all.len();
            let items = all
                .iter()
                .skip(offset)
                .take(limit)
                .map(|(e, s)| entry_json(e, s))
                .collect();
            Ok(list_answer(items, total, offset, limit))
        }
        W::ApiGet(id) => {
            let (e, s) = one(call, &id).await?;
            Ok(respond::json(200, &entry_json(&e, &s)))
        }
        W::ApiCreate => {
            let input: WatchInput = json_body(call)?;
            let e = create(call, &input).await?.map_err(Error::from)?;
            let s = status_for(&call.state, acting_user(call)?, &e).await?;
            Ok(respond::json(201, &entry_json(&e, &s)))
        }
        W::ApiUpdate(id) => {
            let input: WatchInput = json_body(call)?;
            let e = update(call, &id, &input).await?.map_err(Error::from)?;
            let s = status_for(&call.state, acting_user(call)?, &e).await?;
            Ok(respond::json(200, &entry_json(&e, &s)))
        }
        W::ApiDelete(id) => {
            let e = delete(call, &id).await?.map_err(Error::from)?;
            Ok(respond::json(200, &json!({"id": e.id, "deleted": true})))
        }
        W::ApiImport => {
            let r = import(call, &call.body)
                .await?
                .map_err(|ImportRefused(why)| Error::BadRequest(why))?;
            Ok(respond::json(200, &import_json(&r)))
        }
        W::Create => {
            let input = form_input(call);
            match create(call, &input).await? {
                Ok(e) => Ok(respond::redirect(&format!("{BASE}/{}", e.id))),
                Err(e) => {
                    let errors = form_errors(&input, e)?;
                    list_page(call, Some((input, errors)), None, "").await
                }
            }
        }
        W::Import => {
            let text = call.form.text("csv").to_string();
            let view = match import(call, text.as_bytes()).await? {
                Ok(r) => ImportView {
                    created: r.created,
                    updated: r.updated,
                    errors: r.errors,
                    refused: None,
                },
                Err(ImportRefused(why)) => ImportView {
                    refused: Some(why),
                    ..Default::default()
                },
            };
            // Keep the text for correcting when something was refused.
            let keep = if view.refused.is_some() || !view.errors.is_empty() {
                text.as_str()
            } else {
                ""
            };
            list_page(call, None, Some(&view), keep).await
        }
        W::Detail(id) => detail(call, &id, None, None).await,
        W::Update(id) => {
            let input = form_input(call);
            match update(call, &id, &input).await? {
                Ok(_) => detail(call, &id, Some("The watched package was saved."), None).await,
                Err(e) => {
                    let errors = form_errors(&input, e)?;
                    detail(call, &id, None, Some((input, errors))).await
                }
            }
        }
        W::Delete(id) => {
            delete(call, &id).await?.map_err(Error::from)?;
            Ok(respond::redirect(BASE))
        }
    }
}

/// The list page (`GET` of the navigation entry).
pub async fn list(call: &Call) -> Result<Response<Body>, Error> {
    list_page(call, None, None, "").await
}

async fn list_page(
    call: &Call,
    failed: Option<(WatchInput, FormErrors)>,
    import: Option<&ImportView>,
    csv: &str,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let entries = with_status(&call.state, p.user.clone()).await?;
    let hooks = call.state.store.read(hooks::list).await?;
    let refused = failed.is_some() || import.is_some_and(|i| i.refused.is_some());
    let (input, errors) = failed.unwrap_or_else(|| (WatchInput::default(), FormErrors::none()));
    let view = page::ListView {
        entries: &entries,
        hooks: &hooks,
        can_change: may_change(call),
        form: &input,
        errors: &errors,
        csv,
        import,
        notice: None,
        now_ms: call.state.clock.now_ms(),
    };
    let markup = super::portal::framed(&call.state, p, BASE, |ctx| page::list(ctx, &view));
    Ok(respond::html(if refused { 400 } else { 200 }, markup))
}

async fn detail(
    call: &Call,
    id: &str,
    notice: Option<&str>,
    failed: Option<(WatchInput, FormErrors)>,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (entry, status) = one(call, id).await?;
    let hooks = call.state.store.read(hooks::list).await?;
    let code = if failed.is_some() { 400 } else { 200 };
    let (input, errors) = failed.unwrap_or_else(|| (input_of(&entry), FormErrors::none()));
    let view = page::DetailView {
        entry: &entry,
        status: &status,
        hooks: &hooks,
        can_change: may_change(call),
        form: &input,
        errors: &errors,
        notice,
        now_ms: call.state.clock.now_ms(),
    };
    let markup = super::portal::framed(&call.state, p, BASE, |ctx| page::detail(ctx, &view));
    Ok(respond::html(code, markup))
}

fn may_change(call: &Call) -> bool {
    call.roles()
        .is_some_and(|r| roles::allows(r, Permission::WatchedPackages, Need::Administer))
}

/// Statuses of `entries` as `user`'s pool scope sees the index.
async fn statuses(
    state: &Arc<AppState>,
    user: User,
    entries: Vec<Entry>,
) -> Result<Vec<(Entry, EntryStatus)>, Error> {
    let now_ms = state.clock.now_ms();
    let scope = state
        .store
        .read(move |tx| Ok(scope_and_pools(tx, &user, now_ms)?.0))
        .await?;
    let pools = scope.ids();
    Ok(state.agents.registry.with_index(|index| {
        let rows = index.packages_seen(now_ms, Seen { pools, tag: None });
        let by_name = watch::RowsByName::new(&rows);
        entries
            .into_iter()
            .map(|e| {
                let s =
                    watch::status_of(&e, by_name.matching(&e), |purl, c| index.has_class(purl, c));
                (e, s)
            })
            .collect()
    }))
}

async fn with_status(
    state: &Arc<AppState>,
    user: User,
) -> Result<Vec<(Entry, EntryStatus)>, Error> {
    let entries = state.store.read(store::list).await?;
    statuses(state, user, entries).await
}

async fn status_for(state: &Arc<AppState>, user: User, e: &Entry) -> Result<EntryStatus, Error> {
    statuses(state, user, vec![e.clone()])
        .await?
        .pop()
        .map(|(_, s)| s)
        .ok_or(Error::NotFound)
}

async fn one(call: &Call, id: &str) -> Result<(Entry, EntryStatus), Error> {
    let id = id.to_string();
    let e = call
        .state
        .store
        .read(move |tx| store::get(tx, &id))
        .await?
        .ok_or(Error::NotFound)?;
    let s = status_for(&call.state, acting_user(call)?, &e).await?;
    Ok((e, s))
}

fn details(e: &Entry) -> Value {
    json!({
        "package": e.package,
        "ecosystem": e.ecosystem.as_str(),
        "version": e.version,
        "classes": e.classes,
        "webhook": e.webhook,
    })
}

fn checked(input: &WatchInput) -> Result<watch::Checked, FieldError> {
    watch::check(input).map_err(|errors| {
        errors.into_iter().next().unwrap_or_else(|| FieldError {
            field: "package",
            message: "not accepted".into(),
        })
    })
}

async fn create(call: &Call, input: &WatchInput) -> Result<Result<Entry, WatchedError>, Error> {
    let c = checked(input);
    audited(call, "watched_package.create", "", move |tx, _, now| {
        let e = store::create(tx, &c.clone()?, now)?;
        Ok(Change {
            target: e.id.clone(),
            details: details(&e),
            value: e,
        })
    })
    .await
}

async fn update(
    call: &Call,
    id: &str,
    input: &WatchInput,
) -> Result<Result<Entry, WatchedError>, Error> {
    let c = checked(input);
    let wid = id.to_string();
    audited(call, "watched_package.update", id, move |tx, _, now| {
        let e = store::update(tx, &wid, &c.clone()?, now)?;
        Ok(Change {
            target: e.id.clone(),
            details: details(&e),
            value: e,
        })
    })
    .await
}

async fn delete(call: &Call, id: &str) -> Result<Result<Entry, WatchedError>, Error> {
    let wid = id.to_string();
    audited(call, "watched_package.delete", id, move |tx, _, _| {
        let e = store::delete(tx, &wid)?;
        Ok(Change {
            target: e.id.clone(),
            details: details(&e),
            value: e,
        })
    })
    .await
}

/// Parses and stores a CSV file in one audited transaction; a file refused as a whole
/// changes nothing and is audited as a failure.
async fn import(call: &Call, bytes: &[u8]) -> Result<Result<ImportResult, ImportRefused>, Error> {
    let parsed: Result<CsvReport, String> = watch::parse_csv(bytes).map_err(|e| e.to_string());
    audited(call, "watched_package.import", "", move |tx, _, now| {
        let report = parsed.clone().map_err(ImportRefused)?;
        let r = store::import(tx, &report, now).map_err(|e| ImportRefused(e.to_string()))?;
        Ok(Change {
            target: String::new(),
            details: json!({"created": r.created, "updated": r.updated, "refused_lines": r.errors.len()}),
            value: r,
        })
    })
    .await
}

fn import_json(r: &ImportResult) -> Value {
    json!({
        "created": r.created,
        "updated": r.updated,
        "errors": r.errors.iter().map(|e| json!({"line": e.line, "reason": e.reason})).collect::<Vec<_>>(),
    })
}

fn input_of(e: &Entry) -> WatchInput {
    WatchInput {
        package: e.package.clone(),
        version: e.version.clone(),
        classes: e.classes.clone(),
        webhook: e.webhook.clone(),
        note: e.note.clone(),
    }
}

fn form_input(call: &Call) -> WatchInput {
    let f = &call.form;
    WatchInput {
        package: f.text("package").to_string(),
        version: f.text("version").to_string(),
        classes: split_classes(f.text("classes")),
        webhook: Some(f.text("webhook").to_string()).filter(|w| !w.trim().is_empty()),
        note: f.text("note").to_string(),
    }
}

/// Every refusal next to its field, with a summary on top.
fn form_errors(input: &WatchInput, e: WatchedError) -> Result<FormErrors, Error> {
    let summary = "The watched package was not saved. Please correct the fields marked below.";
    match e {
        WatchedError::Invalid(first) => {
            let mut all = watch::check(input).err().unwrap_or_default();
            if all.is_empty() {
                all.push(first);
            }
            let mut errors = FormErrors::none().with_summary(summary);
            for FieldError { field, message } in all {
                errors = errors.with_field(field, message);
            }
            Ok(errors)
        }
        WatchedError::TooMany => Ok(FormErrors::none().with_summary(e.to_string())),
        other => Err(other.into()),
    }
}

fn entry_json(e: &Entry, s: &EntryStatus) -> Value {
    json!({
        "id": e.id,
        "ecosystem": e.ecosystem.as_str(),
        "package": e.package,
        "version": e.version,
        "classes": e.classes,
        "webhook": e.webhook,
        "note": e.note,
        "created_at": time(e.created_ms),
        "updated_at": time(e.updated_ms),
        "status": s.status.as_str(),
        "packages": s.packages,
        "classes_loaded": s.classes_loaded,
        "agents": s.agents,
        "pools": s.pools,
        "first_seen": s.first_seen_ms.map(time),
        "last_seen": s.last_seen_ms.map(time),
        "first_loaded": s.first_loaded_ms.map(time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        use WatchedRoute as W;
        assert_eq!(
            WatchedRoute::parse_api("GET", &["watched-packages"]),
            Some(W::ApiList)
        );
        assert_eq!(
            WatchedRoute::parse_api("POST", &["watched-packages", "import"]),
            Some(W::ApiImport)
        );
        assert_eq!(
            WatchedRoute::parse_api("PUT", &["watched-packages", "ab12"]),
            Some(W::ApiUpdate("ab12".into()))
        );
        assert_eq!(
            WatchedRoute::parse_api("PATCH", &["watched-packages", "ab12"]),
            None
        );
        assert_eq!(
            WatchedRoute::parse_portal(false, true, IMPORT),
            Some(Ok(W::Import))
        );
        assert_eq!(
            WatchedRoute::parse_portal(true, false, &format!("{BASE}/ab12")),
            Some(Ok(W::Detail("ab12".into())))
        );
        assert_eq!(
            WatchedRoute::parse_portal(true, false, &format!("{BASE}/ab12/delete")),
            Some(Err(NoRoute::Method))
        );
        assert!(W::ApiImport.is_api() && !W::Import.is_api());
        assert!(W::ApiGet("a".into()).reads_only() && !W::ApiImport.reads_only());
    }
}
