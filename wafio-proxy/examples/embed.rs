//! Embedding the WAF in-process: a hyper service wrapped in [`WafLayer`].
//!
//! ```text
//! cargo run -p wafio-proxy --example embed -- 127.0.0.1:3001
//! curl -i 'http://127.0.0.1:3001/hello?name=world'              # 200
//! curl -i "http://127.0.0.1:3001/hello?name=1'%20OR%20'1'='1"   # 403
//! ```
//!
//! With axum the same layer goes on a router: `Router::new()...
//! .layer(WafLayer::new(waf))` (axum's `Body` is `From<Bytes>`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tower::ServiceBuilder;
use wafio_proxy::{Verdict, Waf, WafLayer};

/// The application: says hello, and shows the WAF's score for the request.
async fn app(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let score = req
        .extensions()
        .get::<Arc<Verdict>>()
        .map_or(0.0, |v| v.score);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    Ok(Response::new(Full::new(Bytes::from(format!(
        "hello ({} body bytes, WAF score {score})\n",
        body.len()
    )))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".to_string())
        .parse()?;
    let layer = WafLayer::new(Waf::builder().build()).body_limit(256 * 1024);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("embed example: http://{addr}/");
    loop {
        let (stream, _) = listener.accept().await?;
        let layer = layer.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let layer = layer.clone();
                async move { handle(layer, req).await }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// hyper's `Incoming` body is not `From<Bytes>`: buffer it into `Full`
/// (bounded), then run the application behind the layer. (An axum router
/// needs none of this: `router.layer(layer)`.)
async fn handle(
    layer: WafLayer,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    use tower::{Service, ServiceExt};
    let (parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, 256 * 1024 + 1);
    let bytes = match limited.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"too large\n")));
            *r.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(r);
        }
    };
    let mut svc = ServiceBuilder::new()
        .layer(layer)
        .service(tower::service_fn(app));
    svc.ready().await?;
    svc.call(Request::from_parts(parts, Full::new(bytes))).await
}

// Compile-checks `wafio proxy`'s module (wafio-cli/src/proxy.rs) with this
// crate's clippy run.
#[allow(dead_code)]
#[path = "../../wafio-cli/src/proxy.rs"]
mod proxy;
