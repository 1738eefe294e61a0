//! Entities › Agents, Tags and Custom Sources with real agents over TLS: the REST API and the
//! portal pages as a Company Admin and as a developer whose access group lacks a pool, the
//! filters, the live event stream, disconnecting (close code 4000, audited), tags deleted
//! only when no connected agent carries them, custom sources validated, matched and deleted,
//! and the live agent counts of Settings › Agent Pools.

use std::time::Duration;

use bytes::Bytes;
use futures_util::SinkExt;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use lantern::security::audit::Outcome;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::agent_client::*;
use crate::pools::{audit_records, sign_in, user};
use crate::support::*;

async fn api(c: &Client, method: &str, path: &str, key: &str, body: &str) -> Resp {
    let auth = format!("Bearer {key}");
    c.request(
        method,
        &format!("/api/v1{path}"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_string().into(),
    )
    .await
}

fn json_of(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn registry(t: &TestApp) -> &lantern::agents::registry::Registry {
    &t.app().state.agents.registry
}

/// A Company Admin's API key, a signed-in admin client, and the Default pool's key.
async fn admin(t: &TestApp) -> (String, Client, String) {
    let key = admin_api_key(t).await;
    let portal = sign_in(t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let pool_key = default_pool_key(t).await;
    (key, portal, pool_key)
}

/// Creates a pool through the API; answers its id and key.
pub async fn new_pool(t: &TestApp, admin: &str, name: &str) -> (String, String) {
    let c = t.client();
    let r = api(
        &c,
        "POST",
        "/agent-pools",
        admin,
        &json!({ "name": name }).to_string(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = json_of(&r);
    let id = v["id"].as_str().unwrap().to_string();
    (id.clone(), pool_key(t, &id).await)
}

/// A developer (member of the Default group only): a signed-in client and an API key.
async fn developer(t: &TestApp, email: &str) -> (Client, String) {
    let (c, _) = user(t, email, &["developer"]).await;
    let key = lantern::cli::api_key_create(&t.data_dir(), email, "dev tools", &[], 5)
        .await
        .unwrap();
    (c, key)
}

async fn wait_gone(t: &TestApp, agent_id: &str) {
    let reg = registry(t);
    eventually(agent_id, || reg.find(agent_id).is_none()).await;
    // The history write of the disconnect follows the registry removal.
    let id = agent_id.to_string();
    for _ in 0..200 {
        let id = id.clone();
        let rec = t
            .app()
            .state
            .store
            .read(move |tx| lantern::agents::history::get(tx, &id))
            .await
            .unwrap();
        if rec.is_some_and(|r| !r.last_disconnect_reason.is_empty()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{agent_id}: disconnect not recorded");
}

#[tokio::test]
async fn agents_are_listed_filtered_and_scoped_in_the_api_and_the_portal() {
    let t = TestApp::start().await;
    let (key, portal, pool_key) = admin(&t).await;
    let (secret, secret_key) = new_pool(&t, &key, "secret-ops").await;
    let mut orders = connect_hello(&t, &pool_key, "orders-eu", &["production", "team/pay"]).await;
    send(&mut orders, &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [
            {"ref": 0, "location": "jrt:/", "kind": "runtime", "coordinates": [{"source": "runtime", "name": "openjdk", "version": "17.0.15"}]},
            {"ref": 1, "location": "/srv/lib/guava-32.1.2-jre.jar", "kind": "jar",
             "sha256": "9f2c1e0b5d7a3c4e8f6a1b2d3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60",
             "coordinates": [{"source": "file_name_guess", "name": "guava", "version": "32.1.2-jre"}]},
            {"ref": 2, "location": "/srv/lib/unused.jar", "kind": "jar",
             "coordinates": [{"source": "pom_properties", "group": "org.example", "name": "unused", "version": "1.0"}]}],
        "loads": [{"artifact": 0, "count": 870}, {"artifact": 1, "classes": ["com.google.common.base.Strings", "com.google.common.collect.Lists"]}]})).await;
    let mut billing = connect_hello(&t, &secret_key, "billing", &["production"]).await;
    let reg = registry(&t);
    eventually("both connected with their classes", || {
        reg.len() == 2
            && reg
                .find("id-orders-eu")
                .is_some_and(|a| a.classes_loaded == 872)
    })
    .await;

    // The admin sees both, with their facts.
    let c = t.client();
    let all = json_of(&api(&c, "GET", "/agents", &key, "").await);
    assert_eq!(all["total"], 2, "{all}");
    assert_eq!(all["items"][0]["display_name"], "billing", "by name");
    let o = &all["items"][1];
    assert_eq!(o["agent_id"], "id-orders-eu");
    assert_eq!(o["status"], "connected");
    assert_eq!(o["pool"], json!({"id": "default", "name": "Default"}));
    assert_eq!(o["runtime"]["name"], "java");
    assert_eq!(o["tags"], json!(["production", "team/pay"]));
    assert_eq!(o["classes_loaded"], 872);
    assert_eq!(o["connection"]["protocol"], 1);
    assert!(o["last_disconnect_reason"].is_null());

    // Filters.
    let count = |q: &'static str| {
        let c = c.clone();
        let key = key.clone();
        async move {
            let r = api(&c, "GET", &format!("/agents{q}"), &key, "").await;
            assert_eq!(r.status, 200, "{q}: {}", r.body);
            json_of(&r)["total"].as_u64().unwrap()
        }
    };
    assert_eq!(count("?name=ORDERS*").await, 1);
    assert_eq!(count("?name=*i*").await, 1);
    assert_eq!(count("?tag=team%2Fpay").await, 1);
    assert_eq!(count("?tag=production").await, 2);
    assert_eq!(count("?runtime=JAVA").await, 2);
    assert_eq!(count("?runtime=python").await, 0);
    assert_eq!(count("?connected=false").await, 0);
    assert_eq!(count("?connected=true&limit=1").await, 2);
    let by_pool = json_of(&api(&c, "GET", &format!("/agents?pool={secret}"), &key, "").await);
    assert_eq!(by_pool["items"][0]["agent_id"], "id-billing");
    let bad = api(&c, "GET", "/agents?connected=maybe", &key, "").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(json_of(&bad)["error"]["code"], "validation_failed");

    // One agent: artifacts with their coordinates; class names only when asked for.
    let r = api(&c, "GET", "/agents/id-orders-eu?classes=true", &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let one = json_of(&r);
    let arts = one["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 3);
    let guava = arts
        .iter()
        .find(|a| a["location"].as_str().unwrap().contains("guava"))
        .unwrap();
    assert_eq!(guava["coordinates"][0]["guess"], true);
    assert_eq!(guava["class_count"], 2);
    assert_eq!(
        guava["classes"],
        json!([
            "com.google.common.base.Strings",
            "com.google.common.collect.Lists"
        ])
    );
    let unused = arts
        .iter()
        .find(|a| a["location"].as_str().unwrap().contains("unused"))
        .unwrap();
    assert_eq!(unused["loaded"], false);
    assert_eq!(unused["coordinates"][0]["group"], "org.example");
    let plain = json_of(&api(&c, "GET", "/agents/id-orders-eu", &key, "").await);
    assert!(plain["artifacts"][0].get("classes").is_none());
    assert_eq!(api(&c, "GET", "/agents/nobody", &key, "").await.status, 404);

    // A developer of the Default group sees the Default pool's agent only; the other one
    // answers 404, as if it did not exist.
    let (dev_portal, dev_key) = developer(&t, "dev@example.org").await;
    let mine = json_of(&api(&c, "GET", "/agents", &dev_key, "").await);
    assert_eq!(mine["total"], 1, "{mine}");
    assert_eq!(mine["items"][0]["agent_id"], "id-orders-eu");
    let r = api(&c, "GET", "/agents/id-billing", &dev_key, "").await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = api(&c, "GET", &format!("/agents?pool={secret}"), &dev_key, "").await;
    assert_eq!(json_of(&r)["total"], 0);

    // The portal: the same list and scope.
    let page = portal.get("/entities/agents").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(">orders-eu</a>") && page.body.contains(">billing</a>"));
    assert!(page.body.contains("data-live=\"/entities/agents/live\""));
    assert!(page.body.contains("2 connected"));
    let page = portal
        .get("/entities/agents?name=bill*&connected=yes")
        .await;
    assert!(page.body.contains(">billing</a>") && !page.body.contains(">orders-eu</a>"));
    assert!(
        page.body.contains("value=\"bill*\""),
        "filters stay in the form"
    );
    let page = portal.get("/entities/agents?tag=team%2Fpay").await;
    assert!(
        page.body.contains("Showing 1–1 of 1 agent"),
        "{}",
        page.body
    );
    let page = dev_portal.get("/entities/agents").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(">orders-eu</a>") && !page.body.contains("billing"));
    assert_eq!(
        dev_portal.get("/entities/agents/id-billing").await.status,
        404
    );
    let detail = portal.get("/entities/agents/id-orders-eu").await;
    assert_eq!(detail.status, 200);
    for text in [
        ">guess</span>",
        "present, never loaded",
        "com.google.common.base.Strings",
        "counted, not listed",
        "Disconnect the agent",
        "title=\"9f2c1e0b5d7a3c4e8f6a1b2d3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60\"",
    ] {
        assert!(detail.body.contains(text), "{text}: {}", detail.body);
    }
    let dev_detail = dev_portal.get("/entities/agents/id-orders-eu").await;
    assert_eq!(dev_detail.status, 200);
    assert!(
        !dev_detail.body.contains("Disconnect the agent"),
        "developers may only look"
    );

    // A disconnected agent stays listed, with why it went.
    billing.send(Message::Close(None)).await.unwrap();
    wait_gone(&t, "id-billing").await;
    let gone = json_of(&api(&c, "GET", "/agents?connected=false", &key, "").await);
    assert_eq!(gone["total"], 1, "{gone}");
    assert_eq!(gone["items"][0]["status"], "disconnected");
    assert_eq!(gone["items"][0]["last_disconnect_reason"], "agent_closed");
    assert!(gone["items"][0]["connection"].is_null());
    let page = portal.get("/entities/agents?connected=no").await;
    assert!(page.body.contains("Disconnected") && page.body.contains("closed by the agent"));
    drop(orders);
}

#[tokio::test]
async fn the_agents_list_without_agents_says_how_to_connect_one() {
    let t = TestApp::start().await;
    let (_, portal, _) = admin(&t).await;
    let page = portal.get("/entities/agents").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No agents yet"), "{}", page.body);
    assert!(page.body.contains("href=\"/getting-started\""));
    assert!(page.body.contains("href=\"/settings/iam/agent-pools\""));
    assert!(!page.body.contains("Not available yet"));
}

/// Opens the live stream as the signed-in client `c`; answers the status, the content type
/// and the body to read from.
pub async fn open_stream(t: &TestApp, c: &Client, path: &str) -> (u16, String, Incoming) {
    let tls = tls_stream(t).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let cookie: Vec<String> = c
        .cookies
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let req = Request::builder()
        .method("GET")
        .uri(path)
        .header("host", t.addr.to_string())
        .header("cookie", cookie.join("; "))
        .header("accept", "text/event-stream")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, resp.into_body())
}

/// Reads the stream into `seen` until it holds `needle` (true) or `secs` pass (false).
pub async fn read_until(body: &mut Incoming, seen: &mut String, needle: &str, secs: u64) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    seen.push_str(&String::from_utf8_lossy(&data));
                }
            }
            _ => return false,
        }
    }
    true
}

#[tokio::test]
async fn the_live_stream_pushes_the_list_when_an_agent_connects_and_ends_at_sign_out() {
    let t = TestApp::start().await;
    let (_, portal, pool_key) = admin(&t).await;
    let (status, ctype, mut body) = open_stream(&t, &portal, "/entities/agents/live").await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/event-stream"), "{ctype}");
    let mut seen = String::new();
    assert!(
        read_until(&mut body, &mut seen, "No agents yet", 10).await,
        "the first event renders at once: {seen}"
    );
    assert!(seen.starts_with("retry: "), "{seen}");
    assert!(seen.contains("event: rows\ndata: "), "{seen}");

    let _ws = connect_hello(&t, &pool_key, "fresh-agent", &["canary"]).await;
    let mut seen = String::new();
    assert!(
        read_until(&mut body, &mut seen, ">fresh-agent</a>", 10).await,
        "an update arrives after the agent connects: {seen}"
    );
    assert!(seen.contains("Connected"));

    // Filters travel with the stream.
    let (_, _, mut filtered) = open_stream(&t, &portal, "/entities/agents/live?tag=other").await;
    let mut seen = String::new();
    assert!(
        read_until(&mut filtered, &mut seen, "No agents match", 10).await,
        "{seen}"
    );

    // Signing out ends the stream with an `end` event instead of endless reconnects.
    let page = portal.get("/entities/agents").await;
    let r = portal
        .post_form("/sign-out", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mut seen = String::new();
    assert!(
        read_until(&mut body, &mut seen, "event: end", 15).await,
        "the stream ends after sign-out: {seen}"
    );
    // Without a session the stream is not opened at all.
    let (status, _, _) = open_stream(&t, &t.client(), "/entities/agents/live").await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn disconnecting_closes_with_4000_and_is_audited() {
    let t = TestApp::start().await;
    let (key, portal, pool_key) = admin(&t).await;
    let c = t.client();
    let mut ws = connect_hello(&t, &pool_key, "kick-me", &[]).await;
    eventually("connected", || registry(&t).find("id-kick-me").is_some()).await;

    let (_, dev_key) = developer(&t, "dev@example.org").await;
    let r = api(&c, "POST", "/agents/id-kick-me/disconnect", &dev_key, "").await;
    assert_eq!(r.status, 403, "developers may only look: {}", r.body);

    let r = api(&c, "POST", "/agents/id-kick-me/disconnect", &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_of(&r)["status"], "disconnected", "{}", r.body);
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, 4000, "{reason}");
    wait_gone(&t, "id-kick-me").await;
    let again = api(&c, "POST", "/agents/id-kick-me/disconnect", &key, "").await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("not connected"), "{}", again.body);
    let r = api(&c, "POST", "/agents/nobody/disconnect", &key, "").await;
    assert_eq!(r.status, 404);
    let events = audit_records(&t, "agent.disconnect").await;
    let outcomes: Vec<Outcome> = events.iter().map(|e| e.event.outcome).collect();
    assert!(outcomes.contains(&Outcome::Success) && outcomes.contains(&Outcome::Failure));
    let ok = events
        .iter()
        .find(|e| e.event.outcome == Outcome::Success)
        .unwrap();
    assert_eq!(ok.event.target.as_deref(), Some("id-kick-me"));

    // From the portal: the button posts with the page's CSRF token.
    let mut ws = connect_hello(&t, &pool_key, "kick-me", &[]).await;
    eventually("back", || registry(&t).find("id-kick-me").is_some()).await;
    let page = portal.get("/entities/agents/id-kick-me").await;
    assert!(page.body.contains("Disconnect the agent"));
    let r = portal
        .post_form(
            "/entities/agents/id-kick-me/disconnect",
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("was disconnected"), "{}", r.body);
    assert_eq!(closed(&mut ws).await.0, 4000);
    let r = portal
        .post_form(
            "/entities/agents/id-kick-me/disconnect",
            &[("csrf", "wrong")],
        )
        .await;
    assert_eq!(r.status, 403, "CSRF is checked");
    let page = portal.get("/entities/agents/id-kick-me").await;
    assert!(
        page.body.contains("disconnected by an administrator"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn tags_are_listed_and_deleted_only_while_no_connected_agent_carries_them() {
    let t = TestApp::start().await;
    let (key, portal, pool_key) = admin(&t).await;
    let c = t.client();
    let mut ws = connect_hello(&t, &pool_key, "tagged", &["team/pay:prod", "eu"]).await;
    eventually("connected", || registry(&t).find("id-tagged").is_some()).await;

    let tags = json_of(&api(&c, "GET", "/tags", &key, "").await);
    assert_eq!(tags["total"], 2, "{tags}");
    let pay = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "team/pay:prod")
        .unwrap()
        .clone();
    assert_eq!(
        (
            pay["connected_agents"].as_u64(),
            pay["known_agents"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let r = api(&c, "DELETE", "/tags/team%2Fpay%3Aprod", &key, "").await;
    assert_eq!(r.status, 409, "{}", r.body);
    let message = json_of(&r)["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("1 connected agent carries it"),
        "{message}"
    );
    let (_, dev_key) = developer(&t, "dev@example.org").await;
    assert_eq!(
        api(&c, "DELETE", "/tags/eu", &dev_key, "").await.status,
        403,
        "developers may only look"
    );
    assert_eq!(
        api(&c, "DELETE", "/tags/never-seen", &key, "").await.status,
        404
    );
    let dev_tags = json_of(&api(&c, "GET", "/tags", &dev_key, "").await);
    assert_eq!(dev_tags["total"], 2, "the agent is in the developer's pool");

    // The portal: counts link to the agents; deleting is refused with the same reason.
    let page = portal.get("/entities/tags").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("href=\"/entities/agents?tag=team%2Fpay%3Aprod&amp;connected=yes\"")
    );
    assert!(page.body.contains("in use by connected agents"));
    let r = portal
        .post_form(
            "/entities/tags/delete",
            &[("csrf", &page.csrf()), ("name", "eu")],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("cannot be deleted while it is in use"));

    // Once the agent is gone, the tag can go; it leaves the agent's record too.
    ws.send(Message::Close(None)).await.unwrap();
    wait_gone(&t, "id-tagged").await;
    let r = api(&c, "DELETE", "/tags/team/pay:prod", &key, "").await;
    assert_eq!(r.status, 200, "a bare / works as well: {}", r.body);
    assert_eq!(
        json_of(&r),
        json!({"name": "team/pay:prod", "agents": 1, "record_deleted": true})
    );
    let tags = json_of(&api(&c, "GET", "/tags", &key, "").await);
    assert_eq!(tags["total"], 1, "{tags}");
    let agent = json_of(&api(&c, "GET", "/agents/id-tagged", &key, "").await);
    assert_eq!(agent["tags"], json!(["eu"]));
    let page = portal.get("/entities/tags").await;
    let r = portal
        .post_form(
            "/entities/tags/delete",
            &[("csrf", &page.csrf()), ("name", "eu")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The tag eu was deleted from 1 agent."));
    assert!(r.body.contains("No tags yet"));
    let kinds: Vec<Outcome> = audit_records(&t, "tag.delete")
        .await
        .iter()
        .map(|e| e.event.outcome)
        .collect();
    assert_eq!(
        kinds.iter().filter(|o| **o == Outcome::Success).count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&Outcome::Failure));

    // An agent that connects with the tag brings it back.
    let _ws = connect_hello(&t, &pool_key, "tagged", &["team/pay:prod"]).await;
    eventually("back", || registry(&t).find("id-tagged").is_some()).await;
    let tags = json_of(&api(&c, "GET", "/tags", &key, "").await);
    assert_eq!(tags["items"][0]["name"], "team/pay:prod", "{tags}");
}

#[tokio::test]
async fn custom_sources_are_validated_matched_scoped_and_deleted() {
    let t = TestApp::start().await;
    let (key, portal, pool_key) = admin(&t).await;
    let c = t.client();
    let (secret, _) = new_pool(&t, &key, "secret-ops").await;
    let _a = connect_hello(&t, &pool_key, "payments-eu", &["prod"]).await;
    let _b = connect_hello(&t, &pool_key, "payments-us", &["staging"]).await;
    let _c = connect_hello(&t, &pool_key, "orders", &["Prod-EU"]).await;
    eventually("three agents", || registry(&t).len() == 3).await;

    // Bad input: 400 with the reason, nothing stored.
    let bad = [
        (
            json!({"name": " ", "rules": [{"field": "tag", "pattern": "x"}]}),
            "name",
        ),
        (json!({"name": "a", "rules": []}), "rules"),
        (
            json!({"name": "a", "rules": [{"field": "tag", "pattern": "has space"}]}),
            "rule 1",
        ),
        (
            json!({"name": "a", "rules": [{"field": "name", "pattern": ""}]}),
            "rule 1",
        ),
        (
            json!({"name": "a", "rules": [{"field": "colour", "pattern": "x"}]}),
            "colour",
        ),
        (
            json!({"name": "a", "match": "some", "rules": [{"field": "tag", "pattern": "x"}]}),
            "some",
        ),
        (
            json!({"name": "a", "pool": "nope", "rules": [{"field": "tag", "pattern": "x"}]}),
            "pool",
        ),
    ];
    for (body, says) in bad {
        let r = api(&c, "POST", "/custom-sources", &key, &body.to_string()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(says), "{body}: {}", r.body);
    }
    assert_eq!(
        json_of(&api(&c, "GET", "/custom-sources", &key, "").await)["total"],
        0
    );

    // All rules: tag prod* (any case) and name payments-*.
    let all = json!({"name": "Prod payments", "match": "all",
        "rules": [{"field": "tag", "pattern": "PROD*"}, {"field": "name", "pattern": "payments-*"}]});
    let r = api(&c, "POST", "/custom-sources", &key, &all.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made = json_of(&r);
    assert_eq!(made["matching_connected"], 1, "{made}");
    assert_eq!(made["agents"][0]["display_name"], "payments-eu");
    assert_eq!(made["pool"]["id"], "default");
    let id = made["id"].as_str().unwrap().to_string();
    let dup = json!({"name": "PROD PAYMENTS", "rules": [{"field": "tag", "pattern": "x"}]});
    let r = api(&c, "POST", "/custom-sources", &key, &dup.to_string()).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("already exists"), "{}", r.body);
    // Any rule.
    let any = json!({"name": "prod or payments", "rules": [{"field": "tag", "pattern": "prod*"}, {"field": "name", "pattern": "payments-*"}]});
    let r = api(&c, "POST", "/custom-sources", &key, &any.to_string()).await;
    assert_eq!(json_of(&r)["matching_connected"], 3, "{}", r.body);
    let list = json_of(&api(&c, "GET", "/custom-sources", &key, "").await);
    assert_eq!(list["total"], 2, "{list}");
    assert!(list["items"][0].get("agents").is_none());
    let creates = audit_records(&t, "custom_source.create").await;
    assert_eq!(
        creates
            .iter()
            .filter(|e| e.event.outcome == Outcome::Success)
            .count(),
        2
    );
    assert!(
        creates.iter().any(|e| e.event.outcome == Outcome::Failure),
        "refusals are recorded"
    );

    // Scope: a source in a pool the developer lacks is invisible to them; they may create
    // one in their own pool but not in that one.
    let hidden =
        json!({"name": "ops", "pool": secret, "rules": [{"field": "tag", "pattern": "*"}]});
    let r = api(&c, "POST", "/custom-sources", &key, &hidden.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let hidden_id = json_of(&r)["id"].as_str().unwrap().to_string();
    let (dev_portal, dev_key) = developer(&t, "dev@example.org").await;
    assert_eq!(
        json_of(&api(&c, "GET", "/custom-sources", &dev_key, "").await)["total"],
        2
    );
    let r = api(
        &c,
        "GET",
        &format!("/custom-sources/{hidden_id}"),
        &dev_key,
        "",
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        api(
            &c,
            "DELETE",
            &format!("/custom-sources/{hidden_id}"),
            &dev_key,
            ""
        )
        .await
        .status,
        404
    );
    let theirs = json!({"name": "mine", "rules": [{"field": "name", "pattern": "orders"}]});
    let r = api(&c, "POST", "/custom-sources", &dev_key, &theirs.to_string()).await;
    assert_eq!(
        r.status, 201,
        "developers change custom sources in scope: {}",
        r.body
    );
    let r = api(&c, "POST", "/custom-sources", &dev_key, &hidden.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("pool"));
    assert_eq!(
        dev_portal
            .get(&format!("/entities/custom-sources/{hidden_id}"))
            .await
            .status,
        404
    );

    // Delete.
    let r = api(&c, "DELETE", &format!("/custom-sources/{id}"), &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        api(&c, "GET", &format!("/custom-sources/{id}"), &key, "")
            .await
            .status,
        404
    );
    let deletes = audit_records(&t, "custom_source.delete").await;
    let outcomes: Vec<Outcome> = deletes.iter().map(|e| e.event.outcome).collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == Outcome::Success).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&Outcome::Failure),
        "the developer's attempt outside their scope is on record"
    );

    // The portal: the form offers five rule rows, keeps what was typed after an error, and
    // the new source's page lists what it matches.
    let form = portal.get("/entities/custom-sources/new").await;
    assert_eq!(form.status, 200);
    assert_eq!(form.body.matches("data-rule-row").count(), 5);
    let csrf = form.csrf();
    let r = portal
        .post_form(
            "/entities/custom-sources",
            &[
                ("csrf", &csrf),
                ("name", "staging"),
                ("pool", "default"),
                ("match", "any"),
                ("field", "tag"),
                ("pattern", "bad tag"),
                ("field", "name"),
                ("pattern", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("There is a problem") && r.body.contains("value=\"bad tag\""));
    let r = portal
        .post_form(
            "/entities/custom-sources",
            &[
                ("csrf", &csrf),
                ("name", "staging"),
                ("pool", "default"),
                ("match", "any"),
                ("field", "tag"),
                ("pattern", "staging"),
                ("field", "name"),
                ("pattern", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The custom source staging was created."));
    assert!(r.body.contains(">payments-us</a>") && !r.body.contains(">orders</a>"));
    let list = portal.get("/entities/custom-sources").await;
    assert!(list.body.contains(">staging</a>") && list.body.contains(">ops</a>"));
    let staging = json_of(&api(&c, "GET", "/custom-sources", &key, "").await)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "staging")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let page = portal
        .get(&format!("/entities/custom-sources/{staging}"))
        .await;
    let r = portal
        .post_form(
            &format!("/entities/custom-sources/{staging}/delete"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The custom source staging was deleted."));
}

#[tokio::test]
async fn agent_pools_show_live_agent_counts() {
    let t = TestApp::start().await;
    let (_, portal, pool_key) = admin(&t).await;
    let link = "<a href=\"/entities/agents?pool=default\">";
    let page = portal.get("/settings/iam/agent-pools").await;
    assert!(
        page.body.contains(&format!("{link}0 connected</a>")),
        "{}",
        page.body
    );
    let _a = connect_hello(&t, &pool_key, "one", &[]).await;
    let _b = connect_hello(&t, &pool_key, "two", &[]).await;
    eventually("two", || registry(&t).count_in_pool("default") == 2).await;
    let page = portal.get("/settings/iam/agent-pools").await;
    assert!(
        page.body.contains(&format!("{link}2 connected</a>")),
        "{}",
        page.body
    );
    let detail = portal.get("/settings/iam/agent-pools/default").await;
    assert!(detail.body.contains(&format!("{link}2 connected</a>")));
    let api_key = admin_api_key(&t).await;
    let bearer = format!("Bearer {api_key}");
    for path in ["/api/v1/agent-pools/default", "/api/v1/agent-pools"] {
        let r = t
            .client()
            .request(
                "GET",
                path,
                &[("authorization", &bearer)],
                Vec::new().into(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let pool = v.get("items").map_or(&v, |items| &items[0]);
        assert_eq!(pool["agents_connected"], 2, "{path}: {v}");
    }
    let (dev, _) = user(&t, "viewer@example.org", &["company-viewer"]).await;
    let list = dev.get("/entities/agents?pool=default").await;
    assert!(list.body.contains(">one</a>") && list.body.contains(">two</a>"));
}

#[tokio::test]
async fn getting_started_turns_green_live_when_the_first_agent_connects() {
    let t = TestApp::start().await;
    let (_, portal, pool_key) = admin(&t).await;
    let page = portal.get("/getting-started").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("No agent is connected yet"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("data-live=\"/entities/agents/live?view=getting-started\"")
    );
    let (status, _, mut body) =
        open_stream(&t, &portal, "/entities/agents/live?view=getting-started").await;
    assert_eq!(status, 200);
    let mut seen = String::new();
    assert!(
        read_until(&mut body, &mut seen, "No agent is connected yet", 10).await,
        "{seen}"
    );
    let _ws = connect_hello(&t, &pool_key, "first-one", &[]).await;
    let mut seen = String::new();
    assert!(
        read_until(&mut body, &mut seen, "1 agent is connected", 10).await,
        "the step turns green without a reload: {seen}"
    );
    assert!(
        portal
            .get("/getting-started")
            .await
            .body
            .contains("1 agent is connected")
    );
    let (status, _, _) = open_stream(&t, &portal, "/entities/agents/live?view=teleport").await;
    assert_eq!(status, 400);
}
