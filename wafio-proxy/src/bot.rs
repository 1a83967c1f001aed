//! Bot protection: scored signals from the request head, folded into the
//! decision engine like a detector (category `bot`).
//!
//! Three signals, none a blanket block on its own unless it is strong:
//!
//! | signal | when | default confidence (score alone) |
//! |--------|------|-----------------------------------|
//! | `scanner` | the `User-Agent` names a known attack tool (sqlmap, Nikto, Nuclei, …, plus `extra_scanners`) | 0.9 (9.0: blocks) |
//! | `browser-headers` | the `User-Agent` claims a browser (`Mozilla/…`) but `Accept` or `Accept-Language`, which every browser sends, is missing | 0.3 (3.0) |
//! | `no-user-agent` | no `User-Agent`, or an empty one | 0.1 (1.0) |
//!
//! The weak signals only tip a request over the threshold together with
//! another finding. Command-line and API clients (`curl/8.5`,
//! `python-requests/2.31`, `Go-http-client/1.1`, …) do not claim to be a
//! browser and so get no `browser-headers` signal.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

use crate::config::WafError;

/// Tokens of the `User-Agent` of well-known attack and reconnaissance
/// tools, matched case-insensitively anywhere in the header. Chosen to be
/// specific: a token that also names legitimate software is not listed.
pub const SCANNER_AGENTS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nuclei",
    "masscan",
    "zgrab",
    "gobuster",
    "dirbuster",
    "wpscan",
    "nmap scripting engine",
    "nmap nse",
    "acunetix",
    "nessus",
    "openvas",
    "w3af",
    "arachni",
    "wfuzz",
    "fuzz faster u fool",
    "feroxbuster",
    "netsparker",
    "havij",
    "skipfish",
    "commix",
    "xsstrike",
    "jorgee",
    "zmeu",
    "dotdotpwn",
    "fimap",
    "whatweb",
    "webinspect",
    "appscan",
    "morfeus",
    "bsqlbf",
];

/// The `[waf.bot]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotConfig {
    /// Off switch (default on).
    pub enabled: bool,
    /// More `User-Agent` tokens to treat as scanners (case-insensitive
    /// substrings, at least 3 bytes each).
    pub extra_scanners: Vec<String>,
    /// Confidence of the `scanner` signal, 0–1 (default 0.9).
    pub scanner_confidence: f32,
    /// Confidence of the `browser-headers` signal, 0–1 (default 0.3).
    pub browser_headers_confidence: f32,
    /// Confidence of the `no-user-agent` signal, 0–1 (default 0.1).
    pub no_user_agent_confidence: f32,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            enabled: true,
            extra_scanners: Vec::new(),
            scanner_confidence: 0.9,
            browser_headers_confidence: 0.3,
            no_user_agent_confidence: 0.1,
        }
    }
}

/// Which bot signal fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BotSignal {
    /// The `User-Agent` names an attack tool.
    Scanner,
    /// A browser `User-Agent` without the headers every browser sends.
    BrowserHeaders,
    /// No (or an empty) `User-Agent`.
    NoUserAgent,
}

impl BotSignal {
    /// `scanner`, `browser-headers` or `no-user-agent`.
    pub fn name(self) -> &'static str {
        match self {
            BotSignal::Scanner => "scanner",
            BotSignal::BrowserHeaders => "browser-headers",
            BotSignal::NoUserAgent => "no-user-agent",
        }
    }
}

/// One bot signal on a request.
#[derive(Clone, Debug, PartialEq)]
pub struct BotFinding {
    /// The signal.
    pub signal: BotSignal,
    /// Its confidence, 0–1.
    pub confidence: f32,
    /// What fired: the scanner token, or the missing header names.
    pub evidence: String,
}

/// The compiled bot checks.
#[derive(Clone, Debug)]
pub(crate) struct BotDetector {
    scanners: AhoCorasick,
    names: Vec<String>,
    scanner_confidence: f32,
    browser_headers_confidence: f32,
    no_user_agent_confidence: f32,
}

fn confidence(key: &str, c: f32) -> Result<f32, WafError> {
    if (0.0..=1.0).contains(&c) {
        Ok(c)
    } else {
        Err(WafError::Invalid {
            key: key.to_string(),
            reason: format!("{c} is not in 0-1"),
        })
    }
}

impl BotDetector {
    /// Compiles the configuration; `None` when bot protection is off.
    pub(crate) fn new(cfg: &BotConfig) -> Result<Option<BotDetector>, WafError> {
        let scanner_confidence = confidence("waf.bot.scanner_confidence", cfg.scanner_confidence)?;
        let browser_headers_confidence = confidence(
            "waf.bot.browser_headers_confidence",
            cfg.browser_headers_confidence,
        )?;
        let no_user_agent_confidence = confidence(
            "waf.bot.no_user_agent_confidence",
            cfg.no_user_agent_confidence,
        )?;
        let mut names: Vec<String> = SCANNER_AGENTS.iter().map(|s| s.to_string()).collect();
        for (i, extra) in cfg.extra_scanners.iter().enumerate() {
            let t = extra.trim();
            if t.len() < 3 || t.len() > 128 {
                return Err(WafError::Invalid {
                    key: format!("waf.bot.extra_scanners[{i}]"),
                    reason: format!("{extra:?} must be 3 to 128 bytes (a shorter token matches ordinary agents)"),
                });
            }
            names.push(t.to_ascii_lowercase());
        }
        if !cfg.enabled {
            return Ok(None);
        }
        let scanners = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&names)
            .map_err(|e| WafError::Invalid {
                key: "waf.bot.extra_scanners".into(),
                reason: e.to_string(),
            })?;
        Ok(Some(BotDetector {
            scanners,
            names,
            scanner_confidence,
            browser_headers_confidence,
            no_user_agent_confidence,
        }))
    }

    /// The signals of one request head. `skip_ua` when the route excludes
    /// the `User-Agent` header from inspection.
    pub(crate) fn check(
        &self,
        headers: &[(String, Vec<u8>)],
        skip_ua: bool,
        out: &mut Vec<BotFinding>,
    ) {
        let mut ua: Option<&[u8]> = None;
        let mut accept = false;
        let mut accept_language = false;
        for (name, value) in headers {
            let n = name.as_bytes();
            if n.eq_ignore_ascii_case(b"user-agent") {
                // Several User-Agent headers: the first one decides, the
                // scanner check sees every one.
                if ua.is_none() {
                    ua = Some(value);
                }
                if !skip_ua && self.scanner_confidence > 0.0 {
                    if let Some(m) = self.scanners.find(value.as_slice()) {
                        out.push(BotFinding {
                            signal: BotSignal::Scanner,
                            confidence: self.scanner_confidence,
                            evidence: self.names[m.pattern().as_usize()].clone(),
                        });
                    }
                }
            } else if n.eq_ignore_ascii_case(b"accept") {
                accept |= !value.is_empty();
            } else if n.eq_ignore_ascii_case(b"accept-language") {
                accept_language |= !value.is_empty();
            }
        }
        if skip_ua {
            return;
        }
        let ua = ua.map(trim).unwrap_or(b"");
        if ua.is_empty() {
            if self.no_user_agent_confidence > 0.0 {
                out.push(BotFinding {
                    signal: BotSignal::NoUserAgent,
                    confidence: self.no_user_agent_confidence,
                    evidence: String::new(),
                });
            }
            return;
        }
        if claims_browser(ua)
            && !(accept && accept_language)
            && self.browser_headers_confidence > 0.0
        {
            let evidence = match (accept, accept_language) {
                (false, false) => "Accept, Accept-Language",
                (false, true) => "Accept",
                _ => "Accept-Language",
            };
            out.push(BotFinding {
                signal: BotSignal::BrowserHeaders,
                confidence: self.browser_headers_confidence,
                evidence: evidence.to_string(),
            });
        }
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// Every mainstream browser's `User-Agent` starts with `Mozilla/`. Crawlers
/// that say `compatible; …bot` are not browsers and are not held to
/// browser header habits.
fn claims_browser(ua: &[u8]) -> bool {
    const BOT_MARKS: [&[u8]; 3] = [b"bot", b"crawler", b"spider"];
    ua.len() >= 8
        && ua[..8].eq_ignore_ascii_case(b"mozilla/")
        && !BOT_MARKS
            .iter()
            .any(|m| ua.windows(m.len()).any(|w| w.eq_ignore_ascii_case(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    fn signals(d: &BotDetector, pairs: &[(&str, &str)]) -> Vec<(BotSignal, String)> {
        let mut out = Vec::new();
        d.check(&h(pairs), false, &mut out);
        out.into_iter().map(|f| (f.signal, f.evidence)).collect()
    }

    #[test]
    fn scanners_browsers_and_clients() {
        let d = BotDetector::new(&BotConfig::default()).unwrap().unwrap();
        assert_eq!(
            signals(
                &d,
                &[("User-Agent", "sqlmap/1.7.2#stable (https://sqlmap.org)")]
            ),
            vec![(BotSignal::Scanner, "sqlmap".to_string())]
        );
        assert_eq!(
            signals(
                &d,
                &[("user-agent", "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)")]
            )[0],
            (BotSignal::Scanner, "nmap scripting engine".to_string())
        );
        // A browser with its usual headers: nothing.
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert!(signals(
            &d,
            &[
                ("User-Agent", firefox),
                ("Accept", "text/html"),
                ("Accept-Language", "en")
            ]
        )
        .is_empty());
        // A browser agent without Accept-Language: weak signal.
        assert_eq!(
            signals(&d, &[("User-Agent", firefox), ("Accept", "*/*")]),
            vec![(BotSignal::BrowserHeaders, "Accept-Language".to_string())]
        );
        assert_eq!(
            signals(&d, &[("User-Agent", firefox)]),
            vec![(
                BotSignal::BrowserHeaders,
                "Accept, Accept-Language".to_string()
            )]
        );
        // curl and API clients: nothing.
        for ua in [
            "curl/8.5.0",
            "python-requests/2.31.0",
            "Go-http-client/1.1",
            "okhttp/4.12.0",
        ] {
            assert!(
                signals(&d, &[("User-Agent", ua), ("Accept", "*/*")]).is_empty(),
                "{ua}"
            );
            assert!(signals(&d, &[("User-Agent", ua)]).is_empty(), "{ua}");
        }
        // Crawlers that say so are not held to browser habits.
        assert!(signals(
            &d,
            &[
                (
                    "User-Agent",
                    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
                ),
                ("Accept", "*/*")
            ]
        )
        .is_empty());
        // No agent at all, or an empty one.
        assert_eq!(
            signals(&d, &[("Accept", "*/*")]),
            vec![(BotSignal::NoUserAgent, String::new())]
        );
        assert_eq!(
            signals(&d, &[("User-Agent", "  ")]),
            vec![(BotSignal::NoUserAgent, String::new())]
        );
        // A route that excludes User-Agent gets no agent signal.
        let mut out = Vec::new();
        d.check(&h(&[("User-Agent", "nikto")]), true, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn configuration() {
        let d = BotDetector::new(&BotConfig {
            extra_scanners: vec!["EvilScan".into()],
            no_user_agent_confidence: 0.0,
            ..BotConfig::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            signals(&d, &[("User-Agent", "x evilscan/2")]),
            vec![(BotSignal::Scanner, "evilscan".to_string())]
        );
        assert!(signals(&d, &[]).is_empty());
        let off = BotConfig {
            enabled: false,
            ..BotConfig::default()
        };
        assert!(BotDetector::new(&off).unwrap().is_none());
        let err = BotDetector::new(&BotConfig {
            extra_scanners: vec!["x".into()],
            ..BotConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("waf.bot.extra_scanners[0]"), "{err}");
        let err = BotDetector::new(&BotConfig {
            scanner_confidence: 1.5,
            ..BotConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("waf.bot.scanner_confidence"), "{err}");
    }
}
