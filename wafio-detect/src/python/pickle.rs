//! A pickle opcode walker.
//!
//! Reads a value as a pickle stream from its first byte (protocols 0–5),
//! following each opcode's argument layout, and records imports (`GLOBAL`
//! `c module\nname\n`, `INST`, `STACK_GLOBAL` after two string pushes) and
//! calls (`REDUCE`, `INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`, `BUILD`). The walk
//! stops at `STOP`, at the first unknown opcode or at a malformed argument.
//!
//! A stream that imports a callable and calls it is a payload; importing
//! from `os`, `posix`, `nt`, `subprocess`, `builtins`, … makes it certain.
//!
//! # Limits
//! At most `MAX_OPS` opcodes are read; line arguments are at most
//! `MAX_LINE` bytes; linear time, no allocation.

/// Most opcodes walked.
pub const MAX_OPS: usize = 4096;
/// Longest newline-terminated argument.
pub const MAX_LINE: usize = 256;

/// What the walk found.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Verdict {
    /// Opcodes read before the walk stopped.
    pub ops: usize,
    /// A global was imported.
    pub import: bool,
    /// The import names a module or function that runs code.
    pub dangerous: bool,
    /// A call opcode ran after an import.
    pub call: bool,
    /// A protocol header (`\x80` 2..=5) opened the stream.
    pub header: bool,
    /// Reached `STOP`.
    pub stopped: bool,
}

const DANGEROUS_MODULES: &[&[u8]] = &[
    b"os",
    b"posix",
    b"nt",
    b"subprocess",
    b"builtins",
    b"__builtin__",
    b"sys",
    b"commands",
    b"pty",
    b"socket",
    b"importlib",
    b"runpy",
    b"code",
    b"pickle",
    b"_pickle",
    b"shutil",
    b"platform",
    b"webbrowser",
    b"ctypes",
];

const DANGEROUS_NAMES: &[&[u8]] = &[
    b"system",
    b"popen",
    b"eval",
    b"exec",
    b"execfile",
    b"compile",
    b"__import__",
    b"getattr",
    b"open",
    b"spawn",
    b"Popen",
    b"call",
    b"check_output",
    b"check_call",
    b"run",
    b"getoutput",
    b"loads",
    b"import_module",
];

fn line(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let rest = b.get(i..)?;
    let n = memchr::memchr(b'\n', &rest[..rest.len().min(MAX_LINE + 1)])?;
    Some((&rest[..n], i + n + 1))
}

fn le_len(b: &[u8], i: usize, n: usize) -> Option<usize> {
    let bytes = b.get(i..i + n)?;
    let mut v: u64 = 0;
    for (k, &x) in bytes.iter().enumerate() {
        v |= (x as u64) << (8 * k);
    }
    usize::try_from(v).ok()
}

fn judge_global(module: &[u8], name: &[u8]) -> bool {
    let module = module.trim_ascii();
    let root = module.split(|&c| c == b'.').next().unwrap_or(module);
    DANGEROUS_MODULES.contains(&root) || DANGEROUS_NAMES.contains(&name.trim_ascii())
}

/// Walks `b` as a pickle stream.
pub(crate) fn walk(b: &[u8]) -> Verdict {
    let mut v = Verdict::default();
    let mut i = 0;
    // The last two strings pushed, for STACK_GLOBAL.
    let mut strs: [&[u8]; 2] = [&[], &[]];
    while i < b.len() && v.ops < MAX_OPS {
        let op = b[i];
        i += 1;
        let mut pushed: Option<&[u8]> = None;
        let next = match op {
            0x80 => b.get(i).map(|&p| {
                if v.ops == 0 && (2..=5).contains(&p) {
                    v.header = true;
                }
                i + 1
            }),
            b'c' | b'i' => {
                // GLOBAL / INST: module\nname\n
                let Some((module, j)) = line(b, i) else { break };
                let Some((name, k)) = line(b, j) else { break };
                if module.is_empty() || name.is_empty() {
                    break;
                }
                v.import = true;
                v.dangerous |= judge_global(module, name);
                if op == b'i' {
                    v.call = true;
                }
                Some(k)
            }
            0x93 => {
                v.import = true;
                v.dangerous |= judge_global(strs[0], strs[1]);
                Some(i)
            }
            b'R' | b'o' | 0x81 | 0x92 | b'b' => {
                if v.import {
                    v.call = true;
                }
                Some(i)
            }
            b'.' => {
                v.ops += 1;
                v.stopped = true;
                break;
            }
            // string pushes
            0x8c | b'U' | b'C' => le_len(b, i, 1).and_then(|n| {
                pushed = b.get(i + 1..i + 1 + n);
                pushed.map(|_| i + 1 + n)
            }),
            b'X' | b'T' | b'B' => le_len(b, i, 4).and_then(|n| {
                pushed = b.get(i + 4..i.checked_add(4)?.checked_add(n)?);
                pushed.map(|p| i + 4 + p.len())
            }),
            0x8d | 0x8e | 0x96 => le_len(b, i, 8).and_then(|n| i.checked_add(8)?.checked_add(n)),
            b'S' | b'V' => line(b, i).map(|(s, j)| {
                let s = s.trim_ascii();
                let s = s
                    .strip_prefix(b"'")
                    .and_then(|s| s.strip_suffix(b"'"))
                    .or_else(|| s.strip_prefix(b"\"").and_then(|s| s.strip_suffix(b"\"")))
                    .unwrap_or(s);
                pushed = Some(s);
                j
            }),
            // line arguments
            b'I' | b'L' | b'F' | b'p' | b'g' | b'P' => line(b, i).map(|(_, j)| j),
            // fixed-size arguments
            b'K' | b'q' | b'h' | 0x82 | 0x8a => Some(i + 1).filter(|&j| j <= b.len()),
            b'M' | 0x83 => Some(i + 2).filter(|&j| j <= b.len()),
            b'J' | b'r' | b'j' | 0x84 => Some(i + 4).filter(|&j| j <= b.len()),
            b'G' | 0x95 => Some(i + 8).filter(|&j| j <= b.len()),
            0x8b => le_len(b, i, 4).and_then(|n| i.checked_add(4)?.checked_add(n)),
            // no argument
            b'(' | b't' | b')' | b'l' | b']' | b'd' | b'}' | b'a' | b'e' | b's' | b'u' | b'N'
            | 0x88 | 0x89 | 0x85 | 0x86 | 0x87 | 0x94 | b'0' | b'1' | b'2' | b'Q' | 0x8f | 0x90
            | 0x91 | 0x97 | 0x98 => Some(i),
            _ => None,
        };
        match next {
            Some(j) if j <= b.len() => i = j,
            _ => break,
        }
        if let Some(s) = pushed {
            strs = [strs[1], s];
        }
        v.ops += 1;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol0_os_system() {
        let v = walk(b"cos\nsystem\n(S'id'\ntR.");
        assert!(v.import && v.dangerous && v.call && v.stopped);
    }

    #[test]
    fn protocol4_stack_global() {
        let p = b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.";
        let v = walk(p);
        assert!(
            v.header && v.import && v.dangerous && v.call && v.stopped,
            "{v:?}"
        );
    }

    #[test]
    fn plain_text_is_not_pickle() {
        let v = walk(b"cats are nice");
        assert!(!v.import);
        let v = walk(b"");
        assert_eq!(v.ops, 0);
    }
}
