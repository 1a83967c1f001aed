//! The [`Waf`]: one immutable, shareable inspector of HTTP requests.

use wafio_crs::request::{HttpRequest, RequestData, RequestLimits};
use wafio_detect::{DetectorKind, DetectorSet, Finding};

use crate::decision::{Decision, DecisionConfig, Mode};

/// A detector finding together with where in the request it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct LocatedFinding {
    /// ModSecurity-style location: `ARGS_GET:id`, `REQUEST_HEADERS:User-Agent`, …
    pub location: String,
    /// What the detector reported.
    pub finding: Finding,
}

/// The verdict on one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Block, log or pass.
    pub decision: Decision,
    /// Score on the 0–10 scale (see [`DecisionConfig`]).
    pub score: f32,
    /// Every finding, in the order the request's locations were inspected.
    pub findings: Vec<LocatedFinding>,
    /// The body processor's error, when the body could not be parsed as its
    /// Content-Type says (ModSecurity's `REQBODY_ERROR_MSG`).
    pub body_error: Option<String>,
}

/// The WAF: the semantic detectors over every request location, weighed by
/// the decision engine. Immutable after [`WafBuilder::build`]; share it
/// across threads behind an `Arc`.
///
/// ```
/// use wafio_crs::request::HttpRequest;
/// use wafio_proxy::{Decision, Waf};
///
/// let waf = Waf::builder().build();
/// let raw = b"GET /item?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: a.example\r\n\r\n";
/// let req = HttpRequest::parse(raw, waf.request_limits()).unwrap();
/// let verdict = waf.inspect(&req);
/// assert_eq!(verdict.decision, Decision::Block);
/// assert_eq!(verdict.findings[0].location, "ARGS_GET:id");
/// ```
#[derive(Debug)]
pub struct Waf {
    detectors: DetectorSet,
    decision: DecisionConfig,
    mode: Mode,
    limits: RequestLimits,
}

impl Waf {
    /// A builder with the defaults: all eight detectors, mode `block`,
    /// threshold 5.0, default request limits.
    pub fn builder() -> WafBuilder {
        WafBuilder {
            detectors: DetectorKind::ALL.to_vec(),
            decision: DecisionConfig::default(),
            mode: Mode::Block,
            limits: RequestLimits::default(),
        }
    }

    /// The limits requests are parsed with.
    pub fn request_limits(&self) -> &RequestLimits {
        &self.limits
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Inspects one request: every location the request model lists (path,
    /// query and form arguments and their names, JSON and XML leaves,
    /// multipart fields and file names, cookies, headers) goes through the
    /// detectors once.
    pub fn inspect(&self, req: &HttpRequest) -> Verdict {
        if self.mode == Mode::Off {
            return Verdict {
                decision: Decision::Pass,
                score: 0.0,
                findings: Vec::new(),
                body_error: None,
            };
        }
        let data = RequestData::from_request(req, &self.limits);
        let mut findings = Vec::new();
        let mut scratch = Vec::new();
        for (location, value) in data.locations() {
            self.detectors.scan_into(value, &mut scratch);
            for finding in scratch.drain(..) {
                findings.push(LocatedFinding {
                    location: location.to_string(),
                    finding,
                });
            }
        }
        let score = self.decision.score(
            findings
                .iter()
                .map(|f| (f.finding.detector, f.finding.confidence)),
        );
        Verdict {
            decision: self.decision.decide(score, self.mode),
            score,
            findings,
            body_error: data.reqbody_error.then(|| data.reqbody_error_msg.clone()),
        }
    }
}

/// Builds a [`Waf`].
#[derive(Clone, Debug)]
pub struct WafBuilder {
    detectors: Vec<DetectorKind>,
    decision: DecisionConfig,
    mode: Mode,
    limits: RequestLimits,
}

impl WafBuilder {
    /// Runs exactly these detectors (default: all eight).
    pub fn detectors(mut self, kinds: &[DetectorKind]) -> Self {
        self.detectors = kinds.to_vec();
        self
    }

    /// Block, detect (log only) or off.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Block threshold on the 0–10 score (default 5.0).
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.decision.threshold = threshold;
        self
    }

    /// Replaces the whole decision configuration.
    pub fn decision(mut self, decision: DecisionConfig) -> Self {
        self.decision = decision;
        self
    }

    /// Request parsing limits.
    pub fn request_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Builds the WAF.
    pub fn build(self) -> Waf {
        Waf {
            detectors: DetectorSet::builder().only(&self.detectors).build(),
            decision: self.decision,
            mode: self.mode,
            limits: self.limits,
        }
    }
}

/// A GET request carrying `value` as the one query parameter `value`, the
/// way `wafio scan --values` inspects a line: the value is taken as sent
/// (URL-encoded), so the request model decodes it once as it decodes any
/// query argument; `&` and `#` in it are literal characters of the one
/// value and are escaped before it joins the URI.
pub fn query_value_request(value: &str) -> HttpRequest {
    let mut uri = String::with_capacity(value.len() + 16);
    uri.push_str("/?value=");
    for c in value.chars() {
        match c {
            '&' => uri.push_str("%26"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    HttpRequest {
        method: "GET".to_string(),
        uri,
        version: "HTTP/1.1".to_string(),
        headers: vec![("Host".to_string(), b"localhost".to_vec())],
        body: Default::default(),
    }
}
