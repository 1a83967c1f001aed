//! Fuzzes the Json body processor on arbitrary body bytes.
#![no_main]

use wafio_crs::request::{BodyProcessor, HttpRequest, RequestData, RequestLimits};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = RequestLimits {
        max_json_depth: 64,
        max_xml_depth: 64,
        ..RequestLimits::default()
    };
    let req = HttpRequest {
        method: "POST".into(),
        uri: "/".into(),
        version: "HTTP/1.1".into(),
        headers: vec![("Content-Type".into(), b"application/json".to_vec())],
        body: data.to_vec().into(),
    };
    let d = RequestData::from_request(&req, &limits);
    assert_eq!(d.body_processor, Some(BodyProcessor::Json));
    assert!(d.args_post.len() <= limits.max_args);
    assert_eq!(d.reqbody_error, !d.reqbody_error_msg.is_empty());
    for (loc, value) in d.locations() {
        let _ = (loc.to_string(), value.len());
    }
});
