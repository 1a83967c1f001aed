//! Shared helpers of the kernel tests: the skip-or-fail policy and a
//! synthetic frame builder.
#![allow(dead_code)]

use std::net::IpAddr;

use serde::Deserialize;
use wafio_xdp::{Firewall, FirewallOptions};

/// Loads a fresh unattached firewall, or returns `None` (with a printed
/// reason) when the kernel cannot run BPF here. With
/// `WAFIO_REQUIRE_KERNEL=1` the test fails instead.
pub fn firewall_or_skip(test: &str) -> Option<Firewall> {
    match Firewall::load(&small_options()) {
        Ok(fw) => Some(fw),
        Err(e) => {
            skip_or_fail(test, &format!("cannot load the BPF programs: {e}"));
            None
        }
    }
}

/// Prints why `test` is skipped, or panics when kernel tests are required.
pub fn skip_or_fail(test: &str, why: &str) {
    if std::env::var("WAFIO_REQUIRE_KERNEL").as_deref() == Ok("1") {
        panic!("{test}: WAFIO_REQUIRE_KERNEL=1 but {why}");
    }
    eprintln!("SKIPPED {test}: {why} (needs root and BPF; set WAFIO_REQUIRE_KERNEL=1 to fail)");
}

/// Capacities small enough for tests.
pub fn small_options() -> FirewallOptions {
    FirewallOptions {
        exact_capacity: 4096,
        prefix_capacity: 4096,
        ..FirewallOptions::default()
    }
}

/// A synthetic packet description (also the `packet` table of
/// `testdata/verdicts.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketSpec {
    /// VLAN ethertypes to push (0x8100 or 0x88a8), outermost first.
    #[serde(default)]
    pub vlan: Vec<u16>,
    /// Overrides the ethertype after the tags (e.g. 0x0806 for ARP).
    #[serde(default)]
    pub ethertype: Option<u16>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    /// "tcp", "udp", "icmp", or a number.
    #[serde(default)]
    pub proto: Option<String>,
    #[serde(default)]
    pub sport: u16,
    #[serde(default)]
    pub dport: u16,
    /// IPv4 option bytes (multiple of 4).
    #[serde(default)]
    pub ip_options: usize,
    /// Fragment offset in 8-byte units (IPv4 or an IPv6 fragment header).
    #[serde(default)]
    pub frag_offset: u16,
    #[serde(default)]
    pub more_fragments: bool,
    /// IPv6 extension headers to insert (0, 43, 60, 44, 51).
    #[serde(default)]
    pub v6_ext: Vec<u8>,
    /// Overrides the IPv4 IHL field.
    #[serde(default)]
    pub ihl: Option<u8>,
    /// Cuts the frame to this many bytes.
    #[serde(default)]
    pub truncate: Option<usize>,
    /// Payload bytes after the L4 header.
    #[serde(default)]
    pub payload: usize,
}

fn proto_number(p: &str, v6: bool) -> u8 {
    match p {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => {
            if v6 {
                58
            } else {
                1
            }
        }
        n => n.parse().expect("protocol number"),
    }
}

fn l4(proto: u8, sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let mut v = match proto {
        6 => {
            let mut h = vec![0u8; 20];
            h[0..2].copy_from_slice(&sport.to_be_bytes());
            h[2..4].copy_from_slice(&dport.to_be_bytes());
            h[12] = 5 << 4;
            h[13] = 0x02; // SYN
            h
        }
        17 => {
            let mut h = vec![0u8; 8];
            h[0..2].copy_from_slice(&sport.to_be_bytes());
            h[2..4].copy_from_slice(&dport.to_be_bytes());
            h[4..6].copy_from_slice(&((8 + payload) as u16).to_be_bytes());
            h
        }
        1 | 58 => vec![if proto == 1 { 8 } else { 128 }, 0, 0, 0, 0, 1, 0, 1],
        _ => vec![0u8; 8],
    };
    v.extend(std::iter::repeat_n(0xabu8, payload));
    v
}

/// Builds an Ethernet frame from `p`.
pub fn frame(p: &PacketSpec) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    let src = p.src.unwrap_or("100.64.0.9".parse().unwrap());
    let dst = p.dst.unwrap_or(match src {
        IpAddr::V4(_) => "10.0.0.1".parse().unwrap(),
        IpAddr::V6(_) => "2001:db8::1".parse().unwrap(),
    });
    for &t in &p.vlan {
        f.extend_from_slice(&t.to_be_bytes());
        f.extend_from_slice(&[0x00, 0x0a]); // TCI: VLAN 10
    }
    let v6 = src.is_ipv6();
    let ethertype = p.ethertype.unwrap_or(if v6 { 0x86dd } else { 0x0800 });
    f.extend_from_slice(&ethertype.to_be_bytes());
    if p.ethertype.is_some() && ethertype != 0x0800 && ethertype != 0x86dd {
        f.extend_from_slice(&[0u8; 28]); // ARP-sized body
        return cut(f, p.truncate);
    }
    let proto = proto_number(p.proto.as_deref().unwrap_or("tcp"), v6);
    let body = if p.frag_offset > 0 {
        vec![0xcd; 16 + p.payload]
    } else {
        l4(proto, p.sport, p.dport, p.payload)
    };
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let hl = 20 + p.ip_options;
            let mut h = vec![0u8; hl];
            h[0] = 0x40 | p.ihl.unwrap_or((hl / 4) as u8);
            h[2..4].copy_from_slice(&((hl + body.len()) as u16).to_be_bytes());
            let frag = p.frag_offset | if p.more_fragments { 0x2000 } else { 0 };
            h[6..8].copy_from_slice(&frag.to_be_bytes());
            h[8] = 64;
            h[9] = proto;
            h[12..16].copy_from_slice(&s.octets());
            h[16..20].copy_from_slice(&d.octets());
            for b in h.iter_mut().skip(20) {
                *b = 1; // NOP options
            }
            f.extend(h);
            f.extend(body);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut exts = Vec::new();
            let chain: Vec<u8> = p.v6_ext.iter().copied().chain([proto]).collect();
            for (i, &kind) in p.v6_ext.iter().enumerate() {
                let next = chain[i + 1];
                let mut e = vec![0u8; 8];
                e[0] = next;
                if kind == 44 {
                    let off = (p.frag_offset << 3) | u16::from(p.more_fragments);
                    e[2..4].copy_from_slice(&off.to_be_bytes());
                }
                exts.extend(e);
            }
            let first = chain[0];
            let mut h = vec![0u8; 40];
            h[0] = 0x60;
            h[4..6].copy_from_slice(&((exts.len() + body.len()) as u16).to_be_bytes());
            h[6] = first;
            h[7] = 64;
            h[8..24].copy_from_slice(&s.octets());
            h[24..40].copy_from_slice(&d.octets());
            f.extend(h);
            f.extend(exts);
            f.extend(body);
        }
        _ => panic!("mixed address families in a packet spec"),
    }
    cut(f, p.truncate)
}

fn cut(mut f: Vec<u8>, n: Option<usize>) -> Vec<u8> {
    if let Some(n) = n {
        f.truncate(n);
    }
    f
}

/// Applies three rule sets of 12,000 IPv4 hosts, 10,000 /24 prefixes and
/// 100 IPv6 hosts each (more than one batch system call holds) and checks,
/// after each, that its addresses are blocked and every earlier set's are
/// not: the third reuses the first one's generation, which must have been
/// wiped whole.
pub fn swap_and_clear_large_sets(test: &str) {
    let opts = wafio_xdp::FirewallOptions {
        exact_capacity: 2 * 12_000 + 1024,
        prefix_capacity: 2 * 10_000 + 1024,
        ..small_options()
    };
    let mut fw = match wafio_xdp::Firewall::load(&opts) {
        Ok(fw) => fw,
        Err(e) => {
            skip_or_fail(test, &format!("cannot load the BPF programs: {e}"));
            return;
        }
    };
    // Set `s`: 12,000 IPv4 hosts from (10+s).0.0.0 on, 10,000 /24
    // prefixes in (40+s).x.y.0, and 100 IPv6 hosts.
    let set = |s: u32| {
        let mut cidrs = Vec::new();
        for i in 0..12_000u32 {
            let a = std::net::Ipv4Addr::from(((10 + s) << 24) + i);
            cidrs.push(wafio_xdp::Cidr::new(a.into(), 32).unwrap());
        }
        for i in 0..10_000u32 {
            let a = std::net::Ipv4Addr::from(((40 + s) << 24) + (i << 8));
            cidrs.push(wafio_xdp::Cidr::new(a.into(), 24).unwrap());
        }
        for i in 0..100u32 {
            let a = std::net::Ipv6Addr::from(
                (0x2001_0db8u128 << 96) | (u128::from(s) << 80) | u128::from(i),
            );
            cidrs.push(wafio_xdp::Cidr::new(a.into(), 128).unwrap());
        }
        let mut rs = wafio_xdp::RuleSet::default();
        rs.block.push(wafio_xdp::AddrRule {
            name: format!("set{s}"),
            cidrs,
            ..Default::default()
        });
        rs
    };
    let probes = |s: u32| {
        [
            format!("{}.0.0.0", 10 + s),
            format!("{}.0.46.223", 10 + s), // host 11,999
            format!("{}.39.15.7", 40 + s),  // inside prefix 9,999
            format!("2001:db8:{s}::63"),
        ]
    };
    let verdict_of = |fw: &wafio_xdp::Firewall, ip: &str| {
        fw.test_run_xdp(&frame(&PacketSpec {
            src: Some(ip.parse().unwrap()),
            proto: Some("tcp".into()),
            dport: 80,
            ..toml::from_str("").unwrap()
        }))
        .unwrap()
    };
    for (i, s) in [0u32, 1, 2].into_iter().enumerate() {
        let report = fw.apply(&set(s)).unwrap();
        assert_eq!(
            (report.exact_entries, report.prefix_entries),
            (12_100, 10_000)
        );
        for ip in probes(s) {
            assert_eq!(
                verdict_of(&fw, &ip),
                wafio_xdp::verdict::XDP_DROP,
                "set {s}: {ip}"
            );
        }
        // Every earlier set is gone, including the one whose generation
        // this set reused.
        for old in 0..i as u32 {
            for ip in probes(old) {
                assert_eq!(
                    verdict_of(&fw, &ip),
                    wafio_xdp::verdict::XDP_PASS,
                    "set {s}, old set {old}: {ip}"
                );
            }
        }
    }
    let listed = fw.list().unwrap().len();
    assert_eq!(listed, 22_100, "only the active set is listed");
}
