//! Host classification: IP spellings and names that reach internal space.
//!
//! IPv4 literals are parsed with `inet_aton` rules (one to four parts, each
//! decimal, octal with a leading `0`, or hex with `0x`; the last part fills
//! the remaining bytes), because that is what the server's resolver does.
//! IPv6 literals go through [`std::net::Ipv6Addr`] after the zone id is cut.

use std::net::{Ipv4Addr, Ipv6Addr};

/// What a host is, when it is worth reporting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct HostVerdict {
    pub class: &'static str,
    pub confidence: f32,
    pub reason: &'static str,
}

const fn verdict(class: &'static str, confidence: f32, reason: &'static str) -> HostVerdict {
    HostVerdict {
        class,
        confidence,
        reason,
    }
}

/// Longest host name classified.
const MAX_HOST: usize = 253;

/// Classifies a host as written in a URL authority (brackets kept for IPv6).
pub(crate) fn classify_host(host: &[u8]) -> Option<HostVerdict> {
    if host.is_empty() || host.len() > MAX_HOST + 2 {
        return None;
    }
    if host[0] == b'[' {
        let inner = host.strip_prefix(b"[")?.strip_suffix(b"]")?;
        return classify_v6_text(inner);
    }
    let host = host.strip_suffix(b".").unwrap_or(host);
    if let Some((ip, canonical)) = parse_ipv4_loose(host) {
        return classify_v4(ip, canonical);
    }
    // Unbracketed IPv6 (some clients accept it).
    if memchr::memchr(b':', host).is_some() {
        return classify_v6_text(host);
    }
    classify_name(host)
}

fn classify_v6_text(inner: &[u8]) -> Option<HostVerdict> {
    let inner = match memchr::memchr(b'%', inner) {
        Some(p) => &inner[..p],
        None => inner,
    };
    let text = std::str::from_utf8(inner).ok()?;
    let ip: Ipv6Addr = text.parse().ok()?;
    classify_v6(ip)
}

fn classify_v6(ip: Ipv6Addr) -> Option<HostVerdict> {
    let seg = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return Some(verdict(
            "metadata-endpoint",
            0.95,
            "the AWS IPv6 instance metadata endpoint",
        ));
    }
    if ip.is_loopback() {
        return Some(verdict("internal-host", 0.85, "IPv6 loopback"));
    }
    if ip.is_unspecified() {
        return Some(verdict(
            "internal-host",
            0.8,
            "the IPv6 unspecified address",
        ));
    }
    let embedded = if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if seg[..6] == [0; 6] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated) and NAT64 well-known prefix.
        let o = ip.octets();
        Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
    } else {
        None
    };
    if let Some(v4) = embedded {
        return classify_v4(u32::from(v4), true).map(|v| HostVerdict {
            confidence: (v.confidence + 0.05).min(1.0),
            reason: "an internal IPv4 address wrapped in IPv6",
            ..v
        });
    }
    if seg[0] & 0xffc0 == 0xfe80 {
        return Some(verdict("internal-host", 0.8, "an IPv6 link-local address"));
    }
    if seg[0] & 0xfe00 == 0xfc00 {
        return Some(verdict(
            "internal-host",
            0.7,
            "an IPv6 unique-local address",
        ));
    }
    None
}

/// Parses `inet_aton` spellings. Returns the address and whether it was
/// written as a plain dotted quad.
pub(crate) fn parse_ipv4_loose(s: &[u8]) -> Option<(u32, bool)> {
    if s.is_empty() || s.len() > 64 || !s[0].is_ascii_digit() {
        return None;
    }
    let mut parts = [0u64; 4];
    let mut n = 0;
    let mut canonical = true;
    for part in s.split(|&c| c == b'.') {
        if n == 4 {
            return None;
        }
        let (digits, radix) =
            if part.len() > 2 && (part.starts_with(b"0x") || part.starts_with(b"0X")) {
                (&part[2..], 16)
            } else if part == b"0x" || part == b"0X" {
                (&b"0"[..], 16)
            } else if part.len() > 1 && part[0] == b'0' {
                (&part[1..], 8)
            } else {
                (part, 10)
            };
        if digits.is_empty() || digits.len() > 32 {
            return None;
        }
        if radix != 10 {
            canonical = false;
        }
        let mut v: u64 = 0;
        for &c in digits {
            let d = (c as char).to_digit(radix)? as u64;
            v = v.checked_mul(radix as u64)?.checked_add(d)?;
            if v > u32::MAX as u64 {
                return None;
            }
        }
        parts[n] = v;
        n += 1;
    }
    if n != 4 {
        canonical = false;
    }
    let mut ip: u64 = 0;
    for (i, &p) in parts[..n - 1].iter().enumerate() {
        if p > 255 {
            return None;
        }
        ip |= p << (24 - 8 * i);
    }
    let last_bits = 8 * (5 - n) as u32;
    let last = parts[n - 1];
    if last_bits < 32 && last >> last_bits != 0 {
        return None;
    }
    ip |= last;
    Some((ip as u32, canonical))
}

fn classify_v4(ip: u32, canonical: bool) -> Option<HostVerdict> {
    let o = ip.to_be_bytes();
    let v = match o {
        [169, 254, 169, 254] | [169, 254, 170, 2] => verdict(
            "metadata-endpoint",
            0.95,
            "a cloud instance metadata endpoint",
        ),
        [100, 100, 100, 200] => verdict(
            "metadata-endpoint",
            0.95,
            "the Alibaba Cloud metadata endpoint",
        ),
        [127, ..] => verdict("internal-host", 0.85, "IPv4 loopback"),
        [0, ..] => verdict("internal-host", 0.8, "the unspecified network 0.0.0.0/8"),
        [10, ..] => verdict("internal-host", 0.7, "private network 10.0.0.0/8"),
        [172, b, ..] if (16..32).contains(&b) => {
            verdict("internal-host", 0.7, "private network 172.16.0.0/12")
        }
        [192, 168, ..] => verdict("internal-host", 0.7, "private network 192.168.0.0/16"),
        [169, 254, ..] => verdict("internal-host", 0.8, "link-local 169.254.0.0/16"),
        [100, b, ..] if (64..128).contains(&b) => verdict(
            "internal-host",
            0.5,
            "carrier-grade NAT space 100.64.0.0/10",
        ),
        _ if !canonical => verdict(
            "obfuscated-ip",
            0.4,
            "an IPv4 address in an unusual spelling",
        ),
        _ => return None,
    };
    if canonical || v.class == "obfuscated-ip" {
        Some(v)
    } else {
        Some(HostVerdict {
            confidence: (v.confidence + 0.1).min(1.0),
            reason: "an internal IPv4 address in an obfuscated spelling",
            ..v
        })
    }
}

/// Names that resolve to loopback by design.
const LOOPBACK_NAMES: &[&[u8]] = &[
    b"localhost",
    b"localtest.me",
    b"lvh.me",
    b"vcap.me",
    b"localho.st",
    b"lacolhost.com",
    b"ip6-localhost",
    b"ip6-loopback",
];

/// Wildcard DNS services that answer with the address written in the name.
const WILDCARD_DNS: &[&[u8]] = &[b"nip.io", b"sslip.io", b"xip.io", b"nip.direct"];

fn ends_with_label(name: &[u8], suffix: &[u8]) -> bool {
    name.len() >= suffix.len()
        && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        && (name.len() == suffix.len() || name[name.len() - suffix.len() - 1] == b'.')
}

fn classify_name(name: &[u8]) -> Option<HostVerdict> {
    if name.len() > MAX_HOST
        || !name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'_')
    {
        return None;
    }
    let metadata_names = [
        &b"metadata.google.internal"[..],
        b"metadata",
        b"metadata.goog",
        b"instance-data",
    ];
    if metadata_names.iter().any(|m| name.eq_ignore_ascii_case(m))
        || ends_with_label(name, b"instance-data.ec2.internal")
    {
        {
            return Some(verdict(
                "metadata-endpoint",
                0.95,
                "a cloud instance metadata host name",
            ));
        }
    }
    if LOOPBACK_NAMES.iter().any(|n| ends_with_label(name, n)) {
        return Some(verdict(
            "internal-host",
            0.85,
            "a name that resolves to loopback",
        ));
    }
    if let Some(suffix) = WILDCARD_DNS.iter().find(|s| ends_with_label(name, s)) {
        let prefix = &name[..name.len() - suffix.len()];
        let prefix = prefix.strip_suffix(b".").unwrap_or(prefix);
        let ip = embedded_ip(prefix)?;
        let v = classify_v4(ip, true)?;
        return (v.confidence >= 0.5).then_some(HostVerdict {
            confidence: (v.confidence + 0.05).min(1.0),
            reason: "a wildcard DNS name that resolves to an internal address",
            ..v
        });
    }
    if ends_with_label(name, b"internal") && name.len() > b"internal".len() {
        return Some(verdict(
            "internal-host",
            0.6,
            "a name in the reserved .internal domain",
        ));
    }
    None
}

/// The IPv4 address a wildcard DNS name encodes: the last four dotted
/// labels, or a dashed (`127-0-0-1`, `app-127-0-0-1`) or 8-digit hex label.
fn embedded_ip(prefix: &[u8]) -> Option<u32> {
    let mut labels = prefix.rsplit(|&c| c == b'.');
    let last = labels.next()?;
    let dotted: Vec<&[u8]> = prefix.rsplit(|&c| c == b'.').take(4).collect();
    if dotted.len() == 4
        && dotted
            .iter()
            .all(|l| !l.is_empty() && l.iter().all(u8::is_ascii_digit))
    {
        return dotted.iter().rev().try_fold(0u32, |acc, l| {
            let v: u32 = std::str::from_utf8(l).ok()?.parse().ok()?;
            (v <= 255).then_some((acc << 8) | v)
        });
    }
    if last.len() == 8 && last.iter().all(u8::is_ascii_hexdigit) {
        return u32::from_str_radix(std::str::from_utf8(last).ok()?, 16).ok();
    }
    let dashed: Vec<&[u8]> = last.rsplit(|&c| c == b'-').take(4).collect();
    if dashed.len() == 4 {
        return dashed.iter().rev().try_fold(0u32, |acc, l| {
            if l.is_empty() || l.len() > 3 || !l.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let v: u32 = std::str::from_utf8(l).ok()?.parse().ok()?;
            (v <= 255).then_some((acc << 8) | v)
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_spellings() {
        let lo = u32::from(Ipv4Addr::new(127, 0, 0, 1));
        for s in [
            "127.0.0.1",
            "2130706433",
            "0177.0.0.1",
            "0x7f.1",
            "127.1",
            "0x7f000001",
            "127.0.1",
        ] {
            assert_eq!(parse_ipv4_loose(s.as_bytes()).map(|p| p.0), Some(lo), "{s}");
        }
        assert_eq!(parse_ipv4_loose(b"127.0.0.1").map(|p| p.1), Some(true));
        assert_eq!(parse_ipv4_loose(b"0177.0.0.1").map(|p| p.1), Some(false));
        for s in [
            "256.0.0.1",
            "1.2.3.4.5",
            "09.1.1.1",
            "4294967296",
            "a.b.c.d",
            "1..2",
            "",
        ] {
            assert_eq!(parse_ipv4_loose(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn names_and_v6() {
        let internal = |s: &str| classify_host(s.as_bytes()).is_some_and(|v| v.confidence >= 0.5);
        assert!(internal("localhost"));
        assert!(internal("foo.localhost"));
        assert!(internal("LOCALHOST."));
        assert!(internal("a.10.0.0.1.nip.io"));
        assert!(internal("127-0-0-1.sslip.io"));
        assert!(internal("7f000001.xip.io"));
        assert!(internal("[::ffff:10.1.2.3]"));
        assert!(internal("[fe80::1%25eth0]"));
        assert!(internal("[::]"));
        assert!(!internal("notlocalhost.com"));
        assert!(!internal("8.8.8.8.nip.io"));
        assert!(!internal("[2001:db8::1]"));
        assert!(!internal("example.com"));
    }
}
