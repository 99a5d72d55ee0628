//! Identity: who is calling ([`Principal`]), how the HTTP server finds out (the shared
//! `--auth-token`, API keys, OAuth access tokens), and what it tells a client that must
//! authenticate (RFC 9728 metadata, `WWW-Authenticate` challenges).
//!
//! ```text
//! principal.rs   Principal, Headers, PeerAddr; the caller of the request being dispatched
//! options.rs     OAuthOptions (always built: the command line parses them)
//! api_keys.rs    the key file, its reloading, key generation        (feature `auth`)
//! oauth.rs       JWT + JWKS, token introspection                    (feature `oauth`)
//! verified.rs    credentials verified lately, by a keyed tag         (feature `auth`)
//! edge.rs        the checks of one HTTP request, the challenges     (feature `http-server`)
//! ```

#[cfg(feature = "auth")]
pub mod api_keys;
#[cfg(feature = "http-server")]
pub(crate) mod edge;
#[cfg(feature = "oauth")]
pub(crate) mod oauth;
mod options;
pub(crate) mod policy;
pub(crate) mod principal;
pub(crate) mod task_owner;
#[cfg(feature = "auth")]
pub(crate) mod verified;

pub use options::OAuthOptions;
pub use principal::{Headers, PeerAddr, Principal, PrincipalKind};

/// An application's own authorization rule, run before every tool call, resource read and
/// prompt get that the scopes allowed: see [`Server::authorize`](crate::Server::authorize).
pub type AuthorizeFn =
    dyn Fn(&Principal, &Access<'_>) -> Result<(), String> + Send + Sync + 'static;

/// What a caller is about to use, for an [`AuthorizeFn`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Access<'a> {
    /// `tools/call` of `name` with `arguments`.
    Tool {
        /// The tool's name.
        name: &'a str,
        /// The call's arguments.
        arguments: &'a crate::protocol::JsonObject,
    },
    /// `resources/read` of `uri`.
    Resource {
        /// The URI read.
        uri: &'a str,
    },
    /// `prompts/get` of `name` with `arguments`.
    Prompt {
        /// The prompt's name.
        name: &'a str,
        /// The prompt's arguments.
        arguments: &'a crate::protocol::JsonObject,
    },
}
