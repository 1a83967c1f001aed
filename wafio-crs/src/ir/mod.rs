//! SecLang IR: typed rules lowered from the [AST](crate::ast).
//!
//! ```no_run
//! use wafio_crs::ast::{parse_file, ParseOptions};
//! use wafio_crs::ir::{lower, LowerOptions};
//!
//! let config = parse_file("/etc/crs/main.conf", &ParseOptions::default()).expect("parse");
//! let rules = lower(&config, &LowerOptions::default()).expect("lower");
//! println!("{}", rules.debug_ir());
//! ```
//!
//! Lowering, in directive order:
//! - builds one [`Rule`] per `SecRule`/`SecAction`, chained rules nested in
//!   [`Rule::chain`] (chains longer than [`LowerOptions::max_chain_len`] are
//!   an error);
//! - applies the last `SecDefaultAction` of the rule's phase first, then
//!   the rule's own actions (single-valued actions override, `t:none`
//!   clears inherited transformations);
//! - applies `SecRuleRemoveById/ByTag/ByMsg`, `SecRuleUpdateTargetBy*` and
//!   `SecRuleUpdateActionById` to the rules defined before them (as
//!   ModSecurity does at load time);
//! - checks every `@rx` pattern and regex selector with
//!   `regex::bytes::RegexBuilder` (`unicode(false)`, so `\xHH` matches the
//!   raw byte); PCRE-only syntax (look-around, backreferences, possessive
//!   quantifiers...) is an error naming the rule;
//! - checks that every `skipAfter` names a marker or rule that exists.
//!
//! `SecRuleUpdateActionById` appends the new actions after the rule's
//! actions and re-lowers the rule: single-valued actions (phase, msg,
//! severity, disruptive...) are replaced, multi-valued ones (tag, setvar,
//! ctl, t) are added to.

mod print;

use crate::ast::{
    self, Config, DirectiveKind, Error, ErrorKind, IdRange, ParseErrors, RuleSelector, Selector,
    Span,
};

/// Options of [`lower`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerOptions {
    /// Compile every regex to check it. Default true.
    pub check_regexes: bool,
    /// `regex` size limit per pattern, in bytes of compiled program.
    /// Default 64 MiB.
    pub regex_size_limit: usize,
    /// Longest chain (rules including the head). Default 64.
    pub max_chain_len: usize,
}

impl Default for LowerOptions {
    fn default() -> Self {
        LowerOptions {
            check_regexes: true,
            regex_size_limit: 64 << 20,
            max_chain_len: 64,
        }
    }
}

/// The lowered rule set.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Rules and markers in evaluation order (engines group them per phase
    /// keeping this order).
    pub items: Vec<Item>,
    /// Configuration directives (`SecRuleEngine`, body limits, ...) as
    /// `(canonical name, arguments)`, in order.
    pub settings: Vec<(&'static str, Vec<String>)>,
    /// Non-fatal findings (e.g. an exclusion that matches no target).
    pub warnings: Vec<String>,
}

impl RuleSet {
    /// Every top-level rule, in order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.items.iter().filter_map(|i| match i {
            Item::Rule(r) => Some(&**r),
            Item::Marker { .. } => None,
        })
    }

    /// The rule with `id`, if any.
    pub fn rule(&self, id: u64) -> Option<&Rule> {
        self.rules().find(|r| r.id == id)
    }
}

/// A rule set element.
#[derive(Debug, Clone)]
pub enum Item {
    /// A rule (chain head).
    Rule(Box<Rule>),
    /// `SecMarker NAME`: a `skipAfter` target.
    Marker {
        /// The marker name.
        name: String,
        /// Where it is.
        span: Span,
    },
}

/// A typed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule id (chained rules carry their head's id).
    pub id: u64,
    /// Phase 1–5.
    pub phase: u8,
    /// `SecAction`: no targets, always matches.
    pub unconditional: bool,
    /// Targets (empty for `SecAction`).
    pub targets: Vec<Target>,
    /// The operator.
    pub operator: Operator,
    /// Transformations in order, after `t:none` handling.
    pub transforms: Vec<Transform>,
    /// The disruptive action, if any (head rule only is meaningful).
    pub disruptive: Option<Disruptive>,
    /// HTTP status for `deny`/`redirect`.
    pub status: Option<u16>,
    /// `skip:N`.
    pub skip: Option<u32>,
    /// `skipAfter:MARKER`.
    pub skip_after: Option<String>,
    /// `setvar` operations in order.
    pub setvars: Vec<SetVar>,
    /// `ctl` operations in order.
    pub ctls: Vec<Ctl>,
    /// `capture`.
    pub capture: bool,
    /// `multiMatch`.
    pub multi_match: bool,
    /// `log`/`nolog` (None: not said).
    pub log: Option<bool>,
    /// `auditlog`/`noauditlog` (None: not said).
    pub auditlog: Option<bool>,
    /// Logging metadata.
    pub meta: Meta,
    /// Other actions kept as written (`initcol`, `expirevar`, `setenv`, ...).
    pub other: Vec<ast::Action>,
    /// The next rule of the chain.
    pub chain: Option<Box<Rule>>,
    /// Where the rule is.
    pub span: Span,
    /// The actions the rule was lowered from (for `SecRuleUpdateActionById`).
    actions: Vec<ast::Action>,
    /// The default actions applied.
    defaults: Vec<ast::Action>,
    has_chain_action: bool,
}

/// Logging metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// `msg`.
    pub msg: Option<Template>,
    /// `logdata`.
    pub logdata: Option<Template>,
    /// `tag`s.
    pub tags: Vec<String>,
    /// `severity` 0 (EMERGENCY) to 7 (DEBUG).
    pub severity: Option<u8>,
    /// `ver`.
    pub ver: Option<String>,
    /// `rev`.
    pub rev: Option<String>,
    /// `maturity`.
    pub maturity: Option<u8>,
    /// `accuracy`.
    pub accuracy: Option<u8>,
    /// N of a `paranoia-level/N` tag.
    pub paranoia_level: Option<u8>,
}

/// A rule target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Canonical variable/collection name.
    pub collection: &'static str,
    /// Which members.
    pub selector: TargetSelector,
    /// Members excluded with `!COLLECTION:sel`.
    pub exclusions: Vec<TargetSelector>,
    /// `&`: count.
    pub count: bool,
}

/// Which members of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSelector {
    /// All.
    All,
    /// Key, compared case-insensitively for headers/cookies/TX by engines.
    Key(String),
    /// Regex on the key.
    Regex(String),
}

/// The operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Which.
    pub kind: OperatorKind,
    /// `!@op`.
    pub negated: bool,
    /// The argument as written (may contain `%{macros}` for string and
    /// numeric operators).
    pub arg: String,
}

macro_rules! name_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum $name { $($v),* }

        impl $name {
            /// The canonical SecLang name.
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }

            /// By canonical name (as stored in the AST).
            pub fn from_name(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$v),)* _ => None }
            }
        }
    };
}

name_enum!(
    /// Every operator.
    OperatorKind {
        Rx = "rx", RxGlobal = "rxGlobal", Pm = "pm", PmFromFile = "pmFromFile",
        DetectSqli = "detectSQLi", DetectXss = "detectXSS", Within = "within",
        Streq = "streq", Strmatch = "strmatch", Eq = "eq", Ge = "ge", Gt = "gt", Lt = "lt",
        Le = "le", BeginsWith = "beginsWith", EndsWith = "endsWith", Contains = "contains",
        ContainsWord = "containsWord", IpMatch = "ipMatch", IpMatchFromFile = "ipMatchFromFile",
        ValidateByteRange = "validateByteRange", ValidateUrlEncoding = "validateUrlEncoding",
        ValidateUtf8Encoding = "validateUtf8Encoding", ValidateDtd = "validateDTD",
        ValidateSchema = "validateSchema", ValidateHash = "validateHash",
        UnconditionalMatch = "unconditionalMatch", NoMatch = "noMatch", Rbl = "rbl",
        GeoLookup = "geoLookup", GsbLookup = "gsbLookup", InspectFile = "inspectFile",
        FuzzyHash = "fuzzyHash", VerifyCc = "verifyCC", VerifyCpf = "verifyCPF",
        VerifySsn = "verifySSN", VerifySvnr = "verifySVNR", Rsub = "rsub",
    }
);

name_enum!(
    /// Every transformation (`normalisePath` spellings map to `normalizePath`).
    Transform {
        Base64Decode = "base64Decode", Base64DecodeExt = "base64DecodeExt",
        Base64Encode = "base64Encode", CmdLine = "cmdLine",
        CompressWhitespace = "compressWhitespace", CssDecode = "cssDecode",
        EscapeSeqDecode = "escapeSeqDecode", HexDecode = "hexDecode", HexEncode = "hexEncode",
        HtmlEntityDecode = "htmlEntityDecode", JsDecode = "jsDecode", Length = "length",
        Lowercase = "lowercase", Md5 = "md5", NormalizePath = "normalizePath",
        NormalizePathWin = "normalizePathWin", ParityEven7bit = "parityEven7bit",
        ParityOdd7bit = "parityOdd7bit", ParityZero7bit = "parityZero7bit",
        RemoveComments = "removeComments", RemoveCommentsChar = "removeCommentsChar",
        RemoveNulls = "removeNulls", RemoveWhitespace = "removeWhitespace",
        ReplaceComments = "replaceComments", ReplaceNulls = "replaceNulls", Sha1 = "sha1",
        SqlHexDecode = "sqlHexDecode", Trim = "trim", TrimLeft = "trimLeft",
        TrimRight = "trimRight", Uppercase = "uppercase", UrlDecode = "urlDecode",
        UrlDecodeUni = "urlDecodeUni", UrlEncode = "urlEncode", Utf8ToUnicode = "utf8toUnicode",
    }
);

/// Disruptive actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disruptive {
    /// `pass`.
    Pass,
    /// `block` (resolved by the engine from `SecDefaultAction`/mode).
    Block,
    /// `deny`.
    Deny,
    /// `drop`.
    Drop,
    /// `allow` or `allow:phase` / `allow:request`.
    Allow(Option<String>),
    /// `redirect:URL`.
    Redirect(Template),
    /// `proxy:URL`.
    Proxy(Template),
    /// `pause:MS`.
    Pause(u32),
}

/// A string with `%{COLLECTION.key}` macros.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    /// The parts in order.
    pub parts: Vec<TemplatePart>,
}

/// A template part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text.
    Literal(String),
    /// `%{NAME}` or `%{NAME.key}`: canonical variable name and key.
    Macro {
        /// Canonical variable name (`TX`, `MATCHED_VAR`, `RULE`, ...).
        variable: &'static str,
        /// The key after the dot, if any.
        key: Option<String>,
    },
}

impl Template {
    /// Whether the template has no macro.
    pub fn is_literal(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, TemplatePart::Literal(_)))
    }

    /// Parses `%{...}` macros; an unknown variable name is an error message.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(pos) = rest.find("%{") {
            let Some(close) = rest[pos + 2..].find('}') else {
                break;
            };
            let inner = &rest[pos + 2..pos + 2 + close];
            let (name, key) = match inner.split_once('.') {
                Some((n, k)) => (n, Some(k.to_owned())),
                None => (inner, None),
            };
            let Some(spec) = crate::ast::known::variable(name.trim()) else {
                return Err(format!("unknown variable {name:?} in macro %{{{inner}}}"));
            };
            if pos > 0 {
                parts.push(TemplatePart::Literal(rest[..pos].to_owned()));
            }
            parts.push(TemplatePart::Macro {
                variable: spec.name,
                key,
            });
            rest = &rest[pos + 2 + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Literal(rest.to_owned()));
        }
        Ok(Template { parts })
    }
}

/// A `setvar` operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetVar {
    /// Collection, lower-case (`tx`, `ip`, `global`, ...).
    pub collection: String,
    /// Variable name (may contain macros).
    pub key: Template,
    /// What to do.
    pub op: SetVarOp,
}

/// The `setvar` operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetVarOp {
    /// `=value` (`setvar:tx.x` alone sets "1").
    Set(Template),
    /// `=+value`.
    Add(Template),
    /// `=-value`.
    Sub(Template),
    /// `!tx.x`.
    Delete,
}

/// A `ctl` operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ctl {
    /// `ruleRemoveById=ID|RANGE`.
    RuleRemoveById(Vec<IdRange>),
    /// `ruleRemoveByTag=TAG`.
    RuleRemoveByTag(String),
    /// `ruleRemoveByMsg=MSG`.
    RuleRemoveByMsg(String),
    /// `ruleRemoveTargetBy{Id,Tag,Msg}=X;TARGET`.
    RuleRemoveTarget {
        /// Which rules (ids, a tag or a message).
        by: CtlSelector,
        /// The target removed.
        collection: &'static str,
        /// The member removed.
        selector: TargetSelector,
    },
    /// Any other option (`ruleEngine`, `requestBodyProcessor`, ...) with
    /// its value.
    Set {
        /// Canonical option name.
        option: &'static str,
        /// The value.
        value: String,
    },
}

/// Which rules a `ctl:ruleRemoveTarget*` applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtlSelector {
    /// Ids and ranges.
    Ids(Vec<IdRange>),
    /// Tag.
    Tag(String),
    /// Message.
    Msg(String),
}

/// Lower a parsed configuration.
pub fn lower(config: &Config, options: &LowerOptions) -> Result<RuleSet, ParseErrors> {
    let mut l = Lowerer {
        config,
        options,
        set: RuleSet::default(),
        errors: Vec::new(),
        defaults: Default::default(),
    };
    l.run();
    if l.errors.is_empty() {
        Ok(l.set)
    } else {
        Err(ParseErrors { errors: l.errors })
    }
}

struct Lowerer<'a> {
    config: &'a Config,
    options: &'a LowerOptions,
    set: RuleSet,
    errors: Vec<Error>,
    /// `SecDefaultAction` per phase 1–5 (index 0 unused).
    defaults: [Vec<ast::Action>; 6],
}

fn invalid(msg: impl Into<String>) -> ErrorKind {
    ErrorKind::Syntax(msg.into())
}

impl Lowerer<'_> {
    fn err(&mut self, kind: ErrorKind, span: Span) {
        let e = self.config.error_at(kind, span);
        self.errors.push(e);
    }

    fn run(&mut self) {
        let mut chain: Vec<Rule> = Vec::new();
        for d in &self.config.directives {
            let is_rule = matches!(
                d.kind,
                DirectiveKind::SecRule(_) | DirectiveKind::SecAction(_)
            );
            if !chain.is_empty() && !matches!(d.kind, DirectiveKind::SecRule(_)) {
                self.err(
                    invalid("a chained rule must be followed by a SecRule"),
                    d.span,
                );
                chain.clear();
            }
            if is_rule {
                let parent = chain.first();
                let Some(mut rule) = self.lower_rule(d, parent) else {
                    chain.clear();
                    continue;
                };
                if let Some(p) = parent {
                    rule.id = p.id;
                    rule.phase = p.phase;
                }
                if rule.has_chain_action {
                    if chain.len() + 1 >= self.options.max_chain_len {
                        let limit = self.options.max_chain_len;
                        self.err(invalid(format!("chain longer than {limit} rules")), d.span);
                        chain.clear();
                        continue;
                    }
                    chain.push(rule);
                    continue;
                }
                let mut child = rule;
                while let Some(mut p) = chain.pop() {
                    p.chain = Some(Box::new(child));
                    child = p;
                }
                self.set.items.push(Item::Rule(Box::new(child)));
                continue;
            }
            match &d.kind {
                DirectiveKind::SecMarker(a) => self.set.items.push(Item::Marker {
                    name: a.value.clone(),
                    span: d.span,
                }),
                DirectiveKind::SecDefaultAction(actions) => {
                    let phase = actions
                        .iter()
                        .rev()
                        .find(|a| a.name == "phase")
                        .map(|a| parse_phase(a.value_str()));
                    match phase {
                        Some(Some(p)) => self.defaults[usize::from(p)] = actions.clone(),
                        _ => self.err(invalid("SecDefaultAction needs a valid phase"), d.span),
                    }
                }
                DirectiveKind::RuleRemoveById(ids) => {
                    self.set.items.retain(|i| match i {
                        Item::Rule(r) => !ids.iter().any(|x| x.contains(r.id)),
                        Item::Marker { .. } => true,
                    });
                }
                DirectiveKind::RuleRemoveByTag(t) => {
                    let t = &t.value;
                    self.set.items.retain(|i| match i {
                        Item::Rule(r) => !r.meta.tags.iter().any(|x| x == t),
                        Item::Marker { .. } => true,
                    });
                }
                DirectiveKind::RuleRemoveByMsg(m) => {
                    let m = &m.value;
                    self.set.items.retain(|i| match i {
                        Item::Rule(r) => !r.meta.msg.as_ref().is_some_and(|x| template_eq(x, m)),
                        Item::Marker { .. } => true,
                    });
                }
                DirectiveKind::RuleUpdateTarget {
                    by,
                    targets,
                    replaced,
                } => self.update_targets(by, targets, replaced.as_deref(), d.span),
                DirectiveKind::RuleUpdateActionById { id, actions, .. } => {
                    self.update_actions(*id, actions, d.span)
                }
                DirectiveKind::Setting(args) => self
                    .set
                    .settings
                    .push((d.name, args.iter().map(|a| a.value.clone()).collect())),
                DirectiveKind::Include { .. } => {}
                DirectiveKind::SecRule(_) | DirectiveKind::SecAction(_) => {}
            }
        }
        if let Some(last) = chain.last() {
            let span = last.span;
            self.err(
                invalid("the last rule has `chain` but no rule follows"),
                span,
            );
        }
        self.check_skip_after();
    }

    fn lower_rule(&mut self, d: &ast::Directive, parent: Option<&Rule>) -> Option<Rule> {
        let (variables, operator, actions): (&[ast::Variable], Option<&ast::Operator>, _) =
            match &d.kind {
                DirectiveKind::SecRule(r) => (&r.variables, Some(&r.operator), &r.actions),
                DirectiveKind::SecAction(a) => (&[], None, a),
                _ => return None,
            };
        let phase = match parent {
            Some(p) => p.phase,
            None => match actions.iter().rev().find(|a| a.name == "phase") {
                Some(a) => match parse_phase(a.value_str()) {
                    Some(p) => p,
                    None => {
                        self.err(
                            invalid(format!("invalid phase {:?}", a.value_str())),
                            a.span,
                        );
                        return None;
                    }
                },
                None => 2,
            },
        };
        let defaults = self.defaults[usize::from(phase)].clone();
        let operator = match operator {
            Some(op) => {
                let Some(kind) = OperatorKind::from_name(canonical_op(op.name)) else {
                    self.err(
                        invalid(format!("operator @{} is not supported", op.name)),
                        op.span,
                    );
                    return None;
                };
                Operator {
                    kind,
                    negated: op.negated,
                    arg: op.argument.clone(),
                }
            }
            None => Operator {
                kind: OperatorKind::UnconditionalMatch,
                negated: false,
                arg: String::new(),
            },
        };
        let mut rule = Rule {
            id: 0,
            phase,
            unconditional: matches!(d.kind, DirectiveKind::SecAction(_)),
            targets: Vec::new(),
            operator,
            transforms: Vec::new(),
            disruptive: None,
            status: None,
            skip: None,
            skip_after: None,
            setvars: Vec::new(),
            ctls: Vec::new(),
            capture: false,
            multi_match: false,
            log: None,
            auditlog: None,
            meta: Meta::default(),
            other: Vec::new(),
            chain: None,
            span: d.span,
            actions: actions.clone(),
            defaults,
            has_chain_action: false,
        };
        self.set_targets(&mut rule, variables);
        if !self.apply_actions(&mut rule) {
            return None;
        }
        if parent.is_none() && rule.id == 0 {
            self.err(invalid("rule has no id"), d.span);
            return None;
        }
        if self.options.check_regexes {
            self.check_rule_regexes(&rule, d, parent.map_or(rule.id, |p| p.id));
        }
        Some(rule)
    }

    fn set_targets(&mut self, rule: &mut Rule, variables: &[ast::Variable]) {
        for v in variables.iter().filter(|v| !v.negated) {
            rule.targets.push(Target {
                collection: v.name,
                selector: selector_of(v.selector.as_ref()),
                exclusions: Vec::new(),
                count: v.count,
            });
        }
        for v in variables.iter().filter(|v| v.negated) {
            self.add_exclusion(rule, v);
        }
    }

    fn add_exclusion(&mut self, rule: &mut Rule, v: &ast::Variable) {
        let sel = selector_of(v.selector.as_ref());
        let mut hit = false;
        for t in rule.targets.iter_mut().filter(|t| t.collection == v.name) {
            t.exclusions.push(sel.clone());
            hit = true;
        }
        if !hit {
            self.set.warnings.push(format!(
                "rule {}: exclusion !{} matches no target of the rule",
                rule.id, v.name
            ));
        }
    }

    /// Applies defaults then the rule's actions; false on error.
    fn apply_actions(&mut self, rule: &mut Rule) -> bool {
        let defaults = std::mem::take(&mut rule.defaults);
        let actions = rule.actions.clone();
        let mut ok = true;
        for (is_default, a) in defaults
            .iter()
            .map(|a| (true, a))
            .chain(actions.iter().map(|a| (false, a)))
        {
            // Defaults contribute transformations, disruptive and logging
            // actions only (never id/phase/chain/skip/meta).
            if is_default
                && !matches!(
                    a.name,
                    "t" | "pass"
                        | "block"
                        | "deny"
                        | "drop"
                        | "allow"
                        | "redirect"
                        | "status"
                        | "log"
                        | "nolog"
                        | "auditlog"
                        | "noauditlog"
                )
            {
                continue;
            }
            if let Err(kind) = apply_action(rule, a) {
                self.err(kind, a.span);
                ok = false;
            }
        }
        rule.defaults = defaults;
        ok
    }

    fn check_rule_regexes(&mut self, rule: &Rule, d: &ast::Directive, id: u64) {
        let mut patterns: Vec<(&str, Span)> = Vec::new();
        if let DirectiveKind::SecRule(r) = &d.kind {
            if matches!(
                rule.operator.kind,
                OperatorKind::Rx | OperatorKind::RxGlobal
            ) {
                patterns.push((&r.operator.argument, r.operator.span));
            }
            for v in &r.variables {
                if let Some(Selector::Regex(re)) = &v.selector {
                    patterns.push((re, v.span));
                }
            }
        }
        for (p, span) in patterns {
            if rule.operator.arg.contains("%{") && p == rule.operator.arg {
                continue; // macro-expanded at run time
            }
            if let Err(e) = check_regex(p, self.options.regex_size_limit) {
                let kind = invalid(format!("rule {id}: regex does not compile: {e}"));
                self.err(kind, span);
            }
        }
    }

    fn update_targets(
        &mut self,
        by: &RuleSelector,
        targets: &[ast::Variable],
        replaced: Option<&[ast::Variable]>,
        span: Span,
    ) {
        let mut items = std::mem::take(&mut self.set.items);
        let mut found = false;
        for item in &mut items {
            let Item::Rule(rule) = item else { continue };
            let selected = match by {
                RuleSelector::Ids(ids) => ids.iter().any(|r| r.contains(rule.id)),
                RuleSelector::Tag(t) => rule.meta.tags.contains(&t.value),
                RuleSelector::Msg(m) => rule
                    .meta
                    .msg
                    .as_ref()
                    .is_some_and(|x| template_eq(x, &m.value)),
            };
            if !selected {
                continue;
            }
            found = true;
            if let Some(old) = replaced {
                rule.targets.retain(|t| {
                    !old.iter().any(|o| {
                        o.name == t.collection && selector_of(o.selector.as_ref()) == t.selector
                    })
                });
            }
            for v in targets {
                if v.negated {
                    self.add_exclusion(rule, v);
                } else {
                    rule.targets.push(Target {
                        collection: v.name,
                        selector: selector_of(v.selector.as_ref()),
                        exclusions: Vec::new(),
                        count: v.count,
                    });
                }
            }
        }
        self.set.items = items;
        if !found {
            self.set.warnings.push(format!(
                "{}:{}: SecRuleUpdateTarget matches no rule defined before it",
                self.config
                    .file(span.file)
                    .map_or_else(String::new, |f| f.path.display().to_string()),
                span.line
            ));
        }
    }

    fn update_actions(&mut self, id: u64, actions: &[ast::Action], span: Span) {
        let mut items = std::mem::take(&mut self.set.items);
        let mut found = false;
        for item in &mut items {
            let Item::Rule(rule) = item else { continue };
            if rule.id != id {
                continue;
            }
            found = true;
            let mut merged = rule.actions.clone();
            merged.extend(actions.iter().cloned());
            // Re-lower from the merged actions, keeping targets and chain.
            let mut fresh = Rule {
                transforms: Vec::new(),
                disruptive: None,
                status: None,
                skip: None,
                skip_after: None,
                setvars: Vec::new(),
                ctls: Vec::new(),
                capture: false,
                multi_match: false,
                log: None,
                auditlog: None,
                meta: Meta::default(),
                other: Vec::new(),
                actions: merged,
                has_chain_action: false,
                ..(**rule).clone()
            };
            if self.apply_actions(&mut fresh) {
                **rule = fresh;
            }
        }
        self.set.items = items;
        if !found {
            self.err(
                invalid(format!("SecRuleUpdateActionById: no rule {id} before it")),
                span,
            );
        }
    }

    fn check_skip_after(&mut self) {
        let mut missing = Vec::new();
        for (i, item) in self.set.items.iter().enumerate() {
            let Item::Rule(r) = item else { continue };
            let Some(target) = &r.skip_after else {
                continue;
            };
            let exists = self.set.items[i + 1..].iter().any(|it| match it {
                Item::Marker { name, .. } => name == target,
                Item::Rule(x) => x.id.to_string() == *target,
            });
            if !exists {
                missing.push((r.id, target.clone(), r.span));
            }
        }
        for (id, target, span) in missing {
            self.err(
                invalid(format!(
                    "rule {id}: skipAfter:{target} names no later marker or rule"
                )),
                span,
            );
        }
    }
}

fn canonical_op(name: &str) -> &str {
    match name {
        "pmf" => "pmFromFile",
        "ipMatchF" => "ipMatchFromFile",
        other => other,
    }
}

fn selector_of(s: Option<&Selector>) -> TargetSelector {
    match s {
        None => TargetSelector::All,
        Some(Selector::Key(k)) => TargetSelector::Key(k.clone()),
        Some(Selector::Regex(r)) => TargetSelector::Regex(r.clone()),
    }
}

fn template_eq(t: &Template, s: &str) -> bool {
    matches!(t.parts.as_slice(), [TemplatePart::Literal(l)] if l == s)
}

/// `1`..`5`, `request` (2), `response` (4), `logging` (5).
fn parse_phase(s: &str) -> Option<u8> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" => Some(1),
        "2" | "request" => Some(2),
        "3" => Some(3),
        "4" | "response" => Some(4),
        "5" | "logging" => Some(5),
        _ => None,
    }
}

fn parse_severity(s: &str) -> Option<u8> {
    const NAMES: [&str; 8] = [
        "EMERGENCY",
        "ALERT",
        "CRITICAL",
        "ERROR",
        "WARNING",
        "NOTICE",
        "INFO",
        "DEBUG",
    ];
    let s = s.trim();
    if let Ok(n) = s.parse::<u8>() {
        return (n <= 7).then_some(n);
    }
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .and_then(|p| u8::try_from(p).ok())
}

fn template(s: &str) -> Result<Template, ErrorKind> {
    Template::parse(s).map_err(ErrorKind::Syntax)
}

fn parse_num<T: std::str::FromStr>(a: &ast::Action) -> Result<T, ErrorKind> {
    a.value_str()
        .trim()
        .parse()
        .map_err(|_| invalid(format!("{}: invalid number {:?}", a.name, a.value_str())))
}

fn apply_action(rule: &mut Rule, a: &ast::Action) -> Result<(), ErrorKind> {
    let v = a.value_str();
    match a.name {
        "id" => {
            let id: u64 = parse_num(a)?;
            if id == 0 {
                return Err(invalid("id: 0 is not a valid rule id"));
            }
            rule.id = id;
        }
        "phase" => {} // handled by lower_rule
        "chain" => rule.has_chain_action = true,
        "t" => {
            if v == "none" {
                rule.transforms.clear();
            } else {
                let name = match v {
                    "normalisePath" => "normalizePath",
                    "normalisePathWin" => "normalizePathWin",
                    other => other,
                };
                let t = Transform::from_name(name)
                    .ok_or_else(|| invalid(format!("unknown transformation {v:?}")))?;
                rule.transforms.push(t);
            }
        }
        "pass" => rule.disruptive = Some(Disruptive::Pass),
        "block" => rule.disruptive = Some(Disruptive::Block),
        "deny" => rule.disruptive = Some(Disruptive::Deny),
        "drop" => rule.disruptive = Some(Disruptive::Drop),
        "allow" => {
            let scope = a.value.as_ref().map(|x| x.text.to_ascii_lowercase());
            if let Some(s) = &scope {
                if s != "phase" && s != "request" {
                    return Err(invalid(format!("allow: invalid scope {s:?}")));
                }
            }
            rule.disruptive = Some(Disruptive::Allow(scope));
        }
        "redirect" => rule.disruptive = Some(Disruptive::Redirect(template(v.trim())?)),
        "proxy" => rule.disruptive = Some(Disruptive::Proxy(template(v.trim())?)),
        "pause" => rule.disruptive = Some(Disruptive::Pause(parse_num(a)?)),
        "status" => {
            let s: u16 = parse_num(a)?;
            if !(100..=599).contains(&s) {
                return Err(invalid(format!("status: {s} is not an HTTP status")));
            }
            rule.status = Some(s);
        }
        "skip" => rule.skip = Some(parse_num(a)?),
        "skipAfter" => rule.skip_after = Some(v.trim().to_owned()),
        "capture" => rule.capture = true,
        "multiMatch" => rule.multi_match = true,
        "log" => rule.log = Some(true),
        "nolog" => rule.log = Some(false),
        "auditlog" => rule.auditlog = Some(true),
        "noauditlog" => rule.auditlog = Some(false),
        "msg" => rule.meta.msg = Some(template(v)?),
        "logdata" => rule.meta.logdata = Some(template(v)?),
        "tag" => {
            if let Some(n) = v.strip_prefix("paranoia-level/") {
                rule.meta.paranoia_level = n.parse().ok();
            }
            rule.meta.tags.push(v.to_owned());
        }
        "severity" => {
            rule.meta.severity =
                Some(parse_severity(v).ok_or_else(|| invalid(format!("invalid severity {v:?}")))?);
        }
        "ver" => rule.meta.ver = Some(v.to_owned()),
        "rev" => rule.meta.rev = Some(v.to_owned()),
        "maturity" => rule.meta.maturity = Some(parse_num(a)?),
        "accuracy" => rule.meta.accuracy = Some(parse_num(a)?),
        "setvar" => rule.setvars.push(parse_setvar(v)?),
        "ctl" => rule.ctls.push(parse_ctl(v)?),
        _ => rule.other.push(a.clone()),
    }
    Ok(())
}

fn parse_setvar(v: &str) -> Result<SetVar, ErrorKind> {
    let v = v.trim();
    let (delete, v) = match v.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let (name, value) = match v.split_once('=') {
        Some((n, val)) => (n.trim(), Some(val)),
        None => (v, None),
    };
    let Some((collection, key)) = name.split_once('.') else {
        return Err(invalid(format!("setvar: {name:?} is not COLLECTION.NAME")));
    };
    if key.is_empty() {
        return Err(invalid(format!("setvar: {name:?} has an empty name")));
    }
    let collection = collection.to_ascii_lowercase();
    if !matches!(
        collection.as_str(),
        "tx" | "ip" | "global" | "session" | "user" | "resource"
    ) {
        return Err(invalid(format!(
            "setvar: unknown collection {collection:?}"
        )));
    }
    let op = match (delete, value) {
        (true, None) => SetVarOp::Delete,
        (true, Some(_)) => return Err(invalid("setvar: !NAME takes no value")),
        (false, None) => SetVarOp::Set(Template::parse("1").map_err(invalid)?),
        (false, Some(val)) => {
            if let Some(n) = val.strip_prefix('+') {
                SetVarOp::Add(template(n)?)
            } else if let Some(n) = val.strip_prefix('-') {
                SetVarOp::Sub(template(n)?)
            } else {
                SetVarOp::Set(template(val)?)
            }
        }
    };
    Ok(SetVar {
        collection,
        key: template(key)?,
        op,
    })
}

fn parse_ids(s: &str) -> Result<Vec<IdRange>, ErrorKind> {
    let mut out = Vec::new();
    for tok in s.split([',', ' ']).filter(|t| !t.is_empty()) {
        let r = match tok.split_once('-') {
            Some((a, b)) => a.trim().parse().ok().zip(b.trim().parse().ok()),
            None => tok.trim().parse().ok().map(|a| (a, a)),
        };
        match r {
            Some((start, end)) if start <= end => out.push(IdRange { start, end }),
            _ => return Err(invalid(format!("invalid rule id or range {tok:?}"))),
        }
    }
    if out.is_empty() {
        return Err(invalid("expected a rule id or range"));
    }
    Ok(out)
}

fn parse_ctl(v: &str) -> Result<Ctl, ErrorKind> {
    // The AST guarantees `option=value` with a canonical option.
    let (opt, value) = v.split_once('=').unwrap_or((v, ""));
    let option = crate::ast::known::ctl_option(opt)
        .ok_or_else(|| invalid(format!("unknown ctl option {opt:?}")))?;
    Ok(match option {
        "ruleRemoveById" => Ctl::RuleRemoveById(parse_ids(value)?),
        "ruleRemoveByTag" => Ctl::RuleRemoveByTag(value.to_owned()),
        "ruleRemoveByMsg" => Ctl::RuleRemoveByMsg(value.to_owned()),
        "ruleRemoveTargetById" | "ruleRemoveTargetByTag" | "ruleRemoveTargetByMsg" => {
            let Some((sel, target)) = value.split_once(';') else {
                return Err(invalid(format!("ctl:{option} needs SELECTOR;TARGET")));
            };
            let by = match option {
                "ruleRemoveTargetById" => CtlSelector::Ids(parse_ids(sel)?),
                "ruleRemoveTargetByTag" => CtlSelector::Tag(sel.to_owned()),
                _ => CtlSelector::Msg(sel.to_owned()),
            };
            let (name, key) = match target.split_once(':') {
                Some((n, k)) => (n, Some(k)),
                None => (target, None),
            };
            let spec = crate::ast::known::variable(name.trim())
                .ok_or_else(|| invalid(format!("ctl:{option}: unknown variable {name:?}")))?;
            let selector = match key {
                None => TargetSelector::All,
                Some(k) => match k.strip_prefix('/').and_then(|x| x.strip_suffix('/')) {
                    Some(re) if k.len() >= 2 => TargetSelector::Regex(re.to_owned()),
                    _ => TargetSelector::Key(k.to_owned()),
                },
            };
            Ctl::RuleRemoveTarget {
                by,
                collection: spec.name,
                selector,
            }
        }
        _ => Ctl::Set {
            option,
            value: value.to_owned(),
        },
    })
}

/// Translates PCRE syntax that means a raw byte into the `regex` crate's
/// byte syntax: `\x{HH}` (value up to 0xFF) becomes `\xHH`, which with
/// `unicode(false)` matches the byte HH (regex reads `\x{..}` as a code
/// point). Everything else is copied unchanged, escapes pairwise so `\\x{`
/// is left alone.
pub fn pcre_to_regex(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains("\\x{") {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let b = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        if b.get(i + 1) == Some(&b'x') && b.get(i + 2) == Some(&b'{') {
            let start = i + 3;
            let mut j = start;
            while j < b.len() && j - start < 8 && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            if j > start && b.get(j) == Some(&b'}') {
                if let Ok(v) = u32::from_str_radix(&pattern[start..j], 16) {
                    if v <= 0xFF {
                        out.push_str(&pattern[last..i]);
                        out.push_str(&format!("\\x{v:02x}"));
                        i = j + 1;
                        last = i;
                        continue;
                    }
                }
            }
        }
        i += 2;
    }
    out.push_str(&pattern[last.min(pattern.len())..]);
    std::borrow::Cow::Owned(out)
}

/// Compiles `pattern` (after [`pcre_to_regex`]) as a byte regex without
/// Unicode (PCRE byte semantics: `\xHH` is the raw byte), mapping
/// regex-syntax's errors for PCRE-only constructs to a plain message.
pub fn check_regex(pattern: &str, size_limit: usize) -> Result<(), String> {
    regex::bytes::RegexBuilder::new(&pcre_to_regex(pattern))
        .unicode(false)
        .size_limit(size_limit)
        .build()
        .map(|_| ())
        .map_err(|e| match e {
            regex::Error::Syntax(s) => {
                let last = s.lines().last().unwrap_or("").trim().to_owned();
                if last.is_empty() {
                    s
                } else {
                    format!("{last} (not RE2-compatible or invalid)")
                }
            }
            other => other.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{parse_str, ParseOptions};

    fn lower_text(text: &str) -> Result<RuleSet, ParseErrors> {
        let opts = ParseOptions {
            allow_include: false,
            ..ParseOptions::default()
        };
        let config = parse_str("t.conf", text, &opts).expect("parses");
        lower(&config, &LowerOptions::default())
    }

    #[test]
    fn templates() {
        let t = Template::parse("a %{tx.x} b %{MATCHED_VAR}").expect("ok");
        assert_eq!(
            t.parts,
            [
                TemplatePart::Literal("a ".into()),
                TemplatePart::Macro {
                    variable: "TX",
                    key: Some("x".into())
                },
                TemplatePart::Literal(" b ".into()),
                TemplatePart::Macro {
                    variable: "MATCHED_VAR",
                    key: None
                },
            ]
        );
        assert!(Template::parse("%{nope.x}").is_err());
        assert!(Template::parse("50%{").expect("literal").is_literal());
    }

    #[test]
    fn setvar_forms() {
        assert_eq!(parse_setvar("!tx.a").expect("ok").op, SetVarOp::Delete);
        let s = parse_setvar("tx.score=+%{tx.critical_anomaly_score}").expect("ok");
        assert_eq!(s.collection, "tx");
        assert!(matches!(s.op, SetVarOp::Add(_)));
        assert!(matches!(
            parse_setvar("TX.a=-1").expect("ok").op,
            SetVarOp::Sub(_)
        ));
        assert!(parse_setvar("nodot=1").is_err());
        assert!(parse_setvar("foo.x=1").is_err());
    }

    #[test]
    fn chains_defaults_and_updates() {
        let rs = lower_text(
            "SecDefaultAction \"phase:2,log,auditlog,deny,status:403,t:lowercase\"\n\
             SecRule ARGS|!ARGS:x \"@rx a\" \"id:1,phase:2,t:urlDecode,chain\"\n\
             SecRule REQUEST_METHOD \"@streq POST\" \"t:none\"\n\
             SecRule ARGS \"@rx b\" \"id:2,phase:2,pass,t:none,tag:'paranoia-level/2'\"\n\
             SecRuleUpdateTargetById 2 \"!ARGS:y\"\n\
             SecRuleUpdateActionById 2 \"severity:CRITICAL\"\n\
             SecAction \"id:3,phase:1,nolog,pass,skipAfter:END\"\n\
             SecMarker END\n\
             SecRuleRemoveById 2\n",
        )
        .expect("lowers");
        let r1 = rs.rule(1).expect("rule 1");
        assert_eq!(r1.transforms, [Transform::Lowercase, Transform::UrlDecode]);
        assert_eq!(r1.disruptive, Some(Disruptive::Deny));
        assert_eq!(r1.status, Some(403));
        assert_eq!(r1.targets[0].exclusions, [TargetSelector::Key("x".into())]);
        let c = r1.chain.as_ref().expect("chain");
        assert_eq!((c.id, c.phase), (1, 2));
        assert!(c.transforms.is_empty());
        assert_eq!(c.operator.kind, OperatorKind::Streq);
        assert!(rs.rule(2).is_none(), "removed by id");
        let r3 = rs.rule(3).expect("rule 3");
        assert!(r3.unconditional);
        assert_eq!(r3.skip_after.as_deref(), Some("END"));
    }

    #[test]
    fn debug_printer() {
        let rs = lower_text(
            "SecRuleEngine On\n\
             SecRule ARGS|!ARGS:x \"@rx a\" \"id:1,phase:1,deny,t:lowercase,setvar:tx.a=+%{tx.b},chain\"\n\
             SecRule &TX:y \"!@eq 0\" \"t:none\"\n",
        )
        .expect("lowers");
        let out = rs.debug_ir();
        let expected = [
            "setting SecRuleEngine [\"On\"]",
            "rule 1 phase 1 (line 2)",
            "  targets:    ARGS !x",
            "  operator:   @rx a",
            "  transforms: lowercase",
            "  disruptive: Deny",
            "  setvar:     tx.a += %{TX.b}",
            "  chain:",
            "    targets:    &TX:y",
            "    operator:   !@eq 0",
        ];
        for line in expected {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }

    #[test]
    fn update_action_relowers() {
        let rs = lower_text(
            "SecRule ARGS \"@rx b\" \"id:2,phase:2,pass,tag:a,severity:2\"\n\
             SecRuleUpdateActionById 2 \"deny,severity:NOTICE,tag:b\"\n",
        )
        .expect("lowers");
        let r = rs.rule(2).expect("rule");
        assert_eq!(r.disruptive, Some(Disruptive::Deny));
        assert_eq!(r.meta.severity, Some(5));
        assert_eq!(r.meta.tags, ["a", "b"]);
    }

    #[test]
    fn errors_name_the_rule() {
        let err = lower_text("SecRule ARGS \"@rx (?<=a)b\" \"id:7,phase:2,pass\"\n")
            .expect_err("lookbehind");
        let text = err.to_string();
        assert!(text.contains("rule 7: regex does not compile"), "{text}");
        assert!(text.contains("look-around"), "{text}");
        let err = lower_text("SecRule ARGS \"@rx (a)\\1\" \"id:8,phase:2,pass\"\n")
            .expect_err("backreference");
        assert!(err.to_string().contains("rule 8"), "{err}");
        let err = lower_text("SecAction \"id:9,pass,skipAfter:NOWHERE\"\n").expect_err("skip");
        assert!(err.to_string().contains("skipAfter:NOWHERE"), "{err}");
        let err = lower_text("SecAction \"id:10,pass,chain\"\n").expect_err("chain");
        assert!(err.to_string().contains("chain"), "{err}");
        let err = lower_text("SecAction \"phase:1,pass\"\n").expect_err("no id");
        assert!(err.to_string().contains("no id"), "{err}");
        let err = lower_text("SecAction \"id:1,phase:7,pass\"\n").expect_err("phase");
        assert!(err.to_string().contains("invalid phase"), "{err}");
    }

    #[test]
    fn pcre_byte_escapes_translate() {
        assert_eq!(pcre_to_regex(r"[\x7f-\x{ff}]\x{e2}"), r"[\x7f-\xff]\xe2");
        assert_eq!(pcre_to_regex(r"\\x{41}"), r"\\x{41}");
        assert_eq!(pcre_to_regex(r"\x{100}"), r"\x{100}");
        assert_eq!(pcre_to_regex(r"é\x{9}"), r"é\x09");
    }

    #[test]
    fn raw_byte_escapes_compile() {
        assert!(check_regex(r"\xff\x{ff}[\x80-\xff]", 1 << 20).is_ok());
        assert!(check_regex(r"a(?=b)", 1 << 20).is_err());
    }
}
