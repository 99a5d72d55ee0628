//! Logging in to protected servers: `--url` runs the OAuth browser flow when the server asks
//! for authorization, with the tokens kept per server in the user's configuration directory
//! (files readable by the user only) and refreshed from there; `mcp-cli auth
//! login|logout|status` manage them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use mcp_runtime::client::oauth::{
    AuthEvent, FileTokenStore, LoopbackAuthorizer, OAuth, TokenStore, server_key,
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
}

impl Default for Login {
    fn default() -> Self {
        Login {
            enabled: true,
            client_id: None,
            client_secret: None,
            scope: None,
            open_browser: true,
        }
    }
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

fn store() -> Result<FileTokenStore, String> {
    token_dir().map(FileTokenStore::new).ok_or_else(|| {
        "no configuration directory to keep tokens in: set HOME or MCP_CLI_CONFIG_DIR".to_string()
    })
}

/// The OAuth settings of a connection to `url`: the browser flow on a loopback port (the
/// port registered before, when there was one), tokens in the token directory, each step
/// told on stderr.
pub(crate) async fn oauth(url: &str, login: &Login) -> Result<OAuth, String> {
    let store = store()?;
    let key = server_key(url).unwrap_or_else(|| url.to_string());
    let port = store
        .load(&key)
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
        .store(Arc::new(store))
        .on_event(tell);
    if let Some(id) = &login.client_id {
        oauth = oauth.pre_registered(id.clone(), login.client_secret.clone(), None);
    }
    if let Some(scope) = &login.scope {
        oauth = oauth.scope(scope.clone());
    }
    Ok(oauth)
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
            };
            login_now(&url, &login)
        }
        Action::Logout { url } => logout(&url),
        Action::Status { url } => status(url.as_deref()),
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
    let store = store().map_err(Failure::Usage)?;
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
    let store = store().map_err(Failure::Usage)?;
    if store.load(&key).is_some() {
        store.clear(&key);
        println!("logged out of {key}");
    } else {
        println!("not logged in to {key}");
    }
    Ok(())
}

fn status(url: Option<&str>) -> Result<(), Failure> {
    let store = store().map_err(Failure::Usage)?;
    let key = match url {
        Some(u) => {
            Some(server_key(u).ok_or_else(|| Failure::Usage(format!("`{u}` is not a URL")))?)
        }
        None => None,
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
