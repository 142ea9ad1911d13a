//! The integration tests: one binary, several modules (ripgrep's layout).

mod app_ops;
mod bad_input;
pub mod chromium;
pub mod chromium_sqlite;
mod cleanup_trees;
mod corrupt;
pub mod damaged;
mod diff;
mod disk_full;
mod docs;
mod export;
pub mod firefox;
pub mod firefox_bad;
mod fixtures;
mod fuzz_corpus;
mod history;
mod hostile;
mod js_semantics;
mod kills;
pub mod leveldb;
pub mod live;
mod locate;
mod maintenance;
mod parity;
mod races;
mod real_app;
mod saving;
mod secrets;
mod snapshots;
mod sqlite_bad;
mod support;
#[path = "../synth/mod.rs"]
mod synth;
mod terminal;
mod tmux;
pub mod webkit;
