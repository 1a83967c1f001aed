//! Per-transaction value cache: each request value is scanned by the
//! prefilter once, and transformed once per transformation chain, however
//! many rules read it.

use std::collections::HashMap;

use crate::engine::prefilter::{byte_set, intersects, ByteSet, Chain, Prefilter};
use crate::engine::transform::Transform;

/// What is known of one transformed value.
#[derive(Debug, Default)]
struct Transformed {
    value: Vec<u8>,
    /// Prefilter bits of `value`, once scanned.
    bits: Option<Vec<u64>>,
    /// The bytes present in `value`, once seen.
    present: Option<ByteSet>,
}

/// What a link can be ruled out by, without running its operator: its bit
/// in the literal prefilter and the bytes of which a match needs one.
#[derive(Clone, Copy)]
pub(crate) struct Filter<'a> {
    pub(crate) bit: Option<u32>,
    pub(crate) bytes: Option<&'a ByteSet>,
}

impl Filter<'_> {
    pub(crate) fn is_some(&self) -> bool {
        self.bit.is_some() || self.bytes.is_some()
    }

    fn admits(&self, bits: Option<&[u64]>, present: &ByteSet) -> bool {
        self.bytes.is_none_or(|b| intersects(b, present))
            && match (self.bit, bits) {
                (Some(bit), Some(bits)) => bits[(bit / 64) as usize] & (1u64 << (bit % 64)) != 0,
                _ => true,
            }
    }
}

/// The union of what is known of every value of a collection after a chain.
#[derive(Clone, Debug)]
struct Union {
    bits: Option<Vec<u64>>,
    present: ByteSet,
}

/// Values by slot (see [`crate::engine::vars::VarValue::slot`]). Slots are
/// only valid while the request and response collections stay as they
/// are: [`ValueCache::clear`] runs whenever they change.
#[derive(Debug, Default)]
pub(crate) struct ValueCache {
    words: usize,
    /// Per slot: the raw value has been scanned.
    ready: Vec<bool>,
    /// Per slot: the bytes present in the raw value.
    present: Vec<ByteSet>,
    /// Per slot, `words` words: prefilter bits of the raw value.
    raw_bits: Vec<u64>,
    /// By (slot, chain): values a chain changes, or needs lower-cased.
    transformed: HashMap<(u32, u32), Transformed>,
    /// By `chain * UNIONS + collection`: the union of the prefilter bits
    /// and present bytes of every value of the collection, once complete.
    unions: Vec<Option<Union>>,
}

/// Collections with unions (see [`ValueCache::union_has`]); their index
/// here is the collection part of a union's key.
pub(crate) const UNION_COLLECTIONS: &[&str] = &[
    "ARGS",
    "ARGS_GET",
    "ARGS_POST",
    "ARGS_NAMES",
    "ARGS_GET_NAMES",
    "ARGS_POST_NAMES",
    "REQUEST_HEADERS",
    "REQUEST_HEADERS_NAMES",
    "REQUEST_COOKIES",
    "REQUEST_COOKIES_NAMES",
];

/// The result of a chain on a value: the raw value itself, or a cached copy.
pub(crate) enum View<'c, 'v> {
    Raw(&'v [u8]),
    Cached(&'c [u8]),
}

impl View<'_, '_> {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            View::Raw(v) => v,
            View::Cached(v) => v,
        }
    }
}

/// Applies a chain of transformations.
pub(crate) fn run_chain(transforms: &[Transform], value: &[u8]) -> Vec<u8> {
    let mut a = value.to_vec();
    let mut b = Vec::with_capacity(value.len());
    for &t in transforms {
        t.apply(&a, &mut b);
        std::mem::swap(&mut a, &mut b);
    }
    a
}

impl ValueCache {
    /// Forgets every slot (the collections changed).
    pub(crate) fn clear(&mut self) {
        self.ready.clear();
        self.present.clear();
        self.raw_bits.clear();
        self.transformed.clear();
        self.unions.clear();
    }

    fn ensure(&mut self, slot: u32, value: &[u8], pf: Option<&Prefilter>) -> usize {
        let s = slot as usize;
        if s >= self.ready.len() {
            let n = (s + 1).max(self.ready.len() * 2).max(16);
            self.words = pf.map_or(0, Prefilter::words);
            self.ready.resize(n, false);
            self.present.resize(n, [0; 4]);
            self.raw_bits.resize(n * self.words, 0);
        }
        if !self.ready[s] {
            self.present[s] = byte_set(value);
            if let Some(pf) = pf {
                let w = self.words;
                pf.scan(value, &mut self.raw_bits[s * w..(s + 1) * w]);
            }
            self.ready[s] = true;
        }
        s
    }

    /// The prefilter bits of the value of `slot` after chain `chain_id`.
    fn bits(
        &mut self,
        slot: u32,
        value: &[u8],
        chain_id: u32,
        chain: &Chain,
        pf: &Prefilter,
    ) -> &[u64] {
        let s = self.ensure(slot, value, Some(pf));
        let w = self.words;
        if !chain.may_change(&self.present[s]) {
            return &self.raw_bits[s * w..(s + 1) * w];
        }
        let t = self.transformed(slot, value, chain_id, chain);
        t.bits.get_or_insert_with(|| {
            let mut b = vec![0u64; w];
            pf.scan(&t.value, &mut b);
            b
        })
    }

    /// The bytes present in the value of `slot` after chain `chain_id`,
    /// up to ASCII case (the byte sets of [`Filter`] hold both cases).
    fn present(
        &mut self,
        slot: u32,
        value: &[u8],
        chain_id: u32,
        chain: &Chain,
        pf: Option<&Prefilter>,
    ) -> ByteSet {
        let s = self.ensure(slot, value, pf);
        if !chain.may_change(&self.present[s]) {
            return self.present[s];
        }
        let t = self.transformed(slot, value, chain_id, chain);
        *t.present.get_or_insert_with(|| byte_set(&t.value))
    }

    /// Whether a link with this filter may match the value of `slot` after
    /// chain `chain_id`.
    pub(crate) fn admits(
        &mut self,
        slot: u32,
        value: &[u8],
        chain_id: u32,
        chain: &Chain,
        pf: Option<&Prefilter>,
        filter: Filter<'_>,
    ) -> bool {
        if filter.bytes.is_some() {
            let present = self.present(slot, value, chain_id, chain, pf);
            if !filter.admits(None, &present) {
                return false;
            }
        }
        match (filter.bit, pf) {
            (Some(bit), Some(pf)) => {
                let bits = self.bits(slot, value, chain_id, chain, pf);
                bits[(bit / 64) as usize] & (1u64 << (bit % 64)) != 0
            }
            _ => true,
        }
    }

    /// Whether a link with this filter may match the raw value of `slot`
    /// (for `multiMatch` links, when their chain leaves the value as it
    /// is): `None` when the chain may change the value.
    pub(crate) fn admits_unchanged(
        &mut self,
        slot: u32,
        value: &[u8],
        chain: &Chain,
        pf: Option<&Prefilter>,
        filter: Filter<'_>,
    ) -> Option<bool> {
        let s = self.ensure(slot, value, pf);
        if chain.may_change(&self.present[s]) {
            return None;
        }
        let w = self.words;
        let bits = pf.map(|_| &self.raw_bits[s * w..(s + 1) * w]);
        Some(filter.admits(bits, &self.present[s]))
    }

    /// Builds the union of what is known of a whole collection
    /// (`collection` indexes [`UNION_COLLECTIONS`]) after a chain, from
    /// every `(slot, value)` of it.
    pub(crate) fn build_union<'v>(
        &mut self,
        collection: usize,
        values: impl IntoIterator<Item = (u32, &'v [u8])>,
        chain_id: u32,
        chain: &Chain,
        pf: Option<&Prefilter>,
    ) {
        let mut union = Union {
            bits: pf.map(|pf| vec![0u64; pf.words()]),
            present: [0; 4],
        };
        for (slot, value) in values {
            let present = self.present(slot, value, chain_id, chain, pf);
            for (u, p) in union.present.iter_mut().zip(present) {
                *u |= p;
            }
            if let (Some(u), Some(pf)) = (union.bits.as_mut(), pf) {
                for (u, b) in u
                    .iter_mut()
                    .zip(self.bits(slot, value, chain_id, chain, pf))
                {
                    *u |= b;
                }
            }
        }
        let key = chain_id as usize * UNION_COLLECTIONS.len() + collection;
        if key >= self.unions.len() {
            self.unions.resize(key + 1, None);
        }
        self.unions[key] = Some(union);
    }

    /// Whether any value of a whole collection (`collection` indexes
    /// [`UNION_COLLECTIONS`]) may match a link with this filter after
    /// chain `chain_id`: `None` until [`ValueCache::build_union`] ran.
    pub(crate) fn union_admits(
        &self,
        collection: usize,
        chain_id: u32,
        filter: Filter<'_>,
    ) -> Option<bool> {
        let key = chain_id as usize * UNION_COLLECTIONS.len() + collection;
        let u = self.unions.get(key)?.as_ref()?;
        Some(filter.admits(u.bits.as_deref(), &u.present))
    }

    /// The value of `slot` after chain `chain_id`.
    pub(crate) fn view<'c, 'v>(
        &'c mut self,
        slot: u32,
        value: &'v [u8],
        chain_id: u32,
        chain: &Chain,
        pf: Option<&Prefilter>,
    ) -> View<'c, 'v> {
        let s = self.ensure(slot, value, pf);
        if !chain.case && !chain.may_change(&self.present[s]) {
            return View::Raw(value);
        }
        View::Cached(&self.transformed(slot, value, chain_id, chain).value)
    }

    /// The value of `slot` after chain `chain_id`, transformed on first use.
    fn transformed(
        &mut self,
        slot: u32,
        value: &[u8],
        chain_id: u32,
        chain: &Chain,
    ) -> &mut Transformed {
        self.transformed
            .entry((slot, chain_id))
            .or_insert_with(|| Transformed {
                value: run_chain(&chain.transforms, value),
                bits: None,
                present: None,
            })
    }
}
