//! Per-route overrides and exclusions.

use wafio_crs::request::LocationKind;
use wafio_detect::DetectorKind;

use crate::decision::Mode;

/// An override for the requests of one route: a host (optional, without
/// port, case-insensitive) and a path prefix. The most specific matching
/// route applies (host-specific first, then the longest prefix).
///
/// Exclusions: a parameter listed in `exclude_args` (query, body, JSON/XML
/// leaf or multipart field name) and a header listed in `exclude_headers`
/// are not given to the detectors, and CRS matches on them
/// (`ARGS:name`, `ARGS_GET:name`, `ARGS_POST:name`, `ARGS_NAMES:name`,
/// `REQUEST_HEADERS:Name`) are dropped from the score; a rule id in
/// `disable_rules` is dropped from the score; a detector in
/// `disable_detectors` does not count. The CRS itself still evaluates the
/// whole request (its `tx` variables are not re-run per exclusion): the
/// WAF recomputes the anomaly score from the matches it keeps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Route {
    /// Host this route applies to (no port), or every host.
    pub host: Option<String>,
    /// Path prefix (`/` matches everything).
    pub path_prefix: String,
    /// Mode for this route instead of the WAF's.
    pub mode: Option<Mode>,
    /// Block threshold for this route instead of the WAF's.
    pub threshold: Option<f32>,
    /// Parameters not inspected on this route.
    pub exclude_args: Vec<String>,
    /// Headers not inspected on this route (case-insensitive).
    pub exclude_headers: Vec<String>,
    /// CRS rule ids disabled on this route.
    pub disable_rules: Vec<u64>,
    /// Detectors disabled on this route.
    pub disable_detectors: Vec<DetectorKind>,
    /// Bot protection off on this route (`disable_detectors = ["bot"]`).
    pub disable_bot: bool,
    /// Per-client rate limit of this route instead of the proxy's
    /// (`rate_limit = { requests_per_second = 5, burst = 10 }`); used by the
    /// proxy, not by [`crate::Waf::inspect`].
    pub rate_limit: Option<crate::ratelimit::RateSpec>,
}

impl Route {
    /// Whether the route covers a request to `host` (the `Host` header,
    /// port allowed) and `path`.
    pub fn matches(&self, host: &[u8], path: &str) -> bool {
        if let Some(want) = &self.host {
            let host = strip_port(host);
            if !host.eq_ignore_ascii_case(want.as_bytes()) {
                return false;
            }
        }
        path.starts_with(self.path_prefix.as_str())
    }

    pub(crate) fn excludes_location(&self, kind: LocationKind, key: Option<&[u8]>) -> bool {
        let Some(key) = key else { return false };
        match kind {
            LocationKind::ArgsGet
            | LocationKind::ArgsPost
            | LocationKind::ArgsNames
            | LocationKind::Files => self.exclude_args.iter().any(|a| a.as_bytes() == key),
            LocationKind::RequestHeaders => self
                .exclude_headers
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(key)),
            _ => false,
        }
    }

    pub(crate) fn disables_detector(&self, kind: DetectorKind) -> bool {
        self.disable_detectors.contains(&kind)
    }

    pub(crate) fn excludes_rule(&self, id: u64, variable: &str) -> bool {
        if self.disable_rules.contains(&id) {
            return true;
        }
        let Some((collection, key)) = variable.split_once(':') else {
            return false;
        };
        match collection {
            "ARGS" | "ARGS_GET" | "ARGS_POST" | "ARGS_NAMES" => {
                self.exclude_args.iter().any(|a| a == key)
            }
            "REQUEST_HEADERS" | "REQUEST_HEADERS_NAMES" => self
                .exclude_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(key)),
            _ => false,
        }
    }
}

fn strip_port(host: &[u8]) -> &[u8] {
    if host.starts_with(b"[") {
        // [v6]:port
        return match host.iter().position(|&b| b == b']') {
            Some(i) => &host[..=i],
            None => host,
        };
    }
    match host.iter().rposition(|&b| b == b':') {
        Some(i) => &host[..i],
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_prefix_matching() {
        let r = Route {
            host: Some("api.example".into()),
            path_prefix: "/v1/".into(),
            ..Route::default()
        };
        assert!(r.matches(b"API.example:8080", "/v1/users"));
        assert!(!r.matches(b"www.example", "/v1/users"));
        assert!(!r.matches(b"api.example", "/v2/users"));
        assert_eq!(strip_port(b"[::1]:80"), b"[::1]");
        assert_eq!(strip_port(b"a"), b"a");
    }

    #[test]
    fn exclusions() {
        let r = Route {
            path_prefix: "/".into(),
            exclude_args: vec!["password".into()],
            exclude_headers: vec!["X-Token".into()],
            disable_rules: vec![942100],
            ..Route::default()
        };
        assert!(r.excludes_location(LocationKind::ArgsPost, Some(b"password")));
        assert!(!r.excludes_location(LocationKind::ArgsPost, Some(b"user")));
        assert!(r.excludes_location(LocationKind::RequestHeaders, Some(b"x-token")));
        assert!(r.excludes_rule(942100, "ARGS:user"));
        assert!(r.excludes_rule(941100, "ARGS_POST:password"));
        assert!(r.excludes_rule(941100, "REQUEST_HEADERS:x-token"));
        assert!(!r.excludes_rule(941100, "ARGS:user"));
    }
}
