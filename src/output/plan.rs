//! The report of a writing command: the JSON contract (`Report`) and the human summary.

use anyhow::Result;
use serde::Serialize;

use super::Fit::{Cut, Whole};
use super::color::Tone;
use crate::js::number;
use crate::peers::cleanup::{Check, Fact, Rule};
use crate::peers::plan::{Action, ActionKind, PlanRule, Reason};
use crate::settings::Settings;
use crate::store::Store;
use crate::time::{duration, duration_over, duration_short};
use crate::words;

#[derive(Debug, Default, Serialize)]
pub struct KeyChanges {
    pub written: Vec<String>,
    pub deleted: Vec<String>,
}

/// One line of a plan as `--json` gives it: `{peerId, displayName, action, rule, rules,
/// reason}`, the reason in words.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    pub peer_id: String,
    pub display_name: Option<String>,
    pub action: ActionKind,
    pub rule: PlanRule,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    pub reason: String,
}

impl From<Action> for ActionView {
    fn from(a: Action) -> ActionView {
        ActionView {
            reason: reason(&a.reason),
            peer_id: a.peer_id,
            display_name: a.display_name,
            action: a.action,
            rule: a.rule,
            rules: a.rules,
        }
    }
}

/// A plan line's reason in words.
pub fn reason(r: &Reason) -> String {
    match r {
        Reason::Text(t) => t.clone(),
        Reason::Cleanup(facts) => facts.iter().map(fact).collect::<Vec<_>>().join("; "),
    }
}

/// One test of `cleanup --explain` in words: the rule and its outcome for the peer.
pub fn check(c: &Check) -> String {
    let n = |x: f64| number::to_string(x);
    match c {
        Check::Removed { rule, rules, facts } => {
            let also: Vec<&str> = rules
                .iter()
                .filter(|r| *r != rule)
                .map(|r| r.as_str())
                .collect();
            format!(
                "removed by {}{}: {}",
                rule.as_str(),
                if also.is_empty() {
                    String::new()
                } else {
                    format!(" (also meets {})", also.join(", "))
                },
                facts.iter().map(fact).collect::<Vec<_>>().join("; ")
            )
        }
        Check::Blacklisted { left } => format!(
            "kept: blacklisted for another {}, and this strategy leaves blacklisted peers out",
            duration_short(*left)
        ),
        Check::Recent { rule, age, max_age } => format!(
            "{}: no, last seen {} ago (not more than {})",
            rule.as_str(),
            duration_short(*age),
            duration(*max_age)
        ),
        Check::FewFailures { attempts, max } => format!(
            "failed-reconnections: no, {} failed attempts (fewer than {})",
            n(*attempts),
            n(*max)
        ),
        Check::StillBlacklisted {
            attempts,
            max,
            left,
        } => format!(
            "failed-reconnections: no, {} failed attempts (at least {}) but blacklisted for another {}",
            n(*attempts),
            n(*max),
            duration_short(*left)
        ),
        Check::Connected { successful } => {
            format!("never-connected: no, successfulConnections {successful}")
        }
        Check::GoodQuality { quality, below } => {
            format!(
                "low-quality: no, quality {} (not below {})",
                n(*quality),
                n(*below)
            )
        }
        Check::KeptByLru { max } => format!(
            "lru: no, more than {max} index entries were left and it is not among the least recently seen that go"
        ),
        Check::UnderCap { max } => {
            format!("lru: no, at most {max} index entries are left, so the LRU step removes none")
        }
        Check::Recently { keep } => format!("lru: no, among the {keep} most recently seen"),
        Check::NotLowest {
            quality,
            target,
            of,
        } => {
            if of <= target {
                format!("quality: no, {of} peers, not more than the {target} kept")
            } else {
                format!(
                    "quality: no, quality {} is not among the {} lowest of {of}",
                    n(*quality),
                    of - target
                )
            }
        }
    }
}

/// A cleanup fact in words: "last seen 39d 2h ago (more than 30d)".
pub fn fact(f: &Fact) -> String {
    let seen = |age: f64, max_age: f64| {
        format!(
            "last seen {} ago (more than {})",
            duration_over(age, max_age),
            duration(max_age)
        )
    };
    match f {
        Fact::Inactive { age, max_age } => seen(*age, *max_age),
        Fact::Failing {
            attempts,
            max,
            ended,
        } => format!(
            "{} failed reconnection attempts (at least {}), {}",
            number::to_string(*attempts),
            number::to_string(*max),
            match ended {
                None => "no blacklist".to_owned(),
                Some(ago) => format!("blacklist expired {} ago", duration_short(*ago)),
            }
        ),
        Fact::BlacklistedAnyway { left } => format!(
            "blacklisted for another {}, removed anyway as the app does",
            duration_short(*left)
        ),
        Fact::OverCap {
            remaining,
            max,
            excess,
            seen,
        } => format!(
            "{remaining} peers left, more than {max}: the {excess} least recently seen go (last seen {} ago)",
            duration_short(*seen)
        ),
        Fact::NotRecent { keep, of, seen } => format!(
            "not among the {keep} most recently seen of {of} peers (last seen {} ago)",
            duration_short(*seen)
        ),
        Fact::LowestQuality {
            quality,
            lowest,
            of,
            kept,
        } => format!(
            "quality {} is among the {lowest} lowest of {of} peers; {kept} are kept",
            number::to_string(*quality)
        ),
        Fact::NeverConnected {
            successful,
            age,
            max_age,
        } => format!(
            "never connected successfully (successfulConnections {}) and {}",
            successful.as_deref().unwrap_or("missing"),
            seen(*age, *max_age)
        ),
        Fact::LowQuality {
            quality,
            below,
            age,
            max_age,
        } => format!(
            "quality {} (below {}) and {}",
            number::to_string(*quality),
            number::to_string(*below),
            seen(*age, *max_age)
        ),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub dry_run: bool,
    pub actions: Vec<ActionView>,
    /// The backup written before the change (null on a dry run, with --no-backup, or when
    /// nothing changed).
    pub backup: Option<String>,
    /// A LevelDB profile's previous directory, kept beside the new one (null otherwise).
    pub previous_directory: Option<String>,
    pub keys: KeyChanges,
    pub warnings: Vec<String>,
    /// `repair`'s quarantine file (unusable entries, importable), when one was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<String>,
}

/// The human report of a writing command: its actions, what was (or would be) written and
/// deleted, the backup and how to undo the change.
pub fn print_report(settings: &Settings, store: &Store, r: &Report, done: &str) -> Result<()> {
    if !r.actions.is_empty() {
        let mut t = super::table(["PEER", "NAME", "ACTION", "RULE", "WHY"]);
        let ns = crate::peers::Namespace::new(&store.area, &settings.prefix);
        let ids = super::Ids::of(&ns, r.actions.iter().map(|a| a.peer_id.as_str()));
        for a in &r.actions {
            let tone = match a.action {
                ActionKind::Remove | ActionKind::Quarantine => Some(Tone::Bad),
                ActionKind::Replace | ActionKind::Fix | ActionKind::ReEncrypt => Some(Tone::Warn),
                ActionKind::Add | ActionKind::Unblacklist | ActionKind::CreateKey => {
                    Some(Tone::Good)
                }
                ActionKind::Keep | ActionKind::Skip => None,
            };
            t.add_row([
                ids.show(&a.peer_id).into(),
                a.display_name
                    .as_deref()
                    .map_or("-".into(), super::cell)
                    .into(),
                super::tinted(a.action.name().to_owned(), tone),
                a.rule.name().into_owned().into(),
                super::cell(&a.reason).into(),
            ]);
        }
        super::print_table(t, &[Whole, Cut, Whole, Whole, Cut])?;
    }
    if r.dry_run && !r.actions.is_empty() {
        // One line per rule, in the order the rules first appear: `inactive 4 · failed 2`.
        let mut rules: Vec<(String, usize)> = Vec::new();
        for a in &r.actions {
            let name = a.rule.name().into_owned();
            match rules.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => *c += 1,
                None => rules.push((name, 1)),
            }
        }
        let summary: Vec<String> = rules.iter().map(|(n, c)| format!("{n} {c}")).collect();
        super::print(format!("by rule: {}", summary.join(" · ")))?;
    }
    let n = r.actions.len();
    let peers = words::count(n, "peer");
    // Peer records are counted, other keys named.
    let record_prefix = format!("{}peer:", settings.prefix);
    let keys = |ks: &[String]| {
        let records = ks.iter().filter(|k| k.starts_with(&record_prefix)).count();
        let mut named: Vec<String> = ks
            .iter()
            .filter(|k| !k.starts_with(&record_prefix))
            .map(|k| super::cell(k))
            .collect();
        if records > 0 {
            named.insert(0, words::count(records, "peer record"));
        }
        named.join(", ")
    };
    let mut lines = Vec::new();
    let (written, deleted) = (&r.keys.written, &r.keys.deleted);
    if written.is_empty() && deleted.is_empty() {
        lines.push(format!("nothing to change in {}", store.location));
    } else if r.dry_run {
        lines.push(format!(
            "dry run: nothing was written. Would have {done} {peers}."
        ));
        if !written.is_empty() {
            lines.push(format!("would write: {}", keys(written)));
        }
        if !deleted.is_empty() {
            lines.push(format!("would delete: {}", keys(deleted)));
        }
    } else {
        lines.push(format!("{done} {peers} in {}", store.location));
        if !written.is_empty() {
            lines.push(format!("wrote: {}", keys(written)));
        }
        if !deleted.is_empty() {
            lines.push(format!("deleted: {}", keys(deleted)));
        }
        match &r.backup {
            Some(b) => {
                let origin = match &settings.origin {
                    Some(o) => format!(" --origin {}", shell_word(o)),
                    None => String::new(),
                };
                let me = format!("meshpeers --store {}{origin}", shell_word(&store.location));
                let b = shell_word(b);
                lines.push(format!("backup of the namespace before the change: {b}"));
                if r.actions.iter().any(|a| a.action == ActionKind::Remove) {
                    lines.push(format!("bring the removed peers back: {me} import {b}"));
                }
                lines.push(format!(
                    "restore the namespace exactly as it was: {me} import --mode replace {b}"
                ));
            }
            None => lines.push("no backup was written (--no-backup)".into()),
        }
        if let Some(q) = &r.quarantine {
            lines.push(format!(
                "unusable entries were moved to {} (a meshpeers backup: nothing is lost)",
                shell_word(q)
            ));
        }
        if let Some(p) = &r.previous_directory {
            lines.push(format!(
                "the previous database directory is kept at {} (delete it once the browser shows the change)",
                shell_word(p)
            ));
        }
    }
    super::print(lines.join("\n"))?;
    Ok(())
}

/// A word for a shell command line: quoted when it holds anything but plain path characters.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_in_words() {
        const DAY: f64 = 86_400_000.0;
        assert_eq!(
            fact(&Fact::Inactive {
                age: 30.0 * DAY + 1.0,
                max_age: 30.0 * DAY
            }),
            "last seen 30d 1ms ago (more than 30d)"
        );
        assert_eq!(
            fact(&Fact::Failing {
                attempts: 5.0,
                max: 5.0,
                ended: Some(1.0)
            }),
            "5 failed reconnection attempts (at least 5), blacklist expired 1ms ago"
        );
        assert_eq!(
            reason(&Reason::Cleanup(vec![
                Fact::NeverConnected {
                    successful: None,
                    age: 8.0 * DAY,
                    max_age: 7.0 * DAY
                },
                Fact::LowQuality {
                    quality: 12.5,
                    below: 20.0,
                    age: 8.0 * DAY,
                    max_age: 7.0 * DAY
                }
            ])),
            "never connected successfully (successfulConnections missing) and last seen 8d ago (more than 7d); quality 12.5 (below 20) and last seen 8d ago (more than 7d)"
        );
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(super::shell_word("a/b.json"), "a/b.json");
        assert_eq!(super::shell_word("my store.json"), "'my store.json'");
        assert_eq!(super::shell_word("it's"), r"'it'\''s'");
    }
}
