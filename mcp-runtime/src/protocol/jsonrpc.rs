//! JSON-RPC 2.0 framing: ids, incoming messages, outgoing responses and errors.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// Standard JSON-RPC and MCP error codes.
pub mod code {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Resource not found (revisions up to 2025-11-25).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// An HTTP header disagrees with the body, or a required one is missing (2026-07-28).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// The request needs a client capability the client did not declare (2026-07-28).
    pub const MISSING_CAPABILITY: i64 = -32021;
    /// The request's protocol revision is not one the server speaks (2026-07-28).
    pub const UNSUPPORTED_VERSION: i64 = -32022;
    /// A session has as many requests in flight as the server allows (in JSON-RPC's range
    /// of implementation-defined server errors; HTTP answers it `429`).
    pub const TOO_MANY_REQUESTS: i64 = -32029;
    /// The caller may not use what it asked for: a scope it lacks, or the application's own
    /// rule ([`Server::authorize`](crate::Server::authorize)). This runtime's code, in the
    /// range JSON-RPC leaves to servers; `data.requiredScope` names a missing scope.
    pub const FORBIDDEN: i64 = -32003;
}

/// A request id: a string or an integer, never `null`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(Arc<str>),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.into())
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Number(n) => s.serialize_i64(*n),
            RequestId::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = RequestId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RequestId, E> {
                Ok(RequestId::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RequestId, E> {
                i64::try_from(v)
                    .map(RequestId::Number)
                    .map_err(|_| E::custom("request id out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RequestId, E> {
                if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
                    Ok(RequestId::Number(v as i64))
                } else {
                    Err(E::custom("request id must be an integer"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RequestId, E> {
                Ok(RequestId::String(v.into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `id` member as it appeared on the wire: absent, `null`, or a valid id.
#[derive(Debug, Default)]
enum WireId {
    #[default]
    Absent,
    Null,
    Id(RequestId),
    Invalid,
}

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Option::<&RawValue>::deserialize(d)?;
        Ok(match v {
            None => WireId::Null,
            Some(raw) => match serde_json::from_str::<RequestId>(raw.get()) {
                Ok(id) => WireId::Id(id),
                Err(_) => WireId::Invalid,
            },
        })
    }
}

/// A message's members as read, before [`Incoming::from_wire`] checks them. Generic over how
/// `params` is read: as text (`&RawValue`), or also into what the per-request revision reads
/// of it (`per_request::sniff`).
#[derive(Deserialize)]
pub(crate) struct WireMessage<'a, P = &'a RawValue> {
    #[serde(borrow, default)]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(default)]
    id: WireId,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(default = "Option::default")]
    pub(crate) params: Option<P>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

impl<'a, P> WireMessage<'a, P> {
    /// The same message with its params read as `f` makes them.
    pub(crate) fn map_params<Q>(
        self,
        f: impl FnOnce(Option<P>) -> Option<Q>,
    ) -> WireMessage<'a, Q> {
        WireMessage {
            jsonrpc: self.jsonrpc,
            id: self.id,
            method: self.method,
            params: f(self.params),
            result: self.result,
            error: self.error,
        }
    }
}

/// One incoming JSON-RPC message, borrowing from the buffer it was parsed from.
#[derive(Debug)]
pub enum Incoming<'a> {
    /// A request: expects a response.
    Request {
        /// The request id.
        id: RequestId,
        /// The method name.
        method: Cow<'a, str>,
        /// The raw parameters, if any.
        params: Option<&'a RawValue>,
    },
    /// A notification: no response.
    Notification {
        /// The method name.
        method: Cow<'a, str>,
        /// The raw parameters, if any.
        params: Option<&'a RawValue>,
    },
    /// A response to a request this side sent.
    Response {
        /// The id of the request answered.
        id: RequestId,
        /// The result, or the error.
        result: Result<&'a RawValue, ErrorObject>,
    },
}

/// Why a message could not be read; carries the error response to send back.
#[derive(Debug)]
pub struct BadMessage {
    /// The id to answer with, when one could be read.
    pub id: Option<RequestId>,
    /// The error to send.
    pub error: ErrorObject,
}

impl<'a> Incoming<'a> {
    /// Parses one JSON-RPC message.
    pub fn parse(text: &'a str) -> Result<Incoming<'a>, BadMessage> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            return Err(BadMessage {
                id: None,
                error: ErrorObject::new(
                    code::INVALID_REQUEST,
                    "JSON-RPC batches are not supported; send one message per line",
                ),
            });
        }
        let msg: WireMessage<'a> = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) if e.is_syntax() || e.is_eof() => {
                return Err(BadMessage {
                    id: None,
                    error: ErrorObject::new(code::PARSE_ERROR, format!("Parse error: {e}")),
                });
            }
            Err(e) => {
                return Err(BadMessage {
                    id: None,
                    error: ErrorObject::new(code::INVALID_REQUEST, format!("Invalid Request: {e}")),
                });
            }
        };
        Incoming::from_wire(msg)
    }

    /// The message its members make, or why they make none.
    pub(crate) fn from_wire(msg: WireMessage<'a>) -> Result<Incoming<'a>, BadMessage> {
        let id = match msg.id {
            WireId::Id(id) => Some(id),
            WireId::Absent => None,
            WireId::Null | WireId::Invalid => {
                return Err(BadMessage {
                    id: None,
                    error: ErrorObject::new(
                        code::INVALID_REQUEST,
                        "Invalid Request: `id` must be a string or an integer",
                    ),
                });
            }
        };
        if msg.jsonrpc.as_deref() != Some("2.0") {
            return Err(BadMessage {
                id,
                error: ErrorObject::new(
                    code::INVALID_REQUEST,
                    "Invalid Request: `jsonrpc` must be \"2.0\"",
                ),
            });
        }
        match (msg.method, id) {
            (Some(method), Some(id)) => Ok(Incoming::Request {
                id,
                method,
                params: msg.params,
            }),
            (Some(method), None) => Ok(Incoming::Notification {
                method,
                params: msg.params,
            }),
            (None, Some(id)) => match (msg.result, msg.error) {
                (Some(r), None) => Ok(Incoming::Response { id, result: Ok(r) }),
                (None, Some(e)) => Ok(Incoming::Response { id, result: Err(e) }),
                _ => Err(BadMessage {
                    id: Some(id),
                    error: ErrorObject::new(
                        code::INVALID_REQUEST,
                        "Invalid Request: a message needs `method`, or exactly one of `result` and `error`",
                    ),
                }),
            },
            (None, None) => Err(BadMessage {
                id: None,
                error: ErrorObject::new(code::INVALID_REQUEST, "Invalid Request: missing `method`"),
            }),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code.
    pub code: i64,
    /// A short description.
    pub message: String,
    /// Additional information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data` to the error.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// `-32602 Invalid params`.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }

    /// `-32601 Method not found`.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            code::METHOD_NOT_FOUND,
            format!("Method not found: `{}`", crate::escape::Escaped(method)),
        )
    }

    /// `-32603 Internal error`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_ERROR, message)
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}

#[derive(Serialize)]
struct ResultEnvelope<'a, T: Serialize + ?Sized> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    result: &'a T,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    jsonrpc: &'static str,
    // Left out when the request's id could not be read: the MCP schema allows no `null` id.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a RequestId>,
    error: &'a ErrorObject,
}

#[derive(Serialize)]
struct RequestEnvelope<'a, P: Serialize> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a RequestId>,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a P>,
}

/// Serializes a successful response.
pub fn encode_result<T: Serialize>(id: &RequestId, result: &T) -> Vec<u8> {
    serde_json::to_vec(&ResultEnvelope {
        jsonrpc: "2.0",
        id,
        result,
    })
    .unwrap_or_else(|e| {
        encode_error(
            Some(id),
            &ErrorObject::internal(format!("could not serialize the result: {e}")),
        )
    })
}

/// Serializes an error response; `id` is left out when the request's id could not be read.
pub fn encode_error(id: Option<&RequestId>, error: &ErrorObject) -> Vec<u8> {
    serde_json::to_vec(&ErrorEnvelope {
        jsonrpc: "2.0",
        id,
        error,
    })
    .expect("an error object always serializes")
}

/// The room a response's buffer starts with: most results (a tool's answer stamped with the
/// server's identity is about 200 bytes) are written without growing it.
const RESPONSE_CAPACITY: usize = 512;

/// A response as the server sends it: its bytes, and its error code when it is an error, so
/// that a transport can choose a status without reading the bytes again.
#[derive(Debug)]
pub(crate) struct Encoded {
    /// The serialized JSON-RPC response.
    pub(crate) bytes: Vec<u8>,
    /// The `error.code` of an error response.
    pub(crate) error: Option<i64>,
}

impl Encoded {
    /// A result response.
    pub(crate) fn result<T: Serialize + ?Sized>(id: &RequestId, result: &T) -> Encoded {
        Encoded::try_result(id, result).unwrap_or_else(|e| {
            Encoded::error(
                Some(id),
                &ErrorObject::internal(format!("could not serialize the result: {e}")),
            )
        })
    }

    /// A result response, or why the result does not serialize.
    pub(crate) fn try_result<T: Serialize + ?Sized>(
        id: &RequestId,
        result: &T,
    ) -> Result<Encoded, serde_json::Error> {
        Encoded::try_result_with(id, |out| serde_json::to_writer(out, result))
    }

    /// A result response whose result `write` appends as JSON text. The envelope around it
    /// is written as text (what serializing a `{jsonrpc, id, result}` struct writes), into
    /// a buffer a small result's response fits in without growing.
    pub(crate) fn try_result_with(
        id: &RequestId,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
    ) -> Result<Encoded, serde_json::Error> {
        let mut bytes = Vec::with_capacity(RESPONSE_CAPACITY);
        bytes.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
        serde_json::to_writer(&mut bytes, id)?;
        bytes.extend_from_slice(b",\"result\":");
        write(&mut bytes)?;
        bytes.push(b'}');
        Ok(Encoded { bytes, error: None })
    }

    /// An error response.
    pub(crate) fn error(id: Option<&RequestId>, error: &ErrorObject) -> Encoded {
        Encoded {
            bytes: encode_error(id, error),
            error: Some(error.code),
        }
    }
}

/// Serializes a request (with `id`) or a notification (without).
pub fn encode_request<P: Serialize>(
    id: Option<&RequestId>,
    method: &str,
    params: Option<&P>,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&RequestEnvelope {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_messages() {
        let m = Incoming::parse(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
        assert!(
            matches!(m, Incoming::Request { id: RequestId::Number(1), ref method, params: None } if method == "ping")
        );
        let m =
            Incoming::parse(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert!(matches!(m, Incoming::Notification { .. }));
        let m = Incoming::parse(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#).unwrap();
        assert!(matches!(m, Incoming::Response { result: Ok(_), .. }));
        let m = Incoming::parse(r#"{"jsonrpc":"2.0","id":"a","error":{"code":1,"message":"x"}}"#)
            .unwrap();
        assert!(matches!(m, Incoming::Response { result: Err(_), .. }));
    }

    #[test]
    fn rejects_bad_messages_with_the_right_codes() {
        let e = Incoming::parse("{not json").unwrap_err();
        assert_eq!(e.error.code, code::PARSE_ERROR);
        assert_eq!(e.id, None);
        let e = Incoming::parse(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#).unwrap_err();
        assert_eq!(e.error.code, code::INVALID_REQUEST);
        let e = Incoming::parse(r#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#).unwrap_err();
        assert_eq!(e.error.code, code::INVALID_REQUEST);
        assert_eq!(e.id, Some(RequestId::Number(3)));
        let e = Incoming::parse(r#"[{"jsonrpc":"2.0","id":3,"method":"ping"}]"#).unwrap_err();
        assert_eq!(e.error.code, code::INVALID_REQUEST);
        let e = Incoming::parse(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#).unwrap_err();
        assert_eq!(e.error.code, code::INVALID_REQUEST);
        let e = Incoming::parse(r#"42"#).unwrap_err();
        assert_eq!(e.error.code, code::INVALID_REQUEST);
    }

    #[test]
    fn encodes_envelopes() {
        let id = RequestId::from("x");
        let bytes = encode_result(&id, &serde_json::json!({}));
        assert_eq!(bytes, br#"{"jsonrpc":"2.0","id":"x","result":{}}"#);
        let bytes = encode_error(None, &ErrorObject::new(code::PARSE_ERROR, "bad"));
        assert_eq!(
            bytes,
            br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"bad"}}"#
        );
    }
}
