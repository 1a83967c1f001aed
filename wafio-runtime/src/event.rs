//! Decoding of the kernel's ring-buffer records into typed events.
//!
//! The byte layouts mirror the structs of `bpf/runtime.bpf.c` (little
//! endian, x86_64). Decoding never panics: a short or unknown record is a
//! [`DecodeError`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::syscalls::syscall_name;

/// Length of a path buffer in the kernel (255 bytes + NUL).
pub const PATH_LEN: usize = 256;
/// Maximum bytes of argv captured at exec (longer command lines are truncated).
pub const ARGS_LEN: usize = 1024;
const HDR_LEN: usize = 72;

/// Kind numbers shared with the kernel side.
pub(crate) mod kind {
    pub const EXEC: u32 = 1;
    pub const FORK: u32 = 2;
    pub const EXIT: u32 = 3;
    pub const FILE: u32 = 4;
    pub const NET: u32 = 5;
    pub const SYSCALL: u32 = 6;
    pub const KILLED: u32 = 7;
    pub const DENIED_CONNECT: u32 = 8;
    /// One past the largest kind (size of the LOST map).
    pub const MAX: u32 = 9;
    pub fn name(k: u32) -> &'static str {
        match k {
            EXEC => "exec",
            FORK => "fork",
            EXIT => "exit",
            FILE => "file",
            NET => "net",
            SYSCALL => "syscall",
            KILLED => "killed",
            DENIED_CONNECT => "denied-connect",
            _ => "unknown",
        }
    }
}

/// Why a record could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The record is shorter than its kind requires.
    #[error("event record of kind {kind} is {len} bytes, expected at least {need}")]
    Short {
        /// Kind number.
        kind: u32,
        /// Bytes received.
        len: usize,
        /// Bytes required.
        need: usize,
    },
    /// The kind number is not known to this version.
    #[error("unknown event kind {0}")]
    UnknownKind(u32),
}

/// Fields common to every event: who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    /// Process id (thread group id).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Kernel monotonic timestamp, nanoseconds.
    pub ts_ns: u64,
    /// cgroup v2 id (the inode number of the cgroup directory).
    pub cgroup_id: u64,
    /// Pid namespace inode number.
    pub pid_ns: u32,
    /// Mount namespace inode number.
    pub mnt_ns: u32,
    /// Task command name (at most 15 bytes).
    pub comm: String,
}

/// A typed event from the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// A successful exec (the new image is in place).
    Exec {
        /// Who.
        #[serde(flatten)]
        header: Header,
        /// Path passed to exec (as given, maybe relative or `/dev/fd/N`).
        filename: String,
        /// argv, split at NULs (see `args_truncated`).
        argv: Vec<String>,
        /// argv was longer than [`ARGS_LEN`] bytes and was cut.
        args_truncated: bool,
        /// Number of arguments the kernel counted.
        argc: u32,
        /// Inode of the executed file.
        inode: u64,
        /// Device (kernel `dev_t`) of the executed file.
        dev: u32,
        /// Link count of the executed file (0: deleted or memfd, fileless).
        nlink: u32,
        /// File mode of fd 0 at exec (0 if closed).
        stdin_mode: u32,
        /// File mode of fd 1 at exec (0 if closed).
        stdout_mode: u32,
    },
    /// A new process (not a thread).
    Fork {
        /// The parent.
        #[serde(flatten)]
        header: Header,
        /// Child pid.
        child_pid: u32,
    },
    /// A process ended.
    Exit {
        /// Who.
        #[serde(flatten)]
        header: Header,
        /// Exit status (`code` of `exit(code)`), `None` if killed by a signal.
        exit_code: Option<i32>,
        /// Terminating signal, if any.
        signal: Option<i32>,
    },
    /// A file operation on a watched prefix (or a relative path when enabled).
    File {
        /// Who.
        #[serde(flatten)]
        header: Header,
        /// Syscall name.
        syscall: &'static str,
        /// Path argument.
        path: String,
        /// Second path (rename/link target, symlink target), empty if none.
        #[serde(skip_serializing_if = "String::is_empty")]
        path2: String,
        /// open flags / unlinkat/renameat2/fchownat flags.
        flags: u32,
        /// Mode (open/creat/mkdir/chmod).
        mode: u32,
        /// New owner (chown family).
        owner: u32,
        /// New group (chown family).
        group: u32,
        /// Directory fd (-100 = AT_FDCWD).
        dirfd: i32,
        /// true when the operation only reads (reported for read-watched prefixes).
        read_only: bool,
    },
    /// connect/bind/listen/accept of an IPv4/IPv6 socket.
    Net {
        /// Who.
        #[serde(flatten)]
        header: Header,
        /// Syscall name.
        syscall: &'static str,
        /// Socket fd (connect/bind/listen).
        fd: i32,
        /// accept: the new fd.
        ret: i64,
        /// Address: destination (connect), local (bind, listen), peer (accept).
        addr: IpAddr,
        /// Port (same meaning as `addr`).
        port: u16,
        /// listen: backlog; accept: local port.
        extra: u32,
    },
    /// A privilege or tampering syscall.
    Syscall {
        /// Who.
        #[serde(flatten)]
        header: Header,
        /// Syscall name.
        syscall: &'static str,
        /// Syscall number.
        nr: u32,
        /// The six raw arguments.
        args: [u64; 6],
        /// The string argument, if the syscall has one we capture.
        #[serde(skip_serializing_if = "String::is_empty")]
        arg_str: String,
    },
    /// The kernel sent SIGKILL at exec entry because of a kill rule.
    Killed {
        /// Who.
        #[serde(flatten)]
        header: Header,
        /// Rule id in the kill map.
        rule_id: u32,
        /// Path that was being executed.
        filename: String,
    },
    /// A cgroup connect hook refused a connection with EPERM.
    DeniedConnect {
        /// Who.
        #[serde(flatten)]
        header: Header,
        /// Rule id.
        rule_id: u32,
        /// Destination.
        addr: IpAddr,
        /// Destination port.
        port: u16,
    },
}

impl Event {
    /// The common header.
    pub fn header(&self) -> &Header {
        match self {
            Event::Exec { header, .. }
            | Event::Fork { header, .. }
            | Event::Exit { header, .. }
            | Event::File { header, .. }
            | Event::Net { header, .. }
            | Event::Syscall { header, .. }
            | Event::Killed { header, .. }
            | Event::DeniedConnect { header, .. } => header,
        }
    }
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    b.get(o..o + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    b.get(o..o + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    b.get(o..o + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}
/// A NUL-terminated string inside `b[o..o+max]`, lossily decoded.
fn cstr_at(b: &[u8], o: usize, max: usize) -> String {
    let s = b.get(o..(o + max).min(b.len())).unwrap_or_default();
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).into_owned()
}

fn addr_at(b: &[u8], o: usize, family: u16) -> IpAddr {
    let mut a = [0u8; 16];
    if let Some(s) = b.get(o..o + 16) {
        a.copy_from_slice(s);
    }
    if family == 10 {
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
    }
}

/// Split a NUL-separated argv block.
fn split_argv(b: &[u8]) -> Vec<String> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Vec::new();
    }
    b.split(|&c| c == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn header(b: &[u8]) -> Header {
    Header {
        pid: u32_at(b, 4),
        tid: u32_at(b, 8),
        ppid: u32_at(b, 12),
        uid: u32_at(b, 16),
        gid: u32_at(b, 20),
        euid: u32_at(b, 24),
        egid: u32_at(b, 28),
        ts_ns: u64_at(b, 32),
        cgroup_id: u64_at(b, 40),
        pid_ns: u32_at(b, 48),
        mnt_ns: u32_at(b, 52),
        comm: cstr_at(b, 56, 16),
    }
}

/// The event kind number of a raw record (0 if too short).
pub(crate) fn raw_kind(b: &[u8]) -> u32 {
    u32_at(b, 0)
}

/// Decode one ring-buffer record.
pub fn decode(b: &[u8]) -> Result<Event, DecodeError> {
    let k = raw_kind(b);
    let need = match k {
        kind::EXEC => 112 + PATH_LEN + ARGS_LEN,
        kind::FORK | kind::EXIT => HDR_LEN + 8,
        kind::FILE => 96 + 2 * PATH_LEN,
        kind::NET | kind::DENIED_CONNECT => 120,
        kind::SYSCALL => 128 + PATH_LEN,
        kind::KILLED => 80 + PATH_LEN,
        other if b.len() >= 4 => return Err(DecodeError::UnknownKind(other)),
        _ => HDR_LEN,
    };
    if b.len() < need {
        return Err(DecodeError::Short {
            kind: k,
            len: b.len(),
            need,
        });
    }
    let header = header(b);
    Ok(match k {
        kind::EXEC => {
            let args_len = (u32_at(b, 100) as usize).min(ARGS_LEN);
            Event::Exec {
                header,
                inode: u64_at(b, 72),
                dev: u32_at(b, 80),
                nlink: u32_at(b, 84),
                stdin_mode: u32_at(b, 88),
                stdout_mode: u32_at(b, 92),
                args_truncated: u32_at(b, 104) != 0,
                argc: u32_at(b, 108),
                filename: cstr_at(b, 112, PATH_LEN),
                argv: split_argv(&b[368..368 + args_len]),
            }
        }
        kind::FORK => Event::Fork {
            header,
            child_pid: u32_at(b, 72),
        },
        kind::EXIT => {
            let status = u32_at(b, 72) as i32;
            let sig = status & 0x7f;
            Event::Exit {
                header,
                exit_code: (sig == 0).then_some((status >> 8) & 0xff),
                signal: (sig != 0).then_some(sig),
            }
        }
        kind::FILE => {
            let nr = u32_at(b, 72);
            let flags = u32_at(b, 76);
            let opens = matches!(nr, 2 | 257 | 437);
            Event::File {
                header,
                syscall: syscall_name(nr).unwrap_or("unknown"),
                flags,
                mode: u32_at(b, 80),
                owner: u32_at(b, 84),
                group: u32_at(b, 88),
                dirfd: u32_at(b, 92) as i32,
                path: cstr_at(b, 96, PATH_LEN),
                path2: cstr_at(b, 352, PATH_LEN),
                read_only: opens && flags & (0o1 | 0o2 | 0o100 | 0o1000) == 0,
            }
        }
        kind::NET => {
            let family = u16_at(b, 88);
            Event::Net {
                header,
                syscall: syscall_name(u32_at(b, 72)).unwrap_or("unknown"),
                fd: u32_at(b, 76) as i32,
                ret: u64_at(b, 80) as i64,
                port: u16_at(b, 90),
                extra: u32_at(b, 92),
                addr: addr_at(b, 96, family),
            }
        }
        kind::DENIED_CONNECT => {
            let family = u16_at(b, 88);
            Event::DeniedConnect {
                header,
                rule_id: u32_at(b, 112),
                port: u16_at(b, 90),
                addr: addr_at(b, 96, family),
            }
        }
        kind::SYSCALL => {
            let nr = u32_at(b, 72);
            let mut args = [0u64; 6];
            for (i, a) in args.iter_mut().enumerate() {
                *a = u64_at(b, 80 + 8 * i);
            }
            Event::Syscall {
                header,
                syscall: syscall_name(nr).unwrap_or("unknown"),
                nr,
                args,
                arg_str: cstr_at(b, 128, PATH_LEN),
            }
        }
        kind::KILLED => Event::Killed {
            header,
            rule_id: u32_at(b, 72),
            filename: cstr_at(b, 80, PATH_LEN),
        },
        other => return Err(DecodeError::UnknownKind(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(kind: u32, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[0..4].copy_from_slice(&kind.to_le_bytes());
        b[4..8].copy_from_slice(&42u32.to_le_bytes());
        b[56..60].copy_from_slice(b"bash");
        b
    }

    #[test]
    fn decodes_exec_with_argv() {
        let mut b = hdr(kind::EXEC, 1392);
        b[112..121].copy_from_slice(b"/bin/true");
        let args = b"true\0-x\0";
        b[100..104].copy_from_slice(&(args.len() as u32).to_le_bytes());
        b[368..368 + args.len()].copy_from_slice(args);
        let Ok(Event::Exec {
            header,
            filename,
            argv,
            ..
        }) = decode(&b)
        else {
            panic!("not exec")
        };
        assert_eq!(header.pid, 42);
        assert_eq!(header.comm, "bash");
        assert_eq!(filename, "/bin/true");
        assert_eq!(argv, vec!["true", "-x"]);
    }

    #[test]
    fn decodes_exit_status() {
        let mut b = hdr(kind::EXIT, 80);
        b[72..76].copy_from_slice(&(3u32 << 8).to_le_bytes());
        let Ok(Event::Exit {
            exit_code, signal, ..
        }) = decode(&b)
        else {
            panic!()
        };
        assert_eq!((exit_code, signal), (Some(3), None));
        b[72..76].copy_from_slice(&9u32.to_le_bytes());
        let Ok(Event::Exit {
            exit_code, signal, ..
        }) = decode(&b)
        else {
            panic!()
        };
        assert_eq!((exit_code, signal), (None, Some(9)));
    }

    #[test]
    fn short_and_unknown_records_are_errors() {
        assert!(matches!(
            decode(&hdr(kind::EXEC, 100)),
            Err(DecodeError::Short { .. })
        ));
        assert_eq!(decode(&hdr(77, 200)), Err(DecodeError::UnknownKind(77)));
        assert!(decode(&[]).is_err());
        assert!(decode(&[1, 0]).is_err());
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let mut seed = 0x1234_5678u32;
        for len in 0..1500 {
            let mut b = vec![0u8; len];
            for x in b.iter_mut() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *x = (seed >> 16) as u8;
            }
            if len >= 4 {
                b[0] = (len % 10) as u8;
                b[1..4].fill(0);
            }
            let _ = decode(&b);
        }
    }
}
