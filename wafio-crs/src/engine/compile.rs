//! IR → engine plan: operators compiled, transformations resolved, rules
//! grouped per phase with their markers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ast::ir::{
    self, Ctl, CtlSelector, Disruptive, Item, Meta, Rule, SetVar, TargetSelector,
};
use crate::ast::Config;
use crate::engine::cache::union_index;
use crate::engine::operator::{Operator, OperatorLimits};
use crate::engine::prefilter::{ByteSet, Chain, Prefilter};
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
    /// For a `multiMatch` link, its operator's needles: a value the
    /// operator sees after each transformation step is tested against them
    /// first, as the shared prefilter only scans a chain's final values.
    pub(crate) step_needles: Option<aho_corasick::AhoCorasick>,
    /// For a `multiMatch` link with [`CRule::step_needles`]: what ends its
    /// evaluation once no later intermediate value can be long enough to
    /// match.
    pub(crate) length_bound: Option<LengthBound>,
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
    /// The tags of `meta`, shared with every [`crate::engine::MatchedRule`].
    pub tags: Arc<[String]>,
    /// The tags as ids of the engine's tag table (for `ctl:ruleRemove*ByTag`).
    pub tag_ids: Box<[u32]>,
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
        // `^` and a plain word: a prefix test.
        TargetSelector::Regex(r)
            if r.len() > 1
                && r.starts_with('^')
                && r[1..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            Select::Prefix(r[1..].to_ascii_lowercase())
        }
        TargetSelector::Regex(r) => Select::Regex(
            regex::bytes::RegexBuilder::new(r)
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
        step_needles: None,
        length_bound: None,
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
        tags: rule.meta.tags.clone().into(),
        tag_ids: Box::default(),
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

/// What [`index`] builds: interned chains, the prefilter, the tag table
/// and the gates.
pub(crate) struct Index {
    pub(crate) chains: Vec<Chain>,
    pub(crate) prefilter: Option<Prefilter>,
    /// Lower-cased tag → id.
    pub(crate) tags: HashMap<String, u32>,
    /// Per phase, per plan item: the rule's gate, if it has one.
    pub(crate) gates: [Vec<Option<Gate>>; 6],
}

/// What a rule can be skipped by before anything of it is read: the
/// filter of its first link and the collections its targets read. When no
/// value of those collections passes the filter (see
/// [`crate::engine::cache::ValueCache::collection_admits`]), the first link
/// has no match, so neither has the rule. Gates sit apart from the rules,
/// in one array per phase, so skipping a rule touches a few bytes.
#[derive(Debug)]
pub(crate) struct Gate {
    pub(crate) bit: Option<u32>,
    pub(crate) bytes: Option<ByteSet>,
    pub(crate) chain: u32,
    /// Indexes into [`crate::engine::cache::UNION_COLLECTIONS`].
    pub(crate) colls: Box<[u8]>,
}

impl Gate {
    fn of(rule: &CRule) -> Option<Gate> {
        // A negated operator matches what filters rule out; `multiMatch`
        // also tries the values between transformations; counts are numbers.
        if rule.operator.negated() || rule.multi_match || rule.targets.is_empty() {
            return None;
        }
        let bytes = rule.operator.required_bytes().copied();
        if rule.prefilter.is_none() && bytes.is_none() {
            return None;
        }
        let mut colls = Vec::with_capacity(rule.targets.len());
        for t in &rule.targets {
            if t.count {
                return None;
            }
            colls.push(union_index(t.collection)?);
        }
        colls.sort_unstable();
        colls.dedup();
        Some(Gate {
            bit: rule.prefilter,
            bytes,
            chain: rule.tchain,
            colls: colls.into(),
        })
    }
}

/// Interns the transformation chains of every link and gives each link
/// with needles its prefilter bit; numbers the tags.
pub(crate) fn index(phases: &mut [Vec<PlanItem>; 6]) -> Index {
    let mut tags: HashMap<String, u32> = HashMap::new();
    for item in phases.iter_mut().flatten() {
        let PlanItem::Rule(rule) = item else { continue };
        let next = |tags: &mut HashMap<String, u32>, t: &String| {
            let n = tags.len() as u32;
            *tags.entry(t.to_ascii_lowercase()).or_insert(n)
        };
        rule.tag_ids = rule.tags.iter().map(|t| next(&mut tags, t)).collect();
    }
    let mut chains = vec![Chain::new(Vec::new())];
    let mut ids: HashMap<Vec<Transform>, u32> = HashMap::from([(Vec::new(), 0)]);
    let mut sets: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut plain: Vec<u32> = Vec::new();
    for item in phases.iter_mut().flatten() {
        let PlanItem::Rule(rule) = item else { continue };
        let mut link = Some(rule);
        while let Some(l) = link {
            l.tchain = *ids.entry(l.transforms.clone()).or_insert_with(|| {
                chains.push(Chain::new(l.transforms.clone()));
                (chains.len() - 1) as u32
            });
            if let Some(n) = l.operator.needles() {
                l.prefilter = Some(sets.len() as u32);
                sets.push(n.to_vec());
                if l.multi_match && !l.operator.negated() {
                    l.step_needles = aho_corasick::AhoCorasick::builder()
                        .ascii_case_insensitive(true)
                        .build(n)
                        .ok();
                    if l.step_needles.is_some() {
                        l.length_bound = LengthBound::new(n, &l.transforms);
                    }
                }
            } else if let Some(n) = l.operator.plain_needles() {
                // No `step_needles`: they would hold for plain values only.
                l.prefilter = Some(sets.len() as u32);
                plain.push(sets.len() as u32);
                sets.push(n.to_vec());
            }
            link = l.chain.as_deref_mut();
        }
    }
    let prefilter = if sets.is_empty() {
        None
    } else {
        Prefilter::build(&sets, &plain)
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
    let gates = std::array::from_fn(|p| {
        phases[p]
            .iter()
            .map(|item| match item {
                PlanItem::Rule(r) => Gate::of(r),
                PlanItem::Marker(_) => None,
            })
            .collect()
    });
    Index {
        chains,
        prefilter,
        tags,
        gates,
    }
}

/// A `ctl:ruleRemove*` selector resolved against the engine: tags as ids.
#[derive(Clone, Debug)]
pub(crate) enum RuleSel {
    /// Ids and ranges.
    Ids(Vec<crate::ast::IdRange>),
    /// A tag id; `None` for a tag no rule has.
    Tag(Option<u32>),
    /// A literal part of `msg`.
    Msg(String),
}

impl RuleSel {
    /// Resolves a selector with the engine's tag table.
    pub(crate) fn new(sel: &CtlSelector, tags: &HashMap<String, u32>) -> RuleSel {
        match sel {
            CtlSelector::Ids(r) => RuleSel::Ids(r.clone()),
            CtlSelector::Tag(t) => RuleSel::Tag(tags.get(&t.to_ascii_lowercase()).copied()),
            CtlSelector::Msg(m) => RuleSel::Msg(m.clone()),
        }
    }

    /// Whether the selector picks a rule (a chain head).
    pub(crate) fn selects(&self, rule: &CRule) -> bool {
        match self {
            RuleSel::Ids(ranges) => ranges.iter().any(|r| r.contains(rule.id)),
            RuleSel::Tag(id) => id.is_some_and(|id| rule.tag_ids.contains(&id)),
            RuleSel::Msg(msg) => rule.meta.msg.as_ref().is_some_and(|m| {
                m.parts
                    .iter()
                    .any(|p| matches!(p, ir::TemplatePart::Literal(l) if l == msg))
            }),
        }
    }
}

/// How short a value a `multiMatch` link can still match, and how much the
/// rest of its chain can lengthen one (see [`CRule::length_bound`]).
#[derive(Debug)]
pub(crate) struct LengthBound {
    /// The shortest needle, so the shortest value the operator can match
    /// (at least 1).
    pub(crate) min_len: usize,
    /// Per transformation step: how much longer than that step's output
    /// the later steps can make a value (`None`: unbounded).
    pub(crate) slack_after: Box<[Option<usize>]>,
}

impl LengthBound {
    /// The bound of a link with these needles and transformations; `None`
    /// when a needle is empty (nothing can be ruled out by length).
    fn new(needles: &[Vec<u8>], transforms: &[Transform]) -> Option<LengthBound> {
        let min_len = needles.iter().map(Vec::len).min().filter(|&n| n > 0)?;
        let mut slack_after = vec![Some(0); transforms.len()];
        let mut acc = Some(0usize);
        for (i, t) in transforms.iter().enumerate().rev() {
            slack_after[i] = acc;
            acc = acc.zip(t.len_slack()).map(|(a, b)| a + b);
        }
        Some(LengthBound {
            min_len,
            slack_after: slack_after.into(),
        })
    }

    /// Whether no value from step `i` on can match, when that step makes
    /// at most `len` bytes.
    pub(crate) fn rules_out(&self, i: usize, len: usize) -> bool {
        self.slack_after[i].is_some_and(|slack| len + slack < self.min_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_word_selectors_are_prefix_tests() {
        let sel = compile_select(&TargetSelector::Regex("^header_name_".into())).expect("ok");
        assert!(matches!(sel, Select::Prefix(_)));
        assert!(sel.selects(b"Header_Name_920450_x"));
        assert!(!sel.selects(b"xheader_name_"));
        assert!(!sel.selects(b"header"));
        let sel = compile_select(&TargetSelector::Regex("^ab|cd".into())).expect("ok");
        assert!(matches!(sel, Select::Regex(_)));
        assert!(sel.selects(b"xCD"), "case-insensitive regex on bytes");
    }
}
