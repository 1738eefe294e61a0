//! End to end with a real, unmodified application: Debian's Tomcat 10 with its examples web
//! app, started with the Java agent the appliance embeds, against the real appliance binary.
//! Checks what a user would: the agent is listed with its tags and pool, Tomcat's own jars
//! carry the right versions (they have no pom.properties: the manifest route), the examples'
//! classes appear once a servlet runs, a wrong pin sends nothing, a wrong key gets 401, an
//! appliance restart is followed by a reconnect and a full resend, and stopping Tomcat marks
//! the agent disconnected. Every wait is bounded.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::e2e::*;
use crate::smoke::terminate;
use crate::support::*;

const TOMCAT_HOME: &str = "/usr/share/tomcat10";
const EXAMPLES: &str = "/usr/share/tomcat10-examples/examples";

async fn agent_named(c: &Client, key: &str, name: &str) -> Option<Value> {
    let list = api(c, key, "GET", &format!("/agents?name={name}")).await;
    list["items"].as_array().unwrap().first().cloned()
}

async fn refused_count(c: &Client, key: &str) -> usize {
    let v = api(c, key, "GET", "/audit-events?type=agent.refused&limit=1000").await;
    v["total"].as_u64().unwrap() as usize
}

/// A throw-away Tomcat instance with the examples web app, on free ports.
fn tomcat_instance(dir: &Path) -> (PathBuf, u16) {
    let base = dir.join("tomcat");
    let (http, control) = (free_port(), free_port());
    let out = Command::new("tomcat10-instance-create")
        .args(["-p", &http.to_string(), "-c", &control.to_string()])
        .arg(&base)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ctx = base.join("conf/Catalina/localhost");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("examples.xml"),
        format!("<Context path=\"/examples\" docBase=\"{EXAMPLES}\"><Resources allowLinking=\"true\"/></Context>\n"),
    )
    .unwrap();
    (base, http)
}

/// Starts Tomcat with the agent; the key and tags come from the environment, as Getting
/// Started advises for Tomcat (its start script evaluates JAVA_OPTS, where `;` would end the
/// command, and logs every JVM argument, where the key would end up).
fn start_tomcat(base: &Path, agent_opts: &str, key: &str) -> Reaper {
    let log = std::fs::File::create(base.join("logs/console.log")).unwrap();
    let child = Command::new(format!("{TOMCAT_HOME}/bin/catalina.sh"))
        .arg("run")
        .env("CATALINA_HOME", TOMCAT_HOME)
        .env("CATALINA_BASE", base)
        .env("CATALINA_PID", base.join("tomcat.pid"))
        .env("JAVA_OPTS", format!("-javaagent:{agent_opts} -Xshare:auto"))
        .env("LANTERN_KEY", key)
        .env("LANTERN_TAGS", "e2e;tomcat")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    Reaper(child)
}

/// A plain HTTP GET to Tomcat; `None` until it answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// Runs a tiny Java program with the agent for a few seconds; answers what the agent said.
fn short_jvm(dir: &Path, agent_opts: &str) -> String {
    let src = dir.join("Sleep.java");
    // Long enough for the agent to wait out the start-up and try to connect.
    std::fs::write(&src, "public class Sleep { public static void main(String[] a) throws Exception { Thread.sleep(12000); } }\n").unwrap();
    let out = Command::new("java")
        .arg(format!("-javaagent:{agent_opts}"))
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the application must keep running whatever the agent meets"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The upstream Tomcat version Debian ships (`10.1.34-0+deb12u1` → `10.1.34`).
fn tomcat_version() -> String {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "tomcat10"])
        .output()
        .unwrap();
    let v = String::from_utf8_lossy(&out.stdout).to_string();
    v.split('-').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tomcat_with_the_agent_shows_up_live_with_what_it_loads() {
    assert!(
        Path::new(TOMCAT_HOME).join("bin/catalina.sh").exists() && Path::new(EXAMPLES).exists(),
        "this test needs Debian's tomcat10, tomcat10-user and tomcat10-examples (.ci/run installs them)"
    );
    let AgentRig {
        dir,
        data,
        jar,
        port,
        mut appliance,
        pin,
        c,
        key,
        pool_key,
    } = agent_rig().await;
    let server = format!("wss://127.0.0.1:{port}/agent/v1");
    let opts = |key: &str, pin: &str, name: &str| {
        format!(
            "{}=server={server},key={key},pin={pin},name={name}",
            jar.display()
        )
    };

    // A wrong pin: the agent refuses the server before sending the key, so the appliance
    // sees no request at all.
    // A wrong key: 401, logged by the agent and audited by the appliance. Both short runs
    // go side by side; each has its own directory.
    let refused_before = refused_count(&c, &key).await;
    let (pin_dir, key_dir) = (dir.path().join("wrong-pin"), dir.path().join("wrong-key"));
    std::fs::create_dir_all(&pin_dir).unwrap();
    std::fs::create_dir_all(&key_dir).unwrap();
    let wrong_pin = opts(
        &pool_key,
        "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "wrong-pin",
    );
    let wrong_key = opts("lk_not-this-pool", &pin, "wrong-key");
    let pin_run = std::thread::spawn(move || short_jvm(&pin_dir, &wrong_pin));
    let key_said = short_jvm(&key_dir, &wrong_key);
    let pin_said = pin_run.join().unwrap();
    assert!(
        pin_said.contains("[lantern]") && pin_said.contains("pin"),
        "{pin_said}"
    );
    assert!(key_said.contains("401"), "{key_said}");
    assert_eq!(
        refused_count(&c, &key).await,
        refused_before + 1,
        "the wrong key was refused and audited; the wrong pin sent nothing"
    );
    assert!(agent_named(&c, &key, "wrong-pin").await.is_none());

    // Tomcat with the agent.
    let (base, http) = tomcat_instance(dir.path());
    let tomcat_opts = format!(
        "{}=server={server},pin={pin},name=e2e-tomcat",
        jar.display()
    );
    let mut tomcat = start_tomcat(&base, &tomcat_opts, &pool_key);
    let agent = within(90, "Tomcat's agent is listed", || async {
        agent_named(&c, &key, "e2e-tomcat")
            .await
            .filter(|a| a["connected"] == true && a["connection"]["initial_done"] == true)
    })
    .await;
    assert_eq!(agent["tags"], serde_json::json!(["e2e", "tomcat"]));
    assert_eq!(agent["pool"]["name"], "Default");
    assert_eq!(agent["runtime"]["name"], "java");
    let id = agent["agent_id"].as_str().unwrap().to_string();

    // Tomcat's own jars carry no pom.properties: their versions come from the manifest.
    let version = tomcat_version();
    assert!(!version.is_empty());
    let detail = api(&c, &key, "GET", &format!("/agents/{id}")).await;
    let artifacts = detail["artifacts"].as_array().unwrap().clone();
    let catalina = artifacts
        .iter()
        // Debian links lib/catalina.jar to /usr/share/java/tomcat10-catalina-VERSION.jar;
        // the agent reports the real file.
        .find(|a| {
            let file = a["location"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            file == "catalina.jar" || file == format!("tomcat10-catalina-{version}.jar")
        })
        .unwrap_or_else(|| {
            panic!(
                "no catalina.jar among {:?}",
                artifacts
                    .iter()
                    .map(|a| a["location"].clone())
                    .collect::<Vec<_>>()
            )
        });
    assert!(catalina["loaded"] == true, "{catalina}");
    assert!(
        catalina["coordinates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|co| co["name"] == "org.apache.tomcat-catalina"
                && co["version"] == version.as_str()
                && co["source"] == "manifest_bundle"),
        "catalina.jar should say org.apache.tomcat-catalina {version}: {catalina}"
    );
    assert!(
        artifacts
            .iter()
            .any(|a| a["kind"] == "runtime" && a["class_count"].as_u64().unwrap() > 500)
    );

    // The examples web app's classes appear once one of its servlets runs.
    let page = within(60, "the examples servlet answers", || async {
        http_get(http, "/examples/servlets/servlet/HelloWorldExample")
            .filter(|b| b.contains("Hello World"))
    })
    .await;
    assert!(page.contains("200"), "{page}");
    within(30, "HelloWorldExample is listed as loaded", || async {
        let d = api(&c, &key, "GET", &format!("/agents/{id}?classes=true")).await;
        d["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| {
                a["location"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("examples/WEB-INF/classes")
                    && a["classes"]
                        .as_array()
                        .is_some_and(|cs| cs.iter().any(|n| n == "HelloWorldExample"))
            })
            .then_some(())
    })
    .await;
    let classes_before = api(&c, &key, "GET", &format!("/agents/{id}")).await["classes_loaded"]
        .as_u64()
        .unwrap();

    // An appliance restart: the agent comes back by itself and sends everything again.
    assert!(terminate(&mut appliance.0).success());
    let (_appliance, _) = serve_on(&data, port);
    let again = within(120, "the agent reconnects after the restart", || async {
        agent_named(&c, &key, "e2e-tomcat")
            .await
            .filter(|a| a["connected"] == true && a["connection"]["initial_done"] == true)
    })
    .await;
    assert!(again["connections"].as_u64().unwrap() >= 2, "{again}");
    assert!(
        again["classes_loaded"].as_u64().unwrap() >= classes_before,
        "a full resend: {again}"
    );

    // Stopping Tomcat marks the agent disconnected (its shutdown hook says goodbye). The
    // resend is still draining right after the reconnect; let it settle first, as a Tomcat
    // that has been running a while would be.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = tomcat.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let gone = within(60, "the agent is disconnected", || async {
        agent_named(&c, &key, "e2e-tomcat")
            .await
            .filter(|a| a["connected"] == false)
    })
    .await;
    let _ = tomcat.0.wait();
    let console = std::fs::read_to_string(base.join("logs/console.log")).unwrap_or_default();
    let agent_lines: Vec<&str> = console
        .lines()
        .filter(|l| l.contains("[lantern]"))
        .collect();
    // The goodbye (close 1001, "agent_stopped") is best effort: the shutdown hook gives it
    // 0.9 s, which a loaded machine may not grant; then the appliance sees the connection drop.
    let reason = gone["last_disconnect_reason"].as_str().unwrap_or_default();
    assert!(
        reason == "agent_stopped" || reason == "connection_lost",
        "{gone}\n{agent_lines:#?}"
    );
}

/// A plain HTTP POST of a form to Tomcat; `None` until it answers.
fn http_post_form(port: u16, path: &str, form: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// The line of `RequestParamExample.java` (Debian's examples) after both parameters are read.
fn request_param_line() -> u64 {
    let src = std::fs::read_to_string(format!(
        "{EXAMPLES}/WEB-INF/classes/RequestParamExample.java"
    ))
    .unwrap();
    src.lines()
        .position(|l| l.contains("String lastName = request.getParameter"))
        .map(|i| i as u64 + 2)
        .expect("RequestParamExample reads lastname")
}

/// The line of Tomcat's `FormAuthenticator` that hands the form's user name and password to
/// the realm, read from the installed class with `javap` (so it follows Debian's version).
fn form_login_line() -> u64 {
    let out = Command::new("javap")
        .args(["-c", "-l", "-p", "-cp"])
        .arg(format!("{TOMCAT_HOME}/lib/catalina.jar"))
        .arg("org.apache.catalina.authenticator.FormAuthenticator")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The method that reads j_password, then its first call of Realm.authenticate(String, String).
    let method = text
        .split("\n\n")
        .find(|m| m.contains("String j_password"))
        .expect("FormAuthenticator reads j_password");
    let offset: u64 = method
        .lines()
        .skip_while(|l| !l.contains("String j_password"))
        .find(|l| l.contains("Realm.authenticate:(Ljava/lang/String;Ljava/lang/String;)"))
        .and_then(|l| l.trim().split(':').next()?.parse().ok())
        .expect("and passes it to the realm");
    method
        .lines()
        .filter_map(|l| {
            let (line, pc) = l.trim().strip_prefix("line ")?.split_once(": ")?;
            Some((line.parse::<u64>().ok()?, pc.parse::<u64>().ok()?))
        })
        .filter(|&(_, pc)| pc <= offset)
        .max_by_key(|&(_, pc)| pc)
        .map(|(line, _)| line)
        .expect("a line number for the call")
}

async fn action_status(c: &Client, key: &str, id: &str) -> Value {
    let s = api(c, key, "GET", &format!("/actions/{id}/status")).await;
    s["items"]
        .as_array()
        .unwrap()
        .first()
        .cloned()
        .unwrap_or(Value::Null)
}

async fn total(c: &Client, key: &str, path: &str) -> u64 {
    api(c, key, "GET", path).await["total"].as_u64().unwrap()
}

async fn counted(c: &Client, key: &str, id: &str) -> u64 {
    let m = api(c, key, "GET", &format!("/actions/{id}/metrics")).await;
    m["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .sum()
}

/// The local `name` of a snapshot's probed frame.
fn local<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["locals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no local {name} in {s}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_debugging_in_tomcat_examples_with_curl() {
    assert!(
        Path::new(TOMCAT_HOME).join("bin/catalina.sh").exists() && Path::new(EXAMPLES).exists(),
        "this test needs Debian's tomcat10, tomcat10-user and tomcat10-examples (.ci/run installs them)"
    );
    let AgentRig {
        dir,
        data,
        jar,
        port,
        mut appliance,
        pin,
        c,
        key,
        pool_key,
    } = agent_rig().await;
    let (base, http) = tomcat_instance(dir.path());
    let opts = format!(
        "{}=server=wss://127.0.0.1:{port}/agent/v1,pin={pin},name=tomcat-live",
        jar.display()
    );
    let mut tomcat = start_tomcat(&base, &opts, &pool_key);
    let agent = within(90, "Tomcat's agent is connected", || async {
        agent_named(&c, &key, "tomcat-live")
            .await
            .filter(|a| a["connected"] == true && a["connection"]["initial_done"] == true)
    })
    .await;
    let agent_id = agent["agent_id"].as_str().unwrap().to_string();
    let target = json!({"kind": "agent", "id": agent_id});
    let line = request_param_line();
    let at = json!({"file": "RequestParamExample.java", "line": line});
    let create = |body: Value| {
        let (c, key) = (&c, &key);
        async move {
            api_body(c, key, "POST", "/actions", body).await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };

    // The servlet runs once so its class is loaded; then the actions.
    within(60, "the examples servlet answers", || async {
        http_get(http, "/examples/servlets/servlet/RequestParamExample")
            .filter(|b| b.contains("200"))
    })
    .await;
    let snap = create(json!({"type": "snapshot", "location": at, "target": target,
        "condition": "firstName == \"Ada\"", "max_hits": 1}))
    .await;
    let log = create(json!({"type": "log", "location": at, "target": target,
        "template": "first={firstName} last={lastName}", "outputs": ["appliance", "stdout"]}))
    .await;
    let counter = create(json!({"type": "counter", "location": at, "target": target})).await;
    let short = create(json!({"type": "log", "location": at, "target": target,
        "template": "short-lived {firstName}", "expires_in_s": 60}))
    .await;
    let login = create(json!({"type": "snapshot", "target": target, "max_hits": 1,
        "location": {"file": "org/apache/catalina/authenticator/FormAuthenticator.java", "line": form_login_line()}})).await;
    for id in [&snap, &log, &counter, &short, &login] {
        let s = within(60, "each action is installed in Tomcat", || async {
            Some(action_status(&c, &key, id).await).filter(|s| s["status"] == "installed")
        })
        .await;
        assert!(s["resolved"]["class"].is_string(), "{s}");
    }
    assert_eq!(
        action_status(&c, &key, &snap).await["resolved"]["line"],
        line,
        "the probe sits on the line asked for"
    );

    // Three requests with curl's own tool's shape: a plain GET with parameters.
    let path = |first: &str, last: &str| {
        format!("/examples/servlets/servlet/RequestParamExample?firstname={first}&lastname={last}")
    };
    for (first, last) in [("Bob", "Smith"), ("Ada", "4111111111111111"), ("Cy", "Z")] {
        let page = http_get(http, &path(first, last)).unwrap();
        assert!(page.contains("200"), "{page}");
    }

    // The condition let only Ada through, and the hit cap completed the snapshot.
    let snaps = within(30, "Ada's snapshot arrives", || async {
        let s = api(&c, &key, "GET", &format!("/actions/{snap}/snapshots")).await;
        (s["total"] == 1).then_some(s)
    })
    .await;
    let s = &snaps["items"][0];
    assert_eq!(s["frames"][0]["class"], "RequestParamExample", "{s}");
    assert_eq!(s["frames"][0]["method"], "doGet");
    assert_eq!(s["frames"][0]["line"], line);
    assert!(
        s["frames"].as_array().unwrap().iter().any(|f| f["class"]
            .as_str()
            .unwrap()
            .starts_with("org.apache.catalina.")),
        "the stack goes down into Tomcat: {s}"
    );
    assert_eq!(local(s, "firstName")["value"], "Ada", "{s}");
    assert_eq!(
        local(s, "lastName")["cut"],
        "redacted",
        "a card number never leaves: {s}"
    );
    assert!(!s.to_string().contains("4111111111111111"));
    within(30, "the snapshot completes at its hit cap", || async {
        (action_status(&c, &key, &snap).await["status"] == "completed").then_some(())
    })
    .await;

    // The log printed each request once, with its values (the card number redacted).
    let lines = within(30, "three log lines", || async {
        let l = api(&c, &key, "GET", &format!("/actions/{log}/logs")).await;
        (l["total"] == 3).then_some(l)
    })
    .await;
    let mut texts: Vec<&str> = lines["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    texts.sort_unstable();
    assert_eq!(
        texts,
        [
            "first=Ada last=[redacted]",
            "first=Bob last=Smith",
            "first=Cy last=Z"
        ]
    );
    let printed = within(30, "Tomcat's console has the lines too", || async {
        let console = std::fs::read_to_string(base.join("logs/console.log")).unwrap_or_default();
        let n = console
            .lines()
            .filter(|l| l.contains(&format!("[lantern {log}]")))
            .count();
        (n == 3).then_some(console)
    })
    .await;
    assert!(!printed.contains("4111111111111111"));

    // The counter counted the three requests (aggregates come every 10 s).
    within(40, "the counter reports 3", || async {
        (counted(&c, &key, &counter).await == 3).then_some(())
    })
    .await;

    // A sign-in through the examples' form login: Tomcat's own `password` local is redacted.
    let answer = http_post_form(
        http,
        "/examples/jsp/security/protected/j_security_check",
        "j_username=tomcat&j_password=hunter2-secret",
    )
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1"), "{answer}");
    let login_snap = within(30, "the sign-in snapshot arrives", || async {
        let s = api(&c, &key, "GET", &format!("/actions/{login}/snapshots")).await;
        (s["total"] == 1).then_some(s["items"][0].clone())
    })
    .await;
    assert_eq!(
        local(&login_snap, "username")["value"],
        "tomcat",
        "{login_snap}"
    );
    assert_eq!(
        local(&login_snap, "password")["cut"],
        "redacted",
        "{login_snap}"
    );
    assert!(
        !login_snap.to_string().contains("hunter2-secret"),
        "the password never leaves Tomcat: {login_snap}"
    );

    // An appliance restart: the agent reconnects, gets the set again, runs nothing twice.
    assert!(terminate(&mut appliance.0).success());
    let (_appliance, _) = serve_on(&data, port);
    within(120, "the agent reconnects after the restart", || async {
        agent_named(&c, &key, "tomcat-live")
            .await
            .filter(|a| a["connected"] == true && a["connections"].as_u64().unwrap() >= 2)
    })
    .await;
    within(
        60,
        "the log is installed again after the re-sync",
        || async { (action_status(&c, &key, &log).await["status"] == "installed").then_some(()) },
    )
    .await;
    assert_eq!(
        action_status(&c, &key, &snap).await["status"],
        "completed",
        "a completed snapshot is not run again"
    );
    http_get(http, &path("Dee", "Q")).unwrap();
    within(30, "one more line, once", || async {
        (total(&c, &key, &format!("/actions/{log}/logs")).await == 4).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        total(&c, &key, &format!("/actions/{log}/logs")).await,
        4,
        "no duplicate probe after the re-sync"
    );
    assert_eq!(
        total(&c, &key, &format!("/actions/{snap}/snapshots")).await,
        1
    );

    // Expiry takes the short-lived log off Tomcat: later requests print nothing for it.
    let before = total(&c, &key, &format!("/actions/{short}/logs")).await;
    assert!(before >= 3, "it ran while alive: {before}");
    within(90, "the short-lived log expires", || async {
        let a = api(&c, &key, "GET", &format!("/actions/{short}")).await;
        (a["state"] == "expired").then_some(())
    })
    .await;
    http_get(http, &path("Eve", "R")).unwrap();
    within(30, "the live log still prints", || async {
        (total(&c, &key, &format!("/actions/{log}/logs")).await == 5).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        total(&c, &key, &format!("/actions/{short}/logs")).await,
        before,
        "the expired log printed nothing more"
    );
    let console = std::fs::read_to_string(base.join("logs/console.log")).unwrap_or_default();
    assert!(!console.contains("hunter2-secret"));

    // A blocklisted class is refused at creation, naming the rule.
    api_body(
        &c,
        &key,
        "PUT",
        "/blocklist",
        json!({"rules": ["org.apache.catalina.realm.*"], "exceptions": []}),
    )
    .await;
    let refused = c
        .request(
            "POST",
            "/api/v1/actions",
            &[
                ("authorization", &format!("Bearer {key}")),
                ("content-type", "application/json"),
            ],
            json!({"type": "snapshot", "target": target,
                   "location": {"class": "org.apache.catalina.realm.RealmBase", "method": "authenticate"}})
            .to_string()
            .into_bytes()
            .into(),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("blocked_location")
            && refused.body.contains("org.apache.catalina.realm.*"),
        "{}",
        refused.body
    );
    let _ = Command::new("kill")
        .args(["-TERM", &tomcat.0.id().to_string()])
        .status();
    let _ = tomcat.0.wait();
}
