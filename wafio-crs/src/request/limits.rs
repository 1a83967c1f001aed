//! Size, count and nesting limits of the request model.

/// Limits applied while parsing a request and running its body processors.
///
/// Every limit bounds memory or time on hostile input. Exceeding a limit of
/// the raw parser ([`HttpRequest::parse`](super::HttpRequest::parse)) is a
/// [`ParseError`](super::ParseError); exceeding a limit of a body processor
/// sets `REQBODY_ERROR` with a message naming the limit, and what was parsed
/// before the limit stays available for inspection (ModSecurity's
/// `ProcessPartial` behaviour). The defaults follow ModSecurity's recommended
/// configuration where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLimits {
    /// Maximum bytes of the request line plus the header section, line
    /// endings included. Default 64 KiB (Apache allows about 8 KiB per line
    /// and 100 lines; nginx 4 x 8 KiB).
    pub max_header_bytes: usize,
    /// Maximum number of header fields. Default 256.
    pub max_headers: usize,
    /// Maximum body bytes. The raw parser refuses a longer body (declared or
    /// de-chunked); body processors only look at this many bytes and set
    /// `REQBODY_ERROR` when the body is longer. Default 13 MiB (13,107,200
    /// bytes, ModSecurity's `SecRequestBodyLimit`).
    pub max_body_bytes: usize,
    /// Maximum number of arguments per collection (`ARGS_GET`, `ARGS_POST`,
    /// including JSON and XML leaves and multipart fields). Further arguments
    /// are dropped and counted in
    /// [`RequestData::args_dropped`](super::RequestData::args_dropped); in the
    /// body this also sets
    /// `REQBODY_ERROR`. Default 1000 (ModSecurity's `SecArgumentsLimit`).
    pub max_args: usize,
    /// Maximum number of cookies kept from the `Cookie` headers; further ones
    /// are counted in `args_dropped`. Default 1000.
    pub max_cookies: usize,
    /// Maximum number of path segments kept for inspection. Default 256.
    pub max_path_segments: usize,
    /// Maximum nesting depth of a JSON body (objects and arrays). Deeper
    /// bodies set `REQBODY_ERROR`. Default 512 (ModSecurity's
    /// `SecRequestBodyJsonDepthLimit`). The parser is iterative, so a large
    /// value costs memory, not stack.
    pub max_json_depth: usize,
    /// Maximum element nesting depth of an XML body. Deeper bodies set
    /// `REQBODY_ERROR`. Default 256 (libxml2's default).
    pub max_xml_depth: usize,
    /// Maximum number of parts of a multipart body. Default 1000.
    pub max_multipart_parts: usize,
    /// Maximum number of file parts of a multipart body; more set
    /// `MULTIPART_FILE_LIMIT_EXCEEDED`. Default 100 (ModSecurity's
    /// `SecUploadFileLimit`).
    pub max_multipart_files: usize,
    /// Maximum bytes of one multipart part header line. Default 4094
    /// (ModSecurity's limit).
    pub max_part_header_line: usize,
    /// Maximum number of header lines in one multipart part. Default 64.
    pub max_part_headers: usize,
    /// Also add XML element text and attribute values to `ARGS_POST` (named
    /// `xml.root.child`, attributes `xml.root.child.@attr`), like
    /// ModSecurity's `SecParseXmlIntoArgs On`. Not a limit but a body
    /// processor option; default false (CRS inspects `XML:/*` itself, and
    /// both would double-count).
    pub xml_args: bool,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_header_bytes: 64 * 1024,
            max_headers: 256,
            max_body_bytes: 13_107_200,
            max_args: 1000,
            max_cookies: 1000,
            max_path_segments: 256,
            max_json_depth: 512,
            max_xml_depth: 256,
            max_multipart_parts: 1000,
            max_multipart_files: 100,
            max_part_header_line: 4094,
            max_part_headers: 64,
            xml_args: false,
        }
    }
}
