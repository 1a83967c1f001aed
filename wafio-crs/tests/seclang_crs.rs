//! Parses the whole of OWASP CRS v4.28.0 (read by path from
//! `../shared/crs`) and spot-checks rules.

use std::path::PathBuf;
use std::time::Instant;

use wafio_crs::ast::{
    parse_str, Action, Config, Directive, DirectiveKind, ParseOptions, Quote, SecRule, Selector,
};

fn crs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs")
}

/// Parses crs-setup.conf.example then rules/*.conf through a virtual main
/// file, which also exercises Include with a glob.
fn parse_crs() -> Config {
    let dir = crs_dir();
    let main = dir.join("wafio-test-main.conf");
    let text = "Include crs-setup.conf.example\nInclude rules/*.conf\n";
    let start = Instant::now();
    let config = match parse_str(&main, text, &ParseOptions::default()) {
        Ok(c) => c,
        Err(e) => panic!("CRS does not parse:\n{e}"),
    };
    eprintln!("parsed CRS in {:?}", start.elapsed());
    config
}

fn rule<'a>(config: &'a Config, id: &str) -> (&'a Directive, &'a SecRule) {
    for d in &config.directives {
        if let DirectiveKind::SecRule(r) = &d.kind {
            if r.actions
                .iter()
                .any(|a| a.name == "id" && a.value_str() == id)
            {
                return (d, r);
            }
        }
    }
    panic!("rule {id} not found");
}

/// The rules following `idx` in a chain, i.e. the directives after it.
fn next_rule<'a>(config: &'a Config, d: &Directive) -> &'a SecRule {
    let idx = config
        .directives
        .iter()
        .position(|x| std::ptr::eq(x, d))
        .expect("directive");
    match &config.directives[idx + 1].kind {
        DirectiveKind::SecRule(r) => r,
        other => panic!("expected a chained SecRule, got {other:?}"),
    }
}

fn action<'a>(r: &'a SecRule, name: &str) -> Vec<&'a Action> {
    r.actions.iter().filter(|a| a.name == name).collect()
}

#[test]
fn all_of_crs_parses_with_exact_counts() {
    let config = parse_crs();
    assert!(config.warnings.is_empty());
    // 1 virtual main + crs-setup + 27 rules/*.conf (the two .conf.example
    // files in rules/ do not match *.conf).
    assert_eq!(config.files.len(), 29);
    let count = |name: &str| config.directives.iter().filter(|d| d.name == name).count();
    assert_eq!(count("SecRule"), 695);
    assert_eq!(count("SecAction"), 8);
    assert_eq!(count("SecMarker"), 30);
    assert_eq!(count("SecComponentSignature"), 1);
    assert_eq!(count("SecRuleUpdateTargetById"), 55);
    assert_eq!(count("Include"), 2);
    assert_eq!(config.rules().count(), 703);
}

fn vars(r: &SecRule) -> Vec<String> {
    r.variables.iter().map(|v| v.to_string()).collect()
}

fn values(r: &SecRule, name: &str) -> Vec<String> {
    action(r, name)
        .iter()
        .map(|a| a.value_str().to_owned())
        .collect()
}

#[test]
fn rule_942100_detect_sqli() {
    let config = parse_crs();
    let (d, r) = rule(&config, "942100");
    let file = config.file(d.span.file).expect("file");
    assert!(file
        .path
        .ends_with("rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf"));
    assert_eq!((d.span.line, d.span.column), (46, 1));
    assert_eq!(
        vars(r),
        [
            "REQUEST_COOKIES",
            "REQUEST_COOKIES_NAMES",
            "REQUEST_HEADERS:User-Agent",
            "REQUEST_HEADERS:Referer",
            "ARGS_NAMES",
            "ARGS",
            "XML:/*",
            "XML://@*"
        ]
    );
    assert_eq!(r.operator.name, "detectSQLi");
    assert!(!r.operator.negated && !r.operator.implicit);
    assert_eq!(r.operator.argument, "");
    assert_eq!(values(r, "phase"), ["2"]);
    assert_eq!(
        values(r, "t"),
        ["none", "utf8toUnicode", "urlDecodeUni", "removeNulls"]
    );
    assert_eq!(
        values(r, "msg"),
        ["SQL Injection Attack Detected via libinjection"]
    );
    assert!(action(r, "msg")[0].value.as_ref().expect("value").quoted);
    assert_eq!(values(r, "severity"), ["CRITICAL"]);
    assert_eq!(action(r, "multiMatch").len(), 1);
    assert_eq!(action(r, "block").len(), 1);
    assert_eq!(action(r, "tag").len(), 8);
    assert_eq!(
        values(r, "setvar"),
        [
            "tx.inbound_anomaly_score_pl1=+%{tx.critical_anomaly_score}",
            "tx.sql_injection_score=+%{tx.critical_anomaly_score}"
        ]
    );
    // The span of the msg action points at its physical line.
    let msg = action(r, "msg")[0];
    assert_eq!((msg.span.line, msg.span.column), (52, 5));
    assert_eq!(
        &file.text()[msg.span.start..msg.span.end],
        "msg:'SQL Injection Attack Detected via libinjection'"
    );
}

#[test]
fn rule_920280_count_variable_and_skip_after() {
    let config = parse_crs();
    let (_, r) = rule(&config, "920280");
    assert_eq!(r.variables.len(), 1);
    let v = &r.variables[0];
    assert!(v.count && !v.negated);
    assert_eq!(v.name, "REQUEST_HEADERS");
    assert_eq!(v.selector, Some(Selector::Key("Host".into())));
    assert_eq!((r.operator.name, r.operator.argument.as_str()), ("eq", "0"));
    assert_eq!(values(r, "phase"), ["1"]);
    assert_eq!(values(r, "skipAfter"), ["END-HOST-CHECK"]);
    assert!(
        !action(r, "skipAfter")[0]
            .value
            .as_ref()
            .expect("value")
            .quoted
    );
}

#[test]
fn rule_941100_detect_xss_transforms() {
    let config = parse_crs();
    let (_, r) = rule(&config, "941100");
    assert_eq!(r.operator.name, "detectXSS");
    assert_eq!(
        values(r, "t"),
        [
            "none",
            "utf8toUnicode",
            "urlDecodeUni",
            "htmlEntityDecode",
            "jsDecode",
            "cssDecode",
            "removeNulls"
        ]
    );
    assert_eq!(vars(r)[2], "REQUEST_HEADERS:User-Agent");
}

#[test]
fn chained_rule_920180() {
    let config = parse_crs();
    let (d, r) = rule(&config, "920180");
    assert_eq!(r.operator.name, "within");
    assert!(r.operator.negated);
    assert_eq!(r.operator.argument, "HTTP/2 HTTP/2.0 HTTP/3 HTTP/3.0");
    assert_eq!(action(r, "chain").len(), 1);
    let r2 = next_rule(&config, d);
    assert_eq!(vars(r2), ["REQUEST_METHOD"]);
    assert_eq!(
        (r2.operator.name, r2.operator.argument.as_str()),
        ("streq", "POST")
    );
    assert_eq!(r2.actions.len(), 1);
    assert_eq!(r2.actions[0].name, "chain");
}

#[test]
fn ctl_and_setvar_with_macros() {
    let config = parse_crs();
    let (_, r) = rule(&config, "941010");
    assert_eq!(r.operator.name, "validateByteRange");
    assert!(r.operator.negated);
    assert_eq!(r.operator.argument, "20,45-47,48-57,65-90,95,97-122");
    assert_eq!(
        values(r, "ctl"),
        ["ruleRemoveTargetByTag=xss-perf-disable;REQUEST_FILENAME"]
    );
    let (_, r) = rule(&config, "901340");
    assert_eq!(values(r, "ctl"), ["forceRequestBodyVariable=On"]);
    let (_, r) = rule(&config, "901125");
    assert_eq!(
        values(r, "setvar"),
        ["tx.detection_paranoia_level=%{TX.blocking_paranoia_level}"]
    );
}

#[test]
fn regex_operators_and_update_target() {
    let config = parse_crs();
    let (_, r) = rule(&config, "942140");
    assert_eq!(r.operator.name, "rx");
    assert!(r
        .operator
        .argument
        .starts_with(r"(?i)\b(?:d(?:atabas|b_nam)e[^0-9A-Z_a-z]*\("));
    let updates: Vec<_> = config
        .directives
        .iter()
        .filter_map(|d| match &d.kind {
            DirectiveKind::RuleUpdateTarget { by, targets, .. } => Some((by, targets)),
            _ => None,
        })
        .collect();
    let (by, targets) = updates[0];
    assert_eq!(
        *by,
        wafio_crs::ast::RuleSelector::Ids(vec![wafio_crs::ast::IdRange {
            start: 932240,
            end: 932240
        }])
    );
    assert_eq!(targets.len(), 1);
    assert!(targets[0].negated);
    assert_eq!(
        targets[0].selector,
        Some(Selector::Regex(r"^_ga(?:_\w+)?$".into()))
    );
}

#[test]
fn settings_and_markers() {
    let config = parse_crs();
    let sig = config
        .directives
        .iter()
        .find_map(|d| match &d.kind {
            DirectiveKind::Setting(args) if d.name == "SecComponentSignature" => Some(args),
            _ => None,
        })
        .expect("SecComponentSignature");
    assert_eq!(sig[0].value, "OWASP_CRS/4.28.0");
    assert_eq!(sig[0].quote, Quote::Double);
    let markers: Vec<_> = config
        .directives
        .iter()
        .filter_map(|d| match &d.kind {
            DirectiveKind::SecMarker(a) => Some(a.value.as_str()),
            _ => None,
        })
        .collect();
    assert!(markers.contains(&"END-HOST-CHECK"));
    assert_eq!(markers.last(), Some(&"END-RESPONSE-980-CORRELATION"));
    let chains = config
        .directives
        .iter()
        .filter_map(|d| match &d.kind {
            DirectiveKind::SecRule(r) => Some(r),
            _ => None,
        })
        .filter(|r| r.actions.iter().any(|a| a.name == "chain"))
        .count();
    assert_eq!(chains, CHAIN_ACTIONS);
}

/// `chain` actions in CRS v4.28.0, counted independently with
/// `grep -oE '\bchain\b' rules/*.conf` on non-comment lines (73 hits,
/// minus those in msg texts: none).
const CHAIN_ACTIONS: usize = 73;
