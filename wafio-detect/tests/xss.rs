//! XSS detector: data-driven cases (`testdata/xss.toml`), properties, and
//! floors on the shared corpora.

#[path = "common/mod.rs"]
mod common;

use common::harness;
use proptest::prelude::*;
use wafio_detect::{DetectorKind, DetectorSet};

const KIND: DetectorKind = DetectorKind::Xss;

fn set() -> DetectorSet {
    harness::set(KIND)
}

fn blocks(set: &DetectorSet, v: &[u8]) -> bool {
    harness::blocks(set, KIND, v)
}

#[test]
fn testdata_cases() {
    harness::check_cases(KIND, "xss");
}

#[test]
fn findings_carry_class_span_and_reason() {
    let set = set();
    let v = b"q=<img src=x onerror=alert(1)>";
    let f = set.scan(v);
    let h = f
        .iter()
        .find(|f| f.class == "event-handler")
        .expect("event-handler finding");
    assert!(h.confidence >= 0.9);
    assert!(!h.reason.is_empty());
    let ev = &v[h.span.clone()];
    assert!(
        ev.starts_with(b"onerror"),
        "span {:?} -> {:?}",
        h.span,
        String::from_utf8_lossy(ev)
    );

    // a finding in the decoded view maps back to the encoded original
    let v = b"%3Cscript%3Ealert(1)%3C/script%3E";
    let f = set.scan(v);
    let s = f
        .iter()
        .find(|f| f.class == "script-tag")
        .expect("script-tag finding");
    assert_eq!(s.view, wafio_detect::ViewKind::Decoded);
    assert!(v[s.span.clone()].starts_with(b"%3Cscript"));
}

fn rate(set: &DetectorSet, values: &[Vec<u8>]) -> f64 {
    harness::rate(set, KIND, values)
}

#[test]
fn httpparams_floors() {
    harness::check_httpparams(KIND, "httpparams/xss", 0.98);
}

#[test]
fn libinjection_floors() {
    let set = set();
    let mut seen = 0;
    for s in common::libinjection() {
        let name = s.name.rsplit('/').next().unwrap_or_default().to_string();
        if name.starts_with("xss-") {
            seen += 1;
            let r = rate(&set, &s.values);
            assert!(r >= 0.99, "{} blocked {:.2}%", s.name, r * 100.0);
        } else if name == "false_positives.txt" {
            let fps: Vec<_> = s
                .values
                .iter()
                .filter(|v| blocks(&set, v))
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            assert!(fps.is_empty(), "false positives: {fps:?}");
        }
    }
    assert!(seen >= 10, "only {seen} libinjection xss files found");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_and_is_deterministic(v in proptest::collection::vec(any::<u8>(), 0..512)) {
        let set = set();
        let a = set.scan(&v);
        let b = set.scan(&v);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn markup_like_input_never_panics(v in "[<>/=\"' a-z:(){}`;&#0-9\\\\-]{0,200}") {
        let set = set();
        let a = set.scan(v.as_bytes());
        for f in &a {
            prop_assert!(f.span.start <= f.span.end && f.span.end <= v.len());
            prop_assert!((0.0..=1.0).contains(&f.confidence));
        }
        prop_assert_eq!(a, set.scan(v.as_bytes()));
    }

    #[test]
    fn plain_words_never_block(v in "[A-Za-z0-9 .,@_-]{0,120}") {
        prop_assert!(!blocks(&set(), v.as_bytes()));
    }
}
