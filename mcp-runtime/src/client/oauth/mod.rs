//! OAuth 2.1 for the streamable HTTP client, as the MCP authorization specification asks
//! (2025-06-18, 2025-11-25, 2026-07-28, and the fallbacks of 2025-03-26).
//!
//! Give [`HttpClientOptions::oauth`] an [`OAuth`] and the client logs in when the server
//! answers `401`: it reads the `WWW-Authenticate` challenge, finds the protected resource's
//! metadata (RFC 9728: the challenge's `resource_metadata`, else the path-suffixed and root
//! well-known URLs) and its authorization server's (RFC 8414 and OpenID Connect discovery,
//! the metadata's `issuer` checked), registers (a pre-registered client, a client ID
//! metadata document, or dynamic registration, RFC 7591), obtains a token, and sends the
//! request again. Tokens are asked for the server's resource indicator (RFC 8707), refreshed
//! when they expire, and kept in a [`TokenStore`].
//!
//! Grants: the authorization code with PKCE (S256), through an [`Authorize`] that shows the
//! user the authorization URL and returns where the browser was sent back
//! ([`LoopbackAuthorizer`] for terminals); client credentials with a secret or a signed JWT
//! (`private_key_jwt`); and a JWT assertion (RFC 7523: workload identity federation, and
//! the identity assertion of enterprise-managed authorization). Tokens can be bound to a key
//! with DPoP (RFC 9449).
//!
//! A `403` with `error="insufficient_scope"` asks for the union of the scopes held and the
//! scopes challenged, at most [`MAX_STEP_UPS`] times for one request. Each step is reported
//! to [`OAuth::on_event`], e.g. for an inspector that shows the flow.
//!
//! [`HttpClientOptions::oauth`]: super::HttpClientOptions::oauth

mod discovery;
mod dpop;
mod enterprise;
mod loopback;
mod store;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use enterprise::IdentityProvider;
pub use loopback::LoopbackAuthorizer;
pub use store::{FileTokenStore, MemoryTokenStore, StoredTokens, TokenStore};
#[cfg(feature = "keychain")]
pub use store::{Keychain, KeychainError};

use discovery::{Challenge, Discovered};

/// How many times one request may step up its scopes (`403 insufficient_scope`) before the
/// client gives up: the first authorization and two step-ups make three.
pub const MAX_STEP_UPS: u32 = 2;
/// The most of an authorization server's answer that is read.
const BODY_LIMIT: usize = 1024 * 1024;
/// How long a request to the authorization server may take.
const AS_TIMEOUT: Duration = Duration::from_secs(30);
/// A token this close to its expiry is refreshed before use.
const EXPIRY_MARGIN: u64 = 30;

/// Why logging in failed.
#[derive(Debug, Clone)]
pub enum OAuthError {
    /// The metadata of the resource or the authorization server is missing or wrong.
    Discovery(String),
    /// The client could not register, or has no registration for this server.
    Registration(String),
    /// The user's authorization did not come back as it must (refused, wrong `state`,
    /// wrong `iss`).
    Authorization(String),
    /// The token endpoint refused.
    Token(String),
    /// The server keeps asking for scopes after [`MAX_STEP_UPS`] step-ups.
    InsufficientScope(String),
    /// Reaching the authorization server failed.
    Http(String),
    /// The server asks for authorization but publishes no OAuth metadata: its credential is
    /// something else (a static token, an API key).
    NoMetadata(String),
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OAuthError::Discovery(m) => write!(f, "OAuth discovery failed: {m}"),
            OAuthError::Registration(m) => write!(f, "OAuth client registration failed: {m}"),
            OAuthError::Authorization(m) => write!(f, "OAuth authorization failed: {m}"),
            OAuthError::Token(m) => write!(f, "the OAuth token request failed: {m}"),
            OAuthError::InsufficientScope(m) => write!(
                f,
                "the server still refuses for lack of scope after {MAX_STEP_UPS} step-ups: {m}"
            ),
            OAuthError::Http(m) => write!(f, "talking to the authorization server failed: {m}"),
            OAuthError::NoMetadata(m) => write!(f, "the server publishes no OAuth metadata: {m}"),
        }
    }
}

impl std::error::Error for OAuthError {}

/// A step of logging in, as [`OAuth::on_event`] sees it. Secrets (tokens, codes, client
/// secrets) are never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEvent {
    /// The server asked for authorization (`401`, or `403` for more scope).
    Challenged {
        /// The HTTP status.
        status: u16,
        /// The challenge's `scope`, if any.
        scope: Option<String>,
    },
    /// A metadata document was found, or a fallback taken.
    Discovery {
        /// What was found where.
        step: String,
    },
    /// The client has a registration at the authorization server.
    Registered {
        /// The issuer.
        issuer: String,
        /// The client id.
        client_id: String,
        /// How: `pre-registered`, `metadata document` or `dynamic`.
        how: String,
    },
    /// The user is asked to authorize at this URL.
    Authorize {
        /// The authorization URL (it carries no secret: PKCE keeps the verifier here).
        url: String,
    },
    /// A token was obtained.
    Token {
        /// The grant used, e.g. `authorization_code`, `refresh_token`.
        grant: String,
        /// The scopes granted, as the server said.
        scope: Option<String>,
    },
    /// Logging in failed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// The future an [`Authorize`] returns.
pub type AuthorizeFuture = Pin<Box<dyn Future<Output = Result<Url, OAuthError>> + Send>>;

/// Lets the user authorize: shows them (or opens) the authorization URL and returns the
/// URL the authorization server redirected the browser to (the redirect URI with `code`,
/// `state` and maybe `iss`).
pub trait Authorize: Send + Sync {
    /// The redirect URI registered for the client, e.g. `http://127.0.0.1:PORT/callback`.
    fn redirect_uri(&self) -> String;
    /// Takes the user through `url`; returns the redirect.
    fn authorize(&self, url: Url) -> AuthorizeFuture;
}

/// An [`Authorize`] from a redirect URI and a closure.
pub struct AuthorizeFn<F> {
    redirect_uri: String,
    f: F,
}

impl<F> AuthorizeFn<F>
where
    F: Fn(Url) -> AuthorizeFuture + Send + Sync,
{
    /// An authorizer calling `f` with each authorization URL.
    pub fn new(redirect_uri: impl Into<String>, f: F) -> Self {
        AuthorizeFn {
            redirect_uri: redirect_uri.into(),
            f,
        }
    }
}

impl<F> Authorize for AuthorizeFn<F>
where
    F: Fn(Url) -> AuthorizeFuture + Send + Sync,
{
    fn redirect_uri(&self) -> String {
        self.redirect_uri.clone()
    }
    fn authorize(&self, url: Url) -> AuthorizeFuture {
        (self.f)(url)
    }
}

/// An [`Authorize`] for authorization servers that approve without asking (test and
/// development servers): it GETs the authorization URL and returns where it redirects,
/// without following the redirect to `redirect_uri`.
pub struct AutoApprove {
    redirect_uri: String,
    http: Result<reqwest::Client, String>,
}

impl AutoApprove {
    /// An auto-approving authorizer with this redirect URI.
    pub fn new(redirect_uri: impl Into<String>) -> AutoApprove {
        AutoApprove {
            redirect_uri: redirect_uri.into(),
            http: super::http::tls_config(&[])
                .map_err(|e| e.to_string())
                .and_then(|tls| {
                    reqwest::Client::builder()
                        .tls_backend_preconfigured(tls)
                        .redirect(reqwest::redirect::Policy::none())
                        .timeout(AS_TIMEOUT)
                        .build()
                        .map_err(|e| e.to_string())
                }),
        }
    }
}

impl Authorize for AutoApprove {
    fn redirect_uri(&self) -> String {
        self.redirect_uri.clone()
    }
    fn authorize(&self, url: Url) -> AuthorizeFuture {
        let http = self.http.clone();
        let redirect = self.redirect_uri.clone();
        Box::pin(async move {
            let http = http.map_err(OAuthError::Http)?;
            let mut next = url;
            // Follows the server's own redirects (a login page, a consent step) until it
            // sends the browser to the redirect URI.
            for _ in 0..10 {
                let response = http
                    .get(next.clone())
                    .send()
                    .await
                    .map_err(|e| OAuthError::Http(e.to_string()))?;
                let Some(location) = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                else {
                    return Err(OAuthError::Authorization(format!(
                        "the authorization server answered {} without redirecting: it does not approve without the user",
                        response.status()
                    )));
                };
                let to = next.join(location).map_err(|_| {
                    OAuthError::Authorization("a redirect that is not a URL".into())
                })?;
                if to.as_str().starts_with(&redirect) {
                    return Ok(to);
                }
                next = to;
            }
            Err(OAuthError::Authorization(
                "the authorization server redirected too often".into(),
            ))
        })
    }
}

/// A client's credential at the token endpoint, for the client credentials grant and for
/// confidential clients.
#[derive(Clone)]
pub enum ClientCredential {
    /// A client secret (`client_secret_basic`, or `client_secret_post` when the server only
    /// takes that).
    Secret(String),
    /// A private key signing a JWT assertion (`private_key_jwt`, RFC 7523): PEM (PKCS#8),
    /// and its algorithm, e.g. `ES256` or `RS256`.
    PrivateKey {
        /// The key, PEM.
        pem: String,
        /// The JWS algorithm.
        algorithm: String,
        /// The key id put in the JWT header, if the server needs one.
        key_id: Option<String>,
    },
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredential::Secret(_) => f.write_str("Secret(…)"),
            ClientCredential::PrivateKey { algorithm, .. } => {
                write!(f, "PrivateKey({algorithm}, …)")
            }
        }
    }
}

/// The future of an assertion.
pub type AssertionFuture = Pin<Box<dyn Future<Output = Result<String, OAuthError>> + Send>>;

/// Gives a fresh JWT assertion (e.g. the workload's identity token), given the token
/// endpoint's issuer and the resource.
pub type AssertionFn = Arc<dyn Fn(AssertionRequest) -> AssertionFuture + Send + Sync>;

/// What an assertion is wanted for.
#[derive(Debug, Clone)]
pub struct AssertionRequest {
    /// The authorization server's issuer.
    pub issuer: String,
    /// The resource the token is for.
    pub resource: String,
    /// The scopes asked for, space-separated, if any.
    pub scope: Option<String>,
}

#[derive(Clone)]
enum Grant {
    AuthorizationCode(Arc<dyn Authorize>),
    ClientCredentials,
    JwtBearer(AssertionFn),
}

/// What [`OAuth::on_event`] calls.
type EventFn = Arc<dyn Fn(&AuthEvent) + Send + Sync>;

/// How the client logs in to protected servers: give it to [`HttpClientOptions::oauth`].
///
/// [`HttpClientOptions::oauth`]: super::HttpClientOptions::oauth
#[derive(Clone)]
pub struct OAuth {
    grant: Grant,
    client_name: String,
    client_id: Option<String>,
    credential: Option<ClientCredential>,
    /// The issuer a pre-registered client belongs to; any when `None`.
    client_issuer: Option<String>,
    metadata_url: Option<String>,
    scope: Option<String>,
    /// `None`: where the authorization server offers it (ES256 in
    /// `dpop_signing_alg_values_supported`).
    dpop: Option<bool>,
    store: Arc<dyn TokenStore>,
    on_event: Option<EventFn>,
}

impl fmt::Debug for OAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth")
            .field("client_name", &self.client_name)
            .field("client_id", &self.client_id)
            .field("dpop", &self.dpop)
            .finish_non_exhaustive()
    }
}

impl OAuth {
    fn with_grant(grant: Grant) -> OAuth {
        OAuth {
            grant,
            client_name: "mcp-runtime-client".into(),
            client_id: None,
            credential: None,
            client_issuer: None,
            metadata_url: None,
            scope: None,
            dpop: None,
            store: Arc::new(MemoryTokenStore::default()),
            on_event: None,
        }
    }

    /// The authorization code grant with PKCE: the user authorizes through `authorizer`.
    pub fn authorization_code(authorizer: impl Authorize + 'static) -> OAuth {
        OAuth::with_grant(Grant::AuthorizationCode(Arc::new(authorizer)))
    }

    /// The client credentials grant (machine to machine): the client's own id and
    /// credential, pre-registered at the authorization server.
    pub fn client_credentials(client_id: impl Into<String>, credential: ClientCredential) -> OAuth {
        let mut o = OAuth::with_grant(Grant::ClientCredentials);
        o.client_id = Some(client_id.into());
        o.credential = Some(credential);
        o
    }

    /// The JWT bearer grant (RFC 7523 §2.1): `assertion` gives the JWT the authorization
    /// server trusts — a workload's identity token (workload identity federation) or an
    /// identity assertion from the enterprise's identity provider.
    pub fn jwt_bearer(
        assertion: impl Fn(AssertionRequest) -> AssertionFuture + Send + Sync + 'static,
    ) -> OAuth {
        OAuth::with_grant(Grant::JwtBearer(Arc::new(assertion)))
    }

    /// The name the client registers under (dynamic registration).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// A client registered beforehand: its id, its secret if it is confidential, and the
    /// issuer it is registered with (used only there; any issuer when `None`).
    pub fn pre_registered(
        mut self,
        client_id: impl Into<String>,
        secret: Option<String>,
        issuer: Option<String>,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.credential = secret.map(ClientCredential::Secret);
        self.client_issuer = issuer;
        self
    }

    /// A client credential for the token endpoint (with [`OAuth::pre_registered`] or the
    /// JWT bearer grant).
    pub fn credential(mut self, credential: ClientCredential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// The `https://` URL of the client's metadata document, used as its client id where
    /// the authorization server supports client ID metadata documents (instead of
    /// registering dynamically).
    pub fn client_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.metadata_url = Some(url.into());
        self
    }

    /// The scopes to ask for, space-separated, instead of the server's (challenge, then
    /// `scopes_supported`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Whether to bind tokens to a key of this client with DPoP (RFC 9449): an ES256 key
    /// made for the connection, and a fresh proof on every request. By default tokens are
    /// bound where the authorization server offers DPoP with ES256; `true` binds them
    /// everywhere, `false` never.
    pub fn dpop(mut self, on: bool) -> Self {
        self.dpop = Some(on);
        self
    }

    /// Where tokens are kept between connections (in memory by default).
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = store;
        self
    }

    /// Sees each step of logging in.
    pub fn on_event(mut self, f: impl Fn(&AuthEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(f));
        self
    }
}

/// The key tokens are kept under for the server at `url` (its resource identifier): the
/// URL without fragment, or `None` when `url` is not a URL.
pub fn server_key(url: &str) -> Option<String> {
    Url::parse(url).ok().map(|u| discovery::resource_of(&u))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// URL-safe random text of `n` random bytes.
fn random(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The client's registration at one issuer.
#[derive(Debug, Clone)]
struct Registration {
    issuer: String,
    /// The redirect URI it was registered with (dynamic registration only).
    redirect_uri: Option<String>,
    client_id: String,
    secret: Option<String>,
    /// `none`, `client_secret_basic`, `client_secret_post`, `private_key_jwt`.
    method: String,
}

/// What one request has used of its step-ups.
#[derive(Debug, Default)]
pub(crate) struct Attempt {
    step_ups: u32,
    refused: u32,
}

#[derive(Default)]
struct Flow {
    discovered: Option<Discovered>,
    registration: Option<Registration>,
    /// The scopes asked for last.
    scopes: Vec<String>,
}

/// The token in use.
struct Current {
    access_token: String,
    /// `Bearer` or `DPoP`.
    scheme: &'static str,
    generation: u64,
}

/// One HTTP client's OAuth state: its tokens for one server.
pub(crate) struct Session {
    config: OAuth,
    server: Url,
    resource_key: String,
    http: reqwest::Client,
    current: Mutex<Option<Arc<Current>>>,
    flow: tokio::sync::Mutex<Flow>,
    dpop: Option<dpop::Key>,
    /// DPoP nonces by origin (RFC 9449 §8, §9).
    nonces: Mutex<HashMap<String, String>>,
    generation: AtomicU64,
}

impl Session {
    pub(crate) fn new(
        config: OAuth,
        server: &Url,
        tls: rustls::ClientConfig,
    ) -> Result<Session, OAuthError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(AS_TIMEOUT)
            .build()
            .map_err(|e| OAuthError::Http(e.to_string()))?;
        let dpop = (config.dpop != Some(false))
            .then(dpop::Key::generate)
            .transpose()?;
        let resource_key = discovery::resource_of(server);
        let session = Session {
            current: Mutex::new(None),
            flow: tokio::sync::Mutex::new(Flow::default()),
            config,
            server: server.clone(),
            resource_key,
            http,
            dpop,
            nonces: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(1),
        };
        // Tokens kept from an earlier connection (bound tokens die with their key).
        if let Some(stored) = session.config.store.load(&session.resource_key)
            && !stored.dpop_bound
            && stored.expires_at.is_none_or(|t| t > now() + EXPIRY_MARGIN)
        {
            *lock(&session.current) = Some(Arc::new(Current {
                access_token: stored.access_token,
                scheme: "Bearer",
                generation: 1,
            }));
        }
        Ok(session)
    }

    fn event(&self, event: AuthEvent) {
        tracing::debug!(?event, "oauth");
        if let Some(f) = &self.config.on_event {
            f(&event);
        }
    }

    /// The generation of the token requests go out with now.
    pub(crate) fn generation(&self) -> u64 {
        lock(&self.current).as_ref().map_or(0, |c| c.generation)
    }

    /// The authorization headers of a request to the server: the token, and under DPoP a
    /// proof for `method` and `url`.
    pub(crate) fn headers(&self, method: &Method, url: &Url, headers: &mut HeaderMap) {
        let Some(current) = lock(&self.current).clone() else {
            return;
        };
        if let Ok(v) =
            HeaderValue::from_str(&format!("{} {}", current.scheme, current.access_token))
        {
            headers.insert(header::AUTHORIZATION, v);
        }
        if current.scheme == "DPoP"
            && let Some(key) = &self.dpop
        {
            let nonce = lock(&self.nonces).get(&origin(url)).cloned();
            match key.proof(
                method.as_str(),
                url,
                Some(&current.access_token),
                nonce.as_deref(),
            ) {
                Ok(proof) => {
                    if let Ok(v) = HeaderValue::from_str(&proof) {
                        headers.insert("dpop", v);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "a DPoP proof could not be made"),
            }
        }
    }

    /// The server refused a request sent with token `generation`: whether sending it again
    /// may work now (a token was obtained), or why not.
    pub(crate) async fn refused(
        &self,
        generation: u64,
        status: StatusCode,
        headers: &HeaderMap,
        attempt: &mut Attempt,
    ) -> Result<bool, OAuthError> {
        attempt.refused += 1;
        if attempt.refused > MAX_STEP_UPS + 3 {
            return Ok(false);
        }
        let challenges: Vec<Challenge> = headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(discovery::parse_challenges)
            .collect();
        let bound = lock(&self.current)
            .as_ref()
            .is_some_and(|c| c.scheme == "DPoP");
        let challenge = discovery::pick(challenges, bound).unwrap_or_default();
        // A DPoP nonce the resource server wants (RFC 9449 §9): the same request again, with
        // a proof carrying it.
        if bound
            && challenge.error.as_deref() == Some("use_dpop_nonce")
            && let Some(nonce) = headers.get("dpop-nonce").and_then(|v| v.to_str().ok())
        {
            lock(&self.nonces).insert(origin(&self.server), nonce.to_string());
            return Ok(true);
        }
        let step_up = status == StatusCode::FORBIDDEN;
        if step_up && challenge.error.as_deref() != Some("insufficient_scope") {
            return Ok(false);
        }
        self.event(AuthEvent::Challenged {
            status: status.as_u16(),
            scope: challenge.scope.clone(),
        });
        let mut flow = self.flow.lock().await;
        // Another request got a new token meanwhile.
        if !step_up && self.generation() != generation {
            return Ok(true);
        }
        if step_up {
            attempt.step_ups += 1;
            if attempt.step_ups > MAX_STEP_UPS {
                let e = OAuthError::InsufficientScope(
                    challenge
                        .scope
                        .clone()
                        .unwrap_or_else(|| "no scope named".into()),
                );
                self.event(AuthEvent::Failed {
                    reason: e.to_string(),
                });
                return Err(e);
            }
        }
        match self.obtain(&mut flow, &challenge, step_up).await {
            Ok(()) => Ok(true),
            // Not an OAuth server: its refusal is the answer.
            Err(OAuthError::NoMetadata(why)) => {
                self.event(AuthEvent::Failed { reason: why });
                Ok(false)
            }
            Err(e) => {
                self.event(AuthEvent::Failed {
                    reason: e.to_string(),
                });
                Err(e)
            }
        }
    }

    /// Gets a token: refreshes the one held when it can, else runs the grant.
    async fn obtain(
        &self,
        flow: &mut Flow,
        challenge: &Challenge,
        step_up: bool,
    ) -> Result<(), OAuthError> {
        let discovered = self.discover(challenge).await?;
        // The resource moved to another authorization server: nothing of the old one is
        // used there (registration, refresh token).
        let moved = flow
            .registration
            .as_ref()
            .is_some_and(|r| r.issuer != discovered.issuer);
        let stored = self.config.store.load(&self.resource_key);
        let stored = stored.filter(|s| s.issuer == discovered.issuer);
        if moved {
            flow.registration = None;
            self.config.store.clear(&self.resource_key);
        }
        if flow.registration.is_none()
            && let Some(s) = &stored
            && let Some(client_id) = &s.client_id
        {
            flow.registration = Some(Registration {
                issuer: s.issuer.clone(),
                redirect_uri: s.redirect_uri.clone(),
                client_id: client_id.clone(),
                secret: s.client_secret.clone(),
                method: s.auth_method.clone().unwrap_or_else(|| "none".into()),
            });
        }
        flow.discovered = Some(discovered.clone());
        // A refresh, unless the server wants more scope than the token has.
        if !step_up
            && let Some(refresh) = stored.as_ref().and_then(|s| s.refresh_token.clone())
            && let Some(registration) = flow.registration.clone()
        {
            let mut form = vec![
                ("grant_type", "refresh_token".to_string()),
                ("refresh_token", refresh),
                ("resource", discovered.resource.clone()),
            ];
            if let Some(scope) = stored.as_ref().and_then(|s| s.scope.clone()) {
                form.push(("scope", scope));
            }
            match self
                .token_request(&discovered, Some(&registration), form)
                .await
            {
                Ok(tokens) => {
                    self.keep(&discovered, Some(&registration), tokens, "refresh_token");
                    return Ok(());
                }
                Err(e) => {
                    tracing::debug!(error = %e, "refreshing the token failed; authorizing again")
                }
            }
        }
        let scopes = self.scopes(flow, &discovered, challenge);
        flow.scopes = scopes.clone();
        let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
        match &self.config.grant {
            Grant::AuthorizationCode(authorizer) => {
                let registration = self
                    .register(flow, &discovered, authorizer.as_ref())
                    .await?;
                let tokens = self
                    .authorization_code(&discovered, &registration, authorizer.as_ref(), scope)
                    .await?;
                self.keep(
                    &discovered,
                    Some(&registration),
                    tokens,
                    "authorization_code",
                );
            }
            Grant::ClientCredentials => {
                let registration = self.configured(&discovered)?;
                let mut form = vec![
                    ("grant_type", "client_credentials".to_string()),
                    ("resource", discovered.resource.clone()),
                ];
                if let Some(s) = scope {
                    form.push(("scope", s));
                }
                let tokens = self
                    .token_request(&discovered, Some(&registration), form)
                    .await?;
                self.keep(
                    &discovered,
                    Some(&registration),
                    tokens,
                    "client_credentials",
                );
            }
            Grant::JwtBearer(assertion) => {
                let registration = self.configured(&discovered).ok();
                let jwt = assertion(AssertionRequest {
                    issuer: discovered.issuer.clone(),
                    resource: discovered.resource.clone(),
                    scope: scope.clone(),
                })
                .await?;
                let mut form = vec![
                    ("grant_type", JWT_BEARER.to_string()),
                    ("assertion", jwt),
                    ("resource", discovered.resource.clone()),
                ];
                if let Some(s) = scope {
                    form.push(("scope", s));
                }
                let tokens = self
                    .token_request(&discovered, registration.as_ref(), form)
                    .await?;
                self.keep(&discovered, registration.as_ref(), tokens, "jwt-bearer");
            }
        }
        Ok(())
    }

    /// The scopes to ask for: the configured ones; else the challenge's, else the
    /// resource's `scopes_supported`, else none; with those asked for before (step-up) and
    /// `offline_access` when the authorization server offers refresh tokens with it.
    fn scopes(&self, flow: &Flow, discovered: &Discovered, challenge: &Challenge) -> Vec<String> {
        let mut scopes: Vec<String> = Vec::new();
        let mut add = |s: &str| {
            for one in s.split_whitespace() {
                if !scopes.iter().any(|x| x == one) {
                    scopes.push(one.to_string());
                }
            }
        };
        if let Some(s) = &self.config.scope {
            add(s);
        } else {
            for s in &flow.scopes {
                add(s);
            }
            if let Some(s) = &challenge.scope {
                add(s);
            } else if flow.scopes.is_empty()
                && let Some(supported) = &discovered.resource_scopes
            {
                add(&supported.join(" "));
            }
        }
        let refreshable = discovered
            .metadata
            .grant_types_supported
            .as_ref()
            .is_none_or(|g| g.iter().any(|g| g == "refresh_token"));
        let offers_offline = discovered
            .metadata
            .scopes_supported
            .as_ref()
            .is_some_and(|s| s.iter().any(|s| s == "offline_access"));
        if matches!(self.config.grant, Grant::AuthorizationCode(_))
            && refreshable
            && offers_offline
            && !scopes.is_empty()
            && !scopes.iter().any(|s| s == "offline_access")
        {
            scopes.push("offline_access".into());
        }
        scopes
    }

    /// The configured client, for grants that need one registered beforehand.
    fn configured(&self, discovered: &Discovered) -> Result<Registration, OAuthError> {
        let Some(client_id) = &self.config.client_id else {
            return Err(OAuthError::Registration(
                "this grant needs a client registered at the authorization server: give its id (`OAuth::client_credentials` or `OAuth::pre_registered`)".into(),
            ));
        };
        let supported = discovered
            .metadata
            .token_endpoint_auth_methods_supported
            .clone()
            .unwrap_or_else(|| vec!["client_secret_basic".into()]);
        let method = match &self.config.credential {
            None => "none".to_string(),
            Some(ClientCredential::PrivateKey { .. }) => "private_key_jwt".to_string(),
            Some(ClientCredential::Secret(_)) => {
                if supported.iter().any(|m| m == "client_secret_basic") {
                    "client_secret_basic".into()
                } else if supported.iter().any(|m| m == "client_secret_post") {
                    "client_secret_post".into()
                } else {
                    "client_secret_basic".into()
                }
            }
        };
        Ok(Registration {
            issuer: discovered.issuer.clone(),
            redirect_uri: None,
            client_id: client_id.clone(),
            secret: match &self.config.credential {
                Some(ClientCredential::Secret(s)) => Some(s.clone()),
                _ => None,
            },
            method,
        })
    }

    /// The client's registration at the discovered issuer: kept, pre-registered, a
    /// metadata document URL, or registered now.
    async fn register(
        &self,
        flow: &mut Flow,
        discovered: &Discovered,
        authorizer: &dyn Authorize,
    ) -> Result<Registration, OAuthError> {
        // A registration is kept for its issuer, and, when registered dynamically, for its
        // redirect URI (a loopback port of an earlier run may not be the one listened on).
        if let Some(r) = &flow.registration
            && r.issuer == discovered.issuer
            && r.redirect_uri
                .as_ref()
                .is_none_or(|u| *u == authorizer.redirect_uri())
        {
            return Ok(r.clone());
        }
        let issuer = &discovered.issuer;
        let (registration, how) = if self.config.client_id.is_some()
            && self
                .config
                .client_issuer
                .as_ref()
                .is_none_or(|i| i.trim_end_matches('/') == issuer.trim_end_matches('/'))
        {
            (self.configured(discovered)?, "pre-registered")
        } else if let Some(url) = self
            .config
            .metadata_url
            .as_ref()
            .filter(|_| discovered.metadata.client_id_metadata_document_supported)
        {
            (
                Registration {
                    issuer: issuer.clone(),
                    redirect_uri: None,
                    client_id: url.clone(),
                    secret: None,
                    method: "none".into(),
                },
                "metadata document",
            )
        } else if let Some(endpoint) = &discovered.metadata.registration_endpoint {
            (
                self.dynamic(discovered, endpoint, authorizer).await?,
                "dynamic",
            )
        } else {
            return Err(OAuthError::Registration(format!(
                "the authorization server {issuer} offers no dynamic registration and no client ID metadata documents: register a client there and configure it (`OAuth::pre_registered`, `mcp-cli --client-id`)"
            )));
        };
        self.event(AuthEvent::Registered {
            issuer: issuer.clone(),
            client_id: registration.client_id.clone(),
            how: how.into(),
        });
        flow.registration = Some(registration.clone());
        Ok(registration)
    }

    /// Dynamic client registration (RFC 7591).
    async fn dynamic(
        &self,
        discovered: &Discovered,
        endpoint: &str,
        authorizer: &dyn Authorize,
    ) -> Result<Registration, OAuthError> {
        let supported = discovered
            .metadata
            .token_endpoint_auth_methods_supported
            .clone()
            .unwrap_or_else(|| vec!["client_secret_basic".into()]);
        let asked = ["none", "client_secret_basic", "client_secret_post"]
            .into_iter()
            .find(|m| supported.iter().any(|s| s == m))
            .unwrap_or("client_secret_basic");
        let redirect_uri = authorizer.redirect_uri();
        // A redirect to this machine is a native application's (RFC 8252); others are web.
        let application_type = match Url::parse(&redirect_uri) {
            Ok(u) if u.scheme() != "https" || is_loopback_host(&u) => "native",
            _ => "web",
        };
        let body = serde_json::json!({
            "client_name": self.config.client_name,
            "application_type": application_type,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": asked,
        });
        let response = self
            .http
            .post(endpoint)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| OAuthError::Http(e.to_string()))?;
        let status = response.status();
        let bytes = read(response).await?;
        // Without metadata, the default registration endpoint is a guess: a server that
        // has none is not an OAuth server (a static token, an API key).
        if discovered.defaults
            && matches!(
                status,
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            )
        {
            return Err(OAuthError::NoMetadata(format!(
                "{} answered 401 without protected resource metadata (RFC 9728), authorization server metadata or a registration endpoint: send its credential instead (`HttpClientOptions::header`, `mcp-cli --header`, `--api-key`)",
                self.server
            )));
        }
        if !status.is_success() {
            return Err(OAuthError::Registration(format!(
                "{endpoint} answered {status}: {}",
                explain(&bytes)
            )));
        }
        #[derive(Deserialize)]
        struct Registered {
            client_id: String,
            client_secret: Option<String>,
            token_endpoint_auth_method: Option<String>,
        }
        let r: Registered = serde_json::from_slice(&bytes).map_err(|e| {
            OAuthError::Registration(format!("{endpoint} answered with no client_id: {e}"))
        })?;
        let method = r.token_endpoint_auth_method.unwrap_or_else(|| {
            if r.client_secret.is_none() {
                "none".into()
            } else if supported.iter().any(|m| m == "client_secret_basic") {
                "client_secret_basic".into()
            } else {
                "client_secret_post".into()
            }
        });
        Ok(Registration {
            issuer: discovered.issuer.clone(),
            redirect_uri: Some(redirect_uri),
            client_id: r.client_id,
            secret: r.client_secret,
            method,
        })
    }

    /// The authorization code grant with PKCE (S256).
    async fn authorization_code(
        &self,
        discovered: &Discovered,
        registration: &Registration,
        authorizer: &dyn Authorize,
        scope: Option<String>,
    ) -> Result<Tokens, OAuthError> {
        let metadata = &discovered.metadata;
        // Metadata that does not list S256 may not do PKCE: the code could be stolen.
        if metadata.issuer.is_some()
            && !metadata
                .code_challenge_methods_supported
                .as_ref()
                .is_some_and(|m| m.iter().any(|m| m == "S256"))
        {
            return Err(OAuthError::Discovery(format!(
                "the authorization server {} does not list S256 in code_challenge_methods_supported: PKCE is required, so the client does not authorize there",
                discovered.issuer
            )));
        }
        let endpoint = metadata.authorization_endpoint.as_deref().ok_or_else(|| {
            OAuthError::Discovery(format!(
                "the authorization server {} names no authorization_endpoint",
                discovered.issuer
            ))
        })?;
        let mut url = Url::parse(endpoint).map_err(|_| {
            OAuthError::Discovery(format!(
                "authorization_endpoint `{}` is not a URL",
                endpoint.escape_debug()
            ))
        })?;
        let verifier = random(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let state = random(16);
        let redirect_uri = authorizer.redirect_uri();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &registration.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &state)
                .append_pair("resource", &discovered.resource);
            if let Some(s) = &scope {
                q.append_pair("scope", s);
            }
        }
        self.event(AuthEvent::Authorize {
            url: url.to_string(),
        });
        let back = authorizer.authorize(url).await?;
        let params: HashMap<String, String> = back.query_pairs().into_owned().collect();
        if let Some(error) = params.get("error") {
            return Err(OAuthError::Authorization(format!(
                "the authorization server refused: {}{}",
                error.escape_debug(),
                params
                    .get("error_description")
                    .map(|d| format!(" ({})", d.escape_debug()))
                    .unwrap_or_default()
            )));
        }
        if params.get("state") != Some(&state) {
            return Err(OAuthError::Authorization(
                "the redirect's `state` is not the one sent: refused (a forged or stale redirect)"
                    .into(),
            ));
        }
        // RFC 9207: `iss`, compared as a string with the recorded issuer.
        match params.get("iss") {
            Some(iss) if *iss != discovered.issuer => {
                return Err(OAuthError::Authorization(format!(
                    "the redirect's `iss` is `{}`, not the issuer {}: refused (RFC 9207)",
                    iss.escape_debug(),
                    discovered.issuer
                )));
            }
            None if metadata.authorization_response_iss_parameter_supported == Some(true) => {
                return Err(OAuthError::Authorization(format!(
                    "the issuer {} says it sends `iss` with its redirects, and this one has none: refused (RFC 9207)",
                    discovered.issuer
                )));
            }
            _ => {}
        }
        let Some(code) = params.get("code") else {
            return Err(OAuthError::Authorization(
                "the redirect carries no `code`".into(),
            ));
        };
        let form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("resource", discovered.resource.clone()),
        ];
        self.token_request(discovered, Some(registration), form)
            .await
    }

    /// A request to the token endpoint, with the client's authentication and, under DPoP,
    /// a proof (sent again once with the server's nonce when it asks for one).
    async fn token_request(
        &self,
        discovered: &Discovered,
        registration: Option<&Registration>,
        mut form: Vec<(&'static str, String)>,
    ) -> Result<Tokens, OAuthError> {
        let endpoint = discovered.token_endpoint()?.to_string();
        let endpoint_url = Url::parse(&endpoint).map_err(|_| {
            OAuthError::Discovery(format!(
                "token_endpoint `{}` is not a URL",
                endpoint.escape_debug()
            ))
        })?;
        let mut basic = None;
        if let Some(r) = registration {
            match r.method.as_str() {
                "client_secret_basic" => {
                    let secret = r.secret.clone().unwrap_or_default();
                    let pair = format!(
                        "{}:{}",
                        form_urlencoded::byte_serialize(r.client_id.as_bytes()).collect::<String>(),
                        form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
                    );
                    basic = Some(format!("Basic {}", STANDARD.encode(pair)));
                    // Not a second authentication, the id alone: some servers (the MCP
                    // Python SDK's) look the client up by the form's `client_id`.
                    form.push(("client_id", r.client_id.clone()));
                }
                "client_secret_post" => {
                    form.push(("client_id", r.client_id.clone()));
                    form.push(("client_secret", r.secret.clone().unwrap_or_default()));
                }
                "private_key_jwt" => {
                    let Some(ClientCredential::PrivateKey {
                        pem,
                        algorithm,
                        key_id,
                    }) = &self.config.credential
                    else {
                        return Err(OAuthError::Registration(
                            "private_key_jwt needs the client's private key (`ClientCredential::PrivateKey`)".into(),
                        ));
                    };
                    let assertion = dpop::client_assertion(
                        &r.client_id,
                        &discovered.issuer,
                        pem,
                        algorithm,
                        key_id.as_deref(),
                    )?;
                    form.push(("client_id", r.client_id.clone()));
                    form.push((
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ));
                    form.push(("client_assertion", assertion));
                }
                _ => form.push(("client_id", r.client_id.clone())),
            }
        }
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let mut nonce_retry = true;
        loop {
            let mut request = self
                .http
                .post(endpoint_url.clone())
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(body.clone());
            if let Some(b) = &basic {
                request = request.header(header::AUTHORIZATION, b);
            }
            if let Some(key) = self.dpop.as_ref().filter(|_| self.binds(discovered)) {
                let nonce = lock(&self.nonces).get(&origin(&endpoint_url)).cloned();
                request = request.header(
                    "dpop",
                    key.proof("POST", &endpoint_url, None, nonce.as_deref())?,
                );
            }
            let response = request
                .send()
                .await
                .map_err(|e| OAuthError::Http(e.to_string()))?;
            let status = response.status();
            let nonce = response
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = read(response).await?;
            if status.is_success() {
                let tokens: Tokens = serde_json::from_slice(&bytes).map_err(|e| {
                    OAuthError::Token(format!("{endpoint} answered without a usable token: {e}"))
                })?;
                return Ok(tokens);
            }
            if let (Some(nonce), true, true) = (nonce, nonce_retry, self.binds(discovered)) {
                let asked = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string));
                if asked.as_deref() == Some("use_dpop_nonce") {
                    lock(&self.nonces).insert(origin(&endpoint_url), nonce);
                    nonce_retry = false;
                    continue;
                }
            }
            return Err(OAuthError::Token(format!(
                "{endpoint} answered {status}: {}",
                explain(&bytes)
            )));
        }
    }

    /// Whether tokens from this authorization server are bound with DPoP.
    fn binds(&self, discovered: &Discovered) -> bool {
        self.dpop.is_some()
            && (self.config.dpop == Some(true)
                || discovered
                    .metadata
                    .dpop_signing_alg_values_supported
                    .as_ref()
                    .is_some_and(|a| a.iter().any(|a| a == "ES256")))
    }

    /// Puts a new token in use, and in the store.
    fn keep(
        &self,
        discovered: &Discovered,
        registration: Option<&Registration>,
        tokens: Tokens,
        grant: &str,
    ) {
        let scheme = if tokens.token_type.eq_ignore_ascii_case("dpop") && self.binds(discovered) {
            "DPoP"
        } else {
            "Bearer"
        };
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        self.event(AuthEvent::Token {
            grant: grant.into(),
            scope: tokens.scope.clone(),
        });
        let previous = self.config.store.load(&self.resource_key);
        self.config.store.save(
            &self.resource_key,
            &StoredTokens {
                issuer: discovered.issuer.clone(),
                client_id: registration.map(|r| r.client_id.clone()),
                client_secret: registration.and_then(|r| r.secret.clone()),
                auth_method: registration.map(|r| r.method.clone()),
                redirect_uri: registration.and_then(|r| r.redirect_uri.clone()),
                access_token: tokens.access_token.clone(),
                refresh_token: tokens.refresh_token.clone().or_else(|| {
                    previous
                        .filter(|p| p.issuer == discovered.issuer)
                        .and_then(|p| p.refresh_token)
                }),
                expires_at: tokens.expires_in.map(|s| now() + s),
                scope: tokens.scope.clone(),
                dpop_bound: scheme == "DPoP",
            },
        );
        *lock(&self.current) = Some(Arc::new(Current {
            access_token: tokens.access_token,
            scheme,
            generation,
        }));
    }
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A token endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize, Serialize)]
struct Tokens {
    access_token: String,
    #[serde(default = "bearer")]
    token_type: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

fn bearer() -> String {
    "Bearer".into()
}

fn is_loopback_host(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

async fn read(response: reqwest::Response) -> Result<Vec<u8>, OAuthError> {
    use futures_util::StreamExt;
    if response
        .content_length()
        .is_some_and(|n| n > BODY_LIMIT as u64)
    {
        return Err(OAuthError::Http(format!(
            "an answer larger than {BODY_LIMIT} bytes"
        )));
    }
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| OAuthError::Http(e.to_string()))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(OAuthError::Http(format!(
                "an answer larger than {BODY_LIMIT} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An OAuth error answer in a line: `error (error_description)`, else the body's start.
fn explain(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct E {
        error: String,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<E>(body) {
        Ok(e) => format!(
            "{}{}",
            e.error.escape_debug(),
            e.error_description
                .map(|d| format!(" ({})", d.escape_debug()))
                .unwrap_or_default()
        ),
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)])
            .escape_debug()
            .to_string(),
    }
}

impl Session {
    /// GETs a JSON document; `None` when there is none there (an error status).
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<Option<T>, OAuthError> {
        let response = self
            .http
            .get(url.clone())
            .header(header::ACCEPT, "application/json")
            .header("mcp-protocol-version", "2025-11-25")
            .send()
            .await
            .map_err(|e| OAuthError::Http(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let bytes = read(response).await?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| OAuthError::Discovery(format!("{url} is not valid metadata: {e}")))
    }
}
