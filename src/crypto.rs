//! The app's secret encryption (WebCrypto AES-256-GCM: base64 of 12-byte IV ‖ ciphertext ‖
//! 16-byte tag, UTF-8 plaintext) and its key records: the app's plain JWK, and meshpeers'
//! protected records (a passphrase-derived key, or a random key wrapped under one).
//!
//! Keys and plaintexts live in zeroizing types; nothing here prints them.

use aes_gcm::aead::{Aead, KeyInit, OsRng, rand_core::RngCore};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// The guide's derivation parameters, used when a store has no key record.
pub const GUIDE_SALT: &str = "mesh-p2p-salt";
pub const GUIDE_ITERATIONS: u32 = 100_000;
/// Default for new protected records (OWASP's figure for PBKDF2-HMAC-SHA256).
pub const NEW_ITERATIONS: u32 = 600_000;
/// Records read from a store may not ask for more than this (a hostile file must not make a
/// command spin for hours).
pub const MAX_ITERATIONS: u32 = 10_000_000;
const CHECK_PLAINTEXT: &[u8] = b"meshpeers key check v1";

/// A 256-bit AES key.
pub struct Key(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    pub fn random() -> Key {
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(k.as_mut());
        Key(k)
    }

    fn from_slice(b: &[u8]) -> Option<Key> {
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(Key(Zeroizing::new(arr)))
    }

    /// PBKDF2-HMAC-SHA256 of a passphrase.
    pub fn derive(passphrase: &[u8], salt: &[u8], iterations: u32) -> Key {
        let _progress = (iterations >= 100_000).then(|| {
            crate::output::progress::Progress::spinner(format!(
                "deriving the key from the passphrase ({} PBKDF2 iterations)",
                iterations
            ))
        });
        let mut k = Zeroizing::new([0u8; 32]);
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(passphrase, salt, iterations, k.as_mut());
        Key(k)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(self.0.as_ref()).expect("32-byte key")
    }

    /// The app's JWK text for this key, as WebCrypto's exportKey and JSON.stringify give it.
    pub fn to_jwk(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{{\"alg\":\"A256GCM\",\"ext\":true,\"k\":\"{}\",\"key_ops\":[\"encrypt\",\"decrypt\"],\"kty\":\"oct\"}}",
            URL_SAFE_NO_PAD.encode(self.0.as_ref())
        ))
    }
}

/// Why a ciphertext does not give a plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("not base64")]
    NotBase64,
    #[error("too short to hold an IV and a tag ({0} bytes)")]
    TooShort(usize),
    #[error("does not decrypt with this key (wrong key, or the ciphertext was altered)")]
    Authentication,
    #[error("decrypts to bytes that are not UTF-8")]
    NotUtf8,
}

pub fn encrypt_bytes(key: &Key, plaintext: &[u8]) -> String {
    let mut iv = [0u8; 12];
    OsRng.fill_bytes(&mut iv);
    let ct = key
        .cipher()
        .encrypt(Nonce::from_slice(&iv), plaintext)
        .expect("AES-GCM encryption of an in-memory buffer");
    let mut out = Vec::with_capacity(12 + ct.len());
    out.extend_from_slice(&iv);
    out.extend_from_slice(&ct);
    STANDARD.encode(out)
}

/// Encrypts a secret the way the app does (fresh random IV each time).
pub fn encrypt(key: &Key, plaintext: &str) -> String {
    encrypt_bytes(key, plaintext.as_bytes())
}

pub fn decrypt_bytes(key: &Key, b64: &str) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let data = STANDARD
        .decode(b64.trim())
        .map_err(|_| DecryptError::NotBase64)?;
    if data.len() < 12 + 16 {
        return Err(DecryptError::TooShort(data.len()));
    }
    key.cipher()
        .decrypt(Nonce::from_slice(&data[..12]), &data[12..])
        .map(Zeroizing::new)
        .map_err(|_| DecryptError::Authentication)
}

pub fn decrypt(key: &Key, b64: &str) -> Result<Zeroizing<String>, DecryptError> {
    let bytes = decrypt_bytes(key, b64)?;
    String::from_utf8(bytes.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| DecryptError::NotUtf8)
}

/// PBKDF2 parameters of a protected record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kdf {
    pub salt: Vec<u8>,
    pub iterations: u32,
}

/// What `mesh:encryption:key` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRecord {
    /// The app's plain JWK (its raw key bytes are read only when unlocking).
    Jwk,
    /// A key derived from a passphrase; `check` is a known plaintext encrypted under it.
    Passphrase { kdf: Kdf, check: String },
    /// A random key wrapped (AES-GCM) under a passphrase-derived key.
    Wrapped {
        kdf: Kdf,
        wrapped: String,
        check: String,
    },
}

impl KeyRecord {
    pub fn kind(&self) -> KeyKind {
        match self {
            KeyRecord::Jwk => KeyKind::Jwk,
            KeyRecord::Passphrase { .. } => KeyKind::Passphrase,
            KeyRecord::Wrapped { .. } => KeyKind::Wrapped,
        }
    }
}

/// What a key record is, as `inspect` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    /// The app's plain JWK, stored in the clear.
    Jwk,
    /// A meshpeers record: the key derived from a passphrase.
    Passphrase,
    /// A meshpeers record: a random key wrapped under a passphrase-derived key.
    Wrapped,
    /// A JWK that cannot be used (wrong length, another algorithm).
    JwkUnusable,
    /// Not a key format meshpeers knows.
    Unknown,
}

impl KeyKind {
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Jwk => "jwk",
            KeyKind::Passphrase => "passphrase",
            KeyKind::Wrapped => "wrapped",
            KeyKind::JwkUnusable => "jwk-unusable",
            KeyKind::Unknown => "unknown",
        }
    }
}

/// A key record's kind and algorithm, without opening it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyRecordSummary {
    pub kind: KeyKind,
    pub alg: Option<String>,
}

/// What the key record text `raw` is (never echoing key material).
pub fn summarize_record(raw: &str) -> KeyRecordSummary {
    let v: Option<Value> = serde_json::from_str(raw).ok();
    let field = |n: &str| {
        v.as_ref()
            .and_then(|v| v.get(n))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match parse_record(raw) {
        Ok(KeyRecord::Jwk) => KeyRecordSummary {
            kind: KeyKind::Jwk,
            alg: field("alg"),
        },
        Ok(protected) => KeyRecordSummary {
            kind: protected.kind(),
            alg: Some("A256GCM".into()),
        },
        // Present but unusable (wrong length, another algorithm, not JSON): `secrets` says why.
        Err(_) if field("kty").as_deref() == Some("oct") => KeyRecordSummary {
            kind: KeyKind::JwkUnusable,
            alg: field("alg"),
        },
        Err(_) => KeyRecordSummary {
            kind: KeyKind::Unknown,
            alg: None,
        },
    }
}

/// Reads a key record, or says what is wrong with it (never echoing key material).
pub fn parse_record(raw: &str) -> Result<KeyRecord, String> {
    let v: Value = serde_json::from_str(raw).map_err(|_| "not valid JSON".to_owned())?;
    if v.get("meshpeers").and_then(Value::as_str) == Some("key") {
        let version = v.get("version").and_then(Value::as_u64);
        if version != Some(1) {
            return Err(format!(
                "a meshpeers key record of unknown version {}",
                version.map_or("(none)".into(), |n| n.to_string())
            ));
        }
        let kdf = v.get("kdf").ok_or("no kdf")?;
        if kdf.get("name").and_then(Value::as_str) != Some("PBKDF2")
            || kdf.get("hash").and_then(Value::as_str) != Some("SHA-256")
        {
            return Err("unsupported kdf (meshpeers reads PBKDF2 with SHA-256)".into());
        }
        // A count written as a float (1e12) or out of range is a number all the same: say
        // what is wrong with it.
        let count = kdf
            .get("iterations")
            .and_then(Value::as_f64)
            .ok_or("kdf.iterations is not a number")?;
        let in_range = count.fract() == 0.0 && (1.0..=f64::from(MAX_ITERATIONS)).contains(&count);
        if !in_range {
            return Err(format!(
                "kdf.iterations {} is outside 1..={MAX_ITERATIONS} (whole numbers only); refusing to run it",
                crate::js::number::to_string(count)
            ));
        }
        let iterations = count as u64;
        let salt = kdf
            .get("salt")
            .and_then(Value::as_str)
            .and_then(|s| STANDARD.decode(s).ok())
            .ok_or("kdf.salt is not base64")?;
        let kdf = Kdf {
            salt,
            iterations: iterations as u32,
        };
        let field = |name: &str| -> Result<String, String> {
            v.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(format!("no {name}"))
        };
        return match v.get("kind").and_then(Value::as_str) {
            Some("passphrase") => Ok(KeyRecord::Passphrase {
                kdf,
                check: field("check")?,
            }),
            Some("wrapped") => Ok(KeyRecord::Wrapped {
                kdf,
                wrapped: field("wrappedKey")?,
                check: field("check")?,
            }),
            other => Err(format!("unknown key kind {other:?}")),
        };
    }
    jwk_key(raw).map(|_| KeyRecord::Jwk)
}

/// The key of a JWK record: `kty` "oct", `alg` A256GCM (when present), 32 bytes.
pub fn jwk_key(raw: &str) -> Result<Key, String> {
    let v: Value = serde_json::from_str(raw).map_err(|_| "not valid JSON".to_owned())?;
    if v.get("kty").and_then(Value::as_str) != Some("oct") {
        return Err("not a symmetric JWK (kty is not \"oct\")".into());
    }
    match v.get("alg").and_then(Value::as_str) {
        None | Some("A256GCM") => {}
        Some(other) => return Err(format!("a JWK for {other}, not A256GCM")),
    }
    let k = v
        .get("k")
        .and_then(Value::as_str)
        .ok_or("a JWK without \"k\"")?;
    let bytes = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(k.trim_end_matches('='))
            .map_err(|_| "\"k\" is not base64url".to_owned())?,
    );
    Key::from_slice(&bytes).ok_or(format!(
        "a {}-bit key; AES-256-GCM needs 256 bits",
        bytes.len() * 8
    ))
}

/// A passphrase that does not open a protected record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("wrong passphrase")]
pub struct WrongPassphrase;

/// Unlocks a protected record with a passphrase; `Err` means a wrong passphrase (detected by
/// the check value, before anything is decrypted or written).
pub fn unlock(record: &KeyRecord, passphrase: &[u8]) -> Result<Key, WrongPassphrase> {
    match record {
        KeyRecord::Jwk => Err(WrongPassphrase),
        KeyRecord::Passphrase { kdf, check } => {
            let key = Key::derive(passphrase, &kdf.salt, kdf.iterations);
            check_value(&key, check)
                .then_some(key)
                .ok_or(WrongPassphrase)
        }
        KeyRecord::Wrapped {
            kdf,
            wrapped,
            check,
        } => {
            let kek = Key::derive(passphrase, &kdf.salt, kdf.iterations);
            let raw = decrypt_bytes(&kek, wrapped).map_err(|_| WrongPassphrase)?;
            let key = Key::from_slice(&raw).ok_or(WrongPassphrase)?;
            check_value(&key, check)
                .then_some(key)
                .ok_or(WrongPassphrase)
        }
    }
}

fn check_value(key: &Key, check: &str) -> bool {
    decrypt_bytes(key, check).is_ok_and(|p| p.as_slice() == CHECK_PLAINTEXT)
}

/// The kinds of key record `re-encrypt --to` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewKind {
    /// The app's own plain JWK (a new random key, stored in the clear).
    Jwk,
    /// A key derived from a passphrase (PBKDF2-HMAC-SHA256, random salt).
    Passphrase,
    /// A new random key wrapped under a passphrase-derived key.
    Wrapped,
}

impl NewKind {
    /// The kind's name as `re-encrypt --to` spells it.
    pub fn name(self) -> &'static str {
        match self {
            NewKind::Jwk => "jwk",
            NewKind::Passphrase => "passphrase",
            NewKind::Wrapped => "wrapped",
        }
    }
}

/// A new key and the record text that stores (or protects) it.
pub fn new_record(kind: NewKind, passphrase: &[u8], iterations: u32) -> (Key, Zeroizing<String>) {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let kdf = json!({"name": "PBKDF2", "hash": "SHA-256", "iterations": iterations,
                     "salt": STANDARD.encode(salt)});
    match kind {
        NewKind::Jwk => {
            let key = Key::random();
            let text = key.to_jwk();
            (key, text)
        }
        NewKind::Passphrase => {
            let key = Key::derive(passphrase, &salt, iterations);
            let check = encrypt_bytes(&key, CHECK_PLAINTEXT);
            let record = json!({"meshpeers": "key", "version": 1, "kind": "passphrase",
                                "kdf": kdf, "check": check});
            (key, Zeroizing::new(record.to_string()))
        }
        NewKind::Wrapped => {
            let key = Key::random();
            let kek = Key::derive(passphrase, &salt, iterations);
            let record = json!({"meshpeers": "key", "version": 1, "kind": "wrapped", "kdf": kdf,
                                "wrappedKey": encrypt_bytes(&kek, key.0.as_ref()),
                                "check": encrypt_bytes(&key, CHECK_PLAINTEXT)});
            (key, Zeroizing::new(record.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn hostile_iteration_counts_are_refused_with_their_value() {
        let record = |n: &str| {
            format!(
                r#"{{"meshpeers":"key","version":1,"kind":"passphrase","kdf":{{"name":"PBKDF2","hash":"SHA-256","iterations":{n},"salt":"AAAAAAAAAAAAAAAAAAAAAA=="}},"check":"x"}}"#
            )
        };
        for (n, shown) in [
            ("1e12", "1000000000000"),
            ("0", "0"),
            ("-5", "-5"),
            ("2.5", "2.5"),
        ] {
            let Err(err) = parse_record(&record(n)) else {
                panic!("{n}: accepted")
            };
            assert!(
                err.contains(&format!("kdf.iterations {shown} is outside")),
                "{n}: {err}"
            );
        }
        assert!(
            parse_record(&record("\"many\""))
                .err()
                .unwrap()
                .contains("not a number")
        );
        assert!(parse_record(&record("1000")).is_ok());
    }

    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// jwk → passphrase → wrapped → jwk keeps every plaintext, each step with fresh IVs.
        #[test]
        fn rotation_chain_keeps_plaintexts(secrets in proptest::collection::vec(".{0,40}", 1..6),
                                           pass in "[ -~é✓😀]{1,20}") {
            let (mut key, _) = new_record(NewKind::Jwk, b"", 1);
            let mut cts: Vec<String> = secrets.iter().map(|s| encrypt(&key, s)).collect();
            for kind in [NewKind::Passphrase, NewKind::Wrapped, NewKind::Jwk] {
                let (next, record) = new_record(kind, pass.as_bytes(), 2);
                let reopened = match parse_record(&record).unwrap() {
                    KeyRecord::Jwk => jwk_key(&record).unwrap(),
                    protected => unlock(&protected, pass.as_bytes()).unwrap(),
                };
                prop_assert_eq!(reopened.0.as_ref(), next.0.as_ref());
                let new_cts: Vec<String> = cts
                    .iter()
                    .map(|ct| encrypt(&next, &decrypt(&key, ct).unwrap()))
                    .collect();
                for (a, b) in cts.iter().zip(&new_cts) {
                    prop_assert_ne!(&STANDARD.decode(a).unwrap()[..12], &STANDARD.decode(b).unwrap()[..12]);
                }
                key = next;
                cts = new_cts;
            }
            for (ct, s) in cts.iter().zip(&secrets) {
                let plain = decrypt(&key, ct).unwrap();
                prop_assert_eq!(plain.as_str(), s.as_str());
            }
        }
    }

    const JWK: &str = r#"{"alg":"A256GCM","ext":true,"k":"eUtz8Ot_gHwgME_2j5S386ODmDMlbvgjTUHKg24fC_0","key_ops":["encrypt","decrypt"],"kty":"oct"}"#;

    #[test]
    fn jwk_round_trip_and_refusals() {
        let key = jwk_key(JWK).unwrap();
        assert_eq!(key.to_jwk().as_str(), JWK);
        let ct = encrypt(&key, "sécret 😀");
        assert_eq!(decrypt(&key, &ct).unwrap().as_str(), "sécret 😀");
        assert_ne!(encrypt(&key, "x"), encrypt(&key, "x"), "fresh IVs");
        assert!(
            jwk_key(&JWK.replace("A256GCM", "A128GCM"))
                .unwrap_err()
                .contains("A128GCM")
        );
        assert!(
            jwk_key(r#"{"kty":"oct","k":"AAAA"}"#)
                .unwrap_err()
                .contains("24-bit")
        );
        let mut bad = STANDARD.decode(&ct).unwrap();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(
            decrypt(&key, &STANDARD.encode(bad)),
            Err(DecryptError::Authentication)
        );
        assert_eq!(decrypt(&key, "AAAA"), Err(DecryptError::TooShort(3)));
        assert_eq!(decrypt(&key, "%%"), Err(DecryptError::NotBase64));
    }

    #[test]
    fn protected_records_detect_a_wrong_passphrase() {
        for kind in [NewKind::Passphrase, NewKind::Wrapped] {
            let pass = b"correct horse";
            let (key, text) = new_record(kind, pass, 1000);
            let record = parse_record(&text).unwrap();
            assert_ne!(record.kind(), KeyKind::Jwk);
            assert!(unlock(&record, b"wrong").is_err());
            let got = unlock(&record, pass).unwrap();
            assert_eq!(got.0.as_ref(), key.0.as_ref());
            assert!(!text.contains("correct horse"));
        }
        let (key, text) = new_record(NewKind::Jwk, b"", 0);
        assert_eq!(jwk_key(&text).unwrap().0.as_ref(), key.0.as_ref());
        let huge = r#"{"meshpeers":"key","version":1,"kind":"passphrase","kdf":{"name":"PBKDF2","hash":"SHA-256","iterations":4000000000,"salt":"AAAA"},"check":"x"}"#;
        assert!(parse_record(huge).unwrap_err().contains("refusing"));
    }
}
