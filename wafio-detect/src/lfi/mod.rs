//! Local file inclusion and path traversal.
//!
//! The detector resolves each whitespace-separated token of a value as a
//! path (see [`path`]): every spelling of a separator (`/`, `\`, `0x2f`,
//! `0x5c`) and of a dot (`.`, `0x2e`) is normalised on the fly (URL, HTML,
//! JS and overlong-UTF-8 encodings are undone by the decoded view before
//! the detector runs), `..`, `...`, `....` and `..;` segments climb, and the
//! resolver tracks the depth to see whether the path escapes above where it
//! started. Separately it looks for sensitive files (`/etc/passwd`,
//! `win.ini`, `WEB-INF/web.xml`, `.ssh/id_rsa`, ...) in a path context and
//! for PHP/Java stream wrappers (`php://filter`, `expect://`, `zip://`,
//! `phar://`, `data://`, `file:`, `jar:`).
//!
//! Classes and default confidences:
//! - `traversal`: two or more escapes above the start (0.85); one escape
//!   followed by a name (0.6); one bare escape such as `../` alone (0.4);
//!   climbs that stay under the start, `docs/../readme` (0.2).
//! - `truncation`: an over-long segment (128+ units) then a climb, the
//!   path-buffer overflow probe of dotdotpwn (0.7).
//! - `sensitive-file`: a sensitive file in a path context (0.6 to 0.9, 0.95
//!   with an escape); the bare name as the whole value (0.5).
//! - `system-path`: an absolute path into a system directory (`/etc/...`,
//!   `c:/windows/...`) (0.6).
//! - `non-canonical`: an absolute path with `/./` segments or a run of
//!   leading separators that is not a protocol-relative URL (0.55); an
//!   unexpanded `{name}` template in an absolute path, as path scanners
//!   send (0.5).
//! - `drive-path`: a drive-relative Windows file name such as `c:boot.ini`
//!   (0.55).
//! - `stream-wrapper`, `file-uri` (0.6 to 0.9).
//!
//! # Limits
//! Time is linear in the value: one pass to find tokens, one pass over each
//! token, one Aho-Corasick pass, one pass over the colons. No recursion, no
//! allocation. Values without any of `/ \ : .` are rejected after one scan.
//! The Aho-Corasick pass is skipped when no sensitive name could count: no
//! separator or `..` in the value, the value is not itself a name, and no
//! parent directory (`etc`, `proc`, …) starts it or follows a dot.

mod files;
mod path;

use std::borrow::Cow;

use crate::{Detector, DetectorKind, Hit, View};

/// Detects path traversal, sensitive-file access and stream wrappers.
#[derive(Clone, Debug, Default)]
pub struct LfiDetector {}

/// Bytes that can start or take part in anything this detector reports:
/// `/ \ : . %` and multi-byte sequences.
const INTERESTING: [bool; 256] = crate::byte_table(b"/\\:.%", 0x80);

// Bits of [`BYTE_CLASS`].
/// An [`INTERESTING`] byte.
const ANY_INTERESTING: u8 = 1;
/// `x` or `X`, which a hex spelling (`0x2e`) needs.
const HEX_X: u8 = 2;
/// `:`, which a stream wrapper needs.
const COLON: u8 = 4;

/// The class bits of each byte (one lane of
/// [`crate::classes::ByteClasses`]): which of the value-wide searches below
/// can find anything.
pub(crate) const BYTE_CLASS: [u8; 256] = {
    let mut t = crate::class_bits([0; 256], &INTERESTING, true, ANY_INTERESTING);
    t[b'x' as usize] |= HEX_X;
    t[b'X' as usize] |= HEX_X;
    t[b':' as usize] |= COLON;
    t
};

/// `0x2e`-style spellings of dots and separators.
fn has_hex_spelling(b: &[u8]) -> bool {
    memchr::memchr2_iter(b'x', b'X', b)
        .any(|p| p > 0 && b[p - 1] == b'0' && matches!(b.get(p + 1), Some(b'2' | b'5')))
}

/// Token delimiters: bytes that cannot sit inside a path a shell, an
/// include call or a URL would take as one.
static DELIM: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_whitespace()
            || matches!(
                b,
                b'"' | b'\'' | b'<' | b'>' | b'|' | b'(' | b')' | b',' | b'=' | b'&' | b'#' | b'`'
            );
        c += 1;
    }
    t
};

#[inline]
fn is_delim(c: u8) -> bool {
    DELIM[c as usize]
}

/// Keeps the best hit only.
struct Best {
    hit: Option<Hit>,
}

impl Best {
    fn offer(
        &mut self,
        class: &'static str,
        confidence: f32,
        span: std::ops::Range<usize>,
        reason: impl Into<Cow<'static, str>>,
    ) {
        if self.hit.as_ref().is_none_or(|h| confidence > h.confidence) {
            self.hit = Some(Hit {
                class,
                confidence,
                span,
                reason: reason.into(),
            });
        }
    }
}

/// Drive-relative Windows file name at the token start: `c:boot.ini`.
fn drive_relative(t: &[u8]) -> bool {
    if t.len() < 5 || !t[0].is_ascii_alphabetic() || t[1] != b':' || !t[2].is_ascii_alphabetic() {
        return false;
    }
    let rest = &t[2..];
    let Some(dot) = memchr::memrchr(b'.', rest) else {
        return false;
    };
    let ext = &rest[dot + 1..];
    (1..=4).contains(&ext.len())
        && ext.iter().all(|c| c.is_ascii_alphabetic())
        && rest[..dot]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// A value-leading run of four or more dots glued to a file name with an
/// extension (`........boot.ini`): a climb whose separators were stripped.
fn dots_glued_to_file(t: &[u8]) -> bool {
    let dots = t.iter().take_while(|&&c| c == b'.').count();
    if dots < 4 || dots == t.len() {
        return false;
    }
    let rest = &t[dots..];
    let Some(dot) = memchr::memrchr(b'.', rest) else {
        return false;
    };
    let ext = &rest[dot + 1..];
    dot > 0
        && (1..=4).contains(&ext.len())
        && ext.iter().all(|c| c.is_ascii_alphanumeric())
        && rest[..dot]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// Calls `f(start, end)` for each token of `b` (a maximal run of bytes
/// that are not [`DELIM`]iters), in order.
fn for_each_token(b: &[u8], mut f: impl FnMut(usize, usize)) {
    let mut i = 0;
    while i < b.len() {
        if is_delim(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_delim(b[i]) {
            i += 1;
        }
        f(start, i);
    }
}

/// The first [`INTERESTING`] byte of `b` at or after `from`.
fn next_interesting(b: &[u8], from: usize) -> Option<usize> {
    b[from..]
        .iter()
        .position(|&c| INTERESTING[c as usize])
        .map(|k| from + k)
}

/// [`for_each_token`] restricted to the tokens holding an
/// [`INTERESTING`] byte. Each is found from its first interesting byte and
/// widened to its delimiters (the two byte classes are disjoint), so the
/// bytes between such tokens are read once, with one table load each.
/// `first`: the first interesting byte of `b` (the caller has looked for
/// it), or `None`.
fn for_each_interesting_token(b: &[u8], first: Option<usize>, mut f: impl FnMut(usize, usize)) {
    let mut from = 0;
    let mut next = first;
    while let Some(p) = next {
        let start = b[from..p]
            .iter()
            .rposition(|&c| is_delim(c))
            .map_or(from, |d| from + d + 1);
        let end = b[p..]
            .iter()
            .position(|&c| is_delim(c))
            .map_or(b.len(), |d| p + d);
        f(start, end);
        from = end;
        next = next_interesting(b, from);
    }
}

fn score_token(t: &[u8], off: usize, best: &mut Best) {
    let span = off..off + t.len();
    if !path::has_separator(t) {
        if drive_relative(t) {
            best.offer("drive-path", 0.55, span, "drive-relative Windows file path");
        } else if dots_glued_to_file(t) {
            best.offer(
                "traversal",
                0.55,
                span,
                "run of dots glued to a file name (stripped separators)",
            );
        }
        return;
    }
    let st = path::analyse(t);
    if st.escapes >= 2 {
        best.offer(
            "traversal",
            0.85,
            span.clone(),
            format!("path climbs {} levels above its start", st.escapes),
        );
    } else if st.escapes == 1 {
        if st.name_after_escape {
            best.offer(
                "traversal",
                0.6,
                span.clone(),
                "path climbs above its start, then names a file",
            );
        } else {
            best.offer(
                "traversal",
                0.4,
                span.clone(),
                "bare parent-directory reference",
            );
        }
    } else if st.climbs > 0 {
        best.offer(
            "traversal",
            0.2,
            span.clone(),
            "parent-directory segment that stays under the start",
        );
    }
    if st.overlong_climb {
        best.offer(
            "truncation",
            0.7,
            span.clone(),
            "over-long path segment followed by a climb (buffer truncation)",
        );
    }
    if st.absolute && st.system_root {
        best.offer(
            "system-path",
            0.6,
            span.clone(),
            "absolute path into a system directory",
        );
    }
    if st.absolute && !st.url {
        if st.dot_segments > 0 || (st.leading_seps >= 2 && st.names > 0) {
            best.offer(
                "non-canonical",
                0.55,
                span.clone(),
                "absolute path with redundant ./ or // segments",
            );
        } else if st.placeholder {
            best.offer(
                "non-canonical",
                0.5,
                span.clone(),
                "absolute path with an unexpanded {name} template (path scanner)",
            );
        } else if st.empty_segments > 0 {
            best.offer(
                "non-canonical",
                0.3,
                span.clone(),
                "absolute path with an empty segment",
            );
        }
    }
}

impl Detector for LfiDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Lfi
    }

    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>) {
        let b = view.bytes();
        let m = view.classes().lfi();
        // A token can only spell a dot in hex if the value does.
        let value_hex = m & HEX_X != 0 && has_hex_spelling(b);
        let first = if m & ANY_INTERESTING != 0 {
            next_interesting(b, 0)
        } else {
            None
        };
        if first.is_none() && !value_hex {
            return;
        }
        let mut best = Best { hit: None };
        if value_hex {
            // A token can spell a dot in hex without an interesting byte:
            // every token is looked at.
            for_each_token(b, |start, end| {
                let t = &b[start..end];
                if t.iter().any(|&c| INTERESTING[c as usize]) || has_hex_spelling(t) {
                    score_token(t, start, &mut best);
                }
            });
        } else {
            for_each_interesting_token(b, first, |start, end| {
                score_token(&b[start..end], start, &mut best)
            });
        }
        let traversal = best
            .hit
            .as_ref()
            .is_some_and(|h| h.class == "traversal" && h.confidence >= 0.4);
        files::find_sensitive(b, |h| {
            let (conf, reason): (f32, Cow<'static, str>) = if traversal {
                (
                    0.95,
                    format!("traversal to the sensitive file {}", h.name).into(),
                )
            } else {
                (
                    h.confidence,
                    format!("access to the sensitive file {}", h.name).into(),
                )
            };
            best.offer("sensitive-file", conf, h.start..h.end, reason);
        });
        if m & COLON != 0 {
            files::find_wrappers(b, |h| {
                best.offer(h.class, h.confidence, h.start..h.end, h.reason)
            });
        }
        if let Some(h) = best.hit {
            out.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_not_interesting() {
        assert!((0..256).all(|c| !(DELIM[c] && INTERESTING[c])));
    }

    proptest::proptest! {
        #[test]
        fn interesting_tokens_are_the_tokens_with_an_interesting_byte(
            v in proptest::collection::vec(
                proptest::sample::select(b"ab/\\:.% ()=,'\"&\xc3\xa9".to_vec()),
                0..40,
            )
        ) {
            let mut all = Vec::new();
            for_each_token(&v, |s, e| {
                if v[s..e].iter().any(|&c| INTERESTING[c as usize]) {
                    all.push((s, e));
                }
            });
            let mut some = Vec::new();
            for_each_interesting_token(&v, next_interesting(&v, 0), |s, e| some.push((s, e)));
            proptest::prop_assert_eq!(all, some);
        }
    }
    use crate::Input;

    fn conf(v: &str) -> f32 {
        let input = Input::new(v.as_bytes());
        let mut out = Vec::new();
        for view in input.views() {
            LfiDetector::default().detect(view, &mut out);
        }
        out.iter().map(|h| h.confidence).fold(0.0, f32::max)
    }

    #[test]
    fn attacks_block() {
        for v in [
            "../../../../etc/passwd",
            "..%2f..%2f..%2fetc%2fpasswd",
            "/etc/shadow",
            "php://filter/convert.base64-encode/resource=index.php",
            "c:\\windows\\win.ini",
            "/..0x2f..0x2f{file}",
            "....//....//etc/passwd",
        ] {
            assert!(conf(v) >= 0.5, "{v}");
        }
    }

    #[test]
    fn benign_pass() {
        for v in [
            "images/logo.png",
            "docs/../readme",
            "wait...",
            "1.2...3",
            "2024/01/02",
            "https://example.com/a?b=c&d=e",
            "alice@example.com",
        ] {
            assert!(conf(v) < 0.5, "{v}");
        }
    }
}
