//! Tasks of other replicas (scale out, issue 19): every task of no session is written to the
//! shared state as it changes, so that `tasks/get` is answered on any replica and a task's
//! result outlives the replica that ran it; `tasks/update` and `tasks/cancel` for a task
//! another replica runs go to it over the bus, and are applied to the shared copy at once, so
//! that a `tasks/get` that follows on any replica sees them.
//!
//! A copy names the replica running the task; an unsettled task whose replica's heartbeat
//! is gone is reported failed (its result is lost) rather than `working` forever.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::tasks::Task;
use crate::protocol::{ErrorObject, code};
use crate::store::SharedState;

/// How long a shared copy of a task without a time to live is kept.
const KEPT_WITHOUT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a replica waits for the shared copy of a task just created elsewhere.
const CREATION_GRACE: Duration = Duration::from_secs(1);
/// Shared copies waiting to be written.
const WRITE_QUEUE: usize = 4096;

/// What a replica asks the one running a task.
pub(crate) enum RemoteOp {
    /// `tasks/update` with these `inputResponses`.
    Update { id: String, responses: Value },
    /// `tasks/cancel`.
    Cancel { id: String },
}

/// The shared copy of a task.
#[derive(Serialize, Deserialize)]
struct Copy {
    detailed: Map<String, Value>,
    /// Who made it ([`crate::store::fingerprint`]).
    maker: Option<String>,
    /// The heartbeat key of the replica running it.
    runner: String,
    ttl_ms: Option<u64>,
}

struct Link {
    state: Arc<dyn SharedState>,
    /// This replica's heartbeat key.
    heartbeat: String,
    send: Box<dyn Fn(RemoteOp) + Send + Sync>,
    writes: mpsc::Sender<(String, Vec<u8>, Duration)>,
}

/// The tasks' link to the other replicas.
#[derive(Default)]
pub(crate) struct RemoteTasks {
    link: OnceLock<Link>,
}

fn settled(detailed: &Map<String, Value>) -> bool {
    matches!(
        detailed.get("status").and_then(Value::as_str),
        Some("completed" | "failed" | "cancelled")
    )
}

fn key(id: &str) -> String {
    format!("task:{id}")
}

impl RemoteTasks {
    /// Connects the tasks to the other replicas: copies go to `state`, requests for the
    /// replica running a task to `send`.
    pub(crate) fn connect(
        &self,
        state: Arc<dyn SharedState>,
        heartbeat: String,
        send: Box<dyn Fn(RemoteOp) + Send + Sync>,
    ) {
        let (writes, mut queue) = mpsc::channel::<(String, Vec<u8>, Duration)>(WRITE_QUEUE);
        let writer = Arc::clone(&state);
        tokio::spawn(async move {
            while let Some((name, value, ttl)) = queue.recv().await {
                if let Err(e) = writer.set_value(&name, &value, ttl).await {
                    tracing::warn!(error = %e, "a task's shared copy could not be written");
                }
            }
        });
        let _ = self.link.set(Link {
            state,
            heartbeat,
            send,
            writes,
        });
    }

    /// Whether there are other replicas.
    pub(crate) fn shared(&self) -> bool {
        self.link.get().is_some()
    }

    /// Counts a new task against its caller's quota across replicas (`name`, at most `max`
    /// live tasks, each for its time to live): a task past it fails at once, its handler
    /// stopped. The count is taken off the request path; while the store is unreachable
    /// each replica's own count alone applies.
    pub(crate) fn count(&self, task: &Arc<Task>, name: String, max: usize) {
        let Some(link) = self.link.get() else { return };
        let state = Arc::clone(&link.state);
        let lease = task.ttl().unwrap_or(KEPT_WITHOUT_TTL);
        let task = Arc::clone(task);
        tokio::spawn(async move {
            match state.acquire(&name, &task.id, max, lease).await {
                Ok(true) => {}
                Ok(false) => task.refuse(format!(
                    "this caller holds {max} tasks across the server's replicas, as many as one \
                     may; try again once some have finished and expired, or cancel some \
                     (`tasks/cancel`)"
                )),
                Err(e) => tracing::debug!(error = %e, "a task counted on this replica alone"),
            }
        });
    }

    /// Writes the shared copy of a local task, as it is now (in the order of its changes).
    pub(crate) fn publish(
        &self,
        id: &str,
        detailed: &Map<String, Value>,
        ttl: Option<Duration>,
        maker: Option<String>,
    ) {
        let Some(link) = self.link.get() else { return };
        let copy = Copy {
            detailed: detailed.clone(),
            maker,
            runner: link.heartbeat.clone(),
            ttl_ms: ttl.map(|t| t.as_millis() as u64),
        };
        let Ok(value) = serde_json::to_vec(&copy) else {
            return;
        };
        if link
            .writes
            .try_send((key(id), value, ttl.unwrap_or(KEPT_WITHOUT_TTL)))
            .is_err()
        {
            tracing::warn!("the shared task copies are behind: a change was not shared");
        }
    }

    /// Serves `tasks/get`, `tasks/update` or `tasks/cancel` for a task this replica does
    /// not hold, from the shared copy; `None` when no replica has it (or `caller` did not
    /// make it: another caller's task does not exist for this one, decision (i5)).
    pub(crate) async fn serve(
        &self,
        method: &str,
        id: &str,
        input_responses: Option<Value>,
        caller: &crate::Principal,
    ) -> Option<Result<Map<String, Value>, ErrorObject>> {
        let link = self.link.get()?;
        let name = key(id);
        // A task created on another replica a moment ago may not be written yet.
        let deadline = tokio::time::Instant::now() + CREATION_GRACE;
        let raw = loop {
            match link.state.get_value(&name).await {
                Ok(Some(raw)) => break raw,
                Ok(None) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Ok(None) => return None,
                Err(e) => {
                    return Some(Err(ErrorObject::internal(format!(
                        "the task could not be read from the shared state: {e}"
                    ))));
                }
            }
        };
        let mut copy: Copy = serde_json::from_slice(&raw).ok()?;
        if copy
            .maker
            .as_ref()
            .is_some_and(|m| *m != crate::store::fingerprint(caller))
        {
            return None;
        }
        let ttl = copy.ttl_ms.map_or(KEPT_WITHOUT_TTL, Duration::from_millis);
        if !settled(&copy.detailed) && matches!(link.state.get_value(&copy.runner).await, Ok(None))
        {
            // Its replica stopped: the result will never come.
            let message = "the server replica running this task stopped; its result is lost";
            let d = &mut copy.detailed;
            d.insert("status".into(), "failed".into());
            d.insert("statusMessage".into(), message.into());
            d.insert(
                "error".into(),
                json!({"code": code::INTERNAL_ERROR, "message": message}),
            );
            d.remove("inputRequests");
        }
        let write_back = |copy: &Copy| {
            if let Ok(value) = serde_json::to_vec(copy) {
                let _ = link.writes.try_send((name.clone(), value, ttl));
            }
        };
        Some(match method {
            "tasks/get" => Ok(copy.detailed),
            "tasks/update" => match input_responses {
                Some(Value::Object(responses)) => {
                    if !settled(&copy.detailed) {
                        // Applied to the copy at once, as the replica running the task will.
                        let d = &mut copy.detailed;
                        let mut left = 0;
                        if let Some(Value::Object(asked)) = d.get_mut("inputRequests") {
                            asked.retain(|k, _| !responses.contains_key(k));
                            left = asked.len();
                        }
                        if left == 0 {
                            d.remove("inputRequests");
                            if d.get("status").and_then(Value::as_str) == Some("input_required") {
                                d.insert("status".into(), "working".into());
                            }
                        }
                        write_back(&copy);
                        (link.send)(RemoteOp::Update {
                            id: id.to_string(),
                            responses: Value::Object(responses),
                        });
                    }
                    Ok(Map::new())
                }
                Some(Value::Null) | None => Err(ErrorObject::invalid_params(
                    "Invalid params: `tasks/update` needs `inputResponses`, the answers by key",
                )),
                Some(other) => Err(ErrorObject::invalid_params(format!(
                    "Invalid params: `inputResponses` must be an object of results by key, not {other}"
                ))),
            },
            "tasks/cancel" => {
                if !settled(&copy.detailed) {
                    let d = &mut copy.detailed;
                    d.insert("status".into(), "cancelled".into());
                    d.remove("inputRequests");
                    write_back(&copy);
                    (link.send)(RemoteOp::Cancel { id: id.to_string() });
                }
                Ok(Map::new())
            }
            _ => Err(ErrorObject::method_not_found(method)),
        })
    }
}
