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

use serde::Deserialize;
use tracing::Instrument;
use tracing::field::Empty;

use crate::middleware::{BoxFuture, Middleware, Next, Request, Response, ToolOutcome, ToolRequest};

/// The spans of a server with [`Server::traces`](crate::Server::traces): the outermost
/// middleware.
pub(crate) struct Tracer;

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
        let method = request.method();
        let span = tracing::info_span!(
            target: "mcp_runtime::request",
            "mcp.request",
            otel.name = Empty,
            otel.kind = "server",
            otel.status_code = Empty,
            mcp.method.name = method,
            jsonrpc.request.id = %request.request_id(),
            mcp.session.id = Empty,
            network.transport = if request.peer_addr().is_some() { "tcp" } else { "pipe" },
            client.address = Empty,
            gen_ai.operation.name = Empty,
            gen_ai.tool.name = Empty,
            gen_ai.prompt.name = Empty,
            mcp.resource.uri = Empty,
            error.type = Empty,
            rpc.response.status_code = Empty,
        );
        if span.is_disabled() {
            return next.run(request);
        }
        let peek: Peek<'_> = request
            .params()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default();
        match (method, &peek.name, &peek.uri) {
            ("tools/call", Some(name), _) => {
                span.record("gen_ai.tool.name", &**name);
                span.record("gen_ai.operation.name", "execute_tool");
                span.record("otel.name", format!("{method} {name}"));
            }
            ("prompts/get", Some(name), _) => {
                span.record("gen_ai.prompt.name", &**name);
                span.record("otel.name", format!("{method} {name}"));
            }
            ("resources/read", _, Some(uri)) => {
                // Not in the name: URIs are of unbounded variety.
                span.record("mcp.resource.uri", &**uri);
                span.record("otel.name", method);
            }
            _ => {
                span.record("otel.name", method);
            }
        }
        if let Some(session) = request.session_id() {
            span.record("mcp.session.id", session);
        }
        if let Some(peer) = request.peer_addr() {
            span.record("client.address", tracing::field::display(peer.ip()));
        }
        #[cfg(feature = "otlp")]
        super::otlp::continue_trace(&span, peek.meta.as_ref());
        let _ = &peek.meta;
        Box::pin(async move {
            let response = next.run(request).instrument(span.clone()).await;
            if let Some(code) = response.error_code() {
                let code = code.to_string();
                span.record("error.type", &*code);
                span.record("rpc.response.status_code", &*code);
                span.record("otel.status_code", "ERROR");
            }
            response
        })
    }

    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut ToolRequest,
        next: Next<'a, ToolRequest, ToolOutcome>,
    ) -> BoxFuture<'a, ToolOutcome> {
        let span = tracing::info_span!(
            target: "mcp_runtime::request",
            "mcp.tool",
            otel.name = Empty,
            otel.status_code = Empty,
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = call.name(),
            error.type = Empty,
        );
        if span.is_disabled() {
            return next.run(call);
        }
        span.record("otel.name", format!("execute_tool {}", call.name()));
        Box::pin(async move {
            let outcome = next.run(call).instrument(span.clone()).await;
            let error = match &outcome {
                Ok(r) if r.is_error => Some("tool_error".to_string()),
                Ok(_) => None,
                Err(e) => Some(e.code.to_string()),
            };
            if let Some(error) = error {
                span.record("error.type", &*error);
                span.record("otel.status_code", "ERROR");
            }
            outcome
        })
    }
}
