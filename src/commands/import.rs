//! `meshpeers import FILE`: restore a meshpeers backup, merged into the namespace or replacing
//! it.

use std::io::Read;

use anyhow::{Context, Result};

use super::write::{self, Job};
use crate::backup::Backup;
use crate::cli::{ImportArgs, ImportMode};
use crate::error::MeshError;
use crate::peers::{Namespace, import};
use crate::settings::Settings;
use crate::store::{Store, jsontext};

pub fn run(settings: &Settings, args: &ImportArgs) -> Result<u8> {
    let text = read_input(settings, &args.file)?;
    write::run(settings, &args.write, |store| {
        plan(settings, args, &text, store)
    })
}

fn plan(settings: &Settings, args: &ImportArgs, text: &str, store: &mut Store) -> Result<Job> {
    let app_export = import::is_app_export(text);
    let mut warnings = Vec::new();
    let backup = if app_export {
        let ns = Namespace::new(&store.area, &settings.prefix);
        import::from_app_export(
            &ns,
            &args.file,
            text,
            || super::keys::store_key(&ns, &args.key),
            &mut warnings,
        )?
    } else {
        Backup::parse(&args.file, text)?
    };
    if backup.prefix != settings.prefix {
        return Err(MeshError::usage_hint(
            format!(
                "{} holds the {} namespace, not {}",
                args.file, backup.prefix, settings.prefix
            ),
            format!("pass --prefix {}", backup.prefix),
        )
        .into());
    }
    if let (Some(theirs), Some(ours)) = (&backup.origin, &store.origin) {
        if theirs != ours && settings.origin.is_none() {
            return Err(MeshError::usage_hint(
                format!(
                    "{} is a backup of {theirs}, but the store's origin is {ours}",
                    args.file
                ),
                format!("to import it into {ours} anyway, pass --origin {ours}"),
            )
            .into());
        }
    }
    let mut plan = {
        let ns = Namespace::new(&store.area, &settings.prefix);
        match args.mode {
            ImportMode::Replace => {
                write::confirm(
                    &args.write,
                    &format!(
                        "import --mode replace: the {} namespace of {} becomes the backup's ({} keys)",
                        settings.prefix,
                        store.location,
                        backup.entries.len()
                    ),
                )?;
                import::replace(&ns, &backup, !app_export, settings.now)
            }
            ImportMode::Merge => import::merge(&ns, &backup, &store.location, settings.now)?,
        }
    };
    plan.warnings.extend(warnings);
    let mode = match args.mode {
        ImportMode::Merge => "merge",
        ImportMode::Replace => "replace",
    };
    Ok(Job::new(format!("import --mode {mode}"), plan, "imported"))
}

fn read_input(settings: &Settings, file: &str) -> Result<String> {
    let bytes = if file == "-" {
        if matches!(settings.store, Some(crate::store::StoreSource::Stdin)) {
            return Err(
                MeshError::usage("the store and the backup cannot both come from stdin").into(),
            );
        }
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the backup from stdin")?;
        buf
    } else {
        std::fs::read(file).with_context(|| format!("cannot read backup {file}"))?
    };
    jsontext::into_text(bytes).map_err(|p| MeshError::invalid(file, p).into())
}
