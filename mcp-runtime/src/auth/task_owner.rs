//! Tasks are their caller's: `tasks/get`, `tasks/update` and `tasks/cancel` from another
//! principal find no such task, as a session's id presented by another caller finds no
//! session.
//!
//! Where requests have no session (2026-07-28 over HTTP) the per-session task quota cannot
//! apply; each caller has the same quota instead: an authenticated principal, or for an
//! anonymous caller its client address.

use std::collections::HashMap;
use std::net::IpAddr;
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
    by_task: HashMap<Arc<str>, (Principal, Weak<Task>, Quota)>,
    /// When the map reaches this size, entries of dead tasks are dropped.
    prune_at: usize,
}

/// Whose quota a task counts against, where it has no session.
#[derive(Clone)]
pub(crate) enum Quota {
    /// Counted against its session's (`SessionLimits::max_tasks`, in the task store).
    Session,
    /// An authenticated caller's.
    Caller(Principal),
    /// An anonymous caller's client address.
    Address(IpAddr),
    /// An anonymous caller with no address: the server's cap alone.
    Unscoped,
}

impl Quota {
    /// The quota of a task made by `principal` from `peer`, with no session.
    pub(crate) fn of(principal: &Principal, peer: Option<IpAddr>) -> Quota {
        match (principal.kind(), peer) {
            (super::PrincipalKind::Anonymous, Some(ip)) => Quota::Address(ip),
            (super::PrincipalKind::Anonymous, None) => Quota::Unscoped,
            _ => Quota::Caller(principal.clone()),
        }
    }

    /// The name of this quota's budget shared by replicas (scale out), if it has one.
    pub(crate) fn shared_name(&self) -> Option<String> {
        match self {
            Quota::Caller(p) => Some(format!("t:{}", crate::store::fingerprint(p))),
            Quota::Address(ip) => Some(format!("t:{ip}")),
            Quota::Session | Quota::Unscoped => None,
        }
    }

    fn same(&self, other: &Quota) -> bool {
        match (self, other) {
            (Quota::Caller(a), Quota::Caller(b)) => a.same_caller(b),
            (Quota::Address(a), Quota::Address(b)) => a == b,
            _ => false,
        }
    }
}

impl TaskOwners {
    /// Refuses a new task when its caller holds `max` live tasks already (a task with a
    /// session is counted by the task store instead).
    pub(crate) fn admit(&self, quota: &Quota, max: usize) -> Result<(), ErrorObject> {
        if matches!(quota, Quota::Session | Quota::Unscoped) {
            return Ok(());
        }
        let owners = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let held = owners
            .by_task
            .values()
            .filter(|(_, t, q)| q.same(quota) && t.strong_count() > 0)
            .count();
        if held >= max {
            let whom = match quota {
                Quota::Address(_) => "this client address",
                _ => "this caller",
            };
            return Err(ErrorObject::internal(format!(
                "{whom} holds {max} tasks, as many as one may; try again once some have \
                 finished and expired, or cancel some (`tasks/cancel`)"
            )));
        }
        Ok(())
    }

    /// Records that `principal` made `task`, counted against `quota`.
    pub(crate) fn bind(&self, task: &Arc<Task>, principal: Principal, quota: Quota) {
        let mut owners = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if owners.by_task.len() >= owners.prune_at {
            owners.by_task.retain(|_, (_, t, _)| t.strong_count() > 0);
            owners.prune_at = (owners.by_task.len() * 2).max(64);
        }
        owners.by_task.insert(
            Arc::clone(&task.id),
            (principal, Arc::downgrade(task), quota),
        );
    }

    /// Who made task `id`, as shared records keep it (scale out, issue 19).
    pub(crate) fn fingerprint_of(&self, id: &str) -> Option<String> {
        let owners = self.map.lock().unwrap_or_else(|e| e.into_inner());
        owners
            .by_task
            .get(id)
            .map(|(p, _, _)| crate::store::fingerprint(p))
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
            Some((owner, _, _)) if !owner.same_caller(caller) => {
                // The id is the task's credential: logged cut short, as session ids are.
                let short: String = id.task_id.chars().take(8).collect();
                tracing::warn!(
                    task = %short,
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
