//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout.
//!
//! stdin is read on a dedicated thread, which also answers every request that is ready at once
//! (`ping`, `tools/list`, sync tools) and writes the answer itself: the common call costs no
//! thread hand-off. Requests that run longer are spawned on the tokio runtime; their answers,
//! and notifications, go through a queue to a writer thread, started with the first of them. Both writers share one buffered
//! stdout, flushed whenever no more input is waiting, so pipelined requests are answered in
//! batches. Nothing but protocol messages is ever written to stdout; logs go to stderr.
//!
//! On Unix the protocol is written to a duplicate of fd 1 taken at start, and fd 1 itself is
//! pointed at stderr: a `println!` in a tool, or a child process a tool runs, writes to stderr
//! instead of corrupting the protocol stream.

use std::io::{self, BufReader, Write};
use std::sync::{Arc, Mutex};

use std::time::Duration;

use tokio::sync::oneshot;

use super::lines::{DRAIN_DEADLINE, read_line_blocking};
use super::shutdown_signal;
use crate::server::ServerCore;
use crate::server::dispatch::session::Session;

/// Where protocol messages go: the duplicate of fd 1 (Unix), else stdout itself.
#[cfg(unix)]
type ProtocolOut = std::fs::File;
#[cfg(not(unix))]
type ProtocolOut = io::Stdout;

type Stdout = Arc<Mutex<io::BufWriter<ProtocolOut>>>;

/// Takes stdout for the protocol: a duplicate of fd 1 (close-on-exec, so child processes do
/// not inherit it), with fd 1 then pointed at stderr. Without a file descriptor to spare, the
/// server does not start; if fd 1 cannot be redirected, the protocol is still served, with a
/// warning that stray output would reach it.
#[cfg(unix)]
fn protocol_stdout() -> io::Result<ProtocolOut> {
    use std::os::fd::AsFd;
    let _ = io::stdout().flush();
    let protocol = io::stdout().as_fd().try_clone_to_owned()?;
    if let Err(e) = rustix::stdio::dup2_stdout(io::stderr().as_fd()) {
        tracing::warn!(error = %e, "cannot point stdout at stderr; stray output would reach the protocol stream");
    }
    Ok(std::fs::File::from(protocol))
}

#[cfg(not(unix))]
fn protocol_stdout() -> io::Result<ProtocolOut> {
    Ok(io::stdout())
}

/// Serves `core` on stdin/stdout until end of input or SIGINT/SIGTERM.
pub(crate) async fn serve(core: Arc<ServerCore>, max: usize) -> Result<(), crate::Error> {
    let stdout: Stdout = Arc::new(Mutex::new(io::BufWriter::with_capacity(
        64 * 1024,
        protocol_stdout()?,
    )));
    let (out_tx, mut out_rx) = crate::server::dispatch::outbound::for_session(&core.limits);
    let session = Session::new(core, out_tx.clone());

    // The writer thread starts with the first message the reader does not answer itself (a
    // reply that comes later, a notification): a server that only answers at once, and every
    // server until its first such message, runs without it, so none is created on the way to
    // the `initialize` reply.
    let writer_out = Arc::clone(&stdout);
    let writer = tokio::spawn(async move {
        let Some(first) = out_rx.recv().await else {
            return Ok(());
        };
        if first.is_empty() {
            // Told to stop before anything came this way.
            return writer_out.lock().expect("stdout lock poisoned").flush();
        }
        let (done_tx, done_rx) = oneshot::channel::<io::Result<()>>();
        std::thread::Builder::new()
            .name("mcp-stdout".into())
            .spawn(move || {
                let _ = done_tx.send(write_loop(&writer_out, first, &mut out_rx));
            })?;
        done_rx.await.unwrap_or(Ok(()))
    });

    let (eof_tx, eof_rx) = oneshot::channel::<()>();
    let runtime = tokio::runtime::Handle::current();
    let reader_session = Arc::clone(&session);
    let reader_out = Arc::clone(&stdout);
    std::thread::Builder::new()
        .name("mcp-stdin".into())
        .spawn(move || {
            let _runtime = runtime.enter();
            if let Err(e) = read_loop(&reader_session, &reader_out, max)
                && e.kind() != io::ErrorKind::BrokenPipe
            {
                tracing::warn!(error = %e, "stdio failed");
            }
            let _ = eof_tx.send(());
        })?;

    tokio::select! {
        _ = eof_rx => tracing::debug!("end of input"),
        () = shutdown_signal() => tracing::info!("shutting down"),
        () = out_tx.overflowed() => {
            // The client reads nothing of what it is sent (see `outbound`): the session ends
            // without waiting for the writer, which may be stuck writing to it.
            session.drain(Duration::ZERO).await;
            return Err(crate::Error::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading stdout: a whole queue of messages waits for it",
            )));
        }
    }
    session.drain(DRAIN_DEADLINE).await;
    // An empty message tells the writer to flush and stop, even if handlers still hold senders.
    let _ = out_tx.send(Vec::new());
    match writer.await {
        Ok(Err(e)) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Writes `first` and what follows it on `out_rx`, in batches, until told to stop (an empty
/// message) or every sender is gone.
fn write_loop(
    stdout: &Stdout,
    first: Vec<u8>,
    out_rx: &mut crate::server::dispatch::outbound::OutboundRx,
) -> io::Result<()> {
    let mut next = Some(first);
    while let Some(first) = next.take().or_else(|| out_rx.blocking_recv()) {
        let mut w = stdout.lock().expect("stdout lock poisoned");
        let mut message = first;
        loop {
            if message.is_empty() {
                // Told to stop.
                return w.flush();
            }
            w.write_all(&message)?;
            w.write_all(b"\n")?;
            match out_rx.try_recv() {
                Ok(next) => message = next,
                Err(_) => break,
            }
        }
        w.flush()?;
    }
    Ok(())
}

/// Reads and answers messages until end of input.
fn read_loop(session: &Arc<Session>, stdout: &Stdout, max: usize) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, io::stdin());
    let mut buf = Vec::new();
    while let Some(line) = read_line_blocking(&mut reader, &mut buf, max)? {
        let reply = super::lines::answer_line(session, line, max);
        let more_waiting = !reader.buffer().is_empty();
        if reply.is_none() && more_waiting {
            continue;
        }
        let mut w = stdout.lock().expect("stdout lock poisoned");
        if let Some(bytes) = reply {
            w.write_all(&bytes)?;
            w.write_all(b"\n")?;
        }
        if !more_waiting {
            w.flush()?;
        }
    }
    stdout.lock().expect("stdout lock poisoned").flush()
}
