//! `Context`: what a handler can learn about, and say during, the request it serves.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::session::{Outbound, Session};
use crate::protocol::{Implementation, JsonObject, ProtocolVersion, RequestId, encode_request};

/// The request a handler is serving. Take it as a parameter of any `#[tool]` function:
///
/// ```rust,standalone_crate
/// use mcp_runtime::prelude::*;
///
/// /// Count to `n`, reporting progress.
/// #[tool]
/// async fn count(n: u32, ctx: Context) -> u32 {
///     for i in 1..=n {
///         ctx.progress(f64::from(i), Some(f64::from(n)), None).await;
///     }
///     n
/// }
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    request_id: RequestId,
    meta: Option<JsonObject>,
    session: Arc<Session>,
    out: Outbound,
}

impl Context {
    pub(crate) fn new(
        request_id: RequestId,
        meta: Option<JsonObject>,
        session: Arc<Session>,
        out: Outbound,
    ) -> Context {
        Context {
            inner: Arc::new(Inner {
                request_id,
                meta,
                session,
                out,
            }),
        }
    }

    /// The JSON-RPC id of the request.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.request_id
    }

    /// The request's `_meta`, if it had one.
    pub fn meta(&self) -> Option<&JsonObject> {
        self.inner.meta.as_ref()
    }

    /// The progress token the client attached, if any.
    pub fn progress_token(&self) -> Option<&Value> {
        self.meta()?.get("progressToken")
    }

    /// The protocol revision the client speaks.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.session.protocol_version()
    }

    /// The client's name and version, from `initialize`.
    pub fn client_info(&self) -> Option<&Implementation> {
        self.inner.session.client_info()
    }

    /// The client's capabilities, from `initialize`.
    pub fn client_capabilities(&self) -> Option<&JsonObject> {
        self.inner.session.client_capabilities()
    }

    /// A handle on the server: change what it serves, notify resource subscribers.
    pub fn server(&self) -> super::ServerHandle {
        super::ServerHandle::of(&self.inner.session.core)
    }

    /// Reports progress, when the client asked for it with a progress token; otherwise does
    /// nothing. `progress` should grow with every call.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = self.progress_token() else {
            return;
        };
        let mut params = Map::new();
        params.insert("progressToken".into(), token.clone());
        params.insert("progress".into(), progress.into());
        if let Some(t) = total {
            params.insert("total".into(), t.into());
        }
        if let Some(m) = message.filter(|_| self.protocol_version().has_progress_message()) {
            params.insert("message".into(), m.into());
        }
        self.notify("notifications/progress", &params).await;
    }

    /// Sends a notification to the client.
    pub async fn notify<P: Serialize>(&self, method: &str, params: &P) {
        match encode_request(None, method, Some(params)) {
            Ok(bytes) => {
                let _ = self.inner.out.send(bytes);
            }
            Err(e) => tracing::warn!(method, error = %e, "could not serialize a notification"),
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("request_id", &self.inner.request_id)
            .finish_non_exhaustive()
    }
}
