//! Shared helpers for the WAFio criterion benchmarks in `benches/`:
//! corpus loading from `../shared/corpus` (or `$WAFIO_CORPUS`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::PathBuf;

/// `../shared/corpus` beside the project root, or `$WAFIO_CORPUS`.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os("WAFIO_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    }
}

/// All 31,067 httpparams payloads, form-decoded once as a request parser
/// would decode a query parameter.
///
/// # Panics
/// When the corpus file cannot be read: a benchmark without its data is
/// a setup error.
pub fn httpparams_values() -> Vec<Vec<u8>> {
    let path = corpus_dir().join("httpparams/payload_full.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter_map(first_csv_field)
        .map(|p| form_decode(&p))
        .collect()
}

fn first_csv_field(line: &str) -> Option<String> {
    let rest = line.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                out.push('"');
                chars.next();
            } else {
                return Some(out);
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// `+` to space and `%XX` escapes, invalid escapes kept as written.
pub fn form_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match (
                    char::from(b[i + 1]).to_digit(16),
                    char::from(b[i + 2]).to_digit(16),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_field_with_escaped_quotes() {
        assert_eq!(
            first_csv_field(r#""a ""b"" c","3","x","y""#).as_deref(),
            Some(r#"a "b" c"#)
        );
        assert_eq!(first_csv_field("no quotes"), None);
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%27c%zz%4"), b"a b'c%zz%4");
    }
}
