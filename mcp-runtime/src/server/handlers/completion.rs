//! `completion/complete`: suggestions for prompt arguments and resource-template variables.
//!
//! A parameter marked `#[arg(complete = path::to::function)]` gets its suggestions from a
//! function that takes the partial value and a [`CompletionContext`] holding the other
//! arguments already given. It returns a `Vec` of strings, a [`Completion`], a `Result` of
//! either, or a future of one (an `async fn`). The context also reaches the server's state
//! (`ctx.state::<T>()`, as a `State<T>` parameter would) and the request's [`Context`]
//! (`ctx.request()`):
//!
//! ```rust,standalone_crate
//! use mcp_runtime::prelude::*;
//! use mcp_runtime::CompletionContext;
//!
//! fn languages(partial: &str, _: &CompletionContext) -> Vec<&'static str> {
//!     ["rust", "python", "typescript"]
//!         .into_iter()
//!         .filter(|l| l.starts_with(partial))
//!         .collect()
//! }
//!
//! /// Review code.
//! #[prompt]
//! fn review(code: String, #[arg(complete = languages)] language: String) -> String {
//!     format!("Review this {language} code:\n{code}")
//! }
//! ```

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::server::context::Context;
use crate::server::handlers::call::FromContext;
use crate::server::handlers::state::State;

/// The most values one completion result carries.
pub(crate) const MAX_COMPLETION_VALUES: usize = 100;

/// Suggested values for an argument.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    /// The values, best first; at most 100 are sent.
    pub values: Vec<String>,
    /// How many values there are in all, when more exist than were sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
    /// Whether there are more values than were sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub has_more: bool,
}

impl Completion {
    /// These values; beyond 100 they are cut, and `total`/`hasMore` say so.
    pub fn new<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Completion {
        Completion {
            values: values.into_iter().map(Into::into).collect(),
            total: None,
            has_more: false,
        }
        .limited()
    }

    /// Cuts the values to 100, recording how many there were.
    pub(crate) fn limited(mut self) -> Completion {
        if self.values.len() > MAX_COMPLETION_VALUES {
            self.total.get_or_insert(self.values.len());
            self.values.truncate(MAX_COMPLETION_VALUES);
            self.has_more = true;
        }
        self
    }
}

/// What a completion function learns about the request, and where it reaches the server's
/// state ([`CompletionContext::state`]) and the request's [`Context`]
/// ([`CompletionContext::request`]).
#[derive(Clone, Debug, Default)]
pub struct CompletionContext {
    pub(crate) argument: String,
    pub(crate) arguments: HashMap<String, String>,
    // --- state and request context (first-day checks)
    pub(crate) request: Option<Context>,
}

impl CompletionContext {
    /// The name of the argument being completed.
    pub fn argument(&self) -> &str {
        &self.argument
    }

    /// The other arguments the user already gave (the request's `context.arguments`).
    pub fn arguments(&self) -> &HashMap<String, String> {
        &self.arguments
    }

    /// One of the other arguments already given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.arguments.get(name).map(String::as_str)
    }

    /// The server's state of type `T` (given with [`Server::state`](crate::Server::state)
    /// or a lifespan), as a handler's [`State<T>`] parameter has it; `None` when the server
    /// has none, or for a context made by hand.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        self.request
            .as_ref()
            .and_then(|c| State::from_context(c).ok())
    }

    /// The `completion/complete` request's [`Context`]: its session, client, log and the
    /// server's handle, as a handler's `Context` parameter has them; `None` for a context
    /// made by hand.
    pub fn request(&self) -> Option<&Context> {
        self.request.as_ref()
    }
}

/// One `completion/complete` request, as a completion function's wrapper receives it.
#[derive(Debug)]
pub struct CompletionRequest {
    pub(crate) value: String,
    pub(crate) context: CompletionContext,
}

impl CompletionRequest {
    /// The partial value typed so far.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The rest of the request.
    pub fn context(&self) -> &CompletionContext {
        &self.context
    }
}

/// The future of a completion.
pub type CompletionFuture = Pin<Box<dyn Future<Output = Result<Completion, String>> + Send>>;

/// A completion function, wrapped by the macros.
pub type Completer = fn(CompletionRequest) -> CompletionFuture;

/// What a completion function may return.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a completion function",
    note = "return `Vec<String>`, `Vec<&str>`, `Completion`, a `Result` of those with an error that implements `Display`, or a future of one (an `async fn`)"
)]
pub trait IntoCompletion {
    /// Converts the value; an error becomes the request's error.
    fn into_completion(self) -> Result<Completion, String>;
}

impl IntoCompletion for Completion {
    fn into_completion(self) -> Result<Completion, String> {
        Ok(self.limited())
    }
}

impl<S: Into<String>> IntoCompletion for Vec<S> {
    fn into_completion(self) -> Result<Completion, String> {
        Ok(Completion::new(self))
    }
}

impl<T: IntoCompletion, E: Display> IntoCompletion for Result<T, E> {
    fn into_completion(self) -> Result<Completion, String> {
        self.map_err(|e| e.to_string())?.into_completion()
    }
}

/// Marker on which a completion function's return value is resolved.
pub struct CompletionKind<R>(PhantomData<fn() -> R>);

/// The marker for the type of `value`.
pub fn completion_kind<R>(_: &R) -> CompletionKind<R> {
    CompletionKind(PhantomData)
}

/// Plain returns (tried first).
pub trait ReadyCompletion<R> {
    /// Resolves the value.
    fn resolve(&self, value: R) -> impl Future<Output = Result<Completion, String>> + Send;
}

impl<R: IntoCompletion> ReadyCompletion<R> for &CompletionKind<R> {
    fn resolve(&self, value: R) -> impl Future<Output = Result<Completion, String>> + Send {
        std::future::ready(value.into_completion())
    }
}

/// A future of a completion: what an `async fn` completion function returns.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a completion function",
    note = "return `Vec<String>`, `Vec<&str>`, `Completion`, a `Result` of those with an error that implements `Display`, or a future of one (an `async fn`)"
)]
pub trait CompletionOutput: Future<Output: IntoCompletion> + Send {}

impl<F: Future<Output: IntoCompletion> + Send> CompletionOutput for F {}

/// Future returns.
pub trait PendingCompletion<F> {
    /// Resolves the value.
    fn resolve(&self, value: F) -> impl Future<Output = Result<Completion, String>> + Send
    where
        F: CompletionOutput;
}

impl<F> PendingCompletion<F> for CompletionKind<F> {
    // Written out to match the trait's `+ Send` signature.
    #[allow(clippy::manual_async_fn)]
    fn resolve(&self, value: F) -> impl Future<Output = Result<Completion, String>> + Send
    where
        F: CompletionOutput,
    {
        async move { value.await.into_completion() }
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the `&&` is the dispatch under test
mod tests {
    use super::*;

    #[test]
    fn more_than_a_hundred_values_are_cut_and_counted() {
        let c = Completion::new((0..250).map(|i| i.to_string()));
        assert_eq!(c.values.len(), 100);
        assert_eq!(c.total, Some(250));
        assert!(c.has_more);
        let json = serde_json::to_value(Completion::new(["a"])).unwrap();
        assert_eq!(json, serde_json::json!({"values": ["a"]}));
    }

    #[tokio::test]
    async fn sync_and_async_returns_resolve() {
        let v = vec!["x"];
        let c = (&&completion_kind(&v)).resolve(v).await.unwrap();
        assert_eq!(c.values, ["x"]);
        let f = async { Ok::<_, String>(vec!["y".to_string()]) };
        let c = (&&completion_kind(&f)).resolve(f).await.unwrap();
        assert_eq!(c.values, ["y"]);
        let e: Result<Vec<String>, &str> = Err("no");
        assert_eq!((&&completion_kind(&e)).resolve(e).await.unwrap_err(), "no");
    }
}
