//! `ctx.session_state()`: values a handler keeps per session, in the store every replica
//! shares (`Server::shared_state`, `--redis-url`), or in this process's memory.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::{SharedState, StoreError, value_key};

/// How long a value lives after it was last set (the default session idle timeout).
const VALUE_TTL: Duration = Duration::from_secs(30 * 60);
/// The largest value kept, serialized.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The longest handle a client may choose.
const MAX_HANDLE: usize = 128;

/// Values a handler keeps for one session (or, where there is no session, one caller's
/// handle): JSON under a name, shared by every replica of the server, each kept for 30
/// minutes after it was last set, at most [`MAX_VALUE_BYTES`] each. A session's values go
/// when it is ended (DELETE).
///
/// ```no_run
/// use mcp_runtime::prelude::*;
///
/// #[tool]
/// async fn count(ctx: Context) -> Result<String, ToolError> {
///     let state = ctx.session_state().ok_or_else(|| ToolError::new("no session"))?;
///     let n: u64 = state.get("count").await.map_err(ToolError::new)?.unwrap_or(0) + 1;
///     state.set("count", &n).await.map_err(ToolError::new)?;
///     Ok(format!("call {n} of this session"))
/// }
/// ```
#[derive(Clone)]
pub struct SessionState {
    store: Arc<dyn SharedState>,
    scope: String,
}

impl std::fmt::Debug for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionState").finish_non_exhaustive()
    }
}

impl SessionState {
    pub(crate) fn new(store: Arc<dyn SharedState>, scope: String) -> SessionState {
        SessionState { store, scope }
    }

    /// The scope of a client-chosen `handle` of `principal` (2026-07-28, no session): hex,
    /// so that no two callers or handles share one. `None` for a handle that is empty or
    /// longer than 128 bytes.
    pub(crate) fn handle_scope(principal: &crate::Principal, handle: &str) -> Option<String> {
        if handle.is_empty() || handle.len() > MAX_HANDLE {
            return None;
        }
        let who = crate::store::fingerprint(principal);
        let mut scope = String::with_capacity(2 + 2 * (who.len() + handle.len() + 1));
        scope.push_str("h-");
        for b in who.bytes().chain([0]).chain(handle.bytes()) {
            scope.push_str(&format!("{b:02x}"));
        }
        Some(scope)
    }

    /// The value under `name`, if one is set (and readable as a `T`).
    pub async fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.store.get_value(&value_key(&self.scope, name)).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            StoreError::new(format!("the value `{name}` is not readable as asked ({e})"))
        })
    }

    /// Sets `name` to `value`.
    pub async fn set<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::new(e.to_string()))?;
        if bytes.len() > MAX_VALUE_BYTES {
            return Err(StoreError::new(format!(
                "the value `{name}` is {} bytes, over the {MAX_VALUE_BYTES} a session value may take; keep large data elsewhere and a key to it here",
                bytes.len()
            )));
        }
        self.store
            .set_value(&value_key(&self.scope, name), &bytes, VALUE_TTL)
            .await
    }
}
