//! The WAF, as a library: the eight semantic detectors of `wafio-detect`
//! run over every location of a request parsed by `wafio-crs`'s request
//! model, weighed by a decision engine into a score and a verdict.
//!
//! **Status:** the detectors-only [`Waf`] and its decision engine are
//! complete and shared with `wafio scan`. Not yet built: the CRS engine
//! integration, per-route overrides and exclusions, the `tower` layer and
//! the reverse-proxy binary (issue: wafio-proxy).
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

mod decision;
mod waf;

pub use crate::decision::{Decision, DecisionConfig, Mode};
pub use crate::waf::{query_value_request, LocatedFinding, Verdict, Waf, WafBuilder};
