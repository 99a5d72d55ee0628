//! `mcp-cli`: try an MCP server while writing it.
//!
//! `mcp-cli dev` serves a web inspector for the server on 127.0.0.1; `mcp-cli run --reload`
//! runs it for an MCP client, rebuilt and restarted on change; `list`, `call`, `read`,
//! `prompt` and `inspect` talk to it from the command line. The server is a cargo target
//! (`--example`, `--bin`, `--package`), any command (`-- COMMAND`) or a URL (`--url`).
//! `mcp-cli keys create` makes an API key for a server's `--api-keys` file.
//! `mcp-cli auth login|logout|status URL` manages the logins to OAuth-protected servers.
//! `mcp-cli --help` lists everything; `mcp-cli help COMMAND` (or `COMMAND --help`) tells
//! one command's options.

mod args;
mod cli;
mod commands;
mod completion;
mod dev;
mod elicit;
mod install;
mod keys;
mod login;
mod render;
mod run;
mod shell;
mod skills;
mod suggest;
mod target;

use std::process::ExitCode;

use commands::Failure;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        print!("{}", cli::help());
        return ExitCode::SUCCESS;
    }
    if args[0] == "completions" {
        // No server involved: the script comes from the command line's own definition.
        return match completion::script(&args[1..], &mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => Failure::Usage(e).exit(),
        };
    }
    if args[0] == "keys" {
        // No server involved: not one of the commands that talk to one.
        return match keys::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(f) => f.exit(),
        };
    }
    if args[0] == "auth" {
        // Logins to protected servers: their own command line.
        return login::run(&args[1..]);
    }
    let inv = match cli::parse(&args) {
        Ok(i) => i,
        Err(cli::NotRun::Shown(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(cli::NotRun::Usage(e)) => return Failure::Usage(e).exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return Failure::Connect(format!("could not start the async runtime: {e}")).exit();
        }
    };
    let outcome = runtime.block_on(async move {
        match inv.command {
            cli::Command::Dev => dev::run(inv).await,
            cli::Command::Run { reload, http } => run::run(&inv, reload, http).await,
            cli::Command::Install(ref opts) => install::run(&inv, opts).await,
            _ => commands::run(inv).await,
        }
    });
    // Stop at once: nothing left to wait for (a reader of a server's stdout may still block).
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.exit(),
    }
}
