//! `ServerHandle`: change what a running server serves, and tell its clients.

use std::sync::{Arc, Mutex, Weak};

use serde_json::{Map, Value};

use crate::protocol::encode_request;
use crate::server::ServerCore;
use crate::server::registration::catalog::{Catalog, Item};
use crate::server::registration::prompt::{PromptDef, PromptEntry};
use crate::server::registration::resource::{ResourceDef, ResourceEntry};
use crate::server::registration::{ToolDef, ToolEntry};

/// A handle on a running server, from [`Server::handle`](crate::Server::handle) or
/// [`Context::server`](crate::Context::server).
///
/// Adding, removing, enabling or disabling a tool, resource, template or prompt takes effect
/// for the next request, and every connected client that may see the item (its principal
/// holds the item's scopes, see [`Server::default_scopes`](crate::Server::default_scopes)) is
/// sent the matching `list_changed` notification; a client whose lists cannot have changed
/// is not. [`ServerHandle::notify_resource_updated`] tells the clients subscribed to a
/// URI that it changed.
///
/// A handle taken before the server starts acts on it once it runs; until then its methods
/// change nothing and return `false` (or an error). When one `Server` runs several times (one
/// per in-memory connection, say), the handle acts on every running instance.
#[derive(Clone, Default)]
pub struct ServerHandle {
    cores: Arc<Mutex<Vec<Weak<ServerCore>>>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("running", &self.is_running())
            .finish()
    }
}

impl ServerHandle {
    pub(crate) fn new() -> ServerHandle {
        ServerHandle::default()
    }

    pub(crate) fn of(core: &Arc<ServerCore>) -> ServerHandle {
        let handle = ServerHandle::new();
        handle.attach(core);
        handle
    }

    pub(crate) fn attach(&self, core: &Arc<ServerCore>) {
        let mut cores = self.cores.lock().unwrap_or_else(|e| e.into_inner());
        cores.retain(|c| c.strong_count() > 0);
        cores.push(Arc::downgrade(core));
    }

    fn cores(&self) -> Vec<Arc<ServerCore>> {
        let cores = self.cores.lock().unwrap_or_else(|e| e.into_inner());
        cores.iter().filter_map(Weak::upgrade).collect()
    }

    /// Whether the server is running.
    pub fn is_running(&self) -> bool {
        !self.cores().is_empty()
    }

    /// Adds a tool. Fails when the name is taken, the server lacks a `State<T>` the tool
    /// takes, or the server is not running.
    pub fn add_tool(&self, def: &'static ToolDef) -> Result<(), String> {
        self.add(
            |c| &c.tools,
            |c| {
                c.check_state("tool", def.name, def.location, def.states)?;
                ToolEntry::new(def)
            },
            def.scopes,
            TOOLS,
        )
    }

    /// Removes a tool; whether there was one.
    pub fn remove_tool(&self, name: &str) -> bool {
        self.change("remove_tool", name, TOOLS)
    }

    /// Enables a disabled tool; whether that changed anything.
    pub fn enable_tool(&self, name: &str) -> bool {
        self.change("enable_tool", name, TOOLS)
    }

    /// Disables a tool: it is no longer listed, and calls to it fail as for an unknown tool.
    pub fn disable_tool(&self, name: &str) -> bool {
        self.change("disable_tool", name, TOOLS)
    }

    /// Adds a resource or resource template. Fails when the URI is taken or not a valid
    /// template, the server lacks a `State<T>` it takes, or the server is not running.
    pub fn add_resource(&self, def: &'static ResourceDef) -> Result<(), String> {
        let template = ResourceEntry::new(def)?.template.is_some();
        self.add(
            move |c| if template { &c.templates } else { &c.resources },
            |c| {
                c.check_state("resource", def.uri, def.location, def.states)?;
                ResourceEntry::new(def)
            },
            def.scopes,
            RESOURCES,
        )
    }

    /// Removes a resource or template by its URI or URI template; whether there was one.
    pub fn remove_resource(&self, uri: &str) -> bool {
        self.change("remove_resource", uri, RESOURCES)
    }

    /// Enables a disabled resource or template; whether that changed anything.
    pub fn enable_resource(&self, uri: &str) -> bool {
        self.change("enable_resource", uri, RESOURCES)
    }

    /// Disables a resource or template: it is no longer listed or read.
    pub fn disable_resource(&self, uri: &str) -> bool {
        self.change("disable_resource", uri, RESOURCES)
    }

    /// Adds a prompt. Fails when the name is taken, the server lacks a `State<T>` it takes,
    /// or the server is not running.
    pub fn add_prompt(&self, def: &'static PromptDef) -> Result<(), String> {
        self.add(
            |c| &c.prompts,
            |c| {
                c.check_state("prompt", def.name, def.location, def.states)?;
                Ok(PromptEntry::new(def))
            },
            def.scopes,
            PROMPTS,
        )
    }

    /// Removes a prompt; whether there was one.
    pub fn remove_prompt(&self, name: &str) -> bool {
        self.change("remove_prompt", name, PROMPTS)
    }

    /// Enables a disabled prompt; whether that changed anything.
    pub fn enable_prompt(&self, name: &str) -> bool {
        self.change("enable_prompt", name, PROMPTS)
    }

    /// Disables a prompt: it is no longer listed or served.
    pub fn disable_prompt(&self, name: &str) -> bool {
        self.change("disable_prompt", name, PROMPTS)
    }

    /// Sends `notifications/resources/updated` for `uri` to every client subscribed to it;
    /// returns how many were told.
    pub fn notify_resource_updated(&self, uri: &str) -> usize {
        let mut told = 0;
        for core in self.cores() {
            told += resource_updated_here(&core, uri);
            if let Some(fan_out) = core.fan_out.get() {
                fan_out(UPDATED, Some(uri), Visibility::All);
            }
        }
        told
    }

    fn add<E: Item>(
        &self,
        catalog: impl Fn(&ServerCore) -> &Catalog<E>,
        entry: impl Fn(&ServerCore) -> Result<E, String>,
        scopes: Option<&'static [&'static str]>,
        method: &str,
    ) -> Result<(), String> {
        let cores = self.cores();
        if cores.is_empty() {
            return Err("the server is not running".into());
        }
        for core in &cores {
            catalog(core).add(entry(core)?)?;
            broadcast_visible(core, method, Visibility::Scopes(scopes));
            fan_out(core, method, Visibility::Scopes(scopes));
        }
        Ok(())
    }

    /// Applies a catalog change by name to every running instance, tells the clients that
    /// may see the item (read before the change: a removed item is gone after), and has the
    /// other replicas make the same change.
    fn change(&self, op: &str, name: &str, method: &str) -> bool {
        let mut any = false;
        for core in self.cores() {
            let scopes = item_scopes(&core, method, name);
            if apply_catalog_change(&core, op, name) {
                any = true;
                broadcast_visible(&core, method, Visibility::Scopes(scopes));
                fan_out(&core, method, Visibility::Scopes(scopes));
                // Scale out: the other replicas make the same change.
                if let Some(replicate) = core.replicate.get() {
                    replicate(op, name);
                }
            }
        }
        any
    }
}

// ---- list_changed filtered per caller

/// The scopes of the item a change to the list of `method` names.
fn item_scopes(core: &ServerCore, method: &str, name: &str) -> Option<&'static [&'static str]> {
    match method {
        TOOLS => tool_scopes(core, name),
        PROMPTS => prompt_scopes(core, name),
        _ => resource_scopes(core, name),
    }
}

fn tool_scopes(core: &ServerCore, name: &str) -> Option<&'static [&'static str]> {
    core.tools.find(name).and_then(|e| e.def.scopes)
}

fn prompt_scopes(core: &ServerCore, name: &str) -> Option<&'static [&'static str]> {
    core.prompts.find(name).and_then(|e| e.def.scopes)
}

fn resource_scopes(core: &ServerCore, uri: &str) -> Option<&'static [&'static str]> {
    core.resources
        .find(uri)
        .or_else(|| core.templates.find(uri))
        .and_then(|e| e.def.scopes)
}

/// Who a `list_changed` concerns.
#[derive(Clone, Copy)]
pub(crate) enum Visibility {
    /// Every client.
    All,
    /// Clients that may see an item with these scopes (`None`: the server's default).
    Scopes(Option<&'static [&'static str]>),
}

/// Tells the clients of `core` that completed the handshake, and may see the changed item,
/// that a list changed: a client that may not see it has the same list as before.
pub(crate) fn broadcast_visible(core: &ServerCore, method: &str, visibility: Visibility) {
    broadcast_where(core, method, |principal| match visibility {
        Visibility::All => true,
        Visibility::Scopes(scopes) => core.policy.visible(principal, scopes),
    });
}

/// Tells the clients of `core` that completed the handshake, and that `admits`, that a list
/// changed.
fn broadcast_where(core: &ServerCore, method: &str, admits: impl Fn(&crate::Principal) -> bool) {
    let Ok(bytes) = encode_request::<()>(None, method, None) else {
        return;
    };
    for session in core.sessions() {
        if admits(&session.viewer()) {
            session.send(bytes.clone());
        }
    }
    core.offer_listeners(method, None, &admits);
}

/// The `list_changed` methods of the lists in which `before` and `now` (one caller, before
/// and after its scopes changed) see different items.
pub(crate) fn lists_changed_between(
    core: &ServerCore,
    before: &crate::Principal,
    now: &crate::Principal,
) -> Vec<&'static str> {
    let differs = |scopes: Option<&'static [&'static str]>| {
        core.policy.visible(before, scopes) != core.policy.visible(now, scopes)
    };
    let mut changed = Vec::new();
    if core
        .tools
        .load()
        .live()
        .iter()
        .any(|e| differs(e.def.scopes))
    {
        changed.push(TOOLS);
    }
    if core
        .prompts
        .load()
        .live()
        .iter()
        .any(|e| differs(e.def.scopes))
    {
        changed.push(PROMPTS);
    }
    if core
        .resources
        .load()
        .live()
        .iter()
        .any(|e| differs(e.def.scopes))
        || core
            .templates
            .load()
            .live()
            .iter()
            .any(|e| differs(e.def.scopes))
    {
        changed.push(RESOURCES);
    }
    changed
}

/// Gives every session and `subscriptions/listen` stream whose caller `lookup` knows anew
/// (the API keys were reloaded) its caller's current scopes, telling it of the lists that
/// changed for it.
pub(crate) fn rescope_principals(
    core: &ServerCore,
    lookup: impl Fn(&crate::Principal) -> Option<crate::Principal>,
) {
    for session in core.sessions() {
        if let Some(now) = lookup(session.principal())
            && now.same_caller(session.principal())
        {
            session.rescope(&now);
        }
    }
    core.rescope_listeners(&|p| lookup(p));
}

/// A [`Visibility`] as it travels to the other replicas, which filter their own clients with
/// it as the replica that made the change filters its own.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Audience {
    /// Every client.
    #[default]
    All,
    /// Clients holding the server's default scopes (the item declares none).
    DefaultScopes,
    /// Clients holding every one of these scopes.
    Scopes(Vec<String>),
}

impl From<Visibility> for Audience {
    fn from(visibility: Visibility) -> Audience {
        match visibility {
            Visibility::All => Audience::All,
            Visibility::Scopes(None) => Audience::DefaultScopes,
            Visibility::Scopes(Some(scopes)) => {
                Audience::Scopes(scopes.iter().map(|s| (*s).to_string()).collect())
            }
        }
    }
}

impl Audience {
    /// Whether `principal` may see the changed item, by `core`'s policy.
    fn admits(&self, core: &ServerCore, principal: &crate::Principal) -> bool {
        match self {
            Audience::All => true,
            Audience::DefaultScopes => core.policy.visible(principal, None),
            Audience::Scopes(scopes) => {
                principal.has_every_scope() || scopes.iter().all(|s| principal.has_scope(s))
            }
        }
    }
}

const TOOLS: &str = "notifications/tools/list_changed";
pub(crate) const RESOURCES: &str = "notifications/resources/list_changed";
const PROMPTS: &str = "notifications/prompts/list_changed";

const UPDATED: &str = "notifications/resources/updated";

/// Enables, disables or removes a tool, resource (or template) or prompt by name, without
/// telling anyone; whether that changed anything. A replica applies the changes another made
/// through this (their `list_changed` comes separately).
pub(crate) fn apply_catalog_change(core: &ServerCore, op: &str, name: &str) -> bool {
    match op {
        "remove_tool" => core.tools.remove(name),
        "enable_tool" => core.tools.set_enabled(name, true),
        "disable_tool" => core.tools.set_enabled(name, false),
        "remove_resource" => core.resources.remove(name) | core.templates.remove(name),
        "enable_resource" => {
            core.resources.set_enabled(name, true) | core.templates.set_enabled(name, true)
        }
        "disable_resource" => {
            core.resources.set_enabled(name, false) | core.templates.set_enabled(name, false)
        }
        "remove_prompt" => core.prompts.remove(name),
        "enable_prompt" => core.prompts.set_enabled(name, true),
        "disable_prompt" => core.prompts.set_enabled(name, false),
        _ => false,
    }
}

/// Sends `notifications/resources/updated` for `uri` to the clients of this process
/// subscribed to it; returns how many were told.
pub(crate) fn resource_updated_here(core: &ServerCore, uri: &str) -> usize {
    // The URI's scopes are looked up, and the notification encoded, only once a listener or
    // a subscribed session is there to be told: a change nobody follows costs no more than
    // finding that out.
    let scopes = std::cell::OnceCell::new();
    core.offer_listeners(UPDATED, Some(uri), &|principal| {
        let scopes = *scopes.get_or_init(|| resource_scopes(core, uri));
        core.policy.visible(principal, scopes)
    });
    let mut encoded = None;
    let mut told = 0;
    for session in core.subscribed_sessions(uri) {
        let bytes = match &encoded {
            Some(bytes) => bytes,
            None => {
                let mut params = Map::new();
                params.insert("uri".into(), Value::String(uri.to_string()));
                let Ok(bytes) = encode_request(None, UPDATED, Some(&params)) else {
                    return told;
                };
                encoded.insert(bytes)
            }
        };
        session.send(bytes.clone());
        told += 1;
    }
    told
}

/// A notification another replica fanned out, delivered to this process's clients (a
/// `list_changed` to those of them in `audience`).
pub(crate) fn deliver_fanned_out(
    core: &ServerCore,
    method: &str,
    uri: Option<&str>,
    audience: &Audience,
) {
    match (method, uri) {
        (UPDATED, Some(uri)) => {
            resource_updated_here(core, uri);
        }
        (TOOLS | RESOURCES | PROMPTS, None) => {
            broadcast_where(core, method, |p| audience.admits(core, p));
        }
        _ => tracing::debug!(
            method = ?crate::escape::Escaped(method),
            "a notification from another replica ignored"
        ),
    }
}

/// Tells every client of `core` that completed the handshake that a list changed, on every
/// replica.
pub(crate) fn broadcast(core: &ServerCore, method: &str) {
    broadcast_visible(core, method, Visibility::All);
    fan_out(core, method, Visibility::All);
}

/// Has the other replicas tell those of their clients that may see the changed item that a
/// list changed.
fn fan_out(core: &ServerCore, method: &str, visibility: Visibility) {
    if let Some(fan_out) = core.fan_out.get() {
        fan_out(method, None, visibility);
    }
}
