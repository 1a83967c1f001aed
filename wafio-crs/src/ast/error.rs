//! Parse errors with file, line, column and a caret under the fault.

use std::fmt;
use std::path::PathBuf;

use super::span::{SourceFile, Span};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid UTF-8.
    #[error("file is not valid UTF-8 (first invalid byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// A file is larger than [`Limits::max_file_size`](super::Limits::max_file_size).
    #[error("file is {size} bytes, more than the limit of {limit} bytes")]
    FileTooLarge {
        /// The file size.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// The total of all files exceeds [`Limits::max_total_size`](super::Limits::max_total_size).
    #[error("rule files total more than the limit of {limit} bytes")]
    TotalSizeExceeded {
        /// The limit.
        limit: usize,
    },
    /// More files than [`Limits::max_files`](super::Limits::max_files).
    #[error("more than {limit} rule files")]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// More directives than [`Limits::max_directives`](super::Limits::max_directives).
    #[error("more than {limit} directives")]
    TooManyDirectives {
        /// The limit.
        limit: usize,
    },
    /// A logical line longer than [`Limits::max_line_len`](super::Limits::max_line_len).
    #[error("logical line longer than {limit} bytes")]
    LineTooLong {
        /// The limit.
        limit: usize,
    },
    /// Includes nested deeper than [`Limits::max_include_depth`](super::Limits::max_include_depth).
    #[error("Include nested deeper than {limit} levels")]
    IncludeTooDeep {
        /// The limit.
        limit: usize,
    },
    /// A file includes itself, directly or not.
    #[error("Include cycle: {} is already being parsed", path.display())]
    IncludeCycle {
        /// The file included again.
        path: PathBuf,
    },
    /// An `Include` pattern matched no file.
    #[error("Include pattern {pattern:?} matches no file")]
    IncludeNoMatch {
        /// The pattern.
        pattern: String,
    },
    /// `Include` was used while [`ParseOptions::allow_include`](super::ParseOptions::allow_include) is off.
    #[error("Include is disabled by the parser options")]
    IncludeDisabled,
    /// A quoted string has no closing quote.
    #[error("unterminated {0} string")]
    UnterminatedQuote(&'static str),
    /// A directive name the parser does not know.
    #[error("unknown directive {0:?}")]
    UnknownDirective(String),
    /// A variable name the parser does not know.
    #[error("unknown variable {0:?}")]
    UnknownVariable(String),
    /// An operator name the parser does not know.
    #[error("unknown operator \"@{0}\"")]
    UnknownOperator(String),
    /// An action name the parser does not know.
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    /// A transformation name the parser does not know.
    #[error("unknown transformation {0:?}")]
    UnknownTransformation(String),
    /// A `ctl:` option the parser does not know.
    #[error("unknown ctl option {0:?}")]
    UnknownCtl(String),
    /// Wrong number of directive arguments.
    #[error("{directive} takes {expected}, found {found}")]
    ArgumentCount {
        /// The directive.
        directive: &'static str,
        /// The expected count, in words.
        expected: String,
        /// How many were given.
        found: usize,
    },
    /// A directive value outside its allowed set.
    #[error("{directive}: invalid value {value:?}, expected one of {expected}")]
    InvalidValue {
        /// The directive.
        directive: &'static str,
        /// The value given.
        value: String,
        /// The allowed values.
        expected: String,
    },
    /// An action that needs a value has none.
    #[error("action {0:?} needs a value")]
    MissingActionValue(&'static str),
    /// An action that takes no value has one.
    #[error("action {0:?} takes no value")]
    UnexpectedActionValue(&'static str),
    /// An operator that needs an argument has none.
    #[error("operator \"@{0}\" needs an argument")]
    MissingOperatorArgument(&'static str),
    /// A selector on a variable that is not a collection.
    #[error("variable {0} is not a collection and takes no selector")]
    SelectorNotAllowed(&'static str),
    /// Anything else that does not fit the grammar.
    #[error("{0}")]
    Syntax(String),
}

/// Where an error is: file, line, column and the source line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub column: u32,
    /// The source line (physical line containing the start of the fault).
    pub source_line: String,
    /// How many characters the caret marks (at least 1).
    pub caret_len: usize,
}

impl Location {
    /// The location of `span` in `file`.
    pub fn new(file: &SourceFile, span: Span) -> Location {
        let (line_text, line_start) = file.line_of(span.start);
        let (line, column) = file.line_col(span.start);
        let line_end = line_start + line_text.len();
        let end = span.end.clamp(span.start, line_end);
        let caret_len = file
            .text()
            .get(span.start..end)
            .map_or(1, |s| s.chars().count())
            .max(1);
        Location {
            path: file.path.clone(),
            line,
            column,
            source_line: line_text.to_owned(),
            caret_len,
        }
    }
}

/// Whether a diagnostic is an error or a (lenient mode) warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The configuration is rejected.
    Error,
    /// Lenient mode: the item was dropped and parsing went on.
    Warning,
}

/// One parse error (or, in lenient mode, warning).
#[derive(Debug)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where, when the fault is inside a file.
    pub location: Option<Box<Location>>,
    /// Error or warning.
    pub level: Level,
}

impl Error {
    pub(crate) fn at(kind: ErrorKind, file: &SourceFile, span: Span) -> Error {
        Error {
            kind,
            location: Some(Box::new(Location::new(file, span))),
            level: Level::Error,
        }
    }

    /// An error without a location.
    pub(crate) fn bare(kind: ErrorKind) -> Error {
        Error {
            kind,
            location: None,
            level: Level::Error,
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

/// Renders like rustc / regex-syntax:
///
/// ```text
/// rules.conf:3:15: error: unknown operator "@foo"
///   |
/// 3 | SecRule ARGS "@foo bar" "id:1,deny"
///   |               ^^^^
/// ```
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        let Some(loc) = &self.location else {
            return write!(f, "{level}: {}", self.kind);
        };
        let (path, line, col) = (loc.path.display(), loc.line, loc.column);
        writeln!(f, "{path}:{line}:{col}: {level}: {}", self.kind)?;
        let num = loc.line.to_string();
        let pad = " ".repeat(num.len());
        // Tabs are shown as single spaces so the caret lines up.
        let shown: String = loc
            .source_line
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        writeln!(f, "{pad} |")?;
        writeln!(f, "{num} | {shown}")?;
        let indent = " ".repeat(usize::try_from(loc.column).unwrap_or(1).saturating_sub(1));
        write!(f, "{pad} | {indent}{}", "^".repeat(loc.caret_len))
    }
}

/// All errors of a parse (at most [`Limits::max_errors`](super::Limits::max_errors)).
#[derive(Debug)]
pub struct ParseErrors {
    /// The errors, in source order.
    pub errors: Vec<Error>,
}

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseErrors {}
