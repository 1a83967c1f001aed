//! Small MaxMind DB files for tests (cargo feature `mmdb-writer`; always
//! built for this crate's own unit tests).
//!
//! The files are written by the `mmdb-writer` crate (binary search tree
//! with 24/28/32-bit records, 16-byte zero separator, MaxMind DB data
//! section, metadata after `\xAB\xCD\xEFMaxMind.com`). [`TestDb`] only
//! shapes the records the way the real databases do, so tests of GeoIP or
//! ASN features need no downloaded database:
//!
//! ```
//! use wafio_xdp::geo::{testdb::TestDb, GeoDb};
//! let mut t = TestDb::new("GeoLite2-Country");
//! t.country("198.51.100.0/24", "DE").unwrap();
//! let db = GeoDb::from_bytes(t.to_bytes().unwrap(), "test.mmdb".as_ref()).unwrap();
//! let de = db.country("198.51.100.9".parse().unwrap()).unwrap().unwrap();
//! assert_eq!(de.as_str(), "DE");
//! ```
//!
//! By default the tree is IPv6 with IPv4 stored at `::/96` and reachable
//! through `::ffff:0:0/96`, `2002::/16` and `2001::/32` (as in GeoLite2).

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{IpVersion, RecordSize, Writer};

pub use mmdb_writer::Value;

/// A database being built. Later inserts win over earlier ones for the
/// addresses they cover.
#[derive(Debug)]
pub struct TestDb {
    writer: Writer,
}

impl TestDb {
    /// An IPv6 tree (IPv4 at `::/96`, aliased) with the smallest record
    /// size that fits; `database_type` as in the metadata of real files
    /// (`GeoLite2-Country`, `GeoLite2-ASN`, `DBIP-Country-Lite`, ...).
    pub fn new(database_type: &str) -> Self {
        Self::with_layout(database_type, 6, None).expect("valid default layout")
    }

    /// A tree of `ip_version` 4 or 6 with a fixed `record_size` of 24, 28
    /// or 32 bits (`None`: smallest that fits).
    pub fn with_layout(
        database_type: &str,
        ip_version: u8,
        record_size: Option<u8>,
    ) -> Result<Self, String> {
        let ip_version = match ip_version {
            4 => IpVersion::V4,
            6 => IpVersion::V6,
            v => return Err(format!("ip_version {v}: expected 4 or 6")),
        };
        let record_size = match record_size {
            None => None,
            Some(24) => Some(RecordSize::Bits24),
            Some(28) => Some(RecordSize::Bits28),
            Some(32) => Some(RecordSize::Bits32),
            Some(n) => return Err(format!("record size {n}: expected 24, 28 or 32")),
        };
        let builder = Writer::builder(database_type)
            .ip_version(ip_version)
            .description(&[("en", "wafio test database")])
            // Fixed timestamp: identical input gives identical bytes.
            .build_epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let writer = match record_size {
            Some(r) => builder.record_size(r).build(),
            None => builder.build(),
        };
        Ok(TestDb { writer })
    }

    /// Inserts any record at `net` (`"192.0.2.0/24"`, `"2001:db8::/32"`).
    pub fn record(&mut self, net: &str, value: Value) -> Result<&mut Self, String> {
        let n: IpNet = net
            .parse()
            .map_err(|e| format!("bad network `{net}`: {e}"))?;
        self.writer
            .insert_value(n, value)
            .map_err(|e| format!("inserting {net}: {e}"))?;
        Ok(self)
    }

    /// A GeoLite2/GeoIP2-Country record: located and registered country
    /// `iso` (with the `names`, `geoname_id` and continent fields real
    /// records carry).
    pub fn country(&mut self, net: &str, iso: &str) -> Result<&mut Self, String> {
        self.record(
            net,
            Value::map([
                (
                    "continent",
                    Value::map([
                        ("code", Value::from("EU")),
                        ("geoname_id", Value::from(6_255_148u32)),
                        ("names", Value::map([("en", Value::from("Europe"))])),
                    ]),
                ),
                ("country", country_map(iso)),
                ("registered_country", country_map(iso)),
            ]),
        )
    }

    /// A record with only a registered country (anycast ranges in
    /// GeoLite2 have no located country).
    pub fn registered_country(&mut self, net: &str, iso: &str) -> Result<&mut Self, String> {
        self.record(net, Value::map([("registered_country", country_map(iso))]))
    }

    /// A GeoLite2-ASN record.
    pub fn asn(&mut self, net: &str, number: u32, org: &str) -> Result<&mut Self, String> {
        self.record(
            net,
            Value::map([
                ("autonomous_system_number", Value::from(number)),
                ("autonomous_system_organization", Value::from(org)),
            ]),
        )
    }

    /// An ipinfo-lite record (`country_code`, `country` name, `asn` as
    /// `"AS<n>"`, `as_name`).
    pub fn ipinfo(
        &mut self,
        net: &str,
        iso: &str,
        number: u32,
        org: &str,
    ) -> Result<&mut Self, String> {
        self.record(
            net,
            Value::map([
                ("country_code", Value::from(iso)),
                ("country", Value::from(format!("Country {iso}"))),
                ("continent_code", Value::from("EU")),
                ("asn", Value::from(format!("AS{number}"))),
                ("as_name", Value::from(org)),
                ("as_domain", Value::from("example.net")),
            ]),
        )
    }

    /// The record stored for `ip` so far, if any.
    pub fn get(&self, ip: IpAddr) -> Option<&Value> {
        self.writer.get(ip)
    }

    /// The database file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        self.writer.to_bytes().map_err(|e| e.to_string())
    }

    /// Writes the database to `path`.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let bytes = self.to_bytes()?;
        std::fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
    }
}

fn country_map(iso: &str) -> Value {
    Value::map([
        ("geoname_id", Value::from(2_921_044u32)),
        ("is_in_european_union", Value::from(true)),
        ("iso_code", Value::from(iso)),
        (
            "names",
            Value::map([
                ("en", Value::from(format!("Country {iso}"))),
                ("de", Value::from(format!("Land {iso}"))),
            ]),
        ),
    ])
}
