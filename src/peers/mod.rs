//! The peer namespace (`mesh:peers:index`, `mesh:peer:<id>`, metadata, key record, schema
//! version) and the app's logic on it: scores, queries, stats, findings.

pub mod cleanup;
pub mod diff;
pub mod edit;
pub mod export;
pub mod findings;
pub mod history;
pub mod import;
pub mod maintenance;
pub mod namespace;
pub mod plan;
pub mod query;
pub mod record;
pub mod repair;
pub mod score;
pub mod secrets;
pub mod stats;
pub mod validate;

pub use namespace::{Namespace, Peer};
pub use record::PeerView;

/// One day in milliseconds, the unit of every age rule.
pub const DAY_MS: f64 = 86_400_000.0;
/// The app's `STORAGE_CONFIG.CURRENT_VERSION`: the schema version it writes.
pub const SCHEMA_VERSION: &str = "1.0.0";
/// The app's `STORAGE_CONFIG.MAX_PEERS`.
pub const MAX_PEERS: usize = 100;
