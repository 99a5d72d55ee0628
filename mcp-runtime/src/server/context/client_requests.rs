//! What a handler asks of the client while it runs: log messages (`notifications/message`),
//! and requests (`sampling/createMessage`, `roots/list`, `elicitation/create`) whose responses
//! come back on the same connection.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

pub(crate) use crate::protocol::LogLevel;
use crate::protocol::{ErrorObject, RequestId};

/// How long a request to the client may take unless the server says otherwise.
pub(crate) const DEFAULT_CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// What became of one request to the client.
pub(crate) enum Answer {
    /// The client's result or error.
    Client(Result<Box<RawValue>, ErrorObject>),
    /// The transport could not deliver it (a plain JSON HTTP response).
    Undeliverable,
}

/// Where the client's answer to one request goes.
type Waiter = oneshot::Sender<Answer>;

/// Requests sent to the client and not yet answered.
#[derive(Default)]
pub(crate) struct Outgoing {
    pub(crate) next_id: AtomicI64,
    pub(crate) waiting: Mutex<HashMap<RequestId, Waiter>>,
}

impl Outgoing {
    /// Hands a response from the client to the request that awaits it.
    pub(crate) fn answer(&self, id: &RequestId, result: Result<&RawValue, ErrorObject>) {
        let waiter = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        match waiter {
            Some(tx) => {
                let _ = tx.send(Answer::Client(result.map(ToOwned::to_owned)));
            }
            None => tracing::debug!(
                id = ?crate::escape::Escaped(&id.to_string()),
                "response to an unknown request ignored"
            ),
        }
    }

    /// Fails a request the transport cannot deliver, at once rather than at its timeout.
    pub(crate) fn undeliverable(&self, id: &RequestId) {
        let waiter = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if let Some(tx) = waiter {
            let _ = tx.send(Answer::Undeliverable);
        }
    }

    pub(crate) fn forget(&self, id: &RequestId) {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// Why a request to the client failed.
#[derive(Debug)]
pub enum ClientRequestError {
    /// The client did not declare the capability the request needs; nothing was sent.
    NotSupported {
        /// The request's method.
        method: &'static str,
        /// The capability the client did not declare.
        capability: &'static str,
    },
    /// The client did not answer in time; the request was cancelled.
    Timeout {
        /// The request's method.
        method: &'static str,
        /// How long the server waited.
        after: Duration,
    },
    /// The client answered with an error.
    Rejected {
        /// The request's method.
        method: &'static str,
        /// The client's error.
        error: ErrorObject,
    },
    /// The connection closed before the client answered.
    Disconnected {
        /// The request's method.
        method: &'static str,
    },
    /// The request could not be made as asked (an elicitation form type that is not a flat
    /// struct, say); nothing was sent.
    InvalidRequest {
        /// The request's method.
        method: &'static str,
        /// What was wrong with it.
        message: String,
    },
    /// The request could not reach the client: the HTTP response carrying the call is plain
    /// JSON (the server's `json_response` option, or a client that does not accept
    /// `text/event-stream`), which has no room for requests to the client.
    NoStream {
        /// The request's method.
        method: &'static str,
    },
    /// The client's answer could not be read.
    InvalidResponse {
        /// The request's method.
        method: &'static str,
        /// What was wrong with it.
        message: String,
    },
}

impl fmt::Display for ClientRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientRequestError::NotSupported { method, capability } => write!(
                f,
                "the client does not support `{method}`: it did not declare the `{capability}` capability"
            ),
            ClientRequestError::Timeout { method, after } => write!(
                f,
                "the client did not answer `{method}` within {} s",
                after.as_secs_f64()
            ),
            ClientRequestError::Rejected { method, error } => write!(
                f,
                "the client refused `{method}`: {} (code {})",
                error.message, error.code
            ),
            ClientRequestError::Disconnected { method } => {
                write!(f, "the client disconnected before answering `{method}`")
            }
            ClientRequestError::InvalidRequest { method, message } => {
                write!(f, "cannot send `{method}`: {message}")
            }
            ClientRequestError::NoStream { method } => write!(
                f,
                "cannot send `{method}`: this call is answered with plain JSON (the server's `json_response` option, or a client that does not accept `text/event-stream`), which cannot carry requests to the client; serve it with SSE"
            ),
            ClientRequestError::InvalidResponse { method, message } => {
                write!(f, "the client's answer to `{method}` is invalid: {message}")
            }
        }
    }
}

impl std::error::Error for ClientRequestError {}

/// A message of a sampling conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplingMessage {
    /// `user` or `assistant`.
    pub role: crate::protocol::Role,
    /// A content block (text, image, audio; tool use and results from 2025-11-25), or a list
    /// of them.
    pub content: Value,
}

/// What to ask the client's model: `sampling/createMessage`.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingRequest {
    /// The conversation so far.
    pub messages: Vec<SamplingMessage>,
    /// A system prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// The most tokens to generate.
    pub max_tokens: u32,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Sequences that stop generation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    /// Model preferences (hints, cost/speed/intelligence priorities), as the spec shapes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_preferences: Option<Value>,
    /// Which server context to include (`none`, `thisServer`, `allServers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_context: Option<String>,
    /// Tools the model may call (2025-11-25).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    /// How the model chooses tools (2025-11-25).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
}

impl SamplingRequest {
    /// A request of at most `max_tokens` tokens answering one user message.
    pub fn new(prompt: impl Into<String>, max_tokens: u32) -> SamplingRequest {
        SamplingRequest {
            messages: vec![SamplingMessage {
                role: crate::protocol::Role::User,
                content: serde_json::json!({"type": "text", "text": prompt.into()}),
            }],
            max_tokens,
            ..Default::default()
        }
    }

    /// Sets the system prompt.
    pub fn system(mut self, prompt: impl Into<String>) -> SamplingRequest {
        self.system_prompt = Some(prompt.into());
        self
    }
}

/// The client model's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingResult {
    /// Normally `assistant`.
    pub role: crate::protocol::Role,
    /// A content block, or a list of them.
    pub content: Value,
    /// The model that answered.
    pub model: String,
    /// Why generation stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

impl SamplingResult {
    /// The text of the answer's text blocks, joined.
    pub fn text(&self) -> String {
        let blocks = match &self.content {
            Value::Array(a) => a.iter().collect::<Vec<_>>(),
            other => vec![other],
        };
        blocks
            .into_iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A root the client exposes: a directory or other URI the server may work in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Root {
    /// The root's URI (`file://…`).
    pub uri: String,
    /// A name for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ListRootsResult {
    pub(crate) roots: Vec<Root>,
}
