//! One HTTP request: routing, the transport's checks in the order the specification gives
//! them, and the three methods of the endpoint.
//!
//! A POST is answered according to what its message is and what the handler does:
//!
//! * a notification or a response: `202 Accepted`, no body;
//! * a request answered at once: `200` with the JSON response;
//! * a request still running: the POST waits. If the result comes first, it is sent as JSON;
//!   if the handler says something first (progress, logging), or the call outlasts
//!   [`HttpOptions::sse_keep_alive`](super::HttpOptions::sse_keep_alive), the response becomes
//!   an SSE stream carrying what it says and then its result. With
//!   [`json_response`](super::HttpOptions::json_response) (or a client that does not accept
//!   SSE) the POST always waits for the JSON result.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming as RequestBody};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use super::Shared;
use super::security::{Accepts, Refusal, is_json_body};
use super::sessions::{HttpSession, parse_event_id};
use super::sse::{self, ResponseBody, SseBody};
use crate::protocol::{ErrorObject, Incoming, ProtocolVersion, RequestId, code, encode_error};
use crate::server::session::{Reply, Session};
use crate::server::{modern, param_headers};

const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The revision assumed for a request without `MCP-Protocol-Version` when nothing else tells
/// (the transport specification's rule).
const ASSUMED_VERSION: ProtocolVersion = ProtocolVersion::V2025_03_26;

type HttpResponse = Response<ResponseBody>;

/// What the access log says about a request.
#[derive(Default)]
struct Log {
    rpc: Option<String>,
    tool: Option<String>,
    session: Option<Arc<HttpSession>>,
    sse: bool,
    origin: Option<HeaderValue>,
    /// Health checks come every few seconds from load balancers: not worth a line each.
    health_check: bool,
    /// The request's body was read (a refused request's body is not).
    body_read: bool,
}

/// Serves one request and logs it.
pub(crate) async fn handle(shared: Arc<Shared>, request: Request<RequestBody>) -> HttpResponse {
    let started = Instant::now();
    let method = request.method().clone();
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|n| n != "0");
    let mut log = Log::default();
    let mut response = route(&shared, request, &mut log).await;
    if has_body && !log.body_read {
        // Refused before its body was read: the connection cannot be reused, and the client
        // must know not to send another request on it.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(origin) = log.origin.take() {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("mcp-session-id, mcp-protocol-version, www-authenticate"),
        );
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
    if log.health_check {
        return response;
    }
    tracing::info!(
        target: "mcp_runtime::http",
        method = %method,
        rpc = log.rpc.as_deref().unwrap_or("-"),
        tool = log.tool.as_deref().unwrap_or("-"),
        session = log.session.as_ref().map_or("-", |s| s.short_id()),
        status = response.status().as_u16(),
        sse = log.sse,
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

async fn route(shared: &Arc<Shared>, request: Request<RequestBody>, log: &mut Log) -> HttpResponse {
    let path = request.uri().path();
    if path == "/healthz" && matches!(*request.method(), Method::GET | Method::HEAD) {
        log.health_check = true;
        return text(StatusCode::OK, "ok\n");
    }
    if path != shared.options.path {
        return text(
            StatusCode::NOT_FOUND,
            "not found: the MCP endpoint is elsewhere\n",
        );
    }
    let headers = request.headers();
    if let Err(refusal) = shared.guard.check_origin(headers) {
        tracing::warn!(
            origin = ?headers.get(header::ORIGIN),
            host = ?headers.get(header::HOST),
            "refused a request from a disallowed origin or host"
        );
        return refused(refusal);
    }
    log.origin = headers.get(header::ORIGIN).cloned();
    if request.method() == Method::OPTIONS {
        return preflight();
    }
    if let Err(refusal) = shared.guard.check_token(headers) {
        return refused(refusal);
    }
    match *request.method() {
        Method::POST => post(shared, request, log).await,
        Method::GET => get(shared, request.headers(), log),
        Method::DELETE => delete(shared, request.headers(), log).await,
        _ => method_not_allowed(shared),
    }
}

/// How a request's answer may be sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// JSON when the result comes first, SSE when something is said before it.
    Auto,
    /// Always JSON.
    Json,
    /// Always SSE (the client does not accept JSON).
    Sse,
}

async fn post(shared: &Arc<Shared>, request: Request<RequestBody>, log: &mut Log) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let accepts = Accepts::of(headers);
    let mode = match (shared.options.json_response, accepts.json, accepts.sse) {
        (true, true, _) | (false, true, false) => Mode::Json,
        (false, true, true) => Mode::Auto,
        (false, false, true) => Mode::Sse,
        _ => {
            return http_error(
                StatusCode::NOT_ACCEPTABLE,
                None,
                if shared.options.json_response {
                    "Not Acceptable: the client must accept application/json"
                } else {
                    "Not Acceptable: the client must accept application/json and text/event-stream"
                },
            );
        }
    };
    if !is_json_body(headers) {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "Unsupported Media Type: the body must be one JSON-RPC message, as application/json",
        );
    }
    let max = shared.options.max_message_size;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large(max);
    }
    let bytes = match Limited::new(body, max).collect().await {
        Ok(collected) => {
            log.body_read = true;
            collected.to_bytes()
        }
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(max),
        Err(e) => {
            tracing::debug!(error = %e, "reading a request body failed");
            return http_error(
                StatusCode::BAD_REQUEST,
                None,
                "Bad Request: unreadable body",
            );
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return json(
            StatusCode::BAD_REQUEST,
            encode_error(
                None,
                &ErrorObject::new(code::PARSE_ERROR, "Parse error: the body is not UTF-8"),
            ),
        );
    };
    let message = match Incoming::parse(text) {
        Ok(m) => m,
        Err(bad) => {
            return json(
                StatusCode::BAD_REQUEST,
                encode_error(bad.id.as_ref(), &bad.error),
            );
        }
    };
    let (id, is_initialize) = describe(&message, log);
    let header = headers
        .get(PROTOCOL_VERSION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string());
    let per_request = header
        .as_deref()
        .is_some_and(|h| ProtocolVersion::parse(h).is_none())
        || matches!(&message, Incoming::Request { params, .. } if modern::names_revision(*params));
    if per_request {
        return serve_per_request(shared, headers, header.as_deref(), message, mode, log).await;
    }
    let version = match header_version(headers) {
        Ok(v) => v,
        Err(problem) => return problem.respond(id.as_ref()),
    };

    if shared.options.stateless {
        // A fresh session for every message: nothing is kept between POSTs, and what such a
        // session says outside a request has nowhere to go.
        let session = Session::new(Arc::clone(&shared.core), shared.nowhere.clone());
        if !is_initialize {
            session.assume_initialized(version.unwrap_or(ASSUMED_VERSION));
        }
        return answer(shared, None, &session, message, mode, log).await;
    }

    let Some(session_id) = headers.get(SESSION_ID) else {
        if is_initialize {
            return initialize(shared, message, log);
        }
        return http_error(
            StatusCode::BAD_REQUEST,
            id.as_ref(),
            "Bad Request: the Mcp-Session-Id header is required; send `initialize` first to get a session",
        );
    };
    let Some(http) = lookup(shared, session_id) else {
        return Problem::session_not_found().respond(id.as_ref());
    };
    log.session = Some(Arc::clone(&http));
    if let Err(problem) = check_version(&http, version) {
        return problem.respond(id.as_ref());
    }
    let session = Arc::clone(&http.session);
    answer(shared, Some(&http), &session, message, mode, log).await
}

/// Notes the message in the log; returns its id and whether it is `initialize`.
fn describe(message: &Incoming<'_>, log: &mut Log) -> (Option<RequestId>, bool) {
    match message {
        Incoming::Request { id, method, params } => {
            if method == "tools/call"
                && tracing::enabled!(target: "mcp_runtime::http", tracing::Level::INFO)
            {
                #[derive(Deserialize)]
                struct Name<'a> {
                    #[serde(borrow)]
                    name: Cow<'a, str>,
                }
                log.tool = params
                    .and_then(|p| serde_json::from_str::<Name<'_>>(p.get()).ok())
                    .map(|n| n.name.into_owned());
            }
            log.rpc = Some(method.to_string());
            (Some(id.clone()), method == "initialize")
        }
        Incoming::Notification { method, .. } => {
            log.rpc = Some(method.to_string());
            (None, false)
        }
        Incoming::Response { .. } => {
            log.rpc = Some("(response)".into());
            (None, false)
        }
    }
}

/// `initialize` without a session: starts one.
fn initialize(shared: &Arc<Shared>, message: Incoming<'_>, log: &mut Log) -> HttpResponse {
    let id = match &message {
        Incoming::Request { id, .. } => Some(id.clone()),
        _ => None,
    };
    if shared.sessions.is_full() {
        return too_many_sessions(id.as_ref());
    }
    let http = shared.sessions.create(Arc::clone(&shared.core));
    let bytes = match http.session.handle_incoming(message, &shared.nowhere) {
        Reply::Now(bytes) => bytes,
        Reply::None | Reply::Later(..) => {
            return http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                id.as_ref(),
                "initialize was not answered",
            );
        }
    };
    if http.session.client_info().is_none() {
        // The handshake failed (bad params): the error goes back, and no session is kept.
        return json(StatusCode::OK, bytes);
    }
    let session_id = HeaderValue::from_str(&http.id).expect("session ids are visible ASCII");
    if shared.sessions.insert(Arc::clone(&http)).is_err() {
        return too_many_sessions(id.as_ref());
    }
    tracing::debug!(session = http.short_id(), "session started");
    log.session = Some(http);
    let mut response = json(StatusCode::OK, bytes);
    response.headers_mut().insert(SESSION_ID, session_id);
    response
}

const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// A POST of the per-request revision (2026-07-28): no session, whatever the headers say;
/// the routing headers must agree with the body; errors this revision defines get its status
/// codes.
async fn serve_per_request(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    header_version: Option<&str>,
    message: Incoming<'_>,
    mode: Mode,
    log: &mut Log,
) -> HttpResponse {
    let names_revision =
        matches!(&message, Incoming::Request { params, .. } if modern::names_revision(*params));
    if let Some(h) =
        header_version.filter(|h| !names_revision && ProtocolVersion::parse_any(h).is_none())
    {
        // Neither a handshake revision nor a request of the per-request one.
        let id = match &message {
            Incoming::Request { id, .. } => Some(id),
            _ => None,
        };
        return json(
            StatusCode::BAD_REQUEST,
            encode_error(id, &modern::unsupported_version(h)),
        );
    }
    let Incoming::Request { id, method, params } = &message else {
        // Clients of this revision send notifications only for themselves (cancellation is
        // closing the stream); there is nothing to answer.
        return accepted();
    };
    let checked = modern::check_request(*params, header_version)
        .and_then(|_| check_routing_headers(headers, method, *params))
        .and_then(|()| check_argument_headers(shared, headers, method, *params));
    if let Err(e) = checked {
        // Every check before dispatch is a bad request: `_meta`, headers, revision.
        return json(StatusCode::BAD_REQUEST, encode_error(Some(id), &e));
    }
    let session = Session::new(Arc::clone(&shared.core), shared.nowhere.clone());
    let mut response = answer(shared, None, &session, message, mode, log).await;
    if let ResponseBody::Full(Some(body)) = response.body() {
        *response.status_mut() = per_request_status(body);
    }
    response
}

/// `Mcp-Method` must be the body's method, and `Mcp-Name` its tool or prompt name, resource
/// URI or task id (HeaderMismatch, -32020, otherwise).
fn check_routing_headers(
    headers: &HeaderMap,
    method: &str,
    params: Option<&serde_json::value::RawValue>,
) -> Result<(), ErrorObject> {
    let mismatch = |message: String| ErrorObject::new(code::HEADER_MISMATCH, message);
    let read = |name: &HeaderName| -> Result<Option<String>, ErrorObject> {
        headers
            .get(name)
            .map(|v| {
                let text = v.to_str().map_err(|_| {
                    mismatch(format!("Header mismatch: `{name}` is not visible ASCII"))
                })?;
                param_headers::decode_header_value(text)
                    .map_err(|e| mismatch(format!("Header mismatch: `{name}`: {e}")))
            })
            .transpose()
    };
    match read(&MCP_METHOD)? {
        None => {
            return Err(mismatch(format!(
                "Header mismatch: the `Mcp-Method` header is required; it must be `{method}`"
            )));
        }
        Some(m) if m != method => {
            return Err(mismatch(format!(
                "Header mismatch: `Mcp-Method` is `{m}` but the body's method is `{method}`"
            )));
        }
        Some(_) => {}
    }
    let key = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        // The tasks extension routes a task's requests to the instance holding it.
        "tasks/get" | "tasks/update" | "tasks/cancel" => "taskId",
        _ => return Ok(()),
    };
    let expected = params
        .and_then(|p| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(p.get()).ok()
        })
        .and_then(|p| p.get(key).and_then(|v| v.as_str()).map(str::to_string));
    let Some(expected) = expected else {
        return Ok(());
    };
    match read(&MCP_NAME)? {
        None => Err(mismatch(format!(
            "Header mismatch: the `Mcp-Name` header is required for `{method}`; it must be `{expected}`"
        ))),
        Some(n) if n != expected => Err(mismatch(format!(
            "Header mismatch: `Mcp-Name` is `{n}` but the body's `{key}` is `{expected}`"
        ))),
        Some(_) => Ok(()),
    }
}

/// A `tools/call`'s `Mcp-Param-*` headers must mirror the arguments its tool marks with
/// `x-mcp-header` (HeaderMismatch, -32020, otherwise).
fn check_argument_headers(
    shared: &Shared,
    headers: &HeaderMap,
    method: &str,
    params: Option<&serde_json::value::RawValue>,
) -> Result<(), ErrorObject> {
    if method != "tools/call" {
        return Ok(());
    }
    #[derive(Deserialize)]
    struct Call {
        name: String,
        #[serde(default)]
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    }
    let Some(call) = params.and_then(|p| serde_json::from_str::<Call>(p.get()).ok()) else {
        return Ok(());
    };
    let Some(tool) = shared.core.tools.get(&call.name) else {
        return Ok(());
    };
    if tool.header_params.is_empty() {
        return Ok(());
    }
    let arguments = call.arguments.unwrap_or_default();
    param_headers::check_param_headers(&tool.header_params, &arguments, |name| {
        headers
            .get(format!("mcp-param-{}", name.to_ascii_lowercase()))
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    })
    .map_err(|e| ErrorObject::new(code::HEADER_MISMATCH, format!("Header mismatch: {e}")))
}

/// The HTTP status of a dispatched per-request JSON answer: 404 for an unknown method, 400
/// for a missing client capability, 200 otherwise.
fn per_request_status(body: &[u8]) -> StatusCode {
    #[derive(Deserialize)]
    struct Error {
        code: i64,
    }
    #[derive(Deserialize)]
    struct Envelope {
        error: Option<Error>,
    }
    let Ok(Envelope { error: Some(e) }) = serde_json::from_slice::<Envelope>(body) else {
        return StatusCode::OK;
    };
    match e.code {
        code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        code::HEADER_MISMATCH | code::MISSING_CAPABILITY | code::UNSUPPORTED_VERSION => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    }
}

/// Hands a message to the session and answers the POST.
async fn answer(
    shared: &Arc<Shared>,
    http: Option<&Arc<HttpSession>>,
    session: &Arc<Session>,
    message: Incoming<'_>,
    mode: Mode,
    log: &mut Log,
) -> HttpResponse {
    let (said_tx, mut said) = mpsc::unbounded_channel();
    let reply = session.handle_incoming(message, &said_tx);
    drop(said_tx);
    match reply {
        Reply::None => accepted(),
        Reply::Now(bytes) => {
            let before = drain(&mut said);
            if before.is_empty() && mode != Mode::Sse {
                return json(StatusCode::OK, bytes);
            }
            if mode == Mode::Json {
                return json(StatusCode::OK, bytes);
            }
            stream(shared, http, session, None, before, said, ready(bytes), log)
        }
        Reply::Later(id, future) => {
            let (done_tx, done) = oneshot::channel();
            session.spawn_request(id.clone(), future, move |bytes| {
                let _ = done_tx.send(bytes);
            });
            // Without a session nothing could resume the answer: a client that goes away
            // while the POST waits cancels the request (once streaming, the pump does).
            let mut waiting =
                CancelOnDrop(http.is_none().then(|| (Arc::clone(session), id.clone())));
            let response = wait(shared, http, session, id, said, done, mode, log).await;
            waiting.0 = None;
            response
        }
    }
}

/// Waits for a running request: its result as JSON, or a stream once it says something.
#[allow(clippy::too_many_arguments)]
async fn wait(
    shared: &Arc<Shared>,
    http: Option<&Arc<HttpSession>>,
    session: &Arc<Session>,
    id: RequestId,
    mut said: mpsc::UnboundedReceiver<Vec<u8>>,
    mut done: oneshot::Receiver<Vec<u8>>,
    mode: Mode,
    log: &mut Log,
) -> HttpResponse {
    let mut said_open = true;
    match mode {
        Mode::Sse => stream(shared, http, session, Some(id), Vec::new(), said, done, log),
        Mode::Json => loop {
            // One JSON body cannot carry what is said before the result: notifications are
            // dropped, and requests to the client fail at once.
            tokio::select! {
                biased;
                result = &mut done => return finished_json(result),
                m = said.recv(), if said_open => match m {
                    Some(bytes) => refuse_request(session, &bytes),
                    None => said_open = false,
                },
            }
        },
        Mode::Auto => {
            let upgrade = tokio::time::sleep(shared.options.sse_keep_alive);
            tokio::pin!(upgrade);
            let first = loop {
                tokio::select! {
                    biased;
                    result = &mut done => {
                        let before = drain(&mut said);
                        return match result {
                            Ok(bytes) if !before.is_empty() => stream(
                                shared, http, session, None, before, said, ready(bytes), log,
                            ),
                            result => finished_json(result),
                        };
                    }
                    m = said.recv(), if said_open => match m {
                        Some(m) => break vec![m],
                        None => said_open = false,
                    },
                    () = &mut upgrade => break Vec::new(),
                }
            };
            stream(shared, http, session, Some(id), first, said, done, log)
        }
    }
}

/// Fails a request to the client that a plain JSON response cannot carry.
fn refuse_request(session: &Session, bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(Incoming::Request { id, .. }) = Incoming::parse(text) {
        session.outgoing.undeliverable(&id);
    }
}

/// Cancels a request whose POST was dropped (the client went away) before its answer came.
struct CancelOnDrop(Option<(Arc<Session>, RequestId)>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some((session, id)) = self.0.take() {
            session.cancel(&id);
        }
    }
}

/// The JSON answer of a finished request; a cancelled one has none.
fn finished_json(result: Result<Vec<u8>, oneshot::error::RecvError>) -> HttpResponse {
    match result {
        Ok(bytes) => json(StatusCode::OK, bytes),
        Err(_) => empty(StatusCode::NO_CONTENT),
    }
}

fn drain(said: &mut mpsc::UnboundedReceiver<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Ok(m) = said.try_recv() {
        out.push(m);
    }
    out
}

fn ready(bytes: Vec<u8>) -> oneshot::Receiver<Vec<u8>> {
    let (tx, rx) = oneshot::channel();
    let _ = tx.send(bytes);
    rx
}

/// Answers the POST with an SSE stream: `before` (already said), then whatever the request
/// says next, then its result. With a session the stream is resumable; without one, the
/// client going away cancels the request (`cancel`), since nothing could reach it.
#[allow(clippy::too_many_arguments)]
fn stream(
    shared: &Arc<Shared>,
    http: Option<&Arc<HttpSession>>,
    session: &Arc<Session>,
    cancel: Option<RequestId>,
    before: Vec<Vec<u8>>,
    said: mpsc::UnboundedReceiver<Vec<u8>>,
    done: oneshot::Receiver<Vec<u8>>,
    log: &mut Log,
) -> HttpResponse {
    log.sse = true;
    let options = &shared.options;
    let (live, events) = mpsc::unbounded_channel();
    let (sink, close_after) = match http {
        Some(http) => {
            let number = http.open_stream(live, options.sse_retry);
            (
                Sink::Session {
                    http: Arc::clone(http),
                    stream: number,
                },
                options.sse_close_after,
            )
        }
        None => (
            Sink::Direct {
                live,
                cancel: cancel.map(|id| (Arc::clone(session), id)),
            },
            None,
        ),
    };
    tokio::spawn(pump(sink, before, said, done));
    sse_response(SseBody::new(events, options.sse_keep_alive, close_after))
}

/// Where a request's SSE stream goes.
enum Sink {
    /// A session's resumable stream.
    Session { http: Arc<HttpSession>, stream: u64 },
    /// Straight to the connection (no session, no resumption).
    Direct {
        live: mpsc::UnboundedSender<Bytes>,
        cancel: Option<(Arc<Session>, RequestId)>,
    },
}

impl Sink {
    fn send(&self, message: &[u8]) {
        if message.is_empty() {
            // `Context::close_sse_stream`: end the connection, keep the stream.
            if let Sink::Session { http, stream } = self {
                http.disconnect(*stream);
            }
            return;
        }
        match self {
            Sink::Session { http, stream } => http.publish(*stream, message),
            Sink::Direct { live, .. } => {
                let _ = live.send(sse::event(None, message));
            }
        }
    }

    /// Completes when nobody can receive the stream any more.
    async fn abandoned(&self) {
        match self {
            // A session's stream can be resumed: the client going away is not the end.
            Sink::Session { .. } => std::future::pending().await,
            Sink::Direct { live, .. } => live.closed().await,
        }
    }
}

/// Moves what a request says, and then its result, onto its stream.
async fn pump(
    sink: Sink,
    before: Vec<Vec<u8>>,
    mut said: mpsc::UnboundedReceiver<Vec<u8>>,
    mut done: oneshot::Receiver<Vec<u8>>,
) {
    for message in &before {
        sink.send(message);
    }
    let mut said_open = true;
    loop {
        tokio::select! {
            biased;
            m = said.recv(), if said_open => match m {
                Some(m) => sink.send(&m),
                None => said_open = false,
            },
            result = &mut done => {
                for m in drain(&mut said) {
                    sink.send(&m);
                }
                if let Ok(bytes) = result {
                    sink.send(&bytes);
                }
                break;
            }
            () = sink.abandoned() => {
                if let Sink::Direct { cancel: Some((session, id)), .. } = &sink {
                    session.cancel(id);
                }
                return;
            }
        }
    }
    if let Sink::Session { http, stream } = &sink {
        http.finish(*stream);
    }
}

/// GET: opens the session's stream for messages the server starts, or resumes a stream after
/// `Last-Event-ID`.
fn get(shared: &Arc<Shared>, headers: &HeaderMap, log: &mut Log) -> HttpResponse {
    if shared.options.stateless {
        return method_not_allowed(shared);
    }
    if !Accepts::of(headers).sse {
        return http_error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            "Not Acceptable: the client must accept text/event-stream",
        );
    }
    let http = match session_of(shared, headers) {
        Ok(http) => http,
        Err(problem) => return problem.respond(None),
    };
    log.session = Some(Arc::clone(&http));
    let (live, events) = mpsc::unbounded_channel();
    match headers.get(LAST_EVENT_ID) {
        Some(last) => {
            let resumed = last
                .to_str()
                .ok()
                .and_then(parse_event_id)
                .ok_or(())
                .and_then(|(stream, seq)| http.resume(stream, seq, live).map_err(|_| ()));
            if resumed.is_err() {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    None,
                    "Bad Request: the Last-Event-ID names no stream of this session that can be resumed",
                );
            }
        }
        None => {
            if http.listen(live, shared.options.sse_retry).is_err() {
                return http_error(
                    StatusCode::CONFLICT,
                    None,
                    "Conflict: this session already has a GET stream open",
                );
            }
        }
    }
    log.sse = true;
    sse_response(SseBody::new(
        events,
        shared.options.sse_keep_alive,
        shared.options.sse_close_after,
    ))
}

/// DELETE: ends the session.
async fn delete(shared: &Arc<Shared>, headers: &HeaderMap, log: &mut Log) -> HttpResponse {
    if shared.options.stateless {
        return method_not_allowed(shared);
    }
    let http = match session_of(shared, headers) {
        Ok(http) => http,
        Err(problem) => return problem.respond(None),
    };
    log.session = Some(Arc::clone(&http));
    if shared.sessions.remove(&http.id).is_some() {
        http.close().await;
        tracing::debug!(session = http.short_id(), "session ended by the client");
    }
    empty(StatusCode::NO_CONTENT)
}

/// The session a GET or DELETE names, with its `MCP-Protocol-Version` checked.
fn session_of(shared: &Arc<Shared>, headers: &HeaderMap) -> Result<Arc<HttpSession>, Problem> {
    let version = header_version(headers)?;
    let Some(session_id) = headers.get(SESSION_ID) else {
        return Err(Problem::bad_request(
            "Bad Request: the Mcp-Session-Id header is required",
        ));
    };
    let http = lookup(shared, session_id).ok_or_else(Problem::session_not_found)?;
    check_version(&http, version)?;
    Ok(http)
}

fn lookup(shared: &Shared, session_id: &HeaderValue) -> Option<Arc<HttpSession>> {
    session_id
        .to_str()
        .ok()
        .and_then(|id| shared.sessions.get(id))
}

/// The `MCP-Protocol-Version` header: absent, or a revision this server speaks (400 otherwise).
fn header_version(headers: &HeaderMap) -> Result<Option<ProtocolVersion>, Problem> {
    let Some(value) = headers.get(PROTOCOL_VERSION) else {
        return Ok(None);
    };
    match value.to_str().ok().and_then(ProtocolVersion::parse) {
        Some(v) => Ok(Some(v)),
        None => {
            let supported: Vec<&str> = ProtocolVersion::HANDSHAKE
                .iter()
                .map(|v| v.as_str())
                .collect();
            Err(Problem::bad_request(format!(
                "Bad Request: unsupported MCP-Protocol-Version {:?}; supported: {}",
                String::from_utf8_lossy(value.as_bytes()),
                supported.join(", ")
            )))
        }
    }
}

/// A request's `MCP-Protocol-Version` must be the session's (absent: the session's is used).
fn check_version(http: &HttpSession, version: Option<ProtocolVersion>) -> Result<(), Problem> {
    match version {
        Some(v) if v != http.session.protocol_version() => Err(Problem::bad_request(format!(
            "Bad Request: MCP-Protocol-Version {v} does not match the session's revision {}",
            http.session.protocol_version()
        ))),
        _ => Ok(()),
    }
}

/// Why a request is refused, before it is known which id the answer carries.
struct Problem {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl Problem {
    fn bad_request(message: impl Into<Cow<'static, str>>) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn session_not_found() -> Problem {
        Problem {
            status: StatusCode::NOT_FOUND,
            message: "Not Found: no such session (it ended or expired); send `initialize` to start a new one".into(),
        }
    }

    fn respond(self, id: Option<&RequestId>) -> HttpResponse {
        http_error(self.status, id, self.message)
    }
}

// ------------------------------------------------------------------ responses

fn with_body(status: StatusCode, content_type: &'static str, body: ResponseBody) -> HttpResponse {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json(status: StatusCode, bytes: impl Into<Bytes>) -> HttpResponse {
    with_body(status, "application/json", ResponseBody::full(bytes))
}

fn text(status: StatusCode, message: &'static str) -> HttpResponse {
    with_body(
        status,
        "text/plain; charset=utf-8",
        ResponseBody::full(message),
    )
}

fn empty(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = status;
    response
}

fn accepted() -> HttpResponse {
    empty(StatusCode::ACCEPTED)
}

fn sse_response(body: SseBody) -> HttpResponse {
    let mut response = with_body(StatusCode::OK, "text/event-stream", ResponseBody::Sse(body));
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}

/// An HTTP error with a JSON-RPC error body saying why.
fn http_error(
    status: StatusCode,
    id: Option<&RequestId>,
    message: impl Into<String>,
) -> HttpResponse {
    json(
        status,
        encode_error(id, &ErrorObject::new(code::INVALID_REQUEST, message)),
    )
}

fn too_large(max: usize) -> HttpResponse {
    http_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        None,
        format!("Payload Too Large: messages are limited to {max} bytes"),
    )
}

fn too_many_sessions(id: Option<&RequestId>) -> HttpResponse {
    http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        "Service Unavailable: the server has as many sessions as it allows; try again later",
    )
}

fn refused(refusal: Refusal) -> HttpResponse {
    match refusal {
        Refusal::Origin => http_error(StatusCode::FORBIDDEN, None, "Forbidden: origin not allowed"),
        Refusal::Host => http_error(StatusCode::FORBIDDEN, None, "Forbidden: host not allowed"),
        Refusal::MissingToken | Refusal::WrongToken => {
            let (challenge, message) = if refusal == Refusal::MissingToken {
                (
                    r#"Bearer realm="mcp""#,
                    "Unauthorized: send `Authorization: Bearer <token>`",
                )
            } else {
                (
                    r#"Bearer realm="mcp", error="invalid_token""#,
                    "Unauthorized: the bearer token is not valid",
                )
            };
            let mut response = http_error(StatusCode::UNAUTHORIZED, None, message);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            response
        }
    }
}

fn method_not_allowed(shared: &Shared) -> HttpResponse {
    let allow = if shared.options.stateless {
        "POST, OPTIONS"
    } else {
        "GET, POST, DELETE, OPTIONS"
    };
    let mut response = http_error(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("Method Not Allowed: the endpoint answers {allow}"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// A CORS preflight from an allowed origin.
fn preflight() -> HttpResponse {
    let mut response = empty(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "content-type, accept, authorization, mcp-session-id, mcp-protocol-version, last-event-id",
        ),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}
