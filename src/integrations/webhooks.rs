//! Webhooks: the stored definition (name, URL, custom headers, JSON body template, secret,
//! enabled), its validation, the body template, the signature, the back-off schedule and the
//! bounded delivery log.
//!
//! Decisions, each for a reason:
//! - URLs are `https://`. Plain `http://` is accepted only to a loopback address and only when
//!   `[webhooks] allow_http_loopback` is on (tests, a local relay): an event names packages
//!   and classes of production systems and must not cross a network in clear.
//! - The secret is 256 bits of OS randomness shown as 64 hex characters, once at creation and
//!   once per rotation. It is kept as is in the store (not hashed) because the appliance
//!   must sign with it; it never leaves through the API or the portal after it was shown.
//! - Signature: `X-Lantern-Signature: sha256=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + BODY))`
//!   with `X-Lantern-Timestamp: TIMESTAMP` (unix seconds). The timestamp is signed so a
//!   receiver can refuse replays of an old body. The HMAC key is the 64 characters as shown.
//! - Placeholders `${ID}` `${DATE}` `${TYPE}` `${TITLE}` `${EVENT_MSG}` are replaced by the
//!   JSON-escaped text *without* quotes, so they belong inside JSON strings; the template is
//!   checked on save by rendering it with awkward sample values and parsing the result.
//!
//! Storage: [`WEBHOOKS`] by id (JSON [`Webhook`]); [`DELIVERIES`] by (webhook id, newest
//! first), JSON [`Delivery`], at most [`MAX_DELIVERIES_KEPT`] per webhook.

use std::time::Duration;

use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::iam::tokens;
use crate::store::{ReadTx, StoreError, Table, WriteTx};

/// Webhook definitions by id.
pub const WEBHOOKS: Table = Table::new("webhooks_v1");
/// Delivery attempts by (webhook id, `u64::MAX - at_ms`, attempt, event id): newest first.
pub const DELIVERIES: Table = Table::new("webhook_deliveries_v1");

/// Most webhooks (a bound on what one fire fans out to).
pub const MAX_WEBHOOKS: usize = 100;
/// Delivery attempts kept per webhook; older ones are dropped as new ones are written.
pub const MAX_DELIVERIES_KEPT: usize = 200;
/// Custom headers per webhook.
pub const MAX_HEADERS: usize = 20;
/// Longest header name and value.
pub const MAX_HEADER_NAME: usize = 64;
/// Longest header value.
pub const MAX_HEADER_VALUE: usize = 1024;
/// Longest body template in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
/// Longest URL.
pub const MAX_URL: usize = 2048;
/// Longest name.
pub const MAX_NAME: usize = 100;
/// Longest error text kept in a delivery record.
const MAX_ERROR_TEXT: usize = 300;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-lantern-signature";
/// The header carrying the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "x-lantern-timestamp";
/// The header naming the event type.
pub const EVENT_HEADER: &str = "x-lantern-event";
/// The header carrying the event id (the same for every attempt of one event).
pub const DELIVERY_HEADER: &str = "x-lantern-delivery";

/// The template a new webhook starts with.
pub const DEFAULT_TEMPLATE: &str = r#"{"id":"${ID}","date":"${DATE}","type":"${TYPE}","title":"${TITLE}","message":"${EVENT_MSG}"}"#;

/// Headers a user may not set: hop-by-hop headers (they describe one connection, not the
/// message), the ones the client computes itself, and our own signature headers.
const REFUSED_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-type",
];

/// Event types. The reachability work fires the first three; `test` comes from "send test".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A watched package was loaded by an agent.
    WatchedPackageLoaded,
    /// A watched class was loaded by an agent.
    WatchedClassLoaded,
    /// A package with a known vulnerability was loaded for the first time in a pool.
    VulnerablePackageLoaded,
    /// A test event sent from the portal or the API.
    Test,
}

impl EventType {
    /// The name used in bodies, headers and the delivery log.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::WatchedPackageLoaded => "watched_package_loaded",
            EventType::WatchedClassLoaded => "watched_class_loaded",
            EventType::VulnerablePackageLoaded => "vulnerable_package_loaded",
            EventType::Test => "test",
        }
    }
}

/// One event to deliver: the values of the placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Unique per event (`${ID}`); the receiver can de-duplicate retries with it.
    pub id: String,
    /// What happened (`${TYPE}`).
    pub event_type: EventType,
    /// When it happened, unix ms (`${DATE}`, as RFC 3339).
    pub at_ms: i64,
    /// One line (`${TITLE}`).
    pub title: String,
    /// The details (`${EVENT_MSG}`).
    pub message: String,
}

impl WebhookEvent {
    /// A new event with a fresh random id.
    pub fn new(event_type: EventType, at_ms: i64, title: &str, message: &str) -> WebhookEvent {
        WebhookEvent {
            id: tokens::random_id(),
            event_type,
            at_ms,
            title: title.to_string(),
            message: message.to_string(),
        }
    }
}

/// A stored webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Random hex id.
    pub id: String,
    /// Shown in lists.
    pub name: String,
    /// Where events are posted.
    pub url: String,
    /// Custom headers, in order.
    pub headers: Vec<(String, String)>,
    /// The JSON body template.
    pub template: String,
    /// The signing secret (64 hex characters); see the module notes for why it is kept.
    pub secret: String,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Created, unix ms.
    pub created_ms: i64,
    /// Last changed, unix ms.
    pub updated_ms: i64,
    /// When the secret was last made, unix ms.
    pub secret_ms: i64,
}

/// What a user gives to create or change a webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Name, 1–100 characters.
    pub name: String,
    /// URL (see [`check_url`]).
    pub url: String,
    /// Custom headers.
    #[serde(default)]
    pub headers: Vec<HeaderInput>,
    /// Body template; empty means [`DEFAULT_TEMPLATE`].
    #[serde(default)]
    pub template: String,
    /// Enabled (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// One custom header as given.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderInput {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// A refusal, naming the field it is about so the portal can show it next to that field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// `name`, `url`, `headers` or `template`.
    pub field: &'static str,
    /// A sentence for the user.
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// Errors of the webhook operations.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The input is not acceptable.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// No such webhook.
    #[error("no such webhook")]
    NotFound,
    /// Too many webhooks.
    #[error("at most {MAX_WEBHOOKS} webhooks can exist")]
    TooMany,
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where and how a URL is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// TLS or not.
    pub https: bool,
    /// Host name or IP literal (without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

/// Checks a URL and says where it goes. `allow_http_loopback` admits `http://` to
/// 127.0.0.0/8, `::1` and `localhost` (see the module notes).
pub fn check_url(url: &str, allow_http_loopback: bool) -> Result<Target, FieldError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(refuse("url", "give the URL events are posted to"));
    }
    if url.len() > MAX_URL {
        return Err(refuse("url", format!("at most {MAX_URL} characters")));
    }
    let uri: hyper::Uri = url.parse().map_err(|_| {
        refuse(
            "url",
            "not a valid URL (example: https://hooks.example.com/lantern)",
        )
    })?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(refuse("url", "the URL must start with https://")),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| refuse("url", "the URL has no host"))?;
    if authority.as_str().contains('@') {
        return Err(refuse(
            "url",
            "user names and passwords in the URL are not accepted; use a custom header",
        ));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if host.is_empty() {
        return Err(refuse("url", "the URL has no host"));
    }
    if !https {
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !(allow_http_loopback && loopback) {
            return Err(refuse(
                "url",
                "the URL must start with https:// (plain http is accepted only to a loopback address when allow_http_loopback is set)",
            ));
        }
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    Ok(Target {
        https,
        host,
        port,
        path,
    })
}

/// Checks custom headers: bounded in number and size, valid HTTP tokens and values, none of
/// the refused names, no name twice.
pub fn check_headers(headers: &[HeaderInput]) -> Result<Vec<(String, String)>, FieldError> {
    if headers.len() > MAX_HEADERS {
        return Err(refuse("headers", format!("at most {MAX_HEADERS} headers")));
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for h in headers {
        let name = h.name.trim().to_ascii_lowercase();
        let value = h.value.trim().to_string();
        if name.is_empty() || name.len() > MAX_HEADER_NAME {
            return Err(refuse(
                "headers",
                format!("a header name has 1 to {MAX_HEADER_NAME} characters"),
            ));
        }
        if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(refuse(
                "headers",
                format!("{name:?} is not a valid header name"),
            ));
        }
        if REFUSED_HEADERS.contains(&name.as_str()) || name.starts_with("x-lantern-") {
            return Err(refuse(
                "headers",
                format!("{name} is set by the appliance itself and cannot be given"),
            ));
        }
        if value.len() > MAX_HEADER_VALUE {
            return Err(refuse(
                "headers",
                format!("the value of {name} is longer than {MAX_HEADER_VALUE} bytes"),
            ));
        }
        if !value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
        {
            return Err(refuse(
                "headers",
                format!("the value of {name} may hold printable ASCII only"),
            ));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(refuse("headers", format!("{name} is given twice")));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// The placeholders, in the order they are documented.
pub const PLACEHOLDERS: [&str; 5] = ["ID", "DATE", "TYPE", "TITLE", "EVENT_MSG"];

/// Renders `template` for `event`: each placeholder becomes its value JSON-escaped (without
/// the quotes). An unknown `${...}` is an error with its byte position.
pub fn render(template: &str, event: &WebhookEvent) -> Result<String, FieldError> {
    let date = crate::clock::rfc3339(event.at_ms.div_euclid(1000));
    let mut out = String::with_capacity(template.len() + event.message.len() + 64);
    let mut rest = template;
    let mut offset = 0usize;
    while let Some(start) = rest.find("${") {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        // A name is upper-case letters and `_`; anything else before `}` means it is open.
        let end = 2 + after
            .get(2..)
            .unwrap_or_default()
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || *b == b'_')
            .count();
        if after.as_bytes().get(end) != Some(&b'}') {
            return Err(refuse(
                "template",
                format!("byte {}: \"${{\" is not closed by \"}}\"", offset + start),
            ));
        }
        let name = after.get(2..end).unwrap_or_default();
        let value = match name {
            "ID" => event.id.as_str(),
            "DATE" => date.as_str(),
            "TYPE" => event.event_type.as_str(),
            "TITLE" => event.title.as_str(),
            "EVENT_MSG" => event.message.as_str(),
            other => {
                return Err(refuse(
                    "template",
                    format!(
                        "byte {}: unknown placeholder ${{{other}}} (known: ${{ID}} ${{DATE}} ${{TYPE}} ${{TITLE}} ${{EVENT_MSG}})",
                        offset + start
                    ),
                ));
            }
        };
        out.push_str(&json_escaped(value));
        rest = after.get(end + 1..).unwrap_or_default();
        offset += start + end + 1;
    }
    out.push_str(rest);
    Ok(out)
}

/// `value` as the inside of a JSON string.
fn json_escaped(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_string()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_string()
}

/// Checks a template on save: bounded, and valid JSON once rendered with sample values that
/// hold quotes, backslashes, newlines and non-ASCII text. Errors give line and column of the
/// *template* (the samples are placed so that positions before the first placeholder match).
pub fn check_template(template: &str) -> Result<String, FieldError> {
    let template = if template.trim().is_empty() {
        DEFAULT_TEMPLATE.to_string()
    } else {
        template.to_string()
    };
    if template.len() > MAX_TEMPLATE_BYTES {
        return Err(refuse(
            "template",
            format!("at most {MAX_TEMPLATE_BYTES} bytes"),
        ));
    }
    let sample = WebhookEvent {
        id: "0123456789abcdef0123456789abcdef".into(),
        event_type: EventType::Test,
        at_ms: 0,
        title: "a \"quoted\" title \\ with a backslash".into(),
        message: "line one\nline two\t\u{e9}\u{2028}</script>".into(),
    };
    let rendered = render(&template, &sample)?;
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&rendered) {
        return Err(refuse(
            "template",
            format!(
                "not valid JSON after the placeholders are filled in (line {}, column {}): {}; placeholders belong inside JSON strings, e.g. \"title\": \"${{TITLE}}\"",
                e.line(),
                e.column(),
                e
            ),
        ));
    }
    Ok(template)
}

/// Checks a name.
fn check_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(refuse(
            "name",
            format!("give a name of 1 to {MAX_NAME} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(refuse("name", "control characters are not allowed"));
    }
    Ok(name.to_string())
}

/// The checked parts of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Name.
    pub name: String,
    /// URL as given (trimmed).
    pub url: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Template (the default when none was given).
    pub template: String,
    /// Enabled.
    pub enabled: bool,
}

/// Checks everything; the first refusal per field wins, all fields are checked so the
/// portal can show every error at once.
pub fn check(input: &WebhookInput, allow_http_loopback: bool) -> Result<Checked, Vec<FieldError>> {
    let name = check_name(&input.name);
    let url = check_url(&input.url, allow_http_loopback);
    let headers = check_headers(&input.headers);
    let template = check_template(&input.template);
    match (name, url, headers, template) {
        (Ok(name), Ok(_), Ok(headers), Ok(template)) => Ok(Checked {
            name,
            url: input.url.trim().to_string(),
            headers,
            template,
            enabled: input.enabled,
        }),
        (n, u, h, t) => Err([n.err(), u.err(), h.err(), t.err()]
            .into_iter()
            .flatten()
            .collect()),
    }
}

/// A fresh secret: 256 bits as 64 lowercase hex characters.
pub fn new_secret() -> String {
    tokens::hex(&tokens::random_bytes::<32>())
}

/// `sha256=HEX` over `timestamp + "." + body` with `secret` (its characters) as the key.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", tokens::hex(ctx.sign().as_ref()))
}

/// Retry schedule: attempt `n` (1-based) waits `first * factor^(n-2)` after attempt `n-1`
/// failed; `None` when no attempt is left. With the defaults (4 attempts, 1 s, ×5): 1 s,
/// 5 s, 25 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, at least 1.
    pub attempts: u32,
    /// Wait before the second attempt.
    pub first: Duration,
    /// Growth per further attempt.
    pub factor: u32,
}

impl Backoff {
    /// The wait before attempt `next` (2 for the first retry), or `None` if `next` is past
    /// the last attempt.
    pub fn delay_before(&self, next: u32) -> Option<Duration> {
        if next < 2 || next > self.attempts {
            return None;
        }
        let mut d = self.first;
        for _ in 2..next {
            d = d.saturating_mul(self.factor);
        }
        Some(d)
    }
}

/// One delivery attempt as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// When the attempt started, unix ms.
    pub at_ms: i64,
    /// The event id (the same for every attempt of one event).
    pub event_id: String,
    /// The event type.
    pub event_type: EventType,
    /// 1-based.
    pub attempt: u32,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// From connect to the answer's status line (or the failure), ms.
    pub latency_ms: u64,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// Whether this attempt succeeded (a 2xx answer).
    pub ok: bool,
    /// Whether another attempt follows.
    pub retrying: bool,
}

fn delivery_key(webhook_id: &str, d: &Delivery) -> Vec<u8> {
    let mut key = Vec::with_capacity(webhook_id.len() + 1 + 8 + 4 + d.event_id.len());
    key.extend_from_slice(webhook_id.as_bytes());
    key.push(b'/');
    key.extend_from_slice(&(u64::MAX - u64::try_from(d.at_ms).unwrap_or(0)).to_be_bytes());
    key.extend_from_slice(&(u32::MAX - d.attempt).to_be_bytes());
    key.extend_from_slice(d.event_id.as_bytes());
    key
}

fn delivery_prefix(webhook_id: &str) -> Vec<u8> {
    let mut p = webhook_id.as_bytes().to_vec();
    p.push(b'/');
    p
}

/// Cuts an error text to what the log keeps.
pub fn short_error(text: &str) -> String {
    text.chars().take(MAX_ERROR_TEXT).collect()
}

/// Logs an attempt and drops the oldest beyond [`MAX_DELIVERIES_KEPT`] for that webhook.
/// Nothing is logged for a webhook deleted meanwhile.
pub fn log_delivery(
    tx: &mut WriteTx<'_>,
    webhook_id: &str,
    d: &Delivery,
) -> Result<(), StoreError> {
    if tx.get(&WEBHOOKS, webhook_id.as_bytes())?.is_none() {
        return Ok(());
    }
    tx.put_json(&DELIVERIES, &delivery_key(webhook_id, d), d)?;
    let rows = tx.scan_prefix(
        &DELIVERIES,
        &delivery_prefix(webhook_id),
        MAX_DELIVERIES_KEPT + 64,
    )?;
    for (key, _) in rows.iter().skip(MAX_DELIVERIES_KEPT) {
        tx.delete(&DELIVERIES, key)?;
    }
    Ok(())
}

/// A page of a webhook's delivery log, newest first, with the total kept.
pub fn deliveries(
    tx: &ReadTx,
    webhook_id: &str,
    offset: usize,
    limit: usize,
) -> Result<(Vec<Delivery>, usize), StoreError> {
    let rows = tx.scan_prefix(
        &DELIVERIES,
        &delivery_prefix(webhook_id),
        MAX_DELIVERIES_KEPT + 64,
    )?;
    let total = rows.len();
    let page = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(_, v)| serde_json::from_slice(v).map_err(StoreError::from))
        .collect::<Result<Vec<Delivery>, _>>()?;
    Ok((page, total))
}

/// Every webhook, by name.
pub fn list(tx: &ReadTx) -> Result<Vec<Webhook>, StoreError> {
    let mut all = tx
        .scan_prefix(&WEBHOOKS, b"", MAX_WEBHOOKS + 1)?
        .iter()
        .map(|(_, v)| serde_json::from_slice(v).map_err(StoreError::from))
        .collect::<Result<Vec<Webhook>, _>>()?;
    all.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    Ok(all)
}

/// One webhook.
pub fn get(tx: &ReadTx, id: &str) -> Result<Option<Webhook>, StoreError> {
    tx.get_json(&WEBHOOKS, id.as_bytes())
}

/// Stores a new webhook with a fresh secret.
pub fn create(tx: &mut WriteTx<'_>, c: &Checked, now_ms: i64) -> Result<Webhook, WebhookError> {
    if tx.len(&WEBHOOKS)? >= MAX_WEBHOOKS as u64 {
        return Err(WebhookError::TooMany);
    }
    let hook = Webhook {
        id: tokens::random_id(),
        name: c.name.clone(),
        url: c.url.clone(),
        headers: c.headers.clone(),
        template: c.template.clone(),
        secret: new_secret(),
        enabled: c.enabled,
        created_ms: now_ms,
        updated_ms: now_ms,
        secret_ms: now_ms,
    };
    tx.put_json(&WEBHOOKS, hook.id.as_bytes(), &hook)?;
    Ok(hook)
}

/// Replaces the settings of a webhook (its secret stays).
pub fn update(
    tx: &mut WriteTx<'_>,
    id: &str,
    c: &Checked,
    now_ms: i64,
) -> Result<Webhook, WebhookError> {
    let mut hook: Webhook = tx
        .get_json(&WEBHOOKS, id.as_bytes())?
        .ok_or(WebhookError::NotFound)?;
    hook.name = c.name.clone();
    hook.url = c.url.clone();
    hook.headers = c.headers.clone();
    hook.template = c.template.clone();
    hook.enabled = c.enabled;
    hook.updated_ms = now_ms;
    tx.put_json(&WEBHOOKS, id.as_bytes(), &hook)?;
    Ok(hook)
}

/// Makes a new secret; the old one stops working at once.
pub fn rotate(tx: &mut WriteTx<'_>, id: &str, now_ms: i64) -> Result<Webhook, WebhookError> {
    let mut hook: Webhook = tx
        .get_json(&WEBHOOKS, id.as_bytes())?
        .ok_or(WebhookError::NotFound)?;
    hook.secret = new_secret();
    hook.secret_ms = now_ms;
    hook.updated_ms = now_ms;
    tx.put_json(&WEBHOOKS, id.as_bytes(), &hook)?;
    Ok(hook)
}

/// Deletes a webhook and its delivery log.
pub fn delete(tx: &mut WriteTx<'_>, id: &str) -> Result<Webhook, WebhookError> {
    let hook: Webhook = tx
        .get_json(&WEBHOOKS, id.as_bytes())?
        .ok_or(WebhookError::NotFound)?;
    tx.delete(&WEBHOOKS, id.as_bytes())?;
    let rows = tx.scan_prefix(&DELIVERIES, &delivery_prefix(id), MAX_DELIVERIES_KEPT + 64)?;
    for (key, _) in rows {
        tx.delete(&DELIVERIES, &key)?;
    }
    Ok(hook)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn event(title: &str, message: &str) -> WebhookEvent {
        WebhookEvent {
            id: "e1".into(),
            event_type: EventType::VulnerablePackageLoaded,
            at_ms: 1_764_300_000_123,
            title: title.into(),
            message: message.into(),
        }
    }

    #[test]
    fn placeholders_are_json_escaped() {
        let body = render(DEFAULT_TEMPLATE, &event("say \"hi\" \\o/", "a\nb\u{1}c")).unwrap();
        assert_eq!(
            body,
            r#"{"id":"e1","date":"2025-11-28T03:20:00Z","type":"vulnerable_package_loaded","title":"say \"hi\" \\o/","message":"a\nb\u0001c"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["title"], "say \"hi\" \\o/");
        assert_eq!(v["message"], "a\nb\u{1}c");
    }

    #[test]
    fn a_value_cannot_break_out_of_its_string() {
        let body = render(
            r#"{"t":"${TITLE}"}"#,
            &event("\",\"admin\":true,\"x\":\"", ""),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1);
    }

    #[test]
    fn templates_are_checked_with_positions() {
        assert_eq!(check_template("").unwrap(), DEFAULT_TEMPLATE);
        let e = check_template(r#"{"a": ${TITLE}}"#).unwrap_err();
        assert_eq!(e.field, "template");
        assert!(e.message.contains("line 1, column"), "{}", e.message);
        let e = check_template("{\n\"a\": \"${NOPE}\"}").unwrap_err();
        assert!(
            e.message.contains("byte 8: unknown placeholder ${NOPE}"),
            "{}",
            e.message
        );
        let e = check_template(r#"{"a": "${TITLE"}"#).unwrap_err();
        assert!(e.message.contains("not closed"), "{}", e.message);
        let e = check_template("{\"a\": 1,\n}").unwrap_err();
        assert!(e.message.contains("line 2, column 1"), "{}", e.message);
        assert!(check_template(&"x".repeat(MAX_TEMPLATE_BYTES + 1)).is_err());
        assert!(check_template(r#"{"text": "${TITLE}: ${EVENT_MSG}", "n": 1}"#).is_ok());
    }

    #[test]
    fn signature_matches_an_independent_computation() {
        // printf '%s' '1764300000.{"a":1}' | openssl dgst -sha256 -hmac 'k3y'
        assert_eq!(
            sign("k3y", 1_764_300_000, br#"{"a":1}"#),
            "sha256=c36473df348957434456413059f7e321517038547d13f35e5f7afa755f339ca4"
        );
    }

    #[test]
    fn headers_are_bounded_and_hop_by_hop_refused() {
        let h = |n: &str, v: &str| HeaderInput {
            name: n.into(),
            value: v.into(),
        };
        assert_eq!(
            check_headers(&[h("Authorization", "Bearer x"), h("X-Team", "appsec")]).unwrap(),
            vec![
                ("authorization".into(), "Bearer x".into()),
                ("x-team".into(), "appsec".into())
            ]
        );
        for bad in [
            "Host",
            "content-length",
            "Connection",
            "Transfer-Encoding",
            "TE",
            "Upgrade",
            "X-Lantern-Signature",
            "bad name",
            "",
        ] {
            assert!(check_headers(&[h(bad, "v")]).is_err(), "{bad}");
        }
        assert!(check_headers(&[h("x-a", "line\r\nInjected: 1")]).is_err());
        assert!(check_headers(&[h("x-a", &"v".repeat(MAX_HEADER_VALUE + 1))]).is_err());
        assert!(check_headers(&[h("x-a", "1"), h("X-A", "2")]).is_err());
        let many: Vec<_> = (0..=MAX_HEADERS)
            .map(|i| h(&format!("x-{i}"), "v"))
            .collect();
        assert!(check_headers(&many).is_err());
    }

    #[test]
    fn urls_are_https_or_loopback_http_when_allowed() {
        let t = check_url("https://hooks.example.com/in?x=1", false).unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (true, "hooks.example.com", 443, "/in?x=1")
        );
        assert_eq!(check_url("https://[::1]:8443", false).unwrap().host, "::1");
        assert!(check_url("http://127.0.0.1:9/x", false).is_err());
        assert!(check_url("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_url("http://10.0.0.1/x", true).is_err());
        assert!(check_url("ftp://x/", true).is_err());
        assert!(check_url("https://user:pw@x/", false).is_err());
        assert!(check_url("", false).is_err());
    }

    #[test]
    fn backoff_schedule() {
        let b = Backoff {
            attempts: 4,
            first: Duration::from_secs(1),
            factor: 5,
        };
        let waits: Vec<_> = (1..=5).map(|n| b.delay_before(n)).collect();
        assert_eq!(
            waits,
            vec![
                None,
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(5)),
                Some(Duration::from_secs(25)),
                None
            ]
        );
    }
}
