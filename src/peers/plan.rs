//! The vocabulary of a writing command's plan: what happens to each peer (`ActionKind`) and
//! the rule that chose it (`PlanRule`), with their stable JSON names.

use std::borrow::Cow;

use serde::{Serialize, Serializer};

use super::PeerView;
use super::cleanup::{Fact, Rule};
use super::edit::DraftWarning;
use super::findings::FindingCode;
use crate::js::JsString;
use crate::store::ChangeSet;

/// What happens to a peer (or to a namespace key, for repair).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Remove,
    Unblacklist,
    Add,
    Replace,
    Keep,
    ReEncrypt,
    Skip,
    Quarantine,
    Fix,
    CreateKey,
}

impl ActionKind {
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Remove => "remove",
            ActionKind::Unblacklist => "unblacklist",
            ActionKind::Add => "add",
            ActionKind::Replace => "replace",
            ActionKind::Keep => "keep",
            ActionKind::ReEncrypt => "re-encrypt",
            ActionKind::Skip => "skip",
            ActionKind::Quarantine => "quarantine",
            ActionKind::Fix => "fix",
            ActionKind::CreateKey => "create-key",
        }
    }
}

/// The rule behind an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRule {
    /// The user named the peer (`remove ID`, `unblacklist ID`).
    Requested,
    /// The app's logout (`clear`).
    Clear,
    /// The blacklist has ended (`unblacklist --expired`).
    ExpiredBlacklist,
    /// A cleanup rule.
    Cleanup(Rule),
    /// An import decision (`import-add`, `import-replace`, `import-keep`, `import-remove`).
    Import(ActionKind),
    /// Key rotation (`re-encrypt`).
    Rotate,
    /// The secret does not decrypt (`re-encrypt --skip-undecryptable`).
    Undecryptable,
    /// Repair: a record no fix can make usable.
    Unusable,
    /// Repair: a record fixed in place.
    Repair,
    /// Repair: the index rebuilt.
    Index,
    /// Repair: what the finding with this code asks for.
    Finding(FindingCode),
}

impl PlanRule {
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            PlanRule::Requested => "requested",
            PlanRule::Clear => "clear",
            PlanRule::ExpiredBlacklist => "expired-blacklist",
            PlanRule::Cleanup(rule) => rule.as_str(),
            PlanRule::Import(kind) => return Cow::Owned(format!("import-{}", kind.name())),
            PlanRule::Rotate => "rotate",
            PlanRule::Undecryptable => "undecryptable",
            PlanRule::Unusable => "unusable",
            PlanRule::Repair => "repair",
            PlanRule::Index => "index",
            PlanRule::Finding(code) => code.name(),
        })
    }
}

impl Serialize for ActionKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Serialize for PlanRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One line of a plan.
#[derive(Debug, Clone)]
pub struct Action {
    pub peer_id: String,
    pub display_name: Option<String>,
    /// What happens to the peer.
    pub action: ActionKind,
    /// The rule that chose it.
    pub rule: PlanRule,
    /// Every rule the peer meets (cleanup), when more than the one named.
    pub rules: Vec<Rule>,
    /// The facts behind it.
    pub reason: Reason,
}

/// Why an action was planned: the facts of a cleanup rule (which `output` puts into words),
/// or a sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    Cleanup(Vec<Fact>),
    Text(String),
}

impl From<String> for Reason {
    fn from(s: String) -> Reason {
        Reason::Text(s)
    }
}

impl From<&str> for Reason {
    fn from(s: &str) -> Reason {
        Reason::Text(s.to_owned())
    }
}

/// What a writing command will do: its actions for people, the changes for the store, and
/// what could not be done the app's way. Made by the domain, applied by `commands::write`.
#[derive(Debug, Default)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub changes: ChangeSet,
    pub warnings: Vec<String>,
    /// Entries to keep in a quarantine file before they leave the store (`repair`).
    pub quarantine: Vec<(JsString, JsString)>,
}

impl Plan {
    /// A plan from a finished draft (its changes and the warnings it raised).
    pub fn new(actions: Vec<Action>, (changes, warnings): (ChangeSet, Vec<DraftWarning>)) -> Plan {
        Plan {
            actions,
            changes,
            warnings: warnings.into_iter().map(|w| w.0).collect(),
            quarantine: Vec::new(),
        }
    }
}

/// The display name of a raw record, for a plan line (none when unreadable or absent).
pub fn display_name(raw: &JsString) -> Option<String> {
    PeerView::parse(raw)
        .ok()
        .and_then(|v| v.display_name().map(str::to_owned))
}
