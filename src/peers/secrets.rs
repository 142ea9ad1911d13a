//! The peers' secrets: which peers hold one and whether it decrypts (`secrets`,
//! `list --authenticated`), and a key rotation as a plan (`re-encrypt`). The key itself comes
//! from the caller (the command asks for passphrases); nothing here prints or prompts.

use std::collections::HashSet;

use anyhow::Result;
use serde::Serialize;
use zeroize::Zeroizing;

use super::edit::{Draft, MetadataRule, set_members};
use super::namespace::NsKey;
use super::plan::{Action, ActionKind, Plan, PlanRule, display_name};
use super::validate::KeyState;
use super::{Namespace, Peer, PeerView};
use crate::crypto::{self, Key, KeyRecord, NewKind};
use crate::error::MeshError;
use crate::js::value::truthy;
use crate::js::{JsString, json};
use crate::passphrase::Passphrase;

/// How the key is derived from a passphrase when the store has no key record (default: the
/// guide's salt and iterations).
#[derive(Debug, Clone, Default)]
pub struct Derivation {
    pub salt: Option<String>,
    /// Within 1..=`crypto::MAX_ITERATIONS` (the command line checks it).
    pub iterations: Option<u32>,
}

/// Asks for a passphrase: what it unlocks, and whether a terminal prompt is acceptable; `None`
/// when none can be had. The command supplies it (environment, file, prompt).
pub type Ask<'a> = dyn FnMut(&str, bool) -> Result<Option<Passphrase>> + 'a;

/// The store's key, or `None` when the store has no key record and no passphrase was given.
pub fn store_key(ns: &Namespace, kdf: &Derivation, ask: &mut Ask) -> Result<Option<Key>> {
    let record_key = ns.key(NsKey::KeyRecord);
    let Some(raw) = ns.key_record() else {
        let Some(pass) = ask(
            "the store's secrets (no key record: derived with PBKDF2)",
            true,
        )?
        else {
            return Ok(None);
        };
        let salt = kdf.salt.as_deref().unwrap_or(crypto::GUIDE_SALT);
        let iterations = kdf.iterations.unwrap_or(crypto::GUIDE_ITERATIONS);
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
            let Some(pass) = ask(
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
pub fn key_state(ns: &Namespace, kdf: &Derivation, ask: &mut Ask) -> Result<KeyState> {
    let Some(raw) = ns.key_record() else {
        let Some(pass) = ask("", false)? else {
            return Ok(KeyState::Unknown);
        };
        let salt = kdf.salt.as_deref().unwrap_or(crypto::GUIDE_SALT);
        let iterations = kdf.iterations.unwrap_or(crypto::GUIDE_ITERATIONS);
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
        Ok(protected) => match ask(
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

/// One peer's secret, as `secrets` reports it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretStatus {
    pub peer_id: String,
    pub has_secret: bool,
    /// null when there is no key to try, or no encrypted secret.
    pub decrypts: Option<bool>,
    /// A `sharedSecret` stored in the clear (the app never writes one).
    pub plaintext_at_rest: bool,
    pub error: Option<String>,
    /// The plaintext, only when asked for (`--reveal`).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "plain")]
    pub secret: Option<Zeroizing<String>>,
}

/// A revealed secret as a JSON string (only ever asked for with --reveal).
fn plain<S: serde::Serializer>(v: &Option<Zeroizing<String>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => s.serialize_str(secret),
        None => s.serialize_none(),
    }
}

/// Each peer's secret: held or not, decrypting with `key` or not; the plaintexts kept only
/// with `reveal`.
pub fn statuses(peers: &[Peer], key: Option<&Key>, reveal: bool) -> Vec<SecretStatus> {
    peers
        .iter()
        .map(|p| {
            let enc = p.view.encrypted_secret.as_ref().filter(|v| truthy(Some(v)));
            let plain = p
                .view
                .shared_secret
                .as_ref()
                .filter(|v| truthy(Some(v)))
                .and_then(|v| v.as_str());
            let mut row = SecretStatus {
                peer_id: p.id.clone(),
                has_secret: enc.is_some() || plain.is_some(),
                decrypts: None,
                plaintext_at_rest: plain.is_some(),
                error: None,
                secret: None,
            };
            if let (Some(enc), Some(key)) = (enc, key) {
                match enc.as_str().map(|b64| crypto::decrypt(key, b64)) {
                    Some(Ok(secret)) => {
                        row.decrypts = Some(true);
                        if reveal {
                            row.secret = Some(secret);
                        }
                    }
                    Some(Err(e)) => {
                        row.decrypts = Some(false);
                        row.error = Some(e.to_string());
                    }
                    None => {
                        row.decrypts = Some(false);
                        row.error = Some("encryptedSecret is not a string".into());
                    }
                }
            } else if let (None, Some(plain), true) = (enc, plain, reveal) {
                row.secret = Some(Zeroizing::new(plain.to_owned()));
            }
            row
        })
        .collect()
}

/// The peers `list --authenticated` keeps: with a key, those whose secret decrypts; without
/// one, those that hold a secret.
pub fn authenticated(peers: &[Peer], key: Option<&Key>) -> HashSet<String> {
    peers
        .iter()
        .filter(|p| {
            let enc = p.view.encrypted_secret.as_ref().and_then(|v| v.as_str());
            match (key, enc) {
                (Some(key), Some(enc)) if !enc.is_empty() => crypto::decrypt(key, enc).is_ok(),
                _ => p.view.has_secret(),
            }
        })
        .map(|p| p.id.clone())
        .collect()
}

/// Every encrypted secret of the namespace (indexed or not), decrypted with the current key:
/// the first step of a rotation, taken before a new passphrase is asked for.
pub struct Decrypted<'a> {
    plaintexts: Vec<(String, &'a JsString, Zeroizing<String>)>,
    /// Peers whose secret does not decrypt, with why.
    pub failed: Vec<(String, String)>,
}

/// Decrypts every secret with `current`; all must decrypt unless `skip_undecryptable`.
pub fn decrypt_all<'a>(
    ns: &Namespace<'a>,
    current: Option<&Key>,
    skip_undecryptable: bool,
    location: &str,
) -> Result<Decrypted<'a>> {
    let holders: Vec<(String, &'a JsString, String)> = ns
        .records()
        .filter_map(|(id, raw)| {
            let view = PeerView::parse(raw).ok()?;
            let enc = view.encrypted_secret.as_ref()?.as_str()?.to_owned();
            (!enc.is_empty()).then(|| (id.to_string(), raw, enc))
        })
        .collect();
    let Some(key) = current else {
        if holders.is_empty() {
            return Ok(Decrypted {
                plaintexts: Vec::new(),
                failed: Vec::new(),
            });
        }
        return Err(MeshError::usage_hint(
            format!(
                "{location}: {} secrets are encrypted but the store has no key record",
                holders.len()
            ),
            "give the passphrase they were encrypted with (MESHPEERS_PASSPHRASE or --passphrase-file; --salt/--current-iterations if not the guide's)",
        )
        .into());
    };
    let mut plaintexts = Vec::new();
    let mut failed = Vec::new();
    for (id, raw, enc) in holders {
        match crypto::decrypt(key, &enc) {
            Ok(p) => plaintexts.push((id, raw, p)),
            Err(e) => failed.push((id, e.to_string())),
        }
    }
    if !failed.is_empty() && !skip_undecryptable {
        let names: Vec<String> = failed
            .iter()
            .take(10)
            .map(|(id, e)| format!("\n  {id}: {e}"))
            .collect();
        return Err(MeshError::Crypto(format!(
            "{location}: {} do not decrypt with the current key; nothing was written:{}{}",
            crate::words::count(failed.len(), "secret"),
            names.concat(),
            if failed.len() > 10 { "\n  …" } else { "" }
        ))
        .into());
    }
    Ok(Decrypted { plaintexts, failed })
}

/// The rotation: every decrypted secret encrypted under `new_key` with a fresh IV (each new
/// ciphertext checked to decrypt before anything is written), the key record replaced by
/// `record`, the undecryptable ones left as they are and listed.
pub fn rotate(
    ns: &Namespace,
    decrypted: &Decrypted,
    new_key: &Key,
    record: &str,
    kind: NewKind,
    now: f64,
) -> Result<Plan> {
    let mut draft = Draft::new(ns);
    let mut actions = Vec::new();
    for (id, raw, plain) in &decrypted.plaintexts {
        let ct = crypto::encrypt(new_key, plain);
        if crypto::decrypt(new_key, &ct).ok().as_deref() != Some(plain) {
            anyhow::bail!("internal: a new ciphertext does not decrypt; nothing was written");
        }
        let Some(new) = set_members(raw, &[("encryptedSecret", JsString::from(ct).to_json())])
        else {
            continue;
        };
        draft.put(ns.peer_key(id), new);
        actions.push(Action {
            peer_id: id.clone(),
            display_name: display_name(raw),
            action: ActionKind::ReEncrypt,
            rule: PlanRule::Rotate,
            rules: Vec::new(),
            reason: format!(
                "decrypts with the current key; encrypted under the new {} key with a fresh IV",
                kind.name()
            )
            .into(),
        });
    }
    for (id, e) in &decrypted.failed {
        actions.push(Action {
            peer_id: id.clone(),
            display_name: None,
            action: ActionKind::Skip,
            rule: PlanRule::Undecryptable,
            rules: Vec::new(),
            reason: format!("{e}; left untouched (--skip-undecryptable)").into(),
        });
    }
    draft.put(ns.key(NsKey::KeyRecord), JsString::from(record));
    let mut plan = Plan::new(actions, draft.finish(MetadataRule::AfterWrite, now));
    if kind != NewKind::Jwk {
        plan.warnings.push(
            "the app itself reads only a plain JWK key record: until the store goes back to --to jwk, the app cannot decrypt these secrets".into(),
        );
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Area;

    fn ns_with(record: Option<&str>, secret: Option<&str>) -> Area {
        let mut area = Area::new();
        if let Some(r) = record {
            area.insert("mesh:encryption:key".into(), r.into());
        }
        let rec = match secret {
            Some(ct) => format!(r#"{{"peerId":"a","encryptedSecret":"{ct}"}}"#),
            None => r#"{"peerId":"a"}"#.to_owned(),
        };
        area.insert("mesh:peer:a".into(), rec.into());
        area.insert("mesh:peers:index".into(), r#"["a"]"#.into());
        area
    }

    fn given(p: &'static str) -> impl FnMut(&str, bool) -> Result<Option<Passphrase>> {
        move |_, _| Ok(Some(Zeroizing::new(p.to_owned())))
    }

    #[test]
    fn the_key_comes_from_the_record_or_the_passphrase() {
        let (key, record) = crypto::new_record(NewKind::Wrapped, b"right", 1000);
        let ct = crypto::encrypt(&key, "s3cret");
        let area = ns_with(Some(&record), Some(&ct));
        let ns = Namespace::new(&area, "mesh:");
        let kdf = Derivation::default();
        let got = store_key(&ns, &kdf, &mut given("right")).unwrap().unwrap();
        assert_eq!(crypto::decrypt(&got, &ct).unwrap().as_str(), "s3cret");
        let wrong = store_key(&ns, &kdf, &mut given("wrong")).unwrap_err();
        assert!(wrong.to_string().contains("wrong passphrase"), "{wrong}");
        // No key record: derived with the guide's salt and iterations.
        let derived = Key::derive(
            b"pw",
            crypto::GUIDE_SALT.as_bytes(),
            crypto::GUIDE_ITERATIONS,
        );
        let ct = crypto::encrypt(&derived, "x");
        let area = ns_with(None, Some(&ct));
        let ns = Namespace::new(&area, "mesh:");
        let got = store_key(&ns, &kdf, &mut given("pw")).unwrap().unwrap();
        let (peers, _) = ns.load_peers();
        assert_eq!(authenticated(&peers, Some(&got)).len(), 1);
        let rows = statuses(&peers, Some(&got), false);
        assert_eq!(rows[0].decrypts, Some(true));
        assert!(rows[0].secret.is_none(), "no plaintext without reveal");
    }

    #[test]
    fn a_rotation_reencrypts_every_secret_or_refuses() {
        let (old, record) = crypto::new_record(NewKind::Jwk, b"", 1);
        let good = crypto::encrypt(&old, "one");
        let area = ns_with(Some(&record), Some(&good));
        let ns = Namespace::new(&area, "mesh:");
        let decrypted = decrypt_all(&ns, Some(&old), false, "s").unwrap();
        let (new, new_record) = crypto::new_record(NewKind::Jwk, b"", 1);
        let plan = rotate(&ns, &decrypted, &new, &new_record, NewKind::Jwk, 0.0).unwrap();
        let out = plan.changes.applied_to(&area);
        let view = PeerView::parse(&out[&JsString::from("mesh:peer:a")]).unwrap();
        let ct = view.encrypted_secret.unwrap();
        assert_eq!(
            crypto::decrypt(&new, ct.as_str().unwrap())
                .unwrap()
                .as_str(),
            "one"
        );
        let (other, _) = crypto::new_record(NewKind::Jwk, b"", 1);
        let err = decrypt_all(&ns, Some(&other), false, "s").err().unwrap();
        assert!(err.to_string().contains("1 secret do not decrypt"), "{err}");
    }
}
