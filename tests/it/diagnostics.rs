//! System Diagnostics end to end: the page with real figures for a Company Admin and a
//! Company Viewer, 403 for a Developer (page, download and API); `GET /api/v1/diagnostics`
//! with its fields and a connected agent counted; the bundle's files, with a known API key,
//! agent-pool key and password (also written into the server log on purpose) nowhere in it;
//! its audit record; and the dependency SBOM made at build time, checked by the CycloneDX
//! validators of `tests/sbom_validate.py`.

use std::io::Read;

use serde_json::{Value, json};

use crate::agent_client::*;
use crate::entities::new_pool;
use crate::pools::{sign_in, user};
use crate::sbom::{get as api_get, json_of, validate};
use crate::support::*;

/// The files of a zip archive given as the bytes of a response body.
fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        out.push((f.name().unwrap().to_string(), text));
    }
    out
}

/// A download: its status, its body as sent, the whole answer.
async fn download(c: &Client, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>, Resp) {
    let r = c.request("GET", path, headers, Vec::new().into()).await;
    (r.status, r.bytes.to_vec(), r)
}

#[tokio::test]
async fn the_page_api_and_bundle_show_real_figures_without_secrets() {
    let t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let key = admin_api_key(&t).await;
    let c = t.client();
    let (_pool, pool_key) = new_pool(&t, &key, "diagnosed").await;
    let mut ws = connect_hello(&t, &pool_key, "diag-agent", &["production"]).await;
    send(&mut ws, &json!({"type": "agent_stats", "classes_seen": 12})).await;
    // A careless log line holding every secret: it must arrive scrubbed.
    lantern::ops::diagnostics::RECENT_LOG.push(&format!(
        "diagnostics-test login {ADMIN_EMAIL} password={ADMIN_PASSWORD:?} key {key} pool key {pool_key}"
    ));

    // The API: every section, real numbers, the agent counted.
    let mut v = Value::Null;
    for _ in 0..50 {
        v = json_of(&api_get(&c, "/diagnostics", &key).await);
        if v["agents"]["connected"] == 1 && v["ingest"]["totals"]["messages"].as_u64() >= Some(1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(v["agents"]["connected"], 1, "{v}");
    assert_eq!(v["agents"]["runtimes"]["java"], 1, "{v}");
    assert!(
        v["ingest"]["totals"]["messages"].as_u64().unwrap() >= 1,
        "{v}"
    );
    assert!(v["ingest"]["per_second"]["messages"].is_number(), "{v}");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["host"]["cpus"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["host"]["memory_total_bytes"].as_u64().unwrap() > 0, "{v}");
    assert!(
        v["host"]["data_disk"]["total_bytes"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert!(
        v["process"]["rss_bytes"].as_u64().unwrap() > 1024 * 1024,
        "{v}"
    );
    assert!(v["process"]["open_fds"].as_u64().unwrap() > 3, "{v}");
    let store_len = std::fs::metadata(t.data_dir().join("lantern.redb"))
        .unwrap()
        .len();
    assert!(store_len > 0);
    assert!(v["store"]["file_bytes"].as_u64().unwrap() > 0, "{v}");
    assert!(v["store"]["commits"].as_u64().unwrap() > 0, "{v}");
    assert!(v["sbom"]["components"].as_u64().unwrap() > 50, "{v}");
    let log: Vec<&str> = v["recent_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let line = log
        .iter()
        .find(|l| l.contains("diagnostics-test login"))
        .unwrap_or_else(|| panic!("{log:?}"));
    for secret in [ADMIN_PASSWORD, "lighter", &key, &pool_key] {
        assert!(!line.contains(secret), "{line}");
    }

    // The page, for the admin: the figures in human units.
    let page = admin.get("/settings/compliance/diagnostics").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "System Diagnostics",
        "Resident memory",
        "Open files",
        "Store file",
        "Connected agents",
        "diagnostics-test login",
        "Download the diagnostics bundle",
        "/settings/compliance/diagnostics/sbom",
        "[redacted]",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }
    assert!(page.body.contains(" MiB") || page.body.contains(" GiB"));
    assert!(!page.body.contains(&pool_key) && !page.body.contains(&key));
    assert!(!page.body.contains("Not available yet"));

    // The bundle, from the portal and the API.
    let (status, zip, r) = download(&admin, "/settings/compliance/diagnostics/bundle", &[]).await;
    assert_eq!(status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/zip"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .starts_with("attachment; filename=\"lantern-diagnostics-")
    );
    let files = unzip(&zip);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "lantern-diagnostics/README.txt",
            "lantern-diagnostics/diagnostics.json",
            "lantern-diagnostics/configuration.json",
            "lantern-diagnostics/recent-log.txt",
            "lantern-diagnostics/agents.json",
            "lantern-diagnostics/dependencies.cdx.json",
        ]
    );
    let file = |n: &str| &files.iter().find(|(name, _)| name.ends_with(n)).unwrap().1;
    let agents: Value = serde_json::from_str(file("agents.json")).unwrap();
    assert_eq!(
        agents["agents"][0]["display_name"], "diag-agent",
        "{agents}"
    );
    let config: Value = serde_json::from_str(file("configuration.json")).unwrap();
    assert!(
        config["server"]["http"]["max_body_bytes"].is_number(),
        "{config}"
    );
    assert!(config["service"].is_object(), "{config}");
    assert!(file("recent-log.txt").contains("diagnostics-test login"));
    let diag: Value = serde_json::from_str(file("diagnostics.json")).unwrap();
    assert_eq!(diag["agents"]["connected"], 1);
    // No secret anywhere: not in any file, not in the archive's bytes.
    let sid = admin
        .cookies
        .lock()
        .unwrap()
        .values()
        .cloned()
        .collect::<Vec<_>>();
    let secrets: Vec<&str> = [ADMIN_PASSWORD, key.as_str(), pool_key.as_str()]
        .into_iter()
        .chain(sid.iter().map(String::as_str))
        .collect();
    for secret in &secrets {
        for (name, text) in &files {
            assert!(!text.contains(secret), "{secret} in {name}");
        }
        assert!(
            !zip.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the archive"
        );
    }
    let auth = format!("Bearer {key}");
    let (status, api_zip, _) = download(
        &c,
        "/api/v1/diagnostics/bundle",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(unzip(&api_zip).len(), 6);

    // Both downloads are audited, each with who took it.
    let audit = json_of(&api_get(&c, "/audit-events?type=diagnostics.bundle&limit=10", &key).await);
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{audit}");
    assert!(
        items.iter().any(|i| i["actor"]["type"] == "user"),
        "{audit}"
    );
    assert!(
        items.iter().any(|i| i["actor"]["type"] == "api_key"),
        "{audit}"
    );
    assert!(items[0]["details"]["bytes"].as_u64().unwrap() > 0);
    assert!(
        items[0]["target"]
            .as_str()
            .unwrap()
            .starts_with("lantern-diagnostics-")
    );
}

#[tokio::test]
async fn only_the_roles_of_the_matrix_may_see_diagnostics() {
    let t = TestApp::start().await;
    let _admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (viewer, _) = user(&t, "vera@example.org", &["company-viewer"]).await;
    let r = viewer.get("/settings/compliance/diagnostics").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Resident memory"));
    let (dev, _) = user(&t, "dev@example.org", &["developer"]).await;
    for path in [
        "/settings/compliance/diagnostics",
        "/settings/compliance/diagnostics/bundle",
        "/settings/compliance/diagnostics/sbom",
    ] {
        let r = dev.get(path).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    let dev_key = lantern::cli::api_key_create(
        &t.data_dir(),
        "dev@example.org",
        "dev key",
        &["developer".into()],
        5,
    )
    .await
    .unwrap();
    let c = t.client();
    for path in ["/diagnostics", "/diagnostics/bundle", "/diagnostics/sbom"] {
        let r = api_get(&c, path, &dev_key).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(json_of(&r)["error"]["code"], "forbidden");
    }
    let r = c.get("/api/v1/diagnostics").await;
    assert_eq!(r.status, 401);
    // A developer's session does not even see the entry in the navigation.
    let home = dev.get("/getting-started").await;
    assert!(!home.body.contains("/settings/compliance/diagnostics"));
}

#[tokio::test]
async fn the_dependency_sbom_is_valid_cyclonedx_of_the_normal_dependencies() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let c = t.client();
    let r = api_get(&c, "/diagnostics/sbom", &key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.cyclonedx+json; version=1.6")
    );
    let bom: Value = json_of(&r);
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["metadata"]["component"]["name"], "lantern");
    let components = bom["components"].as_array().unwrap();
    let find = |name: &str| components.iter().find(|c| c["name"] == name);
    for name in ["rustls", "redb", "hyper", "tokio", "maud", "zip", "sysinfo"] {
        let c = find(name).unwrap_or_else(|| panic!("{name} missing"));
        let version = c["version"].as_str().unwrap();
        assert_eq!(c["purl"], format!("pkg:cargo/{name}@{version}"));
        assert_eq!(c["hashes"][0]["alg"], "SHA-256");
        assert_eq!(c["hashes"][0]["content"].as_str().unwrap().len(), 64);
    }
    for dev_only in ["proptest", "criterion", "tempfile"] {
        assert!(find(dev_only).is_none(), "{dev_only} is a dev-dependency");
    }
    // Versions match the lock exactly.
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let rustls = find("rustls").unwrap();
    assert!(lock.contains(&format!(
        "name = \"rustls\"\nversion = \"{}\"",
        rustls["version"].as_str().unwrap()
    )));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deps.cdx.json");
    std::fs::write(&path, &r.body).unwrap();
    let (code, out) = validate("cyclonedx", &[path]);
    assert_eq!(code, 0, "{out}");

    // The page's link serves the same document.
    let admin = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = admin.get("/settings/compliance/diagnostics/sbom").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body, r.body);
}
