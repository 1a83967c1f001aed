//! [`RequestData`]: the ModSecurity collections of one request.

use bytes::Bytes;

use super::location::{Location, LocationKind};
use super::multipart::{self, MultipartFlags, PartHeader};
use super::urlencoded::{parse_urlencoded, percent_decode, url_decode};
use super::{cookies, json, xml, HttpRequest, RequestLimits};

/// Where an argument came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgSource {
    /// The query string (`ARGS_GET`).
    Query,
    /// An `application/x-www-form-urlencoded` body (`ARGS_POST`).
    Form,
    /// A leaf of a JSON body (`ARGS_POST`, named `json.a.b`).
    Json,
    /// A leaf of an XML body (`ARGS_POST`, named `xml.root.a`), only with
    /// [`RequestLimits::xml_args`].
    Xml,
    /// A non-file field of a `multipart/form-data` body (`ARGS_POST`).
    Multipart,
}

/// One argument (`ARGS_GET` or `ARGS_POST` member), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The decoded name.
    pub name: Vec<u8>,
    /// The decoded value.
    pub value: Vec<u8>,
    /// Where it came from.
    pub source: ArgSource,
}

/// One cookie (`REQUEST_COOKIES` member), as sent (not URL-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The cookie name.
    pub name: Vec<u8>,
    /// The cookie value.
    pub value: Vec<u8>,
}

/// One uploaded file of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePart {
    /// The form field name (`name=` parameter): the key in `FILES` and the
    /// value in `FILES_NAMES`.
    pub field: Vec<u8>,
    /// The file name as sent (`filename=` or `filename*=` parameter): the
    /// value in `FILES`.
    pub filename: Vec<u8>,
    /// The part's `Content-Type`, when it has one.
    pub content_type: Option<Vec<u8>>,
    /// The file content (`FILES_TMP_CONTENT`); its length is `FILES_SIZES`.
    pub content: Bytes,
}

/// One value of an XML body: an element's text or an attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlValue {
    /// The element path, e.g. `/root/user/name`; for an attribute the path of
    /// its element followed by `/@attr`.
    pub path: Vec<u8>,
    /// The text (entities decoded, CDATA included, surrounding whitespace
    /// kept) or attribute value.
    pub value: Vec<u8>,
    /// True for an attribute value (`XML://@*`), false for element text
    /// (`XML:/*`).
    pub attribute: bool,
}

/// A request body processor (ModSecurity's `REQBODY_PROCESSOR` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyProcessor {
    /// `application/x-www-form-urlencoded`: `URLENCODED`.
    UrlEncoded,
    /// `multipart/form-data`: `MULTIPART`.
    Multipart,
    /// `application/json`, `*/*+json`: `JSON`.
    Json,
    /// `text/xml`, `application/xml`, `*/*+xml`: `XML`.
    Xml,
}

impl BodyProcessor {
    /// The ModSecurity name: `URLENCODED`, `MULTIPART`, `JSON` or `XML`.
    pub fn name(self) -> &'static str {
        match self {
            BodyProcessor::UrlEncoded => "URLENCODED",
            BodyProcessor::Multipart => "MULTIPART",
            BodyProcessor::Json => "JSON",
            BodyProcessor::Xml => "XML",
        }
    }

    /// Parses a ModSecurity name (as in `ctl:requestBodyProcessor=JSON`),
    /// ASCII case-insensitive.
    pub fn from_name(name: &str) -> Option<BodyProcessor> {
        [
            BodyProcessor::UrlEncoded,
            BodyProcessor::Multipart,
            BodyProcessor::Json,
            BodyProcessor::Xml,
        ]
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// The processor for a `Content-Type` value (media type compared ASCII
    /// case-insensitively, parameters ignored), or `None` for a type that
    /// has no processor.
    pub fn from_content_type(content_type: &[u8]) -> Option<BodyProcessor> {
        let media = content_type
            .split(|&b| b == b';')
            .next()
            .unwrap_or(&[])
            .trim_ascii()
            .to_ascii_lowercase();
        match media.as_slice() {
            b"application/x-www-form-urlencoded" => Some(BodyProcessor::UrlEncoded),
            b"multipart/form-data" => Some(BodyProcessor::Multipart),
            b"application/json" | b"text/json" => Some(BodyProcessor::Json),
            b"text/xml" | b"application/xml" => Some(BodyProcessor::Xml),
            m if m.ends_with(b"+json") => Some(BodyProcessor::Json),
            m if m.ends_with(b"+xml") => Some(BodyProcessor::Xml),
            _ => None,
        }
    }
}

impl std::fmt::Display for BodyProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything the ModSecurity collections need from one request, computed
/// once. Field docs name the variable each field fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestData {
    /// `REQUEST_METHOD`.
    pub method: String,
    /// `REQUEST_PROTOCOL`, e.g. `HTTP/1.1`.
    pub protocol: String,
    /// `REQUEST_LINE`: `METHOD target PROTOCOL` as sent.
    pub request_line: Vec<u8>,
    /// `REQUEST_URI_RAW`: the request target as sent.
    pub uri_raw: Vec<u8>,
    /// `REQUEST_URI`: path and query, percent-decoded (`+` kept), without
    /// the `scheme://authority` of an absolute-form target (as libmodsecurity
    /// v3 does).
    pub uri: Vec<u8>,
    /// `REQUEST_FILENAME`: the percent-decoded path, without the query.
    pub filename: Vec<u8>,
    /// `REQUEST_BASENAME`: the last segment of `filename` (after the last
    /// `/`).
    pub basename: Vec<u8>,
    /// `QUERY_STRING`: the raw query (after the first `?`), not decoded.
    pub query_string: Vec<u8>,
    /// The path split on `/` before decoding, each segment percent-decoded
    /// (so `%2F` stays inside its segment); empty segments skipped; at most
    /// `max_path_segments`.
    pub path_segments: Vec<Vec<u8>>,
    /// `ARGS_GET` in order (query string, `&`-separated, URL-decoded).
    pub args_get: Vec<Arg>,
    /// `ARGS_POST` in order (body processor output).
    pub args_post: Vec<Arg>,
    /// `REQUEST_HEADERS` in order, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// `REQUEST_COOKIES` in order, from every `Cookie` header.
    pub cookies: Vec<Cookie>,
    /// `FILES` / `FILES_NAMES` / `FILES_SIZES` / `FILES_TMP_CONTENT`.
    pub files: Vec<FilePart>,
    /// `XML:/*` (element text) and `XML://@*` (attribute values), in
    /// document order.
    pub xml: Vec<XmlValue>,
    /// The `MULTIPART_*` flags (all zero unless the multipart processor ran).
    pub multipart: MultipartFlags,
    /// `MULTIPART_PART_HEADERS`: every header line of every part, keyed by
    /// the part's name.
    pub part_headers: Vec<PartHeader>,
    /// `REQUEST_BODY`: the raw (de-chunked) body.
    pub body: Bytes,
    /// `REQBODY_PROCESSOR`: the processor that ran, if any.
    pub body_processor: Option<BodyProcessor>,
    /// `REQBODY_ERROR` (and `REQBODY_PROCESSOR_ERROR`): the body processor
    /// failed or a body limit was hit.
    pub reqbody_error: bool,
    /// `REQBODY_ERROR_MSG`: why, empty when `reqbody_error` is false.
    pub reqbody_error_msg: String,
    /// Arguments and cookies dropped because of `max_args` / `max_cookies`.
    pub args_dropped: usize,
    /// The `Referer` header value URL-decoded, inspected by
    /// [`RequestData::locations`] in place of the raw value.
    pub referer_decoded: Option<Vec<u8>>,
}

/// Headers [`RequestData::locations`] does not yield, lowercase: framing and
/// connection management fields that the raw parser already validated and
/// that only carry numbers or fixed tokens (`Content-Length`,
/// `Transfer-Encoding`, `TE`, `Connection`, `Keep-Alive`), and `Cookie`,
/// which is yielded parsed, as `REQUEST_COOKIES` and `REQUEST_COOKIES_NAMES`.
pub(crate) const SKIPPED_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "te",
    "connection",
    "keep-alive",
    "cookie",
];

impl RequestData {
    /// Builds the collections of `req`: request line, URI, query arguments,
    /// headers and cookies, then the body processor chosen by
    /// `Content-Type` (see [`BodyProcessor::from_content_type`]).
    pub fn from_request(req: &HttpRequest, limits: &RequestLimits) -> RequestData {
        let mut data = RequestData::headers_only(req, limits);
        data.process_body(None, limits);
        data
    }

    /// Like [`RequestData::from_request`] but without running a body
    /// processor (phase 1 of a transaction). `body` is set; call
    /// [`RequestData::process_body`] later.
    pub fn headers_only(req: &HttpRequest, limits: &RequestLimits) -> RequestData {
        let uri_raw = req.uri.as_bytes();
        let mut request_line = Vec::with_capacity(req.method.len() + uri_raw.len() + 10);
        request_line.extend_from_slice(req.method.as_bytes());
        request_line.push(b' ');
        request_line.extend_from_slice(uri_raw);
        request_line.push(b' ');
        request_line.extend_from_slice(req.version.as_bytes());

        // Strip `scheme://authority` of an absolute-form target.
        let relative = strip_authority(uri_raw);
        let (raw_path, query) = match memchr::memchr(b'?', relative) {
            Some(q) => (&relative[..q], &relative[q + 1..]),
            None => (relative, &[][..]),
        };
        // A fragment is not part of a request target; drop it if sent.
        let query = match memchr::memchr(b'#', query) {
            Some(h) => &query[..h],
            None => query,
        };
        let filename = percent_decode(raw_path);
        let basename = match memchr::memrchr(b'/', &filename) {
            Some(i) => filename[i + 1..].to_vec(),
            None => filename.clone(),
        };
        let path_segments: Vec<Vec<u8>> = raw_path
            .split(|&b| b == b'/')
            .filter(|s| !s.is_empty())
            .take(limits.max_path_segments)
            .map(percent_decode)
            .collect();

        let (pairs, mut args_dropped) = parse_urlencoded(query, limits.max_args);
        let args_get = pairs
            .into_iter()
            .map(|(name, value)| Arg {
                name,
                value,
                source: ArgSource::Query,
            })
            .collect();

        let mut cookies = Vec::new();
        for value in req.headers_named("cookie") {
            for (name, value) in cookies::parse_cookies(value) {
                if cookies.len() >= limits.max_cookies {
                    args_dropped += 1;
                } else {
                    cookies.push(Cookie { name, value });
                }
            }
        }
        let referer_decoded = req.header("referer").map(url_decode);

        RequestData {
            method: req.method.clone(),
            protocol: req.version.clone(),
            request_line,
            uri_raw: uri_raw.to_vec(),
            uri: percent_decode(relative),
            filename,
            basename,
            query_string: query.to_vec(),
            path_segments,
            args_get,
            args_post: Vec::new(),
            headers: req.headers.clone(),
            cookies,
            files: Vec::new(),
            xml: Vec::new(),
            multipart: MultipartFlags::default(),
            part_headers: Vec::new(),
            body: req.body.clone(),
            body_processor: None,
            reqbody_error: false,
            reqbody_error_msg: String::new(),
            args_dropped,
            referer_decoded,
        }
    }

    /// Runs a body processor over `self.body`, replacing any earlier body
    /// results (`ARGS_POST`, `FILES`, `XML`, `MULTIPART_*`,
    /// `REQBODY_*`). With `processor == None` the processor is chosen by the
    /// `Content-Type` header; with no processor for it, only `REQUEST_BODY`
    /// is available. An empty body runs no processor. A body longer than
    /// `max_body_bytes` is processed up to the limit and sets
    /// `REQBODY_ERROR`.
    pub fn process_body(&mut self, processor: Option<BodyProcessor>, limits: &RequestLimits) {
        self.args_post.clear();
        self.files.clear();
        self.xml.clear();
        self.part_headers.clear();
        self.multipart = MultipartFlags::default();
        self.reqbody_error = false;
        self.reqbody_error_msg.clear();
        let content_type = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone());
        let processor = processor.or_else(|| {
            content_type
                .as_deref()
                .and_then(BodyProcessor::from_content_type)
        });
        self.body_processor = processor;
        let Some(processor) = processor else {
            return;
        };
        if self.body.is_empty() {
            return;
        }
        let mut body = self.body.clone();
        if body.len() > limits.max_body_bytes {
            self.set_error(format!(
                "request body of {} bytes exceeds max_body_bytes ({}); processed partially",
                body.len(),
                limits.max_body_bytes
            ));
            body = body.slice(..limits.max_body_bytes);
        }
        let result = match processor {
            BodyProcessor::UrlEncoded => {
                let (pairs, dropped) = parse_urlencoded(&body, limits.max_args);
                self.args_post
                    .extend(pairs.into_iter().map(|(name, value)| Arg {
                        name,
                        value,
                        source: ArgSource::Form,
                    }));
                if dropped > 0 {
                    self.args_dropped += dropped;
                    Err(format!(
                        "more than max_args ({}) body arguments; {dropped} dropped",
                        limits.max_args
                    ))
                } else {
                    Ok(())
                }
            }
            BodyProcessor::Json => {
                json::parse_json(&body, limits, &mut self.args_post, &mut self.args_dropped)
            }
            BodyProcessor::Xml => xml::parse_xml(
                &body,
                limits,
                &mut self.xml,
                &mut self.args_post,
                &mut self.args_dropped,
            ),
            BodyProcessor::Multipart => {
                let out = multipart::parse_multipart(
                    &body,
                    content_type.as_deref().unwrap_or(&[]),
                    limits,
                );
                self.args_post = out.args;
                self.files = out.files;
                self.part_headers = out.part_headers;
                self.multipart = out.flags;
                self.args_dropped += out.dropped;
                out.error.map_or(Ok(()), Err)
            }
        };
        if let Err(msg) = result {
            self.set_error(msg);
        }
    }

    /// Re-runs body processing with `processor` forced, as
    /// `ctl:requestBodyProcessor=...` does.
    pub fn with_body_processor(mut self, processor: BodyProcessor, limits: &RequestLimits) -> Self {
        self.process_body(Some(processor), limits);
        self
    }

    fn set_error(&mut self, msg: String) {
        self.reqbody_error = true;
        if self.reqbody_error_msg.is_empty() {
            self.reqbody_error_msg = msg;
        } else {
            self.reqbody_error_msg.push_str("; ");
            self.reqbody_error_msg.push_str(&msg);
        }
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// `ARGS`: `ARGS_GET` then `ARGS_POST`.
    pub fn args(&self) -> impl Iterator<Item = &Arg> {
        self.args_get.iter().chain(self.args_post.iter())
    }

    /// `ARGS_COMBINED_SIZE`: total bytes of argument names and values.
    pub fn args_combined_size(&self) -> usize {
        self.args().map(|a| a.name.len() + a.value.len()).sum()
    }

    /// `FILES_COMBINED_SIZE`: total bytes of uploaded files.
    pub fn files_combined_size(&self) -> usize {
        self.files.iter().map(|f| f.content.len()).sum()
    }

    /// The string value of `XML:/*` as ModSecurity computes it (the text
    /// content of the root element): every element text and CDATA value in
    /// document order, concatenated (whitespace-only text nodes are not
    /// kept, so they are missing here).
    pub fn xml_text(&self) -> Vec<u8> {
        self.xml
            .iter()
            .filter(|x| !x.attribute)
            .flat_map(|x| x.value.iter().copied())
            .collect()
    }

    /// `REQUEST_BODY_LENGTH`.
    pub fn request_body_length(&self) -> usize {
        self.body.len()
    }

    /// Every place an attack can arrive in, with its value, for the
    /// detectors, in this order:
    ///
    /// 1. `REQUEST_FILENAME`: the whole decoded path, then each decoded path
    ///    segment (when there is more than one).
    /// 2. `ARGS_NAMES:name` and `ARGS_GET:name` for each query argument;
    ///    `ARGS_NAMES:name` and `ARGS_POST:name` for each body argument (form
    ///    fields, `json.a.b` JSON leaves, multipart fields).
    /// 3. `FILES_NAMES` (field names), `FILES:field` (file names) and
    ///    `FILES_TMP_CONTENT:field` (file contents) of uploads.
    /// 4. `XML:/*` (element text) and `XML://@*` (attribute values).
    /// 5. `REQUEST_COOKIES_NAMES` and `REQUEST_COOKIES:name`.
    /// 6. `REQUEST_HEADERS:Name` for every header but the ones listed
    ///    below; `Referer` URL-decoded.
    /// 7. `REQUEST_BODY` when no body processor parsed the body (unknown
    ///    content type, or a processor error).
    ///
    /// Skipped headers (framing and connection management, validated by the
    /// raw parser, or parsed elsewhere): `Content-Length`,
    /// `Transfer-Encoding`, `TE`, `Connection`, `Keep-Alive`, and `Cookie`
    /// (yielded as cookies). Empty values are skipped.
    pub fn locations(&self) -> impl Iterator<Item = (Location<'_>, &[u8])> + '_ {
        let path = std::iter::once((
            Location::new(LocationKind::RequestFilename, None),
            &self.filename[..],
        ));
        let segments = self
            .path_segments
            .iter()
            .filter(move |_| self.path_segments.len() > 1)
            .map(|s| (Location::new(LocationKind::RequestFilename, None), &s[..]));
        let get = self.args_get.iter().flat_map(|a| {
            [
                (
                    Location::new(LocationKind::ArgsNames, Some(&a.name)),
                    &a.name[..],
                ),
                (
                    Location::new(LocationKind::ArgsGet, Some(&a.name)),
                    &a.value[..],
                ),
            ]
        });
        let post = self.args_post.iter().flat_map(|a| {
            [
                (
                    Location::new(LocationKind::ArgsNames, Some(&a.name)),
                    &a.name[..],
                ),
                (
                    Location::new(LocationKind::ArgsPost, Some(&a.name)),
                    &a.value[..],
                ),
            ]
        });
        let files = self.files.iter().flat_map(|f| {
            [
                (Location::new(LocationKind::FilesNames, None), &f.field[..]),
                (
                    Location::new(LocationKind::Files, Some(&f.field)),
                    &f.filename[..],
                ),
                // Uploaded content (web shells, serialized objects); the
                // detectors bound how much of it they read.
                (
                    Location::new(LocationKind::FilesContent, Some(&f.field)),
                    &f.content[..],
                ),
            ]
        });
        let xml = self.xml.iter().map(|x| {
            let kind = if x.attribute {
                LocationKind::XmlAttribute
            } else {
                LocationKind::Xml
            };
            (Location::new(kind, None), &x.value[..])
        });
        let cookies = self.cookies.iter().flat_map(|c| {
            [
                (
                    Location::new(LocationKind::RequestCookiesNames, None),
                    &c.name[..],
                ),
                (
                    Location::new(LocationKind::RequestCookies, Some(&c.name)),
                    &c.value[..],
                ),
            ]
        });
        let headers = self
            .headers
            .iter()
            .filter(|(n, _)| !SKIPPED_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s)))
            .map(move |(n, v)| {
                let value = match &self.referer_decoded {
                    Some(decoded) if n.eq_ignore_ascii_case("referer") => &decoded[..],
                    _ => &v[..],
                };
                (
                    Location::new(LocationKind::RequestHeaders, Some(n.as_bytes())),
                    value,
                )
            });
        let raw_body = (self.body_processor.is_none() || self.reqbody_error).then(|| {
            (
                Location::new(LocationKind::RequestBody, None),
                &self.body[..],
            )
        });
        path.chain(segments)
            .chain(get)
            .chain(post)
            .chain(files)
            .chain(xml)
            .chain(cookies)
            .chain(headers)
            .chain(raw_body)
            .filter(|(_, v)| !v.is_empty())
    }
}

/// The target without `scheme://authority` when it is in absolute form.
fn strip_authority(uri: &[u8]) -> &[u8] {
    if uri.first() == Some(&b'/') {
        return uri;
    }
    let Some(i) = memchr::memmem::find(uri, b"://") else {
        return uri;
    };
    let scheme = &uri[..i];
    if scheme.is_empty()
        || !scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
    {
        return uri;
    }
    let after = &uri[i + 3..];
    match after.iter().position(|&b| b == b'/' || b == b'?') {
        Some(p) => &after[p..],
        None => b"/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(raw: &str) -> RequestData {
        let limits = RequestLimits::default();
        let req = HttpRequest::parse(raw.as_bytes(), &limits).unwrap();
        RequestData::from_request(&req, &limits)
    }

    fn s(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn uri_variables() {
        let d = data("GET /a%20b/..%2Fetc/pass+wd.php?x=%27+1&y HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(
            s(&d.request_line),
            "GET /a%20b/..%2Fetc/pass+wd.php?x=%27+1&y HTTP/1.1"
        );
        assert_eq!(s(&d.uri_raw), "/a%20b/..%2Fetc/pass+wd.php?x=%27+1&y");
        assert_eq!(s(&d.uri), "/a b/../etc/pass+wd.php?x='+1&y");
        assert_eq!(s(&d.filename), "/a b/../etc/pass+wd.php");
        assert_eq!(s(&d.basename), "pass+wd.php");
        assert_eq!(s(&d.query_string), "x=%27+1&y");
        let segs: Vec<String> = d.path_segments.iter().map(|x| s(x)).collect();
        assert_eq!(segs, ["a b", "../etc", "pass+wd.php"]);
        let args: Vec<(String, String)> = d
            .args_get
            .iter()
            .map(|a| (s(&a.name), s(&a.value)))
            .collect();
        assert_eq!(
            args,
            [
                ("x".to_string(), "' 1".to_string()),
                ("y".to_string(), String::new())
            ]
        );
        assert_eq!(d.protocol, "HTTP/1.1");
        assert_eq!(d.method, "GET");
    }

    #[test]
    fn absolute_form_target() {
        let d = data("GET http://example.com:80/p/q?a=1 HTTP/1.1\r\n\r\n");
        assert_eq!(s(&d.uri), "/p/q?a=1");
        assert_eq!(s(&d.filename), "/p/q");
        let d = data("GET http://example.com HTTP/1.1\r\n\r\n");
        assert_eq!(s(&d.filename), "/");
    }

    #[test]
    fn cookies_from_every_header() {
        let d = data("GET / HTTP/1.1\r\nCookie: a=1; b=2\r\nCookie: c=%27\r\n\r\n");
        let c: Vec<(String, String)> = d
            .cookies
            .iter()
            .map(|c| (s(&c.name), s(&c.value)))
            .collect();
        assert_eq!(
            c,
            [
                ("a".into(), "1".into()),
                ("b".into(), "2".into()),
                ("c".into(), "%27".into())
            ]
        );
    }

    #[test]
    fn processor_chosen_by_content_type() {
        let cases = [
            (
                "application/x-www-form-urlencoded; charset=utf-8",
                Some(BodyProcessor::UrlEncoded),
            ),
            (
                "multipart/form-data; boundary=x",
                Some(BodyProcessor::Multipart),
            ),
            ("Application/JSON", Some(BodyProcessor::Json)),
            ("application/vnd.api+json", Some(BodyProcessor::Json)),
            ("text/xml", Some(BodyProcessor::Xml)),
            ("application/soap+xml", Some(BodyProcessor::Xml)),
            ("text/plain", None),
        ];
        for (ct, want) in cases {
            assert_eq!(
                BodyProcessor::from_content_type(ct.as_bytes()),
                want,
                "{ct}"
            );
        }
        assert_eq!(BodyProcessor::from_name("json"), Some(BodyProcessor::Json));
        assert_eq!(BodyProcessor::from_name("nope"), None);
    }

    #[test]
    fn json_body_and_forced_processor() {
        let raw = "POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n\
                   {\"a\":[\"x\",1]}";
        let d = data(raw);
        assert_eq!(d.body_processor, None);
        assert!(d.args_post.is_empty());
        let d = d.with_body_processor(BodyProcessor::Json, &RequestLimits::default());
        assert_eq!(d.body_processor, Some(BodyProcessor::Json));
        assert!(!d.reqbody_error);
        let args: Vec<(String, String)> = d
            .args_post
            .iter()
            .map(|a| (s(&a.name), s(&a.value)))
            .collect();
        assert_eq!(
            args,
            [
                ("json.a.0".into(), "x".into()),
                ("json.a.1".into(), "1".into()),
                ("json.a".into(), "2".into())
            ]
        );
        // Forcing the wrong processor is an error, not a panic.
        let d = d.with_body_processor(BodyProcessor::Xml, &RequestLimits::default());
        assert!(d.reqbody_error);
        assert!(
            d.reqbody_error_msg.contains("XML"),
            "{}",
            d.reqbody_error_msg
        );
        assert!(d.args_post.is_empty());
    }

    #[test]
    fn invalid_json_sets_reqbody_error() {
        let d = data(
            "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\":1,}",
        );
        assert!(d.reqbody_error);
        assert!(
            d.reqbody_error_msg
                .starts_with("JSON parsing error at byte 7"),
            "{}",
            d.reqbody_error_msg
        );
        assert_eq!(d.args_post.len(), 1);
    }

    #[test]
    fn body_limit_processes_partially() {
        let limits = RequestLimits {
            max_body_bytes: 5,
            ..RequestLimits::default()
        };
        let req = HttpRequest {
            method: "POST".into(),
            uri: "/".into(),
            version: "HTTP/1.1".into(),
            headers: vec![(
                "Content-Type".into(),
                b"application/x-www-form-urlencoded".to_vec(),
            )],
            body: Bytes::from_static(b"a=1&b=2&c=3"),
        };
        let d = RequestData::from_request(&req, &limits);
        assert!(d.reqbody_error);
        assert_eq!(d.args_post.len(), 2);
        assert_eq!(d.request_body_length(), 11);
    }

    #[test]
    fn locations_cover_every_input() {
        let raw = "POST /app/x.php?id=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\n\
                   Referer: http://r/?q=%3Cscript%3E\r\nCookie: sid=abc\r\n\
                   Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\nq=v";
        let d = data(raw);
        let locs: Vec<(String, String)> =
            d.locations().map(|(l, v)| (l.to_string(), s(v))).collect();
        let want: Vec<(String, String)> = [
            ("REQUEST_FILENAME", "/app/x.php"),
            ("REQUEST_FILENAME", "app"),
            ("REQUEST_FILENAME", "x.php"),
            ("ARGS_NAMES:id", "id"),
            ("ARGS_GET:id", "1"),
            ("ARGS_NAMES:q", "q"),
            ("ARGS_POST:q", "v"),
            ("REQUEST_COOKIES_NAMES", "sid"),
            ("REQUEST_COOKIES:sid", "abc"),
            ("REQUEST_HEADERS:Host", "h"),
            ("REQUEST_HEADERS:User-Agent", "ua"),
            ("REQUEST_HEADERS:Referer", "http://r/?q=<script>"),
            (
                "REQUEST_HEADERS:Content-Type",
                "application/x-www-form-urlencoded",
            ),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(locs, want);
    }

    #[test]
    fn raw_body_inspected_without_processor() {
        let d =
            data("POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nevil");
        assert!(d
            .locations()
            .any(|(l, v)| l.to_string() == "REQUEST_BODY" && v == b"evil"));
    }

    #[test]
    fn xml_text_concatenates_element_text() {
        let d = data(
            "POST / HTTP/1.1\r\nContent-Type: application/xml\r\nContent-Length: 30\r\n\r\n\
             <a k=\"v\"><b>x</b>y<c>z</c></a>",
        );
        assert!(!d.reqbody_error, "{}", d.reqbody_error_msg);
        assert_eq!(d.xml_text(), b"xyz");
    }

    proptest::proptest! {
        #[test]
        fn body_processors_never_panic(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
            which in 0usize..4,
        ) {
            let ct: &[u8] = [
                &b"application/x-www-form-urlencoded"[..],
                b"multipart/form-data; boundary=XyZ",
                b"application/json",
                b"text/xml",
            ][which];
            let req = HttpRequest {
                method: "POST".into(),
                uri: "/".into(),
                version: "HTTP/1.1".into(),
                headers: vec![("Content-Type".into(), ct.to_vec())],
                body: Bytes::from(body),
            };
            let d = RequestData::from_request(&req, &RequestLimits::default());
            proptest::prop_assert_eq!(d.reqbody_error, !d.reqbody_error_msg.is_empty());
            let _ = d.locations().count();
        }

        #[test]
        fn multipart_round_trip(
            fields in proptest::collection::vec(
                ("[a-z]{1,8}", proptest::collection::vec(proptest::prelude::any::<u8>(), 0..32)),
                1..5,
            )
        ) {
            let mut body = Vec::new();
            for (name, value) in &fields {
                body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
                body.extend_from_slice(name.as_bytes());
                body.extend_from_slice(b"\"\r\n\r\n");
                body.extend_from_slice(value);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"--XyZ--\r\n");
            let req = HttpRequest {
                method: "POST".into(),
                uri: "/".into(),
                version: "HTTP/1.1".into(),
                headers: vec![(
                    "Content-Type".into(),
                    b"multipart/form-data; boundary=XyZ".to_vec(),
                )],
                body: Bytes::from(body),
            };
            let d = RequestData::from_request(&req, &RequestLimits::default());
            // A value may itself contain a boundary line only by chance; the
            // generated values are too short to hold `\r\n--XyZ`.
            let got: Vec<(Vec<u8>, Vec<u8>)> =
                d.args_post.iter().map(|a| (a.name.clone(), a.value.clone())).collect();
            let want: Vec<(Vec<u8>, Vec<u8>)> =
                fields.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.clone())).collect();
            if !fields.iter().any(|(_, v)| v.windows(5).any(|w| w == b"--XyZ")) {
                proptest::prop_assert!(!d.reqbody_error, "{}", d.reqbody_error_msg);
                proptest::prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn sizes() {
        let d = data("GET /?ab=cd&e= HTTP/1.1\r\n\r\n");
        assert_eq!(d.args_combined_size(), 5);
        assert_eq!(d.args().count(), 2);
        assert_eq!(d.files_combined_size(), 0);
    }

    #[test]
    fn arg_and_cookie_limits() {
        let limits = RequestLimits {
            max_args: 2,
            max_cookies: 1,
            ..RequestLimits::default()
        };
        let req = HttpRequest::parse(
            b"GET /?a=1&b=2&c=3 HTTP/1.1\r\nCookie: x=1; y=2\r\n\r\n",
            &limits,
        )
        .unwrap();
        let d = RequestData::from_request(&req, &limits);
        assert_eq!(d.args_get.len(), 2);
        assert_eq!(d.cookies.len(), 1);
        assert_eq!(d.args_dropped, 2);
    }
}
