//! WAFio's L3/L4 firewall: an XDP ingress filter and a TC egress filter
//! (C, `bpf/wafio_fw.bpf.c`, compiled object committed) driven from Rust
//! through aya 0.14.
//!
//! ```no_run
//! use wafio_xdp::{AttachMode, Firewall, FirewallOptions, RuleSet};
//! # fn main() -> Result<(), wafio_xdp::Error> {
//! let opts = FirewallOptions::default();
//! let mut fw = Firewall::attach("eth0", AttachMode::Generic, &opts)?;
//! fw.apply(&RuleSet::load("rules.toml".as_ref())?)?;
//! fw.block("192.0.2.0/24".parse()?, Some(wafio_xdp::parse_ttl("10m")?))?;
//! // Any other process: Firewall::open("eth0", &opts)?.stats()?
//! # Ok(()) }
//! ```
//!
//! # Packet path (ingress, XDP)
//!
//! Ethernet with up to two VLAN tags (802.1Q/802.1ad), IPv4 (options,
//! fragments), IPv6 (up to 6 extension headers: hop-by-hop, routing,
//! destination options, fragment, AH), TCP, UDP, ICMP/ICMPv6. First match
//! wins:
//!
//! | step | verdict | counter |
//! |------|---------|---------|
//! | truncated/malformed header (short Ethernet/IP/L4 header, IHL < 5, wrong IP version, more than 2 VLAN tags, IPv6 extension chain longer than 6) | DROP | `malformed` |
//! | not IPv4/IPv6 (ARP, LLDP...) | PASS | `non_ip` |
//! | source in allow list (hash of hosts, LPM trie of prefixes) | PASS | `allow` + rule |
//! | source in block list | DROP | `block` + rule |
//! | port rule for (protocol, destination port) or (protocol, any port), optional source group, action drop | DROP | `port_drop` + rule |
//! | same, action allow | continue | `port_allow` + rule |
//! | protocol class listed in `restrict` and no port rule opened it | DROP | `port_closed` + rule `closed-port` |
//! | per-source token bucket (packets/s, bytes/s, bursts; GCRA in an LRU hash) | DROP | `rate_pps`/`rate_bps` + rule `rate-limit` |
//! | otherwise | PASS | `pass` |
//!
//! Non-first fragments carry no L4 header: they go through the address
//! lists and the rate limiter, skip port rules and are counted as
//! `fragment` (the first fragment was judged by the port rules).
//! `port_allow` and `fragment` mark a step: those packets end in `pass` or a
//! rate-limit drop, so every packet moves exactly one terminal counter. ICMP port
//! rules match any type. Expired entries are ignored by the program and
//! counted as `expired_entry`.
//!
//! Egress (TC classifier, TCX link): destination in the egress block list or
//! TCP/UDP destination port blocked → `TC_ACT_SHOT` (`egress_block` + rule),
//! else `TC_ACT_OK`. Frames it cannot parse are passed (`egress_unparsed`):
//! they are this host's own traffic.
//!
//! # Rule sets and swaps
//!
//! A [`RuleSet`] (TOML or JSON, see `testdata/rules-basic.toml`) is compiled
//! ([`compile()`]) into map entries. Every key carries a generation (0/1):
//! [`Firewall::apply`] fills the inactive generation, flips `active_gen`
//! (one 4-byte write), then deletes the old entries — no program is ever
//! reattached and no packet sees a half-written set. On any error the new
//! generation is wiped and the running set is untouched. IPv4 is handled as
//! IPv4-mapped IPv6; real prefixes go in LPM tries, hosts (/32, /128) in
//! hashes: IPv4 (and IPv4-mapped IPv6) hosts in `*_exact4` (8-byte keys),
//! other IPv6 hosts in `*_exact` (20-byte keys). Live entries ([`Firewall::block`], [`Firewall::allow`], optional
//! TTL stored in the value) are carried across applies until they expire;
//! [`Firewall::sweep_expired`] frees expired slots. Per-rule counters
//! restart at each apply; global counters count since load.
//!
//! # ASN and country rules
//!
//! `allow`/`block` rules may list `asns` and `countries` (ISO 3166-1
//! alpha-2, case-insensitive). They expand, when the rule set is applied,
//! through either an ip2asn-style TSV (`asn_db`, both kinds) or MaxMind-format
//! databases ([`geo`]): `country_mmdb` (GeoLite2/GeoIP2-Country or -City,
//! DB-IP, ipinfo) and `asn_mmdb` (GeoLite2-ASN, GeoIP2-ISP, DB-IP, ipinfo).
//! Relative paths are taken from the rule file's directory. The networks
//! found are merged into the fewest prefixes ([`collapse_prefixes`]).
//! A missing or corrupt file, a database of the wrong kind, a code that is
//! not an assigned ISO code (checked with MaxMind databases; TSV files may
//! use codes such as `ZZ`), or a country/AS with no network in the database
//! is an error naming the file, the rule and the key; the running set stays.
//! Tests build small databases with `geo::testdb` (cargo feature
//! `mmdb-writer`).
//!
//! ```toml
//! country_mmdb = "GeoLite2-Country.mmdb"
//! asn_mmdb = "GeoLite2-ASN.mmdb"
//! [[block]]
//! name = "geo"
//! countries = ["kp", "IR"]
//! asns = [64500]
//! ```
//!
//! [`geo::GeoDb`] also answers per-address lookups (country, AS number and
//! organisation) for request-level GeoIP/ASN blocking.
//!
//! Pins: `/sys/fs/bpf/wafio/<iface>/` holds every map and the two links
//! (`link_xdp`, `link_tc`), so `wafio xdp ...` manages a firewall from any
//! process ([`Firewall::open`]). bpffs is mounted when missing.
//!
//! Per-packet cost: lookups in empty maps are skipped (`settings.nonempty`
//! bits), so unused lists cost nothing; the clock (`bpf_ktime_get_ns`, about
//! 37 ns here) is read only when a matched entry has a TTL or rate limiting
//! is on; a blocked IPv4 host costs one 8-byte-key hash lookup and two
//! per-CPU counter updates after the header parse.
//!
//! # Measured (this development VM, 2 shared vCPUs, kernel 6.18; noisy)
//!
//! `benches/benches/xdp.rs`, ranges over 8 runs while other builds shared
//! the machine:
//!
//! * BPF_PROG_TEST_RUN (kernel-measured mean of 200 000 repeats, median of
//!   5), ns per packet, block-list hit / miss: 1 exact 69–100 / 61–96, 10k
//!   exact 68–98 / 63–93, 1M exact 69–98 / 64–98, 100k /24 prefixes
//!   106–227 / 56–94.
//! * Rule sets are written, read back and wiped with batch map calls
//!   (8,192 entries per `bpf()` call; one call per entry on kernels
//!   without them). Replacing a 100k-host rule set by another: 282–306 ms;
//!   100k prefixes: 374–395 ms (one call per entry: 618–1300 and 981–1530
//!   ms). Filling 1M exact entries from empty: 1.6 s (3.3–6 s before).
//! * XDP versus an nftables `netdev` ingress drop rule, same veth, same
//!   10k-address block set, softirq CPU ns per dropped packet. Live frames
//!   (BPF_PROG_TEST_RUN with `BPF_F_TEST_XDP_LIVE_FRAMES` redirected into
//!   the veth, 3 × 10M frames per run; no skb before the filter, as from a
//!   NIC driver): wafio 128–181 ns, a bare `return XDP_DROP` program 85–120
//!   ns, nftables 542–707 ns; wafio drops 3.90–4.87× (median 4.1×) as many
//!   packets per softirq CPU-second as nftables. UDP-socket flood (`send(2)`
//!   from a namespace): about even (0.8–1.3×), veth builds an skb per packet
//!   before XDP runs.
//!
//! # Limits
//!
//! * 4092 rules per rule set; map capacities in [`FirewallOptions`] (a full
//!   map is an error naming it, the running set stays).
//! * The token buckets are updated without locks: under a flood from one
//!   source hitting several CPUs at once they can admit slightly more than
//!   the configured rate. Rate limiting is per source address (IPv6 too,
//!   not per /64).
//! * One rule's `asns` and `countries` may expand to at most
//!   [`MAX_EXPANDED_PREFIXES`] prefixes (after collapsing); every listed
//!   ASN and country must match at least one network.
//! * The egress program needs TCX (Linux 6.6+) so its link can be pinned.
//! * Rule-set changes from several processes are serialised with an
//!   `flock` on the pin directory.
//! * Sampled drop events are read with [`Firewall::drain_events`] (also on
//!   a firewall opened from pins; `wafio xdp events`). One reader at a time.
//! * XDP's gain over nftables needs frames that reach it without an skb
//!   (native XDP on a NIC, or veth fed by XDP redirects); on a veth fed by
//!   sockets it is not ahead (see Measured).
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod asn;
mod compile;
mod error;
mod firewall;
pub mod geo;
mod maps;
mod rules;
mod sys;

pub use asn::{collapse_prefixes, range_to_cidrs, AsnDb};
pub use compile::{
    builtin_rules, compile, Compiled, PortEntry, RuleInfo, RuleKind, Settings, FIRST_RULE,
    MAX_EXPANDED_PREFIXES, MAX_RULES, RULE_CLOSED, RULE_LIVE_ALLOW, RULE_LIVE_BLOCK, RULE_RATE,
};
pub use error::Error;
pub use firewall::{
    pin_dir, verdict, ApplyReport, AttachMode, Count, DropEvent, Entry, Firewall, FirewallOptions,
    List, RuleStats, Stats, Status, STAT_NAMES,
};
pub use geo::{AsnInfo, CountryCode, GeoDb, GeoSources};
pub use rules::{
    parse_ttl, to_mapped, Action, AddrRule, Cidr, EgressRule, PortRule, ProtoClass, Protocol,
    RateLimit, RuleSet,
};
pub use sys::{ensure_bpffs, if_index, monotonic_ns, use_batch_calls};
