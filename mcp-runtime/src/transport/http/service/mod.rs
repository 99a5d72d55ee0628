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
//!
//! The POST path is in `post`, the per-request revision's header checks in `headers`, SSE
//! responses in `streams`, and the responses and refusals every path shares in `responses`.

mod headers;
mod identity;
// ---- Production (issue 20)
mod legacy;
mod post;
mod rate_limited;
mod responses;
mod streams;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Body, Bytes};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use tokio::sync::oneshot;

use super::Shared;
use super::security::{Accepts, Refusal, is_json_body};
use super::sessions::{HttpSession, parse_event_id};
use super::sse::{self, ResponseBody, SseBody};
use crate::escape::Escaped;
use crate::protocol::Encoded;
use crate::protocol::param_headers;
use crate::protocol::per_request::{self, Envelope};
use crate::protocol::{ErrorObject, Incoming, ProtocolVersion, RequestId, code, encode_error};
use crate::server::dispatch::outbound::OutboundRx;
use crate::server::dispatch::session::{Outbound, Reply, Session};

use crate::auth::principal::Caller;
#[cfg(feature = "metrics")]
pub(crate) use responses::{metrics_response, not_found};

use headers::*;
use identity::*;
use legacy::*;
use post::*;
use rate_limited::*;
use responses::*;
use streams::*;

const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

type HttpResponse = Response<ResponseBody>;

/// What a request body may be: hyper's own, or any other (an embedding application's).
pub(crate) trait RequestBody:
    Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static
{
}

impl<B> RequestBody for B where B: Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static {}

/// A body's error, boxed.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the access log says about a request.
#[derive(Default)]
struct Log {
    rpc: Option<Cow<'static, str>>,
    tool: Option<String>,
    session: Option<Arc<HttpSession>>,
    sse: bool,
    origin: Option<HeaderValue>,
    /// Health checks come every few seconds from load balancers: not worth a line each.
    health_check: bool,
    /// The request's body was read (a refused request's body is not).
    body_read: bool,
    /// The request is of the per-request revision, whose errors have their own statuses.
    per_request: bool,
    // ---- Identity (issue 21)
    /// Who sent it, when the server authenticates.
    subject: Option<crate::Principal>,
    // Middleware and observability.
    /// The client's address.
    peer: Option<std::net::SocketAddr>,
}

/// Serves one request and logs it.
pub(crate) async fn handle<B: RequestBody>(
    shared: Arc<Shared>,
    request: Request<B>,
    peer: Option<std::net::SocketAddr>,
) -> HttpResponse {
    let started = Instant::now();
    let method = request.method().clone();
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|n| n != "0");
    let mut log = Log {
        peer,
        ..Log::default()
    };
    let deadline = shared.options.request_timeout;
    let mut response =
        match tokio::time::timeout(deadline, route(&shared, request, peer, &mut log)).await {
            Ok(response) => response,
            Err(_) => request_timeout(deadline),
        };
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
    crate::observe::log::AccessLine {
        method: method.as_str(),
        rpc: log.rpc.as_deref().unwrap_or("-"),
        tool: log.tool.as_deref().unwrap_or("-"),
        session: log.session.as_ref().map_or("-", |s| s.short_id()),
        status: response.status().as_u16(),
        sse: log.sse,
        micros: started.elapsed().as_micros() as u64,
        caller: log.subject.as_ref().map_or("-", |p| p.subject()),
    }
    .log();
    response
}

async fn route<B: RequestBody>(
    shared: &Arc<Shared>,
    mut request: Request<B>,
    peer: Option<std::net::SocketAddr>,
    log: &mut Log,
) -> HttpResponse {
    // ---- Production (issue 20): HTTP/2 carries the host in `:authority`, which hyper puts
    // in the URI; the Host checks read the header.
    if request.version() == hyper::Version::HTTP_2
        && !request.headers().contains_key(header::HOST)
        && let Some(host) = request
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        request.headers_mut().insert(header::HOST, host);
    }
    let path = request.uri().path();
    if path == "/healthz" && matches!(*request.method(), Method::GET | Method::HEAD) {
        log.health_check = true;
        return text(StatusCode::OK, "ok\n");
    }
    // ---- Production (issue 20)
    if path == "/readyz" && matches!(*request.method(), Method::GET | Method::HEAD) {
        log.health_check = true;
        return readiness(shared).await;
    }
    #[cfg(feature = "metrics")]
    if path == "/metrics"
        && matches!(*request.method(), Method::GET | Method::HEAD)
        && shared.serves_metrics
        && let Some(m) = &shared.core.stack.metrics
    {
        log.health_check = true;
        return metrics_response(m);
    }
    if let Some(response) = metadata(shared, path, request.method()) {
        return response;
    }
    let legacy = shared.options.legacy_sse && matches!(path, "/sse" | "/messages");
    if path != shared.options.path && !legacy {
        return text(
            StatusCode::NOT_FOUND,
            "not found: the MCP endpoint is elsewhere\n",
        );
    }
    let headers = request.headers();
    if let Err(refusal) = shared.guard.check_origin(headers) {
        tracing::warn!(
            origin = ?Escaped(&String::from_utf8_lossy(
                headers.get(header::ORIGIN).map_or(&b"-"[..], |v| v.as_bytes())
            )),
            host = ?Escaped(&String::from_utf8_lossy(
                headers.get(header::HOST).map_or(&b"-"[..], |v| v.as_bytes())
            )),
            "refused a request from a disallowed origin or host"
        );
        return refused(refusal);
    }
    log.origin = headers.get(header::ORIGIN).cloned();
    if request.method() == Method::OPTIONS {
        return preflight(headers);
    }
    let (parts, body) = request.into_parts();
    let caller = match authenticate(shared, parts.headers, peer, log).await {
        Ok(caller) => caller,
        Err(response) => {
            #[cfg(feature = "metrics")]
            if matches!(
                response.status(),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ) && let Some(m) = &shared.core.stack.metrics
            {
                m.auth_failure();
            }
            return response;
        }
    };
    if legacy {
        return legacy_sse(shared, &caller, &parts.method, &parts.uri, body, log).await;
    }
    match parts.method {
        Method::POST => post(shared, &caller, body, log).await,
        Method::GET => get(shared, &caller, log).await,
        Method::DELETE => delete(shared, &caller, log).await,
        _ => method_not_allowed(shared),
    }
}

/// The request's headers (their credential removed).
fn headers_of(caller: &Caller) -> &HeaderMap {
    &caller
        .http
        .as_ref()
        .expect("an HTTP caller has its request")
        .headers
}

/// GET: opens the session's stream for messages the server starts, or resumes a stream after
/// `Last-Event-ID`.
async fn get(shared: &Arc<Shared>, caller: &Caller, log: &mut Log) -> HttpResponse {
    let headers = headers_of(caller);
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
    let http = match session_of(shared, caller).await {
        Ok(http) => http,
        Err(problem) => return problem.respond(None),
    };
    log.session = Some(Arc::clone(&http));
    let (live, events) = sse::live_channel(&shared.options);
    match headers.get(LAST_EVENT_ID) {
        Some(last) => {
            let named = last.to_str().ok().and_then(parse_event_id);
            let mut resumed = named
                .ok_or(())
                .and_then(|(stream, seq)| http.resume(stream, seq, live.clone()).map_err(|_| ()));
            // A stream of another replica: replayed from the shared event log.
            if resumed.is_err()
                && let (Some(scale), Some((stream, seq))) = (&shared.scale, named)
            {
                match scale.events(&http.id, stream, seq).await {
                    Err(e) => return Problem::store_down(&e).respond(None),
                    // A GET stream: what was missed, then this replica's own.
                    Ok(stored) if super::scale::is_listen_stream(stream) => {
                        resumed = Ok(());
                        for (_, event) in stored.unwrap_or_default() {
                            let _ = sse::send(&live, event);
                        }
                        let _ = http.listen(live, shared.options.sse_retry);
                    }
                    // A POST stream of another replica: followed in the shared log.
                    Ok(Some(_)) => {
                        resumed = Ok(());
                        scale.follow(
                            Arc::clone(&http.id),
                            stream,
                            seq,
                            live,
                            shared.options.request_timeout,
                        );
                    }
                    Ok(None) => {}
                }
            }
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
    sse_response(
        SseBody::new(
            events,
            shared.options.sse_keep_alive,
            shared.options.sse_close_after,
        )
        .counted(&shared.core),
    )
}

/// DELETE: ends the session.
async fn delete(shared: &Arc<Shared>, caller: &Caller, log: &mut Log) -> HttpResponse {
    if shared.options.stateless {
        return method_not_allowed(shared);
    }
    let http = match session_of(shared, caller).await {
        Ok(http) => http,
        Err(problem) => return problem.respond(None),
    };
    log.session = Some(Arc::clone(&http));
    if let Some(scale) = &shared.scale
        && let Err(e) = scale.end(&http.id).await
    {
        return Problem::store_down(&e).respond(None);
    }
    if shared.sessions.remove(&http.id).is_some() {
        http.close().await;
        tracing::debug!(session = http.short_id(), "session ended by the client");
    }
    empty(StatusCode::NO_CONTENT)
}

/// The session a GET or DELETE names, with its `MCP-Protocol-Version` checked.
async fn session_of(shared: &Arc<Shared>, caller: &Caller) -> Result<Arc<HttpSession>, Problem> {
    let headers = headers_of(caller);
    let version = header_version(headers)?;
    let Some(session_id) = headers.get(SESSION_ID) else {
        return Err(Problem::bad_request(
            "Bad Request: the Mcp-Session-Id header is required",
        ));
    };
    let http = lookup(shared, session_id, caller)
        .await?
        .ok_or_else(Problem::session_not_found)?;
    check_version(&http, version)?;
    Ok(http)
}

/// The session `session_id` names, if `caller` opened it: to anyone else presenting its id,
/// it does not exist (404).
///
/// A session this replica does not hold is looked up in the shared state, when there is one
/// (503 when that is unreachable).
async fn lookup(
    shared: &Shared,
    session_id: &HeaderValue,
    caller: &Caller,
) -> Result<Option<Arc<HttpSession>>, Problem> {
    let Ok(id) = session_id.to_str() else {
        return Ok(None);
    };
    let http = match (shared.sessions.get(id), &shared.scale) {
        (Some(http), Some(scale)) => {
            if !scale.still_exists(&http).await {
                // Ended (DELETE) or expired on another replica.
                if let Some(gone) = shared.sessions.remove(id) {
                    gone.close().await;
                }
                return Ok(None);
            }
            http
        }
        (Some(http), None) => http,
        (None, None) => return Ok(None),
        (None, Some(scale)) => {
            let peer = caller.http.as_ref().and_then(|h| h.peer);
            return scale
                .restore(shared, id, &caller.principal, peer)
                .await
                .map_err(|e| Problem::store_down(&e));
        }
    };
    if !http.session.principal().same_caller(&caller.principal) {
        tracing::warn!(
            session = http.short_id(),
            caller = ?caller.principal.subject(),
            "a session id was presented by a caller other than the one that opened it"
        );
        return Ok(None);
    }
    // The same caller, maybe with other scopes (a token refreshed with others).
    http.session.rescope(&caller.principal);
    Ok(Some(http))
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
