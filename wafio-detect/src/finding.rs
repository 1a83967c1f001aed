//! What a detector reports.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// The eight semantic detectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DetectorKind {
    /// SQL injection.
    Sqli,
    /// Cross-site scripting and client-side template injection.
    Xss,
    /// OS command injection (POSIX shell, cmd.exe, PowerShell).
    Cmdi,
    /// Local file inclusion and path traversal.
    Lfi,
    /// Server-side request forgery.
    Ssrf,
    /// Java: deserialization, JNDI lookups, EL/OGNL/SpEL injection.
    Java,
    /// PHP: code injection, object injection, dangerous stream wrappers.
    Php,
    /// Python: template injection, pickle payloads, code injection.
    Python,
}

impl DetectorKind {
    /// All eight detectors, in the order a [`crate::DetectorSet`] runs them.
    pub const ALL: [DetectorKind; 8] = [
        DetectorKind::Sqli,
        DetectorKind::Xss,
        DetectorKind::Cmdi,
        DetectorKind::Lfi,
        DetectorKind::Ssrf,
        DetectorKind::Java,
        DetectorKind::Php,
        DetectorKind::Python,
    ];

    /// Short stable name (`sqli`, `xss`, `cmdi`, `lfi`, `ssrf`, `java`, `php`, `python`).
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::Sqli => "sqli",
            DetectorKind::Xss => "xss",
            DetectorKind::Cmdi => "cmdi",
            DetectorKind::Lfi => "lfi",
            DetectorKind::Ssrf => "ssrf",
            DetectorKind::Java => "java",
            DetectorKind::Php => "php",
            DetectorKind::Python => "python",
        }
    }

    /// Parses a name as printed by [`DetectorKind::name`].
    pub fn from_name(name: &str) -> Option<DetectorKind> {
        DetectorKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One detection inside one view of a value, as a [`crate::Detector`] reports it.
///
/// `span` is relative to the bytes of the view the detector was given; the
/// [`crate::DetectorSet`] maps it back to the original value.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Attack class within the detector, e.g. `"union-select"`, `"event-handler"`.
    pub class: &'static str,
    /// Confidence in `0.0..=1.0`. With the default decision engine a single
    /// finding of confidence `>= 0.5` blocks on its own (score `10 × confidence`
    /// against a threshold of 5.0); weaker signals should stay below 0.5.
    pub confidence: f32,
    /// Byte range of the evidence within the view.
    pub span: Range<usize>,
    /// A short human reason, e.g. "closes a single-quoted string, then a tautology".
    pub reason: Cow<'static, str>,
}

/// A finding about one value: which detector, what, where and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The detector that fired.
    pub detector: DetectorKind,
    /// Attack class within the detector.
    pub class: &'static str,
    /// Confidence in `0.0..=1.0`.
    pub confidence: f32,
    /// Evidence span in the *original* (undecoded) value.
    pub span: Range<usize>,
    /// The evidence as the detector saw it (after decoding), lossily
    /// converted to UTF-8 and cut to [`MAX_EVIDENCE_LEN`] bytes.
    pub evidence: String,
    /// Which decoded view of the value the detector saw.
    pub view: crate::ViewKind,
    /// A short human reason.
    pub reason: Cow<'static, str>,
}

/// Longest evidence string kept in a [`Finding`], in bytes.
pub const MAX_EVIDENCE_LEN: usize = 160;

/// Makes an evidence string: lossy UTF-8, at most [`MAX_EVIDENCE_LEN`] bytes,
/// cut on a character boundary.
pub(crate) fn evidence_string(bytes: &[u8]) -> String {
    let prefix = &bytes[..bytes.len().min(MAX_EVIDENCE_LEN * 2)];
    if let Ok(text) = std::str::from_utf8(prefix) {
        // Valid UTF-8 (the usual case): copy only what is kept.
        let mut cut = text.len().min(MAX_EVIDENCE_LEN);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        return text[..cut].to_owned();
    }
    let mut s = String::from_utf8_lossy(prefix).into_owned();
    if s.len() > MAX_EVIDENCE_LEN {
        let mut cut = MAX_EVIDENCE_LEN;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in DetectorKind::ALL {
            assert_eq!(DetectorKind::from_name(k.name()), Some(k));
        }
        assert_eq!(DetectorKind::from_name("nope"), None);
    }

    #[test]
    fn evidence_matches_the_lossy_conversion() {
        // The fast path for valid UTF-8 gives what the lossy path gives.
        let lossy = |b: &[u8]| {
            let mut s =
                String::from_utf8_lossy(&b[..b.len().min(MAX_EVIDENCE_LEN * 2)]).into_owned();
            let mut cut = s.len().min(MAX_EVIDENCE_LEN);
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s
        };
        let long = format!("{}é{}", "a".repeat(159), "b".repeat(400));
        for v in [
            &b"1' or 1=1--"[..],
            b"",
            "é".repeat(200).as_bytes(),
            long.as_bytes(),
            b"ab\xff\xfe cd",
            &[b'a', 0xc3],
            "x".repeat(319).as_bytes(),
        ] {
            assert_eq!(evidence_string(v), lossy(v), "{v:?}");
        }
    }

    #[test]
    fn evidence_is_bounded_and_valid_utf8() {
        let long = "é".repeat(500);
        let e = evidence_string(long.as_bytes());
        assert!(e.len() <= MAX_EVIDENCE_LEN);
        assert!(e.chars().all(|c| c == 'é'));
    }
}
