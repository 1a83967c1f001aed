//! The process tree: seeded from /proc, kept current by fork/exec/exit events.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::event::Event;

/// Most processes tracked (beyond this, the oldest-pid entries are not added).
pub const MAX_PROCESSES: usize = 1 << 20;
/// Deepest ancestor chain returned by [`ProcessTree::ancestors`].
pub const MAX_DEPTH: usize = 64;

/// What the tree knows about one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Command name.
    pub comm: String,
    /// Executable path (from exec or `/proc/<pid>/exe`), empty if unknown.
    pub exe: String,
    /// Arguments of the last exec (empty if seeded from /proc and unreadable).
    pub argv: Vec<String>,
    /// Real uid.
    pub uid: u32,
}

/// pid → process, kept by events.
#[derive(Debug, Default)]
pub struct ProcessTree {
    procs: HashMap<u32, ProcInfo>,
}

impl ProcessTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree seeded from a procfs directory (normally `/proc`).
    pub fn from_proc(proc_root: &Path) -> Self {
        let mut t = Self::new();
        let Ok(rd) = std::fs::read_dir(proc_root) else {
            return t;
        };
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if t.procs.len() >= MAX_PROCESSES {
                break;
            }
            let dir = e.path();
            let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
                continue;
            };
            let Some((comm, ppid)) = parse_stat(&stat) else {
                continue;
            };
            let exe = std::fs::read_link(dir.join("exe"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let argv = std::fs::read(dir.join("cmdline"))
                .map(|b| {
                    b.split(|&c| c == 0)
                        .filter(|s| !s.is_empty())
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            let uid = std::fs::read_to_string(dir.join("status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("Uid:"))
                        .and_then(|r| r.split_whitespace().next()?.parse().ok())
                })
                .unwrap_or(u32::MAX);
            t.procs.insert(
                pid,
                ProcInfo {
                    pid,
                    ppid,
                    comm,
                    exe,
                    argv,
                    uid,
                },
            );
        }
        t
    }

    /// Update with an event. Exit removes the process *after* the caller had
    /// the chance to use it: call [`ProcessTree::apply`] after evaluating rules.
    pub fn apply(&mut self, ev: &Event) {
        match ev {
            Event::Fork { header, child_pid } => {
                if self.procs.len() >= MAX_PROCESSES {
                    return;
                }
                let parent = self.procs.get(&header.pid).cloned();
                let (exe, argv) = parent.map(|p| (p.exe, p.argv)).unwrap_or_default();
                self.procs.insert(
                    *child_pid,
                    ProcInfo {
                        pid: *child_pid,
                        ppid: header.pid,
                        comm: header.comm.clone(),
                        exe,
                        argv,
                        uid: header.uid,
                    },
                );
            }
            Event::Exec {
                header,
                filename,
                argv,
                ..
            } => {
                if self.procs.len() >= MAX_PROCESSES && !self.procs.contains_key(&header.pid) {
                    return;
                }
                self.procs.insert(
                    header.pid,
                    ProcInfo {
                        pid: header.pid,
                        ppid: header.ppid,
                        comm: header.comm.clone(),
                        exe: filename.clone(),
                        argv: argv.clone(),
                        uid: header.uid,
                    },
                );
            }
            Event::Exit { header, .. } => {
                self.procs.remove(&header.pid);
            }
            _ => {}
        }
    }

    /// A process by pid.
    pub fn get(&self, pid: u32) -> Option<&ProcInfo> {
        self.procs.get(&pid)
    }

    /// Number of tracked processes.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// True when no process is tracked.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// Ancestors of `pid`, parent first, at most [`MAX_DEPTH`], stopping at
    /// pid 0/1 loops or unknown pids.
    pub fn ancestors(&self, pid: u32) -> Vec<&ProcInfo> {
        let mut out = Vec::new();
        let mut cur = self.procs.get(&pid).map(|p| p.ppid);
        while let Some(ppid) = cur {
            if ppid == 0 || out.len() >= MAX_DEPTH || out.iter().any(|p: &&ProcInfo| p.pid == ppid)
            {
                break;
            }
            let Some(p) = self.procs.get(&ppid) else {
                break;
            };
            out.push(p);
            cur = Some(p.ppid);
        }
        out
    }
}

/// (comm, ppid) from `/proc/<pid>/stat`; comm may contain spaces and parens.
fn parse_stat(s: &str) -> Option<(String, u32)> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s.get(open + 1..close)?.to_string();
    let mut rest = s.get(close + 1..)?.split_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, ppid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Header;

    fn hdr(pid: u32, ppid: u32, comm: &str) -> Header {
        Header {
            pid,
            tid: pid,
            ppid,
            uid: 0,
            gid: 0,
            euid: 0,
            egid: 0,
            ts_ns: 0,
            cgroup_id: 0,
            pid_ns: 0,
            mnt_ns: 0,
            comm: comm.into(),
        }
    }

    fn exec(pid: u32, ppid: u32, comm: &str, path: &str) -> Event {
        Event::Exec {
            header: hdr(pid, ppid, comm),
            filename: path.into(),
            argv: vec![comm.into()],
            args_truncated: false,
            argc: 1,
            inode: 0,
            dev: 0,
            nlink: 1,
            stdin_mode: 0,
            stdout_mode: 0,
        }
    }

    #[test]
    fn fork_exec_exit_keep_the_tree() {
        let mut t = ProcessTree::new();
        t.apply(&exec(10, 1, "nginx", "/usr/sbin/nginx"));
        t.apply(&Event::Fork {
            header: hdr(10, 1, "nginx"),
            child_pid: 11,
        });
        assert_eq!(t.get(11).map(|p| p.comm.as_str()), Some("nginx"));
        assert_eq!(t.get(11).map(|p| p.exe.as_str()), Some("/usr/sbin/nginx"));
        t.apply(&exec(11, 10, "sh", "/bin/sh"));
        let anc: Vec<&str> = t.ancestors(11).iter().map(|p| p.comm.as_str()).collect();
        assert_eq!(anc, vec!["nginx"]);
        t.apply(&Event::Exit {
            header: hdr(11, 10, "sh"),
            exit_code: Some(0),
            signal: None,
        });
        assert!(t.get(11).is_none());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn ancestor_loops_terminate() {
        let mut t = ProcessTree::new();
        t.apply(&exec(5, 6, "a", "/a"));
        t.apply(&exec(6, 5, "b", "/b"));
        assert_eq!(t.ancestors(5).len(), 2);
    }

    #[test]
    fn parses_stat_with_odd_comm() {
        assert_eq!(
            parse_stat("42 (a) b)) S 7 42 42"),
            Some(("a) b)".into(), 7))
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn seeds_from_real_proc() {
        let t = ProcessTree::from_proc(Path::new("/proc"));
        let me = t.get(std::process::id()).expect("own process");
        assert_eq!(me.ppid, std::os::unix::process::parent_id());
    }
}
