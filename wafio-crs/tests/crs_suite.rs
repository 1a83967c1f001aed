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
