//! Identity at the endpoint: who sent the request, what a refused client is told (401, 403
//! step-up, 503), and the protected-resource metadata (RFC 9728).

use super::*;
use crate::auth::edge::{Failure, X_API_KEY};
use crate::auth::principal::{Caller, HttpRequest};

/// Authenticates the request; on success its caller, with the headers (credential removed)
/// and the peer's address.
pub(super) async fn authenticate(
    shared: &Shared,
    mut headers: HeaderMap,
    peer: Option<std::net::SocketAddr>,
    log: &mut Log,
) -> Result<Caller, HttpResponse> {
    let principal = match shared.edge.authenticate(&headers).await {
        Ok(p) => p,
        Err(failure) => return Err(unauthorized(shared, &failure)),
    };
    if shared.edge.enabled() {
        log.subject = Some(principal.clone());
        headers.remove(header::AUTHORIZATION);
        headers.remove(X_API_KEY);
    }
    Ok(Caller {
        principal,
        http: Some(Arc::new(HttpRequest { headers, peer })),
    })
}

/// 401 with a challenge, or 503 when the authorization server could not be asked.
pub(super) fn unauthorized(shared: &Shared, failure: &Failure) -> HttpResponse {
    let edge = &shared.edge;
    let message = edge.message(failure);
    match failure {
        Failure::Unavailable(why) => {
            tracing::warn!(reason = %why, "a request could not be authenticated");
            let mut response = http_error(StatusCode::SERVICE_UNAVAILABLE, None, message);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        Failure::Missing | Failure::Invalid(_) => {
            if let Failure::Invalid(why) = failure {
                tracing::info!(reason = ?why, "refused a request with an invalid credential");
            }
            let mut response = http_error(StatusCode::UNAUTHORIZED, None, message);
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, edge.challenge(failure));
            response
        }
    }
}

/// A response refusing a call for a scope the caller lacks becomes `403` with a step-up
/// challenge naming the scope (the JSON-RPC error stays the body).
pub(super) fn step_up(shared: &Shared, encoded: &Encoded) -> Option<HttpResponse> {
    if encoded.error != Some(code::FORBIDDEN) || !shared.edge.enabled() {
        return None;
    }
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        error: Error<'a>,
    }
    #[derive(Deserialize)]
    struct Error<'a> {
        #[serde(borrow)]
        data: Option<Data<'a>>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data<'a> {
        #[serde(borrow)]
        required_scope: Option<Cow<'a, str>>,
    }
    let body: Body<'_> = serde_json::from_slice(&encoded.bytes).ok()?;
    let scope = body.error.data?.required_scope?;
    let mut response = json(StatusCode::FORBIDDEN, encoded.bytes.clone());
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        shared.edge.insufficient_scope(&scope),
    );
    Some(response)
}

/// The RFC 9728 document, if `path` is one of its paths.
pub(super) fn metadata(shared: &Shared, path: &str, method: &Method) -> Option<HttpResponse> {
    let m = shared.edge.metadata()?;
    if !m.paths.iter().any(|p| p == path) {
        return None;
    }
    let mut response = match *method {
        Method::GET | Method::HEAD => json(StatusCode::OK, m.document.clone()),
        Method::OPTIONS => empty(StatusCode::NO_CONTENT),
        _ => return Some(text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n")),
    };
    // Browser-based clients read it from any origin; it holds nothing secret.
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Some(response)
}
