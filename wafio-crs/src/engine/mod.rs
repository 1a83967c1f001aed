//! The SecLang rule engine: an immutable [`Engine`] compiled from rule
//! files, and a [`Transaction`] per request running phases 1–5.
//!
//! ```no_run
//! use wafio_crs::engine::Engine;
//! use wafio_crs::request::HttpRequest;
//!
//! let engine = Engine::builder().crs_dir("/etc/crs").build().unwrap();
//! let req = HttpRequest::parse(b"GET /?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", engine.request_limits()).unwrap();
//! let mut tx = engine.transaction(&req);
//! tx.process_request();
//! println!("{:?}", tx.matched_ids());
//! ```
//!
//! Not supported (refused at compile time with the rule named): operators
//! that call out (`@rbl`, `@geoLookup`, `@inspectFile`, …). Persistent
//! collections (`IP`, `GLOBAL`, `SESSION`, …) last one transaction.

mod cache;
pub mod compile;
pub mod operator;
pub mod prefilter;
mod prelude;
pub mod transform;
mod tx;
pub mod vars;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use self::compile::{CRule, CompileError, PlanItem};
pub use self::tx::{Intervention, MatchedRule, Transaction};
pub use self::vars::ResponseData;

use crate::ast::{self, ParseOptions};
use crate::request::RequestLimits;
use operator::OperatorLimits;

/// `SecRuleEngine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleEngineMode {
    /// Rules run and disruptive actions act.
    On,
    /// Rules run and log; nothing is disrupted.
    DetectionOnly,
    /// Rules do not run.
    Off,
}

impl RuleEngineMode {
    fn parse(s: &str) -> Option<RuleEngineMode> {
        match s.to_ascii_lowercase().as_str() {
            "on" => Some(RuleEngineMode::On),
            "detectiononly" => Some(RuleEngineMode::DetectionOnly),
            "off" => Some(RuleEngineMode::Off),
            _ => None,
        }
    }
}

/// An error building an engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The rule files do not parse or lower; the display shows each error
    /// with file, line, column and a caret.
    #[error("{0}")]
    Parse(#[from] ast::ParseErrors),
    /// Rules that parse but do not compile.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Compile(Vec<CompileError>),
    /// A configuration directive has an invalid value.
    #[error("{directive}: invalid value {value:?}")]
    Setting {
        /// The directive.
        directive: String,
        /// The value.
        value: String,
    },
    /// A CRS directory lacks its files.
    #[error("{0}: not a CRS directory (expected crs-setup.conf[.example] and rules/*.conf)")]
    NotCrs(PathBuf),
}

/// Counts describing a compiled engine.
#[derive(Clone, Debug, Default)]
pub struct EngineStats {
    /// Rules (chain heads) per phase, index 1–5.
    pub rules_per_phase: [usize; 6],
    /// Rules per paranoia level tag (index 0: no tag), 1–4.
    pub rules_per_paranoia: [usize; 5],
    /// Files read.
    pub files: usize,
    /// Leading phase-1 plan items that read nothing of the request: run
    /// once when the engine is built, and not again per transaction (each
    /// starts from what they left).
    pub prelude_items: usize,
    /// Parse + lower + compile time.
    pub compile_time: Duration,
}

/// Builds an [`Engine`].
#[derive(Clone, Debug, Default)]
pub struct EngineBuilder {
    before: Vec<String>,
    files: Vec<PathBuf>,
    after: Vec<String>,
    parse: ParseOptions,
    limits: RequestLimits,
    op_limits: OperatorLimits,
}

impl EngineBuilder {
    /// Rule text loaded before the files (e.g. `SecAction` setting `tx.*`).
    pub fn rules_before(mut self, text: impl Into<String>) -> Self {
        self.before.push(text.into());
        self
    }

    /// Rule text loaded after the files.
    pub fn rules_after(mut self, text: impl Into<String>) -> Self {
        self.after.push(text.into());
        self
    }

    /// A rule file (globs allowed, as in `Include`).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(path.into());
        self
    }

    /// A CRS directory: `crs-setup.conf` (or `crs-setup.conf.example`),
    /// then `rules/*.conf` in name order.
    pub fn crs_dir(mut self, dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        let setup = dir.join("crs-setup.conf");
        let setup = if setup.exists() {
            setup
        } else {
            dir.join("crs-setup.conf.example")
        };
        self.files.push(setup);
        self.files.push(dir.join("rules/*.conf"));
        self
    }

    /// Parser options (lenient mode, limits).
    pub fn parse_options(mut self, options: ParseOptions) -> Self {
        self.parse = options;
        self
    }

    /// Request parsing limits.
    pub fn request_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Operator compile limits.
    pub fn operator_limits(mut self, limits: OperatorLimits) -> Self {
        self.op_limits = limits;
        self
    }

    /// Parses, lowers and compiles everything.
    pub fn build(self) -> Result<Engine, EngineError> {
        let start = Instant::now();
        for f in &self.files {
            let s = f.to_string_lossy();
            let has_glob = s.contains(['*', '?', '[']);
            if !has_glob && !f.exists() {
                return Err(EngineError::NotCrs(f.clone()));
            }
        }
        let mut main = String::new();
        for text in &self.before {
            main.push_str(text);
            main.push('\n');
        }
        for f in &self.files {
            main.push_str(&format!("Include \"{}\"\n", f.display()));
        }
        for text in &self.after {
            main.push_str(text);
            main.push('\n');
        }
        let config = ast::parse_str("<engine>", &main, &self.parse)?;
        // Regexes are compiled once, by the operators (same flags, errors
        // naming the rule), so lowering does not check them a second time.
        let lower = ast::ir::LowerOptions {
            check_regexes: false,
            ..ast::ir::LowerOptions::default()
        };
        let set = ast::ir::lower(&config, &lower)?;
        let mut phases =
            compile::compile(&set, &config, &self.op_limits).map_err(EngineError::Compile)?;
        let index = compile::index(&mut phases);
        let jumps = std::array::from_fn(|p| skip_after_jumps(&phases[p]));
        let mut engine = Engine {
            phases,
            chains: index.chains,
            prefilter: index.prefilter,
            tags: index.tags,
            gates: index.gates,
            jumps,
            mode: RuleEngineMode::On,
            request_body_access: true,
            response_body_access: false,
            response_mime: vec!["text/plain".into(), "text/html".into()],
            request_body_limit: self.limits.max_body_bytes,
            limits: self.limits,
            stats: EngineStats::default(),
            prelude: None,
        };
        for (name, args) in &set.settings {
            engine.apply_setting(name, args)?;
        }
        let mut stats = EngineStats {
            files: config.files.len(),
            ..EngineStats::default()
        };
        for (p, items) in engine.phases.iter().enumerate() {
            for item in items {
                if let PlanItem::Rule(r) = item {
                    stats.rules_per_phase[p] += 1;
                    stats.rules_per_paranoia
                        [usize::from(r.meta.paranoia_level.unwrap_or(0).min(4))] += 1;
                }
            }
        }
        engine.prelude = tx::prelude(&engine);
        stats.prelude_items = engine.prelude.as_ref().map_or(0, |p| p.resume);
        stats.compile_time = start.elapsed();
        engine.stats = stats;
        Ok(engine)
    }
}

/// Where a matching rule's `skipAfter` goes on, per plan item: just past
/// the first marker of that name after the rule, or the end of the phase
/// when there is none (as ModSecurity). Items without `skipAfter` get the
/// next index.
fn skip_after_jumps(items: &[PlanItem]) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            PlanItem::Rule(CRule {
                skip_after: Some(m),
                ..
            }) => items[i + 1..]
                .iter()
                .position(|x| matches!(x, PlanItem::Marker(n) if n == m))
                .map_or(items.len(), |j| i + 1 + j + 1),
            _ => i + 1,
        })
        .collect()
}

/// A compiled rule set: immutable, shared across threads.
#[derive(Debug)]
pub struct Engine {
    phases: [Vec<PlanItem>; 6],
    chains: Vec<prefilter::Chain>,
    prefilter: Option<prefilter::Prefilter>,
    /// Lower-cased rule tags → ids (see [`CRule::tag_ids`]).
    tags: std::collections::HashMap<String, u32>,
    /// Per phase, aligned with the plan: each rule's gate.
    gates: [Vec<Option<compile::Gate>>; 6],
    /// Per phase, aligned with the plan: for a rule with `skipAfter`, the
    /// index just past its marker (see [`skip_after_jumps`]).
    jumps: [Vec<usize>; 6],
    mode: RuleEngineMode,
    request_body_access: bool,
    response_body_access: bool,
    response_mime: Vec<String>,
    request_body_limit: usize,
    limits: RequestLimits,
    stats: EngineStats,
    /// What the leading phase-1 rules that read nothing of the request
    /// leave in every transaction (see [`prelude`]).
    prelude: Option<prelude::Prelude>,
}

/// Directives that only configure logging, auditing, storage or the host
/// server: accepted and without effect in this engine.
const INERT_SETTINGS: &[&str] = &[
    "SecAuditEngine",
    "SecAuditLog",
    "SecAuditLog2",
    "SecAuditLogParts",
    "SecAuditLogRelevantStatus",
    "SecAuditLogType",
    "SecAuditLogFormat",
    "SecAuditLogStorageDir",
    "SecAuditLogDirMode",
    "SecAuditLogFileMode",
    "SecDebugLog",
    "SecDebugLogLevel",
    "SecComponentSignature",
    "SecServerSignature",
    "SecCollectionTimeout",
    "SecTmpDir",
    "SecDataDir",
    "SecUploadDir",
    "SecUploadKeepFiles",
    "SecUploadFileMode",
    "SecUploadFileLimit",
    "SecTmpSaveUploadedFiles",
    "SecPcreMatchLimit",
    "SecPcreMatchLimitRecursion",
    "SecStatusEngine",
    "SecUnicodeMapFile",
    "SecUnicodeCodePage",
    "SecCookieFormat",
    "SecArgumentSeparator",
    "SecResponseBodyLimit",
    "SecResponseBodyLimitAction",
    "SecRequestBodyInMemoryLimit",
    "SecRequestBodyLimitAction",
    "SecRequestBodyJsonDepthLimit",
    "SecArgumentsLimit",
    "SecHttpBlKey",
    "SecGeoLookupDb",
    "SecWebAppId",
    "SecSensorId",
    "SecHashEngine",
    "SecHashKey",
    "SecHashParam",
    "SecHashMethodRx",
    "SecHashMethodPm",
    "SecXmlExternalEntity",
    "SecConnEngine",
    "SecRemoteRules",
    "SecRemoteRulesFailAction",
    "SecRuleInheritance",
    "SecRulePerfTime",
    "SecStreamInBodyInspection",
    "SecStreamOutBodyInspection",
    "SecChrootDir",
    "SecContentInjection",
    "SecDisableBackendCompression",
    "SecGsbLookupDb",
    "SecGuardianLog",
    "SecInterceptOnError",
    "SecReadStateLimit",
    "SecWriteStateLimit",
    "SecConnReadStateLimit",
    "SecConnWriteStateLimit",
    "SecSensorId",
];

impl Engine {
    /// A builder with no rules.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    fn apply_setting(&mut self, name: &str, args: &[String]) -> Result<(), EngineError> {
        let first = args.first().map(String::as_str).unwrap_or("");
        let bad = || EngineError::Setting {
            directive: name.to_string(),
            value: args.join(" "),
        };
        let on_off = |v: &str| match v.to_ascii_lowercase().as_str() {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        };
        match name {
            "SecRuleEngine" => self.mode = RuleEngineMode::parse(first).ok_or_else(bad)?,
            "SecRequestBodyAccess" => self.request_body_access = on_off(first).ok_or_else(bad)?,
            "SecResponseBodyAccess" => self.response_body_access = on_off(first).ok_or_else(bad)?,
            "SecResponseBodyMimeType" => {
                self.response_mime = args
                    .iter()
                    .flat_map(|a| a.split_whitespace())
                    .map(str::to_ascii_lowercase)
                    .collect()
            }
            "SecResponseBodyMimeTypesClear" => self.response_mime.clear(),
            "SecRequestBodyLimit" | "SecRequestBodyNoFilesLimit" => {
                let n: usize = first.parse().map_err(|_| bad())?;
                if name == "SecRequestBodyLimit" {
                    self.request_body_limit = n;
                }
            }
            n if INERT_SETTINGS.contains(&n) => {}
            _ => return Err(bad()),
        }
        Ok(())
    }

    /// The request parsing limits.
    pub fn request_limits(&self) -> &RequestLimits {
        &self.limits
    }

    /// `SecRuleEngine`.
    pub fn mode(&self) -> RuleEngineMode {
        self.mode
    }

    /// Counts and compile time.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The plan of one phase (1–5).
    pub fn phase(&self, phase: u8) -> &[PlanItem] {
        &self.phases[usize::from(phase.clamp(1, 5))]
    }

    /// A human listing of the plan, for `wafio debug plan`.
    pub fn debug_plan(&self) -> String {
        let mut s = String::new();
        for p in 1..=5u8 {
            s.push_str(&format!("phase {p}:\n"));
            for item in self.phase(p) {
                match item {
                    PlanItem::Marker(m) => s.push_str(&format!("  marker {m}\n")),
                    PlanItem::Rule(r) => {
                        let mut link = Some(r);
                        let mut depth = 0;
                        while let Some(r) = link {
                            let targets: Vec<String> = r
                                .targets
                                .iter()
                                .map(|t| {
                                    format!("{}{}", if t.count { "&" } else { "" }, t.collection)
                                })
                                .collect();
                            s.push_str(&format!(
                                "  {}rule {} {} {}{} t:[{}] on [{}]{}\n",
                                "  ".repeat(depth),
                                r.id,
                                if r.operator.negated() { "!" } else { "" },
                                r.operator.kind(),
                                if r.operator.arg().len() > 40 {
                                    " …"
                                } else {
                                    ""
                                },
                                r.transforms
                                    .iter()
                                    .map(|t| t.name())
                                    .collect::<Vec<_>>()
                                    .join(","),
                                targets.join("|"),
                                r.skip_after
                                    .as_ref()
                                    .map(|m| format!(" skipAfter:{m}"))
                                    .unwrap_or_default()
                            ));
                            link = r.chain.as_deref();
                            depth += 1;
                        }
                    }
                }
            }
        }
        s
    }

    /// Starts a transaction for one request (nothing runs yet).
    pub fn transaction(&self, req: &crate::request::HttpRequest) -> Transaction<'_> {
        Transaction::new(self, req)
    }

    pub(crate) fn response_body_access(&self, content_type: &[u8]) -> bool {
        if !self.response_body_access {
            return false;
        }
        let ct = String::from_utf8_lossy(content_type);
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        self.response_mime.contains(&mime)
    }

    pub(crate) fn chain(&self, id: u32) -> &prefilter::Chain {
        &self.chains[id as usize]
    }

    pub(crate) fn prefilter(&self) -> Option<&prefilter::Prefilter> {
        self.prefilter.as_ref()
    }

    pub(crate) fn tags(&self) -> &std::collections::HashMap<String, u32> {
        &self.tags
    }

    pub(crate) fn gates(&self, phase: u8) -> &[Option<compile::Gate>] {
        &self.gates[usize::from(phase.clamp(1, 5))]
    }

    pub(crate) fn jumps(&self, phase: u8) -> &[usize] {
        &self.jumps[usize::from(phase.clamp(1, 5))]
    }

    pub(crate) fn prelude(&self) -> Option<&prelude::Prelude> {
        self.prelude.as_ref()
    }

    pub(crate) fn request_body_access(&self) -> bool {
        self.request_body_access
    }

    pub(crate) fn request_body_limit(&self) -> usize {
        self.request_body_limit
    }
}
