//! Fuzzes `meshpeers::fuzzing::leveldb_table` (see that module): any input must be handled without a
//! panic, a hang or unbounded memory. `cargo +nightly fuzz run leveldb_table`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshpeers::fuzzing::leveldb_table(data));
