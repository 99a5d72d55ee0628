//! Getting prompts: unpacking `prompts/get` into the function's parameters, and what a
//! prompt function may return.

use std::fmt::{Display, Write as _};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::protocol::{Content, ErrorObject, JsonObject, Role};
use crate::server::context::Context;
use crate::server::handlers::call::{ArgSpec, Extraction, LazyContext, Param, RequestParts};
use crate::server::handlers::prompt_error::{PromptError, PromptErrorKind};
use crate::server::handlers::text::Text;
use crate::server::registration::prompt::PromptFuture;
use crate::server::registration::{PromptArgument, PromptEntry};

/// A `prompts/get` being unpacked into the function's parameters.
pub struct PromptGet<'a> {
    pub(crate) prompt: &'a PromptEntry,
    arguments: JsonObject,
    context: LazyContext,
    problems: Vec<String>,
    /// Extractors that failed: the server's fault, not the arguments'.
    faults: Vec<String>,
}

impl<'a> PromptGet<'a> {
    pub(crate) fn new(
        prompt: &'a PromptEntry,
        arguments: JsonObject,
        request: RequestParts,
    ) -> Self {
        PromptGet {
            prompt,
            arguments,
            context: LazyContext::new(request),
            problems: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// Called once every parameter was built: `Some` ends the request with an error naming
    /// every argument that was missing or wrong.
    pub fn finish(&mut self) -> Option<PromptFuture> {
        if !self.faults.is_empty() {
            let text = format!(
                "prompt `{}` could not run: {}",
                self.prompt.def.name,
                self.faults.join("; ")
            );
            tracing::error!(prompt = self.prompt.def.name, "{text}");
            return Some(PromptFuture::ready(Err(ErrorObject::internal(text))));
        }
        let unknown: Vec<String> = self
            .arguments
            .keys()
            .filter(|k| self.prompt.argument(k).is_none())
            .map(|k| format!("unknown argument `{k}`"))
            .collect();
        self.problems.extend(unknown);
        if self.problems.is_empty() {
            return None;
        }
        let mut text = format!("Invalid arguments for prompt `{}`:", self.prompt.def.name);
        for p in &self.problems {
            let _ = write!(text, " {p};");
        }
        text.pop();
        Some(PromptFuture::ready(Err(ErrorObject::invalid_params(text))))
    }

    /// The error when a parameter could not be built (already recorded).
    pub fn invalid(&mut self) -> PromptFuture {
        self.finish().unwrap_or_else(|| {
            PromptFuture::ready(Err(ErrorObject::invalid_params(format!(
                "Invalid arguments for prompt `{}`",
                self.prompt.def.name
            ))))
        })
    }

    /// What a result is completed with: the prompt's name and description.
    pub fn target(&self) -> PromptTarget {
        PromptTarget {
            name: self.prompt.def.name,
            description: self.prompt.def.description,
        }
    }
}

/// The prompt a result belongs to.
#[derive(Clone, Copy, Debug)]
pub struct PromptTarget {
    name: &'static str,
    description: Option<&'static str>,
}

impl PromptTarget {
    /// Converts what the prompt function returned; an error names the prompt.
    pub fn convert<R: IntoPromptResult>(self, value: R) -> Result<GetPromptResult, ErrorObject> {
        let mut result = value.into_prompt_result().map_err(|e| match e.kind {
            PromptErrorKind::Internal => {
                ErrorObject::internal(format!("prompt `{}` failed: {}", self.name, e.message))
            }
            PromptErrorKind::Invalid | PromptErrorKind::NotFound => {
                ErrorObject::invalid_params(e.message)
            }
        })?;
        if result.description.is_none() {
            result.description = self.description.map(str::to_owned);
        }
        Ok(result)
    }
}

impl Extraction for PromptGet<'_> {
    fn context(&mut self) -> &Context {
        self.context.get()
    }

    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    fn fault(&mut self, message: String) {
        self.faults.push(message);
    }
}

/// A type a prompt argument can be: it deserializes from the argument's text.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a prompt parameter",
    label = "neither a prompt argument nor an extractor",
    note = "prompt arguments arrive as text; their type implements `serde::Deserialize` (`String`, numbers, `bool`, enums, `Option<T>` for optional arguments)",
    note = "an extractor (a value built from the request) implements `mcp_runtime::FromContext`"
)]
pub trait PromptArgumentType: serde::de::DeserializeOwned {}

impl<T: serde::de::DeserializeOwned> PromptArgumentType for T {}

/// Parameter handling for prompt arguments: read from the text the client sent.
pub trait PromptArgumentParam<T> {
    /// Lists the argument.
    fn describe(&self, arguments: &mut Vec<PromptArgument>, spec: &'static ArgSpec);
    /// Reads the argument, recording a problem when it is missing or invalid.
    fn extract(
        &self,
        get: &mut PromptGet<'_>,
        spec: &ArgSpec,
        default: Option<fn() -> T>,
    ) -> Option<T>;
    /// Arguments need no state.
    fn state_need(&self) -> Option<crate::server::handlers::state::StateNeed> {
        None
    }
}

impl<T: PromptArgumentType> PromptArgumentParam<T> for &Param<T> {
    fn describe(&self, arguments: &mut Vec<PromptArgument>, spec: &'static ArgSpec) {
        arguments.push(PromptArgument {
            spec,
            required: !spec.has_default && !Text::accepts_absent::<T>(),
        });
    }

    fn extract(
        &self,
        get: &mut PromptGet<'_>,
        spec: &ArgSpec,
        default: Option<fn() -> T>,
    ) -> Option<T> {
        let parsed = match get.arguments.get(spec.name) {
            Some(Value::String(s)) => Text::One(s).parse::<T>(),
            Some(Value::Null) | None => {
                if let Some(d) = default {
                    return Some(d());
                }
                match Text::Absent.parse::<T>() {
                    Ok(v) => return Some(v),
                    Err(_) => Err("missing required argument".to_string()),
                }
            }
            Some(other) => {
                let text = other.to_string();
                Text::One(&text).parse::<T>()
            }
        };
        match parsed {
            Ok(v) => Some(v),
            Err(e) if e == "missing required argument" => {
                get.problems
                    .push(format!("missing required argument `{}`", spec.name));
                None
            }
            Err(e) => {
                get.problems.push(format!("argument `{}`: {e}", spec.name));
                None
            }
        }
    }
}

/// What a prompt parameter is, for the error on one that is neither an argument nor an
/// extractor. Nothing implements it: requiring it is that error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a prompt parameter",
    label = "neither a prompt argument nor an extractor",
    note = "prompt arguments arrive as text; their type implements `serde::Deserialize` (`String`, numbers, `bool`, enums, `Option<T>` for optional arguments): add `#[derive(serde::Deserialize)]`",
    note = "an extractor (a value built from the request) implements `mcp_runtime::FromContext`"
)]
pub trait PromptParameter {}

/// The last resort for a prompt parameter: `describe` reports the type (once), `extract` is
/// never run because the crate does not compile.
pub trait InvalidPromptParam<T> {
    /// The error, at the parameter's type.
    fn describe<D>(&self, _: &mut D, _: &'static ArgSpec)
    where
        T: PromptParameter,
    {
    }
    /// Unreachable: the crate does not compile.
    fn extract<C>(&self, _: &mut C, _: &ArgSpec, _: Option<fn() -> T>) -> Option<T> {
        None
    }
    /// Unreachable: the crate does not compile.
    fn state_need(&self) -> Option<crate::server::handlers::state::StateNeed> {
        None
    }
}

impl<T> InvalidPromptParam<T> for Param<T> {}

/// One message of a rendered prompt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptMessage {
    /// Who says it.
    pub role: Role,
    /// What is said: text, an image, audio, a resource link or an embedded resource.
    pub content: Content,
}

impl PromptMessage {
    /// A message from the user.
    pub fn user(content: impl Into<Content>) -> PromptMessage {
        PromptMessage {
            role: Role::User,
            content: content.into(),
        }
    }

    /// A message from the assistant.
    pub fn assistant(content: impl Into<Content>) -> PromptMessage {
        PromptMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A rendered prompt: messages, and optionally a description.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GetPromptResult {
    /// A description of this rendering; the prompt's own description when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The messages.
    pub messages: Vec<PromptMessage>,
}

impl GetPromptResult {
    /// A result with these messages.
    pub fn new(messages: Vec<PromptMessage>) -> GetPromptResult {
        GetPromptResult {
            description: None,
            messages,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> GetPromptResult {
        self.description = Some(description.into());
        self
    }
}

/// What a prompt function may return.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a prompt",
    note = "return `String` (one user message), `PromptMessage`, `Vec<PromptMessage>`, `GetPromptResult` (messages and a description), or a `Result` of those whose error implements `Display` (`PromptError` to choose the request's error)"
)]
pub trait IntoPromptResult {
    /// Converts the value; an error becomes the request's error.
    fn into_prompt_result(self) -> Result<GetPromptResult, PromptError>;
}

impl IntoPromptResult for String {
    fn into_prompt_result(self) -> Result<GetPromptResult, PromptError> {
        Ok(GetPromptResult::new(vec![PromptMessage::user(self)]))
    }
}

impl IntoPromptResult for &'static str {
    fn into_prompt_result(self) -> Result<GetPromptResult, PromptError> {
        self.to_string().into_prompt_result()
    }
}

impl IntoPromptResult for PromptMessage {
    fn into_prompt_result(self) -> Result<GetPromptResult, PromptError> {
        Ok(GetPromptResult::new(vec![self]))
    }
}

impl IntoPromptResult for Vec<PromptMessage> {
    fn into_prompt_result(self) -> Result<GetPromptResult, PromptError> {
        Ok(GetPromptResult::new(self))
    }
}

impl IntoPromptResult for GetPromptResult {
    fn into_prompt_result(self) -> Result<GetPromptResult, PromptError> {
        Ok(self)
    }
}

impl<T: IntoPromptResult, E: Display + 'static> IntoPromptResult for Result<T, E> {
    fn into_prompt_result(self) -> Result<GetPromptResult, PromptError> {
        match self {
            Ok(v) => v.into_prompt_result(),
            Err(e) => Err(
                match (&e as &dyn std::any::Any).downcast_ref::<PromptError>() {
                    Some(p) => p.clone(),
                    None => PromptError::new(format!("{e:#}")),
                },
            ),
        }
    }
}

impl From<String> for Content {
    fn from(text: String) -> Content {
        Content::text(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Content {
        Content::text(text)
    }
}
