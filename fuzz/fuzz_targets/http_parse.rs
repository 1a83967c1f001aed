//! Fuzzes the raw HTTP/1.x parser and everything built on a parsed request:
//! body processors chosen by Content-Type and every inspection location.
#![no_main]

use wafio_crs::request::{HttpRequest, RequestData, RequestLimits};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = RequestLimits {
        max_body_bytes: 1 << 20,
        ..RequestLimits::default()
    };
    if let Ok(req) = HttpRequest::parse(data, &limits) {
        assert!(req.body.len() <= limits.max_body_bytes);
        assert!(req.headers.len() <= limits.max_headers);
        let data = RequestData::from_request(&req, &limits);
        assert!(data.args_get.len() <= limits.max_args);
        for (loc, value) in data.locations() {
            let _ = (loc.to_string(), value.len());
        }
    }
});
