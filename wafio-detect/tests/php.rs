//! PHP detector: data-driven cases (`testdata/php.toml`),
//! properties, the shared benign corpora, and the PayloadsAllTheThings
//! development set.

#[path = "common/mod.rs"]
mod common;

use common::harness::{self, blocks};
use proptest::prelude::*;
use wafio_detect::{DetectorKind, DetectorSet};

const KIND: DetectorKind = DetectorKind::Php;
const NAME: &str = "php";

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

/// `cargo test -p wafio-detect --test php -- --ignored --nocapture print_patt_misses`
#[test]
#[ignore]
fn print_patt_misses() {
    harness::print_misses(KIND, &patt_values());
}

/// `cargo test --release -p wafio-detect --test php -- --ignored --nocapture timing`
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
    fn shaped_input_never_panics(v in "[<?=$_a-z();`\'\":{}0-9O/@]{0,64}") {
        let set = set();
        prop_assert_eq!(set.scan(v.as_bytes()), set.scan(v.as_bytes()));
    }

    #[test]
    fn exec_call_with_request_data_blocks(
        f in prop::sample::select(vec!["system", "exec", "shell_exec", "passthru", "eval", "assert", "popen"]),
        g in prop::sample::select(vec!["$_GET", "$_POST", "$_REQUEST", "$_COOKIE"]),
        k in "[a-z]{1,6}",
    ) {
        let v = format!("{f}({g}['{k}']);");
        prop_assert!(blocks(&set(), KIND, v.as_bytes()), "{:?}", v);
    }

    #[test]
    fn prose_with_parentheses_passes(words in proptest::collection::vec("[a-z]{1,8}", 1..6)) {
        let v = format!("the {} ({}) is fine", words.join(" "), words[0]);
        prop_assert!(!blocks(&set(), KIND, v.as_bytes()), "{:?}", v);
    }
}

const PATT_FILES: &[&str] = &[
    "Insecure Deserialization/PHP.md",
    "Server Side Template Injection/README.md",
];
const PATT_MIN_VALUES: usize = 5;
const PATT_FLOOR: f64 = 0.4;

/// PHP payload lines: serialized objects, wrappers and code execution calls.
fn dev_payload(line: &str) -> bool {
    line.starts_with("O:")
        || line.starts_with("a:")
        || line.contains("phar://")
        || line.contains("php://")
        || ["system(", "exec(", "passthru(", "shell_exec("]
            .iter()
            .any(|f| line.contains(f))
            && line.contains('$')
}
