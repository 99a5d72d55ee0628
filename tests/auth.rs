//! Identity: scopes on tools, resources and prompts (in memory and over HTTP), the caller in
//! handlers, API keys (file, reload, session binding), and the OAuth resource server: JWTs
//! signed here and checked against a JWKS served here, introspection against an endpoint
//! served here, protected-resource metadata and the challenges.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_runtime::auth::{Access, OAuthOptions, PrincipalKind, api_keys};
use mcp_runtime::prelude::*;
use mcp_runtime::protocol::code;
use mcp_runtime::transport::http::{HttpOptions, HttpServer};
use mcp_runtime::{ClientError, ClientOptions, HttpClientOptions};
use serde_json::{Value, json};

/// Read the notes.
#[tool(scopes("notes:read"))]
fn read_notes() -> String {
    "the notes".into()
}

/// Write a note.
#[tool(scopes("notes:read", "notes:write"))]
fn write_note(text: String) -> String {
    format!("wrote {text}")
}

/// Open to anyone, whatever the server's default.
#[tool(scopes())]
fn ping_anyone() -> String {
    "pong".into()
}

/// Needs the server's default scope.
#[tool]
fn defaulted() -> String {
    "default".into()
}

/// One tenant's data.
#[tool(scopes("notes:read"))]
fn tenant_data(tenant: String) -> String {
    format!("data of {tenant}")
}

/// Who is calling.
#[tool(scopes())]
fn whoami(
    caller: Principal,
    headers: Option<Headers>,
    peer: Option<PeerAddr>,
    ctx: Context,
) -> Value {
    json!({
        "subject": caller.subject(),
        "kind": caller.kind().as_str(),
        "key": caller.key_id(),
        "key_name": caller.key_name(),
        "issuer": caller.issuer(),
        "scopes": caller.scopes().collect::<Vec<_>>(),
        "tenant": caller.claim("tenant"),
        "x_test": headers.as_ref().and_then(|h| h.get("x-test")).and_then(|v| v.to_str().ok()),
        "credential_visible": headers.as_ref().map(|h| h.contains_key("authorization") || h.contains_key("x-api-key")),
        "peer_loopback": peer.map(|p| p.0.ip().is_loopback()),
        "context_agrees": ctx.principal().subject() == caller.subject()
            && ctx.peer_addr() == peer.map(|p| p.0),
    })
}

/// The admins' notes.
#[resource("notes://secret", scopes("notes:admin"))]
fn secret_notes() -> String {
    "secret".into()
}

/// Public notes.
#[resource("notes://public", scopes())]
fn public_notes() -> String {
    "public".into()
}

/// Draft a note.
#[prompt(scopes("notes:write"))]
fn draft(topic: String) -> String {
    format!("Draft a note about {topic}")
}

fn server() -> Server {
    Server::new("auth-test")
        .state(Gate::default())
        .default_scopes(&["mcp:use"])
        .authorize(|caller, access| match access {
            Access::Tool {
                name: "tenant_data",
                arguments,
            } => {
                let asked = arguments.get("tenant").and_then(Value::as_str);
                let own = caller
                    .claim("tenant")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| caller.key_name().map(str::to_string));
                if asked.is_some() && asked.map(str::to_string) != own {
                    Err(format!(
                        "`{}` may not read another tenant",
                        caller.subject()
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        })
}

fn names(tools: &[mcp_runtime::protocol::Tool]) -> Vec<String> {
    let mut n: Vec<String> = tools.iter().map(|t| t.name.clone()).collect();
    n.sort();
    n
}

/// What `whoami` says (its structured output, wrapped as `{"result": …}`).
async fn whoami_of(c: &Client) -> Value {
    let r = c.call_tool("whoami", json!({})).await.unwrap();
    assert!(!r.is_error, "{r:?}");
    r.structured_content.expect("structured output")["result"].clone()
}

fn rpc_error(e: ClientError) -> mcp_runtime::protocol::ErrorObject {
    match e {
        ClientError::Rpc(e) => e,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test]
async fn scopes_hide_and_refuse_in_memory() {
    let reader = Client::connect_as(
        server(),
        Principal::new("alice", ["notes:read"]),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        names(&reader.list_all_tools().await.unwrap()),
        [
            "ping_anyone",
            "read_notes",
            "slow_task",
            "tenant_data",
            "whoami"
        ],
        "what needs a scope the caller lacks is not listed (nor what needs the default)"
    );
    let r = reader.call_tool("read_notes", json!({})).await.unwrap();
    assert!(!r.is_error);
    let e = rpc_error(
        reader
            .call_tool("write_note", json!({"text": "x"}))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, code::FORBIDDEN);
    assert!(
        e.message
            .contains("tool `write_note` needs the scope `notes:write`"),
        "{}",
        e.message
    );
    assert_eq!(e.data.unwrap()["requiredScope"], "notes:write");
    let e = rpc_error(reader.call_tool("defaulted", json!({})).await.unwrap_err());
    assert!(
        e.message.contains("`mcp:use`"),
        "the default applies: {}",
        e.message
    );

    let resources: Vec<String> = reader
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri)
        .collect();
    assert_eq!(resources, ["notes://public"]);
    let e = rpc_error(reader.read_resource("notes://secret").await.unwrap_err());
    assert!(e.message.contains("`notes:admin`"), "{}", e.message);
    assert!(reader.read_resource("notes://public").await.is_ok());
    assert!(reader.list_all_prompts().await.unwrap().is_empty());
    let args = HashMap::from([("topic".to_string(), "rust".to_string())]);
    let e = rpc_error(reader.get_prompt("draft", &args).await.unwrap_err());
    assert!(
        e.message
            .contains("prompt `draft` needs the scope `notes:write`"),
        "{}",
        e.message
    );

    // The application's own rule, after the scopes.
    let e = rpc_error(
        reader
            .call_tool("tenant_data", json!({"tenant": "acme"}))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, code::FORBIDDEN);
    assert!(
        e.message.contains("`alice` may not read another tenant"),
        "{}",
        e.message
    );

    let who = whoami_of(&reader).await;
    assert_eq!(who["subject"], "alice");
    assert_eq!(who["kind"], "custom");
    assert_eq!(who["x_test"], Value::Null, "no headers in memory");
    assert_eq!(who["peer_loopback"], Value::Null);
    assert_eq!(who["context_agrees"], true);

    // The local caller (stdio, `Client::connect`) holds every scope.
    let local = Client::connect(server()).await.unwrap();
    assert_eq!(local.list_all_tools().await.unwrap().len(), 7);
    assert!(local.read_resource("notes://secret").await.is_ok());
    assert!(local.get_prompt("draft", &args).await.is_ok());
    assert_eq!(whoami_of(&local).await["kind"], "local");
}

#[tokio::test]
async fn completions_of_a_hidden_prompt_are_refused() {
    let c = Client::connect_as(
        server(),
        Principal::new("bob", ["mcp:use"]),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let e = rpc_error(
        c.request::<_, Value>(
            "completion/complete",
            &json!({"ref": {"type": "ref/prompt", "name": "draft"}, "argument": {"name": "topic", "value": "r"}}),
        )
        .await
        .unwrap_err(),
    );
    assert!(e.message.contains("`notes:write`"), "{}", e.message);
}

// ------------------------------------------------------------------ HTTP helpers

/// One HTTP/1.1 exchange on a fresh connection: status, headers (lowercased names) and body.
fn exchange(addr: SocketAddr, head: &str, body: &str) -> (u16, HashMap<String, String>, String) {
    let mut s = TcpStream::connect(addr).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

fn post_head(credential: &str, session: Option<&str>) -> String {
    let mut head = String::from(
        "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream",
    );
    if !credential.is_empty() {
        head.push_str("\r\n");
        head.push_str(credential);
    }
    if let Some(s) = session {
        head.push_str(&format!(
            "\r\nMcp-Session-Id: {s}\r\nMcp-Protocol-Version: 2025-11-25"
        ));
    }
    head
}

/// `initialize` with `credential`; the session id.
fn open_session(addr: SocketAddr, credential: &str) -> String {
    let (status, headers, body) = exchange(addr, &post_head(credential, None), INIT);
    assert_eq!(status, 200, "{body}");
    headers["mcp-session-id"].clone()
}

fn call(name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
        .to_string()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("mcp-auth-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn bind(server: Server, options: HttpOptions) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let server = HttpServer::bind(server, HttpOptions { port: 0, ..options })
        .await
        .unwrap();
    let addr = server.local_addr();
    let task = tokio::spawn(async move {
        server.run_until(std::future::pending()).await.unwrap();
    });
    (addr, task)
}

// ------------------------------------------------------------------ API keys

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_authenticate_scope_and_reload_without_dropping_sessions() {
    let dir = TempDir::new("keys");
    let path = dir.0.join("keys.jsonl");
    let reader =
        api_keys::generate("acme", &["notes:read".into(), "mcp:use".into()], None).unwrap();
    let writer =
        api_keys::generate("writer", &["notes:read".into(), "notes:write".into()], None).unwrap();
    let expired = api_keys::generate("old", &[], Some(1_000)).unwrap();
    std::fs::write(
        &path,
        format!(
            "# keys\n{}\n{}\n{}\n",
            reader.line, writer.line, expired.line
        ),
    )
    .unwrap();
    let (addr, task) = bind(
        server(),
        HttpOptions {
            api_keys: Some(path.clone()),
            ..HttpOptions::default()
        },
    )
    .await;
    let url = format!("http://{addr}/mcp");

    // No key, a wrong one, an expired one: 401 with a challenge saying why.
    let (status, headers, body) = exchange(addr, &post_head("", None), INIT);
    assert_eq!(status, 401, "{body}");
    assert!(
        headers["www-authenticate"].starts_with("Bearer realm=\"mcp\""),
        "{headers:?}"
    );
    assert!(body.contains("X-API-Key"), "{body}");
    let mut wrong = reader.secret.clone();
    wrong.replace_range(wrong.len() - 4.., "AAAA");
    let (status, headers, _) =
        exchange(addr, &post_head(&format!("X-API-Key: {wrong}"), None), INIT);
    assert_eq!(status, 401);
    assert!(headers["www-authenticate"].contains("error=\"invalid_token\""));
    assert!(
        headers["www-authenticate"].contains("unknown or revoked API key"),
        "{headers:?}"
    );
    let (status, _, body) = exchange(
        addr,
        &post_head(&format!("X-API-Key: {}", expired.secret), None),
        INIT,
    );
    assert_eq!(status, 401);
    assert!(
        body.contains(&format!("the API key `{}` expired", expired.id)),
        "{body}"
    );
    // Oversized credentials are refused unread.
    let huge = "a".repeat(20_000);
    let (status, _, body) = exchange(addr, &post_head(&format!("X-API-Key: {huge}"), None), INIT);
    assert_eq!(status, 401);
    assert!(body.contains("longer than"), "{body}");

    // The key in X-API-Key, or as a bearer token.
    let c = Client::connect_http_with(
        &url,
        HttpClientOptions::default()
            .header("X-API-Key", &reader.secret)
            .header("X-Test", "hello"),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        names(&c.list_all_tools().await.unwrap()),
        [
            "defaulted",
            "ping_anyone",
            "read_notes",
            "slow_task",
            "tenant_data",
            "whoami"
        ]
    );
    let who = whoami_of(&c).await;
    assert_eq!(who["kind"], "api-key");
    assert_eq!(who["subject"], reader.id);
    assert_eq!(who["key"], reader.id);
    assert_eq!(who["key_name"], "acme");
    assert_eq!(who["x_test"], "hello", "handlers see the request's headers");
    assert_eq!(who["credential_visible"], false, "but not the credential");
    assert_eq!(who["peer_loopback"], true);
    assert_eq!(who["context_agrees"], true);
    assert!(
        c.call_tool("tenant_data", json!({"tenant": "acme"}))
            .await
            .is_ok()
    );
    let bearer = Client::connect_http_with(
        &url,
        HttpClientOptions::default().header("Authorization", format!("Bearer {}", writer.secret)),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let r = bearer
        .call_tool("write_note", json!({"text": "hi"}))
        .await
        .unwrap();
    assert!(!r.is_error);

    // A scope the key lacks: 403 with a step-up challenge naming it.
    let session = open_session(addr, &format!("X-API-Key: {}", reader.secret));
    let (status, headers, body) = exchange(
        addr,
        &post_head(&format!("X-API-Key: {}", reader.secret), Some(&session)),
        &call("write_note", json!({"text": "x"})),
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        headers["www-authenticate"]
            .starts_with("Bearer error=\"insufficient_scope\", scope=\"notes:write\""),
        "{headers:?}"
    );
    assert!(body.contains("\"requiredScope\":\"notes:write\""), "{body}");

    // A session is its opener's: another key presenting its id finds nothing.
    let (status, _, body) = exchange(
        addr,
        &post_head(&format!("X-API-Key: {}", writer.secret), Some(&session)),
        &call("ping_anyone", json!({})),
    );
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = exchange(
        addr,
        &post_head(&format!("X-API-Key: {}", reader.secret), Some(&session)),
        &call("ping_anyone", json!({})),
    );
    assert_eq!(status, 200);

    // Revoking `writer` (its line removed) takes effect without a restart; `reader`'s
    // session goes on.
    std::fs::write(&path, format!("{}\n", reader.line)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, _) = exchange(
            addr,
            &post_head(&format!("X-API-Key: {}", writer.secret), None),
            INIT,
        );
        if status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the key file was not reloaded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = c.call_tool("read_notes", json!({})).await.unwrap();
    assert!(!r.is_error, "the session survived the reload");
    task.abort();
}

#[tokio::test]
async fn a_missing_key_file_is_an_error_naming_it() {
    let e = HttpServer::bind(
        server(),
        HttpOptions {
            port: 0,
            api_keys: Some("/nonexistent/keys.jsonl".into()),
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("authentication cannot be set up: /nonexistent/keys.jsonl"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_token_holds_every_scope_and_anonymous_none() {
    let (addr, task) = bind(
        server(),
        HttpOptions {
            auth_token: Some("s3cret".into()),
            ..HttpOptions::default()
        },
    )
    .await;
    let url = format!("http://{addr}/mcp");
    let c = Client::connect_http_with(
        &url,
        HttpClientOptions::default().header("Authorization", "Bearer s3cret"),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(c.list_all_tools().await.unwrap().len(), 7);
    let who = whoami_of(&c).await;
    assert_eq!(who["kind"], "token");
    let (status, headers, _) =
        exchange(addr, &post_head("Authorization: Bearer s3cre7", None), INIT);
    assert_eq!(status, 401);
    assert!(headers["www-authenticate"].contains("invalid_token"));
    task.abort();

    // No authentication configured: the caller is anonymous and holds no scope.
    let (addr, task) = bind(server(), HttpOptions::default()).await;
    let c = Client::connect_http(&format!("http://{addr}/mcp"))
        .await
        .unwrap();
    assert_eq!(
        names(&c.list_all_tools().await.unwrap()),
        ["ping_anyone", "slow_task", "whoami"]
    );
    let who = whoami_of(&c).await;
    assert_eq!(who["kind"], "anonymous");
    task.abort();
}

// ------------------------------------------------------------------ OAuth

/// What the fake authorization server serves, and how often it was asked.
#[derive(Default)]
struct Issuer {
    jwks: Mutex<Value>,
    jwks_fetches: AtomicUsize,
    /// Introspection answers by token.
    active: Mutex<HashMap<String, Value>>,
    introspections: AtomicUsize,
    /// The `Authorization` of the last introspection.
    introspection_auth: Mutex<Option<String>>,
}

/// Serves `/jwks`, `/introspect` and the issuer's metadata on a free port.
async fn serve_issuer(issuer: Arc<Issuer>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let issuer = Arc::clone(&issuer);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let issuer = Arc::clone(&issuer);
                        async move {
                            let path = req.uri().path().to_string();
                            let auth = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string);
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let (status, doc) = match path.as_str() {
                                "/jwks" => {
                                    issuer.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                                    (200, issuer.jwks.lock().unwrap().clone())
                                }
                                "/.well-known/oauth-authorization-server" => (
                                    200,
                                    json!({
                                        "issuer": format!("http://{addr}"),
                                        "jwks_uri": format!("http://{addr}/jwks"),
                                        "introspection_endpoint": format!("http://{addr}/introspect"),
                                    }),
                                ),
                                "/introspect" => {
                                    issuer.introspections.fetch_add(1, Ordering::SeqCst);
                                    *issuer.introspection_auth.lock().unwrap() = auth;
                                    let form = String::from_utf8_lossy(&body).to_string();
                                    let token = form
                                        .split('&')
                                        .find_map(|kv| kv.strip_prefix("token="))
                                        .unwrap_or("")
                                        .to_string();
                                    let answer = issuer
                                        .active
                                        .lock()
                                        .unwrap()
                                        .get(&token)
                                        .cloned()
                                        .unwrap_or(json!({"active": false}));
                                    (200, answer)
                                }
                                _ => (404, json!({})),
                            };
                            let mut response =
                                hyper::Response::new(Full::new(Bytes::from(doc.to_string())));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            response
                                .headers_mut()
                                .insert("content-type", "application/json".parse().unwrap());
                            Ok::<_, Infallible>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key made here, and its public JWK.
struct SigningKey {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
    jwk: Value,
}

fn es256(kid: &str) -> SigningKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = pair.public_key_raw();
    SigningKey {
        kid: kid.into(),
        alg: Algorithm::ES256,
        key: EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": b64(&raw[1..33]), "y": b64(&raw[33..65])}),
    }
}

fn ed25519(kid: &str) -> SigningKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    SigningKey {
        kid: kid.into(),
        alg: Algorithm::EdDSA,
        key: EncodingKey::from_ed_der(&pair.serialize_der()),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(pair.public_key_raw())}),
    }
}

/// An RSA key made by `openssl` (ring cannot generate RSA keys).
fn rs256(kid: &str, dir: &std::path::Path) -> SigningKey {
    let pem = dir.join(format!("{kid}.pem"));
    let der = dir.join(format!("{kid}.der"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    run(&["genrsa", "-out", pem.to_str().unwrap(), "2048"]);
    run(&[
        "rsa",
        "-in",
        pem.to_str().unwrap(),
        "-traditional",
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let modulus = run(&["rsa", "-in", pem.to_str().unwrap(), "-noout", "-modulus"]);
    let hex = modulus.trim().trim_start_matches("Modulus=");
    let n: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    SigningKey {
        kid: kid.into(),
        alg: Algorithm::RS256,
        key: EncodingKey::from_rsa_der(&std::fs::read(&der).unwrap()),
        jwk: json!({"kty": "RSA", "kid": kid, "n": b64(&n), "e": "AQAB", "alg": "RS256"}),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.key).unwrap()
}

fn claims(iss: &str, aud: &str, scope: &str) -> Value {
    json!({"iss": iss, "aud": aud, "sub": "user-42", "scope": scope, "tenant": "acme",
        "exp": now() + 600, "iat": now()})
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwts_are_checked_against_the_issuers_keys() {
    let dir = TempDir::new("jwt");
    let issuer = Arc::new(Issuer::default());
    let es = es256("ec-1");
    let ed = ed25519("ed-1");
    let rsa = rs256("rsa-1", &dir.0);
    *issuer.jwks.lock().unwrap() = json!({"keys": [es.jwk, ed.jwk, rsa.jwk,
        {"kty": "RSA", "kid": "enc", "use": "enc", "alg": "RSA-OAEP", "n": "AQAB", "e": "AQAB"}]});
    let issuer_addr = serve_issuer(Arc::clone(&issuer)).await;
    let iss = format!("http://{issuer_addr}");
    let resource = "https://mcp.example.com/mcp";
    let mut oauth = OAuthOptions::new(&iss);
    oauth.resource = Some(resource.into());
    oauth.jwks_refetch_interval = Duration::from_secs(2);
    let (addr, task) = bind(
        server(),
        HttpOptions {
            oauth: Some(oauth),
            ..HttpOptions::default()
        },
    )
    .await;

    // The protected-resource metadata, at the path-suffixed and the plain well-known URI.
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let (status, headers, body) = exchange(addr, &format!("GET {path} HTTP/1.1"), "");
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(headers["access-control-allow-origin"], "*");
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["resource"], resource);
        assert_eq!(doc["authorization_servers"], json!([iss]));
        assert_eq!(
            doc["scopes_supported"],
            json!(["mcp:use", "notes:admin", "notes:read", "notes:write"]),
            "every scope the items declare"
        );
    }

    // No token: 401 naming the metadata and the scopes.
    let (status, headers, _) = exchange(addr, &post_head("", None), INIT);
    assert_eq!(status, 401);
    assert_eq!(
        headers["www-authenticate"],
        "Bearer realm=\"mcp\", resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:use notes:admin notes:read notes:write\""
    );

    // Good tokens of each key type.
    for key in [&es, &ed, &rsa] {
        let token = sign(key, &claims(&iss, resource, "notes:read mcp:use"));
        let c = Client::connect_http_with(
            &format!("http://{addr}/mcp"),
            HttpClientOptions::default().header("Authorization", format!("Bearer {token}")),
            ClientOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{:?}: {e}", key.alg));
        let who = whoami_of(&c).await;
        assert_eq!(who["kind"], "jwt");
        assert_eq!(who["subject"], "user-42");
        assert_eq!(who["issuer"], iss.as_str());
        assert_eq!(who["scopes"], json!(["mcp:use", "notes:read"]));
        assert_eq!(who["tenant"], "acme");
        assert!(
            c.call_tool("tenant_data", json!({"tenant": "acme"}))
                .await
                .is_ok()
        );
        let e = rpc_error(
            c.call_tool("tenant_data", json!({"tenant": "umbrella"}))
                .await
                .unwrap_err(),
        );
        assert!(
            e.message.contains("may not read another tenant"),
            "{}",
            e.message
        );
    }
    assert_eq!(
        issuer.jwks_fetches.load(Ordering::SeqCst),
        1,
        "the keys are cached"
    );

    // Step-up: a scope the token lacks.
    let token = sign(&es, &claims(&iss, resource, "notes:read"));
    let session = open_session(addr, &bearer(&token));
    let (status, headers, _) = exchange(
        addr,
        &post_head(&bearer(&token), Some(&session)),
        &call("write_note", json!({"text": "x"})),
    );
    assert_eq!(status, 403);
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"notes:write\", resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", error_description=\"this needs the scope `notes:write`\""
    );
    // Another subject presenting the session id: 404.
    let mut other = claims(&iss, resource, "notes:read");
    other["sub"] = "user-7".into();
    let (status, _, _) = exchange(
        addr,
        &post_head(&bearer(&sign(&es, &other)), Some(&session)),
        &call("ping_anyone", json!({})),
    );
    assert_eq!(status, 404);

    // Bad tokens, each with its reason.
    let refused = |token: String, reason: &'static str| {
        let (status, headers, body) = exchange(addr, &post_head(&bearer(&token), None), INIT);
        assert_eq!(status, 401, "{reason}: {body}");
        let challenge = &headers["www-authenticate"];
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(body.contains(reason), "expected {reason:?} in {body}");
    };
    let mut c = claims(&iss, resource, "");
    c["exp"] = (now() - 3600).into();
    refused(sign(&es, &c), "the token expired");
    let mut c = claims(&iss, resource, "");
    c["nbf"] = (now() + 3600).into();
    refused(sign(&es, &c), "not valid yet");
    refused(
        sign(&es, &claims(&iss, "https://other.example.com/mcp", "")),
        "audience",
    );
    refused(
        sign(&es, &claims("https://evil.example.com", resource, "")),
        "issuer",
    );
    let mut c = claims(&iss, resource, "");
    c.as_object_mut().unwrap().remove("exp");
    refused(sign(&es, &c), "no `exp` claim");
    refused("not.a.jwt!".into(), "malformed");
    // Not a JWT at all: introspected, and the issuer does not know it.
    refused("opaque-unknown".into(), "not active");
    refused("eyJ.eyJ.sig".into(), "malformed");
    // `alg: none`.
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(&iss, resource, "").to_string().as_bytes())
    );
    refused(none, "`alg`");
    // HS256 "signed" with the public key.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("ec-1".into());
    let forged = jsonwebtoken::encode(
        &header,
        &claims(&iss, resource, ""),
        &EncodingKey::from_secret(es.jwk.to_string().as_bytes()),
    )
    .unwrap();
    refused(forged, "asymmetric signatures only");
    // A signature by another key under a known kid.
    let impostor = SigningKey {
        kid: "ec-1".into(),
        ..es256("x")
    };
    refused(
        sign(&impostor, &claims(&iss, resource, "")),
        "signature does not verify",
    );

    // An unknown kid: the keys are fetched again (once), and the new key is then known.
    let fetches = issuer.jwks_fetches.load(Ordering::SeqCst);
    // (Once the refetch interval has passed since the first fetch.)
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let rotated = es256("ec-2");
    issuer.jwks.lock().unwrap()["keys"]
        .as_array_mut()
        .unwrap()
        .push(rotated.jwk.clone());
    let token = sign(&rotated, &claims(&iss, resource, "mcp:use"));
    let (status, _, body) = exchange(addr, &post_head(&bearer(&token), None), INIT);
    assert_eq!(status, 200, "a rotated key is fetched: {body}");
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), fetches + 1);
    // Another unknown kid within the refetch interval does not make the server ask again.
    refused(
        sign(&es256("ec-3"), &claims(&iss, resource, "")),
        "has no key `ec-3`",
    );
    refused(
        sign(&es256("ec-4"), &claims(&iss, resource, "")),
        "has no key `ec-4`",
    );
    assert_eq!(
        issuer.jwks_fetches.load(Ordering::SeqCst),
        fetches + 1,
        "refetches are rate-limited"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_issuer_is_a_clear_503_not_a_hang() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut oauth = OAuthOptions::new(format!("http://{closed}"));
    oauth.jwks_uri = Some(format!("http://{closed}/jwks"));
    oauth.fetch_timeout = Duration::from_secs(2);
    let (addr, task) = bind(
        server(),
        HttpOptions {
            oauth: Some(oauth),
            ..HttpOptions::default()
        },
    )
    .await;
    let key = es256("k");
    let token = sign(
        &key,
        &claims(
            &format!("http://{closed}"),
            &format!("http://{addr}/mcp"),
            "",
        ),
    );
    let started = std::time::Instant::now();
    let (status, headers, body) = exchange(addr, &post_head(&bearer(&token), None), INIT);
    assert_eq!(status, 503, "{body}");
    assert_eq!(headers["retry-after"], "5");
    assert!(body.contains("signing keys could not be fetched"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(15));
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_tokens_are_introspected_and_the_answers_cached() {
    let issuer = Arc::new(Issuer::default());
    let issuer_addr = serve_issuer(Arc::clone(&issuer)).await;
    let iss = format!("http://{issuer_addr}");
    let mut oauth = OAuthOptions::new(&iss);
    oauth.resource = Some("https://mcp.example.com/mcp".into());
    oauth.introspection_client_id = Some("mcp-server".into());
    oauth.introspection_client_secret = Some("s3cret".into());
    let (addr, task) = bind(
        server(),
        HttpOptions {
            oauth: Some(oauth),
            ..HttpOptions::default()
        },
    )
    .await;
    issuer.active.lock().unwrap().insert(
        "opaque-good".into(),
        json!({"active": true, "sub": "svc-1", "scope": "mcp:use notes:read", "client_id": "c1",
            "aud": "https://mcp.example.com/mcp", "iss": iss, "exp": now() + 600}),
    );
    issuer.active.lock().unwrap().insert(
        "opaque-elsewhere".into(),
        json!({"active": true, "sub": "svc-2", "aud": "https://other.example.com"}),
    );
    let c = Client::connect_http_with(
        &format!("http://{addr}/mcp"),
        HttpClientOptions::default().header("Authorization", "Bearer opaque-good"),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let who = whoami_of(&c).await;
    assert_eq!(who["kind"], "introspected");
    assert_eq!(who["subject"], "svc-1");
    assert_eq!(who["scopes"], json!(["mcp:use", "notes:read"]));
    assert_eq!(
        names(&c.list_all_tools().await.unwrap()),
        [
            "defaulted",
            "ping_anyone",
            "read_notes",
            "slow_task",
            "tenant_data",
            "whoami"
        ]
    );
    assert_eq!(
        issuer.introspections.load(Ordering::SeqCst),
        1,
        "the answer is reused"
    );
    assert_eq!(
        issuer.introspection_auth.lock().unwrap().as_deref(),
        Some(
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("mcp-server:s3cret")
            )
            .as_str()
        ),
        "the server introspects as its client"
    );
    let (status, _, body) = exchange(
        addr,
        &post_head("Authorization: Bearer opaque-revoked", None),
        INIT,
    );
    assert_eq!(status, 401);
    assert!(body.contains("not active"), "{body}");
    let (status, _, body) = exchange(
        addr,
        &post_head("Authorization: Bearer opaque-elsewhere", None),
        INIT,
    );
    assert_eq!(status, 401);
    assert!(body.contains("audience"), "{body}");
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), 0);
    assert!(matches!(
        PrincipalKind::Introspected.as_str(),
        "introspected"
    ));
    task.abort();
}

/// Waits until told (a call that becomes a task).
#[tool(task = "optional", scopes())]
async fn slow_task(gate: State<Gate>) -> &'static str {
    gate.0.notified().await;
    "done"
}

#[derive(Default)]
struct Gate(tokio::sync::Notify);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_their_callers() {
    let dir = TempDir::new("tasks");
    let path = dir.0.join("keys.jsonl");
    let a = api_keys::generate("a", &[], None).unwrap();
    let b = api_keys::generate("b", &[], None).unwrap();
    std::fs::write(&path, format!("{}\n{}\n", a.line, b.line)).unwrap();
    let (addr, task) = bind(
        server(),
        HttpOptions {
            api_keys: Some(path),
            ..HttpOptions::default()
        },
    )
    .await;
    let connect = |key: String| async move {
        Client::connect_http_with(
            &format!("http://{addr}/mcp"),
            HttpClientOptions::default().header("X-API-Key", key),
            ClientOptions {
                protocol_version: "2026-07-28".into(),
                ..ClientOptions::default()
            },
        )
        .await
        .unwrap()
    };
    let (ca, cb) = (
        connect(a.secret.clone()).await,
        connect(b.secret.clone()).await,
    );
    let tasks = json!({"io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}});
    let created: Value = ca
        .request(
            "tools/call",
            &json!({"name": "slow_task", "arguments": {}, "_meta": tasks}),
        )
        .await
        .unwrap();
    assert_eq!(created["resultType"], "task", "{created}");
    let id = created["taskId"].as_str().unwrap();
    let get = json!({"taskId": id, "_meta": tasks});
    let mine: Value = ca.request("tasks/get", &get).await.unwrap();
    assert_eq!(mine["status"], "working");
    let e = rpc_error(cb.request::<_, Value>("tasks/get", &get).await.unwrap_err());
    assert!(
        e.message.contains(&format!("no task `{id}`")),
        "{}",
        e.message
    );
    let e = rpc_error(
        cb.request::<_, Value>("tasks/cancel", &get)
            .await
            .unwrap_err(),
    );
    assert!(e.message.contains("no task"), "{}", e.message);
    let still: Value = ca.request("tasks/get", &get).await.unwrap();
    assert_eq!(
        still["status"], "working",
        "the other caller could not cancel it"
    );
    task.abort();
}

/// Over HTTP, 2026-07-28 requests have no session, so the per-session task quota is each
/// caller's: an API key that holds its quota is refused one more task, another key is not,
/// and an anonymous caller is counted by its address. A task id is the only handle on a
/// task: 128 random bits, never the same twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sessions_each_caller_has_its_own_task_quota() {
    let dir = TempDir::new("task-quota");
    let path = dir.0.join("keys.jsonl");
    let a = api_keys::generate("a", &[], None).unwrap();
    let b = api_keys::generate("b", &[], None).unwrap();
    std::fs::write(&path, format!("{}\n{}\n", a.line, b.line)).unwrap();
    let limits = mcp_runtime::SessionLimits {
        max_tasks: 2,
        ..mcp_runtime::SessionLimits::default()
    };
    let (addr, task) = bind(
        server().session_limits(limits.clone()),
        HttpOptions {
            api_keys: Some(path),
            ..HttpOptions::default()
        },
    )
    .await;
    let (open_addr, open_task) = bind(
        server().default_scopes(&[]).session_limits(limits),
        HttpOptions::default(),
    )
    .await;
    let connect = |addr: SocketAddr, key: Option<String>| async move {
        let mut options = HttpClientOptions::default();
        if let Some(key) = key {
            options = options.header("X-API-Key", key);
        }
        Client::connect_http_with(
            &format!("http://{addr}/mcp"),
            options,
            ClientOptions {
                protocol_version: "2026-07-28".into(),
                ..ClientOptions::default()
            },
        )
        .await
        .unwrap()
    };
    let tasks = json!({"io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}});
    let call = json!({"name": "slow_task", "arguments": {}, "_meta": tasks});
    async fn call_as(client: &Client, call: &Value) -> Result<Value, ClientError> {
        client.request::<_, Value>("tools/call", call).await
    }
    let create = |client| call_as(client, &call);
    let (ca, cb) = (
        connect(addr, Some(a.secret.clone())).await,
        connect(addr, Some(b.secret.clone())).await,
    );
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created = create(&ca).await.unwrap();
        assert_eq!(created["resultType"], "task", "{created}");
        ids.push(created["taskId"].as_str().unwrap().to_string());
    }
    let refused = rpc_error(create(&ca).await.unwrap_err());
    assert!(
        refused.message.contains("this caller holds 2 tasks"),
        "{}",
        refused.message
    );
    let other = create(&cb).await.unwrap();
    assert_eq!(
        other["resultType"], "task",
        "another key has its own quota: {other}"
    );
    ids.push(other["taskId"].as_str().unwrap().to_string());

    // Anonymous callers: by address (here every client is 127.0.0.1).
    let (c1, c2) = (
        connect(open_addr, None).await,
        connect(open_addr, None).await,
    );
    for c in [&c1, &c2] {
        let created = create(c).await.unwrap();
        assert_eq!(created["resultType"], "task", "{created}");
        ids.push(created["taskId"].as_str().unwrap().to_string());
    }
    let refused = rpc_error(create(&c1).await.unwrap_err());
    assert!(
        refused
            .message
            .contains("this client address holds 2 tasks"),
        "{}",
        refused.message
    );

    for id in &ids {
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());
    task.abort();
    open_task.abort();
}

/// `list_changed` goes only to the sessions whose view of the list changed: a change to an
/// item a caller may not see leaves its lists as they were, and it hears nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changed_reaches_only_the_callers_who_can_see_the_change() {
    let dir = TempDir::new("list-changed");
    let path = dir.0.join("keys.jsonl");
    let reader =
        api_keys::generate("reader", &["notes:read".into(), "mcp:use".into()], None).unwrap();
    let writer = api_keys::generate(
        "writer",
        &["notes:read".into(), "notes:write".into(), "mcp:use".into()],
        None,
    )
    .unwrap();
    std::fs::write(&path, format!("{}\n{}\n", reader.line, writer.line)).unwrap();
    let server = server();
    let handle = server.handle();
    let (addr, task) = bind(
        server,
        HttpOptions {
            api_keys: Some(path),
            ..HttpOptions::default()
        },
    )
    .await;
    let connect = |key: String| async move {
        Client::connect_http_with(
            &format!("http://{addr}/mcp"),
            HttpClientOptions::default().header("X-API-Key", key),
            ClientOptions::default(),
        )
        .await
        .unwrap()
    };
    let (r, w) = (
        connect(reader.secret.clone()).await,
        connect(writer.secret.clone()).await,
    );
    // Both GET streams are open once a request after the handshake was answered.
    r.ping().await.unwrap();
    w.ping().await.unwrap();

    assert!(
        handle.disable_prompt("draft"),
        "needs notes:write: the writer"
    );
    assert!(
        handle.disable_tool("write_note"),
        "needs notes:write: the writer"
    );
    assert!(
        handle.disable_resource("notes://secret"),
        "needs notes:admin: nobody"
    );
    assert!(handle.disable_resource("notes://public"), "anyone");
    assert!(handle.disable_tool("ping_anyone"), "anyone, and the last");

    /// The lists a client heard changed, up to the last change (tools after resources).
    async fn heard(client: &Client) -> Vec<String> {
        let mut heard: Vec<String> = Vec::new();
        while let Ok(Some(n)) =
            tokio::time::timeout(Duration::from_secs(20), client.next_notification()).await
        {
            let Some(list) = n
                .method
                .strip_prefix("notifications/")
                .and_then(|m| m.strip_suffix("/list_changed"))
            else {
                continue;
            };
            let last = list == "tools" && heard.iter().any(|l| l == "resources");
            heard.push(list.to_string());
            if last {
                break;
            }
        }
        heard
    }
    assert_eq!(heard(&r).await, ["resources", "tools"]);
    assert_eq!(heard(&w).await, ["prompts", "tools", "resources", "tools"]);
    task.abort();
}

// ------------------------------------------------------------------ scopes that change

/// The list names (`tools`, `prompts`, `resources`) of the `list_changed` notifications
/// `client` hears until it has heard every one of `expected` (or 20 s pass).
async fn lists_heard(client: &Client, expected: &[&str]) -> Vec<String> {
    let mut heard: Vec<String> = Vec::new();
    while !expected.iter().all(|e| heard.iter().any(|h| h == e)) {
        let Ok(Some(n)) =
            tokio::time::timeout(Duration::from_secs(20), client.next_notification()).await
        else {
            break;
        };
        if let Some(list) = n
            .method
            .strip_prefix("notifications/")
            .and_then(|m| m.strip_suffix("/list_changed"))
        {
            heard.push(list.to_string());
        }
    }
    heard.sort();
    heard
}

/// `line` (a key file line) with other scopes.
fn with_scopes(line: &str, scopes: &[&str]) -> String {
    let mut key: Value = serde_json::from_str(line).unwrap();
    key["scopes"] = json!(scopes);
    key.to_string()
}

/// When the reloaded key file gives a key other scopes, its live sessions are told of the
/// lists that changed for them (and only those), see the new lists, and calls are checked
/// against the new scopes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_whose_scopes_change_in_the_reloaded_file_hears_what_changed() {
    let dir = TempDir::new("rescope");
    let path = dir.0.join("keys.jsonl");
    let key = api_keys::generate("grows", &["notes:read".into(), "mcp:use".into()], None).unwrap();
    let other =
        api_keys::generate("stays", &["notes:read".into(), "mcp:use".into()], None).unwrap();
    let write = |scopes: &[&str]| {
        std::fs::write(
            &path,
            format!("{}\n{}\n", with_scopes(&key.line, scopes), other.line),
        )
        .unwrap()
    };
    write(&["notes:read", "mcp:use"]);
    let (addr, task) = bind(
        server(),
        HttpOptions {
            api_keys: Some(path.clone()),
            ..HttpOptions::default()
        },
    )
    .await;
    let connect = |secret: String| async move {
        Client::connect_http_with(
            &format!("http://{addr}/mcp"),
            HttpClientOptions::default().header("X-API-Key", secret),
            ClientOptions::default(),
        )
        .await
        .unwrap()
    };
    let (c, o) = (
        connect(key.secret.clone()).await,
        connect(other.secret.clone()).await,
    );
    c.ping().await.unwrap();
    o.ping().await.unwrap();
    assert!(!names(&c.list_all_tools().await.unwrap()).contains(&"write_note".to_string()));
    let refused = rpc_error(
        c.call_tool("write_note", json!({"text": "a"}))
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, code::FORBIDDEN, "{}", refused.message);

    // The file now gives the key notes:write: `write_note` and the `draft` prompt appear.
    write(&["notes:read", "notes:write", "mcp:use"]);
    assert_eq!(
        lists_heard(&c, &["prompts", "tools"]).await,
        ["prompts", "tools"]
    );
    assert!(names(&c.list_all_tools().await.unwrap()).contains(&"write_note".to_string()));
    let wrote = c
        .call_tool("write_note", json!({"text": "a"}))
        .await
        .unwrap();
    assert_eq!(wrote.structured_content, Some(json!({"result": "wrote a"})));

    // And takes it away again.
    write(&["notes:read", "mcp:use"]);
    assert_eq!(
        lists_heard(&c, &["prompts", "tools"]).await,
        ["prompts", "tools"]
    );
    assert!(!names(&c.list_all_tools().await.unwrap()).contains(&"write_note".to_string()));
    let refused = rpc_error(
        c.call_tool("write_note", json!({"text": "b"}))
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, code::FORBIDDEN, "{}", refused.message);
    assert!(
        refused.message.contains("notes:write"),
        "{}",
        refused.message
    );

    // The other key's scopes never changed: it heard nothing.
    let heard = tokio::time::timeout(Duration::from_millis(500), o.next_notification()).await;
    assert!(heard.is_err(), "the other key heard {heard:?}");
    task.abort();
}

/// A `subscriptions/listen` stream (2026-07-28) hears only of changes its caller may see,
/// and of those that a reloaded key file makes visible or invisible to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_streams_hear_only_what_their_caller_may_see() {
    use mcp_runtime::client::ListenFilter;
    let dir = TempDir::new("listen");
    let path = dir.0.join("keys.jsonl");
    let reader =
        api_keys::generate("reader", &["notes:read".into(), "mcp:use".into()], None).unwrap();
    let writer = api_keys::generate(
        "writer",
        &["notes:read".into(), "notes:write".into(), "mcp:use".into()],
        None,
    )
    .unwrap();
    std::fs::write(&path, format!("{}\n{}\n", reader.line, writer.line)).unwrap();
    let server = server();
    let handle = server.handle();
    let (addr, task) = bind(
        server,
        HttpOptions {
            api_keys: Some(path.clone()),
            ..HttpOptions::default()
        },
    )
    .await;
    let connect = |secret: String| async move {
        Client::connect_http_with(
            &format!("http://{addr}/mcp"),
            HttpClientOptions::default().header("X-API-Key", secret),
            ClientOptions {
                protocol_version: "2026-07-28".into(),
                ..ClientOptions::default()
            },
        )
        .await
        .unwrap()
    };
    let (r, w) = (
        connect(reader.secret.clone()).await,
        connect(writer.secret.clone()).await,
    );
    let r_sub = r.listen(&ListenFilter::list_changes()).await.unwrap();
    let w_sub = w.listen(&ListenFilter::list_changes()).await.unwrap();

    // `write_note` needs notes:write: only the writer's stream hears of it; then a change
    // anyone sees reaches both.
    assert!(handle.disable_tool("write_note"));
    assert!(handle.disable_tool("ping_anyone"));
    /// The next notification other than a listen's acknowledgement, if one comes in `wait`.
    async fn within(c: &Client, wait: Duration) -> Option<mcp_runtime::client::Notification> {
        loop {
            let n = tokio::time::timeout(wait, c.next_notification())
                .await
                .ok()?
                .expect("the stream is open");
            if n.method != "notifications/subscriptions/acknowledged" {
                return Some(n);
            }
        }
    }
    async fn next(c: &Client) -> mcp_runtime::client::Notification {
        within(c, Duration::from_secs(20))
            .await
            .expect("a notification")
    }
    for _ in 0..2 {
        let n = next(&w).await;
        assert_eq!(n.method, "notifications/tools/list_changed");
        assert_eq!(n.subscription_id(), Some(w_sub.id.clone()));
    }
    let n = next(&r).await;
    assert_eq!(n.method, "notifications/tools/list_changed");
    assert_eq!(n.subscription_id(), Some(r_sub.id.clone()));
    let more = within(&r, Duration::from_millis(500)).await;
    assert!(
        more.is_none(),
        "the reader heard of a tool it cannot see: {more:?}"
    );

    // The reader's key gains notes:write: its open stream hears that prompts changed for it
    // (`draft`), and from then on of what that scope shows.
    std::fs::write(
        &path,
        format!(
            "{}\n{}\n",
            with_scopes(&reader.line, &["notes:read", "notes:write", "mcp:use"]),
            writer.line
        ),
    )
    .unwrap();
    let n = next(&r).await;
    assert_eq!(n.method, "notifications/prompts/list_changed");
    assert_eq!(n.subscription_id(), Some(r_sub.id.clone()));
    assert!(handle.enable_tool("write_note"));
    let n = next(&r).await;
    assert_eq!(n.method, "notifications/tools/list_changed");
    task.abort();
}
