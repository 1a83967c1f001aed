//! Fuzz the SecLang parser: arbitrary bytes must yield a configuration or
//! located errors, never a panic, in strict and lenient modes.
#![no_main]

use wafio_crs::ast::{parse_str, ParseOptions};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for lenient in [false, true] {
        let options = ParseOptions {
            lenient,
            allow_include: false,
            ..ParseOptions::default()
        };
        match parse_str("fuzz.conf", &text, &options) {
            Ok(config) => {
                // Rendering must not panic either.
                let _ = config.debug_ast();
            }
            Err(errors) => {
                let _ = errors.to_string();
            }
        }
    }
});
