//! The shared per-detector test harness: data-driven TOML cases, the
//! benign corpora, a PayloadsAllTheThings development set, a timing helper
//! and the property checks every detector must satisfy.

use serde::Deserialize;
use wafio_detect::{DetectorKind, DetectorSet};

/// One case of `testdata/<name>.toml`.
#[derive(Deserialize)]
struct Case {
    /// The value as text; or
    input: Option<String>,
    /// the value as hex, for binary payloads.
    hex: Option<String>,
    /// `block` or `pass`.
    expect: String,
    /// Expected finding class, for attacks.
    class: Option<String>,
    why: String,
}

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

/// A set with only `kind` enabled.
pub fn set(kind: DetectorKind) -> DetectorSet {
    DetectorSet::builder().only(&[kind]).build()
}

/// Whether `kind` reports a blocking finding on `v`.
pub fn blocks(set: &DetectorSet, kind: DetectorKind, v: &[u8]) -> bool {
    set.scan(v)
        .iter()
        .any(|f| f.detector == kind && f.confidence >= 0.5)
}

/// The share of `values` that `kind` blocks.
pub fn rate(set: &DetectorSet, kind: DetectorKind, values: &[Vec<u8>]) -> f64 {
    let n = values.iter().filter(|v| blocks(set, kind, v)).count();
    n as f64 / values.len().max(1) as f64
}

/// At least `floor` of the httpparams `attack_set` blocked, and no value of
/// httpparams `norm`.
pub fn check_httpparams(kind: DetectorKind, attack_set: &str, floor: f64) {
    let set = set(kind);
    let sets = super::httpparams();
    let get = |name: &str| {
        sets.iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("set {name}"))
    };
    let attack = rate(&set, kind, &get(attack_set).values);
    assert!(
        attack >= floor,
        "{attack_set} blocked {:.2}%",
        attack * 100.0
    );
    let fps: Vec<_> = get("httpparams/norm")
        .values
        .iter()
        .filter(|v| blocks(&set, kind, v))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert!(
        fps.is_empty(),
        "false positives on httpparams/norm: {fps:?}"
    );
}

fn unhex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    assert!(s.len() % 2 == 0, "odd hex length in {s:?}");
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex digit"))
        .collect()
}

/// Runs `testdata/<name>.toml`: every case's verdict (and class), at least
/// 20 attacks and at least as many benign look-alikes.
pub fn check_cases(kind: DetectorKind, name: &str) {
    let path = format!("{}/testdata/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cases: Cases = toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let set = set(kind);
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
            .any(|f| f.detector == kind && f.confidence >= 0.5);
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

/// No value of httpparams `norm` nor of libinjection `false_positives.txt`
/// is blocked by `kind`.
pub fn check_benign_corpora(kind: DetectorKind) {
    let set = set(kind);
    let blocked = |values: &[Vec<u8>]| -> Vec<String> {
        values
            .iter()
            .filter(|v| blocks(&set, kind, v))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    };
    let sets = super::httpparams();
    let norm = sets
        .iter()
        .find(|s| s.name == "httpparams/norm")
        .expect("httpparams/norm");
    assert!(norm.values.len() > 10_000);
    let fps = blocked(&norm.values);
    assert!(
        fps.is_empty(),
        "{kind}: false positives on httpparams/norm: {fps:?}"
    );
    let fp = super::libinjection()
        .into_iter()
        .find(|s| s.name.ends_with("false_positives.txt"))
        .expect("false_positives.txt");
    let fps = blocked(&fp.values);
    assert!(
        fps.is_empty(),
        "{kind}: false positives on false_positives.txt: {fps:?}"
    );
}

/// Lines of the fenced code blocks of PayloadsAllTheThings markdown files
/// that `keep` accepts as payloads of the detector.
pub fn fenced_payloads(files: &[&str], keep: fn(&str) -> bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for file in files {
        let path = super::corpus_dir().join("payloadsallthethings").join(file);
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut fenced = false;
        for line in String::from_utf8_lossy(&text).lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            let line = line.trim();
            if fenced && !line.is_empty() && keep(line) {
                out.push(line.as_bytes().to_vec());
            }
        }
    }
    out
}

/// At least `min` development payloads, and at least `floor` of them blocked.
pub fn check_dev_floor(kind: DetectorKind, values: &[Vec<u8>], min: usize, floor: f64) {
    let set = set(kind);
    assert!(
        values.len() >= min,
        "only {} development payloads",
        values.len()
    );
    let hit = values.iter().filter(|v| blocks(&set, kind, v)).count();
    let r = hit as f64 / values.len() as f64;
    assert!(
        r >= floor,
        "{kind}: PayloadsAllTheThings blocked {hit}/{} ({:.1}%)",
        values.len(),
        r * 100.0
    );
}

/// Prints the development-set rate and misses.
pub fn print_misses(kind: DetectorKind, values: &[Vec<u8>]) {
    let set = set(kind);
    let mut hit = 0;
    for v in values {
        if blocks(&set, kind, v) {
            hit += 1;
        } else {
            println!("MISS {:?}", String::from_utf8_lossy(v));
        }
    }
    println!("{hit}/{} blocked", values.len());
}

/// Prints median and p99 time of `kind` alone over httpparams/norm, values
/// pre-decoded, beside the same measurement with no detector enabled.
pub fn print_timing(kind: DetectorKind) {
    let sets = super::httpparams();
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
    let (m0, p0, a0) = measure(&DetectorSet::builder().only(&[]).build());
    let (m, p, a) = measure(&set(kind));
    println!(
        "{kind}: median {m} ns, p99 {p} ns, mean {a} ns; with no detector: median {m0} ns, p99 {p0} ns, mean {a0} ns"
    );
}

/// Deterministic findings with valid spans and confidences (for proptests).
pub fn check_well_formed(set: &DetectorSet, v: &[u8]) -> Result<(), String> {
    let a = set.scan(v);
    if a != set.scan(v) {
        return Err("findings differ between two scans".into());
    }
    for f in &a {
        if !(f.span.start <= f.span.end && f.span.end <= v.len()) {
            return Err(format!(
                "span {:?} outside a value of {} bytes",
                f.span,
                v.len()
            ));
        }
        if !(0.0..=1.0).contains(&f.confidence) {
            return Err(format!("confidence {}", f.confidence));
        }
    }
    Ok(())
}
