//! Actions through the REST API and the agent protocol: a test agent with the `actions`
//! capability gets `action.sync` after `hello_ack`, `action.set` when an action that reaches it
//! is made, `action.remove` when it is deleted, and the whole set again on reconnect; its
//! statuses, snapshots (one sent before `installed` included), log lines and metrics come back
//! through the API. Bad requests are answered per field with positions; a developer cannot
//! reach a pool outside their groups; an agent without the capability gets nothing.

use serde_json::{Value, json};

use crate::agent_client::*;
use crate::entities::new_pool;
use crate::pools::{sign_in, user};
use crate::support::*;

pub(crate) async fn call(
    c: &Client,
    key: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let auth = format!("Bearer {key}");
    let mut headers = vec![("authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    c.request(
        method,
        &format!("/api/v1{path}"),
        &headers,
        body.map(|b| b.to_string().into_bytes())
            .unwrap_or_default()
            .into(),
    )
    .await
}

pub(crate) fn json_of(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

/// Connects an agent that runs actions; answers the socket and the `action.sync` it got (after
/// its `config.update`s: redaction and blocklist, then capture limits).
pub(crate) async fn actions_agent(
    t: &TestApp,
    key: &str,
    name: &str,
    tags: &[&str],
) -> (Ws, Value) {
    let mut ws = connect(t, key).await.unwrap();
    let mut h = hello(name, tags);
    h["capabilities"] = json!(["class_loads", "actions"]);
    send(&mut ws, &h).await;
    assert_eq!(next_json(&mut ws).await["type"], "hello_ack");
    let config = next_json(&mut ws).await;
    assert_eq!(config["type"], "config.update", "{config}");
    assert!(config["redaction"].is_object(), "{config}");
    let limits = next_json(&mut ws).await;
    assert_eq!(limits["type"], "config.update", "{limits}");
    assert_eq!(limits["capture"]["max_depth"], 3, "{limits}");
    let sync = next_json(&mut ws).await;
    assert_eq!(sync["type"], "action.sync", "{sync}");
    (ws, sync)
}

#[tokio::test]
async fn actions_reach_agents_and_their_results_come_back() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let pool_key = default_pool_key(&t).await;
    let c = t.client();

    let (mut ws, sync) = actions_agent(&t, &pool_key, "orders", &["prod"]).await;
    assert_eq!(sync["actions"], json!([]), "nothing to run yet");
    // An agent without the capability is never sent actions.
    let mut plain = connect_hello(&t, &pool_key, "plain", &["prod"]).await;

    // A snapshot on a line, for this agent.
    let r = call(
        &c,
        &key,
        "POST",
        "/actions",
        Some(
            json!({"type": "snapshot", "location": {"file": "OrderServlet.java", "line": 64},
                    "target": {"kind": "agent", "id": "id-orders"},
                    "condition": "order.total > 100", "expressions": ["order.customer.id"]}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let snap = json_of(&r);
    let snap_id = snap["id"].as_str().unwrap().to_string();
    assert_eq!(snap["max_hits"], 10, "10 hits from the API by default");
    assert_eq!(snap["state"], "active");
    let set = next_json(&mut ws).await;
    assert_eq!(set["type"], "action.set");
    assert_eq!(set["id"], snap_id.as_str());
    assert_eq!(set["action"], "snapshot");
    assert_eq!(
        set["location"],
        json!({"file": "OrderServlet.java", "line": 64})
    );
    assert_eq!(
        set["condition"],
        json!({"op": ">", "args": [{"op": "path", "path": ["order", "total"]}, {"op": "lit", "value": 100}]})
    );
    assert_eq!(set["watches"][0]["text"], "order.customer.id");

    // A hit may arrive before `installed`: it is kept.
    send(
        &mut ws,
        &json!({"type": "snapshot", "id": snap_id, "time": 1_764_301_234_567_i64, "thread": "exec-3",
                "frames": [{"class": "com.acme.OrderServlet", "method": "doGet", "file": "OrderServlet.java", "line": 64}],
                "locals": [{"name": "order", "type": "com.acme.Order", "fields": [{"name": "total", "type": "int", "value": 120}]},
                           {"name": "password", "type": "java.lang.String", "cut": "redacted"}],
                "watches": [{"text": "order.customer.id", "type": "long", "value": 7}]}),
    )
    .await;
    send(
        &mut ws,
        &json!({"type": "action.status", "id": snap_id, "status": "installed",
                "resolved": {"class": "com.acme.OrderServlet", "method": "doGet", "line": 64}}),
    )
    .await;
    let status = loop {
        let s = json_of(&call(&c, &key, "GET", &format!("/actions/{snap_id}/status"), None).await);
        if s["items"][0]["status"] == "installed" {
            break s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(status["items"][0]["agent_id"], "id-orders");
    assert_eq!(status["items"][0]["resolved"]["method"], "doGet");
    assert_eq!(status["total"], 1, "only the agent it targets");
    let snaps = json_of(
        &call(
            &c,
            &key,
            "GET",
            &format!("/actions/{snap_id}/snapshots"),
            None,
        )
        .await,
    );
    assert_eq!(snaps["total"], 1, "{snaps}");
    let s0 = &snaps["items"][0];
    assert_eq!(s0["agent_id"], "id-orders");
    assert_eq!(s0["thread"], "exec-3");
    assert_eq!(s0["frames"][0]["line"], 64);
    assert_eq!(s0["locals"][1]["cut"], "redacted");
    assert_eq!(s0["watches"][0]["value"], 7);
    assert!(s0["time"].as_str().unwrap().starts_with("2025-11-28T"));

    // A log on every `prod` agent; its lines come back.
    let r = call(
        &c,
        &key,
        "POST",
        "/actions",
        Some(json!({"type": "log", "location": {"file": "com/acme/OrderServlet.java", "line": 70},
                    "target": {"kind": "tag", "id": "prod"}, "template": "order {order.id} for {user.name}"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let log_id = json_of(&r)["id"].as_str().unwrap().to_string();
    let set = next_json(&mut ws).await;
    assert_eq!(set["id"], log_id.as_str());
    assert_eq!(set["template"][0], "order ");
    assert_eq!(
        set["template"][1],
        json!({"op": "path", "path": ["order", "id"]})
    );
    for n in 0..3 {
        send(
            &mut ws,
            &json!({"type": "log", "id": log_id, "time": 1_764_301_234_000_i64 + n, "level": "info",
                    "thread": "main", "text": format!("order {n} for alice")}),
        )
        .await;
    }
    // A counter's aggregates.
    let r = call(
        &c,
        &key,
        "POST",
        "/actions",
        Some(
            json!({"type": "counter", "location": {"file": "OrderServlet.java", "line": 64},
                    "target": {"kind": "pool", "id": "default"}}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let counter_id = json_of(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(next_json(&mut ws).await["id"], counter_id.as_str());
    let now = t.app().state.clock.now_ms();
    send(
        &mut ws,
        &json!({"type": "metric", "interval_ms": 10000, "end": now,
                "actions": [{"id": counter_id, "count": 118}]}),
    )
    .await;
    let logs = loop {
        let l = json_of(&call(&c, &key, "GET", &format!("/actions/{log_id}/logs"), None).await);
        if l["total"] == 3 {
            break l;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        logs["items"][0]["text"], "order 2 for alice",
        "newest first"
    );
    // The metric frame went after the logs, so the logs being there says nothing of it: wait
    // for it on its own (a fixed read here failed once when the frame was still in flight).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let metrics = loop {
        let m = json_of(
            &call(
                &c,
                &key,
                "GET",
                &format!("/actions/{counter_id}/metrics"),
                None,
            )
            .await,
        );
        if m["total"] != 0 || std::time::Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(metrics["items"][0]["count"], 118, "{metrics}");

    // A result for an action the appliance does not have is refused, not stored.
    send(
        &mut ws,
        &json!({"type": "log", "id": "nosuch", "time": 1, "level": "info", "text": "x"}),
    )
    .await;
    let refusal = next_json(&mut ws).await;
    assert_eq!(refusal["type"], "error", "{refusal}");
    assert!(refusal["message"].as_str().unwrap().contains("nosuch"));

    // Reconnecting: the whole set again, once.
    drop(ws);
    let (mut ws, sync) = actions_agent(&t, &pool_key, "orders", &["prod"]).await;
    let mut ids: Vec<&str> = sync["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![snap_id.as_str(), log_id.as_str(), counter_id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);

    // Deleting takes it off the agent and its results with it.
    let r = call(&c, &key, "DELETE", &format!("/actions/{snap_id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let removal = next_json(&mut ws).await;
    assert_eq!(removal, json!({"type": "action.remove", "ids": [snap_id]}));
    let gone = call(
        &c,
        &key,
        "GET",
        &format!("/actions/{snap_id}/snapshots"),
        None,
    )
    .await;
    assert_eq!(gone.status, 404);
    let listed = json_of(&call(&c, &key, "GET", "/actions", None).await);
    assert_eq!(listed["total"], 2);
    let audit = json_of(&call(&c, &key, "GET", "/audit-events?type=action.create", None).await);
    assert_eq!(audit["total"], 3, "{audit}");

    // The Actions page lists them with each agent's status.
    let portal = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = portal.get("/entities/actions").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&log_id) && page.body.contains(&counter_id));
    assert!(!page.body.contains(&snap_id), "deleted");
    assert!(page.body.contains("com/acme/OrderServlet.java:70"));
    assert!(page.body.contains("order {order.id} for {user.name}"));
    assert!(page.body.contains("orders"), "the agent reached");

    // The agent without the capability saw none of it: its next frame is our ping reply.
    send(
        &mut plain,
        &json!({"type": "agent_stats", "classes_seen": 1}),
    )
    .await;
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), next_json(&mut plain))
            .await
            .is_err(),
        "nothing is sent to an agent without the actions capability"
    );
}

#[tokio::test]
async fn bad_requests_are_answered_per_field_and_scope_holds() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let c = t.client();

    let r = call(
        &c,
        &key,
        "POST",
        "/actions",
        Some(
            json!({"type": "snapshot", "location": {"file": "A.java", "line": 0},
                    "target": {"kind": "agent", "id": "x"}, "condition": "a = 1", "max_hits": 51}),
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let e = json_of(&r);
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["location.line", "condition", "max_hits"]);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at character 3")
    );
    let r = call(
        &c,
        &key,
        "POST",
        "/actions",
        Some(json!({"type": "log", "colour": 1})),
    )
    .await;
    assert_eq!(r.status, 400, "unknown fields are refused: {}", r.body);
    let r = c
        .request(
            "POST",
            "/api/v1/actions",
            &[
                ("authorization", &format!("Bearer {key}")),
                ("content-type", "application/json"),
            ],
            b"{not json".to_vec().into(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        json_of(&call(&c, &key, "GET", "/actions", None).await)["total"],
        0
    );

    // A developer reaches only the pools of their groups (Default): another pool is refused
    // as if it did not exist, and the admin's action there is invisible to them.
    let (other, _) = new_pool(&t, &key, "payments").await;
    let admin_made = call(
        &c,
        &key,
        "POST",
        "/actions",
        Some(
            json!({"type": "counter", "location": {"file": "A.java", "line": 3},
                    "target": {"kind": "pool", "id": other}}),
        ),
    )
    .await;
    assert_eq!(admin_made.status, 201, "{}", admin_made.body);
    let admin_action = json_of(&admin_made)["id"].as_str().unwrap().to_string();
    let _ = user(&t, "dev@example.com", &["developer"]).await;
    let dev_key = lantern::cli::api_key_create(
        &t.data_dir(),
        "dev@example.com",
        "dev",
        &["developer".into()],
        5,
    )
    .await
    .unwrap();
    let r = call(
        &c,
        &dev_key,
        "POST",
        "/actions",
        Some(
            json!({"type": "counter", "location": {"file": "A.java", "line": 3},
                    "target": {"kind": "pool", "id": other}}),
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("in your pools"));
    assert_eq!(
        json_of(&call(&c, &dev_key, "GET", "/actions", None).await)["total"],
        0
    );
    let hidden = call(
        &c,
        &dev_key,
        "GET",
        &format!("/actions/{admin_action}"),
        None,
    )
    .await;
    assert_eq!(hidden.status, 404);
    // Within their pool they may; another user's action they may not delete.
    let r = call(
        &c,
        &dev_key,
        "POST",
        "/actions",
        Some(
            json!({"type": "counter", "location": {"file": "A.java", "line": 3},
                    "target": {"kind": "pool", "id": "default"}}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let dev_action = json_of(&r)["id"].as_str().unwrap().to_string();
    let r = call(
        &c,
        &dev_key,
        "POST",
        "/actions",
        Some(
            json!({"type": "counter", "location": {"file": "A.java", "line": 3},
                    "target": {"kind": "pool", "id": "default"}, "ignore_quota": true}),
        ),
    )
    .await;
    assert_eq!(
        r.status, 400,
        "a developer may not ignore quotas: {}",
        r.body
    );
    let admin_default = json_of(
        &call(
            &c,
            &key,
            "POST",
            "/actions",
            Some(
                json!({"type": "counter", "location": {"file": "A.java", "line": 9},
                        "target": {"kind": "pool", "id": "default"}}),
            ),
        )
        .await,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = call(
        &c,
        &dev_key,
        "DELETE",
        &format!("/actions/{admin_default}"),
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call(
        &c,
        &dev_key,
        "DELETE",
        &format!("/actions/{dev_action}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
