//! Prometheus metrics of the proxy.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Counters and the latency histogram, registered once.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    blocks: Family<Labels, Counter>,
    latency: Histogram,
    upstream_errors: Counter,
    reloads: Family<Labels, Counter>,
    rate_limited: Counter,
    rate_limit_evictions: Counter,
    response_over_limit: Counter,
    offenders: Family<Labels, Counter>,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("wafio");
        let requests = Family::<Labels, Counter>::default();
        let blocks = Family::<Labels, Counter>::default();
        let reloads = Family::<Labels, Counter>::default();
        // 50 µs .. ~3.3 s
        let latency = Histogram::new([
            0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5, 1.0, 2.5,
        ]);
        let upstream_errors = Counter::default();
        registry.register(
            "requests",
            "Requests by decision (pass, log, block) or error status",
            requests.clone(),
        );
        registry.register(
            "blocks",
            "Blocked requests by threat category",
            blocks.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from the request head to the response head, upstream included",
            latency.clone(),
        );
        registry.register(
            "upstream_errors",
            "Requests answered 502/504 because the upstream failed",
            upstream_errors.clone(),
        );
        registry.register(
            "config_reloads",
            "Configuration reloads by result",
            reloads.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused with 429 by the per-client rate limit",
            rate_limited.clone(),
        );
        let rate_limit_evictions = Counter::default();
        registry.register(
            "rate_limit_evictions",
            "Clients forgotten by a full rate-limit table to make room for new ones",
            rate_limit_evictions.clone(),
        );
        let response_over_limit = Counter::default();
        registry.register(
            "response_over_limit",
            "Responses whose body was longer than the response inspection limit (streamed, body not or partly inspected)",
            response_over_limit.clone(),
        );
        let offenders = Family::<Labels, Counter>::default();
        registry.register(
            "offenders",
            "Repeat offenders handed to the offender sink, by result (pushed, failed, audited)",
            offenders.clone(),
        );
        Metrics {
            registry,
            requests,
            blocks,
            latency,
            upstream_errors,
            reloads,
            rate_limited,
            rate_limit_evictions,
            response_over_limit,
            offenders,
        }
    }

    pub(crate) fn request(&self, outcome: &str, seconds: f64) {
        self.requests
            .get_or_create(&vec![("outcome".to_string(), outcome.to_string())])
            .inc();
        self.latency.observe(seconds);
    }

    pub(crate) fn block(&self, categories: &[String]) {
        if categories.is_empty() {
            self.blocks
                .get_or_create(&vec![("category".to_string(), "other".to_string())])
                .inc();
        }
        for c in categories {
            self.blocks
                .get_or_create(&vec![("category".to_string(), c.clone())])
                .inc();
        }
    }

    pub(crate) fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// The counter the rate limiters increment on each eviction.
    pub(crate) fn rate_limit_evictions(&self) -> Counter {
        self.rate_limit_evictions.clone()
    }

    pub(crate) fn response_over_limit(&self) {
        self.response_over_limit.inc();
    }

    pub(crate) fn offender(&self, result: &str) {
        self.offenders
            .get_or_create(&vec![("result".to_string(), result.to_string())])
            .inc();
    }

    pub(crate) fn upstream_error(&self) {
        self.upstream_errors.inc();
    }

    pub(crate) fn reload(&self, ok: bool) {
        let r = if ok { "ok" } else { "error" };
        self.reloads
            .get_or_create(&vec![("result".to_string(), r.to_string())])
            .inc();
    }

    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
