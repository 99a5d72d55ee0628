//! The server: what it serves, and how it answers.

// - `registration`: the descriptors the macros emit (`ToolDef`, `ResourceDef`, `PromptDef`),
//   the catalogs a running server looks them up in, and the `ServerHandle` that changes them.
// - `handlers`: what expansions call to run a handler: extracting arguments and extractors,
//   converting return values, completion, shared state.
// - `schema`: input and output schemas, lenient coercion, elicitation forms.
// - `dispatch`: one connection's session and its method table; every `impl Session`.
// - `per_request`: the per-request revision's rounds, sealed `requestState`,
//   `subscriptions/listen`, and tasks.
// - `context`: `Context`, the request as a handler sees it, and requests to the client.

mod apps;
mod builder;
pub(crate) mod context;
mod core;
pub(crate) mod dispatch;
pub(crate) mod handlers;
mod lifespan;
mod limits;
pub(crate) mod per_request;
// ---- Production (issue 20)
mod readiness;
pub(crate) mod registration;
pub(crate) mod schema;
#[cfg(feature = "skills")]
pub(crate) mod skills;
pub(crate) mod uri_template;

pub use builder::Server;
#[doc(hidden)]
pub use core::DirectSession;
pub(crate) use core::ServerCore;

pub use crate::protocol::{CacheHints, CacheScope, LogLevel};
pub use context::client_requests::{
    ClientRequestError, Root, SamplingMessage, SamplingRequest, SamplingResult,
};
pub use context::session_state::{MAX_VALUE_BYTES, SessionState};
pub use context::{ClientRequest, Context};
pub use handlers::call::{
    ArgSpec, Audio, Extraction, FromContext, HandlerFuture, Image, IntoToolResult, OutputMode,
    OutputSchema, ToolArgument, ToolCall, ToolError, ToolFuture, ToolOutput,
};
// What expansions call, through `__private`: the parameter and return markers of decision (a)
// and their diagnostic traits. Not API.
#[doc(hidden)]
pub use handlers::call::{
    ArgumentParam, ContentReturn, ExtractorParam, InvalidReturn, InvalidToolParam, Param, Ret,
    StructuredResultReturn, StructuredReturn, ToolParameter, ToolReturn, default_from_str,
    default_json, extract_context,
};
pub use handlers::completion::{Completion, CompletionContext, IntoCompletion};
pub use handlers::completion_fn::{CompletionArg, CompletionFn};
pub use handlers::prompt::{
    GetPromptResult, IntoPromptResult, PromptArgumentType, PromptGet, PromptMessage,
};
#[doc(hidden)]
pub use handlers::prompt::{
    InvalidPromptParam, PromptArgumentParam, PromptParameter, PromptTarget,
};
pub use handlers::prompt_error::PromptError;
pub use handlers::resource::{
    Json, ResourceError, ResourceExtractor, ResourceOutput, ResourceRead, TemplateVariable,
};
#[doc(hidden)]
pub use handlers::resource::{ResourceTarget, resource_extractor};
pub use handlers::state::{State, StateNeed};
pub use handlers::template_values::{SafePath, Unchecked};
pub use lifespan::Lifespan;
pub(crate) use lifespan::Teardown;
pub use limits::SessionLimits;
pub use per_request::tasks::TaskSupport;
pub use registration::ServerHandle;
pub use registration::prompt::PromptFuture;
pub use registration::resource::ResourceFuture;
pub use registration::{
    Icon, PromptArgument, PromptDef, ResourceAnnotations, ResourceDef, ToolAnnotations, ToolDef,
};
pub use schema::elicitation::{
    ElicitSchemaError, ElicitationResponse, parse_response, requested_schema,
};
pub use schema::form::{Form, FormChoice, FormField};
#[cfg(feature = "skills")]
pub use skills::EmbeddedFile;
