//! The public REST API under `/api/v1/` (INTERFACES.md): bearer API keys, JSON in and out,
//! lists as `{"items","total","offset","limit"}`, errors as `{"error":{"code","message"}}`.

use hyper::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::handler::{ApiCaller, Call};
use super::respond::{self, Body};
use crate::error::Error;
use crate::iam::api_keys::{self, ApiKey};
use crate::iam::roles::{self, Need, Permission};
use crate::iam::users::User;
use crate::security::audit::{self, AuditEvent, Filter, Outcome};

/// Default and largest page sizes.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 1000;

pub(crate) fn caller(call: &Call) -> Result<&ApiCaller, Error> {
    call.api_key.as_ref().ok_or(Error::Unauthorized)
}

/// `offset` and `limit` from the query, within the conventions.
pub(crate) fn paging(call: &Call) -> Result<(usize, usize), Error> {
    let number = |name: &'static str, default: usize| -> Result<usize, Error> {
        match call.query.get(name) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| Error::Invalid {
                field: name,
                message: "must be a whole number".into(),
            }),
        }
    };
    let offset = number("offset", 0)?;
    let limit = number("limit", DEFAULT_LIMIT)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::Invalid {
            field: "limit",
            message: format!("must be between 1 and {MAX_LIMIT}"),
        });
    }
    Ok((offset, limit))
}

/// A page of a list as `{"items","total","offset","limit"}`.
pub(crate) fn list_answer(
    items: Vec<Value>,
    total: usize,
    offset: usize,
    limit: usize,
) -> Response<Body> {
    respond::json(
        200,
        &json!({"items": items, "total": total, "offset": offset, "limit": limit}),
    )
}

/// Unix ms as an RFC 3339 time.
pub(crate) fn time(ms: i64) -> String {
    crate::clock::rfc3339(ms.div_euclid(1000))
}

/// Parses an RFC 3339 time or a `YYYY-MM-DD` date (00:00 UTC) into unix ms.
pub(crate) fn parse_time(field: &'static str, value: &str) -> Result<i64, Error> {
    let rfc3339 =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339);
    if let Ok(t) = rfc3339 {
        return Ok(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &format)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
        .map_err(|_| Error::Invalid {
            field,
            message: "use an RFC 3339 time (2026-11-27T10:00:00Z) or a date (2026-11-27)".into(),
        })
}

/// `GET /api/v1/audit-events?type=&actor=&outcome=&since=&until=&offset=&limit=`
pub async fn audit_events(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let text = |name| call.query.get(name).filter(|v| !v.is_empty());
    let outcome = match text("outcome") {
        None => None,
        Some("success") => Some(Outcome::Success),
        Some("failure") => Some(Outcome::Failure),
        Some("denied") => Some(Outcome::Denied),
        Some(_) => {
            return Err(Error::Invalid {
                field: "outcome",
                message: "must be success, failure or denied".into(),
            });
        }
    };
    let filter = Filter {
        kind: text("type").map(str::to_string),
        actor: text("actor").map(str::to_string),
        outcome,
        since_ms: text("since").map(|v| parse_time("since", v)).transpose()?,
        until_ms: text("until").map(|v| parse_time("until", v)).transpose()?,
    };
    let (records, total) = call
        .state
        .store
        .read(move |tx| audit::list(tx, &filter, offset, limit))
        .await?;
    let items = records
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("time".into(), json!(time(r.time_ms)));
            }
            v
        })
        .collect();
    Ok(list_answer(items, total, offset, limit))
}

/// A key as the API shows it; `full` adds owner and scopes (hidden from "labels only" roles).
pub fn key_json(key: &ApiKey, full: bool, now_ms: i64) -> Value {
    let status = if key.revoked {
        "revoked"
    } else if key.is_live(now_ms) {
        "active"
    } else {
        "expired"
    };
    let mut v = json!({
        "id": key.id,
        "label": key.label,
        "status": status,
        "created": time(key.created_ms),
        "expires": time(key.expires_ms),
        "last_used": key.last_used_ms.map(time),
    });
    if full && let Some(obj) = v.as_object_mut() {
        obj.insert("owner_id".into(), json!(key.owner_id));
        obj.insert(
            "scopes".into(),
            json!(key.scopes.iter().map(|s| s.id()).collect::<Vec<_>>()),
        );
    }
    v
}

/// `GET /api/v1/api-keys`
pub async fn list_keys(call: &Call) -> Result<Response<Body>, Error> {
    let c = caller(call)?;
    let full = roles::allows(&c.roles, Permission::ApiKeys, Need::Administer);
    let (offset, limit) = paging(call)?;
    let keys = call
        .state
        .store
        .read(|tx| api_keys::list(tx, usize::MAX))
        .await?;
    let now = call.state.clock.now_ms();
    let total = keys.len();
    let items = keys
        .iter()
        .skip(offset)
        .take(limit)
        .map(|k| key_json(k, full, now))
        .collect();
    Ok(list_answer(items, total, offset, limit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    label: String,
    scopes: Vec<String>,
    expires_in_days: Option<u32>,
}

/// Creates a key for `owner`, with scopes no wider than `acting_roles`; audited in the same
/// transaction. Returns the key and its secret (shown once).
pub async fn create_key(
    call: &Call,
    owner: &User,
    acting_roles: &[roles::Role],
    label: &str,
    scopes: &[String],
    days: u32,
) -> Result<(ApiKey, String), Error> {
    let mut limited = owner.clone();
    limited.roles = acting_roles.to_vec();
    let validated = api_keys::validate(&limited, label, scopes, days);
    let (label, scopes) = match validated {
        Ok(v) => v,
        Err(e) => {
            call.audit(
                AuditEvent::new("api_key.create", call.actor(), Outcome::Failure)
                    .details(json!({"label": label, "reason": e.to_string()})),
            )
            .await;
            return Err(e.into());
        }
    };
    let owner_id = owner.id.clone();
    let actor = call.actor();
    let source = call.peer.ip().to_string();
    let now = call.state.clock.now_ms();
    let created = call
        .state
        .store
        .write(move |tx| {
            let (key, secret) = api_keys::create(tx, &owner_id, &label, &scopes, days, now)?;
            let event = AuditEvent::new("api_key.create", actor.clone(), Outcome::Success)
                .source(&source)
                .target(key.id.clone())
                .details(json!({"label": key.label, "scopes": key.scopes, "expires": time(key.expires_ms)}));
            audit::append(tx, now, event)?;
            Ok((key, secret))
        })
        .await?;
    Ok(created)
}

/// Revokes a key, audited in the same transaction.
pub async fn revoke_key(call: &Call, id: &str) -> Result<ApiKey, Error> {
    let id = id.to_string();
    let actor = call.actor();
    let source = call.peer.ip().to_string();
    let now = call.state.clock.now_ms();
    let key = call
        .state
        .store
        .write(move |tx| {
            let key = api_keys::revoke(tx, &id)?;
            let event = AuditEvent::new("api_key.revoke", actor.clone(), Outcome::Success)
                .source(&source)
                .target(key.id.clone())
                .details(json!({"label": key.label}));
            audit::append(tx, now, event)?;
            Ok(key)
        })
        .await?;
    Ok(key)
}

/// `POST /api/v1/api-keys {"label","scopes","expires_in_days"}` → `{"id","key",...}`; the
/// new key acts for the calling key's owner, within the calling key's own roles.
pub async fn create_key_api(call: &Call) -> Result<Response<Body>, Error> {
    let c = caller(call)?;
    let body: NewKey = crate::http::api_iam::json_body(call)?;
    let days = body.expires_in_days.unwrap_or(api_keys::DEFAULT_DAYS);
    let (key, secret) =
        create_key(call, &c.owner, &c.roles, &body.label, &body.scopes, days).await?;
    let mut v = key_json(&key, true, call.state.clock.now_ms());
    if let Some(obj) = v.as_object_mut() {
        obj.insert("key".into(), json!(secret));
    }
    Ok(respond::json(201, &v))
}

/// `DELETE /api/v1/api-keys/{id}`
pub async fn revoke_key_api(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let key = revoke_key(call, id).await?;
    Ok(respond::json(
        200,
        &key_json(&key, true, call.state.clock.now_ms()),
    ))
}
