//! The syscall coverage table (x86_64 numbers).

use serde::Serialize;

/// What a covered syscall or tracepoint is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Process lifecycle (exec, fork, exit).
    Process,
    /// File writes, creations, removals, renames, mode/owner changes (prefix filtered).
    File,
    /// Network endpoints (connect, bind, listen, accept).
    Network,
    /// Privilege changes and tampering (credentials, ptrace, modules, mounts, namespaces).
    Privilege,
}

/// One row of the coverage table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyscallInfo {
    /// x86_64 syscall number (`None` for scheduler tracepoints).
    pub nr: Option<u32>,
    /// Syscall or tracepoint name.
    pub name: &'static str,
    /// Category.
    pub category: Category,
    /// The kernel hook that reports it.
    pub hook: &'static str,
    /// How the `raw_tp/sys_enter` dispatcher decodes it (`None`: own tracepoint).
    #[serde(skip)]
    pub(crate) desc: Option<Desc>,
}

/// Descriptor of a dispatched syscall: which argument is what (-1 = none).
/// Layout mirrors `struct sc_desc` in `bpf/runtime.bpf.c` (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Desc {
    kind: u8,
    path: i8,
    path2: i8,
    dirfd: i8,
    flags: i8,
    mode: i8,
    owner: i8,
    group: i8,
    open_kind: u8,
    string: i8,
}

impl Desc {
    /// The map value bytes.
    pub(crate) fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0] = self.kind;
        b[1] = self.path as u8;
        b[2] = self.path2 as u8;
        b[3] = self.dirfd as u8;
        b[4] = self.flags as u8;
        b[5] = self.mode as u8;
        b[6] = self.owner as u8;
        b[7] = self.group as u8;
        b[8] = self.open_kind;
        b[9] = self.string as u8;
        b
    }
}

const OPEN_NONE: u8 = 0;
const OPEN_FLAGS: u8 = 1;
const OPEN_HOW: u8 = 2;
const OPEN_CREAT: u8 = 3;

/// A file syscall: (path, path2, dirfd, flags, mode, owner, group, open kind).
#[allow(clippy::too_many_arguments)]
const fn f(
    path: i8,
    path2: i8,
    dirfd: i8,
    flags: i8,
    mode: i8,
    owner: i8,
    group: i8,
    open_kind: u8,
) -> Option<Desc> {
    Some(Desc {
        kind: 1,
        path,
        path2,
        dirfd,
        flags,
        mode,
        owner,
        group,
        open_kind,
        string: -1,
    })
}

/// A privilege syscall with an optional string argument.
const fn g(string: i8) -> Option<Desc> {
    Some(Desc {
        kind: 2,
        path: -1,
        path2: -1,
        dirfd: -1,
        flags: -1,
        mode: -1,
        owner: -1,
        group: -1,
        open_kind: OPEN_NONE,
        string,
    })
}

macro_rules! sc {
    ($nr:expr, $name:expr, $cat:ident, $hook:expr) => {
        SyscallInfo {
            nr: $nr,
            name: $name,
            category: Category::$cat,
            hook: $hook,
            desc: None,
        }
    };
    ($nr:expr, $name:expr, $cat:ident, $hook:expr, $desc:expr) => {
        SyscallInfo {
            nr: $nr,
            name: $name,
            category: Category::$cat,
            hook: "raw_tp/sys_enter",
            desc: $desc,
        }
    };
}

/// Every syscall/tracepoint the monitor reports. Documented in the crate docs.
pub const COVERAGE: &[SyscallInfo] = &[
    sc!(
        None,
        "sched_process_exec",
        Process,
        "raw_tp/sched_process_exec"
    ),
    sc!(
        None,
        "sched_process_fork",
        Process,
        "raw_tp/sched_process_fork"
    ),
    sc!(
        None,
        "sched_process_exit",
        Process,
        "raw_tp/sched_process_exit"
    ),
    sc!(Some(59), "execve", Process, "sys_enter_execve (kill rules)"),
    sc!(
        Some(322),
        "execveat",
        Process,
        "sys_enter_execveat (kill rules)"
    ),
    sc!(
        Some(2),
        "open",
        File,
        "",
        f(0, -1, -1, 1, 2, -1, -1, OPEN_FLAGS)
    ),
    sc!(
        Some(257),
        "openat",
        File,
        "",
        f(1, -1, 0, 2, 3, -1, -1, OPEN_FLAGS)
    ),
    sc!(
        Some(437),
        "openat2",
        File,
        "",
        f(1, -1, 0, 2, -1, -1, -1, OPEN_HOW)
    ),
    sc!(
        Some(85),
        "creat",
        File,
        "",
        f(0, -1, -1, -1, 1, -1, -1, OPEN_CREAT)
    ),
    sc!(
        Some(76),
        "truncate",
        File,
        "",
        f(0, -1, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(87),
        "unlink",
        File,
        "",
        f(0, -1, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(263),
        "unlinkat",
        File,
        "",
        f(1, -1, 0, 2, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(84),
        "rmdir",
        File,
        "",
        f(0, -1, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(83),
        "mkdir",
        File,
        "",
        f(0, -1, -1, -1, 1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(258),
        "mkdirat",
        File,
        "",
        f(1, -1, 0, -1, 2, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(82),
        "rename",
        File,
        "",
        f(0, 1, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(264),
        "renameat",
        File,
        "",
        f(1, 3, 0, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(316),
        "renameat2",
        File,
        "",
        f(1, 3, 0, 4, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(86),
        "link",
        File,
        "",
        f(1, 0, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(265),
        "linkat",
        File,
        "",
        f(3, 1, 2, 4, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(88),
        "symlink",
        File,
        "",
        f(1, 0, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(266),
        "symlinkat",
        File,
        "",
        f(2, 0, 1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(90),
        "chmod",
        File,
        "",
        f(0, -1, -1, -1, 1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(268),
        "fchmodat",
        File,
        "",
        f(1, -1, 0, -1, 2, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(452),
        "fchmodat2",
        File,
        "",
        f(1, -1, 0, 3, 2, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(92),
        "chown",
        File,
        "",
        f(0, -1, -1, -1, -1, 1, 2, OPEN_NONE)
    ),
    sc!(
        Some(94),
        "lchown",
        File,
        "",
        f(0, -1, -1, -1, -1, 1, 2, OPEN_NONE)
    ),
    sc!(
        Some(260),
        "fchownat",
        File,
        "",
        f(1, -1, 0, 4, -1, 2, 3, OPEN_NONE)
    ),
    sc!(
        Some(42),
        "connect",
        Network,
        "sys_enter_connect + cgroup/connect4|6"
    ),
    sc!(Some(49), "bind", Network, "sys_enter_bind"),
    sc!(Some(50), "listen", Network, "sys_enter_listen"),
    sc!(Some(43), "accept", Network, "sys_exit_accept"),
    sc!(Some(288), "accept4", Network, "sys_exit_accept4"),
    sc!(Some(105), "setuid", Privilege, "", g(-1)),
    sc!(Some(106), "setgid", Privilege, "", g(-1)),
    sc!(Some(113), "setreuid", Privilege, "", g(-1)),
    sc!(Some(114), "setregid", Privilege, "", g(-1)),
    sc!(Some(117), "setresuid", Privilege, "", g(-1)),
    sc!(Some(119), "setresgid", Privilege, "", g(-1)),
    sc!(Some(122), "setfsuid", Privilege, "", g(-1)),
    sc!(Some(123), "setfsgid", Privilege, "", g(-1)),
    sc!(Some(126), "capset", Privilege, "", g(-1)),
    sc!(Some(101), "ptrace", Privilege, "", g(-1)),
    sc!(Some(311), "process_vm_writev", Privilege, "", g(-1)),
    sc!(Some(319), "memfd_create", Privilege, "", g(0)),
    sc!(Some(175), "init_module", Privilege, "", g(2)),
    sc!(Some(313), "finit_module", Privilege, "", g(1)),
    sc!(Some(176), "delete_module", Privilege, "", g(0)),
    sc!(Some(165), "mount", Privilege, "", g(1)),
    sc!(Some(166), "umount2", Privilege, "", g(0)),
    sc!(Some(272), "unshare", Privilege, "", g(-1)),
    sc!(Some(308), "setns", Privilege, "", g(-1)),
    sc!(Some(161), "chroot", Privilege, "", g(0)),
    sc!(Some(155), "pivot_root", Privilege, "", g(0)),
    sc!(Some(246), "kexec_load", Privilege, "", g(-1)),
    sc!(Some(320), "kexec_file_load", Privilege, "", g(4)),
    sc!(Some(321), "bpf", Privilege, "", g(-1)),
    sc!(Some(298), "perf_event_open", Privilege, "", g(-1)),
    sc!(Some(135), "personality", Privilege, "", g(-1)),
    sc!(Some(250), "keyctl", Privilege, "", g(-1)),
];

/// The name of an x86_64 syscall number from the coverage table.
pub fn syscall_name(nr: u32) -> Option<&'static str> {
    COVERAGE.iter().find(|s| s.nr == Some(nr)).map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_descriptors_name_a_path_and_opens_their_flags() {
        for s in COVERAGE {
            let Some(d) = s.desc else { continue };
            assert!(d.kind == 1 || d.kind == 2);
            if d.kind == 1 {
                assert!((0..6).contains(&d.path), "{}", s.name);
                if d.open_kind != OPEN_NONE && d.open_kind != OPEN_CREAT {
                    assert!(d.flags >= 0, "{}", s.name);
                }
            }
            assert!(d.string < 6 && d.path2 < 6 && d.mode < 6);
            assert_eq!(d.to_bytes().len(), 16);
        }
    }

    #[test]
    fn coverage_has_40_plus_syscalls_and_unique_numbers() {
        let nrs: Vec<u32> = COVERAGE.iter().filter_map(|s| s.nr).collect();
        assert!(nrs.len() >= 40, "{}", nrs.len());
        let mut sorted = nrs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), nrs.len());
        assert_eq!(syscall_name(59), Some("execve"));
        assert_eq!(syscall_name(9999), None);
    }

    #[test]
    fn every_syscall_hook_exists_in_the_bpf_source() {
        let src = include_str!("../bpf/runtime.bpf.c");
        for s in COVERAGE.iter().filter(|s| s.nr.is_some()) {
            let hook = s.hook.split_whitespace().next().unwrap_or_default();
            let sec = if hook.starts_with("raw_tp/") {
                format!("SEC(\"{hook}\")")
            } else {
                format!("SEC(\"tracepoint/syscalls/{hook}\")")
            };
            assert!(src.contains(&sec), "{sec}");
            assert_eq!(s.desc.is_some(), hook == "raw_tp/sys_enter", "{}", s.name);
        }
    }
}
