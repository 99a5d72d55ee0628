//! Newline-delimited JSON-RPC over any byte stream: stdio, pipes, sockets, in-memory duplexes.

use std::future::Future;
use std::io::{self, BufRead};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::protocol::{Encoded, ErrorObject, code, encode_error};
use crate::server::ServerCore;
use crate::server::dispatch::outbound::{Outbound, OutboundRx};
use crate::server::dispatch::session::{InlineRequest, Reply, Session};

/// The largest message accepted by default: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 << 20;

/// How long in-flight requests may run after the input ends.
pub(crate) const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// One line read from the client.
pub(crate) enum Line {
    /// A message (without its newline).
    Message(Vec<u8>),
    /// A message longer than the limit, skipped.
    TooLong(usize),
}

/// Reads newline-delimited lines with a size limit; blocking, for a dedicated thread.
pub(crate) fn read_line_blocking(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<Line>> {
    let mut scan = Scan::start(buf);
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let (used, line) = scan.feed(buf, available, max);
        reader.consume(used);
        if let Some(line) = line {
            return Ok(line);
        }
    }
}

/// Async twin of [`read_line_blocking`].
pub(crate) async fn read_line_async(
    reader: &mut (impl AsyncBufRead + Unpin),
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<Line>> {
    let mut scan = Scan::start(buf);
    loop {
        let available = reader.fill_buf().await?;
        let (used, line) = scan.feed(buf, available, max);
        reader.consume(used);
        if let Some(line) = line {
            return Ok(line);
        }
    }
}

/// The state of reading one line, shared by the blocking and the async reader.
struct Scan {
    /// Bytes dropped because the line is over the limit.
    skipped: usize,
}

impl Scan {
    fn start(buf: &mut Vec<u8>) -> Scan {
        buf.clear();
        Scan { skipped: 0 }
    }

    /// Takes what the reader has buffered (empty at end of input). Returns how many bytes to
    /// consume, and the line once it is complete (`Some(None)` at end of input).
    fn feed(
        &mut self,
        buf: &mut Vec<u8>,
        available: &[u8],
        max: usize,
    ) -> (usize, Option<Option<Line>>) {
        if available.is_empty() {
            return (0, Some(self.finish(buf, true)));
        }
        let newline = available.iter().position(|&c| c == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        if self.skipped > 0 || buf.len() + chunk.len() > max {
            self.skipped += buf.len() + chunk.len();
            buf.clear();
        } else {
            buf.extend_from_slice(chunk);
        }
        match newline {
            Some(i) => (i + 1, Some(self.finish(buf, false))),
            None => (chunk.len(), None),
        }
    }

    fn finish(&self, buf: &mut Vec<u8>, eof: bool) -> Option<Line> {
        if self.skipped > 0 {
            return Some(Line::TooLong(self.skipped));
        }
        if eof && buf.is_empty() {
            return None;
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Some(Line::Message(std::mem::take(buf)))
    }
}

/// Answers one line read from the client: requests answered at once come back to the
/// caller to write; longer ones are spawned (so this must run within a tokio runtime
/// context) and answer through the session's outgoing queue.
pub(crate) fn answer_line(session: &Arc<Session>, line: Line, max: usize) -> Option<Vec<u8>> {
    answer(session, line, max, false).0
}

/// [`answer_line`] for a caller that runs a longer request itself, on its own task: the
/// response to send now, or the request to run (which answers through the session's
/// outgoing queue).
#[cfg(feature = "client")]
pub(crate) fn answer_line_inline(
    session: &Arc<Session>,
    line: Line,
    max: usize,
) -> (Option<Vec<u8>>, Option<InlineRequest>) {
    answer(session, line, max, true)
}

fn answer(
    session: &Arc<Session>,
    line: Line,
    max: usize,
    inline: bool,
) -> (Option<Vec<u8>>, Option<InlineRequest>) {
    let bytes = match line {
        Line::TooLong(n) => {
            return (
                Some(encode_error(
                    None,
                    &ErrorObject::new(
                        code::INVALID_REQUEST,
                        format!("message of {n} bytes is larger than the limit of {max} bytes"),
                    ),
                )),
                None,
            );
        }
        Line::Message(bytes) => bytes,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return (None, None);
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return (
            Some(encode_error(
                None,
                &ErrorObject::new(code::PARSE_ERROR, "Parse error: message is not UTF-8"),
            )),
            None,
        );
    };
    let logged = tracing::enabled!(target: "mcp_runtime::stdio", tracing::Level::DEBUG)
        .then(|| (Instant::now(), RequestLine::of(text)))
        .and_then(|(t, r)| Some((t, r?)));
    match session.handle_message(text, session.outbound()) {
        Reply::None => (None, None),
        Reply::Now(encoded) => {
            if let Some((started, request)) = logged {
                request.log(started, encoded.error);
            }
            (Some(encoded.bytes), None)
        }
        Reply::Later(id, fut) => {
            let s = Arc::clone(session);
            let reply = move |encoded: Encoded| {
                if let Some((started, request)) = logged {
                    request.log(started, encoded.error);
                }
                s.send(encoded.bytes)
            };
            if inline {
                (None, session.inline_request(id, fut, reply))
            } else {
                session.spawn_request(id, fut, reply);
                (None, None)
            }
        }
    }
}

/// What the debug log of a stdio request says about it.
struct RequestLine {
    method: String,
    id: String,
}

impl RequestLine {
    /// The method and id of a request (nothing for notifications and responses).
    fn of(text: &str) -> Option<RequestLine> {
        #[derive(serde::Deserialize)]
        struct Peek<'a> {
            #[serde(borrow)]
            method: Option<std::borrow::Cow<'a, str>>,
            #[serde(borrow)]
            id: Option<&'a serde_json::value::RawValue>,
        }
        let peek: Peek<'_> = serde_json::from_str(text).ok()?;
        Some(RequestLine {
            method: peek.method?.into_owned(),
            id: peek.id?.get().to_string(),
        })
    }

    fn log(&self, started: Instant, error: Option<i64>) {
        tracing::debug!(
            target: "mcp_runtime::stdio",
            // The method escaped, so that a control character cannot forge a line; the id
            // as its JSON text, which has none.
            rpc = %self.method.escape_debug(),
            id = %self.id,
            error = error.unwrap_or(0),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
    }
}

/// Runs a session over a stream of lines until the input ends or `shutdown` completes, then
/// lets in-flight requests finish (up to a deadline).
pub(crate) async fn serve_lines(
    core: Arc<ServerCore>,
    incoming: mpsc::Receiver<Line>,
    out: Outbound,
    shutdown: impl Future<Output = ()>,
    max: usize,
) {
    serve_lines_as(
        core,
        incoming,
        out,
        shutdown,
        max,
        crate::Principal::local(),
    )
    .await;
}

/// [`serve_lines`] with `principal` as the caller of every request (the in-memory client's
/// [`connect_as`](crate::Client::connect_as)).
pub(crate) async fn serve_lines_as(
    core: Arc<ServerCore>,
    mut incoming: mpsc::Receiver<Line>,
    out: Outbound,
    shutdown: impl Future<Output = ()>,
    max: usize,
    principal: crate::Principal,
) {
    let session = Session::new_for(core, out, principal);
    tokio::pin!(shutdown);
    loop {
        // A client that reads too slowly is not read either (see `outbound`): its answers
        // wait in its bounded queue.
        let line = tokio::select! {
            biased;
            () = &mut shutdown => {
                tracing::info!("shutting down");
                break;
            }
            room = session.outbound().room() => match room {
                Ok(()) => tokio::select! {
                    biased;
                    line = incoming.recv() => line,
                    () = &mut shutdown => {
                        tracing::info!("shutting down");
                        break;
                    }
                    () = session.outbound().overflowed() => None,
                },
                Err(_) => None,
            },
        };
        if session.outbound().is_closed() {
            // Fell a whole queue behind, or the writer is gone: nothing can reach the client.
            session.drain(Duration::ZERO).await;
            return;
        }
        let Some(line) = line else {
            tracing::debug!("end of input");
            break;
        };
        if let Some(reply) = answer_line(&session, line, max) {
            session.send(reply);
        }
    }
    session.drain(DRAIN_DEADLINE).await;
}

/// Serves MCP over any async byte stream, one JSON-RPC message per line, until the reader ends.
///
/// This is the stdio framing, for pipes, Unix sockets or TCP connections.
pub async fn serve_stream<R, W>(
    server: crate::Server,
    reader: R,
    writer: W,
) -> Result<(), crate::Error>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (core, teardown) = server.start().await?;
    let served = serve_stream_core(
        core,
        reader,
        writer,
        std::future::pending(),
        DEFAULT_MAX_MESSAGE_SIZE,
    )
    .await;
    teardown.run().await;
    served
}

pub(crate) async fn serve_stream_core<R, W>(
    core: Arc<ServerCore>,
    reader: R,
    writer: W,
    shutdown: impl Future<Output = ()>,
    max: usize,
) -> Result<(), crate::Error>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (in_tx, in_rx) = mpsc::channel(64);
    let (out_tx, out_rx) = crate::server::dispatch::outbound::for_session(&core.limits);
    let reader_task = tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            match read_line_async(&mut reader, &mut buf, max).await {
                Ok(Some(line)) => {
                    if in_tx.send(line).await.is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "read failed");
                    break;
                }
            }
        }
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let writer_task = tokio::spawn(write_lines(writer, out_rx, stop_rx));
    let probe = out_tx.clone();
    serve_lines(core, in_rx, out_tx, shutdown, max).await;
    reader_task.abort();
    let overflowed = probe.is_closed();
    drop(probe);
    if overflowed {
        // The peer reads nothing (see `outbound`): the writer may be stuck writing to it.
        writer_task.abort();
        return Err(crate::Error::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer stopped reading: a whole queue of messages waited for it",
        )));
    }
    let _ = stop_tx.send(());
    writer_task.await.map_err(std::io::Error::other)??;
    Ok(())
}

/// Writes each message followed by a newline, flushing whenever the queue is empty; after
/// `stop`, writes what is queued and returns.
pub(crate) async fn write_lines<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: OutboundRx,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> io::Result<()> {
    let mut batch = Vec::with_capacity(8192);
    loop {
        let first = tokio::select! {
            m = rx.recv() => m,
            _ = &mut stop => {
                while let Ok(m) = rx.try_recv() {
                    batch.extend_from_slice(&m);
                    batch.push(b'\n');
                }
                writer.write_all(&batch).await?;
                return writer.flush().await;
            }
        };
        let Some(first) = first else {
            return writer.flush().await;
        };
        batch.clear();
        batch.extend_from_slice(&first);
        batch.push(b'\n');
        while let Ok(m) = rx.try_recv() {
            batch.extend_from_slice(&m);
            batch.push(b'\n');
        }
        writer.write_all(&batch).await?;
        writer.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut r = io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(l) = read_line_blocking(&mut r, &mut buf, max).unwrap() {
            out.push(match l {
                Line::Message(m) => String::from_utf8(m).unwrap(),
                Line::TooLong(n) => format!("<too long: {n}>"),
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_enforces_the_limit() {
        assert_eq!(lines(b"ab\r\ncd\nef", 10), ["ab", "cd", "ef"]);
        assert_eq!(lines(b"0123456789abc\nok\n", 10), ["<too long: 13>", "ok"]);
        assert_eq!(lines(b"", 10), Vec::<String>::new());
        assert_eq!(lines(b"\n\n", 10), ["", ""]);
    }
}
