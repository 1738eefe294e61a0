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
