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
use super::{Namespace, Peer, PeerView};
use crate::crypto::{self, Key, NewKind};
use crate::error::MeshError;
use crate::js::JsString;
use crate::js::value::truthy;

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
            ),
        });
    }
    for (id, e) in &decrypted.failed {
        actions.push(Action {
            peer_id: id.clone(),
            display_name: None,
            action: ActionKind::Skip,
            rule: PlanRule::Undecryptable,
            rules: Vec::new(),
            reason: format!("{e}; left untouched (--skip-undecryptable)"),
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
