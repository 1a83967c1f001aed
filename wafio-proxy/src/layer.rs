//! [`WafLayer`]: the WAF as a `tower` layer, for embedding in axum, hyper
//! or any tower service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use tower_layer::Layer;
use tower_service::Service;

use crate::decision::Decision;
use crate::waf::{Verdict, Waf};

/// A `tower` layer that inspects every request with a [`Waf`] before the
/// inner service sees it.
///
/// The body is buffered up to the limit (default 1 MiB; a longer body is
/// answered 413), inspected with the headers, and handed on as
/// `B::from(bytes)`. A blocked request is answered 403 with a fixed body
/// and never reaches the inner service; otherwise the [`Verdict`] is put in
/// the request's extensions (as `Arc<Verdict>`) for the service to log.
/// The WAF is read from an [`ArcSwap`], so a new one can be stored while
/// the service runs.
///
/// ```
/// use std::sync::Arc;
/// use wafio_proxy::{Waf, WafLayer};
/// let layer = WafLayer::new(Waf::builder().build()).body_limit(64 * 1024);
/// let handle = layer.waf(); // store a new Arc<Waf> here to reload
/// handle.store(Arc::new(Waf::builder().threshold(7.0).build()));
/// ```
#[derive(Clone, Debug)]
pub struct WafLayer {
    waf: Arc<ArcSwap<Waf>>,
    body_limit: usize,
}

impl WafLayer {
    /// A layer over one WAF.
    pub fn new(waf: Waf) -> WafLayer {
        WafLayer::shared(Arc::new(ArcSwap::from_pointee(waf)))
    }

    /// A layer over a swappable WAF shared with the caller.
    pub fn shared(waf: Arc<ArcSwap<Waf>>) -> WafLayer {
        WafLayer {
            waf,
            body_limit: 1024 * 1024,
        }
    }

    /// Bytes of body buffered and inspected; longer bodies get 413.
    pub fn body_limit(mut self, limit: usize) -> WafLayer {
        self.body_limit = limit;
        self
    }

    /// The swappable WAF.
    pub fn waf(&self) -> Arc<ArcSwap<Waf>> {
        self.waf.clone()
    }
}

impl<S> Layer<S> for WafLayer {
    type Service = WafService<S>;

    fn layer(&self, inner: S) -> WafService<S> {
        WafService {
            inner,
            waf: self.waf.clone(),
            body_limit: self.body_limit,
        }
    }
}

/// The service [`WafLayer`] wraps around an inner service.
#[derive(Clone, Debug)]
pub struct WafService<S> {
    inner: S,
    waf: Arc<ArcSwap<Waf>>,
    body_limit: usize,
}

fn reply<RB: From<Bytes>>(status: StatusCode, text: &'static str) -> Response<RB> {
    let mut r = Response::new(RB::from(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

impl<S, B, RB> Service<Request<B>> for WafService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    B: http_body::Body + From<Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    RB: From<Bytes>,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<RB>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // The clone is the not-yet-ready one; the ready one serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let waf = self.waf.load_full();
        let limit = self.body_limit;
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let bytes = match Limited::new(body, limit).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return Ok(reply(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Request body too large.\n",
                    ));
                }
                Err(_) => return Ok(reply(StatusCode::BAD_REQUEST, "Malformed request body.\n")),
            };
            let model = crate::proxy::model_of(&parts, bytes.clone());
            let verdict: Verdict = waf.inspect(&model);
            if verdict.decision == Decision::Block {
                return Ok(reply(
                    StatusCode::FORBIDDEN,
                    "Forbidden: the request was blocked.\n",
                ));
            }
            parts.extensions.insert(Arc::new(verdict));
            inner.call(Request::from_parts(parts, B::from(bytes))).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::Full;
    use tower::{service_fn, ServiceExt};

    use super::*;

    async fn app(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
        let seen = req.extensions().get::<Arc<Verdict>>().is_some();
        let body = req.into_body().collect().await.unwrap().to_bytes();
        assert!(seen, "verdict not passed on");
        Ok(Response::new(Full::new(body)))
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn blocks_passes_and_limits() {
        run(async {
            let layer = WafLayer::new(Waf::builder().build()).body_limit(64);
            let svc = layer.layer(service_fn(app));
            let req = |uri: &str, body: &'static [u8]| {
                Request::post(uri)
                    .header("host", "app.example")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Full::new(Bytes::from_static(body)))
                    .unwrap()
            };
            let resp = svc.clone().oneshot(req("/a", b"name=alice")).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, "name=alice");

            let resp = svc
                .clone()
                .oneshot(req("/a", b"name=1' UNION SELECT password FROM users--"))
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::FORBIDDEN);

            let resp = svc.clone().oneshot(req("/a", &[b'a'; 65])).await.unwrap();
            assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

            // A swapped-in WAF applies to the next request.
            layer
                .waf()
                .store(Arc::new(Waf::builder().mode(crate::Mode::Detect).build()));
            let resp = svc
                .oneshot(req("/a", b"name=1' UNION SELECT password FROM users--"))
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
        });
    }
}
