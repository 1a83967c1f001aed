//! The detection floors of the detectors issue, measured the way
//! `wafio scan --values` measures them: each corpus value is one query
//! parameter of a request that goes through the whole [`Waf`].
//!
//! Reads `../shared/corpus` (or `$WAFIO_CORPUS`). The floors are the
//! issue's; they are not tuned to the data.

use std::path::PathBuf;

use wafio_proxy::{query_value_request, Decision, Waf};

fn corpus() -> PathBuf {
    match std::env::var_os("WAFIO_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    }
}

fn blocked(waf: &Waf, values: &[String]) -> usize {
    values
        .iter()
        .filter(|v| waf.inspect_query_value(v).decision == Decision::Block)
        .count()
}

/// httpparams payloads of one attack type, as written in the CSV.
fn httpparams(kind: &str) -> Vec<String> {
    let text = std::fs::read_to_string(corpus().join("httpparams/payload_full.csv"))
        .expect("httpparams corpus");
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let fields = csv_fields(line);
        if fields.len() >= 3 && fields[2] == kind {
            out.push(fields[0].clone());
        }
    }
    assert!(!out.is_empty(), "no {kind} rows");
    out
}

fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

fn libinjection(file: &str) -> Vec<String> {
    let bytes = std::fs::read(corpus().join("libinjection").join(file)).expect("libinjection file");
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn rate(n: usize, total: usize) -> f64 {
    100.0 * n as f64 / total as f64
}

#[test]
fn httpparams_attack_floors() {
    let waf = Waf::builder().build();
    for (kind, floor) in [
        ("sqli", 99.5),
        ("xss", 98.0),
        ("cmdi", 95.0),
        ("path-traversal", 99.0),
    ] {
        let values = httpparams(kind);
        let b = blocked(&waf, &values);
        let r = rate(b, values.len());
        println!("httpparams/{kind}: {b}/{} blocked ({r:.2}%)", values.len());
        assert!(
            r >= floor,
            "httpparams/{kind}: {r:.2}% blocked, floor {floor}%"
        );
    }
}

#[test]
fn httpparams_benign_at_most_two_blocked() {
    let waf = Waf::builder().build();
    let values = httpparams("norm");
    assert_eq!(values.len(), 19_304);
    let fps: Vec<_> = values
        .iter()
        .filter(|v| waf.inspect_query_value(v).decision == Decision::Block)
        .collect();
    println!(
        "httpparams/norm: {} of {} blocked: {fps:?}",
        fps.len(),
        values.len()
    );
    assert!(
        fps.len() <= 2,
        "{} benign values blocked: {fps:?}",
        fps.len()
    );
}

#[test]
fn libinjection_files_floors() {
    let waf = Waf::builder().build();
    let dir = corpus().join("libinjection");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("libinjection dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| (n.starts_with("sqli-") || n.starts_with("xss-")) && n.ends_with(".txt"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "expected the libinjection sqli-/xss- files, found {}",
        names.len()
    );
    let mut failures = Vec::new();
    for name in names {
        let values = libinjection(&name);
        let b = blocked(&waf, &values);
        let r = rate(b, values.len());
        println!("libinjection/{name}: {b}/{} ({r:.2}%)", values.len());
        if r < 99.0 {
            failures.push(format!("{name}: {r:.2}%"));
        }
    }
    assert!(failures.is_empty(), "below the 99% floor: {failures:?}");
}

#[test]
fn libinjection_false_positives_at_most_one_percent() {
    let waf = Waf::builder().build();
    let values = libinjection("false_positives.txt");
    let fps: Vec<_> = values
        .iter()
        .filter(|v| waf.inspect_query_value(v).decision == Decision::Block)
        .collect();
    let r = rate(fps.len(), values.len());
    println!(
        "false_positives.txt: {} of {} blocked ({r:.2}%): {fps:?}",
        fps.len(),
        values.len()
    );
    assert!(r <= 1.0, "{r:.2}% of benign values blocked: {fps:?}");
}

/// The fast path of `inspect_query_value` gives the verdict of the whole
/// synthetic request, on a sample of every httpparams set.
#[test]
fn query_value_fast_path_equals_full_request() {
    let waf = Waf::builder().build();
    for kind in ["sqli", "xss", "cmdi", "path-traversal", "norm"] {
        for v in httpparams(kind).iter().step_by(7).take(300) {
            let fast = waf.inspect_query_value(v);
            let full = waf.inspect(&query_value_request(v));
            assert_eq!(fast.decision, full.decision, "{kind}: {v:?}");
            assert_eq!(fast.score, full.score, "{kind}: {v:?}");
        }
    }
}
