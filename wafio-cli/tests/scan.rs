//! `wafio scan` end to end: inputs, output order and format, exit status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wafio(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wafio"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run wafio")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wafio-scan-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

#[test]
fn example_requests_benign_pass_attacks_block() {
    let out = wafio(&["scan", "--json", "examples/requests"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let ids: Vec<String> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort();
        s
    };
    assert_eq!(ids, sorted, "files are scanned in sorted order");
    assert_eq!(ids.len(), 11);
    for l in &lines {
        let id = l["id"].as_str().unwrap_or_default();
        let verdict = l["verdict"].as_str().unwrap_or_default();
        let benign = id.contains("benign");
        assert_eq!(verdict, if benign { "pass" } else { "block" }, "{id}: {l}");
        if !benign {
            let f = &l["findings"][0];
            for key in ["detector", "location", "evidence", "confidence", "reason"] {
                assert!(!f[key].is_null(), "{id}: finding lacks {key}: {f}");
            }
            assert!(l["score"].as_f64().unwrap_or_default() >= 5.0);
        }
    }
}

#[test]
fn attacks_are_located_where_they_arrive() {
    let out = wafio(&["scan", "--json", "examples/requests"]);
    let lines = json_lines(&out);
    let loc = |file: &str, det: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["id"].as_str().unwrap_or_default().ends_with(file))
            .flat_map(|l| l["findings"].as_array().cloned().unwrap_or_default())
            .filter(|f| f["detector"] == det)
            .map(|f| f["location"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert!(loc("10-sqli-query.http", "sqli").contains(&"ARGS_GET:id".to_string()));
    assert!(loc("11-xss-form.http", "xss").contains(&"ARGS_POST:comment".to_string()));
    assert!(loc("12-cmdi-json.http", "cmdi").contains(&"ARGS_POST:json.host".to_string()));
    assert!(
        loc("14-log4shell-header.http", "java").contains(&"REQUEST_HEADERS:User-Agent".to_string())
    );
}

#[test]
fn jsonl_keeps_order_and_reports_bad_lines_by_number() {
    let d = tmpdir("jsonl");
    let f = d.join("reqs.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"id":"a","method":"GET","uri":"/?q=hello","headers":[["Host","x"]]}"#,
            "\n",
            "{not json\n",
            "\n",
            r#"{"id":"c","method":"POST","uri":"/login","headers":[["Content-Type","application/x-www-form-urlencoded"]],"body":"u=admin%27+or+1%3D1--+"}"#,
            "\n",
            r#"{"id":"d","method":"GET","uri":"/","body_base64":"%%%"}"#,
            "\n",
        ),
    )
    .expect("write");
    let out = wafio(&["scan", "--json", "--jsonl", f.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reqs.jsonl:2: invalid JSON request"),
        "{stderr}"
    );
    assert!(
        stderr.contains("reqs.jsonl:5: \"body_base64\" is not valid base64"),
        "{stderr}"
    );
    let lines = json_lines(&out);
    let verdicts: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap_or_default(),
                l["verdict"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let file = f.display().to_string();
    assert_eq!(
        verdicts,
        vec![
            ("a", "pass"),
            (format!("{file}:2").as_str(), "error"),
            ("c", "block"),
            (format!("{file}:5").as_str(), "error")
        ]
    );
}

#[test]
fn values_are_query_parameters() {
    let out = wafio(&["scan", "--json", "--values", "examples/values.txt"]);
    assert_eq!(out.status.code(), Some(1));
    let verdicts: Vec<String> = json_lines(&out)
        .iter()
        .map(|l| l["verdict"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(verdicts, ["pass", "pass", "block", "block", "block"]);
    let first = &json_lines(&out)[2]["findings"][0];
    assert_eq!(first["location"], "ARGS_GET:value");
}

#[test]
fn broken_request_file_names_file_and_line_and_batch_continues() {
    let d = tmpdir("broken");
    std::fs::write(d.join("a-broken.http"), b"GET / HTTP/1.1\r\nHost x\r\n\r\n").expect("write");
    std::fs::write(
        d.join("b-ok.http"),
        b"GET /?q=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .expect("write");
    let out = wafio(&["scan", d.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a-broken.http: line 2"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("2 inputs: 0 blocked, 0 logged, 1 passed, 1 errors"));
}

#[test]
fn binary_value_lines_are_errors() {
    let d = tmpdir("binary");
    let f = d.join("v.txt");
    std::fs::write(&f, b"ok\nbad\0value\n\xff\xfe\n").expect("write");
    let out = wafio(&["scan", "--values", f.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("v.txt:2: binary value"), "{stderr}");
    assert!(
        stderr.contains("v.txt:3: value is not valid UTF-8"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = wafio(&["scan"]);
    assert_eq!(out.status.code(), Some(2));
    let out = wafio(&["scan", "--detectors", "sqli,nope", "examples/values.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown detector \"nope\""));
    let out = wafio(&["scan", "no/such/file.http"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stats_and_modes() {
    let out = wafio(&["scan", "--stats", "--values", "examples/values.txt"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stats: 5 requests") && stderr.contains("p99"),
        "{stderr}"
    );
    let out = wafio(&[
        "scan",
        "--mode",
        "detect",
        "--json",
        "--values",
        "examples/values.txt",
    ]);
    assert_eq!(out.status.code(), Some(0), "detect mode blocks nothing");
    assert!(json_lines(&out).iter().any(|l| l["verdict"] == "log"));
    let out = wafio(&[
        "scan",
        "--detectors",
        "xss",
        "--json",
        "--values",
        "examples/values.txt",
    ]);
    let v: Vec<_> = json_lines(&out)
        .iter()
        .map(|l| l["verdict"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(v, ["pass", "pass", "pass", "block", "pass"]);
}
