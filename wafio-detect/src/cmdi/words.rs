//! The command vocabulary: names of programs and builtins attackers run.
//!
//! The table is only a vocabulary; whether a word is a command is decided by
//! the shell syntax around it (see the parent module). `Strong` names are
//! not ordinary words in English or Spanish (`whoami`, `uname`, `wget`);
//! `Weak` names are (`cat`, `ping`, `sleep`, `type`) and need shell-looking
//! arguments before they count.

/// How distinctive a command name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strength {
    /// Not a common word: a command on its own.
    Strong,
    /// Also a common word: needs shell-looking arguments.
    Weak,
}

use Strength::{Strong as S, Weak as W};

/// Sorted by name (checked by a unit test), lower case.
static COMMANDS: &[(&str, Strength)] = &[
    ("apt-get", S),
    ("arp", S),
    ("awk", S),
    ("base64", S),
    ("bash", S),
    ("bitsadmin", S),
    ("busybox", S),
    ("call", W),
    ("cat", W),
    ("cd", W),
    ("certutil", S),
    ("chmod", S),
    ("chown", S),
    ("cmd", S),
    ("command", W),
    ("copy", W),
    ("cp", W),
    ("crontab", S),
    ("cscript", S),
    ("csh", S),
    ("curl", W),
    ("dash", W),
    ("date", W),
    ("del", W),
    ("df", W),
    ("dig", W),
    ("dir", S),
    ("dmesg", S),
    ("du", W),
    ("echo", W),
    ("env", S),
    ("eval", W),
    ("exec", W),
    ("exit", W),
    ("export", W),
    ("expr", W),
    ("false", W),
    ("fetch", W),
    ("file", W),
    ("find", W),
    ("findstr", S),
    ("ftp", W),
    ("gcc", S),
    ("getent", S),
    ("grep", S),
    ("head", W),
    ("history", W),
    ("host", W),
    ("hostname", S),
    ("icacls", S),
    ("id", S),
    ("iex", S),
    ("ifconfig", S),
    ("invoke-expression", S),
    ("invoke-webrequest", S),
    ("ip", W),
    ("ipconfig", S),
    ("irb", S),
    ("java", W),
    ("kill", W),
    ("killall", S),
    ("ksh", S),
    ("last", W),
    ("less", W),
    ("ln", W),
    ("ls", S),
    ("lsb_release", S),
    ("lua", W),
    ("lwp-download", S),
    ("mkfifo", S),
    ("more", W),
    ("move", W),
    ("mshta", S),
    ("mv", W),
    ("nc", S),
    ("ncat", S),
    ("net", W),
    ("netcat", S),
    ("netsh", S),
    ("netstat", S),
    ("new-object", S),
    ("nmap", S),
    ("node", W),
    ("nohup", S),
    ("nslookup", S),
    ("perl", S),
    ("php", S),
    ("ping", W),
    ("pkill", S),
    ("powershell", S),
    ("print", W),
    ("printenv", S),
    ("ps", W),
    ("pwd", S),
    ("pwsh", S),
    ("python", S),
    ("python2", S),
    ("python3", S),
    ("rd", W),
    ("read", W),
    ("reg", W),
    ("regsvr32", S),
    ("ren", W),
    ("rm", S),
    ("rmdir", S),
    ("route", W),
    ("ruby", W),
    ("rundll32", S),
    ("schtasks", S),
    ("scp", S),
    ("sed", W),
    ("set", W),
    ("setsid", S),
    ("sh", S),
    ("sleep", W),
    ("socat", S),
    ("sort", W),
    ("source", W),
    ("ssh", S),
    ("start", W),
    ("start-process", S),
    ("su", W),
    ("sudo", S),
    ("sysinfo", S),
    ("systeminfo", S),
    ("tail", W),
    ("tar", W),
    ("taskkill", S),
    ("tasklist", S),
    ("tclsh", S),
    ("tee", W),
    ("telnet", S),
    ("test", W),
    ("tftp", S),
    ("time", W),
    ("timeout", W),
    ("touch", W),
    ("traceroute", S),
    ("tracert", S),
    ("true", W),
    ("type", W),
    ("uname", S),
    ("unzip", W),
    ("useradd", S),
    ("wait", W),
    ("wc", W),
    ("wget", S),
    ("whereis", S),
    ("which", W),
    ("who", W),
    ("whoami", S),
    ("whois", S),
    ("wmic", S),
    ("wscript", S),
    ("xargs", S),
    ("xterm", S),
    ("xxd", S),
    ("yes", W),
    ("zip", W),
    ("zsh", S),
];

/// Glob markers a normalised word may hold.
pub(crate) const ANY_ONE: u8 = 0x01;
/// Matches any run of characters.
pub(crate) const ANY_RUN: u8 = 0x02;

/// Looks a normalised, lower-case name up; globs match table names.
pub(crate) fn lookup(name: &[u8], glob: bool) -> Option<(&'static str, Strength)> {
    if name.is_empty() {
        return None;
    }
    if glob {
        return lookup_glob(name);
    }
    if name.len() > MAX_NAME || !name[0].is_ascii_lowercase() {
        return None;
    }
    // Bucket by first letter and length: most benign words are rejected
    // with one table load, the rest compared with a handful of names.
    // The names of a bucket share the first byte and the length (at least
    // two, as every name's): the second byte rejects most of them.
    let k = (name[0] - b'a') as usize;
    // One-byte words have an empty bucket (every name has two bytes).
    let second = name.get(1).copied().unwrap_or(0);
    if SECOND[k][name.len()] & second_bit(second) == 0 {
        return None;
    }
    for &i in &BUCKETS[k][name.len()] {
        if i == EMPTY {
            break;
        }
        let (cmd, strength) = COMMANDS[i as usize];
        let n = cmd.as_bytes();
        if n[1] == name[1] && cmp_short(n, name).is_eq() {
            return Some((cmd, strength));
        }
    }
    None
}

/// [`lookup`] of a glob: out of line, so that the plain lookup (most
/// calls, most of them rejected at once) needs no saved registers.
#[inline(never)]
fn lookup_glob(name: &[u8]) -> Option<(&'static str, Strength)> {
    // A glob made only of wildcards names nothing in particular.
    if name.iter().all(|&c| c == ANY_ONE || c == ANY_RUN) {
        return None;
    }
    COMMANDS
        .iter()
        .copied()
        .find(|(n, _)| glob_match(name, n.as_bytes()))
}

/// Most names sharing a first letter and a length (a larger bucket fails
/// the build).
const BUCKET: usize = 8;
const EMPTY: u8 = u8::MAX;

/// `BUCKETS[letter][len]`: indices into [`COMMANDS`] of the names starting
/// with that letter and of that length, then [`EMPTY`].
static BUCKETS: [[[u8; BUCKET]; MAX_NAME + 1]; 26] = buckets();

const fn buckets() -> [[[u8; BUCKET]; MAX_NAME + 1]; 26] {
    assert!(COMMANDS.len() < EMPTY as usize);
    let mut b = [[[EMPTY; BUCKET]; MAX_NAME + 1]; 26];
    let mut i = 0;
    while i < COMMANDS.len() {
        let n = COMMANDS[i].0.as_bytes();
        let (letter, len) = ((n[0] - b'a') as usize, n.len());
        assert!(len >= 2, "a COMMANDS name shorter than two bytes");
        let mut k = 0;
        while b[letter][len][k] != EMPTY {
            k += 1;
            assert!(k < BUCKET, "COMMANDS bucket overflow");
        }
        b[letter][len][k] = i as u8;
        i += 1;
    }
    b
}

/// `SECOND[letter][len]`: the [`second_bit`]s of the second bytes of the
/// names in `BUCKETS[letter][len]`. A word whose second byte no name of its
/// bucket has (`chr` beside `cat`, `cut`, `cmd`) is rejected with one load.
static SECOND: [[u64; MAX_NAME + 1]; 26] = {
    let mut m = [[0u64; MAX_NAME + 1]; 26];
    let mut i = 0;
    while i < COMMANDS.len() {
        let n = COMMANDS[i].0.as_bytes();
        m[(n[0] - b'a') as usize][n.len()] |= second_bit(n[1]);
        i += 1;
    }
    m
};

/// A byte folded onto one of 64 bits (its low six bits): a filter, exact
/// for letters and digits, conservative for the rest.
const fn second_bit(c: u8) -> u64 {
    1 << (c & 63)
}

/// Longest name in the table.
const MAX_NAME: usize = 17;

fn cmp_short(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Iterative glob match with `ANY_ONE` / `ANY_RUN`; O(pattern × text).
fn glob_match(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pat.len() && (pat[p] == ANY_ONE || pat[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pat.len() && pat[p] == ANY_RUN {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while p < pat.len() && pat[p] == ANY_RUN {
        p += 1;
    }
    p == pat.len()
}

/// Functions of PHP, Python, Node and Perl that run a shell command line.
const EXEC_FUNCTIONS: &[&[u8]] = &[
    b"system",
    b"exec",
    b"eval",
    b"passthru",
    b"shell_exec",
    b"popen",
    b"proc_open",
    b"pcntl_exec",
    b"execsync",
    b"spawnsync",
    b"spawn",
    b"check_output",
    b"getoutput",
    b"getstatusoutput",
];

/// Whether `name` is one of [`EXEC_FUNCTIONS`] (ASCII case-insensitive).
pub(crate) fn is_exec_function(name: &[u8]) -> bool {
    EXEC_FUNCTIONS.iter().any(|f| name.eq_ignore_ascii_case(f))
}

/// Last bytes of the [`EXEC_FUNCTIONS`] names, in both cases: a call
/// whose callee ends otherwise (`chr(`, `concat(`) needs no lookup.
static EXEC_LAST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < EXEC_FUNCTIONS.len() {
        let f = EXEC_FUNCTIONS[i];
        let c = f[f.len() - 1];
        t[c.to_ascii_lowercase() as usize] = true;
        t[c.to_ascii_uppercase() as usize] = true;
        i += 1;
    }
    t
};

/// Whether a callee ending in `c` can be one of [`EXEC_FUNCTIONS`].
pub(crate) fn may_end_exec_function(c: u8) -> bool {
    EXEC_LAST[c as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_lower_case() {
        assert!(COMMANDS
            .iter()
            .all(|(n, _)| n.len() <= MAX_NAME && n.as_bytes()[0].is_ascii_lowercase()));
        for w in COMMANDS.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
        assert!(COMMANDS
            .iter()
            .all(|(n, _)| n.bytes().all(|c| !c.is_ascii_uppercase())));
    }

    #[test]
    fn every_name_is_found_through_its_bucket() {
        for &(n, strength) in COMMANDS {
            assert_eq!(lookup(n.as_bytes(), false), Some((n, strength)), "{n}");
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(lookup(b"whoami", false), Some(("whoami", Strength::Strong)));
        assert_eq!(lookup(b"cat", false).map(|x| x.1), Some(Strength::Weak));
        assert_eq!(lookup(b"catalog", false), None);
        assert_eq!(
            lookup(&[b'c', ANY_ONE, b't'], true).map(|x| x.0),
            Some("cat")
        );
        assert_eq!(
            lookup(&[b'w', ANY_RUN, b'i'], true).map(|x| x.0),
            Some("whoami")
        );
        assert_eq!(lookup(&[ANY_ONE, ANY_ONE, ANY_ONE], true), None);
    }
}
