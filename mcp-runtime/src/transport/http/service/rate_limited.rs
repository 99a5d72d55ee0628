//! A request refused by the server's rate limit or over its session's budget of requests in
//! flight (one JSON-RPC code for both): `429 Too Many Requests`, `Retry-After`, and the
//! JSON-RPC error as the body.

use super::*;

/// Whether the response refuses a request over a budget (the rate limit's, or the
/// session's requests in flight).
pub(super) fn rate_limited(encoded: &Encoded) -> bool {
    encoded.error == Some(code::TOO_MANY_REQUESTS)
}

/// `429` with `Retry-After` in whole seconds, rounded up (HTTP has no finer unit): the
/// rate limit's `retryAfterMs` when the error has one, 1 otherwise.
pub(super) fn too_many_requests(encoded: Encoded) -> HttpResponse {
    #[cfg(feature = "rate-limit")]
    let wait = crate::middleware::rate_limit::retry_after(&encoded.bytes);
    #[cfg(not(feature = "rate-limit"))]
    let wait: Option<std::time::Duration> = None;
    let seconds = wait.map_or(1, |w| w.as_millis().div_ceil(1000).max(1));
    let mut response = json(StatusCode::TOO_MANY_REQUESTS, encoded.bytes);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&seconds.to_string()).expect("digits are a header value"),
    );
    response
}
