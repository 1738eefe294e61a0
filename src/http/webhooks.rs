//! Webhooks over HTTP: the portal page (Settings › Runtime Reachability › Webhooks: list,
//! create, edit, delete, rotate the secret, send a test, the delivery log) and
//! `/api/v1/webhooks` (list, create), `/api/v1/webhooks/{id}` (get, update, delete),
//! `/api/v1/webhooks/{id}/test`, `/api/v1/webhooks/{id}/rotate-secret` and
//! `/api/v1/webhooks/{id}/deliveries`.
//!
//! Changes, rotations and tests are audited (`webhook.create`, `.update`, `.delete`,
//! `.rotate_secret`, `.test`) in the same transaction as the change. The secret appears in an
//! answer only at creation and rotation. Custom header values may hold credentials for the
//! receiver, so only callers who may change webhooks see them; readers see the names.

use hyper::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::{Change, Refusal, audited, principal};
use super::api::{list_answer, paging, time};
use super::api_iam::json_body;
use super::handler::Call;
use super::respond::{self, Body};
use super::router::object_id;
use crate::error::Error;
use crate::iam::roles::{self, Need, Permission};
use crate::integrations::webhooks::{
    self as hooks, Delivery, EventType, FieldError, HeaderInput, Webhook, WebhookError,
    WebhookEvent, WebhookInput,
};
use crate::security::audit::{AuditEvent, Outcome};
use crate::store::StoreError;
use crate::ui::components::FormErrors;
use crate::ui::pages::webhooks as page;

/// Where the page lives.
pub const BASE: &str = "/settings/reachability/webhooks";
/// Delivery attempts shown on the page.
const LOG_SHOWN: usize = 50;

/// The webhook routes besides the list page itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhooksRoute {
    /// `POST /settings/reachability/webhooks`: create from the page.
    Create,
    /// `GET /settings/reachability/webhooks/{id}`: edit form, actions, delivery log.
    Detail(String),
    /// `POST /settings/reachability/webhooks/{id}`: save the edit form.
    Update(String),
    /// `POST /settings/reachability/webhooks/{id}/rotate`
    Rotate(String),
    /// `POST /settings/reachability/webhooks/{id}/test`
    Test(String),
    /// `POST /settings/reachability/webhooks/{id}/delete`
    Delete(String),
    /// `GET /api/v1/webhooks`
    ApiList,
    /// `POST /api/v1/webhooks`
    ApiCreate,
    /// `GET /api/v1/webhooks/{id}`
    ApiGet(String),
    /// `PATCH /api/v1/webhooks/{id}`
    ApiUpdate(String),
    /// `DELETE /api/v1/webhooks/{id}`
    ApiDelete(String),
    /// `POST /api/v1/webhooks/{id}/test`
    ApiTest(String),
    /// `POST /api/v1/webhooks/{id}/rotate-secret`
    ApiRotate(String),
    /// `GET /api/v1/webhooks/{id}/deliveries`
    ApiDeliveries(String),
}

impl WebhooksRoute {
    /// The portal routes below [`BASE`] (the list itself is a navigation page).
    pub fn parse_portal(
        get: bool,
        post: bool,
        path: &str,
    ) -> Option<Result<WebhooksRoute, super::router::NoRoute>> {
        use super::router::NoRoute;
        if path == BASE {
            return post.then_some(Ok(WebhooksRoute::Create));
        }
        let rest = path.strip_prefix(BASE)?.strip_prefix('/')?;
        let (id, verb) = rest.split_once('/').unwrap_or((rest, ""));
        let id = object_id(id)?;
        let only = |ok: bool, r: WebhooksRoute| Some(if ok { Ok(r) } else { Err(NoRoute::Method) });
        match verb {
            "" if post => Some(Ok(WebhooksRoute::Update(id))),
            "" => only(get, WebhooksRoute::Detail(id)),
            "rotate" => only(post, WebhooksRoute::Rotate(id)),
            "test" => only(post, WebhooksRoute::Test(id)),
            "delete" => only(post, WebhooksRoute::Delete(id)),
            _ => None,
        }
    }

    /// The API routes (`path` is below `/api/v1/`, split at `/`).
    pub fn parse_api(method: &str, path: &[&str]) -> Option<WebhooksRoute> {
        use WebhooksRoute as W;
        match (method, path) {
            ("GET" | "HEAD", ["webhooks"]) => Some(W::ApiList),
            ("POST", ["webhooks"]) => Some(W::ApiCreate),
            ("GET" | "HEAD", ["webhooks", id]) => object_id(id).map(W::ApiGet),
            ("PATCH", ["webhooks", id]) => object_id(id).map(W::ApiUpdate),
            ("DELETE", ["webhooks", id]) => object_id(id).map(W::ApiDelete),
            ("POST", ["webhooks", id, "test"]) => object_id(id).map(W::ApiTest),
            ("POST", ["webhooks", id, "rotate-secret"]) => object_id(id).map(W::ApiRotate),
            ("GET" | "HEAD", ["webhooks", id, "deliveries"]) => object_id(id).map(W::ApiDeliveries),
            _ => None,
        }
    }

    /// Whether the route answers JSON to API keys.
    pub fn is_api(&self) -> bool {
        use WebhooksRoute as W;
        matches!(
            self,
            W::ApiList
                | W::ApiCreate
                | W::ApiGet(_)
                | W::ApiUpdate(_)
                | W::ApiDelete(_)
                | W::ApiTest(_)
                | W::ApiRotate(_)
                | W::ApiDeliveries(_)
        )
    }

    /// Whether the route only reads.
    pub fn reads_only(&self) -> bool {
        use WebhooksRoute as W;
        matches!(
            self,
            W::Detail(_) | W::ApiList | W::ApiGet(_) | W::ApiDeliveries(_)
        )
    }
}

impl Refusal for WebhookError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            WebhookError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

impl From<WebhookError> for Error {
    fn from(e: WebhookError) -> Error {
        match e {
            WebhookError::Invalid(FieldError { field, message }) => {
                Error::Invalid { field, message }
            }
            WebhookError::NotFound => Error::NotFound,
            WebhookError::TooMany => Error::Conflict(e.to_string()),
            WebhookError::Store(s) => Error::from(s),
        }
    }
}

/// Serves one route.
pub async fn handle(call: &Call, route: WebhooksRoute) -> Result<Response<Body>, Error> {
    use WebhooksRoute as W;
    let writer = may_change(call);
    match route {
        W::ApiList => {
            let (offset, limit) = paging(call)?;
            let all = call.state.store.read(hooks::list).await?;
            let total = all.len();
            let items = all
                .iter()
                .skip(offset)
                .take(limit)
                .map(|h| webhook_json(h, writer))
                .collect();
            Ok(list_answer(items, total, offset, limit))
        }
        W::ApiGet(id) => Ok(respond::json(
            200,
            &webhook_json(&one(call, &id).await?, writer),
        )),
        W::ApiCreate => {
            let input: WebhookInput = json_body(call)?;
            let hook = create(call, input).await?.map_err(Error::from)?;
            Ok(respond::json(201, &with_secret(&hook)))
        }
        W::ApiUpdate(id) => {
            let patch: Patch = json_body(call)?;
            let current = one(call, &id).await?;
            let hook = update(call, &id, patch.apply(&current))
                .await?
                .map_err(Error::from)?;
            Ok(respond::json(200, &webhook_json(&hook, true)))
        }
        W::ApiDelete(id) => {
            let hook = delete(call, &id).await?.map_err(Error::from)?;
            Ok(respond::json(200, &webhook_json(&hook, true)))
        }
        W::ApiRotate(id) => {
            let hook = rotate(call, &id).await?.map_err(Error::from)?;
            Ok(respond::json(200, &with_secret(&hook)))
        }
        W::ApiTest(id) => {
            let d = send_test(call, &id).await?;
            Ok(respond::json(200, &delivery_json(&d)))
        }
        W::ApiDeliveries(id) => {
            let (offset, limit) = paging(call)?;
            one(call, &id).await?;
            let (items, total) = call
                .state
                .store
                .read(move |tx| hooks::deliveries(tx, &id, offset, limit))
                .await?;
            Ok(list_answer(
                items.iter().map(delivery_json).collect(),
                total,
                offset,
                limit,
            ))
        }
        W::Create => {
            let input = form_input(call);
            match create(call, input.clone()).await? {
                Ok(hook) => {
                    detail(
                        call,
                        &hook.id,
                        Notice::Secret(
                            "The webhook was created. Its signing secret:",
                            hook.secret.clone(),
                        ),
                    )
                    .await
                }
                Err(e) => {
                    let errors = form_errors(call, &input, e)?;
                    list_page(call, Some((input, errors))).await
                }
            }
        }
        W::Detail(id) => detail(call, &id, Notice::None).await,
        W::Update(id) => {
            let input = form_input(call);
            match update(call, &id, input.clone()).await? {
                Ok(_) => detail(call, &id, Notice::Text("The webhook was saved.".into())).await,
                Err(e) => {
                    let errors = form_errors(call, &input, e)?;
                    detail_with(call, &id, Notice::None, Some((input, errors))).await
                }
            }
        }
        W::Rotate(id) => {
            let hook = rotate(call, &id).await?.map_err(Error::from)?;
            detail(
                call,
                &id,
                Notice::Secret(
                    "A new signing secret was made; the old one no longer signs. The new secret:",
                    hook.secret,
                ),
            )
            .await
        }
        W::Test(id) => {
            let d = send_test(call, &id).await?;
            let text = if d.ok {
                format!(
                    "The test event was delivered: HTTP {} in {} ms.",
                    d.status.unwrap_or(0),
                    d.latency_ms
                )
            } else {
                format!(
                    "The test event was not delivered: {}{}",
                    d.error.as_deref().unwrap_or("unknown error"),
                    if d.retrying {
                        " — retrying, see the delivery log."
                    } else {
                        "."
                    }
                )
            };
            detail(
                call,
                &id,
                if d.ok {
                    Notice::Text(text)
                } else {
                    Notice::Problem(text)
                },
            )
            .await
        }
        W::Delete(id) => {
            let hook = delete(call, &id).await?.map_err(Error::from)?;
            let _ = hook;
            Ok(respond::redirect(BASE))
        }
    }
}

/// What a page says on top.
enum Notice {
    None,
    Text(String),
    Problem(String),
    Secret(&'static str, String),
}

/// The list page (`GET` of the navigation entry), with the create form.
pub async fn list(call: &Call) -> Result<Response<Body>, Error> {
    list_page(call, None).await
}

async fn list_page(
    call: &Call,
    failed: Option<(WebhookInput, FormErrors)>,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let all = call.state.store.read(hooks::list).await?;
    let status = if failed.is_some() { 400 } else { 200 };
    let (input, errors) = failed.unwrap_or_else(|| {
        (
            WebhookInput {
                enabled: true,
                ..Default::default()
            },
            FormErrors::none(),
        )
    });
    let view = page::ListView {
        hooks: &all,
        can_change: may_change(call),
        form: &input,
        errors: &errors,
    };
    let markup = super::portal::framed(&call.state, p, BASE, |ctx| page::list(ctx, &view));
    Ok(respond::html(status, markup))
}

async fn detail(call: &Call, id: &str, notice: Notice) -> Result<Response<Body>, Error> {
    detail_with(call, id, notice, None).await
}

async fn detail_with(
    call: &Call,
    id: &str,
    notice: Notice,
    failed: Option<(WebhookInput, FormErrors)>,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let hook = one(call, id).await?;
    let hid = hook.id.clone();
    let (log, _) = call
        .state
        .store
        .read(move |tx| hooks::deliveries(tx, &hid, 0, LOG_SHOWN))
        .await?;
    let status = if failed.is_some() { 400 } else { 200 };
    let (input, errors) = failed.unwrap_or_else(|| (input_of(&hook), FormErrors::none()));
    let (notice, problem, secret) = match notice {
        Notice::None => (None, None, None),
        Notice::Text(t) => (Some(t), None, None),
        Notice::Problem(t) => (None, Some(t), None),
        Notice::Secret(label, s) => (Some(label.to_string()), None, Some(s)),
    };
    let view = page::DetailView {
        hook: &hook,
        log: &log,
        can_change: may_change(call),
        form: &input,
        errors: &errors,
        notice: notice.as_deref(),
        problem: problem.as_deref(),
        secret: secret.as_deref(),
        now_ms: call.state.clock.now_ms(),
    };
    let markup = super::portal::framed(&call.state, p, BASE, |ctx| page::detail(ctx, &view));
    Ok(respond::html(status, markup))
}

fn may_change(call: &Call) -> bool {
    call.roles()
        .is_some_and(|r| roles::allows(r, Permission::WatchedPackages, Need::Administer))
}

async fn one(call: &Call, id: &str) -> Result<Webhook, Error> {
    let id = id.to_string();
    call.state
        .store
        .read(move |tx| hooks::get(tx, &id))
        .await?
        .ok_or(Error::NotFound)
}

fn details(h: &Webhook) -> Value {
    // Never the secret nor header values: the audit trail is readable by more people.
    json!({
        "name": h.name,
        "url": h.url,
        "headers": h.headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        "enabled": h.enabled,
    })
}

/// The input checked; the first refusal (the form shows them all, see [`form_errors`]).
fn checked(call: &Call, input: &WebhookInput) -> Result<hooks::Checked, FieldError> {
    hooks::check(input, call.state.webhooks.allow_http_loopback()).map_err(|errors| {
        errors.into_iter().next().unwrap_or_else(|| FieldError {
            field: "name",
            message: "not accepted".into(),
        })
    })
}

/// All refusals of an input, for the form (the API reports the first).
fn all_errors(call: &Call, input: &WebhookInput) -> Vec<FieldError> {
    hooks::check(input, call.state.webhooks.allow_http_loopback())
        .err()
        .unwrap_or_default()
}

async fn create(call: &Call, input: WebhookInput) -> Result<Result<Webhook, WebhookError>, Error> {
    let c = checked(call, &input);
    audited(call, "webhook.create", "", move |tx, _, now| {
        let hook = hooks::create(tx, &c.clone()?, now)?;
        Ok(Change {
            target: hook.id.clone(),
            details: details(&hook),
            value: hook,
        })
    })
    .await
}

async fn update(
    call: &Call,
    id: &str,
    input: WebhookInput,
) -> Result<Result<Webhook, WebhookError>, Error> {
    let c = checked(call, &input);
    let hid = id.to_string();
    audited(call, "webhook.update", id, move |tx, _, now| {
        let hook = hooks::update(tx, &hid, &c.clone()?, now)?;
        Ok(Change {
            target: hook.id.clone(),
            details: details(&hook),
            value: hook,
        })
    })
    .await
}

async fn rotate(call: &Call, id: &str) -> Result<Result<Webhook, WebhookError>, Error> {
    let hid = id.to_string();
    audited(call, "webhook.rotate_secret", id, move |tx, _, now| {
        let hook = hooks::rotate(tx, &hid, now)?;
        Ok(Change {
            target: hook.id.clone(),
            details: json!({"name": hook.name}),
            value: hook,
        })
    })
    .await
}

async fn delete(call: &Call, id: &str) -> Result<Result<Webhook, WebhookError>, Error> {
    let hid = id.to_string();
    audited(call, "webhook.delete", id, move |tx, _, _| {
        let hook = hooks::delete(tx, &hid)?;
        Ok(Change {
            target: hook.id.clone(),
            details: details(&hook),
            value: hook,
        })
    })
    .await
}

/// Sends a `test` event and answers its first attempt; audited with the outcome.
async fn send_test(call: &Call, id: &str) -> Result<Delivery, Error> {
    let hook = one(call, id).await?;
    let event = WebhookEvent::new(
        EventType::Test,
        call.state.clock.now_ms(),
        "Lantern test event",
        &format!(
            "A test event for the webhook \"{}\", sent by {}.",
            hook.name,
            call.actor().label()
        ),
    );
    let result = call.state.webhooks.test(&hook.id, event).await;
    let (outcome, detail) = match &result {
        Ok(d) => (
            if d.ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            json!({"status": d.status, "latency_ms": d.latency_ms, "error": d.error, "event": d.event_id}),
        ),
        Err(e) => (Outcome::Failure, json!({"error": e.to_string()})),
    };
    call.audit(
        AuditEvent::new("webhook.test", call.actor(), outcome)
            .target(hook.id.clone())
            .details(detail),
    )
    .await;
    result.map_err(|e| match e {
        crate::integrations::delivery::TestError::Busy => Error::TooManyRequests {
            retry_after_secs: 5,
        },
        crate::integrations::delivery::TestError::Timeout => Error::Timeout,
    })
}

/// `PATCH` body: what is given replaces, the rest stays.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    name: Option<String>,
    url: Option<String>,
    headers: Option<Vec<HeaderInput>>,
    template: Option<String>,
    enabled: Option<bool>,
}

impl Patch {
    fn apply(self, h: &Webhook) -> WebhookInput {
        let current = input_of(h);
        WebhookInput {
            name: self.name.unwrap_or(current.name),
            url: self.url.unwrap_or(current.url),
            headers: self.headers.unwrap_or(current.headers),
            template: self.template.unwrap_or(current.template),
            enabled: self.enabled.unwrap_or(current.enabled),
        }
    }
}

fn input_of(h: &Webhook) -> WebhookInput {
    WebhookInput {
        name: h.name.clone(),
        url: h.url.clone(),
        headers: h
            .headers
            .iter()
            .map(|(n, v)| HeaderInput {
                name: n.clone(),
                value: v.clone(),
            })
            .collect(),
        template: h.template.clone(),
        enabled: h.enabled,
    }
}

/// The form's fields; headers come one per line as `Name: value`.
fn form_input(call: &Call) -> WebhookInput {
    let f = &call.form;
    WebhookInput {
        name: f.text("name").to_string(),
        url: f.text("url").to_string(),
        headers: f
            .text("headers")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap_or((l, ""));
                HeaderInput {
                    name: n.trim().to_string(),
                    value: v.trim().to_string(),
                }
            })
            .collect(),
        template: f.text("template").to_string(),
        enabled: f.get("enabled").is_some(),
    }
}

/// Every refusal next to its field, with a summary on top.
fn form_errors(call: &Call, input: &WebhookInput, e: WebhookError) -> Result<FormErrors, Error> {
    match e {
        WebhookError::Invalid(first) => {
            let mut all = all_errors(call, input);
            if all.is_empty() {
                all.push(first);
            }
            let mut errors = FormErrors::none()
                .with_summary("The webhook was not saved. Please correct the fields marked below.");
            for FieldError { field, message } in all {
                errors = errors.with_field(field, message);
            }
            Ok(errors)
        }
        WebhookError::TooMany => Ok(FormErrors::none().with_summary(e.to_string())),
        other => Err(other.into()),
    }
}

fn webhook_json(h: &Webhook, show_values: bool) -> Value {
    json!({
        "id": h.id,
        "name": h.name,
        "url": h.url,
        "headers": h.headers.iter().map(|(n, v)| json!({
            "name": n,
            "value": if show_values { Value::String(v.clone()) } else { Value::Null },
        })).collect::<Vec<_>>(),
        "template": h.template,
        "enabled": h.enabled,
        "created_at": time(h.created_ms),
        "updated_at": time(h.updated_ms),
        "secret_created_at": time(h.secret_ms),
    })
}

fn with_secret(h: &Webhook) -> Value {
    let mut v = webhook_json(h, true);
    if let Some(o) = v.as_object_mut() {
        o.insert("secret".into(), Value::String(h.secret.clone()));
    }
    v
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "at": time(d.at_ms),
        "event_id": d.event_id,
        "event_type": d.event_type.as_str(),
        "attempt": d.attempt,
        "status": d.status,
        "latency_ms": d.latency_ms,
        "ok": d.ok,
        "error": d.error,
        "retrying": d.retrying,
    })
}
