//! Service Configuration: `PUT /api/v1/settings/service` refuses a bad value per field and
//! stores nothing; a lowered hit cap is enforced on the next action; a capture-limit change
//! reaches a connected agent; the page's form saves, keeps typed values after an error and
//! resets a field; the retention sweep deletes the results of actions that ended longer ago
//! than the retention and keeps the rest.

use serde_json::{Value, json};

use crate::actions::{actions_agent, call, json_of};
use crate::agent_client::*;
use crate::support::*;
use lantern::actions::model::{Caps, NewAction, Origin};
use lantern::actions::records::{self, FromAgent, StoredLog, StoredSnapshot};
use lantern::clock::Clock;
use lantern::ops::service_config::ServiceConfig;

const PATH: &str = "/settings/compliance/service-configuration";

#[tokio::test]
async fn a_bad_value_is_refused_per_field_and_nothing_is_stored() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let c = t.client();
    let r = call(
        &c,
        &key,
        "PUT",
        "/settings/service",
        Some(json!({"results_retention_days": 0, "capture_depth": 5, "min_expiry_s": "x"})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let fields: Vec<String> = json_of(&r)["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["min_expiry_s"], "a wrong type is refused first");
    let r = call(
        &c,
        &key,
        "PUT",
        "/settings/service",
        Some(json!({"results_retention_days": 0, "capture_depth": 5})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let e = json_of(&r);
    assert_eq!(e["error"]["fields"][0]["field"], "results_retention_days");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 3650 days"),
        "{e}"
    );
    let now = json_of(&call(&c, &key, "GET", "/settings/service", None).await);
    assert_eq!(now["revision"], 0);
    assert_eq!(
        now["values"]["capture_depth"], 3,
        "the good value is not kept either"
    );
    assert_eq!(now["values"]["results_retention_days"], 10);
    assert!(now["fields"].as_array().unwrap().len() > 10);
}

#[tokio::test]
async fn a_lowered_hit_cap_is_enforced_and_capture_limits_reach_agents() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let pool_key = default_pool_key(&t).await;
    let c = t.client();
    let (mut ws, _) = actions_agent(&t, &pool_key, "orders", &[]).await;

    let r = call(
        &c,
        &key,
        "PUT",
        "/settings/service",
        Some(json!({"snapshot_hits_max": 5, "snapshot_hits_api": 4, "capture_depth": 2})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_of(&r)["revision"], 1);
    let update = next_json(&mut ws).await;
    assert_eq!(update["type"], "config.update", "{update}");
    assert_eq!(update["capture"]["max_depth"], 2);
    assert_eq!(
        update["capture"]["max_snapshot_bytes"], 65_536,
        "Java's budget"
    );

    let snapshot = |hits: Option<u64>| {
        let mut v = json!({"type": "snapshot", "location": {"file": "A.java", "line": 3},
                           "target": {"kind": "agent", "id": "id-orders"}});
        if let Some(h) = hits {
            v["max_hits"] = json!(h);
        }
        v
    };
    let r = call(&c, &key, "POST", "/actions", Some(snapshot(Some(6)))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(json_of(&r)["error"]["fields"][0]["field"], "max_hits");
    assert!(r.body.contains("between 1 and 5"), "{}", r.body);
    let r = call(&c, &key, "POST", "/actions", Some(snapshot(None))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json_of(&r)["max_hits"], 4, "the API default in force");

    // The change is audited with what changed.
    let audit = json_of(&call(&c, &key, "GET", "/audit-events?kind=settings.update", None).await);
    let text = audit.to_string();
    assert!(text.contains("snapshot_hits_max"), "{text}");
    // The cache went with the store: a restart keeps it.
    let stored = t
        .app()
        .state
        .store
        .read(lantern::ops::service_config::load)
        .await
        .unwrap();
    assert_eq!(stored.snapshot_hits_max, 5);
}

#[tokio::test]
async fn the_page_saves_keeps_typed_values_and_resets() {
    let t = TestApp::start().await;
    let _ = admin_api_key(&t).await;
    let c = t.client();
    assert_eq!(c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let page = c.get(PATH).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Default 10 days; from 1 to 3650."));
    let csrf = page.csrf();
    let mut fields: Vec<(String, String)> = lantern::ops::service_config::FIELDS
        .iter()
        .map(|f| (f.key.to_string(), f.default.to_string()))
        .collect();
    let set = |fields: &mut Vec<(String, String)>, k: &str, v: &str| {
        for (key, value) in fields.iter_mut() {
            if key == k {
                *value = v.to_string();
            }
        }
    };
    set(&mut fields, "results_retention_days", "4000");
    set(&mut fields, "capture_fields", "33");
    let post = |fields: &Vec<(String, String)>| {
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        form.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let form = post(&fields);
    let as_refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = c.post_form(PATH, &as_refs).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("There is a problem"));
    assert!(
        r.body
            .contains(r#"name="results_retention_days" type="number" value="4000""#)
    );
    assert!(
        r.body
            .contains(r#"name="capture_fields" type="number" value="33""#),
        "kept"
    );
    assert_eq!(
        t.app().state.settings.get().capture_fields,
        20,
        "nothing saved"
    );

    set(&mut fields, "results_retention_days", "30");
    let form = post(&fields);
    let as_refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = c.post_form(PATH, &as_refs).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("was saved"));
    let s = t.app().state.settings.get();
    assert_eq!((s.results_retention_days, s.capture_fields), (30, 33));

    let r = c
        .post_form(PATH, &[("csrf", &csrf), ("reset", "capture_fields")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = t.app().state.settings.get();
    assert_eq!((s.results_retention_days, s.capture_fields), (30, 20));
    let r = c
        .post_form(PATH, &[("csrf", &csrf), ("reset", "section:retention")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(t.app().state.settings.get().results_retention_days, 10);
}

fn stored_action(id: &str, now: i64, expires_at_ms: i64) -> lantern::actions::model::Action {
    let mut a = NewAction {
        kind: Some("log".into()),
        location: Some(json!({"file": "A.java", "line": 3})),
        target: Some(json!({"kind": "tag", "id": "prod"})),
        template: Some("hi".into()),
        ..Default::default()
    }
    .validate(Origin::Api, &Caps::default(), id.into(), "me".into(), now)
    .unwrap();
    a.expires_at_ms = expires_at_ms;
    a
}

fn from() -> FromAgent {
    FromAgent {
        agent_id: "ag".into(),
        agent_name: "orders".into(),
        pool_id: "default".into(),
        tags: vec![],
    }
}

#[tokio::test]
async fn retention_deletes_old_results_of_ended_actions_and_keeps_the_rest() {
    let t = TestApp::start().await;
    let state = &t.app().state;
    let now = t.clock.now_ms();
    let day = 24 * 3_600_000;
    // Ended 11 days ago (past the 10-day retention), ended yesterday, and still running.
    let actions = [
        stored_action("a-old", now - 12 * day, now - 11 * day),
        stored_action("a-recent", now - 2 * day, now - day),
        stored_action("a-live", now, now + 3_600_000),
    ];
    let ids: Vec<String> = actions.iter().map(|a| a.id.clone()).collect();
    state
        .store
        .write(move |tx| {
            for a in &actions {
                records::put(tx, a)?;
                for i in 0..700 {
                    let line = StoredLog {
                        from: from(),
                        seq: 0,
                        time_ms: a.created_ms + i,
                        level: "info".into(),
                        thread: "main".into(),
                        text: format!("line {i}"),
                    };
                    records::add_log(tx, &a.id, line)?;
                }
                let snap = StoredSnapshot {
                    from: from(),
                    seq: 0,
                    time_ms: a.created_ms,
                    thread: "main".into(),
                    frames: Value::Array(vec![]),
                    this: None,
                    locals: Value::Array(vec![]),
                    watches: Value::Array(vec![]),
                    truncated: false,
                };
                records::add_snapshot(tx, &a.id, snap)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let report = lantern::ops::retention::sweep(
        &state.store,
        &state.agents.actions,
        &ServiceConfig::default(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(report.actions, 1);
    assert_eq!(report.results, 701, "in steps of at most 500 rows");
    let counts = state
        .store
        .read(move |tx| {
            let mut out = Vec::new();
            for id in &ids {
                out.push((
                    records::get(tx, id)?.is_some(),
                    records::logs(tx, id)?.len(),
                    records::snapshots(tx, id)?.len(),
                ));
            }
            Ok(out)
        })
        .await
        .unwrap();
    assert_eq!(counts, [(false, 0, 0), (true, 700, 1), (true, 700, 1)]);

    // A day later with a 1-day retention, the one that ended yesterday goes too.
    t.clock.advance_ms(day);
    let config = ServiceConfig {
        results_retention_days: 1,
        ..ServiceConfig::default()
    };
    let report = lantern::ops::retention::sweep(
        &state.store,
        &state.agents.actions,
        &config,
        t.clock.now_ms(),
    )
    .await
    .unwrap();
    assert_eq!(report.actions, 1);
    let audit = state
        .store
        .read(lantern::security::audit::verify)
        .await
        .unwrap();
    assert_eq!(audit.broken, None, "the sweep's audit record links on");
}
