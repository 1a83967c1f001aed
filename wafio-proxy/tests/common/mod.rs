//! Shared pieces of the proxy's loopback tests: a proxy started in front of
//! a test upstream, a hyper client, and request helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use wafio_proxy::{Proxy, ProxyConfig, ProxyHandle};

/// `../shared/crs` beside the project root.
pub fn crs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs")
}

/// A proxy listening on a free loopback port.
pub struct Started {
    pub addr: SocketAddr,
    pub admin: Option<SocketAddr>,
    pub handle: ProxyHandle,
    pub config: ProxyConfig,
}

/// Starts a proxy in front of `upstream` with the default config (audit
/// log in the temp dir, named by `tag`, the process and the upstream port),
/// as changed by `edit`.
pub async fn start_proxy(
    upstream: SocketAddr,
    tag: &str,
    edit: impl FnOnce(&mut ProxyConfig),
) -> Started {
    let mut config = ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: format!("http://{upstream}"),
        audit_log: std::env::temp_dir()
            .join(format!(
                "wafio-{tag}-audit-{}-{}.jsonl",
                std::process::id(),
                upstream.port()
            ))
            .display()
            .to_string(),
        ..ProxyConfig::default()
    };
    edit(&mut config);
    let proxy = Proxy::bind(config.clone()).await.unwrap();
    let addr = proxy.local_addr().unwrap();
    let admin = proxy.admin_addr();
    let handle = proxy.handle();
    tokio::spawn(proxy.serve());
    Started {
        addr,
        admin,
        handle,
        config,
    }
}

pub type TestClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// An HTTP/1.1 client.
pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends a request (20 s limit): status, headers and the whole body.
pub async fn send(
    c: &TestClient,
    req: Request<Full<Bytes>>,
) -> (StatusCode, http::HeaderMap, Bytes) {
    let resp = tokio::time::timeout(Duration::from_secs(20), c.request(req))
        .await
        .expect("response in time")
        .expect("response");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

/// A GET of `path` on `addr`.
pub fn get(addr: SocketAddr, path: &str) -> Request<Full<Bytes>> {
    get_with(addr, path, &[])
}

/// A GET of `path` on `addr` with extra headers.
pub fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut b = Request::get(format!("http://{addr}{path}"));
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(Full::new(Bytes::new())).unwrap()
}
