//! Loading the kernel programs, configuring their maps, reading the ring buffer.
//!
//! All `bpf(2)` work goes through [`Monitor`]. A program the kernel refuses
//! is recorded in [`Monitor::degraded`] with what is lost, and the others keep
//! running. Everything is detached when the `Monitor` is dropped.

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aya::maps::lpm_trie::{Key as LpmKey, LpmTrie};
use aya::maps::{Array, HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::{CgroupAttachMode, CgroupSockAddr, Lsm, RawTracePoint, TracePoint};
use aya::{Btf, Ebpf, EbpfLoader};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::Serialize;

use crate::event::{decode, kind, raw_kind, Event, PATH_LEN};
use crate::sys;
use crate::syscalls::COVERAGE;

/// The compiled kernel programs (built by `bpf/build.sh`, checked by `--check`).
static BPF_OBJECT: &[u8] = aya::include_bytes_aligned!("../bpf/runtime.bpf.o");

/// Maximum number of watched path prefixes (kernel `MAX_PREFIXES`).
pub const MAX_PREFIXES: usize = 16;
/// Maximum length of one watched prefix in bytes (kernel `PREFIX_LEN`).
pub const PREFIX_LEN: usize = 64;
/// Default ring buffer size (4 MiB).
pub const DEFAULT_RING_BYTES: u32 = 1 << 22;

// Kernel `struct config` flags.
const CFG_RELATIVE_PATHS: u32 = 1;
const CFG_READ_WATCH: u32 = 2;
const CFG_KILL_RULES: u32 = 4;
// Kernel watch flags.
const PREFIX_WRITE: u32 = 1;
const PREFIX_READ: u32 = 2;

/// Errors of the monitor.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The object could not be loaded (maps created, relocations applied).
    #[error("loading the eBPF object: {0}")]
    Load(#[source] aya::EbpfError),
    /// A map is missing or of the wrong type.
    #[error("eBPF map {name}: {source}")]
    Map {
        /// Map name.
        name: &'static str,
        /// Cause.
        #[source]
        source: aya::maps::MapError,
    },
    /// No core program could be attached: nothing would be observed.
    #[error("no program could be attached (first failure: {0})")]
    NothingAttached(String),
    /// A configuration value is out of range.
    #[error("invalid monitor configuration: {0}")]
    Config(String),
    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A program could not be loaded or attached.
    #[error("program {name}: {source}")]
    Program {
        /// Program name.
        name: String,
        /// Cause.
        #[source]
        source: aya::programs::ProgramError,
    },
}

/// A watched path prefix for the in-kernel file filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchPrefix {
    /// Absolute path prefix, at most [`PREFIX_LEN`] bytes (e.g. `/etc/`).
    pub prefix: String,
    /// Also report read-only opens under it (e.g. `/etc/shadow`).
    pub reads: bool,
}

impl WatchPrefix {
    /// A prefix reporting modifications only.
    pub fn writes(prefix: &str) -> Self {
        WatchPrefix {
            prefix: prefix.to_string(),
            reads: false,
        }
    }
    /// A prefix reporting modifications and reads.
    pub fn reads(prefix: &str) -> Self {
        WatchPrefix {
            prefix: prefix.to_string(),
            reads: true,
        }
    }
}

/// The default watched prefixes (system binaries, configuration, secrets).
pub fn default_watch() -> Vec<WatchPrefix> {
    let mut v: Vec<WatchPrefix> = [
        "/etc/",
        "/bin/",
        "/sbin/",
        "/usr/",
        "/lib/",
        "/lib64/",
        "/boot/",
        "/root/.ssh/",
    ]
    .iter()
    .map(|p| WatchPrefix::writes(p))
    .collect();
    v.push(WatchPrefix::reads("/etc/shadow"));
    v.push(WatchPrefix::reads("/etc/gshadow"));
    v.push(WatchPrefix::reads("/etc/sudoers"));
    v
}

/// Monitor settings. Defaults: 4 MiB ring buffer, [`default_watch`], no
/// relative paths, no cgroup hooks, LSM attempted.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Ring buffer bytes: a power of two, at least 4096.
    pub ring_bytes: u32,
    /// Watched file prefixes (at most [`MAX_PREFIXES`]).
    pub watch: Vec<WatchPrefix>,
    /// Also report write opens of relative paths (not prefix-filtered in the kernel).
    pub relative_paths: bool,
    /// cgroup v2 directory to attach the deny-connect hooks to (`None`: not attached).
    pub connect_cgroup: Option<PathBuf>,
    /// Try the BPF-LSM backend (refused on kernels without `lsm=bpf`).
    pub try_lsm: bool,
    /// Never report this process (the agent itself). Defaults to our pid.
    pub agent_pid: u32,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            ring_bytes: DEFAULT_RING_BYTES,
            watch: default_watch(),
            relative_paths: false,
            connect_cgroup: None,
            try_lsm: true,
            agent_pid: std::process::id(),
        }
    }
}

/// A program that could not be loaded or attached and what is lost because of it.
#[derive(Debug, Clone, Serialize)]
pub struct Degraded {
    /// Program name.
    pub program: String,
    /// What the monitor no longer sees or enforces.
    pub lost: String,
    /// The kernel's answer.
    pub error: String,
}

/// Events lost because the ring buffer was full, per event kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LostCounts {
    /// (kind name, count) for kinds with a nonzero count.
    pub by_kind: Vec<(&'static str, u64)>,
    /// Sum.
    pub total: u64,
}

/// Kernel run time of one of the monitor's programs (see
/// [`Monitor::program_stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramStats {
    /// Program name (as in `bpftool prog show`).
    pub name: String,
    /// Time spent in the program, counted only while run-time statistics
    /// are enabled (see [`enable_run_time_stats`]).
    pub run_time: Duration,
    /// Runs counted in the same periods.
    pub run_count: u64,
}

/// Turns on the kernel's per-program run-time statistics
/// (`BPF_ENABLE_STATS`) until the returned descriptor is closed. They cost
/// two clock reads per program run, so they are off unless asked for.
pub fn enable_run_time_stats() -> Result<std::os::fd::OwnedFd, MonitorError> {
    aya::sys::enable_stats(aya::sys::Stats::RunTime).map_err(|e| MonitorError::Io {
        what: format!("enabling BPF run-time statistics ({})", e.call),
        source: e.io_error,
    })
}

/// A kill rule: SIGKILL at exec entry (before the new image runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillRule {
    /// Rule id (reported in `killed` events, counted in rule hits).
    pub rule_id: u32,
    /// Exact comm (≤ 15 bytes) of the process calling exec; `None` = any.
    pub comm: Option<String>,
    /// Exact path as passed to exec; `None` = any.
    pub path: Option<String>,
}

/// A deny-connect rule: destination network and optional port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyConnectRule {
    /// Rule id.
    pub rule_id: u32,
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Port (`None`: any).
    pub port: Option<u16>,
}

/// (program, attach kind, what is lost when it is refused)
enum Hook {
    Raw(&'static str),
    Tp(&'static str),
}

const CORE_PROGRAMS: &[(&str, Hook, &str)] = &[
    ("wafio_exec", Hook::Raw("sched_process_exec"), "exec events"),
    (
        "wafio_fork",
        Hook::Raw("sched_process_fork"),
        "fork events (process tree from /proc only)",
    ),
    ("wafio_exit", Hook::Raw("sched_process_exit"), "exit events"),
    (
        "wafio_enter_execve",
        Hook::Tp("sys_enter_execve"),
        "kill rules on execve",
    ),
    (
        "wafio_enter_execveat",
        Hook::Tp("sys_enter_execveat"),
        "kill rules on execveat",
    ),
    ("wafio_accept", Hook::Tp("sys_exit_accept"), "accept events"),
    (
        "wafio_accept4",
        Hook::Tp("sys_exit_accept4"),
        "accept4 events",
    ),
];

/// The programs shared by the dispatched syscalls of [`COVERAGE`]:
/// `wafio_syscall1` ..= `wafio_syscall6`, by argument count.
const DISPATCH_PROGRAM: &str = "wafio_syscall";

/// Where tracefs lists the syscall tracepoints (mounted by `sys::ensure_tracefs`).
const SYSCALL_EVENTS: &str = "/sys/kernel/tracing/events/syscalls";

/// Programs named `wafio_<syscall>` attached to `syscalls/sys_enter_<syscall>`.
const SYSCALL_PROGRAMS: &[&str] = &["connect", "bind", "listen"];

/// The loaded, attached monitor.
pub struct Monitor {
    ebpf: Ebpf,
    ring: RingBuf<MapData>,
    degraded: Vec<Degraded>,
    attached: Vec<String>,
    absent: Vec<&'static str>,
    decode_errors: u64,
    agent_pid: u32,
    config_flags: u32,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("attached", &self.attached.len())
            .field("degraded", &self.degraded)
            .finish()
    }
}

fn map_err(name: &'static str) -> impl FnOnce(aya::maps::MapError) -> MonitorError {
    move |source| MonitorError::Map { name, source }
}

fn missing(name: &'static str) -> MonitorError {
    MonitorError::Map {
        name,
        source: aya::maps::MapError::InvalidName {
            name: name.to_string(),
        },
    }
}

impl Monitor {
    /// Load and attach everything. Needs root (CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN).
    pub fn start(config: &MonitorConfig) -> Result<Monitor, MonitorError> {
        if !config.ring_bytes.is_power_of_two() || config.ring_bytes < 4096 {
            return Err(MonitorError::Config(format!(
                "ring_bytes {} must be a power of two >= 4096",
                config.ring_bytes
            )));
        }
        if config.watch.len() > MAX_PREFIXES {
            return Err(MonitorError::Config(format!(
                "{} watched prefixes, at most {MAX_PREFIXES}",
                config.watch.len()
            )));
        }
        for w in &config.watch {
            if w.prefix.is_empty() || w.prefix.len() > PREFIX_LEN || !w.prefix.starts_with('/') {
                return Err(MonitorError::Config(format!(
                    "watched prefix {:?} must be absolute and 1..={PREFIX_LEN} bytes",
                    w.prefix
                )));
            }
        }
        sys::ensure_tracefs().map_err(|source| MonitorError::Io {
            what: "mounting tracefs on /sys/kernel/tracing".into(),
            source,
        })?;
        if let Err(e) = sys::ensure_bpffs() {
            // Nothing is pinned: bpffs is a convenience for inspection tools.
            log::warn!("bpffs not mounted on /sys/fs/bpf and mounting failed: {e}");
        }
        let mut ebpf = EbpfLoader::new()
            .map_max_entries("EVENTS", config.ring_bytes)
            .load(BPF_OBJECT)
            .map_err(MonitorError::Load)?;
        let ring_map = ebpf.take_map("EVENTS").ok_or_else(|| missing("EVENTS"))?;
        let ring = RingBuf::try_from(ring_map).map_err(map_err("EVENTS"))?;
        let mut m = Monitor {
            ebpf,
            ring,
            degraded: Vec::new(),
            attached: Vec::new(),
            absent: Vec::new(),
            decode_errors: 0,
            agent_pid: config.agent_pid,
            config_flags: 0,
        };
        m.write_config(config)?;
        for (name, hook, lost) in CORE_PROGRAMS {
            let r = match hook {
                Hook::Raw(tp) => m.attach_raw(name, tp),
                Hook::Tp(tp) => m.attach_tp(name, tp),
            };
            m.record(name, lost, r);
        }
        m.attach_dispatched();
        for sc in SYSCALL_PROGRAMS {
            let name = format!("wafio_{sc}");
            let r = m.attach_tp(&name, &format!("sys_enter_{sc}"));
            m.record(&name, &format!("{sc} events"), r);
        }
        if m.attached.is_empty() {
            let first = m
                .degraded
                .first()
                .map(|d| d.error.clone())
                .unwrap_or_default();
            return Err(MonitorError::NothingAttached(first));
        }
        if let Some(cg) = &config.connect_cgroup {
            m.attach_connect_hooks(cg)?;
        }
        if config.try_lsm {
            let r = m.attach_lsm();
            m.record(
                "wafio_lsm_bprm",
                "LSM deny of exec (kill rules still apply through SIGKILL at exec entry)",
                r,
            );
        }
        Ok(m)
    }

    fn record(&mut self, name: &str, lost: &str, r: Result<(), MonitorError>) {
        match r {
            Ok(()) => self.attached.push(name.to_string()),
            Err(e) => {
                let error = match &e {
                    MonitorError::Program { source, .. } => {
                        let mut s = source.to_string();
                        let mut src = std::error::Error::source(source);
                        while let Some(c) = src {
                            s.push_str(": ");
                            s.push_str(&c.to_string());
                            src = c.source();
                        }
                        s
                    }
                    other => other.to_string(),
                };
                log::warn!("{name} not attached ({error}); lost: {lost}");
                self.degraded.push(Degraded {
                    program: name.to_string(),
                    lost: lost.into(),
                    error,
                })
            }
        }
    }

    fn program_err(name: &str) -> impl FnOnce(aya::programs::ProgramError) -> MonitorError + '_ {
        move |source| MonitorError::Program {
            name: name.to_string(),
            source,
        }
    }

    fn attach_raw(&mut self, name: &str, tp: &str) -> Result<(), MonitorError> {
        let p: &mut RawTracePoint = self
            .ebpf
            .program_mut(name)
            .ok_or_else(|| MonitorError::Config(format!("program {name} missing from object")))?
            .try_into()
            .map_err(Self::program_err(name))?;
        p.load().map_err(Self::program_err(name))?;
        p.attach(tp).map_err(Self::program_err(name))?;
        Ok(())
    }

    /// Attach the dispatcher to the `sys_enter_<name>` tracepoint of every
    /// dispatched syscall: `wafio_syscall<N>` for a syscall of N arguments
    /// (read from the tracepoint's format), each program loaded once. A
    /// syscall this kernel is built without (no tracepoint: e.g. init_module
    /// without CONFIG_MODULES) is listed in [`Monitor::absent_syscalls`]; any
    /// other failure is degraded.
    fn attach_dispatched(&mut self) {
        let mut loaded = [false; 7];
        for s in COVERAGE.iter().filter(|s| s.desc.is_some()) {
            let tp = s.hook;
            let dir = Path::new(SYSCALL_EVENTS).join(tp);
            if !dir.exists() {
                log::info!(
                    "{}: no tracepoint {tp}, not a syscall of this kernel",
                    s.name
                );
                self.absent.push(s.name);
                continue;
            }
            let lost = format!("{} events", s.name);
            let format = match std::fs::read_to_string(dir.join("format")) {
                Ok(f) => f,
                Err(source) => {
                    let e = MonitorError::Io {
                        what: format!("reading {}/format", dir.display()),
                        source,
                    };
                    self.record(&format!("{DISPATCH_PROGRAM}:{tp}"), &lost, Err(e));
                    continue;
                }
            };
            let n = syscall_arg_count(&format);
            if !(1..=6).contains(&n) {
                let e = MonitorError::Config(format!(
                    "{}/format lists {n} syscall arguments, expected 1 to 6",
                    dir.display()
                ));
                self.record(&format!("{DISPATCH_PROGRAM}:{tp}"), &lost, Err(e));
                continue;
            }
            let name = format!("{DISPATCH_PROGRAM}{n}");
            let first = !loaded[n];
            loaded[n] = true;
            let r = self
                .ebpf
                .program_mut(&name)
                .ok_or_else(|| MonitorError::Config(format!("program {name} missing from object")))
                .and_then(|p| {
                    let p: &mut TracePoint = p.try_into().map_err(Self::program_err(&name))?;
                    if first {
                        p.load().map_err(Self::program_err(&name))?;
                    }
                    p.attach("syscalls", tp).map_err(Self::program_err(&name))?;
                    Ok(())
                });
            self.record(&format!("{name}:{tp}"), &lost, r);
        }
    }

    fn attach_tp(&mut self, name: &str, tp: &str) -> Result<(), MonitorError> {
        let p: &mut TracePoint = self
            .ebpf
            .program_mut(name)
            .ok_or_else(|| MonitorError::Config(format!("program {name} missing from object")))?
            .try_into()
            .map_err(Self::program_err(name))?;
        p.load().map_err(Self::program_err(name))?;
        p.attach("syscalls", tp).map_err(Self::program_err(name))?;
        Ok(())
    }

    fn attach_lsm(&mut self) -> Result<(), MonitorError> {
        let name = "wafio_lsm_bprm";
        let btf = Btf::from_sys_fs().map_err(|e| MonitorError::Io {
            what: "reading kernel BTF".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let p: &mut Lsm = self
            .ebpf
            .program_mut(name)
            .ok_or_else(|| MonitorError::Config(format!("program {name} missing from object")))?
            .try_into()
            .map_err(Self::program_err(name))?;
        p.load("bprm_check_security", &btf)
            .map_err(Self::program_err(name))?;
        p.attach().map_err(Self::program_err(name))?;
        Ok(())
    }

    /// Attach the deny-connect hooks (cgroup/connect4 and connect6) to a cgroup v2
    /// directory; rules in [`Monitor::add_deny_connect`] then apply to every
    /// process in that cgroup and its descendants.
    pub fn attach_connect_hooks(&mut self, cgroup: &Path) -> Result<(), MonitorError> {
        let f = File::open(cgroup).map_err(|source| MonitorError::Io {
            what: format!("opening cgroup {}", cgroup.display()),
            source,
        })?;
        for name in ["wafio_connect4", "wafio_connect6"] {
            let p: &mut CgroupSockAddr = self
                .ebpf
                .program_mut(name)
                .ok_or_else(|| MonitorError::Config(format!("program {name} missing")))?
                .try_into()
                .map_err(Self::program_err(name))?;
            p.load().map_err(Self::program_err(name))?;
            // A bpf_link (kernel >= 5.7) coexists with other programs on the
            // cgroup whatever the mode; link_create refuses the multi flag (EINVAL).
            p.attach(f.as_fd(), CgroupAttachMode::Single)
                .map_err(Self::program_err(name))?;
            self.attached.push(name.to_string());
        }
        Ok(())
    }

    /// Write the kernel `struct config` (agent pid, flags).
    fn write_config_map(&mut self) -> Result<(), MonitorError> {
        let mut cfg = [0u8; 8];
        cfg[0..4].copy_from_slice(&self.agent_pid.to_le_bytes());
        cfg[4..8].copy_from_slice(&self.config_flags.to_le_bytes());
        let mut a: Array<_, [u8; 8]> = Array::try_from(
            self.ebpf
                .map_mut("CONFIG")
                .ok_or_else(|| missing("CONFIG"))?,
        )
        .map_err(map_err("CONFIG"))?;
        a.set(0, cfg, 0).map_err(map_err("CONFIG"))
    }

    fn write_config(&mut self, config: &MonitorConfig) -> Result<(), MonitorError> {
        let mut sc: Array<_, [u8; 16]> = Array::try_from(
            self.ebpf
                .map_mut("SYSCALLS")
                .ok_or_else(|| missing("SYSCALLS"))?,
        )
        .map_err(map_err("SYSCALLS"))?;
        for s in COVERAGE {
            if let (Some(nr), Some(d)) = (s.nr, s.desc) {
                sc.set(nr, d.to_bytes(), 0).map_err(map_err("SYSCALLS"))?;
            }
        }
        let mut t: LpmTrie<_, [u8; PREFIX_LEN], u32> =
            LpmTrie::try_from(self.ebpf.map_mut("WATCH").ok_or_else(|| missing("WATCH"))?)
                .map_err(map_err("WATCH"))?;
        let entries = watch_entries(&config.watch);
        for &(prefix, flags) in &entries {
            let mut data = [0u8; PREFIX_LEN];
            data[..prefix.len()].copy_from_slice(prefix.as_bytes());
            let key = LpmKey::new(8 * prefix.len() as u32, data);
            t.insert(&key, flags, 0).map_err(map_err("WATCH"))?;
        }
        let mut h: Array<_, [u8; HEADS_SIZE]> =
            Array::try_from(self.ebpf.map_mut("HEADS").ok_or_else(|| missing("HEADS"))?)
                .map_err(map_err("HEADS"))?;
        h.set(0, heads(&entries), 0).map_err(map_err("HEADS"))?;
        self.config_flags = 0;
        if config.relative_paths {
            self.config_flags |= CFG_RELATIVE_PATHS;
        }
        if config.watch.iter().any(|w| w.reads) {
            self.config_flags |= CFG_READ_WATCH;
        }
        self.write_config_map()
    }

    /// Install a kill rule in the kernel (`KILL_EXEC` map, at most 1024 entries).
    pub fn add_kill_rule(&mut self, rule: &KillRule) -> Result<(), MonitorError> {
        let key = kill_key(rule)?;
        let mut m: BpfHashMap<_, [u8; 272], u32> = BpfHashMap::try_from(
            self.ebpf
                .map_mut("KILL_EXEC")
                .ok_or_else(|| missing("KILL_EXEC"))?,
        )
        .map_err(map_err("KILL_EXEC"))?;
        m.insert(key, rule.rule_id, 0)
            .map_err(map_err("KILL_EXEC"))?;
        // The exec hooks skip the map (and the path read) until a rule exists.
        if self.config_flags & CFG_KILL_RULES == 0 {
            self.config_flags |= CFG_KILL_RULES;
            self.write_config_map()?;
        }
        Ok(())
    }

    /// Install a deny-connect rule (effective once hooks are attached to a cgroup).
    pub fn add_deny_connect(&mut self, rule: &DenyConnectRule) -> Result<(), MonitorError> {
        let port = rule.port.unwrap_or(0).to_be_bytes();
        match rule.addr {
            IpAddr::V4(a) => {
                if rule.prefix_len > 32 {
                    return Err(MonitorError::Config(format!(
                        "prefix /{} > 32",
                        rule.prefix_len
                    )));
                }
                let mut d = [0u8; 8];
                d[0..2].copy_from_slice(&port);
                d[2..6].copy_from_slice(&a.octets());
                let mut t: LpmTrie<_, [u8; 8], u32> =
                    LpmTrie::try_from(self.ebpf.map_mut("DENY4").ok_or_else(|| missing("DENY4"))?)
                        .map_err(map_err("DENY4"))?;
                let key = LpmKey::new(16 + u32::from(rule.prefix_len), d);
                t.insert(&key, rule.rule_id, 0).map_err(map_err("DENY4"))
            }
            IpAddr::V6(a) => {
                if rule.prefix_len > 128 {
                    return Err(MonitorError::Config(format!(
                        "prefix /{} > 128",
                        rule.prefix_len
                    )));
                }
                let mut d = [0u8; 20];
                d[0..2].copy_from_slice(&port);
                d[2..18].copy_from_slice(&a.octets());
                let mut t: LpmTrie<_, [u8; 20], u32> =
                    LpmTrie::try_from(self.ebpf.map_mut("DENY6").ok_or_else(|| missing("DENY6"))?)
                        .map_err(map_err("DENY6"))?;
                let key = LpmKey::new(16 + u32::from(rule.prefix_len), d);
                t.insert(&key, rule.rule_id, 0).map_err(map_err("DENY6"))
            }
        }
    }

    /// Programs that could not be loaded or attached.
    pub fn degraded(&self) -> &[Degraded] {
        &self.degraded
    }

    /// Covered syscalls this kernel does not have (no `sys_enter_<name>`
    /// tracepoint, e.g. `init_module` on a kernel built without modules):
    /// there is nothing to observe, and nothing is attached for them.
    pub fn absent_syscalls(&self) -> &[&'static str] {
        &self.absent
    }

    /// Names of the attached programs.
    pub fn attached(&self) -> &[String] {
        &self.attached
    }

    /// Run time and run count of every loaded program so far (growing only
    /// while [`enable_run_time_stats`] holds statistics on). Programs whose
    /// information the kernel refuses are left out.
    pub fn program_stats(&self) -> Vec<ProgramStats> {
        self.ebpf
            .programs()
            .filter_map(|(name, p)| {
                let info = p.info().ok()?;
                Some(ProgramStats {
                    name: name.to_string(),
                    run_time: info.run_time(),
                    run_count: info.run_count(),
                })
            })
            .collect()
    }

    /// Records that could not be decoded so far.
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors
    }

    /// Wait up to `timeout` for events, then return everything available
    /// (at most `max` events; the rest stay queued for the next call).
    pub fn poll(&mut self, timeout: Duration, max: usize) -> Result<Vec<Event>, MonitorError> {
        let mut out = Vec::new();
        self.drain(&mut out, max);
        if out.is_empty() {
            let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.ring.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    return Err(MonitorError::Io {
                        what: "poll(ring buffer)".into(),
                        source: e.into(),
                    })
                }
            }
            self.drain(&mut out, max);
        }
        Ok(out)
    }

    fn drain(&mut self, out: &mut Vec<Event>, max: usize) {
        while out.len() < max {
            let Some(item) = self.ring.next() else { break };
            match decode(&item) {
                Ok(e) => out.push(e),
                Err(e) => {
                    self.decode_errors += 1;
                    log::debug!("undecodable record: {e}");
                }
            }
        }
    }

    /// Raw records (for the benchmark: count without decoding).
    pub fn drain_count(&mut self) -> u64 {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            if raw_kind(&item) != 0 {
                n += 1;
            }
        }
        n
    }

    /// Lost events (ring buffer full), summed over CPUs.
    pub fn lost(&self) -> Result<LostCounts, MonitorError> {
        let m = self.ebpf.map("LOST").ok_or_else(|| missing("LOST"))?;
        let a: PerCpuArray<_, u64> = PerCpuArray::try_from(m).map_err(map_err("LOST"))?;
        let mut out = LostCounts::default();
        for k in 1..kind::MAX {
            let v = a.get(&k, 0).map_err(map_err("LOST"))?;
            let n: u64 = v.iter().sum();
            if n > 0 {
                out.by_kind.push((kind::name(k), n));
                out.total += n;
            }
        }
        Ok(out)
    }

    /// How many times the kernel enforced rule `rule_id` (kill, deny-connect, LSM deny).
    pub fn rule_hits(&self, rule_id: u32) -> Result<u64, MonitorError> {
        let m = self
            .ebpf
            .map("RULE_HITS")
            .ok_or_else(|| missing("RULE_HITS"))?;
        let a: PerCpuArray<_, u64> = PerCpuArray::try_from(m).map_err(map_err("RULE_HITS"))?;
        let v = a.get(&(rule_id % 256), 0).map_err(map_err("RULE_HITS"))?;
        Ok(v.iter().sum())
    }
}

/// The number of syscall arguments a `syscalls/sys_enter_*` tracepoint
/// records: its fields after `__syscall_nr` (tracefs `format` file).
fn syscall_arg_count(format: &str) -> usize {
    format
        .lines()
        .filter_map(|l| l.trim().strip_prefix("field:"))
        .skip_while(|f| !f.contains("__syscall_nr"))
        .skip(1)
        .count()
}

/// The WATCH trie entries: each distinct prefix with the OR of the flags of
/// every watched prefix that is a prefix of it, so that the kernel's longest
/// match carries the flags of all the prefixes a path has.
/// Byte offsets in the kernel `struct heads`: the 8-byte heads, then
/// their masks, their flags and the count; and its size.
const HEADS_MASKS: usize = 8 * MAX_PREFIXES;
const HEADS_FLAGS: usize = 16 * MAX_PREFIXES;
const HEADS_COUNT: usize = 20 * MAX_PREFIXES;
const HEADS_SIZE: usize = HEADS_COUNT + 8;

/// The kernel `struct heads` of the watch entries: per prefix its first 8
/// bytes (as a little-endian word, zero-padded), the mask of those of its
/// bytes, its flags; then the count.
fn heads(entries: &[(&str, u32)]) -> [u8; HEADS_SIZE] {
    let mut out = [0u8; HEADS_SIZE];
    // The WATCH trie holds as many prefixes (the config is checked, and an
    // insert beyond them fails first).
    let n = entries.len().min(MAX_PREFIXES);
    for (i, (prefix, flags)) in entries.iter().take(n).enumerate() {
        let k = prefix.len().min(8);
        let mut head = [0u8; 8];
        head[..k].copy_from_slice(&prefix.as_bytes()[..k]);
        let mask = if k == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * k)) - 1
        };
        out[8 * i..8 * i + 8].copy_from_slice(&head);
        let m = HEADS_MASKS + 8 * i;
        out[m..m + 8].copy_from_slice(&mask.to_le_bytes());
        let f = HEADS_FLAGS + 4 * i;
        out[f..f + 4].copy_from_slice(&flags.to_le_bytes());
    }
    out[HEADS_COUNT..HEADS_COUNT + 4].copy_from_slice(&(n as u32).to_le_bytes());
    out
}

fn watch_entries(watch: &[WatchPrefix]) -> Vec<(&str, u32)> {
    let flags = |w: &WatchPrefix| {
        if w.reads {
            PREFIX_WRITE | PREFIX_READ
        } else {
            PREFIX_WRITE
        }
    };
    let mut out: Vec<(&str, u32)> = Vec::new();
    for w in watch {
        if out.iter().any(|(p, _)| *p == w.prefix) {
            continue;
        }
        let f = watch
            .iter()
            .filter(|o| w.prefix.starts_with(o.prefix.as_str()))
            .fold(0, |acc, o| acc | flags(o));
        out.push((w.prefix.as_str(), f));
    }
    out
}

fn kill_key(rule: &KillRule) -> Result<[u8; 272], MonitorError> {
    let mut key = [0u8; 272];
    if let Some(c) = &rule.comm {
        if c.is_empty() || c.len() > 15 {
            return Err(MonitorError::Config(format!(
                "kill rule {}: comm {c:?} must be 1..=15 bytes",
                rule.rule_id
            )));
        }
        key[..c.len()].copy_from_slice(c.as_bytes());
    }
    if let Some(p) = &rule.path {
        if p.is_empty() || p.len() >= PATH_LEN {
            return Err(MonitorError::Config(format!(
                "kill rule {}: path must be 1..{PATH_LEN} bytes",
                rule.rule_id
            )));
        }
        key[16..16 + p.len()].copy_from_slice(p.as_bytes());
    }
    if rule.comm.is_none() && rule.path.is_none() {
        return Err(MonitorError::Config(format!(
            "kill rule {} needs a comm or a path",
            rule.rule_id
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_key_layout_and_validation() {
        let k = kill_key(&KillRule {
            rule_id: 1,
            comm: Some("nginx".into()),
            path: Some("/bin/sh".into()),
        })
        .unwrap();
        assert_eq!(&k[..6], b"nginx\0");
        assert_eq!(&k[16..24], b"/bin/sh\0");
        assert!(kill_key(&KillRule {
            rule_id: 2,
            comm: None,
            path: None
        })
        .is_err());
        assert!(kill_key(&KillRule {
            rule_id: 3,
            comm: Some("x".repeat(16)),
            path: None
        })
        .is_err());
    }

    #[test]
    fn syscall_arg_count_reads_the_tracepoint_format() {
        let openat = "name: sys_enter_openat\nID: 782\nformat:\n\
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
            \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
            \tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
            \tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
            \tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
            \tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n\
            \tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\n\
            print fmt: \"dfd: 0x%08lx\"\n";
        assert_eq!(syscall_arg_count(openat), 4);
        assert_eq!(syscall_arg_count("garbage"), 0);
    }

    #[test]
    fn heads_hold_the_first_bytes_masks_flags_and_count() {
        let h = heads(&[("/etc/shadow", 3), ("/tmp/", 1)]);
        let word = |at: usize| u64::from_le_bytes(h[at..at + 8].try_into().unwrap());
        // "/etc/sha" whole; "/tmp/" in its 5 low bytes.
        assert_eq!(word(0), u64::from_le_bytes(*b"/etc/sha"));
        assert_eq!(word(8), u64::from_le_bytes(*b"/tmp/\0\0\0"));
        assert_eq!(word(HEADS_MASKS), u64::MAX);
        assert_eq!(word(HEADS_MASKS + 8), 0xff_ffff_ffff);
        assert_eq!(&h[HEADS_FLAGS..HEADS_FLAGS + 8], &[3, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&h[HEADS_COUNT..HEADS_COUNT + 4], &[2, 0, 0, 0]);
        // What the kernel compares: a path under a prefix matches its head,
        // a path merely sharing a shorter start does not.
        let matches = |path: &[u8; 8], i: usize| {
            let head = u64::from_le_bytes(*path);
            head & word(HEADS_MASKS + 8 * i) == word(8 * i)
        };
        assert!(matches(b"/etc/sha", 0));
        assert!(!matches(b"/etc/pas", 0));
        assert!(matches(b"/tmp/x\0?", 1));
        assert!(!matches(b"/tmp\0???", 1));
    }

    #[test]
    fn watch_entries_carry_the_flags_of_their_own_prefixes() {
        let w = vec![
            WatchPrefix::writes("/etc/"),
            WatchPrefix::reads("/etc/shadow"),
            WatchPrefix::writes("/etc/"),
            WatchPrefix::reads("/root/"),
            WatchPrefix::writes("/root/.ssh/"),
            WatchPrefix::writes("/usr/"),
        ];
        assert_eq!(
            watch_entries(&w),
            vec![
                ("/etc/", PREFIX_WRITE),
                ("/etc/shadow", PREFIX_WRITE | PREFIX_READ),
                ("/root/", PREFIX_WRITE | PREFIX_READ),
                // Reads under /root/ are watched, so under /root/.ssh/ too.
                ("/root/.ssh/", PREFIX_WRITE | PREFIX_READ),
                ("/usr/", PREFIX_WRITE),
            ]
        );
    }

    #[test]
    fn default_watch_fits_the_kernel_table() {
        let w = default_watch();
        assert!(w.len() <= MAX_PREFIXES);
        assert!(w
            .iter()
            .all(|p| p.prefix.len() <= PREFIX_LEN && p.prefix.starts_with('/')));
    }
}
