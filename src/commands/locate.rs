//! `meshpeers locate`: every store under a home directory that holds the namespace.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::LocateArgs;
use crate::error::{MeshError, exit};
use crate::output;
use crate::output::Fit::{Cut, Spare, Whole};
use crate::output::progress::Progress;
use crate::settings::Settings;
use crate::store::locate::{self, Located};

pub fn run(settings: &Settings, args: &LocateArgs) -> Result<u8> {
    let root = match &args.root {
        Some(r) => r.clone(),
        None => home()?,
    };
    if !root.is_dir() {
        return Err(MeshError::usage(format!("--root {}: not a directory", root.display())).into());
    }
    let candidates = locate::candidates(&root);
    let mut found: Vec<Located> = Vec::new();
    let progress = Progress::items(candidates.len() as u64, "searching browser profiles");
    for c in &candidates {
        progress.say(format!("searching {} {}", c.browser, c.profile));
        let examined = locate::examine(c, &settings.prefix);
        progress.inc(1);
        match examined {
            Ok(mut f) => found.append(&mut f),
            Err(e) => output::warn(&format!(
                "{} ({} profile {}): skipped: {e:#}",
                c.store.display(),
                c.browser,
                c.profile
            )),
        }
    }
    drop(progress);
    if settings.json {
        output::print_json(&found)?;
        return Ok(exit::SUCCESS);
    }
    let searched = format!(
        "searched {} under {}",
        crate::words::count(candidates.len(), "browser profile"),
        root.display()
    );
    if found.is_empty() {
        output::print(format!(
            "No store holds the {} namespace ({searched}).",
            output::escape(&settings.prefix)
        ))?;
        return Ok(exit::SUCCESS);
    }
    let mut t = output::table([
        "BROWSER",
        "PROFILE",
        "ORIGIN",
        "PEERS",
        "LAST MODIFIED",
        "RUNNING",
        "STORE",
    ]);
    for f in &found {
        t.add_row([
            output::cell(&f.browser),
            output::cell(&f.profile),
            output::cell(&f.origin),
            f.peer_count.to_string(),
            f.last_modified.map_or("-".into(), |ms| {
                settings.time(Some(&serde_json::Value::from(ms)))
            }),
            if f.running { "yes" } else { "no" }.into(),
            output::cell(&f.store),
        ]);
    }
    // The store path is what `--store` takes: never cut.
    let t = output::fit(t, &[Whole, Spare(3), Cut, Whole, Spare(2), Spare(1), Whole]);
    output::print(format!("{t}\n{searched}"))?;
    Ok(exit::SUCCESS)
}

/// The user's home directory.
fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            MeshError::usage_hint("no home directory ($HOME is not set)", "pass --root DIR").into()
        })
}
