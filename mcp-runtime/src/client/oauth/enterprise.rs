//! Enterprise-managed authorization (the identity assertion authorization grant): the
//! user's ID token from the enterprise's identity provider is exchanged there (RFC 8693)
//! for an identity assertion JWT authorization grant (ID-JAG) addressed to the MCP server's
//! authorization server, which the client presents as a JWT bearer grant (RFC 7523).

use std::sync::Arc;

use reqwest::header;
use serde::Deserialize;

use super::{AS_TIMEOUT, AssertionRequest, OAuth, OAuthError, explain, read};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// The enterprise identity provider the client exchanges the user's ID token at.
#[derive(Clone)]
pub struct IdentityProvider {
    /// The provider's token endpoint.
    pub token_endpoint: String,
    /// The client's id at the provider.
    pub client_id: String,
    /// The client's secret at the provider, if it has one (sent as `client_secret_post`).
    pub client_secret: Option<String>,
    /// The user's ID token from the provider (single sign-on).
    pub id_token: String,
}

impl std::fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProvider")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl OAuth {
    /// Enterprise-managed authorization: the ID token is exchanged at `idp` for an ID-JAG
    /// for the MCP server's authorization server, presented there as a JWT bearer grant by
    /// the client `client_id` (with its secret, when it has one).
    pub fn enterprise(
        idp: IdentityProvider,
        client_id: impl Into<String>,
        client_secret: Option<String>,
    ) -> Result<OAuth, OAuthError> {
        let tls =
            super::super::http::tls_config(&[]).map_err(|e| OAuthError::Http(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(AS_TIMEOUT)
            .build()
            .map_err(|e| OAuthError::Http(e.to_string()))?;
        let idp = Arc::new(idp);
        let oauth = OAuth::jwt_bearer(move |request: AssertionRequest| {
            let http = http.clone();
            let idp = Arc::clone(&idp);
            Box::pin(async move { exchange(&http, &idp, &request).await })
        });
        Ok(oauth.pre_registered(client_id, client_secret, None))
    }
}

/// The token exchange at the identity provider: the ID token for an ID-JAG.
async fn exchange(
    http: &reqwest::Client,
    idp: &IdentityProvider,
    request: &AssertionRequest,
) -> Result<String, OAuthError> {
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", TOKEN_EXCHANGE)
            .append_pair("requested_token_type", ID_JAG)
            .append_pair("audience", &request.issuer)
            .append_pair("resource", &request.resource)
            .append_pair("subject_token", &idp.id_token)
            .append_pair("subject_token_type", ID_TOKEN)
            .append_pair("client_id", &idp.client_id);
        if let Some(secret) = &idp.client_secret {
            form.append_pair("client_secret", secret);
        }
        if let Some(scope) = &request.scope {
            form.append_pair("scope", scope);
        }
        form.finish()
    };
    let response = http
        .post(&idp.token_endpoint)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| OAuthError::Http(e.to_string()))?;
    let status = response.status();
    let body = read(response).await?;
    if !status.is_success() {
        return Err(OAuthError::Token(format!(
            "the identity provider's token exchange at {} answered {status}: {}",
            idp.token_endpoint,
            explain(&body)
        )));
    }
    #[derive(Deserialize)]
    struct Exchanged {
        access_token: String,
        issued_token_type: Option<String>,
    }
    let e: Exchanged = serde_json::from_slice(&body).map_err(|e| {
        OAuthError::Token(format!(
            "the identity provider answered without a token: {e}"
        ))
    })?;
    if e.issued_token_type.as_deref().is_some_and(|t| t != ID_JAG) {
        return Err(OAuthError::Token(format!(
            "the identity provider issued a `{}`, not an ID-JAG",
            e.issued_token_type.unwrap_or_default().escape_debug()
        )));
    }
    Ok(e.access_token)
}
