//! `meshpeers validate`: findings with stable codes; exit 1 when there are errors.

use anyhow::Result;
use serde::Serialize;

use crate::cli::ValidateArgs;
use crate::error::exit;
use crate::output;
use crate::peers::Namespace;
use crate::peers::findings::{Finding, Severity};
use crate::peers::validate;
use crate::settings::Settings;

#[derive(Serialize)]
struct Report<'a> {
    findings: &'a [Finding],
    errors: usize,
    warnings: usize,
    infos: usize,
}

pub fn run(settings: &Settings, args: &ValidateArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let key = super::keys::key_state(&ns, &args.key)?;
    let mut findings = crate::peers::findings::storage(&store.damage);
    findings.extend(validate::validate(&ns, settings.now, &key));
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let report = Report {
        findings: &findings,
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
    };
    if settings.json {
        output::print_json(&report)?;
    } else {
        if !findings.is_empty() {
            let ids = output::Ids::of(&ns, []);
            output::print(output::findings_table(&findings, &ids, &settings.prefix))?;
        }
        output::print(format!(
            "{}: {}, {}, {} info",
            store.location,
            crate::words::count(report.errors, "error"),
            crate::words::count(report.warnings, "warning"),
            report.infos
        ))?;
    }
    let failing = report.errors > 0 || (args.strict && report.warnings > 0);
    Ok(if failing {
        exit::FINDINGS
    } else {
        exit::SUCCESS
    })
}
