//! A deterministic generator of realistic peer stores, for the bundled fixtures and the
//! benchmarks. Records are shaped like the real app's (see `../shared/corpus/serverless-chat`):
//! about 4.5 KB each, with ICE servers, SDP offers/answers and reconnection credentials.
//!
//! Shared by the integration tests and the benchmarks (each uses part of it), and kept out of
//! the library so the shipped binary carries no generator and no `rand`.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use meshpeers::js::JsString;
use meshpeers::js::number::to_json_value as json_num;
use meshpeers::peers::DAY_MS;
use meshpeers::store::{Area, ChangeSet};

#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub peers: usize,
    pub seed: u64,
    /// Epoch milliseconds the ages are measured from.
    pub now: f64,
}

const NAMES: &[&str] = &[
    "Alice",
    "Bob",
    "Chloé Müller",
    "Dave",
    "Эмма 🌸 エマ",
    "Frank",
    "Grace",
    "محمد",
    "Heidi",
    "Ivan",
    "Judy",
    "Zoë 日本 😀",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Victor",
];

/// A store of `opts.peers` peers plus the app's other keys, in the order the app writes them.
pub fn generate(opts: &SynthOptions) -> Area {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut area = Area::new();
    let put = |area: &mut Area, k: &str, v: String| {
        area.insert(JsString::from(k), JsString::from(v));
    };
    put(&mut area, "theme", "dark".into());
    put(
        &mut area,
        "mesh:schema:version",
        meshpeers::peers::SCHEMA_VERSION.into(),
    );
    let mut ids = Vec::with_capacity(opts.peers);
    let mut total_size = 0u64;
    for i in 0..opts.peers {
        let id = uuid(&mut rng);
        let record = peer_record(&mut rng, i, &id, opts.now);
        let text = serde_json::to_string(&record).unwrap_or_default();
        total_size += 2 * JsString::from(text.as_str()).utf16_len() as u64;
        put(&mut area, &format!("mesh:peer:{id}"), text);
        ids.push(Value::String(id));
    }
    put(&mut area, "mesh:peers:index", Value::Array(ids).to_string());
    let metadata = json!({
        "lastCleanup": json_num(opts.now - 2.0 * DAY_MS),
        "totalPeers": opts.peers,
        "estimatedSize": total_size,
        "statistics": {"totalReconnections": 0, "successfulReconnections": 0, "failedReconnections": 0}
    });
    put(&mut area, "mesh:peers:metadata", metadata.to_string());
    put(
        &mut area,
        "p2p_identity",
        json!({"uuid": uuid(&mut rng), "displayName": "Zoë 日本 😀"}).to_string(),
    );
    put(&mut area, "lastKnownPublicIP", "192.0.2.7".into());
    area
}

fn uuid(rng: &mut ChaCha8Rng) -> String {
    let b: [u8; 16] = rng.random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        ["8", "9", "a", "b"][usize::from(b[8] & 3)],
        &h[17..20],
        &h[20..32]
    )
}

fn peer_record(rng: &mut ChaCha8Rng, i: usize, id: &str, now: f64) -> Value {
    // Ages spread from minutes to 45 days; a few fixed cases make the example store show
    // every rule: blacklisted, expired blacklist, never connected, a hostile name, no attempts.
    let age = match i % 10 {
        0..=3 => rng.random_range(60_000.0..DAY_MS),
        4..=6 => rng.random_range(DAY_MS..7.0 * DAY_MS),
        7 | 8 => rng.random_range(7.0 * DAY_MS..30.0 * DAY_MS),
        _ => rng.random_range(30.0 * DAY_MS..45.0 * DAY_MS),
    }
    .floor();
    let last_seen = (now - age) as i64;
    let first_seen = last_seen - rng.random_range(0..20 * DAY_MS as i64);
    let name = match i {
        13 => "\u{1b}[31mred\u{1b}[0m".to_owned(),
        _ => NAMES[i % NAMES.len()].to_owned(),
    };
    let types = ["host", "srflx", "relay", "prflx", "unknown"];
    let total: u32 = rng.random_range(1..40);
    let successful = if i % 11 == 5 {
        0
    } else {
        rng.random_range(0..=total)
    };
    let attempts: u32 = if i % 7 == 3 {
        rng.random_range(5..9)
    } else {
        rng.random_range(0..4)
    };
    let blacklist = match i % 9 {
        2 => json!(now as i64 + rng.random_range(3_600_000..DAY_MS as i64)),
        5 => json!(now as i64 - rng.random_range(3_600_000..DAY_MS as i64)),
        _ => Value::Null,
    };
    let latency = if i % 6 == 4 {
        Value::Null
    } else {
        json!(rng.random_range(5..1500))
    };
    let port: u16 = rng.random_range(30000..60000);
    let sdp = |kind: &str, rng: &mut ChaCha8Rng| -> String {
        let session: u64 = rng.random();
        let ufrag: String = (0..4)
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect();
        let pwd: String = (0..24)
            .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
            .collect();
        let fp: String = (0..32)
            .map(|_| format!("{:02X}", rng.random::<u8>()))
            .collect::<Vec<_>>()
            .join(":");
        format!(
            "v=0\r\no=- {session} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application {port} UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 192.0.2.{}\r\na=candidate:{} 1 udp 2113937151 192.0.2.{} {port} typ host generation 0 network-cost 999\r\na=candidate:{} 1 udp 1677729535 198.51.100.{} {port} typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999\r\na=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\na=ice-options:trickle\r\na=fingerprint:sha-256 {fp}\r\na=setup:{kind}\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
            rng.random_range(1..255),
            rng.random::<u32>(),
            rng.random_range(1..255),
            rng.random::<u32>(),
            rng.random_range(1..255),
        )
    };
    let offer = sdp("actpass", rng);
    let answer = sdp("active", rng);
    let our_offer = sdp("actpass", rng);
    let their_answer = sdp("active", rng);
    let candidates: Vec<Value> = ["host", "srflx", "relay"]
        .iter()
        .enumerate()
        .map(|(k, typ)| {
            let priority = 2_113_937_151 - 1000 * k as u64;
            let candidate = format!(
                "candidate:{} 1 udp {priority} 192.0.2.{} {} typ {typ} generation 0 ufrag x{k:03} network-id 1",
                rng.random::<u32>(),
                rng.random_range(1..255),
                port + k as u16
            );
            json!({"candidate": candidate, "sdpMid": "0", "sdpMLineIndex": 0, "type": typ})
        })
        .collect();
    let mut record = json!({
        "peerId": id,
        "userId": id,
        "displayName": name,
        "firstSeen": first_seen,
        "lastSeen": last_seen,
        "lastConnected": if i % 8 == 6 { Value::Null } else { json!(last_seen - rng.random_range(0..3_600_000)) },
        "publicKey": Value::Null,
        "lastKnownIP": Value::Null,
        "iceServers": [
            {"urls": "stun:stun.example.org:3478"},
            {"urls": "stun:stun1.example.org:3478"},
            {"urls": "stun:stun2.example.org:3478"},
            {"urls": "stun:stun3.example.org:3478"},
            {"urls": "turn:turn.example.org:3478", "username": format!("u{:04x}", rng.random::<u16>()), "credential": format!("{:08x}", rng.random::<u32>())},
            {"urls": "turn:turn.example.org:443?transport=tcp", "username": format!("u{:04x}", rng.random::<u16>()), "credential": format!("{:08x}", rng.random::<u32>())}
        ],
        "cachedCandidates": candidates,
        "lastOffer": {"type": "offer", "sdp": offer},
        "lastAnswer": {"type": "answer", "sdp": answer},
        "wasInitiator": rng.random_bool(0.5),
        "connectionQuality": {
            "latency": latency,
            // Numbers as JSON.stringify writes them (1, not 1.0).
            "successRate": json_num((f64::from(successful) / f64::from(total) * 1e4).round() / 1e4),
            "connectionType": types[rng.random_range(0..types.len())],
            "lastMeasured": last_seen,
            "totalConnections": total,
            "successfulConnections": successful,
            "avgUptime": rng.random_range(0..3000)
        },
        "metadata": {"connectedAt": last_seen},
        "dataVersion": meshpeers::peers::SCHEMA_VERSION,
        "reconnectionCredentials": {
            "ourOffer": {"type": "offer", "sdp": our_offer},
            "theirAnswer": {"type": "answer", "sdp": their_answer},
            "timestamp": last_seen
        },
        "reconnectionAttempts": attempts,
        "blacklistUntil": blacklist
    });
    if i % 12 == 7 {
        // Real records written before the app counted attempts lack the field.
        if let Some(o) = record.as_object_mut() {
            o.shift_remove("reconnectionAttempts");
        }
    }
    record
}

/// A flat dump of `area`, pretty-printed like `JSON.stringify(obj, null, 2)`.
pub fn flat_json(area: &Area) -> String {
    meshpeers::store::render_flat(area)
}

/// A Playwright storage state with `area` under `origin` and no cookies.
pub fn playwright_json(origin: &str, area: &Area) -> String {
    let mut cs = ChangeSet::default();
    for (k, v) in area {
        cs.put(k.clone(), v.clone());
    }
    meshpeers::store::render_playwright(origin, &cs)
}

/// A Chromium profile (`<user-data-dir>/Default/Local Storage/leveldb`) holding `area` under
/// `origin` and `others` further origins of about `bytes_per_origin` each (30 keys of
/// random text), with META/METAACCESS records as Chromium writes them, for benchmarks.
/// Written with a small write buffer so the data lands in several table files and levels.
pub fn leveldb_profile(
    user_data_dir: &std::path::Path,
    origin: &str,
    area: &Area,
    others: usize,
    bytes_per_origin: usize,
    seed: u64,
) -> anyhow::Result<()> {
    use meshpeers::store::leveldb::{encoding, meta, origin_prefix};
    use rusty_leveldb::compressor::{CompressorId, SnappyCompressor};

    let dir = user_data_dir
        .join("Default")
        .join("Local Storage")
        .join("leveldb");
    std::fs::create_dir_all(&dir)?;
    let opts = rusty_leveldb::Options {
        create_if_missing: true,
        write_buffer_size: 1 << 20,
        compressor: SnappyCompressor::ID,
        ..rusty_leveldb::Options::default()
    };
    let mut db = rusty_leveldb::DB::open(&dir, opts).map_err(|e| anyhow::anyhow!(e.err))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let time = meta::chromium_time(1_795_176_000_000.0);
    let put_origin = |db: &mut rusty_leveldb::DB, o: &str, pairs: &[(JsString, JsString)]| {
        let prefix = origin_prefix(o);
        let mut batch = rusty_leveldb::WriteBatch::default();
        let mut size = 0u64;
        for (k, v) in pairs {
            let (ek, ev) = (encoding::encode(k), encoding::encode(v));
            size += (ek.len() + ev.len()) as u64;
            batch.put(&[prefix.as_slice(), &ek].concat(), &ev);
        }
        let m = meta::Meta {
            last_modified: time,
            size_bytes: size,
        };
        batch.put(format!("META:{o}").as_bytes(), &m.encode());
        batch.put(format!("METAACCESS:{o}").as_bytes(), &m.encode()[..9]);
        db.write(batch, false).map_err(|e| anyhow::anyhow!(e.err))
    };
    let mut batch = rusty_leveldb::WriteBatch::default();
    batch.put(b"VERSION", b"1");
    db.write(batch, false).map_err(|e| anyhow::anyhow!(e.err))?;
    let mine: Vec<(JsString, JsString)> =
        area.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for i in 0..others {
        // Origins sort around the app's one, as in a real profile.
        let o = format!("https://site{i:04}.example");
        let pairs = other_origin_pairs(&mut rng, 30, bytes_per_origin);
        put_origin(&mut db, &o, &pairs)?;
        if i == others / 2 {
            put_origin(&mut db, origin, &mine)?;
        }
    }
    if others == 0 {
        put_origin(&mut db, origin, &mine)?;
    }
    db.close().map_err(|e| anyhow::anyhow!(e.err))?;
    Ok(())
}

/// A Chromium SQLite `LocalStorage` file (Chromium's schema, its encodings, `total_size` as it
/// counts it) holding `area` under `origin` among `others` other origins of about
/// `bytes_per_origin` each.
pub fn chromium_sqlite_file(
    file: &std::path::Path,
    origin: &str,
    area: &Area,
    others: usize,
    bytes_per_origin: usize,
    seed: u64,
) -> anyhow::Result<()> {
    use meshpeers::store::chromium_sqlite::{SCHEMA, storage_key};
    use meshpeers::store::leveldb::encoding::encode;
    let mut conn = rusqlite::Connection::open(file)?;
    conn.execute_batch(SCHEMA)?;
    let tx = conn.transaction()?;
    let time = 13_440_647_448_444_695_i64;
    let put = |o: &str, pairs: &[(JsString, JsString)]| -> rusqlite::Result<()> {
        let size: usize = pairs
            .iter()
            .map(|(k, v)| encode(k).len() + encode(v).len())
            .sum();
        tx.execute(
            "INSERT INTO maps (storage_key, last_accessed, last_modified, total_size) VALUES (?1, ?2, ?2, ?3)",
            rusqlite::params![storage_key(o), time, size as i64],
        )?;
        let id = tx.last_insert_rowid();
        for (k, v) in pairs {
            tx.execute(
                "INSERT OR REPLACE INTO map_entries VALUES (?1, 0, ?2, ?3)",
                rusqlite::params![id, encode(k), encode(v)],
            )?;
        }
        Ok(())
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mine: Vec<(JsString, JsString)> =
        area.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    put(origin, &mine)?;
    for i in 0..others {
        put(
            &format!("https://site{i:04}.example"),
            &other_origin_pairs(&mut rng, 30, bytes_per_origin),
        )?;
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(())
}

/// A WebKit general storage directory (unified layout: salt, hash directories, origin files,
/// WebKit's `ItemTable`) holding `area` under `origin` among `others` other origins.
pub fn webkit_storage(
    storage: &std::path::Path,
    origin: &str,
    area: &Area,
    others: usize,
    bytes_per_origin: usize,
    seed: u64,
) -> anyhow::Result<()> {
    use meshpeers::store::webkit::{CREATE_TABLE, hashed_name, origin_file};
    let salt = [0x62, 0x66, 0x55, 0xd0, 0xd6, 0xe2, 0x4e, 0x15];
    std::fs::create_dir_all(storage)?;
    std::fs::write(storage.join("salt"), salt)?;
    let put = |o: &str, pairs: &[(JsString, JsString)]| -> anyhow::Result<()> {
        let h = hashed_name(o, &salt);
        let dir = storage.join(&h).join(&h);
        std::fs::create_dir_all(dir.join("LocalStorage"))?;
        std::fs::write(dir.join("origin"), origin_file(o).expect("an origin"))?;
        let mut conn = rusqlite::Connection::open(dir.join("LocalStorage/localstorage.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.execute_batch(CREATE_TABLE)?;
        let tx = conn.transaction()?;
        for (k, v) in pairs {
            let blob: Vec<u8> = v.utf16_units().flat_map(u16::to_le_bytes).collect();
            tx.execute(
                "INSERT INTO ItemTable (key, value) VALUES (?1, ?2)",
                rusqlite::params![k.to_string_lossy(), blob],
            )?;
        }
        tx.commit()?;
        Ok(())
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mine: Vec<(JsString, JsString)> =
        area.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    put(origin, &mine)?;
    for i in 0..others {
        put(
            &format!("https://site{i:04}.example"),
            &other_origin_pairs(&mut rng, 30, bytes_per_origin),
        )?;
    }
    Ok(())
}

/// `keys` keys of another site's localStorage, about `bytes` in all, random JSON-ish text.
fn other_origin_pairs(
    rng: &mut ChaCha8Rng,
    keys: usize,
    bytes: usize,
) -> Vec<(JsString, JsString)> {
    let per_key = bytes / keys;
    (0..keys)
        .map(|k| {
            let value: String = (0..per_key)
                .map(|_| {
                    char::from(
                        b"abcdefghijklmnopqrstuvwxyz0123456789{}:,\""[rng.random_range(0..41)],
                    )
                })
                .collect();
            (JsString::from(format!("key{k}")), JsString::from(value))
        })
        .collect()
}

/// A Firefox profile holding `area` under `origin` among `others` other origins of about
/// `bytes_per_origin` each, every origin written by meshpeers' own Firefox writer (as a restore
/// into a fresh profile creates it).
pub fn firefox_profile(
    profile: &std::path::Path,
    origin: &str,
    area: &Area,
    others: usize,
    bytes_per_origin: usize,
    seed: u64,
) -> anyhow::Result<()> {
    use meshpeers::store::{BackendKind, OpenOptions, SaveOptions, Store, StoreSource};

    std::fs::create_dir_all(profile.join("storage").join("default"))?;
    std::fs::write(profile.join("prefs.js"), "")?;
    let write = |o: &str, pairs: Vec<(JsString, JsString)>| {
        let mut store = Store::open(&OpenOptions {
            source: StoreSource::Path(profile.to_path_buf()),
            format: Some(BackendKind::Firefox),
            origin: Some(o.to_owned()),
            prefix: "mesh:".into(),
            profile: None,
            lock_for_write: true,
            salvage: false,
            live: Default::default(),
        })?;
        let mut changes = ChangeSet::default();
        for (k, v) in pairs {
            changes.put(k, v);
        }
        store.save(&changes, &SaveOptions { keep_previous: 0 })
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    write(
        origin,
        area.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    )?;
    for i in 0..others {
        let pairs = other_origin_pairs(&mut rng, 20, bytes_per_origin);
        write(&format!("https://site{i:04}.example"), pairs)?;
    }
    Ok(())
}
