//! `mcp-cli`: talk to an MCP server from the command line.
//!
//! ```text
//! mcp-cli tools -- SERVER_COMMAND [ARGS...]
//! mcp-cli call TOOL [JSON_ARGUMENTS] -- SERVER_COMMAND [ARGS...]
//! mcp-cli tools --url http://127.0.0.1:8000/mcp [--header 'Authorization: Bearer …']
//! ```

use std::process::ExitCode;

use mcp_runtime::{Client, ClientError, ClientOptions, HttpClientOptions};
use serde_json::{Value, json};

const USAGE: &str = "\
mcp-cli: talk to an MCP server, over stdio or streamable HTTP

Usage:
  mcp-cli tools SERVER
      List the server's tools as JSON.
  mcp-cli call TOOL [JSON_ARGUMENTS] SERVER
      Call a tool and print its result as JSON (exit code 1 if the tool failed).

SERVER is either
  -- SERVER_COMMAND [ARGS...]      start the server and talk to it over stdio, or
  --url URL [--header 'K: V']...   connect to a streamable HTTP endpoint, sending these
                                   headers with every request (-H for short).

Examples:
  mcp-cli call add '{\"a\": 2, \"b\": 3}' -- cargo run -q --example quickstart
  mcp-cli tools --url http://127.0.0.1:8000/mcp -H 'Authorization: Bearer s3cret'
";

enum Command {
    Tools,
    Call { tool: String, arguments: Value },
}

/// Where the server is.
#[derive(Debug, PartialEq)]
enum Target {
    Process(Vec<String>),
    Http {
        url: String,
        headers: Vec<(String, String)>,
    },
}

fn parse(args: &[String]) -> Result<(Command, Target), String> {
    let (mine, server) = match args.iter().position(|a| a == "--") {
        Some(split) => (&args[..split], Some(&args[split + 1..])),
        None => (args, None),
    };
    let mut url = None;
    let mut headers = Vec::new();
    let mut positional = Vec::new();
    let mut rest = mine.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f == "--url" || f == "--header" => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| rest.next().cloned())
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        match flag {
            "--url" => url = Some(value("--url")?),
            "--header" | "-H" => {
                let header = value("--header")?;
                let (name, v) = header
                    .split_once(':')
                    .ok_or_else(|| format!("the header `{header}` is not `Name: value`"))?;
                headers.push((name.trim().to_string(), v.trim().to_string()));
            }
            _ => positional.push(arg.clone()),
        }
    }
    let target = match (url, server) {
        (Some(_), Some(_)) => {
            return Err("give either `--url` or a server command after `--`, not both".into());
        }
        (Some(url), None) => Target::Http { url, headers },
        (None, Some(server)) => {
            if server.is_empty() {
                return Err("the server command after `--` is empty".into());
            }
            if !headers.is_empty() {
                return Err("`--header` goes with `--url`".into());
            }
            Target::Process(server.to_vec())
        }
        (None, None) => {
            return Err("give the server: `--url URL`, or its command after `--`".into());
        }
    };
    let command = match positional.as_slice() {
        [c] if c == "tools" => Command::Tools,
        [c, tool] if c == "call" => Command::Call {
            tool: tool.clone(),
            arguments: json!({}),
        },
        [c, tool, arguments] if c == "call" => Command::Call {
            tool: tool.clone(),
            arguments: serde_json::from_str(arguments)
                .map_err(|e| format!("the arguments are not JSON: {e}"))?,
        },
        [] => return Err("missing command: `tools` or `call`".into()),
        [other, ..] => {
            return Err(format!(
                "unknown command or arguments starting at `{other}`"
            ));
        }
    };
    Ok((command, target))
}

async fn connect(target: &Target) -> Result<Client, String> {
    match target {
        Target::Process(server) => {
            let mut process = tokio::process::Command::new(&server[0]);
            process.args(&server[1..]);
            Client::spawn(process)
                .await
                .map_err(|e| format!("could not start `{}`: {e}", server.join(" ")))
        }
        Target::Http { url, headers } => {
            let options = HttpClientOptions {
                headers: headers.clone(),
            };
            Client::connect_http_with(url, options, ClientOptions::default())
                .await
                .map_err(|e: ClientError| format!("could not connect to {url}: {e}"))
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty()
        || args
            .iter()
            .take_while(|a| *a != "--")
            .any(|a| a == "-h" || a == "--help")
    {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (command, target) = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mcp-cli: {e}; run `mcp-cli --help` for usage");
            return ExitCode::from(2);
        }
    };
    let client = match connect(&target).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mcp-cli: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match command {
        Command::Tools => client
            .list_all_tools()
            .await
            .map(|tools| (json!(tools), false)),
        Command::Call { tool, arguments } => client
            .call_tool(&tool, arguments)
            .await
            .map(|r| (json!(r), r.is_error)),
    };
    let _ = client.close().await;
    match outcome {
        Ok((value, failed)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("mcp-cli: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_the_server_target() {
        let (_, t) = parse(&args(&["tools", "--", "srv", "--flag"])).unwrap();
        assert_eq!(t, Target::Process(args(&["srv", "--flag"])));
        let (c, t) = parse(&args(&[
            "call",
            "--url",
            "http://h:1/mcp",
            "add",
            "-H",
            "Authorization: Bearer x",
            "--header=X-A:b",
        ]))
        .unwrap();
        assert!(matches!(c, Command::Call { tool, .. } if tool == "add"));
        assert_eq!(
            t,
            Target::Http {
                url: "http://h:1/mcp".into(),
                headers: vec![
                    ("Authorization".into(), "Bearer x".into()),
                    ("X-A".into(), "b".into())
                ],
            }
        );
        for bad in [
            &["tools"][..],
            &["tools", "--url", "http://h/", "--", "srv"],
            &["tools", "--url"],
            &["tools", "--url", "http://h/", "-H", "no-colon"],
            &["tools", "-H", "A: b", "--", "srv"],
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
