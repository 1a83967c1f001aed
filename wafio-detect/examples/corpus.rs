//! Detection and false-positive rates of the detectors on ../shared/corpus.
//!
//! `cargo run --release -p wafio-detect --example corpus -- [--only sqli,xss] [--set NAME] [--show-misses] [--show-hits] [--limit N]`
//!
//! `--show-misses` prints attack values not flagged; `--show-hits` prints benign
//! values that were flagged (false positives) with the finding.

#[path = "../tests/common/mod.rs"]
mod common;

use wafio_detect::{DetectorKind, DetectorSet};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut builder = DetectorSet::builder();
    let mut set_filter = None;
    let (mut show_misses, mut show_hits, mut limit) = (false, false, 50usize);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--only" => {
                i += 1;
                let kinds: Vec<_> = args[i]
                    .split(',')
                    .map(|n| DetectorKind::from_name(n).expect("detector name"))
                    .collect();
                builder = builder.only(&kinds);
            }
            "--set" => {
                i += 1;
                set_filter = Some(args[i].clone());
            }
            "--show-misses" => show_misses = true,
            "--show-hits" => show_hits = true,
            "--limit" => {
                i += 1;
                limit = args[i].parse().expect("number");
            }
            other => panic!("unknown argument {other}"),
        }
        i += 1;
    }
    let set = builder.build();
    let mut sets = common::httpparams();
    sets.extend(common::libinjection());
    for s in sets {
        if let Some(f) = &set_filter {
            if !s.name.contains(f.as_str()) {
                continue;
            }
        }
        let mut flagged = 0;
        let mut shown = 0;
        let start = std::time::Instant::now();
        for v in &s.values {
            let findings = set.scan(v);
            // Default decision engine: block when 10 × confidence >= 5.0.
            let blocked = findings.iter().any(|f| f.confidence >= 0.5);
            if blocked {
                flagged += 1;
            }
            let show = (s.attack && !blocked && show_misses) || (!s.attack && blocked && show_hits);
            if show && shown < limit {
                shown += 1;
                let best = findings
                    .iter()
                    .max_by(|a, b| a.confidence.total_cmp(&b.confidence));
                match best {
                    Some(f) => println!(
                        "  {:?}  => {} {} {:.2} {:?} ({})",
                        String::from_utf8_lossy(v),
                        f.detector,
                        f.class,
                        f.confidence,
                        f.evidence,
                        f.reason
                    ),
                    None => println!("  {:?}", String::from_utf8_lossy(v)),
                }
            }
        }
        let el = start.elapsed();
        let pct = 100.0 * flagged as f64 / s.values.len().max(1) as f64;
        println!(
            "{:<55} {:>6} values  {} {:>6} ({:6.2}%)  {:.3} µs/value",
            s.name,
            s.values.len(),
            if s.attack { "blocked" } else { "FP     " },
            flagged,
            pct,
            el.as_secs_f64() * 1e6 / s.values.len().max(1) as f64
        );
    }
}
