//! Literal prefilters and transformation chains: what lets a request pay
//! only for the rules that can match it.
//!
//! At build time every `@rx`, `@pm` and `@pmFromFile` link gets its
//! *needles*: byte strings of which every match contains at least one
//! (ASCII case ignored). For a regex they come from its syntax tree (see
//! `hir_needles`); a link whose regex has no such set (a leading class
//! repeated `*`, say) simply has no prefilter. All needles of all links go
//! into one Aho-Corasick automaton; scanning a value once gives the set of
//! links that may match it, as a bit set.
//!
//! A regex with no needles for all values may have some for *plain*
//! values (`plain_needles`): CRS's evasion-tolerant command regexes
//! allow quotes, backslashes and `$VAR`s between the letters of every
//! command word, so any letter may start a match, but a value without
//! those bytes can only match the words themselves. Such a link's bit is
//! set by its words, and by any byte outside `PLAIN`.
//!
//! Transformations change what the operator sees, so a value is scanned
//! after the link's transformation chain. Chains are interned, and each
//! knows the bytes that can make it change a value other than by ASCII
//! case (`Chain::triggers`). For the usual benign value no transformation
//! of the chain applies, the transformed value equals the raw one up to
//! case, and the raw value's scan stands for every such chain: a request
//! pays one scan per value instead of one regex per rule and value.
//! The scan is an overapproximation: a set bit only means "run the
//! operator"; a clear bit means the operator cannot match.

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, MatchKind};
use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, HirKind};

use crate::engine::transform::{Transform, TRANSFORMS, TRANSFORM_COUNT};

/// At most this many strings in one exact or needle set.
const MAX_SET: usize = 64;
/// Needle strings are cut to at most this many bytes.
const MAX_NEEDLE: usize = 24;
/// Needle sets with a shorter string are not worth scanning for.
const MIN_NEEDLE: usize = 2;
/// A class of more than this many (case-folded) bytes gives no needle.
const MAX_CLASS: usize = 4;

/// A set of byte strings, lower-cased, sorted and without duplicates.
type Set = Vec<Vec<u8>>;

/// An operator's needles (see the module docs).
pub(crate) type Needles = Set;

fn normalise(mut s: Set) -> Set {
    for v in &mut s {
        v.make_ascii_lowercase();
    }
    s.sort();
    s.dedup();
    s
}

/// The bytes of a small class, case-folded (ASCII).
fn class_bytes(class: &Class) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match class {
        Class::Bytes(c) => {
            for r in c.iter() {
                if usize::from(r.end() - r.start()) >= MAX_CLASS * 2 {
                    return None;
                }
                out.extend(r.start()..=r.end());
            }
        }
        Class::Unicode(c) => {
            for r in c.iter() {
                let (s, e) = (u32::from(r.start()), u32::from(r.end()));
                if e > 0x7f || e - s >= (MAX_CLASS * 2) as u32 {
                    return None;
                }
                out.extend((s..=e).map(|b| b as u8));
            }
        }
    }
    for b in &mut out {
        b.make_ascii_lowercase();
    }
    out.sort_unstable();
    out.dedup();
    (out.len() <= MAX_CLASS).then_some(out)
}

/// Cross product of two exact sets, if it stays small.
fn product(a: &Set, b: &Set, limit: usize) -> Option<Set> {
    if a.len() * b.len() > limit {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_NEEDLE * 2 {
                return None;
            }
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(normalise(out))
}

/// The whole (finite, small) language of `h`, if it has one.
fn exact(h: &Hir, limit: usize) -> Option<Set> {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![Vec::new()]),
        HirKind::Literal(l) => Some(normalise(vec![l.0.to_vec()])),
        HirKind::Class(c) => Some(class_bytes(c)?.into_iter().map(|b| vec![b]).collect()),
        HirKind::Capture(c) => exact(&c.sub, limit),
        HirKind::Repetition(r) => {
            let sub = exact(&r.sub, limit)?;
            match (r.min, r.max) {
                (1, Some(1)) => Some(sub),
                (0, Some(1)) => {
                    let mut s = sub;
                    s.push(Vec::new());
                    Some(normalise(s))
                }
                (n, Some(m)) if n == m && n <= 4 => {
                    let mut acc = vec![Vec::new()];
                    for _ in 0..n {
                        acc = product(&acc, &sub, limit)?;
                    }
                    Some(acc)
                }
                _ => None,
            }
        }
        HirKind::Concat(items) => {
            let mut acc = vec![Vec::new()];
            for i in items {
                acc = product(&acc, &exact(i, limit)?, limit)?;
            }
            Some(acc)
        }
        HirKind::Alternation(alts) => {
            let mut out = Vec::new();
            for a in alts {
                out.extend(exact(a, limit)?);
                if out.len() > limit {
                    return None;
                }
            }
            Some(normalise(out))
        }
    }
}

/// How good a needle set is: longer shortest needle first, then fewer.
fn score(s: &Set) -> (usize, isize) {
    let min = s.iter().map(Vec::len).min().unwrap_or(0);
    (min.min(8), -(s.len() as isize))
}

fn valid(s: &Set, limit: usize) -> bool {
    !s.is_empty() && s.len() <= limit && s.iter().all(|v| !v.is_empty())
}

/// Cuts needles to [`MAX_NEEDLE`] bytes (a prefix of a necessary string is
/// necessary too).
fn cut(s: Set) -> Set {
    normalise(
        s.into_iter()
            .map(|mut v| {
                v.truncate(MAX_NEEDLE);
                v
            })
            .collect(),
    )
}

/// Strings of which every match of `h` contains one, if there is such a
/// set worth having.
fn needles(h: &Hir, limit: usize) -> Option<Set> {
    if let Some(e) = exact(h, limit) {
        if valid(&e, limit) {
            return Some(cut(e));
        }
    }
    match h.kind() {
        HirKind::Capture(c) => needles(&c.sub, limit),
        // `x{2,}` holds `xx`: the sub-pattern repeated `min` times.
        HirKind::Repetition(r) if (2..=4).contains(&r.min) && exact(&r.sub, limit).is_some() => {
            let sub = exact(&r.sub, limit)?;
            let mut acc = vec![Vec::new()];
            for _ in 0..r.min {
                acc = product(&acc, &sub, limit)?;
            }
            valid(&acc, limit).then(|| cut(acc))
        }
        HirKind::Repetition(r) if r.min >= 1 => needles(&r.sub, limit),
        HirKind::Alternation(alts) => {
            let mut out = Vec::new();
            for a in alts {
                out.extend(needles(a, limit)?);
                if out.len() > limit {
                    return None;
                }
            }
            Some(normalise(out))
        }
        HirKind::Concat(items) => {
            let mut best: Option<Set> = None;
            let mut consider = |cand: Set| {
                let cand = cut(cand);
                if valid(&cand, limit) && best.as_ref().is_none_or(|b| score(&cand) > score(b)) {
                    best = Some(cand);
                }
            };
            // Runs of adjacent exact items, joined.
            let mut run: Set = vec![Vec::new()];
            for item in items {
                match exact(item, limit).and_then(|e| product(&run, &e, limit)) {
                    Some(joined) => run = joined,
                    None => {
                        consider(std::mem::replace(&mut run, vec![Vec::new()]));
                        // The item may start a new run on its own.
                        if let Some(e) = exact(item, limit) {
                            run = e;
                        }
                    }
                }
                if let Some(n) = needles(item, limit) {
                    consider(n);
                }
            }
            consider(run);
            best
        }
        _ => None,
    }
}

/// The bytes of a *plain* value: letters, digits, the punctuation of
/// words, numbers, names, e-mail addresses, dates and paths (space `_ . -
/// @ , : / +`), and the bytes of non-ASCII text. See [`plain_needles`].
pub(crate) const PLAIN: ByteSet = {
    let mut s = [0u64, 0, u64::MAX, u64::MAX];
    let mut b = 0usize;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric()
            || matches!(
                c,
                b' ' | b'_' | b'.' | b'-' | b'@' | b',' | b':' | b'/' | b'+'
            )
        {
            s[b >> 6] |= 1 << (b & 63);
        }
        b += 1;
    }
    s
};

/// The bytes outside [`PLAIN`].
const NOT_PLAIN: ByteSet = [!PLAIN[0], !PLAIN[1], !PLAIN[2], !PLAIN[3]];

/// At most this many needles for a plain-value set: command and keyword
/// lists are long, and one automaton holds them all.
const MAX_PLAIN_SET: usize = 1024;

/// What `h` can match using only the bytes of `sigma` (a byte set and the
/// same bytes as a class): a pattern matching (at least) the strings over
/// `sigma` that `h` matches, or `None` when there are none. A class loses
/// its other bytes; an item that needs one of them fails its
/// concatenation, drops out of its alternation, and is skipped where it
/// may repeat zero times.
fn restrict(h: &Hir, sigma: &(ByteSet, ClassBytes)) -> Option<Hir> {
    use regex_syntax::hir::Repetition;
    let (bytes, class) = sigma;
    Some(match h.kind() {
        HirKind::Empty | HirKind::Look(_) | HirKind::Class(Class::Unicode(_)) => h.clone(),
        HirKind::Literal(l) => {
            if !l.0.iter().all(|&b| has_byte(bytes, b)) {
                return None;
            }
            h.clone()
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut keep = class.clone();
            keep.intersect(c);
            if keep.ranges().is_empty() {
                return None;
            }
            Hir::class(Class::Bytes(keep))
        }
        HirKind::Capture(c) => restrict(&c.sub, sigma)?,
        HirKind::Repetition(r) => match restrict(&r.sub, sigma) {
            Some(sub) => Hir::repetition(Repetition {
                min: r.min,
                max: r.max,
                greedy: r.greedy,
                sub: Box::new(sub),
            }),
            None if r.min == 0 => Hir::empty(),
            None => return None,
        },
        HirKind::Concat(items) => Hir::concat(
            items
                .iter()
                .map(|i| restrict(i, sigma))
                .collect::<Option<Vec<_>>>()?,
        ),
        HirKind::Alternation(alts) => {
            let alts: Vec<Hir> = alts.iter().filter_map(|a| restrict(a, sigma)).collect();
            if alts.is_empty() {
                return None;
            }
            Hir::alternation(alts)
        }
    })
}

/// Needles for a regex that has none for all values, holding for *plain*
/// values (made of [`PLAIN`] bytes) only: the evasion-tolerant parts of a
/// pattern (quotes, backslashes, `$VAR`s between the letters of a command)
/// need bytes a plain value lacks, and what is left is often a list of
/// words. An empty set: no plain value matches at all. The prefilter sets
/// the bit of such a link for every value holding a byte outside
/// [`PLAIN`] (see [`Prefilter::scan`]), so the bit stays an
/// overapproximation for all values.
pub(crate) fn plain_needles(hir: &Hir) -> Option<Set> {
    let class = ClassBytes::new(
        (0..=255u8)
            .filter(|&b| has_byte(&PLAIN, b))
            .map(|b| ClassBytesRange::new(b, b)),
    );
    match restrict(hir, &(PLAIN, class)) {
        None => Some(Vec::new()),
        Some(r) => needles(&r, MAX_PLAIN_SET).filter(|s| s.iter().all(|n| worth_needle(n))),
    }
}

/// The needles of a parsed regex.
pub(crate) fn hir_needles(hir: &Hir) -> Option<Set> {
    needles(hir, MAX_SET).filter(|s| s.iter().all(|n| worth_needle(n)))
}

/// Whether a needle is worth scanning for. Most single bytes occur in
/// nearly every value, so a set holding one costs a scan more than it
/// saves; a rare punctuation byte (a quote, a bracket, `;`, `<`, `$`…) is
/// as selective as a word on benign values, and lets rules like `942190`
/// (a quote, or one of some SQL words) be ruled out.
fn worth_needle(n: &[u8]) -> bool {
    match n {
        &[b] => {
            !(b.is_ascii_alphanumeric()
                || is_common_punct(b)
                || matches!(b, b'\t' | b'\r' | b'\n' | 0x80..=0xff))
        }
        n => n.len() >= MIN_NEEDLE,
    }
}

/// The needles of a regex pattern (already translated to `regex` syntax),
/// parsed with the flags `@rx` compiles with.
#[cfg(test)]
pub(crate) fn rx_needles(translated: &str) -> Option<Set> {
    hir_needles(&crate::engine::operator::parse_rx(translated).ok()?)
}

/// Needles for phrase operators: the phrases themselves, or, for a long
/// list (`@pmFromFile` data files hold hundreds of phrases), one short
/// distinctive piece of each phrase ([`rare_piece`]): every match holds a
/// whole phrase, so it holds that piece, and the shared automaton stays
/// small.
pub(crate) fn phrase_needles<S: AsRef<[u8]>>(phrases: &[S]) -> Option<Set> {
    let s: Set = if phrases.len() <= MAX_SET {
        phrases.iter().map(|p| p.as_ref().to_vec()).collect()
    } else {
        phrases.iter().map(|p| rare_piece(p.as_ref())).collect()
    };
    let s = normalise(s);
    (!s.is_empty() && s.len() <= MAX_PIECES && s.iter().all(|v| worth_needle(v))).then_some(s)
}

/// Pieces of a long phrase list are this many bytes long.
const PIECE: usize = 4;
/// A phrase list with more distinct pieces than this gives no needles.
const MAX_PIECES: usize = 4096;

/// The [`PIECE`]-byte window of a phrase least likely to occur in benign
/// text: punctuation and rare letters over common letters and spaces.
/// A phrase that short is its own piece.
fn rare_piece(p: &[u8]) -> Vec<u8> {
    if p.len() <= PIECE {
        return p.to_vec();
    }
    let rarity = |b: u8| -> u32 {
        match b.to_ascii_lowercase() {
            b' ' => 0,
            b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'h' | b'l' => 1,
            b'k' | b'v' | b'x' | b'j' | b'q' | b'z' => 4,
            b'a'..=b'z' => 2,
            b'0'..=b'9' => 3,
            b if is_common_punct(b) => 4,
            _ => 8,
        }
    };
    let best = p
        .windows(PIECE)
        .enumerate()
        .max_by_key(|(i, w)| {
            (
                w.iter().map(|&b| rarity(b)).sum::<u32>(),
                std::cmp::Reverse(*i),
            )
        })
        .map_or(0, |(i, _)| i);
    p[best..best + PIECE].to_vec()
}

/// Bytes that may make a transformation change a value other than by
/// ASCII case; `None` when it may change any value.
const fn triggers(t: Transform) -> Option<&'static [u8]> {
    const WS: &[u8] = b" \t\n\x0b\x0c\r\xa0";
    Some(match t {
        Transform::None | Transform::Lowercase | Transform::Uppercase => b"",
        Transform::UrlDecode | Transform::UrlDecodeUni => b"%+",
        Transform::HtmlEntityDecode => b"&",
        Transform::JsDecode | Transform::CssDecode | Transform::EscapeSeqDecode => b"\\",
        Transform::CmdLine => b"\\\"'^ \t\n\r\x0b\x0c,;/(",
        Transform::CompressWhitespace
        | Transform::RemoveWhitespace
        | Transform::Trim
        | Transform::TrimLeft
        | Transform::TrimRight => WS,
        Transform::RemoveNulls | Transform::ReplaceNulls => b"\0",
        Transform::ReplaceComments => b"/",
        Transform::RemoveComments | Transform::RemoveCommentsChar => b"/*<-#",
        // Without a separator a value is one segment, changed only when
        // it is `.` or `..`: see [`DOTS`].
        Transform::NormalizePath => b"/",
        Transform::NormalizePathWin => b"/\\",
        Transform::SqlHexDecode => b"0",
        Transform::Utf8ToUnicode | Transform::ParityZero7bit => return Some(HIGH),
        Transform::UrlEncode
        | Transform::Base64Decode
        | Transform::Base64DecodeExt
        | Transform::Base64Encode
        | Transform::HexEncode
        | Transform::HexDecode
        | Transform::Length
        | Transform::Sha1
        | Transform::Md5 => return None,
    })
}

/// Every byte with the high bit set.
static HIGH: &[u8] = &{
    let mut a = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        a[i] = 128 + i as u8;
        i += 1;
    }
    a
};

/// A 256-bit byte set.
pub(crate) type ByteSet = [u64; 4];

/// The set of bytes present in a value.
pub(crate) fn byte_set(value: &[u8]) -> ByteSet {
    // Four accumulators in registers: indexing one array by `b >> 6` makes
    // every byte wait on the previous store.
    let (mut s0, mut s1, mut s2, mut s3) = (0u64, 0u64, 0u64, 0u64);
    for &b in value {
        let bit = 1u64 << (b & 63);
        match b >> 6 {
            0 => s0 |= bit,
            1 => s1 |= bit,
            2 => s2 |= bit,
            _ => s3 |= bit,
        }
    }
    [s0, s1, s2, s3]
}

/// Whether two byte sets share a byte.
pub(crate) fn intersects(a: &ByteSet, b: &ByteSet) -> bool {
    a.iter().zip(b).any(|(x, y)| x & y != 0)
}

fn add_byte(s: &mut ByteSet, b: u8) {
    s[usize::from(b >> 6)] |= 1 << (b & 63);
}

fn has_byte(s: &ByteSet, b: u8) -> bool {
    s[usize::from(b >> 6)] & (1 << (b & 63)) != 0
}

/// The set with both ASCII cases of every letter in it. Upper-case
/// letters are bits 1-26 of the second word, lower-case ones the same bits
/// 32 higher.
fn case_closed(mut s: ByteSet) -> ByteSet {
    const LETTERS: u64 = 0x07ff_fffe;
    let upper = s[1] & LETTERS;
    let lower = (s[1] >> 32) & LETTERS;
    s[1] |= (upper << 32) | lower;
    s
}

/// Punctuation that benign values use all the time (separators of words,
/// paths, numbers, key=value lists).
fn is_common_punct(b: u8) -> bool {
    matches!(b, b' ' | b'.' | b'-' | b'_' | b'/' | b'=' | b',' | b':')
}

/// How likely a benign value holds some byte of the set (lower is better).
fn commonness(s: &ByteSet) -> u32 {
    let ascii: u32 = (0..0x80u8)
        .filter(|&b| has_byte(s, b))
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => 64,
            b if is_common_punct(b) => 16,
            0x21..=0x7e => 2,
            _ => 1,
        })
        .sum();
    // Bytes above ASCII come together (UTF-8 text): one weight for all.
    ascii + if s[2] | s[3] != 0 { 8 } else { 0 }
}

/// A set of bytes of which every match of `h` contains at least one, if
/// `h` has one (an empty match, or one of any bytes, has none).
fn required(h: &Hir) -> Option<ByteSet> {
    let best = |sets: &mut dyn Iterator<Item = ByteSet>| sets.min_by_key(commonness);
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(l) => best(&mut l.0.iter().map(|&b| {
            let mut s = [0; 4];
            add_byte(&mut s, b);
            s
        })),
        HirKind::Class(Class::Bytes(c)) => {
            let mut s = [0; 4];
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    add_byte(&mut s, b);
                }
            }
            Some(s)
        }
        HirKind::Class(Class::Unicode(c)) => {
            let mut s = [0; 4];
            for r in c.iter() {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                // A character above ASCII is several bytes: leave it be.
                if hi > 0x7f {
                    return None;
                }
                for b in lo..=hi {
                    add_byte(&mut s, b as u8);
                }
            }
            Some(s)
        }
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Repetition(_) => None,
        HirKind::Concat(items) => best(&mut items.iter().filter_map(required)),
        HirKind::Alternation(alts) => {
            let mut s = [0; 4];
            for a in alts {
                for (x, y) in s.iter_mut().zip(required(a)?) {
                    *x |= y;
                }
            }
            Some(s)
        }
    }
}

/// Sets that hold more bytes than this say nothing worth a test.
const MAX_REQUIRED_BYTES: u32 = 200;

fn worth(s: ByteSet) -> Option<ByteSet> {
    let s = case_closed(s);
    (s.iter().map(|w| w.count_ones()).sum::<u32>() <= MAX_REQUIRED_BYTES).then_some(s)
}

/// Whether `h` matches some string made only of bytes in `sigma`.
/// Look-around assertions count as satisfiable, so a `false` is sure: a
/// value of such bytes has no substring `h` matches.
fn matches_over(h: &Hir, sigma: &ByteSet) -> bool {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => l.0.iter().all(|&b| has_byte(sigma, b)),
        HirKind::Class(Class::Bytes(c)) => c
            .iter()
            .any(|r| (r.start()..=r.end()).any(|b| has_byte(sigma, b))),
        HirKind::Class(Class::Unicode(c)) => c.iter().any(|r| {
            let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
            // Above ASCII a character is several bytes: any high byte may do.
            (lo..=hi.min(0x7f)).any(|b| has_byte(sigma, b as u8))
                || (hi > 0x7f && sigma[2] | sigma[3] != 0)
        }),
        HirKind::Capture(c) => matches_over(&c.sub, sigma),
        HirKind::Repetition(r) => r.min == 0 || matches_over(&r.sub, sigma),
        HirKind::Concat(items) => items.iter().all(|i| matches_over(i, sigma)),
        HirKind::Alternation(alts) => alts.iter().any(|a| matches_over(a, sigma)),
    }
}

/// Groups of bytes in the order benign values use them, most common first:
/// the safe alphabet of [`alphabet_required`] grows by whole groups.
fn byte_groups() -> Vec<ByteSet> {
    let mut groups: Vec<ByteSet> = Vec::new();
    let set = |bytes: &mut dyn Iterator<Item = u8>| {
        let mut s = [0; 4];
        for b in bytes {
            add_byte(&mut s, b);
        }
        case_closed(s)
    };
    groups.push(set(&mut (b'a'..=b'z')));
    groups.push(set(&mut (b'0'..=b'9')));
    for &b in b" _-.,/:=@+;()'\"!?&%#*$<>[]{}|^`~\t\r\n" {
        groups.push(set(&mut std::iter::once(b)));
    }
    groups.push(set(&mut (0x80..=0xffu8)));
    groups.push(set(&mut (0u8..0x20).chain([0x7f])));
    groups
}

/// A required-byte set read off the language of `h`: the complement of a
/// maximal alphabet over which `h` matches nothing, grown greedily from
/// the bytes benign values use most. It finds what [`required`] cannot see
/// through alternations, e.g. that every branch of a command-injection
/// pattern needs some separator byte even though one branch is words only.
fn alphabet_required(h: &Hir) -> Option<ByteSet> {
    let mut sigma: ByteSet = [0; 4];
    let mut grown = false;
    for g in byte_groups() {
        let mut wider = sigma;
        for (x, y) in wider.iter_mut().zip(g) {
            *x |= y;
        }
        if !matches_over(h, &wider) {
            sigma = wider;
            grown = true;
        }
    }
    // Bytes no group holds (other control or punctuation bytes) stay out
    // of the alphabet, so they count as required: still sound.
    if !grown {
        return None;
    }
    Some([!sigma[0], !sigma[1], !sigma[2], !sigma[3]])
}

/// The bytes of which every match of a parsed regex contains one, with
/// both ASCII cases of letters (so the set also holds for the value before
/// a case transformation): a value holding none of them cannot match.
/// Of the syntactic set ([`required`]) and the alphabet one
/// ([`alphabet_required`]), the one benign values hit less.
pub(crate) fn hir_required_bytes(hir: &Hir) -> Option<ByteSet> {
    let syntactic = required(hir).and_then(worth);
    let alphabet = alphabet_required(hir).and_then(worth);
    match (syntactic, alphabet) {
        (Some(a), Some(b)) => Some(if commonness(&b) < commonness(&a) {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    }
}

/// A required-byte set from its bytes (see [`hir_required_bytes`]).
pub(crate) fn required_from(bytes: impl IntoIterator<Item = u8>) -> Option<ByteSet> {
    let mut s = [0; 4];
    for b in bytes {
        add_byte(&mut s, b);
    }
    (s != [0; 4]).then_some(s).and_then(worth)
}

/// [`hir_required_bytes`] for phrase operators: the rarest byte of every
/// phrase (phrases match ASCII case-insensitively).
pub(crate) fn phrase_required_bytes<S: AsRef<[u8]>>(phrases: &[S]) -> Option<ByteSet> {
    let mut s = [0; 4];
    for p in phrases {
        let rarest = p.as_ref().iter().copied().min_by_key(|&b| {
            let mut one = [0; 4];
            add_byte(&mut one, b);
            commonness(&case_closed(one))
        })?;
        add_byte(&mut s, rarest);
    }
    worth(s)
}

/// The byte set of a value made only of dots, which path normalisation
/// changes with no separator in it (`.` to nothing, `..` to `../`).
pub(crate) const DOTS: ByteSet = [1 << b'.', 0, 0, 0];

/// Whether one transformation may change a value holding these bytes.
pub(crate) fn step_may_change(t: Transform, present: &ByteSet) -> bool {
    const UPPER: ByteSet = [0, 0x07ff_fffe, 0, 0];
    const LOWER: ByteSet = [0, 0x07ff_fffe << 32, 0, 0];
    match t {
        Transform::None => false,
        Transform::Lowercase => intersects(&UPPER, present),
        Transform::Uppercase => intersects(&LOWER, present),
        Transform::CmdLine if intersects(&UPPER, present) => true,
        Transform::NormalizePath | Transform::NormalizePathWin if *present == DOTS => true,
        t => match TRIGGER_SETS[t as usize] {
            None => true,
            Some(set) => intersects(&set, present),
        },
    }
}

/// [`triggers`] as byte sets, by transformation, built at compile time.
static TRIGGER_SETS: [Option<ByteSet>; TRANSFORM_COUNT] = {
    let mut sets = [None; TRANSFORM_COUNT];
    let mut i = 0;
    while i < TRANSFORMS.len() {
        let t = TRANSFORMS[i].1;
        sets[t as usize] = match triggers(t) {
            Some(bytes) => {
                let mut set = [0u64; 4];
                let mut j = 0;
                while j < bytes.len() {
                    set[(bytes[j] >> 6) as usize] |= 1 << (bytes[j] & 63);
                    j += 1;
                }
                Some(set)
            }
            None => None,
        };
        i += 1;
    }
    sets
};

/// An interned transformation chain.
#[derive(Clone, Debug)]
pub struct Chain {
    /// The transformations in order.
    pub transforms: Vec<Transform>,
    /// Bytes whose presence may change a value beyond ASCII case.
    triggers: ByteSet,
    /// The chain may change any value (digests, encodings, `length`).
    always: bool,
    /// The chain changes ASCII case.
    pub(crate) case: bool,
    /// The chain normalises paths, so it changes values made only of
    /// dots (see [`DOTS`]).
    dots: bool,
}

impl Chain {
    pub(crate) fn new(transforms: Vec<Transform>) -> Chain {
        let mut trig = [0u64; 4];
        let mut always = false;
        for &t in &transforms {
            match triggers(t) {
                Some(bytes) => {
                    for &b in bytes {
                        trig[usize::from(b >> 6)] |= 1 << (b & 63);
                    }
                }
                None => always = true,
            }
        }
        // cmdLine lower-cases too.
        let case = transforms.iter().any(|t| {
            matches!(
                t,
                Transform::Lowercase | Transform::Uppercase | Transform::CmdLine
            )
        });
        let dots = transforms
            .iter()
            .any(|t| matches!(t, Transform::NormalizePath | Transform::NormalizePathWin));
        Chain {
            transforms,
            triggers: trig,
            always,
            case,
            dots,
        }
    }

    /// Whether the chain may change a value with these bytes other than by
    /// ASCII case.
    pub(crate) fn may_change(&self, present: &ByteSet) -> bool {
        self.always
            || present.iter().zip(&self.triggers).any(|(a, b)| a & b != 0)
            || (self.dots && *present == DOTS)
    }

    /// A superset of the bytes of a value with bytes `present` after the
    /// chain, letters in both ASCII cases (as [`Filter`] byte sets hold
    /// them): what a link's required bytes can rule out without running
    /// the chain. `None` when a step that may run can produce any byte (a
    /// decoding step whose escape byte is there, a digest, an encoding).
    ///
    /// [`Filter`]: crate::engine::cache::Filter
    pub(crate) fn superset(&self, present: &ByteSet) -> Option<ByteSet> {
        if self.always {
            return None;
        }
        let mut p = case_closed(*present);
        for &t in &self.transforms {
            if !step_may_change(t, &p) {
                continue;
            }
            match t {
                // These only drop bytes or change ASCII case.
                Transform::None
                | Transform::Lowercase
                | Transform::Uppercase
                | Transform::RemoveWhitespace
                | Transform::RemoveNulls
                | Transform::RemoveComments
                | Transform::RemoveCommentsChar
                | Transform::Trim
                | Transform::TrimLeft
                | Transform::TrimRight => {}
                // `+` becomes a space; a `%` escape may be any byte.
                Transform::UrlDecode | Transform::UrlDecodeUni if !has_byte(&p, b'%') => {
                    add_byte(&mut p, b' ')
                }
                // Separators, comments and NULs become one space.
                Transform::CmdLine
                | Transform::CompressWhitespace
                | Transform::ReplaceComments
                | Transform::ReplaceNulls => add_byte(&mut p, b' '),
                // `\` becomes `/`; `..` segments come back as `../`.
                Transform::NormalizePath | Transform::NormalizePathWin => add_byte(&mut p, b'/'),
                // A multi-byte character becomes `%uXXXX` (lower-case hex).
                Transform::Utf8ToUnicode => {
                    for &b in b"%u0123456789abcdef" {
                        add_byte(&mut p, b);
                    }
                }
                _ => return None,
            }
        }
        Some(case_closed(p))
    }

    /// Whether the chain may change some value of a collection whose
    /// values hold, together, the bytes of `union`, `dots_only` saying
    /// whether one of them is made only of dots (the union alone cannot
    /// tell: see [`DOTS`]).
    pub(crate) fn may_change_some(&self, union: &ByteSet, dots_only: bool) -> bool {
        self.may_change(union) || (self.dots && dots_only)
    }
}

/// The engine-wide needle automaton.
#[derive(Debug)]
pub struct Prefilter {
    /// The needles' automaton, walked by [`Prefilter::scan`] itself: every
    /// pattern ending at a byte is listed by the state reached there.
    dfa: aho_corasick::dfa::DFA,
    /// The bits of the links whose needles hold for plain values only (see
    /// [`plain_needles`]): set for every value that is not plain.
    plain: Vec<u64>,
    /// Pattern id → the link bits it sets.
    links: Vec<Vec<u32>>,
    /// Number of links with a prefilter.
    count: usize,
}

impl Prefilter {
    /// Builds the automaton from each link's needles (`link bit → needles`).
    /// `plain` lists the links whose sets come from [`plain_needles`].
    pub(crate) fn build(per_link: &[Set], plain: &[u32]) -> Option<Prefilter> {
        let mut index: std::collections::HashMap<&[u8], usize> = Default::default();
        let mut patterns: Vec<&[u8]> = Vec::new();
        let mut links: Vec<Vec<u32>> = Vec::new();
        for (bit, set) in per_link.iter().enumerate() {
            for n in set {
                let id = *index.entry(n.as_slice()).or_insert_with(|| {
                    patterns.push(n.as_slice());
                    links.push(Vec::new());
                    patterns.len() - 1
                });
                links[id].push(bit as u32);
            }
        }
        // A DFA: a few MiB more than an NFA, fewer steps per byte of every
        // value of every request. No prefilter: nearly every byte starts
        // some needle.
        let dfa = aho_corasick::dfa::DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&patterns)
            .ok()?;
        let mut mask = vec![0u64; per_link.len().div_ceil(64)];
        for &b in plain {
            mask[(b / 64) as usize] |= 1 << (b % 64);
        }
        Some(Prefilter {
            dfa,
            plain: mask,
            links,
            count: per_link.len(),
        })
    }

    /// Words in a bit set over all prefiltered links.
    pub(crate) fn words(&self) -> usize {
        self.count.div_ceil(64)
    }

    /// Sets in `bits` the links whose needles occur in `value`.
    /// `present`: the bytes of `value` ([`byte_set`]).
    pub(crate) fn scan(&self, value: &[u8], present: &ByteSet, bits: &mut [u64]) {
        // An overlapping search as a plain loop over the automaton (the
        // crate's iterator stops and resumes at every match and costs
        // tens of instructions per byte; this is a few).
        let dfa = &self.dfa;
        let Ok(mut sid) = dfa.start_state(Anchored::No) else {
            return;
        };
        let mut set = |sid| {
            for i in 0..dfa.match_len(sid) {
                for &b in &self.links[dfa.match_pattern(sid, i).as_usize()] {
                    bits[(b / 64) as usize] |= 1 << (b % 64);
                }
            }
        };
        for &byte in value {
            sid = dfa.next_state(Anchored::No, sid, byte);
            if dfa.is_special(sid) {
                if dfa.is_dead(sid) {
                    break;
                }
                if dfa.is_match(sid) {
                    set(sid);
                }
            }
        }
        if intersects(present, &NOT_PLAIN) {
            for (b, m) in bits.iter_mut().zip(&self.plain) {
                *b |= m;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(p: &str) -> Option<Vec<String>> {
        rx_needles(&crate::ir::pcre_to_regex(p)).map(|s| {
            s.into_iter()
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .collect()
        })
    }

    #[test]
    fn literals_alternations_and_case() {
        assert_eq!(n("(?i)union\\s+select"), Some(vec!["select".into()]));
        assert_eq!(
            n("(?:foo|BAR)baz"),
            Some(vec!["barbaz".into(), "foobaz".into()])
        );
        assert_eq!(n("a[bB]c"), Some(vec!["abc".into()]));
        assert_eq!(n("\\.{2,3}/"), Some(vec!["..".into()]));
        assert_eq!(n("x[/;]\\.{2,}"), Some(vec!["..".into()]));
        // Optional parts are not necessary.
        assert_eq!(n("x?"), None);
        assert_eq!(n("[a-z]+"), None);
        // An alternation with a branch lacking needles has none.
        assert_eq!(n("abc|[0-9]+"), None);
        // A rare punctuation byte is a needle; a common one is not.
        assert_eq!(
            n("[\"'][a-z]+|union"),
            Some(vec!["\"".into(), "'".into(), "union".into()])
        );
        assert_eq!(n("[.][a-z]+|union"), None);
        assert_eq!(n("a[0-9]+|union"), None);
    }

    #[test]
    fn needles_are_necessary_for_crs_style_patterns() {
        // Every match must contain a needle: check on sample matches.
        let cases = [
            ("(?i)<script[^>]*>", "xx<SCRIPT src=1>"),
            ("(?:\\$|&dollar;?)(?:\\{|&l(?:brace|cub);?)", "a${b"),
            ("(?i)\\b(?:s(?:leep|elect)|benchmark)\\s*\\(", "SLEEP (1)"),
            ("[\\n\\r]+(?:get|post)", "\r\nget"),
        ];
        for (p, sample) in cases {
            let set = rx_needles(&crate::ir::pcre_to_regex(p)).expect(p);
            let re = regex::bytes::RegexBuilder::new(&crate::ir::pcre_to_regex(p))
                .unicode(false)
                .build()
                .expect(p);
            let m = re.find(sample.as_bytes()).expect(sample).as_bytes();
            let lower = m.to_ascii_lowercase();
            assert!(
                set.iter()
                    .any(|n| memchr::memmem::find(&lower, n).is_some()),
                "{p}: {sample} has none of {set:?}"
            );
        }
    }

    fn req(p: &str) -> Option<ByteSet> {
        hir_required_bytes(&crate::engine::operator::parse_rx(&crate::ir::pcre_to_regex(p)).ok()?)
    }

    #[test]
    fn required_bytes_are_necessary() {
        // Command separators before a command word: one of them is needed.
        let s = req(r"(?:[\n\r;`\{]|\|\|?|&&?)\s*(?:cat|ls)").expect("set");
        assert!(!intersects(&s, &byte_set(b"value1")));
        assert!(intersects(&s, &byte_set(b"x;cat")));
        // Letters are case-closed: `t:lowercase` may have made the `a`.
        let s = req("(?i)<a").expect("set");
        assert!(intersects(&s, &byte_set(b"<")));
        let s = req("Q").expect("set");
        assert!(intersects(&s, &byte_set(b"q")), "both cases");
        let s = req("zq;").expect("set");
        assert!(intersects(&s, &byte_set(b";")), "the rarest byte");
        assert!(!intersects(&s, &byte_set(b"zqZQ")), "only the rarest byte");
        // Optional or anchored-only patterns have no set.
        assert_eq!(req("^.*$"), None);
        assert_eq!(req("x?"), None);
        assert_eq!(req("a|b?"), None);
        assert!(phrase_required_bytes(&["Select", "union"]).is_some());
        assert_eq!(phrase_required_bytes(&["", "x"]), None);
        // On sample matches of CRS-style patterns, a byte of the set occurs.
        let cases = [
            (r"\x{bc}[^>\x{be}]*[>\x{be}]|<[^\x{be}]*\x{be}", "a<b\u{be}"),
            (r"(?i)\b(?:s(?:leep|elect)|benchmark)\s*\(", "SLEEP (1)"),
            (r"[\n\r]+(?:get|post)", "\r\nget"),
        ];
        for (p, sample) in cases {
            let s = req(p).expect(p);
            assert!(
                intersects(&s, &byte_set(sample.as_bytes())),
                "{p}: {sample}"
            );
        }
    }

    #[test]
    fn steps_know_when_they_change_nothing() {
        let plain = byte_set(b"some_ordinary_text_1");
        assert!(!step_may_change(Transform::UrlDecodeUni, &plain));
        assert!(!step_may_change(Transform::Lowercase, &plain));
        assert!(step_may_change(Transform::Lowercase, &byte_set(b"Z")));
        assert!(!step_may_change(Transform::Uppercase, &byte_set(b"Z")));
        assert!(step_may_change(Transform::Uppercase, &byte_set(b"a")));
        assert!(step_may_change(Transform::Base64Decode, &plain));
        assert!(step_may_change(Transform::UrlDecodeUni, &byte_set(b"a%41")));
        // Exhaustive on single bytes: a step said not to change a value
        // leaves it as it is.
        let mut out = Vec::new();
        for t in [
            Transform::Lowercase,
            Transform::Uppercase,
            Transform::UrlDecodeUni,
            Transform::HtmlEntityDecode,
            Transform::JsDecode,
            Transform::CmdLine,
            Transform::RemoveWhitespace,
            Transform::NormalizePath,
            Transform::NormalizePathWin,
            Transform::ReplaceComments,
        ] {
            for b in 0..=255u8 {
                for v in [
                    &[b'x', b, b'Y'][..],
                    &[b],
                    &[b, b],
                    &[b'.', b],
                    &[b, b'.', b'.'],
                ] {
                    if !step_may_change(t, &byte_set(v)) {
                        out.clear();
                        t.apply(v, &mut out);
                        assert_eq!(out, v, "{t:?} changed {v:?}");
                    }
                }
            }
        }
        // Dots without a separator: changed only when nothing else is there.
        let norm = Chain::new(vec![Transform::NormalizePath]);
        assert!(norm.may_change(&byte_set(b"..")));
        assert!(norm.may_change(&byte_set(b".")));
        assert!(!norm.may_change(&byte_set(b"json.items.name")));
        assert!(norm.may_change_some(&byte_set(b"json.items.name"), true));
        assert!(!norm.may_change_some(&byte_set(b"json.items.name"), false));
        assert!(!norm.may_change_some(&byte_set(b"plain"), false));
        assert_eq!(
            phrase_required_bytes(&["etc/passwd", "bin/sh"]),
            Some(byte_set(b"/")),
            "the rarest byte of each phrase"
        );
    }

    #[test]
    fn byte_set_is_the_set_of_bytes() {
        let v: Vec<u8> = (0..=255u8).step_by(7).collect();
        let s = byte_set(&v);
        for b in 0..=255u8 {
            assert_eq!(has_byte(&s, b), v.contains(&b), "{b}");
        }
    }

    #[test]
    fn chains_know_their_triggers() {
        let c = Chain::new(vec![Transform::UrlDecodeUni, Transform::Lowercase]);
        assert!(!c.may_change(&byte_set(b"Hello World")));
        assert!(c.may_change(&byte_set(b"a%27")));
        assert!(
            Chain::new(vec![Transform::CmdLine]).case,
            "cmdLine lower-cases"
        );
        let d = Chain::new(vec![Transform::Length]);
        assert!(d.may_change(&byte_set(b"x")));
        let u = Chain::new(vec![Transform::Utf8ToUnicode]);
        assert!(u.may_change(&byte_set("é".as_bytes())));
        assert!(!u.may_change(&byte_set(b"plain")));
    }

    #[test]
    fn scan_sets_bits_of_matching_links() {
        let pf = Prefilter::build(
            &[
                vec![b"select".to_vec()],
                vec![b"<script".to_vec(), b"javascript:".to_vec()],
                vec![b"wget".to_vec()],
            ],
            &[2],
        )
        .expect("builds");
        let scan = |v: &[u8]| {
            let mut bits = vec![0u64; pf.words()];
            pf.scan(v, &byte_set(v), &mut bits);
            bits[0]
        };
        assert_eq!(scan(b"a JavaScript:alert(1)"), 0b110);
        // A plain-needle link: plain values need its needle; any other
        // value sets its bit.
        assert_eq!(scan(b"plain words, 1.5"), 0);
        assert_eq!(scan(b"run wget now"), 0b100);
        assert_eq!(scan(b"x;y"), 0b100);
    }

    #[test]
    fn long_phrase_lists_give_one_rare_piece_per_phrase() {
        assert_eq!(rare_piece(b"etc/passwd"), b"tc/p");
        assert_eq!(rare_piece(b"boot.ini"), b"oot.");
        assert_eq!(rare_piece(b"cmd"), b"cmd");
        let phrases: Vec<String> = (0..100).map(|i| format!("phrase_{i}.conf")).collect();
        let needles = phrase_needles(&phrases).expect("pieces");
        for p in &phrases {
            assert!(
                needles
                    .iter()
                    .any(|n| p.as_bytes().windows(n.len()).any(|w| w == n.as_slice())),
                "{p} holds none of its list's needles"
            );
        }
        // A short list keeps its phrases whole.
        assert_eq!(
            phrase_needles(&["union", "select"]),
            Some(vec![b"select".to_vec(), b"union".to_vec()])
        );
    }

    #[test]
    fn case_closure_adds_the_other_case_of_letters_only() {
        for b in 0..=255u8 {
            let mut one = [0u64; 4];
            add_byte(&mut one, b);
            let mut want = one;
            add_byte(&mut want, b.to_ascii_lowercase());
            add_byte(&mut want, b.to_ascii_uppercase());
            assert_eq!(case_closed(one), want, "byte {b:#x}");
        }
    }

    /// Whether every byte of `a` is in `b`.
    fn subset(a: &ByteSet, b: &ByteSet) -> bool {
        a.iter().zip(b).all(|(x, y)| x & !y == 0)
    }

    #[test]
    fn superset_holds_what_a_chain_makes() {
        let t = |ts: &[Transform]| Chain::new(ts.to_vec());
        let cmd = t(&[Transform::CmdLine]);
        let sup = cmd
            .superset(&byte_set(b"Ls -la; cat x"))
            .expect("no decoding step");
        assert!(has_byte(&sup, b' ') && has_byte(&sup, b'l') && has_byte(&sup, b'L'));
        assert!(!has_byte(&sup, b'|'), "cmdLine adds no pipe");
        // A `%` escape may decode to anything; `+` only to a space.
        let url = t(&[Transform::UrlDecodeUni]);
        assert_eq!(url.superset(&byte_set(b"a%3c")), None);
        assert!(has_byte(&url.superset(&byte_set(b"a+b")).unwrap(), b' '));
        assert_eq!(
            t(&[Transform::Base64Decode]).superset(&byte_set(b"abc")),
            None
        );
    }

    proptest::proptest! {
        /// The superset covers the bytes of every value each CRS-style
        /// chain (each transformation alone, and in the pairs CRS uses)
        /// makes, whatever the input.
        #[test]
        fn superset_covers_every_output(
            input in proptest::collection::vec(proptest::sample::select(
                b"aZ09 +%&\\/.;,'\"^(\t\n\x00#*-<>!u\xc3\xa9\xe2\x80\xa8".to_vec()), 0..40),
        ) {
            let mut chains: Vec<Vec<Transform>> =
                TRANSFORMS.iter().map(|&(_, t)| vec![t]).collect();
            chains.push(vec![Transform::Utf8ToUnicode, Transform::UrlDecodeUni, Transform::RemoveNulls, Transform::CmdLine]);
            chains.push(vec![Transform::UrlDecodeUni, Transform::ReplaceComments, Transform::RemoveWhitespace]);
            chains.push(vec![Transform::CmdLine, Transform::NormalizePath]);
            chains.push(vec![Transform::Utf8ToUnicode, Transform::UrlDecodeUni, Transform::NormalizePathWin]);
            chains.push(vec![Transform::NormalizePath, Transform::UrlDecodeUni]);
            for ts in chains {
                let chain = Chain::new(ts.clone());
                let Some(sup) = chain.superset(&byte_set(&input)) else { continue };
                let out = crate::engine::cache::run_chain(&ts, &input, byte_set(&input))
                    .map_or_else(|| input.clone(), |(v, _)| v);
                proptest::prop_assert!(
                    subset(&byte_set(&out), &sup),
                    "{ts:?} on {input:?} made {out:?}"
                );
            }
        }
    }

    fn plain(p: &str) -> Option<Vec<String>> {
        let hir = crate::engine::operator::parse_rx(&crate::ir::pcre_to_regex(p)).ok()?;
        plain_needles(&hir).map(|s| {
            s.into_iter()
                .map(|n| String::from_utf8_lossy(&n).into_owned())
                .collect()
        })
    }

    #[test]
    fn plain_needles_drop_what_plain_values_cannot_hold() {
        // Quotes and backslashes between the letters of a word.
        assert_eq!(
            plain(r#"(?i)c["'\\]*a["'\\]*t\b|w["'\\]*g["'\\]*e["'\\]*t"#),
            Some(vec!["cat".into(), "wget".into()])
        );
        // A separator a plain value lacks, or the start of the value.
        assert_eq!(
            plain(r"(?:^|[;|&])\s*(?:ls|id)\b"),
            Some(vec!["id".into(), "ls".into()])
        );
        // An optional run of evasion bytes between letters is skipped.
        assert_eq!(plain(r"a(?:\$x)?b"), Some(vec!["ab".into()]));
        assert_eq!(
            plain(r"(?:^|[;|&`])\s*(?:wget|curl)\s"),
            Some(vec!["curl ".into(), "wget ".into()])
        );
        // Needs a byte no plain value has: nothing plain matches.
        assert_eq!(plain(r"[;|&]\s*(?:ls|cat)"), Some(vec![]));
        // The regex already has needles for all values: those are used.
        assert!(rx_needles(&crate::ir::pcre_to_regex("(?i)<script")).is_some());
    }

    /// Every CRS regex with plain needles, on plain values made of its own
    /// needles (case changed), command words and plain punctuation: a
    /// match always holds a needle.
    #[test]
    fn plain_needles_hold_on_every_crs_regex() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs");
        let engine = crate::engine::Engine::builder()
            .rules_before(
                "SecAction \"id:900000,phase:1,pass,nolog,setvar:tx.blocking_paranoia_level=4\"\n",
            )
            .crs_dir(&dir)
            .build()
            .unwrap_or_else(|e| panic!("CRS at {}: {e}", dir.display()));
        let common: &[&str] = &[
            " ", ",", "/", ".", "-", "_", "@", "+", ":", "json.", "1", "a", "x", "ls", "cat",
            "etc", "passwd", "sh", "time", "env", "sudo", "wget", "http", "select", "union", "bin",
            "tmp", "id", "ping", "nc", "python", "perl", "php", "java", "eval",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut checked = 0;
        for phase in 1..=5 {
            for item in engine.phase(phase) {
                let crate::engine::PlanItem::Rule(rule) = item else {
                    continue;
                };
                let mut link = Some(rule);
                while let Some(l) = link {
                    link = l.chain.as_deref();
                    let Some(set) = l.operator.plain_needles() else {
                        continue;
                    };
                    let pattern = crate::ir::pcre_to_regex(l.operator.arg());
                    let re = regex::bytes::RegexBuilder::new(&pattern)
                        .unicode(false)
                        .dot_matches_new_line(true)
                        .multi_line(true)
                        .size_limit(1 << 28)
                        .build()
                        .expect("regex");
                    let atoms: Vec<Vec<u8>> = set
                        .iter()
                        .cloned()
                        .chain(common.iter().map(|a| a.as_bytes().to_vec()))
                        .collect();
                    for _ in 0..400 {
                        let mut v = Vec::new();
                        for _ in 0..1 + next(5) {
                            let mut a = atoms[next(atoms.len())].clone();
                            if next(3) == 0 {
                                a.make_ascii_uppercase();
                            }
                            v.extend_from_slice(&a);
                        }
                        assert!(v.iter().all(|&b| has_byte(&PLAIN, b)));
                        if re.is_match(&v) {
                            let lower = v.to_ascii_lowercase();
                            assert!(
                                set.iter()
                                    .any(|n| memchr::memmem::find(&lower, n).is_some()),
                                "{}: {:?} matches without a needle",
                                l.id,
                                String::from_utf8_lossy(&v)
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        // The samples do reach matches, so the check is not vacuous.
        assert!(checked > 100, "{checked} matching samples");
    }

    proptest::proptest! {
        /// The scan sets a link's bit exactly when one of its needles is in
        /// the value (ASCII case ignored), overlapping needles included.
        #[test]
        fn scan_finds_every_needle_of_every_link(
            value in proptest::collection::vec(proptest::sample::select(b"abcABC<;x".to_vec()), 0..24),
        ) {
            let sets: Vec<Set> = vec![
                vec![b"ab".to_vec()],
                vec![b"abc".to_vec(), b"ca".to_vec()],
                vec![b"bca".to_vec()],
                vec![b"c".to_vec(), b"<".to_vec()],
                vec![b"aaa".to_vec()],
                vec![b"b;x".to_vec(), b"ab".to_vec()],
            ];
            let pf = Prefilter::build(&sets, &[]).expect("builds");
            let mut bits = vec![0u64; pf.words()];
            pf.scan(&value, &byte_set(&value), &mut bits);
            let lower = value.to_ascii_lowercase();
            for (i, set) in sets.iter().enumerate() {
                let expected = set.iter().any(|n| memchr::memmem::find(&lower, n).is_some());
                proptest::prop_assert_eq!(bits[0] >> i & 1 == 1, expected, "link {} on {:?}", i, value);
            }
        }
    }
}
