//! JavaScript's number-to-text, checked against the real thing: random doubles (any bit
//! pattern, decimals of a few digits, integers around 2^53 and past it, tiny and huge
//! magnitudes) formatted by meshpeers and by Node must give the same text, for `String(x)`,
//! `JSON.stringify(x)` and `toFixed(0..3)`.

use std::io::Write;
use std::process::{Command, Stdio};

use meshpeers::js::number;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

use crate::support::repo;

fn doubles() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        (-1_000_000i64..1_000_000, 0u32..8).prop_map(|(n, k)| n as f64 / 10f64.powi(k as i32)),
        (0u64..4096).prop_map(|d| (1u64 << 53) as f64 + d as f64 * 2.0),
        (1e15f64..1e22),
        (-300i32..300, 1u32..1000).prop_map(|(e, m)| f64::from(m) * 10f64.powi(e)),
        Just(-0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(5e-7),
        Just(0.125),
        Just(1.005),
    ]
}

#[test]
fn numbers_are_written_exactly_as_node_writes_them() {
    let mut runner = TestRunner::new(Config {
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..Config::default()
    });
    let strategy = doubles();
    let values: Vec<f64> = (0..20_000)
        .map(|_| strategy.new_tree(&mut runner).expect("value").current())
        .collect();
    let mut child = Command::new("node")
        .arg(repo().join("tests/browser/numbers.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    let input: String = values
        .iter()
        .map(|x| format!("{:016x}\n", x.to_bits()))
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), values.len());
    let mut wrong = Vec::new();
    for (x, line) in values.iter().zip(lines) {
        let js: Vec<Option<String>> = serde_json::from_str(line).unwrap();
        let mut ours = vec![Some(number::to_string(*x)), Some(number::to_json(*x))];
        ours.extend((0..4).map(|d| (x.abs() < 1e21).then(|| number::to_fixed(*x, d))));
        if ours != js {
            wrong.push(format!(
                "{x:e} ({:016x}): ours {ours:?}, node {js:?}",
                x.to_bits()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ:\n{}",
        wrong.len(),
        values.len(),
        wrong
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
