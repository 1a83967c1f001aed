//! SecLang operators (`@rx`, `@pm`, …), compiled once and evaluated per value.
//!
//! Operator arguments may hold macros (`@within %{tx.allowed_methods}`):
//! they are parsed once at compile time and expanded at most once per rule
//! evaluation through an [`OpArg`]; regex/phrase operators with macros are
//! refused at compile time (they would need a compile per request).
//!
//! Regexes follow ModSecurity on bytes: Unicode off, `(?s)` and `(?m)` on,
//! `\x{HH}` meaning the raw byte `HH`. Patterns the `regex` crate cannot
//! compile (lookaround, backreferences: PCRE-only syntax) are errors that
//! name the reason, never silently skipped.

use std::cell::OnceCell;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;

use crate::engine::prefilter;
use crate::ir::Template;
use wafio_detect::{DetectorKind, DetectorSet};

/// Limits on compiling operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorLimits {
    /// Compiled size limit of one regex (default 16 MiB).
    pub regex_size: usize,
    /// Lazy-DFA cache limit of one regex (default 2 MiB).
    pub regex_dfa_size: usize,
    /// Largest `@pmFromFile`/`@ipMatchFromFile` file (default 8 MiB).
    pub data_file_bytes: u64,
}

impl Default for OperatorLimits {
    fn default() -> Self {
        OperatorLimits {
            regex_size: 16 << 20,
            regex_dfa_size: 2 << 20,
            data_file_bytes: 8 << 20,
        }
    }
}

/// Why an operator does not compile.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The operator name is unknown.
    #[error("unknown operator @{0}")]
    Unknown(String),
    /// The operator exists in ModSecurity but this engine does not run it.
    #[error("operator @{0} is not supported by this engine ({1})")]
    Unsupported(String, &'static str),
    /// The regex does not compile.
    #[error("regex does not compile: {0}")]
    Regex(String),
    /// The argument is not valid for the operator.
    #[error("@{op}: invalid argument {arg:?}: {why}")]
    Argument {
        /// The operator.
        op: &'static str,
        /// The argument.
        arg: String,
        /// What is wrong.
        why: String,
    },
    /// A data file could not be read.
    #[error("@{op}: cannot read {path}: {why}")]
    DataFile {
        /// The operator.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        why: String,
    },
}

/// The operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperatorKind {
    /// `@rx`: regular expression.
    Rx,
    /// `@pm`: any of space-separated phrases, case-insensitive.
    Pm,
    /// `@pmFromFile` / `@pmf`: phrases from files.
    PmFromFile,
    /// `@detectSQLi`: the wafio SQL injection detector.
    DetectSqli,
    /// `@detectXSS`: the wafio XSS detector.
    DetectXss,
    /// `@within`: the value occurs in the argument.
    Within,
    /// `@streq`: equal strings.
    Streq,
    /// `@eq`: equal integers.
    Eq,
    /// `@ge`.
    Ge,
    /// `@gt`.
    Gt,
    /// `@lt`.
    Lt,
    /// `@le`.
    Le,
    /// `@beginsWith`.
    BeginsWith,
    /// `@endsWith`.
    EndsWith,
    /// `@contains`.
    Contains,
    /// `@containsWord`: the argument as a whole word.
    ContainsWord,
    /// `@strmatch`: substring.
    StrMatch,
    /// `@ipMatch`: addresses and CIDR blocks.
    IpMatch,
    /// `@ipMatchFromFile` / `@ipMatchF`.
    IpMatchFromFile,
    /// `@validateByteRange`: a byte outside the ranges.
    ValidateByteRange,
    /// `@validateUrlEncoding`: an invalid `%` escape.
    ValidateUrlEncoding,
    /// `@validateUtf8Encoding`: invalid UTF-8.
    ValidateUtf8Encoding,
    /// `@unconditionalMatch`.
    UnconditionalMatch,
    /// `@noMatch`.
    NoMatch,
}

const NAMES: &[(&str, OperatorKind)] = &[
    ("rx", OperatorKind::Rx),
    ("pm", OperatorKind::Pm),
    ("pmFromFile", OperatorKind::PmFromFile),
    ("pmf", OperatorKind::PmFromFile),
    ("detectSQLi", OperatorKind::DetectSqli),
    ("detectXSS", OperatorKind::DetectXss),
    ("within", OperatorKind::Within),
    ("streq", OperatorKind::Streq),
    ("eq", OperatorKind::Eq),
    ("ge", OperatorKind::Ge),
    ("gt", OperatorKind::Gt),
    ("lt", OperatorKind::Lt),
    ("le", OperatorKind::Le),
    ("beginsWith", OperatorKind::BeginsWith),
    ("endsWith", OperatorKind::EndsWith),
    ("contains", OperatorKind::Contains),
    ("containsWord", OperatorKind::ContainsWord),
    ("strmatch", OperatorKind::StrMatch),
    ("ipMatch", OperatorKind::IpMatch),
    ("ipMatchFromFile", OperatorKind::IpMatchFromFile),
    ("ipMatchF", OperatorKind::IpMatchFromFile),
    ("validateByteRange", OperatorKind::ValidateByteRange),
    ("validateUrlEncoding", OperatorKind::ValidateUrlEncoding),
    ("validateUtf8Encoding", OperatorKind::ValidateUtf8Encoding),
    ("unconditionalMatch", OperatorKind::UnconditionalMatch),
    ("noMatch", OperatorKind::NoMatch),
];

/// ModSecurity operators this engine refuses, with the reason.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("rbl", "it makes DNS queries per request"),
    ("geoLookup", "use the proxy's GeoIP blocking"),
    ("inspectFile", "it runs external programs"),
    ("fuzzyHash", "ssdeep is not built in"),
    ("verifyCC", "not implemented"),
    ("verifyCPF", "not implemented"),
    ("verifySSN", "not implemented"),
    ("verifySVNR", "not implemented"),
    ("gsbLookup", "not implemented"),
    ("rsub", "not implemented"),
];

impl OperatorKind {
    /// Looks an operator up by name (without `@`), case-insensitively.
    pub fn from_name(name: &str) -> Option<OperatorKind> {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, k)| k)
    }

    /// The canonical name (without `@`).
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|&&(_, k)| k == self)
            .map(|&(n, _)| n)
            .unwrap_or("rx")
    }
}

impl fmt::Display for OperatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.name())
    }
}

/// A compiled operator.
#[derive(Clone, Debug)]
pub struct Operator {
    kind: OperatorKind,
    negated: bool,
    /// The argument as written (macros unexpanded).
    arg: String,
    /// The argument's macros, parsed, when it has any.
    template: Option<Template>,
    data: Data,
    /// Literals of which every positive match contains one (see
    /// [`crate::engine::prefilter`]).
    needles: Option<Vec<Vec<u8>>>,
    /// For a regex without `needles`: literals of which every positive
    /// match on a plain value contains one (see
    /// [`prefilter::plain_needles`]).
    plain_needles: Option<Vec<Vec<u8>>>,
    /// Bytes of which every positive match contains one.
    required: Option<prefilter::ByteSet>,
}

#[derive(Clone, Debug)]
enum Data {
    None,
    Regex(LazyRegex),
    Phrases(AhoCorasick),
    Detector(std::sync::Arc<DetectorSet>),
    Ips(Vec<(IpAddr, u8)>),
    Bytes([bool; 256]),
    Int(i64),
}

/// What a successful match saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matched {
    /// The matched part (regex match, phrase, detector evidence), or the value.
    pub data: Vec<u8>,
    /// Capture groups 0–9 of `@rx` (only when asked for).
    pub captures: Vec<Vec<u8>>,
}

/// The argument of an operator for one evaluation: macros are expanded on
/// first use and the result is kept for every value the rule inspects.
pub struct OpArg<'a> {
    expand: &'a dyn Fn(&Template) -> Vec<u8>,
    value: OnceCell<Vec<u8>>,
}

impl<'a> OpArg<'a> {
    /// An argument whose macros `expand` resolves.
    pub fn new(expand: &'a dyn Fn(&Template) -> Vec<u8>) -> OpArg<'a> {
        OpArg {
            expand,
            value: OnceCell::new(),
        }
    }

    fn get(&self, t: &Template) -> &[u8] {
        self.value.get_or_init(|| (self.expand)(t))
    }
}

/// Whether a string holds a `%{…}` macro.
pub fn has_macro(s: &str) -> bool {
    s.find("%{").is_some_and(|i| s[i..].contains('}'))
}

impl Operator {
    /// Compiles an operator. `base` is the directory of the rule file, for
    /// the relative paths of `@pmFromFile`.
    pub fn compile(
        name: &str,
        arg: &str,
        negated: bool,
        base: &Path,
        limits: &OperatorLimits,
    ) -> Result<Operator, OperatorError> {
        let kind = match OperatorKind::from_name(name) {
            Some(k) => k,
            None => {
                if let Some((n, why)) = UNSUPPORTED
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                {
                    return Err(OperatorError::Unsupported((*n).to_string(), why));
                }
                return Err(OperatorError::Unknown(name.to_string()));
            }
        };
        let has_macro = has_macro(arg);
        let bad = |why: &str| OperatorError::Argument {
            op: kind.name(),
            arg: arg.to_string(),
            why: why.to_string(),
        };
        let static_only = matches!(
            kind,
            OperatorKind::Rx
                | OperatorKind::Pm
                | OperatorKind::PmFromFile
                | OperatorKind::IpMatch
                | OperatorKind::IpMatchFromFile
                | OperatorKind::ValidateByteRange
        );
        if has_macro && static_only {
            return Err(bad("macros are not supported in this operator's argument"));
        }
        let template = if has_macro {
            Some(Template::parse(arg).map_err(|e| bad(&e))?)
        } else {
            None
        };
        let mut needles = None;
        let mut plain_needles = None;
        let mut required = None;
        let data = match kind {
            OperatorKind::Rx => {
                let (lazy, n, r) = LazyRegex::new(arg, limits)?;
                needles = n.all;
                plain_needles = n.plain;
                required = r;
                Data::Regex(lazy)
            }
            OperatorKind::Pm => {
                let phrases: Vec<&str> = arg.split_ascii_whitespace().collect();
                if phrases.is_empty() {
                    return Err(bad("no phrases"));
                }
                needles = prefilter::phrase_needles(&phrases);
                required = prefilter::phrase_required_bytes(&phrases);
                Data::Phrases(phrase_matcher(&phrases).map_err(|e| bad(&e))?)
            }
            OperatorKind::PmFromFile => {
                let mut phrases = Vec::new();
                for file in arg.split_ascii_whitespace() {
                    let text = read_data_file(kind, base, file, limits)?;
                    phrases.extend(
                        text.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty() && !l.starts_with('#'))
                            .map(str::to_owned),
                    );
                }
                if phrases.is_empty() {
                    return Err(bad("the files hold no phrases"));
                }
                needles = prefilter::phrase_needles(&phrases);
                required = prefilter::phrase_required_bytes(&phrases);
                Data::Phrases(phrase_matcher(&phrases).map_err(|e| bad(&e))?)
            }
            OperatorKind::DetectSqli | OperatorKind::DetectXss => {
                let only = if kind == OperatorKind::DetectSqli {
                    DetectorKind::Sqli
                } else {
                    DetectorKind::Xss
                };
                let set = DetectorSet::builder().only(&[only]).build();
                // The detector sees the value as the rule's transformations
                // left it: one without any byte it needs is not scanned.
                required = set.needs_one_of().and_then(|needs| {
                    prefilter::required_from((0..=255u8).filter(|&b| needs[usize::from(b)]))
                });
                Data::Detector(std::sync::Arc::new(set))
            }
            OperatorKind::IpMatch => Data::Ips(parse_ips(arg.split(',')).map_err(|e| bad(&e))?),
            OperatorKind::IpMatchFromFile => {
                let mut all = Vec::new();
                for file in arg.split_ascii_whitespace() {
                    let text = read_data_file(kind, base, file, limits)?;
                    all.extend(
                        parse_ips(
                            text.lines()
                                .map(str::trim)
                                .filter(|l| !l.is_empty() && !l.starts_with('#')),
                        )
                        .map_err(|e| bad(&e))?,
                    );
                }
                Data::Ips(all)
            }
            OperatorKind::ValidateByteRange => {
                let allowed = parse_byte_ranges(arg).map_err(|e| bad(&e))?;
                // A match is a byte outside the ranges.
                required =
                    prefilter::required_from((0..=255u8).filter(|&b| !allowed[usize::from(b)]));
                Data::Bytes(allowed)
            }
            // Invalid UTF-8 needs a byte above ASCII; a bad escape, a `%`.
            OperatorKind::ValidateUtf8Encoding => {
                required = prefilter::required_from(0x80..=0xff);
                Data::None
            }
            OperatorKind::ValidateUrlEncoding => {
                required = prefilter::required_from([b'%']);
                Data::None
            }
            // A literal argument must occur in the value.
            OperatorKind::Contains
            | OperatorKind::StrMatch
            | OperatorKind::ContainsWord
            | OperatorKind::BeginsWith
            | OperatorKind::EndsWith
            | OperatorKind::Streq
                if !has_macro =>
            {
                required = arg
                    .bytes()
                    .next()
                    .and_then(|b| prefilter::required_from([b]));
                Data::None
            }
            OperatorKind::Eq
            | OperatorKind::Ge
            | OperatorKind::Gt
            | OperatorKind::Lt
            | OperatorKind::Le
                if !has_macro =>
            {
                Data::Int(atoi(arg.as_bytes()))
            }
            _ => Data::None,
        };
        Ok(Operator {
            kind,
            negated,
            arg: arg.to_string(),
            template,
            data,
            needles,
            plain_needles,
            required,
        })
    }

    /// Literals of which every positive match contains one (ASCII case
    /// ignored), when the operator has such a set.
    pub(crate) fn needles(&self) -> Option<&[Vec<u8>]> {
        self.needles.as_deref()
    }

    /// Literals of which every positive match on a plain value contains
    /// one, for a regex without [`Operator::needles`].
    pub(crate) fn plain_needles(&self) -> Option<&[Vec<u8>]> {
        self.plain_needles.as_deref()
    }

    /// Bytes of which every positive match contains one (letters in both
    /// ASCII cases), when the operator has such a set.
    pub(crate) fn required_bytes(&self) -> Option<&prefilter::ByteSet> {
        self.required.as_ref()
    }

    /// The operator.
    pub fn kind(&self) -> OperatorKind {
        self.kind
    }

    /// Whether the result is negated (`!@rx`).
    pub fn negated(&self) -> bool {
        self.negated
    }

    /// The argument as written.
    pub fn arg(&self) -> &str {
        &self.arg
    }

    /// The argument's macros, when it has any.
    pub(crate) fn template(&self) -> Option<&Template> {
        self.template.as_ref()
    }

    /// The compiled regex of an `@rx`.
    pub fn regex(&self) -> Option<&regex::bytes::Regex> {
        match &self.data {
            Data::Regex(r) => r.get(),
            _ => None,
        }
    }

    /// Whether the operator matches one (transformed) value, negation
    /// included: [`Operator::eval`] without building what matched, and
    /// for `@rx` and phrases a search that stops at the first match.
    pub fn is_match(&self, value: &[u8], arg: &OpArg<'_>) -> bool {
        let hit = match &self.data {
            Data::Regex(lazy) => lazy.get().is_some_and(|re| re.is_match(value)),
            Data::Phrases(ac) => ac.is_match(value),
            Data::Int(n) => int_cmp(self.kind, atoi(value), *n),
            _ => self.eval_positive(value, arg, false, false).is_some(),
        };
        hit != self.negated
    }

    /// Evaluates the operator on one (transformed) value, negation
    /// included. `arg` expands macros of the argument; `captures` asks
    /// `@rx` for its groups.
    pub fn eval(&self, value: &[u8], arg: &OpArg<'_>, captures: bool) -> Option<Matched> {
        let hit = self.eval_positive(value, arg, captures, true);
        match (hit, self.negated) {
            (Some(m), false) => Some(m),
            (None, true) => Some(Matched {
                data: value.to_vec(),
                captures: Vec::new(),
            }),
            _ => None,
        }
    }

    fn arg_bytes<'s>(&'s self, arg: &'s OpArg<'_>) -> &'s [u8] {
        match &self.template {
            Some(t) => arg.get(t),
            None => self.arg.as_bytes(),
        }
    }

    /// [`Operator::eval`] without negation. Without `data` (a plain match
    /// test), an operator that matches the whole value does not copy it.
    fn eval_positive(
        &self,
        value: &[u8],
        arg: &OpArg<'_>,
        captures: bool,
        data: bool,
    ) -> Option<Matched> {
        let whole = || {
            Some(Matched {
                data: if data { value.to_vec() } else { Vec::new() },
                captures: Vec::new(),
            })
        };
        match (&self.data, self.kind) {
            (Data::Regex(lazy), _) => {
                let re = lazy.get()?;
                if captures {
                    // Most values do not match: a plain search first, the
                    // (much slower) capture search only for a match.
                    if !re.is_match(value) {
                        return None;
                    }
                    // Without groups, the match is capture 0.
                    if re.captures_len() == 1 {
                        let m = re.find(value)?.as_bytes().to_vec();
                        return Some(Matched {
                            data: m.clone(),
                            captures: vec![m],
                        });
                    }
                    let caps = re.captures(value)?;
                    let groups: Vec<Vec<u8>> = (0..caps.len().min(10))
                        .map(|i| {
                            caps.get(i)
                                .map(|m| m.as_bytes().to_vec())
                                .unwrap_or_default()
                        })
                        .collect();
                    Some(Matched {
                        data: groups[0].clone(),
                        captures: groups,
                    })
                } else {
                    let m = re.find(value)?;
                    Some(Matched {
                        data: m.as_bytes().to_vec(),
                        captures: Vec::new(),
                    })
                }
            }
            (Data::Phrases(ac), _) => {
                let m = ac.find(value)?;
                Some(Matched {
                    data: value[m.start()..m.end()].to_vec(),
                    captures: Vec::new(),
                })
            }
            (Data::Detector(set), _) => {
                // The rule's transformations have decoded the value:
                // the detectors see it as it is, as libinjection does.
                let mut findings = Vec::new();
                set.scan_input(
                    &wafio_detect::Input::raw_only(value, set.limits()),
                    &mut findings,
                );
                let best = findings
                    .into_iter()
                    .filter(|f| f.confidence >= 0.5)
                    .max_by(|a, b| a.confidence.total_cmp(&b.confidence))?;
                Some(Matched {
                    data: best.evidence.into_bytes(),
                    captures: Vec::new(),
                })
            }
            (Data::Ips(nets), _) => {
                let ip: IpAddr = std::str::from_utf8(value).ok()?.trim().parse().ok()?;
                nets.iter()
                    .any(|&(net, bits)| ip_in(ip, net, bits))
                    .then(whole)?
            }
            (Data::Bytes(allowed), _) => {
                value
                    .iter()
                    .find(|&&c| !allowed[usize::from(c)])
                    .map(|&c| Matched {
                        data: vec![c],
                        captures: Vec::new(),
                    })
            }
            (Data::Int(n), kind) => int_cmp(kind, atoi(value), *n).then(whole)?,
            (_, kind) => match kind {
                OperatorKind::Eq
                | OperatorKind::Ge
                | OperatorKind::Gt
                | OperatorKind::Lt
                | OperatorKind::Le => {
                    int_cmp(kind, atoi(value), atoi(self.arg_bytes(arg))).then(whole)?
                }
                OperatorKind::Within => {
                    let arg = self.arg_bytes(arg);
                    (!value.is_empty() && memchr::memmem::find(arg, value).is_some()).then(whole)?
                }
                OperatorKind::Streq => (self.arg_bytes(arg) == value).then(whole)?,
                OperatorKind::BeginsWith => value.starts_with(self.arg_bytes(arg)).then(whole)?,
                OperatorKind::EndsWith => value.ends_with(self.arg_bytes(arg)).then(whole)?,
                OperatorKind::Contains | OperatorKind::StrMatch => {
                    let arg = self.arg_bytes(arg);
                    memchr::memmem::find(value, arg).map(|_| Matched {
                        data: arg.to_vec(),
                        captures: Vec::new(),
                    })
                }
                OperatorKind::ContainsWord => {
                    let arg = self.arg_bytes(arg);
                    contains_word(value, arg).then_some(Matched {
                        data: arg.to_vec(),
                        captures: Vec::new(),
                    })
                }
                OperatorKind::ValidateUrlEncoding => invalid_url_encoding(value).then(whole)?,
                OperatorKind::ValidateUtf8Encoding => {
                    std::str::from_utf8(value).is_err().then(whole)?
                }
                OperatorKind::UnconditionalMatch => whole(),
                _ => None,
            },
        }
    }
}

/// An `@rx` pattern checked at build time and compiled on its first use.
///
/// Building every CRS regex up front dominated the engine's build time,
/// while one request at paranoia level 1 only reaches a fraction of them.
/// The build still refuses a pattern that does not parse (the error names
/// the rule); only the compiled-size limits (`OperatorLimits::regex_size`,
/// `regex_dfa_size`) are checked at first use. A pattern that exceeds
/// them then never matches (its rule stays silent); [`LazyRegex::new`]
/// keeps that case out of practice by building eagerly any pattern whose
/// source is longer than [`EAGER_REGEX_LEN`].
#[derive(Clone, Debug)]
struct LazyRegex {
    translated: String,
    size: usize,
    dfa: usize,
    cell: std::sync::OnceLock<Option<regex::bytes::Regex>>,
}

/// Patterns longer than this many bytes are compiled at build time, so a
/// size-limit error stays a build error where it can plausibly happen.
pub const EAGER_REGEX_LEN: usize = 4096;

impl LazyRegex {
    /// Checks (or, for long patterns, builds) the regex; also returns its
    /// prefilter needles and required bytes, read off the same syntax tree.
    #[allow(clippy::type_complexity)]
    fn new(
        pattern: &str,
        limits: &OperatorLimits,
    ) -> Result<(LazyRegex, RxNeedles, Option<prefilter::ByteSet>), OperatorError> {
        let translated = crate::ir::pcre_to_regex(pattern).into_owned();
        let cell = std::sync::OnceLock::new();
        if translated.len() > EAGER_REGEX_LEN {
            let _ = cell.set(Some(compile_regex(pattern, limits)?));
        }
        let hir = parse_rx(&translated)?;
        let all = prefilter::hir_needles(&hir);
        let plain = if all.is_none() {
            prefilter::plain_needles(&hir)
        } else {
            None
        };
        let required = prefilter::hir_required_bytes(&hir);
        Ok((
            LazyRegex {
                translated,
                size: limits.regex_size,
                dfa: limits.regex_dfa_size,
                cell,
            },
            RxNeedles { all, plain },
            required,
        ))
    }

    fn get(&self) -> Option<&regex::bytes::Regex> {
        self.cell
            .get_or_init(|| build_regex(&self.translated, self.size, self.dfa).ok())
            .as_ref()
    }
}

/// Parses a translated `@rx` pattern with the flags it compiles with (see
/// [`build_regex`]): bytes, not Unicode; `.` matches newlines; `^`/`$` at
/// line ends.
pub(crate) fn parse_rx(translated: &str) -> Result<regex_syntax::hir::Hir, OperatorError> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .dot_matches_new_line(true)
        .multi_line(true)
        .build()
        .parse(translated)
        .map_err(|e| regex_error(&e.to_string()))
}

/// The needles of a regex: for all values, or else for plain values only.
struct RxNeedles {
    all: Option<prefilter::Needles>,
    plain: Option<prefilter::Needles>,
}

fn build_regex(
    translated: &str,
    size: usize,
    dfa: usize,
) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(translated)
        .unicode(false)
        .dot_matches_new_line(true)
        .multi_line(true)
        .size_limit(size)
        .dfa_size_limit(dfa)
        .build()
}

fn regex_error(msg: &str) -> OperatorError {
    let hint = if msg.contains("look-around") || msg.contains("backreference") {
        " (PCRE-only syntax: lookaround and backreferences need backtracking, which this engine refuses)"
    } else {
        ""
    };
    OperatorError::Regex(format!(
        "{}{hint}",
        msg.lines().last().unwrap_or(msg).trim()
    ))
}

/// Compiles a SecLang `@rx` pattern as ModSecurity matches it on bytes.
pub fn compile_regex(
    pattern: &str,
    limits: &OperatorLimits,
) -> Result<regex::bytes::Regex, OperatorError> {
    let translated = crate::ir::pcre_to_regex(pattern);
    build_regex(&translated, limits.regex_size, limits.regex_dfa_size)
        .map_err(|e| regex_error(&e.to_string()))
}

/// Phrase lists of at most this many bytes are matched by a DFA: fewer
/// steps per byte than the default NFA. Bounded because DFA memory grows
/// with the list: for CRS this cap costs about 1.5 MiB of peak memory,
/// while DFAs for every list (`lfi-os-files.data` and the other long
/// ones) would cost 16 MiB for a few percent more speed.
const PHRASE_DFA_MAX_BYTES: usize = 4 * 1024;

fn phrase_matcher<S: AsRef<[u8]>>(phrases: &[S]) -> Result<AhoCorasick, String> {
    let bytes: usize = phrases.iter().map(|p| p.as_ref().len()).sum();
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind((bytes <= PHRASE_DFA_MAX_BYTES).then_some(aho_corasick::AhoCorasickKind::DFA))
        .build(phrases)
        .map_err(|e| e.to_string())
}

fn read_data_file(
    op: OperatorKind,
    base: &Path,
    file: &str,
    limits: &OperatorLimits,
) -> Result<String, OperatorError> {
    let path = if Path::new(file).is_absolute() {
        PathBuf::from(file)
    } else {
        base.join(file)
    };
    let err = |why: String| OperatorError::DataFile {
        op: op.name(),
        path: path.clone(),
        why,
    };
    let meta = std::fs::metadata(&path).map_err(|e| err(e.to_string()))?;
    if meta.len() > limits.data_file_bytes {
        return Err(err(format!("larger than {} bytes", limits.data_file_bytes)));
    }
    let bytes = std::fs::read(&path).map_err(|e| err(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn parse_ips<'a>(items: impl Iterator<Item = &'a str>) -> Result<Vec<(IpAddr, u8)>, String> {
    let mut out = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (addr, bits) = match item.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (item, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("{item:?} is not an IP address or CIDR block"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) => b
                .parse::<u8>()
                .ok()
                .filter(|&b| b <= max)
                .ok_or_else(|| format!("{item:?} has an invalid prefix length"))?,
            None => max,
        };
        out.push((ip, bits));
    }
    if out.is_empty() {
        return Err("no addresses".into());
    }
    Ok(out)
}

fn ip_in(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn parse_byte_ranges(arg: &str) -> Result<[bool; 256], String> {
    let mut allowed = [false; 256];
    for part in arg.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let lo: u8 = lo
            .parse()
            .map_err(|_| format!("{part:?} is not a byte or byte range"))?;
        let hi: u8 = hi
            .parse()
            .map_err(|_| format!("{part:?} is not a byte or byte range"))?;
        if lo > hi {
            return Err(format!("{part:?} is an empty range"));
        }
        for b in lo..=hi {
            allowed[usize::from(b)] = true;
        }
    }
    Ok(allowed)
}

/// C `atoi`: optional whitespace and sign, then leading digits; else 0.
pub fn atoi(b: &[u8]) -> i64 {
    let s = b.iter().skip_while(|c| c.is_ascii_whitespace());
    let mut neg = false;
    let mut v: i64 = 0;
    for (i, &c) in s.enumerate() {
        match c {
            b'-' | b'+' if i == 0 => neg = c == b'-',
            b'0'..=b'9' => v = v.saturating_mul(10).saturating_add(i64::from(c - b'0')),
            _ => break,
        }
    }
    if neg {
        -v
    } else {
        v
    }
}

fn int_cmp(kind: OperatorKind, a: i64, b: i64) -> bool {
    match kind {
        OperatorKind::Eq => a == b,
        OperatorKind::Ge => a >= b,
        OperatorKind::Gt => a > b,
        OperatorKind::Lt => a < b,
        OperatorKind::Le => a <= b,
        _ => false,
    }
}

fn contains_word(value: &[u8], word: &[u8]) -> bool {
    if word.is_empty() {
        return true;
    }
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    memchr::memmem::find_iter(value, word).any(|start| {
        let end = start + word.len();
        (start == 0 || !is_word(value[start - 1])) && (end == value.len() || !is_word(value[end]))
    })
}

/// `%` not followed by two hex digits.
fn invalid_url_encoding(b: &[u8]) -> bool {
    memchr::memchr_iter(b'%', b)
        .any(|i| !(i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_is_checked_at_build_and_compiled_on_first_use() {
        let limits = OperatorLimits::default();
        let e = Operator::compile("rx", "a(?=b)", false, Path::new("."), &limits)
            .expect_err("look-ahead must be refused at build time");
        assert!(e.to_string().contains("look-around"), "{e}");
        let e = Operator::compile("rx", "a(b", false, Path::new("."), &limits)
            .expect_err("unbalanced group must be refused at build time");
        assert!(matches!(e, OperatorError::Regex(_)), "{e}");
        let rx = op("rx", "^ab+c$");
        let Data::Regex(lazy) = &rx.data else {
            panic!("not a regex");
        };
        assert!(lazy.cell.get().is_none(), "compiled before use");
        assert!(rx
            .eval(b"abbc", &OpArg::new(&|_| Vec::new()), false)
            .is_some());
        assert!(rx
            .eval(b"abx", &OpArg::new(&|_| Vec::new()), false)
            .is_none());
        assert!(lazy.cell.get().is_some_and(Option::is_some));
    }

    fn op(name: &str, arg: &str) -> Operator {
        Operator::compile(name, arg, false, Path::new("."), &OperatorLimits::default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn no_macros(_: &Template) -> Vec<u8> {
        Vec::new()
    }

    fn hit(o: &Operator, v: &[u8]) -> bool {
        let hit = o.eval(v, &OpArg::new(&no_macros), false).is_some();
        assert_eq!(
            hit,
            o.is_match(v, &OpArg::new(&no_macros)),
            "is_match disagrees"
        );
        hit
    }

    #[test]
    fn rx_on_bytes_with_modsecurity_flags() {
        let o = op("rx", r"^a.b$");
        assert!(hit(&o, b"x\na\nb\ny"), "(?s) and (?m)");
        let o = op("rx", r"[\x{80}-\x{ff}]");
        assert!(hit(&o, b"caf\xe9"));
        assert!(!hit(&o, b"cafe"));
        let o = op("rx", r"(?i)union(\s+)select");
        let m = o
            .eval(b"1 UNION  select", &OpArg::new(&no_macros), true)
            .expect("match");
        assert_eq!(m.captures, vec![b"UNION  select".to_vec(), b"  ".to_vec()]);
        // Without groups the capture is the match itself.
        let o = op("rx", r"b+");
        let m = o
            .eval(b"abbc", &OpArg::new(&no_macros), true)
            .expect("match");
        assert_eq!(m.captures, vec![b"bb".to_vec()]);
        let err = Operator::compile(
            "rx",
            "a(?=b)",
            false,
            Path::new("."),
            &OperatorLimits::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("PCRE-only"), "{err}");
    }

    #[test]
    fn phrases_and_files() {
        let o = op("pm", "select union");
        assert_eq!(
            o.eval(b"x UNION y", &OpArg::new(&no_macros), false)
                .expect("hit")
                .data,
            b"UNION"
        );
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs/rules");
        let o = Operator::compile(
            "pmFromFile",
            "unix-shell.data",
            false,
            &dir,
            &OperatorLimits::default(),
        )
        .expect("compile");
        assert!(hit(&o, b"x=/etc/passwd"));
        let err = Operator::compile(
            "pmf",
            "missing.data",
            false,
            &dir,
            &OperatorLimits::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing.data"), "{err}");
    }

    #[test]
    fn comparisons_and_strings() {
        assert!(hit(&op("lt", "2"), b"1"));
        assert!(!hit(&op("lt", "1"), b"1"));
        assert!(hit(&op("eq", "0"), b"abc"), "atoi of text is 0");
        assert!(hit(&op("ge", "-3"), b" -2x"));
        let within = op("within", "%{tx.allowed_methods}");
        let expand = |_: &Template| b"GET HEAD POST OPTIONS".to_vec();
        assert!(within.eval(b"POST", &OpArg::new(&expand), false).is_some());
        assert!(within
            .eval(b"DELETE", &OpArg::new(&expand), false)
            .is_none());
        assert!(within.is_match(b"GET", &OpArg::new(&expand)));
        assert!(hit(&op("streq", "abc"), b"abc"));
        assert!(hit(&op("beginsWith", "ab"), b"abc"));
        assert!(hit(&op("endsWith", "bc"), b"abc"));
        assert!(hit(&op("contains", "b"), b"abc"));
        assert!(hit(&op("containsWord", "select"), b"a select b"));
        assert!(!hit(&op("containsWord", "select"), b"selection"));
    }

    #[test]
    fn validation_operators() {
        let o = op("validateByteRange", "32-126, 9,10");
        assert!(!hit(&o, b"hello\tworld\n"));
        assert_eq!(
            o.eval(b"a\x01", &OpArg::new(&no_macros), false)
                .expect("hit")
                .data,
            vec![1]
        );
        assert!(hit(&op("validateUrlEncoding", ""), b"a%2"));
        assert!(!hit(&op("validateUrlEncoding", ""), b"a%20"));
        assert!(hit(&op("validateUtf8Encoding", ""), b"\xc0\xaf"));
        assert!(!hit(&op("validateUtf8Encoding", ""), "é".as_bytes()));
        assert!(hit(&op("unconditionalMatch", ""), b""));
        assert!(!hit(&op("noMatch", ""), b"x"));
    }

    #[test]
    fn ip_match_and_negation() {
        let o = op("ipMatch", "127.0.0.1,10.0.0.0/8,::1");
        assert!(hit(&o, b"10.2.3.4"));
        assert!(hit(&o, b"::1"));
        assert!(!hit(&o, b"11.0.0.1"));
        let neg = Operator::compile(
            "ipMatch",
            "127.0.0.1",
            true,
            Path::new("."),
            &OperatorLimits::default(),
        )
        .expect("compile");
        assert!(neg
            .eval(b"8.8.8.8", &OpArg::new(&no_macros), false)
            .is_some());
        assert!(Operator::compile(
            "ipMatch",
            "300.1.1.1",
            false,
            Path::new("."),
            &OperatorLimits::default()
        )
        .is_err());
    }

    #[test]
    fn detectors_as_operators() {
        assert!(hit(&op("detectSQLi", ""), b"1' or '1'='1"));
        assert!(!hit(&op("detectSQLi", ""), b"O'Brien"));
        assert!(hit(&op("detectXSS", ""), b"<script>alert(1)</script>"));
    }

    #[test]
    fn unknown_and_unsupported_are_named() {
        let e = Operator::compile(
            "rbl",
            "x",
            false,
            Path::new("."),
            &OperatorLimits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("@rbl is not supported"), "{e}");
        let e = Operator::compile(
            "frobnicate",
            "x",
            false,
            Path::new("."),
            &OperatorLimits::default(),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "unknown operator @frobnicate");
        let e = Operator::compile(
            "rx",
            "%{tx.x}",
            false,
            Path::new("."),
            &OperatorLimits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("macros"), "{e}");
    }

    #[test]
    fn byte_escape_translation() {
        assert_eq!(
            crate::ir::pcre_to_regex(r"\x{e}[\x{ff}]\\x{41}é"),
            r"\x0e[\xff]\\x{41}é"
        );
    }
}
