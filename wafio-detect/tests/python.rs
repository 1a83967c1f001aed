//! Python detector: data-driven cases (`testdata/python.toml`),
//! properties, the shared benign corpora, and the PayloadsAllTheThings
//! development set.

#[path = "common/mod.rs"]
mod common;

use common::harness::{self, blocks};
use proptest::prelude::*;
use wafio_detect::{DetectorKind, DetectorSet};

const KIND: DetectorKind = DetectorKind::Python;
const NAME: &str = "python";

fn set() -> DetectorSet {
    harness::set(KIND)
}

#[test]
fn testdata_cases() {
    harness::check_cases(KIND, NAME);
}

#[test]
fn benign_corpora_have_no_false_positives() {
    harness::check_benign_corpora(KIND);
}

fn patt_values() -> Vec<Vec<u8>> {
    harness::fenced_payloads(PATT_FILES, dev_payload)
}

#[test]
fn payloadsallthethings_floor() {
    harness::check_dev_floor(KIND, &patt_values(), PATT_MIN_VALUES, PATT_FLOOR);
}

/// `cargo test -p wafio-detect --test python -- --ignored --nocapture print_patt_misses`
#[test]
#[ignore]
fn print_patt_misses() {
    harness::print_misses(KIND, &patt_values());
}

/// `cargo test --release -p wafio-detect --test python -- --ignored --nocapture timing`
#[test]
#[ignore]
fn timing() {
    harness::print_timing(KIND);
}

proptest! {
    #[test]
    fn never_panics_and_is_deterministic(v in proptest::collection::vec(any::<u8>(), 0..256)) {
        prop_assert_eq!(harness::check_well_formed(&set(), &v), Ok(()));
    }

    #[test]
    fn random_tokens_pass(v in "[A-Za-z0-9+/]{16,64}={0,2}") {
        // Session ids and API keys: the base64 view of random bytes is not a payload.
        prop_assert!(!blocks(&set(), KIND, v.as_bytes()), "{:?}", v);
    }

    #[test]
    fn shaped_input_never_panics(v in "[{}%$<>_a-z().\\[\\]|\'\"0-9*]{0,64}") {
        let set = set();
        prop_assert_eq!(set.scan(v.as_bytes()), set.scan(v.as_bytes()));
    }

    #[test]
    fn dunder_chains_in_templates_block(
        root in prop::sample::select(vec!["''", "config", "lipsum", "cycler", "self", "request", "()"]),
        d in prop::sample::select(vec!["__class__", "__globals__", "__init__", "__mro__", "__subclasses__", "__builtins__"]),
    ) {
        let v = format!("{{{{ {root}.{d} }}}}");
        prop_assert!(blocks(&set(), KIND, v.as_bytes()), "{:?}", v);
    }

    #[test]
    fn plain_placeholders_pass(name in "[a-z_][a-z0-9_]{0,10}", filt in "[a-z]{0,8}") {
        let v = if filt.is_empty() { format!("Hello {{{{ {name} }}}}") } else { format!("Hello {{{{ {name}|{filt} }}}}") };
        prop_assert!(!blocks(&set(), KIND, v.as_bytes()), "{:?}", v);
    }
}

const PATT_FILES: &[&str] = &[
    "Server Side Template Injection/README.md",
    "Insecure Deserialization/Python.md",
];
const PATT_MIN_VALUES: usize = 8;
const PATT_FLOOR: f64 = 0.9;

/// Python payload lines: template expressions with dunders, `os`/`subprocess`
/// escapes or imports, and pickle/code injection one-liners.
fn dev_payload(line: &str) -> bool {
    let tmpl =
        line.contains("{{") || line.contains("{%") || line.contains("${") || line.contains("<%");
    (tmpl && (line.contains("__") || line.contains("os.") || line.contains("import")))
        || line.contains("__import__")
        || line.starts_with("!!python/object")
}
