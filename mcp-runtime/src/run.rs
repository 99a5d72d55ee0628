//! Launch options (`--transport` and friends) and `Server::run`.

use std::io::IsTerminal;

use crate::Server;
use crate::transport::{DEFAULT_MAX_MESSAGE_SIZE, stdio};

/// How to serve, from the command line and the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchOptions {
    /// The transport.
    pub transport: Transport,
    /// The largest message accepted, in bytes.
    pub max_message_size: usize,
}

/// A transport a server can be launched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Newline-delimited JSON-RPC on stdin/stdout.
    Stdio,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            transport: Transport::Stdio,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Launch {
    /// Serve with these options.
    Serve(LaunchOptions),
    /// Print the help text and exit.
    Help,
}

impl LaunchOptions {
    /// Parses arguments (without the program name) and environment variables; arguments win.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Launch, String> {
        let mut opts = LaunchOptions::default();
        if let Some(t) = env("MCP_TRANSPORT") {
            opts.transport = parse_transport(&t).map_err(|e| format!("MCP_TRANSPORT: {e}"))?;
        }
        if let Some(n) = env("MCP_MAX_MESSAGE_SIZE") {
            opts.max_message_size =
                parse_size(&n).map_err(|e| format!("MCP_MAX_MESSAGE_SIZE: {e}"))?;
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("`{name}` needs a value"))
            };
            match flag.as_str() {
                "-h" | "--help" => return Ok(Launch::Help),
                "--transport" | "-t" => opts.transport = parse_transport(&value("--transport")?)?,
                "--max-message-size" => {
                    opts.max_message_size = parse_size(&value("--max-message-size")?)?
                }
                other => {
                    return Err(format!(
                        "unknown option `{other}`; run with `--help` to see the options"
                    ));
                }
            }
        }
        Ok(Launch::Serve(opts))
    }
}

fn parse_transport(s: &str) -> Result<Transport, String> {
    match s {
        "stdio" => Ok(Transport::Stdio),
        other => Err(format!("unknown transport `{other}`; expected `stdio`")),
    }
}

fn parse_size(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{s}` is not a positive number of bytes"))
}

fn help(name: &str) -> String {
    format!(
        "{name}: an MCP server\n\n\
         Usage: {name} [OPTIONS]\n\n\
         Options:\n  \
           -t, --transport <stdio>        How to serve (default: stdio) [env: MCP_TRANSPORT]\n      \
               --max-message-size <BYTES> Largest message accepted (default: {DEFAULT_MAX_MESSAGE_SIZE}) [env: MCP_MAX_MESSAGE_SIZE]\n  \
           -h, --help                     Print this help\n\n\
         Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) to change how much.\n"
    )
}

/// Installs a stderr logger unless the program set one; `RUST_LOG` picks the level.
pub fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

impl Server {
    /// Serves according to the command line and environment (`--transport`, `--help`…).
    ///
    /// A bad option prints a one-line error and exits with code 2.
    pub async fn run(self) -> anyhow::Result<()> {
        let name = self.name().to_string();
        let launch = LaunchOptions::parse(std::env::args().skip(1), |k| std::env::var(k).ok());
        match launch {
            Ok(Launch::Help) => {
                print!("{}", help(&name));
                Ok(())
            }
            Ok(Launch::Serve(opts)) => self.serve(opts).await,
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(2);
            }
        }
    }

    /// Serves with explicit options, ignoring the command line.
    pub async fn serve(self, opts: LaunchOptions) -> anyhow::Result<()> {
        init_logging();
        let core = self.build()?;
        match opts.transport {
            Transport::Stdio => {
                if std::io::stdin().is_terminal() {
                    let exe = std::env::current_exe()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| core.info.name.clone());
                    eprintln!(
                        "{} {}: MCP server on stdio, serving {}.\n\
                         Connect an MCP client by giving it this command: {exe}\n\
                         (or type JSON-RPC messages here, one per line; Ctrl-D quits; --help lists options)",
                        core.info.name,
                        core.info.version,
                        core.summary()
                    );
                }
                stdio::serve(core, opts.max_message_size).await
            }
        }
    }

    /// Serves on stdin/stdout.
    pub async fn serve_stdio(self) -> anyhow::Result<()> {
        self.serve(LaunchOptions::default()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Launch, String> {
        LaunchOptions::parse(args.iter().map(|s| s.to_string()), |_| None)
    }

    #[test]
    fn parses_flags() {
        assert_eq!(parse(&[]), Ok(Launch::Serve(LaunchOptions::default())));
        assert_eq!(
            parse(&["--transport", "stdio"]),
            Ok(Launch::Serve(LaunchOptions::default()))
        );
        assert_eq!(
            parse(&["--transport=stdio"]),
            Ok(Launch::Serve(LaunchOptions::default()))
        );
        assert_eq!(parse(&["--help"]), Ok(Launch::Help));
        let Ok(Launch::Serve(o)) = parse(&["--max-message-size", "10"]) else {
            panic!()
        };
        assert_eq!(o.max_message_size, 10);
    }

    #[test]
    fn rejects_bad_flags_with_a_fix() {
        let e = parse(&["--transport", "carrier-pigeon"]).unwrap_err();
        assert!(e.contains("unknown transport `carrier-pigeon`"), "{e}");
        let e = parse(&["--frobnicate"]).unwrap_err();
        assert!(e.contains("--help"), "{e}");
        let e = parse(&["--transport"]).unwrap_err();
        assert!(e.contains("needs a value"), "{e}");
        let e = LaunchOptions::parse(Vec::new(), |k| (k == "MCP_TRANSPORT").then(|| "x".into()))
            .unwrap_err();
        assert!(e.starts_with("MCP_TRANSPORT"), "{e}");
    }
}
