//! OS command injection (POSIX shell, cmd.exe, PowerShell).
//!
//! The detector tokenizes a value as a shell would and asks one question:
//! does the value start a new command whose first word is a command? A new
//! command starts after a separator (`;`, `|`, `||`, `&&`, `&`, newline)
//! or inside a substitution (`` `…` ``, `$(…)`, `<(…)`); the whole value is
//! also read as a command line. The command word is read by [`lexer`],
//! which undoes quoting, escapes, empty expansions, `$IFS`, brace expansion
//! and globs, and looked up in [`words`], a vocabulary of programs attackers
//! run. The table only names commands; the syntax decides:
//!
//! | class | what | confidence |
//! |---|---|---|
//! | `evasion` | a command word spelt with shell evasions (`c'a't`, `/???/c?t`, `{cat,x}`) | 0.85 |
//! | `substitution` | a command inside a closed `` `…` `` or `$(…)` | 0.85 |
//! | `separator` | a path to a binary (`;/usr/bin/id`) after a separator | 0.85 |
//! | `separator` | a distinctive command (`id`, `whoami`) after a separator | 0.8 (0.75 after `&`) |
//! | `separator` | a common-word command (`cat`, `ping`) with shell-looking arguments (options, absolute or drive paths, IPs, URLs, redirections) | 0.7 |
//! | `separator` | a value that starts with an operator glued to a command-like word (`|nid`) | 0.5 |
//! | `command-line` | the whole value is a command line: a binary path (`/bin/ls -al`), `name.exe` with arguments, or a command with shell-looking arguments (`cat /etc/passwd`) | 0.6 to 0.85 |
//! | `command-line` | the whole value is a quoted distinctive command (`'uname'`) | 0.55 |
//! | `exec-call` | `system('id')`, `shell_exec("cat …")` and kin | 0.8 |
//! | `ssi-exec` | `<!--#exec cmd=…-->` | 0.9 |
//! | `shellshock` | `() { :;};` | 0.9 |
//!
//! A pipe followed by a word and another pipe with a non-command after it
//! (`| id | name |`, a Markdown table or a pipe-separated list) stays weak;
//! `&` followed by an assignment (`a=1&id=2`) is a query string, not a job.
//!
//! # Limits
//! Linear time: one pass over the value to find operators; each operator
//! reads one word (at most [`lexer::MAX_WORD`] bytes kept) and at most
//! [`MAX_ARGS`] arguments; at most [`MAX_OPERATORS`] operators are examined
//! per value. No recursion, no allocation on a clean value.

mod lexer;
mod words;

use std::borrow::Cow;

use crate::{Detector, DetectorKind, Hit, View};
use lexer::{is_word_end, read_word, Word};
use words::Strength;

/// Operators examined per value; the rest of a longer value is not scanned
/// for further operators (the first ones already decide).
pub const MAX_OPERATORS: usize = 64;

/// Arguments inspected after a command word.
pub const MAX_ARGS: usize = 4;

/// Detects OS command injection.
#[derive(Clone, Debug, Default)]
pub struct CmdiDetector {}

const fn table(s: &[u8]) -> [bool; 256] {
    crate::byte_table(s, 256)
}

/// Bytes that can start an operator (see `op_at`); a `(` only ends one
/// (`$(`, `<(`).
const OP_START: [bool; 256] = table(b";|&`$\n\r<\\");

// Bits of [`BYTE_CLASS`].
/// An [`OP_START`] byte.
const OP: u8 = 1;
/// `(`: shell-exec calls, Shellshock.
const PAREN: u8 = 2;
/// `<`: the SSI marker.
const ANGLE: u8 = 4;
/// `{`: the Shellshock header (with a `(`).
const BRACE: u8 = 8;

/// The class bits of each byte (one lane of
/// [`crate::classes::ByteClasses`]): without an [`OP`] or [`PAREN`] byte no
/// check but [`whole_value`] can fire.
pub(crate) const BYTE_CLASS: [u8; 256] = {
    let mut t = crate::class_bits([0; 256], &OP_START, true, OP);
    t[b'(' as usize] |= PAREN;
    t[b'<' as usize] |= ANGLE;
    t[b'{' as usize] |= BRACE;
    t
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Semi,
    Newline,
    Pipe,
    OrOr,
    AndAnd,
    Amp,
    Subst,
}

struct Best(Option<Hit>);

impl Best {
    fn offer(
        &mut self,
        class: &'static str,
        confidence: f32,
        span: std::ops::Range<usize>,
        reason: impl Into<Cow<'static, str>>,
    ) {
        if self.0.as_ref().is_none_or(|h| confidence > h.confidence) {
            self.0 = Some(Hit {
                class,
                confidence,
                span,
                reason: reason.into(),
            });
        }
    }
}

/// What a command word names.
struct Class {
    cmd: Option<(&'static str, Strength)>,
    /// The word is a path into a binaries directory (`/bin/`, `system32`).
    bin_path: bool,
    /// The word names an `.exe`/`.com`.
    exe: bool,
}

fn classify(w: &Word) -> Class {
    let t = w.text();
    let (dir, base) = match t.iter().rposition(|&c| c == b'/') {
        Some(p) => (&t[..p], &t[p + 1..]),
        None => (&t[..0], t),
    };
    let (base, exe) = match base.len().checked_sub(4) {
        Some(n)
            if base[n..].eq_ignore_ascii_case(b".exe")
                || base[n..].eq_ignore_ascii_case(b".com") =>
        {
            (&base[..n], true)
        }
        _ => (base, false),
    };
    let cmd = words::lookup(base, w.glob);
    let bin_path = !dir.is_empty()
        && (dir.ends_with(b"bin")
            || contains(dir, b"bin/")
            || contains(dir, b"system32")
            || (w.glob && cmd.is_some() && dir.starts_with(b"/") && dir.len() <= 12))
        && !base.is_empty();
    Class { cmd, bin_path, exe }
}

/// What follows a command word.
#[derive(Default)]
struct Args {
    /// Options, absolute/drive paths, IPs, URLs, redirections, expansions.
    shellish: bool,
    /// Any argument at all.
    any: bool,
    /// End of the arguments (offset of the terminator or end of value).
    end: usize,
    /// The operator byte that ends the command, if any.
    next_op: Option<u8>,
}

/// Whether the short slice `h` (a word or an argument) contains `n`; a
/// plain window scan, cheaper than setting up a SIMD searcher per call.
fn contains(h: &[u8], n: &[u8]) -> bool {
    h.windows(n.len()).any(|w| w == n)
}

/// The searchers of [`markers`], built once.
static SSI: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"<!--#"));
static SHELLSHOCK: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"() {"));

fn is_ip(a: &[u8]) -> bool {
    a.iter().filter(|&&c| c == b'.').count() == 3
        && a.iter().all(|c| c.is_ascii_digit() || *c == b'.')
        && a[0].is_ascii_digit()
}

fn arg_is_shellish(a: &[u8], cmd: &str) -> bool {
    let first = a[0];
    let second = a.get(1).copied();
    (first == b'-' && second.is_some_and(|c| c.is_ascii_alphabetic() || c == b'-'))
        // Absolute paths and cmd.exe switches (`/c`).
        || first == b'/'
        || first == b'\\'
        || first == b'~'
        || first == b'$'
        || a.starts_with(b"./")
        || a.starts_with(b"../")
        || (first.is_ascii_alphabetic()
            && second == Some(b':')
            && a.get(2)
                .is_none_or(|c| matches!(c, b'/' | b'\\' | b'"' | b'\'')))
        || is_ip(a)
        || contains(a, b"://")
        || (matches!(cmd, "sleep" | "timeout") && a.iter().all(u8::is_ascii_digit))
        || (first == b'%'
            && a.len() > 2
            && memchr::memchr(b'%', &a[1..]).is_some_and(|p| {
                p > 0
                    && a[1..=p]
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
            }))
        || (matches!(
            cmd,
            "which"
                | "whereis"
                | "sudo"
                | "nohup"
                | "exec"
                | "env"
                | "xargs"
                | "timeout"
                | "busybox"
                | "command"
        ) && words::lookup(a, false).is_some())
        || (cmd == "time" && words::lookup(a, false).is_some_and(|(_, s)| s == Strength::Strong))
        || (cmd == "net"
            && [
                &b"view"[..],
                b"user",
                b"users",
                b"localgroup",
                b"share",
                b"use",
                b"accounts",
                b"group",
                b"session",
            ]
            .contains(&a))
}

fn read_args(b: &[u8], mut j: usize, cmd: &str) -> Args {
    let mut args = Args::default();
    for _ in 0..MAX_ARGS {
        while j < b.len() && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        if j >= b.len() {
            break;
        }
        let c = b[j];
        if matches!(c, b'<' | b'>') {
            args.shellish = true;
            args.any = true;
            j += 1;
            continue;
        }
        if is_word_end(c) {
            args.next_op = Some(c);
            break;
        }
        let s = j;
        while j < b.len() && !is_word_end(b[j]) {
            j += 1;
        }
        let mut a = &b[s..j];
        while let [b'\'' | b'"', rest @ ..] = a {
            a = rest;
        }
        if !a.is_empty() {
            args.any = true;
            if arg_is_shellish(a, cmd) || a.starts_with(b"$IFS") {
                args.shellish = true;
            }
        }
    }
    args.end = j.min(b.len());
    args
}

/// After a pipe: is the next pipeline stage a non-command word (a table or a list)?
fn pipe_into_non_command(b: &[u8], args: &Args) -> bool {
    if args.next_op != Some(b'|') {
        return false;
    }
    let mut j = args.end + 1;
    while j < b.len() && matches!(b[j], b' ' | b'\t') {
        j += 1;
    }
    if j >= b.len() || is_word_end(b[j]) {
        return false;
    }
    let w = read_word(b, j);
    let c = classify(&w);
    c.cmd.is_none() && !c.bin_path && !w.text().is_empty()
}

fn op_at(b: &[u8], i: usize, backtick_open: &mut bool) -> Option<(Op, usize)> {
    let next = b.get(i + 1).copied();
    match b[i] {
        b';' => Some((Op::Semi, 1)),
        b'\n' | b'\r' => Some((Op::Newline, 1)),
        // A literal `\n` reaches shells through echo -e, printf and JSON.
        b'\\' if matches!(next, Some(b'n' | b'r')) => Some((Op::Newline, 2)),
        b'|' if next == Some(b'|') => Some((Op::OrOr, 2)),
        b'|' => Some((Op::Pipe, 1)),
        b'&' if next == Some(b'&') => Some((Op::AndAnd, 2)),
        b'&' => Some((Op::Amp, 1)),
        b'`' => {
            *backtick_open = !*backtick_open;
            backtick_open.then_some((Op::Subst, 1))
        }
        b'$' | b'<' if next == Some(b'(') => Some((Op::Subst, 2)),
        _ => None,
    }
}

/// An unknown word glued to an operator that opens the value (`|nid`):
/// plain lower-case letters and digits, unquoted, ending the value or at
/// the next operator, after an operator other than `&` or a substitution.
fn glued_word(b: &[u8], op: Op, w: &Word) -> bool {
    let t = w.text();
    let raw = &b[w.start..w.end.min(b.len())];
    let plain = (3..=12).contains(&t.len())
        && raw.len() == t.len()
        && raw
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && raw[0].is_ascii_lowercase();
    let ends =
        w.end >= b.len() || matches!(b[w.end], b';' | b'|' | b'&' | b'`' | b'\n' | b'\r' | b'\\');
    plain && ends && w.quotes == 0 && !matches!(op, Op::Amp | Op::Subst)
}

fn check_command(
    b: &[u8],
    op: Op,
    op_start: usize,
    lead: bool,
    glued: bool,
    w: &Word,
    best: &mut Best,
) {
    if w.text().is_empty() || w.assignment {
        return;
    }
    let cls = classify(w);
    // An unknown word counts only glued to an operator that opens the
    // value; anything else is dropped before its arguments are read.
    if cls.cmd.is_none() && !cls.bin_path && !(lead && glued && glued_word(b, op, w)) {
        return;
    }
    let cmd_name = cls.cmd.map_or("", |c| c.0);
    let args = read_args(b, w.end, cmd_name);
    let span = op_start..args.end.max(w.end);
    let (class, conf, reason): (&'static str, f32, &'static str) = match cls.cmd {
        Some(_) if w.evasion || w.glob || w.brace => (
            "evasion",
            0.85,
            "command word spelt with shell evasions after an operator",
        ),
        _ if cls.bin_path => ("separator", 0.85, "path to a binary after a shell operator"),
        Some((_, strength)) if op == Op::Subst => {
            let closed = match b[op_start] {
                b'`' => memchr::memchr(b'`', &b[w.end.min(b.len())..]).is_some(),
                _ => memchr::memchr(b')', &b[w.end.min(b.len())..]).is_some(),
            };
            if closed || strength == Strength::Strong || args.shellish {
                (
                    "substitution",
                    0.85,
                    "command substitution running a command",
                )
            } else {
                (
                    "substitution",
                    0.4,
                    "unclosed substitution of a common word",
                )
            }
        }
        Some((_, Strength::Strong)) if op == Op::Amp => {
            ("separator", 0.75, "command after a background operator")
        }
        Some((_, Strength::Strong)) => ("separator", 0.8, "command after a shell operator"),
        Some((_, Strength::Weak)) if args.shellish || cls.exe => (
            "separator",
            0.7,
            "command with shell arguments after an operator",
        ),
        Some((_, Strength::Weak)) => ("separator", 0.3, "common word after an operator"),
        None => (
            "separator",
            0.5,
            "value starts with a shell operator glued to a command-like word",
        ),
    };
    let conf = if (op == Op::Pipe || args.next_op == Some(b'|'))
        && conf < 0.85
        && pipe_into_non_command(b, &args)
    {
        0.3_f32.min(conf)
    } else {
        conf
    };
    best.offer(class, conf, span, reason);
}

fn scan_operators(b: &[u8], best: &mut Best) {
    let first_sig = b
        .iter()
        .position(|&c| !matches!(c, b' ' | b'\t' | b'\'' | b'"'))
        .unwrap_or(b.len());
    let mut backtick_open = false;
    let mut seen = 0;
    let mut i = first_sig;
    while i < b.len() && seen < MAX_OPERATORS {
        // The next byte that can start an operator.
        match b[i..].iter().position(|&c| OP_START[c as usize]) {
            Some(k) => i += k,
            None => break,
        }
        let Some((op, n)) = op_at(b, i, &mut backtick_open) else {
            i += 1;
            continue;
        };
        seen += 1;
        let op_start = i;
        let mut j = i + n;
        while j < b.len()
            && (matches!(b[j], b' ' | b'\t' | b'(' | b'!')
                || (b[j] == b'{' && b.get(j + 1).is_some_and(|c| c.is_ascii_whitespace())))
            && j - i < 16
        {
            j += 1;
        }
        if j < b.len() && !is_word_end(b[j]) {
            let (lead, glued) = (op_start == first_sig, j == i + n);
            // A plain word that names no command is dropped by
            // `check_command` (only a word glued to a leading operator is
            // looked at further): it is looked up without being read.
            let unknown_plain = !(lead && glued)
                && lexer::plain_word_end(b, j)
                    .is_some_and(|e| words::lookup(&b[j..e], false).is_none());
            if !unknown_plain {
                let w = read_word(b, j);
                check_command(b, op, op_start, lead, glued, &w, best);
            }
        }
        i += n;
    }
}

fn whole_value(b: &[u8], best: &mut Best) {
    let mut i = 0;
    let mut lead_quote = false;
    while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'\'' || b[i] == b'"') {
        lead_quote |= b[i] != b' ' && !b[i].is_ascii_whitespace();
        i += 1;
    }
    if i >= b.len() || !(b[i].is_ascii_alphabetic() || matches!(b[i], b'/' | b'\\' | b'{' | b'$')) {
        return;
    }
    let w = read_word(b, i);
    if w.text().is_empty() || w.assignment {
        return;
    }
    let cls = classify(&w);
    if cls.cmd.is_none() && !cls.bin_path {
        return;
    }
    let name = cls.cmd.map_or("", |c| c.0);
    let args = read_args(b, w.end, name);
    let span = i..args.end.max(w.end);
    if cls.bin_path {
        let conf = if cls.cmd.is_some() { 0.8 } else { 0.6 };
        best.offer(
            "command-line",
            conf,
            span,
            "the value is a command line starting with a path to a binary",
        );
        return;
    }
    let Some((_, strength)) = cls.cmd else {
        return;
    };
    if (w.evasion || w.glob || w.brace) && (args.any || w.ifs_end || w.brace) {
        best.offer(
            "evasion",
            0.8,
            span,
            "the value is a command line spelt with shell evasions",
        );
    } else if cls.exe && (args.any || args.next_op.is_some()) {
        best.offer(
            "command-line",
            0.75,
            span,
            "the value runs an .exe with arguments",
        );
    } else if args.shellish
        && (strength == Strength::Strong || !shouting(&b[w.start..w.end.min(b.len())]))
    {
        let conf = if strength == Strength::Strong {
            0.7
        } else {
            0.6
        };
        best.offer(
            "command-line",
            conf,
            span,
            "the value is a command with shell-looking arguments",
        );
    } else if strength == Strength::Strong
        && !args.any
        && matches!(args.next_op, Some(b';' | b'|' | b'&'))
    {
        best.offer(
            "command-line",
            0.6,
            span,
            "the value is a command statement ended by a shell operator",
        );
    } else if strength == Strength::Strong && lead_quote && !args.any && args.next_op.is_none() {
        best.offer(
            "command-line",
            0.55,
            span,
            "a quote then a command name (breaks out of a quoted argument)",
        );
    } else if strength == Strength::Strong && !args.any && args.next_op.is_none() {
        // Weak: `id`, `ls` and `date` are everyday parameter names and
        // values; kept low so that such words add little to a score.
        best.offer(
            "command-line",
            0.2,
            span,
            "the value is a bare command name",
        );
    }
}

/// An all-capitals word (`SET`, `TYPE`): prose or a label, not a Unix command.
fn shouting(raw: &[u8]) -> bool {
    raw.len() > 1 && raw.iter().all(|c| !c.is_ascii_lowercase())
}

/// Calls of [`words::is_exec_function`] whose first argument is a quoted
/// command (`system('id')`, `eval( "cat …"`).
///
/// The calls are found from their quotes: the quote is the first byte
/// after the `(` other than spaces and `[`, so each quote leads back to at
/// most one `(`, in the same order. SQL payloads hold far fewer quotes than
/// parentheses (`chr(113)||chr(113)||…`).
fn exec_calls(b: &[u8], best: &mut Best) {
    for q in memchr::memchr3_iter(b'\'', b'"', b'`', b) {
        let mut p = q;
        while p > 0 && matches!(b[p - 1], b' ' | b'\t' | b'[') {
            p -= 1;
        }
        if p < 2 || b[p - 1] != b'(' {
            continue;
        }
        p -= 1;
        if !words::may_end_exec_function(b[p - 1]) {
            continue;
        }
        let mut s = p;
        while s > 0 && p - s < 24 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_') {
            s -= 1;
        }
        if s == p || !words::is_exec_function(&b[s..p]) {
            continue;
        }
        let j = q + 1;
        if j >= b.len() || is_word_end(b[j]) {
            continue;
        }
        let w = read_word(b, j);
        let cls = classify(&w);
        if cls.cmd.is_some() || cls.bin_path {
            let end = w.end.max(p + 1);
            best.offer(
                "exec-call",
                0.8,
                s..end,
                "a shell-exec function called with a command line",
            );
        }
    }
}

/// `angle`: whether `b` holds a `<` (which the SSI marker starts with);
/// `paren_brace`: whether it holds a `(` and a `{` (which the Shellshock
/// header holds).
fn markers(b: &[u8], angle: bool, paren_brace: bool, best: &mut Best) {
    if let Some(p) = angle.then(|| SSI.find(b)).flatten() {
        let rest = &b[p + 5..];
        if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case(b"exec") {
            best.offer(
                "ssi-exec",
                0.9,
                p..b.len().min(p + 64),
                "server-side include exec directive",
            );
        }
    }
    if let Some(p) = paren_brace.then(|| SHELLSHOCK.find(b)).flatten() {
        let rest = &b[p + 4..];
        let body = &rest[..rest.len().min(8)];
        if memchr::memchr(b';', body).is_some() && memchr::memchr(b'}', rest).is_some() {
            best.offer(
                "shellshock",
                0.9,
                p..b.len().min(p + 16),
                "bash function-definition header (Shellshock)",
            );
        }
    }
}

impl Detector for CmdiDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Cmdi
    }

    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>) {
        let b = view.bytes();
        let mut best = Best(None);
        whole_value(b, &mut best);
        let m = view.classes().cmdi();
        if m & (OP | PAREN) != 0 {
            scan_operators(b, &mut best);
            let paren = m & PAREN != 0;
            let angle = m & ANGLE != 0;
            if paren {
                exec_calls(b, &mut best);
            }
            markers(b, angle, paren && m & BRACE != 0, &mut best);
        }
        if let Some(h) = best.0 {
            out.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Input;

    fn conf(v: &str) -> f32 {
        let input = Input::new(v.as_bytes());
        let mut out = Vec::new();
        for view in input.views() {
            CmdiDetector::default().detect(view, &mut out);
        }
        out.iter().map(|h| h.confidence).fold(0.0, f32::max)
    }

    #[test]
    fn operators_start_at_op_start_bytes() {
        for c in 0..=255u8 {
            for next in [b'(', b'|', b'&', b'n', b'r', b'x', b'`'] {
                for open in [false, true] {
                    let mut backtick_open = open;
                    if op_at(&[c, next], 0, &mut backtick_open).is_some() {
                        assert!(OP_START[c as usize], "{c:#x}");
                    }
                }
            }
            assert_eq!(OP_START[c as usize], BYTE_CLASS[c as usize] & OP != 0);
        }
    }

    #[test]
    fn exec_calls_are_found_from_their_quotes() {
        let found = |v: &str| {
            let mut best = Best(None);
            exec_calls(v.as_bytes(), &mut best);
            best.0.map(|h| (h.class, h.span))
        };
        assert_eq!(found("system('id')"), Some(("exec-call", 0..11)));
        assert_eq!(
            found("chr(1)||eval(\t`cat /etc/passwd`)"),
            Some(("exec-call", 8..18))
        );
        for v in [
            "('id')",
            "system 'id'",
            "system ('id')",
            "exec(x'id')",
            "id('id')",
        ] {
            assert_eq!(found(v), None, "{v}");
        }
    }

    #[test]
    fn attacks_block() {
        for v in [
            ";id",
            "| id",
            "a;/usr/bin/id|",
            "`uname`",
            "$(whoami)",
            "cat /etc/passwd",
            "/bin/ls -al",
            "ping.exe -n 31 127.0.0.1",
            "; c'a't /etc/passwd",
            "x;{cat,/etc/passwd}",
            ";/???/c?t /etc/passwd",
            "1%0aid",
            "'uname'",
        ] {
            assert!(conf(v) >= 0.5, "{v}: {}", conf(v));
        }
    }

    #[test]
    fn benign_pass() {
        for v in [
            "Tom & Jerry",
            "rock;roll",
            "a|b choices",
            "cat food",
            "ls",
            "ping me at 5",
            "R&D dept",
            "semi;colon",
            "select id | name",
            "| id | name |",
            "a=1&id=2&b=3",
            "id",
        ] {
            assert!(conf(v) < 0.5, "{v}: {}", conf(v));
        }
    }
}
