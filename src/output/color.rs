//! Colour: decided once from `--color`, `NO_COLOR`, `CLICOLOR_FORCE` and whether each stream is
//! a terminal (anstream's rules, as clap's and uv's), then applied to table cells and to the
//! `error:`/`warning:` prefixes. Text from a store is escaped before it is coloured, so the
//! only escape sequences printed are these.

use std::io;

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};

use crate::cli::ColorWhen;

/// Applies `--color` to every stream (`auto` leaves the choice to the environment).
pub fn set(when: ColorWhen) {
    ColorChoice::write_global(match when {
        ColorWhen::Auto => ColorChoice::Auto,
        ColorWhen::Always => ColorChoice::Always,
        ColorWhen::Never => ColorChoice::Never,
    });
    // The decision is ours (`--color` over `NO_COLOR`); comfy-table's crossterm would read
    // NO_COLOR itself.
    crossterm::style::Colored::set_ansi_color_disabled(!stdout());
}

/// Whether stdout gets colour.
pub fn stdout() -> bool {
    anstream::AutoStream::choice(&io::stdout()) != ColorChoice::Never
}

/// Whether stderr gets colour.
pub fn stderr() -> bool {
    anstream::AutoStream::choice(&io::stderr()) != ColorChoice::Never
}

/// What a coloured piece of output means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Errors, blacklisted peers, removals, low scores.
    Bad,
    /// Warnings, blacklists about to end, middling scores.
    Warn,
    /// Good scores, additions.
    Good,
}

impl Tone {
    pub fn style(self) -> Style {
        let color = match self {
            Tone::Bad => AnsiColor::Red,
            Tone::Warn => AnsiColor::Yellow,
            Tone::Good => AnsiColor::Green,
        };
        Style::new().fg_color(Some(color.into()))
    }

    /// The table cell colour of comfy-table for this tone.
    pub fn cell_color(self) -> comfy_table::Color {
        match self {
            Tone::Bad => comfy_table::Color::Red,
            Tone::Warn => comfy_table::Color::Yellow,
            Tone::Good => comfy_table::Color::Green,
        }
    }
}

/// `text` in `tone` (bold too when `bold`) when `on`, else as it is.
pub fn paint(text: &str, tone: Tone, bold: bool, on: bool) -> String {
    if !on {
        return text.to_owned();
    }
    let style = if bold {
        tone.style().bold()
    } else {
        tone.style()
    };
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// The tone of a quality or reconnection score (0-100): red below 20 (hybrid's low-quality
/// default), yellow below 50, green from 70.
pub fn score_tone(score: f64) -> Option<Tone> {
    match score {
        s if s < 20.0 => Some(Tone::Bad),
        s if s < 50.0 => Some(Tone::Warn),
        s if s >= 70.0 => Some(Tone::Good),
        _ => None,
    }
}
