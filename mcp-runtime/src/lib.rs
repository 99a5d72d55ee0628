#![doc = include_str!("../../README.md")]
// Builds without a transport or the client leave the parts only those use unused: dead code
// is linted in the default build, which has them all.
#![cfg_attr(
    not(all(
        feature = "stdio",
        feature = "http-server",
        feature = "client",
        feature = "client-http",
        feature = "per-request-crypto",
        feature = "rate-limit"
    )),
    allow(dead_code, unused_imports)
)]

extern crate self as mcp_runtime;

#[cfg(feature = "client")]
pub mod client;
mod error;
pub mod middleware;
pub mod observe;
pub mod protocol;
mod run;
pub mod server;
pub mod transport;

/// Cheaply cloneable bytes, which a `#[resource]` may return.
pub use bytes::Bytes;
#[cfg(feature = "client-http")]
pub use client::HttpClientOptions;
#[cfg(feature = "client")]
pub use client::{Client, ClientError, ClientOptions, Direction, MessageTap, ServerRequestHandler};
pub use error::{BoxError, Error};
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
    IntoPromptResult, IntoToolResult, Json, Lifespan, LogLevel, PromptDef, PromptMessage,
    ResourceAnnotations, ResourceDef, ResourceError, ResourceOutput, Root, SamplingRequest,
    SamplingResult, Server, ServerHandle, State, TaskSupport, ToolAnnotations, ToolDef, ToolError,
};
pub use transport::http::HttpOptions;
#[cfg(feature = "http-server")]
pub use transport::http::HttpServer;

/// Everything a server file needs: `use mcp_runtime::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "client")]
    pub use crate::Client;
    pub use crate::protocol::{CallToolResult, Content, ResourceContents};
    pub use crate::server::{
        Audio, CacheHints, CacheScope, ClientRequest, ClientRequestError, Completion,
        CompletionContext, Context, ElicitationResponse, GetPromptResult, Image, Json, LogLevel,
        PromptMessage, ResourceError, SamplingRequest, Server, ServerHandle, State, ToolError,
    };
    pub use crate::{prompt, resource, tool};
}

/// What macro expansions name. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::middleware::ToolLimits;
    pub use crate::protocol::JsonObject;
    pub use crate::protocol::Role;
    pub use crate::server::handlers::completion::{
        Completer, CompletionFuture, CompletionRequest, PendingCompletion, ReadyCompletion,
        completion_kind,
    };
    pub use crate::server::schema::{InputSchemaBuilder, raw_input_schema};
    pub use crate::server::{
        ArgSpec, ArgumentParam, ContentReturn, ExtractorParam, Icon, InvalidPromptParam,
        InvalidReturn, InvalidToolParam, OutputSchema, Param, PromptArgument, PromptArgumentParam,
        PromptDef, PromptFuture, PromptGet, PromptTarget, ResourceAnnotations, ResourceDef,
        ResourceFuture, ResourceOutput, ResourceRead, ResourceTarget, Ret, StructuredResultReturn,
        StructuredReturn, TaskSupport, TemplateVariable, ToolAnnotations, ToolArgument, ToolCall,
        ToolDef, ToolFuture, ToolOutput, default_from_str, default_json, resource_extractor,
    };
    pub use ::inventory;
    pub use ::schemars;
    pub use ::serde;
    pub use ::serde_json;
}
