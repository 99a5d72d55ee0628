//! Logging in to protected servers: `--url` runs the OAuth browser flow when the server asks
//! for authorization, with the tokens kept per server in the user's configuration directory
//! (files readable by the user only, sealed under a key the OS keychain keeps, or with
//! `--token-store file` in clear) and refreshed from there; `mcp-cli auth
//! login|logout|status` manage them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use mcp_runtime::client::oauth::{
    AuthEvent, FileTokenStore, LoopbackAuthorizer, MemoryTokenStore, OAuth, StoredTokens,
    TokenStore, server_key,
};

use crate::commands::Failure;

/// How `--url` logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Login {
    /// Whether to log in when the server asks (`--no-login` turns it off).
    pub enabled: bool,
    /// A client registered beforehand at the authorization server.
    pub client_id: Option<String>,
    /// Its secret.
    pub client_secret: Option<String>,
    /// The scopes to ask for instead of the server's.
    pub scope: Option<String>,
    /// Whether to start the browser (otherwise the URL is only printed).
    pub open_browser: bool,
    /// Where the tokens are kept.
    pub token_store: StoreKind,
    /// Who else sees the flow's steps (the inspector's login panel).
    pub events: Option<AuthSink>,
}

/// Sees each step of a login (an [`AuthEvent`] carries no secret).
#[derive(Clone)]
pub(crate) struct AuthSink(pub Arc<dyn Fn(&AuthEvent) + Send + Sync>);

impl std::fmt::Debug for AuthSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthSink")
    }
}

impl PartialEq for AuthSink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for AuthSink {}

impl Default for Login {
    fn default() -> Self {
        Login {
            enabled: true,
            client_id: None,
            client_secret: None,
            scope: None,
            open_browser: true,
            token_store: StoreKind::Keychain,
            events: None,
        }
    }
}

/// Where tokens are kept (`--token-store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum StoreKind {
    // Files sealed (AES-256-GCM) under a key the OS keychain keeps.
    #[default]
    Keychain,
    // Files in clear, readable by the user only.
    File,
}

/// Where tokens are kept: `$MCP_CLI_CONFIG_DIR/tokens`, else the platform's configuration
/// directory (`$XDG_CONFIG_HOME` or `~/.config` on Linux, `~/Library/Application Support`
/// on macOS, `%APPDATA%` on Windows) under `mcp-cli/tokens`.
pub(crate) fn token_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("MCP_CLI_CONFIG_DIR") {
        return Some(dir.join("tokens"));
    }
    let base = if cfg!(windows) {
        var("APPDATA")?
    } else if cfg!(target_os = "macos") {
        var("HOME")?.join("Library/Application Support")
    } else {
        var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")))?
    };
    Some(base.join("mcp-cli").join("tokens"))
}

fn dir() -> Result<PathBuf, String> {
    token_dir().ok_or_else(|| {
        "no configuration directory to keep tokens in: set HOME or MCP_CLI_CONFIG_DIR".to_string()
    })
}

/// The keychain entry of the key sealing the files of `dir`.
#[cfg(feature = "keychain")]
fn keychain(dir: &Path) -> mcp_runtime::client::oauth::Keychain {
    mcp_runtime::client::oauth::Keychain::new("mcp-cli", dir.display().to_string())
}

/// The token store of `kind`, or why it cannot be had (naming `--token-store file`).
pub(crate) fn store(kind: StoreKind) -> Result<FileTokenStore, String> {
    let dir = dir()?;
    match kind {
        StoreKind::File => Ok(FileTokenStore::new(dir)),
        #[cfg(feature = "keychain")]
        StoreKind::Keychain => FileTokenStore::with_keychain(&dir, &keychain(&dir)).map_err(|e| {
            format!(
                "{e}; `--token-store file` keeps the tokens unencrypted in {}, readable by you only",
                dir.display()
            )
        }),
        #[cfg(not(feature = "keychain"))]
        StoreKind::Keychain => Err(format!(
            "this mcp-cli was built without the `keychain` feature, so it cannot seal tokens; `--token-store file` keeps them unencrypted in {}, readable by you only",
            dir.display()
        )),
    }
}

/// A file store in clear that says so the first time it keeps tokens.
struct InClear {
    files: FileTokenStore,
    warned: std::sync::atomic::AtomicBool,
}

impl TokenStore for InClear {
    fn load(&self, server: &str) -> Option<StoredTokens> {
        self.files.load(server)
    }
    fn save(&self, server: &str, tokens: &StoredTokens) {
        if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!(
                "mcp-cli: warning: the tokens are kept unencrypted in {} (`--token-store file`)",
                self.files.dir().display()
            );
        }
        self.files.save(server, tokens)
    }
    fn clear(&self, server: &str) {
        self.files.clear(server)
    }
}

/// The OAuth settings of a connection to `url`: the browser flow on a loopback port (the
/// port registered before, when there was one), tokens in the token directory, each step
/// told on stderr.
pub(crate) async fn oauth(url: &str, login: &Login) -> Result<OAuth, String> {
    let key = server_key(url).unwrap_or_else(|| url.to_string());
    let (store, kept): (Arc<dyn TokenStore>, Option<StoredTokens>) = match store(login.token_store)
    {
        Ok(files) => {
            let kept = files.load(&key);
            let store: Arc<dyn TokenStore> = if files.is_sealed() {
                Arc::new(files)
            } else {
                Arc::new(InClear {
                    files,
                    warned: Default::default(),
                })
            };
            (store, kept)
        }
        Err(e) => {
            eprintln!("mcp-cli: {e}; a login now lasts for this command only");
            (Arc::new(MemoryTokenStore::default()), None)
        }
    };
    let port = kept
        .and_then(|t| t.redirect_uri)
        .and_then(|u| u.rsplit_once(':').map(|(_, rest)| rest.to_string()))
        .and_then(|rest| rest.split('/').next().and_then(|p| p.parse::<u16>().ok()));
    let authorizer = match port {
        Some(p) => match LoopbackAuthorizer::bind_port(p).await {
            Ok(a) => a,
            Err(_) => LoopbackAuthorizer::bind()
                .await
                .map_err(|e| e.to_string())?,
        },
        None => LoopbackAuthorizer::bind()
            .await
            .map_err(|e| e.to_string())?,
    }
    .open_browser(login.open_browser);
    let mut oauth = OAuth::authorization_code(authorizer)
        .client_name("mcp-cli")
        .store(store);
    oauth = match login.events.clone() {
        None => oauth.on_event(tell),
        Some(AuthSink(also)) => oauth.on_event(move |e| {
            tell(e);
            also(e)
        }),
    };
    if let Some(id) = &login.client_id {
        oauth = oauth.pre_registered(id.clone(), login.client_secret.clone(), None);
    }
    if let Some(scope) = &login.scope {
        oauth = oauth.scope(scope.clone());
    }
    Ok(oauth)
}

/// A step of the flow for a page: `{"kind", "text", "url"?}`, `kind` one of `challenged`,
/// `step-up`, `discovery`, `registered`, `authorize`, `token`, `refreshed`, `failed`.
pub(crate) fn step(event: &AuthEvent) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match event {
        AuthEvent::Challenged { status: 403, scope } => json!({
            "kind": "step-up",
            "text": format!("the server asks for more scope ({}): authorizing again", scope.as_deref().unwrap_or("none named")),
        }),
        AuthEvent::Challenged { status, scope } => json!({
            "kind": "challenged",
            "text": match scope {
                Some(s) => format!("the server asks for authorization ({status}, scope {s})"),
                None => format!("the server asks for authorization ({status})"),
            },
        }),
        AuthEvent::Discovery { step } => json!({ "kind": "discovery", "text": step }),
        AuthEvent::Registered {
            issuer,
            client_id,
            how,
        } => json!({
            "kind": "registered",
            "text": format!("client {client_id} at {issuer} ({how})"),
        }),
        AuthEvent::Authorize { url } => json!({
            "kind": "authorize",
            "text": "authorize in the browser: open the authorization page",
            "url": url,
        }),
        AuthEvent::Token { grant, scope } => json!({
            "kind": if grant == "refresh_token" { "refreshed" } else { "token" },
            "text": match scope {
                Some(s) => format!("logged in ({grant}, scope {s})"),
                None => format!("logged in ({grant})"),
            },
        }),
        AuthEvent::Failed { reason } => json!({
            "kind": "failed",
            "text": format!("login failed: {reason}"),
        }),
        _ => return None,
    })
}

/// A step of the flow, on stderr.
fn tell(event: &AuthEvent) {
    let line = match event {
        AuthEvent::Challenged { status, scope } => match scope {
            Some(s) => format!("the server asks for authorization ({status}, scope {s})"),
            None => format!("the server asks for authorization ({status})"),
        },
        AuthEvent::Discovery { step } => step.clone(),
        AuthEvent::Registered {
            issuer,
            client_id,
            how,
        } => format!("client {client_id} at {issuer} ({how})"),
        AuthEvent::Authorize { .. } => return,
        AuthEvent::Token { grant, scope } => match scope {
            Some(s) => format!("logged in ({grant}, scope {s})"),
            None => format!("logged in ({grant})"),
        },
        AuthEvent::Failed { reason } => format!("login failed: {reason}"),
        _ => return,
    };
    eprintln!("mcp-cli: {line}");
}

/// Manage the logins to protected MCP servers (tokens kept in the configuration directory)
#[derive(Debug, Parser)]
#[command(name = "mcp-cli auth", max_term_width = 100)]
struct Auth {
    #[command(subcommand)]
    action: Action,
    /// Where the tokens are kept: sealed under a key in the OS keychain, or in clear
    #[arg(long, value_name = "STORE", global = true, value_enum, default_value_t)]
    token_store: StoreKind,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Log in to the server at URL (the browser flow) and keep its tokens
    Login {
        /// The server's MCP endpoint
        url: String,
        /// A client registered beforehand at the authorization server
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Its secret
        #[arg(long, value_name = "SECRET")]
        client_secret: Option<String>,
        /// The scopes to ask for, space-separated, instead of the server's
        #[arg(long, value_name = "SCOPES")]
        scope: Option<String>,
        /// Print the authorization URL without starting the browser
        #[arg(long)]
        no_browser: bool,
    },
    /// Forget the tokens of the server at URL
    Logout {
        /// The server's MCP endpoint
        url: String,
    },
    /// Show the logins kept (never the tokens), or the one of URL
    Status {
        /// The server's MCP endpoint
        url: Option<String>,
    },
}

/// Runs `mcp-cli auth …` (`args` after `auth`).
pub(crate) fn run(args: &[String]) -> ExitCode {
    let argv = std::iter::once("mcp-cli auth".to_string()).chain(args.iter().cloned());
    let auth = match Auth::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                    | clap::error::ErrorKind::DisplayVersion
            ) {
                print!("{}", e.render());
                return ExitCode::SUCCESS;
            }
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or_default();
            return Failure::Usage(line.strip_prefix("error: ").unwrap_or(line).to_string()).exit();
        }
    };
    let kind = auth.token_store;
    let outcome = match auth.action {
        Action::Login {
            url,
            client_id,
            client_secret,
            scope,
            no_browser,
        } => {
            let login = Login {
                enabled: true,
                client_id,
                client_secret,
                scope,
                open_browser: !no_browser,
                token_store: kind,
                events: None,
            };
            login_now(&url, &login)
        }
        Action::Logout { url } => logout(&url),
        Action::Status { url } => status(url.as_deref(), kind),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.exit(),
    }
}

fn login_now(url: &str, login: &Login) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Connect(format!("could not start the async runtime: {e}")))?;
    let key = server_key(url).ok_or_else(|| Failure::Usage(format!("`{url}` is not a URL")))?;
    let store = store(login.token_store).map_err(Failure::Usage)?;
    // A fresh login: what was kept is replaced.
    store.clear(&key);
    let result = runtime.block_on(async {
        let oauth = oauth(url, login).await.map_err(Failure::Connect)?;
        let http = mcp_runtime::HttpClientOptions::default().oauth(oauth);
        let client = mcp_runtime::Client::connect_http_with(url, http, Default::default())
            .await
            .map_err(|e| Failure::Connect(format!("could not log in to {url}: {e}")))?;
        // A server may let `initialize` through and ask for authorization on the first
        // real request.
        let _ = client.list_tools(None).await;
        let _ = client.close().await;
        Ok::<_, Failure>(())
    });
    runtime.shutdown_background();
    result?;
    match store.load(&key) {
        Some(t) => {
            println!(
                "logged in to {key} at {}{}",
                t.issuer,
                t.scope.map(|s| format!(" (scope {s})")).unwrap_or_default()
            );
            Ok(())
        }
        None => {
            println!("{key} did not ask for authorization: nothing to keep");
            Ok(())
        }
    }
}

fn logout(url: &str) -> Result<(), Failure> {
    let key = server_key(url).ok_or_else(|| Failure::Usage(format!("`{url}` is not a URL")))?;
    // Forgetting needs no key: the file goes, sealed or not.
    let files = FileTokenStore::new(dir().map_err(Failure::Usage)?);
    if files.path(&key).exists() {
        files.clear(&key);
        println!("logged out of {key}");
    } else {
        println!("not logged in to {key}");
    }
    // The last login gone, the keychain's key goes too.
    #[cfg(feature = "keychain")]
    if !has_logins(files.dir()) {
        let _ = keychain(files.dir()).forget();
    }
    Ok(())
}

/// Whether `dir` holds any login's file.
fn has_logins(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "json"))
    })
}

fn status(url: Option<&str>, kind: StoreKind) -> Result<(), Failure> {
    let key = match url {
        Some(u) => {
            Some(server_key(u).ok_or_else(|| Failure::Usage(format!("`{u}` is not a URL")))?)
        }
        None => None,
    };
    // Nothing kept: no key to make.
    let dir = dir().map_err(Failure::Usage)?;
    let store = if has_logins(&dir) {
        store(kind).map_err(Failure::Usage)?
    } else {
        FileTokenStore::new(dir)
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let entries: Vec<_> = store
        .list()
        .into_iter()
        .filter(|(server, _)| key.as_ref().is_none_or(|k| k == server))
        .collect();
    if entries.is_empty() {
        match key {
            Some(k) => println!("not logged in to {k}"),
            None => println!("no logins kept (in {})", store.dir().display()),
        }
        return Ok(());
    }
    for (server, t) in entries {
        let expiry = match t.expires_at {
            Some(at) if at <= now => "expired".to_string(),
            Some(at) => format!("expires in {} min", (at - now).div_ceil(60)),
            None => "no expiry given".to_string(),
        };
        println!(
            "{server}\n  issuer {}\n  client {}\n  scope {}\n  token {expiry}, {}",
            t.issuer,
            t.client_id.as_deref().unwrap_or("-"),
            t.scope.as_deref().unwrap_or("-"),
            if t.refresh_token.is_some() {
                "refreshable"
            } else {
                "not refreshable"
            }
        );
    }
    Ok(())
}
