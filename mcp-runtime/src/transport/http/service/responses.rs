//! The responses and refusals every path of the endpoint shares.

use super::*;

/// Why a request is refused, before it is known which id the answer carries.
pub(super) struct Problem {
    pub(super) status: StatusCode,
    pub(super) message: Cow<'static, str>,
}

impl Problem {
    pub(super) fn bad_request(message: impl Into<Cow<'static, str>>) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub(super) fn session_not_found() -> Problem {
        Problem {
            status: StatusCode::NOT_FOUND,
            message: "Not Found: no such session (it ended or expired); send `initialize` to start a new one".into(),
        }
    }

    /// The shared state of the replicas is unreachable (scale out, issue 19).
    pub(super) fn store_down(error: &crate::store::StoreError) -> Problem {
        tracing::warn!(error = %error, "a request needed the shared state, which failed");
        Problem {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "Service Unavailable: the shared session store is unreachable; retry shortly"
                .into(),
        }
    }

    pub(super) fn respond(self, id: Option<&RequestId>) -> HttpResponse {
        http_error(self.status, id, self.message)
    }
}

// ------------------------------------------------------------------ responses

pub(super) fn with_body(
    status: StatusCode,
    content_type: &'static str,
    body: ResponseBody,
) -> HttpResponse {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(super) fn json(status: StatusCode, bytes: impl Into<Bytes>) -> HttpResponse {
    with_body(status, "application/json", ResponseBody::full(bytes))
}

pub(super) fn text(status: StatusCode, message: &'static str) -> HttpResponse {
    with_body(
        status,
        "text/plain; charset=utf-8",
        ResponseBody::full(message),
    )
}

pub(super) fn empty(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = status;
    response
}

pub(super) fn accepted() -> HttpResponse {
    empty(StatusCode::ACCEPTED)
}

pub(super) fn sse_response(body: SseBody) -> HttpResponse {
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
pub(super) fn http_error(
    status: StatusCode,
    id: Option<&RequestId>,
    message: impl Into<String>,
) -> HttpResponse {
    json(
        status,
        encode_error(id, &ErrorObject::new(code::INVALID_REQUEST, message)),
    )
}

pub(super) fn too_large(max: usize) -> HttpResponse {
    http_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        None,
        format!("Payload Too Large: messages are limited to {max} bytes"),
    )
}

pub(super) fn body_timeout(limit: std::time::Duration) -> HttpResponse {
    let mut response = http_error(
        StatusCode::REQUEST_TIMEOUT,
        None,
        format!(
            "Request Timeout: the body did not arrive within {} s",
            limit.as_secs_f64()
        ),
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

pub(super) fn request_timeout(limit: std::time::Duration) -> HttpResponse {
    let mut response = http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        format!(
            "Service Unavailable: the request was not answered within {} s and was cancelled",
            limit.as_secs_f64()
        ),
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

pub(super) fn too_many_sessions(id: Option<&RequestId>) -> HttpResponse {
    http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        "Service Unavailable: the server has as many sessions as it allows; try again later",
    )
}

pub(super) fn refused(refusal: Refusal) -> HttpResponse {
    match refusal {
        Refusal::Origin => http_error(StatusCode::FORBIDDEN, None, "Forbidden: origin not allowed"),
        Refusal::Host => http_error(StatusCode::FORBIDDEN, None, "Forbidden: host not allowed"),
    }
}

pub(super) fn method_not_allowed(shared: &Shared) -> HttpResponse {
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

/// The request headers a browser may send cross-origin, besides `Mcp-Param-*`: both
/// revisions' (`Mcp-Session-Id`, `Last-Event-ID`, and 2026-07-28's `Mcp-Method`, `Mcp-Name`).
const ALLOWED_HEADERS: &str = "content-type, accept, authorization, x-api-key, mcp-session-id, \
     mcp-protocol-version, last-event-id, mcp-method, mcp-name";

/// At most this many `Mcp-Param-*` headers are allowed by one preflight.
const MAX_PARAM_HEADERS: usize = 64;

/// A CORS preflight from an allowed origin. `Mcp-Param-*` headers (2026-07-28) have names of
/// the tool's choosing and CORS has no pattern for them, so those the browser asks for in
/// `Access-Control-Request-Headers` are allowed by name.
pub(super) fn preflight(request: &HeaderMap) -> HttpResponse {
    let mut allowed = String::from(ALLOWED_HEADERS);
    let asked = request
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| {
            h.len() > "mcp-param-".len()
                && h.len() <= 128
                && h.as_bytes()[..10].eq_ignore_ascii_case(b"mcp-param-")
                && HeaderName::from_bytes(h.as_bytes()).is_ok()
        })
        .take(MAX_PARAM_HEADERS);
    for name in asked {
        allowed.push_str(", ");
        allowed.push_str(&name.to_ascii_lowercase());
    }
    let mut response = empty(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_str(&allowed).expect("checked header names"),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("access-control-request-headers"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

/// `404` for what is not served here.
#[cfg(feature = "metrics")]
pub(crate) fn not_found() -> HttpResponse {
    text(StatusCode::NOT_FOUND, "not found\n")
}

/// The server's metrics, in the OpenMetrics text format.
#[cfg(feature = "metrics")]
pub(crate) fn metrics_response(metrics: &crate::observe::Metrics) -> HttpResponse {
    with_body(
        StatusCode::OK,
        crate::observe::metrics::CONTENT_TYPE,
        ResponseBody::full(metrics.render()),
    )
}

// ---- Production (issue 20)
/// `/readyz`: `200 ready`, or `503` with why not (draining, or the checks that failed).
pub(super) async fn readiness(shared: &Shared) -> HttpResponse {
    if shared.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: draining (shutting down)\n",
        );
    }
    let mut failures = shared.options.readiness.failures().await;
    // The shared store of a replica (`--redis-url`): without it, sessions of other
    // replicas cannot be served here.
    if !shared.store_healthy().await {
        failures.insert(
            0,
            "store: the shared store (Redis) does not answer".to_string(),
        );
    }
    if failures.is_empty() {
        return text(StatusCode::OK, "ready\n");
    }
    let mut body = String::from("not ready:\n");
    for failure in failures {
        tracing::warn!(check = ?Escaped(&failure), "a readiness check failed");
        body.push_str("  ");
        body.push_str(&failure);
        body.push('\n');
    }
    with_body(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/plain; charset=utf-8",
        ResponseBody::full(body),
    )
}

/// `initialize` while draining: the client is told to connect again, to another instance.
pub(super) fn draining(id: Option<&RequestId>) -> HttpResponse {
    let mut response = http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        "Service Unavailable: this server is shutting down and starts no sessions; connect again",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
