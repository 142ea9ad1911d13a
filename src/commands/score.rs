//! `meshpeers score [ID…]`: quality and reconnection scores with their parts.

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use crate::cli::ScoreArgs;
use crate::error::exit;
use crate::js::number::{self, to_json_value as json_num};
use crate::output;
use crate::output::Fit::{Cut, Spare, Whole};
use crate::peers::Namespace;
use crate::peers::record::PeerView;
use crate::peers::score::{self, QualityParts, ReconnectionParts};
use crate::settings::Settings;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreRow {
    pub peer_id: String,
    pub display_name: Option<String>,
    pub quality: Value,
    pub quality_parts: QualityParts,
    pub reconnection: Value,
    pub reconnection_parts: ReconnectionParts,
    pub reason: String,
    #[serde(rename = "appScoreNaN")]
    pub app_score_nan: bool,
}

impl ScoreRow {
    pub fn new(id: &str, view: &PeerView, now: f64) -> ScoreRow {
        let q = score::quality(view);
        let r = score::reconnection(view, now);
        ScoreRow {
            peer_id: id.to_owned(),
            display_name: view.display_name().map(str::to_owned),
            quality: json_num(q.total),
            quality_parts: q.parts,
            reconnection: json_num(r.total),
            reconnection_parts: r.parts,
            reason: score::reason(view, now),
            app_score_nan: r.app_nan,
        }
    }
}

pub fn run(settings: &Settings, args: &ScoreArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let rows: Vec<ScoreRow> = if args.ids.is_empty() {
        let (peers, problems) = ns.load_peers();
        super::warn_skipped(problems.len());
        peers
            .iter()
            .map(|p| ScoreRow::new(&p.id, &p.view, settings.now))
            .collect()
    } else {
        let mut rows = Vec::new();
        for wanted in &args.ids {
            let (id, raw) = super::find_record(&ns, wanted, &store.location)?;
            let view = PeerView::parse(raw).map_err(|why| {
                crate::error::MeshError::invalid(
                    &store.location,
                    format!("the record of peer {id} is unreadable: {why}"),
                )
            })?;
            rows.push(ScoreRow::new(&id.to_string(), &view, settings.now));
        }
        rows
    };
    if settings.json {
        output::print_json(&rows)?;
        return Ok(exit::SUCCESS);
    }
    let mut t = output::table([
        "PEER",
        "NAME",
        "QUALITY",
        "= LATENCY+RATE+TYPE+UPTIME",
        "RECONNECT",
        "= QUALITY×0.4+RECENCY+CONNECTIONS+RELIABILITY+PENALTY",
        "REASON",
    ]);
    let ids = output::Ids::of(&ns, []);
    for r in &rows {
        t.add_row([
            ids.show(&r.peer_id).into(),
            name(r.display_name.as_deref()).into(),
            output::score_cell(number(&r.quality), r.quality.as_f64()),
            quality_sum(&r.quality_parts).into(),
            reconnection_cell(&r.reconnection, r.app_score_nan),
            reconnection_sum(&r.reconnection_parts).into(),
            r.reason.clone().into(),
        ]);
    }
    output::print_table(t, &[Whole, Cut, Whole, Spare(2), Whole, Spare(1), Cut])?;
    if rows.iter().any(|r| r.app_score_nan) {
        output::print(
            "* no reconnectionAttempts in the record: the app computes NaN here; meshpeers counts 0",
        )?;
    }
    Ok(exit::SUCCESS)
}

/// A reconnection score's cell, shaded, with ` *` where the app computes NaN.
pub fn reconnection_cell(score: &Value, app_nan: bool) -> comfy_table::Cell {
    let mark = if app_nan { " *" } else { "" };
    output::score_cell(format!("{}{mark}", number(score)), score.as_f64())
}

pub fn name(n: Option<&str>) -> String {
    n.map_or("-".into(), output::cell)
}

pub fn number(v: &Value) -> String {
    v.as_f64().map_or("NaN".into(), number::to_string)
}

pub fn quality_sum(p: &QualityParts) -> String {
    format!(
        "{}+{}+{}+{}",
        number::to_string(p.latency),
        number::to_string(p.success_rate),
        number::to_string(p.connection_type),
        number::to_string(p.uptime)
    )
}

pub fn reconnection_sum(p: &ReconnectionParts) -> String {
    format!(
        "{}+{}+{}+{}{}",
        number::to_string(p.quality),
        number::to_string(p.recency),
        number::to_string(p.connections),
        number::to_string(p.reliability),
        if p.penalty < 0.0 {
            number::to_string(p.penalty)
        } else {
            format!("-{}", number::to_string(p.penalty))
        }
    )
}
