//! `mcp-cli shell`: commands read from stdin, one a line, run on one connection.

use std::io::{BufRead, IsTerminal, Read, Write};

use mcp_runtime::Client;

use crate::cli::{self, Command, Invocation};
use crate::commands::{Failure, execute};
use crate::completion::{Catalog, ShellHelper};

const HELP: &str = "\
Commands, one a line, on this connection (the server keeps its state between them):
  list tools|resources|templates|prompts
  call TOOL [KEY=VALUE...] [--args JSON]
  read URI
  prompt NAME [KEY=VALUE...]
  inspect
Add --json for JSON output. `help` shows this, `exit` (or the end of input) ends.";

/// The longest line read; a longer one is refused rather than kept in memory.
const MAX_LINE: usize = 1 << 20;

/// Runs each line of stdin as a command against `client`. Every command runs even when one
/// fails; the shell fails (exit code 1) when any did.
pub(crate) async fn run(client: &Client, inv: &Invocation, activity: bool) -> Result<(), Failure> {
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!(
            "mcp-cli shell: connected to {}; `help` lists the commands",
            client.server_info().name
        );
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<String>>(1);
    // On a terminal, a line editor with tab completion from what the server lists now.
    let catalog = match interactive {
        true => Some(Catalog::fetch(client).await),
        false => None,
    };
    std::thread::spawn(move || {
        if let Some(catalog) = catalog {
            return edit_lines(catalog, &tx);
        }
        let stdin = std::io::stdin();
        let mut lines = stdin.lock();
        loop {
            if interactive {
                eprint!("mcp> ");
                let _ = std::io::stderr().flush();
            }
            let mut line = String::new();
            let read = (&mut lines).take(MAX_LINE as u64 + 1).read_line(&mut line);
            match read {
                Ok(0) => break,
                Ok(_) => {
                    if line.len() > MAX_LINE && !line.ends_with('\n') {
                        skip_rest_of_line(&mut lines);
                    }
                    if tx.blocking_send(Ok(line)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let mut failed = 0usize;
    while let Some(line) = rx.recv().await {
        let line = line.map_err(|e| Failure::Usage(format!("cannot read stdin: {e}")))?;
        if line.len() > MAX_LINE {
            eprintln!("mcp-cli: a line longer than {MAX_LINE} bytes is refused");
            failed += 1;
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line {
            "exit" | "quit" => break,
            "help" => {
                println!("{HELP}");
                continue;
            }
            _ => {}
        }
        let outcome = match words(line) {
            Ok(words) => match command(&words, inv) {
                Ok(sub) => execute(client, &sub, activity).await,
                Err(e) => Err(Failure::Usage(e)),
            },
            Err(e) => Err(Failure::Usage(e)),
        };
        if let Err(f) = outcome {
            failed += 1;
            let message = match f {
                Failure::Server(m) | Failure::Usage(m) | Failure::Connect(m) => m,
            };
            eprintln!("mcp-cli: {message}");
        }
        let _ = std::io::stdout().flush();
    }
    if failed == 0 {
        Ok(())
    } else {
        let s = if failed == 1 { "" } else { "s" };
        Err(Failure::Server(format!("{failed} command{s} failed")))
    }
}

/// Reads lines on a terminal with editing, in-memory history and tab completion, sending
/// each to `tx`. Ctrl-C clears the line; Ctrl-D (end of input) ends the shell.
fn edit_lines(catalog: Catalog, tx: &tokio::sync::mpsc::Sender<std::io::Result<String>>) {
    use rustyline::error::ReadlineError;
    let config = rustyline::Config::builder()
        .auto_add_history(true)
        .max_history_size(1000)
        .map(|b| b.completion_type(rustyline::CompletionType::List).build());
    let editor = config.and_then(
        rustyline::Editor::<ShellHelper, rustyline::history::DefaultHistory>::with_config,
    );
    let mut editor = match editor {
        Ok(editor) => editor,
        Err(e) => {
            let _ = tx.blocking_send(Err(std::io::Error::other(e)));
            return;
        }
    };
    editor.set_helper(Some(ShellHelper(catalog)));
    loop {
        match editor.readline("mcp> ") {
            Ok(line) => {
                if tx.blocking_send(Ok(line)).is_err() {
                    return;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e)));
                return;
            }
        }
    }
}

/// Drops what is left of an over-long line, up to and including its `\n`.
fn skip_rest_of_line(input: &mut impl BufRead) {
    loop {
        let (done, used) = match input.fill_buf() {
            Ok([]) | Err(_) => return,
            Ok(buf) => match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (true, i + 1),
                None => (false, buf.len()),
            },
        };
        input.consume(used);
        if done {
            return;
        }
    }
}

/// The invocation a shell line stands for: its command, on the shell's connection.
fn command(words: &[String], shell: &Invocation) -> Result<Invocation, String> {
    let mut args = words.to_vec();
    // A placeholder server: the line runs on the shell's connection, not on a new one.
    args.extend(["--".to_string(), "shell".to_string()]);
    let mut sub = match cli::parse(&args) {
        Ok(sub) => sub,
        Err(cli::NotRun::Shown(text)) => {
            print!("{text}");
            return Err(String::new());
        }
        Err(cli::NotRun::Usage(e)) => return Err(e),
    };
    if matches!(
        sub.command,
        Command::Dev | Command::Run { .. } | Command::Shell | Command::Install(_)
    ) {
        return Err("`dev`, `run`, `shell` and `install` do not run inside the shell".into());
    }
    sub.json |= shell.json;
    Ok(sub)
}

/// Splits a line into words as a shell does: whitespace separates, quotes (`'…'`, `"…"`) keep
/// spaces, and `\\` escapes the next character outside single quotes.
pub(crate) fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    out.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("a `'` is not closed".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => w.push(c),
                            None => return Err("a `\"` is not closed".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("a `\"` is not closed".into()),
                    }
                }
            }
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                if let Some(c) = chars.next() {
                    w.push(c);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        out.push(w);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_a_shell() {
        assert_eq!(
            words(r#"call write_note name=a text='hello world' note="say \"hi\"" x\ y"#).unwrap(),
            [
                "call",
                "write_note",
                "name=a",
                "text=hello world",
                "note=say \"hi\"",
                "x y"
            ]
        );
        assert_eq!(words("  ").unwrap(), Vec::<String>::new());
        assert!(words("call 'open").unwrap_err().contains("not closed"));
    }
}
