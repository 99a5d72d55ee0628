//! The client side of 2026-07-28: no handshake, each request says who sends it.
//!
//! Every request's params get a `_meta` naming the revision, the client's capabilities, its
//! identity and, when chosen, a log level. `connect` asks `server/discover` instead of sending
//! `initialize`. A result of type `input_required` is answered here: each of its
//! `inputRequests` goes to the client's [`ServerRequestHandler`], and the request is sent again
//! with the answers (`inputResponses`) and the server's `requestState`, until the result is
//! complete. `subscriptions/listen` is acknowledged by a notification, which is matched to its
//! request here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, oneshot};
use tokio::task::AbortHandle;

use super::{Client, ClientError, ServerRequestHandler, Shared, wait_answer};
use crate::protocol::{
    ErrorObject, Implementation, InitializeResult, JsonObject, ProtocolVersion, RequestId, code,
    encode_request,
};
use crate::server::LogLevel;

const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
pub(super) const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
pub(super) const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";

/// How many `input_required` rounds one request may take before the client gives up.
pub const MAX_INPUT_ROUNDS: usize = 16;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a client of 2026-07-28 adds to every request, and the requests it keeps going.
pub(super) struct PerRequest {
    version: String,
    capabilities: Value,
    info: Value,
    log_level: Mutex<Option<LogLevel>>,
    on_request: Option<ServerRequestHandler>,
    /// Requests in flight, by the id the caller was given: the id of their current round.
    /// Cancelling removes the entry, which also stops a request between two rounds.
    rounds: Mutex<HashMap<RequestId, RequestId>>,
    /// Woken whenever a request is cancelled.
    cancelled: Notify,
    /// `subscriptions/listen` requests waiting for their acknowledgement.
    acks: Mutex<HashMap<RequestId, oneshot::Sender<Value>>>,
}

impl PerRequest {
    pub(super) fn new(
        version: String,
        capabilities: &JsonObject,
        info: &Implementation,
        on_request: Option<ServerRequestHandler>,
    ) -> PerRequest {
        PerRequest {
            version,
            capabilities: Value::Object(capabilities.clone()),
            info: serde_json::to_value(info).unwrap_or_default(),
            log_level: Mutex::new(None),
            on_request,
            rounds: Mutex::new(HashMap::new()),
            cancelled: Notify::new(),
            acks: Mutex::new(HashMap::new()),
        }
    }

    /// The params as sent: the caller's, with the client's `_meta` keys added where the caller
    /// did not give them.
    pub(super) fn stamp<P: Serialize>(&self, params: &P) -> Result<Value, ClientError> {
        let mut value = serde_json::to_value(params)
            .map_err(|e| ClientError::Usage(format!("the request's params: {e}")))?;
        if value.is_null() {
            value = Value::Object(Map::new());
        }
        let Value::Object(map) = &mut value else {
            return Err(ClientError::Usage(format!(
                "the params of a 2026-07-28 request must be a JSON object, not {value}"
            )));
        };
        let meta = map
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(meta) = meta else {
            return Err(ClientError::Usage(
                "the request's `_meta` must be a JSON object".into(),
            ));
        };
        meta.entry(PROTOCOL_VERSION)
            .or_insert_with(|| self.version.clone().into());
        meta.entry(CLIENT_CAPABILITIES)
            .or_insert_with(|| self.capabilities.clone());
        meta.entry(CLIENT_INFO).or_insert_with(|| self.info.clone());
        if let Some(level) = *lock(&self.log_level) {
            meta.entry(LOG_LEVEL).or_insert_with(|| json!(level));
        }
        Ok(value)
    }

    pub(super) fn set_log_level(&self, level: Option<LogLevel>) {
        *lock(&self.log_level) = level;
    }

    /// Notes a request that may take several rounds; the guard forgets it.
    pub(super) fn track(self: &Arc<Self>, id: &RequestId) -> Tracked {
        lock(&self.rounds).insert(id.clone(), id.clone());
        Tracked {
            owner: Arc::clone(self),
            id: id.clone(),
        }
    }

    /// Stops following request `id` (as the caller knows it); returns the id of its current
    /// round, which is what the server must be told to cancel.
    pub(super) fn untrack(&self, id: &RequestId) -> RequestId {
        let current = lock(&self.rounds).remove(id);
        if current.is_some() {
            self.cancelled.notify_waiters();
        }
        current.unwrap_or_else(|| id.clone())
    }

    /// Completes once request `id` is cancelled.
    async fn until_cancelled(&self, id: &RequestId) {
        loop {
            let woken = self.cancelled.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if !lock(&self.rounds).contains_key(id) {
                return;
            }
            woken.await;
        }
    }

    pub(super) fn expect_ack(&self, id: &RequestId) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        lock(&self.acks).insert(id.clone(), tx);
        rx
    }

    pub(super) fn forget_ack(&self, id: &RequestId) {
        lock(&self.acks).remove(id);
    }

    /// Hands a `notifications/subscriptions/acknowledged` to the `listen` that waits for it.
    pub(super) fn acknowledged(&self, params: &Value) {
        let Some(id) = params
            .get("_meta")
            .and_then(|m| m.get(SUBSCRIPTION_ID))
            .and_then(|v| RequestId::deserialize(v).ok())
        else {
            return;
        };
        if let Some(tx) = lock(&self.acks).remove(&id) {
            let _ = tx.send(params.clone());
        }
    }
}

/// Keeps a request in [`PerRequest::rounds`] while its future lives.
pub(super) struct Tracked {
    owner: Arc<PerRequest>,
    id: RequestId,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        lock(&self.owner.rounds).remove(&self.id);
    }
}

/// The caller's result of a request: complete results as they came (without `resultType`,
/// as results of the handshake revisions look), `input_required` ones answered and retried.
pub(super) async fn finish(
    shared: Arc<Shared>,
    state: Arc<PerRequest>,
    tracked: Tracked,
    method: String,
    mut params: Value,
    mut result: Value,
) -> Result<Value, ClientError> {
    let first = tracked.id.clone();
    let mut round = 0;
    loop {
        round += 1;
        match result.get("resultType").and_then(Value::as_str) {
            Some("input_required") => {}
            Some("complete") | None => {
                if let Value::Object(r) = &mut result {
                    r.remove("resultType");
                }
                return Ok(result);
            }
            // Another type (an extension's): the caller reads it.
            Some(_) => return Ok(result),
        }
        if round > MAX_INPUT_ROUNDS {
            return Err(ClientError::Protocol(format!(
                "the server asked for input {MAX_INPUT_ROUNDS} times in answer to one `{method}` without completing it; the request was abandoned"
            )));
        }
        let Value::Object(mut r) = result else {
            return Err(ClientError::Protocol(format!(
                "`{method}` result is not an object"
            )));
        };
        let requests = match r.remove("inputRequests") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(ClientError::Protocol(format!(
                    "`inputRequests` of the `{method}` result is not an object: {other}"
                )));
            }
        };
        let answers = tokio::select! {
            answers = answer_all(state.on_request.as_ref(), &method, requests) => answers?,
            // Cancelled while the answers are being gathered: the questions are withdrawn.
            () = state.until_cancelled(&first) => return Err(ClientError::Closed),
        };
        let (id, rx) = {
            let mut rounds = lock(&state.rounds);
            if !rounds.contains_key(&first) {
                // Cancelled while the answers were being gathered.
                return Err(ClientError::Closed);
            }
            let (id, rx) = shared.register()?;
            rounds.insert(first.clone(), id.clone());
            (id, rx)
        };
        if let Value::Object(p) = &mut params {
            p.insert("inputResponses".into(), Value::Object(answers));
            match r.remove("requestState") {
                Some(state @ Value::String(_)) => p.insert("requestState".into(), state),
                _ => p.remove("requestState"),
            };
        }
        let bytes = encode_request(Some(&id), &method, Some(&params))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        shared.send(bytes).await?;
        result = wait_answer(rx).await?;
    }
}

/// Aborts the tasks answering input requests when the answers are no longer wanted.
struct AbortAll(Vec<AbortHandle>);

impl Drop for AbortAll {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// Asks the client's handler every input request at once, and gathers the answers by key.
async fn answer_all(
    handler: Option<&ServerRequestHandler>,
    asked_by: &str,
    requests: Map<String, Value>,
) -> Result<Map<String, Value>, ClientError> {
    let mut tasks = Vec::with_capacity(requests.len());
    let mut guard = AbortAll(Vec::with_capacity(requests.len()));
    for (key, request) in requests {
        let Some(method) = request.get("method").and_then(Value::as_str) else {
            return Err(ClientError::Protocol(format!(
                "`inputRequests.{key}` of the `{asked_by}` result has no `method`"
            )));
        };
        let Some(handler) = handler else {
            return Err(ClientError::Usage(format!(
                "the server needs the client to answer `{method}` before it can answer `{asked_by}`, and this client has no handler for the server's requests: set `ClientOptions::on_request` (and declare the matching capability)"
            )));
        };
        let params = request.get("params").cloned().unwrap_or(Value::Null);
        let task = tokio::spawn((handler.0)(method.to_string(), params));
        guard.0.push(task.abort_handle());
        tasks.push((key, method.to_string(), task));
    }
    let mut answers = Map::new();
    for (key, method, task) in tasks {
        let answer = match task.await {
            Ok(answer) => answer,
            Err(e) => Err(ErrorObject::internal(format!(
                "the handler of `{method}` failed: {e}"
            ))),
        };
        match answer {
            Ok(v) => {
                answers.insert(key, v);
            }
            Err(error) => return Err(ClientError::Input { method, error }),
        }
    }
    drop(guard);
    Ok(answers)
}

/// `server/discover` in place of `initialize`: the server's identity, capabilities and
/// instructions, once it is known to speak `requested`.
pub(super) async fn discover(
    client: &Client,
    requested: &str,
) -> Result<InitializeResult, ClientError> {
    let refused = |supported: Vec<String>| ClientError::UnsupportedRevision {
        requested: requested.to_string(),
        supported,
    };
    let mut answer = client.request("server/discover", &json!({})).await;
    // A refusal that lists the revision asked for came from a server (or a replica behind
    // the same URL) that does speak it: asking again once is worth it.
    if let Err(ClientError::Rpc(e)) = &answer
        && e.code == code::UNSUPPORTED_VERSION
        && strings(e.data.as_ref().and_then(|d| d.get("supported")))
            .iter()
            .any(|v| v == requested)
    {
        answer = client.request("server/discover", &json!({})).await;
    }
    let result: Value = match answer {
        Ok(v) => v,
        Err(ClientError::Rpc(e)) if e.code == code::UNSUPPORTED_VERSION => {
            return Err(refused(strings(
                e.data.as_ref().and_then(|d| d.get("supported")),
            )));
        }
        // A server of the handshake revisions only: it has no `server/discover`, or wants
        // `initialize` first.
        Err(ClientError::Rpc(e))
            if e.code == code::METHOD_NOT_FOUND || e.code == code::INVALID_REQUEST =>
        {
            return Err(refused(Vec::new()));
        }
        Err(e) => return Err(e),
    };
    if let Some(listed) = result.get("supportedVersions") {
        let supported = strings(Some(listed));
        if !supported.iter().any(|v| v == requested) {
            return Err(refused(supported));
        }
    }
    let server_info = result
        .get("_meta")
        .and_then(|m| m.get(SERVER_INFO))
        .and_then(|i| Implementation::deserialize(i).ok())
        .unwrap_or_default();
    Ok(InitializeResult {
        protocol_version: requested.to_string(),
        capabilities: match result.get("capabilities") {
            Some(Value::Object(c)) => c.clone(),
            _ => JsonObject::new(),
        },
        server_info,
        instructions: result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `version` is served without a handshake.
pub(super) fn is_per_request(version: &str) -> bool {
    ProtocolVersion::parse_any(version).is_some_and(ProtocolVersion::is_per_request)
}

/// What a `subscriptions/listen` asks to hear about, and what the server said it will send.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenFilter {
    /// `notifications/tools/list_changed`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tools_list_changed: bool,
    /// `notifications/prompts/list_changed`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prompts_list_changed: bool,
    /// `notifications/resources/list_changed`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resources_list_changed: bool,
    /// `notifications/resources/updated` for these resource URIs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_subscriptions: Vec<String>,
}

impl ListenFilter {
    /// Every list change: tools, prompts and resources.
    pub fn list_changes() -> ListenFilter {
        ListenFilter {
            tools_list_changed: true,
            prompts_list_changed: true,
            resources_list_changed: true,
            resource_subscriptions: Vec::new(),
        }
    }

    /// Updates of these resources.
    pub fn resources<S: Into<String>>(uris: impl IntoIterator<Item = S>) -> ListenFilter {
        ListenFilter {
            resource_subscriptions: uris.into_iter().map(Into::into).collect(),
            ..ListenFilter::default()
        }
    }
}

/// An open `subscriptions/listen`: its notifications arrive through
/// [`Client::next_notification`], tagged with [`Subscription::id`]
/// ([`Notification::subscription_id`](super::Notification::subscription_id)); it ends with
/// [`Client::cancel`] of that id, or when the connection closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The id of the `subscriptions/listen` request, which tags its notifications.
    pub id: RequestId,
    /// What the server will send: the part of the filter it honours.
    pub notifications: ListenFilter,
}

impl Client {
    /// Opens a `subscriptions/listen` (revision 2026-07-28) and waits for the server's
    /// acknowledgement. The notifications it asked for then arrive through
    /// [`Client::next_notification`], the acknowledgement first, each tagged with the
    /// subscription's id; [`Client::cancel`] with that id ends it.
    ///
    /// Under a handshake revision there is no such request: list changes reach the session
    /// without asking, and [`Client::subscribe`] asks for a resource's updates.
    pub async fn listen(&self, filter: &ListenFilter) -> Result<Subscription, ClientError> {
        let Some(state) = self.shared.per_request.clone() else {
            return Err(ClientError::Usage(format!(
                "`subscriptions/listen` exists in revision 2026-07-28, and this client speaks {}: under a handshake revision list changes arrive without asking, and `Client::subscribe` asks for a resource's updates",
                self.protocol_version()
            )));
        };
        let mut ack = None;
        let (id, done) = self
            .start_request_with(
                "subscriptions/listen",
                &json!({ "notifications": filter }),
                &mut |id| ack = Some(state.expect_ack(id)),
            )
            .await?;
        let Some(ack) = ack else {
            return Err(ClientError::Closed);
        };
        tokio::pin!(done);
        tokio::select! {
            acked = ack => match acked {
                Ok(params) => Ok(Subscription {
                    notifications: params
                        .get("notifications")
                        .and_then(|n| ListenFilter::deserialize(n).ok())
                        .unwrap_or_default(),
                    id,
                }),
                Err(_) => Err(ClientError::Closed),
            },
            ended = &mut done => {
                state.forget_ack(&id);
                match ended {
                    Err(e) => Err(e),
                    Ok(_) => Err(ClientError::Protocol(
                        "the server ended the subscription before acknowledging it".into(),
                    )),
                }
            }
        }
    }

    /// Sets the level of the log messages the server sends (`notifications/message`), or
    /// `None` for none.
    ///
    /// Under 2026-07-28 the level goes in the `_meta` of every later request, and a request
    /// without one gets no log messages. Under a handshake revision it is `logging/setLevel`,
    /// for the whole session; those revisions cannot turn log messages off, so `None` is
    /// refused there.
    pub async fn set_log_level(&self, level: Option<LogLevel>) -> Result<(), ClientError> {
        if let Some(state) = &self.shared.per_request {
            state.set_log_level(level);
            return Ok(());
        }
        let Some(level) = level else {
            return Err(ClientError::Usage(format!(
                "revision {} cannot turn log messages off once asked for; set the level to `emergency` to hear only the gravest",
                self.protocol_version()
            )));
        };
        let _: Value = self
            .request("logging/setLevel", &json!({ "level": level }))
            .await?;
        Ok(())
    }
}
