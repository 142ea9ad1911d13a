//! Where the two directories cannot be exchanged atomically (no `renameat2`), a write swaps
//! them with two renames, and between the two the profile has no database. A write-ahead
//! marker beside it (`.<name>.meshpeers-swap`: the work and previous directory names) says a
//! swap is under way; every meshpeers run that opens the profile first finishes or undoes an
//! interrupted one — the copy was verified and synced before the marker was written, so
//! finishing puts the new database in place; without the copy, the previous one goes back.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

fn marker_path(dir: &Path) -> Option<PathBuf> {
    let name = dir.file_name()?.to_string_lossy().into_owned();
    Some(dir.parent()?.join(format!(".{name}.meshpeers-swap")))
}

fn sync(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Records that `dir` is about to be swapped with `work` (`previous`: where it goes).
pub fn begin(dir: &Path, work: &Path, previous: &Path) -> Result<()> {
    let marker = marker_path(dir).context("a database directory has a parent")?;
    let text = serde_json::json!({
        "work": work.file_name().map(|n| n.to_string_lossy().into_owned()),
        "previous": previous.file_name().map(|n| n.to_string_lossy().into_owned()),
    })
    .to_string();
    crate::store::atomic::replace_file(&marker, text.as_bytes(), 0o600)
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(())
}

/// The swap of `dir` is complete.
pub fn end(dir: &Path) {
    if let Some(marker) = marker_path(dir) {
        let _ = fs::remove_file(&marker);
        if let Some(parent) = dir.parent() {
            sync(parent);
        }
    }
}

/// Finishes or undoes an interrupted swap of `dir`; gives what it did, for the user.
pub fn recover(dir: &Path) -> Option<String> {
    let marker = marker_path(dir)?;
    let text = fs::read_to_string(&marker).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let parent = dir.parent()?;
    let work = parent.join(v["work"].as_str()?);
    let previous = parent.join(v["previous"].as_str()?);
    // A swap still running in another meshpeers is left alone.
    let owner = v["work"]
        .as_str()?
        .rsplit('-')
        .next()?
        .parse::<i32>()
        .ok()?;
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(owner, 0) } == 0;
    if alive && owner != std::process::id() as i32 {
        return None;
    }
    let note = if dir.exists() && work.exists() && previous.exists() {
        // Between the renames something (a browser) made a new database: keep everything and
        // say where the two real ones are.
        return Some(format!(
            "a write was interrupted between its two renames and {} was made again since (by a browser?); the database meshpeers wrote is at {} and the one before it at {}; nothing was changed (move one of them back with the browser closed)",
            dir.display(),
            work.display(),
            previous.display()
        ));
    } else if dir.exists() {
        // Before the first rename, or after the second: the database is where it belongs,
        // and the marker is all that is left.
        let _ = fs::remove_file(&marker);
        sync(parent);
        return None;
    } else if work.join("CURRENT").is_file() && fs::rename(&work, dir).is_ok() {
        Some(format!(
            "finished a write that was interrupted between its two renames: {} is in place (the previous database is kept at {})",
            dir.display(),
            previous.display()
        ))
    } else if previous.join("CURRENT").is_file() && fs::rename(&previous, dir).is_ok() {
        Some(format!(
            "undid a write that was interrupted between its two renames: {} is back as it was",
            dir.display()
        ))
    } else {
        return None;
    };
    sync(parent);
    let _ = fs::remove_file(&marker);
    sync(parent);
    note
}

/// The directories a swap marker in `parent` still needs (never leftovers to remove).
pub fn referenced(parent: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".meshpeers-swap"))
        .filter_map(|e| fs::read_to_string(e.path()).ok())
        .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .filter_map(|v| v["work"].as_str().map(str::to_owned))
        .collect()
}
