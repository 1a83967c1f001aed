//! CRS engine benches: compiling all of CRS v4.28, and one transaction at
//! paranoia levels 1 and 4 (SecRuleEngine On) for a benign GET with 10
//! arguments, a 4 KiB form POST and a 64 KiB JSON body.
//!
//! Reads ../shared/crs (or `WAFIO_CRS`). Run with
//! `cargo bench -p wafio-crs --bench engine`.

use std::path::{Path, PathBuf};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use wafio_crs::engine::Engine;
use wafio_crs::request::HttpRequest;

fn crs() -> PathBuf {
    match std::env::var_os("WAFIO_CRS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs"),
    }
}

fn setup(pl: u8) -> String {
    format!(
        "SecRuleEngine On\nSecRequestBodyAccess On\n\
         SecAction \"id:900005,phase:1,nolog,pass,t:none,\
         setvar:tx.blocking_paranoia_level={pl},setvar:tx.detection_paranoia_level={pl}\"\n"
    )
}

fn engine(pl: u8) -> Engine {
    Engine::builder()
        .rules_before(setup(pl))
        .crs_dir(crs())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn get_10_args() -> Vec<u8> {
    let q: Vec<String> = (0..10).map(|i| format!("name{i}=value{i}")).collect();
    format!(
        "GET /shop/items?{} HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\
         Accept: text/html\r\nAccept-Language: en-US\r\n\r\n",
        q.join("&")
    )
    .into_bytes()
}

fn post(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "POST /submit HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\
         Accept: text/html\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn form_body(size: usize) -> Vec<u8> {
    let mut b = Vec::new();
    let mut i = 0;
    while b.len() < size {
        if !b.is_empty() {
            b.push(b'&');
        }
        b.extend_from_slice(format!("field{i}=some_ordinary_text_{i}").as_bytes());
        i += 1;
    }
    b
}

fn json_body(size: usize) -> Vec<u8> {
    let mut b = b"{\"items\":[".to_vec();
    let mut i = 0;
    while b.len() < size {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(
            format!("{{\"id\":{i},\"name\":\"item_number_{i}\",\"tags\":[\"a\",\"b\"]}}")
                .as_bytes(),
        );
        i += 1;
    }
    b.extend_from_slice(b"]}");
    b
}

/// The resident set size in KiB (Linux `/proc/self/status`), if known.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bench_compile(c: &mut Criterion) {
    if let Some(before) = rss_kib() {
        let e = engine(4);
        // Touch every regex a request can reach so lazy state is counted.
        let req = HttpRequest::parse(&get_10_args(), e.request_limits())
            .unwrap_or_else(|err| panic!("{err}"));
        let mut tx = e.transaction(&req);
        tx.process_request();
        drop(tx);
        if let Some(after) = rss_kib() {
            eprintln!(
                "compiled engine (PL4, after one request): RSS delta {} KiB",
                after.saturating_sub(before)
            );
        }
        drop(e);
    }
    let mut g = c.benchmark_group("crs_compile");
    g.sample_size(10);
    g.bench_function("all_rules", |b| b.iter(|| black_box(engine(1))));
    g.finish();
}

fn bench_tx(c: &mut Criterion) {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("get_10_args", get_10_args()),
        (
            "form_post_4k",
            post("application/x-www-form-urlencoded", &form_body(4096)),
        ),
        ("json_64k", post("application/json", &json_body(65536))),
    ];
    for pl in [1u8, 4] {
        let engine = engine(pl);
        let mut g = c.benchmark_group(format!("crs_tx_pl{pl}"));
        for (name, raw) in &cases {
            let req = HttpRequest::parse(raw, engine.request_limits())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            // A benign request must pass.
            let mut tx = engine.transaction(&req);
            tx.process_request();
            assert!(
                tx.intervention().is_none(),
                "{name} at PL{pl} blocked: {:?}",
                tx.matched_ids()
            );
            g.bench_function(*name, |b| {
                b.iter(|| {
                    let mut tx = engine.transaction(black_box(&req));
                    tx.process_request();
                    black_box(tx.intervention().is_none())
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench_compile, bench_tx);
criterion_main!(benches);
