//! The engine as a go-ftw stage runner, with the upstream test setup and an
//! in-process stand-in for the suite's backend.

use base64::Engine as _;

use super::{Observed, StageRunner};
use crate::engine::{Engine, ResponseData};
use crate::request::HttpRequest;

/// Rules loaded before `crs-setup.conf` to reproduce the upstream test
/// setup (see the CRS `tests/docker-compose.yml`): DetectionOnly, blocking
/// paranoia level 4, the `tx.*` limits of the test image, and response
/// body access for the suite's content types.
pub const UPSTREAM_TEST_SETUP: &str = r#"
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain text/html text/xml application/json
SecAction "id:900005,phase:1,nolog,pass,t:none,setvar:tx.blocking_paranoia_level=4,setvar:tx.arg_length=400,setvar:tx.total_arg_length=6400,setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535,setvar:tx.crs_validate_utf8_encoding=1"
"#;

/// Runs each stage through a fresh transaction of `engine`.
///
/// The backend stand-in answers like the suite's "albedo" server: `200`
/// with an empty body, except for `/reflect`, whose JSON request body
/// names the response: `status`, `headers` (an object), `body` or
/// `encodedBody` (base64).
#[derive(Debug)]
pub struct EngineRunner<'e> {
    engine: &'e Engine,
}

impl<'e> EngineRunner<'e> {
    /// A runner over `engine`.
    pub fn new(engine: &'e Engine) -> EngineRunner<'e> {
        EngineRunner { engine }
    }
}

/// The backend's response to a request.
pub fn backend_response(req: &HttpRequest) -> ResponseData {
    let mut resp = ResponseData {
        status: 200,
        protocol: "HTTP/1.1".into(),
        headers: vec![("Content-Type".into(), b"text/plain".to_vec())],
        body: Vec::new(),
    };
    let path = req.uri.split('?').next().unwrap_or("");
    if path != "/reflect" {
        return resp;
    }
    let Ok(spec) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
        return resp;
    };
    if let Some(s) = spec.get("status").and_then(|s| s.as_u64()) {
        resp.status = u16::try_from(s).unwrap_or(200);
    }
    if let Some(h) = spec.get("headers").and_then(|h| h.as_object()) {
        resp.headers.clear();
        for (k, v) in h {
            let v = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            resp.headers.push((k.clone(), v.into_bytes()));
        }
        if !resp
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            resp.headers
                .push(("Content-Type".into(), b"text/plain".to_vec()));
        }
    }
    if let Some(b) = spec.get("body").and_then(|b| b.as_str()) {
        resp.body = b.as_bytes().to_vec();
    } else if let Some(b) = spec.get("encodedBody").and_then(|b| b.as_str()) {
        resp.body = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .unwrap_or_default();
    }
    resp
}

/// What a web server in front of the rules does to the message framing
/// (RFC 9112 section 6, as Apache does in the upstream setup): a request
/// with neither `Content-Length` nor `Transfer-Encoding` has no body (the
/// bytes after the headers are not read as one), and a `Content-Length`
/// beside `Transfer-Encoding: chunked` is removed (the chunked framing
/// wins). The engine's own parser is more lenient, for `wafio scan` files.
fn frame_as_server(mut req: HttpRequest) -> HttpRequest {
    let has = |req: &HttpRequest, name: &str| {
        req.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let te = has(&req, "transfer-encoding");
    if te {
        req.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("content-length"));
    } else if !has(&req, "content-length") {
        req.body = Default::default();
    }
    req
}

impl StageRunner for EngineRunner<'_> {
    fn run_stage(&self, raw: &[u8]) -> Observed {
        let req = match HttpRequest::parse(raw, self.engine.request_limits()) {
            Ok(r) => frame_as_server(r),
            Err(e) => {
                return Observed {
                    status: 400,
                    error: Some(e.to_string()),
                    ..Observed::default()
                };
            }
        };
        let mut tx = self.engine.transaction(&req);
        tx.process_request();
        let mut body = Vec::new();
        let status = if let Some(i) = tx.intervention() {
            i.status
        } else {
            let resp = backend_response(&req);
            let backend_status = resp.status;
            body = resp.body.clone();
            tx.process_response(resp);
            tx.intervention().map_or(backend_status, |i| i.status)
        };
        tx.process_logging();
        Observed {
            fired: tx
                .matched_ids()
                .into_iter()
                .filter_map(|id| u32::try_from(id).ok())
                .collect(),
            status,
            log: tx.log().to_string(),
            response: body,
            error: None,
        }
    }
}
