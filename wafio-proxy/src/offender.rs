//! Repeat offenders: clients blocked `max_blocks` times within `window_secs`
//! are handed to an [`OffenderSink`], by default the XDP firewall's block
//! list (with a TTL), so their packets are dropped before they reach the
//! proxy.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;
use serde::{Deserialize, Serialize};

use crate::config::WafError;

/// Where repeat offenders are sent.
///
/// The proxy calls [`OffenderSink::block`] on a blocking thread, never on
/// the request path, once per client each time it reaches the configured
/// count of blocks in the window.
pub trait OffenderSink: Send + Sync + 'static {
    /// A short name for the audit log (`xdp`, `memory`, …).
    fn name(&self) -> &str;
    /// Blocks `client` for `ttl`.
    fn block(&self, client: IpAddr, ttl: Duration) -> Result<(), String>;
}

/// The `[offenders]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OffenderConfig {
    /// Count blocks per client (default off).
    pub enabled: bool,
    /// Counting window in seconds (default 60).
    pub window_secs: u64,
    /// Blocks within the window that make a client an offender (default 10).
    pub max_blocks: u32,
    /// How long the sink blocks an offender, in seconds (default 600).
    pub ttl_secs: u64,
    /// Most clients counted at once (default 100 000; the least recently
    /// blocked is forgotten first).
    pub max_clients: usize,
    /// Interface of a running `wafio xdp` firewall whose block list gets
    /// the offenders (through its pinned maps). Without it offenders are
    /// only audited and counted.
    pub xdp_iface: Option<String>,
    /// Where bpffs is mounted (default `/sys/fs/bpf`).
    pub bpffs: PathBuf,
    /// Count rate-limited requests (429) as blocks too (default off: only
    /// requests and responses the WAF blocks count).
    pub count_rate_limited: bool,
}

impl Default for OffenderConfig {
    fn default() -> Self {
        OffenderConfig {
            enabled: false,
            window_secs: 60,
            max_blocks: 10,
            ttl_secs: 600,
            max_clients: 100_000,
            xdp_iface: None,
            bpffs: PathBuf::from("/sys/fs/bpf"),
            count_rate_limited: false,
        }
    }
}

impl OffenderConfig {
    pub(crate) fn validate(&self) -> Result<(), WafError> {
        let bad = |key: &str, reason: String| WafError::Invalid {
            key: format!("offenders.{key}"),
            reason,
        };
        if !(1..=86_400).contains(&self.window_secs) {
            return Err(bad(
                "window_secs",
                format!("{} is not in 1-86400", self.window_secs),
            ));
        }
        if self.max_blocks == 0 {
            return Err(bad("max_blocks", "must be at least 1".into()));
        }
        if !(1..=30 * 86_400).contains(&self.ttl_secs) {
            return Err(bad(
                "ttl_secs",
                format!("{} is not in 1-2592000 (30 days)", self.ttl_secs),
            ));
        }
        if !(1..=100_000_000).contains(&self.max_clients) {
            return Err(bad(
                "max_clients",
                format!("{} is not in 1-100000000", self.max_clients),
            ));
        }
        if let Some(iface) = &self.xdp_iface {
            // Linux IFNAMSIZ is 16 with the NUL; no path separators.
            if iface.is_empty()
                || iface.len() > 15
                || iface.contains(['/', '\0'])
                || iface == "."
                || iface == ".."
                || iface.chars().any(char::is_whitespace)
            {
                return Err(bad(
                    "xdp_iface",
                    format!("{iface:?} is not an interface name"),
                ));
            }
            if !cfg!(feature = "xdp") {
                return Err(bad(
                    "xdp_iface",
                    "this build has no XDP support (cargo feature `xdp`)".into(),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs)
    }
}

#[derive(Clone, Copy, Debug)]
struct Count {
    start: Instant,
    n: u32,
}

const SHARDS: usize = 16;

/// Blocks per client in a fixed window, in a bounded sharded LRU table.
pub(crate) struct OffenderTracker {
    window: Duration,
    max_blocks: u32,
    hasher: std::collections::hash_map::RandomState,
    shards: Box<[Mutex<LruCache<IpAddr, Count, std::collections::hash_map::RandomState>>]>,
}

impl std::fmt::Debug for OffenderTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffenderTracker")
            .field("window", &self.window)
            .field("max_blocks", &self.max_blocks)
            .finish_non_exhaustive()
    }
}

impl OffenderTracker {
    pub(crate) fn new(window: Duration, max_blocks: u32, max_clients: usize) -> OffenderTracker {
        let per_shard =
            NonZeroUsize::new(max_clients.div_ceil(SHARDS).max(1)).unwrap_or(NonZeroUsize::MIN);
        OffenderTracker {
            window,
            max_blocks: max_blocks.max(1),
            hasher: std::collections::hash_map::RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(LruCache::with_hasher(
                        per_shard,
                        std::collections::hash_map::RandomState::new(),
                    ))
                })
                .collect(),
        }
    }

    /// Counts one block of `client` at `now`. Returns the count when it
    /// reaches `max_blocks` (then the count starts again, so a client that
    /// keeps offending is reported once per `max_blocks` blocks).
    pub(crate) fn record(&self, client: IpAddr, now: Instant) -> Option<u32> {
        let client = client.to_canonical();
        let shard = (self.hasher.hash_one(client) as usize) % SHARDS;
        let mut table = self.shards[shard].lock().unwrap_or_else(|e| e.into_inner());
        let c = table.get_or_insert_mut(client, || Count { start: now, n: 0 });
        if now.saturating_duration_since(c.start) >= self.window {
            *c = Count { start: now, n: 0 };
        }
        c.n += 1;
        if c.n >= self.max_blocks {
            let n = c.n;
            *c = Count { start: now, n: 0 };
            Some(n)
        } else {
            None
        }
    }
}

/// An [`OffenderSink`] that adds offenders to the block list of the XDP
/// firewall attached to an interface by another process (`wafio xdp attach`),
/// through its pinned maps, as `wafio xdp block ADDR --ttl` does.
///
/// The firewall is opened on first use and reopened when its pins go (a
/// detach, then a new attach). When none is attached, the first attempt
/// prints one warning on stderr and each attempt returns an error (which the
/// proxy audits); the proxy keeps serving.
#[cfg(feature = "xdp")]
pub struct XdpOffenderSink {
    iface: String,
    opts: wafio_xdp::FirewallOptions,
    fw: Mutex<Option<wafio_xdp::Firewall>>,
    warned: std::sync::atomic::AtomicBool,
}

#[cfg(feature = "xdp")]
impl std::fmt::Debug for XdpOffenderSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdpOffenderSink")
            .field("iface", &self.iface)
            .field("bpffs", &self.opts.bpffs)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "xdp")]
impl XdpOffenderSink {
    /// A sink for the firewall of `iface` pinned under `bpffs`. Nothing is
    /// opened yet.
    pub fn new(iface: &str, bpffs: PathBuf) -> XdpOffenderSink {
        XdpOffenderSink {
            iface: iface.to_string(),
            opts: wafio_xdp::FirewallOptions {
                bpffs,
                ..wafio_xdp::FirewallOptions::default()
            },
            fw: Mutex::new(None),
            warned: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

#[cfg(feature = "xdp")]
impl OffenderSink for XdpOffenderSink {
    fn name(&self) -> &str {
        "xdp"
    }

    fn block(&self, client: IpAddr, ttl: Duration) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        let client = client.to_canonical();
        let len = if client.is_ipv4() { 32 } else { 128 };
        let cidr = wafio_xdp::Cidr::new(client, len).map_err(|e| e.to_string())?;
        let pinned = wafio_xdp::pin_dir(&self.opts.bpffs, &self.iface).join("active_gen");
        let mut fw = self.fw.lock().unwrap_or_else(|e| e.into_inner());
        if !pinned.exists() {
            // Detached since we opened it: its maps are orphans now.
            *fw = None;
        }
        if fw.is_none() {
            // Checked here rather than left to `Firewall::open`, which
            // mounts bpffs where it is missing: a proxy only looks.
            let opened = if pinned.exists() {
                wafio_xdp::Firewall::open(&self.iface, &self.opts)
            } else {
                Err(wafio_xdp::Error::NotAttached {
                    iface: self.iface.clone(),
                    dir: wafio_xdp::pin_dir(&self.opts.bpffs, &self.iface),
                })
            };
            match opened {
                Ok(f) => {
                    *fw = Some(f);
                    self.warned.store(false, Ordering::Relaxed);
                }
                Err(e) => {
                    if !self.warned.swap(true, Ordering::Relaxed) {
                        eprintln!(
                            "wafio-proxy: warning: cannot push repeat offenders to XDP: {e}; \
                             they are audited but not dropped (start `wafio xdp attach {}`)",
                            self.iface
                        );
                    }
                    return Err(e.to_string());
                }
            }
        }
        let Some(f) = fw.as_mut() else {
            return Err("XDP firewall not open".into());
        };
        f.block(cidr, Some(ttl)).map_err(|e| {
            // Reopen next time: the maps may have gone with a detach.
            *fw = None;
            e.to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_the_window() {
        let t = OffenderTracker::new(Duration::from_secs(10), 3, 100);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!(t.record(a, t0), None);
        assert_eq!(t.record(a, t0 + Duration::from_secs(1)), None);
        assert_eq!(t.record(b, t0), None);
        assert_eq!(t.record(a, t0 + Duration::from_secs(2)), Some(3));
        // Counting starts again after a report.
        assert_eq!(t.record(a, t0 + Duration::from_secs(3)), None);
        // Blocks spread over more than the window do not add up.
        let t = OffenderTracker::new(Duration::from_secs(10), 3, 100);
        assert_eq!(t.record(a, t0), None);
        assert_eq!(t.record(a, t0 + Duration::from_secs(5)), None);
        assert_eq!(t.record(a, t0 + Duration::from_secs(11)), None);
        assert_eq!(t.record(a, t0 + Duration::from_secs(12)), None);
        assert_eq!(t.record(a, t0 + Duration::from_secs(13)), Some(3));
        // The IPv4-mapped form is the same client.
        let t = OffenderTracker::new(Duration::from_secs(10), 2, 100);
        assert_eq!(t.record(a, t0), None);
        assert_eq!(t.record("::ffff:192.0.2.1".parse().unwrap(), t0), Some(2));
    }

    #[test]
    fn bad_values_are_named() {
        let mut c = OffenderConfig {
            window_secs: 0,
            ..OffenderConfig::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("offenders.window_secs"));
        c.window_secs = 60;
        c.max_blocks = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("offenders.max_blocks"));
        c.max_blocks = 5;
        c.ttl_secs = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("offenders.ttl_secs"));
        c.ttl_secs = 60;
        c.xdp_iface = Some("../etc".into());
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("offenders.xdp_iface"));
        c.xdp_iface = Some("eth0".into());
        assert_eq!(c.validate().is_ok(), cfg!(feature = "xdp"));
    }

    #[cfg(feature = "xdp")]
    #[test]
    fn xdp_sink_without_a_firewall_errors_and_keeps_going() {
        let dir = std::env::temp_dir().join(format!("wafio-offender-bpffs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sink = XdpOffenderSink::new("wafio-none0", dir.clone());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        // Not a bpffs and nothing pinned: an error every time, never a panic.
        assert!(sink.block(ip, Duration::from_secs(5)).is_err());
        assert!(sink.block(ip, Duration::from_secs(5)).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
