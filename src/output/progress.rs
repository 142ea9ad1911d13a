//! Progress on stderr for work that can take over a second (copying a large profile, a
//! passphrase's KDF, `locate`'s search, `history`'s scan): drawn by indicatif only when stderr
//! is a terminal, cleared when the work ends, never coloured, and never in piped output or logs.

use std::borrow::Cow;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress line; cleared from the terminal when dropped.
pub struct Progress(ProgressBar);

impl Progress {
    fn new(len: Option<u64>, template: &str, what: impl Into<Cow<'static, str>>) -> Progress {
        // The target first: a bar made with the default one draws there at once, and moving
        // it to another target later leaves that line on the screen.
        // Hidden unless stderr is a terminal; redrawn at most 10 times a second.
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr_with_hz(10));
        let style = ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("█░")
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ");
        bar.set_style(style);
        bar.set_message(what);
        Progress(bar)
    }

    /// Work of unknown length: a spinner, `what` and the time so far.
    pub fn spinner(what: impl Into<Cow<'static, str>>) -> Progress {
        let p = Progress::new(None, "meshpeers: {spinner} {msg} ({elapsed})", what);
        p.0.enable_steady_tick(Duration::from_millis(100));
        p
    }

    /// `total` bytes to go through.
    pub fn bytes(total: u64, what: impl Into<Cow<'static, str>>) -> Progress {
        Progress::new(
            Some(total),
            "meshpeers: {msg} {bar:30} {binary_bytes}/{binary_total_bytes} ({eta} left)",
            what,
        )
    }

    /// `total` things (files, profiles) to go through.
    pub fn items(total: u64, what: impl Into<Cow<'static, str>>) -> Progress {
        Progress::new(Some(total), "meshpeers: {msg} {bar:30} {pos}/{len}", what)
    }

    /// `n` more bytes or things done.
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Says what is being done now.
    pub fn say(&self, what: impl Into<Cow<'static, str>>) {
        self.0.set_message(what);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
