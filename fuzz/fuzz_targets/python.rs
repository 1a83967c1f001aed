//! Fuzzes the Python detector: no panic, bounded time, deterministic findings.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let set = wafio_detect::DetectorSet::builder()
        .only(&[wafio_detect::DetectorKind::Python])
        .build();
    let first = set.scan(data);
    assert_eq!(first, set.scan(data), "findings must be deterministic");
    for f in &first {
        assert!(f.span.start <= f.span.end && f.span.end <= data.len());
    }
});
