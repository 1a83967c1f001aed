//! A shell word reader that undoes the usual command-name evasions.
//!
//! One call reads one word as POSIX sh, cmd.exe and PowerShell would split
//! it, into a fixed buffer (no allocation), undoing: quotes inside the word
//! (`c'a't`, `c"a"t`), backslash escapes (`c\at`), cmd.exe carets
//! (`c^a^t`), empty variables (`c$@at`, `ca$u\t`, `${x}`), empty
//! substitutions (`c$()at`, ``c``at``), substring expansions that yield a
//! slash (`${PATH:0:1}`), `$IFS`/`${IFS}` used as a blank, brace expansion
//! (`{cat,/etc/passwd}`), and globs (`/???/c?t`, `/bin/c[a]t`), which are
//! kept as wildcard markers for [`super::words::lookup`].

use super::words::{ANY_ONE, ANY_RUN};

/// Longest normalised word kept; longer words are cut and flagged.
pub(crate) const MAX_WORD: usize = 48;

/// Longest `${...}`, `[...]` or `{a,b}` construct looked into, in bytes.
const MAX_CONSTRUCT: usize = 64;

/// One shell word.
#[derive(Clone, Debug)]
pub(crate) struct Word {
    /// Offset of the first byte of the word.
    pub start: usize,
    /// Offset just after the word (after a terminating `$IFS`, too).
    pub end: usize,
    buf: [u8; MAX_WORD],
    len: usize,
    /// Quotes, backslashes, carets, empty expansions or `$IFS` were undone.
    pub evasion: bool,
    /// The word holds glob wildcards.
    pub glob: bool,
    /// The word ended with `$IFS`, a blank in disguise.
    pub ifs_end: bool,
    /// The word came from a brace expansion `{cmd,arg}`.
    pub brace: bool,
    /// The word is an assignment `NAME=value`.
    pub assignment: bool,
    /// Quote characters seen.
    pub quotes: u32,
}

impl Word {
    /// The normalised, lower-case word.
    pub fn text(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, c: u8) {
        if self.len < MAX_WORD {
            self.buf[self.len] = c.to_ascii_lowercase();
            self.len += 1;
        }
    }
}

/// Bytes that end a word (shell metacharacters and blanks).
pub(crate) fn is_word_end(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | 0x0b
            | 0x0c
            | b';'
            | b'|'
            | b'&'
            | b'<'
            | b'>'
            | b'('
            | b')'
            | b'`'
    )
}

fn find_within(b: &[u8], from: usize, want: u8, stop: &[u8]) -> Option<usize> {
    let end = b.len().min(from + MAX_CONSTRUCT);
    (from..end)
        .take_while(|&k| !stop.contains(&b[k]))
        .find(|&k| b[k] == want)
}

/// The end of a *plain* word starting at `i`: ASCII lower-case letters,
/// digits and `_` (at most [`MAX_WORD`] of them), ended by the end of the
/// value or by a word end other than a backtick. [`read_word`] reads such a
/// word as its own bytes with no flag set and ends it there, so a caller can
/// look the bytes up without reading a [`Word`] (`||chr(` in a SQL payload
/// is one such word per operator). `None` for any other word.
pub(crate) fn plain_word_end(b: &[u8], i: usize) -> Option<usize> {
    let mut end = i;
    while end < b.len()
        && (b[end].is_ascii_lowercase() || b[end].is_ascii_digit() || b[end] == b'_')
    {
        end += 1;
    }
    let ended = match b.get(end) {
        None => true,
        Some(&c) => c != b'`' && is_word_end(c),
    };
    (end > i && end - i <= MAX_WORD && ended).then_some(end)
}

/// Reads the word starting at `i` (`i < b.len()`).
pub(crate) fn read_word(b: &[u8], i: usize) -> Word {
    let mut w = Word {
        start: i,
        end: i,
        buf: [0; MAX_WORD],
        len: 0,
        evasion: false,
        glob: false,
        ifs_end: false,
        brace: false,
        assignment: false,
        quotes: 0,
    };
    let win_path =
        b.len() > i + 2 && b[i].is_ascii_alphabetic() && b[i + 1] == b':' && b[i + 2] == b'\\';
    // Brace expansion: `{cmd,arg,...}` expands to `cmd arg ...`.
    if b.get(i) == Some(&b'{') {
        if let Some(comma) = find_within(b, i + 1, b',', b" \t\n}") {
            if let Some(close) = find_within(b, comma, b'}', b" \t\n") {
                for &c in &b[i + 1..comma] {
                    if c != b'\'' && c != b'"' && c != b'\\' {
                        w.push(c);
                    }
                }
                w.brace = true;
                w.evasion = true;
                w.end = close + 1;
                return w;
            }
        }
    }
    let mut j = i;
    while j < b.len() {
        let c = b[j];
        if c == b'`' && b.get(j + 1) == Some(&b'`') {
            // Empty command substitution.
            w.evasion = true;
            j += 2;
            continue;
        }
        if is_word_end(c) {
            break;
        }
        match c {
            b'\'' | b'"' => {
                w.quotes += 1;
                if j > i
                    && b.get(j + 1)
                        .is_some_and(|&n| !is_word_end(n) && n != b'\'' && n != b'"')
                    && w.len > 0
                {
                    w.evasion = true;
                }
                j += 1;
            }
            b'\\' if win_path => {
                w.push(b'/');
                j += 1;
            }
            // A literal `\n` or `\r` ends the word (see the operator scan).
            b'\\'
                if w.len > 0
                    && matches!(b.get(j + 1), Some(b'n' | b'r'))
                    && !b.get(j + 2).is_some_and(u8::is_ascii_lowercase) =>
            {
                break
            }
            b'\\' => {
                match b.get(j + 1) {
                    Some(b'\n') => {}
                    Some(&n) => w.push(n),
                    None => {}
                }
                w.evasion = true;
                j += 2;
            }
            b'^' => {
                w.evasion = true;
                j += 1;
            }
            b'$' => {
                let rest = &b[j + 1..];
                if rest.starts_with(b"IFS")
                    && !rest
                        .get(3)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    w.ifs_end = true;
                    w.evasion = true;
                    j += 4;
                    // `$IFS$9`: the positional parameter is empty too.
                    if b.get(j) == Some(&b'$') && b.get(j + 1).is_some_and(|c| c.is_ascii_digit()) {
                        j += 2;
                    }
                    break;
                }
                if rest.starts_with(b"{IFS}") {
                    w.ifs_end = true;
                    w.evasion = true;
                    j += 6;
                    break;
                }
                match rest.first() {
                    Some(b'{') => match find_within(b, j + 2, b'}', b" \t\n") {
                        Some(close) => {
                            if b[j + 2..close].contains(&b':') {
                                // `${PATH:0:1}` and the like: a slash.
                                w.push(b'/');
                            }
                            w.evasion = true;
                            j = close + 1;
                        }
                        None => {
                            w.push(b'$');
                            j += 1;
                        }
                    },
                    Some(b'(') if rest.get(1) == Some(&b')') => {
                        w.evasion = true;
                        j += 3;
                    }
                    Some(b'(') => break,
                    Some(&n) if n.is_ascii_alphabetic() || n == b'_' => {
                        j += 1;
                        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                            j += 1;
                        }
                        w.evasion = true;
                    }
                    Some(&n) if n.is_ascii_digit() || n == b'@' || n == b'*' => {
                        w.evasion = true;
                        j += 2;
                    }
                    _ => {
                        w.push(b'$');
                        j += 1;
                    }
                }
            }
            b'?' => {
                w.push(ANY_ONE);
                w.glob = true;
                j += 1;
            }
            b'*' => {
                w.push(ANY_RUN);
                w.glob = true;
                j += 1;
            }
            b'[' => match find_within(b, j + 1, b']', b" \t\n") {
                Some(close) if close > j + 1 => {
                    // One character from the class: keep the first as the
                    // most likely, as wildcards would over-match.
                    w.push(ANY_ONE);
                    w.glob = true;
                    j = close + 1;
                }
                _ => {
                    w.push(b'[');
                    j += 1;
                }
            },
            b'=' => {
                if w.len > 0
                    && w.quotes == 0
                    && w.text()
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    w.assignment = true;
                }
                w.push(c);
                j += 1;
            }
            _ => {
                w.push(c);
                j += 1;
            }
        }
    }
    w.end = j.min(b.len());
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(s: &str) -> Vec<u8> {
        read_word(s.as_bytes(), 0).text().to_vec()
    }

    proptest::proptest! {
        /// A plain word reads as its own bytes, with no flag, up to
        /// [`plain_word_end`].
        #[test]
        fn plain_words_read_as_themselves(
            v in proptest::collection::vec(
                proptest::sample::select(b"ab_z09`' |;&()<>=$\\{}[]?*^\"\nA:/.-".to_vec()),
                1..60,
            ),
            i in 0usize..60,
        ) {
            let i = i % v.len();
            if let Some(e) = plain_word_end(&v, i) {
                let w = read_word(&v, i);
                proptest::prop_assert_eq!(w.text(), &v[i..e]);
                proptest::prop_assert_eq!(w.end, e);
                proptest::prop_assert!(
                    !w.evasion && !w.glob && !w.ifs_end && !w.brace && !w.assignment && w.quotes == 0
                );
            }
        }
    }

    #[test]
    fn plain_word_ends() {
        assert_eq!(plain_word_end(b"||chr(113)", 2), Some(5));
        assert_eq!(plain_word_end(b"id", 0), Some(2));
        assert_eq!(plain_word_end(b"c'a't", 0), None);
        assert_eq!(plain_word_end(b"id``x", 0), None);
        assert_eq!(plain_word_end(b"Id", 0), None);
        assert_eq!(plain_word_end(&[b'a'; MAX_WORD + 1], 0), None);
    }

    #[test]
    fn evasions_are_undone() {
        assert_eq!(word("c'a't /etc/passwd"), b"cat");
        assert_eq!(word("c\"a\"t"), b"cat");
        assert_eq!(word("c\\at"), b"cat");
        assert_eq!(word("c^a^t"), b"cat");
        assert_eq!(word("w$@hoami"), b"whoami");
        assert_eq!(word("who$u\\ami"), b"whoami");
        assert_eq!(word("c$()at"), b"cat");
        assert_eq!(word("cat$IFS/etc/passwd"), b"cat");
        assert_eq!(word("{cat,/etc/passwd}"), b"cat");
        assert_eq!(word("${PATH:0:1}bin${PATH:0:1}id"), b"/bin/id");
        assert_eq!(
            word("/bin/c[a]t"),
            [b'/', b'b', b'i', b'n', b'/', b'c', ANY_ONE, b't']
        );
        assert!(read_word(b"/???/c?t", 0).glob);
        assert!(read_word(b"c'a't", 0).evasion);
        assert!(!read_word(b"'uname'", 0).evasion);
        assert!(read_word(b"id=3", 0).assignment);
    }

    #[test]
    fn long_words_are_bounded() {
        let long = "a".repeat(1000);
        let w = read_word(long.as_bytes(), 0);
        assert_eq!(w.text().len(), MAX_WORD);
        assert_eq!(w.end, 1000);
    }
}
