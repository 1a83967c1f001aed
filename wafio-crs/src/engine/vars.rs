//! Variables and collections: where a rule target's values come from.
//!
//! Keys of every collection compare ASCII case-insensitively, as in
//! ModSecurity v3. Persistent collections (`IP`, `GLOBAL`, `SESSION`,
//! `USER`, `RESOURCE`) live for one transaction only: this engine keeps no
//! state between requests.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::ir::{Template, TemplatePart};
use crate::request::RequestData;

/// A transaction's `TX` collection: lower-cased keys, listed in the order
/// they were first set (so `MATCHED_VAR` and the log of a rule matching
/// several `TX` variables are the same on every run). The hasher is seeded
/// per map (keys can come from the request, as in rule 920450), which
/// decides lookups only, never the order.
pub type TxMap = indexmap::IndexMap<String, Vec<u8>, foldhash::fast::RandomState>;

/// How a target picks members of a collection.
#[derive(Clone, Debug)]
pub enum Select {
    /// Every member.
    All,
    /// The member with this key (lower-cased).
    Key(String),
    /// Members whose key matches (case-insensitive).
    Regex(regex::bytes::Regex),
    /// Members whose key starts with this lower-case text: a `/^literal/`
    /// selector (CRS's `TX:/^header_name_920450_/`), without a regex.
    Prefix(String),
}

impl Select {
    /// Whether a key is selected.
    pub fn selects(&self, key: &[u8]) -> bool {
        match self {
            Select::All => true,
            Select::Key(k) => key.eq_ignore_ascii_case(k.as_bytes()),
            Select::Regex(re) => re.is_match(key),
            Select::Prefix(p) => key
                .get(..p.len())
                .is_some_and(|k| k.eq_ignore_ascii_case(p.as_bytes())),
        }
    }
}

/// A compiled rule target.
#[derive(Clone, Debug)]
pub struct CTarget {
    /// Canonical collection name.
    pub collection: &'static str,
    /// Which members.
    pub select: Select,
    /// Excluded members.
    pub exclusions: Vec<Select>,
    /// `&`: the count instead of the values.
    pub count: bool,
}

/// One value of a target: its display name (`ARGS:id`) and bytes.
#[derive(Clone, Debug)]
pub struct VarValue<'a> {
    /// `COLLECTION:key` or `VARIABLE`; just `COLLECTION` when `keyed` is
    /// set (the key is then appended by [`VarValue::display_name`], built
    /// only for values that match, not for every value inspected).
    pub name: Cow<'a, str>,
    /// Whether `key` completes `name` (see [`VarValue::display_name`]).
    pub keyed: bool,
    /// The key alone (for exclusions by key).
    pub key: Cow<'a, [u8]>,
    /// The value.
    pub value: Cow<'a, [u8]>,
    /// Where the value lives in the request or response, as a dense index
    /// for per-transaction caches ([`NO_SLOT`] for computed values and for
    /// `TX` and other collections that change during a phase).
    pub slot: u32,
}

/// The slot of a value no cache may keep.
pub const NO_SLOT: u32 = u32::MAX;

/// Single request/response variables with a slot of their own.
#[derive(Clone, Copy)]
enum Single {
    Filename,
    Basename,
    Uri,
    UriRaw,
    Line,
    Method,
    Protocol,
    Query,
    Body,
    ResponseBody,
}

impl VarValue<'_> {
    /// The name as logged and as `MATCHED_VAR_NAME`: `COLLECTION:key` or
    /// `VARIABLE`.
    pub fn display_name(&self) -> String {
        let mut s = String::new();
        self.write_name(&mut s);
        s
    }

    /// [`VarValue::display_name`] appended to `out`.
    pub fn write_name(&self, out: &mut String) {
        if !self.keyed {
            out.push_str(&self.name);
            return;
        }
        // Keys are nearly always UTF-8 (ASCII, mostly): validated in place,
        // without the lossy decoder's chunk iterator.
        match std::str::from_utf8(&self.key) {
            Ok(key) => write_keyed_name(&self.name, key, out),
            Err(_) => write_keyed_name(&self.name, &String::from_utf8_lossy(&self.key), out),
        }
    }
}

/// The name of a member of a keyed collection, as logged and as
/// `MATCHED_VAR_NAME` (`COLLECTION:key`), appended to `out`.
pub(crate) fn write_keyed_name(collection: &str, key: &str, out: &mut String) {
    out.push_str(collection);
    out.push(':');
    out.push_str(key);
}

/// The response as the engine sees it.
#[derive(Clone, Debug, Default)]
pub struct ResponseData {
    /// Status code.
    pub status: u16,
    /// Protocol, e.g. `HTTP/1.1`.
    pub protocol: String,
    /// Headers in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body (only when response body access applies).
    pub body: Vec<u8>,
}

/// Everything variables are read from.
pub struct VarSource<'a> {
    /// The request.
    pub req: &'a RequestData,
    /// The response, once known.
    pub resp: Option<&'a ResponseData>,
    /// `TX` (keys lower-cased).
    pub tx: &'a TxMap,
    /// Per-transaction stand-ins for `IP`, `GLOBAL`, `SESSION`, `USER`, `RESOURCE`, `ENV`.
    pub other: &'a HashMap<String, TxMap>,
    /// `MATCHED_VARS` so far in this rule (name, value).
    pub matched: &'a [(String, Vec<u8>)],
    /// The remote address.
    pub remote_addr: &'a str,
    /// The transaction's unique id.
    pub unique_id: &'a str,
    /// `HIGHEST_SEVERITY` so far.
    pub highest_severity: u8,
    /// `ctl:forceRequestBodyVariable=On` was seen.
    pub force_body_variable: bool,
    /// The processor set by `ctl:requestBodyProcessor`, if any (without
    /// it, `REQBODY_PROCESSOR` follows the Content-Type before the body
    /// is processed).
    pub ctl_body_processor: Option<crate::request::BodyProcessor>,
}

fn text<'a>(name: &'static str, v: impl Into<Cow<'a, [u8]>>) -> VarValue<'a> {
    VarValue {
        name: Cow::Borrowed(name),
        keyed: false,
        key: Cow::Borrowed(b""),
        value: v.into(),
        slot: NO_SLOT,
    }
}

fn keyed<'a>(collection: &'static str, key: &'a [u8], value: &'a [u8]) -> VarValue<'a> {
    VarValue {
        name: Cow::Borrowed(collection),
        keyed: true,
        key: Cow::Borrowed(key),
        value: Cow::Borrowed(value),
        slot: NO_SLOT,
    }
}

fn with_slot(mut v: VarValue<'_>, slot: u32) -> VarValue<'_> {
    v.slot = slot;
    v
}

fn owned_num<'a>(name: &'static str, n: usize) -> VarValue<'a> {
    text(name, n.to_string().into_bytes())
}

impl<'a> VarSource<'a> {
    /// Appends the values of one target (selection and exclusions applied;
    /// `extra_exclusions` come from `ctl:ruleRemoveTarget*`).
    pub fn collect(&self, t: &CTarget, extra_exclusions: &[&Select], out: &mut Vec<VarValue<'a>>) {
        self.for_each(t, extra_exclusions, &mut |v| out.push(v));
    }

    /// Calls `f` with each value of one target (selection and exclusions
    /// applied), in collection order, without collecting them.
    pub fn for_each(
        &self,
        t: &CTarget,
        extra_exclusions: &[&Select],
        f: &mut dyn FnMut(VarValue<'a>),
    ) {
        let plain = matches!(t.select, Select::All)
            && t.exclusions.is_empty()
            && extra_exclusions.is_empty();
        let excluded = |key: &[u8]| {
            t.exclusions
                .iter()
                .chain(extra_exclusions.iter().copied())
                .any(|e| e.selects(key))
        };
        let mut n = 0usize;
        // A keyed member of a hash collection is one lookup, not a walk
        // (CRS reads single `TX` variables in almost every rule).
        if let Select::Key(k) = &t.select {
            let map = match t.collection {
                "TX" => Some(self.tx),
                "IP" | "GLOBAL" | "SESSION" | "USER" | "RESOURCE" | "ENV" | "GEO" => {
                    self.other.get(t.collection)
                }
                _ => None,
            };
            if let Some(map) = map {
                let hit = map
                    .get_key_value(k.as_str())
                    .filter(|(key, _)| !excluded(key.as_bytes()));
                if t.count {
                    f(owned_num(t.collection, usize::from(hit.is_some())));
                } else if let Some((key, v)) = hit {
                    f(keyed(t.collection, key.as_bytes(), v));
                }
                return;
            }
        }
        self.members(t.collection, &mut |v: VarValue<'a>| {
            if !plain && (!t.select.selects(&v.key) || excluded(&v.key)) {
                return;
            }
            if t.count {
                n += 1;
            } else {
                f(v);
            }
        });
        if t.count {
            f(owned_num(t.collection, n));
        }
    }

    /// All members of a collection, keys set for keyed collections.
    fn members(&self, collection: &'static str, out: &mut dyn FnMut(VarValue<'a>)) {
        let r = self.req;
        let lay = self.layout();
        let args = |which: Option<bool>,
                    names: bool,
                    label: &'static str,
                    out: &mut dyn FnMut(VarValue<'a>)| {
            let get = r.args_get.iter().map(|a| (a, true));
            let post = r.args_post.iter().map(|a| (a, false));
            for (i, (a, is_get)) in get.chain(post).enumerate() {
                if which.is_some_and(|w| w != is_get) {
                    continue;
                }
                let value: &[u8] = if names { &a.name } else { &a.value };
                let slot = if names { lay.arg_names } else { 0 } + i as u32;
                out(with_slot(keyed(label, &a.name, value), slot));
            }
        };
        match collection {
            "ARGS" => args(None, false, "ARGS", out),
            "ARGS_GET" => args(Some(true), false, "ARGS_GET", out),
            "ARGS_POST" => args(Some(false), false, "ARGS_POST", out),
            "ARGS_NAMES" => args(None, true, "ARGS_NAMES", out),
            "ARGS_GET_NAMES" => args(Some(true), true, "ARGS_GET_NAMES", out),
            "ARGS_POST_NAMES" => args(Some(false), true, "ARGS_POST_NAMES", out),
            "ARGS_COMBINED_SIZE" => out(owned_num("ARGS_COMBINED_SIZE", r.args_combined_size())),
            "REQUEST_HEADERS" | "REQUEST_HEADERS_NAMES" => {
                let names = collection == "REQUEST_HEADERS_NAMES";
                let base = if names { lay.header_names } else { lay.headers };
                for (i, (n, v)) in r.headers.iter().enumerate() {
                    let value: &[u8] = if names { n.as_bytes() } else { v };
                    out(with_slot(
                        keyed(collection, n.as_bytes(), value),
                        base + i as u32,
                    ));
                }
            }
            "REQUEST_COOKIES" | "REQUEST_COOKIES_NAMES" => {
                let names = collection == "REQUEST_COOKIES_NAMES";
                let base = if names { lay.cookie_names } else { lay.cookies };
                for (i, c) in r.cookies.iter().enumerate() {
                    let value: &[u8] = if names { &c.name } else { &c.value };
                    out(with_slot(
                        keyed(collection, &c.name, value),
                        base + i as u32,
                    ));
                }
            }
            "REQUEST_FILENAME" => out(with_slot(
                text("REQUEST_FILENAME", &r.filename[..]),
                lay.single(Single::Filename),
            )),
            "REQUEST_BASENAME" => out(with_slot(
                text("REQUEST_BASENAME", &r.basename[..]),
                lay.single(Single::Basename),
            )),
            "REQUEST_URI" => out(with_slot(
                text("REQUEST_URI", &r.uri[..]),
                lay.single(Single::Uri),
            )),
            "REQUEST_URI_RAW" => out(with_slot(
                text("REQUEST_URI_RAW", &r.uri_raw[..]),
                lay.single(Single::UriRaw),
            )),
            "REQUEST_LINE" => out(with_slot(
                text("REQUEST_LINE", &r.request_line[..]),
                lay.single(Single::Line),
            )),
            "REQUEST_METHOD" => out(with_slot(
                text("REQUEST_METHOD", r.method.as_bytes()),
                lay.single(Single::Method),
            )),
            "REQUEST_PROTOCOL" => out(with_slot(
                text("REQUEST_PROTOCOL", r.protocol.as_bytes()),
                lay.single(Single::Protocol),
            )),
            "QUERY_STRING" => out(with_slot(
                text("QUERY_STRING", &r.query_string[..]),
                lay.single(Single::Query),
            )),
            // As in ModSecurity, the raw body is a variable only for the
            // URLENCODED processor, or with no processor when forced.
            "REQUEST_BODY" => {
                let visible = match r.body_processor {
                    Some(crate::request::BodyProcessor::UrlEncoded) => true,
                    None => self.force_body_variable,
                    Some(_) => false,
                };
                if visible {
                    out(with_slot(
                        text("REQUEST_BODY", &r.body[..]),
                        lay.single(Single::Body),
                    ));
                }
            }
            "REQUEST_BODY_LENGTH" => out(owned_num("REQUEST_BODY_LENGTH", r.request_body_length())),
            "FULL_REQUEST_LENGTH" => out(owned_num(
                "FULL_REQUEST_LENGTH",
                r.request_line.len() + r.body.len(),
            )),
            "FILES" => {
                for f in &r.files {
                    out(keyed("FILES", &f.field, &f.filename));
                }
            }
            "FILES_NAMES" => {
                for f in &r.files {
                    out(keyed("FILES_NAMES", &f.field, &f.field));
                }
            }
            "FILES_SIZES" => {
                for f in &r.files {
                    out(VarValue {
                        keyed: false,
                        name: Cow::Owned(format!(
                            "FILES_SIZES:{}",
                            String::from_utf8_lossy(&f.field)
                        )),
                        key: Cow::Borrowed(&f.field),
                        value: Cow::Owned(f.content.len().to_string().into_bytes()),
                        slot: NO_SLOT,
                    });
                }
            }
            "FILES_COMBINED_SIZE" => out(owned_num("FILES_COMBINED_SIZE", r.files_combined_size())),
            "MULTIPART_FILENAME" => {
                for f in &r.files {
                    out(keyed("MULTIPART_FILENAME", &f.field, &f.filename));
                }
            }
            "MULTIPART_NAME" => {
                for a in r
                    .args_post
                    .iter()
                    .filter(|a| a.source == crate::request::ArgSource::Multipart)
                {
                    out(keyed("MULTIPART_NAME", &a.name, &a.name));
                }
                for f in &r.files {
                    out(keyed("MULTIPART_NAME", &f.field, &f.field));
                }
            }
            "MULTIPART_PART_HEADERS" => {
                for h in &r.part_headers {
                    out(keyed("MULTIPART_PART_HEADERS", &h.part, &h.line));
                }
            }
            name if name.starts_with("MULTIPART_") => {
                if let Some(flag) = r.multipart.get(name) {
                    out(text(collection, if flag { &b"1"[..] } else { &b"0"[..] }));
                }
            }
            // `XML:/*` selects element text and `XML://@*` attribute values
            // (see `collect`); the key of each member is its path.
            "XML" => {
                for x in &r.xml {
                    out(VarValue {
                        name: Cow::Borrowed(if x.attribute { "XML://@*" } else { "XML:/*" }),
                        keyed: false,
                        key: Cow::Borrowed(if x.attribute {
                            &b"//@*"[..]
                        } else {
                            &b"/*"[..]
                        }),
                        value: Cow::Borrowed(&x.value),
                        slot: NO_SLOT,
                    });
                }
            }
            "REQBODY_ERROR" | "REQBODY_PROCESSOR_ERROR" => out(text(
                collection,
                if r.reqbody_error {
                    &b"1"[..]
                } else {
                    &b"0"[..]
                },
            )),
            "REQBODY_ERROR_MSG" | "REQBODY_PROCESSOR_ERROR_MSG" => {
                out(text(collection, r.reqbody_error_msg.as_bytes()))
            }
            // Known from the request headers on, as in ModSecurity; empty
            // when no processor applies.
            "REQBODY_PROCESSOR" => {
                let p = r.body_processor.or(self.ctl_body_processor).or_else(|| {
                    r.header("content-type")
                        .and_then(crate::request::BodyProcessor::from_content_type)
                });
                out(text(
                    "REQBODY_PROCESSOR",
                    p.map_or(&b""[..], |p| p.name().as_bytes()),
                ));
            }
            "TX" => {
                for (k, v) in self.tx {
                    out(keyed("TX", k.as_bytes(), v));
                }
            }
            "IP" | "GLOBAL" | "SESSION" | "USER" | "RESOURCE" | "ENV" | "GEO" => {
                if let Some(c) = self.other.get(collection) {
                    for (k, v) in c {
                        out(keyed(collection, k.as_bytes(), v));
                    }
                }
            }
            "MATCHED_VAR" => {
                if let Some((_, v)) = self.matched.last() {
                    out(text("MATCHED_VAR", &v[..]));
                }
            }
            "MATCHED_VAR_NAME" => {
                if let Some((n, _)) = self.matched.last() {
                    out(text("MATCHED_VAR_NAME", n.as_bytes()));
                }
            }
            "MATCHED_VARS" => {
                for (n, v) in self.matched {
                    out(keyed("MATCHED_VARS", n.as_bytes(), v));
                }
            }
            "MATCHED_VARS_NAMES" => {
                for (n, _) in self.matched {
                    out(keyed("MATCHED_VARS_NAMES", n.as_bytes(), n.as_bytes()));
                }
            }
            "REMOTE_ADDR" | "USERAGENT_IP" => out(text(collection, self.remote_addr.as_bytes())),
            "REMOTE_PORT" => out(text("REMOTE_PORT", &b"0"[..])),
            "SERVER_NAME" => {
                let host = r.header("host").unwrap_or(b"");
                let host = host.split(|&c| c == b':').next().unwrap_or(host);
                out(text("SERVER_NAME", host));
            }
            "SERVER_ADDR" => out(text("SERVER_ADDR", &b"127.0.0.1"[..])),
            "SERVER_PORT" => out(text("SERVER_PORT", &b"80"[..])),
            "UNIQUE_ID" => out(text("UNIQUE_ID", self.unique_id.as_bytes())),
            "DURATION" => out(text("DURATION", &b"0"[..])),
            "HIGHEST_SEVERITY" => out(owned_num(
                "HIGHEST_SEVERITY",
                usize::from(self.highest_severity),
            )),
            "INBOUND_DATA_ERROR"
            | "OUTBOUND_DATA_ERROR"
            | "URLENCODED_ERROR"
            | "MSC_PCRE_LIMITS_EXCEEDED" => out(text(collection, &b"0"[..])),
            "AUTH_TYPE" => {
                if let Some(a) = r.header("authorization") {
                    let scheme = a.split(|&c| c == b' ').next().unwrap_or(a);
                    out(text("AUTH_TYPE", scheme));
                }
            }
            "TIME_EPOCH" => {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                out(text("TIME_EPOCH", secs.to_string().into_bytes()));
            }
            "RESPONSE_STATUS"
            | "RESPONSE_PROTOCOL"
            | "RESPONSE_BODY"
            | "RESPONSE_CONTENT_TYPE"
            | "RESPONSE_CONTENT_LENGTH"
            | "RESPONSE_HEADERS"
            | "RESPONSE_HEADERS_NAMES"
            | "STATUS_LINE" => {
                if let Some(resp) = self.resp {
                    self.response_members(resp, collection, out);
                }
            }
            // Variables this engine has no source for (PATH_INFO, SCRIPT_*,
            // WEBAPPID, …) have no value, as in ModSecurity without them.
            _ => {}
        }
    }

    fn response_members(
        &self,
        resp: &'a ResponseData,
        collection: &'static str,
        out: &mut dyn FnMut(VarValue<'a>),
    ) {
        match collection {
            "RESPONSE_STATUS" => out(text(
                "RESPONSE_STATUS",
                resp.status.to_string().into_bytes(),
            )),
            "RESPONSE_PROTOCOL" => out(text("RESPONSE_PROTOCOL", resp.protocol.as_bytes())),
            "STATUS_LINE" => out(text(
                "STATUS_LINE",
                format!("{} {}", resp.protocol, resp.status).into_bytes(),
            )),
            "RESPONSE_BODY" => out(with_slot(
                text("RESPONSE_BODY", &resp.body[..]),
                self.layout().single(Single::ResponseBody),
            )),
            "RESPONSE_CONTENT_TYPE" | "RESPONSE_CONTENT_LENGTH" => {
                let want = if collection == "RESPONSE_CONTENT_TYPE" {
                    "content-type"
                } else {
                    "content-length"
                };
                if let Some((_, v)) = resp
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(want))
                {
                    out(text(collection, &v[..]));
                }
            }
            _ => {
                let names = collection == "RESPONSE_HEADERS_NAMES";
                let lay = self.layout();
                let base = if names {
                    lay.resp_header_names
                } else {
                    lay.resp_headers
                };
                for (i, (n, v)) in resp.headers.iter().enumerate() {
                    let value: &[u8] = if names { n.as_bytes() } else { v };
                    out(with_slot(
                        keyed(collection, n.as_bytes(), value),
                        base + i as u32,
                    ));
                }
            }
        }
    }

    /// Appends the value of a macro `%{NAME}` / `%{NAME.key}` to `out`:
    /// the first value of the variable (and key), or nothing.
    pub fn macro_value(
        &self,
        variable: &'static str,
        key: Option<&str>,
        rule: Option<&RuleInfo<'_>>,
        out: &mut Vec<u8>,
    ) {
        if variable == "RULE" {
            let Some(rule) = rule else { return };
            let Some(key) = key else { return };
            let lower = |k: &str| key.eq_ignore_ascii_case(k);
            if lower("id") {
                out.extend_from_slice(rule.id.to_string().as_bytes());
            } else if lower("msg") {
                out.extend_from_slice(rule.msg.as_bytes());
            } else if lower("severity") {
                if let Some(s) = rule.severity {
                    out.extend_from_slice(s.to_string().as_bytes());
                }
            } else if lower("logdata") {
                out.extend_from_slice(rule.logdata.as_bytes());
            } else if lower("ver") {
                out.extend_from_slice(rule.ver.as_bytes());
            }
            return;
        }
        // `%{tx.name}`: one lookup (CRS expands these in almost every setvar).
        if let ("TX", Some(k)) = (variable, key) {
            let v = if k.bytes().any(|b| b.is_ascii_uppercase()) {
                self.tx.get(&k.to_ascii_lowercase())
            } else {
                self.tx.get(k)
            };
            if let Some(v) = v {
                out.extend_from_slice(v);
            }
            return;
        }
        let target = CTarget {
            collection: variable,
            select: match key {
                Some(k) => Select::Key(k.to_ascii_lowercase()),
                None => Select::All,
            },
            exclusions: Vec::new(),
            count: false,
        };
        let mut first = true;
        self.for_each(&target, &[], &mut |v| {
            if std::mem::take(&mut first) {
                out.extend_from_slice(&v.value);
            }
        });
    }

    /// Appends a template with its macros expanded to `out`.
    pub fn expand_into(&self, t: &Template, rule: Option<&RuleInfo<'_>>, out: &mut Vec<u8>) {
        for part in &t.parts {
            match part {
                TemplatePart::Literal(l) => out.extend_from_slice(l.as_bytes()),
                TemplatePart::Macro { variable, key } => {
                    self.macro_value(variable, key.as_deref(), rule, out)
                }
            }
        }
    }

    /// A template with its macros expanded.
    pub fn expand(&self, t: &Template, rule: Option<&RuleInfo<'_>>) -> Vec<u8> {
        let mut out = Vec::new();
        self.expand_into(t, rule, &mut out);
        out
    }
}

/// Slot offsets of one request (and response): values that stay put for
/// the whole of a phase get dense indexes, for per-transaction caches.
#[derive(Clone, Copy)]
struct Layout {
    arg_names: u32,
    headers: u32,
    header_names: u32,
    cookies: u32,
    cookie_names: u32,
    resp_headers: u32,
    resp_header_names: u32,
    singles: u32,
}

impl Layout {
    fn single(self, s: Single) -> u32 {
        self.singles + s as u32
    }
}

impl VarSource<'_> {
    fn layout(&self) -> Layout {
        let r = self.req;
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX / 16);
        let args = n(r.args_get.len() + r.args_post.len());
        let headers = n(r.headers.len());
        let cookies = n(r.cookies.len());
        let resp = n(self.resp.map_or(0, |r| r.headers.len()));
        let arg_names = args;
        let h = arg_names + args;
        let hn = h + headers;
        let c = hn + headers;
        let cn = c + cookies;
        let rh = cn + cookies;
        let rhn = rh + resp;
        Layout {
            arg_names,
            headers: h,
            header_names: hn,
            cookies: c,
            cookie_names: cn,
            resp_headers: rh,
            resp_header_names: rhn,
            singles: rhn + resp,
        }
    }
}

/// What `%{RULE.…}` macros can read of the rule being evaluated.
#[derive(Clone, Debug, Default)]
pub struct RuleInfo<'r> {
    /// Rule id.
    pub id: u64,
    /// Expanded `msg` (empty until expanded).
    pub msg: String,
    /// Expanded `logdata`.
    pub logdata: String,
    /// Severity.
    pub severity: Option<u8>,
    /// `ver`.
    pub ver: &'r str,
}
