#![doc = include_str!("../../README.md")]

extern crate self as mcp_runtime;

pub mod client;
pub mod protocol;
mod run;
pub mod server;
pub mod transport;

pub use client::{Client, ClientError, ClientOptions, HttpClientOptions};
#[doc = include_str!("tool.md")]
pub use mcp_macros::tool;
pub use protocol::{CallToolResult, Content};
pub use run::{Launch, LaunchOptions, Transport, init_logging};
pub use server::{
    Audio, Context, FromContext, Icon, Image, IntoToolResult, Server, ToolAnnotations, ToolDef,
    ToolError,
};
pub use transport::http::{HttpOptions, HttpServer};

/// Everything a server file needs: `use mcp_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::protocol::{CallToolResult, Content};
    pub use crate::server::{Audio, Context, Image, Server, ToolError};
    pub use crate::{Client, tool};
}

/// What macro expansions name. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::protocol::JsonObject;
    pub use crate::server::schema::InputSchemaBuilder;
    pub use crate::server::{
        ArgSpec, ArgumentParam, ContentReturn, ExtractorParam, Icon, OutputSchema, Param, Ret,
        StructuredResultReturn, StructuredReturn, ToolAnnotations, ToolArgument, ToolCall, ToolDef,
        ToolFuture, ToolOutput, default_from_str, default_json,
    };
    pub use ::inventory;
    pub use ::schemars;
    pub use ::serde;
    pub use ::serde_json;
}
