//! Where tokens are kept: in memory, or in files of their own (mode 0600), sealed with
//! AES-256-GCM under a key that can be kept in the OS keychain (feature `keychain`).

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
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
///
/// [`FileTokenStore::new`] writes the tokens as they are; [`FileTokenStore::sealed`] (and,
/// with the feature `keychain`, [`FileTokenStore::with_keychain`]) seals them with
/// AES-256-GCM, the server's URL bound to the ciphertext, so that the files hold no secret
/// in clear. A sealed store reading a file written in clear seals it in place.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    dir: PathBuf,
    key: Option<SealingKey>,
}

/// The key a [`FileTokenStore`] seals with.
#[derive(Clone)]
struct SealingKey(std::sync::Arc<LessSafeKey>);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(AES-256-GCM)")
    }
}

/// What a sealed file's `sealed` starts with: the format (nonce, then ciphertext and tag).
const SEALED_V1: &str = "aes256gcm:";

impl SealingKey {
    fn new(key: &[u8; 32]) -> SealingKey {
        let key = UnboundKey::new(&AES_256_GCM, key).expect("a 256-bit key fits AES-256-GCM");
        SealingKey(std::sync::Arc::new(LessSafeKey::new(key)))
    }

    fn seal(&self, server: &str, mut plain: Vec<u8>) -> std::io::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(server.as_bytes()),
                &mut plain,
            )
            .map_err(|_| std::io::Error::other("sealing the tokens failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&plain);
        Ok(format!("{SEALED_V1}{}", STANDARD.encode(out)))
    }

    fn open(&self, server: &str, sealed: &str) -> Option<StoredTokens> {
        let bytes = STANDARD.decode(sealed.strip_prefix(SEALED_V1)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut rest = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(server.as_bytes()), &mut rest)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

impl FileTokenStore {
    /// A store in `dir` (made when first written), the tokens written in clear (the files
    /// readable by the user only).
    pub fn new(dir: impl Into<PathBuf>) -> FileTokenStore {
        FileTokenStore {
            dir: dir.into(),
            key: None,
        }
    }

    /// A store in `dir` whose files are sealed with `key` (AES-256-GCM): without the key
    /// they tell the server's URL only.
    pub fn sealed(dir: impl Into<PathBuf>, key: &[u8; 32]) -> FileTokenStore {
        FileTokenStore {
            dir: dir.into(),
            key: Some(SealingKey::new(key)),
        }
    }

    /// A store in `dir` sealed with the key `keychain` holds (made and kept there the first
    /// time), or why the keychain could not give it.
    #[cfg(feature = "keychain")]
    pub fn with_keychain(
        dir: impl Into<PathBuf>,
        keychain: &Keychain,
    ) -> Result<FileTokenStore, KeychainError> {
        Ok(FileTokenStore::sealed(dir, &keychain.key()?))
    }

    /// Whether the files are sealed.
    pub fn is_sealed(&self) -> bool {
        self.key.is_some()
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

    /// Every server with tokens kept, and its tokens (a sealed store: those it can open).
    pub fn list(&self) -> Vec<(String, StoredTokens)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            if entry.path().extension().is_none_or(|e| e != "json") {
                continue;
            }
            if let Ok(text) = std::fs::read(entry.path())
                && let Some((server, tokens)) = self.read(&text)
            {
                out.push((server, tokens));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// A file's server and tokens; a file in clear read by a sealed store is sealed now.
    fn read(&self, text: &[u8]) -> Option<(String, StoredTokens)> {
        if let Ok(file) = serde_json::from_slice::<SealedFile>(text) {
            let tokens = self.key.as_ref()?.open(&file.server, &file.sealed);
            if tokens.is_none() {
                tracing::debug!(
                    dir = %self.dir.display(),
                    "tokens sealed with another key are ignored"
                );
            }
            return Some((file.server, tokens?));
        }
        let file: File = serde_json::from_slice(text).ok()?;
        if self.key.is_some() {
            self.save(&file.server, &file.tokens);
        }
        Some((file.server, file.tokens))
    }

    fn write(&self, server: &str, tokens: &StoredTokens) -> std::io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir)?;
        let path = self.path(server);
        let body = match &self.key {
            Some(key) => serde_json::to_vec_pretty(&SealedFile {
                server: server.to_string(),
                sealed: key.seal(server, serde_json::to_vec(tokens)?)?,
            }),
            None => serde_json::to_vec_pretty(&File {
                server: server.to_string(),
                tokens: tokens.clone(),
            }),
        }
        .map_err(std::io::Error::other)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
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

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedFile {
    server: String,
    sealed: String,
}

impl TokenStore for FileTokenStore {
    fn load(&self, server: &str) -> Option<StoredTokens> {
        let text = std::fs::read(self.path(server)).ok()?;
        let (kept_for, tokens) = self.read(&text)?;
        (kept_for == server).then_some(tokens)
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

/// Why the OS keychain could not give or keep a key.
#[cfg(feature = "keychain")]
#[derive(Debug, Clone)]
pub struct KeychainError(String);

#[cfg(feature = "keychain")]
impl fmt::Display for KeychainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "keychain")]
impl std::error::Error for KeychainError {}

/// A 256-bit key kept in the OS keychain under a service and an account name: the kernel's
/// key retention service (keyutils) on Linux, Keychain Services on macOS, the Credential
/// Manager on Windows (the `keyring` crate's native stores).
///
/// On Linux the key lives in the user's session and persistent keyrings, which the kernel
/// keeps in memory: a reboot (or the persistent keyring's expiry after days unused) loses it,
/// and what was sealed with it can no longer be read — the user logs in again.
#[cfg(feature = "keychain")]
#[derive(Debug, Clone)]
pub struct Keychain {
    service: String,
    account: String,
}

#[cfg(feature = "keychain")]
impl Keychain {
    /// The key of `account` under `service` (e.g. the application's name and the directory
    /// whose files the key seals).
    pub fn new(service: impl Into<String>, account: impl Into<String>) -> Keychain {
        Keychain {
            service: service.into(),
            account: account.into(),
        }
    }

    /// The keychain entry. On Linux the key goes to the session keyring and is linked into
    /// the user's persistent keyring when `persistent`; where the kernel refuses that link
    /// (some containers and user namespaces), [`Keychain::with_entry`] does without it.
    fn entry(&self, persistent: bool) -> Result<keyring::Entry, KeychainError> {
        if !cfg!(any(
            target_os = "linux",
            target_os = "macos",
            target_os = "windows"
        )) {
            return Err(KeychainError(
                "this platform has no OS keychain the `keychain` feature can use".into(),
            ));
        }
        let refused = |e: keyring::Error| {
            KeychainError(format!(
                "the OS keychain refused the entry `{}` of `{}`: {e}",
                self.account, self.service
            ))
        };
        #[cfg(target_os = "linux")]
        {
            let mut credential = keyring::keyutils::KeyutilsCredential::new_with_target(
                None,
                &self.service,
                &self.account,
            )
            .map_err(refused)?;
            if !persistent {
                credential.persistent = None;
            }
            Ok(keyring::Entry::new_with_credential(Box::new(credential)))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = persistent;
            keyring::Entry::new(&self.service, &self.account).map_err(refused)
        }
    }

    /// Runs `f` on the entry; on Linux once more without the persistent keyring when the
    /// kernel refused it (keyutils reports that as "no entry").
    fn with_entry<T>(
        &self,
        f: impl Fn(&keyring::Entry) -> keyring::Result<T>,
    ) -> Result<keyring::Result<T>, KeychainError> {
        let first = f(&self.entry(true)?);
        if cfg!(target_os = "linux") && matches!(first, Err(keyring::Error::NoEntry)) {
            return Ok(f(&self.entry(false)?));
        }
        Ok(first)
    }

    fn failed(&self, what: &str, e: keyring::Error) -> KeychainError {
        KeychainError(format!(
            "the OS keychain could not {what} the key `{}` of `{}`: {e}",
            self.account, self.service
        ))
    }

    /// The key, made at random and kept in the keychain the first time.
    pub fn key(&self) -> Result<[u8; 32], KeychainError> {
        match self.with_entry(|e| e.get_password())? {
            Ok(text) => {
                let bytes = STANDARD.decode(text.trim()).ok();
                match bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
                    Some(key) => return Ok(key),
                    None => {
                        return Err(KeychainError(format!(
                            "the keychain entry `{}` of `{}` holds something other than a key: delete it",
                            self.account, self.service
                        )));
                    }
                }
            }
            Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(self.failed("read", e)),
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| KeychainError(format!("no randomness for a key: {e}")))?;
        let text = STANDARD.encode(key);
        self.with_entry(|e| e.set_password(&text))?
            .map_err(|e| self.failed("keep", e))?;
        Ok(key)
    }

    /// Whether the keychain holds the key now.
    pub fn exists(&self) -> Result<bool, KeychainError> {
        match self.with_entry(|e| e.get_password())? {
            Ok(_) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.failed("read", e)),
        }
    }

    /// Deletes the key (what it sealed can no longer be read); nothing when there is none.
    pub fn forget(&self) -> Result<(), KeychainError> {
        match self.with_entry(|e| e.delete_credential())? {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.failed("delete", e)),
        }
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

    #[test]
    fn a_sealed_store_keeps_no_secret_in_clear_and_needs_its_key() {
        let dir = std::env::temp_dir().join(format!("mcp-sealed-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = FileTokenStore::sealed(&dir, &[7; 32]);
        store.save("http://a/mcp", &tokens());
        assert_eq!(store.load("http://a/mcp"), Some(tokens()));
        let text = std::fs::read_to_string(store.path("http://a/mcp")).unwrap();
        assert!(
            !text.contains("secret-token") && !text.contains("as.example"),
            "{text}"
        );
        assert!(text.contains("http://a/mcp"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path("http://a/mcp"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another key, or no key, reads nothing.
        assert!(
            FileTokenStore::sealed(&dir, &[8; 32])
                .load("http://a/mcp")
                .is_none()
        );
        assert!(FileTokenStore::new(&dir).load("http://a/mcp").is_none());
        assert!(FileTokenStore::sealed(&dir, &[8; 32]).list().is_empty());
        // The URL is bound to the ciphertext: a file copied to another server's name opens
        // for nobody.
        let moved = store.path("http://b/mcp");
        std::fs::write(&moved, text.replace("http://a/mcp", "http://b/mcp")).unwrap();
        assert!(store.load("http://b/mcp").is_none());
        std::fs::remove_file(moved).unwrap();
        // A file written in clear is sealed on first read.
        FileTokenStore::new(&dir).save("http://c/mcp", &tokens());
        assert_eq!(store.list().len(), 2);
        let text = std::fs::read_to_string(store.path("http://c/mcp")).unwrap();
        assert!(
            text.contains("\"sealed\"") && !text.contains("secret-token"),
            "{text}"
        );
        assert_eq!(store.load("http://c/mcp"), Some(tokens()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Through the real OS keychain (keyutils on Linux): the key is made once and kept, the
    /// store seals with it, a second handle on the same entry reads the same tokens, and
    /// once the key is deleted they cannot be read.
    #[cfg(feature = "keychain")]
    #[test]
    fn the_keychain_keeps_the_key_that_seals_the_tokens() {
        let id = format!("{}-{}", std::process::id(), super::super::random(6));
        let keychain = Keychain::new("mcp-runtime-test", format!("tokens-{id}"));
        assert!(!keychain.exists().unwrap());
        let dir = std::env::temp_dir().join(format!("mcp-keychain-store-{id}"));
        let store = FileTokenStore::with_keychain(&dir, &keychain).unwrap();
        assert!(keychain.exists().unwrap());
        assert!(store.is_sealed());
        store.save("http://a/mcp", &tokens());
        let key = keychain.key().unwrap();
        assert_eq!(
            Keychain::new("mcp-runtime-test", format!("tokens-{id}"))
                .key()
                .unwrap(),
            key
        );
        let again = FileTokenStore::with_keychain(&dir, &keychain).unwrap();
        assert_eq!(again.load("http://a/mcp"), Some(tokens()));
        let text = std::fs::read_to_string(store.path("http://a/mcp")).unwrap();
        assert!(!text.contains("secret-token"));
        // Another account's key opens nothing.
        let other = Keychain::new("mcp-runtime-test", format!("other-{id}"));
        assert!(
            FileTokenStore::with_keychain(&dir, &other)
                .unwrap()
                .load("http://a/mcp")
                .is_none()
        );
        other.forget().unwrap();
        keychain.forget().unwrap();
        assert!(!keychain.exists().unwrap());
        keychain.forget().unwrap();
        // A new key is made; the old tokens are unreadable with it.
        let fresh = FileTokenStore::with_keychain(&dir, &keychain).unwrap();
        assert_ne!(keychain.key().unwrap(), key);
        assert!(fresh.load("http://a/mcp").is_none());
        keychain.forget().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
