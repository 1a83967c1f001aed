//! Reasoning over the token sequence of one context.
//!
//! The question asked of each context is: *does the value end the operand it
//! was pasted into, and does what follows form SQL that changes the
//! statement?* Two gates and a scan:
//!
//! 1. **Break.** In a quoted context the value must close the literal it
//!    starts in. In the bare context the value must start with a complete
//!    operand (number, word, call, parenthesised group, variable), or with
//!    a token that continues an expression.
//! 2. **Continuation.** The first token after the break (and any closing
//!    parentheses) must continue a statement: a logic or comparison
//!    operator, arithmetic, `;`, `UNION`, `WHERE`, `ORDER BY`, `LIMIT`,
//!    `INTO`, `AS`, `IN`, `IS`, a comment, a comma, or the end. Prose fails
//!    here: after `O'` in `O'Brien` comes the word `Brien`.
//! 3. **Evidence.** The rest of the fragment is scanned for constructs that
//!    change what the statement does, each checked with a small grammar:
//!    `UNION [ALL] SELECT`, a stacked statement after `;` (`DROP TABLE x`,
//!    `SELECT … FROM`, `EXEC xp_…`, `DECLARE @v`, `WAITFOR DELAY '…'`), a
//!    logic operator followed by a comparison (tautology or blind probe),
//!    time and error functions called with a well-formed argument list, a
//!    subquery, `ORDER BY n`, `INTO OUTFILE`, piggybacked function calls, a
//!    comment that truncates the rest of the statement.
//!
//! Every helper moves forward over the token slice; none recurses, so work is
//! linear in the number of tokens (bounded by [`super::lexer::MAX_TOKENS`]).

use super::lexer::{Cm, Context, FnClass, Kw, Tk, Token, MAX_TOKENS};

/// The strongest finding of one context.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) class: &'static str,
    pub(crate) confidence: f32,
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// The value opened with a full statement rather than breaking out of an
    /// operand.
    pub(crate) statement: bool,
}

/// Marks a `(` without its `)` in [`Scan::close`].
const NO_MATCH: u8 = u8::MAX;

// Token indices are stored as `u8` in the parenthesis table.
const _: () = assert!(MAX_TOKENS < NO_MATCH as usize);

/// Evidence at or above this confidence ends the scan: nothing scores higher.
const CERTAIN: f32 = 0.9;

struct Scan<'a> {
    b: &'a [u8],
    t: &'a [Token],
    /// For each `(` token, the index of its `)` (or [`NO_MATCH`]): groups
    /// are skipped in constant time.
    close: [u8; MAX_TOKENS],
    /// Index of the first `UNION` token (the token count when none).
    first_union: usize,
    quoted: bool,
    best: Option<Verdict>,
    span_start: usize,
    /// First token that SQL cannot place after its predecessor.
    cut: usize,
    /// A `WHERE`/`HAVING` was seen: a bare constant after a logic operator
    /// then reads as a condition.
    clause_seen: bool,
    /// A comment later in the fragment truncates the statement (quoted
    /// contexts, or a bare operand that closed or opened a group).
    truncation_ok: bool,
    /// The last [`Scan::first_invalid`] asked for, `(from, result)`: the
    /// quoted contexts ask twice for the same start.
    first_invalid_memo: std::cell::Cell<(usize, usize)>,
}

impl<'a> Scan<'a> {
    /// A scan of the tokens `t` of `b` (`quoted`: the value starts inside
    /// a string literal), with its parentheses matched.
    fn new(b: &'a [u8], t: &'a [Token], quoted: bool) -> Scan<'a> {
        let (close, first_union) = match_parens(t);
        Scan {
            b,
            t,
            close,
            first_union,
            quoted,
            best: None,
            span_start: 0,
            cut: usize::MAX,
            clause_seen: false,
            truncation_ok: false,
            first_invalid_memo: std::cell::Cell::new((usize::MAX, 0)),
        }
    }

    fn tk(&self, i: usize) -> Option<Tk> {
        self.t.get(i).map(|t| t.tk)
    }

    fn text(&self, i: usize) -> &'a [u8] {
        match self.t.get(i) {
            Some(t) => self.b.get(t.start as usize..t.end as usize).unwrap_or(&[]),
            None => &[],
        }
    }

    fn text_is(&self, i: usize, w: &str) -> bool {
        self.text(i).eq_ignore_ascii_case(w.as_bytes())
    }

    fn end_of(&self, i: usize) -> usize {
        match self.t.get(i.min(self.t.len().saturating_sub(1))) {
            Some(t) => t.end as usize,
            None => self.b.len(),
        }
    }

    /// Could a finding of `confidence` replace the best so far? Evidence
    /// whose rule cannot reach more than the best is not looked for: it
    /// would be dropped anyway (only a strictly stronger finding replaces
    /// the best, and [`Scan::found_at`] only ever lowers a confidence).
    fn beats(&self, confidence: f32) -> bool {
        self.best.is_none_or(|b| confidence > b.confidence)
    }

    fn found(&mut self, class: &'static str, confidence: f32, last_token: usize) {
        self.found_at(class, confidence, last_token, last_token);
    }

    /// Records a finding whose evidence starts at token `first`. Weak and
    /// medium evidence found after the first token pair that SQL cannot
    /// form (`word word`, `|| ORDER`) is capped below blocking: the
    /// fragment is not a statement up to there.
    fn found_at(&mut self, class: &'static str, confidence: f32, first: usize, last: usize) {
        let confidence = if first >= self.cut && confidence < 0.85 {
            confidence.min(0.45)
        } else {
            confidence
        };
        let end = self.end_of(last);
        let v = Verdict {
            class,
            confidence,
            start: self.span_start.min(end),
            end,
            statement: false,
        };
        if self.best.is_none_or(|b| confidence > b.confidence) {
            self.best = Some(v);
        }
    }

    /// Can token `k` follow token `k - 1` in SQL?
    fn pair_ok(&self, k: usize) -> bool {
        let (a, b) = match (self.tk(k.wrapping_sub(1)), self.tk(k)) {
            (Some(a), Some(b)) => (a, b),
            _ => return true,
        };
        let atom = |t: Tk| matches!(t, Tk::Num | Tk::Str { .. } | Tk::Word);
        let op = |t: Tk| matches!(t, Tk::Logic | Tk::Cmp | Tk::Arith | Tk::Not);
        if atom(a) && atom(b) {
            return match (a, b) {
                // MySQL concatenates adjacent strings; typed literals
                // (`DATE '…'`, `DELAY '…'`).
                (Tk::Str { .. }, Tk::Str { .. }) | (Tk::Word, Tk::Str { .. }) => true,
                // MSSQL `TOP n`.
                (Tk::Word, Tk::Num) => self.text_is(k - 1, "top"),
                (Tk::Word, Tk::Word) if self.text_is(k - 1, "goto") => true,
                // MySQL `MATCH col AGAINST (…)`.
                (Tk::Word, Tk::Word)
                    if self.text_is(k - 1, "match") || self.text_is(k, "against") =>
                {
                    true
                }
                // Aliases and multi-word clauses: `FROM t x`, `AS x`,
                // `IN BOOLEAN MODE`, `DECLARE @v varchar`.
                (Tk::Word | Tk::Str { .. }, Tk::Word) => matches!(
                    self.tk(k.wrapping_sub(2)),
                    Some(
                        Tk::Kw(Kw::From | Kw::Join | Kw::Into | Kw::Update | Kw::In | Kw::As)
                            | Tk::Var
                            | Tk::RParen
                    )
                ),
                _ => false,
            };
        }
        if op(a) {
            return match b {
                Tk::Logic | Tk::RParen | Tk::Comma | Tk::Semi => false,
                Tk::Cmp => a == Tk::Not || self.text_is(k, "like"),
                Tk::Kw(kw) => matches!(
                    kw,
                    Kw::Null
                        | Kw::True
                        | Kw::False
                        | Kw::Case
                        | Kw::Exists
                        | Kw::All
                        | Kw::Select
                        | Kw::Between
                        | Kw::In
                ),
                _ => true,
            };
        }
        !(matches!(a, Tk::LParen | Tk::Comma) && matches!(b, Tk::Logic | Tk::Cmp | Tk::Comma))
    }

    /// The first token index in `from..` that breaks [`Scan::pair_ok`],
    /// looking only at the outermost level of the fragment: the insides of
    /// parenthesised groups have a richer grammar (`SELECT TOP 1`, aliases)
    /// and are judged by the evidence they hold.
    fn first_invalid(&self, from: usize) -> usize {
        let (memo_from, memo) = self.first_invalid_memo.get();
        if memo_from == from {
            return memo;
        }
        let r = self.first_invalid_uncached(from);
        self.first_invalid_memo.set((from, r));
        r
    }

    fn first_invalid_uncached(&self, from: usize) -> usize {
        let mut depth = 0usize;
        let mut k = from;
        while k < self.t.len() {
            match self.t[k].tk {
                Tk::LParen => {
                    if depth == 0 && k > from && !self.pair_ok(k) {
                        return k;
                    }
                    // A matched group at the outermost level is skipped
                    // whole: nothing inside it is looked at, and the
                    // level is the outermost again after its `)`.
                    match self.close[k] {
                        c if depth == 0 && c != NO_MATCH => k = c as usize,
                        _ => depth += 1,
                    }
                    k += 1;
                    continue;
                }
                Tk::RParen => {
                    depth = depth.saturating_sub(1);
                    k += 1;
                    continue;
                }
                _ => {}
            }
            if depth == 0 && k > from && self.tk(k - 1) != Some(Tk::RParen) && !self.pair_ok(k) {
                return k;
            }
            k += 1;
        }
        self.t.len()
    }

    /// Index after the group opened by the `(` at `i` (or the end).
    fn skip_group(&self, i: usize) -> usize {
        match self.close.get(i) {
            Some(&c) if c != NO_MATCH => c as usize + 1,
            _ => self.t.len(),
        }
    }

    /// Does the group `start..end` (from `(` to after its `)`) read as SQL:
    /// every adjacent pair valid and something besides words inside?
    fn group_is_sql(&self, start: usize, end: usize) -> bool {
        let end = end.min(self.t.len());
        let mut non_word = false;
        for k in start + 1..end {
            if !self.pair_ok(k) {
                return false;
            }
            non_word |= !matches!(self.t[k].tk, Tk::Word | Tk::LParen | Tk::RParen);
        }
        non_word
    }

    /// Index after the `CASE … END` starting at `i` (or the end).
    fn skip_case(&self, i: usize) -> usize {
        let mut depth = 0usize;
        let mut j = i;
        while j < self.t.len() {
            match self.t[j].tk {
                Tk::Kw(Kw::Case) => depth += 1,
                Tk::Kw(Kw::End) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return j + 1;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        self.t.len()
    }

    fn is_unary(&self, i: usize) -> bool {
        match self.tk(i) {
            Some(Tk::Not) => true,
            Some(Tk::Arith) => matches!(self.text(i), b"-" | b"+" | b"~"),
            _ => false,
        }
    }

    /// One operand (with unary prefixes); index after it.
    fn operand(&self, mut i: usize) -> Option<usize> {
        while self.is_unary(i) {
            i += 1;
        }
        let j = match self.tk(i)? {
            Tk::Num | Tk::Str { .. } | Tk::Word | Tk::Var | Tk::SysVar => i + 1,
            Tk::Kw(Kw::Null | Kw::True | Kw::False) => i + 1,
            Tk::Func(_) => {
                if self.tk(i + 1) == Some(Tk::LParen) {
                    self.skip_group(i + 1)
                } else {
                    i + 1
                }
            }
            Tk::LParen => self.skip_group(i),
            Tk::Kw(Kw::Exists) if self.tk(i + 1) == Some(Tk::LParen) => self.skip_group(i + 1),
            Tk::Kw(Kw::Case) => self.skip_case(i),
            _ => return None,
        };
        // `x COLLATE utf8_bin`, MySQL `'a' 'b'` adjacent literals.
        if self.tk(j) == Some(Tk::Kw(Kw::Collate)) {
            return Some(j + 2);
        }
        Some(j)
    }

    /// operand (arith operand)*; index after it.
    fn arith_expr(&self, i: usize) -> Option<usize> {
        let mut j = self.operand(i)?;
        let mut guard = 0;
        while self.tk(j) == Some(Tk::Arith) && guard < self.t.len() {
            match self.operand(j + 1) {
                Some(k) => j = k,
                None => break,
            }
            guard += 1;
        }
        Some(j)
    }

    fn is_literal(&self, i: usize) -> bool {
        matches!(
            self.tk(i),
            Some(Tk::Num | Tk::Str { .. } | Tk::Kw(Kw::Null | Kw::True | Kw::False))
        )
    }

    /// A comparison starting at `i`: `(end, both sides are single literals)`.
    fn comparison(&self, i: usize) -> Option<(usize, bool)> {
        self.comparison_after(i, self.arith_expr(i)?)
    }

    /// [`Scan::comparison`] at `i` whose left side ends at `a`
    /// (`arith_expr(i)`).
    fn comparison_after(&self, i: usize, a: usize) -> Option<(usize, bool)> {
        let lhs_lit = a == i + 1 && self.is_literal(i);
        let mut k = a;
        if self.tk(k) == Some(Tk::Not) {
            k += 1;
        }
        match self.tk(k)? {
            Tk::Cmp => {
                let mut r = k + 1;
                // `sounds like`, `not like`, `<=>`.
                if self.tk(r) == Some(Tk::Cmp) && self.text_is(r, "like") {
                    r += 1;
                }
                let e = self.arith_expr(r)?;
                let rhs_lit = e == r + 1 && self.is_literal(r);
                Some((e, lhs_lit && rhs_lit))
            }
            Tk::Kw(Kw::Is) => {
                let mut r = k + 1;
                if self.tk(r) == Some(Tk::Not) {
                    r += 1;
                }
                match self.tk(r)? {
                    Tk::Kw(Kw::Null | Kw::True | Kw::False) | Tk::Num | Tk::Str { .. } => {
                        Some((r + 1, lhs_lit))
                    }
                    _ => None,
                }
            }
            Tk::Kw(Kw::In) if self.tk(k + 1) == Some(Tk::LParen) => {
                Some((self.skip_group(k + 1), false))
            }
            Tk::Kw(Kw::Between) => {
                let r = self.arith_expr(k + 1)?;
                if self.tk(r) != Some(Tk::Logic) {
                    return None;
                }
                Some((self.arith_expr(r + 1)?, lhs_lit))
            }
            _ => None,
        }
    }

    /// Ends an expression: nothing, a comment, `)`, a logic operator, `;`.
    fn is_expr_end(&self, i: usize) -> bool {
        matches!(
            self.tk(i),
            None | Some(
                Tk::Comment(_)
                    | Tk::RParen
                    | Tk::Logic
                    | Tk::Semi
                    | Tk::Kw(Kw::Union | Kw::Order | Kw::Group | Kw::Limit)
            )
        )
    }

    /// A constant condition on its own: a number, `TRUE`, `FALSE`, `NULL`,
    /// a numeric string (MySQL casts it).
    fn is_constant(&self, i: usize) -> bool {
        match self.tk(i) {
            Some(Tk::Num) | Some(Tk::Kw(Kw::True | Kw::False | Kw::Null)) => true,
            Some(Tk::Str { .. }) => {
                let s = self.text(i);
                let inner = s.iter().filter(|c| !matches!(c, b'\'' | b'"'));
                let mut digits = 0;
                for &c in inner {
                    if !c.is_ascii_digit() {
                        return false;
                    }
                    digits += 1;
                }
                digits > 0
            }
            _ => false,
        }
    }

    /// Evidence after a logic operator at `i`.
    fn after_logic(&mut self, i: usize) {
        let mut j = i + 1;
        while self.tk(j) == Some(Tk::Not) {
            j += 1;
        }
        // Past a 0.75 finding only a comparison of two literals (0.9) can
        // count, and its left literal is the first token after the `(`s and
        // `NOT`s that follow (`|| chr(113)` has none: nothing to parse).
        if !self.beats(0.75) {
            let mut k = j;
            while matches!(self.tk(k), Some(Tk::LParen | Tk::Not)) {
                k += 1;
            }
            if !self.is_literal(k) {
                return;
            }
        }
        // `and (8)=(3)` compares groups; `and (1=1)` opens one. The left
        // operand at `k` is kept for the constant check below.
        let mut k = j;
        let mut lhs = self.arith_expr(k);
        let mut cmp = lhs.and_then(|a| self.comparison_after(k, a));
        while cmp.is_none() && self.tk(k) == Some(Tk::LParen) {
            k += 1;
            while self.tk(k) == Some(Tk::Not) {
                k += 1;
            }
            lhs = self.arith_expr(k);
            cmp = lhs.and_then(|a| self.comparison_after(k, a));
        }
        if let Some((e, lits)) = cmp {
            let c = if lits { 0.9 } else { 0.75 };
            self.found_at("tautology", c, i, e.saturating_sub(1));
            return;
        }
        // `1 AND SELECT 1 FROM t`: a query as a condition.
        if self.tk(k) == Some(Tk::Kw(Kw::Select)) {
            if self.beats(0.7) {
                if let Some((c, e)) = self.select_body(k + 1, false) {
                    self.found_at("subquery", c.min(0.7), i, e);
                }
            }
            return;
        }
        if !self.beats(0.6) {
            return;
        }
        if let Some(e) = lhs {
            if self.is_constant_expr(k, e) && self.is_expr_end(e) {
                let c = if self.quoted || self.clause_seen {
                    0.6
                } else {
                    0.35
                };
                self.found_at("tautology", c, i, e.saturating_sub(1));
            }
        }
    }

    /// `k..e` holds only constants, arithmetic and parentheses
    /// (`1`, `- - ~~((1))`, `(false)`).
    fn is_constant_expr(&self, k: usize, e: usize) -> bool {
        let mut any = false;
        for j in k..e.min(self.t.len()) {
            match self.t[j].tk {
                Tk::Arith | Tk::Not | Tk::LParen | Tk::RParen => {}
                _ if self.is_constant(j) => any = true,
                _ => return false,
            }
        }
        any
    }

    /// Is the call at `i` (a `Func` token) well formed: `name(args)` with an
    /// argument list that reads as expressions, not prose.
    fn call_ok(&self, i: usize) -> bool {
        if self.tk(i + 1) != Some(Tk::LParen) {
            // Niladic functions (`current_user`) are lexed as calls.
            return self.tk(i) == Some(Tk::Func(FnClass::Info));
        }
        // The first arguments decide; bounded so nested calls stay linear.
        let end = self.skip_group(i + 1).min(i + 2 + 16);
        let mut prev_atom = false;
        for k in i + 2..end.min(self.t.len()) {
            let atom = matches!(self.t[k].tk, Tk::Num | Tk::Str { .. } | Tk::Word);
            if atom && prev_atom {
                return false;
            }
            prev_atom = atom;
        }
        true
    }

    /// Does a `SELECT` at `i-1` read as a query? Returns its confidence.
    /// `need_from`: a statement at the very start of a value must name a
    /// table (`select 'and'` is a phrase, `select 1 from t` is a query).
    fn select_body(&self, i: usize, need_from: bool) -> Option<(f32, usize)> {
        let mut j = i;
        while matches!(self.tk(j), Some(Tk::Kw(Kw::All | Kw::Distinct))) {
            j += 1;
        }
        let first = self.tk(j)?;
        let strong_first = matches!(
            first,
            Tk::Num
                | Tk::Str { .. }
                | Tk::Var
                | Tk::SysVar
                | Tk::Func(_)
                | Tk::LParen
                | Tk::Kw(Kw::Null | Kw::Case)
        ) || (first == Tk::Arith && self.text(j) == b"*")
            || (first == Tk::Arith && self.text(j) == b"-");
        // Find FROM at depth 0 and look at the select list.
        let mut depth = 0usize;
        let mut k = j;
        let mut words_only = true;
        let mut has_logic = false;
        let mut from = None;
        while k < self.t.len() {
            match self.t[k].tk {
                Tk::LParen => depth += 1,
                Tk::RParen if depth == 0 => break,
                Tk::RParen => depth -= 1,
                // Unbalanced groups (`sin(((1)),2 from t`) still reach FROM.
                Tk::Kw(Kw::From) => {
                    from = Some(k);
                    break;
                }
                Tk::Semi | Tk::Kw(Kw::Union) | Tk::Comment(_) if depth == 0 => break,
                Tk::Logic => has_logic = true,
                Tk::Word | Tk::Comma | Tk::Kw(Kw::As) => {}
                _ => words_only = false,
            }
            k += 1;
        }
        let table = from.and_then(|f| {
            let t = f + 1;
            match self.tk(t) {
                Some(Tk::Word | Tk::LParen | Tk::Func(_)) => Some(t),
                _ => None,
            }
        });
        match table {
            Some(t) => {
                if !self.table_ref_ends(t) {
                    return None;
                }
                let c = if strong_first || !words_only {
                    0.85
                } else if has_logic || need_from {
                    // `select x from y` as a whole value reads like a
                    // phrase; after a break it is a statement.
                    0.45
                } else {
                    0.7
                };
                Some((c, t))
            }
            None if need_from => None,
            None if strong_first => Some((0.8, j)),
            None => None,
        }
    }

    /// A select list at `i` (the value opened with `SELECT`, no `FROM`) that
    /// is code rather than a phrase: `SELECT CHAR(0x66)`, `SELECT @version foo`,
    /// `SELECT $.`x``, `SELECT information_schema …`. Prose after "select"
    /// is plain words; a quoted word alone (`select 'and'`) is not enough.
    fn select_list_is_code(&self, i: usize) -> Option<usize> {
        let tk = self.tk(i)?;
        let code = match tk {
            Tk::Var | Tk::SysVar | Tk::Other => true,
            // `select version();`, `select current_user;`
            Tk::Func(FnClass::Info | FnClass::Time | FnClass::Error | FnClass::System) => {
                self.call_ok(i)
            }
            Tk::Func(_) => {
                self.call_ok(i) && self.tk(i + 1) == Some(Tk::LParen) && {
                    let e = self.skip_group(i + 1);
                    (i + 2..e).any(|k| {
                        matches!(
                            self.tk(k),
                            Some(Tk::Num | Tk::Str { .. } | Tk::Var | Tk::SysVar)
                        )
                    })
                }
            }
            Tk::Num => self.is_expr_end(i + 1) || matches!(self.tk(i + 1), Some(Tk::Comma)),
            Tk::Word => {
                !self.prose_word(i)
                    || (i + 1..(i + 4).min(self.t.len())).any(|k| {
                        matches!(self.tk(k), Some(Tk::Other | Tk::Var | Tk::SysVar))
                            || (self.tk(k) == Some(Tk::Word) && !self.prose_word(k))
                    })
            }
            Tk::Arith => self.text(i) == b"*",
            _ => false,
        };
        code.then_some(i)
    }

    /// A word made of letters only (prose), not an identifier with digits,
    /// `_`, `$`, dots or quotes.
    fn prose_word(&self, i: usize) -> bool {
        self.tk(i) == Some(Tk::Word)
            && self
                .text(i)
                .iter()
                .all(|c| c.is_ascii_alphabetic() || *c >= 0x80)
    }

    /// After `FROM tbl`: `[AS] [alias]` then something that can follow a
    /// table reference.
    fn table_ref_ends(&self, t: usize) -> bool {
        let mut k = if self.tk(t) == Some(Tk::LParen) {
            self.skip_group(t)
        } else if matches!(self.tk(t), Some(Tk::Func(_))) {
            self.skip_group(t + 1)
        } else {
            t + 1
        };
        if self.tk(k) == Some(Tk::Kw(Kw::As)) {
            k += 1;
        }
        if self.tk(k) == Some(Tk::Word) {
            k += 1;
        }
        match self.tk(k) {
            None => true,
            Some(tk) => {
                matches!(
                    tk,
                    Tk::Comment(_)
                        | Tk::Semi
                        | Tk::RParen
                        | Tk::Comma
                        | Tk::Logic
                        | Tk::Other
                        | Tk::Kw(
                            Kw::Where
                                | Kw::Order
                                | Kw::Group
                                | Kw::Limit
                                | Kw::Union
                                | Kw::Join
                                | Kw::Having
                                | Kw::Into
                                | Kw::Procedure
                                | Kw::On
                        )
                ) || (tk == Tk::Word && self.is_join_word(k))
            }
        }
    }

    fn is_join_word(&self, k: usize) -> bool {
        [
            "left", "right", "inner", "outer", "cross", "natural", "full",
        ]
        .iter()
        .any(|w| self.text_is(k, w))
    }

    /// A statement starting at `i`: `(class, confidence, last token)`.
    /// `at_start`: the value itself begins with it (no `;` before).
    fn statement(&self, i: usize, at_start: bool) -> Option<(&'static str, f32, usize)> {
        let tk = self.tk(i)?;
        let obj = |k: usize| {
            [
                "table",
                "database",
                "function",
                "procedure",
                "view",
                "index",
                "user",
                "schema",
                "trigger",
                "login",
                "column",
                "event",
            ]
            .iter()
            .any(|w| self.text_is(k, w))
        };
        let name = |k: usize| matches!(self.tk(k), Some(Tk::Word | Tk::Func(_)));
        let r = match tk {
            Tk::Kw(Kw::Select) => {
                let (c, e) = self.select_body(i + 1, at_start)?;
                ("stacked-query", c, e)
            }
            Tk::Kw(Kw::Insert) if self.tk(i + 1) == Some(Tk::Kw(Kw::Into)) && name(i + 2) => {
                ("stacked-query", 0.85, i + 2)
            }
            Tk::Kw(Kw::Update) if name(i + 1) && self.tk(i + 2) == Some(Tk::Kw(Kw::Set)) => {
                ("stacked-query", 0.85, i + 2)
            }
            Tk::Kw(Kw::Delete) if self.tk(i + 1) == Some(Tk::Kw(Kw::From)) && name(i + 2) => {
                let c = if at_start && self.tk(i + 3).is_none() {
                    0.45
                } else {
                    0.8
                };
                ("stacked-query", c, i + 2)
            }
            Tk::Kw(Kw::Drop | Kw::Create | Kw::Alter | Kw::Truncate)
                if (obj(i + 1) || self.tk(i + 1) == Some(Tk::Kw(Kw::Procedure))) && name(i + 2) =>
            {
                ("stacked-query", 0.85, i + 2)
            }
            // `;DROP members --`
            Tk::Kw(Kw::Drop | Kw::Truncate)
                if !at_start && name(i + 1) && self.is_expr_end(i + 2) =>
            {
                ("stacked-query", 0.75, i + 1)
            }
            // `DELETE LOW_PRIORITY FROM t`
            Tk::Kw(Kw::Delete)
                if !at_start
                    && self.tk(i + 1) == Some(Tk::Word)
                    && self.tk(i + 2) == Some(Tk::Kw(Kw::From)) =>
            {
                ("stacked-query", 0.8, i + 2)
            }
            // `LOAD DATA INFILE`, `LOAD XML …`
            Tk::Word
                if !at_start
                    && self.text_is(i, "load")
                    && (self.text_is(i + 1, "data") || self.text_is(i + 1, "xml")) =>
            {
                ("stacked-query", 0.8, i + 1)
            }
            // `GRANT x TO y`, `REVOKE x FROM y`
            Tk::Word
                if !at_start
                    && (self.text_is(i, "grant") || self.text_is(i, "revoke"))
                    && self.tk(i + 1) == Some(Tk::Word)
                    && (self.text_is(i + 2, "to")
                        || self.text_is(i + 2, "on")
                        || self.tk(i + 2) == Some(Tk::Kw(Kw::On))
                        || self.tk(i + 2) == Some(Tk::Kw(Kw::From))) =>
            {
                ("stacked-query", 0.8, i + 2)
            }
            // `WHILE 1=1 …`
            Tk::Word
                if !at_start && self.text_is(i, "while") && self.comparison(i + 1).is_some() =>
            {
                ("stacked-query", 0.7, i + 1)
            }
            // `EXECUTE AS LOGIN`
            Tk::Kw(Kw::Exec) if self.tk(i + 1) == Some(Tk::Kw(Kw::As)) => {
                ("stacked-query", 0.8, i + 1)
            }
            // `DECLARE c CURSOR FOR`
            Tk::Kw(Kw::Declare) if !at_start && name(i + 1) && self.tk(i + 2) == Some(Tk::Word) => {
                ("stacked-query", 0.7, i + 2)
            }
            Tk::Kw(Kw::Exec) => {
                let n = self.text(i + 1);
                let lower = |p: &[u8]| {
                    n.len() >= p.len() && n[..p.len()].eq_ignore_ascii_case(p)
                        || memchr::memmem::find(&n.to_ascii_lowercase(), p).is_some()
                };
                match self.tk(i + 1) {
                    Some(Tk::Word | Tk::Func(_))
                        if lower(b"xp_") || lower(b"sp_") || lower(b"master.") =>
                    {
                        ("stacked-query", 0.9, i + 1)
                    }
                    Some(Tk::Var | Tk::LParen) => ("stacked-query", 0.8, i + 1),
                    Some(Tk::Word)
                        if !at_start
                            && matches!(
                                self.tk(i + 2),
                                None | Some(
                                    Tk::Comment(_)
                                        | Tk::Semi
                                        | Tk::Str { .. }
                                        | Tk::Var
                                        | Tk::Num
                                        | Tk::Comma
                                )
                            ) =>
                    {
                        ("stacked-query", 0.6, i + 1)
                    }
                    _ => return None,
                }
            }
            Tk::Kw(Kw::Declare) if self.tk(i + 1) == Some(Tk::Var) => {
                ("stacked-query", 0.85, i + 1)
            }
            Tk::Kw(Kw::Waitfor) if self.text_is(i + 1, "delay") || self.text_is(i + 1, "time") => {
                ("time-based", 0.9, i + 2)
            }
            Tk::Kw(Kw::Shutdown) if !at_start && self.is_expr_end(i + 1) => {
                ("stacked-query", 0.8, i)
            }
            Tk::Func(_) if !at_start && self.text_is(i, "if") => ("stacked-query", 0.75, i + 1),
            Tk::Kw(Kw::If)
                if self.tk(i + 1) == Some(Tk::Kw(Kw::Exists))
                    && self.tk(i + 2) == Some(Tk::LParen)
                    && (!at_start || self.tk(i + 3) == Some(Tk::Kw(Kw::Select))) =>
            {
                ("stacked-query", 0.8, i + 2)
            }
            Tk::Kw(Kw::If) if !at_start && self.comparison(i + 1).is_some() => {
                ("stacked-query", 0.7, i + 1)
            }
            // MSSQL `GOTO label`.
            Tk::Word
                if !at_start && self.text_is(i, "goto") && self.tk(i + 1) == Some(Tk::Word) =>
            {
                ("stacked-query", 0.5, i + 1)
            }
            Tk::Kw(Kw::Set) if self.tk(i + 1) == Some(Tk::Var) => ("stacked-query", 0.7, i + 1),
            Tk::Kw(Kw::Begin) if !at_start && !self.is_expr_end(i + 1) => {
                ("stacked-query", 0.55, i + 1)
            }
            Tk::Kw(Kw::Call) if matches!(self.tk(i + 1), Some(Tk::Func(_))) => {
                ("stacked-query", 0.6, i + 1)
            }
            _ => return None,
        };
        Some(r)
    }

    /// `UNION [ALL] SELECT <list>` anywhere in the value, whatever precedes
    /// it (`{d 2} UNION SELECT`, `\\1UNION SELECT 2`). The select list must
    /// read as SQL: a non-word operand, or words followed by `,`/`FROM`
    /// (`union select committee` is prose).
    fn union_anywhere(&mut self) {
        for i in self.first_union..self.t.len() {
            if matches!(self.t[i].tk, Tk::Kw(Kw::Union)) {
                self.union_at(i);
            }
        }
    }

    /// `UNION [ALL|DISTINCT] [(] SELECT <list>` at `i` (see
    /// [`Scan::union_anywhere`]).
    fn union_at(&mut self, i: usize) {
        if self.tk(i) != Some(Tk::Kw(Kw::Union)) {
            return;
        }
        let mut j = i + 1;
        while matches!(
            self.tk(j),
            Some(Tk::Kw(Kw::All | Kw::Distinct) | Tk::LParen)
        ) {
            j += 1;
        }
        if self.tk(j) != Some(Tk::Kw(Kw::Select)) {
            return;
        }
        let k = j + 1;
        let Some(e) = self.operand(k) else {
            // `1 union select` with the list cut off, or a list that starts
            // with a symbol (`SELECT.``x``, `SELECT *`).
            let c = if self.tk(k).is_some() { 0.9 } else { 0.75 };
            self.found_at("union-select", c, i, k.min(self.t.len() - 1));
            return;
        };
        let words = self.prose_word(k) && e == k + 1;
        let paren = (i + 1..j).any(|p| self.tk(p) == Some(Tk::LParen));
        let ok = !words
            || matches!(self.tk(e), Some(Tk::Comma | Tk::Kw(Kw::From)))
            || (paren && self.tk(e) == Some(Tk::RParen))
            || (self.text_is(k, "top") && self.tk(e) == Some(Tk::Num));
        if ok {
            self.found_at("union-select", 0.9, i, e.saturating_sub(1));
        }
    }

    /// Scans `from..` for evidence (see the module docs).
    fn evidence(&mut self, from: usize, cap: usize) {
        self.cut = self.first_invalid(from).min(cap);
        let t = self.t;
        let mut i = from;
        while i < t.len() {
            let tk = t[i].tk;
            // No rule starts at a literal, a word, a variable, `NOT`,
            // arithmetic, `,`, `)` or an unknown byte: they are passed over
            // before the checks below (the match has no arm for them).
            if matches!(
                tk,
                Tk::Str { .. }
                    | Tk::Num
                    | Tk::Word
                    | Tk::Var
                    | Tk::Not
                    | Tk::Arith
                    | Tk::Comma
                    | Tk::RParen
                    | Tk::Other
            ) {
                i += 1;
                continue;
            }
            if self.best.is_some_and(|b| b.confidence >= CERTAIN) {
                return;
            }
            match tk {
                Tk::Kw(Kw::Union) => self.union_at(i),
                Tk::Semi => {
                    if let Some((class, c, e)) = self.statement(i + 1, false) {
                        self.found_at(class, c, i, e);
                    }
                }
                // MSSQL runs statements without `;`: `'exec master..xp_…`,
                // `1 declare @s …`, `') waitfor delay …`.
                Tk::Kw(
                    Kw::Declare
                    | Kw::Exec
                    | Kw::Drop
                    | Kw::Insert
                    | Kw::Update
                    | Kw::Delete
                    | Kw::Create
                    | Kw::Alter
                    | Kw::Truncate
                    | Kw::Shutdown,
                ) if i > from => {
                    if let Some((class, c, e)) = self.statement(i, false) {
                        self.found_at(class, c, i, e);
                    }
                }
                Tk::Func(class) if self.beats(func_max(class)) && self.call_ok(i) => {
                    let prev = if i > from { self.tk(i - 1) } else { None };
                    let after_op = matches!(
                        prev,
                        Some(Tk::Logic | Tk::Cmp | Tk::Arith | Tk::Comma | Tk::LParen | Tk::Not)
                            | Some(Tk::Kw(_))
                    );
                    let end = if self.tk(i + 1) == Some(Tk::LParen) {
                        self.skip_group(i + 1).saturating_sub(1)
                    } else {
                        i
                    };
                    match class {
                        FnClass::Time => self.found("time-based", 0.9, end),
                        FnClass::Error => self.found("error-based", 0.85, end),
                        FnClass::System => self.found("function-call", 0.85, end),
                        FnClass::Info if after_op => self.found("function-call", 0.7, end),
                        FnClass::Info => self.found("function-call", 0.45, end),
                        FnClass::Extract if after_op && i > from => {
                            self.found("function-call", 0.6, end)
                        }
                        FnClass::Extract => {}
                        FnClass::Generic if after_op && i > from => {
                            let c = if self.quoted { 0.55 } else { 0.4 };
                            self.found("function-call", c, end)
                        }
                        FnClass::Generic => {}
                    }
                }
                Tk::SysVar if i > from && self.beats(0.6) => {
                    let c = if self.quoted { 0.6 } else { 0.5 };
                    self.found("function-call", c, i);
                }
                Tk::Kw(Kw::Waitfor)
                    if (self.text_is(i + 1, "delay") || self.text_is(i + 1, "time"))
                        && matches!(self.tk(i + 2), Some(Tk::Str { .. })) =>
                {
                    self.found("time-based", 0.9, i + 2);
                }
                Tk::Logic => self.after_logic(i),
                Tk::Kw(Kw::Where | Kw::Having | Kw::When) => {
                    self.clause_seen = true;
                    let cmp = if self.beats(0.85) {
                        self.comparison(i + 1)
                    } else {
                        None
                    };
                    if let Some((e, lits)) = cmp {
                        let c = if lits { 0.85 } else { 0.7 };
                        self.found("tautology", c, e.saturating_sub(1));
                    }
                }
                Tk::Kw(Kw::Order | Kw::Group)
                    if self.tk(i + 1) == Some(Tk::Kw(Kw::By)) && self.beats(0.7) =>
                {
                    let mut n = i + 2;
                    while self.tk(n) == Some(Tk::Num) && self.tk(n + 1) == Some(Tk::Comma) {
                        n += 2;
                    }
                    if self.tk(n) == Some(Tk::Num) && self.is_expr_end(n + 1) {
                        self.found("order-by", 0.7, n);
                    } else if self.tk(i + 2) == Some(Tk::Num) && self.is_expr_end(i + 3) {
                        self.found("order-by", 0.7, i + 2);
                    } else if self.operand(i + 2).is_some() {
                        // `ORDER BY col--`: probing the column count.
                        let e = self.arith_expr(i + 2).unwrap_or(i + 3);
                        let call = matches!(self.tk(i + 2), Some(Tk::Func(_)))
                            || self.tk(i + 2) == Some(Tk::LParen);
                        if matches!(self.tk(e), Some(Tk::Comment(_)))
                            || (call && self.is_expr_end(e))
                        {
                            self.found("order-by", 0.6, e.saturating_sub(1));
                        }
                    }
                }
                // `1) FROM users WHERE name=`: the value adds clauses.
                Tk::Kw(Kw::From)
                    if self.beats(0.6)
                        && (i == from || self.tk(i - 1) == Some(Tk::RParen))
                        && matches!(self.tk(i + 1), Some(Tk::Word))
                        && self.table_ref_ends(i + 1) =>
                {
                    let c = if self.quoted || self.truncation_ok {
                        0.6
                    } else {
                        0.45
                    };
                    self.found_at("clause-injection", c, i, i + 1);
                }
                Tk::Kw(Kw::Into) if self.tk(i + 1) == Some(Tk::Kw(Kw::Outfile)) => {
                    self.found("file-write", 0.9, i + 1);
                }
                Tk::Kw(Kw::Procedure) if self.beats(0.7) && self.text_is(i + 1, "analyse") => {
                    self.found("function-call", 0.7, i + 1);
                }
                Tk::LParen if self.tk(i + 1) == Some(Tk::Kw(Kw::Select)) && self.beats(0.8) => {
                    if let Some((c, e)) = self.select_body(i + 2, false) {
                        self.found("subquery", c.min(0.8), e);
                    }
                }
                Tk::Cmp
                    if self.beats(0.7)
                        && self.is_literal(i.wrapping_sub(1))
                        && self.is_literal(i + 1)
                        && matches!(
                            self.tk(i.wrapping_sub(2)),
                            Some(Tk::LParen | Tk::Comma | Tk::Kw(Kw::If | Kw::When))
                        )
                        && matches!(
                            self.tk(i + 2),
                            None | Some(Tk::RParen | Tk::Comma | Tk::Logic | Tk::Kw(Kw::Then))
                        ) =>
                {
                    // `iif(1=1,…)`, `(5=5)*5`, `elt(3=3,…)`: a constant
                    // condition handed to a function or an expression.
                    self.found_at("tautology", 0.7, i - 1, i + 1);
                }
                // A complete fragment, then a comment that cuts off the rest
                // of the statement (`' - (cos('b')) --`). The cut check in
                // `found_at` makes sure the fragment before it is SQL.
                Tk::Comment(cm) if i > from && self.beats(0.6) => {
                    let weak = self.best.is_some_and(|b| b.confidence >= 0.3);
                    let strong_comment = matches!(cm, Cm::Dash | Cm::Block);
                    if (self.truncation_ok && strong_comment) || weak {
                        self.found_at("comment-truncation", 0.6, i, i);
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// The strongest finding a call of a function of `class` gives in
/// [`Scan::evidence`].
fn func_max(class: FnClass) -> f32 {
    match class {
        FnClass::Time => 0.9,
        FnClass::Error | FnClass::System => 0.85,
        FnClass::Info => 0.7,
        FnClass::Extract => 0.6,
        FnClass::Generic => 0.55,
    }
}

/// Tokens that may follow a completed operand in a statement.
fn continues(tk: Option<Tk>) -> bool {
    match tk {
        None => true,
        Some(tk) => matches!(
            tk,
            // MySQL concatenates adjacent strings: `'0' '1' like 0`.
            Tk::Str { closed: true }
                | Tk::Logic
                | Tk::Not
                | Tk::Cmp
                | Tk::Arith
                | Tk::Semi
                | Tk::Comma
                | Tk::Comment(_)
                | Tk::Kw(
                    Kw::Union
                        | Kw::Where
                        | Kw::Having
                        | Kw::Order
                        | Kw::Group
                        | Kw::Limit
                        | Kw::Procedure
                        | Kw::Into
                        | Kw::As
                        | Kw::In
                        | Kw::Is
                        | Kw::Between
                        | Kw::Collate
                        | Kw::From
                        | Kw::Then
                        | Kw::Else
                        | Kw::End
                        | Kw::When
                )
        ),
    }
}

/// Analyses the tokens of one context.
pub(crate) fn analyze(b: &[u8], ctx: Context, t: &[Token], odd_space: bool) -> Option<Verdict> {
    let mut v = analyze_inner(b, ctx, t)?;
    // Weak evidence with obfuscated separators (`/**/`, `%0b`, mid-line
    // comments): prose does not hide its spaces.
    if odd_space && (0.35..0.5).contains(&v.confidence) {
        v.confidence = 0.6;
    }
    Some(v)
}

fn analyze_inner(b: &[u8], ctx: Context, t: &[Token]) -> Option<Verdict> {
    let t = &t[..t.len().min(MAX_TOKENS)];
    let mut s = Scan::new(b, t, ctx != Context::Bare);
    let (break_at, scan_from) = match ctx {
        Context::Bare => {
            // A full statement as the value.
            if let Some((class, c, e)) = s.statement(0, true) {
                let end = s.end_of(e);
                let class = if class == "stacked-query" {
                    "full-statement"
                } else {
                    class
                };
                s.best = Some(Verdict {
                    class,
                    confidence: c,
                    start: 0,
                    end,
                    statement: true,
                });
            }
            s.union_anywhere();
            if s.tk(0) == Some(Tk::Kw(Kw::Select)) {
                // `select load_file('/etc/passwd')`, `select 'a'||(select …)`.
                s.truncation_ok = false;
                s.evidence(1, usize::MAX);
                if let Some(e) = s.select_list_is_code(1) {
                    s.found_at("full-statement", 0.6, 0, e);
                }
            }
            // A value that opens a block or a call (`begin if (…) then
            // dbms_lock.sleep(5)`, `if(now()=sysdate(),sleep(3),0)`):
            // only strong evidence counts.
            if matches!(
                s.tk(0),
                Some(
                    Tk::Kw(Kw::Begin | Kw::Declare | Kw::If | Kw::Exec | Kw::Set | Kw::Waitfor)
                        | Tk::Func(_)
                )
            ) {
                s.evidence(0, 0);
            }
            // A value that opens with a logic operator continues an
            // expression by construction (`AND ISNULL(1/0)`).
            if s.tk(0) == Some(Tk::Logic) {
                s.quoted = true;
            }
            // `1=1 AND …`: the value opens with a constant comparison.
            if let Some((e, lits)) = s.comparison(0) {
                if lits && matches!(s.tk(e), Some(Tk::Logic | Tk::Comment(_) | Tk::Semi)) {
                    s.found_at("tautology", 0.7, 0, e.saturating_sub(1));
                }
            }
            // `@q = null + ' UPDATE ' + @a`: assigning built SQL to a variable.
            if s.tk(0) == Some(Tk::Var) && s.tk(1) == Some(Tk::Cmp) {
                let ops = t.iter().filter(|t| t.tk == Tk::Arith).count();
                if ops >= 2 && s.first_invalid(0) >= t.len() {
                    s.found_at("stacked-query", 0.55, 0, t.len() - 1);
                }
            }
            // A complete `CASE … END` expression.
            if s.tk(0) == Some(Tk::Kw(Kw::Case)) {
                let e = s.skip_case(0);
                if e <= t.len() && t.get(e - 1).is_some_and(|t| t.tk == Tk::Kw(Kw::End)) {
                    s.found_at("function-call", 0.6, 0, e - 1);
                }
            }
            match s.arith_expr(0) {
                Some(e) => (e, 0),
                None => (0, 0),
            }
        }
        Context::Single | Context::Double => {
            s.union_anywhere();
            match t.first() {
                Some(Token {
                    tk: Tk::Str { closed: true },
                    end,
                    ..
                }) => s.span_start = (*end as usize).saturating_sub(1),
                _ => return None,
            }
            (1, 1)
        }
    };
    let mut q = break_at;
    while s.tk(q) == Some(Tk::RParen) {
        q += 1;
    }
    let parens_closed = q > break_at;
    // A statement right after the break: MSSQL needs no `;`
    // (`'select @@version …`, `'declare @s …`, `') waitfor delay '0:0:5'`).
    let statement = if q == 0 { None } else { s.statement(q, false) };
    // `aa'like-'aa`, `1' OR 1&"1`, `X' = 'X' = 0 = '1`, `aa'in (0)#(`: the
    // whole value is one well-formed expression from the broken string to
    // a string the application closes, or to a comment.
    if ctx != Context::Bare {
        s.cut = s.first_invalid(1);
        if let Some(c) = expression_tail(&s, ctx) {
            s.found_at("implicit-conversion", c, 1, t.len() - 1);
        }
        s.cut = usize::MAX;
    }
    // `1' (select …)`: sqlmap's boundary for a subquery after a string.
    let subquery = s.tk(q) == Some(Tk::LParen) && s.tk(q + 1) == Some(Tk::Kw(Kw::Select));
    // `1' own3d by 1`: after a string break, `WORD BY n` and nothing else is
    // the tail of an ORDER/GROUP BY whose keyword a probing tool mangled
    // (column-count probes); prose does not end a quote with `x by 3`.
    // The quote must stand apart from the word (`O'Brien by 2` is a name).
    let word_apart = t
        .get(q)
        .and_then(|w| (w.start as usize).checked_sub(1))
        .and_then(|p| b.get(p))
        .is_some_and(u8::is_ascii_whitespace);
    if ctx != Context::Bare
        && word_apart
        && s.tk(q) == Some(Tk::Word)
        && s.tk(q + 1) == Some(Tk::Kw(Kw::By))
        && s.tk(q + 2) == Some(Tk::Num)
        && s.tk(q + 3).is_none()
    {
        s.found("order-by", 0.6, q + 2);
        return s.best;
    }
    // `x' sleep(5) '`: `'+sleep(5)+'` after form decoding turned its `+`
    // into spaces. A time-delay call sits between the broken string and
    // one the application closes, with nothing else around it; its
    // arguments need not parse (`sleep(20.to_i)` probes a Ruby backend).
    if ctx != Context::Bare
        && s.tk(q) == Some(Tk::Func(FnClass::Time))
        && s.tk(q + 1) == Some(Tk::LParen)
        && s.close[q + 1] != NO_MATCH
    {
        let after = s.skip_group(q + 1);
        let rest = &t[after.min(t.len())..];
        // The `+` signs became spaces on both sides: space after the
        // broken string, and the reopened string is the quote alone
        // (`'sleep(8 hours)' is enough` is a quoted phrase).
        let spaced = t
            .get(q)
            .and_then(|f| (f.start as usize).checked_sub(1))
            .and_then(|p| b.get(p))
            .is_some_and(u8::is_ascii_whitespace);
        if let [last @ Token {
            tk: Tk::Str { closed: false },
            ..
        }] = rest
        {
            if spaced && last.end - last.start == 1 {
                s.found("time-based", 0.7, after - 1);
            }
        }
    }
    if !continues(s.tk(q)) && !subquery && statement.is_none() {
        return s.best;
    }
    if ctx == Context::Bare {
        s.span_start = t.get(scan_from).map_or(0, |t| t.start as usize);
    } else if ctx == Context::Single && implicit_conversion(&s) {
        // `A' AND 'B`, `'='`, `' NOT LIKE '`: an operator between the broken
        // string and one the application closes (implicit conversion).
        s.found("implicit-conversion", 0.55, t.len() - 1);
    }
    // A comment right after the break cuts the rest of the statement off
    // (`admin'--`, `1)/*`). `#` alone is too common in prose (`7" #2`).
    // In the bare context the operand must have closed a group or be one
    // that reads as SQL (`(1 OR @a) --`): `5 -- great` is prose.
    let bare_group =
        ctx == Context::Bare && s.tk(0) == Some(Tk::LParen) && s.group_is_sql(0, break_at);
    s.truncation_ok = ctx != Context::Bare || parens_closed || bare_group;
    if let Some(Tk::Comment(cm)) = s.tk(q) {
        if s.truncation_ok {
            // `admin'#`, `'#`: a hash right after a one-word (or empty)
            // string is a login bypass; after `FOO BAR'#` it is prose.
            // Double quotes mark inches and titles (`7" #2`, `"#2 MOM"`).
            let one_word = ctx == Context::Single
                && q == 1
                && !s.text(0).iter().any(|c| c.is_ascii_whitespace());
            let c = match cm {
                Cm::Dash | Cm::Block => 0.6,
                Cm::Hash if one_word => 0.6,
                Cm::Hash | Cm::Loose => 0.4,
            };
            s.found("comment-truncation", c, q);
        }
    }
    // `1 --`, `@@version/*`: an operand and a comment that cuts the
    // statement.
    if ctx == Context::Bare
        && break_at > 0
        && matches!(s.tk(q), Some(Tk::Comment(Cm::Dash | Cm::Block)))
        && t[..break_at].iter().all(|t| {
            matches!(
                t.tk,
                Tk::Num | Tk::Var | Tk::SysVar | Tk::Arith | Tk::LParen | Tk::RParen
            )
        })
    {
        s.found("comment-truncation", 0.55, q);
    }
    // `x'--sp_password`: MSSQL hides the rest (and the log line).
    if ctx != Context::Bare
        && s.tk(q) == Some(Tk::Comment(Cm::Loose))
        && q == 1
        && t[1].start == t[0].end
    {
        s.found("comment-truncation", 0.55, q);
    }
    // `-1 union`, `x' union --`: a union with its select cut off.
    if s.tk(q) == Some(Tk::Kw(Kw::Union))
        && matches!(s.tk(q + 1), None | Some(Tk::Comment(_)))
        && (ctx != Context::Bare || q > 0)
    {
        s.found("union-select", 0.55, q);
    }
    s.evidence(scan_from, usize::MAX);
    if let Some((class, c, e)) = statement {
        s.found_at(class, c, q, e);
    }
    s.best
}

/// `[str] op [op] [str…` with the last string left for the application to
/// close: the whole value is one operator between two strings.
fn implicit_conversion(s: &Scan<'_>) -> bool {
    let t = s.t;
    let n = t.len();
    if !(3..=4).contains(&n) || t[n - 1].tk != (Tk::Str { closed: false }) {
        return false;
    }
    let last = s.text(n - 1);
    if last.first() != Some(&b'\'') || memchr::memmem::find(last, b"''").is_some() {
        return false;
    }
    if !short_tail(last) {
        return false;
    }
    let ops = &t[1..n - 1];
    let is_op = |tk: Tk| matches!(tk, Tk::Logic | Tk::Cmp | Tk::Arith | Tk::Not);
    match ops {
        [a] => is_op(a.tk) && a.tk != Tk::Not,
        [a, b] => (a.tk == Tk::Not || a.tk == Tk::Cmp) && b.tk == Tk::Cmp,
        _ => false,
    }
}

/// The tail after the break is an expression (every pair valid, at least
/// one operator) that ends in a string the application closes or in a
/// comment; its confidence.
fn expression_tail(s: &Scan<'_>, ctx: Context) -> Option<f32> {
    let t = s.t;
    let n = t.len();
    if n < 3 || s.cut < n {
        return None;
    }
    let last = t[n - 1].tk;
    let before_last = t[n - 2].tk;
    let ends_ok = match last {
        // The string the application closes must be an operand.
        Tk::Str { closed: false } => {
            s.text(n - 1).first() == ctx.quote().as_ref()
                && memchr::memmem::find(s.text(n - 1), b"''").is_none()
                && short_tail(s.text(n - 1))
                && matches!(
                    before_last,
                    Tk::Logic | Tk::Cmp | Tk::Arith | Tk::Not | Tk::LParen | Tk::Comma
                )
        }
        Tk::Comment(_) => true,
        _ => false,
    };
    if !ends_ok {
        return None;
    }
    let body = &t[1..n - 1];
    // The token kinds first: most tails fail there, before any counting.
    let all_expr = body.iter().all(|t| {
        matches!(
            t.tk,
            Tk::Logic
                | Tk::Cmp
                | Tk::Arith
                | Tk::Not
                | Tk::Num
                | Tk::Str { .. }
                | Tk::Word
                | Tk::Var
                | Tk::SysVar
                | Tk::Func(_)
                | Tk::LParen
                | Tk::RParen
                | Tk::Comma
                | Tk::Kw(Kw::Is | Kw::In | Kw::Null | Kw::True | Kw::False | Kw::Between)
        )
    });
    if !all_expr {
        return None;
    }
    let ops = body
        .iter()
        .filter(|t| {
            matches!(
                t.tk,
                Tk::Logic | Tk::Cmp | Tk::Arith | Tk::Not | Tk::Kw(Kw::Is | Kw::In)
            )
        })
        .count();
    if ops == 0 {
        return None;
    }
    // After the first token, the body must not start or end with a dangling
    // operand-less operator pair (checked by `cut`). Double quotes also
    // delimit prose (`SMALL "&" SIGN`): ask for more than one operator.
    let min_ops = if ctx == Context::Double { 2 } else { 1 };
    let words = body.iter().filter(|t| t.tk == Tk::Word).count();
    let logic_or_cmp = body
        .iter()
        .any(|t| matches!(t.tk, Tk::Logic | Tk::Cmp | Tk::Kw(_)));
    if ops < min_ops
        || words > ops
        || (matches!(last, Tk::Comment(_)) && (body.len() < 2 || words > 0))
    {
        return None;
    }
    if ctx == Context::Double && !logic_or_cmp {
        return None;
    }
    // A single operator between two strings is `implicit_conversion`'s case.
    Some(0.55)
}

/// Matches parentheses in one pass with a bounded stack; the same pass
/// finds the first `UNION` (the token count when there is none).
fn match_parens(t: &[Token]) -> ([u8; MAX_TOKENS], usize) {
    let mut close = [NO_MATCH; MAX_TOKENS];
    let mut stack = [0u8; MAX_TOKENS];
    let mut depth = 0usize;
    let t = &t[..t.len().min(MAX_TOKENS)];
    let mut first_union = t.len();
    for (k, tok) in t.iter().enumerate() {
        match tok.tk {
            Tk::LParen => {
                stack[depth] = k as u8;
                depth += 1;
            }
            Tk::RParen if depth > 0 => {
                depth -= 1;
                close[stack[depth] as usize] = k as u8;
            }
            Tk::Kw(Kw::Union) if first_union == t.len() => first_union = k,
            _ => {}
        }
    }
    (close, first_union)
}

/// The string the application closes holds at most one word: a probe ends
/// with `'B` or `'1`, prose goes on (`the 'or' keyword is short`).
fn short_tail(text: &[u8]) -> bool {
    let inner = text.get(1..).unwrap_or(&[]);
    let trimmed = inner.trim_ascii();
    !trimmed.iter().any(|c| c.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::super::lexer::{lex, Tokens};
    use super::*;

    /// [`Scan::first_invalid_uncached`] as it walks every token, groups
    /// included (the reference for its group skip).
    fn first_invalid_walk(s: &Scan<'_>, from: usize) -> usize {
        let mut depth = 0usize;
        for k in from..s.t.len() {
            match s.t[k].tk {
                Tk::LParen => {
                    if depth == 0 && k > from && !s.pair_ok(k) {
                        return k;
                    }
                    depth += 1;
                    continue;
                }
                Tk::RParen => {
                    depth = depth.saturating_sub(1);
                    continue;
                }
                _ => {}
            }
            if depth == 0 && k > from && s.tk(k - 1) != Some(Tk::RParen) && !s.pair_ok(k) {
                return k;
            }
        }
        s.t.len()
    }

    fn sqlish() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let atoms: Vec<&'static [u8]> = vec![
            b"(", b")", b"1", b"a", b"or", b"=", b",", b"select", b" ", b"'", b"||", b"not", b";",
            b"from", b"chr(", b"union", b"x y", b"--", b"(1)", b"(x y)", b")(", b"(a,b)",
        ];
        proptest::collection::vec(proptest::sample::select(atoms), 0..24).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn group_skip_finds_what_the_walk_finds(v in sqlish()) {
            let mut toks = Tokens::new();
            for ctx in [Context::Bare, Context::Single, Context::Double] {
                lex(&v, ctx, &mut toks);
                let t = toks.as_slice();
                let s = Scan::new(&v, t, false);
                for from in 0..=t.len() {
                    proptest::prop_assert_eq!(
                        s.first_invalid_uncached(from),
                        first_invalid_walk(&s, from)
                    );
                }
            }
        }
    }
}
