//! Fuzzes PEP 440 / legacy PyPI and SemVer version parsing and order (properties in
//! `lantern::fuzzing::pep440_version`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lantern::fuzzing::pep440_version(data));
