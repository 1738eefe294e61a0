//! Bad input at every API that takes a body (QUALITY.md R3): the routes come from the OpenAPI
//! document the appliance serves, so a new route is covered the day it is documented. Each
//! gets broken JSON, invalid UTF-8, the wrong JSON types, an empty body, nesting deeper than
//! any parser should follow, a number out of range and a body over the size limit. Every one
//! must be answered with a 4xx and the API's error shape — never a 5xx, never a hang — and
//! afterwards everything the lists show is exactly as before.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::e2e::api_body;
use crate::support::*;

/// The OpenAPI document, read as the appliance serves it.
const OPENAPI: &str = include_str!("../../src/http/openapi.json");

/// Lists whose content must not move when bad requests are refused.
const LISTS: [&str; 12] = [
    "/users",
    "/groups",
    "/agent-pools",
    "/temp-access",
    "/custom-sources",
    "/webhooks",
    "/watched-packages",
    "/actions",
    "/settings/service",
    "/pii-patterns",
    "/blocklist",
    "/api-keys",
];

/// The first admin (signed in on the portal) and an API key of theirs.
async fn admin(t: &TestApp) -> (Client, String) {
    let c = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let key = lantern::cli::api_key_create(
        &t.data_dir(),
        ADMIN_EMAIL,
        "edges",
        &["company-admin".into()],
        5,
    )
    .await
    .unwrap();
    (c, key)
}

/// One request's answer with its raw status, within a deadline: a stuck handler fails the
/// test instead of hanging it.
async fn send(c: &Client, key: &str, method: &str, path: &str, ct: &str, body: Bytes) -> Resp {
    let auth = format!("Bearer {key}");
    let url = format!("/api/v1{path}");
    let headers = [("authorization", auth.as_str()), ("content-type", ct)];
    let call = c.request(method, &url, &headers, body);
    tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .unwrap_or_else(|_| panic!("{method} {path} did not answer within 30 s"))
}

/// What the lists say, keyed by list, for the before/after comparison.
async fn state(c: &Client, key: &str) -> BTreeMap<&'static str, Value> {
    let mut all = BTreeMap::new();
    for list in LISTS {
        let r = send(c, key, "GET", list, "application/json", Bytes::new()).await;
        assert_eq!(r.status, 200, "GET {list}: {}", r.body);
        all.insert(list, serde_json::from_str(&r.body).unwrap());
    }
    all
}

/// Real ids for the path parameters, so that each request reaches the body's parser rather
/// than stopping at "not found".
async fn path_ids(c: &Client, key: &str) -> BTreeMap<&'static str, String> {
    let id = |v: Value| {
        v["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_string()
    };
    let mut ids = BTreeMap::new();
    let user = api_body(
        c,
        key,
        "POST",
        "/users",
        json!({"email": "edge@example.org", "name": "Edge Case", "roles": ["developer"]}),
    )
    .await;
    ids.insert("/users/{id}", id(user));
    let group = api_body(c, key, "POST", "/groups", json!({"name": "edge"})).await;
    ids.insert("/groups/{id}", id(group));
    let hook = api_body(
        c,
        key,
        "POST",
        "/webhooks",
        json!({"name": "edge", "url": "https://10.0.0.1/hook"}),
    )
    .await;
    ids.insert("/webhooks/{id}", id(hook));
    let watched = api_body(
        c,
        key,
        "POST",
        "/watched-packages",
        json!({"package": "org.example:edge", "version": "1.0"}),
    )
    .await;
    ids.insert("/watched-packages/{id}", id(watched));
    let r = send(
        c,
        key,
        "GET",
        "/pii-patterns",
        "application/json",
        Bytes::new(),
    )
    .await;
    let templates: Value = serde_json::from_str(&r.body).unwrap();
    ids.insert("/pii-patterns/{id}", id(templates["items"][0].clone()));
    ids.insert("/agent-pools/{id}", "default".into());
    ids.insert("/pii-patterns/assignments/{pool_id}", "default".into());
    ids
}

/// Fills in a documented path's parameters: `/agent-pools/{id}/detach` takes the id of
/// `/agent-pools/{id}`.
fn concrete(path: &str, ids: &BTreeMap<&'static str, String>) -> String {
    ids.iter()
        .find_map(|(template, id)| {
            let rest = path.strip_prefix(template)?;
            let prefix = template.rsplit_once('/')?.0;
            (rest.is_empty() || rest.starts_with('/')).then(|| format!("{prefix}/{id}{rest}"))
        })
        .unwrap_or_else(|| path.to_string())
}

/// The bodies every JSON route is given, each named for the failure message.
fn bad_json_bodies(max_body: usize) -> Vec<(&'static str, Bytes)> {
    vec![
        ("truncated JSON", Bytes::from_static(br#"{"name": "#)),
        ("invalid UTF-8", Bytes::from_static(b"{\"name\": \"\xff\xfe\xc0\x80\"}")),
        ("a lone surrogate escape", Bytes::from_static(br#"{"name": "\udc00"}"#)),
        ("an array", Bytes::from_static(b"[]")),
        ("null", Bytes::from_static(b"null")),
        ("a string", Bytes::from_static(br#""name""#)),
        ("an empty body", Bytes::new()),
        ("nesting 100,000 deep", Bytes::from("[".repeat(100_000))),
        ("a number out of range", Bytes::from_static(br#"{"name": 1e999, "max_hits": 1e999}"#)),
        ("wrong field types", Bytes::from_static(br#"{"name": {"a": [1]}, "email": 7, "url": false, "package": [], "type": 3, "template_id": 1}"#)),
        ("trailing garbage", Bytes::from_static(br#"{} {}"#)),
        ("NUL bytes", Bytes::from_static(b"{\"name\": \"a\x00b\"}\x00")),
        ("one byte over the body limit", {
            let pad = "x".repeat(max_body);
            Bytes::from(format!(r#"{{"name": "{pad}"}}"#))
        }),
    ]
}

#[tokio::test]
async fn every_api_body_refuses_bad_json_with_a_clear_error_and_changes_nothing() {
    let t = TestApp::start().await;
    let (c, key) = admin(&t).await;
    let ids = path_ids(&c, &key).await;
    let before = state(&c, &key).await;
    let max_body = t.app().state.config.http.max_body_bytes;

    let doc: Value = serde_json::from_str(OPENAPI).unwrap();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            let url = concrete(path, &ids);
            assert!(!url.contains('{'), "no id for {path}: add one to path_ids");
            let method = method.to_uppercase();
            // Uploads (zip, CSV) take bytes, not JSON: they get the bytes cases that apply.
            let json_ct = content.contains_key("application/json");
            let ct = if json_ct {
                "application/json"
            } else {
                content.keys().next().unwrap().as_str()
            };
            for (what, body) in bad_json_bodies(max_body) {
                if !json_ct && !matches!(what, "invalid UTF-8" | "NUL bytes" | "an empty body") {
                    continue;
                }
                let r = send(&c, &key, &method, &url, ct, body).await;
                let ok_status = matches!(r.status, 400 | 413 | 415 | 422);
                assert!(
                    ok_status,
                    "{method} {url} with {what}: {} {}",
                    r.status, r.body
                );
                let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| {
                    panic!("{method} {url} with {what}: not JSON ({e}): {}", r.body)
                });
                let code = v["error"]["code"].as_str().unwrap_or_default();
                let message = v["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    !code.is_empty() && !message.is_empty(),
                    "{method} {url} with {what}: no error code and message: {v}"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 200,
        "only {checked} requests: is the OpenAPI document read right?"
    );

    // Nothing moved, and the appliance still answers a good request.
    assert_eq!(state(&c, &key).await, before);
    let created = api_body(
        &c,
        &key,
        "POST",
        "/groups",
        json!({"name": "after the storm"}),
    )
    .await;
    assert_eq!(created["name"], "after the storm", "{created}");
}

#[tokio::test]
async fn invalid_utf8_and_bad_escapes_in_paths_and_queries_get_400() {
    let t = TestApp::start().await;
    let (c, key) = admin(&t).await;
    for path in [
        "/users?limit=%FF",
        "/users?offset=%C0%80",
        "/users?limit=-1",
        "/users?limit=99999999999999999999999",
        "/users?offset=1&offset=%ZZ",
        "/audit-events?limit=%00",
    ] {
        let r = send(&c, &key, "GET", path, "application/json", Bytes::new()).await;
        assert_eq!(r.status, 400, "GET {path}: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert!(v["error"]["message"].as_str().is_some(), "GET {path}: {v}");
    }
    for path in [
        "/users/%FF%FE",
        "/agent-pools/%C0%80",
        "/webhooks/..%2F..%2Fetc",
    ] {
        let r = send(&c, &key, "GET", path, "application/json", Bytes::new()).await;
        assert!(
            matches!(r.status, 400 | 404),
            "GET {path}: {} {}",
            r.status,
            r.body
        );
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert!(v["error"]["code"].as_str().is_some(), "GET {path}: {v}");
    }
    // A portal page with a broken query or path answers a page, not a crash.
    for path in [
        "/entities/agents?q=%FF",
        "/entities/actions/%FF",
        "/data-explorer?agent=%C0%80",
    ] {
        let r = c.get(path).await;
        assert!(r.status < 500, "GET {path}: {} {}", r.status, r.body);
    }
}
