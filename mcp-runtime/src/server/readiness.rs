//! `Server::readiness_check`: what `/readyz` asks before it says the server is ready.

use std::future::Future;

use crate::Server;

impl Server {
    /// Adds a readiness check: `/readyz` answers `503` naming it while it fails (or takes more
    /// than [`Readiness::CHECK_TIMEOUT`](crate::transport::http::Readiness::CHECK_TIMEOUT)),
    /// so that a load balancer sends no traffic to an instance whose store is unreachable.
    /// Liveness (`/healthz`) does not run it.
    ///
    /// ```
    /// use mcp_runtime::prelude::*;
    ///
    /// let server = Server::new("notes").readiness_check("database", || async {
    ///     // e.g. `SELECT 1`
    ///     Ok(())
    /// });
    /// # let _ = server;
    /// ```
    pub fn readiness_check<F, Fut>(mut self, name: impl Into<String>, check: F) -> Server
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.readiness.add(name, check);
        self
    }
}
