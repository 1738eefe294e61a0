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
