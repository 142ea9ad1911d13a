//! Which origin of a store a command works on: the one `--origin` names, or the only one that
//! holds the namespace. An ambiguous or unknown choice is a usage error that lists the origins.

use anyhow::Result;

use super::{Backend, BackendKind, OpenOptions};
use crate::error::MeshError;

/// Origins are compared without a trailing slash (`http://h:3000/` names `http://h:3000`).
pub(super) fn normalize_origin(o: &str) -> &str {
    o.strip_suffix('/').unwrap_or(o)
}

/// The chosen origin (`None` for a flat dump without `--origin`, and for a store that holds
/// no origin at all), and a note for the user when the choice needs one.
pub(super) struct Choice {
    pub origin: Option<String>,
    pub note: Option<String>,
}

pub(super) fn choose_origin(
    location: &str,
    backend: &mut dyn Backend,
    opts: &OpenOptions,
) -> Result<Choice> {
    let plain = |origin: Option<String>| Choice { origin, note: None };
    if backend.kind() == BackendKind::Flat {
        // A flat dump has no origin; a given --origin only labels it (e.g. in backups).
        return Ok(plain(
            opts.origin
                .as_deref()
                .map(|o| normalize_origin(o).to_owned()),
        ));
    }
    if let (Some(wanted), true) = (&opts.origin, backend.probes_origins()) {
        // One probe instead of visiting every origin of a large profile. A profile that has
        // never stored anything for the origin gets it on the first write (a restore into a
        // fresh profile).
        let wanted = normalize_origin(wanted);
        let note = (!backend.has_origin(wanted)?)
            .then(|| format!("{location} holds no data for {wanted}; a write creates it"));
        return Ok(Choice {
            origin: Some(wanted.to_owned()),
            note,
        });
    }
    if opts.origin.is_none() {
        // The one origin that holds the namespace's index; else the one holding any key.
        if let [one] = backend.index_holders(&opts.prefix)?.as_slice() {
            return Ok(plain(Some(one.clone())));
        }
    }
    let counts = backend.namespace_counts(&opts.prefix)?;
    let listing = |counts: &[(String, usize)]| listing(counts, &opts.prefix);
    if let Some(wanted) = &opts.origin {
        let wanted = normalize_origin(wanted);
        return match counts.iter().find(|(o, _)| o == wanted) {
            Some((o, _)) => Ok(plain(Some(o.clone()))),
            None if counts.is_empty() => Ok(plain(Some(wanted.to_owned()))),
            None => Err(MeshError::usage(format!(
                "--origin {wanted}: {location} has no such origin; it holds:{}",
                listing(&counts)
            ))
            .into()),
        };
    }
    let holders: Vec<_> = counts.iter().filter(|(_, n)| *n > 0).cloned().collect();
    match (holders.len(), counts.len()) {
        (1, _) => Ok(plain(Some(holders[0].0.clone()))),
        (0, 0) => Ok(Choice {
            origin: None,
            note: Some(format!(
                "{location} holds no localStorage of any origin (name one with --origin to write to it)"
            )),
        }),
        (0, 1) => Ok(plain(Some(counts[0].0.clone()))),
        (0, _) => Err(MeshError::usage_hint(
            format!(
                "{location} holds {} origins and none has {} keys:{}",
                counts.len(),
                opts.prefix,
                listing(&counts)
            ),
            "choose one with --origin ORIGIN",
        )
        .into()),
        _ => Err(MeshError::usage_hint(
            format!(
                "{location} holds the {} namespace in {} origins:{}",
                opts.prefix,
                holders.len(),
                listing(&holders)
            ),
            "choose one with --origin ORIGIN",
        )
        .into()),
    }
}

/// One line per origin with its namespace key count; a browser profile can hold hundreds of
/// origins, so the first ones, then a count.
fn listing(counts: &[(String, usize)], prefix: &str) -> String {
    const SHOWN: usize = 20;
    let mut text: String = counts
        .iter()
        .take(SHOWN)
        .map(|(o, n)| format!("\n  {o} ({n} {prefix} keys)"))
        .collect();
    if counts.len() > SHOWN {
        text.push_str(&format!(
            "\n  … and {} more (`meshpeers inspect --origin ORIGIN` lists them all)",
            counts.len() - SHOWN
        ));
    }
    text
}
