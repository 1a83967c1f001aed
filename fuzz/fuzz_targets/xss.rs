#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wafio_detect::DetectorSet::builder()
        .only(&[wafio_detect::DetectorKind::Xss])
        .build()
        .scan(data);
});
