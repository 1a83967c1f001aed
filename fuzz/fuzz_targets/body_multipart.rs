//! Fuzzes the multipart/form-data body processor: the first line of the
//! input is the Content-Type boundary parameter, the rest the body.
#![no_main]

use wafio_crs::request::{BodyProcessor, HttpRequest, RequestData, RequestLimits};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (boundary, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"XyZ"[..], data),
    };
    let mut ct = b"multipart/form-data; boundary=".to_vec();
    ct.extend_from_slice(boundary);
    let limits = RequestLimits::default();
    let req = HttpRequest {
        method: "POST".into(),
        uri: "/".into(),
        version: "HTTP/1.1".into(),
        headers: vec![("Content-Type".into(), ct)],
        body: body.to_vec().into(),
    };
    let d = RequestData::from_request(&req, &limits);
    assert_eq!(d.body_processor, Some(BodyProcessor::Multipart));
    assert!(d.args_post.len() <= limits.max_args);
    for f in &d.files {
        assert!(f.content.len() <= body.len());
    }
    // MULTIPART_STRICT_ERROR covers every processor error.
    if d.reqbody_error {
        assert!(d.multipart.strict_error);
    }
    for (loc, value) in d.locations() {
        let _ = (loc.to_string(), value.len());
    }
});
