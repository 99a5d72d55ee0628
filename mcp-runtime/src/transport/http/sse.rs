//! Server-sent events: framing, and the body of a streaming response.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};

/// One event carrying a JSON-RPC message; `id` lets the client resume after it.
pub(crate) fn event(id: Option<&str>, message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(message.len() + 32);
    if let Some(id) = id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(id.as_bytes());
        out.push(b'\n');
    }
    // Serialized JSON has no raw newlines, but a line break must never end the field early.
    for line in message.split(|&b| b == b'\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.push(b'\n');
    }
    out.push(b'\n');
    Bytes::from(out)
}

/// The first event of a resumable stream: an id and empty data, so that the client can
/// reconnect with `Last-Event-ID` even before any message came, and how long to wait before
/// reconnecting.
pub(crate) fn priming(id: &str, retry: Duration) -> Bytes {
    Bytes::from(format!(
        "id: {id}\nretry: {}\ndata: \n\n",
        retry.as_millis()
    ))
}

// ---- Production (issue 20)
/// The last frame of a stream the server closes while draining: how long to wait before
/// reconnecting (to another instance, behind a load balancer), with no event to dispatch.
pub(crate) fn retry_hint(retry: Duration) -> Bytes {
    Bytes::from(format!("retry: {}\n\n", retry.as_millis()))
}

/// A comment line: keeps proxies from closing an idle stream.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

// ---- Slow SSE consumers (bounded live channels)

/// The events on their way to one open SSE connection. The queue is bounded: it holds what a
/// resume replays plus [`HttpOptions::sse_send_buffer`](super::HttpOptions::sse_send_buffer)
/// events, and a client that falls further behind has its connection closed rather than
/// making the server hold ever more for it (what it missed stays in the stream's bounded
/// replay buffer, to be resumed with `Last-Event-ID`).
pub(crate) type Live = mpsc::Sender<Bytes>;

/// A channel to an SSE connection, sized for `options` (see [`Live`]).
pub(crate) fn live_channel(options: &super::HttpOptions) -> (Live, mpsc::Receiver<Bytes>) {
    // Bounded channels allocate their slots as they fill: a large bound costs nothing idle.
    mpsc::channel(options.replay_buffer.max(1) + options.sse_send_buffer.max(1))
}

/// What became of an event handed to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Queued for the connection.
    Queued,
    /// The connection is gone.
    Gone,
    /// The client reads too slowly: its queue is full, the connection is to be closed.
    TooSlow,
}

/// Queues `event` for a connection without waiting.
pub(crate) fn send(live: &Live, event: Bytes) -> Sent {
    match live.try_send(event) {
        Ok(()) => Sent::Queued,
        Err(mpsc::error::TrySendError::Closed(_)) => Sent::Gone,
        Err(mpsc::error::TrySendError::Full(_)) => Sent::TooSlow,
    }
}

/// Says (once per connection: the caller drops the sender at once) that a client read too
/// slowly and its connection is being closed, and counts it.
pub(crate) fn too_slow(core: &crate::server::ServerCore, session: Option<&str>, stream: u64) {
    tracing::warn!(
        session,
        stream,
        "an SSE client reads too slowly: its connection is closed, the stream can be resumed \
         with Last-Event-ID"
    );
    #[cfg(feature = "metrics")]
    if let Some(m) = &core.stack.metrics {
        m.slow_sse_consumer();
    }
    let _ = core;
}

/// The body of an SSE response: events from a channel, a keep-alive comment whenever the
/// stream is idle, and an optional time limit after which the connection is closed (the
/// stream itself goes on, to be resumed). Ends when the channel closes.
pub(crate) struct SseBody {
    events: mpsc::Receiver<Bytes>,
    keep_alive: Interval,
    close_at: Option<Pin<Box<Sleep>>>,
    // Middleware and observability.
    /// Held while the stream is open (the SSE streams gauge).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    counted: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl SseBody {
    pub(crate) fn new(
        events: mpsc::Receiver<Bytes>,
        keep_alive: Duration,
        close_after: Option<Duration>,
    ) -> SseBody {
        let mut interval = tokio::time::interval_at(Instant::now() + keep_alive, keep_alive);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        SseBody {
            events,
            keep_alive: interval,
            close_at: close_after.map(|d| Box::pin(tokio::time::sleep(d))),
            counted: None,
        }
    }

    /// Counts the stream in the server's metrics while it is open.
    #[cfg_attr(not(feature = "metrics"), allow(unused_mut))]
    pub(crate) fn counted(mut self, core: &crate::server::ServerCore) -> SseBody {
        #[cfg(feature = "metrics")]
        if let Some(m) = &core.stack.metrics {
            self.counted = Some(Box::new(m.sse_stream()));
        }
        let _ = core;
        self
    }
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        match this.events.poll_recv(cx) {
            Poll::Ready(Some(event)) => {
                this.keep_alive.reset();
                return Poll::Ready(Some(Ok(Frame::data(event))));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        if let Some(close_at) = &mut this.close_at
            && close_at.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(None);
        }
        ready!(this.keep_alive.poll_tick(cx));
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(KEEP_ALIVE)))))
    }
}

/// Every response body the endpoint sends.
pub(crate) enum ResponseBody {
    /// All of it at once (JSON, text, or nothing).
    Full(Option<Bytes>),
    /// An SSE stream.
    Sse(SseBody),
}

impl ResponseBody {
    pub(crate) fn empty() -> ResponseBody {
        ResponseBody::Full(None)
    }

    pub(crate) fn full(bytes: impl Into<Bytes>) -> ResponseBody {
        ResponseBody::Full(Some(bytes.into()))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Sse(sse) => Pin::new(sse).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            ResponseBody::Sse(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_events() {
        assert_eq!(
            &event(Some("3-1"), br#"{"a":1}"#)[..],
            b"id: 3-1\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(&event(None, b"x\ny")[..], b"data: x\ndata: y\n\n");
        assert_eq!(
            &priming("0-0", Duration::from_millis(1500))[..],
            b"id: 0-0\nretry: 1500\ndata: \n\n"
        );
    }
}
