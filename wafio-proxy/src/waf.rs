//! The [`Waf`]: one immutable, shareable inspector of HTTP requests.

use std::path::Path;
use std::sync::Arc;

use wafio_crs::engine::{Engine, MatchedRule, ResponseData, Transaction};
use wafio_crs::request::{HttpRequest, LocationKind, RequestData, RequestLimits};
use wafio_detect::{DetectorKind, DetectorSet, Finding};

use crate::bot::{BotDetector, BotFinding};
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

/// The response content types whose bodies the CRS inspects by default
/// (phase 4), as `SecResponseBodyMimeType` in ModSecurity's recommended
/// configuration plus JSON.
pub const DEFAULT_RESPONSE_MIME_TYPES: &[&str] =
    &["text/plain", "text/html", "text/xml", "application/json"];

impl Crs {
    /// Loads a CRS directory (`crs-setup.conf` or its `.example`, then
    /// `rules/*.conf`) at a blocking paranoia level (1–4). The engine runs
    /// in `DetectionOnly` mode with request body access on: the CRS scores,
    /// the [`Waf`]'s decision engine decides. `threshold` is the CRS
    /// inbound anomaly threshold the score is normalised by (CRS default 5).
    /// Response bodies of the [`DEFAULT_RESPONSE_MIME_TYPES`] are given to
    /// phase 4 when a response is inspected ([`PendingResponse`]).
    pub fn from_dir(dir: &Path, paranoia: u8, threshold: u32) -> Result<Crs, WafError> {
        let mime: Vec<String> = DEFAULT_RESPONSE_MIME_TYPES
            .iter()
            .map(|m| m.to_string())
            .collect();
        Crs::from_dir_with_mime(dir, paranoia, threshold, &mime)
    }

    /// [`Crs::from_dir`] with the response content types whose bodies
    /// phase 4 inspects (`type/subtype`, lower case; parameters such as
    /// `charset` are ignored when matching).
    pub fn from_dir_with_mime(
        dir: &Path,
        paranoia: u8,
        threshold: u32,
        response_mime_types: &[String],
    ) -> Result<Crs, WafError> {
        for (i, m) in response_mime_types.iter().enumerate() {
            if !is_mime_type(m) {
                return Err(WafError::Invalid {
                    key: format!("waf.response.mime_types[{i}]"),
                    reason: format!("{m:?} is not a lower-case type/subtype"),
                });
            }
        }
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
        let mut setup = setup;
        if !response_mime_types.is_empty() {
            setup.push_str("SecResponseBodyAccess On\nSecResponseBodyMimeType");
            for m in response_mime_types {
                setup.push(' ');
                setup.push_str(m);
            }
            setup.push('\n');
        }
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

/// `type/subtype` of RFC 9110 token characters, lower case: safe to put in
/// a `SecResponseBodyMimeType` directive.
pub(crate) fn is_mime_type(m: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.len() <= 127
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&^_.+-".contains(&b))
    };
    matches!(m.split_once('/'), Some((a, b)) if token(a) && token(b))
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
    /// Bot signals (see [`crate::BotConfig`]); empty when bot protection
    /// is off.
    pub bot: Vec<BotFinding>,
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
            bot: Vec::new(),
        }
    }

    /// The threat categories of the findings, scoring rules and bot
    /// signals, sorted and deduplicated (detector names; CRS `attack-*` tag
    /// suffixes; `bot`).
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
            .chain(
                self.bot
                    .iter()
                    .any(|b| b.confidence > 0.0)
                    .then(|| "bot".to_string()),
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
    bot: Option<BotDetector>,
    response_threshold: Option<u32>,
}

/// The verdict on one response (CRS phases 3–4).
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseVerdict {
    /// Block (do not send the response), log or pass.
    pub decision: Decision,
    /// The CRS outbound anomaly score recomputed from [`ResponseVerdict::rules`].
    pub anomaly: u32,
    /// Response rules that matched with a message or a score, after route
    /// exclusions.
    pub rules: Vec<RuleMatch>,
}

impl ResponseVerdict {
    /// The categories of the scoring rules, sorted and deduplicated.
    pub fn categories(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules
            .iter()
            .filter(|r| r.points > 0)
            .map(|r| r.category.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A request's CRS transaction kept for its response: returned by
/// [`Waf::inspect_request`] when response inspection is on
/// ([`WafBuilder::response_inspection`]), a CRS is loaded and the request
/// was not blocked. Phases 3–4 see the variables phases 1–2 set (paranoia
/// level, thresholds, request collections), as in ModSecurity.
#[derive(Debug)]
pub struct PendingResponse<'w> {
    tx: Transaction<'w>,
    route: Option<&'w Route>,
    mode: Mode,
    threshold: u32,
    request_matches: usize,
}

impl PendingResponse<'_> {
    /// Runs phases 3 (status and headers) and 4 (body, when its content
    /// type is one the CRS was loaded to inspect; an empty `body` when the
    /// response was too long to buffer).
    pub fn inspect(mut self, response: ResponseData) -> ResponseVerdict {
        self.tx.process_response(response);
        let mut rules = Vec::new();
        let anomaly = collect_rules(
            &self.tx.matched()[self.request_matches..],
            self.route,
            &mut rules,
        );
        let decision = match self.mode {
            Mode::Off => Decision::Pass,
            _ if anomaly < self.threshold => Decision::Pass,
            Mode::Block => Decision::Block,
            Mode::Detect => Decision::Log,
        };
        ResponseVerdict {
            decision,
            anomaly,
            rules,
        }
    }
}

/// Keeps the matches worth reporting, drops the ones the route excludes,
/// and returns the anomaly score of the kept scoring rules.
fn collect_rules(
    matched: &[MatchedRule],
    route: Option<&Route>,
    rules: &mut Vec<RuleMatch>,
) -> u32 {
    let mut anomaly = 0;
    for m in matched {
        if route.is_some_and(|r| r.excludes_rule(m.id, &m.matched_var_name)) {
            continue;
        }
        let points = if is_scoring_rule(m.id) {
            severity_points(m.severity)
        } else {
            0
        };
        anomaly += points;
        // Initialisation and bookkeeping rules (no message, no score) are
        // not worth reporting.
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
    anomaly
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
            bot: None,
            response_threshold: None,
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
        self.run(req, ctx, false).0
    }

    /// [`Waf::inspect_with`], keeping the CRS transaction for the response
    /// when response inspection is on, a CRS is loaded and the request
    /// passes (or is only logged).
    pub fn inspect_request<'w>(
        &'w self,
        req: &HttpRequest,
        ctx: RequestContext<'_>,
    ) -> (Verdict, Option<PendingResponse<'w>>) {
        self.run(req, ctx, true)
    }

    /// Whether [`Waf::inspect_request`] keeps transactions for responses.
    pub fn inspects_responses(&self) -> bool {
        self.response_threshold.is_some() && self.crs.is_some()
    }

    fn run<'w>(
        &'w self,
        req: &HttpRequest,
        ctx: RequestContext<'_>,
        keep: bool,
    ) -> (Verdict, Option<PendingResponse<'w>>) {
        let route = self.route_for(req);
        let mode = route.and_then(|r| r.mode).unwrap_or(self.mode);
        if mode == Mode::Off {
            return (Verdict::pass(), None);
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
        let mut bot = Vec::new();
        if let Some(detector) = &self.bot {
            if !route.is_some_and(|r| r.disable_bot) {
                let skip_ua = route.is_some_and(|r| {
                    r.excludes_location(LocationKind::RequestHeaders, Some(b"user-agent"))
                });
                detector.check(&req.headers, skip_ua, &mut bot);
                let strongest = |s| {
                    bot.iter()
                        .filter(|b: &&BotFinding| b.signal == s)
                        .map(|b| b.confidence)
                        .fold(0.0f32, f32::max)
                };
                for s in [
                    crate::bot::BotSignal::Scanner,
                    crate::bot::BotSignal::BrowserHeaders,
                    crate::bot::BotSignal::NoUserAgent,
                ] {
                    score = decision.combine_signal(score, strongest(s));
                }
            }
        }
        let mut rules = Vec::new();
        let mut crs_anomaly = 0;
        let mut kept = None;
        if let Some(crs) = &self.crs {
            let mut tx = crs.engine.transaction(req);
            if let Some(client) = ctx.client {
                tx.set_remote_addr(client);
            }
            tx.process_request();
            crs_anomaly = collect_rules(tx.matched(), route, &mut rules);
            score = decision.combine_crs(score, crs_anomaly, crs.threshold);
            if keep {
                kept = Some(tx);
            }
        }
        let verdict = Verdict {
            decision: decision.decide(score, mode),
            score,
            findings,
            body_error: data.reqbody_error.then(|| data.reqbody_error_msg.clone()),
            rules,
            crs_anomaly,
            bot,
        };
        let pending = match (kept, self.response_threshold) {
            (Some(tx), Some(threshold)) if verdict.decision != Decision::Block => {
                let request_matches = tx.matched().len();
                Some(PendingResponse {
                    tx,
                    route,
                    mode,
                    threshold,
                    request_matches,
                })
            }
            _ => None,
        };
        (verdict, pending)
    }

    /// The route of a request to `host` (the `Host` header) and `path`
    /// (see [`Route`]), with its index in the order routes were added.
    pub fn route(&self, host: &[u8], path: &str) -> Option<(usize, &Route)> {
        self.routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.matches(host, path))
            .max_by_key(|(_, r)| (r.host.is_some(), r.path_prefix.len()))
    }

    /// Inspects one value as the query parameter `value` of a GET request,
    /// the way `wafio scan --values` does: the same verdict as
    /// `inspect(&query_value_request(value))`. Without CRS the synthetic
    /// request's other locations (path `/`, the name `value`, `Host:
    /// localhost`) are constants that carry no input, so only the value is
    /// decoded (as the request model decodes a query argument) and scanned;
    /// with CRS the whole request goes through the engine.
    pub fn inspect_query_value(&self, value: &str) -> Verdict {
        if self.crs.is_some() || !self.routes.is_empty() || self.bot.is_some() {
            return self.inspect(&query_value_request(value));
        }
        if self.mode == Mode::Off {
            return Verdict::pass();
        }
        // The synthetic request escapes `&` and `#` so they stay in the
        // value; decoding gives them back, so the value is decoded as it
        // is (and not copied when it holds nothing to decode).
        let raw = value.as_bytes();
        let decoded: std::borrow::Cow<'_, [u8]> = if raw.iter().any(|&b| b == b'%' || b == b'+') {
            std::borrow::Cow::Owned(wafio_crs::request::url_decode(raw))
        } else {
            std::borrow::Cow::Borrowed(raw)
        };
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
            bot: Vec::new(),
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
        self.route(host, path).map(|(_, r)| r)
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
    bot: Option<BotDetector>,
    response_threshold: Option<u32>,
}

impl WafBuilder {
    /// Turns bot protection on with this configuration (see
    /// [`crate::BotConfig`]; `enabled = false` turns it off). Off by
    /// default in the builder; on by default in a [`crate::WafConfig`].
    pub fn bot(mut self, config: &crate::BotConfig) -> Result<Self, WafError> {
        self.bot = BotDetector::new(config)?;
        Ok(self)
    }

    /// Keeps each request's CRS transaction for its response
    /// ([`Waf::inspect_request`]); a response whose outbound anomaly score
    /// reaches `threshold` (CRS default 4) is blocked (logged in detect
    /// mode). Needs a CRS.
    pub fn response_inspection(mut self, threshold: u32) -> Self {
        self.response_threshold = Some(threshold.max(1));
        self
    }

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
            bot: self.bot,
            response_threshold: self.response_threshold,
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
