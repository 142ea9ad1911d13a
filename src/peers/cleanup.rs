//! Cleanup plans: which peers a strategy removes, by which rule, and why.
//!
//! `stale` is the app's own `cleanupStalePeers` (every readable indexed peer is checked, the
//! blacklisted ones included; then an LRU step over the non-blacklisted ones when the index
//! still has more than 100 entries). `age`, `failures`, `lru`, `quality` and `hybrid` are the
//! design guide's strategies, which all start from the app's default `queryPeers()` and so
//! never touch a peer whose blacklist is still running. Peers whose record is missing or
//! unreadable are never removed by a cleanup (`validate`/`repair` deal with them).

use std::collections::HashSet;

use super::edit::{Draft, MetadataRule};
use super::plan::{Action, ActionKind, Plan, PlanRule, Reason};
use super::query::{self, Order, QueryOptions, SortKey};
use super::score::{self, days_since_seen};
use super::{DAY_MS, Namespace, Peer};
use crate::js::value::{member, to_number, truthy};

/// A cleanup strategy: `Stale` is the app's cleanupStalePeers, the others are the design
/// guide's (`plan` spells out each; `cli::Strategy` explains them to users).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Stale,
    Age,
    Failures,
    Lru,
    Quality,
    Hybrid,
}

/// Every threshold of every strategy (defaults: the app's and the guide's).
#[derive(Clone, Debug)]
pub struct Thresholds {
    /// Older than this (ms) is inactive: stale, age, hybrid.
    pub max_age: f64,
    /// At least this many failed reconnections: stale, failures, hybrid.
    pub max_failures: f64,
    /// More index entries than this triggers the LRU step: stale, hybrid.
    pub max_peers: usize,
    /// Peers the LRU keeps: lru (default 50), hybrid's LRU step (default 80).
    pub keep: Option<usize>,
    /// Peers the quality strategy keeps.
    pub target: usize,
    /// hybrid: never connected and older than this (ms).
    pub never_connected_age: f64,
    /// hybrid: quality below this …
    pub low_quality: f64,
    /// … and older than this (ms).
    pub low_quality_age: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_age: 30.0 * DAY_MS,
            max_failures: 5.0,
            max_peers: super::MAX_PEERS,
            keep: None,
            target: 80,
            never_connected_age: 7.0 * DAY_MS,
            low_quality: 20.0,
            low_quality_age: 14.0 * DAY_MS,
        }
    }
}

/// Why a peer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Inactive,
    FailedReconnections,
    NeverConnected,
    LowQuality,
    Lru,
    Quality,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Inactive => "inactive",
            Rule::FailedReconnections => "failed-reconnections",
            Rule::NeverConnected => "never-connected",
            Rule::LowQuality => "low-quality",
            Rule::Lru => "lru",
            Rule::Quality => "quality",
        }
    }
}

/// One peer of the plan.
#[derive(Debug, Clone)]
pub struct Removal<'p> {
    pub peer: &'p Peer,
    /// The rule the plan names (for `stale`, the app's own choice: failures over age).
    pub rule: Rule,
    /// Every rule the peer meets.
    pub rules: Vec<Rule>,
    /// The facts behind the rules (`output` says them in words).
    pub facts: Vec<Fact>,
}

/// What decided a removal: the values and thresholds a rule compared. Ages and durations
/// are in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// Last seen `age` ago, more than `max_age`.
    Inactive { age: f64, max_age: f64 },
    /// At least `max` failed reconnections, and the blacklist absent or ended `ended` ago.
    Failing {
        attempts: f64,
        max: f64,
        ended: Option<f64>,
    },
    /// Still blacklisted for `left`, removed anyway (as the app's cleanupStalePeers does).
    BlacklistedAnyway { left: f64 },
    /// `remaining` peers left, more than `max`: the `excess` least recently seen go.
    OverCap {
        remaining: usize,
        max: usize,
        excess: usize,
        seen: f64,
    },
    /// Not among the `keep` most recently seen of `of` peers; last seen `seen` ago.
    NotRecent { keep: usize, of: usize, seen: f64 },
    /// A quality among the `lowest` lowest of `of` peers; `kept` are kept.
    LowestQuality {
        quality: f64,
        lowest: usize,
        of: usize,
        kept: usize,
    },
    /// No successful connection (`successful`: the stored count as JSON, `None` when absent)
    /// and inactive.
    NeverConnected {
        successful: Option<String>,
        age: f64,
        max_age: f64,
    },
    /// A quality below `below`, and inactive.
    LowQuality {
        quality: f64,
        below: f64,
        age: f64,
        max_age: f64,
    },
}

/// The peers `strategy` removes, in the order the rules find them.
pub fn plan<'p>(
    peers: &'p [Peer],
    index_ids: &[String],
    strategy: Strategy,
    th: &Thresholds,
    now: f64,
) -> Vec<Removal<'p>> {
    let mut planned = Removals::default();
    match strategy {
        Strategy::Stale => {
            for p in peers {
                let (rules, mut why) = app_rules(p, th, now);
                if rules.contains(&Rule::Inactive) && p.view.is_blacklisted(now) {
                    why.push(Fact::BlacklistedAnyway {
                        left: to_number(p.view.blacklist_until.as_ref()) - now,
                    });
                }
                // The app names the last rule it checked.
                if let Some(rule) = rules.last().copied() {
                    planned.push(p, rule, rules, why);
                }
            }
            let remaining = planned.remaining(index_ids);
            if remaining > th.max_peers {
                let excess = remaining - th.max_peers;
                let pool = query::query(
                    planned.kept(peers),
                    now,
                    &QueryOptions {
                        sort: SortKey::LastSeen,
                        order: Order::Asc,
                        limit: Some(excess),
                        ..QueryOptions::default()
                    },
                );
                for h in pool {
                    let why = Fact::OverCap {
                        remaining,
                        max: th.max_peers,
                        excess,
                        seen: now - score::last_seen_key(&h.peer.view),
                    };
                    planned.push(h.peer, Rule::Lru, vec![Rule::Lru], vec![why]);
                }
            }
        }
        Strategy::Age => {
            for h in query::query(peers, now, &QueryOptions::default()) {
                if let Some(w) = older_than(h.peer, th.max_age, now) {
                    planned.push(h.peer, Rule::Inactive, vec![Rule::Inactive], vec![w]);
                }
            }
        }
        Strategy::Failures => {
            for h in query::query(peers, now, &QueryOptions::default()) {
                if let Some(w) = failing(h.peer, th.max_failures, now) {
                    planned.push(
                        h.peer,
                        Rule::FailedReconnections,
                        vec![Rule::FailedReconnections],
                        vec![w],
                    );
                }
            }
        }
        Strategy::Lru => {
            let keep = th.keep.unwrap_or(50);
            lru_keep(&mut planned, peers, keep, now);
        }
        Strategy::Quality => {
            let ranked = query::query(
                peers,
                now,
                &QueryOptions {
                    sort: SortKey::Quality,
                    order: Order::Asc,
                    ..QueryOptions::default()
                },
            );
            let n = ranked.len();
            if n > th.target {
                for h in ranked.into_iter().take(n - th.target) {
                    let why = Fact::LowestQuality {
                        quality: h.quality.total,
                        lowest: n - th.target,
                        of: n,
                        kept: th.target,
                    };
                    planned.push(h.peer, Rule::Quality, vec![Rule::Quality], vec![why]);
                }
            }
        }
        Strategy::Hybrid => {
            for h in query::query(peers, now, &QueryOptions::default()) {
                let p = h.peer;
                let (mut rules, mut why) = app_rules(p, th, now);
                let successful =
                    member(p.view.connection_quality.as_ref(), "successfulConnections");
                if successful.is_none_or(|v| !truthy(Some(v)) && to_number(Some(v)) == 0.0) {
                    if let Some(Fact::Inactive { age, max_age }) =
                        inactive(p, th.never_connected_age, now)
                    {
                        rules.push(Rule::NeverConnected);
                        why.push(Fact::NeverConnected {
                            successful: successful.map(ToString::to_string),
                            age,
                            max_age,
                        });
                    }
                }
                if h.quality.total < th.low_quality {
                    if let Some(Fact::Inactive { age, max_age }) =
                        inactive(p, th.low_quality_age, now)
                    {
                        rules.push(Rule::LowQuality);
                        why.push(Fact::LowQuality {
                            quality: h.quality.total,
                            below: th.low_quality,
                            age,
                            max_age,
                        });
                    }
                }
                if let Some(rule) = rules.first().copied() {
                    planned.push(p, rule, rules, why);
                }
            }
            let remaining = planned.remaining(index_ids);
            if remaining > th.max_peers {
                lru_keep(&mut planned, peers, th.keep.unwrap_or(80), now);
            }
        }
    }
    planned.removals
}

#[derive(Default)]
struct Removals<'p> {
    removals: Vec<Removal<'p>>,
    ids: HashSet<&'p str>,
}

impl<'p> Removals<'p> {
    /// Plans a removal once (an id listed twice in the index is one peer).
    fn push(&mut self, peer: &'p Peer, rule: Rule, rules: Vec<Rule>, facts: Vec<Fact>) {
        if self.ids.insert(&peer.id) {
            self.removals.push(Removal {
                peer,
                rule,
                rules,
                facts,
            });
        }
    }

    /// Index entries left after the planned removals (the app counts the index).
    fn remaining(&self, index_ids: &[String]) -> usize {
        index_ids
            .iter()
            .filter(|id| !self.ids.contains(id.as_str()))
            .count()
    }

    fn kept<'a>(&'a self, peers: &'p [Peer]) -> impl Iterator<Item = &'p Peer> + 'a {
        peers.iter().filter(|p| !self.ids.contains(p.id.as_str()))
    }
}

/// The guide's `cleanupLRU(keep)`: the non-blacklisted peers that remain, most recently seen
/// first; everything after the first `keep` goes.
fn lru_keep<'p>(planned: &mut Removals<'p>, peers: &'p [Peer], keep: usize, now: f64) {
    let ranked = query::query(planned.kept(peers), now, &QueryOptions::default());
    let n = ranked.len();
    for h in ranked.into_iter().skip(keep) {
        let why = Fact::NotRecent {
            keep,
            of: n,
            seen: now - score::last_seen_key(&h.peer.view),
        };
        planned.push(h.peer, Rule::Lru, vec![Rule::Lru], vec![why]);
    }
}

/// The two rules of the app's cleanupStalePeers (shared by hybrid): inactive, then failing.
fn app_rules(p: &Peer, th: &Thresholds, now: f64) -> (Vec<Rule>, Vec<Fact>) {
    let mut rules = Vec::new();
    let mut why = Vec::new();
    if let Some(w) = inactive(p, th.max_age, now) {
        rules.push(Rule::Inactive);
        why.push(w);
    }
    if let Some(w) = failing(p, th.max_failures, now) {
        rules.push(Rule::FailedReconnections);
        why.push(w);
    }
    (rules, why)
}

/// The app's inactivity test: days since lastSeen greater than the limit in days.
fn inactive(p: &Peer, max_age: f64, now: f64) -> Option<Fact> {
    let days = days_since_seen(&p.view, now);
    (days > max_age / DAY_MS).then(|| seen_ago(p, max_age, now))
}

/// The guide's age test, in milliseconds: `now - lastSeen > maxAge`.
fn older_than(p: &Peer, max_age: f64, now: f64) -> Option<Fact> {
    let age = now - to_number(p.view.last_seen.as_ref());
    (age > max_age).then(|| seen_ago(p, max_age, now))
}

fn seen_ago(p: &Peer, max_age: f64, now: f64) -> Fact {
    Fact::Inactive {
        age: now - to_number(p.view.last_seen.as_ref()),
        max_age,
    }
}

/// `reconnectionAttempts >= max && (!blacklistUntil || blacklistUntil < now)`.
fn failing(p: &Peer, max_failures: f64, now: f64) -> Option<Fact> {
    let attempts = to_number(p.view.reconnection_attempts.as_ref());
    // JavaScript comparisons with NaN are false.
    if attempts
        .partial_cmp(&max_failures)
        .is_none_or(|o| o.is_lt())
    {
        return None;
    }
    let bl = p.view.blacklist_until.as_ref();
    let ended = if !truthy(bl) {
        None
    } else {
        let until = to_number(bl);
        if until.partial_cmp(&now) != Some(std::cmp::Ordering::Less) {
            return None;
        }
        Some(now - until)
    };
    Some(Fact::Failing {
        attempts,
        max: max_failures,
        ended,
    })
}

/// One test a strategy makes of a peer, as `cleanup --explain` reports it. Ages and durations
/// are in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The plan removes the peer: the rule it names, every rule it meets, and why.
    Removed {
        rule: Rule,
        rules: Vec<Rule>,
        facts: Vec<Fact>,
    },
    /// Blacklisted for another `left`: every strategy but `stale` leaves it out.
    Blacklisted { left: f64 },
    /// Seen `age` ago, not more than `max_age` (`rule`'s limit).
    Recent { rule: Rule, age: f64, max_age: f64 },
    /// Fewer failed reconnection attempts than `max`.
    FewFailures { attempts: f64, max: f64 },
    /// Enough failures, but blacklisted for another `left`.
    StillBlacklisted { attempts: f64, max: f64, left: f64 },
    /// Has connected successfully (`successful` as stored).
    Connected { successful: String },
    /// A quality not below `below`.
    GoodQuality { quality: f64, below: f64 },
    /// The LRU step ran (more than `max` index entries were left) and kept it.
    KeptByLru { max: usize },
    /// The LRU step did not run: at most `max` index entries were left.
    UnderCap { max: usize },
    /// Among the `keep` most recently seen (`lru`).
    Recently { keep: usize },
    /// Not among the lowest-quality peers `quality` removes (`target` are kept of `of`).
    NotLowest {
        quality: f64,
        target: usize,
        of: usize,
    },
}

/// Why `peer` goes or stays under `strategy`, given the plan's `removals`: the removal when
/// it goes, else each test the strategy made and the value that passed it.
pub fn explain(
    peer: &Peer,
    peers: &[Peer],
    removals: &[Removal],
    strategy: Strategy,
    th: &Thresholds,
    now: f64,
) -> Vec<Check> {
    if let Some(r) = removals.iter().find(|r| r.peer.id == peer.id) {
        return vec![Check::Removed {
            rule: r.rule,
            rules: r.rules.clone(),
            facts: r.facts.clone(),
        }];
    }
    let blacklisted = peer.view.is_blacklisted(now);
    let left = to_number(peer.view.blacklist_until.as_ref()) - now;
    if blacklisted && strategy != Strategy::Stale {
        return vec![Check::Blacklisted { left }];
    }
    let age = now - to_number(peer.view.last_seen.as_ref());
    let recent = |rule, max_age| Check::Recent { rule, age, max_age };
    let failures = || {
        let attempts = to_number(peer.view.reconnection_attempts.as_ref());
        if attempts
            .partial_cmp(&th.max_failures)
            .is_none_or(|o| o.is_lt())
        {
            Check::FewFailures {
                attempts,
                max: th.max_failures,
            }
        } else {
            Check::StillBlacklisted {
                attempts,
                max: th.max_failures,
                left,
            }
        }
    };
    let lru_step = || {
        if removals.iter().any(|r| r.rule == Rule::Lru) {
            Check::KeptByLru { max: th.max_peers }
        } else {
            Check::UnderCap { max: th.max_peers }
        }
    };
    match strategy {
        Strategy::Stale => vec![recent(Rule::Inactive, th.max_age), failures(), lru_step()],
        Strategy::Age => vec![recent(Rule::Inactive, th.max_age)],
        Strategy::Failures => vec![failures()],
        Strategy::Lru => vec![Check::Recently {
            keep: th.keep.unwrap_or(50),
        }],
        Strategy::Quality => {
            let of = query::query(peers, now, &QueryOptions::default()).len();
            vec![Check::NotLowest {
                quality: score::quality(&peer.view).total,
                target: th.target,
                of,
            }]
        }
        Strategy::Hybrid => {
            let successful = member(
                peer.view.connection_quality.as_ref(),
                "successfulConnections",
            );
            let never = successful.is_none_or(|v| !truthy(Some(v)) && to_number(Some(v)) == 0.0);
            let quality = score::quality(&peer.view).total;
            vec![
                recent(Rule::Inactive, th.max_age),
                failures(),
                match (never, successful) {
                    (false, Some(v)) => Check::Connected {
                        successful: v.to_string(),
                    },
                    _ => recent(Rule::NeverConnected, th.never_connected_age),
                },
                if quality < th.low_quality {
                    recent(Rule::LowQuality, th.low_quality_age)
                } else {
                    Check::GoodQuality {
                        quality,
                        below: th.low_quality,
                    }
                },
                lru_step(),
            ]
        }
    }
}

/// The cleanup as a plan: the peers `strategy` removes, each with its rules and reason, and
/// the index and metadata as the app leaves them (the app's cleanupStalePeers always stamps
/// lastCleanup; the guide's strategies only remove peers, as removePeer does).
pub fn cleanup(
    ns: &Namespace,
    peers: &[Peer],
    strategy: Strategy,
    th: &Thresholds,
    now: f64,
) -> Plan {
    let removals = plan(peers, ns.index_ids(), strategy, th, now);
    let mut draft = Draft::new(ns);
    for r in &removals {
        draft.remove_peer(&r.peer.id);
    }
    let rule = if strategy == Strategy::Stale {
        MetadataRule::Cleanup { at: now }
    } else {
        MetadataRule::AfterWrite
    };
    let finished = draft.finish(rule, now);
    let actions = removals
        .iter()
        .map(|r| Action {
            peer_id: r.peer.id.clone(),
            display_name: r.peer.view.display_name().map(str::to_owned),
            action: ActionKind::Remove,
            rule: PlanRule::Cleanup(r.rule),
            rules: if r.rules.len() > 1 {
                r.rules.clone()
            } else {
                Vec::new()
            },
            reason: Reason::Cleanup(r.facts.clone()),
        })
        .collect();
    Plan::new(actions, finished)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::js::JsString;
    use crate::peers::PeerView;

    fn peer(i: usize, json: &str) -> Peer {
        Peer {
            id: format!("p{i}"),
            view: PeerView::parse(&JsString::from(json)).unwrap(),
        }
    }

    const NOW: f64 = 1_795_176_000_000.0;

    fn ids(r: &[Removal]) -> Vec<String> {
        r.iter().map(|r| r.peer.id.clone()).collect()
    }

    #[test]
    fn stale_boundaries() {
        let seen = |ms: f64| format!(r#"{{"lastSeen":{},"reconnectionAttempts":0}}"#, NOW - ms);
        let peers = vec![
            peer(0, &seen(30.0 * DAY_MS)),
            peer(1, &seen(30.0 * DAY_MS + 1.0)),
            peer(
                2,
                &format!(r#"{{"lastSeen":{NOW},"reconnectionAttempts":5,"blacklistUntil":{NOW}}}"#),
            ),
            peer(
                3,
                &format!(
                    r#"{{"lastSeen":{NOW},"reconnectionAttempts":5,"blacklistUntil":{}}}"#,
                    NOW - 1.0
                ),
            ),
            peer(
                4,
                &format!(r#"{{"lastSeen":{NOW},"reconnectionAttempts":4}}"#),
            ),
            peer(
                5,
                &format!(r#"{{"lastSeen":{NOW},"reconnectionAttempts":"5"}}"#),
            ),
        ];
        let index: Vec<String> = peers.iter().map(|p| p.id.clone()).collect();
        let r = plan(&peers, &index, Strategy::Stale, &Thresholds::default(), NOW);
        assert_eq!(ids(&r), ["p1", "p3", "p5"]);
        assert_eq!(
            r[0].facts,
            [Fact::Inactive {
                age: 30.0 * DAY_MS + 1.0,
                max_age: 30.0 * DAY_MS
            }]
        );
        assert_eq!(
            r[1].facts,
            [Fact::Failing {
                attempts: 5.0,
                max: 5.0,
                ended: Some(1.0)
            }]
        );
    }

    #[test]
    fn lru_ties_differ_between_the_app_and_the_guide() {
        // Four peers seen at the same instant; one must go.
        let peers: Vec<Peer> = (0..4)
            .map(|i| {
                peer(
                    i,
                    &format!(r#"{{"lastSeen":{NOW},"reconnectionAttempts":0}}"#),
                )
            })
            .collect();
        let index: Vec<String> = peers.iter().map(|p| p.id.clone()).collect();
        let th = Thresholds {
            max_peers: 3,
            keep: Some(3),
            ..Thresholds::default()
        };
        // The app sorts ascending with a negated comparator: the first tied peer goes.
        assert_eq!(
            ids(&plan(&peers, &index, Strategy::Stale, &th, NOW)),
            ["p0"]
        );
        // The guide keeps the first `keep` of a descending sort: the last tied peer goes.
        assert_eq!(ids(&plan(&peers, &index, Strategy::Lru, &th, NOW)), ["p3"]);
    }
}
