//! Builds the Java agent with the JDK's `javac` and `jar` (through `agents/java/build.sh`)
//! when a JDK is present, so that the appliance can serve it at
//! `/downloads/lantern-agent.jar`. Without a JDK the appliance builds anyway and its
//! download page says how to build the agent by hand: the agent is optional at build time,
//! the appliance is not.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(agent_jar)");
    println!("cargo:rerun-if-changed=agents/java/src/main");
    println!("cargo:rerun-if-changed=agents/java/build.sh");
    println!("cargo:rerun-if-env-changed=LANTERN_SKIP_AGENT_BUILD");
    if std::env::var_os("LANTERN_SKIP_AGENT_BUILD").is_some() {
        return;
    }
    let script = PathBuf::from("agents/java/build.sh");
    if !script.exists() {
        return;
    }
    let has_javac = Command::new("javac")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_javac {
        println!(
            "cargo:warning=no javac found: the appliance is built without the Java agent download"
        );
        return;
    }
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        return;
    };
    let jar = PathBuf::from(out_dir).join("lantern-agent.jar");
    match Command::new("sh").arg(&script).arg(&jar).output() {
        Ok(o) if o.status.success() && jar.exists() => {
            println!("cargo:rustc-cfg=agent_jar");
        }
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let first = err
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message");
            println!(
                "cargo:warning=the Java agent did not build ({first}); the appliance is built without its download"
            );
        }
        Err(e) => println!("cargo:warning=agents/java/build.sh could not run: {e}"),
    }
}
