//! The request model against the OWASP CRS v4 regression suite (go-ftw YAML
//! in `../shared/crs/tests/regression/tests`, read by path): every stage's
//! request is built the way go-ftw sends it and parsed; none may panic, and
//! the JSON and multipart bodies must go through their body processor
//! without `REQBODY_ERROR`, except the ones listed in `KNOWN_MALFORMED`,
//! which the tests send malformed on purpose.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_yaml_ng::Value;
use wafio_crs::request::{BodyProcessor, HttpRequest, RequestData, RequestLimits};

/// Stages the raw parser refuses, with why.
const KNOWN_REFUSED: &[(&str, &str)] = &[(
    "920400-1",
    "go-ftw template `{{ \"1\" | repeat 64200 }}` not expanded: body shorter than Content-Length",
)];

/// `file stem - test_id`: bodies the CRS tests send malformed on purpose, with
/// why.
const KNOWN_MALFORMED: &[(&str, &str)] = &[
    (
        "920400-2",
        "multipart part with no empty line after its headers",
    ),
    ("920420-9", "Content-Type application/json with body `test`"),
    ("922130-1", "part header name starting with 0x0E"),
    ("922130-2", "part header name ending with 0x0E"),
    (
        "922130-4",
        "part header name with a byte outside the token range",
    ),
    (
        "922130-5",
        "part with no Content-Disposition (`Content-!Disposition`)",
    ),
    (
        "922130-7",
        "part header name with a byte outside the token range",
    ),
    ("922130-8", "parts with no headers and no empty line"),
    ("932180-3", "part with no headers, final boundary missing"),
];

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs/tests/regression/tests")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml") {
            out.push(p);
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// The raw request go-ftw sends for a stage input.
fn build(input: &Value) -> Vec<u8> {
    if let Some(enc) = input.get("encoded_request").map(scalar) {
        return base64::engine::general_purpose::STANDARD
            .decode(enc.split_ascii_whitespace().collect::<String>())
            .unwrap_or_default();
    }
    let method = input
        .get("method")
        .map(scalar)
        .unwrap_or_else(|| "GET".into());
    let uri = input.get("uri").map(scalar).unwrap_or_else(|| "/".into());
    let version = input
        .get("version")
        .map(scalar)
        .unwrap_or_else(|| "HTTP/1.1".into());
    let data = input.get("data").map(scalar).unwrap_or_default();
    let autocomplete = input
        .get("autocomplete_headers")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(Value::Mapping(m)) = input.get("headers") {
        for (k, v) in m {
            headers.push((scalar(k), scalar(v)));
        }
    }
    let has = |h: &[(String, String)], n: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if autocomplete && !data.is_empty() {
        if !has(&headers, "content-type") {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        if !has(&headers, "content-length") && !has(&headers, "transfer-encoding") {
            headers.push(("Content-Length".into(), data.len().to_string()));
        }
    }
    let mut raw = format!("{method} {uri} {version}\r\n");
    for (k, v) in &headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw.push_str(&data);
    raw.into_bytes()
}

#[test]
fn crs_regression_requests() {
    let mut files = Vec::new();
    yaml_files(&suite(), &mut files);
    files.sort();
    assert!(
        files.len() > 300,
        "CRS regression tests not found under {}",
        suite().display()
    );
    let limits = RequestLimits::default();
    let (mut stages, mut parsed, mut json_or_multipart) = (0usize, 0usize, 0usize);
    let mut unexpected = Vec::new();
    let mut refused = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read yaml");
        let Ok(doc) = serde_yaml_ng::from_str::<Value>(&text) else {
            continue;
        };
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(tests) = doc.get("tests").and_then(Value::as_sequence) else {
            continue;
        };
        for test in tests {
            let id = test.get("test_id").map(scalar).unwrap_or_default();
            let Some(st) = test.get("stages").and_then(Value::as_sequence) else {
                continue;
            };
            for stage in st {
                let stage = stage.get("stage").unwrap_or(stage);
                let Some(input) = stage.get("input") else {
                    continue;
                };
                stages += 1;
                let raw = build(input);
                let req = match HttpRequest::parse(&raw, &limits) {
                    Ok(req) => req,
                    Err(e) => {
                        let key = format!("{stem}-{id}");
                        if !KNOWN_REFUSED.iter().any(|(k, _)| *k == key) {
                            refused.push(format!("{key}: {e}"));
                        }
                        continue;
                    }
                };
                parsed += 1;
                let data = RequestData::from_request(&req, &limits);
                // Every location is reachable without panicking.
                let _ = data.locations().count();
                let processor = data.body_processor;
                if !matches!(
                    processor,
                    Some(BodyProcessor::Json | BodyProcessor::Multipart)
                ) || data.body.is_empty()
                {
                    continue;
                }
                json_or_multipart += 1;
                let key = format!("{stem}-{id}");
                let known = KNOWN_MALFORMED.iter().any(|(k, _)| *k == key);
                if data.reqbody_error != known {
                    unexpected.push(format!(
                        "{key}: REQBODY_ERROR={} ({})",
                        data.reqbody_error as u8, data.reqbody_error_msg
                    ));
                }
            }
        }
    }
    eprintln!(
        "{stages} stages, {parsed} parsed, {json_or_multipart} JSON/multipart bodies processed"
    );
    assert!(stages > 4000, "only {stages} stages found");
    assert!(
        refused.is_empty(),
        "refused by the raw parser:\n  {}",
        refused.join("\n  ")
    );
    assert!(
        json_or_multipart > 300,
        "only {json_or_multipart} JSON/multipart bodies"
    );
    assert!(
        unexpected.is_empty(),
        "{} unexpected REQBODY_ERROR values:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}
