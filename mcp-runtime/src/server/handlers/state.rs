//! `State<T>`: application state shared by every request, injected by type.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use crate::server::context::Context;
use crate::server::handlers::call::FromContext;

/// Values given to [`Server::state`](crate::Server::state), by type.
#[derive(Clone, Default)]
pub(crate) struct StateMap(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl StateMap {
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(value));
    }

    pub(crate) fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.0.insert(TypeId::of::<T>(), value);
    }

    /// Adds `other`'s values, replacing those of the same type.
    pub(crate) fn extend(&mut self, other: StateMap) {
        self.0.extend(other.0);
    }

    pub(crate) fn contains(&self, need: &StateNeed) -> bool {
        self.0.contains_key(&(need.type_id)())
    }

    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let any = Arc::clone(self.0.get(&TypeId::of::<T>())?);
        any.downcast::<T>().ok()
    }
}

/// Shared application state of type `T`, given to the server with
/// [`Server::state`](crate::Server::state) and taken by any handler as a parameter.
///
/// ```rust,standalone_crate
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::State;
///
/// #[derive(Default)]
/// struct Counter(AtomicU64);
///
/// /// Count the calls.
/// #[tool]
/// fn hit(counter: State<Counter>) -> u64 {
///     counter.0.fetch_add(1, Ordering::Relaxed) + 1
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> anyhow::Result<()> {
/// let client = Client::connect(Server::new("counter").state(Counter::default())).await?;
/// client.call_tool("hit", serde_json::json!({})).await?;
/// let second = client.call_tool("hit", serde_json::json!({})).await?;
/// assert_eq!(second.structured_content, Some(serde_json::json!({"result": 2})));
/// # Ok(())
/// # }
/// ```
///
/// A server whose handlers take a `State<T>` it was not given (by [`Server::state`](crate::Server::state)
/// or a lifespan) refuses to start, with [`Error::MissingState`](crate::Error::MissingState)
/// naming the handler and the type.
pub struct State<T: ?Sized>(Arc<T>);

impl<T> State<T> {
    /// The shared value.
    pub fn arc(&self) -> &Arc<T> {
        &self.0
    }
}

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Send + Sync + 'static> FromContext for State<T> {
    fn state_need() -> Option<StateNeed> {
        Some(StateNeed::of::<T>())
    }

    fn from_context(ctx: &Context) -> Result<Self, String> {
        ctx.state::<T>().map(State).ok_or_else(|| {
            format!(
                "the server has no state of type `{}`; give it one with `Server::state(…)`",
                std::any::type_name::<T>()
            )
        })
    }
}

/// A type of [`State<T>`] a handler takes, so that a server missing it refuses to start.
///
/// The `#[tool]`, `#[resource]` and `#[prompt]` macros list these in the item's descriptor
/// (`states`); an extractor of your own that reads state reports it through
/// [`FromContext::state_need`].
#[derive(Clone, Copy, Debug)]
pub struct StateNeed {
    type_id: fn() -> TypeId,
    type_name: fn() -> &'static str,
}

impl StateNeed {
    /// The need of a `State<T>`.
    pub fn of<T: Send + Sync + 'static>() -> StateNeed {
        StateNeed {
            type_id: TypeId::of::<T>,
            type_name: std::any::type_name::<T>,
        }
    }

    /// The type's name, as `std::any::type_name` gives it.
    pub fn type_name(&self) -> &'static str {
        (self.type_name)()
    }
}

/// What an item that takes state is, for the message: `tool `name` (file:line)`.
pub(crate) struct Needer<'a> {
    pub(crate) kind: &'static str,
    pub(crate) name: &'a str,
    pub(crate) location: (&'static str, u32),
    pub(crate) states: fn() -> Vec<StateNeed>,
}

/// The message naming every item whose state is missing from `map`, if any is.
pub(crate) fn missing<'a>(
    map: &StateMap,
    items: impl IntoIterator<Item = Needer<'a>>,
) -> Option<String> {
    let mut lines = Vec::new();
    for item in items {
        for need in (item.states)() {
            if !map.contains(&need) {
                lines.push(format!(
                    "{} `{}` ({}:{}) takes `State<{}>`, but the server has no state of that type",
                    item.kind,
                    item.name,
                    item.location.0,
                    item.location.1,
                    need.type_name()
                ));
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    let fix = "give it one with `Server::state(value)` or a lifespan's `Lifespan::state(value)`, \
               or leave the item out of the server (`Server::retain_tools` and friends)";
    Some(if lines.len() == 1 {
        format!("{}: {fix}", lines[0])
    } else {
        format!("{}\n{fix}", lines.join("\n"))
    })
}
