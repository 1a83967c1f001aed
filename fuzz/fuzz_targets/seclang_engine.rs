//! Fuzzes the engine on arbitrary rules: the text is parsed, compiled
//! (including the phase-1 prelude, which runs at build) and, when it
//! builds, a GET and a form POST run through phases 1 to 5. Nothing may
//! panic; `Include` is off, so the rules read no file.
#![no_main]

use wafio_crs::ast::ParseOptions;
use wafio_crs::engine::Engine;
use wafio_crs::request::HttpRequest;

const REQUESTS: [&[u8]; 2] = [
    b"GET /a/b.php?id=1%27+or+1=1&x=%3Cscript%3E HTTP/1.1\r\nHost: a\r\nUser-Agent: fuzz\r\nCookie: s=1\r\n\r\n",
    b"POST /submit HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nq=..%2fetc&",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let options = ParseOptions {
        allow_include: false,
        ..ParseOptions::default()
    };
    let Ok(engine) = Engine::builder()
        .parse_options(options)
        .rules_before(text)
        .build()
    else {
        return;
    };
    for raw in REQUESTS {
        let Ok(req) = HttpRequest::parse(raw, engine.request_limits()) else {
            continue;
        };
        let tx = wafio_fuzz::run_phases(&engine, &req, b"<html>ok</html>".to_vec());
        let _ = (tx.matched_ids(), tx.log().len(), tx.intervention());
    }
});
