//! `ServerCore`: a built server, shared by every connection.

use std::sync::{Arc, Mutex, Weak};

use serde_json::Value;

use super::*;
use crate::protocol::{
    Implementation, InitializeResult, JsonObject, ListChanged, ProtocolVersion,
    ResourcesCapability, ServerCapabilities,
};
use crate::server::dispatch::session;
use crate::server::per_request::tasks::TaskSupport;
use crate::server::registration::{Catalog, PromptEntry, ResourceEntry, ToolEntry};
use crate::server::{handlers::state, per_request, per_request::tasks};

/// Tells the other replicas of a notification for every session (method, URI, who may see
/// the changed item).
pub(crate) type FanOut =
    Box<dyn Fn(&str, Option<&str>, crate::server::registration::handle::Visibility) + Send + Sync>;
/// Tells the other replicas of a catalog change (operation, name).
pub(crate) type Replicate = Box<dyn Fn(&str, &str) + Send + Sync>;

/// A built server, shared by every connection.
pub(crate) struct ServerCore {
    pub(crate) info: Implementation,
    /// `info`, serialized once for the `_meta` of every per-request result.
    pub(crate) server_info: Arc<serde_json::value::RawValue>,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: Catalog<ToolEntry>,
    pub(crate) resources: Catalog<ResourceEntry>,
    pub(crate) templates: Catalog<ResourceEntry>,
    pub(crate) prompts: Catalog<PromptEntry>,
    pub(crate) page_size: usize,
    pub(crate) client_request_timeout: std::time::Duration,
    pub(crate) state: state::StateMap,
    /// Every live session that completed the handshake, for notifications that concern
    /// them all.
    pub(crate) sessions: Mutex<Vec<Weak<session::Session>>>,
    /// The open `subscriptions/listen` requests (2026-07-28).
    pub(crate) listeners: Mutex<Vec<Arc<per_request::listen::Listener>>>,
    pub(crate) per_request: per_request::PerRequestConfig,
    /// The tasks of 2026-07-28 calls (the tasks extension).
    pub(crate) tasks: tasks::TaskStore,

    // Hardening against hostile clients.
    pub(crate) limits: super::SessionLimits,
    /// Tell clients what a panicking handler said (otherwise only the log has it).
    pub(crate) show_panic_details: bool,
    // ---- Identity (issue 21)
    /// Who may see and use what.
    pub(crate) policy: crate::auth::policy::Policy,
    /// Who made each task.
    pub(crate) task_owners: crate::auth::task_owner::TaskOwners,
    // --- The skills extension (SEP-2640) ---
    /// The skills served, when the server was given any.
    #[cfg(feature = "skills")]
    pub(crate) skills: Option<crate::server::skills::Skills>,
    // --- text copy of structured results (first-day checks)
    /// Whether structured results keep their text copy unless a tool says otherwise.
    pub(crate) structured_text: bool,
    // Middleware and observability.
    /// The middleware and built-in policies around handlers.
    pub(crate) stack: crate::middleware::Running,
    // ---- Scale out (issue 19)
    /// What replicas share (`Server::shared_state`, `--redis-url`); none: this process only.
    pub(crate) shared: std::sync::OnceLock<Arc<dyn crate::store::SharedState>>,
    /// The `requestState` key every replica uses, from the shared state (when the builder
    /// was given none of its own).
    pub(crate) shared_state_key: std::sync::OnceLock<Arc<[u8]>>,
    /// Tells the other replicas of a notification for every session (`list_changed`,
    /// `resources/updated`).
    pub(crate) fan_out: std::sync::OnceLock<FanOut>,
    /// Tells the other replicas of a change to what is served (`ServerHandle::disable_tool`
    /// and the like: an operation and a name).
    pub(crate) replicate: std::sync::OnceLock<Replicate>,
    /// `ctx.session_state()` of a server without shared state: this process's memory.
    pub(crate) local_values: std::sync::OnceLock<Arc<crate::store::MemoryState>>,
}

impl ServerCore {
    /// The key that seals `requestState`: the replicas' shared one, or this server's.
    pub(crate) fn state_key(&self) -> &Arc<[u8]> {
        self.shared_state_key
            .get()
            .unwrap_or(&self.per_request.state_key)
    }

    /// Fails, naming the item and the type, when the item takes a `State<T>` this server
    /// lacks.
    pub(crate) fn check_state(
        &self,
        kind: &'static str,
        name: &str,
        location: (&'static str, u32),
        states: fn() -> Vec<state::StateNeed>,
    ) -> Result<(), String> {
        let item = state::Needer {
            kind,
            name,
            location,
            states,
        };
        state::missing(&self.state, [item]).map_or(Ok(()), Err)
    }

    /// What the server can do, in the newest form; each revision takes its part
    /// ([`ServerCapabilities::for_revision`]).
    pub(crate) fn capabilities(&self) -> ServerCapabilities {
        let tasks = self
            .tools
            .load()
            .live()
            .iter()
            .any(|t| t.def.task != TaskSupport::Forbidden);
        ServerCapabilities {
            tools: Some(ListChanged { list_changed: true }),
            resources: Some(ResourcesCapability {
                subscribe: true,
                list_changed: true,
            }),
            prompts: Some(ListChanged { list_changed: true }),
            logging: Some(JsonObject::new()),
            completions: Some(JsonObject::new()),
            extensions: self.extensions(tasks),
        }
    }

    /// The extensions the server declares: tasks when a tool can run as one, skills when
    /// it serves any.
    fn extensions(&self, tasks: bool) -> Option<JsonObject> {
        let mut extensions = JsonObject::new();
        if tasks {
            extensions.insert(
                per_request::tasks::EXTENSION.into(),
                Value::Object(JsonObject::new()),
            );
        }
        #[cfg(feature = "skills")]
        if self.skills.is_some() {
            let mut settings = JsonObject::new();
            settings.insert("directoryRead".into(), Value::Bool(true));
            extensions.insert(crate::skills::EXTENSION.into(), Value::Object(settings));
        }
        (!extensions.is_empty()).then_some(extensions)
    }

    pub(crate) fn initialize_result(&self, version: ProtocolVersion) -> InitializeResult {
        InitializeResult::for_revision(
            version,
            self.capabilities(),
            self.info.clone(),
            self.instructions.clone(),
        )
    }

    /// Every scope the server's items and its default name.
    pub(crate) fn declared_scopes(&self) -> Vec<String> {
        let tools = self.tools.load();
        let resources = self.resources.load();
        let templates = self.templates.load();
        let prompts = self.prompts.load();
        let scopes = tools
            .live()
            .iter()
            .map(|t| t.def.scopes)
            .chain(resources.live().iter().map(|r| r.def.scopes))
            .chain(templates.live().iter().map(|r| r.def.scopes))
            .chain(prompts.live().iter().map(|p| p.def.scopes));
        self.policy.declared(scopes)
    }

    /// A one-line summary for banners and logs.
    pub(crate) fn summary(&self) -> String {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        format!(
            "{}, {}, {}, {}",
            plural(self.tools.len(), "tool"),
            plural(self.resources.len(), "resource"),
            plural(self.templates.len(), "resource template"),
            plural(self.prompts.len(), "prompt"),
        )
    }

    /// Remembers a session that completed the handshake.
    pub(crate) fn register(&self, session: &Arc<session::Session>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|s| s.strong_count() > 0);
        sessions.push(Arc::downgrade(session));
    }

    /// The live connections.
    pub(crate) fn sessions(&self) -> Vec<Arc<session::Session>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|s| s.strong_count() > 0);
        sessions.iter().filter_map(Weak::upgrade).collect()
    }

    /// The live sessions subscribed to `uri`: nothing is allocated when none is.
    pub(crate) fn subscribed_sessions(&self, uri: &str) -> Vec<Arc<session::Session>> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|s| s.is_subscribed(uri))
            .collect()
    }
}

/// Dispatch without a transport, one message at a time: for benchmarks of the dispatch path
/// itself. Not public API.
#[doc(hidden)]
pub struct DirectSession {
    session: Arc<session::Session>,
    out: session::Outbound,
    notifications: crate::server::dispatch::outbound::OutboundRx,
}

impl DirectSession {
    /// A session of `server`, not yet initialized.
    pub fn new(server: Server) -> Result<DirectSession, crate::Error> {
        let core = server.build()?;
        let (tx, rx) = crate::server::dispatch::outbound::for_session(&core.limits);
        Ok(DirectSession {
            session: session::Session::new(core, tx.clone()),
            out: tx,
            notifications: rx,
        })
    }

    /// Handles one message; returns the response (empty for notifications).
    pub async fn handle(&mut self, message: &str) -> Vec<u8> {
        while self.notifications.try_recv().is_ok() {}
        match self.session.handle_message(message, &self.out) {
            session::Reply::None => Vec::new(),
            session::Reply::Now(encoded) => encoded.bytes,
            session::Reply::Later(_, fut) => fut.await.bytes,
        }
    }
}
