//! The meshpeers backup: every key of a namespace as its raw string, with where and when it was
//! taken and a checksum, in a versioned JSON file that `import` restores.
//!
//! ```json
//! {
//!   "format": "meshpeers-backup",
//!   "version": 1,
//!   "createdAt": "2026-11-21T10:15:30.000Z",
//!   "origin": "http://127.0.0.1:3000",
//!   "prefix": "mesh:",
//!   "source": "profile.json",
//!   "command": "cleanup --strategy stale",
//!   "keys": 2,
//!   "checksum": "sha256:…",
//!   "entries": [
//!     ["mesh:peers:index", "[\"a\"]"],
//!     ["mesh:peer:a", "{\"peerId\":\"a\"}"]
//!   ]
//! }
//! ```
//!
//! `entries` keep the store's key order; values are the exact strings (lone surrogates as
//! `\udxxx` escapes). The checksum is SHA-256 over, for each entry, the key and the value as
//! compact JSON string literals joined by `,` and ended by a newline — so it covers content,
//! not layout.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::MeshError;
use crate::js::JsString;
use crate::store::Area;

pub const FORMAT: &str = "meshpeers-backup";
pub const VERSION: u64 = 1;

#[derive(Debug, Clone)]
pub struct Backup {
    pub created_at: String,
    pub origin: Option<String>,
    pub prefix: String,
    pub source: String,
    pub command: String,
    /// Secrets, the key record and addresses were left out (`export --redact`).
    pub redacted: bool,
    pub entries: Vec<(JsString, JsString)>,
}

impl Backup {
    /// Every key of `area` under `prefix`, in store order.
    pub fn of_namespace(
        area: &Area,
        prefix: &str,
        origin: Option<&str>,
        source: &str,
        command: &str,
    ) -> Backup {
        Backup {
            created_at: crate::time::iso(crate::time::now_ms()),
            origin: origin.map(str::to_owned),
            prefix: prefix.to_owned(),
            source: source.to_owned(),
            command: command.to_owned(),
            redacted: false,
            entries: area
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    pub fn checksum(entries: &[(JsString, JsString)]) -> String {
        Self::checksum_of(entries.iter().map(|(k, v)| (k, v)))
    }

    fn checksum_of<'e>(entries: impl Iterator<Item = (&'e JsString, &'e JsString)>) -> String {
        let mut h = Sha256::new();
        let mut line = String::new();
        for (k, v) in entries {
            line.clear();
            k.write_json(&mut line, false);
            line.push(',');
            v.write_json(&mut line, false);
            line.push('\n');
            h.update(line.as_bytes());
        }
        format!("sha256:{:x}", h.finalize())
    }

    pub fn render(&self) -> String {
        let mut out = Vec::new();
        self.header()
            .write_to(self.entries.iter().map(|(k, v)| (k, v)), &mut out)
            .expect("writing to memory");
        String::from_utf8(out).expect("rendered from strings")
    }

    fn header(&self) -> Header<'_> {
        Header {
            created_at: &self.created_at,
            origin: self.origin.as_deref(),
            prefix: &self.prefix,
            source: &self.source,
            command: &self.command,
            redacted: self.redacted,
        }
    }

    /// Writes a backup of the namespace of `area` to `out` straight from the map (a big store
    /// is not copied first).
    pub fn write_namespace(
        area: &Area,
        prefix: &str,
        origin: Option<&str>,
        source: &str,
        command: &str,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let created_at = crate::time::iso(crate::time::now_ms());
        let header = Header {
            created_at: &created_at,
            origin,
            prefix,
            source,
            command,
            redacted: false,
        };
        header.write_to(area.iter().filter(|(k, _)| k.starts_with(prefix)), out)
    }

    /// Reads a backup, refusing an unknown format version or a checksum that does not match.
    pub fn parse(location: &str, text: &str) -> Result<Backup> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            format: Option<String>,
            version: Option<serde_json::Value>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct File {
            created_at: String,
            origin: Option<String>,
            prefix: String,
            #[serde(default)]
            source: String,
            #[serde(default)]
            command: String,
            #[serde(default)]
            redacted: bool,
            checksum: String,
            entries: Vec<(JsString, JsString)>,
        }
        let invalid = |p: String| MeshError::invalid(location, p);
        let head: Head = serde_json::from_str(text).map_err(|e| {
            invalid(crate::store::jsontext::describe_parse_error(
                text.trim().is_empty(),
                &e,
            ))
        })?;
        if head.format.as_deref() != Some(FORMAT) {
            return Err(invalid(format!(
                "not a meshpeers backup (no \"format\": \"{FORMAT}\")"
            ))
            .into());
        }
        if head.version.as_ref().and_then(serde_json::Value::as_u64) != Some(VERSION) {
            return Err(invalid(format!(
                "unknown meshpeers backup version {} (this meshpeers reads version {VERSION})",
                head.version.map_or("(none)".into(), |v| v.to_string())
            ))
            .into());
        }
        let file: File = serde_json::from_str(text)
            .map_err(|e| invalid(format!("not a valid meshpeers backup: {e}")))?;
        let actual = Self::checksum(&file.entries);
        if actual != file.checksum {
            return Err(invalid(format!(
                "checksum mismatch (file says {}, content gives {actual}): the backup was changed or is damaged",
                file.checksum
            ))
            .into());
        }
        if let Some((k, _)) = file
            .entries
            .iter()
            .find(|(k, _)| !k.starts_with(&file.prefix))
        {
            return Err(invalid(format!(
                "entry {} is outside the backup's prefix {}",
                k.to_json(),
                file.prefix
            ))
            .into());
        }
        Ok(Backup {
            created_at: file.created_at,
            origin: file.origin,
            prefix: file.prefix,
            source: file.source,
            command: file.command,
            redacted: file.redacted,
            entries: file.entries,
        })
    }
}

/// Everything of a backup but its entries.
struct Header<'a> {
    created_at: &'a str,
    origin: Option<&'a str>,
    prefix: &'a str,
    source: &'a str,
    command: &'a str,
    redacted: bool,
}

impl Header<'_> {
    fn write_to<'e, I>(&self, entries: I, out: &mut dyn std::io::Write) -> std::io::Result<()>
    where
        I: Iterator<Item = (&'e JsString, &'e JsString)> + Clone,
    {
        let s = |v: &str| JsString::from(v).to_json();
        let count = entries.clone().count();
        let origin = self.origin.map_or("null".into(), s);
        write!(
            out,
            "{{\n  \"format\": {},\n  \"version\": {VERSION},\n  \"createdAt\": {},\n  \"origin\": {origin},\n  \"prefix\": {},\n  \"source\": {},\n  \"command\": {},\n",
            s(FORMAT),
            s(self.created_at),
            s(self.prefix),
            s(self.source),
            s(self.command)
        )?;
        if self.redacted {
            out.write_all(b"  \"redacted\": true,\n")?;
        }
        write!(
            out,
            "  \"keys\": {count},\n  \"checksum\": {},\n  \"entries\": [",
            s(&Backup::checksum_of(entries.clone()))
        )?;
        let mut line = String::new();
        for (i, (k, v)) in entries.enumerate() {
            line.clear();
            line.push_str(if i == 0 { "\n    [" } else { ",\n    [" });
            k.write_json(&mut line, false);
            line.push_str(", ");
            v.write_json(&mut line, false);
            line.push(']');
            out.write_all(line.as_bytes())?;
        }
        out.write_all(if count == 0 { b"]\n}\n" } else { b"\n  ]\n}\n" })
    }
}

/// Where a side file (a namespace backup, a quarantine, an export) goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Exactly this path; an existing file (or symlink) there is never replaced.
    Exact(PathBuf),
    /// A fresh name beside the store: `<name>.<UTC time>[-N].<word>.meshpeers-backup.json`.
    Beside { store: PathBuf, word: String },
}

impl Destination {
    /// A fresh name beside `store` for the backup a command writes (`word`: the command's
    /// first word).
    pub fn beside(store: &Path, command: &str) -> Destination {
        Destination::Beside {
            store: store.to_path_buf(),
            word: command
                .split_whitespace()
                .next()
                .unwrap_or("backup")
                .to_owned(),
        }
    }
}

/// Writes `text` to a new file at `dest` and gives its path. The bytes go to a temporary
/// file first (0600, synced), which is then hard-linked under the final name — a link never
/// replaces anything and never follows a symlink — so a final name only ever holds a whole
/// file; when the name is taken, a `Beside` destination takes the next number. On any
/// failure nothing is left behind.
pub fn write_new(dest: &Destination, text: &str) -> Result<PathBuf> {
    write_new_with(dest, &mut |out| out.write_all(text.as_bytes()))
}

/// `write_new` with the content written by `content` (through a buffer).
pub fn write_new_with(
    dest: &Destination,
    content: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<PathBuf> {
    let (dir, names): (PathBuf, Box<dyn Fn(u32) -> PathBuf>) = match dest {
        Destination::Exact(p) => {
            let p = p.clone();
            let dir = parent_of(&p);
            (dir, Box::new(move |_| p.clone()))
        }
        Destination::Beside { store, word } => {
            let dir = parent_of(store);
            let name = store
                .file_name()
                .map_or("store".into(), |n| n.to_string_lossy().into_owned());
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
            let word = word.clone();
            let store = store.clone();
            (
                dir,
                Box::new(move |n| {
                    let suffix = if n == 1 {
                        String::new()
                    } else {
                        format!("-{n}")
                    };
                    store.with_file_name(format!(
                        "{name}.{stamp}{suffix}.{word}.meshpeers-backup.json"
                    ))
                }),
            )
        }
    };
    let first = names(1);
    let fail = |e: std::io::Error, p: &Path| {
        anyhow::Error::new(e).context(format!("cannot write backup {}", p.display()))
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&crate::store::debris::temp_prefix())
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| fail(e, &first))?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        content(&mut out)
            .and_then(|()| out.flush())
            .map_err(|e| fail(e, &first))?;
    }
    tmp.as_file().sync_all().map_err(|e| fail(e, &first))?;
    let mut n = 1;
    let path = loop {
        let path = names(n);
        match std::fs::hard_link(tmp.path(), &path) {
            Ok(()) => break path,
            // An exact name that is taken is an error (exit 4): nothing is ever overwritten.
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists
                    && matches!(dest, Destination::Beside { .. }) =>
            {
                n += 1;
            }
            Err(e) => return Err(fail(e, &path)),
        }
    };
    // The temporary name goes with `tmp`; the directory entry of the new name is synced.
    drop(tmp);
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(path)
}

fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Backup {
        let mut area = Area::new();
        area.insert("theme".into(), "dark".into());
        area.insert("mesh:peers:index".into(), r#"["a"]"#.into());
        area.insert(
            "mesh:peer:a".into(),
            JsString::from_utf16(&[0x7B, 0xD800, 0x7D]),
        );
        Backup::of_namespace(&area, "mesh:", Some("http://h"), "s.json", "remove a")
    }

    #[test]
    fn round_trips_losslessly() {
        let b = sample();
        assert_eq!(b.entries.len(), 2);
        let text = b.render();
        assert!(text.contains(r#"["mesh:peer:a", "{\ud800}"]"#), "{text}");
        let back = Backup::parse("b.json", &text).unwrap();
        assert_eq!(back.entries, b.entries);
        assert_eq!(back.origin.as_deref(), Some("http://h"));
    }

    #[test]
    fn tampering_and_unknown_versions_are_refused() {
        let text = sample().render();
        let err = Backup::parse("b.json", &text.replace(r#"[\"a\"]"#, r#"[\"b\"]"#))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.json: checksum mismatch"), "{err}");
        let err = Backup::parse("b.json", &text.replace("\"version\": 1", "\"version\": 2"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown meshpeers backup version 2"), "{err}");
        let err = Backup::parse("b.json", &text[..text.len() / 2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
