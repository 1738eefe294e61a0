//! Settings › Security › PII Redaction and Blocklist over HTTP: the two portal pages and their
//! forms, `/api/v1/pii-patterns` (templates, the built-in library, pool assignments, the
//! tester) and `/api/v1/blocklist` (get, replace, test a location).
//!
//! ROLES.md "PII Redaction, Blocklist": W for Company Admin and Security, R for Company
//! Viewer, AppSec, Incident Responder and Developer; the testers only read. Every change is
//! audited in its own transaction (`pii.template.create`, `.update`, `.delete`,
//! `pii.assignment.update`, `blocklist.update`) and then pushed to the connected agents it
//! concerns (`agents::config_push`).

use hyper::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::{Change, Refusal, audited, principal};
use super::api::{list_answer, time};
use super::api_iam::json_body;
use super::handler::Call;
use super::respond::{self, Body};
use super::router::{NoRoute, object_id};
use crate::actions::model::Location;
use crate::error::Error;
use crate::iam::pools::{self, Pool};
use crate::iam::roles::{self, Need, Permission};
use crate::security::blocklist::{self, Blocklist};
use crate::security::policy::{self, PolicyError, Problem};
use crate::security::redaction::{self, DEFAULT_ID, LIBRARY, Template, TemplateInput, Verdict};
use crate::store::StoreError;
use crate::ui::components::FormErrors;
use crate::ui::pages::security as page;

/// The routes of both pages and both API resources, besides the two pages themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityRoute {
    /// `POST /settings/security/pii-redaction`: a new template (or a library pattern added to
    /// the unsaved form).
    PiiCreate,
    /// `GET /settings/security/pii-redaction/{id}`
    PiiDetail(String),
    /// `POST /settings/security/pii-redaction/{id}`: save (or add a library pattern).
    PiiUpdate(String),
    /// `POST /settings/security/pii-redaction/{id}/delete`
    PiiDelete(String),
    /// `POST /settings/security/pii-redaction/assignments`
    PiiAssign,
    /// `POST /settings/security/pii-redaction/test`
    PiiTest,
    /// `POST /settings/security/blocklist`
    BlocklistSave,
    /// `POST /settings/security/blocklist/test`
    BlocklistTest,
    /// `GET /api/v1/pii-patterns`
    ApiList,
    /// `POST /api/v1/pii-patterns`
    ApiCreate,
    /// `GET /api/v1/pii-patterns/{id}`
    ApiGet(String),
    /// `PUT /api/v1/pii-patterns/{id}`
    ApiUpdate(String),
    /// `DELETE /api/v1/pii-patterns/{id}`
    ApiDelete(String),
    /// `GET /api/v1/pii-patterns/library`
    ApiLibrary,
    /// `GET /api/v1/pii-patterns/assignments`
    ApiAssignments,
    /// `PUT /api/v1/pii-patterns/assignments/{pool_id}`
    ApiAssign(String),
    /// `POST /api/v1/pii-patterns/test`
    ApiTest,
    /// `GET /api/v1/blocklist`
    ApiBlocklist,
    /// `PUT /api/v1/blocklist`
    ApiBlocklistPut,
    /// `POST /api/v1/blocklist/test`
    ApiBlocklistTest,
}

impl SecurityRoute {
    /// The portal routes below the two pages (the pages themselves are navigation pages).
    pub fn parse_portal(
        get: bool,
        post: bool,
        path: &str,
    ) -> Option<Result<SecurityRoute, NoRoute>> {
        use SecurityRoute as S;
        let only = |ok: bool, r: S| Some(if ok { Ok(r) } else { Err(NoRoute::Method) });
        if path == page::PII {
            return post.then_some(Ok(S::PiiCreate));
        }
        if path == page::BLOCKLIST {
            return post.then_some(Ok(S::BlocklistSave));
        }
        if path == page::BLOCKLIST_TEST {
            return only(post, S::BlocklistTest);
        }
        let rest = path.strip_prefix(page::PII)?.strip_prefix('/')?;
        match rest.split_once('/').unwrap_or((rest, "")) {
            ("assignments", "") => only(post, S::PiiAssign),
            ("test", "") => only(post, S::PiiTest),
            (id, "") => {
                let id = object_id(id)?;
                if post {
                    Some(Ok(S::PiiUpdate(id)))
                } else {
                    only(get, S::PiiDetail(id))
                }
            }
            (id, "delete") => only(post, S::PiiDelete(object_id(id)?)),
            _ => None,
        }
    }

    /// The API routes (`path` is below `/api/v1/`, split at `/`).
    pub fn parse_api(method: &str, path: &[&str]) -> Option<SecurityRoute> {
        use SecurityRoute as S;
        match (method, path) {
            ("GET" | "HEAD", ["pii-patterns"]) => Some(S::ApiList),
            ("POST", ["pii-patterns"]) => Some(S::ApiCreate),
            ("GET" | "HEAD", ["pii-patterns", "library"]) => Some(S::ApiLibrary),
            ("GET" | "HEAD", ["pii-patterns", "assignments"]) => Some(S::ApiAssignments),
            ("PUT", ["pii-patterns", "assignments", pool]) => object_id(pool).map(S::ApiAssign),
            ("POST", ["pii-patterns", "test"]) => Some(S::ApiTest),
            ("GET" | "HEAD", ["pii-patterns", id]) => object_id(id).map(S::ApiGet),
            ("PUT", ["pii-patterns", id]) => object_id(id).map(S::ApiUpdate),
            ("DELETE", ["pii-patterns", id]) => object_id(id).map(S::ApiDelete),
            ("GET" | "HEAD", ["blocklist"]) => Some(S::ApiBlocklist),
            ("PUT", ["blocklist"]) => Some(S::ApiBlocklistPut),
            ("POST", ["blocklist", "test"]) => Some(S::ApiBlocklistTest),
            _ => None,
        }
    }

    /// Whether the route answers JSON to API keys.
    pub fn is_api(&self) -> bool {
        use SecurityRoute as S;
        !matches!(
            self,
            S::PiiCreate
                | S::PiiDetail(_)
                | S::PiiUpdate(_)
                | S::PiiDelete(_)
                | S::PiiAssign
                | S::PiiTest
                | S::BlocklistSave
                | S::BlocklistTest
        )
    }

    /// Whether the route only reads (the testers included): R is enough.
    pub fn reads_only(&self) -> bool {
        use SecurityRoute as S;
        matches!(
            self,
            S::PiiDetail(_)
                | S::PiiTest
                | S::BlocklistTest
                | S::ApiList
                | S::ApiGet(_)
                | S::ApiLibrary
                | S::ApiAssignments
                | S::ApiTest
                | S::ApiBlocklist
                | S::ApiBlocklistTest
        )
    }
}

impl Refusal for PolicyError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            PolicyError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

/// A refusal as the API answers it: per-field errors like the actions API, 404, 409.
fn api_error(e: PolicyError) -> Result<Response<Body>, Error> {
    match e {
        PolicyError::Invalid(problems) => Ok(invalid(&problems)),
        PolicyError::NotFound | PolicyError::UnknownPool => Err(Error::NotFound),
        PolicyError::Store(s) => Err(s.into()),
        other @ (PolicyError::DefaultKept | PolicyError::Duplicate(_) | PolicyError::TooMany) => {
            Err(Error::Conflict(other.to_string()))
        }
    }
}

fn invalid(problems: &[Problem]) -> Response<Body> {
    let fields: Vec<Value> = problems
        .iter()
        .map(|p| json!({"field": p.field, "message": p.message}))
        .collect();
    let message = PolicyError::Invalid(problems.to_vec()).to_string();
    respond::json(
        400,
        &json!({"error": {"code": "invalid", "message": message, "fields": fields}}),
    )
}

/// Serves one route.
pub async fn handle(call: &Call, route: SecurityRoute) -> Result<Response<Body>, Error> {
    use SecurityRoute as S;
    match route {
        S::ApiList => {
            let (all, assigned) = templates_and_assignments(call).await?;
            let n = all.len();
            let items = all.iter().map(|t| template_json(t, &assigned)).collect();
            Ok(list_answer(items, n, 0, n.max(1)))
        }
        S::ApiGet(id) => {
            let (all, assigned) = templates_and_assignments(call).await?;
            let t = all.iter().find(|t| t.id == id).ok_or(Error::NotFound)?;
            Ok(respond::json(200, &template_json(t, &assigned)))
        }
        S::ApiCreate => {
            let input: TemplateInput = json_body(call)?;
            match create(call, input).await? {
                Ok(t) => Ok(respond::json(201, &template_json(&t, &[]))),
                Err(e) => api_error(e),
            }
        }
        S::ApiUpdate(id) => {
            let input: TemplateInput = json_body(call)?;
            match update(call, &id, input).await? {
                Ok(t) => {
                    let (_, assigned) = templates_and_assignments(call).await?;
                    Ok(respond::json(200, &template_json(&t, &assigned)))
                }
                Err(e) => api_error(e),
            }
        }
        S::ApiDelete(id) => match delete(call, &id).await? {
            Ok((t, pools)) => Ok(respond::json(
                200,
                &json!({"id": t.id, "deleted": true, "pools_now_default": pools}),
            )),
            Err(e) => api_error(e),
        },
        S::ApiLibrary => {
            let items: Vec<Value> = LIBRARY
                .iter()
                .map(|e| json!({"key": e.key, "label": e.label, "kind": e.kind, "pattern": e.pattern}))
                .collect();
            let n = items.len();
            Ok(list_answer(items, n, 0, n))
        }
        S::ApiAssignments => {
            let (all, assigned) = templates_and_assignments(call).await?;
            let items: Vec<Value> = assigned
                .iter()
                .map(|(p, t)| {
                    let name = all.iter().find(|x| &x.id == t).map(|x| x.name.as_str());
                    json!({"pool_id": p.id, "pool_name": p.name, "template_id": t,
                           "template_name": name})
                })
                .collect();
            let n = items.len();
            Ok(list_answer(items, n, 0, n.max(1)))
        }
        S::ApiAssign(pool) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                template_id: String,
            }
            let body: Body = json_body(call)?;
            match assign(call, &pool, &body.template_id).await? {
                Ok(()) => Ok(respond::json(
                    200,
                    &json!({"pool_id": pool, "template_id": body.template_id}),
                )),
                Err(e) => api_error(e),
            }
        }
        S::ApiTest => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                #[serde(default)]
                template_id: Option<String>,
                #[serde(default)]
                variables: Option<serde_json::Map<String, Value>>,
                #[serde(default)]
                name: Option<String>,
                #[serde(default)]
                value: Option<String>,
            }
            let body: Body = json_body(call)?;
            let mut vars: Vec<(String, String)> = body
                .variables
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect();
            if body.name.is_some() || body.value.is_some() {
                vars.push((
                    body.name.unwrap_or_default(),
                    body.value.unwrap_or_default(),
                ));
            }
            if vars.len() > redaction::MAX_TEST_VARIABLES {
                return Err(Error::Invalid {
                    field: "variables",
                    message: format!("at most {}", redaction::MAX_TEST_VARIABLES),
                });
            }
            let id = body.template_id.unwrap_or_else(|| DEFAULT_ID.into());
            let verdicts = test(call, &id, &vars).await?;
            let items: Vec<Value> = verdicts.iter().map(|v| json!(v)).collect();
            let n = items.len();
            Ok(list_answer(items, n, 0, n.max(1)))
        }
        S::ApiBlocklist => {
            let list = call.state.store.read(policy::blocklist).await?;
            Ok(respond::json(200, &json!(list)))
        }
        S::ApiBlocklistPut => {
            let input: Blocklist = json_body(call)?;
            match save_blocklist(call, input).await? {
                Ok(list) => Ok(respond::json(200, &json!(list))),
                Err(e) => api_error(e),
            }
        }
        S::ApiBlocklistTest => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                location: Location,
            }
            let body: Body = json_body(call)?;
            let rule = call
                .state
                .agents
                .config
                .blocklist()
                .blocked(&body.location)
                .map(str::to_string);
            Ok(respond::json(
                200,
                &json!({"blocked": rule.is_some(), "rule": rule}),
            ))
        }
        S::PiiCreate => {
            let input = form_template(call);
            if let Some((input, note)) = library_added(call, &input) {
                let state = PiiState {
                    notice: Some(note),
                    ..PiiState::new_form(input, FormErrors::none())
                };
                return pii_page(call, state).await;
            }
            match create(call, input.clone()).await? {
                Ok(t) => Ok(respond::redirect(&format!("{}/{}", page::PII, t.id))),
                Err(e) => {
                    let errors = form_errors(e)?;
                    pii_page(call, PiiState::new_form(input, errors)).await
                }
            }
        }
        S::PiiDetail(id) => detail(call, &id, None, None).await,
        S::PiiUpdate(id) => {
            let input = form_template(call);
            if let Some((input, note)) = library_added(call, &input) {
                return detail(call, &id, Some((input, FormErrors::none())), Some(&note)).await;
            }
            match update(call, &id, input.clone()).await? {
                Ok(_) => detail(call, &id, None, Some(page::SAVED)).await,
                Err(PolicyError::NotFound) => Err(Error::NotFound),
                Err(e) => {
                    let errors = form_errors(e)?;
                    detail(call, &id, Some((input, errors)), None).await
                }
            }
        }
        S::PiiDelete(id) => match delete(call, &id).await? {
            Ok(_) => Ok(respond::redirect(page::PII)),
            Err(PolicyError::NotFound) => Err(Error::NotFound),
            Err(e) => Err(Error::Conflict(e.to_string())),
        },
        S::PiiAssign => {
            let pool = call.form.text("pool_id").to_string();
            let template = call.form.text("template_id").to_string();
            match assign(call, &pool, &template).await? {
                Ok(()) => {
                    pii_page(
                        call,
                        PiiState {
                            notice: Some(page::ASSIGNED.to_string()),
                            ..PiiState::default()
                        },
                    )
                    .await
                }
                Err(PolicyError::UnknownPool) => Err(Error::NotFound),
                Err(e) => Err(Error::BadRequest(e.to_string())),
            }
        }
        S::PiiTest => {
            let id = call.form.text("template_id").to_string();
            let text = call.form.text("variables").to_string();
            let id = if id.is_empty() {
                DEFAULT_ID.to_string()
            } else {
                id
            };
            let result = match redaction::test_variables(&text) {
                Ok(vars) => Ok(test(call, &id, &vars).await?),
                Err(why) => Err(why),
            };
            let state = PiiState {
                test: Some(page::TestView {
                    template_id: id,
                    variables: text,
                    result,
                }),
                ..PiiState::default()
            };
            pii_page(call, state).await
        }
        S::BlocklistSave => {
            let input = Blocklist {
                rules: redaction::lines(call.form.text("rules")),
                exceptions: redaction::lines(call.form.text("exceptions")),
            };
            match save_blocklist(call, input.clone()).await? {
                Ok(list) => {
                    blocklist_page(call, &list, FormErrors::none(), Some(page::SAVED), None).await
                }
                Err(e) => {
                    let errors = form_errors(e)?;
                    blocklist_page(call, &input, errors, None, None).await
                }
            }
        }
        S::BlocklistTest => {
            let text = call.form.text("location").trim().to_string();
            let location = location_of(&text);
            let rule = location.as_ref().and_then(|l| {
                call.state
                    .agents
                    .config
                    .blocklist()
                    .blocked(l)
                    .map(str::to_string)
            });
            let list = call.state.store.read(policy::blocklist).await?;
            let test = page::LocationTest {
                location: text,
                valid: location.is_some(),
                rule,
            };
            blocklist_page(call, &list, FormErrors::none(), None, Some(test)).await
        }
    }
}

/// A location typed into the tester: `File.java:12` or a path with a line is a line, anything
/// else a class (`com.acme.Keys`, optionally `#method`).
fn location_of(text: &str) -> Option<Location> {
    if text.is_empty() || text.len() > 1024 || text.chars().any(char::is_whitespace) {
        return None;
    }
    if let Some((file, line)) = text.rsplit_once(':')
        && let Ok(line) = line.parse::<u32>()
    {
        return Some(Location::Line {
            file: file.to_string(),
            line,
        });
    }
    if text.contains('/')
        || blocklist::SOURCE_EXTENSIONS
            .iter()
            .any(|e| text.ends_with(e))
    {
        return Some(Location::Line {
            file: text.to_string(),
            line: 1,
        });
    }
    let (class, method) = text.split_once('#').unwrap_or((text, "method"));
    Some(Location::Method {
        class: class.to_string(),
        method: method.to_string(),
    })
}

/// The Default pool first, then by name, each with the template it uses.
async fn templates_and_assignments(
    call: &Call,
) -> Result<(Vec<Template>, Vec<(Pool, String)>), Error> {
    Ok(call
        .state
        .store
        .read(|tx| {
            let all = policy::templates(tx)?;
            let map = policy::assignments(tx)?;
            let pools = pools::list(tx)?
                .into_iter()
                .map(|p| {
                    let t = map
                        .get(&p.id)
                        .cloned()
                        .unwrap_or_else(|| DEFAULT_ID.to_string());
                    (p, t)
                })
                .collect();
            Ok((all, pools))
        })
        .await?)
}

fn template_json(t: &Template, assigned: &[(Pool, String)]) -> Value {
    let pools: Vec<&str> = assigned
        .iter()
        .filter(|(_, id)| *id == t.id)
        .map(|(p, _)| p.id.as_str())
        .collect();
    json!({
        "id": t.id,
        "name": t.name,
        "name_patterns": t.rules.name_patterns,
        "value_patterns": t.rules.value_patterns,
        "card_numbers": t.rules.card_numbers,
        "private_keys": t.rules.private_keys,
        "pools": pools,
        "created": (t.created_ms > 0).then(|| time(t.created_ms)),
        "updated": (t.updated_ms > 0).then(|| time(t.updated_ms)),
    })
}

fn template_details(t: &Template) -> Value {
    json!({"name": t.name, "name_patterns": t.rules.name_patterns,
           "value_patterns": t.rules.value_patterns, "card_numbers": t.rules.card_numbers,
           "private_keys": t.rules.private_keys})
}

/// Puts a change in force on the connected agents; a store failure here is logged, since
/// the change itself is saved and agents get it on their next connect.
async fn push(call: &Call) {
    match call.state.agents.config.changed().await {
        Ok(n) => tracing::info!(agents = n, "configuration sent to connected agents"),
        Err(e) => tracing::warn!("configuration not reloaded: {e}"),
    }
}

async fn create(call: &Call, input: TemplateInput) -> Result<Result<Template, PolicyError>, Error> {
    let done = audited(call, "pii.template.create", "", move |tx, _, now| {
        let t = policy::create_template(tx, &input, now)?;
        Ok(Change {
            target: t.id.clone(),
            details: template_details(&t),
            value: t,
        })
    })
    .await?;
    if done.is_ok() {
        push(call).await;
    }
    Ok(done)
}

async fn update(
    call: &Call,
    id: &str,
    input: TemplateInput,
) -> Result<Result<Template, PolicyError>, Error> {
    let tid = id.to_string();
    let done = audited(call, "pii.template.update", id, move |tx, _, now| {
        let t = policy::update_template(tx, &tid, &input, now)?;
        Ok(Change {
            target: t.id.clone(),
            details: template_details(&t),
            value: t,
        })
    })
    .await?;
    if done.is_ok() {
        push(call).await;
    }
    Ok(done)
}

async fn delete(
    call: &Call,
    id: &str,
) -> Result<Result<(Template, Vec<String>), PolicyError>, Error> {
    let tid = id.to_string();
    let done = audited(call, "pii.template.delete", id, move |tx, _, _| {
        let (t, pools) = policy::delete_template(tx, &tid)?;
        Ok(Change {
            target: t.id.clone(),
            details: json!({"name": t.name, "pools_now_default": pools}),
            value: (t, pools),
        })
    })
    .await?;
    if done.is_ok() {
        push(call).await;
    }
    Ok(done)
}

async fn assign(call: &Call, pool: &str, template: &str) -> Result<Result<(), PolicyError>, Error> {
    let (p, t) = (pool.to_string(), template.to_string());
    let done = audited(call, "pii.assignment.update", pool, move |tx, _, _| {
        let before = policy::assign(tx, &p, &t)?;
        Ok(Change {
            target: p.clone(),
            details: json!({"template_id": t, "before": before}),
            value: (),
        })
    })
    .await?;
    if done.is_ok() {
        push(call).await;
    }
    Ok(done)
}

async fn save_blocklist(
    call: &Call,
    input: Blocklist,
) -> Result<Result<Blocklist, PolicyError>, Error> {
    let done = audited(call, "blocklist.update", "blocklist", move |tx, _, _| {
        let before = policy::blocklist(tx)?;
        let list = policy::set_blocklist(tx, &input)?;
        Ok(Change {
            target: "blocklist".into(),
            details: json!({"rules": list.rules, "exceptions": list.exceptions,
                            "before": before}),
            value: list,
        })
    })
    .await?;
    if done.is_ok() {
        push(call).await;
    }
    Ok(done)
}

/// What template `id` does to `vars` (404 for an unknown template).
async fn test(call: &Call, id: &str, vars: &[(String, String)]) -> Result<Vec<Verdict>, Error> {
    let tid = id.to_string();
    let t = call
        .state
        .store
        .read(move |tx| policy::template(tx, &tid))
        .await?
        .ok_or(Error::NotFound)?;
    let compiled =
        redaction::Compiled::new(&t.rules).map_err(|e| Error::Conflict(e.to_string()))?;
    Ok(compiled.explain(vars))
}

fn form_template(call: &Call) -> TemplateInput {
    let f = &call.form;
    TemplateInput {
        name: f.text("name").to_string(),
        name_patterns: redaction::lines(f.text("name_patterns")),
        value_patterns: redaction::lines(f.text("value_patterns")),
        card_numbers: f.get("card_numbers").is_some(),
        private_keys: f.get("private_keys").is_some(),
    }
}

/// A library button pressed instead of Save: the form with that pattern added, and a note.
fn library_added(call: &Call, input: &TemplateInput) -> Option<(TemplateInput, String)> {
    let key = call.form.get("add")?;
    let e = redaction::library_entry(key)?;
    let mut input = input.clone();
    input.add_library(e);
    let note = format!(
        "Added \"{}\" to the form. Nothing is saved until you press Save.",
        e.label
    );
    Some((input, note))
}

/// Every refusal next to its field, with a summary on top.
fn form_errors(e: PolicyError) -> Result<FormErrors, Error> {
    let summary = "Nothing was saved. Please correct the fields marked below.";
    match e {
        PolicyError::Invalid(problems) => {
            let mut errors = FormErrors::none().with_summary(summary);
            for p in problems {
                let message = match errors.field(p.field) {
                    Some(before) => format!("{before} {}", p.message),
                    None => p.message,
                };
                errors = errors.with_field(p.field, message);
            }
            Ok(errors)
        }
        PolicyError::Duplicate(_) => Ok(FormErrors::none()
            .with_summary(summary)
            .with_field("name", e.to_string())),
        PolicyError::Store(s) => Err(s.into()),
        other => Ok(FormErrors::none().with_summary(other.to_string())),
    }
}

/// Whether a form came back refused (a field error), rather than with a library pattern added.
fn refused(e: &FormErrors) -> bool {
    ["name", "name_patterns", "value_patterns"]
        .iter()
        .any(|f| e.field(f).is_some())
}

fn may_change(call: &Call) -> bool {
    call.roles()
        .is_some_and(|r| roles::allows(r, Permission::PiiAndBlocklist, Need::Administer))
}

/// What the PII Redaction page shows besides the lists.
#[derive(Debug, Default)]
struct PiiState {
    form: Option<(TemplateInput, FormErrors)>,
    notice: Option<String>,
    test: Option<page::TestView>,
}

impl PiiState {
    fn new_form(input: TemplateInput, errors: FormErrors) -> PiiState {
        PiiState {
            form: Some((input, errors)),
            ..PiiState::default()
        }
    }
}

/// `GET /settings/security/pii-redaction`.
pub async fn pii(call: &Call) -> Result<Response<Body>, Error> {
    pii_page(call, PiiState::default()).await
}

async fn pii_page(call: &Call, state: PiiState) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (templates, assigned) = templates_and_assignments(call).await?;
    let refused = state.form.as_ref().is_some_and(|(_, e)| refused(e));
    let (form, errors) = state.form.unwrap_or_else(|| {
        (
            TemplateInput {
                name: String::new(),
                ..TemplateInput::default()
            },
            FormErrors::none(),
        )
    });
    let view = page::PiiView {
        templates: &templates,
        assigned: &assigned,
        can_change: may_change(call),
        form: &form,
        errors: &errors,
        notice: state.notice.as_deref(),
        test: state.test.as_ref(),
        now_ms: call.state.clock.now_ms(),
    };
    let markup = super::portal::framed(&call.state, p, page::PII, |ctx| page::pii(ctx, &view));
    Ok(respond::html(if refused { 400 } else { 200 }, markup))
}

async fn detail(
    call: &Call,
    id: &str,
    failed: Option<(TemplateInput, FormErrors)>,
    notice: Option<&str>,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let (templates, assigned) = templates_and_assignments(call).await?;
    let t = templates
        .iter()
        .find(|t| t.id == id)
        .ok_or(Error::NotFound)?;
    let refused = failed.as_ref().is_some_and(|(_, e)| refused(e));
    let (form, errors) = failed.unwrap_or_else(|| (TemplateInput::of(t), FormErrors::none()));
    let pools: Vec<&Pool> = assigned
        .iter()
        .filter(|(_, tid)| *tid == t.id)
        .map(|(p, _)| p)
        .collect();
    let view = page::TemplateView {
        template: t,
        pools: &pools,
        can_change: may_change(call),
        form: &form,
        errors: &errors,
        notice,
        now_ms: call.state.clock.now_ms(),
    };
    let markup = super::portal::framed(&call.state, p, page::PII, |ctx| page::template(ctx, &view));
    Ok(respond::html(if refused { 400 } else { 200 }, markup))
}

/// `GET /settings/security/blocklist`.
pub async fn blocklist_list(call: &Call) -> Result<Response<Body>, Error> {
    let list = call.state.store.read(policy::blocklist).await?;
    blocklist_page(call, &list, FormErrors::none(), None, None).await
}

async fn blocklist_page(
    call: &Call,
    list: &Blocklist,
    errors: FormErrors,
    notice: Option<&str>,
    test: Option<page::LocationTest>,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let code = if errors.is_empty() { 200 } else { 400 };
    let view = page::BlocklistView {
        list,
        can_change: may_change(call),
        errors: &errors,
        notice,
        test: test.as_ref(),
    };
    let markup = super::portal::framed(&call.state, p, page::BLOCKLIST, |ctx| {
        page::blocklist(ctx, &view)
    });
    Ok(respond::html(code, markup))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        use SecurityRoute as S;
        let api = SecurityRoute::parse_api;
        assert_eq!(api("GET", &["pii-patterns"]), Some(S::ApiList));
        assert_eq!(
            api("GET", &["pii-patterns", "library"]),
            Some(S::ApiLibrary)
        );
        assert_eq!(
            api("GET", &["pii-patterns", "ab12"]),
            Some(S::ApiGet("ab12".into()))
        );
        assert_eq!(
            api("PUT", &["pii-patterns", "assignments", "default"]),
            Some(S::ApiAssign("default".into()))
        );
        assert_eq!(api("POST", &["pii-patterns", "test"]), Some(S::ApiTest));
        assert_eq!(api("PUT", &["blocklist"]), Some(S::ApiBlocklistPut));
        assert_eq!(api("DELETE", &["blocklist"]), None);
        let portal = SecurityRoute::parse_portal;
        assert_eq!(portal(false, true, page::PII), Some(Ok(S::PiiCreate)));
        assert_eq!(portal(true, false, page::PII), None, "the page itself");
        assert_eq!(
            portal(true, false, &format!("{}/ab12", page::PII)),
            Some(Ok(S::PiiDetail("ab12".into())))
        );
        assert_eq!(
            portal(true, false, &format!("{}/test", page::PII)),
            Some(Err(NoRoute::Method))
        );
        assert_eq!(
            portal(false, true, page::BLOCKLIST_TEST),
            Some(Ok(S::BlocklistTest))
        );
        assert!(S::PiiTest.reads_only() && !S::PiiAssign.reads_only());
        assert!(S::ApiTest.is_api() && !S::PiiTest.is_api());
    }

    #[test]
    fn tester_locations() {
        assert_eq!(
            location_of("com/acme/A.java:12"),
            Some(Location::Line {
                file: "com/acme/A.java".into(),
                line: 12
            })
        );
        assert_eq!(
            location_of("com.acme.Keys#load"),
            Some(Location::Method {
                class: "com.acme.Keys".into(),
                method: "load".into()
            })
        );
        assert_eq!(location_of("a b"), None);
    }
}
