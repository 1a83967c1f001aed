use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{Reader, WithinOptions};

use super::testdb::{TestDb, Value};
use super::*;
use crate::compile::compile;
use crate::rules::RuleSet;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cc(s: &str) -> CountryCode {
    s.parse().unwrap()
}

fn strings(v: &[Cidr]) -> Vec<String> {
    v.iter().map(|c| c.to_string()).collect()
}

/// A GeoLite2-Country-shaped database: DE split over adjacent and nested
/// networks, FR, an anycast range with only a registered country, IPv6.
fn country_db(ip_version: u8, record_size: Option<u8>) -> TestDb {
    let mut t = TestDb::with_layout("GeoLite2-Country", ip_version, record_size).unwrap();
    t.country("198.51.100.0/25", "DE").unwrap();
    // Same country, another record: the writer cannot merge the halves.
    t.record(
        "198.51.100.128/25",
        Value::map([("country", Value::map([("iso_code", Value::from("DE"))]))]),
    )
    .unwrap();
    t.country("203.0.113.0/24", "FR").unwrap();
    t.country("203.0.113.64/26", "DE").unwrap();
    t.registered_country("192.0.2.0/24", "NL").unwrap();
    if ip_version == 6 {
        t.country("2001:db8:100::/48", "DE").unwrap();
        t.country("2001:db8:200::/48", "FR").unwrap();
    }
    t
}

fn asn_db() -> TestDb {
    let mut t = TestDb::new("GeoLite2-ASN");
    t.asn("198.51.100.0/24", 64500, "Example Net").unwrap();
    t.asn("203.0.113.0/25", 64501, "Other Net").unwrap();
    t.asn("203.0.113.128/25", 64500, "Example Net").unwrap();
    t.asn("2001:db8:100::/40", 64500, "Example Net").unwrap();
    t
}

fn open(t: &TestDb, name: &str) -> GeoDb {
    GeoDb::from_bytes(t.to_bytes().unwrap(), Path::new(name)).unwrap()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wafio-geo-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn writer_output_reads_back_with_maxminddb() {
    for (v, rs) in [
        (6, Some(24)),
        (6, Some(28)),
        (6, Some(32)),
        (4, Some(24)),
        (4, Some(32)),
        (6, None),
    ] {
        let bytes = country_db(v, rs).to_bytes().unwrap();
        let r = Reader::from_source(bytes).unwrap();
        assert_eq!(r.metadata().ip_version, u16::from(v));
        if let Some(rs) = rs {
            assert_eq!(r.metadata().record_size, u16::from(rs));
        }
        r.verify().unwrap();
        let iso = |a: &str| -> Option<String> {
            r.lookup(ip(a))
                .unwrap()
                .decode_path(&[
                    maxminddb::PathElement::Key("country"),
                    maxminddb::PathElement::Key("iso_code"),
                ])
                .unwrap()
        };
        assert_eq!(iso("198.51.100.200").as_deref(), Some("DE"));
        assert_eq!(iso("203.0.113.70").as_deref(), Some("DE"));
        assert_eq!(iso("203.0.113.1").as_deref(), Some("FR"));
        assert_eq!(iso("192.0.2.1"), None);
        assert_eq!(iso("10.0.0.1"), None);
        // Network iteration sees every network once (aliases skipped).
        let nets: Vec<String> = r
            .networks(WithinOptions::default())
            .unwrap()
            .map(|x| x.unwrap().network().unwrap().to_string())
            .collect();
        let mut want = vec![
            "192.0.2.0/24",
            "198.51.100.0/25",
            "198.51.100.128/25",
            "203.0.113.0/26",
            "203.0.113.64/26",
            "203.0.113.128/25",
        ];
        if v == 6 {
            want.extend(["2001:db8:100::/48", "2001:db8:200::/48"]);
        }
        assert_eq!(nets, want, "ip_version {v} record size {rs:?}");
        if v == 6 {
            // IPv4 lives at ::/96 and is reachable through the IPv4-mapped
            // and 6to4 aliases, as in GeoLite2.
            assert_eq!(iso("::198.51.100.7").as_deref(), Some("DE"));
            assert_eq!(iso("::ffff:198.51.100.7").as_deref(), Some("DE"));
            assert_eq!(iso("2002:c633:6407::").as_deref(), Some("DE"));
            assert_eq!(iso("2001:db8:100:1::1").as_deref(), Some("DE"));
            let under_96: Vec<String> = r
                .within("::/96".parse().unwrap(), WithinOptions::default())
                .unwrap()
                .map(|x| x.unwrap().network().unwrap().to_string())
                .collect();
            assert_eq!(under_96.len(), 6, "{under_96:?}");
            assert!(under_96.contains(&"203.0.113.64/26".to_string()));
            let aliased = r
                .networks(WithinOptions::default().include_aliased_networks())
                .unwrap()
                .count();
            assert!(aliased > nets.len(), "{aliased}");
        }
    }
}

#[test]
fn country_and_asn_lookups() {
    let db = open(&country_db(6, None), "c.mmdb");
    assert_eq!(db.database_type(), "GeoLite2-Country");
    assert_eq!(db.ip_version(), 6);
    db.verify().unwrap();
    assert_eq!(db.country(ip("198.51.100.1")).unwrap(), Some(cc("DE")));
    assert_eq!(
        db.country(ip("::ffff:198.51.100.1")).unwrap(),
        Some(cc("DE"))
    );
    assert_eq!(db.country(ip("2001:db8:200::9")).unwrap(), Some(cc("FR")));
    // Anycast: no located country, the registered one is used.
    assert_eq!(db.country(ip("192.0.2.77")).unwrap(), Some(cc("NL")));
    assert_eq!(db.country(ip("10.1.1.1")).unwrap(), None);
    assert_eq!(db.country(ip("2001:db8:300::1")).unwrap(), None);
    assert_eq!(db.asn(ip("198.51.100.1")).unwrap(), None);

    let v4 = open(&country_db(4, Some(24)), "c4.mmdb");
    assert_eq!(v4.country(ip("203.0.113.1")).unwrap(), Some(cc("FR")));
    assert_eq!(
        v4.country(ip("::ffff:203.0.113.1")).unwrap(),
        Some(cc("FR"))
    );
    // IPv6 in an IPv4-only database: not found, not an error.
    assert_eq!(v4.country(ip("2001:db8:200::9")).unwrap(), None);

    let a = open(&asn_db(), "a.mmdb");
    assert_eq!(
        a.asn(ip("203.0.113.200")).unwrap(),
        Some(AsnInfo {
            number: 64500,
            organization: Some("Example Net".into())
        })
    );
    assert_eq!(a.asn_number(ip("203.0.113.1")).unwrap(), Some(64501));
    assert_eq!(a.asn_number(ip("2001:db8:1ff::1")).unwrap(), Some(64500));
    assert_eq!(a.asn_number(ip("192.0.2.1")).unwrap(), None);
    assert_eq!(a.country(ip("203.0.113.1")).unwrap(), None);
}

#[test]
fn ipinfo_and_dbip_layouts() {
    let mut t = TestDb::new("ipinfo lite.mmdb");
    t.ipinfo("198.51.100.0/24", "CH", 64510, "Alp Net").unwrap();
    t.ipinfo("2001:db8:5::/48", "ch", 64510, "Alp Net").unwrap();
    t.ipinfo("203.0.113.0/24", "AT", 64511, "Other").unwrap();
    // Older ipinfo free databases: `country` is the code.
    t.record(
        "192.0.2.0/24",
        Value::map([
            ("country", Value::from("SE")),
            ("asn", Value::from("AS64512")),
            ("as_name", Value::from("North")),
        ]),
    )
    .unwrap();
    let db = open(&t, "ipinfo.mmdb");
    db.require(GeoData::Country).unwrap();
    db.require(GeoData::Asn).unwrap();
    assert_eq!(db.country(ip("198.51.100.1")).unwrap(), Some(cc("CH")));
    assert_eq!(db.country(ip("192.0.2.1")).unwrap(), Some(cc("SE")));
    assert_eq!(
        db.asn(ip("192.0.2.1")).unwrap(),
        Some(AsnInfo {
            number: 64512,
            organization: Some("North".into())
        })
    );
    let m = db.country_prefixes(&[cc("CH")].into()).unwrap();
    assert_eq!(
        strings(&m[&cc("CH")]),
        ["198.51.100.0/24", "2001:db8:5::/48"]
    );
    let m = db.asn_prefixes(&[64511].into()).unwrap();
    assert_eq!(strings(&m[&64511]), ["203.0.113.0/24"]);

    // DB-IP lite uses the MaxMind field names.
    let mut t = TestDb::new("DBIP-Country-Lite");
    t.country("198.51.100.0/24", "IT").unwrap();
    let db = open(&t, "dbip.mmdb");
    assert_eq!(db.country(ip("198.51.100.3")).unwrap(), Some(cc("IT")));

    // A bad AS number in a record is an error naming the file and network.
    let mut t = TestDb::new("ipinfo lite.mmdb");
    t.record(
        "198.51.100.0/24",
        Value::map([("asn", Value::from("ASxyz"))]),
    )
    .unwrap();
    let db = open(&t, "bad-asn.mmdb");
    let e = db.asn(ip("198.51.100.1")).unwrap_err().to_string();
    assert!(e.contains("bad-asn.mmdb") && e.contains("ASxyz"), "{e}");
}

#[test]
fn expansion_collapses_and_keeps_families_apart() {
    for (v, rs) in [(6, Some(28)), (4, Some(32)), (6, Some(24))] {
        let db = open(&country_db(v, rs), "c.mmdb");
        let m = db
            .country_prefixes(&[cc("DE"), cc("FR"), cc("NL"), cc("JP")].into())
            .unwrap();
        let mut de = vec!["198.51.100.0/24", "203.0.113.64/26"];
        let mut fr = vec!["203.0.113.0/26", "203.0.113.128/25"];
        if v == 6 {
            de.push("2001:db8:100::/48");
            fr.push("2001:db8:200::/48");
        }
        assert_eq!(strings(&m[&cc("DE")]), de, "ip_version {v}");
        assert_eq!(strings(&m[&cc("FR")]), fr);
        assert_eq!(strings(&m[&cc("NL")]), ["192.0.2.0/24"]);
        assert!(m[&cc("JP")].is_empty());
        // IPv4 results are IPv4 prefixes (not ::a.b.c.d/n).
        assert!(m[&cc("DE")][0].addr().is_ipv4());
    }
    let a = open(&asn_db(), "a.mmdb");
    let m = a.asn_prefixes(&[64500, 64501, 1].into()).unwrap();
    assert_eq!(
        strings(&m[&64500]),
        ["198.51.100.0/24", "203.0.113.128/25", "2001:db8:100::/40"]
    );
    assert_eq!(strings(&m[&64501]), ["203.0.113.0/25"]);
    assert!(m[&1].is_empty());
    assert!(a.asn_prefixes(&BTreeSet::new()).unwrap().is_empty());
}

#[test]
fn country_codes_are_validated() {
    assert_eq!(cc(" de ").as_str(), "DE");
    assert_eq!(cc("xk").to_string(), "XK");
    assert_eq!(format!("{:?}", cc("Gb")), "CountryCode(GB)");
    let n = ISO_3166_ALPHA2.split(' ').count();
    assert_eq!(n, 249 + 2);
    let uniq: BTreeSet<&str> = ISO_3166_ALPHA2.split(' ').collect();
    assert_eq!(uniq.len(), n);
    for bad in ["UK", "ZZ", "D", "DEU", "1A", "", "D\u{e9}"] {
        let e = CountryCode::new(bad).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidCountryCode { input, .. } if input == bad),
            "{bad}: {e}"
        );
    }
    assert!(CountryCode::new("uk")
        .unwrap_err()
        .to_string()
        .contains("United Kingdom is GB"));
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = tmpdir("bad");
    let missing = dir.join("nope.mmdb");
    let e = GeoDb::open(&missing).unwrap_err().to_string();
    assert!(e.contains("nope.mmdb") && e.contains("cannot open"), "{e}");

    let junk = dir.join("junk.mmdb");
    std::fs::write(&junk, b"this is not a database").unwrap();
    let e = GeoDb::open(&junk).unwrap_err().to_string();
    assert!(
        e.contains("junk.mmdb") && e.contains("not a valid MaxMind DB"),
        "{e}"
    );

    // Truncated inside the search tree: the metadata survives, the tree
    // does not fit any more.
    let good = country_db(6, Some(28)).to_bytes().unwrap();
    let marker = good
        .windows(14)
        .rposition(|w| w == b"\xab\xcd\xefMaxMind.com")
        .unwrap();
    let mut cut = good[..40].to_vec();
    cut.extend_from_slice(&good[marker..]);
    let e = GeoDb::from_bytes(cut, Path::new("cut.mmdb"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.mmdb"), "{e}");

    // Wrong kind of database.
    let asn = open(&asn_db(), "GeoLite2-ASN.mmdb");
    let e = asn.require(GeoData::Country).unwrap_err().to_string();
    assert!(
        e.contains("GeoLite2-ASN.mmdb")
            && e.contains("type `GeoLite2-ASN`")
            && e.contains("country"),
        "{e}"
    );
    let e = asn
        .country_prefixes(&[cc("DE")].into())
        .unwrap_err()
        .to_string();
    assert!(e.contains("holds no country data"), "{e}");
    let c = open(&country_db(6, None), "GeoLite2-Country.mmdb");
    let e = c.require(GeoData::Asn).unwrap_err().to_string();
    assert!(e.contains("holds no ASN data"), "{e}");
    let e = open(&TestDb::new("Empty"), "empty.mmdb")
        .require(GeoData::Country)
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty.mmdb") && e.contains("no networks"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Hostile bytes: flipped bytes and truncations of a valid database give
/// errors or answers, never a panic.
#[test]
fn mutated_databases_do_not_panic() {
    let good = country_db(6, Some(24)).to_bytes().unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut opened = 0;
    let codes: BTreeSet<CountryCode> = [cc("DE"), cc("FR")].into();
    for round in 0..3000 {
        let mut b = good.clone();
        if round % 10 == 0 {
            b.truncate(next() as usize % b.len());
        } else {
            for _ in 0..1 + next() % 4 {
                let i = next() as usize % b.len();
                b[i] = next() as u8;
            }
        }
        let Ok(db) = GeoDb::from_bytes(b, Path::new("m.mmdb")) else {
            continue;
        };
        opened += 1;
        for a in [
            "198.51.100.1",
            "203.0.113.70",
            "2001:db8:100::1",
            "::ffff:192.0.2.1",
        ] {
            let _ = db.country(ip(a));
            let _ = db.asn(ip(a));
        }
        let _ = db.require(GeoData::Country);
        let _ = db.country_prefixes(&codes);
        let _ = db.verify();
    }
    // Most single-byte changes leave a readable file: the loop did exercise
    // lookups and iteration, not only the header check.
    assert!(opened > 1000, "{opened}");
}

#[test]
fn rule_sets_expand_through_mmdb_files() {
    let dir = tmpdir("rules");
    country_db(6, None)
        .write(&dir.join("GeoLite2-Country.mmdb"))
        .unwrap();
    asn_db().write(&dir.join("GeoLite2-ASN.mmdb")).unwrap();
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        "country_mmdb = 'GeoLite2-Country.mmdb'\nasn_mmdb = 'GeoLite2-ASN.mmdb'\n\
         [[allow]]\nname='friends'\ncountries=['nl']\n\
         [[block]]\nname='geo'\ncountries=['de']\nasns=[64501]\ncidrs=['100.64.0.0/10']\n",
    )
    .unwrap();
    let rs = RuleSet::load(&rules).unwrap();
    assert_eq!(
        rs.country_mmdb.as_deref(),
        Some(dir.join("GeoLite2-Country.mmdb").as_path())
    );
    let geo = GeoSources::load(&rs).unwrap();
    let c = compile(&rs, &geo).unwrap();
    let block: Vec<String> = c.block.iter().map(|(c, _)| c.to_string()).collect();
    // Explicit CIDRs first, then the expansion of DE and AS64501 collapsed
    // together (DE's 203.0.113.64/26 lies inside AS64501's 203.0.113.0/25).
    assert_eq!(
        block,
        [
            "100.64.0.0/10",
            "198.51.100.0/24",
            "203.0.113.0/25",
            "2001:db8:100::/48"
        ]
    );
    let allow: Vec<String> = c.allow.iter().map(|(c, _)| c.to_string()).collect();
    assert_eq!(allow, ["192.0.2.0/24"]);

    let with = |extra: &str| {
        let p = dir.join("r2.toml");
        std::fs::write(
            &p,
            format!(
                "country_mmdb = 'GeoLite2-Country.mmdb'\nasn_mmdb = 'GeoLite2-ASN.mmdb'\n{extra}"
            ),
        )
        .unwrap();
        let rs = RuleSet::load(&p)?;
        let geo = GeoSources::load(&rs)?;
        compile(&rs, &geo).map(|_| ())
    };
    let e = with("[[block]]\nname='typo'\ncountries=['UK']")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`typo`") && e.contains("`UK`") && e.contains("GB"),
        "{e}"
    );
    let e = with("[[block]]\nname='empty'\ncountries=['JP']")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`empty`") && e.contains("`JP`") && e.contains("GeoLite2-Country.mmdb"),
        "{e}"
    );
    let e = with("[[block]]\nname='as'\nasns=[64999]")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("AS64999") && e.contains("GeoLite2-ASN.mmdb"),
        "{e}"
    );
    let e = with("asn_db = 'x.tsv'\n").unwrap_err().to_string();
    assert!(e.contains("asn_db") && e.contains("country_mmdb"), "{e}");

    // Files swapped: each field checks its database's kind.
    std::fs::write(
        dir.join("r3.toml"),
        "country_mmdb = 'GeoLite2-ASN.mmdb'\n[[block]]\nname='x'\ncountries=['DE']",
    )
    .unwrap();
    let rs = RuleSet::load(&dir.join("r3.toml")).unwrap();
    let e = GeoSources::load(&rs).unwrap_err().to_string();
    assert!(
        e.contains("GeoLite2-ASN.mmdb") && e.contains("no country data"),
        "{e}"
    );

    // A rule needing a database the rule set does not name.
    let rs = RuleSet::from_toml(
        "asn_mmdb = 'a.mmdb'\n[[block]]\nname='c'\ncountries=['DE']",
        "x",
    )
    .unwrap();
    let geo = GeoSources {
        asn: Some(open(&asn_db(), "a.mmdb")),
        ..Default::default()
    };
    let e = compile(&rs, &geo).unwrap_err().to_string();
    assert!(e.contains("`c`") && e.contains("country_mmdb"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
