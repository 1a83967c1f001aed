//! Fuzzes the lfi detector alone over arbitrary bytes (all decoded views).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let set = wafio_detect::DetectorSet::builder()
        .only(&[wafio_detect::DetectorKind::Lfi])
        .build();
    let findings = set.scan(data);
    for f in &findings {
        assert!(f.span.start <= f.span.end && f.span.end <= data.len());
        assert!((0.0..=1.0).contains(&f.confidence));
    }
});
