//! One client connection: its lifecycle state, its requests in flight, and dispatch.
//!
//! Dispatch is transport-agnostic: a transport hands each incoming message to
//! [`Session::handle_message`] (or, having parsed it, [`Session::handle_incoming`]) together with
//! the outbound sink for what the request says while it runs, and sends what comes back;
//! stdio, the in-memory client and HTTP all run this same code. stdio sends everything on the
//! session's own sink; HTTP gives each request the sink of its own response stream.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use serde::Deserialize;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::ServerCore;
use super::call::{HandlerFuture, RequestParts, ToolCall};
use super::context::Inner as ContextInner;
use crate::protocol::{
    BadMessage, CallToolParams, CallToolResult, CancelledParams, ErrorObject, Implementation,
    Incoming, InitializeParams, InitializeResult, JsonObject, ListParams, ProtocolVersion,
    RequestId, code, encode_error, encode_result,
};

/// A response still being computed, as handed back in [`Reply::Later`].
pub(crate) type PendingReply = Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;
use crate::transport::lines::Line;

/// Where a connection's outgoing messages go: one serialized JSON-RPC message per item.
pub(crate) type Outbound = mpsc::UnboundedSender<Vec<u8>>;

/// What the client said in `initialize`.
pub(crate) struct Peer {
    pub(crate) version: ProtocolVersion,
    pub(crate) info: Implementation,
    pub(crate) capabilities: JsonObject,
}

/// A connection's state.
pub(crate) struct Session {
    pub(crate) core: Arc<ServerCore>,
    peer: OnceLock<Peer>,
    in_flight: Mutex<HashMap<RequestId, AbortHandle>>,
    idle: tokio::sync::Notify,
    out: Outbound,
    /// URIs the client subscribed to with `resources/subscribe`.
    pub(crate) subscriptions: Mutex<HashSet<String>>,
    /// Requests this server sent the client, awaiting their responses.
    pub(crate) outgoing: super::client_requests::Outgoing,
    /// The least severe log level the client wants (`logging/setLevel`).
    pub(crate) log_level: std::sync::atomic::AtomicU8,
    /// The transport's name for the session (HTTP's `Mcp-Session-Id`).
    id: OnceLock<Arc<str>>,
    /// The `Context`s of requests in flight, to tell them of a cancellation.
    contexts: Mutex<HashMap<RequestId, Weak<ContextInner>>>,
    /// The connection's session, for the session of one per-request (2026-07-28) request.
    parent: Option<Arc<Session>>,
    /// The requests to the client of a per-request request, and their answers.
    round: Option<super::modern::InputRound>,
}

/// `log_level` of a session whose client asked for no log messages.
const LOGS_OFF: u8 = u8::MAX;

/// The answer to one incoming message.
pub(crate) enum Reply {
    /// Nothing to send (notifications, responses).
    None,
    /// A response, ready now.
    Now(Vec<u8>),
    /// A response still being computed; run it with [`Session::spawn_request`].
    Later(RequestId, PendingReply),
}

impl Session {
    pub(crate) fn new(core: Arc<ServerCore>, out: Outbound) -> Arc<Session> {
        Arc::new(Session::fresh(core, out))
    }

    fn fresh(core: Arc<ServerCore>, out: Outbound) -> Session {
        Session {
            core,
            peer: OnceLock::new(),
            in_flight: Mutex::new(HashMap::new()),
            idle: tokio::sync::Notify::new(),
            out,
            subscriptions: Mutex::new(HashSet::new()),
            outgoing: Default::default(),
            log_level: std::sync::atomic::AtomicU8::new(
                super::client_requests::LogLevel::Info as u8,
            ),
            id: OnceLock::new(),
            contexts: Mutex::new(HashMap::new()),
            parent: None,
            round: None,
        }
    }

    /// The session of one per-request request made on `parent`'s connection.
    pub(crate) fn new_child(
        core: Arc<ServerCore>,
        out: Outbound,
        parent: &Arc<Session>,
        round: super::modern::InputRound,
    ) -> Arc<Session> {
        Arc::new(Session {
            parent: Some(Arc::clone(parent.root())),
            round: Some(round),
            ..Session::fresh(core, out)
        })
    }

    /// The connection's session.
    fn root(self: &Arc<Self>) -> &Arc<Session> {
        self.parent.as_ref().unwrap_or(self)
    }

    /// The requests to the client of a per-request request.
    pub(crate) fn round(&self) -> Option<&super::modern::InputRound> {
        self.round.as_ref()
    }

    pub(crate) fn set_peer(
        &self,
        version: ProtocolVersion,
        info: Implementation,
        capabilities: JsonObject,
    ) {
        let _ = self.peer.set(Peer {
            version,
            info,
            capabilities,
        });
    }

    /// No log message reaches the client.
    pub(crate) fn silence_logs(&self) {
        self.log_level
            .store(LOGS_OFF, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn logs_off(&self) -> bool {
        self.log_level.load(std::sync::atomic::Ordering::Relaxed) == LOGS_OFF
    }

    /// Names the session (once).
    pub(crate) fn set_id(&self, id: Arc<str>) {
        let _ = self.id.set(id);
    }

    pub(crate) fn id(&self) -> Option<&str> {
        self.id.get().map(|id| &**id)
    }

    pub(crate) fn remember_context(self: &Arc<Self>, context: &Arc<ContextInner>) {
        let root = self.root();
        // A context made for the same request (`Context::read_resource`) leaves the first
        // one registered.
        let mut contexts = root.contexts.lock().unwrap_or_else(|e| e.into_inner());
        match contexts.entry(context.request_id().clone()) {
            Entry::Occupied(e) if e.get().strong_count() > 0 => {}
            Entry::Occupied(mut e) => {
                e.insert(Arc::downgrade(context));
            }
            Entry::Vacant(e) => {
                e.insert(Arc::downgrade(context));
            }
        }
    }

    /// Takes a request's `Context` out of the connection's, so that a later request reusing
    /// its id is not mistaken for it (a call that became a task).
    pub(crate) fn take_context(self: &Arc<Self>, id: &RequestId) -> Option<Weak<ContextInner>> {
        self.root()
            .contexts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
    }

    /// Forgets a dropped `Context`, unless a later request reused its id.
    pub(crate) fn forget_context(&self, id: &RequestId, context: *const ContextInner) {
        let root = self.parent.as_deref().unwrap_or(self);
        let mut contexts = root.contexts.lock().unwrap_or_else(|e| e.into_inner());
        if contexts.get(id).is_some_and(|w| w.as_ptr() == context) {
            contexts.remove(id);
        }
    }

    /// Tells the request's `Context`, if it has one, that it was cancelled.
    fn signal_cancelled(&self, id: &RequestId) {
        let context = self
            .contexts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .and_then(Weak::upgrade);
        if let Some(c) = context {
            c.fire_cancel();
        }
    }

    /// Whether the client subscribed to updates of `uri`.
    pub(crate) fn is_subscribed(&self, uri: &str) -> bool {
        self.subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(uri)
    }

    pub(crate) fn protocol_version(&self) -> ProtocolVersion {
        self.peer
            .get()
            .map_or(ProtocolVersion::LATEST, |p| p.version)
    }

    pub(crate) fn client_info(&self) -> Option<&Implementation> {
        self.peer.get().map(|p| &p.info)
    }

    pub(crate) fn client_capabilities(&self) -> Option<&JsonObject> {
        self.peer.get().map(|p| &p.capabilities)
    }

    /// Treats the session as initialized at `version` without a handshake, for transports
    /// that serve each message with a fresh session (stateless HTTP). The client is unnamed.
    pub(crate) fn assume_initialized(&self, version: ProtocolVersion) {
        let _ = self.peer.set(Peer {
            version,
            info: Implementation::default(),
            capabilities: JsonObject::new(),
        });
    }

    /// Sends bytes to the client.
    pub(crate) fn send(&self, bytes: Vec<u8>) {
        let _ = self.out.send(bytes);
    }

    /// Answers one line read from the client: requests answered at once come back to the
    /// caller to write; longer ones are spawned (so this must run within a tokio runtime
    /// context) and answer through the outgoing queue.
    pub(crate) fn answer_line(self: &Arc<Self>, line: Line, max: usize) -> Option<Vec<u8>> {
        let bytes = match line {
            Line::TooLong(n) => {
                return Some(encode_error(
                    None,
                    &ErrorObject::new(
                        code::INVALID_REQUEST,
                        format!("message of {n} bytes is larger than the limit of {max} bytes"),
                    ),
                ));
            }
            Line::Message(bytes) => bytes,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Some(encode_error(
                None,
                &ErrorObject::new(code::PARSE_ERROR, "Parse error: message is not UTF-8"),
            ));
        };
        match self.handle_message(text, &self.out) {
            Reply::None => None,
            Reply::Now(bytes) => Some(bytes),
            Reply::Later(id, fut) => {
                let session = Arc::clone(self);
                self.spawn_request(id, fut, move |bytes| session.send(bytes));
                None
            }
        }
    }

    /// Runs a [`Reply::Later`] on the runtime, as a request in flight (so that
    /// `notifications/cancelled` and [`Session::drain`] can stop it), and hands its response
    /// to `reply`. A cancelled request never calls `reply`.
    pub(crate) fn spawn_request(
        self: &Arc<Self>,
        id: RequestId,
        fut: PendingReply,
        reply: impl FnOnce(Vec<u8>) + Send + 'static,
    ) {
        let session = Arc::clone(self);
        let task_id = id.clone();
        let mut in_flight = self.in_flight.lock().expect("in-flight map poisoned");
        let handle = tokio::spawn(async move {
            let bytes = match CatchUnwind(fut).await {
                Ok(bytes) => bytes,
                Err(panic) => encode_error(
                    Some(&task_id),
                    &ErrorObject::internal(format!("the request handler panicked: {panic}")),
                ),
            };
            reply(bytes);
            session.finished(&task_id);
        });
        in_flight.insert(id, handle.abort_handle());
    }

    fn finished(&self, id: &RequestId) {
        let mut in_flight = self.in_flight.lock().expect("in-flight map poisoned");
        in_flight.remove(id);
        if in_flight.is_empty() {
            self.idle.notify_waiters();
        }
    }

    /// Stops a request in flight, if it still is; it sends nothing more.
    pub(crate) fn cancel(&self, id: &RequestId) {
        let Some(handle) = self
            .in_flight
            .lock()
            .expect("in-flight map poisoned")
            .remove(id)
        else {
            return;
        };
        self.signal_cancelled(id);
        handle.abort();
        tracing::debug!(%id, "request cancelled by the client");
        if self
            .in_flight
            .lock()
            .expect("in-flight map poisoned")
            .is_empty()
        {
            self.idle.notify_waiters();
        }
    }

    /// Waits until no request is in flight, or the deadline passes; then aborts what is left.
    pub(crate) async fn drain(&self, deadline: Duration) {
        let wait = async {
            loop {
                let notified = self.idle.notified();
                if self
                    .in_flight
                    .lock()
                    .expect("in-flight map poisoned")
                    .is_empty()
                {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(deadline, wait).await.is_err() {
            let mut in_flight = self.in_flight.lock().expect("in-flight map poisoned");
            tracing::warn!(
                count = in_flight.len(),
                "requests still running at shutdown were stopped"
            );
            let stopped: Vec<_> = in_flight.drain().collect();
            drop(in_flight);
            for (id, h) in stopped {
                self.signal_cancelled(&id);
                h.abort();
            }
        }
    }

    /// Handles one incoming message; what a request says while it runs (progress, logging)
    /// goes to `out`.
    pub(crate) fn handle_message(self: &Arc<Self>, text: &str, out: &Outbound) -> Reply {
        match Incoming::parse(text) {
            Err(BadMessage { id, error }) => {
                tracing::debug!(error = %error, "unreadable message");
                Reply::Now(encode_error(id.as_ref(), &error))
            }
            Ok(message) => self.handle_incoming(message, out),
        }
    }

    /// [`Session::handle_message`] for a message the transport has already parsed.
    pub(crate) fn handle_incoming(
        self: &Arc<Self>,
        message: Incoming<'_>,
        out: &Outbound,
    ) -> Reply {
        match message {
            Incoming::Request { id, method, params } => {
                self.handle_request(id, &method, params, out)
            }
            Incoming::Notification { method, params } => {
                self.handle_notification(&method, params);
                Reply::None
            }
            Incoming::Response { id, result } => {
                self.outgoing.answer(&id, result);
                Reply::None
            }
        }
    }

    fn handle_notification(&self, method: &str, params: Option<&RawValue>) {
        match method {
            "notifications/cancelled" => match parse_params::<CancelledParams>(params) {
                Ok(p) => self.cancel(&p.request_id),
                Err(e) => tracing::debug!(error = %e, "bad notifications/cancelled"),
            },
            "notifications/initialized" => tracing::debug!("client initialized"),
            other => tracing::debug!(method = other, "notification ignored"),
        }
    }

    pub(crate) fn handle_request(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
        if self.round.is_none() && super::modern::names_revision(params) {
            return self.handle_per_request(id, method, params, out, None);
        }
        let result = match method {
            "initialize" => self.initialize(params).map(|r| encode_result(&id, &r)),
            "ping" => Ok(encode_result(&id, &Empty {})),
            _ if self.peer.get().is_none() => Err(ErrorObject::new(
                code::INVALID_REQUEST,
                format!(
                    "received `{method}` before `initialize`: the client must send `initialize` first"
                ),
            )),
            "tools/list" => self.list_tools(params).map(|r| encode_result(&id, &r)),
            "tools/call" => return self.call_tool(id, params, out),
            "resources/list" => self.list_resources(params).map(|r| encode_result(&id, &r)),
            "resources/templates/list" => self
                .list_resource_templates(params)
                .map(|r| encode_result(&id, &r)),
            "resources/read" => return self.read_resource(id, params, out),
            "resources/subscribe" => self
                .subscribe(params, true)
                .map(|()| encode_result(&id, &Empty {})),
            "resources/unsubscribe" => self
                .subscribe(params, false)
                .map(|()| encode_result(&id, &Empty {})),
            "prompts/list" => self.list_prompts(params).map(|r| encode_result(&id, &r)),
            "logging/setLevel" => self
                .set_log_level(params)
                .map(|()| encode_result(&id, &Empty {})),
            "prompts/get" => return self.get_prompt(id, params, out),
            "completion/complete" if self.protocol_version().has_completions() => {
                return self.complete(id, params);
            }
            _ => Err(ErrorObject::method_not_found(method)),
        };
        Reply::Now(result.unwrap_or_else(|e| encode_error(Some(&id), &e)))
    }

    fn initialize(
        self: &Arc<Self>,
        params: Option<&RawValue>,
    ) -> Result<InitializeResult, ErrorObject> {
        let p: InitializeParams = parse_params(params)?;
        let version = ProtocolVersion::negotiate(&p.protocol_version);
        let peer = Peer {
            version,
            info: p.client_info,
            capabilities: p.capabilities,
        };
        tracing::info!(client = %peer.info.name, client_version = %peer.info.version, %version, "initialize");
        self.peer.set(peer).map_err(|_| {
            ErrorObject::new(code::INVALID_REQUEST, "the session is already initialized")
        })?;
        // Sessions that completed the handshake hear about list changes and resource
        // updates; stateless ones (a fresh session per HTTP request) never register.
        self.core.register(self);
        Ok(self.core.initialize_result(version))
    }

    fn list_tools(&self, params: Option<&RawValue>) -> Result<Page, ErrorObject> {
        let table = self.core.tools.load();
        self.page(params, "tools", table.live(), |e, v| e.listing(v))
    }

    /// One page of a list result.
    pub(crate) fn page<E>(
        &self,
        params: Option<&RawValue>,
        key: &'static str,
        items: &[Arc<E>],
        listing: impl Fn(&E, ProtocolVersion) -> &RawValue,
    ) -> Result<Page, ErrorObject> {
        let p: ListParams = parse_optional_params(params)?;
        let (start, end) =
            super::catalog::page_bounds(p.cursor.as_deref(), items.len(), self.core.page_size)?;
        let version = self.protocol_version();
        let mut out = Vec::with_capacity(32 + (end - start) * 256);
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":[");
        for (i, e) in items[start..end].iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(listing(e, version).get().as_bytes());
        }
        out.push(b']');
        if end < items.len() {
            out.extend_from_slice(b",\"nextCursor\":\"");
            out.extend_from_slice(end.to_string().as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
        Ok(Page(
            RawValue::from_string(String::from_utf8(out).expect("JSON is UTF-8"))
                .expect("a page is valid JSON"),
        ))
    }

    fn call_tool(
        self: &Arc<Self>,
        id: RequestId,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
        let p: CallToolParams = match parse_params(params) {
            Ok(p) => p,
            Err(e) => return Reply::Now(encode_error(Some(&id), &e)),
        };
        let Some(entry) = self.core.tools.get(&p.name) else {
            return Reply::Now(encode_error(
                Some(&id),
                &ErrorObject::invalid_params(format!("Unknown tool: `{}`", p.name)),
            ));
        };
        let request = self.request_parts(&id, p.meta, out);
        let call = ToolCall::new(&entry, p.arguments.unwrap_or_default(), request);
        let version = self.protocol_version();
        let handler = entry.def.handler;
        let name = entry.def.name;
        let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| handler(call))) {
            Ok(f) => f,
            Err(panic) => {
                return Reply::Now(encode_result(
                    &id,
                    &RenderedResult(panicked(name, &panic), version),
                ));
            }
        };
        match fut {
            super::call::ToolFuture::Ready(Some(result)) => {
                Reply::Now(encode_result(&id, &RenderedResult(result, version)))
            }
            fut => {
                // In a task, a panic fails the task (a protocol-level fault: there is no
                // result); a direct call answers with an `isError` result.
                let round = self
                    .round()
                    .is_some_and(super::modern::InputRound::may_become_task)
                    .then(|| Arc::clone(self));
                Reply::Later(
                    id.clone(),
                    Box::pin(async move {
                        let result = match CatchUnwind(fut).await {
                            Ok(r) => r,
                            Err(msg)
                                if round
                                    .as_ref()
                                    .and_then(|s| s.round())
                                    .is_some_and(|r| r.task().is_some()) =>
                            {
                                tracing::error!(tool = name, panic = %msg, "tool panicked in a task");
                                return encode_error(
                                    Some(&id),
                                    &ErrorObject::internal(format!(
                                        "tool `{name}` failed unexpectedly: {msg}"
                                    )),
                                );
                            }
                            Err(msg) => panicked_msg(name, &msg),
                        };
                        encode_result(&id, &RenderedResult(result, version))
                    }),
                )
            }
        }
    }
}

impl Session {
    /// What a handler's `Context` is built from.
    pub(crate) fn request_parts(
        self: &Arc<Self>,
        id: &RequestId,
        meta: Option<JsonObject>,
        out: &Outbound,
    ) -> RequestParts {
        RequestParts {
            id: id.clone(),
            meta,
            session: Arc::clone(self),
            out: out.clone(),
        }
    }
}

/// Runs a handler: `start` builds its future (a panic there is caught too); the answer is
/// sent now when the future is already done, and from a spawned task otherwise. `encode`
/// turns the outcome, or a panic's message, into the response.
pub(crate) fn run_handler<T: Send + 'static>(
    id: RequestId,
    start: impl FnOnce() -> HandlerFuture<T>,
    encode: impl FnOnce(&RequestId, Result<T, String>) -> Vec<u8> + Send + 'static,
) -> Reply {
    let fut = match std::panic::catch_unwind(AssertUnwindSafe(start)) {
        Ok(f) => f,
        Err(panic) => return Reply::Now(encode(&id, Err(panic_message(&panic)))),
    };
    match fut {
        HandlerFuture::Ready(Some(v)) => Reply::Now(encode(&id, Ok(v))),
        fut => Reply::Later(
            id.clone(),
            Box::pin(async move {
                let outcome = CatchUnwind(fut).await;
                encode(&id, outcome)
            }),
        ),
    }
}

fn panicked(tool: &str, panic: &Box<dyn std::any::Any + Send>) -> CallToolResult {
    panicked_msg(tool, &panic_message(panic))
}

fn panicked_msg(tool: &str, msg: &str) -> CallToolResult {
    tracing::error!(tool, panic = msg, "tool panicked");
    CallToolResult::error(format!("tool `{tool}` failed unexpectedly: {msg}"))
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Runs a future, turning a panic into an error message.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic_message(&panic))),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct Empty {}

/// A page of a list result, serialized.
pub(crate) struct Page(Box<RawValue>);

impl Serialize for Page {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A tool result as the negotiated revision allows it.
struct RenderedResult(CallToolResult, ProtocolVersion);

impl Serialize for RenderedResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let RenderedResult(r, version) = self;
        if version.has_structured_output() || r.structured_content.is_none() {
            r.serialize(s)
        } else {
            let mut m = Map::new();
            m.insert(
                "content".into(),
                serde_json::to_value(&r.content).map_err(serde::ser::Error::custom)?,
            );
            if r.is_error {
                m.insert("isError".into(), Value::Bool(true));
            }
            if let Some(meta) = &r.meta {
                m.insert("_meta".into(), Value::Object(meta.clone()));
            }
            m.serialize(s)
        }
    }
}

/// Parses required params.
pub(crate) fn parse_params<'a, T: Deserialize<'a>>(
    params: Option<&'a RawValue>,
) -> Result<T, ErrorObject> {
    let raw =
        params.ok_or_else(|| ErrorObject::invalid_params("Invalid params: missing `params`"))?;
    serde_json::from_str(raw.get())
        .map_err(|e| ErrorObject::invalid_params(format!("Invalid params: {e}")))
}

/// Parses params that may be absent.
pub(crate) fn parse_optional_params<'a, T: Deserialize<'a> + Default>(
    params: Option<&'a RawValue>,
) -> Result<T, ErrorObject> {
    match params {
        None => Ok(T::default()),
        Some(raw) if raw.get() == "null" => Ok(T::default()),
        Some(_) => parse_params(params),
    }
}
