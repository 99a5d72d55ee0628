//! What a `#[tool]` expansion calls into: argument extraction, extractors, and turning return
//! values into `CallToolResult`s.
//!
//! Whether a parameter is an argument or an extractor, and how a return type becomes a result,
//! is decided by the type system: the expansion calls a method on `&&&Param<T>` /
//! `&&&&Ret<T>` and method resolution picks the first impl whose bounds hold (auto-ref
//! specialization; the types are concrete at the call site, so this is sound). For
//! parameters: an extractor (`&&Param<T>`), else an argument (`&Param<T>`), else the fallback
//! on `Param<T>`, whose `describe` requires a trait nothing implements: one error per bad
//! parameter, at its type, worded by that trait's `on_unimplemented`. Returns likewise:
//! content, a `Result` of structured output, structured output, else the fallback.

use std::fmt::{self, Display, Write as _};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::protocol::{CallToolResult, Content, JsonObject};
use crate::server::context::Context;
use crate::server::handlers::state::StateNeed;
use crate::server::registration::ToolEntry;
use crate::server::schema::{self, InputSchemaBuilder};

/// A tool invocation being unpacked into the function's parameters.
pub struct ToolCall<'a> {
    pub(crate) tool: &'a ToolEntry,
    pub(crate) arguments: JsonObject,
    context: LazyContext,
    problems: Vec<String>,
    /// Extractors that failed: the server's fault, not the arguments'.
    faults: Vec<String>,
}

/// A request's [`Context`], built from its parts only when a parameter asks for it.
pub(crate) struct LazyContext {
    parts: Option<RequestParts>,
    built: Option<Context>,
}

impl LazyContext {
    pub(crate) fn new(parts: RequestParts) -> Self {
        LazyContext {
            parts: Some(parts),
            built: None,
        }
    }

    pub(crate) fn get(&mut self) -> &Context {
        let parts = &mut self.parts;
        self.built.get_or_insert_with(|| {
            let r = parts.take().expect("request parts are taken once");
            Context::new(r.id, r.meta, r.session, r.out, r.caller)
        })
    }
}

/// What a [`Context`] is made of; it is built only when a parameter asks for it.
pub(crate) struct RequestParts {
    pub(crate) id: crate::protocol::RequestId,
    pub(crate) meta: Option<crate::protocol::lazy::LazyObject>,
    pub(crate) session: std::sync::Arc<crate::server::dispatch::session::Session>,
    pub(crate) out: crate::server::dispatch::session::Outbound,
    // ---- Identity (issue 21)
    pub(crate) caller: crate::auth::principal::Caller,
}

impl<'a> ToolCall<'a> {
    pub(crate) fn new(tool: &'a ToolEntry, arguments: JsonObject, request: RequestParts) -> Self {
        ToolCall {
            tool,
            arguments,
            context: LazyContext::new(request),
            problems: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// The result when an argument could not be used (the problems were already reported).
    pub fn invalid(&mut self) -> ToolFuture {
        self.finish().unwrap_or_else(|| {
            ToolFuture::ready(CallToolResult::error(format!(
                "Invalid arguments for tool `{}`",
                self.tool.def.name
            )))
        })
    }

    /// How the tool's return value becomes a result.
    pub fn output_mode(&self) -> OutputMode {
        self.tool.output_mode
    }

    /// The arguments as sent.
    pub fn arguments(&self) -> &JsonObject {
        &self.arguments
    }

    /// The request's context.
    pub fn context(&mut self) -> &Context {
        self.context.get()
    }

    /// Records that an argument could not be used.
    pub fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    fn check_unknown(&mut self) {
        if !self.tool.closed {
            return;
        }
        let known = &self.tool.argument_names;
        let unknown: Vec<&String> = self
            .arguments
            .keys()
            .filter(|k| !known.iter().any(|n| n == *k))
            .collect();
        if unknown.is_empty() {
            return;
        }
        let accepted = if known.is_empty() {
            "this tool takes no arguments".to_string()
        } else {
            let list: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
            format!("accepted: {}", list.join(", "))
        };
        for k in unknown {
            self.problems
                .push(format!("unknown argument `{k}` ({accepted})"));
        }
    }

    /// Called by the expansion once every parameter was extracted: `Some` ends the call with
    /// an error result naming every argument that was wrong.
    pub fn finish(&mut self) -> Option<ToolFuture> {
        if !self.faults.is_empty() {
            let mut text = format!(
                "Internal error in tool `{}` (a fault of the server, not of the arguments):",
                self.tool.def.name
            );
            for f in &self.faults {
                let _ = write!(text, "\n- {f}");
            }
            tracing::error!(tool = self.tool.def.name, "{text}");
            return Some(ToolFuture::ready(CallToolResult::error(text)));
        }
        self.check_unknown();
        if self.problems.is_empty() {
            return None;
        }
        let mut text = format!("Invalid arguments for tool `{}`:", self.tool.def.name);
        for p in &self.problems {
            let _ = write!(text, "\n- {p}");
        }
        Some(ToolFuture::ready(CallToolResult::error(text)))
    }

    fn property_schema(&self, name: &str) -> Option<&Value> {
        self.tool.input_schema.get("properties")?.get(name)
    }

    /// The argument `name` deserialized, or the problem with it, which names the argument
    /// and, inside a nested value, the path to the part that failed (`messages[0].content`).
    fn take_argument<T: DeserializeOwned>(&mut self, name: &str) -> Option<Result<T, String>> {
        let value = self.arguments.get(name)?;
        if value.is_null() {
            return T::deserialize(&Value::Null).ok().map(Ok);
        }
        Some(match T::deserialize(value) {
            Ok(v) => Ok(v),
            Err(first) => {
                let mut coerced = value.clone();
                let retried = self
                    .property_schema(name)
                    .filter(|s| schema::coerce(&mut coerced, s))
                    .and_then(|_| T::deserialize(&coerced).ok());
                retried.ok_or_else(|| located::<T>(name, value, first))
            }
        })
    }
}

/// The problem with an argument that did not deserialize: `` `NAME`: MESSAGE ``, where NAME
/// is the path to the failing part when it lies inside the value. Only this error path
/// deserializes again with the path tracked, so a call whose arguments deserialize pays
/// nothing for it.
fn located<T: DeserializeOwned>(name: &str, value: &Value, first: serde_json::Error) -> String {
    let Err(tracked) = serde_path_to_error::deserialize::<_, T>(value) else {
        // Deserializing the same value cannot succeed the second time; say what failed first.
        return format!("`{name}`: {first}");
    };
    let mut path = name.to_string();
    push_path(&mut path, tracked.path());
    format!("`{path}`: {}", tracked.into_inner())
}

/// Appends where a deserialization failed to `out`: `[i]` for an element, `.key` for a field
/// (without the dot at the start of an empty `out`).
pub(crate) fn push_path(out: &mut String, path: &serde_path_to_error::Path) {
    use serde_path_to_error::Segment;
    for segment in path.iter() {
        if !out.is_empty() && !matches!(segment, Segment::Seq { .. }) {
            out.push('.');
        }
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            // A map's key is the client's text (a field's name is the type's): escaped and
            // cut like every client string an error quotes.
            Segment::Map { key } => {
                let _ = write!(out, "{}", crate::escape::Escaped(key));
            }
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
}

/// Static facts about one argument, emitted by the macro.
#[derive(Debug)]
pub struct ArgSpec {
    /// The name on the wire.
    pub name: &'static str,
    /// Its description.
    pub description: Option<&'static str>,
    /// Its default value as JSON, for the schema.
    pub default_json: Option<fn() -> Value>,
    /// Whether it has a default value (and so need not be given).
    pub has_default: bool,
    /// Suggests values for `completion/complete` (prompt arguments and template variables).
    pub complete: Option<crate::server::handlers::completion::Completer>,
    /// The `Name` of the `Mcp-Param-Name` HTTP header the argument is mirrored into (tool
    /// arguments, `"x-mcp-header"` in the input schema).
    pub header: Option<&'static str>,
}

/// Marker on which parameter methods are resolved; see the module docs.
pub struct Param<T>(PhantomData<fn() -> T>);

impl<T> Param<T> {
    /// The marker.
    pub const fn new() -> Self {
        Param(PhantomData)
    }
}

impl<T> Default for Param<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A value built from the request rather than from the tool's arguments: [`Context`], or an
/// extractor of your own.
///
/// Parameters whose type implements this never appear in the tool's input schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor",
    note = "extractors implement `mcp_runtime::FromContext`; tool arguments implement `serde::Deserialize` and `schemars::JsonSchema`"
)]
pub trait FromContext: Sized {
    /// Builds the value, or says why it could not. A failure is the server's fault, not the
    /// arguments': the call fails with an internal error carrying the message.
    fn from_context(ctx: &Context) -> Result<Self, String>;

    /// The [`State<T>`](crate::State) this extractor needs, checked when the server starts
    /// (default: none).
    fn state_need() -> Option<crate::server::handlers::state::StateNeed> {
        None
    }
}

impl FromContext for Context {
    fn from_context(ctx: &Context) -> Result<Self, String> {
        Ok(ctx.clone())
    }
}

/// A request being unpacked into a handler's parameters: a tool call, a prompt, a resource read.
pub trait Extraction {
    /// The request's context, built on first use.
    fn context(&mut self) -> &Context;
    /// Records that a parameter could not be built.
    fn problem(&mut self, message: String);
    /// Records that an extractor could not be built: the server's fault, not the request's
    /// (default: a problem like any other).
    fn fault(&mut self, message: String) {
        self.problem(message);
    }
}

impl Extraction for ToolCall<'_> {
    fn context(&mut self) -> &Context {
        ToolCall::context(self)
    }
    fn problem(&mut self, message: String) {
        ToolCall::problem(self, message);
    }
    fn fault(&mut self, message: String) {
        self.faults.push(message);
    }
}

/// Parameter handling for extractors (tried first).
pub trait ExtractorParam<T> {
    /// Adds nothing to the schema or argument list.
    fn describe<D>(&self, schema: &mut D, spec: &ArgSpec);
    /// Builds the extractor.
    fn extract<C: Extraction>(
        &self,
        call: &mut C,
        spec: &ArgSpec,
        default: Option<fn() -> T>,
    ) -> Option<T>;
    /// The state the extractor needs, checked at start.
    fn state_need(&self) -> Option<StateNeed>;
}

impl<T: FromContext> ExtractorParam<T> for &&Param<T> {
    fn describe<D>(&self, _: &mut D, _: &ArgSpec) {}

    fn state_need(&self) -> Option<StateNeed> {
        T::state_need()
    }

    fn extract<C: Extraction>(
        &self,
        call: &mut C,
        spec: &ArgSpec,
        _: Option<fn() -> T>,
    ) -> Option<T> {
        extract_context(call, spec)
    }
}

/// Builds an extractor parameter.
pub fn extract_context<T: FromContext, C: Extraction>(call: &mut C, spec: &ArgSpec) -> Option<T> {
    match T::from_context(call.context()) {
        Ok(v) => Some(v),
        Err(e) => {
            call.fault(format!("`{}`: {e}", spec.name));
            None
        }
    }
}

/// A type that can be a tool argument: it deserializes from JSON and has a JSON Schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool parameter",
    label = "neither a tool argument nor an extractor",
    note = "a tool argument's type implements `serde::Deserialize` and `schemars::JsonSchema`: add `#[derive(Deserialize, JsonSchema)]`",
    note = "an extractor (a value built from the request, never in the schema) implements `mcp_runtime::FromContext`"
)]
pub trait ToolArgument: DeserializeOwned + JsonSchema {}

impl<T: DeserializeOwned + JsonSchema> ToolArgument for T {}

/// Parameter handling for tool arguments: deserialized from `arguments`, described by schemars.
pub trait ArgumentParam<T> {
    /// Adds the argument to the input schema.
    fn describe(&self, schema: &mut InputSchemaBuilder, spec: &ArgSpec);
    /// Reads the argument, recording a problem on the call when it is missing or invalid.
    fn extract(
        &self,
        call: &mut ToolCall<'_>,
        spec: &ArgSpec,
        default: Option<fn() -> T>,
    ) -> Option<T>;
    /// Arguments need no state.
    fn state_need(&self) -> Option<StateNeed> {
        None
    }
}

impl<T: ToolArgument> ArgumentParam<T> for &Param<T> {
    fn describe(&self, schema: &mut InputSchemaBuilder, spec: &ArgSpec) {
        let accepts_null = T::deserialize(&Value::Null).is_ok();
        schema.argument::<T>(
            spec.name,
            spec.description,
            spec.default_json.map(|f| f()),
            accepts_null,
        );
        if let Some(header) = spec.header {
            schema.header(spec.name, header);
        }
    }

    fn extract(
        &self,
        call: &mut ToolCall<'_>,
        spec: &ArgSpec,
        default: Option<fn() -> T>,
    ) -> Option<T> {
        match call.take_argument::<T>(spec.name) {
            Some(Ok(v)) => Some(v),
            Some(Err(problem)) => {
                call.problem(problem);
                None
            }
            None => {
                if let Some(d) = default {
                    return Some(d());
                }
                if let Ok(v) = T::deserialize(&Value::Null) {
                    return Some(v);
                }
                let expected = call
                    .property_schema(spec.name)
                    .map(schema::expected_phrase)
                    .unwrap_or_else(|| "a value".into());
                call.problem(format!(
                    "missing required argument `{}` (expected {expected})",
                    spec.name
                ));
                None
            }
        }
    }
}

/// What a tool parameter is, for the error on one that is neither an argument nor an
/// extractor. Nothing implements it: requiring it is that error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool parameter",
    label = "neither a tool argument nor an extractor",
    note = "a tool argument's type implements `serde::Deserialize` and `schemars::JsonSchema`: add `#[derive(serde::Deserialize, schemars::JsonSchema)]`",
    note = "an extractor (a value built from the request, never in the schema) implements `mcp_runtime::FromContext`"
)]
pub trait ToolParameter {}

/// The last resort for a tool parameter: `describe` reports the type (once), `extract` is
/// never run because the crate does not compile.
pub trait InvalidToolParam<T> {
    /// The error, at the parameter's type.
    fn describe<D>(&self, _: &mut D, _: &ArgSpec)
    where
        T: ToolParameter,
    {
    }
    /// Unreachable: the crate does not compile.
    fn extract<C>(&self, _: &mut C, _: &ArgSpec, _: Option<fn() -> T>) -> Option<T> {
        None
    }
    /// Unreachable: the crate does not compile.
    fn state_need(&self) -> Option<StateNeed> {
        None
    }
}

impl<T> InvalidToolParam<T> for Param<T> {}

/// Serializes a default value for the schema.
pub fn default_json<T: Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The future of a running handler: already finished (sync handlers) or still running.
pub enum HandlerFuture<T> {
    /// The result is here.
    Ready(Option<T>),
    /// The handler is running.
    Pending(Pin<Box<dyn Future<Output = T> + Send>>),
}

/// The future of a running tool.
pub type ToolFuture = HandlerFuture<CallToolResult>;

impl<T> HandlerFuture<T> {
    /// A finished call.
    pub fn ready(result: T) -> Self {
        HandlerFuture::Ready(Some(result))
    }

    /// A running call.
    pub fn pending(fut: impl Future<Output = T> + Send + 'static) -> Self {
        HandlerFuture::Pending(Box::pin(fut))
    }
}

impl HandlerFuture<CallToolResult> {
    /// A sync tool run on the blocking thread pool, for tools marked `blocking`.
    pub fn blocking(f: impl FnOnce() -> CallToolResult + Send + 'static) -> Self {
        HandlerFuture::pending(async move {
            match tokio::task::spawn_blocking(f).await {
                Ok(r) => r,
                // A panic goes on up, to be reported like any tool's.
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => CallToolResult::error(format!("the tool was stopped: {e}")),
            }
        })
    }
}

impl<T> Unpin for HandlerFuture<T> {}

impl<T> Future for HandlerFuture<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<T> {
        match self.get_mut() {
            HandlerFuture::Ready(r) => {
                Poll::Ready(r.take().expect("HandlerFuture polled after completion"))
            }
            HandlerFuture::Pending(f) => f.as_mut().poll(cx),
        }
    }
}

/// An error a tool returns: becomes a result with `isError: true` and this message.
///
/// Any `std::error::Error` converts into it with `?`; `ToolError::new` takes any message.
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// An error with this message.
    pub fn new(message: impl Display) -> Self {
        ToolError {
            message: message.to_string(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for ToolError {
    fn from(e: E) -> Self {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            let _ = write!(message, ": {s}");
            source = s.source();
        }
        ToolError { message }
    }
}

impl Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ToolError({:?})", self.message)
    }
}

/// Return values that are content rather than data: text, media, resources, whole results.
///
/// Types implementing `Serialize + JsonSchema` need not implement this: they become structured
/// output on their own.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a tool",
    note = "return a type that implements `serde::Serialize` and `schemars::JsonSchema` (structured output), content (`String`, `Image`, `Audio`, `Content`, `Vec<Content>`, `CallToolResult`), or a `Result` of those"
)]
pub trait IntoToolResult {
    /// Converts the value.
    fn into_tool_result(self) -> CallToolResult;
}

impl IntoToolResult for CallToolResult {
    fn into_tool_result(self) -> CallToolResult {
        self
    }
}

impl IntoToolResult for Content {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::content(vec![self])
    }
}

impl IntoToolResult for Vec<Content> {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::content(self)
    }
}

impl IntoToolResult for () {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::content(Vec::new())
    }
}

impl<T: IntoToolResult, E: Display> IntoToolResult for Result<T, E> {
    fn into_tool_result(self) -> CallToolResult {
        match self {
            Ok(v) => v.into_tool_result(),
            Err(e) => CallToolResult::error(format!("{e:#}")),
        }
    }
}

/// Marker on which return-value methods are resolved; see the module docs.
pub struct Ret<T>(PhantomData<fn() -> T>);

impl<T> Ret<T> {
    /// The marker.
    pub const fn new() -> Self {
        Ret(PhantomData)
    }
}

impl<T> Default for Ret<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Content returns (tried first).
pub trait ContentReturn<T> {
    /// No output schema.
    fn output_schema(&self) -> Option<OutputSchema>;
    /// Converts the value.
    fn make_result(&self, value: T, mode: OutputMode) -> CallToolResult;
}

impl<T: IntoToolResult> ContentReturn<T> for &&&Ret<T> {
    fn output_schema(&self) -> Option<OutputSchema> {
        None
    }
    fn make_result(&self, value: T, _: OutputMode) -> CallToolResult {
        value.into_tool_result()
    }
}

/// `Result<T, E>` with structured `T`.
pub trait StructuredResultReturn<T> {
    /// The output schema of `T`.
    fn output_schema(&self) -> Option<OutputSchema>;
    /// Converts the value.
    fn make_result(&self, value: T, mode: OutputMode) -> CallToolResult;
}

impl<T: Serialize + JsonSchema, E: Display> StructuredResultReturn<Result<T, E>>
    for &&Ret<Result<T, E>>
{
    fn output_schema(&self) -> Option<OutputSchema> {
        Some(OutputSchema::of::<T>())
    }
    fn make_result(&self, value: Result<T, E>, mode: OutputMode) -> CallToolResult {
        match value {
            Ok(v) => structured_result::<T>(&v, mode),
            Err(e) => CallToolResult::error(format!("{e:#}")),
        }
    }
}

/// A type whose values become structured output: it serializes and has a JSON Schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a tool",
    label = "neither content nor structured output",
    note = "structured output implements `serde::Serialize` and `schemars::JsonSchema`: add `#[derive(Serialize, JsonSchema)]`",
    note = "content is `String`, `Image`, `Audio`, `Content`, `Vec<Content>`, `CallToolResult` or `()`; errors come as `Result<T, E>` with `E: Display`"
)]
pub trait ToolOutput: Serialize + JsonSchema {}

impl<T: Serialize + JsonSchema> ToolOutput for T {}

/// Structured returns: any `Serialize + JsonSchema` type.
pub trait StructuredReturn<T> {
    /// The output schema of `T`.
    fn output_schema(&self) -> Option<OutputSchema>;
    /// Converts the value.
    fn make_result(&self, value: T, mode: OutputMode) -> CallToolResult;
}

impl<T: ToolOutput> StructuredReturn<T> for &Ret<T> {
    fn output_schema(&self) -> Option<OutputSchema> {
        Some(OutputSchema::of::<T>())
    }
    fn make_result(&self, value: T, mode: OutputMode) -> CallToolResult {
        structured_result::<T>(&value, mode)
    }
}

/// What a tool may return, for the error on a type that is neither content nor structured
/// output. Nothing implements it: requiring it is that error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a tool",
    label = "neither content nor structured output",
    note = "structured output implements `serde::Serialize` and `schemars::JsonSchema`: add `#[derive(serde::Serialize, schemars::JsonSchema)]`",
    note = "content is `String`, `Image`, `Audio`, `Content`, `Vec<Content>`, `CallToolResult` or `()`; errors come as `Result<T, E>` with `E: Display`"
)]
pub trait ToolReturn {}

/// The last resort for a return type: `make_result` reports the type (once); neither method
/// runs, because the crate does not compile.
pub trait InvalidReturn<T> {
    /// Unreachable: the crate does not compile.
    fn output_schema(&self) -> Option<OutputSchema> {
        None
    }
    /// The error, at the return type.
    fn make_result(&self, _: T, _: OutputMode) -> CallToolResult
    where
        T: ToolReturn,
    {
        CallToolResult::default()
    }
}

impl<T> InvalidReturn<T> for Ret<T> {}

fn structured_result<T: Serialize>(value: &T, mode: OutputMode) -> CallToolResult {
    let json = match serde_json::to_value(value) {
        Ok(v) => v,
        Err(e) => {
            return CallToolResult::error(format!(
                "the tool's result could not be serialized: {e}"
            ));
        }
    };
    let text = match &json {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let structured_content = match mode {
        OutputMode::Text => None,
        OutputMode::Structured => Some(json),
        OutputMode::Wrapped => {
            let mut m = serde_json::Map::with_capacity(1);
            m.insert("result".into(), json);
            Some(Value::Object(m))
        }
    };
    CallToolResult {
        content: vec![Content::text(text)],
        structured_content,
        ..Default::default()
    }
}

/// How a tool's return value becomes a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// Content only.
    Text,
    /// `structuredContent` is the value itself (an object).
    Structured,
    /// `structuredContent` is `{"result": value}`.
    Wrapped,
}

/// An output schema, and whether values are wrapped in `{"result": …}` to match it.
#[derive(Debug, Clone)]
pub struct OutputSchema {
    /// The schema.
    pub schema: JsonObject,
    /// Whether values are wrapped.
    pub wrapped: bool,
}

impl OutputSchema {
    /// The output schema of a `Serialize + JsonSchema` type.
    pub fn of<T: JsonSchema>() -> OutputSchema {
        let (schema, wrapped) = schema::output_schema::<T>();
        OutputSchema { schema, wrapped }
    }
}

/// An image to return from a tool.
#[derive(Clone, Debug)]
pub struct Image {
    bytes: Vec<u8>,
    mime_type: String,
}

impl Image {
    /// An image with this MIME type.
    pub fn new(bytes: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Image {
            bytes: bytes.into(),
            mime_type: mime_type.into(),
        }
    }

    /// A PNG image.
    pub fn png(bytes: impl Into<Vec<u8>>) -> Self {
        Self::new(bytes, "image/png")
    }

    /// A JPEG image.
    pub fn jpeg(bytes: impl Into<Vec<u8>>) -> Self {
        Self::new(bytes, "image/jpeg")
    }
}

impl From<Image> for Content {
    fn from(i: Image) -> Content {
        Content::image(&i.bytes, i.mime_type)
    }
}

impl IntoToolResult for Image {
    fn into_tool_result(self) -> CallToolResult {
        Content::from(self).into_tool_result()
    }
}

/// Audio to return from a tool.
#[derive(Clone, Debug)]
pub struct Audio {
    bytes: Vec<u8>,
    mime_type: String,
}

impl Audio {
    /// Audio with this MIME type.
    pub fn new(bytes: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Audio {
            bytes: bytes.into(),
            mime_type: mime_type.into(),
        }
    }

    /// WAV audio.
    pub fn wav(bytes: impl Into<Vec<u8>>) -> Self {
        Self::new(bytes, "audio/wav")
    }
}

impl From<Audio> for Content {
    fn from(a: Audio) -> Content {
        Content::audio(&a.bytes, a.mime_type)
    }
}

impl IntoToolResult for Audio {
    fn into_tool_result(self) -> CallToolResult {
        Content::from(self).into_tool_result()
    }
}

/// A type a string-literal default (`#[arg(default = "…")]`) can become.
#[diagnostic::on_unimplemented(
    message = "a string default cannot become a `{Self}`",
    label = "this default is a string",
    note = "string defaults suit types built from `&str`, such as `String`; write numbers and booleans without quotes: `default = 2`"
)]
pub trait FromStrDefault {
    /// Builds the default.
    fn from_str_default(s: &'static str) -> Self;
}

impl<T: From<&'static str>> FromStrDefault for T {
    fn from_str_default(s: &'static str) -> Self {
        T::from(s)
    }
}

/// Builds a string-literal default.
pub fn default_from_str<T: FromStrDefault>(s: &'static str) -> T {
    T::from_str_default(s)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::located;

    fn problem<T: serde::de::DeserializeOwned>(name: &str, value: serde_json::Value) -> String {
        let first = serde_json::from_value::<T>(value.clone())
            .err()
            .expect("a bad value");
        located::<T>(name, &value, first)
    }

    #[test]
    fn the_path_names_indices_and_fields_and_quotes_client_keys_escaped() {
        let t = problem::<Vec<BTreeMap<String, i64>>>("rows", json!([{"a": 1}, {"b": "two"}]));
        assert_eq!(t, "`rows[1].b`: invalid type: string \"two\", expected i64");
        let key = format!("forged\nline{}", "x".repeat(500));
        let t = problem::<BTreeMap<String, i64>>("tags", json!({ key: "x" }));
        assert!(t.starts_with("`tags.forged\\nline"), "{t}");
        assert!(!t.contains('\n'), "{t}");
        assert!(t.len() < 400, "the key is cut short: {} bytes", t.len());
    }
}
