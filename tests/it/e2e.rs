//! What the end-to-end tests share: the real appliance binary on a free port with the pin it
//! prints, an administrator and API key made with the CLI, JSON API calls, bounded polling,
//! and child processes that are killed however a test ends.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::smoke::lantern;
use crate::support::*;

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a child process when the test ends, however it ends.
pub(crate) struct Reaper(pub(crate) Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `lantern serve` on a fixed port; answers the process and the pin it printed.
pub(crate) fn serve_on(data: &Path, port: u16) -> (Reaper, String) {
    serve_with(data, port, &[])
}

/// [`serve_on`] with more configuration in the environment.
pub(crate) fn serve_with(data: &Path, port: u16, vars: &[(&str, &str)]) -> (Reaper, String) {
    let mut child = lantern(data)
        .env("LANTERN_LISTEN", format!("127.0.0.1:{port}"))
        .envs(vars.iter().copied())
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let pin = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the appliance prints its pin");
        if let Some(pin) = line.split("TLS certificate pin (for agents): ").nth(1) {
            break pin.trim().to_string();
        }
    };
    (Reaper(child), pin)
}

pub(crate) fn admin_and_key(data: &Path) -> String {
    let mut create = lantern(data)
        .args([
            "admin",
            "create",
            "--email",
            ADMIN_EMAIL,
            "--role",
            "company-admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(create.wait().unwrap().success());
    let out = lantern(data)
        .args([
            "api-key",
            "create",
            "--email",
            ADMIN_EMAIL,
            "--label",
            "e2e tests",
            "--scope",
            "company-admin",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("lk_"))
        .unwrap()
        .to_string()
}

/// A JSON API call with a body that must succeed; answers the decoded answer.
pub(crate) async fn api_body(
    c: &Client,
    key: &str,
    method: &str,
    path: &str,
    body: Value,
) -> Value {
    let r = c
        .request(
            method,
            &format!("/api/v1{path}"),
            &[
                ("authorization", &format!("Bearer {key}")),
                ("content-type", "application/json"),
            ],
            body.to_string().into_bytes().into(),
        )
        .await;
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.body);
    serde_json::from_str(&r.body).unwrap()
}

pub(crate) async fn api(c: &Client, key: &str, method: &str, path: &str) -> Value {
    let r = c
        .request(
            method,
            &format!("/api/v1{path}"),
            &[("authorization", &format!("Bearer {key}"))],
            Vec::new().into(),
        )
        .await;
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.body);
    serde_json::from_str(&r.body).unwrap()
}

/// Polls `probe` every 250 ms until it answers `Some`, for at most `secs`.
pub(crate) async fn within<T, F, Fut>(secs: u64, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Where the end-to-end tests with the real Java agent start: the real appliance on a free
/// port, an admin API key, a key of the Default pool, and the agent jar the appliance embeds
/// written into the temporary directory.
pub(crate) struct AgentRig {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) data: std::path::PathBuf,
    pub(crate) jar: std::path::PathBuf,
    pub(crate) port: u16,
    pub(crate) appliance: Reaper,
    pub(crate) pin: String,
    pub(crate) c: Client,
    pub(crate) key: String,
    pub(crate) pool_key: String,
}

/// Starts an [`AgentRig`].
pub(crate) async fn agent_rig() -> AgentRig {
    let jar_bytes = lantern::agents::downloads::JAVA_AGENT
        .expect("the appliance was built without the Java agent: is a JDK installed?");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let jar = dir.path().join("lantern-agent.jar");
    std::fs::write(&jar, jar_bytes).unwrap();
    let port = free_port();
    let (appliance, pin) = serve_on(&data, port);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let c = Client::new(addr, &data);
    let key = admin_and_key(&data);
    let pool_key = api(&c, &key, "POST", "/agent-pools/default/keys").await["key"]
        .as_str()
        .unwrap()
        .to_string();
    AgentRig {
        dir,
        data,
        jar,
        port,
        appliance,
        pin,
        c,
        key,
        pool_key,
    }
}
