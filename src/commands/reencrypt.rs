//! `meshpeers re-encrypt --to jwk|passphrase|wrapped`: all-or-nothing key rotation.

use anyhow::Result;
use zeroize::Zeroizing;

use super::write::{self, Job};
use crate::cli::{KeyArgs, ReEncryptArgs};
use crate::crypto::{self, NewKind};
use crate::passphrase;
use crate::peers::{Namespace, secrets};
use crate::settings::Settings;
use crate::store::Store;

pub fn run(settings: &Settings, args: &ReEncryptArgs) -> Result<u8> {
    // The new passphrase is asked for once, however many times the store is planned.
    let mut new_pass: Option<Zeroizing<String>> = None;
    write::run(settings, &args.write, |store| {
        plan(settings, args, store, &mut new_pass)
    })
}

fn plan(
    settings: &Settings,
    args: &ReEncryptArgs,
    store: &mut Store,
    new_pass: &mut Option<Zeroizing<String>>,
) -> Result<Job> {
    let ns = Namespace::new(&store.area, &settings.prefix);
    let current = super::keys::store_key(
        &ns,
        &KeyArgs {
            passphrase: args.passphrase.clone(),
            iterations: args.current_iterations,
        },
    )?;
    // Every secret is checked against the current key before a new passphrase is asked for.
    let decrypted = secrets::decrypt_all(
        &ns,
        current.as_ref(),
        args.skip_undecryptable,
        &store.location,
    )?;
    let to: NewKind = args.to.into();
    let new_pass = match new_pass {
        Some(p) => p,
        None => new_pass.insert(match (to, args.write.dry_run) {
            (NewKind::Jwk, _) | (_, true) => Zeroizing::new(String::new()),
            _ => passphrase::new(args.new_passphrase_file.as_deref())?,
        }),
    };
    let (new_key, record) = crypto::new_record(to, new_pass.as_bytes(), args.iterations);
    let plan = secrets::rotate(&ns, &decrypted, &new_key, &record, to, settings.now)?;
    Ok(Job::new(
        format!("re-encrypt --to {}", to.name()),
        plan,
        "re-encrypted",
    ))
}
