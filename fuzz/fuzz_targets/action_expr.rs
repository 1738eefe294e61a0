//! Fuzzes the parser of action conditions, watches and log templates (properties in
//! `lantern::fuzzing::action_expr`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lantern::fuzzing::action_expr(data));
