//! `meshpeers secrets`: which peers hold a secret, whether it decrypts, and (with --reveal)
//! what it is.

use anyhow::Result;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::SecretsArgs;
use crate::crypto;
use crate::error::exit;
use crate::js::value::truthy;
use crate::output;
use crate::peers::Namespace;
use crate::settings::Settings;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretRow {
    peer_id: String,
    has_secret: bool,
    /// null when there is no key to try, or no encrypted secret.
    decrypts: Option<bool>,
    /// A `sharedSecret` stored in the clear (the app never writes one).
    plaintext_at_rest: bool,
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "plain")]
    secret: Option<Zeroizing<String>>,
}

/// A revealed secret as a JSON string (only ever asked for with --reveal).
fn plain<S: serde::Serializer>(v: &Option<Zeroizing<String>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => s.serialize_str(secret),
        None => s.serialize_none(),
    }
}

pub fn run(settings: &Settings, args: &SecretsArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let (peers, problems) = ns.load_peers();
    super::warn_skipped(problems.len());
    let key = super::keys::store_key(&ns, &args.key)?;
    let mut rows = Vec::with_capacity(peers.len());
    for p in &peers {
        let enc = p.view.encrypted_secret.as_ref().filter(|v| truthy(Some(v)));
        let plain = p
            .view
            .shared_secret
            .as_ref()
            .filter(|v| truthy(Some(v)))
            .and_then(|v| v.as_str());
        let mut row = SecretRow {
            peer_id: p.id.clone(),
            has_secret: enc.is_some() || plain.is_some(),
            decrypts: None,
            plaintext_at_rest: plain.is_some(),
            error: None,
            secret: None,
        };
        if let (Some(enc), Some(key)) = (enc, &key) {
            match enc.as_str().map(|b64| crypto::decrypt(key, b64)) {
                Some(Ok(secret)) => {
                    row.decrypts = Some(true);
                    if args.reveal {
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
        } else if let (None, Some(plain), true) = (enc, plain, args.reveal) {
            row.secret = Some(Zeroizing::new(plain.to_owned()));
        }
        rows.push(row);
    }
    if settings.json {
        output::print_json(&rows)?;
        return Ok(exit::SUCCESS);
    }
    let mut headers = vec!["PEER", "SECRET", "DECRYPTS"];
    if args.reveal {
        headers.push("PLAINTEXT");
    }
    let mut t = output::table(headers);
    for r in &rows {
        let mut row = vec![
            output::escape(&r.peer_id).into_owned(),
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
            row.push(
                r.secret
                    .as_deref()
                    .map_or("-".into(), |s| output::escape(s).into_owned()),
            );
        }
        t.add_row(row);
    }
    output::print(t)?;
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
