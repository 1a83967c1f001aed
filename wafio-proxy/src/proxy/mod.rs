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
//! Order per request: client address (`trusted_proxies`), geo rules, rate limit
//! (before the body is read), body, inspection (detectors, bot signals,
//! CRS phases 1–2), upstream, response inspection (CRS phases 3–4, when
//! `[waf.response]` is on).
//!
//! Answers of its own: 403 blocked (the request id, nothing about rules),
//! 400 malformed (hyper's parser, or a body that breaks off), 408 body too
//! slow, 413 body over the limit (`over_limit = "reject"`), 429 over the
//! client's rate (with `Retry-After`), `waf.response.block_status` (403 by
//! default) for a blocked response, 502 upstream unreachable (or its
//! inspected response body broke off), 504 upstream too slow.
//!
//! Audit lines (`event`): `geo` (client blocked or logged by `[geo]`),
//! `request` (blocked or logged request), `response`
//! (blocked or logged response), `rate_limit` (once when a client starts
//! being refused, not per refused request), `offender` (a repeat offender
//! handed to the sink, with the result). Metrics: `wafio_requests_total`
//! by outcome (`pass`, `log`, `block`, `response_block`, `429`, …),
//! `wafio_blocks_total` by category (`bot` included),
//! `wafio_rate_limited_total`, `wafio_rate_limit_evictions_total`,
//! `wafio_response_over_limit_total`, `wafio_offenders_total` by result.
//!
//! Limits and timeouts: `header_timeout_ms` for a request head (slowloris),
//! `body_timeout_ms` for the inspected part of a body, `idle_timeout_ms`
//! for a connection with no traffic, `upstream_timeout_ms` for the
//! upstream's response head; request heads are bounded by hyper (HTTP/1
//! buffer 64 KiB here, HTTP/2 header list 64 KiB, 256 concurrent streams).
//!
//! Reload ([`ProxyHandle::reload`]): the `[waf]` table (bot, response and
//! route settings included), `body_limit`, `over_limit`, `trusted_proxies`
//! `[rate_limit]` and `[geo]` (databases re-read) swap in atomically (`arc-swap`); requests in flight
//! finish with the generation they started with and no connection is
//! dropped. The rate-limit buckets are kept when `[rate_limit]` and the
//! routes' `rate_limit` did not change (and start afresh when they did).
//! `listen`, `admin_listen`, `upstream`, `tls`, timeouts, `audit_log` and
//! `[offenders]` need a restart.

mod audit;
mod body;
mod idle;
mod metrics;

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
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

use serde_json::json;
use wafio_crs::engine::ResponseData;

use crate::clientip::TrustedProxies;
use crate::config::{OverLimit, ProxyConfig, TlsConfig, WafError};
use crate::decision::{Decision, Mode};
use crate::geo::GeoFilter;
use crate::offender::{OffenderSink, OffenderTracker};
use crate::ratelimit::{Admit, RateLimits};
use crate::waf::{Crs, PendingResponse, RequestContext, Waf};

use self::audit::{rfc3339_now, rules_json, AuditEvent, AuditLog};
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
    trusted: TrustedProxies,
    rate: Arc<RateLimits>,
    geo: Option<GeoFilter>,
    /// Response inspection settings (used when `waf.inspects_responses()`).
    response_body_limit: usize,
    response_block_status: StatusCode,
    response_mime: Vec<String>,
}

struct CrsCache {
    dir: PathBuf,
    paranoia: u8,
    threshold: u32,
    mime: Vec<String>,
    crs: Arc<Crs>,
}

/// Repeat-offender counting and its sink.
struct Offenders {
    tracker: OffenderTracker,
    sink: RwLock<Option<Arc<dyn OffenderSink>>>,
    ttl: Duration,
    window_secs: u64,
    count_rate_limited: bool,
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
    offenders: Option<Offenders>,
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

fn build_live(
    config: &ProxyConfig,
    cache: &Mutex<Option<CrsCache>>,
    previous: Option<&Live>,
    metrics: &Metrics,
) -> Result<Live, WafError> {
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
                        && c.threshold == w.crs_threshold
                        && c.mime == w.response.mime_types =>
                {
                    Some(c.crs.clone())
                }
                _ => {
                    let crs = Arc::new(Crs::from_dir_with_mime(
                        dir,
                        w.paranoia,
                        w.crs_threshold,
                        &w.response.mime_types,
                    )?);
                    *cache = Some(CrsCache {
                        dir: dir.clone(),
                        paranoia: w.paranoia,
                        threshold: w.crs_threshold,
                        mime: w.response.mime_types.clone(),
                        crs: crs.clone(),
                    });
                    Some(crs)
                }
            }
        }
    };
    let waf = w.build_with_crs(crs)?;
    let route_rates: Vec<_> = w.routes.iter().map(|r| r.rate_limit).collect();
    // Keep the buckets across a reload that does not change the limits.
    let rate = match previous {
        Some(p) if p.rate.key == (config.rate_limit.clone(), route_rates.clone()) => p.rate.clone(),
        _ => Arc::new(RateLimits::new(
            &config.rate_limit,
            route_rates,
            &metrics.rate_limit_evictions(),
        )),
    };
    Ok(Live {
        waf: Arc::new(waf),
        body_limit: config.body_limit,
        over_limit: config.over_limit,
        trusted: config.trusted_proxies()?,
        rate,
        geo: config.geo_filter()?,
        response_body_limit: w.response.body_limit,
        response_block_status: StatusCode::from_u16(w.response.block_status)
            .unwrap_or(StatusCode::FORBIDDEN),
        response_mime: w.response.mime_types.clone(),
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
        let metrics = Metrics::new();
        let live = build_live(&config, &cache, None, &metrics)?;
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
        let o = &config.offenders;
        let offenders = o.enabled.then(|| {
            #[cfg(feature = "xdp")]
            let sink: Option<Arc<dyn OffenderSink>> = o.xdp_iface.as_ref().map(|iface| {
                Arc::new(crate::offender::XdpOffenderSink::new(
                    iface,
                    o.bpffs.clone(),
                )) as Arc<dyn OffenderSink>
            });
            #[cfg(not(feature = "xdp"))]
            let sink: Option<Arc<dyn OffenderSink>> = None;
            Offenders {
                tracker: OffenderTracker::new(
                    Duration::from_secs(o.window_secs),
                    o.max_blocks,
                    o.max_clients,
                ),
                sink: RwLock::new(sink),
                ttl: o.ttl(),
                window_secs: o.window_secs,
                count_rate_limited: o.count_rate_limited,
            }
        });
        let state = Arc::new(State {
            live: ArcSwap::from_pointee(live),
            client,
            upstream,
            audit,
            metrics,
            header_timeout: Duration::from_millis(config.header_timeout_ms),
            body_timeout: Duration::from_millis(config.body_timeout_ms),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
            upstream_timeout: Duration::from_millis(config.upstream_timeout_ms),
            admin_on_main: admin.is_none(),
            crs_cache: cache,
            offenders,
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
        let previous = self.state.live.load();
        match build_live(
            config,
            &self.state.crs_cache,
            Some(&previous),
            &self.state.metrics,
        ) {
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

    /// Replaces the sink repeat offenders go to (by default the XDP
    /// firewall of `offenders.xdp_iface`, or none: audit only). Only used
    /// when `offenders.enabled`; returns `false` (and keeps nothing) when
    /// it is not.
    pub fn set_offender_sink(&self, sink: Arc<dyn OffenderSink>) -> bool {
        match &self.state.offenders {
            Some(o) => {
                *o.sink.write().unwrap_or_else(|e| e.into_inner()) = Some(sink);
                true
            }
            None => false,
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

/// The `Host` of a request (header, else the URI's authority) and its path.
fn host_and_path(parts: &http::request::Parts) -> (&[u8], &str) {
    let host = parts
        .headers
        .get(header::HOST)
        .map(|v| v.as_bytes())
        .or_else(|| parts.uri.authority().map(|a| a.as_str().as_bytes()))
        .unwrap_or(b"");
    (host, parts.uri.path())
}

/// Counts a block of `client` towards the repeat-offender threshold and,
/// when it is reached, hands the client to the sink on a blocking thread.
fn offended(state: &Arc<State>, client: IpAddr) {
    let Some(o) = &state.offenders else { return };
    let Some(blocks) = o.tracker.record(client, Instant::now()) else {
        return;
    };
    let sink = o.sink.read().unwrap_or_else(|e| e.into_inner()).clone();
    let ttl = o.ttl;
    let window = o.window_secs;
    let state = state.clone();
    // Sinks do system calls and take locks: off the request path. The
    // task is detached; at most one per client per `max_blocks` blocks.
    tokio::task::spawn_blocking(move || {
        let (sink_name, result) = match &sink {
            Some(s) => (s.name().to_string(), Some(s.block(client, ttl))),
            None => ("none".to_string(), None),
        };
        let (label, error) = match &result {
            Some(Ok(())) => ("pushed", None),
            Some(Err(e)) => ("failed", Some(e.clone())),
            None => ("audited", None),
        };
        state.metrics.offender(label);
        state.audit.write_value(&json!({
            "time": rfc3339_now(),
            "event": "offender",
            "client": client.to_string(),
            "blocks": blocks,
            "window_secs": window,
            "ttl_secs": ttl.as_secs(),
            "sink": sink_name,
            "result": label,
            "error": error,
        }));
    });
}

fn too_many(id: &str, retry_after: u64) -> Response<ProxyBody> {
    let mut r = own_response(
        StatusCode::TOO_MANY_REQUESTS,
        id,
        "Too many requests: slow down.",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    r
}

/// Whether a response's body is inspected: a listed `Content-Type` and no
/// `Content-Encoding` (the CRS rules read bodies as sent; a compressed one
/// would be buffered for nothing).
fn inspected_type(headers: &HeaderMap, mime: &[String]) -> bool {
    if headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return false;
    }
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let base = ct.split(';').next().unwrap_or("").trim();
    mime.iter().any(|m| m.eq_ignore_ascii_case(base))
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
    let peer_ip = peer.ip().to_canonical();
    let client_ip = live.trusted.client(peer_ip, &parts.headers);
    let client = client_ip.to_string();

    // Geo rules, then the rate limit: a refused request costs no body
    // read and no inspection.
    if let Some(geo) = &live.geo {
        let mode = live.waf.mode();
        if let Some(hit) = geo.check(client_ip).filter(|_| mode != Mode::Off) {
            let (host, _) = host_and_path(&parts);
            let decision = if mode == Mode::Block {
                Decision::Block
            } else {
                Decision::Log
            };
            state.audit.write_value(&json!({
                "time": rfc3339_now(),
                "event": "geo",
                "id": id,
                "client": client,
                "method": parts.method.as_str(),
                "host": String::from_utf8_lossy(host),
                "uri": parts.uri.path_and_query().map_or("/", |p| p.as_str()),
                "decision": decision.name(),
                "reason": hit.reason,
                "country": hit.country,
                "asn": hit.asn,
            }));
            if decision == Decision::Block {
                state.metrics.block(&["geo".to_string()]);
                let r = own_response(
                    StatusCode::FORBIDDEN,
                    &id,
                    "Forbidden: the request was blocked.",
                );
                return finish(&state, start, "block", r);
            }
        }
    }
    if live.rate.any() {
        let (host, path) = host_and_path(&parts);
        let route = live.waf.route(host, path).map(|(i, _)| i);
        if let Some(limiter) = live.rate.limiter(route) {
            if let Admit::No { retry_after, first } = limiter.check(client_ip, Instant::now()) {
                state.metrics.rate_limited();
                if first {
                    // Once per limited run of a client, not per request.
                    state.audit.write_value(&json!({
                        "time": rfc3339_now(),
                        "event": "rate_limit",
                        "id": id,
                        "client": client,
                        "method": parts.method.as_str(),
                        "host": String::from_utf8_lossy(host),
                        "uri": parts.uri.path_and_query().map_or("/", |p| p.as_str()),
                        "decision": "block",
                        "retry_after": retry_after,
                    }));
                }
                if state
                    .offenders
                    .as_ref()
                    .is_some_and(|o| o.count_rate_limited)
                {
                    offended(&state, client_ip);
                }
                return finish(&state, start, "429", too_many(&id, retry_after));
            }
        }
    }

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
    // `pending` borrows the WAF generation in `live`, which this request
    // keeps until its response is inspected.
    let (verdict, pending) = live.waf.inspect_request(
        &model,
        RequestContext {
            client: Some(&client),
        },
    );
    let host = || {
        model
            .headers
            .iter()
            .find(|(n, _)| n == "host")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    if verdict.decision != Decision::Pass {
        state.audit.write(&AuditEvent {
            id: &id,
            client: &client,
            method: &model.method,
            uri: &model.uri,
            host: &host(),
            verdict: &verdict,
            micros: start.elapsed().as_micros(),
            body_truncated: truncated,
        });
    }
    if verdict.decision == Decision::Block {
        state.metrics.block(&verdict.categories());
        offended(&state, client_ip);
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
    // The hop this proxy saw is appended, whatever the client was judged to be.
    let xff = match parts
        .headers
        .get(&X_FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
    {
        Some(prev) if !prev.trim().is_empty() => format!("{prev}, {peer_ip}"),
        _ => peer_ip.to_string(),
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
            let Some(pending) = pending else {
                let resp = Response::from_parts(rp, rb.map_err(BoxError::from).boxed_unsync());
                return finish(&state, start, outcome, resp);
            };
            let ctx = RespCtx {
                state: &state,
                live: &live,
                id: &id,
                client_ip,
                client: &client,
                method: &model.method,
                uri: &model.uri,
                host: &host(),
                start,
            };
            inspect_response(ctx, pending, rp, rb, outcome).await
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

/// The request's facts the response inspection reports with.
struct RespCtx<'a> {
    state: &'a Arc<State>,
    live: &'a Live,
    id: &'a str,
    client_ip: IpAddr,
    client: &'a str,
    method: &'a str,
    uri: &'a str,
    host: &'a str,
    start: Instant,
}

/// CRS phases 3–4 on an upstream response: the body is buffered up to the
/// response limit when its content type is inspected; a longer body is
/// streamed after its first part was inspected (or, when its declared
/// length is already over the limit, with only the headers inspected).
async fn inspect_response(
    ctx: RespCtx<'_>,
    pending: PendingResponse<'_>,
    rp: http::response::Parts,
    rb: Incoming,
    outcome: &str,
) -> Response<ProxyBody> {
    let RespCtx {
        state,
        live,
        id,
        start,
        ..
    } = ctx;
    let limit = live.response_body_limit;
    let declared = rp
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = Bytes::new();
    let mut over_limit = false;
    let forward: ProxyBody = if !inspected_type(&rp.headers, &live.response_mime) {
        rb.map_err(BoxError::from).boxed_unsync()
    } else if declared.is_some_and(|n| n > limit as u64) {
        over_limit = true;
        rb.map_err(BoxError::from).boxed_unsync()
    } else {
        match tokio::time::timeout(state.body_timeout, read_prefix(rb, limit)).await {
            Err(_) => {
                state.metrics.upstream_error();
                let r = own_response(StatusCode::GATEWAY_TIMEOUT, id, "Gateway timeout.");
                return finish(state, start, "504", r);
            }
            Ok(Err(_)) => {
                state.metrics.upstream_error();
                let r = own_response(
                    StatusCode::BAD_GATEWAY,
                    id,
                    "Bad gateway: upstream response broke off.",
                );
                return finish(state, start, "502", r);
            }
            Ok(Ok(Buffered::Complete(b))) => {
                body = b.clone();
                full(b)
            }
            Ok(Ok(Buffered::Over(prefix, rest))) => {
                over_limit = true;
                body = prefix.clone();
                PrefixedBody {
                    prefix: Some(prefix),
                    rest,
                }
                .map_err(BoxError::from)
                .boxed_unsync()
            }
        }
    };
    if over_limit {
        state.metrics.response_over_limit();
    }
    let protocol = match rp.version {
        Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let verdict = pending.inspect(ResponseData {
        status: rp.status.as_u16(),
        protocol: protocol.to_string(),
        headers: rp
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect(),
        body: body[..body.len().min(limit)].to_vec(),
    });
    if verdict.decision != Decision::Pass {
        state.audit.write_value(&json!({
            "time": rfc3339_now(),
            "event": "response",
            "id": id,
            "client": ctx.client,
            "method": ctx.method,
            "host": ctx.host,
            "uri": ctx.uri,
            "status": rp.status.as_u16(),
            "decision": verdict.decision.name(),
            "crs_anomaly": verdict.anomaly,
            "categories": verdict.categories(),
            "rules": rules_json(&verdict.rules),
            "body_truncated": over_limit,
            "micros": start.elapsed().as_micros() as u64,
        }));
    }
    if verdict.decision == Decision::Block {
        state.metrics.block(&verdict.categories());
        offended(state, ctx.client_ip);
        let r = own_response(live.response_block_status, id, "The response was blocked.");
        return finish(state, start, "response_block", r);
    }
    finish(state, start, outcome, Response::from_parts(rp, forward))
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
