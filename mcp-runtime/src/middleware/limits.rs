//! Per-tool limits: how long a call may run, and how many calls may run at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::protocol::CallToolResult;
use crate::server::handlers::call::ToolFuture;
use crate::server::{HandlerFuture, TaskSupport};

/// How long one call of a tool may run, and how many calls of it may run at once:
/// `#[tool(timeout = "30s", max_concurrency = 4)]`.
///
/// A call past its timeout is stopped (its future dropped; a `blocking` tool's thread runs
/// on, its result discarded) and answered with a tool error naming the limit. A call beyond
/// `max_concurrency` is answered at once with a tool error saying the tool is busy; nothing
/// queues. [`Server::tool_timeout`](crate::Server::tool_timeout) gives every tool without a
/// timeout of its own one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolLimits {
    /// How long a call may run.
    pub timeout: Option<Duration>,
    /// How many calls may run at once.
    pub max_concurrency: Option<u32>,
}

impl ToolLimits {
    /// No limits.
    pub const NONE: ToolLimits = ToolLimits {
        timeout: None,
        max_concurrency: None,
    };
}

/// The permits of a tool with `max_concurrency`.
pub(crate) fn semaphore(limits: &ToolLimits) -> Option<Arc<Semaphore>> {
    limits
        .max_concurrency
        .map(|n| Arc::new(Semaphore::new(n.max(1) as usize)))
}

/// A permit to run one call, or the tool error of a call beyond the limit.
pub(crate) fn admit(
    name: &str,
    limits: &ToolLimits,
    permits: Option<&Arc<Semaphore>>,
) -> Result<Option<OwnedSemaphorePermit>, CallToolResult> {
    let Some(permits) = permits else {
        return Ok(None);
    };
    match Arc::clone(permits).try_acquire_owned() {
        Ok(permit) => Ok(Some(permit)),
        Err(_) => Err(CallToolResult::error(format!(
            "tool `{name}` is busy: it already runs {} calls at once, its limit \
             (`max_concurrency`); try again when one has finished",
            limits.max_concurrency.unwrap_or(1)
        ))),
    }
}

/// A tool's running call under its limits: holding its permit, stopped at its timeout.
pub(crate) fn guard(
    fut: ToolFuture,
    permit: Option<OwnedSemaphorePermit>,
    timeout: Option<Duration>,
    name: &'static str,
    task: TaskSupport,
) -> ToolFuture {
    match (fut, timeout) {
        // Done already (the permit goes now), or nothing to watch.
        (fut @ HandlerFuture::Ready(_), _) => fut,
        (fut, None) if permit.is_none() => fut,
        (fut, timeout) => HandlerFuture::pending(async move {
            let _permit = permit;
            match timeout {
                Some(limit) => tokio::time::timeout(limit, fut)
                    .await
                    .unwrap_or_else(|_| timed_out(name, limit, task)),
                None => fut.await,
            }
        }),
    }
}

/// The tool error of a call stopped at its timeout.
pub(crate) fn timed_out(name: &str, after: Duration, task: TaskSupport) -> CallToolResult {
    let advice = if task == TaskSupport::Forbidden {
        "; for work that takes longer, make it a task (`#[tool(task)]`) so that the client \
         can wait for it, or raise the limit (`#[tool(timeout = \"...\")]`)"
    } else {
        "; raise the limit (`#[tool(timeout = \"...\")]`) for work that takes longer"
    };
    tracing::warn!(tool = name, timeout = %human(after), "tool call stopped at its timeout");
    CallToolResult::error(format!(
        "tool `{name}` was stopped after {}, its time limit{advice}",
        human(after)
    ))
}

/// `30s`, `1.5s`, `250ms`, `2m`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(30)), "30s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn a_call_beyond_the_limit_is_refused_until_one_ends() {
        let limits = ToolLimits {
            max_concurrency: Some(1),
            ..ToolLimits::NONE
        };
        let permits = semaphore(&limits);
        let first = admit("t", &limits, permits.as_ref()).unwrap();
        let busy = admit("t", &limits, permits.as_ref()).unwrap_err();
        assert!(busy.is_error);
        drop(first);
        assert!(admit("t", &limits, permits.as_ref()).is_ok());
    }
}
