//! Runtime Reachability Assessment end to end: OSV fixture records imported through the API,
//! a test agent over TLS declaring a vulnerable Maven artifact it loads a class from, another
//! vulnerable one it never loads and a clean one it loads; then `GET
//! /api/v1/reachability/packages` (order, groups, every field, filters, 400s), one package,
//! pool scoping for a developer whose access group lacks the agent's pool (sees nothing, 404),
//! and the portal page with both sections and the package page.

use std::path::Path;

use serde_json::{Value, json};

use crate::agent_client::*;
use crate::entities::{new_pool, open_stream, read_until};
use crate::pools::{sign_in, user};
use crate::support::*;

const LOG4J: &str = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1";
const SNAKEYAML: &str = "pkg:maven/org.yaml/snakeyaml@1.33";
const LANG3: &str = "pkg:maven/org.apache.commons/commons-lang3@3.12.0";

async fn api(c: &Client, path: &str, key: &str) -> Resp {
    let auth = format!("Bearer {key}");
    c.request(
        "GET",
        &format!("/api/v1{path}"),
        &[("authorization", &auth)],
        Vec::new().into(),
    )
    .await
}

fn json_of(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

/// Imports the log4j-core (critical) and snakeyaml (high) advisories of the fixtures.
pub async fn import_advisories(t: &TestApp, key: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv/records/maven");
    let records: Vec<Value> = ["GHSA-jfh8-c2jp-5v3q.json", "GHSA-mjmj-j48q-9wg2.json"]
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap())
        .collect();
    let r = t
        .client()
        .request(
            "POST",
            "/api/v1/vulndb/imports?name=reachability.json",
            &[
                ("authorization", &format!("Bearer {key}")),
                ("content-type", "application/json"),
            ],
            serde_json::to_vec(&records).unwrap().into(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

pub fn jar(r: u32, group: &str, name: &str, version: &str) -> Value {
    json!({"ref": r, "location": format!("/srv/lib/{name}-{version}.jar"), "kind": "jar",
           "coordinates": [{"source": "pom_properties", "group": group, "name": name, "version": version}]})
}

#[tokio::test]
async fn vulnerable_and_loaded_first_never_loaded_apart_scoped_by_pool() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let portal = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let c = t.client();

    // Before any agent or advisory: the page says how to get packages and that nothing is
    // checked, never "nothing vulnerable".
    let page = portal.get("/reachability").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("No advisories loaded"), "{}", page.body);
    assert!(
        page.body
            .contains("/settings/reachability/package-enrichment")
    );
    assert!(page.body.contains("No packages yet"));

    import_advisories(&t, &key).await;

    // The agent connects into its own pool, which the developer's group lacks.
    let (pool, pool_key) = new_pool(&t, &key, "payments").await;
    let mut ws = connect_hello(&t, &pool_key, "pay-api", &["production"]).await;
    send(
        &mut ws,
        &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [
            jar(1, "org.apache.logging.log4j", "log4j-core", "2.14.1"),
            jar(2, "org.yaml", "snakeyaml", "1.33"),
            jar(3, "org.apache.commons", "commons-lang3", "3.12.0")],
        "loads": [
            {"artifact": 1, "classes": ["org.apache.logging.log4j.core.lookup.JndiLookup"]},
            {"artifact": 3, "classes": ["org.apache.commons.lang3.StringUtils"]}]}),
    )
    .await;
    let reg = &t.app().state.agents.registry;
    eventually("the agent's classes are indexed", || {
        reg.find("id-pay-api")
            .is_some_and(|a| a.classes_loaded == 2)
    })
    .await;

    // The list: vulnerable and loaded, loaded, vulnerable never loaded.
    let r = api(&c, "/reachability/packages", &key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = json_of(&r);
    assert_eq!(all["total"], 3, "{all}");
    assert_eq!(
        (all["offset"].clone(), all["limit"].clone()),
        (json!(0), json!(20))
    );
    let purls: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["purl"].as_str().unwrap())
        .collect();
    assert_eq!(purls, [LOG4J, LANG3, SNAKEYAML]);

    let log4j = &all["items"][0];
    let mut fields: Vec<&str> = log4j
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "agents",
            "ecosystem",
            "first_seen",
            "last_seen",
            "name",
            "pools",
            "purl",
            "status",
            "tags",
            "version",
            "vulnerabilities"
        ]
    );
    assert_eq!(log4j["name"], "org.apache.logging.log4j:log4j-core");
    assert_eq!(log4j["version"], "2.14.1");
    assert_eq!(log4j["ecosystem"], "Maven");
    assert_eq!(log4j["status"], "loaded");
    assert_eq!(log4j["agents"], json!(["id-pay-api"]));
    assert_eq!(log4j["pools"], json!([pool]));
    assert_eq!(log4j["tags"], json!(["production"]));
    assert!(log4j["first_seen"].as_str().unwrap().ends_with('Z'));
    assert!(log4j["last_seen"].as_str().unwrap().ends_with('Z'));
    let vulns = log4j["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 1, "{log4j}");
    assert_eq!(vulns[0]["id"], "GHSA-jfh8-c2jp-5v3q");
    assert!(
        vulns[0]["aliases"]
            .as_array()
            .unwrap()
            .contains(&json!("CVE-2021-44228"))
    );
    assert_eq!(vulns[0]["severity"]["rating"], "critical");
    assert_eq!(vulns[0]["severity"]["score"], 10.0);
    assert!(vulns[0]["summary"].as_str().unwrap().contains("Log4j"));

    let lang3 = &all["items"][1];
    assert_eq!(lang3["status"], "loaded");
    assert_eq!(lang3["vulnerabilities"], json!([]));

    let yaml = &all["items"][2];
    assert_eq!(yaml["status"], "not_loaded", "declared, never loaded");
    assert_eq!(yaml["agents"], json!([]));
    assert_eq!(yaml["pools"], json!([]));
    assert_eq!(yaml["vulnerabilities"][0]["id"], "GHSA-mjmj-j48q-9wg2");

    // Filters.
    let purls_of = |q: &'static str| {
        let c = c.clone();
        let key = key.clone();
        async move {
            let r = api(&c, &format!("/reachability/packages{q}"), &key).await;
            assert_eq!(r.status, 200, "{q}: {}", r.body);
            json_of(&r)["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["purl"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(purls_of("?status=not_loaded").await, [SNAKEYAML]);
    assert_eq!(purls_of("?min_severity=critical").await, [LOG4J]);
    assert_eq!(purls_of("?vulnerable=true").await, [LOG4J, SNAKEYAML]);
    assert_eq!(purls_of("?name=*COMMONS*").await, [LANG3]);
    assert_eq!(
        purls_of("?tag=production&status=loaded").await,
        [LOG4J, LANG3]
    );
    assert_eq!(purls_of("?tag=staging").await, Vec::<String>::new());
    assert_eq!(purls_of("?loaded_since=2000-01-01").await, [LOG4J, LANG3]);
    assert_eq!(
        purls_of("?loaded_since=2999-01-01").await,
        Vec::<String>::new()
    );
    assert_eq!(purls_of("?limit=1&offset=1").await, [LANG3]);
    for (q, field) in [
        ("?status=running", "status"),
        ("?min_severity=awful", "min_severity"),
        ("?loaded_since=last-week", "loaded_since"),
        ("?vulnerable=perhaps", "vulnerable"),
        ("?limit=5000", "limit"),
    ] {
        let r = api(&c, &format!("/reachability/packages{q}"), &key).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        let e = json_of(&r);
        assert_eq!(e["error"]["code"], "validation_failed", "{q}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(field),
            "{q}: {e}"
        );
    }

    // One package, by its percent-encoded purl and with its `/` left bare.
    let one = json_of(
        &api(
            &c,
            &format!("/reachability/packages/{}", encode(LOG4J)),
            &key,
        )
        .await,
    );
    assert_eq!(one["purl"], LOG4J, "{one}");
    assert_eq!(
        one["classes"],
        json!(["org.apache.logging.log4j.core.lookup.JndiLookup"])
    );
    assert_eq!(one["classes_loaded"], 1);
    assert_eq!(
        one["connections"],
        json!([{"agent_id": "id-pay-api", "pool": pool, "loaded": true}])
    );
    let bare = api(&c, &format!("/reachability/packages/{LOG4J}"), &key).await;
    assert_eq!(bare.status, 200, "{}", bare.body);
    let missing = api(
        &c,
        "/reachability/packages/pkg%3Amaven%2Fno%2Fsuch%401",
        &key,
    )
    .await;
    assert_eq!(missing.status, 404);

    // A developer of the Default group only: the agent's pool is not theirs, so nothing.
    let (dev_portal, _) = user(&t, "dev@example.org", &["developer"]).await;
    let dev_key = lantern::cli::api_key_create(&t.data_dir(), "dev@example.org", "dev", &[], 5)
        .await
        .unwrap();
    let mine = json_of(&api(&c, "/reachability/packages", &dev_key).await);
    assert_eq!(mine["total"], 0, "{mine}");
    assert_eq!(mine["items"], json!([]));
    let hidden = api(
        &c,
        &format!("/reachability/packages/{}", encode(LOG4J)),
        &dev_key,
    )
    .await;
    assert_eq!(hidden.status, 404, "outside the scope is as if absent");
    let dev_page = dev_portal.get("/reachability").await;
    assert_eq!(dev_page.status, 200);
    assert!(
        dev_page.body.contains("No packages yet"),
        "{}",
        dev_page.body
    );
    assert!(!dev_page.body.contains("log4j"));
    let dev_pkg = dev_portal
        .get(&format!("/reachability/packages/{}", encode(LOG4J)))
        .await;
    assert_eq!(dev_pkg.status, 404);

    // The page: both sections, vulnerable first, severity shown as words.
    let page = portal.get("/reachability").await;
    assert_eq!(page.status, 200);
    let b = &page.body;
    assert!(
        !b.contains("No advisories loaded"),
        "advisories are imported"
    );
    let at = |needle: &str| {
        b.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing from the page"))
    };
    assert!(at("aria-label=\"Loaded\"") < at("log4j-core"));
    assert!(at("log4j-core") < at("commons-lang3"));
    assert!(at("commons-lang3") < at("aria-label=\"Never loaded\""));
    assert!(at("aria-label=\"Never loaded\"") < at("org.yaml:snakeyaml"));
    assert!(b.contains("Critical 10.0"));
    assert!(b.contains("1 vulnerable and loaded"));
    assert!(b.contains("1 vulnerable, never loaded"));
    assert!(b.contains("data-live=\"/reachability/live\""));
    // Filters stay in the address and in the form.
    let filtered = portal.get("/reachability?status=not_loaded").await;
    assert!(filtered.body.contains("org.yaml:snakeyaml"));
    assert!(!filtered.body.contains("log4j-core"));
    assert!(
        filtered
            .body
            .contains("data-live=\"/reachability/live?status=not_loaded\"")
    );
    assert_eq!(portal.get("/reachability?status=nope").await.status, 400);

    // The package page: advisories, agents, classes.
    let pkg = portal
        .get(&format!("/reachability/packages/{}", encode(LOG4J)))
        .await;
    assert_eq!(pkg.status, 200, "{}", pkg.body);
    assert!(pkg.body.contains("GHSA-jfh8-c2jp-5v3q"));
    assert!(pkg.body.contains("CVE-2021-44228"));
    assert!(pkg.body.contains("id-pay-api"));
    assert!(
        pkg.body
            .contains("org.apache.logging.log4j.core.lookup.JndiLookup")
    );

    // The live stream: the sections at once, then again when an agent loads something new;
    // its filters are checked like the page's.
    let live = portal.get("/reachability/live?status=bogus").await;
    assert_eq!(live.status, 400);
    let (status, ctype, mut body) =
        open_stream(&t, &portal, "/reachability/live?status=loaded").await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/event-stream"), "{ctype}");
    let mut seen = String::new();
    assert!(
        read_until(&mut body, &mut seen, "log4j-core", 10).await,
        "the first event renders at once: {seen}"
    );
    assert!(
        !seen.contains("snakeyaml"),
        "the stream keeps the filter: {seen}"
    );
    let default_key = default_pool_key(&t).await;
    let mut other = connect_hello(&t, &default_key, "batch", &[]).await;
    send(
        &mut other,
        &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [jar(1, "com.google.guava", "guava", "33.0.0-jre")],
        "loads": [{"artifact": 1, "classes": ["com.google.common.base.Strings"]}]}),
    )
    .await;
    let mut seen = String::new();
    assert!(
        read_until(&mut body, &mut seen, "com.google.guava:guava", 15).await,
        "an update arrives after the new load: {seen}"
    );
}
