//! The command line, as clap shapes only: doc comments are the help text and the man pages.

use clap::{Args, Parser, Subcommand};

use crate::peers::query::{Order, SortKey};
use crate::store::BackendKind;

pub const EXIT_STATUS: &str = "\
Exit status:
  0   success
  1   validate found errors, a peer was not found, or an operation was refused
  2   usage error: bad arguments, or flag values the store does not fit (an unknown
      --origin, several origins holding the namespace and no --origin)
  3   invalid input: the store or an input file is not what it should be (not JSON,
      truncated, wrong shape, a value that is not a string); nothing was changed
  4   a file could not be read or written (missing, permission denied, read-only file
      system, disk full); nothing was changed
  5   a running browser holds the profile; close the browser and try again
  6   wrong passphrase, or a secret that does not decrypt
  70  internal error (a bug in meshpeers; please report it)

Environment:
  MESHPEERS_STORE   the store, as --store
  MESHPEERS_ORIGIN  the origin, as --origin
  MESHPEERS_PREFIX  the key prefix, as --prefix
  MESHPEERS_NOW     the current time, as --now
  NO_COLOR          no colour (meshpeers prints none anyway)";

/// Administer the peer store of a browser P2P mesh-chat app from outside the browser.
///
/// The app keeps every peer it has met in the browser's localStorage under the `mesh:` keys
/// (`mesh:peers:index`, `mesh:peer:<id>`, metadata, an AES-GCM key, a schema version).
/// meshpeers reads that store from a JSON dump (a flat `JSON.stringify(localStorage)` object
/// or a Playwright storageState file) and gives the app's own answers: the same queries,
/// scores and statistics, explained. Every other key, origin and cookie is carried through
/// untouched.
#[derive(Debug, Parser)]
#[command(name = "meshpeers", version, propagate_version = true, after_long_help = EXIT_STATUS)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The store: a flat JSON dump or a Playwright storage state file (detected from its
    /// content), or `-` to read a JSON dump from stdin.
    #[arg(
        long,
        short = 's',
        env = "MESHPEERS_STORE",
        global = true,
        value_name = "PATH"
    )]
    pub store: Option<String>,

    /// The origin to work on (e.g. `http://127.0.0.1:3000`) when the store holds several.
    /// Without it, the one origin that holds the namespace is used.
    #[arg(long, env = "MESHPEERS_ORIGIN", global = true, value_name = "ORIGIN")]
    pub origin: Option<String>,

    /// The namespace's key prefix, for forks of the app that renamed their keys.
    #[arg(
        long,
        env = "MESHPEERS_PREFIX",
        global = true,
        default_value = "mesh:",
        value_name = "PREFIX"
    )]
    pub prefix: String,

    /// The current time for every age and score: RFC 3339 or epoch milliseconds.
    #[arg(long, env = "MESHPEERS_NOW", global = true, value_name = "TIME",
          value_parser = crate::time::parse_instant)]
    pub now: Option<f64>,

    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// Show times as ISO 8601 instead of relative times like `3h ago`.
    #[arg(long, global = true)]
    pub iso: bool,

    /// Force the store format instead of detecting it from the content.
    #[arg(
        long = "store-format",
        global = true,
        value_enum,
        value_name = "FORMAT"
    )]
    pub store_format: Option<BackendKind>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Inspect(InspectArgs),
    List(ListArgs),
    Show(ShowArgs),
    Stats(StatsArgs),
    Completions(CompletionsArgs),
}

/// Describe a store: backend, origins, schema version, peers, sizes, key record, the keys
/// outside the namespace, and findings about the namespace's structure.
///
/// JSON (`--json`): {backend, origin, origins:[{origin, keys, bytes}], schemaVersion,
/// peerCount, namespaceBytes, originBytes, keyRecord, otherKeys:[{key, bytes}], findings:
/// [{severity, code, key, message}]}. `bytes` count 2 per UTF-16 unit of keys and values (the
/// browser quota's measure); `peerCount` counts `mesh:peer:*` records; `keyRecord` is null or
/// {kind, alg}.
#[derive(Debug, Args)]
pub struct InspectArgs {}

/// List peers as the app's queryPeers does (alias: query).
///
/// Defaults as the app: sorted by lastSeen, newest first, blacklisted peers
/// (blacklistUntil > now) left out, no limit. Ties keep index order in both directions
/// (`--order asc` negates the comparison); a missing lastSeen/lastConnected sorts as 0.
/// Unreadable or missing records are skipped (`inspect` names them).
///
/// JSON (`--json`): an array in result order of {peerId, displayName, lastSeen,
/// lastConnected, quality, connectionType, latency, reconnectionAttempts, blacklistUntil,
/// hasSecret}; record fields as stored (null when absent).
#[derive(Debug, Args)]
#[command(visible_alias = "query")]
pub struct ListArgs {
    /// Sort key: last-seen, last-connected or quality (the app's names lastSeen and
    /// lastConnected work too).
    #[arg(long, value_enum, default_value = "last-seen", value_name = "KEY")]
    pub sort: SortKey,

    /// Sort order.
    #[arg(long, value_enum, default_value = "desc")]
    pub order: Order,

    /// At most this many peers (0: all, as the app's `limit` does).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Leave out peers last seen longer ago than this (30d, 12h, 90m, 45s or milliseconds).
    #[arg(long, value_name = "DURATION", value_parser = crate::time::parse_duration)]
    pub max_age: Option<f64>,

    /// Leave out peers whose quality score is below this.
    #[arg(long, value_name = "SCORE", default_value_t = 0.0)]
    pub min_quality: f64,

    /// Include blacklisted peers.
    #[arg(long)]
    pub include_blacklisted: bool,

    /// Only peers whose connection type is this.
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub connection_type: Option<ConnectionType>,

    /// Only peers that hold a shared secret.
    #[arg(long)]
    pub authenticated: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ConnectionType {
    Host,
    Srflx,
    Relay,
    Prflx,
}

impl ConnectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Host => "host",
            ConnectionType::Srflx => "srflx",
            ConnectionType::Relay => "relay",
            ConnectionType::Prflx => "prflx",
        }
    }
}

/// Show one peer's full record (secrets hidden) with its quality and reconnection scores
/// broken down.
///
/// JSON (`--json`): {peerId, key, indexed, record, quality, qualityParts:{latency,
/// successRate, connectionType, uptime}, reconnection, reconnectionParts:{quality, recency,
/// connections, reliability, penalty}, reason, appScoreNaN}; `record` is the stored record
/// with `encryptedSecret`/`sharedSecret` replaced by "(hidden)".
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The peer id, or a prefix of it that names one peer.
    pub id: String,
}

/// The app's getStorageStats and needsCleanup, plus the origin's real size against the
/// browser quota.
///
/// JSON (`--json`): {peerCount, estimatedSizeBytes, estimatedSizeMB, maxPeers,
/// utilizationPercent, lastCleanup, needsCleanup, originBytes, quotaBytes}: the app's figures
/// with numbers where the app returns strings. peerCount counts the index; estimatedSizeBytes
/// is 2 × the length of each indexed record; originBytes is 2 per UTF-16 unit of every key and
/// value of the origin; quotaBytes is Chromium's 10 MiB per origin.
#[derive(Debug, Args)]
pub struct StatsArgs {}

/// Print a shell completion script.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
