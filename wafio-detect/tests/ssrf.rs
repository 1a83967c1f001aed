//! SSRF detector: data-driven cases (`testdata/ssrf.toml`),
//! properties, the shared benign corpora, and the PayloadsAllTheThings
//! development set.

#[path = "common/mod.rs"]
mod common;

use common::harness::{self, blocks};
use proptest::prelude::*;
use wafio_detect::{DetectorKind, DetectorSet};

const KIND: DetectorKind = DetectorKind::Ssrf;
const NAME: &str = "ssrf";

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

/// `cargo test -p wafio-detect --test ssrf -- --ignored --nocapture print_patt_misses`
#[test]
#[ignore]
fn print_patt_misses() {
    harness::print_misses(KIND, &patt_values());
}

/// `cargo test --release -p wafio-detect --test ssrf -- --ignored --nocapture timing`
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
    fn shaped_input_never_panics(v in "[a-z]{0,6}:[/\\\\]{0,3}[a-z0-9.@:\\[\\]%-]{0,40}[/?#]?[a-z]{0,5}") {
        let set = set();
        prop_assert_eq!(set.scan(v.as_bytes()), set.scan(v.as_bytes()));
    }

    #[test]
    fn public_http_urls_pass(host in "[a-z]{3,10}\\.(com|org|net|io)", path in "[a-z0-9/]{0,20}") {
        let v = format!("https://{host}/{path}");
        prop_assert!(!blocks(&set(), KIND, v.as_bytes()), "{:?}", v);
    }

    #[test]
    fn loopback_in_any_inet_aton_spelling_blocks(last in 1u32..255) {
        let ip = 0x7f00_0000u32 | last;
        for host in [format!("{ip}"), format!("0x{ip:x}"), format!("0177.0.0.{last}"), format!("127.{last}")] {
            let v = format!("http://{host}/admin");
            prop_assert!(blocks(&set(), KIND, v.as_bytes()), "{:?}", v);
        }
    }
}

const PATT_FILES: &[&str] = &["Server Side Request Forgery/README.md"];
const PATT_MIN_VALUES: usize = 40;
const PATT_FLOOR: f64 = 0.9;

/// URL-shaped lines (they contain `://` or start with `//`), not shell commands.
fn dev_payload(line: &str) -> bool {
    (line.contains("://") || line.starts_with("//"))
        && !line.starts_with("curl ")
        && !line.starts_with('$')
        && !line.starts_with('#')
}
