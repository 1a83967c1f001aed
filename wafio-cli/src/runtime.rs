//! `wafio runtime ...`: the eBPF runtime security monitor (wafio-runtime).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use wafio_runtime::{
    cgroup2_mount, stop_on_signals, Agent, AgentConfig, Baseline, BaselineMode, MonitorConfig,
    Policy, WatchPrefix, COVERAGE,
};

/// Runtime monitor commands.
#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Watch processes, files, network and privilege changes; print one JSON
    /// line per alert (and per event with --all-events).
    ///
    /// Stops on SIGINT/SIGTERM or after --duration, detaching every program.
    /// Exit status: 0 clean stop, 1 alerts were raised, 2 error.
    Watch(WatchArgs),
    /// Check a policy file and print its rules and kernel entries.
    CheckPolicy {
        /// Policy file (TOML).
        file: PathBuf,
    },
    /// Print the syscall coverage table (JSON lines).
    Coverage,
}

/// Arguments of `wafio runtime watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Policy file (TOML, `[[rule]]` tables), added to the built-in rules.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Do not load the built-in rule pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// JSON output (the only format; accepted for compatibility).
    #[arg(long)]
    pub json: bool,
    /// Print every event, not only alerts.
    #[arg(long)]
    pub all_events: bool,
    /// Stop after this many seconds.
    #[arg(long)]
    pub duration: Option<u64>,
    /// Ring buffer size in bytes (power of two).
    #[arg(long, default_value_t = wafio_runtime::DEFAULT_RING_BYTES)]
    pub ring_bytes: u32,
    /// Watched path prefix for file events (repeatable; replaces the defaults).
    #[arg(long = "watch")]
    pub watch: Vec<String>,
    /// cgroup v2 directory for deny-connect rules (default: the cgroup2 root).
    #[arg(long)]
    pub connect_cgroup: Option<PathBuf>,
    /// Learn a baseline and write it to this file at exit.
    #[arg(long, conflicts_with = "enforce_baseline")]
    pub learn_baseline: Option<PathBuf>,
    /// Alert on deviations from this baseline file.
    #[arg(long)]
    pub enforce_baseline: Option<PathBuf>,
}

/// Run a runtime subcommand.
pub fn run(cmd: RuntimeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RuntimeCommand::Watch(a) => watch(a),
        RuntimeCommand::CheckPolicy { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let p = Policy::parse(&file.display().to_string(), &text)?;
            for r in p.rules() {
                println!(
                    "rule {} {:?} {:?} {:?}",
                    r.name, r.event, r.action, r.severity
                );
            }
            for k in p.kill_rules() {
                println!(
                    "kernel kill: rule {} comm={:?} path={:?}",
                    k.rule_id, k.comm, k.path
                );
            }
            for d in p.deny_connect_rules() {
                println!(
                    "kernel deny-connect: rule {} {}/{} port {:?}",
                    d.rule_id, d.addr, d.prefix_len, d.port
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RuntimeCommand::Coverage => {
            for s in COVERAGE {
                println!("{}", serde_json::to_string(s)?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn watch(a: WatchArgs) -> anyhow::Result<ExitCode> {
    let mut policy = if a.no_builtin {
        Policy::default()
    } else {
        Policy::builtin()
    };
    if let Some(f) = &a.policy {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        policy.extend(Policy::parse(&f.display().to_string(), &text)?);
    }
    let mut monitor = MonitorConfig {
        ring_bytes: a.ring_bytes,
        ..Default::default()
    };
    if !a.watch.is_empty() {
        monitor.watch = a.watch.iter().map(|p| WatchPrefix::writes(p)).collect();
    }
    if !policy.deny_connect_rules().is_empty() {
        monitor.connect_cgroup = a.connect_cgroup.clone().or_else(cgroup2_mount);
    }
    let baseline = match (&a.learn_baseline, &a.enforce_baseline) {
        (Some(_), _) => BaselineMode::Learn,
        (None, Some(f)) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            BaselineMode::Enforce(
                Baseline::from_json(&text).with_context(|| format!("parsing {}", f.display()))?,
            )
        }
        (None, None) => BaselineMode::Off,
    };
    let stop = stop_on_signals().context("installing signal handlers")?;
    let mut agent = Agent::start(AgentConfig {
        monitor,
        policy,
        baseline,
        all_events: a.all_events,
    })?;
    for d in agent.monitor().degraded() {
        eprintln!(
            "wafio: warning: {} not running ({}); lost: {}",
            d.program, d.error, d.lost
        );
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let summary = agent.watch(&mut out, &stop, a.duration.map(Duration::from_secs))?;
    out.flush().ok();
    if let Some(f) = &a.learn_baseline {
        std::fs::write(f, agent.baseline().to_json())
            .with_context(|| format!("writing {}", f.display()))?;
    }
    eprintln!("wafio: summary: {}", serde_json::to_string(&summary)?);
    drop(agent);
    Ok(if summary.alerts > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
