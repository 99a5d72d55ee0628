//! The server's own observers of a request and of a tool call: the spans
//! ([`Server::traces`](crate::Server::traces)) and the metrics
//! ([`Server::metrics`](crate::Server::metrics)).
//!
//! Dispatch runs them around the middleware chain, outermost (the span around the metrics
//! around the user's hooks), rather than as hooks of it: they cost no boxed future per hook,
//! no copy of the request for a chain, and nothing when off. A request without middleware of
//! the user's goes straight to dispatch inside them.

use std::future::Future;
use std::time::Instant;

use serde_json::value::RawValue;

use super::trace;
use crate::middleware::{Origin, Running, ToolOutcome};
use crate::protocol::{CallToolResult, Encoded};
use crate::server::dispatch::session::PendingReply;

/// A request's span and metrics, while it is answered.
pub(crate) struct RequestWatch {
    span: Option<trace::RequestSpan>,
    /// The metrics, and the index of the request's method in their table.
    #[cfg(feature = "metrics")]
    metrics: Option<(super::Metrics, usize)>,
    started: Instant,
}

impl RequestWatch {
    /// Starts watching a request: its span (if a subscriber takes it) and one more request in
    /// flight.
    pub(crate) fn start(
        stack: &Running,
        origin: &Origin,
        method: &str,
        params: Option<&RawValue>,
    ) -> RequestWatch {
        let span = if stack.traces {
            trace::request_span(origin, method, params)
        } else {
            None
        };
        #[cfg(feature = "metrics")]
        let metrics = stack.metrics.as_ref().map(|m| {
            m.request_started();
            (m.clone(), super::metrics::method_index(method))
        });
        RequestWatch {
            span,
            #[cfg(feature = "metrics")]
            metrics,
            started: origin.started,
        }
    }

    /// Runs `f` inside the request's span.
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.span {
            Some(span) => trace::in_request(span, f),
            None => f(),
        }
    }

    /// The request is answered, with an error response if `error` (its code).
    #[cfg_attr(not(feature = "metrics"), allow(unused_mut))]
    pub(crate) fn answered(mut self, error: Option<i64>) {
        if let (Some(span), Some(code)) = (&self.span, error) {
            trace::request_failed(span, code);
        }
        #[cfg(feature = "metrics")]
        if let Some((m, index)) = self.metrics.take() {
            m.request_ended(index, Some((error.is_some(), self.started.elapsed())));
        }
        let _ = self.started;
    }

    /// The answer still being computed, polled inside the span; then answered.
    pub(crate) fn around(self, reply: PendingReply) -> PendingReply {
        Box::pin(async move {
            let mut reply = std::pin::pin!(reply);
            let encoded: Encoded =
                std::future::poll_fn(|cx| self.in_scope(|| reply.as_mut().poll(cx))).await;
            self.answered(encoded.error);
            encoded
        })
    }
}

impl Drop for RequestWatch {
    /// A request dropped unanswered (its client went away) is no longer in flight.
    fn drop(&mut self) {
        #[cfg(feature = "metrics")]
        if let Some((m, index)) = self.metrics.take() {
            m.request_ended(index, None);
        }
    }
}

/// How a tool call ended, as its span and metrics tell it.
#[derive(Clone, Copy)]
pub(crate) enum ToolEnd {
    Ok,
    /// A result with `isError: true`.
    ToolError,
    /// A JSON-RPC error response, its code.
    Error(i64),
    /// The tool (or a hook around it) panicked: a server fault, counted and marked as an
    /// internal error whether the client is answered with an `isError` result or, in a
    /// task, with an error response.
    Panicked,
}

impl ToolEnd {
    pub(crate) fn of_result(result: &CallToolResult) -> ToolEnd {
        if result.is_error {
            ToolEnd::ToolError
        } else {
            ToolEnd::Ok
        }
    }

    pub(crate) fn of(outcome: &ToolOutcome) -> ToolEnd {
        match outcome {
            Ok(result) => ToolEnd::of_result(result),
            Err(e) => ToolEnd::Error(e.code),
        }
    }
}

/// A tool call's span and metrics, while it runs.
pub(crate) struct ToolWatch {
    span: Option<trace::ToolSpan>,
    #[cfg(feature = "metrics")]
    metrics: Option<(super::Metrics, Instant)>,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    name: &'static str,
}

impl ToolWatch {
    /// Starts watching a call of the tool `name`: `None` when nothing watches.
    pub(crate) fn start(stack: &Running, name: &'static str) -> Option<ToolWatch> {
        if !stack.observes() {
            return None;
        }
        let span = if stack.traces {
            trace::tool_span(name)
        } else {
            None
        };
        Some(ToolWatch {
            span,
            #[cfg(feature = "metrics")]
            metrics: stack.metrics.clone().map(|m| (m, Instant::now())),
            name,
        })
    }

    /// Enters the tool's span (the handler's own spans nest inside), until the guard drops.
    pub(crate) fn enter(&self) -> Option<trace::ToolEntered<'_>> {
        self.span.as_ref().map(trace::ToolSpan::enter)
    }

    /// The call ended.
    pub(crate) fn ended(&self, end: ToolEnd) {
        if let Some(span) = &self.span {
            match end {
                ToolEnd::Ok => {}
                ToolEnd::ToolError => trace::tool_failed(span, None),
                ToolEnd::Error(code) => trace::tool_failed(span, Some(code)),
                ToolEnd::Panicked => {
                    trace::tool_failed(span, Some(crate::protocol::code::INTERNAL_ERROR))
                }
            }
        }
        #[cfg(feature = "metrics")]
        if let Some((m, since)) = &self.metrics {
            let label = match end {
                ToolEnd::Ok => "ok",
                ToolEnd::ToolError => "tool_error",
                ToolEnd::Error(_) | ToolEnd::Panicked => "error",
            };
            m.call("tool", self.name, label, *since);
        }
    }

    /// `fut`, polled inside the tool's span.
    pub(crate) async fn in_span<F: Future>(&self, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| match &self.span {
            Some(span) => span.in_scope(|| fut.as_mut().poll(cx)),
            None => fut.as_mut().poll(cx),
        })
        .await
    }
}
