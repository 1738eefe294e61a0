//! Runtime Reachability end to end, as a user meets it: the real appliance binary, the fixture
//! advisories imported with `lantern vulndb import` while it runs, and the Java agent the
//! appliance embeds inside a real Java program (`tests/apps/reach-demo`) whose class path holds
//! 16 Debian jars with known versions. The program uses snakeyaml, jackson and guava and never
//! touches the rest. The API and the portal page must then say exactly which vulnerable
//! packages are loaded and which are vulnerable but never loaded, as the shared fixtures
//! (`demo-observations.json`, `expected-matches.json`) predict. A watched entry for snakeyaml
//! and an HTTPS webhook receiver on loopback (trusted through the site CA bundle) check the
//! signed events: watched package and class loaded, and each vulnerable package first loaded
//! in the pool, once. Every wait is bounded.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::e2e::*;
use crate::smoke::lantern;
use crate::support::*;
use crate::watched::{expect_events, types};
use crate::webhooks::{receiver, receiver_tls};

/// The demo's class path: Debian's jar files, as `demo-observations.json` lists them.
const CLASS_PATH: [&str; 16] = [
    "snakeyaml.jar",
    "jackson-databind.jar",
    "jackson-core.jar",
    "jackson-annotations.jar",
    "guava.jar",
    "log4j-1.2-1.2.17.jar",
    "h2-2.1.214.jar",
    "commons-text.jar",
    "commons-lang3.jar",
    "spring3-beans-3.x.jar",
    "spring3-core-3.x.jar",
    "tomcat9-catalina-9.0.70.jar",
    "logback-classic.jar",
    "logback-core.jar",
    "slf4j-api.jar",
    "commons-compress.jar",
];

/// Vulnerable and loaded: the program uses them (`expected-matches.json` names the advisory).
const VULNERABLE_LOADED: [(&str, &str); 2] = [
    (
        "pkg:maven/com.google.guava/guava@31.1-jre",
        "GHSA-7g45-4rm6-3mm3",
    ),
    ("pkg:maven/org.yaml/snakeyaml@1.33", "GHSA-mjmj-j48q-9wg2"),
];

/// Vulnerable, never loaded: on the class path, not one class used.
const VULNERABLE_NOT_LOADED: [(&str, &str); 7] = [
    (
        "pkg:maven/ch.qos.logback/logback-classic@1.2.11",
        "GHSA-vmq6-5m68-f53m",
    ),
    (
        "pkg:maven/ch.qos.logback/logback-core@1.2.11",
        "GHSA-vmq6-5m68-f53m",
    ),
    ("pkg:maven/com.h2database/h2@2.1.214", "GHSA-22wj-vf5f-wrvj"),
    ("pkg:maven/log4j/log4j@1.2.17", "GHSA-65fg-84f6-3jq3"),
    (
        "pkg:maven/org.apache.commons/commons-compress@1.22",
        "GHSA-4g9r-vxhx-9pgx",
    ),
    (
        "pkg:maven/org.apache.tomcat/tomcat-catalina@9.0.70",
        "GHSA-fccv-jmmp-qg76",
    ),
    (
        "pkg:maven/org.springframework/spring-beans@4.3.30.RELEASE",
        "GHSA-36p3-wjmg-h94x",
    ),
];

/// Loaded, no advisory in the fixtures.
const CLEAN_LOADED: [&str; 3] = [
    "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.14.0",
    "pkg:maven/com.fasterxml.jackson.core/jackson-core@",
    "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.14.0",
];

/// Never loaded, no advisory.
const CLEAN_NOT_LOADED: [&str; 4] = [
    "pkg:maven/org.apache.commons/commons-lang3@3.12.0",
    "pkg:maven/org.apache.commons/commons-text@1.10.0",
    "pkg:maven/org.slf4j/slf4j-api@1.7.32",
    "pkg:maven/org.springframework/spring-core@4.3.30.RELEASE",
];

fn jar_path(name: &str) -> PathBuf {
    Path::new("/usr/share/java").join(name)
}

/// Compiles the demo against the Debian jars; answers the directory of its classes.
fn compile_demo(dir: &Path, class_path: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps/reach-demo/Demo.java");
    let out = dir.join("demo-classes");
    let done = Command::new("javac")
        .args(["--release", "17", "-d"])
        .arg(&out)
        .args(["-cp", class_path])
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "javac: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    out
}

/// The purls of the items the API answers for `query`, in its order.
async fn purls(c: &Client, key: &str, query: &str) -> Vec<String> {
    let v = api(
        c,
        key,
        "GET",
        &format!("/reachability/packages?limit=100{query}"),
    )
    .await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["purl"].as_str().unwrap().to_string())
        .collect()
}

fn ids(item: &Value) -> Vec<String> {
    item["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_java_program_with_debian_jars_shows_vulnerable_and_loaded_apart_from_never_loaded() {
    let missing: Vec<&str> = CLASS_PATH
        .iter()
        .copied()
        .filter(|j| !jar_path(j).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "this test needs Debian's jars {missing:?} (.ci/run installs their packages)"
    );
    let jar_bytes = lantern::agents::downloads::JAVA_AGENT
        .expect("the appliance was built without the Java agent: is a JDK installed?");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let agent_jar = dir.path().join("lantern-agent.jar");
    std::fs::write(&agent_jar, jar_bytes).unwrap();
    let port = free_port();
    let (bundle, receiver_config) = receiver_tls(dir.path());
    let (hook_addr, mut seen) = receiver(Some(receiver_config), vec![]).await;
    let (_appliance, pin) = serve_with(
        &data,
        port,
        &[("LANTERN_WEBHOOKS_CA_BUNDLE", bundle.to_str().unwrap())],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let c = Client::new(addr, &data);
    let key = admin_and_key(&data);
    let pool_key = api(&c, &key, "POST", "/agent-pools/default/keys").await["key"]
        .as_str()
        .unwrap()
        .to_string();

    // The advisories, imported from the command line into the running appliance.
    let records =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vuln/osv/records/maven");
    let import = lantern(&data)
        .args(["vulndb", "import"])
        .arg(&records)
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    // A webhook, and snakeyaml's loader watched.
    let hook = api_body(
        &c,
        &key,
        "POST",
        "/webhooks",
        serde_json::json!({"name": "SOC", "url": format!("https://{hook_addr}/hook")}),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    api_body(
        &c,
        &key,
        "POST",
        "/watched-packages",
        serde_json::json!({"package": "org.yaml:snakeyaml", "version": "<2.0",
                           "classes": ["org.yaml.snakeyaml.Yaml"], "webhook": hook["id"]}),
    )
    .await;

    // The program, with the agent, until the test closes its input.
    let class_path = CLASS_PATH
        .iter()
        .map(|j| jar_path(j).display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let classes = compile_demo(dir.path(), &class_path);
    let mut program = Command::new("java")
        .arg(format!(
            "-javaagent:{}=server=wss://127.0.0.1:{port}/agent/v1,pin={pin},name=reach-demo",
            agent_jar.display()
        ))
        .args(["-Xshare:auto", "-cp"])
        .arg(format!("{}:{class_path}", classes.display()))
        .arg("Demo")
        .env("LANTERN_KEY", &pool_key)
        .env("LANTERN_TAGS", "e2e;reach-demo")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = program.stdin.take();
    let stdout = program.stdout.take().unwrap();
    let program = Reaper(program);
    let ready = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("ready"))
    });

    within(
        90,
        "the demo's agent is connected with its whole state",
        || async {
            let list = api(&c, &key, "GET", "/agents?name=reach-demo").await;
            list["items"]
                .as_array()
                .unwrap()
                .first()
                .cloned()
                .filter(|a| a["connected"] == true && a["connection"]["initial_done"] == true)
        },
    )
    .await;
    assert!(
        ready.join().unwrap().is_some(),
        "the demo ran its YAML, JSON and list work"
    );
    // Its loads arrive in batches; wait until the last library it uses is indexed.
    within(30, "guava's classes are indexed", || async {
        let mut loaded = purls(&c, &key, "&status=loaded").await;
        loaded.extend(purls(&c, &key, "&status=loaded_with_classes").await);
        VULNERABLE_LOADED
            .iter()
            .all(|(p, _)| loaded.iter().any(|l| l == p))
            .then_some(())
    })
    .await;

    // The signed events: snakeyaml watched and loaded with its watched class, and the two
    // vulnerable packages it uses, each first loaded in the Default pool, once.
    let mut got = types(&expect_events(&mut seen, &secret, 4).await);
    got.sort();
    assert_eq!(
        got,
        [
            "vulnerable_package_loaded",
            "vulnerable_package_loaded",
            "watched_class_loaded",
            "watched_package_loaded"
        ]
    );

    // The whole assessment, in triage order.
    let all = api(&c, &key, "GET", "/reachability/packages?limit=100").await;
    let items = all["items"].as_array().unwrap();
    let maven: Vec<&Value> = items.iter().filter(|i| i["ecosystem"] == "Maven").collect();
    let by_purl = |purl: &str| -> &Value {
        maven
            .iter()
            .find(|i| i["purl"].as_str().unwrap().starts_with(purl))
            .unwrap_or_else(|| panic!("{purl} missing from {all}"))
    };
    for (purl, advisory) in VULNERABLE_LOADED {
        let item = by_purl(purl);
        let watched = purl.contains("snakeyaml");
        assert_eq!(
            item["status"],
            if watched {
                "loaded_with_classes"
            } else {
                "loaded"
            },
            "{item}"
        );
        assert_eq!(ids(item), [advisory], "{item}");
        assert_eq!(item["tags"], serde_json::json!(["e2e", "reach-demo"]));
    }
    for (purl, advisory) in VULNERABLE_NOT_LOADED {
        let item = by_purl(purl);
        assert_eq!(item["status"], "not_loaded", "{item}");
        assert!(ids(item).contains(&advisory.to_string()), "{item}");
    }
    for purl in CLEAN_LOADED {
        let item = by_purl(purl);
        assert_eq!(item["status"], "loaded", "{item}");
        assert_eq!(ids(item), Vec::<String>::new(), "{item}");
    }
    for purl in CLEAN_NOT_LOADED {
        let item = by_purl(purl);
        assert_eq!(item["status"], "not_loaded", "{item}");
        assert_eq!(ids(item), Vec::<String>::new(), "{item}");
    }
    // Exactly the 16 jars, each one package: no manifest alias counted twice.
    assert_eq!(maven.len(), 16, "{all}");

    // Triage order: the vulnerable and loaded first, then the loaded, then the vulnerable
    // never loaded, then the rest; within a group the worst advisory first.
    let order: Vec<&str> = maven.iter().map(|i| i["purl"].as_str().unwrap()).collect();
    let section = |skip: usize, take: usize| -> Vec<&str> {
        let mut s: Vec<&str> = order.iter().skip(skip).take(take).copied().collect();
        s.sort_unstable();
        s
    };
    assert_eq!(
        section(0, 2),
        VULNERABLE_LOADED.map(|(p, _)| p),
        "vulnerable and loaded come first"
    );
    assert_eq!(
        section(5, 7),
        VULNERABLE_NOT_LOADED.map(|(p, _)| p),
        "vulnerable, never loaded, come after every loaded package"
    );
    let worst = |i: &Value| -> f64 {
        i["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v["severity"]["score"].as_f64())
            .fold(0.0, f64::max)
    };
    for group in [&maven[0..2], &maven[5..12]] {
        let scores: Vec<f64> = group.iter().map(|i| worst(i)).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "the worst advisory first: {scores:?}"
        );
    }

    // The filters a user triages with.
    let mut vulnerable_loaded = purls(&c, &key, "&vulnerable=true&status=loaded").await;
    vulnerable_loaded.extend(purls(&c, &key, "&vulnerable=true&status=loaded_with_classes").await);
    vulnerable_loaded.sort_unstable();
    assert_eq!(vulnerable_loaded, VULNERABLE_LOADED.map(|(p, _)| p));
    let mut never = purls(&c, &key, "&vulnerable=true&status=not_loaded").await;
    never.sort_unstable();
    assert_eq!(never, VULNERABLE_NOT_LOADED.map(|(p, _)| p));

    // The portal page says the same: both sections, the loaded ones in the first.
    let portal = Client::new(addr, &data);
    let signed_in = portal.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let page = portal.get("/reachability").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let apart = page
        .body
        .find("aria-label=\"Never loaded\"")
        .unwrap_or_else(|| panic!("no never-loaded section: {}", page.body));
    for (purl, advisory) in VULNERABLE_LOADED {
        let name = purl.rsplit('/').next().unwrap().split('@').next().unwrap();
        let at = page.body.find(name).unwrap();
        assert!(at < apart, "{name} is in the first section");
        assert!(page.body.contains(advisory));
    }
    for (purl, _) in VULNERABLE_NOT_LOADED {
        let name = format!(
            "{}:{}",
            purl.trim_start_matches("pkg:maven/")
                .split('/')
                .next()
                .unwrap(),
            purl.rsplit('/').next().unwrap().split('@').next().unwrap()
        );
        let at = page
            .body
            .rfind(&name)
            .unwrap_or_else(|| panic!("{name} on the page"));
        assert!(at > apart, "{name} is in the never-loaded section");
    }

    // Closing its input ends the program; the agent says goodbye.
    drop(stdin);
    let mut program = program;
    let ended = tokio::task::spawn_blocking(move || {
        let status = program.0.wait();
        (program, status)
    });
    let (_program, status) = tokio::time::timeout(Duration::from_secs(30), ended)
        .await
        .expect("the demo ends when its input closes")
        .unwrap();
    assert!(status.unwrap().success());
}
