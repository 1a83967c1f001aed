//! The few system calls this crate makes itself (everything else goes
//! through aya): the monotonic clock, interface lookup and mounting bpffs.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::Error;

/// `CLOCK_MONOTONIC` in nanoseconds: the clock `bpf_ktime_get_ns()` reads.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// The index of interface `name`, or [`Error::UnknownInterface`].
pub fn if_index(name: &str) -> Result<u32, Error> {
    let c = CString::new(name).map_err(|_| Error::UnknownInterface(name.to_string()))?;
    if name.is_empty() || name.len() >= libc::IF_NAMESIZE {
        return Err(Error::UnknownInterface(name.to_string()));
    }
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        Err(Error::UnknownInterface(name.to_string()))
    } else {
        Ok(idx)
    }
}

const BPF_FS_MAGIC: i64 = 0xcafe4a11;

/// True when `path` is on a bpf filesystem.
pub fn is_bpffs(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `st` is writable.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    rc == 0 && st.f_type as i64 == BPF_FS_MAGIC
}

/// Mounts bpffs on `path` (normally `/sys/fs/bpf`) unless it is there already.
pub fn ensure_bpffs(path: &Path) -> Result<(), Error> {
    if is_bpffs(path) {
        return Ok(());
    }
    std::fs::create_dir_all(path).map_err(|source| Error::Io {
        what: format!("creating {}", path.display()),
        source,
    })?;
    let target = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Error::Io {
        what: format!("mounting bpffs on {}", path.display()),
        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
    })?;
    let fstype = c"bpf";
    // SAFETY: all pointers are valid NUL-terminated strings; data is NULL.
    let rc = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(Error::Io {
            what: format!("mounting bpffs on {}", path.display()),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Takes an exclusive `flock` on directory `dir` (released when the file is
/// dropped): serialises rule-set changes between processes.
pub fn lock_dir(dir: &Path) -> Result<std::fs::File, Error> {
    let f = std::fs::File::open(dir).map_err(|source| Error::Io {
        what: format!("opening {} to lock it", dir.display()),
        source,
    })?;
    // SAFETY: `f` is an open descriptor for the duration of the call.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    if rc != 0 {
        return Err(Error::Io {
            what: format!("locking {}", dir.display()),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_advances_and_loopback_exists() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(a > 0 && b >= a);
        assert!(if_index("lo").is_ok());
        let e = if_index("wafio-nope0").unwrap_err().to_string();
        assert!(e.contains("wafio-nope0"), "{e}");
        assert!(if_index("").is_err());
        assert!(if_index("a\0b").is_err());
    }

    #[test]
    fn directory_lock_is_exclusive() {
        let dir = std::env::temp_dir().join(format!("wafio-xdp-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let held = lock_dir(&dir).unwrap();
        let other = std::fs::File::open(&dir).unwrap();
        // SAFETY: valid descriptor.
        let rc = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, -1, "a second exclusive lock must fail while held");
        drop(held);
        // SAFETY: valid descriptor.
        let rc = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, 0);
        drop(other);
        std::fs::remove_dir(&dir).unwrap();
    }
}

/// `bpf(2)` commands on many map elements at once (Linux 5.6+; hash maps
/// natively, LPM tries through the kernel's generic loop).
const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;
const BPF_MAP_UPDATE_BATCH: libc::c_long = 26;
const BPF_MAP_DELETE_BATCH: libc::c_long = 27;

/// The `batch` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// Whether batch commands are tried (see [`use_batch_calls`]).
static BATCH_CALLS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// With `false`, map writes, reads and deletes take one system call per
/// element, as on a kernel without batch commands (before Linux 5.6),
/// which the crate otherwise falls back to by itself. For tests of that
/// path; the default is `true`.
#[doc(hidden)]
pub fn use_batch_calls(enabled: bool) {
    BATCH_CALLS.store(enabled, std::sync::atomic::Ordering::Relaxed);
}

/// Runs one `bpf(2)` command on an attribute block of type `A` (a
/// `repr(C)` member of `union bpf_attr`).
fn bpf_cmd<A>(cmd: libc::c_long, attr: &mut A) -> std::io::Result<()> {
    // SAFETY: `attr` is a valid, writable `bpf_attr` member for `cmd`; the
    // pointers in it are null or reference buffers the caller keeps alive,
    // sized for the map's keys and values (batches: for `count` of them,
    // and tokens of at least the key size).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut A as *mut libc::c_void,
            std::mem::size_of::<A>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Runs one batch command; returns how many elements it processed, with
/// the error that stopped it, if any.
fn map_batch(cmd: libc::c_long, attr: &mut BatchAttr) -> (u32, Option<std::io::Error>) {
    if !BATCH_CALLS.load(std::sync::atomic::Ordering::Relaxed) {
        // What a kernel without the command answers.
        return (0, Some(std::io::Error::from_raw_os_error(libc::EINVAL)));
    }
    let err = bpf_cmd(cmd, attr).err();
    (attr.count, err)
}

/// Writes `count` elements: `keys` and `values` hold them back to back at
/// the map's key and value sizes. Returns how many were written before an
/// error.
pub(crate) fn map_update_batch(
    fd: std::os::fd::BorrowedFd<'_>,
    keys: &[u8],
    values: &[u8],
    count: u32,
) -> (u32, Option<std::io::Error>) {
    let mut attr = BatchAttr {
        keys: keys.as_ptr() as u64,
        values: values.as_ptr() as u64,
        count,
        map_fd: fd.as_raw_fd() as u32,
        ..BatchAttr::default()
    };
    map_batch(BPF_MAP_UPDATE_BATCH, &mut attr)
}

/// Deletes `count` keys (back to back in `keys`). Returns how many were
/// deleted before an error (`ENOENT`: the next key was not there).
pub(crate) fn map_delete_batch(
    fd: std::os::fd::BorrowedFd<'_>,
    keys: &[u8],
    count: u32,
) -> (u32, Option<std::io::Error>) {
    let mut attr = BatchAttr {
        keys: keys.as_ptr() as u64,
        count,
        map_fd: fd.as_raw_fd() as u32,
        ..BatchAttr::default()
    };
    map_batch(BPF_MAP_DELETE_BATCH, &mut attr)
}

/// Reads up to `count` elements into `keys` and `values`, from where the
/// token `in_batch` says the last call stopped (`None`: the start); the
/// token to continue from goes to `out_batch`. `ENOENT` marks the end of
/// the map (elements read with it are valid).
pub(crate) fn map_lookup_batch(
    fd: std::os::fd::BorrowedFd<'_>,
    in_batch: Option<&[u8]>,
    out_batch: &mut [u8],
    keys: &mut [u8],
    values: &mut [u8],
    count: u32,
) -> (u32, Option<std::io::Error>) {
    let mut attr = BatchAttr {
        in_batch: in_batch.map_or(0, |b| b.as_ptr() as u64),
        out_batch: out_batch.as_mut_ptr() as u64,
        keys: keys.as_mut_ptr() as u64,
        values: values.as_mut_ptr() as u64,
        count,
        map_fd: fd.as_raw_fd() as u32,
        ..BatchAttr::default()
    };
    map_batch(BPF_MAP_LOOKUP_BATCH, &mut attr)
}

/// Single-element commands, for kernels without the batch ones.
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;

/// The element member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// Whether a batch command failed because the kernel does not have it
/// (before Linux 5.6, or for a map type without batch operations).
pub(crate) fn batch_unsupported(e: &std::io::Error) -> bool {
    // 524 is the kernel's internal ENOTSUPP, which leaks to user space.
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::EOPNOTSUPP | libc::ENOSYS | 524)
    )
}

/// `BPF_MAP_UPDATE_ELEM` of one key and value (`BPF_ANY`).
pub(crate) fn map_update_elem(
    fd: std::os::fd::BorrowedFd<'_>,
    key: &[u8],
    value: &[u8],
) -> std::io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value: value.as_ptr() as u64,
        ..ElemAttr::default()
    };
    bpf_cmd(BPF_MAP_UPDATE_ELEM, &mut attr)
}

/// `BPF_MAP_DELETE_ELEM` of one key.
pub(crate) fn map_delete_elem(fd: std::os::fd::BorrowedFd<'_>, key: &[u8]) -> std::io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        ..ElemAttr::default()
    };
    bpf_cmd(BPF_MAP_DELETE_ELEM, &mut attr)
}

/// `BPF_MAP_LOOKUP_ELEM`: the value of `key` into `value`.
pub(crate) fn map_lookup_elem(
    fd: std::os::fd::BorrowedFd<'_>,
    key: &[u8],
    value: &mut [u8],
) -> std::io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value: value.as_mut_ptr() as u64,
        ..ElemAttr::default()
    };
    bpf_cmd(BPF_MAP_LOOKUP_ELEM, &mut attr)
}

/// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (`None`: the first) into
/// `next`; `ENOENT` at the end.
pub(crate) fn map_next_key(
    fd: std::os::fd::BorrowedFd<'_>,
    key: Option<&[u8]>,
    next: &mut [u8],
) -> std::io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.map_or(0, |k| k.as_ptr() as u64),
        value: next.as_mut_ptr() as u64,
        ..ElemAttr::default()
    };
    bpf_cmd(BPF_MAP_GET_NEXT_KEY, &mut attr)
}
