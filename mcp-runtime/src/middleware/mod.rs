//! Middleware: code of yours around every request, and around each tool call, resource read
//! and prompt get.
//!
//! A [`Middleware`] overrides the hooks it needs; the others pass the call on unchanged.
//! Register middleware with [`Server::middleware`](crate::Server::middleware); they run in the
//! order registered, the first one outermost:
//!
//! ```text
//! request ─▶ m1.on_request ─▶ m2.on_request ─▶ dispatch ─▶ m1.on_call_tool ─▶ m2.on_call_tool ─▶ tool
//! ```
//!
//! Each hook gets what the call is about and a [`Next`]: calling `next.run(..)` runs the rest
//! of the chain and the handler; not calling it short-circuits (answer with an error, a cached
//! result, ...); what it returns can be looked at and altered before it is returned in turn.
//!
//! ```
//! use mcp_runtime::middleware::{BoxFuture, Middleware, Next, ToolOutcome, ToolRequest};
//! use mcp_runtime::protocol::ErrorObject;
//!
//! /// Refuses calls of tools whose names start with `admin_`, and counts the others.
//! struct Guard(std::sync::atomic::AtomicU64);
//!
//! impl Middleware for Guard {
//!     fn on_call_tool<'a>(
//!         &'a self,
//!         call: &'a mut ToolRequest,
//!         next: Next<'a, ToolRequest, ToolOutcome>,
//!     ) -> BoxFuture<'a, ToolOutcome> {
//!         Box::pin(async move {
//!             if call.name().starts_with("admin_") {
//!                 return Err(ErrorObject::invalid_params("admin tools are not served here"));
//!             }
//!             self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!             next.run(call).await
//!         })
//!     }
//! }
//! ```
//!
//! With no middleware registered, requests take the path they take without this module (a
//! length check of an empty list). With some, a request that no hook makes wait is still
//! answered without a task switch: the chain is polled once in place.
//! A middleware that needs only some requests names their methods
//! ([`Middleware::request_methods`]), or stays out of tool calls
//! ([`Middleware::hooks_tool_calls`]); what no middleware is for takes the path without it.

mod chain;
pub(crate) mod limits;
#[cfg(feature = "rate-limit")]
pub mod rate_limit;
mod request;

pub use chain::Next;
pub use limits::ToolLimits;
#[cfg(feature = "rate-limit")]
pub use rate_limit::{RATE_LIMITED, RateLimit, RateLimitKey};
pub(crate) use request::Origin;
pub use request::{PromptRequest, Request, ResourceRequest, Response, ToolRequest};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::server::HandlerFuture;
use chain::{Polled, poll_once};

use crate::protocol::{CallToolResult, ErrorObject, ResourceContents};
use crate::server::GetPromptResult;

/// A boxed, sendable future: what every hook returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a tool call comes to: a result (which may be a tool error, `isError: true`, that the
/// model reads), or a JSON-RPC error (a protocol-level failure the client sees).
pub type ToolOutcome = Result<CallToolResult, ErrorObject>;
/// What a resource read comes to.
pub type ResourceOutcome = Result<Vec<ResourceContents>, ErrorObject>;
/// What a prompt get comes to.
pub type PromptOutcome = Result<GetPromptResult, ErrorObject>;

/// Code around requests; see the [module documentation](self).
///
/// Every hook defaults to passing the call on, so a middleware implements only what it needs.
/// Hooks return a [`BoxFuture`]: write `Box::pin(async move { ... })`.
pub trait Middleware: Send + Sync + 'static {
    /// Around every request from the client (not notifications): `initialize`, `ping`, the
    /// lists, calls, reads, gets, ... The [`Response`] is the serialized JSON-RPC response.
    ///
    /// `initialize` goes through this hook too; a hook that makes it wait holds up the
    /// session's start.
    fn on_request<'a>(
        &'a self,
        request: &'a mut Request,
        next: Next<'a, Request, Response>,
    ) -> BoxFuture<'a, Response> {
        next.run(request)
    }

    /// The methods whose requests [`on_request`](Middleware::on_request) is for: `None` (the
    /// default) for every request; `Some(methods)` for those only, the others passing this
    /// middleware by. A request that no middleware's `on_request` is for goes to dispatch
    /// without the chain. Read once, when the server starts.
    fn request_methods(&self) -> Option<&'static [&'static str]> {
        None
    }

    /// Whether [`on_call_tool`](Middleware::on_call_tool) is overridden (the default says
    /// yes): `false` leaves this middleware out of tool calls, and a call that no middleware
    /// hooks goes to its handler without the chain (and without copying its arguments for
    /// it). Read once, when the server starts.
    fn hooks_tool_calls(&self) -> bool {
        true
    }

    /// Around each `tools/call` of a tool this server has (unknown tools are refused before).
    /// The arguments can be changed before `next` runs.
    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut ToolRequest,
        next: Next<'a, ToolRequest, ToolOutcome>,
    ) -> BoxFuture<'a, ToolOutcome> {
        next.run(call)
    }

    /// Around each `resources/read` of a resource this server has.
    fn on_read_resource<'a>(
        &'a self,
        read: &'a mut ResourceRequest,
        next: Next<'a, ResourceRequest, ResourceOutcome>,
    ) -> BoxFuture<'a, ResourceOutcome> {
        next.run(read)
    }

    /// Around each `prompts/get` of a prompt this server has.
    fn on_get_prompt<'a>(
        &'a self,
        get: &'a mut PromptRequest,
        next: Next<'a, PromptRequest, PromptOutcome>,
    ) -> BoxFuture<'a, PromptOutcome> {
        next.run(get)
    }
}

/// What a server runs around its handlers: the middleware in order, and the built-in
/// policies.
#[derive(Clone, Default)]
pub(crate) struct Stack {
    pub(crate) chain: Vec<Arc<dyn Middleware>>,
    #[cfg(feature = "rate-limit")]
    pub(crate) rate_limit: Option<RateLimit>,
    /// The timeout of tools without one of their own.
    pub(crate) tool_timeout: Option<Duration>,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: Option<crate::observe::Metrics>,
    /// A span per request (`Server::traces`).
    pub(crate) traces: bool,
}

/// A [`Stack`] as a running server holds it.
pub(crate) struct Running {
    /// The user's middleware, around requests.
    pub(crate) chain: Arc<[Arc<dyn Middleware>]>,
    /// Each one's [`Middleware::request_methods`], in the order of `chain`; empty when
    /// every one is for every request.
    request_methods: Vec<Option<&'static [&'static str]>>,
    /// The user's middleware that hook tool calls ([`Middleware::hooks_tool_calls`]).
    pub(crate) tool_chain: Arc<[Arc<dyn Middleware>]>,
    /// Around resource reads and prompt gets: the metrics' recorder (with metrics), then the
    /// user's middleware.
    pub(crate) items: Arc<[Arc<dyn Middleware>]>,
    #[cfg(feature = "rate-limit")]
    pub(crate) rate_limit: Option<rate_limit::Limiter>,
    pub(crate) tool_timeout: Option<Duration>,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: Option<crate::observe::Metrics>,
    /// A span per request and per tool call (`Server::traces`).
    pub(crate) traces: bool,
}

impl Stack {
    pub(crate) fn start(self) -> Running {
        // The request's span and the metrics of requests and tool calls are not hooks of the
        // chain: `observe::watch` runs them around it, outermost (the span around the
        // metrics around the user's hooks), without a boxed future per hook.
        #[allow(unused_mut)]
        let mut items = self.chain.clone();
        // Metrics see everything, the other middleware's time included.
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.metrics {
            items.insert(0, Arc::new(crate::observe::metrics::Recorder(m.clone())));
        }
        let mut request_methods: Vec<_> = self.chain.iter().map(|m| m.request_methods()).collect();
        if request_methods.iter().all(Option::is_none) {
            request_methods.clear();
        }
        let tool_chain: Vec<_> = self
            .chain
            .iter()
            .filter(|m| m.hooks_tool_calls())
            .cloned()
            .collect();
        Running {
            chain: self.chain.into(),
            request_methods,
            tool_chain: tool_chain.into(),
            items: items.into(),
            #[cfg(feature = "metrics")]
            metrics: self.metrics,
            #[cfg(feature = "rate-limit")]
            rate_limit: self.rate_limit.as_ref().map(rate_limit::Limiter::new),
            tool_timeout: self.tool_timeout,
            traces: self.traces,
        }
    }
}

impl Running {
    /// Whether a request goes straight to dispatch: no middleware, no rate limit, no
    /// metrics, no spans.
    pub(crate) fn is_idle(&self) -> bool {
        #[cfg(feature = "rate-limit")]
        if self.rate_limit.is_some() {
            return false;
        }
        self.chain.is_empty() && !self.observes()
    }

    /// The user's middleware whose `on_request` is for `method`, in order; `None` when there
    /// is none, and the request goes straight to dispatch.
    pub(crate) fn request_chain(&self, method: &str) -> Option<Arc<[Arc<dyn Middleware>]>> {
        if self.chain.is_empty() {
            return None;
        }
        let is_for = |methods: &Option<&[&str]>| methods.is_none_or(|ms| ms.contains(&method));
        // The whole chain or none of it, as most requests find it, costs no allocation.
        let count = self.request_methods.iter().filter(|m| is_for(m)).count();
        if self.request_methods.is_empty() || count == self.chain.len() {
            return Some(Arc::clone(&self.chain));
        }
        if count == 0 {
            return None;
        }
        let chain: Vec<_> = self
            .chain
            .iter()
            .zip(&self.request_methods)
            .filter(|(_, methods)| is_for(methods))
            .map(|(m, _)| Arc::clone(m))
            .collect();
        Some(chain.into())
    }

    /// Whether tool calls run inside the user's hooks.
    pub(crate) fn has_tool_hooks(&self) -> bool {
        !self.tool_chain.is_empty()
    }

    /// Whether resource reads and prompt gets run inside hooks.
    pub(crate) fn has_item_hooks(&self) -> bool {
        !self.items.is_empty()
    }

    /// Whether the server's metrics or spans watch requests.
    pub(crate) fn observes(&self) -> bool {
        #[cfg(feature = "metrics")]
        if self.metrics.is_some() {
            return true;
        }
        self.traces
    }

    /// Refuses a request over the rate limit, with how long to wait.
    pub(crate) fn over_limit(
        &self,
        origin: &Origin,
        method: &str,
    ) -> Option<crate::protocol::ErrorObject> {
        #[cfg(feature = "rate-limit")]
        if let Some(limiter) = &self.rate_limit
            && let Err(wait) = limiter.check(origin)
        {
            #[cfg(feature = "metrics")]
            if let Some(m) = &self.metrics {
                m.rate_limited(method);
            }
            return Some(rate_limit::refused(wait));
        }
        let _ = (origin, method);
        None
    }
}

/// Runs `input` through every middleware's `hook` and then `endpoint`: polled once in place,
/// and, if some hook waits, as a future to run.
pub(crate) fn run_chain<I, O>(
    chain: &Arc<[Arc<dyn Middleware>]>,
    hook: chain::Hook<I, O>,
    mut input: I,
    endpoint: impl Fn(&mut I) -> BoxFuture<'static, O> + Send + Sync + 'static,
) -> HandlerFuture<O>
where
    I: Send + 'static,
    O: Send + 'static,
{
    let chain = Arc::clone(chain);
    let fut = Box::pin(async move { Next::new(&chain, hook, &endpoint).run(&mut input).await });
    match poll_once(fut) {
        Polled::Ready(v) => HandlerFuture::Ready(Some(v)),
        Polled::Pending(fut) => HandlerFuture::Pending(fut),
        // Raised again for the caller's `catch_unwind`, which answers as for a handler's.
        Polled::Panicked(message) => std::panic::resume_unwind(Box::new(message)),
    }
}

pub(crate) fn request_hook<'c>(
    m: &'c dyn Middleware,
    r: &'c mut Request,
    n: Next<'c, Request, Response>,
) -> BoxFuture<'c, Response> {
    m.on_request(r, n)
}

pub(crate) fn tool_hook<'c>(
    m: &'c dyn Middleware,
    r: &'c mut ToolRequest,
    n: Next<'c, ToolRequest, ToolOutcome>,
) -> BoxFuture<'c, ToolOutcome> {
    m.on_call_tool(r, n)
}

pub(crate) fn resource_hook<'c>(
    m: &'c dyn Middleware,
    r: &'c mut ResourceRequest,
    n: Next<'c, ResourceRequest, ResourceOutcome>,
) -> BoxFuture<'c, ResourceOutcome> {
    m.on_read_resource(r, n)
}

pub(crate) fn prompt_hook<'c>(
    m: &'c dyn Middleware,
    r: &'c mut PromptRequest,
    n: Next<'c, PromptRequest, PromptOutcome>,
) -> BoxFuture<'c, PromptOutcome> {
    m.on_get_prompt(r, n)
}
