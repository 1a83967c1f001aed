//! Data-driven request model cases: `testdata/request/NAME.http` is a raw
//! request, `NAME.json` what the parser and body processors must make of it
//! (only the keys present are checked; `why` says what the case is about;
//! `crlf: true` turns the file's LF line endings into CRLF first).

use std::path::{Path, PathBuf};

use serde_json::Value;
use wafio_crs::request::{HttpRequest, RequestData, RequestLimits};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/request")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("array of pairs")
        .iter()
        .map(|p| {
            (
                p[0].as_str().expect("name").to_string(),
                p[1].as_str().expect("value").to_string(),
            )
        })
        .collect()
}

fn check(name: &str, raw: &[u8], exp: &Value) -> Vec<String> {
    let mut fails = Vec::new();
    let mut fail = |what: &str, got: String, want: String| {
        if got != want {
            fails.push(format!("{name}: {what}: got {got}, want {want}"));
        }
    };
    let limits = RequestLimits::default();
    let parsed = HttpRequest::parse(raw, &limits);
    if let Some(e) = exp.get("error") {
        match parsed {
            Ok(_) => fail("error", "Ok".into(), e.to_string()),
            Err(err) => {
                fail(
                    "error kind",
                    format!("{:?}", err.kind),
                    e["kind"].as_str().unwrap().into(),
                );
                fail("error line", err.line.to_string(), e["line"].to_string());
            }
        }
        return fails;
    }
    let req = match parsed {
        Ok(r) => r,
        Err(e) => return vec![format!("{name}: unexpected parse error: {e}")],
    };
    let d = RequestData::from_request(&req, &limits);
    let args = |v: &[wafio_crs::request::Arg]| {
        v.iter()
            .map(|a| (text(&a.name), text(&a.value)))
            .collect::<Vec<_>>()
    };
    for (key, got) in [
        ("method", d.method.clone()),
        ("filename", text(&d.filename)),
        ("uri", text(&d.uri)),
        ("query_string", text(&d.query_string)),
    ] {
        if let Some(want) = exp.get(key) {
            fail(key, got, want.as_str().unwrap().to_string());
        }
    }
    if let Some(want) = exp.get("args_get") {
        fail(
            "args_get",
            format!("{:?}", args(&d.args_get)),
            format!("{:?}", pairs(want)),
        );
    }
    if let Some(want) = exp.get("args_post") {
        fail(
            "args_post",
            format!("{:?}", args(&d.args_post)),
            format!("{:?}", pairs(want)),
        );
    }
    if let Some(want) = exp.get("cookies") {
        let got: Vec<_> = d
            .cookies
            .iter()
            .map(|c| (text(&c.name), text(&c.value)))
            .collect();
        fail("cookies", format!("{got:?}"), format!("{:?}", pairs(want)));
    }
    if let Some(want) = exp.get("files") {
        let got: Vec<_> = d
            .files
            .iter()
            .map(|f| (text(&f.field), text(&f.filename)))
            .collect();
        fail("files", format!("{got:?}"), format!("{:?}", pairs(want)));
    }
    if let Some(want) = exp.get("part_headers") {
        let got: Vec<_> = d
            .part_headers
            .iter()
            .map(|h| (text(&h.part), text(&h.line)))
            .collect();
        fail(
            "part_headers",
            format!("{got:?}"),
            format!("{:?}", pairs(want)),
        );
    }
    if let Some(want) = exp.get("xml") {
        let got: Vec<_> = d
            .xml
            .iter()
            .map(|x| (text(&x.path), text(&x.value), x.attribute))
            .collect();
        let want: Vec<_> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x[0].as_str().unwrap().to_string(),
                    x[1].as_str().unwrap().to_string(),
                    x[2].as_bool().unwrap(),
                )
            })
            .collect();
        fail("xml", format!("{got:?}"), format!("{want:?}"));
    }
    if let Some(want) = exp.get("processor") {
        let got = d.body_processor.map(|p| p.name().to_string());
        fail(
            "processor",
            format!("{got:?}"),
            format!("{:?}", want.as_str().map(String::from)),
        );
    }
    if let Some(want) = exp.get("reqbody_error") {
        fail(
            "reqbody_error",
            format!("{} ({})", d.reqbody_error, d.reqbody_error_msg),
            format!(
                "{} ({})",
                want.as_bool().unwrap(),
                if d.reqbody_error == want.as_bool().unwrap() {
                    d.reqbody_error_msg.clone()
                } else {
                    "..".into()
                }
            ),
        );
    }
    if let Some(want) = exp.get("multipart") {
        let want: Vec<&str> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for flag in [
            "MULTIPART_BOUNDARY_QUOTED",
            "MULTIPART_BOUNDARY_WHITESPACE",
            "MULTIPART_MISSING_SEMICOLON",
            "MULTIPART_DATA_BEFORE",
            "MULTIPART_DATA_AFTER",
            "MULTIPART_HEADER_FOLDING",
            "MULTIPART_INVALID_HEADER_FOLDING",
            "MULTIPART_LF_LINE",
            "MULTIPART_CRLF_LF_LINES",
            "MULTIPART_INVALID_QUOTING",
            "MULTIPART_INVALID_PART",
            "MULTIPART_FILE_LIMIT_EXCEEDED",
            "MULTIPART_UNMATCHED_BOUNDARY",
            "MULTIPART_STRICT_ERROR",
        ] {
            let got = d.multipart.get(flag).unwrap();
            fail(flag, got.to_string(), want.contains(&flag).to_string());
        }
    }
    fails
}

#[test]
fn testdata_request_cases() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("testdata/request exists")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "json").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 10,
        "expected the request cases, found {names:?}"
    );
    let mut fails = Vec::new();
    for name in &names {
        let exp: Value = serde_json::from_slice(
            &std::fs::read(dir().join(format!("{name}.json"))).expect("read json"),
        )
        .unwrap_or_else(|e| panic!("{name}.json: {e}"));
        assert!(exp.get("why").is_some(), "{name}.json has no `why`");
        let mut raw = std::fs::read(dir().join(format!("{name}.http")))
            .unwrap_or_else(|e| panic!("{name}.http: {e}"));
        if exp.get("crlf").and_then(Value::as_bool) == Some(true) {
            raw = String::from_utf8(raw)
                .unwrap()
                .replace('\n', "\r\n")
                .into_bytes();
        }
        fails.extend(check(name, &raw, &exp));
    }
    assert!(
        fails.is_empty(),
        "{} failures:\n{}",
        fails.len(),
        fails.join("\n")
    );
}
