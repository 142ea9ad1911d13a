//! `meshpeers diff A B`: what changed between two stores or backups; exit 1 when they differ.

use anyhow::{Context, Result};
use serde::Serialize;

use crate::backup::Backup;
use crate::cli::DiffArgs;
use crate::error::exit;
use crate::output;
use crate::output::Fit::{Cut, Whole};
use crate::peers::diff::{self, Diff, FieldChange};
use crate::settings::Settings;
use crate::store::Area;

#[derive(Serialize)]
struct Side {
    store: String,
    origin: Option<String>,
}

#[derive(Serialize)]
struct Report<'a> {
    equal: bool,
    a: Side,
    b: Side,
    #[serde(flatten)]
    diff: &'a Diff,
}

/// One side: a meshpeers backup (its entries), or any store.
fn side(settings: &Settings, arg: &str, origin: Option<&String>) -> Result<(Side, Area)> {
    let path = std::path::Path::new(arg);
    if path.is_file() {
        let mut head = [0u8; 256];
        let n = {
            use std::io::Read;
            std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .with_context(|| format!("cannot read {arg}"))?
        };
        if String::from_utf8_lossy(&head[..n]).contains("\"meshpeers-backup\"") {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {arg}"))?;
            let backup = Backup::parse(arg, &text)?;
            let area: Area = backup.entries.into_iter().collect();
            return Ok((
                Side {
                    store: arg.to_owned(),
                    origin: backup.origin,
                },
                area,
            ));
        }
    }
    let origin = origin.cloned().or_else(|| settings.origin.clone());
    let store = settings.open_other(arg, origin)?;
    Ok((
        Side {
            store: store.location.clone(),
            origin: store.origin.clone(),
        },
        store.area,
    ))
}

pub fn run(settings: &Settings, args: &DiffArgs) -> Result<u8> {
    let (a, area_a) = side(settings, &args.a, args.origin_a.as_ref())?;
    let (b, area_b) = side(settings, &args.b, args.origin_b.as_ref())?;
    let d = diff::diff(&area_a, &area_b, &settings.prefix, args.all_keys);
    let equal = d.is_empty();
    if settings.json {
        output::print_json(&Report {
            equal,
            a,
            b,
            diff: &d,
        })?;
    } else {
        print_text(&d, &a, &b)?;
    }
    Ok(if equal { exit::SUCCESS } else { exit::FINDINGS })
}

fn print_text(d: &Diff, a: &Side, b: &Side) -> Result<()> {
    let name = |s: &Side| match &s.origin {
        Some(o) => format!("{} ({o})", s.store),
        None => s.store.clone(),
    };
    if d.is_empty() {
        return output::print(format!("{} and {} hold the same", name(a), name(b)));
    }
    let mut t = output::table(["", "PEER", "NAME", "WHAT"]);
    let shown = |n: &Option<String>| output::cell(n.as_deref().unwrap_or("-"));
    for p in &d.added {
        t.add_row([
            "+",
            &output::cell(&p.peer_id),
            &shown(&p.display_name),
            "added",
        ]);
    }
    for p in &d.removed {
        t.add_row([
            "-",
            &output::cell(&p.peer_id),
            &shown(&p.display_name),
            "removed",
        ]);
    }
    for p in &d.changed {
        let what: Vec<String> = p.fields.iter().map(field_line).collect();
        t.add_row([
            "~",
            &output::cell(&p.peer_id),
            &shown(&p.display_name),
            &output::cell(&what.join("; ")),
        ]);
    }
    if !(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty()) {
        output::print_table(t, &[Whole, Whole, Cut, Cut])?;
    }
    let keys: Vec<_> = d.keys.iter().chain(d.other_keys.iter().flatten()).collect();
    if !keys.is_empty() {
        let mut t = output::table(["KEY", "CHANGE", "WHAT"]);
        for k in keys {
            let what = if !k.detail.is_empty() {
                k.detail.join("; ")
            } else {
                match (&k.old, &k.new) {
                    (Some(o), Some(n)) => format!("{} → {}", short(o), short(n)),
                    (None, Some(n)) => short(n),
                    (Some(o), None) => short(o),
                    (None, None) => String::new(),
                }
            };
            t.add_row([&output::cell(&k.key), k.change, &output::cell(&what)]);
        }
        output::print_table(t, &[Cut, Whole, Cut])?;
    }
    let other = d.keys.len() + d.other_keys.as_ref().map_or(0, Vec::len);
    output::print(format!(
        "{} → {}: peers {} added, {} removed, {} changed; {other} other {} changed",
        name(a),
        name(b),
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        crate::words::plural(other, "key", "keys")
    ))
}

fn field_line(f: &FieldChange) -> String {
    if f.secret {
        return format!("{}: changed (secret)", f.path);
    }
    let show = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map_or("(none)".into(), |v| short(&v.to_string()))
    };
    format!("{}: {} → {}", f.path, show(&f.old), show(&f.new))
}

fn short(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() > MAX {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    } else {
        s.to_owned()
    }
}
