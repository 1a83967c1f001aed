//! A streaming path normaliser: splits one token into segments the way a
//! file-system resolver would, without allocating, and records what the
//! resolution would do (climb, escape above the start, non-canonical forms).
//!
//! Units read: `/` and `\` (and the literal spellings `0x2f`, `0x5c`) are
//! separators; `.` and the spellings `0x2e` (and `x2e` right after a dot, as
//! left by a stripped backslash of `\x2e`) are dots. A segment made only of
//! two or more dots is a climb (`..`, and `...`, `....` which Windows
//! resolves as `..` and which survive naive `../` stripping); `..;x` (a
//! Tomcat path parameter) is a climb too. A segment that starts with two or
//! more dots glued to a name (`..{file}`, `....web-inf`) is a climb followed
//! by a name, counted only when the token has a separator.

/// What resolving one token as a path would do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PathStats {
    /// The token starts at a root: a separator, a drive (`c:/`), or the path
    /// part of a URL.
    pub absolute: bool,
    /// The token is a URL (`scheme://`) or protocol-relative URL (`//host`).
    pub url: bool,
    /// Separators seen.
    pub seps: u32,
    /// Climbing segments (`..`, `...`, `..;`, glued `..name`).
    pub climbs: u32,
    /// Climbs that would go above the starting directory.
    pub escapes: u32,
    /// A name segment follows the last escape.
    pub name_after_escape: bool,
    /// `.` segments.
    pub dot_segments: u32,
    /// Empty segments (`//`) after the first separator.
    pub empty_segments: u32,
    /// Separators at the start of the token.
    pub leading_seps: u32,
    /// Name segments (neither empty nor made of dots).
    pub names: u32,
    /// A segment of at least [`OVERLONG_SEGMENT`] units then a climb, or
    /// containing a run of two or more dots: a path-buffer truncation probe.
    pub overlong_climb: bool,
    /// An absolute token whose segment holds an unexpanded `{name}` template.
    pub placeholder: bool,
    /// The first name segment of an absolute token is a system directory
    /// (`etc`, `proc`, `windows`, ...).
    pub system_root: bool,
}

/// Segment length from which a segment counts as over-long.
pub(crate) const OVERLONG_SEGMENT: u32 = 128;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// A NUL byte, dropped by C-string handling (`.%00.` is `..`).
    Skip,
    Sep,
    Dot,
    Other(u8),
}

fn starts_with_ci(b: &[u8], i: usize, pat: &[u8]) -> bool {
    b.len() >= i + pat.len() && b[i..i + pat.len()].eq_ignore_ascii_case(pat)
}

/// Reads one unit at `i`; returns it and its length in bytes.
fn unit(b: &[u8], i: usize, prev_dot: bool) -> (Unit, usize) {
    match b[i] {
        b'/' | b'\\' => (Unit::Sep, 1),
        b'.' => (Unit::Dot, 1),
        0 => (Unit::Skip, 1),
        // `?` left by a lossy conversion of a non-ASCII dot, in a dot run.
        b'?' if prev_dot || matches!(b.get(i + 1), Some(b'.' | b'?')) => (Unit::Dot, 1),
        b'0' if starts_with_ci(b, i, b"0x2e") => (Unit::Dot, 4),
        b'0' if starts_with_ci(b, i, b"0x2f") || starts_with_ci(b, i, b"0x5c") => (Unit::Sep, 4),
        b'x' | b'X' if prev_dot && starts_with_ci(b, i, b"x2e") => (Unit::Dot, 3),
        // `..2f`: a percent escape whose `%` was stripped.
        b'2' | b'5' if prev_dot && (starts_with_ci(b, i, b"2f") || starts_with_ci(b, i, b"5c")) => {
            (Unit::Sep, 2)
        }
        // A percent escape the decoder could not undo (`%c0%9v`, `%uEFC8`,
        // `%%35%%63`): junk that IIS-style decoders turn into a separator.
        b'%' => percent_junk(b, i),
        c if c >= 0xC0 => multibyte(b, i),
        c => (Unit::Other(c), 1),
    }
}

/// The first bytes of the units [`unit`] can read as [`Unit::Sep`]: the
/// separators, `0x2f`/`0x5c`, `2f`/`5c` after a dot, percent escapes and
/// multi-byte sequences.
static SEP_START: [bool; 256] = crate::byte_table(b"/\\025%", 0xC0);

fn hex_byte(b: &[u8], i: usize) -> Option<u8> {
    if b.get(i) != Some(&b'%') {
        return None;
    }
    let h = (*b.get(i + 1)? as char).to_digit(16)?;
    let l = (*b.get(i + 2)? as char).to_digit(16)?;
    Some((h * 16 + l) as u8)
}

/// A percent escape left in the view: the raw view of an encoded value, or
/// one the decoder could not undo (`%c0%9v`, `%uEFC8`, `%%35%%63`). Valid
/// escapes of a dot or a separator, and overlong sequences read laxly, are
/// those; anything else undecodable is junk that IIS-style decoders turn
/// into a separator.
fn percent_junk(b: &[u8], i: usize) -> (Unit, usize) {
    if let Some(v) = hex_byte(b, i) {
        match v {
            b'.' => return (Unit::Dot, 3),
            b'/' | b'\\' => return (Unit::Sep, 3),
            0xC0..=0xFD => {
                // Overlong sequence spelt as escapes: `%c0%ae`, `%e0%80%ae`.
                let mut j = i + 3;
                let mut last = None;
                for _ in 0..5 {
                    match hex_byte(b, j) {
                        Some(c) => {
                            j += 3;
                            last = Some(c);
                            if c != 0x80 {
                                break;
                            }
                        }
                        None => break,
                    }
                }
                return match last {
                    Some(c) if c & 0x3F == b'.' => (Unit::Dot, j - i),
                    Some(_) => (Unit::Sep, j - i),
                    None => (Unit::Sep, 3),
                };
            }
            c if c.is_ascii_alphanumeric() => return (Unit::Other(c), 3),
            _ => return (Unit::Sep, 3),
        }
    }
    let alnum = |k: usize| b.get(k).is_some_and(u8::is_ascii_alphanumeric);
    if matches!(b.get(i + 1), Some(b'u' | b'U')) && (2..6).all(|k| alnum(i + k)) {
        return (Unit::Sep, 6);
    }
    // `%%35%%63` (nested escapes): one junk unit.
    let mut j = i;
    let mut n = 0;
    while j < b.len() && n < 4 && b[j] == b'%' {
        j += 1;
        if b.get(j) == Some(&b'%') {
            j += 1;
        }
        if alnum(j) && alnum(j + 1) {
            j += 2;
            n += 1;
        } else {
            break;
        }
    }
    if n > 0 {
        (Unit::Sep, j - i)
    } else {
        (Unit::Other(b'%'), 1)
    }
}

/// Non-ASCII units: Unicode slashes and dots, and overlong or malformed
/// UTF-8 read the lax way (low six bits of the last byte), as decoders that
/// produced the classic IIS and Tomcat bugs did.
fn multibyte(b: &[u8], i: usize) -> (Unit, usize) {
    let lead = b[i];
    let n = match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        0xF8..=0xFB => 5,
        _ => 6,
    };
    let avail = b[i + 1..]
        .iter()
        .take(n - 1)
        .take_while(|&&c| (0x80..=0xBF).contains(&c))
        .count();
    let seq = &b[i..i + 1 + avail];
    let lax = |last: u8| {
        let v = last & 0x3F;
        if v == b'.' {
            Unit::Dot
        } else {
            Unit::Sep
        }
    };
    if avail == n - 1 {
        return match seq {
            // ∕ ∖ ／ ＼ ⁄ and the IIS best-fit code points U+EFC8, U+F025.
            [0xE2, 0x88, 0x95]
            | [0xE2, 0x88, 0x96]
            | [0xEF, 0xBC, 0x8F]
            | [0xEF, 0xBC, 0xBC]
            | [0xE2, 0x81, 0x84]
            | [0xEE, 0xBF, 0x88]
            | [0xEF, 0x80, 0xA5] => (Unit::Sep, n),
            // ． and ․
            [0xEF, 0xBC, 0x8E] | [0xE2, 0x80, 0xA4] => (Unit::Dot, n),
            _ => {
                let overlong = matches!(lead, 0xC0 | 0xC1 | 0xF8..=0xFF)
                    || (lead == 0xE0 && seq[1] < 0xA0)
                    || (lead == 0xF0 && seq[1] < 0x90);
                if overlong {
                    (lax(seq[n - 1]), n)
                } else {
                    (Unit::Other(lead), n)
                }
            }
        };
    }
    // Malformed: `%c0%ee` style (C0/C1 then a non-`%` byte) decodes laxly.
    if avail == 0 && matches!(lead, 0xC0 | 0xC1) {
        if let Some(&next) = b.get(i + 1) {
            if next != b'%' {
                return (lax(next), 2);
            }
        }
    }
    (Unit::Sep, 1 + avail)
}

/// Whether the token holds a separator in any spelling.
pub(crate) fn has_separator(t: &[u8]) -> bool {
    // Most tokens (`utl_inaddr.get_host_address`) hold no byte that can
    // start a separator unit: one table load per byte rejects them.
    t.iter().any(|&c| SEP_START[c as usize]) && separator_unit(t)
}

/// Whether some unit of `t` is a separator (the walk behind
/// [`has_separator`]).
fn separator_unit(t: &[u8]) -> bool {
    let mut i = 0;
    let mut prev_dot = false;
    while i < t.len() {
        let (u, n) = unit(t, i, prev_dot);
        match u {
            Unit::Sep => return true,
            Unit::Dot => prev_dot = true,
            Unit::Other(_) => prev_dot = false,
            Unit::Skip => {}
        }
        i += n;
    }
    false
}

const SYSTEM_DIRS: &[&[u8]] = &[
    b"etc",
    b"proc",
    b"sys",
    b"var",
    b"usr",
    b"bin",
    b"sbin",
    b"boot",
    b"root",
    b"dev",
    b"windows",
    b"winnt",
    b"inetpub",
    b"system32",
    b"private",
    b"library",
];

/// Per-segment accumulator.
#[derive(Default)]
struct Seg {
    len: u32,
    lead_dots: u32,
    /// Only dots so far (then possibly a `;` parameter).
    all_dots: bool,
    in_param: bool,
    dot_run: u32,
    max_inner_dot_run: u32,
    brace_open: bool,
    placeholder: bool,
    name_start: usize,
    name_end: usize,
}

/// Bytes that [`unit`] reads as `Unit::Other(c)` of length 1 when the byte
/// before was not a dot, and that [`analyse`] treats like any other such
/// byte (not `;`, `{`, `}`).
static PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    let special = b"/\\.\0?0%;{}";
    let mut k = 0;
    while k < special.len() {
        t[special[k] as usize] = false;
        k += 1;
    }
    let mut c = 0xC0;
    while c < 256 {
        t[c] = false;
        c += 1;
    }
    t
};

/// `://`, searched once per token: the searcher is built once.
static SCHEME_SEP: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"://"));

/// Resolves token `t` (no whitespace inside) as a path.
pub(crate) fn analyse(t: &[u8]) -> PathStats {
    let mut st = PathStats::default();
    let mut i = 0;
    // Roots: `scheme://host`, `//host`, drive `c:` + separator.
    if let Some(p) = SCHEME_SEP.find(t) {
        if p > 0
            && t[..p]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
        {
            st.url = true;
            st.absolute = true;
            let host_start = p + 3;
            i = t[host_start..]
                .iter()
                .position(|&c| c == b'/' || c == b'\\')
                .map_or(t.len(), |q| host_start + q);
        }
    } else if t.len() >= 3
        && t[0].is_ascii_alphabetic()
        && t[1] == b':'
        && matches!(t[2], b'/' | b'\\')
    {
        st.absolute = true;
        i = 2;
    } else if t.len() > 2 && t[0] == b'/' && t[1] == b'/' {
        // Protocol-relative URL when a host name follows.
        let rest = &t[2..];
        let host_len = rest
            .iter()
            .position(|&c| c == b'/' || c == b'\\')
            .unwrap_or(rest.len());
        let host = &rest[..host_len];
        if host.contains(&b'.')
            && host.first().is_some_and(|c| c.is_ascii_alphanumeric())
            && host
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b".-:".contains(c))
        {
            st.url = true;
            st.absolute = true;
            i = 2 + host_len;
        }
    }
    if i < t.len() && matches!(t[i], b'/' | b'\\') {
        st.absolute = true;
    }
    let glued_ok = has_separator(t);
    let mut depth: i32 = 0;
    let mut seg = Seg {
        all_dots: true,
        name_start: i,
        ..Seg::default()
    };
    let mut seg_index = 0u32;
    let mut leading = true;
    let mut overlong_seen = false;
    let mut prev_dot = false;
    loop {
        let (u, n) = if i < t.len() {
            unit(t, i, prev_dot)
        } else {
            (Unit::Sep, 0)
        };
        let at_end = i >= t.len();
        match u {
            Unit::Sep => {
                // Finish the segment.
                if seg.len == 0 {
                    if !at_end {
                        if leading {
                            st.leading_seps += 1;
                        } else {
                            st.empty_segments += 1;
                        }
                    }
                } else {
                    leading = false;
                    let climb_only = seg.all_dots && seg.lead_dots >= 2;
                    let glued = !seg.all_dots && seg.lead_dots >= 2 && glued_ok;
                    if seg.all_dots && seg.lead_dots == 1 {
                        st.dot_segments += 1;
                    } else if climb_only || glued {
                        st.climbs += 1;
                        if overlong_seen {
                            st.overlong_climb = true;
                        }
                        if depth == 0 {
                            st.escapes += 1;
                            st.name_after_escape = glued;
                        } else {
                            depth -= 1;
                        }
                        if glued {
                            depth += 1;
                            st.names += 1;
                        }
                    } else {
                        if st.absolute && depth == 0 && st.climbs == 0 && seg_index == 0 {
                            let name = &t[seg.name_start..seg.name_end.min(t.len())];
                            if SYSTEM_DIRS.iter().any(|d| name.eq_ignore_ascii_case(d)) {
                                st.system_root = true;
                            }
                        }
                        depth = depth.saturating_add(1);
                        st.names += 1;
                        if st.escapes > 0 {
                            st.name_after_escape = true;
                        }
                    }
                    if seg.len >= OVERLONG_SEGMENT {
                        overlong_seen = true;
                        if seg.max_inner_dot_run >= 2 || seg.dot_run >= 2 {
                            st.overlong_climb = true;
                        }
                    }
                    if seg.placeholder && st.absolute {
                        st.placeholder = true;
                    }
                    seg_index += 1;
                }
                if at_end {
                    break;
                }
                st.seps += 1;
                seg = Seg {
                    all_dots: true,
                    name_start: i + n,
                    name_end: i + n,
                    ..Seg::default()
                };
                prev_dot = false;
            }
            Unit::Dot => {
                seg.len += 1;
                if seg.in_param {
                    // Part of a `;param`, ignored.
                } else if seg.all_dots {
                    seg.lead_dots += 1;
                } else {
                    seg.dot_run += 1;
                }
                seg.name_end = i + n;
                prev_dot = true;
            }
            Unit::Skip => {}
            Unit::Other(c) => {
                seg.len += 1;
                if c == b';' && seg.all_dots && seg.lead_dots > 0 {
                    seg.in_param = true;
                } else if !seg.in_param {
                    seg.all_dots = false;
                }
                seg.max_inner_dot_run = seg.max_inner_dot_run.max(seg.dot_run);
                seg.dot_run = 0;
                if c == b'{' {
                    seg.brace_open = true;
                } else if c == b'}' && seg.brace_open {
                    seg.placeholder = true;
                }
                seg.name_end = i + n;
                prev_dot = false;
                // The plain bytes after it would each repeat what this one
                // did: only the length and the name end move.
                let run = t[i + n..]
                    .iter()
                    .take_while(|&&c| PLAIN[c as usize])
                    .count();
                seg.len += run as u32;
                seg.name_end += run;
                i += run;
            }
        }
        i += n;
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pathish() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let atoms: Vec<Vec<u8>> = [
            &b"."[..],
            b"/",
            b"\\",
            b"%",
            b"0",
            b"2",
            b"5",
            b"c",
            b"f",
            b"x",
            b"X",
            b"?",
            b"a",
            b"\0",
            b"%2f",
            b"%2e",
            b"%c0%af",
            b"%u",
            b"%%",
            b"0x2f",
            b"..2f",
            b"\xc0\xaf",
            b"\xe2\x88\x95",
        ]
        .iter()
        .map(|a| a.to_vec())
        .collect();
        let piece = prop_oneof![
            proptest::sample::select(atoms),
            proptest::collection::vec(any::<u8>(), 1..3),
        ];
        proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn separators_start_with_a_sep_start_byte(t in pathish()) {
            if separator_unit(&t) {
                proptest::prop_assert!(t.iter().any(|&c| SEP_START[c as usize]));
            }
        }
    }

    #[test]
    fn plain_climbs() {
        let s = analyse(b"../../etc/passwd");
        assert_eq!((s.climbs, s.escapes, s.name_after_escape), (2, 2, true));
        let s = analyse(b"docs/../readme");
        assert_eq!((s.climbs, s.escapes), (1, 0));
        let s = analyse(b"/aaaa/../x");
        assert_eq!((s.climbs, s.escapes), (1, 0));
    }

    #[test]
    fn evasive_spellings() {
        assert_eq!(analyse(b"....//....//etc/passwd").escapes, 2);
        assert_eq!(analyse(b"/..0x2f..0x2f{file}").escapes, 2);
        assert_eq!(analyse(b"/0x2e0x2e0x5c{file}").escapes, 1);
        assert_eq!(analyse(b"/0x2e0x2ex2e0x2e{file}").escapes, 1);
        assert_eq!(analyse(b"/..;/..;/WEB-INF/web.xml").escapes, 2);
        assert_eq!(analyse(b"/...{file}").escapes, 1);
        assert_eq!(analyse(b"/.../.../x").escapes, 2);
    }

    #[test]
    fn benign_shapes() {
        assert_eq!(
            analyse(b"images/logo.png"),
            PathStats {
                seps: 1,
                names: 2,
                ..PathStats::default()
            }
        );
        assert_eq!(analyse(b"2024/01/02").climbs, 0);
        assert_eq!(analyse(b"1.2...3").climbs, 0);
        let s = analyse(b"https://example.com/a/b.html");
        assert!(s.url && s.escapes == 0 && s.empty_segments == 0);
        let s = analyse(b"//cdn.example.com/lib.js");
        assert!(s.url && s.leading_seps <= 1 && s.names == 1);
    }

    #[test]
    fn roots_and_probes() {
        assert!(analyse(b"/etc/hosts").system_root);
        assert!(analyse(b"c:/windows/win.ini").system_root);
        assert!(!analyse(b"/home/index").system_root);
        assert!(analyse(b"/i{file}").placeholder);
        assert_eq!(analyse(b"////{file}").leading_seps, 4);
        assert_eq!(analyse(b"/.//./{file}").dot_segments, 2);
        let long = format!("/{}/../x", "a".repeat(200));
        assert!(analyse(long.as_bytes()).overlong_climb);
        let long = format!("/{}..x", "a".repeat(200));
        assert!(analyse(long.as_bytes()).overlong_climb);
    }
}
