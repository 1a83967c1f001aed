// Benchmark of the wafio-xdp firewall (custom harness, `harness = false`):
//
// * ns per packet through BPF_PROG_TEST_RUN (`repeat`, kernel-measured mean
//   `duration`) for a block-list hit and a miss with 1, 10k and 1M exact
//   entries and with 100k prefixes (goal: <= 100 ns at 1M exact);
// * wall time to replace a 100k-entry rule set (goal: <= 1 s).
//
// Needs root and BPF. Without them it prints why and exits 0, or fails when
// WAFIO_REQUIRE_KERNEL=1. WAFIO_BENCH_QUICK=1 shrinks the sizes (smoke run).
//
// Run: cargo bench -p wafio-benches --bench xdp
// (also built as `cargo run --release -p wafio-xdp --example xdp_bench`).

use std::net::Ipv4Addr;
use std::time::Instant;

use wafio_xdp::{verdict, Cidr, Compiled, Firewall, FirewallOptions};

fn tcp_frame(src: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&[10, 0, 0, 1]);
    f.extend_from_slice(&ip);
    let mut tcp = [0u8; 20];
    tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;
    f.extend_from_slice(&tcp);
    f
}

/// Block list of `n` hosts (`prefix = false`) or `n` /24 prefixes.
fn block_list(n: u32, prefix: bool, base: u32) -> Compiled {
    let mut c = Compiled {
        rules: wafio_xdp::builtin_rules(),
        ..Default::default()
    };
    c.rules.push(wafio_xdp::RuleInfo {
        id: wafio_xdp::FIRST_RULE,
        name: "bench".into(),
        kind: wafio_xdp::RuleKind::Block,
    });
    for i in 0..n {
        let (addr, len) = if prefix {
            (Ipv4Addr::from(base.wrapping_add(i << 8)), 24)
        } else {
            (Ipv4Addr::from(base.wrapping_add(i)), 32)
        };
        let cidr = Cidr::new(addr.into(), len).expect("valid prefix");
        c.block.push((cidr, wafio_xdp::FIRST_RULE));
    }
    c
}

/// Median over 5 test runs of the kernel's mean ns per packet.
fn ns_per_packet(fw: &Firewall, frame: &[u8], want: u32, repeat: u32) -> f64 {
    let mut samples: Vec<f64> = (0..5)
        .map(|_| {
            let (v, d) = fw.bench_xdp(frame, repeat).expect("test run");
            assert_eq!(v, want, "unexpected verdict");
            d.as_nanos() as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[2]
}

fn kernel_missing(why: &str) {
    if std::env::var("WAFIO_REQUIRE_KERNEL").as_deref() == Ok("1") {
        panic!("WAFIO_REQUIRE_KERNEL=1 but {why}");
    }
    println!("xdp bench skipped: {why} (needs root and BPF)");
}

fn main() {
    let quick = std::env::var("WAFIO_BENCH_QUICK").as_deref() == Ok("1");
    let (big, prefixes, swap) = if quick {
        (100_000, 10_000, 10_000)
    } else {
        (1_000_000, 100_000, 100_000)
    };
    let repeat = if quick { 20_000 } else { 200_000 };
    let miss = tcp_frame(Ipv4Addr::new(100, 64, 0, 9));
    println!("wafio-xdp: XDP ns/packet (BPF_PROG_TEST_RUN, repeat {repeat}, median of 5)");
    println!("{:<28} {:>10} {:>10}", "block list", "hit ns", "miss ns");
    for (label, n, prefix) in [
        ("1 exact".to_string(), 1u32, false),
        ("10k exact".to_string(), 10_000, false),
        (format!("{}k exact", big / 1000), big, false),
        (
            format!("{}k prefixes (/24)", prefixes / 1000),
            prefixes,
            true,
        ),
    ] {
        let opts = FirewallOptions {
            exact_capacity: (n + 16).max(1024),
            prefix_capacity: (n + 16).max(1024),
            ..FirewallOptions::default()
        };
        let mut fw = match Firewall::load(&opts) {
            Ok(fw) => fw,
            Err(e) => return kernel_missing(&e.to_string()),
        };
        let base = u32::from(Ipv4Addr::new(11, 0, 0, 0));
        let c = block_list(n, prefix, base);
        let t = Instant::now();
        fw.apply_compiled(&c).expect("apply");
        let load_time = t.elapsed();
        let last = if prefix {
            base + ((n - 1) << 8) + 77
        } else {
            base + n - 1
        };
        let hit = ns_per_packet(
            &fw,
            &tcp_frame(Ipv4Addr::from(last)),
            verdict::XDP_DROP,
            repeat,
        );
        let mss = ns_per_packet(&fw, &miss, verdict::XDP_PASS, repeat);
        println!(
            "{label:<28} {hit:>10.1} {mss:>10.1}   (filled in {:.0} ms)",
            load_time.as_secs_f64() * 1000.0
        );
    }

    for prefix in [false, true] {
        let opts = FirewallOptions {
            exact_capacity: 2 * swap + 1024,
            prefix_capacity: 2 * swap + 1024,
            ..FirewallOptions::default()
        };
        let mut fw = match Firewall::load(&opts) {
            Ok(fw) => fw,
            Err(e) => return kernel_missing(&e.to_string()),
        };
        let a = block_list(swap, prefix, u32::from(Ipv4Addr::new(11, 0, 0, 0)));
        let b = block_list(swap, prefix, u32::from(Ipv4Addr::new(13, 0, 0, 0)));
        fw.apply_compiled(&a).expect("apply a");
        let mut times = Vec::new();
        for i in 0..3 {
            let t = Instant::now();
            fw.apply_compiled(if i % 2 == 0 { &b } else { &a })
                .expect("swap");
            times.push(t.elapsed());
        }
        times.sort();
        let kind = if prefix { "prefix" } else { "host" };
        println!(
            "replace a {}k-{kind} rule set by another: {:.0} ms (median of 3; goal <= 1000 ms)",
            swap / 1000,
            times[1].as_secs_f64() * 1000.0
        );
    }
}
