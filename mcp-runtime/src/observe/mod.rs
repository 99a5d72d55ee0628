//! Observability: Prometheus metrics (the `metrics` feature).

#[cfg(feature = "metrics")]
pub mod metrics;

#[cfg(feature = "metrics")]
pub use metrics::Metrics;
