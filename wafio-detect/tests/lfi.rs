//! LFI and path-traversal detector: data-driven cases (`testdata/lfi.toml`),
//! properties, and floors on the shared corpora.

#[path = "common/mod.rs"]
mod common;

use common::harness;
use proptest::prelude::*;
use wafio_detect::{DetectorKind, DetectorSet};

const KIND: DetectorKind = DetectorKind::Lfi;

fn set() -> DetectorSet {
    harness::set(KIND)
}

fn blocks(set: &DetectorSet, v: &[u8]) -> bool {
    harness::blocks(set, KIND, v)
}

#[test]
fn testdata_cases() {
    harness::check_cases(KIND, "lfi");
}

fn rate(set: &DetectorSet, values: &[Vec<u8>]) -> f64 {
    harness::rate(set, KIND, values)
}

#[test]
fn httpparams_floors() {
    harness::check_httpparams(KIND, "httpparams/path-traversal", 0.99);
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

/// Non-empty lines of PayloadsAllTheThings lists, sent as a client would
/// (percent-escapes left for the decoder).
fn patt_lists(dir: &str, names: &[&str]) -> Vec<Vec<u8>> {
    let dir = common::corpus_dir().join("payloadsallthethings").join(dir);
    let mut out = Vec::new();
    for name in names {
        let text = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()));
        for line in String::from_utf8_lossy(&text).lines() {
            if !line.trim().is_empty() {
                out.push(line.as_bytes().to_vec());
            }
        }
    }
    out
}

fn traversal_lists() -> Vec<Vec<u8>> {
    patt_lists(
        "Directory Traversal/Intruder",
        &[
            "deep_traversal.txt",
            "directory_traversal.txt",
            "dotdotpwn.txt",
            "traversals-8-deep-exotic-encoding.txt",
        ],
    )
}

fn inclusion_lists() -> Vec<Vec<u8>> {
    patt_lists(
        "File Inclusion/Intruders",
        &[
            "BSD-files.txt",
            "JHADDIX_LFI.txt",
            "LFI-FD-check.txt",
            "LFI-WindowsFileCheck.txt",
            "Linux-files.txt",
            "List_Of_File_To_Include.txt",
            "List_Of_File_To_Include_NullByteAdded.txt",
            "Mac-files.txt",
            "Traversal.txt",
            "Web-files.txt",
            "Windows-files.txt",
            "dot-slash-PathTraversal_and_LFI_pairing.txt",
            "php-filter-iconv.txt",
            "simple-check.txt",
        ],
    )
}

#[test]
fn payloadsallthethings_traversal_floor() {
    let set = set();
    let values = traversal_lists();
    let r = rate(&set, &values);
    assert!(
        r >= 0.90,
        "PayloadsAllTheThings directory traversal blocked {:.2}% of {}",
        r * 100.0,
        values.len()
    );
}

#[test]
fn payloadsallthethings_inclusion_floor() {
    let set = set();
    let values = inclusion_lists();
    let r = rate(&set, &values);
    assert!(
        r >= 0.85,
        "PayloadsAllTheThings file inclusion blocked {:.2}% of {}",
        r * 100.0,
        values.len()
    );
}

/// `cargo test -p wafio-detect --test lfi -- --ignored --nocapture` prints misses.
#[test]
#[ignore]
fn print_patt_misses() {
    let set = set();
    for v in traversal_lists().into_iter().chain(inclusion_lists()) {
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
    fn path_shaped_input_is_deterministic(v in "[./\\\\a-z0-9:;{}%x]{0,64}") {
        let set = set();
        let a = set.scan(v.as_bytes());
        prop_assert_eq!(&a, &set.scan(v.as_bytes()));
        for f in &a {
            prop_assert!(f.span.end <= v.len() && f.span.start <= f.span.end);
        }
    }

    #[test]
    fn two_climbs_then_a_name_block(
        sep in prop::sample::select(vec!["/", "\\", "%2f", "%5c", "0x2f", "//", "%252f"]),
        dots in prop::sample::select(vec!["..", "...", "....", "%2e%2e", ".%2e", "0x2e0x2e", "..;"]),
        name in "[a-z]{1,8}",
    ) {
        let v = format!("{dots}{sep}{dots}{sep}{name}");
        prop_assert!(blocks(&set(), v.as_bytes()), "{:?}", v);
    }

    #[test]
    fn relative_paths_under_root_pass(segs in proptest::collection::vec("[a-z][a-z0-9_-]{0,8}", 1..6)) {
        let v = segs.join("/");
        prop_assert!(!blocks(&set(), v.as_bytes()), "{:?}", v);
    }
}

/// `cargo test --release -p wafio-detect --test lfi -- --ignored --nocapture timing`
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
        ("lfi", &set()),
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
