//! SecLang transformations (`t:…`), with ModSecurity v3 semantics.
//!
//! Each transformation reads bytes and writes bytes; [`Transform::apply`]
//! reports whether anything changed so callers can skip copies. All run in
//! time linear in the input (the digest ones in the digest's time) and
//! never grow the output by more than a constant factor (`hexEncode` and
//! `utf8toUnicode` at most 6×).

use std::fmt;

use base64::Engine as _;
use sha1::Digest as _;

/// One transformation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transform {
    /// `t:none`: drops the transformations before it (handled by the compiler).
    None,
    /// ASCII lowercase.
    Lowercase,
    /// ASCII uppercase.
    Uppercase,
    /// `%XX` and `+` decoding.
    UrlDecode,
    /// `%XX`, `%uHHHH` (full-width ASCII mapped to ASCII, else the low byte) and `+`.
    UrlDecodeUni,
    /// Percent-encodes everything but unreserved characters.
    UrlEncode,
    /// `&#DDD;`, `&#xHH;`, `&quot;`, `&amp;`, `&lt;`, `&gt;`, `&nbsp;` (semicolon optional).
    HtmlEntityDecode,
    /// JavaScript escapes: `\xHH`, `\uHHHH`, octal, `\n`-style and `\c`.
    JsDecode,
    /// CSS escapes: `\` and 1–6 hex digits (one optional space after), `\`-newline, `\c`.
    CssDecode,
    /// Windows/Unix command-line normalisation (see [`cmd_line`]).
    CmdLine,
    /// Runs of whitespace to one space.
    CompressWhitespace,
    /// Removes whitespace.
    RemoveWhitespace,
    /// Removes NUL bytes.
    RemoveNulls,
    /// NUL bytes to spaces.
    ReplaceNulls,
    /// `/* … */` to one space (an unterminated comment runs to the end).
    ReplaceComments,
    /// Removes `/* … */`, `<!-- … -->`, and `--`/`#` to the end.
    RemoveComments,
    /// Removes the comment characters `/*`, `*/`, `<!--`, `-->`, `--`, `#`.
    RemoveCommentsChar,
    /// UTF-8 multibyte sequences to `%uHHHH`.
    Utf8ToUnicode,
    /// Removes `./` segments and resolves `../`, collapses `//`.
    NormalizePath,
    /// As [`Transform::NormalizePath`] after `\` to `/`.
    NormalizePathWin,
    /// ANSI C escape sequences.
    EscapeSeqDecode,
    /// Base64 decoding, stopping at the first invalid character.
    Base64Decode,
    /// Base64 decoding that skips invalid characters.
    Base64DecodeExt,
    /// Base64 encoding.
    Base64Encode,
    /// Lowercase hex of every byte.
    HexEncode,
    /// Hex pairs to bytes.
    HexDecode,
    /// The decimal length.
    Length,
    /// SHA-1 digest (20 raw bytes).
    Sha1,
    /// MD5 digest (16 raw bytes).
    Md5,
    /// Removes leading and trailing whitespace.
    Trim,
    /// Removes leading whitespace.
    TrimLeft,
    /// Removes trailing whitespace.
    TrimRight,
    /// `0xHHHH…` hex literals to bytes.
    SqlHexDecode,
    /// Clears the high bit of every byte.
    ParityZero7bit,
}

/// The number of [`Transform`] variants (keep `ParityZero7bit` last).
pub(crate) const TRANSFORM_COUNT: usize = Transform::ParityZero7bit as usize + 1;

/// Every transformation with its SecLang name (matched case-insensitively).
pub const TRANSFORMS: &[(&str, Transform)] = &[
    ("none", Transform::None),
    ("lowercase", Transform::Lowercase),
    ("uppercase", Transform::Uppercase),
    ("urlDecode", Transform::UrlDecode),
    ("urlDecodeUni", Transform::UrlDecodeUni),
    ("urlEncode", Transform::UrlEncode),
    ("htmlEntityDecode", Transform::HtmlEntityDecode),
    ("jsDecode", Transform::JsDecode),
    ("cssDecode", Transform::CssDecode),
    ("cmdLine", Transform::CmdLine),
    ("compressWhitespace", Transform::CompressWhitespace),
    ("removeWhitespace", Transform::RemoveWhitespace),
    ("removeNulls", Transform::RemoveNulls),
    ("replaceNulls", Transform::ReplaceNulls),
    ("replaceComments", Transform::ReplaceComments),
    ("removeComments", Transform::RemoveComments),
    ("removeCommentsChar", Transform::RemoveCommentsChar),
    ("utf8toUnicode", Transform::Utf8ToUnicode),
    ("normalizePath", Transform::NormalizePath),
    ("normalisePath", Transform::NormalizePath),
    ("normalizePathWin", Transform::NormalizePathWin),
    ("normalisePathWin", Transform::NormalizePathWin),
    ("escapeSeqDecode", Transform::EscapeSeqDecode),
    ("base64Decode", Transform::Base64Decode),
    ("base64DecodeExt", Transform::Base64DecodeExt),
    ("base64Encode", Transform::Base64Encode),
    ("hexEncode", Transform::HexEncode),
    ("hexDecode", Transform::HexDecode),
    ("length", Transform::Length),
    ("sha1", Transform::Sha1),
    ("md5", Transform::Md5),
    ("trim", Transform::Trim),
    ("trimLeft", Transform::TrimLeft),
    ("trimRight", Transform::TrimRight),
    ("sqlHexDecode", Transform::SqlHexDecode),
    ("parityZero7bit", Transform::ParityZero7bit),
];

impl Transform {
    /// Looks a transformation up by its SecLang name, case-insensitively
    /// (CRS writes both `base64Decode` and `base64decode`).
    pub fn from_name(name: &str) -> Option<Transform> {
        TRANSFORMS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, t)| t)
    }

    /// The canonical SecLang name.
    pub fn name(self) -> &'static str {
        TRANSFORMS
            .iter()
            .find(|&&(_, t)| t == self)
            .map(|&(n, _)| n)
            .unwrap_or("none")
    }

    /// How many bytes longer than its input the output can be: `Some(0)`
    /// for a transformation that never lengthens a value (the decoders,
    /// the removals, case and whitespace changes), `None` when it can grow
    /// without such a bound (the encoders, `utf8toUnicode`, the digests).
    pub(crate) fn len_slack(self) -> Option<usize> {
        match self {
            Transform::UrlEncode
            | Transform::Utf8ToUnicode
            | Transform::Base64Encode
            | Transform::HexEncode
            | Transform::Sha1
            | Transform::Md5 => None,
            // `..` becomes `../`; `length` of the empty value is `0`.
            Transform::NormalizePath | Transform::NormalizePathWin | Transform::Length => Some(1),
            _ => Some(0),
        }
    }

    /// An upper bound on the length of the output for `input`, without
    /// running the transformation: the bytes base64 decoding can make of
    /// the alphabet bytes it would read, else the input length plus
    /// [`Transform::len_slack`].
    pub(crate) fn max_output_len(self, input: &[u8]) -> Option<usize> {
        let decoded = |n: usize| n / 4 * 3 + (n % 4 * 3) / 4;
        match self {
            // Both variants decode at most the alphabet bytes before the
            // first `=` (the strict one only the leading run of them).
            Transform::Base64Decode => {
                Some(decoded(input.iter().take_while(|c| is_b64(c)).count()))
            }
            Transform::Base64DecodeExt => Some(decoded(
                input
                    .iter()
                    .take_while(|&&c| c != b'=')
                    .filter(|c| is_b64(c))
                    .count(),
            )),
            _ => Some(input.len() + self.len_slack()?),
        }
    }

    /// Applies the transformation to `input`, writing the result to `out`
    /// (cleared first). Returns whether the output differs from the input.
    pub fn apply(self, input: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        // Most transformations keep or shrink the length: one allocation
        // instead of growing byte by byte (digests and `length` are short).
        if !matches!(self, Transform::Length | Transform::Sha1 | Transform::Md5) {
            out.reserve(input.len());
        }
        match self {
            Transform::None => out.extend_from_slice(input),
            Transform::Lowercase => out.extend(input.iter().map(u8::to_ascii_lowercase)),
            Transform::Uppercase => out.extend(input.iter().map(u8::to_ascii_uppercase)),
            Transform::UrlDecode => url_decode(input, false, out),
            Transform::UrlDecodeUni => url_decode(input, true, out),
            Transform::UrlEncode => url_encode(input, out),
            Transform::HtmlEntityDecode => html_entity_decode(input, out),
            Transform::JsDecode => js_decode(input, out),
            Transform::CssDecode => css_decode(input, out),
            Transform::CmdLine => cmd_line(input, out),
            Transform::CompressWhitespace => compress_whitespace(input, out),
            Transform::RemoveWhitespace => out.extend(input.iter().copied().filter(|&c| !is_ws(c))),
            Transform::RemoveNulls => out.extend(input.iter().copied().filter(|&c| c != 0)),
            Transform::ReplaceNulls => {
                out.extend(input.iter().map(|&c| if c == 0 { b' ' } else { c }))
            }
            Transform::ReplaceComments => replace_comments(input, out),
            Transform::RemoveComments => remove_comments(input, out),
            Transform::RemoveCommentsChar => remove_comments_char(input, out),
            Transform::Utf8ToUnicode => utf8_to_unicode(input, out),
            Transform::NormalizePath => normalize_path(input, false, out),
            Transform::NormalizePathWin => normalize_path(input, true, out),
            Transform::EscapeSeqDecode => escape_seq_decode(input, out),
            Transform::Base64Decode => base64_decode(input, false, out),
            Transform::Base64DecodeExt => base64_decode(input, true, out),
            Transform::Base64Encode => out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(input)
                    .as_bytes(),
            ),
            Transform::HexEncode => {
                for &c in input {
                    out.push(HEX[usize::from(c >> 4)]);
                    out.push(HEX[usize::from(c & 15)]);
                }
            }
            Transform::HexDecode => hex_decode(input, out),
            Transform::Length => out.extend_from_slice(input.len().to_string().as_bytes()),
            Transform::Sha1 => out.extend_from_slice(&sha1::Sha1::digest(input)),
            Transform::Md5 => out.extend_from_slice(&md5::Md5::digest(input)),
            Transform::Trim => out.extend_from_slice(trim_end(trim_start(input))),
            Transform::TrimLeft => out.extend_from_slice(trim_start(input)),
            Transform::TrimRight => out.extend_from_slice(trim_end(input)),
            Transform::SqlHexDecode => sql_hex_decode(input, out),
            Transform::ParityZero7bit => out.extend(input.iter().map(|&c| c & 0x7f)),
        }
        out.as_slice() != input
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// ModSecurity's whitespace: space, `\t\n\v\f\r` and the Latin-1 NBSP.
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| is_ws(c)).count();
    &b[n..]
}

fn trim_end(b: &[u8]) -> &[u8] {
    let n = b.iter().rev().take_while(|&&c| is_ws(c)).count();
    &b[..b.len() - n]
}

fn hex(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

fn hex2(b: &[u8], i: usize) -> Option<u8> {
    Some(hex(*b.get(i)?)? << 4 | hex(*b.get(i + 1)?)?)
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let mut v = 0u32;
    for k in 0..4 {
        v = v << 4 | u32::from(hex(*b.get(i + k)?)?);
    }
    Some(v)
}

/// A UTF-16 code unit as ModSecurity narrows it: full-width ASCII
/// (U+FF01–U+FF5E) to its ASCII form, anything else to its low byte.
fn narrow(code: u32) -> u8 {
    if (0xff01..=0xff5e).contains(&code) {
        (code - 0xfee0) as u8
    } else {
        (code & 0xff) as u8
    }
}

fn url_decode(b: &[u8], uni: bool, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                if uni && matches!(b.get(i + 1), Some(b'u' | b'U')) {
                    if let Some(code) = hex4(b, i + 2) {
                        out.push(narrow(code));
                        i += 6;
                        continue;
                    }
                }
                if let Some(v) = hex2(b, i + 1) {
                    out.push(v);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
}

fn url_encode(b: &[u8], out: &mut Vec<u8>) {
    for &c in b {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(c),
            b' ' => out.push(b'+'),
            _ => {
                out.push(b'%');
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
            }
        }
    }
}

fn html_entity_decode(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'&' {
            if let Some((byte, used)) = html_entity(&b[i + 1..]) {
                out.push(byte);
                i += 1 + used;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
}

/// One entity after `&`: the decoded byte and how many bytes it used
/// (including an optional `;`).
fn html_entity(b: &[u8]) -> Option<(u8, usize)> {
    let semi = |n: usize| if b.get(n) == Some(&b';') { n + 1 } else { n };
    if b.first() == Some(&b'#') {
        let (radix, start) = if matches!(b.get(1), Some(b'x' | b'X')) {
            (16, 2)
        } else {
            (10, 1)
        };
        let digits = b[start..]
            .iter()
            .take_while(|c| char::from(**c).is_digit(radix))
            .count();
        if digits == 0 {
            return None;
        }
        let mut v: u32 = 0;
        for &c in &b[start..start + digits] {
            v = v
                .saturating_mul(radix)
                .saturating_add(char::from(c).to_digit(radix).unwrap_or(0));
        }
        return Some(((v & 0xff) as u8, semi(start + digits)));
    }
    for (name, byte) in [
        (&b"quot"[..], b'"'),
        (b"amp", b'&'),
        (b"lt", b'<'),
        (b"gt", b'>'),
        (b"nbsp", 0xa0),
    ] {
        if b.len() >= name.len() && b[..name.len()].eq_ignore_ascii_case(name) {
            return Some((byte, semi(name.len())));
        }
    }
    None
}

fn js_decode(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        match c {
            b'x' | b'X' => {
                if let Some(v) = hex2(b, i + 2) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
            b'u' | b'U' => {
                if let Some(code) = hex4(b, i + 2) {
                    out.push(narrow(code));
                    i += 6;
                    continue;
                }
            }
            b'0'..=b'7' => {
                let mut v: u32 = 0;
                let mut n = 0;
                while n < 3 && i + 1 + n < b.len() && (b'0'..=b'7').contains(&b[i + 1 + n]) {
                    let next = v * 8 + u32::from(b[i + 1 + n] - b'0');
                    if next > 0o377 {
                        break;
                    }
                    v = next;
                    n += 1;
                }
                out.push(v as u8);
                i += 1 + n;
                continue;
            }
            _ => {}
        }
        out.push(match c {
            b'a' => 7,
            b'b' => 8,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            other => other,
        });
        i += 2;
    }
}

fn css_decode(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        if i + 1 >= b.len() {
            // A lone trailing backslash is dropped.
            i += 1;
            continue;
        }
        let n = b[i + 1..]
            .iter()
            .take(6)
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if n > 0 {
            let mut v: u32 = 0;
            for &c in &b[i + 1..i + 1 + n] {
                v = v << 4 | u32::from(hex(c).unwrap_or(0));
            }
            out.push(narrow(v));
            i += 1 + n;
            if i < b.len() && is_ws(b[i]) && b[i] != 0xa0 {
                i += 1;
            }
        } else if b[i + 1] == b'\n' {
            i += 2;
        } else {
            out.push(b[i + 1]);
            i += 2;
        }
    }
}

/// `cmdLine`: deletes `\ " ' ^`, deletes spaces before `/` and `(`, turns
/// `,` and `;` into spaces, folds whitespace runs to one space, lowercases.
pub fn cmd_line(b: &[u8], out: &mut Vec<u8>) {
    let mut space = false;
    for &c in b {
        match c {
            b'\\' | b'"' | b'\'' | b'^' => {}
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b',' | b';' => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            b'/' | b'(' => {
                if space {
                    out.pop();
                }
                out.push(c);
                space = false;
            }
            _ => {
                out.push(c.to_ascii_lowercase());
                space = false;
            }
        }
    }
}

fn compress_whitespace(b: &[u8], out: &mut Vec<u8>) {
    let mut space = false;
    for &c in b {
        if is_ws(c) {
            if !space {
                out.push(b' ');
                space = true;
            }
        } else {
            out.push(c);
            space = false;
        }
    }
}

fn replace_comments(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            match memchr::memmem::find(&b[i + 2..], b"*/") {
                Some(end) => i += 2 + end + 2,
                None => i = b.len(),
            }
            out.push(b' ');
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
}

fn remove_comments(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"/*") {
            i = match memchr::memmem::find(&rest[2..], b"*/") {
                Some(end) => i + 2 + end + 2,
                None => b.len(),
            };
        } else if rest.starts_with(b"<!--") {
            i = match memchr::memmem::find(&rest[4..], b"-->") {
                Some(end) => i + 4 + end + 3,
                None => b.len(),
            };
        } else if rest.starts_with(b"--") || rest[0] == b'#' {
            break;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
}

fn remove_comments_char(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            i += 4;
        } else if rest.starts_with(b"-->") {
            i += 3;
        } else if rest.starts_with(b"/*") || rest.starts_with(b"*/") || rest.starts_with(b"--") {
            i += 2;
        } else if rest[0] == b'#' {
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
}

fn utf8_to_unicode(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let len = match c {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 1,
        };
        if len > 1 {
            if let Some(ch) = b
                .get(i..i + len)
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| s.chars().next())
            {
                let code = ch as u32;
                out.extend_from_slice(b"%u");
                let digits = if code > 0xffff {
                    format!("{code:x}")
                } else {
                    format!("{code:04x}")
                };
                out.extend_from_slice(digits.as_bytes());
                i += len;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
}

fn normalize_path(b: &[u8], win: bool, out: &mut Vec<u8>) {
    let owned;
    let b = if win {
        owned = b
            .iter()
            .map(|&c| if c == b'\\' { b'/' } else { c })
            .collect::<Vec<u8>>();
        &owned[..]
    } else {
        b
    };
    let absolute = b.first() == Some(&b'/');
    let trailing = b.len() > 1 && (b.ends_with(b"/") || b.ends_with(b"/.") || b.ends_with(b"/.."));
    let mut segs: Vec<&[u8]> = Vec::new();
    let mut ups = 0usize;
    for seg in b.split(|&c| c == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                if segs.pop().is_none() && !absolute {
                    ups += 1;
                }
            }
            s => segs.push(s),
        }
    }
    if absolute {
        out.push(b'/');
    }
    for _ in 0..ups {
        out.extend_from_slice(b"../");
    }
    for (k, s) in segs.iter().enumerate() {
        if k > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(s);
    }
    if trailing && !out.ends_with(b"/") {
        out.push(b'/');
    }
}

fn escape_seq_decode(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        let simple = match c {
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'?' | b'\'' | b'"' => Some(c),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            i += 2;
            continue;
        }
        if matches!(c, b'x' | b'X') {
            if let Some(v) = hex2(b, i + 2) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        if (b'0'..=b'7').contains(&c) {
            let mut v: u32 = 0;
            let mut n = 0;
            while n < 3 && i + 1 + n < b.len() && (b'0'..=b'7').contains(&b[i + 1 + n]) {
                v = v * 8 + u32::from(b[i + 1 + n] - b'0');
                n += 1;
            }
            out.push((v & 0xff) as u8);
            i += 1 + n;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
}

/// The bytes of the standard base64 alphabet (padding aside): a table,
/// as every byte of every value a multiMatch base64 chain sees is tested.
const BASE64_ALPHABET: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
        c += 1;
    }
    t
};

/// Whether a byte is of the base64 alphabet (see [`BASE64_ALPHABET`]).
fn is_b64(c: &u8) -> bool {
    BASE64_ALPHABET[usize::from(*c)]
}

fn base64_decode(b: &[u8], forgiving: bool, out: &mut Vec<u8>) {
    // The usual value is one run of alphabet bytes: decoded in place. Only
    // the forgiving variant skipping a stray byte needs a cleaned copy.
    let run = b.iter().position(|c| !is_b64(c)).unwrap_or(b.len());
    let copied;
    let mut clean: &[u8] = &b[..run];
    if forgiving && run < b.len() && b[run] != b'=' {
        let end = b.iter().position(|&c| c == b'=').unwrap_or(b.len());
        copied = b[..end].iter().copied().filter(is_b64).collect::<Vec<u8>>();
        clean = &copied;
    }
    // Drop a dangling sextet that cannot form a byte.
    if clean.len() % 4 == 1 {
        clean = &clean[..clean.len() - 1];
    }
    const ENGINE: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let start = out.len();
    if ENGINE.decode_vec(clean, out).is_err() {
        out.truncate(start);
    }
}

fn hex_decode(b: &[u8], out: &mut Vec<u8>) {
    for pair in b.chunks_exact(2) {
        match hex2(pair, 0) {
            Some(v) => out.push(v),
            None => return,
        }
    }
}

fn sql_hex_decode(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
            let n = b[i + 2..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count()
                / 2
                * 2;
            if n >= 2 {
                for k in (0..n).step_by(2) {
                    out.push(hex2(b, i + 2 + k).unwrap_or(0));
                }
                i += 2 + n;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base64_table_is_the_standard_alphabet() {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for b in 0..=255u8 {
            assert_eq!(
                BASE64_ALPHABET[usize::from(b)],
                ALPHABET.contains(&b),
                "byte {b}"
            );
        }
    }

    fn t(name: &str, input: &[u8]) -> Vec<u8> {
        let tr = Transform::from_name(name).unwrap_or_else(|| panic!("unknown {name}"));
        let mut out = Vec::new();
        let changed = tr.apply(input, &mut out);
        assert_eq!(changed, out != input, "{name}: changed flag");
        out
    }

    #[test]
    fn names_round_trip_case_insensitively() {
        for &(name, tr) in TRANSFORMS {
            assert_eq!(Transform::from_name(name), Some(tr));
        }
        assert_eq!(
            Transform::from_name("base64decode"),
            Some(Transform::Base64Decode)
        );
        assert_eq!(Transform::from_name("alert"), None);
    }

    #[test]
    fn url_decoding() {
        assert_eq!(t("urlDecode", b"a%20b+c%zz%2"), b"a b c%zz%2");
        assert_eq!(t("urlDecodeUni", b"%u0041%uff1c%u2215x%41"), b"A<\x15xA");
    }

    #[test]
    fn html_entities() {
        assert_eq!(
            t(
                "htmlEntityDecode",
                b"&lt;a&#x3e;&#62&quot&amp;x&nbsp;&bogus;"
            ),
            b"<a>>\"&x\xa0&bogus;"
        );
        assert_eq!(t("htmlEntityDecode", b"&#"), b"&#");
    }

    #[test]
    fn js_and_css_and_escapes() {
        assert_eq!(t("jsDecode", b"\\x41\\u0042\\101\\n\\q\\"), b"AB\x41\nq\\");
        assert_eq!(t("jsDecode", b"\\uff1cscript"), b"<script");
        assert_eq!(
            t("cssDecode", b"\\6a avascript\\3a\\\nx\\;"),
            b"javascript:x;"
        );
        assert_eq!(t("escapeSeqDecode", b"\\x41\\101\\n\\\\\\q"), b"AA\n\\\\q");
    }

    #[test]
    fn cmd_line_normalises_obfuscation() {
        assert_eq!(t("cmdLine", b"C^Md.ExE /c \"whoami\""), b"cmd.exe/c whoami");
        assert_eq!(
            t("cmdLine", b"cat  /etc/passwd;  ls ,x (y)"),
            b"cat/etc/passwd ls x(y)"
        );
    }

    #[test]
    fn whitespace_nulls_comments() {
        assert_eq!(t("compressWhitespace", b"a \t\n b\xa0\xa0c"), b"a b c");
        assert_eq!(t("removeWhitespace", b" a b\tc "), b"abc");
        assert_eq!(t("removeNulls", b"a\0b"), b"ab");
        assert_eq!(t("replaceNulls", b"a\0b"), b"a b");
        assert_eq!(
            t("replaceComments", b"UNION/**/SELECT/* x"),
            b"UNION SELECT "
        );
        assert_eq!(t("removeComments", b"a/*x*/b<!--y-->c-- z"), b"abc");
        assert_eq!(t("removeCommentsChar", b"a/*b*/c--d#e<!--f-->"), b"abcdef");
        assert_eq!(t("trim", b" \t x y \n"), b"x y");
        assert_eq!(t("trimLeft", b"  x "), b"x ");
        assert_eq!(t("trimRight", b"  x "), b"  x");
    }

    #[test]
    fn paths() {
        assert_eq!(
            t("normalizePath", b"/a/./b/../../../etc//passwd"),
            b"/etc/passwd"
        );
        assert_eq!(t("normalizePath", b"a/../../x/"), b"../x/");
        assert_eq!(t("normalizePathWin", b"C:\\a\\..\\win.ini"), b"C:/win.ini");
    }

    #[test]
    fn codecs_and_digests() {
        assert_eq!(t("utf8toUnicode", "aé€".as_bytes()), b"a%u00e9%u20ac");
        assert_eq!(t("base64Decode", b"aGVsbG8=trailing"), b"hello");
        assert_eq!(t("base64Decode", b"aGV*sbG8="), b"he");
        assert_eq!(t("base64DecodeExt", b"aGV*sbG8="), b"hello");
        assert_eq!(t("base64Encode", b"hello"), b"aGVsbG8=");
        assert_eq!(t("hexEncode", b"\x00A\xff"), b"0041ff");
        assert_eq!(t("hexDecode", b"4142zz"), b"AB");
        assert_eq!(t("length", b"hello"), b"5");
        assert_eq!(t("sha1", b"abc").len(), 20);
        assert_eq!(
            t("hexEncode", &t("md5", b"")),
            b"d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(t("sqlHexDecode", b"SELECT 0x414243, 0x"), b"SELECT ABC, 0x");
        assert_eq!(t("lowercase", b"AbC"), b"abc");
        assert_eq!(t("parityZero7bit", b"\xc1"), b"A");
    }

    #[test]
    fn max_output_len_at_its_edges() {
        let edges: &[&[u8]] = &[
            b"",
            b"..",
            b"../..",
            b"..\\..",
            b"/..",
            b".",
            b"a",
            b"item_number_5",
            b"aGVsbG8=",
            b"aGVs bG8=",
            b"aGVsbG8",
            b"a%41",
            b"%u0041",
            b"&#65;",
            b"\\x41",
            b"/**/",
            b"/*",
        ];
        let mut out = Vec::new();
        for &input in edges {
            for &(_, tr) in TRANSFORMS {
                tr.apply(input, &mut out);
                if let Some(max) = tr.max_output_len(input) {
                    assert!(out.len() <= max, "{tr}: {input:?} -> {out:?}, bound {max}");
                }
            }
        }
        // The bounds are tight where they matter.
        assert_eq!(
            Transform::Base64Decode.max_output_len(b"item_number_5"),
            Some(3)
        );
        assert_eq!(Transform::Base64Decode.max_output_len(b"aGVsbG8="), Some(5));
        assert_eq!(
            Transform::Base64DecodeExt.max_output_len(b"aGVs bG8="),
            Some(5)
        );
        assert_eq!(t("normalizePath", b".."), b"../");
        assert_eq!(Transform::NormalizePath.max_output_len(b".."), Some(3));
        assert_eq!(Transform::HexEncode.max_output_len(b"a"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_output_is_bounded(input in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let mut out = Vec::new();
            for &(_, tr) in TRANSFORMS {
                tr.apply(&input, &mut out);
                proptest::prop_assert!(out.len() <= 6 * input.len() + 40, "{tr}: {} -> {}", input.len(), out.len());
                if let Some(max) = tr.max_output_len(&input) {
                    proptest::prop_assert!(out.len() <= max, "{tr}: {input:?} -> {out:?}, bound {max}");
                }
            }
        }

        /// [`Transform::max_output_len`] on the inputs that reach its
        /// edges: escapes, entities, comments, path segments, padding.
        #[test]
        fn max_output_len_bounds_every_output(
            input in proptest::collection::vec(proptest::sample::select(
                b"aZ09+/=%uU&#x;\\.*-<!>\"'^ \t\n\x00\xc3\xa9".to_vec()), 0..40),
        ) {
            let mut out = Vec::new();
            for &(_, tr) in TRANSFORMS {
                tr.apply(&input, &mut out);
                if let Some(max) = tr.max_output_len(&input) {
                    proptest::prop_assert!(out.len() <= max, "{tr}: {input:?} -> {out:?}, bound {max}");
                }
            }
        }
    }
}
