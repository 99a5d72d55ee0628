//! Liveness and readiness: `/healthz` answers while the process serves; `/readyz` answers
//! `200` only when the server is not draining and every readiness check passes.
//!
//! [`Readiness`] is always built (it is part of [`HttpOptions`](super::HttpOptions)); the
//! endpoints need the `http-server` feature.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What a readiness check returns: `Err` says why the server cannot serve now.
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>>;

type CheckFn = dyn Fn() -> CheckFuture + Send + Sync + 'static;

/// The checks `/readyz` runs, each named, each given [`Readiness::CHECK_TIMEOUT`] to answer.
///
/// A check is an async function that returns `Ok(())` when what it checks (a store, a
/// database, an upstream) can be used, or `Err(reason)`:
///
/// ```
/// use mcp_runtime::transport::http::{HttpOptions, Readiness};
///
/// let readiness = Readiness::default().check("cache", || async {
///     // e.g. a PING to the shared store
///     Ok(())
/// });
/// let options = HttpOptions { readiness, ..HttpOptions::default() };
/// # let _ = options;
/// ```
///
/// Two `Readiness` are equal when they name the same checks in the same order.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(Arc<str>, Arc<CheckFn>)>,
}

impl Readiness {
    /// How long one check may take before it counts as failed.
    pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

    /// Adds a check named `name` (the name appears in `/readyz`'s answer when it fails).
    pub fn check<F, Fut>(mut self, name: impl Into<String>, check: F) -> Readiness
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.add(name, check);
        self
    }

    /// Adds a check in place; see [`Readiness::check`].
    pub fn add<F, Fut>(&mut self, name: impl Into<String>, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let name: String = name.into();
        self.checks.push((
            name.into(),
            Arc::new(move || Box::pin(check()) as CheckFuture),
        ));
    }

    /// Appends the checks of `other`.
    pub fn extend(&mut self, other: Readiness) {
        self.checks.extend(other.checks);
    }

    /// Whether there are no checks.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// The names of the checks, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.checks.iter().map(|(n, _)| &**n)
    }

    /// Runs every check at once; returns the failures as `name: reason`.
    #[cfg_attr(not(feature = "http-server"), allow(dead_code))]
    pub(crate) async fn failures(&self) -> Vec<String> {
        let mut running = tokio::task::JoinSet::new();
        for (index, (name, check)) in self.checks.iter().enumerate() {
            let (name, future) = (Arc::clone(name), check());
            running.spawn(async move {
                let outcome = match tokio::time::timeout(Self::CHECK_TIMEOUT, future).await {
                    Ok(Ok(())) => None,
                    Ok(Err(reason)) => Some(format!("{name}: {reason}")),
                    Err(_) => Some(format!(
                        "{name}: no answer within {} s",
                        Self::CHECK_TIMEOUT.as_secs()
                    )),
                };
                (index, outcome)
            });
        }
        let mut failed = Vec::new();
        while let Some(joined) = running.join_next().await {
            match joined {
                Ok((index, Some(reason))) => failed.push((index, reason)),
                Ok((_, None)) => {}
                Err(e) => failed.push((usize::MAX, format!("a readiness check panicked: {e}"))),
            }
        }
        failed.sort();
        failed.into_iter().map(|(_, r)| r).collect()
    }
}

impl PartialEq for Readiness {
    fn eq(&self, other: &Readiness) -> bool {
        self.names().eq(other.names())
    }
}

impl Eq for Readiness {}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_are_named_in_order_and_slow_checks_time_out() {
        tokio::time::pause();
        let r = Readiness::default()
            .check("ok", || async { Ok(()) })
            .check("store", || async { Err("connection refused".to_string()) })
            .check("slow", || async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            });
        assert_eq!(format!("{r:?}"), r#"["ok", "store", "slow"]"#);
        assert_eq!(
            r.failures().await,
            ["store: connection refused", "slow: no answer within 2 s"]
        );
        assert!(Readiness::default().failures().await.is_empty());
    }
}
