//! The HTTP request model shared by the SecLang engine, `wafio scan` and the
//! proxy.
//!
//! Two layers:
//!
//! - [`HttpRequest`]: the request as it was sent: method, raw request target,
//!   version, headers in order with their names as sent, and the (de-chunked)
//!   body. Built by [`HttpRequest::parse`] from raw HTTP/1.x bytes or by
//!   [`HttpRequest::from_http`] from an [`http::Request`].
//! - [`RequestData`]: everything the ModSecurity collections need, computed
//!   once per request: `REQUEST_LINE`, `REQUEST_URI`, `REQUEST_FILENAME`,
//!   `ARGS_GET`, `ARGS_POST` (urlencoded, multipart, JSON and XML body
//!   processors), `REQUEST_COOKIES`, `FILES`, `MULTIPART_*` flags,
//!   `REQBODY_ERROR`, ... and [`RequestData::locations`], the iterator of every
//!   place an attack can arrive in, for the detectors.
//!
//! ```
//! use wafio_crs::request::{HttpRequest, RequestData, RequestLimits};
//!
//! let raw = b"POST /search.php?id=1%27 HTTP/1.1\r\nHost: example.com\r\n\
//!             Content-Type: application/x-www-form-urlencoded\r\n\
//!             Content-Length: 8\r\n\r\nq=a+b%3C";
//! let limits = RequestLimits::default();
//! let req = HttpRequest::parse(raw, &limits).unwrap();
//! let data = RequestData::from_request(&req, &limits);
//! assert_eq!(data.args_get[0].value, b"1'");
//! assert_eq!(data.args_post[0].value, b"a b<");
//! let places: Vec<String> = data.locations().map(|(loc, _)| loc.to_string()).collect();
//! assert!(places.contains(&"ARGS_POST:q".to_string()));
//! ```
//!
//! # Fidelity to ModSecurity
//!
//! - Query strings and urlencoded bodies: `&` separates (`;` does not), `+`
//!   is a space, `%XX` is decoded, invalid escapes are kept literally, a
//!   piece without `=` is a name with an empty value ([`parse_urlencoded`]).
//! - `REQUEST_URI` is percent-decoded (`+` kept) path and query, without the
//!   `scheme://authority` of an absolute-form target, as libmodsecurity v3
//!   does; `REQUEST_URI_RAW` is the target as sent; `REQUEST_FILENAME` the
//!   decoded path.
//! - Cookies: ModSecurity v3's splitting, values not decoded
//!   ([`parse_cookies`]).
//! - JSON leaves are named `json.a.b`, array elements `json.arr.0` (Coraza's
//!   naming; libmodsecurity says `json.arr.array_0`).
//! - XML: `XML:/*` values are element texts, `XML://@*` attribute values;
//!   [`RequestData::xml_text`] gives ModSecurity's single `XML:/*` string.
//!   XML values go to `ARGS_POST` only with [`RequestLimits::xml_args`].
//! - Multipart: ModSecurity's `MULTIPART_*` flags ([`MultipartFlags`]) and
//!   `MULTIPART_PART_HEADERS` ([`PartHeader`]); differences are listed in
//!   the flags' docs.
//!
//! # Input safety
//!
//! Every size and nesting limit is a field of [`RequestLimits`], with its
//! default documented there. Hostile input yields a [`ParseError`] (raw
//! parser) or `REQBODY_ERROR = 1` with a message (body processors); it never
//! panics, and no parser recurses over attacker-controlled depth: JSON and
//! XML are walked iteratively with an explicit, bounded stack.
//!
//! | limit | default | on excess |
//! |---|---|---|
//! | `max_header_bytes` | 64 KiB | `ParseError` |
//! | `max_headers` | 256 | `ParseError` |
//! | `max_body_bytes` | 13 MiB | `ParseError`; body processed up to it + `REQBODY_ERROR` |
//! | `max_args` | 1000 per collection | dropped, counted in `args_dropped`; `REQBODY_ERROR` in the body |
//! | `max_cookies` | 1000 | dropped, counted |
//! | `max_path_segments` | 256 | further segments not split out |
//! | `max_json_depth` | 512 | `REQBODY_ERROR` |
//! | `max_xml_depth` | 256 | `REQBODY_ERROR` |
//! | `max_multipart_parts` | 1000 | `REQBODY_ERROR`, rest ignored |
//! | `max_multipart_files` | 100 | `MULTIPART_FILE_LIMIT_EXCEEDED` |
//! | `max_part_header_line` | 4094 bytes | `REQBODY_ERROR`, part skipped |
//! | `max_part_headers` | 64 per part | `REQBODY_ERROR`, part skipped |

mod cookies;
mod data;
mod json;
mod limits;
mod location;
mod multipart;
mod parse;
mod urlencoded;
mod xml;

pub use cookies::parse_cookies;
pub use data::{Arg, ArgSource, BodyProcessor, Cookie, FilePart, RequestData, XmlValue};
pub use limits::RequestLimits;
pub use location::{Location, LocationKind};
pub use multipart::{MultipartFlags, PartHeader};
pub use parse::{HttpRequest, ParseError, ParseErrorKind};
pub use urlencoded::{parse_urlencoded, url_decode, Pair};
