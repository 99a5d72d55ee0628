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
//! `http://` and `https://`, over reqwest: a pool of kept-alive connections, HTTP/2 where the
//! server offers it (ALPN), and TLS by rustls, trusting the platform's roots and any CA the
//! caller adds ([`HttpClientOptions::ca_cert_pem`]). Event streams are decoded by
//! `sse-stream`.
//!
//! [`Client::close`]: super::Client::close

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::http_tap::{self, HttpExchange, HttpTap};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
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
/// The most of an error body that is read to explain a refusal.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// How an HTTP client connects, besides the URL.
#[derive(Debug, Clone, Default)]
pub struct HttpClientOptions {
    /// Headers sent with every request, e.g. `("Authorization", "Bearer …")`.
    pub headers: Vec<(String, String)>,
    /// PEM-encoded CA certificates trusted for `https://`, besides the platform's roots: the
    /// CA of a private or development server.
    pub ca_certs: Vec<Vec<u8>>,
    // --- HTTP exchange tap (inspector network view) ---
    /// Sees every HTTP exchange (method, status, headers, timing): for network logs.
    pub on_exchange: Option<HttpTap>,
    // OAuth (issue 16).
    /// Logs in when the server asks for authorization (`401`): see [`oauth`](super::oauth).
    #[cfg(feature = "client-oauth")]
    pub oauth: Option<super::oauth::OAuth>,
}

impl HttpClientOptions {
    /// Adds a header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Logs in with OAuth when the server asks for authorization.
    #[cfg(feature = "client-oauth")]
    pub fn oauth(mut self, oauth: super::oauth::OAuth) -> Self {
        self.oauth = Some(oauth);
        self
    }

    /// Trusts the CA certificates of a PEM file's contents (one or more
    /// `-----BEGIN CERTIFICATE-----` blocks) for `https://`, besides the platform's roots.
    pub fn ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certs.push(pem.into());
        self
    }
}

/// One server endpoint, its session, and the pool of connections to it.
pub(crate) struct HttpTransport {
    url: Url,
    http: reqwest::Client,
    headers: HeaderMap,
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
    /// Why the server could not be reached, when a request failed before any answer: the
    /// error of a failed connect.
    unreachable: Mutex<Option<std::io::Error>>,
    // --- HTTP exchange tap (inspector network view) ---
    on_exchange: Option<HttpTap>,
    // OAuth (issue 16).
    /// The client's tokens for this server, and how it gets them.
    #[cfg(feature = "client-oauth")]
    auth: Option<super::oauth::Session>,
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

/// An `InvalidInput` error about the caller's options.
fn invalid(message: String) -> ClientError {
    ClientError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        message,
    ))
}

/// The TLS settings: rustls on ring, ALPN for HTTP/2 and HTTP/1.1, the platform's roots and
/// the caller's CAs.
pub(crate) fn tls_config(ca_certs: &[Vec<u8>]) -> Result<rustls::ClientConfig, ClientError> {
    let mut extra = Vec::new();
    for pem in ca_certs {
        let before = extra.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            extra.push(cert.map_err(|e| {
                invalid(format!(
                    "a CA certificate given to trust is not valid PEM: {e}"
                ))
            })?);
        }
        if extra.len() == before {
            return Err(invalid(
                "a CA certificate given to trust holds no `-----BEGIN CERTIFICATE-----` block: give the CA's certificate in PEM".into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS cannot be set up: {e}")))?;
    let mut config = match rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra.iter().cloned(),
        Arc::clone(&provider),
    ) {
        Ok(verifier) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
        // No usable roots on this machine (no CA bundle installed): only the caller's CAs are
        // trusted, and `https://` to anyone else is refused when connecting.
        Err(e) => {
            tracing::debug!(error = %e, "the platform's CA roots are unavailable");
            let mut roots = rustls::RootCertStore::empty();
            for cert in extra {
                roots
                    .add(cert)
                    .map_err(|e| invalid(format!("a CA certificate cannot be trusted: {e}")))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl HttpTransport {
    /// `per_request` is the revision when it is one without a handshake (2026-07-28).
    pub(crate) fn new(
        url: &str,
        options: &HttpClientOptions,
        from_server: mpsc::UnboundedSender<Vec<u8>>,
        per_request: Option<&str>,
    ) -> Result<HttpTransport, ClientError> {
        let bad = |why: &str| invalid(format!("`{url}` {why}"));
        let parsed = Url::parse(url).map_err(|_| bad("is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("is not an http:// or https:// URL"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("has no host"));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &options.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| invalid(format!("`{name}` is not a valid header name")))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|_| invalid(format!("the value of header `{name}` is not valid")))?;
            headers.append(name, value);
        }
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(&options.ca_certs)?)
            .tcp_nodelay(true)
            // A redirected POST would turn into a GET: a redirect is the server's answer.
            .redirect(reqwest::redirect::Policy::none());
        // `HTTP_PROXY` and friends are honoured, except for this machine, which no proxy
        // reaches on the client's behalf.
        if is_loopback(&parsed) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| invalid(format!("the HTTP client cannot be set up: {e}")))?;
        #[cfg(feature = "client-oauth")]
        let auth = match &options.oauth {
            Some(o) => Some(
                super::oauth::Session::new(o.clone(), &parsed, tls_config(&options.ca_certs)?)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
            None => None,
        };
        Ok(HttpTransport {
            #[cfg(feature = "client-oauth")]
            auth,
            url: parsed,
            http,
            headers,
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
            unreachable: Mutex::new(None),
            on_exchange: options.on_exchange.clone(),
        })
    }

    /// Why the server could not be reached, if a request failed for that.
    pub(crate) fn take_unreachable(&self) -> Option<std::io::Error> {
        lock(&self.unreachable).take()
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
        let mut headers = HeaderMap::new();
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
        let body = Bytes::from(message);
        #[cfg(feature = "client-oauth")]
        let mut attempt = super::oauth::Attempt::default();
        let response = loop {
            #[cfg(feature = "client-oauth")]
            let generation = self.auth.as_ref().map(|a| a.generation());
            #[cfg(feature = "client-oauth")]
            let these = if self.auth.is_some() {
                headers.clone()
            } else {
                std::mem::take(&mut headers)
            };
            #[cfg(not(feature = "client-oauth"))]
            let these = std::mem::take(&mut headers);
            let request = self.request(Method::POST).headers(these).body(body.clone());
            let response = match self.send(request).await {
                Ok(r) => r,
                Err(e) => return self.fail(id.as_ref(), format!("the request failed: {e}")),
            };
            #[cfg(feature = "client-oauth")]
            if let (Some(auth), Some(generation)) = (&self.auth, generation)
                && matches!(
                    response.status(),
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                )
            {
                match auth
                    .refused(
                        generation,
                        response.status(),
                        response.headers(),
                        &mut attempt,
                    )
                    .await
                {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => return self.fail(id.as_ref(), e.to_string()),
                }
            }
            break response;
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
                let body = read_text(response).await;
                tracing::warn!(%status, body, "the server refused a notification or response");
            }
            return;
        };
        if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
            return self.fail(
                Some(&id),
                format!("the server answered the request with {status} and no response"),
            );
        }
        if is_sse && status.is_success() {
            let outcome = self.read_stream(response, Some(&id), learn).await;
            return self.resume(outcome, &id).await;
        }
        let body = match read_limited(response, DEFAULT_MAX_MESSAGE_SIZE).await {
            Ok(b) => b,
            Err(e) => return self.fail(Some(&id), format!("reading the response failed: {e}")),
        };
        if !status.is_success() {
            // The server explains itself with a JSON-RPC error, maybe without an id.
            let error = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.error)
                .unwrap_or_else(|_| {
                    let hint = if status == StatusCode::UNAUTHORIZED {
                        "; the server requires authorization: log in with OAuth (`HttpClientOptions::oauth`, `mcp-cli auth login URL`) or send its key (`--header`, `--api-key`)"
                    } else {
                        ""
                    };
                    ErrorObject::new(
                        code::INTERNAL_ERROR,
                        format!("HTTP {status}: {}{hint}", String::from_utf8_lossy(&body).trim()),
                    )
                });
            return self.deliver(encode_error(Some(&id), &error));
        }
        self.learn(learn, &body);
        self.deliver(body);
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
            let response = match self.get_authorized(Some(&last)).await {
                Ok(r) => r,
                Err(GetFailure::Send(_)) => continue,
                Err(GetFailure::Auth(e)) => return self.fail(Some(id), e),
            };
            if !response.status().is_success() {
                let status = response.status();
                return self.fail(
                    Some(id),
                    format!("resuming the stream failed with {status}"),
                );
            }
            let next = self.read_stream(response, Some(id), Learn::Nothing).await;
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
            match self.get_authorized(last.as_deref()).await {
                Ok(response) if response.status().is_success() => {
                    failures = 0;
                    let read = self.read_stream(response, None, Learn::Nothing);
                    let outcome = tokio::select! {
                        o = read => o,
                        () = self.closed() => return,
                    };
                    last = outcome.last_event_id.or(last);
                    retry = outcome.retry.unwrap_or(retry);
                }
                // The server offers no GET stream.
                Ok(response) if response.status() == StatusCode::METHOD_NOT_ALLOWED => return,
                Ok(response) => {
                    tracing::debug!(status = %response.status(), "the GET stream was refused");
                    failures += 1;
                }
                // Logging in failed: trying again would only ask the user again.
                Err(GetFailure::Auth(e)) => {
                    tracing::warn!(error = %e, "the GET stream is not authorized; it stays closed");
                    return;
                }
                Err(GetFailure::Send(e)) => {
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

    /// Opens a GET stream as [`get`](Self::get) does; when the server asks for
    /// authorization (`401`, or `403` for more scope) the client logs in as for a POST and
    /// opens it again.
    async fn get_authorized(&self, last: Option<&str>) -> Result<Response, GetFailure> {
        #[cfg(feature = "client-oauth")]
        let mut attempt = super::oauth::Attempt::default();
        loop {
            #[cfg(feature = "client-oauth")]
            let generation = self.auth.as_ref().map(|a| a.generation());
            let response = self.get(last).await.map_err(GetFailure::Send)?;
            #[cfg(feature = "client-oauth")]
            if let (Some(auth), Some(generation)) = (&self.auth, generation)
                && matches!(
                    response.status(),
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                )
            {
                match auth
                    .refused(
                        generation,
                        response.status(),
                        response.headers(),
                        &mut attempt,
                    )
                    .await
                {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => return Err(GetFailure::Auth(e.to_string())),
                }
            }
            return Ok(response);
        }
    }

    /// Opens a GET stream, resuming after `last` when given.
    async fn get(&self, last: Option<&str>) -> Result<Response, SendError> {
        let mut request = self
            .request(Method::GET)
            .header(header::ACCEPT, "text/event-stream");
        if let Some(last) = last.and_then(|l| HeaderValue::from_str(l).ok()) {
            request = request.header(LAST_EVENT_ID, last);
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
        response: Response,
        id: Option<&RequestId>,
        learn: Learn,
    ) -> StreamOutcome {
        let mut outcome = StreamOutcome::default();
        let events = events(response.bytes_stream(), DEFAULT_MAX_MESSAGE_SIZE);
        tokio::pin!(events);
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    tracing::debug!(error = %e, "an SSE stream broke off");
                    break;
                }
            };
            outcome.events += 1;
            if let Some(event_id) = event.id {
                outcome.last_event_id = Some(event_id);
            }
            if let Some(retry) = event.retry {
                outcome.retry = Some(Duration::from_millis(retry));
            }
            let data = event.data.unwrap_or_default().into_bytes();
            if data.is_empty() {
                continue;
            }
            if let Some(id) = id
                && answers(&data, id)
            {
                outcome.answered = true;
                self.learn(learn, &data);
                self.deliver(data);
                break;
            }
            self.deliver(data);
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
        match self.send(self.request(Method::DELETE)).await {
            Ok(response) if response.status().is_success() => {}
            // 405: the server does not let clients end sessions; 404: it already ended.
            Ok(response) => {
                tracing::debug!(status = %response.status(), "DELETE of the session refused")
            }
            Err(e) => tracing::debug!(error = %e, "DELETE of the session failed"),
        }
    }

    /// A request to the endpoint with the caller's headers, the session id and the revision.
    fn request(&self, method: Method) -> RequestBuilder {
        let mut headers = self.headers.clone();
        if let Some(session) = lock(&self.session_id).clone() {
            headers.insert(SESSION_ID, session);
        }
        if let Some(version) = lock(&self.protocol_version).clone() {
            headers.insert(PROTOCOL_VERSION, version);
        }
        #[cfg(feature = "client-oauth")]
        if let Some(auth) = &self.auth {
            auth.headers(&method, &self.url, &mut headers);
        }
        self.http.request(method, self.url.clone()).headers(headers)
    }

    /// Sends a request on a pooled connection, or a new one; remembers why the server could
    /// not be reached when it could not.
    async fn send(&self, request: RequestBuilder) -> Result<Response, SendError> {
        let sent = match &self.on_exchange {
            None => request.send().await,
            Some(tap) => self.send_watched(tap, request).await,
        };
        match sent {
            Ok(response) => Ok(response),
            Err(e) => {
                let error = SendError::from(&e);
                if e.is_connect() {
                    let kind = if error.tls {
                        std::io::ErrorKind::InvalidData
                    } else {
                        std::io::ErrorKind::ConnectionRefused
                    };
                    *lock(&self.unreachable) = Some(std::io::Error::new(kind, error.to_string()));
                }
                Err(error)
            }
        }
    }

    /// [`HttpTransport::send`] with the exchange reported to `tap`.
    async fn send_watched(
        &self,
        tap: &HttpTap,
        request: RequestBuilder,
    ) -> Result<Response, reqwest::Error> {
        let (client, request) = request.build_split();
        let request = request?;
        let (rpc_method, rpc_name) = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map(http_tap::rpc)
            .unwrap_or_default();
        let mut exchange = HttpExchange {
            rpc_method,
            rpc_name,
            method: request.method().to_string(),
            url: request.url().to_string(),
            request_headers: http_tap::pairs(request.headers()),
            status: None,
            response_headers: Vec::new(),
            elapsed: Duration::ZERO,
            error: None,
        };
        let started = std::time::Instant::now();
        let outcome = client.execute(request).await;
        exchange.elapsed = started.elapsed();
        match &outcome {
            Ok(r) => {
                exchange.status = Some(r.status().as_u16());
                exchange.response_headers = http_tap::pairs(r.headers());
            }
            Err(e) => exchange.error = Some(e.to_string()),
        }
        tap.report(&exchange);
        outcome
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

/// Why a GET stream could not be opened.
enum GetFailure {
    /// The request did not reach the server, or its answer broke off.
    Send(SendError),
    /// The server asks for authorization and logging in failed.
    #[cfg_attr(not(feature = "client-oauth"), allow(dead_code))]
    Auth(String),
}

/// Whether `url` names this machine.
fn is_loopback(url: &Url) -> bool {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    }
}

/// Why a request got no answer: reqwest's error and its causes, in one line.
#[derive(Debug)]
struct SendError {
    message: String,
    /// The TLS handshake failed (e.g. an untrusted certificate).
    tls: bool,
}

impl From<&reqwest::Error> for SendError {
    fn from(e: &reqwest::Error) -> SendError {
        let mut message = String::new();
        let mut cause: Option<&dyn std::error::Error> = Some(e);
        while let Some(c) = cause {
            let text = c.to_string();
            // Wrappers often repeat their cause's text.
            if !message.contains(&text) {
                if !message.is_empty() {
                    message.push_str(": ");
                }
                message.push_str(&text);
            }
            cause = c.source();
        }
        let tls = e.is_connect() && message.contains("certificate");
        if e.is_connect() && message.contains("InvalidContentType") {
            message.push_str("; the server does not speak TLS here: try its http:// URL");
        }
        if tls {
            message.push_str(
                "; the server's TLS certificate is not trusted: if it comes from a private CA, trust that CA (`HttpClientOptions::ca_cert_pem`, `mcp-cli --ca-cert FILE`)",
            );
        }
        SendError { message, tls }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
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

/// The body of `response`, refused once longer than `limit` bytes.
async fn read_limited(response: Response, limit: usize) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!("the body is larger than {limit} bytes"));
    }
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| SendError::from(&e).to_string())?;
        if body.len() + chunk.len() > limit {
            return Err(format!("the body is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_text(response: Response) -> String {
    match read_limited(response, ERROR_BODY_LIMIT).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => "(a long or broken body)".into(),
    }
}

/// An event over the size limit.
#[derive(Debug)]
struct TooLarge(usize);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an SSE event was larger than {} bytes", self.0)
    }
}

impl std::error::Error for TooLarge {}

/// The SSE events of a body, the stream ending in an error once an event grows larger than
/// `limit` bytes.
fn events<E>(
    body: impl Stream<Item = Result<Bytes, E>>,
    limit: usize,
) -> impl Stream<Item = Result<sse_stream::Sse, sse_stream::Error>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    // Bytes read since the last event: a bound on what the decoder holds.
    let pending = Arc::new(AtomicUsize::new(0));
    let counted = {
        let pending = Arc::clone(&pending);
        body.map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            if pending.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len() > limit {
                return Err(std::io::Error::other(TooLarge(limit)));
            }
            Ok(chunk)
        })
    };
    sse_stream::SseByteStream::new(counted).map(move |event| {
        pending.store(0, Ordering::Relaxed);
        event
    })
}

/// Decodes `chunks` as an SSE body to the end (the fuzz target of the decoder).
#[cfg(feature = "fuzzing")]
pub(crate) fn decode_events_for_fuzzing(chunks: Vec<Bytes>, limit: usize) {
    let body = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let events = events(body, limit);
        tokio::pin!(events);
        while let Some(e) = events.next().await {
            if let Ok(e) = e {
                let _ = e.data.as_deref().map(crate::protocol::Incoming::parse);
            }
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The events of a body arriving in `chunks`, and whether it ended in an error.
    fn decode(chunks: &[&str], limit: usize) -> (Vec<sse_stream::Sse>, bool) {
        let body = futures_util::stream::iter(
            chunks
                .iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c.as_bytes())))
                .collect::<Vec<_>>(),
        );
        let mut out = Vec::new();
        let mut failed = false;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let events = events(body, limit);
            tokio::pin!(events);
            while let Some(e) = events.next().await {
                match e {
                    Ok(e) => out.push(e),
                    Err(_) => failed = true,
                }
            }
        });
        (out, failed)
    }

    #[test]
    fn decodes_sse_across_chunks() {
        let (events, failed) = decode(
            &[
                "id: 1-0\nretry: 250\ndata: \n\n: keep-alive\n\nid: 1-1\r\nda",
                "ta: {\"a\":\n",
                "data: 1}\n\ndata:x\n\n",
            ],
            1024,
        );
        assert!(!failed);
        let seen: Vec<_> = events
            .iter()
            .filter(|e| e.data.is_some() || e.id.is_some())
            .map(|e| (e.id.as_deref(), e.retry, e.data.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                (Some("1-0"), Some(250), Some("")),
                (Some("1-1"), None, Some("{\"a\":\n1}")),
                (None, None, Some("x")),
            ]
        );
    }

    #[test]
    fn an_sse_event_over_the_limit_ends_the_stream() {
        let big = format!("data: {}", "x".repeat(100));
        let (events, failed) = decode(&["data: a\n\n", &big, &big, "\n\n"], 150);
        assert!(failed);
        assert_eq!(events.len(), 1);
        // Many small events in all add up to more than the limit, one by one they do not.
        let small = "data: y\n\n".repeat(10);
        let (events, failed) = decode(&[&small, &small, &small], 100);
        assert!(!failed);
        assert_eq!(events.len(), 30);
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
        let new = |url: &str, options: &HttpClientOptions| {
            HttpTransport::new(url, options, tx.clone(), None).map(|t| t.url.to_string())
        };
        assert!(new("ftp://example.com/mcp", &options).is_err());
        assert!(new("not a url", &options).is_err());
        assert_eq!(
            new("http://[::1]:8000/mcp?x=1", &options).unwrap(),
            "http://[::1]:8000/mcp?x=1"
        );
        assert_eq!(
            new("https://example.com/mcp", &options).unwrap(),
            "https://example.com/mcp"
        );
        let e = new(
            "https://example.com/mcp",
            &options.clone().ca_cert_pem("not a certificate"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("BEGIN CERTIFICATE"), "{e}");
        let loopback = |u: &str| is_loopback(&Url::parse(u).unwrap());
        assert!(loopback("http://127.0.0.1:8000/mcp"));
        assert!(loopback("http://[::1]/mcp"));
        assert!(loopback("https://LocalHost/mcp"));
        assert!(loopback("http://app.localhost/mcp"));
        assert!(!loopback("http://10.0.0.1/mcp"));
        assert!(!loopback("https://example.com/mcp"));
        let e = new("http://h/", &options.header("Bad Name", "v")).unwrap_err();
        assert!(e.to_string().contains("not a valid header name"), "{e}");
    }
}
