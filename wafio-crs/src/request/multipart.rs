//! The `multipart/form-data` body processor, with ModSecurity's
//! `MULTIPART_*` strictness flags.
//!
//! Differences from ModSecurity, on purpose:
//! - Line-ending flags (`MULTIPART_LF_LINE`, `MULTIPART_CRLF_LF_LINES`) look
//!   at boundary and part-header lines only, not at part content (a binary
//!   file full of bare LFs is not an anomaly).
//! - Processing continues after a malformed part (the error is recorded in
//!   `REQBODY_ERROR`), so fields after it are still inspected.

use bytes::Bytes;
use memchr::memmem;

use super::{Arg, ArgSource, FilePart, RequestLimits};

/// The `MULTIPART_*` flags ModSecurity sets while parsing a multipart body.
/// `true` is the variable's `1`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MultipartFlags {
    /// `MULTIPART_BOUNDARY_QUOTED`: the `Content-Type` boundary was quoted.
    pub boundary_quoted: bool,
    /// `MULTIPART_BOUNDARY_WHITESPACE`: whitespace around the `=` of the
    /// boundary parameter.
    pub boundary_whitespace: bool,
    /// `MULTIPART_MISSING_SEMICOLON` (also `MULTIPART_SEMICOLON_MISSING`): no
    /// `;` before the boundary parameter.
    pub missing_semicolon: bool,
    /// `MULTIPART_DATA_BEFORE`: bytes before the first boundary.
    pub data_before: bool,
    /// `MULTIPART_DATA_AFTER`: bytes other than line endings after the final
    /// boundary.
    pub data_after: bool,
    /// `MULTIPART_HEADER_FOLDING`: a folded part header line.
    pub header_folding: bool,
    /// `MULTIPART_INVALID_HEADER_FOLDING`: a folded line with no header
    /// before it.
    pub invalid_header_folding: bool,
    /// `MULTIPART_LF_LINE`: a boundary or part header line ended by a bare
    /// LF.
    pub lf_line: bool,
    /// `MULTIPART_CRLF_LF_LINES`: both CRLF and bare LF line endings.
    pub crlf_lf_lines: bool,
    /// `MULTIPART_INVALID_QUOTING`: bad quoting in `Content-Disposition`.
    pub invalid_quoting: bool,
    /// `MULTIPART_INVALID_PART`: a part without a valid
    /// `Content-Disposition`, or a header line without `:`.
    pub invalid_part: bool,
    /// `MULTIPART_FILE_LIMIT_EXCEEDED`: more file parts than
    /// `max_multipart_files`.
    pub file_limit_exceeded: bool,
    /// `MULTIPART_UNMATCHED_BOUNDARY`: a line that starts like the boundary
    /// but is not one, or a missing final boundary.
    pub unmatched_boundary: bool,
    /// `MULTIPART_STRICT_ERROR`: any of the flags above but
    /// `unmatched_boundary`, or a processor error.
    pub strict_error: bool,
}

impl MultipartFlags {
    /// The value of the ModSecurity variable `name` (e.g.
    /// `MULTIPART_STRICT_ERROR`, ASCII case-insensitive), or `None` for an
    /// unknown name.
    pub fn get(&self, name: &str) -> Option<bool> {
        let v = match name.to_ascii_uppercase().as_str() {
            "MULTIPART_BOUNDARY_QUOTED" => self.boundary_quoted,
            "MULTIPART_BOUNDARY_WHITESPACE" => self.boundary_whitespace,
            "MULTIPART_MISSING_SEMICOLON" | "MULTIPART_SEMICOLON_MISSING" => self.missing_semicolon,
            "MULTIPART_DATA_BEFORE" => self.data_before,
            "MULTIPART_DATA_AFTER" => self.data_after,
            "MULTIPART_HEADER_FOLDING" => self.header_folding,
            "MULTIPART_INVALID_HEADER_FOLDING" => self.invalid_header_folding,
            "MULTIPART_LF_LINE" => self.lf_line,
            "MULTIPART_CRLF_LF_LINES" => self.crlf_lf_lines,
            "MULTIPART_INVALID_QUOTING" => self.invalid_quoting,
            "MULTIPART_INVALID_PART" => self.invalid_part,
            "MULTIPART_FILE_LIMIT_EXCEEDED" => self.file_limit_exceeded,
            "MULTIPART_UNMATCHED_BOUNDARY" => self.unmatched_boundary,
            "MULTIPART_STRICT_ERROR" => self.strict_error,
            _ => return None,
        };
        Some(v)
    }
}

/// One `MULTIPART_PART_HEADERS` member: a header line of a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHeader {
    /// The part's `name` (the collection key).
    pub part: Vec<u8>,
    /// The header line as sent, folds joined, e.g. `Content-Type: text/plain`.
    pub line: Vec<u8>,
}

/// What the multipart processor produced.
pub(crate) struct MultipartOutput {
    pub(crate) args: Vec<Arg>,
    pub(crate) files: Vec<FilePart>,
    pub(crate) part_headers: Vec<PartHeader>,
    pub(crate) flags: MultipartFlags,
    pub(crate) dropped: usize,
    pub(crate) error: Option<String>,
}

impl MultipartOutput {
    fn error(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        match &mut self.error {
            Some(e) => {
                e.push_str("; ");
                e.push_str(&msg);
            }
            None => self.error = Some(msg),
        }
    }
}

/// `bchars` of RFC 2046 (the space is allowed but not last).
fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b)
}

/// Extracts the boundary from a `Content-Type` value, setting the
/// boundary-related flags.
fn boundary(ct: &[u8], flags: &mut MultipartFlags) -> Result<Vec<u8>, String> {
    let lower = ct.to_ascii_lowercase();
    // A parameter name `boundary`: at the start or after a separator, and
    // followed by optional whitespace and `=` (so `boundary=--FormBoundary`
    // holds one).
    let mut hits = memmem::find_iter(&lower, b"boundary").filter(|&at| {
        let before_ok = at == 0 || matches!(lower[at - 1], b';' | b' ' | b'\t' | b',');
        let after = &lower[at + b"boundary".len()..];
        let after = after.trim_ascii_start();
        before_ok && after.first() == Some(&b'=')
    });
    let Some(at) = hits.next() else {
        return Err("Multipart: boundary not found in Content-Type".into());
    };
    if hits.next().is_some() {
        return Err("Multipart: multiple boundary parameters in Content-Type".into());
    }
    if !ct[..at].contains(&b';') {
        flags.missing_semicolon = true;
    }
    let mut i = at + b"boundary".len();
    let ws = |i: &mut usize| {
        let s = *i;
        while ct.get(*i).is_some_and(|b| *b == b' ' || *b == b'\t') {
            *i += 1;
        }
        *i > s
    };
    if ws(&mut i) {
        flags.boundary_whitespace = true;
    }
    if ct.get(i) != Some(&b'=') {
        return Err("Multipart: invalid boundary in Content-Type (no '=')".into());
    }
    i += 1;
    if ws(&mut i) {
        flags.boundary_whitespace = true;
    }
    let value = if ct.get(i) == Some(&b'"') {
        flags.boundary_quoted = true;
        let rest = &ct[i + 1..];
        let Some(end) = memchr::memchr(b'"', rest) else {
            return Err("Multipart: invalid boundary in Content-Type (quote)".into());
        };
        &rest[..end]
    } else {
        let rest = &ct[i..];
        let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
        let v = &rest[..end];
        let trimmed = v.trim_ascii_end();
        if trimmed.len() != v.len() && end != rest.len() {
            flags.boundary_whitespace = true;
        }
        trimmed
    };
    if value.is_empty() || value.len() > 70 {
        return Err("Multipart: invalid boundary in Content-Type (length)".into());
    }
    if !value.iter().all(|&b| is_bchar(b)) || value.ends_with(b" ") {
        return Err("Multipart: invalid boundary in Content-Type (characters)".into());
    }
    Ok(value.to_vec())
}

/// Whether `line` (without its line ending) is a boundary or final boundary
/// line.
fn is_delim_line(line: &[u8], delim: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(delim) else {
        return false;
    };
    let rest = rest.strip_prefix(b"--").unwrap_or(rest);
    rest.iter().all(|&x| x == b' ' || x == b'\t')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Delim {
    Part,
    Final,
}

/// Parsed `Content-Disposition` parameters.
#[derive(Default)]
struct Disposition {
    name: Option<Vec<u8>>,
    filename: Option<Vec<u8>>,
}

/// Parses `form-data; name="a"; filename="b"`.
fn disposition(v: &[u8], flags: &mut MultipartFlags) -> Result<Disposition, String> {
    let v = v.trim_ascii();
    let Some(rest) = v
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case(b"form-data"))
        .map(|_| &v[9..])
    else {
        return Err("Multipart: Content-Disposition is not form-data".into());
    };
    let mut d = Disposition::default();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while rest.get(*i).is_some_and(|b| *b == b' ' || *b == b'\t') {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        match rest.get(i) {
            None => break,
            Some(b';') => i += 1,
            Some(_) => {
                flags.invalid_quoting = true;
                return Err("Multipart: invalid Content-Disposition (expected ';')".into());
            }
        }
        skip_ws(&mut i);
        if i >= rest.len() {
            break;
        }
        let name_start = i;
        while rest
            .get(i)
            .is_some_and(|b| *b != b'=' && *b != b';' && *b != b' ' && *b != b'\t')
        {
            i += 1;
        }
        let pname = rest[name_start..i].to_ascii_lowercase();
        skip_ws(&mut i);
        if rest.get(i) != Some(&b'=') {
            return Err(format!(
                "Multipart: invalid Content-Disposition parameter {:?} (no '=')",
                String::from_utf8_lossy(&pname)
            ));
        }
        i += 1;
        skip_ws(&mut i);
        let mut value = Vec::new();
        if rest.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match rest.get(i) {
                    None => {
                        flags.invalid_quoting = true;
                        return Err(
                            "Multipart: invalid Content-Disposition (unterminated quote)".into(),
                        );
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if matches!(rest.get(i + 1), Some(b'"' | b'\\')) => {
                        value.push(rest[i + 1]);
                        i += 2;
                    }
                    Some(&b) => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
        } else {
            let start = i;
            while rest.get(i).is_some_and(|b| *b != b';') {
                i += 1;
            }
            value.extend_from_slice(rest[start..i].trim_ascii_end());
            if value.contains(&b'\'') && pname != b"filename*" {
                flags.invalid_quoting = true;
            }
        }
        let slot = match pname.as_slice() {
            b"name" => &mut d.name,
            b"filename" => &mut d.filename,
            b"filename*" => {
                // RFC 5987: charset'lang'percent-encoded
                let decoded = match memchr::memrchr(b'\'', &value) {
                    Some(q) => super::urlencoded::percent_decode(&value[q + 1..]),
                    None => value.clone(),
                };
                // `filename*` wins over `filename`.
                d.filename = Some(decoded);
                continue;
            }
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!(
                "Multipart: duplicate Content-Disposition parameter {:?}",
                String::from_utf8_lossy(&pname)
            ));
        }
        *slot = Some(value);
    }
    Ok(d)
}

/// Parses a multipart body. `content_type` is the request's `Content-Type`
/// value (the boundary comes from it).
pub(crate) fn parse_multipart(
    body: &Bytes,
    content_type: &[u8],
    limits: &RequestLimits,
) -> MultipartOutput {
    let mut out = MultipartOutput {
        args: Vec::new(),
        files: Vec::new(),
        part_headers: Vec::new(),
        flags: MultipartFlags::default(),
        dropped: 0,
        error: None,
    };
    run(body, content_type, limits, &mut out);
    let f = &mut out.flags;
    f.crlf_lf_lines = f.crlf_lf_lines && f.lf_line;
    f.strict_error = out.error.is_some()
        || f.boundary_quoted
        || f.boundary_whitespace
        || f.missing_semicolon
        || f.data_before
        || f.data_after
        || f.header_folding
        || f.invalid_header_folding
        || f.lf_line
        || f.invalid_quoting
        || f.invalid_part
        || f.file_limit_exceeded;
    out
}

fn run(body: &Bytes, content_type: &[u8], limits: &RequestLimits, out: &mut MultipartOutput) {
    let b: &[u8] = body;
    let boundary = match boundary(content_type, &mut out.flags) {
        Ok(v) => v,
        Err(e) => return out.error(e),
    };
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(&boundary);
    let finder = memmem::Finder::new(&delim);
    // `crlf_lf_lines` temporarily records "saw a CRLF line".
    let note_line_end = |end: usize, flags: &mut MultipartFlags| {
        if end < b.len() {
            if end > 0 && b[end - 1] == b'\r' {
                flags.crlf_lf_lines = true;
            } else {
                flags.lf_line = true;
            }
        }
    };

    // The next boundary line at or after `from` that starts a line (or starts
    // at `from`): (start, kind, end of its line: the LF or the body end).
    let next_delim = |from: usize, flags: &mut MultipartFlags| -> Option<(usize, Delim, usize)> {
        let mut search = from;
        while let Some(rel) = finder.find(&b[search..]) {
            let c = search + rel;
            search = c + 1;
            if c != from && b[c - 1] != b'\n' {
                continue;
            }
            let eol = memchr::memchr(b'\n', &b[c..]).map_or(b.len(), |i| c + i);
            let line = &b[c..eol];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let rest = &line[delim.len()..];
            if rest.iter().all(|&x| x == b' ' || x == b'\t') {
                return Some((c, Delim::Part, eol));
            }
            if rest.starts_with(b"--") && rest[2..].iter().all(|&x| x == b' ' || x == b'\t') {
                return Some((c, Delim::Final, eol));
            }
            flags.unmatched_boundary = true;
        }
        None
    };

    // Preamble.
    let Some((first, kind, eol)) = next_delim(0, &mut out.flags) else {
        out.flags.unmatched_boundary = true;
        return out.error("Multipart: no boundary found in the body");
    };
    if first > 0 {
        out.flags.data_before = true;
    }
    note_line_end(eol, &mut out.flags);
    let mut pos = (eol + 1).min(b.len());
    if kind == Delim::Final {
        // No part at all: an empty form.
        if b[pos..].iter().any(|&x| x != b'\r' && x != b'\n') {
            out.flags.data_after = true;
        }
        return;
    }

    let mut parts = 0usize;
    let mut file_parts = 0usize;
    loop {
        parts += 1;
        if parts > limits.max_multipart_parts {
            return out.error(format!(
                "Multipart: more than max_multipart_parts ({})",
                limits.max_multipart_parts
            ));
        }
        // Part headers.
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut part_ok = true;
        let content_start = loop {
            if pos >= b.len() {
                out.flags.unmatched_boundary = true;
                return out.error("Multipart: body ends inside part headers");
            }
            let eol = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |i| pos + i);
            let line = &b[pos..eol];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            note_line_end(eol, &mut out.flags);
            let next = (eol + 1).min(b.len());
            if line.is_empty() {
                break next;
            }
            if is_delim_line(line, &delim) {
                // A part without the empty line after its headers: it ends
                // here, with no content.
                out.error("Multipart: part headers not terminated by an empty line");
                break pos;
            }
            if line.len() > limits.max_part_header_line {
                out.error(format!(
                    "Multipart: part header line longer than max_part_header_line ({})",
                    limits.max_part_header_line
                ));
                part_ok = false;
            } else if line[0] == b' ' || line[0] == b'\t' {
                if let Some(last) = lines.last_mut() {
                    out.flags.header_folding = true;
                    last.push(b' ');
                    last.extend_from_slice(line.trim_ascii());
                } else {
                    out.flags.invalid_header_folding = true;
                    out.error("Multipart: invalid part header folding");
                    part_ok = false;
                }
            } else if lines.len() >= limits.max_part_headers {
                out.error(format!(
                    "Multipart: more than max_part_headers ({}) in a part",
                    limits.max_part_headers
                ));
                part_ok = false;
            } else {
                lines.push(line.to_vec());
            }
            pos = next;
        };

        // Content, up to the next boundary line.
        let (content_end, kind, after) = match next_delim(content_start, &mut out.flags) {
            Some((c, kind, eol)) => {
                let mut end = c;
                if end > content_start && b[end - 1] == b'\n' {
                    end -= 1;
                    if end > content_start && b[end - 1] == b'\r' {
                        end -= 1;
                    }
                }
                note_line_end(eol, &mut out.flags);
                (end, Some(kind), (eol + 1).min(b.len()))
            }
            None => (b.len(), None, b.len()),
        };

        finish_part(
            body,
            &lines,
            part_ok,
            content_start..content_end.max(content_start),
            limits,
            &mut file_parts,
            out,
        );

        match kind {
            Some(Delim::Part) => pos = after,
            Some(Delim::Final) => {
                if b[after..].iter().any(|&x| x != b'\r' && x != b'\n') {
                    out.flags.data_after = true;
                }
                return;
            }
            None => {
                out.flags.unmatched_boundary = true;
                return out.error("Multipart: final boundary missing");
            }
        }
    }
}

/// Turns one part into an argument or a file. Every header line is
/// recorded in `MULTIPART_PART_HEADERS` (under the part's name, or an empty
/// name when it has none), even when the part is invalid: CRS rule 922130
/// inspects exactly the malformed ones. `usable` is false when the header
/// section already had an error that makes the part untrustworthy.
fn finish_part(
    body: &Bytes,
    lines: &[Vec<u8>],
    usable: bool,
    content: std::ops::Range<usize>,
    limits: &RequestLimits,
    file_parts: &mut usize,
    out: &mut MultipartOutput,
) {
    let mut cd: Option<&[u8]> = None;
    let mut ctype: Option<&[u8]> = None;
    let mut seen: Vec<Vec<u8>> = Vec::new();
    for line in lines {
        let Some(colon) = memchr::memchr(b':', line) else {
            out.flags.invalid_part = true;
            out.error(format!(
                "Multipart: invalid part header (no ':'): {:?}",
                String::from_utf8_lossy(line)
            ));
            continue;
        };
        let name = line[..colon].trim_ascii().to_ascii_lowercase();
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
            out.flags.invalid_part = true;
            out.error(format!(
                "Multipart: invalid part header name {:?}",
                String::from_utf8_lossy(&name)
            ));
            continue;
        }
        if seen.contains(&name) {
            out.error(format!(
                "Multipart: duplicate part header {:?}",
                String::from_utf8_lossy(&name)
            ));
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        match name.as_slice() {
            b"content-disposition" => cd = Some(value),
            b"content-type" => ctype = Some(value),
            _ => {}
        }
        seen.push(name);
    }
    let name = match cd.map(|cd| disposition(cd, &mut out.flags)) {
        None => {
            out.flags.invalid_part = true;
            out.error("Multipart: part without Content-Disposition");
            None
        }
        Some(Err(e)) => {
            out.flags.invalid_part = true;
            out.error(e);
            None
        }
        Some(Ok(Disposition { name: None, .. })) => {
            out.flags.invalid_part = true;
            out.error("Multipart: Content-Disposition without name");
            None
        }
        Some(Ok(Disposition {
            name: Some(name),
            filename,
        })) => Some((name, filename)),
    };
    let key = name.as_ref().map(|(n, _)| n.clone()).unwrap_or_default();
    for line in lines {
        out.part_headers.push(PartHeader {
            part: key.clone(),
            line: line.clone(),
        });
    }
    let Some((name, filename)) = name.filter(|_| usable) else {
        return;
    };
    match filename {
        Some(filename) => {
            *file_parts += 1;
            if *file_parts > limits.max_multipart_files {
                out.flags.file_limit_exceeded = true;
            }
            out.files.push(FilePart {
                field: name,
                filename,
                content_type: ctype.map(<[u8]>::to_vec),
                content: body.slice(content),
            });
        }
        None => {
            if out.args.len() >= limits.max_args {
                out.dropped += 1;
                if out.dropped == 1 {
                    out.error(format!(
                        "Multipart: more than max_args ({}) fields",
                        limits.max_args
                    ));
                }
            } else {
                out.args.push(Arg {
                    name,
                    value: body[content].to_vec(),
                    source: ArgSource::Multipart,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &[u8] = b"multipart/form-data; boundary=XyZ";

    fn parse(body: &str, ct: &[u8]) -> MultipartOutput {
        parse_multipart(
            &Bytes::from(body.to_string()),
            ct,
            &RequestLimits::default(),
        )
    }

    fn args(out: &MultipartOutput) -> Vec<(String, String)> {
        out.args
            .iter()
            .map(|a| {
                (
                    String::from_utf8_lossy(&a.name).into_owned(),
                    String::from_utf8_lossy(&a.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn fields_and_files() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\nworld\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"up\"; filename=\"x.php\"\r\n\
                    Content-Type: application/x-php\r\n\r\n<?php ?>\r\n--XyZ--\r\n";
        let out = parse(body, CT);
        assert_eq!(out.error, None);
        assert_eq!(
            args(&out),
            vec![("a".to_string(), "hello\r\nworld".to_string())]
        );
        assert_eq!(out.files.len(), 1);
        assert_eq!(out.files[0].field, b"up");
        assert_eq!(out.files[0].filename, b"x.php");
        assert_eq!(&out.files[0].content[..], b"<?php ?>");
        assert_eq!(
            out.files[0].content_type.as_deref(),
            Some(&b"application/x-php"[..])
        );
        assert_eq!(out.part_headers.len(), 3);
        assert_eq!(out.flags, MultipartFlags::default());
    }

    #[test]
    fn quoted_boundary_and_lf_lines() {
        let body = "--XyZ\nContent-Disposition: form-data; name=a\n\nv\n--XyZ--\n";
        let out = parse(body, b"multipart/form-data; boundary=\"XyZ\"");
        assert_eq!(out.error, None);
        assert_eq!(args(&out), vec![("a".to_string(), "v".to_string())]);
        assert!(out.flags.boundary_quoted);
        assert!(out.flags.lf_line);
        assert!(!out.flags.crlf_lf_lines);
        assert!(out.flags.strict_error);
        assert!(!out.flags.unmatched_boundary);
    }

    #[test]
    fn mixed_line_endings() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=a\n\r\nv\r\n--XyZ--\r\n";
        let out = parse(body, CT);
        assert!(out.flags.lf_line && out.flags.crlf_lf_lines);
    }

    #[test]
    fn data_before_after_and_unmatched() {
        let body = "junk\r\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n\
                    --XyZzz\r\n--XyZ--\r\ntrailer";
        let out = parse(body, CT);
        assert!(out.flags.data_before);
        assert!(out.flags.data_after);
        assert!(out.flags.unmatched_boundary);
        assert_eq!(args(&out), vec![("a".to_string(), "--XyZzz".to_string())]);
    }

    #[test]
    fn missing_final_boundary() {
        let out = parse(
            "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv",
            CT,
        );
        assert!(out.error.is_some());
        assert!(out.flags.unmatched_boundary);
        assert_eq!(args(&out), vec![("a".to_string(), "v".to_string())]);
    }

    #[test]
    fn header_folding_and_quoting() {
        let body = "--XyZ\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nv\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=b'c\r\n\r\nw\r\n--XyZ--\r\n";
        let out = parse(body, CT);
        assert!(out.flags.header_folding);
        assert!(out.flags.invalid_quoting);
        assert_eq!(args(&out).len(), 2);
    }

    #[test]
    fn bad_parts_do_not_hide_later_fields() {
        let body = "--XyZ\r\nX-Nothing: 1\r\n\r\nv\r\n--XyZ\r\nbroken\r\n\r\nv\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=ok\r\n\r\nattack\r\n--XyZ--\r\n";
        let out = parse(body, CT);
        assert!(out.error.is_some());
        assert!(out.flags.invalid_part);
        assert_eq!(args(&out), vec![("ok".to_string(), "attack".to_string())]);
    }

    #[test]
    fn boundary_errors() {
        let mut f = MultipartFlags::default();
        assert!(boundary(b"multipart/form-data", &mut f).is_err());
        assert!(boundary(b"multipart/form-data; boundary=a; boundary=b", &mut f).is_err());
        assert!(boundary(b"multipart/form-data; boundary=\"abc", &mut f).is_err());
        assert!(boundary(b"multipart/form-data; boundary=a{b", &mut f).is_err());
        let mut f = MultipartFlags::default();
        assert_eq!(
            boundary(b"multipart/form-data; boundary = x", &mut f).unwrap(),
            b"x"
        );
        assert!(f.boundary_whitespace);
        let mut f = MultipartFlags::default();
        assert_eq!(
            boundary(b"multipart/form-data boundary=x", &mut f).unwrap(),
            b"x"
        );
        assert!(f.missing_semicolon);
        let mut f = MultipartFlags::default();
        assert_eq!(
            boundary(
                b"multipart/form-data; boundary=----WebKitFormBoundaryX",
                &mut f
            )
            .unwrap(),
            b"----WebKitFormBoundaryX"
        );
        assert_eq!(f, MultipartFlags::default());
    }

    #[test]
    fn filename_star_and_limits() {
        let body =
            "--XyZ\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''a%20b.txt\r\n\
                    \r\nx\r\n--XyZ\r\nContent-Disposition: form-data; name=g; filename=\"c\"\r\n\
                    \r\ny\r\n--XyZ--\r\n";
        let limits = RequestLimits {
            max_multipart_files: 1,
            ..RequestLimits::default()
        };
        let out = parse_multipart(&Bytes::from(body), CT, &limits);
        assert_eq!(out.files[0].filename, b"a b.txt");
        assert!(out.flags.file_limit_exceeded);
        assert_eq!(out.files.len(), 2);
    }

    #[test]
    fn part_headers_recorded_even_when_invalid() {
        let body = "--XyZ\n\x0eContent-Disposition: form-data; name=\"file\"; filename=\"1.php\"\n\
                    Content-Disposition: form-data; name=\"post\"\n\n<?php\n--XyZ--\n";
        let out = parse(body, CT);
        assert!(out.error.is_some());
        assert_eq!(out.part_headers.len(), 2);
        assert_eq!(out.part_headers[0].part, b"post");
        assert_eq!(out.part_headers[0].line[0], 0x0e);
        assert_eq!(args(&out), vec![("post".to_string(), "<?php".to_string())]);
    }

    #[test]
    fn parts_without_empty_line_end_at_the_boundary() {
        let out = parse(
            "--XyZ\ntest\n--XyZ\nContent-Disposition: form-data; name=a\n\nv\n--XyZ--\n",
            CT,
        );
        assert!(out.error.is_some());
        assert_eq!(args(&out), vec![("a".to_string(), "v".to_string())]);
        assert!(!out.flags.unmatched_boundary);
    }

    #[test]
    fn empty_form() {
        let out = parse("--XyZ--\r\n", CT);
        assert_eq!(out.error, None);
        assert!(out.args.is_empty());
    }

    #[test]
    fn flag_names() {
        let f = MultipartFlags {
            unmatched_boundary: true,
            ..MultipartFlags::default()
        };
        assert_eq!(f.get("multipart_unmatched_boundary"), Some(true));
        assert_eq!(f.get("MULTIPART_STRICT_ERROR"), Some(false));
        assert_eq!(f.get("MULTIPART_NOPE"), None);
    }
}
