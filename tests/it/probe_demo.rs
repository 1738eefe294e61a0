//! Live debugging end to end with real parts: the real appliance binary, the Java agent it
//! embeds inside a real Java program (`tests/apps/probe-demo`), and actions made through the
//! REST API. A snapshot with a condition and a watch expression on a line yields the frames
//! and the locals, the password field arriving redacted; a log action's lines and a counter's
//! aggregates come back; deleting the snapshot takes the probe off. Every wait is bounded.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::e2e::*;

/// The line of `Shop.java` marked "probe here".
fn probe_line(source: &str) -> u64 {
    source
        .lines()
        .position(|l| l.contains("// probe here"))
        .map(|i| i as u64 + 1)
        .expect("the marked line")
}

/// The field `name` of a snapshot value's `fields`.
fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no field {name} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_a_log_and_a_counter_in_a_running_java_program() {
    let AgentRig {
        dir,
        jar: agent_jar,
        port,
        appliance: _appliance,
        pin,
        c,
        key,
        pool_key,
        ..
    } = agent_rig().await;

    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps/probe-demo/Shop.java");
    let line = probe_line(&std::fs::read_to_string(&src).unwrap());
    let classes = dir.path().join("classes");
    let javac = Command::new("javac")
        .args(["--release", "17", "-g", "-d"])
        .arg(&classes)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let mut program = Command::new("java")
        .arg(format!(
            "-javaagent:{}=server=wss://127.0.0.1:{port}/agent/v1,pin={pin},name=probe-demo",
            agent_jar.display()
        ))
        .args(["-Xshare:auto", "-cp"])
        .arg(&classes)
        .arg("Shop")
        .env("LANTERN_KEY", &pool_key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = program.stdout.take().unwrap();
    let _program = Reaper(program);
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(l);
        }
    });

    let agent = within(90, "the program's agent is connected", || async {
        let list = api(&c, &key, "GET", "/agents?name=probe-demo").await;
        list["items"]
            .as_array()
            .unwrap()
            .first()
            .cloned()
            .filter(|a| a["connected"] == true)
    })
    .await;
    let agent_id = agent["agent_id"].as_str().unwrap().to_string();
    let target = json!({"kind": "agent", "id": agent_id});
    let at = json!({"file": "Shop.java", "line": line});

    // A snapshot where the order is large, with a watch expression.
    let snap = api_body(
        &c,
        &key,
        "POST",
        "/actions",
        json!({"type": "snapshot", "location": at, "target": target,
               "condition": "order.total > 100", "expressions": ["order.customer.name"],
               "max_hits": 2}),
    )
    .await;
    let snap_id = snap["id"].as_str().unwrap().to_string();
    let status = within(60, "the snapshot is installed", || async {
        let s = api(&c, &key, "GET", &format!("/actions/{snap_id}/status")).await;
        s["items"]
            .as_array()
            .unwrap()
            .first()
            .cloned()
            .filter(|x| x["status"] == "installed" || x["status"] == "completed")
    })
    .await;
    if status["status"] == "installed" {
        assert_eq!(status["resolved"]["method"], "handle", "{status}");
        assert_eq!(status["resolved"]["line"], line, "{status}");
    }
    let snaps = within(60, "two snapshots arrive", || async {
        let s = api(&c, &key, "GET", &format!("/actions/{snap_id}/snapshots")).await;
        (s["total"] == 2).then_some(s)
    })
    .await;
    for s in snaps["items"].as_array().unwrap() {
        assert_eq!(s["agent_id"], agent_id.as_str());
        assert_eq!(s["frames"][0]["method"], "handle", "{s}");
        assert_eq!(s["frames"][0]["line"], line);
        assert_eq!(s["frames"][1]["method"], "main", "{s}");
        let order = s["locals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "order")
            .unwrap_or_else(|| panic!("no local order in {s}"));
        assert!(
            field(order, "total")["value"].as_i64().unwrap() > 100,
            "the condition held: {order}"
        );
        assert_eq!(
            field(order, "password")["cut"],
            "redacted",
            "a password never leaves the process: {order}"
        );
        assert!(!s.to_string().contains("hunter2"));
        assert_eq!(s["watches"][0]["value"], "alice", "{s}");
    }
    // The hit cap completes it on the agent.
    within(30, "the snapshot action completes", || async {
        let s = api(&c, &key, "GET", &format!("/actions/{snap_id}/status")).await;
        (s["items"][0]["status"] == "completed").then_some(())
    })
    .await;

    // A log line with placeholders, to the appliance and the program's output.
    let log = api_body(
        &c,
        &key,
        "POST",
        "/actions",
        json!({"type": "log", "location": at, "target": target,
               "template": "order {order.id} total {order.total}", "outputs": ["appliance", "stdout"]}),
    )
    .await;
    let log_id = log["id"].as_str().unwrap().to_string();
    let logs = within(60, "log lines arrive", || async {
        let l = api(&c, &key, "GET", &format!("/actions/{log_id}/logs")).await;
        (l["total"].as_u64().unwrap() >= 3).then_some(l)
    })
    .await;
    let text = logs["items"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("order ") && text.contains(" total "),
        "{text}"
    );
    let printed = within(30, "the program prints the line too", || async {
        lines_rx
            .try_iter()
            .find(|l| l.contains(&format!("[lantern {log_id}]")))
    })
    .await;
    assert!(printed.contains("order "), "{printed}");

    // A counter's aggregates (sent every 10 s).
    let counter = api_body(
        &c,
        &key,
        "POST",
        "/actions",
        json!({"type": "counter", "location": at, "target": target}),
    )
    .await;
    let counter_id = counter["id"].as_str().unwrap().to_string();
    let points = within(60, "the counter reports", || async {
        let m = api(&c, &key, "GET", &format!("/actions/{counter_id}/metrics")).await;
        (m["total"].as_u64().unwrap() >= 1).then_some(m)
    })
    .await;
    assert!(
        points["items"][0]["count"].as_u64().unwrap() > 0,
        "{points}"
    );

    // Deleting the log takes its probe off: no new lines after a settling moment.
    let r = c
        .request(
            "DELETE",
            &format!("/api/v1/actions/{log_id}"),
            &[("authorization", &format!("Bearer {key}"))],
            Vec::new().into(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let _ = lines_rx.try_iter().count();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        lines_rx
            .try_iter()
            .filter(|l| l.contains(&format!("[lantern {log_id}]")))
            .count(),
        0,
        "the log probe is gone"
    );
}
