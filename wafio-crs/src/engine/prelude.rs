//! The phase-1 prelude: the leading phase-1 rules that read nothing of the
//! request. CRS opens with some thirty of them (`SecAction`s and
//! `&TX:name "@eq 0"` defaults that fill in what crs-setup left unset, then
//! the score resets), and they come out the same for every request. The
//! engine runs them once, when it is built, and each transaction starts
//! from what they left instead of evaluating them again.

use crate::ast::ir::{Disruptive, SetVarOp, Template, TemplatePart};
use crate::engine::compile::CRule;
use crate::engine::tx::MatchedRule;

/// What the prelude rules leave in a fresh transaction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prelude {
    /// `TX` variables, in the order they were set.
    pub(crate) tx: Vec<(String, Vec<u8>)>,
    /// The matches the rules recorded, in order.
    pub(crate) matched: Vec<MatchedRule>,
    /// The highest severity of those matches (255 for none).
    pub(crate) highest_severity: u8,
    /// Where phase 1 goes on: the index of the first plan item not run.
    pub(crate) resume: usize,
    /// The rules left to skip (`skip:N`) at that point.
    pub(crate) skip_n: u32,
}

/// Macros whose value a rule of the prelude may read: `TX` variables,
/// the rule's own metadata, and what it matched (which, as it only reads
/// `TX`, comes from `TX`).
fn pure_template(t: &Template) -> bool {
    t.parts.iter().all(|p| match p {
        TemplatePart::Literal(_) => true,
        TemplatePart::Macro { variable, key } => match *variable {
            "TX" => key.is_some(),
            "RULE" | "MATCHED_VAR" | "MATCHED_VAR_NAME" => true,
            _ => false,
        },
    })
}

/// Whether one link reads only `TX` (and its operator's argument only
/// `TX` and rule metadata): whether it matches is the same for every
/// request that reaches it with the same `TX`.
pub(crate) fn reads_tx_only(link: &CRule) -> bool {
    link.targets.iter().all(|t| t.collection == "TX")
        && link.operator.template().is_none_or(pure_template)
}

/// Whether a rule (all its chain links) reads only `TX` and its own
/// metadata, and changes only `TX` variables: its outcome is the same for
/// every request that reaches it with the same `TX`. It must not be
/// logged either (a log line names the request's URI and id), nor
/// disrupt, nor have a `ctl`.
pub(crate) fn is_pure(rule: &CRule) -> bool {
    if rule.log || !matches!(rule.disruptive, None | Some(Disruptive::Pass)) {
        return false;
    }
    let meta = &rule.meta;
    if !meta.msg.iter().chain(&meta.logdata).all(pure_template) {
        return false;
    }
    let mut link = Some(rule);
    while let Some(l) = link {
        let sets_tx_only = l.setvars.iter().all(|sv| {
            sv.collection == "tx"
                && pure_template(&sv.key)
                && match &sv.op {
                    SetVarOp::Set(t) | SetVarOp::Add(t) | SetVarOp::Sub(t) => pure_template(t),
                    SetVarOp::Delete => true,
                }
        });
        if !(reads_tx_only(l) && sets_tx_only && l.ctls.is_empty()) {
            return false;
        }
        link = l.chain.as_deref();
    }
    true
}
