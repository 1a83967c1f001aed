//! Kernel tests through BPF_PROG_TEST_RUN: verdict tables of synthetic
//! frames, counters, rate limits, TTLs, swaps and error handling. No network
//! set-up needed; root + BPF required (see `common::skip_or_fail`).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{firewall_or_skip, frame, PacketSpec};
use serde::Deserialize;
use wafio_xdp::geo::testdb::TestDb;
use wafio_xdp::{verdict, Cidr, Error, Firewall, List, RuleSet, Stats};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    rules: String,
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    program: Option<String>,
    expect: String,
    counter: String,
    #[serde(default)]
    rule: Option<String>,
    packet: PacketSpec,
}

fn run(fw: &Firewall, tc: bool, f: &[u8]) -> &'static str {
    if tc {
        match fw.test_run_tc(f).expect("tc test run") {
            verdict::TC_ACT_OK => "pass",
            verdict::TC_ACT_SHOT => "drop",
            v => panic!("unexpected TC verdict {v}"),
        }
    } else {
        match fw.test_run_xdp(f).expect("xdp test run") {
            verdict::XDP_PASS => "pass",
            verdict::XDP_DROP => "drop",
            v => panic!("unexpected XDP verdict {v}"),
        }
    }
}

fn packets(s: &Stats, counter: &str) -> u64 {
    s.global(counter).packets
}

#[test]
fn verdict_table() {
    let Some(mut fw) = firewall_or_skip("verdict_table") else {
        return;
    };
    let text = std::fs::read_to_string(testdata("verdicts.toml")).unwrap();
    let table: Table = toml::from_str(&text).unwrap();
    let rules = RuleSet::load(&testdata(&table.rules)).unwrap();
    fw.apply(&rules).unwrap();
    let mut failures = Vec::new();
    for case in &table.case {
        let before = fw.stats().unwrap();
        let f = frame(&case.packet);
        let got = run(&fw, case.program.as_deref() == Some("tc"), &f);
        let after = fw.stats().unwrap();
        if got != case.expect {
            failures.push(format!(
                "{}: verdict {got}, expected {}",
                case.name, case.expect
            ));
        }
        let d = packets(&after, &case.counter) - packets(&before, &case.counter);
        if d != 1 {
            failures.push(format!(
                "{}: counter `{}` grew by {d}",
                case.name, case.counter
            ));
        }
        // Exactly one terminal counter moves per packet. Side counters:
        // port_allow and fragment mark a step, and such packets then end in
        // `pass` or a rate-limit drop; expired_entry and event_lost are notes.
        let side = ["expired_entry", "event_lost", "port_allow", "fragment"];
        let moved: Vec<&str> = wafio_xdp::STAT_NAMES
            .iter()
            .filter(|n| !side.contains(n))
            .filter(|n| packets(&after, n) != packets(&before, n))
            .copied()
            .collect();
        let terminal_ok = if side.contains(&case.counter.as_str()) {
            moved == ["pass"]
        } else {
            moved == [case.counter.as_str()]
        };
        if !terminal_ok {
            failures.push(format!("{}: counters moved: {moved:?}", case.name));
        }
        if let Some(rule) = &case.rule {
            let d = after.rule(rule).packets - before.rule(rule).packets;
            if d != 1 {
                failures.push(format!("{}: rule `{rule}` grew by {d}", case.name));
            }
        }
        let bytes = after.global(&case.counter).bytes - before.global(&case.counter).bytes;
        if case.program.is_none() && bytes != f.len() as u64 {
            failures.push(format!(
                "{}: {bytes} bytes counted, frame has {}",
                case.name,
                f.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "verdict table failures:\n{}",
        failures.join("\n")
    );
    assert!(table.case.len() >= 40);
}

fn tcp_from(src: &str, dport: u16, payload: usize) -> Vec<u8> {
    frame(&PacketSpec {
        src: Some(src.parse().unwrap()),
        proto: Some("tcp".into()),
        dport,
        payload,
        ..toml::from_str("").unwrap()
    })
}

#[test]
fn rate_limit_packets_and_bytes() {
    let Some(mut fw) = firewall_or_skip("rate_limit_packets_and_bytes") else {
        return;
    };
    let rs = RuleSet::from_toml(
        "[rate_limit]\npackets_per_sec = 10\nburst_packets = 20\n",
        "inline",
    )
    .unwrap();
    fw.apply(&rs).unwrap();
    let f = tcp_from("100.64.1.1", 80, 0);
    let verdicts: Vec<u32> = (0..40).map(|_| fw.test_run_xdp(&f).unwrap()).collect();
    let passed = verdicts.iter().filter(|v| **v == verdict::XDP_PASS).count();
    // Burst 20 admits 21 packets at once (plus at most one refilled while
    // the loop runs).
    assert!((21..=22).contains(&passed), "passed {passed}");
    assert_eq!(verdicts[0], verdict::XDP_PASS);
    assert_eq!(verdicts[39], verdict::XDP_DROP);
    let s = fw.stats().unwrap();
    assert_eq!(s.global("rate_pps").packets, 40 - passed as u64);
    assert_eq!(s.rule("rate-limit").packets, 40 - passed as u64);
    // Another source has its own bucket.
    assert_eq!(
        fw.test_run_xdp(&tcp_from("100.64.1.2", 80, 0)).unwrap(),
        verdict::XDP_PASS
    );

    // Bytes: 10 kB/s with a 3 kB burst; 1 kB frames.
    let rs = RuleSet::from_toml(
        "[rate_limit]\nbytes_per_sec = 10000\nburst_bytes = 3000\n",
        "inline",
    )
    .unwrap();
    fw.apply(&rs).unwrap();
    let f = tcp_from("100.64.1.3", 80, 1000 - 54);
    let passed = (0..10)
        .filter(|_| fw.test_run_xdp(&f).unwrap() == verdict::XDP_PASS)
        .count();
    assert!((4..=5).contains(&passed), "passed {passed}");
    assert!(fw.stats().unwrap().global("rate_bps").packets >= 5);
}

#[test]
fn live_block_with_ttl_expires() {
    let Some(mut fw) = firewall_or_skip("live_block_with_ttl_expires") else {
        return;
    };
    let f = tcp_from("100.64.2.1", 80, 0);
    assert_eq!(fw.test_run_xdp(&f).unwrap(), verdict::XDP_PASS);
    fw.block(
        "100.64.2.0/24".parse().unwrap(),
        Some(Duration::from_millis(600)),
    )
    .unwrap();
    fw.block("100.64.3.3".parse().unwrap(), None).unwrap();
    assert_eq!(fw.test_run_xdp(&f).unwrap(), verdict::XDP_DROP);
    assert_eq!(fw.stats().unwrap().rule("live-block").packets, 1);
    let listed = fw.list().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().any(|e| e.cidr.to_string() == "100.64.2.0/24"
        && e.expires_in_secs == Some(1)
        && e.rule == "live-block"));
    // A new rule set keeps live entries.
    let r = fw.apply(&RuleSet::default()).unwrap();
    assert_eq!(r.carried_live, 2);
    assert_eq!(fw.test_run_xdp(&f).unwrap(), verdict::XDP_DROP);
    std::thread::sleep(Duration::from_millis(700));
    // Expired: ignored by the program before any sweep.
    assert_eq!(fw.test_run_xdp(&f).unwrap(), verdict::XDP_PASS);
    assert!(fw.stats().unwrap().global("expired_entry").packets >= 1);
    assert_eq!(fw.sweep_expired().unwrap(), 1);
    assert_eq!(fw.list().unwrap().len(), 1);
    // unblock removes the permanent one.
    let h = tcp_from("100.64.3.3", 80, 0);
    assert_eq!(fw.test_run_xdp(&h).unwrap(), verdict::XDP_DROP);
    assert!(fw
        .remove(List::Block, "100.64.3.3".parse().unwrap())
        .unwrap());
    assert!(!fw
        .remove(List::Block, "100.64.3.3".parse().unwrap())
        .unwrap());
    assert_eq!(fw.test_run_xdp(&h).unwrap(), verdict::XDP_PASS);
    // Live allow beats a rule-set block.
    let rs = RuleSet::from_toml("[[block]]\nname='b'\ncidrs=['100.64.0.0/16']", "x").unwrap();
    fw.apply(&rs).unwrap();
    assert_eq!(fw.test_run_xdp(&h).unwrap(), verdict::XDP_DROP);
    fw.allow("100.64.3.3".parse().unwrap(), None).unwrap();
    assert_eq!(fw.test_run_xdp(&h).unwrap(), verdict::XDP_PASS);
}

/// TTLs on exact hosts of both families and all three lists: honoured by
/// the programs before any sweep (the clock is only read for entries that
/// carry an expiry), permanent and far-future entries unaffected.
#[test]
fn exact_hosts_with_ttl_expire() {
    let Some(mut fw) = firewall_or_skip("exact_hosts_with_ttl_expire") else {
        return;
    };
    let rs =
        RuleSet::from_toml("[[block]]\nname='b'\ncidrs=['100.64.20.0/24']\n", "inline").unwrap();
    fw.apply(&rs).unwrap();
    let short = Some(Duration::from_millis(600));
    let long = Some(Duration::from_secs(3600));
    let host = |s: &str| -> Cidr { s.parse().unwrap() };
    fw.block(host("100.64.21.1"), short).unwrap();
    fw.block(host("2001:db8:21::1"), short).unwrap();
    fw.block(host("100.64.21.2"), long).unwrap();
    fw.block(host("2001:db8:21::2"), None).unwrap();
    // A live allow with a TTL shadows the rule-set block until it expires.
    fw.allow(host("100.64.20.7"), short).unwrap();
    fw.add(List::Egress, host("198.18.21.1"), short).unwrap();
    fw.add(List::Egress, host("2001:db8:21::9"), short).unwrap();

    let egress = |dst: &str| {
        let src = if dst.contains(':') {
            "2001:db8::9"
        } else {
            "10.0.0.9"
        };
        frame(
            &toml::from_str(&format!(
                "src = '{src}'\ndst = '{dst}'\nproto = 'tcp'\ndport = 443"
            ))
            .unwrap(),
        )
    };
    let xdp = |fw: &Firewall, src: &str| fw.test_run_xdp(&tcp_from(src, 80, 0)).unwrap();
    let tc = |fw: &Firewall, dst: &str| fw.test_run_tc(&egress(dst)).unwrap();
    let (drop, pass) = (verdict::XDP_DROP, verdict::XDP_PASS);
    let (shot, ok) = (verdict::TC_ACT_SHOT, verdict::TC_ACT_OK);
    let check = |fw: &Firewall, expired: bool| {
        let short_xdp = if expired { pass } else { drop };
        assert_eq!(
            xdp(fw, "100.64.21.1"),
            short_xdp,
            "v4 block, expired {expired}"
        );
        assert_eq!(
            xdp(fw, "2001:db8:21::1"),
            short_xdp,
            "v6 block, expired {expired}"
        );
        assert_eq!(xdp(fw, "100.64.21.2"), drop, "v4 block, 1 h TTL");
        assert_eq!(xdp(fw, "2001:db8:21::2"), drop, "v6 block, no TTL");
        let allowed = if expired { drop } else { pass };
        assert_eq!(
            xdp(fw, "100.64.20.7"),
            allowed,
            "v4 allow, expired {expired}"
        );
        let short_tc = if expired { ok } else { shot };
        assert_eq!(
            tc(fw, "198.18.21.1"),
            short_tc,
            "v4 egress, expired {expired}"
        );
        assert_eq!(
            tc(fw, "2001:db8:21::9"),
            short_tc,
            "v6 egress, expired {expired}"
        );
    };
    let expired_before = fw.stats().unwrap().global("expired_entry").packets;
    check(&fw, false);
    assert_eq!(
        fw.stats().unwrap().global("expired_entry").packets,
        expired_before
    );
    std::thread::sleep(Duration::from_millis(700));
    check(&fw, true);
    // One expired entry met by each of the five short-TTL lookups.
    assert_eq!(
        fw.stats().unwrap().global("expired_entry").packets,
        expired_before + 5
    );
    assert_eq!(fw.sweep_expired().unwrap(), 5);
    check(&fw, true);
    assert_eq!(
        fw.stats().unwrap().global("expired_entry").packets,
        expired_before + 5
    );
    let listed: Vec<String> = fw
        .list()
        .unwrap()
        .iter()
        .map(|e| e.cidr.to_string())
        .collect();
    assert_eq!(
        listed,
        ["100.64.20.0/24", "100.64.21.2/32", "2001:db8:21::2/128"],
        "{listed:?}"
    );
}

#[test]
fn failed_apply_keeps_running_set() {
    let Some(mut fw) = firewall_or_skip("failed_apply_keeps_running_set") else {
        return;
    };
    let good = RuleSet::from_toml("[[block]]\nname='b'\ncidrs=['100.64.9.9']", "x").unwrap();
    fw.apply(&good).unwrap();
    let blocked = tcp_from("100.64.9.9", 80, 0);
    assert_eq!(fw.test_run_xdp(&blocked).unwrap(), verdict::XDP_DROP);

    // Too many hosts for the (test-sized, 4096) exact maps: IPv4 hosts
    // (IPv4-mapped IPv6 ones too) and IPv6 hosts have a map each.
    let v4_host = |i: u32| Cidr::new(std::net::Ipv4Addr::from(0x0a00_0000 + i).into(), 32);
    let v6_host = |i: u32| {
        let a =
            std::net::Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 + u128::from(i));
        Cidr::new(a.into(), 128)
    };
    for (cidrs, map) in [
        (
            (0..5000u32)
                .map(|i| v4_host(i).unwrap())
                .collect::<Vec<_>>(),
            "block_exact4",
        ),
        (
            (0..5000u32).map(|i| v6_host(i).unwrap()).collect(),
            "block_exact",
        ),
    ] {
        let mut big = RuleSet::default();
        big.block.push(wafio_xdp::AddrRule {
            name: "big".into(),
            cidrs,
            ..Default::default()
        });
        let e = fw.apply(&big).unwrap_err();
        assert!(
            matches!(&e, Error::MapFull { map: m, .. } if m == map),
            "{e}"
        );
        assert!(e.to_string().contains(map), "{e}");
    }
    // 4000 IPv4 plus 4000 IPv6 hosts fit: the maps are separate.
    let mut both = RuleSet::default();
    both.block.push(wafio_xdp::AddrRule {
        name: "both".into(),
        cidrs: (0..4000u32)
            .flat_map(|i| [v4_host(i).unwrap(), v6_host(i).unwrap()])
            .collect(),
        ..Default::default()
    });
    fw.apply(&both).unwrap();
    assert_eq!(fw.list().unwrap().len(), 8000);
    assert_eq!(
        fw.test_run_xdp(&tcp_from("10.0.15.159", 80, 0)).unwrap(),
        verdict::XDP_DROP
    );
    assert_eq!(
        fw.test_run_xdp(&tcp_from("2001:db8::f9f", 80, 0)).unwrap(),
        verdict::XDP_DROP
    );
    assert_eq!(
        fw.test_run_xdp(&tcp_from("2001:db8::fa0", 80, 0)).unwrap(),
        verdict::XDP_PASS
    );
    fw.apply(&good).unwrap();
    assert_eq!(fw.test_run_xdp(&blocked).unwrap(), verdict::XDP_DROP);
    // Fits alone but not beside the running generation: the kernel says
    // E2BIG mid-way and the half-written generation is wiped.
    let mut mid = RuleSet::default();
    let cidrs: Vec<Cidr> = (0..4096u32)
        .map(|i| Cidr::new(std::net::Ipv4Addr::from(0x0b00_0000 + i).into(), 32).unwrap())
        .collect();
    mid.block.push(wafio_xdp::AddrRule {
        name: "mid".into(),
        cidrs,
        ..Default::default()
    });
    let e = fw.apply(&mid).unwrap_err();
    assert!(matches!(&e, Error::MapFull { .. }), "{e}");
    assert_eq!(fw.test_run_xdp(&blocked).unwrap(), verdict::XDP_DROP);
    assert_eq!(fw.list().unwrap().len(), 1);
    let names: Vec<String> = fw
        .stats()
        .unwrap()
        .rules
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(names.contains(&"b".to_string()) && !names.contains(&"mid".to_string()));
    // The map is usable again afterwards.
    fw.apply(&RuleSet::default()).unwrap();
    assert_eq!(fw.test_run_xdp(&blocked).unwrap(), verdict::XDP_PASS);
}

#[test]
fn asn_and_country_rules_from_tsv() {
    let Some(mut fw) = firewall_or_skip("asn_and_country_rules_from_tsv") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("wafio-xdp-asn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(testdata("ip2asn-small.tsv"), dir.join("db.tsv")).unwrap();
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        "asn_db = 'db.tsv'\n[[block]]\nname='bad-as'\nasns=[64500]\ncountries=['ZZ']\n",
    )
    .unwrap();
    let rs = RuleSet::load(&rules).unwrap();
    let report = fw.apply(&rs).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(report.prefix_entries, 4);
    for (src, v) in [
        ("198.51.100.20", verdict::XDP_DROP),
        ("203.0.113.130", verdict::XDP_DROP),
        ("203.0.113.200", verdict::XDP_PASS),
        ("192.0.2.1", verdict::XDP_PASS),
    ] {
        assert_eq!(fw.test_run_xdp(&tcp_from(src, 80, 0)).unwrap(), v, "{src}");
    }
    assert_eq!(fw.stats().unwrap().rule("bad-as").packets, 2);
}

#[test]
fn country_and_asn_rules_from_mmdb() {
    let Some(mut fw) = firewall_or_skip("country_and_asn_rules_from_mmdb") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("wafio-xdp-mmdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = TestDb::new("GeoLite2-Country");
    c.country("198.51.100.0/25", "DE").unwrap();
    c.country("203.0.113.0/24", "FR").unwrap();
    c.country("2001:db8:de::/48", "DE").unwrap();
    c.write(&dir.join("country.mmdb")).unwrap();
    let mut a = TestDb::new("GeoLite2-ASN");
    a.asn("192.0.2.0/26", 64500, "Example").unwrap();
    a.asn("198.51.100.128/25", 64501, "Other").unwrap();
    a.write(&dir.join("asn.mmdb")).unwrap();
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        "country_mmdb = 'country.mmdb'\nasn_mmdb = 'asn.mmdb'\n\
         [[block]]\nname='geo'\ncountries=['de']\nasns=[64500]\n",
    )
    .unwrap();
    let rs = RuleSet::load(&rules).unwrap();
    let report = fw.apply(&rs).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(report.prefix_entries, 3);
    for (src, v) in [
        ("198.51.100.20", verdict::XDP_DROP),
        ("198.51.100.200", verdict::XDP_PASS),
        ("192.0.2.63", verdict::XDP_DROP),
        ("192.0.2.64", verdict::XDP_PASS),
        ("203.0.113.9", verdict::XDP_PASS),
        ("2001:db8:de::1", verdict::XDP_DROP),
        ("2001:db8:df::1", verdict::XDP_PASS),
    ] {
        assert_eq!(fw.test_run_xdp(&tcp_from(src, 80, 0)).unwrap(), v, "{src}");
    }
    assert_eq!(fw.stats().unwrap().rule("geo").packets, 3);
}

#[test]
fn drop_events_are_sampled() {
    let Some(mut fw) = firewall_or_skip("drop_events_are_sampled") else {
        return;
    };
    let rs = RuleSet::from_toml(
        "sample_every = 1\n[[block]]\nname='b'\ncidrs=['100.64.7.0/24']",
        "x",
    )
    .unwrap();
    fw.apply(&rs).unwrap();
    fw.drain_events(1000);
    for _ in 0..3 {
        fw.test_run_xdp(&tcp_from("100.64.7.7", 8080, 0)).unwrap();
    }
    let ev = fw.drain_events(10);
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert_eq!(ev[0].addr.to_string(), "100.64.7.7");
    assert_eq!(ev[0].dport, 8080);
    assert_eq!(ev[0].reason, "block");
    assert_eq!(ev[0].proto, 6);
}

/// Mutated and random frames: the program only ever answers PASS or DROP,
/// and each frame moves exactly one terminal counter.
#[test]
fn hostile_frames_get_a_verdict_and_a_counter() {
    let Some(mut fw) = firewall_or_skip("hostile_frames_get_a_verdict_and_a_counter") else {
        return;
    };
    fw.apply(&RuleSet::load(&testdata("rules-basic.toml")).unwrap())
        .unwrap();
    let seeds: Vec<Vec<u8>> = [
        "proto = 'tcp'\ndport = 80",
        "src = '2001:db8:1::1'\nproto = 'udp'\nv6_ext = [0, 44, 60]",
        "vlan = [0x88a8, 0x8100]\nproto = 'icmp'\nip_options = 12",
    ]
    .iter()
    .map(|s| frame(&toml::from_str(s).unwrap()))
    .collect();
    let terminal = |s: &Stats| -> u64 {
        wafio_xdp::STAT_NAMES
            .iter()
            .filter(|n| {
                !matches!(
                    **n,
                    "expired_entry" | "event_lost" | "port_allow" | "fragment"
                ) && !n.starts_with("egress")
            })
            .map(|n| s.global(n).packets)
            .sum()
    };
    let before = terminal(&fw.stats().unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    const N: u64 = 3000;
    for i in 0..N {
        let mut f = seeds[(i % 3) as usize].clone();
        if i % 5 == 0 {
            // Entirely random bytes after a valid Ethernet header.
            let len = 14 + (next() % 120) as usize;
            f.resize(len, 0);
            for b in f.iter_mut().skip(12) {
                *b = next() as u8;
            }
        } else {
            for _ in 0..1 + next() % 6 {
                let pos = (next() as usize) % f.len();
                f[pos] = next() as u8;
            }
            let len = 14 + (next() as usize) % (f.len() - 13);
            f.truncate(len);
        }
        let v = fw.test_run_xdp(&f).unwrap();
        assert!(
            v == verdict::XDP_PASS || v == verdict::XDP_DROP,
            "frame {f:02x?}: verdict {v}"
        );
    }
    assert_eq!(terminal(&fw.stats().unwrap()) - before, N);
}

/// Rule sets larger than one batch system call (8,192 entries) are written
/// and, once replaced, wiped whole (see
/// [`common::swap_and_clear_large_sets`]; `tests/no_batch.rs` runs the same
/// without batch calls).
#[test]
fn large_rule_sets_swap_and_clear_in_batches() {
    common::swap_and_clear_large_sets("large_rule_sets_swap_and_clear_in_batches");
}
