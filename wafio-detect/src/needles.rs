//! Searching a value for any of a few short literals.

use memchr::memmem::Finder;

/// Longest value slice lowered at a time (see [`CiNeedles::any_in`]).
const CHUNK: usize = 1024;

/// Short ASCII literals searched for in any ASCII case: the value is
/// lowered into a stack buffer chunk by chunk (no allocation) and each
/// literal is found with a SIMD substring searcher built once. On short
/// values this costs a fraction of an automaton walk whose start bytes are
/// common letters (its prefilter then skips nothing).
pub(crate) struct CiNeedles {
    finders: Vec<Finder<'static>>,
    longest: usize,
}

impl CiNeedles {
    /// Builds the searchers; needles must be non-empty and at most
    /// [`CHUNK`] / 2 bytes.
    pub(crate) fn new(needles: &[&str]) -> CiNeedles {
        assert!(needles
            .iter()
            .all(|n| !n.is_empty() && n.len() <= CHUNK / 2));
        CiNeedles {
            finders: needles
                .iter()
                .map(|n| Finder::new(n.to_ascii_lowercase().as_bytes()).into_owned())
                .collect(),
            longest: needles.iter().map(|n| n.len()).max().unwrap_or(1),
        }
    }

    /// Whether `b` holds any of the needles, in any ASCII case.
    pub(crate) fn any_in(&self, b: &[u8]) -> bool {
        let mut buf = [0u8; CHUNK];
        let mut start = 0;
        loop {
            let end = b.len().min(start + CHUNK);
            let lowered = &mut buf[..end - start];
            for (d, s) in lowered.iter_mut().zip(&b[start..end]) {
                *d = s.to_ascii_lowercase();
            }
            let lowered = &*lowered;
            if self.finders.iter().any(|f| f.find(lowered).is_some()) {
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
        for at in [CHUNK - 8, CHUNK - 3, CHUNK, 2 * CHUNK - 7] {
            let mut v = vec![b'a'; 3 * CHUNK];
            v[at..at + 6].copy_from_slice(b"SyStEm");
            assert!(n.any_in(&v), "needle at {at}");
            v[at..at + 6].copy_from_slice(b"systex");
            assert!(!n.any_in(&v), "no needle at {at}");
        }
    }
}
