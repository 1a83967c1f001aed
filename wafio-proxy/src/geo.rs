//! GeoIP country and AS-number blocking with MaxMind-format databases
//! (`wafio_xdp::geo::GeoDb`: GeoLite2/GeoIP2, DB-IP, ipinfo), on the client
//! address, before anything else is done with a request.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::WafError;

/// The `[geo]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeoConfig {
    /// Country database (GeoLite2/GeoIP2-Country or -City, DB-IP, ipinfo).
    pub country_mmdb: Option<PathBuf>,
    /// ASN database (GeoLite2-ASN, GeoIP2-ISP, DB-IP ASN, ipinfo).
    pub asn_mmdb: Option<PathBuf>,
    /// Countries (ISO 3166-1 alpha-2) whose clients are blocked.
    pub block_countries: Vec<String>,
    /// When not empty, clients located in any other country are blocked
    /// (clients the database does not place, such as private addresses,
    /// pass). Exclusive with `block_countries`.
    pub allow_countries: Vec<String>,
    /// AS numbers whose clients are blocked.
    pub block_asns: Vec<u32>,
}

impl GeoConfig {
    /// Whether any geo rule is configured.
    pub fn is_set(&self) -> bool {
        self.country_mmdb.is_some()
            || self.asn_mmdb.is_some()
            || !self.block_countries.is_empty()
            || !self.allow_countries.is_empty()
            || !self.block_asns.is_empty()
    }
}

/// Why a client is geo-blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GeoHit {
    /// The client's country, if the database knows it.
    pub(crate) country: Option<String>,
    /// The client's AS number, if the database knows it.
    pub(crate) asn: Option<u32>,
    /// `country` or `asn`.
    pub(crate) reason: &'static str,
}

#[cfg(feature = "xdp")]
mod imp {
    use std::collections::HashSet;

    use wafio_xdp::geo::{GeoData, GeoDb};
    use wafio_xdp::CountryCode;

    use super::*;

    /// The loaded databases and rules.
    #[derive(Debug)]
    pub(crate) struct GeoFilter {
        country_db: Option<GeoDb>,
        asn_db: Option<GeoDb>,
        countries: HashSet<CountryCode>,
        allow: bool,
        asns: HashSet<u32>,
    }

    fn codes(key: &str, list: &[String]) -> Result<HashSet<CountryCode>, WafError> {
        list.iter()
            .enumerate()
            .map(|(i, c)| {
                CountryCode::new(c).map_err(|e| WafError::Invalid {
                    key: format!("{key}[{i}]"),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    fn open(key: &str, path: &std::path::Path, what: GeoData) -> Result<GeoDb, WafError> {
        let err = |e: wafio_xdp::Error| WafError::Invalid {
            key: key.to_string(),
            reason: e.to_string(),
        };
        let db = GeoDb::open(path).map_err(err)?;
        db.require(what).map_err(err)?;
        Ok(db)
    }

    impl GeoFilter {
        /// Validates the rules and reads the databases; `None` when no geo
        /// rule is configured.
        pub(crate) fn load(cfg: &GeoConfig) -> Result<Option<GeoFilter>, WafError> {
            super::check(cfg)?;
            if !cfg.is_set() {
                return Ok(None);
            }
            let (countries, allow) = if cfg.allow_countries.is_empty() {
                (codes("geo.block_countries", &cfg.block_countries)?, false)
            } else {
                (codes("geo.allow_countries", &cfg.allow_countries)?, true)
            };
            let country_db = match &cfg.country_mmdb {
                Some(p) => Some(open("geo.country_mmdb", p, GeoData::Country)?),
                None => None,
            };
            let asn_db = match &cfg.asn_mmdb {
                Some(p) => Some(open("geo.asn_mmdb", p, GeoData::Asn)?),
                None => None,
            };
            Ok(Some(GeoFilter {
                country_db,
                asn_db,
                countries,
                allow,
                asns: cfg.block_asns.iter().copied().collect(),
            }))
        }

        /// The reason `client` is blocked, if it is. A lookup error (a
        /// corrupt record) counts as an unknown address.
        pub(crate) fn check(&self, client: IpAddr) -> Option<GeoHit> {
            let country = self
                .country_db
                .as_ref()
                .and_then(|db| db.country(client).ok().flatten());
            if let Some(c) = country {
                if self.countries.contains(&c) != self.allow {
                    return Some(GeoHit {
                        country: Some(c.as_str().to_string()),
                        asn: None,
                        reason: "country",
                    });
                }
            }
            if !self.asns.is_empty() {
                let asn = self
                    .asn_db
                    .as_ref()
                    .and_then(|db| db.asn_number(client).ok().flatten());
                if let Some(n) = asn.filter(|n| self.asns.contains(n)) {
                    return Some(GeoHit {
                        country: country.map(|c| c.as_str().to_string()),
                        asn: Some(n),
                        reason: "asn",
                    });
                }
            }
            None
        }
    }
}

#[cfg(not(feature = "xdp"))]
mod imp {
    use super::*;

    /// Without the `xdp` feature there is no MMDB reader: any geo rule is
    /// refused.
    #[derive(Debug)]
    pub(crate) struct GeoFilter;

    impl GeoFilter {
        pub(crate) fn load(cfg: &GeoConfig) -> Result<Option<GeoFilter>, WafError> {
            super::check(cfg)?;
            if cfg.is_set() {
                return Err(WafError::Invalid {
                    key: "geo".into(),
                    reason: "this build has no MaxMind DB support (cargo feature `xdp`)".into(),
                });
            }
            Ok(None)
        }

        pub(crate) fn check(&self, _client: IpAddr) -> Option<GeoHit> {
            None
        }
    }
}

pub(crate) use imp::GeoFilter;

/// The checks that need no database.
fn check(cfg: &GeoConfig) -> Result<(), WafError> {
    let bad = |key: &str, reason: &str| {
        Err(WafError::Invalid {
            key: format!("geo.{key}"),
            reason: reason.to_string(),
        })
    };
    if !cfg.block_countries.is_empty() && !cfg.allow_countries.is_empty() {
        return bad(
            "allow_countries",
            "set either block_countries or allow_countries, not both",
        );
    }
    let countries = !cfg.block_countries.is_empty() || !cfg.allow_countries.is_empty();
    if countries && cfg.country_mmdb.is_none() {
        return bad("country_mmdb", "country rules need a country database");
    }
    if !countries && cfg.country_mmdb.is_some() {
        return bad(
            "country_mmdb",
            "no block_countries or allow_countries use this database",
        );
    }
    if !cfg.block_asns.is_empty() && cfg.asn_mmdb.is_none() {
        return bad("asn_mmdb", "block_asns needs an ASN database");
    }
    if cfg.block_asns.is_empty() && cfg.asn_mmdb.is_some() {
        return bad("asn_mmdb", "no block_asns use this database");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_without_databases_are_refused() {
        let e = |cfg: GeoConfig| GeoFilter::load(&cfg).unwrap_err().to_string();
        assert!(e(GeoConfig {
            block_countries: vec!["DE".into()],
            ..GeoConfig::default()
        })
        .contains("geo.country_mmdb"));
        assert!(e(GeoConfig {
            block_asns: vec![64496],
            ..GeoConfig::default()
        })
        .contains("geo.asn_mmdb"));
        assert!(e(GeoConfig {
            asn_mmdb: Some("x.mmdb".into()),
            ..GeoConfig::default()
        })
        .contains("no block_asns"));
        assert!(e(GeoConfig {
            country_mmdb: Some("x.mmdb".into()),
            block_countries: vec!["DE".into()],
            allow_countries: vec!["FR".into()],
            ..GeoConfig::default()
        })
        .contains("geo.allow_countries"));
        assert!(GeoFilter::load(&GeoConfig::default()).unwrap().is_none());
    }
}
