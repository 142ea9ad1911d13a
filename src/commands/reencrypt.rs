//! `meshpeers re-encrypt --to jwk|passphrase|wrapped`: all-or-nothing key rotation.

use anyhow::Result;
use zeroize::Zeroizing;

use super::write::{self, Job};
use crate::cli::{KeyArgs, ReEncryptArgs};
use crate::crypto::{self, NewKind};
use crate::passphrase;
use crate::peers::{Namespace, secrets};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &ReEncryptArgs) -> Result<u8> {
    let mut store = settings.open_store_for_write(&args.write)?;
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
    let new_pass = match (to, args.write.dry_run) {
        (NewKind::Jwk, _) | (_, true) => Zeroizing::new(String::new()),
        _ => passphrase::new(args.new_passphrase_file.as_deref())?,
    };
    let (new_key, record) = crypto::new_record(to, new_pass.as_bytes(), args.iterations);
    let plan = secrets::rotate(&ns, &decrypted, &new_key, &record, to, settings.now)?;
    let job = Job::new(
        format!("re-encrypt --to {}", to.name()),
        plan,
        "re-encrypted",
    );
    write::apply(settings, &mut store, &args.write, job)
}
