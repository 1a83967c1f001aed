//! `wafio xdp ...`: manage the L3/L4 eBPF firewall of `wafio-xdp`.
//!
//! Every command but `attach` works on the firewall pinned in bpffs
//! (`/sys/fs/bpf/wafio/<iface>/`), so they can run from any process while the
//! firewall keeps filtering. Argument parsing and printing only: the logic
//! lives in `wafio_xdp`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use wafio_xdp::{AttachMode, Cidr, Firewall, FirewallOptions, List, RuleSet};

/// Options shared by every `wafio xdp` command.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Network interface the firewall is attached to.
    #[arg(long, short = 'i')]
    pub iface: String,
    /// bpffs mount point (mounted there when missing).
    #[arg(long, default_value = "/sys/fs/bpf")]
    pub bpffs: PathBuf,
}

/// `wafio xdp` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum XdpCommand {
    /// Load the firewall, pin it and attach it to an interface (XDP ingress
    /// and TC egress), starting with an empty rule set (everything passes).
    Attach {
        #[command(flatten)]
        target: Target,
        /// XDP mode: native (driver), generic (skb) or auto.
        #[arg(long, default_value = "auto")]
        mode: AttachMode,
        /// Capacity of each exact-address map (shared by two generations).
        #[arg(long, default_value_t = 262_144)]
        exact_capacity: u32,
        /// Capacity of each prefix (LPM) map.
        #[arg(long, default_value_t = 262_144)]
        prefix_capacity: u32,
    },
    /// Detach the firewall and remove its pins.
    Detach {
        #[command(flatten)]
        target: Target,
    },
    /// Replace the whole rule set atomically with a TOML or JSON file.
    Apply {
        #[command(flatten)]
        target: Target,
        /// Rule file (.toml or .json).
        file: PathBuf,
    },
    /// Block a source address or prefix now.
    Block {
        #[command(flatten)]
        target: Target,
        /// Address or CIDR.
        cidr: String,
        /// Lifetime, e.g. 90s, 10m, 1h30m, 2d (default: until removed).
        #[arg(long)]
        ttl: Option<String>,
    },
    /// Allow a source address or prefix now (checked before blocks).
    Allow {
        #[command(flatten)]
        target: Target,
        /// Address or CIDR.
        cidr: String,
        /// Lifetime (default: until removed).
        #[arg(long)]
        ttl: Option<String>,
    },
    /// Remove a source address or prefix from the block list.
    Unblock {
        #[command(flatten)]
        target: Target,
        /// Address or CIDR, exactly as listed.
        cidr: String,
    },
    /// Remove a source address or prefix from the allow list.
    Unallow {
        #[command(flatten)]
        target: Target,
        /// Address or CIDR, exactly as listed.
        cidr: String,
    },
    /// List the address entries of the running rule set.
    List {
        #[command(flatten)]
        target: Target,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the counters (global and per rule).
    Stats {
        #[command(flatten)]
        target: Target,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show whether a firewall is attached and what it holds.
    Status {
        #[command(flatten)]
        target: Target,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print sampled drop events (rule set `sample_every`) as JSON lines.
    Events {
        #[command(flatten)]
        target: Target,
        /// Stop after this many events.
        #[arg(long, default_value_t = 100)]
        max: usize,
        /// Stop after this many seconds.
        #[arg(long, default_value_t = 5)]
        wait_secs: u64,
    },
    /// Remove expired entries now (the programs already ignore them).
    Sweep {
        #[command(flatten)]
        target: Target,
    },
}

fn options(t: &Target) -> FirewallOptions {
    FirewallOptions {
        bpffs: t.bpffs.clone(),
        ..FirewallOptions::default()
    }
}

fn open(t: &Target) -> anyhow::Result<Firewall> {
    let mut fw = Firewall::open(&t.iface, &options(t))?;
    // Opportunistic sweep: expired entries are already ignored by the
    // programs; this frees their slots.
    fw.sweep_expired()
        .with_context(|| format!("sweeping expired entries on {}", t.iface))?;
    Ok(fw)
}

fn cidr(s: &str) -> anyhow::Result<Cidr> {
    Ok(s.parse::<Cidr>()?)
}

fn ttl(s: &Option<String>) -> anyhow::Result<Option<std::time::Duration>> {
    Ok(match s {
        Some(s) => Some(wafio_xdp::parse_ttl(s)?),
        None => None,
    })
}

/// Runs one `wafio xdp` command.
pub fn run(cmd: XdpCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        XdpCommand::Attach {
            target,
            mode,
            exact_capacity,
            prefix_capacity,
        } => {
            let opts = FirewallOptions {
                exact_capacity,
                prefix_capacity,
                ..options(&target)
            };
            Firewall::attach(&target.iface, mode, &opts)?;
            println!(
                "attached to {} (pinned at {})",
                target.iface,
                wafio_xdp::pin_dir(&opts.bpffs, &target.iface).display()
            );
        }
        XdpCommand::Detach { target } => {
            Firewall::detach(&target.iface, &options(&target))?;
            println!("detached from {}", target.iface);
        }
        XdpCommand::Apply { target, file } => {
            let rules = RuleSet::load(&file)?;
            let mut fw = open(&target)?;
            let r = fw
                .apply(&rules)
                .with_context(|| format!("applying {} to {}", file.display(), target.iface))?;
            println!(
                "applied {}: generation {}, {} rules, {} host and {} prefix entries, {} live entries kept",
                file.display(),
                r.generation,
                r.rules,
                r.exact_entries,
                r.prefix_entries,
                r.carried_live
            );
        }
        XdpCommand::Block {
            target,
            cidr: c,
            ttl: t,
        } => {
            let (c, t) = (cidr(&c)?, ttl(&t)?);
            open(&target)?.block(c, t)?;
            println!(
                "blocked {c}{}",
                t.map(|t| format!(" for {}s", t.as_secs()))
                    .unwrap_or_default()
            );
        }
        XdpCommand::Allow {
            target,
            cidr: c,
            ttl: t,
        } => {
            let (c, t) = (cidr(&c)?, ttl(&t)?);
            open(&target)?.allow(c, t)?;
            println!(
                "allowed {c}{}",
                t.map(|t| format!(" for {}s", t.as_secs()))
                    .unwrap_or_default()
            );
        }
        XdpCommand::Unblock { target, cidr: c } => {
            return remove(&target, List::Block, &c);
        }
        XdpCommand::Unallow { target, cidr: c } => {
            return remove(&target, List::Allow, &c);
        }
        XdpCommand::List { target, json } => {
            let entries = open(&target)?.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for e in entries {
                    let list = match e.list {
                        List::Allow => "allow",
                        List::Block => "block",
                        List::Egress => "egress",
                    };
                    let ttl = e
                        .expires_in_secs
                        .map(|s| format!("  expires in {s}s"))
                        .unwrap_or_default();
                    println!("{list:<7} {:<43} {}{ttl}", e.cidr.to_string(), e.rule);
                }
            }
        }
        XdpCommand::Stats { target, json } => {
            let s = open(&target)?.stats()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("generation {}", s.generation);
                for (name, c) in &s.global {
                    println!("  {name:<16} {:>12} pkts {:>14} bytes", c.packets, c.bytes);
                }
                println!("rules:");
                for r in &s.rules {
                    println!(
                        "  {:>4} {:<32} {:>12} pkts {:>14} bytes",
                        r.id, r.name, r.count.packets, r.count.bytes
                    );
                }
            }
        }
        XdpCommand::Status { target, json } => {
            let s = Firewall::status(&target.iface, &options(&target))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!(
                    "{}: xdp {}, tc egress {}, generation {}, {} rules, {} entries ({})",
                    s.iface,
                    if s.xdp_attached {
                        "attached"
                    } else {
                        "missing"
                    },
                    if s.tc_attached { "attached" } else { "missing" },
                    s.generation,
                    s.rules,
                    s.entries,
                    s.pin_dir.display()
                );
            }
        }
        XdpCommand::Events {
            target,
            max,
            wait_secs,
        } => {
            let mut fw = Firewall::open(&target.iface, &options(&target))?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait_secs);
            let mut seen = 0;
            while seen < max && std::time::Instant::now() < deadline {
                let batch = fw.drain_events(max - seen);
                if batch.is_empty() {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                for e in batch {
                    println!("{}", serde_json::to_string(&e)?);
                    seen += 1;
                }
            }
        }
        XdpCommand::Sweep { target } => {
            let n = Firewall::open(&target.iface, &options(&target))?.sweep_expired()?;
            println!("removed {n} expired entries");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(target: &Target, list: List, c: &str) -> anyhow::Result<ExitCode> {
    let c = cidr(c)?;
    if open(target)?.remove(list, c)? {
        println!("removed {c}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{c} is not in the list");
        Ok(ExitCode::from(1))
    }
}
