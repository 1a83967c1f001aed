//! EL / OGNL / SpEL injection: a Java expression token scanner.
//!
//! The value is read as a stream of Java-ish tokens (identifiers, `.`,
//! `(`, `)`, `@`, `#`, `[`, everything else). A short window of the most
//! recent tokens is matched against the shapes that turn an expression
//! language into code execution:
//!
//! - `getRuntime ( ) . exec (` and `Runtime . getRuntime (`;
//! - `new <qualified.Name> (` for `java.*`/`javax.*` classes and process,
//!   script-engine, class-loader and JNDI classes;
//! - reflection: `. forName (`, `getClass ( ) . getMethod (` and friends;
//! - SpEL type references `T ( a.b.C )`;
//! - OGNL static access `@a.b.C@member` and sandbox objects
//!   (`_memberAccess`, `DEFAULT_MEMBER_ACCESS`, `#context`).
//!
//! A class name in a stack trace (`java.lang.NullPointerException`,
//! `at java.lang.Runtime.exec(Runtime.java:620)`) matches none of these.
//!
//! # Limits
//! Linear in the value; the value is tokenized only when it holds one of
//! the identifiers the shapes need, a lone `T` or two `@`; the window holds
//! `WINDOW` tokens; no allocation unless a hit is pushed; at most one hit
//! per value.

use super::{AT, BIG_T, HASH, PAREN, UPPER};
use crate::Hit;

/// Tokens remembered for matching.
pub const WINDOW: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum K {
    Ident,
    Dot,
    LParen,
    RParen,
    At,
    Hash,
    LBrack,
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    k: K,
    s: u32,
    e: u32,
}

struct Ring {
    toks: [Tok; WINDOW],
    n: usize,
}

impl Ring {
    fn push(&mut self, t: Tok) {
        self.toks[self.n % WINDOW] = t;
        self.n += 1;
    }
    /// The token `back` places before the newest (0 = newest).
    fn get(&self, back: usize) -> Option<Tok> {
        (back < self.n.min(WINDOW)).then(|| self.toks[(self.n - 1 - back) % WINDOW])
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

/// Classes whose construction is code execution, JNDI or class loading.
const DANGEROUS_NEW: &[&[u8]] = &[
    b"ProcessBuilder",
    b"ScriptEngineManager",
    b"URLClassLoader",
    b"InitialContext",
    b"ObjectInputStream",
    b"JdbcRowSetImpl",
    b"TemplatesImpl",
];

/// Reflective members reached from `getClass()`.
const REFLECTIVE: &[&[u8]] = &[
    b"forName",
    b"getClassLoader",
    b"getMethod",
    b"getMethods",
    b"getDeclaredMethod",
    b"getDeclaredMethods",
    b"getDeclaredField",
    b"getDeclaredConstructor",
    b"getConstructor",
    b"getResource",
    b"getProtectionDomain",
    b"newInstance",
];

/// OGNL sandbox internals.
const OGNL_SANDBOX: &[&[u8]] = &[
    b"_memberAccess",
    b"DEFAULT_MEMBER_ACCESS",
    b"OgnlContext",
    b"ognlUtil",
    b"getExcludedClasses",
    b"getExcludedPackageNames",
    b"setExcludedClasses",
    b"allowStaticMethodAccess",
];

/// Callee names without which no call shape in [`check`] matches (case
/// sensitive, as the shapes are): `exec` needs `getRuntime`, the
/// reflective calls need `getClass`, constructions need `new`.
const CALL_NEEDLES: &[&str] = &[
    "getRuntime",
    "forName",
    "getEngineByName",
    "getClass",
    "new",
];

/// OGNL sandbox identifiers (each holds an upper-case letter).
const SANDBOX_NEEDLES: &[&str] = &[
    "_memberAccess",
    "DEFAULT_MEMBER_ACCESS",
    "OgnlContext",
    "ognlUtil",
    "getExcludedClasses",
    "getExcludedPackageNames",
    "setExcludedClasses",
    "allowStaticMethodAccess",
];

/// Searchers built once: a few vectorised passes cost less than an
/// automaton walk over values that hold none of the needles.
static CALLS: std::sync::LazyLock<crate::needles::Needles> =
    std::sync::LazyLock::new(|| crate::needles::Needles::new(CALL_NEEDLES));
static SANDBOX: std::sync::LazyLock<crate::needles::Needles> =
    std::sync::LazyLock::new(|| crate::needles::Needles::new(SANDBOX_NEEDLES));
static CONTEXT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"context"));

/// Whether [`scan`] can find anything in `b`. Every call shape and the
/// SpEL type reference need `(` and a callee name or a lone `T`; OGNL
/// static access needs two `@`, `#context` a `#`, the sandbox names an
/// upper-case letter. `m`: the byte classes of `b` (the caller's pass over
/// the value knows which of these bytes it holds).
pub(crate) fn may_match(b: &[u8], m: u16) -> bool {
    if m & PAREN != 0 {
        // An identifier starts at `T` unless a letter or `_` runs into it
        // (digits and `$` before it are tokens of their own).
        let spel_t = m & BIG_T != 0
            && memchr::memchr_iter(b'T', b).any(|p| {
                (p == 0 || !is_ident_start(b[p - 1])) && b.get(p + 1).is_none_or(|&c| !is_ident(c))
            });
        if spel_t || CALLS.any_in(b) {
            return true;
        }
    }
    (m & AT != 0 && memchr::memchr_iter(b'@', b).nth(1).is_some())
        || (m & HASH != 0 && CONTEXT.find(b).is_some())
        || (m & UPPER != 0 && SANDBOX.any_in(b))
}

/// Scans `b` and pushes at most one hit; `m` as for [`may_match`].
pub(crate) fn scan(b: &[u8], m: u16, out: &mut Vec<Hit>) {
    if may_match(b, m) {
        scan_tokens(b, out);
    }
}

fn scan_tokens(b: &[u8], out: &mut Vec<Hit>) {
    let zero = Tok {
        k: K::Other,
        s: 0,
        e: 0,
    };
    let mut ring = Ring {
        toks: [zero; WINDOW],
        n: 0,
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let k = if is_ident_start(c) {
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            K::Ident
        } else {
            i += 1;
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => continue,
                b'.' => K::Dot,
                b'(' => K::LParen,
                b')' => K::RParen,
                b'@' => K::At,
                b'#' => K::Hash,
                b'[' => K::LBrack,
                _ => K::Other,
            }
        };
        ring.push(Tok {
            k,
            s: start as u32,
            e: i as u32,
        });
        if let Some((first, confidence, reason)) = check(b, &ring) {
            out.push(Hit {
                class: "expression-injection",
                confidence,
                span: first..i,
                reason: reason.into(),
            });
            return;
        }
    }
}

fn text(b: &[u8], t: Tok) -> &[u8] {
    &b[t.s as usize..t.e as usize]
}

fn is(b: &[u8], t: Option<Tok>, k: K, word: &[u8]) -> bool {
    t.is_some_and(|t| t.k == k && (word.is_empty() || text(b, t) == word))
}

/// Walks back over `Ident (. Ident)*` ending at `back`; returns the number of
/// segments, the token index just before the chain, and the first segment.
fn chain_back(b: &[u8], ring: &Ring, back: usize) -> (usize, usize, Option<Tok>) {
    let mut segs = 0;
    let mut j = back;
    let mut first = None;
    while let Some(t) = ring.get(j) {
        if t.k != K::Ident {
            break;
        }
        segs += 1;
        first = Some(t);
        if is(b, ring.get(j + 1), K::Dot, b"") {
            j += 2;
        } else {
            j += 1;
            break;
        }
    }
    (segs, j, first)
}

/// Matches the window ending at the newest token.
fn check(b: &[u8], ring: &Ring) -> Option<(usize, f32, &'static str)> {
    let new = ring.get(0)?;
    let at = |back: usize| ring.get(back).map_or(new.s as usize, |t| t.s as usize);
    match new.k {
        K::Ident => {
            let w = text(b, new);
            if OGNL_SANDBOX.contains(&w) {
                return Some((at(0), 0.9, "reaches into the OGNL sandbox"));
            }
            if w == b"context" && is(b, ring.get(1), K::Hash, b"") {
                return Some((at(1), 0.7, "OGNL #context access"));
            }
            None
        }
        K::LParen => {
            let callee = ring.get(1)?;
            if callee.k != K::Ident {
                return None;
            }
            let name = text(b, callee);
            let after_dot = is(b, ring.get(2), K::Dot, b"");
            match name {
                b"exec"
                    if after_dot
                        && is(b, ring.get(3), K::RParen, b"")
                        && is(b, ring.get(4), K::LParen, b"")
                        && is(b, ring.get(5), K::Ident, b"getRuntime") =>
                {
                    Some((
                        at(5),
                        0.95,
                        "runs a process through Runtime.getRuntime().exec",
                    ))
                }
                b"getRuntime" if after_dot && is(b, ring.get(3), K::Ident, b"Runtime") => {
                    Some((at(3), 0.85, "obtains java.lang.Runtime"))
                }
                b"forName" if after_dot => {
                    Some((at(2), 0.8, "loads a class by name through reflection"))
                }
                b"getEngineByName" if after_dot => Some((at(2), 0.8, "creates a script engine")),
                _ if after_dot
                    && REFLECTIVE.contains(&name)
                    && is(b, ring.get(3), K::RParen, b"")
                    && is(b, ring.get(4), K::LParen, b"")
                    && is(b, ring.get(5), K::Ident, b"getClass") =>
                {
                    Some((at(5), 0.85, "reflection from getClass()"))
                }
                _ => {
                    let (segs, before, first) = chain_back(b, ring, 1);
                    let first_seg = first.map(|t| text(b, t)).unwrap_or_default();
                    let java_pkg = segs >= 3 && (first_seg == b"java" || first_seg == b"javax");
                    if is(b, ring.get(before), K::Ident, b"new")
                        && (java_pkg || DANGEROUS_NEW.contains(&name))
                    {
                        return Some((at(before), 0.85, "constructs a dangerous Java class"));
                    }
                    None
                }
            }
        }
        K::RParen => {
            // SpEL type reference: T ( a.b.C )
            let (segs, before, _) = chain_back(b, ring, 1);
            if segs >= 2
                && is(b, ring.get(before), K::LParen, b"")
                && is(b, ring.get(before + 1), K::Ident, b"T")
                && !is(b, ring.get(before + 2), K::Dot, b"")
            {
                return Some((at(before + 1), 0.85, "SpEL type reference to a Java class"));
            }
            None
        }
        K::At => {
            // OGNL static access: @a.b.C@
            let (segs, before, _) = chain_back(b, ring, 1);
            if segs >= 3 && is(b, ring.get(before), K::At, b"") {
                return Some((
                    at(before),
                    0.85,
                    "OGNL static member access to a Java class",
                ));
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte_classes(b: &[u8]) -> u16 {
        crate::classes::ByteClasses::of(b).java()
    }

    fn conf(s: &str) -> f32 {
        let mut out = Vec::new();
        scan(s.as_bytes(), byte_classes(s.as_bytes()), &mut out);
        out.first().map_or(0.0, |h| h.confidence)
    }

    fn javaish() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let atoms: Vec<&'static [u8]> = vec![
            b"T",
            b"(",
            b")",
            b".",
            b"@",
            b"#",
            b"[",
            b" ",
            b"java",
            b"javax",
            b"lang",
            b"net",
            b"Runtime",
            b"getRuntime",
            b"exec",
            b"new",
            b"forName",
            b"getClass",
            b"getMethod",
            b"context",
            b"_memberAccess",
            b"ProcessBuilder",
            b"getEngineByName",
            b"x",
            b"5",
            b"$",
            b"_",
            b"'",
        ];
        proptest::collection::vec(proptest::sample::select(atoms), 0..14).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn prefilter_never_hides_a_hit(v in javaish()) {
            let mut out = Vec::new();
            scan_tokens(&v, &mut out);
            if !out.is_empty() {
                proptest::prop_assert!(may_match(&v, byte_classes(&v)), "{:?}", String::from_utf8_lossy(&v));
            }
        }
    }

    #[test]
    fn prefilter_keeps_every_shape() {
        for s in [
            "(#context['xwork.MethodAccessor.denyMethodExecution']=false)",
            "#_memberAccess",
            "T (java.lang.Runtime)",
            "@java.lang.Runtime@getRuntime",
            "new java.net.URL(",
            "x.getClass().getMethod(",
            "5T(a.b.C)",
        ] {
            assert!(may_match(s.as_bytes(), byte_classes(s.as_bytes())), "{s}");
        }
        assert!(!may_match(
            b"1' and sleep(5)#",
            byte_classes(b"1' and sleep(5)#")
        ));
        assert!(!may_match(b"Tom (the cat)", byte_classes(b"Tom (the cat)")));
        assert!(!may_match(
            b"bancroft@lawn.mc",
            byte_classes(b"bancroft@lawn.mc")
        ));
        assert!(!may_match(
            b"the new context",
            byte_classes(b"the new context")
        ));
    }

    #[test]
    fn attacks() {
        for s in [
            "${T(java.lang.Runtime).getRuntime().exec('id')}",
            "#{T(java.lang.System).getenv()}",
            "%{(#_memberAccess['allowStaticMethodAccess']=true)}",
            "@java.lang.Runtime@getRuntime().exec('id')",
            "new java.lang.ProcessBuilder({'id'}).start()",
            "Class.forName('java.lang.Runtime')",
            "''.getClass().forName('java.lang.Runtime')",
            "${''.getClass().getClassLoader()}",
            "new javax.script.ScriptEngineManager().getEngineByName('js')",
        ] {
            assert!(conf(s) >= 0.5, "{s}");
        }
    }

    #[test]
    fn benign() {
        for s in [
            "java.lang.NullPointerException at com.x.Foo.bar(Foo.java:12)",
            "at java.lang.Runtime.exec(Runtime.java:620)",
            "new Date()",
            "bob@example.com",
            "T(shirt) size",
            "the class of 2020",
        ] {
            assert!(conf(s) < 0.5, "{s}");
        }
    }
}
