//! `meshpeers list` (alias `query`): the app's queryPeers, as a table or JSON.

use anyhow::Result;
use serde_json::Value;

use crate::cli::ListArgs;
use crate::error::exit;
use crate::js::number;
use crate::output;
use crate::output::Fit::{Cut, Spare, Whole};
use crate::output::color::Tone;
use crate::peers::export::PeerRow;
use crate::peers::query::{self, QueryOptions};
use crate::peers::{Namespace, secrets};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &ListArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let (peers, problems) = ns.load_peers();
    let opts = QueryOptions {
        sort: args.sort.into(),
        order: args.order.into(),
        limit: args.limit,
        min_quality: args.min_quality,
        max_age: args.max_age,
        exclude_blacklisted: !args.include_blacklisted,
        connection_type: args.connection_type.map(|t| t.as_str().to_owned()),
        authenticated: if args.authenticated {
            let key = super::keys::store_key(&ns, &args.key)?;
            Some(secrets::authenticated(&peers, key.as_ref()))
        } else {
            None
        },
    };
    let hits = query::query(&peers, settings.now, &opts);
    super::warn_skipped(problems.len());
    if settings.json {
        let rows: Vec<PeerRow> = hits
            .iter()
            .map(|h| PeerRow::new(h.peer, h.quality.total, None))
            .collect();
        output::print_json(&rows)?;
        return Ok(exit::SUCCESS);
    }
    let mut t = output::table([
        "PEER",
        "NAME",
        "LAST SEEN",
        "CONNECTED",
        "QUALITY",
        "TYPE",
        "LATENCY",
        "ATTEMPTS",
        "BLACKLISTED",
        "SECRET",
    ]);
    let ids = output::Ids::of(&ns, []);
    for h in &hits {
        let v = &h.peer.view;
        let text = |x: Option<&Value>| match x {
            None | Some(Value::Null) => "-".to_owned(),
            Some(Value::String(s)) => output::cell(s),
            Some(other) => output::cell(&other.to_string()),
        };
        let blacklisted = if v.is_blacklisted(settings.now) {
            // Red while it lasts, yellow in its last hour.
            let left = crate::js::value::to_number(v.blacklist_until.as_ref()) - settings.now;
            let tone = if left <= 3_600_000.0 {
                Tone::Warn
            } else {
                Tone::Bad
            };
            output::tinted(settings.time(v.blacklist_until.as_ref()), Some(tone))
        } else {
            "-".into()
        };
        t.add_row([
            ids.show(&h.peer.id).into(),
            text(v.display_name.as_ref()).into(),
            settings.time(v.last_seen.as_ref()).into(),
            settings.time(v.last_connected.as_ref()).into(),
            output::score_cell(number::to_string(h.quality.total), Some(h.quality.total)),
            text(v.quality_field("connectionType")).into(),
            v.quality_field("latency")
                .filter(|l| !l.is_null())
                .map_or("-".into(), |l| format!("{} ms", text(Some(l))))
                .into(),
            text(v.reconnection_attempts.as_ref()).into(),
            blacklisted,
            if v.has_secret() { "yes" } else { "no" }.into(),
        ]);
    }
    output::print_table(
        t,
        &[
            Whole,
            Cut,
            Whole,
            Spare(4),
            Whole,
            Spare(2),
            Spare(3),
            Spare(5),
            Whole,
            Spare(1),
        ],
    )?;
    let hidden = if opts.exclude_blacklisted {
        peers
            .iter()
            .filter(|p| p.view.is_blacklisted(settings.now))
            .count()
    } else {
        0
    };
    let mut summary = format!("{} of {} peers", hits.len(), peers.len());
    if hidden > 0 {
        summary.push_str(&format!(
            " ({hidden} blacklisted not shown; --include-blacklisted shows them)"
        ));
    }
    output::print(summary)?;
    Ok(exit::SUCCESS)
}
