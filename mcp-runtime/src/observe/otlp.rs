//! OTLP export of traces (HTTP/protobuf), configured by the standard `OTEL_*` variables:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (export is on when
//! either is set, unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`),
//! `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`.
//!
//! [`Server::run`](crate::Server::run) and friends install the exporter through
//! [`init_logging`](crate::init_logging) and turn [`Server::traces`](crate::Server::traces)
//! on when export is configured, and flush what is left when serving ends. A program with a
//! subscriber of its own adds [`layer`] to it.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::trace::TraceMeta;

/// The provider installed by [`layer`], for [`shutdown`].
static PROVIDER: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

/// Whether the environment asks for OTLP export of traces.
pub fn configured() -> bool {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"))
    {
        return false;
    }
    var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
}

/// A `tracing` layer exporting spans over OTLP/HTTP as the `OTEL_*` variables say, with the
/// W3C trace context as the propagator. Spans are sent in batches from a thread of the
/// exporter's own; [`shutdown`] sends what is left.
pub fn layer<S>() -> Result<impl tracing_subscriber::Layer<S>, crate::BoxError>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    // The blocking HTTP client runs a runtime of its own, which may be neither made nor
    // dropped on a thread of the server's: the exporter is built on a thread of its own.
    let exporter = std::thread::spawn(exporter)
        .join()
        .map_err(|_| "building the OTLP exporter panicked")??;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(opentelemetry_sdk::Resource::builder().build())
        .build();
    let tracer = provider.tracer("mcp-runtime");
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());
    super::trace::EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    *PROVIDER.lock().unwrap_or_else(|e| e.into_inner()) = Some(provider);
    Ok(tracing_opentelemetry::layer().with_tracer(tracer))
}

/// The OTLP/HTTP exporter, with TLS as the client has it (rustls on ring, the platform's
/// roots) rather than a process-wide default provider.
fn exporter() -> Result<opentelemetry_otlp::SpanExporter, crate::BoxError> {
    use opentelemetry_otlp::WithHttpConfig;
    let tls = crate::client::http::tls_config(&[]).map_err(|e| e.to_string())?;
    let http = reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()?;
    Ok(opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(http)
        .build()?)
}

/// Sends the spans not yet exported and stops the exporter.
pub fn shutdown() {
    let provider = PROVIDER.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(provider) = provider
        && let Err(e) = provider.shutdown()
    {
        tracing::debug!(error = %e, "stopping the OTLP exporter");
    }
}

/// The trace context of `traceparent` and `tracestate` values.
fn extract(traceparent: &str, tracestate: Option<&str>) -> opentelemetry::Context {
    let mut carrier = HashMap::with_capacity(2);
    carrier.insert("traceparent".to_string(), traceparent.to_string());
    if let Some(state) = tracestate {
        carrier.insert("tracestate".to_string(), state.to_string());
    }
    TraceContextPropagator::new().extract(&carrier)
}

/// Makes `span` a child of the client's trace: `_meta`'s, else the HTTP request's (attached
/// by [`with_headers`] while the request is dispatched).
pub(crate) fn continue_trace(span: &tracing::Span, meta: Option<&TraceMeta<'_>>) {
    let parent = match meta.and_then(|m| m.traceparent.as_deref().map(|p| (p, m))) {
        Some((traceparent, m)) => extract(traceparent, m.tracestate.as_deref()),
        None => opentelemetry::Context::current(),
    };
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// Runs `dispatch` with the trace context of an HTTP request's `traceparent` and
/// `tracestate` headers as the current one.
#[cfg(feature = "http-server")]
pub(crate) fn with_headers<R>(headers: &hyper::HeaderMap, dispatch: impl FnOnce() -> R) -> R {
    let Some(traceparent) = headers.get("traceparent").and_then(|v| v.to_str().ok()) else {
        return dispatch();
    };
    let state = headers.get("tracestate").and_then(|v| v.to_str().ok());
    let _attached = extract(traceparent, state).attach();
    dispatch()
}
