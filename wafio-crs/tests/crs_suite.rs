//! The whole CRS v4 regression suite through the engine, in-process.
//!
//! Reads ../shared/crs. The passed count must be at least the last
//! recorded figure (`testdata/crs-suite-ratchet.txt`), so it only goes up.

use std::path::{Path, PathBuf};

use wafio_crs::engine::Engine;
use wafio_crs::ftw::{self, EngineRunner, Outcome, Overrides, UPSTREAM_TEST_SETUP};

fn crs() -> PathBuf {
    match std::env::var_os("WAFIO_CRS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs"),
    }
}

#[test]
fn crs_regression_suite_ratchet() {
    let dir = crs();
    let engine = Engine::builder()
        .rules_before(UPSTREAM_TEST_SETUP)
        .crs_dir(&dir)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let files = ftw::load_dir(&dir.join("tests/regression/tests")).expect("load tests");
    let report = ftw::run(
        &files,
        &Overrides::default(),
        &EngineRunner::new(&engine),
        None,
    );
    for (name, outcome) in &report.results {
        if let Outcome::Failed(why) = outcome {
            println!("FAIL {name}: {why}");
        }
    }
    println!("{report}");
    let ratchet: usize = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/crs-suite-ratchet.txt"),
    )
    .expect("ratchet file")
    .trim()
    .parse()
    .expect("ratchet number");
    assert!(
        report.passed() >= ratchet,
        "{} passed, below the recorded {ratchet}",
        report.passed()
    );
}

/// With the web-server override file, every test passes except the engine
/// gaps listed in `testdata/crs-known-engine-failures.txt`: any other
/// failure, and any listed test that now passes, fails this test.
#[test]
fn crs_regression_suite_with_overrides() {
    let dir = crs();
    let engine = Engine::builder()
        .rules_before(UPSTREAM_TEST_SETUP)
        .crs_dir(&dir)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let files = ftw::load_dir(&dir.join("tests/regression/tests")).expect("load tests");
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let overrides =
        Overrides::load(&testdata.join("wafio-overrides.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(overrides.test_overrides.len() <= 30, "at most 30 overrides");
    let report = ftw::run(&files, &overrides, &EngineRunner::new(&engine), None);
    let known: Vec<String> =
        std::fs::read_to_string(testdata.join("crs-known-engine-failures.txt"))
            .expect("known failures file")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
    let failed: Vec<&String> = report
        .results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .map(|(n, _)| n)
        .collect();
    println!("with overrides: {report}");
    let unexpected: Vec<&&String> = failed.iter().filter(|n| !known.contains(n)).collect();
    let fixed: Vec<&String> = known.iter().filter(|k| !failed.contains(k)).collect();
    assert!(unexpected.is_empty(), "unexpected failures: {unexpected:?}");
    assert!(
        fixed.is_empty(),
        "now passing, remove from the known list: {fixed:?}"
    );
    assert_eq!(report.skipped(), 0, "every override gives an output");
}
