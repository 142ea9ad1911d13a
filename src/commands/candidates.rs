//! `meshpeers candidates`: the app's getReconnectionCandidates, explained.

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::score::{name, number, reconnection_cell, reconnection_sum};
use crate::cli::CandidatesArgs;
use crate::error::exit;
use crate::js::number::to_json_value as json_num;
use crate::output;
use crate::output::Fit::{Cut, Spare, Whole};
use crate::peers::Namespace;
use crate::peers::query::{self, CandidateOptions};
use crate::peers::score::ReconnectionParts;
use crate::settings::Settings;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CandidateRow<'a> {
    peer_id: &'a str,
    display_name: Option<&'a str>,
    score: Value,
    quality: Value,
    reason: String,
    parts: ReconnectionParts,
    #[serde(rename = "appScoreNaN")]
    app_score_nan: bool,
}

pub fn run(settings: &Settings, args: &CandidatesArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let (peers, problems) = ns.load_peers();
    super::warn_skipped(problems.len());
    let opts = CandidateOptions {
        limit: args.limit,
        max_age: Some(args.max_age),
        min_quality: args.min_quality,
    };
    let found = query::candidates(&peers, settings.now, &opts);
    let rows: Vec<CandidateRow> = found
        .iter()
        .map(|c| CandidateRow {
            peer_id: &c.peer.id,
            display_name: c.peer.view.display_name(),
            score: json_num(c.score.total),
            quality: json_num(c.quality.total),
            reason: c.reason.clone(),
            parts: c.score.parts,
            app_score_nan: c.score.app_nan,
        })
        .collect();
    if settings.json {
        output::print_json(&rows)?;
        return Ok(exit::SUCCESS);
    }
    let mut t = output::table([
        "#",
        "PEER",
        "NAME",
        "SCORE",
        "= QUALITY×0.4+RECENCY+CONNECTIONS+RELIABILITY+PENALTY",
        "QUALITY",
        "REASON",
    ]);
    let ids = output::Ids::of(&ns, []);
    for (i, r) in rows.iter().enumerate() {
        t.add_row([
            (i + 1).to_string().into(),
            ids.show(r.peer_id).into(),
            name(r.display_name).into(),
            reconnection_cell(&r.score, r.app_score_nan),
            reconnection_sum(&r.parts).into(),
            output::score_cell(number(&r.quality), r.quality.as_f64()),
            r.reason.clone().into(),
        ]);
    }
    output::print_table(t, &[Whole, Whole, Cut, Whole, Spare(1), Whole, Cut])?;
    output::print(format!(
        "{} from the {} best non-blacklisted peers by quality seen within {}",
        crate::words::count(rows.len(), "candidate"),
        args.limit * 2,
        if args.max_age == 0.0 {
            "any time".to_owned()
        } else {
            crate::time::duration(args.max_age)
        }
    ))?;
    if rows.iter().any(|r| r.app_score_nan) {
        output::print(
            "* no reconnectionAttempts in the record: the app computes NaN and its order becomes engine-dependent; meshpeers counts 0",
        )?;
    }
    Ok(exit::SUCCESS)
}
