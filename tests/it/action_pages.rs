//! The portal's live debugging pages against the real appliance and a protocol-level agent:
//! the "New action" form (validation endpoint without side effects, errors per field with the
//! typed values kept, success redirect, the action reaching the agent with the portal's one
//! hit), the action's page (statuses in words, disable/enable dispatching `action.remove` and
//! `action.set`, delete behind its confirmation), and the Data Explorer (filters, the hit
//! page, export, logs, metrics) holding to the viewer's pool scope.

use serde_json::{Value, json};

use crate::actions::{actions_agent, call, json_of};
use crate::agent_client::*;
use crate::entities::new_pool;
use crate::pools::{sign_in, user};
use crate::support::*;

fn snapshot_msg(id: &str, time: i64) -> Value {
    json!({"type": "snapshot", "id": id, "time": time, "thread": "main",
           "frames": [{"class": "demo.Shop", "method": "checkout", "file": "Shop.java", "line": 12},
                      {"class": "demo.Shop", "method": "main", "file": "Shop.java", "line": 30}],
           "locals": [{"name": "total", "type": "int", "value": 4217},
                      {"name": "secret", "type": "java.lang.String", "cut": "redacted"}],
           "watches": []})
}

/// Waits until `path` (a portal page) contains `needle`.
pub(crate) async fn page_with(c: &Client, path: &str, needle: &str) -> Resp {
    for _ in 0..100 {
        let r = c.get(path).await;
        if r.body.contains(needle) {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never showed {needle}");
}

#[tokio::test]
async fn the_form_the_action_page_and_the_data_explorer() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let pool_key = default_pool_key(&t).await;
    let api = t.client();
    let (mut ws, _) = actions_agent(&t, &pool_key, "shop", &["prod"]).await;
    let portal = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // The agent's page offers "New action" for it; the form comes pre-filled.
    let agent_page = portal.get("/entities/agents/id-shop").await;
    assert!(
        agent_page
            .body
            .contains("/entities/actions/new?target=agent%3Aid-shop"),
        "{}",
        agent_page.body
    );
    let form = portal
        .get("/entities/actions/new?target=agent:id-shop")
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body
            .contains("<option value=\"agent:id-shop\" selected>")
    );
    assert!(form.body.contains("<option value=\"tag:prod\">"));
    let csrf = form.csrf();

    // Validation as you type: the same checks, per field, nothing stored.
    let bad = [
        ("csrf", csrf.as_str()),
        ("type", "snapshot"),
        ("file", "Shop.java"),
        ("line", "twelve"),
        ("target", "agent:id-shop"),
        ("condition", "total = 1"),
    ];
    let v = portal.post_form("/entities/actions/validate", &bad).await;
    assert_eq!(v.status, 200, "{}", v.body);
    let v: Value = serde_json::from_str(&v.body).unwrap();
    assert_eq!(v["valid"], false);
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["line", "condition"], "{v}");
    assert!(
        v["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("at character 7")
    );
    let v = portal
        .post_form("/entities/actions/validate", &[("type", "snapshot")])
        .await;
    assert_eq!(
        v.status, 403,
        "the validation endpoint needs the form's token"
    );
    // The API's validation answers the API's way.
    let r = call(
        &api,
        &key,
        "POST",
        "/actions/validate",
        Some(
            json!({"type": "snapshot", "location": {"file": "Shop.java", "line": 12},
                    "target": {"kind": "agent", "id": "id-shop"}}),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_of(&r)["action"]["max_hits"], 10);
    assert_eq!(
        json_of(&call(&api, &key, "GET", "/actions", None).await)["total"],
        0,
        "validating stores nothing"
    );

    // A refused submit: errors per field and a summary, the typed values kept.
    let r = portal.post_form("/entities/actions", &bad).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("There is a problem"));
    assert!(r.body.contains("Line: a whole number such as 64"));
    assert!(r.body.contains("value=\"twelve\""));
    assert!(r.body.contains("value=\"total = 1\""));

    // A good one: to the action's page, and to the agent with one hit.
    let good = [
        ("csrf", csrf.as_str()),
        ("type", "snapshot"),
        ("file", "Shop.java"),
        ("line", "12"),
        ("target", "agent:id-shop"),
        ("condition", "total > 100"),
        ("expires_in", "3600"),
    ];
    let r = portal.post_form("/entities/actions", &good).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = r.header("location").unwrap().to_string();
    let id = page.rsplit('/').next().unwrap().to_string();
    let set = next_json(&mut ws).await;
    assert_eq!(set["type"], "action.set");
    assert_eq!(set["id"], id.as_str());
    assert_eq!(set["max_hits"], 1, "one hit from the portal");

    send(
        &mut ws,
        &json!({"type": "action.status", "id": id, "status": "installed",
                "resolved": {"class": "demo.Shop", "method": "checkout", "line": 12}}),
    )
    .await;
    send(&mut ws, &snapshot_msg(&id, 1_764_301_234_567)).await;
    let detail = page_with(&portal, &page, "1 snapshot").await;
    assert!(
        detail
            .body
            .contains("Installed in demo.Shop.checkout at line 12.")
    );
    assert!(detail.body.contains(&format!("/data-explorer?action={id}")));

    // Disable takes it off the agent; enable sends it again. Both audited.
    let r = portal
        .post_form(&format!("{page}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The action is disabled"));
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "action.remove", "ids": [id]})
    );
    let got = json_of(&call(&api, &key, "GET", &format!("/actions/{id}"), None).await);
    assert_eq!(got["state"], "disabled");
    assert_eq!(got["agents"][0]["status"], "disabled");
    let again = portal
        .post_form(&format!("{page}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 409, "already disabled");
    let r = call(&api, &key, "POST", &format!("/actions/{id}/enable"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set = next_json(&mut ws).await;
    assert_eq!(
        (set["type"].clone(), set["id"].clone()),
        (json!("action.set"), json!(id))
    );
    let audit = json_of(&call(&api, &key, "GET", "/audit-events?type=action.disable", None).await);
    let outcomes: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["failure", "success"],
        "the refused second one too: {audit}"
    );

    // The Data Explorer: the list, its filters, the hit page, the export.
    let list = portal.get("/data-explorer").await;
    assert_eq!(list.status, 200);
    let hit = format!("/data-explorer/snapshots/{id}/1");
    assert!(list.body.contains(&hit), "{}", list.body);
    let none = portal.get("/data-explorer?agent=someone-else").await;
    assert!(!none.body.contains(&hit) && none.body.contains("No snapshots match"));
    let text = portal.get("/data-explorer?q=4217&tag=prod").await;
    assert!(text.body.contains(&hit), "free text finds a value");
    let bad_time = portal.get("/data-explorer?from=yesterday").await;
    assert_eq!(bad_time.status, 400);
    assert!(bad_time.body.contains("RFC 3339"));
    let h = portal.get(&hit).await;
    assert_eq!(h.status, 200, "{}", h.body);
    assert!(h.body.contains("demo.Shop.checkout (Shop.java:12)"));
    assert!(
        h.body
            .contains("<span class=\"var-name\">total</span> = <code>4217</code>")
    );
    assert!(h.body.contains("redacted: hidden by the redaction rules"));
    assert_eq!(
        portal
            .get(&format!("/data-explorer/snapshots/{id}/9"))
            .await
            .status,
        404
    );
    let csv = portal
        .get(&format!(
            "/data-explorer/export?kind=snapshots&format=csv&action={id}"
        ))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.body);
    assert!(lines[1].contains("Shop.java:12") && lines[1].contains("id-shop"));

    // Logs and metrics through the same pages.
    let r = call(
        &api,
        &key,
        "POST",
        "/actions",
        Some(
            json!({"type": "log", "location": {"file": "Shop.java", "line": 14},
                    "target": {"kind": "tag", "id": "prod"}, "template": "total {total}"}),
        ),
    )
    .await;
    let log_id = json_of(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(next_json(&mut ws).await["id"], log_id.as_str());
    for (n, level) in [(1, "info"), (2, "warn")] {
        send(
            &mut ws,
            &json!({"type": "log", "id": log_id, "time": 1_764_301_235_000_i64 + n, "level": level,
                    "thread": "main", "text": format!("total {n}00")}),
        )
        .await;
    }
    let logs = page_with(&portal, "/data-explorer/logs?level=warn", "total 200").await;
    assert!(!logs.body.contains("total 100"), "the level filter holds");
    assert!(
        logs.body
            .contains("data-live=\"/data-explorer/logs/live?level=warn\"")
    );
    let r = call(
        &api,
        &key,
        "POST",
        "/actions",
        Some(
            json!({"type": "counter", "location": {"file": "Shop.java", "line": 12},
                    "target": {"kind": "agent", "id": "id-shop"}}),
        ),
    )
    .await;
    let counter = json_of(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(next_json(&mut ws).await["id"], counter.as_str());
    let now = t.app().state.clock.now_ms();
    send(
        &mut ws,
        &json!({"type": "metric", "interval_ms": 10000, "end": now,
                "actions": [{"id": counter, "count": 42}]}),
    )
    .await;
    let m = page_with(&portal, "/data-explorer/metrics", "(42 hits)").await;
    assert!(m.body.contains("<svg class=\"chart\""));

    // Scope: a developer of the Default pool sees nothing of another pool's agent.
    let (other, other_key) = new_pool(&t, &key, "payments").await;
    let (mut ws2, _) = actions_agent(&t, &other_key, "pay", &["prod"]).await;
    let r = call(
        &api,
        &key,
        "POST",
        "/actions",
        Some(
            json!({"type": "snapshot", "location": {"file": "Pay.java", "line": 5},
                    "target": {"kind": "pool", "id": other}}),
        ),
    )
    .await;
    let pay_id = json_of(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(next_json(&mut ws2).await["id"], pay_id.as_str());
    send(&mut ws2, &snapshot_msg(&pay_id, 1_764_301_236_000)).await;
    let pay_hit = format!("/data-explorer/snapshots/{pay_id}/1");
    page_with(&portal, "/data-explorer", &pay_hit).await;
    let (dev, _) = user(&t, "dev@example.com", &["developer"]).await;
    let seen = dev.get("/data-explorer").await;
    assert_eq!(seen.status, 200);
    assert!(!seen.body.contains(&pay_hit), "another pool's snapshot");
    assert_eq!(dev.get(&pay_hit).await.status, 404);
    let export = dev
        .get("/data-explorer/export?kind=snapshots&format=json")
        .await;
    assert!(!export.body.contains(&pay_id));

    // Another user's action in their pool: the developer sees it but may not change it.
    let r = call(
        &api,
        &key,
        "POST",
        "/actions",
        Some(
            json!({"type": "counter", "location": {"file": "Shop.java", "line": 20},
                    "target": {"kind": "pool", "id": "default"}}),
        ),
    )
    .await;
    let admins = format!("/entities/actions/{}", json_of(&r)["id"].as_str().unwrap());
    assert_eq!(next_json(&mut ws).await["type"], "action.set");
    let dev_page = dev.get(&admins).await;
    assert_eq!(dev_page.status, 200);
    assert!(!dev_page.body.contains("/delete"), "{}", dev_page.body);
    let dev_csrf = dev.get("/entities/actions/new").await.csrf();
    let r = dev
        .post_form(&format!("{admins}/delete"), &[("csrf", &dev_csrf)])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        dev.get(&page).await.status,
        404,
        "an action on one agent, made company-wide"
    );

    // Deleting behind its confirmation: off the agent, back to the list.
    let detail = portal.get(&page).await;
    assert!(detail.body.contains("<details class=\"confirm\">"));
    assert!(
        detail
            .body
            .contains("deleted with its snapshots and log lines")
    );
    let r = portal
        .post_form(&format!("{page}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/entities/actions"));
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "action.remove", "ids": [id]})
    );
    assert_eq!(portal.get(&hit).await.status, 404);
}
