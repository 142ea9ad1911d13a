//! The human output of every command on the bundled example store, pinned: the exit status,
//! stdout and stderr of each run, at a fixed `--now`, terminal width and no colour (as uv's
//! `uv_snapshot!` and jj's tests pin theirs). A change to a table, a summary line or a message
//! shows up here as a diff; `cargo insta review` accepts it.

use std::path::Path;

use crate::support::{TestEnv, meshpeers, repo};

const NOW: &str = "1795176000000";
const ALICE: &str = "3bdbb806-03b6-49cf-8058-085626ab2fdc";

/// A scratch directory holding the example store as `store.json`.
fn example() -> TestEnv {
    let env = TestEnv::new();
    env.copy(&repo().join("fixtures/example/store.json"), "store.json");
    env
}

/// Runs meshpeers in `dir` with a pinned clock and width; gives what a person would see.
fn human(dir: &Path, args: &[&str]) -> String {
    let out = meshpeers()
        .current_dir(dir)
        .args(args)
        .args(["--now", NOW])
        .env("COLUMNS", "100")
        .output()
        .expect("runs");
    format!(
        "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The human output of `meshpeers ARGS…` in the env's directory, compared with the inline
/// snapshot (the wall-clock time in backup names filtered out).
macro_rules! cli_snapshot {
    ($env:expr, [$($arg:expr),* $(,)?], @$snap:literal) => {{
        let out = human($env.dir.path(), &[$($arg),*]);
        insta::with_settings!({filters => vec![(r"\d{8}T\d{6}Z", "[UTC]")]}, {
            insta::assert_snapshot!(out, @$snap);
        });
    }};
}

#[test]
fn inspect() {
    let env = example();
    cli_snapshot!(env, ["inspect", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
     store:        store.json (flat JSON dump)         
     origin:       (none: a flat dump names no origin) 
     schema:       1.0.0                               
     peers:        20 records, 20 in the index         
     namespace:    179.8 KiB under mesh:               
     origin size:  180.0 KiB of 10.0 MiB quota         
     key record:   none                                

    Other keys of the origin (kept untouched):
    ┌───────────────────┬───────┐
    │ KEY               ┆ BYTES │
    ╞═══════════════════╪═══════╡
    │ lastKnownPublicIP ┆ 52 B  │
    │ p2p_identity      ┆ 170 B │
    │ theme             ┆ 18 B  │
    └───────────────────┴───────┘

    Findings:
    ┌──────────┬──────────────────┬────────────────────────────────────────────────┬───────────────────────────────────────────────────────────────────────────────────┐
    │ SEVERITY ┆ CODE             ┆ KEY                                            ┆ MESSAGE                                                                           │
    ╞══════════╪══════════════════╪════════════════════════════════════════════════╪═══════════════════════════════════════════════════════════════════════════════════╡
    │ warning  ┆ attempts-missing ┆ mesh:peer:6ba04cb5-07d8-48f2-8cd4-a9a1e2d39b87 ┆ no reconnectionAttempts: the app's reconnection score is NaN (meshpeers counts 0) │
    │ warning  ┆ attempts-missing ┆ mesh:peer:74d42bb4-fa62-4dd0-88d1-2b462510e146 ┆ no reconnectionAttempts: the app's reconnection score is NaN (meshpeers counts 0) │
    └──────────┴──────────────────┴────────────────────────────────────────────────┴───────────────────────────────────────────────────────────────────────────────────┘
    ----- stderr -----
    ");
}

#[test]
fn list() {
    let env = example();
    cli_snapshot!(env, ["list", "--store", "store.json", "--sort", "quality", "--limit", "5"], @"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬──────────────┬───────────┬───────────┬─────────┬─────────┬─────────┬──────────┬─────────────┬────────┐
    │ PEER                                 ┆ NAME         ┆ LAST SEEN ┆ CONNECTED ┆ QUALITY ┆ TYPE    ┆ LATENCY ┆ ATTEMPTS ┆ BLACKLISTED ┆ SECRET │
    ╞══════════════════════════════════════╪══════════════╪═══════════╪═══════════╪═════════╪═════════╪═════════╪══════════╪═════════════╪════════╡
    │ 49e9d0c2-c4a8-49de-bb32-9b34aee0b021 ┆ Peggy        ┆ 4d ago    ┆ 4d ago    ┆ 67      ┆ relay   ┆ 91 ms   ┆ 3        ┆ -           ┆ no     │
    │ b371e63a-0fb2-4626-bb39-6b419f7eff1a ┆ Эмма 🌸 エマ ┆ 3d ago    ┆ 4d ago    ┆ 58      ┆ host    ┆ -       ┆ 2        ┆ -           ┆ no     │
    │ 8424dad9-e6d3-4bc5-aea7-18ea048fa903 ┆ Bob          ┆ 2h ago    ┆ 3h ago    ┆ 57      ┆ srflx   ┆ 658 ms  ┆ 1        ┆ -           ┆ no     │
    │ 73240ed2-d238-4600-994a-f85e0c7380ee ┆ Judy         ┆ 12h ago   ┆ 13h ago   ┆ 55      ┆ host    ┆ -       ┆ 8        ┆ -           ┆ no     │
    │ 76903246-a037-4d56-a223-203097c22820 ┆ Dave         ┆ 42m ago   ┆ 1h ago    ┆ 41      ┆ unknown ┆ 780 ms  ┆ 5        ┆ -           ┆ no     │
    └──────────────────────────────────────┴──────────────┴───────────┴───────────┴─────────┴─────────┴─────────┴──────────┴─────────────┴────────┘
    5 of 20 peers (2 blacklisted not shown; --include-blacklisted shows them)
    ----- stderr -----
    ");
}

#[test]
fn show() {
    let env = example();
    cli_snapshot!(env, ["show", "3bdbb806", "--store", "store.json"], @r#"
    exit: 0
    ----- stdout -----
    mesh:peer:3bdbb806-03b6-49cf-8058-085626ab2fdc
    {
      "peerId": "3bdbb806-03b6-49cf-8058-085626ab2fdc",
      "userId": "3bdbb806-03b6-49cf-8058-085626ab2fdc",
      "displayName": "Alice",
      "firstSeen": 1794037841200,
      "lastSeen": 1795156611614,
      "lastConnected": 1795155994482,
      "publicKey": null,
      "lastKnownIP": null,
      "iceServers": [
        {
          "urls": "stun:stun.example.org:3478"
        },
        {
          "urls": "stun:stun1.example.org:3478"
        },
        {
          "urls": "stun:stun2.example.org:3478"
        },
        {
          "urls": "stun:stun3.example.org:3478"
        },
        {
          "urls": "turn:turn.example.org:3478",
          "username": "ucd39",
          "credential": "fd6ed852"
        },
        {
          "urls": "turn:turn.example.org:443?transport=tcp",
          "username": "u7166",
          "credential": "aaf3c8f7"
        }
      ],
      "cachedCandidates": [
        {
          "candidate": "candidate:1712005417 1 udp 2113937151 192.0.2.184 52179 typ host generation 0 ufrag x000 network-id 1",
          "sdpMid": "0",
          "sdpMLineIndex": 0,
          "type": "host"
        },
        {
          "candidate": "candidate:3473285898 1 udp 2113936151 192.0.2.109 52180 typ srflx generation 0 ufrag x001 network-id 1",
          "sdpMid": "0",
          "sdpMLineIndex": 0,
          "type": "srflx"
        },
        {
          "candidate": "candidate:1548637024 1 udp 2113935151 192.0.2.81 52181 typ relay generation 0 ufrag x002 network-id 1",
          "sdpMid": "0",
          "sdpMLineIndex": 0,
          "type": "relay"
        }
      ],
      "lastOffer": {
        "type": "offer",
        "sdp": "v=0\r\no=- 4731861171250259665 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 52179 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 192.0.2.57\r\na=candidate:1038524521 1 udp 2113937151 192.0.2.135 52179 typ host generation 0 network-cost 999\r\na=candidate:250361728 1 udp 1677729535 198.51.100.188 52179 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999\r\na=ice-ufrag:otlw\r\na=ice-pwd:UUCKAUNCKEFYYBELFWTJLOXS\r\na=ice-options:trickle\r\na=fingerprint:sha-256 F2:50:76:28:2A:43:33:6F:20:07:6E:1A:49:47:99:8F:15:E2:74:3B:9B:8B:D7:26:78:5B:C3:61:EE:BC:69:AE\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"
      },
      "lastAnswer": {
        "type": "answer",
        "sdp": "v=0\r\no=- 5187472979916136975 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 52179 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 192.0.2.213\r\na=candidate:746022199 1 udp 2113937151 192.0.2.119 52179 typ host generation 0 network-cost 999\r\na=candidate:2764118381 1 udp 1677729535 198.51.100.125 52179 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999\r\na=ice-ufrag:ynpq\r\na=ice-pwd:YRRCCSQHTGOYQLSUSYKOXUVW\r\na=ice-options:trickle\r\na=fingerprint:sha-256 0A:AF:2D:70:FF:67:67:02:ED:0F:18:94:18:35:0E:3C:EF:70:B7:B3:42:FB:D2:B9:9C:91:92:ED:A1:D7:B9:C2\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"
      },
      "wasInitiator": true,
      "connectionQuality": {
        "latency": 1341,
        "successRate": 0.6452,
        "connectionType": "srflx",
        "lastMeasured": 1795156611614,
        "totalConnections": 31,
        "successfulConnections": 20,
        "avgUptime": 391
      },
      "metadata": {
        "connectedAt": 1795156611614
      },
      "dataVersion": "1.0.0",
      "reconnectionCredentials": {
        "ourOffer": {
          "type": "offer",
          "sdp": "v=0\r\no=- 5807019135142271136 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 52179 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 192.0.2.151\r\na=candidate:2545822230 1 udp 2113937151 192.0.2.217 52179 typ host generation 0 network-cost 999\r\na=candidate:2479041458 1 udp 1677729535 198.51.100.171 52179 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999\r\na=ice-ufrag:mndf\r\na=ice-pwd:WRUKTRMECLUGORZHUMQDTDGU\r\na=ice-options:trickle\r\na=fingerprint:sha-256 E9:2C:02:AB:12:D6:CE:F5:C9:24:20:88:72:2F:BF:27:67:4A:B2:2F:AC:2C:48:29:DA:4D:9F:89:F2:73:95:8F\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"
        },
        "theirAnswer": {
          "type": "answer",
          "sdp": "v=0\r\no=- 10561495297379933815 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 52179 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 192.0.2.219\r\na=candidate:3495025729 1 udp 2113937151 192.0.2.135 52179 typ host generation 0 network-cost 999\r\na=candidate:990538773 1 udp 1677729535 198.51.100.118 52179 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999\r\na=ice-ufrag:taba\r\na=ice-pwd:RMGOHLESFCYQMYNHLKJULCLE\r\na=ice-options:trickle\r\na=fingerprint:sha-256 9A:B8:AF:23:C5:55:E4:C2:2C:E8:D0:0C:F6:80:A6:A1:F5:C5:39:A7:79:C7:1F:E6:78:E6:55:48:87:46:58:83\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"
        },
        "timestamp": 1795156611614
      },
      "reconnectionAttempts": 2,
      "blacklistUntil": null
    }

    ┌──────────────┬───────┬────────────────────────────────────────────────────────────────────────────────────────────────────────────────┐
    │ SCORE        ┆ TOTAL ┆ PARTS                                                                                                          │
    ╞══════════════╪═══════╪════════════════════════════════════════════════════════════════════════════════════════════════════════════════╡
    │ quality      ┆ 38    ┆ latency 0 + success rate 19 + connection type 12 + uptime 7                                                    │
    │ reconnection ┆ 65.2  ┆ quality×0.4 15.200000000000001 + recency 30 + connections 20 + reliability 10 + penalty -10 (clamped to 0–100) │
    └──────────────┴───────┴────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
    reason: recently-active
    ----- stderr -----
    "#);
}

#[test]
fn stats() {
    let env = example();
    cli_snapshot!(env, ["stats", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
     peers (index entries):  20 of 100 max                       
     utilisation:            20.0%                               
     estimated size:         180270 bytes (0.17 MB)              
     last cleanup:           2d ago                              
     needs cleanup:          yes                                 
     origin size:            180.0 KiB of 10.0 MiB quota (1.76%) 

    quota █░░░░░░░░░░░░░░░░░░░░░░░░░░░░░ 1.76%

    quality (20 peers)
      90-100  ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░ 0
       80-89  ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░ 0
       70-79  ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░ 0
       60-69  █████░░░░░░░░░░░░░░░░░░░░░░░░░ 1
       50-59  ████████████████████░░░░░░░░░░ 4
       40-49  ██████████░░░░░░░░░░░░░░░░░░░░ 2
       30-39  ██████████████████████████████ 6
       20-29  ████████████████████░░░░░░░░░░ 4
       10-19  ██████████░░░░░░░░░░░░░░░░░░░░ 2
         0-9  █████░░░░░░░░░░░░░░░░░░░░░░░░░ 1

    last seen
        ≤ 1d  ██████████████████████████████ 8
        1-3d  ████████░░░░░░░░░░░░░░░░░░░░░░ 2
        3-7d  ███████████████░░░░░░░░░░░░░░░ 4
       7-14d  ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░ 0  ← 7d: hybrid never-connected
      14-30d  ███████████████░░░░░░░░░░░░░░░ 4  ← 14d: hybrid low-quality
       > 30d  ████████░░░░░░░░░░░░░░░░░░░░░░ 2  ← 30d: stale, age, hybrid

    cleanup now would remove (default thresholds)
      stale 5 · age 2 · failures 3 · lru 0 · quality 0 · hybrid 6
    ----- stderr -----
    ");
}

#[test]
fn score() {
    let env = example();
    cli_snapshot!(env, ["score", ALICE, "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬───────┬─────────┬────────────────────────────┬───────────┬───────────────────────────────────────────────────────┬─────────────────┐
    │ PEER                                 ┆ NAME  ┆ QUALITY ┆ = LATENCY+RATE+TYPE+UPTIME ┆ RECONNECT ┆ = QUALITY×0.4+RECENCY+CONNECTIONS+RELIABILITY+PENALTY ┆ REASON          │
    ╞══════════════════════════════════════╪═══════╪═════════╪════════════════════════════╪═══════════╪═══════════════════════════════════════════════════════╪═════════════════╡
    │ 3bdbb806-03b6-49cf-8058-085626ab2fdc ┆ Alice ┆ 38      ┆ 0+19+12+7                  ┆ 65.2      ┆ 15.200000000000001+30+20+10-10                        ┆ recently-active │
    └──────────────────────────────────────┴───────┴─────────┴────────────────────────────┴───────────┴───────────────────────────────────────────────────────┴─────────────────┘
    ----- stderr -----
    ");
}

#[test]
fn candidates() {
    let env = example();
    cli_snapshot!(env, ["candidates", "--store", "store.json"], @r"
    exit: 0
    ----- stdout -----
    ┌────┬──────────────────────────────────────┬────────────────────────┬────────────────────┬───────────────────────────────────────────────────────┬─────────┬──────────────────────────────────────────────┐
    │ #  ┆ PEER                                 ┆ NAME                   ┆ SCORE              ┆ = QUALITY×0.4+RECENCY+CONNECTIONS+RELIABILITY+PENALTY ┆ QUALITY ┆ REASON                                       │
    ╞════╪══════════════════════════════════════╪════════════════════════╪════════════════════╪═══════════════════════════════════════════════════════╪═════════╪══════════════════════════════════════════════╡
    │ 1  ┆ 8424dad9-e6d3-4bc5-aea7-18ea048fa903 ┆ Bob                    ┆ 77.8               ┆ 22.8+30+20+10-5                                       ┆ 57      ┆ reliable, recently-active                    │
    │ 2  ┆ 3bdbb806-03b6-49cf-8058-085626ab2fdc ┆ Alice                  ┆ 65.2               ┆ 15.200000000000001+30+20+10-10                        ┆ 38      ┆ recently-active                              │
    │ 3  ┆ a33ce554-bbe8-425e-a68e-b62e497f5914 ┆ \u{1b}[31mred\u{1b}[0m ┆ 60.400000000000006 ┆ 10.4+30+20+10-10                                      ┆ 26      ┆ recently-active                              │
    │ 4  ┆ c5218519-0558-4a4a-b7da-73c574aab9cc ┆ Grace                  ┆ 58.6               ┆ 13.600000000000001+20+20+10-5                         ┆ 34      ┆ available                                    │
    │ 5  ┆ 49e9d0c2-c4a8-49de-bb32-9b34aee0b021 ┆ Peggy                  ┆ 51.8               ┆ 26.8+10+20+10-15                                      ┆ 67      ┆ low-latency                                  │
    │ 6  ┆ b371e63a-0fb2-4626-bb39-6b419f7eff1a ┆ Эмма 🌸 エマ           ┆ 48.2               ┆ 23.200000000000003+10+20+5-10                         ┆ 58      ┆ direct-connection, reliable                  │
    │ 7  ┆ 76903246-a037-4d56-a223-203097c22820 ┆ Dave                   ┆ 46.400000000000006 ┆ 16.400000000000002+30+20+5-25                         ┆ 41      ┆ reliable, recently-active                    │
    │ 8  ┆ 9577ebcc-1869-46d5-b337-c2a1289aee33 ┆ Olivia                 ┆ 38.4               ┆ 8.4+10+20+10-10                                       ┆ 21      ┆ available                                    │
    │ 9  ┆ 73240ed2-d238-4600-994a-f85e0c7380ee ┆ Judy                   ┆ 37                 ┆ 22+30+20+5-40                                         ┆ 55      ┆ direct-connection, reliable, recently-active │
    │ 10 ┆ 118f0213-ee24-4a3f-9567-ddc8f7a2a333 ┆ Mallory                ┆ 25                 ┆ 8+30+2+0-15                                           ┆ 20      ┆ recently-active                              │
    └────┴──────────────────────────────────────┴────────────────────────┴────────────────────┴───────────────────────────────────────────────────────┴─────────┴──────────────────────────────────────────────┘
    10 candidates from the 20 best non-blacklisted peers by quality seen within 7d
    ----- stderr -----
    ");
}

#[test]
fn cleanup_dry_run() {
    let env = example();
    cli_snapshot!(env, ["cleanup", "--strategy", "hybrid", "--dry-run", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬────────┬────────┬──────────────────────┬──────────────────────────────────────────────────────────────────────────────────────────────────────┐
    │ PEER                                 ┆ NAME   ┆ ACTION ┆ RULE                 ┆ WHY                                                                                                  │
    ╞══════════════════════════════════════╪════════╪════════╪══════════════════════╪══════════════════════════════════════════════════════════════════════════════════════════════════════╡
    │ 76903246-a037-4d56-a223-203097c22820 ┆ Dave   ┆ remove ┆ failed-reconnections ┆ 5 failed reconnection attempts (at least 5), no blacklist                                            │
    │ 73240ed2-d238-4600-994a-f85e0c7380ee ┆ Judy   ┆ remove ┆ failed-reconnections ┆ 8 failed reconnection attempts (at least 5), no blacklist                                            │
    │ 5548a411-04eb-413b-8008-eb3b70dbf2f8 ┆ Trent  ┆ remove ┆ never-connected      ┆ never connected successfully (successfulConnections 0) and last seen 27d 13h ago (more than 7d)      │
    │ f77667cf-9126-4a91-884c-b1c1e137f955 ┆ Sybil  ┆ remove ┆ failed-reconnections ┆ 8 failed reconnection attempts (at least 5), no blacklist                                            │
    │ 74d42bb4-fa62-4dd0-88d1-2b462510e146 ┆ Victor ┆ remove ┆ inactive             ┆ last seen 36d 4h ago (more than 30d); quality 19 (below 20) and last seen 36d 4h ago (more than 14d) │
    │ 92e5ad48-ff07-4ea6-8c9d-f113a71e8f38 ┆ Ivan   ┆ remove ┆ inactive             ┆ last seen 43d 6h ago (more than 30d); quality 14 (below 20) and last seen 43d 6h ago (more than 14d) │
    └──────────────────────────────────────┴────────┴────────┴──────────────────────┴──────────────────────────────────────────────────────────────────────────────────────────────────────┘
    by rule: failed-reconnections 3 · never-connected 1 · inactive 2
    dry run: nothing was written. Would have removed 6 peers.
    would write: mesh:peers:index, mesh:peers:metadata
    would delete: 6 peer records
    ----- stderr -----
    ");
}

#[test]
fn cleanup_stale() {
    let env = example();
    cli_snapshot!(env, ["cleanup", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬────────┬────────┬──────────────────────┬───────────────────────────────────────────────────────────┐
    │ PEER                                 ┆ NAME   ┆ ACTION ┆ RULE                 ┆ WHY                                                       │
    ╞══════════════════════════════════════╪════════╪════════╪══════════════════════╪═══════════════════════════════════════════════════════════╡
    │ 76903246-a037-4d56-a223-203097c22820 ┆ Dave   ┆ remove ┆ failed-reconnections ┆ 5 failed reconnection attempts (at least 5), no blacklist │
    │ 92e5ad48-ff07-4ea6-8c9d-f113a71e8f38 ┆ Ivan   ┆ remove ┆ inactive             ┆ last seen 43d 6h ago (more than 30d)                      │
    │ 73240ed2-d238-4600-994a-f85e0c7380ee ┆ Judy   ┆ remove ┆ failed-reconnections ┆ 8 failed reconnection attempts (at least 5), no blacklist │
    │ f77667cf-9126-4a91-884c-b1c1e137f955 ┆ Sybil  ┆ remove ┆ failed-reconnections ┆ 8 failed reconnection attempts (at least 5), no blacklist │
    │ 74d42bb4-fa62-4dd0-88d1-2b462510e146 ┆ Victor ┆ remove ┆ inactive             ┆ last seen 36d 4h ago (more than 30d)                      │
    └──────────────────────────────────────┴────────┴────────┴──────────────────────┴───────────────────────────────────────────────────────────┘
    removed 5 peers in store.json
    wrote: mesh:peers:index, mesh:peers:metadata
    deleted: 5 peer records
    backup of the namespace before the change: store.json.[UTC].cleanup.meshpeers-backup.json
    bring the removed peers back: meshpeers --store store.json import store.json.[UTC].cleanup.meshpeers-backup.json
    restore the namespace exactly as it was: meshpeers --store store.json import --mode replace store.json.[UTC].cleanup.meshpeers-backup.json
    ----- stderr -----
    ");
}

#[test]
fn remove() {
    let env = example();
    cli_snapshot!(env, ["remove", ALICE, "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬───────┬────────┬───────────┬───────────────────────────────────────────────────────────────┐
    │ PEER                                 ┆ NAME  ┆ ACTION ┆ RULE      ┆ WHY                                                           │
    ╞══════════════════════════════════════╪═══════╪════════╪═══════════╪═══════════════════════════════════════════════════════════════╡
    │ 3bdbb806-03b6-49cf-8058-085626ab2fdc ┆ Alice ┆ remove ┆ requested ┆ named on the command line; removes its record and index entry │
    └──────────────────────────────────────┴───────┴────────┴───────────┴───────────────────────────────────────────────────────────────┘
    removed 1 peer in store.json
    wrote: mesh:peers:index, mesh:peers:metadata
    deleted: 1 peer record
    backup of the namespace before the change: store.json.[UTC].remove.meshpeers-backup.json
    bring the removed peers back: meshpeers --store store.json import store.json.[UTC].remove.meshpeers-backup.json
    restore the namespace exactly as it was: meshpeers --store store.json import --mode replace store.json.[UTC].remove.meshpeers-backup.json
    ----- stderr -----
    ");
}

#[test]
fn remove_an_unknown_peer() {
    let env = example();
    cli_snapshot!(env, ["remove", "3bd", "--store", "store.json"], @"
    exit: 1
    ----- stdout -----
    ----- stderr -----
    meshpeers: error: store.json: no peer 3bd (a prefix needs at least 4 characters; did you mean 3bdbb806-03b6-49cf-8058-085626ab2fdc?); nothing was changed
    ");
}

#[test]
fn clear() {
    let env = example();
    cli_snapshot!(env, ["clear", "--yes", "--store", "store.json"], @r"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬────────────────────────┬────────┬───────┬─────────────────────────┐
    │ PEER                                 ┆ NAME                   ┆ ACTION ┆ RULE  ┆ WHY                     │
    ╞══════════════════════════════════════╪════════════════════════╪════════╪═══════╪═════════════════════════╡
    │ 1078b098-8979-4613-99bb-a378074e888e ┆ Heidi                  ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 118f0213-ee24-4a3f-9567-ddc8f7a2a333 ┆ Mallory                ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 268fbb91-33c7-403b-bf5b-8c32a6cd5e32 ┆ Rupert                 ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 3bdbb806-03b6-49cf-8058-085626ab2fdc ┆ Alice                  ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 3e693117-6055-4390-9169-bdc17e5cb1ef ┆ Chloé Müller           ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 49e9d0c2-c4a8-49de-bb32-9b34aee0b021 ┆ Peggy                  ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 5548a411-04eb-413b-8008-eb3b70dbf2f8 ┆ Trent                  ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 6ba04cb5-07d8-48f2-8cd4-a9a1e2d39b87 ┆ محمد                   ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 73240ed2-d238-4600-994a-f85e0c7380ee ┆ Judy                   ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 74d42bb4-fa62-4dd0-88d1-2b462510e146 ┆ Victor                 ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 76903246-a037-4d56-a223-203097c22820 ┆ Dave                   ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 7b45e0fe-7748-43ca-a63e-70e8a37657b3 ┆ Frank                  ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 8206ecc9-187f-4bea-95d5-07607d555c74 ┆ Zoë 日本 😀            ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 8424dad9-e6d3-4bc5-aea7-18ea048fa903 ┆ Bob                    ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 92e5ad48-ff07-4ea6-8c9d-f113a71e8f38 ┆ Ivan                   ┆ remove ┆ clear ┆ logout: every peer goes │
    │ 9577ebcc-1869-46d5-b337-c2a1289aee33 ┆ Olivia                 ┆ remove ┆ clear ┆ logout: every peer goes │
    │ a33ce554-bbe8-425e-a68e-b62e497f5914 ┆ \u{1b}[31mred\u{1b}[0m ┆ remove ┆ clear ┆ logout: every peer goes │
    │ b371e63a-0fb2-4626-bb39-6b419f7eff1a ┆ Эмма 🌸 エマ           ┆ remove ┆ clear ┆ logout: every peer goes │
    │ c5218519-0558-4a4a-b7da-73c574aab9cc ┆ Grace                  ┆ remove ┆ clear ┆ logout: every peer goes │
    │ f77667cf-9126-4a91-884c-b1c1e137f955 ┆ Sybil                  ┆ remove ┆ clear ┆ logout: every peer goes │
    └──────────────────────────────────────┴────────────────────────┴────────┴───────┴─────────────────────────┘
    removed 20 peers in store.json
    deleted: 20 peer records, mesh:peers:index, mesh:peers:metadata
    backup of the namespace before the change: store.json.[UTC].clear.meshpeers-backup.json
    bring the removed peers back: meshpeers --store store.json import store.json.[UTC].clear.meshpeers-backup.json
    restore the namespace exactly as it was: meshpeers --store store.json import --mode replace store.json.[UTC].clear.meshpeers-backup.json
    ----- stderr -----
    ");
}

#[test]
fn clear_without_yes() {
    let env = example();
    cli_snapshot!(env, ["clear", "--store", "store.json"], @"
    exit: 1
    ----- stdout -----
    ----- stderr -----
    meshpeers: error: refused: clear: remove all 20 peer records, the index, the metadata and the encryption key from store.json needs confirmation; pass --yes (no terminal to ask on)
    ");
}

#[test]
fn unblacklist() {
    let env = example();
    cli_snapshot!(env, ["unblacklist", "--expired", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬────────┬─────────────┬───────────────────┬─────────────────────────────────────────────────────────┐
    │ PEER                                 ┆ NAME   ┆ ACTION      ┆ RULE              ┆ WHY                                                     │
    ╞══════════════════════════════════════╪════════╪═════════════╪═══════════════════╪═════════════════════════════════════════════════════════╡
    │ 7b45e0fe-7748-43ca-a63e-70e8a37657b3 ┆ Frank  ┆ unblacklist ┆ expired-blacklist ┆ blacklist ended 15h 42m ago; reconnectionAttempts 1 → 0 │
    │ 9577ebcc-1869-46d5-b337-c2a1289aee33 ┆ Olivia ┆ unblacklist ┆ expired-blacklist ┆ blacklist ended 18h 6m ago; reconnectionAttempts 2 → 0  │
    └──────────────────────────────────────┴────────┴─────────────┴───────────────────┴─────────────────────────────────────────────────────────┘
    unblacklisted 2 peers in store.json
    wrote: 2 peer records, mesh:peers:metadata
    backup of the namespace before the change: store.json.[UTC].unblacklist.meshpeers-backup.json
    restore the namespace exactly as it was: meshpeers --store store.json import --mode replace store.json.[UTC].unblacklist.meshpeers-backup.json
    ----- stderr -----
    ");
}

#[test]
fn export_rows() {
    let env = example();
    cli_snapshot!(env, ["export", "--peers-only", "--format", "csv", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    peerId,displayName,lastSeen,lastConnected,quality,reconnection,connectionType,latency,reconnectionAttempts,blacklistUntil,hasSecret
    3bdbb806-03b6-49cf-8058-085626ab2fdc,Alice,1795156611614,1795155994482,38,65.2,srflx,1341,2,,false
    8424dad9-e6d3-4bc5-aea7-18ea048fa903,Bob,1795165905624,1795163421074,57,77.8,srflx,658,1,,false
    3e693117-6055-4390-9169-bdc17e5cb1ef,Chloé Müller,1795169960048,1795169265818,51,75.4,host,1038,1,1795220701621,false
    76903246-a037-4d56-a223-203097c22820,Dave,1795173451458,1795172331748,41,46.400000000000006,unknown,780,5,,false
    b371e63a-0fb2-4626-bb39-6b419f7eff1a,Эмма 🌸 エマ,1794830782029,1794829875023,58,48.2,host,,2,,false
    7b45e0fe-7748-43ca-a63e-70e8a37657b3,Frank,1794625482758,1794623047935,37,24.8,srflx,384,1,1795119446448,false
    c5218519-0558-4a4a-b7da-73c574aab9cc,Grace,1795048200147,,34,58.6,prflx,869,1,,false
    6ba04cb5-07d8-48f2-8cd4-a9a1e2d39b87,محمد,1793532484335,1793529693272,31,42.4,unknown,542,,,false
    1078b098-8979-4613-99bb-a378074e888e,Heidi,1792747549056,1792744154544,34,33.6,srflx,502,2,,false
    92e5ad48-ff07-4ea6-8c9d-f113a71e8f38,Ivan,1791435920719,1791434941637,14,0,prflx,1165,3,,false
    73240ed2-d238-4600-994a-f85e0c7380ee,Judy,1795131978083,1795128443179,55,37,host,,8,,false
    8206ecc9-187f-4bea-95d5-07607d555c74,Zoë 日本 😀,1795152705763,1795152398699,31,34.4,host,1330,3,1795192066298,false
    118f0213-ee24-4a3f-9567-ddc8f7a2a333,Mallory,1795127739001,1795127394172,20,25,relay,1329,3,,false
    a33ce554-bbe8-425e-a68e-b62e497f5914,[31mred[0m,1795156491716,1795155172751,26,60.400000000000006,prflx,971,2,,false
    9577ebcc-1869-46d5-b337-c2a1289aee33,Olivia,1794751590642,,21,38.4,unknown,1155,2,1795110823360,false
    49e9d0c2-c4a8-49de-bb32-9b34aee0b021,Peggy,1794753900153,1794753736228,67,51.8,relay,91,3,,false
    268fbb91-33c7-403b-bf5b-8c32a6cd5e32,Rupert,1794959696905,1794956106225,0,20,unknown,,2,,false
    f77667cf-9126-4a91-884c-b1c1e137f955,Sybil,1792740079363,1792739037614,41,0,host,964,8,,false
    5548a411-04eb-413b-8008-eb3b70dbf2f8,Trent,1792794286910,1792793117995,22,0,srflx,1058,2,,false
    74d42bb4-fa62-4dd0-88d1-2b462510e146,Victor,1792047601388,1792044111752,19,37.6,unknown,1089,,,false
    ----- stderr -----
    ");
}

#[test]
fn import() {
    let env = example();
    let (code, _, err) = crate::support::run([
        "remove",
        ALICE,
        "--store",
        &env.path("store.json").display().to_string(),
        "--backup",
        &env.path("before.json").display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    cli_snapshot!(env, ["import", "before.json", "--store", "store.json", "--no-backup"], @"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬───────┬────────┬────────────┬────────────────────┐
    │ PEER                                 ┆ NAME  ┆ ACTION ┆ RULE       ┆ WHY                │
    ╞══════════════════════════════════════╪═══════╪════════╪════════════╪════════════════════╡
    │ 3bdbb806-03b6-49cf-8058-085626ab2fdc ┆ Alice ┆ add    ┆ import-add ┆ in the backup only │
    └──────────────────────────────────────┴───────┴────────┴────────────┴────────────────────┘
    imported 1 peer in store.json
    wrote: 1 peer record, mesh:peers:index, mesh:peers:metadata
    no backup was written (--no-backup)
    ----- stderr -----
    ");
}

#[test]
fn validate() {
    let env = example();
    cli_snapshot!(env, ["validate", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    ┌──────────┬──────────────────┬────────────────────────────────────────────────┬───────────────────────────────────────────────────────────────────────────────────┐
    │ SEVERITY ┆ CODE             ┆ KEY                                            ┆ MESSAGE                                                                           │
    ╞══════════╪══════════════════╪════════════════════════════════════════════════╪═══════════════════════════════════════════════════════════════════════════════════╡
    │ warning  ┆ attempts-missing ┆ mesh:peer:6ba04cb5-07d8-48f2-8cd4-a9a1e2d39b87 ┆ no reconnectionAttempts: the app's reconnection score is NaN (meshpeers counts 0) │
    │ warning  ┆ attempts-missing ┆ mesh:peer:74d42bb4-fa62-4dd0-88d1-2b462510e146 ┆ no reconnectionAttempts: the app's reconnection score is NaN (meshpeers counts 0) │
    │ warning  ┆ name-unsanitised ┆ mesh:peer:a33ce554-bbe8-425e-a68e-b62e497f5914 ┆ displayName holds markup or control characters (`<`, `>`, escapes)                │
    └──────────┴──────────────────┴────────────────────────────────────────────────┴───────────────────────────────────────────────────────────────────────────────────┘
    store.json: 0 errors, 3 warnings, 0 info
    ----- stderr -----
    ");
}

#[test]
fn repair() {
    let env = example();
    cli_snapshot!(env, ["repair", "--dry-run", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬──────┬────────┬────────┬──────────────────────────────────┐
    │ PEER                                 ┆ NAME ┆ ACTION ┆ RULE   ┆ WHY                              │
    ╞══════════════════════════════════════╪══════╪════════╪════════╪══════════════════════════════════╡
    │ 6ba04cb5-07d8-48f2-8cd4-a9a1e2d39b87 ┆ -    ┆ fix    ┆ repair ┆ reconnectionAttempts missing → 0 │
    │ 74d42bb4-fa62-4dd0-88d1-2b462510e146 ┆ -    ┆ fix    ┆ repair ┆ reconnectionAttempts missing → 0 │
    │ a33ce554-bbe8-425e-a68e-b62e497f5914 ┆ -    ┆ fix    ┆ repair ┆ displayName sanitised            │
    └──────────────────────────────────────┴──────┴────────┴────────┴──────────────────────────────────┘
    by rule: repair 3
    dry run: nothing was written. Would have repaired 3 peers.
    would write: 3 peer records, mesh:peers:metadata
    ----- stderr -----
    ");
}

#[test]
fn secrets() {
    let env = example();
    cli_snapshot!(env, ["secrets", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    ┌──────────────────────────────────────┬────────┬──────────┐
    │ PEER                                 ┆ SECRET ┆ DECRYPTS │
    ╞══════════════════════════════════════╪════════╪══════════╡
    │ 3bdbb806-03b6-49cf-8058-085626ab2fdc ┆ no     ┆ -        │
    │ 8424dad9-e6d3-4bc5-aea7-18ea048fa903 ┆ no     ┆ -        │
    │ 3e693117-6055-4390-9169-bdc17e5cb1ef ┆ no     ┆ -        │
    │ 76903246-a037-4d56-a223-203097c22820 ┆ no     ┆ -        │
    │ b371e63a-0fb2-4626-bb39-6b419f7eff1a ┆ no     ┆ -        │
    │ 7b45e0fe-7748-43ca-a63e-70e8a37657b3 ┆ no     ┆ -        │
    │ c5218519-0558-4a4a-b7da-73c574aab9cc ┆ no     ┆ -        │
    │ 6ba04cb5-07d8-48f2-8cd4-a9a1e2d39b87 ┆ no     ┆ -        │
    │ 1078b098-8979-4613-99bb-a378074e888e ┆ no     ┆ -        │
    │ 92e5ad48-ff07-4ea6-8c9d-f113a71e8f38 ┆ no     ┆ -        │
    │ 73240ed2-d238-4600-994a-f85e0c7380ee ┆ no     ┆ -        │
    │ 8206ecc9-187f-4bea-95d5-07607d555c74 ┆ no     ┆ -        │
    │ 118f0213-ee24-4a3f-9567-ddc8f7a2a333 ┆ no     ┆ -        │
    │ a33ce554-bbe8-425e-a68e-b62e497f5914 ┆ no     ┆ -        │
    │ 9577ebcc-1869-46d5-b337-c2a1289aee33 ┆ no     ┆ -        │
    │ 49e9d0c2-c4a8-49de-bb32-9b34aee0b021 ┆ no     ┆ -        │
    │ 268fbb91-33c7-403b-bf5b-8c32a6cd5e32 ┆ no     ┆ -        │
    │ f77667cf-9126-4a91-884c-b1c1e137f955 ┆ no     ┆ -        │
    │ 5548a411-04eb-413b-8008-eb3b70dbf2f8 ┆ no     ┆ -        │
    │ 74d42bb4-fa62-4dd0-88d1-2b462510e146 ┆ no     ┆ -        │
    └──────────────────────────────────────┴────────┴──────────┘
    0 of 20 peers hold a secret; no key to check them (no key record and no passphrase given)
    ----- stderr -----
    ");
}

#[test]
fn re_encrypt() {
    let env = example();
    cli_snapshot!(env, ["re-encrypt", "--to", "jwk", "--dry-run", "--store", "store.json"], @"
    exit: 0
    ----- stdout -----
    dry run: nothing was written. Would have re-encrypted 0 peers.
    would write: mesh:encryption:key
    ----- stderr -----
    ");
}

#[test]
fn no_store() {
    let env = example();
    cli_snapshot!(env, ["list"], @"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    meshpeers: error: no store given
    hint: pass --store PATH (or set MESHPEERS_STORE)
    ");
}

#[test]
fn not_json() {
    let env = example();
    env.write("bad.json", "{\"a\": ");
    cli_snapshot!(env, ["list", "--store", "bad.json"], @"
    exit: 3
    ----- stdout -----
    ----- stderr -----
    meshpeers: error: bad.json: not valid JSON (truncated?): EOF while parsing a value at line 1 column 6
    ");
}
