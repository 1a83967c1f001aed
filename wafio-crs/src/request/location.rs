//! [`Location`]: where in a request a value was found.

use std::fmt;

/// The collection a [`Location`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LocationKind {
    /// `REQUEST_FILENAME`: the decoded path or one of its segments.
    RequestFilename,
    /// `ARGS_GET:name`: a query argument value.
    ArgsGet,
    /// `ARGS_POST:name`: a body argument value (form, JSON, XML, multipart).
    ArgsPost,
    /// `ARGS_NAMES:name`: an argument name.
    ArgsNames,
    /// `FILES:field`: an uploaded file name.
    Files,
    /// `FILES_NAMES`: the form field name of an upload.
    FilesNames,
    /// `FILES_TMP_CONTENT:field`: the content of an uploaded file.
    FilesContent,
    /// `XML:/*`: element text of an XML body.
    Xml,
    /// `XML://@*`: an attribute value of an XML body.
    XmlAttribute,
    /// `REQUEST_COOKIES:name`: a cookie value.
    RequestCookies,
    /// `REQUEST_COOKIES_NAMES`: a cookie name.
    RequestCookiesNames,
    /// `REQUEST_HEADERS:Name`: a header value.
    RequestHeaders,
    /// `REQUEST_BODY`: the raw body.
    RequestBody,
}

impl LocationKind {
    /// The ModSecurity variable name, e.g. `ARGS_GET`.
    pub fn variable(self) -> &'static str {
        match self {
            LocationKind::RequestFilename => "REQUEST_FILENAME",
            LocationKind::ArgsGet => "ARGS_GET",
            LocationKind::ArgsPost => "ARGS_POST",
            LocationKind::ArgsNames => "ARGS_NAMES",
            LocationKind::Files => "FILES",
            LocationKind::FilesNames => "FILES_NAMES",
            LocationKind::FilesContent => "FILES_TMP_CONTENT",
            LocationKind::Xml => "XML",
            LocationKind::XmlAttribute => "XML",
            LocationKind::RequestCookies => "REQUEST_COOKIES",
            LocationKind::RequestCookiesNames => "REQUEST_COOKIES_NAMES",
            LocationKind::RequestHeaders => "REQUEST_HEADERS",
            LocationKind::RequestBody => "REQUEST_BODY",
        }
    }
}

/// Where a value was found. Displays ModSecurity-style: `ARGS_GET:id`,
/// `ARGS_POST:json.a.b`, `ARGS_NAMES:id`, `REQUEST_COOKIES:sid`,
/// `REQUEST_COOKIES_NAMES`, `REQUEST_HEADERS:User-Agent`,
/// `REQUEST_FILENAME`, `FILES:upload`, `FILES_NAMES`, `XML:/*`, `XML://@*`,
/// `REQUEST_BODY`. Key bytes that are not UTF-8 display as U+FFFD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location<'a> {
    /// The collection.
    pub kind: LocationKind,
    /// The member key (argument, cookie or header name, upload field), if
    /// the collection has one.
    pub key: Option<&'a [u8]>,
}

impl<'a> Location<'a> {
    /// A location in `kind` under `key`.
    pub fn new(kind: LocationKind, key: Option<&'a [u8]>) -> Self {
        Location { kind, key }
    }
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.variable())?;
        match self.kind {
            LocationKind::Xml => f.write_str(":/*"),
            LocationKind::XmlAttribute => f.write_str("://@*"),
            _ => match self.key {
                Some(key) => write!(f, ":{}", String::from_utf8_lossy(key)),
                None => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_modsecurity_style() {
        let cases: [(Location<'_>, &str); 6] = [
            (
                Location::new(LocationKind::ArgsGet, Some(b"id")),
                "ARGS_GET:id",
            ),
            (
                Location::new(LocationKind::ArgsNames, Some(b"id")),
                "ARGS_NAMES:id",
            ),
            (
                Location::new(LocationKind::RequestCookiesNames, None),
                "REQUEST_COOKIES_NAMES",
            ),
            (Location::new(LocationKind::Xml, None), "XML:/*"),
            (Location::new(LocationKind::XmlAttribute, None), "XML://@*"),
            (
                Location::new(LocationKind::RequestHeaders, Some(b"User-Agent")),
                "REQUEST_HEADERS:User-Agent",
            ),
        ];
        for (loc, want) in cases {
            assert_eq!(loc.to_string(), want);
        }
    }
}
