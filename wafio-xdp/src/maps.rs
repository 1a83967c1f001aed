//! Map layouts shared with `bpf/wafio_fw.bpf.c` and the typed handles on them.

#![allow(unsafe_code)]

use std::path::Path;

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{Array, HashMap, IterableMap, Map, MapData, MapError, PerCpuArray, RingBuf};

use crate::error::Error;
use crate::sys;

/// `struct addr_key` (also the data part of `struct lpm_key`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AddrKey {
    pub gen: u32,
    pub addr: [u8; 16],
}

/// `struct addr4_key`: key of the `*_exact4` maps (IPv4 hosts).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Addr4Key {
    pub gen: u32,
    /// Network order.
    pub addr: [u8; 4],
}

/// `struct addr_val`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AddrVal {
    pub rule_id: u32,
    pub flags: u32,
    pub expires_ns: u64,
}

/// `struct port_key`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortKey {
    pub gen: u32,
    pub proto: u8,
    pub pad: u8,
    pub port: u16,
}

/// `struct port_val`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortVal {
    pub rule_id: u32,
    pub action: u32,
    pub src_group: u32,
    pub pad: u32,
}

/// Data part of `struct group_key`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupKey {
    pub gen: u32,
    pub group: u32,
    pub addr: [u8; 16],
}

/// `struct settings`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SettingsRaw {
    pub restrict_mask: u32,
    pub sample_every: u32,
    pub pkt_cost_ns: u64,
    pub pkt_burst_ns: u64,
    pub byte_cost_ps: u64,
    pub byte_burst_ns: u64,
    pub rate_rule_id: u32,
    pub closed_rule_id: u32,
    pub nonempty: u32,
    pub user_state: u32,
}

/// `settings.user_state` bits (user space only): the generation may hold
/// entries that must be wiped before it is filled again.
pub(crate) const STATE_DIRTY: u32 = 1 << 0;
/// The generation may hold live (CLI) entries to carry over.
pub(crate) const STATE_LIVE: u32 = 1 << 1;

/// `settings.nonempty` bits (`LIST_*` in the C program).
pub(crate) const LIST_ALLOW_EXACT: u32 = 1 << 0;
pub(crate) const LIST_ALLOW_LPM: u32 = 1 << 1;
pub(crate) const LIST_BLOCK_EXACT: u32 = 1 << 2;
pub(crate) const LIST_BLOCK_LPM: u32 = 1 << 3;
pub(crate) const LIST_EGRESS_EXACT: u32 = 1 << 4;
pub(crate) const LIST_EGRESS_LPM: u32 = 1 << 5;
pub(crate) const LIST_PORTS: u32 = 1 << 6;
pub(crate) const LIST_EGRESS_PORTS: u32 = 1 << 7;
pub(crate) const LIST_ALLOW_EXACT4: u32 = 1 << 8;
pub(crate) const LIST_BLOCK_EXACT4: u32 = 1 << 9;
pub(crate) const LIST_EGRESS_EXACT4: u32 = 1 << 10;

/// `struct counter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

/// `struct rule_meta`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RuleMeta {
    pub name: [u8; 56],
    pub kind: u32,
    pub used: u32,
}

/// `struct drop_event` (decoded field by field in `firewall.rs`; kept for
/// the layout test).
#[cfg(test)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DropEventRaw {
    pub ts_ns: u64,
    pub rule_id: u32,
    pub reason: u32,
    pub addr: [u8; 16],
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub egress: u8,
    pub pad: u16,
    pub len: u32,
}

// SAFETY: plain `repr(C)` structs of integers; every bit pattern is valid and
// the layouts match the C definitions (checked by the size test below).
unsafe impl aya::Pod for AddrKey {}
// SAFETY: as above.
unsafe impl aya::Pod for Addr4Key {}
// SAFETY: as above.
unsafe impl aya::Pod for AddrVal {}
// SAFETY: as above.
unsafe impl aya::Pod for PortKey {}
// SAFETY: as above.
unsafe impl aya::Pod for PortVal {}
// SAFETY: as above.
unsafe impl aya::Pod for GroupKey {}
// SAFETY: as above.
unsafe impl aya::Pod for SettingsRaw {}
// SAFETY: as above.
unsafe impl aya::Pod for Counter {}
// SAFETY: as above.
unsafe impl aya::Pod for RuleMeta {}

/// Names of every map of the object (also their pin file names).
pub(crate) const MAP_NAMES: [&str; 19] = [
    "active_gen",
    "settings",
    "allow_exact",
    "allow_exact4",
    "allow_lpm",
    "block_exact",
    "block_exact4",
    "block_lpm",
    "egress_exact",
    "egress_exact4",
    "egress_lpm",
    "port_rules",
    "egress_ports",
    "src_groups",
    "rate_state",
    "stats",
    "rule_stats",
    "rule_meta",
    "events",
];

pub(crate) type ExactMap = HashMap<MapData, AddrKey, AddrVal>;
pub(crate) type Exact4Map = HashMap<MapData, Addr4Key, AddrVal>;
pub(crate) type LpmMap = LpmTrie<MapData, AddrKey, AddrVal>;

/// Typed handles on every map.
pub(crate) struct Maps {
    pub active_gen: Array<MapData, u32>,
    pub settings: Array<MapData, SettingsRaw>,
    pub allow_exact: ExactMaps,
    pub allow_lpm: LpmMap,
    pub block_exact: ExactMaps,
    pub block_lpm: LpmMap,
    pub egress_exact: ExactMaps,
    pub egress_lpm: LpmMap,
    pub port_rules: HashMap<MapData, PortKey, PortVal>,
    pub egress_ports: HashMap<MapData, PortKey, PortVal>,
    pub src_groups: LpmTrie<MapData, GroupKey, u32>,
    pub stats: PerCpuArray<MapData, Counter>,
    pub rule_stats: PerCpuArray<MapData, Counter>,
    pub rule_meta: Array<MapData, RuleMeta>,
    pub events: Option<RingBuf<MapData>>,
}

fn map_err(map: &str, what: &str) -> impl Fn(MapError) -> Error {
    let (map, what) = (map.to_string(), what.to_string());
    move |e| Error::Map {
        map: map.clone(),
        what: what.clone(),
        message: error_chain(&e),
    }
}

/// `e` and its sources joined with ": ".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let text = src.to_string();
        // Some errors repeat their source in their own message.
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = src.source();
    }
    s
}

impl Maps {
    /// Builds the handles from a source of maps by name.
    pub fn from_source(mut take: impl FnMut(&str) -> Result<Map, Error>) -> Result<Self, Error> {
        macro_rules! typed {
            ($name:literal) => {{
                let m = take($name)?;
                m.try_into().map_err(map_err($name, "opening"))?
            }};
        }
        macro_rules! exact {
            ($name:literal, $name4:literal) => {
                ExactMaps {
                    v6: typed!($name),
                    v4: typed!($name4),
                    name: $name,
                    name4: $name4,
                }
            };
        }
        Ok(Maps {
            active_gen: typed!("active_gen"),
            settings: typed!("settings"),
            allow_exact: exact!("allow_exact", "allow_exact4"),
            allow_lpm: typed!("allow_lpm"),
            block_exact: exact!("block_exact", "block_exact4"),
            block_lpm: typed!("block_lpm"),
            egress_exact: exact!("egress_exact", "egress_exact4"),
            egress_lpm: typed!("egress_lpm"),
            port_rules: typed!("port_rules"),
            egress_ports: typed!("egress_ports"),
            src_groups: typed!("src_groups"),
            stats: typed!("stats"),
            rule_stats: typed!("rule_stats"),
            rule_meta: typed!("rule_meta"),
            events: take("events").ok().and_then(|m| m.try_into().ok()),
        })
    }

    /// Opens the maps pinned in `dir`.
    pub fn from_pins(dir: &Path) -> Result<Self, Error> {
        Self::from_source(|name| {
            let md = MapData::from_pin(dir.join(name)).map_err(map_err(name, "opening pin"))?;
            Map::from_map_data(md).map_err(map_err(name, "opening pin"))
        })
    }

    /// The active generation (0 or 1).
    pub fn active(&self) -> Result<u32, Error> {
        let g = self
            .active_gen
            .get(&0, 0)
            .map_err(map_err("active_gen", "reading"))?;
        Ok(g & 1)
    }
}

/// The IPv4 address of a 16-byte address when it is IPv4-mapped
/// (`::ffff:a.b.c.d`): such hosts live in the `*_exact4` maps.
pub(crate) fn v4_of(addr: &[u8; 16]) -> Option<[u8; 4]> {
    let (head, tail) = addr.split_at(12);
    if head == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] {
        tail.try_into().ok()
    } else {
        None
    }
}

/// The two exact-host hashes of one list: IPv4-mapped addresses in `v4`
/// (8-byte keys), every other address in `v6`. Keys are given and returned
/// in the 16-byte mapped form, so callers never see the split.
pub(crate) struct ExactMaps {
    pub v6: ExactMap,
    pub v4: Exact4Map,
    pub name: &'static str,
    pub name4: &'static str,
}

impl ExactMaps {
    /// `max_entries` of each of the two maps.
    pub fn capacity(&self) -> u32 {
        capacity(&self.v6)
    }

    /// Name of the map `addr` belongs in.
    pub fn name_for(&self, addr: &[u8; 16]) -> &'static str {
        if v4_of(addr).is_some() {
            self.name4
        } else {
            self.name
        }
    }

    pub fn insert(&mut self, k: AddrKey, v: AddrVal) -> Result<(), Error> {
        // The capacity is read only on error: one syscall per entry.
        match v4_of(&k.addr) {
            Some(addr) => self
                .v4
                .insert(Addr4Key { gen: k.gen, addr }, v, 0)
                .map_err(|e| full_or(e, self.name4, capacity(&self.v4))),
            None => self
                .v6
                .insert(k, v, 0)
                .map_err(|e| full_or(e, self.name, capacity(&self.v6))),
        }
    }

    /// Removes `k`; false when it was not there.
    pub fn remove(&mut self, k: &AddrKey) -> Result<bool, Error> {
        let r = match v4_of(&k.addr) {
            Some(addr) => self.v4.remove(&Addr4Key { gen: k.gen, addr }),
            None => self.v6.remove(k),
        };
        match r {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(rm_err(self.name_for(&k.addr))(e)),
        }
    }

    /// Every entry of both maps, keys in the mapped form.
    pub fn entries(&self) -> Result<Vec<(AddrKey, AddrVal)>, Error> {
        let mut out = Vec::new();
        for item in self.v4.iter() {
            let (k, v) = item.map_err(rd_err(self.name4))?;
            out.push((AddrKey::from(k), v));
        }
        for item in self.v6.iter() {
            out.push(item.map_err(rd_err(self.name))?);
        }
        Ok(out)
    }

    /// Inserts entries (keys in the mapped form) with batch calls.
    pub fn insert_all(&mut self, entries: &[(AddrKey, AddrVal)]) -> Result<(), Error> {
        let (mut k4, mut v4) = (Vec::new(), Vec::new());
        let (mut k6, mut v6) = (Vec::new(), Vec::new());
        for (k, v) in entries {
            match v4_of(&k.addr) {
                Some(addr) => {
                    k4.push(Addr4Key { gen: k.gen, addr });
                    v4.push(*v);
                }
                None => {
                    k6.push(*k);
                    v6.push(*v);
                }
            }
        }
        insert_batch(&self.v4, self.name4, &k4, &v4)?;
        insert_batch(&self.v6, self.name, &k6, &v6)
    }

    /// Removes the entries whose key `pred` selects, reading and deleting
    /// with batch calls; returns how many. Entries that vanish while the
    /// maps are walked are skipped.
    pub fn remove_keys_where(&mut self, pred: impl Fn(&AddrKey) -> bool) -> Result<usize, Error> {
        let keys4: Vec<Addr4Key> = entries_batch(&self.v4, self.name4)?
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| pred(&AddrKey::from(*k)))
            .collect();
        let keys6: Vec<AddrKey> = entries_batch(&self.v6, self.name)?
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| pred(k))
            .collect();
        Ok(
            delete_batch(&self.v4, self.name4, &keys4)?
                + delete_batch(&self.v6, self.name, &keys6)?,
        )
    }

    /// Removes the entries whose value `pred` selects; returns how many.
    /// Entries that vanish while the maps are walked are skipped.
    pub fn remove_values_where(&mut self, pred: impl Fn(&AddrVal) -> bool) -> Result<usize, Error> {
        let keys4: Vec<Addr4Key> = self
            .v4
            .iter()
            .filter_map(Result::ok)
            .filter(|(_, v)| pred(v))
            .map(|(k, _)| k)
            .collect();
        for k in &keys4 {
            self.v4.remove(k).map_err(rm_err(self.name4))?;
        }
        let keys6: Vec<AddrKey> = self
            .v6
            .iter()
            .filter_map(Result::ok)
            .filter(|(_, v)| pred(v))
            .map(|(k, _)| k)
            .collect();
        for k in &keys6 {
            self.v6.remove(k).map_err(rm_err(self.name))?;
        }
        Ok(keys4.len() + keys6.len())
    }
}

impl From<Addr4Key> for AddrKey {
    fn from(k: Addr4Key) -> Self {
        let mut addr = [0u8; 16];
        addr[10] = 0xff;
        addr[11] = 0xff;
        addr[12..].copy_from_slice(&k.addr);
        AddrKey { gen: k.gen, addr }
    }
}

/// Maximum entries of a map.
pub(crate) fn capacity<K: aya::Pod, V, M: IterableMap<K, V>>(m: &M) -> u32 {
    m.map().info().map(|i| i.max_entries()).unwrap_or(0)
}

/// True for the errors a full hash (E2BIG) or LPM trie (ENOSPC) returns.
pub(crate) fn is_full(e: &MapError) -> bool {
    matches!(e, MapError::SyscallError(s) if is_full_errno(&s.io_error))
}

/// The errors a full hash (E2BIG) or LPM trie (ENOSPC, ENOMEM) returns on
/// insert.
fn is_full_errno(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::E2BIG | libc::ENOSPC | libc::ENOMEM)
    )
}

/// True for "no such key" (ENOENT) errors.
pub(crate) fn is_not_found(e: &MapError) -> bool {
    match e {
        MapError::KeyNotFound | MapError::ElementNotFound => true,
        MapError::SyscallError(s) => s.io_error.raw_os_error() == Some(libc::ENOENT),
        _ => false,
    }
}

/// Inserts into an LPM map, mapping errors.
pub(crate) fn put_lpm(
    m: &mut LpmMap,
    name: &str,
    len: u32,
    k: AddrKey,
    v: AddrVal,
) -> Result<(), Error> {
    m.insert(&Key::new(32 + len, k), v, 0)
        .map_err(|e| full_or(e, name, capacity(m)))
}

pub(crate) fn full_or(e: MapError, name: &str, cap: u32) -> Error {
    if is_full(&e) {
        Error::MapFull {
            map: name.to_string(),
            capacity: cap,
        }
    } else {
        map_err(name, "inserting")(e)
    }
}

pub(crate) fn rm_err(name: &str) -> impl Fn(MapError) -> Error {
    map_err(name, "removing")
}

pub(crate) fn rd_err(name: &str) -> impl Fn(MapError) -> Error {
    map_err(name, "reading")
}

pub(crate) fn wr_err(name: &str) -> impl Fn(MapError) -> Error {
    map_err(name, "writing")
}

/// Elements per batch system call: a 100k-entry rule set takes a dozen.
const BATCH: usize = 8192;

/// The bytes of a slice of map keys or values, as the kernel reads them.
fn pod_bytes<T: aya::Pod>(items: &[T]) -> &[u8] {
    // SAFETY: `Pod` types are plain `repr(C)` data that may be viewed as
    // bytes; the view borrows `items` and covers exactly its elements.
    unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), std::mem::size_of_val(items)) }
}

/// A failed batch call on map `name` as an [`Error`]: a full map (on
/// insert) is [`Error::MapFull`].
fn batch_err(e: std::io::Error, name: &str, what: &str, cap: u32) -> Error {
    if what == "inserting" && is_full_errno(&e) {
        Error::MapFull {
            map: name.to_string(),
            capacity: cap,
        }
    } else {
        Error::Map {
            map: name.to_string(),
            what: what.to_string(),
            message: e.to_string(),
        }
    }
}

/// Inserts `keys[i] → values[i]` into `m` (named `name` in errors), a few
/// thousand per system call instead of one.
pub(crate) fn insert_batch<K: aya::Pod, V: aya::Pod, M: IterableMap<K, V>>(
    m: &M,
    name: &str,
    keys: &[K],
    values: &[V],
) -> Result<(), Error> {
    use std::os::fd::AsFd;
    debug_assert_eq!(keys.len(), values.len());
    let fd = m.map().fd().as_fd();
    for (k, v) in keys.chunks(BATCH).zip(values.chunks(BATCH)) {
        let (done, err) = sys::map_update_batch(fd, pod_bytes(k), pod_bytes(v), k.len() as u32);
        if let Some(e) = err {
            if done == 0 && sys::batch_unsupported(&e) {
                // An older kernel: one element per call.
                let (ks, vs) = (std::mem::size_of::<K>(), std::mem::size_of::<V>());
                let (kb, vb) = (pod_bytes(k), pod_bytes(v));
                for i in 0..k.len() {
                    sys::map_update_elem(fd, &kb[i * ks..][..ks], &vb[i * vs..][..vs])
                        .map_err(|e| batch_err(e, name, "inserting", capacity(m)))?;
                }
                continue;
            }
            return Err(batch_err(e, name, "inserting", capacity(m)));
        }
        if done as usize != k.len() {
            return Err(Error::Map {
                map: name.to_string(),
                what: "inserting".to_string(),
                message: format!("the kernel wrote {done} of {} entries", k.len()),
            });
        }
    }
    Ok(())
}

/// Every entry of `m`, read a few thousand per system call.
pub(crate) fn entries_batch<K: aya::Pod, V: aya::Pod, M: IterableMap<K, V>>(
    m: &M,
    name: &str,
) -> Result<Vec<(K, V)>, Error> {
    use std::os::fd::AsFd;
    let fd = m.map().fd().as_fd();
    let (ks, vs) = (std::mem::size_of::<K>(), std::mem::size_of::<V>());
    let mut keys = vec![0u8; BATCH * ks];
    let mut values = vec![0u8; BATCH * vs];
    // Resume tokens: a bucket index for hashes, a key for LPM tries.
    let (mut token_in, mut token_out) = ([0u8; 64], [0u8; 64]);
    let mut first = true;
    let mut out = Vec::new();
    loop {
        let start = (!first).then_some(&token_in[..]);
        let (n, err) = sys::map_lookup_batch(
            fd,
            start,
            &mut token_out,
            &mut keys,
            &mut values,
            BATCH as u32,
        );
        for i in 0..(n as usize).min(BATCH) {
            // SAFETY: the kernel wrote `n` whole keys and values into the
            // buffers; `read_unaligned` copes with their byte alignment.
            let (k, v) = unsafe {
                (
                    std::ptr::read_unaligned(keys[i * ks..].as_ptr().cast::<K>()),
                    std::ptr::read_unaligned(values[i * vs..].as_ptr().cast::<V>()),
                )
            };
            out.push((k, v));
        }
        match err {
            // The end of the map.
            Some(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(out),
            Some(e) if first && n == 0 && sys::batch_unsupported(&e) => {
                return entries_one_by_one(fd, name);
            }
            Some(e) => return Err(batch_err(e, name, "reading", 0)),
            None if n == 0 => return Ok(out),
            None => {
                token_in = token_out;
                first = false;
            }
        }
    }
}

/// [`entries_batch`] on a kernel without batch calls: `GET_NEXT_KEY` and
/// `LOOKUP_ELEM` per entry. An entry removed between the two is skipped.
fn entries_one_by_one<K: aya::Pod, V: aya::Pod>(
    fd: std::os::fd::BorrowedFd<'_>,
    name: &str,
) -> Result<Vec<(K, V)>, Error> {
    let (ks, vs) = (std::mem::size_of::<K>(), std::mem::size_of::<V>());
    let (mut key, mut next, mut value) = (vec![0u8; ks], vec![0u8; ks], vec![0u8; vs]);
    let mut first = true;
    let mut out = Vec::new();
    loop {
        match sys::map_next_key(fd, (!first).then_some(&key[..]), &mut next) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(out),
            Err(e) => return Err(batch_err(e, name, "reading", 0)),
        }
        first = false;
        std::mem::swap(&mut key, &mut next);
        match sys::map_lookup_elem(fd, &key, &mut value) {
            // SAFETY: the kernel wrote a whole key and value.
            Ok(()) => out.push(unsafe {
                (
                    std::ptr::read_unaligned(key.as_ptr().cast::<K>()),
                    std::ptr::read_unaligned(value.as_ptr().cast::<V>()),
                )
            }),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(batch_err(e, name, "reading", 0)),
        }
    }
}

/// Deletes `keys` from `m`, a few thousand per system call; a key that
/// is not there (removed meanwhile) is skipped. Returns how many were
/// deleted.
pub(crate) fn delete_batch<K: aya::Pod, V, M: IterableMap<K, V>>(
    m: &M,
    name: &str,
    keys: &[K],
) -> Result<usize, Error> {
    use std::os::fd::AsFd;
    let fd = m.map().fd().as_fd();
    let mut deleted = 0;
    let mut rest = keys;
    while !rest.is_empty() {
        let chunk = &rest[..rest.len().min(BATCH)];
        let (n, err) = sys::map_delete_batch(fd, pod_bytes(chunk), chunk.len() as u32);
        let n = (n as usize).min(chunk.len());
        deleted += n;
        rest = match err {
            None => &rest[chunk.len()..],
            Some(e) if n == 0 && sys::batch_unsupported(&e) => {
                // An older kernel: one key per call.
                let ks = std::mem::size_of::<K>();
                for k in pod_bytes(rest).chunks_exact(ks) {
                    match sys::map_delete_elem(fd, k) {
                        Ok(()) => deleted += 1,
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                        Err(e) => return Err(batch_err(e, name, "removing", 0)),
                    }
                }
                return Ok(deleted);
            }
            // Key `n` was gone: the ones before it are deleted.
            Some(e) if e.raw_os_error() == Some(libc::ENOENT) => &rest[(n + 1).min(rest.len())..],
            Some(e) => return Err(batch_err(e, name, "removing", 0)),
        };
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_c_structs() {
        use std::mem::size_of;
        assert_eq!(size_of::<AddrKey>(), 20);
        assert_eq!(size_of::<Addr4Key>(), 8);
        assert_eq!(size_of::<Key<AddrKey>>(), 24);
        assert_eq!(size_of::<AddrVal>(), 16);
        assert_eq!(size_of::<PortKey>(), 8);
        assert_eq!(size_of::<PortVal>(), 16);
        assert_eq!(size_of::<Key<GroupKey>>(), 28);
        assert_eq!(size_of::<SettingsRaw>(), 56);
        assert_eq!(size_of::<Counter>(), 16);
        assert_eq!(size_of::<RuleMeta>(), 64);
        assert_eq!(size_of::<DropEventRaw>(), 48);
    }

    #[test]
    fn v4_mapped_keys_round_trip() {
        let mapped = crate::rules::to_mapped("192.0.2.7".parse().unwrap());
        assert_eq!(v4_of(&mapped), Some([192, 0, 2, 7]));
        let k = AddrKey::from(Addr4Key {
            gen: 1,
            addr: [192, 0, 2, 7],
        });
        assert_eq!(
            k,
            AddrKey {
                gen: 1,
                addr: mapped
            }
        );
        // IPv6 addresses, including IPv4-compatible `::a.b.c.d`, stay in the
        // IPv6 map.
        for a in ["2001:db8::1", "::192.0.2.7", "::1", "::ffff:0:0:1"] {
            let m = crate::rules::to_mapped(a.parse().unwrap());
            assert_eq!(v4_of(&m), None, "{a}");
        }
        let m = crate::rules::to_mapped("::ffff:192.0.2.7".parse().unwrap());
        assert_eq!(v4_of(&m), Some([192, 0, 2, 7]));
    }
}
