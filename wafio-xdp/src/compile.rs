//! Compiles a [`RuleSet`] into the entries the kernel maps hold. Pure logic:
//! no syscalls, unit-tested without root.

use std::collections::{BTreeSet, HashSet};

use crate::asn::collapse_prefixes;
use crate::error::Error;
use crate::geo::{CountryCode, GeoSources};
use crate::rules::{Action, AddrRule, Cidr, ProtoClass, RuleSet};

/// Most prefixes the `asns` and `countries` of one rule may expand to
/// (after [`collapse_prefixes`]); the default prefix map holds 262 144
/// entries for both generations.
pub const MAX_EXPANDED_PREFIXES: usize = 131_072;

/// Rule ids available per generation (matches `MAX_RULES` in the C program).
pub const MAX_RULES: u32 = 4096;
/// Rule id counting drops of restricted protocols with no opening port rule.
pub const RULE_CLOSED: u32 = 0;
/// Rule id counting rate-limit drops.
pub const RULE_RATE: u32 = 1;
/// Rule id of addresses blocked live (`Firewall::block`).
pub const RULE_LIVE_BLOCK: u32 = 2;
/// Rule id of addresses allowed live (`Firewall::allow`).
pub const RULE_LIVE_ALLOW: u32 = 3;
/// First rule id given to rules of a rule set.
pub const FIRST_RULE: u32 = 4;

/// Action codes shared with the C program.
pub(crate) const ACTION_ALLOW: u32 = 1;
pub(crate) const ACTION_DROP: u32 = 2;

/// What kind of rule an id belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// Built-in (closed ports, rate limit, live lists).
    Builtin,
    /// Allow-list rule.
    Allow,
    /// Block-list rule.
    Block,
    /// Port rule.
    Port,
    /// Egress rule.
    Egress,
}

impl RuleKind {
    pub(crate) fn code(self) -> u32 {
        match self {
            RuleKind::Builtin => 0,
            RuleKind::Allow => 1,
            RuleKind::Block => 2,
            RuleKind::Port => 3,
            RuleKind::Egress => 4,
        }
    }

    pub(crate) fn from_code(c: u32) -> Self {
        match c {
            1 => RuleKind::Allow,
            2 => RuleKind::Block,
            3 => RuleKind::Port,
            4 => RuleKind::Egress,
            _ => RuleKind::Builtin,
        }
    }
}

/// A named rule and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// Id used by the counters.
    pub id: u32,
    /// Name (truncated to 55 bytes in the kernel map).
    pub name: String,
    /// Kind.
    pub kind: RuleKind,
}

/// One port map entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortEntry {
    /// IP protocol number.
    pub proto: u8,
    /// Destination port (0 = all).
    pub port: u16,
    /// Rule id.
    pub rule_id: u32,
    /// `ACTION_ALLOW` or `ACTION_DROP`.
    pub action: u32,
    /// Source group id (0 = any source).
    pub group: u32,
}

/// Rate-limit and policy settings of one generation (mirrors
/// `struct settings` in the C program).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// Bit mask of closed protocol classes.
    pub restrict_mask: u32,
    /// 1 in N drops reported (0 = none).
    pub sample_every: u32,
    /// Nanoseconds of credit one packet costs (0 = no packet limit).
    pub pkt_cost_ns: u64,
    /// Packet burst tolerance in nanoseconds.
    pub pkt_burst_ns: u64,
    /// Picoseconds of credit one byte costs (0 = no byte limit).
    pub byte_cost_ps: u64,
    /// Byte burst tolerance in nanoseconds.
    pub byte_burst_ns: u64,
}

/// A rule set ready to be written into maps.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// Rules by id (built-in ids included).
    pub rules: Vec<RuleInfo>,
    /// Allow-list prefixes with their rule id.
    pub allow: Vec<(Cidr, u32)>,
    /// Block-list prefixes with their rule id.
    pub block: Vec<(Cidr, u32)>,
    /// Egress destination prefixes with their rule id.
    pub egress: Vec<(Cidr, u32)>,
    /// Port rules.
    pub ports: Vec<PortEntry>,
    /// Egress (proto, port, rule id) blocks.
    pub egress_ports: Vec<(u8, u16, u32)>,
    /// Source groups: (group id, prefix).
    pub groups: Vec<(u32, Cidr)>,
    /// Settings.
    pub settings: Settings,
}

/// Built-in rules present in every compiled set.
pub fn builtin_rules() -> Vec<RuleInfo> {
    [
        (RULE_CLOSED, "closed-port"),
        (RULE_RATE, "rate-limit"),
        (RULE_LIVE_BLOCK, "live-block"),
        (RULE_LIVE_ALLOW, "live-allow"),
    ]
    .into_iter()
    .map(|(id, name)| RuleInfo {
        id,
        name: name.to_string(),
        kind: RuleKind::Builtin,
    })
    .collect()
}

/// Expands the `asns`/`countries` of every address rule: one list per rule
/// (allow rules first, then block rules), each collapsed and checked
/// against `limit` ([`MAX_EXPANDED_PREFIXES`]).
fn expand_rules(rs: &RuleSet, geo: &GeoSources, limit: usize) -> Result<Vec<Vec<Cidr>>, Error> {
    let rules: Vec<&AddrRule> = rs.allow.iter().chain(&rs.block).collect();
    let mut countries = BTreeSet::new();
    let mut asns = BTreeSet::new();
    for r in &rules {
        if !r.asns.is_empty() && geo.asn_source().is_none() {
            return Err(Error::Compile(format!(
                "rule `{}` lists ASNs but the rule set has no asn_db or asn_mmdb",
                r.name
            )));
        }
        if !r.countries.is_empty() && geo.country_source().is_none() {
            return Err(Error::Compile(format!(
                "rule `{}` lists countries but the rule set has no asn_db or country_mmdb",
                r.name
            )));
        }
        for c in &r.countries {
            let code = if geo.strict_countries() {
                CountryCode::new(c)
                    .map_err(|e| Error::Compile(format!("rule `{}`: {e}", r.name)))?
                    .to_string()
            } else {
                c.trim().to_ascii_uppercase()
            };
            countries.insert(code);
        }
        asns.extend(r.asns.iter().copied());
    }
    if countries.is_empty() && asns.is_empty() {
        return Ok(vec![Vec::new(); rules.len()]);
    }
    let tables = geo.expand(&countries, &asns)?;
    let mut out = Vec::with_capacity(rules.len());
    for r in &rules {
        let mut cidrs = Vec::new();
        for c in &r.countries {
            let key = c.trim().to_ascii_uppercase();
            match tables.countries.get(&key) {
                Some(v) if !v.is_empty() => cidrs.extend_from_slice(v),
                _ => {
                    return Err(Error::Compile(format!(
                        "rule `{}`: country `{key}` matches no network in {}",
                        r.name,
                        geo.country_source()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    )))
                }
            }
        }
        for a in &r.asns {
            match tables.asns.get(a) {
                Some(v) if !v.is_empty() => cidrs.extend_from_slice(v),
                _ => {
                    return Err(Error::Compile(format!(
                        "rule `{}`: AS{a} matches no network in {}",
                        r.name,
                        geo.asn_source()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    )))
                }
            }
        }
        let cidrs = collapse_prefixes(cidrs);
        if cidrs.len() > limit {
            return Err(Error::Compile(format!(
                "rule `{}`: its ASNs and countries expand to {} prefixes, more than the limit of \
                 {limit}",
                r.name,
                cidrs.len()
            )));
        }
        out.push(cidrs);
    }
    Ok(out)
}

/// Compiles `rs`. `geo` expands `asns`/`countries` (see
/// [`GeoSources::load`]); when a rule names some and `geo` has no database
/// for them, when one matches no network, or when a rule expands to more
/// than [`MAX_EXPANDED_PREFIXES`], compilation fails.
///
/// Duplicate prefixes within one list keep the first rule's id (the first
/// rule gets the credit in the counters).
pub fn compile(rs: &RuleSet, geo: &GeoSources) -> Result<Compiled, Error> {
    let mut expanded = expand_rules(rs, geo, MAX_EXPANDED_PREFIXES)?.into_iter();
    let mut c = Compiled {
        rules: builtin_rules(),
        ..Default::default()
    };
    let mut next_id = FIRST_RULE;
    let mut new_rule = |c: &mut Compiled, name: &str, kind: RuleKind| -> Result<u32, Error> {
        if next_id >= MAX_RULES {
            return Err(Error::Compile(format!(
                "more than {} rules (at `{name}`)",
                MAX_RULES - FIRST_RULE
            )));
        }
        let id = next_id;
        next_id += 1;
        c.rules.push(RuleInfo {
            id,
            name: name.to_string(),
            kind,
        });
        Ok(id)
    };

    for (list, kind) in [(&rs.allow, RuleKind::Allow), (&rs.block, RuleKind::Block)] {
        let mut seen = HashSet::new();
        for r in list {
            let id = new_rule(&mut c, &r.name, kind)?;
            let mut cidrs = r.cidrs.clone();
            cidrs.extend(expanded.next().unwrap_or_default());
            let out = if kind == RuleKind::Allow {
                &mut c.allow
            } else {
                &mut c.block
            };
            for cidr in cidrs {
                if seen.insert(cidr) {
                    out.push((cidr, id));
                }
            }
        }
    }

    let mut group = 0u32;
    let mut seen_ports = HashSet::new();
    for r in &rs.ports {
        let id = new_rule(&mut c, &r.name, RuleKind::Port)?;
        let g = if r.sources.is_empty() {
            0
        } else {
            group += 1;
            for s in &r.sources {
                c.groups.push((group, *s));
            }
            group
        };
        let ports: Vec<u16> = if r.ports.is_empty() || r.proto == crate::rules::Protocol::Icmp {
            vec![0]
        } else {
            r.ports.clone()
        };
        for &proto in r.proto.numbers() {
            for &port in &ports {
                if !seen_ports.insert((proto, port)) {
                    return Err(Error::Compile(format!(
                        "port rule `{}`: {:?} port {port} is already covered by an earlier rule \
                         (one rule per protocol and port)",
                        r.name, r.proto
                    )));
                }
                c.ports.push(PortEntry {
                    proto,
                    port,
                    rule_id: id,
                    action: match r.action {
                        Action::Allow => ACTION_ALLOW,
                        Action::Drop => ACTION_DROP,
                    },
                    group: g,
                });
            }
        }
    }

    let mut seen = HashSet::new();
    for r in &rs.egress {
        let id = new_rule(&mut c, &r.name, RuleKind::Egress)?;
        for cidr in &r.cidrs {
            if seen.insert(*cidr) {
                c.egress.push((*cidr, id));
            }
        }
        for (proto, ports) in [(6u8, &r.tcp_ports), (17u8, &r.udp_ports)] {
            for &p in ports {
                if p == 0 {
                    return Err(Error::Compile(format!(
                        "egress rule `{}`: port 0 is not a port",
                        r.name
                    )));
                }
                if !c.egress_ports.iter().any(|e| e.0 == proto && e.1 == p) {
                    c.egress_ports.push((proto, p, id));
                }
            }
        }
    }

    let mut s = Settings {
        sample_every: rs.sample_every,
        ..Default::default()
    };
    for class in &rs.restrict {
        s.restrict_mask |= match class {
            ProtoClass::Tcp => 1,
            ProtoClass::Udp => 2,
            ProtoClass::Icmp => 4,
            ProtoClass::Other => 8,
        };
    }
    if let Some(rl) = rs.rate_limit {
        if let Some(cost) = 1_000_000_000u64.checked_div(rl.packets_per_sec) {
            s.pkt_cost_ns = cost.max(1);
            s.pkt_burst_ns = rl.burst_packets.saturating_mul(s.pkt_cost_ns);
        }
        if let Some(cost) = 1_000_000_000_000u64.checked_div(rl.bytes_per_sec) {
            s.byte_cost_ps = cost.max(1);
            s.byte_burst_ns = rl.burst_bytes.saturating_mul(s.byte_cost_ps) / 1000;
        }
    }
    c.settings = s;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn load(name: &str) -> RuleSet {
        let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name);
        RuleSet::load(&p).unwrap()
    }

    #[test]
    fn compiles_example_rule_set() {
        let rs = load("rules-basic.toml");
        let c = compile(&rs, &GeoSources::default()).unwrap();
        assert_eq!(c.rules[..4], builtin_rules()[..]);
        let names: Vec<&str> = c.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names[4..],
            [
                "trusted",
                "attackers",
                "web",
                "dns-internal",
                "no-telnet",
                "c2"
            ]
        );
        assert_eq!(c.allow.len(), 3);
        assert_eq!(c.block.len(), 4);
        assert!(c.block.iter().all(|(_, id)| *id == 5));
        // web: tcp 80 and 443; dns: udp 53 with group 1; telnet: drop 23.
        assert!(c.ports.contains(&PortEntry {
            proto: 6,
            port: 443,
            rule_id: 6,
            action: ACTION_ALLOW,
            group: 0
        }));
        assert!(c.ports.contains(&PortEntry {
            proto: 17,
            port: 53,
            rule_id: 7,
            action: ACTION_ALLOW,
            group: 1
        }));
        assert_eq!(c.groups, vec![(1, "10.1.0.0/16".parse().unwrap())]);
        assert_eq!(c.settings.restrict_mask, 3);
        assert_eq!(c.settings.pkt_cost_ns, 10_000_000);
        assert_eq!(c.settings.pkt_burst_ns, 50 * 10_000_000);
        assert_eq!(c.settings.byte_cost_ps, 1_000_000);
        assert_eq!(c.egress_ports, vec![(6, 4444, 9)]);
        assert_eq!(c.egress.len(), 3);
    }

    #[test]
    fn asn_rules_need_a_database() {
        let mut rs = RuleSet::default();
        rs.block.push(crate::rules::AddrRule {
            name: "as".into(),
            asns: vec![64500],
            ..Default::default()
        });
        let e = compile(&rs, &GeoSources::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`as`") && e.contains("asn_db"), "{e}");
        let path =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/ip2asn-small.tsv");
        let geo = GeoSources {
            tsv: Some((path.clone(), crate::asn::AsnDb::load(&path).unwrap())),
            ..Default::default()
        };
        let c = compile(&rs, &geo).unwrap();
        assert_eq!(c.block.len(), 2);
    }

    #[test]
    fn duplicate_port_rules_and_too_many_rules_are_errors() {
        let rs = RuleSet::from_toml(
            "[[ports]]\nname='a'\nproto='tcp'\nports=[80]\n[[ports]]\nname='b'\nproto='tcp'\nports=[80]",
            "x",
        )
        .unwrap();
        let e = compile(&rs, &GeoSources::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`b`") && e.contains("80"), "{e}");

        let mut rs = RuleSet::default();
        for i in 0..MAX_RULES {
            rs.block.push(crate::rules::AddrRule {
                name: format!("r{i}"),
                ..Default::default()
            });
        }
        let e = compile(&rs, &GeoSources::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than"), "{e}");
    }

    #[test]
    fn duplicate_prefix_keeps_first_rule() {
        let rs = RuleSet::from_toml(
            "[[block]]\nname='a'\ncidrs=['10.0.0.0/8']\n[[block]]\nname='b'\ncidrs=['10.0.0.0/8','1.2.3.4']",
            "x",
        )
        .unwrap();
        let c = compile(&rs, &GeoSources::default()).unwrap();
        assert_eq!(
            c.block,
            vec![
                ("10.0.0.0/8".parse().unwrap(), FIRST_RULE),
                ("1.2.3.4".parse().unwrap(), FIRST_RULE + 1)
            ]
        );
    }

    #[test]
    fn expansion_is_limited_and_every_key_must_match() {
        let mut t = crate::geo::testdb::TestDb::new("GeoLite2-Country");
        for i in 0..20u8 {
            // Non-adjacent hosts: nothing to collapse.
            t.country(&format!("198.51.100.{}/32", i * 2), "DE")
                .unwrap();
        }
        let geo = GeoSources {
            country: Some(
                crate::geo::GeoDb::from_bytes(t.to_bytes().unwrap(), "c.mmdb".as_ref()).unwrap(),
            ),
            ..Default::default()
        };
        let rs = RuleSet::from_toml(
            "country_mmdb = 'c.mmdb'\n[[block]]\nname='de'\ncountries=['DE']",
            "x",
        )
        .unwrap();
        assert_eq!(expand_rules(&rs, &geo, 20).unwrap()[0].len(), 20);
        let e = expand_rules(&rs, &geo, 19).unwrap_err().to_string();
        assert!(
            e.contains("`de`") && e.contains("20 prefixes") && e.contains("limit of 19"),
            "{e}"
        );
        assert_eq!(compile(&rs, &geo).unwrap().block.len(), 20);

        // The TSV source: a country or AS it does not carry is an error too.
        let path =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/ip2asn-small.tsv");
        let geo = GeoSources {
            tsv: Some((path.clone(), crate::asn::AsnDb::load(&path).unwrap())),
            ..Default::default()
        };
        let rs = RuleSet::from_toml("[[block]]\nname='t'\ncountries=['zz', 'QQ']", "x").unwrap();
        let e = compile(&rs, &geo).unwrap_err().to_string();
        assert!(
            e.contains("`t`") && e.contains("`QQ`") && e.contains("ip2asn-small.tsv"),
            "{e}"
        );
    }
}
