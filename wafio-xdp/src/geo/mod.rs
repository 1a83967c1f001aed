//! MaxMind DB (`.mmdb`) databases: country and ASN lookups for one address,
//! and expansion of a country code or an AS number into the prefixes the
//! database maps to it (through the `maxminddb` crate's network iteration).
//!
//! Record layouts understood (fields other than these are skipped):
//!
//! | vendor / database | country | ASN |
//! |-------------------|---------|-----|
//! | MaxMind GeoLite2/GeoIP2-Country, -City, -Enterprise; DB-IP country/city | `country.iso_code`, else `registered_country.iso_code` | — |
//! | MaxMind GeoLite2-ASN, GeoIP2-ISP; DB-IP ASN | — | `autonomous_system_number`, `autonomous_system_organization` |
//! | ipinfo (lite) | `country_code` | `asn` (`"AS13335"`), `as_name` |
//! | ipinfo (older free `country_asn`) | `country` as a two-letter string | `asn`, `as_name` |
//!
//! The located country (`country`) wins over the country the block is
//! registered in (`registered_country`), which is only used when a record
//! has no located country (anycast and some satellite ranges).
//!
//! ```no_run
//! use std::net::IpAddr;
//! use wafio_xdp::geo::{CountryCode, GeoDb};
//! # fn main() -> Result<(), wafio_xdp::Error> {
//! let countries = GeoDb::open("GeoLite2-Country.mmdb".as_ref())?;
//! let asns = GeoDb::open("GeoLite2-ASN.mmdb".as_ref())?;
//! let ip: IpAddr = "198.51.100.7".parse().unwrap();
//! let blocked: CountryCode = "KP".parse()?;
//! if countries.country(ip)? == Some(blocked) {
//!     // reject the request
//! }
//! if let Some(asn) = asns.asn(ip)? {
//!     println!("AS{} {}", asn.number, asn.organization.unwrap_or_default());
//! }
//! # Ok(()) }
//! ```
//!
//! Lookups borrow nothing and take `&self`: one [`GeoDb`] can be shared by
//! every request handler (`Arc<GeoDb>`). A database is read into memory
//! (at most [`MAX_MMDB_BYTES`]); the reader checks the file's layout when
//! it is opened and every record when it is decoded, so a corrupt file gives
//! an [`Error::GeoDb`], never a panic.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::Read as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use maxminddb::{PathElement::Key, Reader, WithinOptions};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use crate::asn::AsnDb;
use crate::error::Error;
use crate::rules::{Cidr, RuleSet};

#[cfg(feature = "mmdb-writer")]
pub mod testdb;

/// Largest database file read (GeoIP2-City is about 120 MB, the largest
/// commercial MaxMind databases stay well below this).
pub const MAX_MMDB_BYTES: u64 = 1 << 30;

/// Records decoded by [`GeoDb::require`] before it decides that a database
/// holds no data of the kind asked for.
pub const SAMPLE_RECORDS: usize = 10_000;

/// ISO 3166-1 alpha-2 codes (officially assigned), plus `XK` (Kosovo, used
/// by MaxMind and DB-IP) and `EU` (exceptionally reserved, used for
/// registrations to the European Union as a whole).
const ISO_3166_ALPHA2: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK EU";

/// An ISO 3166-1 alpha-2 country code, stored upper-case (`"de"` parses as
/// `DE`). Only assigned codes (and `XK`, `EU`) are accepted, so a typo such
/// as `UK` (the United Kingdom is `GB`) is an error instead of a rule that
/// matches nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses and validates a code (case-insensitive, surrounding spaces
    /// ignored).
    pub fn new(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        let bad = |reason: &str| Error::InvalidCountryCode {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let b = t.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(bad("expected two letters (ISO 3166-1 alpha-2, such as DE)"));
        }
        let code = [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()];
        let c = CountryCode(code);
        if !ISO_3166_ALPHA2.split(' ').any(|k| k.as_bytes() == code) {
            let hint = if c.as_str() == "UK" {
                " (the United Kingdom is GB)"
            } else {
                ""
            };
            return Err(bad(&format!(
                "not an assigned ISO 3166-1 alpha-2 code{hint}"
            )));
        }
        Ok(c)
    }

    /// The code, upper-case.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters (checked in `new`/`from_record`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// A code read from a database record: two ASCII letters, upper-cased.
    /// Not checked against the ISO list (databases may carry codes such as
    /// `ZZ`), so such a code can never equal a validated one it differs from.
    fn from_record(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        (b.len() == 2 && b.iter().all(u8::is_ascii_alphabetic))
            .then(|| CountryCode([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()]))
    }
}

impl FromStr for CountryCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        CountryCode::new(s)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

/// The autonomous system an address belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsnInfo {
    /// AS number.
    pub number: u32,
    /// Organisation name, when the database has one.
    pub organization: Option<String>,
}

/// The kind of data a database is expected to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoData {
    /// Country codes.
    Country,
    /// AS numbers.
    Asn,
}

impl fmt::Display for GeoData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GeoData::Country => "country",
            GeoData::Asn => "ASN",
        })
    }
}

/// A MaxMind-format database held in memory.
pub struct GeoDb {
    reader: Reader<Vec<u8>>,
    path: PathBuf,
}

impl fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoDb")
            .field("path", &self.path)
            .field("database_type", &self.database_type())
            .field("ip_version", &self.reader.metadata().ip_version)
            .finish()
    }
}

impl GeoDb {
    /// Reads and opens a database file (at most [`MAX_MMDB_BYTES`]).
    pub fn open(path: &Path) -> Result<Self, Error> {
        let err = |message: String| Error::GeoDb {
            path: path.to_path_buf(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
        let len = file
            .metadata()
            .map_err(|e| err(format!("cannot stat: {e}")))?
            .len();
        if len > MAX_MMDB_BYTES {
            return Err(err(format!(
                "{len} bytes, larger than the limit of {MAX_MMDB_BYTES}"
            )));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(MAX_MMDB_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| err(format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_MMDB_BYTES {
            return Err(err(format!(
                "larger than the limit of {MAX_MMDB_BYTES} bytes"
            )));
        }
        Self::from_bytes(bytes, path)
    }

    /// Opens a database already in memory; `origin` names it in errors.
    pub fn from_bytes(bytes: Vec<u8>, origin: &Path) -> Result<Self, Error> {
        let reader = Reader::from_source(bytes).map_err(|e| Error::GeoDb {
            path: origin.to_path_buf(),
            message: format!("not a valid MaxMind DB file: {e}"),
        })?;
        Ok(GeoDb {
            reader,
            path: origin.to_path_buf(),
        })
    }

    /// The file (or origin) the database was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `database_type` from the metadata (`GeoLite2-Country`, ...).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// 4 for an IPv4-only database, 6 for an IPv6 tree (IPv4 at `::/96`).
    pub fn ip_version(&self) -> u16 {
        self.reader.metadata().ip_version
    }

    fn err(&self, message: String) -> Error {
        Error::GeoDb {
            path: self.path.clone(),
            message,
        }
    }

    fn wrong_type(&self, what: GeoData) -> Error {
        let expected = match what {
            GeoData::Country => {
                "a country database (GeoLite2/GeoIP2-Country or -City, DB-IP country, ipinfo)"
            }
            GeoData::Asn => "an ASN database (GeoLite2-ASN, GeoIP2-ISP, DB-IP ASN, ipinfo)",
        };
        self.err(format!(
            "database type `{}` holds no {what} data; expected {expected}",
            self.database_type()
        ))
    }

    /// Full integrity check of the tree and of every record (slow on big
    /// databases: it walks the whole file).
    pub fn verify(&self) -> Result<(), Error> {
        self.reader
            .verify()
            .map_err(|e| self.err(format!("corrupt: {e}")))
    }

    /// Checks that the database holds `what`: the first records (at most
    /// [`SAMPLE_RECORDS`]) are decoded until one carries that field. An empty
    /// database, or one of another kind (an ASN database given where a
    /// country database is expected), is an error naming the file.
    pub fn require(&self, what: GeoData) -> Result<(), Error> {
        let mut seen = std::collections::HashSet::new();
        for item in self.networks()? {
            let r = item.map_err(|e| self.err(format!("corrupt search tree: {e}")))?;
            let Some(off) = r.offset() else { continue };
            if !seen.insert(off) {
                continue;
            }
            let rec = self.decode_record(&r)?;
            let has = match what {
                GeoData::Country => rec.country().is_some(),
                GeoData::Asn => rec.asn().is_some(),
            };
            if has {
                return Ok(());
            }
            if seen.len() >= SAMPLE_RECORDS {
                break;
            }
        }
        if seen.is_empty() {
            return Err(self.err("the database holds no networks".into()));
        }
        Err(self.wrong_type(what))
    }

    /// The country of `ip` (located country, else registered country), or
    /// `None` when the database has no record or no country for it.
    /// IPv4-mapped IPv6 addresses are looked up as IPv4.
    pub fn country(&self, ip: IpAddr) -> Result<Option<CountryCode>, Error> {
        // Fast path for the MaxMind/DB-IP layout (the field that wins
        // anyway): about half the cost of decoding the record.
        let Some(r) = self.find(ip)? else {
            return Ok(None);
        };
        if let Ok(Some(s)) = r.decode_path::<&str>(&[Key("country"), Key("iso_code")]) {
            if let Some(c) = CountryCode::from_record(s) {
                return Ok(Some(c));
            }
        }
        Ok(self.decode_record(&r)?.country())
    }

    /// The AS number of `ip`, or `None` (cheaper than [`GeoDb::asn`]: no
    /// string is copied).
    pub fn asn_number(&self, ip: IpAddr) -> Result<Option<u32>, Error> {
        let Some(r) = self.find(ip)? else {
            return Ok(None);
        };
        if let Ok(Some(n)) = r.decode_path::<u32>(&[Key("autonomous_system_number")]) {
            return Ok(Some(n));
        }
        Ok(self.decode_record(&r)?.asn())
    }

    /// The AS number and organisation of `ip`, or `None`.
    pub fn asn(&self, ip: IpAddr) -> Result<Option<AsnInfo>, Error> {
        Ok(self.lookup(ip)?.and_then(|r| {
            r.asn().map(|number| AsnInfo {
                number,
                organization: r.organization().map(str::to_string),
            })
        }))
    }

    /// The tree walk: the record's handle, `None` when there is no data.
    fn find(&self, ip: IpAddr) -> Result<Option<maxminddb::LookupResult<'_, Vec<u8>>>, Error> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if ip.is_ipv6() && self.ip_version() == 4 {
            return Ok(None);
        }
        let r = self
            .reader
            .lookup(ip)
            .map_err(|e| self.err(format!("looking up {ip}: {e}")))?;
        Ok(r.has_data().then_some(r))
    }

    fn lookup(&self, ip: IpAddr) -> Result<Option<Record<'_>>, Error> {
        match self.find(ip)? {
            Some(r) => self.decode_record(&r).map(Some),
            None => Ok(None),
        }
    }

    fn networks(&self) -> Result<maxminddb::Within<'_, Vec<u8>>, Error> {
        // Default options skip the IPv4 aliases (::ffff:0:0/96, 2002::/16,
        // 2001::/32) of an IPv6 tree: IPv4 networks are reported once.
        self.reader
            .networks(WithinOptions::default())
            .map_err(|e| self.err(format!("cannot iterate networks: {e}")))
    }

    fn decode_record<'a>(
        &'a self,
        r: &maxminddb::LookupResult<'a, Vec<u8>>,
    ) -> Result<Record<'a>, Error> {
        let what = || match r.network() {
            Ok(n) => n.to_string(),
            Err(_) => "a network".to_string(),
        };
        match r.decode::<Record<'a>>() {
            Ok(rec) => Ok(rec.unwrap_or_default()),
            Err(e) => Err(self.err(format!("bad record for {}: {e}", what()))),
        }
    }

    /// Every network whose country is one of `codes`, collapsed per code
    /// (see [`crate::collapse_prefixes`]). A code the database does not
    /// know maps to an empty list. Fails when the database holds no country
    /// data at all.
    pub fn country_prefixes(
        &self,
        codes: &BTreeSet<CountryCode>,
    ) -> Result<HashMap<CountryCode, Vec<Cidr>>, Error> {
        self.expand(GeoData::Country, codes, |r| r.country())
    }

    /// Every network announced by one of `asns`, collapsed per AS number.
    /// An AS the database does not know maps to an empty list. Fails when
    /// the database holds no ASN data at all.
    pub fn asn_prefixes(&self, asns: &BTreeSet<u32>) -> Result<HashMap<u32, Vec<Cidr>>, Error> {
        self.expand(GeoData::Asn, asns, |r| r.asn())
    }

    fn expand<K: Ord + Copy + std::hash::Hash>(
        &self,
        what: GeoData,
        wanted: &BTreeSet<K>,
        key_of: impl Fn(&Record<'_>) -> Option<K>,
    ) -> Result<HashMap<K, Vec<Cidr>>, Error> {
        let mut out: HashMap<K, Vec<Cidr>> = wanted.iter().map(|k| (*k, Vec::new())).collect();
        if wanted.is_empty() {
            return Ok(out);
        }
        // Many networks share one record: decode each record once.
        let mut keys: HashMap<usize, Option<K>> = HashMap::new();
        let mut any_field = false;
        for item in self.networks()? {
            let r = item.map_err(|e| self.err(format!("corrupt search tree: {e}")))?;
            let Some(off) = r.offset() else { continue };
            let key = match keys.get(&off) {
                Some(k) => *k,
                None => {
                    let k = key_of(&self.decode_record(&r)?);
                    keys.insert(off, k);
                    k
                }
            };
            let Some(key) = key else { continue };
            any_field = true;
            if let Some(list) = out.get_mut(&key) {
                let net = r
                    .network()
                    .map_err(|e| self.err(format!("bad network in the search tree: {e}")))?;
                let cidr = match net.ip() {
                    IpAddr::V4(a) => Cidr::new(IpAddr::V4(a), net.prefix()),
                    IpAddr::V6(a) => Cidr::from_mapped(a.octets(), net.prefix()),
                }
                .map_err(|e| self.err(format!("bad network {net}: {e}")))?;
                list.push(cidr);
            }
        }
        if !any_field {
            return Err(self.wrong_type(what));
        }
        for list in out.values_mut() {
            *list = crate::asn::collapse_prefixes(std::mem::take(list));
        }
        Ok(out)
    }
}

/// The fields of a record this module reads; everything else is skipped
/// without being decoded.
#[derive(Debug, Default, Deserialize)]
struct Record<'a> {
    #[serde(default)]
    country: Option<CountryField>,
    #[serde(default)]
    registered_country: Option<CountryField>,
    #[serde(default)]
    country_code: Option<CountryField>,
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
    #[serde(default)]
    asn: Option<AsnField>,
    #[serde(borrow, default)]
    as_name: Option<&'a str>,
}

impl Record<'_> {
    fn country(&self) -> Option<CountryCode> {
        let code = |f: &Option<CountryField>| f.as_ref().and_then(|c| c.0);
        code(&self.country)
            .or(code(&self.country_code))
            .or(code(&self.registered_country))
    }

    fn asn(&self) -> Option<u32> {
        self.autonomous_system_number
            .or(self.asn.as_ref().and_then(|a| a.0))
    }

    fn organization(&self) -> Option<&str> {
        self.autonomous_system_organization.or(self.as_name)
    }
}

/// `country`: a map with `iso_code` (MaxMind, DB-IP) or a bare code
/// (`country_code`, older ipinfo `country`). A string that is not two
/// letters (ipinfo lite puts the country *name* in `country`) is treated as
/// absent.
#[derive(Debug)]
struct CountryField(Option<CountryCode>);

impl<'de> Deserialize<'de> for CountryField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CountryField;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a country map or a country code")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<CountryField, E> {
                Ok(CountryField(CountryCode::from_record(s)))
            }

            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<CountryField, M::Error> {
                let mut iso = None;
                while let Some(k) = m.next_key::<&'de str>()? {
                    if k == "iso_code" {
                        iso = m.next_value::<CountryField>()?.0;
                    } else {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(CountryField(iso))
            }
        }
        d.deserialize_any(V)
    }
}

/// `asn`: a number, or ipinfo's `"AS13335"` string (`""` means none).
#[derive(Debug)]
struct AsnField(Option<u32>);

impl<'de> Deserialize<'de> for AsnField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AsnField;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AS number or a string such as \"AS13335\"")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AsnField, E> {
                u32::try_from(v)
                    .map(|n| AsnField(Some(n)))
                    .map_err(|_| E::custom(format!("AS number {v} out of range")))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<AsnField, E> {
                let t = s.trim();
                if t.is_empty() {
                    return Ok(AsnField(None));
                }
                let digits = t
                    .strip_prefix("AS")
                    .or_else(|| t.strip_prefix("as"))
                    .unwrap_or(t);
                digits
                    .parse::<u32>()
                    .map(|n| AsnField(Some(n)))
                    .map_err(|_| E::custom(format!("bad AS number `{s}`")))
            }
        }
        d.deserialize_any(V)
    }
}

/// The databases a rule set's `asns` and `countries` expand through:
/// `asn_db` (ip2asn TSV, both kinds) or `country_mmdb` / `asn_mmdb`.
#[derive(Debug, Default)]
pub struct GeoSources {
    /// ip2asn-style TSV (`asn_db`).
    pub tsv: Option<(PathBuf, AsnDb)>,
    /// Country database (`country_mmdb`).
    pub country: Option<GeoDb>,
    /// ASN database (`asn_mmdb`).
    pub asn: Option<GeoDb>,
}

/// Expansions of the keys a rule set names (see [`GeoSources::expand`]).
#[derive(Debug, Default)]
pub struct GeoTables {
    /// Prefixes per upper-case country code.
    pub countries: HashMap<String, Vec<Cidr>>,
    /// Prefixes per AS number.
    pub asns: HashMap<u32, Vec<Cidr>>,
}

impl GeoSources {
    /// Opens the databases `rs` names. `asn_db` cannot be combined with
    /// the MaxMind databases (one source per kind), and each MaxMind file
    /// must hold the kind of data its field is for.
    pub fn load(rs: &RuleSet) -> Result<Self, Error> {
        if rs.asn_db.is_some() && (rs.country_mmdb.is_some() || rs.asn_mmdb.is_some()) {
            return Err(Self::mixed());
        }
        let mut s = GeoSources::default();
        if let Some(p) = &rs.asn_db {
            s.tsv = Some((p.clone(), AsnDb::load(p)?));
        }
        if let Some(p) = &rs.country_mmdb {
            let db = GeoDb::open(p)?;
            db.require(GeoData::Country)?;
            s.country = Some(db);
        }
        if let Some(p) = &rs.asn_mmdb {
            let db = GeoDb::open(p)?;
            db.require(GeoData::Asn)?;
            s.asn = Some(db);
        }
        Ok(s)
    }

    fn mixed() -> Error {
        Error::Compile(
            "`asn_db` (TSV) expands both ASNs and countries: it cannot be combined with \
             `country_mmdb` or `asn_mmdb`"
                .into(),
        )
    }

    /// The file `countries` expand through, when there is one.
    pub fn country_source(&self) -> Option<&Path> {
        match (&self.country, &self.tsv) {
            (Some(db), _) => Some(db.path()),
            (None, Some((p, _))) => Some(p),
            (None, None) => None,
        }
    }

    /// The file `asns` expand through, when there is one.
    pub fn asn_source(&self) -> Option<&Path> {
        match (&self.asn, &self.tsv) {
            (Some(db), _) => Some(db.path()),
            (None, Some((p, _))) => Some(p),
            (None, None) => None,
        }
    }

    /// True when country codes must be assigned ISO codes (MaxMind
    /// databases; TSV files may use codes such as `ZZ`).
    pub fn strict_countries(&self) -> bool {
        self.country.is_some()
    }

    /// Expands every key in one pass per database. Countries are
    /// upper-case; with a country MMDB they must already be valid ISO codes.
    pub fn expand(
        &self,
        countries: &BTreeSet<String>,
        asns: &BTreeSet<u32>,
    ) -> Result<GeoTables, Error> {
        if self.tsv.is_some() && (self.country.is_some() || self.asn.is_some()) {
            return Err(Self::mixed());
        }
        let mut t = GeoTables::default();
        if let Some(db) = &self.country {
            let codes = countries
                .iter()
                .map(|c| CountryCode::new(c))
                .collect::<Result<BTreeSet<_>, _>>()?;
            t.countries = db
                .country_prefixes(&codes)?
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect();
        }
        if let Some(db) = &self.asn {
            t.asns = db.asn_prefixes(asns)?;
        }
        if let Some((_, db)) = &self.tsv {
            let (a, c) = db.expand(asns, countries);
            t.asns = a;
            t.countries = c;
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests;
