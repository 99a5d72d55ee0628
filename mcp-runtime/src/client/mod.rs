//! An MCP client: in-memory against a [`Server`] in the same process (for tests), over stdio
//! against a server process, or over streamable HTTP against a server's URL
//! ([`Client::connect_http`]).
//!
//! ```rust,standalone_crate
//! use mcp_runtime::prelude::*;
//! use serde_json::json;
//!
//! /// Add two integers.
//! #[tool]
//! fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! let client = Client::connect(Server::new("calc")).await?;
//! let result = client.call_tool("add", json!({"a": 2, "b": 3})).await?;
//! assert_eq!(result.structured_content, Some(json!({"result": 5})));
//! # Ok(())
//! # }
//! ```
//!
//! # Revision 2026-07-28
//!
//! With [`ClientOptions::protocol_version`] set to `2026-07-28` the client speaks the revision
//! without a handshake, over every transport:
//!
//! - connecting asks `server/discover` instead of sending `initialize`;
//!   [`Client::server_info`], [`Client::server_capabilities`] and
//!   [`Client::initialize_result`] answer from it. A server that does not speak the revision
//!   is refused with [`ClientError::UnsupportedRevision`], which lists those it does.
//! - every request carries the revision, [`ClientOptions::capabilities`] and
//!   [`ClientOptions::client_info`] in its `_meta`, and on HTTP the `MCP-Protocol-Version`,
//!   `Mcp-Method` and `Mcp-Name` headers, plus the `Mcp-Param-*` headers of the arguments a
//!   tool's schema mirrors into headers (`x-mcp-header`, learnt from `tools/list`: list the
//!   tools before calling one of those); there is no session.
//! - a result of type `input_required` is answered by [`ClientOptions::on_request`], as
//!   the server's requests are under a handshake revision, and the request is sent again
//!   with the answers until its result is complete (at most [`MAX_INPUT_ROUNDS`] rounds).
//!   Callers see complete results only, without `resultType`, as under a handshake
//!   revision.
//! - [`Client::set_log_level`] puts a log level in the `_meta` of later requests;
//!   [`Client::listen`] opens a `subscriptions/listen`, whose notifications arrive through
//!   [`Client::next_notification`]; [`Client::cancel`] cancels either (on HTTP, by closing
//!   the request's stream).
//!
//! ```rust,standalone_crate
//! use mcp_runtime::prelude::*;
//! use mcp_runtime::server::ElicitationResponse;
//! use mcp_runtime::{ClientOptions, ServerRequestHandler};
//! use serde_json::json;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema, Form)]
//! struct Name {
//!     name: String,
//! }
//!
//! /// Greet the user by name.
//! #[tool]
//! async fn greet(ctx: Context) -> Result<String, ToolError> {
//!     match ctx.elicit::<Name>("What is your name?").await? {
//!         ElicitationResponse::Accept(n) => Ok(format!("Hello, {}!", n.name)),
//!         _ => Ok("Hello, stranger!".into()),
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! let options = ClientOptions {
//!     protocol_version: "2026-07-28".into(),
//!     capabilities: json!({"elicitation": {}}).as_object().cloned().unwrap_or_default(),
//!     // Answers the server's `inputRequests`: here, every elicitation with "Ada".
//!     on_request: Some(ServerRequestHandler::new(|_method, _params| {
//!         Box::pin(async { Ok(json!({"action": "accept", "content": {"name": "Ada"}})) })
//!     })),
//!     ..ClientOptions::default()
//! };
//! let client = Client::connect_with(Server::new("greeter"), options).await?;
//! assert_eq!(client.protocol_version(), "2026-07-28");
//! let result = client.call_tool("greet", json!({})).await?;
//! assert_eq!(result.structured_content, Some(json!({"result": "Hello, Ada!"})));
//! # Ok(())
//! # }
//! ```

mod cache;
mod catalog;
mod elicitation;
mod helpers;
mod per_request;
#[cfg(feature = "skills")]
mod skills;
#[cfg(feature = "skills")]
pub use skills::{ListSkillsResult, LoadedSkill};

use std::collections::HashMap;
use std::fmt;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use crate::Server;
use crate::protocol::{
    CallToolResult, ErrorObject, Implementation, Incoming, InitializeResult, JsonObject,
    ListToolsResult, ProtocolVersion, RequestId, Tool, encode_error, encode_request, encode_result,
};
use crate::server::dispatch::session::InlineRequest;
use crate::server::dispatch::session::Session;
use crate::transport::DEFAULT_MAX_MESSAGE_SIZE;
use crate::transport::lines::{
    DRAIN_DEADLINE, Line, answer_line, answer_line_inline, read_line_async,
};

#[cfg(feature = "client-http")]
pub(crate) mod http;
#[cfg(feature = "client-http")]
mod http_tap;
#[cfg(feature = "client-oauth")]
pub mod oauth;

pub use helpers::ProgressCall;
#[cfg(feature = "client-http")]
pub use http::HttpClientOptions;
#[cfg(feature = "client-http")]
use http::HttpTransport;
#[cfg(feature = "client-http")]
pub use http_tap::{HttpExchange, HttpTap};
pub use per_request::{ListenFilter, MAX_INPUT_ROUNDS, Subscription};
use per_request::{PerRequest, Tracked};

/// Why a client call failed.
#[derive(Debug)]
pub enum ClientError {
    /// The server answered with a JSON-RPC error.
    Rpc(ErrorObject),
    /// The connection closed before the answer came.
    Closed,
    /// The server sent something this client could not understand.
    Protocol(String),
    /// Starting or talking to the server process failed.
    Io(std::io::Error),
    /// The server does not speak the revision the client asked for (2026-07-28, which has
    /// no negotiation); `supported` lists those it does, when it said.
    UnsupportedRevision {
        /// The revision asked for.
        requested: String,
        /// The revisions the server speaks, newest first; empty when it did not say.
        supported: Vec<String>,
    },
    /// The client's own handler of a server's request (an `input_required` round) failed,
    /// so the request that needed its answer was abandoned.
    Input {
        /// The server's request, e.g. `sampling/createMessage`.
        method: String,
        /// What the handler answered.
        error: ErrorObject,
    },
    /// The call cannot be made as asked, e.g. one the revision in use does not have.
    Usage(String),
    /// A skill file does not match the skill's entry (skills extension): its size or
    /// digest differs from the manifest, or a `SKILL.md`'s front matter from the entry's.
    /// Its content was not used.
    SkillVerification {
        /// The file.
        uri: String,
        /// What differs.
        reason: String,
    },
}

impl ClientError {
    /// The JSON-RPC error, when the server sent one.
    pub fn rpc(&self) -> Option<&ErrorObject> {
        match self {
            ClientError::Rpc(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Rpc(e) => write!(f, "the server answered with an error: {e}"),
            ClientError::Closed => f.write_str("the connection to the server closed"),
            ClientError::Protocol(m) => write!(f, "unexpected message from the server: {m}"),
            ClientError::Io(e) => write!(f, "I/O error talking to the server: {e}"),
            ClientError::UnsupportedRevision {
                requested,
                supported,
            } if supported.is_empty() => write!(
                f,
                "the server does not speak revision {requested} (it does not answer `server/discover`): connect with a handshake revision such as {}",
                ProtocolVersion::LATEST
            ),
            ClientError::UnsupportedRevision {
                requested,
                supported,
            } => write!(
                f,
                "the server does not speak revision {requested}; it supports {}: connect with one of those",
                supported.join(", ")
            ),
            ClientError::Input { method, error } => write!(
                f,
                "the client's answer to the server's `{method}` failed ({error}), so the request that needed it was abandoned"
            ),
            ClientError::Usage(m) => f.write_str(m),
            ClientError::SkillVerification { uri, reason } => write!(
                f,
                "the skill file `{uri}` failed verification and was not used: {reason}"
            ),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e)
    }
}

/// A notification the server sent.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Its method, e.g. `notifications/progress`.
    pub method: String,
    /// Its params.
    pub params: Value,
}

impl Notification {
    /// The `subscriptions/listen` request this notification belongs to (revision
    /// 2026-07-28), from `_meta["io.modelcontextprotocol/subscriptionId"]`.
    pub fn subscription_id(&self) -> Option<RequestId> {
        self.params
            .get("_meta")?
            .get(per_request::SUBSCRIPTION_ID)
            .and_then(|v| serde::Deserialize::deserialize(v).ok())
    }
}

/// How the client introduces itself.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The revision to ask for. A handshake revision (`2025-11-25`, the default, and older)
    /// is negotiated with `initialize`; `2026-07-28` has no handshake: see
    /// [the module's documentation](self#revision-2026-07-28).
    pub protocol_version: String,
    /// Who the client is.
    pub client_info: Implementation,
    /// What the client supports.
    pub capabilities: JsonObject,
    /// Answers the server's requests (`sampling/createMessage`, `elicitation/create`,
    /// `roots/list`…); without one, they get "method not found". Declare the matching
    /// `capabilities` too. Under 2026-07-28 it answers the `inputRequests` of
    /// `input_required` results the same way.
    pub on_request: Option<ServerRequestHandler>,
    /// Sees every JSON-RPC message, as sent and as received, before anything else does:
    /// for protocol logs and inspectors.
    pub on_message: Option<MessageTap>,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the server.
    Sent,
    /// From the server to the client.
    Received,
}

/// Watches the messages of a connection: gets each one's direction and bytes (one JSON-RPC
/// message, without the line feed). It runs on the connection's tasks, so it should be quick.
#[derive(Clone)]
pub struct MessageTap(pub Arc<TapFn>);

/// What a [`MessageTap`] calls.
pub type TapFn = dyn Fn(Direction, &[u8]) + Send + Sync;

impl MessageTap {
    /// A tap from a closure.
    pub fn new(f: impl Fn(Direction, &[u8]) + Send + Sync + 'static) -> Self {
        MessageTap(Arc::new(f))
    }
}

impl fmt::Debug for MessageTap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageTap")
    }
}

/// The future of an answer to a server's request.
pub type ServerRequestFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, ErrorObject>> + Send>>;

/// Answers requests from the server: gets the method and params, returns the result.
#[derive(Clone)]
pub struct ServerRequestHandler(
    pub Arc<dyn Fn(String, Value) -> ServerRequestFuture + Send + Sync>,
);

impl ServerRequestHandler {
    /// A handler from a closure.
    pub fn new(f: impl Fn(String, Value) -> ServerRequestFuture + Send + Sync + 'static) -> Self {
        ServerRequestHandler(Arc::new(f))
    }
}

impl fmt::Debug for ServerRequestHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerRequestHandler")
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            protocol_version: ProtocolVersion::LATEST.as_str().into(),
            client_info: Implementation {
                name: "mcp-runtime-client".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ..Default::default()
            },
            capabilities: JsonObject::new(),
            on_request: None,
            on_message: None,
        }
    }
}

/// A request's answer as its text: the request that waits for it reads it straight into the
/// type it wants, with no `Value` in between.
type Answer = oneshot::Sender<Result<Box<RawValue>, ErrorObject>>;
type AnswerRx = oneshot::Receiver<Result<Box<RawValue>, ErrorObject>>;

enum Link {
    Memory(Arc<MemoryLink>),
    /// A queue drained by a writer task: a child's stdin, or HTTP POSTs.
    Queue(mpsc::UnboundedSender<Vec<u8>>),
}

/// What the client's tasks share: the requests waiting for answers, and for a client of
/// 2026-07-28, what it adds to each request.
struct Shared {
    pending: Mutex<HashMap<RequestId, Answer>>,
    next_id: AtomicI64,
    tap: Option<MessageTap>,
    /// Set once the connection is gone; no request can wait for an answer after that.
    closed: AtomicBool,
    /// The connection, held weakly: dropping the client closes it, whatever still runs.
    link: WeakLink,
    per_request: Option<Arc<PerRequest>>,
    // Caching hints (issue 16).
    /// Results kept as their `ttlMs` allows (2026-07-28 only).
    cache: Option<cache::Cache>,
}

impl Shared {
    fn next_id(&self) -> RequestId {
        RequestId::Number(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Waits for the answer to `id`; fails at once when the connection is already gone.
    fn expect(&self, id: &RequestId) -> Result<AnswerRx, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .expect("pending map poisoned")
            .insert(id.clone(), tx);
        if self.closed.load(Ordering::SeqCst) {
            self.pending
                .lock()
                .expect("pending map poisoned")
                .remove(id);
            return Err(ClientError::Closed);
        }
        Ok(rx)
    }

    /// A new request id and the receiver of its answer.
    fn register(&self) -> Result<(RequestId, AnswerRx), ClientError> {
        let id = self.next_id();
        let rx = self.expect(&id)?;
        Ok((id, rx))
    }

    /// Sends through the weakly held link (for requests a round of `input_required` makes).
    async fn send(&self, bytes: Vec<u8>) -> Result<(), ClientError> {
        let Some(link) = self.link.upgrade() else {
            return Err(ClientError::Closed);
        };
        if let Some(tap) = &self.tap {
            (tap.0)(Direction::Sent, &bytes);
        }
        if link.send(bytes).await {
            Ok(())
        } else {
            Err(ClientError::Closed)
        }
    }
}

/// What [`Client::prepare`] leaves for [`Client::finish`].
struct Parts {
    shared: Arc<Shared>,
    note_rx: mpsc::UnboundedReceiver<Notification>,
    reply_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    per_request: bool,
    options: ClientOptions,
}

/// Takes each message from the server: answers go to the requests waiting for them,
/// notifications to [`Client::next_notification`], requests to
/// [`ClientOptions::on_request`]. Dropped, it wakes every request still waiting: the
/// connection is gone.
struct Inbox {
    shared: Arc<Shared>,
    on_request: Option<ServerRequestHandler>,
    note_tx: mpsc::UnboundedSender<Notification>,
    reply_tx: mpsc::UnboundedSender<Vec<u8>>,
    runtime: tokio::runtime::Handle,
}

impl Inbox {
    /// Handles one message; gives it back once the client is gone.
    fn take(&self, bytes: Vec<u8>) -> Result<(), Vec<u8>> {
        if self.note_tx.is_closed() {
            return Err(bytes);
        }
        let reader = &self.shared;
        if let Some(tap) = &reader.tap {
            (tap.0)(Direction::Received, &bytes);
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Ok(());
        };
        match Incoming::parse(text) {
            Ok(Incoming::Response { id, result }) => {
                let waiter = reader
                    .pending
                    .lock()
                    .expect("pending map poisoned")
                    .remove(&id);
                if let Some(tx) = waiter {
                    let _ = tx.send(result.map(RawValue::to_owned));
                }
            }
            Ok(Incoming::Notification { method, params }) => {
                let params = params
                    .and_then(|p| serde_json::from_str(p.get()).ok())
                    .unwrap_or(Value::Null);
                if method == per_request::ACKNOWLEDGED
                    && let Some(m) = &reader.per_request
                {
                    m.acknowledged(&params);
                }
                if let Some(c) = &reader.cache {
                    c.notified(&method, &params);
                }
                let _ = self.note_tx.send(Notification {
                    method: method.into_owned(),
                    params,
                });
            }
            Ok(Incoming::Request { id, method, params }) => match &self.on_request {
                Some(handler) => {
                    let params = params
                        .and_then(|p| serde_json::from_str(p.get()).ok())
                        .unwrap_or(Value::Null);
                    let answer = (handler.0)(method.into_owned(), params);
                    let reply_tx = self.reply_tx.clone();
                    self.runtime.spawn(async move {
                        let bytes = match answer.await {
                            Ok(result) => encode_result(&id, &result),
                            Err(e) => encode_error(Some(&id), &e),
                        };
                        let _ = reply_tx.send(bytes);
                    });
                }
                None => {
                    let _ = self.reply_tx.send(encode_error(
                        Some(&id),
                        &ErrorObject::method_not_found(&method),
                    ));
                }
            },
            Err(bad) => {
                tracing::warn!(error = %bad.error, "unreadable message from the server");
            }
        }
        Ok(())
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // A request registered after this sees the flag and fails at once.
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// The result a request's answer carries, as its text, or its error.
async fn wait_raw(rx: AnswerRx) -> Result<Box<RawValue>, ClientError> {
    match rx.await {
        Ok(Ok(raw)) => Ok(raw),
        Ok(Err(e)) => Err(ClientError::Rpc(e)),
        Err(_) => Err(ClientError::Closed),
    }
}

/// The result a request's answer carries, or its error.
async fn wait_answer(rx: AnswerRx) -> Result<Value, ClientError> {
    let raw = wait_raw(rx).await?;
    serde_json::from_str(raw.get())
        .map_err(|e| ClientError::Rpc(ErrorObject::internal(e.to_string())))
}

/// A request sent, and what its answer still needs: under 2026-07-28, the rounds of
/// `input_required`.
struct Answered {
    rx: AnswerRx,
    rounds: Option<Rounds>,
}

/// What a 2026-07-28 request needs to be sent again with the answers to its input requests.
struct Rounds {
    shared: Arc<Shared>,
    per_request: Arc<PerRequest>,
    tracked: Tracked,
    method: String,
    params: Value,
}

impl Answered {
    async fn wait(self) -> Result<Value, ClientError> {
        let value = wait_answer(self.rx).await?;
        match self.rounds {
            None => Ok(value),
            Some(r) => {
                per_request::finish(
                    r.shared,
                    r.per_request,
                    r.tracked,
                    r.method,
                    r.params,
                    value,
                )
                .await
            }
        }
    }
}

/// A connected MCP client.
pub struct Client {
    link: Link,
    shared: Arc<Shared>,
    notifications: tokio::sync::Mutex<mpsc::UnboundedReceiver<Notification>>,
    init: InitializeResult,
    child: Option<tokio::sync::Mutex<Child>>,
    #[cfg(feature = "client-http")]
    http: Option<Arc<HttpTransport>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.init.server_info.name)
            .field("protocol_version", &self.init.protocol_version)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `server` in this process and completes the handshake (under 2026-07-28,
    /// asks `server/discover`).
    pub async fn connect(server: Server) -> Result<Client, ClientError> {
        Self::connect_with(server, ClientOptions::default()).await
    }

    /// [`Client::connect`] with options.
    pub async fn connect_with(
        server: Server,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        Self::connect_inner(server, options, crate::Principal::local()).await
    }

    /// [`Client::connect`] calling as `principal` instead of [`Principal::local`]: what the
    /// server's scopes and [`Server::authorize`] rules let that caller see and do, as over
    /// HTTP, without a network. For tests of authorization.
    ///
    /// [`Principal::local`]: crate::Principal::local
    /// [`Server::authorize`]: crate::Server::authorize
    pub async fn connect_as(
        server: Server,
        principal: crate::Principal,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        Self::connect_inner(server, options, principal).await
    }

    async fn connect_inner(
        server: Server,
        options: ClientOptions,
        principal: crate::Principal,
    ) -> Result<Client, ClientError> {
        let (core, teardown) = server
            .start()
            .await
            .map_err(|e| ClientError::Protocol(format!("{e:#}")))?;
        // The client's messages are answered on the task that sends them, and the session
        // hands its own straight to the client's inbox: no queue and no task between the two
        // sides but the one each request runs in.
        let (ended_tx, ended_rx) = oneshot::channel::<()>();
        // Set before the first message can come: the server speaks only when spoken to.
        let inbox = Arc::new(std::sync::OnceLock::<Inbox>::new());
        let taker = Arc::clone(&inbox);
        let out = crate::server::dispatch::outbound::Outbound::direct(Arc::new(
            move |message: Vec<u8>| match taker.get() {
                Some(inbox) => inbox.take(message),
                None => Err(message),
            },
        ));
        let session = Session::new_for(core, out, principal);
        let link = Link::Memory(Arc::new(MemoryLink {
            session: Arc::clone(&session),
            _open: ended_tx,
        }));
        let (client_inbox, parts) = Self::prepare(&link, options);
        let _ = inbox.set(client_inbox);
        // Once the client is gone: what is still running gets its deadline, then the server
        // stops.
        tokio::spawn(async move {
            let _ = ended_rx.await;
            session.drain(DRAIN_DEADLINE).await;
            drop(session);
            teardown.run().await;
        });
        Self::finish(link, parts, None).await
    }

    /// Starts a server process and talks to it over its stdin and stdout. Its stderr is
    /// inherited, with its log at `warn` unless `RUST_LOG` is set here or on the command.
    pub async fn spawn(command: Command) -> Result<Client, ClientError> {
        Self::spawn_with(command, ClientOptions::default()).await
    }

    /// [`Client::spawn`] with options.
    pub async fn spawn_with(
        mut command: Command,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        // The server's log stays quiet (warnings and errors) unless asked for: `RUST_LOG` in
        // this process's environment or set on the command.
        let asked = std::env::var_os("RUST_LOG").is_some()
            || command.as_std().get_envs().any(|(k, _)| k == "RUST_LOG");
        if !asked {
            command.env("RUST_LOG", "warn");
        }
        let mut child = command.spawn()?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (to_tx, mut to_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Some(mut msg) = to_rx.recv().await {
                msg.push(b'\n');
                if stdin.write_all(&msg).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        let (from_tx, from_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            while let Ok(Some(line)) =
                read_line_async(&mut reader, &mut buf, DEFAULT_MAX_MESSAGE_SIZE).await
            {
                if let Line::Message(m) = line
                    && from_tx.send(m).is_err()
                {
                    break;
                }
            }
        });
        Self::start(Link::Queue(to_tx), from_rx, Some(child), options).await
    }

    /// Connects to a server's streamable HTTP endpoint (e.g. `http://127.0.0.1:8000/mcp`) and
    /// completes the handshake.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), mcp_runtime::ClientError> {
    /// use mcp_runtime::{Client, ClientOptions, HttpClientOptions};
    ///
    /// let client = Client::connect_http_with(
    ///     "http://127.0.0.1:8000/mcp",
    ///     HttpClientOptions::default().header("Authorization", "Bearer s3cret"),
    ///     ClientOptions::default(),
    /// )
    /// .await?;
    /// println!("{:?}", client.list_all_tools().await?);
    /// client.close().await // ends the session
    /// # }
    /// ```
    #[cfg(feature = "client-http")]
    pub async fn connect_http(url: &str) -> Result<Client, ClientError> {
        Self::connect_http_with(url, HttpClientOptions::default(), ClientOptions::default()).await
    }

    /// [`Client::connect_http`] with options: extra headers, CAs to trust for `https://`, and
    /// how to introduce the client.
    #[cfg(feature = "client-http")]
    pub async fn connect_http_with(
        url: &str,
        http: HttpClientOptions,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        let (from_tx, from_rx) = mpsc::unbounded_channel();
        let per_request = per_request::is_per_request(&options.protocol_version)
            .then_some(options.protocol_version.as_str());
        let transport = Arc::new(HttpTransport::new(url, &http, from_tx, per_request)?);
        let (to_tx, to_rx) = mpsc::unbounded_channel();
        tokio::spawn(Arc::clone(&transport).write(to_rx));
        let mut client = match Self::start(Link::Queue(to_tx), from_rx, None, options).await {
            Ok(c) => c,
            // The first request never reached the server: that, not its error answer, is
            // what went wrong.
            Err(e) => return Err(transport.take_unreachable().map_or(e, ClientError::Io)),
        };
        client.http = Some(transport);
        Ok(client)
    }

    /// The HTTP session id the server issued, for a client connected with
    /// [`Client::connect_http`] to a server that keeps sessions.
    #[cfg(feature = "client-http")]
    pub fn session_id(&self) -> Option<String> {
        self.http.as_ref().and_then(|h| h.session_id())
    }

    async fn start(
        link: Link,
        mut from_server: mpsc::UnboundedReceiver<Vec<u8>>,
        child: Option<Child>,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        let (inbox, parts) = Self::prepare(&link, options);
        tokio::spawn(async move {
            while let Some(bytes) = from_server.recv().await {
                let _ = inbox.take(bytes);
            }
            // Dropping the inbox wakes everyone still waiting: the connection is gone.
        });
        Self::finish(link, parts, child).await
    }

    /// What a client shares between its tasks, and the inbox that takes the server's
    /// messages: from a reader task, or for an in-memory server, straight from the session.
    fn prepare(link: &Link, mut options: ClientOptions) -> (Inbox, Parts) {
        options.on_request = options.on_request.map(elicitation::with_defaults);
        let per_request = per_request::is_per_request(&options.protocol_version);
        let link_sender = match link {
            Link::Memory(tx) => LinkSender::Memory(tx.clone()),
            Link::Queue(tx) => LinkSender::Queue(tx.clone()),
        };
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicI64::new(0),
            tap: options.on_message.clone(),
            closed: AtomicBool::new(false),
            link: link_sender.downgrade(),
            per_request: per_request.then(|| {
                Arc::new(PerRequest::new(
                    options.protocol_version.clone(),
                    &options.capabilities,
                    &options.client_info,
                    options.on_request.clone(),
                ))
            }),
            cache: per_request.then(cache::Cache::default),
        });
        let (note_tx, note_rx) = mpsc::unbounded_channel();
        let (reply_tx, reply_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let inbox = Inbox {
            shared: Arc::clone(&shared),
            on_request: options.on_request.clone(),
            note_tx,
            reply_tx,
            runtime: tokio::runtime::Handle::current(),
        };
        let parts = Parts {
            shared,
            note_rx,
            reply_rx,
            per_request,
            options,
        };
        (inbox, parts)
    }

    /// Starts the task that sends answers to the server's requests, and completes the
    /// handshake (or, under 2026-07-28, the discovery).
    async fn finish(link: Link, parts: Parts, child: Option<Child>) -> Result<Client, ClientError> {
        let Parts {
            shared,
            note_rx,
            mut reply_rx,
            per_request,
            options,
        } = parts;
        // Answers to server requests go out through the same link; held weakly, so that
        // dropping the client still closes the connection.
        let replies = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Some(bytes) = reply_rx.recv().await {
                if replies.send(bytes).await.is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            link,
            shared,
            notifications: tokio::sync::Mutex::new(note_rx),
            init: InitializeResult {
                protocol_version: String::new(),
                capabilities: JsonObject::new(),
                server_info: Implementation::default(),
                instructions: None,
            },
            child: child.map(tokio::sync::Mutex::new),
            #[cfg(feature = "client-http")]
            http: None,
        };
        if per_request {
            client.init = per_request::discover(&client, &options.protocol_version).await?;
            return Ok(client);
        }
        let init: InitializeResult = client
            .request(
                "initialize",
                &json!({
                    "protocolVersion": options.protocol_version,
                    "capabilities": options.capabilities,
                    "clientInfo": options.client_info,
                }),
            )
            .await?;
        client.init = init;
        client
            .notify("notifications/initialized", &json!({}))
            .await?;
        Ok(client)
    }

    fn link_sender(&self) -> LinkSender {
        match &self.link {
            Link::Memory(tx) => LinkSender::Memory(tx.clone()),
            Link::Queue(tx) => LinkSender::Queue(tx.clone()),
        }
    }

    async fn send(&self, bytes: Vec<u8>) -> Result<(), ClientError> {
        if let Some(tap) = &self.shared.tap {
            (tap.0)(Direction::Sent, &bytes);
        }
        if self.link_sender().send(bytes).await {
            Ok(())
        } else {
            Err(ClientError::Closed)
        }
    }

    /// The server's `initialize` result; under 2026-07-28, the same facts from
    /// `server/discover` (with the revision in use as `protocol_version`).
    pub fn initialize_result(&self) -> &InitializeResult {
        &self.init
    }

    /// The server's name and version.
    pub fn server_info(&self) -> &Implementation {
        &self.init.server_info
    }

    /// The server's capabilities.
    pub fn server_capabilities(&self) -> &JsonObject {
        &self.init.capabilities
    }

    /// The negotiated revision.
    pub fn protocol_version(&self) -> &str {
        &self.init.protocol_version
    }

    /// Whether the client speaks a revision without a handshake (2026-07-28), where each
    /// request carries the client's identity in its `_meta`.
    pub fn is_per_request(&self) -> bool {
        self.shared.per_request.is_some()
    }

    /// Sends a request and waits for its result.
    ///
    /// Under 2026-07-28, lists and reads whose results carry `ttlMs` are answered from the
    /// client's cache until it passes or the server notifies a change
    /// ([`Client::clear_cache`] forgets them at once).
    pub async fn request<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R, ClientError> {
        if self.shared.per_request.is_none() {
            // No rounds and no cache: the answer's text goes straight into `R`.
            // Sent and waited for at once: an in-memory server's request runs on this task.
            let id = self.shared.next_id();
            let bytes = encode_request(Some(&id), method, Some(params))
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            let rx = self.shared.expect(&id)?;
            if let Some(tap) = &self.shared.tap {
                (tap.0)(Direction::Sent, &bytes);
            }
            let Some(job) = self.link_sender().send_inline(bytes).await else {
                return Err(ClientError::Closed);
            };
            let raw = match (Running { job, rx }).await {
                Ok(Ok(raw)) => raw,
                Ok(Err(e)) => return Err(ClientError::Rpc(e)),
                Err(_) => return Err(ClientError::Closed),
            };
            return serde_json::from_str(raw.get())
                .map_err(|e| ClientError::Protocol(format!("{method} result: {e}")));
        }
        let cached = match &self.shared.cache {
            Some(c) if cache::cacheable(method) => {
                let params = serde_json::to_value(params)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
                let key = cache::key(method, &params);
                if let Some(hit) = c.get(&key) {
                    return serde_json::from_value(hit)
                        .map_err(|e| ClientError::Protocol(format!("{method} result: {e}")));
                }
                Some((key, params))
            }
            _ => None,
        };
        let (_, fut) = self.start_request(method, params).await?;
        let value = fut.await?;
        if let (Some((key, params)), Some(c)) = (cached, &self.shared.cache) {
            c.put(key, method, &params, &value);
        }
        serde_json::from_value(value)
            .map_err(|e| ClientError::Protocol(format!("{method} result: {e}")))
    }

    /// Forgets the results kept as the server's caching hints allowed.
    pub fn clear_cache(&self) {
        if let Some(c) = &self.shared.cache {
            c.clear();
        }
    }

    /// Sends a request and returns its id at once, with a future of its result; the id can be
    /// given to [`Client::cancel`].
    ///
    /// Under 2026-07-28 the params get the client's `_meta` (keys the caller put there are
    /// kept), and the future answers `input_required` results through
    /// [`ClientOptions::on_request`], sending the request again until its result is
    /// complete; the id stays the one to cancel.
    pub async fn start_request<P: Serialize>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<
        (
            RequestId,
            impl Future<Output = Result<Value, ClientError>> + use<P>,
        ),
        ClientError,
    > {
        self.start_request_with(method, params, &mut |_| {}).await
    }

    /// [`Client::start_request`], calling `before_send` with the id before the request goes.
    async fn start_request_with<P: Serialize>(
        &self,
        method: &str,
        params: &P,
        before_send: &mut (dyn FnMut(&RequestId) + Send),
    ) -> Result<
        (
            RequestId,
            impl Future<Output = Result<Value, ClientError>> + use<P>,
        ),
        ClientError,
    > {
        let Some(per_request) = &self.shared.per_request else {
            let (id, rx) = self.send_request(method, params, before_send).await?;
            return Ok((id, Answered { rx, rounds: None }.wait()));
        };
        let id = self.shared.next_id();
        let stamped = per_request.stamp(params)?;
        let bytes = encode_request(Some(&id), method, Some(&stamped))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let rx = self.shared.expect(&id)?;
        let tracked = per_request.track(&id);
        before_send(&id);
        self.send(bytes).await?;
        let rounds = Rounds {
            shared: Arc::clone(&self.shared),
            per_request: Arc::clone(per_request),
            tracked,
            method: method.to_string(),
            params: stamped,
        };
        Ok((
            id,
            Answered {
                rx,
                rounds: Some(rounds),
            }
            .wait(),
        ))
    }

    /// Sends a request of a client without per-request rounds, calling `before_send` with its
    /// id first; its id, and the receiver of its answer.
    async fn send_request<P: Serialize>(
        &self,
        method: &str,
        params: &P,
        before_send: &mut (dyn FnMut(&RequestId) + Send),
    ) -> Result<(RequestId, AnswerRx), ClientError> {
        let id = self.shared.next_id();
        let bytes = encode_request(Some(&id), method, Some(params))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let rx = self.shared.expect(&id)?;
        before_send(&id);
        self.send(bytes).await?;
        Ok((id, rx))
    }

    /// Sends a notification.
    pub async fn notify<P: Serialize>(&self, method: &str, params: &P) -> Result<(), ClientError> {
        let bytes = encode_request(None, method, Some(params))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.send(bytes).await
    }

    /// Asks the server to cancel a request (one sent with [`Client::start_request`], or a
    /// [`Subscription`]); its future ends with [`ClientError::Closed`]. Under 2026-07-28 over
    /// HTTP, closing the request's stream is the cancellation.
    pub async fn cancel(&self, id: &RequestId, reason: &str) -> Result<(), ClientError> {
        let current = match &self.shared.per_request {
            Some(m) => m.untrack(id),
            None => id.clone(),
        };
        self.shared
            .pending
            .lock()
            .expect("pending map poisoned")
            .remove(&current);
        #[cfg(feature = "client-http")]
        if let (Some(_), Some(http)) = (&self.shared.per_request, &self.http) {
            http.abort(&current);
            return Ok(());
        }
        self.notify(
            "notifications/cancelled",
            &json!({"requestId": current, "reason": reason}),
        )
        .await
    }

    /// The next notification from the server; `None` once the connection closed.
    pub async fn next_notification(&self) -> Option<Notification> {
        self.notifications.lock().await.recv().await
    }

    /// `ping`.
    pub async fn ping(&self) -> Result<(), ClientError> {
        let _: Value = self.request("ping", &json!({})).await?;
        Ok(())
    }

    /// One page of `tools/list`.
    ///
    /// Under 2026-07-28, a tool whose input schema has an invalid `x-mcp-header` annotation
    /// (empty, not a header token, on a non-primitive or number property, or naming a header
    /// twice) is left out with a warning: its calls could not be routed as the server means.
    pub async fn list_tools(&self, cursor: Option<&str>) -> Result<ListToolsResult, ClientError> {
        let mut page: ListToolsResult = match cursor {
            Some(c) => self.request("tools/list", &json!({"cursor": c})).await?,
            None => self.request("tools/list", &json!({})).await?,
        };
        if self.is_per_request() {
            page.tools.retain(|tool| {
                match crate::protocol::param_headers::check_annotations(&tool.input_schema) {
                    Ok(()) => true,
                    Err(why) => {
                        tracing::warn!(tool = %tool.name.escape_debug(), why = %why.escape_debug(), "a listed tool is left out: its x-mcp-header annotations are invalid");
                        false
                    }
                }
            });
        }
        Ok(page)
    }

    /// Every tool, following cursors.
    pub async fn list_all_tools(&self) -> Result<Vec<Tool>, ClientError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.list_tools(cursor.as_deref()).await?;
            all.extend(page.tools);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// Calls a tool. A tool that fails is still `Ok`, with `is_error` set.
    ///
    /// `arguments` is anything that serializes to a JSON object: a `json!({…})` value, or a
    /// struct of your own with `#[derive(Serialize)]` (or a reference to one), which is
    /// written to the wire directly, with no `Value` built on the way.
    pub async fn call_tool<A: Serialize>(
        &self,
        name: &str,
        arguments: A,
    ) -> Result<CallToolResult, ClientError> {
        #[derive(Serialize)]
        struct Params<'a, A> {
            name: &'a str,
            arguments: &'a A,
        }
        let params = Params {
            name,
            arguments: &arguments,
        };
        self.request("tools/call", &params).await
    }

    /// Closes the connection: a server process is waited for; an HTTP session is ended
    /// (DELETE).
    pub async fn close(self) -> Result<(), ClientError> {
        let Client {
            link,
            child,
            #[cfg(feature = "client-http")]
            http,
            ..
        } = self;
        drop(link);
        #[cfg(feature = "client-http")]
        if let Some(http) = http {
            http.close().await;
        }
        if let Some(child) = child {
            let mut child = child.into_inner();
            child.wait().await?;
        }
        Ok(())
    }
}

/// An in-memory server's session, answered on the sending task. Dropping the last one ends
/// the session.
struct MemoryLink {
    session: Arc<Session>,
    _open: oneshot::Sender<()>,
}

#[derive(Clone)]
enum LinkSender {
    Memory(Arc<MemoryLink>),
    Queue(mpsc::UnboundedSender<Vec<u8>>),
}

enum WeakLink {
    Memory(std::sync::Weak<MemoryLink>),
    Queue(mpsc::WeakUnboundedSender<Vec<u8>>),
}

impl WeakLink {
    fn upgrade(&self) -> Option<LinkSender> {
        match self {
            WeakLink::Memory(w) => w.upgrade().map(LinkSender::Memory),
            WeakLink::Queue(w) => w.upgrade().map(LinkSender::Queue),
        }
    }
}

impl LinkSender {
    fn downgrade(&self) -> WeakLink {
        match self {
            LinkSender::Memory(link) => WeakLink::Memory(Arc::downgrade(link)),
            LinkSender::Queue(tx) => WeakLink::Queue(tx.downgrade()),
        }
    }

    async fn send(&self, bytes: Vec<u8>) -> bool {
        match self {
            LinkSender::Memory(link) => {
                let session = &link.session;
                if let Some(reply) =
                    answer_line(session, Line::Message(bytes), DEFAULT_MAX_MESSAGE_SIZE)
                {
                    session.send(reply);
                }
                true
            }
            LinkSender::Queue(tx) => tx.send(bytes).is_ok(),
        }
    }

    /// [`LinkSender::send`] of a request whose caller waits for it: an in-memory server's
    /// request comes back to run on the caller's task, not spawned. `None` when the link is
    /// gone.
    async fn send_inline(&self, bytes: Vec<u8>) -> Option<Option<InlineRequest>> {
        match self {
            LinkSender::Memory(link) => {
                let session = &link.session;
                let (reply, job) =
                    answer_line_inline(session, Line::Message(bytes), DEFAULT_MAX_MESSAGE_SIZE);
                if let Some(reply) = reply {
                    session.send(reply);
                }
                Some(job)
            }
            LinkSender::Queue(tx) => tx.send(bytes).is_ok().then_some(None),
        }
    }
}

/// A request's answer, while the request itself runs here: an in-memory server's request,
/// polled on the waiting task until it has answered (see [`Session::inline_request`]).
///
/// [`Session::inline_request`]: crate::server::dispatch::session::Session::inline_request
struct Running {
    job: Option<InlineRequest>,
    rx: AnswerRx,
}

impl Future for Running {
    type Output = Result<Result<Box<RawValue>, ErrorObject>, oneshot::error::RecvError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = &mut *self;
        if let Some(job) = &mut this.job
            && std::pin::Pin::new(job).poll(cx).is_ready()
        {
            this.job = None;
        }
        std::pin::Pin::new(&mut this.rx).poll(cx)
    }
}
