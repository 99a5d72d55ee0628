//! POST: the message parsed once, the session found or made, and the answer: `202`, JSON, or
//! an SSE stream.

use super::*;
use crate::auth::principal::with_caller;
use crate::protocol::per_request::{names_revision, sniff_message};

/// How a request's answer may be sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// JSON when the result comes first, SSE when something is said before it.
    Auto,
    /// Always JSON.
    Json,
    /// Always SSE (the client does not accept JSON).
    Sse,
}

pub(super) async fn post<B: RequestBody>(
    shared: &Arc<Shared>,
    caller: &Caller,
    body: B,
    log: &mut Log,
) -> HttpResponse {
    let headers = headers_of(caller);
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
    let read = tokio::time::timeout(
        shared.options.body_read_timeout,
        Limited::new(body, max).collect(),
    );
    let bytes = match read.await {
        Err(_) => return body_timeout(shared.options.body_read_timeout),
        Ok(Ok(collected)) => {
            log.body_read = true;
            collected.to_bytes()
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(max),
        Ok(Err(e)) => {
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
    // A per-request request's params are read once, into the message and its envelope; a
    // message that does not name the revision has params that do not either.
    let named = names_revision(text);
    let (message, sniffed) = match named.then(|| sniff_message(text)).flatten() {
        Some((message, envelope)) => (message, Some(envelope)),
        None => match Incoming::parse(text) {
            Ok(m) => {
                let sniffed = match &m {
                    Incoming::Request { params, .. } if named => Envelope::sniff(*params),
                    _ => None,
                };
                (m, sniffed)
            }
            Err(bad) => {
                return json(
                    StatusCode::BAD_REQUEST,
                    encode_error(bad.id.as_ref(), &bad.error),
                );
            }
        },
    };
    let (id, is_initialize) = describe(&message, log);
    // Borrowed from the request unless it is not UTF-8.
    let header =
        headers
            .get(PROTOCOL_VERSION)
            .map(|v| match String::from_utf8_lossy(v.as_bytes()) {
                Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
                Cow::Owned(text) => Cow::Owned(text.trim().to_string()),
            });
    if sniffed.is_some()
        || header
            .as_deref()
            .is_some_and(|h| ProtocolVersion::parse(h).is_none())
    {
        return serve_per_request(
            shared,
            caller,
            header.as_deref(),
            message,
            sniffed,
            mode,
            log,
        )
        .await;
    }
    let version = match header_version(headers) {
        Ok(v) => v,
        Err(problem) => return problem.respond(id.as_ref()),
    };

    if shared.options.stateless {
        // A fresh session for every message: nothing is kept between POSTs, and what such a
        // session says outside a request has nowhere to go.
        let session = Session::new_anonymous(
            Arc::clone(&shared.core),
            shared.nowhere.clone(),
            caller.principal.clone(),
        );
        if let Some(peer) = log.peer {
            session.set_peer_addr(peer);
        }
        if !is_initialize {
            session.assume_initialized(version.unwrap_or(ProtocolVersion::HTTP_ASSUMED));
        }
        return answer(
            shared,
            caller,
            None,
            &session,
            |out| {
                crate::observe::with_trace_headers(headers, || {
                    session.handle_incoming(message, out)
                })
            },
            mode,
            log,
        )
        .await;
    }

    let Some(session_id) = headers.get(SESSION_ID) else {
        if is_initialize {
            return initialize(shared, caller, message, log).await;
        }
        return http_error(
            StatusCode::BAD_REQUEST,
            id.as_ref(),
            "Bad Request: the Mcp-Session-Id header is required; send `initialize` first to get a session",
        );
    };
    let http = match lookup(shared, session_id, caller).await {
        Ok(Some(http)) => http,
        Ok(None) => return Problem::session_not_found().respond(id.as_ref()),
        Err(problem) => return problem.respond(id.as_ref()),
    };
    log.session = Some(Arc::clone(&http));
    if let Err(problem) = check_version(&http, version) {
        return problem.respond(id.as_ref());
    }
    let session = Arc::clone(&http.session);
    // Scale out: what the other replicas must hear of, and whether the record changes.
    let changes_record = match &shared.scale {
        Some(scale) => {
            scale.forward(&http, &message, text);
            matches!(&message, Incoming::Request { method, .. }
                if matches!(&**method, "logging/setLevel" | "resources/subscribe" | "resources/unsubscribe"))
        }
        None => false,
    };
    let response = answer(
        shared,
        caller,
        Some(&http),
        &session,
        |out| crate::observe::with_trace_headers(headers, || session.handle_incoming(message, out)),
        mode,
        log,
    )
    .await;
    if changes_record
        && let Some(scale) = &shared.scale
        && let Err(e) = scale.changed(&http).await
    {
        return Problem::store_down(&e).respond(id.as_ref());
    }
    response
}

/// Notes the message in the log; returns its id and whether it is `initialize`.
pub(super) fn describe(message: &Incoming<'_>, log: &mut Log) -> (Option<RequestId>, bool) {
    match message {
        Incoming::Request { id, method, params } => {
            if method == "tools/call"
                && tracing::enabled!(target: "mcp_runtime::http", tracing::Level::INFO)
            {
                log.tool = params.and_then(|p| tool_name(p.get())).map(Cow::into_owned);
            }
            log.rpc = Some(method_text(method));
            (Some(id.clone()), method == "initialize")
        }
        Incoming::Notification { method, .. } => {
            log.rpc = Some(method_text(method));
            (None, false)
        }
        Incoming::Response { .. } => {
            log.rpc = Some(Cow::Borrowed("(response)"));
            (None, false)
        }
    }
}

/// A method for the access log: the common ones without an allocation.
fn method_text(method: &str) -> Cow<'static, str> {
    const COMMON: [&str; 12] = [
        "tools/call",
        "tools/list",
        "initialize",
        "notifications/initialized",
        "ping",
        "resources/read",
        "resources/list",
        "prompts/get",
        "prompts/list",
        "notifications/cancelled",
        "completion/complete",
        "resources/templates/list",
    ];
    match COMMON.iter().find(|m| **m == method) {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(method.to_string()),
    }
}

/// The `name` of a `tools/call`'s params (already checked to be JSON). The usual form,
/// `{"name":"…"` first and without escapes, is read without parsing the arguments.
fn tool_name(params: &str) -> Option<Cow<'_, str>> {
    let rest = params.trim_start().strip_prefix('{')?.trim_start();
    if let Some(rest) = rest.strip_prefix("\"name\"")
        && let Some(rest) = rest.trim_start().strip_prefix(':')
        && let Some(rest) = rest.trim_start().strip_prefix('"')
        && let Some(end) = rest.find(['"', '\\'])
        && rest.as_bytes()[end] == b'"'
    {
        return Some(Cow::Borrowed(&rest[..end]));
    }
    #[derive(Deserialize)]
    struct Name<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
    }
    serde_json::from_str::<Name<'_>>(params)
        .ok()
        .map(|n| n.name)
}

/// `initialize` without a session: starts one.
pub(super) async fn initialize(
    shared: &Arc<Shared>,
    caller: &Caller,
    message: Incoming<'_>,
    log: &mut Log,
) -> HttpResponse {
    let id = match &message {
        Incoming::Request { id, .. } => Some(id.clone()),
        _ => None,
    };
    if shared.sessions.is_full() {
        return too_many_sessions(id.as_ref());
    }
    // ---- Production (issue 20)
    if shared.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return draining(id.as_ref());
    }
    let peer = caller.http.as_ref().and_then(|h| h.peer).map(|p| p.ip());
    if shared.sessions.address_is_full(peer) {
        return http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            id.as_ref(),
            "Service Unavailable: this address holds as many sessions as one may; end some (DELETE) or wait for them to expire",
        );
    }
    let http = shared
        .sessions
        .create(Arc::clone(&shared.core), peer, caller.principal.clone());
    if let Some(peer) = log.peer {
        http.session.set_peer_addr(peer);
    }
    // `initialize` continues the client's trace from its `traceparent` header too.
    let bytes = match with_caller(caller.clone(), || {
        crate::observe::with_trace_headers(headers_of(caller), || {
            http.session.handle_incoming(message, &shared.nowhere)
        })
    }) {
        Reply::Now(encoded) if rate_limited(&encoded) => return too_many_requests(encoded),
        Reply::Now(encoded) => encoded.bytes,
        // A middleware that waits: the handshake is answered when it is done.
        Reply::Later(_, fut) => fut.await.bytes,
        Reply::None => {
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
    if let Some(scale) = &shared.scale
        && let Err(e) = scale.save(&http).await
    {
        shared.sessions.remove(&http.id);
        return Problem::store_down(&e).respond(id.as_ref());
    }
    tracing::debug!(session = http.short_id(), "session started");
    log.session = Some(http);
    let mut response = json(StatusCode::OK, bytes);
    response.headers_mut().insert(SESSION_ID, session_id);
    response
}

/// Hands a message to the session (`dispatch`) and answers the POST.
#[allow(clippy::too_many_arguments)]
pub(super) async fn answer(
    shared: &Arc<Shared>,
    caller: &Caller,
    http: Option<&Arc<HttpSession>>,
    session: &Arc<Session>,
    dispatch: impl FnOnce(&Outbound) -> Reply,
    mode: Mode,
    log: &mut Log,
) -> HttpResponse {
    let (said_tx, mut said) = crate::server::dispatch::outbound::for_session(&session.core.limits);
    let reply = with_caller(caller.clone(), || dispatch(&said_tx));
    drop(said_tx);
    match reply {
        Reply::None => accepted(),
        Reply::Now(encoded) if rate_limited(&encoded) => too_many_requests(encoded),
        Reply::Now(encoded) => {
            if let Some(refused) = step_up(shared, &encoded) {
                return refused;
            }
            let before = drain(&mut said);
            if (before.is_empty() && mode != Mode::Sse) || mode == Mode::Json {
                return finished_json(log, Ok(encoded));
            }
            stream(
                shared,
                http,
                session,
                None,
                before,
                said,
                ready(encoded),
                log,
            )
        }
        Reply::Later(id, future) => {
            // Scale out: the session's budget holds across replicas.
            let future = match (&shared.scale, http) {
                (Some(scale), Some(http)) => match scale.admit(http, &id, future).await {
                    Ok(future) => future,
                    Err(refused) => return too_many_requests(refused),
                },
                _ => future,
            };
            let (done_tx, done) = oneshot::channel();
            session.spawn_request(id.clone(), future, move |encoded| {
                let _ = done_tx.send(encoded);
            });
            // Before a stream exists nothing could resume the answer: a client that goes
            // away while the POST waits (or a POST past its deadline) cancels the request
            // (once streaming, the pump does).
            let mut waiting = CancelOnDrop(Some((Arc::clone(session), id.clone())));
            let response = wait(shared, http, session, id, said, done, mode, log).await;
            waiting.0 = None;
            response
        }
    }
}

/// Waits for a running request: its result as JSON, or a stream once it says something.
#[allow(clippy::too_many_arguments)]
pub(super) async fn wait(
    shared: &Arc<Shared>,
    http: Option<&Arc<HttpSession>>,
    session: &Arc<Session>,
    id: RequestId,
    mut said: OutboundRx,
    mut done: oneshot::Receiver<Encoded>,
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
                result = &mut done => return finished_json(log, result),
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
                            Ok(encoded) if !before.is_empty() => stream(
                                shared, http, session, None, before, said, ready(encoded), log,
                            ),
                            result => finished_json(log, result),
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
pub(super) fn refuse_request(session: &Session, bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(Incoming::Request { id, .. }) = Incoming::parse(text) {
        session.outgoing.undeliverable(&id);
    }
}

/// Cancels a request whose POST was dropped (the client went away) before its answer came.
pub(super) struct CancelOnDrop(Option<(Arc<Session>, RequestId)>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some((session, id)) = self.0.take() {
            session.cancel(&id);
        }
    }
}

/// The JSON answer of a finished request; a cancelled one has none. A per-request answer's
/// error gets the HTTP status the revision gives it.
pub(super) fn finished_json(
    log: &Log,
    result: Result<Encoded, oneshot::error::RecvError>,
) -> HttpResponse {
    match result {
        Ok(encoded) if rate_limited(&encoded) => too_many_requests(encoded),
        Ok(encoded) => {
            let status = if log.per_request {
                per_request_status(encoded.error)
            } else {
                StatusCode::OK
            };
            json(status, encoded.bytes)
        }
        Err(_) => empty(StatusCode::NO_CONTENT),
    }
}

pub(super) fn drain(said: &mut OutboundRx) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Ok(m) = said.try_recv() {
        out.push(m);
    }
    out
}

pub(super) fn ready(bytes: Encoded) -> oneshot::Receiver<Encoded> {
    let (tx, rx) = oneshot::channel();
    let _ = tx.send(bytes);
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tool_name_is_read_with_or_without_the_short_cut() {
        let name = |p: &str| tool_name(p).map(Cow::into_owned);
        assert_eq!(
            name(r#"{"name":"add","arguments":{"a":1}}"#).as_deref(),
            Some("add")
        );
        assert_eq!(name(r#" { "name" : "add" }"#).as_deref(), Some("add"));
        // Escapes, another order: parsed.
        assert_eq!(name(r#"{"name":"a\"b\nc"}"#).as_deref(), Some("a\"b\nc"));
        assert_eq!(
            name(r#"{"arguments":{"name":"x"},"name":"add"}"#).as_deref(),
            Some("add")
        );
        assert_eq!(name(r#"{"arguments":{}}"#), None);
        assert_eq!(method_text("tools/call"), "tools/call");
        assert!(matches!(method_text("tools/call"), Cow::Borrowed(_)));
        assert_eq!(method_text("x/y"), "x/y");
    }
}
