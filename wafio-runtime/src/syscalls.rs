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
    /// How the dispatcher program (`wafio_syscall`, attached to the
    /// syscall's own `hook` tracepoint) decodes it (`None`: own program).
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
            hook: $hook,
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
        "sys_enter_open",
        f(0, -1, -1, 1, 2, -1, -1, OPEN_FLAGS)
    ),
    sc!(
        Some(257),
        "openat",
        File,
        "sys_enter_openat",
        f(1, -1, 0, 2, 3, -1, -1, OPEN_FLAGS)
    ),
    sc!(
        Some(437),
        "openat2",
        File,
        "sys_enter_openat2",
        f(1, -1, 0, 2, -1, -1, -1, OPEN_HOW)
    ),
    sc!(
        Some(85),
        "creat",
        File,
        "sys_enter_creat",
        f(0, -1, -1, -1, 1, -1, -1, OPEN_CREAT)
    ),
    sc!(
        Some(76),
        "truncate",
        File,
        "sys_enter_truncate",
        f(0, -1, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(87),
        "unlink",
        File,
        "sys_enter_unlink",
        f(0, -1, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(263),
        "unlinkat",
        File,
        "sys_enter_unlinkat",
        f(1, -1, 0, 2, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(84),
        "rmdir",
        File,
        "sys_enter_rmdir",
        f(0, -1, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(83),
        "mkdir",
        File,
        "sys_enter_mkdir",
        f(0, -1, -1, -1, 1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(258),
        "mkdirat",
        File,
        "sys_enter_mkdirat",
        f(1, -1, 0, -1, 2, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(82),
        "rename",
        File,
        "sys_enter_rename",
        f(0, 1, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(264),
        "renameat",
        File,
        "sys_enter_renameat",
        f(1, 3, 0, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(316),
        "renameat2",
        File,
        "sys_enter_renameat2",
        f(1, 3, 0, 4, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(86),
        "link",
        File,
        "sys_enter_link",
        f(1, 0, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(265),
        "linkat",
        File,
        "sys_enter_linkat",
        f(3, 1, 2, 4, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(88),
        "symlink",
        File,
        "sys_enter_symlink",
        f(1, 0, -1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(266),
        "symlinkat",
        File,
        "sys_enter_symlinkat",
        f(2, 0, 1, -1, -1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(90),
        "chmod",
        File,
        "sys_enter_chmod",
        f(0, -1, -1, -1, 1, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(268),
        "fchmodat",
        File,
        "sys_enter_fchmodat",
        f(1, -1, 0, -1, 2, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(452),
        "fchmodat2",
        File,
        "sys_enter_fchmodat2",
        f(1, -1, 0, 3, 2, -1, -1, OPEN_NONE)
    ),
    sc!(
        Some(92),
        "chown",
        File,
        "sys_enter_chown",
        f(0, -1, -1, -1, -1, 1, 2, OPEN_NONE)
    ),
    sc!(
        Some(94),
        "lchown",
        File,
        "sys_enter_lchown",
        f(0, -1, -1, -1, -1, 1, 2, OPEN_NONE)
    ),
    sc!(
        Some(260),
        "fchownat",
        File,
        "sys_enter_fchownat",
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
    sc!(Some(105), "setuid", Privilege, "sys_enter_setuid", g(-1)),
    sc!(Some(106), "setgid", Privilege, "sys_enter_setgid", g(-1)),
    sc!(
        Some(113),
        "setreuid",
        Privilege,
        "sys_enter_setreuid",
        g(-1)
    ),
    sc!(
        Some(114),
        "setregid",
        Privilege,
        "sys_enter_setregid",
        g(-1)
    ),
    sc!(
        Some(117),
        "setresuid",
        Privilege,
        "sys_enter_setresuid",
        g(-1)
    ),
    sc!(
        Some(119),
        "setresgid",
        Privilege,
        "sys_enter_setresgid",
        g(-1)
    ),
    sc!(
        Some(122),
        "setfsuid",
        Privilege,
        "sys_enter_setfsuid",
        g(-1)
    ),
    sc!(
        Some(123),
        "setfsgid",
        Privilege,
        "sys_enter_setfsgid",
        g(-1)
    ),
    sc!(Some(126), "capset", Privilege, "sys_enter_capset", g(-1)),
    sc!(Some(101), "ptrace", Privilege, "sys_enter_ptrace", g(-1)),
    sc!(
        Some(311),
        "process_vm_writev",
        Privilege,
        "sys_enter_process_vm_writev",
        g(-1)
    ),
    sc!(
        Some(319),
        "memfd_create",
        Privilege,
        "sys_enter_memfd_create",
        g(0)
    ),
    sc!(
        Some(175),
        "init_module",
        Privilege,
        "sys_enter_init_module",
        g(2)
    ),
    sc!(
        Some(313),
        "finit_module",
        Privilege,
        "sys_enter_finit_module",
        g(1)
    ),
    sc!(
        Some(176),
        "delete_module",
        Privilege,
        "sys_enter_delete_module",
        g(0)
    ),
    sc!(Some(165), "mount", Privilege, "sys_enter_mount", g(1)),
    sc!(Some(166), "umount2", Privilege, "sys_enter_umount", g(0)),
    sc!(Some(272), "unshare", Privilege, "sys_enter_unshare", g(-1)),
    sc!(Some(308), "setns", Privilege, "sys_enter_setns", g(-1)),
    sc!(Some(161), "chroot", Privilege, "sys_enter_chroot", g(0)),
    sc!(
        Some(155),
        "pivot_root",
        Privilege,
        "sys_enter_pivot_root",
        g(0)
    ),
    sc!(
        Some(246),
        "kexec_load",
        Privilege,
        "sys_enter_kexec_load",
        g(-1)
    ),
    sc!(
        Some(320),
        "kexec_file_load",
        Privilege,
        "sys_enter_kexec_file_load",
        g(4)
    ),
    sc!(Some(321), "bpf", Privilege, "sys_enter_bpf", g(-1)),
    sc!(
        Some(298),
        "perf_event_open",
        Privilege,
        "sys_enter_perf_event_open",
        g(-1)
    ),
    sc!(
        Some(135),
        "personality",
        Privilege,
        "sys_enter_personality",
        g(-1)
    ),
    sc!(Some(250), "keyctl", Privilege, "sys_enter_keyctl", g(-1)),
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
            let sec = if s.desc.is_some() {
                // Dispatched: the shared program, attached to sys_enter_<name>.
                assert!(hook.starts_with("sys_enter_"), "{}: {hook}", s.name);
                "SEC(\"tracepoint/syscalls/sys_enter_dispatch\" #N)".to_string()
            } else if hook.starts_with("raw_tp/") {
                format!("SEC(\"{hook}\")")
            } else {
                format!("SEC(\"tracepoint/syscalls/{hook}\")")
            };
            assert!(src.contains(&sec), "{sec}");
        }
    }
}
