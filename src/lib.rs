//! meshpeers: administer the peer store of a browser P2P mesh-chat app from outside the browser.
//!
//! Data flows one way: `cli` (clap shapes) → `settings` (resolved once) → `store` (one origin's
//! key/value map) → `peers` (the namespace, parsed leniently) → the domain (scores, queries,
//! stats) → `output` (tables or JSON).

pub mod backup;
pub mod cli;
pub mod commands;
pub mod crypto;
pub mod error;
pub mod js;
pub mod output;
pub mod passphrase;
pub mod peers;
pub mod settings;
pub mod store;
pub mod time;
pub mod words;
