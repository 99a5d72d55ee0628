#![doc = include_str!("../../README.md")]
// Builds without a transport, the client or the resource server leave the parts only those use
// unused: dead code is linted in builds that have them all (the workspace's, which turns on
// `oauth` for its tests and examples).
#![cfg_attr(
    not(all(
        feature = "stdio",
        feature = "oauth",
        feature = "http-server",
        feature = "client",
        feature = "client-http",
        feature = "per-request-crypto",
        feature = "skills",
        feature = "rate-limit"
    )),
    allow(dead_code, unused_imports)
)]
// With `preserve-order` (default), a `serde_json::Value` holds an `IndexMap` and is larger, so
// the errors that carry one (`ErrorObject.data`) pass clippy's 128-byte mark; they are on
// error paths only, and boxing them would change public fields.
#![allow(clippy::result_large_err)]

extern crate self as mcp_runtime;

pub mod auth;
#[cfg(feature = "client")]
pub mod client;
// ---- Production (issue 20)
mod config;
mod error;
mod escape;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod middleware;
pub mod observe;
pub mod protocol;
mod run;
pub mod server;
#[cfg(feature = "skills")]
pub mod skills;
pub mod store;
pub mod transport;

/// Cheaply cloneable bytes, which a `#[resource]` may return.
pub use auth::{Headers, PeerAddr, Principal};
pub use bytes::Bytes;
#[cfg(feature = "client-http")]
pub use client::HttpClientOptions;
#[cfg(feature = "client")]
pub use client::{
    Client, ClientError, ClientOptions, Direction, MessageTap, ProgressCall, ServerRequestHandler,
};
#[cfg(feature = "client-http")]
pub use client::{HttpExchange, HttpTap};
pub use error::{BoxError, Error};
/// Implements [`server::Form`] for a struct (checking each field's type), or
/// [`server::FormField`] and [`server::FormChoice`] for an enum of unit variants.
pub use mcp_macros::Form;
/// A skills tree embedded in the binary, for [`Server::skills_embedded`]: the directory
/// (relative to the crate's `Cargo.toml`) is read when the crate compiles, each file with
/// `include_bytes!`, so the binary serves its skills without the directory at run time.
///
/// ```ignore
/// # use mcp_runtime::prelude::*;
/// # async fn run() -> Result<(), mcp_runtime::Error> {
/// Server::new("docs")
///     .skills_embedded(mcp_runtime::include_skills!("skills"))
///     .run()
///     .await
/// # }
/// ```
///
/// Cargo rebuilds when an embedded file changes; a file added to the directory is picked up
/// by the next build that compiles the crate (touch the source file to force one). Hidden
/// files are left out; a symbolic link is a compile error. The server checks the skills
/// (front matter, limits) when it is built, as for [`Server::skills_dir`].
#[cfg(feature = "skills")]
pub use mcp_macros::include_skills;
#[doc = include_str!("prompt.md")]
pub use mcp_macros::prompt;
#[doc = include_str!("resource.md")]
pub use mcp_macros::resource;
#[doc = include_str!("tool.md")]
pub use mcp_macros::tool;
pub use middleware::{Middleware, ToolLimits};
pub use protocol::{CallToolResult, Content, ResourceContents, Role};
pub use run::{Launch, LaunchOptions, Transport, init_logging};
pub use server::{
    Audio, CacheHints, CacheScope, ClientRequest, ClientRequestError, Completion,
    CompletionContext, Context, FromContext, GetPromptResult, Icon, Image, IntoCompletion,
    IntoPromptResult, IntoToolResult, Json, Lifespan, LogLevel, PromptDef, PromptError,
    PromptMessage, ResourceAnnotations, ResourceDef, ResourceError, ResourceOutput, Root, SafePath,
    SamplingRequest, SamplingResult, Server, ServerHandle, SessionLimits, State, StateNeed,
    TaskSupport, ToolAnnotations, ToolDef, ToolError, Unchecked,
};
// Scale out (issue 19).
pub use server::SessionState;
pub use transport::http::HttpOptions;
#[cfg(feature = "http-server")]
pub use transport::http::HttpServer;
// ---- Production (issue 20)
#[cfg(feature = "tower")]
pub use transport::http::McpService;

/// Everything a server file needs: `use mcp_runtime::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "client")]
    pub use crate::Client;
    #[cfg(feature = "client")]
    pub use crate::ClientOptions;
    pub use crate::auth::{Headers, PeerAddr, Principal};
    pub use crate::protocol::{CallToolResult, Content, ResourceContents};
    pub use crate::server::{
        Audio, CacheHints, CacheScope, ClientRequest, ClientRequestError, Completion,
        CompletionContext, Context, ElicitationResponse, GetPromptResult, Image, Json, LogLevel,
        PromptError, PromptMessage, ResourceError, SamplingRequest, Server, ServerHandle, State,
        ToolError,
    };
    pub use crate::{prompt, resource, tool};
    // Elicitation forms: the derive and its trait (one name, two namespaces).
    pub use crate::server::Form;
    pub use mcp_macros::Form;
}

/// What macro expansions name. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::middleware::ToolLimits;
    pub use crate::protocol::JsonObject;
    pub use crate::protocol::Role;
    #[cfg(feature = "skills")]
    pub use crate::server::EmbeddedFile;
    pub use crate::server::handlers::completion::{
        Completer, CompletionFuture, CompletionRequest, PendingCompletion, ReadyCompletion,
        completion_kind,
    };
    pub use crate::server::handlers::completion_fn::complete_with;
    pub use crate::server::handlers::state::StateNeed;
    pub use crate::server::schema::form::{AssertForm, AssertFormField};
    pub use crate::server::schema::{InputSchemaBuilder, raw_input_schema};
    pub use crate::server::{
        ArgSpec, ArgumentParam, ContentReturn, ExtractorParam, Icon, InvalidPromptParam,
        InvalidReturn, InvalidToolParam, OutputSchema, Param, PromptArgument, PromptArgumentParam,
        PromptDef, PromptFuture, PromptGet, PromptTarget, ResourceAnnotations, ResourceDef,
        ResourceFuture, ResourceOutput, ResourceRead, ResourceTarget, Ret, StructuredResultReturn,
        StructuredReturn, TaskSupport, TemplateVariable, ToolAnnotations, ToolArgument, ToolCall,
        ToolDef, ToolFuture, ToolOutput, default_from_str, default_json, resource_extractor,
    };
    pub use crate::server::{Form, FormChoice, FormField};
    pub use ::inventory;
    pub use ::schemars;
    pub use ::serde;
    pub use ::serde_json;
}
