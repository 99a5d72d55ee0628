//! The command line, on clap: subcommands, the server target and options. The help comes
//! from the doc comments below; `parse` turns what clap read into an [`Invocation`].

use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use mcp_runtime::protocol::ProtocolVersion;
use serde_json::Value;

use crate::target::{CargoTarget, Target};

const USAGE: &str = "\
mcp-cli dev [SERVER] [--port N] [--open] [--watch]
       mcp-cli run [SERVER] [--reload] [--http]
       mcp-cli list tools|resources|templates|prompts [SERVER]
       mcp-cli call TOOL [KEY=VALUE...] [--args JSON] [SERVER]
       mcp-cli read URI [SERVER]
       mcp-cli prompt NAME [KEY=VALUE...] [SERVER]
       mcp-cli inspect [SERVER]
       mcp-cli keys create --name NAME [--scope S]... [--expires-in DAYS] [--file FILE]
       mcp-cli skills list|get SKILL|verify [SKILL] [SERVER]
       mcp-cli auth login|logout|status URL";

const AFTER_HELP: &str = "\
SERVER (default: build and run the current package's binary with cargo):
  --example NAME [-- ARGS...]      cargo build the example NAME, run it over stdio with ARGS
  --bin NAME [-- ARGS...]          the same for a binary
  --package P, -p P                the package to build (with or without the two above)
  -- COMMAND [ARGS...]             run any server command over stdio
  --url URL [--header 'K: V']...   connect to a streamable HTTP endpoint (-H for short),
                                   http:// or https:// (--ca-cert FILE trusts a private CA);
                                   a server asking for OAuth gets the browser flow, its
                                   tokens kept (`mcp-cli auth status`); --api-key KEY for
                                   servers with API keys

KEY=VALUE arguments are read by the tool's input schema: a string parameter takes VALUE as
it is, any other type takes it as JSON (n=3, flags=[\"a\",\"b\"], on=true).

Exit codes: 0 success; 1 the server answered with an error (or the tool failed);
2 bad command line; 3 the server could not be built, started or reached.

Examples:
  mcp-cli dev --example quickstart --watch --open
  mcp-cli run --reload --example quickstart     (as a client's server command)
  mcp-cli call add a=2 b=3 --example quickstart
  mcp-cli read notes://index --json --example notes
  mcp-cli list tools --url http://127.0.0.1:8000/mcp -H 'Authorization: Bearer s3cret'
  mcp-cli inspect --url https://mcp.internal/mcp --ca-cert dev-ca.pem";

/// Try an MCP server: a web inspector, and a command-line client.
///
/// The server is a cargo target (`--example`, `--bin`, `--package`), any command
/// (`-- COMMAND`) or a URL (`--url`).
#[derive(Debug, Parser)]
#[command(
    name = "mcp-cli",
    version,
    override_usage = USAGE,
    after_help = AFTER_HELP,
    disable_help_subcommand = false,
    subcommand_value_name = "COMMAND",
    max_term_width = 100,
)]
struct Cli {
    #[command(subcommand)]
    command: Subcommands,
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    server: ServerArgs,
}

/// Where the server is. Given before or after the subcommand.
#[derive(Debug, Args)]
#[command(next_help_heading = "Server")]
struct ServerArgs {
    /// cargo build the example NAME and run it over stdio (its arguments after `--`)
    #[arg(long, value_name = "NAME", global = true)]
    example: Option<String>,
    /// cargo build the binary NAME and run it over stdio (its arguments after `--`)
    #[arg(long, value_name = "NAME", global = true)]
    bin: Option<String>,
    /// The package to build, with or without `--example` or `--bin`
    #[arg(long, short = 'p', value_name = "P", global = true)]
    package: Option<String>,
    /// Connect to a streamable HTTP endpoint, http:// or https://
    #[arg(long, value_name = "URL", global = true, value_parser = parse_url)]
    url: Option<String>,
    /// A header sent with every request to `--url`, e.g. 'Authorization: Bearer s3cret'
    #[arg(
        long,
        short = 'H',
        value_name = "'K: V'",
        global = true,
        value_parser = parse_header
    )]
    header: Vec<(String, String)>,
    /// Trust the CA certificates of this PEM file for an https:// `--url`, besides the
    /// system's
    #[arg(long, value_name = "FILE", global = true)]
    ca_cert: Vec<PathBuf>,
    // Logging in (issue 16).
    /// An API key for `--url`, sent as `X-API-Key` (a server with `--api-keys`)
    #[arg(long, value_name = "KEY", global = true)]
    api_key: Option<String>,
    /// Do not log in with OAuth when `--url` asks for authorization
    #[arg(long, global = true)]
    no_login: bool,
    /// Print the OAuth authorization URL without starting the browser
    #[arg(long, global = true)]
    no_browser: bool,
    /// An OAuth client registered beforehand at the server's authorization server
    #[arg(long, value_name = "ID", global = true)]
    client_id: Option<String>,
    /// The secret of `--client-id`
    #[arg(long, value_name = "SECRET", global = true)]
    client_secret: Option<String>,
    /// The OAuth scopes to ask for, space-separated, instead of the server's
    #[arg(long, value_name = "SCOPES", global = true)]
    scope: Option<String>,
    /// Where OAuth tokens are kept: sealed under a key in the OS keychain, or in clear
    #[arg(long, value_name = "STORE", global = true, value_enum, default_value_t)]
    token_store: crate::login::StoreKind,
}

/// Options every command takes.
#[derive(Debug, Args)]
struct CommonArgs {
    /// Machine-readable output (list, call, read, prompt)
    #[arg(long, global = true)]
    json: bool,
    /// The protocol revision to ask for: 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25 (the
    /// default), or 2026-07-28 (no handshake: server/discover, and each request carries the
    /// client's identity)
    #[arg(long, value_name = "V", global = true, value_parser = parse_revision)]
    revision: Option<ProtocolVersion>,
    /// Show progress and log messages on stderr (the default on a terminal)
    #[arg(long, global = true, overrides_with = "no_progress")]
    progress: bool,
    /// Do not show progress and log messages
    #[arg(long, global = true, overrides_with = "progress")]
    no_progress: bool,
    /// How long to wait for the handshake, in seconds
    #[arg(long, value_name = "SECS", global = true, default_value_t = 30, value_parser = parse_timeout)]
    timeout: u64,
    /// Answer the server's elicitation forms from this JSON file (the form's content, or
    /// {"action": …, "content": …}); without it, forms are asked on the terminal
    #[arg(long, value_name = "FILE", global = true)]
    elicit: Option<PathBuf>,
}

/// The server command after `--`, with its arguments (or, for a cargo target, the arguments
/// given to it).
#[derive(Debug, Args)]
struct Trailing {
    /// The server command and its arguments, run over stdio; with `--example`, `--bin` or
    /// `--package`, the arguments given to the built server
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum Subcommands {
    /// Serve the inspector on http://127.0.0.1 (the URL, with its session token, is printed)
    Dev {
        /// The inspector's port (0 picks a free one)
        #[arg(long, value_name = "N", default_value_t = 6274, value_parser = parse_port)]
        port: u16,
        /// Open the inspector in a browser
        #[arg(long)]
        open: bool,
        /// Rebuild and restart the server when its sources change
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        trailing: Trailing,
    },
    /// Run the server for an MCP client: over stdio, mcp-cli relays between the client and
    /// the server; with `--reload` it rebuilds and restarts the server when its sources change
    Run {
        /// Rebuild and restart the server when its sources change: the client's `initialize`
        /// is replayed to the new server and the client gets `list_changed` notifications
        #[arg(long)]
        reload: bool,
        /// The server serves HTTP itself (its arguments say where): run it with mcp-cli's
        /// stdio, and restart it with the same arguments, so on the same address
        #[arg(long)]
        http: bool,
        #[command(flatten)]
        trailing: Trailing,
    },
    /// List the server's tools, resources, resource templates or prompts (every page)
    List {
        /// What to list: tools, resources, templates or prompts
        #[arg(value_name = "KIND")]
        kind: Option<String>,
        #[command(flatten)]
        trailing: Trailing,
    },
    /// Call a tool
    ///
    /// KEY=VALUE arguments are read by the tool's input schema: a string parameter takes
    /// VALUE as it is, any other type takes it as JSON (n=3, flags=["a","b"], on=true).
    /// Pairs override `--args`.
    Call {
        /// The tool's name
        #[arg(value_name = "TOOL")]
        tool: Option<String>,
        /// The tool's arguments
        #[arg(value_name = "KEY=VALUE")]
        pairs: Vec<String>,
        /// All the arguments at once, as a JSON object
        #[arg(long, value_name = "JSON", value_parser = parse_args_json)]
        args: Option<Value>,
        #[command(flatten)]
        trailing: Trailing,
    },
    /// Read a resource: text as it is, binary summarised (`--json` has the base64)
    Read {
        /// The resource's URI
        #[arg(value_name = "URI")]
        uri: Option<String>,
        #[command(flatten)]
        trailing: Trailing,
    },
    /// Get a prompt with its arguments and print its messages
    Prompt {
        /// The prompt's name
        #[arg(value_name = "NAME")]
        name: Option<String>,
        /// The prompt's arguments
        #[arg(value_name = "KEY=VALUE")]
        pairs: Vec<String>,
        #[command(flatten)]
        trailing: Trailing,
    },
    /// Summarise the server: identity, capabilities, tools, resources, templates, prompts
    /// (`--json` prints the whole manifest as JSON)
    Inspect {
        /// Write the manifest as JSON to FILE instead of printing the summary
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        #[command(flatten)]
        trailing: Trailing,
    },
    /// Run commands (list, call, read, prompt, inspect), one a line from stdin, on one
    /// connection, so a server's in-memory state lasts from one to the next
    Shell {
        #[command(flatten)]
        trailing: Trailing,
    },
    /// Add the server to an MCP client's configuration: claude-desktop, claude-code, cursor,
    /// vscode, gemini-cli, codex or mcp-json (merged with what is there; the old file is kept
    /// as FILE.bak)
    Install {
        /// The client whose configuration to write
        #[arg(value_name = "CLIENT")]
        client: Option<String>,
        /// The server's name in the configuration (default: the program's, or the URL's host)
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// An environment variable for the server, KEY=VALUE (repeatable)
        #[arg(long = "env", short = 'e', value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// Print the configuration file as it would be, and write nothing
        #[arg(long)]
        dry_run: bool,
        /// The configuration file to write, instead of the client's usual one
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        trailing: Trailing,
    },
    /// Print a completion script for SHELL (bash, zsh, fish, elvish or powershell), e.g.
    /// `mcp-cli completions bash > ~/.local/share/bash-completion/completions/mcp-cli`
    Completions {
        /// The shell the script is for
        #[arg(value_name = "SHELL")]
        shell: Option<String>,
        #[command(flatten)]
        trailing: Trailing,
    },
    /// The server's skills (skills extension): `list` them, `get SKILL` (its SKILL.md,
    /// verified), or `verify [SKILL]` every file against the manifest's digests and sizes
    Skills {
        /// list, get or verify
        #[arg(value_name = "ACTION")]
        action: Option<String>,
        /// The skill: its name or SKILL.md URI
        #[arg(value_name = "SKILL")]
        skill: Option<String>,
        #[command(flatten)]
        trailing: Trailing,
    },
}

impl Subcommands {
    fn trailing(&self) -> &Trailing {
        match self {
            Subcommands::Dev { trailing, .. }
            | Subcommands::Run { trailing, .. }
            | Subcommands::List { trailing, .. }
            | Subcommands::Call { trailing, .. }
            | Subcommands::Read { trailing, .. }
            | Subcommands::Prompt { trailing, .. }
            | Subcommands::Inspect { trailing, .. }
            | Subcommands::Skills { trailing, .. }
            | Subcommands::Shell { trailing }
            | Subcommands::Completions { trailing, .. }
            | Subcommands::Install { trailing, .. } => trailing,
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Tools,
    Resources,
    Templates,
    Prompts,
}

/// A subcommand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    Dev,
    /// Run the server for a client, relaying stdio (`reload`: rebuilt on change).
    Run {
        reload: bool,
        http: bool,
    },
    List(ListKind),
    Call {
        tool: String,
        pairs: Vec<(String, String)>,
        args: Option<Value>,
    },
    Read {
        uri: String,
    },
    Prompt {
        name: String,
        pairs: Vec<(String, String)>,
    },
    Inspect {
        /// `-o FILE`: the manifest as JSON, written there.
        output: Option<std::path::PathBuf>,
    },
    Skills {
        action: crate::skills::SkillsAction,
        skill: Option<String>,
    },
    /// Commands from stdin on one connection.
    Shell,
    /// Write the server into a client's configuration.
    Install(InstallOptions),
}

/// Options of `install`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InstallOptions {
    pub client: String,
    pub name: Option<String>,
    pub env: Vec<(String, String)>,
    pub dry_run: bool,
    pub config: Option<PathBuf>,
}

/// Options of `dev`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DevOptions {
    pub port: u16,
    pub open: bool,
    pub watch: bool,
}

/// Everything the command line says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invocation {
    pub command: Command,
    pub target: Target,
    pub json: bool,
    pub revision: ProtocolVersion,
    pub progress: Option<bool>,
    pub timeout: Duration,
    pub dev: DevOptions,
    /// `--elicit FILE`.
    pub elicit: Option<PathBuf>,
}

/// Why the command line does not run a command.
#[derive(Debug)]
pub(crate) enum NotRun {
    /// Help or the version was asked for: printed, and success.
    Shown(String),
    /// The command line is wrong: the message says how.
    Usage(String),
}

impl std::fmt::Display for NotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotRun::Shown(text) | NotRun::Usage(text) => f.write_str(text),
        }
    }
}

/// The command line's definition, for completion scripts.
pub(crate) fn definition() -> clap::Command {
    Cli::command()
}

/// The whole help, as `mcp-cli --help` prints it.
pub(crate) fn help() -> String {
    Cli::command().render_long_help().to_string()
}

fn parse_url(url: &str) -> Result<String, String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.to_string())
    } else {
        Err(format!("`--url {url}` is not an http:// or https:// URL"))
    }
}

fn parse_header(h: &str) -> Result<(String, String), String> {
    let (k, v) = h
        .split_once(':')
        .filter(|(k, _)| !k.trim().is_empty())
        .ok_or_else(|| format!("the header `{h}` is not `Name: value`"))?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

fn parse_args_json(raw: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| format!("`--args` is not JSON ({e}): give an object like '{{\"a\": 1}}'"))?;
    if !v.is_object() {
        return Err("`--args` must be a JSON object like '{\"a\": 1}'".into());
    }
    Ok(v)
}

fn parse_revision(v: &str) -> Result<ProtocolVersion, String> {
    ProtocolVersion::parse_any(v).ok_or_else(|| {
        format!(
            "unknown revision `{v}`: choose one of {}",
            ProtocolVersion::ALL.map(|r| r.as_str()).join(", ")
        )
    })
}

fn parse_timeout(v: &str) -> Result<u64, String> {
    v.parse::<u64>()
        .map(|secs| secs.max(1))
        .map_err(|_| format!("`--timeout` takes whole seconds, not `{v}`"))
}

fn parse_port(v: &str) -> Result<u16, String> {
    v.parse()
        .map_err(|_| format!("`--port` takes a port number (0-65535), not `{v}`"))
}

fn split_pair(s: &str, what: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "`{s}` is not KEY=VALUE: give {what} arguments as `name=value` (or all at once with `--args JSON`)"
        )),
    }
}

/// clap's error in the words the rest of mcp-cli uses, saying what to do.
fn usage_error(e: &clap::Error) -> String {
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    };
    match e.kind() {
        ErrorKind::UnknownArgument => {
            let arg = context(ContextKind::InvalidArg).unwrap_or_default();
            let flag = arg.split('=').next().unwrap_or_default();
            match flag {
                "--port" | "--open" | "--watch" => format!("`{flag}` goes with `mcp-cli dev`"),
                "--args" => "`--args` goes with `call`".into(),
                "--reload" => "`--reload` goes with `mcp-cli run` (`mcp-cli dev` has `--watch`)".into(),
                _ => format!("unknown option `{arg}`; run `mcp-cli --help` for the options"),
            }
        }
        ErrorKind::InvalidSubcommand => {
            let word = context(ContextKind::InvalidSubcommand).unwrap_or_default();
            format!("unknown command `{word}`: use dev, run, list, call, read, prompt, inspect, shell or install")
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "missing command: `dev`, `run`, `list`, `call`, `read`, `prompt`, `inspect`, `shell` or `install` (see `mcp-cli --help`)".into()
        }
        ErrorKind::InvalidValue
            if context(ContextKind::InvalidValue).is_some_and(|v| v.is_empty()) =>
        {
            let arg = context(ContextKind::InvalidArg).unwrap_or_default();
            let flag = arg.split_whitespace().next().unwrap_or_default();
            format!("`{flag}` needs a value")
        }
        ErrorKind::ValueValidation => match std::error::Error::source(e) {
            Some(why) => why.to_string(),
            None => first_line(e),
        },
        _ => first_line(e),
    }
}

/// The first line of clap's message, without its `error: `.
fn first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// Parses the arguments after the program name.
pub(crate) fn parse(args: &[String]) -> Result<Invocation, NotRun> {
    let argv = std::iter::once("mcp-cli".to_string()).chain(args.iter().cloned());
    let matches = Cli::command().try_get_matches_from(argv);
    let cli = match matches.and_then(|mut m| Cli::from_arg_matches_mut(&mut m)) {
        Ok(cli) => cli,
        Err(e) => {
            return Err(match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    NotRun::Shown(e.render().to_string())
                }
                _ => NotRun::Usage(usage_error(&e)),
            });
        }
    };
    // `--` with nothing after it names no server.
    let dashes = args.iter().any(|a| a == "--");
    from_cli(cli, dashes).map_err(NotRun::Usage)
}

fn from_cli(cli: Cli, dashes: bool) -> Result<Invocation, String> {
    let mut dev = DevOptions {
        port: 6274,
        open: false,
        watch: false,
    };
    let after = dashes.then(|| cli.command.trailing().command.clone());
    let ServerArgs {
        example,
        bin,
        package,
        url,
        header: mut headers,
        ca_cert,
        api_key,
        no_login,
        no_browser,
        client_id,
        client_secret,
        scope,
        token_store,
    } = cli.server;
    let login = crate::login::Login {
        enabled: !no_login,
        client_id,
        client_secret,
        scope,
        open_browser: !no_browser,
        token_store,
        events: None,
    };
    let target = match (url, after) {
        (Some(_), _) if example.is_some() || bin.is_some() || package.is_some() => {
            return Err("give either `--url` or a cargo target (`--example`, `--bin`, `--package`), not both".into());
        }
        (Some(_), Some(_)) => {
            return Err("give either `--url` or a server command after `--`, not both".into());
        }
        (Some(url), None) => {
            let mut ca_certs = Vec::new();
            for file in &ca_cert {
                let pem = std::fs::read(file).map_err(|e| {
                    format!(
                        "cannot read the CA certificate `{}` (`--ca-cert`): {e}",
                        file.display()
                    )
                })?;
                ca_certs.push(pem);
            }
            if let Some(key) = api_key {
                headers.push(("X-API-Key".into(), key));
            }
            Target::Http {
                url,
                headers,
                ca_certs,
                login,
            }
        }
        (None, after) => {
            if !headers.is_empty() {
                return Err("`--header` goes with `--url`".into());
            }
            if !ca_cert.is_empty() {
                return Err("`--ca-cert` goes with `--url`".into());
            }
            if api_key.is_some() {
                return Err("`--api-key` goes with `--url`".into());
            }
            if login != crate::login::Login::default() {
                return Err("`--no-login`, `--no-browser`, `--client-id`, `--client-secret`, `--scope` and `--token-store` go with `--url`".into());
            }
            if example.is_some() && bin.is_some() {
                return Err("give either `--example` or `--bin`, not both".into());
            }
            let cargo = example.is_some() || bin.is_some() || package.is_some();
            match after {
                Some(cmd) if !cargo => {
                    if cmd.is_empty() {
                        return Err("the server command after `--` is empty".into());
                    }
                    Target::Command(cmd)
                }
                after => Target::Cargo {
                    target: match (example, bin) {
                        (Some(e), _) => CargoTarget::Example(e),
                        (_, Some(b)) => CargoTarget::Bin(b),
                        _ => CargoTarget::DefaultBin,
                    },
                    package,
                    args: after.unwrap_or_default(),
                },
            }
        }
    };
    let command = match cli.command {
        Subcommands::Dev {
            port, open, watch, ..
        } => {
            dev = DevOptions { port, open, watch };
            Command::Dev
        }
        Subcommands::Run { reload, http, .. } => {
            if matches!(target, Target::Http { .. }) {
                return Err("`run` starts a server, and `--url` names one already running: give a cargo target or `-- COMMAND`".into());
            }
            Command::Run { reload, http }
        }
        Subcommands::List { kind, .. } => {
            let kind = match kind.as_deref() {
                Some("tools") => ListKind::Tools,
                Some("resources") => ListKind::Resources,
                Some("templates") => ListKind::Templates,
                Some("prompts") => ListKind::Prompts,
                Some(other) => {
                    return Err(format!(
                        "cannot list `{other}`: choose tools, resources, templates or prompts"
                    ));
                }
                None => return Err("`list` what? tools, resources, templates or prompts".into()),
            };
            Command::List(kind)
        }
        Subcommands::Call {
            tool, pairs, args, ..
        } => {
            let tool =
                tool.ok_or("`call` needs the tool's name: `mcp-cli call TOOL key=value...`")?;
            let pairs = pairs
                .iter()
                .map(|p| split_pair(p, "tool"))
                .collect::<Result<_, _>>()?;
            Command::Call { tool, pairs, args }
        }
        Subcommands::Read { uri, .. } => {
            let uri = uri.ok_or("`read` needs a resource URI: `mcp-cli read URI`")?;
            Command::Read { uri }
        }
        Subcommands::Prompt { name, pairs, .. } => {
            let name =
                name.ok_or("`prompt` needs the prompt's name: `mcp-cli prompt NAME key=value...`")?;
            let pairs = pairs
                .iter()
                .map(|p| split_pair(p, "prompt"))
                .collect::<Result<_, _>>()?;
            Command::Prompt { name, pairs }
        }
        Subcommands::Inspect { output, .. } => Command::Inspect { output },
        Subcommands::Skills { action, skill, .. } => Command::Skills {
            action: crate::skills::SkillsAction::parse(action.as_deref())?,
            skill,
        },
        Subcommands::Shell { .. } => Command::Shell,
        Subcommands::Completions { .. } => {
            return Err("`completions` runs without a server: `mcp-cli completions SHELL`".into());
        }
        Subcommands::Install {
            client,
            name,
            env,
            dry_run,
            config,
            ..
        } => {
            let client = client.ok_or_else(|| {
                format!(
                    "`install` needs the client: `mcp-cli install CLIENT`, one of {}",
                    crate::install::CLIENTS.join(", ")
                )
            })?;
            if !crate::install::CLIENTS.contains(&client.as_str()) {
                return Err(crate::install::unknown_client(&client));
            }
            let env = env
                .iter()
                .map(|p| {
                    p.split_once('=')
                        .filter(|(k, _)| !k.is_empty())
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or_else(|| format!("`--env {p}` is not KEY=VALUE"))
                })
                .collect::<Result<_, _>>()?;
            Command::Install(InstallOptions {
                client,
                name,
                env,
                dry_run,
                config,
            })
        }
    };
    let common = cli.common;
    let progress = match (common.progress, common.no_progress) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    Ok(Invocation {
        command,
        target,
        json: common.json,
        revision: common.revision.unwrap_or(ProtocolVersion::LATEST),
        progress,
        timeout: Duration::from_secs(common.timeout),
        dev,
        elicit: common.elicit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn targets() {
        let i = parse(&args(&["list", "tools", "--", "srv", "--flag"])).unwrap();
        assert_eq!(i.target, Target::Command(args(&["srv", "--flag"])));
        let i = parse(&args(&["dev", "--example", "quickstart", "--", "--x"])).unwrap();
        assert_eq!(
            i.target,
            Target::Cargo {
                package: None,
                target: CargoTarget::Example("quickstart".into()),
                args: args(&["--x"]),
            }
        );
        let i = parse(&args(&["inspect", "-p", "app"])).unwrap();
        assert_eq!(
            i.target,
            Target::Cargo {
                package: Some("app".into()),
                target: CargoTarget::DefaultBin,
                args: vec![],
            }
        );
        let i = parse(&args(&[
            "call",
            "--url=http://h:1/mcp",
            "add",
            "a=1",
            "-H",
            "Authorization: Bearer x",
            "--header=X-A:b",
        ]))
        .unwrap();
        assert_eq!(
            i.target,
            Target::Http {
                url: "http://h:1/mcp".into(),
                headers: vec![
                    ("Authorization".into(), "Bearer x".into()),
                    ("X-A".into(), "b".into())
                ],
                ca_certs: vec![],
                login: crate::login::Login::default(),
            }
        );
        assert_eq!(
            i.command,
            Command::Call {
                tool: "add".into(),
                pairs: vec![("a".into(), "1".into())],
                args: None
            }
        );
        let j = parse(&args(&[
            "list",
            "tools",
            "--url=http://h:1/mcp",
            "--api-key",
            "k1",
            "--no-browser",
            "--client-id",
            "c",
            "--scope",
            "a b",
            "--token-store",
            "file",
        ]))
        .unwrap();
        assert_eq!(
            j.target,
            Target::Http {
                url: "http://h:1/mcp".into(),
                headers: vec![("X-API-Key".into(), "k1".into())],
                ca_certs: vec![],
                login: crate::login::Login {
                    enabled: true,
                    client_id: Some("c".into()),
                    client_secret: None,
                    scope: Some("a b".into()),
                    open_browser: false,
                    token_store: crate::login::StoreKind::File,
                    events: None,
                },
            }
        );
        let e = parse(&args(&[
            "list",
            "tools",
            "--api-key",
            "k",
            "--example",
            "x",
        ]))
        .unwrap_err();
        assert!(matches!(e, NotRun::Usage(m) if m.contains("--api-key")));
    }

    #[test]
    fn options() {
        let i = parse(&args(&[
            "dev",
            "--port",
            "0",
            "--watch",
            "--open",
            "--revision",
            "2025-03-26",
        ]))
        .unwrap();
        assert_eq!(
            i.dev,
            DevOptions {
                port: 0,
                open: true,
                watch: true
            }
        );
        assert_eq!(i.revision, ProtocolVersion::V2025_03_26);
        let i = parse(&args(&["call", "t", "--revision", "2026-07-28"])).unwrap();
        assert_eq!(i.revision, ProtocolVersion::V2026_07_28);
        let i = parse(&args(&[
            "call",
            "t",
            "--args",
            r#"{"a":1}"#,
            "--json",
            "--",
            "s",
        ]))
        .unwrap();
        assert!(i.json);
        assert!(matches!(i.command, Command::Call { args: Some(_), .. }));
        let i = parse(&args(&["run", "--reload", "--example", "e"])).unwrap();
        assert_eq!(
            i.command,
            Command::Run {
                reload: true,
                http: false
            }
        );
    }

    #[test]
    fn bad_command_lines_say_what_to_do() {
        for (bad, says) in [
            (&["list", "--url", "http://h/", "--", "srv"][..], "not both"),
            (&["list", "tools", "--url"], "needs a value"),
            (&["list", "tools", "--url", "h:1"], "not an http"),
            (
                &["list", "tools", "--url", "http://h/", "-H", "nocolon"],
                "Name: value",
            ),
            (
                &["list", "tools", "-H", "A: b", "--", "srv"],
                "goes with `--url`",
            ),
            (&["list", "gadgets"], "choose tools, resources"),
            (&["list"], "`list` what?"),
            (&["call"], "needs the tool's name"),
            (&["call", "add", "a:1"], "is not KEY=VALUE"),
            (&["call", "add", "--args", "[1]"], "JSON object"),
            (&["call", "add", "--args", "{"], "not JSON"),
            (&["read"], "needs a resource URI"),
            (&["frobnicate"], "unknown command"),
            (&[], "missing command"),
            (
                &["list", "tools", "--verbose"],
                "unknown option `--verbose`",
            ),
            (&["list", "tools", "--watch"], "goes with `mcp-cli dev`"),
            (&["read", "x://y", "--args", "{}"], "goes with `call`"),
            (
                &["dev", "--revision", "2099-01-01"],
                "2025-11-25, 2026-07-28",
            ),
            (&["dev", "--port", "http"], "port number"),
            (&["dev", "--example", "a", "--bin", "b"], "not both"),
            (&["dev", "--example", "a", "--url", "http://h/"], "not both"),
            (&["dev", "--"], "empty"),
            (&["run", "--url", "http://h/"], "`run` starts a server"),
        ] {
            let err = parse(&args(bad)).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }
}
