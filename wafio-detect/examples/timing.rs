//! Per-value cost of the detectors on the httpparams corpus (31,067 values):
//! p50/p99/mean over values, a per-detector breakdown and the slowest values.
//!
//! `cargo run --release -p wafio-detect --example timing -- [--only sqli,xss] [--reps N] [--slowest N]`
//!
//! Each value is scanned `--reps` times (default 5) and its fastest run is
//! kept, so the figures show the cost of the value rather than scheduler noise.
//!
//! Environment (for profilers such as `perf` or `valgrind --tool=callgrind`):
//! - `WAFIO_TIMING_LOOP=N`: only scan every value N times and print the mean;
//! - `WAFIO_TIMING_MINLEN=N`: only values of at least N bytes;
//! - `WAFIO_TIMING_VALUE=text`: that one value, 20,000 times;
//! - `WAFIO_TIMING_FILE=path`: the values of a file, one per line (the
//!   slowest values, say, to count their instructions);
//! - `WAFIO_TIMING_MEDIAN=1`: also list the values around the median;
//! - `WAFIO_TIMING_AROUND=q`: also list the values around quantile `q`
//!   (`0.99` for the p99).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use wafio_detect::{DetectorKind, DetectorSet, Input};

fn pct(sorted: &[u64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx] as f64 / 1000.0
}

fn time_values(set: &DetectorSet, values: &[Vec<u8>], reps: usize) -> Vec<u64> {
    let mut out = Vec::new();
    values
        .iter()
        .map(|v| {
            (0..reps)
                .map(|_| {
                    out.clear();
                    let t = Instant::now();
                    set.scan_into(v, &mut out);
                    std::hint::black_box(&out);
                    t.elapsed().as_nanos() as u64
                })
                .min()
                .unwrap_or(0)
        })
        .collect()
}

fn summary(label: &str, times: &[u64]) {
    let mut s = times.to_vec();
    s.sort_unstable();
    let mean = s.iter().sum::<u64>() as f64 / s.len().max(1) as f64 / 1000.0;
    println!(
        "{label:<16} p50 {:>6.2} µs  p99 {:>6.2} µs  mean {:>6.2} µs  max {:>8.2} µs",
        pct(&s, 0.5),
        pct(&s, 0.99),
        mean,
        s.last().copied().unwrap_or(0) as f64 / 1000.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut only, mut reps, mut slowest) = (None, 5usize, 20usize);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--only" => {
                i += 1;
                only = Some(
                    args[i]
                        .split(',')
                        .map(|n| DetectorKind::from_name(n).expect("detector name"))
                        .collect::<Vec<_>>(),
                );
            }
            "--reps" => {
                i += 1;
                reps = args[i].parse().expect("number");
            }
            "--slowest" => {
                i += 1;
                slowest = args[i].parse().expect("number");
            }
            other => panic!("unknown argument {other}"),
        }
        i += 1;
    }
    let min_len: usize = std::env::var("WAFIO_TIMING_MINLEN")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let file = std::env::var_os("WAFIO_TIMING_FILE");
    let values: Vec<Vec<u8>> = match std::env::var("WAFIO_TIMING_VALUE") {
        // One value, many times (instruction counts of a single value).
        Ok(v) => vec![v.into_bytes(); 20000],
        Err(_) if file.is_some() => std::fs::read(file.unwrap_or_default())
            .expect("WAFIO_TIMING_FILE")
            .split(|&c| c == b'\n')
            .filter(|v| !v.is_empty() && v.len() >= min_len)
            .map(<[u8]>::to_vec)
            .collect(),
        Err(_) => common::httpparams()
            .into_iter()
            .flat_map(|s| s.values)
            .filter(|v| v.len() >= min_len)
            .collect(),
    };
    let kinds = only.unwrap_or_else(|| DetectorKind::ALL.to_vec());
    let set = DetectorSet::builder().only(&kinds).build();
    if let Some(n) = std::env::var("WAFIO_TIMING_LOOP")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        // Profiling mode: scan everything n times, print nothing else.
        let t = Instant::now();
        let mut out = Vec::new();
        for _ in 0..n {
            for v in &values {
                out.clear();
                set.scan_into(v, &mut out);
            }
        }
        let per = t.elapsed().as_nanos() as f64 / (n * values.len()) as f64;
        println!("loop: {per:.0} ns per value");
        return;
    }
    // Warm up.
    time_values(&set, &values, 1);
    println!("{} values, fastest of {reps} runs each", values.len());
    let all = time_values(&set, &values, reps);
    summary("set", &all);
    let decode: Vec<u64> = values
        .iter()
        .map(|v| {
            (0..reps)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(Input::new(v));
                    t.elapsed().as_nanos() as u64
                })
                .min()
                .unwrap_or(0)
        })
        .collect();
    summary("decode", &decode);
    let mut per: Vec<(DetectorKind, Vec<u64>)> = Vec::new();
    for &k in &kinds {
        let one = DetectorSet::builder().only(&[k]).build();
        let t = time_values(&one, &values, reps);
        summary(k.name(), &t);
        per.push((k, t));
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by_key(|&i| std::cmp::Reverse(all[i]));
    let around = match std::env::var("WAFIO_TIMING_AROUND") {
        Ok(q) => q.parse::<f64>().ok(),
        Err(_) => std::env::var_os("WAFIO_TIMING_MEDIAN").map(|_| 0.5),
    };
    if let Some(q) = around {
        println!("\nvalues around quantile {q}:");
        // `order` is slowest first.
        let mid = ((order.len() as f64) * (1.0 - q)) as usize;
        for &i in &order[mid.saturating_sub(15)..(mid + 15).min(order.len())] {
            let parts: Vec<String> = per
                .iter()
                .map(|(k, t)| format!("{}={:.2}", k.name(), t[i] as f64 / 1000.0))
                .collect();
            println!(
                "{:>7.2} [{}] {:?}",
                all[i] as f64 / 1000.0,
                parts.join(" "),
                String::from_utf8_lossy(&values[i])
            );
        }
    }
    println!("\nslowest values (µs: set, then per detector incl. decode):");
    for &i in order.iter().take(slowest) {
        let parts: Vec<String> = per
            .iter()
            .map(|(k, t)| format!("{}={:.1}", k.name(), t[i] as f64 / 1000.0))
            .collect();
        let v = String::from_utf8_lossy(&values[i]);
        let shown: String = v.chars().take(100).collect();
        println!(
            "{:>7.1} len {:>5} [{}] {:?}",
            all[i] as f64 / 1000.0,
            values[i].len(),
            parts.join(" "),
            shown
        );
    }
}
