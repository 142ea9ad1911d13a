//! `meshpeers inspect`: what a store holds and whether its namespace is in order.

use anyhow::Result;
use serde::Serialize;

use crate::cli::InspectArgs;
use crate::crypto::{self, KeyKind, KeyRecordSummary};
use crate::error::exit;
use crate::js::{JsString, json};
use crate::output;
use crate::peers::Namespace;
use crate::peers::findings::{self, Finding};
use crate::settings::Settings;
use crate::store::{BackendKind, OriginInfo, area_bytes};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InspectReport {
    backend: BackendKind,
    location: String,
    origin: Option<String>,
    origins: Vec<OriginInfo>,
    schema_version: Option<JsString>,
    /// `mesh:peer:*` records.
    peer_count: usize,
    /// Entries of `mesh:peers:index`.
    indexed_count: usize,
    namespace_bytes: u64,
    origin_bytes: u64,
    key_record: Option<KeyRecordSummary>,
    other_keys: Vec<OtherKey>,
    findings: Vec<Finding>,
}

#[derive(Serialize)]
struct OtherKey {
    key: JsString,
    bytes: u64,
}

/// Why a store has no origin to show.
fn no_origin(backend: BackendKind) -> &'static str {
    match backend {
        BackendKind::Flat => "(none: a flat dump names no origin)",
        _ => "(none: the store holds no localStorage data)",
    }
}

pub fn run(settings: &Settings, _args: &InspectArgs) -> Result<u8> {
    let mut store = settings.open_store()?;
    let origins = store.origins()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let (peers, problems) = ns.load_peers();
    let mut report = InspectReport {
        backend: store.kind,
        location: store.location.clone(),
        origin: store.origin.clone(),
        origins,
        schema_version: ns.schema_version().cloned(),
        peer_count: ns.records().count(),
        indexed_count: ns.index_ids().len(),
        namespace_bytes: ns.bytes(),
        origin_bytes: area_bytes(&store.area),
        key_record: ns
            .key_record()
            .map(|raw| crypto::summarize_record(&json::text(raw))),
        other_keys: ns
            .other_keys()
            .map(|(k, bytes)| OtherKey {
                key: k.clone(),
                bytes,
            })
            .collect(),
        findings: findings::storage(&store.damage)
            .into_iter()
            .chain(findings::structural(&ns, &problems, &peers))
            .collect(),
    };
    // Sorted by key, so every backend (LevelDB keeps keys sorted, JSON files do not) agrees.
    report.other_keys.sort_by(|a, b| a.key.cmp(&b.key));
    if settings.json {
        output::print_json(&report)?;
    } else {
        print_human(&report, settings, &output::Ids::of(&ns, []))?;
    }
    Ok(exit::SUCCESS)
}

fn print_human(r: &InspectReport, settings: &Settings, ids: &output::Ids) -> Result<()> {
    let prefix = settings.prefix.as_str();
    let key = match &r.key_record {
        None => "none".to_owned(),
        Some(k) if k.kind == KeyKind::Jwk => format!(
            "plain JWK ({}), stored in the clear",
            k.alg.as_deref().unwrap_or("no alg")
        ),
        Some(k) if k.kind == KeyKind::Passphrase => {
            "protected: derived from a passphrase (meshpeers record; the app cannot read it)".into()
        }
        Some(k) if k.kind == KeyKind::Wrapped => {
            "protected: a random key wrapped under a passphrase (meshpeers record; the app cannot read it)".into()
        }
        Some(k) if k.kind == KeyKind::JwkUnusable => {
            "a JWK meshpeers cannot use (`meshpeers secrets` says why)".into()
        }
        Some(_) => "present, not a key format meshpeers knows".to_owned(),
    };
    let rows = vec![
        (
            "store",
            format!("{} ({})", output::escape(&r.location), r.backend),
        ),
        (
            "origin",
            r.origin
                .as_deref()
                .map_or(no_origin(r.backend).into(), output::cell),
        ),
        (
            "schema",
            r.schema_version
                .as_ref()
                .map_or("none".into(), |v| output::cell(&v.to_string_lossy())),
        ),
        (
            "peers",
            format!("{} records, {} in the index", r.peer_count, r.indexed_count),
        ),
        (
            "namespace",
            format!(
                "{} under {}",
                output::bytes(r.namespace_bytes),
                output::escape(prefix)
            ),
        ),
        (
            "origin size",
            format!(
                "{} of {} quota",
                output::bytes(r.origin_bytes),
                output::bytes(crate::store::QUOTA_BYTES)
            ),
        ),
        ("key record", key),
    ];
    output::print(output::kv_table(&rows))?;

    let modified = r.origins.iter().any(|o| o.last_modified.is_some());
    let usage = r.origins.iter().any(|o| o.firefox_usage.is_some());
    if r.origins.len() > 1 || modified {
        let mut headers = vec!["ORIGIN", "KEYS", "BYTES"];
        if usage {
            headers.push("FIREFOX USAGE");
        }
        if modified {
            headers.push("LAST MODIFIED");
        }
        // The origin's name may be cut; the counts and times never.
        let fits: Vec<output::Fit> = std::iter::once(output::Fit::Cut)
            .chain(std::iter::repeat(output::Fit::Whole))
            .take(headers.len())
            .collect();
        let mut t = output::table(headers);
        for o in &r.origins {
            let mut row = vec![
                output::cell(&o.origin),
                o.keys.to_string(),
                output::bytes(o.bytes),
            ];
            if usage {
                row.push(o.firefox_usage.map_or("-".into(), |u| u.to_string()));
            }
            if modified {
                row.push(o.last_modified.map_or("-".into(), |ms| {
                    settings.time(Some(&serde_json::Value::from(ms)))
                }));
            }
            t.add_row(row);
        }
        output::print(format!("\nOrigins:\n{}", output::fit(t, &fits)))?;
    }
    if !r.other_keys.is_empty() {
        let mut t = output::table(["KEY", "BYTES"]);
        for k in &r.other_keys {
            t.add_row([
                output::cell(&k.key.to_string_lossy()),
                output::bytes(k.bytes),
            ]);
        }
        output::print(format!(
            "\nOther keys of the origin (kept untouched):\n{}",
            output::fit(t, &[output::Fit::Cut, output::Fit::Whole])
        ))?;
    }
    if r.findings.is_empty() {
        output::print("\nNo findings.")?;
    } else {
        let t = output::findings_table(&r.findings, ids, &settings.prefix);
        output::print(format!("\nFindings:\n{t}"))?;
    }
    Ok(())
}
