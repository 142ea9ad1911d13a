//! `meshpeers secrets`: which peers hold a secret, whether it decrypts, and (with --reveal)
//! what it is.

use anyhow::Result;

use crate::cli::SecretsArgs;
use crate::error::exit;
use crate::output;
use crate::output::Fit;
use crate::peers::{Namespace, secrets};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &SecretsArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let (peers, problems) = ns.load_peers();
    super::warn_skipped(problems.len());
    let key = super::keys::store_key(&ns, &args.key)?;
    let rows = secrets::statuses(&peers, key.as_ref(), args.reveal);
    if settings.json {
        output::print_json(&rows)?;
        return Ok(exit::SUCCESS);
    }
    let mut headers = vec!["PEER", "SECRET", "DECRYPTS"];
    if args.reveal {
        headers.push("PLAINTEXT");
    }
    let mut t = output::table(headers);
    let ids = output::Ids::of(&ns, []);
    for r in &rows {
        let mut row = vec![
            ids.show(&r.peer_id),
            match (r.has_secret, r.plaintext_at_rest) {
                (false, _) => "no".into(),
                (true, true) => "yes (plaintext at rest!)".into(),
                (true, false) => "yes".into(),
            },
            match (r.decrypts, &r.error) {
                (Some(true), _) => "yes".into(),
                (Some(false), Some(e)) => format!("NO: {e}"),
                (Some(false), None) => "no".into(),
                (None, _) if r.has_secret && !r.plaintext_at_rest => "(no key)".into(),
                (None, _) => "-".into(),
            },
        ];
        if args.reveal {
            row.push(r.secret.as_deref().map_or("-".into(), |s| output::cell(s)));
        }
        t.add_row(row);
    }
    // The error after NO: may be cut; a revealed secret never.
    let fits = [Fit::Whole, Fit::Whole, Fit::Cut, Fit::Whole];
    output::print_table(t, &fits[..if args.reveal { 4 } else { 3 }])?;
    let with = rows.iter().filter(|r| r.has_secret).count();
    let bad = rows.iter().filter(|r| r.decrypts == Some(false)).count();
    output::print(format!(
        "{with} of {} peers hold a secret{}{}",
        rows.len(),
        if key.is_none() {
            "; no key to check them (no key record and no passphrase given)"
        } else {
            ""
        },
        if bad > 0 {
            format!("; {bad} do not decrypt")
        } else {
            String::new()
        }
    ))?;
    Ok(exit::SUCCESS)
}
