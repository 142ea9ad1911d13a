//! Fuzzes `meshpeers::fuzzing::key_record` (see that module): any input must be handled without a
//! panic, a hang or unbounded memory. `cargo +nightly fuzz run key_record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshpeers::fuzzing::key_record(data));
