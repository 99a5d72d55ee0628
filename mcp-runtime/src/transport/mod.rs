//! Transports move messages between a client and a session; they know nothing of MCP.

pub mod http;
pub(crate) mod lines;
pub mod stdio;

pub use lines::{DEFAULT_MAX_MESSAGE_SIZE, serve_stream};
