//! `Next`: the rest of a chain of hooks, ending at the handler; and running a chain in place.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use super::{BoxFuture, Middleware};

/// One hook of [`Middleware`], for any middleware.
pub(crate) type Hook<I, O> =
    for<'c> fn(&'c dyn Middleware, &'c mut I, Next<'c, I, O>) -> BoxFuture<'c, O>;

/// What the chain ends at: the handler, given what the hooks made of the input. It reads
/// what it needs of the input at once; the future it returns owns everything it uses.
pub(crate) type Endpoint<'a, I, O> = &'a (dyn Fn(&mut I) -> BoxFuture<'static, O> + Send + Sync);

/// The rest of the chain after the running hook: the later middleware, then the handler.
///
/// [`Next::run`] consumes it: each hook passes the call on at most once.
pub struct Next<'a, I, O> {
    rest: &'a [Arc<dyn Middleware>],
    hook: Hook<I, O>,
    endpoint: Endpoint<'a, I, O>,
}

impl<'a, I, O> Next<'a, I, O> {
    pub(crate) fn new(
        chain: &'a [Arc<dyn Middleware>],
        hook: Hook<I, O>,
        endpoint: Endpoint<'a, I, O>,
    ) -> Self {
        Next {
            rest: chain,
            hook,
            endpoint,
        }
    }

    /// Runs the rest of the chain and the handler on `input`; `input` is the caller's again
    /// once the future is done.
    pub fn run<'b>(self, input: &'b mut I) -> BoxFuture<'b, O>
    where
        'a: 'b,
    {
        match self.rest.split_first() {
            Some((first, rest)) => (self.hook)(
                &**first,
                input,
                Next {
                    rest,
                    hook: self.hook,
                    endpoint: self.endpoint,
                },
            ),
            None => (self.endpoint)(input),
        }
    }
}

impl<I, O> std::fmt::Debug for Next<'_, I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("middleware_left", &self.rest.len())
            .finish_non_exhaustive()
    }
}

/// A chain's future polled once in place.
pub(crate) enum Polled<T> {
    /// Done without waiting.
    Ready(T),
    /// Waiting: run it on the runtime.
    Pending(Pin<Box<dyn Future<Output = T> + Send>>),
    /// A hook panicked; its message.
    Panicked(String),
}

/// Polls `fut` once, so that a chain no hook makes wait is answered without a task switch.
/// The future is polled again with a real waker by whoever runs it next, which is what the
/// futures it awaits register.
pub(crate) fn poll_once<T>(mut fut: Pin<Box<dyn Future<Output = T> + Send>>) -> Polled<T> {
    let mut cx = TaskContext::from_waker(Waker::noop());
    match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))) {
        Ok(Poll::Ready(v)) => Polled::Ready(v),
        Ok(Poll::Pending) => Polled::Pending(fut),
        Err(panic) => Polled::Panicked(crate::server::dispatch::session::panic_message(&panic)),
    }
}
