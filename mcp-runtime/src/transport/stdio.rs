//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout.
//!
//! stdin is read and stdout written on two dedicated threads, so a blocked read never holds up
//! shutdown and writes never wait behind the async runtime. Nothing but protocol messages is
//! ever written to stdout; logs go to stderr.

use std::io::{self, Write};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::lines::{Line, read_line_blocking, serve_lines};
use crate::server::ServerCore;

/// Serves `core` on stdin/stdout until end of input or SIGINT/SIGTERM.
pub(crate) async fn serve(core: Arc<ServerCore>, max: usize) -> anyhow::Result<()> {
    let (in_tx, in_rx) = mpsc::channel::<Line>(64);
    std::thread::Builder::new()
        .name("mcp-stdin".into())
        .spawn(move || {
            let stdin = io::stdin();
            let mut reader = stdin.lock();
            let mut buf = Vec::new();
            loop {
                match read_line_blocking(&mut reader, &mut buf, max) {
                    Ok(Some(line)) => {
                        if in_tx.blocking_send(line).is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading stdin failed");
                        break;
                    }
                }
            }
        })?;

    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<io::Result<()>>();
    std::thread::Builder::new()
        .name("mcp-stdout".into())
        .spawn(move || {
            let stdout = io::stdout();
            let mut w = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
            let result = (|| {
                while let Some(msg) = out_rx.blocking_recv() {
                    if msg.is_empty() {
                        break;
                    }
                    w.write_all(&msg)?;
                    w.write_all(b"\n")?;
                    loop {
                        match out_rx.try_recv() {
                            Ok(m) if m.is_empty() => return w.flush(),
                            Ok(m) => {
                                w.write_all(&m)?;
                                w.write_all(b"\n")?;
                            }
                            Err(_) => break,
                        }
                    }
                    w.flush()?;
                }
                w.flush()
            })();
            let _ = done_tx.send(result);
        })?;

    serve_lines(core, in_rx, out_tx.clone(), shutdown_signal(), max).await;
    // An empty message tells the writer to flush and stop, even if handlers still hold senders.
    let _ = out_tx.send(Vec::new());
    match done_rx.await {
        Ok(Err(e)) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Completes on SIGINT or SIGTERM (Ctrl-C elsewhere).
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
