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
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use tracing::Instrument;
use tracing::field::Empty;

use crate::middleware::{BoxFuture, Middleware, Next, Request, Response, ToolOutcome, ToolRequest};

/// The spans of a server with [`Server::traces`](crate::Server::traces): the outermost
/// middleware.
pub(crate) struct Tracer;

/// Whether an OpenTelemetry layer takes the spans (`observe::otlp::layer`): only then are the
/// `otel.*` fields (name, kind, status) filled and a client's trace context read, as nothing
/// else reads them.
pub(crate) static EXPORTING: AtomicBool = AtomicBool::new(false);

/// What a request's span is named after and continues.
#[derive(Deserialize, Default)]
struct Peek<'a> {
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

impl Middleware for Tracer {
    fn on_request<'a>(
        &'a self,
        request: &'a mut Request,
        next: Next<'a, Request, Response>,
    ) -> BoxFuture<'a, Response> {
        if !tracing::enabled!(target: "mcp_runtime::request", tracing::Level::INFO) {
            return next.run(request);
        }
        let method = request.method();
        let exporting = EXPORTING.load(Ordering::Relaxed);
        let peek: Peek<'_> = match method {
            "tools/call" | "prompts/get" | "resources/read" => request
                .params()
                .and_then(|p| serde_json::from_str(p.get()).ok())
                .unwrap_or_default(),
            _ if exporting => request
                .params()
                .and_then(|p| serde_json::from_str(p.get()).ok())
                .unwrap_or_default(),
            _ => Peek::default(),
        };
        let (tool, prompt, uri) = match method {
            "tools/call" => (peek.name.as_deref(), None, None),
            "prompts/get" => (None, peek.name.as_deref(), None),
            // Not in the span's name: URIs are of unbounded variety.
            "resources/read" => (None, None, peek.uri.as_deref()),
            _ => (None, None, None),
        };
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
            jsonrpc.request.id = %request.request_id(),
            mcp.session.id = request.session_id(),
            network.transport = if request.peer_addr().is_some() { "tcp" } else { "pipe" },
            client.address = request.peer_addr().map(|p| tracing::field::display(p.ip())),
            gen_ai.operation.name = tool.map(|_| "execute_tool"),
            gen_ai.tool.name = tool,
            gen_ai.prompt.name = prompt,
            mcp.resource.uri = uri,
            error.type = Empty,
            rpc.response.status_code = Empty,
        );
        if span.is_disabled() {
            return next.run(request);
        }
        #[cfg(feature = "otlp")]
        if exporting {
            super::otlp::continue_trace(&span, peek.meta.as_ref());
        }
        let _ = &peek.meta;
        Box::pin(async move {
            let response = next.run(request).instrument(span.clone()).await;
            if let Some(code) = response.error_code() {
                let code = code.to_string();
                span.record("error.type", &*code);
                span.record("rpc.response.status_code", &*code);
                if EXPORTING.load(Ordering::Relaxed) {
                    span.record("otel.status_code", "ERROR");
                }
            }
            response
        })
    }

    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut ToolRequest,
        next: Next<'a, ToolRequest, ToolOutcome>,
    ) -> BoxFuture<'a, ToolOutcome> {
        if !tracing::enabled!(target: "mcp_runtime::request", tracing::Level::INFO) {
            return next.run(call);
        }
        let exporting = EXPORTING.load(Ordering::Relaxed);
        let otel_name = exporting.then(|| format!("execute_tool {}", call.name()));
        let span = tracing::info_span!(
            target: "mcp_runtime::request",
            "mcp.tool",
            otel.name = otel_name.as_deref(),
            otel.status_code = Empty,
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = call.name(),
            error.type = Empty,
        );
        if span.is_disabled() {
            return next.run(call);
        }
        Box::pin(async move {
            let outcome = next.run(call).instrument(span.clone()).await;
            let error = match &outcome {
                Ok(r) if r.is_error => Some("tool_error".to_string()),
                Ok(_) => None,
                Err(e) => Some(e.code.to_string()),
            };
            if let Some(error) = error {
                span.record("error.type", &*error);
                if EXPORTING.load(Ordering::Relaxed) {
                    span.record("otel.status_code", "ERROR");
                }
            }
            outcome
        })
    }
}
