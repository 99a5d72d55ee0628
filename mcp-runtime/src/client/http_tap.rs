//! Watching the HTTP exchanges of a streamable HTTP client: method, URL, status, headers and
//! the time to the response's headers of every request the transport sends (POSTs, the GET
//! stream, the DELETE at close), for inspectors and network logs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;

/// Headers whose values are credentials: reported as `[redacted]`.
const SECRET_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// One HTTP request and what came back, as [`HttpTap`] sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpExchange {
    /// `POST`, `GET` or `DELETE`.
    pub method: String,
    /// The URL requested.
    pub url: String,
    /// The request's headers (credentials redacted).
    pub request_headers: Vec<(String, String)>,
    /// The response's status, when one came.
    pub status: Option<u16>,
    /// The response's headers (credentials redacted).
    pub response_headers: Vec<(String, String)>,
    /// From sending the request to the response's headers (or to the failure).
    pub elapsed: Duration,
    /// Why no response came.
    pub error: Option<String>,
    /// The JSON-RPC method of the message a POST carried (of a batch, its first message),
    /// read from the body, so that it is known in revisions without routing headers too.
    pub rpc_method: Option<String>,
    /// That message's `params.name` (a tool or prompt) or `params.uri` (a resource).
    pub rpc_name: Option<String>,
}

/// Gets every [`HttpExchange`] of a client, on the transport's tasks (so it should be quick).
/// Set it in [`HttpClientOptions::on_exchange`](super::HttpClientOptions::on_exchange).
#[derive(Clone)]
pub struct HttpTap(Arc<dyn Fn(&HttpExchange) + Send + Sync>);

impl HttpTap {
    /// A tap calling `f` with each exchange.
    pub fn new(f: impl Fn(&HttpExchange) + Send + Sync + 'static) -> Self {
        HttpTap(Arc::new(f))
    }

    pub(crate) fn report(&self, exchange: &HttpExchange) {
        (self.0)(exchange)
    }
}

impl fmt::Debug for HttpTap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HttpTap")
    }
}

/// The headers as (name, value) pairs, credentials redacted and non-text values shown lossily.
pub(crate) fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_string();
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                "[redacted]".to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect()
}

/// The JSON-RPC method and name (`params.name`, else `params.uri`) of a POST's body; nothing
/// for a body that is not a JSON-RPC message (or a response, which has no method).
pub(crate) fn rpc(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Params {
        name: Option<String>,
        uri: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Message {
        method: Option<String>,
        params: Option<Params>,
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Body {
        One(Message),
        Batch(Vec<Message>),
    }
    let first = match serde_json::from_slice::<Body>(body) {
        Ok(Body::One(m)) => m,
        Ok(Body::Batch(b)) => match b.into_iter().next() {
            Some(m) => m,
            None => return (None, None),
        },
        Err(_) => return (None, None),
    };
    let name = first.params.and_then(|p| p.name.or(p.uri));
    (first.method, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_bodys_method_and_name_are_read() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"name":"x"}}}"#;
        assert_eq!(rpc(call), (Some("tools/call".into()), Some("add".into())));
        let read =
            br#"[{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"notes://a"}}]"#;
        assert_eq!(
            rpc(read),
            (Some("resources/read".into()), Some("notes://a".into()))
        );
        let init = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert_eq!(rpc(init), (Some("notifications/initialized".into()), None));
        assert_eq!(
            rpc(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            (None, None)
        );
        assert_eq!(rpc(b"not json"), (None, None));
        assert_eq!(rpc(b"[]"), (None, None));
    }

    #[test]
    fn credentials_are_redacted() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer s3cret"));
        h.insert("mcp-session-id", HeaderValue::from_static("abc"));
        let p = pairs(&h);
        assert!(p.contains(&("authorization".into(), "[redacted]".into())));
        assert!(p.contains(&("mcp-session-id".into(), "abc".into())));
    }
}
