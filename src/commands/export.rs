//! `meshpeers export`: the lossless meshpeers backup, the app's exportData() shape, or peer rows.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use serde_json::Value;

use crate::backup::Backup;
use crate::cli::{ExportArgs, RowFormat};
use crate::error::exit;
use crate::peers::export::{self, PeerRow};
use crate::peers::{Namespace, score};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &ExportArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let area = if args.redact {
        export::redact(&store.area, &settings.prefix)
    } else {
        store.area.clone()
    };
    let ns = Namespace::new(&area, &settings.prefix);
    let text = if args.peers_only {
        rows(&ns, settings.now, args.format)?
    } else if args.app_format {
        let app = export::app_export(&ns, settings.now);
        format!("{}\n", serde_json::to_string_pretty(&app)?)
    } else {
        let mut b = Backup::of_namespace(
            &area,
            &settings.prefix,
            store.origin.as_deref(),
            &store.location,
            if args.redact {
                "export --redact"
            } else {
                "export"
            },
        );
        b.redacted = args.redact;
        b.render()
    };
    // JSON never carries a character that can act on a terminal (the same value, escaped);
    // CSV is escaped as a table would be when it goes to a terminal.
    let csv = args.peers_only && args.format == RowFormat::Csv;
    let text = if csv {
        text
    } else {
        crate::output::json_safe(&text).into_owned()
    };
    match &args.output {
        None => {
            let mut out = std::io::stdout().lock();
            let text = if csv && std::io::stdout().is_terminal() {
                crate::output::escape_lines(&text)
            } else {
                text
            };
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        Some(path) => super::write_output_file(path, args.force, &text)?,
    }
    Ok(exit::SUCCESS)
}

/// One row per indexed peer, as JSON, NDJSON or CSV (the JSON member names as the header).
fn rows(ns: &Namespace, now: f64, format: RowFormat) -> Result<String> {
    let (peers, _) = ns.load_peers();
    let objects: Vec<serde_json::Map<String, Value>> = peers
        .iter()
        .map(|p| {
            let quality = score::quality(&p.view).total;
            let reconnection = score::reconnection(&p.view, now).total;
            match serde_json::to_value(PeerRow::new(p, quality, Some(reconnection))) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(_) => unreachable!("a row is an object"),
                Err(e) => Err(e),
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(match format {
        RowFormat::Json => format!("{}\n", serde_json::to_string_pretty(&objects)?),
        RowFormat::Ndjson => objects
            .iter()
            .map(|o| format!("{}\n", Value::Object(o.clone())))
            .collect(),
        RowFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let header = PeerRow::CSV_HEADER;
            w.write_record(header)?;
            for row in &objects {
                w.write_record(header.iter().map(|h| match &row[*h] {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }))?;
            }
            String::from_utf8(w.into_inner()?)?
        }
    })
}
