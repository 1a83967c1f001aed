//! Policies: rules with conditions on event fields and an action.
//!
//! A policy file is TOML with `[[rule]]` tables (see `rules/builtin.toml`):
//!
//! ```toml
//! [[rule]]
//! name = "web-server-spawns-shell"
//! event = "exec"                 # exec | file | net | syscall | killed | denied-connect
//! action = "alert"               # alert | kill | deny-connect | deny
//! severity = "high"              # info | low | medium | high | critical
//! description = "..."
//! [rule.match]
//! binary_name = ["sh", "bash"]
//! ancestor_comm = ["nginx"]
//! ```
//!
//! Conditions (all given conditions must hold; a list matches if any item does):
//! `binary` (globs on the exec path), `binary_name` (file name of the exec
//! path), `binary_hash` (hex SHA-256), `comm`, `not_comm`, `caller_comm`
//! (kill: comm of the process calling exec), `ancestor_comm`,
//! `self_or_ancestor_comm`, `uid`, `in_container` (bool), `container_id`
//! (globs), `path` / `not_path` (file globs, `**` crosses `/`), `read_only`
//! (bool), `syscall` (names), `arg0` (numbers), `dest` / `not_dest` (CIDRs),
//! `port` (numbers), `stdin_socket` (bool), `fileless` (bool).
//!
//! Errors name the rule and the field: `rule "x": field match.port: ...`.

use std::net::IpAddr;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::monitor::{DenyConnectRule, KillRule};

/// Most rules in one policy.
pub const MAX_RULES: usize = 256;

/// A policy error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// TOML syntax.
    #[error("{file}: {message}")]
    Syntax {
        /// Source name.
        file: String,
        /// Parser message (with line and column).
        message: String,
    },
    /// A rule's field is invalid.
    #[error("{file}: rule {rule:?}: field {field}: {message}")]
    Field {
        /// Source name.
        file: String,
        /// Rule name (or `#<index>` when it has none).
        rule: String,
        /// Field path.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// What to do when a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Report.
    Alert,
    /// SIGKILL from the kernel at exec entry (compiled into the kill map).
    Kill,
    /// cgroup connect hooks refuse the connection with EPERM.
    DenyConnect,
    /// Refuse through BPF-LSM (exec), where the kernel allows BPF-LSM.
    Deny,
}

/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// Event types a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventType {
    /// Exec.
    Exec,
    /// File.
    File,
    /// Network.
    Net,
    /// Privilege syscall.
    Syscall,
    /// Kernel kill.
    Killed,
    /// Kernel deny-connect.
    DeniedConnect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchSpec {
    binary: Option<Vec<String>>,
    binary_name: Option<Vec<String>>,
    binary_hash: Option<Vec<String>>,
    comm: Option<Vec<String>>,
    not_comm: Option<Vec<String>>,
    caller_comm: Option<Vec<String>>,
    ancestor_comm: Option<Vec<String>>,
    self_or_ancestor_comm: Option<Vec<String>>,
    uid: Option<Vec<u32>>,
    in_container: Option<bool>,
    container_id: Option<Vec<String>>,
    path: Option<Vec<String>>,
    not_path: Option<Vec<String>>,
    read_only: Option<bool>,
    syscall: Option<Vec<String>>,
    arg0: Option<Vec<u64>>,
    dest: Option<Vec<String>>,
    not_dest: Option<Vec<String>>,
    port: Option<Vec<u16>>,
    stdin_socket: Option<bool>,
    fileless: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    event: EventType,
    #[serde(default = "default_action")]
    action: Action,
    #[serde(default = "default_severity")]
    severity: Severity,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "match")]
    matches: MatchSpec,
}

fn default_action() -> Action {
    Action::Alert
}
fn default_severity() -> Severity {
    Severity::Medium
}

/// An IP network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// Address.
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl Cidr {
    /// Parse `a.b.c.d/n`, `x::/n` or a bare address.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            Some(l) => l.trim().parse::<u8>().ok().filter(|&n| n <= max)?,
            None => max,
        };
        Some(Cidr { addr, len })
    }

    /// Does the network contain `ip`? (IPv4-mapped IPv6 addresses match IPv4 networks.)
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.len))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.len))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Rule id (index in the policy + 1; used in kernel maps).
    pub id: u32,
    /// Name.
    pub name: String,
    /// Event type.
    pub event: EventType,
    /// Action.
    pub action: Action,
    /// Severity.
    pub severity: Severity,
    /// Description.
    pub description: String,
    m: Compiled,
}

#[derive(Debug, Clone, Default)]
struct Compiled {
    binary: Option<Vec<GlobMatcher>>,
    binary_exact: Vec<String>,
    binary_name: Option<Vec<String>>,
    binary_hash: Option<Vec<String>>,
    comm: Option<Vec<String>>,
    not_comm: Option<Vec<String>>,
    caller_comm: Option<Vec<String>>,
    ancestor_comm: Option<Vec<String>>,
    self_or_ancestor_comm: Option<Vec<String>>,
    uid: Option<Vec<u32>>,
    in_container: Option<bool>,
    container_id: Option<Vec<GlobMatcher>>,
    path: Option<Vec<GlobMatcher>>,
    not_path: Option<Vec<GlobMatcher>>,
    read_only: Option<bool>,
    syscall: Option<Vec<String>>,
    arg0: Option<Vec<u64>>,
    dest: Option<Vec<Cidr>>,
    not_dest: Option<Vec<Cidr>>,
    port: Option<Vec<u16>>,
    stdin_socket: Option<bool>,
    fileless: Option<bool>,
}

/// What the matcher knows about an event beyond its fields.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// Ancestor comms, parent first.
    pub ancestors: Vec<&'a str>,
    /// SHA-256 of the binary (exec).
    pub hash: Option<&'a str>,
    /// Container id, if any.
    pub container_id: Option<&'a str>,
}

/// A compiled policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
}

fn globs(
    file: &str,
    rule: &str,
    field: &str,
    v: Option<Vec<String>>,
) -> Result<Option<Vec<GlobMatcher>>, PolicyError> {
    let Some(v) = v else { return Ok(None) };
    let mut out = Vec::new();
    for g in v {
        let m = Glob::new(&g).map_err(|e| PolicyError::Field {
            file: file.into(),
            rule: rule.into(),
            field: format!("match.{field}"),
            message: format!("bad glob {g:?}: {e}"),
        })?;
        out.push(m.compile_matcher());
    }
    Ok(Some(out))
}

fn cidrs(
    file: &str,
    rule: &str,
    field: &str,
    v: Option<Vec<String>>,
) -> Result<Option<Vec<Cidr>>, PolicyError> {
    let Some(v) = v else { return Ok(None) };
    v.iter()
        .map(|s| {
            Cidr::parse(s).ok_or_else(|| PolicyError::Field {
                file: file.into(),
                rule: rule.into(),
                field: format!("match.{field}"),
                message: format!("{s:?} is not an address or CIDR"),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Find which field of a rule table fails to deserialize.
fn locate_field(r: &toml::Value) -> String {
    fn bad<T: serde::de::DeserializeOwned>(v: &toml::Value) -> bool {
        v.clone().try_into::<T>().is_err()
    }
    let Some(t) = r.as_table() else {
        return "rule".into();
    };
    for (k, v) in t {
        let broken = match k.as_str() {
            "name" | "description" => bad::<String>(v),
            "event" => bad::<EventType>(v),
            "action" => bad::<Action>(v),
            "severity" => bad::<Severity>(v),
            "match" => {
                let Some(mt) = v.as_table() else {
                    return "match".into();
                };
                for (mk, mv) in mt {
                    let mut one = toml::map::Map::new();
                    one.insert(mk.clone(), mv.clone());
                    if bad::<MatchSpec>(&toml::Value::Table(one)) {
                        return format!("match.{mk}");
                    }
                }
                false
            }
            _ => true,
        };
        if broken {
            return k.clone();
        }
    }
    for k in ["name", "event"] {
        if !t.contains_key(k) {
            return k.into();
        }
    }
    "rule".into()
}

impl Policy {
    /// Parse and compile a TOML policy. `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let v: toml::Value = toml::from_str(text).map_err(|e| PolicyError::Syntax {
            file: file.into(),
            message: e.to_string(),
        })?;
        let empty = Vec::new();
        let rules = match v.get("rule") {
            Some(toml::Value::Array(a)) => a,
            None => &empty,
            Some(_) => {
                return Err(PolicyError::Syntax {
                    file: file.into(),
                    message: "`rule` must be an array of tables ([[rule]])".into(),
                })
            }
        };
        if rules.len() > MAX_RULES {
            return Err(PolicyError::Syntax {
                file: file.into(),
                message: format!("{} rules, at most {MAX_RULES}", rules.len()),
            });
        }
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let rname = r
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("#{}", i + 1));
            let spec: RuleSpec = r.clone().try_into().map_err(|e: toml::de::Error| {
                let msg = e.message().to_string();
                let field = locate_field(r);
                PolicyError::Field {
                    file: file.into(),
                    rule: rname.clone(),
                    field,
                    message: msg,
                }
            })?;
            if out.iter().any(|x: &Rule| x.name == spec.name) {
                return Err(PolicyError::Field {
                    file: file.into(),
                    rule: rname,
                    field: "name".into(),
                    message: "duplicate rule name".into(),
                });
            }
            out.push(compile(file, i as u32 + 1, spec)?);
        }
        Ok(Policy { rules: out })
    }

    /// The built-in rule pack (`rules/builtin.toml`).
    pub fn builtin() -> Policy {
        // Covered by a unit test; an empty policy rather than a panic.
        Policy::parse("builtin.toml", BUILTIN).unwrap_or_default()
    }

    /// Rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Append the rules of another policy (ids renumbered).
    pub fn extend(&mut self, other: Policy) {
        for mut r in other.rules {
            r.id = self.rules.len() as u32 + 1;
            self.rules.push(r);
        }
    }

    /// Rules matching an event.
    pub fn matching<'p>(&'p self, ev: &Event, cx: &Context<'_>) -> Vec<&'p Rule> {
        self.rules.iter().filter(|r| r.matches(ev, cx)).collect()
    }

    /// Kernel kill entries for `kill` (and LSM `deny`) rules.
    pub fn kill_rules(&self) -> Vec<KillRule> {
        let mut out = Vec::new();
        for r in self
            .rules
            .iter()
            .filter(|r| matches!(r.action, Action::Kill | Action::Deny))
        {
            let comms: Vec<Option<String>> = match &r.m.caller_comm {
                Some(c) => c.iter().cloned().map(Some).collect(),
                None => vec![None],
            };
            let paths: Vec<Option<String>> = if r.m.binary_exact.is_empty() {
                vec![None]
            } else {
                r.m.binary_exact.iter().cloned().map(Some).collect()
            };
            for c in &comms {
                for p in &paths {
                    out.push(KillRule {
                        rule_id: r.id,
                        comm: c.clone(),
                        path: p.clone(),
                    });
                }
            }
        }
        out
    }

    /// Kernel deny-connect entries.
    pub fn deny_connect_rules(&self) -> Vec<DenyConnectRule> {
        let mut out = Vec::new();
        for r in self
            .rules
            .iter()
            .filter(|r| r.action == Action::DenyConnect)
        {
            let ports: Vec<Option<u16>> = match &r.m.port {
                Some(p) => p.iter().copied().map(Some).collect(),
                None => vec![None],
            };
            for d in r.m.dest.iter().flatten() {
                for p in &ports {
                    out.push(DenyConnectRule {
                        rule_id: r.id,
                        addr: d.addr,
                        prefix_len: d.len,
                        port: *p,
                    });
                }
            }
        }
        out
    }
}

/// The built-in rule pack source.
pub const BUILTIN: &str = include_str!("../rules/builtin.toml");

fn compile(file: &str, id: u32, s: RuleSpec) -> Result<Rule, PolicyError> {
    let name = s.name.clone();
    let ferr = |field: &str, message: &str| PolicyError::Field {
        file: file.into(),
        rule: name.clone(),
        field: field.into(),
        message: message.into(),
    };
    let m = s.matches;
    let binary_exact: Vec<String> = m
        .binary
        .iter()
        .flatten()
        .filter(|b| !b.contains(['*', '?', '[', '{']))
        .cloned()
        .collect();
    match s.action {
        Action::Kill | Action::Deny => {
            if s.event != EventType::Exec {
                return Err(ferr(
                    "action",
                    "kill/deny rules apply to event = \"exec\" only",
                ));
            }
            let has_glob = m
                .binary
                .as_ref()
                .is_some_and(|b| b.len() != binary_exact.len());
            if has_glob {
                return Err(ferr(
                    "match.binary",
                    "kill/deny needs exact paths (no globs)",
                ));
            }
            if m.binary.is_none() && m.caller_comm.is_none() {
                return Err(ferr(
                    "match",
                    "kill/deny needs match.binary or match.caller_comm",
                ));
            }
            if let Some(c) = m
                .caller_comm
                .iter()
                .flatten()
                .find(|c| c.is_empty() || c.len() > 15)
            {
                return Err(ferr(
                    "match.caller_comm",
                    &format!("{c:?} must be 1..=15 bytes"),
                ));
            }
            let other = m.binary_name.is_some()
                || m.binary_hash.is_some()
                || m.ancestor_comm.is_some()
                || m.path.is_some()
                || m.dest.is_some()
                || m.uid.is_some();
            if other {
                return Err(ferr(
                    "match",
                    "kill/deny is enforced in the kernel: only binary and caller_comm allowed",
                ));
            }
        }
        Action::DenyConnect => {
            if s.event != EventType::Net {
                return Err(ferr(
                    "action",
                    "deny-connect applies to event = \"net\" only",
                ));
            }
            if m.dest.is_none() {
                return Err(ferr("match.dest", "deny-connect needs destination CIDRs"));
            }
        }
        Action::Alert => {}
    }
    if let Some(h) = m
        .binary_hash
        .iter()
        .flatten()
        .find(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(ferr(
            "match.binary_hash",
            &format!("{h:?} is not 64 hex digits"),
        ));
    }
    if let Some(sc) = m.syscall.iter().flatten().find(|s| {
        !crate::syscalls::COVERAGE
            .iter()
            .any(|c| c.name == s.as_str())
    }) {
        return Err(ferr(
            "match.syscall",
            &format!("{sc:?} is not a covered syscall"),
        ));
    }
    let c = Compiled {
        binary: globs(file, &name, "binary", m.binary)?,
        binary_exact,
        binary_name: m.binary_name,
        binary_hash: m
            .binary_hash
            .map(|v| v.iter().map(|h| h.to_ascii_lowercase()).collect()),
        comm: m.comm,
        not_comm: m.not_comm,
        caller_comm: m.caller_comm,
        ancestor_comm: m.ancestor_comm,
        self_or_ancestor_comm: m.self_or_ancestor_comm,
        uid: m.uid,
        in_container: m.in_container,
        container_id: globs(file, &name, "container_id", m.container_id)?,
        path: globs(file, &name, "path", m.path)?,
        not_path: globs(file, &name, "not_path", m.not_path)?,
        read_only: m.read_only,
        syscall: m.syscall,
        arg0: m.arg0,
        dest: cidrs(file, &name, "dest", m.dest)?,
        not_dest: cidrs(file, &name, "not_dest", m.not_dest)?,
        port: m.port,
        stdin_socket: m.stdin_socket,
        fileless: m.fileless,
    };
    Ok(Rule {
        id,
        name: s.name,
        event: s.event,
        action: s.action,
        severity: s.severity,
        description: s.description,
        m: c,
    })
}

const S_IFMT: u32 = 0o170000;
const S_IFSOCK: u32 = 0o140000;

impl Rule {
    /// Does the rule match the event?
    pub fn matches(&self, ev: &Event, cx: &Context<'_>) -> bool {
        let m = &self.m;
        let ty = match ev {
            Event::Exec { .. } => EventType::Exec,
            Event::File { .. } => EventType::File,
            Event::Net { .. } => EventType::Net,
            Event::Syscall { .. } => EventType::Syscall,
            Event::Killed { .. } => EventType::Killed,
            Event::DeniedConnect { .. } => EventType::DeniedConnect,
            Event::Fork { .. } | Event::Exit { .. } => return false,
        };
        if ty != self.event {
            return false;
        }
        let h = ev.header();
        let any =
            |v: &Option<Vec<String>>, s: &str| v.as_ref().is_none_or(|v| v.iter().any(|x| x == s));
        if !any(&m.comm, &h.comm) {
            return false;
        }
        if m.not_comm.as_ref().is_some_and(|v| v.contains(&h.comm)) {
            return false;
        }
        if let Some(u) = &m.uid {
            if !u.contains(&h.uid) {
                return false;
            }
        }
        if let Some(a) = &m.ancestor_comm {
            if !cx.ancestors.iter().any(|c| a.iter().any(|x| x == c)) {
                return false;
            }
        }
        if let Some(a) = &m.self_or_ancestor_comm {
            let own = a.contains(&h.comm);
            if !own && !cx.ancestors.iter().any(|c| a.iter().any(|x| x == c)) {
                return false;
            }
        }
        if let Some(want) = m.in_container {
            if cx.container_id.is_some() != want {
                return false;
            }
        }
        if let Some(g) = &m.container_id {
            if !cx
                .container_id
                .is_some_and(|id| g.iter().any(|g| g.is_match(id)))
            {
                return false;
            }
        }
        if let Some(hs) = &m.binary_hash {
            if !cx.hash.is_some_and(|x| hs.iter().any(|h| h == x)) {
                return false;
            }
        }
        match ev {
            Event::Exec {
                filename,
                nlink,
                stdin_mode,
                ..
            } => {
                if let Some(g) = &m.binary {
                    if !g.iter().any(|g| g.is_match(filename)) {
                        return false;
                    }
                }
                let base = filename.rsplit('/').next().unwrap_or(filename);
                if !any(&m.binary_name, base) {
                    return false;
                }
                if let Some(want) = m.stdin_socket {
                    if (stdin_mode & S_IFMT == S_IFSOCK) != want {
                        return false;
                    }
                }
                if let Some(want) = m.fileless {
                    let fileless = *nlink == 0
                        || filename.starts_with("/dev/fd/")
                        || filename.starts_with("/proc/self/fd/");
                    if fileless != want {
                        return false;
                    }
                }
                if let Some(c) = &m.caller_comm {
                    // For alerts: the pre-exec comm is the parent's in fork+exec.
                    if !cx
                        .ancestors
                        .first()
                        .is_some_and(|p| c.iter().any(|x| x == p))
                    {
                        return false;
                    }
                }
                true
            }
            Event::File {
                path, read_only, ..
            } => {
                if let Some(g) = &m.path {
                    if !g.iter().any(|g| g.is_match(path)) {
                        return false;
                    }
                }
                if m.not_path
                    .as_ref()
                    .is_some_and(|g| g.iter().any(|g| g.is_match(path)))
                {
                    return false;
                }
                m.read_only.is_none_or(|w| w == *read_only)
            }
            Event::Net {
                addr,
                port,
                syscall,
                ..
            } => {
                if !any(&m.syscall, syscall) {
                    return false;
                }
                self.dest_ok(*addr, *port)
            }
            Event::DeniedConnect { addr, port, .. } => self.dest_ok(*addr, *port),
            Event::Syscall { syscall, args, .. } => {
                if !any(&m.syscall, syscall) {
                    return false;
                }
                m.arg0.as_ref().is_none_or(|a| a.contains(&args[0]))
            }
            Event::Killed { filename, .. } => m
                .binary
                .as_ref()
                .is_none_or(|g| g.iter().any(|g| g.is_match(filename))),
            Event::Fork { .. } | Event::Exit { .. } => false,
        }
    }

    fn dest_ok(&self, addr: IpAddr, port: u16) -> bool {
        let m = &self.m;
        if let Some(d) = &m.dest {
            if !d.iter().any(|c| c.contains(addr)) {
                return false;
            }
        }
        if m.not_dest
            .as_ref()
            .is_some_and(|d| d.iter().any(|c| c.contains(addr)))
        {
            return false;
        }
        m.port.as_ref().is_none_or(|p| p.contains(&port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Header;

    fn hdr(comm: &str) -> Header {
        Header {
            pid: 2,
            tid: 2,
            ppid: 1,
            uid: 33,
            gid: 33,
            euid: 33,
            egid: 33,
            ts_ns: 0,
            cgroup_id: 0,
            pid_ns: 0,
            mnt_ns: 0,
            comm: comm.into(),
        }
    }

    fn exec(comm: &str, path: &str, stdin_mode: u32, nlink: u32) -> Event {
        Event::Exec {
            header: hdr(comm),
            filename: path.into(),
            argv: vec![],
            args_truncated: false,
            argc: 0,
            inode: 1,
            dev: 1,
            nlink,
            stdin_mode,
            stdout_mode: 0,
        }
    }

    fn names(p: &Policy, ev: &Event, cx: &Context<'_>) -> Vec<String> {
        p.matching(ev, cx).iter().map(|r| r.name.clone()).collect()
    }

    #[test]
    fn builtin_pack_parses_and_has_the_documented_rules() {
        let p = Policy::parse("builtin.toml", BUILTIN).expect("builtin parses");
        let n: Vec<&str> = p.rules().iter().map(|r| r.name.as_str()).collect();
        for want in [
            "web-server-spawns-shell",
            "write-under-system-dirs",
            "exec-from-tmp",
            "fileless-exec",
            "reverse-shell",
            "shadow-read",
            "kernel-module-load",
            "ptrace-attach",
            "web-server-connects-out",
        ] {
            assert!(n.contains(&want), "{want}");
        }
    }

    #[test]
    fn builtin_cases_from_testdata() {
        let p = Policy::builtin();
        let cases: serde_json::Value =
            serde_json::from_str(include_str!("../testdata/policy_cases.json")).unwrap();
        for c in cases.as_array().unwrap() {
            let ev: Event = match c["event"]["type"].as_str().unwrap() {
                "exec" => exec(
                    c["event"]["comm"].as_str().unwrap(),
                    c["event"]["path"].as_str().unwrap(),
                    c["event"]["stdin_mode"].as_u64().unwrap_or(0) as u32,
                    c["event"]["nlink"].as_u64().unwrap_or(1) as u32,
                ),
                "file" => Event::File {
                    header: hdr(c["event"]["comm"].as_str().unwrap()),
                    syscall: "openat",
                    path: c["event"]["path"].as_str().unwrap().into(),
                    path2: String::new(),
                    flags: 0,
                    mode: 0,
                    owner: 0,
                    group: 0,
                    dirfd: -100,
                    read_only: c["event"]["read_only"].as_bool().unwrap(),
                },
                "net" => Event::Net {
                    header: hdr(c["event"]["comm"].as_str().unwrap()),
                    syscall: "connect",
                    fd: 3,
                    ret: 0,
                    addr: c["event"]["addr"].as_str().unwrap().parse().unwrap(),
                    port: 443,
                    extra: 0,
                },
                "syscall" => Event::Syscall {
                    header: hdr(c["event"]["comm"].as_str().unwrap()),
                    syscall: crate::syscalls::syscall_name(
                        c["event"]["nr"].as_u64().unwrap() as u32
                    )
                    .unwrap(),
                    nr: c["event"]["nr"].as_u64().unwrap() as u32,
                    args: [c["event"]["arg0"].as_u64().unwrap_or(0), 0, 0, 0, 0, 0],
                    arg_str: String::new(),
                },
                t => panic!("type {t}"),
            };
            let anc: Vec<&str> = c["ancestors"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            let cx = Context {
                ancestors: anc,
                hash: None,
                container_id: None,
            };
            let got = names(&p, &ev, &cx);
            let want: Vec<String> = c["expect"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, want, "case {}", c["why"]);
        }
    }

    #[test]
    fn errors_name_rule_and_field() {
        let e = Policy::parse(
            "p.toml",
            "[[rule]]\nname = \"r1\"\nevent = \"net\"\n[rule.match]\nport = [\"x\"]\n",
        )
        .unwrap_err();
        let PolicyError::Field { rule, field, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!((rule.as_str(), field.as_str()), ("r1", "match.port"), "{e}");
        let e = Policy::parse(
            "p.toml",
            "[[rule]]\nname = \"r2\"\nevent = \"exec\"\n[rule.match]\nbinarry = [\"/x\"]\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("r2") && e.to_string().contains("match.binarry"),
            "{e}"
        );
        let e = Policy::parse(
            "p.toml",
            "[[rule]]\nname = \"r3\"\nevent = \"net\"\n[rule.match]\ndest = [\"10.0.0.0/33\"]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("match.dest"), "{e}");
        let e = Policy::parse(
            "p.toml",
            "[[rule]]\nname = \"r4\"\nevent = \"exec\"\naction = \"kill\"\n[rule.match]\nbinary = [\"/tmp/*\"]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("match.binary"), "{e}");
        assert!(matches!(
            Policy::parse("p.toml", "[[rule]\n"),
            Err(PolicyError::Syntax { .. })
        ));
    }

    #[test]
    fn kill_and_deny_connect_compile_to_kernel_entries() {
        let p = Policy::parse(
            "p.toml",
            r#"
[[rule]]
name = "no-shell-from-nginx"
event = "exec"
action = "kill"
[rule.match]
caller_comm = ["nginx"]
binary = ["/bin/sh", "/bin/bash"]

[[rule]]
name = "no-metadata"
event = "net"
action = "deny-connect"
[rule.match]
dest = ["169.254.169.254", "fd00::/8"]
port = [80]
"#,
        )
        .unwrap();
        let k = p.kill_rules();
        assert_eq!(k.len(), 2);
        assert_eq!(k[0].comm.as_deref(), Some("nginx"));
        assert_eq!(k[1].path.as_deref(), Some("/bin/bash"));
        let d = p.deny_connect_rules();
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].prefix_len, d[0].port, d[0].rule_id),
            (32, Some(80), 2)
        );
        assert_eq!(d[1].prefix_len, 8);
    }

    #[test]
    fn cidr_contains() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.9.8.7".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("::/0")
            .unwrap()
            .contains("2001:db8::1".parse().unwrap()));
        assert!(Cidr::parse("1.2.3.4/40").is_none());
        assert!(Cidr::parse("nope").is_none());
    }
}
