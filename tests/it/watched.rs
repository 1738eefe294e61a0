//! Watched Packages end to end: CRUD and CSV import through the API (bad lines reported with
//! their numbers, bad input refused with a clear 400 and nothing lost, the role matrix), the
//! status moving from `not_loaded` to `loaded` to `loaded_with_classes` as a test agent loads
//! the package and then a watched class (in the list and in the assessment), the portal
//! page, and the webhook events on a loopback receiver: `watched_package_loaded`,
//! `watched_class_loaded` and `vulnerable_package_loaded` — the last once per pool, even
//! after a restart.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::agent_client::*;
use crate::entities::new_pool;
use crate::pools::sign_in;
use crate::reachability::{import_advisories, jar};
use crate::support::*;
use crate::webhooks::{Seen, api, hmac_hex, key, receiver};

const LOG4J_CORE: &str = "org.apache.logging.log4j:log4j-core";
const JNDI: &str = "org.apache.logging.log4j.core.lookup.JndiLookup";

async fn csv(c: &Client, key: &str, body: &[u8]) -> (u16, Value) {
    let r = c
        .request(
            "POST",
            "/api/v1/watched-packages/import",
            &[
                ("authorization", &format!("Bearer {key}")),
                ("content-type", "text/csv"),
            ],
            body.to_vec().into(),
        )
        .await;
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// The events the receiver gets within `wait`, checked against the signature, as bodies.
async fn events(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    secret: &str,
    wait: Duration,
) -> Vec<Value> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(got)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        let h = |n: &str| got.headers.get(n).unwrap().to_str().unwrap().to_string();
        let mut material = format!("{}.", h("x-lantern-timestamp")).into_bytes();
        material.extend_from_slice(&got.body);
        assert_eq!(
            h("x-lantern-signature"),
            format!("sha256={}", hmac_hex(secret, &material))
        );
        let body: Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(body["type"], h("x-lantern-event"));
        out.push(body);
    }
    out
}

/// Waits until `n` events came, then a little more for strays; answers them all.
pub async fn expect_events(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    secret: &str,
    n: usize,
) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..40 {
        out.extend(events(rx, secret, Duration::from_millis(500)).await);
        if out.len() >= n {
            break;
        }
    }
    out.extend(events(rx, secret, Duration::from_secs(3)).await);
    out
}

pub fn types(events: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    t.sort();
    t
}

async fn entry(c: &Client, key: &str, id: &str) -> Value {
    let (status, v) = api(
        c,
        "GET",
        &format!("/watched-packages/{id}"),
        key,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test]
async fn watched_packages_crud_import_and_bad_input() {
    let t = TestApp::start().await;
    let _admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = key(&t, "company-admin").await;
    let c = t.client();

    let (status, made) = api(
        &c,
        "POST",
        "/watched-packages",
        &admin,
        json!({"package": "PyYAML", "version": ">=5.1,<6.0", "classes": ["yaml.constructor"], "note": "loader RCE"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (
            made["ecosystem"].as_str(),
            made["package"].as_str(),
            made["status"].as_str()
        ),
        (Some("PyPI"), Some("pyyaml"), Some("not_loaded"))
    );
    let id = made["id"].as_str().unwrap().to_string();

    // Refusals: a clear 400 naming the field, and nothing stored.
    let bad = [
        (json!({"package": "a:b:c"}), "package"),
        (json!({"package": "g:a", "version": "[1.0"}), "version"),
        (json!({"package": "g:a", "webhook": "0123abcd"}), "webhook"),
        (json!({"package": "g:a", "classes": ["a b"]}), "classes"),
        (
            json!({"package": "pyyaml", "version": ">=5.1,<6.0"}),
            "already watched",
        ),
    ];
    for (body, word) in bad {
        let (status, v) = api(&c, "POST", "/watched-packages", &admin, body).await;
        assert_eq!(status, 400, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(word),
            "{v}"
        );
    }
    let r = c
        .request(
            "POST",
            "/api/v1/watched-packages",
            &[
                ("authorization", &format!("Bearer {admin}")),
                ("content-type", "application/json"),
            ],
            b"{\"package\": ".to_vec().into(),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("not valid JSON"), "{}", r.body);

    // Replace, read back.
    let (status, v) = api(
        &c,
        "PUT",
        &format!("/watched-packages/{id}"),
        &admin,
        json!({"package": "pyyaml", "version": "", "classes": ["yaml.constructor", "yaml.loader"]}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["classes"], json!(["yaml.constructor", "yaml.loader"]));
    assert_eq!(entry(&c, &admin, &id).await["version"], "");

    // CSV: good lines kept, bad lines reported by number, an existing entry added to.
    let file = "package,version,classes,webhook\n\
                org.apache.logging.log4j:log4j-core,\"[2.0,2.15.0)\",org.apache.logging.log4j.core.lookup.JndiLookup,\n\
                not a package,1.0,,\n\
                org.yaml:snakeyaml,1.33,,0123abcd\n\
                pyyaml,,yaml.reader,\n\
                com.example:lib,>=1.0;<2,,\n";
    let (status, r) = csv(&c, &admin, file.as_bytes()).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (r["created"].clone(), r["updated"].clone()),
        (json!(1), json!(1)),
        "{r}"
    );
    let lines: Vec<i64> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 6], "{r}");
    assert!(
        r["errors"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("no webhook"),
        "{r}"
    );
    assert_eq!(
        entry(&c, &admin, &id).await["classes"],
        json!(["yaml.constructor", "yaml.loader", "yaml.reader"])
    );

    // Refused as a whole: too large, no header. Nothing lost.
    let mut big = b"package,version,classes,webhook\n".to_vec();
    big.resize(1024 * 1024 + 10, b'#');
    let (status, r) = csv(&c, &admin, &big).await;
    assert_eq!(status, 400, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("larger"),
        "{r}"
    );
    let (status, r) = csv(&c, &admin, b"name,version\nx:y,1\n").await;
    assert_eq!(status, 400, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("header"),
        "{r}"
    );
    let (_, list) = api(&c, "GET", "/watched-packages", &admin, Value::Null).await;
    assert_eq!(list["total"], 2, "{list}");

    // The role matrix: viewers read, AppSec changes, developers see nothing.
    let viewer = key(&t, "company-viewer").await;
    let (status, _) = api(&c, "GET", "/watched-packages", &viewer, Value::Null).await;
    assert_eq!(status, 200);
    let (status, _) = api(
        &c,
        "POST",
        "/watched-packages",
        &viewer,
        json!({"package": "x:y"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = api(
        &c,
        "DELETE",
        &format!("/watched-packages/{id}"),
        &viewer,
        Value::Null,
    )
    .await;
    assert_eq!(status, 403);
    let developer = key(&t, "developer").await;
    let (status, _) = api(&c, "GET", "/watched-packages", &developer, Value::Null).await;
    assert_eq!(status, 403);
    let appsec = key(&t, "appsec").await;
    let (status, v) = api(
        &c,
        "POST",
        "/watched-packages",
        &appsec,
        json!({"package": "x:y"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");

    // Delete, and the audit trail has every change.
    let (status, _) = api(
        &c,
        "DELETE",
        &format!("/watched-packages/{id}"),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = api(
        &c,
        "GET",
        &format!("/watched-packages/{id}"),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
    let (_, audit) = api(&c, "GET", "/audit-events?limit=200", &admin, Value::Null).await;
    let kinds = audit.to_string();
    for kind in [
        "watched_package.create",
        "watched_package.update",
        "watched_package.import",
        "watched_package.delete",
    ] {
        assert!(kinds.contains(kind), "{kind} missing");
    }

    // The page: the table, the forms, a refused entry with its message next to the field.
    let portal = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = portal.get("/settings/reachability/watched-packages").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(LOG4J_CORE) && page.body.contains("Not loaded"));
    assert!(page.body.contains("Import a CSV file"));
    let csrf = page.csrf();
    let r = portal
        .post_form(
            "/settings/reachability/watched-packages",
            &[
                ("csrf", &csrf),
                ("package", "bad package"),
                ("version", ""),
                ("classes", ""),
                ("webhook", ""),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("not a PyPI name"), "{}", r.body);
    let r = portal
        .post_form(
            "/settings/reachability/watched-packages/import",
            &[
                ("csrf", &csrf),
                (
                    "csv",
                    "package,version,classes,webhook\ncom.example:web,1.0,,\nbad line here,,,\n",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("1 added"), "{}", r.body);
    assert!(r.body.contains("Refused lines"), "{}", r.body);
    let viewer_page = user_page(&t).await;
    assert!(!viewer_page.contains("Watch a package"));
}

/// The page as a company viewer sees it.
async fn user_page(t: &TestApp) -> String {
    let (c, _) = crate::pools::user(t, "viewer@example.org", &["company-viewer"]).await;
    let page = c.get("/settings/reachability/watched-packages").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

#[tokio::test]
async fn loads_move_the_status_and_fire_signed_events_once_per_pool_across_restarts() {
    let (addr, mut seen) = receiver(None, vec![]).await;
    let vars = [("LANTERN_WEBHOOKS_ALLOW_HTTP_LOOPBACK", "true")];
    let mut t = TestApp::start_with(&vars).await;
    let _admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = key(&t, "company-admin").await;
    let c = t.client();
    import_advisories(&t, &admin).await;
    let (status, hook) = api(
        &c,
        "POST",
        "/webhooks",
        &admin,
        json!({"name": "SOC", "url": format!("http://{addr}/hook")}),
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_string();
    let hook_id = hook["id"].as_str().unwrap().to_string();
    let (status, w) = api(
        &c,
        "POST",
        "/watched-packages",
        &admin,
        json!({"package": LOG4J_CORE, "version": "[2.0,2.15.0)", "classes": [JNDI], "webhook": hook_id}),
    )
    .await;
    assert_eq!(status, 201, "{w}");
    let id = w["id"].as_str().unwrap().to_string();

    // Never loaded: in the assessment too.
    let (_, a) = api(
        &c,
        "GET",
        "/reachability/packages?status=not_loaded",
        &admin,
        Value::Null,
    )
    .await;
    let unseen = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == LOG4J_CORE)
        .unwrap_or_else(|| panic!("{a}"));
    // Its row links to a package page that exists, in the page and the API.
    let purl = unseen["purl"].as_str().unwrap();
    let (status, one) = api(
        &c,
        "GET",
        &format!("/reachability/packages/{}", encode(purl)),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{purl}: {one}");
    assert_eq!(one["status"], "not_loaded");
    let portal = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = portal
        .get(&format!("/reachability/packages/{}", encode(purl)))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);

    // An agent of pool "payments" loads log4j-core, not the watched class.
    let (pool, pool_key) = new_pool(&t, &admin, "payments").await;
    let mut ws = connect_hello(&t, &pool_key, "pay-api", &[]).await;
    send(
        &mut ws,
        &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [jar(1, "org.apache.logging.log4j", "log4j-core", "2.14.1"),
                      jar(2, "org.apache.commons", "commons-lang3", "3.12.0")],
        "loads": [{"artifact": 1, "classes": ["org.apache.logging.log4j.core.Logger"]},
                  {"artifact": 2, "classes": ["org.apache.commons.lang3.StringUtils"]}]}),
    )
    .await;
    let got = expect_events(&mut seen, &secret, 2).await;
    assert_eq!(
        types(&got),
        ["vulnerable_package_loaded", "watched_package_loaded"],
        "{got:?}"
    );
    let vulnerable = got
        .iter()
        .find(|e| e["type"] == "vulnerable_package_loaded")
        .unwrap();
    assert!(
        vulnerable["title"].as_str().unwrap().contains(&pool),
        "{vulnerable}"
    );
    assert!(
        vulnerable["message"]
            .as_str()
            .unwrap()
            .contains("GHSA-jfh8-c2jp-5v3q"),
        "{vulnerable}"
    );
    let loaded = got
        .iter()
        .find(|e| e["type"] == "watched_package_loaded")
        .unwrap();
    assert_eq!(
        loaded["title"],
        "Watched package loaded: org.apache.logging.log4j:log4j-core 2.14.1"
    );
    let e = entry(&c, &admin, &id).await;
    assert_eq!(e["status"], "loaded", "{e}");
    assert_eq!(e["agents"], json!(["id-pay-api"]));
    assert_eq!(e["pools"], json!([pool]));

    // Then the watched class.
    send(
        &mut ws,
        &json!({"type": "class_loads", "seq": 2, "loads": [{"artifact": 1, "classes": [JNDI]}]}),
    )
    .await;
    let got = expect_events(&mut seen, &secret, 1).await;
    assert_eq!(types(&got), ["watched_class_loaded"], "{got:?}");
    assert!(got[0]["title"].as_str().unwrap().contains(JNDI));
    let e = entry(&c, &admin, &id).await;
    assert_eq!(e["status"], "loaded_with_classes", "{e}");
    assert_eq!(e["classes_loaded"], json!([JNDI]));
    let (_, a) = api(
        &c,
        "GET",
        "/reachability/packages?status=loaded_with_classes",
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(a["total"], 1, "{a}");
    assert_eq!(a["items"][0]["name"], LOG4J_CORE);

    // A second agent of the same pool: nothing new.
    let mut ws2 = connect_hello(&t, &pool_key, "pay-api-2", &[]).await;
    send(
        &mut ws2,
        &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [jar(1, "org.apache.logging.log4j", "log4j-core", "2.14.1")],
        "loads": [{"artifact": 1, "classes": [JNDI]}]}),
    )
    .await;
    let reg = &t.app().state.agents.registry;
    eventually("the second agent is indexed", || {
        reg.find("id-pay-api-2")
            .is_some_and(|a| a.classes_loaded == 1)
    })
    .await;
    let got = events(&mut seen, &secret, Duration::from_secs(5)).await;
    assert!(got.is_empty(), "{got:?}");
    drop(ws);
    drop(ws2);
    eventually("agents gone", || reg.is_empty()).await;

    // After a restart the same pool loading it again fires nothing; a new pool fires once.
    t.stop().await;
    let t = TestApp::start_in(t.dir, &vars).await;
    let mut ws = connect_hello(&t, &pool_key, "pay-api", &[]).await;
    send(
        &mut ws,
        &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [jar(1, "org.apache.logging.log4j", "log4j-core", "2.14.1")],
        "loads": [{"artifact": 1, "classes": ["org.apache.logging.log4j.core.Logger", JNDI]}]}),
    )
    .await;
    let reg = &t.app().state.agents.registry;
    eventually("the agent is indexed again", || {
        reg.find("id-pay-api")
            .is_some_and(|a| a.classes_loaded == 2)
    })
    .await;
    let got = events(&mut seen, &secret, Duration::from_secs(5)).await;
    assert!(got.is_empty(), "{got:?}");
    let default_key = default_pool_key(&t).await;
    let mut ws3 = connect_hello(&t, &default_key, "orders", &[]).await;
    send(
        &mut ws3,
        &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [jar(1, "org.apache.logging.log4j", "log4j-core", "2.14.1")],
        "loads": [{"artifact": 1, "classes": ["org.apache.logging.log4j.core.Logger"]}]}),
    )
    .await;
    let got = expect_events(&mut seen, &secret, 1).await;
    assert_eq!(types(&got), ["vulnerable_package_loaded"], "{got:?}");
    assert!(
        got[0]["title"].as_str().unwrap().contains("default"),
        "{got:?}"
    );
    drop(ws);
    drop(ws3);
}
