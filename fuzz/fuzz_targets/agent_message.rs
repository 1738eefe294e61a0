//! Fuzzes agent frames (properties in `lantern::fuzzing::agent_message`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lantern::fuzzing::agent_message(data));
