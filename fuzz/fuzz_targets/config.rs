//! Fuzzes configuration files: any text is accepted as a valid configuration or refused
//! with an error that names where, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = lantern::config::from_toml_str(text, "fuzz.toml") {
            assert!(!e.key.is_empty());
        }
    }
});
