//! The error kinds a caller can branch on, and the exit status each one maps to.
//!
//! Everything else travels as `anyhow::Error` with context; `exit_code` walks the chain for the
//! first `MeshError` (or an I/O error) to pick the status documented in the man page.

/// Exit statuses (documented in `meshpeers(1)`, section EXIT STATUS).
pub mod exit {
    pub const SUCCESS: u8 = 0;
    /// `validate` found errors, a peer was not found, or an operation was refused.
    pub const FINDINGS: u8 = 1;
    /// Bad command line, including flag values the store does not fit (unknown or ambiguous
    /// origin).
    pub const USAGE: u8 = 2;
    /// The store (or an input file) is not what it should be: not JSON, wrong shape, corrupt.
    pub const INVALID_INPUT: u8 = 3;
    /// Reading or writing a file failed (missing, permission, read-only, disk full).
    pub const IO: u8 = 4;
    /// A browser holds the profile, or another meshpeers kept writing the store: writing is
    /// refused.
    pub const LOCKED: u8 = 5;
    /// Wrong passphrase, or a secret does not decrypt.
    pub const CRYPTO: u8 = 6;
    /// A bug in meshpeers.
    pub const INTERNAL: u8 = 70;
    /// Interrupted (Ctrl-C, SIGTERM) while working on a running browser, after closing the
    /// tab meshpeers had opened (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// The arguments do not fit (exit 2).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A file's content is unusable (exit 3).
    #[error("{path}: {problem}")]
    InvalidInput {
        path: String,
        problem: String,
        hint: Option<String>,
    },
    /// Something the user asked for does not exist, or was refused (exit 1).
    #[error("{0}")]
    Refused(String),
    /// The store changed between the read a plan was made from and the save (another
    /// program wrote it); nothing was written. Writing commands plan again (exit 1 when
    /// they give up).
    #[error("{0}")]
    Changed(String),
    /// A browser holds the profile (exit 5); `browser`: which one and its pid, when known.
    #[error("{path}: {}", locked_text(*.browser))]
    Locked {
        path: String,
        browser: Option<(&'static str, i32)>,
    },
    /// Another meshpeers kept writing the store for longer than a writer waits (exit 5).
    #[error(
        "{path}: another meshpeers is writing this store; nothing was changed (try again when it has finished)"
    )]
    Busy { path: String },
    /// A library meshpeers uses failed on a file (it panicked): a bug, or a file damaged
    /// in a way no check caught (exit 70).
    #[error("{path}: {problem}")]
    Internal { path: String, problem: String },
    /// Wrong passphrase or undecryptable data (exit 6).
    #[error("{0}")]
    Crypto(String),
    /// A running browser could not be reached, did not answer in time, or closed the
    /// connection (exit 4). `outcome_unknown`: it happened while changes were being applied,
    /// so whether they were is not known (the backup is kept).
    #[error("{message}")]
    Unreachable {
        message: String,
        outcome_unknown: bool,
    },
    /// Interrupted by a signal while a running browser was being worked on (exit 130).
    #[error("{0}")]
    Interrupted(String),
}

fn locked_text(browser: Option<(&str, i32)>) -> String {
    match browser {
        Some((name, pid)) => format!(
            "the profile is in use by a running {name} (pid {pid}); close {name} and try again"
        ),
        None => "the profile is in use by a running browser; close the browser that uses this profile and try again".into(),
    }
}

impl MeshError {
    pub fn usage(message: impl Into<String>) -> Self {
        MeshError::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        MeshError::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        MeshError::Unreachable {
            message: message.into(),
            outcome_unknown: false,
        }
    }

    pub fn invalid(path: impl std::fmt::Display, problem: impl Into<String>) -> Self {
        MeshError::InvalidInput {
            path: path.to_string(),
            problem: problem.into(),
            hint: None,
        }
    }

    pub fn invalid_hint(
        path: impl std::fmt::Display,
        problem: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        MeshError::InvalidInput {
            path: path.to_string(),
            problem: problem.into(),
            hint: Some(hint.into()),
        }
    }

    fn code(&self) -> u8 {
        match self {
            MeshError::Usage { .. } => exit::USAGE,
            MeshError::InvalidInput { .. } => exit::INVALID_INPUT,
            MeshError::Refused(_) | MeshError::Changed(_) => exit::FINDINGS,
            MeshError::Locked { .. } | MeshError::Busy { .. } => exit::LOCKED,
            MeshError::Crypto(_) => exit::CRYPTO,
            MeshError::Internal { .. } => exit::INTERNAL,
            MeshError::Unreachable { .. } => exit::IO,
            MeshError::Interrupted(_) => exit::INTERRUPTED,
        }
    }

    fn hint(&self) -> Option<&str> {
        match self {
            MeshError::Usage { hint, .. } | MeshError::InvalidInput { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

/// The exit status for an error: the first `MeshError` in the chain decides, else an I/O error
/// means `exit::IO`, else it is a bug.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<MeshError>() {
            return e.code();
        }
    }
    if err
        .chain()
        .any(|c| c.is::<std::io::Error>() || c.is::<tempfile::PersistError>())
    {
        return exit::IO;
    }
    exit::INTERNAL
}

/// A hint line to print under the error, if the error carries one.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|c| {
        c.downcast_ref::<MeshError>()
            .and_then(|e| e.hint().map(str::to_owned))
    })
}

/// True when the error is a closed stdout pipe (`meshpeers list | head`): that is a success.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints `err` once on stderr (`meshpeers: error: …` with its context chain, and a `hint:`
/// line when it carries one) and gives its exit status. A closed stdout pipe
/// (`meshpeers list | head`) is a success and prints nothing.
pub fn report(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        return exit::SUCCESS;
    }
    // Messages can quote store content (origins, keys, ids): escape terminal controls.
    let label = crate::output::color::paint(
        "error:",
        crate::output::color::Tone::Bad,
        true,
        crate::output::color::stderr(),
    );
    eprintln!(
        "meshpeers: {label} {}",
        crate::output::escape_lines(&format!("{err:#}"))
    );
    if let Some(hint) = hint(err) {
        eprintln!("hint: {}", crate::output::escape_lines(&hint));
    }
    exit_code(err)
}

/// Runs `f`, turning a panic inside it into `MeshError::Internal` naming `path`: a library
/// that panics on a damaged file must not take the process down with exit 101.
pub fn guard_leveldb<T>(
    path: &std::path::Path,
    f: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(MeshError::Internal {
            path: path.display().to_string(),
            problem: format!(
                "the LevelDB library failed on this database ({}); nothing was changed — the database may be damaged in a way meshpeers does not check yet",
                panic_message(&payload)
            ),
        }
        .into()),
    }
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// The whole program: `run` with every panic caught (its message printed once as an internal
/// error, exit 70, never Rust's exit 101) and every error reported once.
pub fn main_with(run: impl FnOnce() -> anyhow::Result<u8>) -> u8 {
    // The default hook would print a backtrace banner; the message is reported below.
    std::panic::set_hook(Box::new(|_| {}));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => report(&err),
        Err(payload) => {
            eprintln!(
                "meshpeers: error: internal error: {} (a bug in meshpeers; nothing more was written)",
                crate::output::escape_lines(&panic_message(&payload))
            );
            exit::INTERNAL
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_the_library_is_an_internal_error_naming_the_file() {
        std::panic::set_hook(Box::new(|_| {}));
        let err = guard_leveldb(
            std::path::Path::new("/p/leveldb"),
            || -> anyhow::Result<()> { panic!("footer assertion") },
        )
        .unwrap_err();
        let _ = std::panic::take_hook();
        assert_eq!(exit_code(&err), exit::INTERNAL);
        let text = err.to_string();
        assert!(
            text.starts_with("/p/leveldb: ") && text.contains("footer assertion"),
            "{text}"
        );
    }

    #[test]
    fn exit_codes_follow_the_kind() {
        let io = anyhow::Error::new(std::io::Error::other("disk full")).context("writing x");
        assert_eq!(exit_code(&io), exit::IO);
        let busy: anyhow::Error = MeshError::Busy { path: "s".into() }.into();
        assert_eq!(exit_code(&busy), exit::LOCKED);
        assert!(busy.to_string().contains("another meshpeers is writing"));
        assert_eq!(exit_code(&anyhow::anyhow!("a bug")), exit::INTERNAL);
    }
}
