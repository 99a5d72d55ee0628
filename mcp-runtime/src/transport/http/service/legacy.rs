//! The routes of the 2024-11-05 HTTP+SSE transport (`--legacy-sse`): `GET /sse` and
//! `POST /messages?session_id=…`, after the same Origin, Host and credential checks.

use super::*;
use crate::transport::http::legacy_sse;

pub(super) async fn legacy_sse<B: RequestBody>(
    shared: &Arc<Shared>,
    caller: &Caller,
    method: &Method,
    uri: &hyper::Uri,
    body: B,
    log: &mut Log,
) -> HttpResponse {
    match (method, uri.path()) {
        (&Method::GET, "/sse") => {
            if shared.draining.load(std::sync::atomic::Ordering::Relaxed) {
                return draining(None);
            }
            let Some(frames) = shared.legacy.open(
                Arc::clone(&shared.core),
                caller.principal.clone(),
                shared.options.max_sessions,
                shared.options.replay_buffer.max(1) + shared.options.sse_send_buffer.max(1),
            ) else {
                return too_many_sessions(None);
            };
            log.sse = true;
            sse_response(
                SseBody::new(frames, shared.options.sse_keep_alive, None).counted(&shared.core),
            )
        }
        (&Method::POST, "/messages") => {
            let id = uri
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("session_id=")));
            let Some(session) = id.and_then(|id| shared.legacy.get(id, &caller.principal)) else {
                return http_error(
                    StatusCode::NOT_FOUND,
                    None,
                    "Not Found: no such session; open one with GET /sse",
                );
            };
            let max = shared.options.max_message_size;
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
                Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return too_large(max);
                }
                Ok(Err(_)) => {
                    return http_error(
                        StatusCode::BAD_REQUEST,
                        None,
                        "Bad Request: unreadable body",
                    );
                }
            };
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    None,
                    "Bad Request: the body is not UTF-8",
                );
            };
            legacy_sse::deliver(&session, caller.clone(), text);
            empty(StatusCode::ACCEPTED)
        }
        _ => {
            let mut response = http_error(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "Method Not Allowed: GET /sse opens a session, POST /messages sends to it",
            );
            let allow = if uri.path() == "/sse" { "GET" } else { "POST" };
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            response
        }
    }
}
