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
use tokio::task::AbortHandle;

use std::sync::atomic::Ordering;

use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use crate::auth::Principal;
use crate::auth::principal::Caller;
use crate::protocol::lazy::LazyObject;
use crate::protocol::stamp::Wire;
use crate::protocol::{
    BadMessage, CallToolResult, CancelledParams, Encoded, ErrorObject, Implementation, Incoming,
    JsonObject, LogLevel, ProtocolVersion, RequestId, encode_request,
};
use crate::server::ServerCore;
use crate::server::context::Inner as ContextInner;
use crate::server::context::client_requests::{Answer, ClientRequestError, Outgoing};
use crate::server::handlers::call::{HandlerFuture, RequestParts};
use crate::server::per_request::rounds::InputRound;

/// A response still being computed, as handed back in [`Reply::Later`].
pub(crate) type PendingReply = Pin<Box<dyn Future<Output = Encoded> + Send>>;

/// Where a connection's outgoing messages go: one serialized JSON-RPC message per item,
/// bounded (see `outbound` for what happens when it is full).
pub(crate) use super::outbound::Outbound;

/// What the client said in `initialize` (or, in the per-request revision, in its request's
/// `_meta`: the capabilities then stay as sent until something asks about them).
pub(crate) struct Peer {
    pub(crate) version: ProtocolVersion,
    pub(crate) info: Implementation,
    pub(crate) capabilities: LazyObject,
}

/// A connection's state.
pub(crate) struct Session {
    pub(crate) core: Arc<ServerCore>,
    pub(super) peer: OnceLock<Peer>,
    in_flight: Mutex<HashMap<RequestId, Stop>>,
    idle: tokio::sync::Notify,
    out: Outbound,
    /// URIs the client subscribed to with `resources/subscribe`.
    pub(crate) subscriptions: Mutex<HashSet<String>>,
    /// Requests this server sent the client, awaiting their responses.
    pub(crate) outgoing: crate::server::context::client_requests::Outgoing,
    /// The least severe log level the client wants (`logging/setLevel`).
    pub(crate) log_level: std::sync::atomic::AtomicU8,
    /// The transport's name for the session (HTTP's `Mcp-Session-Id`).
    id: OnceLock<Arc<str>>,
    /// The `Context`s of requests in flight, to tell them of a cancellation.
    contexts: Mutex<HashMap<RequestId, Weak<ContextInner>>>,
    /// The connection's session, for the session of one per-request (2026-07-28) request.
    parent: Option<Arc<Session>>,
    /// The requests to the client of a per-request request, and their answers (boxed: the
    /// sessions of connections, which have none, stay small). Set once, when the session
    /// is made for such a request or becomes one ([`Session::for_one_request`]).
    pub(super) round: OnceLock<Box<InputRound>>,
    /// How its responses are written: stamped for a per-request request (plain unless set).
    wire: OnceLock<Wire>,
    // ---- Identity (issue 21)
    /// Who opened the session: the caller of its requests unless the transport names
    /// another for one ([`crate::auth::principal::with_caller`]). HTTP refuses a request
    /// of another caller on the session.
    principal: Principal,

    // Hardening against hostile clients.
    /// Tells this session from every other of the process, for what it owns (tasks); `None`
    /// for the throwaway sessions of one HTTP request, which own nothing.
    serial: Option<u64>,
    // Middleware and observability.
    /// The client's address (HTTP: of the connection that opened the session).
    peer_addr: OnceLock<std::net::SocketAddr>,
    // Scopes changing under a live session.
    /// The newest principal of the session's caller when its scopes changed since the
    /// session opened (a key file reloaded, a token refreshed): what its lists show.
    rescoped: Mutex<Option<Principal>>,
    /// Whether `rescoped` was ever set (read without the lock on every request).
    was_rescoped: std::sync::atomic::AtomicBool,
}

/// Whether two principals hold the same scopes.
pub(crate) fn same_scopes(a: &Principal, b: &Principal) -> bool {
    a.has_every_scope() == b.has_every_scope() && a.scopes().eq(b.scopes())
}

/// `log_level` of a session whose client asked for no log messages.
const LOGS_OFF: u8 = u8::MAX;

/// The answer to one incoming message.
pub(crate) enum Reply {
    /// Nothing to send (notifications, responses).
    None,
    /// A response, ready now.
    Now(Encoded),
    /// A response still being computed; run it with [`Session::spawn_request`].
    Later(RequestId, PendingReply),
}

/// How a request in flight is stopped.
enum Stop {
    /// Its own task, aborted.
    Task(AbortHandle),
    /// A caller's task runs it ([`Session::inline_request`]): told, it ends at its next
    /// wait, sending nothing.
    Inline(Arc<tokio::sync::Notify>),
}

impl Stop {
    fn stop(&self) {
        match self {
            Stop::Task(handle) => handle.abort(),
            Stop::Inline(stop) => stop.notify_one(),
        }
    }
}

/// A request that the task that sent it runs ([`Session::inline_request`]); awaited, it
/// ends once the response is sent. Dropped before that, what is left of it becomes a task of
/// its own, as [`Session::spawn_request`] would have made it: dropping the caller's wait
/// neither stops the request nor loses what it does.
pub(crate) struct InlineRequest(Option<Pin<Box<dyn Future<Output = ()> + Send>>>);

impl Future for InlineRequest {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let Some(job) = self.0.as_mut() else {
            return Poll::Ready(());
        };
        std::task::ready!(job.as_mut().poll(cx));
        self.0 = None;
        Poll::Ready(())
    }
}

impl Drop for InlineRequest {
    fn drop(&mut self) {
        if let Some(job) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(job);
        }
        // Outside a runtime the job is dropped; its `InlineDone` takes it out of flight.
    }
}

/// Takes an inline request out of the in-flight map when it ends, however it ends (an entry
/// that is no longer its own, after a stop and a new request with the same id, is left).
struct InlineDone {
    session: Arc<Session>,
    id: RequestId,
    stop: Arc<tokio::sync::Notify>,
}

impl Drop for InlineDone {
    fn drop(&mut self) {
        let mut in_flight = self
            .session
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Entry::Occupied(entry) = in_flight.entry(self.id.clone())
            && matches!(entry.get(), Stop::Inline(stop) if Arc::ptr_eq(stop, &self.stop))
        {
            entry.remove();
        }
        if in_flight.is_empty() {
            self.session.idle.notify_waiters();
        }
    }
}

impl Session {
    pub(crate) fn new(core: Arc<ServerCore>, out: impl Into<Outbound>) -> Arc<Session> {
        Arc::new(Session::fresh(core, out.into()))
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
            log_level: std::sync::atomic::AtomicU8::new(LogLevel::Info as u8),
            id: OnceLock::new(),
            contexts: Mutex::new(HashMap::new()),
            parent: None,
            round: OnceLock::new(),
            wire: OnceLock::new(),
            principal: Principal::local(),
            serial: {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
                Some(NEXT.fetch_add(1, Ordering::Relaxed))
            },
            peer_addr: OnceLock::new(),
            rescoped: Mutex::new(None),
            was_rescoped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A session opened by `principal` (HTTP).
    pub(crate) fn new_for(
        core: Arc<ServerCore>,
        out: impl Into<Outbound>,
        principal: Principal,
    ) -> Arc<Session> {
        Arc::new(Session {
            principal,
            ..Session::fresh(core, out.into())
        })
    }

    /// A session for one HTTP request only (stateless, or of the per-request revision), of
    /// `principal`: what it creates belongs to no session.
    pub(crate) fn new_anonymous(
        core: Arc<ServerCore>,
        out: impl Into<Outbound>,
        principal: Principal,
    ) -> Arc<Session> {
        Arc::new(Session {
            serial: None,
            principal,
            ..Session::fresh(core, out.into())
        })
    }

    /// Who opened the session.
    pub(crate) fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The session's caller with the scopes it holds now (see [`Session::rescope`]): whose
    /// view of the lists `list_changed` follows.
    pub(crate) fn viewer(&self) -> Principal {
        if !self.was_rescoped.load(Ordering::Acquire) {
            return self.principal.clone();
        }
        self.rescoped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| self.principal.clone())
    }

    /// Notes that the session's caller now holds the scopes of `now` (the same caller: its
    /// key's scopes changed, or its token was refreshed with others). The client is sent
    /// the `list_changed` of every list in which something became visible or invisible.
    pub(crate) fn rescope(&self, now: &Principal) {
        if !self.was_rescoped.load(Ordering::Acquire) && same_scopes(&self.principal, now) {
            return;
        }
        let before = {
            let mut rescoped = self.rescoped.lock().unwrap_or_else(|e| e.into_inner());
            let current = rescoped.as_ref().unwrap_or(&self.principal);
            if same_scopes(current, now) {
                return;
            }
            let before = current.clone();
            *rescoped = Some(now.clone());
            self.was_rescoped.store(true, Ordering::Release);
            before
        };
        if self.peer.get().is_none() {
            return;
        }
        for method in
            crate::server::registration::handle::lists_changed_between(&self.core, &before, now)
        {
            if let Ok(bytes) = encode_request::<()>(None, method, None) {
                self.send(bytes);
            }
        }
    }

    /// The caller of the message being dispatched: the one the transport named, or the
    /// session's.
    pub(crate) fn caller(&self) -> Caller {
        crate::auth::principal::current().unwrap_or_else(|| Caller::of(self.principal.clone()))
    }

    /// Who owns what this session's requests create: the connection's session.
    pub(crate) fn owner(self: &Arc<Self>) -> Option<u64> {
        self.root().serial
    }

    /// The session of one per-request request made on `parent`'s connection.
    pub(crate) fn new_child(
        core: Arc<ServerCore>,
        out: Outbound,
        parent: &Arc<Session>,
        round: InputRound,
        wire: Wire,
    ) -> Arc<Session> {
        Arc::new(Session {
            parent: Some(Arc::clone(parent.root())),
            round: OnceLock::from(Box::new(round)),
            wire: OnceLock::from(wire),
            principal: parent.principal.clone(),
            ..Session::fresh(core, out)
        })
    }

    /// The session of one per-request request made on `self`: `self` itself when the
    /// transport made it for this one request (anonymous, of no connection, before any
    /// handshake or round), which it then becomes; a child of `self`'s connection otherwise.
    pub(crate) fn for_one_request(
        self: &Arc<Self>,
        out: &Outbound,
        round: InputRound,
        wire: Wire,
    ) -> Arc<Session> {
        let child = |round, wire| {
            Session::new_child(Arc::clone(&self.core), out.clone(), self, round, wire)
        };
        if self.serial.is_some() || self.parent.is_some() || self.peer.get().is_some() {
            return child(round, wire);
        }
        match self.round.set(Box::new(round)) {
            Ok(()) => {
                let _ = self.wire.set(wire);
                Arc::clone(self)
            }
            Err(round) => child(*round, wire),
        }
    }

    /// The connection's session.
    fn root(self: &Arc<Self>) -> &Arc<Session> {
        self.parent.as_ref().unwrap_or(self)
    }

    /// The requests to the client of a per-request request.
    pub(crate) fn round(&self) -> Option<&InputRound> {
        self.round.get().map(|round| &**round)
    }

    pub(crate) fn set_peer(
        &self,
        version: ProtocolVersion,
        info: Implementation,
        capabilities: impl Into<LazyObject>,
    ) {
        let _ = self.peer.set(Peer {
            version,
            info,
            capabilities: capabilities.into(),
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

    /// The connection's session id (a per-request request's session has none of its own).
    pub(crate) fn session_id(&self) -> Option<Arc<str>> {
        self.parent.as_deref().unwrap_or(self).id.get().cloned()
    }

    /// Notes the client's address (once).
    pub(crate) fn set_peer_addr(&self, addr: std::net::SocketAddr) {
        let _ = self.peer_addr.set(addr);
    }

    /// The client's address, when the transport has one.
    pub(crate) fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.parent
            .as_deref()
            .unwrap_or(self)
            .peer_addr
            .get()
            .copied()
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
        self.peer.get().map(|p| p.capabilities.get())
    }

    /// Treats the session as initialized at `version` without a handshake, for transports
    /// that serve each message with a fresh session (stateless HTTP). The client is unnamed.
    pub(crate) fn assume_initialized(&self, version: ProtocolVersion) {
        let _ = self.peer.set(Peer {
            version,
            info: Implementation::default(),
            capabilities: LazyObject::default(),
        });
    }

    /// How the session writes its responses.
    pub(crate) fn wire(&self) -> &Wire {
        static PLAIN: Wire = Wire::plain();
        self.wire.get().unwrap_or(&PLAIN)
    }

    /// The connection's own outbound sink.
    pub(crate) fn outbound(&self) -> &Outbound {
        &self.out
    }

    /// Sends bytes to the client.
    pub(crate) fn send(&self, bytes: Vec<u8>) {
        let _ = self.out.send(bytes);
    }

    /// Runs a [`Reply::Later`] on the runtime, as a request in flight (so that
    /// `notifications/cancelled` and [`Session::drain`] can stop it), and hands its response
    /// to `reply`. A cancelled request never calls `reply`.
    pub(crate) fn spawn_request(
        self: &Arc<Self>,
        id: RequestId,
        fut: PendingReply,
        reply: impl FnOnce(Encoded) + Send + 'static,
    ) {
        let session = Arc::clone(self);
        let task_id = id.clone();
        let mut in_flight = self.in_flight.lock().expect("in-flight map poisoned");
        if let Some(refusal) = self.refusal(&in_flight, &id) {
            drop(in_flight);
            reply(Encoded::error(Some(&id), &refusal));
            return;
        }
        let handle = tokio::spawn(async move {
            let outcome = CatchUnwind(fut).await;
            reply(session.settle(&task_id, outcome));
            session.finished(&task_id);
        });
        in_flight.insert(id, Stop::Task(handle.abort_handle()));
    }

    /// [`Session::spawn_request`] for a caller that runs the request on its own task (the
    /// in-memory client's `request`): the same admission, cancellation and drain, without a
    /// task of its own and the two thread hand-offs one costs (to a worker and back). `None`
    /// when the request was refused at once (through `reply`).
    pub(crate) fn inline_request(
        self: &Arc<Self>,
        id: RequestId,
        fut: PendingReply,
        reply: impl FnOnce(Encoded) + Send + 'static,
    ) -> Option<InlineRequest> {
        let mut in_flight = self.in_flight.lock().expect("in-flight map poisoned");
        if let Some(refusal) = self.refusal(&in_flight, &id) {
            drop(in_flight);
            reply(Encoded::error(Some(&id), &refusal));
            return None;
        }
        let stop = Arc::new(tokio::sync::Notify::new());
        in_flight.insert(id.clone(), Stop::Inline(Arc::clone(&stop)));
        drop(in_flight);
        let done = InlineDone {
            session: Arc::clone(self),
            id,
            stop: Arc::clone(&stop),
        };
        Some(InlineRequest(Some(Box::pin(async move {
            // `cancel` and `drain` take the entry out, then notify: a stored permit, so a
            // stop that comes before the first poll is seen too.
            let outcome = tokio::select! {
                biased;
                () = stop.notified() => None,
                outcome = CatchUnwind(fut) => Some(outcome),
            };
            if let Some(outcome) = outcome {
                reply(done.session.settle(&done.id, outcome));
            }
            drop(done);
        }))))
    }

    /// Why a request may not start: its id is already in flight, or the session is full.
    fn refusal(&self, in_flight: &HashMap<RequestId, Stop>, id: &RequestId) -> Option<ErrorObject> {
        if in_flight.contains_key(id) {
            // Two requests with one id raced past `handle_incoming`: the later one is refused.
            return Some(duplicate_id(id));
        }
        let max = self.core.limits.max_requests_in_flight;
        (in_flight.len() >= max).then(|| too_many_requests(max))
    }

    /// A finished request's response, or the error its handler's panic becomes.
    fn settle(&self, id: &RequestId, outcome: Result<Encoded, String>) -> Encoded {
        match outcome {
            Ok(bytes) => bytes,
            Err(panic) => Encoded::error(
                Some(id),
                &ErrorObject::internal(panic_text(
                    "the request handler",
                    &panic,
                    self.core.show_panic_details,
                )),
            ),
        }
    }

    /// Whether the session has as many requests in flight as it may.
    fn is_busy(&self) -> bool {
        self.in_flight.lock().expect("in-flight map poisoned").len()
            >= self.core.limits.max_requests_in_flight
    }

    /// Whether a request with this id is still running.
    fn is_in_flight(&self, id: &RequestId) -> bool {
        self.in_flight
            .lock()
            .expect("in-flight map poisoned")
            .contains_key(id)
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
        handle.stop();
        tracing::debug!(id = ?crate::escape::Escaped(&id.to_string()), "request cancelled by the client");
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
                h.stop();
            }
        }
    }

    /// Handles one incoming message; what a request says while it runs (progress, logging)
    /// goes to `out`.
    pub(crate) fn handle_message(self: &Arc<Self>, text: &str, out: &Outbound) -> Reply {
        match Incoming::parse(text) {
            Err(BadMessage { id, error }) => {
                tracing::debug!(error = %error, "unreadable message");
                Reply::Now(Encoded::error(id.as_ref(), &error))
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
            Incoming::Request { id, .. } if self.is_in_flight(&id) => {
                Reply::Now(Encoded::error(Some(&id), &duplicate_id(&id)))
            }
            Incoming::Request { id, .. } if self.is_busy() => Reply::Now(Encoded::error(
                Some(&id),
                &too_many_requests(self.core.limits.max_requests_in_flight),
            )),
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
            other => {
                tracing::debug!(method = ?crate::escape::Escaped(other), "notification ignored")
            }
        }
    }
}

impl Session {
    /// What a handler's `Context` is built from.
    pub(crate) fn request_parts(
        self: &Arc<Self>,
        id: &RequestId,
        meta: Option<LazyObject>,
        out: &Outbound,
    ) -> RequestParts {
        RequestParts {
            id: id.clone(),
            meta,
            session: Arc::clone(self),
            out: out.clone(),
            caller: self.caller(),
        }
    }
}

/// The refusal of a request whose id a request still in flight has: the older one stays
/// cancellable and is the only one answered with a result.
fn duplicate_id(id: &RequestId) -> ErrorObject {
    ErrorObject::new(
        crate::protocol::code::INVALID_REQUEST,
        format!(
            "request id {} is already used by a request in flight in this session; send each request with a new id",
            crate::escape::Escaped(&id.to_string())
        ),
    )
}

/// The refusal of a request beyond the session's budget of requests in flight.
pub(crate) fn too_many_requests(max: usize) -> ErrorObject {
    ErrorObject::new(
        crate::protocol::code::TOO_MANY_REQUESTS,
        format!(
            "too many requests in flight: this session may have {max} running at once; retry once some have finished"
        ),
    )
}

/// Runs a handler: `start` builds its future (a panic there is caught too); the answer is
/// sent now when the future is already done, and from a spawned task otherwise. `encode`
/// turns the outcome, or a panic's message, into the response.
pub(crate) fn run_handler<T: Send + 'static>(
    id: RequestId,
    start: impl FnOnce() -> HandlerFuture<T>,
    encode: impl FnOnce(&RequestId, Result<T, String>) -> Encoded + Send + 'static,
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

pub(crate) fn panicked(
    tool: &str,
    panic: &Box<dyn std::any::Any + Send>,
    show: bool,
) -> CallToolResult {
    panicked_msg(tool, &panic_message(panic), show)
}

pub(crate) fn panicked_msg(tool: &str, msg: &str, show: bool) -> CallToolResult {
    CallToolResult::error(panic_text(&format!("tool `{tool}`"), msg, show))
}

/// What the client is told of a panic in `what` (``tool `x` ``, ``prompt `x` ``…): that
/// there was an internal error, and the panic's message only when the server shows details
/// ([`Server::show_panic_details`](crate::Server::show_panic_details)). The log always has it.
pub(crate) fn panic_text(what: &str, msg: &str, show: bool) -> String {
    tracing::error!(what, panic = msg, "a handler panicked");
    if show {
        format!("internal error in {what}: {msg}")
    } else {
        format!("internal error in {what} (the server log has the details)")
    }
}

pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Runs a future, turning a panic into an error message.
pub(crate) struct CatchUnwind<F>(pub(crate) F);

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
pub(crate) struct Page(pub(crate) Box<RawValue>);

impl Serialize for Page {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Parses required params.
pub(crate) fn parse_params<'a, T: Deserialize<'a>>(
    params: Option<&'a RawValue>,
) -> Result<T, ErrorObject> {
    let raw =
        params.ok_or_else(|| ErrorObject::invalid_params("Invalid params: missing `params`"))?;
    serde_json::from_str(raw.get()).map_err(|e| {
        // Only this error path reads the params again, tracking where the failure lies, so
        // that the message names the field (`arguments`, `_meta.progressToken`).
        let mut again = serde_json::Deserializer::from_str(raw.get());
        let mut path = String::new();
        if let Err(tracked) = serde_path_to_error::deserialize::<_, T>(&mut again) {
            crate::server::handlers::call::push_path(&mut path, tracked.path());
        }
        if path.is_empty() {
            ErrorObject::invalid_params(format!("Invalid params: {e}"))
        } else {
            ErrorObject::invalid_params(format!("Invalid params: `{path}`: {e}"))
        }
    })
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

#[derive(Deserialize)]
struct SetLevelParams {
    level: LogLevel,
}

impl Session {
    pub(crate) fn set_log_level(&self, params: Option<&RawValue>) -> Result<(), ErrorObject> {
        let p: SetLevelParams = parse_params(params)?;
        self.log_level.store(p.level as u8, Ordering::Relaxed);
        Ok(())
    }

    /// The least severe level the client wants to hear.
    pub(crate) fn min_log_level(&self) -> LogLevel {
        LogLevel::from_u8(self.log_level.load(Ordering::Relaxed))
    }

    /// Whether the client declared a capability (`"sampling"`, `"roots"`, `"elicitation"`).
    pub(crate) fn client_has(&self, capability: &str) -> bool {
        self.client_capabilities()
            .and_then(|c| c.get(capability))
            .is_some_and(|v| !v.is_null())
    }

    /// Sends a request to the client on `out` and waits for its answer.
    pub(crate) async fn request_client<P: Serialize, R: DeserializeOwned>(
        &self,
        out: &Outbound,
        method: &'static str,
        params: &P,
        timeout: Duration,
    ) -> Result<R, ClientRequestError> {
        let id = RequestId::Number(self.outgoing.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let bytes = encode_request(Some(&id), method, Some(params)).map_err(|e| {
            ClientRequestError::InvalidResponse {
                method,
                message: format!("the request could not be serialized: {e}"),
            }
        })?;
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = self
                .outgoing
                .waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let max = self.core.limits.max_client_requests;
            if waiting.len() >= max {
                return Err(ClientRequestError::InvalidRequest {
                    method,
                    message: format!(
                        "{max} requests to the client already await their answers, as many as a session may"
                    ),
                });
            }
            waiting.insert(id.clone(), tx);
        }
        // Forget the request however this future ends: answered, timed out or dropped.
        struct Forget<'a>(&'a Outgoing, &'a RequestId);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                self.0.forget(self.1);
            }
        }
        let _forget = Forget(&self.outgoing, &id);
        if out.send(bytes).is_err() {
            return Err(ClientRequestError::Disconnected { method });
        }
        let answer = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Answer::Client(answer))) => answer,
            Ok(Ok(Answer::Undeliverable)) => {
                return Err(ClientRequestError::NoStream { method });
            }
            Ok(Err(_)) => return Err(ClientRequestError::Disconnected { method }),
            Err(_) => {
                let mut params = Map::new();
                params.insert(
                    "requestId".into(),
                    serde_json::to_value(&id).unwrap_or_default(),
                );
                params.insert("reason".into(), Value::String("timed out".into()));
                if let Ok(bytes) = encode_request(None, "notifications/cancelled", Some(&params)) {
                    let _ = out.send(bytes);
                }
                return Err(ClientRequestError::Timeout {
                    method,
                    after: timeout,
                });
            }
        };
        let raw = answer.map_err(|error| ClientRequestError::Rejected { method, error })?;
        serde_json::from_str(raw.get()).map_err(|e| ClientRequestError::InvalidResponse {
            method,
            message: e.to_string(),
        })
    }
}
