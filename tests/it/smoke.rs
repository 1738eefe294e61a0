//! The real binary: serve, a second start on the same data directory, SIGTERM, config errors
//! and the small commands.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_lantern");

pub(crate) fn lantern(data_dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("LANTERN_LISTEN")
        .env("LANTERN_DATA_DIR", data_dir)
        .env("LANTERN_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "lantern=info");
    c
}

/// Starts `lantern serve` and returns it with the lines it printed up to the URL line.
fn serve(data_dir: &Path) -> (Child, Vec<String>, u16) {
    let mut child = lantern(data_dir)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let port = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the appliance prints its URL");
        lines.push(line.clone());
        if let Some(rest) = line.split("listening on https://127.0.0.1:").nth(1) {
            break rest.trim().parse::<u16>().unwrap();
        }
    };
    // The banner continues with the pin and the setup link.
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        lines.push(line);
    }
    (child, lines, port)
}

pub(crate) fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("the appliance did not stop on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_refuses_a_second_start_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, lines, port) = serve(&data);
    let banner = lines.join("\n");
    assert!(
        banner.contains("TLS certificate pin (for agents): sha256/"),
        "{banner}"
    );
    assert!(banner.contains("/setup?token="), "{banner}");

    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let c = Client::new(addr, &data);
    assert_eq!(c.get("/healthz").await.status, 200);

    let second = lantern(&data).arg("serve").output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use"), "{err}");

    // The small commands work against the running appliance.
    let pin = lantern(&data).args(["tls", "pin"]).output().unwrap();
    assert!(String::from_utf8_lossy(&pin.stdout).starts_with("sha256/"));
    assert!(banner.contains(String::from_utf8_lossy(&pin.stdout).trim()));
    let mut create = lantern(&data)
        .args([
            "admin",
            "create",
            "--email",
            "root@example.org",
            "--name",
            "Root",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long and quiet night\n")
        .unwrap();
    let out = create.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user root@example.org"));
    let out = lantern(&data)
        .args([
            "admin",
            "create",
            "--email",
            "nia@example.org",
            "--role",
            "developer",
            "--activation-link",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains(&format!("https://127.0.0.1:{port}/activate?token=")),
        "{printed}"
    );
    let backup = dir.path().join("b.backup");
    let out = lantern(&data)
        .args(["backup", "--to"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(backup.exists());

    let status = terminate(&mut child);
    assert!(status.success(), "{status}");
    assert!(!data.join("control.sock").exists());
}

#[test]
fn a_bad_configuration_names_the_key_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "version = 1\n[http]\nmax_conections = 5\n").unwrap();
    for args in [
        vec!["serve", "--config", file.to_str().unwrap()],
        vec!["check-config", "--config", file.to_str().unwrap()],
    ] {
        let out = lantern(&data).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("http.max_conections") && err.contains("unknown key"),
            "{err}"
        );
    }
    assert!(!data.exists(), "the data directory was not created");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, lantern::config::DEFAULT_TOML).unwrap();
    let out = lantern(&data)
        .args(["check-config", "--config", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = lantern(&data).arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_binary_tells_systemd_when_it_is_ready() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut child = lantern(&dir.path().join("data"))
        .arg("serve")
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 64];
    let n = socket.recv(&mut buf).expect("READY=1 arrives");
    assert_eq!(&buf[..n], b"READY=1");
    terminate(&mut child);
    let n = socket.recv(&mut buf).expect("STOPPING=1 arrives");
    assert_eq!(&buf[..n], b"STOPPING=1");
}

#[test]
fn admin_create_help_names_both_ways_in() {
    let out = Command::new(BIN)
        .args(["admin", "create", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("standard input"), "{help}");
    assert!(help.contains("--activation-link"), "{help}");
}
