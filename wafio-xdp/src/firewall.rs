//! [`Firewall`]: loading, attaching, pinning, rule-set swaps and statistics.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aya::maps::lpm_trie::Key;
use aya::maps::PerCpuValues;
use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::tc::TcAttachType;
use aya::programs::{SchedClassifier, TestRun, TestRunOptions, Xdp, XdpMode};
use aya::{Ebpf, EbpfLoader};
use serde::Serialize;

use crate::compile::{
    compile, Compiled, RuleKind, MAX_RULES, RULE_CLOSED, RULE_LIVE_ALLOW, RULE_LIVE_BLOCK,
    RULE_RATE,
};
use crate::error::Error;
use crate::geo::GeoSources;
use crate::maps::{
    self, error_chain, put_lpm, rd_err, rm_err, wr_err, AddrKey, AddrVal, Counter, ExactMaps,
    GroupKey, LpmMap, Maps, PortKey, PortVal, RuleMeta, SettingsRaw, MAP_NAMES,
};
use crate::rules::{Cidr, RuleSet};
use crate::sys;

/// The compiled eBPF object (built by `bpf/build.sh`, committed).
static OBJECT: &[u8] = aya::include_bytes_aligned!("../bpf/wafio_fw.bpf.o");

const XDP_PROG: &str = "wafio_xdp";
const TC_PROG: &str = "wafio_egress";
const XDP_LINK_PIN: &str = "link_xdp";
const TC_LINK_PIN: &str = "link_tc";

/// XDP verdicts returned by [`Firewall::test_run_xdp`].
pub mod verdict {
    /// `XDP_DROP`.
    pub const XDP_DROP: u32 = 1;
    /// `XDP_PASS`.
    pub const XDP_PASS: u32 = 2;
    /// `TC_ACT_OK`.
    pub const TC_ACT_OK: u32 = 0;
    /// `TC_ACT_SHOT`.
    pub const TC_ACT_SHOT: u32 = 2;
}

/// Global counters kept by the programs, in `stats` map order.
pub const STAT_NAMES: [&str; 16] = [
    "pass",
    "non_ip",
    "malformed",
    "allow",
    "block",
    "port_allow",
    "port_drop",
    "port_closed",
    "rate_pps",
    "rate_bps",
    "fragment",
    "expired_entry",
    "egress_pass",
    "egress_block",
    "egress_unparsed",
    "event_lost",
];

/// How the XDP program is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttachMode {
    /// Driver (native) XDP; fails when the driver lacks support.
    Native,
    /// Generic (skb) XDP; works on any interface, slower.
    Generic,
    /// Let the kernel choose.
    #[default]
    Auto,
}

impl std::str::FromStr for AttachMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "native" | "driver" => Ok(AttachMode::Native),
            "generic" | "skb" => Ok(AttachMode::Generic),
            "auto" => Ok(AttachMode::Auto),
            _ => Err(format!("unknown XDP mode `{s}` (native, generic or auto)")),
        }
    }
}

/// Load-time options.
#[derive(Debug, Clone)]
pub struct FirewallOptions {
    /// `max_entries` of each exact-address hash: every list has one for
    /// IPv4 hosts and one for IPv6 hosts (both generations share it: a swap
    /// needs room for the old and the new set). Default 262 144.
    pub exact_capacity: u32,
    /// `max_entries` of each LPM trie. Default 262 144.
    pub prefix_capacity: u32,
    /// Where bpffs is (mounted there when missing). Default `/sys/fs/bpf`.
    pub bpffs: PathBuf,
}

impl Default for FirewallOptions {
    fn default() -> Self {
        FirewallOptions {
            exact_capacity: 262_144,
            prefix_capacity: 262_144,
            bpffs: PathBuf::from("/sys/fs/bpf"),
        }
    }
}

/// Which address list an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum List {
    /// Ingress allow list (sources).
    Allow,
    /// Ingress block list (sources).
    Block,
    /// Egress block list (destinations).
    Egress,
}

/// One address-list entry of the active generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// List.
    pub list: List,
    /// Prefix.
    pub cidr: Cidr,
    /// Rule id.
    pub rule_id: u32,
    /// Rule name.
    pub rule: String,
    /// Remaining lifetime; `None` = permanent.
    pub expires_in_secs: Option<u64>,
}

/// Packet/byte counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Counters of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleStats {
    /// Rule id.
    pub id: u32,
    /// Rule name.
    pub name: String,
    /// Kind.
    pub kind: RuleKind,
    /// Packets and bytes it matched since the rule set was applied.
    pub count: Count,
}

/// Every counter of the firewall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Active generation.
    pub generation: u32,
    /// Global counters by reason ([`STAT_NAMES`]), summed over CPUs, since load.
    pub global: Vec<(String, Count)>,
    /// Per-rule counters of the active generation.
    pub rules: Vec<RuleStats>,
}

impl Stats {
    /// A global counter by name (see [`STAT_NAMES`]).
    pub fn global(&self, name: &str) -> Count {
        self.global
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }

    /// A rule's counter by name.
    pub fn rule(&self, name: &str) -> Count {
        self.rules
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.count)
            .unwrap_or_default()
    }
}

/// Status of a pinned firewall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Interface.
    pub iface: String,
    /// Pin directory.
    pub pin_dir: PathBuf,
    /// XDP link pinned.
    pub xdp_attached: bool,
    /// TC egress link pinned.
    pub tc_attached: bool,
    /// Active generation.
    pub generation: u32,
    /// Rules in the active generation.
    pub rules: usize,
    /// Entries (allow, block, egress) in the active generation.
    pub entries: usize,
}

/// A drop reported through the ring buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DropEvent {
    /// `CLOCK_MONOTONIC` time of the drop.
    pub ts_ns: u64,
    /// Rule id (4096 for malformed packets).
    pub rule_id: u32,
    /// Reason ([`STAT_NAMES`] entry).
    pub reason: String,
    /// Source (ingress) or destination (egress) address.
    pub addr: std::net::IpAddr,
    /// Source port (ICMP type for ICMP).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// IP protocol.
    pub proto: u8,
    /// True for egress drops.
    pub egress: bool,
    /// Frame length.
    pub len: u32,
}

/// Summary of an applied rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// The generation now active.
    pub generation: u32,
    /// Rules (built-ins included).
    pub rules: usize,
    /// Exact (host) entries written.
    pub exact_entries: usize,
    /// Prefix entries written.
    pub prefix_entries: usize,
    /// Live (CLI) entries carried over from the previous generation.
    pub carried_live: usize,
}

/// A loaded firewall: either owned by this process ([`Firewall::load`],
/// [`Firewall::attach`]) or opened from bpffs pins ([`Firewall::open`]).
pub struct Firewall {
    iface: Option<String>,
    pin_dir: Option<PathBuf>,
    maps: Maps,
    ebpf: Option<Ebpf>,
}

impl std::fmt::Debug for Firewall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Firewall")
            .field("iface", &self.iface)
            .field("pin_dir", &self.pin_dir)
            .finish_non_exhaustive()
    }
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { what, source }
}

/// The pin directory of `iface` under `bpffs`.
pub fn pin_dir(bpffs: &Path, iface: &str) -> PathBuf {
    bpffs.join("wafio").join(iface)
}

fn prog_err(program: &str, what: &str) -> impl Fn(aya::programs::ProgramError) -> Error {
    let (program, what) = (program.to_string(), what.to_string());
    move |e| Error::Program {
        program: program.clone(),
        what: what.clone(),
        message: error_chain(&e),
    }
}

fn remove_pins(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}

impl Firewall {
    /// Loads the programs and creates fresh maps, attached nowhere and pinned
    /// nowhere: for [`Firewall::test_run_xdp`], benches and embedding.
    pub fn load(opts: &FirewallOptions) -> Result<Self, Error> {
        let (ebpf, maps) = load_object(opts, None)?;
        let mut fw = Firewall {
            iface: None,
            pin_dir: None,
            maps,
            ebpf: Some(ebpf),
        };
        fw.apply(&RuleSet::default())?;
        Ok(fw)
    }

    /// Loads, pins under `<bpffs>/wafio/<iface>/` and attaches the XDP
    /// ingress and TC egress programs to `iface`, starting with an empty rule
    /// set (everything passes). On failure nothing stays pinned or attached.
    pub fn attach(iface: &str, mode: AttachMode, opts: &FirewallOptions) -> Result<Self, Error> {
        sys::if_index(iface)?;
        sys::ensure_bpffs(&opts.bpffs)?;
        let dir = pin_dir(&opts.bpffs, iface);
        if dir.join(XDP_LINK_PIN).exists() {
            return Err(Error::AlreadyAttached {
                iface: iface.to_string(),
                dir,
            });
        }
        remove_pins(&dir);
        std::fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        match Self::attach_inner(iface, mode, opts, &dir) {
            Ok(fw) => Ok(fw),
            Err(e) => {
                remove_pins(&dir);
                Err(e)
            }
        }
    }

    fn attach_inner(
        iface: &str,
        mode: AttachMode,
        opts: &FirewallOptions,
        dir: &Path,
    ) -> Result<Self, Error> {
        let (mut ebpf, maps) = load_object(opts, Some(dir))?;
        let mut fw = Firewall {
            iface: Some(iface.to_string()),
            pin_dir: Some(dir.to_path_buf()),
            maps,
            ebpf: None,
        };
        fw.apply(&RuleSet::default())?;

        let xdp: &mut Xdp = program(&mut ebpf, XDP_PROG)?;
        let mode = match mode {
            AttachMode::Native => XdpMode::Driver,
            AttachMode::Generic => XdpMode::Skb,
            AttachMode::Auto => XdpMode::Default,
        };
        let id = xdp
            .attach(iface, mode)
            .map_err(prog_err(XDP_PROG, &format!("attaching to {iface}")))?;
        let link = xdp
            .take_link(id)
            .map_err(prog_err(XDP_PROG, "taking link"))?;
        let link = FdLink::try_from(link).map_err(|e| Error::Program {
            program: XDP_PROG.into(),
            what: "pinning link".into(),
            message: format!("{} (the kernel lacks bpf_link for XDP)", error_chain(&e)),
        })?;
        let xdp_link = link
            .pin(dir.join(XDP_LINK_PIN))
            .map_err(|e| Error::Program {
                program: XDP_PROG.into(),
                what: "pinning link".into(),
                message: error_chain(&e),
            })?;

        let tc_result = (|| -> Result<(), Error> {
            let tc: &mut SchedClassifier = program(&mut ebpf, TC_PROG)?;
            let id = tc
                .attach(iface, TcAttachType::Egress)
                .map_err(prog_err(TC_PROG, &format!("attaching to {iface} egress")))?;
            let link = tc.take_link(id).map_err(prog_err(TC_PROG, "taking link"))?;
            let link = FdLink::try_from(link).map_err(|e| Error::Program {
                program: TC_PROG.into(),
                what: "pinning link".into(),
                message: format!("{} (TCX needs Linux 6.6 or later)", error_chain(&e)),
            })?;
            link.pin(dir.join(TC_LINK_PIN))
                .map_err(|e| Error::Program {
                    program: TC_PROG.into(),
                    what: "pinning link".into(),
                    message: error_chain(&e),
                })?;
            Ok(())
        })();
        if let Err(e) = tc_result {
            let _ = xdp_link.unpin();
            return Err(e);
        }
        Ok(fw)
    }

    /// Opens the firewall pinned for `iface` (attached by another process).
    pub fn open(iface: &str, opts: &FirewallOptions) -> Result<Self, Error> {
        sys::ensure_bpffs(&opts.bpffs)?;
        let dir = pin_dir(&opts.bpffs, iface);
        if !dir.join("active_gen").exists() {
            return Err(Error::NotAttached {
                iface: iface.to_string(),
                dir,
            });
        }
        let maps = Maps::from_pins(&dir)?;
        Ok(Firewall {
            iface: Some(iface.to_string()),
            pin_dir: Some(dir),
            maps,
            ebpf: None,
        })
    }

    /// Detaches the firewall of `iface` and removes its pins.
    pub fn detach(iface: &str, opts: &FirewallOptions) -> Result<(), Error> {
        sys::ensure_bpffs(&opts.bpffs)?;
        let dir = pin_dir(&opts.bpffs, iface);
        if !dir.exists() {
            return Err(Error::NotAttached {
                iface: iface.to_string(),
                dir,
            });
        }
        for name in [XDP_LINK_PIN, TC_LINK_PIN] {
            let p = dir.join(name);
            if p.exists() {
                let link = PinnedLink::from_pin(&p).map_err(|e| Error::Program {
                    program: name.into(),
                    what: format!("opening pinned link {}", p.display()),
                    message: error_chain(&e),
                })?;
                // Dropping the unpinned link releases the last reference: the
                // program detaches.
                drop(
                    link.unpin()
                        .map_err(io_err(format!("unpinning {}", p.display())))?,
                );
            }
        }
        remove_pins(&dir);
        Ok(())
    }

    /// Status of the firewall pinned for `iface`.
    pub fn status(iface: &str, opts: &FirewallOptions) -> Result<Status, Error> {
        let fw = Self::open(iface, opts)?;
        let dir = pin_dir(&opts.bpffs, iface);
        let generation = fw.maps.active()?;
        let rules = fw.rule_names(generation)?.len();
        let entries = fw.list()?.len();
        Ok(Status {
            iface: iface.to_string(),
            xdp_attached: dir.join(XDP_LINK_PIN).exists(),
            tc_attached: dir.join(TC_LINK_PIN).exists(),
            pin_dir: dir,
            generation,
            rules,
            entries,
        })
    }

    /// The interface, when attached.
    pub fn iface(&self) -> Option<&str> {
        self.iface.as_deref()
    }

    /// Compiles `rules` (expanding ASNs/countries through the databases the
    /// rule set names, see [`GeoSources::load`])
    /// and replaces the running rule set atomically. Live (CLI) entries
    /// still valid are carried over. On error the running set is unchanged.
    pub fn apply(&mut self, rules: &RuleSet) -> Result<ApplyReport, Error> {
        let geo = GeoSources::load(rules)?;
        let compiled = compile(rules, &geo)?;
        self.apply_compiled(&compiled)
    }

    /// Installs a compiled rule set (see [`Firewall::apply`]).
    pub fn apply_compiled(&mut self, c: &Compiled) -> Result<ApplyReport, Error> {
        // Two processes applying at once would fill the same generation.
        let _lock = match &self.pin_dir {
            Some(dir) => Some(sys::lock_dir(dir)?),
            None => None,
        };
        let cur = self.maps.active()?;
        let new = cur ^ 1;
        let now = sys::monotonic_ns();
        let cur_state = self.settings(cur)?.user_state;
        let mut new_settings = self.settings(new)?;
        // Leftovers of an apply that died half-way (a failed apply wipes
        // its generation itself).
        if new_settings.user_state & maps::STATE_DIRTY != 0 {
            self.clear_gen(new)?;
        }
        new_settings.user_state = maps::STATE_DIRTY;
        self.set_settings(new, new_settings)?;
        match self.fill_gen(c, cur, new, now, cur_state & maps::STATE_LIVE != 0) {
            Ok(mut report) => {
                self.maps
                    .active_gen
                    .set(0, new, 0)
                    .map_err(wr_err("active_gen"))?;
                // Programs that read the old generation number just before
                // the flip finish within microseconds (they run under RCU).
                std::thread::sleep(Duration::from_millis(2));
                self.clear_gen(cur)?;
                let mut old = self.settings(cur)?;
                old.user_state = 0;
                self.set_settings(cur, old)?;
                report.generation = new;
                Ok(report)
            }
            Err(e) => {
                if self.clear_gen(new).is_ok() {
                    let _ = self.set_settings(new, SettingsRaw::default());
                }
                Err(e)
            }
        }
    }

    fn settings(&self, gen: u32) -> Result<SettingsRaw, Error> {
        self.maps.settings.get(&gen, 0).map_err(rd_err("settings"))
    }

    fn set_settings(&mut self, gen: u32, s: SettingsRaw) -> Result<(), Error> {
        self.maps
            .settings
            .set(gen, s, 0)
            .map_err(wr_err("settings"))
    }

    fn fill_gen(
        &mut self,
        c: &Compiled,
        cur: u32,
        new: u32,
        now: u64,
        carry_live: bool,
    ) -> Result<ApplyReport, Error> {
        let m = &mut self.maps;
        let mut report = ApplyReport {
            generation: new,
            rules: c.rules.len(),
            exact_entries: 0,
            prefix_entries: 0,
            carried_live: 0,
        };
        // Capacity checks up front: a clear error before any write.
        let ecap = m.block_exact.capacity();
        let pcap = maps::capacity(&m.block_lpm);
        for (name, list, cap_exact, cap_lpm) in [
            ("allow", &c.allow, ecap, pcap),
            ("block", &c.block, ecap, pcap),
            ("egress", &c.egress, ecap, pcap),
        ] {
            let hosts4 = list
                .iter()
                .filter(|(c, _)| c.is_host() && maps::v4_of(&c.mapped()).is_some())
                .count();
            let hosts6 = list.iter().filter(|(c, _)| c.is_host()).count() - hosts4;
            let prefixes = list.len() - hosts4 - hosts6;
            for (hosts, suffix) in [(hosts4, "4"), (hosts6, "")] {
                if hosts as u64 > u64::from(cap_exact) {
                    return Err(Error::MapFull {
                        map: format!("{name}_exact{suffix}"),
                        capacity: cap_exact,
                    });
                }
            }
            if prefixes as u64 > u64::from(cap_lpm) {
                return Err(Error::MapFull {
                    map: format!("{name}_lpm"),
                    capacity: cap_lpm,
                });
            }
        }

        // Rule names and fresh counters for the new generation.
        let zero = zero_counters()?;
        for id in 0..MAX_RULES {
            let info = c.rules.iter().find(|r| r.id == id);
            let mut meta = RuleMeta {
                name: [0; 56],
                kind: 0,
                used: 0,
            };
            if let Some(info) = info {
                let n = info.name.as_bytes();
                let len = n.len().min(55);
                meta.name[..len].copy_from_slice(&n[..len]);
                meta.kind = info.kind.code();
                meta.used = 1;
            }
            m.rule_meta
                .set(new * MAX_RULES + id, meta, 0)
                .map_err(wr_err("rule_meta"))?;
            if meta.used == 1 {
                m.rule_stats
                    .set(new * MAX_RULES + id, zero_counters_clone(&zero)?, 0)
                    .map_err(wr_err("rule_stats"))?;
            }
        }

        for (list, exact, lpm, lname) in [
            (&c.allow, &mut m.allow_exact, &mut m.allow_lpm, "allow_lpm"),
            (&c.block, &mut m.block_exact, &mut m.block_lpm, "block_lpm"),
            (
                &c.egress,
                &mut m.egress_exact,
                &mut m.egress_lpm,
                "egress_lpm",
            ),
        ] {
            // Written with batch calls: a 100k-entry list takes a dozen
            // system calls instead of 100k.
            let mut hosts = Vec::new();
            let (mut prefix_keys, mut prefix_vals) = (Vec::new(), Vec::new());
            for (cidr, id) in list {
                let k = AddrKey {
                    gen: new,
                    addr: cidr.mapped(),
                };
                let v = AddrVal {
                    rule_id: *id,
                    flags: 0,
                    expires_ns: 0,
                };
                if cidr.is_host() {
                    hosts.push((k, v));
                } else {
                    prefix_keys.push(Key::new(32 + u32::from(cidr.mapped_len()), k));
                    prefix_vals.push(v);
                }
            }
            exact.insert_all(&hosts)?;
            maps::insert_batch(&*lpm, lname, &prefix_keys, &prefix_vals)?;
            report.exact_entries += hosts.len();
            report.prefix_entries += prefix_keys.len();
        }

        // Which maps hold entries: the programs skip lookups in empty ones.
        let mut nonempty = 0u32;
        for (list, which) in [
            (&c.allow, List::Allow),
            (&c.block, List::Block),
            (&c.egress, List::Egress),
        ] {
            for (cidr, _) in list {
                nonempty |= nonempty_bit(which, &cidr.mapped(), cidr.is_host());
            }
        }
        if !c.ports.is_empty() {
            nonempty |= maps::LIST_PORTS;
        }
        if !c.egress_ports.is_empty() {
            nonempty |= maps::LIST_EGRESS_PORTS;
        }

        // Carry live entries (CLI block/allow) that have not expired.
        for (which, exact, lpm, lname) in [
            (
                List::Allow,
                &mut m.allow_exact,
                &mut m.allow_lpm,
                "allow_lpm",
            ),
            (
                List::Block,
                &mut m.block_exact,
                &mut m.block_lpm,
                "block_lpm",
            ),
        ] {
            if !carry_live {
                break;
            }
            let live = |v: &AddrVal| {
                (v.rule_id == RULE_LIVE_BLOCK || v.rule_id == RULE_LIVE_ALLOW)
                    && (v.expires_ns == 0 || v.expires_ns > now)
            };
            let carry: Vec<(AddrKey, AddrVal)> = exact
                .entries()?
                .into_iter()
                .filter(|(k, v)| k.gen == cur && live(v))
                .collect();
            for (mut k, v) in carry {
                k.gen = new;
                exact.insert(k, v)?;
                nonempty |= nonempty_bit(which, &k.addr, true);
                report.carried_live += 1;
            }
            let mut carry = Vec::new();
            for item in lpm.iter() {
                let (k, v) = item.map_err(rd_err(lname))?;
                if k.data().gen == cur && live(&v) {
                    carry.push((k.prefix_len(), k.data(), v));
                }
            }
            for (len, mut k, v) in carry {
                k.gen = new;
                put_lpm(lpm, lname, len - 32, k, v)?;
                nonempty |= nonempty_bit(which, &k.addr, false);
                report.carried_live += 1;
            }
        }

        for p in &c.ports {
            let k = PortKey {
                gen: new,
                proto: p.proto,
                pad: 0,
                port: p.port,
            };
            let v = PortVal {
                rule_id: p.rule_id,
                action: p.action,
                src_group: p.group,
                pad: 0,
            };
            let cap = maps::capacity(&m.port_rules);
            m.port_rules
                .insert(k, v, 0)
                .map_err(|e| maps::full_or(e, "port_rules", cap))?;
        }
        for (proto, port, id) in &c.egress_ports {
            let k = PortKey {
                gen: new,
                proto: *proto,
                pad: 0,
                port: *port,
            };
            let v = PortVal {
                rule_id: *id,
                action: crate::compile::ACTION_DROP,
                src_group: 0,
                pad: 0,
            };
            let cap = maps::capacity(&m.egress_ports);
            m.egress_ports
                .insert(k, v, 0)
                .map_err(|e| maps::full_or(e, "egress_ports", cap))?;
        }
        for (group, cidr) in &c.groups {
            let k = GroupKey {
                gen: new,
                group: *group,
                addr: cidr.mapped(),
            };
            let cap = maps::capacity(&m.src_groups);
            m.src_groups
                .insert(&Key::new(64 + u32::from(cidr.mapped_len()), k), 1, 0)
                .map_err(|e| maps::full_or(e, "src_groups", cap))?;
        }

        let s = &c.settings;
        let raw = SettingsRaw {
            restrict_mask: s.restrict_mask,
            sample_every: s.sample_every,
            pkt_cost_ns: s.pkt_cost_ns,
            pkt_burst_ns: s.pkt_burst_ns,
            byte_cost_ps: s.byte_cost_ps,
            byte_burst_ns: s.byte_burst_ns,
            rate_rule_id: RULE_RATE,
            closed_rule_id: RULE_CLOSED,
            nonempty,
            user_state: maps::STATE_DIRTY
                | if report.carried_live > 0 {
                    maps::STATE_LIVE
                } else {
                    0
                },
        };
        m.settings.set(new, raw, 0).map_err(wr_err("settings"))?;
        Ok(report)
    }

    /// Removes every keyed entry of generation `gen`.
    fn clear_gen(&mut self, gen: u32) -> Result<(), Error> {
        let m = &mut self.maps;
        for exact in [&mut m.allow_exact, &mut m.block_exact, &mut m.egress_exact] {
            exact.remove_keys_where(|k| k.gen == gen)?;
        }
        for (lpm, name) in [
            (&mut m.allow_lpm, "allow_lpm"),
            (&mut m.block_lpm, "block_lpm"),
            (&mut m.egress_lpm, "egress_lpm"),
        ] {
            clear_lpm(lpm, name, |k, _| k.data().gen == gen)?;
        }
        for (map, name) in [
            (&mut m.port_rules, "port_rules"),
            (&mut m.egress_ports, "egress_ports"),
        ] {
            let keys: Vec<PortKey> = map
                .keys()
                .filter_map(Result::ok)
                .filter(|k| k.gen == gen)
                .collect();
            for k in keys {
                map.remove(&k).map_err(rm_err(name))?;
            }
        }
        let keys: Vec<Key<GroupKey>> = m
            .src_groups
            .keys()
            .filter_map(Result::ok)
            .filter(|k| k.data().gen == gen)
            .collect();
        for k in keys {
            m.src_groups.remove(&k).map_err(rm_err("src_groups"))?;
        }
        Ok(())
    }

    fn lists(&mut self, list: List) -> (&mut ExactMaps, &mut LpmMap, &'static str) {
        let m = &mut self.maps;
        match list {
            List::Allow => (&mut m.allow_exact, &mut m.allow_lpm, "allow_lpm"),
            List::Block => (&mut m.block_exact, &mut m.block_lpm, "block_lpm"),
            List::Egress => (&mut m.egress_exact, &mut m.egress_lpm, "egress_lpm"),
        }
    }

    /// Adds `cidr` to `list` in the running rule set, optionally for `ttl`.
    /// The entry survives later [`Firewall::apply`] calls until it expires
    /// or is removed.
    pub fn add(&mut self, list: List, cidr: Cidr, ttl: Option<Duration>) -> Result<(), Error> {
        // Not during an apply of another process: it could miss the entry
        // when carrying live entries over.
        let _lock = match &self.pin_dir {
            Some(dir) => Some(sys::lock_dir(dir)?),
            None => None,
        };
        let gen = self.maps.active()?;
        let rule_id = match list {
            List::Allow => RULE_LIVE_ALLOW,
            _ => RULE_LIVE_BLOCK,
        };
        let expires_ns = match ttl {
            Some(t) => sys::monotonic_ns()
                .saturating_add(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
                .max(1),
            None => 0,
        };
        let (exact, lpm, lname) = self.lists(list);
        let k = AddrKey {
            gen,
            addr: cidr.mapped(),
        };
        let v = AddrVal {
            rule_id,
            flags: 0,
            expires_ns,
        };
        if cidr.is_host() {
            exact.insert(k, v)?;
        } else {
            put_lpm(lpm, lname, u32::from(cidr.mapped_len()), k, v)?;
        }
        // Tell the programs the map is no longer empty (the entry is
        // written first, so no packet looks before it exists).
        let bit = nonempty_bit(list, &k.addr, cidr.is_host());
        let mut st = self.settings(gen)?;
        if st.nonempty & bit == 0 || st.user_state & maps::STATE_LIVE == 0 {
            st.nonempty |= bit;
            st.user_state |= maps::STATE_LIVE;
            self.set_settings(gen, st)?;
        }
        Ok(())
    }

    /// Blocks source `cidr` (see [`Firewall::add`]).
    pub fn block(&mut self, cidr: Cidr, ttl: Option<Duration>) -> Result<(), Error> {
        self.add(List::Block, cidr, ttl)
    }

    /// Allows source `cidr` (see [`Firewall::add`]).
    pub fn allow(&mut self, cidr: Cidr, ttl: Option<Duration>) -> Result<(), Error> {
        self.add(List::Allow, cidr, ttl)
    }

    /// Removes exactly `cidr` from `list` in the running rule set, whether a
    /// rule file or a live command put it there. Returns whether it was
    /// present.
    pub fn remove(&mut self, list: List, cidr: Cidr) -> Result<bool, Error> {
        let gen = self.maps.active()?;
        let (exact, lpm, lname) = self.lists(list);
        let k = AddrKey {
            gen,
            addr: cidr.mapped(),
        };
        if cidr.is_host() {
            return exact.remove(&k);
        }
        let key = Key::new(32 + u32::from(cidr.mapped_len()), k);
        let (r, name) = (lpm.remove(&key), lname);
        match r {
            Ok(()) => Ok(true),
            Err(e) if maps::is_not_found(&e) => Ok(false),
            Err(e) => Err(rm_err(name)(e)),
        }
    }

    /// Removes every expired entry (both generations). The programs already
    /// ignore expired entries; this frees their slots. Returns how many were
    /// removed.
    pub fn sweep_expired(&mut self) -> Result<usize, Error> {
        let now = sys::monotonic_ns();
        let expired = |v: &AddrVal| v.expires_ns != 0 && v.expires_ns <= now;
        let mut n = 0;
        for list in [List::Allow, List::Block, List::Egress] {
            let (exact, lpm, lname) = self.lists(list);
            n += exact.remove_values_where(expired)?;
            n += clear_lpm(lpm, lname, |_, v| expired(v))?;
        }
        Ok(n)
    }

    fn rule_names(&self, gen: u32) -> Result<Vec<(u32, String, RuleKind)>, Error> {
        let mut out = Vec::new();
        for id in 0..MAX_RULES {
            let meta = self
                .maps
                .rule_meta
                .get(&(gen * MAX_RULES + id), 0)
                .map_err(rd_err("rule_meta"))?;
            if meta.used == 0 {
                continue;
            }
            let end = meta.name.iter().position(|&b| b == 0).unwrap_or(56);
            let name = String::from_utf8_lossy(&meta.name[..end]).into_owned();
            out.push((id, name, RuleKind::from_code(meta.kind)));
        }
        Ok(out)
    }

    /// Entries of the active generation's address lists.
    pub fn list(&self) -> Result<Vec<Entry>, Error> {
        let gen = self.maps.active()?;
        let names = self.rule_names(gen)?;
        let name_of = |id: u32| {
            names
                .iter()
                .find(|(i, _, _)| *i == id)
                .map(|(_, n, _)| n.clone())
                .unwrap_or_else(|| format!("#{id}"))
        };
        let now = sys::monotonic_ns();
        let mut out = Vec::new();
        let m = &self.maps;
        for (list, exact, lpm, lname) in [
            (List::Allow, &m.allow_exact, &m.allow_lpm, "allow_lpm"),
            (List::Block, &m.block_exact, &m.block_lpm, "block_lpm"),
            (List::Egress, &m.egress_exact, &m.egress_lpm, "egress_lpm"),
        ] {
            let mut push = |addr: [u8; 16], len: u32, v: AddrVal| {
                if v.expires_ns != 0 && v.expires_ns <= now {
                    return;
                }
                let Ok(len) = u8::try_from(len) else { return };
                if let Ok(cidr) = Cidr::from_mapped(addr, len) {
                    out.push(Entry {
                        list,
                        cidr,
                        rule_id: v.rule_id,
                        rule: name_of(v.rule_id),
                        expires_in_secs: (v.expires_ns != 0)
                            .then(|| (v.expires_ns - now).div_ceil(1_000_000_000)),
                    });
                }
            };
            for (k, v) in exact.entries()? {
                if k.gen == gen {
                    push(k.addr, 128, v);
                }
            }
            for item in lpm.iter() {
                let (k, v) = item.map_err(rd_err(lname))?;
                if k.data().gen == gen {
                    push(k.data().addr, k.prefix_len().saturating_sub(32), v);
                }
            }
        }
        out.sort_by_key(|a| (a.list as u8, a.cidr));
        Ok(out)
    }

    /// Every counter.
    pub fn stats(&self) -> Result<Stats, Error> {
        let gen = self.maps.active()?;
        let sum = |v: PerCpuValues<Counter>| {
            v.iter().fold(Count::default(), |a, c| Count {
                packets: a.packets.wrapping_add(c.packets),
                bytes: a.bytes.wrapping_add(c.bytes),
            })
        };
        let mut global = Vec::new();
        for (i, name) in STAT_NAMES.iter().enumerate() {
            let v = self
                .maps
                .stats
                .get(&(i as u32), 0)
                .map_err(rd_err("stats"))?;
            global.push((name.to_string(), sum(v)));
        }
        let mut rules = Vec::new();
        for (id, name, kind) in self.rule_names(gen)? {
            let v = self
                .maps
                .rule_stats
                .get(&(gen * MAX_RULES + id), 0)
                .map_err(rd_err("rule_stats"))?;
            rules.push(RuleStats {
                id,
                name,
                kind,
                count: sum(v),
            });
        }
        Ok(Stats {
            generation: gen,
            global,
            rules,
        })
    }

    /// Drains up to `max` sampled drop events from the ring buffer.
    pub fn drain_events(&mut self, max: usize) -> Vec<DropEvent> {
        let mut out = Vec::new();
        let Some(rb) = self.maps.events.as_mut() else {
            return out;
        };
        while out.len() < max {
            let Some(item) = rb.next() else { break };
            if let Some(e) = decode_event(&item) {
                out.push(e);
            }
        }
        out
    }

    fn owned_program<'a, T>(&'a self, name: &str) -> Result<&'a T, Error>
    where
        &'a T: TryFrom<&'a aya::programs::Program, Error = aya::programs::ProgramError>,
    {
        let ebpf = self.ebpf.as_ref().ok_or_else(|| Error::Program {
            program: name.into(),
            what: "test run".into(),
            message: "only a firewall created by Firewall::load can be test-run".into(),
        })?;
        let p = ebpf
            .program(name)
            .ok_or_else(|| Error::Load(format!("no program `{name}`")))?;
        p.try_into().map_err(prog_err(name, "test run"))
    }

    /// Runs the XDP program once on `frame` (BPF_PROG_TEST_RUN) and returns
    /// its verdict ([`verdict::XDP_PASS`], [`verdict::XDP_DROP`]).
    pub fn test_run_xdp(&self, frame: &[u8]) -> Result<u32, Error> {
        Ok(self.bench_xdp(frame, 1)?.0)
    }

    /// Runs the XDP program `repeat` times on `frame`; returns the verdict
    /// and the kernel-measured mean time per run.
    pub fn bench_xdp(&self, frame: &[u8], repeat: u32) -> Result<(u32, Duration), Error> {
        let xdp: &Xdp = self.owned_program(XDP_PROG)?;
        let r = xdp
            .test_run(TestRunOptions {
                data_in: Some(frame),
                repeat: repeat.max(1),
                ..Default::default()
            })
            .map_err(prog_err(XDP_PROG, "test run"))?;
        Ok((r.return_value, r.duration))
    }

    /// Runs the TC egress program once on `frame`; returns its verdict
    /// ([`verdict::TC_ACT_OK`], [`verdict::TC_ACT_SHOT`]).
    pub fn test_run_tc(&self, frame: &[u8]) -> Result<u32, Error> {
        let tc: &SchedClassifier = self.owned_program(TC_PROG)?;
        let r = tc
            .test_run(TestRunOptions {
                data_in: Some(frame),
                ..Default::default()
            })
            .map_err(prog_err(TC_PROG, "test run"))?;
        Ok(r.return_value)
    }
}

fn program<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut T, Error>
where
    &'a mut T: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
{
    let p = ebpf
        .program_mut(name)
        .ok_or_else(|| Error::Load(format!("no program `{name}` in the object")))?;
    p.try_into().map_err(prog_err(name, "type"))
}

fn load_object(opts: &FirewallOptions, pin: Option<&Path>) -> Result<(Ebpf, Maps), Error> {
    let mut loader = EbpfLoader::new();
    for name in [
        "allow_exact",
        "allow_exact4",
        "block_exact",
        "block_exact4",
        "egress_exact",
        "egress_exact4",
    ] {
        loader.map_max_entries(name, opts.exact_capacity.max(1));
    }
    for name in ["allow_lpm", "block_lpm", "egress_lpm"] {
        loader.map_max_entries(name, opts.prefix_capacity.max(1));
    }
    let mut ebpf = loader
        .load(OBJECT)
        .map_err(|e| Error::Load(error_chain(&e)))?;
    {
        let xdp: &mut Xdp = program(&mut ebpf, XDP_PROG)?;
        xdp.load().map_err(prog_err(XDP_PROG, "loading"))?;
    }
    {
        let tc: &mut SchedClassifier = program(&mut ebpf, TC_PROG)?;
        tc.load().map_err(prog_err(TC_PROG, "loading"))?;
    }
    if let Some(dir) = pin {
        for name in MAP_NAMES {
            let map = ebpf
                .map(name)
                .ok_or_else(|| Error::Load(format!("no map `{name}` in the object")))?;
            map.pin(dir.join(name)).map_err(|e| Error::Map {
                map: name.into(),
                what: format!("pinning in {}", dir.display()),
                message: error_chain(&e),
            })?;
        }
    }
    let maps = Maps::from_source(|name| {
        ebpf.take_map(name)
            .ok_or_else(|| Error::Load(format!("no map `{name}` in the object")))
    })?;
    Ok((ebpf, maps))
}

fn zero_counters() -> Result<Vec<Counter>, Error> {
    let n = aya::util::nr_cpus().map_err(|(what, source)| Error::Io {
        what: what.to_string(),
        source,
    })?;
    Ok(vec![Counter::default(); n])
}

fn zero_counters_clone(z: &[Counter]) -> Result<PerCpuValues<Counter>, Error> {
    PerCpuValues::try_from(z.to_vec()).map_err(io_err("per-CPU values".into()))
}

fn clear_lpm(
    m: &mut LpmMap,
    name: &str,
    pred: impl Fn(&Key<AddrKey>, &AddrVal) -> bool,
) -> Result<usize, Error> {
    let keys: Vec<Key<AddrKey>> = maps::entries_batch(&*m, name)?
        .into_iter()
        .filter(|(k, v)| pred(k, v))
        .map(|(k, _)| k)
        .collect();
    maps::delete_batch(&*m, name, &keys)
}

/// The `settings.nonempty` bit of the map an entry of `list` lives in:
/// exact hosts by family (IPv4-mapped or not), prefixes in the LPM trie.
fn nonempty_bit(list: List, addr: &[u8; 16], host: bool) -> u32 {
    let v4 = maps::v4_of(addr).is_some();
    match (list, host, v4) {
        (List::Allow, true, true) => maps::LIST_ALLOW_EXACT4,
        (List::Allow, true, false) => maps::LIST_ALLOW_EXACT,
        (List::Allow, false, _) => maps::LIST_ALLOW_LPM,
        (List::Block, true, true) => maps::LIST_BLOCK_EXACT4,
        (List::Block, true, false) => maps::LIST_BLOCK_EXACT,
        (List::Block, false, _) => maps::LIST_BLOCK_LPM,
        (List::Egress, true, true) => maps::LIST_EGRESS_EXACT4,
        (List::Egress, true, false) => maps::LIST_EGRESS_EXACT,
        (List::Egress, false, _) => maps::LIST_EGRESS_LPM,
    }
}

fn decode_event(b: &[u8]) -> Option<DropEvent> {
    let u16_at = |o: usize| Some(u16::from_ne_bytes(b.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_ne_bytes(b.get(o..o + 8)?.try_into().ok()?));
    let addr: [u8; 16] = b.get(16..32)?.try_into().ok()?;
    let v6 = std::net::Ipv6Addr::from(addr);
    let reason = u32_at(12)? as usize;
    Some(DropEvent {
        ts_ns: u64_at(0)?,
        rule_id: u32_at(8)?,
        reason: STAT_NAMES.get(reason).unwrap_or(&"unknown").to_string(),
        addr: match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => std::net::IpAddr::V6(v6),
        },
        sport: u16_at(32)?,
        dport: u16_at(34)?,
        proto: *b.get(36)?,
        egress: *b.get(37)? != 0,
        len: u32_at(40)?,
    })
}
