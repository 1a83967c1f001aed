//! go-ftw regression tests, run in-process.
//!
//! The OWASP CRS regression suite is written in the go-ftw YAML format: a
//! file per rule, tests made of stages, each stage an HTTP request (`input`)
//! and what must be seen (`output`). This module loads those files and
//! override files, builds each stage's request byte for byte as go-ftw
//! sends it, and checks an engine's observations against the expectations.
//! The engine is plugged in through [`StageRunner`], so the harness itself
//! does not depend on how rules are evaluated.
//!
//! go-ftw request building, reproduced here:
//! - `encoded_request` is base64 of a raw request, sent as is (whitespace
//!   inside the base64 is ignored);
//! - otherwise the request line is `METHOD URI VERSION` with the URI sent
//!   raw (defaults `GET`, `/`, `HTTP/1.1`), then the headers sorted by name,
//!   each once (names are case-sensitive keys, as in go-ftw);
//! - with `autocomplete_headers` (default true) and a body, a
//!   `Content-Type: application/x-www-form-urlencoded` is added when absent,
//!   and a urlencoded body that is not already escaped gets each key and
//!   value query-escaped; `Connection: close` is added when absent, and
//!   `Content-Length` when there is a body or the method is one that takes
//!   one (POST, PUT, PATCH, DELETE);
//! - a multipart body has its LF line ends turned into CRLF.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

mod engine_runner;
pub use engine_runner::{backend_response, EngineRunner, UPSTREAM_TEST_SETUP};

/// Largest test or override file read (4 MiB).
pub const MAX_TEST_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// An error loading tests or building a request.
#[derive(Debug, thiserror::Error)]
pub enum FtwError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A test file is not valid go-ftw YAML.
    #[error("{path}: {message}")]
    Yaml {
        /// The path.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A file is larger than [`MAX_TEST_FILE_BYTES`].
    #[error("{path}: larger than {MAX_TEST_FILE_BYTES} bytes")]
    TooLarge {
        /// The path.
        path: PathBuf,
    },
    /// A stage's request cannot be built.
    #[error("{test}: {message}")]
    Request {
        /// The test name, `<rule>-<test>`.
        test: String,
        /// What is wrong.
        message: String,
    },
}

/// One go-ftw test file.
#[derive(Clone, Debug, Deserialize)]
pub struct TestFile {
    /// The rule the file tests.
    pub rule_id: u32,
    /// The tests; empty when the file's tests are all commented out.
    #[serde(default)]
    pub tests: Vec<Test>,
}

/// One test: one or more stages.
#[derive(Clone, Debug, Deserialize)]
pub struct Test {
    /// The test number within its rule.
    pub test_id: u32,
    /// The description.
    #[serde(default)]
    pub desc: Option<String>,
    /// The stages, run in order.
    pub stages: Vec<Stage>,
}

/// One request and its expectations.
#[derive(Clone, Debug, Deserialize)]
pub struct Stage {
    /// The request.
    pub input: Input,
    /// What must be observed.
    pub output: Output,
}

/// The request of a stage.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Input {
    /// Destination address (informational in-process).
    #[serde(default)]
    pub dest_addr: Option<String>,
    /// Destination port (informational in-process).
    #[serde(default)]
    pub port: Option<u16>,
    /// `http` or `https` (informational in-process).
    #[serde(default)]
    pub protocol: Option<String>,
    /// Method (default `GET`).
    #[serde(default)]
    pub method: Option<String>,
    /// Request target, sent raw (default `/`).
    #[serde(default)]
    pub uri: Option<String>,
    /// Protocol version (default `HTTP/1.1`).
    #[serde(default)]
    pub version: Option<String>,
    /// Headers; go-ftw writes them sorted by name.
    #[serde(default)]
    pub headers: BTreeMap<String, serde_yaml_ng::Value>,
    /// The body.
    #[serde(default)]
    pub data: Option<String>,
    /// A whole raw request, base64.
    #[serde(default)]
    pub encoded_request: Option<String>,
    /// Whether go-ftw completes the headers (default true).
    #[serde(default)]
    pub autocomplete_headers: Option<bool>,
    /// go-ftw option without effect in-process.
    #[serde(default)]
    pub save_cookie: Option<bool>,
    /// go-ftw option without effect in-process.
    #[serde(default)]
    pub stop_magic: Option<bool>,
    /// go-ftw option without effect in-process.
    #[serde(default)]
    pub virtual_host_mode: Option<bool>,
}

/// The expected status: one code or any of several.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StatusExpect {
    /// Exactly this status.
    One(u16),
    /// Any of these.
    Any(Vec<u16>),
}

impl StatusExpect {
    fn matches(&self, status: u16) -> bool {
        match self {
            StatusExpect::One(s) => *s == status,
            StatusExpect::Any(v) => v.contains(&status),
        }
    }
}

/// Expectations on the log of the request.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogExpect {
    /// Rule ids that must have fired.
    #[serde(default)]
    pub expect_ids: Vec<u32>,
    /// Rule ids that must not have fired.
    #[serde(default)]
    pub no_expect_ids: Vec<u32>,
    /// A regex that must match the log.
    #[serde(default)]
    pub match_regex: Option<String>,
    /// A regex that must not match the log.
    #[serde(default)]
    pub no_match_regex: Option<String>,
}

/// What a stage must show.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Output {
    /// The response status.
    #[serde(default)]
    pub status: Option<StatusExpect>,
    /// Log expectations.
    #[serde(default)]
    pub log: Option<LogExpect>,
    /// Older form of `log.match_regex`.
    #[serde(default)]
    pub log_contains: Option<String>,
    /// Older form of `log.no_match_regex`.
    #[serde(default)]
    pub no_log_contains: Option<String>,
    /// A regex the response must match.
    #[serde(default)]
    pub response_contains: Option<String>,
    /// The request is expected to fail at the HTTP level.
    #[serde(default)]
    pub expect_error: Option<bool>,
    /// go-ftw retries once on failure; no effect in-process.
    #[serde(default)]
    pub retry_once: Option<bool>,
}

/// What an engine observed for one stage.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// Ids of the rules that fired (matched and logged).
    pub fired: Vec<u32>,
    /// The response status the client got.
    pub status: u16,
    /// The engine's log lines for this request, ModSecurity-style.
    pub log: String,
    /// The response body the client got.
    pub response: Vec<u8>,
    /// Set when the request failed at the HTTP level (parse error).
    pub error: Option<String>,
}

/// Runs one stage's raw request through an engine.
pub trait StageRunner {
    /// Processes one raw request and reports what was seen.
    fn run_stage(&self, raw_request: &[u8]) -> Observed;
}

impl Input {
    /// The raw bytes go-ftw would send for this input.
    pub fn build_request(&self, test: &str) -> Result<Vec<u8>, FtwError> {
        let err = |message: String| FtwError::Request {
            test: test.to_string(),
            message,
        };
        if let Some(enc) = &self.encoded_request {
            let compact: String = enc.chars().filter(|c| !c.is_whitespace()).collect();
            return base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|e| err(format!("encoded_request is not valid base64: {e}")));
        }
        let method = self.method.as_deref().unwrap_or("GET");
        let uri = self.uri.as_deref().unwrap_or("/");
        let version = self.version.as_deref().unwrap_or("HTTP/1.1");
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &self.headers {
            let v = match v {
                serde_yaml_ng::Value::String(s) => s.clone(),
                serde_yaml_ng::Value::Number(n) => n.to_string(),
                serde_yaml_ng::Value::Bool(b) => b.to_string(),
                serde_yaml_ng::Value::Null => String::new(),
                other => {
                    return Err(err(format!(
                        "header {k:?} has a non-scalar value {other:?}"
                    )))
                }
            };
            headers.insert(k.clone(), v);
        }
        let auto = self.autocomplete_headers.unwrap_or(true);
        let mut data = expand_data_template(self.data.as_deref().unwrap_or_default())
            .map_err(err)?
            .into_bytes();
        // Header names compare case-insensitively, as in go-ftw.
        let find = |headers: &BTreeMap<String, String>, name: &str| -> Option<String> {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        if !data.is_empty() && auto {
            if find(&headers, "Content-Type").is_none() {
                headers.insert(
                    "Content-Type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                );
            }
            if find(&headers, "Content-Type").as_deref()
                == Some("application/x-www-form-urlencoded")
            {
                data = escape_form_data(&data);
            }
        }
        if find(&headers, "Content-Type").is_some_and(|ct| ct.starts_with("multipart/form-data;")) {
            data = lf_to_crlf(&data);
        }
        if auto {
            if find(&headers, "Connection").is_none() {
                headers.insert("Connection".to_string(), "close".to_string());
            }
            if (!data.is_empty() || takes_body(method))
                && find(&headers, "Content-Length").is_none()
            {
                headers.insert("Content-Length".to_string(), data.len().to_string());
            }
        }
        let mut out = Vec::with_capacity(256 + data.len());
        out.extend_from_slice(format!("{method} {uri} {version}\r\n").as_bytes());
        for (k, v) in &headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&data);
        Ok(out)
    }
}

/// Largest body a `data` template may expand to.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024 * 1024;

/// go-ftw runs `data` through Go's `text/template` with the sprig
/// functions. The suite uses one of them, `repeat`: `{{ "1" | repeat 64200 }}`
/// and `{{ repeat 3 "ab" }}` expand here; any other `{{ … }}` is kept as
/// written (payloads such as `{{7*7}}` are data, not templates).
fn expand_data_template(data: &str) -> Result<String, String> {
    let mut out = String::with_capacity(data.len());
    let mut rest = data;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + len].trim();
        out.push_str(&rest[..start]);
        match parse_repeat(inner) {
            Some((text, n)) => {
                if out.len() + text.len().saturating_mul(n) > MAX_TEMPLATE_BYTES {
                    return Err(format!(
                        "data template {{{{ {inner} }}}} expands beyond {MAX_TEMPLATE_BYTES} bytes"
                    ));
                }
                out.push_str(&text.repeat(n));
            }
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `"s" | repeat N` or `repeat N "s"` (a double-quoted Go string without
/// escapes).
fn parse_repeat(inner: &str) -> Option<(String, usize)> {
    let quoted = |s: &str| -> Option<String> {
        let s = s.trim();
        let body = s.strip_prefix('"')?.strip_suffix('"')?;
        (!body.contains(['"', '\\'])).then(|| body.to_string())
    };
    if let Some((lhs, rhs)) = inner.split_once('|') {
        let n = rhs.trim().strip_prefix("repeat")?.trim().parse().ok()?;
        return Some((quoted(lhs)?, n));
    }
    let args = inner.strip_prefix("repeat")?.trim();
    let (n, text) = args.split_once(char::is_whitespace)?;
    Some((quoted(text)?, n.parse().ok()?))
}

/// go-ftw's method test, a regex `^POST|PUT|PATCH|DELETE$` (so "contains
/// PUT or PATCH", "starts with POST", "ends with DELETE").
fn takes_body(method: &str) -> bool {
    method.starts_with("POST")
        || method.contains("PUT")
        || method.contains("PATCH")
        || method.ends_with("DELETE")
}

fn lf_to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    for &b in data {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Go's `url.QueryUnescape`: `None` when an escape is malformed.
fn query_unescape(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'%' => {
                let h = data.get(i + 1).and_then(|c| char::from(*c).to_digit(16))?;
                let l = data.get(i + 2).and_then(|c| char::from(*c).to_digit(16))?;
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// Go's `url.QueryEscape`.
fn query_escape(data: &[u8], out: &mut Vec<u8>) {
    for &c in data {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(c),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(format!("%{c:02X}").as_bytes()),
        }
    }
}

/// go-ftw escapes an urlencoded body whose unescaping changes nothing: each
/// `key=value` pair separated by `&` gets key and value query-escaped.
fn escape_form_data(data: &[u8]) -> Vec<u8> {
    match query_unescape(data) {
        Some(u) if u == data => {}
        _ => return data.to_vec(),
    }
    let mut out = Vec::with_capacity(data.len() + 16);
    for (i, token) in data.split(|&c| c == b'&').enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        match token.iter().position(|&c| c == b'=') {
            Some(eq) => {
                query_escape(&token[..eq], &mut out);
                out.push(b'=');
                query_escape(&token[eq + 1..], &mut out);
            }
            None => query_escape(token, &mut out),
        }
    }
    out
}

impl Output {
    /// Checks observations against the expectations; the error says which
    /// expectation failed and what was seen.
    pub fn check(&self, seen: &Observed) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.expect_error == Some(true) && seen.error.is_none() && seen.status < 400 {
            problems.push(format!(
                "expected an HTTP error, got status {}",
                seen.status
            ));
        }
        if let Some(status) = &self.status {
            if !status.matches(seen.status) {
                problems.push(format!("expected status {status:?}, got {}", seen.status));
            }
        }
        let mut regexes = Vec::new();
        if let Some(log) = &self.log {
            let missing: Vec<u32> = log
                .expect_ids
                .iter()
                .copied()
                .filter(|id| !seen.fired.contains(id))
                .collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "expected ids {missing:?} did not fire (fired: {:?})",
                    seen.fired
                ));
            }
            let unwanted: Vec<u32> = log
                .no_expect_ids
                .iter()
                .copied()
                .filter(|id| seen.fired.contains(id))
                .collect();
            if !unwanted.is_empty() {
                problems.push(format!("ids {unwanted:?} fired but must not"));
            }
            if let Some(r) = &log.match_regex {
                regexes.push((r, true));
            }
            if let Some(r) = &log.no_match_regex {
                regexes.push((r, false));
            }
        }
        if let Some(r) = &self.log_contains {
            regexes.push((r, true));
        }
        if let Some(r) = &self.no_log_contains {
            regexes.push((r, false));
        }
        for (pattern, want) in regexes {
            match regex::Regex::new(pattern) {
                Ok(re) if re.is_match(&seen.log) != want => problems.push(format!(
                    "log {} /{pattern}/",
                    if want { "does not match" } else { "matches" }
                )),
                Ok(_) => {}
                Err(e) => problems.push(format!("invalid regex /{pattern}/: {e}")),
            }
        }
        if let Some(pattern) = &self.response_contains {
            match regex::bytes::Regex::new(pattern) {
                Ok(re) if !re.is_match(&seen.response) => {
                    problems.push(format!("response does not match /{pattern}/"))
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("invalid regex /{pattern}/: {e}")),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// One entry of an override file.
#[derive(Clone, Debug, Deserialize)]
pub struct Override {
    /// The rule.
    pub rule_id: u32,
    /// The tests of that rule (all when empty).
    #[serde(default)]
    pub test_ids: Vec<u32>,
    /// Why the expectation differs for this engine.
    pub reason: String,
    /// The replacement expectations; without one the test is skipped.
    #[serde(default)]
    pub output: Option<Output>,
}

/// An override file in the go-ftw format (`test_overrides:` list).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Overrides {
    /// The entries.
    #[serde(default)]
    pub test_overrides: Vec<Override>,
}

impl Overrides {
    /// Reads an override file.
    pub fn load(path: &Path) -> Result<Overrides, FtwError> {
        let text = read_limited(path)?;
        serde_yaml_ng::from_str(&text).map_err(|e| FtwError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The override of one test, if any.
    pub fn find(&self, rule_id: u32, test_id: u32) -> Option<&Override> {
        self.test_overrides.iter().find(|o| {
            o.rule_id == rule_id && (o.test_ids.is_empty() || o.test_ids.contains(&test_id))
        })
    }
}

fn read_limited(path: &Path) -> Result<String, FtwError> {
    let io = |source| FtwError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_TEST_FILE_BYTES {
        return Err(FtwError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|e| FtwError::Yaml {
        path: path.to_path_buf(),
        message: format!("not UTF-8: {e}"),
    })
}

/// Loads one test file. A file whose content is all commented out (CRS has
/// one) loads as a file with no tests, its rule id taken from its name.
pub fn load_file(path: &Path) -> Result<TestFile, FtwError> {
    let text = read_limited(path)?;
    let yaml_err = |e: serde_yaml_ng::Error| FtwError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).map_err(yaml_err)?;
    if value.is_null() {
        let rule_id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| FtwError::Yaml {
                path: path.to_path_buf(),
                message: "empty test file whose name is not a rule id".into(),
            })?;
        return Ok(TestFile {
            rule_id,
            tests: Vec::new(),
        });
    }
    serde_yaml_ng::from_value(value).map_err(yaml_err)
}

/// Loads every `*.yaml` under `dir` (recursively), sorted by path. As with
/// go-ftw's default glob, other endings (`*.yml`) are not test files.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, TestFile)>, FtwError> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|source| FtwError::Io {
            path: d.clone(),
            source,
        })?;
        for entry in rd {
            let entry = entry.map_err(|source| FtwError::Io {
                path: d.clone(),
                source,
            })?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| load_file(&p).map(|f| (p, f)))
        .collect()
}

/// The outcome of one test.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every stage met its expectations.
    Passed,
    /// A stage failed; the reason says which and why.
    Failed(String),
    /// Skipped, with the reason (an override without expectations).
    Skipped(String),
}

/// The result of a suite run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// `(name, outcome)` per test, in file order; names are `<rule>-<test>`.
    pub results: Vec<(String, Outcome)>,
}

impl Report {
    /// Number of passed tests.
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| *o == Outcome::Passed)
            .count()
    }
    /// Number of failed tests.
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
            .count()
    }
    /// Number of skipped tests.
    pub fn skipped(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Skipped(_)))
            .count()
    }
}

impl fmt::Display for Report {
    /// The closing line: `N passed, M failed, K skipped`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }
}

/// Runs tests through `runner`. `only` keeps the tests whose rule id or
/// `<rule>-<test>` name equals it.
pub fn run(
    files: &[(PathBuf, TestFile)],
    overrides: &Overrides,
    runner: &dyn StageRunner,
    only: Option<&str>,
) -> Report {
    let mut report = Report::default();
    for (_, file) in files {
        for test in &file.tests {
            let name = format!("{}-{}", file.rule_id, test.test_id);
            if let Some(o) = only {
                if o != name && o != file.rule_id.to_string() {
                    continue;
                }
            }
            let ov = overrides.find(file.rule_id, test.test_id);
            if let Some(ov) = ov {
                if ov.output.is_none() {
                    report
                        .results
                        .push((name, Outcome::Skipped(ov.reason.clone())));
                    continue;
                }
            }
            let mut outcome = Outcome::Passed;
            for (i, stage) in test.stages.iter().enumerate() {
                let expected = ov.and_then(|o| o.output.as_ref()).unwrap_or(&stage.output);
                let raw = match stage.input.build_request(&name) {
                    Ok(raw) => raw,
                    Err(e) => {
                        outcome = Outcome::Failed(format!("stage {}: {e}", i + 1));
                        break;
                    }
                };
                let seen = runner.run_stage(&raw);
                if let Err(why) = expected.check(&seen) {
                    outcome = Outcome::Failed(format!("stage {}: {why}", i + 1));
                    break;
                }
            }
            report.results.push((name, outcome));
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(yaml: &str) -> Stage {
        serde_yaml_ng::from_str(yaml).expect("stage yaml")
    }

    #[test]
    fn builds_form_post_like_go_ftw() {
        let s = stage(
            "input:\n  method: POST\n  uri: /post\n  headers:\n    Host: localhost\n    User-Agent: t\n  data: \"var=1234 OR 1=1\"\noutput: {}\n",
        );
        let raw = s.input.build_request("t").expect("build");
        assert_eq!(
            String::from_utf8(raw).expect("utf8"),
            "POST /post HTTP/1.1\r\nConnection: close\r\nContent-Length: 17\r\nContent-Type: application/x-www-form-urlencoded\r\nHost: localhost\r\nUser-Agent: t\r\n\r\nvar=1234+OR+1%3D1"
        );
    }

    #[test]
    fn already_escaped_bodies_are_sent_as_is() {
        let s = stage("input:\n  method: POST\n  data: \"a=%27x\"\noutput: {}\n");
        let raw = s.input.build_request("t").expect("build");
        assert!(raw.ends_with(b"\r\n\r\na=%27x"));
    }

    #[test]
    fn no_autocomplete_sends_headers_as_given() {
        let s = stage("input:\n  method: GET\n  uri: \"/a b\"\n  autocomplete_headers: false\n  headers:\n    Host: x\noutput: {}\n");
        let raw = s.input.build_request("t").expect("build");
        assert_eq!(raw, b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n");
    }

    #[test]
    fn multipart_lf_becomes_crlf_and_encoded_requests_decode() {
        let s = stage("input:\n  method: POST\n  headers:\n    Content-Type: \"multipart/form-data; boundary=x\"\n  data: \"--x\\nA\\n--x--\\n\"\noutput: {}\n");
        let raw = s.input.build_request("t").expect("build");
        assert!(
            raw.ends_with(b"--x\r\nA\r\n--x--\r\n"),
            "{:?}",
            String::from_utf8_lossy(&raw)
        );
        let s = stage("input:\n  encoded_request: \"R0VUIC8g\\nSFRUUC8xLjENCg0K\"\noutput: {}\n");
        assert_eq!(
            s.input.build_request("t").expect("build"),
            b"GET / HTTP/1.1\r\n\r\n"
        );
        let s = stage("input:\n  encoded_request: \"***\"\noutput: {}\n");
        assert!(s
            .input
            .build_request("942100-1")
            .unwrap_err()
            .to_string()
            .starts_with("942100-1: encoded_request"));
    }

    #[test]
    fn checks_ids_status_and_regexes() {
        let out: Output = serde_yaml_ng::from_str(
            "status: [200, 403]\nlog:\n  expect_ids: [1, 2]\n  no_expect_ids: [3]\n  no_match_regex: '\\[id \"\\d+\"\\]'\n",
        )
        .expect("yaml");
        let mut seen = Observed {
            fired: vec![1, 2],
            status: 200,
            ..Observed::default()
        };
        assert_eq!(out.check(&seen), Ok(()));
        seen.fired.push(3);
        seen.log = "[id \"3\"]".into();
        let err = out.check(&seen).unwrap_err();
        assert!(
            err.contains("ids [3] fired") && err.contains("log matches"),
            "{err}"
        );
        seen = Observed {
            fired: vec![1],
            status: 404,
            ..Observed::default()
        };
        let err = out.check(&seen).unwrap_err();
        assert!(
            err.contains("[2] did not fire") && err.contains("got 404"),
            "{err}"
        );
    }

    struct Fixed(Vec<u32>);
    impl StageRunner for Fixed {
        fn run_stage(&self, _raw: &[u8]) -> Observed {
            Observed {
                fired: self.0.clone(),
                status: 200,
                ..Observed::default()
            }
        }
    }

    #[test]
    fn data_templates_repeat() {
        assert_eq!(
            expand_data_template("a{{ \"1\" | repeat 3 }}b").unwrap(),
            "a111b"
        );
        assert_eq!(
            expand_data_template("{{ repeat 2 \"xy\" }}").unwrap(),
            "xyxy"
        );
        assert_eq!(expand_data_template("q={{7*7}}").unwrap(), "q={{7*7}}");
        assert_eq!(expand_data_template("open {{ x").unwrap(), "open {{ x");
        assert!(expand_data_template("{{ \"1\" | repeat 99999999999 }}").is_err());
    }

    #[test]
    fn run_applies_overrides_and_only() {
        let file: TestFile = serde_yaml_ng::from_str(
            "rule_id: 10\ntests:\n  - test_id: 1\n    stages:\n      - input: {}\n        output: {log: {expect_ids: [10]}}\n  - test_id: 2\n    stages:\n      - input: {}\n        output: {status: 400}\n  - test_id: 3\n    stages:\n      - input: {}\n        output: {log: {no_expect_ids: [10]}}\n",
        )
        .expect("yaml");
        let files = vec![(PathBuf::from("10.yaml"), file)];
        let none = Overrides::default();
        let report = run(&files, &none, &Fixed(vec![10]), None);
        assert_eq!(report.to_string(), "1 passed, 2 failed, 0 skipped");
        let ov: Overrides = serde_yaml_ng::from_str(
            "test_overrides:\n  - rule_id: 10\n    test_ids: [2]\n    reason: web server 400\n    output: {status: 200}\n  - rule_id: 10\n    test_ids: [3]\n    reason: wip\n",
        )
        .expect("yaml");
        let report = run(&files, &ov, &Fixed(vec![10]), None);
        assert_eq!(report.to_string(), "2 passed, 0 failed, 1 skipped");
        let report = run(&files, &ov, &Fixed(vec![10]), Some("10-1"));
        assert_eq!(report.results.len(), 1);
    }

    #[test]
    fn the_whole_crs_suite_loads() {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs/tests/regression/tests");
        let files = load_dir(&dir).expect("load suite");
        let tests: usize = files.iter().map(|(_, f)| f.tests.len()).sum();
        let stages: usize = files
            .iter()
            .flat_map(|(_, f)| &f.tests)
            .map(|t| t.stages.len())
            .sum();
        assert_eq!(files.len(), 322);
        assert_eq!(tests, 4966);
        assert_eq!(stages, 4972);
        for (_, f) in &files {
            for t in &f.tests {
                for s in &t.stages {
                    s.input
                        .build_request(&format!("{}-{}", f.rule_id, t.test_id))
                        .expect("request builds");
                }
            }
        }
        let ov_path = dir.join("../coraza-overrides.yaml");
        let ov = Overrides::load(&ov_path).expect("coraza overrides load");
        assert!(!ov.test_overrides.is_empty());
    }
}
