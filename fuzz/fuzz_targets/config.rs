//! Fuzzes configuration files (properties in `lantern::fuzzing::config`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lantern::fuzzing::config(data));
