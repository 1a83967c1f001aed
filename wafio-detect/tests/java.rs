//! Java detector: data-driven cases (`testdata/java.toml`),
//! properties, the shared benign corpora, and the PayloadsAllTheThings
//! development set.

#[path = "common/mod.rs"]
mod common;

use proptest::prelude::*;
use serde::Deserialize;
use wafio_detect::{DetectorKind, DetectorSet};

const KIND: DetectorKind = DetectorKind::Java;
const NAME: &str = "java";

#[derive(Deserialize)]
struct Case {
    /// The value as text; or
    input: Option<String>,
    /// the value as hex, for binary payloads.
    hex: Option<String>,
    expect: String,
    /// Expected finding class, for attacks.
    class: Option<String>,
    why: String,
}

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

fn set() -> DetectorSet {
    DetectorSet::builder().only(&[KIND]).build()
}

fn blocks(set: &DetectorSet, v: &[u8]) -> bool {
    set.scan(v)
        .iter()
        .any(|f| f.detector == KIND && f.confidence >= 0.5)
}

fn unhex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    assert!(s.len() % 2 == 0, "odd hex length in {s:?}");
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex digit"))
        .collect()
}

#[test]
fn testdata_cases() {
    let path = format!("{}/testdata/{NAME}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cases: Cases = toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let set = set();
    let (mut attacks, mut benign) = (0, 0);
    let mut failures = Vec::new();
    for c in &cases.case {
        let value = match (&c.input, &c.hex) {
            (Some(s), None) => s.as_bytes().to_vec(),
            (None, Some(h)) => unhex(h),
            _ => panic!(
                "{path}: a case needs exactly one of input and hex ({})",
                c.why
            ),
        };
        let want = match c.expect.as_str() {
            "block" => {
                attacks += 1;
                true
            }
            "pass" => {
                benign += 1;
                false
            }
            other => panic!(
                "case {:?}: expect must be block or pass, not {other:?}",
                c.input
            ),
        };
        assert!(!c.why.trim().is_empty(), "case {:?} needs a why", c.input);
        let findings = set.scan(&value);
        let got = findings
            .iter()
            .any(|f| f.detector == KIND && f.confidence >= 0.5);
        if got != want {
            failures.push(format!(
                "{:?} expected {} ({}); got {findings:?}",
                String::from_utf8_lossy(&value),
                c.expect,
                c.why
            ));
        } else if let Some(class) = &c.class {
            if !findings
                .iter()
                .any(|f| f.class == class.as_str() && f.confidence >= 0.5)
            {
                failures.push(format!(
                    "{:?}: expected class {class}, got {findings:?}",
                    String::from_utf8_lossy(&value)
                ));
            }
        }
    }
    assert!(
        attacks >= 20 && benign >= attacks,
        "{attacks} attack cases, {benign} benign cases"
    );
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn blocked_values(set: &DetectorSet, values: &[Vec<u8>]) -> Vec<String> {
    values
        .iter()
        .filter(|v| blocks(set, v))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
fn httpparams_norm_has_no_false_positives() {
    let set = set();
    let sets = common::httpparams();
    let norm = sets
        .iter()
        .find(|s| s.name == "httpparams/norm")
        .expect("httpparams/norm");
    assert!(norm.values.len() > 10_000);
    let fps = blocked_values(&set, &norm.values);
    assert!(
        fps.is_empty(),
        "false positives on httpparams/norm: {fps:?}"
    );
}

#[test]
fn libinjection_false_positives_pass() {
    let set = set();
    let fp = common::libinjection()
        .into_iter()
        .find(|s| s.name.ends_with("false_positives.txt"))
        .expect("false_positives.txt");
    let fps = blocked_values(&set, &fp.values);
    assert!(
        fps.is_empty(),
        "false positives on libinjection false_positives.txt: {fps:?}"
    );
}

/// Lines of the fenced code blocks of PayloadsAllTheThings markdown files
/// that carry a Java payload (see `dev_payload`).
fn patt_values() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for file in PATT_FILES {
        let path = common::corpus_dir().join("payloadsallthethings").join(file);
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut fenced = false;
        for line in String::from_utf8_lossy(&text).lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            let line = line.trim();
            if fenced && !line.is_empty() && dev_payload(line) {
                out.push(line.as_bytes().to_vec());
            }
        }
    }
    out
}

/// `cargo test -p wafio-detect --test java -- --ignored --nocapture` prints
/// the development-set rate and misses.
#[test]
#[ignore]
fn print_patt_misses() {
    let set = set();
    let values = patt_values();
    let mut hit = 0;
    for v in &values {
        if blocks(&set, v) {
            hit += 1;
        } else {
            println!("MISS {:?}", String::from_utf8_lossy(v));
        }
    }
    println!("{hit}/{} blocked", values.len());
}

#[test]
fn payloadsallthethings_floor() {
    let set = set();
    let values = patt_values();
    assert!(
        values.len() >= PATT_MIN_VALUES,
        "only {} development payloads",
        values.len()
    );
    let hit = values.iter().filter(|v| blocks(&set, v)).count();
    let r = hit as f64 / values.len() as f64;
    assert!(
        r >= PATT_FLOOR,
        "PayloadsAllTheThings Java blocked {hit}/{} ({:.1}%)",
        values.len(),
        r * 100.0
    );
}

/// Median and p99 time of this detector alone over httpparams/norm, values
/// pre-decoded, minus the same measurement with no detector enabled
/// (`cargo test --release -p wafio-detect --test java -- --ignored --nocapture timing`).
#[test]
#[ignore]
fn timing() {
    let sets = common::httpparams();
    let norm = sets
        .iter()
        .find(|s| s.name == "httpparams/norm")
        .expect("httpparams/norm");
    let inputs: Vec<_> = norm
        .values
        .iter()
        .map(|v| wafio_detect::Input::new(v))
        .collect();
    let measure = |set: &DetectorSet| {
        let mut out = Vec::new();
        let mut times = Vec::with_capacity(inputs.len() * 5);
        let batch = std::time::Instant::now();
        for _ in 0..5 {
            for input in &inputs {
                let t = std::time::Instant::now();
                set.scan_input(input, &mut out);
                times.push(t.elapsed().as_nanos() as u64);
                out.clear();
            }
        }
        let mean = batch.elapsed().as_nanos() as u64 / times.len() as u64;
        times.sort_unstable();
        (times[times.len() / 2], times[times.len() * 99 / 100], mean)
    };
    let none = DetectorSet::builder().only(&[]).build();
    let (m0, p0, a0) = measure(&none);
    let (m, p, a) = measure(&set());
    println!(
        "{NAME}: median {m} ns, p99 {p} ns, mean {a} ns; with no detector: median {m0} ns, p99 {p0} ns, mean {a0} ns"
    );
}

proptest! {
    #[test]
    fn never_panics_and_is_deterministic(v in proptest::collection::vec(any::<u8>(), 0..256)) {
        let set = set();
        let a = set.scan(&v);
        prop_assert_eq!(&a, &set.scan(&v));
        for f in &a {
            prop_assert!(f.span.start <= f.span.end && f.span.end <= v.len());
            prop_assert!((0.0..=1.0).contains(&f.confidence));
        }
    }

    #[test]
    fn random_tokens_pass(v in "[A-Za-z0-9+/]{16,64}={0,2}") {
        // Session ids and API keys: the base64 view of random bytes is not a payload.
        prop_assert!(!blocks(&set(), v.as_bytes()), "{:?}", v);
    }

    #[test]
    fn shaped_input_never_panics(v in "[$#%{}:a-zA-Z().@-]{0,64}") {
        let set = set();
        prop_assert_eq!(set.scan(v.as_bytes()), set.scan(v.as_bytes()));
    }

    #[test]
    fn obfuscated_jndi_letters_block(proto in prop::sample::select(vec!["ldap", "rmi", "dns", "ldaps"]), mask in 0u8..16) {
        let mut v = String::from("${");
        for (i, c) in "jndi".chars().enumerate() {
            if mask & (1 << i) != 0 {
                if i % 2 == 0 { v.push_str(&format!("${{lower:{}}}", c.to_ascii_uppercase())); } else { v.push_str(&format!("${{::-{c}}}")); }
            } else {
                v.push(c);
            }
        }
        v.push_str(&format!(":{proto}://x.example/a}}"));
        prop_assert!(blocks(&set(), v.as_bytes()), "{:?}", v);
    }

    #[test]
    fn placeholders_pass(name in "[A-Za-z_][A-Za-z0-9_.]{0,12}") {
        for v in [format!("${{{name}}}"), format!("#{{{name}}}"), format!("${{{name}:-default}}/x")] {
            prop_assert!(!blocks(&set(), v.as_bytes()), "{:?}", v);
        }
    }
}

const PATT_FILES: &[&str] = &[
    "Insecure Deserialization/Java.md",
    "Server Side Template Injection/README.md",
];
const PATT_MIN_VALUES: usize = 8;
const PATT_FLOOR: f64 = 0.7;

/// Java payload lines: serialized-object magic, lookups, and EL/OGNL/SpEL
/// expressions that mention Java classes or runtime access.
fn dev_payload(line: &str) -> bool {
    let quoted_class = ["\"com.", "\"org.", "\"ch.", "\"br."]
        .iter()
        .any(|p| line.starts_with(p));
    line.contains("rO0AB")
        || line.to_ascii_lowercase().contains("aced0005")
        || line.contains("${")
        || line.starts_with("!!")
        || quoted_class
}
