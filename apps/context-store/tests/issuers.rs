//! Two identity providers' users with the same `sub` are two tenants: two servers over one
//! database, each trusting its own OAuth issuer, and a signed JWT of each for `sam`.

mod support;

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use context_store::App;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_runtime::auth::OAuthOptions;
use mcp_runtime::transport::http::{HttpOptions, HttpServer};
use mcp_runtime::{Client, ClientOptions, HttpClientOptions};
use serde_json::{Value, json};
use support::{call, call_err, limits, sqlite_store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RESOURCE: &str = "http://context-store.test/mcp";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Answers every request on a free port with `body` as JSON: the issuers' key set.
async fn serve_json(body: String) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

/// A context-store server over `app` that trusts JWTs of `issuer` signed with the keys at
/// `jwks`; its MCP endpoint.
async fn server_of(app: App, issuer: &str, jwks: SocketAddr) -> String {
    let mut oauth = OAuthOptions::new(issuer);
    oauth.resource = Some(RESOURCE.into());
    oauth.jwks_uri = Some(format!("http://{jwks}/jwks"));
    let server = HttpServer::bind(
        context_store::server(app, None),
        HttpOptions {
            port: 0,
            oauth: Some(oauth),
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    tokio::spawn(async move {
        let _ = server.run_until(std::future::pending()).await;
    });
    format!("http://{addr}/mcp")
}

async fn as_sam_of(url: &str, key: &EncodingKey, issuer: &str) -> Client {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": issuer, "aud": RESOURCE, "sub": "sam",
        "scope": "contexts:read contexts:write", "exp": now + 600, "iat": now});
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k".into());
    let token = jsonwebtoken::encode(&header, &claims, key).unwrap();
    Client::connect_http_with(
        url,
        HttpClientOptions::default().header("Authorization", format!("Bearer {token}")),
        ClientOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("connecting to {url} as sam of {issuer}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_subjects_of_two_issuers_are_two_tenants() {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = pair.public_key_raw();
    let key = EncodingKey::from_ec_der(&pair.serialize_der());
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k", "use": "sig", "alg": "ES256",
        "x": b64(&raw[1..33]), "y": b64(&raw[33..65])});
    let jwks = serve_json(json!({ "keys": [jwk] }).to_string()).await;

    let (store, _dir) = sqlite_store().await;
    let (a, b) = ("https://a.example/", "https://b.example/");
    let url_a = server_of(App::new(store.clone(), limits()), a, jwks).await;
    let url_b = server_of(App::new(store.clone(), limits()), b, jwks).await;
    let sam_a = as_sam_of(&url_a, &key, a).await;
    let sam_b = as_sam_of(&url_b, &key, b).await;

    let created = call(&sam_a, "create_context", json!({"title": "Sam at A"})).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["owner"], json!([a, "sam"]).to_string());
    call(
        &sam_a,
        "append_messages",
        json!({"context_id": id, "messages": [{"role": "user", "content": "quetzal"}]}),
    )
    .await;

    // The other issuer's `sam` does not see it anywhere, nor change it.
    let err = call_err(&sam_b, "get_context", json!({"context_id": id})).await;
    assert!(err.contains("not found"), "{err}");
    let err = call_err(
        &sam_b,
        "append_messages",
        json!({"context_id": id, "messages": [{"role": "user", "content": "mine"}]}),
    )
    .await;
    assert!(err.contains("not found"), "{err}");
    let list = call(&sam_b, "list_contexts", json!({})).await;
    assert_eq!(list["contexts"], json!([]));
    let hits = call(&sam_b, "search_messages", json!({"query": "quetzal"})).await;
    assert_eq!(hits["hits"], json!([]));
    let err = sam_b
        .subscribe(&format!("context://{id}"))
        .await
        .expect_err("another tenant's context");
    assert_eq!(err.rpc().map(|e| e.code), Some(-32002), "{err}");

    // Its own issuer's `sam` still does.
    let view: Value = call(&sam_a, "get_context", json!({"context_id": id})).await;
    assert_eq!(view["context"]["last_seq"], 1);
    let own = call(&sam_b, "create_context", json!({"title": "Sam at B"})).await;
    assert_eq!(own["owner"], json!([b, "sam"]).to_string());
    let list = call(&sam_a, "list_contexts", json!({})).await;
    assert_eq!(list["contexts"].as_array().unwrap().len(), 1);
}
