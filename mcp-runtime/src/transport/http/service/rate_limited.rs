//! A request refused by the server's rate limit: `429 Too Many Requests`, `Retry-After`, and
//! the JSON-RPC error as the body.

use super::*;

/// Whether the response is the rate limit's refusal.
#[cfg(feature = "rate-limit")]
pub(super) fn rate_limited(encoded: &Encoded) -> bool {
    encoded.error == Some(crate::middleware::RATE_LIMITED)
}

#[cfg(not(feature = "rate-limit"))]
pub(super) fn rate_limited(_: &Encoded) -> bool {
    false
}

/// `429` with `Retry-After` in whole seconds, rounded up (HTTP has no finer unit).
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
