//! Java detector: data-driven cases (`testdata/java.toml`),
//! properties, the shared benign corpora, and the PayloadsAllTheThings
//! development set.

#[path = "common/mod.rs"]
mod common;

use common::harness::{self, blocks};
use proptest::prelude::*;
use wafio_detect::{DetectorKind, DetectorSet};

const KIND: DetectorKind = DetectorKind::Java;
const NAME: &str = "java";

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

/// `cargo test -p wafio-detect --test java -- --ignored --nocapture print_patt_misses`
#[test]
#[ignore]
fn print_patt_misses() {
    harness::print_misses(KIND, &patt_values());
}

/// `cargo test --release -p wafio-detect --test java -- --ignored --nocapture timing`
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
        prop_assert!(blocks(&set(), KIND, v.as_bytes()), "{:?}", v);
    }

    #[test]
    fn placeholders_pass(name in "[A-Za-z_][A-Za-z0-9_.]{0,12}") {
        for v in [format!("${{{name}}}"), format!("#{{{name}}}"), format!("${{{name}:-default}}/x")] {
            prop_assert!(!blocks(&set(), KIND, v.as_bytes()), "{:?}", v);
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
