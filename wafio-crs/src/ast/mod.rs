//! SecLang (ModSecurity rule language) lexer and parser: text → AST.
//!
//! ```no_run
//! use wafio_crs::ast::{ParseOptions, Parser};
//!
//! let mut parser = Parser::new(ParseOptions::default());
//! parser.parse_file("/etc/crs/crs-setup.conf");
//! parser.parse_str("inline.conf", r#"SecRule ARGS "@rx foo" "id:1,phase:2,deny""#);
//! match parser.finish() {
//!     Ok(config) => println!("{} directives", config.directives.len()),
//!     Err(errors) => eprintln!("{errors}"),
//! }
//! ```
//!
//! # Grammar
//!
//! A file is a sequence of *logical lines*: physical lines joined where a
//! line ends with `\` (trailing whitespace after the backslash is ignored;
//! the next line's leading whitespace is kept, as Apache does). Blank lines
//! and lines whose first non-blank character is `#` are skipped. A logical
//! line is a directive name followed by arguments separated by blanks; an
//! argument is bare (up to the next blank), or quoted with `"` or `'`, where
//! `\"` (resp. `\'`) and `\\` are unescaped and any other backslash is kept.
//!
//! `SecRule VARIABLES OPERATOR [ACTIONS]` arguments are parsed further:
//! variables are `|`-separated `[!|&]NAME[:selector]` where a selector is a
//! key, a `/regex/`, a `'quoted'` key or regex, or for `XML` an XPath; the
//! operator is `[!]@name argument` or, without `@`, an implicit `@rx`;
//! actions are `,`-separated `name[:value]` where a value is bare (up to the
//! next `,`) or `'quoted'` (`\'` and `\\` unescaped).
//!
//! Every name (directive, variable, operator, action, transformation, `ctl:`
//! option) is checked against the complete known set, case-insensitively,
//! and stored in its canonical spelling. An unknown name is an error, or a
//! warning in [`ParseOptions::lenient`] mode, where the unknown item (a
//! whole directive for an unknown directive or operator) is dropped.
//!
//! In lenient mode a dropped rule that was part of a chain breaks that
//! chain; [`ir::lower`] then reports the chain error.
//!
//! The typed IR ([`ir`]) is lowered from a [`Config`] with [`ir::lower`].
//!
//! # Limits
//!
//! All input is untrusted: the parser never panics, never recurses except
//! through `Include` (depth-limited), and bounds its work by [`Limits`].

mod error;
pub(crate) mod known;
mod parser;
mod print;
mod span;

/// The typed IR, re-exported here so `ast::ir::…` paths keep working.
pub use crate::ir;

pub use error::{Error, ErrorKind, Level, Location, ParseErrors};
pub use parser::Parser;
pub use span::{FileId, SourceFile, Span};

/// Resource limits of the parser. All are checked; exceeding one is an
/// error naming the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest single rule file, in bytes. Default 16 MiB.
    pub max_file_size: usize,
    /// Largest total of all files read, in bytes. Default 256 MiB.
    pub max_total_size: usize,
    /// Most files (top-level and included). Default 4096.
    pub max_files: usize,
    /// Most directives in total. Default 200,000.
    pub max_directives: usize,
    /// Deepest `Include` nesting. Default 16.
    pub max_include_depth: usize,
    /// Longest logical line (after joining continuations). Default 1 MiB.
    pub max_line_len: usize,
    /// Errors collected before the parser stops. Default 100.
    pub max_errors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 16 << 20,
            max_total_size: 256 << 20,
            max_files: 4096,
            max_directives: 200_000,
            max_include_depth: 16,
            max_line_len: 1 << 20,
            max_errors: 100,
        }
    }
}

/// Parser options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Report unknown directives, variables, operators, actions,
    /// transformations and `ctl:` options as warnings (and drop the item)
    /// instead of errors. Default false.
    pub lenient: bool,
    /// Follow `Include` directives. Default true. When false, `Include` is
    /// an error (for parsing untrusted text, e.g. fuzzing).
    pub allow_include: bool,
    /// Resource limits.
    pub limits: Limits,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            lenient: false,
            allow_include: true,
            limits: Limits::default(),
        }
    }
}

/// Parse one file (and what it includes) with `options`.
pub fn parse_file(
    path: impl AsRef<std::path::Path>,
    options: &ParseOptions,
) -> Result<Config, ParseErrors> {
    let mut p = Parser::new(options.clone());
    p.parse_file(path);
    p.finish()
}

/// Parse rule text; `name` is used in spans and errors and, for `Include`,
/// as the including file's path.
pub fn parse_str(
    name: impl Into<std::path::PathBuf>,
    text: &str,
    options: &ParseOptions,
) -> Result<Config, ParseErrors> {
    let mut p = Parser::new(options.clone());
    p.parse_str(name, text);
    p.finish()
}

/// A parsed configuration: every directive of every file, in order, with
/// included files' directives inline after their `Include`.
#[derive(Debug)]
pub struct Config {
    /// Files read, indexed by [`FileId`].
    pub files: Vec<SourceFile>,
    /// Directives in evaluation order.
    pub directives: Vec<Directive>,
    /// Warnings (lenient mode only).
    pub warnings: Vec<Error>,
}

impl Config {
    /// The file a span points into.
    pub fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(usize::try_from(id.0).ok()?)
    }

    /// The `SecRule` and `SecAction` directives, in order.
    pub fn rules(&self) -> impl Iterator<Item = &Directive> {
        self.directives.iter().filter(|d| {
            matches!(
                d.kind,
                DirectiveKind::SecRule(_) | DirectiveKind::SecAction(_)
            )
        })
    }

    /// A located error for `span` (for later compiler stages).
    pub fn error_at(&self, kind: ErrorKind, span: Span) -> Error {
        match self.file(span.file) {
            Some(f) => Error::at(kind, f, span),
            None => Error::bare(kind),
        }
    }
}

/// How an argument or value was quoted in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quote {
    /// Bare.
    None,
    /// `"…"`.
    Double,
    /// `'…'`.
    Single,
}

/// A directive argument, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The unescaped value.
    pub value: String,
    /// How it was quoted.
    pub quote: Quote,
    /// Where it is, quotes included.
    pub span: Span,
}

/// One directive.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    /// The canonical directive name (`SecRule`, `SecRuleEngine`, ...).
    pub name: &'static str,
    /// The whole logical line.
    pub span: Span,
    /// What it says.
    pub kind: DirectiveKind,
}

/// The directives, parsed according to their kind.
#[derive(Debug, Clone, PartialEq)]
pub enum DirectiveKind {
    /// `SecRule VARIABLES OPERATOR [ACTIONS]`.
    SecRule(SecRule),
    /// `SecAction ACTIONS`.
    SecAction(Vec<Action>),
    /// `SecDefaultAction ACTIONS`.
    SecDefaultAction(Vec<Action>),
    /// `SecMarker NAME`.
    SecMarker(Arg),
    /// `Include PATTERN`, followed in [`Config::directives`] by the
    /// directives of `files`.
    Include {
        /// The pattern as written.
        pattern: Arg,
        /// The files it matched, in the order they were parsed.
        files: Vec<FileId>,
    },
    /// `SecRuleRemoveById ID|RANGE ...`.
    RuleRemoveById(Vec<IdRange>),
    /// `SecRuleRemoveByTag TAG`.
    RuleRemoveByTag(Arg),
    /// `SecRuleRemoveByMsg MSG`.
    RuleRemoveByMsg(Arg),
    /// `SecRuleUpdateTargetBy{Id,Tag,Msg} SELECTOR TARGETS [REPLACED]`.
    RuleUpdateTarget {
        /// Which rules.
        by: RuleSelector,
        /// Variables to add (or, with `!`, to exclude).
        targets: Vec<Variable>,
        /// The variable that the first target replaces, if given.
        replaced: Option<Vec<Variable>>,
    },
    /// `SecRuleUpdateActionById ID[:OFFSET] ACTIONS`.
    RuleUpdateActionById {
        /// The rule id.
        id: u64,
        /// Chain offset (`id:2` is the second rule of the chain), if given.
        chain_offset: Option<u32>,
        /// Actions replacing the rule's ones of the same kind.
        actions: Vec<Action>,
    },
    /// Any other (configuration) directive, with its raw arguments.
    Setting(Vec<Arg>),
}

/// Which rules a `SecRuleUpdateTarget*` directive applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSelector {
    /// Rule ids and ranges.
    Ids(Vec<IdRange>),
    /// Rules with this tag.
    Tag(Arg),
    /// Rules with this message.
    Msg(Arg),
}

/// An inclusive range of rule ids (`5` is `5..=5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// First id.
    pub start: u64,
    /// Last id (inclusive).
    pub end: u64,
}

impl IdRange {
    /// Whether `id` is in the range.
    pub fn contains(&self, id: u64) -> bool {
        self.start <= id && id <= self.end
    }
}

/// `SecRule VARIABLES OPERATOR [ACTIONS]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SecRule {
    /// The variables.
    pub variables: Vec<Variable>,
    /// The operator.
    pub operator: Operator,
    /// The actions (empty when the third argument is absent).
    pub actions: Vec<Action>,
}

/// One variable of a rule: `[!|&]NAME[:selector]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Canonical upper-case name (`ARGS`, `TX`, ...).
    pub name: &'static str,
    /// `!`: an exclusion.
    pub negated: bool,
    /// `&`: count of the matching values instead of the values.
    pub count: bool,
    /// The selector, if any.
    pub selector: Option<Selector>,
    /// Where it is.
    pub span: Span,
}

/// A variable selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// A literal key (`ARGS:foo`), or for `XML` an XPath expression.
    Key(String),
    /// A regular expression (`ARGS:/^foo/`), without the slashes.
    Regex(String),
}

/// `[!]@name argument`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Canonical name without `@` (`rx`, `detectSQLi`, ...).
    pub name: &'static str,
    /// `!@name`.
    pub negated: bool,
    /// No `@name` was written: an implicit `@rx`.
    pub implicit: bool,
    /// The argument (leading blanks removed), possibly empty.
    pub argument: String,
    /// Where the operator argument (whole quoted string) is.
    pub span: Span,
}

/// One action: `name[:value]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Canonical name (`id`, `setvar`, `t`, `ctl`, ...). For `t:` the value
    /// holds the canonical transformation name; for `ctl:` the value starts
    /// with the canonical option name.
    pub name: &'static str,
    /// The value, if any.
    pub value: Option<ActionValue>,
    /// Where the action is.
    pub span: Span,
}

/// An action's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionValue {
    /// Unescaped text.
    pub text: String,
    /// Whether it was single-quoted.
    pub quoted: bool,
    /// Where it is (quotes included).
    pub span: Span,
}

impl Action {
    /// The value's text, or "" when there is none.
    pub fn value_str(&self) -> &str {
        self.value.as_ref().map_or("", |v| v.text.as_str())
    }
}
