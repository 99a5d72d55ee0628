//! The server: what it serves, and how it answers.

pub(crate) mod call;
mod context;
pub(crate) mod registry;
pub mod schema;
pub(crate) mod session;
pub mod text;
pub mod uri_template;

use std::sync::Arc;

use serde_json::{Map, Value};

pub use call::{
    ArgSpec, ArgumentParam, Audio, ContentReturn, ExtractorParam, FromContext, Image,
    IntoToolResult, OutputMode, OutputSchema, Param, Ret, StructuredResultReturn, StructuredReturn,
    ToolArgument, ToolCall, ToolError, ToolFuture, ToolOutput, default_from_str, default_json,
};
pub use context::Context;
pub use registry::{Icon, ToolAnnotations, ToolDef};

use crate::protocol::{Implementation, InitializeResult, ProtocolVersion};
use registry::ToolTable;

/// An MCP server under construction: its identity, and which tools it serves.
///
/// `Server::new` serves every `#[tool]` in the program; filter with [`Server::retain_tools`],
/// [`Server::only_tools`] or [`Server::tagged`], or start from [`Server::empty`] and add tools
/// with [`Server::tool`].
///
/// ```no_run
/// use mcp_runtime::prelude::*;
///
/// /// Add two integers.
/// #[tool]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// #[tokio::main]
/// async fn main() -> anyhow::Result<()> {
///     Server::new("calculator").run().await
/// }
/// ```
#[derive(Clone)]
pub struct Server {
    info: Implementation,
    instructions: Option<String>,
    tools: Vec<&'static ToolDef>,
    page_size: usize,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.info.name)
            .field(
                "tools",
                &self.tools.iter().map(|t| t.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server named `name` serving every tool registered in the program.
    pub fn new(name: impl Into<String>) -> Server {
        let mut server = Server::empty(name);
        server.tools = inventory::iter::<ToolDef>.into_iter().collect();
        server
    }

    /// A server named `name` serving nothing until told.
    pub fn empty(name: impl Into<String>) -> Server {
        Server {
            info: Implementation {
                name: name.into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ..Default::default()
            },
            instructions: None,
            tools: Vec::new(),
            page_size: usize::MAX,
        }
    }

    /// The server's version (default: the version of `mcp-runtime`); pass
    /// `env!("CARGO_PKG_VERSION")` for your crate's.
    pub fn version(mut self, version: impl Into<String>) -> Server {
        self.info.version = version.into();
        self
    }

    /// A display name.
    pub fn title(mut self, title: impl Into<String>) -> Server {
        self.info.title = Some(title.into());
        self
    }

    /// A description of the server.
    pub fn description(mut self, description: impl Into<String>) -> Server {
        self.info.description = Some(description.into());
        self
    }

    /// The server's home page.
    pub fn website_url(mut self, url: impl Into<String>) -> Server {
        self.info.website_url = Some(url.into());
        self
    }

    /// Instructions for the client on how to use the server.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Server {
        self.instructions = Some(instructions.into());
        self
    }

    /// Adds a tool by its descriptor.
    pub fn tool(mut self, def: &'static ToolDef) -> Server {
        self.tools.push(def);
        self
    }

    /// Keeps only the tools for which `keep` is true.
    pub fn retain_tools(mut self, keep: impl Fn(&ToolDef) -> bool) -> Server {
        self.tools.retain(|t| keep(t));
        self
    }

    /// Keeps only the tools with these names.
    pub fn only_tools(self, names: &[&str]) -> Server {
        self.retain_tools(|t| names.contains(&t.name))
    }

    /// Keeps only the tools carrying `tag`.
    pub fn tagged(self, tag: &str) -> Server {
        self.retain_tools(|t| t.tags.contains(&tag))
    }

    /// Keeps only the tools defined in `module` (a `module_path!()` prefix) or below it.
    pub fn in_module(self, module: &str) -> Server {
        self.retain_tools(|t| {
            t.module_path == module
                || t.module_path
                    .strip_prefix(module)
                    .is_some_and(|rest| rest.starts_with("::"))
        })
    }

    /// How many items a page of `tools/list` holds (default: all of them).
    pub fn page_size(mut self, n: usize) -> Server {
        self.page_size = n.max(1);
        self
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The names of the tools this server will serve, in listing order.
    pub fn tool_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.tools.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names
    }

    /// Builds what the transports serve. Fails when two tools share a name.
    pub(crate) fn build(self) -> anyhow::Result<Arc<ServerCore>> {
        let tools = ToolTable::build(self.tools).map_err(anyhow::Error::msg)?;
        Ok(Arc::new(ServerCore {
            info: self.info,
            instructions: self.instructions,
            tools,
            page_size: self.page_size,
        }))
    }
}

/// A built server, shared by every connection.
pub(crate) struct ServerCore {
    pub(crate) info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: ToolTable,
    pub(crate) page_size: usize,
}

impl ServerCore {
    pub(crate) fn initialize_result(&self, version: ProtocolVersion) -> InitializeResult {
        let mut capabilities = Map::new();
        let mut tools = Map::new();
        tools.insert("listChanged".into(), Value::Bool(false));
        capabilities.insert("tools".into(), Value::Object(tools));
        let mut info = self.info.clone();
        if !version.has_titles() {
            info.title = None;
        }
        if !version.has_icons() {
            info.description = None;
            info.website_url = None;
        }
        InitializeResult {
            protocol_version: version.as_str().into(),
            capabilities,
            server_info: info,
            instructions: self.instructions.clone(),
        }
    }

    /// A one-line summary for banners and logs.
    pub(crate) fn summary(&self) -> String {
        let n = self.tools.entries.len();
        format!("{n} tool{}", if n == 1 { "" } else { "s" })
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
    pub fn new(server: Server) -> anyhow::Result<DirectSession> {
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
            session::Reply::Now(bytes) => bytes,
            session::Reply::Later(_, fut) => fut.await,
        }
    }
}
