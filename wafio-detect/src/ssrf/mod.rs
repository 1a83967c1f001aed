//! Server-side request forgery: URL-shaped values that point a server at
//! its own internal network or use a scheme that talks to more than HTTP.
//!
//! The detector finds every `scheme:` in the value (and a leading
//! protocol-relative `//host`), parses the authority the way WHATWG URL
//! parsers and `inet_aton` do, and classifies the host:
//!
//! - internal IPv4 space (loopback, `0.0.0.0/8`, RFC 1918, link-local,
//!   CGNAT), written in any spelling `inet_aton` accepts: `2130706433`,
//!   `0177.0.0.1`, `0x7f.1`, `127.1` (see `host`);
//! - IPv6 loopback, unspecified, link-local and unique-local addresses, and
//!   IPv4-mapped / -compatible / NAT64 forms of internal IPv4 addresses
//!   (`[::ffff:127.0.0.1]`, `[::ffff:7f00:1]`);
//! - cloud metadata endpoints (`169.254.169.254`, `100.100.100.200`,
//!   `169.254.170.2`, `fd00:ec2::254`, `metadata.google.internal`);
//! - names that resolve to loopback by design (`localhost`, `*.localhost`,
//!   `localtest.me`, `lvh.me`, …) and wildcard DNS services with an internal
//!   address inside (`127.0.0.1.nip.io`, `10-0-0-1.sslip.io`, `7f000001.xip.io`).
//!
//! Userinfo tricks (`http://good.com@127.0.0.1/`) are resolved as a URL
//! parser would: the host is what follows the last `@`.
//!
//! Dangerous schemes (`gopher`, `dict`, `file`, `ldap`, `jar`, `tftp`,
//! `netdoc`, `sftp`) are reported on their own, more strongly when the host
//! is internal. A bare internal IPv4/IPv6 literal as the whole value is a
//! weak signal; public hosts and bare public addresses (version numbers) are
//! not reported.
//!
//! # Limits
//! - At most `MAX_COLONS` `:` positions are examined per view.
//! - Schemes longer than `MAX_SCHEME_LEN` bytes and authorities longer than
//!   `MAX_AUTHORITY_LEN` bytes are ignored; host names longer than 253
//!   bytes are not classified.
//! - Work is linear in the value length and nothing is allocated unless a
//!   hit is pushed. Unicode look-alike digits and dots are not normalised.

mod host;

use crate::{Detector, DetectorKind, Hit, View};

use host::classify_host;

/// Most `:` positions examined per view.
pub const MAX_COLONS: usize = 64;
/// Longest scheme considered, in bytes.
pub const MAX_SCHEME_LEN: usize = 16;
/// Longest authority considered, in bytes.
pub const MAX_AUTHORITY_LEN: usize = 512;

/// The SSRF detector.
#[derive(Clone, Debug, Default)]
pub struct SsrfDetector {}

impl Detector for SsrfDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Ssrf
    }

    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>) {
        scan(view.bytes(), view.classes().ssrf(), out);
    }
}

/// A scheme the server would speak on the attacker's behalf.
struct RiskyScheme {
    name: &'static [u8],
    confidence: f32,
    reason: &'static str,
}

const RISKY_SCHEMES: &[RiskyScheme] = &[
    RiskyScheme {
        name: b"gopher",
        confidence: 0.9,
        reason: "gopher URL: lets a server send arbitrary bytes to any TCP service",
    },
    RiskyScheme {
        name: b"dict",
        confidence: 0.85,
        reason: "dict URL: talks raw lines to a TCP service",
    },
    RiskyScheme {
        name: b"file",
        confidence: 0.7,
        reason: "file URL: reads the server's local files",
    },
    RiskyScheme {
        name: b"netdoc",
        confidence: 0.85,
        reason: "netdoc URL: Java's local-file URL handler",
    },
    RiskyScheme {
        name: b"jar",
        confidence: 0.8,
        reason: "jar URL: Java fetches and opens a remote archive",
    },
    RiskyScheme {
        name: b"tftp",
        confidence: 0.8,
        reason: "tftp URL: UDP file transfer from the server",
    },
    RiskyScheme {
        name: b"ldap",
        confidence: 0.6,
        reason: "ldap URL: directory lookup made by the server",
    },
    RiskyScheme {
        name: b"ldaps",
        confidence: 0.6,
        reason: "ldaps URL: directory lookup made by the server",
    },
    RiskyScheme {
        name: b"sftp",
        confidence: 0.6,
        reason: "sftp URL: SSH file transfer made by the server",
    },
];

/// Schemes WHATWG parsers treat as "special" (backslashes act as slashes,
/// one slash suffices).
fn is_special(scheme: &[u8]) -> bool {
    [
        &b"http"[..],
        b"https",
        b"ftp",
        b"ws",
        b"wss",
        b"gopher",
        b"file",
    ]
    .iter()
    .any(|s| s.eq_ignore_ascii_case(scheme))
}

fn is_scheme_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'-' || c == b'.'
}

/// Bytes that end an authority inside a larger value.
fn ends_authority(c: u8) -> bool {
    matches!(
        c,
        b'/' | b'\\'
            | b'?'
            | b'#'
            | b'"'
            | b'\''
            | b'<'
            | b'>'
            | b'`'
            | b'('
            | b')'
            | b'{'
            | b'}'
            | b'|'
            | b'^'
            | b','
            | b';'
    ) || c.is_ascii_whitespace()
        || c < 0x20
}

/// The class bits of each byte (one lane of
/// [`crate::classes::ByteClasses`]): [`COLON`] for `:`.
pub(crate) const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b':' as usize] = COLON;
    t
};

/// A `:`, which every URL with a scheme needs.
const COLON: u8 = 1;

/// Scans one view, `b`; `m`: its [`BYTE_CLASS`] bits.
pub(crate) fn scan(b: &[u8], m: u8, out: &mut Vec<Hit>) {
    let found_before = out.len();
    let lead = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    if b[lead..].starts_with(b"//") || b[lead..].starts_with(b"\\\\") {
        check_url(b, lead, lead + 2, None, out);
    }
    if m & COLON != 0 {
        for (n, colon) in memchr::memchr_iter(b':', b).enumerate() {
            if n >= MAX_COLONS {
                break;
            }
            check_colon(b, colon, out);
        }
    }
    if out.len() == found_before {
        check_bare(b, out);
    }
}

/// Looks at one `:` as the end of a scheme.
fn check_colon(b: &[u8], colon: usize, out: &mut Vec<Hit>) {
    let mut s = colon;
    while s > 0 && colon - s <= MAX_SCHEME_LEN && is_scheme_char(b[s - 1]) {
        s -= 1;
    }
    if s > 0 && is_scheme_char(b[s - 1]) {
        return; // longer than any scheme
    }
    while s < colon && !b[s].is_ascii_alphabetic() {
        s += 1;
    }
    if s == colon {
        return;
    }
    let scheme = &b[s..colon];
    let rest = &b[colon + 1..];
    let slashes = rest
        .iter()
        .take(3)
        .take_while(|&&c| c == b'/' || c == b'\\')
        .count();
    let risky = RISKY_SCHEMES
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(scheme));
    if let Some(r) = risky {
        // `jar:` wraps another URL; the others need a path or authority.
        let shaped = if r.name == b"jar" {
            rest.first().is_some_and(|c| c.is_ascii_alphabetic())
                && memchr::memchr(b':', &rest[..rest.len().min(MAX_SCHEME_LEN + 1)]).is_some()
        } else {
            slashes >= 1 && (rest[0] == b'/' || is_special(scheme))
        };
        if !shaped {
            return;
        }
    }
    let has_authority = if is_special(scheme) {
        slashes >= 1
    } else {
        rest.starts_with(b"//")
    };
    let auth = if has_authority {
        Some(colon + 1 + slashes)
    } else {
        None
    };
    match (auth, risky) {
        (Some(a), r) => check_url(b, s, a, r, out),
        (None, Some(r)) => {
            let end = url_end(b, colon + 1);
            out.push(Hit {
                class: "dangerous-scheme",
                confidence: r.confidence,
                span: s..end,
                reason: r.reason.into(),
            });
        }
        (None, None) => {}
    }
}

/// End of a URL-ish token starting at `from` (bounded).
fn url_end(b: &[u8], from: usize) -> usize {
    let limit = (from + MAX_AUTHORITY_LEN).min(b.len());
    b[from..limit]
        .iter()
        .position(|&c| c.is_ascii_whitespace() || c == b'"' || c == b'\'' || c == b'<' || c == b'>')
        .map_or(limit, |p| from + p)
}

/// Parses the authority at `auth` and reports the URL starting at `start`.
fn check_url(b: &[u8], start: usize, auth: usize, risky: Option<&RiskyScheme>, out: &mut Vec<Hit>) {
    let limit = (auth + MAX_AUTHORITY_LEN + 1).min(b.len());
    let Some(auth_end) = b[auth..limit]
        .iter()
        .position(|&c| ends_authority(c))
        .map(|p| auth + p)
        .or((limit == b.len()).then_some(limit))
    else {
        return;
    };
    let authority = &b[auth..auth_end];
    let (host_start, userinfo) = match memchr::memrchr(b'@', authority) {
        Some(at) => (at + 1, true),
        None => (0, false),
    };
    let host_port = &authority[host_start..];
    let host = if host_port.first() == Some(&b'[') {
        match memchr::memchr(b']', host_port) {
            Some(close) => &host_port[..=close],
            None => host_port,
        }
    } else {
        match memchr::memchr(b':', host_port) {
            Some(p) => &host_port[..p],
            None => host_port,
        }
    };
    // A protocol-relative `//host` (no scheme) may just be a token that starts
    // with slashes: only dotted, bracketed or alphabetic hosts count there.
    let plain_name = host.iter().all(|&c| c.is_ascii_alphabetic() || c == b'-');
    if risky.is_none()
        && start + 2 == auth
        && !(plain_name || host.first() == Some(&b'[') || memchr::memchr(b'.', host).is_some())
    {
        return;
    }
    let verdict = classify_host(host);
    let end = url_end(b, auth_end.max(auth));
    let (class, mut confidence, reason): (&'static str, f32, String) = match (verdict, risky) {
        (Some(v), Some(r)) if v.confidence >= 0.5 => (
            "dangerous-scheme",
            (r.confidence.max(v.confidence) + 0.1).min(1.0),
            format!("{}, aimed at {}", r.reason, v.reason),
        ),
        (Some(v), _) if v.confidence >= 0.5 => {
            (v.class, v.confidence, format!("URL host is {}", v.reason))
        }
        (_, Some(r)) => ("dangerous-scheme", r.confidence, r.reason.to_string()),
        (Some(v), None) => (v.class, v.confidence, format!("URL host is {}", v.reason)),
        (None, None) => return,
    };
    let reason = if userinfo && confidence >= 0.5 {
        confidence = (confidence + 0.05).min(1.0);
        format!("{reason} (behind a userinfo `@`)")
    } else {
        reason
    };
    out.push(Hit {
        class,
        confidence,
        span: start..end,
        reason: reason.into(),
    });
}

/// A whole value that is a bare internal address literal, with an optional port.
fn check_bare(b: &[u8], out: &mut Vec<Hit>) {
    let t = b.trim_ascii();
    let Some(&first) = t.first() else { return };
    if !(first.is_ascii_digit() || first == b'[') || t.len() > 64 {
        return;
    }
    let host = if first == b'[' {
        match memchr::memchr(b']', t) {
            Some(close) if close + 1 == t.len() || t[close + 1] == b':' => &t[..=close],
            _ => return,
        }
    } else {
        let h = match memchr::memchr(b':', t) {
            Some(p) if t[p + 1..].iter().all(u8::is_ascii_digit) => &t[..p],
            Some(_) => return,
            None => t,
        };
        // Only canonical dotted quads: "0.1" or "2" are numbers, not addresses.
        if h.iter().filter(|&&c| c == b'.').count() != 3
            || !h.iter().all(|&c| c.is_ascii_digit() || c == b'.')
        {
            return;
        }
        h
    };
    if let Some(v) = classify_host(host) {
        if v.confidence >= 0.5 {
            out.push(Hit {
                class: v.class,
                confidence: 0.3,
                span: 0..b.len(),
                reason: format!("bare address that is {}", v.reason).into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(s: &str) -> f32 {
        let mut out = Vec::new();
        let m = crate::classes::ByteClasses::of(s.as_bytes()).ssrf();
        scan(s.as_bytes(), m, &mut out);
        out.iter().map(|h| h.confidence).fold(0.0, f32::max)
    }

    #[test]
    fn internal_urls_block() {
        for s in [
            "http://127.0.0.1/admin",
            "http://localhost:8080",
            "https://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://good.com@127.0.0.1/",
            "http://127.0.0.1.nip.io/",
            "http://localtest.me/",
            "gopher://127.0.0.1:6379/_INFO",
            "dict://127.0.0.1:11211/stat",
            "file:///etc/passwd",
            "url=http:\\\\127.0.0.1\\x",
            "//169.254.169.254/latest",
            "http://[fd00:ec2::254]/",
            "http://100.100.100.200/latest/meta-data/",
            "jar:http://evil.example/x.jar!/",
            "http://0/",
        ] {
            assert!(best(s) >= 0.5, "{s}: {}", best(s));
        }
    }

    #[test]
    fn public_and_prose_pass() {
        for s in [
            "https://www.example.com/path?q=1",
            "http://8.8.8.8/",
            "1.2.3.4",
            "version 10.0.0.1 released",
            "localhost is where the heart is",
            "time 12:30:45",
            "http://good.com#@127.0.0.1",
            "mailto:bob@example.com",
            "http://1.1.1.1.nip.io/",
        ] {
            assert!(best(s) < 0.5, "{s}: {}", best(s));
        }
    }

    #[test]
    fn bare_internal_ip_is_weak() {
        let c = best("10.0.0.5");
        assert!(c > 0.0 && c < 0.5, "{c}");
        assert_eq!(best("0.1"), 0.0);
    }
}
