//! What the hooks see: the request, its response, and the tool call, resource read or prompt
//! get it is about.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::protocol::{Encoded, ErrorObject, JsonObject, RequestId};
use crate::server::dispatch::session::Session;

/// Who sent a request and when: what every hook can ask.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    pub(crate) id: RequestId,
    pub(crate) session_id: Option<Arc<str>>,
    pub(crate) peer_addr: Option<SocketAddr>,
    pub(crate) started: Instant,
    // ---- The caller's identity (rate limits by principal)
    /// Who sent the request: what the transport's authentication found.
    pub(crate) principal: crate::Principal,
}

impl Origin {
    pub(crate) fn of(session: &Session, id: &RequestId, started: Instant) -> Origin {
        Origin {
            id: id.clone(),
            session_id: session.session_id(),
            peer_addr: session.peer_addr(),
            started,
            principal: session.caller().principal,
        }
    }
}

macro_rules! origin_accessors {
    () => {
        /// The JSON-RPC id of the request.
        pub fn request_id(&self) -> &RequestId {
            &self.origin.id
        }

        /// The session's id: HTTP's `Mcp-Session-Id`; `None` on stdio, in memory, for
        /// stateless HTTP and for requests of the 2026-07-28 revision.
        pub fn session_id(&self) -> Option<&str> {
            self.origin.session_id.as_deref()
        }

        /// The client's address over HTTP (for a session: the address that opened it);
        /// `None` on stdio and in memory.
        pub fn peer_addr(&self) -> Option<SocketAddr> {
            self.origin.peer_addr
        }

        /// When the server started on the request.
        pub fn started(&self) -> Instant {
            self.origin.started
        }

        /// How long the request has run so far.
        pub fn elapsed(&self) -> Duration {
            self.origin.started.elapsed()
        }

        /// Who sent the request: the API key's or token's principal over HTTP with
        /// authentication, [`Principal::anonymous`](crate::Principal::anonymous) without,
        /// [`Principal::local`](crate::Principal::local) on stdio and in memory.
        pub fn principal(&self) -> &crate::Principal {
            &self.origin.principal
        }
    };
}

/// A request from the client, as [`Middleware::on_request`](super::Middleware::on_request)
/// sees it.
#[derive(Debug)]
pub struct Request {
    pub(crate) origin: Origin,
    pub(crate) method: Box<str>,
    pub(crate) params: Option<Box<RawValue>>,
}

impl Request {
    origin_accessors!();

    /// The JSON-RPC method, e.g. `tools/call`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The params, as sent.
    pub fn params(&self) -> Option<&RawValue> {
        self.params.as_deref()
    }

    /// The `name` of a `tools/call` or `prompts/get`, or the `uri` of a `resources/read`.
    pub fn target(&self) -> Option<String> {
        let key = match &*self.method {
            "tools/call" | "prompts/get" => "name",
            "resources/read" => "uri",
            _ => return None,
        };
        let params: JsonObject = serde_json::from_str(self.params()?.get()).ok()?;
        match params.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// An error response to this request: return it instead of calling `next` to refuse the
    /// request.
    pub fn error(&self, error: &ErrorObject) -> Response {
        Response {
            encoded: Encoded::error(Some(&self.origin.id), error),
        }
    }

    /// A result response to this request, in place of the handler's.
    pub fn result<T: Serialize + ?Sized>(&self, result: &T) -> Response {
        Response {
            encoded: Encoded::result(&self.origin.id, result),
        }
    }
}

/// The JSON-RPC response to a [`Request`], serialized.
#[derive(Debug)]
pub struct Response {
    pub(crate) encoded: Encoded,
}

impl Response {
    /// Whether it is an error response.
    pub fn is_error(&self) -> bool {
        self.encoded.error.is_some()
    }

    /// The `error.code` of an error response.
    pub fn error_code(&self) -> Option<i64> {
        self.encoded.error
    }

    /// The response as sent: one JSON-RPC message.
    pub fn as_bytes(&self) -> &[u8] {
        &self.encoded.bytes
    }

    /// The response parsed.
    pub fn to_json(&self) -> Value {
        serde_json::from_slice(&self.encoded.bytes).unwrap_or(Value::Null)
    }
}

/// A `tools/call`, as [`Middleware::on_call_tool`](super::Middleware::on_call_tool) sees it.
#[derive(Debug)]
pub struct ToolRequest {
    pub(crate) origin: Origin,
    pub(crate) name: &'static str,
    pub(crate) arguments: JsonObject,
}

impl ToolRequest {
    origin_accessors!();

    /// The tool's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The arguments, as sent.
    pub fn arguments(&self) -> &JsonObject {
        &self.arguments
    }

    /// The arguments, to change before the tool sees them.
    pub fn arguments_mut(&mut self) -> &mut JsonObject {
        &mut self.arguments
    }
}

/// A `resources/read`, as [`Middleware::on_read_resource`](super::Middleware::on_read_resource)
/// sees it.
#[derive(Debug)]
pub struct ResourceRequest {
    pub(crate) origin: Origin,
    pub(crate) uri: String,
    /// The resource's URI or URI template, as registered.
    pub(crate) registered: &'static str,
}

impl ResourceRequest {
    origin_accessors!();

    /// The URI read.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The URI or URI template of the resource that serves it, as given to `#[resource]`.
    pub fn resource(&self) -> &'static str {
        self.registered
    }
}

/// A `prompts/get`, as [`Middleware::on_get_prompt`](super::Middleware::on_get_prompt) sees it.
#[derive(Debug)]
pub struct PromptRequest {
    pub(crate) origin: Origin,
    pub(crate) name: &'static str,
    pub(crate) arguments: serde_json::Map<String, Value>,
}

impl PromptRequest {
    origin_accessors!();

    /// The prompt's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The arguments, as sent.
    pub fn arguments(&self) -> &serde_json::Map<String, Value> {
        &self.arguments
    }

    /// The arguments, to change before the prompt sees them.
    pub fn arguments_mut(&mut self) -> &mut serde_json::Map<String, Value> {
        &mut self.arguments
    }
}
