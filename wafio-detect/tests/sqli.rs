//! SQL-injection detector: data-driven cases (`testdata/sqli.toml`),
//! properties, and floors on the shared corpora.

#[path = "common/mod.rs"]
mod common;

use common::harness;
use proptest::prelude::*;
use wafio_detect::{DetectorKind, DetectorSet};

const KIND: DetectorKind = DetectorKind::Sqli;

fn set() -> DetectorSet {
    harness::set(KIND)
}

fn blocks(set: &DetectorSet, v: &[u8]) -> bool {
    harness::blocks(set, KIND, v)
}

#[test]
fn testdata_cases() {
    harness::check_cases(KIND, "sqli");
}

fn rate(set: &DetectorSet, values: &[Vec<u8>]) -> f64 {
    harness::rate(set, KIND, values)
}

#[test]
fn httpparams_floors() {
    harness::check_httpparams(KIND, "httpparams/sqli", 0.995);
}

#[test]
fn libinjection_floors() {
    let set = set();
    let mut failures = Vec::new();
    for s in common::libinjection() {
        let file = s.name.trim_start_matches("libinjection/");
        if file == "false_positives.txt" {
            let r = rate(&set, &s.values);
            if r > 0.01 {
                failures.push(format!("{file}: {:.2}% blocked (max 1%)", r * 100.0));
            }
            continue;
        }
        if !file.starts_with("sqli-") {
            continue;
        }
        let floor = 0.99;
        let r = rate(&set, &s.values);
        if r < floor {
            failures.push(format!(
                "{file}: {:.2}% blocked of {} (floor {:.0}%)",
                r * 100.0,
                s.values.len(),
                floor * 100.0
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Median and p99 nanoseconds per value of `set.scan_into` over `values`.
fn timing(set: &DetectorSet, values: &[Vec<u8>]) -> (u64, u64) {
    let mut times = Vec::with_capacity(values.len());
    let mut out = Vec::new();
    for _ in 0..3 {
        times.clear();
        for v in values {
            let t = std::time::Instant::now();
            out.clear();
            set.scan_into(v, &mut out);
            times.push(t.elapsed().as_nanos() as u64);
        }
    }
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    (pct(0.5), pct(0.99))
}

/// `cargo test --release -p wafio-detect --test sqli -- --ignored --nocapture`
/// prints the median and p99 time per httpparams value, with the decoding
/// baseline (a set with no detector) for comparison.
#[test]
#[ignore]
fn print_timing() {
    let mut values: Vec<Vec<u8>> = Vec::new();
    for s in common::httpparams() {
        values.extend(s.values);
    }
    let base = timing(&DetectorSet::builder().only(&[]).build(), &values);
    let sqli = timing(&set(), &values);
    println!(
        "all httpparams, decode only: median {} ns, p99 {} ns",
        base.0, base.1
    );
    println!(
        "all httpparams, decode + sqli: median {} ns, p99 {} ns",
        sqli.0, sqli.1
    );
    for s in common::httpparams() {
        let (m, p) = timing(&set(), &s.values);
        println!("{}: median {m} ns, p99 {p} ns", s.name);
    }
    for (name, v) in hostile_values() {
        let t = std::time::Instant::now();
        let _ = set().scan(&v);
        println!("hostile {name} ({} bytes): {:?}", v.len(), t.elapsed());
    }
}

/// `cargo test -p wafio-detect --test sqli print_patt -- --ignored --nocapture`
/// prints the rate on each PayloadsAllTheThings SQL-injection intruder list
/// (not a floor: the lists mix payloads with bare column names and notes).
#[test]
#[ignore]
fn print_patt_rates() {
    let set = set();
    let dir = common::corpus_dir().join("payloadsallthethings/SQL Injection/Intruder");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("intruder dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    for p in names {
        let text = std::fs::read(&p).expect("intruder file");
        let values: Vec<Vec<u8>> = String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.as_bytes().to_vec())
            .collect();
        println!(
            "{:?}: {:.1}% of {}",
            p.file_name(),
            100.0 * rate(&set, &values),
            values.len()
        );
        for v in values.iter().filter(|v| !blocks(&set, v)).take(8) {
            println!("   MISS {:?}", String::from_utf8_lossy(v));
        }
    }
}

/// Long values built to stress the lexer and the grammar.
fn hostile_values() -> Vec<(&'static str, Vec<u8>)> {
    let n = 64 * 1024;
    let rep = |s: &str| s.repeat(n / s.len()).into_bytes();
    vec![
        ("open parens", rep("(")),
        ("paren pairs", rep("(1)")),
        ("quotes", rep("'")),
        ("or chain", rep("1 or ")),
        ("nested calls", rep("f(")),
        ("block comments", rep("/**/")),
        (
            "unterminated comment",
            [b"1 /*".as_slice(), &rep("*")].concat(),
        ),
        ("selects", rep("(select ")),
        ("words", rep("word ")),
    ]
}

#[test]
fn hostile_values_are_bounded() {
    // Linear work: each hostile 64 KiB value must scan well under a
    // budget that a quadratic pass over its tokens would blow.
    let set = set();
    for (name, v) in hostile_values() {
        let t = std::time::Instant::now();
        for _ in 0..3 {
            let _ = set.scan(&v);
        }
        let el = t.elapsed() / 3;
        assert!(el < std::time::Duration::from_millis(50), "{name}: {el:?}");
    }
}

proptest! {
    #[test]
    fn never_panics_and_is_deterministic(v in proptest::collection::vec(any::<u8>(), 0..256)) {
        let set = set();
        prop_assert_eq!(set.scan(&v), set.scan(&v));
    }

    #[test]
    fn sql_shaped_input_is_deterministic_with_valid_spans(
        v in "[-'\"`;()#/*!=<>|&@,. a-z0-9\n]{0,80}"
    ) {
        let set = set();
        let a = set.scan(v.as_bytes());
        prop_assert_eq!(&a, &set.scan(v.as_bytes()));
        for f in &a {
            prop_assert!(f.span.end <= v.len() && f.span.start <= f.span.end);
        }
    }

    #[test]
    fn quote_break_tautology_blocks(
        prefix in "[a-z0-9]{0,8}",
        q in prop::sample::select(vec!["'", "\"", "')", "\")", "'))"]),
        logic in prop::sample::select(vec!["or", "OR", "and", "||", "&&"]),
        n in 0u32..100000,
    ) {
        let v = format!("{prefix}{q} {logic} {n}={n}-- ");
        prop_assert!(blocks(&set(), v.as_bytes()), "{:?}", v);
    }

    #[test]
    fn words_and_apostrophes_pass(v in "[A-Za-z]{1,10}('[a-z]{1,6})?( [A-Za-z]{1,10}){0,5}") {
        prop_assert!(!blocks(&set(), v.as_bytes()), "{:?}", v);
    }
}
