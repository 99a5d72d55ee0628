//! The per-request revision (2026-07-28) over HTTP: no session; the routing headers
//! (`Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`) must agree with the body; its error codes get
//! their HTTP status codes.

use super::*;
use crate::server::registration::ToolEntry;

pub(super) const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
pub(super) const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// A POST of the per-request revision (2026-07-28): no session, whatever the headers say;
/// the routing headers must agree with the body; errors this revision defines get its status
/// codes.
pub(super) async fn serve_per_request(
    shared: &Arc<Shared>,
    caller: &Caller,
    header_version: Option<&str>,
    message: Incoming<'_>,
    sniffed: Option<Envelope<'_>>,
    mode: Mode,
    log: &mut Log,
) -> HttpResponse {
    if let Some(h) =
        header_version.filter(|h| sniffed.is_none() && ProtocolVersion::parse_any(h).is_none())
    {
        // Neither a handshake revision nor a request of the per-request one.
        let id = match &message {
            Incoming::Request { id, .. } => Some(id),
            _ => None,
        };
        return json(
            StatusCode::BAD_REQUEST,
            encode_error(id, &per_request::unsupported_version(h)),
        );
    }
    let headers = headers_of(caller);
    let Incoming::Request { id, method, params } = message else {
        // Clients of this revision send notifications only for themselves (cancellation is
        // closing the stream); there is nothing to answer.
        return accepted();
    };
    let mut envelope = sniffed.unwrap_or_else(|| Envelope::parse(params));
    let checked = envelope.check(header_version).and_then(|meta| {
        check_routing_headers(headers, &method, &envelope)?;
        let tool = check_argument_headers(shared, headers, &method, &envelope)?;
        Ok((meta, tool))
    });
    let (meta, tool) = match checked {
        Ok(checked) => checked,
        // Every check before dispatch is a bad request: `_meta`, headers, revision.
        Err(e) => return json(StatusCode::BAD_REQUEST, encode_error(Some(&id), &e)),
    };
    log.per_request = true;
    let session = Session::new_anonymous(
        Arc::clone(&shared.core),
        shared.nowhere.clone(),
        caller.principal.clone(),
    );
    if let Some(peer) = log.peer {
        session.set_peer_addr(peer);
    }
    answer(
        shared,
        caller,
        None,
        &session,
        |out| {
            crate::observe::with_trace_headers(headers, || {
                session.serve_checked(id, &method, params, &envelope, meta, tool, out)
            })
        },
        mode,
        log,
    )
    .await
}

/// `Mcp-Method` must be the body's method, and `Mcp-Name` its tool or prompt name, resource
/// URI or task id (HeaderMismatch, -32020, otherwise).
pub(super) fn check_routing_headers(
    headers: &HeaderMap,
    method: &str,
    envelope: &Envelope<'_>,
) -> Result<(), ErrorObject> {
    let mismatch = |message: String| ErrorObject::new(code::HEADER_MISMATCH, message);
    let read = |name: &HeaderName| -> Result<Option<Cow<'_, str>>, ErrorObject> {
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
                "Header mismatch: the `Mcp-Method` header is required; it must be `{}`",
                Escaped(method)
            )));
        }
        Some(m) if *m != *method => {
            return Err(mismatch(format!(
                "Header mismatch: `Mcp-Method` is `{}` but the body's method is `{}`",
                Escaped(&m),
                Escaped(method)
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
    let Some(expected) = envelope.target(method) else {
        return Ok(());
    };
    match read(&MCP_NAME)? {
        None => Err(mismatch(format!(
            "Header mismatch: the `Mcp-Name` header is required for `{}`; it must be `{}`",
            Escaped(method),
            Escaped(&expected)
        ))),
        Some(n) if *n != *expected => Err(mismatch(format!(
            "Header mismatch: `Mcp-Name` is `{}` but the body's `{key}` is `{}`",
            Escaped(&n),
            Escaped(&expected)
        ))),
        Some(_) => Ok(()),
    }
}

/// A `tools/call`'s `Mcp-Param-*` headers must mirror the arguments its tool marks with
/// `x-mcp-header` (HeaderMismatch, -32020, otherwise). Returns the tool, for the call.
pub(super) fn check_argument_headers(
    shared: &Shared,
    headers: &HeaderMap,
    method: &str,
    envelope: &Envelope<'_>,
) -> Result<Option<Arc<ToolEntry>>, ErrorObject> {
    if method != "tools/call" {
        return Ok(None);
    }
    let Some(tool) = envelope
        .target(method)
        .and_then(|name| shared.core.tools.get(&name))
    else {
        return Ok(None);
    };
    if tool.header_params.is_empty() {
        return Ok(Some(tool));
    }
    let arguments: serde_json::Map<String, serde_json::Value> = envelope
        .arguments
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default();
    param_headers::check_param_headers(&tool.header_params, &arguments, |name| {
        headers
            .get(format!("mcp-param-{}", name.to_ascii_lowercase()))
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    })
    .map_err(|e| ErrorObject::new(code::HEADER_MISMATCH, format!("Header mismatch: {e}")))?;
    Ok(Some(tool))
}

/// The HTTP status of a dispatched per-request JSON answer: 404 for an unknown method, 400
/// for a missing client capability, 200 otherwise.
pub(super) fn per_request_status(error: Option<i64>) -> StatusCode {
    match error {
        Some(code::METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        Some(code::HEADER_MISMATCH | code::MISSING_CAPABILITY | code::UNSUPPORTED_VERSION) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    }
}
