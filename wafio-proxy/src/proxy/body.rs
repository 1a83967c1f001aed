//! Request body buffering up to the inspection limit.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// A request body read up to the inspection limit.
pub(crate) enum Buffered {
    /// The whole body, at most `limit` bytes.
    Complete(Bytes),
    /// More than `limit` bytes: what was read (at most `limit` plus one
    /// frame), and the rest of the stream.
    Over(Bytes, Incoming),
}

/// Reads `body` until its end or until more than `limit` bytes arrived.
/// Memory is bounded by `limit` plus one frame (hyper bounds frames by its
/// read buffer for HTTP/1 and the frame size for HTTP/2). Trailers are
/// dropped.
pub(crate) async fn read_prefix(
    mut body: Incoming,
    limit: usize,
) -> Result<Buffered, hyper::Error> {
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            buf.extend_from_slice(&data);
            if buf.len() > limit {
                return Ok(Buffered::Over(buf.freeze(), body));
            }
        }
    }
    Ok(Buffered::Complete(buf.freeze()))
}

/// The inspected prefix followed by the uninspected rest of a body.
pub(crate) struct PrefixedBody {
    pub(crate) prefix: Option<Bytes>,
    pub(crate) rest: Incoming,
}

impl Body for PrefixedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        Pin::new(&mut this.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self.rest.size_hint();
        let n = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        // Upper before lower: `set_lower` asserts lower <= upper.
        let mut hint = SizeHint::new();
        if let Some(u) = rest.upper() {
            hint.set_upper(u.saturating_add(n));
        }
        hint.set_lower(rest.lower().saturating_add(n));
        hint
    }
}
