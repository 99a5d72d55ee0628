//! The OAuth 2.1 resource server: JWT access tokens checked with the issuer's keys (JWKS),
//! opaque ones through token introspection (RFC 7662).
//!
//! Signatures and claims are checked by `jsonwebtoken` (on ring); this module fetches and
//! caches the keys, picks the key a token names, and turns claims into a [`Principal`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::options::OAuthOptions;
use super::principal::{Principal, PrincipalBuilder, PrincipalKind};
use crate::protocol::JsonObject;

/// The signature algorithms accepted: RSA, ECDSA P-256 and Ed25519. HMAC (`HS*`) is never
/// accepted (a resource server holds no shared secret, and accepting it would let a token
/// be signed with the public key), nor is `none`.
const ALGORITHMS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The largest document read from the authorization server (metadata, JWKS, introspection).
const MAX_DOCUMENT: usize = 1024 * 1024;

/// The most introspection answers, and the most verified JWTs, kept.
const INTROSPECTION_CACHE_ENTRIES: usize = 10_000;

/// How long a verified JWT is taken as verified when presented again (never past its
/// `exp`): checking a signature costs far more than the rest of a request, and a client
/// presents the same token on every request until it expires.
const JWT_CACHE: Duration = Duration::from_secs(60);

/// Why a token was not accepted.
#[derive(Debug)]
pub(crate) enum TokenFailure {
    /// 401 `invalid_token`, with what is wrong (sent to the client).
    Invalid(String),
    /// 503: the authorization server could not be asked (the reason is logged, and sent).
    Unavailable(String),
}

/// One signing key of the JWKS.
struct SigningKey {
    kid: Option<String>,
    /// The algorithm the JWK is restricted to, if it says.
    alg: Option<Algorithm>,
    /// The key's type, as [`family`] numbers them.
    family: u8,
    key: DecodingKey,
}

struct Jwks {
    keys: Vec<SigningKey>,
    fetched: Instant,
}

/// The endpoints of the authorization server, as configured or read from its metadata.
#[derive(Clone, Default)]
struct Endpoints {
    jwks_uri: Option<String>,
    introspection: Option<String>,
}

#[derive(Default)]
struct KeyState {
    jwks: Option<Arc<Jwks>>,
    endpoints: Option<Endpoints>,
    /// When the keys were last asked for (successfully or not), for the refetch limit.
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

/// Checks access tokens for one issuer.
pub(crate) struct OAuth {
    pub(crate) options: OAuthOptions,
    /// `resource` as configured, or the endpoint's URL.
    pub(crate) resource: String,
    audiences: Vec<String>,
    http: reqwest::Client,
    state: Mutex<KeyState>,
    /// One fetch of the authorization server's documents at a time.
    fetching: tokio::sync::Mutex<()>,
    introspected: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    /// JWTs verified lately, by a keyed tag (see `auth::verified`).
    verified: super::verified::Verified<Principal>,
}

impl OAuth {
    pub(crate) fn new(options: OAuthOptions, resource: String) -> Result<OAuth, String> {
        if options.issuer.is_empty() {
            return Err("OAuth needs the issuer (`--oauth-issuer`)".into());
        }
        let mut audiences = vec![resource.clone()];
        audiences.extend(options.extra_audiences.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS cannot be set up: {e}"))?;
        let tls = match rustls_platform_verifier::Verifier::new(provider) {
            Ok(verifier) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth(),
            Err(e) => {
                tracing::warn!(error = %e, "no CA roots on this machine: https:// to the authorization server will fail");
                builder
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            }
        };
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(options.fetch_timeout)
            .connect_timeout(options.fetch_timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| format!("the HTTP client cannot be set up: {e}"))?;
        let endpoints = (options.jwks_uri.is_some() || options.introspection_endpoint.is_some())
            .then(|| Endpoints {
                jwks_uri: options.jwks_uri.clone(),
                introspection: options.introspection_endpoint.clone(),
            });
        Ok(OAuth {
            options,
            resource,
            audiences,
            http,
            state: Mutex::new(KeyState {
                endpoints,
                ..KeyState::default()
            }),
            fetching: tokio::sync::Mutex::new(()),
            introspected: Mutex::new(HashMap::new()),
            verified: super::verified::Verified::new(INTROSPECTION_CACHE_ENTRIES),
        })
    }

    /// The principal of an access token.
    pub(crate) async fn authenticate(&self, token: &str) -> Result<Principal, TokenFailure> {
        // Looked up before the token's form is checked: a token seen lately needs neither.
        let tag = self.verified.tag(token.as_bytes());
        if let Some(p) = self.verified.get(tag, Some(Instant::now())) {
            return Ok(p);
        }
        if looks_like_jwt(token) {
            let principal = self.check_jwt(token).await?;
            self.verified.insert(
                tag,
                principal.clone(),
                Some(keep_until(&principal, JWT_CACHE)),
            );
            return Ok(principal);
        }
        self.introspect(token).await
    }

    async fn check_jwt(&self, token: &str) -> Result<Principal, TokenFailure> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            TokenFailure::Invalid(match e.kind() {
                jsonwebtoken::errors::ErrorKind::Json(_) => {
                    "the token is malformed: its header is not valid, or its `alg` is not one this server accepts (RS256, RS384, RS512, PS256, ES256, ES384, EdDSA)".into()
                }
                _ => format!("the token is malformed: {e}"),
            })
        })?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(TokenFailure::Invalid(format!(
                "the token's `alg` {:?} is not accepted: a resource server takes asymmetric signatures only (RS256, RS384, RS512, PS256, ES256, ES384, EdDSA)",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.options.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.options.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let keys = self.keys_for(header.kid.as_deref(), header.alg).await?;
        let mut last = None;
        for key in &keys.keys {
            if !key_fits(key, header.kid.as_deref(), header.alg) {
                continue;
            }
            match jsonwebtoken::decode::<JsonObject>(token, &key.key, &validation) {
                Ok(data) => return Ok(principal_of(PrincipalKind::Jwt, data.claims)),
                Err(e) => {
                    let signature = matches!(
                        e.kind(),
                        jsonwebtoken::errors::ErrorKind::InvalidSignature
                            | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
                    );
                    last = Some(e);
                    // Without a `kid`, another key of the same type may be the one.
                    if !(signature && header.kid.is_none()) {
                        break;
                    }
                }
            }
        }
        let reason = match last {
            None => match &header.kid {
                Some(kid) => format!("the issuer's JWKS has no key `{kid}` for {:?}", header.alg),
                None => format!("the issuer's JWKS has no key for {:?}", header.alg),
            },
            Some(e) => self.describe(e),
        };
        Err(TokenFailure::Invalid(reason))
    }

    fn describe(&self, e: jsonwebtoken::errors::Error) -> String {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::ExpiredSignature => "the token expired (`exp`)".into(),
            K::ImmatureSignature => "the token is not valid yet (`nbf`)".into(),
            K::InvalidIssuer => format!(
                "the token's issuer (`iss`) is not `{}`",
                self.options.issuer
            ),
            K::InvalidAudience => format!(
                "the token's audience (`aud`) does not include this server, `{}`",
                self.resource
            ),
            K::InvalidSignature => "the token's signature does not verify".into(),
            K::InvalidAlgorithm => "the token's `alg` does not match its key".into(),
            K::MissingRequiredClaim(c) => format!("the token has no `{c}` claim"),
            _ => format!("the token is malformed: {e}"),
        }
    }

    /// The keys, fetched again when stale or when none fits the token (at most once per
    /// `jwks_refetch_interval`).
    async fn keys_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<Jwks>, TokenFailure> {
        let fits = |jwks: &Jwks| jwks.keys.iter().any(|k| key_fits(k, kid, alg));
        let (cached, may_fetch) = {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let may_fetch = state
                .last_attempt
                .is_none_or(|t| t.elapsed() >= self.options.jwks_refetch_interval);
            (state.jwks.clone(), may_fetch)
        };
        if let Some(jwks) = &cached
            && fits(jwks)
            && jwks.fetched.elapsed() < self.options.jwks_max_age
        {
            return Ok(Arc::clone(jwks));
        }
        if may_fetch {
            let _one = self.fetching.lock().await;
            // Someone else may have fetched while this waited.
            let again = {
                let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                state
                    .last_attempt
                    .is_none_or(|t| t.elapsed() >= self.options.jwks_refetch_interval)
            };
            if again {
                let result = self.fetch_jwks().await;
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                state.last_attempt = Some(Instant::now());
                match result {
                    Ok(jwks) => {
                        state.jwks = Some(Arc::new(jwks));
                        state.last_error = None;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, issuer = %self.options.issuer, "fetching the issuer's signing keys failed");
                        state.last_error = Some(e);
                    }
                }
            }
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match (&state.jwks, &state.last_error) {
            // Stale keys still verify what they signed, while the issuer cannot be reached.
            (Some(jwks), _) => Ok(Arc::clone(jwks)),
            (None, Some(e)) => Err(TokenFailure::Unavailable(format!(
                "the authorization server's signing keys could not be fetched: {e}"
            ))),
            (None, None) => Err(TokenFailure::Unavailable(
                "the authorization server's signing keys are being fetched; try again".into(),
            )),
        }
    }

    async fn endpoints(&self) -> Result<Endpoints, String> {
        if let Some(e) = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .endpoints
            .clone()
        {
            return Ok(e);
        }
        let issuer = self.options.issuer.trim_end_matches('/');
        let (origin, path) = split_origin(issuer);
        let candidates = [
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{issuer}/.well-known/openid-configuration"),
        ];
        let mut errors = Vec::new();
        for url in candidates {
            match self.get_json(&url).await {
                Ok(Value::Object(doc)) => {
                    if doc
                        .get("issuer")
                        .and_then(Value::as_str)
                        .map(|s| s.trim_end_matches('/'))
                        != Some(issuer)
                    {
                        errors.push(format!(
                            "{url}: its `issuer` is not `{}`",
                            self.options.issuer
                        ));
                        continue;
                    }
                    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
                    let endpoints = Endpoints {
                        jwks_uri: text("jwks_uri"),
                        introspection: text("introspection_endpoint"),
                    };
                    self.state
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .endpoints = Some(endpoints.clone());
                    return Ok(endpoints);
                }
                Ok(_) => errors.push(format!("{url}: not a JSON object")),
                Err(e) => errors.push(e),
            }
        }
        Err(format!(
            "the issuer's metadata could not be read ({}); set the JWKS URI (`--oauth-jwks-uri`) or the introspection endpoint",
            errors.join("; ")
        ))
    }

    async fn fetch_jwks(&self) -> Result<Jwks, String> {
        let endpoints = self.endpoints().await?;
        let Some(uri) = endpoints.jwks_uri else {
            return Err("the issuer names no `jwks_uri`; JWTs cannot be checked".into());
        };
        let doc = self.get_json(&uri).await?;
        let Some(list) = doc.get("keys").and_then(Value::as_array) else {
            return Err(format!("{uri}: not a JWKS (no `keys` array)"));
        };
        let mut keys = Vec::new();
        for raw in list {
            if raw.get("use").and_then(Value::as_str) == Some("enc") {
                continue;
            }
            // A key of a type or algorithm this server does not use is skipped, not fatal.
            let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
                tracing::debug!(kid = ?raw.get("kid"), "a JWKS key of an unknown type was skipped");
                continue;
            };
            use jsonwebtoken::jwk::AlgorithmParameters as P;
            let family = match &jwk.algorithm {
                P::RSA(_) => 0,
                P::EllipticCurve(_) => 1,
                P::OctetKeyPair(_) => 2,
                // A shared secret in a public key set: never used to verify.
                P::OctetKey(_) => continue,
            };
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            let alg = jwk
                .common
                .key_algorithm
                .and_then(|a| a.to_string().parse::<Algorithm>().ok());
            keys.push(SigningKey {
                kid: jwk.common.key_id.clone(),
                alg,
                family,
                key,
            });
        }
        tracing::debug!(uri, keys = keys.len(), "signing keys fetched");
        Ok(Jwks {
            keys,
            fetched: Instant::now(),
        })
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
        read_json(url, response).await
    }

    /// Token introspection (RFC 7662), with answers reused for a short while.
    async fn introspect(&self, token: &str) -> Result<Principal, TokenFailure> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let cache = self.options.introspection_cache;
        if !cache.is_zero()
            && let Some(p) = cached(&self.introspected, &digest)
        {
            return Ok(p);
        }
        let endpoints = self.endpoints().await.map_err(TokenFailure::Unavailable)?;
        let Some(endpoint) = endpoints.introspection else {
            return Err(TokenFailure::Invalid(
                "the token is not a JWT, and this server has no introspection endpoint to check it with".into(),
            ));
        };
        let mut body = String::from("token=");
        form_encode(token, &mut body);
        body.push_str("&token_type_hint=access_token");
        let mut request = self
            .http
            .post(&endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        if let Some(id) = &self.options.introspection_client_id {
            let mut credentials = String::new();
            form_encode(id, &mut credentials);
            credentials.push(':');
            if let Some(secret) = &self.options.introspection_client_secret {
                form_encode(secret, &mut credentials);
            }
            request = request.header(
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(credentials)
                ),
            );
        }
        let response = request.send().await.map_err(|e| {
            let e = format!("{endpoint}: {}", error_chain(&e));
            tracing::error!(error = %e, "token introspection failed");
            TokenFailure::Unavailable(format!("the token could not be introspected: {e}"))
        })?;
        let doc = read_json(&endpoint, response).await.map_err(|e| {
            tracing::error!(error = %e, "token introspection failed");
            TokenFailure::Unavailable(format!("the token could not be introspected: {e}"))
        })?;
        let Value::Object(claims) = doc else {
            return Err(TokenFailure::Unavailable(format!(
                "{endpoint}: the introspection answer is not a JSON object"
            )));
        };
        let principal = self.check_introspected(claims)?;
        if !cache.is_zero() {
            remember(&self.introspected, digest, &principal, cache);
        }
        Ok(principal)
    }

    fn check_introspected(&self, claims: JsonObject) -> Result<Principal, TokenFailure> {
        if claims.get("active") != Some(&Value::Bool(true)) {
            return Err(TokenFailure::Invalid(
                "the token is not active (expired, revoked, or never issued)".into(),
            ));
        }
        let now = super::api_keys::unix_now();
        let leeway = self.options.leeway.as_secs();
        if let Some(exp) = claims.get("exp").and_then(Value::as_u64)
            && exp + leeway <= now
        {
            return Err(TokenFailure::Invalid("the token expired (`exp`)".into()));
        }
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_u64)
            && nbf > now + leeway
        {
            return Err(TokenFailure::Invalid(
                "the token is not valid yet (`nbf`)".into(),
            ));
        }
        if let Some(iss) = claims.get("iss").and_then(Value::as_str)
            && iss.trim_end_matches('/') != self.options.issuer.trim_end_matches('/')
        {
            return Err(TokenFailure::Invalid(format!(
                "the token's issuer (`iss`) is not `{}`",
                self.options.issuer
            )));
        }
        if let Some(aud) = claims.get("aud") {
            let listed = match aud {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !listed
                .iter()
                .any(|a| self.audiences.iter().any(|ours| same_uri(a, ours)))
            {
                return Err(TokenFailure::Invalid(format!(
                    "the token's audience (`aud`) does not include this server, `{}`",
                    self.resource
                )));
            }
        }
        Ok(principal_of(PrincipalKind::Introspected, claims))
    }
}

/// A principal cached for a token, while its entry lasts.
fn cached(
    cache: &Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    digest: &[u8; 32],
) -> Option<Principal> {
    let cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    match cache.get(digest) {
        Some((p, until)) if Instant::now() < *until => Some(p.clone()),
        _ => None,
    }
}

/// Keeps `principal` for its token for `keep`, never past the token's `exp`; the cache holds
/// at most [`INTROSPECTION_CACHE_ENTRIES`] (expired entries go first, then all).
fn remember(
    cache: &Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    digest: [u8; 32],
    principal: &Principal,
    keep: Duration,
) {
    let now = Instant::now();
    let until = keep_until(principal, keep);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= INTROSPECTION_CACHE_ENTRIES {
        cache.retain(|_, (_, t)| *t > now);
        if cache.len() >= INTROSPECTION_CACHE_ENTRIES {
            cache.clear();
        }
    }
    cache.insert(digest, (principal.clone(), until));
}

/// `keep` from now, but never past the token's `exp`.
fn keep_until(principal: &Principal, keep: Duration) -> Instant {
    let now = Instant::now();
    let mut until = now + keep;
    if let Some(exp) = principal.claim("exp").and_then(Value::as_u64) {
        let left = exp.saturating_sub(super::api_keys::unix_now());
        until = until.min(now + Duration::from_secs(left));
    }
    until
}

/// URIs equal but for a trailing slash.
fn same_uri(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn key_fits(key: &SigningKey, kid: Option<&str>, alg: Algorithm) -> bool {
    if let Some(kid) = kid
        && key.kid.as_deref() != Some(kid)
    {
        return false;
    }
    if key.alg.is_some_and(|a| a != alg) {
        return false;
    }
    key.family == family(alg)
}

/// The key type an algorithm needs: 0 RSA, 1 EC, 2 OKP (Ed25519), 3 symmetric.
fn family(alg: Algorithm) -> u8 {
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => 1,
        Algorithm::EdDSA => 2,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => 3,
        _ => 0,
    }
}

/// A principal from a token's claims: `sub` (or `client_id`, `username`), `iss`, and the
/// scopes of `scope` (space-separated) or `scp` (Entra ID, Okta: a list or a string).
fn principal_of(kind: PrincipalKind, claims: JsonObject) -> Principal {
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    let subject = text("sub")
        .or_else(|| text("client_id"))
        .or_else(|| text("username"))
        .unwrap_or_default();
    let mut scopes: Vec<String> = Vec::new();
    for key in ["scope", "scp"] {
        match claims.get(key) {
            Some(Value::String(s)) => scopes.extend(s.split_whitespace().map(str::to_string)),
            Some(Value::Array(a)) => {
                scopes.extend(a.iter().filter_map(Value::as_str).map(str::to_string))
            }
            _ => {}
        }
    }
    PrincipalBuilder::new(kind, subject)
        .issuer(text("iss"))
        .scopes(scopes)
        .claims(claims)
        .build()
}

/// Three base64url segments: a JWS in compact form.
fn looks_like_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_some() && parts.next().is_none()
}

/// `https://host[:port]` and the rest of a URL.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

/// `application/x-www-form-urlencoded` of one value.
fn form_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A JSON body of at most [`MAX_DOCUMENT`] bytes from a successful response.
async fn read_json(url: &str, mut response: reqwest::Response) -> Result<Value, String> {
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{url}: {}", error_chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(format!(
                "{url}: the document is larger than {MAX_DOCUMENT} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts_are_told_from_opaque_tokens() {
        assert!(looks_like_jwt("eyJh.eyJz.c2ln"));
        assert!(looks_like_jwt("a.b."));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("mcpk_0011_abc"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt("a b.c.d"));
    }

    #[test]
    fn origins_split_for_metadata_urls() {
        assert_eq!(
            split_origin("https://auth.example.com/tenant/1"),
            ("https://auth.example.com", "/tenant/1")
        );
        assert_eq!(
            split_origin("https://auth.example.com"),
            ("https://auth.example.com", "")
        );
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        let claims: JsonObject =
            serde_json::from_str(r#"{"sub":"u1","iss":"https://i","scope":"a b","scp":["c"]}"#)
                .unwrap();
        let p = principal_of(PrincipalKind::Jwt, claims);
        assert_eq!(p.subject(), "u1");
        assert_eq!(p.issuer(), Some("https://i"));
        assert_eq!(p.scopes().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn form_values_are_escaped() {
        let mut s = String::new();
        form_encode("a b&c=d/é", &mut s);
        assert_eq!(s, "a%20b%26c%3Dd%2F%C3%A9");
    }
}
