//! Lowers the whole of OWASP CRS v4.28.0 to IR: every regex compiles with
//! `regex::bytes` (unicode off), chains, defaults and updates apply.

use std::path::PathBuf;
use std::time::Instant;

// The IR is mounted under `ast` until the crate root declares `pub mod ir;`.
use wafio_crs::ast::ir::{
    self, Ctl, Disruptive, OperatorKind, SetVarOp, TargetSelector, Transform,
};
use wafio_crs::ast::{parse_str, ParseOptions};

fn lower_crs() -> ir::RuleSet {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs");
    let text = "Include crs-setup.conf.example\nInclude rules/*.conf\n";
    let config = parse_str(dir.join("main.conf"), text, &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let set = ir::lower(&config, &ir::LowerOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("lowered CRS in {:?}", start.elapsed());
    set
}

#[test]
fn crs_lowers_with_every_regex_compiling() {
    let set = lower_crs();
    // 703 SecRule/SecAction directives, 73 of them chained after a head:
    // 630 top-level rules.
    assert_eq!(set.rules().count(), 630);
    let chained: usize = set
        .rules()
        .map(|r| {
            let mut n = 0;
            let mut c = r.chain.as_deref();
            while let Some(x) = c {
                n += 1;
                c = x.chain.as_deref();
            }
            n
        })
        .sum();
    assert_eq!(chained, 73);
    let markers = set
        .items
        .iter()
        .filter(|i| matches!(i, ir::Item::Marker { .. }))
        .count();
    assert_eq!(markers, 30);
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
}

#[test]
fn crs_rule_942100_typed() {
    let set = lower_crs();
    let r = set.rule(942100).expect("942100");
    assert_eq!(r.phase, 2);
    assert_eq!(r.operator.kind, OperatorKind::DetectSqli);
    assert_eq!(
        r.transforms,
        [
            Transform::Utf8ToUnicode,
            Transform::UrlDecodeUni,
            Transform::RemoveNulls
        ]
    );
    assert_eq!(r.disruptive, Some(Disruptive::Block));
    assert_eq!(r.meta.severity, Some(2));
    assert_eq!(r.meta.paranoia_level, Some(1));
    assert!(r.multi_match && r.capture);
    // crs-setup's SecDefaultAction for phase 2 gives log + auditlog.
    assert_eq!((r.log, r.auditlog), (Some(true), Some(true)));
    assert_eq!(r.setvars.len(), 2);
    assert_eq!(r.setvars[0].collection, "tx");
    assert!(matches!(&r.setvars[0].op, SetVarOp::Add(t) if !t.is_literal()));
    let cookies = r
        .targets
        .iter()
        .find(|t| t.collection == "REQUEST_COOKIES")
        .expect("cookies");
    assert_eq!(cookies.selector, TargetSelector::All);
    // REQUEST-999's SecRuleUpdateTargetById lines do not name 942100.
    assert!(cookies.exclusions.is_empty());
    let r = set.rule(941100).expect("941100");
    let cookies = r
        .targets
        .iter()
        .find(|t| t.collection == "REQUEST_COOKIES")
        .expect("cookies");
    // REQUEST-999-COMMON-EXCEPTIONS-AFTER.conf lines 27, 33, 42 and 77.
    assert_eq!(
        cookies.exclusions,
        [
            TargetSelector::Regex(r"^_ga(?:_\w+)?$".into()),
            TargetSelector::Key("__gads".into()),
            TargetSelector::Key("FCCDCF".into()),
            TargetSelector::Regex(r"^pbjs-\w+$".into()),
        ]
    );
}

#[test]
fn crs_chain_and_ctl() {
    let set = lower_crs();
    let r = set.rule(920180).expect("920180");
    assert_eq!(r.operator.kind, OperatorKind::Within);
    assert!(r.operator.negated);
    let c1 = r.chain.as_deref().expect("chain 1");
    let c2 = c1.chain.as_deref().expect("chain 2");
    let c3 = c2.chain.as_deref().expect("chain 3");
    assert!(c3.chain.is_none());
    assert_eq!((c3.id, c3.phase), (920180, 1));
    assert!(c3.targets[0].count);
    let r = set.rule(941010).expect("941010");
    assert!(matches!(
        &r.ctls[0],
        Ctl::RuleRemoveTarget { by: ir::CtlSelector::Tag(t), collection: "REQUEST_FILENAME", selector: TargetSelector::All }
            if t == "xss-perf-disable"
    ));
}
