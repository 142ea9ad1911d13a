//! A peer record as the domain reads it: the fields the app's logic looks at, parsed leniently.
//!
//! Every other member (`lastOffer`, `reconnectionCredentials`, …) is skipped here and kept
//! untouched in the raw record string, which is what gets written back.

use serde::Deserialize;
use serde_json::Value;

use crate::js::value::{Field, member, present, to_number, truthy};
use crate::js::{JsString, json};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    #[serde(default, deserialize_with = "present")]
    pub peer_id: Field,
    #[serde(default, deserialize_with = "present")]
    pub user_id: Field,
    #[serde(default, deserialize_with = "present")]
    pub display_name: Field,
    #[serde(default, deserialize_with = "present")]
    pub first_seen: Field,
    #[serde(default, deserialize_with = "present")]
    pub last_seen: Field,
    #[serde(default, deserialize_with = "present")]
    pub last_connected: Field,
    #[serde(default, deserialize_with = "present")]
    pub encrypted_secret: Field,
    #[serde(default, deserialize_with = "present")]
    pub shared_secret: Field,
    #[serde(default, deserialize_with = "present", rename = "lastKnownIP")]
    pub last_known_ip: Field,
    #[serde(default, deserialize_with = "present")]
    pub connection_quality: Field,
    #[serde(default, deserialize_with = "present")]
    pub reconnection_attempts: Field,
    #[serde(default, deserialize_with = "present")]
    pub blacklist_until: Field,
}

/// Why a record cannot be used (the app's `getPeer` would return null for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    Empty,
    NotJson(String),
    NotObject(&'static str),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Unreadable::Empty => f.write_str("the record is empty"),
            Unreadable::NotJson(e) => write!(f, "the record is not valid JSON: {e}"),
            Unreadable::NotObject(kind) => write!(f, "the record is {kind}, not a JSON object"),
        }
    }
}

impl PeerView {
    /// Parses a record string as `JSON.parse` does. Lone surrogates are read as U+FFFD here;
    /// the raw string itself is never rewritten from this view.
    pub fn parse(raw: &JsString) -> Result<PeerView, Unreadable> {
        if raw.is_empty() {
            return Err(Unreadable::Empty);
        }
        let text = json::text(raw);
        let first = text.trim_start().as_bytes().first().copied();
        if first != Some(b'{') {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(&text) {
                Err(e) => Unreadable::NotJson(e.to_string()),
                Ok(_) => Unreadable::NotObject(match first {
                    Some(b'[') => "an array",
                    Some(b'"') => "a string",
                    Some(b'n') => "null",
                    Some(b't' | b'f') => "a boolean",
                    _ => "a number",
                }),
            });
        }
        json::parse_text::<PeerView>(&text).map_err(|e| Unreadable::NotJson(e.to_string()))
    }

    pub fn quality_field(&self, name: &str) -> Option<&Value> {
        member(self.connection_quality.as_ref(), name)
    }

    pub fn connection_type(&self) -> Option<&str> {
        self.quality_field("connectionType").and_then(Value::as_str)
    }

    /// Whether the record carries a secret (an encrypted one, or a plaintext one at rest).
    pub fn has_secret(&self) -> bool {
        truthy(self.encrypted_secret.as_ref()) || truthy(self.shared_secret.as_ref())
    }

    /// `blacklistUntil > now`, as the app's query filter tests it.
    pub fn is_blacklisted(&self, now: f64) -> bool {
        truthy(self.blacklist_until.as_ref()) && to_number(self.blacklist_until.as_ref()) > now
    }

    /// The display name as text (absent or non-string names give `None`).
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_ref().and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_null_differ() {
        let v = PeerView::parse(&JsString::from(
            r#"{"lastConnected":null,"extra":{"x":[1]}}"#,
        ))
        .unwrap();
        assert_eq!(v.last_connected, Some(Value::Null));
        assert_eq!(v.last_seen, None);
    }

    #[test]
    fn lone_surrogate_escapes_are_readable() {
        let raw = JsString::from(r#"{"displayName":"a\ud800b\\ud800","peerId":"\ud83d\ude00"}"#);
        let v = PeerView::parse(&raw).unwrap();
        assert_eq!(v.display_name(), Some("a\u{FFFD}b\\ud800"));
        assert_eq!(v.peer_id.as_ref().and_then(Value::as_str), Some("😀"));
    }

    #[test]
    fn unreadable_records_say_why() {
        assert_eq!(
            PeerView::parse(&JsString::from("")).unwrap_err(),
            Unreadable::Empty
        );
        assert_eq!(
            PeerView::parse(&JsString::from("[1]")).unwrap_err(),
            Unreadable::NotObject("an array")
        );
        assert!(matches!(
            PeerView::parse(&JsString::from("{\"a\":")).unwrap_err(),
            Unreadable::NotJson(_)
        ));
    }
}
