//! `lantern action ...` against the real appliance binary, as a person at a terminal would use
//! it: create, list, show and delete through the REST API with an API key from the
//! environment, trusting the appliance by its pin; wrong input gets the API's own per-field
//! errors or a usage line, a wrong pin sends nothing, and the key never appears in output.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::e2e::*;
use crate::smoke::lantern;
use crate::support::*;

struct Cli<'a> {
    data: &'a Path,
    url: String,
    key: String,
}

impl Cli<'_> {
    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let out = lantern(self.data)
            .arg("action")
            .args(args)
            .env("LANTERN_URL", &self.url)
            .env("LANTERN_API_KEY", &self.key)
            .envs(extra_env.iter().copied())
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(&self.key), "the key is never printed: {all}");
        out
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, &[]);
        assert!(
            out.status.success(),
            "lantern action {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], extra_env: &[(&str, &str)], code: i32) -> String {
        let out = self.run(args, extra_env);
        assert_eq!(out.status.code(), Some(code), "lantern action {args:?}");
        String::from_utf8(out.stderr).unwrap()
    }
}

fn created_id(stdout: &str) -> String {
    stdout
        .split_whitespace()
        .nth(1)
        .filter(|w| w.starts_with('a'))
        .unwrap_or_else(|| panic!("no id in {stdout}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let (_appliance, pin) = serve_on(&data, port);
    let key = admin_and_key(&data);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let c = Client::new(addr, &data);
    let cli = Cli {
        data: &data,
        url: format!("https://127.0.0.1:{port}"),
        key: key.clone(),
    };

    // On the appliance host the data directory's pin is trusted without being given.
    let out = cli.ok(&[
        "snapshot",
        "Shop.java:42",
        "--target",
        "tag:shop",
        "--if",
        "order.total > 100",
        "--watch",
        "order.customer.name",
        "--max-hits",
        "2",
        "--expires-in",
        "10m",
    ]);
    assert!(
        out.contains("snapshot at Shop.java:42 for tag:shop"),
        "{out}"
    );
    let snap = created_id(&out);
    let a = api(&c, &key, "GET", &format!("/actions/{snap}")).await;
    assert_eq!(a["condition"], "order.total > 100");
    assert_eq!(a["expressions"][0], "order.customer.name");
    assert_eq!(a["max_hits"], 2);
    assert_eq!(a["target"]["kind"], "tag");
    let lifetime = time_ms(&a["expires_at"]) - time_ms(&a["created"]);
    assert!((599_000..=601_000).contains(&lifetime), "{a}");

    // Elsewhere the pin is given; every kind is reachable.
    let away = [
        ("LANTERN_DATA_DIR", "/nonexistent"),
        ("LANTERN_PIN", pin.as_str()),
    ];
    let log = lantern(Path::new("/nonexistent"))
        .args([
            "action",
            "log",
            "com.acme.Shop#pay",
            "--target",
            "pool:default",
        ])
        .args([
            "--template",
            "paid {amount}",
            "--level",
            "warn",
            "--print",
            "both",
        ])
        .env("LANTERN_URL", &cli.url)
        .env("LANTERN_API_KEY", &key)
        .envs(away)
        .output()
        .unwrap();
    assert!(
        log.status.success(),
        "{}",
        String::from_utf8_lossy(&log.stderr)
    );
    let log = created_id(&String::from_utf8_lossy(&log.stdout));
    let l = api(&c, &key, "GET", &format!("/actions/{log}")).await;
    assert_eq!(l["level"], "warn");
    assert_eq!(l["outputs"], serde_json::json!(["appliance", "stdout"]));
    for (kind, extra) in [
        ("counter", vec![]),
        ("tictoc", vec!["--end", "50"]),
        ("metric", vec!["--value", "order.total"]),
    ] {
        let mut args = vec![kind, "Shop.java:42", "--target", "tag:shop"];
        args.extend(extra);
        let out = cli.ok(&args);
        let id = created_id(&out);
        let a = api(&c, &key, "GET", &format!("/actions/{id}")).await;
        assert_eq!(a["type"], kind, "{a}");
    }
    let dur = cli.ok(&["duration", "com.acme.Shop#pay", "--target", "tag:shop"]);
    assert!(dur.contains("duration at com.acme.Shop#pay"), "{dur}");

    let list = cli.ok(&["list"]);
    assert!(
        list.contains(&snap) && list.contains("Shop.java:42"),
        "{list}"
    );
    let json: Value = serde_json::from_str(&cli.ok(&["list", "--json"])).unwrap();
    assert_eq!(json["total"], 6, "{json}");
    let show = cli.ok(&["show", &snap]);
    assert!(show.contains("condition    order.total > 100"), "{show}");
    assert!(show.contains("no agent runs it yet"), "{show}");

    // The API's own per-field errors, and usage errors before anything is sent.
    let e = cli.fails(&["snapshot", "Shop.java:0", "--target", "tag:shop"], &[], 1);
    assert!(e.contains("location.line"), "{e}");
    let e = cli.fails(
        &[
            "snapshot",
            "Shop.java:4",
            "--target",
            "tag:shop",
            "--if",
            "order.total >",
        ],
        &[],
        1,
    );
    assert!(e.contains("condition"), "{e}");
    let e = cli.fails(&["snapshot", "Shop.java", "--target", "tag:shop"], &[], 2);
    assert!(e.contains("FILE:LINE"), "{e}");
    let e = cli.fails(&["snapshot", "Shop.java:4", "--target", "shop"], &[], 2);
    assert!(e.contains("tag:NAME"), "{e}");
    let e = cli.fails(&["show", "../users"], &[], 2);
    assert!(e.contains("not an action id"), "{e}");

    // A wrong pin: refused before the key is sent, nothing made.
    let wrong = format!("sha256/{}=", "A".repeat(43));
    let e = cli.fails(
        &[
            "counter",
            "Shop.java:4",
            "--target",
            "tag:shop",
            "--pin",
            &wrong,
        ],
        &[],
        1,
    );
    assert!(e.contains("not the pinned one"), "{e}");
    let e = lantern(&data)
        .args(["action", "list"])
        .env("LANTERN_URL", &cli.url)
        .env_remove("LANTERN_API_KEY")
        .output()
        .unwrap();
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("LANTERN_API_KEY"));
    let json: Value = serde_json::from_str(&cli.ok(&["list", "--json"])).unwrap();
    assert_eq!(json["total"], 6, "nothing was made by the failed commands");

    // Delete; it is gone for show, and the API key's actions are audited.
    let out = cli.ok(&["delete", &snap]);
    assert!(out.contains(&format!("deleted {snap}")), "{out}");
    let e = cli.fails(&["show", &snap], &[], 1);
    assert!(!e.is_empty());
    let audit = api(
        &c,
        &key,
        "GET",
        "/audit-events?type=action.create&limit=100",
    )
    .await;
    assert_eq!(audit["total"], 6, "{audit}");
}

fn time_ms(v: &Value) -> i64 {
    let t = time::OffsetDateTime::parse(
        v.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}
