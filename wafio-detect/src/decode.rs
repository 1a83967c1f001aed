//! Shared decoding: each value is decoded once into a small set of views
//! that every detector then reads.
//!
//! Views, in order:
//! 1. [`ViewKind::Raw`]: the value as given (already URL-decoded once by the
//!    request parser, as ModSecurity's `ARGS` are).
//! 2. [`ViewKind::Decoded`]: present only when it differs from the raw view.
//!    Passes run to a fixpoint, at most [`Limits::max_decode_depth`] rounds:
//!    URL percent escapes (`%XX`, `%uXXXX`), HTML character references
//!    (numeric and the named ones attackers use), JavaScript/Unicode escapes
//!    (`\xHH`, `\uHHHH`, `\u{H…}`), and overlong UTF-8 forms of ASCII.
//! 3. [`ViewKind::Base64`]: present when the raw value looks like base64
//!    (standard or URL-safe alphabet, at least 12 characters) and decodes.
//!
//! Every decoded byte keeps the offset of the original byte it came from, so
//! evidence found in a decoded view is reported as a span of the original.
//!
//! Each pass jumps from one escape character to the next (`%`, `&`, `\`,
//! `C0`/`C1`/`E0`) and copies the bytes between in bulk; nothing is copied
//! or allocated until an escape actually decodes, so a value with a stray
//! `%` or `&` costs a few searches and has no decoded view.

use std::ops::Range;

use base64::Engine as _;

use crate::classes::ByteClasses;

/// Limits applied to each value. All bounds are inclusive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of a value that are inspected (default 64 KiB). Longer values
    /// are inspected up to this length and the [`Input`] says it was cut.
    pub max_value_len: usize,
    /// Rounds of decoding for the decoded view (default 4): enough for
    /// triple encoding, bounded against decode bombs.
    pub max_decode_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_value_len: 64 * 1024,
            max_decode_depth: 4,
        }
    }
}

/// Which transformation of the value a view holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViewKind {
    /// The value as given.
    Raw,
    /// URL, HTML-entity, JS-escape and overlong-UTF-8 decoded to a fixpoint.
    Decoded,
    /// Base64-decoded.
    Base64,
}

impl ViewKind {
    /// Short stable name.
    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Raw => "raw",
            ViewKind::Decoded => "decoded",
            ViewKind::Base64 => "base64",
        }
    }
}

/// One view of a value: its bytes and a map back to the original.
#[derive(Clone, Debug)]
pub struct View<'a> {
    kind: ViewKind,
    bytes: std::borrow::Cow<'a, [u8]>,
    /// For each byte of `bytes`, the offset of the original byte it came
    /// from; `None` for the raw view (identity). Base64 views map every
    /// byte to the start of the original and spans widen to the whole value.
    map: Option<Vec<u32>>,
    original_len: usize,
    /// The byte classes of `bytes`, for the detectors' prefilters.
    classes: ByteClasses,
}

impl<'a> View<'a> {
    /// A view of `bytes`, whose byte classes are read here, once for all
    /// the detectors.
    fn new(
        kind: ViewKind,
        bytes: std::borrow::Cow<'a, [u8]>,
        map: Option<Vec<u32>>,
        original_len: usize,
    ) -> View<'a> {
        let classes = ByteClasses::of(&bytes);
        View {
            kind,
            bytes,
            map,
            original_len,
            classes,
        }
    }

    /// The byte classes of [`View::bytes`].
    pub(crate) fn classes(&self) -> ByteClasses {
        self.classes
    }

    /// Which transformation this view holds.
    pub fn kind(&self) -> ViewKind {
        self.kind
    }

    /// The bytes detectors inspect.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Maps a span of this view's bytes back to a span of the original value.
    pub fn original_span(&self, span: Range<usize>) -> Range<usize> {
        let len = self.bytes.len();
        let (start, end) = (
            span.start.min(len),
            span.end.min(len).max(span.start.min(len)),
        );
        match (&self.map, self.kind) {
            (None, _) => start..end,
            (Some(_), ViewKind::Base64) => 0..self.original_len,
            (Some(map), _) => {
                if map.is_empty() {
                    return 0..0;
                }
                let s = map[start.min(map.len() - 1)] as usize;
                let e = if end == 0 {
                    s
                } else if end >= map.len() {
                    self.original_len
                } else {
                    map[end] as usize
                };
                s..e.max(s)
            }
        }
    }
}

/// A value ready for the detectors: decoded once, views cached.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    raw: &'a [u8],
    truncated: bool,
    /// Raw, then the optional decoded and base64 views; fixed storage so a
    /// clean value allocates nothing.
    views: [View<'a>; 3],
    len: usize,
}

impl<'a> Input<'a> {
    /// Decodes `value` with the default [`Limits`].
    pub fn new(value: &'a [u8]) -> Input<'a> {
        Input::with_limits(value, &Limits::default())
    }

    /// Decodes `value` with the given limits.
    pub fn with_limits(value: &'a [u8], limits: &Limits) -> Input<'a> {
        let truncated = value.len() > limits.max_value_len;
        let raw = &value[..value.len().min(limits.max_value_len)];
        let empty = || View::new(ViewKind::Raw, std::borrow::Cow::Borrowed(&[][..]), None, 0);
        let mut views = [
            View::new(
                ViewKind::Raw,
                std::borrow::Cow::Borrowed(raw),
                None,
                raw.len(),
            ),
            empty(),
            empty(),
        ];
        let mut len = 1;
        // No decoding pass changes a value without a byte that starts an
        // escape: the raw view's byte classes tell.
        let escapes = views[0].classes().decode() & ESCAPE != 0;
        if let Some((bytes, map)) = escapes
            .then(|| decode_fixpoint(raw, limits.max_decode_depth))
            .flatten()
        {
            views[len] = View::new(
                ViewKind::Decoded,
                std::borrow::Cow::Owned(bytes),
                Some(map),
                raw.len(),
            );
            len += 1;
        }
        if let Some(bytes) = base64_view(raw) {
            views[len] = View::new(
                ViewKind::Base64,
                std::borrow::Cow::Owned(bytes),
                Some(Vec::new()),
                raw.len(),
            );
            len += 1;
        }
        Input {
            raw,
            truncated,
            views,
            len,
        }
    }

    /// `value` as its only view, with no decoding: for callers that have
    /// decoded it already (a SecLang rule's transformation chain before
    /// `@detectSQLi`, as libinjection sees only the transformed value).
    /// The length limit still applies.
    pub fn raw_only(value: &'a [u8], limits: &Limits) -> Input<'a> {
        let truncated = value.len() > limits.max_value_len;
        let raw = &value[..value.len().min(limits.max_value_len)];
        let view = |bytes: &'a [u8]| {
            View::new(
                ViewKind::Raw,
                std::borrow::Cow::Borrowed(bytes),
                None,
                bytes.len(),
            )
        };
        Input {
            raw,
            truncated,
            views: [view(raw), view(&[]), view(&[])],
            len: 1,
        }
    }

    /// The inspected part of the original value.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the value was longer than [`Limits::max_value_len`] and only
    /// its first part is inspected.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The views, raw first.
    pub fn views(&self) -> &[View<'a>] {
        &self.views[..self.len]
    }
}

/// The bytes that can start an escape some decoding pass decodes: `%`,
/// `&`, `\` and the lead bytes of overlong UTF-8.
const ESCAPE_BYTES: [u8; 6] = [b'%', b'&', b'\\', 0xC0, 0xC1, 0xE0];

/// Whether any decoding pass could change `b`: it holds one of
/// [`ESCAPE_BYTES`].
fn may_need_decoding(b: &[u8]) -> bool {
    let [b0, b1, b2, b3, b4, b5] = ESCAPE_BYTES;
    memchr::memchr3(b0, b1, b2, b).is_some() || memchr::memchr3(b3, b4, b5, b).is_some()
}

/// An [`ESCAPE_BYTES`] byte.
const ESCAPE: u8 = 1;

/// The class bits of each byte (one lane of
/// [`crate::classes::ByteClasses`]): [`ESCAPE`].
pub(crate) const BYTE_CLASS: [u8; 256] = crate::class_bits(
    [0; 256],
    &crate::byte_table(&ESCAPE_BYTES, 256),
    true,
    ESCAPE,
);

/// Decodes to a fixpoint. Returns `None` when nothing changed.
///
/// Nothing is copied or allocated until some pass actually changes a byte:
/// a value with a stray `%` or `&` that decodes to itself costs one search
/// per pass. (Callers skip values without an [`ESCAPE`] byte, which no
/// pass changes.)
fn decode_fixpoint(raw: &[u8], max_depth: usize) -> Option<(Vec<u8>, Vec<u32>)> {
    // `None` until the first change: the current bytes are `raw` and the
    // map is the identity.
    let mut cur: Option<(Vec<u8>, Vec<u32>)> = None;
    let mut out = Vec::new();
    let mut out_map = Vec::new();
    for _ in 0..max_depth {
        let mut changed = false;
        for pass in &PASSES {
            out.clear();
            out_map.clear();
            let bytes = cur.as_ref().map_or(raw, |(b, _)| b.as_slice());
            if !run_pass(pass, bytes, &mut out, &mut out_map) {
                continue;
            }
            changed = true;
            match &mut cur {
                None => {
                    // `out_map` indexes into `raw` already.
                    cur = Some((std::mem::take(&mut out), std::mem::take(&mut out_map)));
                }
                Some((cur_bytes, cur_map)) => {
                    // Compose maps: `out_map` indexes into `cur`, `cur_map` into raw.
                    for m in out_map.iter_mut() {
                        *m = cur_map[*m as usize];
                    }
                    std::mem::swap(cur_bytes, &mut out);
                    std::mem::swap(cur_map, &mut out_map);
                }
            }
        }
        if !changed {
            break;
        }
        if cur.as_ref().is_none_or(|(b, _)| !may_need_decoding(b)) {
            break;
        }
    }
    cur
}

/// What one decoding step produced.
#[derive(Clone, Copy)]
enum Decoded {
    /// One byte, as is (`%XX`, overlong forms of ASCII).
    Byte(u8),
    /// A code point, UTF-8 encoded (invalid ones become U+FFFD).
    Char(u32),
}

/// One decoding pass: the bytes that can start an escape, and the step that
/// decodes the escape starting at a position (its result and the position
/// after it), or `None` when the bytes there are not an escape.
struct Pass {
    triggers: fn(&[u8]) -> Option<usize>,
    step: StepFn,
}

/// Decodes the escape at a position: what it decodes to and the position
/// after it.
type StepFn = fn(&[u8], usize) -> Option<(Decoded, usize)>;

const PASSES: [Pass; 4] = [
    Pass {
        triggers: |b| memchr::memchr(b'%', b),
        step: percent_step,
    },
    Pass {
        triggers: |b| memchr::memchr(b'&', b),
        step: html_step,
    },
    Pass {
        triggers: |b| memchr::memchr(b'\\', b),
        step: js_step,
    },
    Pass {
        triggers: |b| memchr::memchr3(0xC0, 0xC1, 0xE0, b),
        step: overlong_step,
    },
];

/// Runs one pass over `b` left to right: every escape is replaced by what
/// it decodes to and every other byte is copied. Writes `out` and `map`
/// (each output byte's offset in `b`) only when something changed, which
/// is what it returns.
fn run_pass(pass: &Pass, b: &[u8], out: &mut Vec<u8>, map: &mut Vec<u32>) -> bool {
    // `b[..copied]` is emitted; escapes are looked for from `i`.
    let (mut i, mut copied) = (0, 0);
    let mut changed = false;
    while let Some(k) = (pass.triggers)(&b[i..]) {
        let at = i + k;
        let Some((d, next)) = (pass.step)(b, at) else {
            i = at + 1;
            continue;
        };
        if !changed {
            out.reserve(b.len());
            map.reserve(b.len());
            changed = true;
        }
        out.extend_from_slice(&b[copied..at]);
        map.extend(copied as u32..at as u32);
        match d {
            Decoded::Byte(c) => {
                out.push(c);
                map.push(at as u32);
            }
            Decoded::Char(cp) => push_char(out, map, cp, at),
        }
        i = next;
        copied = next;
        if i >= b.len() {
            break;
        }
    }
    if changed {
        out.extend_from_slice(&b[copied..]);
        map.extend(copied as u32..b.len() as u32);
    }
    changed
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn parse_hex(b: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in b {
        v = v.checked_mul(16)? + u32::from(hex_val(c)?);
    }
    Some(v)
}

fn push_char(out: &mut Vec<u8>, map: &mut Vec<u32>, cp: u32, at: usize) {
    let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
    let mut buf = [0u8; 4];
    for &b in c.encode_utf8(&mut buf).as_bytes() {
        out.push(b);
        map.push(at as u32);
    }
}

/// `%XX` and `%uXXXX` at `i` (a `%`).
fn percent_step(b: &[u8], i: usize) -> Option<(Decoded, usize)> {
    if i + 5 < b.len() && (b[i + 1] == b'u' || b[i + 1] == b'U') {
        if let Some(cp) = parse_hex(&b[i + 2..i + 6]) {
            return Some((Decoded::Char(cp), i + 6));
        }
    }
    if i + 2 < b.len() {
        if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
            return Some((Decoded::Byte(h << 4 | l), i + 3));
        }
    }
    None
}

/// Named character references attackers use; the rest stay as written.
const HTML_NAMED: &[(&[u8], char)] = &[
    (b"lt", '<'),
    (b"gt", '>'),
    (b"amp", '&'),
    (b"quot", '"'),
    (b"apos", '\''),
    (b"colon", ':'),
    (b"lpar", '('),
    (b"rpar", ')'),
    (b"sol", '/'),
    (b"bsol", '\\'),
    (b"tab", '\t'),
    (b"newline", '\n'),
    (b"nbsp", '\u{a0}'),
    (b"grave", '`'),
    (b"equals", '='),
    (b"num", '#'),
    (b"period", '.'),
    (b"comma", ','),
    (b"excl", '!'),
    (b"plus", '+'),
    (b"semi", ';'),
    (b"lsqb", '['),
    (b"rsqb", ']'),
    (b"lbrack", '['),
    (b"rbrack", ']'),
    (b"lcub", '{'),
    (b"rcub", '}'),
    (b"lbrace", '{'),
    (b"rbrace", '}'),
    (b"dollar", '$'),
    (b"percnt", '%'),
    (b"ast", '*'),
    (b"quest", '?'),
    (b"vert", '|'),
    (b"hyphen", '-'),
    (b"lowbar", '_'),
];

/// `&#NN;`, `&#xHH;` (semicolon optional, as browsers accept) and named
/// references at `i` (a `&`).
fn html_step(b: &[u8], i: usize) -> Option<(Decoded, usize)> {
    if i + 2 >= b.len() {
        return None;
    }
    if b[i + 1] == b'#' {
        let (hex, start) = if matches!(b[i + 2], b'x' | b'X') {
            (true, i + 3)
        } else {
            (false, i + 2)
        };
        let mut j = start;
        let mut cp: u32 = 0;
        while j < b.len() && j - start < 8 {
            let d = if hex {
                hex_val(b[j]).map(u32::from)
            } else {
                (b[j] as char).to_digit(10)
            };
            match d {
                Some(d) => {
                    cp = cp
                        .saturating_mul(if hex { 16 } else { 10 })
                        .saturating_add(d)
                }
                None => break,
            }
            j += 1;
        }
        if j > start {
            if j < b.len() && b[j] == b';' {
                j += 1;
            }
            return Some((Decoded::Char(cp), j));
        }
    } else if b[i + 1].is_ascii_alphabetic() {
        let mut j = i + 1;
        while j < b.len() && j - i <= 8 && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        let name = &b[i + 1..j];
        if let Some(&(_, c)) = HTML_NAMED
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            let semi = j < b.len() && b[j] == b';';
            // Without `;`, only the classic five are decoded, as browsers do.
            if semi || matches!(c, '<' | '>' | '&' | '"' | '\'') {
                return Some((Decoded::Char(c as u32), j + usize::from(semi)));
            }
        }
    }
    None
}

/// `\xHH`, `\uHHHH`, `\u{H…}` at `i` (a `\`).
fn js_step(b: &[u8], i: usize) -> Option<(Decoded, usize)> {
    if i + 1 >= b.len() {
        return None;
    }
    match b[i + 1] {
        b'x' | b'X' if i + 3 < b.len() => {
            parse_hex(&b[i + 2..i + 4]).map(|v| (Decoded::Char(v), i + 4))
        }
        b'u' | b'U' => {
            if i + 2 < b.len() && b[i + 2] == b'{' {
                let close = b[i + 3..b.len().min(i + 12)]
                    .iter()
                    .position(|&c| c == b'}')?;
                parse_hex(&b[i + 3..i + 3 + close])
                    .filter(|_| close > 0)
                    .map(|v| (Decoded::Char(v), i + 4 + close))
            } else if i + 5 < b.len() {
                parse_hex(&b[i + 2..i + 6]).map(|v| (Decoded::Char(v), i + 6))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Overlong UTF-8 encodings of ASCII (`C0 AF` for `/`, `E0 80 AE` for `.`)
/// at `i` (a `C0`, `C1` or `E0` byte).
fn overlong_step(b: &[u8], i: usize) -> Option<(Decoded, usize)> {
    let c = b[i];
    if (c == 0xC0 || c == 0xC1) && i + 1 < b.len() && b[i + 1] & 0xC0 == 0x80 {
        return Some((Decoded::Byte(((c & 0x1F) << 6) | (b[i + 1] & 0x3F)), i + 2));
    }
    if c == 0xE0 && i + 2 < b.len() && b[i + 1] & 0xE0 == 0x80 && b[i + 2] & 0xC0 == 0x80 {
        let cp = (u32::from(b[i + 1] & 0x3F) << 6) | u32::from(b[i + 2] & 0x3F);
        return Some((Decoded::Char(cp), i + 3));
    }
    None
}

/// Minimum length of a value tried as base64.
const MIN_BASE64_LEN: usize = 12;

/// Decodes `raw` when it looks like base64: only base64 characters, at least
/// [`MIN_BASE64_LEN`] long, not all letters or all digits (plain words and
/// numbers are not base64 payloads), and it decodes without error.
fn base64_view(raw: &[u8]) -> Option<Vec<u8>> {
    let trimmed = raw.trim_ascii();
    if trimmed.len() < MIN_BASE64_LEN {
        return None;
    }
    let body = trimmed
        .strip_suffix(b"==")
        .or_else(|| trimmed.strip_suffix(b"="))
        .unwrap_or(trimmed);
    let (mut std_only, mut url_only, mut digits, mut alpha) = (false, false, false, false);
    for &c in body {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' => alpha = true,
            b'0'..=b'9' => digits = true,
            b'+' | b'/' => std_only = true,
            b'-' | b'_' => url_only = true,
            _ => return None,
        }
    }
    if (std_only && url_only) || !(alpha && (digits || std_only || url_only || body.len() >= 16)) {
        return None;
    }
    let cfg = base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let engine = if url_only {
        base64::engine::GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg)
    } else {
        base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, cfg)
    };
    engine.decode(body).ok().filter(|d| !d.is_empty())
}

/// The byte-at-a-time decoder this module replaced, kept to check that the
/// trigger-driven passes decode every value exactly as it did.
#[cfg(test)]
mod reference {
    use super::{hex_val, may_need_decoding, parse_hex, push_char, HTML_NAMED};

    // Decodes to a fixpoint. Returns `None` when nothing changed.
    pub(super) fn decode_fixpoint(raw: &[u8], max_depth: usize) -> Option<(Vec<u8>, Vec<u32>)> {
        if !may_need_decoding(raw) {
            return None;
        }
        let mut cur: Vec<u8> = raw.to_vec();
        let mut cur_map: Vec<u32> = (0..raw.len() as u32).collect();
        let mut changed_any = false;
        let mut out = Vec::with_capacity(raw.len());
        let mut out_map = Vec::with_capacity(raw.len());
        for _ in 0..max_depth {
            let mut changed = false;
            for pass in [percent_pass as PassFn, html_pass, js_pass, overlong_pass] {
                out.clear();
                out_map.clear();
                if pass(&cur, &mut out, &mut out_map) {
                    changed = true;
                    // compose maps: out_map indexes into cur, cur_map into raw
                    for m in out_map.iter_mut() {
                        *m = cur_map[*m as usize];
                    }
                    std::mem::swap(&mut cur, &mut out);
                    std::mem::swap(&mut cur_map, &mut out_map);
                }
            }
            if !changed {
                break;
            }
            changed_any = true;
            if !may_need_decoding(&cur) {
                break;
            }
        }
        changed_any.then_some((cur, cur_map))
    }

    type PassFn = fn(&[u8], &mut Vec<u8>, &mut Vec<u32>) -> bool;

    /// `%XX` and `%uXXXX`.
    fn percent_pass(b: &[u8], out: &mut Vec<u8>, map: &mut Vec<u32>) -> bool {
        let mut i = 0;
        let mut changed = false;
        while i < b.len() {
            if b[i] == b'%' {
                if i + 5 < b.len() && (b[i + 1] == b'u' || b[i + 1] == b'U') {
                    if let Some(cp) = parse_hex(&b[i + 2..i + 6]) {
                        push_char(out, map, cp, i);
                        i += 6;
                        changed = true;
                        continue;
                    }
                }
                if i + 2 < b.len() {
                    if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                        out.push(h << 4 | l);
                        map.push(i as u32);
                        i += 3;
                        changed = true;
                        continue;
                    }
                }
            }
            out.push(b[i]);
            map.push(i as u32);
            i += 1;
        }
        changed
    }

    /// `&#NN;`, `&#xHH;` (semicolon optional, as browsers accept) and named references.
    fn html_pass(b: &[u8], out: &mut Vec<u8>, map: &mut Vec<u32>) -> bool {
        let mut i = 0;
        let mut changed = false;
        while i < b.len() {
            if b[i] == b'&' && i + 2 < b.len() {
                if b[i + 1] == b'#' {
                    let (hex, start) = if matches!(b[i + 2], b'x' | b'X') {
                        (true, i + 3)
                    } else {
                        (false, i + 2)
                    };
                    let mut j = start;
                    let mut cp: u32 = 0;
                    while j < b.len() && j - start < 8 {
                        let d = if hex {
                            hex_val(b[j]).map(u32::from)
                        } else {
                            (b[j] as char).to_digit(10)
                        };
                        match d {
                            Some(d) => {
                                cp = cp
                                    .saturating_mul(if hex { 16 } else { 10 })
                                    .saturating_add(d)
                            }
                            None => break,
                        }
                        j += 1;
                    }
                    if j > start {
                        if j < b.len() && b[j] == b';' {
                            j += 1;
                        }
                        push_char(out, map, cp, i);
                        i = j;
                        changed = true;
                        continue;
                    }
                } else if b[i + 1].is_ascii_alphabetic() {
                    let mut j = i + 1;
                    while j < b.len() && j - i <= 8 && b[j].is_ascii_alphabetic() {
                        j += 1;
                    }
                    let name = &b[i + 1..j];
                    if let Some(&(_, c)) = HTML_NAMED
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    {
                        let semi = j < b.len() && b[j] == b';';
                        // Without `;`, only the classic five are decoded, as browsers do.
                        if semi || matches!(c, '<' | '>' | '&' | '"' | '\'') {
                            push_char(out, map, c as u32, i);
                            i = j + usize::from(semi);
                            changed = true;
                            continue;
                        }
                    }
                }
            }
            out.push(b[i]);
            map.push(i as u32);
            i += 1;
        }
        changed
    }

    /// `\xHH`, `\uHHHH`, `\u{H…}`.
    fn js_pass(b: &[u8], out: &mut Vec<u8>, map: &mut Vec<u32>) -> bool {
        let mut i = 0;
        let mut changed = false;
        while i < b.len() {
            if b[i] == b'\\' && i + 1 < b.len() {
                match b[i + 1] {
                    b'x' | b'X' if i + 3 < b.len() => {
                        if let Some(v) = parse_hex(&b[i + 2..i + 4]) {
                            push_char(out, map, v, i);
                            i += 4;
                            changed = true;
                            continue;
                        }
                    }
                    b'u' | b'U' => {
                        if i + 2 < b.len() && b[i + 2] == b'{' {
                            if let Some(close) = b[i + 3..b.len().min(i + 12)]
                                .iter()
                                .position(|&c| c == b'}')
                            {
                                if let Some(v) =
                                    parse_hex(&b[i + 3..i + 3 + close]).filter(|_| close > 0)
                                {
                                    push_char(out, map, v, i);
                                    i += 4 + close;
                                    changed = true;
                                    continue;
                                }
                            }
                        } else if i + 5 < b.len() {
                            if let Some(v) = parse_hex(&b[i + 2..i + 6]) {
                                push_char(out, map, v, i);
                                i += 6;
                                changed = true;
                                continue;
                            }
                        }
                    }
                    _ => {}
                }
            }
            out.push(b[i]);
            map.push(i as u32);
            i += 1;
        }
        changed
    }

    /// Overlong UTF-8 encodings of ASCII (`C0 AF` for `/`, `E0 80 AE` for `.`).
    fn overlong_pass(b: &[u8], out: &mut Vec<u8>, map: &mut Vec<u32>) -> bool {
        let mut i = 0;
        let mut changed = false;
        while i < b.len() {
            let c = b[i];
            if (c == 0xC0 || c == 0xC1) && i + 1 < b.len() && b[i + 1] & 0xC0 == 0x80 {
                out.push(((c & 0x1F) << 6) | (b[i + 1] & 0x3F));
                map.push(i as u32);
                i += 2;
                changed = true;
                continue;
            }
            if c == 0xE0 && i + 2 < b.len() && b[i + 1] & 0xE0 == 0x80 && b[i + 2] & 0xC0 == 0x80 {
                let cp = (u32::from(b[i + 1] & 0x3F) << 6) | u32::from(b[i + 2] & 0x3F);
                push_char(out, map, cp, i);
                i += 3;
                changed = true;
                continue;
            }
            out.push(c);
            map.push(i as u32);
            i += 1;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(s: &str) -> String {
        let input = Input::new(s.as_bytes());
        let v = input
            .views()
            .iter()
            .find(|v| v.kind() == ViewKind::Decoded)
            .expect("decoded view");
        String::from_utf8_lossy(v.bytes()).into_owned()
    }

    #[test]
    fn raw_only_has_one_view_and_keeps_the_length_limit() {
        let limits = Limits {
            max_value_len: 8,
            ..Limits::default()
        };
        // Encoded and base64-looking, yet only the raw view is made.
        let input = Input::raw_only(b"JTI3JTIwb3IlMjAxPTE=", &limits);
        assert_eq!(input.views().len(), 1);
        assert_eq!(input.views()[0].kind(), ViewKind::Raw);
        assert_eq!(input.views()[0].bytes(), b"JTI3JTIw");
        assert!(input.truncated());
        assert_eq!(Input::with_limits(b"%27%20or", &limits).views().len(), 2);
    }

    #[test]
    fn clean_value_has_only_raw_view() {
        let input = Input::new(b"hello world");
        assert_eq!(input.views().len(), 1);
        assert_eq!(input.views()[0].kind(), ViewKind::Raw);
    }

    #[test]
    fn url_double_and_unicode_percent() {
        assert_eq!(decoded("%253Cscript%253E"), "<script>");
        assert_eq!(decoded("%u003cscript%u003e"), "<script>");
        assert_eq!(Input::new(b"100%").views().len(), 1);
    }

    #[test]
    fn html_entities() {
        assert_eq!(
            decoded("&lt;svg onload&#x3d;alert&#40;1&#41;&gt;"),
            "<svg onload=alert(1)>"
        );
        assert_eq!(decoded("javascript&colon;alert(1)"), "javascript:alert(1)");
        assert_eq!(decoded("&#106&#97&#118&#97"), "java");
    }

    #[test]
    fn js_escapes() {
        assert_eq!(decoded("\\x3cimg\\u0020src\\u{3d}x>"), "<img src=x>");
    }

    #[test]
    fn overlong_utf8() {
        assert_eq!(decoded("..%c0%af..%c0%afetc"), "../../etc");
        assert_eq!(decoded("%e0%80%ae%e0%80%ae/"), "../");
    }

    #[test]
    fn spans_map_back_to_original() {
        let raw = "a%3Cb%3Ec";
        let input = Input::new(raw.as_bytes());
        let v = &input.views()[1];
        assert_eq!(v.bytes(), b"a<b>c");
        assert_eq!(v.original_span(1..4), 1..8);
        assert_eq!(&raw[v.original_span(1..4)], "%3Cb%3E");
        assert_eq!(v.original_span(0..5), 0..raw.len());
    }

    #[test]
    fn base64_detected() {
        let input = Input::new(b"rO0ABXNyABdqYXZhLnV0aWwuUHJpb3JpdHlRdWV1ZQ==");
        let v = input
            .views()
            .iter()
            .find(|v| v.kind() == ViewKind::Base64)
            .expect("base64 view");
        assert_eq!(&v.bytes()[..4], &[0xac, 0xed, 0x00, 0x05]);
        assert!(Input::new(b"helloworldfoo")
            .views()
            .iter()
            .all(|v| v.kind() != ViewKind::Base64));
        assert!(Input::new(b"1234567890123")
            .views()
            .iter()
            .all(|v| v.kind() != ViewKind::Base64));
    }

    #[test]
    fn limits_truncate() {
        let big = vec![b'a'; 100];
        let input = Input::with_limits(
            &big,
            &Limits {
                max_value_len: 10,
                max_decode_depth: 4,
            },
        );
        assert!(input.truncated());
        assert_eq!(input.raw().len(), 10);
    }

    /// Bytes that start or complete escapes, so random values hit every
    /// decoding path (and its near misses).
    fn escapy() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let atoms: Vec<&'static [u8]> = vec![
            b"%", b"%u", b"%U", b"&", b"&#", b"&#x", b"\\", b"\\x", b"\\u", b"\\u{", b"}", b";",
            b"0", b"3", b"c", b"F", b"g", b"lt", b"amp", b"colon", b"x", b"25", b"26", b"5c",
            b"\xc0", b"\xc1", b"\xe0", b"\x80", b"\xaf", b"\xae", b" ", b"a",
        ];
        proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(atoms).prop_map(<[u8]>::to_vec),
                any::<u8>().prop_map(|b| vec![b]),
            ],
            0..40,
        )
        .prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn passes_decode_like_the_reference(v in escapy(), depth in 1usize..5) {
            proptest::prop_assert_eq!(
                decode_fixpoint(&v, depth),
                reference::decode_fixpoint(&v, depth)
            );
        }
    }

    #[test]
    fn stray_escape_characters_decode_to_nothing() {
        for v in [
            "1%')) and ('%'='",
            "a & b",
            "c:\\windows",
            "100%",
            "&#;",
            "\\u{}",
        ] {
            assert!(decode_fixpoint(v.as_bytes(), 4).is_none(), "{v}");
        }
    }

    #[test]
    fn decode_depth_is_bounded() {
        // 10 levels of encoding of '<': only max_decode_depth rounds are undone.
        let mut s = "<".to_string();
        for _ in 0..10 {
            s = s.replace('%', "%25").replace('<', "%3C");
        }
        let d = decoded(&s);
        assert!(d.starts_with('%'));
    }
}
