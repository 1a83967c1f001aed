//! `Cookie` header parsing, the way ModSecurity v3 fills `REQUEST_COOKIES`.

use super::urlencoded::Pair;

/// Splits one `Cookie` header value into `(name, value)` pairs, in order, as
/// ModSecurity v3 does: pairs are separated by `;`, trailing whitespace of
/// the header is dropped, a pair splits on its first `=`, a pair without `=`
/// is a name with an empty value, leading whitespace of a name is dropped,
/// pairs with an empty name are skipped. Names and values are not
/// URL-decoded (CRS rules decode them with transformations).
pub fn parse_cookies(header: &[u8]) -> Vec<Pair> {
    let mut end = header.len();
    while end > 0 && header[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let mut out = Vec::new();
    for piece in header[..end].split(|&b| b == b';') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = match memchr::memchr(b'=', piece) {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            None => (piece, &[][..]),
        };
        let start = name
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(name.len());
        let name = &name[start..];
        if name.is_empty() {
            continue;
        }
        out.push((name.to_vec(), value.to_vec()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(h: &str) -> Vec<(String, String)> {
        parse_cookies(h.as_bytes())
            .into_iter()
            .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    #[test]
    fn splits_pairs() {
        assert_eq!(
            pairs("sid=abc; theme=dark;lang=en  "),
            vec![
                ("sid".into(), "abc".into()),
                ("theme".into(), "dark".into()),
                ("lang".into(), "en".into())
            ]
        );
    }

    #[test]
    fn value_keeps_equals_and_is_not_decoded() {
        assert_eq!(
            pairs("a=b=c%27; flag"),
            vec![("a".into(), "b=c%27".into()), ("flag".into(), "".into())]
        );
    }

    #[test]
    fn skips_empty_names() {
        assert_eq!(pairs("; =val;; x=1;"), vec![("x".into(), "1".into())]);
    }
}
