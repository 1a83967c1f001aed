//! The WAF, as a library and a reverse proxy: the eight semantic detectors
//! of `wafio-detect` run over every location of a request parsed by
//! `wafio-crs`'s request model, optionally the OWASP CRS through the
//! `wafio-crs` engine, weighed by a decision engine into a score and a
//! verdict.
//!
//! - [`Waf`]: immutable, `Send + Sync`; build with [`Waf::builder`] or
//!   from a [`WafConfig`] (the `[waf]` table of the TOML configuration).
//! - [`WafLayer`]: a `tower` layer that puts a [`Waf`] in front of any
//!   hyper/axum/tower service in-process.
//! - [`Proxy`]: the reverse proxy behind the `wafio-proxy` binary and
//!   `wafio proxy`.
//!
//! **Scoring.** Detector findings combine as a noisy-OR on a 0–10 scale
//! (see [`DecisionConfig`]); the CRS inbound anomaly score, recomputed
//! from the matched rules the route keeps, is one more signal of
//! confidence `min(1, anomaly / (2 × crs_threshold))` (see
//! [`DecisionConfig::combine_crs`]), so with the defaults a request CRS
//! itself would block (anomaly ≥ 5) scores at least 5.0 and is blocked.
//!
//! **Not built yet:** response inspection (CRS phases 3–4), GeoIP/ASN
//! blocking, bot protection, rate limiting and pushing offenders to XDP.
//!
//! ```
//! use wafio_crs::request::HttpRequest;
//! use wafio_proxy::{Decision, Waf};
//!
//! let waf = Waf::builder().build();
//! let req = HttpRequest::parse(b"GET /?q=hello HTTP/1.1\r\nHost: a\r\n\r\n", waf.request_limits()).unwrap();
//! assert_eq!(waf.inspect(&req).decision, Decision::Pass);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
mod config;
mod decision;
mod layer;
mod proxy;
mod route;
mod waf;

pub use crate::config::{OverLimit, ProxyConfig, RouteConfig, TlsConfig, WafConfig, WafError};
pub use crate::decision::{Decision, DecisionConfig, Mode};
pub use crate::layer::{WafLayer, WafService};
pub use crate::proxy::{Proxy, ProxyBody, ProxyError, ProxyHandle};
pub use crate::route::Route;
pub use crate::waf::{
    query_value_request, Crs, LocatedFinding, RequestContext, RuleMatch, Verdict, Waf, WafBuilder,
};
