//! A small PHP token scanner: enough of PHP's lexical grammar to see calls.
//!
//! Produces identifiers, variables (`$name`), quoted strings, backtick
//! strings, punctuation and PHP comments (skipped). It never fails: bytes it
//! does not understand become `Tok::Other`. A quote opens a string only
//! where PHP expects an operand (after `(`, `,`, `[`, `.`, `=`, an operator
//! …); elsewhere, and when unclosed, it is a single-byte `Tok::Other`. That
//! way the fragment after a quote that breaks out of the application's own
//! string (`x';system('id');`) is tokenized as code, not swallowed.

/// Token kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*`
    Ident,
    /// `$name`
    Var,
    /// `'…'` or `"…"`
    Str,
    /// `` `…` ``
    Backtick,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBrack,
    /// `]`
    RBrack,
    /// `.`
    Dot,
    /// `->` or `::` or `?->`
    Member,
    /// `@`
    At,
    /// `;`
    Semi,
    /// `<?php` or `<?=` or `<?`
    OpenTag,
    /// `${`
    DollarBrace,
    /// `\` (namespace separator)
    Backslash,
    /// `,`
    Comma,
    /// A quote that does not open a string.
    Quote,
    /// Anything else.
    Other,
}

/// One token: kind and byte range.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Iterates the tokens of `b`.
pub(crate) struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    last: Option<Tok>,
    last_kw: bool,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Lexer {
            b,
            i: 0,
            last: None,
            last_kw: false,
        }
    }
}

fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn ident_cont(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Keywords followed by an operand.
const OPERAND_KEYWORDS: &[&[u8]] = &[
    b"include",
    b"include_once",
    b"require",
    b"require_once",
    b"echo",
    b"print",
    b"return",
];

/// Whether PHP expects an operand after a token of kind `last`.
fn operand_expected(last: Option<Tok>) -> bool {
    matches!(
        last,
        Some(
            Tok::LParen
                | Tok::Comma
                | Tok::LBrack
                | Tok::Dot
                | Tok::At
                | Tok::Other
                | Tok::OpenTag
                | Tok::Semi
                | Tok::DollarBrace
        )
    )
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let b = self.b;
        loop {
            let start = self.i;
            let c = *b.get(start)?;
            let at = |k: usize| b.get(start + k).copied();
            let (tok, len) = match c {
                b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => {
                    self.i += 1;
                    continue;
                }
                b'/' if at(1) == Some(b'*') => {
                    self.i = memchr::memmem::find(&b[start + 2..], b"*/")
                        .map_or(b.len(), |p| start + 2 + p + 2);
                    continue;
                }
                b'/' if at(1) == Some(b'/') => {
                    // Line comment, but not a URL's `//` after `:`.
                    if start > 0 && b[start - 1] == b':' {
                        (Tok::Other, 2)
                    } else {
                        self.i = memchr::memchr(b'\n', &b[start..]).map_or(b.len(), |p| start + p);
                        continue;
                    }
                }
                b'<' if at(1) == Some(b'?') => {
                    if b[start + 2..].len() >= 3
                        && b[start + 2..start + 5].eq_ignore_ascii_case(b"php")
                    {
                        (Tok::OpenTag, 5)
                    } else if at(2) == Some(b'=') {
                        (Tok::OpenTag, 3)
                    } else {
                        (Tok::OpenTag, 2)
                    }
                }
                b'$' if at(1) == Some(b'{') => (Tok::DollarBrace, 2),
                b'$' if at(1).is_some_and(ident_start) => {
                    let n = b[start + 1..]
                        .iter()
                        .take_while(|&&c| ident_cont(c))
                        .count();
                    (Tok::Var, 1 + n)
                }
                b'\'' | b'"' | b'`' if !(self.last_kw || operand_expected(self.last)) => {
                    (Tok::Quote, 1)
                }
                b'\'' | b'"' | b'`' => match memchr::memchr(c, &b[start + 1..]) {
                    Some(p) => (
                        match c {
                            b'`' => Tok::Backtick,
                            _ => Tok::Str,
                        },
                        p + 2,
                    ),
                    None => (Tok::Quote, 1),
                },
                b'(' => (Tok::LParen, 1),
                b')' => (Tok::RParen, 1),
                b'[' => (Tok::LBrack, 1),
                b']' => (Tok::RBrack, 1),
                b'.' => (Tok::Dot, 1),
                b'@' => (Tok::At, 1),
                b';' => (Tok::Semi, 1),
                b',' => (Tok::Comma, 1),
                b'\\' => (Tok::Backslash, 1),
                b'-' if at(1) == Some(b'>') => (Tok::Member, 2),
                b':' if at(1) == Some(b':') => (Tok::Member, 2),
                c if ident_start(c) || c.is_ascii_digit() => {
                    let n = b[start..].iter().take_while(|&&c| ident_cont(c)).count();
                    (Tok::Ident, n)
                }
                _ => (Tok::Other, 1),
            };
            self.i = start + len;
            self.last = Some(tok);
            self.last_kw = tok == Tok::Ident
                && OPERAND_KEYWORDS
                    .iter()
                    .any(|k| b[start..start + len].eq_ignore_ascii_case(k));
            return Some(Token {
                tok,
                start,
                end: start + len,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let src = b"<?php /* c */ system($_GET['c']); // x\n`id`";
        let kinds: Vec<Tok> = Lexer::new(src).map(|t| t.tok).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::OpenTag,
                Tok::Ident,
                Tok::LParen,
                Tok::Var,
                Tok::LBrack,
                Tok::Str,
                Tok::RBrack,
                Tok::RParen,
                Tok::Semi,
                Tok::Backtick
            ]
        );
    }

    #[test]
    fn unclosed_quote_keeps_scanning() {
        let kinds: Vec<Tok> = Lexer::new(b"1';system('id');").map(|t| t.tok).collect();
        assert_eq!(
            kinds[..6],
            [
                Tok::Ident,
                Tok::Quote,
                Tok::Semi,
                Tok::Ident,
                Tok::LParen,
                Tok::Str
            ]
        );
    }
}
