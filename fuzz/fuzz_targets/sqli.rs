//! Fuzzes the sqli detector alone over arbitrary bytes (all decoded views).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wafio_fuzz::check_detector(wafio_detect::DetectorKind::Sqli, data);
});
