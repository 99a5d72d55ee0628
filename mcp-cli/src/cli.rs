//! The command line: subcommands, the server target and options.

use std::time::Duration;

use mcp_runtime::protocol::ProtocolVersion;
use serde_json::Value;

use crate::target::{CargoTarget, Target};

pub const USAGE: &str = "\
mcp-cli: try an MCP server: a web inspector, and a command-line client

Usage:
  mcp-cli dev [SERVER] [--port N] [--open] [--watch]
      Serve the inspector on http://127.0.0.1 (the URL, with its session token, is printed).
  mcp-cli list tools|resources|templates|prompts [SERVER]
  mcp-cli call TOOL [KEY=VALUE...] [--args JSON] [SERVER]
  mcp-cli read URI [SERVER]
  mcp-cli prompt NAME [KEY=VALUE...] [SERVER]
  mcp-cli inspect [SERVER]
      The server's whole manifest (identity, capabilities, tools, resources, templates,
      prompts) as JSON.

SERVER (default: build and run the current package's binary with cargo):
  --example NAME [-- ARGS...]      cargo build the example NAME, run it over stdio with ARGS
  --bin NAME [-- ARGS...]          the same for a binary
  --package P, -p P                the package to build (with or without the two above)
  -- COMMAND [ARGS...]             run any server command over stdio
  --url URL [--header 'K: V']...   connect to a streamable HTTP endpoint (-H for short)

Options:
  --json             machine-readable output (list, call, read, prompt)
  --revision V       the protocol revision to ask for: 2024-11-05, 2025-03-26, 2025-06-18,
                     2025-11-25 (the default), or 2026-07-28 (no handshake: server/discover,
                     and each request carries the client's identity)
  --progress         show progress and log messages on stderr (the default on a terminal)
  --timeout SECS     how long to wait for the handshake (default 30)
  --port N           dev: the inspector's port (default 6274; 0 picks a free one)
  --open             dev: open the inspector in a browser
  --watch            dev: rebuild and restart the server when its sources change

KEY=VALUE arguments are read by the tool's input schema: a string parameter takes VALUE as
it is, any other type takes it as JSON (n=3, flags=[\"a\",\"b\"], on=true).

Exit codes: 0 success; 1 the server answered with an error (or the tool failed);
2 bad command line; 3 the server could not be built, started or reached.

Examples:
  mcp-cli dev --example quickstart --watch --open
  mcp-cli call add a=2 b=3 --example quickstart
  mcp-cli read notes://index --json --example notes
  mcp-cli list tools --url http://127.0.0.1:8000/mcp -H 'Authorization: Bearer s3cret'
";

/// What to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Resources,
    Templates,
    Prompts,
}

/// A subcommand.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Dev,
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
    Inspect,
}

/// Options of `dev`.
#[derive(Debug, Clone, PartialEq)]
pub struct DevOptions {
    pub port: u16,
    pub open: bool,
    pub watch: bool,
}

/// Everything the command line says.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub command: Command,
    pub target: Target,
    pub json: bool,
    pub revision: ProtocolVersion,
    pub progress: Option<bool>,
    pub timeout: Duration,
    pub dev: DevOptions,
}

/// `true` when the command line asks for help.
pub fn wants_help(args: &[String]) -> bool {
    args.is_empty()
        || args
            .iter()
            .take_while(|a| *a != "--")
            .any(|a| a == "-h" || a == "--help" || a == "help")
}

fn split_pair(s: &str, what: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "`{s}` is not KEY=VALUE: give {what} arguments as `name=value` (or all at once with `--args JSON`)"
        )),
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Invocation, String> {
    let (mine, after) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], Some(args[i + 1..].to_vec())),
        None => (args, None),
    };
    let mut positional: Vec<String> = Vec::new();
    let (mut example, mut bin, mut package, mut url) = (None, None, None, None);
    let mut headers = Vec::new();
    let mut args_json = None;
    let mut json = false;
    let mut progress = None;
    let mut revision = ProtocolVersion::LATEST;
    let mut timeout = Duration::from_secs(30);
    let mut dev = DevOptions {
        port: 6274,
        open: false,
        watch: false,
    };
    let mut dev_flags: Vec<&str> = Vec::new();
    let mut it = mine.iter();
    while let Some(arg) = it.next() {
        if !arg.starts_with('-') || arg == "-" {
            positional.push(arg.clone());
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("`{flag}` needs a value"))
        };
        match flag {
            "--example" => example = Some(value()?),
            "--bin" => bin = Some(value()?),
            "--package" | "-p" => package = Some(value()?),
            "--url" => url = Some(value()?),
            "--header" | "-H" => {
                let h = value()?;
                let (k, v) = h
                    .split_once(':')
                    .filter(|(k, _)| !k.trim().is_empty())
                    .ok_or_else(|| format!("the header `{h}` is not `Name: value`"))?;
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            "--args" => {
                let raw = value()?;
                let v: Value = serde_json::from_str(&raw).map_err(|e| {
                    format!("`--args` is not JSON ({e}): give an object like '{{\"a\": 1}}'")
                })?;
                if !v.is_object() {
                    return Err("`--args` must be a JSON object like '{\"a\": 1}'".into());
                }
                args_json = Some(v);
            }
            "--json" => json = true,
            "--progress" => progress = Some(true),
            "--no-progress" => progress = Some(false),
            "--revision" => {
                let v = value()?;
                revision = ProtocolVersion::parse_any(&v).ok_or_else(|| {
                    format!(
                        "unknown revision `{v}`: choose one of {}",
                        ProtocolVersion::ALL.map(|r| r.as_str()).join(", ")
                    )
                })?;
            }
            "--timeout" => {
                let v = value()?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("`--timeout` takes whole seconds, not `{v}`"))?;
                timeout = Duration::from_secs(secs.max(1));
            }
            "--port" => {
                let v = value()?;
                dev.port = v
                    .parse()
                    .map_err(|_| format!("`--port` takes a port number (0-65535), not `{v}`"))?;
                dev_flags.push("--port");
            }
            "--open" => {
                dev.open = true;
                dev_flags.push("--open");
            }
            "--watch" => {
                dev.watch = true;
                dev_flags.push("--watch");
            }
            other => {
                return Err(format!(
                    "unknown option `{other}`; run `mcp-cli --help` for the options"
                ));
            }
        }
    }

    let target = match (url, after) {
        (Some(_), _) if example.is_some() || bin.is_some() || package.is_some() => {
            return Err("give either `--url` or a cargo target (`--example`, `--bin`, `--package`), not both".into());
        }
        (Some(_), Some(_)) => {
            return Err("give either `--url` or a server command after `--`, not both".into());
        }
        (Some(url), None) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("`--url {url}` is not an http:// or https:// URL"));
            }
            Target::Http { url, headers }
        }
        (None, after) => {
            if !headers.is_empty() {
                return Err("`--header` goes with `--url`".into());
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

    let mut words = positional.into_iter();
    let first = words.next().ok_or(
        "missing command: `dev`, `list`, `call`, `read`, `prompt` or `inspect` (see `mcp-cli --help`)",
    )?;
    let rest: Vec<String> = words.collect();
    let no_more = |cmd: &str, rest: &[String]| -> Result<(), String> {
        match rest.first() {
            Some(extra) => Err(format!("`{cmd}` takes no argument `{extra}`")),
            None => Ok(()),
        }
    };
    let command = match first.as_str() {
        "dev" => {
            no_more("dev", &rest)?;
            Command::Dev
        }
        "list" => {
            let kind = match rest.first().map(String::as_str) {
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
            no_more("list", &rest[1..])?;
            Command::List(kind)
        }
        "call" => {
            let tool = rest
                .first()
                .ok_or("`call` needs the tool's name: `mcp-cli call TOOL key=value...`")?
                .clone();
            let pairs = rest[1..]
                .iter()
                .map(|p| split_pair(p, "tool"))
                .collect::<Result<_, _>>()?;
            Command::Call {
                tool,
                pairs,
                args: args_json.take(),
            }
        }
        "read" => {
            let uri = rest
                .first()
                .ok_or("`read` needs a resource URI: `mcp-cli read URI`")?
                .clone();
            no_more("read", &rest[1..])?;
            Command::Read { uri }
        }
        "prompt" => {
            let name = rest
                .first()
                .ok_or("`prompt` needs the prompt's name: `mcp-cli prompt NAME key=value...`")?
                .clone();
            let pairs = rest[1..]
                .iter()
                .map(|p| split_pair(p, "prompt"))
                .collect::<Result<_, _>>()?;
            Command::Prompt { name, pairs }
        }
        "inspect" => {
            no_more("inspect", &rest)?;
            Command::Inspect
        }
        other => {
            return Err(format!(
                "unknown command `{other}`: use dev, list, call, read, prompt or inspect"
            ));
        }
    };
    if args_json.is_some() {
        return Err("`--args` goes with `call`".into());
    }
    if command != Command::Dev
        && let Some(flag) = dev_flags.first()
    {
        return Err(format!("`{flag}` goes with `mcp-cli dev`"));
    }
    Ok(Invocation {
        command,
        target,
        json,
        revision,
        progress,
        timeout,
        dev,
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
        ] {
            let err = parse(&args(bad)).unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }
}
