//! Printing: tables for people, JSON for scripts, and escaping of text that came from a store.

pub mod color;
mod fit;
pub mod plan;
pub mod progress;

pub use fit::{Fit, Ids, fit, print_table, set_wide, terminal_width};

use std::borrow::Cow;
use std::io::{self, Write};

use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

/// Escapes what could drive or fool a terminal — C0 and C1 controls, DEL, bidirectional
/// overrides, marks and isolates, zero-width characters, line and paragraph separators — as
/// `\u{…}` (newline, carriage return and tab as `\n`, `\r`, `\t`), so a hostile peer name
/// cannot rewrite the administrator's screen and one value stays on one line.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if dangerous(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The characters `escape` shows as escapes (and JSON output always writes as `\uXXXX`).
pub fn dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
            | '\u{2028}' | '\u{2029}')
}

/// Table cells hold at most this many characters (after escaping): a table costs time in
/// the square of its cells' length, and a hostile value may be megabytes long.
pub const CELL_MAX: usize = 200;

/// A table cell: escaped, and cut to `CELL_MAX` characters with `…` (the whole value is in
/// `--json` and `show`).
pub fn cell(s: &str) -> String {
    let escaped = escape(s);
    match escaped.char_indices().nth(CELL_MAX) {
        None => escaped.into_owned(),
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
    }
}

/// Escapes every line of a multi-line text but keeps its line breaks.
pub fn escape_lines(s: &str) -> String {
    s.split('\n')
        .map(|l| escape(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// JSON text with every `dangerous` character above the C0 range (DEL, C1, BIDI, zero-width,
/// U+2028/2029) written as `\uXXXX`: the same value for any JSON reader, and nothing that can
/// act on a terminal. (serde_json escapes the C0 controls already; these characters occur
/// only inside strings, so replacing them anywhere is safe.)
pub fn json_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| dangerous(c) && c as u32 >= 0x20;
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A note on stderr (how the store was read, what a write would do); store text escaped.
pub fn note(text: &str) {
    eprintln!("meshpeers: note: {}", escape_lines(text));
}

/// A warning on stderr; store text escaped.
pub fn warn(text: &str) {
    let label = color::paint("warning:", color::Tone::Warn, true, color::stderr());
    eprintln!("meshpeers: {label} {}", escape_lines(text));
}

/// A table in the house style, as scripts get it; `fit` (`print_table`) fits it to a terminal.
pub fn table<I, S>(headers: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    // Whole lines: `fit` arranges a table for the terminal.
    t.set_content_arrangement(ContentArrangement::Disabled);
    // Styled exactly when stdout gets colour (`color::set` told crossterm so too).
    if color::stdout() {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t.set_header(headers);
    t
}

/// A score's cell, shaded by `color::score_tone`.
pub fn score_cell(text: String, score: Option<f64>) -> comfy_table::Cell {
    tinted(text, score.and_then(color::score_tone))
}

/// A table cell of `text` (already escaped), coloured `tone` when stdout gets colour.
pub fn tinted(text: String, tone: Option<color::Tone>) -> comfy_table::Cell {
    let cell = comfy_table::Cell::new(text);
    match tone {
        Some(t) => cell.fg(t.cell_color()),
        None => cell,
    }
}

/// A two-column table of labels and values, without a header; fitted.
pub fn kv_table(rows: &[(&str, String)]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    t.set_content_arrangement(ContentArrangement::Disabled);
    for (k, v) in rows {
        t.add_row([format!("{k}:"), v.clone()]);
    }
    fit(t, &[Fit::Whole, Fit::Cut])
}

/// The findings of `inspect` and `validate`, one row each, fitted; peer ids in keys (under
/// `prefix`) shown as `ids` shows them.
pub fn findings_table(
    findings: &[crate::peers::findings::Finding],
    ids: &Ids,
    prefix: &str,
) -> String {
    let records = format!("{prefix}peer:");
    let mut t = table(["SEVERITY", "CODE", "KEY", "MESSAGE"]);
    for f in findings {
        let tone = match f.severity {
            crate::peers::findings::Severity::Error => Some(color::Tone::Bad),
            crate::peers::findings::Severity::Warning => Some(color::Tone::Warn),
            crate::peers::findings::Severity::Info => None,
        };
        t.add_row([
            tinted(f.severity.name().to_owned(), tone),
            f.code.name().to_owned().into(),
            match f.key.strip_prefix(&records) {
                Some(id) => format!("{}{}", escape(&records), ids.show(id)),
                None => cell(&f.key),
            }
            .into(),
            cell(&f.message).into(),
        ]);
    }
    fit(t, &[Fit::Whole, Fit::Whole, Fit::Cut, Fit::Cut])
}

/// Writes `value` as pretty JSON and a newline on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    // Serialise first: a write error then stays a plain io::Error (a closed pipe is success).
    let text = serde_json::to_string_pretty(value)?;
    write_line(&json_safe(&text))
}

/// Writes text and a newline on stdout; on a fitted terminal, lines wider than it are
/// wrapped at words.
pub fn print(text: impl std::fmt::Display) -> Result<()> {
    let text = text.to_string();
    write_line(&fit::wrap(&text))
}

/// Writes `text` and a newline on stdout, as it is.
fn write_line(text: &str) -> Result<()> {
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
        assert_eq!(escape("\u{1b}[31mred\u{1b}[0m"), "\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(escape("a\u{202e}b\u{9b}c\nd"), "a\\u{202e}b\\u{9b}c\\nd");
        assert_eq!(
            escape("a\u{200b}b\u{2028}c\u{7f}"),
            "a\\u{200b}b\\u{2028}c\\u{7f}"
        );
        assert_eq!(escape("Zoë 日本 😀"), "Zoë 日本 😀");
        assert_eq!(cell(&"x".repeat(500)).chars().count(), CELL_MAX + 1);
        let json = serde_json::to_string("a\u{9b}\u{202e}\u{7f}é").unwrap();
        let safe = json_safe(&json);
        assert_eq!(safe, "\"a\\u009b\\u202e\\u007fé\"");
        assert_eq!(
            serde_json::from_str::<String>(&safe).unwrap(),
            "a\u{9b}\u{202e}\u{7f}é"
        );
    }
}
