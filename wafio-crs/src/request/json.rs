//! The JSON body processor: an iterative (explicit-stack) streaming parser
//! that flattens a body into `ARGS_POST` members named `json.a.b`.
//!
//! Naming: the root is `json`; an object member appends `.key`, an array
//! element appends `.index` (0-based): `{"a":{"b":1},"c":[true,null]}` gives
//! `json.a.b=1`, `json.c.0=true`, `json.c.1=` (null is empty, as in
//! ModSecurity), and a non-empty array also gets a member named like the
//! array holding its element count (`json.c=2`, after its elements). This
//! is Coraza's naming; it keeps names unique (no parameter-pollution noise
//! from arrays) while `ARGS_NAMES` still shows the array's own key
//! (CRS 934210 matches `json.roles__contained_by`). libmodsecurity v3
//! names array elements `json.c.array_0`. Values: strings unescaped, numbers as written,
//! booleans `true`/`false`. Empty objects and arrays add nothing. Duplicate
//! keys are all kept, in order (a map-based parser would hide all but one).

use super::{Arg, ArgSource, RequestLimits};

enum Frame {
    /// An object; `len` is the path length naming it.
    Object { len: usize },
    /// An array; `len` is the path length naming it, `next` the next index.
    Array { len: usize, next: usize },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (root, after `:`, after `,` in an array).
    Value,
    /// A value or `]` (just after `[`).
    ValueOrClose,
    /// A key or `}` (just after `{`).
    KeyOrClose,
    /// A key (after `,` in an object).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the closing bracket of the innermost container.
    CommaOrClose,
    /// Only whitespace up to the end.
    End,
}

/// The bytes that end the plain run of a string: its closing quote, an
/// escape, and the control characters JSON does not allow in it.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("JSON parsing error at byte {}: {what}", self.pos)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Parses a string starting at the opening quote; appends its unescaped
    /// content to `out`.
    fn string(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        // The opening quote.
        self.pos += 1;
        // Most strings are short and plain: a byte loop finds their end
        // before a vectorised search would be set up. Its plain bytes are
        // taken either way; the search below goes on after them.
        let start = self.pos.min(self.input.len());
        let head = &self.input[start..self.input.len().min(start + 32)];
        let plain = head
            .iter()
            .position(|&b| STRING_STOP[usize::from(b)])
            .unwrap_or(head.len());
        out.extend_from_slice(&head[..plain]);
        self.pos = start + plain;
        if head.get(plain) == Some(&b'"') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let rest = &self.input[self.pos.min(self.input.len())..];
            let Some(i) = memchr::memchr3(b'"', b'\\', b'\n', rest) else {
                self.pos = self.input.len();
                return Err(self.err("unterminated string"));
            };
            let chunk = &rest[..i];
            if let Some(c) = chunk.iter().position(|&b| b < 0x20) {
                self.pos += c;
                return Err(self.err("control character in string"));
            }
            out.extend_from_slice(chunk);
            self.pos += i;
            match rest[i] {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\n' => return Err(self.err("control character in string")),
                _ => {
                    let esc = self.input.get(self.pos + 1).copied();
                    self.pos += 2;
                    match esc {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'/') => out.push(b'/'),
                        Some(b'b') => out.push(0x08),
                        Some(b'f') => out.push(0x0c),
                        Some(b'n') => out.push(b'\n'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'u') => {
                            let c = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.err("invalid escape in string"));
                        }
                    }
                }
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.input.get(self.pos..self.pos + 4)?;
        let mut v = 0u32;
        for &d in digits {
            v = v << 4 | (d as char).to_digit(16)?;
        }
        self.pos += 4;
        Some(v)
    }

    /// After `\u`: one code point; a lone surrogate becomes U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let Some(hi) = self.hex4() else {
            return Err(self.err("invalid \\u escape"));
        };
        if (0xD800..0xDC00).contains(&hi) && self.input[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            match self.hex4() {
                Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
                }
                _ => self.pos = save,
            }
        }
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    /// A number, validated against the JSON grammar; returns its text.
    fn number(&mut self) -> Result<&[u8], String> {
        let start = self.pos;
        let b = self.input;
        let mut p = self.pos;
        if b.get(p) == Some(&b'-') {
            p += 1;
        }
        let int_start = p;
        while b.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
        let int_len = p - int_start;
        if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
            self.pos = p;
            return Err(self.err("invalid number"));
        }
        if b.get(p) == Some(&b'.') {
            p += 1;
            let f = p;
            while b.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
            if p == f {
                self.pos = p;
                return Err(self.err("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = b.get(p) {
            p += 1;
            if let Some(b'+' | b'-') = b.get(p) {
                p += 1;
            }
            let e = p;
            while b.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
            if p == e {
                self.pos = p;
                return Err(self.err("invalid number"));
            }
        }
        self.pos = p;
        Ok(&b[start..p])
    }
}

/// Parses a JSON body into `args` (source [`ArgSource::Json`]). At most
/// `limits.max_args` arguments are added in total (counting those already in
/// `args`); `dropped` counts the rest. Nesting deeper than
/// `limits.max_json_depth` stops the parse.
///
/// # Errors
///
/// A message naming the byte offset and the problem: syntax errors, the
/// depth limit, the argument limit. Arguments found before the error stay in
/// `args`.
pub(crate) fn parse_json(
    body: &[u8],
    limits: &RequestLimits,
    args: &mut Vec<Arg>,
    dropped: &mut usize,
) -> Result<(), String> {
    let mut p = Parser {
        input: body,
        pos: 0,
    };
    // A UTF-8 byte order mark is tolerated.
    if body.starts_with(b"\xEF\xBB\xBF") {
        p.pos = 3;
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut path: Vec<u8> = Vec::with_capacity(64);
    let mut expect = Expect::Value;
    let start_dropped = *dropped;

    // Values are parsed into one reused buffer and copied out only when
    // kept: past `max_args` the rest of the body is still checked, without
    // an allocation per value.
    let mut scratch: Vec<u8> = Vec::new();
    let mut push_arg = |path: &[u8], value: &[u8], args: &mut Vec<Arg>| {
        if args.len() >= limits.max_args {
            *dropped += 1;
        } else {
            args.push(Arg {
                name: path.to_vec(),
                value: value.to_vec(),
                source: ArgSource::Json,
            });
        }
    };

    loop {
        p.skip_ws();
        let Some(&c) = p.input.get(p.pos) else {
            if expect == Expect::End {
                break;
            }
            return Err(p.err("unexpected end of body"));
        };
        match expect {
            Expect::End => return Err(p.err("trailing data after the JSON value")),
            Expect::Colon => {
                if c != b':' {
                    return Err(p.err("expected ':' after object key"));
                }
                p.pos += 1;
                expect = Expect::Value;
            }
            Expect::Key | Expect::KeyOrClose => {
                if c == b'}' && expect == Expect::KeyOrClose {
                    p.pos += 1;
                    expect = close(&mut stack, &mut path, |name, n| {
                        push_arg(name, decimal(&mut scratch, n), &mut *args)
                    });
                    continue;
                }
                if c != b'"' {
                    return Err(p.err("expected a string object key"));
                }
                let Some(Frame::Object { len }) = stack.last() else {
                    return Err(p.err("internal: key outside an object"));
                };
                path.truncate(*len);
                path.push(b'.');
                p.string(&mut path)?;
                expect = Expect::Colon;
            }
            Expect::CommaOrClose => {
                let (close_byte, next) = match stack.last() {
                    Some(Frame::Object { .. }) => (b'}', Expect::Key),
                    Some(Frame::Array { .. }) => (b']', Expect::Value),
                    None => return Err(p.err("internal: no open container")),
                };
                p.pos += 1;
                if c == b',' {
                    expect = next;
                } else if c == close_byte {
                    expect = close(&mut stack, &mut path, |name, n| {
                        push_arg(name, decimal(&mut scratch, n), &mut *args)
                    });
                } else {
                    p.pos -= 1;
                    return Err(p.err(&format!("expected ',' or '{}'", close_byte as char)));
                }
            }
            Expect::Value | Expect::ValueOrClose => {
                if c == b']' && expect == Expect::ValueOrClose {
                    p.pos += 1;
                    expect = close(&mut stack, &mut path, |name, n| {
                        push_arg(name, decimal(&mut scratch, n), &mut *args)
                    });
                    continue;
                }
                // Name this value.
                match stack.last_mut() {
                    None => {
                        path.clear();
                        path.extend_from_slice(b"json");
                    }
                    Some(Frame::Array { len, next }) => {
                        path.truncate(*len);
                        path.push(b'.');
                        push_decimal(&mut path, *next);
                        *next += 1;
                    }
                    // The key is already on the path.
                    Some(Frame::Object { .. }) => {}
                }
                match c {
                    b'{' | b'[' => {
                        if stack.len() >= limits.max_json_depth {
                            return Err(p.err(&format!(
                                "nesting deeper than max_json_depth ({})",
                                limits.max_json_depth
                            )));
                        }
                        p.pos += 1;
                        let len = path.len();
                        if c == b'{' {
                            stack.push(Frame::Object { len });
                            expect = Expect::KeyOrClose;
                        } else {
                            stack.push(Frame::Array { len, next: 0 });
                            expect = Expect::ValueOrClose;
                        }
                        continue;
                    }
                    b'"' => {
                        scratch.clear();
                        p.string(&mut scratch)?;
                        push_arg(&path, &scratch, args);
                    }
                    b'-' | b'0'..=b'9' => {
                        let n = p.number()?;
                        push_arg(&path, n, args);
                    }
                    b't' | b'f' | b'n' => {
                        let (word, value): (&[u8], &[u8]) = match c {
                            b't' => (b"true", b"true"),
                            b'f' => (b"false", b"false"),
                            _ => (b"null", b""),
                        };
                        if !p.input[p.pos..].starts_with(word) {
                            return Err(p.err("invalid literal"));
                        }
                        p.pos += word.len();
                        push_arg(&path, value, args);
                    }
                    _ => return Err(p.err("expected a value")),
                }
                expect = if stack.is_empty() {
                    Expect::End
                } else {
                    Expect::CommaOrClose
                };
            }
        }
    }
    if *dropped > start_dropped {
        return Err(format!(
            "more than max_args ({}) JSON arguments; {} dropped",
            limits.max_args,
            *dropped - start_dropped
        ));
    }
    Ok(())
}

/// `n` in decimal, written to `buf` (cleared first).
fn decimal(buf: &mut Vec<u8>, n: usize) -> &[u8] {
    buf.clear();
    push_decimal(buf, n);
    buf
}

/// Appends the decimal digits of `n` without allocating.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Pops the innermost container and says what comes next. A non-empty
/// array also gets a member of its own, named like the array, holding its
/// element count (`array(name, count)`).
fn close(stack: &mut Vec<Frame>, path: &mut Vec<u8>, array: impl FnOnce(&[u8], usize)) -> Expect {
    match stack.pop() {
        Some(Frame::Object { len }) => path.truncate(len),
        Some(Frame::Array { len, next }) => {
            path.truncate(len);
            if next > 0 {
                array(path, next);
            }
        }
        None => {}
    }
    if stack.is_empty() {
        Expect::End
    } else {
        Expect::CommaOrClose
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(body: &str) -> Result<Vec<(String, String)>, String> {
        let mut args = Vec::new();
        let mut dropped = 0;
        parse_json(
            body.as_bytes(),
            &RequestLimits::default(),
            &mut args,
            &mut dropped,
        )?;
        Ok(args
            .into_iter()
            .map(|a| {
                (
                    String::from_utf8(a.name).unwrap(),
                    String::from_utf8(a.value).unwrap(),
                )
            })
            .collect())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn flattens_objects_and_arrays() {
        assert_eq!(
            flat(r#"{"a":{"b":1},"c":[true,null,{"d":"x"}],"e":-1.5e3}"#).unwrap(),
            pairs(&[
                ("json.a.b", "1"),
                ("json.c.0", "true"),
                ("json.c.1", ""),
                ("json.c.2.d", "x"),
                ("json.c", "3"),
                ("json.e", "-1.5e3"),
            ])
        );
    }

    #[test]
    fn root_scalars_and_arrays() {
        assert_eq!(flat(r#""abc""#).unwrap(), pairs(&[("json", "abc")]));
        assert_eq!(
            flat("[1,[2]]").unwrap(),
            pairs(&[
                ("json.0", "1"),
                ("json.1.0", "2"),
                ("json.1", "1"),
                ("json", "2")
            ])
        );
        assert_eq!(flat("{}").unwrap(), pairs(&[]));
    }

    #[test]
    fn decimal_indices() {
        for n in [0usize, 7, 10, 12345, usize::MAX] {
            let mut v = Vec::new();
            push_decimal(&mut v, n);
            assert_eq!(v, n.to_string().into_bytes());
        }
    }

    #[test]
    fn unescapes_strings() {
        assert_eq!(
            flat(r#"{"k\"ey":"a\u0027b\n\ud83d\ude00\/"}"#).unwrap(),
            pairs(&[("json.k\"ey", "a'b\n😀/")])
        );
        // Strings around the length the plain-run loop looks at first.
        for n in [30, 31, 32, 33, 100] {
            let plain = "x".repeat(n);
            let body = format!(r#"{{"k":"{plain}","e":"{plain}\"q"}}"#);
            assert_eq!(
                flat(&body).unwrap(),
                pairs(&[
                    ("json.k", plain.as_str()),
                    ("json.e", &format!("{plain}\"q"))
                ])
            );
        }
    }

    #[test]
    fn keeps_duplicate_keys() {
        assert_eq!(
            flat(r#"{"a":"evil","a":"ok"}"#).unwrap(),
            pairs(&[("json.a", "evil"), ("json.a", "ok")])
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "{",
            "[1,]",
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            "01",
            "1.",
            "tru",
            "{} x",
            "",
            r#""a"#,
            r#"{"a":"\x"}"#,
            "[1 2]",
            "{1:2}",
            "\"\t\"",
            "\"a\u{1}b\"",
            "[\"0123456789012345678901234567890123456789\u{1f}\"]",
        ] {
            assert!(flat(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn keeps_args_before_an_error() {
        let mut args = Vec::new();
        let mut dropped = 0;
        let r = parse_json(
            br#"{"a":"1","b":"#,
            &RequestLimits::default(),
            &mut args,
            &mut dropped,
        );
        assert!(r.is_err());
        assert_eq!(args.len(), 1);
    }

    #[test]
    fn depth_limit() {
        let limits = RequestLimits {
            max_json_depth: 3,
            ..RequestLimits::default()
        };
        let mut args = Vec::new();
        let mut dropped = 0;
        assert!(parse_json(b"[[[1]]]", &limits, &mut args, &mut dropped).is_ok());
        let err = parse_json(b"[[[[1]]]]", &limits, &mut args, &mut dropped).unwrap_err();
        assert!(err.contains("max_json_depth"), "{err}");
        // Very deep input costs no stack.
        let deep = "[".repeat(1_000_000);
        assert!(parse_json(
            deep.as_bytes(),
            &RequestLimits::default(),
            &mut args,
            &mut dropped
        )
        .is_err());
    }

    #[test]
    fn arg_limit() {
        let limits = RequestLimits {
            max_args: 2,
            ..RequestLimits::default()
        };
        let mut args = Vec::new();
        let mut dropped = 0;
        let err = parse_json(b"[1,2,3,4]", &limits, &mut args, &mut dropped).unwrap_err();
        assert!(err.contains("max_args"), "{err}");
        assert_eq!(args.len(), 2);
        // Two elements and the array's count member.
        assert_eq!(dropped, 3);
    }
}
