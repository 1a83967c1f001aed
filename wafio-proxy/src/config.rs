//! Configuration: one TOML file for the WAF and the proxy.
//!
//! Every table refuses unknown keys; a bad file is refused with the file
//! name, the line, the column and the key (the `toml` crate's spans).
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! upstream = "http://127.0.0.1:3000"
//! admin_listen = "127.0.0.1:9901"   # /metrics and /healthz; omit to serve them on `listen`
//! body_limit = 1048576              # bytes buffered and inspected
//! over_limit = "reject"             # or "stream": forward the rest uninspected
//! header_timeout_ms = 10000
//! body_timeout_ms = 30000
//! idle_timeout_ms = 60000
//! upstream_timeout_ms = 30000
//! audit_log = "-"                   # stdout, or a file path (appended)
//! trusted_proxies = ["10.0.0.0/8"]  # peers whose X-Forwarded-For names the client
//!
//! [rate_limit]                       # per client address, token bucket
//! enabled = true                    # the default limit below; routes may set their own
//! requests_per_second = 50.0
//! burst = 100
//! max_clients = 100000
//! ipv6_prefix = 64
//!
//! [geo]                              # needs the `xdp` cargo feature (default)
//! country_mmdb = "GeoLite2-Country.mmdb"
//! block_countries = ["KP"]          # or allow_countries = [...]
//! asn_mmdb = "GeoLite2-ASN.mmdb"
//! block_asns = [64496]
//!
//! [offenders]                        # repeat offenders to the XDP block list
//! enabled = true
//! window_secs = 60
//! max_blocks = 10
//! ttl_secs = 600
//! xdp_iface = "eth0"                # a running `wafio xdp attach eth0`; omit: audit only
//!
//! [tls]                              # optional: terminate TLS (ALPN h2, http/1.1)
//! cert = "cert.pem"
//! key = "key.pem"
//!
//! [waf]
//! mode = "block"                    # block | detect | off
//! threshold = 5.0
//! detectors = ["sqli", "xss"]       # default: all eight
//! crs_dir = "/etc/crs"              # optional
//! paranoia = 1
//! crs_threshold = 5
//!
//! [waf.bot]                          # on by default
//! enabled = true
//! extra_scanners = ["evilscan"]
//! scanner_confidence = 0.9
//! browser_headers_confidence = 0.3
//! no_user_agent_confidence = 0.1
//!
//! [waf.response]                     # CRS phases 3-4 on upstream responses; needs crs_dir
//! enabled = true
//! threshold = 4                     # CRS outbound anomaly threshold
//! body_limit = 1048576              # longer bodies stream uninspected
//! block_status = 403
//! mime_types = ["text/html", "text/plain", "text/xml", "application/json"]
//!
//! [[waf.routes]]
//! host = "api.example"              # optional
//! path_prefix = "/login"
//! mode = "detect"
//! exclude_args = ["password"]
//! exclude_headers = ["X-Token"]
//! disable_rules = [942100]
//! disable_detectors = ["xss", "bot"]
//! rate_limit = { requests_per_second = 2.0, burst = 5 }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wafio_detect::DetectorKind;

use crate::bot::BotConfig;
use crate::clientip::TrustedProxies;
use crate::decision::{DecisionConfig, Mode};
use crate::geo::{GeoConfig, GeoFilter};
use crate::offender::OffenderConfig;
use crate::ratelimit::{RateLimitConfig, RateSpec};
use crate::route::Route;
use crate::waf::{Crs, Waf, DEFAULT_RESPONSE_MIME_TYPES};

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum WafError {
    /// A key has a value the WAF cannot use.
    #[error("invalid `{key}`: {reason}")]
    Invalid {
        /// The key, dotted (`waf.routes[0].mode`).
        key: String,
        /// Why.
        reason: String,
    },
    /// The CRS directory does not load.
    #[error("CRS in {dir} does not load:\n{reason}")]
    Crs {
        /// The directory.
        dir: String,
        /// The engine's error (file, line, column).
        reason: String,
    },
    /// The configuration file cannot be read or parsed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// The I/O error or the TOML error with line, column and key.
        reason: String,
    },
}

/// The `[waf]` table: detectors, CRS, decision, routes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WafConfig {
    /// `block` (default), `detect` or `off`.
    pub mode: Mode,
    /// Block threshold on the 0–10 score (default 5.0).
    pub threshold: f32,
    /// Detector names to run (default: all eight).
    pub detectors: Vec<String>,
    /// Per-detector weights in 0–1 by name (default 1.0 each).
    pub weights: BTreeMap<String, f32>,
    /// CRS directory; no CRS when absent.
    pub crs_dir: Option<PathBuf>,
    /// CRS blocking paranoia level 1–4 (default 1).
    pub paranoia: u8,
    /// CRS inbound anomaly threshold the CRS score is normalised by (default 5).
    pub crs_threshold: u32,
    /// Per-route overrides.
    pub routes: Vec<RouteConfig>,
    /// Bot protection.
    pub bot: BotConfig,
    /// Response inspection (CRS phases 3–4).
    pub response: ResponseConfig,
}

/// The `[waf.response]` table: the CRS response phases on upstream
/// responses (used by the proxy).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseConfig {
    /// Inspect responses (default off; needs `crs_dir`).
    pub enabled: bool,
    /// CRS outbound anomaly threshold: a response scoring this much is
    /// blocked (default 4, the CRS default).
    pub threshold: u32,
    /// Response body bytes buffered and inspected (default 1 MiB); a longer
    /// body streams to the client uninspected (phase 3 still runs).
    pub body_limit: usize,
    /// Status sent instead of a blocked response (default 403).
    pub block_status: u16,
    /// Content types whose bodies are buffered and inspected (default
    /// `text/plain`, `text/html`, `text/xml`, `application/json`).
    /// Compressed bodies (`Content-Encoding` other than `identity`) are not
    /// buffered: only phase 3 (status, headers) sees those responses.
    pub mime_types: Vec<String>,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        ResponseConfig {
            enabled: false,
            threshold: 4,
            body_limit: 1024 * 1024,
            block_status: 403,
            mime_types: DEFAULT_RESPONSE_MIME_TYPES
                .iter()
                .map(|m| m.to_string())
                .collect(),
        }
    }
}

impl ResponseConfig {
    fn validate(&self) -> Result<(), WafError> {
        let bad = |key: &str, reason: String| WafError::Invalid {
            key: format!("waf.response.{key}"),
            reason,
        };
        if !(1..=1000).contains(&self.threshold) {
            return Err(bad(
                "threshold",
                format!("{} is not in 1-1000", self.threshold),
            ));
        }
        if !(1..=64 * 1024 * 1024).contains(&self.body_limit) {
            return Err(bad(
                "body_limit",
                format!("{} is not in 1-67108864 bytes", self.body_limit),
            ));
        }
        if !(400..=599).contains(&self.block_status) {
            return Err(bad(
                "block_status",
                format!("{} is not a 4xx or 5xx status", self.block_status),
            ));
        }
        if self.mime_types.is_empty() {
            return Err(bad("mime_types", "must name at least one type".into()));
        }
        for (i, m) in self.mime_types.iter().enumerate() {
            if !crate::waf::is_mime_type(m) {
                return Err(bad(
                    &format!("mime_types[{i}]"),
                    format!("{m:?} is not a lower-case type/subtype"),
                ));
            }
        }
        Ok(())
    }
}

impl Default for WafConfig {
    fn default() -> Self {
        WafConfig {
            mode: Mode::Block,
            threshold: 5.0,
            detectors: DetectorKind::ALL
                .iter()
                .map(|k| k.name().to_string())
                .collect(),
            weights: BTreeMap::new(),
            crs_dir: None,
            paranoia: 1,
            crs_threshold: 5,
            routes: Vec::new(),
            bot: BotConfig::default(),
            response: ResponseConfig::default(),
        }
    }
}

/// One `[[waf.routes]]` entry; see [`Route`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Host (no port), or every host.
    #[serde(default)]
    pub host: Option<String>,
    /// Path prefix (default `/`).
    #[serde(default = "slash")]
    pub path_prefix: String,
    /// Mode override.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Threshold override.
    #[serde(default)]
    pub threshold: Option<f32>,
    /// Parameters not inspected.
    #[serde(default)]
    pub exclude_args: Vec<String>,
    /// Headers not inspected.
    #[serde(default)]
    pub exclude_headers: Vec<String>,
    /// CRS rule ids disabled.
    #[serde(default)]
    pub disable_rules: Vec<u64>,
    /// Detector names disabled (`bot` turns bot protection off).
    #[serde(default)]
    pub disable_detectors: Vec<String>,
    /// Per-client rate limit of this route instead of `[rate_limit]`'s.
    #[serde(default)]
    pub rate_limit: Option<RateSpec>,
}

fn slash() -> String {
    "/".to_string()
}

fn detector(key: &str, name: &str) -> Result<DetectorKind, WafError> {
    DetectorKind::from_name(name).ok_or_else(|| WafError::Invalid {
        key: key.to_string(),
        reason: format!(
            "unknown detector {name:?} (expected one of sqli, xss, cmdi, lfi, ssrf, java, php, python)"
        ),
    })
}

fn threshold(key: &str, t: f32) -> Result<f32, WafError> {
    if (0.0..=10.0).contains(&t) {
        Ok(t)
    } else {
        Err(WafError::Invalid {
            key: key.to_string(),
            reason: format!("{t} is not on the 0-10 scale"),
        })
    }
}

impl WafConfig {
    /// Builds the WAF, loading the CRS when `crs_dir` is set.
    pub fn build(&self) -> Result<Waf, WafError> {
        self.response.validate()?;
        let crs = match &self.crs_dir {
            Some(dir) => Some(Arc::new(Crs::from_dir_with_mime(
                dir,
                self.paranoia,
                self.crs_threshold,
                &self.response.mime_types,
            )?)),
            None => None,
        };
        self.build_with_crs(crs)
    }

    /// Builds the WAF with an already loaded CRS (a reload whose `crs_dir`
    /// and `paranoia` did not change reuses the compiled rules).
    pub fn build_with_crs(&self, crs: Option<Arc<Crs>>) -> Result<Waf, WafError> {
        let detectors = self
            .detectors
            .iter()
            .map(|n| detector("waf.detectors", n))
            .collect::<Result<Vec<_>, _>>()?;
        let mut decision = DecisionConfig {
            threshold: threshold("waf.threshold", self.threshold)?,
            ..DecisionConfig::default()
        };
        for (name, w) in &self.weights {
            let kind = detector(&format!("waf.weights.{name}"), name)?;
            if !(0.0..=1.0).contains(w) {
                return Err(WafError::Invalid {
                    key: format!("waf.weights.{name}"),
                    reason: format!("{w} is not in 0-1"),
                });
            }
            decision.set_weight(kind, *w);
        }
        self.response.validate()?;
        let mut builder = Waf::builder()
            .detectors(&detectors)
            .mode(self.mode)
            .decision(decision)
            .bot(&self.bot)?;
        if self.response.enabled {
            if crs.is_none() {
                return Err(WafError::Invalid {
                    key: "waf.response.enabled".into(),
                    reason: "response inspection runs the CRS response rules: set waf.crs_dir"
                        .into(),
                });
            }
            builder = builder.response_inspection(self.response.threshold);
        }
        if let Some(crs) = crs {
            builder = builder.crs(crs);
        }
        for (i, r) in self.routes.iter().enumerate() {
            let key = format!("waf.routes[{i}]");
            if !r.path_prefix.starts_with('/') {
                return Err(WafError::Invalid {
                    key: format!("{key}.path_prefix"),
                    reason: format!("{:?} does not start with `/`", r.path_prefix),
                });
            }
            let route = Route {
                host: r.host.clone(),
                path_prefix: r.path_prefix.clone(),
                mode: r.mode,
                threshold: match r.threshold {
                    Some(t) => Some(threshold(&format!("{key}.threshold"), t)?),
                    None => None,
                },
                exclude_args: r.exclude_args.clone(),
                exclude_headers: r.exclude_headers.clone(),
                disable_rules: r.disable_rules.clone(),
                disable_detectors: r
                    .disable_detectors
                    .iter()
                    .filter(|n| n.as_str() != "bot")
                    .map(|n| detector(&format!("{key}.disable_detectors"), n))
                    .collect::<Result<_, _>>()?,
                disable_bot: r.disable_detectors.iter().any(|n| n == "bot"),
                rate_limit: match r.rate_limit {
                    Some(spec) => {
                        spec.validate(&format!("{key}.rate_limit"))?;
                        Some(spec)
                    }
                    None => None,
                },
            };
            builder = builder.route(route);
        }
        Ok(builder.build())
    }
}

/// What to do with a request body longer than [`ProxyConfig::body_limit`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverLimit {
    /// Answer 413.
    #[default]
    Reject,
    /// Inspect the first `body_limit` bytes, forward the rest uninspected.
    Stream,
}

/// TLS termination: PEM certificate chain and private key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM, PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The whole configuration file of the proxy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyConfig {
    /// Listen address (default 127.0.0.1:8080).
    pub listen: SocketAddr,
    /// Upstream base URL, `http://host:port` (default http://127.0.0.1:3000).
    pub upstream: String,
    /// Admin listener for `/metrics` and `/healthz`; when absent they are
    /// answered on `listen` (and never forwarded).
    pub admin_listen: Option<SocketAddr>,
    /// Request body bytes buffered and inspected (default 1 MiB).
    pub body_limit: usize,
    /// Reject (413, default) or stream bodies over the limit.
    pub over_limit: OverLimit,
    /// Time to receive a request's headers (default 10 s).
    pub header_timeout_ms: u64,
    /// Time to receive the inspected part of a body (default 30 s).
    pub body_timeout_ms: u64,
    /// A connection with no byte read or written for this long is closed
    /// (default 60 s; keep it above `upstream_timeout_ms`).
    pub idle_timeout_ms: u64,
    /// Time for the upstream to answer with headers (default 30 s; 504 after).
    pub upstream_timeout_ms: u64,
    /// `-` for stdout (default) or a file appended with one JSON line per
    /// blocked or logged request.
    pub audit_log: String,
    /// TLS termination.
    pub tls: Option<TlsConfig>,
    /// Peers (addresses or CIDR prefixes) whose `X-Forwarded-For` is
    /// believed: for a request from one of them the client is the first
    /// address of that header, from the right, that is not trusted.
    /// Default none: the client is the TCP peer.
    pub trusted_proxies: Vec<String>,
    /// Per-client rate limiting.
    pub rate_limit: RateLimitConfig,
    /// Repeat offenders to the XDP block list.
    pub offenders: OffenderConfig,
    /// GeoIP country / ASN blocking.
    pub geo: GeoConfig,
    /// The WAF.
    pub waf: WafConfig,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upstream: "http://127.0.0.1:3000".to_string(),
            admin_listen: None,
            body_limit: 1024 * 1024,
            over_limit: OverLimit::Reject,
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            upstream_timeout_ms: 30_000,
            audit_log: "-".to_string(),
            tls: None,
            trusted_proxies: Vec::new(),
            rate_limit: RateLimitConfig::default(),
            offenders: OffenderConfig::default(),
            geo: GeoConfig::default(),
            waf: WafConfig::default(),
        }
    }
}

impl ProxyConfig {
    /// Parses a TOML document; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<ProxyConfig, WafError> {
        let config: ProxyConfig = toml::from_str(text).map_err(|e| WafError::File {
            path: origin.to_string(),
            reason: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<ProxyConfig, WafError> {
        let text = std::fs::read_to_string(path).map_err(|e| WafError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        ProxyConfig::from_toml(&text, &path.display().to_string())
    }

    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), WafError> {
        let uri: http::Uri = self.upstream.parse().map_err(|e| WafError::Invalid {
            key: "upstream".into(),
            reason: format!("{:?}: {e}", self.upstream),
        })?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(WafError::Invalid {
                key: "upstream".into(),
                reason: format!("{:?} is not an http://host:port URL", self.upstream),
            });
        }
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(WafError::Invalid {
                key: "upstream".into(),
                reason: "a path prefix on the upstream is not supported".into(),
            });
        }
        for (key, v) in [
            ("header_timeout_ms", self.header_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("upstream_timeout_ms", self.upstream_timeout_ms),
        ] {
            if v == 0 {
                return Err(WafError::Invalid {
                    key: key.into(),
                    reason: "must be at least 1 ms".into(),
                });
            }
        }
        if self.body_limit == 0 {
            return Err(WafError::Invalid {
                key: "body_limit".into(),
                reason: "must be at least 1 byte".into(),
            });
        }
        self.trusted_proxies()?;
        self.rate_limit.validate()?;
        self.offenders.validate()?;
        self.waf.response.validate()?;
        Ok(())
    }

    /// Reads the GeoIP databases (`None` without geo rules).
    pub(crate) fn geo_filter(&self) -> Result<Option<GeoFilter>, WafError> {
        GeoFilter::load(&self.geo)
    }

    pub(crate) fn trusted_proxies(&self) -> Result<TrustedProxies, WafError> {
        TrustedProxies::parse(&self.trusted_proxies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults() {
        let c = ProxyConfig::from_toml("", "t.toml").unwrap();
        assert_eq!(c, ProxyConfig::default());
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = ProxyConfig::from_toml(
            "listen = \"127.0.0.1:1\"\n[waf]\nmdoe = \"block\"\n",
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("t.toml: "), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("mdoe"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = ProxyConfig::from_toml("[waf]\nmode = \"maybe\"\n", "t.toml").unwrap_err();
        assert!(err.to_string().contains("maybe"), "{err}");
        let err = ProxyConfig::from_toml("upstream = \"ftp://x\"\n", "t.toml").unwrap_err();
        assert!(err.to_string().contains("invalid `upstream`"), "{err}");
        let c = ProxyConfig::from_toml("[waf]\ndetectors = [\"sqlx\"]\n", "t.toml").unwrap();
        let err = c.waf.build().unwrap_err();
        assert!(err.to_string().contains("waf.detectors"), "{err}");
        let c = ProxyConfig::from_toml("[[waf.routes]]\npath_prefix = \"api\"\n", "t").unwrap();
        let err = c.waf.build().unwrap_err().to_string();
        assert!(err.contains("waf.routes[0].path_prefix"), "{err}");
        let c = ProxyConfig::from_toml("[waf]\nparanoia = 7\ncrs_dir = \"/x\"\n", "t").unwrap();
        assert!(c.waf.build().unwrap_err().to_string().contains("paranoia"));
    }

    #[test]
    fn routes_override_mode_and_exclude() {
        let c = ProxyConfig::from_toml(
            "[waf]\n[[waf.routes]]\npath_prefix = \"/search\"\nmode = \"detect\"\n\
             [[waf.routes]]\npath_prefix = \"/login\"\nexclude_args = [\"password\"]\n",
            "t",
        )
        .unwrap();
        let waf = c.waf.build().unwrap();
        let limits = waf.request_limits().clone();
        let attack = "1%27%20OR%20%271%27%3D%271";
        let parse =
            |t: String| wafio_crs::request::HttpRequest::parse(t.as_bytes(), &limits).unwrap();
        let v = waf.inspect(&parse(format!(
            "GET /search?q={attack} HTTP/1.1\r\nHost: a\r\n\r\n"
        )));
        assert_eq!(v.decision, crate::Decision::Log);
        let v = waf.inspect(&parse(format!(
            "GET /login?password={attack} HTTP/1.1\r\nHost: a\r\n\r\n"
        )));
        assert_eq!(v.decision, crate::Decision::Pass);
        let v = waf.inspect(&parse(format!(
            "GET /login?user={attack} HTTP/1.1\r\nHost: a\r\n\r\n"
        )));
        assert_eq!(v.decision, crate::Decision::Block);
    }
}
