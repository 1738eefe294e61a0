//! Fuzzes what browsers send: urlencoded forms and query strings, and `Cookie` headers.
//! Any input must parse or be refused with an error, never panic; what parses re-encodes.
#![no_main]

use lantern::http::form::{Form, cookie, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(form) = Form::parse(data) {
        for name in ["csrf", "email", "password", ""] {
            if let Some(value) = form.get(name) {
                // Encoding then decoding a decoded value gives it back.
                let again = Form::parse(format!("k={}", encode(value)).as_bytes())
                    .expect("re-encoded values parse");
                assert_eq!(again.get("k"), Some(value));
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cookie(text, "__Host-lantern");
    }
});
