//! Python: server-side template injection, pickle payloads, code injection.
//!
//! - **Template injection** (Jinja2, Mako, Tornado, Django): the scanner
//!   (`scan`) tokenizes the value and tracks template contexts (`{{ … }}`,
//!   `{% … %}`, `${ … }`, `<% … %>`). Inside one it follows attribute chains
//!   and reports access to dunder attributes (`.__class__`, `['__globals__']`,
//!   `|attr('__init__')`), the `attr` filter, module escapes
//!   (`….os.popen(`, `….subprocess.…(`), and `import` statements
//!   (`{% import os %}`, `<%! import os %>`). Arithmetic probes (`{{7*7}}`)
//!   are weak. Placeholders (`{{name}}`, `${price}`) have none of these.
//! - **Code injection** outside templates: `__import__(`, calls through `os`,
//!   `subprocess`, `pty`, `commands`, `importlib`, `eval`/`exec` of
//!   `compile(…)`, a string or a decoder, `getattr(__builtins__, …)`, and
//!   chains of two or more dunder accesses (`().__class__.__bases__`).
//!   Prose ("import data", "eval week", "the class of 2020") has no call or
//!   attribute syntax.
//! - **PyYAML tags**: `!!python/object/apply:`, `!!python/object/new:`,
//!   `!!python/name:`, `!!python/module:` (unsafe loaders run them).
//! - **Pickle**: the value (or its base64 view) is walked as a pickle
//!   opcode stream (`pickle`) when its first byte can start one.
//!
//! # Limits
//! Linear time; no allocation on a clean value; the token window holds
//! `WIN` tokens; pickle walks are bounded by `pickle::MAX_OPS`. The
//! tokenizer runs only on values holding a template opener, `__`, or a
//! name the rules need (`eval`, `exec`, `builtins`, a module name with a
//! `.`), found with one SIMD substring search per name.

mod pickle;

use crate::{Detector, DetectorKind, Hit, View};

/// Tokens remembered for matching.
pub const WIN: usize = 8;

/// The Python detector.
#[derive(Clone, Debug, Default)]
pub struct PythonDetector {}

impl Detector for PythonDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Python
    }

    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>) {
        let b = view.bytes();
        let Some(&first) = b.first() else { return };
        let m = view.classes().python();
        let pickle_start =
            first == 0x80 || (m & NEWLINE != 0 && matches!(first, b'c' | b'(' | b'i'));
        if pickle_start && pickle_hit(b, out) {
            return;
        }
        if m & BANG != 0 && yaml_tag(b, out) {
            return;
        }
        let dunder = || memchr::memchr_iter(b'_', b).any(|p| b.get(p + 1) == Some(&b'_'));
        if (m & CODE != 0 && may_be_code(b, m)) || (m & UNDERSCORE != 0 && dunder()) {
            scan(b, out);
        }
    }
}

/// Literals without which [`scan`] finds nothing: a template opener (every
/// template rule and the arithmetic probe need one), `__` (dunder access,
/// `__import__`, `__builtins__`), the `eval`/`exec` callees, `builtins`
/// (`getattr(builtins, …)`) and the [`MODULES`] names (module calls, which
/// also need a `.`; `posix` contains `os`). Matching is exact-case, as in
/// [`judge`].
const CODE_NEEDLES: &[&str] = &[
    "{{",
    "{%",
    "${",
    "<%",
    "__",
    "eval",
    "exec",
    "builtins",
    "os",
    "subprocess",
    "pty",
    "commands",
    "importlib",
];

/// The template openers lead [`CODE_NEEDLES`].
const OPENERS: usize = 4;

/// Index of the first [`MODULES`] name in [`CODE_NEEDLES`].
const FIRST_MODULE: usize = 8;

/// The searchers of [`may_be_code`], built once, indexed by
/// `2 * dot + opener`: the [`MODULES`] names only when the value has a `.`
/// (module calls need one), the template openers only when it has a `{` or
/// a `%` (each opener holds one). A few vectorised passes over a value cost
/// less than the tokenizer.
static CODE_FINDERS: std::sync::LazyLock<[crate::needles::Needles; 4]> =
    std::sync::LazyLock::new(|| {
        let set = |modules: bool, openers: bool| {
            let from = if openers { 0 } else { OPENERS };
            let to = if modules {
                CODE_NEEDLES.len()
            } else {
                FIRST_MODULE
            };
            crate::needles::Needles::new(&CODE_NEEDLES[from..to])
        };
        [
            set(false, false),
            set(false, true),
            set(true, false),
            set(true, true),
        ]
    });

/// Whether [`scan`] can find anything in `b` (see [`CODE_NEEDLES`]); `m`
/// is the union of the [`BYTE_CLASS`] bits of `b`.
fn may_be_code(b: &[u8], m: u8) -> bool {
    let dot = m & DOT != 0;
    let opener = m & OPENER != 0;
    CODE_FINDERS[2 * usize::from(dot) + usize::from(opener)].any_in(b)
}

const NEWLINE: u8 = 1;
const BANG: u8 = 2;
/// `(`, which calls need.
const PAREN: u8 = 4;
const UNDERSCORE: u8 = 8;
/// `{` or `%`: one of them is in every template opener.
const OPENER: u8 = 16;
/// `.`, which module calls need.
const DOT: u8 = 32;
/// Bytes without which [`scan`] finds no code outside a dunder access.
const CODE: u8 = PAREN | OPENER;

/// One pass over the value tells which checks can match at all (one lane
/// of [`crate::classes::ByteClasses`]).
pub(crate) const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\n' as usize] = NEWLINE;
    t[b'!' as usize] = BANG;
    t[b'(' as usize] = PAREN;
    t[b'{' as usize] = OPENER;
    t[b'%' as usize] = OPENER;
    t[b'_' as usize] = UNDERSCORE;
    t[b'.' as usize] = DOT;
    t
};

fn pickle_hit(b: &[u8], out: &mut Vec<Hit>) -> bool {
    let v = pickle::walk(b);
    let (confidence, reason) = if v.dangerous && v.call {
        (
            0.95,
            "pickle stream imports a code-executing callable and calls it",
        )
    } else if v.import && v.call && v.stopped && v.ops >= 4 {
        (0.7, "pickle stream imports a callable and calls it")
    } else if v.dangerous && v.header {
        (0.6, "pickle stream imports a code-executing callable")
    } else {
        return false;
    };
    out.push(Hit {
        class: "pickle",
        confidence,
        span: 0..b.len(),
        reason: reason.into(),
    });
    true
}

/// PyYAML tags that import and call Python objects under an unsafe loader.
fn yaml_tag(b: &[u8], out: &mut Vec<Hit>) -> bool {
    for p in memchr::memmem::find_iter(b, b"!!python/") {
        let rest = &b[p + 9..];
        let dangerous = [
            &b"object/apply:"[..],
            b"object/new:",
            b"name:",
            b"module:",
            b"object:",
        ]
        .iter()
        .any(|t| rest.starts_with(t));
        if dangerous {
            let end = rest
                .iter()
                .position(|c| c.is_ascii_whitespace())
                .map_or(b.len(), |e| p + 9 + e);
            out.push(Hit {
                class: "python-yaml",
                confidence: 0.85,
                span: p..end,
                reason: "PyYAML python/object tag constructs or calls a Python object".into(),
            });
            return true;
        }
    }
    false
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum K {
    Ident,
    Dot,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Str,
    Pipe,
    Comma,
    Num,
    Star,
    /// Template opener: `{{`, `{%`, `${`, `<%`.
    Open,
    /// Template closer: `}}`, `%}`, `%>`, or the `}` closing `${`.
    Close,
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    k: K,
    s: usize,
    e: usize,
}

const MODULES: &[&[u8]] = &[
    b"os",
    b"subprocess",
    b"pty",
    b"commands",
    b"importlib",
    b"posix",
    b"builtins",
];

const DECODERS: &[&[u8]] = &[
    b"compile",
    b"b64decode",
    b"decode",
    b"__import__",
    b"bytes",
    b"chr",
    b"open",
];

fn is_dunder(w: &[u8]) -> bool {
    w.len() > 4
        && w.starts_with(b"__")
        && w.ends_with(b"__")
        && w[2..w.len() - 2]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

struct Scanner<'a> {
    b: &'a [u8],
    toks: [Tok; WIN],
    n: usize,
    /// Start of the template context we are in, and brace depth for `${`.
    tmpl: Option<usize>,
    dollar_depth: Option<usize>,
    /// Dunder accesses in the current template expression or code chain.
    dunders: u32,
    first_dunder: usize,
    /// Only digits and arithmetic in the current template so far.
    arith: bool,
    ops_in_tmpl: u32,
}

impl<'a> Scanner<'a> {
    fn get(&self, back: usize) -> Option<Tok> {
        (back < self.n.min(WIN)).then(|| self.toks[(self.n - 1 - back) % WIN])
    }
    fn k(&self, back: usize) -> Option<K> {
        self.get(back).map(|t| t.k)
    }
    fn word(&self, back: usize) -> &'a [u8] {
        self.get(back)
            .filter(|t| t.k == K::Ident)
            .map_or(&[][..], |t| &self.b[t.s..t.e])
    }
    fn str_body(&self, back: usize) -> &'a [u8] {
        self.get(back)
            .filter(|t| t.k == K::Str && t.e >= t.s + 2)
            .map_or(&[][..], |t| &self.b[t.s + 1..t.e - 1])
    }
    fn start(&self, back: usize) -> usize {
        self.get(back).map_or(0, |t| t.s)
    }
}

fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

/// Scans for template injection and code injection; pushes at most one hit.
pub(crate) fn scan(b: &[u8], out: &mut Vec<Hit>) {
    let zero = Tok {
        k: K::Other,
        s: 0,
        e: 0,
    };
    let mut sc = Scanner {
        b,
        toks: [zero; WIN],
        n: 0,
        tmpl: None,
        dollar_depth: None,
        dunders: 0,
        first_dunder: 0,
        arith: true,
        ops_in_tmpl: 0,
    };
    let mut weak: Option<Hit> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let s = i;
        let at = |k: usize| b.get(s + k).copied();
        let (k, len) = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'{' if matches!(at(1), Some(b'{') | Some(b'%')) => (K::Open, 2),
            b'$' if at(1) == Some(b'{') => (K::Open, 2),
            b'<' if at(1) == Some(b'%') => (K::Open, 2),
            b'}' if at(1) == Some(b'}') && sc.tmpl.is_some() && sc.dollar_depth.is_none() => {
                (K::Close, 2)
            }
            b'%' if matches!(at(1), Some(b'}') | Some(b'>')) && sc.tmpl.is_some() => (K::Close, 2),
            b'}' if sc.dollar_depth == Some(0) => (K::Close, 1),
            b'\'' | b'"' => match memchr::memchr(c, &b[s + 1..b.len().min(s + 1 + 256)]) {
                Some(p)
                    if sc.n > 0
                        && !matches!(sc.k(0), Some(K::Ident | K::Str | K::RParen | K::RBrack)) =>
                {
                    (K::Str, p + 2)
                }
                _ => (K::Other, 1),
            },
            c if ident_start(c) => (
                K::Ident,
                b[s..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count(),
            ),
            c if c.is_ascii_digit() => (
                K::Num,
                b[s..].iter().take_while(|c| c.is_ascii_digit()).count(),
            ),
            b'.' => (K::Dot, 1),
            b'(' => (K::LParen, 1),
            b')' => (K::RParen, 1),
            b'[' => (K::LBrack, 1),
            b']' => (K::RBrack, 1),
            b'|' => (K::Pipe, 1),
            b',' => (K::Comma, 1),
            b'*' | b'+' | b'-' | b'/' => (K::Star, 1),
            _ => (K::Other, 1),
        };
        i = s + len;
        // Brace depth inside `${ … }`.
        if let Some(d) = sc.dollar_depth.as_mut() {
            if c == b'{' && k != K::Open {
                *d += 1;
            } else if c == b'}' && k != K::Close {
                *d = d.saturating_sub(1);
            }
        }
        sc.toks[sc.n % WIN] = Tok { k, s, e: i };
        sc.n += 1;
        match k {
            K::Open => {
                sc.tmpl = Some(s);
                sc.dollar_depth = (c == b'$').then_some(0);
                sc.dunders = 0;
                sc.arith = true;
                sc.ops_in_tmpl = 0;
                continue;
            }
            K::Close => {
                if let Some(t) = sc.tmpl {
                    if sc.arith && sc.ops_in_tmpl > 0 && weak.is_none() {
                        weak = Some(Hit {
                            class: "ssti",
                            confidence: 0.3,
                            span: t..i,
                            reason: "template arithmetic probe".into(),
                        });
                    }
                }
                sc.tmpl = None;
                sc.dollar_depth = None;
                sc.dunders = 0;
                continue;
            }
            K::Star => sc.ops_in_tmpl += 1,
            K::Num => {}
            _ => sc.arith = false,
        }
        if let Some((start, confidence, reason)) = judge(&mut sc) {
            let class = if sc.tmpl.is_some() {
                "ssti"
            } else {
                "python-code"
            };
            out.push(Hit {
                class,
                confidence,
                span: start..i,
                reason: reason.into(),
            });
            return;
        }
    }
    if let Some(w) = weak {
        out.push(w);
    }
}

/// Judges the newest token. Returns the evidence start, confidence, reason.
fn judge(sc: &mut Scanner<'_>) -> Option<(usize, f32, &'static str)> {
    let t0 = sc.get(0)?;
    let in_tmpl = sc.tmpl.is_some();
    // Dunder access: `.__x__`, `['__x__']`, `attr('__x__')`, `getattr(x, '__x__')`.
    let dunder_access = match t0.k {
        K::Ident => sc.k(1) == Some(K::Dot) && is_dunder(sc.word(0)),
        K::Str => {
            is_dunder(sc.str_body(0))
                && (sc.k(1) == Some(K::LBrack)
                    || (sc.k(1) == Some(K::LParen) && sc.word(2) == b"attr")
                    || (sc.k(1) == Some(K::Comma)
                        && (sc.k(2) == Some(K::Ident) || sc.k(2) == Some(K::RParen))))
        }
        _ => false,
    };
    if dunder_access {
        if sc.dunders == 0 {
            sc.first_dunder = sc.start(1);
        }
        sc.dunders += 1;
        if in_tmpl {
            return Some((
                sc.tmpl.unwrap_or(sc.first_dunder),
                0.9,
                "template expression reaches dunder attributes",
            ));
        }
        if sc.dunders >= 2 {
            return Some((
                sc.first_dunder,
                0.85,
                "attribute chain through dunder attributes",
            ));
        }
    }
    if t0.k == K::Ident && in_tmpl {
        let w = sc.word(0);
        // `{% import os %}`, `<%! import os %>`, `{% from os import … %}`
        if (w == b"import" || w == b"from") && matches!(sc.k(1), Some(K::Open) | Some(K::Other)) {
            return Some((
                sc.tmpl.unwrap_or(t0.s),
                0.9,
                "import statement inside a template",
            ));
        }
        // `|attr(`
        if w == b"attr" && sc.k(1) == Some(K::Pipe) {
            return Some((
                sc.tmpl.unwrap_or(t0.s),
                0.8,
                "template attr filter reaches hidden attributes",
            ));
        }
    }
    if t0.k == K::LParen {
        let callee = sc.word(1);
        if callee == b"__import__" {
            return Some((sc.start(1), 0.9, "dynamic import with __import__()"));
        }
        // module . func (
        if sc.k(2) == Some(K::Dot) && MODULES.contains(&sc.word(3)) && !callee.is_empty() {
            let start = sc.tmpl.unwrap_or(sc.start(3));
            let conf = if in_tmpl { 0.9 } else { 0.85 };
            return Some((start, conf, "calls into os/subprocess/importlib"));
        }
    }
    if matches!(t0.k, K::Str | K::Ident) && sc.k(1) == Some(K::LParen) {
        let callee = sc.word(2);
        if (callee == b"eval" || callee == b"exec") && sc.k(3) != Some(K::Dot) {
            let conf = if t0.k == K::Str {
                if callee == b"exec" {
                    0.7
                } else {
                    0.6
                }
            } else if DECODERS.contains(&sc.word(0)) {
                0.9
            } else {
                return None;
            };
            return Some((sc.start(2), conf, "evaluates code with eval/exec"));
        }
        if callee == b"getattr" && (sc.word(0) == b"__builtins__" || sc.word(0) == b"builtins") {
            return Some((sc.start(2), 0.9, "getattr on the builtins module"));
        }
    }
    if matches!(t0.k, K::LBrack | K::Dot) && sc.word(1) == b"__builtins__" {
        return Some((sc.start(1), 0.85, "reaches into __builtins__"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_needles_are_grouped() {
        // The openers come first and each holds a byte of `OPENER`; no
        // other needle does (so leaving the openers out needs no `{`/`%`).
        let opener = |n: &str| n.bytes().any(|c| BYTE_CLASS[c as usize] & OPENER != 0);
        assert!(CODE_NEEDLES[..OPENERS].iter().all(|n| opener(n)));
        assert!(CODE_NEEDLES[OPENERS..].iter().all(|n| !opener(n)));
        let modules: Vec<&[u8]> = CODE_NEEDLES[FIRST_MODULE..]
            .iter()
            .map(|n| n.as_bytes())
            .collect();
        assert!(modules.iter().all(|n| MODULES.contains(n)));
    }

    fn best(s: &[u8]) -> (f32, &'static str) {
        let mut out = Vec::new();
        let input = crate::Input::new(s);
        for v in input.views() {
            PythonDetector::default().detect(v, &mut out);
            if !out.is_empty() {
                break;
            }
        }
        out.iter()
            .map(|h| (h.confidence, h.class))
            .fold((0.0, ""), |a, b| if b.0 > a.0 { b } else { a })
    }

    #[test]
    fn attacks() {
        for s in [
            &b"{{''.__class__.__mro__[1].__subclasses__()}}"[..],
            b"{{config.__class__.__init__.__globals__['os'].popen('id').read()}}",
            b"{% import os %}{{ os.popen('id').read() }}",
            b"${self.module.cache.util.os.system('id')}",
            b"{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            b"{{request|attr('application')|attr('\\x5f\\x5fglobals\\x5f\\x5f')}}",
            b"{{ lipsum.__globals__['os'].popen('id').read() }}",
            b"__import__('os').system('id')",
            b"eval(compile('print(1)', '<s>', 'exec'))",
            b"exec('import os')",
            b"os.popen('id').read()",
            b"subprocess.check_output(['id'])",
            b"getattr(__builtins__, 'eval')('1')",
            b"().__class__.__bases__[0].__subclasses__()",
            b"cos\nsystem\n(S'id'\ntR.",
            b"Y29zCnN5c3RlbQooUydpZCcKdFIu",
            b"<%import os%>${os.system('id')}",
        ] {
            let (c, _) = best(s);
            assert!(c >= 0.5, "{}: {c}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn benign() {
        for s in [
            &b"Hello {{name}}"[..],
            b"${HOME}/data",
            b"${price}",
            b"the class of 2020",
            b"import data",
            b"eval week",
            b"{\"a\": \"{{ user.first_name|title }}\"}",
            b"see the __init__ method",
            b"{% if user %}hi{% endif %}",
            b"os (operating system)",
            b"cats\nand dogs",
        ] {
            let (c, _) = best(s);
            assert!(c < 0.5, "{}: {c}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn arithmetic_probe_is_weak() {
        let (c, class) = best(b"{{7*7}}");
        assert!(c > 0.0 && c < 0.5);
        assert_eq!(class, "ssti");
    }
}
