//! Connections that stall: a write timeout under HTTP/1.1, HTTP/2 and TLS alike, and the
//! count of an HTTP/2 connection's open streams for its idle close.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A connection whose writes must make progress within `timeout`: a write (or flush) that
/// cannot go on for that long fails with `TimedOut`, which ends the connection and frees its
/// slot. Time spent with nothing to write does not count (an idle SSE stream is not stalled);
/// only a client that stops reading what it is sent is.
pub(crate) struct WriteTimeout<I> {
    io: I,
    timeout: Duration,
    /// Armed while a write is blocked; made at the first block, reset afterwards.
    deadline: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl<I> WriteTimeout<I> {
    pub(crate) fn new(io: I, timeout: Duration) -> WriteTimeout<I> {
        WriteTimeout {
            io,
            timeout,
            deadline: None,
            armed: false,
        }
    }

    /// What a blocked write does: waits, unless it has been blocked for the whole timeout.
    fn blocked<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.timeout;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if !self.armed {
            deadline.as_mut().reset(Instant::now() + timeout);
            self.armed = true;
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {timeout:?} (--write-timeout)"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn outcome<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(r) => {
                self.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => self.blocked(cx),
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for WriteTimeout<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.outcome(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.outcome(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.outcome(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.outcome(cx, poll)
    }
}

#[cfg(feature = "tls")]
pub(crate) use h2::{Counted, Streams};

/// HTTP/2 (only served with TLS, by ALPN).
#[cfg(feature = "tls")]
mod h2 {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::task::{Context, Poll, ready};
    use std::time::Duration;

    use hyper::body::{Body, Frame, SizeHint};
    use tokio::time::Instant;

    /// The open streams of one HTTP/2 connection, and when the last one ended: the connection
    /// is closed once it has had none for the idle timeout.
    #[derive(Default)]
    pub(crate) struct Streams {
        open: AtomicUsize,
        /// Milliseconds since `epoch` when the count last fell to zero.
        idle_since: AtomicU64,
        epoch: std::sync::OnceLock<Instant>,
    }

    impl Streams {
        pub(crate) fn new() -> Arc<Streams> {
            let streams = Streams::default();
            let _ = streams.epoch.set(Instant::now());
            Arc::new(streams)
        }

        fn now(&self) -> u64 {
            self.epoch
                .get()
                .map_or(0, |e| e.elapsed().as_millis() as u64)
        }

        /// Counts a stream open until the guard is dropped (with the response body).
        pub(crate) fn open(self: &Arc<Self>) -> StreamGuard {
            self.open.fetch_add(1, Ordering::AcqRel);
            StreamGuard(Arc::clone(self))
        }

        /// Completes once the connection has had no open stream for `idle`.
        pub(crate) async fn idle_for(&self, idle: Duration) {
            let idle_ms = idle.as_millis() as u64;
            loop {
                let wait = if self.open.load(Ordering::Acquire) > 0 {
                    idle_ms
                } else {
                    let since = self
                        .now()
                        .saturating_sub(self.idle_since.load(Ordering::Acquire));
                    if since >= idle_ms {
                        return;
                    }
                    idle_ms - since
                };
                tokio::time::sleep(Duration::from_millis(wait.max(1))).await;
            }
        }
    }

    /// One open stream of [`Streams`].
    pub(crate) struct StreamGuard(Arc<Streams>);

    impl Drop for StreamGuard {
        fn drop(&mut self) {
            let now = self.0.now();
            // Noted before the count falls, so that a watcher seeing zero sees this time too.
            self.0.idle_since.store(now, Ordering::Release);
            self.0.open.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// A response body that keeps its stream counted until it is dropped.
    pub(crate) struct Counted<B> {
        pub(crate) body: B,
        pub(crate) _guard: StreamGuard,
    }

    impl<B: Body + Unpin> Body for Counted<B> {
        type Data = B::Data;
        type Error = B::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
            let frame = ready!(Pin::new(&mut self.body).poll_frame(cx));
            Poll::Ready(frame)
        }

        fn is_end_stream(&self) -> bool {
            self.body.is_end_stream()
        }

        fn size_hint(&self) -> SizeHint {
            self.body.size_hint()
        }
    }
}
