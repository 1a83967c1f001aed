//! End-to-end tests of the proxy's protections on loopback: bot signals,
//! per-client rate limits (with trusted proxies), response inspection with
//! the OWASP CRS (read from ../shared/crs) and repeat offenders, against an
//! upstream written here whose answer depends on the path.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wafio_proxy::{OffenderSink, ProxyConfig, ProxyHandle, RateSpec, RouteConfig};

mod common;
use common::{client, crs_dir, get_with as get, send, start_proxy, TestClient};

const SQL_ERROR: &str = "<html><body><h1>Database error</h1><p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''' at line 1</p></body></html>";

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn boxed(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed()
}

/// Answers by path:
/// - `/leak`: an HTML page with a MySQL error message;
/// - `/leak.png`: the same text as `image/png`;
/// - `/leak.gz`: the same text, labelled `Content-Encoding: gzip`;
/// - `/big-leak`: 4 KiB of padding then the error, with Content-Length;
/// - `/chunked-leak`: 4 KiB of padding then the error, chunked;
/// - `/chunked-early-leak`: the error then 4 KiB of padding, chunked;
/// - anything else: `upstream ok` as text/html.
async fn upstream() -> (SocketAddr, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(Mutex::new(0usize));
    let h = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let h = h.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let h = h.clone();
                    async move {
                        *h.lock().unwrap() += 1;
                        let padding = "<p>padding</p>".repeat(300);
                        let chunked = |parts: Vec<String>| -> Body {
                            Chunks(parts.into_iter().map(Bytes::from).collect()).boxed()
                        };
                        if req.uri().path() == "/leak.gz" {
                            return Ok::<_, Infallible>(
                                Response::builder()
                                    .header("content-type", "text/html")
                                    .header("content-encoding", "gzip")
                                    .body(boxed(SQL_ERROR))
                                    .unwrap(),
                            );
                        }
                        let (ct, body) = match req.uri().path() {
                            "/leak" => ("text/html; charset=utf-8", boxed(SQL_ERROR)),
                            "/leak.png" => ("image/png", boxed(SQL_ERROR)),
                            "/big-leak" => ("text/html", boxed(format!("{padding}{SQL_ERROR}"))),
                            "/chunked-leak" => {
                                ("text/html", chunked(vec![padding, SQL_ERROR.to_string()]))
                            }
                            "/chunked-early-leak" => {
                                ("text/html", chunked(vec![SQL_ERROR.to_string(), padding]))
                            }
                            _ => ("text/html", boxed("upstream ok")),
                        };
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", ct)
                                .body(body)
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, hits)
}

/// A body of several frames and no length: sent chunked.
struct Chunks(std::collections::VecDeque<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.get_mut().0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

struct Setup {
    addr: SocketAddr,
    hits: Arc<Mutex<usize>>,
    handle: ProxyHandle,
    config: ProxyConfig,
}

impl Setup {
    fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.config.audit_log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn hits(&self) -> usize {
        *self.hits.lock().unwrap()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.handle.shutdown();
        let _ = std::fs::remove_file(&self.config.audit_log);
    }
}

async fn start(edit: impl FnOnce(&mut ProxyConfig)) -> Setup {
    let (up, hits) = upstream().await;
    let p = start_proxy(up, "protection", edit).await;
    Setup {
        addr: p.addr,
        hits,
        handle: p.handle,
        config: p.config,
    }
}

async fn metrics(c: &TestClient, addr: SocketAddr) -> String {
    let (_, _, body) = send(c, get(addr, "/metrics", &[])).await;
    String::from_utf8_lossy(&body).into_owned()
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanners_are_blocked_and_clients_pass() {
    let s = start(|_| {}).await;
    let c = client();
    let a = s.addr;
    let browser = [
        ("user-agent", FIREFOX),
        ("accept", "text/html,application/xhtml+xml"),
        ("accept-language", "en-GB,en;q=0.5"),
    ];
    // Clients that must pass with the defaults.
    for headers in [
        &browser[..],
        &[("user-agent", "curl/8.5.0"), ("accept", "*/*")][..],
        &[("user-agent", "python-requests/2.31.0"), ("accept", "*/*")][..],
        &[("user-agent", "Go-http-client/1.1")][..],
        &[][..],
        // A browser agent without Accept-Language is only a weak signal.
        &[("user-agent", FIREFOX), ("accept", "*/*")][..],
    ] {
        let (status, _, _) = send(&c, get(a, "/products?id=42", headers)).await;
        assert_eq!(status, StatusCode::OK, "{headers:?}");
    }
    assert_eq!(s.hits(), 6);
    // Scanners: blocked on the agent alone.
    for ua in [
        "sqlmap/1.7.2#stable (https://sqlmap.org)",
        "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)",
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
        "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
        "WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)",
    ] {
        let (status, _, _) = send(&c, get(a, "/", &[("user-agent", ua), ("accept", "*/*")])).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{ua}");
    }
    assert_eq!(s.hits(), 6);
    let audit = s.audit();
    assert_eq!(audit.len(), 5);
    let first = &audit[0];
    assert_eq!(first["event"], "request");
    assert_eq!(first["decision"], "block");
    assert_eq!(first["categories"], serde_json::json!(["bot"]));
    assert_eq!(first["bot"][0]["signal"], "scanner");
    assert_eq!(first["bot"][0]["evidence"], "sqlmap");
    let text = metrics(&c, a).await;
    assert!(
        text.contains("wafio_blocks_total{category=\"bot\"} 5"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_bot_signals_add_to_the_score() {
    // A lower threshold: the browser-headers signal (3.0) now blocks on
    // its own, which shows it is a score, not a rule.
    let s = start(|c| {
        c.waf.threshold = 3.0;
        c.waf.routes.push(RouteConfig {
            host: None,
            path_prefix: "/feed".into(),
            mode: None,
            threshold: None,
            exclude_args: vec![],
            exclude_headers: vec![],
            disable_rules: vec![],
            disable_detectors: vec!["bot".into()],
            rate_limit: None,
        });
    })
    .await;
    let c = client();
    let a = s.addr;
    let (status, _, _) = send(&c, get(a, "/", &[("user-agent", FIREFOX)])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let audit = s.audit();
    assert_eq!(audit[0]["bot"][0]["signal"], "browser-headers");
    assert_eq!(audit[0]["bot"][0]["evidence"], "Accept, Accept-Language");
    assert_eq!(audit[0]["score"], 3.0);
    // curl is no browser; the route without bot protection lets anything in.
    let (status, _, _) = send(&c, get(a, "/", &[("user-agent", "curl/8.5.0")])).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&c, get(a, "/feed", &[("user-agent", "sqlmap/1.7")])).await;
    assert_eq!(status, StatusCode::OK);

    // Bot protection off: a scanner agent passes.
    let s = start(|c| c.waf.bot.enabled = false).await;
    let (status, _, _) = send(&c, get(s.addr, "/", &[("user-agent", "sqlmap/1.7")])).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_per_client_and_route() {
    // 3 requests, then one per 100 s: the test never waits for a refill.
    let s = start(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.requests_per_second = 0.01;
        c.rate_limit.burst = 3;
        c.waf.routes.push(RouteConfig {
            host: None,
            path_prefix: "/login".into(),
            mode: None,
            threshold: None,
            exclude_args: vec![],
            exclude_headers: vec![],
            disable_rules: vec![],
            disable_detectors: vec![],
            rate_limit: Some(RateSpec {
                requests_per_second: 0.01,
                burst: 1,
            }),
        });
    })
    .await;
    let c = client();
    let a = s.addr;
    for _ in 0..3 {
        let (status, _, _) = send(&c, get(a, "/", &[])).await;
        assert_eq!(status, StatusCode::OK);
    }
    for _ in 0..3 {
        let (status, headers, body) = send(&c, get(a, "/", &[])).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers.get("retry-after").unwrap(), "100");
        assert!(headers.contains_key("x-request-id"));
        assert!(String::from_utf8_lossy(&body).starts_with("Too many requests"));
    }
    // Without trusted proxies, X-Forwarded-For changes nothing.
    let (status, _, _) = send(&c, get(a, "/", &[("x-forwarded-for", "203.0.113.5")])).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The route has its own bucket.
    let (status, _, _) = send(&c, get(a, "/login", &[])).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&c, get(a, "/login", &[])).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(s.hits(), 4);
    // One audit line per limited run, not per refused request.
    let audit = s.audit();
    let limited: Vec<_> = audit
        .iter()
        .filter(|l| l["event"] == "rate_limit")
        .collect();
    assert_eq!(limited.len(), 2, "{audit:?}");
    assert_eq!(limited[0]["client"], "127.0.0.1");
    assert_eq!(limited[0]["retry_after"], 100);
    assert_eq!(limited[1]["uri"], "/login");
    let text = metrics(&c, a).await;
    assert!(text.contains("wafio_rate_limited_total 5"), "{text}");
    assert!(
        text.contains("wafio_requests_total{outcome=\"429\"} 5"),
        "{text}"
    );

    // A reload that keeps the limits keeps the buckets.
    let mut detect = s.config.clone();
    detect.waf.mode = wafio_proxy::Mode::Detect;
    s.handle.reload(&detect).unwrap();
    let (status, _, _) = send(&c, get(a, "/", &[])).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxies_name_the_client() {
    let s = start(|c| {
        c.trusted_proxies = vec!["127.0.0.0/8".into()];
        c.rate_limit.enabled = true;
        c.rate_limit.requests_per_second = 0.01;
        c.rate_limit.burst = 1;
    })
    .await;
    let c = client();
    let a = s.addr;
    let xff = |v: &'static str| [("x-forwarded-for", v)];
    let (status, _, _) = send(&c, get(a, "/", &xff("203.0.113.1"))).await;
    assert_eq!(status, StatusCode::OK);
    // Another client behind the same proxy has its own bucket.
    let (status, _, _) = send(&c, get(a, "/", &xff("203.0.113.2"))).await;
    assert_eq!(status, StatusCode::OK);
    // A spoofed leftmost entry does not help: the right-most untrusted
    // address is the client.
    let (status, _, _) = send(&c, get(a, "/", &xff("198.51.100.7, 203.0.113.1"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Trusted hops on the right are skipped.
    let (status, _, _) = send(&c, get(a, "/", &xff("203.0.113.2, 127.0.0.9"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let audit = s.audit();
    assert_eq!(audit[0]["client"], "203.0.113.1");
    assert_eq!(audit[1]["client"], "203.0.113.2");
    // Attacks are audited under the client's address too.
    let (status, _, _) = send(
        &c,
        get(a, "/?id=1%27%20OR%20%271%27%3D%271", &xff("203.0.113.3")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let audit = s.audit();
    assert_eq!(audit.last().unwrap()["client"], "203.0.113.3");
}

fn with_response_inspection(c: &mut ProxyConfig) {
    c.waf.crs_dir = Some(crs_dir());
    c.waf.response.enabled = true;
    c.waf.response.body_limit = 1024;
    c.waf.response.block_status = 502;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_inspection_blocks_leaks() {
    let s = start(with_response_inspection).await;
    let c = client();
    let a = s.addr;
    let ua = [("user-agent", "curl/8.5.0"), ("accept", "*/*")];
    let (status, _, body) = send(&c, get(a, "/ok", &ua)).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"upstream ok"[..]));
    // A SQL error in the page: blocked with the configured status, and
    // nothing of the page reaches the client.
    let (status, headers, body) = send(&c, get(a, "/leak", &ua)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("SQL"), "{text}");
    assert!(text.contains(headers.get("x-request-id").unwrap().to_str().unwrap()));
    // The leak in the first part of a long chunked body is still seen.
    let (status, _, _) = send(&c, get(a, "/chunked-early-leak", &ua)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    // Not an inspected content type, or compressed: passes.
    let (status, _, body) = send(&c, get(a, "/leak.png", &ua)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, SQL_ERROR);
    let (status, _, body) = send(&c, get(a, "/leak.gz", &ua)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, SQL_ERROR);
    // Over the limit: streamed whole, uninspected past the limit, counted.
    let (status, _, body) = send(&c, get(a, "/big-leak", &ua)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.ends_with(SQL_ERROR.as_bytes()));
    let (status, _, body) = send(&c, get(a, "/chunked-leak", &ua)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.ends_with(SQL_ERROR.as_bytes()));

    let audit = s.audit();
    let responses: Vec<_> = audit.iter().filter(|l| l["event"] == "response").collect();
    assert_eq!(responses.len(), 2, "{audit:?}");
    let r = responses[0];
    assert_eq!(r["decision"], "block");
    assert_eq!(r["uri"], "/leak");
    assert_eq!(r["status"], 200);
    assert!(r["crs_anomaly"].as_u64().unwrap() >= 4, "{r}");
    assert!(
        r["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"].as_u64().unwrap() / 1000 == 951),
        "{r}"
    );
    assert_eq!(responses[1]["body_truncated"], true);
    let text = metrics(&c, a).await;
    assert!(text.contains("wafio_response_over_limit_total 3"), "{text}");
    assert!(
        text.contains("wafio_requests_total{outcome=\"response_block\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("wafio_blocks_total{category=\"disclosure\"} 2"),
        "{text}"
    );

    // Detect mode: the leak is logged, the page goes through.
    let mut detect = s.config.clone();
    detect.waf.mode = wafio_proxy::Mode::Detect;
    s.handle.reload(&detect).unwrap();
    let (status, _, body) = send(&c, get(a, "/leak", &ua)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, SQL_ERROR);
    let audit = s.audit();
    let last = audit.last().unwrap();
    assert_eq!(
        (&last["event"], &last["decision"]),
        (&"response".into(), &"log".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_inspection_off_passes_leaks() {
    let s = start(|c| c.waf.crs_dir = Some(crs_dir())).await;
    let c = client();
    let (status, _, body) = send(
        &c,
        get(
            s.addr,
            "/leak",
            &[("user-agent", "curl/8.5.0"), ("accept", "*/*")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, SQL_ERROR);
}

/// Records what it was asked to block.
#[derive(Default)]
struct MemorySink {
    blocked: Mutex<Vec<(IpAddr, Duration)>>,
}

impl OffenderSink for MemorySink {
    fn name(&self) -> &str {
        "memory"
    }

    fn block(&self, client: IpAddr, ttl: Duration) -> Result<(), String> {
        self.blocked.lock().unwrap().push((client, ttl));
        Ok(())
    }
}

/// Waits (bounded) until `f` holds: the sink runs on a blocking thread.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_offenders_go_to_the_sink() {
    let s = start(|c| {
        c.offenders.enabled = true;
        c.offenders.max_blocks = 3;
        c.offenders.ttl_secs = 900;
    })
    .await;
    let sink = Arc::new(MemorySink::default());
    assert!(s.handle.set_offender_sink(sink.clone()));
    let c = client();
    let attack = "/?id=1%27%20OR%20%271%27%3D%271";
    for _ in 0..2 {
        let (status, _, _) = send(&c, get(s.addr, attack, &[])).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // Benign requests do not count.
    for _ in 0..3 {
        let (status, _, _) = send(&c, get(s.addr, "/", &[])).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert!(sink.blocked.lock().unwrap().is_empty());
    let (status, _, _) = send(&c, get(s.addr, attack, &[])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    eventually("the third block reaches the sink", || {
        !sink.blocked.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(
        sink.blocked.lock().unwrap()[0],
        ("127.0.0.1".parse().unwrap(), Duration::from_secs(900))
    );
    eventually("the offender is audited", || {
        s.audit().iter().any(|l| l["event"] == "offender")
    })
    .await;
    let audit = s.audit();
    let line = audit.iter().find(|l| l["event"] == "offender").unwrap();
    assert_eq!(line["client"], "127.0.0.1");
    assert_eq!(line["blocks"], 3);
    assert_eq!(line["sink"], "memory");
    assert_eq!(line["result"], "pushed");
    let text = metrics(&c, s.addr).await;
    assert!(
        text.contains("wafio_offenders_total{result=\"pushed\"} 1"),
        "{text}"
    );
    // Counting starts over: two more blocks do not report again.
    for _ in 0..2 {
        send(&c, get(s.addr, attack, &[])).await;
    }
    assert_eq!(sink.blocked.lock().unwrap().len(), 1);
}

#[cfg(feature = "xdp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offenders_without_a_running_firewall_are_audited_and_serving_goes_on() {
    let s = start(|c| {
        c.offenders.enabled = true;
        c.offenders.max_blocks = 1;
        c.offenders.xdp_iface = Some("wafio-nx0".into());
    })
    .await;
    let c = client();
    let attack = "/?id=1%27%20OR%20%271%27%3D%271";
    let (status, _, _) = send(&c, get(s.addr, attack, &[])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    eventually("the failed push is audited", || {
        s.audit().iter().any(|l| l["event"] == "offender")
    })
    .await;
    let audit = s.audit();
    let line = audit.iter().find(|l| l["event"] == "offender").unwrap();
    assert_eq!(line["sink"], "xdp");
    assert_eq!(line["result"], "failed");
    assert!(
        line["error"].as_str().unwrap().contains("wafio-nx0"),
        "{line}"
    );
    let (status, _, _) = send(&c, get(s.addr, "/", &[])).await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn protection_settings_are_validated() {
    let err = |toml: &str| match ProxyConfig::from_toml(toml, "t.toml") {
        Err(e) => e.to_string(),
        Ok(c) => c
            .waf
            .build()
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string()),
    };
    for (toml, key) in [
        ("trusted_proxies = [\"10.0.0.0/40\"]", "trusted_proxies[0]"),
        ("[rate_limit]\nburst = 0", "rate_limit.burst"),
        ("[rate_limit]\nrequests_per_second = -1.0", "rate_limit.requests_per_second"),
        ("[rate_limit]\nipv6_prefix = 8", "rate_limit.ipv6_prefix"),
        ("[offenders]\nmax_blocks = 0", "offenders.max_blocks"),
        ("[offenders]\nxdp_iface = \"a/b\"", "offenders.xdp_iface"),
        ("[waf.response]\nblock_status = 200", "waf.response.block_status"),
        ("[waf.response]\nmime_types = [\"text/html\\\"\"]", "waf.response.mime_types[0]"),
        ("[waf.response]\nenabled = true", "waf.response.enabled"),
        ("[waf.bot]\nscanner_confidence = 2.0", "waf.bot.scanner_confidence"),
        ("[waf.bot]\nextra_scanners = [\"ab\"]", "waf.bot.extra_scanners[0]"),
        (
            "[[waf.routes]]\npath_prefix = \"/\"\nrate_limit = { requests_per_second = 1.0, burst = 0 }",
            "waf.routes[0].rate_limit.burst",
        ),
    ] {
        let e = err(toml);
        assert!(e.contains(key), "{toml}: {e}");
    }
    // Unknown keys in the new tables are refused too.
    assert!(err("[rate_limit]\nrps = 1").contains("rps"));
    assert!(err("[waf.bot]\nenable = false").contains("enable"));
    // A full valid file.
    let c = ProxyConfig::from_toml(
        "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n\
         [rate_limit]\nenabled = true\nrequests_per_second = 5.0\nburst = 10\n\
         [offenders]\nenabled = true\nmax_blocks = 5\n\
         [waf.bot]\nextra_scanners = [\"evilscan\"]\n\
         [[waf.routes]]\npath_prefix = \"/login\"\ndisable_detectors = [\"bot\"]\n\
         rate_limit = { requests_per_second = 1.0, burst = 2 }\n",
        "t.toml",
    )
    .unwrap();
    assert!(c.waf.build().is_ok());
}

#[cfg(feature = "xdp")]
/// Writes the test's GeoIP databases: a country database (198.51.100.0/24
/// DE, 203.0.113.0/24 FR) and an ASN one (192.0.2.0/24 AS64496).
fn geo_databases(tag: &str) -> (PathBuf, PathBuf) {
    use wafio_xdp::geo::testdb::TestDb;
    let dir = std::env::temp_dir();
    let country = dir.join(format!(
        "wafio-geo-{tag}-{}-country.mmdb",
        std::process::id()
    ));
    let asn = dir.join(format!("wafio-geo-{tag}-{}-asn.mmdb", std::process::id()));
    let mut t = TestDb::new("GeoLite2-Country");
    t.country("198.51.100.0/24", "DE").unwrap();
    t.country("203.0.113.0/24", "FR").unwrap();
    t.write(&country).unwrap();
    let mut t = TestDb::new("GeoLite2-ASN");
    t.asn("192.0.2.0/24", 64496, "Example Net").unwrap();
    t.write(&asn).unwrap();
    (country, asn)
}

#[cfg(feature = "xdp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geo_rules_block_countries_and_asns() {
    let (country, asn) = geo_databases("block");
    let s = start(|c| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
        c.geo.country_mmdb = Some(country.clone());
        c.geo.block_countries = vec!["de".into()];
        c.geo.asn_mmdb = Some(asn.clone());
        c.geo.block_asns = vec![64496];
    })
    .await;
    let c = client();
    let a = s.addr;
    let from = |ip: &'static str| [("x-forwarded-for", ip), ("user-agent", "curl/8.5.0")];
    let (status, _, _) = send(&c, get(a, "/", &from("198.51.100.9"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send(&c, get(a, "/", &from("192.0.2.5"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send(&c, get(a, "/", &from("203.0.113.9"))).await;
    assert_eq!(status, StatusCode::OK);
    // Not in the databases (loopback itself): passes.
    let (status, _, _) = send(&c, get(a, "/", &[])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.hits(), 2);
    let audit = s.audit();
    let geo: Vec<_> = audit.iter().filter(|l| l["event"] == "geo").collect();
    assert_eq!(geo.len(), 2, "{audit:?}");
    assert_eq!(geo[0]["client"], "198.51.100.9");
    assert_eq!(geo[0]["reason"], "country");
    assert_eq!(geo[0]["country"], "DE");
    assert_eq!(geo[1]["reason"], "asn");
    assert_eq!(geo[1]["asn"], 64496);
    assert_eq!(geo[1]["decision"], "block");
    let text = metrics(&c, a).await;
    assert!(
        text.contains("wafio_blocks_total{category=\"geo\"} 2"),
        "{text}"
    );

    // An allow list instead: only FR (and unplaced addresses) get in.
    let mut allow = s.config.clone();
    allow.geo.block_countries.clear();
    allow.geo.allow_countries = vec!["FR".into()];
    s.handle.reload(&allow).unwrap();
    let (status, _, _) = send(&c, get(a, "/", &from("198.51.100.9"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send(&c, get(a, "/", &from("203.0.113.9"))).await;
    assert_eq!(status, StatusCode::OK);
    // Detect mode: logged, let through.
    let mut detect = allow.clone();
    detect.waf.mode = wafio_proxy::Mode::Detect;
    s.handle.reload(&detect).unwrap();
    let (status, _, _) = send(&c, get(a, "/", &from("198.51.100.9"))).await;
    assert_eq!(status, StatusCode::OK);
    let audit = s.audit();
    assert_eq!(audit.last().unwrap()["decision"], "log");

    // Refused: a typo in a code, the wrong kind of database, a missing file.
    let mut bad = s.config.clone();
    bad.geo.block_countries = vec!["UK".into()];
    let e = s.handle.reload(&bad).unwrap_err().to_string();
    assert!(
        e.contains("geo.block_countries[0]") && e.contains("GB"),
        "{e}"
    );
    let mut bad = s.config.clone();
    bad.geo.country_mmdb = Some(asn.clone());
    let e = s.handle.reload(&bad).unwrap_err().to_string();
    assert!(e.contains("geo.country_mmdb"), "{e}");
    let mut bad = s.config.clone();
    bad.geo.asn_mmdb = Some(asn.with_extension("missing"));
    let e = s.handle.reload(&bad).unwrap_err().to_string();
    assert!(e.contains("geo.asn_mmdb"), "{e}");
    let _ = std::fs::remove_file(&country);
    let _ = std::fs::remove_file(&asn);
}
