//! One span per request, after the OpenTelemetry semantic conventions for MCP: named
//! `{mcp.method.name} {target}` (`tools/call add`), kind server, with `mcp.method.name`,
//! `jsonrpc.request.id`, `mcp.session.id`, `network.transport`, `client.address`,
//! `gen_ai.tool.name` / `gen_ai.prompt.name` / `mcp.resource.uri`, and `error.type` and
//! `rpc.response.status_code` when it fails; a child span `execute_tool {name}` around each
//! tool's execution, inside which the handler's own `tracing` spans nest.
//!
//! With the `otlp` feature the spans are exported over OTLP (see `observe::otlp`), and
//! a trace the client started is continued: from the W3C `traceparent` and `tracestate` in
//! `params._meta`, else from the HTTP request's `traceparent` and `tracestate` headers.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use serde::Deserialize;
use serde_json::value::RawValue;
use tracing::Span;
use tracing::field::Empty;

use crate::middleware::Origin;

/// Whether an OpenTelemetry layer takes the spans (`observe::otlp::layer`): only then are the
/// `otel.*` fields (name, kind, status) filled and a client's trace context read, as nothing
/// else reads them.
pub(crate) static EXPORTING: AtomicBool = AtomicBool::new(false);

/// What a request's span is named after and continues.
#[derive(Deserialize, Default)]
pub(crate) struct Peek<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<TraceMeta<'a>>,
}

/// The W3C trace context in `params._meta`.
#[derive(Deserialize, Default)]
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) struct TraceMeta<'a> {
    #[serde(borrow, default)]
    pub(crate) traceparent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) tracestate: Option<Cow<'a, str>>,
}

/// Whether a subscriber takes the spans of requests.
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: "mcp_runtime::request", tracing::Level::INFO)
}

/// What a request's span needs of its params: those of a call, read or get, and, for an
/// exporter, any request's `_meta`.
pub(crate) fn peek<'a>(method: &str, params: Option<&'a RawValue>, exporting: bool) -> Peek<'a> {
    match method {
        "tools/call" | "prompts/get" | "resources/read" => {}
        _ if exporting => {}
        _ => return Peek::default(),
    }
    params
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or_default()
}

/// The tool, prompt and resource a request is about.
pub(crate) fn targets<'p>(
    method: &str,
    peek: &'p Peek<'_>,
) -> (Option<&'p str>, Option<&'p str>, Option<&'p str>) {
    match method {
        "tools/call" => (peek.name.as_deref(), None, None),
        "prompts/get" => (None, peek.name.as_deref(), None),
        // Not in the span's name: URIs are of unbounded variety.
        "resources/read" => (None, None, peek.uri.as_deref()),
        _ => (None, None, None),
    }
}

/// A request's span.
pub(crate) struct RequestSpan {
    pub(crate) span: Span,
    /// Made without fields, its fields kept by the text logger until an event needs them
    /// (`observe::log::Deferred`).
    deferred: bool,
}

/// The span of a request, if a subscriber takes it.
pub(crate) fn request_span(
    origin: &Origin,
    method: &str,
    params: Option<&RawValue>,
) -> Option<RequestSpan> {
    if !enabled() {
        return None;
    }
    let exporting = EXPORTING.load(Ordering::Relaxed);
    if !exporting && super::log::defers_fields() {
        let fields = super::log::Deferred::request(
            method,
            origin.id.clone(),
            origin.session_id.clone(),
            origin.peer_addr.map(|p| p.ip()),
            params,
        );
        let span = super::log::deferred_span(
            fields,
            || tracing::info_span!(target: "mcp_runtime::request", "mcp.request"),
        );
        if span.is_disabled() {
            return None;
        }
        return Some(RequestSpan {
            span,
            deferred: true,
        });
    }
    let peek = peek(method, params, exporting);
    let (tool, prompt, uri) = targets(method, &peek);
    let otel_name = exporting.then(|| match tool.or(prompt) {
        Some(name) => format!("{method} {name}"),
        None => method.to_string(),
    });
    // Every field at once: each later `record` is a look-up of the span and another
    // formatting pass in the subscriber.
    let span = tracing::info_span!(
        target: "mcp_runtime::request",
        "mcp.request",
        otel.name = otel_name.as_deref(),
        otel.kind = exporting.then_some("server"),
        otel.status_code = Empty,
        mcp.method.name = method,
        jsonrpc.request.id = %origin.id,
        mcp.session.id = origin.session_id.as_deref(),
        network.transport = if origin.peer_addr.is_some() { "tcp" } else { "pipe" },
        client.address = origin.peer_addr.map(|p| tracing::field::display(p.ip())),
        gen_ai.operation.name = tool.map(|_| "execute_tool"),
        gen_ai.tool.name = tool,
        gen_ai.prompt.name = prompt,
        mcp.resource.uri = uri,
        error.type = Empty,
        rpc.response.status_code = Empty,
    );
    if span.is_disabled() {
        return None;
    }
    #[cfg(feature = "otlp")]
    if exporting {
        super::otlp::continue_trace(&span, peek.meta.as_ref());
    }
    let _ = &peek.meta;
    Some(RequestSpan {
        span,
        deferred: false,
    })
}

/// Runs `f` inside the request's span (and, for a deferred one, in its
/// [`Scope::Request`](super::log::Scope::Request), where a tool runs without a span).
pub(crate) fn in_request<R>(span: &RequestSpan, f: impl FnOnce() -> R) -> R {
    if span.deferred {
        span.span
            .in_scope(|| super::log::in_scope(super::log::Scope::Request, f))
    } else {
        span.span.in_scope(f)
    }
}

/// Records a request's error response on its span.
pub(crate) fn request_failed(span: &RequestSpan, code: i64) {
    if span.deferred {
        super::log::defer_error(&span.span, Some(code));
        return;
    }
    let span = &span.span;
    let code = code.to_string();
    span.record("error.type", &*code);
    span.record("rpc.response.status_code", &*code);
    if EXPORTING.load(Ordering::Relaxed) {
        span.record("otel.status_code", "ERROR");
    }
}

/// A tool's span.
pub(crate) enum ToolSpan {
    Span {
        span: Span,
        /// Made without fields, as a deferred request span is.
        deferred: bool,
    },
    /// Run inside a deferred request span: no span of its own, written by the text logger
    /// after the request span's fields (`observe::log::Scope::Tool`).
    Marked {
        name: &'static str,
        /// The failure recorded: [`NO_ERROR`], [`TOOL_ERROR`] or a JSON-RPC code.
        error: AtomicI64,
    },
}

/// A marked tool's `error` before a failure is recorded.
const NO_ERROR: i64 = i64::MIN;
/// A marked tool's `error` after a tool error (an `isError` result).
const TOOL_ERROR: i64 = i64::MAX;

/// What a tool's [`ToolSpan::enter`] holds until it drops.
pub(crate) enum ToolEntered<'a> {
    #[allow(dead_code)]
    Span(tracing::span::Entered<'a>),
    #[allow(dead_code)]
    Marked(super::log::ScopeGuard),
}

impl ToolSpan {
    /// Enters the tool's span (the handler's own spans nest inside), until the guard drops.
    pub(crate) fn enter(&self) -> ToolEntered<'_> {
        match self {
            ToolSpan::Span { span, .. } => ToolEntered::Span(span.enter()),
            ToolSpan::Marked { name, error } => {
                let error = match error.load(Ordering::Relaxed) {
                    NO_ERROR => None,
                    TOOL_ERROR => Some(None),
                    code => Some(Some(code)),
                };
                let mark = super::log::ToolMark { name, error };
                ToolEntered::Marked(super::log::enter_scope(super::log::Scope::Tool(mark)))
            }
        }
    }

    /// Runs `f` inside the tool's span.
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _entered = self.enter();
        f()
    }

    /// The span, if the tool has one.
    #[cfg(test)]
    pub(crate) fn span(&self) -> Option<&Span> {
        match self {
            ToolSpan::Span { span, .. } => Some(span),
            ToolSpan::Marked { .. } => None,
        }
    }
}

/// The span of a tool's execution, a child of the request's, if a subscriber takes it.
pub(crate) fn tool_span(name: &'static str) -> Option<ToolSpan> {
    // Inside a deferred request span, the subscriber is the text logger, which reads the
    // tool's span only to write it in the lines of events inside: it is written from the
    // thread's scope instead.
    if let super::log::Scope::Request = super::log::scope() {
        return Some(ToolSpan::Marked {
            name,
            error: AtomicI64::new(NO_ERROR),
        });
    }
    if !enabled() {
        return None;
    }
    let exporting = EXPORTING.load(Ordering::Relaxed);
    if !exporting && super::log::defers_fields() {
        let span = super::log::deferred_span(
            super::log::Deferred::tool(name),
            || tracing::info_span!(target: "mcp_runtime::request", "mcp.tool"),
        );
        if span.is_disabled() {
            return None;
        }
        return Some(ToolSpan::Span {
            span,
            deferred: true,
        });
    }
    let otel_name = exporting.then(|| format!("execute_tool {name}"));
    let span = tracing::info_span!(
        target: "mcp_runtime::request",
        "mcp.tool",
        otel.name = otel_name.as_deref(),
        otel.status_code = Empty,
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = name,
        error.type = Empty,
    );
    (!span.is_disabled()).then_some(ToolSpan::Span {
        span,
        deferred: false,
    })
}

/// Records a failed tool call on its span: `tool_error` for a tool error, the JSON-RPC code
/// for an error response.
pub(crate) fn tool_failed(span: &ToolSpan, code: Option<i64>) {
    let (span, deferred) = match span {
        ToolSpan::Span { span, deferred } => (span, *deferred),
        ToolSpan::Marked { error, .. } => {
            error.store(code.unwrap_or(TOOL_ERROR), Ordering::Relaxed);
            return;
        }
    };
    if deferred {
        super::log::defer_error(span, code);
        return;
    }
    let error = match code {
        None => "tool_error".to_string(),
        Some(code) => code.to_string(),
    };
    span.record("error.type", &*error);
    if EXPORTING.load(Ordering::Relaxed) {
        span.record("otel.status_code", "ERROR");
    }
}
