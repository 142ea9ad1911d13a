//! The store's key for a command: the domain's key policy (`peers::secrets`) with
//! passphrases from MESHPEERS_PASSPHRASE, `--passphrase-file` or a terminal prompt.

use anyhow::Result;

use crate::cli::KeyArgs;
use crate::crypto::Key;
use crate::passphrase;
use crate::peers::Namespace;
use crate::peers::secrets::{self, Derivation};
use crate::peers::validate::KeyState;

fn derivation(args: &KeyArgs) -> Derivation {
    Derivation {
        salt: args.passphrase.salt.clone(),
        iterations: args.iterations,
    }
}

/// The store's key, or `None` when the store has no key record and no passphrase was given.
pub fn store_key(ns: &Namespace, args: &KeyArgs) -> Result<Option<Key>> {
    let file = args.passphrase.passphrase_file.as_deref();
    secrets::store_key(ns, &derivation(args), &mut |what, prompt| {
        passphrase::current(file, what, prompt)
    })
}

/// The key as `validate` can know it without insisting: a passphrase is asked on a terminal
/// only for a protected record; with no key record only a given one is used.
pub fn key_state(ns: &Namespace, args: &KeyArgs) -> Result<KeyState> {
    let file = args.passphrase.passphrase_file.as_deref();
    secrets::key_state(ns, &derivation(args), &mut |what, prompt| {
        passphrase::current(file, what, prompt)
    })
}
