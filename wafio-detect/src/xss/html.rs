//! A byte-level HTML tag tokenizer modelled on the HTML5 tokenizer states.
//!
//! It walks the data state looking for `<`, and from there follows the
//! tag-open, tag-name, before/after-attribute-name, attribute-value
//! (double-quoted, single-quoted, unquoted), comment (`<!--…-->`), bogus
//! comment (`<!…>`, `<?…>`) and CDATA (`<![CDATA[`) states. It yields tags
//! ([`Tag`]) and lets the caller walk their attributes ([`Attrs`]) without
//! allocating.
//!
//! It is deliberately *more* tolerant than a browser where a filter bypass
//! relies on a mismatch:
//! - `/` between attributes separates them (`<svg/onload=…>`), as in HTML5;
//! - a `<` followed by a letter inside a tag name or where an attribute name
//!   would start begins a new tag (`<scr<script>ipt>`, `<b <script>`), so a
//!   payload that survives a stripping filter is still seen;
//! - NUL bytes inside tag names are ignored when names are compared
//!   (`<scr\0ipt>`), as old Internet Explorer did;
//! - a tag cut off by the end of the value ends there (the page around a
//!   reflected value usually closes it);
//! - CDATA sections are read as text, so tags inside them are seen;
//! - an unterminated `<!--` comment is read on as data;
//! - `<?name …>` processing instructions are reported as tags (IE's
//!   `<?import implementation=…>`).
//!
//! Every state advances at least one byte, so a pass is linear in the input.

use std::ops::Range;

/// What kind of markup a [`Tag`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TagKind {
    /// `<name …>`
    Start,
    /// `</name …>`
    End,
    /// `<?name …>`
    Pi,
}

/// One tag found in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tag {
    /// Offset of the `<`.
    pub start: usize,
    /// Start, end or processing instruction.
    pub kind: TagKind,
    /// The tag name bytes.
    pub name: Range<usize>,
    /// Where the attributes begin (just after the name).
    pub attrs: usize,
    /// Offset just after the tag: after `>`, at the `<` of a tag that
    /// interrupted it, or the end of input.
    pub end: usize,
}

/// One attribute of a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attr {
    /// The attribute name bytes.
    pub name: Range<usize>,
    /// The value bytes without quotes, if the attribute has a value.
    pub value: Option<Range<usize>>,
    /// The quote byte around the value, if quoted.
    pub quote: Option<u8>,
}

/// Whether `c` separates attributes (whitespace, other control bytes, `/`).
fn is_sep(c: u8) -> bool {
    c <= b' ' || c == b'/'
}

/// Whether a new tag starts at `i` (tolerant restart inside a tag).
fn tag_starts_at(b: &[u8], i: usize) -> bool {
    b[i] == b'<'
        && match b.get(i + 1) {
            Some(c) if c.is_ascii_alphabetic() => true,
            Some(b'/') => b.get(i + 2).is_some_and(|c| c.is_ascii_alphabetic()),
            _ => false,
        }
}

enum Step {
    Attr(Attr, usize),
    /// The tag ends; the next position.
    End(usize),
}

/// Parses one attribute starting in the before-attribute-name state.
fn parse_attr(b: &[u8], mut i: usize) -> Step {
    while i < b.len() && is_sep(b[i]) {
        i += 1;
    }
    if i >= b.len() {
        return Step::End(b.len());
    }
    if b[i] == b'>' {
        return Step::End(i + 1);
    }
    if tag_starts_at(b, i) {
        return Step::End(i);
    }
    // attribute name state: the first byte may be anything but a separator or `>`
    let name_start = i;
    i += 1;
    while i < b.len() && !is_sep(b[i]) && b[i] != b'>' && b[i] != b'=' {
        i += 1;
    }
    let name = name_start..i;
    // after attribute name
    let mut j = i;
    while j < b.len() && b[j] <= b' ' {
        j += 1;
    }
    if j >= b.len() || b[j] != b'=' {
        return Step::Attr(
            Attr {
                name,
                value: None,
                quote: None,
            },
            i,
        );
    }
    j += 1;
    while j < b.len() && b[j] <= b' ' {
        j += 1;
    }
    if j >= b.len() {
        return Step::Attr(
            Attr {
                name,
                value: Some(j..j),
                quote: None,
            },
            j,
        );
    }
    match b[j] {
        q @ (b'"' | b'\'') => {
            let vs = j + 1;
            let ve = memchr::memchr(q, &b[vs..]).map_or(b.len(), |p| vs + p);
            Step::Attr(
                Attr {
                    name,
                    value: Some(vs..ve),
                    quote: Some(q),
                },
                (ve + 1).min(b.len()),
            )
        }
        b'>' => Step::Attr(
            Attr {
                name,
                value: Some(j..j),
                quote: None,
            },
            j,
        ),
        _ => {
            let vs = j;
            let mut k = j;
            while k < b.len() && b[k] > b' ' && b[k] != b'>' {
                k += 1;
            }
            Step::Attr(
                Attr {
                    name,
                    value: Some(vs..k),
                    quote: None,
                },
                k,
            )
        }
    }
}

/// Iterates the attributes of one tag.
pub(crate) struct Attrs<'a> {
    b: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Attrs<'a> {
    /// The attributes of `tag` within `b`.
    pub(crate) fn new(b: &'a [u8], tag: &Tag) -> Attrs<'a> {
        Attrs {
            b,
            pos: tag.attrs,
            done: false,
        }
    }
}

impl Iterator for Attrs<'_> {
    type Item = Attr;

    fn next(&mut self) -> Option<Attr> {
        if self.done {
            return None;
        }
        match parse_attr(self.b, self.pos) {
            Step::Attr(a, next) => {
                self.pos = next.max(self.pos + 1);
                Some(a)
            }
            Step::End(_) => {
                self.done = true;
                None
            }
        }
    }
}

/// Iterates the tags of an input.
pub(crate) struct Tokenizer<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Tokenizer<'a> {
    /// A tokenizer over `b`, starting in the data state.
    pub(crate) fn new(b: &'a [u8]) -> Tokenizer<'a> {
        Tokenizer { b, pos: 0 }
    }

    /// Continues in the data state at `pos` (used to skip raw text such as
    /// a `<style>` element's content). Never moves backwards.
    pub(crate) fn skip_to(&mut self, pos: usize) {
        self.pos = self.pos.max(pos);
    }

    /// Finishes a tag whose name ends at `i`: walks its attributes to find its end.
    fn finish(&self, start: usize, kind: TagKind, name: Range<usize>) -> Tag {
        let mut i = name.end;
        loop {
            match parse_attr(self.b, i) {
                Step::Attr(_, next) => i = next.max(i + 1),
                Step::End(end) => {
                    return Tag {
                        start,
                        kind,
                        attrs: name.end,
                        name,
                        end,
                    };
                }
            }
        }
    }
}

impl Iterator for Tokenizer<'_> {
    type Item = Tag;

    fn next(&mut self) -> Option<Tag> {
        let b = self.b;
        loop {
            // data state
            let lt = self.pos + memchr::memchr(b'<', b.get(self.pos..)?)?;
            let rest = &b[lt..];
            self.pos = lt + 1;
            let &c = rest.get(1)?;
            if c == b'!' {
                if rest.starts_with(b"<!--") {
                    // comment state: ends at `-->` or `--!>`; `<!-->` is an empty comment
                    let body = lt + 4;
                    if b.get(body) == Some(&b'>') {
                        self.pos = body + 1;
                        continue;
                    }
                    if b[body..].starts_with(b"->") {
                        self.pos = body + 2;
                        continue;
                    }
                    let close = memchr::memmem::find(&b[body..], b"-->").map(|p| body + p + 3);
                    let bang = memchr::memmem::find(&b[body..], b"--!>").map(|p| body + p + 4);
                    self.pos = match (close, bang) {
                        (Some(x), Some(y)) => x.min(y),
                        (Some(x), None) | (None, Some(x)) => x,
                        // unterminated: the page around a reflected value may
                        // close it anywhere, so read on as data (tolerant)
                        (None, None) => body,
                    };
                    continue;
                }
                if rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"<![cdata[") {
                    // CDATA: read its content as text
                    self.pos = lt + 9;
                    continue;
                }
                // bogus comment (`<!DOCTYPE …>` and the like)
                self.pos = memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |p| lt + p + 1);
                continue;
            }
            let (kind, name_start) = match c {
                b'/' if rest.get(2).is_some_and(|c| c.is_ascii_alphabetic()) => {
                    (TagKind::End, lt + 2)
                }
                b'?' if rest.get(2).is_some_and(|c| c.is_ascii_alphabetic()) => {
                    (TagKind::Pi, lt + 2)
                }
                c if c.is_ascii_alphabetic() => (TagKind::Start, lt + 1),
                _ => continue,
            };
            // tag name state
            let mut i = name_start + 1;
            while i < b.len() && !is_sep(b[i]) && b[i] != b'>' {
                if tag_starts_at(b, i) {
                    break;
                }
                // a NUL or other control byte stays part of the name
                i += 1;
            }
            // `<svg/onload>`: control bytes other than whitespace are in the name
            let tag = self.finish(lt, kind, name_start..i);
            self.pos = tag.end.max(lt + 1);
            return Some(tag);
        }
    }
}

/// Compares a tag or attribute name with a lowercase ASCII word, ignoring
/// ASCII case and NUL bytes.
pub(crate) fn name_is(name: &[u8], word: &[u8]) -> bool {
    let mut w = word.iter();
    for &c in name {
        if c == 0 {
            continue;
        }
        match w.next() {
            Some(&x) if x == c.to_ascii_lowercase() => {}
            _ => return false,
        }
    }
    w.next().is_none()
}

/// Whether a name starts with a lowercase ASCII word, ignoring case and NUL.
pub(crate) fn name_starts_with(name: &[u8], word: &[u8]) -> bool {
    let mut w = word.iter().peekable();
    for &c in name {
        if w.peek().is_none() {
            return true;
        }
        if c == 0 {
            continue;
        }
        match w.next() {
            Some(&x) if x == c.to_ascii_lowercase() => {}
            _ => return false,
        }
    }
    w.peek().is_none()
}

/// Where the raw text of an element (`<style>` content) ends: the `<` of
/// the matching end tag, or the end of input.
pub(crate) fn raw_text_end(b: &[u8], from: usize, name: &[u8]) -> usize {
    let mut i = from;
    while let Some(p) = b.get(i..).and_then(|r| memchr::memchr(b'<', r)) {
        let lt = i + p;
        let after = lt + 2;
        if b.get(lt + 1) == Some(&b'/')
            && b.len() >= after + name.len()
            && b[after..after + name.len()].eq_ignore_ascii_case(name)
        {
            return lt;
        }
        i = lt + 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (kind, name, attributes as (name, value)) of each tag.
    type Tags = Vec<(TagKind, String, Vec<(String, Option<String>)>)>;

    fn tags(s: &str) -> Tags {
        let b = s.as_bytes();
        Tokenizer::new(b)
            .map(|t| {
                let attrs = Attrs::new(b, &t)
                    .map(|a| {
                        (
                            String::from_utf8_lossy(&b[a.name]).into_owned(),
                            a.value.map(|v| String::from_utf8_lossy(&b[v]).into_owned()),
                        )
                    })
                    .collect();
                (
                    t.kind,
                    String::from_utf8_lossy(&b[t.name]).into_owned(),
                    attrs,
                )
            })
            .collect()
    }

    #[test]
    fn basic_tags_and_attributes() {
        let t = tags(r#"x <img src="a b" alt='c' hidden onerror=alert(1)> y"#);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].1, "img");
        assert_eq!(
            t[0].2,
            vec![
                ("src".into(), Some("a b".into())),
                ("alt".into(), Some("c".into())),
                ("hidden".into(), None),
                ("onerror".into(), Some("alert(1)".into())),
            ]
        );
    }

    #[test]
    fn slash_separates_attributes() {
        let t = tags("<svg/onload=alert(1)>");
        assert_eq!(t[0].1, "svg");
        assert_eq!(t[0].2, vec![("onload".into(), Some("alert(1)".into()))]);
    }

    #[test]
    fn nested_tag_restarts() {
        let t = tags("<scr<script>ipt>alert(1)</script>");
        let names: Vec<_> = t.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(names, vec!["scr", "script", "script"]);
        assert_eq!(t[2].0, TagKind::End);
        let t = tags("<b <script>alert(1)</script>");
        assert_eq!(t[1].1, "script");
    }

    #[test]
    fn comments_and_cdata() {
        assert!(tags("<!-- <script> -->").is_empty());
        let t = tags("<!--<img src=\"--><img src=x onerror=alert(1)//\">");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].2[1].0, "onerror");
        let t = tags("<![CDATA[<img src=x>]]>");
        assert_eq!(t[0].1, "img");
        assert!(tags("<!DOCTYPE html>").is_empty());
    }

    #[test]
    fn prose_is_not_markup() {
        assert!(tags("a < b and c > d").is_empty());
        assert!(tags("I <3 you").is_empty());
        assert!(tags("if (a<b) {x}").len() == 1); // `<b` reads as a tag, judged harmless later
    }

    #[test]
    fn unterminated_tag_ends_at_input_end() {
        let t = tags("<iframe src=a onload=alert(1) <");
        assert_eq!(t[0].1, "iframe");
        // a lone `<` is an attribute name, as in HTML5
        let names: Vec<_> = t[0].2.iter().map(|a| a.0.as_str()).collect();
        assert_eq!(names, vec!["src", "onload", "<"]);
        assert_eq!(t[0].2[1].1.as_deref(), Some("alert(1)"));
    }

    #[test]
    fn names_ignore_nul_and_case() {
        assert!(name_is(b"sCr\0ipt", b"script"));
        assert!(!name_is(b"scripts", b"script"));
        assert!(name_starts_with(b"ONerror", b"on"));
    }

    #[test]
    fn raw_text() {
        let b = b"<style>a>b{}</STYLE>x";
        assert_eq!(raw_text_end(b, 7, b"style"), 12);
    }
}
