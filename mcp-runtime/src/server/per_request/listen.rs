//! `subscriptions/listen`: the open listens and what they hear.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::tasks;
use crate::protocol::per_request::SUBSCRIPTION_ID;
use crate::protocol::{ErrorObject, JsonObject, RequestId, encode_request};
use crate::server::ServerCore;
use crate::server::dispatch::session::{Outbound, Reply};

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
pub(crate) fn listen(
    core: &Arc<ServerCore>,
    id: RequestId,
    params: Option<&RawValue>,
    out: Outbound,
    capabilities: &JsonObject,
    owner: Option<u64>,
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
