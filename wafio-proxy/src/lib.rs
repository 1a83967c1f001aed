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
//! **Protections around the inspection** (all in the proxy's TOML, see
//! [`ProxyConfig`]):
//!
//! - *Bot protection* (`[waf.bot]`, on by default): a `User-Agent` naming a
//!   known attack tool ([`SCANNER_AGENTS`], Aho-Corasick, plus
//!   `extra_scanners`) is a strong signal (0.9), a browser agent without
//!   the `Accept`/`Accept-Language` every browser sends a weak one (0.3),
//!   no agent at all a very weak one (0.1); each folds into the score as
//!   one more noisy-OR signal (category `bot`), so only the strong one
//!   blocks on its own and curl or API clients are left alone.
//! - *Rate limiting* (`[rate_limit]`, per-route `rate_limit`): a token
//!   bucket per client address (IPv6 per /64), 429 with `Retry-After`,
//!   bounded by `max_clients` (least recently seen forgotten first). The
//!   client is the TCP peer, or, behind `trusted_proxies`, the right-most
//!   untrusted `X-Forwarded-For` address.
//! - *Response inspection* (`[waf.response]`, needs the CRS): the request's
//!   CRS transaction is kept ([`Waf::inspect_request`], [`PendingResponse`])
//!   and runs phases 3–4 on the upstream's status, headers and body
//!   (buffered up to `body_limit` for the listed content types; longer
//!   bodies stream, counted); an outbound anomaly score at the threshold
//!   (CRS default 4) answers `block_status` instead.
//! - *Repeat offenders* (`[offenders]`): blocks per client in a window; at
//!   `max_blocks` the client goes to an [`OffenderSink`], by default
//!   `XdpOffenderSink` (cargo feature `xdp`): the block list of a running
//!   `wafio xdp` firewall, with a TTL.
//! - *GeoIP/ASN blocking* (`[geo]`, cargo feature `xdp`): the client's
//!   country or AS number, looked up in MaxMind-format databases with
//!   `wafio_xdp::geo::GeoDb`, against `block_countries` (or
//!   `allow_countries`) and `block_asns`; 403 before anything else.
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

mod bot;
pub mod cli;
mod clientip;
mod config;
mod decision;
mod geo;
mod layer;
mod offender;
mod proxy;
mod ratelimit;
mod route;
mod waf;

pub use crate::bot::{BotConfig, BotFinding, BotSignal, SCANNER_AGENTS};
pub use crate::config::{
    OverLimit, ProxyConfig, ResponseConfig, RouteConfig, TlsConfig, WafConfig, WafError,
};
pub use crate::decision::{Decision, DecisionConfig, Mode};
pub use crate::geo::GeoConfig;
pub use crate::layer::{WafLayer, WafService};
#[cfg(feature = "xdp")]
pub use crate::offender::XdpOffenderSink;
pub use crate::offender::{OffenderConfig, OffenderSink};
pub use crate::proxy::{Proxy, ProxyBody, ProxyError, ProxyHandle};
pub use crate::ratelimit::{RateLimitConfig, RateSpec};
pub use crate::route::Route;
pub use crate::waf::{
    query_value_request, Crs, LocatedFinding, PendingResponse, RequestContext, ResponseVerdict,
    RuleMatch, Verdict, Waf, WafBuilder, DEFAULT_RESPONSE_MIME_TYPES,
};
pub use wafio_crs::engine::ResponseData;
