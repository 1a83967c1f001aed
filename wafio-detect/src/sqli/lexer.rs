//! A byte lexer for SQL fragments.
//!
//! The lexer reads a value as it would sit inside a statement, starting in a
//! given [`Context`]: bare (a numeric or identifier position), or already
//! inside a `'…'`, `"…"` or `` `…` `` literal. It produces typed [`Token`]s into
//! a fixed-size buffer (no allocation) and follows the union of the MySQL,
//! PostgreSQL, MSSQL, Oracle and SQLite lexical rules that matter for
//! injection:
//!
//! - strings `'…'` and `"…"` with doubled-quote and backslash escapes, with
//!   the `N'…'`, `X'…'`, `B'…'`, `E'…'` and `_charset'…'` prefixes;
//! - backtick identifiers; `@var`, `@@sysvar`; decimal, float and hex/binary
//!   numbers;
//! - comments: `/* … */` between tokens are whitespace, MySQL versioned
//!   comments `/*!50000 … */` are code (the marker and the closing `*/` are
//!   skipped), `#` and `-- ` run to the end of the line. `--` followed by a
//!   non-space is a comment for MSSQL/PostgreSQL but not MySQL: it is
//!   reported as a *loose* comment;
//! - a word followed by `(` (across whitespace and comments) is a function
//!   call unless it is a keyword such as `UNION` or `IN`;
//! - dotted names (`information_schema.tables`, `master..xp_cmdshell`) are one
//!   word.
//!
//! The lexer never fails: unknown bytes become [`Tk::Other`]. It stops after
//! [`MAX_TOKENS`] tokens and reports that it was cut.

/// Most tokens kept per context. Work per value is bounded by this and by
/// the value length (one linear pass).
pub(crate) const MAX_TOKENS: usize = 128;

/// Where the value starts, as seen by the statement it is pasted into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// A numeric or bare position: `WHERE id = <value>`.
    Bare,
    /// Inside a single-quoted string: `WHERE name = '<value>'`.
    Single,
    /// Inside a double-quoted string: `WHERE name = "<value>"`.
    Double,
}

impl Context {
    pub(crate) fn quote(self) -> Option<u8> {
        match self {
            Context::Bare => None,
            Context::Single => Some(b'\''),
            Context::Double => Some(b'"'),
        }
    }
}

/// SQL keywords the grammar reasons about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kw {
    Union,
    Select,
    All,
    Distinct,
    From,
    Where,
    Having,
    Order,
    Group,
    By,
    Limit,
    Procedure,
    Into,
    Outfile,
    As,
    Null,
    True,
    False,
    Case,
    When,
    Then,
    Else,
    End,
    Exists,
    Values,
    Insert,
    Update,
    Delete,
    Drop,
    Create,
    Alter,
    Truncate,
    Exec,
    Declare,
    Waitfor,
    Shutdown,
    Begin,
    If,
    Set,
    Join,
    On,
    In,
    Is,
    Between,
    Collate,
    Call,
}

/// Dangerous-function classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FnClass {
    /// Delays the response (blind time-based probes).
    Time,
    /// Raises an error that carries data (error-based extraction).
    Error,
    /// Reads or writes server files, runs commands.
    System,
    /// Reveals server identity (`version()`, `user()`, `database()`).
    Info,
    /// Picks data apart for blind extraction (`ascii`, `substring`, `lpad`).
    Extract,
    /// Any other function call.
    Generic,
}

/// Comment styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cm {
    /// `-- ` (dashes then whitespace or the end): every dialect.
    Dash,
    /// `--x`: a comment for MSSQL/PostgreSQL/Oracle/SQLite, not MySQL.
    Loose,
    /// `#`: MySQL only, and common in prose (`#2`).
    Hash,
    /// An unterminated `/*`.
    Block,
}

/// Token kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tk {
    /// A string literal; `closed` is false when the value ends inside it.
    Str { closed: bool },
    /// A numeric literal.
    Num,
    /// An identifier or unknown word.
    Word,
    /// `@var`.
    Var,
    /// `@@sysvar`.
    SysVar,
    /// A word directly followed by `(`.
    Func(FnClass),
    /// A keyword.
    Kw(Kw),
    /// `AND`, `OR`, `XOR`, `&&`, `||`.
    Logic,
    /// `NOT`, `!`.
    Not,
    /// `=`, `<`, `>`, `<=`, `>=`, `<>`, `!=`, `<=>`, `:=`, `LIKE`, `RLIKE`, `REGEXP`.
    Cmp,
    /// `+ - * / % ^ | & ~ << >> ::`, `DIV`, `MOD`.
    Arith,
    /// `,`.
    Comma,
    /// `;`.
    Semi,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// A comment running to the end of a line or of the value.
    Comment(Cm),
    /// Anything else.
    Other,
}

/// One token: kind and byte range in the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) tk: Tk,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Token {
    const EMPTY: Token = Token {
        tk: Tk::Other,
        start: 0,
        end: 0,
    };
}

/// The tokens of one value in one context.
pub(crate) struct Tokens {
    toks: [Token; MAX_TOKENS],
    len: usize,
    /// The lexer stopped at [`MAX_TOKENS`].
    pub(crate) cut: bool,
    /// Some separator was odd (see [`skip_trivia_odd`]).
    pub(crate) odd_space: bool,
}

impl Tokens {
    pub(crate) const fn new() -> Tokens {
        Tokens {
            toks: [Token::EMPTY; MAX_TOKENS],
            len: 0,
            cut: false,
            odd_space: false,
        }
    }

    pub(crate) fn as_slice(&self) -> &[Token] {
        &self.toks[..self.len]
    }
}

#[inline]
const fn is_space(c: u8) -> bool {
    // ASCII whitespace and control bytes. (NBSP, 0xA0, is whitespace to
    // latin1 MySQL but a UTF-8 continuation byte in prose: it stays a word
    // byte.)
    c <= b' ' || c == 0x7f
}

/// Whitespace at `i`, with context: a lone NBSP (0xA0 not inside a UTF-8
/// sequence) is whitespace to latin1 MySQL and MSSQL.
#[inline]
fn space_at(b: &[u8], i: usize) -> bool {
    let c = b[i];
    is_space(c) || (c == 0xa0 && (i == 0 || b[i - 1] < 0x80))
}

/// A word byte at `i` (see [`space_at`]). Of the word bytes only a lone
/// NBSP is whitespace, so one table load decides all other bytes.
#[inline]
fn word_at(b: &[u8], i: usize) -> bool {
    let c = b[i];
    is_word_byte(c) && (c != 0xa0 || (i > 0 && b[i - 1] >= 0x80))
}

/// The end of the run of word bytes (see [`word_at`]) starting at `j`.
#[inline]
fn word_end(b: &[u8], mut j: usize) -> usize {
    loop {
        // Word bytes other than NBSP: one table load per byte.
        while j < b.len() && WORD_NOT_NBSP[b[j] as usize] {
            j += 1;
        }
        if j < b.len() && word_at(b, j) {
            j += 1;
            continue;
        }
        return j;
    }
}

/// [`WORD_BYTE`] without NBSP, whose meaning depends on the byte before.
static WORD_NOT_NBSP: [bool; 256] = {
    let mut t = WORD_BYTE;
    t[0xa0] = false;
    t
};

/// Word bytes: ASCII letters and digits, `_`, `$` and non-ASCII. One table
/// load per byte (the lexer's hottest test).
const WORD_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
        c += 1;
    }
    t
};

#[inline]
pub(crate) fn is_word_byte(c: u8) -> bool {
    WORD_BYTE[c as usize]
}

/// Skips whitespace and inline block comments starting at `i`; returns the
/// next position. Versioned-comment markers are skipped as well.
fn skip_trivia(b: &[u8], i: usize) -> usize {
    skip_trivia_odd(b, i).0
}

/// [`skip_trivia`], also saying whether the trivia was *odd*: comments,
/// control bytes other than tab/CR/LF, NBSP. Prose separates words with
/// spaces; filter evasion separates keywords with `/**/`, `%0b`, `%a0`.
#[inline(always)]
fn skip_trivia_odd(b: &[u8], i: usize) -> (usize, bool) {
    // Most tokens are followed directly by another token, or by one space.
    match b.get(i) {
        Some(&b' ') if b.get(i + 1).is_none_or(|&n| !TRIVIA_START[n as usize]) => (i + 1, false),
        Some(&c) if TRIVIA_START[c as usize] => skip_trivia_from(b, i),
        _ => (i, false),
    }
}

/// Bytes that can start trivia: whitespace, NBSP, `/*` and `*/`.
static TRIVIA_START: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = is_space(b) || b == 0xa0 || b == b'/' || b == b'*';
        c += 1;
    }
    t
};

#[inline(never)]
fn skip_trivia_from(b: &[u8], mut i: usize) -> (usize, bool) {
    let mut odd = false;
    loop {
        while i < b.len() && space_at(b, i) {
            odd |= !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r');
            i += 1;
        }
        if i + 1 < b.len() && b[i] == b'/' && b[i + 1] == b'*' {
            odd = true;
            if b.get(i + 2) == Some(&b'!') {
                // `/*!` then an optional server version.
                i += 3;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                continue;
            }
            match find_comment_end(b, i + 2) {
                Some(e) => {
                    i = e;
                    continue;
                }
                None => return (i, odd),
            }
        }
        if i + 1 < b.len() && b[i] == b'*' && b[i + 1] == b'/' {
            odd = true;
            i += 2;
            continue;
        }
        return (i, odd);
    }
}

/// Scans a quoted literal whose opening quote is just before `i`; returns
/// the position after the closing quote (or the end) and whether it closed.
fn scan_quoted(b: &[u8], mut i: usize, q: u8) -> (usize, bool) {
    // Only the quote and (outside backticks) a backslash matter; the bytes
    // between them are skipped with one SIMD search each.
    while i < b.len() {
        let rest = &b[i..];
        let found = if q == b'`' {
            memchr::memchr(q, rest)
        } else {
            memchr::memchr2(q, b'\\', rest)
        };
        let Some(k) = found else { break };
        i += k;
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b.get(i + 1) == Some(&q) {
            i += 2;
            continue;
        }
        return (i + 1, true);
    }
    (b.len(), false)
}

fn lower_into<'a>(word: &[u8], buf: &'a mut [u8; 32]) -> Option<&'a [u8]> {
    if word.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(word) {
        *d = s.to_ascii_lowercase();
    }
    Some(&buf[..word.len()])
}

/// What a (lowercased) word is when not followed by `(`.
/// Keywords and operator words, sorted for binary search (lowercase).
static WORDS: &[(&[u8], Tk)] = &[
    (b"all", Tk::Kw(Kw::All)),
    (b"alter", Tk::Kw(Kw::Alter)),
    (b"and", Tk::Logic),
    (b"as", Tk::Kw(Kw::As)),
    (b"begin", Tk::Kw(Kw::Begin)),
    (b"between", Tk::Kw(Kw::Between)),
    (b"binary", Tk::Not),
    (b"by", Tk::Kw(Kw::By)),
    (b"call", Tk::Kw(Kw::Call)),
    (b"case", Tk::Kw(Kw::Case)),
    (b"collate", Tk::Kw(Kw::Collate)),
    (b"create", Tk::Kw(Kw::Create)),
    (b"current_date", Tk::Func(FnClass::Info)),
    (b"current_time", Tk::Func(FnClass::Info)),
    (b"current_timestamp", Tk::Func(FnClass::Info)),
    (b"current_user", Tk::Func(FnClass::Info)),
    (b"declare", Tk::Kw(Kw::Declare)),
    (b"delete", Tk::Kw(Kw::Delete)),
    (b"distinct", Tk::Kw(Kw::Distinct)),
    (b"distinctrow", Tk::Kw(Kw::Distinct)),
    (b"div", Tk::Arith),
    (b"drop", Tk::Kw(Kw::Drop)),
    (b"dumpfile", Tk::Kw(Kw::Outfile)),
    (b"else", Tk::Kw(Kw::Else)),
    (b"end", Tk::Kw(Kw::End)),
    (b"eqv", Tk::Logic),
    (b"exec", Tk::Kw(Kw::Exec)),
    (b"execute", Tk::Kw(Kw::Exec)),
    (b"exists", Tk::Kw(Kw::Exists)),
    (b"false", Tk::Kw(Kw::False)),
    (b"from", Tk::Kw(Kw::From)),
    (b"glob", Tk::Cmp),
    (b"group", Tk::Kw(Kw::Group)),
    (b"having", Tk::Kw(Kw::Having)),
    (b"if", Tk::Kw(Kw::If)),
    (b"ilike", Tk::Cmp),
    (b"imp", Tk::Logic),
    (b"in", Tk::Kw(Kw::In)),
    (b"insert", Tk::Kw(Kw::Insert)),
    (b"into", Tk::Kw(Kw::Into)),
    (b"is", Tk::Kw(Kw::Is)),
    (b"join", Tk::Kw(Kw::Join)),
    (b"like", Tk::Cmp),
    (b"limit", Tk::Kw(Kw::Limit)),
    (b"localtime", Tk::Func(FnClass::Info)),
    (b"localtimestamp", Tk::Func(FnClass::Info)),
    (b"mod", Tk::Arith),
    (b"not", Tk::Not),
    (b"null", Tk::Kw(Kw::Null)),
    (b"offset", Tk::Kw(Kw::Limit)),
    (b"on", Tk::Kw(Kw::On)),
    (b"or", Tk::Logic),
    (b"order", Tk::Kw(Kw::Order)),
    (b"outfile", Tk::Kw(Kw::Outfile)),
    (b"procedure", Tk::Kw(Kw::Procedure)),
    (b"regexp", Tk::Cmp),
    (b"replace", Tk::Kw(Kw::Insert)),
    (b"rlike", Tk::Cmp),
    (b"select", Tk::Kw(Kw::Select)),
    (b"session_user", Tk::Func(FnClass::Info)),
    (b"set", Tk::Kw(Kw::Set)),
    (b"shutdown", Tk::Kw(Kw::Shutdown)),
    (b"similar", Tk::Cmp),
    (b"sounds", Tk::Cmp),
    (b"system_user", Tk::Func(FnClass::Info)),
    (b"then", Tk::Kw(Kw::Then)),
    (b"true", Tk::Kw(Kw::True)),
    (b"truncate", Tk::Kw(Kw::Truncate)),
    (b"union", Tk::Kw(Kw::Union)),
    (b"update", Tk::Kw(Kw::Update)),
    (b"utc_date", Tk::Func(FnClass::Info)),
    (b"utc_time", Tk::Func(FnClass::Info)),
    (b"utc_timestamp", Tk::Func(FnClass::Info)),
    (b"value", Tk::Kw(Kw::Values)),
    (b"values", Tk::Kw(Kw::Values)),
    (b"waitfor", Tk::Kw(Kw::Waitfor)),
    (b"when", Tk::Kw(Kw::When)),
    (b"where", Tk::Kw(Kw::Where)),
    (b"xor", Tk::Logic),
];

/// Longest entry of [`WORDS`].
const MAX_WORD: usize = 17;

/// Buckets of a hash over [`WORDS`]: each holds up to [`BUCKET`] indices
/// into `WORDS` ([`EMPTY`] when unused). Built at compile time; a bucket
/// overflow fails the build.
const BUCKETS: usize = 256;
const BUCKET: usize = 3;
const EMPTY: u8 = u8::MAX;

/// The bucket of a (lower-case) table name: its length and first, second
/// and last bytes.
const fn word_hash(w: &[u8]) -> usize {
    hash_parts(w.len(), w[0], w[1], w[w.len() - 1])
}

/// [`word_hash`] of `w` lowered to ASCII lower case, without lowering the
/// whole word: only the three bytes the hash reads are lowered.
fn word_hash_lower(w: &[u8]) -> usize {
    let n = w.len();
    hash_parts(
        n,
        w[0].to_ascii_lowercase(),
        w[1].to_ascii_lowercase(),
        w[n - 1].to_ascii_lowercase(),
    )
}

const fn hash_parts(n: usize, first: u8, second: u8, last: u8) -> usize {
    (n.wrapping_mul(151)
        ^ (first as usize).wrapping_mul(31)
        ^ (last as usize).wrapping_mul(7)
        ^ (second as usize).wrapping_mul(3))
        % BUCKETS
}

static WORD_INDEX: [[u8; BUCKET]; BUCKETS] = {
    let mut t = [[EMPTY; BUCKET]; BUCKETS];
    let mut i = 0;
    while i < WORDS.len() {
        // What [`fold`] relies on: lower-case letters, and `_` only inside
        // (the hash reads the first, second and last bytes).
        let w = WORDS[i].0;
        let mut j = 0;
        while j < w.len() {
            let inner = j > 1 && j + 1 < w.len();
            assert!(w[j].is_ascii_lowercase() || (w[j] == b'_' && inner));
            j += 1;
        }
        let h = word_hash(WORDS[i].0);
        let mut k = 0;
        while t[h][k] != EMPTY {
            k += 1;
            assert!(k < BUCKET, "WORDS hash bucket overflow");
        }
        t[h][k] = i as u8;
        i += 1;
    }
    t
};

/// The lengths of the [`WORDS`] entries by [`shape_slot`] of their first
/// byte (bit `n` for length `n`): most identifiers (`chr`, `dual`) have no
/// keyword of their first letter and length and skip the hash lookup.
static WORD_SHAPES: [u32; 32] = {
    let mut t = [0u32; 32];
    let mut i = 0;
    while i < WORDS.len() {
        let w = WORDS[i].0;
        t[shape_slot(w[0])] |= 1 << w.len();
        i += 1;
    }
    t
};

/// A slot per letter, in any ASCII case (other bytes share slots, which
/// only costs a lookup).
const fn shape_slot(c: u8) -> usize {
    (c & 31) as usize
}

/// Whether the word `w`, in any ASCII case, is the lower-case table name
/// `name`; compared inline (a `memcmp` call costs more than the few bytes
/// of a keyword) and without a lowered copy of `w`.
#[inline]
fn same(name: &[u8], w: &[u8]) -> bool {
    name.len() == w.len()
        && name
            .iter()
            .zip(w)
            .all(|(n, c)| *n == c.to_ascii_lowercase())
}

/// Byte equality of two short names, compared inline (see [`same`]).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// What a word (in any ASCII case) is when not followed by `(`.
/// `EQV`/`IMP` are MS Access logic operators, `BINARY x` is unary in MySQL,
/// the `current_*`/`utc_*` words are niladic functions called without `()`.
///
/// Inlined into the lexer: most identifiers (`chr`, `dual`) fail the length
/// and first-letter test without a call; the hash lookup stays out of line.
#[inline]
fn classify_word(w: &[u8]) -> Tk {
    if w.len() < 2 || w.len() > MAX_WORD {
        return Tk::Word;
    }
    if WORD_SHAPES[shape_slot(w[0])] & (1 << w.len()) == 0 {
        return Tk::Word;
    }
    lookup_word(w)
}

/// [`classify_word`] of a word whose first letter and length some keyword
/// has: the hash lookup, out of line.
#[inline(never)]
fn lookup_word(w: &[u8]) -> Tk {
    let n = w.len();
    let h = hash_parts(n, fold(w[0]), fold(w[1]), fold(w[n - 1]));
    for &k in &WORD_INDEX[h] {
        if k == EMPTY {
            break;
        }
        let (name, tk) = WORDS[k as usize];
        if name.len() == n && name.iter().zip(w).all(|(&a, &c)| fold(a) == fold(c)) {
            return tk;
        }
    }
    Tk::Word
}

/// ASCII case folding for [`lookup_word`], one `or` per byte. The
/// [`WORDS`] names hold lower-case letters and `_` (checked when
/// [`WORD_INDEX`] is built); a byte of a word (a letter, digit, `_`, `$` or
/// non-ASCII byte) folds like a name byte only when it is that byte or,
/// for a letter, the same letter in upper case: `_` folds to DEL, which is
/// no word byte, and digits, `$` and non-ASCII bytes fold to bytes no name
/// byte folds to. The hash reads letters of the names, so a word that can
/// match hashes as its lower-case spelling does.
#[inline]
fn fold(c: u8) -> u8 {
    c | 0x20
}

/// Bytes of a *plain* value (see [`plain_words`]): word bytes other than
/// NBSP, the four ordinary whitespace bytes, `,` and `.`.
pub(crate) const PLAIN_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] =
            (WORD_BYTE[c] && b != 0xa0) || matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'.');
        c += 1;
    }
    t
};

/// Words that open a statement without being keywords (`LOAD DATA`,
/// `GRANT … TO`, `REVOKE`, `WHILE`, `GOTO`; see `grammar::Scan::statement`).
const STATEMENT_WORDS: [&[u8]; 5] = [b"load", b"grant", b"revoke", b"while", b"goto"];

/// Whether `b` lexes (in the bare context) to plain words, numbers, commas
/// and lone dots only: no quote, operator, parenthesis, comment, variable,
/// keyword or operator word, and no word that opens a statement on its own.
/// The grammar finds nothing in such a value (no context can break out,
/// no evidence rule has a token to start from), so it is not lexed.
///
/// Conservative: the words are the runs of word bytes split at every byte
/// the lexer might split at; a run that starts with a digit and holds a
/// letter (`1and`, `5e5or`) or a dot after a digit (`1.e5and`) falls back
/// to the lexer.
pub(crate) fn plain_words(b: &[u8]) -> bool {
    let mut buf = [0u8; 32];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !PLAIN_BYTE[c as usize] {
            return false;
        }
        if !is_word_byte(c) || c == 0xa0 {
            // `1.e5and` lexes as a number glued to `and`.
            if c == b'.' && i > 0 && b[i - 1].is_ascii_digit() {
                return false;
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_word_byte(b[i]) && b[i] != 0xa0 {
            i += 1;
        }
        let word = &b[start..i];
        if word[0].is_ascii_digit() {
            if word.iter().any(u8::is_ascii_alphabetic) {
                return false;
            }
            continue;
        }
        if let Some(w) = lower_into(word, &mut buf) {
            if classify_word(w) != Tk::Word || STATEMENT_WORDS.contains(&w) {
                return false;
            }
        }
    }
    true
}

/// Keywords that keep their meaning before `(`.
fn keyword_before_paren(t: Tk) -> bool {
    matches!(
        t,
        Tk::Logic
            | Tk::Not
            | Tk::Cmp
            | Tk::Arith
            | Tk::Kw(
                Kw::Union
                    | Kw::Select
                    | Kw::All
                    | Kw::Distinct
                    | Kw::From
                    | Kw::Where
                    | Kw::Having
                    | Kw::By
                    | Kw::Limit
                    | Kw::Into
                    | Kw::As
                    | Kw::Case
                    | Kw::When
                    | Kw::Then
                    | Kw::Else
                    | Kw::Exists
                    | Kw::Values
                    | Kw::In
                    | Kw::Is
                    | Kw::Between
                    | Kw::On
                    | Kw::Exec
                    | Kw::Call
                    | Kw::Join
                    | Kw::Set
                    | Kw::Begin
                    | Kw::End
                    | Kw::Procedure
                    | Kw::Collate
                    | Kw::Group
                    | Kw::Order
                    | Kw::Outfile
            )
    )
}

/// Function names with a class other than [`FnClass::Generic`] (lowercase,
/// last segment of a dotted name), found through [`FUNC_INDEX`].
static FUNCS: &[(&[u8], FnClass)] = &[
    (b"@@version", FnClass::Info),
    (b"ascii", FnClass::Extract),
    (b"benchmark", FnClass::Time),
    (b"bin", FnClass::Extract),
    (b"char", FnClass::Extract),
    (b"char_length", FnClass::Extract),
    (b"chr", FnClass::Extract),
    (b"concat_ws", FnClass::Extract),
    (b"connection_id", FnClass::Info),
    (b"conv", FnClass::Extract),
    (b"copy", FnClass::System),
    (b"current_database", FnClass::Info),
    (b"current_user", FnClass::Info),
    (b"database", FnClass::Info),
    (b"db_name", FnClass::Info),
    (b"dblink", FnClass::System),
    (b"extractvalue", FnClass::Error),
    (b"geometrycollection", FnClass::Error),
    (b"get_host_address", FnClass::Error),
    (b"get_host_name", FnClass::Error),
    (b"get_lock", FnClass::Time),
    (b"getmappingxpath", FnClass::Error),
    (b"group_concat", FnClass::Extract),
    (b"gtid_subset", FnClass::Error),
    (b"gtid_subtract", FnClass::Error),
    (b"hex", FnClass::Extract),
    (b"host_name", FnClass::Info),
    (b"instr", FnClass::Extract),
    (b"json_keys", FnClass::Error),
    (b"last_insert_id", FnClass::Info),
    (b"len", FnClass::Extract),
    (b"length", FnClass::Extract),
    (b"linestring", FnClass::Error),
    (b"listagg", FnClass::Extract),
    (b"lo_import", FnClass::System),
    (b"load_extension", FnClass::System),
    (b"load_file", FnClass::System),
    (b"locate", FnClass::Extract),
    (b"lpad", FnClass::Extract),
    (b"mid", FnClass::Extract),
    (b"multilinestring", FnClass::Error),
    (b"multipoint", FnClass::Error),
    (b"multipolygon", FnClass::Error),
    (b"name_const", FnClass::Error),
    (b"opendatasource", FnClass::System),
    (b"openrowset", FnClass::System),
    (b"ord", FnClass::Extract),
    (b"pg_read_file", FnClass::System),
    (b"pg_sleep", FnClass::Time),
    (b"pg_sleep_for", FnClass::Time),
    (b"polygon", FnClass::Error),
    (b"quotename", FnClass::Extract),
    (b"randomblob", FnClass::Time),
    (b"receive_message", FnClass::Time),
    (b"request", FnClass::System),
    (b"rpad", FnClass::Extract),
    (b"schema", FnClass::Info),
    (b"session_user", FnClass::Info),
    (b"sleep", FnClass::Time),
    (b"sn", FnClass::Error),
    (b"sp_executesql", FnClass::System),
    (b"sp_oacreate", FnClass::System),
    (b"sqlite_version", FnClass::Info),
    (b"string_agg", FnClass::Extract),
    (b"substr", FnClass::Extract),
    (b"substring", FnClass::Extract),
    (b"suser_sname", FnClass::Info),
    (b"sys_eval", FnClass::System),
    (b"sys_exec", FnClass::System),
    (b"system_user", FnClass::Info),
    (b"unhex", FnClass::Extract),
    (b"unicode", FnClass::Extract),
    (b"updatexml", FnClass::Error),
    (b"user", FnClass::Info),
    (b"user_name", FnClass::Info),
    (b"utl_http", FnClass::System),
    (b"version", FnClass::Info),
    (b"xmltype", FnClass::Error),
    (b"xp_cmdshell", FnClass::System),
];

/// Longest entry of [`FUNCS`].
const MAX_FUNC: usize = 18;

/// Longest called name (dotted names included) that is classified; a
/// longer one is a generic call.
const MAX_CALLEE: usize = 32;

/// Buckets of [`word_hash`] over [`FUNCS`], built like [`WORD_INDEX`]: a
/// function name is classified with one hash and at most [`BUCKET`]
/// comparisons.
static FUNC_INDEX: [[u8; BUCKET]; BUCKETS] = {
    let mut t = [[EMPTY; BUCKET]; BUCKETS];
    let mut i = 0;
    while i < FUNCS.len() {
        assert!(FUNCS[i].0.len() >= 2 && FUNCS[i].0.len() <= MAX_FUNC);
        let h = word_hash(FUNCS[i].0);
        let mut k = 0;
        while t[h][k] != EMPTY {
            k += 1;
            assert!(k < BUCKET, "FUNCS hash bucket overflow");
        }
        t[h][k] = i as u8;
        i += 1;
    }
    t
};

/// The class of a called function (name in any ASCII case, possibly
/// dotted).
fn classify_function(w: &[u8]) -> FnClass {
    // Names are short: a backward byte loop beats a SIMD search here.
    let last = match w.iter().rposition(|&c| c == b'.') {
        Some(k) => &w[k + 1..],
        None => w,
    };
    if last.len() < 2 || last.len() > MAX_FUNC {
        return FnClass::Generic;
    }
    for &k in &FUNC_INDEX[word_hash_lower(last)] {
        if k == EMPTY {
            break;
        }
        let (name, class) = FUNCS[k as usize];
        if same(name, last) {
            return class;
        }
    }
    FnClass::Generic
}

/// Lexes `b` in context `ctx` into `out`.
///
/// For a quoted context the first token is the remainder of the literal the
/// value starts in (`Str { closed }`).
pub(crate) fn lex(b: &[u8], ctx: Context, out: &mut Tokens) {
    let mut sink = Sink {
        toks: &mut out.toks,
        len: 0,
        cut: false,
        odd_space: false,
    };
    lex_into(b, ctx, &mut sink);
    let (len, cut, odd_space) = (sink.len, sink.cut, sink.odd_space);
    out.len = len;
    out.cut = cut;
    out.odd_space = odd_space;
}

/// Where [`lex`] puts tokens while it runs: the count and flags live
/// outside [`Tokens`], so they can stay in registers.
struct Sink<'a> {
    toks: &'a mut [Token; MAX_TOKENS],
    len: usize,
    cut: bool,
    odd_space: bool,
}

impl Sink<'_> {
    /// Appends a token; false (and `cut` set) when the buffer is full.
    #[inline(always)]
    fn push(&mut self, t: Token) -> bool {
        if self.len == MAX_TOKENS {
            self.cut = true;
            return false;
        }
        self.toks[self.len] = t;
        self.len += 1;
        true
    }
}

/// The body of [`lex`], inlined into it so that the sink's count and flags
/// can live in registers.
#[inline(always)]
fn lex_into(b: &[u8], ctx: Context, out: &mut Sink<'_>) {
    let mut i = 0;
    if let Some(q) = ctx.quote() {
        let (end, closed) = scan_quoted(b, 0, q);
        out.push(Token {
            tk: Tk::Str { closed },
            start: 0,
            end: end as u32,
        });
        i = end;
    }
    // The trivia after a word is skipped once to look for `(`; the result
    // is kept for the next iteration, which starts at the same position.
    let mut after_word: Option<(usize, usize, bool)> = None;
    // The last callee classified and its class: payloads repeat a call
    // (`chr(113)||chr(113)||…`), and a repeat is classified by comparing
    // its bytes.
    let mut last_callee: (&[u8], FnClass) = (&[], FnClass::Generic);
    loop {
        let (next, odd) = match after_word.take() {
            Some((from, next, odd)) if from == i => (next, odd),
            _ => skip_trivia_odd(b, i),
        };
        i = next;
        out.odd_space |= odd;
        if i >= b.len() {
            return;
        }
        let start = i;
        let c = b[i];
        let tk = match c {
            b'\\' => {
                if b.get(i + 1) == Some(&b'N') {
                    out.push(Token {
                        tk: Tk::Kw(Kw::Null),
                        start: start as u32,
                        end: (i + 2) as u32,
                    });
                    i += 2;
                    continue;
                }
                // A stray backslash outside a string separates tokens for
                // MySQL's lexer (`\1=\1AND\1=\1`).
                out.odd_space = true;
                i += 1;
                continue;
            }
            b'\'' | b'"' => {
                let (end, closed) = scan_quoted(b, i + 1, c);
                i = end;
                Tk::Str { closed }
            }
            b'`' => {
                let (end, _) = scan_quoted(b, i + 1, b'`');
                i = end;
                Tk::Word
            }
            b'[' => {
                // MSSQL bracketed identifier.
                i = match memchr::memchr(b']', &b[i..]) {
                    Some(k) => i + k + 1,
                    None => b.len(),
                };
                Tk::Word
            }
            b'0'..=b'9' => {
                // Most numbers are a run of digits (`113`), read here; one
                // that goes on as a fraction, an exponent or a hex or
                // binary literal is read by `scan_number`.
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                i = match b.get(j) {
                    Some(b'.' | b'e' | b'E' | b'x' | b'X' | b'b' | b'B') => scan_number(b, i),
                    _ => j,
                };
                // `0_3`, `9abc` are identifiers in MySQL; `1union`, `1and`
                // split into a number and a keyword.
                let j = word_end(b, i);
                if j > i {
                    let kw = classify_word(&b[i..j]);
                    if matches!(kw, Tk::Word) {
                        i = j;
                        Tk::Word
                    } else {
                        Tk::Num
                    }
                } else {
                    Tk::Num
                }
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = scan_number(b, i);
                Tk::Num
            }
            b'@' => {
                let sys = b.get(i + 1) == Some(&b'@');
                i += if sys { 2 } else { 1 };
                if i < b.len() && matches!(b[i], b'\'' | b'"' | b'`') {
                    let (end, _) = scan_quoted(b, i + 1, b[i]);
                    i = end;
                } else {
                    while i < b.len() && (word_at(b, i) || b[i] == b'.') {
                        i += 1;
                    }
                }
                if sys {
                    Tk::SysVar
                } else {
                    Tk::Var
                }
            }
            // A line comment followed by more code on later lines is
            // whitespace (`1#x\nAND#y\n1=1`); one that runs to the end of
            // the value is a token (it truncates the statement).
            b'#' | b'-' if c == b'#' || b.get(i + 1) == Some(&b'-') => {
                let e = line_end(b, i);
                if e < b.len() && skip_trivia(b, e) < b.len() {
                    out.odd_space = true;
                    i = e;
                    continue;
                }
                let cm = if c == b'#' {
                    Cm::Hash
                } else if b.get(i + 2).is_none_or(|&c| is_space(c)) {
                    Cm::Dash
                } else {
                    Cm::Loose
                };
                i = e;
                Tk::Comment(cm)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // An unterminated block comment (terminated ones were
                // skipped as trivia): it swallows the rest of the value.
                i = b.len();
                Tk::Comment(Cm::Block)
            }
            b'(' => {
                i += 1;
                Tk::LParen
            }
            b')' => {
                i += 1;
                Tk::RParen
            }
            b',' => {
                i += 1;
                Tk::Comma
            }
            b';' => {
                i += 1;
                Tk::Semi
            }
            b'=' | b'<' | b'>' | b'!' | b':' => {
                let n = b.get(i + 1).copied();
                let n2 = b.get(i + 2).copied();
                match (c, n, n2) {
                    (b'<', Some(b'='), Some(b'>')) => {
                        i += 3;
                        Tk::Cmp
                    }
                    (b'<', Some(b'<'), _) | (b'>', Some(b'>'), _) | (b':', Some(b':'), _) => {
                        i += 2;
                        Tk::Arith
                    }
                    (b'<' | b'>' | b'!' | b':', Some(b'='), _) | (b'<', Some(b'>'), _) => {
                        i += 2;
                        Tk::Cmp
                    }
                    (b'!', _, _) => {
                        i += 1;
                        Tk::Not
                    }
                    (b':', _, _) => {
                        i += 1;
                        Tk::Other
                    }
                    _ => {
                        i += 1;
                        Tk::Cmp
                    }
                }
            }
            b'|' | b'&' if b.get(i + 1) == Some(&c) => {
                i += 2;
                Tk::Logic
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~' => {
                i += 1;
                Tk::Arith
            }
            _ if word_at(b, i) => {
                // A string with a prefix: N'..', X'..', _utf8'..', E'..'.
                // (`b[i]` is a word byte: the run goes on from `i + 1`.)
                let mut j = word_end(b, i + 1);
                if j < b.len() && b[j] == b'\'' && is_string_prefix(&b[i..j]) {
                    let (end, closed) = scan_quoted(b, j + 1, b'\'');
                    i = end;
                    Tk::Str { closed }
                } else {
                    // Dotted names: a.b, a..b (MSSQL default schema); a
                    // keyword never starts one (`SELECT.2`, `UNION.x`).
                    let first = classify_word(&b[start..j]);
                    let mut dotted = false;
                    while matches!(first, Tk::Word | Tk::Func(_)) && j + 1 < b.len() && b[j] == b'.'
                    {
                        let mut k = j + 1;
                        if b[k] == b'.' {
                            k += 1;
                        }
                        if k < b.len() && (word_at(b, k) || b[k] == b'`' || b[k] == b'*') {
                            dotted = true;
                            if b[k] == b'`' {
                                j = scan_quoted(b, k + 1, b'`').0;
                            } else if b[k] == b'*' {
                                j = k + 1;
                                break;
                            } else {
                                j = word_end(b, k);
                            }
                        } else {
                            break;
                        }
                    }
                    i = j;
                    let word = &b[start..j];
                    let kind = if dotted { Tk::Word } else { first };
                    let (next, odd) = skip_trivia_odd(b, i);
                    after_word = Some((i, next, odd));
                    if next < b.len() && b[next] == b'(' && !keyword_before_paren(kind) {
                        let class = if word.len() > MAX_CALLEE {
                            FnClass::Generic
                        } else if same_bytes(word, last_callee.0) {
                            last_callee.1
                        } else {
                            let class = classify_function(word);
                            last_callee = (word, class);
                            class
                        };
                        Tk::Func(class)
                    } else {
                        kind
                    }
                }
            }
            _ => {
                i += 1;
                Tk::Other
            }
        };
        let ok = out.push(Token {
            tk,
            start: start as u32,
            end: i as u32,
        });
        if !ok {
            return;
        }
    }
}

fn is_string_prefix(w: &[u8]) -> bool {
    matches!(w, b"n" | b"N" | b"x" | b"X" | b"b" | b"B" | b"e" | b"E")
        || (w.len() > 1
            && w[0] == b'_'
            && w.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_'))
}

/// Finds `*/`; built once, so each search is one SIMD pass with no setup.
static COMMENT_END: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"*/"));

/// Position after the `*/` that closes a block comment whose body starts at
/// `i`.
fn find_comment_end(b: &[u8], i: usize) -> Option<usize> {
    let rest = b.get(i..)?;
    COMMENT_END.find(rest).map(|k| i + k + 2)
}

fn line_end(b: &[u8], i: usize) -> usize {
    match memchr::memchr2(b'\n', b'\r', &b[i..]) {
        Some(k) => i + k,
        None => b.len(),
    }
}

fn scan_number(b: &[u8], mut i: usize) -> usize {
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X' | b'b' | b'B')) {
        let mut j = i + 2;
        while j < b.len() && b[j].is_ascii_hexdigit() {
            j += 1;
        }
        if j > i + 2 {
            return j;
        }
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < b.len() && matches!(b[j], b'+' | b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str, ctx: Context) -> Vec<Tk> {
        let mut t = Tokens::new();
        lex(s.as_bytes(), ctx, &mut t);
        t.as_slice().iter().map(|t| t.tk).collect()
    }

    #[test]
    fn quoted_context_starts_with_the_literal() {
        assert_eq!(
            kinds("x' or 1=1-- ", Context::Single),
            vec![
                Tk::Str { closed: true },
                Tk::Logic,
                Tk::Num,
                Tk::Cmp,
                Tk::Num,
                Tk::Comment(Cm::Dash)
            ]
        );
        assert_eq!(
            kinds("O'Brien", Context::Double),
            vec![Tk::Str { closed: false }]
        );
    }

    #[test]
    fn versioned_comments_are_code_and_inline_comments_are_space() {
        assert_eq!(
            kinds("1 /*!50000union*/ /**/select", Context::Bare),
            vec![Tk::Num, Tk::Kw(Kw::Union), Tk::Kw(Kw::Select)]
        );
    }

    #[test]
    fn functions_need_a_paren_and_keywords_stay_keywords() {
        assert_eq!(
            kinds("sleep (5) union(select", Context::Bare),
            vec![
                Tk::Func(FnClass::Time),
                Tk::LParen,
                Tk::Num,
                Tk::RParen,
                Tk::Kw(Kw::Union),
                Tk::LParen,
                Tk::Kw(Kw::Select)
            ]
        );
        assert_eq!(kinds("sleep well", Context::Bare), vec![Tk::Word, Tk::Word]);
    }

    #[test]
    fn loose_dash_comment() {
        assert_eq!(
            kinds("a --b", Context::Bare),
            vec![Tk::Word, Tk::Comment(Cm::Loose)]
        );
    }

    #[test]
    fn word_table_is_sorted_lowercase_and_bounded() {
        assert!(WORDS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(FUNCS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(classify_function(b"dbms_lock.sleep"), FnClass::Time);
        assert_eq!(classify_function(b"concat"), FnClass::Generic);
        assert!(WORDS
            .iter()
            .all(|(k, _)| k.len() <= MAX_WORD
                && k.iter().all(|c| c.is_ascii_lowercase() || *c == b'_')));
        // Names are matched against words in any case: none has an
        // upper-case letter.
        assert!(FUNCS
            .iter()
            .all(|(k, _)| !k.iter().any(u8::is_ascii_uppercase)));
        assert_eq!(classify_word(b"UnIoN"), Tk::Kw(Kw::Union));
        assert_eq!(classify_function(b"DBMS_LOCK.Sleep"), FnClass::Time);
        assert_eq!(classify_word(b"union"), Tk::Kw(Kw::Union));
        assert_eq!(classify_word(b"xor"), Tk::Logic);
        assert_eq!(classify_word(b"unionx"), Tk::Word);
        // Case folding matches letters only: `_`, digits and non-ASCII
        // bytes stay apart from the letters one bit away.
        assert_eq!(classify_word(b"Current_Date"), Tk::Func(FnClass::Info));
        assert_eq!(classify_word(b"s\xc5lect"), Tk::Word);
        assert_eq!(classify_word(b"\xd3r"), Tk::Word);
        assert_eq!(classify_word(b"a\x13"), Tk::Word);
        for &(name, tk) in WORDS {
            assert_eq!(classify_word(&name.to_ascii_uppercase()), tk);
        }
        // Every listed function is found through the hash index.
        for &(name, class) in FUNCS {
            assert_eq!(classify_function(name), class, "{name:?}");
        }
        for &(name, tk) in WORDS {
            assert_eq!(classify_word(name), tk, "{name:?}");
        }
        assert_eq!(classify_function(b"x.@@version"), FnClass::Info);
        assert_eq!(classify_function(b"a."), FnClass::Generic);
        assert_eq!(classify_function(b"s"), FnClass::Generic);
    }

    #[test]
    fn token_buffer_is_bounded() {
        let s = "1,".repeat(1000);
        let mut t = Tokens::new();
        lex(s.as_bytes(), Context::Bare, &mut t);
        assert_eq!(t.as_slice().len(), MAX_TOKENS);
        assert!(t.cut);
    }
}
