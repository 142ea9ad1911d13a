//! meshpeers: administer the peer store of a browser P2P mesh-chat app from outside the browser.
//!
//! Data flows one way: `cli` (clap shapes) → `settings` (resolved once) → `store` (one origin's
//! key/value map) → `peers` (the namespace, parsed leniently) → the domain (scores, queries,
//! stats) → `output` (tables or JSON).

// The library's surface is what the binary, the integration tests and the benchmarks use;
// everything else is crate-private so the compiler finds dead code.
pub mod cli;
pub mod commands;
pub mod crypto;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod js;
pub mod peers;
pub mod store;
pub mod time;

pub(crate) mod backup;
pub(crate) mod output;
pub(crate) mod passphrase;
pub(crate) mod settings;
pub(crate) mod words;
