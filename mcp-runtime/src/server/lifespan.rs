//! The lifespan hook: async setup before the server serves, teardown after it stops.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::handlers::state::StateMap;
use crate::{BoxError, Error};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The setup a server runs before it serves, given to [`Server::lifespan`](crate::Server::lifespan).
pub(crate) type Setup = Arc<dyn Fn() -> BoxFuture<Result<Lifespan, BoxError>> + Send + Sync>;

/// What a lifespan's setup produced: state for the handlers, and what to do at shutdown.
///
/// ```rust,standalone_crate
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::{Lifespan, State};
///
/// struct Pool { url: String }
///
/// impl Pool {
///     async fn connect(url: &str) -> anyhow::Result<Pool> { Ok(Pool { url: url.into() }) }
///     async fn close(&self) {}
/// }
///
/// /// Which database this server uses.
/// #[tool]
/// fn database(pool: State<Pool>) -> String {
///     pool.url.clone()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> anyhow::Result<()> {
/// let server = Server::new("db").lifespan(|| async {
///     let pool = std::sync::Arc::new(Pool::connect("postgres://localhost/app").await?);
///     let closing = pool.clone();
///     Ok(Lifespan::new()
///         .state_arc(pool)
///         .on_shutdown(async move { closing.close().await }))
/// });
/// let client = Client::connect(server).await?;
/// let result = client.call_tool("database", serde_json::json!({})).await?;
/// assert_eq!(result.structured_content, Some(serde_json::json!({"result": "postgres://localhost/app"})));
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
#[must_use]
pub struct Lifespan {
    pub(crate) state: StateMap,
    pub(crate) shutdown: Vec<BoxFuture<()>>,
}

impl Lifespan {
    /// Nothing yet.
    pub fn new() -> Lifespan {
        Lifespan::default()
    }

    /// Shares `value` with every handler that takes a [`State<T>`](crate::State), as
    /// [`Server::state`](crate::Server::state) does.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Lifespan {
        self.state.insert(value);
        self
    }

    /// [`Lifespan::state`] for a value that setup keeps a handle on too (for its
    /// shutdown, say).
    pub fn state_arc<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Lifespan {
        self.state.insert_arc(value);
        self
    }

    /// Runs `teardown` once the server has stopped serving (the client went away, or
    /// SIGINT/SIGTERM) and the requests in flight have finished. Teardowns run in the
    /// reverse order of their lifespans.
    pub fn on_shutdown(mut self, teardown: impl Future<Output = ()> + Send + 'static) -> Lifespan {
        self.shutdown.push(Box::pin(teardown));
        self
    }
}

impl std::fmt::Debug for Lifespan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifespan")
            .field("shutdown_hooks", &self.shutdown.len())
            .finish_non_exhaustive()
    }
}

/// The teardowns of a started server, run by [`Teardown::run`].
#[must_use = "a server's teardown must be run when it stops"]
#[derive(Default)]
pub(crate) struct Teardown(Vec<BoxFuture<()>>);

impl Teardown {
    pub(crate) fn push(&mut self, mut hooks: Vec<BoxFuture<()>>) {
        self.0.append(&mut hooks);
    }

    /// Runs every teardown, last lifespan's first.
    pub(crate) async fn run(self) {
        for hook in self.0.into_iter().rev() {
            hook.await;
        }
    }
}

/// Runs each setup in order; their state joins `state`. A failing setup stops the start,
/// after the teardowns of those that succeeded have run.
pub(crate) async fn start(setups: &[Setup], state: &mut StateMap) -> Result<Teardown, Error> {
    let mut teardown = Teardown::default();
    for setup in setups {
        match setup().await {
            Ok(lifespan) => {
                state.extend(lifespan.state);
                teardown.push(lifespan.shutdown);
            }
            Err(e) => {
                teardown.run().await;
                return Err(Error::Lifespan(e));
            }
        }
    }
    Ok(teardown)
}
