//! The command line, as clap shapes only: doc comments are the help text and the man pages.

use clap::{Args, Parser, Subcommand};

use std::path::PathBuf;

use crate::crypto::NewKind as DomainNewKind;
use crate::peers::cleanup::Strategy as DomainStrategy;
use crate::peers::query::{Order as DomainOrder, SortKey as DomainSortKey};
use crate::store::BackendKind;

/// A clap value enum mirroring a domain enum variant for variant, so the domain needs no clap
/// (as fd maps its CLI enums): the doc comments here are the help text.
macro_rules! value_enum {
    ($(#[$m:meta])* $name:ident => $domain:ident { $($(#[$vm:meta])* $v:ident,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
        pub enum $name { $($(#[$vm])* $v,)* }

        impl From<$name> for $domain {
            fn from(v: $name) -> $domain {
                match v { $($name::$v => $domain::$v,)* }
            }
        }
    };
}

value_enum! {
    /// A store format (`--store-format`).
    StoreFormat => BackendKind {
        /// A flat JSON object of key → string (`JSON.stringify(localStorage)`).
        Flat,
        /// A Playwright `storageState` file.
        Playwright,
        /// Chromium's `Local Storage/leveldb` directory (or a profile / user-data dir holding it).
        Leveldb,
        /// A Firefox profile, the Firefox root holding `profiles.ini`, an origin directory
        /// (`storage/default/<origin>`) or its `ls/data.sqlite`.
        Firefox,
        /// Chromium's SQLite DOM storage: `<profile>/LocalStorage` (or the profile / user-data
        /// dir holding it).
        #[value(name = "chromium-sqlite")]
        ChromiumSqlite,
        /// WebKit (Safari, WebKitGTK, WPE, Epiphany): a website-data directory, its `storage`
        /// (unified) or `localstorage` (legacy) directory, or one database file.
        Webkit,
    }
}

value_enum! {
    /// The sort key of `list`.
    SortKey => DomainSortKey {
        #[value(name = "last-seen", alias = "lastSeen")]
        LastSeen,
        #[value(name = "last-connected", alias = "lastConnected")]
        LastConnected,
        Quality,
    }
}

value_enum! {
    /// The sort order of `list`.
    Order => DomainOrder {
        Asc,
        Desc,
    }
}

value_enum! {
    /// A cleanup strategy.
    Strategy => DomainStrategy {
        /// The app's cleanupStalePeers.
        Stale,
        /// Peers not seen for longer than --max-age.
        Age,
        /// Peers with at least --max-failures failed reconnections, blacklist absent or expired.
        Failures,
        /// Keep only the --keep most recently seen peers.
        Lru,
        /// Remove the lowest-quality peers until at most --target remain.
        Quality,
        /// The guide's recommended combination.
        Hybrid,
    }
}

value_enum! {
    /// The kinds of key record `re-encrypt --to` can write.
    NewKind => DomainNewKind {
        /// The app's own plain JWK (a new random key, stored in the clear).
        Jwk,
        /// A key derived from a passphrase (PBKDF2-HMAC-SHA256, random salt).
        Passphrase,
        /// A new random key wrapped under a passphrase-derived key.
        Wrapped,
    }
}

/// When to colour the output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

pub const EXIT_STATUS: &str = "\
Exit status:
  0   success
  1   validate found errors, a peer was not found, or an operation was refused
  2   usage error: bad arguments, or flag values the store does not fit (an unknown
      --origin, several origins holding the namespace and no --origin)
  3   invalid input: the store or an input file is not what it should be (not JSON,
      truncated, wrong shape, a value that is not a string, a damaged LevelDB table,
      MANIFEST or log); the message names the file; nothing was changed
  4   a file could not be read or written (missing, permission denied, read-only file
      system, disk full), or a running browser (--store cdp://, bidi://) could not be
      reached, did not answer in time or went away; nothing was changed, except when it
      went away while the changes were applied: then the message says that whether they
      were is not known and names the backup
  5   a running browser holds the profile (close it and try again), or another meshpeers
      kept writing the same store for more than 10 s
  6   wrong passphrase, or a secret that does not decrypt
  70  internal error (a bug in meshpeers, or a library failing on a damaged file it names;
      please report it); nothing more was written
  130 interrupted (Ctrl-C) while working on a running browser, after closing the tab
      meshpeers had opened there

Environment:
  MESHPEERS_STORE   the store, as --store
  MESHPEERS_ORIGIN  the origin, as --origin
  MESHPEERS_PREFIX  the key prefix, as --prefix
  MESHPEERS_NOW     the current time, as --now
  MESHPEERS_ALLOW_REMOTE, MESHPEERS_BROWSER_TIMEOUT  as --allow-remote, --browser-timeout
  NO_COLOR          no colour (as --color never) unless --color always
  CLICOLOR_FORCE    colour also when piped (as --color always) unless NO_COLOR is set";

/// Administer the peer store of a browser P2P mesh-chat app from outside the browser.
///
/// The app keeps every peer it has met in the browser's localStorage under the `mesh:` keys
/// (`mesh:peers:index`, `mesh:peer:<id>`, metadata, an AES-GCM key, a schema version).
/// meshpeers reads that store from a JSON dump (a flat `JSON.stringify(localStorage)` object
/// or a Playwright storageState file), a Chromium-family or Electron profile (LevelDB or
/// SQLite), a Firefox profile, a WebKit website-data directory (`meshpeers locate` finds
/// them), or a running Chromium or Firefox over its debugging port (`cdp://`, `bidi://`), and
/// gives the app's own answers: the same
/// queries, scores, reconnection candidates and statistics, explained. Writing commands
/// (cleanup, remove, clear, unblacklist, import, repair, re-encrypt) print a plan, stop there
/// with --dry-run, and otherwise
/// write a backup of the namespace first and apply the change in one atomic save. Every other
/// key, origin and cookie is carried through untouched.
#[derive(Debug, Parser)]
#[command(name = "meshpeers", version, propagate_version = true, after_help = examples::TOP,
          after_long_help = format!("{}\n\n{EXIT_STATUS}", examples::TOP))]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The store: a flat JSON dump or a Playwright storage state file (detected from its
    /// content), `-` to read a JSON dump from stdin, a Chromium `Local Storage/leveldb`
    /// directory or Chromium's SQLite `LocalStorage` file — or the profile, user-data or
    /// Electron userData directory that holds them —, or a Firefox profile directory, the Firefox root holding `profiles.ini`, an origin
    /// directory (`storage/default/<origin>`) or its `ls/data.sqlite`, or a WebKit
    /// website-data directory, its `storage` or `localstorage` directory, or one database — or
    /// a running browser: `cdp://HOST:PORT` (Chromium, Chrome, Edge, Brave, Electron started
    /// with `--remote-debugging-port`), `bidi://HOST:PORT` (Firefox started with
    /// `--remote-debugging-port`), or the `ws://` URL of either.
    #[arg(
        long,
        short = 's',
        env = "MESHPEERS_STORE",
        global = true,
        value_name = "PATH"
    )]
    pub store: Option<String>,

    /// The origin to work on (e.g. `http://127.0.0.1:3000`) when the store holds several.
    /// Without it, the one origin that holds the namespace's index (`<prefix>peers:index`) is
    /// used; when none or several do, the one origin holding any namespace key.
    #[arg(long, env = "MESHPEERS_ORIGIN", global = true, value_name = "ORIGIN")]
    pub origin: Option<String>,

    /// With a browser user-data directory as --store: the profile to read (default
    /// `Default`), e.g. `Profile 1`; with a Firefox root: a profile's name or directory name
    /// from `profiles.ini` (default: the one Firefox starts).
    #[arg(long, env = "MESHPEERS_PROFILE", global = true, value_name = "NAME")]
    pub profile: Option<String>,

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

    /// With a running browser as --store: connect even when its host is not this machine
    /// (the debugging port gives full control of the browser; use only over a network you
    /// trust).
    #[arg(long, env = "MESHPEERS_ALLOW_REMOTE", global = true)]
    pub allow_remote: bool,

    /// With a running browser as --store: how long each protocol call may take.
    #[arg(long, env = "MESHPEERS_BROWSER_TIMEOUT", global = true, value_name = "SECONDS",
          default_value_t = crate::store::live::DEFAULT_TIMEOUT_SECS,
          value_parser = parse_seconds)]
    pub browser_timeout: f64,

    /// Read a damaged Chromium LevelDB profile from what survives: every log record and table
    /// block that verifies (the newest intact version of each key), with each damaged file and
    /// block reported. Read commands, `export` and `recover` run on it; writes never do.
    #[arg(long, global = true)]
    pub salvage: bool,

    /// On a terminal too: whole peer ids and cells, and every column (tables wider than the
    /// terminal). Piped output is always so.
    #[arg(long, global = true)]
    pub wide: bool,

    /// Colour: `auto` on a terminal only (not with `NO_COLOR` set, also with `CLICOLOR_FORCE`
    /// when piped), `always`, or `never`. Store text is escaped before it is coloured.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorWhen,

    /// Force the store format instead of detecting it from the content.
    #[arg(
        long = "store-format",
        global = true,
        value_enum,
        value_name = "FORMAT"
    )]
    pub store_format: Option<StoreFormat>,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 86_400.0 => Ok(x),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Locate(LocateArgs),
    Inspect(InspectArgs),
    List(ListArgs),
    Show(ShowArgs),
    Stats(StatsArgs),
    Score(ScoreArgs),
    Candidates(CandidatesArgs),
    Cleanup(CleanupArgs),
    Remove(RemoveArgs),
    Clear(ClearArgs),
    Unblacklist(UnblacklistArgs),
    Export(ExportArgs),
    Import(ImportArgs),
    Secrets(SecretsArgs),
    Validate(ValidateArgs),
    Diff(DiffArgs),
    History(HistoryArgs),
    Recover(RecoverArgs),
    Repair(RepairArgs),
    ReEncrypt(ReEncryptArgs),
    Completions(CompletionsArgs),
}

/// Find every store on this machine that holds the namespace: every profile of Chrome,
/// Chromium, Edge, Brave, Vivaldi and Opera, Electron apps' userData directories, and every
/// Firefox profile in a `profiles.ini`, in Linux, macOS and Windows layouts.
///
/// Read-only: every store is opened as a read opens it (a copy, nothing written), also while
/// its browser runs. One row per store and origin that holds the namespace (`--prefix`); a
/// store that cannot be read is named in a warning and skipped. Exit status 0, also when
/// nothing is found.
///
/// JSON (`--json`): an array of {browser, profile, store, backend, origin, peerCount,
/// lastModified, running}: `browser` is chrome, chromium, edge, brave, vivaldi, opera,
/// `electron:<App>` or firefox; `profile` the profile's directory name; `store` a path
/// `--store` takes as it is (with `--origin ORIGIN`); `peerCount` the length of the
/// namespace's index; `lastModified` the browser's last write to the origin (epoch ms, or
/// null); `running` whether the browser runs with that profile now.
#[derive(Debug, Args)]
#[command(after_help = examples::LOCATE)]
pub struct LocateArgs {
    /// The home directory to search (default: $HOME), e.g. a copy of a user's home.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// Describe a store: backend, origins, schema version, peers, sizes, key record, the keys
/// outside the namespace, and findings about the namespace's structure.
///
/// JSON (`--json`): {backend, origin, origins:[{origin, keys, bytes, lastModified, firefoxUsage}],
/// schemaVersion, peerCount, namespaceBytes, originBytes, keyRecord, otherKeys:[{key, bytes}],
/// findings:[{severity, code, key, message}]}. `bytes` count 2 per UTF-16 unit of keys and
/// values (the browser quota's measure); `lastModified` (browser profiles only) is the
/// browser's last write to the origin in epoch ms; `firefoxUsage` (Firefox only) is the
/// usage Firefox itself has recorded for the origin, in UTF-16 units; `peerCount` counts `mesh:peer:*` records;
/// `keyRecord` is null or {kind, alg} with kind jwk, passphrase, wrapped, jwk-unusable or
/// unknown.
#[derive(Debug, Args)]
#[command(after_help = examples::INSPECT)]
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
#[command(after_help = examples::LIST, visible_alias = "query")]
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

    /// Only peers whose shared secret decrypts with the store's key (when no key is known:
    /// peers that hold a secret).
    #[arg(long)]
    pub authenticated: bool,

    #[command(flatten)]
    pub key: KeyArgs,
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
#[command(after_help = examples::SHOW)]
pub struct ShowArgs {
    /// The peer id, or a prefix of it that names one peer.
    pub id: String,
}

/// The app's getStorageStats and needsCleanup, plus the origin's real size against the
/// browser quota, and a picture of the store: the quota as a bar, histograms of quality
/// (10-point buckets) and of last-seen age cut at 1, 3, 7, 14 and 30 days (the cleanup rules'
/// ages marked), and how many peers each cleanup strategy would remove now (default
/// thresholds, as `cleanup --strategy S --dry-run` says).
///
/// JSON (`--json`): {peerCount, estimatedSizeBytes, estimatedSizeMB, maxPeers,
/// utilizationPercent, lastCleanup, needsCleanup, originBytes, quotaBytes, spread}: the app's
/// figures with numbers where the app returns strings. peerCount counts the index;
/// estimatedSizeBytes is 2 × the length of each indexed record; originBytes is 2 per UTF-16
/// unit of every key and value of the origin; quotaBytes is Chromium's 10 MiB per origin.
/// spread is {peers, quality:[10 counts, 0-9 … 90-100], lastSeen:[{fromDays, toDays, peers}],
/// cleanup:[{strategy, removes}]} over the readable peer records (blacklisted ones too).
#[derive(Debug, Args)]
#[command(after_help = examples::STATS)]
pub struct StatsArgs {}

/// Every peer's quality and reconnection scores with their parts, as the app computes them.
///
/// Peers in index order (or the ones named). quality = latency (40/35/25/15/5 below
/// 50/100/200/500/1000 ms) + success rate (floor(rate × 30)) + connection type (host 20, srflx
/// 12, relay 5) + uptime (10/7/4 above 600/300/60 s). reconnection = quality × 0.4 + recency
/// (+30/+20/+10 when seen under 1/3/7 days ago) + connections (min(20, 2 × successful)) +
/// reliability (+10/+5 for a failure rate under 0.1/0.3) − 5 × attempts, clamped to 0–100.
/// A record without reconnectionAttempts makes the app's score NaN; meshpeers counts 0 and
/// marks the peer (appScoreNaN).
///
/// JSON (`--json`): an array of {peerId, displayName, quality, qualityParts:{latency,
/// successRate, connectionType, uptime}, reconnection, reconnectionParts:{quality, recency,
/// connections, reliability, penalty}, reason, appScoreNaN}; penalty is negative.
#[derive(Debug, Args)]
#[command(after_help = examples::SCORE)]
pub struct ScoreArgs {
    /// Peer ids (or unambiguous prefixes); all indexed peers when none is given.
    pub ids: Vec<String>,
}

/// The app's reconnection candidates (getReconnectionCandidates), with scores explained.
///
/// As the app: the best 2 × limit non-blacklisted peers by quality (seen within --max-age, of
/// at least --min-quality) are scored, sorted by reconnection score (ties keep that order)
/// and the first --limit kept. A peer with a high reconnection score but a low quality rank
/// is never considered, exactly as in the app.
///
/// JSON (`--json`): an array in order of {peerId, displayName, score, quality, reason,
/// parts:{quality, recency, connections, reliability, penalty}, appScoreNaN}.
#[derive(Debug, Args)]
#[command(after_help = examples::CANDIDATES)]
pub struct CandidatesArgs {
    /// How many candidates.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub limit: usize,

    /// Leave out peers last seen longer ago than this (0: no limit).
    #[arg(long, default_value = "7d", value_name = "DURATION",
          value_parser = crate::time::parse_duration)]
    pub max_age: f64,

    /// Leave out peers whose quality score is below this.
    #[arg(long, default_value_t = 0.0, value_name = "SCORE")]
    pub min_quality: f64,
}

/// Flags every writing command shares.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Print what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not ask for confirmation (needed for the wholesale commands without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Write the backup of the namespace here instead of beside the store.
    #[arg(long, value_name = "FILE", conflicts_with = "no_backup")]
    pub backup: Option<PathBuf>,

    /// Do not write a backup of the namespace first (the change cannot be undone then).
    #[arg(long)]
    pub no_backup: bool,

    /// How many previous database directories to keep beside a browser profile meshpeers
    /// writes (Chromium: `leveldb.meshpeers-backup-<time>`; Firefox: the origin's
    /// `ls.meshpeers-backup-<time>`; older ones it made are removed).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub keep_previous: usize,
}

/// Remove stale peers: build a plan (peer, rule, why), print it, and apply it unless
/// --dry-run.
///
/// Strategies: `stale` is the app's own cleanupStalePeers: peers unseen for more than
/// --max-age (30d), even blacklisted ones, and peers with at least --max-failures (5)
/// reconnection attempts whose blacklist is absent or expired; then, while the index holds
/// more than --max-peers (100) entries, the least recently seen non-blacklisted peers (ties:
/// index order); metadata.lastCleanup = now. The guide's strategies start from the app's
/// default query, so peers whose blacklist still runs are never removed by them: `age`
/// (unseen for more than --max-age), `failures` (--max-failures, blacklist absent or
/// expired), `lru` (keep the --keep (50) most recently seen; ties: index order is kept),
/// `quality` (remove the lowest quality first until --target (80) remain), `hybrid` (older
/// than --max-age; or the failures rule; or never connected successfully (successfulConnections
/// 0 or missing) and unseen for more than --never-connected-age (7d); or quality below
/// --low-quality (20) and unseen for more than --low-quality-age (14d); then, if the index
/// holds more than --max-peers entries, LRU down to --keep (80)). A blacklist ending exactly
/// now is neither running nor expired. Peers whose record is missing or unreadable are never
/// removed.
///
/// A real run first writes a backup of the whole namespace (restore the removed peers with
/// `meshpeers import BACKUP`), then removes the records, rewrites the index and updates the
/// metadata as the app does (totalPeers, estimatedSize; lastCleanup = now only for `stale`,
/// the one the app runs itself, even when it removes nothing) in one atomic save.
///
/// JSON (`--json`): {dryRun, actions:[{peerId, displayName, action, rule, rules, reason}],
/// backup, keys:{written, deleted}, warnings}; `backup` is null on a dry run.
#[derive(Debug, Args)]
#[command(after_help = examples::CLEANUP)]
pub struct CleanupArgs {
    /// Which peers to remove.
    #[arg(long, value_enum, default_value = "stale")]
    pub strategy: Strategy,

    /// Peers unseen for longer than this are inactive (stale, age, hybrid).
    #[arg(long, default_value = "30d", value_name = "DURATION",
          value_parser = crate::time::parse_duration)]
    pub max_age: f64,

    /// Peers with at least this many failed reconnection attempts go once their blacklist
    /// is absent or expired (stale, failures, hybrid).
    #[arg(long, default_value_t = 5.0, value_name = "N")]
    pub max_failures: f64,

    /// More index entries than this triggers the LRU step (stale, hybrid).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_peers: usize,

    /// Peers the LRU keeps (lru: 50; hybrid's LRU step: 80).
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,

    /// Peers the quality strategy keeps.
    #[arg(long, default_value_t = 80, value_name = "N")]
    pub target: usize,

    /// hybrid: never connected successfully and unseen for longer than this.
    #[arg(long, default_value = "7d", value_name = "DURATION",
          value_parser = crate::time::parse_duration)]
    pub never_connected_age: f64,

    /// hybrid: quality below this …
    #[arg(long, default_value_t = 20.0, value_name = "SCORE")]
    pub low_quality: f64,

    /// … and unseen for longer than this.
    #[arg(long, default_value = "14d", value_name = "DURATION",
          value_parser = crate::time::parse_duration)]
    pub low_quality_age: f64,

    /// Print, for this one peer (an id or a unique prefix), every test the strategy makes
    /// and its outcome, and write nothing.
    #[arg(long, value_name = "PEER")]
    pub explain: Option<String>,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// Remove peers: their records and index entries (the app's removePeer), metadata updated.
///
/// Each id is whole or a prefix of at least 4 characters that names one peer (as tables show
/// ids on a terminal); an unknown or ambiguous one refuses the whole command. A backup of the
/// namespace is written first.
///
/// JSON (`--json`): {dryRun, actions:[{peerId, displayName, action, rule, reason}], backup,
/// keys:{written, deleted}, warnings}.
#[derive(Debug, Args)]
#[command(after_help = examples::REMOVE)]
pub struct RemoveArgs {
    /// The peer ids (or prefixes of at least 4 characters naming one peer each).
    #[arg(required = true)]
    pub ids: Vec<String>,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// Remove every peer, the index, the metadata and the encryption key: the app's logout
/// (clearAll). The schema version and every key outside the namespace stay.
///
/// Also removes peer records missing from the index, which the app's clearAll would leave
/// behind. Asks on a terminal; otherwise needs --yes. A backup of the namespace is written
/// first.
///
/// JSON (`--json`): {dryRun, actions:[…], backup, keys:{written, deleted}, warnings}.
#[derive(Debug, Args)]
#[command(after_help = examples::CLEAR)]
pub struct ClearArgs {
    #[command(flatten)]
    pub write: WriteArgs,
}

/// Lift blacklists: with --expired, the app's clearExpiredBlacklists (every blacklist that
/// ended before now); with ids, those peers' blacklists, running or not.
///
/// Sets blacklistUntil to null and reconnectionAttempts to 0 (appended when absent) in place:
/// no other byte of the record changes (the app rewrites whole records and re-encrypts their
/// secrets). Metadata totalPeers/estimatedSize are updated as the app does.
///
/// JSON (`--json`): {dryRun, actions:[…], backup, keys:{written, deleted}, warnings}.
#[derive(Debug, Args)]
#[command(after_help = examples::UNBLACKLIST, group = clap::ArgGroup::new("which").required(true).args(["expired", "ids"]))]
pub struct UnblacklistArgs {
    /// Every blacklist that has ended (blacklistUntil before now).
    #[arg(long)]
    pub expired: bool,

    /// These peers (ids, or prefixes of at least 4 characters naming one peer each).
    pub ids: Vec<String>,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// Write a backup of the namespace: by default the lossless meshpeers backup (every key of the
/// namespace as its exact string, origin, time, checksum), which `import` restores byte for
/// byte into any backend.
///
/// --app-format writes the app's own exportData() shape ({version, exportDate, peers:[…]} in
/// index order; peers that held a secret lose both secret fields, the others keep
/// encryptedSecret: null). --redact drops secrets, the key record and IP addresses
/// (lastKnownIP, cached ICE candidates, SDP offers/answers) for sharing a profile.
/// --peers-only --format json|ndjson|csv writes one row per indexed peer for analysis.
/// Output goes to -o FILE (created 0600, replaced atomically) or stdout.
#[derive(Debug, Args)]
#[command(after_help = examples::EXPORT)]
pub struct ExportArgs {
    /// Write here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace the -o file when it exists (it is replaced as a new 0600 file; a symlink there
    /// is replaced, never followed).
    #[arg(long, requires = "output")]
    pub force: bool,

    /// The app's exportData() shape instead of the meshpeers backup.
    #[arg(long, conflicts_with = "peers_only")]
    pub app_format: bool,

    /// Leave out secrets, the key record and IP addresses.
    #[arg(long)]
    pub redact: bool,

    /// One row per peer (with --format).
    #[arg(long)]
    pub peers_only: bool,

    /// Row format for --peers-only.
    #[arg(long, value_enum, default_value = "json", requires = "peers_only")]
    pub format: RowFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RowFormat {
    Json,
    Ndjson,
    Csv,
}

/// Restore a meshpeers backup (written by export, cleanup, remove, clear, unblacklist,
/// import, re-encrypt), or import the app's exportData() file.
///
/// An exportData() file is imported as the app's importData() does: each peer stored (a
/// sharedSecret in it encrypted under the store's key, created as the app would when there is
/// none), the index extended in export order, metadata recomputed; `--mode replace` then
/// replaces only the peer records and the index.
///
/// `--mode merge` (default): peers missing from the store are added; a peer in both keeps
/// the record with the newer lastSeen; the index keeps the store's order and appends new
/// peers in the backup's order; metadata totalPeers/estimatedSize are recomputed. `--mode
/// replace`: the namespace becomes exactly the backup's (asks on a terminal, else needs
/// --yes). The backup's checksum is verified; a backup of another origin needs --origin.
/// A backup of the namespace as it was is written first.
///
/// JSON (`--json`): {dryRun, actions:[{peerId, action, rule, reason}], backup, keys:{written,
/// deleted}, warnings}.
#[derive(Debug, Args)]
#[command(after_help = examples::IMPORT)]
pub struct ImportArgs {
    /// The backup file (`-` for stdin).
    pub file: String,

    /// How to combine the backup with the store.
    #[arg(long, value_enum, default_value = "merge")]
    pub mode: ImportMode,

    #[command(flatten)]
    pub key: KeyArgs,

    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportMode {
    Merge,
    Replace,
}

/// PBKDF2 iteration counts: 1 up to the cap meshpeers runs (a hostile count cannot hang it).
fn iterations() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=i64::from(crate::crypto::MAX_ITERATIONS))
}

/// How to get the store's key when it needs a passphrase. No flag takes the passphrase
/// itself: it comes from MESHPEERS_PASSPHRASE, --passphrase-file, or a prompt on a terminal.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    #[command(flatten)]
    pub passphrase: PassphraseArgs,

    /// When the store has no key record: PBKDF2-HMAC-SHA256 iterations (default: the guide's
    /// 100000).
    #[arg(long, value_name = "N", value_parser = iterations())]
    pub iterations: Option<u32>,
}

/// The store's current passphrase and, when it has no key record, the salt its key was
/// derived with; shared by every command that reads secrets and by `re-encrypt`.
#[derive(Debug, Clone, Args)]
pub struct PassphraseArgs {
    /// Read the passphrase of the store's current key from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// When the store has no key record: the PBKDF2 salt its key is derived with (default:
    /// the guide's `mesh-p2p-salt`).
    #[arg(long, value_name = "TEXT")]
    pub salt: Option<String>,
}

/// Which peers hold a secret and whether it decrypts with the store's key; --reveal prints
/// the plaintexts (never otherwise).
///
/// The key: the app's plain JWK in mesh:encryption:key; a protected meshpeers key record
/// (asks for its passphrase); or, with no key record, a key derived from a given passphrase
/// (PBKDF2-HMAC-SHA256, --salt/--iterations, default the guide's `mesh-p2p-salt` and 100000).
/// A wrong passphrase exits 6 before anything is decrypted.
///
/// JSON (`--json`): an array of {peerId, hasSecret, decrypts, plaintextAtRest, error,
/// secret}; decrypts is null without a key; secret only with --reveal.
#[derive(Debug, Args)]
#[command(after_help = examples::SECRETS)]
pub struct SecretsArgs {
    /// Print the decrypted secrets.
    #[arg(long)]
    pub reveal: bool,

    #[command(flatten)]
    pub key: KeyArgs,
}

/// Rotate the encryption key: decrypt every secret with the current key, encrypt each under a
/// new key with a fresh random IV, and replace the key record, in one atomic save with a
/// backup; then verified by decrypting again.
///
/// --to jwk writes the app's own plain JWK (a new random key the app can use); --to passphrase
/// a key derived from a new passphrase; --to wrapped a new random key wrapped under a
/// passphrase-derived key. Protected records are meshpeers' versioned JSON:
/// {"meshpeers":"key", "version":1, "kind":"passphrase"|"wrapped", "kdf":{"name":"PBKDF2",
/// "hash":"SHA-256", "iterations":N, "salt":base64}, "wrappedKey":base64 (wrapped only),
/// "check":base64} where check is a known text encrypted under the key, so a wrong passphrase
/// is detected before anything is decrypted or written. The app itself reads only the plain JWK.
///
/// If any secret does not decrypt, nothing is written and the peers are named (exit 6), unless
/// --skip-undecryptable, which leaves those records untouched and lists them. The current
/// passphrase comes from MESHPEERS_PASSPHRASE, --passphrase-file or a prompt; the new one from
/// MESHPEERS_NEW_PASSPHRASE, --new-passphrase-file or a prompt asked twice.
///
/// JSON (`--json`): {dryRun, actions:[{peerId, action, rule, reason}], backup, keys:{written,
/// deleted}, warnings}.
#[derive(Debug, Args)]
#[command(after_help = examples::RE_ENCRYPT)]
pub struct ReEncryptArgs {
    /// The new key record.
    #[arg(long, value_enum)]
    pub to: NewKind,

    /// PBKDF2-HMAC-SHA256 iterations of the new passphrase or wrapped record.
    #[arg(long, value_name = "N", default_value_t = crate::crypto::NEW_ITERATIONS,
          value_parser = iterations())]
    pub iterations: u32,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,

    /// Read the new passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,

    /// When the store has no key record: the iterations the current key was derived with
    /// (default: the guide's 100000).
    #[arg(long, value_name = "N", value_parser = iterations())]
    pub current_iterations: Option<u32>,

    /// Leave secrets that do not decrypt untouched (and list them) instead of refusing.
    #[arg(long)]
    pub skip_undecryptable: bool,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// Check the namespace: every finding with a stable code, a severity, the key and a message.
///
/// Every finding code, with its severity and meaning, is listed at the end of `--help`.
///
/// Exit status 0 without errors, 1 with errors (--strict: warnings count too).
///
/// JSON (`--json`): {findings:[{severity, code, key, message}], errors, warnings, infos}.
#[derive(Debug, Args)]
#[command(after_help = examples::VALIDATE, after_long_help = format!("{}\n\n{}", examples::VALIDATE, crate::peers::findings::codes_help()))]
pub struct ValidateArgs {
    /// Warnings make the exit status 1 too.
    #[arg(long)]
    pub strict: bool,

    #[command(flatten)]
    pub key: KeyArgs,
}

/// What changed between two stores or backups: peers added, removed and changed (with the
/// changed fields as dotted paths, old → new; `encryptedSecret`, `sharedSecret` and the key
/// record only as "changed"), and the namespace's other keys (index ids and order, metadata,
/// key record, schema version, anything else under the prefix).
///
/// Each side is any store `--store` takes (a file, a profile, a running browser) or a meshpeers
/// backup. A side that holds several origins needs `--origin-a`/`--origin-b` (or `--origin` for
/// both). `--all-keys` compares the origin's keys outside the namespace too.
///
/// Exit status 0 when equal, 1 when different (as diff(1)).
///
/// JSON (`--json`): {equal, a:{store, origin}, b:{store, origin}, added:[{peerId,
/// displayName}], removed:[…], changed:[{peerId, displayName, fields:[{path, change, old, new,
/// secret}]}], keys:[{key, change, detail, old, new}], otherKeys (with --all-keys)}; `change`
/// is added, removed or changed; a secret field has secret:true and no old/new.
#[derive(Debug, Args)]
#[command(after_help = examples::DIFF)]
pub struct DiffArgs {
    /// The first store or backup (the "old" side).
    pub a: String,
    /// The second store or backup (the "new" side).
    pub b: String,
    /// The origin of the first side.
    #[arg(long, value_name = "ORIGIN")]
    pub origin_a: Option<String>,
    /// The origin of the second side.
    #[arg(long, value_name = "ORIGIN")]
    pub origin_b: Option<String>,
    /// Also compare the origin's keys outside the namespace.
    #[arg(long)]
    pub all_keys: bool,
}

/// Every version of the namespace's keys that a Chromium LevelDB profile's files still hold:
/// the live value, older values in tables and log records that compaction has not yet dropped,
/// and deletions (tombstones), oldest first, with sequence numbers and the file each came
/// from; for peer records their lastSeen and displayName. Values (secrets among them) are not
/// printed: `recover ID@SEQ -o FILE` writes one.
///
/// LevelDB profiles only (the other stores keep no older versions). Read-only: the files are
/// read, never opened for writing, also while the browser runs. Without `--origin` the origin
/// that holds the namespace is used, or, when none does any more (after the app's logout), the
/// one whose keys the files hold. A damaged file fails the read (exit 3, naming file and
/// block) unless `--salvage`.
///
/// `COMMITTED` is the time of the browser's commit, from the origin's `META` record of the
/// same write batch; `≤ TIME` when only a later commit is known (compaction keeps only the
/// newest `META`).
///
/// JSON (`--json`): {store, origin, files:[…], lastSeq, commits:[{seq, time, sizeBytes}],
/// versions:[{seq, key, kind, peerId, op, state, file, bytes, time, timeExact, lastSeen,
/// displayName, detail}], damage:[{file, offset, problem}]}; kind is peer, index, metadata,
/// key, schema or other; op put or delete; state live, older or deleted.
#[derive(Debug, Args)]
#[command(after_help = examples::HISTORY)]
pub struct HistoryArgs {
    /// Only these peers' records (ids or id prefixes).
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
}

/// Write a meshpeers backup of versions a Chromium LevelDB profile's files still hold, to
/// bring back what was deleted or overwritten: `import FILE` (merge mode) restores it into any
/// store. Never writes to the profile.
///
/// `--deleted`: the last version of every namespace key whose newest version is a deletion —
/// every removed peer, and the index, metadata, key record and schema version when they are
/// gone too (after a logout, so the restored secrets still decrypt with the restored key);
/// while the index stands, the backup's index lists the recovered peers so that `import`
/// indexes them. `--as-of TIME` (RFC 3339 or epoch ms) or `--as-of seq:N`: the namespace as it
/// stood then (a time is mapped to the last commit of the origin at or before it), as far as
/// the files hold it, with a report of the keys that could not be told. `ID@SEQ`: the version
/// of peer ID's record that stood at sequence SEQ (as `history` lists them).
///
/// Exit status 0 when the backup is written, 1 when there is nothing to recover.
///
/// JSON (`--json`): {output, origin, chosen:[{key, seq, file, why}], unresolved:[{key,
/// problem}], peers}.
#[derive(Debug, Args)]
#[command(after_help = examples::RECOVER, group = clap::ArgGroup::new("what").required(true).args(["deleted", "as_of", "versions"]))]
pub struct RecoverArgs {
    /// Write the backup here (created 0600).
    #[arg(long, short = 'o', value_name = "FILE", required = true)]
    pub output: PathBuf,

    /// Replace the -o file when it exists.
    #[arg(long)]
    pub force: bool,

    /// The last versions of everything deleted.
    #[arg(long)]
    pub deleted: bool,

    /// The namespace as it stood at TIME (RFC 3339, epoch ms) or at seq:N.
    #[arg(long, value_name = "TIME|seq:N", value_parser = parse_as_of)]
    pub as_of: Option<AsOf>,

    /// Versions of peer records: ID@SEQ (an id or unique prefix, a sequence number).
    #[arg(value_name = "ID@SEQ", value_parser = parse_version)]
    pub versions: Vec<(String, u64)>,
}

/// A moment of the store's history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AsOf {
    Seq(u64),
    /// Epoch milliseconds.
    Time(f64),
}

fn parse_as_of(s: &str) -> Result<AsOf, String> {
    if let Some(n) = s.strip_prefix("seq:") {
        return n
            .parse()
            .map(AsOf::Seq)
            .map_err(|_| format!("{s:?}: seq:N takes a sequence number (as `history` shows)"));
    }
    crate::time::parse_instant(s).map(AsOf::Time)
}

fn parse_version(s: &str) -> Result<(String, u64), String> {
    let bad = || {
        format!(
            "{s:?} is not ID@SEQ (a peer id or prefix, @, a sequence number as `history` shows)"
        )
    };
    let (id, seq) = s.rsplit_once('@').ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id.to_owned(), seq.parse().map_err(|_| bad())?))
}

/// Fix what can be fixed without guessing and move what cannot be used into a quarantine file
/// (a meshpeers backup of the raw strings, importable), so that `validate` finds no errors.
///
/// Fixes: the index rebuilt from the usable records (duplicates, dangling and invalid entries
/// dropped; unindexed records added), metadata recomputed (created when missing), a missing
/// reconnectionAttempts written as 0, display names sanitised (`<`, `>` and control characters
/// removed, cut to 50 UTF-16 units), a missing schema version written as 1.0.0, plaintext
/// secrets encrypted under the store's key (a JWK created as the app would when there is
/// none), expired blacklists cleared with --clear-expired, IP addresses anonymised (/24, /48)
/// with --anonymize-ips. Quarantined (removed from the store, kept in the quarantine file):
/// records that are not JSON objects, lack a peerId or name another one, or hold values of
/// the wrong type or impossible values; an unusable key record or metadata. A record whose
/// encryptedSecret does not decrypt keeps its place with the secret set to null; its original
/// goes to the quarantine file. A second repair changes nothing.
///
/// JSON (`--json`): {dryRun, actions:[…], backup, keys:{written, deleted}, warnings,
/// quarantine}.
#[derive(Debug, Args)]
#[command(after_help = examples::REPAIR)]
pub struct RepairArgs {
    /// Replace full IP addresses by their /24 (IPv4) or /48 (IPv6) network.
    #[arg(long)]
    pub anonymize_ips: bool,

    /// Clear blacklists that have ended (as `unblacklist --expired`).
    #[arg(long)]
    pub clear_expired: bool,

    /// Write the quarantine file here instead of beside the store.
    #[arg(long, value_name = "FILE")]
    pub quarantine: Option<PathBuf>,

    #[command(flatten)]
    pub key: KeyArgs,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// Print a shell completion script.
#[derive(Debug, Args)]
#[command(after_help = examples::COMPLETIONS)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Each command's examples (`after_help`): real command lines, each under a comment line;
/// a test parses every one.
pub mod examples {
    pub const TOP: &str = "\
Examples:
  # The best peers of a Chromium profile (found in the user-data directory)
  meshpeers list --store ~/.config/chromium --sort quality --limit 10
  # What the recommended cleanup would remove from a dump, writing nothing
  meshpeers cleanup --store dump.json --strategy hybrid --dry-run
  # Back up a test browser's peers, and restore them later
  meshpeers export --store ~/.config/chromium -o peers.json
  meshpeers import peers.json --store ~/.config/chromium
  # Every store on this machine that holds the namespace
  meshpeers locate";
    pub const LOCATE: &str = "\
Examples:
  # Every browser profile of this user that holds the namespace
  meshpeers locate
  # The same in a copy of a user's home directory, as JSON
  meshpeers locate --root /mnt/backup/home/alice --json";
    pub const INSPECT: &str = "\
Examples:
  # What a user's exported dump holds
  meshpeers inspect --store dump.json
  # A Chromium profile, one origin of several
  meshpeers inspect --store ~/.config/chromium --origin https://chat.example";
    pub const LIST: &str = "\
Examples:
  # The 20 best-scored peers, as the app ranks them
  meshpeers list --store dump.json --sort quality --limit 20
  # WebRTC host peers seen in the last day, blacklisted ones too
  meshpeers list --store dump.json --type host --max-age 1d --include-blacklisted
  # Every peer of a Firefox profile, as JSON for jq
  meshpeers list --store ~/.mozilla/firefox --json";
    pub const SHOW: &str = "\
Examples:
  # One peer's record, by an id prefix as `list` shows it
  meshpeers show 3f2a9c1e --store dump.json
  # Its raw JSON
  meshpeers show 3f2a9c1e --store dump.json --json";
    pub const STATS: &str = "\
Examples:
  # How the store is spread: quality, age, size against the quota
  meshpeers stats --store dump.json
  # At a fixed time, as JSON
  meshpeers stats --store dump.json --now 2026-01-01T00:00:00Z --json";
    pub const SCORE: &str = "\
Examples:
  # Every peer's quality score with its parts
  meshpeers score --store dump.json
  # Two peers, by id prefix
  meshpeers score 3f2a9c1e 8b01d4aa --store dump.json";
    pub const CANDIDATES: &str = "\
Examples:
  # The 10 peers the app would reconnect to first
  meshpeers candidates --store dump.json
  # The 5 best seen in the last hour, with quality at least 50
  meshpeers candidates --store dump.json --limit 5 --max-age 1h --min-quality 50";
    pub const CLEANUP: &str = "\
Examples:
  # What the guide's recommended cleanup would remove, writing nothing
  meshpeers cleanup --store dump.json --strategy hybrid --dry-run
  # Remove peers unseen for 14 days from a closed browser's profile
  meshpeers cleanup --store ~/.config/chromium --strategy age --max-age 14d
  # Keep the 50 most recently seen peers, without asking
  meshpeers cleanup --store dump.json --strategy lru --keep 50 --yes
  # Why hybrid would remove (or keep) one peer
  meshpeers cleanup --store dump.json --strategy hybrid --explain 3f2a9c1e";
    pub const REMOVE: &str = "\
Examples:
  # Remove one peer (a backup of the namespace is written first)
  meshpeers remove 3f2a9c1e --store dump.json
  # Two peers, with the backup in a chosen file
  meshpeers remove 3f2a9c1e 8b01d4aa --store dump.json --backup before-remove.json";
    pub const CLEAR: &str = "\
Examples:
  # What clearing the namespace would remove
  meshpeers clear --store dump.json --dry-run
  # Clear it (as the app's logout), without asking
  meshpeers clear --store dump.json --yes";
    pub const UNBLACKLIST: &str = "\
Examples:
  # Lift every blacklist that has ended
  meshpeers unblacklist --expired --store dump.json
  # Lift one peer's blacklist now
  meshpeers unblacklist 3f2a9c1e --store dump.json";
    pub const EXPORT: &str = "\
Examples:
  # A meshpeers backup of the namespace
  meshpeers export --store ~/.config/chromium -o peers-backup.json
  # The peers as CSV rows, without secrets or addresses
  meshpeers export --store dump.json --peers-only --format csv --redact
  # The app's own exportData() shape
  meshpeers export --store dump.json --app-format -o app-export.json";
    pub const IMPORT: &str = "\
Examples:
  # Merge a backup into a test browser's profile (newer records win)
  meshpeers import peers-backup.json --store ~/.config/chromium
  # Replace the namespace with the backup, first seeing what would change
  meshpeers import peers-backup.json --store dump.json --mode replace --dry-run";
    pub const SECRETS: &str = "\
Examples:
  # Which shared secrets decrypt with the store's key
  meshpeers secrets --store dump.json
  # Print them, the passphrase read from a file
  meshpeers secrets --store dump.json --reveal --passphrase-file pass.txt";
    pub const RE_ENCRYPT: &str = "\
Examples:
  # Re-encrypt every secret under a passphrase-derived key
  meshpeers re-encrypt --store dump.json --to passphrase --new-passphrase-file new.txt
  # What a new random key would change, writing nothing
  meshpeers re-encrypt --store dump.json --to jwk --dry-run";
    pub const VALIDATE: &str = "\
Examples:
  # Check the namespace against the app's rules (exit 1 on errors)
  meshpeers validate --store dump.json
  # In CI: warnings fail too, findings as JSON
  meshpeers validate --store dump.json --strict --json";
    pub const DIFF: &str = "\
Examples:
  # What a cleanup changed: the profile against the backup it wrote
  meshpeers diff dump.json dump.json.meshpeers-backup.json
  # A Chromium profile against a Firefox one, every key of the origin
  meshpeers diff ~/.config/chromium ~/.mozilla/firefox --all-keys";
    pub const HISTORY: &str = "\
Examples:
  # Every version of every namespace key still in a Chromium profile's files
  meshpeers history --store ~/.config/chromium
  # One peer's versions, as JSON
  meshpeers history 3f2a9c1e --store ~/.config/chromium --json";
    pub const RECOVER: &str = "\
Examples:
  # Back up every deleted peer (and a deleted key record), then merge it back
  meshpeers recover --deleted --store ~/.config/chromium -o deleted.json
  meshpeers import deleted.json --store ~/.config/chromium
  # The namespace as it stood yesterday morning
  meshpeers recover --as-of 2026-12-03T08:00:00Z --store ~/.config/chromium -o then.json";
    pub const REPAIR: &str = "\
Examples:
  # What repair would fix, writing nothing
  meshpeers repair --store dump.json --dry-run
  # Fix, clear ended blacklists and shorten IP addresses
  meshpeers repair --store dump.json --clear-expired --anonymize-ips";
    pub const COMPLETIONS: &str = "\
Examples:
  # Bash completions for this user
  meshpeers completions bash
  # Zsh completions
  meshpeers completions zsh";
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The example lines of a help text: the lines after `Examples:` that run meshpeers.
    fn example_lines(help: &str) -> Vec<String> {
        help.lines()
            .skip_while(|l| *l != "Examples:")
            .map(str::trim)
            .take_while(|l| !l.is_empty())
            .filter(|l| l.starts_with("meshpeers "))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_command_has_examples_that_parse() {
        let top = Cli::command();
        let mut seen = 0;
        let commands = std::iter::once(&top).chain(top.get_subcommands());
        for cmd in commands {
            let help = cmd
                .get_after_help()
                .unwrap_or_else(|| panic!("{} has no examples", cmd.get_name()))
                .to_string();
            let lines = example_lines(&help);
            let own = format!("meshpeers {} ", cmd.get_name());
            let mine = lines
                .iter()
                .filter(|l| format!("{l} ").starts_with(&own))
                .count();
            assert!(
                mine >= 2 || (cmd.get_name() == "meshpeers" && lines.len() >= 2),
                "{}: {lines:?}",
                cmd.get_name()
            );
            for line in lines {
                let words: Vec<&str> = line.split_whitespace().collect();
                if let Err(e) = Cli::try_parse_from(&words) {
                    panic!("{line}: {e}");
                }
                seen += 1;
            }
        }
        assert!(seen >= 2 * 22, "{seen} examples");
    }
}
