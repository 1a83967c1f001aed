//! Fuzzes a whole transaction through OWASP CRS: a raw request, parsed and
//! run through phases 1 to 5 at paranoia level 4 with the upstream test
//! setup (every rule, response body inspection), with the request body
//! echoed back as the response body. Every operator and transformation
//! CRS uses sees hostile bytes here.
//!
//! Reads CRS from `WAFIO_CRS`, or `../shared/crs` beside the project root.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use wafio_crs::engine::Engine;
use wafio_crs::ftw::UPSTREAM_TEST_SETUP;
use wafio_crs::request::HttpRequest;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = std::env::var_os("WAFIO_CRS").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs"),
            PathBuf::from,
        );
        Engine::builder()
            .rules_before(UPSTREAM_TEST_SETUP)
            .crs_dir(&dir)
            .build()
            .unwrap_or_else(|e| panic!("CRS from {}: {e}", dir.display()))
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let engine = engine();
    let Ok(req) = HttpRequest::parse(data, engine.request_limits()) else {
        return;
    };
    let tx = wafio_fuzz::run_phases(engine, &req, req.body.to_vec());
    // DetectionOnly: rules match and log, nothing is disrupted.
    assert!(
        tx.intervention().is_none(),
        "intervention in DetectionOnly: {:?}",
        tx.matched_ids()
    );
});
