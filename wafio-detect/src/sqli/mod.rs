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
//!   punctuation that SQL needs, no `--`) is rejected before lexing, with
//!   one table lookup per byte.
//! - The quoted contexts are lexed only when the value contains that quote,
//!   and not at all once a context has produced a certain (0.9) finding.
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
//!   is a fixed array on the stack).
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

use crate::{Detector, DetectorKind, Hit, View, ViewKind};

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
/// letters, digits, `_ . - @ : /` and non-ASCII. One table load per byte.
static INERT: [bool; 256] = {
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

#[inline]
fn is_inert(c: u8) -> bool {
    INERT[c as usize]
}

fn context_phrase(ctx: Context) -> &'static str {
    match ctx {
        Context::Bare => "continues a bare operand with",
        Context::Single => "closes a single-quoted string, then",
        Context::Double => "closes a double-quoted string, then",
    }
}

fn class_phrase(class: &str) -> &'static str {
    match class {
        "tautology" => "boolean logic with a comparison or tautology",
        "union-select" => "UNION SELECT",
        "stacked-query" => "a stacked statement",
        "full-statement" => "a full SQL statement",
        "time-based" => "a time-delay function",
        "error-based" => "an error-raising function",
        "subquery" => "a subquery",
        "order-by" => "ORDER/GROUP BY a column number",
        "file-write" => "INTO OUTFILE",
        "implicit-conversion" => "an operator applied to the string and the next",
        "clause-injection" => "clauses appended to the statement (FROM/WHERE)",
        "comment-truncation" => "a comment that truncates the statement",
        _ => "a piggybacked function call",
    }
}

impl SqliDetector {
    /// Analyses `bytes` and returns the strongest verdict and its context.
    fn verdict(&self, b: &[u8]) -> Option<(Verdict, Context)> {
        if b.iter().all(|&c| is_inert(c)) && memchr::memmem::find(b, b"--").is_none() {
            return None;
        }
        let mut toks = Tokens::new();
        let mut best: Option<(Verdict, Context)> = None;
        for ctx in [Context::Bare, Context::Single, Context::Double] {
            if let Some(q) = ctx.quote() {
                if memchr::memchr(q, b).is_none() {
                    continue;
                }
            }
            lexer::lex(b, ctx, &mut toks);
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

impl Detector for SqliDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Sqli
    }

    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>) {
        let Some((v, ctx)) = self.verdict(view.bytes()) else {
            return;
        };
        // The set stops at the first view where a detector reports
        // anything: a weak hit on a raw view that still holds escapes
        // (`)%20waitfor%20delay…`) would hide a strong one in the decoded
        // view, so it is left to the decoded view.
        if v.confidence < 0.5
            && view.kind() == ViewKind::Raw
            && memchr::memchr3(b'%', b'&', b'\\', view.bytes()).is_some()
        {
            return;
        }
        let reason = if v.statement {
            format!("the value is {}", class_phrase(v.class))
        } else {
            format!("{} {}", context_phrase(ctx), class_phrase(v.class))
        };
        out.push(Hit {
            class: v.class,
            confidence: v.confidence,
            span: v.start..v.end.max(v.start),
            reason: Cow::Owned(reason),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(s: &str) -> Option<(&'static str, f32)> {
        SqliDetector::default()
            .verdict(s.as_bytes())
            .map(|(v, _)| (v.class, v.confidence))
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
        assert!(is_inert(b'a') && is_inert(b'-') && !is_inert(b' ') && !is_inert(b'\''));
        assert!(best("celeste_bryon@skullride.ki").is_none());
    }
}
