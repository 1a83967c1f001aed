//! Data-driven SecLang parser cases from `testdata/seclang/` (see its
//! README), an exact caret test, and a never-panics property test.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use wafio_crs::ast::{parse_str, ErrorKind, ParseOptions};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/seclang")
}

fn options(lenient: bool) -> ParseOptions {
    ParseOptions {
        lenient,
        allow_include: false,
        ..ParseOptions::default()
    }
}

/// Compares `actual` with the golden file `path` (or writes it when
/// `WAFIO_BLESS=1`). Returns a failure description.
fn golden(path: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("WAFIO_BLESS").is_some() {
        std::fs::write(path, actual).expect("write golden file");
        return None;
    }
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == actual => None,
        Ok(expected) => Some(format!(
            "{}: mismatch\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )),
        Err(e) => Some(format!("{}: {e}\n--- actual\n{actual}", path.display())),
    }
}

fn cases(dir: &str) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    let base = testdata().join(dir);
    for entry in std::fs::read_dir(&base).expect("testdata dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "conf") {
            let name = format!(
                "{dir}/{}",
                path.file_name().expect("name").to_string_lossy()
            );
            let text = std::fs::read_to_string(&path).expect("read case");
            out.push((name, text, path));
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no cases in {dir}");
    out
}

#[test]
fn ok_cases() {
    let mut failures = Vec::new();
    for (name, text, path) in cases("ok") {
        match parse_str(&name, &text, &options(false)) {
            Ok(config) => {
                assert!(
                    config.warnings.is_empty(),
                    "{name}: warnings in strict mode"
                );
                failures.extend(golden(&path.with_extension("ast"), &config.debug_ast()));
            }
            Err(e) => failures.push(format!("{name}: unexpected error:\n{e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn err_cases() {
    let mut failures = Vec::new();
    for (name, text, path) in cases("err") {
        match parse_str(&name, &text, &options(false)) {
            Ok(config) => failures.push(format!("{name}: parsed:\n{}", config.debug_ast())),
            Err(e) => failures.extend(golden(&path.with_extension("err"), &format!("{e}\n"))),
        }
        // The same input must also fail (or warn) in lenient mode, never panic.
        let _ = parse_str(&name, &text, &options(true));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn lenient_cases() {
    let mut failures = Vec::new();
    for (name, text, path) in cases("lenient") {
        if parse_str(&name, &text, &options(false)).is_ok() {
            failures.push(format!("{name}: strict mode accepted it"));
        }
        match parse_str(&name, &text, &options(true)) {
            Ok(config) => {
                let warnings: Vec<String> =
                    config.warnings.iter().map(|w| format!("{w}\n")).collect();
                failures.extend(golden(&path.with_extension("warn"), &warnings.join("\n")));
                failures.extend(golden(&path.with_extension("ast"), &config.debug_ast()));
            }
            Err(e) => failures.push(format!("{name}: unexpected error:\n{e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn caret_under_unknown_operator() {
    let text = "SecRuleEngine On\nSecRule ARGS \"@foo bar\" \"id:1,deny\"\n";
    let err = parse_str("rules.conf", text, &options(false)).expect_err("must fail");
    assert_eq!(err.errors.len(), 1);
    let e = &err.errors[0];
    assert!(matches!(&e.kind, ErrorKind::UnknownOperator(n) if n == "foo"));
    let loc = e.location.as_ref().expect("location");
    assert_eq!((loc.line, loc.column, loc.caret_len), (2, 15, 4));
    assert_eq!(
        e.to_string(),
        "rules.conf:2:15: error: unknown operator \"@foo\"\n  |\n2 | SecRule ARGS \"@foo bar\" \"id:1,deny\"\n  |               ^^^^"
    );
}

#[test]
fn caret_inside_continued_line_with_escapes() {
    // The fault is on the third physical line, after an escaped quote.
    let text = "SecRule ARGS \"@rx \\\"a\\\"\" \\\n    \"id:1,\\\n    t:nope\"\n";
    let err = parse_str("x.conf", text, &options(false)).expect_err("must fail");
    let e = &err.errors[0];
    assert!(matches!(&e.kind, ErrorKind::UnknownTransformation(n) if n == "nope"));
    assert_eq!(
        e.to_string(),
        "x.conf:3:7: error: unknown transformation \"nope\"\n  |\n3 |     t:nope\"\n  |       ^^^^"
    );
}

#[test]
fn limits_are_enforced() {
    let mut opts = options(false);
    opts.limits.max_directives = 2;
    let err = parse_str(
        "x.conf",
        "SecMarker A\nSecMarker B\nSecMarker C\nSecMarker D\n",
        &opts,
    )
    .expect_err("too many");
    assert_eq!(err.errors.len(), 1);
    assert!(matches!(
        err.errors[0].kind,
        ErrorKind::TooManyDirectives { limit: 2 }
    ));
    let mut opts = options(false);
    opts.limits.max_line_len = 10;
    let err = parse_str("x.conf", "SecMarker ABCDEFGHIJKLMNOP\n", &opts).expect_err("long");
    assert!(matches!(
        err.errors[0].kind,
        ErrorKind::LineTooLong { limit: 10 }
    ));
    let mut opts = options(false);
    opts.limits.max_file_size = 4;
    let err = parse_str("x.conf", "SecMarker A\n", &opts).expect_err("large");
    assert!(matches!(
        err.errors[0].kind,
        ErrorKind::FileTooLarge { size: 12, limit: 4 }
    ));
    let mut opts = options(false);
    opts.limits.max_errors = 3;
    let err = parse_str("x.conf", &"SecFoo\n".repeat(10), &opts).expect_err("errors");
    assert_eq!(err.errors.len(), 3);
}

#[test]
fn include_glob_cycle_and_depth() {
    let dir = std::env::temp_dir().join(format!("wafio-seclang-inc-{}", std::process::id()));
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::write(dir.join("main.conf"), "Include sub/*.conf\n").expect("write");
    std::fs::write(sub.join("b.conf"), "SecMarker B\n").expect("write");
    std::fs::write(sub.join("a.conf"), "SecMarker A\nInclude ../leaf.data\n").expect("write");
    std::fs::write(sub.join("c.conf.example"), "SecFoo\n").expect("write");
    std::fs::write(dir.join("leaf.data"), "SecMarker LEAF\n").expect("write");
    std::fs::write(dir.join("loop.conf"), "Include loop2.conf\n").expect("write");
    std::fs::write(dir.join("loop2.conf"), "Include loop.conf\n").expect("write");
    std::fs::write(dir.join("none.conf"), "Include nothing/*.conf\n").expect("write");

    let opts = ParseOptions::default();
    let config = wafio_crs::ast::parse_file(dir.join("main.conf"), &opts).expect("parse");
    let markers: Vec<_> = config
        .directives
        .iter()
        .filter_map(|d| match &d.kind {
            wafio_crs::ast::DirectiveKind::SecMarker(m) => Some(m.value.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(markers, ["A", "LEAF", "B"]);
    assert_eq!(config.files.len(), 4);

    let err = wafio_crs::ast::parse_file(dir.join("loop.conf"), &opts).expect_err("cycle");
    assert!(
        matches!(err.errors[0].kind, ErrorKind::IncludeCycle { .. }),
        "{err}"
    );
    let loc = err.errors[0].location.as_ref().expect("location");
    assert!(loc.path.ends_with("loop2.conf"));

    let mut shallow = opts.clone();
    shallow.limits.max_include_depth = 1;
    let err = wafio_crs::ast::parse_file(dir.join("main.conf"), &shallow).expect_err("depth");
    assert!(
        matches!(err.errors[0].kind, ErrorKind::IncludeTooDeep { limit: 1 }),
        "{err}"
    );

    let err = wafio_crs::ast::parse_file(dir.join("none.conf"), &opts).expect_err("no dir");
    assert!(matches!(err.errors[0].kind, ErrorKind::Io { .. }), "{err}");
    std::fs::write(dir.join("none.conf"), "Include sub/*.nomatch\n").expect("write");
    let err = wafio_crs::ast::parse_file(dir.join("none.conf"), &opts).expect_err("no match");
    assert!(
        matches!(err.errors[0].kind, ErrorKind::IncludeNoMatch { .. }),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = parse_str("p.conf", &text, &options(false));
        let _ = parse_str("p.conf", &text, &options(true));
    }

    #[test]
    fn never_panics_on_seclang_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("SecRule ".to_owned()), Just("SecAction ".to_owned()),
                Just("\"".to_owned()), Just("'".to_owned()), Just("\\".to_owned()),
                Just("\\\n".to_owned()), Just("\n".to_owned()), Just("|".to_owned()),
                Just(",".to_owned()), Just(":".to_owned()), Just("!".to_owned()),
                Just("&".to_owned()), Just("@rx ".to_owned()), Just("/".to_owned()),
                Just("ARGS".to_owned()), Just("XML:/*".to_owned()), Just("id:1".to_owned()),
                Just("t:none".to_owned()), Just("ctl:ruleRemoveById=1".to_owned()),
                Just("é".to_owned()), Just(" ".to_owned()), Just("#".to_owned()),
                "[a-z:'\"\\\\ ]{0,8}",
            ],
            0..40,
        )
    ) {
        let text = parts.concat();
        let _ = parse_str("p.conf", &text, &options(false));
        let _ = parse_str("p.conf", &text, &options(true));
    }
}
