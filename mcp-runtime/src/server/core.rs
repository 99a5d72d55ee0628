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
    // Middleware and observability.
    /// The middleware and built-in policies around handlers.
    pub(crate) stack: crate::middleware::Running,
}

impl ServerCore {
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
            extensions: tasks.then(|| {
                let mut extensions = JsonObject::new();
                extensions.insert(
                    per_request::tasks::EXTENSION.into(),
                    Value::Object(JsonObject::new()),
                );
                extensions
            }),
        }
    }

    pub(crate) fn initialize_result(&self, version: ProtocolVersion) -> InitializeResult {
        InitializeResult::for_revision(
            version,
            self.capabilities(),
            self.info.clone(),
            self.instructions.clone(),
        )
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
}

/// Dispatch without a transport, one message at a time: for benchmarks of the dispatch path
/// itself. Not public API.
#[doc(hidden)]
pub struct DirectSession {
    session: Arc<session::Session>,
    out: session::Outbound,
    notifications: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
}

impl DirectSession {
    /// A session of `server`, not yet initialized.
    pub fn new(server: Server) -> Result<DirectSession, crate::Error> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        Ok(DirectSession {
            session: session::Session::new(server.build()?, tx.clone()),
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
