//! Transports move messages between a client and a session; they know nothing of MCP.

pub mod http;
pub(crate) mod lines;
#[cfg(feature = "stdio")]
pub mod stdio;

pub use lines::{DEFAULT_MAX_MESSAGE_SIZE, serve_stream};

/// Completes on SIGINT or SIGTERM (Ctrl-C elsewhere).
#[cfg(any(feature = "stdio", feature = "http-server"))]
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
