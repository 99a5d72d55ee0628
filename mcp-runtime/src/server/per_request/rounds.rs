//! Requests to the client in the per-request revision: each run of a handler records what it
//! asks; a handler that waits on the client ends in an `input_required` result, and a call
//! that may become a task is detached into one.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context as TaskContext, Poll};

use serde_json::{Map, Value, json};

use super::seal::seal;
use super::tasks::Task;
use crate::protocol::per_request::{CLIENT_CAPABILITIES, InputRequiredResult};
use crate::protocol::{Encoded, ErrorObject, JsonObject, RequestId, code};
use crate::server::dispatch::per_request::Retry;
use crate::server::dispatch::session::{PendingReply, Session};

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
    pub(crate) fn new(answers: JsonObject, task_capable: bool) -> InputRound {
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

pub(crate) enum Waited {
    Done(Encoded),
    Stuck,
    Detach,
}

/// Runs a handler until it finishes, or until a poll leaves it waiting on requests to the
/// client (all those it made in that poll are then asked at once), or, for a call that may
/// become a task, waiting on anything else.
pub(crate) struct WaitForInput<'a> {
    pub(crate) fut: &'a mut PendingReply,
    pub(crate) session: &'a Session,
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
pub(crate) fn detach(id: &RequestId, session: &Arc<Session>, fut: PendingReply) -> Encoded {
    let core = &session.core;
    let owner = session.owner();
    // Without a session (HTTP), the per-session quota is the caller's.
    let quota = match owner {
        Some(_) => crate::auth::task_owner::Quota::Session,
        None => crate::auth::task_owner::Quota::of(
            session.principal(),
            session.peer_addr().map(|a| a.ip()),
        ),
    };
    if let Err(e) = core.task_owners.admit(&quota, core.limits.max_tasks) {
        return session.wire().error(Some(id), &e);
    }
    let task = match core.tasks.create(core, owner) {
        Ok(t) => t,
        Err(e) => return session.wire().error(Some(id), &e),
    };
    // Identity (issue 21): the task is its caller's.
    // Scale out: the caller's quota holds across replicas.
    if core.tasks.remote.shared()
        && let Some(name) = quota.shared_name()
    {
        core.tasks.remote.count(&task, name, core.limits.max_tasks);
    }
    core.task_owners
        .bind(&task, session.principal().clone(), quota);
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
        let encoded = fut.await;
        runner.finish(&encoded.bytes);
        drop(keep);
    });
    task.set_abort(handle.abort_handle());
    tracing::debug!(task = %task.id, "the call continues as a task");
    session.wire().result(id, &created)
}

/// The answer of a handler that waits on the client: the `input_required` result asking
/// for it, or, when it needs a capability the client did not declare, that error.
pub(crate) fn stuck(id: &RequestId, session: &Session, retry: Option<&Retry>) -> Encoded {
    let core = &session.core;
    let round = session.round().expect("a per-request session has a round");
    if let Some((key, answer)) = round
        .malformed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        return session.wire().error(
            Some(id),
            &ErrorObject::invalid_params(format!(
                "Invalid params: `inputResponses.{key}` must be the result of the request it answers (an object), not {answer}"
            )),
        );
    }
    if let Some(capability) = *round.missing.lock().unwrap_or_else(|e| e.into_inner()) {
        let mut required = Map::new();
        required.insert(capability.into(), json!({}));
        return session.wire().error(
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
    let request_state = match retry
        .map(|r| {
            seal(
                core.state_key(),
                r.method,
                &r.target,
                r.arguments(),
                &round.answers,
            )
        })
        .transpose()
    {
        Ok(state) => state,
        Err(why) => {
            tracing::error!("{why}");
            return session.wire().error(Some(id), &ErrorObject::internal(why));
        }
    };
    let result = InputRequiredResult {
        result_type: "input_required",
        input_requests: asked.into_iter().collect(),
        request_state,
    };
    session.wire().result(id, &result)
}
