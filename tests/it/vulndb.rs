//! The offline vulnerability database end to end: the full PyPA dump imported through the
//! API and the portal's upload, its invalid records reported by id, re-import idempotent, a
//! bad file losing nothing, the matcher answering at once; and `lantern vulndb import` with
//! the appliance stopped and running.

use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::Bytes;
use serde_json::Value;

use crate::support::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv")
}

const PYPA: &str = "dumps/pypa-advisory-database-20241010/PyPI/all.zip";
const PYPA_INVALID: [&str; 7] = [
    "PYSEC-2017-27",
    "PYSEC-2019-155",
    "PYSEC-2021-371",
    "PYSEC-2021-424",
    "PYSEC-2021-425",
    "PYSEC-2021-436",
    "PYSEC-2023-80",
];

async fn api(c: &Client, method: &str, path: &str, key: &str, body: Bytes) -> Resp {
    let auth = format!("Bearer {key}");
    c.request(
        method,
        &format!("/api/v1{path}"),
        &[
            ("authorization", &auth),
            ("content-type", "application/octet-stream"),
        ],
        body,
    )
    .await
}

fn json(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

async fn key_with_roles(t: &TestApp, roles: &[&str]) -> String {
    lantern::cli::api_key_create(
        &t.data_dir(),
        ADMIN_EMAIL,
        "vulndb",
        &roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        5,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_full_pypa_dump_by_api_reports_invalid_records_and_reimports_idempotently() {
    let t = TestApp::start().await;
    let browser = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let key = key_with_roles(&t, &["company-admin"]).await;
    let c = t.client();

    // Nothing loaded is a problem, said so by the API and the page.
    let status = json(&api(&c, "GET", "/vulndb", &key, Bytes::new()).await);
    assert_eq!(status["loaded"], false);
    assert_eq!(status["advisories"], 0);
    let page = browser
        .get("/settings/reachability/package-enrichment")
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No advisories loaded"), "{}", page.body);

    let zip = Bytes::from(std::fs::read(fixtures().join(PYPA)).unwrap());
    let started = Instant::now();
    let r = api(
        &c,
        "POST",
        "/vulndb/imports?name=PyPI/all.zip",
        &key,
        zip.clone(),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(r.status, 201, "{}", r.body);
    let run = json(&r);
    println!(
        "PyPA dump (2,661 records) imported over HTTPS in {:.3} s (server-side {} ms)",
        took.as_secs_f64(),
        run["duration_ms"]
    );
    assert_eq!(run["kept"], 2654);
    assert_eq!(run["added"], 2654);
    assert_eq!(run["withdrawn"], 10);
    assert_eq!(run["invalid_total"], 7);
    let mut invalid: Vec<&str> = run["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    invalid.sort();
    assert_eq!(invalid, PYPA_INVALID);
    assert!(
        run["invalid"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a full commit hash"),
        "{run}"
    );

    // The running matcher answers at once; withdrawn records never match.
    let hits = t.app().state.vulndb.query("PyPI", "urllib3", "2.0.3");
    let ids: Vec<&str> = hits.iter().map(|a| a.id.as_str()).collect();
    assert!(ids.contains(&"PYSEC-2023-192"), "{ids:?}");

    // Again: nothing new, nothing lost.
    let again = json(&api(&c, "POST", "/vulndb/imports", &key, zip).await);
    assert_eq!(
        (&again["added"], &again["replaced"], &again["unchanged"]),
        (&Value::from(0), &Value::from(0), &Value::from(2654))
    );

    // A file that is not OSV at all is refused as a whole and loses nothing.
    let bad = api(
        &c,
        "POST",
        "/vulndb/imports?name=notes.txt",
        &key,
        Bytes::from_static(b"these are not advisories"),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body.contains("notes.txt is not OSV data"),
        "{}",
        bad.body
    );
    let status = json(&api(&c, "GET", "/vulndb", &key, Bytes::new()).await);
    assert_eq!(status["loaded"], true);
    assert_eq!(status["advisories"], 2654);
    assert_eq!(status["withdrawn"], 10);
    assert_eq!(status["by_ecosystem"]["PyPI"], 2654);
    assert!(
        status["newest_modified"]
            .as_str()
            .unwrap()
            .starts_with("2024-")
    );
    let history = json(&api(&c, "GET", "/vulndb/imports?limit=10", &key, Bytes::new()).await);
    assert_eq!(history["total"], 2);

    // The portal's upload: one file per request, the CSRF token in a header.
    let page = browser
        .get("/settings/reachability/package-enrichment")
        .await;
    assert!(
        page.body.contains("PYSEC-2017-27"),
        "invalid records listed"
    );
    assert!(!page.body.contains("No advisories loaded"));
    let csrf = page.csrf();
    let origin = browser.origin();
    let record = std::fs::read(fixtures().join("records/maven/GHSA-jfh8-c2jp-5v3q.json")).unwrap();
    let upload_path = "/settings/reachability/package-enrichment/imports?name=log4j.json";
    let refused = browser
        .request(
            "POST",
            upload_path,
            &[("origin", &origin)],
            Bytes::from(record.clone()),
        )
        .await;
    assert_eq!(refused.status, 403, "no token, no import");
    let up = browser
        .request(
            "POST",
            upload_path,
            &[("origin", &origin), ("x-csrf-token", &csrf)],
            Bytes::from(record),
        )
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    assert_eq!(json(&up)["added"], 1);
    assert!(
        !t.app()
            .state
            .vulndb
            .query("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1")
            .is_empty()
    );

    // Reading is not importing: a Company Viewer key may look but not import.
    let body = serde_json::json!({"email": "vera@example.org", "name": "Vera Viewer",
        "roles": ["company-viewer"], "password": "quiet harbour 2026"});
    let made = c
        .request(
            "POST",
            "/api/v1/users",
            &[
                ("authorization", &format!("Bearer {key}")),
                ("content-type", "application/json"),
            ],
            Bytes::from(body.to_string()),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let viewer = lantern::cli::api_key_create(&t.data_dir(), "vera@example.org", "viewer", &[], 5)
        .await
        .unwrap();
    assert_eq!(
        api(&c, "GET", "/vulndb", &viewer, Bytes::new())
            .await
            .status,
        200
    );
    let denied = api(
        &c,
        "POST",
        "/vulndb/imports",
        &viewer,
        Bytes::from_static(b"[]"),
    )
    .await;
    assert_eq!(denied.status, 403);
}

#[tokio::test]
async fn the_command_line_imports_with_the_appliance_stopped_and_running() {
    let mut t = TestApp::start().await;
    t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    t.stop().await;

    // Stopped: straight into the store.
    let maven = fixtures().join("records/maven");
    let said = lantern::cli::vulndb_import(&t.data_dir(), std::slice::from_ref(&maven))
        .await
        .unwrap();
    assert!(said.contains("kept 13 (13 new"), "{said}");
    assert!(!said.contains("through the running appliance"));
    let missing = lantern::cli::vulndb_import(&t.data_dir(), &[t.dir.path().join("nope.zip")])
        .await
        .unwrap_err();
    assert_eq!(missing.exit_code(), 2);

    // Started again: the advisories are loaded at start.
    let dir = std::mem::replace(&mut t.dir, tempfile::tempdir().unwrap());
    let mut t = TestApp::start_in(dir, &[]).await;
    assert_eq!(t.app().state.vulndb.snapshot().stats().records, 13);

    // Running: through the control socket, and the matcher is updated at once.
    let started = Instant::now();
    let said = lantern::cli::vulndb_import(
        &t.data_dir(),
        &[
            fixtures().join(PYPA),
            fixtures().join("records/pypi"),
            maven,
        ],
    )
    .await
    .unwrap();
    println!(
        "lantern vulndb import (PyPA dump + 28 records) through the running appliance in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    assert!(said.contains("through the running appliance"), "{said}");
    assert!(said.contains("invalid PYSEC-2019-155"), "{said}");
    assert!(said.contains("withdrawn 10"), "{said}");
    let stats = t.app().state.vulndb.snapshot().stats().clone();
    // The PyPA dump, plus the GHSA records of PyPI packages and PYSEC-2024-56's neighbours:
    // every PyPI fixture record is either in the dump or new.
    assert!(stats.records > 2654 + 13, "{stats:?}");
    assert!(
        !t.app()
            .state
            .vulndb
            .query("PyPI", "Django", "4.2.0")
            .is_empty()
    );
    let audit = t
        .app()
        .state
        .store
        .read(|tx| {
            lantern::security::audit::list(tx, &Default::default(), 0, 100).map(|(rows, _)| rows)
        })
        .await
        .unwrap();
    let imports = audit
        .iter()
        .filter(|r| r.event.kind == "vulndb.import")
        .count();
    assert_eq!(imports, 2, "both imports audited");
    t.stop().await;
}
