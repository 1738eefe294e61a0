//! Fuzzes what browsers send: urlencoded forms, query strings and `Cookie` headers
//! (properties in `lantern::fuzzing::form_and_cookie`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lantern::fuzzing::form_and_cookie(data));
