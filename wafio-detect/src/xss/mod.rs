//! Cross-site scripting and client-side template injection.
//!
//! The detector reads a value the way a browser would if it were reflected
//! into a page, and reports constructs that *run script* there (or that only
//! make sense as a probe for a place where they would):
//!
//! | class | what |
//! |---|---|
//! | `script-tag` | `<script>` (also namespaced `<x:script>`, `<scr\0ipt>`, UTF-7 `+ADw-script`, fullwidth `＜script`, `¼script¾`, filter-stripped `scriptalert(1)/script`), `</script>` breakouts (weak-ish, 0.55) |
//! | `dangerous-tag` | frames and plugins, `<base href>`, `<meta http-equiv/charset>`, `<link href>`, `<style>`, inline `<svg>`/`<math>`, XML Events, IE `<?import>`/`implementation=`, data islands, DTD `<!ENTITY`/`<!ATTLIST`, `<html>`/`<body>` structure tags (0.5) |
//! | `event-handler` | `on*` attributes in markup (0.95 when the code acts, 0.7 otherwise), injected into an existing tag (`" onfocus=alert(1) x="`), SVG `attributeName=on…`, tails of handler values closed by `>` |
//! | `javascript-url` | `javascript:`/`vbscript:`/`livescript:`/`mocha:`/`mhtml:` URLs in any attribute or as the value; control bytes inside the scheme are ignored |
//! | `data-url` | `data:` URLs with an active media type, or a base64 payload that decodes to script-running markup |
//! | `style-expression` | `expression(`, `url(javascript:`, `-moz-binding`, `behavior:`, `-o-link:` in a style attribute, `<style>` or the value; CSS escapes that decode to markup |
//! | `style-injection` | malformed style attributes used to break out of a declaration (escapes, braces, brackets, open strings or comments, SVG in `url()`) |
//! | `js-breakout` | `";alert(1)//`, `'-alert(1)-'`, `');location=…;('` |
//! | `js-payload` | the whole value is JavaScript calling an eval/alert-type function (`alert(1)`, `top["al"+"ert"](1)`, `1;alert(1)//`) |
//! | `js-entity` | Netscape `&{…};` entities and the `&{()}` of the XSS locator |
//! | `template-injection` | `{{…}}` reaching the `Function` constructor or AngularJS internals (`{{constructor.constructor('alert(1)')()}}`, `{{$on.constructor(…)()}}`) |
//!
//! Harmless look-alikes are not reported: prose with `<` and `>`,
//! `<john@example.com>`, code such as `if (a<b) {x}`, i18n placeholders
//! (`Hello {{name}}`), markdown, and the formatting tags rich-text editors
//! send (`<b>`, `<i>`, `<p>`, `<a href="https://…">`, `<img src=…>` without
//! handlers, ordinary `style="color: red"`): a tag is reported only for what
//! it can run.
//!
//! Payloads are judged with a small JavaScript scanner ([`js`]) rather than
//! keyword lists: a handler or URL is reported when its code calls something,
//! uses a tagged template, or assigns to a navigation, cookie or markup sink;
//! breakouts additionally need the code to be plausible JavaScript (no two
//! values side by side), which is what separates them from prose and SQL.
//!
//! # Limits and cost
//! - A value without any of the bytes `< : { ( ` = " ' + &` (or the first
//!   bytes of the look-alike brackets) is rejected by a 256-entry table scan
//!   before anything else; clean values allocate nothing. Each later check
//!   is gated by a `memchr` for the bytes it needs.
//! - The tag tokenizer ([`html`]) is one linear pass; attributes are walked
//!   at most twice. No recursion anywhere.
//! - Each JavaScript snippet is read up to [`js::MAX_JS_SCAN`] (512) bytes;
//!   string-breakout candidates are tried at the first [`MAX_QUOTES`]
//!   quotes; `{{…}}` bodies are read up to [`MAX_TEMPLATE`] bytes; CSS is
//!   normalised into a fixed [`CSS_BUF`]-byte stack buffer; base64 data-URL
//!   payloads are decoded up to 4 KiB (the only allocation, and only for a
//!   `data:…;base64,` URL inside a tag). Total work is linear in the value
//!   length with small constant factors.

mod html;
mod js;

use std::borrow::Cow;
use std::ops::Range;

use crate::{Detector, DetectorKind, Hit, View};

use html::{name_is, name_starts_with, Attrs, TagKind, Tokenizer};
use js::{Action, Stop};

/// Quotes at which a JavaScript string breakout is tried, at most.
pub const MAX_QUOTES: usize = 32;
/// Bytes of a `{{…}}` template body that are read, at most.
pub const MAX_TEMPLATE: usize = 512;
/// Bytes of normalised CSS that are inspected per style context.
pub const CSS_BUF: usize = 1024;
/// Hits reported per view, at most.
const MAX_HITS: usize = 8;

/// The XSS detector: an HTML5-style tag tokenizer, a JavaScript action
/// scanner and CSS, URL, breakout and template checks.
///
/// Reports classes `script-tag`, `dangerous-tag`, `event-handler`,
/// `javascript-url`, `data-url`, `style-expression`, `style-injection`,
/// `js-breakout`, `js-payload`, `js-entity` and `template-injection`.
/// Stateless and cheap to construct; linear in the value length, with no
/// allocation on clean values.
///
/// ```
/// use wafio_detect::{DetectorKind, DetectorSet};
///
/// let set = DetectorSet::builder().only(&[DetectorKind::Xss]).build();
/// assert!(set.scan(b"<svg/onload=alert(1)>").iter().any(|f| f.confidence >= 0.5));
/// assert!(set.scan(b"<b>bold</b> and a < b").is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct XssDetector {}

/// The bytes in [`TRIGGER`]: without one, `detect` returns at once.
static NEEDS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = BYTE_CLASS[c] & TRIGGER != 0;
        c += 1;
    }
    t
};

impl Detector for XssDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Xss
    }

    fn needs_one_of(&self) -> Option<&'static [bool; 256]> {
        Some(&NEEDS)
    }

    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>) {
        let b = view.bytes();
        if b.len() < 4 {
            return;
        }
        // The view's byte classes (one pass shared with other detectors)
        // tell which bytes the value holds; each check runs only when the
        // bytes it needs are there.
        let m = view.classes().xss();
        if m & TRIGGER == 0 {
            return;
        }
        let has = |bits: u16| m & bits != 0;
        let mut sink = Sink { out, first: 0 };
        sink.first = sink.out.len();
        if has(XBC | XEF) {
            check_lookalike(b, &mut sink);
        }
        if has(LT) {
            check_markup(b, &mut sink);
        }
        if has(COLON) {
            check_schemes(b, &mut sink);
        }
        if has(EQ) {
            check_loose_handlers(b, &mut sink);
        }
        let acts = has(LPAREN | BACKTICK | EQ);
        if acts && has(DQUOTE | SQUOTE | BACKTICK) {
            check_breakouts(b, &mut sink);
        }
        if acts && has(GT) {
            check_fragment(b, &mut sink);
        }
        if acts {
            check_js_value(b, &mut sink);
        }
        if acts && has(SLASH) {
            check_stripped_script(b, &mut sink);
        }
        if has(LBRACE) {
            check_templates(b, &mut sink);
            check_js_entity(b, &mut sink);
        }
        if has(COLON | LPAREN) {
            check_loose_css(b, &mut sink);
        }
        if has(DASH) {
            check_utf7(b, &mut sink);
        }
    }
}

// Bits of [`BYTE_CLASS`]: one per byte some check needs.
const LT: u16 = 1;
const COLON: u16 = 1 << 1;
const LBRACE: u16 = 1 << 2;
const LPAREN: u16 = 1 << 3;
const BACKTICK: u16 = 1 << 4;
const EQ: u16 = 1 << 5;
const DQUOTE: u16 = 1 << 6;
const SQUOTE: u16 = 1 << 7;
const PLUS: u16 = 1 << 8;
const AMP: u16 = 1 << 9;
const XBC: u16 = 1 << 10;
const XEF: u16 = 1 << 11;
const GT: u16 = 1 << 12;
const SLASH: u16 = 1 << 13;
const DASH: u16 = 1 << 14;

/// Bytes without which no check can fire: `<:{(`="'+&`, 0xbc and 0xef.
const TRIGGER: u16 =
    LT | COLON | LBRACE | LPAREN | BACKTICK | EQ | DQUOTE | SQUOTE | PLUS | AMP | XBC | XEF;

/// The class bit of each byte (0 for the bytes no check looks for); one
/// lane of [`crate::classes::ByteClasses`].
pub(crate) const BYTE_CLASS: [u16; 256] = {
    let mut t = [0u16; 256];
    t[b'<' as usize] = LT;
    t[b':' as usize] = COLON;
    t[b'{' as usize] = LBRACE;
    t[b'(' as usize] = LPAREN;
    t[b'`' as usize] = BACKTICK;
    t[b'=' as usize] = EQ;
    t[b'"' as usize] = DQUOTE;
    t[b'\'' as usize] = SQUOTE;
    t[b'+' as usize] = PLUS;
    t[b'&' as usize] = AMP;
    t[0xbc] = XBC;
    t[0xef] = XEF;
    t[b'>' as usize] = GT;
    t[b'/' as usize] = SLASH;
    t[b'-' as usize] = DASH;
    t
};

/// Collects hits: one per class, strongest wins.
struct Sink<'o> {
    out: &'o mut Vec<Hit>,
    first: usize,
}

impl Sink<'_> {
    fn push(
        &mut self,
        class: &'static str,
        confidence: f32,
        span: Range<usize>,
        reason: &'static str,
    ) {
        let mine = &mut self.out[self.first..];
        if let Some(h) = mine.iter_mut().find(|h| h.class == class) {
            if confidence > h.confidence {
                h.confidence = confidence;
                h.span = span;
                h.reason = Cow::Borrowed(reason);
            }
            return;
        }
        if mine.len() >= MAX_HITS {
            return;
        }
        self.out.push(Hit {
            class,
            confidence,
            span,
            reason: Cow::Borrowed(reason),
        });
    }

    /// Whether a blocking hit was already found (later checks can be skipped).
    fn strong(&self) -> bool {
        self.out[self.first..].iter().any(|h| h.confidence >= 0.9)
    }
}

/// Case-insensitive search of a lowercase ASCII needle.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    if !first.is_ascii_alphabetic() {
        // the first byte has no case: one memchr per candidate
        let mut i = 0;
        while let Some(p) = memchr::memchr(first, hay.get(i..)?) {
            let at = i + p;
            if hay.len() >= at + needle.len()
                && hay[at..at + needle.len()].eq_ignore_ascii_case(needle)
            {
                return Some(at);
            }
            i = at + 1;
        }
        return None;
    }
    let mut i = 0;
    while let Some(p) = memchr::memchr2(first, first.to_ascii_uppercase(), hay.get(i..)?) {
        let at = i + p;
        if hay.len() >= at + needle.len() && hay[at..at + needle.len()].eq_ignore_ascii_case(needle)
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Strength of a JavaScript action for a context that is already script.
fn action_confidence(a: Action) -> f32 {
    match a {
        Action::ProofCall | Action::SinkAssign => 0.95,
        Action::Call => 0.9,
    }
}

// ---------------------------------------------------------------- markup

/// URL schemes that run script.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `javascript:`
    Script,
    /// `livescript:`, `mocha:` (Netscape), `mhtml:` (IE)
    Legacy,
    /// `vbscript:`
    VbScript,
    /// `data:`
    Data,
}

/// Data URL media types a browser renders as a document or runs.
const ACTIVE_DATA_TYPES: &[&[u8]] = &[
    b"text/html",
    b"image/svg",
    b"application/xhtml",
    b"text/xml",
    b"application/xml",
    b"text/javascript",
    b"application/javascript",
    b"application/x-javascript",
    b"application/ecmascript",
    b"text/ecmascript",
    b"text/vbscript",
    b"application/x-shockwave-flash",
];

/// Reads a scheme name ending just before the `:` at `colon`, allowing the
/// control bytes (tab, newline, NUL, …) that browsers strip or old engines
/// ignored inside a scheme, and spaces when `spaces` is set. Returns the
/// scheme and where its first letter is.
fn scheme_before(b: &[u8], colon: usize, spaces: bool) -> Option<(Scheme, usize)> {
    let mut buf = [0u8; 10];
    let mut n = 0;
    let mut i = colon;
    let mut first = colon;
    while i > 0 && colon - i < 48 {
        let c = b[i - 1];
        if c.is_ascii_alphabetic() {
            if n == buf.len() {
                return None;
            }
            buf[n] = c.to_ascii_lowercase();
            n += 1;
            first = i - 1;
        } else if !(c < b' ' || (spaces && c == b' ')) {
            break;
        }
        i -= 1;
    }
    let word = &mut buf[..n];
    word.reverse();
    let scheme = match &*word {
        b"javascript" => Scheme::Script,
        b"livescript" | b"mocha" | b"mhtml" => Scheme::Legacy,
        b"vbscript" => Scheme::VbScript,
        b"data" => Scheme::Data,
        _ => return None,
    };
    Some((scheme, first))
}

/// `javascript:` bodies that do nothing (`void(0)`, `;`, `//`).
fn is_inert_js_url(rest: &[u8]) -> bool {
    let t = trim_start_ws(rest);
    let t = &t[..t.iter().rposition(|&c| c > b' ').map_or(0, |p| p + 1)];
    t.is_empty()
        || t.iter().all(|&c| matches!(c, b';' | b'/' | b'#'))
        || [
            &b"void(0)"[..],
            b"void(0);",
            b"void 0",
            b"void 0;",
            b"false",
            b"false;",
            b"return false",
            b"return false;",
            b"null",
        ]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
}

/// Judges a URL whose scheme ends just before `rest`. `attr` says whether
/// the URL sits in a tag attribute (where any code in it runs).
fn judge_url(scheme: Scheme, rest: &[u8], attr: bool) -> Option<(&'static str, f32, &'static str)> {
    match scheme {
        Scheme::Script => {
            let scan = js::scan(rest, Stop::None);
            match scan.action {
                Some((a, _)) => Some((
                    "javascript-url",
                    action_confidence(a),
                    "javascript: URL whose code calls or assigns",
                )),
                None if is_inert_js_url(rest) => None,
                None if attr => Some((
                    "javascript-url",
                    0.7,
                    "javascript: URL with code in a tag attribute",
                )),
                None => Some((
                    "javascript-url",
                    0.45,
                    "javascript: URL with code that does nothing visible",
                )),
            }
        }
        Scheme::Legacy => {
            let body = rest.iter().any(|c| c.is_ascii_alphanumeric() || *c == b'[');
            match js::scan(rest, Stop::None).action {
                Some((a, _)) => Some((
                    "javascript-url",
                    action_confidence(a),
                    "legacy script URL whose code calls or assigns",
                )),
                None if body => Some((
                    "javascript-url",
                    0.6,
                    "legacy script URL (livescript:, mocha:, mhtml:)",
                )),
                None => None,
            }
        }
        Scheme::VbScript => rest.iter().any(|c| c.is_ascii_alphabetic()).then_some((
            "javascript-url",
            0.85,
            "vbscript: URL runs VBScript",
        )),
        Scheme::Data => {
            let t = trim_start_ws(rest);
            if ACTIVE_DATA_TYPES
                .iter()
                .any(|ty| t.len() >= ty.len() && t[..ty.len()].eq_ignore_ascii_case(ty))
            {
                return Some((
                    "data-url",
                    0.85,
                    "data: URL with an active document or script type",
                ));
            }
            if attr && data_payload_is_markup(t) {
                return Some((
                    "data-url",
                    0.8,
                    "data: URL whose base64 payload is script-running markup",
                ));
            }
            None
        }
    }
}

/// Longest base64 data-URL payload that is decoded and inspected.
const MAX_DATA_PAYLOAD: usize = 4096;

/// Whether a `data:` URL body (after the colon) holds base64 that decodes
/// to markup running script, whatever media type it claims.
fn data_payload_is_markup(t: &[u8]) -> bool {
    let Some(b64) = find_ci(&t[..t.len().min(256)], b"base64") else {
        return false;
    };
    let Some(comma) = memchr::memchr(b',', &t[b64..]) else {
        return false;
    };
    let body = &t[b64 + comma + 1..];
    let mut clean = [0u8; MAX_DATA_PAYLOAD];
    let mut n = 0;
    for &c in body {
        if n == clean.len() {
            break;
        }
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => {
                clean[n] = c;
                n += 1;
            }
            b' ' => {
                // a form-decoded `+`
                clean[n] = b'+';
                n += 1;
            }
            c if c <= b' ' => {}
            _ => break,
        }
    }
    use base64::Engine as _;
    let cfg = base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let engine = base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, cfg);
    let Ok(decoded) = engine.decode(&clean[..n - n % 4]) else {
        return false;
    };
    let d = &decoded[..];
    find_ci(d, b"<script").is_some()
        || find_ci(d, b"javascript:").is_some()
        || Tokenizer::new(d).any(|t| Attrs::new(d, &t).any(|a| is_handler_name(&d[a.name])))
}

fn trim_start_ws(b: &[u8]) -> &[u8] {
    let n = b.iter().position(|&c| c > b' ').unwrap_or(b.len());
    &b[n..]
}

/// Leading bytes browsers skip in an attribute URL, plus stray quotes and
/// backslashes (`\"javascript:…\"`).
fn trim_url_start(b: &[u8]) -> (&[u8], usize) {
    let n = b
        .iter()
        .position(|&c| c > b' ' && !matches!(c, b'`' | b'"' | b'\'' | b'\\'))
        .unwrap_or(b.len());
    (&b[n..], n)
}

/// Checks a URL-valued attribute: a dangerous scheme at the start.
fn check_url_value(b: &[u8], v: Range<usize>, sink: &mut Sink<'_>) {
    let (t, skip) = trim_url_start(&b[v.clone()]);
    let Some(colon) = t.iter().take(64).position(|&c| c == b':') else {
        // `javascript#code`, `javascript&code`: the colon was lost or mangled
        if t.len() > 10
            && t[..10].eq_ignore_ascii_case(b"javascript")
            && !t[10].is_ascii_alphanumeric()
        {
            if let Some((a, _)) = js::scan(&t[11..], Stop::None).action {
                if a != Action::Call {
                    sink.push(
                        "javascript-url",
                        0.6,
                        v.start + skip..v.end,
                        "URL attribute starting with `javascript` and code",
                    );
                }
            }
        }
        return;
    };
    let at = v.start + skip + colon;
    let found = scheme_before(b, at, false).or_else(|| scheme_before(b, at, true));
    if let Some((scheme, start)) = found {
        if start != v.start + skip {
            return;
        }
        if let Some((class, conf, reason)) = judge_url(scheme, &b[at + 1..v.end], true) {
            sink.push(class, conf, start..v.end, reason);
        }
    }
}

/// The part of a name after a namespace prefix (`x:script` → `script`).
fn local_name(name: &[u8]) -> &[u8] {
    match memchr::memrchr(b':', name) {
        Some(p) if p + 1 < name.len() => &name[p + 1..],
        _ => name,
    }
}

/// Whether an attribute name is an event handler: `on` and at least three
/// letters (a namespace prefix and trailing junk such as Gecko's
/// `onload!#$=` tolerated).
fn is_handler_name(name: &[u8]) -> bool {
    let name = local_name(name);
    if !name_starts_with(name, b"on") {
        return false;
    }
    let letters = name
        .iter()
        .skip(2)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    letters >= 3
}

fn is_event(name_after_on: &[u8]) -> bool {
    js::is_event(name_after_on)
}

/// Tags that load or run active content by themselves: (name, confidence, reason).
const ACTIVE_TAGS: &[(&[u8], f32, &str)] = &[
    (b"iframe", 0.8, "frame element loads a document"),
    (b"frame", 0.8, "frame element loads a document"),
    (b"frameset", 0.6, "frameset element replaces the page"),
    (b"object", 0.8, "plugin element loads active content"),
    (b"embed", 0.8, "plugin element loads active content"),
    (b"applet", 0.8, "applet element runs Java"),
    (b"layer", 0.8, "Netscape layer loads a document"),
    (b"ilayer", 0.8, "Netscape layer loads a document"),
    (
        b"svg",
        0.6,
        "inline SVG: foreign content with its own script and animation vectors",
    ),
    (
        b"math",
        0.6,
        "MathML: foreign content parsing used to smuggle markup",
    ),
    (b"xml", 0.6, "IE XML data island"),
    (
        b"handler",
        0.7,
        "SVG/XML Events handler element holds script",
    ),
    (b"listener", 0.7, "XML Events listener binds a handler"),
    (
        b"import",
        0.7,
        "IE <import implementation=…> loads a behaviour",
    ),
    (b"vmlframe", 0.7, "VML frame loads a document"),
    (
        b"isindex",
        0.55,
        "legacy <isindex> can carry action URLs and handlers",
    ),
];

/// Script elements written with look-alike brackets.
fn check_lookalike(b: &[u8], sink: &mut Sink<'_>) {
    // `＜script` (fullwidth, NFKC-normalised by some back ends) and `¼script¾`
    // (US-ASCII pages in old IE dropped the high bit)
    for (marker, conf) in [
        ("\u{ff1c}".as_bytes(), 0.8f32),
        (&[0xbc][..], 0.7),
        (&[0xc2, 0xbc][..], 0.7),
    ] {
        if let Some(p) = memchr::memmem::find(b, marker) {
            if marker.len() < 3 && p > 0 && b[p - 1] >= 0x80 {
                // the second byte of a letter such as Cyrillic `м` (D0 BC)
                continue;
            }
            let after = trim_start_ws(&b[p + marker.len()..]);
            if after.len() >= 6 && after[..6].eq_ignore_ascii_case(b"script") {
                sink.push(
                    "script-tag",
                    conf,
                    p..b.len(),
                    "script element written with look-alike angle brackets",
                );
            }
        }
    }
}

fn check_markup(b: &[u8], sink: &mut Sink<'_>) {
    // loose: `<script` / `</script` anywhere, even inside attribute values and comments
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| memchr::memchr(b'<', r)) {
        let lt = i + p;
        i = lt + 1;
        let (close, ns) = if b.get(lt + 1) == Some(&b'/') {
            (true, lt + 2)
        } else {
            (false, lt + 1)
        };
        let name_end = b[ns.min(b.len())..]
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || c == 0 || c == b':'))
            .map_or(b.len(), |q| ns + q);
        if ns >= name_end || name_end - ns > 24 || !name_is(local_name(&b[ns..name_end]), b"script")
        {
            continue;
        }
        let end = memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |q| lt + q + 1);
        if close {
            sink.push(
                "script-tag",
                0.55,
                lt..end,
                "closes a <script> element: breaks out of an inline script",
            );
        } else {
            sink.push("script-tag", 0.95, lt..end, "opens a <script> element");
            break;
        }
    }
    // DTD internal subsets: entity and attribute-default injection
    if let Some(p) = find_ci(b, b"<!entity").or_else(|| find_ci(b, b"<!attlist")) {
        sink.push(
            "dangerous-tag",
            0.6,
            p..b.len(),
            "DTD declaration injects entities or attribute defaults",
        );
    }

    let mut tok = Tokenizer::new(b);
    while let Some(tag) = tok.next() {
        let full_name = &b[tag.name.clone()];
        let name = local_name(full_name);
        let span = tag.start..tag.end;
        match tag.kind {
            TagKind::End => {
                if ["html", "body", "head"]
                    .iter()
                    .any(|w| name_is(name, w.as_bytes()))
                {
                    sink.push(
                        "dangerous-tag",
                        0.5,
                        span,
                        "document-structure end tag: breaks out of the page structure",
                    );
                }
                continue;
            }
            TagKind::Pi => {
                if name_is(full_name, b"import") || name_starts_with(full_name, b"xml:namespace") {
                    sink.push(
                        "dangerous-tag",
                        0.7,
                        span,
                        "IE <?import> / XML namespace pulls in behaviours",
                    );
                } else if name_is(full_name, b"xml-stylesheet") {
                    sink.push(
                        "dangerous-tag",
                        0.7,
                        span,
                        "<?xml-stylesheet> applies an XSLT or CSS that can run script",
                    );
                }
                continue;
            }
            TagKind::Start => {}
        }
        if name_is(name, b"script") {
            sink.push("script-tag", 0.95, span.clone(), "opens a <script> element");
        } else if let Some(&(_, conf, reason)) =
            ACTIVE_TAGS.iter().find(|(w, _, _)| name_is(name, w))
        {
            sink.push("dangerous-tag", conf, span.clone(), reason);
        } else if name_starts_with(full_name, b"xsl:") || name_starts_with(full_name, b"svg:") {
            sink.push(
                "dangerous-tag",
                0.7,
                span.clone(),
                "namespaced XSLT/SVG element",
            );
        } else if ["html", "body", "head"]
            .iter()
            .any(|w| name_is(name, w.as_bytes()))
        {
            sink.push(
                "dangerous-tag",
                0.5,
                span.clone(),
                "document-structure tag: probes or breaks out of the page structure",
            );
        } else if name_is(name, b"form") {
            sink.push(
                "dangerous-tag",
                0.45,
                span.clone(),
                "injected form can redirect submissions",
            );
        } else if name_is(name, b"style") {
            let end = html::raw_text_end(b, tag.end, b"style");
            if css_is_active(&b[tag.end.min(end)..end], true) {
                sink.push(
                    "style-expression",
                    0.9,
                    tag.start..end,
                    "<style> with script-capable CSS",
                );
            } else {
                sink.push(
                    "dangerous-tag",
                    0.55,
                    span.clone(),
                    "injected <style> element restyles the page",
                );
            }
            tok.skip_to(end);
        }
        let is_meta = name_is(name, b"meta");
        let is_link = name_is(name, b"link");
        let is_base = name_is(name, b"base");
        let mut meta_active = false;
        let mut link_active = false;
        let mut has_href = false;
        for attr in Attrs::new(b, &tag) {
            let an = &b[attr.name.clone()];
            if name_is(an, b"href") {
                has_href = true;
            }
            let Some(v) = attr.value.clone() else {
                if is_meta && name_is(an, b"charset") {
                    meta_active = true;
                }
                continue;
            };
            let val = &b[v.clone()];
            if is_handler_name(an) {
                let stop = match attr.quote {
                    Some(_) => Stop::None,
                    None => Stop::Unquoted,
                };
                match js::scan(val, stop).action {
                    Some((a, r)) => sink.push(
                        "event-handler",
                        action_confidence(a),
                        attr.name.start..(v.start + r.end).min(b.len()),
                        "event-handler attribute whose code calls or assigns",
                    ),
                    None if val.iter().any(|c| c.is_ascii_alphanumeric()) => sink.push(
                        "event-handler",
                        0.7,
                        attr.name.start..v.end,
                        "event-handler attribute with code",
                    ),
                    None if !val.is_empty() => sink.push(
                        "event-handler",
                        0.45,
                        attr.name.start..v.end,
                        "event-handler attribute",
                    ),
                    None => {}
                }
                continue;
            }
            check_url_value(b, v.clone(), sink);
            let lan = local_name(an);
            if name_is(an, b"style") {
                match css_style_attr(val) {
                    CssVerdict::Active => sink.push("style-expression", 0.9, attr.name.start..v.end, "style attribute with script-capable CSS"),
                    CssVerdict::Markup => sink.push("style-expression", 0.8, attr.name.start..v.end, "CSS escapes in a style attribute decode to markup"),
                    CssVerdict::Malformed => sink.push(
                        "style-injection",
                        0.6,
                        attr.name.start..v.end,
                        "malformed style attribute (escapes, braces, open strings or comments) breaks out of its declaration",
                    ),
                    CssVerdict::Plain => {}
                }
            } else if name_is(an, b"srcdoc") && memchr::memchr(b'<', val).is_some() {
                sink.push(
                    "dangerous-tag",
                    0.8,
                    attr.name.start..v.end,
                    "srcdoc attribute holds a document",
                );
            } else if name_is(an, b"dataformatas") && name_is(val, b"html") {
                sink.push(
                    "dangerous-tag",
                    0.6,
                    span.clone(),
                    "IE data binding renders data as HTML",
                );
            } else if name_is(an, b"implementation") || name_is(an, b"behavior") {
                sink.push(
                    "dangerous-tag",
                    0.7,
                    attr.name.start..v.end,
                    "IE behaviour / implementation attribute loads code",
                );
            } else if name_is(an, b"attributename")
                && (is_handler_name(val) || name_is(local_name(val), b"href"))
            {
                sink.push(
                    "event-handler",
                    0.8,
                    attr.name.start..v.end,
                    "SVG animation sets an event handler or link target",
                );
            } else if (an.len() > 3 && name_is(lan, b"event") && lan.len() < an.len())
                || name_is(lan, b"handler")
            {
                sink.push(
                    "event-handler",
                    0.7,
                    attr.name.start..v.end,
                    "XML Events attribute binds a handler",
                );
            } else if is_meta && (name_is(an, b"http-equiv") || name_is(an, b"charset")) {
                meta_active = true;
            } else if is_meta && name_is(an, b"content") {
                if let Some(p) = find_ci(val, b"url=") {
                    check_url_value(b, v.start + p + 4..v.end, sink);
                }
                if let Some(p) = memchr::memchr(b'<', val) {
                    check_url_value(b, v.start + p + 1..v.end, sink);
                }
            } else if is_link && name_is(an, b"rel") {
                link_active =
                    find_ci(val, b"stylesheet").is_some() || find_ci(val, b"import").is_some();
            }
        }
        if is_meta && meta_active {
            sink.push(
                "dangerous-tag",
                0.75,
                span.clone(),
                "<meta http-equiv/charset> changes how the page loads or decodes",
            );
        }
        if is_base && has_href {
            sink.push(
                "dangerous-tag",
                0.8,
                span.clone(),
                "<base href> redirects every relative URL",
            );
        }
        if is_link && has_href && !link_active {
            sink.push(
                "dangerous-tag",
                0.6,
                span.clone(),
                "<link href> in a value: resource or import injection",
            );
        }
        if is_link && link_active {
            sink.push(
                "dangerous-tag",
                0.75,
                span.clone(),
                "<link> loads an external stylesheet or import",
            );
        }
    }
}

// ---------------------------------------------------------------- CSS

/// Normalises CSS into `buf`: lowercase, without comments (outside
/// strings), whitespace, NUL and backslash escapes (`\65` → `e`, `\x` → `x`).
/// Returns the normalised bytes and whether the source was malformed
/// (unterminated string or comment, control bytes).
fn normalize_css<'b>(s: &[u8], buf: &'b mut [u8; CSS_BUF]) -> (&'b [u8], bool) {
    let mut n = 0;
    let mut i = 0;
    let mut quote: Option<u8> = None;
    let mut malformed = false;
    while i < s.len() && n < CSS_BUF {
        let c = s[i];
        if quote.is_none() && c == b'/' && s.get(i + 1) == Some(&b'*') {
            match memchr::memmem::find(&s[i + 2..], b"*/") {
                Some(p) => i += 2 + p + 2,
                None => {
                    malformed = true;
                    i = s.len();
                }
            }
            continue;
        }
        if c == b'\\' {
            let mut j = i + 1;
            let mut v: u32 = 0;
            while j < s.len() && j - i <= 6 && s[j].is_ascii_hexdigit() {
                v = v * 16 + (s[j] as char).to_digit(16).unwrap_or(0);
                j += 1;
            }
            if j > i + 1 {
                if v > 0 && v < 0x80 {
                    buf[n] = (v as u8).to_ascii_lowercase();
                    n += 1;
                }
                if j < s.len() && s[j] <= b' ' {
                    j += 1;
                }
                i = j;
            } else {
                i += 1;
            }
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if c == b'\n' || c == b'\r' => {
                malformed = true;
                quote = None;
            }
            None if c == b'"' || c == b'\'' => {
                // a string glued to a word (`52c8'…'9`) is not CSS
                if i > 0 && s[i - 1].is_ascii_alphanumeric() {
                    malformed = true;
                }
                quote = Some(c);
            }
            _ => {}
        }
        if c < b' ' && !matches!(c, b'\t' | b'\n' | b'\r') || c == 0x7f {
            malformed = true;
        }
        if c > b' ' {
            buf[n] = c.to_ascii_lowercase();
            n += 1;
        }
        i += 1;
    }
    (&buf[..n], malformed || quote.is_some())
}

/// Whether normalised CSS can run script or load behaviour. `sheet` allows
/// `@import` (only meaningful inside a `<style>` element).
fn css_norm_is_active(n: &[u8], sheet: bool) -> bool {
    let has = |w: &[u8]| memchr::memmem::find(n, w).is_some();
    has(b"expression(")
        || has(b"javascript:")
        || has(b"vbscript:")
        || has(b"binding:")
        || has(b"behavior:")
        || has(b"behaviour:")
        || has(b"-o-link:")
        || (sheet && has(b"@import"))
}

fn css_is_active(s: &[u8], sheet: bool) -> bool {
    let mut buf = [0u8; CSS_BUF];
    let (n, _) = normalize_css(s, &mut buf);
    css_norm_is_active(n, sheet)
}

/// What a `style` attribute value does.
enum CssVerdict {
    /// Runs script or binds behaviour.
    Active,
    /// Escapes decode to markup (`\3cimg …`).
    Markup,
    /// Malformed in a way used to break out of the declaration.
    Malformed,
    /// Ordinary declarations.
    Plain,
}

fn css_style_attr(val: &[u8]) -> CssVerdict {
    let mut buf = [0u8; CSS_BUF];
    let (n, malformed) = normalize_css(val, &mut buf);
    if css_norm_is_active(n, false) {
        return CssVerdict::Active;
    }
    let escaped = memchr::memchr(b'\\', val).is_some();
    if escaped && (memchr::memchr(b'<', n).is_some() || is_handler_text(n)) {
        return CssVerdict::Markup;
    }
    let svg_url =
        memchr::memmem::find(n, b"url(").is_some() && memchr::memmem::find(n, b"svg").is_some();
    if malformed
        || escaped
        || svg_url
        || n.iter()
            .any(|&c| matches!(c, b'{' | b'}' | b'[' | b']' | b'<' | b'>'))
    {
        return CssVerdict::Malformed;
    }
    CssVerdict::Plain
}

/// Whether normalised text holds `on<event>=`.
fn is_handler_text(n: &[u8]) -> bool {
    memchr::memmem::find_iter(n, b"on").any(|p| {
        let rest = &n[p + 2..];
        let letters = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        letters >= 3 && rest.get(letters) == Some(&b'=') && is_event(&rest[..letters])
    })
}

/// What a script-running CSS property needs somewhere in the value, in
/// any case (`expression(`, `binding:`, `behavior:`, `-o-link:`): one
/// lowering and four SIMD searches, where a search per candidate first
/// letter would stop at every `e` and `b` of the value.
static CSS_HINTS: std::sync::LazyLock<crate::needles::CiNeedles> = std::sync::LazyLock::new(|| {
    crate::needles::CiNeedles::new(&["ession", "binding", "behavio", "-o-link"])
});

fn check_loose_css(b: &[u8], sink: &mut Sink<'_>) {
    if sink.strong() {
        return;
    }
    if !CSS_HINTS.any_in(b) {
        return;
    }
    let mut buf = [0u8; CSS_BUF];
    let (n, _) = normalize_css(b, &mut buf);
    let found = |w: &[u8]| memchr::memmem::find(n, w).is_some();
    if found(b"expression(")
        || found(b"binding:url")
        || found(b"behavior:url")
        || found(b"behaviour:url")
        || found(b"-o-link:")
    {
        sink.push(
            "style-expression",
            0.85,
            0..b.len(),
            "CSS that runs script or binds behaviour",
        );
    }
}

// ---------------------------------------------------------------- URLs

fn check_schemes(b: &[u8], sink: &mut Sink<'_>) {
    for colon in memchr::memchr_iter(b':', b) {
        let (scheme, start, spaced) = match scheme_before(b, colon, false) {
            Some((s, st)) => (s, st, false),
            None => match scheme_before(b, colon, true) {
                Some((s, st)) => (s, st, true),
                None => {
                    check_mangled_scheme(b, colon, sink);
                    continue;
                }
            },
        };
        // what precedes the scheme: start of value, or a delimiter
        let mut k = start;
        while k > 0 && b[k - 1] <= b' ' {
            k -= 1;
        }
        let prev = if k == 0 { None } else { Some(b[k - 1]) };
        let delimited = match prev {
            None => !spaced,
            Some(c) if spaced => matches!(c, b'=' | b'"' | b'\''),
            Some(c) => {
                matches!(
                    c,
                    b'=' | b'"'
                        | b'\''
                        | b'`'
                        | b'('
                        | b';'
                        | b'?'
                        | b'>'
                        | b'<'
                        | b'['
                        | b','
                        | b'{'
                        | b':'
                ) || (k < start && !c.is_ascii_alphanumeric())
            }
        };
        if !delimited {
            continue;
        }
        let attr = matches!(prev, Some(b'=' | b'"' | b'\'' | b'`'))
            && memchr::memchr(b'<', &b[..k]).is_some();
        let rest = &b[colon + 1..];
        // the URL ends where its attribute value would
        let rest_len = match prev {
            Some(q @ (b'"' | b'\'' | b'`')) => memchr::memchr(q, rest).unwrap_or(rest.len()),
            Some(b'=') => rest
                .iter()
                .position(|&c| c <= b' ' || c == b'>')
                .unwrap_or(rest.len()),
            _ => rest.len(),
        };
        let rest = &rest[..rest_len.min(js::MAX_JS_SCAN)];
        if let Some((class, conf, reason)) = judge_url(scheme, rest, attr) {
            let end = (colon + 1 + rest.len()).min(b.len());
            sink.push(class, conf, start..end, reason);
            if conf >= 0.9 {
                return;
            }
        } else if scheme == Scheme::Script
            && matches!(prev, Some(b'"' | b'\''))
            && is_inert_js_url(rest)
        {
            // `c="javascript:"; … eval(a+b+c+d)`: the URL is assembled by code
            let after = (colon + 1 + rest.len() + 1).min(b.len());
            let tail = &b[after..];
            let evaluates = [&b"eval("[..], b"function(", b"settimeout(", b"setinterval("]
                .iter()
                .any(|w| {
                    find_ci(tail, w).is_some_and(|p| p == 0 || !tail[p - 1].is_ascii_alphanumeric())
                });
            if evaluates {
                sink.push(
                    "javascript-url",
                    0.6,
                    start..b.len(),
                    "script URL assembled from strings and evaluated",
                );
            }
        }
    }
}

/// `<img 6;avascript:alert(1)>`: inside a tag, a scheme ending in `script`
/// whose entity-encoded first letters were mangled, followed by code that
/// acts.
fn check_mangled_scheme(b: &[u8], colon: usize, sink: &mut Sink<'_>) {
    let word_start = b[..colon]
        .iter()
        .rposition(|c| !c.is_ascii_alphabetic())
        .map_or(0, |p| p + 1);
    let word = &b[word_start..colon];
    if word.len() < 7 || !word[word.len() - 6..].eq_ignore_ascii_case(b"script") {
        return;
    }
    // inside a tag: a `<letter` before, no `>` in between
    let Some(lt) = memchr::memrchr(b'<', &b[..word_start]) else {
        return;
    };
    if !b.get(lt + 1).is_some_and(|c| c.is_ascii_alphabetic())
        || memchr::memchr(b'>', &b[lt..word_start]).is_some()
    {
        return;
    }
    if let Some((Action::ProofCall | Action::SinkAssign, _)) =
        js::scan(&b[colon + 1..], Stop::None).action
    {
        sink.push(
            "javascript-url",
            0.6,
            word_start..b.len(),
            "mangled script URL with code inside a tag",
        );
    }
}

// ---------------------------------------------------------------- handlers outside tags

/// `on…=` anywhere: attribute injection into an existing tag
/// (`" onmouseover=alert(1) x="`) or handlers the tokenizer did not see
/// (inside attribute values, after Gecko's `onload!#$%=` junk).
fn check_loose_handlers(b: &[u8], sink: &mut Sink<'_>) {
    if sink.strong() {
        return;
    }
    for eq in memchr::memchr_iter(b'=', b) {
        let mut k = eq;
        while k > 0 && b[k - 1] <= b' ' {
            k -= 1;
        }
        // junk between the name and `=` (Gecko accepted any non-alphanumeric run)
        let junk_end = k;
        while k > 0
            && junk_end - k < 40
            && !b[k - 1].is_ascii_alphanumeric()
            && !matches!(b[k - 1], b'"' | b'\'' | b'<' | b'>' | b'=')
        {
            k -= 1;
        }
        let name_end = k;
        while k > 0 && name_end - k < 40 && b[k - 1].is_ascii_alphabetic() {
            k -= 1;
        }
        let name = &b[k..name_end];
        if name.len() < 5 || !name[..2].eq_ignore_ascii_case(b"on") {
            continue;
        }
        if k > 0
            && !(b[k - 1] <= b' '
                || matches!(
                    b[k - 1],
                    b'/' | b'"' | b'\'' | b'`' | b';' | b'.' | b'\\' | b'+'
                ))
        {
            continue;
        }
        let mut v = eq + 1;
        while v < b.len() && b[v] <= b' ' {
            v += 1;
        }
        while v < b.len() && b[v] == b'\\' {
            v += 1;
        }
        let (stop, vs) = match b.get(v) {
            Some(&q @ (b'"' | b'\'' | b'`')) => (Stop::Quote(q), v + 1),
            _ => (Stop::Unquoted, v),
        };
        let vs = vs.min(b.len());
        let scan = js::scan(&b[vs..], stop);
        let before = &b[..k];
        let in_markup = memchr::memchr3(b'<', b'"', b'\'', before).is_some() || k == 0;
        let (conf, end) = match scan.action {
            Some((a, r)) => (
                if in_markup {
                    action_confidence(a)
                } else {
                    0.75
                },
                vs + r.end,
            ),
            None => {
                let value = &b[vs..vs + scan.end];
                if !is_event(&name[2..]) || !value.iter().any(|c| c.is_ascii_alphanumeric()) {
                    continue;
                }
                (if in_markup { 0.6 } else { 0.45 }, vs + scan.end)
            }
        };
        sink.push(
            "event-handler",
            conf,
            k..end.min(b.len()),
            "injects an event-handler attribute",
        );
        if conf >= 0.9 {
            return;
        }
    }
}

// ---------------------------------------------------------------- JS string breakouts

/// `";alert(1)//`, `'-alert(1)-'`, `');alert(1);('`: a quote closes the
/// string the value lands in, an operator continues the expression, and
/// plausible JavaScript that acts follows.
fn check_breakouts(b: &[u8], sink: &mut Sink<'_>) {
    if sink.strong() {
        return;
    }
    let mut quotes = 0;
    let mut i = 0;
    while let Some(p) = b
        .get(i..)
        .and_then(|r| memchr::memchr3(b'"', b'\'', b'`', r))
    {
        let q_at = i + p;
        i = q_at + 1;
        quotes += 1;
        if quotes > MAX_QUOTES {
            break;
        }
        let q = b[q_at];
        let mut j = q_at + 1;
        let mut closers = 0;
        while j < b.len() && closers < 8 && (b[j] <= b' ' || matches!(b[j], b')' | b']' | b'}')) {
            j += 1;
            closers += 1;
        }
        let Some(&op) = b.get(j) else { continue };
        let ok_op = matches!(
            op,
            b';' | b',' | b'+' | b'-' | b'*' | b'%' | b'|' | b'&' | b'^' | b'?' | b':' | b'\n'
        ) || (op == b'/' && b.get(j + 1) != Some(&b'/'))
            || (closers > 0 && b[j - 1] == b'}');
        if !ok_op {
            continue;
        }
        let body = &b[j..];
        let scan = js::scan_strict(body, Stop::Quote(q));
        let Some((a, r)) = scan.action else { continue };
        if !scan.plausible {
            continue;
        }
        let conf = match a {
            Action::ProofCall | Action::SinkAssign => 0.9,
            Action::Call => 0.45,
        };
        sink.push(
            "js-breakout",
            conf,
            q_at..(j + r.end).min(b.len()),
            "closes a JavaScript string and runs code",
        );
        if conf >= 0.9 {
            return;
        }
    }
}

/// `confirm(1)>`, `"alert(1)">`, `write(1) autofocus>`: the tail of an
/// event-handler value followed by the tag's `>`.
fn check_fragment(b: &[u8], sink: &mut Sink<'_>) {
    if sink.strong() {
        return;
    }
    let (t, skip) = trim_url_start(b);
    let t = &t[..t.len().min(js::MAX_JS_SCAN)];
    let stop = match skip.checked_sub(1).map(|p| b[p]) {
        Some(q @ (b'"' | b'\'' | b'`')) => Stop::Quote(q),
        _ => Stop::Unquoted,
    };
    let scan = js::scan_strict(t, stop);
    let Some((a, r)) = scan.action else { return };
    let lead = &t[..r.start.min(t.len())];
    if !scan.plausible
        || lead
            .iter()
            .any(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'=' | b'.' | b'_' | b'$' | b':')))
    {
        return;
    }
    // after the code: `;`, spaces, `//…`, attribute words, then a quote or `>`
    let mut k = r.end.min(t.len());
    while k < t.len() && (t[k] <= b' ' || t[k] == b';') {
        k += 1;
    }
    if t[k..].starts_with(b"//") {
        k = memchr::memchr(b'>', &t[k..]).map_or(t.len(), |p| k + p);
    }
    while k < t.len()
        && (t[k].is_ascii_alphanumeric()
            || t[k] <= b' '
            || matches!(t[k], b'=' | b'-' | b'"' | b'\''))
    {
        k += 1;
    }
    if t.get(k) != Some(&b'>') {
        return;
    }
    let conf = match a {
        Action::ProofCall | Action::SinkAssign => 0.7,
        Action::Call => 0.45,
    };
    sink.push(
        "event-handler",
        conf,
        skip + r.start..skip + k + 1,
        "handler code closed by the tag's `>`",
    );
}

/// Global objects through which a computed member call reaches any function.
const GLOBALS: &[&[u8]] = &[
    b"top",
    b"self",
    b"window",
    b"parent",
    b"frames",
    b"globalthis",
    b"this",
];

/// Functions whose call *is* the payload of a script-context probe.
const JS_PROBES: &[&[u8]] = &[
    b"alert",
    b"prompt",
    b"confirm",
    b"eval",
    b"settimeout",
    b"setinterval",
    b"execscript",
    b"msgbox",
];

/// The whole value is JavaScript for a script-context reflection:
/// `alert(1)`, `top["al"+"ert"](1)`, `1;alert(1)//` (numeric context).
fn check_js_value(b: &[u8], sink: &mut Sink<'_>) {
    if sink.strong() {
        return;
    }
    let t = trim_start_ws(b);
    let skip = b.len() - t.len();
    let scan = js::scan_strict(t, Stop::None);
    let Some((a, r)) = scan.action else { return };
    if !scan.plausible {
        return;
    }
    let lead_len = t
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'.')
        .count();
    let after_lead = trim_start_ws(&t[lead_len..]);
    let numeric_breakout = lead_len > 0 && after_lead.first() == Some(&b';');
    let global_lead = t.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let computed_global = GLOBALS
        .iter()
        .any(|g| g.eq_ignore_ascii_case(&t[..global_lead]))
        && trim_start_ws(&t[global_lead..]).first() == Some(&b'[');
    // only calls with no business in a form value on their own; `print(x)`
    // or `open(f)` are everyday code in other languages
    let callee = &t[r.start.min(t.len())..];
    let callee_len = callee
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let probe = JS_PROBES
        .iter()
        .any(|w| w.eq_ignore_ascii_case(&callee[..callee_len]));
    let conf = match a {
        Action::ProofCall | Action::SinkAssign if numeric_breakout => 0.8,
        Action::ProofCall if probe => 0.6,
        Action::Call if computed_global => 0.6,
        _ => return,
    };
    sink.push(
        "js-payload",
        conf,
        skip + r.start..skip + r.end,
        "the value is JavaScript calling an eval/alert-type function: a script-context payload",
    );
}

/// `scriptalert(1)/script`: a script element whose angle brackets a filter
/// stripped; the value is a probe for a reflection point.
fn check_stripped_script(b: &[u8], sink: &mut Sink<'_>) {
    if find_ci(b, b"/script").is_none() {
        return;
    }
    let Some(open) = find_ci(b, b"script") else {
        return;
    };
    let body_start = open + 6;
    let Some(close) = find_ci(&b[body_start..], b"/script") else {
        return;
    };
    let body = &b[body_start..body_start + close];
    let body = body.strip_prefix(b">").unwrap_or(body);
    let scan = js::scan(body, Stop::None);
    if let Some((Action::ProofCall | Action::SinkAssign, _)) = scan.action {
        if scan.plausible || body.first().is_some_and(|c| c.is_ascii_alphabetic()) {
            sink.push(
                "script-tag",
                0.6,
                open..body_start + close + 7,
                "script element with its angle brackets stripped",
            );
        }
    }
}

// ---------------------------------------------------------------- templates and entities

/// Words that reach the `Function` constructor or AngularJS internals.
const TEMPLATE_ESCAPES: &[&[u8]] = &[
    b"constructor",
    b"$eval",
    b"$on",
    b"$parse",
    b"__proto__",
    b"$apply",
    b"$emit",
];

fn check_templates(b: &[u8], sink: &mut Sink<'_>) {
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| memchr::memmem::find(r, b"{{")) {
        let open = i + p;
        let body_start = open + 2;
        let lim = (body_start + MAX_TEMPLATE).min(b.len());
        let body_end =
            memchr::memmem::find(&b[body_start..lim], b"}}").map_or(lim, |q| body_start + q);
        let body = &b[body_start..body_end];
        i = body_end.max(open + 2);
        let escape = TEMPLATE_ESCAPES.iter().any(|w| find_ci(body, w).is_some());
        let scan = js::scan(body, Stop::None);
        let conf = match (escape, scan.action) {
            (true, Some(_)) => 0.95,
            (true, None) => 0.6,
            (false, Some((Action::ProofCall | Action::SinkAssign, _))) => 0.8,
            _ => continue,
        };
        sink.push(
            "template-injection",
            conf,
            open..(body_end + 2).min(b.len()),
            "template expression reaches the Function constructor or runs code",
        );
        if conf >= 0.9 {
            return;
        }
    }
}

/// Netscape JavaScript entities `&{…};` (and the `&{()}` of the classic
/// XSS locator probe).
fn check_js_entity(b: &[u8], sink: &mut Sink<'_>) {
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| memchr::memmem::find(r, b"&{")) {
        let at = i + p;
        i = at + 2;
        let end = memchr::memchr(b'}', &b[at..]).map_or(b.len(), |q| at + q);
        let body = &b[at + 2..end];
        let span = at..(end + 1).min(b.len());
        if let Some((a, _)) = js::scan(body, Stop::None).action {
            sink.push(
                "js-entity",
                action_confidence(a) - 0.15,
                span,
                "Netscape &{…} entity runs code",
            );
            return;
        }
        if memchr::memchr(b'(', body).is_some() {
            sink.push(
                "js-entity",
                0.6,
                span,
                "Netscape &{…} entity with call syntax (XSS locator probe)",
            );
            return;
        }
    }
}

/// UTF-7 encoded markup: `+ADw-` is `<`, `+AD4-` is `>` (the `+` may have
/// been form-decoded to a space).
fn check_utf7(b: &[u8], sink: &mut Sink<'_>) {
    for dash in memchr::memchr_iter(b'-', b) {
        if dash < 3 || !b[dash - 3..dash].eq_ignore_ascii_case(b"adw") {
            continue;
        }
        let at = dash - 3;
        if at > 0 && !matches!(b[at - 1], b'+' | b' ') {
            continue;
        }
        let rest = &b[at + 4..];
        let word_end = rest
            .iter()
            .position(|c| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        if word_end == 0 {
            continue;
        }
        if name_is(&rest[..word_end], b"script") {
            sink.push(
                "script-tag",
                0.85,
                at.saturating_sub(1)..at + 4 + word_end,
                "UTF-7 encoded <script>",
            );
            return;
        }
        if find_ci(rest, b"ad4-").is_some() {
            sink.push(
                "dangerous-tag",
                0.6,
                at.saturating_sub(1)..b.len(),
                "UTF-7 encoded markup",
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(s: &str) -> Vec<Hit> {
        let input = crate::Input::new(s.as_bytes());
        let mut out = Vec::new();
        XssDetector::default().detect(&input.views()[0], &mut out);
        out
    }

    fn blocks(s: &str) -> bool {
        hits(s).iter().any(|h| h.confidence >= 0.5)
    }

    #[test]
    fn attacks_block() {
        for s in [
            "<script>alert(1)</script>",
            "<svg/onload=alert(1)>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"java\tscript:alert(1)\">x</a>",
            "\";alert(1)//",
            "'-alert(1)-'",
            "{{constructor.constructor('alert(1)')()}}",
            "<div style=\"width: expr/**/ession(alert(1))\">",
            "\" onmouseover=alert(1) x=\"",
            "<iframe src=//evil>",
        ] {
            assert!(blocks(s), "{s}");
        }
    }

    #[test]
    fn benign_look_alikes_pass() {
        for s in [
            "a < b and c > d",
            "I <3 you",
            "if (a<b) {x}",
            "Hello {{name}}",
            "<john@example.com>",
            "<b>bold</b> and <i>it</i>",
            "<a href=\"https://example.com/\">link</a>",
            "O'Reilly said \"hi\"; call(me) later",
        ] {
            assert!(!blocks(s), "{s}: {:?}", hits(s));
        }
    }

    #[test]
    fn css_normalisation() {
        let mut buf = [0u8; CSS_BUF];
        assert_eq!(
            normalize_css(b"Ex/**/pr\\65ssion (", &mut buf),
            (&b"expression("[..], false)
        );
        let mut buf = [0u8; CSS_BUF];
        assert!(normalize_css(b"font-family:'foo", &mut buf).1);
    }

    #[test]
    fn scheme_reading() {
        assert!(scheme_before(b"java\n\0script:", 12, false).is_some());
        assert!(scheme_before(b"https:", 5, false).is_none());
        assert!(scheme_before(b"jav ascript:", 11, true).is_some());
        assert!(scheme_before(b"jav ascript:", 11, false).is_none());
    }
}
