//! `meshpeers re-encrypt --to jwk|passphrase|wrapped`: all-or-nothing key rotation.

use crate::peers::namespace::NsKey;
use anyhow::Result;
use zeroize::Zeroizing;

use super::write::{self, Action, Plan};
use crate::cli::{KeyArgs, ReEncryptArgs};
use crate::crypto::{self, NewKind};
use crate::error::MeshError;
use crate::js::JsString;
use crate::output;
use crate::passphrase;
use crate::peers::edit::{Draft, set_members, MetadataRule};
use crate::peers::plan::{ActionKind, PlanRule};
use crate::peers::{Namespace, PeerView};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &ReEncryptArgs) -> Result<u8> {
    if args.iterations == 0 || args.iterations > crypto::MAX_ITERATIONS {
        return Err(MeshError::usage(format!(
            "--iterations must be in 1..={}",
            crypto::MAX_ITERATIONS
        ))
        .into());
    }
    let mut store = settings.open_store()?;
    let plan = {
        let ns = Namespace::new(&store.area, &settings.prefix);
        let key_args = KeyArgs {
            passphrase_file: args.passphrase_file.clone(),
            salt: args.salt.clone(),
            iterations: args.current_iterations,
        };
        // Every record that holds an encrypted secret (indexed or not).
        let holders: Vec<(String, &JsString, String)> = ns
            .records()
            .filter_map(|(id, raw)| {
                let view = PeerView::parse(raw).ok()?;
                let enc = view.encrypted_secret.as_ref()?.as_str()?.to_owned();
                (!enc.is_empty()).then(|| (id.to_string(), raw, enc))
            })
            .collect();
        let current = super::keys::store_key(&ns, &key_args)?;
        if current.is_none() && !holders.is_empty() {
            return Err(MeshError::usage_hint(
                format!(
                    "{}: {} secrets are encrypted but the store has no key record",
                    store.location,
                    holders.len()
                ),
                "give the passphrase they were encrypted with (MESHPEERS_PASSPHRASE or --passphrase-file; --salt/--current-iterations if not the guide's)",
            )
            .into());
        }
        let mut plaintexts = Vec::new();
        let mut failed = Vec::new();
        if let Some(key) = &current {
            for (id, raw, enc) in &holders {
                match crypto::decrypt(key, enc) {
                    Ok(p) => plaintexts.push((id.clone(), *raw, p)),
                    Err(e) => failed.push((id.clone(), e)),
                }
            }
        }
        if !failed.is_empty() && !args.skip_undecryptable {
            let names: Vec<String> = failed
                .iter()
                .take(10)
                .map(|(id, e)| format!("\n  {}: {e}", output::escape(id)))
                .collect();
            return Err(MeshError::Crypto(format!(
                "{}: {} secret{} do not decrypt with the current key; nothing was written:{}{}",
                store.location,
                failed.len(),
                if failed.len() == 1 { "" } else { "s" },
                names.concat(),
                if failed.len() > 10 { "\n  …" } else { "" }
            ))
            .into());
        }
        let to: NewKind = args.to.into();
        let new_pass = match (to, args.write.dry_run) {
            (NewKind::Jwk, _) | (_, true) => Zeroizing::new(String::new()),
            _ => passphrase::new(args.new_passphrase_file.as_deref())?,
        };
        let (new_key, record) = crypto::new_record(to, new_pass.as_bytes(), args.iterations);
        let mut draft = Draft::new(&ns);
        let mut actions = Vec::new();
        let kind = to.name();
        for (id, raw, plain) in &plaintexts {
            let ct = crypto::encrypt(&new_key, plain);
            // Checked before anything is written.
            if crypto::decrypt(&new_key, &ct).ok().as_deref() != Some(plain) {
                anyhow::bail!("internal: a new ciphertext does not decrypt; nothing was written");
            }
            let Some(new) = set_members(raw, &[("encryptedSecret", JsString::from(ct).to_json())])
            else {
                continue;
            };
            draft.put(ns.peer_key(id), new);
            actions.push(Action {
                peer_id: id.clone(),
                display_name: write::display_name(raw),
                action: ActionKind::ReEncrypt,
                rule: PlanRule::Rotate,
                rules: Vec::new(),
                reason: format!("decrypts with the current key; encrypted under the new {kind} key with a fresh IV"),
            });
        }
        for (id, e) in &failed {
            actions.push(Action {
                peer_id: id.clone(),
                display_name: None,
                action: ActionKind::Skip,
                rule: PlanRule::Undecryptable,
                rules: Vec::new(),
                reason: format!("{e}; left untouched (--skip-undecryptable)"),
            });
        }
        draft.put(ns.key(NsKey::KeyRecord), JsString::from(record.as_str()));
        let (changes, warnings) = draft.finish(MetadataRule::AfterWrite, settings.now);
        let mut warnings: Vec<String> = warnings.into_iter().map(|w| w.0).collect();
        if to != NewKind::Jwk {
            warnings.push(
                "the app itself reads only a plain JWK key record: until the store goes back to --to jwk, the app cannot decrypt these secrets".into(),
            );
        }
        Plan {
            command: format!("re-encrypt --to {kind}"),
            actions,
            changes,
            warnings,
            done: "re-encrypted",
            quarantine: None,
        }
    };
    write::apply(settings, &mut store, &args.write, plan)
}
