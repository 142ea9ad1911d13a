//! Printing: tables for people, JSON for scripts, and escaping of text that came from a store.

pub mod plan;

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

/// Escapes characters that could drive a terminal (C0 and C1 controls, DEL, bidirectional
/// overrides and isolates, zero-width joiners aside), so a hostile peer name cannot rewrite
/// the administrator's screen. Newlines are escaped too: one value stays on one line.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes every line of a multi-line text but keeps its line breaks.
pub fn escape_lines(s: &str) -> String {
    s.split('\n')
        .map(|l| escape(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// A note on stderr (how the store was read, what a write would do); store text escaped.
pub fn note(text: &str) {
    eprintln!("meshpeers: note: {}", escape_lines(text));
}

/// A table in the house style; it wraps to the terminal width only on a terminal.
pub fn table<I, S>(headers: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(if io::stdout().is_terminal() {
        ContentArrangement::Dynamic
    } else {
        ContentArrangement::Disabled
    });
    t.set_header(headers);
    t
}

/// A two-column table of labels and values, without a header.
pub fn kv_table(rows: &[(&str, String)]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    t.set_content_arrangement(ContentArrangement::Disabled);
    for (k, v) in rows {
        t.add_row([format!("{k}:"), v.clone()]);
    }
    t
}

/// The findings of `inspect` and `validate`, one row each.
pub fn findings_table(findings: &[crate::peers::findings::Finding]) -> Table {
    let mut t = table(["SEVERITY", "CODE", "KEY", "MESSAGE"]);
    for f in findings {
        t.add_row([
            f.severity.name().to_owned(),
            f.code.name().to_owned(),
            escape(&f.key).into_owned(),
            escape(&f.message).into_owned(),
        ]);
    }
    t
}

/// Writes `value` as pretty JSON and a newline on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    // Serialise first: a write error then stays a plain io::Error (a closed pipe is success).
    let text = serde_json::to_string_pretty(value)?;
    print(text)
}

/// Writes text and a newline on stdout.
pub fn print(text: impl std::fmt::Display) -> Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Bytes in a human unit.
pub fn bytes(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / 1024.0 / 1024.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape("\u{1b}[31mred\u{1b}[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(escape("a\u{202e}b\u{9b}c\nd"), "a\\u{202e}b\\x9bc\\nd");
        assert_eq!(escape("Zoë 日本 😀"), "Zoë 日本 😀");
    }
}
