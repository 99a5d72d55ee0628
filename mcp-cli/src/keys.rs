//! `mcp-cli keys create`: makes an API key for a server's `--api-keys` file, prints the key
//! once and the file's line for it (its digest, never the key).

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use mcp_runtime::auth::api_keys;

use crate::commands::Failure;

/// Manage API keys for a server's `--api-keys` file
#[derive(Debug, Parser)]
#[command(name = "mcp-cli keys", max_term_width = 100)]
struct Keys {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Make a key: print it once, with the line to add to the key file
    ///
    /// The file keeps the key's SHA-256 digest, never the key: keep the printed key, it
    /// cannot be shown again. A server reads the file again when it changes (and on SIGHUP);
    /// remove a key's line to revoke it.
    Create {
        /// Who or what the key is for (shown to handlers as the key's name)
        #[arg(long, value_name = "NAME")]
        name: String,
        /// A scope the key grants (repeat, or separate with commas)
        #[arg(long = "scope", value_name = "SCOPE", value_delimiter = ',')]
        scopes: Vec<String>,
        /// When the key stops working: an RFC 3339 time (2027-01-31T00:00:00Z) or a date
        #[arg(long, value_name = "TIME", conflicts_with = "expires_in")]
        expires: Option<String>,
        /// How long the key works, in days
        #[arg(long, value_name = "DAYS")]
        expires_in: Option<u64>,
        /// Append the line to this key file (made if missing) instead of printing it
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Print the key, its id and the line as one JSON object
        #[arg(long)]
        json: bool,
    },
}

/// Runs `mcp-cli keys …` (`args` after `keys`).
pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let argv = std::iter::once("mcp-cli keys".to_string()).chain(args.iter().cloned());
    let keys = match Keys::try_parse_from(argv) {
        Ok(k) => k,
        Err(e) => {
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                    | clap::error::ErrorKind::DisplayVersion
            ) {
                print!("{}", e.render());
                return Ok(());
            }
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or_default();
            return Err(Failure::Usage(
                line.strip_prefix("error: ").unwrap_or(line).to_string(),
            ));
        }
    };
    let Action::Create {
        name,
        scopes,
        expires,
        expires_in,
        file,
        json,
    } = keys.action;
    let scopes: Vec<String> = scopes
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = scopes.iter().find(|s| {
        !s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    }) {
        return Err(Failure::Usage(format!(
            "the scope {bad:?} has spaces, quotes or backslashes, which OAuth scopes cannot"
        )));
    }
    let expires = match (expires, expires_in) {
        (Some(t), _) => Some(api_keys::parse_rfc3339(&t).ok_or_else(|| {
            Failure::Usage(format!(
                "`--expires {t}` is not an RFC 3339 time such as 2027-01-31T00:00:00Z"
            ))
        })?),
        (None, Some(days)) => Some(now() + days * 86_400),
        (None, None) => None,
    };
    let key = api_keys::generate(&name, &scopes, expires)
        .map_err(|e| Failure::Server(format!("no randomness from the system: {e}")))?;
    if let Some(path) = &file {
        let mut f = open_key_file(path).map_err(|e| {
            Failure::Server(format!(
                "cannot write the key file `{}`: {e}",
                path.display()
            ))
        })?;
        writeln!(f, "{}", key.line).map_err(|e| {
            Failure::Server(format!(
                "cannot write the key file `{}`: {e}",
                path.display()
            ))
        })?;
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"id": key.id, "key": key.secret, "line": key.line})
        );
        return Ok(());
    }
    println!(
        "API key `{name}` (id {}). Give it to the client; it is shown only this once:\n",
        key.id
    );
    println!("    {}\n", key.secret);
    match &file {
        Some(path) => println!("Its line was added to {}.", path.display()),
        None => println!(
            "Add this line to the server's key file (`--api-keys FILE`):\n\n    {}",
            key.line
        ),
    }
    println!("\nClients send it as `X-API-Key: <key>` or `Authorization: Bearer <key>`.");
    Ok(())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The key file, for appending; made readable by its owner only when new.
fn open_key_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}
