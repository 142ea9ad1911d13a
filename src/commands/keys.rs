//! Getting the store's key: the app's JWK, a protected record unlocked with a passphrase, or a
//! key derived from a passphrase when the store has none.

use crate::js::json;
use crate::peers::namespace::NsKey;
use anyhow::Result;

use crate::cli::KeyArgs;
use crate::crypto::{self, Key, KeyRecord};
use crate::error::MeshError;
use crate::passphrase;
use crate::peers::Namespace;

/// The store's key, or `None` when the store has no key record and no passphrase was given.
pub fn store_key(ns: &Namespace, args: &KeyArgs) -> Result<Option<Key>> {
    let record_key = ns.key(NsKey::KeyRecord);
    let Some(raw) = ns.key_record() else {
        let Some(pass) = passphrase::current(
            args.passphrase_file.as_deref(),
            "the store's secrets (no key record: derived with PBKDF2)",
            true,
        )?
        else {
            return Ok(None);
        };
        let salt = args.salt.as_deref().unwrap_or(crypto::GUIDE_SALT);
        // clap keeps --iterations within 1..=MAX_ITERATIONS.
        let iterations = args.iterations.unwrap_or(crypto::GUIDE_ITERATIONS);
        return Ok(Some(Key::derive(
            pass.as_bytes(),
            salt.as_bytes(),
            iterations,
        )));
    };
    let text = json::text(raw);
    let record = crypto::parse_record(&text).map_err(|why| {
        MeshError::invalid(&record_key, format!("the key record is unusable: {why}"))
    })?;
    match record {
        KeyRecord::Jwk => Ok(Some(crypto::jwk_key(&text).map_err(|why| {
            MeshError::invalid(&record_key, format!("the key record is unusable: {why}"))
        })?)),
        protected => {
            let Some(pass) = passphrase::current(
                args.passphrase_file.as_deref(),
                &format!("the {} key in {record_key}", protected.kind().name()),
                true,
            )?
            else {
                return Err(MeshError::usage_hint(
                    format!("{record_key} is protected by a passphrase"),
                    "set MESHPEERS_PASSPHRASE or pass --passphrase-file FILE",
                )
                .into());
            };
            crypto::unlock(&protected, pass.as_bytes())
                .map(Some)
                .map_err(|_| {
                    MeshError::Crypto(format!(
                        "wrong passphrase for {record_key}; nothing was decrypted or changed"
                    ))
                    .into()
                })
        }
    }
}

/// The key as `validate` can know it without insisting: a passphrase is asked on a terminal
/// only for a protected record; with no key record only a given one is used.
pub fn key_state(ns: &Namespace, args: &KeyArgs) -> Result<crate::peers::validate::KeyState> {
    use crate::peers::validate::KeyState;
    let Some(raw) = ns.key_record() else {
        let Some(pass) = passphrase::current(args.passphrase_file.as_deref(), "", false)? else {
            return Ok(KeyState::Unknown);
        };
        let salt = args.salt.as_deref().unwrap_or(crypto::GUIDE_SALT);
        let iterations = args.iterations.unwrap_or(crypto::GUIDE_ITERATIONS);
        return Ok(KeyState::Usable(Key::derive(
            pass.as_bytes(),
            salt.as_bytes(),
            iterations,
        )));
    };
    let text = json::text(raw);
    match crypto::parse_record(&text) {
        Ok(KeyRecord::Jwk) => {
            Ok(crypto::jwk_key(&text).map_or(KeyState::Unknown, KeyState::Usable))
        }
        Ok(protected) => match passphrase::current(
            args.passphrase_file.as_deref(),
            &format!(
                "the {} key in {}",
                protected.kind().name(),
                ns.key(NsKey::KeyRecord)
            ),
            true,
        )? {
            None => Ok(KeyState::Locked),
            Some(pass) => crypto::unlock(&protected, pass.as_bytes())
                .map(KeyState::Usable)
                .map_err(|_| {
                    MeshError::Crypto(format!(
                        "wrong passphrase for {}; nothing was checked",
                        ns.key(NsKey::KeyRecord)
                    ))
                    .into()
                }),
        },
        Err(_) => Ok(KeyState::Unknown),
    }
}
