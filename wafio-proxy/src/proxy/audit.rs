//! The audit log: one JSON line per blocked or logged request.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::sync::Mutex;

use serde_json::json;

use crate::waf::{RuleMatch, Verdict};

/// Where audit lines go.
pub(crate) struct AuditLog {
    out: Mutex<Box<dyn Write + Send>>,
}

/// One request's facts for the audit line.
pub(crate) struct AuditEvent<'a> {
    pub(crate) id: &'a str,
    pub(crate) client: &'a str,
    pub(crate) method: &'a str,
    pub(crate) uri: &'a str,
    pub(crate) host: &'a str,
    pub(crate) verdict: &'a Verdict,
    pub(crate) micros: u128,
    pub(crate) body_truncated: bool,
}

impl AuditLog {
    pub(crate) fn open(target: &str) -> io::Result<AuditLog> {
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(io::stdout())
        } else {
            Box::new(OpenOptions::new().create(true).append(true).open(target)?)
        };
        Ok(AuditLog {
            out: Mutex::new(out),
        })
    }

    pub(crate) fn write(&self, ev: &AuditEvent<'_>) {
        let v = ev.verdict;
        let bot: Vec<_> = v
            .bot
            .iter()
            .map(|b| {
                json!({
                    "signal": b.signal.name(),
                    "confidence": b.confidence,
                    "evidence": b.evidence,
                })
            })
            .collect();
        let detectors: Vec<_> = v
            .findings
            .iter()
            .map(|f| {
                json!({
                    "detector": f.finding.detector.name(),
                    "class": f.finding.class,
                    "location": f.location,
                    "confidence": f.finding.confidence,
                    "evidence": f.finding.evidence,
                })
            })
            .collect();
        let rules = rules_json(&v.rules);
        let line = json!({
            "time": rfc3339_now(),
            "event": "request",
            "id": ev.id,
            "client": ev.client,
            "method": ev.method,
            "host": ev.host,
            "uri": ev.uri,
            "decision": v.decision.name(),
            "score": v.score,
            "crs_anomaly": v.crs_anomaly,
            "categories": v.categories(),
            "detectors": detectors,
            "rules": rules,
            "bot": bot,
            "body_error": v.body_error,
            "body_truncated": ev.body_truncated,
            "micros": ev.micros as u64,
        });
        self.write_value(&line);
    }

    /// Writes one JSON object as a line.
    pub(crate) fn write_value(&self, line: &serde_json::Value) {
        let mut text = line.to_string();
        text.push('\n');
        if let Ok(mut out) = self.out.lock() {
            // An audit sink that fails (disk full) must not fail requests.
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

/// CRS matches as audit JSON.
pub(crate) fn rules_json(rules: &[RuleMatch]) -> Vec<serde_json::Value> {
    rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "msg": r.msg,
                "severity": r.severity,
                "variable": r.variable,
                "evidence": r.evidence,
                "category": r.category,
                "points": r.points,
            })
        })
        .collect()
}

/// UTC time as RFC 3339 with microseconds, from the system clock.
pub(crate) fn rfc3339_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        now.subsec_micros()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert!(rfc3339_now().ends_with('Z'));
    }
}
