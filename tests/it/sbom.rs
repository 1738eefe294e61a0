//! The Runtime SBOM end to end: a test agent over TLS in its own pool declares Maven jars
//! (one with a SHA-256, one never loaded) and a Python distribution and loads classes and
//! modules; another agent in the Default pool loads guava. Then `GET /api/v1/sbom` in all
//! three formats, each document checked by real validators — CycloneDX against the 1.6 JSON
//! schema and the CycloneDX project's strict validator, SPDX against the 2.3 JSON schema
//! (`tests/sbom_validate.py`, run with `python3` or `$LANTERN_PYTHON`; the test fails, never
//! skips, when Python or the libraries are missing) — and the validators shown to reject
//! known-invalid documents. Also: filters, 400s, pool scoping for a developer, 403 for a key
//! without a role, the audit record, and the portal page and its download.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::agent_client::*;
use crate::entities::new_pool;
use crate::pools::{sign_in, user};
use crate::support::*;

const LOG4J: &str = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1";
const SNAKEYAML: &str = "pkg:maven/org.yaml/snakeyaml@1.33";
const LANG3: &str = "pkg:maven/org.apache.commons/commons-lang3@3.12.0";
const FLASK: &str = "pkg:pypi/flask@3.0.0";
const GUAVA: &str = "pkg:maven/com.google.guava/guava@33.0.0-jre";
const LOG4J_SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// A GET of the API with a bearer key.
pub(crate) async fn get(c: &Client, path: &str, key: &str) -> Resp {
    let auth = format!("Bearer {key}");
    c.request(
        "GET",
        &format!("/api/v1{path}"),
        &[("authorization", &auth)],
        Vec::new().into(),
    )
    .await
}

/// The answer's body as JSON.
pub(crate) fn json_of(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn jar(r: u32, group: &str, name: &str, version: &str) -> Value {
    json!({"ref": r, "location": format!("/srv/lib/{name}-{version}.jar"), "kind": "jar",
           "coordinates": [
               {"source": "file_name_guess", "name": name, "version": version},
               {"source": "pom_properties", "group": group, "name": name, "version": version}]})
}

fn purls(bom: &Value) -> Vec<String> {
    bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap().to_string())
        .collect()
}

/// Runs the validator script on `files`; answers its exit code and output. Panics when
/// Python cannot be started or the script reports a setup problem (exit 2): a machine
/// without the validators must fail this test, not pass it.
pub(crate) fn validate(kind: &str, files: &[PathBuf]) -> (i32, String) {
    let python = std::env::var("LANTERN_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sbom_validate.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(kind)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e} (the SBOM validators need Python 3; .ci/run installs them)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "the validator could not run (exit {code}): {text}"
    );
    (code, text)
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[tokio::test]
async fn runtime_sbom_in_three_formats_validated_and_scoped() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let c = t.client();
    let (pool, pool_key) = new_pool(&t, &key, "payments").await;
    let mut ws = connect_hello(&t, &pool_key, "pay-api", &["production"]).await;
    let mut log4j = jar(1, "org.apache.logging.log4j", "log4j-core", "2.14.1");
    log4j["sha256"] = json!(LOG4J_SHA256);
    send(
        &mut ws,
        &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [
            log4j,
            jar(2, "org.yaml", "snakeyaml", "1.33"),
            jar(3, "org.apache.commons", "commons-lang3", "3.12.0"),
            {"ref": 4, "location": "/venv/lib/python3.11/site-packages/flask", "kind": "distribution",
             "coordinates": [{"source": "dist_metadata", "name": "Flask", "version": "3.0.0"}]}],
        "loads": [
            {"artifact": 1, "classes": ["org.apache.logging.log4j.core.lookup.JndiLookup"]},
            {"artifact": 3, "classes": ["org.apache.commons.lang3.StringUtils"]},
            {"artifact": 4, "classes": ["flask.app"]}]}),
    )
    .await;
    let default_key = default_pool_key(&t).await;
    let mut other = connect_hello(&t, &default_key, "batch", &["nightly"]).await;
    send(
        &mut other,
        &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [jar(1, "com.google.guava", "guava", "33.0.0-jre")],
        "loads": [{"artifact": 1, "classes": ["com.google.common.base.Strings"]}]}),
    )
    .await;
    let reg = &t.app().state.agents.registry;
    eventually("both agents' classes are indexed", || {
        reg.find("id-pay-api")
            .is_some_and(|a| a.classes_loaded == 3)
            && reg.find("id-batch").is_some_and(|a| a.classes_loaded == 1)
    })
    .await;

    let dir = tempfile::tempdir().unwrap();

    // CycloneDX, every pool (a Company Admin), loaded only.
    let r = get(
        &c,
        "/sbom?format=cyclonedx&name=payments-api&supplier=Example%20Corp&version=4.2",
        &key,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.cyclonedx+json; version=1.6")
    );
    let disposition = r.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"sbom-payments-api-")
            && disposition.ends_with(".cdx.json\""),
        "{disposition}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let bom = json_of(&r);
    assert_eq!(
        purls(&bom),
        [GUAVA, LANG3, LOG4J, FLASK],
        "by purl; snakeyaml never loaded"
    );
    assert_eq!(bom["metadata"]["component"]["name"], "payments-api");
    assert_eq!(bom["metadata"]["component"]["version"], "4.2");
    assert_eq!(
        bom["metadata"]["component"]["supplier"]["name"],
        "Example Corp"
    );
    let log4j = &bom["components"][2];
    assert_eq!(log4j["group"], "org.apache.logging.log4j");
    assert_eq!(log4j["name"], "log4j-core");
    assert_eq!(
        log4j["hashes"],
        json!([{"alg": "SHA-256", "content": LOG4J_SHA256}])
    );
    assert_eq!(
        log4j["evidence"]["occurrences"],
        json!([{"location": "/srv/lib/log4j-core-2.14.1.jar",
                "additionalContext": format!("loaded by 1 agent (id-pay-api) in pool {pool}")}])
    );
    let techniques: Vec<&str> = log4j["evidence"]["identity"][0]["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["technique"].as_str().unwrap())
        .collect();
    assert_eq!(
        techniques,
        ["manifest-analysis", "instrumentation", "filename"]
    );
    let flask = &bom["components"][3];
    assert_eq!(flask["name"], "flask");
    assert!(flask.get("group").is_none());
    let cdx_all = write(dir.path(), "all.cdx.json", &r.body);

    // With the never-loaded package, marked; narrowed to the payments pool and its tag.
    let r = get(
        &c,
        &format!("/sbom?include_not_loaded=true&pool={pool}&tag=production"),
        &key,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let scoped = json_of(&r);
    assert_eq!(purls(&scoped), [LANG3, LOG4J, SNAKEYAML, FLASK]);
    assert!(
        scoped["components"][2]["properties"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "lantern:status", "value": "not_loaded"}))
    );
    assert_eq!(scoped["metadata"]["component"]["name"], "runtime");
    let cdx_scoped = write(dir.path(), "scoped.cdx.json", &r.body);

    // SPDX.
    let r = get(
        &c,
        "/sbom?format=spdx&include_not_loaded=1&name=payments-api",
        &key,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/spdx+json"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .ends_with(".spdx.json\"")
    );
    let doc = json_of(&r);
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(
        doc["packages"].as_array().unwrap().len(),
        6,
        "the application and five packages"
    );
    assert_eq!(doc["relationships"].as_array().unwrap().len(), 6);
    let spdx_all = write(dir.path(), "all.spdx.json", &r.body);

    // CSV.
    let r = get(&c, "/sbom?format=csv", &key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(r.header("content-disposition").unwrap().ends_with(".csv\""));
    let lines: Vec<&str> = r.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "purl,name,group,version,ecosystem,status,agents,pools,tags,first_seen,last_seen,sha256,locations"
    );
    assert_eq!(lines.len(), 5);
    assert!(lines[3].starts_with(&format!(
        "{LOG4J},log4j-core,org.apache.logging.log4j,2.14.1,Maven,loaded,id-pay-api,{pool},production,"
    )), "{}", lines[3]);
    assert!(lines[3].ends_with(&format!(",{LOG4J_SHA256},/srv/lib/log4j-core-2.14.1.jar")));

    // The validators: ours pass, and known-invalid documents are rejected.
    let (code, out) = validate("cyclonedx", &[cdx_all, cdx_scoped]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = validate("spdx", &[spdx_all]);
    assert_eq!(code, 0, "{out}");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sbom/cyclonedx");
    for bad in [
        "invalid-hash-sha256-1.6.json",
        "invalid-serialnumber-1.6.json",
    ] {
        let (code, out) = validate("cyclonedx", &[fixtures.join(bad)]);
        assert_eq!(code, 1, "{bad} must be rejected: {out}");
        assert!(
            out.contains("JsonStrictValidator"),
            "the strict validator rejects {bad} too: {out}"
        );
    }
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("SPDXID");
    broken["packages"][1]["SPDXID"] = json!("Package with spaces");
    let broken = write(dir.path(), "broken.spdx.json", &broken.to_string());
    let (code, out) = validate("spdx", &[broken]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("SPDXID"), "{out}");

    // Bad parameters: the API's JSON error, naming the field.
    for (q, field) in [
        ("?format=xml", "format"),
        ("?include_not_loaded=perhaps", "include_not_loaded"),
        ("?name=a%0Ab", "name"),
    ] {
        let r = get(&c, &format!("/sbom{q}"), &key).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        let e = json_of(&r);
        assert_eq!(e["error"]["code"], "validation_failed", "{q}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(field),
            "{q}: {e}"
        );
    }

    // A developer of the Default group: the payments pool is not theirs.
    let (dev_portal, _) = user(&t, "dev@example.org", &["developer"]).await;
    let dev_key = lantern::cli::api_key_create(&t.data_dir(), "dev@example.org", "dev", &[], 5)
        .await
        .unwrap();
    let mine = json_of(&get(&c, "/sbom?include_not_loaded=true", &dev_key).await);
    assert_eq!(purls(&mine), [GUAVA], "only the Default pool's packages");
    let text = mine.to_string();
    assert!(!text.contains("pay-api") && !text.contains(&pool));
    let theirs = json_of(
        &get(
            &c,
            &format!("/sbom?pool={pool}&include_not_loaded=true"),
            &dev_key,
        )
        .await,
    );
    assert_eq!(
        purls(&theirs),
        Vec::<String>::new(),
        "the pool filter cannot widen the scope"
    );
    let csv = get(&c, &format!("/sbom?format=csv&pool={pool}"), &dev_key).await;
    assert_eq!(
        csv.body.split("\r\n").filter(|l| !l.is_empty()).count(),
        1,
        "the header only"
    );

    // A key without a role (metrics only) may not export.
    let metrics_key = lantern::cli::api_key_create(
        &t.data_dir(),
        ADMIN_EMAIL,
        "scraper",
        &["metrics".into()],
        5,
    )
    .await
    .unwrap();
    let r = get(&c, "/sbom", &metrics_key).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(json_of(&r)["error"]["code"], "forbidden");

    // Each export is audited: who, format, scope.
    let audit = json_of(&get(&c, "/audit-events?type=sbom.export&limit=100", &key).await);
    let items = audit["items"].as_array().unwrap();
    assert!(items.len() >= 7, "{audit}");
    let scoped_export = items
        .iter()
        .find(|i| i["details"]["pool"] == json!(pool) && i["details"]["tag"] == "production")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(scoped_export["details"]["format"], "cyclonedx");
    assert_eq!(scoped_export["actor"]["type"], "api_key", "{scoped_export}");
    assert_eq!(
        scoped_export["actor"]["label"], "agent tests",
        "{scoped_export}"
    );
    assert_eq!(scoped_export["details"]["include_not_loaded"], true);
    assert_eq!(scoped_export["details"]["components"], 4);

    // The page: explanation, the GET form, the count; its download; a bad choice is a 400.
    let portal = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = portal.get("/settings/reachability/sbom").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("What a runtime SBOM is"));
    assert!(
        page.body
            .contains("action=\"/settings/reachability/sbom/download\"")
    );
    assert!(page.body.contains("4 components</strong> in this choice (4 loaded packages, 1 package never loaded, left out)."), "{}", page.body);
    assert!(!page.body.contains("Not available yet"));
    let narrowed = portal
        .get(&format!(
            "/settings/reachability/sbom?pool={pool}&include_not_loaded=on"
        ))
        .await;
    assert!(
        narrowed.body.contains(
            "4 components</strong> in this choice (3 loaded packages, 1 package never loaded)."
        ),
        "{}",
        narrowed.body
    );
    let file = portal
        .get("/settings/reachability/sbom/download?format=cyclonedx&name=from-portal&include_not_loaded=on")
        .await;
    assert_eq!(file.status, 200, "{}", file.body);
    assert!(
        file.header("content-disposition")
            .unwrap()
            .contains("sbom-from-portal-")
    );
    assert_eq!(purls(&json_of(&file)).len(), 5);
    let bad = portal.get("/settings/reachability/sbom?format=pdf").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("format is cyclonedx, spdx or csv"));
    let dev_page = dev_portal.get("/settings/reachability/sbom").await;
    assert_eq!(dev_page.status, 200);
    assert!(
        dev_page
            .body
            .contains("1 component</strong> in this choice"),
        "{}",
        dev_page.body
    );
}
