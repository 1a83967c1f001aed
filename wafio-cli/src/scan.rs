//! `wafio scan`: offline verdicts for raw request files, JSONL and value lists.

use std::fs;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine as _;
use serde::Deserialize;
use wafio_crs::request::HttpRequest;
use wafio_detect::DetectorKind;
use wafio_proxy::{Decision, Mode, Verdict, Waf};

/// Longest line accepted in a `--jsonl` or `--values` file (8 MiB).
const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// Arguments of `wafio scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Raw HTTP/1.x request files (one request per file); directories are walked.
    paths: Vec<PathBuf>,
    /// JSON Lines file: one request per line,
    /// `{"id","method","uri","headers":[[name,value],…],"body"|"body_base64"}`.
    #[arg(long, value_name = "FILE")]
    jsonl: Vec<PathBuf>,
    /// One value per line, each scanned as one query parameter value
    /// (URL-encoded as it would be sent).
    #[arg(long, value_name = "FILE")]
    values: Vec<PathBuf>,
    /// Print one JSON line per input, in input order.
    #[arg(long)]
    json: bool,
    /// Also print passing inputs in the human summary.
    #[arg(long, short)]
    verbose: bool,
    /// Print throughput and p50/p99 µs per request to stderr.
    #[arg(long)]
    stats: bool,
    /// block (default), detect (log only) or off.
    #[arg(long, default_value = "block", value_parser = parse_mode)]
    mode: Mode,
    /// Block threshold on the 0–10 score (default 5.0).
    #[arg(long)]
    threshold: Option<f32>,
    /// Also run the OWASP CRS from this directory (crs-setup.conf[.example]
    /// and rules/*.conf).
    #[arg(long, value_name = "DIR")]
    crs: Option<std::path::PathBuf>,
    /// CRS paranoia level, 1–4 (with --crs).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    paranoia: u8,
    /// Comma-separated detectors to run (default: all eight).
    #[arg(long, value_delimiter = ',')]
    detectors: Option<Vec<String>>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    match s {
        "block" => Ok(Mode::Block),
        "detect" => Ok(Mode::Detect),
        "off" => Ok(Mode::Off),
        _ => Err(format!(
            "unknown mode {s:?} (expected block, detect or off)"
        )),
    }
}

/// One input, in order.
enum Item {
    Request { id: String, req: Box<HttpRequest> },
    Value { id: String, text: String },
    Error { id: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRequest {
    id: Option<serde_json::Value>,
    method: String,
    uri: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    body: Option<String>,
    body_base64: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

/// Runs `wafio scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    if args.paths.is_empty() && args.jsonl.is_empty() && args.values.is_empty() {
        bail!("nothing to scan: give request files or directories, --jsonl FILE or --values FILE");
    }
    let mut builder = Waf::builder().mode(args.mode);
    if let Some(t) = args.threshold {
        if !(0.0..=10.0).contains(&t) {
            bail!("--threshold {t} is outside 0..=10");
        }
        builder = builder.threshold(t);
    }
    if let Some(names) = &args.detectors {
        let mut kinds = Vec::new();
        for n in names {
            match DetectorKind::from_name(n.trim()) {
                Some(k) => kinds.push(k),
                None => bail!(
                    "unknown detector {n:?} (known: {})",
                    DetectorKind::ALL.map(|k| k.name()).join(", ")
                ),
            }
        }
        builder = builder.detectors(&kinds);
    }
    if let Some(dir) = &args.crs {
        let crs = wafio_proxy::Crs::from_dir(dir, args.paranoia, 5)
            .with_context(|| format!("loading the CRS from {}", dir.display()))?;
        builder = builder.crs(std::sync::Arc::new(crs));
    }
    let waf = builder.build();
    let limits = waf.request_limits().clone();

    let stdout = io::stdout();
    let mut out = Printer {
        out: BufWriter::new(stdout.lock()),
        json: args.json,
        verbose: args.verbose,
        times: Vec::new(),
        counts: Counts::default(),
    };
    let wall = Instant::now();

    let mut files = Vec::new();
    for p in &args.paths {
        collect_files(p, &mut files, &mut out)?;
    }
    for f in files {
        let item = match fs::read(&f) {
            Ok(raw) => match HttpRequest::parse(&raw, &limits) {
                Ok(req) => Item::Request {
                    id: f.display().to_string(),
                    req: Box::new(req),
                },
                Err(e) => Item::Error {
                    id: f.display().to_string(),
                    message: format!("{}: {e}", f.display()),
                },
            },
            Err(e) => Item::Error {
                id: f.display().to_string(),
                message: format!("{}: {e}", f.display()),
            },
        };
        out.handle(&waf, item)?;
    }
    for f in &args.jsonl {
        for_each_line(f, &mut out, |line_no, line, out| {
            let id_default = format!("{}:{line_no}", f.display());
            let item = match jsonl_request(line) {
                Ok((id, req)) => Item::Request {
                    id: id.unwrap_or(id_default),
                    req: Box::new(req),
                },
                Err(e) => Item::Error {
                    id: id_default,
                    message: format!("{}:{line_no}: {e}", f.display()),
                },
            };
            out.handle(&waf, item)
        })?;
    }
    for f in &args.values {
        for_each_line(f, &mut out, |line_no, line, out| {
            let id = format!("{}:{line_no}", f.display());
            let item = match value_text(line) {
                Ok(text) => Item::Value { id, text },
                Err(e) => Item::Error {
                    id,
                    message: format!("{}:{line_no}: {e}", f.display()),
                },
            };
            out.handle(&waf, item)
        })?;
    }
    out.finish(args.stats, wall.elapsed())
}

fn collect_files(p: &Path, files: &mut Vec<PathBuf>, out: &mut Printer<'_>) -> anyhow::Result<()> {
    let meta = match fs::metadata(p) {
        Ok(m) => m,
        Err(e) => {
            return out.handle_error(p.display().to_string(), format!("{}: {e}", p.display()));
        }
    };
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = fs::read_dir(p)
            .with_context(|| format!("reading directory {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let name = e
                .file_name()
                .map(|n| n.to_string_lossy().starts_with('.'))
                .unwrap_or(false);
            if !name {
                collect_files(&e, files, out)?;
            }
        }
    } else {
        files.push(p.to_path_buf());
    }
    Ok(())
}

/// Reads a file line by line (LF or CRLF), calling `f` with 1-based line
/// numbers; blank lines are skipped. Lines longer than [`MAX_LINE_BYTES`]
/// are reported as errors and skipped.
fn for_each_line(
    path: &Path,
    out: &mut Printer<'_>,
    mut f: impl FnMut(usize, &[u8], &mut Printer<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) => {
            return out.handle_error(
                path.display().to_string(),
                format!("{}: {e}", path.display()),
            )
        }
    };
    let mut reader = io::BufReader::new(file);
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        if buf.len() > MAX_LINE_BYTES && !buf.ends_with(b"\n") {
            // Skip the rest of the over-long line.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                let m = (&mut reader).take(1 << 20).read_until(b'\n', &mut rest)?;
                if m == 0 || rest.ends_with(b"\n") {
                    break;
                }
            }
            let id = format!("{}:{line_no}", path.display());
            out.handle_error(
                id.clone(),
                format!("{id}: line longer than {MAX_LINE_BYTES} bytes"),
            )?;
            continue;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        f(line_no, line, out)?;
    }
}

fn jsonl_request(line: &[u8]) -> anyhow::Result<(Option<String>, HttpRequest)> {
    let j: JsonRequest = serde_json::from_slice(line).context("invalid JSON request")?;
    let id = j.id.map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    });
    let body = match (j.body, j.body_base64) {
        (Some(_), Some(_)) => bail!("both \"body\" and \"body_base64\" given"),
        (Some(b), None) => b.into_bytes(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .context("\"body_base64\" is not valid base64")?,
        (None, None) => Vec::new(),
    };
    if j.method.is_empty() || !j.method.bytes().all(|c| c.is_ascii_alphabetic()) {
        bail!("\"method\" {:?} is not an HTTP method", j.method);
    }
    if j.uri.is_empty() || j.uri.bytes().any(|c| c.is_ascii_control() || c == b' ') {
        bail!(
            "\"uri\" {:?} is empty or has spaces or control characters",
            j.uri
        );
    }
    Ok((
        id,
        HttpRequest {
            method: j.method,
            uri: j.uri,
            version: j.version.unwrap_or_else(|| "HTTP/1.1".to_string()),
            headers: j
                .headers
                .into_iter()
                .map(|(n, v)| (n, v.into_bytes()))
                .collect(),
            body: body.into(),
        },
    ))
}

/// A `--values` line: text, scanned as one query parameter value (see
/// [`Waf::inspect_query_value`]).
fn value_text(line: &[u8]) -> anyhow::Result<String> {
    if line.contains(&0) {
        bail!("binary value (NUL byte); --values takes text lines");
    }
    Ok(std::str::from_utf8(line)
        .context("value is not valid UTF-8")?
        .to_owned())
}

#[derive(Default)]
struct Counts {
    inputs: usize,
    blocked: usize,
    logged: usize,
    passed: usize,
    errors: usize,
}

struct Printer<'a> {
    out: BufWriter<io::StdoutLock<'a>>,
    json: bool,
    verbose: bool,
    times: Vec<u32>,
    counts: Counts,
}

impl Printer<'_> {
    fn handle(&mut self, waf: &Waf, item: Item) -> anyhow::Result<()> {
        match item {
            Item::Error { id, message } => self.handle_error(id, message),
            Item::Value { id, text } => {
                let start = Instant::now();
                let verdict = waf.inspect_query_value(&text);
                let ns = start.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32;
                self.times.push(ns);
                self.print_verdict(&id, &verdict)
            }
            Item::Request { id, req } => {
                let start = Instant::now();
                let verdict = waf.inspect(&req);
                let ns = start.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32;
                self.times.push(ns);
                self.print_verdict(&id, &verdict)
            }
        }
    }

    fn handle_error(&mut self, id: String, message: String) -> anyhow::Result<()> {
        self.counts.inputs += 1;
        self.counts.errors += 1;
        eprintln!("wafio: error: {message}");
        if self.json {
            let line = serde_json::json!({"id": id, "verdict": "error", "error": message});
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    fn print_verdict(&mut self, id: &str, v: &Verdict) -> anyhow::Result<()> {
        self.counts.inputs += 1;
        match v.decision {
            Decision::Block => self.counts.blocked += 1,
            Decision::Log => self.counts.logged += 1,
            Decision::Pass => self.counts.passed += 1,
        }
        if self.json {
            let findings: Vec<_> = v
                .findings
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "detector": f.finding.detector.name(),
                        "class": f.finding.class,
                        "location": f.location,
                        "evidence": f.finding.evidence,
                        "confidence": round2(f.finding.confidence),
                        "reason": f.finding.reason,
                    })
                })
                .collect();
            let mut line = serde_json::json!({
                "id": id,
                "verdict": v.decision.name(),
                "score": round2(v.score),
                "findings": findings,
            });
            if !v.rules.is_empty() {
                line["crs_anomaly"] = v.crs_anomaly.into();
                line["rules"] = v
                    .rules
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.id,
                            "msg": r.msg,
                            "location": r.variable,
                            "evidence": r.evidence,
                            "points": r.points,
                        })
                    })
                    .collect();
            }
            writeln!(self.out, "{line}")?;
            return Ok(());
        }
        if v.decision == Decision::Pass && !self.verbose {
            return Ok(());
        }
        writeln!(
            self.out,
            "{:<5} {id}  score {:.1}",
            v.decision.name().to_uppercase(),
            v.score
        )?;
        for r in &v.rules {
            writeln!(
                self.out,
                "      crs {} at {} (+{}): {}",
                r.id, r.variable, r.points, r.msg
            )?;
        }
        for f in &v.findings {
            writeln!(
                self.out,
                "      {} {} at {} ({:.2}): {:?} — {}",
                f.finding.detector,
                f.finding.class,
                f.location,
                f.finding.confidence,
                f.finding.evidence,
                f.finding.reason
            )?;
        }
        Ok(())
    }

    fn finish(mut self, stats: bool, wall: Duration) -> anyhow::Result<ExitCode> {
        let c = &self.counts;
        if !self.json {
            writeln!(
                self.out,
                "{} inputs: {} blocked, {} logged, {} passed, {} errors",
                c.inputs, c.blocked, c.logged, c.passed, c.errors
            )?;
        }
        self.out.flush()?;
        if stats {
            print_stats(&mut self.times, wall);
        }
        Ok(if c.errors > 0 {
            ExitCode::from(2)
        } else if c.blocked > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// A confidence or score rounded to two decimals, as a JSON number that
/// prints without float noise.
fn round2(x: f32) -> f64 {
    (f64::from(x) * 100.0).round() / 100.0
}

fn print_stats(times: &mut [u32], wall: Duration) {
    if times.is_empty() {
        eprintln!("stats: no request inspected");
        return;
    }
    let total_ns: u64 = times.iter().map(|&t| u64::from(t)).sum();
    times.sort_unstable();
    let pct = |p: f64| {
        let idx = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
        f64::from(times[idx]) / 1000.0
    };
    let mean = total_ns as f64 / times.len() as f64 / 1000.0;
    eprintln!(
        "stats: {} requests in {:.3} s wall, {:.3} s inspecting: {:.0} requests/s on one core; µs per request: p50 {:.2}, p99 {:.2}, mean {:.2}, max {:.2}",
        times.len(),
        wall.as_secs_f64(),
        total_ns as f64 / 1e9,
        times.len() as f64 / (total_ns as f64 / 1e9).max(1e-9),
        pct(0.50),
        pct(0.99),
        mean,
        f64::from(times[times.len() - 1]) / 1000.0
    );
}
