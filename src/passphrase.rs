//! Where passphrases come from: the environment, a file, or a terminal prompt without echo.
//! No flag takes a passphrase value. They live in zeroizing strings and are never printed.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use crate::error::MeshError;

pub type Passphrase = Zeroizing<String>;

fn from_file(path: &Path) -> Result<Passphrase> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read passphrase file {}", path.display()))?,
    );
    // The first line, without its line ending.
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(MeshError::invalid(path.display(), "the passphrase file is empty").into());
    }
    Ok(Zeroizing::new(line.to_owned()))
}

fn from_env(name: &str) -> Option<Passphrase> {
    std::env::var(name)
        .ok()
        .filter(|s| !s.is_empty())
        .map(Zeroizing::new)
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn prompt(text: &str) -> Result<Passphrase> {
    Ok(Zeroizing::new(
        rpassword::prompt_password(text).context("reading the passphrase from the terminal")?,
    ))
}

/// The passphrase of the store's key: `MESHPEERS_PASSPHRASE`, `--passphrase-file`, or (when
/// `prompt`) a prompt on a terminal; `None` when none can be had.
pub fn current(file: Option<&Path>, what: &str, prompt_ok: bool) -> Result<Option<Passphrase>> {
    if let Some(p) = file {
        return from_file(p).map(Some);
    }
    if let Some(p) = from_env("MESHPEERS_PASSPHRASE") {
        return Ok(Some(p));
    }
    if prompt_ok && interactive() {
        return prompt(&format!("Passphrase for {what}: ")).map(Some);
    }
    Ok(None)
}

/// A new passphrase: `MESHPEERS_NEW_PASSPHRASE`, `--new-passphrase-file`, or asked twice on a
/// terminal.
pub fn new(file: Option<&Path>) -> Result<Passphrase> {
    if let Some(p) = file {
        return from_file(p);
    }
    if let Some(p) = from_env("MESHPEERS_NEW_PASSPHRASE") {
        return Ok(p);
    }
    if !interactive() {
        return Err(MeshError::usage_hint(
            "a new passphrase is needed",
            "set MESHPEERS_NEW_PASSPHRASE or pass --new-passphrase-file FILE",
        )
        .into());
    }
    let first = prompt("New passphrase: ")?;
    let second = prompt("New passphrase again: ")?;
    if first != second {
        return Err(MeshError::usage("the two passphrases differ; nothing was changed").into());
    }
    if first.is_empty() {
        return Err(MeshError::usage("an empty passphrase protects nothing").into());
    }
    Ok(first)
}
