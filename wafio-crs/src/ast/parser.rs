//! The lexer (logical lines, words) and the directive parser.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Error, ErrorKind, ParseErrors};
use super::known;
use super::span::{FileId, SourceFile, Span};
use super::{
    Action, ActionValue, Arg, Config, Directive, DirectiveKind, IdRange, Operator, ParseOptions,
    Quote, RuleSelector, SecRule, Selector, Variable,
};

/// A SecLang parser that accumulates the directives of several files.
///
/// Call [`parse_file`](Parser::parse_file) / [`parse_str`](Parser::parse_str)
/// as often as needed, then [`finish`](Parser::finish). Errors are collected
/// (up to [`Limits::max_errors`](super::Limits::max_errors)); a directive with
/// an error is skipped and parsing continues with the next one.
#[derive(Debug)]
pub struct Parser {
    options: ParseOptions,
    files: Vec<SourceFile>,
    directives: Vec<Directive>,
    warnings: Vec<Error>,
    errors: Vec<Error>,
    /// Canonical paths of the files being parsed (include stack).
    stack: Vec<PathBuf>,
    total_size: usize,
    /// A global limit was hit: parse nothing more.
    halted: bool,
}

impl Parser {
    /// A parser with `options`.
    pub fn new(options: ParseOptions) -> Parser {
        Parser {
            options,
            files: Vec::new(),
            directives: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            stack: Vec::new(),
            total_size: 0,
            halted: false,
        }
    }

    /// Parse the file at `path` and the files it includes.
    pub fn parse_file(&mut self, path: impl AsRef<Path>) {
        self.load_file(path.as_ref().to_path_buf(), None, 0);
    }

    /// Parse `text` as if read from a file called `name` (relative
    /// `Include`s resolve against `name`'s directory).
    pub fn parse_str(&mut self, name: impl Into<PathBuf>, text: &str) {
        if self.stopped() {
            return;
        }
        if text.len() > self.options.limits.max_file_size {
            let limit = self.options.limits.max_file_size;
            self.push_error(Error::bare(ErrorKind::FileTooLarge {
                size: text.len() as u64,
                limit,
            }));
            return;
        }
        let path = name.into();
        if let Some(id) = self.add_file(path.clone(), Arc::from(text), None) {
            self.stack.push(path);
            self.parse_source(id, 0);
            self.stack.pop();
        }
    }

    /// The parsed configuration, or every error found.
    pub fn finish(self) -> Result<Config, ParseErrors> {
        if self.errors.is_empty() {
            Ok(Config {
                files: self.files,
                directives: self.directives,
                warnings: self.warnings,
            })
        } else {
            Err(ParseErrors {
                errors: self.errors,
            })
        }
    }

    fn stopped(&self) -> bool {
        self.halted || self.errors.len() >= self.options.limits.max_errors.max(1)
    }

    fn push_error(&mut self, e: Error) {
        if !self.stopped() {
            self.errors.push(e);
        }
    }

    fn error_at_opt(&self, kind: ErrorKind, at: Option<Span>) -> Error {
        match at.and_then(|s| self.files.get(s.file.0 as usize).map(|f| (f, s))) {
            Some((f, s)) => Error::at(kind, f, s),
            None => Error::bare(kind),
        }
    }

    fn add_file(&mut self, path: PathBuf, text: Arc<str>, from: Option<Span>) -> Option<FileId> {
        let limits = &self.options.limits;
        if self.files.len() >= limits.max_files {
            let e = self.error_at_opt(
                ErrorKind::TooManyFiles {
                    limit: limits.max_files,
                },
                from,
            );
            self.push_error(e);
            return None;
        }
        self.total_size = self.total_size.saturating_add(text.len());
        if self.total_size > limits.max_total_size {
            let e = self.error_at_opt(
                ErrorKind::TotalSizeExceeded {
                    limit: limits.max_total_size,
                },
                from,
            );
            self.push_error(e);
            return None;
        }
        let id = FileId(u32::try_from(self.files.len()).ok()?);
        self.files.push(SourceFile::new(path, text, from));
        Some(id)
    }

    /// Read, check and parse one file; returns its id when it was read.
    fn load_file(&mut self, path: PathBuf, from: Option<Span>, depth: usize) -> Option<FileId> {
        if self.stopped() {
            return None;
        }
        let canonical = match std::fs::canonicalize(&path) {
            Ok(c) => c,
            Err(source) => {
                let e = self.error_at_opt(ErrorKind::Io { path, source }, from);
                self.push_error(e);
                return None;
            }
        };
        if self.stack.contains(&canonical) {
            let e = self.error_at_opt(ErrorKind::IncludeCycle { path }, from);
            self.push_error(e);
            return None;
        }
        let limit = self.options.limits.max_file_size;
        let read = std::fs::metadata(&path).and_then(|m| {
            if m.len() > limit as u64 {
                Ok(Err(m.len()))
            } else {
                std::fs::read(&path).map(Ok)
            }
        });
        let bytes = match read {
            Ok(Ok(b)) if b.len() <= limit => b,
            Ok(Ok(b)) => {
                let kind = ErrorKind::FileTooLarge {
                    size: b.len() as u64,
                    limit,
                };
                let e = self.error_at_opt(kind, from);
                self.push_error(e);
                return None;
            }
            Ok(Err(size)) => {
                let e = self.error_at_opt(ErrorKind::FileTooLarge { size, limit }, from);
                self.push_error(e);
                return None;
            }
            Err(source) => {
                let e = self.error_at_opt(ErrorKind::Io { path, source }, from);
                self.push_error(e);
                return None;
            }
        };
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(err) => {
                let offset = err.utf8_error().valid_up_to();
                let kind = ErrorKind::NotUtf8 { offset };
                let mut e = self.error_at_opt(kind, from);
                if e.location.is_none() {
                    e.kind = ErrorKind::Io {
                        path: path.clone(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("not valid UTF-8 (first invalid byte at offset {offset})"),
                        ),
                    };
                }
                self.push_error(e);
                return None;
            }
        };
        let id = self.add_file(path, Arc::from(text), from)?;
        self.stack.push(canonical);
        self.parse_source(id, depth);
        self.stack.pop();
        Some(id)
    }

    /// Parse the logical lines of file `id`.
    fn parse_source(&mut self, id: FileId, depth: usize) {
        let Some(file) = self.files.get(id.0 as usize).cloned() else {
            return;
        };
        let text = file.text_arc();
        let bytes = text.as_bytes();
        let max_line = self.options.limits.max_line_len;
        let mut pos = 0;
        let mut line = Line::default();
        while pos < bytes.len() && !self.stopped() {
            line.clear();
            let mut too_long = false;
            let mut first = true;
            loop {
                let eol = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
                let next = if eol < bytes.len() { eol + 1 } else { eol };
                let mut end = eol;
                while end > pos && bytes[end - 1].is_ascii_whitespace() {
                    end -= 1;
                }
                let is_comment =
                    first && text[pos..end].trim_start().as_bytes().first() == Some(&b'#');
                let cont = !is_comment && end > pos && bytes[end - 1] == b'\\';
                let seg_end = if cont { end - 1 } else { end };
                if line.text.len() + (seg_end - pos) > max_line {
                    too_long = true;
                } else if !too_long {
                    line.push(&text[pos..seg_end], pos);
                }
                line.src_end = seg_end;
                pos = next;
                first = false;
                if !cont || pos >= bytes.len() {
                    break;
                }
            }
            let ctx = Ctx {
                file: &file,
                id,
                line: &line,
            };
            if too_long {
                let start = line.segs.first().map_or(0, |s| s.1);
                let e = Error::at(ErrorKind::LineTooLong { limit: max_line }, &file, {
                    file.span(id, start, start + 1)
                });
                self.push_error(e);
                continue;
            }
            let trimmed = line.text.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if self.directives.len() >= self.options.limits.max_directives {
                let limit = self.options.limits.max_directives;
                let e = Error::at(
                    ErrorKind::TooManyDirectives { limit },
                    &file,
                    ctx.span(0, 1),
                );
                self.push_error(e);
                // The limit is global: parse nothing more.
                self.halted = true;
                return;
            }
            let words = match tokenize(&ctx) {
                Ok(w) => w,
                Err(e) => {
                    self.push_error(e);
                    continue;
                }
            };
            let mut diag = Diag {
                lenient: self.options.lenient,
                warnings: &mut self.warnings,
            };
            match parse_directive(&ctx, &mut diag, &words) {
                Ok(Some(d)) => {
                    if let DirectiveKind::Include { pattern, .. } = &d.kind {
                        let pattern = pattern.clone();
                        let idx = self.directives.len();
                        self.directives.push(d);
                        let files = self.include(&file, &pattern, depth);
                        if let Some(Directive {
                            kind: DirectiveKind::Include { files: f, .. },
                            ..
                        }) = self.directives.get_mut(idx)
                        {
                            *f = files;
                        }
                    } else {
                        self.directives.push(d);
                    }
                }
                Ok(None) => {}
                Err(e) => self.push_error(e),
            }
        }
    }

    /// Resolve and parse an `Include`.
    fn include(&mut self, file: &SourceFile, pattern: &Arg, depth: usize) -> Vec<FileId> {
        let at = Some(pattern.span);
        if !self.options.allow_include {
            let e = self.error_at_opt(ErrorKind::IncludeDisabled, at);
            self.push_error(e);
            return Vec::new();
        }
        if depth + 1 > self.options.limits.max_include_depth {
            let limit = self.options.limits.max_include_depth;
            let e = self.error_at_opt(ErrorKind::IncludeTooDeep { limit }, at);
            self.push_error(e);
            return Vec::new();
        }
        let base = file.path.parent().unwrap_or(Path::new(""));
        let full = base.join(&pattern.value);
        let paths = match expand(&full) {
            Ok(p) if p.is_empty() => {
                let kind = ErrorKind::IncludeNoMatch {
                    pattern: pattern.value.clone(),
                };
                let e = self.error_at_opt(kind, at);
                self.push_error(e);
                return Vec::new();
            }
            Ok(p) => p,
            Err(kind) => {
                let e = self.error_at_opt(kind, at);
                self.push_error(e);
                return Vec::new();
            }
        };
        paths
            .into_iter()
            .filter_map(|p| self.load_file(p, at, depth + 1))
            .collect()
    }
}

/// Expand a path whose last component may contain `*` and `?` wildcards
/// into the sorted list of matching files. Without wildcards the path is
/// returned as is (a missing file is reported when it is read).
fn expand(path: &Path) -> Result<Vec<PathBuf>, ErrorKind> {
    let has_wild = |s: &str| s.contains(['*', '?']);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(vec![path.to_path_buf()]);
    };
    let dir = path.parent().unwrap_or(Path::new(""));
    if dir.to_str().is_some_and(has_wild) {
        return Err(ErrorKind::Syntax(
            "Include: wildcards are only supported in the last path component".into(),
        ));
    }
    if !has_wild(name) {
        return Ok(vec![path.to_path_buf()]);
    }
    let read_dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let entries = std::fs::read_dir(read_dir).map_err(|source| ErrorKind::Io {
        path: read_dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ErrorKind::Io {
            path: read_dir.to_path_buf(),
            source,
        })?;
        let fname = entry.file_name();
        let Some(fname) = fname.to_str() else {
            continue;
        };
        let is_file = entry
            .file_type()
            .map(|t| t.is_file() || t.is_symlink())
            .unwrap_or(false);
        if is_file && wildcard_match(name.as_bytes(), fname.as_bytes()) {
            out.push(dir.join(fname));
        }
    }
    out.sort();
    Ok(out)
}

/// `*` matches any run of bytes, `?` one byte; linear-time greedy matcher
/// with single backtrack point (O(pattern × name) worst case).
fn wildcard_match(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// A logical line: physical lines joined at `\`-newline.
#[derive(Debug, Default)]
struct Line {
    text: String,
    /// (logical offset, source offset) of each joined segment.
    segs: Vec<(usize, usize)>,
    /// Source offset of the end of the last segment.
    src_end: usize,
}

impl Line {
    fn clear(&mut self) {
        self.text.clear();
        self.segs.clear();
        self.src_end = 0;
    }

    fn push(&mut self, s: &str, src: usize) {
        self.segs.push((self.text.len(), src));
        self.text.push_str(s);
    }

    /// Source offset of logical offset `l`.
    fn src(&self, l: usize) -> usize {
        if l >= self.text.len() {
            return self.src_end;
        }
        let i = match self.segs.binary_search_by(|s| s.0.cmp(&l)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        self.segs
            .get(i)
            .map_or(self.src_end, |&(ls, ss)| ss + (l - ls))
    }
}

struct Ctx<'a> {
    file: &'a SourceFile,
    id: FileId,
    line: &'a Line,
}

impl Ctx<'_> {
    /// Span of logical range `a..b`.
    fn span(&self, a: usize, b: usize) -> Span {
        let s = self.line.src(a);
        let e = if b > a { self.line.src(b - 1) + 1 } else { s };
        self.file.span(self.id, s, e)
    }

    /// Span of value bytes `a..b` of word `w`.
    fn wspan(&self, w: &Word, a: usize, b: usize) -> Span {
        let la = w.lpos(a);
        let lb = if b > a { w.lpos(b - 1) + 1 } else { la };
        self.span(la, lb)
    }

    fn err(&self, kind: ErrorKind, span: Span) -> Error {
        Error::at(kind, self.file, span)
    }
}

/// A directive argument after unquoting.
#[derive(Debug)]
struct Word {
    value: String,
    quote: Quote,
    /// Logical range, quotes included.
    start: usize,
    end: usize,
    /// Logical offset of each value byte (plus one past the end), when
    /// escapes made it differ from `start + quote + i`.
    map: Option<Vec<usize>>,
}

impl Word {
    fn lpos(&self, i: usize) -> usize {
        match &self.map {
            Some(m) => m.get(i).copied().unwrap_or(self.end),
            None => {
                let q = usize::from(self.quote != Quote::None);
                (self.start + q + i).min(self.end)
            }
        }
    }
}

/// Split a logical line into words.
fn tokenize(ctx: &Ctx<'_>) -> Result<Vec<Word>, Error> {
    let t = ctx.line.text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while i < t.len() && t[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= t.len() {
            break;
        }
        let start = i;
        if t[i] == b'"' || t[i] == b'\'' {
            let q = t[i];
            let mut j = i + 1;
            let mut buf = Vec::new();
            let mut map = Vec::new();
            let mut escaped = false;
            loop {
                if j >= t.len() {
                    let what = if q == b'"' {
                        "double-quoted"
                    } else {
                        "single-quoted"
                    };
                    return Err(ctx.err(ErrorKind::UnterminatedQuote(what), ctx.span(i, i + 1)));
                }
                if t[j] == b'\\' && j + 1 < t.len() && (t[j + 1] == q || t[j + 1] == b'\\') {
                    escaped = true;
                    buf.push(t[j + 1]);
                    map.push(j);
                    j += 2;
                } else if t[j] == q {
                    break;
                } else {
                    buf.push(t[j]);
                    map.push(j);
                    j += 1;
                }
            }
            map.push(j);
            let value = String::from_utf8(buf)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            let quote = if q == b'"' {
                Quote::Double
            } else {
                Quote::Single
            };
            words.push(Word {
                value,
                quote,
                start,
                end: j + 1,
                map: if escaped { Some(map) } else { None },
            });
            i = j + 1;
        } else {
            while i < t.len() && !t[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = ctx.line.text.get(start..i).unwrap_or("").to_owned();
            words.push(Word {
                value,
                quote: Quote::None,
                start,
                end: i,
                map: None,
            });
        }
    }
    Ok(words)
}

/// Unknown-name handling: error, or warning in lenient mode.
struct Diag<'a> {
    lenient: bool,
    warnings: &'a mut Vec<Error>,
}

impl Diag<'_> {
    /// `Ok(())` (after recording a warning) in lenient mode, else `Err`.
    fn unknown(&mut self, e: Error) -> Result<(), Error> {
        if self.lenient {
            self.warnings.push(Error {
                level: super::error::Level::Warning,
                ..e
            });
            Ok(())
        } else {
            Err(e)
        }
    }
}

fn arg_of(ctx: &Ctx<'_>, w: &Word) -> Arg {
    Arg {
        value: w.value.clone(),
        quote: w.quote,
        span: ctx.span(w.start, w.end),
    }
}

fn count_words(min: usize, max: usize) -> String {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    if min == max {
        format!("{min} {}", plural(min))
    } else if max == usize::MAX {
        format!("at least {min} {}", plural(min))
    } else {
        format!("{min} to {max} arguments")
    }
}

fn parse_directive(
    ctx: &Ctx<'_>,
    diag: &mut Diag<'_>,
    words: &[Word],
) -> Result<Option<Directive>, Error> {
    let Some((head, args)) = words.split_first() else {
        return Ok(None);
    };
    let line_span = ctx.span(head.start, words.last().map_or(head.end, |w| w.end));
    let Some(spec) = known::directive(&head.value) else {
        let e = ctx.err(
            ErrorKind::UnknownDirective(head.value.clone()),
            ctx.span(head.start, head.end),
        );
        diag.unknown(e)?;
        return Ok(None);
    };
    if args.len() < spec.min || args.len() > spec.max {
        let span = match args.get(spec.max) {
            Some(extra) => ctx.span(extra.start, extra.end),
            None => ctx.span(head.start, head.end),
        };
        let kind = ErrorKind::ArgumentCount {
            directive: spec.name,
            expected: count_words(spec.min, spec.max),
            found: args.len(),
        };
        return Err(ctx.err(kind, span));
    }
    if !spec.values.is_empty() {
        if let Some(a) = args.first() {
            if !spec.values.iter().any(|v| v.eq_ignore_ascii_case(&a.value)) {
                let kind = ErrorKind::InvalidValue {
                    directive: spec.name,
                    value: a.value.clone(),
                    expected: spec.values.join(", "),
                };
                return Err(ctx.err(kind, ctx.span(a.start, a.end)));
            }
        }
    }
    let kind = match spec.name {
        "SecRule" => {
            let variables = parse_variables(ctx, diag, &args[0])?;
            let Some(operator) = parse_operator(ctx, diag, &args[1])? else {
                return Ok(None);
            };
            let actions = match args.get(2) {
                Some(a) => parse_actions(ctx, diag, a)?,
                None => Vec::new(),
            };
            DirectiveKind::SecRule(SecRule {
                variables,
                operator,
                actions,
            })
        }
        "SecAction" => DirectiveKind::SecAction(parse_actions(ctx, diag, &args[0])?),
        "SecDefaultAction" => DirectiveKind::SecDefaultAction(parse_actions(ctx, diag, &args[0])?),
        "SecMarker" => DirectiveKind::SecMarker(arg_of(ctx, &args[0])),
        "Include" => DirectiveKind::Include {
            pattern: arg_of(ctx, &args[0]),
            files: Vec::new(),
        },
        "SecRuleRemoveById" => DirectiveKind::RuleRemoveById(parse_ids(ctx, args)?),
        "SecRuleRemoveByTag" => DirectiveKind::RuleRemoveByTag(arg_of(ctx, &args[0])),
        "SecRuleRemoveByMsg" => DirectiveKind::RuleRemoveByMsg(arg_of(ctx, &args[0])),
        "SecRuleUpdateTargetById" | "SecRuleUpdateTargetByTag" | "SecRuleUpdateTargetByMsg" => {
            let by = match spec.name {
                "SecRuleUpdateTargetById" => RuleSelector::Ids(parse_ids(ctx, &args[..1])?),
                "SecRuleUpdateTargetByTag" => RuleSelector::Tag(arg_of(ctx, &args[0])),
                _ => RuleSelector::Msg(arg_of(ctx, &args[0])),
            };
            let targets = parse_variables(ctx, diag, &args[1])?;
            let replaced = match args.get(2) {
                Some(w) => Some(parse_variables(ctx, diag, w)?),
                None => None,
            };
            DirectiveKind::RuleUpdateTarget {
                by,
                targets,
                replaced,
            }
        }
        "SecRuleUpdateActionById" => {
            let w = &args[0];
            let (id_s, off_s) = match w.value.split_once(':') {
                Some((a, b)) => (a, Some(b)),
                None => (w.value.as_str(), None),
            };
            let bad = || {
                ctx.err(
                    ErrorKind::Syntax(format!("invalid rule id {:?}", w.value)),
                    ctx.span(w.start, w.end),
                )
            };
            let id: u64 = id_s.trim().parse().map_err(|_| bad())?;
            let chain_offset = match off_s {
                Some(o) => Some(o.trim().parse::<u32>().map_err(|_| bad())?),
                None => None,
            };
            let actions = parse_actions(ctx, diag, &args[1])?;
            DirectiveKind::RuleUpdateActionById {
                id,
                chain_offset,
                actions,
            }
        }
        _ => DirectiveKind::Setting(args.iter().map(|w| arg_of(ctx, w)).collect()),
    };
    Ok(Some(Directive {
        name: spec.name,
        span: line_span,
        kind,
    }))
}

/// Rule ids and ranges (`1`, `1-9`), separated by blanks or commas, in
/// one or more words.
fn parse_ids(ctx: &Ctx<'_>, words: &[Word]) -> Result<Vec<IdRange>, Error> {
    let mut out = Vec::new();
    for w in words {
        let v = w.value.as_bytes();
        let mut i = 0;
        while i < v.len() {
            while i < v.len() && (v[i].is_ascii_whitespace() || v[i] == b',') {
                i += 1;
            }
            let s = i;
            while i < v.len() && !(v[i].is_ascii_whitespace() || v[i] == b',') {
                i += 1;
            }
            if s == i {
                break;
            }
            let tok = w.value.get(s..i).unwrap_or("");
            let parsed = match tok.split_once('-') {
                Some((a, b)) => a.parse::<u64>().ok().zip(b.parse::<u64>().ok()),
                None => tok.parse::<u64>().ok().map(|a| (a, a)),
            };
            match parsed {
                Some((start, end)) if start <= end => out.push(IdRange { start, end }),
                _ => {
                    let kind = ErrorKind::Syntax(format!("invalid rule id or range {tok:?}"));
                    return Err(ctx.err(kind, ctx.wspan(w, s, i)));
                }
            }
        }
    }
    if out.is_empty() {
        let w = words.first();
        let span = w.map_or(ctx.span(0, 1), |w| ctx.span(w.start, w.end));
        return Err(ctx.err(
            ErrorKind::Syntax("expected a rule id or range".into()),
            span,
        ));
    }
    Ok(out)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn skip_ws(v: &[u8], mut i: usize) -> usize {
    while i < v.len() && v[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `[!|&]NAME[:selector]|...`
fn parse_variables(ctx: &Ctx<'_>, diag: &mut Diag<'_>, w: &Word) -> Result<Vec<Variable>, Error> {
    let s = w.value.as_str();
    let v = s.as_bytes();
    let n = v.len();
    let sub = |a: usize, b: usize| s.get(a..b).unwrap_or("");
    let mut out = Vec::new();
    let mut i = skip_ws(v, 0);
    loop {
        if i >= n {
            return Err(ctx.err(
                ErrorKind::Syntax("expected a variable".into()),
                ctx.wspan(w, n.saturating_sub(1), n),
            ));
        }
        let start = i;
        let (mut negated, mut count) = (false, false);
        if v[i] == b'!' {
            negated = true;
            i += 1;
        } else if v[i] == b'&' {
            count = true;
            i += 1;
        }
        let ns = i;
        while i < n && is_name_byte(v[i]) {
            i += 1;
        }
        if ns == i {
            return Err(ctx.err(
                ErrorKind::Syntax("expected a variable name".into()),
                ctx.wspan(w, i, (i + 1).min(n)),
            ));
        }
        let name = sub(ns, i);
        let spec = known::variable(name);
        let mut selector = None;
        if i < n && v[i] == b':' {
            i += 1;
            let ss = i;
            let is_xml = spec.is_some_and(|s| s.name == "XML");
            if !is_xml && i < n && v[i] == b'/' {
                let mut j = i + 1;
                while j < n && v[j] != b'/' {
                    if v[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if j >= n {
                    return Err(ctx.err(
                        ErrorKind::Syntax("unterminated /regex/ selector".into()),
                        ctx.wspan(w, ss, ss + 1),
                    ));
                }
                selector = Some(Selector::Regex(sub(i + 1, j).to_owned()));
                i = j + 1;
            } else if !is_xml && i < n && v[i] == b'\'' {
                let Some(rel) = memchr::memchr(b'\'', &v[i + 1..]) else {
                    return Err(ctx.err(
                        ErrorKind::UnterminatedQuote("single-quoted"),
                        ctx.wspan(w, ss, ss + 1),
                    ));
                };
                let j = i + 1 + rel;
                let inner = sub(i + 1, j);
                selector = Some(
                    match inner.strip_prefix('/').and_then(|x| x.strip_suffix('/')) {
                        Some(re) if inner.len() >= 2 => Selector::Regex(re.to_owned()),
                        _ => Selector::Key(inner.to_owned()),
                    },
                );
                i = j + 1;
            } else {
                while i < n && v[i] != b'|' {
                    i += 1;
                }
                let key = sub(ss, i).trim_end();
                if key.is_empty() {
                    return Err(ctx.err(
                        ErrorKind::Syntax(format!("empty selector after {name}:")),
                        ctx.wspan(w, start, ss),
                    ));
                }
                selector = Some(Selector::Key(key.to_owned()));
            }
        }
        let span = ctx.wspan(w, start, i);
        match spec {
            None => diag.unknown(ctx.err(ErrorKind::UnknownVariable(name.to_owned()), span))?,
            Some(spec) if selector.is_some() && !spec.collection => {
                return Err(ctx.err(ErrorKind::SelectorNotAllowed(spec.name), span));
            }
            Some(spec) => out.push(Variable {
                name: spec.name,
                negated,
                count,
                selector,
                span,
            }),
        }
        i = skip_ws(v, i);
        if i >= n {
            break;
        }
        if v[i] != b'|' {
            return Err(ctx.err(
                ErrorKind::Syntax("expected '|' between variables".into()),
                ctx.wspan(w, i, i + 1),
            ));
        }
        i = skip_ws(v, i + 1);
    }
    Ok(out)
}

/// `[!]@name argument` or an implicit `@rx` pattern.
fn parse_operator(ctx: &Ctx<'_>, diag: &mut Diag<'_>, w: &Word) -> Result<Option<Operator>, Error> {
    let s = w.value.as_str();
    let v = s.as_bytes();
    let span = ctx.span(w.start, w.end);
    let mut i = skip_ws(v, 0);
    let negated = i < v.len() && v[i] == b'!';
    if negated {
        i = skip_ws(v, i + 1);
    }
    if i < v.len() && v[i] == b'@' {
        let ns = i + 1;
        let mut j = ns;
        while j < v.len() && !v[j].is_ascii_whitespace() {
            j += 1;
        }
        let name = s.get(ns..j).unwrap_or("");
        let argument = s.get(skip_ws(v, j)..).unwrap_or("").to_owned();
        let Some((canon, arg_rule)) = known::operator(name) else {
            let e = ctx.err(
                ErrorKind::UnknownOperator(name.to_owned()),
                ctx.wspan(w, i, j),
            );
            diag.unknown(e)?;
            return Ok(None);
        };
        if arg_rule == known::Arg::Required && argument.trim().is_empty() {
            return Err(ctx.err(
                ErrorKind::MissingOperatorArgument(canon),
                ctx.wspan(w, i, j),
            ));
        }
        Ok(Some(Operator {
            name: canon,
            negated,
            implicit: false,
            argument,
            span,
        }))
    } else {
        let argument = s.get(i..).unwrap_or("").to_owned();
        Ok(Some(Operator {
            name: "rx",
            negated,
            implicit: true,
            argument,
            span,
        }))
    }
}

/// `name[:value],...`
fn parse_actions(ctx: &Ctx<'_>, diag: &mut Diag<'_>, w: &Word) -> Result<Vec<Action>, Error> {
    let s = w.value.as_str();
    let v = s.as_bytes();
    let n = v.len();
    let mut out = Vec::new();
    let mut i = skip_ws(v, 0);
    while i < n {
        let ns = i;
        while i < n && is_name_byte(v[i]) {
            i += 1;
        }
        if ns == i {
            return Err(ctx.err(
                ErrorKind::Syntax("expected an action name".into()),
                ctx.wspan(w, i, i + 1),
            ));
        }
        let name = s.get(ns..i).unwrap_or("");
        let name_end = i;
        i = skip_ws(v, i);
        let mut value = None;
        if i < n && v[i] == b':' {
            i = skip_ws(v, i + 1);
            if i < n && v[i] == b'\'' {
                let q = i;
                let mut j = i + 1;
                let mut buf = Vec::new();
                loop {
                    if j >= n {
                        return Err(ctx.err(
                            ErrorKind::UnterminatedQuote("single-quoted"),
                            ctx.wspan(w, q, q + 1),
                        ));
                    }
                    if v[j] == b'\\' && j + 1 < n && (v[j + 1] == b'\'' || v[j + 1] == b'\\') {
                        buf.push(v[j + 1]);
                        j += 2;
                    } else if v[j] == b'\'' {
                        break;
                    } else {
                        buf.push(v[j]);
                        j += 1;
                    }
                }
                let text = String::from_utf8(buf)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                value = Some(ActionValue {
                    text,
                    quoted: true,
                    span: ctx.wspan(w, q, j + 1),
                });
                i = j + 1;
            } else {
                let vs = i;
                while i < n && v[i] != b',' {
                    i += 1;
                }
                let text = s.get(vs..i).unwrap_or("").trim_end();
                let span = ctx.wspan(w, vs, vs + text.len());
                value = Some(ActionValue {
                    text: text.to_owned(),
                    quoted: false,
                    span,
                });
            }
        }
        let span = ctx.wspan(w, ns, value.as_ref().map_or(name_end, |_| i));
        i = skip_ws(v, i);
        if i < n {
            if v[i] != b',' {
                return Err(ctx.err(
                    ErrorKind::Syntax("expected ',' between actions".into()),
                    ctx.wspan(w, i, i + 1),
                ));
            }
            i = skip_ws(v, i + 1);
            if i >= n {
                return Err(ctx.err(
                    ErrorKind::Syntax("trailing ',' after the last action".into()),
                    ctx.wspan(w, n.saturating_sub(1), n),
                ));
            }
        }
        let Some((canon, rule)) = known::action(name) else {
            let e = ctx.err(
                ErrorKind::UnknownAction(name.to_owned()),
                ctx.wspan(w, ns, name_end),
            );
            diag.unknown(e)?;
            continue;
        };
        match (&value, rule) {
            (Some(_), known::Value::None) => {
                return Err(ctx.err(ErrorKind::UnexpectedActionValue(canon), span));
            }
            (None, known::Value::Required) => {
                return Err(ctx.err(ErrorKind::MissingActionValue(canon), span));
            }
            _ => {}
        }
        if let Some(val) = value.as_mut() {
            if canon == "t" {
                match known::transformation(val.text.trim()) {
                    Some(t) => val.text = t.to_owned(),
                    None => {
                        let kind = ErrorKind::UnknownTransformation(val.text.clone());
                        diag.unknown(ctx.err(kind, val.span))?;
                        continue;
                    }
                }
            } else if canon == "ctl" {
                let (opt, rest) = match val.text.split_once('=') {
                    Some((o, r)) => (o.trim(), Some(r)),
                    None => (val.text.trim(), None),
                };
                match (known::ctl_option(opt), rest) {
                    (Some(o), Some(r)) => val.text = format!("{o}={r}"),
                    (Some(_), None) => {
                        let kind =
                            ErrorKind::Syntax(format!("ctl:{opt} needs a value (ctl:{opt}=VALUE)"));
                        return Err(ctx.err(kind, val.span));
                    }
                    (None, _) => {
                        diag.unknown(ctx.err(ErrorKind::UnknownCtl(opt.to_owned()), val.span))?;
                        continue;
                    }
                }
            }
        }
        out.push(Action {
            name: canon,
            value,
            span,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*.conf", b"REQUEST-901.conf"));
        assert!(!wildcard_match(b"*.conf", b"REQUEST-900.conf.example"));
        assert!(wildcard_match(b"a?c*", b"abcdef"));
        assert!(wildcard_match(b"*", b""));
        assert!(!wildcard_match(b"a*b", b"acbc"));
        assert!(wildcard_match(b"a*b*c", b"axxbyyc"));
    }

    #[test]
    fn line_maps_logical_to_source() {
        let mut l = Line::default();
        l.push("abc", 10);
        l.push("  de", 20);
        l.src_end = 24;
        assert_eq!(l.src(0), 10);
        assert_eq!(l.src(2), 12);
        assert_eq!(l.src(3), 20);
        assert_eq!(l.src(6), 23);
        assert_eq!(l.src(7), 24);
    }
}
