//! One request through the engine: phases, rule evaluation, actions.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::ast::ir::{Ctl, Disruptive, SetVarOp, Template, TemplatePart};
use crate::engine::cache::{union_index, Filter, ValueCache, UNION_COLLECTIONS};
use crate::engine::compile::{compile_ctl_select, CRule, Gate, PlanItem, RuleSel};
use crate::engine::operator::{atoi, OpArg};
use crate::engine::prefilter::{byte_set, intersects, step_may_change, ByteSet};
use crate::engine::prelude::{self, Prelude};
use crate::engine::transform::Transform;
use crate::engine::vars::{
    write_keyed_name, CTarget, ResponseData, RuleInfo, Select, TxMap, VarSource, VarValue, NO_SLOT,
};
use crate::engine::{Engine, RuleEngineMode};
use crate::request::{BodyProcessor, HttpRequest, RequestData};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Longest value kept in a log line, in bytes.
const LOG_VALUE_MAX: usize = 200;

/// A point in a phase's plan: the next item, and the rules left to skip
/// (`skip:N`).
#[derive(Clone, Copy, Default)]
struct Resume {
    index: usize,
    skip_n: u32,
}

/// Runs the leading pure rules of phase 1 (see [`prelude::is_pure`]) on a
/// fresh transaction and keeps what they leave; `None` when there are
/// none.
pub(crate) fn prelude(engine: &Engine) -> Option<Prelude> {
    let req = HttpRequest::parse(b"GET / HTTP/1.1\r\n\r\n", engine.request_limits()).ok()?;
    let mut tx = Transaction::new(engine, &req);
    let end = tx.run_items(1, Resume::default(), true);
    if end.index == 0 {
        return None;
    }
    Some(Prelude {
        tx: tx.tx.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        matched: tx.matched.clone(),
        highest_severity: tx.highest_severity,
        resume: end.index,
        skip_n: end.skip_n,
    })
}

/// A rule that matched (the whole chain).
#[derive(Clone, Debug, PartialEq)]
pub struct MatchedRule {
    /// Rule id.
    pub id: u64,
    /// Phase.
    pub phase: u8,
    /// Expanded `msg`.
    pub msg: String,
    /// Expanded `logdata`.
    pub logdata: String,
    /// Severity.
    pub severity: Option<u8>,
    /// Tags (shared with the compiled rule).
    pub tags: Arc<[String]>,
    /// Name of the last matched variable (`ARGS:id`).
    pub matched_var_name: String,
    /// Its (transformed) value.
    pub matched_var: Vec<u8>,
    /// Whether the match is logged (no `nolog`).
    pub logged: bool,
}

/// A disruptive outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intervention {
    /// HTTP status to answer with.
    pub status: u16,
    /// The rule that disrupted.
    pub rule_id: u64,
    /// The phase it ran in.
    pub phase: u8,
    /// Location for a redirect.
    pub redirect: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Allow {
    None,
    /// Skip the rest of this phase.
    Phase(u8),
    /// Skip the request phases (1–2).
    Request,
    /// Skip everything.
    All,
}

/// One request's evaluation. Create with [`Engine::transaction`].
#[derive(Debug)]
pub struct Transaction<'e> {
    engine: &'e Engine,
    req: RequestData,
    resp: Option<ResponseData>,
    tx: TxMap,
    other: HashMap<String, TxMap>,
    mode: RuleEngineMode,
    removed: Vec<RuleSel>,
    removed_targets: Vec<(RuleSel, &'static str, Select)>,
    matched: Vec<MatchedRule>,
    matched_vars: Vec<(String, Vec<u8>)>,
    /// Scratch list of a link's matched values, kept between rules.
    hits: Vec<Hit>,
    /// Emptied name and value buffers, reused for TX variables and matched
    /// values instead of allocating new ones.
    spare: RefCell<Spare>,
    intervention: Option<Intervention>,
    allow: Allow,
    log: String,
    unique_id: String,
    highest_severity: u8,
    body_processor: Option<BodyProcessor>,
    body_access: bool,
    force_body_variable: bool,
    remote_addr: String,
    cache: RefCell<ValueCache>,
}

impl<'e> Transaction<'e> {
    pub(crate) fn new(engine: &'e Engine, req: &HttpRequest) -> Transaction<'e> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let scratch = Scratch::take();
        Transaction {
            engine,
            req: RequestData::headers_only(req, engine.request_limits()),
            resp: None,
            tx: scratch.tx,
            other: HashMap::new(),
            mode: engine.mode(),
            removed: Vec::new(),
            removed_targets: Vec::new(),
            matched: scratch.matched,
            matched_vars: scratch.matched_vars,
            hits: scratch.hits,
            spare: RefCell::new(scratch.spare),
            intervention: None,
            allow: Allow::None,
            log: String::new(),
            unique_id: format!("wafio-{id:016x}"),
            highest_severity: 255,
            body_processor: None,
            body_access: engine.request_body_access(),
            force_body_variable: false,
            remote_addr: "127.0.0.1".to_string(),
            cache: RefCell::new(scratch.cache),
        }
    }

    /// Sets `REMOTE_ADDR` (default `127.0.0.1`).
    pub fn set_remote_addr(&mut self, addr: impl Into<String>) {
        self.remote_addr = addr.into();
    }

    /// Runs phase 1 (request headers), the body processor and phase 2.
    pub fn process_request(&mut self) {
        self.run_phase(1);
        if self.disrupted() {
            return;
        }
        if self.body_access && !self.req.body.is_empty() {
            self.cache.get_mut().clear();
            let limit = self.engine.request_body_limit();
            if self.req.body.len() > limit {
                self.req.reqbody_error = true;
                self.req.reqbody_error_msg =
                    format!("Request body is larger than the limit ({limit} bytes)");
            } else {
                self.req
                    .process_body(self.body_processor, self.engine.request_limits());
            }
        }
        self.run_phase(2);
    }

    /// Runs phases 3 (response headers) and 4 (response body). The body is
    /// inspected only when `SecResponseBodyAccess` is on and the content
    /// type is listed in `SecResponseBodyMimeType`.
    pub fn process_response(&mut self, mut resp: ResponseData) {
        let ct = resp
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let body = std::mem::take(&mut resp.body);
        self.resp = Some(resp);
        self.cache.get_mut().clear();
        if self.disrupted() {
            return;
        }
        self.run_phase(3);
        if self.disrupted() {
            return;
        }
        if self.engine.response_body_access(&ct) {
            if let Some(r) = self.resp.as_mut() {
                r.body = body;
            }
        }
        self.run_phase(4);
    }

    /// Runs phase 5 (logging).
    pub fn process_logging(&mut self) {
        self.run_phase(5);
    }

    /// The disruptive outcome, if a rule denied (only with `SecRuleEngine On`).
    pub fn intervention(&self) -> Option<&Intervention> {
        self.intervention.as_ref()
    }

    /// Rules that matched, in order.
    pub fn matched(&self) -> &[MatchedRule] {
        &self.matched
    }

    /// Ids of the rules that matched and log, in order, without repeats.
    pub fn matched_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = Vec::new();
        for m in self.matched.iter().filter(|m| m.logged) {
            if !ids.contains(&m.id) {
                ids.push(m.id);
            }
        }
        ids
    }

    /// The ModSecurity-style log lines of this transaction.
    pub fn log(&self) -> &str {
        &self.log
    }

    /// A `TX` variable (key case-insensitive).
    pub fn tx_var(&self, key: &str) -> Option<&[u8]> {
        self.tx.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }

    /// The request's collections.
    pub fn request(&self) -> &RequestData {
        &self.req
    }

    fn disrupted(&self) -> bool {
        self.intervention.is_some() || self.allow == Allow::All
    }

    fn source(&self) -> VarSource<'_> {
        VarSource {
            req: &self.req,
            resp: self.resp.as_ref(),
            tx: &self.tx,
            other: &self.other,
            matched: &self.matched_vars,
            remote_addr: &self.remote_addr,
            unique_id: &self.unique_id,
            highest_severity: self.highest_severity,
            force_body_variable: self.force_body_variable,
            ctl_body_processor: self.body_processor,
        }
    }

    fn run_phase(&mut self, phase: u8) {
        if self.mode == RuleEngineMode::Off || self.disrupted() {
            return;
        }
        if self.allow == Allow::Request && phase <= 2 {
            return;
        }
        let start = if phase == 1 {
            self.apply_prelude()
        } else {
            Resume::default()
        };
        self.run_items(phase, start, false);
        if self.allow == Allow::Phase(phase) {
            self.allow = Allow::None;
        }
    }

    /// Starts phase 1 from the engine's [`Prelude`] when the transaction
    /// is as fresh as the one it was computed on: its variables set and
    /// its matches recorded, and the point where the phase goes on.
    fn apply_prelude(&mut self) -> Resume {
        let engine = self.engine;
        let fresh = self.tx.is_empty()
            && self.matched.is_empty()
            && self.other.is_empty()
            && self.removed.is_empty()
            && self.removed_targets.is_empty()
            && self.highest_severity == 255;
        let Some(p) = engine.prelude().filter(|_| fresh) else {
            return Resume::default();
        };
        let spare = self.spare.get_mut();
        for m in &p.matched {
            let mut matched_var_name = spare.string();
            matched_var_name.push_str(&m.matched_var_name);
            let mut matched_var = spare.bytes();
            matched_var.extend_from_slice(&m.matched_var);
            self.matched.push(MatchedRule {
                msg: m.msg.clone(),
                logdata: m.logdata.clone(),
                tags: Arc::clone(&m.tags),
                matched_var_name,
                matched_var,
                ..*m
            });
        }
        // Inserted straight away: `var_buffer` would first look each one
        // up in a map known to be empty.
        for (k, v) in &p.tx {
            let mut key = spare.string();
            key.push_str(k);
            let mut value = spare.bytes();
            value.extend_from_slice(v);
            self.tx.insert(key, value);
        }
        self.highest_severity = p.highest_severity;
        Resume {
            index: p.resume,
            skip_n: p.skip_n,
        }
    }

    /// Runs a phase's plan from `start`. With `prelude_only`, stops before
    /// the first rule to evaluate that is not pure (see
    /// [`prelude::is_pure`]) and returns where it stopped.
    fn run_items(&mut self, phase: u8, start: Resume, prelude_only: bool) -> Resume {
        let engine = self.engine;
        let items = engine.phase(phase);
        let gates = engine.gates(phase);
        let jumps = engine.jumps(phase);
        let Resume {
            index: mut i,
            mut skip_n,
        } = start;
        while let (Some(item), Some(gate)) = (items.get(i), gates.get(i)) {
            let here = i;
            i += 1;
            if self.disrupted() || self.allow == Allow::Phase(phase) {
                break;
            }
            if self.allow == Allow::Request && phase <= 2 {
                break;
            }
            let PlanItem::Rule(rule) = item else {
                continue;
            };
            if skip_n > 0 {
                skip_n -= 1;
                continue;
            }
            if prelude_only && (gate.is_some() || !prelude::is_pure(rule)) {
                // A rule whose first link reads only `TX` and does not
                // match is over before any of its actions: it belongs to
                // the prelude whatever they are (CRS's check that
                // crs-setup was loaded, for one).
                let mut hits = Vec::new();
                if gate.is_none() && prelude::reads_tx_only(rule) {
                    self.eval_link(rule, rule, &mut hits);
                    if hits.is_empty() {
                        continue;
                    }
                }
                return Resume {
                    index: here,
                    skip_n,
                };
            }
            if self.removed.iter().any(|sel| sel.selects(rule)) {
                continue;
            }
            if gate.as_ref().is_some_and(|g| !self.gate_admits(g)) {
                continue;
            }
            if self.eval_rule(rule, phase) {
                // `skipAfter`: straight past its marker.
                i = jumps[here];
                skip_n = rule.skip;
            }
        }
        Resume {
            index: items.len(),
            skip_n,
        }
    }

    /// Evaluates a rule and its chain; on a full match runs the actions.
    fn eval_rule(&mut self, head: &'e CRule, phase: u8) -> bool {
        self.spare.get_mut().put_all(self.matched_vars.drain(..));
        let mut info: Option<RuleInfo<'e>> = None;
        let mut hits = std::mem::take(&mut self.hits);
        let matched = self.eval_chain(head, &mut info, &mut hits);
        hits.clear();
        self.hits = hits;
        if matched {
            self.record_match(head, phase, info.unwrap_or_default());
        }
        matched
    }

    /// [`Transaction::eval_rule`] up to the record: whether every link
    /// matched.
    fn eval_chain(
        &mut self,
        head: &'e CRule,
        info: &mut Option<RuleInfo<'e>>,
        hits: &mut Vec<Hit>,
    ) -> bool {
        // As in ModSecurity, each link's non-disruptive actions (setvar,
        // ctl) run as soon as that link matches, before the next link is
        // evaluated (CRS chains read in a link what the previous one set);
        // logging and the disruptive action wait for the whole chain.
        let mut link = Some(head);
        while let Some(l) = link {
            self.eval_link(head, l, hits);
            if hits.is_empty() {
                return false;
            }
            let info = info.get_or_insert_with(|| RuleInfo {
                id: head.id,
                severity: head.meta.severity,
                ver: head.meta.ver.as_deref().unwrap_or_default(),
                ..RuleInfo::default()
            });
            // Per matched value, as ModSecurity v3: captures, MATCHED_VAR,
            // then the link's setvar/ctl with them.
            for (name, value, captures) in hits.drain(..) {
                if l.capture && !captures.is_empty() {
                    for (i, c) in captures.into_iter().enumerate() {
                        self.tx.insert(i.to_string(), c);
                    }
                }
                if !name.is_empty() {
                    self.matched_vars.push((name, value));
                }
                self.run_actions(l, info);
            }
            link = l.chain.as_deref();
        }
        true
    }

    /// Evaluates one link's targets: the matched values with their names
    /// and captures, in target order.
    fn eval_link(&self, head: &CRule, link: &'e CRule, hits: &mut Vec<Hit>) {
        let engine = self.engine;
        {
            let src = self.source();
            let expand = |t: &Template| src.expand(t, None);
            let arg = OpArg::new(&expand);
            // `ctl:ruleRemoveTarget*` exclusions that apply to this rule,
            // looked up once per link.
            let removed: Vec<(&str, &Select)> = self
                .removed_targets
                .iter()
                .filter(|(sel, _, _)| sel.selects(head))
                .map(|(_, coll, s)| (*coll, s))
                .collect();
            // One `TX` variable compared as it is (CRS's paranoia-level and
            // score checks, a hundred per request): one lookup and the
            // operator, what the walk below comes to for it, with the name
            // it would give the match.
            if let [t] = link.targets.as_slice() {
                if let (Select::Key(key), "TX", false, true, true, false, false) = (
                    &t.select,
                    t.collection,
                    t.count,
                    t.exclusions.is_empty(),
                    link.transforms.is_empty(),
                    link.multi_match,
                    removed.iter().any(|(coll, _)| *coll == "TX"),
                ) {
                    if let Some((k, v)) = self.tx.get_key_value(key.as_str()) {
                        if let Some((value, captures)) = try_op(link, v, &arg, &self.spare) {
                            let mut name = self.spare.borrow_mut().string();
                            write_keyed_name(t.collection, k, &mut name);
                            hits.push((name, value, captures));
                        }
                    }
                    return;
                }
            }
            if link.targets.is_empty() {
                if let Some(m) = link.operator.eval(b"", &arg, link.capture) {
                    hits.push((String::new(), Vec::new(), m.captures));
                }
            }
            let mut bufs = [Vec::new(), Vec::new()];
            let pf = engine.prefilter();
            let chain = engine.chain(link.tchain);
            // What rules a value out before the operator runs; a negated
            // operator matches what these rule out, so it has none.
            let filter = Filter {
                bit: link.prefilter.filter(|_| pf.is_some()),
                bytes: link.operator.required_bytes(),
            };
            let filter = (filter.is_some() && !link.operator.negated()).then_some(filter);
            let bytes = filter.and_then(|f| f.bytes);
            let mut extra: Vec<&Select> = Vec::new();
            for t in &link.targets {
                extra.clear();
                extra.extend(
                    removed
                        .iter()
                        .filter(|(coll, _)| *coll == t.collection)
                        .map(|(_, s)| *s),
                );
                // A whole collection none of whose values passes the
                // filter is skipped in one step, whatever the selection and
                // exclusions (they only narrow it); the union is built once
                // per transaction. A `multiMatch` operator also sees the
                // values between steps, which the filter does not speak
                // for, unless the chain changes no value of the collection
                // (the usual case): each value is then all it sees.
                let skip = filter
                    .filter(|_| !t.count)
                    .zip(union_index(t.collection))
                    .is_some_and(|(f, coll)| {
                        if link.multi_match {
                            // The raw union first (chain 0 is the empty
                            // chain), so no value is transformed for this.
                            !self.collection_admits(coll, 0, f)
                                && self.cache.borrow().raw_only(coll, chain)
                        } else {
                            !self.collection_admits(coll, link.tchain, f)
                        }
                    });
                if skip {
                    continue;
                }
                // When the chain changes no value of the collection, each
                // value's filter is read straight off the raw scan. A
                // `multiMatch` operator then sees the raw value only, unless
                // the chain changes case: it sees both cases then, and takes
                // the path below.
                let raw_filter =
                    filter
                        .filter(|_| !(link.multi_match && chain.case))
                        .filter(|_| {
                            union_index(t.collection)
                                .is_some_and(|c| self.cache.borrow().raw_only(c, chain))
                        });
                src.for_each(t, &extra, &mut |v| {
                    let hit = if v.slot == NO_SLOT {
                        eval_value(link, &v.value, None, &arg, bytes, &self.spare, &mut bufs)
                    } else if let Some(f) = raw_filter {
                        if self.cache.borrow().raw_admits(v.slot, f) {
                            self.eval_slot(link, &v, &arg, None)
                        } else {
                            None
                        }
                    } else if link.multi_match {
                        // The operator sees the value after each change:
                        // the filter holds only for a value no step changes.
                        let (ruled_out, present) = {
                            let mut cache = self.cache.borrow_mut();
                            let ruled_out = filter.is_some_and(|f| {
                                cache.admits_unchanged(v.slot, &v.value, chain, pf, f)
                                    == Some(false)
                            });
                            (ruled_out, cache.raw_present(v.slot, &v.value, pf))
                        };
                        if ruled_out {
                            None
                        } else {
                            let present = Some(present);
                            eval_value(link, &v.value, present, &arg, bytes, &self.spare, &mut bufs)
                        }
                    } else {
                        self.eval_slot(link, &v, &arg, filter)
                    };
                    if let Some(hit) = hit {
                        let mut name = self.spare.borrow_mut().string();
                        v.write_name(&mut name);
                        hits.push((name, hit.0, hit.1));
                    }
                });
            }
        }
    }

    /// Whether the gate of a rule lets it be evaluated.
    fn gate_admits(&self, g: &Gate) -> bool {
        let filter = Filter {
            bit: g.bit.filter(|_| self.engine.prefilter().is_some()),
            bytes: g.bytes.as_ref(),
        };
        g.colls
            .iter()
            .any(|&c| self.collection_admits(c, g.chain, filter))
    }

    /// [`ValueCache::collection_admits`] for this transaction's values.
    /// Inlined: it is asked some 600 times per request, and nearly always
    /// answered from unions already built.
    #[inline]
    fn collection_admits(&self, coll: u8, chain_id: u32, filter: Filter<'_>) -> bool {
        let chain = self.engine.chain(chain_id);
        let known = self
            .cache
            .borrow()
            .known_admits(coll, chain_id, chain, filter);
        known.unwrap_or_else(|| self.build_unions_and_admit(coll, chain_id, filter))
    }

    /// [`Transaction::collection_admits`] when a union it needs is not
    /// built yet.
    #[inline(never)]
    fn build_unions_and_admit(&self, coll: u8, chain_id: u32, filter: Filter<'_>) -> bool {
        let chain = self.engine.chain(chain_id);
        let src = self.source();
        let all = CTarget {
            collection: UNION_COLLECTIONS[usize::from(coll)],
            select: Select::All,
            exclusions: Vec::new(),
            count: false,
        };
        let mut values =
            |f: &mut dyn FnMut(u32, &[u8])| src.for_each(&all, &[], &mut |v| f(v.slot, &v.value));
        self.cache.borrow_mut().collection_admits(
            coll,
            chain_id,
            chain,
            self.engine.prefilter(),
            filter,
            &mut values,
        )
    }

    /// [`eval_value`] for a value with a slot: the filter and the
    /// transformed value come from the transaction's cache.
    fn eval_slot(
        &self,
        link: &CRule,
        v: &VarValue<'_>,
        arg: &OpArg<'_>,
        filter: Option<Filter<'_>>,
    ) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
        let engine = self.engine;
        let chain = engine.chain(link.tchain);
        let pf = engine.prefilter();
        let mut cache = self.cache.borrow_mut();
        if let Some(f) = filter {
            if !cache.admits(v.slot, &v.value, link.tchain, chain, pf, f) {
                return None;
            }
        }
        let view = cache.view(v.slot, &v.value, link.tchain, chain, pf);
        try_op(link, view.bytes(), arg, &self.spare)
    }

    fn run_actions(&mut self, link: &'e CRule, info: &RuleInfo<'_>) {
        for sv in &link.setvars {
            let (key, value) = {
                let src = self.source();
                // Most keys are one lower-case literal: no expansion, no copy.
                let key: std::borrow::Cow<'e, str> = match sv.key.parts.as_slice() {
                    [TemplatePart::Literal(l)] if !l.bytes().any(|b| b.is_ascii_uppercase()) => {
                        std::borrow::Cow::Borrowed(l.as_str())
                    }
                    _ => std::borrow::Cow::Owned(
                        String::from_utf8_lossy(&src.expand(&sv.key, Some(info)))
                            .to_ascii_lowercase(),
                    ),
                };
                let mut value = self.spare.borrow_mut().bytes();
                match &sv.op {
                    SetVarOp::Set(t) | SetVarOp::Add(t) | SetVarOp::Sub(t) => {
                        src.expand_into(t, Some(info), &mut value)
                    }
                    SetVarOp::Delete => {}
                }
                (key, value)
            };
            let spare = self.spare.get_mut();
            // Collection names are lower-case from the IR.
            if sv.collection.eq_ignore_ascii_case("tx") {
                set_var(&mut self.tx, &sv.op, key, &value, spare);
            } else {
                let map = self
                    .other
                    .entry(sv.collection.to_ascii_uppercase())
                    .or_default();
                set_var(map, &sv.op, key, &value, spare);
            }
            spare.put_bytes(value);
        }
        for ctl in &link.ctls {
            self.apply_ctl(ctl);
        }
    }

    fn apply_ctl(&mut self, ctl: &Ctl) {
        match ctl {
            Ctl::RuleRemoveById(ids) => self.removed.push(RuleSel::Ids(ids.clone())),
            Ctl::RuleRemoveByTag(t) => {
                let id = self.engine.tags().get(&t.to_ascii_lowercase()).copied();
                self.removed.push(RuleSel::Tag(id))
            }
            Ctl::RuleRemoveByMsg(m) => self.removed.push(RuleSel::Msg(m.clone())),
            Ctl::RuleRemoveTarget {
                by,
                collection,
                selector,
            } => {
                if let Ok(sel) = compile_ctl_select(selector) {
                    let by = RuleSel::new(by, self.engine.tags());
                    self.removed_targets.push((by, collection, sel));
                }
            }
            Ctl::Set { option, value } => match *option {
                "ruleEngine" => {
                    if let Some(m) = super::RuleEngineMode::parse(value) {
                        self.mode = m;
                    }
                }
                "requestBodyProcessor" => self.body_processor = BodyProcessor::from_name(value),
                "requestBodyAccess" => self.body_access = value.eq_ignore_ascii_case("on"),
                "forceRequestBodyVariable" => {
                    self.force_body_variable = value.eq_ignore_ascii_case("on")
                }
                // Audit and debug logging options have no effect in this engine.
                _ => {}
            },
        }
    }

    fn record_match(&mut self, head: &'e CRule, phase: u8, mut info: RuleInfo<'_>) {
        let (msg, logdata) = {
            let src = self.source();
            let msg = head
                .meta
                .msg
                .as_ref()
                .map(|t| src.expand(t, Some(&info)))
                .unwrap_or_default();
            let logdata = head.meta.logdata.as_ref().map(|t| {
                info.msg = String::from_utf8_lossy(&msg).into_owned();
                src.expand(t, Some(&info))
            });
            (
                String::from_utf8_lossy(&msg).into_owned(),
                logdata
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default(),
            )
        };
        if let Some(s) = head.meta.severity {
            self.highest_severity = self.highest_severity.min(s);
        }
        // The rule is done with its matched values: the last one moves
        // into the record (the next rule starts with none).
        let (var_name, var) = self.matched_vars.pop().unwrap_or_default();
        let logged = head.log;
        if logged {
            let shown = &var[..var.len().min(LOG_VALUE_MAX)];
            let mut line = format!(
                "ModSecurity: Warning. Matched \"Operator `{}' with parameter `{}' against variable `{}' (Value: `{}' ) [file \"{}\"] [line \"{}\"] [id \"{}\"] [msg \"{}\"] [data \"{}\"]",
                head.operator.kind(),
                head.operator.arg().chars().take(LOG_VALUE_MAX).collect::<String>(),
                log_escape(var_name.as_bytes()),
                log_escape(shown),
                head.file.display(),
                head.line,
                head.id,
                log_escape(msg.as_bytes()),
                log_escape(logdata.as_bytes())
            );
            if let Some(s) = head.meta.severity {
                line.push_str(&format!(" [severity \"{s}\"]"));
            }
            if let Some(v) = &head.meta.ver {
                line.push_str(&format!(" [ver \"{v}\"]"));
            }
            for t in &head.meta.tags {
                line.push_str(&format!(" [tag \"{t}\"]"));
            }
            line.push_str(&format!(
                " [uri \"{}\"] [unique_id \"{}\"]\n",
                String::from_utf8_lossy(&self.req.uri),
                self.unique_id
            ));
            self.log.push_str(&line);
        }
        self.matched.push(MatchedRule {
            id: head.id,
            phase,
            msg,
            logdata,
            severity: head.meta.severity,
            tags: Arc::clone(&head.tags),
            matched_var_name: var_name,
            matched_var: var,
            logged,
        });
        match &head.disruptive {
            Some(Disruptive::Deny) | Some(Disruptive::Drop) => {
                self.disrupt(head, phase, head.status.unwrap_or(403), None)
            }
            Some(Disruptive::Redirect(t)) => {
                let url = String::from_utf8_lossy(&self.source().expand(t, None)).into_owned();
                self.disrupt(head, phase, head.status.unwrap_or(302), Some(url));
            }
            Some(Disruptive::Allow(scope)) if self.mode == RuleEngineMode::On => {
                self.allow = match scope.as_deref() {
                    Some("phase") => Allow::Phase(phase),
                    Some("request") => Allow::Request,
                    _ => Allow::All,
                };
            }
            // `block` follows SecDefaultAction, which CRS sets to `pass`
            // (anomaly scoring); `pass`, `pause` and `proxy` do not disrupt.
            _ => {}
        }
    }

    fn disrupt(&mut self, head: &CRule, phase: u8, status: u16, redirect: Option<String>) {
        if self.mode == RuleEngineMode::On && self.intervention.is_none() {
            self.intervention = Some(Intervention {
                status,
                rule_id: head.id,
                phase,
                redirect,
            });
        }
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        let prelude_matches = self.engine.prelude().map_or(0, |p| p.matched.len());
        Scratch::give_back(
            Scratch {
                tx: std::mem::take(&mut self.tx),
                matched: std::mem::take(&mut self.matched),
                matched_vars: std::mem::take(&mut self.matched_vars),
                hits: std::mem::take(&mut self.hits),
                spare: std::mem::take(self.spare.get_mut()),
                cache: std::mem::take(self.cache.get_mut()),
            },
            prelude_matches,
        );
    }
}

/// The buffers of a finished transaction, emptied, kept for the next one on
/// the same thread: a request then allocates its TX map, match list and
/// value cache once per thread instead of once per request.
#[derive(Default)]
struct Scratch {
    tx: TxMap,
    matched: Vec<MatchedRule>,
    matched_vars: Vec<(String, Vec<u8>)>,
    hits: Vec<Hit>,
    spare: Spare,
    cache: ValueCache,
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

/// Buffers above these sizes (left by a very large request) are freed
/// rather than kept: a thread keeps at most about a request's worth.
const SCRATCH_MAX_TX: usize = 1024;
const SCRATCH_MAX_MATCHED: usize = 1024;

impl Scratch {
    /// The thread's kept buffers, or new ones.
    fn take() -> Scratch {
        SCRATCH
            .try_with(|s| s.borrow_mut().take())
            .ok()
            .flatten()
            .unwrap_or_else(|| Scratch {
                // CRS sets about a hundred TX variables and records some 60
                // (mostly `nolog`) matches on a benign request.
                tx: TxMap::with_capacity_and_hasher(128, Default::default()),
                matched: Vec::with_capacity(64),
                ..Scratch::default()
            })
    }

    /// Empties the buffers and keeps them for the thread's next
    /// transaction, unless they grew beyond the caps.
    ///
    /// The buffers of the TX variables and of the first `prelude_matches`
    /// matches go back last, last first: the next transaction's prelude
    /// (see `Transaction::apply_prelude`) takes them back in the order it
    /// records those matches and sets those variables, each buffer already
    /// large enough (a kept buffer that is too small would grow: a
    /// reallocation and a copy).
    fn give_back(mut self, prelude_matches: usize) {
        if self.tx.capacity() > SCRATCH_MAX_TX
            || self.matched.capacity() > SCRATCH_MAX_MATCHED
            || !self.cache.reusable()
        {
            return;
        }
        self.spare.put_all(self.matched_vars.drain(..));
        let first = prelude_matches.min(self.matched.len());
        let names = |m: MatchedRule| (m.matched_var_name, m.matched_var);
        self.spare.put_all(self.matched.drain(first..).map(names));
        self.spare.put_all(self.tx.drain(..).rev());
        self.spare.put_all(self.matched.drain(..).rev().map(names));
        self.hits.clear();
        self.cache.clear();
        // Ignored during thread teardown (the buffers are then dropped).
        let _ = SCRATCH.try_with(|s| *s.borrow_mut() = Some(self));
    }
}

/// A log field on one line: control bytes as `\xHH` (as ModSecurity
/// writes them), invalid UTF-8 as U+FFFD.
fn log_escape(b: &[u8]) -> String {
    let text = String::from_utf8_lossy(b);
    let mut out = String::with_capacity(b.len());
    for c in text.chars() {
        match c {
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// A matched value: the variable's name, its (transformed) value, captures.
type Hit = (String, Vec<u8>, Vec<Vec<u8>>);

/// Runs a link's operator on one (transformed) value: the matched value and
/// its captures. Without `capture`, a plain match test.
fn try_op(
    link: &CRule,
    v: &[u8],
    arg: &OpArg<'_>,
    spare: &RefCell<Spare>,
) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let captures = if link.capture {
        link.operator.eval(v, arg, true)?.captures
    } else {
        link.operator.is_match(v, arg).then(Vec::new)?
    };
    let mut value = spare.borrow_mut().bytes();
    value.extend_from_slice(v);
    Some((value, captures))
}

/// Emptied strings and byte buffers of earlier TX variables and matched
/// values, reused by later ones: CRS sets about a hundred TX variables and
/// records some 60 matches on a benign request, each a name and a value.
/// Holds at most [`Spare::MAX`] of each, none larger than
/// [`Spare::MAX_CAPACITY`] bytes.
#[derive(Debug, Default)]
struct Spare {
    strings: Vec<String>,
    bytes: Vec<Vec<u8>>,
}

impl Spare {
    const MAX: usize = 512;
    const MAX_CAPACITY: usize = 1024;

    /// An empty string, reused when one is kept.
    fn string(&mut self) -> String {
        self.strings.pop().unwrap_or_default()
    }

    /// An empty byte buffer, reused when one is kept.
    fn bytes(&mut self) -> Vec<u8> {
        self.bytes.pop().unwrap_or_default()
    }

    fn put_string(&mut self, mut s: String) {
        if self.strings.len() < Self::MAX && s.capacity() <= Self::MAX_CAPACITY {
            s.clear();
            self.strings.push(s);
        }
    }

    fn put_bytes(&mut self, mut b: Vec<u8>) {
        if self.bytes.len() < Self::MAX && b.capacity() <= Self::MAX_CAPACITY {
            b.clear();
            self.bytes.push(b);
        }
    }

    fn put(&mut self, name: String, value: Vec<u8>) {
        self.put_string(name);
        self.put_bytes(value);
    }

    fn put_all(&mut self, pairs: impl IntoIterator<Item = (String, Vec<u8>)>) {
        for (name, value) in pairs {
            self.put(name, value);
        }
    }
}

/// The buffer of variable `key`, inserted with kept buffers when missing.
fn var_buffer<'m>(map: &'m mut TxMap, key: &str, spare: &mut Spare) -> &'m mut Vec<u8> {
    let i = match map.get_index_of(key) {
        Some(i) => i,
        None => {
            let mut k = spare.string();
            k.push_str(key);
            map.insert_full(k, spare.bytes()).0
        }
    };
    &mut map[i]
}

/// Applies a `setvar` to a collection.
fn set_var(
    map: &mut TxMap,
    op: &SetVarOp,
    key: std::borrow::Cow<'_, str>,
    value: &[u8],
    spare: &mut Spare,
) {
    match op {
        SetVarOp::Set(_) => {
            let v = var_buffer(map, &key, spare);
            v.clear();
            v.extend_from_slice(value);
        }
        SetVarOp::Add(_) | SetVarOp::Sub(_) => {
            let cur = map.get(key.as_ref()).map(|v| atoi(v)).unwrap_or(0);
            let delta = atoi(value);
            let n = if matches!(op, SetVarOp::Add(_)) {
                cur.saturating_add(delta)
            } else {
                cur.saturating_sub(delta)
            };
            let v = var_buffer(map, &key, spare);
            v.clear();
            // Writing into a Vec cannot fail.
            let _ = write!(v, "{n}");
        }
        SetVarOp::Delete => {
            // Removed in place: the others keep their order.
            if let Some((k, v)) = map.shift_remove_entry(key.as_ref()) {
                spare.put(k, v);
            }
        }
    }
}

/// Transforms a value as the rule says and runs its operator: on the final
/// value, or with `multiMatch` on the value before and after each change.
/// Returns the matched (transformed) value and captures.
/// `bytes`, when given, are bytes of which a match needs one: a value
/// without any is not given to the operator.
fn eval_value(
    link: &CRule,
    value: &[u8],
    present: Option<ByteSet>,
    arg: &OpArg<'_>,
    bytes: Option<&ByteSet>,
    spare: &RefCell<Spare>,
    bufs: &mut [Vec<u8>; 2],
) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let [a, b] = bufs;
    // `present`: the bytes of the value the operator is about to see.
    let try_op = |v: &[u8], present: &ByteSet| match bytes {
        Some(req) if !intersects(req, present) => None,
        _ if link.step_needles.as_ref().is_some_and(|ac| !ac.is_match(v)) => None,
        _ => try_op(link, v, arg, spare),
    };
    if link.transforms.is_empty() && bytes.is_none() {
        return try_op(value, &[0; 4]);
    }
    let mut present = present.unwrap_or_else(|| byte_set(value));
    if link.transforms.is_empty() {
        return try_op(value, &present);
    }
    if link.multi_match {
        if let Some(hit) = try_op(value, &present) {
            return Some(hit);
        }
    }
    a.clear();
    a.extend_from_slice(value);
    // Steps that cannot change the value (none of their trigger bytes is
    // in it) are not run.
    for (i, &t) in link.transforms.iter().enumerate() {
        if !step_may_change(t, &present) {
            continue;
        }
        // No value from here on can hold a needle of a multiMatch
        // operator: it ends without running the rest (base64 decoding
        // the start of a plain word makes a few bytes only).
        if link.length_bound.as_ref().is_some_and(|bound| {
            t.max_output_len(a)
                .is_some_and(|len| bound.rules_out(i, len))
        }) {
            return None;
        }
        let changed = Transform::apply(t, a, b);
        std::mem::swap(a, b);
        if changed {
            present = byte_set(a);
            if link.multi_match {
                if let Some(hit) = try_op(a, &present) {
                    return Some(hit);
                }
            }
        }
    }
    if link.multi_match {
        return None;
    }
    try_op(a, &present)
}

#[cfg(test)]
mod tests {
    use super::Spare;
    use crate::engine::Engine;
    use crate::request::HttpRequest;

    /// An engine with these rules.
    fn engine(rules: impl Into<String>) -> Engine {
        Engine::builder()
            .rules_before(rules)
            .build()
            .expect("rules build")
    }

    /// `GET /?query` through the request phases.
    fn get<'e>(engine: &'e Engine, query: &str) -> super::Transaction<'e> {
        request(engine, "GET", &format!("/?{query}"))
    }

    #[test]
    fn multi_match_sees_every_decoded_value_however_short_it_ends() {
        // The operator needs `process.env` (11 bytes): an argument is tried
        // raw, base64-decoded, then URL-decoded. Decoding a short word
        // cannot make 11 bytes, so those values end early; the encoded and
        // the percent-encoded payloads still match, each at its step.
        let engine = engine(
            "SecRuleEngine On\n\
                 SecRule ARGS \"@rx process\\.env\" \"id:1,phase:1,deny,multiMatch,\
                 t:none,t:base64Decode,t:urlDecode\"\n",
        );
        let blocked = |query: &str| get(&engine, query).intervention().is_some();
        // base64("process.env") and base64("process%2eenv").
        assert!(blocked("a=cHJvY2Vzcy5lbnY"));
        assert!(blocked("a=cHJvY2VzcyUyZWVudg"));
        assert!(blocked("a=x%2520process.env"));
        assert!(!blocked("a=item_number_5&b=cHJvY2Vzcw&c=plain"));
    }

    #[test]
    fn multi_match_skips_collections_only_where_the_chain_changes_nothing() {
        // Rule 1 is case-sensitive behind a case-changing chain: the raw
        // value still counts. Rule 2 needs `;`, which only decoding makes.
        let engine = engine(
            "SecRuleEngine On\n\
                 SecRule ARGS \"@rx SELECT\" \"id:1,phase:1,deny,multiMatch,t:none,t:lowercase\"\n\
                 SecRule ARGS \"@rx a;b\" \"id:2,phase:1,deny,multiMatch,t:none,t:urlDecodeUni\"\n",
        );
        let blocked_by = |query: &str| get(&engine, query).matched_ids();
        assert_eq!(blocked_by("x=plain&y=SELECT"), vec![1]);
        assert_eq!(blocked_by("x=plain&y=select"), Vec::<u64>::new());
        // `%253b` arrives as `%3b`; decoding it makes `a;b`.
        assert_eq!(blocked_by("x=plain&y=a%253bb"), vec![2]);
        assert_eq!(blocked_by("x=plain&y=ab"), Vec::<u64>::new());
    }

    #[test]
    fn tx_variables_are_listed_in_the_order_they_were_first_set() {
        // Rule 2 matches three TX variables; MATCHED_VAR_NAME is the last
        // one listed, whatever the hasher's seed: the order of first set,
        // kept when a variable is deleted or set again.
        let engine = engine(
            "SecRuleEngine On\n\
                 SecAction \"id:1,phase:1,pass,nolog,setvar:tx.zz=1,setvar:tx.aa=1,\
                 setvar:tx.mm=1,setvar:tx.qq=1,setvar:!tx.aa,setvar:tx.zz=1\"\n\
                 SecRule TX:/^(zz|aa|mm|qq)$/ \"@eq 1\" \"id:2,phase:1,pass,log,\
                 msg:'%{MATCHED_VAR_NAME}'\"\n",
        );
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        // Each thread has its own TX map, so its own hasher seed.
        std::thread::scope(|s| {
            for _ in 0..20 {
                s.spawn(|| {
                    let req = HttpRequest::parse(raw, engine.request_limits()).expect("request");
                    let mut tx = engine.transaction(&req);
                    tx.process_request();
                    let m = tx.matched().iter().find(|m| m.id == 2).expect("rule 2");
                    assert_eq!(m.msg, "TX:qq");
                    assert_eq!(m.matched_var_name, "TX:qq");
                });
            }
        });
    }

    /// A request through the request phases.
    fn request<'e>(engine: &'e Engine, method: &str, uri: &str) -> super::Transaction<'e> {
        let raw = format!("{method} {uri} HTTP/1.1\r\nHost: a\r\n\r\n");
        let req = HttpRequest::parse(raw.as_bytes(), engine.request_limits()).expect("request");
        let mut tx = engine.transaction(&req);
        tx.process_request();
        tx
    }

    const PRELUDE_RULES: &str = "\
        SecAction \"id:1,phase:1,pass,nolog,setvar:tx.setup=1,setvar:tx.pl=2\"\n\
        SecRule &TX:setup \"@eq 0\" \"id:2,phase:1,deny,log,msg:'no setup'\"\n\
        SecRule TX:pl \"@lt 2\" \"id:3,phase:1,pass,nolog,skipAfter:END\"\n\
        SecRule TX:pl \"@ge 2\" \"id:4,phase:1,pass,nolog,msg:'pl %{tx.pl}',setvar:tx.high=%{tx.pl}\"\n\
        SecRule REQUEST_METHOD \"@streq POST\" \"id:5,phase:1,pass,nolog,setvar:tx.post=1\"\n\
        SecAction \"id:6,phase:1,pass,nolog,setvar:tx.after=x%{tx.post}\"\n\
        SecMarker END\n\
        SecRule TX:after \"@streq x1\" \"id:7,phase:1,deny,log,msg:'post seen'\"\n";

    #[test]
    fn the_prelude_covers_the_leading_rules_that_read_only_tx() {
        let engine = engine(format!("SecRuleEngine On\n{PRELUDE_RULES}"));
        // Rules 1-4: rule 2 reads only TX and does not match, so its deny
        // does not matter; rule 5 reads the request.
        assert_eq!(engine.stats().prelude_items, 4);
        let get = request(&engine, "GET", "/a");
        assert_eq!(get.tx_var("high"), Some(&b"2"[..]));
        assert_eq!(get.tx_var("after"), Some(&b"x"[..]));
        assert!(get.intervention().is_none());
        let ids: Vec<u64> = get.matched().iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![1, 4, 6]);
        assert_eq!(get.matched()[1].msg, "pl 2");
        assert_eq!(get.matched()[1].matched_var_name, "TX:pl");
        // What follows the prelude still sees each request.
        let post = request(&engine, "POST", "/b?c=1");
        assert_eq!(post.tx_var("after"), Some(&b"x1"[..]));
        assert_eq!(post.intervention().map(|i| i.rule_id), Some(7));
        assert!(post.log().contains("[uri \"/b?c=1\"]"), "{}", post.log());
    }

    #[test]
    fn a_tx_rule_that_matches_and_disrupts_ends_the_prelude() {
        // Without the setup variable rule 2 matches: it denies and logs
        // each request itself, with that request's URI.
        let engine = engine(
            "SecRuleEngine On\n\
                 SecAction \"id:1,phase:1,pass,nolog,setvar:tx.pl=2\"\n\
                 SecRule &TX:setup \"@eq 0\" \"id:2,phase:1,deny,log,msg:'no setup'\"\n",
        );
        assert_eq!(engine.stats().prelude_items, 1);
        for uri in ["/one", "/two?x=1"] {
            let tx = request(&engine, "GET", uri);
            assert_eq!(tx.intervention().map(|i| i.rule_id), Some(2));
            assert!(
                tx.log().contains(&format!("[uri \"{uri}\"]")),
                "{}",
                tx.log()
            );
        }
    }

    #[test]
    fn an_engine_that_is_off_runs_no_prelude_either() {
        let engine = engine(format!("SecRuleEngine Off\n{PRELUDE_RULES}"));
        let tx = request(&engine, "GET", "/");
        assert_eq!(tx.tx_var("pl"), None);
        assert!(tx.matched().is_empty());
    }

    #[test]
    fn a_single_tx_variable_is_named_and_excluded_as_any_target() {
        // Rule 3 reads one TX variable (the lookup without a walk); rule 2
        // removes it from rule 3's targets when `drop=1`.
        let engine = engine(
                "SecRuleEngine On\n\
                 SecRule ARGS:score \"@rx ^[0-9]+$\" \"id:1,phase:1,pass,nolog,setvar:tx.score=%{MATCHED_VAR}\"\n\
                 SecRule ARGS:drop \"@eq 1\" \"id:2,phase:1,pass,nolog,ctl:ruleRemoveTargetById=3;TX:score\"\n\
                 SecRule ARGS:drop \"@eq 2\" \"id:4,phase:1,pass,nolog,ctl:ruleRemoveTargetById=3;TX:other,\
                 ctl:ruleRemoveTargetById=3;ARGS:score,ctl:ruleRemoveTargetById=5;TX:score\"\n\
                 SecRule TX:score \"@ge 5\" \"id:3,phase:1,deny,log,msg:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'\"\n",
            );
        let tx = get(&engine, "score=7");
        let m = tx.matched().iter().find(|m| m.id == 3).expect("rule 3");
        assert_eq!(
            (m.msg.as_str(), m.matched_var_name.as_str()),
            ("TX:score=7", "TX:score")
        );
        assert_eq!(m.matched_var, b"7");
        assert!(get(&engine, "score=4").intervention().is_none());
        assert!(get(&engine, "score=7&drop=1").intervention().is_none());
        // Exclusions of other variables, or for other rules, leave it.
        assert_eq!(
            get(&engine, "score=7&drop=2")
                .intervention()
                .map(|i| i.rule_id),
            Some(3)
        );
    }

    #[test]
    fn skip_after_goes_past_the_next_marker_of_its_name_in_its_phase() {
        let engine = engine(
            "SecRuleEngine On\n\
                 SecMarker M\n\
                 SecRule ARGS:a \"@eq 1\" \"id:1,phase:1,pass,nolog,skipAfter:M\"\n\
                 SecAction \"id:2,phase:1,pass,nolog,setvar:tx.r2=1\"\n\
                 SecMarker M\n\
                 SecAction \"id:3,phase:1,pass,nolog,setvar:tx.r3=1\"\n\
                 SecMarker M\n\
                 SecRule ARGS:b \"@eq 1\" \"id:4,phase:1,pass,nolog,skipAfter:END\"\n\
                 SecAction \"id:5,phase:1,pass,nolog,setvar:tx.r5=1\"\n\
                 SecAction \"id:6,phase:2,pass,nolog,setvar:tx.r6=1\"\n\
                 SecMarker END\n",
        );
        let set = |query: &str| {
            let tx = get(&engine, query);
            ["r2", "r3", "r5", "r6"]
                .into_iter()
                .filter(|k| tx.tx_var(k).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(set("x=0"), ["r2", "r3", "r5", "r6"]);
        assert_eq!(set("a=1"), ["r3", "r5", "r6"]);
        assert_eq!(set("b=1"), ["r2", "r3", "r6"]);
    }

    #[test]
    fn spare_buffers_come_back_empty_and_within_the_caps() {
        let mut spare = Spare::default();
        spare.put("TX:name".to_string(), b"value".to_vec());
        let (s, b) = (spare.string(), spare.bytes());
        assert!(s.is_empty() && s.capacity() >= 7);
        assert!(b.is_empty() && b.capacity() >= 5);
        // Nothing kept is handed out again: new buffers.
        assert_eq!(spare.string().capacity(), 0);
        assert_eq!(spare.bytes().capacity(), 0);
        // A buffer above the size cap is freed, not kept.
        spare.put_bytes(Vec::with_capacity(Spare::MAX_CAPACITY + 1));
        assert_eq!(spare.bytes().capacity(), 0);
        // At most MAX of each are kept.
        for _ in 0..Spare::MAX + 10 {
            spare.put(String::with_capacity(1), Vec::with_capacity(1));
        }
        assert_eq!(spare.strings.len(), Spare::MAX);
        assert_eq!(spare.bytes.len(), Spare::MAX);
    }
}
