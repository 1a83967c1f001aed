//! Shared pieces of the fuzz targets: the detector checks, and a
//! transaction through every phase of an engine.

use std::sync::OnceLock;

use wafio_crs::engine::{Engine, ResponseData, Transaction};
use wafio_crs::request::HttpRequest;
use wafio_detect::{DetectorKind, DetectorSet};

/// One detector set per kind, built once (building some detectors compiles
/// their pattern tables).
fn set(kind: DetectorKind) -> &'static DetectorSet {
    static SETS: [OnceLock<DetectorSet>; 8] = [const { OnceLock::new() }; 8];
    let idx = DetectorKind::ALL.iter().position(|&k| k == kind).unwrap_or(0);
    SETS[idx].get_or_init(|| DetectorSet::builder().only(&[kind]).build())
}

/// Runs one detector over `data` (all decoded views): no panic, findings
/// deterministic, spans inside the value, confidences in 0..=1.
pub fn check_detector(kind: DetectorKind, data: &[u8]) {
    let set = set(kind);
    let first = set.scan(data);
    assert_eq!(first, set.scan(data), "{kind}: findings must be deterministic");
    for f in &first {
        assert!(f.span.start <= f.span.end && f.span.end <= data.len(), "{kind}: span {:?}", f.span);
        assert!((0.0..=1.0).contains(&f.confidence), "{kind}: confidence {}", f.confidence);
    }
}

/// Runs `req` through phases 1 to 5 of `engine`, with a 200 HTML response
/// whose body is `response_body` (phases 3 and 4 inspect it).
pub fn run_phases<'e>(
    engine: &'e Engine,
    req: &HttpRequest,
    response_body: Vec<u8>,
) -> Transaction<'e> {
    let mut tx = engine.transaction(req);
    tx.process_request();
    tx.process_response(ResponseData {
        status: 200,
        protocol: "HTTP/1.1".into(),
        headers: vec![("Content-Type".into(), b"text/html".to_vec())],
        body: response_body,
    });
    tx.process_logging();
    tx
}
