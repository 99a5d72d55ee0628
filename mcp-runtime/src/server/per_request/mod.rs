//! Serving 2026-07-28 beside the handshake revisions.
//!
//! A request whose `_meta` names `io.modelcontextprotocol/protocolVersion` carries its client
//! with it: capabilities, identity and log level. It is served by a session of its own, made
//! for that one request (the way stateless HTTP serves each POST), so every handler runs the
//! same code in both eras. What differs is settled here: the checks of `_meta`, the methods of
//! this revision (`server/discover`, `subscriptions/listen`) and those it removed, what every
//! result carries (`resultType`, the server's identity, caching hints), and requests to the
//! client, which become `input_required` results the client answers by calling again.
//!
//! The wire rules (what `_meta` carries, what every result carries) are in
//! `protocol::per_request`; this module holds what the server keeps for them: the caching and
//! sealing configuration, `server/discover`, the rounds of requests to the client
//! (`rounds`), the sealed `requestState` (`seal`), `subscriptions/listen` (`listen`) and
//! tasks (`tasks`).

pub(crate) mod listen;
pub(crate) mod rounds;
pub(crate) mod seal;
pub(crate) mod tasks;
// Scale out (issue 19).
pub(crate) mod remote_tasks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::{CacheHints, DiscoverResult};
use crate::server::ServerCore;

/// The caching hints and the `requestState` key of a server.
#[derive(Clone)]
pub(crate) struct PerRequestConfig {
    pub(crate) lists: CacheHints,
    /// By resource URI or template.
    pub(crate) resources: HashMap<String, CacheHints>,
    pub(crate) state_key: Arc<[u8]>,
    pub(crate) state_max_age: Duration,
    // ---- Scale out (issue 19)
    /// The key was given (`Server::request_state_key`): replicas do not replace it.
    pub(crate) state_key_set: bool,
}

impl Default for PerRequestConfig {
    fn default() -> PerRequestConfig {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source");
        PerRequestConfig {
            lists: CacheHints::default(),
            resources: HashMap::new(),
            state_key: Arc::new(key),
            state_max_age: Duration::from_secs(600),
            state_key_set: false,
        }
    }
}

/// `server/discover`: the revisions, capabilities and identity of the server.
pub(crate) fn discover(core: &ServerCore) -> DiscoverResult {
    DiscoverResult::new(core.capabilities(), core.instructions.clone())
}
