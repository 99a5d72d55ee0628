//! The official JSON Schemas of the protocol's revisions, for the page to check every
//! message against. The inspector carries no copy: a schema is read from
//! `MCP_SCHEMAS_DIR/<revision>/schema.json` when that is set (the `schema/` folder of the
//! specification repository), else from the user's cache, where the first use fetches it
//! from the specification repository (`MCP_SCHEMAS_URL` names another base).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mcp_runtime::protocol::ProtocolVersion;
use serde_json::Value;

/// The largest schema file read or fetched.
const MAX_SCHEMA: usize = 4 * 1024 * 1024;
/// Where the specification repository publishes each revision's `<revision>/schema.json`.
const CANONICAL: &str =
    "https://raw.githubusercontent.com/modelcontextprotocol/modelcontextprotocol/main/schema";
/// How long a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// The schema of `revision`, or why there is none (shown in the page).
pub(super) async fn load(revision: &str) -> Result<Value, String> {
    // Only known revisions: the name becomes a path and a URL.
    let Some(v) = ProtocolVersion::parse_any(revision) else {
        return Err(format!("unknown revision `{revision}`"));
    };
    let revision = v.as_str();
    if let Some(dir) = std::env::var_os("MCP_SCHEMAS_DIR") {
        let path = Path::new(&dir).join(revision).join("schema.json");
        return read(&path).map_err(|e| format!("{e} (MCP_SCHEMAS_DIR)"));
    }
    let cached = cache_dir().map(|d| d.join(revision).join("schema.json"));
    if let Some(path) = &cached
        && path.exists()
    {
        match read(path) {
            Ok(v) => return Ok(v),
            // A damaged copy is fetched again.
            Err(e) => note(&e),
        }
    }
    let base = std::env::var("MCP_SCHEMAS_URL").unwrap_or_else(|_| CANONICAL.into());
    let url = format!("{}/{revision}/schema.json", base.trim_end_matches('/'));
    let body = fetch(&url).await.map_err(|e| {
        format!(
            "no schema for {revision}: {e}; connect to the network once (the schema is then kept in {}), or set MCP_SCHEMAS_DIR to the schema/ folder of the specification repository",
            cached
                .as_ref()
                .map_or_else(|| "the cache directory".into(), |p| p.display().to_string())
        )
    })?;
    let schema = verify(&body).map_err(|e| format!("{url}: {e}"))?;
    if let Some(path) = &cached
        && let Err(e) = store(path, &body)
    {
        note(&format!(
            "could not keep the schema in {}: {e}",
            path.display()
        ));
    }
    Ok(schema)
}

fn note(message: &str) {
    eprintln!("mcp-cli dev: {message}");
}

/// `$XDG_CACHE_HOME/mcp-cli/schemas`, else the platform's cache directory.
fn cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = env("XDG_CACHE_HOME").or_else(|| {
        if cfg!(windows) {
            env("LOCALAPPDATA")
        } else if cfg!(target_os = "macos") {
            env("HOME").map(|h| h.join("Library").join("Caches"))
        } else {
            env("HOME").map(|h| h.join(".cache"))
        }
    })?;
    Some(base.join("mcp-cli").join("schemas"))
}

/// A schema file: bounded in size, JSON, and a schema with definitions.
fn read(path: &Path) -> Result<Value, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("no schema at {}: {e}", path.display()))?
        .len();
    if size > MAX_SCHEMA as u64 {
        return Err(format!(
            "{} is larger than {MAX_SCHEMA} bytes",
            path.display()
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
    verify(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// What makes a body a schema the page can check with: a JSON object with `$defs` (or the
/// older `definitions`) holding the protocol's messages.
fn verify(bytes: &[u8]) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let defs = v
        .get("$defs")
        .or_else(|| v.get("definitions"))
        .and_then(Value::as_object);
    match defs {
        Some(d) if d.contains_key("JSONRPCRequest") || d.contains_key("JSONRPCMessage") => Ok(v),
        _ => Err("not an MCP JSON Schema (no `$defs` with the JSON-RPC messages)".into()),
    }
}

/// Writes the fetched schema beside its final name and renames it there, so that a reader
/// never sees half a file.
fn store(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let partial = dir.join(format!("schema.json.{}.partial", std::process::id()));
    std::fs::write(&partial, body)?;
    std::fs::rename(&partial, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })
}

/// GETs `url`, refusing a body over [`MAX_SCHEMA`] bytes.
async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("`{url}` is not a URL"))?;
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls()?)
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(3));
    // No proxy reaches this machine on the inspector's behalf.
    if matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        builder = builder.no_proxy();
    }
    let client = builder
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let mut response = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| format!("could not fetch {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_SCHEMA as u64)
    {
        return Err(format!("{url} is larger than {MAX_SCHEMA} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("could not fetch {url}: {e}"))?
    {
        if body.len() + chunk.len() > MAX_SCHEMA {
            return Err(format!("{url} is larger than {MAX_SCHEMA} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// rustls on ring with the platform's roots, as the runtime's client has.
fn tls() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot be set up: {e}"))?;
    let verifier = rustls_platform_verifier::Verifier::new(provider)
        .map_err(|e| format!("the system's CA roots are unavailable: {e}"))?;
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mcp_schemas_pass() {
        assert!(verify(br#"{"$defs": {"JSONRPCRequest": {}}}"#).is_ok());
        assert!(verify(br#"{"definitions": {"JSONRPCMessage": {}}}"#).is_ok());
        let e = verify(b"<html>rate limited</html>").unwrap_err();
        assert!(e.contains("not JSON"), "{e}");
        let e = verify(br#"{"$defs": {"Other": {}}}"#).unwrap_err();
        assert!(e.contains("not an MCP JSON Schema"), "{e}");
    }

    #[test]
    fn a_stored_schema_is_read_back_whole() {
        let dir = std::env::temp_dir().join(format!("mcp-cli-schemas-{}", std::process::id()));
        let path = dir.join("2025-11-25").join("schema.json");
        store(
            &path,
            br#"{"$defs": {"JSONRPCRequest": {"type": "object"}}}"#,
        )
        .unwrap();
        assert_eq!(
            read(&path).unwrap()["$defs"]["JSONRPCRequest"]["type"],
            "object"
        );
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
