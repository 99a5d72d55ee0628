//! Observability: Prometheus metrics (the `metrics` feature), spans per request
//! ([`Server::traces`](crate::Server::traces)) and their OTLP export (the `otlp` feature).

pub(crate) mod log;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "otlp")]
pub mod otlp;
pub(crate) mod trace;
pub(crate) mod watch;

#[cfg(feature = "metrics")]
pub use metrics::Metrics;

/// Runs `dispatch` in the trace context of an HTTP request's headers (with `otlp`).
#[cfg(feature = "http-server")]
pub(crate) fn with_trace_headers<R>(headers: &hyper::HeaderMap, dispatch: impl FnOnce() -> R) -> R {
    #[cfg(feature = "otlp")]
    return otlp::with_headers(headers, dispatch);
    #[cfg(not(feature = "otlp"))]
    {
        let _ = headers;
        dispatch()
    }
}
