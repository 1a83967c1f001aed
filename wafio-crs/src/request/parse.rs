//! The raw HTTP/1.x request parser and [`HttpRequest`].

use bytes::Bytes;

use super::RequestLimits;

/// An HTTP request as it was sent: nothing decoded but the chunked transfer
/// coding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method as sent, e.g. `GET` (case preserved).
    pub method: String,
    /// The raw request target as sent (origin form `/a?b=c`, absolute form
    /// `http://host/a`, `*` or authority form). Bytes that are not valid
    /// UTF-8 are written `%XX`, which URL-decodes to the same bytes.
    pub uri: String,
    /// The protocol version as sent, e.g. `HTTP/1.1`.
    pub version: String,
    /// Header fields in the order they were sent, names as sent, values with
    /// surrounding whitespace removed and obsolete line folds joined by one
    /// space. Repeated fields stay repeated.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, de-chunked when it was sent with `Transfer-Encoding:
    /// chunked`.
    pub body: Bytes,
}

/// What is wrong with a raw request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input holds no request line.
    Empty,
    /// The request line is not `METHOD SP target SP HTTP/x.y`.
    RequestLine,
    /// A header line is not `name: value`.
    Header,
    /// The request line and headers exceed `max_header_bytes`.
    HeadersTooLarge,
    /// More than `max_headers` header fields.
    TooManyHeaders,
    /// `Content-Length` repeated with different values.
    ContentLength,
    /// The body is longer than `max_body_bytes`.
    BodyTooLarge,
    /// The body is shorter than `Content-Length` says.
    TruncatedBody,
    /// A chunk of a chunked body is malformed or truncated.
    Chunked,
}

/// A raw request that [`HttpRequest::parse`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// What kind of problem.
    pub kind: ParseErrorKind,
    /// 1-based line of the input where the problem is.
    pub line: usize,
    /// 1-based byte column in that line.
    pub column: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl ParseError {
    fn new(kind: ParseErrorKind, line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            kind,
            line,
            column,
            message: message.into(),
        }
    }
}

/// A cursor over input lines that tolerates bare LF line endings.
struct Lines<'a> {
    input: &'a [u8],
    pos: usize,
    /// 1-based number of the next line.
    line: usize,
}

impl<'a> Lines<'a> {
    /// The next line without its line ending, and whether a line ending
    /// terminated it (false at the end of input).
    fn next_line(&mut self) -> Option<(&'a [u8], bool)> {
        if self.pos >= self.input.len() {
            return None;
        }
        let rest = &self.input[self.pos..];
        let (content, consumed, terminated) = match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let end = if i > 0 && rest[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                (&rest[..end], i + 1, true)
            }
            None => (rest, rest.len(), false),
        };
        self.pos += consumed;
        self.line += 1;
        Some((content, terminated))
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ows(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ows(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// UTF-8 text of `bytes`, with every byte of an invalid sequence written
/// `%XX`.
fn utf8_or_percent(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl HttpRequest {
    /// Parses a raw HTTP/1.x request.
    ///
    /// Lenient where rules rather than the parser should judge: leading empty
    /// lines before the request line, CRLF or bare LF line endings, obsolete
    /// line folding (joined with one space), a request target containing
    /// spaces (everything between the method and the last word), any last
    /// word as the version (`JUNK/1.0` is kept for CRS 920430 to see), a
    /// request line without a version (HTTP/0.9: `version` is `HTTP/0.9`), a
    /// missing final empty line when there is no body, a `Content-Length`
    /// that is not a number (treated as absent, the header kept).
    /// The body is framed by `Transfer-Encoding: chunked` (decoded; it wins
    /// over `Content-Length`, as RFC 9112 says), else by `Content-Length`
    /// (bytes after it are ignored), else it is the rest of the input — a
    /// lenient reading for request files written by hand, so that nothing
    /// sent is left uninspected.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] naming the 1-based line and what is wrong: no request
    /// line, a request line without a target, a method that is not a token,
    /// a control byte in the request line, a header line without `:` or with
    /// a name that is not a token, a folded line with no header before it,
    /// the limits `max_header_bytes`, `max_headers` and `max_body_bytes`,
    /// conflicting `Content-Length` values, a body shorter than declared, a
    /// malformed chunk.
    pub fn parse(raw: &[u8], limits: &RequestLimits) -> Result<HttpRequest, ParseError> {
        let mut lines = Lines {
            input: raw,
            pos: 0,
            line: 1,
        };
        // Request line, after optional empty lines.
        let request_line = loop {
            match lines.next_line() {
                None => {
                    return Err(ParseError::new(
                        ParseErrorKind::Empty,
                        lines.line,
                        1,
                        "no request line",
                    ))
                }
                Some((&[], _)) => continue,
                Some((l, _)) => break l,
            }
        };
        let line_no = lines.line - 1;
        let head_start = lines.pos - request_line.len();
        if request_line.len() > limits.max_header_bytes {
            return Err(ParseError::new(
                ParseErrorKind::HeadersTooLarge,
                line_no,
                limits.max_header_bytes + 1,
                format!(
                    "request line longer than max_header_bytes ({})",
                    limits.max_header_bytes
                ),
            ));
        }
        let (method, uri, version) = parse_request_line(request_line, line_no)?;

        // Header section.
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        let mut saw_end = false;
        while let Some((l, terminated)) = lines.next_line() {
            let line_no = lines.line - 1;
            if lines.pos - head_start > limits.max_header_bytes + 2 {
                return Err(ParseError::new(
                    ParseErrorKind::HeadersTooLarge,
                    line_no,
                    1,
                    format!(
                        "request line and headers exceed max_header_bytes ({})",
                        limits.max_header_bytes
                    ),
                ));
            }
            if l.is_empty() {
                saw_end = terminated;
                break;
            }
            if is_ows(l[0]) {
                // Obsolete line folding: continuation of the previous value.
                let Some((_, value)) = headers.last_mut() else {
                    return Err(ParseError::new(
                        ParseErrorKind::Header,
                        line_no,
                        1,
                        "folded continuation line without a header before it",
                    ));
                };
                let cont = trim_ows(l);
                if !cont.is_empty() {
                    if !value.is_empty() {
                        value.push(b' ');
                    }
                    value.extend_from_slice(cont);
                }
                continue;
            }
            let Some(colon) = memchr::memchr(b':', l) else {
                return Err(ParseError::new(
                    ParseErrorKind::Header,
                    line_no,
                    1,
                    format!("header line without ':': {:?}", String::from_utf8_lossy(l)),
                ));
            };
            let name = &l[..colon];
            if name.is_empty() {
                return Err(ParseError::new(
                    ParseErrorKind::Header,
                    line_no,
                    1,
                    "empty header name",
                ));
            }
            if let Some(bad) = name.iter().position(|&b| !is_tchar(b)) {
                return Err(ParseError::new(
                    ParseErrorKind::Header,
                    line_no,
                    bad + 1,
                    format!(
                        "invalid byte 0x{:02x} in header name {:?}",
                        name[bad],
                        String::from_utf8_lossy(name)
                    ),
                ));
            }
            if headers.len() >= limits.max_headers {
                return Err(ParseError::new(
                    ParseErrorKind::TooManyHeaders,
                    line_no,
                    1,
                    format!(
                        "more than max_headers ({}) header fields",
                        limits.max_headers
                    ),
                ));
            }
            // Header names are tchar-only, hence ASCII.
            let name = String::from_utf8_lossy(name).into_owned();
            headers.push((name, trim_ows(&l[colon + 1..]).to_vec()));
        }

        let body_line = lines.line;
        let rest = &raw[lines.pos.min(raw.len())..];
        let chunked = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding")
                && v.split(|&b| b == b',')
                    .next_back()
                    .is_some_and(|c| trim_ows(c).eq_ignore_ascii_case(b"chunked"))
        });
        let body = if chunked {
            decode_chunked(rest, body_line, limits)?
        } else if let Some(len) = content_length(&headers, body_line)? {
            if len > limits.max_body_bytes as u64 {
                return Err(ParseError::new(
                    ParseErrorKind::BodyTooLarge,
                    body_line,
                    1,
                    format!(
                        "Content-Length {len} exceeds max_body_bytes ({})",
                        limits.max_body_bytes
                    ),
                ));
            }
            // `len <= max_body_bytes`, so it fits in usize.
            let len = len as usize;
            if rest.len() < len {
                return Err(ParseError::new(
                    ParseErrorKind::TruncatedBody,
                    body_line,
                    1,
                    format!("body has {} bytes, Content-Length says {len}", rest.len()),
                ));
            }
            rest[..len].to_vec()
        } else {
            if !saw_end && !rest.is_empty() {
                // Unreachable in practice: without the empty line, `rest` is
                // empty. Kept for clarity.
                return Err(ParseError::new(
                    ParseErrorKind::Header,
                    body_line,
                    1,
                    "body without an empty line before it",
                ));
            }
            if rest.len() > limits.max_body_bytes {
                return Err(ParseError::new(
                    ParseErrorKind::BodyTooLarge,
                    body_line,
                    1,
                    format!(
                        "body of {} bytes exceeds max_body_bytes ({})",
                        rest.len(),
                        limits.max_body_bytes
                    ),
                ));
            }
            rest.to_vec()
        };

        Ok(HttpRequest {
            method,
            uri,
            version,
            headers,
            body: Bytes::from(body),
        })
    }

    /// Converts an [`http::Request`]. Header names come out lowercase (the
    /// `http` crate does not keep their case); when the request has no `Host`
    /// header but its URI has an authority (HTTP/2 `:authority`), a `host`
    /// header is added with it.
    pub fn from_http(req: &http::Request<Bytes>) -> HttpRequest {
        let mut headers: Vec<(String, Vec<u8>)> = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect();
        if !req.headers().contains_key(http::header::HOST) {
            if let Some(auth) = req.uri().authority() {
                headers.insert(0, ("host".to_string(), auth.as_str().as_bytes().to_vec()));
            }
        }
        let version = match req.version() {
            http::Version::HTTP_09 => "HTTP/0.9",
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2.0",
            http::Version::HTTP_3 => "HTTP/3.0",
            _ => "HTTP/1.1",
        };
        HttpRequest {
            method: req.method().as_str().to_string(),
            uri: req.uri().to_string(),
            version: version.to_string(),
            headers,
            body: req.body().clone(),
        }
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The values of every header named `name` (ASCII case-insensitive), in
    /// order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

fn parse_request_line(line: &[u8], line_no: usize) -> Result<(String, String, String), ParseError> {
    let err =
        |col: usize, msg: String| ParseError::new(ParseErrorKind::RequestLine, line_no, col, msg);
    let method_end = line.iter().position(|&b| is_ows(b)).unwrap_or(line.len());
    let method = &line[..method_end];
    if let Some(bad) = method.iter().position(|&b| !is_tchar(b)) {
        return Err(err(
            bad + 1,
            format!("invalid byte 0x{:02x} in method", method[bad]),
        ));
    }
    let rest = &line[method_end..];
    let target_and_version = trim_ows(rest);
    let target_col = method_end + (rest.len() - rest.trim_ascii_start().len()) + 1;
    if target_and_version.is_empty() {
        return Err(err(
            target_col,
            format!(
                "expected `METHOD target HTTP/x.y`, got {:?}",
                String::from_utf8_lossy(line)
            ),
        ));
    }
    if let Some(bad) = target_and_version
        .iter()
        .position(|&b| b.is_ascii_control() && b != b'\t')
    {
        return Err(err(
            target_col + bad,
            format!(
                "control byte 0x{:02x} in request target",
                target_and_version[bad]
            ),
        ));
    }
    let (target, version) = match target_and_version.iter().rposition(|&b| is_ows(b)) {
        // `GET /`: an HTTP/0.9 request line.
        None => (target_and_version, &b"HTTP/0.9"[..]),
        Some(i) => (
            trim_ows(&target_and_version[..i]),
            &target_and_version[i + 1..],
        ),
    };
    Ok((
        String::from_utf8_lossy(method).into_owned(),
        utf8_or_percent(target),
        utf8_or_percent(version),
    ))
}

fn content_length(headers: &[(String, Vec<u8>)], line: usize) -> Result<Option<u64>, ParseError> {
    let mut found: Option<u64> = None;
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        // A list `5, 5` is allowed when every member is the same.
        for item in v.split(|&b| b == b',') {
            let item = trim_ows(item);
            let parsed =
                if !item.is_empty() && item.len() <= 19 && item.iter().all(u8::is_ascii_digit) {
                    std::str::from_utf8(item)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                } else {
                    None
                };
            // Not a number: the body cannot be framed by it (rules such as
            // CRS 920160 flag the header itself).
            let Some(n) = parsed else {
                return Ok(None);
            };
            match found {
                Some(prev) if prev != n => {
                    return Err(ParseError::new(
                        ParseErrorKind::ContentLength,
                        line,
                        1,
                        format!("conflicting Content-Length values {prev} and {n}"),
                    ))
                }
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

fn decode_chunked(
    input: &[u8],
    first_line: usize,
    limits: &RequestLimits,
) -> Result<Vec<u8>, ParseError> {
    let mut lines = Lines {
        input,
        pos: 0,
        line: first_line,
    };
    let mut body = Vec::new();
    loop {
        let line_no = lines.line;
        let Some((size_line, _)) = lines.next_line() else {
            return Err(ParseError::new(
                ParseErrorKind::Chunked,
                line_no,
                1,
                "chunked body ends before the last (zero-size) chunk",
            ));
        };
        let size_part = trim_ows(size_line.split(|&b| b == b';').next().unwrap_or(&[]));
        let size = if !size_part.is_empty()
            && size_part.len() <= 15
            && size_part.iter().all(u8::is_ascii_hexdigit)
        {
            std::str::from_utf8(size_part)
                .ok()
                .and_then(|s| usize::from_str_radix(s, 16).ok())
        } else {
            None
        };
        let Some(size) = size else {
            return Err(ParseError::new(
                ParseErrorKind::Chunked,
                line_no,
                1,
                format!(
                    "invalid chunk size line {:?}",
                    String::from_utf8_lossy(size_line)
                ),
            ));
        };
        if size == 0 {
            // Trailer fields, up to the empty line or the end of input, are
            // skipped.
            while let Some((l, _)) = lines.next_line() {
                if l.is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        if body.len().saturating_add(size) > limits.max_body_bytes {
            return Err(ParseError::new(
                ParseErrorKind::BodyTooLarge,
                line_no,
                1,
                format!(
                    "chunked body exceeds max_body_bytes ({})",
                    limits.max_body_bytes
                ),
            ));
        }
        let rest = &input[lines.pos..];
        if rest.len() < size {
            return Err(ParseError::new(
                ParseErrorKind::Chunked,
                line_no + 1,
                1,
                format!("chunk of {size} bytes truncated to {}", rest.len()),
            ));
        }
        let data = &rest[..size];
        body.extend_from_slice(data);
        // Count the lines inside the chunk data for later line numbers.
        lines.line += memchr::memchr_iter(b'\n', data).count();
        lines.pos += size;
        // The CRLF (or LF) after the chunk data.
        let after = &input[lines.pos..];
        if after.starts_with(b"\r\n") {
            lines.pos += 2;
        } else if after.starts_with(b"\n") {
            lines.pos += 1;
        } else {
            return Err(ParseError::new(
                ParseErrorKind::Chunked,
                lines.line,
                1,
                "chunk data not followed by a line ending",
            ));
        }
        lines.line += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(raw: &[u8]) -> Result<HttpRequest, ParseError> {
        HttpRequest::parse(raw, &RequestLimits::default())
    }

    #[test]
    fn simple_get() {
        let r = parse(b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-A:  v  \r\n\r\n").unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.uri, "/a?b=c");
        assert_eq!(r.version, "HTTP/1.1");
        assert_eq!(
            r.headers,
            vec![
                ("Host".to_string(), b"x".to_vec()),
                ("X-A".to_string(), b"v".to_vec())
            ]
        );
        assert_eq!(r.header("x-a"), Some(&b"v"[..]));
        assert!(r.body.is_empty());
    }

    #[test]
    fn bare_lf_leading_empty_lines_and_no_final_empty_line() {
        let r = parse(b"\r\n\nPOST / HTTP/1.0\nHost: x").unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.version, "HTTP/1.0");
        assert_eq!(r.headers.len(), 1);
    }

    #[test]
    fn obs_fold_joined() {
        let r = parse(b"GET / HTTP/1.1\r\nX-Long: a\r\n  b\r\n\tc\r\n\r\n").unwrap();
        assert_eq!(r.header("x-long"), Some(&b"a b c"[..]));
        let e = parse(b"GET / HTTP/1.1\r\n folded\r\n\r\n").unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::Header, 2));
    }

    #[test]
    fn target_with_spaces_and_invalid_utf8() {
        let r = parse(b"GET /a b\xff HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(r.uri, "/a b%FF");
    }

    #[test]
    fn content_length_body() {
        let r = parse(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!(&r.body[..], b"abc");
        let e = parse(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc").unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::TruncatedBody, 4));
        let r = parse(b"POST / HTTP/1.1\r\nContent-Length: 3;\r\n\r\nabcdef").unwrap();
        assert_eq!(&r.body[..], b"abcdef");
        assert_eq!(r.header("content-length"), Some(&b"3;"[..]));
        let e = parse(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
            .unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::ContentLength);
        assert!(parse(b"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nab").is_ok());
    }

    #[test]
    fn rest_is_body_without_framing() {
        let r = parse(b"POST / HTTP/1.1\r\nHost: x\r\n\r\nq=1\n").unwrap();
        assert_eq!(&r.body[..], b"q=1\n");
    }

    #[test]
    fn chunked_body() {
        let raw =
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 1\r\n\r\n\
                    3;ext=1\r\nabc\r\n2\nde\n0\r\nX-Trailer: t\r\n\r\n";
        let r = parse(raw).unwrap();
        assert_eq!(&r.body[..], b"abcde");
        let e = parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::Chunked, 4));
        let e = parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Chunked);
        let e =
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n").unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::Chunked, 6));
    }

    #[test]
    fn bad_request_lines() {
        for (raw, col) in [
            (&b"GET\r\n\r\n"[..], 4),
            (b"GET   \r\n\r\n", 7),
            (b"G(T / HTTP/1.1\r\n\r\n", 2),
            (b"GET /\x01 HTTP/1.1\r\n\r\n", 6),
        ] {
            let e = parse(raw).unwrap_err();
            assert_eq!(
                (e.kind, e.line, e.column),
                (ParseErrorKind::RequestLine, 1, col),
                "{e}"
            );
        }
        assert_eq!(parse(b"").unwrap_err().kind, ParseErrorKind::Empty);
        assert_eq!(parse(b"\r\n\r\n").unwrap_err().kind, ParseErrorKind::Empty);
    }

    #[test]
    fn odd_versions_are_kept_for_the_rules() {
        for (raw, version) in [
            (&b"GET / JUNK/1.0\r\n\r\n"[..], "JUNK/1.0"),
            (b"GET / HTTP/2\r\n\r\n", "HTTP/2"),
            (b"GET /\r\n\r\n", "HTTP/0.9"),
            (b"GET / HTTP\\1.0\r\n\r\n", "HTTP\\1.0"),
        ] {
            let r = parse(raw).unwrap();
            assert_eq!(r.version, version);
            assert_eq!(r.uri, "/");
        }
    }

    #[test]
    fn bad_headers_name_the_line() {
        let e = parse(b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n").unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::Header, 3));
        assert!(
            e.to_string()
                .starts_with("line 3, column 1: header line without ':'"),
            "{e}"
        );
        let e = parse(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n").unwrap_err();
        assert_eq!((e.kind, e.line, e.column), (ParseErrorKind::Header, 2, 4));
    }

    #[test]
    fn limits() {
        let limits = RequestLimits {
            max_headers: 2,
            max_header_bytes: 64,
            max_body_bytes: 4,
            ..RequestLimits::default()
        };
        let e = HttpRequest::parse(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &limits)
            .unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::TooManyHeaders, 4));
        let long = format!("GET / HTTP/1.1\r\nA: {}\r\n\r\n", "x".repeat(100));
        let e = HttpRequest::parse(long.as_bytes(), &limits).unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::HeadersTooLarge, 2));
        let e = HttpRequest::parse(
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde",
            &limits,
        )
        .unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::BodyTooLarge);
        let e = HttpRequest::parse(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            &limits,
        )
        .unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::BodyTooLarge);
    }

    #[test]
    fn from_http_request() {
        let req = http::Request::builder()
            .method("POST")
            .uri("https://example.com/p?q=1")
            .version(http::Version::HTTP_2)
            .header("User-Agent", "ua")
            .body(Bytes::from_static(b"x"))
            .unwrap();
        let r = HttpRequest::from_http(&req);
        assert_eq!(r.method, "POST");
        assert_eq!(r.uri, "https://example.com/p?q=1");
        assert_eq!(r.version, "HTTP/2.0");
        assert_eq!(r.header("host"), Some(&b"example.com"[..]));
        assert_eq!(r.header("user-agent"), Some(&b"ua"[..]));
        assert_eq!(&r.body[..], b"x");
    }

    proptest! {
        #[test]
        fn never_panics(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&raw);
        }

        #[test]
        fn never_panics_on_request_like_input(
            head in "[A-Z]{1,6} /[ -~]{0,40} HTTP/1\\.[01]\r?\n([A-Za-z-]{1,10}:[ -~]{0,20}\r?\n){0,5}\r?\n",
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut raw = head.into_bytes();
            raw.extend_from_slice(&body);
            let _ = parse(&raw);
        }
    }
}
