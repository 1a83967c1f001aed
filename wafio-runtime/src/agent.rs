//! The agent: monitor + process tree + hashes + containers + policy +
//! baseline, producing one JSON-serializable [`Record`] per event or alert.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::baseline::{Baseline, Facet};
use crate::container::{attribute, CgroupResolver, Container};
use crate::event::Event;
use crate::hash::HashCache;
use crate::monitor::{Degraded, LostCounts, Monitor, MonitorConfig, MonitorError};
use crate::policy::{Action, Context, Policy, Severity};
use crate::proctree::ProcessTree;

/// Baseline mode.
#[derive(Debug, Clone, Default)]
pub enum BaselineMode {
    /// No baseline.
    #[default]
    Off,
    /// Record into this baseline (save it with [`Agent::baseline`]).
    Learn,
    /// Alert on deviations from this baseline.
    Enforce(Baseline),
}

/// Agent settings.
#[derive(Debug, Clone, Default)]
pub struct AgentConfig {
    /// Kernel side.
    pub monitor: MonitorConfig,
    /// Rules (e.g. [`Policy::builtin`] extended with a user file).
    pub policy: Policy,
    /// Baseline mode.
    pub baseline: BaselineMode,
    /// Emit a record for every event, not only alerts.
    pub all_events: bool,
}

/// Errors of the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The monitor failed.
    #[error(transparent)]
    Monitor(#[from] Box<MonitorError>),
    /// A policy rule could not be installed in the kernel.
    #[error("rule {rule:?}: installing in the kernel: {source}")]
    Install {
        /// Rule.
        rule: String,
        /// Cause.
        #[source]
        source: Box<MonitorError>,
    },
    /// Writing output failed.
    #[error("writing output: {0}")]
    Output(#[source] std::io::Error),
}

/// An ancestor in a record.
#[derive(Debug, Clone, Serialize)]
pub struct Ancestor {
    /// Pid.
    pub pid: u32,
    /// Comm.
    pub comm: String,
    /// Executable.
    pub exe: String,
}

/// Forensic context of an event.
#[derive(Debug, Clone, Serialize)]
pub struct Enriched {
    /// The event.
    pub event: Event,
    /// Executable of the acting process (from the tree).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub exe: String,
    /// Ancestors, parent first.
    pub ancestors: Vec<Ancestor>,
    /// SHA-256 of the binary (exec events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// cgroup v2 path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// Container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
}

/// One output line.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "record", rename_all = "kebab-case")]
pub enum Record {
    /// An event (with `all_events`).
    Event(Enriched),
    /// A rule or baseline alert.
    Alert {
        /// Rule name (`baseline-<facet>` for baseline deviations).
        rule: String,
        /// Severity.
        severity: Severity,
        /// Action taken or requested.
        action: Action,
        /// Description.
        description: String,
        /// Context.
        #[serde(flatten)]
        context: Enriched,
    },
}

/// Summary at the end of a watch.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Events received.
    pub events: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Lost events (ring buffer full).
    pub lost: LostCounts,
    /// Undecodable records.
    pub decode_errors: u64,
    /// Programs not attached.
    pub degraded: Vec<Degraded>,
}

/// The running agent.
#[derive(Debug)]
pub struct Agent {
    monitor: Monitor,
    tree: ProcessTree,
    hashes: HashCache,
    cgroups: CgroupResolver,
    policy: Policy,
    baseline_mode: BaselineMode,
    learned: Baseline,
    all_events: bool,
    events: u64,
    alerts: u64,
}

fn dest(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

impl Agent {
    /// Start: load programs, install kill/deny-connect rules, seed the tree.
    pub fn start(config: AgentConfig) -> Result<Agent, AgentError> {
        let mut monitor = Monitor::start(&config.monitor).map_err(Box::new)?;
        for k in config.policy.kill_rules() {
            let name = rule_name(&config.policy, k.rule_id);
            monitor.add_kill_rule(&k).map_err(|e| AgentError::Install {
                rule: name,
                source: Box::new(e),
            })?;
        }
        for d in config.policy.deny_connect_rules() {
            let name = rule_name(&config.policy, d.rule_id);
            monitor
                .add_deny_connect(&d)
                .map_err(|e| AgentError::Install {
                    rule: name,
                    source: Box::new(e),
                })?;
        }
        Ok(Agent {
            monitor,
            tree: ProcessTree::from_proc(std::path::Path::new("/proc")),
            hashes: HashCache::new(),
            cgroups: CgroupResolver::new(crate::sys::cgroup2_mount()),
            policy: config.policy,
            baseline_mode: config.baseline,
            learned: Baseline::default(),
            all_events: config.all_events,
            events: 0,
            alerts: 0,
        })
    }

    /// The monitor (for rule hits, lost counts, degraded programs).
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// The process tree.
    pub fn tree(&self) -> &ProcessTree {
        &self.tree
    }

    /// The baseline learned so far (learn mode).
    pub fn baseline(&self) -> &Baseline {
        &self.learned
    }

    /// Wait up to `timeout` and return the records of the events that arrived.
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<Record>, AgentError> {
        let events = self.monitor.poll(timeout, 4096).map_err(Box::new)?;
        let mut out = Vec::new();
        for ev in events {
            self.events += 1;
            self.handle(ev, &mut out);
        }
        Ok(out)
    }

    fn enrich(&mut self, ev: &Event) -> Enriched {
        let h = ev.header();
        let ancestors: Vec<Ancestor> = self
            .tree
            .ancestors(h.pid)
            .into_iter()
            .map(|p| Ancestor {
                pid: p.pid,
                comm: p.comm.clone(),
                exe: p.exe.clone(),
            })
            .collect();
        let exe = self
            .tree
            .get(h.pid)
            .map(|p| p.exe.clone())
            .unwrap_or_default();
        let sha256 = match ev {
            Event::Exec { filename, .. } => self
                .hashes
                .hash_path(&PathBuf::from(format!("/proc/{}/exe", h.pid)))
                .or_else(|| self.hashes.hash_path(&PathBuf::from(filename))),
            _ => None,
        };
        let cgroup = if h.cgroup_id != 0 {
            self.cgroups.path(h.cgroup_id)
        } else {
            None
        };
        let container = cgroup.as_deref().and_then(attribute);
        Enriched {
            event: ev.clone(),
            exe,
            ancestors,
            sha256,
            cgroup,
            container,
        }
    }

    fn handle(&mut self, ev: Event, out: &mut Vec<Record>) {
        // Exec and fork update the tree first (the new image is the actor);
        // exit is applied after the rules so its context is still known.
        if matches!(ev, Event::Exec { .. } | Event::Fork { .. }) {
            self.tree.apply(&ev);
        }
        let interesting = !matches!(ev, Event::Fork { .. } | Event::Exit { .. });
        if interesting || self.all_events {
            let cx_data = self.enrich(&ev);
            let anc: Vec<&str> = cx_data.ancestors.iter().map(|a| a.comm.as_str()).collect();
            let cx = Context {
                ancestors: anc,
                hash: cx_data.sha256.as_deref(),
                container_id: cx_data.container.as_ref().map(|c| c.id.as_str()),
            };
            let mut alerts = Vec::new();
            for r in self.policy.matching(&ev, &cx) {
                alerts.push(Record::Alert {
                    rule: r.name.clone(),
                    severity: r.severity,
                    action: r.action,
                    description: r.description.clone(),
                    context: cx_data.clone(),
                });
            }
            if let Some((facet, item)) = self.baseline_item(&ev, &cx_data) {
                let parent_exe = cx_data.ancestors.first().map(|a| a.exe.clone());
                let binary = match facet {
                    Facet::Child => parent_exe.unwrap_or_default(),
                    _ => cx_data.exe.clone(),
                };
                match &self.baseline_mode {
                    BaselineMode::Off => {}
                    BaselineMode::Learn => {
                        self.learned.learn(&binary, facet, &item);
                    }
                    BaselineMode::Enforce(b) => {
                        if b.deviates(&binary, facet, &item) {
                            let name = match facet {
                                Facet::Child => "baseline-child",
                                Facet::File => "baseline-file",
                                Facet::Destination => "baseline-destination",
                            };
                            alerts.push(Record::Alert {
                                rule: name.into(),
                                severity: Severity::Medium,
                                action: Action::Alert,
                                description: format!("{binary} was not seen doing {item:?}"),
                                context: cx_data.clone(),
                            });
                        }
                    }
                }
            }
            self.alerts += alerts.len() as u64;
            if self.all_events {
                out.push(Record::Event(cx_data));
            }
            out.extend(alerts);
        }
        if matches!(ev, Event::Exit { .. }) {
            self.tree.apply(&ev);
        }
    }

    fn baseline_item(&self, ev: &Event, cx: &Enriched) -> Option<(Facet, String)> {
        match ev {
            Event::Exec { filename, .. } => Some((Facet::Child, filename.clone())),
            Event::File {
                path,
                read_only: false,
                ..
            } => Some((Facet::File, path.clone())),
            Event::Net {
                syscall: "connect",
                addr,
                port,
                ..
            } => Some((Facet::Destination, dest(*addr, *port))),
            _ => {
                let _ = cx;
                None
            }
        }
    }

    /// Summary counters.
    pub fn summary(&self) -> Summary {
        Summary {
            events: self.events,
            alerts: self.alerts,
            lost: self.monitor.lost().unwrap_or_default(),
            decode_errors: self.monitor.decode_errors(),
            degraded: self.monitor.degraded().to_vec(),
        }
    }

    /// Run until `stop` is set or `duration` passes, writing one JSON line per
    /// record to `out`. Everything is detached when the agent is dropped.
    pub fn watch(
        &mut self,
        out: &mut dyn Write,
        stop: &AtomicBool,
        duration: Option<Duration>,
    ) -> Result<Summary, AgentError> {
        let end = duration.map(|d| Instant::now() + d);
        while !stop.load(Ordering::Relaxed) && end.is_none_or(|e| Instant::now() < e) {
            for r in self.poll(Duration::from_millis(200))? {
                let line = serde_json::to_string(&r).map_err(|e| AgentError::Output(e.into()))?;
                writeln!(out, "{line}").map_err(AgentError::Output)?;
            }
            out.flush().map_err(AgentError::Output)?;
        }
        Ok(self.summary())
    }
}

fn rule_name(p: &Policy, id: u32) -> String {
    p.rules()
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

/// Install SIGINT and SIGTERM handlers that set the returned flag.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&flag))?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&flag))?;
    Ok(flag)
}
