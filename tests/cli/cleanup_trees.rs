//! Cleanup strategies on fixture trees: `fixtures/cleanup/<case>/in.json` → `out.json`, one
//! case per rule and per boundary (exactly 30 days, exactly 5 attempts, a blacklist ending
//! exactly at now, equal lastSeen across the LRU cut, blacklisted peers and the LRU step).
//!
//! Each case is defined here with the peers it holds and, written by hand, the peers that must
//! go and by which rule. The test checks the plan against that list, the real run against the
//! committed `out.json` (byte for byte) and `out.json` against the list (index, records,
//! metadata), on the flat and the Playwright form. `MESHPEERS_BLESS=1 cargo test` regenerates
//! `in.json`, `args` and `out.json`.

use std::fs;

use meshpeers::js::JsString;
use meshpeers::store::{Area, ChangeSet, render_flat, render_playwright};
use serde_json::{Value, json};

use crate::support::{TestEnv, check_or_bless, json as run_json, local_storage_of, repo};

const NOW: f64 = 1_795_176_000_000.0;
const MIN: f64 = 60_000.0;
const HOUR: f64 = 3_600_000.0;
const DAY: f64 = 86_400_000.0;
const ORIGIN: &str = "http://127.0.0.1:3000";

/// One peer of a case.
#[derive(Clone)]
struct P {
    id: &'static str,
    seen_ago: Option<f64>,
    attempts: Value,
    /// blacklistUntil relative to now (None: null).
    blacklist: Option<f64>,
    /// (latency, successRate, connectionType, avgUptime)
    quality: (Value, f64, &'static str, f64),
    successful: Option<u32>,
}

/// A good peer seen `ago` ms before now: quality 100, 3 successful connections, no failures.
fn p(id: &'static str, ago: f64) -> P {
    P {
        id,
        seen_ago: Some(ago),
        attempts: json!(0),
        blacklist: None,
        quality: (json!(40), 1.0, "host", 700.0),
        successful: Some(3),
    }
}

impl P {
    fn attempts(mut self, a: Value) -> P {
        self.attempts = a;
        self
    }
    fn blacklist(mut self, rel: f64) -> P {
        self.blacklist = Some(rel);
        self
    }
    /// Quality 17 (success rate 0.4 → 12, relay → 5).
    fn poor(mut self) -> P {
        self.quality = (Value::Null, 0.4, "relay", 0.0);
        self
    }
    /// Quality exactly 20 (success rate 0.5 → 15, relay → 5).
    fn twenty(mut self) -> P {
        self.quality = (Value::Null, 0.5, "relay", 0.0);
        self
    }
    /// Quality 50 (latency 150 → 25, srflx → 12, success 0.3 → 9, uptime 120 → 4).
    fn fifty(mut self) -> P {
        self.quality = (json!(150), 0.3, "srflx", 120.0);
        self
    }
    fn successful(mut self, n: Option<u32>) -> P {
        self.successful = n;
        self
    }
    fn unseen(mut self) -> P {
        self.seen_ago = None;
        self
    }

    fn record(&self) -> String {
        let mut cq = serde_json::Map::new();
        cq.insert("latency".into(), self.quality.0.clone());
        cq.insert("successRate".into(), js_num(self.quality.1));
        cq.insert("connectionType".into(), json!(self.quality.2));
        cq.insert("totalConnections".into(), json!(4));
        if let Some(n) = self.successful {
            cq.insert("successfulConnections".into(), json!(n));
        }
        cq.insert("avgUptime".into(), js_num(self.quality.3));
        let mut r = serde_json::Map::new();
        r.insert("peerId".into(), json!(self.id));
        r.insert("displayName".into(), json!(format!("Peer {}", self.id)));
        r.insert("firstSeen".into(), json!((NOW - 90.0 * DAY) as i64));
        if let Some(ago) = self.seen_ago {
            r.insert("lastSeen".into(), json!((NOW - ago) as i64));
        }
        r.insert("lastConnected".into(), Value::Null);
        r.insert("connectionQuality".into(), Value::Object(cq));
        if !self.attempts.is_null() || self.id.contains("null") {
            r.insert("reconnectionAttempts".into(), self.attempts.clone());
        }
        r.insert(
            "blacklistUntil".into(),
            self.blacklist
                .map_or(Value::Null, |b| json!((NOW + b) as i64)),
        );
        r.insert("dataVersion".into(), json!("1.0.0"));
        serde_json::to_string(&Value::Object(r)).unwrap()
    }
}

/// A number as JavaScript writes it (`1`, not `1.0`).
fn js_num(x: f64) -> Value {
    if x.fract() == 0.0 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    peers: Vec<P>,
    /// The peers that must go, in plan order, with the rule the plan names.
    removed: Vec<(&'static str, &'static str)>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "age",
            args: &["--strategy", "age"],
            peers: vec![
                p("at-30d", 30.0 * DAY),
                p("over-30d", 30.0 * DAY + 1.0),
                p("at-29d", 29.0 * DAY),
                // The guide's strategies query the app first: a running blacklist protects.
                p("blacklisted-40d", 40.0 * DAY)
                    .attempts(json!(5))
                    .blacklist(HOUR),
                // A blacklist ending exactly now no longer protects.
                p("blacklist-ends-now-40d", 40.0 * DAY).blacklist(0.0),
                p("never-seen", 0.0).unseen(),
            ],
            removed: vec![
                ("over-30d", "inactive"),
                ("blacklist-ends-now-40d", "inactive"),
            ],
        },
        Case {
            name: "age-7d",
            args: &["--strategy", "age", "--max-age", "7d"],
            peers: vec![p("at-7d", 7.0 * DAY), p("over-7d", 7.0 * DAY + 1.0)],
            removed: vec![("over-7d", "inactive")],
        },
        Case {
            name: "failures",
            args: &["--strategy", "failures"],
            peers: vec![
                p("four", MIN).attempts(json!(4)),
                p("five-no-blacklist", 2.0 * MIN).attempts(json!(5)),
                p("five-blacklist-ends-now", 3.0 * MIN)
                    .attempts(json!(5))
                    .blacklist(0.0),
                p("five-blacklist-expired", 4.0 * MIN)
                    .attempts(json!(5))
                    .blacklist(-1.0),
                p("eight-blacklisted", 5.0 * MIN)
                    .attempts(json!(8))
                    .blacklist(HOUR),
                p("attempts-missing", 6.0 * MIN).attempts(Value::Null),
                // JavaScript compares "6" >= 5 as numbers.
                p("six-as-text", 7.0 * MIN).attempts(json!("6")),
            ],
            removed: vec![
                ("five-no-blacklist", "failed-reconnections"),
                ("five-blacklist-expired", "failed-reconnections"),
                ("six-as-text", "failed-reconnections"),
            ],
        },
        Case {
            name: "failures-3",
            args: &["--strategy", "failures", "--max-failures", "3"],
            peers: vec![
                p("two", MIN).attempts(json!(2)),
                p("three", 2.0 * MIN).attempts(json!(3)),
            ],
            removed: vec![("three", "failed-reconnections")],
        },
        Case {
            name: "lru-ties",
            args: &["--strategy", "lru", "--keep", "3"],
            peers: vec![
                p("l1", MIN),
                p("l2-tied", 5.0 * MIN),
                p("l3-tied", 5.0 * MIN),
                p("l4-tied", 5.0 * MIN),
                p("l5", 10.0 * MIN),
                p("blacklisted-oldest", 100.0 * DAY).blacklist(HOUR),
                p("l6", 20.0 * MIN),
            ],
            // Most recent first, ties in index order: l1, l2, l3 stay; the blacklisted peer
            // is not a candidate at all.
            removed: vec![("l4-tied", "lru"), ("l5", "lru"), ("l6", "lru")],
        },
        Case {
            name: "lru-default",
            args: &["--strategy", "lru"],
            peers: {
                let mut v: Vec<P> = (0..51)
                    .map(|i| p(ID51[i], (i as f64 + 1.0) * MIN))
                    .collect();
                v.push(p("blacklisted", 200.0 * MIN).blacklist(HOUR));
                v
            },
            removed: vec![("n50", "lru")],
        },
        Case {
            name: "quality",
            args: &["--strategy", "quality", "--target", "3"],
            peers: vec![
                p("qa-100", MIN),
                p("qb-17", MIN).poor(),
                p("qc-50", MIN).fifty(),
                p("qd-17", MIN).poor(),
                p("qe-100", MIN),
                p("qf-50", MIN).fifty(),
                p("blacklisted-17", MIN).poor().blacklist(HOUR),
            ],
            // Lowest first, ties in index order, the cut falls between qc and qf (both 50).
            removed: vec![
                ("qb-17", "quality"),
                ("qd-17", "quality"),
                ("qc-50", "quality"),
            ],
        },
        Case {
            name: "quality-under-target",
            args: &["--strategy", "quality"],
            peers: vec![p("a", MIN).poor(), p("b", MIN)],
            removed: vec![],
        },
        Case {
            name: "hybrid-rules",
            args: &["--strategy", "hybrid"],
            peers: vec![
                p("at-30d", 30.0 * DAY),
                p("over-30d", 30.0 * DAY + 1.0),
                p("five-failures", HOUR).attempts(json!(5)),
                p("never-connected-at-7d", 7.0 * DAY).successful(Some(0)),
                p("never-connected-over-7d", 7.0 * DAY + 1.0).successful(Some(0)),
                p("successful-missing-8d", 8.0 * DAY).successful(None),
                p("connected-8d", 8.0 * DAY),
                p("poor-at-14d", 14.0 * DAY).poor(),
                p("poor-over-14d", 14.0 * DAY + 1.0).poor(),
                p("twenty-15d", 15.0 * DAY).twenty(),
                p("blacklisted-40d", 40.0 * DAY)
                    .attempts(json!(6))
                    .blacklist(HOUR),
                p("every-rule-31d", 31.0 * DAY).poor().successful(Some(0)),
            ],
            removed: vec![
                ("five-failures", "failed-reconnections"),
                ("never-connected-over-7d", "never-connected"),
                ("successful-missing-8d", "never-connected"),
                ("poor-over-14d", "low-quality"),
                ("over-30d", "inactive"),
                ("every-rule-31d", "inactive"),
            ],
        },
        Case {
            name: "hybrid-lru",
            args: &["--strategy", "hybrid", "--max-peers", "5", "--keep", "3"],
            peers: vec![
                p("h1", MIN),
                p("h2-tied", 5.0 * MIN),
                p("blacklisted", 6.0 * MIN).blacklist(HOUR),
                p("h3-tied", 5.0 * MIN),
                p("h4", 10.0 * MIN),
                p("h5", 20.0 * MIN),
                p("old", 31.0 * DAY),
            ],
            // Rules first (old), then 6 index entries > 5: the 5 non-blacklisted left are cut
            // to the 3 most recent; the blacklisted peer stays.
            removed: vec![("old", "inactive"), ("h4", "lru"), ("h5", "lru")],
        },
        Case {
            name: "stale-lru",
            args: &["--strategy", "stale", "--max-peers", "4"],
            peers: vec![
                p("s1", MIN),
                p("s2-tied", 5.0 * MIN),
                p("s3-tied", 5.0 * MIN),
                p("s4-tied", 5.0 * MIN),
                p("old", 31.0 * DAY),
                p("blacklisted", 60.0 * MIN).blacklist(HOUR),
                p("s5", 10.0 * MIN),
            ],
            // The app's LRU sorts oldest first with a negated comparator: among tied peers
            // the first in the index goes first; blacklisted peers are never candidates.
            removed: vec![("old", "inactive"), ("s5", "lru"), ("s2-tied", "lru")],
        },
        Case {
            name: "stale-boundaries",
            args: &["--strategy", "stale"],
            peers: vec![
                p("at-30d", 30.0 * DAY),
                p("over-30d", 30.0 * DAY + 1.0),
                p("five-blacklist-ends-now", MIN)
                    .attempts(json!(5))
                    .blacklist(0.0),
                p("five-blacklist-expired", MIN)
                    .attempts(json!(5))
                    .blacklist(-1.0),
                // The app removes an old peer even while its blacklist runs.
                p("blacklisted-31d", 31.0 * DAY).blacklist(HOUR),
                p("null-attempts", MIN).attempts(Value::Null),
            ],
            removed: vec![
                ("over-30d", "inactive"),
                ("five-blacklist-expired", "failed-reconnections"),
                ("blacklisted-31d", "inactive"),
            ],
        },
    ]
}

const ID51: [&str; 51] = [
    "n00", "n01", "n02", "n03", "n04", "n05", "n06", "n07", "n08", "n09", "n10", "n11", "n12",
    "n13", "n14", "n15", "n16", "n17", "n18", "n19", "n20", "n21", "n22", "n23", "n24", "n25",
    "n26", "n27", "n28", "n29", "n30", "n31", "n32", "n33", "n34", "n35", "n36", "n37", "n38",
    "n39", "n40", "n41", "n42", "n43", "n44", "n45", "n46", "n47", "n48", "n49", "n50",
];

fn area_of(case: &Case) -> Area {
    let mut area = Area::new();
    area.insert("theme".into(), "dark".into());
    let ids: Vec<&str> = case.peers.iter().map(|p| p.id).collect();
    area.insert(
        "mesh:peers:index".into(),
        serde_json::to_string(&ids).unwrap().into(),
    );
    let mut size = 0;
    for peer in &case.peers {
        let r = peer.record();
        size += 2 * r.encode_utf16().count();
        area.insert(format!("mesh:peer:{}", peer.id).into(), r.into());
    }
    area.insert(
        "mesh:peers:metadata".into(),
        json!({"lastCleanup": (NOW - 2.0 * DAY) as i64, "totalPeers": ids.len(), "estimatedSize": size,
               "statistics": {"totalReconnections": 0, "successfulReconnections": 0, "failedReconnections": 0}})
            .to_string()
            .into(),
    );
    area.insert("mesh:schema:version".into(), "1.0.0".into());
    area
}

fn playwright_of(area: &Area) -> String {
    let mut cs = ChangeSet::default();
    for (k, v) in area {
        cs.put(k.clone(), v.clone());
    }
    render_playwright(ORIGIN, &cs)
}

#[test]
fn every_strategy_and_boundary_gives_the_expected_tree() {
    let now = NOW.to_string();
    for case in cases() {
        let dir = format!("fixtures/cleanup/{}", case.name);
        let area = area_of(&case);
        let input = render_flat(&area);
        check_or_bless(&format!("{dir}/in.json"), &input);
        check_or_bless(
            &format!("{dir}/args"),
            &format!("{}\n", case.args.join(" ")),
        );

        for (form, text) in [
            ("flat", input.clone()),
            ("playwright", playwright_of(&area)),
        ] {
            let ctx = format!("{} ({form})", case.name);
            let env = TestEnv::new();
            let store = env.write("store.json", &text);
            let s = store.display().to_string();
            let mut args = vec!["cleanup", "--store", &s, "--now", &now];
            args.extend(case.args);

            // The plan: exactly the expected peers, in order, with their rules; no byte moves.
            let before = env.snapshot();
            let plan = run_json(args.iter().chain(&["--dry-run"]));
            assert_eq!(env.snapshot(), before, "{ctx}: dry run wrote");
            let got: Vec<(String, String)> = plan["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["peerId"].as_str().unwrap().to_owned(),
                        a["rule"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let want: Vec<(String, String)> = case
                .removed
                .iter()
                .map(|(i, r)| ((*i).to_owned(), (*r).to_owned()))
                .collect();
            assert_eq!(got, want, "{ctx}: plan");

            // The real run.
            let done = run_json(&args);
            let after = fs::read_to_string(&store).unwrap();
            if form == "flat" {
                check_or_bless(&format!("{dir}/out.json"), &after);
            }
            let out =
                local_storage_of(&fs::read_to_string(repo().join(&dir).join("out.json")).unwrap());
            assert_eq!(local_storage_of(&after), out, "{ctx}: the expected tree");

            // out.json is what the hand-written list says: index and records without the
            // removed peers, every other key byte-identical, metadata recomputed.
            let gone: Vec<&str> = case.removed.iter().map(|(i, _)| *i).collect();
            let kept: Vec<&str> = case
                .peers
                .iter()
                .map(|p| p.id)
                .filter(|i| !gone.contains(i))
                .collect();
            let index: Vec<String> = serde_json::from_str(&out["mesh:peers:index"]).unwrap();
            assert_eq!(index, kept, "{ctx}: index");
            let input_map = local_storage_of(&input);
            for (k, v) in &input_map {
                let removed_record = gone.iter().any(|g| *k == format!("mesh:peer:{g}"));
                match k.as_str() {
                    _ if removed_record => assert!(!out.contains_key(k), "{ctx}: {k} left"),
                    "mesh:peers:index" | "mesh:peers:metadata" if !gone.is_empty() => {}
                    "mesh:peers:metadata" if case.name.starts_with("stale") => {}
                    _ => assert_eq!(out.get(k), Some(v), "{ctx}: {k} changed"),
                }
            }
            let meta: Value = serde_json::from_str(&out["mesh:peers:metadata"]).unwrap();
            assert_eq!(meta["totalPeers"], kept.len(), "{ctx}");
            let size: usize = kept
                .iter()
                .map(|i| 2 * out[&format!("mesh:peer:{i}")].encode_utf16().count())
                .sum();
            assert_eq!(meta["estimatedSize"], size, "{ctx}");
            let last_cleanup = if case.name.starts_with("stale") {
                NOW
            } else {
                NOW - 2.0 * DAY
            };
            assert_eq!(meta["lastCleanup"].as_f64(), Some(last_cleanup), "{ctx}");
            assert_eq!(meta["statistics"]["totalReconnections"], 0, "{ctx}: kept");

            // Its backup gives the original namespace back.
            if let Some(b) = done["backup"].as_str() {
                run_json(["import", b, "--mode", "replace", "--yes", "--store", &s]);
                let restored = local_storage_of(&fs::read_to_string(&store).unwrap());
                assert_eq!(restored, input_map, "{ctx}: restored");
            } else {
                assert!(gone.is_empty() && !case.name.starts_with("stale"), "{ctx}");
                assert_eq!(after, text, "{ctx}: nothing to do, nothing written");
            }
        }
    }
}

#[test]
fn out_trees_are_parsed_back_as_javascript_would() {
    // Lone surrogates and non-ASCII in untouched records survive a cleanup byte for byte.
    let mut area = area_of(&cases().remove(1));
    let odd = JsString::from_utf16(&[0x7B, 0x22, 0x78, 0x22, 0x3A, 0x22, 0xD800, 0xE9, 0x22, 0x7D]);
    area.insert("mesh:odd".into(), odd.clone());
    let env = TestEnv::new();
    let store = env.write("s.json", render_flat(&area));
    let s = store.display().to_string();
    run_json([
        "cleanup",
        "--strategy",
        "age",
        "--max-age",
        "7d",
        "--store",
        &s,
        "--now",
        &NOW.to_string(),
    ]);
    let text = fs::read_to_string(&store).unwrap();
    assert!(
        text.contains(r#""mesh:odd": "{\"x\":\"\ud800é\"}""#),
        "{text}"
    );
}
