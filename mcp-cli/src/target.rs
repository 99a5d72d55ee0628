//! Where the server is: a cargo target to build and run, any command to run, or a URL; and
//! how to connect to it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mcp_runtime::protocol::ProtocolVersion;
use mcp_runtime::{Client, ClientOptions, HttpClientOptions};
use serde_json::Value;

/// Which cargo target to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CargoTarget {
    /// `--example NAME`.
    Example(String),
    /// `--bin NAME`.
    Bin(String),
    /// The package's only binary.
    DefaultBin,
}

/// The server to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Built with cargo, then run with `args` over stdio.
    Cargo {
        /// `--package`.
        package: Option<String>,
        /// The example or binary.
        target: CargoTarget,
        /// Arguments given to the server.
        args: Vec<String>,
    },
    /// Any command, run over stdio.
    Command(Vec<String>),
    /// A streamable HTTP endpoint.
    Http {
        /// The endpoint.
        url: String,
        /// Sent with every request.
        headers: Vec<(String, String)>,
        /// PEM files' contents: CAs trusted for `https://`, besides the system's.
        ca_certs: Vec<Vec<u8>>,
        /// How to log in when the server asks for authorization.
        login: crate::login::Login,
    },
}

/// A failure to reach the server, with a message that says what to do.
#[derive(Debug)]
pub(crate) struct ConnectError {
    /// What went wrong.
    pub message: String,
    /// The compiler's output, when the build failed.
    pub build_output: Option<String>,
}

impl ConnectError {
    fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            build_output: None,
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(out) = &self.build_output {
            write!(f, "\n{}", out.trim_end())?;
        }
        Ok(())
    }
}

/// A server program ready to start.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    /// The executable and its arguments.
    pub argv: Vec<String>,
    /// Directories whose files the program is built from (empty for a plain command).
    pub sources: Vec<PathBuf>,
}

impl Target {
    /// A short description for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Target::Cargo {
                package, target, ..
            } => {
                let what = match target {
                    CargoTarget::Example(n) => format!("example `{n}`"),
                    CargoTarget::Bin(n) => format!("binary `{n}`"),
                    CargoTarget::DefaultBin => "the package's binary".to_string(),
                };
                match package {
                    Some(p) => format!("{what} of package `{p}`"),
                    None => what,
                }
            }
            Target::Command(argv) => format!("`{}`", argv.join(" ")),
            Target::Http { url, .. } => url.clone(),
        }
    }

    /// Builds the server if it is a cargo target: the program to run, or `None` for a URL.
    pub(crate) async fn prepare(&self) -> Result<Option<Program>, ConnectError> {
        match self {
            Target::Cargo {
                package,
                target,
                args,
            } => {
                let built = cargo_build(package.as_deref(), target).await?;
                let mut argv = vec![built.executable.to_string_lossy().into_owned()];
                argv.extend(args.iter().cloned());
                Ok(Some(Program {
                    argv,
                    sources: built.sources,
                }))
            }
            Target::Command(argv) => Ok(Some(Program {
                argv: argv.clone(),
                sources: Vec::new(),
            })),
            Target::Http { .. } => Ok(None),
        }
    }
}

/// Connects to a prepared server: starts `program` over stdio (its stderr goes to `stderr`),
/// or connects to the URL of an HTTP target; gives up after `timeout`.
pub(crate) async fn connect(
    target: &Target,
    program: Option<&Program>,
    options: ClientOptions,
    stderr: Stdio,
    timeout: Duration,
) -> Result<Client, ConnectError> {
    connect_watched(target, program, options, stderr, timeout, None, &[]).await
}

/// [`connect`], with the HTTP exchanges of a URL target reported to `http_tap`, and a
/// server process started with `env` added to its environment.
pub(crate) async fn connect_watched(
    target: &Target,
    program: Option<&Program>,
    options: ClientOptions,
    stderr: Stdio,
    timeout: Duration,
    http_tap: Option<mcp_runtime::HttpTap>,
    env: &[(&str, &str)],
) -> Result<Client, ConnectError> {
    // What the client sends first: the handshake, or under 2026-07-28 the discovery.
    let first = if ProtocolVersion::parse_any(&options.protocol_version)
        .is_some_and(ProtocolVersion::is_per_request)
    {
        "server/discover"
    } else {
        "initialize"
    };
    let connecting = async {
        match (target, program) {
            (
                Target::Http {
                    url,
                    headers,
                    ca_certs,
                    login,
                },
                _,
            ) => {
                let mut http = HttpClientOptions {
                    headers: headers.clone(),
                    ca_certs: ca_certs.clone(),
                    on_exchange: http_tap,
                    ..HttpClientOptions::default()
                };
                if login.enabled {
                    http.oauth = Some(
                        crate::login::oauth(url, login)
                            .await
                            .map_err(ConnectError::new)?,
                    );
                }
                Client::connect_http_with(url, http, options)
                    .await
                    .map_err(|e| match e {
                        e @ mcp_runtime::ClientError::UnsupportedRevision { .. } => {
                            ConnectError::new(format!("{url}: {e} (`--revision`)"))
                        }
                        e => ConnectError::new(format!(
                            "could not connect to {url}: {e}; is the server running, and is the URL its MCP endpoint?"
                        )),
                    })
            }
            (_, Some(program)) => {
                let mut command = tokio::process::Command::new(&program.argv[0]);
                // A development tool: a panicking handler says why (servers built on
                // mcp-runtime read this; others ignore it).
                command
                    .args(&program.argv[1..])
                    .env("MCP_SHOW_PANIC_DETAILS", "1")
                    .envs(env.iter().copied())
                    .stderr(stderr);
                let shown = program.argv.join(" ");
                Client::spawn_with(command, options).await.map_err(|e| match e {
                    mcp_runtime::ClientError::Io(io) => ConnectError::new(format!(
                        "could not start `{shown}`: {io}; check the command after `--`"
                    )),
                    mcp_runtime::ClientError::Closed => ConnectError::new(format!(
                        "`{shown}` exited before answering `{first}`: is it an MCP server speaking stdio?"
                    )),
                    e @ mcp_runtime::ClientError::UnsupportedRevision { .. } => {
                        ConnectError::new(format!("`{shown}`: {e} (`--revision`)"))
                    }
                    other => ConnectError::new(format!("`{shown}` failed the handshake: {other}")),
                })
            }
            (_, None) => Err(ConnectError::new("the server has not been built")),
        }
    };
    // Logging in in the browser takes the user's time, bounded by the login's own wait.
    let timeout = match target {
        Target::Http { login, .. } if login.enabled => timeout + Duration::from_secs(300),
        _ => timeout,
    };
    match tokio::time::timeout(timeout, connecting).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::new(format!(
            "{} did not answer `{first}` within {} s: is it an MCP server? (`--timeout` waits longer)",
            target.describe(),
            timeout.as_secs()
        ))),
    }
}

/// What `cargo build` produced.
#[derive(Debug)]
pub(crate) struct Built {
    /// The server executable.
    pub executable: PathBuf,
    /// The directories of the workspace packages it was built from.
    pub sources: Vec<PathBuf>,
}

/// Runs `cargo build` for the target and finds its executable in cargo's JSON messages.
pub(crate) async fn cargo_build(
    package: Option<&str>,
    target: &CargoTarget,
) -> Result<Built, ConnectError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = tokio::process::Command::new(&cargo);
    command.args(["build", "--message-format=json"]);
    if let Some(p) = package {
        command.args(["--package", p]);
    }
    match target {
        CargoTarget::Example(n) => {
            command.args(["--example", n]);
        }
        CargoTarget::Bin(n) => {
            command.args(["--bin", n]);
        }
        CargoTarget::DefaultBin => {}
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = command.output().await.map_err(|e| {
        ConnectError::new(format!(
            "could not run `{cargo}`: {e}; install Rust (https://rustup.rs) or give the server with `--url` or `-- COMMAND`"
        ))
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let messages: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if !out.status.success() {
        let mut output = String::new();
        for m in &messages {
            if m["reason"] == "compiler-message" && m["message"]["level"] == "error" {
                output.push_str(m["message"]["rendered"].as_str().unwrap_or_default());
            }
        }
        for line in stderr.lines() {
            let t = line.trim_start();
            if !(t.starts_with("Compiling ")
                || t.starts_with("Checking ")
                || t.starts_with("Blocking ")
                || t.starts_with("Locking ")
                || t.starts_with("Updating ")
                || t.starts_with("Downloaded ")
                || t.starts_with("Downloading "))
            {
                output.push_str(line);
                output.push('\n');
            }
        }
        return Err(ConnectError {
            message: format!("`cargo build` failed for {}", describe(package, target)),
            build_output: Some(output),
        });
    }
    find_executable(&messages, package, target)
}

fn describe(package: Option<&str>, target: &CargoTarget) -> String {
    Target::Cargo {
        package: package.map(str::to_string),
        target: target.clone(),
        args: Vec::new(),
    }
    .describe()
}

/// Picks the executable for `target` among cargo's `compiler-artifact` messages.
fn find_executable(
    messages: &[Value],
    package: Option<&str>,
    target: &CargoTarget,
) -> Result<Built, ConnectError> {
    let mut sources: Vec<PathBuf> = Vec::new();
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    for m in messages
        .iter()
        .filter(|m| m["reason"] == "compiler-artifact")
    {
        let local = m["package_id"]
            .as_str()
            .is_some_and(|id| id.contains("path+file://"));
        if local
            && let Some(dir) = m["manifest_path"]
                .as_str()
                .and_then(|p| Path::new(p).parent())
            && !sources.iter().any(|s| s == dir)
        {
            sources.push(dir.to_path_buf());
        }
        let Some(exe) = m["executable"].as_str() else {
            continue;
        };
        let kinds: Vec<&str> = m["target"]["kind"]
            .as_array()
            .map(|k| k.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let name = m["target"]["name"].as_str().unwrap_or_default();
        let wanted = match target {
            CargoTarget::Example(n) => kinds.contains(&"example") && name == n,
            CargoTarget::Bin(n) => kinds.contains(&"bin") && name == n,
            CargoTarget::DefaultBin => kinds.contains(&"bin"),
        };
        if wanted {
            candidates.push((name.to_string(), PathBuf::from(exe)));
        }
    }
    match candidates.len() {
        1 => Ok(Built {
            executable: candidates.remove(0).1,
            sources,
        }),
        0 => Err(ConnectError::new(format!(
            "`cargo build` produced no executable for {}; choose the server with `--example NAME` or `--bin NAME`",
            describe(package, target)
        ))),
        _ => Err(ConnectError::new(format!(
            "there are several binaries ({}); choose one with `--bin NAME`",
            candidates
                .iter()
                .map(|(n, _)| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn artifact(name: &str, kind: &str, exe: Option<&str>, manifest: &str) -> Value {
        json!({
            "reason": "compiler-artifact",
            "package_id": format!("path+file://{}#0.1.0", manifest),
            "manifest_path": manifest,
            "target": {"name": name, "kind": [kind]},
            "executable": exe,
        })
    }

    #[test]
    fn finds_the_executable_and_the_source_directories() {
        let msgs = vec![
            artifact("mcp_runtime", "lib", None, "/w/rt/Cargo.toml"),
            json!({"reason": "compiler-artifact", "package_id": "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.0",
                   "manifest_path": "/home/.cargo/registry/serde/Cargo.toml", "target": {"name": "serde", "kind": ["lib"]}, "executable": null}),
            artifact(
                "quickstart",
                "example",
                Some("/w/target/debug/examples/quickstart"),
                "/w/Cargo.toml",
            ),
            artifact(
                "notes",
                "example",
                Some("/w/target/debug/examples/notes"),
                "/w/Cargo.toml",
            ),
            artifact("srv", "bin", Some("/w/target/debug/srv"), "/w/Cargo.toml"),
        ];
        let built =
            find_executable(&msgs, None, &CargoTarget::Example("quickstart".into())).unwrap();
        assert_eq!(
            built.executable,
            PathBuf::from("/w/target/debug/examples/quickstart")
        );
        assert_eq!(built.sources, [PathBuf::from("/w/rt"), PathBuf::from("/w")]);
        let built = find_executable(&msgs, None, &CargoTarget::DefaultBin).unwrap();
        assert_eq!(built.executable, PathBuf::from("/w/target/debug/srv"));

        let mut two = msgs.clone();
        two.push(artifact(
            "other",
            "bin",
            Some("/w/target/debug/other"),
            "/w/Cargo.toml",
        ));
        let err = find_executable(&two, None, &CargoTarget::DefaultBin).unwrap_err();
        assert!(err.message.contains("`srv`, `other`"), "{err}");
        assert!(err.message.contains("--bin NAME"), "{err}");
        let err = find_executable(&msgs, None, &CargoTarget::Bin("nope".into())).unwrap_err();
        assert!(err.message.contains("binary `nope`"), "{err}");
    }
}
