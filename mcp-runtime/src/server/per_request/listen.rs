//! `subscriptions/listen`: the open listens and what they hear.

use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::tasks;
use crate::Principal;
use crate::protocol::per_request::SUBSCRIPTION_ID;
use crate::protocol::{ErrorObject, JsonObject, RequestId, encode_request};
use crate::server::ServerCore;
use crate::server::dispatch::session::{Outbound, Reply, same_scopes};
use crate::server::registration::handle::lists_changed_between;

/// What a `subscriptions/listen` asked to hear.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filter {
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

/// Events offered to a listener before its acknowledgment has gone out, at most: the window
/// is the time between registering it and sending the acknowledgment.
const MAX_EARLY_EVENTS: usize = 256;

/// One open `subscriptions/listen`.
pub(crate) struct Listener {
    id: RequestId,
    filter: Filter,
    out: Outbound,
    /// Who listens (with the scopes it holds now): it hears only of what it may see.
    principal: Mutex<Principal>,
    /// Until the acknowledgment has gone out, the events offered meanwhile (`Some`), sent
    /// after it in order: the acknowledgment is the stream's first message, and a change made
    /// once the client has read it is heard.
    early: Mutex<Option<Vec<Vec<u8>>>>,
}

impl Listener {
    /// Sends an event, or keeps it for after the acknowledgment.
    fn send(&self, bytes: Vec<u8>) {
        {
            let mut early = self.early.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(kept) = early.as_mut() {
                if kept.len() < MAX_EARLY_EVENTS {
                    kept.push(bytes);
                }
                return;
            }
        }
        let _ = self.out.send(bytes);
    }

    /// Sends the acknowledgment, then what was offered before it, in order. No lock is held
    /// while sending: a sink may hand the message to code that offers another event (an
    /// in-memory client's tap, say), which is then kept and sent here.
    fn acknowledge(&self, ack: Option<Vec<u8>>) {
        if let Some(ack) = ack {
            let _ = self.out.send(ack);
        }
        loop {
            let kept = {
                let mut early = self.early.lock().unwrap_or_else(|e| e.into_inner());
                match early.as_mut() {
                    Some(kept) if !kept.is_empty() => std::mem::take(kept),
                    _ => {
                        *early = None;
                        return;
                    }
                }
            };
            for bytes in kept {
                let _ = self.out.send(bytes);
            }
        }
    }

    fn principal(&self) -> Principal {
        self.principal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sends `method` (with `params`) if this listener asked for it and may see what
    /// changed, tagged with its id.
    pub(crate) fn offer(
        &self,
        method: &str,
        uri: Option<&str>,
        admits: &dyn Fn(&Principal) -> bool,
    ) {
        if !admits(&self.principal()) {
            return;
        }
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
            self.send(bytes);
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
            self.send(bytes);
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
pub(crate) fn listen(
    core: &Arc<ServerCore>,
    id: RequestId,
    params: Option<&RawValue>,
    out: Outbound,
    capabilities: &JsonObject,
    owner: Option<u64>,
    principal: Principal,
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
    // Only tasks that exist, and are the listener's session's, are followed.
    p.notifications
        .task_ids
        .retain(|t| core.tasks.detailed(t, owner).is_some());
    let listener = Arc::new(Listener {
        id: id.clone(),
        filter: p.notifications,
        out,
        principal: Mutex::new(principal),
        early: Mutex::new(Some(Vec::new())),
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
    // Registered first, so that a change made once the client has read the acknowledgment
    // reaches it; what is offered before the acknowledgment has gone out follows it.
    let registered = core.listen(&listener);
    listener.acknowledge(
        encode_request(None, "notifications/subscriptions/acknowledged", Some(&ack)).ok(),
    );
    Ok(Reply::Later(
        id,
        Box::pin(async move {
            let _registered = registered;
            std::future::pending::<crate::protocol::Encoded>().await
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

    /// Offers a notification to every open `subscriptions/listen` whose caller may see
    /// what changed.
    pub(crate) fn offer_listeners(
        &self,
        method: &str,
        uri: Option<&str>,
        admits: &dyn Fn(&Principal) -> bool,
    ) {
        let listeners = {
            let listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
            if listeners.is_empty() {
                return;
            }
            listeners.clone()
        };
        for l in listeners {
            l.offer(method, uri, admits);
        }
    }

    /// Gives each open `subscriptions/listen` whose caller `lookup` knows anew its current
    /// scopes, and the `list_changed` it asked for of the lists that changed for it.
    pub(crate) fn rescope_listeners(&self, lookup: &dyn Fn(&Principal) -> Option<Principal>) {
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for l in listeners {
            let before = l.principal();
            let Some(now) = lookup(&before).filter(|now| now.same_caller(&before)) else {
                continue;
            };
            if same_scopes(&before, &now) {
                continue;
            }
            *l.principal.lock().unwrap_or_else(|e| e.into_inner()) = now.clone();
            for method in lists_changed_between(self, &before, &now) {
                l.offer(method, None, &|_| true);
            }
        }
    }
}
