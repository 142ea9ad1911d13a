//! `meshpeers recover -o FILE`: a meshpeers backup of versions a LevelDB profile's files still
//! hold (what was deleted, the namespace as of a moment, named versions). Never writes to the
//! profile.

use anyhow::Result;
use serde::Serialize;

use crate::backup::Backup;
use crate::cli::{AsOf, RecoverArgs};
use crate::error::{MeshError, exit};
use crate::output;
use crate::peers::history::{self, Chosen, Recovery, Unresolved};
use crate::settings::Settings;

#[derive(Serialize)]
struct Report<'a> {
    output: Option<String>,
    origin: &'a str,
    chosen: &'a [Chosen],
    unresolved: &'a [Unresolved],
    peers: usize,
}

pub fn run(settings: &Settings, args: &RecoverArgs) -> Result<u8> {
    let view = settings.open_history("recover")?;
    let h = &view.history;
    let prefix = &settings.prefix;
    let (recovery, command) = if args.deleted {
        (
            history::deleted(&h.versions, prefix),
            "recover --deleted".to_owned(),
        )
    } else if let Some(as_of) = args.as_of {
        let seq = match as_of {
            AsOf::Seq(n) => n,
            AsOf::Time(t) => {
                let Some(c) = h.commits.iter().rev().find(|c| c.time_ms <= t) else {
                    let oldest = h.commits.first().map_or_else(
                        || "they hold none of its commits".to_owned(),
                        |c| {
                            format!(
                                "the oldest commit they hold is seq {} at {}",
                                c.seq,
                                crate::time::iso(c.time_ms)
                            )
                        },
                    );
                    return Err(MeshError::Refused(format!(
                        "{}: the files hold no commit of {} at or before {}; {oldest}",
                        view.dir.display(),
                        view.origin,
                        crate::time::iso(t)
                    ))
                    .into());
                };
                output::note(&format!(
                    "{}: the last commit of {} at or before it is seq {} at {}",
                    crate::time::iso(t),
                    view.origin,
                    c.seq,
                    crate::time::iso(c.time_ms)
                ));
                c.seq
            }
        };
        (
            history::as_of(&h.versions, prefix, seq),
            format!("recover --as-of seq:{seq}"),
        )
    } else {
        let r = history::named(&h.versions, prefix, &args.versions)
            .map_err(|problem| MeshError::Refused(format!("{}: {problem}", view.dir.display())))?;
        let named: Vec<String> = args
            .versions
            .iter()
            .map(|(id, seq)| format!("{id}@{seq}"))
            .collect();
        (r, format!("recover {}", named.join(" ")))
    };
    let Recovery { chosen, unresolved } = recovery;
    let peer_prefix = format!("{prefix}peer:");
    let peers = chosen
        .iter()
        .filter(|c| c.key.starts_with(&peer_prefix))
        .count();
    for u in &unresolved {
        output::warn(&format!("{}: {}", u.key, u.problem));
    }
    let written = if chosen.is_empty() {
        None
    } else {
        let backup = Backup {
            created_at: crate::time::iso(crate::time::now_ms()),
            origin: Some(view.origin.clone()),
            prefix: prefix.clone(),
            source: view.dir.display().to_string(),
            command,
            redacted: false,
            entries: chosen
                .iter()
                .map(|c| (c.key.clone(), c.value.clone()))
                .collect(),
        };
        let text = output::json_safe(&backup.render()).into_owned();
        super::write_output_file(&args.output, args.force, &text)?;
        Some(args.output.display().to_string())
    };
    if settings.json {
        output::print_json(&Report {
            output: written.clone(),
            origin: &view.origin,
            chosen: &chosen,
            unresolved: &unresolved,
            peers,
        })?;
    } else if let Some(out) = &written {
        let mut t = output::table(["KEY", "SEQ", "FILE", "WHY"]);
        for c in &chosen {
            t.add_row([
                output::cell(&c.key.to_string()),
                if c.seq == 0 {
                    "-".into()
                } else {
                    c.seq.to_string()
                },
                if c.file.is_empty() {
                    "-".into()
                } else {
                    c.file.clone()
                },
                c.why.clone(),
            ]);
        }
        output::print_table(
            t,
            &[
                output::Fit::Cut,
                output::Fit::Whole,
                output::Fit::Whole,
                output::Fit::Cut,
            ],
        )?;
        output::print(format!(
            "wrote {} ({}) of {} to {out}; bring them back with `meshpeers import {out} --store STORE` (merge mode)",
            crate::words::count(chosen.len(), "key"),
            crate::words::count(peers, "peer record"),
            view.origin,
        ))?;
    } else {
        output::print(format!(
            "{} ({}): nothing to recover; {} was not written",
            view.dir.display(),
            view.origin,
            args.output.display()
        ))?;
    }
    Ok(if written.is_some() {
        exit::SUCCESS
    } else {
        exit::FINDINGS
    })
}
