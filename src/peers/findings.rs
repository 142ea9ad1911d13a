//! Findings about a namespace: each with a stable code, a severity, the key and a message.

use serde::Serialize;

use super::namespace::{Index, Namespace, PeerProblem};
use crate::js::JsString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: &'static str,
    pub key: String,
    pub message: String,
}

impl Finding {
    pub fn new(
        severity: Severity,
        code: &'static str,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity,
            code,
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The schema versions this tool knows.
pub const KNOWN_SCHEMA_VERSIONS: &[&str] = &[super::SCHEMA_VERSION];

/// Findings about the namespace's structure: index and records in step, records readable,
/// schema version known, and peers whose app score would be NaN.
pub fn structural(ns: &Namespace, problems: &[PeerProblem], peers: &[super::Peer]) -> Vec<Finding> {
    use Severity::*;
    let mut out = Vec::new();
    let index_key = ns.key("peers:index").to_string();
    match &ns.index {
        Index::Unreadable(why) => out.push(Finding::new(
            Error,
            "index-unreadable",
            &index_key,
            why.clone(),
        )),
        Index::Ids { ids, skipped } => {
            if *skipped > 0 {
                out.push(Finding::new(
                    Error,
                    "index-entry-invalid",
                    &index_key,
                    format!("{skipped} index entries are not strings"),
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for id in ids {
                if !seen.insert(id) {
                    out.push(Finding::new(
                        Error,
                        "index-duplicate",
                        &index_key,
                        format!("peer {id} is listed more than once"),
                    ));
                }
            }
        }
        Index::Absent => {}
    }
    for p in problems {
        match p {
            PeerProblem::Missing { id } => out.push(Finding::new(
                Error,
                "record-missing",
                ns.peer_key(id).to_string(),
                format!("the index lists peer {id} but its record does not exist"),
            )),
            PeerProblem::Unreadable { id, why } => out.push(Finding::new(
                Error,
                "record-unreadable",
                ns.peer_key(id).to_string(),
                why.to_string(),
            )),
        }
    }
    let indexed: std::collections::HashSet<&str> =
        ns.index_ids().iter().map(String::as_str).collect();
    for (id, _) in ns.records() {
        let listed = id.as_str().is_some_and(|id| indexed.contains(id));
        if !listed {
            out.push(Finding::new(
                Error,
                "record-not-indexed",
                ns.peer_key(&id.to_string()).to_string(),
                format!("the record of peer {id} is not in the index, so the app never sees it"),
            ));
        }
    }
    for p in peers {
        if p.view.reconnection_attempts.is_none() {
            out.push(Finding::new(
                Warning,
                "attempts-missing",
                ns.peer_key(&p.id).to_string(),
                "no reconnectionAttempts: the app's reconnection score is NaN (meshpeers counts 0)",
            ));
        }
    }
    match ns.schema_version() {
        None if ns.records().next().is_some() => out.push(Finding::new(
            Warning,
            "schema-version-missing",
            ns.key("schema:version").to_string(),
            "no schema version (the app writes 1.0.0)",
        )),
        Some(v)
            if !KNOWN_SCHEMA_VERSIONS
                .iter()
                .any(|k| JsString::from(*k) == *v) =>
        {
            out.push(Finding::new(
                Warning,
                "schema-version-unknown",
                ns.key("schema:version").to_string(),
                format!("unknown schema version {}", v.to_json()),
            ))
        }
        _ => {}
    }
    out.sort_by_key(|f| f.severity);
    out
}
