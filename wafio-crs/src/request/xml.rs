//! The XML body processor, on `quick-xml`'s pull parser (iterative: the
//! element stack is ours and bounded by `max_xml_depth`). No DTD is
//! processed and no entity is loaded or expanded beyond the five predefined
//! ones and character references, so XXE and entity expansion attacks cost
//! nothing; an undefined entity reference is kept as written (`&xxe;`) so the
//! rules see it.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{Arg, ArgSource, RequestLimits, XmlValue};

/// Text of an escaped byte string: unescaped when possible, else as is.
fn unescaped(raw: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(raw) {
        Ok(s) => match quick_xml::escape::unescape(s) {
            Ok(Cow::Borrowed(b)) => b.as_bytes().to_vec(),
            Ok(Cow::Owned(o)) => o.into_bytes(),
            Err(_) => raw.to_vec(),
        },
        Err(_) => raw.to_vec(),
    }
}

struct Walk<'a> {
    limits: &'a RequestLimits,
    out: &'a mut Vec<XmlValue>,
    args: &'a mut Vec<Arg>,
    dropped: &'a mut usize,
    dropped_here: usize,
}

impl Walk<'_> {
    fn push(&mut self, path: &[u8], value: Vec<u8>, attribute: bool) {
        if self.out.len() >= self.limits.max_args {
            *self.dropped += 1;
            self.dropped_here += 1;
            return;
        }
        if self.limits.xml_args {
            if self.args.len() >= self.limits.max_args {
                *self.dropped += 1;
                self.dropped_here += 1;
            } else {
                // `/root/a/@id` → `xml.root.a.@id`
                let mut name = b"xml".to_vec();
                for seg in path.split(|&b| b == b'/').filter(|s| !s.is_empty()) {
                    name.push(b'.');
                    name.extend_from_slice(seg);
                }
                self.args.push(Arg {
                    name,
                    value: value.clone(),
                    source: ArgSource::Xml,
                });
            }
        }
        self.out.push(XmlValue {
            path: path.to_vec(),
            value,
            attribute,
        });
    }

    fn attributes(&mut self, e: &BytesStart<'_>, path: &[u8]) -> Result<(), String> {
        for attr in e.attributes() {
            let attr = attr.map_err(|err| format!("XML parsing error: {err}"))?;
            let mut p = path.to_vec();
            p.extend_from_slice(b"/@");
            p.extend_from_slice(attr.key.as_ref());
            let value = unescaped(&attr.value);
            self.push(&p, value, true);
        }
        Ok(())
    }
}

/// Parses an XML body: element text (and CDATA) into `out` as `XML:/*`
/// values, attribute values as `XML://@*` values, and with
/// [`RequestLimits::xml_args`] also into `args`. At most `max_args` values
/// are kept; `dropped` counts the rest. Whitespace-only text is skipped.
///
/// # Errors
///
/// A message naming the byte offset for malformed XML (mismatched or
/// unclosed tags, bad attributes, several root elements, text outside the
/// root), nesting deeper than `max_xml_depth`, or dropped values. Values
/// found before the error stay in `out`.
pub(crate) fn parse_xml(
    body: &[u8],
    limits: &RequestLimits,
    out: &mut Vec<XmlValue>,
    args: &mut Vec<Arg>,
    dropped: &mut usize,
) -> Result<(), String> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut walk = Walk {
        limits,
        out,
        args,
        dropped,
        dropped_here: 0,
    };
    // Path of the current element and the length of the path of each open
    // element's parent.
    let mut path: Vec<u8> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut roots = 0usize;
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| format!("XML parsing error at byte {pos}: {e}"))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if stack.is_empty() {
                    roots += 1;
                    if roots > 1 {
                        return Err(format!(
                            "XML parsing error at byte {pos}: extra content after the root element"
                        ));
                    }
                }
                if stack.len() >= limits.max_xml_depth {
                    return Err(format!(
                        "XML parsing error at byte {pos}: nesting deeper than max_xml_depth ({})",
                        limits.max_xml_depth
                    ));
                }
                stack.push(path.len());
                path.push(b'/');
                path.extend_from_slice(e.name().as_ref());
                walk.attributes(e, &path)?;
                if matches!(event, Event::Empty(_)) {
                    if let Some(len) = stack.pop() {
                        path.truncate(len);
                    }
                }
            }
            Event::End(_) => {
                if let Some(len) = stack.pop() {
                    path.truncate(len);
                }
            }
            Event::Text(t) => {
                let raw: &[u8] = t.as_ref();
                if raw.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if stack.is_empty() {
                    return Err(format!(
                        "XML parsing error at byte {pos}: text outside the root element"
                    ));
                }
                walk.push(&path, unescaped(raw), false);
            }
            Event::CData(c) => {
                if stack.is_empty() {
                    return Err(format!(
                        "XML parsing error at byte {pos}: CDATA outside the root element"
                    ));
                }
                let raw = c.into_inner();
                if !raw.iter().all(u8::is_ascii_whitespace) {
                    walk.push(&path, raw.to_vec(), false);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if roots == 0 {
        return Err("XML parsing error: no root element".to_string());
    }
    if !stack.is_empty() {
        return Err(format!(
            "XML parsing error: unexpected end of body, {} element(s) not closed",
            stack.len()
        ));
    }
    if walk.dropped_here > 0 {
        return Err(format!(
            "more than max_args ({}) XML values; {} dropped",
            limits.max_args, walk.dropped_here
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Values = Vec<(String, String, bool)>;

    fn run(body: &str, limits: &RequestLimits) -> (Result<(), String>, Values) {
        let mut out = Vec::new();
        let mut args = Vec::new();
        let mut dropped = 0;
        let r = parse_xml(body.as_bytes(), limits, &mut out, &mut args, &mut dropped);
        let vals = out
            .into_iter()
            .map(|v| {
                (
                    String::from_utf8_lossy(&v.path).into_owned(),
                    String::from_utf8_lossy(&v.value).into_owned(),
                    v.attribute,
                )
            })
            .collect();
        (r, vals)
    }

    #[test]
    fn texts_and_attributes() {
        let (r, vals) = run(
            "<?xml version=\"1.0\"?><!-- c --><a x=\"1&amp;2\"><b>hi &lt;there&gt;</b>\
             <c/><d y='z'><![CDATA[<script>]]></d></a>",
            &RequestLimits::default(),
        );
        assert_eq!(r, Ok(()));
        let want = [
            ("/a/@x", "1&2", true),
            ("/a/b", "hi <there>", false),
            ("/a/d/@y", "z", true),
            ("/a/d", "<script>", false),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(p, v, a)| (p.to_string(), v.to_string(), *a))
            .collect();
        assert_eq!(vals, want);
    }

    #[test]
    fn undefined_entity_kept_literally() {
        let (r, vals) = run(
            "<!DOCTYPE a [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><a>&xxe;</a>",
            &RequestLimits::default(),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(vals, vec![("/a".to_string(), "&xxe;".to_string(), false)]);
    }

    #[test]
    fn malformed() {
        for bad in [
            "<a>",
            "<a></b>",
            "<a x=1></a>",
            "",
            "text",
            "<a/><b/>",
            "x<a/>",
        ] {
            let (r, _) = run(bad, &RequestLimits::default());
            assert!(r.is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn depth_limit() {
        let limits = RequestLimits {
            max_xml_depth: 2,
            ..RequestLimits::default()
        };
        assert_eq!(run("<a><b/></a>", &limits).0, Ok(()));
        let err = run("<a><b><c/></b></a>", &limits).0.unwrap_err();
        assert!(err.contains("max_xml_depth"), "{err}");
        let deep = "<a>".repeat(100_000);
        assert!(run(&deep, &RequestLimits::default()).0.is_err());
    }

    #[test]
    fn into_args() {
        let limits = RequestLimits {
            xml_args: true,
            ..RequestLimits::default()
        };
        let mut out = Vec::new();
        let mut args = Vec::new();
        let mut dropped = 0;
        parse_xml(
            b"<r><u id=\"7\">bob</u></r>",
            &limits,
            &mut out,
            &mut args,
            &mut dropped,
        )
        .unwrap();
        let names: Vec<_> = args
            .iter()
            .map(|a| String::from_utf8_lossy(&a.name).into_owned())
            .collect();
        assert_eq!(names, ["xml.r.u.@id", "xml.r.u"]);
    }
}
