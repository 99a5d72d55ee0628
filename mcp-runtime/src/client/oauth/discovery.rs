//! Finding the authorization server: the `WWW-Authenticate` challenge, the protected
//! resource's metadata (RFC 9728) and the authorization server's (RFC 8414, OpenID Connect
//! discovery), with the fallbacks of the 2025-03-26 revision.

use reqwest::Url;
use serde::Deserialize;

use super::{AuthEvent, OAuthError, Session};

/// A `WWW-Authenticate` challenge's parameters (RFC 6750 §3, RFC 9728 §5.1).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// `Bearer` or `DPoP`, lowercased.
    pub(crate) scheme: String,
    pub(crate) resource_metadata: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) error: Option<String>,
}

/// The challenges of a `WWW-Authenticate` header: `Scheme k=v, k="v", Scheme2 …`.
pub(crate) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        // A token followed by `=` is a parameter of the current challenge; otherwise it
        // starts a new challenge.
        let token_end = rest.find([' ', ',', '=']).unwrap_or(rest.len());
        let token = &rest[..token_end];
        let after = rest[token_end..].trim_start();
        if let Some(value_part) = after.strip_prefix('=') {
            let value_part = value_part.trim_start();
            let (value, remaining) = if let Some(quoted) = value_part.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            } else {
                let end = value_part.find(',').unwrap_or(value_part.len());
                (value_part[..end].trim().to_string(), &value_part[end..])
            };
            if let Some(current) = out.last_mut() {
                match token.to_ascii_lowercase().as_str() {
                    "resource_metadata" => current.resource_metadata = Some(value),
                    "scope" => current.scope = Some(value),
                    "error" => current.error = Some(value),
                    _ => {}
                }
            }
            rest = remaining.trim_start().trim_start_matches(',').trim_start();
        } else {
            if !token.is_empty() {
                out.push(Challenge {
                    scheme: token.to_ascii_lowercase(),
                    ..Challenge::default()
                });
            }
            rest = after.trim_start_matches(',').trim_start();
            if token.is_empty() && after.is_empty() {
                break;
            }
        }
    }
    out
}

/// The one challenge that matters: DPoP when the client binds its tokens, else Bearer.
pub(crate) fn pick(challenges: Vec<Challenge>, dpop: bool) -> Option<Challenge> {
    let preferred = if dpop { "dpop" } else { "bearer" };
    let mut fallback = None;
    for c in challenges {
        if c.scheme == preferred {
            return Some(c);
        }
        if c.scheme == "bearer" || c.scheme == "dpop" {
            fallback.get_or_insert(c);
        }
    }
    fallback
}

/// Protected resource metadata (RFC 9728 §2).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResourceMetadata {
    pub(crate) resource: Option<String>,
    #[serde(default)]
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
}

/// Authorization server metadata (RFC 8414 §2, OpenID Connect discovery).
#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct ServerMetadata {
    pub(crate) issuer: Option<String>,
    pub(crate) authorization_endpoint: Option<String>,
    pub(crate) token_endpoint: Option<String>,
    pub(crate) registration_endpoint: Option<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
    pub(crate) grant_types_supported: Option<Vec<String>>,
    pub(crate) token_endpoint_auth_methods_supported: Option<Vec<String>>,
    pub(crate) code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) client_id_metadata_document_supported: bool,
    pub(crate) authorization_response_iss_parameter_supported: Option<bool>,
    pub(crate) dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// Where the client's tokens come from: the issuer and its endpoints.
#[derive(Debug, Clone)]
pub(crate) struct Discovered {
    /// The issuer identifier, exactly as the metadata stated it (compared with `iss` as a
    /// string), or the server's origin for a 2025-03-26 server without metadata.
    pub(crate) issuer: String,
    pub(crate) metadata: ServerMetadata,
    /// The resource indicator (RFC 8707) to ask tokens for.
    pub(crate) resource: String,
    /// The resource's `scopes_supported`.
    pub(crate) resource_scopes: Option<Vec<String>>,
    /// No metadata at all: the endpoints are the 2025-03-26 defaults at the server's origin.
    pub(crate) defaults: bool,
}

impl Discovered {
    pub(crate) fn token_endpoint(&self) -> Result<&str, OAuthError> {
        self.metadata.token_endpoint.as_deref().ok_or_else(|| {
            OAuthError::Discovery(format!(
                "the authorization server {} names no token_endpoint in its metadata",
                self.issuer
            ))
        })
    }
}

/// The resource identifier of `url`: the URL without fragment (RFC 8707 §2).
pub(crate) fn resource_of(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    u.to_string()
}

/// Whether metadata naming `resource` may be used for the server at `server`: the same
/// origin, and a path that is the server's or a parent of it (RFC 9728 §3.3, §7.3).
fn resource_matches(resource: &str, server: &Url) -> bool {
    let Ok(r) = Url::parse(resource) else {
        return false;
    };
    if r.origin() != server.origin() {
        return false;
    }
    let rp = r.path().trim_end_matches('/');
    let sp = server.path().trim_end_matches('/');
    sp == rp || sp.starts_with(&format!("{rp}/"))
}

/// The well-known URLs of a resource's metadata, most specific first (RFC 9728 §3.1).
fn resource_metadata_urls(server: &Url) -> Vec<Url> {
    let mut out = Vec::new();
    let path = server.path().trim_end_matches('/');
    if !path.is_empty()
        && let Ok(u) = server.join(&format!("/.well-known/oauth-protected-resource{path}"))
    {
        out.push(u);
    }
    if let Ok(u) = server.join("/.well-known/oauth-protected-resource") {
        out.push(u);
    }
    out
}

/// The well-known URLs of an issuer's metadata, in the order the MCP authorization
/// specification gives (RFC 8414 §3.1, OpenID Connect discovery with and without path
/// insertion).
fn server_metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let at = |p: String| issuer.join(&p).ok();
    if path.is_empty() {
        [
            at("/.well-known/oauth-authorization-server".into()),
            at("/.well-known/openid-configuration".into()),
        ]
        .into_iter()
        .flatten()
        .collect()
    } else {
        [
            at(format!("/.well-known/oauth-authorization-server{path}")),
            at(format!("/.well-known/openid-configuration{path}")),
            at(format!("{path}/.well-known/openid-configuration")),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

impl Session {
    /// Finds the authorization server for the server at `self.server`, from `challenge`.
    pub(crate) async fn discover(&self, challenge: &Challenge) -> Result<Discovered, OAuthError> {
        let server = &self.server;
        let mut prm: Option<(Url, ResourceMetadata)> = None;
        let mut candidates = Vec::new();
        if let Some(at) = &challenge.resource_metadata {
            let url = Url::parse(at).map_err(|_| {
                OAuthError::Discovery(format!(
                    "the server's challenge names resource_metadata `{}`, which is not a URL",
                    at.escape_debug()
                ))
            })?;
            candidates.push(url);
        } else {
            candidates.extend(resource_metadata_urls(server));
        }
        for url in candidates {
            if let Some(found) = self.get_json::<ResourceMetadata>(&url).await? {
                prm = Some((url, found));
                break;
            }
        }
        let Some((prm_url, prm)) = prm else {
            // A server of 2025-03-26: no resource metadata, its origin is the issuer.
            let origin = server
                .join("/")
                .map_err(|e| OAuthError::Discovery(e.to_string()))?;
            self.event(AuthEvent::Discovery {
                step: "no protected resource metadata: the server's origin is its authorization server (2025-03-26)".into(),
            });
            let issuer = origin.as_str().trim_end_matches('/').to_string();
            let metadata = match self.server_metadata(&origin).await? {
                Some(m) => m,
                None => ServerMetadata {
                    authorization_endpoint: origin.join("/authorize").ok().map(String::from),
                    token_endpoint: origin.join("/token").ok().map(String::from),
                    registration_endpoint: origin.join("/register").ok().map(String::from),
                    ..ServerMetadata::default()
                },
            };
            return Ok(Discovered {
                defaults: metadata.issuer.is_none(),
                issuer: metadata.issuer.clone().unwrap_or(issuer),
                metadata,
                resource: resource_of(server),
                resource_scopes: None,
            });
        };
        self.event(AuthEvent::Discovery {
            step: format!("protected resource metadata from {prm_url}"),
        });
        let resource = match &prm.resource {
            Some(r) if resource_matches(r, server) => r.clone(),
            Some(r) => {
                return Err(OAuthError::Discovery(format!(
                    "the protected resource metadata at {prm_url} is for `{}`, not for {server}: it cannot be used to log in to this server",
                    r.escape_debug()
                )));
            }
            None => {
                return Err(OAuthError::Discovery(format!(
                    "the protected resource metadata at {prm_url} names no `resource`"
                )));
            }
        };
        let Some(issuer) = prm.authorization_servers.first() else {
            return Err(OAuthError::Discovery(format!(
                "the protected resource metadata at {prm_url} names no authorization server"
            )));
        };
        let issuer_url = Url::parse(issuer).map_err(|_| {
            OAuthError::Discovery(format!(
                "the authorization server `{}` is not a URL",
                issuer.escape_debug()
            ))
        })?;
        let Some(metadata) = self.server_metadata(&issuer_url).await? else {
            return Err(OAuthError::Discovery(format!(
                "the authorization server {issuer} publishes no metadata (RFC 8414 or OpenID Connect discovery)"
            )));
        };
        // RFC 8414 §3.3: the metadata is the issuer's only when it says so.
        if metadata.issuer.as_deref() != Some(issuer.as_str()) {
            return Err(OAuthError::Discovery(format!(
                "the authorization server metadata for {issuer} states the issuer `{}`: refused (RFC 8414 §3.3)",
                metadata.issuer.as_deref().unwrap_or("").escape_debug()
            )));
        }
        Ok(Discovered {
            issuer: issuer.clone(),
            metadata,
            resource,
            resource_scopes: prm.scopes_supported,
            defaults: false,
        })
    }

    /// The first metadata document the issuer publishes, if any.
    async fn server_metadata(&self, issuer: &Url) -> Result<Option<ServerMetadata>, OAuthError> {
        for url in server_metadata_urls(issuer) {
            if let Some(m) = self.get_json::<ServerMetadata>(&url).await? {
                self.event(AuthEvent::Discovery {
                    step: format!("authorization server metadata from {url}"),
                });
                return Ok(Some(m));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_parsed_with_quotes_and_several_schemes() {
        let c = parse_challenges(
            r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="https://x/.well-known/oauth-protected-resource/mcp", DPoP algs="ES256""#,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].error.as_deref(), Some("insufficient_scope"));
        assert_eq!(c[0].scope.as_deref(), Some("a b"));
        assert_eq!(
            c[0].resource_metadata.as_deref(),
            Some("https://x/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(c[1].scheme, "dpop");
        assert_eq!(pick(c.clone(), true).unwrap().scheme, "dpop");
        assert_eq!(pick(c, false).unwrap().scheme, "bearer");
        let c = parse_challenges("Bearer");
        assert_eq!(
            c,
            vec![Challenge {
                scheme: "bearer".into(),
                ..Challenge::default()
            }]
        );
        let c = parse_challenges(r#"Bearer scope=mcp:read, error="a\"b""#);
        assert_eq!(c[0].scope.as_deref(), Some("mcp:read"));
        assert_eq!(c[0].error.as_deref(), Some("a\"b"));
    }

    #[test]
    fn well_known_urls_follow_the_specifications() {
        let s = Url::parse("https://h:8443/api/mcp").unwrap();
        let prm: Vec<String> = resource_metadata_urls(&s)
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            prm,
            [
                "https://h:8443/.well-known/oauth-protected-resource/api/mcp",
                "https://h:8443/.well-known/oauth-protected-resource"
            ]
        );
        let i = Url::parse("https://as.example/tenant1").unwrap();
        let md: Vec<String> = server_metadata_urls(&i)
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            md,
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant1",
                "https://as.example/.well-known/openid-configuration/tenant1",
                "https://as.example/tenant1/.well-known/openid-configuration"
            ]
        );
        let i = Url::parse("https://as.example").unwrap();
        assert_eq!(server_metadata_urls(&i).len(), 2);
    }

    #[test]
    fn resource_metadata_must_name_this_server() {
        let s = Url::parse("http://localhost:3000/mcp").unwrap();
        assert!(resource_matches("http://localhost:3000/mcp", &s));
        assert!(resource_matches("http://localhost:3000/", &s));
        assert!(resource_matches("http://localhost:3000", &s));
        assert!(!resource_matches("https://evil.example.com/mcp", &s));
        assert!(!resource_matches("http://localhost:3000/mcp2", &s));
        assert!(!resource_matches("http://localhost:3001/mcp", &s));
    }
}
