//! `application/x-www-form-urlencoded` and query-string decoding, the way
//! ModSecurity does it.

/// A decoded `(name, value)` pair.
pub type Pair = (Vec<u8>, Vec<u8>);

/// URL-decodes `input` as ModSecurity's non-strict decoder does: `+` becomes
/// a space, `%XX` (two hex digits, any case) becomes the byte, and an invalid
/// or truncated escape (`%`, `%4`, `%zz`) is kept literally.
pub fn url_decode(input: &[u8]) -> Vec<u8> {
    decode(input, true)
}

/// URL-decodes without turning `+` into a space (for paths).
pub(crate) fn percent_decode(input: &[u8]) -> Vec<u8> {
    decode(input, false)
}

/// [`url_decode`], or with `plus` false [`percent_decode`]: runs without an
/// escape are copied whole.
fn decode(input: &[u8], plus: bool) -> Vec<u8> {
    // Most names and values are short and hold nothing to decode: a plain
    // test of each byte costs less than setting up a vector search.
    let special = |b: &u8| *b == b'%' || (plus && *b == b'+');
    if input.len() < 64 && !input.iter().any(special) {
        return input.to_vec();
    }
    let mut out = Vec::with_capacity(input.len());
    let next = |rest: &[u8]| {
        if plus {
            memchr::memchr2(b'+', b'%', rest)
        } else {
            memchr::memchr(b'%', rest)
        }
    };
    let mut i = 0;
    while let Some(at) = next(&input[i..]) {
        out.extend_from_slice(&input[i..i + at]);
        i += at;
        if input[i] == b'+' {
            out.push(b' ');
            i += 1;
            continue;
        }
        match (input.get(i + 1), input.get(i + 2)) {
            (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                out.push(hex_val(h) << 4 | hex_val(l));
                i += 3;
            }
            _ => {
                out.push(b'%');
                i += 1;
            }
        }
    }
    out.extend_from_slice(&input[i..]);
    out
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Splits a query string or urlencoded body into decoded `(name, value)`
/// pairs, in order: pairs are separated by `&` only (`;` is not a
/// separator), an empty piece is skipped, a piece without `=` is a name with
/// an empty value, and names and values are decoded with [`url_decode`].
///
/// At most `max_args` pairs are returned; the second element of the result
/// is the number of pairs dropped beyond that limit.
pub fn parse_urlencoded(input: &[u8], max_args: usize) -> (Vec<Pair>, usize) {
    let mut out = Vec::new();
    let mut dropped = 0;
    let mut start = 0;
    let ends = memchr::memchr_iter(b'&', input).chain(std::iter::once(input.len()));
    for end in ends {
        let piece = &input[start..end];
        start = end + 1;
        if piece.is_empty() {
            continue;
        }
        if out.len() >= max_args {
            dropped += 1;
            continue;
        }
        let (name, value) = match memchr::memchr(b'=', piece) {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            None => (piece, &[][..]),
        };
        out.push((url_decode(name), url_decode(value)));
    }
    (out, dropped)
}

/// Encodes `input` so that [`url_decode`] gives it back: unreserved bytes as
/// is, space as `+`, everything else `%XX`.
#[cfg(test)]
pub(crate) fn url_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len() * 3);
    for &b in input {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_plus_and_escapes() {
        assert_eq!(url_decode(b"a+b%3C%3e"), b"a b<>");
    }

    #[test]
    fn keeps_invalid_escapes() {
        assert_eq!(url_decode(b"%zz%4%"), b"%zz%4%");
        assert_eq!(url_decode(b"100%"), b"100%");
        assert_eq!(url_decode(b"%%41"), b"%A");
    }

    #[test]
    fn percent_decode_keeps_plus() {
        assert_eq!(percent_decode(b"/a+b/%2e%2E/"), b"/a+b/../");
    }

    #[test]
    fn splits_on_ampersand_only() {
        let (args, dropped) = parse_urlencoded(b"a=1;b=2&c&&d=&=e&f=x=y", 100);
        let expect: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"a".to_vec(), b"1;b=2".to_vec()),
            (b"c".to_vec(), b"".to_vec()),
            (b"d".to_vec(), b"".to_vec()),
            (b"".to_vec(), b"e".to_vec()),
            (b"f".to_vec(), b"x=y".to_vec()),
        ];
        assert_eq!(args, expect);
        assert_eq!(dropped, 0);
    }

    #[test]
    fn counts_dropped_args() {
        let (args, dropped) = parse_urlencoded(b"a=1&b=2&c=3&d=4", 2);
        assert_eq!(args.len(), 2);
        assert_eq!(dropped, 2);
    }

    /// The byte-at-a-time decoder `url_decode` (`plus`) and
    /// `percent_decode` must agree with.
    fn reference(input: &[u8], plus: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            match (input[i], input.get(i + 1), input.get(i + 2)) {
                (b'+', ..) if plus => out.push(b' '),
                (b'%', Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    out.push(hex_val(h) << 4 | hex_val(l));
                    i += 2;
                }
                (b, ..) => out.push(b),
            }
            i += 1;
        }
        out
    }

    proptest! {
        #[test]
        fn decodes_as_the_byte_at_a_time_reference(
            // Up to 100 bytes: values without escapes shorter than 64
            // bytes take a shortcut.
            input in proptest::collection::vec(proptest::sample::select(b"%+aF0zg9 ".to_vec()), 0..100),
        ) {
            prop_assert_eq!(url_decode(&input), reference(&input, true));
            prop_assert_eq!(percent_decode(&input), reference(&input, false));
        }

        #[test]
        fn encode_decode_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(url_decode(url_encode(&bytes).as_bytes()), bytes);
        }

        #[test]
        fn pairs_round_trip(
            pairs in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 1..16),
                 proptest::collection::vec(any::<u8>(), 0..16)),
                0..8)
        ) {
            let encoded: Vec<String> = pairs
                .iter()
                .map(|(n, v)| format!("{}={}", url_encode(n), url_encode(v)))
                .collect();
            let (decoded, dropped) = parse_urlencoded(encoded.join("&").as_bytes(), 100);
            prop_assert_eq!(decoded, pairs);
            prop_assert_eq!(dropped, 0);
        }

        #[test]
        fn splits_as_the_byte_at_a_time_reference(
            input in proptest::collection::vec(proptest::sample::select(b"&=a%".to_vec()), 0..40),
            max_args in 0usize..6,
        ) {
            let mut expect = Vec::new();
            let mut dropped = 0;
            for piece in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
                if expect.len() >= max_args {
                    dropped += 1;
                    continue;
                }
                let (n, v) = match piece.iter().position(|&b| b == b'=') {
                    Some(eq) => (&piece[..eq], &piece[eq + 1..]),
                    None => (piece, &[][..]),
                };
                expect.push((reference(n, true), reference(v, true)));
            }
            prop_assert_eq!(parse_urlencoded(&input, max_args), (expect, dropped));
        }

        #[test]
        fn decode_never_grows(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            prop_assert!(url_decode(&bytes).len() <= bytes.len());
        }
    }
}
