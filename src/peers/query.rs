//! The app's `queryPeers` and `getReconnectionCandidates`, exactly: filters in the app's order,
//! a stable sort whose `asc` negates the comparison (ties keep index order both ways), and the
//! `limit` rules of JavaScript (`limit ? slice : all`).

use std::cmp::Ordering;

use super::namespace::Peer;
use super::score::{self, Quality, Reconnection};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    LastSeen,
    LastConnected,
    Quality,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Clone, Debug)]
pub struct QueryOptions {
    pub sort: SortKey,
    pub order: Order,
    /// `None` or `Some(0)`: no limit (JavaScript's `limit ? … : all`).
    pub limit: Option<usize>,
    pub min_quality: f64,
    /// Milliseconds; `None` or 0: no age filter.
    pub max_age: Option<f64>,
    pub exclude_blacklisted: bool,
    /// meshpeers' own filters, applied with the app's (before sorting and the limit).
    pub connection_type: Option<String>,
    /// Only these peers (the ones whose secret decrypts, or holds one when no key is known).
    pub authenticated: Option<std::collections::HashSet<String>>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            sort: SortKey::LastSeen,
            order: Order::Desc,
            limit: None,
            min_quality: 0.0,
            max_age: None,
            exclude_blacklisted: true,
            connection_type: None,
            authenticated: None,
        }
    }
}

/// A peer in a query result with the quality the app attached (`_qualityScore`).
#[derive(Debug, Clone, Copy)]
pub struct Hit<'p> {
    pub peer: &'p Peer,
    pub quality: Quality,
}

/// The app's `queryPeers` over `peers` (in index order).
pub fn query<'p>(
    peers: impl IntoIterator<Item = &'p Peer>,
    now: f64,
    opts: &QueryOptions,
) -> Vec<Hit<'p>> {
    let max_age = opts.max_age.filter(|a| *a != 0.0 && !a.is_nan());
    let mut hits: Vec<Hit<'p>> = peers
        .into_iter()
        .filter(|p| !(opts.exclude_blacklisted && p.view.is_blacklisted(now)))
        .filter(|p| {
            max_age.is_none_or(|age| {
                !js_greater(
                    now - crate::js::value::to_number(p.view.last_seen.as_ref()),
                    age,
                )
            })
        })
        .filter(|p| {
            opts.connection_type
                .as_deref()
                .is_none_or(|t| p.view.connection_type() == Some(t))
        })
        .filter(|p| {
            opts.authenticated
                .as_ref()
                .is_none_or(|ids| ids.contains(&p.id))
        })
        .map(|peer| Hit {
            peer,
            quality: score::quality(&peer.view),
        })
        .filter(|h| !js_greater(opts.min_quality, h.quality.total))
        .collect();

    let key = |h: &Hit| -> f64 {
        let k = match opts.sort {
            SortKey::Quality => h.quality.sort_value(),
            SortKey::LastConnected => score::last_connected_key(&h.peer.view),
            SortKey::LastSeen => score::last_seen_key(&h.peer.view),
        };
        // A non-numeric string makes the app's comparison NaN ("equal"); sorting it as 0 keeps
        // the order total (and deterministic) for such hostile records.
        if k.is_nan() { 0.0 } else { k }
    };
    // The app's comparator is `key(b) - key(a)` (descending), negated for `asc`.
    hits.sort_by(|a, b| {
        let desc = key(b).partial_cmp(&key(a)).unwrap_or(Ordering::Equal);
        if opts.order == Order::Asc {
            desc.reverse()
        } else {
            desc
        }
    });
    if let Some(limit) = opts.limit.filter(|l| *l > 0) {
        hits.truncate(limit);
    }
    hits
}

/// JavaScript's `a > b`: false when either is NaN. The app skips a peer only when its test is
/// true, so a NaN age or quality keeps the peer.
fn js_greater(a: f64, b: f64) -> bool {
    matches!(a.partial_cmp(&b), Some(Ordering::Greater))
}

/// A reconnection candidate with its score and reason.
#[derive(Debug, Clone)]
pub struct Candidate<'p> {
    pub peer: &'p Peer,
    pub quality: Quality,
    pub score: Reconnection,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct CandidateOptions {
    pub limit: usize,
    pub max_age: Option<f64>,
    pub min_quality: f64,
}

impl Default for CandidateOptions {
    fn default() -> Self {
        CandidateOptions {
            limit: 10,
            max_age: Some(7.0 * super::DAY_MS),
            min_quality: 0.0,
        }
    }
}

/// `getReconnectionCandidates`: the best `2 × limit` by quality (blacklisted excluded), scored,
/// sorted by score (stable), first `limit`.
pub fn candidates<'p>(peers: &'p [Peer], now: f64, opts: &CandidateOptions) -> Vec<Candidate<'p>> {
    let pool = query(
        peers,
        now,
        &QueryOptions {
            sort: SortKey::Quality,
            limit: Some(opts.limit * 2),
            max_age: opts.max_age,
            min_quality: opts.min_quality,
            ..QueryOptions::default()
        },
    );
    let mut out: Vec<Candidate<'p>> = pool
        .into_iter()
        .map(|h| Candidate {
            peer: h.peer,
            quality: h.quality,
            score: score::reconnection(&h.peer.view, now),
            reason: score::reason(&h.peer.view, now),
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .sort_value()
            .partial_cmp(&a.score.sort_value())
            .unwrap_or(Ordering::Equal)
    });
    out.truncate(opts.limit);
    out
}
