//! Fuzzes `meshpeers::fuzzing::store_file` (see that module): any input must be handled without a
//! panic, a hang or unbounded memory. `cargo +nightly fuzz run store_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshpeers::fuzzing::store_file(data));
