//! Shared corpus loading for the wafio-detect tests and examples.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod harness;

/// `../shared/corpus` beside the project root, or `$WAFIO_CORPUS`.
pub fn corpus_dir() -> PathBuf {
    if let Ok(p) = std::env::var("WAFIO_CORPUS") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

/// Decodes a query-string value once, as a request parser does (`+` is a space).
pub fn form_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = (b[i + 1] as char).to_digit(16);
                let l = (b[i + 2] as char).to_digit(16);
                if let (Some(h), Some(l)) = (h, l) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// One labelled set of values.
pub struct Set {
    pub name: String,
    pub attack: bool,
    pub values: Vec<Vec<u8>>,
}

/// Parses one CSV record of the httpparams file: `"payload","len","type","label"`.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// The httpparams sets (`sqli`, `xss`, `cmdi`, `path-traversal`, `norm`), values form-decoded.
pub fn httpparams() -> Vec<Set> {
    let text = std::fs::read_to_string(corpus_dir().join("httpparams/payload_full.csv"))
        .expect("httpparams corpus");
    let mut sets: Vec<Set> = Vec::new();
    for line in text.lines().skip(1) {
        let f = csv_fields(line);
        if f.len() < 4 {
            continue;
        }
        let name = format!("httpparams/{}", f[2]);
        let idx = match sets.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                sets.push(Set {
                    name: name.clone(),
                    attack: f[2] != "norm",
                    values: Vec::new(),
                });
                sets.len() - 1
            }
        };
        sets[idx].values.push(form_decode(&f[0]));
    }
    sets
}

/// The libinjection sets: each `sqli-*.txt`, `xss-*.txt` and `false_positives.txt`.
pub fn libinjection() -> Vec<Set> {
    let dir = corpus_dir().join("libinjection");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("libinjection corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".txt")
                && (n.starts_with("sqli-") || n.starts_with("xss-") || n == "false_positives.txt")
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let text = std::fs::read(dir.join(&n)).expect("corpus file");
            let text = String::from_utf8_lossy(&text);
            let values = text
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .map(form_decode)
                .collect();
            Set {
                attack: n != "false_positives.txt",
                name: format!("libinjection/{n}"),
                values,
            }
        })
        .collect()
}
