//! Command-injection detector: data-driven cases (`testdata/cmdi.toml`),
//! properties, and floors on the shared corpora.

#[path = "common/mod.rs"]
mod common;

use common::harness;
use proptest::prelude::*;
use wafio_detect::{DetectorKind, DetectorSet};

const KIND: DetectorKind = DetectorKind::Cmdi;

fn set() -> DetectorSet {
    harness::set(KIND)
}

fn blocks(set: &DetectorSet, v: &[u8]) -> bool {
    harness::blocks(set, KIND, v)
}

#[test]
fn testdata_cases() {
    harness::check_cases(KIND, "cmdi");
}

fn rate(set: &DetectorSet, values: &[Vec<u8>]) -> f64 {
    harness::rate(set, KIND, values)
}

#[test]
fn httpparams_floors() {
    harness::check_httpparams(KIND, "httpparams/cmdi", 0.95);
}

#[test]
fn libinjection_false_positives() {
    let set = set();
    let fp = common::libinjection()
        .into_iter()
        .find(|s| s.name.ends_with("false_positives.txt"))
        .expect("false_positives.txt");
    let r = rate(&set, &fp.values);
    assert!(
        r <= 0.01,
        "libinjection false_positives.txt blocked {:.2}%",
        r * 100.0
    );
}

/// Lines of the PayloadsAllTheThings command-injection intruder lists that
/// name a command (lines that are only an operator or a quote are excluded).
fn patt_values() -> Vec<Vec<u8>> {
    let dir = common::corpus_dir().join("payloadsallthethings/Command Injection/Intruder");
    let mut out = Vec::new();
    for name in ["command-execution-unix.txt", "command_exec.txt"] {
        let text = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        for line in String::from_utf8_lossy(&text).lines() {
            if line.bytes().filter(|c| c.is_ascii_alphabetic()).count() >= 2 {
                out.push(line.as_bytes().to_vec());
            }
        }
    }
    out
}

#[test]
fn payloadsallthethings_floor() {
    let set = set();
    let values = patt_values();
    let r = rate(&set, &values);
    assert!(
        r >= 0.88,
        "PayloadsAllTheThings command injection blocked {:.2}% of {}",
        r * 100.0,
        values.len()
    );
}

/// `cargo test -p wafio-detect --test cmdi -- --ignored --nocapture` prints misses.
#[test]
#[ignore]
fn print_patt_misses() {
    let set = set();
    for v in patt_values() {
        if !blocks(&set, &v) {
            println!("MISS {:?}", String::from_utf8_lossy(&v));
        }
    }
}

proptest! {
    #[test]
    fn never_panics_and_is_deterministic(v in proptest::collection::vec(any::<u8>(), 0..256)) {
        let set = set();
        prop_assert_eq!(set.scan(&v), set.scan(&v));
    }

    #[test]
    fn shell_shaped_input_is_deterministic(v in "[;|&`$(){}a-z/ '\"\\\\?*\\[\\]=-]{0,64}") {
        let set = set();
        let a = set.scan(v.as_bytes());
        prop_assert_eq!(&a, &set.scan(v.as_bytes()));
        for f in &a {
            prop_assert!(f.span.end <= v.len() && f.span.start <= f.span.end);
        }
    }

    #[test]
    fn operator_then_id_blocks(prefix in "[a-z0-9]{0,8}", op in prop::sample::select(vec![";", "|", "||", "&&", "\n"])) {
        let v = format!("{prefix}{op}id");
        prop_assert!(blocks(&set(), v.as_bytes()), "{:?}", v);
    }
}

/// `cargo test --release -p wafio-detect --test cmdi -- --ignored --nocapture timing`
/// prints the per-value median and p99 on httpparams/norm for: decoding
/// alone (an empty set), this detector alone, and all eight detectors.
#[test]
#[ignore]
fn timing() {
    let sets = common::httpparams();
    let norm = &sets
        .iter()
        .find(|s| s.name == "httpparams/norm")
        .expect("norm")
        .values;
    let empty = DetectorSet::builder().only(&[]).build();
    let all = DetectorSet::default();
    for (label, s) in [
        ("decode only", &empty),
        ("cmdi", &set()),
        ("all eight", &all),
    ] {
        let mut times = vec![u64::MAX; norm.len()];
        for _ in 0..5 {
            for (t, v) in times.iter_mut().zip(norm) {
                let start = std::time::Instant::now();
                std::hint::black_box(s.scan(v));
                *t = (*t).min(start.elapsed().as_nanos() as u64);
            }
        }
        times.sort_unstable();
        let median = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        println!("{label}: median {median} ns, p99 {p99} ns per value");
    }
}

/// Prints benign values that produce any finding, even a weak one.
#[test]
#[ignore]
fn print_weak_norm_findings() {
    let sets = common::httpparams();
    let norm = &sets
        .iter()
        .find(|s| s.name == "httpparams/norm")
        .expect("norm")
        .values;
    let s = set();
    let mut n = 0;
    for v in norm {
        let f = s.scan(v);
        if let Some(f) = f.first() {
            n += 1;
            if n < 15 {
                println!(
                    "WEAK {:?} {} {}",
                    String::from_utf8_lossy(v),
                    f.class,
                    f.confidence
                );
            }
        }
    }
    println!("WEAK total {n}");
}
