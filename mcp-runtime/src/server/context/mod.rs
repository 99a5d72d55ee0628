//! `Context`: what a handler can learn about, and say during, the request it serves.

pub(crate) mod client_requests;
mod shorthands;
// Scale out (issue 19).
pub(crate) mod session_state;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::Notify;

use crate::protocol::lazy::LazyObject;
use crate::protocol::{Implementation, JsonObject, ProtocolVersion, RequestId, encode_request};
use crate::server::context::client_requests::{
    ClientRequestError, ListRootsResult, LogLevel, Root, SamplingRequest, SamplingResult,
};
use crate::server::dispatch::session::{Outbound, Session};
use crate::server::schema::elicitation::{ElicitationResponse, parse_response, requested_schema};

/// The request a handler is serving. Take it as a parameter of any `#[tool]` function:
///
/// ```rust,standalone_crate
/// use mcp_runtime::prelude::*;
///
/// /// Count to `n`, reporting progress.
/// #[tool]
/// async fn count(n: u32, ctx: Context) -> u32 {
///     for i in 1..=n {
///         ctx.progress(f64::from(i), Some(f64::from(n)), None).await;
///     }
///     n
/// }
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    request_id: RequestId,
    /// The request's `_meta`, parsed when a handler first reads it.
    meta: Option<LazyObject>,
    session: Arc<Session>,
    out: Outbound,
    cancel: Cancel,
    // ---- Identity (issue 21)
    caller: crate::auth::principal::Caller,
}

/// Whether the client cancelled the request, and who waits to hear it.
#[derive(Default)]
struct Cancel {
    fired: AtomicBool,
    waiters: Notify,
}

impl Inner {
    pub(crate) fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// Marks the request cancelled and wakes every [`Context::cancelled`] waiting on it.
    pub(crate) fn fire_cancel(&self) {
        self.cancel.fired.store(true, Ordering::Release);
        self.cancel.waiters.notify_waiters();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.session.forget_context(&self.request_id, self);
    }
}

impl Context {
    pub(crate) fn new(
        request_id: RequestId,
        meta: Option<LazyObject>,
        session: Arc<Session>,
        out: Outbound,
        caller: crate::auth::principal::Caller,
    ) -> Context {
        let inner = Arc::new(Inner {
            request_id,
            meta,
            session,
            out,
            cancel: Cancel::default(),
            caller,
        });
        inner.session.remember_context(&inner);
        Context { inner }
    }

    /// Whether the client cancelled this request (`notifications/cancelled`, or, on HTTP, by
    /// going away). A cancelled request's handler future is dropped at its next `.await`, so
    /// the handler itself never sees `true`; work it handed elsewhere (a spawned task, a
    /// blocking thread) holding a clone of the `Context` can check this and stop.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.fired.load(Ordering::Acquire)
    }

    /// Completes when the client cancels this request; see [`Context::is_cancelled`].
    ///
    /// ```rust,standalone_crate
    /// use mcp_runtime::prelude::*;
    ///
    /// /// Index the files in the background; stop when the call is cancelled.
    /// #[tool]
    /// async fn index(ctx: Context) -> String {
    ///     let worker = ctx.clone();
    ///     let job = tokio::spawn(async move {
    ///         tokio::select! {
    ///             () = worker.cancelled() => "stopped",
    ///             () = tokio::time::sleep(std::time::Duration::from_millis(10)) => "indexed",
    ///         }
    ///     });
    ///     job.await.unwrap_or("failed").to_string()
    /// }
    /// ```
    pub async fn cancelled(&self) {
        let cancel = &self.inner.cancel;
        loop {
            let notified = cancel.waiters.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cancel.fired.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    /// Who is calling: see [`Principal`](crate::Principal). [`Principal::local`] on stdio and
    /// in memory.
    ///
    /// [`Principal::local`]: crate::Principal::local
    pub fn principal(&self) -> &crate::Principal {
        &self.inner.caller.principal
    }

    /// The headers of the HTTP request that carried this call (without its credential);
    /// `None` on stdio and in memory.
    pub fn headers(&self) -> Option<crate::Headers> {
        self.inner.caller.http.clone().map(crate::Headers)
    }

    /// The address of the HTTP peer that sent this call; `None` on stdio and in memory.
    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.caller.http.as_ref().and_then(|h| h.peer)
    }

    /// The session's id: the `Mcp-Session-Id` of a streamable HTTP session; `None` on stdio
    /// and in stateless HTTP, where there is no session to name.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.session.id()
    }

    /// Values kept for this session, shared by every replica of the server (see
    /// [`SessionState`](crate::server::SessionState)); `None` where there is no session
    /// (stdio, stateless HTTP, 2026-07-28: use [`Context::session_state_for`]).
    pub fn session_state(&self) -> Option<crate::server::SessionState> {
        let id = self.inner.session.session_id()?;
        Some(crate::server::SessionState::new(
            self.shared_values(),
            id.to_string(),
        ))
    }

    /// Values kept for a `handle` the client chose (under 2026-07-28, where requests have no
    /// session), of this caller only: another principal's same handle is another scope.
    /// `None` for an empty handle or one over 128 bytes.
    pub fn session_state_for(&self, handle: &str) -> Option<crate::server::SessionState> {
        let scope = crate::server::SessionState::handle_scope(
            &self.inner.session.caller().principal,
            handle,
        )?;
        Some(crate::server::SessionState::new(
            self.shared_values(),
            scope,
        ))
    }

    fn shared_values(&self) -> std::sync::Arc<dyn crate::store::SharedState> {
        let core = &self.inner.session.core;
        match core.shared.get() {
            Some(s) => std::sync::Arc::clone(s),
            None => std::sync::Arc::clone(
                core.local_values
                    .get_or_init(|| std::sync::Arc::new(crate::store::MemoryState::new())),
            ) as std::sync::Arc<dyn crate::store::SharedState>,
        }
    }

    /// Answers the client with a task now, when this call may become one, and goes on in
    /// the background; `true` once the call is a task.
    ///
    /// A call may become a task when its tool is marked `#[tool(task = "optional")]` or
    /// `#[tool(task = "required")]` and the client's 2026-07-28 request declares the
    /// `io.modelcontextprotocol/tasks` extension. Such a call becomes a task by itself the
    /// first time it waits on anything but the client; this makes it one before that, so
    /// that what it asks the client next is asked through the task (`tasks/get` and
    /// `tasks/update`) rather than in `input_required` rounds that re-run the handler.
    /// Otherwise (another client, another tool, or already a task) it returns at once.
    ///
    /// ```rust,standalone_crate
    /// use mcp_runtime::prelude::*;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema, Form)]
    /// struct Confirm {
    ///     /// Go ahead?
    ///     confirm: bool,
    /// }
    ///
    /// /// Delete a file, once the user confirms.
    /// #[tool(task = "optional")]
    /// async fn delete(path: String, ctx: Context) -> Result<String, ToolError> {
    ///     ctx.continue_as_task().await;
    ///     let answer = ctx.elicit::<Confirm>(format!("Delete {path}?")).await?;
    ///     Ok(match answer.accepted() {
    ///         Some(Confirm { confirm: true }) => format!("deleted {path}"),
    ///         _ => "kept".to_string(),
    ///     })
    /// }
    /// ```
    pub async fn continue_as_task(&self) -> bool {
        let Some(round) = self.inner.session.round() else {
            return false;
        };
        if round.may_become_task() {
            // The dispatcher makes the call a task at the first wait.
            YieldOnce(false).await;
        }
        round.task().is_some()
    }

    /// The task this call became (its `taskId`), if it did.
    pub fn task_id(&self) -> Option<&str> {
        self.inner.session.round()?.task().map(|t| &*t.id)
    }

    /// Sets the `statusMessage` clients see on this call's task (progress, what it waits
    /// on…), or on the task it is about to become; does nothing when the call cannot be a
    /// task. Progress and log notifications are
    /// not sent for tasks: this is how a task tells how it is doing.
    pub fn set_status_message(&self, message: impl Into<String>) {
        let Some(round) = self.inner.session.round() else {
            return;
        };
        match round.task() {
            Some(task) => task.set_message(message.into()),
            // Kept for the task the call may become.
            None if round.may_become_task() => round.stash_status_message(message.into()),
            None => {}
        }
    }

    /// On streamable HTTP with a session, ends the connection that carries this request's
    /// SSE stream (answering with a stream, if it was not one yet). The client reconnects
    /// after the stream's `retry` interval with `Last-Event-ID` and receives everything sent
    /// since, the result included: a long call need not hold a connection open (SSE
    /// polling). Does nothing on stdio and stateless HTTP, which cannot resume a stream.
    pub fn close_sse_stream(&self) {
        if self.inner.session.id().is_some() {
            // The HTTP transport reads an empty message as "close the connection".
            let _ = self.inner.out.send(Vec::new());
        }
    }

    /// Reads a resource of this server, as `resources/read` would, with this request's
    /// context (its progress token, its session). Errors are those the read would answer
    /// with: not found, invalid template variables, or the handler's own error.
    pub async fn read_resource(
        &self,
        uri: &str,
    ) -> Result<Vec<crate::protocol::ResourceContents>, crate::server::ResourceError> {
        let session = &self.inner.session;
        let Some((entry, bindings)) = session.find_resource(uri) else {
            return Err(crate::server::ResourceError::not_found(uri));
        };
        let mut parts = session.request_parts(
            &self.inner.request_id,
            self.inner.meta.clone(),
            &self.inner.out,
        );
        parts.caller = self.inner.caller.clone();
        let read = crate::server::ResourceRead::new(&entry, uri.to_string(), bindings, parts);
        match (entry.def.handler)(read) {
            crate::server::HandlerFuture::Ready(Some(result)) => result,
            crate::server::HandlerFuture::Ready(None) => Err(crate::server::ResourceError::new(
                format!("reading `{uri}` produced no result"),
            )),
            crate::server::HandlerFuture::Pending(fut) => fut.await,
        }
    }

    /// The JSON-RPC id of the request.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.request_id
    }

    /// The request's `_meta`, if it had one.
    pub fn meta(&self) -> Option<&JsonObject> {
        self.inner.meta.as_ref().map(LazyObject::get)
    }

    /// The progress token the client attached, if any.
    pub fn progress_token(&self) -> Option<&Value> {
        self.meta()?.get("progressToken")
    }

    /// The protocol revision the client speaks.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.session.protocol_version()
    }

    /// The client's name and version, from `initialize`.
    pub fn client_info(&self) -> Option<&Implementation> {
        self.inner.session.client_info()
    }

    /// The client's capabilities, from `initialize`.
    pub fn client_capabilities(&self) -> Option<&JsonObject> {
        self.inner.session.client_capabilities()
    }

    /// The server's shared state of type `T`, if it was given one with
    /// [`Server::state`](crate::Server::state).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<std::sync::Arc<T>> {
        self.inner.session.core.state.get::<T>()
    }

    /// A handle on the server: change what it serves, notify resource subscribers.
    pub fn server(&self) -> crate::server::ServerHandle {
        crate::server::ServerHandle::of(&self.inner.session.core)
    }

    /// Reports progress, when the client asked for it with a progress token; otherwise does
    /// nothing. `progress` should grow with every call.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = self.progress_token() else {
            return;
        };
        let mut params = Map::new();
        params.insert("progressToken".into(), token.clone());
        params.insert("progress".into(), progress.into());
        if let Some(t) = total {
            params.insert("total".into(), t.into());
        }
        if let Some(m) = message.filter(|_| self.protocol_version().has_progress_message()) {
            params.insert("message".into(), m.into());
        }
        self.notify("notifications/progress", &params).await;
    }

    /// Sends a log message (`notifications/message`) to the client, if it asked for this
    /// level or a less severe one with `logging/setLevel` (default: `info`). `data` is any
    /// JSON value; `logger` names the message's source.
    pub fn log<D: Serialize>(&self, level: LogLevel, logger: Option<&str>, data: D) {
        if level < self.inner.session.min_log_level() || self.inner.session.logs_off() {
            return;
        }
        let mut params = Map::new();
        params.insert(
            "level".into(),
            serde_json::to_value(level).unwrap_or_default(),
        );
        if let Some(l) = logger {
            params.insert("logger".into(), l.into());
        }
        params.insert(
            "data".into(),
            serde_json::to_value(data).unwrap_or_default(),
        );
        self.send_notification("notifications/message", &params);
    }

    /// Logs a debugging message to the client.
    pub fn debug(&self, message: impl std::fmt::Display) {
        self.log(LogLevel::Debug, None, message.to_string());
    }

    /// Logs an informational message to the client.
    pub fn info(&self, message: impl std::fmt::Display) {
        self.log(LogLevel::Info, None, message.to_string());
    }

    /// Logs a warning to the client.
    pub fn warning(&self, message: impl std::fmt::Display) {
        self.log(LogLevel::Warning, None, message.to_string());
    }

    /// Logs an error to the client.
    pub fn error(&self, message: impl std::fmt::Display) {
        self.log(LogLevel::Error, None, message.to_string());
    }

    /// Asks the client's model for a completion (`sampling/createMessage`). Fails without
    /// sending anything when the client did not declare the `sampling` capability, or, for a
    /// request offering the model `tools`, `sampling.tools`.
    ///
    /// Like [`Context::elicit`] and [`Context::roots`], this returns a [`ClientRequest`] to
    /// `.await`, which [`ClientRequest::key`] can name first.
    pub fn sample(&self, request: SamplingRequest) -> ClientRequest<'_, SamplingResult> {
        let uses_tools = request.tools.is_some() || request.tool_choice.is_some();
        let params = if uses_tools && !self.declares("sampling", "tools") {
            Err(ClientRequestError::NotSupported {
                method: "sampling/createMessage",
                capability: "sampling.tools",
            })
        } else {
            match serde_json::to_value(&request) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(ClientRequestError::InvalidRequest {
                    method: "sampling/createMessage",
                    message: "the request did not serialize to an object".into(),
                }),
            }
        };
        ClientRequest::new(
            self,
            "sampling/createMessage",
            "sampling",
            params,
            |m, v| {
                serde_json::from_value(v).map_err(|e| ClientRequestError::InvalidResponse {
                    method: m,
                    message: e.to_string(),
                })
            },
        )
    }

    /// Asks the user to fill in a form (`elicitation/create`) whose fields are those of `T`: a
    /// struct of strings, numbers, booleans, enums (single choice) and `Vec`s of enums
    /// (multiple choice), with `Option` fields optional and defaults given, deriving
    /// [`Form`](crate::server::Form) (which refuses any other field type at compile time).
    /// Returns what the user did: accepted (with the values), declined, or cancelled. Fails
    /// without sending anything when the client did not declare `elicitation`, or when `T`'s
    /// JSON Schema is still not a form (a field with `#[schemars(with = …)]`, a hand-written
    /// `JsonSchema`).
    ///
    /// ```rust,standalone_crate
    /// use mcp_runtime::prelude::*;
    /// use mcp_runtime::server::ElicitationResponse;
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, JsonSchema, Form)]
    /// struct Booking {
    ///     /// How many nights.
    ///     nights: u32,
    ///     breakfast: Option<bool>,
    /// }
    ///
    /// /// Book a room.
    /// #[tool]
    /// async fn book(ctx: Context) -> Result<String, ToolError> {
    ///     Ok(match ctx.elicit::<Booking>("Your booking?").await? {
    ///         ElicitationResponse::Accept(b) => format!("{} nights booked", b.nights),
    ///         ElicitationResponse::Decline | ElicitationResponse::Cancel => "no booking".into(),
    ///     })
    /// }
    /// ```
    pub fn elicit<T>(&self, message: impl Into<String>) -> ClientRequest<'_, ElicitationResponse<T>>
    where
        T: crate::server::Form + schemars::JsonSchema + DeserializeOwned,
    {
        const METHOD: &str = "elicitation/create";
        let params = requested_schema::<T>()
            .map_err(|e| ClientRequestError::InvalidRequest {
                method: METHOD,
                message: e.to_string(),
            })
            .map(|schema| {
                let mut params = Map::new();
                if self.protocol_version().has_elicitation_modes() {
                    params.insert("mode".into(), "form".into());
                }
                params.insert("message".into(), Value::String(message.into()));
                params.insert("requestedSchema".into(), Value::Object(schema));
                params
            });
        ClientRequest::new(self, METHOD, "elicitation", params, |m, v| {
            parse_response(&v)
                .map_err(|message| ClientRequestError::InvalidResponse { method: m, message })
        })
    }

    /// Asks the user to visit `url` (URL-mode elicitation, 2025-11-25), for interactions
    /// that must not pass through the client, such as entering credentials. Returns whether
    /// the user agreed to open it. Fails without sending anything unless the client declared
    /// `elicitation.url`. (2026-07-28 clients get no `elicitationId`: that revision ties the
    /// answer to the request itself.)
    pub fn elicit_url(
        &self,
        message: impl Into<String>,
        url: impl Into<String>,
        elicitation_id: impl Into<String>,
    ) -> ClientRequest<'_, ElicitationResponse<()>> {
        const METHOD: &str = "elicitation/create";
        let params = if self.declares("elicitation", "url") {
            let mut params = Map::new();
            params.insert("mode".into(), "url".into());
            params.insert("message".into(), Value::String(message.into()));
            params.insert("url".into(), Value::String(url.into()));
            if !self.protocol_version().is_per_request() {
                params.insert("elicitationId".into(), Value::String(elicitation_id.into()));
            }
            Ok(params)
        } else {
            Err(ClientRequestError::NotSupported {
                method: METHOD,
                capability: "elicitation.url",
            })
        };
        ClientRequest::new(
            self,
            METHOD,
            "elicitation",
            params,
            |m, result| match result.get("action").and_then(Value::as_str) {
                Some("accept") => Ok(ElicitationResponse::Accept(())),
                Some("decline") => Ok(ElicitationResponse::Decline),
                Some("cancel") => Ok(ElicitationResponse::Cancel),
                _ => Err(ClientRequestError::InvalidResponse {
                    method: m,
                    message: format!("expected an `action` of accept, decline or cancel: {result}"),
                }),
            },
        )
    }

    /// The client's roots (`roots/list`). Fails without sending anything when the client did
    /// not declare the `roots` capability.
    pub fn roots(&self) -> ClientRequest<'_, Vec<Root>> {
        ClientRequest::new(self, "roots/list", "roots", Ok(Map::new()), |m, v| {
            serde_json::from_value::<ListRootsResult>(v)
                .map(|r| r.roots)
                .map_err(|e| ClientRequestError::InvalidResponse {
                    method: m,
                    message: e.to_string(),
                })
        })
    }

    /// Whether the client declared `feature` of `capability` (`sampling.tools`, say).
    fn declares(&self, capability: &str, feature: &str) -> bool {
        self.client_capabilities()
            .and_then(|c| c.get(capability))
            .and_then(|c| c.get(feature))
            .is_some()
    }

    /// Sends a request to the client, once it declared `capability`, and waits for the
    /// answer up to the server's client-request timeout. For a 2026-07-28 request, the
    /// answer comes from the client's retry instead (see [`ClientRequest`]).
    async fn request_client(
        &self,
        method: &'static str,
        capability: &'static str,
        params: Map<String, Value>,
        key: Option<String>,
    ) -> Result<Value, ClientRequestError> {
        let session = &self.inner.session;
        if let Some(round) = session.round() {
            if let Some(task) = round.task() {
                // A task asks through `tasks/get`; the answer comes with `tasks/update`.
                if !session.client_has(capability) {
                    return Err(ClientRequestError::NotSupported { method, capability });
                }
                let kind = method.split('/').next().unwrap_or(method);
                let key = key.unwrap_or_else(|| round.next_key(kind));
                let mut request = Map::new();
                request.insert("method".into(), method.into());
                request.insert("params".into(), Value::Object(params));
                let (key, answer) = task.ask(key, Value::Object(request));
                let _unanswered = Unanswered { task, key };
                return answer
                    .await
                    .map_err(|_| ClientRequestError::Disconnected { method });
            }
            if !session.client_has(capability) {
                round.require(capability);
                return std::future::pending().await;
            }
            let kind = method.split('/').next().unwrap_or(method);
            let key = key.unwrap_or_else(|| round.next_key(kind));
            return match round.ask(key, method, Value::Object(params)) {
                crate::server::per_request::rounds::Input::Answered(answer) => Ok(answer),
                crate::server::per_request::rounds::Input::Asked => std::future::pending().await,
            };
        }
        if !session.client_has(capability) {
            return Err(ClientRequestError::NotSupported { method, capability });
        }
        session
            .request_client(
                &self.inner.out,
                method,
                &params,
                session.core.client_request_timeout,
            )
            .await
    }

    fn send_notification<P: Serialize>(&self, method: &str, params: &P) {
        if self
            .inner
            .session
            .round()
            .is_some_and(|r| r.task().is_some())
        {
            // The request was answered with a task: its stream is gone.
            return;
        }
        match encode_request(None, method, Some(params)) {
            Ok(bytes) => {
                let _ = self.inner.out.send(bytes);
            }
            Err(e) => tracing::warn!(method, error = %e, "could not serialize a notification"),
        }
    }

    /// Sends a notification to the client.
    pub async fn notify<P: Serialize>(&self, method: &str, params: &P) {
        self.send_notification(method, params);
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("request_id", &self.inner.request_id)
            .finish_non_exhaustive()
    }
}

/// A request to the client from a handler: `.await` it for the answer.
///
/// With a handshake revision the request goes to the client at once and the handler waits
/// for its answer. With 2026-07-28, whose servers send clients no requests, the call's result
/// becomes `input_required`, asking the client for this answer (and for any other request the
/// handler made at the same time, with `tokio::join!`, say); the client calls again with the
/// answers, and the handler runs again from the start, this time receiving them. A handler
/// therefore asks in the same order on every run, and does nothing irreversible before its
/// last question.
///
/// Each request has a key in the `input_required` result: `elicitation-1`, `sampling-1`,
/// `roots-1`… in the order asked, or the one [`ClientRequest::key`] gives.
#[must_use = "a request to the client does nothing until awaited"]
pub struct ClientRequest<'a, R> {
    ctx: &'a Context,
    method: &'static str,
    capability: &'static str,
    params: Result<Map<String, Value>, ClientRequestError>,
    key: Option<String>,
    parse: fn(&'static str, Value) -> Result<R, ClientRequestError>,
}

impl<'a, R> ClientRequest<'a, R> {
    fn new(
        ctx: &'a Context,
        method: &'static str,
        capability: &'static str,
        params: Result<Map<String, Value>, ClientRequestError>,
        parse: fn(&'static str, Value) -> Result<R, ClientRequestError>,
    ) -> Self {
        ClientRequest {
            ctx,
            method,
            capability,
            params,
            key: None,
            parse,
        }
    }

    /// Names the request in a 2026-07-28 `input_required` result, where the client answers
    /// it by this key; unique within a handler.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl<'a, R: Send + 'a> std::future::IntoFuture for ClientRequest<'a, R> {
    type Output = Result<R, ClientRequestError>;
    type IntoFuture =
        std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let params = self.params?;
            let answer = self
                .ctx
                .request_client(self.method, self.capability, params, self.key)
                .await?;
            (self.parse)(self.method, answer)
        })
    }
}

impl<R> std::fmt::Debug for ClientRequest<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRequest")
            .field("method", &self.method)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Withdraws a task's request to the client when the handler stops waiting for it.
struct Unanswered<'a> {
    task: &'a Arc<crate::server::per_request::tasks::Task>,
    key: String,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        self.task.forget(&self.key);
    }
}

/// Pending once, then ready: lets the dispatcher see the handler wait.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}
