//! Where tokens are kept: in memory, or in files of their own (mode 0600).

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::lock;

/// What is kept of a login to one server.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredTokens {
    /// The authorization server that issued them.
    pub issuer: String,
    /// The client's id there.
    pub client_id: Option<String>,
    /// The client's secret there, if it got one.
    pub client_secret: Option<String>,
    /// How the client authenticates at the token endpoint.
    pub auth_method: Option<String>,
    /// The redirect URI the client registered dynamically with.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// The access token.
    pub access_token: String,
    /// The refresh token, if any.
    pub refresh_token: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at: Option<u64>,
    /// The scopes granted.
    pub scope: Option<String>,
    /// Whether the access token is bound to a DPoP key (which dies with the connection, so
    /// such a token is not used again).
    #[serde(default)]
    pub dpop_bound: bool,
}

impl fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// Keeps tokens by server (its resource identifier, the URL).
pub trait TokenStore: Send + Sync {
    /// The tokens kept for `server`.
    fn load(&self, server: &str) -> Option<StoredTokens>;
    /// Keeps `tokens` for `server`.
    fn save(&self, server: &str, tokens: &StoredTokens);
    /// Forgets `server`'s tokens.
    fn clear(&self, server: &str);
}

/// Tokens for as long as the process runs.
#[derive(Default)]
pub struct MemoryTokenStore(Mutex<HashMap<String, StoredTokens>>);

impl TokenStore for MemoryTokenStore {
    fn load(&self, server: &str) -> Option<StoredTokens> {
        lock(&self.0).get(server).cloned()
    }
    fn save(&self, server: &str, tokens: &StoredTokens) {
        lock(&self.0).insert(server.to_string(), tokens.clone());
    }
    fn clear(&self, server: &str) {
        lock(&self.0).remove(server);
    }
}

/// Tokens in a directory, one JSON file per server (named by a digest of its URL), readable
/// by the user only: the directory 0700, the files 0600, written whole and renamed into
/// place.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    dir: PathBuf,
}

impl FileTokenStore {
    /// A store in `dir` (made when first written).
    pub fn new(dir: impl Into<PathBuf>) -> FileTokenStore {
        FileTokenStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `server`'s tokens.
    pub fn path(&self, server: &str) -> PathBuf {
        let digest = Sha256::digest(server.as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    /// Every server with tokens kept, and its tokens.
    pub fn list(&self) -> Vec<(String, StoredTokens)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read(entry.path())
                && let Ok(file) = serde_json::from_slice::<File>(&text)
            {
                out.push((file.server, file.tokens));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn write(&self, server: &str, tokens: &StoredTokens) -> std::io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir)?;
        let path = self.path(server);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        let body = serde_json::to_vec_pretty(&File {
            server: server.to_string(),
            tokens: tokens.clone(),
        })
        .map_err(std::io::Error::other)?;
        f.write_all(&body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    }
}

#[derive(Serialize, Deserialize)]
struct File {
    server: String,
    #[serde(flatten)]
    tokens: StoredTokens,
}

impl TokenStore for FileTokenStore {
    fn load(&self, server: &str) -> Option<StoredTokens> {
        let text = std::fs::read(self.path(server)).ok()?;
        let file: File = serde_json::from_slice(&text).ok()?;
        (file.server == server).then_some(file.tokens)
    }
    fn save(&self, server: &str, tokens: &StoredTokens) {
        if let Err(e) = self.write(server, tokens) {
            tracing::warn!(error = %e, dir = %self.dir.display(), "the tokens could not be kept");
        }
    }
    fn clear(&self, server: &str) {
        let _ = std::fs::remove_file(self.path(server));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> StoredTokens {
        StoredTokens {
            issuer: "https://as.example".into(),
            client_id: Some("c".into()),
            client_secret: None,
            auth_method: Some("none".into()),
            redirect_uri: None,
            access_token: "secret-token".into(),
            refresh_token: Some("r".into()),
            expires_at: Some(1),
            scope: None,
            dpop_bound: false,
        }
    }

    #[test]
    fn file_store_keeps_tokens_readable_by_the_user_only() {
        let dir = std::env::temp_dir().join(format!("mcp-token-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = FileTokenStore::new(&dir);
        assert!(store.load("http://a/mcp").is_none());
        store.save("http://a/mcp", &tokens());
        assert_eq!(store.load("http://a/mcp"), Some(tokens()));
        assert!(store.load("http://b/mcp").is_none());
        assert_eq!(store.list().len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path("http://a/mcp"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        store.clear("http://a/mcp");
        assert!(store.load("http://a/mcp").is_none());
        assert!(!format!("{:?}", tokens()).contains("secret-token"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
