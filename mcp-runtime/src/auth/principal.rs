//! `Principal`: who is calling, as authentication at the edge found it; and what else a
//! handler may learn of the request that carried the call (`Headers`, `PeerAddr`).

use std::fmt;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use crate::protocol::JsonObject;
use crate::server::{Context, FromContext};

/// How a principal was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrincipalKind {
    /// The process's own user: stdio, and the in-memory client. Holds every scope.
    Local,
    /// Nobody: an HTTP server with no authentication configured. Holds no scope.
    Anonymous,
    /// The shared secret of `--auth-token`. Holds every scope.
    SharedToken,
    /// An API key of `--api-keys`.
    ApiKey,
    /// A JWT access token, checked against the issuer's keys.
    Jwt,
    /// An opaque access token, checked by token introspection (RFC 7662).
    Introspected,
    /// Made by the application ([`Principal::new`]).
    Custom,
}

impl PrincipalKind {
    /// A short name for logs: `local`, `anonymous`, `token`, `api-key`, `jwt`,
    /// `introspected`, `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Local => "local",
            PrincipalKind::Anonymous => "anonymous",
            PrincipalKind::SharedToken => "token",
            PrincipalKind::ApiKey => "api-key",
            PrincipalKind::Jwt => "jwt",
            PrincipalKind::Introspected => "introspected",
            PrincipalKind::Custom => "custom",
        }
    }
}

/// Who is calling: a subject, how it was authenticated, the key it used, its scopes and the
/// token's claims. Take it as a parameter of any handler, or read it from
/// [`Context::principal`]:
///
/// ```rust,standalone_crate
/// use mcp_runtime::prelude::*;
///
/// /// Who am I?
/// #[tool]
/// fn whoami(caller: Principal) -> String {
///     format!("{} ({})", caller.subject(), caller.kind().as_str())
/// }
/// ```
///
/// On stdio and through the in-memory client the caller is [`Principal::local`], which holds
/// every scope. Over HTTP it is what the server's authentication found: an API key, a JWT, an
/// introspected token, the shared `--auth-token`, or [`Principal::anonymous`] when the server
/// has no authentication configured. Cloning is cheap (one reference count).
#[derive(Clone)]
pub struct Principal(Arc<Inner>);

struct Inner {
    kind: PrincipalKind,
    subject: String,
    issuer: Option<String>,
    key_id: Option<String>,
    key_name: Option<String>,
    /// `None`: every scope.
    scopes: Option<Vec<Box<str>>>,
    claims: JsonObject,
}

impl Principal {
    /// A principal of the application's own, holding `scopes` (for tests, and for
    /// authentication done in front of the server).
    pub fn new(
        subject: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Principal {
        PrincipalBuilder::new(PrincipalKind::Custom, subject.into())
            .scopes(scopes.into_iter().map(Into::into))
            .build()
    }

    /// The process's own user (stdio, in-memory): subject `local`, every scope.
    pub fn local() -> Principal {
        static LOCAL: OnceLock<Principal> = OnceLock::new();
        LOCAL
            .get_or_init(|| {
                PrincipalBuilder::new(PrincipalKind::Local, "local".into())
                    .all_scopes()
                    .build()
            })
            .clone()
    }

    /// Nobody (HTTP with no authentication configured): subject `anonymous`, no scope.
    pub fn anonymous() -> Principal {
        static ANONYMOUS: OnceLock<Principal> = OnceLock::new();
        ANONYMOUS
            .get_or_init(|| {
                PrincipalBuilder::new(PrincipalKind::Anonymous, "anonymous".into()).build()
            })
            .clone()
    }

    /// How the caller was authenticated.
    pub fn kind(&self) -> PrincipalKind {
        self.0.kind
    }

    /// Who the caller is: a token's `sub`, an API key's id, `local` or `anonymous`.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The issuer of the caller's token (`iss`), for OAuth principals.
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// The id of the API key the caller used.
    pub fn key_id(&self) -> Option<&str> {
        self.0.key_id.as_deref()
    }

    /// The name of the API key the caller used.
    pub fn key_name(&self) -> Option<&str> {
        self.0.key_name.as_deref()
    }

    /// The caller's scopes; empty for a principal holding every scope (see
    /// [`Principal::has_every_scope`]).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.0.scopes.iter().flatten().map(|s| &**s)
    }

    /// Whether the caller holds every scope (local, the shared `--auth-token`).
    pub fn has_every_scope(&self) -> bool {
        self.0.scopes.is_none()
    }

    /// Whether the caller holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        match &self.0.scopes {
            None => true,
            Some(held) => held.binary_search_by(|s| (**s).cmp(scope)).is_ok(),
        }
    }

    /// The first of `required` the caller lacks.
    pub fn missing_scope<'a>(&self, required: &[&'a str]) -> Option<&'a str> {
        required.iter().copied().find(|s| !self.has_scope(s))
    }

    /// The token's claims (JWT payload, introspection response); empty for others.
    pub fn claims(&self) -> &JsonObject {
        &self.0.claims
    }

    /// One claim of the token.
    pub fn claim(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.claims.get(name)
    }

    /// Whether two principals are the same caller: same kind, issuer, subject and key.
    /// Scopes may differ (a key's scopes changed, a token was refreshed with others).
    pub fn same_caller(&self, other: &Principal) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.kind == other.0.kind
                && self.0.issuer == other.0.issuer
                && self.0.subject == other.0.subject
                && self.0.key_id == other.0.key_id)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Principal");
        d.field("kind", &self.0.kind.as_str())
            .field("subject", &self.0.subject);
        if let Some(i) = &self.0.issuer {
            d.field("issuer", i);
        }
        if let Some(k) = &self.0.key_id {
            d.field("key_id", k);
        }
        match &self.0.scopes {
            None => d.field("scopes", &"*"),
            Some(s) => d.field("scopes", s),
        };
        d.finish_non_exhaustive()
    }
}

/// Builds a [`Principal`] (used by the authenticators).
pub(crate) struct PrincipalBuilder {
    inner: Inner,
}

impl PrincipalBuilder {
    pub(crate) fn new(kind: PrincipalKind, subject: String) -> PrincipalBuilder {
        PrincipalBuilder {
            inner: Inner {
                kind,
                subject,
                issuer: None,
                key_id: None,
                key_name: None,
                scopes: Some(Vec::new()),
                claims: JsonObject::new(),
            },
        }
    }

    pub(crate) fn all_scopes(mut self) -> Self {
        self.inner.scopes = None;
        self
    }

    pub(crate) fn scopes(mut self, scopes: impl IntoIterator<Item = String>) -> Self {
        let mut v: Vec<Box<str>> = scopes
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::into_boxed_str)
            .collect();
        v.sort();
        v.dedup();
        self.inner.scopes = Some(v);
        self
    }

    #[allow(dead_code)]
    pub(crate) fn issuer(mut self, issuer: Option<String>) -> Self {
        self.inner.issuer = issuer;
        self
    }

    #[allow(dead_code)]
    pub(crate) fn key(mut self, id: String, name: Option<String>) -> Self {
        self.inner.key_id = Some(id);
        self.inner.key_name = name;
        self
    }

    #[allow(dead_code)]
    pub(crate) fn claims(mut self, claims: JsonObject) -> Self {
        self.inner.claims = claims;
        self
    }

    pub(crate) fn build(self) -> Principal {
        Principal(Arc::new(self.inner))
    }
}

impl FromContext for Principal {
    fn from_context(ctx: &Context) -> Result<Self, String> {
        Ok(ctx.principal().clone())
    }
}

/// What the transport knows of the request a call came in: the HTTP request's headers and
/// the peer's address. `None` on stdio and in memory.
pub(crate) struct HttpRequest {
    pub(crate) headers: http::HeaderMap,
    pub(crate) peer: Option<SocketAddr>,
}

/// The HTTP request's headers, for a handler: take `Option<Headers>` as a parameter (it is
/// `None` on stdio), or read [`Context::headers`].
///
/// ```rust,standalone_crate
/// use mcp_runtime::prelude::*;
///
/// /// The caller's user agent.
/// #[tool]
/// fn agent(headers: Option<Headers>) -> String {
///     headers
///         .and_then(|h| h.get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_string))
///         .unwrap_or_else(|| "unknown".into())
/// }
/// ```
///
/// `Authorization` and `X-API-Key` are removed before handlers see the headers: the
/// credential was checked at the edge, and [`Principal`] says whose it was.
#[derive(Clone)]
pub struct Headers(pub(crate) Arc<HttpRequest>);

impl Deref for Headers {
    type Target = http::HeaderMap;

    fn deref(&self) -> &http::HeaderMap {
        &self.0.headers
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.headers.iter().map(|(k, v)| (k.as_str(), v)))
            .finish()
    }
}

impl FromContext for Option<Headers> {
    fn from_context(ctx: &Context) -> Result<Self, String> {
        Ok(ctx.headers())
    }
}

impl FromContext for Headers {
    fn from_context(ctx: &Context) -> Result<Self, String> {
        ctx.headers().ok_or_else(|| {
            "this request did not come over HTTP; take `Option<Headers>` to serve stdio too"
                .to_string()
        })
    }
}

/// The address of the peer that sent the request (the TCP peer: behind a proxy, the
/// proxy). Take `Option<PeerAddr>` as a parameter, or read [`Context::peer_addr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

impl FromContext for Option<PeerAddr> {
    fn from_context(ctx: &Context) -> Result<Self, String> {
        Ok(ctx.peer_addr().map(PeerAddr))
    }
}

/// Who made one request, and over what: carried from the transport to the handler's
/// [`Context`].
#[derive(Clone)]
pub(crate) struct Caller {
    pub(crate) principal: Principal,
    pub(crate) http: Option<Arc<HttpRequest>>,
}

impl Caller {
    pub(crate) fn of(principal: Principal) -> Caller {
        Caller {
            principal,
            http: None,
        }
    }
}

std::thread_local! {
    /// The caller of the message being dispatched on this thread (see [`with_caller`]).
    static CURRENT: std::cell::RefCell<Option<Caller>> = const { std::cell::RefCell::new(None) };
}

/// Runs `dispatch` with `caller` as the caller of the message it dispatches.
///
/// Dispatch is synchronous up to the point where a handler's parts are made (its future runs
/// later, holding them): the transport wraps its call to `Session::handle_incoming` in this,
/// and [`current`] reads it back there, so that the caller travels with the request without
/// a parameter on every method of the dispatch table. Outside of it (stdio, in memory) the
/// session's own principal is the caller.
pub(crate) fn with_caller<R>(caller: Caller, dispatch: impl FnOnce() -> R) -> R {
    struct Restore(Option<Caller>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.borrow_mut().replace(caller));
    let _restore = Restore(previous);
    dispatch()
}

/// The caller of the message being dispatched, if a transport named one.
pub(crate) fn current() -> Option<Caller> {
    CURRENT.with(|c| c.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_exactly() {
        let p = Principal::new("alice", ["notes:read", "notes:write", "notes:read"]);
        assert!(p.has_scope("notes:read"));
        assert!(p.has_scope("notes:write"));
        assert!(!p.has_scope("notes"));
        assert!(!p.has_scope("admin"));
        assert_eq!(
            p.scopes().collect::<Vec<_>>(),
            ["notes:read", "notes:write"]
        );
        assert_eq!(p.missing_scope(&["notes:read", "admin"]), Some("admin"));
        let policy = crate::auth::policy::Policy {
            default_scopes: vec!["admin"],
            authorize: None,
        };
        assert_eq!(policy.missing(&p, Some(&["notes:read"])), None);
        assert_eq!(policy.missing(&p, Some(&[])), None, "`scopes()` needs none");
        assert_eq!(
            policy.missing(&p, None),
            Some("admin"),
            "the default applies"
        );
        assert_eq!(policy.missing(&Principal::local(), Some(&["x"])), None);
        assert_eq!(
            policy.missing(&Principal::anonymous(), Some(&["x"])),
            Some("x")
        );
    }

    #[test]
    fn the_same_caller_is_recognised_whatever_its_scopes() {
        let a = Principal::new("alice", ["a"]);
        let b = Principal::new("alice", ["b"]);
        let c = Principal::new("bob", ["a"]);
        assert!(a.same_caller(&b));
        assert!(!a.same_caller(&c));
        assert!(!Principal::local().same_caller(&Principal::anonymous()));
    }

    #[test]
    fn the_caller_is_scoped_to_the_dispatch() {
        assert!(current().is_none());
        let seen = with_caller(Caller::of(Principal::new("x", ["s"])), || {
            current().map(|c| c.principal.subject().to_string())
        });
        assert_eq!(seen.as_deref(), Some("x"));
        assert!(current().is_none());
    }
}
