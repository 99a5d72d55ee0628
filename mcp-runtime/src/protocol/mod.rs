//! The wire protocol: JSON-RPC framing, MCP message types and protocol revisions.

pub mod base64;
mod jsonrpc;
pub(crate) mod lazy;
pub(crate) mod param_headers;
pub(crate) mod per_request;
mod revision;
mod shape;
pub(crate) mod stamp;
mod types;

pub(crate) use jsonrpc::Encoded;
pub use jsonrpc::{
    BadMessage, ErrorObject, Incoming, RequestId, code, encode_error, encode_request, encode_result,
};
pub use per_request::{CacheHints, CacheScope};
pub use revision::ProtocolVersion;
pub use shape::{
    DiscoverResult, HANDSHAKE_EXTENSIONS, ListChanged, ResourcesCapability, ServerCapabilities,
};
pub use types::*;

/// An unguessable identifier: 128 bits from the operating system's secure random source, in
/// hex (visible ASCII, fit for a header). Session ids and task ids are these.
pub(crate) fn random_id() -> String {
    use std::fmt::Write as _;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let mut id = String::with_capacity(32);
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    id
}
