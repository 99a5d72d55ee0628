//! One connection's session and the methods it answers. Every `impl Session` lives here:
//! the session's lifecycle and requests in flight (`session`), the method table of the
//! handshake revisions (`methods`), and the per-request revision's entry (`per_request`).

pub(crate) mod methods;
mod observed;
pub(crate) mod outbound;
pub(crate) mod per_request;
pub(crate) mod session;
