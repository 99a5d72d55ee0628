//! The tasks extension (`io.modelcontextprotocol/tasks`) of 2026-07-28.
//!
//! A `tools/call` of a tool marked `#[tool(task = "optional" | "required")]`, from a client
//! whose request declares the extension, runs as usual until it first has to wait on
//! something other than the client (or calls [`Context::continue_as_task`]). The answer is
//! then a task handle, and the handler runs on in the background: the client polls
//! `tasks/get`, answers the handler's requests through `tasks/update`, and may stop it with
//! `tasks/cancel`. A call that finishes without waiting answers directly; requests to the
//! client made before the task exists go through `input_required` rounds as for any tool.
//!
//! [`Context::continue_as_task`]: crate::server::Context::continue_as_task

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use crate::protocol::{ErrorObject, JsonObject, code};
use crate::server::context::Inner as ContextInner;

/// The extension's identifier, in capabilities.
pub(crate) const EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// Whether a tool's calls may become tasks (`#[tool(task = "…")]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskSupport {
    /// Calls always answer directly (the default).
    #[default]
    Forbidden,
    /// Calls from clients that declare the tasks extension become tasks once they wait;
    /// other clients get the answer directly.
    Optional,
    /// Like `Optional`, but clients that do not declare the extension are refused with
    /// `-32021` (a 2026-07-28 request) before the tool runs: the call takes too long to hold
    /// a request open. Handshake-revision clients, which cannot declare it, are answered
    /// directly.
    Required,
}

/// How long tasks live and how often clients should poll them.
#[derive(Clone, Debug)]
pub(crate) struct TaskConfig {
    /// From creation; `None` keeps tasks until the process ends.
    pub(crate) ttl: Option<Duration>,
    pub(crate) poll_interval: Option<Duration>,
    /// Tasks kept at once; creating one more fails until some expire.
    pub(crate) max_tasks: usize,
}

impl Default for TaskConfig {
    fn default() -> TaskConfig {
        TaskConfig {
            ttl: Some(Duration::from_secs(3600)),
            poll_interval: Some(Duration::from_millis(500)),
            max_tasks: 10_000,
        }
    }
}

/// Whether a request's `clientCapabilities` declare the extension.
pub(crate) fn declared(capabilities: &JsonObject) -> bool {
    capabilities
        .get("extensions")
        .and_then(|e| e.get(EXTENSION))
        .is_some_and(Value::is_object)
}

/// MissingRequiredClientCapability (-32021) naming the extension.
pub(crate) fn missing_extension(what: &str) -> ErrorObject {
    ErrorObject::new(
        code::MISSING_CAPABILITY,
        format!(
            "Missing required client capability: {what} needs the `{EXTENSION}` extension; declare it under `extensions` in the request's `io.modelcontextprotocol/clientCapabilities`"
        ),
    )
    .with_data(json!({"requiredCapabilities": {"extensions": {EXTENSION: {}}}}))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Working,
    InputRequired,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Working => "working",
            Status::InputRequired => "input_required",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }
}

/// One request to the client a task waits on.
struct Waiting {
    key: String,
    request: Value,
    answer: oneshot::Sender<Value>,
}

struct State {
    status: Status,
    updated: SystemTime,
    message: Option<String>,
    /// The result (completed) or the JSON-RPC error (failed).
    outcome: Option<Value>,
    waiting: Vec<Waiting>,
    /// Every key issued, so that none is used twice.
    keys: HashSet<String>,
    abort: Option<AbortHandle>,
    context: Option<Weak<ContextInner>>,
}

/// A task: the background run of one call, and what it has come to.
pub(crate) struct Task {
    pub(crate) id: Arc<str>,
    /// The session that created it, the only one that may use it (`None`: any that knows
    /// its id, as over HTTP, where requests of this revision have no session).
    owner: Option<u64>,
    created: SystemTime,
    ttl: Option<Duration>,
    poll_interval: Option<Duration>,
    state: Mutex<State>,
    /// Told of every change, for `subscriptions/listen` (`notifications/tasks`).
    core: Weak<crate::server::ServerCore>,
}

impl Task {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fields every task shape has.
    fn base(&self, state: &State) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("taskId".into(), Value::String(self.id.to_string()));
        m.insert("status".into(), state.status.as_str().into());
        if let Some(message) = &state.message {
            m.insert("statusMessage".into(), message.clone().into());
        }
        m.insert("createdAt".into(), iso8601(self.created).into());
        m.insert("lastUpdatedAt".into(), iso8601(state.updated).into());
        m.insert("ttlMs".into(), self.ttl.map_or(Value::Null, millis));
        if let Some(p) = self.poll_interval {
            m.insert("pollIntervalMs".into(), millis(p));
        }
        m
    }

    /// `CreateTaskResult`: the task as created, flat, with `resultType: "task"`.
    pub(crate) fn create_result(&self) -> Map<String, Value> {
        let mut m = self.base(&self.state());
        m.insert("resultType".into(), "task".into());
        m
    }

    /// Publishes the task to the other replicas as it is now.
    pub(crate) fn refresh(&self, core: &crate::server::ServerCore) {
        let detailed = self.detailed();
        let maker = core.task_owners.fingerprint_of(&self.id);
        core.tasks
            .remote
            .publish(&self.id, &detailed, self.ttl, maker);
    }

    /// The `DetailedTask` of `tasks/get` and `notifications/tasks`.
    pub(crate) fn detailed(&self) -> Map<String, Value> {
        let state = self.state();
        self.detailed_locked(&state)
    }

    fn detailed_locked(&self, state: &State) -> Map<String, Value> {
        let mut m = self.base(state);
        match state.status {
            Status::InputRequired => {
                let requests: Map<String, Value> = state
                    .waiting
                    .iter()
                    .map(|w| (w.key.clone(), w.request.clone()))
                    .collect();
                m.insert("inputRequests".into(), Value::Object(requests));
            }
            Status::Completed => {
                m.insert("result".into(), state.outcome.clone().unwrap_or_default());
            }
            Status::Failed => {
                m.insert("error".into(), state.outcome.clone().unwrap_or_default());
            }
            Status::Working | Status::Cancelled => {}
        }
        m
    }

    /// Records a change and tells the listeners.
    fn changed(&self, mut state: std::sync::MutexGuard<'_, State>) {
        state.updated = SystemTime::now();
        let Some(core) = self.core.upgrade() else {
            return;
        };
        let follows = core.follows_task(&self.id);
        // Scale out: the other replicas hear of every change of a task any of them may be
        // asked about (those of no session).
        let shared = self.owner.is_none() && core.tasks.remote.shared();
        if !follows && !shared {
            return;
        }
        let detailed = self.detailed_locked(&state);
        drop(state);
        if shared {
            let maker = core.task_owners.fingerprint_of(&self.id);
            core.tasks
                .remote
                .publish(&self.id, &detailed, self.ttl, maker);
        }
        if follows {
            core.offer_task(&self.id, detailed);
        }
    }

    /// How long it is kept (`None`: as long as the server runs).
    pub(crate) fn ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// Fails the task at once with `message` and stops its handler: a quota held across
    /// replicas turned out to be exceeded.
    pub(crate) fn refuse(&self, message: String) {
        let mut state = self.state();
        if state.status.is_terminal() {
            return;
        }
        state.status = Status::Failed;
        state.outcome = Some(json!({"code": code::INTERNAL_ERROR, "message": message}));
        state.message = Some(message);
        state.waiting.clear();
        let abort = state.abort.take();
        let context = state.context.take().and_then(|c| c.upgrade());
        self.changed(state);
        if let Some(c) = context {
            c.fire_cancel();
        }
        if let Some(a) = abort {
            a.abort();
        }
    }

    /// The background run of the handler, to stop on cancellation.
    pub(crate) fn set_abort(&self, abort: AbortHandle) {
        let mut state = self.state();
        if state.status.is_terminal() {
            abort.abort();
        } else {
            state.abort = Some(abort);
        }
    }

    /// The handler's `Context`, to tell it of a cancellation.
    pub(crate) fn set_context(&self, context: Weak<ContextInner>) {
        self.state().context = Some(context);
    }

    /// Sets the status message.
    pub(crate) fn set_message(&self, message: String) {
        let mut state = self.state();
        if state.status.is_terminal() {
            return;
        }
        state.message = Some(message);
        self.changed(state);
    }

    /// Asks the client for `request` under `key` (made unique in the task); the answer comes
    /// through `tasks/update`.
    pub(crate) fn ask(&self, key: String, request: Value) -> (String, oneshot::Receiver<Value>) {
        let (tx, rx) = oneshot::channel();
        let mut state = self.state();
        if state.status.is_terminal() {
            return (key, rx);
        }
        let mut unique = key.clone();
        let mut n = 1;
        while state.keys.contains(&unique) {
            n += 1;
            unique = format!("{key}-{n}");
        }
        state.keys.insert(unique.clone());
        state.waiting.push(Waiting {
            key: unique.clone(),
            request,
            answer: tx,
        });
        state.status = Status::InputRequired;
        self.changed(state);
        (unique, rx)
    }

    /// `tasks/update`: hands the answers to the requests they answer; other keys are
    /// ignored. A malformed answer to a waiting request fails the whole update.
    fn update(&self, responses: &JsonObject) -> Result<(), ErrorObject> {
        let mut state = self.state();
        if let Some((key, answer)) = responses
            .iter()
            .find(|(k, v)| !v.is_object() && state.waiting.iter().any(|w| &w.key == *k))
        {
            return Err(ErrorObject::invalid_params(format!(
                "Invalid params: `inputResponses.{key}` must be the result of the request it answers (an object), not {answer}"
            )));
        }
        let before = state.waiting.len();
        let waiting = std::mem::take(&mut state.waiting);
        for w in waiting {
            match responses.get(&w.key) {
                Some(answer) => {
                    let _ = w.answer.send(answer.clone());
                }
                None => state.waiting.push(w),
            }
        }
        if state.waiting.len() == before {
            return Ok(());
        }
        if state.waiting.is_empty() && state.status == Status::InputRequired {
            state.status = Status::Working;
        }
        self.changed(state);
        Ok(())
    }

    /// The request the task waited on was dropped unanswered (the handler stopped waiting).
    pub(crate) fn forget(&self, key: &str) {
        let mut state = self.state();
        let before = state.waiting.len();
        state.waiting.retain(|w| w.key != key);
        if state.waiting.len() == before {
            return;
        }
        if state.waiting.is_empty() && state.status == Status::InputRequired {
            state.status = Status::Working;
        }
        self.changed(state);
    }

    /// The handler finished: its response (a JSON-RPC result or error) settles the task,
    /// unless it was cancelled first.
    pub(crate) fn finish(&self, response: &[u8]) {
        #[derive(Deserialize)]
        struct Response {
            result: Option<Value>,
            error: Option<Value>,
        }
        let mut state = self.state();
        if state.status.is_terminal() {
            return;
        }
        let (status, outcome) = match serde_json::from_slice::<Response>(response) {
            Ok(Response {
                result: Some(mut r),
                ..
            }) => {
                crate::protocol::per_request::unstamp(&mut r);
                (Status::Completed, r)
            }
            Ok(Response { error: Some(e), .. }) => (Status::Failed, e),
            _ => (
                Status::Failed,
                json!({"code": code::INTERNAL_ERROR, "message": "the task's handler gave no result"}),
            ),
        };
        if status == Status::Failed
            && state.message.is_none()
            && let Some(m) = outcome.get("message").and_then(Value::as_str)
        {
            state.message = Some(m.to_string());
        }
        state.status = status;
        state.outcome = Some(outcome);
        state.waiting.clear();
        state.abort = None;
        self.changed(state);
    }

    /// `tasks/cancel`: stops the handler (at its next `.await`) and settles the task as
    /// cancelled; nothing happens to a task already settled.
    fn cancel(&self) {
        let mut state = self.state();
        if state.status.is_terminal() {
            return;
        }
        state.status = Status::Cancelled;
        state.waiting.clear();
        let abort = state.abort.take();
        let context = state.context.take().and_then(|c| c.upgrade());
        self.changed(state);
        if let Some(c) = context {
            c.fire_cancel();
        }
        if let Some(a) = abort {
            a.abort();
        }
    }

    fn expired(&self, now: SystemTime) -> bool {
        self.ttl
            .is_some_and(|ttl| now.duration_since(self.created).is_ok_and(|age| age > ttl))
    }
}

/// Every task of a server, by id.
pub(crate) struct TaskStore {
    tasks: Mutex<HashMap<Arc<str>, Arc<Task>>>,
    config: TaskConfig,
    // ---- Scale out (issue 19)
    /// The tasks of the other replicas.
    pub(crate) remote: super::remote_tasks::RemoteTasks,
}

impl TaskStore {
    pub(crate) fn new(config: TaskConfig) -> TaskStore {
        TaskStore {
            tasks: Mutex::new(HashMap::new()),
            config,
            remote: Default::default(),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Task>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new task, working, stored before anyone hears of it (so that `tasks/get` finds it
    /// as soon as its id is out).
    pub(crate) fn create(
        &self,
        core: &Arc<crate::server::ServerCore>,
        owner: Option<u64>,
    ) -> Result<Arc<Task>, ErrorObject> {
        let now = SystemTime::now();
        let mut map = self.map();
        let expired: Vec<Arc<Task>> = map.values().filter(|t| t.expired(now)).cloned().collect();
        for t in &expired {
            map.remove(&t.id);
        }
        if map.len() >= self.config.max_tasks {
            return Err(ErrorObject::internal(format!(
                "the server holds {} tasks, its limit; try again once some have expired",
                map.len()
            )));
        }
        let quota = core.limits.max_tasks;
        if owner.is_some() && map.values().filter(|t| t.owner == owner).count() >= quota {
            return Err(ErrorObject::internal(format!(
                "this session holds {quota} tasks, as many as one may; try again once some have expired"
            )));
        }
        let task = Arc::new(Task {
            id: crate::protocol::random_id().into(),
            owner,
            created: now,
            ttl: self.config.ttl,
            poll_interval: self.config.poll_interval,
            state: Mutex::new(State {
                status: Status::Working,
                updated: now,
                message: None,
                outcome: None,
                waiting: Vec::new(),
                keys: HashSet::new(),
                abort: None,
                context: None,
            }),
            core: Arc::downgrade(core),
        });
        map.insert(Arc::clone(&task.id), Arc::clone(&task));
        drop(map);
        // Scale out: the other replicas know of it before its id is out.
        if owner.is_none() && self.remote.shared() {
            task.refresh(core);
        }
        // Expired tasks still running stop now.
        for t in expired {
            t.cancel();
        }
        Ok(task)
    }

    /// The task `id`, unless unknown, expired, or another session's.
    fn get(&self, id: &str, owner: Option<u64>) -> Result<Arc<Task>, ErrorObject> {
        let mut map = self.map();
        let task = map
            .get(id)
            .filter(|t| t.owner.is_none() || t.owner == owner)
            .cloned();
        match task {
            Some(t) if t.expired(SystemTime::now()) => {
                map.remove(id);
                drop(map);
                t.cancel();
                Err(ErrorObject::invalid_params(format!(
                    "Invalid params: task `{id}` has expired"
                )))
            }
            Some(t) => Ok(t),
            None => Err(ErrorObject::invalid_params(format!(
                "Invalid params: no task `{id}`; it never existed or has expired"
            ))),
        }
    }

    /// Serves `tasks/get`, `tasks/update` and `tasks/cancel`: the result, without
    /// `resultType` (which every per-request result gets on its way out).
    pub(crate) fn serve(
        &self,
        method: &str,
        params: Option<&RawValue>,
        owner: Option<u64>,
    ) -> Result<Map<String, Value>, ErrorObject> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Params {
            task_id: String,
            #[serde(default)]
            input_responses: Option<Value>,
        }
        let p: Params = crate::server::dispatch::session::parse_params(params)?;
        let task = self.get(&p.task_id, owner)?;
        match method {
            "tasks/get" => Ok(task.detailed()),
            "tasks/update" => {
                match &p.input_responses {
                    Some(Value::Object(responses)) => task.update(responses)?,
                    Some(Value::Null) | None => {
                        return Err(ErrorObject::invalid_params(
                            "Invalid params: `tasks/update` needs `inputResponses`, the answers by key",
                        ));
                    }
                    Some(other) => {
                        return Err(ErrorObject::invalid_params(format!(
                            "Invalid params: `inputResponses` must be an object of results by key, not {other}"
                        )));
                    }
                }
                Ok(Map::new())
            }
            "tasks/cancel" => {
                task.cancel();
                Ok(Map::new())
            }
            _ => Err(ErrorObject::method_not_found(method)),
        }
    }

    /// Whether this replica holds task `id` (scale out: otherwise another may).
    pub(crate) fn holds(&self, id: &str) -> bool {
        self.map().contains_key(id)
    }

    /// What another replica asks of a task this one runs.
    pub(crate) fn apply_remote(&self, id: &str, responses: Option<&Value>) {
        let Ok(task) = self.get(id, None) else { return };
        match responses {
            Some(Value::Object(responses)) => {
                if let Err(e) = task.update(responses) {
                    tracing::debug!(error = %e.message, "a tasks/update from another replica was refused");
                }
            }
            _ => task.cancel(),
        }
    }

    /// The detailed task `id`, for a listener that asked for it.
    pub(crate) fn detailed(&self, id: &str, owner: Option<u64>) -> Option<Map<String, Value>> {
        self.get(id, owner).ok().map(|t| t.detailed())
    }
}

fn millis(d: Duration) -> Value {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).into()
}

/// `2026-11-21T10:30:00.123Z`.
pub(crate) fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_its_sessions_and_each_session_has_a_quota() {
        let core = crate::Server::empty("t")
            .session_limits(crate::SessionLimits {
                max_tasks: 2,
                ..crate::SessionLimits::default()
            })
            .build()
            .unwrap();
        let store = &core.tasks;
        let mine = store.create(&core, Some(1)).unwrap();
        let get = |id: &str, owner| {
            let params =
                serde_json::value::to_raw_value(&serde_json::json!({"taskId": id})).unwrap();
            store.serve("tasks/get", Some(&params), owner)
        };
        assert!(get(&mine.id, Some(1)).is_ok());
        let theirs = get(&mine.id, Some(2)).unwrap_err();
        assert!(theirs.message.contains("no task"), "{}", theirs.message);
        assert!(
            get(&mine.id, None).is_err(),
            "no session is not the owner either"
        );
        assert!(store.detailed(&mine.id, Some(2)).is_none());
        // Tasks of no session (HTTP) go by their id alone.
        let open = store.create(&core, None).unwrap();
        assert!(get(&open.id, Some(7)).is_ok());
        store.create(&core, Some(1)).unwrap();
        let Err(e) = store.create(&core, Some(1)) else {
            panic!("a third task of one session")
        };
        assert!(e.message.contains("holds 2 tasks"), "{}", e.message);
        assert!(
            store.create(&core, Some(2)).is_ok(),
            "another session has its own quota"
        );
    }

    #[test]
    fn timestamps_are_iso8601_utc() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_256_400_250);
        assert_eq!(iso8601(t), "2026-11-21T10:20:00.250Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn ids_are_random_hex() {
        let (a, b) = (crate::protocol::random_id(), crate::protocol::random_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn declaring_the_extension_takes_an_object() {
        let caps = |v: Value| v.as_object().cloned().unwrap();
        assert!(declared(&caps(json!({"extensions": {EXTENSION: {}}}))));
        assert!(!declared(&caps(json!({"extensions": {}}))));
        assert!(!declared(&caps(json!({"tasks": {}}))));
    }
}
