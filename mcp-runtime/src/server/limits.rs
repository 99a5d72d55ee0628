//! What one session may hold at once: requests in flight, subscriptions, requests to the
//! client awaiting answers. Every transport enforces them (they live in the session).

/// The per-session budgets of a server ([`Server::session_limits`](crate::Server::session_limits)).
/// Every field has a safe default ([`SessionLimits::default`]).
///
/// ```
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::SessionLimits;
///
/// let server = Server::new("calc").session_limits(SessionLimits {
///     max_requests_in_flight: 16,
///     ..SessionLimits::default()
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// Requests of one session running at once (default 100); one more is refused with the
    /// JSON-RPC error [`TOO_MANY_REQUESTS`](crate::protocol::code::TOO_MANY_REQUESTS), which
    /// HTTP answers `429` with `Retry-After`.
    pub max_requests_in_flight: usize,
    /// `resources/subscribe` URIs one session may hold (default 1 000); only URIs of a
    /// resource or template this server has are accepted.
    pub max_subscriptions: usize,
    /// Requests to the client (sampling, elicitation, roots) of one session awaiting their
    /// answers at once (default 64); one more fails at once in the handler.
    pub max_client_requests: usize,
    /// Tasks (2026-07-28, the tasks extension) one session may hold at once (default 100);
    /// a task is usable only by the session that created it. Over HTTP, where requests of
    /// that revision have no session, only the server's cap (`Server::max_tasks`) applies.
    pub max_tasks: usize,
    /// Messages queued for a session's client at once (default 1 024). The line transports
    /// stop reading a client's requests while its queue is over half full; a message that
    /// finds it full closes the session (the client is a whole queue behind: its connection
    /// ends and its requests in flight are cancelled).
    pub max_queued_messages: usize,
    /// Bytes queued for a session's client at once (default 32 MiB; one message always fits
    /// in an empty queue), with the policy of [`max_queued_messages`](Self::max_queued_messages).
    pub max_queued_bytes: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_requests_in_flight: 100,
            max_subscriptions: 1_000,
            max_client_requests: 64,
            max_tasks: 100,
            max_queued_messages: 1024,
            max_queued_bytes: 32 << 20,
        }
    }
}
