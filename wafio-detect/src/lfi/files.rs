//! Sensitive files and stream wrappers.
//!
//! Sensitive names are found with one ASCII-case-insensitive Aho-Corasick
//! automaton. A name with a required parent directory (`passwd` under `etc`)
//! matches when the parent precedes it, with or without separators between
//! them (`/etc/passwd`, `etc\passwd`, and `etcpasswd` as left by stripped
//! backslashes). A name without a parent (`win.ini`, `.htpasswd`) needs a
//! path context: a separator or a run of dots right before it, or the start
//! of the value.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// One sensitive file name.
pub(crate) struct Sensitive {
    pub name: &'static str,
    /// Directories one of which must precede `name` (empty: none required).
    pub parents: &'static [&'static str],
    /// Confidence when found in a path context.
    pub confidence: f32,
    /// The name alone as the whole value is enough to block.
    pub alone_blocks: bool,
}

const fn s(
    name: &'static str,
    parents: &'static [&'static str],
    confidence: f32,
    alone: bool,
) -> Sensitive {
    Sensitive {
        name,
        parents,
        confidence,
        alone_blocks: alone,
    }
}

/// The sensitive-file table.
pub(crate) static SENSITIVE: &[Sensitive] = &[
    s("passwd", &["etc"], 0.9, false),
    s("master.passwd", &["etc"], 0.9, false),
    s("shadow", &["etc"], 0.9, false),
    s("group", &["etc"], 0.7, false),
    s("hosts", &["etc"], 0.7, false),
    s("issue", &["etc"], 0.7, false),
    s("sudoers", &["etc"], 0.9, false),
    s("crontab", &["etc"], 0.7, false),
    s("environ", &["self", "proc"], 0.9, false),
    s("cmdline", &["self", "proc"], 0.9, false),
    s("version", &["proc"], 0.8, false),
    s("self", &["proc"], 0.8, false),
    s("web.xml", &["web-inf"], 0.85, false),
    s("sam", &["config", "repair"], 0.8, false),
    s("config", &[".git"], 0.8, false),
    s("win.ini", &[], 0.85, true),
    s("system.ini", &[], 0.8, true),
    s("boot.ini", &[], 0.85, true),
    s("web.config", &[], 0.8, true),
    s("global.asa", &[], 0.8, true),
    s(".htaccess", &[], 0.8, true),
    s(".htpasswd", &[], 0.85, true),
    s("id_rsa", &[], 0.85, true),
    s("id_dsa", &[], 0.85, true),
    s("id_ecdsa", &[], 0.85, true),
    s("id_ed25519", &[], 0.85, true),
    s("authorized_keys", &[], 0.8, true),
    s(".bash_history", &[], 0.8, true),
    s("wp-config.php", &[], 0.8, true),
    s("php.ini", &[], 0.7, false),
    s("httpd.conf", &[], 0.7, false),
    s("apache2.conf", &[], 0.7, false),
    s("nginx.conf", &[], 0.7, false),
    s("my.cnf", &[], 0.7, false),
    s(".env", &[], 0.7, false),
    s("access.log", &[], 0.6, false),
    s("error.log", &[], 0.6, false),
    s("access_log", &[], 0.6, false),
    s("error_log", &[], 0.6, false),
];

/// The longest name of [`SENSITIVE`]: a longer value is none of them.
const LONGEST_NAME: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < SENSITIVE.len() {
        if SENSITIVE[i].name.len() > n {
            n = SENSITIVE[i].name.len();
        }
        i += 1;
    }
    n
};

pub(crate) static SENSITIVE_AC: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(SENSITIVE.iter().map(|s| s.name))
        .unwrap_or_else(|e| panic!("static sensitive-file table must compile: {e}"))
});

/// A sensitive-file finding.
pub(crate) struct FileHit {
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
    pub name: &'static str,
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn is_sep(c: u8) -> bool {
    c == b'/' || c == b'\\'
}

/// Start of the parent directory name ending right before `end` (skipping
/// separators), if it is one of `parents`.
fn parent_before(b: &[u8], end: usize, parents: &[&str]) -> Option<usize> {
    let mut e = end;
    while e > 0 && is_sep(b[e - 1]) {
        e -= 1;
    }
    parents.iter().find_map(|p| {
        let p = p.as_bytes();
        if e < p.len() || !b[e - p.len()..e].eq_ignore_ascii_case(p) {
            return None;
        }
        let s = e - p.len();
        if s > 0 && b[s - 1].is_ascii_alphanumeric() {
            // A longer word that merely ends like the parent ("setc").
            // Allowed only when glued to a climb or separator before.
            return None;
        }
        Some(s)
    })
}

/// Every parent directory of [`SENSITIVE`] (each entry's `parents`).
const PARENTS: [&str; 7] = ["etc", "self", "proc", "web-inf", "config", "repair", ".git"];

/// Finds `..`; built once (a one-off search builds its searcher per call).
static DOTDOT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b".."));

/// Whether [`find_sensitive`] can report anything in `b`: a cheap
/// necessary condition that spares the automaton pass over most values.
///
/// Without a separator (`/`, `\`) or a `..` in the value, a name without
/// parent has no path context and counts only as the whole value, and a
/// name with parents counts only glued to a parent (`etcpasswd`) that
/// starts the value or follows a dot. So the value must be one of the
/// names, or hold a parent at its start or right after a dot.
fn may_hold_sensitive(b: &[u8]) -> bool {
    if memchr::memchr2(b'/', b'\\', b).is_some() || DOTDOT.find(b).is_some() {
        return true;
    }
    if b.len() <= LONGEST_NAME
        && SENSITIVE
            .iter()
            .any(|s| b.eq_ignore_ascii_case(s.name.as_bytes()))
    {
        return true;
    }
    let parent_at = |p: usize| {
        PARENTS.iter().any(|w| {
            b.get(p..p + w.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(w.as_bytes()))
        })
    };
    parent_at(0) || memchr::memchr_iter(b'.', b).any(|k| parent_at(k + 1))
}

/// Finds sensitive files; calls `f` for each. Allocation-free.
pub(crate) fn find_sensitive(b: &[u8], f: impl FnMut(FileHit)) {
    if may_hold_sensitive(b) {
        full_pass(b, f);
    }
}

/// The automaton pass of [`find_sensitive`].
fn full_pass(b: &[u8], mut f: impl FnMut(FileHit)) {
    for m in SENSITIVE_AC.find_overlapping_iter(b) {
        let e = &SENSITIVE[m.pattern().as_usize()];
        let (start, end) = (m.start(), m.end());
        // The name must end the path component.
        if end < b.len()
            && (is_name_byte(b[end])
                || (b[end] == b'.' && b.get(end + 1).is_some_and(|c| c.is_ascii_alphanumeric())))
        {
            continue;
        }
        if !e.parents.is_empty() {
            if let Some(ps) = parent_before(b, start, e.parents) {
                let glued_name = start > 0 && !is_sep(b[start - 1]);
                // `etcpasswd` only counts with dots, separators or the start before it.
                if glued_name && ps > 0 && !(is_sep(b[ps - 1]) || b[ps - 1] == b'.') {
                    continue;
                }
                f(FileHit {
                    start: ps,
                    end,
                    confidence: e.confidence,
                    name: e.name,
                });
            }
            continue;
        }
        // No parent required: needs path context or the whole value.
        let ctx_sep = start > 0
            && (is_sep(b[start - 1])
                || (b[start - 1] == b'.' && start >= 2 && b[start - 2] == b'.'));
        let ctx_name = e.name.starts_with('.') && start > 0 && is_sep(b[start - 1]);
        if ctx_sep || ctx_name {
            f(FileHit {
                start,
                end,
                confidence: e.confidence,
                name: e.name,
            });
        } else if start == 0 && end == b.len() && e.alone_blocks {
            f(FileHit {
                start,
                end,
                confidence: 0.5,
                name: e.name,
            });
        }
    }
}

/// A stream-wrapper finding.
pub(crate) struct WrapperHit {
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
    pub class: &'static str,
    pub reason: &'static str,
}

/// Finds PHP/Java stream wrappers and `file:` URIs. Allocation-free.
pub(crate) fn find_wrappers(b: &[u8], mut f: impl FnMut(WrapperHit)) {
    for colon in memchr::memchr_iter(b':', b) {
        let mut s = colon;
        while s > 0 && colon - s < 20 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'.') {
            s -= 1;
        }
        // A longer word, or a scheme nested in another (`jar:file:`), is
        // reported once, by the outer scheme.
        if s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'.' || b[s - 1] == b':') {
            continue;
        }
        let scheme = &b[s..colon];
        let rest = &b[colon + 1..];
        let slashes = rest.starts_with(b"//");
        let lc = |w: &str| scheme.eq_ignore_ascii_case(w.as_bytes());
        let hit = if (lc("php") || lc("expect")) && slashes {
            Some((
                0.9,
                "stream-wrapper",
                "PHP stream wrapper (php://, expect://)",
            ))
        } else if (lc("zip")
            || lc("phar")
            || lc("glob")
            || lc("compress.zlib")
            || lc("compress.bzip2")
            || lc("rar")
            || lc("ogg")
            || lc("data"))
            && slashes
        {
            Some((0.8, "stream-wrapper", "archive/data stream wrapper"))
        } else if lc("data") && rest.len() >= 10 && rest[..10].eq_ignore_ascii_case(b"text/plain") {
            Some((0.6, "stream-wrapper", "data: wrapper with inline text"))
        } else if lc("file") && rest.first().is_some_and(|&c| is_sep(c)) {
            Some((0.8, "file-uri", "file: URI naming a local path"))
        } else if lc("jar")
            && [&b"file:"[..], b"http:", b"https:", b"ftp:"]
                .iter()
                .any(|p| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p))
        {
            Some((0.8, "stream-wrapper", "Java jar: URL"))
        } else if lc("netdoc") && slashes {
            Some((0.8, "stream-wrapper", "Java netdoc: URL"))
        } else {
            None
        };
        if let Some((confidence, class, reason)) = hit {
            let end = (colon
                + 1
                + rest
                    .iter()
                    .position(|c| c.is_ascii_whitespace())
                    .unwrap_or(rest.len()))
            .min(b.len());
            f(WrapperHit {
                start: s,
                end,
                confidence,
                class,
                reason,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(b: &[u8]) -> f32 {
        let mut c = 0f32;
        find_sensitive(b, |h| c = c.max(h.confidence));
        c
    }

    #[test]
    fn parents_table_is_complete() {
        for s in SENSITIVE {
            for p in s.parents {
                assert!(PARENTS.contains(p), "{p} missing from PARENTS");
            }
        }
    }

    /// Values without a separator or `..` that still hold a finding: the
    /// shortcut of [`may_hold_sensitive`] lets each through.
    #[test]
    fn shortcut_keeps_glued_and_whole_names() {
        for v in [
            &b"etcpasswd"[..],
            b"x.etcpasswd",
            b"PROCSELF",
            b"x.procversion",
            b"web-infweb.xml",
            b"configsam",
            b"a.repairsam",
            b"boot.ini",
            b"WIN.INI",
        ] {
            let mut n = 0;
            full_pass(v, |_| n += 1);
            assert!(n > 0, "{}", String::from_utf8_lossy(v));
            assert!(may_hold_sensitive(v), "{}", String::from_utf8_lossy(v));
        }
        assert!(!may_hold_sensitive(b"chr(113)||chr(113) and x.y"));
        assert!(!may_hold_sensitive(b"xetcpasswd"));
    }

    proptest::proptest! {
        /// Values built from path-ish pieces: whatever the shortcut skips,
        /// the automaton pass finds nothing in either.
        #[test]
        fn shortcut_agrees_with_the_full_pass(v in pieces()) {
            if !may_hold_sensitive(&v) {
                let mut n = 0;
                full_pass(&v, |_| n += 1);
                proptest::prop_assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&v));
            }
        }
    }

    fn pieces() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let atoms: Vec<&'static [u8]> = vec![
            b"etc",
            b"ETC",
            b"passwd",
            b"shadow",
            b"proc",
            b"self",
            b"environ",
            b"version",
            b"web-inf",
            b"web.xml",
            b"config",
            b"repair",
            b"sam",
            b".git",
            b"win.ini",
            b"boot.ini",
            b".htaccess",
            b".env",
            b"id_rsa",
            b"php.ini",
            b"access.log",
            b".",
            b".",
            b"x",
            b"1",
            b"_",
            b"-",
            b" ",
            b":",
            b"%",
            b"'",
        ];
        proptest::collection::vec(proptest::sample::select(atoms), 0..8).prop_map(|v| v.concat())
    }

    #[test]
    fn parents() {
        assert!(best(b"/etc/passwd") >= 0.9);
        assert!(best(b"..\\..\\etc\\passwd") >= 0.9);
        assert!(best(b"....etcpasswd") >= 0.9);
        assert_eq!(best(b"my passwd"), 0.0);
        assert_eq!(best(b"/setcpasswd"), 0.0);
        assert_eq!(best(b"/etc/passwd.txt"), 0.0);
        assert!(best(b"/proc/self/environ") >= 0.9);
        assert!(best(b"WEB-INF/web.xml") >= 0.8);
    }

    #[test]
    fn context_names() {
        assert!(best(b"c:/boot.ini") >= 0.8);
        assert!((best(b"boot.ini") - 0.5).abs() < 1e-6);
        assert_eq!(best(b"edit your php.ini file"), 0.0);
        assert_eq!(best(b"mywin.ini"), 0.0);
        assert!(best(b"/var/www/.env") >= 0.7);
    }

    #[test]
    fn wrappers() {
        let mut n = 0;
        find_wrappers(
            b"php://filter/convert.base64-encode/resource=index.php",
            |_| n += 1,
        );
        find_wrappers(b"file:/etc/passwd", |_| n += 1);
        find_wrappers(b"jar:file:/tmp/x.jar!/", |_| n += 1);
        assert_eq!(n, 3);
        find_wrappers(b"data:image/png;base64,AAAA", |_| n += 1);
        find_wrappers(b"note: php is fun", |_| n += 1);
        find_wrappers(b"https://example.com/", |_| n += 1);
        assert_eq!(n, 3);
    }
}
