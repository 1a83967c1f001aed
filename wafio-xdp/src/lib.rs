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
//! generation is wiped and the running set is untouched. IPv4 is stored as
//! IPv4-mapped IPv6; hosts (/32, /128) go in hashes, real prefixes in LPM
//! tries. Live entries ([`Firewall::block`], [`Firewall::allow`], optional
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
//! Lookups in empty maps are skipped (`settings.nonempty` bits), so unused
//! lists cost nothing per packet.
//!
//! # Measured (this development VM, 2 shared vCPUs, kernel 6.18; noisy)
//!
//! `benches/benches/xdp.rs` (BPF_PROG_TEST_RUN, kernel-measured mean of
//! 200 000 repeats, median of 5), ns per packet, block-list hit / miss:
//! 1 exact 81 / 67, 10k exact 83 / 73, 1M exact 82 / 69, 100k /24 prefixes
//! 152 / 74. Replacing a 100k-host rule set by another: 824 ms; 100k
//! prefixes: 933 ms (one `bpf()` call per entry; batch map operations would
//! cut this further). Filling 1M exact entries from empty: about 3.7 s.
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
//! * Not done yet: an nftables-vs-XDP flood comparison.
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
pub use sys::{ensure_bpffs, if_index, monotonic_ns};
