//! Tables fitted to the terminal: on a terminal (and without `--wide`) every row is one line no
//! wider than the terminal — short headers, no borders, long text cut with `…`, columns that
//! carry nothing left out, and the least needed columns left out when the rest cannot fit. Piped
//! output is never fitted: whole ids, whole cells, every column, as scripts have always had it.

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::{
    Attribute, Cell, ColumnConstraint, ContentArrangement, Row, Table, TableComponent, Width,
    presets,
};

use anyhow::Result;

static WIDE: AtomicBool = AtomicBool::new(false);

/// `--wide`: whole ids and cells and every column on a terminal too.
pub fn set_wide(wide: bool) {
    WIDE.store(wide, Ordering::Relaxed);
}

/// Whether tables are fitted to the terminal: stdout is one and `--wide` was not given.
pub fn fits_terminal() -> bool {
    io::stdout().is_terminal() && !WIDE.load(Ordering::Relaxed)
}

/// The terminal's width when output is fitted to it (`fits_terminal`).
pub fn terminal_width() -> Option<u16> {
    if !fits_terminal() {
        return None;
    }
    crossterm::terminal::size()
        .ok()
        .map(|(w, _)| w)
        .filter(|&w| w > 0)
}

/// `text` with each line wider than the terminal wrapped at words, when output is fitted
/// (tables already fit, so only prose is changed).
pub fn wrap(text: &str) -> std::borrow::Cow<'_, str> {
    let Some(width) = terminal_width() else {
        return text.into();
    };
    let width = usize::from(width);
    if text
        .lines()
        .all(|l| textwrap::core::display_width(l) <= width)
    {
        return text.into();
    }
    text.split('\n')
        .map(|l| textwrap::fill(l, width))
        .collect::<Vec<_>>()
        .join("\n")
        .into()
}

/// How a column of a table is fitted to the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Never cut and never left out: ids, the main numbers and times.
    Whole,
    /// Free text (names, reasons, messages): gets the width left over, cut with `…`.
    Cut,
    /// Never cut, but left out when the table cannot fit otherwise; lower ranks go first.
    Spare(u8),
}

/// A cut column is given at least this many characters (or its content's width if smaller)
/// before spare columns are left out for it.
const CUT_MIN: u16 = 10;

/// Characters between two columns of a fitted table.
const GAP: u16 = 2;

/// Headers as a fitted table shows them: the words scripts never see, shortened so a column
/// is no wider than its values.
const SHORT: &[(&str, &str)] = &[
    ("LAST SEEN", "SEEN"),
    ("CONNECTED", "CONN"),
    ("QUALITY", "QUAL"),
    ("LATENCY", "LAT"),
    ("ATTEMPTS", "TRIES"),
    ("BLACKLISTED", "BLOCKED"),
    ("= LATENCY+RATE+TYPE+UPTIME", "= LAT+RATE+TYPE+UP"),
    (
        "= QUALITY×0.4+RECENCY+CONNECTIONS+RELIABILITY+PENALTY",
        "= Q×.4+RECENT+CONN+RELI+PEN",
    ),
    ("RECONNECT", "RECONN"),
    ("FIREFOX USAGE", "FF USAGE"),
    ("LAST MODIFIED", "MODIFIED"),
];

/// Prints `t` fitted to the terminal (see `fit`).
pub fn print_table(t: Table, columns: &[Fit]) -> Result<()> {
    super::print(fit(t, columns))
}

/// `t` as text: fitted to the terminal when `fits_terminal`, its columns treated as `columns`
/// says, and no line ending in spaces; otherwise as it is. Columns left out for want of room are named in a note on stderr.
pub fn fit(t: Table, columns: &[Fit]) -> String {
    let Some(width) = terminal_width() else {
        return t.to_string();
    };
    let (t, left_out) = fit_to(t, columns, width, super::color::stdout());
    if !left_out.is_empty() {
        super::note(&format!(
            "{} left out to fit; --wide shows all",
            left_out.join(", ")
        ));
    }
    trimmed(&t)
}

/// The lines of `t` without the padding after their last cell.
fn trimmed(t: &Table) -> String {
    t.lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `t` fitted to `width`; the headers of the columns left out for want of room.
fn fit_to(mut t: Table, columns: &[Fit], width: u16, bold: bool) -> (Table, Vec<String>) {
    let count = t.column_count();
    debug_assert_eq!(count, columns.len(), "one Fit per column");
    let kind = |c: usize| columns.get(c).copied().unwrap_or(Fit::Cut);

    // Short headers, on one line, bold when there is colour.
    let headers: Vec<String> = t
        .header()
        .map(|h| {
            h.cell_iter()
                .map(|c| {
                    let long = c.content();
                    SHORT
                        .iter()
                        .find(|(l, _)| *l == long)
                        .map_or(long, |s| s.1.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    if !headers.is_empty() {
        let mut row = Row::from(headers.iter().map(|h| {
            let cell = Cell::new(h);
            if bold {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        }));
        row.max_height(1);
        t.set_header(row);
    }
    let widths = t.column_max_content_widths();

    // Columns whose every cell is `-` say nothing about this store.
    let mut shown: Vec<bool> = (0..count)
        .map(|c| {
            t.row_iter().next().is_none()
                || !t.row_iter().all(|r| {
                    r.cell_iter()
                        .nth(c)
                        .is_none_or(|cell| cell.content() == "-")
                })
        })
        .collect();
    // Then spare columns, lowest rank first, until the rest fits.
    let need = |shown: &[bool]| -> u32 {
        let cols: Vec<usize> = (0..count).filter(|&c| shown[c]).collect();
        let gaps = u32::from(GAP) * cols.len().saturating_sub(1) as u32;
        gaps + cols
            .iter()
            .map(|&c| match kind(c) {
                Fit::Cut => u32::from(widths[c].min(CUT_MIN)),
                _ => u32::from(widths[c]),
            })
            .sum::<u32>()
    };
    // Lowest rank first; of equal ranks, the rightmost.
    let mut spares: Vec<(u8, std::cmp::Reverse<usize>)> = (0..count)
        .filter_map(|c| match kind(c) {
            Fit::Spare(rank) if shown[c] => Some((rank, std::cmp::Reverse(c))),
            _ => None,
        })
        .collect();
    spares.sort_unstable();
    let mut left_out = Vec::new();
    for (_, std::cmp::Reverse(c)) in spares {
        if need(&shown) <= u32::from(width) {
            break;
        }
        shown[c] = false;
        left_out.push(headers.get(c).cloned().unwrap_or_default());
    }

    t.load_preset(presets::NOTHING);
    t.set_style(TableComponent::VerticalLines, ' ');
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(width);
    t.set_truncation_indicator("…");
    // Cut anywhere, not at a word: a name shows as much of itself as fits. (Store text is
    // escaped, so it never holds NUL, and no word boundary is ever found.)
    t.set_delimiter('\0');
    let last = (0..count).rev().find(|&c| shown[c]);
    for c in 0..count {
        let Some(col) = t.column_mut(c) else { continue };
        let padding = if Some(c) == last { 0 } else { GAP - 1 };
        col.set_padding((0, padding));
        // comfy-table's widths include the padding.
        col.set_constraint(if !shown[c] {
            ColumnConstraint::Hidden
        } else if kind(c) == Fit::Cut {
            ColumnConstraint::LowerBoundary(Width::Fixed(widths[c].min(CUT_MIN) + padding))
        } else {
            ColumnConstraint::Absolute(Width::Fixed(widths[c] + padding))
        });
    }
    for row in t.row_iter_mut() {
        row.max_height(1);
    }
    (t, left_out)
}

/// Peer ids as a table shows them: on a fitted terminal the shortest prefix of at least 8
/// characters that no other id of the store shares (every command taking an id accepts it),
/// else whole; escaped either way.
pub struct Ids {
    short: std::collections::HashMap<String, usize>,
}

impl Ids {
    /// For the ids of a store (every one that a prefix must not match).
    pub fn new<'a>(all: impl IntoIterator<Item = &'a str>) -> Ids {
        Ids::with(all, fits_terminal())
    }

    /// For the peer ids `ns` knows, and `extra` ones no longer in it.
    pub fn of<'s>(ns: &crate::peers::Namespace, extra: impl IntoIterator<Item = &'s str>) -> Ids {
        let mut ids = ns.known_ids();
        ids.extend(extra.into_iter().map(str::to_owned));
        Ids::new(ids.iter().map(String::as_str))
    }

    fn with<'a>(all: impl IntoIterator<Item = &'a str>, shorten: bool) -> Ids {
        let mut short = std::collections::HashMap::new();
        if shorten {
            let mut ids: Vec<Vec<char>> = all.into_iter().map(|i| i.chars().collect()).collect();
            ids.sort();
            ids.dedup();
            let common =
                |a: &[char], b: &[char]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
            for (i, id) in ids.iter().enumerate() {
                let before = i.checked_sub(1).map_or(0, |j| common(&ids[j], id));
                let after = ids.get(i + 1).map_or(0, |n| common(n, id));
                let n = (before.max(after) + 1).max(8);
                if n < id.len() {
                    short.insert(id.iter().collect(), n);
                }
            }
        }
        Ids { short }
    }

    /// How `id` is shown.
    pub fn show(&self, id: &str) -> String {
        match self.short.get(id) {
            Some(&n) => super::cell(&id.chars().take(n).collect::<String>()),
            None => super::cell(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_shortest_unique_prefixes_of_at_least_eight() {
        let all = [
            "2ee68c8f-3d51-4a35",
            "2ee68c8f-3d99-0000",
            "47ah2m",
            "abcdefgh12",
            "abcdefgh",
        ];
        let ids = Ids::with(all, true);
        assert_eq!(ids.show("2ee68c8f-3d51-4a35"), "2ee68c8f-3d5");
        assert_eq!(ids.show("2ee68c8f-3d99-0000"), "2ee68c8f-3d9");
        assert_eq!(ids.show("47ah2m"), "47ah2m");
        // A whole id that is a prefix of another stays whole; the longer one needs one more.
        assert_eq!(ids.show("abcdefgh"), "abcdefgh");
        assert_eq!(ids.show("abcdefgh12"), "abcdefgh1");
        let whole = Ids::with(all, false);
        assert_eq!(whole.show("2ee68c8f-3d51-4a35"), "2ee68c8f-3d51-4a35");
    }

    fn table(rows: &[[&str; 4]]) -> Table {
        let mut t = super::super::table(["PEER", "NAME", "LATENCY", "BLACKLISTED"]);
        for r in rows {
            t.add_row(*r);
        }
        t
    }

    #[test]
    fn a_fitted_table_keeps_to_the_width_one_line_a_row() {
        let long = "a name much longer than any terminal would show in one line of eighty";
        let t = table(&[["id1", long, "100 ms", "-"], ["id2", "x", "5 ms", "-"]]);
        let cols = [Fit::Whole, Fit::Cut, Fit::Spare(1), Fit::Whole];
        let (t, left_out) = fit_to(t, &cols, 40, false);
        assert!(left_out.is_empty());
        let lines: Vec<String> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        // BLACKLISTED is all `-`: left out; LATENCY is shortened to LAT.
        assert_eq!(
            lines[0].trim_end(),
            format!("PEER  NAME{}LAT", " ".repeat(24))
        );
        assert!(lines[1].starts_with("id1   a name much"), "{lines:#?}");
        assert!(lines[1].contains('…') && lines[1].ends_with("100 ms"));
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:#?}");
    }

    #[test]
    fn spare_columns_go_lowest_rank_first_when_the_rest_cannot_fit() {
        let t = table(&[["0123456789", "name", "1000 ms", "in 3 hours"]]);
        let cols = [Fit::Whole, Fit::Cut, Fit::Spare(1), Fit::Spare(2)];
        // 10 + 4 + 7 + 11 (header) + 3 gaps of 2 = 38.
        let (t, left_out) = fit_to(t.clone(), &cols, 38, false);
        assert!(left_out.is_empty());
        assert!(t.lines().all(|l| l.chars().count() <= 38));
        let (t, left_out) = fit_to(
            table(&[["0123456789", "name", "1000 ms", "in 3 hours"]]),
            &cols,
            30,
            false,
        );
        assert_eq!(left_out, ["LAT"]);
        let lines: Vec<String> = t.lines().collect();
        assert_eq!(lines[1].trim_end(), "0123456789  name  in 3 hours");
    }
}
