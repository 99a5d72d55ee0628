//! The inspector's web server: the page, and a small JSON API guarded by the session token,
//! the Host header and the Origin header.
//!
//! | Route | What |
//! |---|---|
//! | `GET /?token=T` | the inspector page |
//! | `GET /api/events?token=T` | server-sent events: a snapshot, then every change |
//! | `POST /api/rpc` | `{method, params, tag?}` → `{result}` or `{error}`, with `ms` |
//! | `POST /api/cancel` | `{tag}`: cancels the request sent with that tag |
//! | `POST /api/answer` | `{id, result}` or `{id, error}`: answers a request of the server |
//! | `POST /api/reconnect` | `{revision?}`: reconnects (restarting a stdio server) |
//! | `POST /api/view` | `{uri}`: reads an MCP App view → `{id, csp, ui}` |
//! | `GET /view/<id>` | that view, with its CSP and `sandbox allow-scripts`, to frame |
//! | `POST /api/skills` | the server's skills (`skills/list`, every page) |
//! | `POST /api/skill/verify` | `{uri}`: reads every file of a skill, each checked |
//! | `POST /api/open` | `{file, line}`: opens a source file in `MCP_CLI_EDITOR` |
//! | `POST /api/schema` | `{revision}`: the official JSON Schema of a revision, from `MCP_SCHEMAS_DIR`, else the user's cache, fetched there on first use |
//! | `POST /api/compare` | `{method, params, revisions: [a, b]}`: the request on a fresh connection at each |
//!
//! API calls carry the token in an `X-Inspector-Token` header, which a page of another origin
//! cannot send without a CORS preflight that this server never grants.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use mcp_runtime::client::ListenFilter;
use mcp_runtime::protocol::ErrorObject;
use mcp_runtime::{Client, ClientError, LogLevel};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::hub::{Control, Hub};

const PAGE: &str = include_str!("assets/index.html");
const MAX_BODY: usize = 16 * 1024 * 1024;

type Resp = Response<BoxBody<Bytes, Infallible>>;

/// What every request is checked against.
pub(super) struct Guard {
    pub token: String,
    pub port: u16,
}

impl Guard {
    fn host_ok(&self, req: &Request<Incoming>) -> bool {
        let Some(host) = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
        else {
            return false;
        };
        host == format!("127.0.0.1:{}", self.port) || host == format!("localhost:{}", self.port)
    }

    fn origin_ok(&self, req: &Request<Incoming>) -> bool {
        match req.headers().get(header::ORIGIN).map(|o| o.to_str()) {
            None => true,
            Some(Ok(o)) => {
                o == format!("http://127.0.0.1:{}", self.port)
                    || o == format!("http://localhost:{}", self.port)
            }
            Some(Err(_)) => false,
        }
    }

    fn token_ok(&self, given: Option<&str>) -> bool {
        // Compared in constant time.
        given.is_some_and(|g| {
            g.len() == self.token.len()
                && g.bytes()
                    .zip(self.token.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
    }
}

fn query_token(req: &Request<Incoming>) -> Option<&str> {
    req.uri()
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
}

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn json_response(status: StatusCode, v: &Value) -> Resp {
    full(status, "application/json", v.to_string())
}

fn refuse(status: StatusCode, why: &str) -> Resp {
    json_response(status, &json!({ "error": { "message": why } }))
}

/// A response body fed by a channel: the event stream.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

fn sse_frame(data: &str) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

fn events(hub: &Arc<Hub>) -> Resp {
    let (snapshot, mut rx) = hub.subscribe();
    let (tx, body_rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        if tx.send(sse_frame(&snapshot.to_string())).await.is_err() {
            return;
        }
        let mut keepalive = tokio::time::interval(std::time::Duration::from_secs(15));
        loop {
            let frame = tokio::select! {
                e = rx.recv() => match e {
                    Ok(e) => sse_frame(&e),
                    // Too slow a reader: tell the page to start over from a fresh snapshot.
                    Err(broadcast::error::RecvError::Lagged(_)) => sse_frame(r#"{"type":"lagged"}"#),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = keepalive.tick() => Bytes::from_static(b": keepalive\n\n"),
            };
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(ChannelBody(body_rx).boxed());
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn page() -> Resp {
    let mut r = full(StatusCode::OK, "text/html; charset=utf-8", PAGE);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             img-src data:; media-src data:; connect-src 'self'; frame-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    r
}

async fn body_json(req: Request<Incoming>) -> Result<Value, Resp> {
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, &format!("unreadable body: {e}")))?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            &format!("the body is not JSON: {e}"),
        )
    })
}

pub(super) fn error_value(e: &ClientError) -> Value {
    match e {
        ClientError::Rpc(err) => json!(err),
        other => json!({ "message": other.to_string() }),
    }
}

async fn rpc(hub: &Arc<Hub>, body: Value) -> Resp {
    let Some(method) = body["method"].as_str() else {
        return refuse(StatusCode::BAD_REQUEST, "`method` is missing");
    };
    let Some(client) = hub.client() else {
        return refuse(StatusCode::CONFLICT, "the server is not connected");
    };
    let mut params = match &body["params"] {
        Value::Null => json!({}),
        p => p.clone(),
    };
    if body["asTask"] == true {
        if !client.is_per_request() {
            return refuse(
                StatusCode::BAD_REQUEST,
                "tasks are an extension of 2026-07-28: reconnect with that revision to run a call as a task",
            );
        }
        super::tasks::declare(&mut params);
    }
    if client.is_per_request()
        && let Some(answer) = per_request(hub, &client, method, &params).await
    {
        return json_response(StatusCode::OK, &answer);
    }
    let started = Instant::now();
    let (id, answer) = match client.start_request(method, &params).await {
        Ok(r) => r,
        Err(e) => {
            return json_response(
                StatusCode::OK,
                &json!({ "error": error_value(&e), "ms": 0 }),
            );
        }
    };
    let tag = body["tag"].as_str().map(str::to_string);
    if let Some(t) = &tag {
        hub.track(t.clone(), id.clone(), Arc::clone(&client));
    }
    drop(client);
    let Some(tag) = tag else {
        let result = answer.await;
        return json_response(StatusCode::OK, &outcome(result, &id, started, false));
    };
    // A tagged request outlives the page that sent it (a reload): it runs on its own, and
    // its outcome is kept and announced for the page that comes back.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let hub = Arc::clone(hub);
    tokio::spawn(async move {
        let result = answer.await;
        let cancelled = hub.untrack(&tag).is_none();
        let v = outcome(result, &id, started, cancelled);
        hub.finish(&tag, &v);
        let _ = tx.send(v);
    });
    match rx.await {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the request was dropped"),
    }
}

fn outcome(
    result: Result<Value, ClientError>,
    id: &mcp_runtime::protocol::RequestId,
    started: Instant,
    cancelled: bool,
) -> Value {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(r) => json!({ "result": r, "id": id, "ms": ms }),
        Err(_) if cancelled => json!({ "cancelled": true, "id": id, "ms": ms }),
        Err(e) => json!({ "error": error_value(&e), "id": id, "ms": ms }),
    }
}

/// The page's requests that 2026-07-28 does not have, done the revision's way: the log level
/// goes in the `_meta` of later requests, and a resource subscription is a
/// `subscriptions/listen`.
async fn per_request(hub: &Hub, client: &Client, method: &str, params: &Value) -> Option<Value> {
    let started = Instant::now();
    let outcome: Result<(), ClientError> = match method {
        "logging/setLevel" => match params["level"].as_str() {
            None | Some("") => client.set_log_level(None).await,
            Some(l) => match serde_json::from_value::<LogLevel>(json!(l)) {
                Ok(level) => client.set_log_level(Some(level)).await,
                Err(_) => Err(ClientError::Rpc(ErrorObject::invalid_params(format!(
                    "unknown log level `{l}`"
                )))),
            },
        },
        "resources/subscribe" => {
            let uri = params["uri"].as_str().unwrap_or_default().to_string();
            match client.listen(&ListenFilter::resources([uri.clone()])).await {
                Ok(sub) => {
                    if let Some(old) = hub.listening(uri, sub.id) {
                        let _ = client.cancel(&old, "subscribed again").await;
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        "resources/unsubscribe" => match hub.stop_listening(params["uri"].as_str().unwrap_or("")) {
            Some(id) => client.cancel(&id, "unsubscribed in the inspector").await,
            None => Ok(()),
        },
        _ => return None,
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    Some(match outcome {
        Ok(()) => json!({ "result": {}, "ms": ms }),
        Err(e) => json!({ "error": error_value(&e), "ms": ms }),
    })
}

async fn api(hub: &Arc<Hub>, path: &str, body: Value) -> Resp {
    match path {
        "/api/rpc" => rpc(hub, body).await,
        "/api/cancel" => {
            let Some(tag) = body["tag"].as_str() else {
                return refuse(StatusCode::BAD_REQUEST, "`tag` is missing");
            };
            match hub.untrack(tag) {
                Some((id, client)) => {
                    let _ = client.cancel(&id, "cancelled in the inspector").await;
                    json_response(StatusCode::OK, &json!({ "cancelled": true }))
                }
                None => refuse(StatusCode::NOT_FOUND, "no request in flight with that tag"),
            }
        }
        "/api/answer" => {
            let Some(id) = body["id"].as_u64() else {
                return refuse(StatusCode::BAD_REQUEST, "`id` is missing");
            };
            let answer = match (body.get("result"), body.get("error")) {
                (Some(r), _) => Ok(r.clone()),
                (None, Some(e)) => Err(ErrorObject::new(
                    e["code"].as_i64().unwrap_or(-1),
                    e["message"].as_str().unwrap_or("rejected in the inspector"),
                )),
                (None, None) => {
                    return refuse(StatusCode::BAD_REQUEST, "give `result` or `error`");
                }
            };
            if hub.answer(id, answer) {
                json_response(StatusCode::OK, &json!({ "ok": true }))
            } else {
                refuse(StatusCode::NOT_FOUND, "that request is no longer waiting")
            }
        }
        "/api/reconnect" => {
            let revision = match body["revision"].as_str() {
                Some(r) if super::revisions().iter().any(|v| v["version"] == r) => r.to_string(),
                Some(r) => {
                    return refuse(StatusCode::BAD_REQUEST, &format!("unknown revision `{r}`"));
                }
                None => hub.revision(),
            };
            let _ = hub.control.send(Control::Reconnect { revision });
            json_response(StatusCode::OK, &json!({ "ok": true }))
        }
        "/api/view" | "/api/skills" | "/api/skill/verify" => extensions(hub, path, &body).await,
        "/api/open" => {
            let (Some(file), Some(line)) = (body["file"].as_str(), body["line"].as_u64()) else {
                return refuse(StatusCode::BAD_REQUEST, "give `file` and `line`");
            };
            match super::source::open(file, line) {
                Ok(path) => json_response(StatusCode::OK, &json!({ "opened": path })),
                Err(e) => json_response(StatusCode::OK, &json!({ "error": { "message": e } })),
            }
        }
        "/api/schema" => {
            match super::schemas::load(body["revision"].as_str().unwrap_or("")).await {
                Ok(v) => json_response(StatusCode::OK, &json!({ "schema": v })),
                Err(e) => json_response(StatusCode::OK, &json!({ "error": { "message": e } })),
            }
        }
        "/api/compare" => {
            let Some(setup) = hub.setup() else {
                return refuse(StatusCode::CONFLICT, "the server is not connected");
            };
            match super::compare::compare(setup, &body).await {
                Ok(v) => json_response(StatusCode::OK, &v),
                Err(e) => refuse(StatusCode::BAD_REQUEST, &e),
            }
        }
        _ => refuse(StatusCode::NOT_FOUND, "no such API route"),
    }
}

/// The routes of the extensions: MCP App views and skills.
async fn extensions(hub: &Arc<Hub>, path: &str, body: &Value) -> Resp {
    let Some(client) = hub.client() else {
        return refuse(StatusCode::CONFLICT, "the server is not connected");
    };
    let uri = body["uri"].as_str().unwrap_or_default();
    let outcome = match path {
        "/api/view" => super::apps::load(&hub.views, &client, uri).await,
        "/api/skills" => super::skills::list(&client).await,
        _ => super::skills::verify(&client, uri).await,
    };
    match outcome {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => json_response(StatusCode::OK, &json!({ "error": { "message": e } })),
    }
}

/// An app view, to be framed by the page (`sandbox="allow-scripts"`): its own CSP, which
/// also sandboxes it when opened on its own.
fn view(hub: &Hub, id: &str) -> Resp {
    let Some((html, csp)) = hub.views.get(id) else {
        return full(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "No such view: the inspector keeps the last views it read; run the tool again.\n",
        );
    };
    let mut r = full(StatusCode::OK, "text/html; charset=utf-8", html);
    let h = r.headers_mut();
    match HeaderValue::from_str(&csp) {
        Ok(v) => h.insert(header::CONTENT_SECURITY_POLICY, v),
        Err(_) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, "unusable view policy"),
    };
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// Answers one request.
pub(super) async fn handle(
    hub: Arc<Hub>,
    guard: Arc<Guard>,
    req: Request<Incoming>,
) -> Result<Resp, Infallible> {
    if !guard.host_ok(&req) {
        return Ok(refuse(
            StatusCode::FORBIDDEN,
            "wrong Host header: open the inspector at the 127.0.0.1 URL printed by `mcp-cli dev`",
        ));
    }
    if !guard.origin_ok(&req) {
        return Ok(refuse(
            StatusCode::FORBIDDEN,
            "requests from other origins are refused",
        ));
    }
    let path = req.uri().path().to_string();
    Ok(match (req.method().clone(), path.as_str()) {
        (Method::GET, "/") => {
            if guard.token_ok(query_token(&req)) {
                page()
            } else {
                full(
                    StatusCode::FORBIDDEN,
                    "text/plain; charset=utf-8",
                    "This inspector needs its session token: open the full URL printed by `mcp-cli dev` (with ?token=…).\n",
                )
            }
        }
        (Method::GET, "/api/events") => {
            if guard.token_ok(query_token(&req)) {
                events(&hub)
            } else {
                refuse(StatusCode::UNAUTHORIZED, "missing or wrong session token")
            }
        }
        (Method::POST, p) if p.starts_with("/api/") => {
            let given = req
                .headers()
                .get("x-inspector-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if !guard.token_ok(given.as_deref()) {
                return Ok(refuse(
                    StatusCode::UNAUTHORIZED,
                    "missing or wrong session token",
                ));
            }
            match body_json(req).await {
                Ok(body) => api(&hub, &path, body).await,
                Err(r) => r,
            }
        }
        (Method::GET, p) if p.starts_with("/view/") => view(&hub, &p["/view/".len()..]),
        (Method::GET, "/favicon.ico") => full(StatusCode::NO_CONTENT, "image/x-icon", Bytes::new()),
        _ => refuse(StatusCode::NOT_FOUND, "not found"),
    })
}
