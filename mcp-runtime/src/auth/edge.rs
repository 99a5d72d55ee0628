//! Authentication at the HTTP edge: the credential of one request (`Authorization: Bearer`
//! or `X-API-Key`) checked against what the server was given, and what a refused client is
//! told (`WWW-Authenticate`, RFC 9728 metadata).

#[cfg(feature = "auth")]
use std::sync::Arc;

use http::{HeaderMap, HeaderValue};

use super::principal::{Principal, PrincipalBuilder, PrincipalKind};
use crate::transport::http::HttpOptions;

/// The longest credential looked at; longer ones are refused without being parsed.
pub(crate) const MAX_CREDENTIAL: usize = 16 * 1024;

/// The API key header.
pub(crate) const X_API_KEY: &str = "x-api-key";

/// Why a request's credential was not accepted.
#[derive(Debug)]
pub(crate) enum Failure {
    /// 401: no credential.
    Missing,
    /// 401 `invalid_token`: what is wrong with the credential (sent to the client).
    Invalid(String),
    /// 503: the authorization server could not be asked.
    Unavailable(String),
}

/// What every request is checked against.
pub(crate) struct Edge {
    /// The SHA-256 digest of `--auth-token`, compared in constant time (fixed size: the
    /// comparison tells nothing of the token's length).
    #[cfg(feature = "auth")]
    token: Option<[u8; 32]>,
    #[cfg(not(feature = "auth"))]
    token: Option<String>,
    #[cfg(feature = "auth")]
    keys: Option<Arc<super::api_keys::KeyStore>>,
    #[cfg(feature = "oauth")]
    oauth: Option<Arc<super::oauth::OAuth>>,
    /// The RFC 9728 document, and the paths it is served at.
    metadata: Option<Metadata>,
    /// `realm="mcp"`, plus `resource_metadata` and `scope` when OAuth is on.
    challenge_params: String,
}

pub(crate) struct Metadata {
    pub(crate) paths: Vec<String>,
    pub(crate) url: String,
    pub(crate) document: String,
}

impl Edge {
    /// Prepares the checks. `endpoint` is the endpoint's URL as bound; `declared_scopes` every
    /// scope the server's items need, for the metadata when none are configured.
    pub(crate) fn new(
        options: &HttpOptions,
        endpoint: &str,
        declared_scopes: Vec<String>,
    ) -> Result<Edge, crate::Error> {
        #[cfg(feature = "auth")]
        let token = options.auth_token.as_ref().map(|t| digest(t.as_bytes()));
        #[cfg(not(feature = "auth"))]
        let token = options.auth_token.clone();
        #[cfg(feature = "auth")]
        let keys = match &options.api_keys {
            None => None,
            Some(path) => {
                let store =
                    Arc::new(super::api_keys::KeyStore::open(path).map_err(crate::Error::Auth)?);
                tracing::debug!(path = %path.display(), keys = store.len(), "API keys loaded");
                super::api_keys::watch(&store);
                Some(store)
            }
        };
        #[cfg(not(feature = "auth"))]
        if options.api_keys.is_some() {
            return Err(crate::Error::FeatureDisabled {
                feature: "auth",
                what: "`--api-keys`",
            });
        }
        #[allow(unused_mut)]
        let mut challenge_params = String::from("realm=\"mcp\"");
        let mut metadata = None;
        #[cfg(feature = "oauth")]
        let oauth = match &options.oauth {
            None => None,
            Some(o) => {
                let resource = o.resource.clone().unwrap_or_else(|| endpoint.to_string());
                let scopes = if o.scopes_supported.is_empty() {
                    declared_scopes
                } else {
                    o.scopes_supported.clone()
                };
                let m = metadata_of(&resource, &o.issuer, &scopes)?;
                challenge_params.push_str(&format!(", resource_metadata=\"{}\"", m.url));
                if !scopes.is_empty() {
                    challenge_params.push_str(&format!(", scope=\"{}\"", scopes.join(" ")));
                }
                metadata = Some(m);
                Some(Arc::new(
                    super::oauth::OAuth::new(o.clone(), resource).map_err(crate::Error::Auth)?,
                ))
            }
        };
        #[cfg(not(feature = "oauth"))]
        {
            let _ = (endpoint, declared_scopes, &mut metadata);
            if options.oauth.is_some() {
                return Err(crate::Error::FeatureDisabled {
                    feature: "oauth",
                    what: "`--oauth-issuer`",
                });
            }
        }
        Ok(Edge {
            token,
            #[cfg(feature = "auth")]
            keys,
            #[cfg(feature = "oauth")]
            oauth,
            metadata,
            challenge_params,
        })
    }

    /// Whether any credential is asked for.
    /// The API keys, when `--api-keys` is given.
    #[cfg(feature = "auth")]
    pub(crate) fn key_store(&self) -> Option<&Arc<super::api_keys::KeyStore>> {
        self.keys.as_ref()
    }

    pub(crate) fn enabled(&self) -> bool {
        #[allow(unused_mut)]
        let mut on = self.token.is_some();
        #[cfg(feature = "auth")]
        {
            on |= self.keys.is_some();
        }
        #[cfg(feature = "oauth")]
        {
            on |= self.oauth.is_some();
        }
        on
    }

    /// The RFC 9728 document, if OAuth is on.
    pub(crate) fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// Who sent the request: the principal of its credential, or
    /// [`Principal::anonymous`] when the server asks for none.
    pub(crate) async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Failure> {
        if !self.enabled() {
            return Ok(Principal::anonymous());
        }
        let credential = match headers.get(X_API_KEY) {
            Some(key) => Some(key),
            None => headers.get(http::header::AUTHORIZATION),
        };
        let Some(credential) = credential else {
            return Err(Failure::Missing);
        };
        if credential.len() > MAX_CREDENTIAL {
            return Err(Failure::Invalid(format!(
                "the credential is longer than {MAX_CREDENTIAL} bytes"
            )));
        }
        let Ok(text) = credential.to_str() else {
            return Err(Failure::Invalid(
                "the credential is not visible ASCII".into(),
            ));
        };
        let secret = if headers.contains_key(X_API_KEY) {
            text.trim()
        } else {
            let Some((scheme, token)) = text.trim().split_once(' ') else {
                return Err(Failure::Missing);
            };
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(Failure::Missing);
            }
            token.trim_start()
        };
        self.check(secret).await
    }

    async fn check(&self, secret: &str) -> Result<Principal, Failure> {
        if let Some(expected) = &self.token {
            #[cfg(feature = "auth")]
            let same = {
                use subtle::ConstantTimeEq as _;
                bool::from(expected.ct_eq(&digest(secret.as_bytes())))
            };
            #[cfg(not(feature = "auth"))]
            let same = constant_time_eq(expected.as_bytes(), secret.as_bytes());
            if same {
                return Ok(shared_token());
            }
        }
        #[cfg(feature = "auth")]
        if let Some(keys) = &self.keys
            && secret.starts_with(super::api_keys::KEY_PREFIX)
        {
            use super::api_keys::KeyRefusal;
            return keys
                .check(secret, super::api_keys::unix_now())
                .map_err(|refusal| {
                    Failure::Invalid(match refusal {
                        KeyRefusal::Malformed => "the API key is malformed".into(),
                        KeyRefusal::Unknown => "unknown or revoked API key".into(),
                        KeyRefusal::Expired(id) => format!("the API key `{id}` expired"),
                    })
                });
        }
        #[cfg(feature = "oauth")]
        if let Some(oauth) = &self.oauth {
            use super::oauth::TokenFailure;
            return oauth.authenticate(secret).await.map_err(|f| match f {
                TokenFailure::Invalid(why) => Failure::Invalid(why),
                TokenFailure::Unavailable(why) => Failure::Unavailable(why),
            });
        }
        Err(Failure::Invalid("the bearer token is not valid".into()))
    }

    /// `WWW-Authenticate` for a 401.
    pub(crate) fn challenge(&self, failure: &Failure) -> HeaderValue {
        let mut value = format!("Bearer {}", self.challenge_params);
        if let Failure::Invalid(why) = failure {
            value.push_str(", error=\"invalid_token\", error_description=\"");
            quote_into(why, &mut value);
            value.push('"');
        }
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }

    /// `WWW-Authenticate` for a 403: the caller lacks `scope` (step-up authorization).
    pub(crate) fn insufficient_scope(&self, scope: &str) -> HeaderValue {
        let mut value = String::from("Bearer error=\"insufficient_scope\", scope=\"");
        quote_into(scope, &mut value);
        value.push('"');
        if let Some(m) = &self.metadata {
            value.push_str(&format!(", resource_metadata=\"{}\"", m.url));
        }
        value.push_str(", error_description=\"");
        quote_into(&format!("this needs the scope `{scope}`"), &mut value);
        value.push('"');
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }

    /// What a 401 says in its body.
    pub(crate) fn message(&self, failure: &Failure) -> String {
        match failure {
            Failure::Missing => {
                #[cfg(feature = "auth")]
                if self.keys.is_some() {
                    return "Unauthorized: send `Authorization: Bearer <token>` or `X-API-Key: <key>`"
                        .to_string();
                }
                "Unauthorized: send `Authorization: Bearer <token>`".to_string()
            }
            Failure::Invalid(why) => format!("Unauthorized: {why}"),
            Failure::Unavailable(why) => format!("Service Unavailable: {why}"),
        }
    }
}

fn shared_token() -> Principal {
    static TOKEN: std::sync::OnceLock<Principal> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            PrincipalBuilder::new(PrincipalKind::SharedToken, "token".into())
                .all_scopes()
                .build()
        })
        .clone()
}

#[cfg(feature = "auth")]
fn digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Compares without stopping at the first difference (builds without the `auth` feature).
#[cfg(not(feature = "auth"))]
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Text in a quoted-string of a challenge: RFC 6750 allows `%x20-21 / %x23-5B / %x5D-7E`;
/// anything else (quotes, backslashes, control and non-ASCII characters, which may come from
/// the client's token) becomes `?`.
fn quote_into(text: &str, out: &mut String) {
    for c in text.chars() {
        let ok = matches!(c as u32, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e);
        out.push(if ok { c } else { '?' });
    }
}

/// The protected-resource metadata (RFC 9728) of `resource`, served at
/// `/.well-known/oauth-protected-resource` with the resource's path appended, and without.
#[cfg(feature = "oauth")]
fn metadata_of(resource: &str, issuer: &str, scopes: &[String]) -> Result<Metadata, crate::Error> {
    let Some(after) = resource.split_once("://").map(|(_, rest)| rest) else {
        return Err(crate::Error::Auth(format!(
            "the resource URI `{resource}` is not an absolute https:// (or http://) URI"
        )));
    };
    if resource.contains('#') {
        return Err(crate::Error::Auth(format!(
            "the resource URI `{resource}` must not have a fragment (RFC 8707)"
        )));
    }
    let origin_len = resource.len() - after.len() + after.find('/').unwrap_or(after.len());
    let (origin, path) = resource.split_at(origin_len);
    let path = path.split('?').next().unwrap_or("").trim_end_matches('/');
    let base = "/.well-known/oauth-protected-resource";
    let mut paths = vec![format!("{base}{path}")];
    if !path.is_empty() {
        paths.push(base.to_string());
    }
    let mut doc = serde_json::Map::new();
    doc.insert("resource".into(), resource.into());
    doc.insert("authorization_servers".into(), vec![issuer].into());
    if !scopes.is_empty() {
        doc.insert("scopes_supported".into(), scopes.into());
    }
    doc.insert("bearer_methods_supported".into(), vec!["header"].into());
    Ok(Metadata {
        url: format!("{origin}{}", paths[0]),
        paths,
        document: serde_json::Value::Object(doc).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_quote_safely() {
        let mut s = String::new();
        quote_into("kid \"x\\y\" é\n", &mut s);
        assert_eq!(s, "kid ?x?y? ??");
    }

    /// The default features leave the resource server out: `--oauth-issuer` is refused with
    /// the feature to turn on, not ignored (which would serve without authentication).
    #[cfg(not(feature = "oauth"))]
    #[test]
    fn an_oauth_issuer_without_the_feature_is_refused_naming_it() {
        let options = HttpOptions {
            oauth: Some(crate::auth::OAuthOptions::new("https://auth.example.com")),
            ..HttpOptions::default()
        };
        let Err(e) = Edge::new(&options, "http://127.0.0.1:1/mcp", Vec::new()) else {
            panic!("an edge was built for `--oauth-issuer` without the `oauth` feature");
        };
        let text = e.to_string();
        assert!(
            matches!(
                e,
                crate::Error::FeatureDisabled {
                    feature: "oauth",
                    ..
                }
            ),
            "{text}"
        );
        assert!(
            text.contains("`--oauth-issuer`") && text.contains("`oauth` feature"),
            "{text}"
        );
    }

    #[cfg(feature = "oauth")]
    #[test]
    fn metadata_lives_beside_the_resource_path() {
        let m = metadata_of(
            "https://mcp.example.com/mcp",
            "https://auth.example.com",
            &["notes:read".into()],
        )
        .unwrap();
        assert_eq!(
            m.url,
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            m.paths,
            [
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-protected-resource"
            ]
        );
        let doc: serde_json::Value = serde_json::from_str(&m.document).unwrap();
        assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
        assert_eq!(doc["authorization_servers"][0], "https://auth.example.com");
        assert_eq!(doc["scopes_supported"][0], "notes:read");
        let root = metadata_of("https://mcp.example.com", "https://a", &[]).unwrap();
        assert_eq!(root.paths, ["/.well-known/oauth-protected-resource"]);
        assert!(metadata_of("mcp.example.com/mcp", "https://a", &[]).is_err());
    }
}
