//! `meshpeers history [ID…]`: every version of the namespace's keys a LevelDB profile's files
//! still hold, oldest first.

use anyhow::Result;
use serde::Serialize;

use crate::cli::HistoryArgs;
use crate::error::exit;
use crate::output;
use crate::output::Fit::{Cut, Spare, Whole};
use crate::peers::history::{self, Row, State};
use crate::settings::Settings;
use crate::store::leveldb::raw::{Damage, Op};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CommitOut {
    seq: u64,
    time: serde_json::Value,
    size_bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    store: String,
    origin: &'a str,
    files: &'a [String],
    last_seq: u64,
    commits: Vec<CommitOut>,
    versions: &'a [Row],
    damage: &'a [Damage],
}

pub fn run(settings: &Settings, args: &HistoryArgs) -> Result<u8> {
    let view = settings.open_history("history")?;
    let h = &view.history;
    let rows = history::rows(&h.versions, &h.commits, &settings.prefix, &args.ids);
    if settings.json {
        return output::print_json(&Report {
            store: view.dir.display().to_string(),
            origin: &view.origin,
            files: &h.files,
            last_seq: h.last_seq,
            commits: h
                .commits
                .iter()
                .map(|c| CommitOut {
                    seq: c.seq,
                    time: crate::js::number::to_json_value(c.time_ms),
                    size_bytes: c.size_bytes,
                })
                .collect(),
            versions: &rows,
            damage: &h.damage,
        })
        .map(|()| exit::SUCCESS);
    }
    if rows.is_empty() {
        let what = if args.ids.is_empty() {
            format!("no version of any {} key", settings.prefix)
        } else {
            format!("no version of the records of {}", args.ids.join(", "))
        };
        output::print(format!(
            "{} ({}): the files hold {what}",
            view.dir.display(),
            view.origin
        ))?;
        return Ok(exit::SUCCESS);
    }
    let mut t = output::table([
        "SEQ",
        "COMMITTED",
        "KEY",
        "OP",
        "STATE",
        "BYTES",
        "LAST SEEN",
        "NAME",
        "FILE",
    ]);
    let time = |ms: f64| settings.time(Some(&serde_json::Value::from(ms)));
    // Record keys name their peer as tables do (a short unique id on a terminal), among every
    // peer the history holds, deleted ones too.
    let ids = output::Ids::new(rows.iter().filter_map(|r| r.peer_id.as_deref()));
    for r in &rows {
        let committed = match (r.time, r.time_exact) {
            (Some(t), true) => time(t),
            (Some(t), false) => format!("≤ {}", time(t)),
            (None, _) => "-".into(),
        };
        let key = match &r.peer_id {
            Some(id) => format!("peer:{}", ids.show(id)),
            None => output::cell(
                r.key
                    .strip_prefix(settings.prefix.as_str())
                    .unwrap_or(&r.key),
            ),
        };
        let name = match (&r.display_name, &r.detail) {
            (Some(n), _) => n.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => "-".into(),
        };
        t.add_row([
            r.seq.to_string(),
            committed,
            key,
            match r.op {
                Op::Put => "put".into(),
                Op::Delete => "delete".into(),
            },
            match r.state {
                State::Live => "live".into(),
                State::Older => "older".into(),
                State::Deleted => "deleted".into(),
            },
            r.bytes.to_string(),
            r.last_seen.map_or_else(|| "-".into(), time),
            output::cell(&name),
            r.file.clone(),
        ]);
    }
    output::print_table(
        t,
        // The key is short (a peer's shows its short id): whole; the name or detail is cut.
        &[
            Whole,
            Spare(3),
            Whole,
            Whole,
            Whole,
            Spare(1),
            Spare(2),
            Cut,
            Spare(4),
        ],
    )?;
    let keys: std::collections::HashSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let live = rows.iter().filter(|r| r.state == State::Live).count();
    output::print(format!(
        "{} ({}): {} of {} ({} live, {} gone) in {}; newest seq {}",
        view.dir.display(),
        view.origin,
        crate::words::count(rows.len(), "version"),
        crate::words::count(keys.len(), "key"),
        live,
        keys.len() - live,
        crate::words::count(h.files.len(), "file"),
        h.last_seq
    ))?;
    Ok(exit::SUCCESS)
}
