//! ASN and country lists expanded to prefixes from an ip2asn-style TSV.
//!
//! Format (one range per line, tab separated, as published by iptoasn.com):
//! `range_start  range_end  AS_number  country_code  AS_description`.
//! Lines starting with `#` and empty lines are skipped. MaxMind MMDB files are
//! not read yet (see the crate docs).

use std::collections::HashSet;
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
