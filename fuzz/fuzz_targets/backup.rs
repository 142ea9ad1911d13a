//! Fuzzes `meshpeers::fuzzing::backup` (see that module): any input must be handled without a
//! panic, a hang or unbounded memory. `cargo +nightly fuzz run backup`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshpeers::fuzzing::backup(data));
