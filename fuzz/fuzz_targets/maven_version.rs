//! Fuzzes Maven version parsing and order (properties in
//! `lantern::fuzzing::maven_version`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lantern::fuzzing::maven_version(data));
