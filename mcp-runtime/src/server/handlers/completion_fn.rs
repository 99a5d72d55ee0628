//! The shapes a completion function may have: the partial value first, then either the
//! [`CompletionContext`] by reference (the original form) or any number (up to three) of
//! extractors, as a handler takes them: [`State<T>`](crate::State), [`Context`], or the
//! [`CompletionContext`] by value. Sync or `async`.
//!
//! ```rust,standalone_crate
//! use mcp_runtime::prelude::*;
//!
//! #[derive(Default)]
//! struct Notes(Vec<String>);
//!
//! async fn note_names(partial: &str, notes: State<Notes>, ctx: Context) -> Vec<String> {
//!     ctx.debug(format!("completing {partial:?}"));
//!     notes.0.iter().filter(|n| n.starts_with(partial)).cloned().collect()
//! }
//!
//! /// One note.
//! #[prompt]
//! fn note(#[arg(complete = note_names)] name: String) -> String {
//!     format!("Summarize the note {name}")
//! }
//! ```

use std::future::Future;

use super::completion::{CompletionContext, CompletionFuture, CompletionRequest, IntoCompletion};
use crate::server::context::Context;
use crate::server::handlers::call::FromContext;
use crate::server::handlers::state::State;

/// A parameter of a completion function after the partial value: an extractor, or the
/// [`CompletionContext`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of a completion function",
    note = "after the partial value (`&str`), a completion function takes `&CompletionContext`, \
            or extractors: `State<T>`, `Context` or `CompletionContext`"
)]
pub trait CompletionArg: Sized + Send + 'static {
    /// Builds the parameter; an error fails the request (the server's fault).
    fn from_completion(ctx: &CompletionContext) -> Result<Self, String>;
}

/// The request's handler context, for an extractor.
fn request(ctx: &CompletionContext) -> Result<&Context, String> {
    ctx.request()
        .ok_or_else(|| "the completion has no request context".into())
}

impl<T: Send + Sync + 'static> CompletionArg for State<T> {
    fn from_completion(ctx: &CompletionContext) -> Result<Self, String> {
        State::from_context(request(ctx)?)
    }
}

impl CompletionArg for Context {
    fn from_completion(ctx: &CompletionContext) -> Result<Self, String> {
        request(ctx).cloned()
    }
}

impl CompletionArg for CompletionContext {
    fn from_completion(ctx: &CompletionContext) -> Result<Self, String> {
        Ok(ctx.clone())
    }
}

/// A function `#[arg(complete = …)]` can name; `M` tells the shapes apart.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a completion function",
    note = "a completion function takes the partial value (`&str`), then `&CompletionContext` \
            or up to three extractors (`State<T>`, `Context`, `CompletionContext`), and returns \
            `Vec<String>`, `Vec<&str>`, `Completion` or a `Result` of those, or is an `async fn` \
            returning one"
)]
pub trait CompletionFn<M>: Copy + Send + Sync + 'static {
    /// Runs the function on the request.
    fn complete(self, request: CompletionRequest) -> CompletionFuture;
}

/// Runs `f` on `request`: what the macros' completion wrappers call.
pub fn complete_with<M, F: CompletionFn<M>>(f: F, request: CompletionRequest) -> CompletionFuture {
    f.complete(request)
}

/// Markers of [`CompletionFn`]'s shapes.
#[doc(hidden)]
#[allow(unreachable_pub)] // named by the public impls of `CompletionFn`
pub mod shapes {
    /// `fn(&str, &CompletionContext) -> R`.
    pub struct ByRef;
    /// `async fn(&str, &CompletionContext) -> R`.
    pub struct ByRefAsync;
    /// `fn(&str, A…) -> R`.
    pub struct Sync;
    /// `async fn(&str, A…) -> R`.
    pub struct Async;
}

/// `async fn(&'a str, &'a CompletionContext)`: its future borrows both.
#[doc(hidden)]
pub trait AsyncByRef<'a>:
    Fn(&'a str, &'a CompletionContext) -> <Self as AsyncByRef<'a>>::Future
{
    type Future: Future<Output: IntoCompletion> + Send + 'a;
}

impl<'a, F, Fut> AsyncByRef<'a> for F
where
    F: Fn(&'a str, &'a CompletionContext) -> Fut,
    Fut: Future<Output: IntoCompletion> + Send + 'a,
{
    type Future = Fut;
}

impl<F, R> CompletionFn<shapes::ByRef> for F
where
    F: Fn(&str, &CompletionContext) -> R + Copy + Send + Sync + 'static,
    R: IntoCompletion,
{
    fn complete(self, request: CompletionRequest) -> CompletionFuture {
        let result = self(request.value(), request.context()).into_completion();
        Box::pin(std::future::ready(result))
    }
}

impl<F> CompletionFn<shapes::ByRefAsync> for F
where
    F: for<'a> AsyncByRef<'a> + Copy + Send + Sync + 'static,
{
    fn complete(self, request: CompletionRequest) -> CompletionFuture {
        Box::pin(async move {
            self(request.value(), request.context())
                .await
                .into_completion()
        })
    }
}

macro_rules! shapes {
    ($async_trait:ident; $($a:ident),*) => {
        /// An `async fn` of the partial value and these extractors: its future borrows the value.
        /// (The `CompletionArg` bounds here, not only on the `CompletionFn` impl, are what
        /// keep an `async fn(&str, &CompletionContext)` from being ambiguous with this shape.)
        #[doc(hidden)]
        pub trait $async_trait<'a, $($a: CompletionArg),*>:
            Fn(&'a str, $($a),*) -> <Self as $async_trait<'a, $($a),*>>::Future
        {
            type Future: Future<Output: IntoCompletion> + Send + 'a;
        }

        impl<'a, F, Fut, $($a: CompletionArg),*> $async_trait<'a, $($a),*> for F
        where
            F: Fn(&'a str, $($a),*) -> Fut,
            Fut: Future<Output: IntoCompletion> + Send + 'a,
        {
            type Future = Fut;
        }

        impl<F, R, $($a: CompletionArg),*> CompletionFn<(shapes::Sync, $($a,)*)> for F
        where
            F: Fn(&str, $($a),*) -> R + Copy + Send + Sync + 'static,
            R: IntoCompletion,
        {
            #[allow(non_snake_case)]
            fn complete(self, request: CompletionRequest) -> CompletionFuture {
                fn run<F, R, $($a: CompletionArg),*>(f: F, request: &CompletionRequest)
                    -> Result<crate::Completion, String>
                where
                    F: Fn(&str, $($a),*) -> R,
                    R: IntoCompletion,
                {
                    $(let $a = $a::from_completion(request.context())?;)*
                    f(request.value(), $($a),*).into_completion()
                }
                Box::pin(std::future::ready(run(self, &request)))
            }
        }

        impl<F, $($a: CompletionArg),*> CompletionFn<(shapes::Async, $($a,)*)> for F
        where
            F: for<'a> $async_trait<'a, $($a),*> + Copy + Send + Sync + 'static,
        {
            #[allow(non_snake_case)]
            fn complete(self, request: CompletionRequest) -> CompletionFuture {
                Box::pin(async move {
                    $(let $a = $a::from_completion(request.context())?;)*
                    self(request.value(), $($a),*).await.into_completion()
                })
            }
        }
    };
}

shapes!(Async0;);
shapes!(Async1; A1);
shapes!(Async2; A1, A2);
shapes!(Async3; A1, A2, A3);

#[cfg(test)]
mod tests {
    use super::*;

    fn by_ref(partial: &str, ctx: &CompletionContext) -> Vec<String> {
        vec![format!("{partial}:{}", ctx.argument())]
    }

    async fn by_ref_async(partial: &str, ctx: &CompletionContext) -> Vec<String> {
        vec![format!("{partial}:{}", ctx.argument())]
    }

    fn bare(partial: &str) -> Vec<&'static str> {
        if partial.is_empty() {
            vec!["a"]
        } else {
            vec![]
        }
    }

    fn by_value(partial: &str, ctx: CompletionContext) -> Vec<String> {
        vec![format!("{partial}:{}", ctx.argument())]
    }

    async fn with_state(_: &str, n: State<u8>) -> Vec<String> {
        vec![n.to_string()]
    }

    fn request(value: &str) -> CompletionRequest {
        CompletionRequest {
            value: value.into(),
            context: CompletionContext {
                argument: "arg".into(),
                ..CompletionContext::default()
            },
        }
    }

    #[tokio::test]
    async fn every_shape_is_called_with_the_value_and_its_context() {
        let values = |c: Result<crate::Completion, String>| c.unwrap().values;
        assert_eq!(values(complete_with(by_ref, request("x")).await), ["x:arg"]);
        assert_eq!(
            values(complete_with(by_ref_async, request("y")).await),
            ["y:arg"]
        );
        assert_eq!(values(complete_with(bare, request("")).await), ["a"]);
        assert_eq!(
            values(complete_with(by_value, request("z")).await),
            ["z:arg"]
        );
        // Without a request (a context made by hand) an extractor cannot be built: an error,
        // not a panic.
        let err = complete_with(with_state, request("")).await.unwrap_err();
        assert!(err.contains("no request context"), "{err}");
    }
}
