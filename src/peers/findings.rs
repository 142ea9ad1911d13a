//! Findings about a namespace: each with a stable code, a severity, the key and a message.

use crate::peers::namespace::NsKey;
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

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Declares the finding codes: variant, stable name, severity, and what it means. The help
/// text of `validate` and its man page are made from this list.
macro_rules! finding_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal, $severity:ident;)*) => {
        /// A finding's stable code (its JSON name never changes).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FindingCode {
            $($(#[doc = $doc])+ $variant,)*
        }

        impl FindingCode {
            pub const ALL: &[FindingCode] = &[$(FindingCode::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(FindingCode::$variant => $name,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(FindingCode::$variant => Severity::$severity,)* }
            }

            /// Whether repair quarantines an entry with this finding (it cannot be fixed
            /// without guessing).
            pub fn unusable(self) -> bool {
                matches!(
                    self,
                    FindingCode::RecordUnreadable
                        | FindingCode::RecordNotObject
                        | FindingCode::PeerIdMissing
                        | FindingCode::PeerIdMismatch
                        | FindingCode::FieldType
                        | FindingCode::FieldMissing
                        | FindingCode::CountNegative
                        | FindingCode::SuccessfulExceedsTotal
                        | FindingCode::SuccessRateRange
                        | FindingCode::AttemptsRange
                        | FindingCode::TimestampFuture
                )
            }

            pub fn meaning(self) -> &'static str {
                match self { $(FindingCode::$variant => concat!($($doc),+).trim_ascii(),)* }
            }
        }
    };
}

finding_codes! {
    /// The index is not a JSON array.
    IndexUnreadable = "index-unreadable", Error;
    /// Peer records exist but there is no index, so the app sees none of them.
    IndexMissing = "index-missing", Error;
    /// An index entry is not a string.
    IndexEntryInvalid = "index-entry-invalid", Error;
    /// A peer is listed more than once in the index.
    IndexDuplicate = "index-duplicate", Error;
    /// The index lists a peer whose record does not exist.
    RecordMissing = "record-missing", Error;
    /// A record is empty or not valid JSON.
    RecordUnreadable = "record-unreadable", Error;
    /// A record is JSON but not an object.
    RecordNotObject = "record-not-object", Error;
    /// A record is not in the index, so the app never sees it.
    RecordNotIndexed = "record-not-indexed", Error;
    /// A record has no peerId.
    PeerIdMissing = "peer-id-missing", Error;
    /// A record's peerId differs from the id in its key.
    PeerIdMismatch = "peer-id-mismatch", Error;
    /// A field the app needs (lastSeen) is absent.
    FieldMissing = "field-missing", Error;
    /// A field holds a value of the wrong type.
    FieldType = "field-type", Error;
    /// A connection count is negative.
    CountNegative = "count-negative", Error;
    /// More successful connections than connections in all.
    SuccessfulExceedsTotal = "successful-exceeds-total", Error;
    /// A success rate outside 0..1.
    SuccessRateRange = "success-rate-range", Error;
    /// reconnectionAttempts is outside 0..100.
    AttemptsRange = "attempts-range", Error;
    /// A timestamp lies in the future (more than 5 minutes of clock skew).
    TimestampFuture = "timestamp-future", Error;
    /// A sharedSecret is stored in the clear (the app encrypts it).
    SecretPlaintext = "secret-plaintext", Error;
    /// An encryptedSecret does not decrypt with the store's key (checked when a key is available).
    SecretUndecryptable = "secret-undecryptable", Error;
    /// The key record is not a key meshpeers or the app can use.
    KeyRecordUnusable = "key-record-unusable", Error;
    /// The metadata is not a JSON object.
    MetadataUnreadable = "metadata-unreadable", Error;
    /// A Chromium profile's write-ahead log holds records that fail their checksum: the browser skips them, and meshpeers refuses to write.
    StorageLogCorrupt = "storage-log-corrupt", Error;
    /// No reconnectionAttempts: the app's reconnection score is NaN (meshpeers counts 0).
    AttemptsMissing = "attempts-missing", Warning;
    /// A display name holds markup or control characters (`<`, `>`, escapes).
    NameUnsanitised = "name-unsanitised", Warning;
    /// A display name is longer than 50 UTF-16 units.
    NameTooLong = "name-too-long", Warning;
    /// lastKnownIP holds a full IP address (privacy; `repair --anonymize-ips`).
    IpAddress = "ip-address", Warning;
    /// Peer records exist but there is no schema version.
    SchemaVersionMissing = "schema-version-missing", Warning;
    /// A schema version this tool does not know.
    SchemaVersionUnknown = "schema-version-unknown", Warning;
    /// There is no metadata (the app creates it on its next write).
    MetadataMissing = "metadata-missing", Warning;
    /// The metadata's totalPeers/estimatedSize differ from the index and records.
    MetadataOutOfStep = "metadata-out-of-step", Warning;
    /// The AES key is stored in the clear next to the secrets it protects.
    KeyInClear = "key-in-clear", Info;
    /// Secrets were not checked: no key is available.
    SecretsNotChecked = "secrets-not-checked", Info;
}

impl serde::Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The finding codes by severity with their meaning, for the help text.
pub fn codes_help() -> String {
    let mut out = String::from("Finding codes:\n");
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        for code in FindingCode::ALL.iter().filter(|c| c.severity() == severity) {
            out.push_str(&format!(
                "  {} ({}): {}\n",
                code.name(),
                severity.name(),
                code.meaning()
            ));
        }
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: FindingCode,
    pub key: String,
    pub message: String,
}

impl Finding {
    /// A finding with its code's severity.
    pub fn new(code: FindingCode, key: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: code.severity(),
            code,
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Findings about the store's own files (damage a read works around).
pub fn storage(damage: &[crate::store::StorageDamage]) -> Vec<Finding> {
    damage
        .iter()
        .map(|d| Finding::new(FindingCode::StorageLogCorrupt, &d.file, d.problem.clone()))
        .collect()
}

/// The schema versions this tool knows.
pub const KNOWN_SCHEMA_VERSIONS: &[&str] = &[super::SCHEMA_VERSION];

/// Findings about the namespace's structure: index and records in step, records readable,
/// schema version known, and peers whose app score would be NaN.
pub fn structural(ns: &Namespace, problems: &[PeerProblem], peers: &[super::Peer]) -> Vec<Finding> {
    let mut out = Vec::new();
    let index_key = ns.key(NsKey::Index).to_string();
    match &ns.index {
        Index::Unreadable(why) => out.push(Finding::new(
            FindingCode::IndexUnreadable,
            &index_key,
            why.clone(),
        )),
        Index::Ids { ids, skipped } => {
            if *skipped > 0 {
                out.push(Finding::new(
                    FindingCode::IndexEntryInvalid,
                    &index_key,
                    format!("{skipped} index entries are not strings"),
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for id in ids {
                if !seen.insert(id) {
                    out.push(Finding::new(
                        FindingCode::IndexDuplicate,
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
                FindingCode::RecordMissing,
                ns.peer_key(id).to_string(),
                format!("the index lists peer {id} but its record does not exist"),
            )),
            PeerProblem::Unreadable { id, why } => out.push(Finding::new(
                FindingCode::RecordUnreadable,
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
                FindingCode::RecordNotIndexed,
                ns.peer_key(&id.to_string()).to_string(),
                format!("the record of peer {id} is not in the index, so the app never sees it"),
            ));
        }
    }
    for p in peers {
        if p.view.reconnection_attempts.is_none() {
            out.push(Finding::new(
                FindingCode::AttemptsMissing,
                ns.peer_key(&p.id).to_string(),
                "no reconnectionAttempts: the app's reconnection score is NaN (meshpeers counts 0)",
            ));
        }
    }
    match ns.schema_version() {
        None if ns.records().next().is_some() => out.push(Finding::new(
            FindingCode::SchemaVersionMissing,
            ns.key(NsKey::SchemaVersion).to_string(),
            "no schema version (the app writes 1.0.0)",
        )),
        Some(v)
            if !KNOWN_SCHEMA_VERSIONS
                .iter()
                .any(|k| JsString::from(*k) == *v) =>
        {
            out.push(Finding::new(
                FindingCode::SchemaVersionUnknown,
                ns.key(NsKey::SchemaVersion).to_string(),
                format!("unknown schema version {}", v.to_json()),
            ))
        }
        _ => {}
    }
    out.sort_by_key(|f| f.severity);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_names_and_the_help_lists_each() {
        let help = codes_help();
        let mut seen = std::collections::HashSet::new();
        for code in FindingCode::ALL {
            assert!(seen.insert(code.name()), "{} twice", code.name());
            assert!(
                code.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                code.name()
            );
            let line = format!("  {} ({}): ", code.name(), code.severity().name());
            assert!(help.contains(&line), "{line} missing from the help");
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.name())
            );
        }
        assert_eq!(help.lines().count(), FindingCode::ALL.len() + 1);
    }
}
