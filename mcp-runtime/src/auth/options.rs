//! `OAuthOptions`: how the HTTP server checks OAuth access tokens; plain data, known to the
//! command line even when the `oauth` feature is compiled out.

use std::time::Duration;

/// How the HTTP server acts as an OAuth 2.1 resource server (the MCP authorization
/// specification): which issuer it trusts, what its own canonical URI is, and how it checks
/// tokens. Set [`HttpOptions::oauth`](crate::HttpOptions::oauth), or pass `--oauth-issuer`.
///
/// JWT access tokens are checked with the keys of the issuer's JWKS (`jwks_uri`, or the one
/// its metadata names); other tokens are introspected (RFC 7662) when an
/// `introspection_endpoint` is known.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthOptions {
    /// The authorization server's issuer identifier, e.g. `https://auth.example.com/`; a
    /// token's `iss` must be exactly this.
    pub issuer: String,
    /// This server's canonical URI (RFC 8707), e.g. `https://mcp.example.com/mcp`: a JWT's
    /// `aud` must contain it, and the protected-resource metadata names it. `None`: the
    /// endpoint's URL as the server is bound (`http://127.0.0.1:8000/mcp`).
    pub resource: Option<String>,
    /// Audiences accepted besides `resource`, for identity providers that name an API by an
    /// identifier of their own (Auth0's API identifier, Entra ID's `api://…`).
    pub extra_audiences: Vec<String>,
    /// Where the issuer's signing keys are. `None`: read from the issuer's metadata
    /// (`/.well-known/oauth-authorization-server`, then `/.well-known/openid-configuration`).
    pub jwks_uri: Option<String>,
    /// The token introspection endpoint (RFC 7662). `None`: from the issuer's metadata, if it
    /// names one; without one, only JWTs are accepted.
    pub introspection_endpoint: Option<String>,
    /// The client id this server introspects as (HTTP Basic authentication), if the
    /// authorization server asks for one.
    pub introspection_client_id: Option<String>,
    /// Its secret.
    pub introspection_client_secret: Option<String>,
    /// The scopes the protected-resource metadata advertises, and the `scope` of a 401
    /// challenge. Empty: every scope the server's tools, resources and prompts declare.
    pub scopes_supported: Vec<String>,
    /// How far `exp` and `nbf` may be off (clock skew; default 60 s).
    pub leeway: Duration,
    /// How long fetched signing keys are trusted before being fetched again (default 10 min).
    pub jwks_max_age: Duration,
    /// The least time between two fetches of the JWKS caused by an unknown `kid`
    /// (default 30 s), so that tokens naming made-up keys cannot make the server hammer the
    /// issuer.
    pub jwks_refetch_interval: Duration,
    /// How long an HTTP request to the authorization server may take (default 5 s).
    pub fetch_timeout: Duration,
    /// How long an introspection answer is reused for the same token (default 30 s, never
    /// past the token's `exp`); zero asks every time.
    pub introspection_cache: Duration,
}

impl OAuthOptions {
    /// Options trusting `issuer`, with every other field at its default.
    pub fn new(issuer: impl Into<String>) -> OAuthOptions {
        OAuthOptions {
            issuer: issuer.into(),
            ..OAuthOptions::default()
        }
    }
}

impl Default for OAuthOptions {
    fn default() -> Self {
        OAuthOptions {
            issuer: String::new(),
            resource: None,
            extra_audiences: Vec::new(),
            jwks_uri: None,
            introspection_endpoint: None,
            introspection_client_id: None,
            introspection_client_secret: None,
            scopes_supported: Vec::new(),
            leeway: Duration::from_secs(60),
            jwks_max_age: Duration::from_secs(600),
            jwks_refetch_interval: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            introspection_cache: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for OAuthOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthOptions")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .field("extra_audiences", &self.extra_audiences)
            .field("jwks_uri", &self.jwks_uri)
            .field("introspection_endpoint", &self.introspection_endpoint)
            .field("introspection_client_id", &self.introspection_client_id)
            .field(
                "introspection_client_secret",
                &self
                    .introspection_client_secret
                    .as_ref()
                    .map(|_| "<redacted>"),
            )
            .field("scopes_supported", &self.scopes_supported)
            .field("leeway", &self.leeway)
            .field("jwks_max_age", &self.jwks_max_age)
            .field("jwks_refetch_interval", &self.jwks_refetch_interval)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("introspection_cache", &self.introspection_cache)
            .finish()
    }
}
