//! `mcp-cli`: talk to an MCP server from the command line.
//!
//! ```text
//! mcp-cli tools -- SERVER_COMMAND [ARGS...]
//! mcp-cli call TOOL [JSON_ARGUMENTS] -- SERVER_COMMAND [ARGS...]
//! ```

use std::process::ExitCode;

use mcp_runtime::Client;
use serde_json::{Value, json};

const USAGE: &str = "\
mcp-cli: talk to an MCP server over stdio

Usage:
  mcp-cli tools -- SERVER_COMMAND [ARGS...]
      List the server's tools as JSON.
  mcp-cli call TOOL [JSON_ARGUMENTS] -- SERVER_COMMAND [ARGS...]
      Call a tool and print its result as JSON (exit code 1 if the tool failed).

Example:
  mcp-cli call add '{\"a\": 2, \"b\": 3}' -- cargo run -q --example quickstart
";

enum Command {
    Tools,
    Call { tool: String, arguments: Value },
}

fn parse(args: &[String]) -> Result<(Command, Vec<String>), String> {
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or("give the server command after `--`")?;
    let (mine, server) = (&args[..split], &args[split + 1..]);
    if server.is_empty() {
        return Err("the server command after `--` is empty".into());
    }
    let command = match mine {
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
    Ok((command, server.to_vec()))
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
    let (command, server) = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mcp-cli: {e}; run `mcp-cli --help` for usage");
            return ExitCode::from(2);
        }
    };
    let mut process = tokio::process::Command::new(&server[0]);
    process.args(&server[1..]);
    let client = match Client::spawn(process).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mcp-cli: could not start `{}`: {e}", server.join(" "));
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
