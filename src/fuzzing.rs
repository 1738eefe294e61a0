//! The properties the fuzz targets check, as library functions, so that `fuzz/` (libFuzzer,
//! by hand) and the regression tests (the checked-in corpus, in every test run) run the very
//! same code. Each function panics only when a property is broken.

use crate::http::form::{Form, cookie, encode};

/// Browser input: any bytes parse as a form or are refused, never panic; a decoded value,
/// re-encoded, decodes to itself; cookie headers never panic.
pub fn form_and_cookie(data: &[u8]) {
    if let Ok(form) = Form::parse(data) {
        for name in ["csrf", "email", "password", ""] {
            if let Some(value) = form.get(name) {
                let again = Form::parse(format!("k={}", encode(value)).as_bytes());
                #[allow(clippy::panic)] // a broken property is what the fuzzer looks for
                if again.as_ref().ok().and_then(|f| f.get("k")) != Some(value) {
                    panic!("re-encoding {value:?} does not round-trip");
                }
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cookie(text, "__Host-lantern");
    }
}

/// Configuration text: accepted, or refused with an error that names a key, never a panic.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(e) = crate::config::from_toml_str(text, "fuzz.toml")
    {
        #[allow(clippy::panic)] // a broken property is what the fuzzer looks for
        if e.key.is_empty() {
            panic!("a configuration error without a key: {e}");
        }
    }
}

/// Agent frames: any text decodes to a message or to a [`DecodeError`], never a panic; a
/// decoded message, encoded again, decodes to itself; a decoded `class_loads` frame goes
/// into a registry without a panic, whatever its references.
///
/// [`DecodeError`]: crate::agents::protocol::DecodeError
pub fn agent_message(data: &[u8]) {
    use crate::agents::protocol::{AgentMessage, decode};
    use crate::agents::registry::{AgentSummary, Registry};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(message) = decode(text) else {
        return;
    };
    let again = serde_json::to_string(&message)
        .ok()
        .and_then(|t| decode(&t).ok());
    #[allow(clippy::panic)] // a broken property is what the fuzzer looks for
    if again.as_ref() != Some(&message) {
        panic!("{message:?} does not survive encoding and decoding");
    }
    if let AgentMessage::ClassLoads(batch) = message {
        let registry = Registry::new();
        let hello = crate::agents::protocol::Hello {
            protocol: 1,
            min_protocol: None,
            agent_id: "fuzz".into(),
            instance_id: "fuzz".into(),
            runtime: crate::agents::protocol::Runtime {
                name: "java".into(),
                version: "17".into(),
                vendor: None,
            },
            agent_version: "0".into(),
            display_name: "fuzz".into(),
            host: "fuzz".into(),
            pid: 1,
            tags: Vec::new(),
            capabilities: Vec::new(),
        };
        let (kick, _k) = tokio::sync::mpsc::channel(1);
        let (outbox, _o) = tokio::sync::mpsc::channel(1);
        registry.register(
            AgentSummary {
                session: 1,
                session_id: "fuzz".into(),
                hello,
                pool_id: "default".into(),
                pool_name: "Default".into(),
                peer: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
                protocol: 1,
                connected_ms: 0,
                last_heartbeat_ms: 0,
                classes_loaded: 0,
                artifacts: 0,
                initial_done: false,
                stats: None,
            },
            kick,
            outbox,
        );
        let _ = registry.ingest(1, &batch);
        let _ = registry.artifacts(1, 10);
    }
}

/// The three strings a fuzz input stands for: split at the first two NUL bytes.
fn three_strings(text: &str) -> (&str, &str, &str) {
    let mut parts = text.splitn(3, '\0');
    let a = parts.next().unwrap_or("");
    let b = parts.next().unwrap_or("");
    let c = parts.next().unwrap_or("");
    (a, b, c)
}

/// Checks that `cmp` is a total order on three values: reflexive, antisymmetric,
/// transitive (for `<=` and for `==`).
fn total_order<T: Ord + std::fmt::Debug>(x: &T, y: &T, z: &T) {
    use std::cmp::Ordering;
    #[allow(clippy::panic)] // a broken property is what the fuzzer looks for
    {
        if x.cmp(x) != Ordering::Equal {
            panic!("{x:?} is not equal to itself");
        }
        if x.cmp(y) != y.cmp(x).reverse() {
            panic!("{x:?} vs {y:?} is not antisymmetric");
        }
        for (a, b, c) in [
            (x, y, z),
            (x, z, y),
            (y, x, z),
            (y, z, x),
            (z, x, y),
            (z, y, x),
        ] {
            if a <= b && b <= c && a > c {
                panic!("{a:?} <= {b:?} <= {c:?} but {a:?} > {c:?}");
            }
            if a == b && b == c && a != c {
                panic!("{a:?} == {b:?} == {c:?} but {a:?} != {c:?}");
            }
        }
    }
}

/// Maven versions: any text parses; the order is total on the three strings an input
/// holds (split at NUL bytes); the canonical form never panics.
pub fn maven_version(data: &[u8]) {
    use crate::vuln::maven::MavenVersion;
    let text = String::from_utf8_lossy(data);
    let (a, b, c) = three_strings(&text);
    let (x, y, z) = (
        MavenVersion::parse(a),
        MavenVersion::parse(b),
        MavenVersion::parse(c),
    );
    let _ = x.canonical();
    total_order(&x, &y, &z);
}

/// PyPI versions: any text gets a place (PEP 440 or legacy); a valid version's normal form
/// parses back to an equal version with the same normal form; the order is total.
pub fn pep440_version(data: &[u8]) {
    use crate::vuln::pep440::{Pep440Version, PypiVersion};
    use crate::vuln::semver::SemverOrder;
    let text = String::from_utf8_lossy(data);
    let (a, b, c) = three_strings(&text);
    if let Ok(v) = Pep440Version::parse(a) {
        let normal = v.to_string();
        let again = Pep440Version::parse(&normal);
        #[allow(clippy::panic)] // a broken property is what the fuzzer looks for
        if again.as_ref().ok() != Some(&v)
            || again.as_ref().map(ToString::to_string).ok().as_deref() != Some(normal.as_str())
        {
            panic!("{a:?} normalises to {normal:?}, which parses as {again:?}");
        }
        let _ = (v.public(), v.base_version(), v.is_prerelease());
    }
    total_order(
        &PypiVersion::parse(a),
        &PypiVersion::parse(b),
        &PypiVersion::parse(c),
    );
    // SemVer ranges read the same kind of text.
    total_order(
        &SemverOrder::parse(a),
        &SemverOrder::parse(b),
        &SemverOrder::parse(c),
    );
}

/// OSV input: a JSON record or an osv.dev dump (a zip, when it starts with `PK`) is read or
/// refused, never a panic; a record read survives writing and reading again unchanged;
/// matching every package it names, at every version it mentions, never panics.
pub fn osv_record(data: &[u8]) {
    use crate::vuln::matching::{Query, affects};
    use crate::vuln::osv::{DumpLimits, RecordLimits, parse_record, read_dump};
    let limits = RecordLimits {
        max_bytes: 1 << 20,
        ..RecordLimits::default()
    };
    let records = if data.starts_with(b"PK") {
        let dump = DumpLimits {
            max_entries: 64,
            max_total_bytes: 4 << 20,
            record: limits,
        };
        match read_dump(std::io::Cursor::new(data), &dump) {
            Ok(import) => import.records,
            Err(_) => return,
        }
    } else {
        match parse_record(data, &limits) {
            Ok(record) => vec![record],
            Err(_) => return,
        }
    };
    for record in records.iter().take(8) {
        let again = serde_json::to_vec(record)
            .ok()
            .and_then(|json| parse_record(&json, &limits).ok());
        #[allow(clippy::panic)] // a broken property is what the fuzzer looks for
        if again.as_ref() != Some(record) {
            panic!("{} does not survive writing and reading", record.id);
        }
        let _ = record.severity_summary();
        for affected in record.affected.iter().take(8) {
            let mentioned = affected
                .versions
                .iter()
                .map(String::as_str)
                .chain(
                    affected
                        .ranges
                        .iter()
                        .flat_map(|r| r.events.iter().map(|e| e.version())),
                )
                .chain(["0", "1.0", ""]);
            for version in mentioned.take(32) {
                let query =
                    Query::new(&affected.package.ecosystem, &affected.package.name, version);
                let _ = affects(record, &query);
            }
        }
    }
}

/// Action expressions and log templates: any text is parsed or refused with a position inside
/// it, never a panic; a parsed tree keeps the protocol's bounds (nodes, depth, operands).
pub fn action_expr(data: &[u8]) {
    use crate::actions::expr::{MAX_DEPTH, MAX_NODES, parse, parse_template};
    fn bounds(v: &serde_json::Value, depth: usize, nodes: &mut usize) {
        *nodes += 1;
        #[allow(clippy::panic)] // a broken property is what the fuzzer looks for
        if depth > MAX_DEPTH || *nodes > MAX_NODES * 2 {
            panic!("a tree over the protocol's bounds: {v}");
        }
        if let Some(args) = v.get("args").and_then(|a| a.as_array()) {
            for a in args {
                bounds(a, depth + 1, nodes);
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    match parse(&text) {
        Ok(tree) => bounds(&tree, 1, &mut 0),
        #[allow(clippy::panic)]
        Err(e) if e.position > text.len() => panic!("{e} is outside {text:?}"),
        Err(_) => {}
    }
    match parse_template(&text) {
        Ok(parts) => {
            for p in parts.iter().filter(|p| p.is_object()) {
                bounds(p, 1, &mut 0);
            }
        }
        #[allow(clippy::panic)]
        Err(e) if e.position > text.len() => panic!("{e} is outside {text:?}"),
        Err(_) => {}
    }
}
