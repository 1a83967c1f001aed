//! The [`Waf`]: one immutable, shareable inspector of HTTP requests.

use std::path::Path;
use std::sync::Arc;

use wafio_crs::engine::Engine;
use wafio_crs::request::{HttpRequest, LocationKind, RequestData, RequestLimits};
use wafio_detect::{DetectorKind, DetectorSet, Finding};

use crate::config::WafError;
use crate::decision::{Decision, DecisionConfig, Mode};
use crate::route::Route;

/// One CRS rule that matched, as the audit log and the verdict report it.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleMatch {
    /// Rule id, e.g. 942100.
    pub id: u64,
    /// The rule's `msg`.
    pub msg: String,
    /// Syslog severity (0 emergency … 7 debug), if the rule has one.
    pub severity: Option<u8>,
    /// The variable that matched, e.g. `ARGS:id`.
    pub variable: String,
    /// The matched value, lossily UTF-8, cut to 128 bytes.
    pub evidence: String,
    /// Threat category from the rule's `attack-*` tag (`sqli`, `xss`,
    /// `cmdi`, `lfi`, `rfi`, `php`, `java`, `protocol`, …), or `other`.
    pub category: String,
    /// Anomaly points this match contributed (critical 5, error 4,
    /// warning 3, notice 2; 0 for rules that do not score).
    pub points: u32,
}

/// The OWASP CRS (or any SecLang rule set) loaded for a [`Waf`]: compiled
/// once, shared between WAF generations across reloads.
#[derive(Debug)]
pub struct Crs {
    engine: Engine,
    paranoia: u8,
    threshold: u32,
}

impl Crs {
    /// Loads a CRS directory (`crs-setup.conf` or its `.example`, then
    /// `rules/*.conf`) at a blocking paranoia level (1–4). The engine runs
    /// in `DetectionOnly` mode with request body access on: the CRS scores,
    /// the [`Waf`]'s decision engine decides. `threshold` is the CRS
    /// inbound anomaly threshold the score is normalised by (CRS default 5).
    pub fn from_dir(dir: &Path, paranoia: u8, threshold: u32) -> Result<Crs, WafError> {
        if !(1..=4).contains(&paranoia) {
            return Err(WafError::Invalid {
                key: "paranoia".into(),
                reason: format!("{paranoia} is not a paranoia level (1-4)"),
            });
        }
        if !dir.join("rules").is_dir() {
            return Err(WafError::Invalid {
                key: "crs_dir".into(),
                reason: format!("{} has no rules/ directory", dir.display()),
            });
        }
        let setup = format!(
            "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\n\
             SecAction \"id:900000,phase:1,pass,nolog,t:none,\
             setvar:tx.blocking_paranoia_level={paranoia},\
             setvar:tx.inbound_anomaly_score_threshold={threshold}\"\n"
        );
        let engine = Engine::builder()
            .rules_before(setup)
            .crs_dir(dir)
            .build()
            .map_err(|e| WafError::Crs {
                dir: dir.display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(Crs {
            engine,
            paranoia,
            threshold: threshold.max(1),
        })
    }

    /// The blocking paranoia level.
    pub fn paranoia(&self) -> u8 {
        self.paranoia
    }
}

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
    /// CRS rules that matched with a message or a score (empty without a
    /// CRS), after route exclusions.
    pub rules: Vec<RuleMatch>,
    /// The CRS inbound anomaly score recomputed from [`Verdict::rules`].
    pub crs_anomaly: u32,
}

impl Verdict {
    fn pass() -> Verdict {
        Verdict {
            decision: Decision::Pass,
            score: 0.0,
            findings: Vec::new(),
            body_error: None,
            rules: Vec::new(),
            crs_anomaly: 0,
        }
    }

    /// The threat categories of the findings and scoring rules, sorted and
    /// deduplicated (detector names; CRS `attack-*` tag suffixes).
    pub fn categories(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .findings
            .iter()
            .map(|f| f.finding.detector.name().to_string())
            .chain(
                self.rules
                    .iter()
                    .filter(|r| r.points > 0)
                    .map(|r| r.category.clone()),
            )
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Who sent a request, for rules that read `REMOTE_ADDR`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestContext<'a> {
    /// The client address (IP, no port), if known.
    pub client: Option<&'a str>,
}

/// The WAF: the semantic detectors over every request location, optionally
/// the CRS ([`WafBuilder::crs`]), per-route overrides and exclusions
/// ([`WafBuilder::route`]), weighed by the decision engine. Immutable after
/// [`WafBuilder::build`]; share it across threads behind an `Arc` (or an
/// `ArcSwap` to replace it on reload, as [`crate::WafLayer`] and the proxy
/// do).
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
/// let sqli = verdict
///     .findings
///     .iter()
///     .find(|f| f.finding.detector == wafio_detect::DetectorKind::Sqli)
///     .unwrap();
/// assert_eq!(sqli.location, "ARGS_GET:id");
/// ```
#[derive(Debug)]
pub struct Waf {
    detectors: DetectorSet,
    decision: DecisionConfig,
    mode: Mode,
    limits: RequestLimits,
    crs: Option<Arc<Crs>>,
    routes: Vec<Route>,
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
            crs: None,
            routes: Vec::new(),
        }
    }

    /// The loaded CRS, if any.
    pub fn crs(&self) -> Option<&Arc<Crs>> {
        self.crs.as_ref()
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
    /// detectors once; then the CRS, if loaded, runs phases 1–2. The route
    /// (by `Host` and path prefix) picks the mode, threshold and exclusions.
    pub fn inspect(&self, req: &HttpRequest) -> Verdict {
        self.inspect_with(req, RequestContext::default())
    }

    /// [`Waf::inspect`] with the client's address.
    pub fn inspect_with(&self, req: &HttpRequest, ctx: RequestContext<'_>) -> Verdict {
        let route = self.route_for(req);
        let mode = route.and_then(|r| r.mode).unwrap_or(self.mode);
        if mode == Mode::Off {
            return Verdict::pass();
        }
        let data = RequestData::from_request(req, &self.limits);
        let mut findings = Vec::new();
        let mut scratch = Vec::new();
        for (location, value) in data.locations() {
            if let Some(route) = route {
                if route.excludes_location(location.kind, location.key) {
                    continue;
                }
            }
            self.detectors.scan_into(value, &mut scratch);
            let address_header = location.kind == LocationKind::RequestHeaders
                && location.key.is_some_and(is_address_header);
            for finding in scratch.drain(..) {
                if route.is_some_and(|r| r.disables_detector(finding.detector)) {
                    continue;
                }
                if address_header && finding.detector == DetectorKind::Ssrf {
                    continue;
                }
                findings.push(LocatedFinding {
                    location: location.to_string(),
                    finding,
                });
            }
        }
        let mut decision = self.decision.clone();
        if let Some(t) = route.and_then(|r| r.threshold) {
            decision.threshold = t;
        }
        let mut score = decision.score(
            findings
                .iter()
                .map(|f| (f.finding.detector, f.finding.confidence)),
        );
        let mut rules = Vec::new();
        let mut crs_anomaly = 0;
        if let Some(crs) = &self.crs {
            let mut tx = crs.engine.transaction(req);
            if let Some(client) = ctx.client {
                tx.set_remote_addr(client);
            }
            tx.process_request();
            for m in tx.matched() {
                if route.is_some_and(|r| r.excludes_rule(m.id, &m.matched_var_name)) {
                    continue;
                }
                let points = if is_scoring_rule(m.id) {
                    severity_points(m.severity)
                } else {
                    0
                };
                crs_anomaly += points;
                // Initialisation and bookkeeping rules (no message, no
                // score) are not worth reporting.
                if points == 0 && (m.msg.is_empty() || !m.logged) {
                    continue;
                }
                rules.push(RuleMatch {
                    id: m.id,
                    msg: m.msg.clone(),
                    severity: m.severity,
                    variable: m.matched_var_name.clone(),
                    evidence: evidence(&m.matched_var),
                    category: category_of(&m.tags),
                    points,
                });
            }
            score = decision.combine_crs(score, crs_anomaly, crs.threshold);
        }
        Verdict {
            decision: decision.decide(score, mode),
            score,
            findings,
            body_error: data.reqbody_error.then(|| data.reqbody_error_msg.clone()),
            rules,
            crs_anomaly,
        }
    }

    /// Inspects one value as the query parameter `value` of a GET request,
    /// the way `wafio scan --values` does: the same verdict as
    /// `inspect(&query_value_request(value))`. Without CRS the synthetic
    /// request's other locations (path `/`, the name `value`, `Host:
    /// localhost`) are constants that carry no input, so only the value is
    /// decoded (as the request model decodes a query argument) and scanned;
    /// with CRS the whole request goes through the engine.
    pub fn inspect_query_value(&self, value: &str) -> Verdict {
        if self.crs.is_some() || !self.routes.is_empty() {
            return self.inspect(&query_value_request(value));
        }
        if self.mode == Mode::Off {
            return Verdict::pass();
        }
        let mut escaped = Vec::with_capacity(value.len());
        for b in value.bytes() {
            match b {
                b'&' => escaped.extend_from_slice(b"%26"),
                b'#' => escaped.extend_from_slice(b"%23"),
                b => escaped.push(b),
            }
        }
        let decoded = wafio_crs::request::url_decode(&escaped);
        let mut findings = Vec::new();
        self.detectors.scan_into(&decoded, &mut findings);
        let findings: Vec<LocatedFinding> = findings
            .into_iter()
            .map(|finding| LocatedFinding {
                location: "ARGS_GET:value".to_string(),
                finding,
            })
            .collect();
        let score = self.decision.score(
            findings
                .iter()
                .map(|f| (f.finding.detector, f.finding.confidence)),
        );
        Verdict {
            decision: self.decision.decide(score, self.mode),
            score,
            findings,
            body_error: None,
            rules: Vec::new(),
            crs_anomaly: 0,
        }
    }

    /// The most specific route for a request: a route naming the request's
    /// host beats one for any host, then the longest path prefix wins.
    fn route_for(&self, req: &HttpRequest) -> Option<&Route> {
        if self.routes.is_empty() {
            return None;
        }
        let host = req
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.as_slice())
            .unwrap_or(b"");
        let path = req.uri.split(['?', '#']).next().unwrap_or("");
        // Absolute-form targets (`http://host/path`) carry the path after
        // the authority.
        let path = match path.find("://") {
            Some(i) => path[i + 3..].find('/').map_or("/", |j| &path[i + 3 + j..]),
            None => path,
        };
        self.routes
            .iter()
            .filter(|r| r.matches(host, path))
            .max_by_key(|r| (r.host.is_some(), r.path_prefix.len()))
    }
}

/// Headers whose value is a host or client address by definition: an
/// internal address there is the normal case behind a proxy (a sidecar's
/// `Host: 127.0.0.1:8080`, `X-Forwarded-For: 10.0.0.7`), not a request
/// forgery, so the SSRF detector's findings on them do not count. The
/// other seven detectors still inspect them.
fn is_address_header(name: &[u8]) -> bool {
    const NAMES: [&[u8]; 6] = [
        b"host",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-real-ip",
        b"forwarded",
        b"x-client-ip",
    ];
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// CRS attack and protocol rules score; initialisation (90x, 91x setup),
/// the blocking evaluation (949) and correlation (980) rules do not.
fn is_scoring_rule(id: u64) -> bool {
    (911_000..949_000).contains(&id) || (950_000..980_000).contains(&id)
}

/// CRS anomaly points by severity (`tx.critical_anomaly_score` and friends).
fn severity_points(severity: Option<u8>) -> u32 {
    match severity {
        Some(0..=2) => 5,
        Some(3) => 4,
        Some(4) => 3,
        Some(5) => 2,
        _ => 0,
    }
}

fn category_of(tags: &[String]) -> String {
    for tag in tags {
        if let Some(cat) = tag.strip_prefix("attack-") {
            return match cat {
                "rce" => "cmdi".to_string(),
                "injection-php" => "php".to_string(),
                "injection-java" => "java".to_string(),
                other => other.to_string(),
            };
        }
    }
    "other".to_string()
}

fn evidence(value: &[u8]) -> String {
    let cut = &value[..value.len().min(128)];
    String::from_utf8_lossy(cut).into_owned()
}

/// Builds a [`Waf`].
#[derive(Clone, Debug)]
pub struct WafBuilder {
    detectors: Vec<DetectorKind>,
    decision: DecisionConfig,
    mode: Mode,
    limits: RequestLimits,
    crs: Option<Arc<Crs>>,
    routes: Vec<Route>,
}

impl WafBuilder {
    /// Runs this CRS after the detectors (see [`Crs::from_dir`]).
    pub fn crs(mut self, crs: Arc<Crs>) -> Self {
        self.crs = Some(crs);
        self
    }

    /// Adds a per-route override (mode, threshold, exclusions).
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

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
            crs: self.crs,
            routes: self.routes,
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
