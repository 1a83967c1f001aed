//! IR → engine plan: operators compiled, transformations resolved, rules
//! grouped per phase with their markers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::ast::ir::{
    self, Ctl, CtlSelector, Disruptive, Item, Meta, Rule, SetVar, TargetSelector,
};
use crate::ast::Config;
use crate::engine::operator::{Operator, OperatorLimits};
use crate::engine::prefilter::{Chain, Prefilter};
use crate::engine::transform::Transform;
use crate::engine::vars::{CTarget, Select};

/// A compile error naming the rule.
#[derive(Debug, thiserror::Error)]
#[error("rule {id} ({file}:{line}): {message}")]
pub struct CompileError {
    /// The rule id.
    pub id: u64,
    /// The rule's file.
    pub file: PathBuf,
    /// The rule's line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// A compiled rule (or chain link).
#[derive(Debug)]
pub struct CRule {
    /// Rule id (chain links carry the head's).
    pub id: u64,
    /// Phase 1–5.
    pub phase: u8,
    /// Targets; empty for `SecAction`.
    pub targets: Vec<CTarget>,
    /// The operator.
    pub operator: Operator,
    /// Transformations.
    pub transforms: Vec<Transform>,
    /// Index of the interned transformation chain (see
    /// [`crate::engine::prefilter::Chain`]).
    pub tchain: u32,
    /// Bit of this link in the engine's literal prefilter, if it has one.
    pub prefilter: Option<u32>,
    /// Disruptive action.
    pub disruptive: Option<Disruptive>,
    /// Status for deny/redirect.
    pub status: Option<u16>,
    /// `skip:N`.
    pub skip: u32,
    /// `skipAfter` marker.
    pub skip_after: Option<String>,
    /// `setvar`s.
    pub setvars: Vec<SetVar>,
    /// `ctl`s.
    pub ctls: Vec<Ctl>,
    /// `capture`.
    pub capture: bool,
    /// `multiMatch`.
    pub multi_match: bool,
    /// Whether a match is logged.
    pub log: bool,
    /// Logging metadata.
    pub meta: Meta,
    /// Next link of the chain.
    pub chain: Option<Box<CRule>>,
    /// File of the rule.
    pub file: PathBuf,
    /// Line of the rule.
    pub line: u32,
}

/// An element of a phase's plan.
// Rules far outnumber markers and the plan is walked on every request:
// keeping rules inline (not boxed) keeps that walk contiguous.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum PlanItem {
    /// A rule.
    Rule(CRule),
    /// A `SecMarker`.
    Marker(String),
}

fn compile_select(sel: &TargetSelector) -> Result<Select, String> {
    Ok(match sel {
        TargetSelector::All => Select::All,
        TargetSelector::Key(k) => Select::Key(k.to_ascii_lowercase()),
        TargetSelector::Regex(r) => Select::Regex(
            regex::RegexBuilder::new(r)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("selector regex /{r}/ does not compile: {e}"))?,
        ),
    })
}

/// Compiles a ctl target selector (for `ctl:ruleRemoveTarget*`).
pub(crate) fn compile_ctl_select(sel: &TargetSelector) -> Result<Select, String> {
    compile_select(sel)
}

fn compile_rule(
    rule: &Rule,
    config: &Config,
    limits: &OperatorLimits,
) -> Result<CRule, CompileError> {
    let file = config
        .file(rule.span.file)
        .map(|f| f.path().to_path_buf())
        .unwrap_or_default();
    let err = |message: String| CompileError {
        id: rule.id,
        file: file.clone(),
        line: rule.span.line,
        message,
    };
    let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let operator = if rule.unconditional {
        Operator::compile("unconditionalMatch", "", false, &base, limits)
    } else {
        Operator::compile(
            rule.operator.kind.name(),
            &rule.operator.arg,
            rule.operator.negated,
            &base,
            limits,
        )
    }
    .map_err(|e| err(e.to_string()))?;
    let mut transforms = Vec::with_capacity(rule.transforms.len());
    for t in &rule.transforms {
        match Transform::from_name(t.name()) {
            Some(Transform::None) => transforms.clear(),
            Some(tr) => transforms.push(tr),
            None => {
                return Err(err(format!(
                    "transformation t:{} is not supported by this engine",
                    t.name()
                )))
            }
        }
    }
    let mut targets = Vec::with_capacity(rule.targets.len());
    for t in &rule.targets {
        targets.push(CTarget {
            collection: t.collection,
            select: compile_select(&t.selector).map_err(&err)?,
            exclusions: t
                .exclusions
                .iter()
                .map(compile_select)
                .collect::<Result<_, _>>()
                .map_err(&err)?,
            count: t.count,
        });
    }
    let chain = match &rule.chain {
        Some(c) => Some(Box::new(compile_rule(c, config, limits)?)),
        None => None,
    };
    Ok(CRule {
        id: rule.id,
        phase: rule.phase,
        targets,
        operator,
        transforms,
        tchain: 0,
        prefilter: None,
        disruptive: rule.disruptive.clone(),
        status: rule.status,
        skip: rule.skip.unwrap_or(0),
        skip_after: rule.skip_after.clone(),
        setvars: rule.setvars.clone(),
        ctls: rule.ctls.clone(),
        capture: rule.capture,
        multi_match: rule.multi_match,
        log: rule.log.unwrap_or(true),
        meta: rule.meta.clone(),
        chain,
        file,
        line: rule.span.line,
    })
}

/// Compiles the rule set into five phase plans (index 0 unused).
pub fn compile(
    set: &ir::RuleSet,
    config: &Config,
    limits: &OperatorLimits,
) -> Result<[Vec<PlanItem>; 6], Vec<CompileError>> {
    let mut phases: [Vec<PlanItem>; 6] = Default::default();
    let mut errors = Vec::new();
    for item in &set.items {
        match item {
            Item::Rule(rule) => match compile_rule(rule, config, limits) {
                Ok(r) => phases[usize::from(r.phase.clamp(1, 5))].push(PlanItem::Rule(r)),
                Err(e) => errors.push(e),
            },
            // A marker is a skipAfter target in every phase.
            Item::Marker { name, .. } => {
                for p in phases.iter_mut().skip(1) {
                    p.push(PlanItem::Marker(name.clone()));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(phases)
    } else {
        Err(errors)
    }
}

/// Interns the transformation chains of every link and gives each link
/// with needles (and no `multiMatch`) its prefilter bit.
pub(crate) fn index(phases: &mut [Vec<PlanItem>; 6]) -> (Vec<Chain>, Option<Prefilter>) {
    let mut chains = vec![Chain::new(Vec::new())];
    let mut ids: HashMap<Vec<Transform>, u32> = HashMap::from([(Vec::new(), 0)]);
    let mut sets: Vec<Vec<Vec<u8>>> = Vec::new();
    for item in phases.iter_mut().flatten() {
        let PlanItem::Rule(rule) = item else { continue };
        let mut link = Some(rule);
        while let Some(l) = link {
            l.tchain = *ids.entry(l.transforms.clone()).or_insert_with(|| {
                chains.push(Chain::new(l.transforms.clone()));
                (chains.len() - 1) as u32
            });
            if let (false, Some(n)) = (l.multi_match, l.operator.needles()) {
                l.prefilter = Some(sets.len() as u32);
                sets.push(n.to_vec());
            }
            link = l.chain.as_deref_mut();
        }
    }
    let prefilter = if sets.is_empty() {
        None
    } else {
        Prefilter::build(&sets)
    };
    if prefilter.is_none() {
        for item in phases.iter_mut().flatten() {
            let PlanItem::Rule(rule) = item else { continue };
            let mut link = Some(rule);
            while let Some(l) = link {
                l.prefilter = None;
                link = l.chain.as_deref_mut();
            }
        }
    }
    (chains, prefilter)
}

/// Whether a ctl/removal selector picks a rule.
pub(crate) fn selects_rule(sel: &CtlSelector, rule: &CRule) -> bool {
    match sel {
        CtlSelector::Ids(ranges) => ranges.iter().any(|r| r.contains(rule.id)),
        CtlSelector::Tag(tag) => rule.meta.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)),
        CtlSelector::Msg(msg) => rule.meta.msg.as_ref().is_some_and(|m| {
            m.parts
                .iter()
                .any(|p| matches!(p, ir::TemplatePart::Literal(l) if l == msg))
        }),
    }
}
