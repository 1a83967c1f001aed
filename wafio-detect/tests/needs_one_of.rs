//! `needs_one_of`: a view without any of the bytes a detector names gets
//! no report from it, so a rule engine may skip such values unscanned.

use proptest::prelude::*;
use wafio_detect::{DetectorKind, DetectorSet, Input};

/// Fragments of attacks and of ordinary values; each test keeps those made
/// only of bytes outside the detector's set, so a set missing a byte the
/// detector needs lets an attack fragment in and fails the test.
const ATOMS: &[&str] = &[
    "select",
    "union",
    "or",
    "and",
    "1",
    "0x41",
    "sleep",
    "@@version",
    "--",
    "-",
    "#",
    "information_schema.tables",
    ":",
    "/",
    "é",
    "a",
    "script",
    "alert",
    "javascript",
    ">",
    " ",
    ";",
    ")",
    "]",
    "[",
    "%3c",
    "\\u003c",
    "-->",
    "onerror",
    "src",
    "x",
    "document.cookie",
    "*",
    "/*",
    "*/",
    "\\",
    "!",
    "?",
    "|",
    "$",
    "~",
    ",",
    "(",
    "alert(document.cookie)",
    "=",
    "'",
    "\"",
    "`",
    "<",
    "{",
    "+",
    "&",
    "eval(",
];

fn outside(kind: DetectorKind) -> (DetectorSet, Vec<&'static str>) {
    let set = DetectorSet::builder().only(&[kind]).build();
    let needs = set.needs_one_of().expect("the detector names its bytes");
    let atoms = ATOMS
        .iter()
        .copied()
        .filter(|a| a.bytes().all(|b| !needs[usize::from(b)]))
        .collect();
    (set, atoms)
}

fn reports(set: &DetectorSet, value: &[u8]) -> bool {
    let mut out = Vec::new();
    set.scan_input(&Input::raw_only(value, set.limits()), &mut out);
    !out.is_empty()
}

fn check(kind: DetectorKind, picks: &[usize]) -> Result<(), TestCaseError> {
    let (set, atoms) = outside(kind);
    let value: String = picks.iter().map(|&i| atoms[i % atoms.len()]).collect();
    prop_assert!(
        !reports(&set, value.as_bytes()),
        "{kind:?} reported {value:?}"
    );
    Ok(())
}

proptest! {
    #[test]
    fn sqli_reports_nothing_without_its_bytes(picks in prop::collection::vec(0usize..64, 0..16)) {
        check(DetectorKind::Sqli, &picks)?;
    }

    #[test]
    fn xss_reports_nothing_without_its_bytes(picks in prop::collection::vec(0usize..64, 0..16)) {
        check(DetectorKind::Xss, &picks)?;
    }
}

#[test]
fn the_sets_are_narrow_and_hold_what_attacks_need() {
    for (kind, attack) in [
        (DetectorKind::Sqli, &b"1' or '1'='1"[..]),
        (DetectorKind::Xss, b"<script>alert(1)</script>"),
    ] {
        let (set, atoms) = outside(kind);
        let needs = set.needs_one_of().unwrap();
        assert!(reports(&set, attack), "{kind:?}");
        assert!(attack.iter().any(|&b| needs[usize::from(b)]), "{kind:?}");
        // Plain words and numbers stay outside both sets.
        assert!(
            b"item_number_5".iter().all(|&b| !needs[usize::from(b)]),
            "{kind:?}"
        );
        assert!(atoms.len() >= 10, "{kind:?}: {atoms:?}");
    }
    // A set of several detectors needs what any of them needs.
    let both = DetectorSet::builder()
        .only(&[DetectorKind::Sqli, DetectorKind::Xss])
        .build()
        .needs_one_of()
        .unwrap();
    let sqli = outside(DetectorKind::Sqli).0.needs_one_of().unwrap();
    let xss = outside(DetectorKind::Xss).0.needs_one_of().unwrap();
    assert!((0..256).all(|b| both[b] == (sqli[b] || xss[b])));
}
