//! Per-transaction value cache: each request value is scanned by the
//! prefilter once, and transformed once per transformation chain, however
//! many rules read it.

use std::collections::HashMap;

use crate::engine::prefilter::{
    byte_set, intersects, step_may_change, ByteSet, Chain, Prefilter, DOTS,
};
use crate::engine::transform::Transform;
use crate::engine::vars::NO_SLOT;

/// What is known of one transformed value.
#[derive(Debug, Default)]
struct Transformed {
    /// The changed value and its bytes; `None` when the chain left the
    /// value as it was (its raw scan stands for it).
    value: Option<(Vec<u8>, ByteSet)>,
    /// Prefilter bits of `value`, once scanned.
    bits: Option<Vec<u64>>,
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
    /// Some value is made only of dots (see [`Chain::may_change_some`]).
    /// Read on raw unions only; a chain's union leaves it `false`.
    dots_only: bool,
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
    transformed: HashMap<(u32, u32), Transformed, foldhash::fast::RandomState>,
    /// By collection (index in [`UNION_COLLECTIONS`]): the union of the
    /// raw values' prefilter bits and bytes, once built; `None` inside when
    /// a value has no slot (the collection cannot be ruled out whole).
    raw_unions: Vec<Option<Option<Union>>>,
    /// By `(chain, collection)`, for chains that change some value of the
    /// collection: the union after the chain.
    unions: HashMap<(u32, u8), Union, foldhash::fast::RandomState>,
}

/// Collections with unions (see [`ValueCache::collection_admits`]); their
/// index here is the collection part of a union's key. Single variables
/// count as collections of one value; `XML` and `FILES` have no slots, so
/// they can be ruled out whole only when they are empty.
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
    "REQUEST_FILENAME",
    "REQUEST_BASENAME",
    "REQUEST_URI",
    "REQUEST_URI_RAW",
    "REQUEST_LINE",
    "REQUEST_METHOD",
    "REQUEST_PROTOCOL",
    "QUERY_STRING",
    "REQUEST_BODY",
    "XML",
    "FILES",
    "FILES_NAMES",
];

/// Lists a collection's `(slot, value)` pairs to its argument.
pub(crate) type Values<'a> = dyn FnMut(&mut dyn FnMut(u32, &[u8])) + 'a;

/// The index of a collection in [`UNION_COLLECTIONS`].
pub(crate) fn union_index(collection: &str) -> Option<u8> {
    UNION_COLLECTIONS
        .iter()
        .position(|c| *c == collection)
        .map(|i| i as u8)
}

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

/// Applies a chain of transformations to a value whose bytes are
/// `present`: `None` when no step changes the value, else the result and
/// its bytes. Steps that cannot change the value are not run.
pub(crate) fn run_chain(
    transforms: &[Transform],
    value: &[u8],
    present: ByteSet,
) -> Option<(Vec<u8>, ByteSet)> {
    let mut changed: Option<Vec<u8>> = None;
    let mut spare = Vec::new();
    let mut present = present;
    for &t in transforms {
        if !step_may_change(t, &present) {
            continue;
        }
        let input = changed.as_deref().unwrap_or(value);
        if t.apply(input, &mut spare) {
            present = byte_set(&spare);
            let out = std::mem::take(&mut spare);
            if let Some(old) = changed.replace(out) {
                spare = old;
            }
        }
    }
    changed.map(|v| (v, present))
}

impl ValueCache {
    /// Whether the cache is small enough to be kept for another
    /// transaction (see [`ValueCache::clear`]): a request with many values
    /// leaves large tables behind, which are freed instead.
    pub(crate) fn reusable(&self) -> bool {
        const MAX_SLOTS: usize = 4096;
        self.ready.capacity() <= MAX_SLOTS
            && self.transformed.capacity() <= MAX_SLOTS
            && self.unions.capacity() <= MAX_SLOTS
    }

    /// Forgets every slot (the collections changed).
    pub(crate) fn clear(&mut self) {
        self.ready.clear();
        self.present.clear();
        self.raw_bits.clear();
        self.transformed.clear();
        self.raw_unions.clear();
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
                pf.scan(
                    value,
                    &self.present[s],
                    &mut self.raw_bits[s * w..(s + 1) * w],
                );
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
        let raw = &self.raw_bits[s * w..(s + 1) * w];
        if !chain.may_change(&self.present[s]) {
            return raw;
        }
        let t = transformed_entry(
            &mut self.transformed,
            slot,
            value,
            self.present[s],
            chain_id,
            chain,
        );
        match &t.value {
            None => raw,
            Some((out, present)) => t.bits.get_or_insert_with(|| {
                let mut b = vec![0u64; w];
                pf.scan(out, present, &mut b);
                b
            }),
        }
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
        let raw = self.present[s];
        let t = self.transformed(slot, value, raw, chain_id, chain);
        t.value.as_ref().map_or(raw, |(_, p)| *p)
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
            // What the chain can make of the raw bytes, before running it.
            let s = self.ensure(slot, value, pf);
            if rules_out_after(filter, chain, &self.present[s]) {
                return false;
            }
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
        Some(self.raw_admits(slot, filter))
    }

    /// The bytes present in the raw value of `slot`.
    pub(crate) fn raw_present(
        &mut self,
        slot: u32,
        value: &[u8],
        pf: Option<&Prefilter>,
    ) -> ByteSet {
        let s = self.ensure(slot, value, pf);
        self.present[s]
    }

    /// Whether [`ValueCache::raw_admits`] answers for every value of the
    /// collection `coll` after `chain`: its raw union is built (so each of
    /// its values has been scanned) and the chain changes none of them.
    pub(crate) fn raw_only(&self, coll: u8, chain: &Chain) -> bool {
        matches!(
            self.raw_unions.get(usize::from(coll)),
            Some(Some(Some(u))) if !chain.may_change_some(&u.present, u.dots_only)
        )
    }

    /// [`ValueCache::admits`] on the raw scan of a scanned slot (one of a
    /// collection for which [`ValueCache::raw_only`] holds, or a value the
    /// chain leaves as it is): two lookups, no transformation.
    pub(crate) fn raw_admits(&self, slot: u32, filter: Filter<'_>) -> bool {
        let s = slot as usize;
        debug_assert!(self.ready[s], "slot {s} not scanned");
        let w = self.words;
        let bits = (w > 0).then(|| &self.raw_bits[s * w..(s + 1) * w]);
        filter.admits(bits, &self.present[s])
    }

    /// Whether some value of a whole collection (`coll` indexes
    /// [`UNION_COLLECTIONS`]) may pass `filter` after chain `chain_id`.
    /// `values` calls its argument with every `(slot, value)` of the
    /// collection; it runs only the first time a union is needed. The raw
    /// union of a collection stands for every chain that changes none of
    /// its values (the usual case), so most chains never build their own.
    /// [`ValueCache::collection_admits`] when the unions it needs are
    /// built: `None` when they are not.
    #[inline]
    pub(crate) fn known_admits(
        &self,
        coll: u8,
        chain_id: u32,
        chain: &Chain,
        filter: Filter<'_>,
    ) -> Option<bool> {
        let raw = match self.raw_unions.get(usize::from(coll))? {
            Some(Some(u)) => u,
            Some(None) => return Some(true),
            None => return None,
        };
        if !chain.may_change_some(&raw.present, raw.dots_only) {
            return Some(filter.admits(raw.bits.as_deref(), &raw.present));
        }
        if rules_out_after(filter, chain, &raw.present) {
            return Some(false);
        }
        let u = self.unions.get(&(chain_id, coll))?;
        if filter.bytes.is_some_and(|b| !intersects(b, &u.present)) {
            return Some(false);
        }
        if filter.bit.is_some() && u.bits.is_none() {
            // The bits of a chain's union are built when first needed.
            return None;
        }
        Some(filter.admits(u.bits.as_deref(), &u.present))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn collection_admits(
        &mut self,
        coll: u8,
        chain_id: u32,
        chain: &Chain,
        pf: Option<&Prefilter>,
        filter: Filter<'_>,
        values: &mut Values<'_>,
    ) -> bool {
        let c = usize::from(coll);
        if c >= self.raw_unions.len() {
            self.raw_unions.resize(c + 1, None);
        }
        if self.raw_unions[c].is_none() {
            let mut union = Some(Union {
                bits: pf.map(|pf| vec![0u64; pf.words()]),
                present: [0; 4],
                dots_only: false,
            });
            values(&mut |slot, value| {
                if slot == NO_SLOT {
                    union = None;
                }
                let Some(u) = union.as_mut() else { return };
                let s = self.ensure(slot, value, pf);
                u.dots_only |= self.present[s] == DOTS;
                for (x, y) in u.present.iter_mut().zip(self.present[s]) {
                    *x |= y;
                }
                if let Some(bits) = u.bits.as_mut() {
                    let w = self.words;
                    for (x, y) in bits.iter_mut().zip(&self.raw_bits[s * w..(s + 1) * w]) {
                        *x |= y;
                    }
                }
            });
            self.raw_unions[c] = Some(union);
        }
        let raw = match &self.raw_unions[c] {
            Some(Some(u)) => u,
            // A value without a slot: no union.
            _ => return true,
        };
        if !chain.may_change_some(&raw.present, raw.dots_only) {
            return filter.admits(raw.bits.as_deref(), &raw.present);
        }
        if rules_out_after(filter, chain, &raw.present) {
            return false;
        }
        // After the chain: the bytes first (transforming each value), the
        // prefilter bits (a scan of each transformed value) only when a
        // link's bytes do not rule the collection out already.
        let key = (chain_id, coll);
        if !self.unions.contains_key(&key) {
            let mut present = [0u64; 4];
            values(&mut |slot, value| {
                let p = self.present(slot, value, chain_id, chain, pf);
                for (x, y) in present.iter_mut().zip(p) {
                    *x |= y;
                }
            });
            let union = Union {
                bits: None,
                present,
                dots_only: false,
            };
            self.unions.insert(key, union);
        }
        let present = self.unions[&key].present;
        if filter.bytes.is_some_and(|b| !intersects(b, &present)) {
            return false;
        }
        let (Some(_), Some(pf)) = (filter.bit, pf) else {
            return true;
        };
        if self.unions[&key].bits.is_none() {
            let mut bits = vec![0u64; pf.words()];
            values(&mut |slot, value| {
                for (x, y) in bits
                    .iter_mut()
                    .zip(self.bits(slot, value, chain_id, chain, pf))
                {
                    *x |= y;
                }
            });
            if let Some(u) = self.unions.get_mut(&key) {
                u.bits = Some(bits);
            }
        }
        let u = &self.unions[&key];
        filter.admits(u.bits.as_deref(), &u.present)
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
        let raw = self.present[s];
        match &self.transformed(slot, value, raw, chain_id, chain).value {
            Some((v, _)) => View::Cached(v),
            None => View::Raw(value),
        }
    }

    /// The value of `slot` (whose bytes are `present`) after chain
    /// `chain_id`, transformed on first use.
    fn transformed(
        &mut self,
        slot: u32,
        value: &[u8],
        present: ByteSet,
        chain_id: u32,
        chain: &Chain,
    ) -> &mut Transformed {
        transformed_entry(&mut self.transformed, slot, value, present, chain_id, chain)
    }
}

/// Whether the filter's required bytes rule out every value whose raw
/// bytes are in `raw` after the chain, without running it (see
/// [`Chain::superset`]): the superset of a collection's raw union covers
/// each of its values.
fn rules_out_after(filter: Filter<'_>, chain: &Chain, raw: &ByteSet) -> bool {
    // The superset holds the raw bytes: when they meet the filter, so
    // does it.
    filter.bytes.is_some_and(|b| {
        !intersects(b, raw) && chain.superset(raw).is_some_and(|sup| !intersects(b, &sup))
    })
}

/// [`ValueCache::transformed`] on the map alone, so a caller can hold other
/// fields of the cache at the same time.
fn transformed_entry<'m>(
    map: &'m mut HashMap<(u32, u32), Transformed, foldhash::fast::RandomState>,
    slot: u32,
    value: &[u8],
    present: ByteSet,
    chain_id: u32,
    chain: &Chain,
) -> &'m mut Transformed {
    map.entry((slot, chain_id)).or_insert_with(|| Transformed {
        value: run_chain(&chain.transforms, value, present),
        bits: None,
    })
}
