//! Two things made at build time:
//!
//! - The appliance's own dependency SBOM (QUALITY.md S8): a CycloneDX 1.6 JSON document of
//!   the crates compiled into it, written to `OUT_DIR/dependency-sbom.cdx.json` and embedded
//!   by `ops::diagnostics`. It is read from `Cargo.lock` by walking the lock graph from this
//!   package's normal `[dependencies]` (not dev- or build-dependencies), each crate with its
//!   package URL and the SHA-256 checksum the lock records.
//! - The Java agent, with the JDK's `javac` and `jar` (through `agents/java/build.sh`) when a
//!   JDK is present, so that the appliance can serve it at `/downloads/lantern-agent.jar`.
//!   Without a JDK the appliance builds anyway and its download page says how to build the
//!   agent by hand: the agent is optional at build time, the appliance is not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    dependency_sbom();
    java_agent();
}

fn java_agent() {
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

/// One `[[package]]` of the lock.
struct Locked {
    name: String,
    version: String,
    checksum: Option<String>,
    /// Dependencies as the lock names them: `name` or `name version` (when several versions
    /// of one crate are locked), perhaps followed by ` (source)`.
    deps: Vec<String>,
}

/// Writes `OUT_DIR/dependency-sbom.cdx.json`. A lock that cannot be read fails the build: an
/// appliance without its SBOM would silently break the supply-chain promise.
fn dependency_sbom() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        return;
    };
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()));
    let doc = match sbom_json(&manifest_dir) {
        Ok(doc) => doc,
        Err(e) => {
            println!("cargo::error=the dependency SBOM could not be made: {e}");
            return;
        }
    };
    let path = PathBuf::from(out_dir).join("dependency-sbom.cdx.json");
    if let Err(e) = std::fs::write(&path, doc) {
        println!("cargo::error=cannot write {}: {e}", path.display());
    }
}

fn read_toml(path: &Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn sbom_json(manifest_dir: &Path) -> Result<String, String> {
    let manifest = read_toml(&manifest_dir.join("Cargo.toml"))?;
    let lock = read_toml(&manifest_dir.join("Cargo.lock"))?;
    let package = manifest
        .get("package")
        .and_then(|p| p.as_table())
        .ok_or("Cargo.toml has no [package]")?;
    let text = |t: &toml::Table, k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let root_name = text(package, "name").ok_or("the package has no name")?;
    let root_version = text(package, "version").ok_or("the package has no version")?;
    let licence = text(package, "license");
    // Normal dependencies only, by the name they have in the lock (`package = ` renames).
    let normal: BTreeSet<String> = manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|deps| {
            deps.iter()
                .map(|(key, spec)| {
                    spec.as_table()
                        .and_then(|t| text(t, "package"))
                        .unwrap_or_else(|| key.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    let packages: Vec<Locked> = lock
        .get("package")
        .and_then(|p| p.as_array())
        .ok_or("Cargo.lock has no [[package]]")?
        .iter()
        .filter_map(|p| p.as_table())
        .filter_map(|p| {
            Some(Locked {
                name: text(p, "name")?,
                version: text(p, "version")?,
                checksum: text(p, "checksum"),
                deps: p
                    .get("dependencies")
                    .and_then(|d| d.as_array())
                    .map(|d| {
                        d.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect();
    let index = |name: &str, version: Option<&str>| -> Option<usize> {
        packages
            .iter()
            .position(|p| p.name == name && version.is_none_or(|v| p.version == v))
    };
    // A lock dependency entry: "name", "name version" or "name version (source)".
    let resolve = |entry: &str| -> Option<usize> {
        let mut parts = entry.split(' ');
        let name = parts.next()?;
        index(name, parts.next())
    };
    let root = packages
        .iter()
        .position(|p| p.name == root_name && p.version == root_version)
        .ok_or("the package is not in Cargo.lock")?;
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    let deps_of = |i: usize| {
        packages
            .get(i)
            .map(|p| p.deps.as_slice())
            .unwrap_or_default()
    };
    let mut todo: Vec<usize> = deps_of(root)
        .iter()
        .filter(|d| d.split(' ').next().is_some_and(|n| normal.contains(n)))
        .filter_map(|d| resolve(d))
        .collect();
    while let Some(i) = todo.pop() {
        if i == root || !seen.insert(i) {
            continue;
        }
        todo.extend(deps_of(i).iter().filter_map(|d| resolve(d)));
    }
    let purl = |p: &Locked| format!("pkg:cargo/{}@{}", p.name, p.version);
    let mut components: BTreeMap<String, String> = BTreeMap::new();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in seen.iter().filter_map(|&i| packages.get(i)) {
        let mut c = format!(
            "{{\"type\":\"library\",\"bom-ref\":{r},\"name\":{n},\"version\":{v},\"purl\":{r}",
            r = json_str(&purl(p)),
            n = json_str(&p.name),
            v = json_str(&p.version)
        );
        if let Some(sum) = p.checksum.as_deref().filter(|s| is_sha256(s)) {
            c.push_str(&format!(
                ",\"hashes\":[{{\"alg\":\"SHA-256\",\"content\":\"{sum}\"}}]"
            ));
        }
        c.push('}');
        components.insert(purl(p), c);
    }
    for &i in seen.iter().chain(std::iter::once(&root)) {
        let Some(p) = packages.get(i) else { continue };
        let mut on: Vec<String> = p
            .deps
            .iter()
            .filter_map(|d| resolve(d))
            .filter(|j| seen.contains(j))
            .filter_map(|j| packages.get(j).map(purl))
            .collect();
        on.sort();
        on.dedup();
        edges.insert(purl(p), on);
    }
    let root_purl = format!("pkg:cargo/{root_name}@{root_version}");
    let licences = licence
        .map(|l| format!(",\"licenses\":[{{\"expression\":{}}}]", json_str(&l)))
        .unwrap_or_default();
    let dependencies: Vec<String> = edges
        .iter()
        .map(|(r, on)| {
            let on: Vec<String> = on.iter().map(|x| json_str(x)).collect();
            format!(
                "{{\"ref\":{},\"dependsOn\":[{}]}}",
                json_str(r),
                on.join(",")
            )
        })
        .collect();
    let components: Vec<&String> = components.values().collect();
    Ok(format!(
        concat!(
            "{{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"version\":1,",
            "\"metadata\":{{\"tools\":{{\"components\":[{{\"type\":\"application\",",
            "\"name\":\"lantern build.rs\",\"description\":\"read from Cargo.lock: the normal ",
            "dependencies and everything they pull in\"}}]}},",
            "\"component\":{{\"type\":\"application\",\"bom-ref\":{root},\"name\":{name},",
            "\"version\":{version},\"purl\":{root}{licences}}}}},",
            "\"components\":[\n{components}\n],\n\"dependencies\":[\n{dependencies}\n]}}\n"
        ),
        root = json_str(&root_purl),
        name = json_str(&root_name),
        version = json_str(&root_version),
        licences = licences,
        components = components
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",\n"),
        dependencies = dependencies.join(",\n"),
    ))
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A JSON string literal (crate names and versions are plain ASCII, but escape anyway).
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
