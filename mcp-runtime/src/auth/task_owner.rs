//! Tasks are their caller's: `tasks/get`, `tasks/update` and `tasks/cancel` from another
//! principal find no such task, as a session's id presented by another caller finds no
//! session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::Principal;
use crate::protocol::ErrorObject;
use crate::server::per_request::tasks::Task;

/// Who made each task. Entries of tasks gone from the store are dropped as the map grows, so
/// it holds at most about twice as many entries as there are live tasks.
#[derive(Default)]
pub(crate) struct TaskOwners {
    map: Mutex<Owners>,
}

#[derive(Default)]
struct Owners {
    by_task: HashMap<Arc<str>, (Principal, Weak<Task>)>,
    /// When the map reaches this size, entries of dead tasks are dropped.
    prune_at: usize,
}

impl TaskOwners {
    /// Records that `principal` made `task`.
    pub(crate) fn bind(&self, task: &Arc<Task>, principal: Principal) {
        let mut owners = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if owners.by_task.len() >= owners.prune_at {
            owners.by_task.retain(|_, (_, t)| t.strong_count() > 0);
            owners.prune_at = (owners.by_task.len() * 2).max(64);
        }
        owners
            .by_task
            .insert(Arc::clone(&task.id), (principal, Arc::downgrade(task)));
    }

    /// Who made task `id`, as shared records keep it (scale out, issue 19).
    pub(crate) fn fingerprint_of(&self, id: &str) -> Option<String> {
        let owners = self.map.lock().unwrap_or_else(|e| e.into_inner());
        owners
            .by_task
            .get(id)
            .map(|(p, _)| crate::store::fingerprint(p))
    }

    /// Refuses a task request (`params` with `taskId`) from anyone but the task's maker, with
    /// the error an unknown task gets.
    pub(crate) fn check(
        &self,
        params: Option<&RawValue>,
        caller: &Principal,
    ) -> Result<(), ErrorObject> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Id<'a> {
            #[serde(borrow)]
            task_id: std::borrow::Cow<'a, str>,
        }
        let Some(id) = params.and_then(|p| serde_json::from_str::<Id<'_>>(p.get()).ok()) else {
            // Malformed params: the task store says what is wrong with them.
            return Ok(());
        };
        let owners = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match owners.by_task.get(&*id.task_id) {
            Some((owner, _)) if !owner.same_caller(caller) => {
                tracing::warn!(
                    task = ?id.task_id,
                    caller = ?caller.subject(),
                    "a task was asked for by a caller other than the one that made it"
                );
                Err(ErrorObject::invalid_params(format!(
                    "Invalid params: no task `{}`; it never existed or has expired",
                    id.task_id
                )))
            }
            _ => Ok(()),
        }
    }
}
