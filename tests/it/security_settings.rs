//! PII Redaction and Blocklist end to end: a protocol-level test agent gets `config.update`
//! right after `hello_ack` (before `action.sync`) with its pool's template, and again — live —
//! when its pool's template is assigned or changed and when the blocklist changes; a snapshot
//! and a log line carrying a password, a card number and an SSN that the "agent" failed to
//! redact are stored redacted; an action on a blocklisted class is refused with
//! `blocked_location` and an `action.blocked` audit record; bad patterns are answered per field
//! with the parser's message; the roles of ROLES.md read or change; the pages work without
//! JavaScript (library button, tester, location test).

use serde_json::{Value, json};

use crate::agent_client::*;
use crate::support::*;
use crate::webhooks::{api, key};

/// Connects an agent that runs actions; answers it and the `config.update` it got.
async fn agent(t: &TestApp, pool_key: &str, name: &str) -> (Ws, Value) {
    let mut ws = connect(t, pool_key).await.unwrap();
    let mut h = hello(name, &[]);
    h["capabilities"] = json!(["class_loads", "actions"]);
    send(&mut ws, &h).await;
    assert_eq!(next_json(&mut ws).await["type"], "hello_ack");
    let config = next_json(&mut ws).await;
    assert_eq!(config["type"], "config.update", "{config}");
    // Service Configuration's capture limits follow in their own update.
    let limits = next_json(&mut ws).await;
    assert!(limits["capture"].is_object(), "{limits}");
    assert_eq!(
        next_json(&mut ws).await["type"],
        "action.sync",
        "the configuration comes before the actions"
    );
    (ws, config)
}

async fn audit_types(c: &Client, key: &str) -> Vec<String> {
    let (status, v) = api(c, "GET", "/audit-events?limit=1000", key, Value::Null).await;
    assert_eq!(status, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn configuration_is_pushed_live_results_are_redacted_again_and_the_blocklist_holds() {
    let t = TestApp::start().await;
    let _ = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = key(&t, "company-admin").await;
    let pool_key = default_pool_key(&t).await;
    let c = t.client();

    let (mut ws, first) = agent(&t, &pool_key, "orders").await;
    assert_eq!(
        first["redaction"],
        json!({"name_patterns": ["passw(or)?d", "secret", "token", "api[-_]?key", "^key$", "cookie", "authorization"],
               "value_patterns": ["eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}"],
               "card_numbers": true, "private_keys": true}),
        "the Default template is the agent's built-in set"
    );
    assert_eq!(first["blocklist"], json!({"rules": [], "exceptions": []}));

    // A bad pattern is refused against its field, with its line and the parser's message.
    let (status, v) = api(
        &c,
        "POST",
        "/pii-patterns",
        &admin,
        json!({"name": "Broken", "value_patterns": ["ok", "(unclosed"]}),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["fields"][0]["field"], "value_patterns");
    let why = v["error"]["fields"][0]["message"].as_str().unwrap();
    assert!(why.starts_with("line 2: \"(unclosed\""), "{why}");

    // A new template reaches nobody until a pool uses it; assigned, it is pushed at once.
    let (status, strict) = api(
        &c,
        "POST",
        "/pii-patterns",
        &admin,
        json!({"name": "Strict", "name_patterns": ["^ssn$"],
               "value_patterns": ["\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b"], "card_numbers": true}),
    )
    .await;
    assert_eq!(status, 201, "{strict}");
    let id = strict["id"].as_str().unwrap().to_string();
    let (status, v) = api(
        &c,
        "PUT",
        "/pii-patterns/assignments/default",
        &admin,
        json!({"template_id": id}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let pushed = next_json(&mut ws).await;
    assert_eq!(pushed["type"], "config.update");
    assert_eq!(pushed["redaction"]["name_patterns"], json!(["^ssn$"]));
    assert_eq!(pushed["redaction"]["private_keys"], false);

    // Changing the template in use is pushed too.
    let (status, v) = api(
        &c,
        "PUT",
        &format!("/pii-patterns/{id}"),
        &admin,
        json!({"name": "Strict", "name_patterns": ["^ssn$", "passw(or)?d"],
               "value_patterns": ["\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b"], "card_numbers": true}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["pools"], json!(["default"]));
    let pushed = next_json(&mut ws).await;
    assert_eq!(
        pushed["redaction"]["name_patterns"],
        json!(["^ssn$", "passw(or)?d"])
    );

    // And so is the blocklist.
    let (status, v) = api(
        &c,
        "PUT",
        "/blocklist",
        &admin,
        json!({"rules": ["com.acme.secret.*", " *Crypto*.java "], "exceptions": ["com.acme.secret.Public"]}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["rules"], json!(["com.acme.secret.*", "*Crypto*.java"]));
    let pushed = next_json(&mut ws).await;
    assert_eq!(pushed["type"], "config.update");
    assert_eq!(pushed["blocklist"], v);

    // An action in blocked code is refused, named by its rule, and audited.
    for (location, rule) in [
        (
            json!({"class": "com.acme.secret.Vault", "method": "open"}),
            "com.acme.secret.*",
        ),
        (
            json!({"file": "src/main/java/com/acme/AesCrypto.java", "line": 9}),
            "*Crypto*.java",
        ),
    ] {
        let (status, v) = api(
            &c,
            "POST",
            "/actions",
            &admin,
            json!({"type": "snapshot", "location": location,
                   "target": {"kind": "agent", "id": "id-orders"}}),
        )
        .await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["code"], "blocked_location");
        assert_eq!(v["error"]["fields"][0]["field"], "location");
        assert_eq!(
            v["error"]["fields"][0]["message"],
            format!("blocked by the blocklist: {rule}")
        );
    }
    let (status, v) = api(
        &c,
        "POST",
        "/blocklist/test",
        &admin,
        json!({"location": {"class": "com.acme.secret.Public", "method": "m"}}),
    )
    .await;
    assert_eq!(
        (status, &v),
        (200, &json!({"blocked": false, "rule": null}))
    );

    // Results an agent failed to redact are redacted before they are stored.
    let (status, snap) = api(
        &c,
        "POST",
        "/actions",
        &admin,
        json!({"type": "snapshot", "location": {"file": "OrderServlet.java", "line": 64},
               "target": {"kind": "agent", "id": "id-orders"}}),
    )
    .await;
    assert_eq!(status, 201, "{snap}");
    let snap_id = snap["id"].as_str().unwrap().to_string();
    assert_eq!(next_json(&mut ws).await["type"], "action.set");
    let (status, log) = api(
        &c,
        "POST",
        "/actions",
        &admin,
        json!({"type": "log", "location": {"file": "OrderServlet.java", "line": 70},
               "target": {"kind": "agent", "id": "id-orders"}, "template": "order {order}"}),
    )
    .await;
    assert_eq!(status, 201, "{log}");
    let log_id = log["id"].as_str().unwrap().to_string();
    assert_eq!(next_json(&mut ws).await["type"], "action.set");
    send(
        &mut ws,
        &json!({"type": "snapshot", "id": snap_id, "time": 1_764_301_234_567_i64, "thread": "exec-1",
                "frames": [{"class": "com.acme.OrderServlet", "method": "doGet", "line": 64}],
                "locals": [
                    {"name": "password", "type": "java.lang.String", "value": "hunter2", "length": 7},
                    {"name": "order", "type": "com.acme.Order", "fields": [
                        {"name": "card", "type": "java.lang.String", "value": "4111 1111 1111 1111"},
                        {"name": "ssn", "type": "java.lang.String", "value": "none"},
                        {"name": "note", "type": "java.lang.String", "value": "customer 123-45-6789"},
                        {"name": "id", "type": "long", "value": 42}]}],
                "watches": []}),
    )
    .await;
    send(
        &mut ws,
        &json!({"type": "log", "id": log_id, "time": 1_764_301_234_568_i64, "level": "info",
                "thread": "exec-1",
                "text": "order Order{id=42, password=hunter2, card=4111111111111111} ssn 123-45-6789"}),
    )
    .await;
    let path = format!("/actions/{snap_id}/snapshots");
    let mut stored = Value::Null;
    for _ in 0..500 {
        let (_, v) = api(&c, "GET", &path, &admin, Value::Null).await;
        if v["total"] == 1 {
            stored = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let text = stored.to_string();
    for secret in ["hunter2", "4111 1111 1111 1111", "123-45-6789"] {
        assert!(!text.contains(secret), "{secret} was stored: {text}");
    }
    let locals = &stored["items"][0]["locals"];
    assert_eq!(
        locals[0],
        json!({"name": "password", "type": "java.lang.String", "cut": "redacted"})
    );
    assert_eq!(locals[1]["fields"][0]["cut"], "redacted");
    assert_eq!(locals[1]["fields"][1]["cut"], "redacted", "by name");
    assert_eq!(locals[1]["fields"][2]["cut"], "redacted", "by value");
    assert_eq!(locals[1]["fields"][3]["value"], 42, "the rest is kept");
    let path = format!("/actions/{log_id}/logs");
    let mut lines = Value::Null;
    for _ in 0..500 {
        let (_, v) = api(&c, "GET", &path, &admin, Value::Null).await;
        if v["total"] == 1 {
            lines = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        lines["items"][0]["text"],
        "order Order{id=42, password=[redacted], card=[redacted]} ssn [redacted]"
    );

    // The tester shows what a template does, and nothing is stored.
    let (status, v) = api(
        &c,
        "POST",
        "/pii-patterns/test",
        &admin,
        json!({"template_id": id, "variables": {"ssn": "1", "note": "hi", "n": "4111111111111111"}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let by = |n: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by("ssn")["reason"], "name pattern ^ssn$");
    assert_eq!(by("note")["shown"], "hi");
    assert_eq!(by("n")["reason"], "card number");

    // Deleting the template in use puts its pools back on Default, live.
    let (status, v) = api(
        &c,
        "DELETE",
        &format!("/pii-patterns/{id}"),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["pools_now_default"], json!(["default"]));
    let pushed = next_json(&mut ws).await;
    assert_eq!(pushed["redaction"], first["redaction"]);
    let (status, _) = api(&c, "DELETE", "/pii-patterns/default", &admin, Value::Null).await;
    assert_eq!(status, 409, "Default stays");

    let types = audit_types(&c, &admin).await;
    for kind in [
        "pii.template.create",
        "pii.template.update",
        "pii.template.delete",
        "pii.assignment.update",
        "blocklist.update",
        "action.blocked",
    ] {
        assert!(types.iter().any(|t| t == kind), "{kind} in {types:?}");
    }

    // A reconnecting agent gets the current configuration before its actions.
    drop(ws);
    let (_ws, again) = agent(&t, &pool_key, "orders-2").await;
    assert_eq!(again["blocklist"]["rules"][0], "com.acme.secret.*");
}

#[tokio::test]
async fn roles_read_or_change_and_the_pages_work_without_javascript() {
    let t = TestApp::start().await;
    let admin_client = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let c = t.client();
    for (role, may_read, may_change) in [
        ("company-admin", true, true),
        ("company-viewer", true, false),
        ("group-admin", false, false),
        ("security", true, true),
        ("appsec", true, false),
        ("incident-responder", true, false),
        ("developer", true, false),
    ] {
        let k = key(&t, role).await;
        let (s, _) = api(&c, "GET", "/pii-patterns", &k, Value::Null).await;
        assert_eq!(s == 200, may_read, "{role} reads templates");
        let (s, _) = api(&c, "GET", "/blocklist", &k, Value::Null).await;
        assert_eq!(s == 200, may_read, "{role} reads the blocklist");
        let (s, _) = api(
            &c,
            "POST",
            "/blocklist/test",
            &k,
            json!({"location": {"file": "A.java", "line": 1}}),
        )
        .await;
        assert_eq!(s == 200, may_read, "{role} tests a location");
        let (s, v) = api(
            &c,
            "PUT",
            "/blocklist",
            &k,
            json!({"rules": [format!("com.{}.*", role.replace('-', ""))]}),
        )
        .await;
        assert_eq!(s == 200, may_change, "{role} changes the blocklist: {v}");
        if !may_change {
            assert_eq!(s, 403);
        }
    }

    // The page: readers see the tester; the admin adds a library pattern without saving,
    // then saves, and the tester's answer is rendered on the server.
    let page = admin_client.get("/settings/security/pii-redaction").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Default") && page.body.contains("New template"));
    let csrf = page.csrf();
    let added = admin_client
        .post_form(
            "/settings/security/pii-redaction",
            &[
                ("csrf", &csrf),
                ("name", "Cards"),
                ("name_patterns", ""),
                ("value_patterns", ""),
                ("add", "us_ssn"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains("Nothing is saved until you press Save"));
    assert!(added.body.contains("[0-9]{3}-[0-9]{2}-[0-9]{4}"));
    let bad = admin_client
        .post_form(
            "/settings/security/pii-redaction",
            &[("csrf", &csrf), ("name", "Cards"), ("value_patterns", "a(")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("There is a problem") && bad.body.contains("a("));
    let saved = admin_client
        .post_form(
            "/settings/security/pii-redaction",
            &[
                ("csrf", &csrf),
                ("name", "Cards"),
                ("value_patterns", "\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b"),
                ("card_numbers", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let tried = admin_client
        .post_form(
            "/settings/security/pii-redaction/test",
            &[
                ("csrf", &csrf),
                ("template_id", "default"),
                ("variables", "password = hunter2\nnote = hello"),
            ],
        )
        .await;
    assert_eq!(tried.status, 200);
    assert!(tried.body.contains("name pattern passw(or)?d"));
    assert!(!tried.body.contains("hunter2</code>"));
    assert!(tried.body.contains("hello"));

    let page = admin_client.get("/settings/security/blocklist").await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let refused = admin_client
        .post_form(
            "/settings/security/blocklist",
            &[("csrf", &csrf), ("rules", "ok.pkg.*\nbad pattern")],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("line 2"), "{}", refused.body);
    assert!(
        refused.body.contains("bad pattern"),
        "what was typed is kept"
    );
    let saved = admin_client
        .post_form(
            "/settings/security/blocklist",
            &[
                ("csrf", &csrf),
                ("rules", "com.acme.secret.*"),
                ("exceptions", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 200);
    let tested = admin_client
        .post_form(
            "/settings/security/blocklist/test",
            &[("csrf", &csrf), ("location", "com.acme.secret.Vault")],
        )
        .await;
    assert!(
        tested
            .body
            .contains("Blocked by the rule com.acme.secret.*")
    );
}
