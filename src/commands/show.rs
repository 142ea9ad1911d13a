//! `meshpeers show ID`: one peer's whole record (secrets hidden) and its scores explained.

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use crate::cli::ShowArgs;
use crate::error::exit;
use crate::js::number::{self, to_json_value as json_num};
use crate::js::{JsString, json};
use crate::output;
use crate::peers::Namespace;
use crate::peers::record::PeerView;
use crate::peers::score::{self, QualityParts, ReconnectionParts};
use crate::settings::Settings;

/// Record members whose values are secrets and never printed.
const SECRET_FIELDS: &[&str] = &["encryptedSecret", "sharedSecret"];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShowReport {
    peer_id: String,
    key: JsString,
    indexed: bool,
    record: Value,
    unreadable: Option<String>,
    quality: Value,
    quality_parts: Option<QualityParts>,
    reconnection: Value,
    reconnection_parts: Option<ReconnectionParts>,
    reason: Option<String>,
    #[serde(rename = "appScoreNaN")]
    app_score_nan: bool,
}

pub fn run(settings: &Settings, args: &ShowArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let (id, raw) = super::find_record(&ns, &args.id, &store.location)?;
    let indexed = ns
        .index_ids()
        .iter()
        .any(|i| JsString::from(i.as_str()) == id);
    let mut report = ShowReport {
        peer_id: id.to_string(),
        key: ns.peer_key(&id.to_string()),
        indexed,
        record: Value::Null,
        unreadable: None,
        quality: Value::Null,
        quality_parts: None,
        reconnection: Value::Null,
        reconnection_parts: None,
        reason: None,
        app_score_nan: false,
    };
    match PeerView::parse(raw) {
        Err(why) => report.unreadable = Some(why.to_string()),
        Ok(view) => {
            report.record = hide_secrets(json::parse(raw).unwrap_or(Value::Null));
            let q = score::quality(&view);
            let r = score::reconnection(&view, settings.now);
            report.quality = json_num(q.total);
            report.quality_parts = Some(q.parts);
            report.reconnection = json_num(r.total);
            report.reconnection_parts = Some(r.parts);
            report.reason = Some(score::reason(&view, settings.now));
            report.app_score_nan = r.app_nan;
        }
    }
    if settings.json {
        output::print_json(&report)?;
    } else {
        print_human(&report, raw)?;
    }
    Ok(exit::SUCCESS)
}

fn hide_secrets(mut record: Value) -> Value {
    if let Some(obj) = record.as_object_mut() {
        for f in SECRET_FIELDS {
            if let Some(v) = obj.get_mut(*f).filter(|v| !v.is_null()) {
                *v = Value::String("(hidden)".into());
            }
        }
    }
    record
}

fn print_human(r: &ShowReport, raw: &JsString) -> Result<()> {
    let status = if r.indexed {
        ""
    } else {
        " (not in the index: the app does not see it)"
    };
    output::print(format!(
        "{}{status}",
        output::escape(&r.key.to_string_lossy())
    ))?;
    if let Some(why) = &r.unreadable {
        output::print(format!(
            "unreadable: {why}\nraw: {}",
            output::escape(&raw.to_string_lossy())
        ))?;
        return Ok(());
    }
    output::print(output::escape_lines(&serde_json::to_string_pretty(
        &r.record,
    )?))?;
    let (Some(q), Some(p)) = (&r.quality_parts, &r.reconnection_parts) else {
        return Ok(());
    };
    let n = super::score::number;
    let mut t = output::table(["SCORE", "TOTAL", "PARTS"]);
    t.add_row([
        "quality".to_owned(),
        n(&r.quality),
        format!(
            "latency {} + success rate {} + connection type {} + uptime {}",
            number::to_string(q.latency),
            number::to_string(q.success_rate),
            number::to_string(q.connection_type),
            number::to_string(q.uptime)
        ),
    ]);
    t.add_row([
        "reconnection".to_owned(),
        n(&r.reconnection),
        format!(
            "quality×0.4 {} + recency {} + connections {} + reliability {} + penalty {} (clamped to 0–100)",
            number::to_string(p.quality),
            number::to_string(p.recency),
            number::to_string(p.connections),
            number::to_string(p.reliability),
            number::to_string(p.penalty)
        ),
    ]);
    output::print(format!("\n{t}"))?;
    output::print(format!("reason: {}", r.reason.as_deref().unwrap_or("")))?;
    if r.app_score_nan {
        output::print(
            "note: the record has no reconnectionAttempts, so the app computes NaN for its reconnection score; meshpeers counts 0",
        )?;
    }
    Ok(())
}
