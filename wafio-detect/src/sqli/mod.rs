//! SQL injection detector.
//!
//! A value is read as it would sit in a statement in each of three contexts
//! ([`lexer::Context`]): a bare/numeric position (`WHERE id = 1`), inside a
//! single-quoted string and inside a double-quoted string. For each context a
//! byte lexer ([`lexer`]) produces typed tokens (strings, numbers, keywords,
//! function calls, logic and comparison operators, comments with the MySQL
//! and ANSI rules, versioned `/*!…*/` code, backtick identifiers), and a small
//! grammar ([`grammar`]) decides whether the value *breaks out* of its
//! operand and what the fragment then does: a tautology or blind probe, a
//! `UNION SELECT`, a stacked statement, a time or error function, a
//! subquery, `ORDER BY n`, a truncating comment. Only the strongest finding
//! of the strongest context is reported.
//!
//! Prose stays clean because each step needs real SQL syntax: in `O'Brien`
//! the quote is followed by a word, not an operator; `select one or more`
//! has no `FROM`; `3 TO 6 MONTHS` continues the number with a word.
//!
//! Two structural checks keep weak evidence from blocking on its own: a
//! fragment is only trusted up to the first token pair SQL cannot form
//! (`word word`, `|| ORDER`), and weak findings (`1 or 2`) are raised only
//! when the separators are obfuscated (`/**/`, `%0b`, mid-line comments).
//!
//! # Limits and cost
//! - A value made only of word bytes and `. _ - @ : /` (no space, no
//!   punctuation that SQL needs, no `--`) is rejected before lexing, from
//!   the view's byte classes (one pass shared by the detectors). So is prose made of plain words, numbers,
//!   spaces, commas and dots in which no word is a SQL keyword or operator
//!   word (`calle mayor 5, 2`): no context can break out of it and no
//!   evidence rule has a token to start from.
//! - The quoted contexts are lexed only when the value contains that quote,
//!   and not at all once a context has produced a certain (0.9) finding.
//!   Within a context, an evidence rule is not tried once the best finding
//!   so far is at least as strong as anything the rule can report (a
//!   `(SELECT` after a 0.85 tautology), which leaves the result unchanged.
//! - At most [`lexer::MAX_TOKENS`] (128) tokens per context are analysed; a
//!   payload hidden behind more than 128 significant tokens is not seen
//!   (block comments and whitespace do not count as tokens). `UNION SELECT`
//!   is searched over the same window.
//! - Lexing is one forward pass (keywords are found through a
//!   compile-time hash table). Parentheses are matched once per context
//!   with a bounded stack, so skipping a group is constant time; every
//!   grammar helper moves forward without recursion; function-argument
//!   checks look at 16 tokens at most. Work is linear in the value length
//!   plus a bounded amount per token.
//! - Nothing is allocated unless a finding is reported (the token buffer
//!   is a fixed array, one per thread).
//!
//! # Known gaps
//! - Some MySQL lexer oddities are not modelled (`updateUNION` glued to a
//!   keyword, `\%0=\-1AND…`), and the tool marker `1' own3d by 1` (not
//!   SQL) is not flagged.
//! - A quoted operator word between two words (`select 'and'`,
//!   `x 'or' y`) is reported as an implicit conversion: it has exactly the
//!   shape of the `A 'AND' B` probe.

mod grammar;
mod lexer;

use std::borrow::Cow;

use crate::{Detector, DetectorKind, Hit, View};

use self::grammar::Verdict;
use self::lexer::{Context, Tokens};

/// Detects SQL injection by tokenizing a value in the bare, `'…'` and `"…"`
/// contexts and reasoning over the syntax the fragment creates.
///
/// Classes: `tautology`, `union-select`, `stacked-query`, `full-statement`,
/// `time-based`, `error-based`, `subquery`, `order-by`, `file-write`,
/// `implicit-conversion`, `clause-injection`, `comment-truncation`,
/// `function-call`.
///
/// ```
/// use wafio_detect::{DetectorKind, DetectorSet};
///
/// let set = DetectorSet::builder().only(&[DetectorKind::Sqli]).build();
/// let f = set.scan(b"-1 union select 1,2,3--");
/// assert_eq!(f[0].class, "union-select");
/// assert!(f[0].confidence >= 0.5);
/// assert!(set.scan(b"O'Brien").is_empty());
/// assert!(set.scan(b"select one or more").iter().all(|f| f.confidence < 0.5));
/// ```
#[derive(Clone, Debug, Default)]
pub struct SqliDetector {}

/// Bytes that cannot start or join SQL syntax beyond a single word:
/// letters, digits, `_ . - @ : /` and non-ASCII.
const INERT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'.' | b'-' | b'@' | b':' | b'/')
            || b >= 0x80;
        c += 1;
    }
    t
};

// Bits of [`BYTE_CLASS`].
/// A byte that is not [`INERT`].
const NOT_INERT: u8 = 1;
/// `-` (a `--` comment is all a value of inert bytes can hold).
const DASH: u8 = 2;
/// `'`: the single-quoted context can break out.
const SQUOTE: u8 = 4;
/// `"`: the double-quoted context can break out.
const DQUOTE: u8 = 8;
/// A byte that is not [`lexer::PLAIN_BYTE`]: the value is not plain words.
const NOT_PLAIN: u8 = 16;

/// The class bits of each byte (one lane of
/// [`crate::classes::ByteClasses`]).
pub(crate) const BYTE_CLASS: [u8; 256] = {
    let t = crate::class_bits([0; 256], &INERT, false, NOT_INERT);
    let mut t = crate::class_bits(t, &lexer::PLAIN_BYTE, false, NOT_PLAIN);
    t[b'-' as usize] |= DASH;
    t[b'\'' as usize] |= SQUOTE;
    t[b'"' as usize] |= DQUOTE;
    t
};

thread_local! {
    static TOKENS: std::cell::RefCell<Tokens> = const { std::cell::RefCell::new(Tokens::new()) };
}

fn context_phrase(ctx: Context) -> &'static str {
    match ctx {
        Context::Bare => "continues a bare operand with",
        Context::Single => "closes a single-quoted string, then",
        Context::Double => "closes a double-quoted string, then",
    }
}

/// The classes a verdict can carry, each with the phrase its reason uses.
const CLASSES: [(&str, &str); 13] = [
    ("tautology", "boolean logic with a comparison or tautology"),
    ("union-select", "UNION SELECT"),
    ("stacked-query", "a stacked statement"),
    ("full-statement", "a full SQL statement"),
    ("time-based", "a time-delay function"),
    ("error-based", "an error-raising function"),
    ("subquery", "a subquery"),
    ("order-by", "ORDER/GROUP BY a column number"),
    ("file-write", "INTO OUTFILE"),
    (
        "implicit-conversion",
        "an operator applied to the string and the next",
    ),
    (
        "clause-injection",
        "clauses appended to the statement (FROM/WHERE)",
    ),
    (
        "comment-truncation",
        "a comment that truncates the statement",
    ),
    ("function-call", "a piggybacked function call"),
];

/// Index into [`CLASSES`]; an unknown class reads as a function call.
fn class_index(class: &str) -> usize {
    CLASSES
        .iter()
        .position(|(c, _)| *c == class)
        .unwrap_or(CLASSES.len() - 1)
}

/// Every reason a finding can give, formatted once: row 0 for a whole
/// statement, then one row per context (in `Context` order). A finding
/// then costs no formatting.
static REASONS: std::sync::LazyLock<[[String; CLASSES.len()]; 4]> =
    std::sync::LazyLock::new(|| {
        let row = |prefix: Option<&str>| {
            CLASSES.map(|(_, phrase)| match prefix {
                None => format!("the value is {phrase}"),
                Some(p) => format!("{p} {phrase}"),
            })
        };
        [
            row(None),
            row(Some(context_phrase(Context::Bare))),
            row(Some(context_phrase(Context::Single))),
            row(Some(context_phrase(Context::Double))),
        ]
    });

fn reason(statement: bool, ctx: Context, class: &str) -> &'static str {
    let row = match (statement, ctx) {
        (true, _) => 0,
        (false, Context::Bare) => 1,
        (false, Context::Single) => 2,
        (false, Context::Double) => 3,
    };
    &REASONS[row][class_index(class)]
}

impl SqliDetector {
    /// Analyses `b` (`m`: its [`BYTE_CLASS`] bits) and returns the
    /// strongest verdict and its context.
    fn verdict(&self, b: &[u8], m: u8) -> Option<(Verdict, Context)> {
        let dashes = || memchr::memchr_iter(b'-', b).any(|p| b.get(p + 1) == Some(&b'-'));
        if m & NOT_INERT == 0 && !(m & DASH != 0 && dashes()) {
            return None;
        }
        // Prose without SQL punctuation or SQL words (`calle mayor 5, 2`).
        if m & NOT_PLAIN == 0 && lexer::plain_words(b) {
            return None;
        }
        // The token buffer (1.5 KiB) is kept per thread rather than set up
        // for every value; `lex` resets it. Should it ever be in use (it is
        // not re-entered), a fresh one on the stack does the same work.
        TOKENS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut toks) => self.verdict_with(b, m, &mut toks),
            Err(_) => self.verdict_with(b, m, &mut Tokens::new()),
        })
    }

    fn verdict_with(&self, b: &[u8], m: u8, toks: &mut Tokens) -> Option<(Verdict, Context)> {
        let mut best: Option<(Verdict, Context)> = None;
        for ctx in [Context::Bare, Context::Single, Context::Double] {
            let quote = match ctx {
                Context::Bare => None,
                Context::Single => Some(SQUOTE),
                Context::Double => Some(DQUOTE),
            };
            if quote.is_some_and(|q| m & q == 0) {
                continue;
            }
            lexer::lex(b, ctx, toks);
            if let Some(v) = grammar::analyze(b, ctx, toks.as_slice(), toks.odd_space) {
                if best.is_none_or(|(bv, _)| v.confidence > bv.confidence) {
                    best = Some((v, ctx));
                }
                if v.confidence >= 0.9 {
                    break;
                }
            }
        }
        best
    }
}

/// The bytes [`SqliDetector::verdict`] needs one of: a byte that is not
/// [`INERT`], or the `-` of a `--` comment.
static NEEDS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = !INERT[c] || c == b'-' as usize;
        c += 1;
    }
    t
};

impl Detector for SqliDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Sqli
    }

    fn needs_one_of(&self) -> Option<&'static [bool; 256]> {
        Some(&NEEDS)
    }

    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>) {
        let Some((v, ctx)) = self.verdict(view.bytes(), view.classes().sqli()) else {
            return;
        };
        out.push(Hit {
            class: v.class,
            confidence: v.confidence,
            span: v.start..v.end.max(v.start),
            reason: Cow::Borrowed(reason(v.statement, ctx, v.class)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(b: &[u8]) -> u8 {
        crate::classes::ByteClasses::of(b).sqli()
    }

    fn best(s: &str) -> Option<(&'static str, f32)> {
        SqliDetector::default()
            .verdict(s.as_bytes(), classes(s.as_bytes()))
            .map(|(v, _)| (v.class, v.confidence))
    }

    /// The full analysis, without the plain-words shortcut.
    fn full(b: &[u8]) -> Option<(Verdict, Context)> {
        SqliDetector::default().verdict_with(b, classes(b), &mut Tokens::new())
    }

    #[test]
    fn plain_words_are_prose() {
        for s in [
            "calle perez galdos, 167",
            "castellar, el",
            "guijo de santa b\u{e1}rbara",
            "a.b c.d 3 , .5",
        ] {
            assert!(lexer::plain_words(s.as_bytes()), "{s}");
            assert!(full(s.as_bytes()).is_none(), "{s}");
        }
        for s in [
            "1 and 2",
            "x union select a, b",
            "a load data infile",
            "x 1or 2",
            "1.e5and 1",
            "a\u{a0}or 1",
            "o'brien",
            "5-3",
            "1 order by 2",
            "x goto y",
        ] {
            assert!(!lexer::plain_words(s.as_bytes()), "{s}");
        }
    }

    fn sqlish() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let atoms: Vec<&'static [u8]> = vec![
            b"and",
            b"or",
            b"union",
            b"select",
            b"from",
            b"in",
            b"is",
            b"not",
            b"like",
            b"by",
            b"order",
            b"on",
            b"if",
            b"set",
            b"all",
            b"div",
            b"xor",
            b"null",
            b"sleep",
            b"load",
            b"data",
            b"grant",
            b"to",
            b"revoke",
            b"while",
            b"goto",
            b"waitfor",
            b"delay",
            b"exec",
            b"calle",
            b"a",
            b"de",
            b"x1",
            b"\xc3\xb1u",
            b"1",
            b"5",
            b"0x1f",
            b"1e5",
            b"e5",
            b" ",
            b" ",
            b",",
            b".",
            b"\t",
            b"\n",
            b"\xa0",
            b"\xc3\xa0",
            b"-",
            b"'",
            b"(",
            b")",
            b"=",
            b"#",
            b"@",
            b"$",
            b"_",
            b";",
            b"\"",
        ];
        proptest::collection::vec(proptest::sample::select(atoms), 0..12).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn plain_words_find_nothing(v in sqlish()) {
            if lexer::plain_words(&v) {
                proptest::prop_assert!(full(&v).is_none(), "{:?}", String::from_utf8_lossy(&v));
            }
        }
    }

    #[test]
    fn classic_attacks_block() {
        for (s, class) in [
            (".1or-UTC_DATE--", "function-call"),
            ("1' OR '1'='1", "tautology"),
            ("-1 union select 1,2,3--", "union-select"),
            ("1; drop table users", "stacked-query"),
            ("1' and sleep(5)#", "time-based"),
            ("admin'--", "comment-truncation"),
        ] {
            let (c, conf) = best(s).unwrap_or(("none", 0.0));
            assert_eq!(c, class, "{s}");
            assert!(conf >= 0.5, "{s}: {conf}");
        }
    }

    #[test]
    fn prose_is_clean() {
        for s in [
            "O'Brien",
            "select one or more",
            "drop me a line",
            "rock 'n' roll",
        ] {
            assert!(best(s).is_none_or(|(_, c)| c < 0.5), "{s}: {:?}", best(s));
        }
    }

    #[test]
    fn inert_values_skip_lexing() {
        assert!(INERT[b'a' as usize] && INERT[b'-' as usize]);
        assert!(!INERT[b' ' as usize] && !INERT[b'\'' as usize]);
        assert_eq!(classes(b"celeste_bryon@skullride.ki") & NOT_INERT, 0);
        assert!(best("celeste_bryon@skullride.ki").is_none());
    }
}
