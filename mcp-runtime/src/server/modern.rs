//! Serving 2026-07-28 beside the handshake revisions.
//!
//! A request whose `_meta` names `io.modelcontextprotocol/protocolVersion` carries its client
//! with it: capabilities, identity and log level. It is served by a session of its own, made
//! for that one request (the way stateless HTTP serves each POST), so every handler runs the
//! same code in both eras. What differs is settled here: the checks of `_meta`, the methods of
//! this revision (`server/discover`, `subscriptions/listen`) and those it removed, what every
//! result carries (`resultType`, the server's identity, caching hints), and requests to the
//! client, which become `input_required` results the client answers by calling again.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::ServerCore;
use super::client_requests::LogLevel;
use super::session::{Outbound, PendingReply, Reply, Session};
use super::tasks::{self, Task, TaskSupport};
use crate::protocol::{
    ErrorObject, Implementation, JsonObject, ProtocolVersion, RequestId, base64, code,
    encode_error, encode_request, encode_result,
};

pub(crate) const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// Methods of the handshake revisions that 2026-07-28 removed.
const HANDSHAKE_ONLY: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// Results that carry `ttlMs` and `cacheScope`.
const CACHEABLE: [&str; 6] = [
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// Whether a request's params name a per-request revision: the cheap test first, then the
/// `_meta` key itself.
pub(crate) fn names_revision(params: Option<&RawValue>) -> bool {
    let Some(raw) = params else { return false };
    if !raw.get().contains(PROTOCOL_VERSION) {
        return false;
    }
    #[derive(Deserialize)]
    struct MetaOnly {
        #[serde(rename = "_meta")]
        meta: Option<Map<String, Value>>,
    }
    serde_json::from_str::<MetaOnly>(raw.get())
        .ok()
        .and_then(|m| m.meta)
        .is_some_and(|m| m.contains_key(PROTOCOL_VERSION))
}

/// Who sent a per-request request, from its `_meta`.
pub(crate) struct RequestMeta {
    pub(crate) version: String,
    pub(crate) capabilities: JsonObject,
    pub(crate) info: Option<Implementation>,
    pub(crate) log_level: Option<LogLevel>,
}

fn parse_meta(params: Option<&RawValue>) -> Result<RequestMeta, ErrorObject> {
    #[derive(Deserialize)]
    struct MetaOnly {
        #[serde(rename = "_meta")]
        meta: Option<Map<String, Value>>,
    }
    let meta = params
        .and_then(|p| serde_json::from_str::<MetaOnly>(p.get()).ok())
        .and_then(|m| m.meta)
        .ok_or_else(|| {
            ErrorObject::invalid_params(format!(
                "Invalid params: the request has no `_meta`; 2026-07-28 requests carry `{PROTOCOL_VERSION}` and `{CLIENT_CAPABILITIES}` in it"
            ))
        })?;
    let version = match meta.get(PROTOCOL_VERSION) {
        Some(Value::String(v)) => v.clone(),
        _ => {
            return Err(ErrorObject::invalid_params(format!(
                "Invalid params: `_meta` has no `{PROTOCOL_VERSION}` string"
            )));
        }
    };
    let capabilities = match meta.get(CLIENT_CAPABILITIES) {
        Some(Value::Object(c)) => c.clone(),
        _ => {
            return Err(ErrorObject::invalid_params(format!(
                "Invalid params: `_meta` has no `{CLIENT_CAPABILITIES}` object"
            )));
        }
    };
    let info = match meta.get(CLIENT_INFO) {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
            ErrorObject::invalid_params(format!("Invalid params: `_meta.{CLIENT_INFO}`: {e}"))
        })?),
    };
    let log_level = match meta.get(LOG_LEVEL) {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
            ErrorObject::invalid_params(format!("Invalid params: `_meta.{LOG_LEVEL}`: {e}"))
        })?),
    };
    Ok(RequestMeta {
        version,
        capabilities,
        info,
        log_level,
    })
}

/// The checks every per-request request passes first, in the order the revision gives:
/// `_meta` complete (-32602), `MCP-Protocol-Version` equal to it (-32020), the revision one
/// the server speaks (-32022).
pub(crate) fn check_request(
    params: Option<&RawValue>,
    header_version: Option<&str>,
) -> Result<RequestMeta, ErrorObject> {
    let meta = parse_meta(params)?;
    if let Some(h) = header_version
        && h != meta.version
    {
        return Err(ErrorObject::new(
            code::HEADER_MISMATCH,
            format!(
                "Header mismatch: MCP-Protocol-Version is `{h}` but `_meta.{PROTOCOL_VERSION}` is `{}`",
                meta.version
            ),
        ));
    }
    match ProtocolVersion::parse_any(&meta.version) {
        Some(v) if v.is_per_request() => Ok(meta),
        _ => Err(unsupported_version(&meta.version)),
    }
}

/// UnsupportedProtocolVersion (-32022), naming every revision the server speaks.
pub(crate) fn unsupported_version(requested: &str) -> ErrorObject {
    let supported: Vec<&str> = ProtocolVersion::ALL
        .iter()
        .rev()
        .map(|v| v.as_str())
        .collect();
    ErrorObject::new(
        code::UNSUPPORTED_VERSION,
        format!(
            "Unsupported protocol version `{requested}`; supported: {}",
            supported.join(", ")
        ),
    )
    .with_data(json!({"supported": supported, "requested": requested}))
}

/// How long clients may cache a result, and whether for everyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheHints {
    /// How long the result stays fresh.
    pub ttl: Duration,
    /// Whether the result is the same for every caller.
    pub scope: CacheScope,
}

/// Who may share a cached result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheScope {
    /// The result is the same for every caller: shared caches may keep it.
    Public,
    /// The result depends on the caller: only the caller's own cache may keep it.
    Private,
}

impl CacheScope {
    fn as_str(self) -> &'static str {
        match self {
            CacheScope::Public => "public",
            CacheScope::Private => "private",
        }
    }
}

impl Default for CacheHints {
    fn default() -> CacheHints {
        CacheHints {
            ttl: Duration::ZERO,
            scope: CacheScope::Public,
        }
    }
}

/// The caching hints and the `requestState` key of a server.
#[derive(Clone)]
pub(crate) struct PerRequestConfig {
    pub(crate) lists: CacheHints,
    /// By resource URI or template.
    pub(crate) resources: HashMap<String, CacheHints>,
    pub(crate) state_key: Arc<[u8]>,
    pub(crate) state_max_age: Duration,
}

impl Default for PerRequestConfig {
    fn default() -> PerRequestConfig {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source");
        PerRequestConfig {
            lists: CacheHints::default(),
            resources: HashMap::new(),
            state_key: Arc::new(key),
            state_max_age: Duration::from_secs(600),
        }
    }
}

/// The longest `requestState` accepted.
const MAX_STATE: usize = 64 * 1024;

type HmacSha256 = Hmac<Sha256>;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seals the answers a request has gathered so far, bound to the method and its target.
fn seal(key: &[u8], method: &str, target: &str, answers: &JsonObject) -> String {
    let payload = json!({"m": method, "n": target, "t": now_secs(), "a": answers}).to_string();
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!(
        "{}.{}",
        base64::encode(payload.as_bytes()),
        base64::encode(&tag)
    )
}

/// Opens a `requestState`: the answers it carries, if it is ours, unaltered, fresh, and for
/// this method and target.
fn open(
    key: &[u8],
    max_age: Duration,
    state: &str,
    method: &str,
    target: &str,
) -> Result<JsonObject, String> {
    let invalid = || "requestState integrity check failed".to_string();
    if state.len() > MAX_STATE {
        return Err(format!("requestState is longer than {MAX_STATE} bytes"));
    }
    let (payload, tag) = state.split_once('.').ok_or_else(invalid)?;
    let payload = base64::decode(payload).map_err(|_| invalid())?;
    let tag = base64::decode(tag).map_err(|_| invalid())?;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&payload);
    mac.verify_slice(&tag).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if value["m"] != method || value["n"] != target {
        return Err(format!(
            "requestState belongs to another request, not `{method}` of `{target}`"
        ));
    }
    let issued = value["t"].as_u64().ok_or_else(invalid)?;
    if now_secs().saturating_sub(issued) > max_age.as_secs() {
        return Err("requestState has expired; call again without it".into());
    }
    match value.get("a") {
        Some(Value::Object(a)) => Ok(a.clone()),
        _ => Err(invalid()),
    }
}

/// The requests to the client one run of a handler made, and the answers it was given.
pub(crate) struct InputRound {
    answers: JsonObject,
    asked: Mutex<Vec<(String, Value)>>,
    missing: Mutex<Option<&'static str>>,
    malformed: Mutex<Option<(String, Value)>>,
    counts: Mutex<HashMap<&'static str, usize>>,
    asked_or_missing: AtomicUsize,
    /// Whether the call may become a task (a task tool, a client declaring the extension).
    task_capable: bool,
    /// The task the call became.
    task: OnceLock<Arc<Task>>,
    /// A status message set before the call became a task, for the task.
    status_message: Mutex<Option<String>>,
}

/// What a request to the client comes to in a per-request session.
pub(crate) enum Input {
    /// The client answered it in `inputResponses` (now or in an earlier round).
    Answered(Value),
    /// It is asked in the `input_required` result; the handler stops here.
    Asked,
}

impl InputRound {
    fn new(answers: JsonObject, task_capable: bool) -> InputRound {
        InputRound {
            answers,
            asked: Mutex::new(Vec::new()),
            missing: Mutex::new(None),
            malformed: Mutex::new(None),
            counts: Mutex::new(HashMap::new()),
            asked_or_missing: AtomicUsize::new(0),
            task_capable,
            task: OnceLock::new(),
            status_message: Mutex::new(None),
        }
    }

    /// Keeps a status message for the task the call may become.
    pub(crate) fn stash_status_message(&self, message: String) {
        *self
            .status_message
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(message);
    }

    /// The task the call became, once it has.
    pub(crate) fn task(&self) -> Option<&Arc<Task>> {
        self.task.get()
    }

    /// Whether the call would become a task at its next wait.
    pub(crate) fn may_become_task(&self) -> bool {
        self.task_capable && self.task.get().is_none()
    }

    /// A key for the next request of `kind` when the handler named none: `elicitation-1`,
    /// `sampling-2`… in the order the handler asks.
    pub(crate) fn next_key(&self, kind: &'static str) -> String {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(kind).or_insert(0);
        *n += 1;
        format!("{kind}-{n}")
    }

    /// Looks up the answer to `key`, or records the request for the `input_required` result.
    pub(crate) fn ask(&self, key: String, method: &str, params: Value) -> Input {
        if let Some(answer) = self.answers.get(&key) {
            if answer.is_object() {
                return Input::Answered(answer.clone());
            }
            self.malformed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert((key, answer.clone()));
            self.asked_or_missing.fetch_add(1, Ordering::Release);
            return Input::Asked;
        }
        let mut asked = self.asked.lock().unwrap_or_else(|e| e.into_inner());
        if !asked.iter().any(|(k, _)| *k == key) {
            asked.push((key, json!({"method": method, "params": params})));
        }
        self.asked_or_missing.fetch_add(1, Ordering::Release);
        Input::Asked
    }

    /// Records that the handler needs a capability the client did not declare.
    pub(crate) fn require(&self, capability: &'static str) {
        self.missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(capability);
        self.asked_or_missing.fetch_add(1, Ordering::Release);
    }

    fn stuck(&self) -> bool {
        self.asked_or_missing.load(Ordering::Acquire) > 0
    }
}

/// What a per-request request runs with besides its session.
struct Retry {
    method: String,
    target: String,
}

impl Session {
    /// Serves a request of the per-request revision. `header_version` is HTTP's
    /// `MCP-Protocol-Version`, which must agree with `_meta`.
    pub(crate) fn handle_per_request(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
        header_version: Option<&str>,
    ) -> Reply {
        match self.serve_per_request(id.clone(), method, params, out, header_version) {
            Ok(reply) => reply,
            Err(e) => Reply::Now(encode_error(Some(&id), &e)),
        }
    }

    fn serve_per_request(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
        header_version: Option<&str>,
    ) -> Result<Reply, ErrorObject> {
        let meta = check_request(params, header_version)?;
        if HANDSHAKE_ONLY.contains(&method) {
            return Err(ErrorObject::new(
                code::METHOD_NOT_FOUND,
                format!("Method not found: `{method}` does not exist in revision 2026-07-28"),
            ));
        }
        let core = &self.core;
        match method {
            "server/discover" => {
                let bytes = encode_result(&id, &discover(core));
                return Ok(Reply::Now(finish(
                    bytes,
                    &core.info,
                    Some(core.per_request.lists),
                )));
            }
            "subscriptions/listen" => {
                return listen(core, id, params, out.clone(), &meta.capabilities);
            }
            "tasks/get" | "tasks/update" | "tasks/cancel" => {
                if !tasks::declared(&meta.capabilities) {
                    return Err(tasks::missing_extension(&format!("`{method}`")));
                }
                let result = core.tasks.serve(method, params)?;
                let bytes = encode_result(&id, &result);
                return Ok(Reply::Now(finish(bytes, &core.info, None)));
            }
            _ => {}
        }
        let retry = match method {
            "tools/call" | "prompts/get" | "resources/read" => Some(retry_of(method, params)?),
            _ => None,
        };
        let task_capable = match &retry {
            Some(r) if method == "tools/call" => {
                let support = core.tools.get(&r.target).map(|t| t.def.task);
                let declared = tasks::declared(&meta.capabilities);
                match support {
                    Some(TaskSupport::Required) if !declared => {
                        return Err(tasks::missing_extension(&format!(
                            "tool `{}` runs as a task only, so calling it",
                            r.target
                        )));
                    }
                    Some(TaskSupport::Optional | TaskSupport::Required) => declared,
                    _ => false,
                }
            }
            _ => false,
        };
        let answers = match &retry {
            Some(r) => self.answers(r, params)?,
            None => JsonObject::new(),
        };
        let hints = match method {
            "resources/read" => retry
                .as_ref()
                .and_then(|r| self.find_resource(&r.target))
                .and_then(|(entry, _)| core.per_request.resources.get(entry.def.uri).copied())
                .unwrap_or(core.per_request.lists),
            _ => core.per_request.lists,
        };
        let hints = CACHEABLE.contains(&method).then_some(hints);
        let session = Session::for_request(
            Arc::clone(core),
            out.clone(),
            self,
            &meta,
            InputRound::new(answers, task_capable),
        );
        Ok(match session.handle_request(id, method, params, out) {
            Reply::None => Reply::None,
            Reply::Now(bytes) => Reply::Now(finish(bytes, &core.info, hints)),
            Reply::Later(id, mut fut) => Reply::Later(
                id.clone(),
                Box::pin(async move {
                    let waited = WaitForInput {
                        fut: &mut fut,
                        session: &session,
                    }
                    .await;
                    let bytes = match waited {
                        Waited::Done(bytes) => bytes,
                        Waited::Stuck => stuck(&id, &session, retry.as_ref()),
                        Waited::Detach => detach(&id, &session, fut),
                    };
                    finish(bytes, &session.core.info, hints)
                }) as PendingReply,
            ),
        })
    }

    /// The answers of earlier rounds (from `requestState`) and of this one (`inputResponses`).
    fn answers(&self, retry: &Retry, params: Option<&RawValue>) -> Result<JsonObject, ErrorObject> {
        #[derive(Deserialize)]
        struct RetryParams {
            #[serde(rename = "inputResponses", default)]
            input_responses: Option<Value>,
            #[serde(rename = "requestState", default)]
            request_state: Option<String>,
        }
        let p: RetryParams = params
            .map(|p| serde_json::from_str(p.get()))
            .transpose()
            .map_err(|e| ErrorObject::invalid_params(format!("Invalid params: {e}")))?
            .unwrap_or(RetryParams {
                input_responses: None,
                request_state: None,
            });
        let config = &self.core.per_request;
        let mut answers = match &p.request_state {
            Some(state) => open(
                &config.state_key,
                config.state_max_age,
                state,
                &retry.method,
                &retry.target,
            )
            .map_err(ErrorObject::invalid_params)?,
            None => JsonObject::new(),
        };
        match p.input_responses {
            None | Some(Value::Null) => {}
            // Keys the handler does not ask for are ignored; a malformed answer to one it asks
            // for fails the request then.
            Some(Value::Object(given)) => answers.extend(given),
            Some(other) => {
                return Err(ErrorObject::invalid_params(format!(
                    "Invalid params: `inputResponses` must be an object of results by key, not {other}"
                )));
            }
        }
        Ok(answers)
    }

    /// The session of one per-request request.
    fn for_request(
        core: Arc<ServerCore>,
        out: Outbound,
        parent: &Arc<Session>,
        meta: &RequestMeta,
        round: InputRound,
    ) -> Arc<Session> {
        let session = Session::new_child(core, out, parent, round);
        session.set_peer(
            ProtocolVersion::V2026_07_28,
            meta.info.clone().unwrap_or_default(),
            meta.capabilities.clone(),
        );
        match meta.log_level {
            Some(level) => session
                .log_level
                .store(level as u8, std::sync::atomic::Ordering::Relaxed),
            None => session.silence_logs(),
        }
        session
    }
}

fn retry_of(method: &str, params: Option<&RawValue>) -> Result<Retry, ErrorObject> {
    #[derive(Deserialize)]
    struct Target {
        name: Option<String>,
        uri: Option<String>,
    }
    let t: Target = params
        .map(|p| serde_json::from_str(p.get()))
        .transpose()
        .map_err(|e| ErrorObject::invalid_params(format!("Invalid params: {e}")))?
        .unwrap_or(Target {
            name: None,
            uri: None,
        });
    Ok(Retry {
        method: method.to_string(),
        target: t.name.or(t.uri).unwrap_or_default(),
    })
}

enum Waited {
    Done(Vec<u8>),
    Stuck,
    Detach,
}

/// Runs a handler until it finishes, or until a poll leaves it waiting on requests to the
/// client (all those it made in that poll are then asked at once), or, for a call that may
/// become a task, waiting on anything else.
struct WaitForInput<'a> {
    fut: &'a mut PendingReply,
    session: &'a Session,
}

impl Future for WaitForInput<'_> {
    type Output = Waited;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Waited> {
        match self.fut.as_mut().poll(cx) {
            Poll::Ready(bytes) => Poll::Ready(Waited::Done(bytes)),
            Poll::Pending => match self.session.round() {
                Some(r) if r.stuck() => Poll::Ready(Waited::Stuck),
                Some(r) if r.may_become_task() => Poll::Ready(Waited::Detach),
                _ => Poll::Pending,
            },
        }
    }
}

/// Makes a waiting call a task: stores it, runs the handler on in the background, and
/// answers with the `CreateTaskResult`.
fn detach(id: &RequestId, session: &Arc<Session>, fut: PendingReply) -> Vec<u8> {
    let core = &session.core;
    let task = match core.tasks.create(core) {
        Ok(t) => t,
        Err(e) => return encode_error(Some(id), &e),
    };
    let round = session.round().expect("a per-request session has a round");
    let _ = round.task.set(Arc::clone(&task));
    if let Some(message) = round
        .status_message
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        task.set_message(message);
    }
    // The request is answered; from now on its `Context` hears of `tasks/cancel`, not of
    // the connection's `notifications/cancelled`.
    if let Some(context) = session.take_context(id) {
        task.set_context(context);
    }
    let created = task.create_result();
    let runner = Arc::clone(&task);
    let keep = Arc::clone(session);
    let handle = tokio::spawn(async move {
        let bytes = fut.await;
        runner.finish(&bytes);
        drop(keep);
    });
    task.set_abort(handle.abort_handle());
    tracing::debug!(task = %task.id, "the call continues as a task");
    encode_result(id, &created)
}

/// The answer of a handler that waits on the client: the `input_required` result asking
/// for it, or, when it needs a capability the client did not declare, that error.
fn stuck(id: &RequestId, session: &Session, retry: Option<&Retry>) -> Vec<u8> {
    let core = &session.core;
    let round = session.round().expect("a per-request session has a round");
    if let Some((key, answer)) = round
        .malformed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        return encode_error(
            Some(id),
            &ErrorObject::invalid_params(format!(
                "Invalid params: `inputResponses.{key}` must be the result of the request it answers (an object), not {answer}"
            )),
        );
    }
    if let Some(capability) = *round.missing.lock().unwrap_or_else(|e| e.into_inner()) {
        let mut required = Map::new();
        required.insert(capability.into(), json!({}));
        return encode_error(
            Some(id),
            &ErrorObject::new(
                code::MISSING_CAPABILITY,
                format!(
                    "Missing required client capability: this request needs `{capability}`, which the request's `{CLIENT_CAPABILITIES}` does not declare"
                ),
            )
            .with_data(json!({"requiredCapabilities": required})),
        );
    }
    let asked = std::mem::take(&mut *round.asked.lock().unwrap_or_else(|e| e.into_inner()));
    let mut requests = Map::new();
    for (key, request) in asked {
        requests.insert(key, request);
    }
    let mut result = Map::new();
    result.insert("resultType".into(), "input_required".into());
    result.insert("inputRequests".into(), Value::Object(requests));
    if let Some(r) = retry {
        result.insert(
            "requestState".into(),
            seal(
                &core.per_request.state_key,
                &r.method,
                &r.target,
                &round.answers,
            )
            .into(),
        );
    }
    result.insert("_meta".into(), server_info_meta(&core.info));
    encode_result(id, &result)
}

fn server_info_meta(info: &Implementation) -> Value {
    let mut meta = Map::new();
    meta.insert(
        SERVER_INFO.into(),
        serde_json::to_value(info).unwrap_or_default(),
    );
    Value::Object(meta)
}

/// What every per-request response carries: `resultType`, the server's identity, caching
/// hints for the methods that have them (`hints`); and this revision's error codes.
fn finish(bytes: Vec<u8>, info: &Implementation, hints: Option<CacheHints>) -> Vec<u8> {
    let Ok(mut message) = serde_json::from_slice::<Map<String, Value>>(&bytes) else {
        return bytes;
    };
    if let Some(Value::Object(error)) = message.get_mut("error") {
        if error.get("code").and_then(Value::as_i64) == Some(code::RESOURCE_NOT_FOUND) {
            error.insert("code".into(), code::INVALID_PARAMS.into());
        }
        return serde_json::to_vec(&message).unwrap_or(bytes);
    }
    let Some(Value::Object(result)) = message.get_mut("result") else {
        return bytes;
    };
    let complete = !result.contains_key("resultType");
    if complete {
        result.insert("resultType".into(), "complete".into());
    }
    match result.get_mut("_meta") {
        Some(Value::Object(meta)) => {
            meta.insert(
                SERVER_INFO.into(),
                serde_json::to_value(info).unwrap_or_default(),
            );
        }
        _ => {
            result.insert("_meta".into(), server_info_meta(info));
        }
    }
    if let Some(hints) = hints.filter(|_| complete) {
        let ttl = u64::try_from(hints.ttl.as_millis()).unwrap_or(u64::MAX);
        result.insert("ttlMs".into(), ttl.into());
        result.insert("cacheScope".into(), hints.scope.as_str().into());
    }
    serde_json::to_vec(&message).unwrap_or(bytes)
}

/// `server/discover`: the revisions, capabilities and identity of the server.
fn discover(core: &ServerCore) -> Value {
    let init = core.initialize_result(ProtocolVersion::V2026_07_28);
    let supported: Vec<&str> = ProtocolVersion::ALL
        .iter()
        .rev()
        .map(|v| v.as_str())
        .collect();
    let mut capabilities = init.capabilities;
    if core
        .tools
        .load()
        .live()
        .iter()
        .any(|t| t.def.task != TaskSupport::Forbidden)
    {
        let mut extensions = Map::new();
        extensions.insert(tasks::EXTENSION.into(), json!({}));
        capabilities.insert("extensions".into(), Value::Object(extensions));
    }
    let mut result = Map::new();
    result.insert("supportedVersions".into(), json!(supported));
    result.insert("capabilities".into(), Value::Object(capabilities));
    if let Some(i) = init.instructions {
        result.insert("instructions".into(), i.into());
    }
    Value::Object(result)
}

/// What a `subscriptions/listen` asked to hear.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    tools_list_changed: bool,
    #[serde(default)]
    prompts_list_changed: bool,
    #[serde(default)]
    resources_list_changed: bool,
    #[serde(default)]
    resource_subscriptions: Vec<String>,
    #[serde(default)]
    task_ids: Vec<String>,
}

/// One open `subscriptions/listen`.
pub(crate) struct Listener {
    id: RequestId,
    filter: Filter,
    out: Outbound,
}

impl Listener {
    /// Sends `method` (with `params`) if this listener asked for it, tagged with its id.
    pub(crate) fn offer(&self, method: &str, uri: Option<&str>) {
        let wanted = match method {
            "notifications/tools/list_changed" => self.filter.tools_list_changed,
            "notifications/prompts/list_changed" => self.filter.prompts_list_changed,
            "notifications/resources/list_changed" => self.filter.resources_list_changed,
            "notifications/resources/updated" => {
                uri.is_some_and(|u| self.filter.resource_subscriptions.iter().any(|s| s == u))
            }
            _ => false,
        };
        if !wanted {
            return;
        }
        let mut params = Map::new();
        if let Some(u) = uri {
            params.insert("uri".into(), u.into());
        }
        params.insert("_meta".into(), self.tag());
        if let Ok(bytes) = encode_request(None, method, Some(&params)) {
            let _ = self.out.send(bytes);
        }
    }

    /// Sends a task's new state (`notifications/tasks`) if this listener asked for it.
    pub(crate) fn offer_task(&self, id: &str, detailed: &Map<String, Value>) {
        if !self.filter.task_ids.iter().any(|t| t == id) {
            return;
        }
        let mut params = detailed.clone();
        params.insert("_meta".into(), self.tag());
        if let Ok(bytes) = encode_request(None, "notifications/tasks", Some(&params)) {
            let _ = self.out.send(bytes);
        }
    }

    fn tag(&self) -> Value {
        let mut meta = Map::new();
        meta.insert(
            SUBSCRIPTION_ID.into(),
            serde_json::to_value(&self.id).unwrap_or_default(),
        );
        Value::Object(meta)
    }
}

/// `subscriptions/listen`: acknowledges what it will send, then sends it until the client
/// goes away (closes the stream, or cancels the request).
fn listen(
    core: &Arc<ServerCore>,
    id: RequestId,
    params: Option<&RawValue>,
    out: Outbound,
    capabilities: &JsonObject,
) -> Result<Reply, ErrorObject> {
    #[derive(Default, Deserialize)]
    struct ListenParams {
        #[serde(default)]
        notifications: Filter,
    }
    let mut p: ListenParams = params
        .map(|p| serde_json::from_str(p.get()))
        .transpose()
        .map_err(|e| ErrorObject::invalid_params(format!("Invalid params: {e}")))?
        .unwrap_or_default();
    if !p.notifications.task_ids.is_empty() && !tasks::declared(capabilities) {
        return Err(tasks::missing_extension(
            "listening for `notifications/tasks`",
        ));
    }
    // Only tasks that exist are followed.
    p.notifications
        .task_ids
        .retain(|t| core.tasks.detailed(t).is_some());
    let listener = Arc::new(Listener {
        id: id.clone(),
        filter: p.notifications,
        out,
    });
    let mut honored = Map::new();
    let f = &listener.filter;
    for (key, on) in [
        ("toolsListChanged", f.tools_list_changed),
        ("promptsListChanged", f.prompts_list_changed),
        ("resourcesListChanged", f.resources_list_changed),
    ] {
        if on {
            honored.insert(key.into(), true.into());
        }
    }
    if !f.resource_subscriptions.is_empty() {
        honored.insert(
            "resourceSubscriptions".into(),
            json!(f.resource_subscriptions),
        );
    }
    if !f.task_ids.is_empty() {
        honored.insert("taskIds".into(), json!(f.task_ids));
    }
    let mut ack = Map::new();
    ack.insert("notifications".into(), Value::Object(honored));
    ack.insert("_meta".into(), listener.tag());
    if let Ok(bytes) = encode_request(None, "notifications/subscriptions/acknowledged", Some(&ack))
    {
        let _ = listener.out.send(bytes);
    }
    let registered = core.listen(&listener);
    Ok(Reply::Later(
        id,
        Box::pin(async move {
            let _registered = registered;
            std::future::pending::<Vec<u8>>().await
        }),
    ))
}

/// Keeps a listener registered while its request runs.
pub(crate) struct Registered {
    core: std::sync::Weak<ServerCore>,
    listener: Arc<Listener>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(core) = self.core.upgrade() {
            core.unlisten(&self.listener);
        }
    }
}

impl ServerCore {
    fn listen(self: &Arc<Self>, listener: &Arc<Listener>) -> Registered {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(listener));
        Registered {
            core: Arc::downgrade(self),
            listener: Arc::clone(listener),
        }
    }

    fn unlisten(&self, listener: &Arc<Listener>) {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|l| !Arc::ptr_eq(l, listener));
    }

    /// Whether an open `subscriptions/listen` follows the task `id`.
    pub(crate) fn follows_task(&self, id: &str) -> bool {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|l| l.filter.task_ids.iter().any(|t| t == id))
    }

    /// Offers a task's new state to every open `subscriptions/listen`.
    pub(crate) fn offer_task(&self, id: &str, detailed: Map<String, Value>) {
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for l in listeners {
            l.offer_task(id, &detailed);
        }
    }

    /// Offers a notification to every open `subscriptions/listen`.
    pub(crate) fn offer_listeners(&self, method: &str, uri: Option<&str>) {
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for l in listeners {
            l.offer(method, uri);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_state_opens_only_unaltered_fresh_and_for_its_request() {
        let key = [7u8; 32];
        let mut answers = JsonObject::new();
        answers.insert("user_name".into(), json!({"action": "accept"}));
        let state = seal(&key, "tools/call", "greet", &answers);
        let hour = Duration::from_secs(3600);
        assert_eq!(open(&key, hour, &state, "tools/call", "greet"), Ok(answers));
        let tampered = format!("{state}-TAMPERED");
        assert_eq!(
            open(&key, hour, &tampered, "tools/call", "greet"),
            Err("requestState integrity check failed".into())
        );
        assert!(open(&[8u8; 32], hour, &state, "tools/call", "greet").is_err());
        assert!(
            open(&key, hour, &state, "tools/call", "other")
                .unwrap_err()
                .contains("another request")
        );
        assert!(open(&key, hour, "garbage", "tools/call", "greet").is_err());
        let huge = "a".repeat(MAX_STATE + 1);
        assert!(
            open(&key, hour, &huge, "tools/call", "greet")
                .unwrap_err()
                .contains("longer")
        );
    }

    #[test]
    fn meta_needs_the_version_and_capabilities_but_not_client_info() {
        let raw = |s: &str| RawValue::from_string(s.to_string()).unwrap();
        assert!(parse_meta(Some(&raw("{}"))).is_err());
        let e = parse_meta(Some(&raw(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#,
        )))
        .err()
        .unwrap();
        assert_eq!(e.code, code::INVALID_PARAMS);
        assert!(e.message.contains("clientCapabilities"), "{}", e.message);
        let m = parse_meta(Some(&raw(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"debug"}}"#,
        )))
        .ok()
        .unwrap();
        assert_eq!(m.version, "2026-07-28");
        assert!(m.info.is_none());
        assert_eq!(m.log_level, Some(LogLevel::Debug));
        assert!(names_revision(Some(&raw(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"x"}}"#
        ))));
        assert!(!names_revision(Some(&raw(
            r#"{"arguments":{"text":"io.modelcontextprotocol/protocolVersion"}}"#
        ))));
    }
}
