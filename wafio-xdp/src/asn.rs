//! ASN and country lists expanded to prefixes from an ip2asn-style TSV.
//!
//! Format (one range per line, tab separated, as published by iptoasn.com):
//! `range_start  range_end  AS_number  country_code  AS_description`.
//! Lines starting with `#` and empty lines are skipped. MaxMind-format
//! databases are read by [`crate::geo`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::rules::{to_mapped, Cidr};

/// Upper bound on database lines read (bounded memory).
pub const MAX_DB_LINES: usize = 2_000_000;

/// One range of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    start: IpAddr,
    end: IpAddr,
    asn: u32,
    country: String,
}

/// An ip2asn-style database held in memory.
#[derive(Debug, Clone, Default)]
pub struct AsnDb {
    ranges: Vec<Range>,
}

impl AsnDb {
    /// Reads a TSV database.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::AsnDb {
            path: path.to_path_buf(),
            line: 0,
            message: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses TSV text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        let err = |line: usize, message: String| Error::AsnDb {
            path: PathBuf::from(path),
            line,
            message,
        };
        let mut ranges = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if i >= MAX_DB_LINES {
                return Err(err(i + 1, format!("more than {MAX_DB_LINES} lines")));
            }
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 4 {
                return Err(err(
                    i + 1,
                    "expected at least 4 tab-separated columns".into(),
                ));
            }
            let start: IpAddr = cols[0]
                .parse()
                .map_err(|_| err(i + 1, format!("bad range start `{}`", cols[0])))?;
            let end: IpAddr = cols[1]
                .parse()
                .map_err(|_| err(i + 1, format!("bad range end `{}`", cols[1])))?;
            if start.is_ipv4() != end.is_ipv4() || to_mapped(start) > to_mapped(end) {
                return Err(err(i + 1, format!("bad range {start} - {end}")));
            }
            let asn: u32 = cols[2]
                .trim_start_matches("AS")
                .parse()
                .map_err(|_| err(i + 1, format!("bad AS number `{}`", cols[2])))?;
            ranges.push(Range {
                start,
                end,
                asn,
                country: cols[3].trim().to_ascii_uppercase(),
            });
        }
        Ok(AsnDb { ranges })
    }

    /// Prefixes covering every range announced by one of `asns` or located
    /// in one of `countries` (ISO codes, case-insensitive).
    pub fn prefixes(&self, asns: &[u32], countries: &[String]) -> Vec<Cidr> {
        let asns: HashSet<u32> = asns.iter().copied().collect();
        let countries: HashSet<String> = countries.iter().map(|c| c.to_ascii_uppercase()).collect();
        let mut out = Vec::new();
        for r in &self.ranges {
            if asns.contains(&r.asn) || countries.contains(&r.country) {
                range_to_cidrs(r.start, r.end, &mut out);
            }
        }
        out
    }

    /// Prefixes per AS number and per country code (upper-case) for the
    /// keys asked, each list collapsed ([`collapse_prefixes`]); a key no
    /// range carries maps to an empty list. One pass over the ranges.
    pub fn expand(
        &self,
        asns: &BTreeSet<u32>,
        countries: &BTreeSet<String>,
    ) -> (HashMap<u32, Vec<Cidr>>, HashMap<String, Vec<Cidr>>) {
        let mut by_asn: HashMap<u32, Vec<Cidr>> = asns.iter().map(|a| (*a, Vec::new())).collect();
        let mut by_country: HashMap<String, Vec<Cidr>> = countries
            .iter()
            .map(|c| (c.to_ascii_uppercase(), Vec::new()))
            .collect();
        for r in &self.ranges {
            if let Some(out) = by_asn.get_mut(&r.asn) {
                range_to_cidrs(r.start, r.end, out);
            }
            if let Some(out) = by_country.get_mut(&r.country) {
                range_to_cidrs(r.start, r.end, out);
            }
        }
        for v in by_asn.values_mut().chain(by_country.values_mut()) {
            *v = collapse_prefixes(std::mem::take(v));
        }
        (by_asn, by_country)
    }
}

/// Normalises a list of prefixes: duplicates and prefixes covered by
/// another are dropped, adjacent ones are merged, and the result is the
/// minimal list of prefixes covering the same addresses, IPv4 first, each
/// family in address order. IPv4-mapped IPv6 prefixes (`::ffff:a.b.c.d/n`,
/// n >= 96) count as IPv4.
pub fn collapse_prefixes(cidrs: Vec<Cidr>) -> Vec<Cidr> {
    // (is_v6, first, last) over the 16-byte mapped form.
    let mut spans: Vec<(bool, u128, u128)> = cidrs
        .iter()
        .map(|c| {
            let c = Cidr::from_mapped(c.mapped(), c.mapped_len()).unwrap_or(*c);
            let first = u128::from_be_bytes(c.mapped());
            let host_bits = 128 - u32::from(c.mapped_len());
            let last = if host_bits == 128 {
                u128::MAX
            } else {
                first | ((1u128 << host_bits) - 1)
            };
            (c.addr().is_ipv6(), first, last)
        })
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(bool, u128, u128)> = Vec::with_capacity(spans.len());
    for (v6, first, last) in spans {
        match merged.last_mut() {
            Some((mv6, _, mlast))
                if *mv6 == v6 && (first <= *mlast || first == mlast.wrapping_add(1)) =>
            {
                *mlast = (*mlast).max(last);
            }
            _ => merged.push((v6, first, last)),
        }
    }
    let mut out = Vec::new();
    for (v6, first, last) in merged {
        let (a, b) = (
            std::net::Ipv6Addr::from(first),
            std::net::Ipv6Addr::from(last),
        );
        match (v6, a.to_ipv4_mapped(), b.to_ipv4_mapped()) {
            (false, Some(a4), Some(b4)) => range_to_cidrs(IpAddr::V4(a4), IpAddr::V4(b4), &mut out),
            _ => range_to_cidrs(IpAddr::V6(a), IpAddr::V6(b), &mut out),
        }
    }
    out
}

/// Splits an inclusive address range into the minimal list of prefixes.
pub fn range_to_cidrs(start: IpAddr, end: IpAddr, out: &mut Vec<Cidr>) {
    let v4 = start.is_ipv4();
    let mut lo = u128::from_be_bytes(to_mapped(start));
    let hi = u128::from_be_bytes(to_mapped(end));
    let min_len: u32 = if v4 { 96 } else { 0 };
    // At most 2 * 128 prefixes per range: the loop is bounded.
    while lo <= hi {
        let mut size = if lo == 0 {
            128
        } else {
            lo.trailing_zeros().min(128)
        };
        size = size.min(128 - min_len);
        loop {
            let span_ok = size == 128 || {
                let last = lo | ((1u128 << size) - 1);
                last <= hi
            };
            if span_ok {
                break;
            }
            size -= 1;
        }
        let len = (128 - size) as u8;
        if let Ok(c) = Cidr::from_mapped(lo.to_be_bytes(), len) {
            out.push(c);
        }
        if size == 128 {
            break;
        }
        let next = lo.checked_add(1u128 << size);
        match next {
            Some(n) => lo = n,
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(a: &str, b: &str) -> Vec<String> {
        let mut out = Vec::new();
        range_to_cidrs(a.parse().unwrap(), b.parse().unwrap(), &mut out);
        out.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn ranges_split_into_prefixes() {
        assert_eq!(cidrs("10.0.0.0", "10.0.0.255"), ["10.0.0.0/24"]);
        assert_eq!(cidrs("10.0.0.1", "10.0.0.1"), ["10.0.0.1/32"]);
        assert_eq!(
            cidrs("10.0.0.1", "10.0.0.6"),
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        assert_eq!(cidrs("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(cidrs("2001:db8::", "2001:db8::ffff"), ["2001:db8::/112"]);
        assert_eq!(
            cidrs("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ["::/0"]
        );
    }

    fn collapsed(v: &[&str]) -> Vec<String> {
        let c: Vec<Cidr> = v.iter().map(|s| s.parse().unwrap()).collect();
        collapse_prefixes(c).iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn prefixes_collapse() {
        assert!(collapsed(&[]).is_empty());
        assert_eq!(
            collapsed(&["10.1.0.0/16", "10.0.0.0/8", "10.0.0.0/8"]),
            ["10.0.0.0/8"]
        );
        assert_eq!(
            collapsed(&["10.0.0.128/25", "10.0.0.0/25"]),
            ["10.0.0.0/24"]
        );
        assert_eq!(
            collapsed(&["10.0.1.0/24", "10.0.0.128/25"]),
            ["10.0.0.128/25", "10.0.1.0/24"]
        );
        // IPv4-mapped IPv6 counts as IPv4; IPv4 comes first.
        assert_eq!(
            collapsed(&[
                "2001:db8:8000::/33",
                "::ffff:10.0.0.0/120",
                "2001:db8::/33",
                "10.0.1.0/24"
            ]),
            ["10.0.0.0/23", "2001:db8::/32"]
        );
        assert_eq!(
            collapsed(&[
                "255.255.255.255",
                "255.255.255.254/32",
                "0.0.0.0/1",
                "128.0.0.0/1"
            ]),
            ["0.0.0.0/0"]
        );
        assert_eq!(
            collapsed(&["::/0", "ffff::/16", "0.0.0.0/0"]),
            ["0.0.0.0/0", "::/0"]
        );
    }

    #[test]
    fn database_expands_asns_and_countries() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/ip2asn-small.tsv"
        ))
        .unwrap();
        let db = AsnDb::parse(&text, Path::new("ip2asn-small.tsv")).unwrap();
        let p: Vec<String> = db
            .prefixes(&[64500], &[])
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(p, ["198.51.100.0/24", "2001:db8:100::/48"]);
        let p: Vec<String> = db
            .prefixes(&[], &["zz".into()])
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(p, ["203.0.113.0/25", "203.0.113.128/26"]);
        let (a, c) = db.expand(&[64500, 7].into(), &["zz".to_string()].into());
        let s = |v: &Vec<Cidr>| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(s(&a[&64500]), ["198.51.100.0/24", "2001:db8:100::/48"]);
        assert!(a[&7].is_empty());
        assert_eq!(s(&c["ZZ"]), ["203.0.113.0/25", "203.0.113.128/26"]);
    }

    #[test]
    fn database_errors_name_line() {
        let e = AsnDb::parse(
            "1.0.0.0\t1.0.0.255\t13335\tUS\tx\nbad\tline",
            Path::new("db.tsv"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("db.tsv:2"), "{e}");
        let e = AsnDb::parse("1.0.0.9\t1.0.0.1\t1\tUS", Path::new("db.tsv")).unwrap_err();
        assert!(e.to_string().contains("bad range"));
    }
}
