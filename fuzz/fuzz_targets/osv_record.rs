//! Fuzzes OSV records and osv.dev dumps (read, round trip, matching) (properties in
//! `lantern::fuzzing::osv_record`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lantern::fuzzing::osv_record(data));
