//! Searching a value for any of a few short literals.

use aho_corasick::packed::Searcher;
use memchr::memmem::Finder;

/// Longest value slice lowered at a time (see [`CiNeedles::any_in`]).
const CHUNK: usize = 1024;

/// Longest value lowered into a smaller buffer (see [`CiNeedles::any_in`]).
const SHORT: usize = 256;

/// Shortest needle searched in the Teddy pass of [`Needles`].
const PACKED_MIN: usize = 2;

/// A few short literals searched for exactly, with SIMD searchers built
/// once: one Teddy pass (aho-corasick's packed searcher) for the needles of
/// at least [`PACKED_MIN`] bytes, one substring search for each shorter
/// needle (a one-byte fingerprint would match too often; two-byte needles
/// such as `{{`, `__` and `os` cost less in the Teddy pass than in a
/// substring search each). A few
/// vectorised passes over a value cost less than an automaton walk whose
/// start bytes are common letters (its prefilter then skips nothing).
pub(crate) struct Needles {
    finders: Vec<Finder<'static>>,
    packed: Option<Searcher>,
}

impl Needles {
    /// Builds the searchers; needles must be non-empty.
    pub(crate) fn new<N: AsRef<[u8]>>(needles: &[N]) -> Needles {
        let needles: Vec<&[u8]> = needles.iter().map(AsRef::as_ref).collect();
        assert!(needles.iter().all(|n| !n.is_empty()));
        let long: Vec<&[u8]> = needles
            .iter()
            .copied()
            .filter(|n| n.len() >= PACKED_MIN)
            .collect();
        // Teddy is built only where the CPU has the instructions for it.
        let packed = if long.len() >= 2 {
            Searcher::new(long)
        } else {
            None
        };
        Needles {
            finders: needles
                .iter()
                .filter(|n| packed.is_none() || n.len() < PACKED_MIN)
                .map(|n| Finder::new(n).into_owned())
                .collect(),
            packed,
        }
    }

    /// Whether `b` holds any of the needles.
    pub(crate) fn any_in(&self, b: &[u8]) -> bool {
        self.finders.iter().any(|f| f.find(b).is_some())
            || self.packed.as_ref().is_some_and(|p| p.find(b).is_some())
    }
}

/// Short ASCII literals searched for in any ASCII case: the value is
/// lowered into a stack buffer chunk by chunk (no allocation) and searched
/// with [`Needles`].
pub(crate) struct CiNeedles {
    lowered: Needles,
    longest: usize,
}

impl CiNeedles {
    /// Builds the searchers; needles must be non-empty and at most
    /// [`CHUNK`] / 2 bytes.
    pub(crate) fn new(needles: &[&str]) -> CiNeedles {
        assert!(needles
            .iter()
            .all(|n| !n.is_empty() && n.len() <= CHUNK / 2));
        let lowered: Vec<Vec<u8>> = needles
            .iter()
            .map(|n| n.to_ascii_lowercase().into_bytes())
            .collect();
        CiNeedles {
            lowered: Needles::new(&lowered),
            longest: needles.iter().map(|n| n.len()).max().unwrap_or(1),
        }
    }

    /// Whether `b` holds any of the needles, in any ASCII case.
    pub(crate) fn any_in(&self, b: &[u8]) -> bool {
        // Zeroing a CHUNK-sized buffer costs more than lowering a short
        // value: a short value is lowered whole into a smaller one.
        if b.len() <= SHORT {
            self.any_in_chunks::<SHORT>(b)
        } else {
            self.any_in_chunks::<CHUNK>(b)
        }
    }

    /// [`CiNeedles::any_in`], lowering `b` into an `N`-byte stack buffer
    /// (in overlapping chunks when it is longer).
    fn any_in_chunks<const N: usize>(&self, b: &[u8]) -> bool {
        let mut buf = [0u8; N];
        let mut start = 0;
        loop {
            let end = b.len().min(start + N);
            let lowered = &mut buf[..end - start];
            for (d, s) in lowered.iter_mut().zip(&b[start..end]) {
                *d = s.to_ascii_lowercase();
            }
            if self.lowered.any_in(lowered) {
                return true;
            }
            if end == b.len() {
                return false;
            }
            // Overlap the chunks so that a needle across a boundary is seen.
            start = end - (self.longest - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_needles_in_any_case_and_across_chunks() {
        let n = CiNeedles::new(&["system", "<?", "$"]);
        assert!(n.any_in(b"x SYSTEM("));
        assert!(n.any_in(b"<?php"));
        assert!(!n.any_in(b"sys tem"));
        assert!(!n.any_in(b""));
        let n = CiNeedles::new(&["system", "exec", "<?", "$", "Include"]);
        assert!(n.any_in(b"x ExEc("));
        assert!(n.any_in(b"a INCLUDE b"));
        assert!(n.any_in(b"$"));
        assert!(!n.any_in(b"exe c inclu de < ?"));
        let n = Needles::new(&["{{", "os", "eval", "exec", "builtins"]);
        assert!(n.any_in(b"x.os.y"));
        assert!(n.any_in(b"a builtins b"));
        assert!(!n.any_in(b"EVAL o s { {"));
        let n = Needles::new(&["new", "getClass"]);
        assert!(n.any_in(b"x getClass()"));
        assert!(!n.any_in(b"ne w getclass"));
        let n = CiNeedles::new(&["system", "exec", "<?", "$", "Include"]);
        // Both buffer sizes, the needle last.
        for len in [SHORT - 1, SHORT, SHORT + 1, CHUNK] {
            let mut v = vec![b'a'; len];
            v[len - 6..].copy_from_slice(b"SyStEm");
            assert!(n.any_in(&v), "needle at the end of {len} bytes");
            v[len - 1] = b'x';
            assert!(!n.any_in(&v), "no needle in {len} bytes");
        }
        for at in [CHUNK - 8, CHUNK - 3, CHUNK, 2 * CHUNK - 7] {
            let mut v = vec![b'a'; 3 * CHUNK];
            v[at..at + 6].copy_from_slice(b"SyStEm");
            assert!(n.any_in(&v), "needle at {at}");
            v[at..at + 6].copy_from_slice(b"systex");
            assert!(!n.any_in(&v), "no needle at {at}");
        }
    }
}
