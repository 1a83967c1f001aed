//! The reverse proxy: hyper 1 + tokio, the [`Waf`] in front of one
//! HTTP/1.1 upstream.
//!
//! Downstream: HTTP/1.1 and HTTP/2 (h2c prior knowledge, or TLS with ALPN
//! `h2`/`http/1.1` when [`ProxyConfig::tls`] is set). Upstream: HTTP/1.1
//! with a keep-alive pool. Per request: a request id (`x-request-id`, also
//! on the response and in the audit line), the body buffered up to
//! `body_limit` and inspected, then forwarded with `X-Forwarded-For` and
//! `X-Forwarded-Proto` added and hop-by-hop headers removed; everything
//! else (header names' case included, on HTTP/1.1) goes upstream as sent.
//!
//! Answers of its own: 403 blocked (the request id, nothing about rules),
//! 400 malformed (hyper's parser, or a body that breaks off), 408 body too
//! slow, 413 body over the limit (`over_limit = "reject"`), 502 upstream
//! unreachable, 504 upstream too slow.
//!
//! Limits and timeouts: `header_timeout_ms` for a request head (slowloris),
//! `body_timeout_ms` for the inspected part of a body, `idle_timeout_ms`
//! for a connection with no traffic, `upstream_timeout_ms` for the
//! upstream's response head; request heads are bounded by hyper (HTTP/1
//! buffer 64 KiB here, HTTP/2 header list 64 KiB, 256 concurrent streams).
//!
//! Reload ([`ProxyHandle::reload`]): the `[waf]` table, `body_limit` and
//! `over_limit` swap in atomically (`arc-swap`); requests in flight finish
//! with the generation they started with and no connection is dropped.
//! `listen`, `admin_listen`, `upstream`, `tls`, timeouts and `audit_log`
//! need a restart.

mod audit;
mod body;
mod idle;
mod metrics;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use wafio_crs::request::HttpRequest;

use crate::config::{OverLimit, ProxyConfig, TlsConfig, WafError};
use crate::decision::Decision;
use crate::waf::{Crs, RequestContext, Waf};

use self::audit::{AuditEvent, AuditLog};
use self::body::{read_prefix, Buffered, PrefixedBody};
use self::idle::IdleIo;
use self::metrics::Metrics;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of the proxy's responses.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// Why the proxy does not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The configuration is refused.
    #[error(transparent)]
    Config(#[from] WafError),
    /// A listener cannot be bound, or the audit log cannot be opened.
    #[error("{what}: {source}")]
    Io {
        /// What failed, e.g. `bind 127.0.0.1:8080`.
        what: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The certificate or key does not load.
    #[error("TLS: {0}")]
    Tls(String),
}

/// What a reload can change.
struct Live {
    waf: Arc<Waf>,
    body_limit: usize,
    over_limit: OverLimit,
}

struct CrsCache {
    dir: PathBuf,
    paranoia: u8,
    threshold: u32,
    crs: Arc<Crs>,
}

struct State {
    live: ArcSwap<Live>,
    client: Client<HttpConnector, ProxyBody>,
    upstream: String,
    audit: AuditLog,
    metrics: Metrics,
    header_timeout: Duration,
    body_timeout: Duration,
    idle_timeout: Duration,
    upstream_timeout: Duration,
    admin_on_main: bool,
    crs_cache: Mutex<Option<CrsCache>>,
}

/// A bound, not yet serving proxy.
pub struct Proxy {
    listener: TcpListener,
    admin: Option<TcpListener>,
    tls: Option<TlsAcceptor>,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
}

/// Controls a running [`Proxy`]: reload its configuration, stop it.
#[derive(Clone)]
pub struct ProxyHandle {
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandle").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("listen", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

fn build_live(config: &ProxyConfig, cache: &Mutex<Option<CrsCache>>) -> Result<Live, WafError> {
    config.validate()?;
    let w = &config.waf;
    let crs = match &w.crs_dir {
        None => None,
        Some(dir) => {
            let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
            match cache.as_ref() {
                Some(c)
                    if &c.dir == dir
                        && c.paranoia == w.paranoia
                        && c.threshold == w.crs_threshold =>
                {
                    Some(c.crs.clone())
                }
                _ => {
                    let crs = Arc::new(Crs::from_dir(dir, w.paranoia, w.crs_threshold)?);
                    *cache = Some(CrsCache {
                        dir: dir.clone(),
                        paranoia: w.paranoia,
                        threshold: w.crs_threshold,
                        crs: crs.clone(),
                    });
                    Some(crs)
                }
            }
        }
    };
    Ok(Live {
        waf: Arc::new(w.build_with_crs(crs)?),
        body_limit: config.body_limit,
        over_limit: config.over_limit,
    })
}

fn tls_acceptor(cfg: &TlsConfig) -> Result<TlsAcceptor, ProxyError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&cfg.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ProxyError::Tls(format!("{}: {e}", cfg.cert.display())))?;
    if certs.is_empty() {
        return Err(ProxyError::Tls(format!(
            "{}: no certificate",
            cfg.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key)
        .map_err(|e| ProxyError::Tls(format!("{}: {e}", cfg.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut sc = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProxyError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ProxyError::Tls(format!("{}: {e}", cfg.key.display())))?;
    sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(sc)))
}

impl Proxy {
    /// Validates the configuration, builds the WAF (loading the CRS), opens
    /// the audit log and binds the listeners.
    pub async fn bind(config: ProxyConfig) -> Result<Proxy, ProxyError> {
        let cache = Mutex::new(None);
        let live = build_live(&config, &cache)?;
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let audit = AuditLog::open(&config.audit_log).map_err(|source| ProxyError::Io {
            what: format!("audit log {}", config.audit_log),
            source,
        })?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| ProxyError::Io {
                what: format!("bind {}", config.listen),
                source,
            })?;
        let admin = match config.admin_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| ProxyError::Io {
                        what: format!("bind admin {addr}"),
                        source,
                    })?,
            ),
            None => None,
        };
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(512)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http1_preserve_header_case(true)
            .build(connector);
        let upstream = config.upstream.trim_end_matches('/').to_string();
        let state = Arc::new(State {
            live: ArcSwap::from_pointee(live),
            client,
            upstream,
            audit,
            metrics: Metrics::new(),
            header_timeout: Duration::from_millis(config.header_timeout_ms),
            body_timeout: Duration::from_millis(config.body_timeout_ms),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
            upstream_timeout: Duration::from_millis(config.upstream_timeout_ms),
            admin_on_main: admin.is_none(),
            crs_cache: cache,
        });
        let (shutdown, _) = watch::channel(false);
        Ok(Proxy {
            listener,
            admin,
            tls,
            state,
            shutdown,
        })
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The admin listener's address, if one is configured.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// A handle to reload or stop the proxy once it serves.
    pub fn handle(&self) -> ProxyHandle {
        ProxyHandle {
            state: self.state.clone(),
            shutdown: self.shutdown.clone(),
        }
    }

    /// Serves until [`ProxyHandle::shutdown`]. Connections already accepted
    /// finish on their own tasks.
    pub async fn serve(self) {
        let mut stop = self.shutdown.subscribe();
        if let Some(admin) = self.admin {
            tokio::spawn(admin_loop(
                admin,
                self.state.clone(),
                self.shutdown.subscribe(),
            ));
        }
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let state = self.state.clone();
                        let tls = self.tls.clone();
                        tokio::spawn(connection(state, stream, peer, tls));
                    }
                    // Out of file descriptors and the like: back off, keep serving.
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                },
                _ = stop.changed() => break,
            }
        }
    }
}

impl ProxyHandle {
    /// Swaps in a new `[waf]` table, `body_limit` and `over_limit`. On
    /// error the running configuration stays. Loading a changed CRS takes
    /// as long as at startup; call from a blocking context.
    pub fn reload(&self, config: &ProxyConfig) -> Result<(), WafError> {
        match build_live(config, &self.state.crs_cache) {
            Ok(live) => {
                self.state.live.store(Arc::new(live));
                self.state.metrics.reload(true);
                Ok(())
            }
            Err(e) => {
                self.state.metrics.reload(false);
                Err(e)
            }
        }
    }

    /// The WAF generation serving now.
    pub fn waf(&self) -> Arc<Waf> {
        self.state.live.load().waf.clone()
    }

    /// Stops accepting connections.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

async fn connection(
    state: Arc<State>,
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
) {
    let _ = stream.set_nodelay(true);
    let idle = state.idle_timeout;
    match tls {
        Some(acceptor) => {
            let accepted =
                tokio::time::timeout(state.header_timeout, acceptor.accept(stream)).await;
            if let Ok(Ok(tls)) = accepted {
                serve_connection(state, IdleIo::new(tls, idle), peer, "https").await;
            }
        }
        None => serve_connection(state, IdleIo::new(stream, idle), peer, "http").await,
    }
}

async fn serve_connection<I>(state: Arc<State>, io: I, peer: SocketAddr, scheme: &'static str)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = state.header_timeout;
    let svc = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(state, peer, scheme, req).await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .preserve_header_case(true)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .max_header_list_size(64 * 1024);
    // Errors here are the client's (reset, timeout, garbage): nothing to do.
    let _ = builder.serve_connection(TokioIo::new(io), svc).await;
}

fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SALT: OnceLock<u32> = OnceLock::new();
    let salt = *SALT.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let mixed =
            (nanos ^ (u64::from(std::process::id()) << 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 32) as u32
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{salt:08x}-{n:012x}")
}

fn full(body: impl Into<Bytes>) -> ProxyBody {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn own_response(status: StatusCode, id: &str, text: &str) -> Response<ProxyBody> {
    let mut resp = Response::new(full(format!("{text}\nRequest id: {id}\n")));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert(X_REQUEST_ID.clone(), v);
    }
    resp
}

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

fn admin_response(state: &State, path: &str) -> Option<Response<ProxyBody>> {
    match path {
        "/healthz" => {
            let mut r = Response::new(full("ok\n"));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            Some(r)
        }
        "/metrics" => {
            let mut r = Response::new(full(state.metrics.encode()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            Some(r)
        }
        _ => None,
    }
}

async fn admin_loop(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let idle = state.idle_timeout;
                    let st = state.clone();
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let st = st.clone();
                        async move {
                            Ok::<_, Infallible>(admin_response(&st, req.uri().path()).unwrap_or_else(|| {
                                let mut r = Response::new(full("not found\n"));
                                *r.status_mut() = StatusCode::NOT_FOUND;
                                r
                            }))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(state.header_timeout)
                        .serve_connection(TokioIo::new(IdleIo::new(stream, idle)), svc)
                        .await;
                });
            }
            _ = stop.changed() => break,
        }
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones named in `Connection`,
/// plus `Expect` (the proxy has read the body already).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::EXPECT,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

/// The request as the WAF's request model sees it.
pub(crate) fn model_of(parts: &http::request::Parts, body: Bytes) -> HttpRequest {
    let version = match parts.version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };
    let mut headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    if !parts.headers.contains_key(header::HOST) {
        if let Some(a) = parts.uri.authority() {
            headers.push(("host".to_string(), a.as_str().as_bytes().to_vec()));
        }
    }
    HttpRequest {
        method: parts.method.as_str().to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string(),
        version: version.to_string(),
        headers,
        body,
    }
}

fn finish(
    state: &State,
    start: Instant,
    outcome: &str,
    resp: Response<ProxyBody>,
) -> Response<ProxyBody> {
    state
        .metrics
        .request(outcome, start.elapsed().as_secs_f64());
    resp
}

async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    scheme: &'static str,
    req: Request<Incoming>,
) -> Response<ProxyBody> {
    let start = Instant::now();
    if state.admin_on_main {
        if let Some(resp) = admin_response(&state, req.uri().path()) {
            return resp;
        }
    }
    let id = request_id();
    let live = state.live.load_full();
    let (mut parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        own_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &id,
            "Request body too large.",
        )
    };
    if live.over_limit == OverLimit::Reject && declared.is_some_and(|n| n > live.body_limit as u64)
    {
        return finish(&state, start, "413", too_large());
    }
    let buffered =
        match tokio::time::timeout(state.body_timeout, read_prefix(body, live.body_limit)).await {
            Err(_) => {
                let r = own_response(StatusCode::REQUEST_TIMEOUT, &id, "Request body too slow.");
                return finish(&state, start, "408", r);
            }
            Ok(Err(_)) => {
                let r = own_response(StatusCode::BAD_REQUEST, &id, "Malformed request body.");
                return finish(&state, start, "400", r);
            }
            Ok(Ok(b)) => b,
        };
    let (inspected, forward, truncated) = match buffered {
        Buffered::Complete(b) => (b.clone(), full(b), false),
        Buffered::Over(_, _) if live.over_limit == OverLimit::Reject => {
            return finish(&state, start, "413", too_large());
        }
        Buffered::Over(prefix, rest) => {
            let body = PrefixedBody {
                prefix: Some(prefix.clone()),
                rest,
            };
            (prefix, body.map_err(BoxError::from).boxed_unsync(), true)
        }
    };
    let model = model_of(&parts, inspected);
    let client = peer.ip().to_string();
    let verdict = live.waf.inspect_with(
        &model,
        RequestContext {
            client: Some(&client),
        },
    );
    drop(live);
    if verdict.decision != Decision::Pass {
        let host = model
            .headers
            .iter()
            .find(|(n, _)| n == "host")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        state.audit.write(&AuditEvent {
            id: &id,
            client: &client,
            method: &model.method,
            uri: &model.uri,
            host: &host,
            verdict: &verdict,
            micros: start.elapsed().as_micros(),
            body_truncated: truncated,
        });
    }
    if verdict.decision == Decision::Block {
        state.metrics.block(&verdict.categories());
        let r = own_response(
            StatusCode::FORBIDDEN,
            &id,
            "Forbidden: the request was blocked.",
        );
        return finish(&state, start, "block", r);
    }
    let outcome = verdict.decision.name();

    // Forward.
    let target = format!(
        "{}{}",
        state.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let Ok(target) = target.parse::<Uri>() else {
        let r = own_response(StatusCode::BAD_REQUEST, &id, "Malformed request target.");
        return finish(&state, start, "400", r);
    };
    let authority = parts.uri.authority().cloned();
    parts.uri = target;
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    if !parts.headers.contains_key(header::HOST) {
        if let Some(v) = authority.and_then(|a| HeaderValue::from_str(a.as_str()).ok()) {
            parts.headers.insert(header::HOST, v);
        }
    }
    let xff = match parts
        .headers
        .get(&X_FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
    {
        Some(prev) if !prev.trim().is_empty() => format!("{prev}, {client}"),
        _ => client.clone(),
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        parts.headers.insert(X_FORWARDED_FOR.clone(), v);
    }
    parts
        .headers
        .insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(scheme));
    if let Ok(v) = HeaderValue::from_str(&id) {
        parts.headers.insert(X_REQUEST_ID.clone(), v);
    }
    let upstream_req = Request::from_parts(parts, forward);
    match tokio::time::timeout(state.upstream_timeout, state.client.request(upstream_req)).await {
        Ok(Ok(resp)) => {
            let (mut rp, rb) = resp.into_parts();
            strip_hop_by_hop(&mut rp.headers);
            if let Ok(v) = HeaderValue::from_str(&id) {
                rp.headers.insert(X_REQUEST_ID.clone(), v);
            }
            let resp = Response::from_parts(rp, rb.map_err(BoxError::from).boxed_unsync());
            finish(&state, start, outcome, resp)
        }
        Ok(Err(_)) => {
            state.metrics.upstream_error();
            let r = own_response(
                StatusCode::BAD_GATEWAY,
                &id,
                "Bad gateway: upstream unreachable.",
            );
            finish(&state, start, "502", r)
        }
        Err(_) => {
            state.metrics.upstream_error();
            let r = own_response(StatusCode::GATEWAY_TIMEOUT, &id, "Gateway timeout.");
            finish(&state, start, "504", r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn request_ids_are_unique() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 21);
    }
}
