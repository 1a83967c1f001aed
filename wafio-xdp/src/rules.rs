//! Rule sets: CIDRs, TTLs and the serde model of a rule file (TOML or JSON).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// An IPv4 or IPv6 prefix, such as `10.0.0.0/8`, `2001:db8::/32` or a bare
/// address (a /32 or /128).
///
/// Host bits below the prefix must be zero (`10.0.0.1/8` is rejected: it is
/// almost always a typo, and silently masking it would widen a rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    /// Builds a prefix; fails when `len` is too long for the family or host
    /// bits are set.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, Error> {
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if len > max {
            return Err(Error::InvalidCidr {
                input: format!("{addr}/{len}"),
                reason: format!("prefix length {len} exceeds {max}"),
            });
        }
        let c = Cidr { addr, len };
        if c.mapped() != mask(c.mapped(), c.mapped_len()) {
            return Err(Error::InvalidCidr {
                input: format!("{addr}/{len}"),
                reason: "host bits set below the prefix length".into(),
            });
        }
        Ok(c)
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits of the address family.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// True for a single host (/32 or /128).
    pub fn is_host(&self) -> bool {
        self.mapped_len() == 128
    }

    /// The address as 16 bytes: IPv6 as is, IPv4 as `::ffff:a.b.c.d`.
    pub fn mapped(&self) -> [u8; 16] {
        to_mapped(self.addr)
    }

    /// The prefix length over the 16-byte mapped form (IPv4 adds 96).
    pub fn mapped_len(&self) -> u8 {
        match self.addr {
            IpAddr::V4(_) => self.len + 96,
            IpAddr::V6(_) => self.len,
        }
    }

    /// Rebuilds a prefix from the mapped form (inverse of
    /// [`Cidr::mapped`]/[`Cidr::mapped_len`]).
    pub fn from_mapped(addr: [u8; 16], mapped_len: u8) -> Result<Self, Error> {
        let v6 = Ipv6Addr::from(addr);
        match v6.to_ipv4_mapped() {
            Some(v4) if mapped_len >= 96 => Cidr::new(IpAddr::V4(v4), mapped_len - 96),
            _ => Cidr::new(IpAddr::V6(v6), mapped_len),
        }
    }

    /// True when `ip` lies inside this prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        if matches!(
            (self.addr, ip),
            (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_))
        ) {
            return false;
        }
        mask(to_mapped(ip), self.mapped_len()) == self.mapped()
    }
}

/// The 16-byte form of an address: IPv4 becomes `::ffff:a.b.c.d`.
pub fn to_mapped(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn mask(mut a: [u8; 16], bits: u8) -> [u8; 16] {
    for (i, b) in a.iter_mut().enumerate() {
        let start = (i * 8) as u32;
        let bits = u32::from(bits);
        if bits <= start {
            *b = 0;
        } else if bits < start + 8 {
            *b &= 0xffu8 << (8 - (bits - start));
        }
    }
    a
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let bad = |reason: &str| Error::InvalidCidr {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => {
                let len: u8 = l
                    .parse()
                    .map_err(|_| bad("prefix length is not a number 0-128"))?;
                (a, Some(len))
            }
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| bad("not an IPv4 or IPv6 address"))?;
        let len = len.unwrap_or(match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        });
        Cidr::new(addr, len).map_err(|e| match e {
            Error::InvalidCidr { reason, .. } => bad(&reason),
            other => other,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a TTL such as `90s`, `10m`, `1h30m`, `2d` (units `s`, `m`, `h`,
/// `d`; a bare number is seconds). Zero and values above 365 days are
/// rejected.
pub fn parse_ttl(s: &str) -> Result<Duration, Error> {
    let bad = |reason: &str| Error::InvalidTtl {
        input: s.to_string(),
        reason: reason.to_string(),
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad("empty"));
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in t.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = num.unwrap_or(0);
            num = Some(
                n.checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d)))
                    .ok_or_else(|| bad("number too large"))?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(bad("unknown unit (use s, m, h or d)")),
        };
        let n = num.take().ok_or_else(|| bad("unit without a number"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| bad("too large"))?;
    }
    if let Some(n) = num {
        total = total.checked_add(n).ok_or_else(|| bad("too large"))?;
    }
    if total == 0 {
        return Err(bad("must be positive"));
    }
    if total > 365 * 86400 {
        return Err(bad("longer than 365 days"));
    }
    Ok(Duration::from_secs(total))
}

/// An L4 protocol named in a port rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// ICMP (1) and ICMPv6 (58).
    Icmp,
}

impl Protocol {
    /// IP protocol numbers this protocol covers.
    pub fn numbers(self) -> &'static [u8] {
        match self {
            Protocol::Tcp => &[6],
            Protocol::Udp => &[17],
            Protocol::Icmp => &[1, 58],
        }
    }
}

/// What a port rule does with matching packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let the packet go on (to the rate limiter).
    #[default]
    Allow,
    /// Drop it.
    Drop,
}

/// Protocol classes that can be closed by default (`restrict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtoClass {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP and ICMPv6.
    Icmp,
    /// Every other IP protocol (GRE, SCTP, ESP, ...).
    Other,
}

/// A list of source addresses (allow or block list entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddrRule {
    /// Name shown in statistics (at most 55 bytes are kept).
    pub name: String,
    /// Prefixes and addresses.
    #[serde(default)]
    pub cidrs: Vec<Cidr>,
    /// Autonomous system numbers, expanded through `RuleSet::asn_db` or
    /// `RuleSet::asn_mmdb`. Each must match at least one network.
    #[serde(default)]
    pub asns: Vec<u32>,
    /// ISO 3166-1 alpha-2 country codes (case-insensitive), expanded
    /// through `RuleSet::asn_db` or `RuleSet::country_mmdb`. Each must match
    /// at least one network; with `country_mmdb` each must be an assigned
    /// ISO code.
    #[serde(default)]
    pub countries: Vec<String>,
}

/// A port/protocol rule: packets to `ports` over `proto` get `action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortRule {
    /// Name shown in statistics.
    pub name: String,
    /// Protocol.
    pub proto: Protocol,
    /// Destination ports; empty means every port (ignored for ICMP).
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Allow (default) or drop.
    #[serde(default)]
    pub action: Action,
    /// When not empty, the rule only matches packets from these sources.
    #[serde(default)]
    pub sources: Vec<Cidr>,
}

/// Per-source rate limit (token buckets; 0 disables a bucket).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained packets per second per source address.
    #[serde(default)]
    pub packets_per_sec: u64,
    /// Packets a source may send above the rate in a burst.
    #[serde(default)]
    pub burst_packets: u64,
    /// Sustained bytes per second per source address.
    #[serde(default)]
    pub bytes_per_sec: u64,
    /// Bytes a source may send above the rate in a burst.
    #[serde(default)]
    pub burst_bytes: u64,
}

/// Egress destination block (TC): addresses and/or destination ports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressRule {
    /// Name shown in statistics.
    pub name: String,
    /// Destination prefixes blocked on egress.
    #[serde(default)]
    pub cidrs: Vec<Cidr>,
    /// Destination TCP ports blocked on egress.
    #[serde(default)]
    pub tcp_ports: Vec<u16>,
    /// Destination UDP ports blocked on egress.
    #[serde(default)]
    pub udp_ports: Vec<u16>,
}

/// A complete firewall configuration, applied atomically.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Sources always passed (checked first).
    #[serde(default)]
    pub allow: Vec<AddrRule>,
    /// Sources always dropped (checked after `allow`).
    #[serde(default)]
    pub block: Vec<AddrRule>,
    /// Port/protocol rules.
    #[serde(default)]
    pub ports: Vec<PortRule>,
    /// Protocol classes closed unless a port rule opens them.
    #[serde(default)]
    pub restrict: Vec<ProtoClass>,
    /// Per-source rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Egress destination blocks.
    #[serde(default)]
    pub egress: Vec<EgressRule>,
    /// Report 1 in N drops as an event (0 = none).
    #[serde(default)]
    pub sample_every: u32,
    /// ip2asn-style TSV used to expand `asns` and `countries`; a relative
    /// path is taken from the rule file's directory. Not combinable with
    /// `country_mmdb`/`asn_mmdb`.
    #[serde(default)]
    pub asn_db: Option<PathBuf>,
    /// MaxMind-format country database (GeoLite2/GeoIP2-Country or -City,
    /// DB-IP, ipinfo) used to expand `countries`; relative paths as for
    /// `asn_db`.
    #[serde(default)]
    pub country_mmdb: Option<PathBuf>,
    /// MaxMind-format ASN database (GeoLite2-ASN, GeoIP2-ISP, DB-IP,
    /// ipinfo) used to expand `asns`; relative paths as for `asn_db`.
    #[serde(default)]
    pub asn_mmdb: Option<PathBuf>,
}

impl RuleSet {
    /// Parses TOML text; `origin` names the source in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::RuleFile {
            path: origin.to_string(),
            message: e.to_string(),
        })
    }

    /// Parses JSON text; `origin` names the source in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| Error::RuleFile {
            path: origin.to_string(),
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })
    }

    /// Reads a `.toml` or `.json` file (by extension; anything else is
    /// tried as TOML). Relative `asn_db`, `country_mmdb` and `asn_mmdb`
    /// paths are resolved against the file's directory.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            what: format!("reading rule file {}", path.display()),
            source,
        })?;
        let origin = path.display().to_string();
        let mut rs = if path.extension().is_some_and(|e| e == "json") {
            Self::from_json(&text, &origin)?
        } else {
            Self::from_toml(&text, &origin)?
        };
        if let Some(dir) = path.parent() {
            for db in [&mut rs.asn_db, &mut rs.country_mmdb, &mut rs.asn_mmdb]
                .into_iter()
                .flatten()
            {
                if db.is_relative() {
                    *db = dir.join(&*db);
                }
            }
        }
        Ok(rs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse_and_display() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert_eq!(c.mapped_len(), 104);
        assert!(!c.is_host());
        let h: Cidr = "192.0.2.7".parse().unwrap();
        assert!(h.is_host());
        assert_eq!(h.to_string(), "192.0.2.7/32");
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert_eq!(v6.mapped_len(), 32);
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(c.contains("10.200.1.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(!c.contains("::ffff:10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn cidr_rejects_bad_input() {
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "::/129",
            "300.1.1.1",
            "10.0.0.0/",
            "abc",
            "",
            "10.0.0.0/-1",
        ] {
            let e = bad.parse::<Cidr>().unwrap_err();
            assert!(
                e.to_string().contains(bad.trim()),
                "{bad}: error should name the input: {e}"
            );
        }
    }

    #[test]
    fn mapped_roundtrip() {
        for s in ["10.1.0.0/16", "0.0.0.0/0", "2001:db8:8000::/33", "::1/128"] {
            let c: Cidr = s.parse().unwrap();
            assert_eq!(Cidr::from_mapped(c.mapped(), c.mapped_len()).unwrap(), c);
        }
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_ttl("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_ttl("45").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_ttl("2d").unwrap(), Duration::from_secs(172800));
        for bad in ["", "0s", "m", "10x", "400d", "99999999999999999999s"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn toml_and_json_rule_files() {
        let toml_text = r#"
            restrict = ["tcp", "udp"]
            sample_every = 8
            [rate_limit]
            packets_per_sec = 100
            burst_packets = 10
            [[allow]]
            name = "office"
            cidrs = ["10.0.0.0/8"]
            [[block]]
            name = "bad"
            cidrs = ["192.0.2.0/24", "2001:db8::1"]
            [[ports]]
            name = "web"
            proto = "tcp"
            ports = [80, 443]
            [[ports]]
            name = "dns"
            proto = "udp"
            ports = [53]
            sources = ["10.1.0.0/16"]
        "#;
        let rs = RuleSet::from_toml(toml_text, "inline").unwrap();
        assert_eq!(rs.block[0].cidrs.len(), 2);
        assert_eq!(rs.ports[1].sources[0].to_string(), "10.1.0.0/16");
        let json = serde_json::to_string(&rs).unwrap();
        assert_eq!(RuleSet::from_json(&json, "inline").unwrap(), rs);

        let e = RuleSet::from_toml("[[block]]\nname='x'\ncidrs=['10.0.0.1/8']", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.toml") && e.contains("10.0.0.1/8"), "{e}");
        let e = RuleSet::from_toml("bogus = 1", "g.toml").unwrap_err();
        assert!(e.to_string().contains("g.toml"));
    }
}
