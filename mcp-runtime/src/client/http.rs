//! The client side of streamable HTTP: every message is a POST; a request's answer comes back
//! as JSON or as an SSE stream (resumed with GET and `Last-Event-ID` when it breaks off); a GET
//! stream carries what the server starts; `Mcp-Session-Id` and `MCP-Protocol-Version` go on
//! every request once known, and the session is ended with DELETE on [`Client::close`].
//!
//! Under 2026-07-28 there is no session and no GET stream: every POST carries
//! `MCP-Protocol-Version`, `Mcp-Method` and, for `tools/call`, `prompts/get`,
//! `resources/read` and the tasks extension's `tasks/get`, `tasks/update` and `tasks/cancel`,
//! `Mcp-Name`; a request is cancelled by closing its stream.
//!
//! Plain `http://` only, over hyper's HTTP/1 client connections, kept alive and reused.
//!
//! [`Client::close`]: super::Client::close

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming as ResponseBody};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::ClientError;
use crate::protocol::{ErrorObject, Incoming, RequestId, base64, code, encode_error};
use crate::transport::DEFAULT_MAX_MESSAGE_SIZE;

const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// How often a broken SSE stream is resumed before giving up.
const RESUME_ATTEMPTS: u32 = 3;
/// The wait before resuming, when the server did not say (`retry`).
const DEFAULT_RETRY: Duration = Duration::from_secs(1);

/// How an HTTP client connects, besides the URL.
#[derive(Debug, Clone, Default)]
pub struct HttpClientOptions {
    /// Headers sent with every request, e.g. `("Authorization", "Bearer …")`.
    pub headers: Vec<(String, String)>,
}

impl HttpClientOptions {
    /// Adds a header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One server endpoint, its session, and a pool of kept-alive connections to it.
pub(crate) struct HttpTransport {
    /// `host:port` to dial.
    address: String,
    /// The `Host` header.
    authority: HeaderValue,
    /// The endpoint's path (and query).
    path: Uri,
    headers: HeaderMap,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    session_id: Mutex<Option<HeaderValue>>,
    protocol_version: Mutex<Option<HeaderValue>>,
    /// Every message from the server goes here, to the client's reader.
    from_server: mpsc::UnboundedSender<Vec<u8>>,
    /// Set once the client is gone or closing: the GET stream stops.
    closing: watch::Sender<bool>,
    /// Speaking 2026-07-28: routing headers on every POST, requests cancelled by closing
    /// their streams.
    per_request: bool,
    /// The POSTs of requests still running (2026-07-28 only), to close when cancelled.
    running: Mutex<HashMap<RequestId, AbortHandle>>,
    /// By tool, the arguments its input schema mirrors into `Mcp-Param-*` headers
    /// (`x-mcp-header`), as `tools/list` told (2026-07-28 only).
    param_headers: Mutex<HashMap<String, Vec<(String, String)>>>,
}

/// What an answer teaches the transport.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Learn {
    Nothing,
    /// The answer to `initialize`: the session id and the revision.
    Initialize,
    /// A page of `tools/list`: which arguments go in headers.
    ToolHeaders,
}

/// The routing headers of a 2026-07-28 POST.
struct Routing {
    method: HeaderValue,
    name: Option<HeaderValue>,
    /// A `tools/call`'s `Mcp-Param-*` headers.
    params: Vec<(HeaderName, HeaderValue)>,
}

impl Routing {
    /// The headers of request `method`: the method, the tool, prompt, resource or task it names,
    /// and for a tool call the arguments that `mirrored` (`(argument, header)` pairs from the
    /// tool's schema, looked up by tool name) says go in headers.
    fn of(
        method: &str,
        params: Option<&serde_json::value::RawValue>,
        mirrored: impl FnOnce(&str) -> Vec<(String, String)>,
    ) -> Option<Routing> {
        #[derive(Deserialize)]
        struct Target {
            name: Option<String>,
            uri: Option<String>,
            #[serde(rename = "taskId")]
            task_id: Option<String>,
            arguments: Option<serde_json::Map<String, serde_json::Value>>,
        }
        let target = match method {
            "tools/call" | "prompts/get" | "resources/read" | "tasks/get" | "tasks/update"
            | "tasks/cancel" => params.and_then(|p| serde_json::from_str::<Target>(p.get()).ok()),
            _ => None,
        };
        let mut routing = Routing {
            method: header_value(method)?,
            name: None,
            params: Vec::new(),
        };
        let Some(target) = target else {
            return Some(routing);
        };
        let name = match method {
            "resources/read" => target.uri,
            // The tasks extension routes a task's requests by its id.
            "tasks/get" | "tasks/update" | "tasks/cancel" => target.task_id,
            _ => target.name,
        };
        if let Some(n) = &name {
            routing.name = Some(header_value(n)?);
        }
        if let (Some(tool), "tools/call") = (&name, method) {
            let arguments = target.arguments.unwrap_or_default();
            for (argument, header) in mirrored(tool) {
                let text = match arguments.get(&argument) {
                    None | Some(serde_json::Value::Null) => continue,
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                let Ok(name) = HeaderName::try_from(format!("mcp-param-{header}")) else {
                    continue;
                };
                routing.params.push((name, header_value(&text)?));
            }
        }
        Some(routing)
    }
}

/// A header carrying `text`: as it is when a header can carry it unchanged, otherwise as
/// `=?base64?…?=` (which the server decodes).
fn header_value(text: &str) -> Option<HeaderValue> {
    let visible = text
        .chars()
        .all(|c| c == ' ' || c == '\t' || c.is_ascii_graphic());
    let trimmed = text.trim_matches([' ', '\t']).len() == text.len();
    let looks_encoded = text.starts_with("=?base64?") && text.ends_with("?=");
    let plain = visible && trimmed && !looks_encoded;
    if plain {
        HeaderValue::from_str(text).ok()
    } else {
        HeaderValue::from_str(&format!("=?base64?{}?=", base64::encode(text.as_bytes()))).ok()
    }
}

impl HttpTransport {
    /// `per_request` is the revision when it is one without a handshake (2026-07-28).
    pub(crate) fn new(
        url: &str,
        options: &HttpClientOptions,
        from_server: mpsc::UnboundedSender<Vec<u8>>,
        per_request: Option<&str>,
    ) -> Result<HttpTransport, ClientError> {
        let bad = |why: &str| {
            ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{url}` {why}"),
            ))
        };
        let uri: Uri = url.parse().map_err(|_| bad("is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad(
                    "uses https, which this client does not speak; reach the server over http (e.g. through a local TLS-terminating proxy)",
                ));
            }
            _ => return Err(bad("is not an http:// URL")),
        }
        let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
        let host = authority.host();
        let port = authority.port_u16().unwrap_or(80);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let address = if bare.contains(':') {
            format!("[{bare}]:{port}")
        } else {
            format!("{bare}:{port}")
        };
        let path = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|_| bad("has an invalid path"))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &options.headers {
            let name = HeaderName::try_from(name.as_str()).map_err(|_| {
                ClientError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("`{name}` is not a valid header name"),
                ))
            })?;
            let value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                ClientError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("the value of header `{name}` is not valid"),
                ))
            })?;
            headers.append(name, value);
        }
        Ok(HttpTransport {
            address,
            authority: HeaderValue::from_str(authority.as_str())
                .map_err(|_| bad("has an invalid host"))?,
            path,
            headers,
            idle: Mutex::new(Vec::new()),
            session_id: Mutex::new(None),
            protocol_version: Mutex::new(
                per_request
                    .map(|v| HeaderValue::from_str(v).map_err(|_| bad("has an invalid revision")))
                    .transpose()?,
            ),
            from_server,
            closing: watch::Sender::new(false),
            per_request: per_request.is_some(),
            running: Mutex::new(HashMap::new()),
            param_headers: Mutex::new(HashMap::new()),
        })
    }

    /// Opens the first connection, so that an unreachable server is an I/O error at once.
    pub(crate) async fn connect_first(&self) -> std::io::Result<()> {
        let sender = self.connect().await?;
        lock(&self.idle).push(sender);
        Ok(())
    }

    /// The session id the server gave, if any.
    pub(crate) fn session_id(&self) -> Option<String> {
        lock(&self.session_id)
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Sends the client's messages, in order, until the client goes away.
    pub(crate) async fn write(self: Arc<Self>, mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>) {
        while let Some(message) = outgoing.recv().await {
            let (request, method, routing) =
                match std::str::from_utf8(&message).ok().map(Incoming::parse) {
                    Some(Ok(Incoming::Request { id, method, params })) => {
                        let routing = if self.per_request {
                            Routing::of(&method, params, |tool| {
                                lock(&self.param_headers)
                                    .get(tool)
                                    .cloned()
                                    .unwrap_or_default()
                            })
                        } else {
                            None
                        };
                        (Some(id), method.into_owned(), routing)
                    }
                    Some(Ok(Incoming::Notification { method, .. })) => {
                        (None, method.into_owned(), None)
                    }
                    _ => (None, String::new(), None),
                };
            match request {
                // Each request on its own connection, closed to cancel it.
                Some(id) if self.per_request => {
                    let mut running = lock(&self.running);
                    let learn = if method == "tools/list" {
                        Learn::ToolHeaders
                    } else {
                        Learn::Nothing
                    };
                    let task = tokio::spawn(Arc::clone(&self).post_tracked(
                        message,
                        id.clone(),
                        routing,
                        learn,
                    ));
                    running.insert(id, task.abort_handle());
                }
                // The session id comes with the answer to `initialize`: nothing may overtake it.
                Some(id) if method == "initialize" => {
                    self.post(message, Some(id), Learn::Initialize, None).await
                }
                // Requests may take long: each gets its own connection.
                Some(id) => {
                    tokio::spawn(Arc::clone(&self).post_owned(message, id));
                }
                // Notifications and responses are quick: sent in order.
                None => {
                    self.post(message, None, Learn::Nothing, None).await;
                    if method == "notifications/initialized" && self.session_id().is_some() {
                        tokio::spawn(Arc::clone(&self).listen());
                    }
                }
            }
        }
        // The client is gone: nobody will read what the GET stream or a request brings.
        self.closing.send_replace(true);
        self.abort_all();
    }

    /// Closes the stream of a running request: under 2026-07-28, its cancellation.
    pub(crate) fn abort(&self, id: &RequestId) {
        if let Some(task) = lock(&self.running).remove(id) {
            task.abort();
        }
    }

    fn abort_all(&self) {
        for (_, task) in lock(&self.running).drain() {
            task.abort();
        }
    }

    async fn post_tracked(
        self: Arc<Self>,
        message: Vec<u8>,
        id: RequestId,
        routing: Option<Routing>,
        learn: Learn,
    ) {
        self.post(message, Some(id.clone()), learn, routing.as_ref())
            .await;
        lock(&self.running).remove(&id);
    }

    fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }

    /// Completes once the client is closing.
    async fn closed(&self) {
        let mut closing = self.closing.subscribe();
        let _ = closing.wait_for(|c| *c).await;
    }

    async fn post_owned(self: Arc<Self>, message: Vec<u8>, id: RequestId) {
        self.post(message, Some(id), Learn::Nothing, None).await;
    }

    /// POSTs one message and delivers what comes back.
    async fn post(
        &self,
        message: Vec<u8>,
        id: Option<RequestId>,
        learn: Learn,
        routing: Option<&Routing>,
    ) {
        let mut request = self.request(Method::POST, Full::new(Bytes::from(message)));
        let headers = request.headers_mut();
        if let Some(r) = routing {
            headers.insert(MCP_METHOD, r.method.clone());
            if let Some(name) = &r.name {
                headers.insert(MCP_NAME, name.clone());
            }
            for (name, value) in &r.params {
                headers.insert(name.clone(), value.clone());
            }
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        let (response, connection) = match self.send(request).await {
            Ok(r) => r,
            Err(e) => return self.fail(id.as_ref(), format!("the request failed: {e}")),
        };
        let status = response.status();
        if learn == Learn::Initialize
            && status.is_success()
            && let Some(session) = response.headers().get(SESSION_ID)
        {
            *lock(&self.session_id) = Some(session.clone());
        }
        let is_sse = media_type(response.headers()) == Some("text/event-stream");
        let Some(id) = id else {
            // A notification or a response: 202, or an error nobody waits for.
            if !status.is_success() {
                let body = read_text(response.into_body()).await;
                tracing::warn!(%status, body, "the server refused a notification or response");
            }
            drop(connection);
            return;
        };
        if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
            return self.fail(
                Some(&id),
                format!("the server answered the request with {status} and no response"),
            );
        }
        if is_sse && status.is_success() {
            let outcome = self
                .read_stream(response.into_body(), Some(&id), learn)
                .await;
            drop(connection);
            return self.resume(outcome, &id).await;
        }
        let body = match Limited::new(response.into_body(), DEFAULT_MAX_MESSAGE_SIZE)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(e) => return self.fail(Some(&id), format!("reading the response failed: {e}")),
        };
        drop(connection);
        if !status.is_success() {
            // The server explains itself with a JSON-RPC error, maybe without an id.
            let error = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.error)
                .unwrap_or_else(|_| {
                    ErrorObject::new(
                        code::INTERNAL_ERROR,
                        format!("HTTP {status}: {}", String::from_utf8_lossy(&body).trim()),
                    )
                });
            return self.deliver(encode_error(Some(&id), &error));
        }
        self.learn(learn, &body);
        self.deliver(body.to_vec());
    }

    /// Resumes a stream that broke off before the answer came.
    async fn resume(&self, mut outcome: StreamOutcome, id: &RequestId) {
        let mut attempts = 0;
        while !outcome.answered {
            let Some(last) = outcome.last_event_id.clone() else {
                return self.fail(Some(id), "the stream ended without a response".into());
            };
            attempts += 1;
            if attempts > RESUME_ATTEMPTS || self.is_closing() {
                return self.fail(
                    Some(id),
                    "the stream ended without a response, and resuming it failed".into(),
                );
            }
            tokio::time::sleep(outcome.retry.unwrap_or(DEFAULT_RETRY)).await;
            let Ok((response, connection)) = self.get(Some(&last)).await else {
                continue;
            };
            if !response.status().is_success() {
                let status = response.status();
                drop(connection);
                return self.fail(
                    Some(id),
                    format!("resuming the stream failed with {status}"),
                );
            }
            let next = self
                .read_stream(response.into_body(), Some(id), Learn::Nothing)
                .await;
            drop(connection);
            attempts = if next.events > 0 { 0 } else { attempts };
            outcome = StreamOutcome {
                last_event_id: next.last_event_id.or(Some(last)),
                retry: next.retry.or(outcome.retry),
                ..next
            };
        }
    }

    /// The GET stream: what the server starts, for as long as the client lives.
    async fn listen(self: Arc<Self>) {
        let mut last: Option<String> = None;
        let mut retry = DEFAULT_RETRY;
        let mut failures = 0;
        while !self.is_closing() {
            match self.get(last.as_deref()).await {
                Ok((response, connection)) if response.status().is_success() => {
                    failures = 0;
                    let read = self.read_stream(response.into_body(), None, Learn::Nothing);
                    let outcome = tokio::select! {
                        o = read => o,
                        () = self.closed() => return,
                    };
                    drop(connection);
                    last = outcome.last_event_id.or(last);
                    retry = outcome.retry.unwrap_or(retry);
                }
                // The server offers no GET stream.
                Ok((response, _)) if response.status() == StatusCode::METHOD_NOT_ALLOWED => return,
                Ok((response, _)) => {
                    tracing::debug!(status = %response.status(), "the GET stream was refused");
                    failures += 1;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "the GET stream failed");
                    failures += 1;
                }
            }
            if failures > RESUME_ATTEMPTS {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(retry) => {}
                () = self.closed() => return,
            }
        }
    }

    /// Opens a GET stream, resuming after `last` when given.
    async fn get(
        &self,
        last: Option<&str>,
    ) -> Result<(Response<ResponseBody>, Connection<'_>), SendError> {
        let mut request = self.request(Method::GET, Full::new(Bytes::new()));
        let headers = request.headers_mut();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        if let Some(last) = last.and_then(|l| HeaderValue::from_str(l).ok()) {
            headers.insert(LAST_EVENT_ID, last);
        }
        self.send(request).await
    }

    fn learn(&self, learn: Learn, answer: &[u8]) {
        match learn {
            Learn::Nothing => {}
            Learn::Initialize => self.note_revision(answer),
            Learn::ToolHeaders => self.note_param_headers(answer),
        }
    }

    /// Which arguments of each listed tool go in `Mcp-Param-*` headers.
    fn note_param_headers(&self, tools_list_answer: &[u8]) {
        #[derive(Deserialize)]
        struct Answer {
            result: Option<Page>,
        }
        #[derive(Deserialize)]
        struct Page {
            tools: Vec<ToolSchema>,
        }
        #[derive(Deserialize)]
        struct ToolSchema {
            name: String,
            #[serde(rename = "inputSchema", default)]
            input_schema: crate::protocol::JsonObject,
        }
        let Ok(Answer { result: Some(page) }) = serde_json::from_slice(tools_list_answer) else {
            return;
        };
        let mut known = lock(&self.param_headers);
        for tool in page.tools {
            let mirrored = crate::protocol::param_headers::header_params(&tool.input_schema);
            if mirrored.is_empty() {
                known.remove(&tool.name);
            } else {
                known.insert(tool.name, mirrored);
            }
        }
    }

    /// The revision `initialize` settled on goes on every later request.
    fn note_revision(&self, initialize_answer: &[u8]) {
        if let Ok(answer) = serde_json::from_slice::<InitializeAnswer<'_>>(initialize_answer)
            && let Some(result) = answer.result
            && let Ok(version) = HeaderValue::from_str(result.protocol_version)
        {
            *lock(&self.protocol_version) = Some(version);
        }
    }

    /// Reads an SSE stream, delivering each message, until it ends or (for a POST's stream)
    /// the answer to `id` came, from which the transport learns what `learn` says.
    async fn read_stream(
        &self,
        mut body: ResponseBody,
        id: Option<&RequestId>,
        learn: Learn,
    ) -> StreamOutcome {
        let mut decoder = SseDecoder::default();
        let mut outcome = StreamOutcome::default();
        let mut events = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if decoder.feed(&data, &mut events).is_err() {
                tracing::warn!("an SSE event was larger than the limit; the stream was dropped");
                break;
            }
            for event in events.drain(..) {
                outcome.events += 1;
                if let Some(event_id) = event.id {
                    outcome.last_event_id = Some(event_id);
                }
                if let Some(retry) = event.retry {
                    outcome.retry = Some(retry);
                }
                if event.data.is_empty() {
                    continue;
                }
                if let Some(id) = id
                    && answers(&event.data, id)
                {
                    outcome.answered = true;
                    self.learn(learn, &event.data);
                }
                self.deliver(event.data);
            }
            if outcome.answered {
                break;
            }
        }
        outcome
    }

    /// Ends the session (DELETE) and stops the GET stream.
    pub(crate) async fn close(&self) {
        self.closing.send_replace(true);
        self.abort_all();
        if self.session_id().is_none() {
            return;
        }
        let request = self.request(Method::DELETE, Full::new(Bytes::new()));
        match self.send(request).await {
            Ok((response, _)) if response.status().is_success() => {}
            // 405: the server does not let clients end sessions; 404: it already ended.
            Ok((response, _)) => {
                tracing::debug!(status = %response.status(), "DELETE of the session refused")
            }
            Err(e) => tracing::debug!(error = %e, "DELETE of the session failed"),
        }
    }

    fn request(&self, method: Method, body: Full<Bytes>) -> Request<Full<Bytes>> {
        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = self.path.clone();
        let headers = request.headers_mut();
        headers.insert(header::HOST, self.authority.clone());
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        if let Some(session) = lock(&self.session_id).clone() {
            headers.insert(SESSION_ID, session);
        }
        if let Some(version) = lock(&self.protocol_version).clone() {
            headers.insert(PROTOCOL_VERSION, version);
        }
        request
    }

    /// Sends a request on an idle connection, or a new one.
    async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<(Response<ResponseBody>, Connection<'_>), SendError> {
        let mut sender = loop {
            let idle = lock(&self.idle).pop();
            match idle {
                Some(mut s) => {
                    if s.ready().await.is_ok() {
                        break s;
                    }
                }
                None => break self.connect().await.map_err(SendError::Connect)?,
            }
        };
        let response = sender
            .send_request(request)
            .await
            .map_err(SendError::Hyper)?;
        Ok((
            response,
            Connection {
                transport: self,
                sender: Some(sender),
            },
        ))
    }

    async fn connect(&self) -> std::io::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(&self.address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        });
        Ok(sender)
    }

    fn deliver(&self, message: Vec<u8>) {
        let _ = self.from_server.send(message);
    }

    /// Answers request `id` with an error, since the server's answer cannot come.
    fn fail(&self, id: Option<&RequestId>, message: String) {
        match id {
            Some(id) => self.deliver(encode_error(
                Some(id),
                &ErrorObject::new(code::INTERNAL_ERROR, message),
            )),
            None => tracing::warn!("{message}"),
        }
    }
}

/// A connection lent for one exchange; back to the pool once its response was read.
struct Connection<'a> {
    transport: &'a HttpTransport,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take()
            && !sender.is_closed()
        {
            lock(&self.transport.idle).push(sender);
        }
    }
}

#[derive(Debug)]
enum SendError {
    Connect(std::io::Error),
    Hyper(hyper::Error),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Connect(e) => write!(f, "cannot connect: {e}"),
            SendError::Hyper(e) => write!(f, "{e}"),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn media_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .split(';')
        .next()
        .map(str::trim)
}

async fn read_text(body: ResponseBody) -> String {
    match Limited::new(body, 64 * 1024).collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => "(a long body)".into(),
        Err(_) => String::new(),
    }
}

/// Whether `message` is the response to request `id`.
fn answers(message: &[u8], id: &RequestId) -> bool {
    std::str::from_utf8(message)
        .ok()
        .and_then(|text| Incoming::parse(text).ok())
        .is_some_and(|m| matches!(m, Incoming::Response { id: ref r, .. } if r == id))
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct InitializeAnswer<'a> {
    #[serde(borrow)]
    result: Option<InitializeVersion<'a>>,
}

#[derive(Deserialize)]
struct InitializeVersion<'a> {
    #[serde(rename = "protocolVersion")]
    protocol_version: &'a str,
}

/// How reading an SSE stream ended.
#[derive(Default)]
struct StreamOutcome {
    answered: bool,
    events: usize,
    last_event_id: Option<String>,
    retry: Option<Duration>,
}

/// One event of an SSE stream.
#[derive(Debug, PartialEq, Eq)]
struct SseEvent {
    id: Option<String>,
    retry: Option<Duration>,
    data: Vec<u8>,
}

/// An incremental SSE parser (the event-stream format of the HTML standard), for the
/// `message` events MCP uses.
#[derive(Default)]
struct SseDecoder {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    id: Option<String>,
    retry: Option<Duration>,
}

/// An event over the size limit.
#[derive(Debug)]
struct TooLarge;

impl SseDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), TooLarge> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..end]);
            rest = &rest[end + 1..];
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.field(&line, out);
        }
        self.line.extend_from_slice(rest);
        if self.line.len() + self.data.len() > DEFAULT_MAX_MESSAGE_SIZE {
            return Err(TooLarge);
        }
        Ok(())
    }

    fn field(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if self.has_data || self.id.is_some() || self.retry.is_some() {
                out.push(SseEvent {
                    id: self.id.take(),
                    retry: self.retry.take(),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return; // a comment
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"id" if !value.contains(&0) => {
                self.id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" => {
                if let Ok(ms) = std::str::from_utf8(value).unwrap_or("").parse::<u64>() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&str]) -> Vec<SseEvent> {
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c.as_bytes(), &mut out).unwrap();
        }
        out
    }

    #[test]
    fn decodes_sse_across_chunks() {
        let events = decode(&[
            "id: 1-0\nretry: 250\ndata: \n\n: keep-alive\n\nid: 1-1\r\nda",
            "ta: {\"a\":\n",
            "data: 1}\n\ndata:x\n\n",
        ]);
        assert_eq!(
            events,
            [
                SseEvent {
                    id: Some("1-0".into()),
                    retry: Some(Duration::from_millis(250)),
                    data: Vec::new()
                },
                SseEvent {
                    id: Some("1-1".into()),
                    retry: None,
                    data: b"{\"a\":\n1}".to_vec()
                },
                SseEvent {
                    id: None,
                    retry: None,
                    data: b"x".to_vec()
                },
            ]
        );
    }

    #[test]
    fn recognises_the_answer_to_a_request() {
        let id = RequestId::Number(7);
        assert!(answers(br#"{"jsonrpc":"2.0","id":7,"result":{}}"#, &id));
        assert!(answers(
            br#"{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"x"}}"#,
            &id
        ));
        assert!(!answers(br#"{"jsonrpc":"2.0","id":8,"result":{}}"#, &id));
        assert!(!answers(
            br#"{"jsonrpc":"2.0","method":"notifications/progress"}"#,
            &id
        ));
    }

    #[test]
    fn routing_headers_carry_what_a_header_cannot_as_base64() {
        assert_eq!(header_value("tools/call").unwrap(), "tools/call");
        assert_eq!(header_value("a b").unwrap(), "a b");
        // Non-ASCII, edge white space, and text that looks encoded are all encoded.
        assert_eq!(header_value("Zoë").unwrap(), "=?base64?Wm/Dqw==?=");
        assert_eq!(header_value(" x").unwrap(), "=?base64?IHg=?=");
        assert_eq!(
            header_value("=?base64?eA==?=").unwrap(),
            "=?base64?PT9iYXNlNjQ/ZUE9PT89?="
        );
        let raw = |s: &str| serde_json::value::RawValue::from_string(s.into()).unwrap();
        let none = |_: &str| Vec::new();
        let r = Routing::of("resources/read", Some(&raw(r#"{"uri":"a://b"}"#)), none).unwrap();
        assert_eq!(r.method, "resources/read");
        assert_eq!(r.name.unwrap(), "a://b");
        let r = Routing::of("tools/list", None, none).unwrap();
        assert!(r.name.is_none());
        let r = Routing::of("tasks/get", Some(&raw(r#"{"taskId":"t-1"}"#)), none).unwrap();
        assert_eq!(r.name.unwrap(), "t-1");
        let mirrored = |tool: &str| {
            assert_eq!(tool, "route");
            vec![
                ("region".to_string(), "Region".to_string()),
                ("n".to_string(), "N".to_string()),
                ("off".to_string(), "Off".to_string()),
            ]
        };
        let r = Routing::of(
            "tools/call",
            Some(&raw(
                r#"{"name":"route","arguments":{"region":"Zürich","n":7,"off":null}}"#,
            )),
            mirrored,
        )
        .unwrap();
        let params: Vec<(String, String)> = r
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            params,
            [
                ("mcp-param-region".into(), "=?base64?WsO8cmljaA==?=".into()),
                ("mcp-param-n".into(), "7".into()),
            ]
        );
    }

    #[test]
    fn refuses_urls_it_cannot_serve() {
        let (tx, _) = mpsc::unbounded_channel();
        let options = HttpClientOptions::default();
        assert!(HttpTransport::new("https://example.com/mcp", &options, tx.clone(), None).is_err());
        assert!(HttpTransport::new("not a url", &options, tx.clone(), None).is_err());
        let t =
            HttpTransport::new("http://[::1]:8000/mcp?x=1", &options, tx.clone(), None).unwrap();
        assert_eq!(t.address, "[::1]:8000");
        assert_eq!(t.path, "/mcp?x=1");
        let t = HttpTransport::new("http://localhost/mcp", &options, tx, None).unwrap();
        assert_eq!(t.address, "localhost:80");
    }
}
