//! A tiny JavaScript token scanner: does a snippet *do* something?
//!
//! The XSS detector never asks "does this contain the word `alert`"; it asks
//! whether the bytes, read as JavaScript, contain an action: a call
//! (`f(…)`, `a.b['c'](…)`, `(0,eval)(…)`), a tagged template call
//! (`` alert`1` ``), or an assignment to a script sink (`location=…`,
//! `document.cookie=…`, `x.innerHTML=…`, `onerror=alert`).
//!
//! The scanner is a flat loop over bytes with no recursion; it reads at most
//! [`MAX_JS_SCAN`] bytes of a snippet, so the work per call is bounded.

use std::ops::Range;

/// Bytes of one snippet the scanner reads at most.
pub(crate) const MAX_JS_SCAN: usize = 512;

/// Keywords that take a parenthesis without being a call (`if (…)`), or
/// operator keywords (`typeof`, `void`) that make a following `(…)` harmless.
const NON_CALL_KEYWORDS: &[&[u8]] = &[
    b"if",
    b"for",
    b"while",
    b"switch",
    b"catch",
    b"with",
    b"function",
    b"return",
    b"typeof",
    b"void",
    b"delete",
    b"in",
    b"of",
    b"do",
    b"else",
    b"case",
    b"instanceof",
    b"await",
    b"yield",
    b"async",
];

/// Keywords that act as operators between values (so `x in y` or `new F`
/// are not two adjacent values).
const OPERATOR_KEYWORDS: &[&[u8]] = &[
    b"new",
    b"typeof",
    b"void",
    b"delete",
    b"in",
    b"of",
    b"instanceof",
    b"throw",
    b"return",
    b"await",
    b"yield",
    b"case",
    b"else",
    b"do",
    b"var",
    b"let",
    b"const",
    b"function",
    b"if",
    b"for",
    b"while",
    b"with",
    b"switch",
    b"try",
    b"catch",
    b"finally",
];

/// Identifiers whose assignment changes what the page does.
const SINK_NAMES: &[&[u8]] = &[
    b"location",
    b"href",
    b"cookie",
    b"innerhtml",
    b"outerhtml",
    b"src",
    b"srcdoc",
    b"domain",
    b"action",
    b"formaction",
    b"onerror",
    b"onload",
    b"onclick",
    b"onmouseover",
    b"onfocus",
    b"onbeforeunload",
    b"onhashchange",
    b"onmessage",
    b"onunload",
    b"textcontent",
    b"innertext",
    b"adjacenthtml",
    b"data",
    b"name",
    b"opener",
    b"protocol",
    b"pathname",
    b"hash",
    b"search",
];

/// DOM event names (without `on`): a handler attribute with one of these
/// names runs its value as script.
pub(crate) const EVENTS: &[&[u8]] = &[
    b"abort",
    b"activate",
    b"afterprint",
    b"afterscriptexecute",
    b"animationcancel",
    b"animationend",
    b"animationiteration",
    b"animationstart",
    b"auxclick",
    b"beforeactivate",
    b"beforecopy",
    b"beforecut",
    b"beforedeactivate",
    b"beforeinput",
    b"beforepaste",
    b"beforeprint",
    b"beforescriptexecute",
    b"beforetoggle",
    b"beforeunload",
    b"begin",
    b"blur",
    b"bounce",
    b"canplay",
    b"canplaythrough",
    b"change",
    b"click",
    b"close",
    b"contextmenu",
    b"copy",
    b"cuechange",
    b"cut",
    b"dblclick",
    b"deactivate",
    b"drag",
    b"dragend",
    b"dragenter",
    b"dragleave",
    b"dragover",
    b"dragstart",
    b"drop",
    b"durationchange",
    b"end",
    b"ended",
    b"error",
    b"errorupdate",
    b"filterchange",
    b"finish",
    b"focus",
    b"focusin",
    b"focusout",
    b"formdata",
    b"fullscreenchange",
    b"hashchange",
    b"help",
    b"input",
    b"invalid",
    b"keydown",
    b"keypress",
    b"keyup",
    b"load",
    b"loadeddata",
    b"loadedmetadata",
    b"loadend",
    b"loadstart",
    b"message",
    b"mousedown",
    b"mouseenter",
    b"mouseleave",
    b"mousemove",
    b"mouseout",
    b"mouseover",
    b"mouseup",
    b"mousewheel",
    b"move",
    b"pagehide",
    b"pageshow",
    b"paste",
    b"pause",
    b"play",
    b"playing",
    b"pointerdown",
    b"pointerenter",
    b"pointerleave",
    b"pointermove",
    b"pointerout",
    b"pointerover",
    b"pointerrawupdate",
    b"pointerup",
    b"popstate",
    b"progress",
    b"propertychange",
    b"ratechange",
    b"readystatechange",
    b"repeat",
    b"reset",
    b"resize",
    b"scroll",
    b"scrollend",
    b"search",
    b"seeked",
    b"seeking",
    b"select",
    b"selectionchange",
    b"selectstart",
    b"show",
    b"start",
    b"stalled",
    b"storage",
    b"submit",
    b"suspend",
    b"timer",
    b"timeupdate",
    b"toggle",
    b"touchend",
    b"touchmove",
    b"touchstart",
    b"transitioncancel",
    b"transitionend",
    b"transitionrun",
    b"transitionstart",
    b"unload",
    b"volumechange",
    b"waiting",
    b"wheel",
];

/// Whether a name (without its `on` prefix) is a DOM event.
pub(crate) fn is_event(name_after_on: &[u8]) -> bool {
    EVENTS.iter().any(|e| e.eq_ignore_ascii_case(name_after_on))
}

/// Global functions that only make sense as an attack proof or code loader
/// inside injected markup; a call to one raises confidence.
const PROOF_CALLS: &[&[u8]] = &[
    b"alert",
    b"prompt",
    b"confirm",
    b"eval",
    b"function",
    b"settimeout",
    b"setinterval",
    b"fromcharcode",
    b"atob",
    b"write",
    b"writeln",
    b"open",
    b"fetch",
    b"import",
    b"execscript",
    b"msgbox",
    b"constructor",
    b"print",
    b"importscripts",
    b"createelement",
    b"appendchild",
];

/// What kind of action the scanner found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// A call of an ordinary identifier or expression.
    Call,
    /// A call of a function used by attack proofs and loaders (`alert`, `eval`, …).
    ProofCall,
    /// An assignment to a navigation, cookie or markup sink.
    SinkAssign,
}

/// The first action found in a snippet and whether the snippet is
/// syntactically plausible JavaScript up to its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JsScan {
    /// The strongest action found, with its span (relative to the snippet).
    pub action: Option<(Action, Range<usize>)>,
    /// False when two values stand side by side on one line (`call(me) later`),
    /// or a byte that cannot appear in JavaScript outside strings shows up.
    pub plausible: bool,
    /// Where scanning stopped (relative to the snippet).
    pub end: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Start,
    /// An identifier (value) starting at this offset, with its length.
    Ident(usize, usize),
    /// A value that is not an identifier (number, string, regex, template).
    Value,
    Open,
    /// `)` or `]`.
    Close,
    /// `}`.
    CloseBrace,
    Op,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80
}

fn is_ident_char(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

fn in_list(list: &[&[u8]], word: &[u8]) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// How a scan stops early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Read to the end (or [`MAX_JS_SCAN`]).
    None,
    /// Stop at this quote byte outside strings (the attribute or string
    /// the snippet lives in ends there).
    Quote(u8),
    /// Stop at unquoted whitespace or `>` (an unquoted attribute value).
    Unquoted,
}

/// Scans `s` as JavaScript. `stop` says where the enclosing context ends.
pub(crate) fn scan(s: &[u8], stop: Stop) -> JsScan {
    scan_impl(s, stop, false)
}

/// Like [`scan`], but gives up (with `plausible == false`) at the first
/// sign that the snippet is not JavaScript: callers that need plausible
/// code save the rest of the work.
pub(crate) fn scan_strict(s: &[u8], stop: Stop) -> JsScan {
    scan_impl(s, stop, true)
}

fn scan_impl(s: &[u8], stop: Stop, strict: bool) -> JsScan {
    let s = &s[..s.len().min(MAX_JS_SCAN)];
    let mut i = 0;
    let mut prev = Tok::Start;
    let mut plausible = true;
    let mut best: Option<(Action, Range<usize>)> = None;
    let mut newline_since_prev = false;
    while i < s.len() {
        if strict && !plausible {
            break;
        }
        let c = s[i];
        match stop {
            Stop::Quote(q) if c == q => break,
            Stop::Unquoted if c == b'>' || c.is_ascii_whitespace() => break,
            _ => {}
        }
        // whitespace and control bytes
        if c <= b' ' {
            if c == b'\n' || c == b'\r' {
                newline_since_prev = true;
            }
            i += 1;
            continue;
        }
        let adjacent_value =
            !newline_since_prev && matches!(prev, Tok::Ident(..) | Tok::Value | Tok::Close);
        let start = i;
        let tok;
        match c {
            b'/' if s.get(i + 1) == Some(&b'/') => {
                // line comment: ends the snippet for our purposes
                i = s.len();
                break;
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                match memchr::memmem::find(&s[i + 2..], b"*/") {
                    Some(p) => i += 2 + p + 2,
                    None => i = s.len(),
                }
                continue;
            }
            b'<' if s[i..].starts_with(b"<!--") => {
                i = s.len();
                break;
            }
            b'/' if !matches!(prev, Tok::Ident(..) | Tok::Value | Tok::Close) => {
                // regex literal
                i += 1;
                while i < s.len() && s[i] != b'/' && s[i] != b'\n' {
                    if s[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(s.len());
                while i < s.len() && s[i].is_ascii_alphabetic() {
                    i += 1;
                }
                tok = Tok::Value;
            }
            b'\'' | b'"' => {
                i += 1;
                // To the closing quote or the end of the line, skipping
                // escapes; one SIMD search per stop.
                while let Some(k) = memchr::memchr3(c, b'\n', b'\\', &s[i.min(s.len())..]) {
                    i += k;
                    if s[i] != b'\\' {
                        break;
                    }
                    i += 2;
                }
                if i < s.len() && s[i] != c && s[i] != b'\n' {
                    // Only reachable with no stop found: the literal runs
                    // to the end.
                    i = s.len();
                }
                i = (i + 1).min(s.len());
                tok = Tok::Value;
            }
            b'`' => {
                if matches!(prev, Tok::Ident(..) | Tok::Close) && !prev_is_keyword(s, prev) {
                    let proof =
                        matches!(prev, Tok::Ident(p, l) if in_list(PROOF_CALLS, &s[p..p + l]));
                    let a = if proof {
                        Action::ProofCall
                    } else {
                        Action::Call
                    };
                    if better(&best, a) {
                        record(a, call_span(s, prev, i), &mut best);
                    }
                }
                i += 1;
                while i < s.len() && s[i] != b'`' {
                    if s[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(s.len());
                // a tagged template is a call, not a second value
                prev = Tok::Value;
                newline_since_prev = false;
                continue;
            }
            b'0'..=b'9' => {
                while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.' || s[i] == b'_')
                {
                    i += 1;
                }
                tok = Tok::Value;
            }
            c if is_ident_start(c)
                || (c == b'\\' && s.get(i + 1).is_some_and(|d| d.is_ascii_alphanumeric())) =>
            {
                // identifiers may hold escapes (`\u0061lert`, and the octal-looking
                // `\061lert` that old engines accepted)
                while i < s.len()
                    && (is_ident_char(s[i])
                        || (s[i] == b'\\'
                            && s.get(i + 1).is_some_and(|d| d.is_ascii_alphanumeric())))
                {
                    i += 1;
                }
                let word = &s[start..i];
                if word.eq_ignore_ascii_case(b"throw") {
                    // `onerror=alert;throw 1`: throwing hands a value to a handler
                    let rest = &s[i..];
                    if rest
                        .iter()
                        .any(|c| c.is_ascii_alphanumeric() || matches!(c, b'\'' | b'"' | b'`'))
                        && better(&best, Action::Call)
                    {
                        record(Action::Call, start..i, &mut best);
                    }
                }
                if in_list(OPERATOR_KEYWORDS, word) {
                    // operator keywords never count as adjacent values
                    prev = Tok::Op;
                    // but remember `function`-like keywords for the `(` check
                    if in_list(NON_CALL_KEYWORDS, word) {
                        prev = Tok::Ident(start, i - start);
                    }
                    newline_since_prev = false;
                    continue;
                }
                tok = Tok::Ident(start, i - start);
            }
            b'(' => {
                if matches!(prev, Tok::Ident(..) | Tok::Close) && !prev_is_keyword(s, prev) {
                    let proof =
                        matches!(prev, Tok::Ident(p, l) if in_list(PROOF_CALLS, &s[p..p + l]));
                    let a = if proof {
                        Action::ProofCall
                    } else {
                        Action::Call
                    };
                    if better(&best, a) {
                        record(a, call_span(s, prev, i), &mut best);
                    }
                }
                i += 1;
                prev = Tok::Open;
                newline_since_prev = false;
                continue;
            }
            b'[' | b'{' => {
                i += 1;
                prev = Tok::Open;
                newline_since_prev = false;
                continue;
            }
            b')' | b']' => {
                i += 1;
                prev = Tok::Close;
                newline_since_prev = false;
                continue;
            }
            b'}' => {
                i += 1;
                prev = Tok::CloseBrace;
                newline_since_prev = false;
                continue;
            }
            b'=' => {
                let next = s.get(i + 1).copied();
                if next != Some(b'=') && next != Some(b'>') {
                    if let Tok::Ident(p, l) = prev {
                        let word = &s[p..p + l];
                        if in_list(SINK_NAMES, word)
                            || (word.len() > 4
                                && word[..2].eq_ignore_ascii_case(b"on")
                                && is_event(&word[2..]))
                        {
                            record(Action::SinkAssign, p..i + 1, &mut best);
                        }
                    }
                }
                while i < s.len() && matches!(s[i], b'=' | b'>') {
                    i += 1;
                }
                prev = Tok::Op;
                newline_since_prev = false;
                continue;
            }
            b'+' | b'-' | b'*' | b'%' | b'!' | b'~' | b'?' | b':' | b';' | b',' | b'.' | b'<'
            | b'>' | b'&' | b'|' | b'^' | b'/' => {
                // `x += …` counts as assignment to x
                if c != b'.' && s.get(i + 1) == Some(&b'=') && s.get(i + 2) != Some(&b'=') {
                    if let Tok::Ident(p, l) = prev {
                        if in_list(SINK_NAMES, &s[p..p + l]) {
                            record(Action::SinkAssign, p..i + 2, &mut best);
                        }
                    }
                }
                i += 1;
                if c == b';' {
                    // a statement boundary resets adjacency
                    newline_since_prev = true;
                    prev = Tok::Op;
                    continue;
                }
                prev = Tok::Op;
                newline_since_prev = false;
                continue;
            }
            b'\\' | b'#' | b'@' => {
                plausible = false;
                i += 1;
                prev = Tok::Op;
                continue;
            }
            _ => {
                i += 1;
                prev = Tok::Op;
                continue;
            }
        }
        if adjacent_value {
            plausible = false;
        }
        prev = tok;
        newline_since_prev = false;
    }
    JsScan {
        action: best,
        plausible,
        end: i.min(s.len()),
    }
}

fn rank(a: Action) -> u8 {
    match a {
        Action::Call => 0,
        Action::SinkAssign => 1,
        Action::ProofCall => 2,
    }
}

/// Whether finding `a` would improve on `best`.
fn better(best: &Option<(Action, Range<usize>)>, a: Action) -> bool {
    best.as_ref().is_none_or(|(b, _)| rank(a) > rank(*b))
}

fn record(a: Action, r: Range<usize>, best: &mut Option<(Action, Range<usize>)>) {
    if better(best, a) {
        *best = Some((a, r));
    }
}

fn prev_is_keyword(s: &[u8], prev: Tok) -> bool {
    match prev {
        Tok::Ident(p, l) => in_list(NON_CALL_KEYWORDS, &s[p..p + l]),
        _ => false,
    }
}

fn call_span(s: &[u8], prev: Tok, paren: usize) -> Range<usize> {
    let start = match prev {
        Tok::Ident(p, _) => p,
        _ => paren.saturating_sub(1),
    };
    // extend to the matching close paren, bounded by the snippet
    let mut depth = 0usize;
    let mut end = paren;
    for (k, &c) in s.iter().enumerate().skip(paren) {
        match c {
            b'(' | b'`' if k == paren => depth += 1,
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    end = k + 1;
                    break;
                }
            }
            _ => {}
        }
        end = k + 1;
    }
    start..end.max(paren + 1).min(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(s: &str) -> Option<Action> {
        scan(s.as_bytes(), Stop::None).action.map(|(a, _)| a)
    }

    #[test]
    fn calls_and_sinks() {
        assert_eq!(action("alert(1)"), Some(Action::ProofCall));
        assert_eq!(action("alert`1`"), Some(Action::ProofCall));
        assert_eq!(action("foo.bar(1)"), Some(Action::Call));
        assert_eq!(action("x['y'](1)"), Some(Action::Call));
        assert_eq!(action("(0,eval)('x')"), Some(Action::Call));
        assert_eq!(action("location='//evil'"), Some(Action::SinkAssign));
        assert_eq!(action("document.cookie=true"), Some(Action::SinkAssign));
        assert_eq!(action("onerror=alert;throw 1"), Some(Action::SinkAssign));
    }

    #[test]
    fn non_actions() {
        assert_eq!(action("if (a<b) {x}"), None);
        assert_eq!(action("void(0)"), None);
        assert_eq!(action("a == b"), None);
        assert_eq!(action("x = 1"), None);
        assert_eq!(action("hello world"), None);
        assert_eq!(action("'alert(1)'"), None);
    }

    #[test]
    fn plausibility() {
        assert!(scan(b"alert(1)-'", Stop::None).plausible);
        assert!(!scan(b"call(me) later", Stop::None).plausible);
        assert!(scan(b"a=1;b(2)", Stop::None).plausible);
        assert!(!scan(b"DROP TABLE users", Stop::None).plausible);
        let strict = scan_strict(b"DROP TABLE users; alert(1)", Stop::None);
        assert!(!strict.plausible && strict.action.is_none());
    }

    #[test]
    fn stops() {
        let r = scan(b"alert(1)\" x", Stop::Quote(b'"'));
        assert_eq!(r.end, 8);
        let r = scan(b"alert(1) autofocus", Stop::Unquoted);
        assert_eq!(r.end, 8);
    }
}
