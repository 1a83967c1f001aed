//! The WAF with the OWASP CRS (read from ../shared/crs): CRS matches fold
//! into the decision, routes disable rules, paranoia levels apply.

use std::sync::Arc;

use wafio_crs::request::HttpRequest;
use wafio_proxy::{Crs, Decision, Route, Waf};

mod common;
use common::crs_dir;

fn req(waf: &Waf, raw: &str) -> HttpRequest {
    HttpRequest::parse(raw.as_bytes(), waf.request_limits()).unwrap()
}

#[test]
fn crs_scores_fold_into_the_decision() {
    let crs = Arc::new(Crs::from_dir(&crs_dir(), 1, 5).expect("CRS loads"));
    assert_eq!(crs.paranoia(), 1);
    let waf = Waf::builder().crs(crs.clone()).build();

    // A scanner user agent: only the CRS knows it (913100, critical).
    let scanner = "GET /index.html HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)\r\nAccept: */*\r\n\r\n";
    let v = waf.inspect(&req(&waf, scanner));
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    assert!(v.rules.iter().any(|r| r.id == 913100), "{:?}", v.rules);
    assert!(v.crs_anomaly >= 5, "{}", v.crs_anomaly);
    assert!(v.score >= 5.0);
    assert_eq!(v.decision, Decision::Block);
    assert!(v.categories().iter().any(|c| c == "reputation-scanner"));

    // Benign: no scoring rule.
    let benign = "GET /products?id=42&sort=price HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\r\nAccept: text/html\r\nAccept-Language: en\r\n\r\n";
    let v = waf.inspect(&req(&waf, benign));
    assert_eq!(v.crs_anomaly, 0, "{:?}", v.rules);
    assert_eq!(v.decision, Decision::Pass);

    // SQL injection: detectors and CRS agree.
    let sqli = "GET /products?id=1%27%20UNION%20SELECT%20password%20FROM%20users--%20 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\n\r\n";
    let v = waf.inspect(&req(&waf, sqli));
    assert!(
        v.rules.iter().any(|r| r.category == "sqli" && r.points > 0),
        "{:?}",
        v.rules
    );
    assert!(!v.findings.is_empty());
    assert_eq!(v.decision, Decision::Block);

    // A route that disables the scanner rule lets the scanner through.
    let waf = Waf::builder()
        .crs(crs)
        .route(Route {
            path_prefix: "/".into(),
            disable_rules: vec![913100],
            ..Route::default()
        })
        .build();
    let v = waf.inspect(&req(&waf, scanner));
    assert!(v.rules.iter().all(|r| r.id != 913100));
    assert_eq!(v.decision, Decision::Pass, "{:?}", v.rules);
}

#[test]
fn bad_crs_dirs_are_refused() {
    let err = Crs::from_dir(&crs_dir().join("nope"), 1, 5).unwrap_err();
    assert!(err.to_string().contains("crs_dir"), "{err}");
    let err = Crs::from_dir(&crs_dir(), 5, 5).unwrap_err();
    assert!(err.to_string().contains("paranoia"), "{err}");
}
