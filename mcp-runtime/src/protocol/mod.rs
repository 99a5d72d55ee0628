//! The wire protocol: JSON-RPC framing, MCP message types and protocol revisions.

pub mod base64;
mod jsonrpc;
mod revision;
mod types;

pub use jsonrpc::{
    BadMessage, ErrorObject, Incoming, RequestId, code, encode_error, encode_request, encode_result,
};
pub use revision::ProtocolVersion;
pub use types::*;
