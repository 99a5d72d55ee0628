//! Tab completion in `mcp-cli shell` on a terminal: the shell's commands, then the server's
//! tool, prompt and resource names, then the chosen tool's or prompt's argument names
//! (`name=`), from what the server listed when the shell started.

use std::borrow::Cow;
use std::collections::BTreeMap;

use mcp_runtime::Client;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// The shell's own commands.
const COMMANDS: [&str; 7] = ["list", "call", "read", "prompt", "inspect", "help", "exit"];
/// What `list` lists.
const LISTS: [&str; 4] = ["tools", "resources", "templates", "prompts"];
/// The most pages read of each list: enough for any server a person types at.
const MAX_PAGES: usize = 20;

/// What the server offers, by name, with each item's argument names.
#[derive(Debug, Default, Clone)]
pub(crate) struct Catalog {
    pub(crate) tools: BTreeMap<String, Vec<String>>,
    pub(crate) prompts: BTreeMap<String, Vec<String>>,
    pub(crate) resources: Vec<String>,
}

impl Catalog {
    /// Lists the server's tools, prompts and resources; a list the server does not serve (or
    /// fails) is left empty, since completion is a convenience.
    pub(crate) async fn fetch(client: &Client) -> Catalog {
        let mut catalog = Catalog::default();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let Ok(page) = client.list_tools(cursor.as_deref()).await else {
                break;
            };
            for tool in page.tools {
                let args = tool
                    .input_schema
                    .get("properties")
                    .and_then(|p| p.as_object())
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default();
                catalog.tools.insert(tool.name, args);
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let Ok(page) = client.list_prompts(cursor.as_deref()).await else {
                break;
            };
            for prompt in page.prompts {
                let args = prompt.arguments.into_iter().map(|a| a.name).collect();
                catalog.prompts.insert(prompt.name, args);
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let Ok(page) = client.list_resources(cursor.as_deref()).await else {
                break;
            };
            catalog
                .resources
                .extend(page.resources.into_iter().map(|r| r.uri));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        catalog
    }

    /// Where the word under the cursor starts in `line`, and what it may become.
    pub(crate) fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
        let partial = &before[start..];
        let done: Vec<&str> = before[..start].split_whitespace().collect();
        let names = |items: &mut dyn Iterator<Item = &str>| -> Vec<String> {
            items
                .filter(|c| c.starts_with(partial))
                .map(str::to_owned)
                .collect()
        };
        let arguments = |args: Option<&Vec<String>>, flags: &[&str]| -> Vec<String> {
            let given: Vec<&str> = done[2..]
                .iter()
                .filter_map(|w| w.split_once('=').map(|(k, _)| k))
                .collect();
            let mut out: Vec<String> = args
                .into_iter()
                .flatten()
                .filter(|a| !given.contains(&a.as_str()))
                .map(|a| format!("{a}="))
                .filter(|a| a.starts_with(partial))
                .collect();
            out.extend(
                flags
                    .iter()
                    .filter(|f| f.starts_with(partial) && !done.contains(f))
                    .map(|f| (*f).to_owned()),
            );
            out
        };
        let candidates = match done.as_slice() {
            [] => names(&mut COMMANDS.into_iter()),
            ["list"] => names(&mut LISTS.into_iter()),
            ["call"] => names(&mut self.tools.keys().map(String::as_str)),
            ["prompt"] => names(&mut self.prompts.keys().map(String::as_str)),
            ["read"] => names(&mut self.resources.iter().map(String::as_str)),
            ["call", tool, ..] => arguments(self.tools.get(*tool), &["--args", "--json"]),
            ["prompt", name, ..] => arguments(self.prompts.get(*name), &["--json"]),
            [_, ..] => names(&mut ["--json"].into_iter()),
        };
        (start, candidates)
    }
}

/// `mcp-cli completions SHELL`: writes the shell's completion script for every command and
/// option of `mcp-cli` to `out`.
pub(crate) fn script(args: &[String], out: &mut dyn std::io::Write) -> Result<(), String> {
    use std::str::FromStr;
    const SHELLS: &str = "bash, zsh, fish, elvish or powershell";
    let shell = match args {
        [shell] => clap_complete::Shell::from_str(shell)
            .map_err(|_| format!("no completion script for `{shell}`: choose {SHELLS}"))?,
        [] => return Err(format!("`completions` needs the shell: {SHELLS}")),
        [_, extra, ..] => return Err(format!("`completions` takes one shell, not `{extra}` too")),
    };
    let mut cli = crate::cli::definition();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cli, "mcp-cli", &mut script);
    out.write_all(&script)
        .map_err(|e| format!("cannot write the completion script: {e}"))
}

/// The line editor's helper: completion from a [`Catalog`], nothing else.
pub(crate) struct ShellHelper(pub(crate) Catalog);

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, candidates) = self.0.complete(line, pos);
        let pairs = candidates
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                // A finished word gets its space; `name=` waits for the value.
                replacement: if c.ends_with('=') { c } else { format!("{c} ") },
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.tools.insert(
            "write_note".into(),
            vec!["name".into(), "text".into(), "tags".into()],
        );
        c.tools.insert("word_count".into(), vec!["text".into()]);
        c.prompts.insert("review".into(), vec!["code".into()]);
        c.resources.push("notes://all".into());
        c
    }

    fn complete(line: &str) -> (usize, Vec<String>) {
        catalog().complete(line, line.len())
    }

    #[test]
    fn commands_then_names_then_arguments_complete() {
        assert_eq!(complete("ca"), (0, vec!["call".to_string()]));
        assert_eq!(complete(""), (0, COMMANDS.map(String::from).to_vec()));
        assert_eq!(
            complete("list t"),
            (5, vec!["tools".into(), "templates".into()])
        );
        assert_eq!(
            complete("call w"),
            (5, vec!["word_count".into(), "write_note".into()])
        );
        assert_eq!(complete("call write_note n"), (16, vec!["name=".into()]));
        // Arguments already given are not offered again; the flags come after.
        assert_eq!(
            complete("call write_note name=a "),
            (
                23,
                vec![
                    "text=".into(),
                    "tags=".into(),
                    "--args".into(),
                    "--json".into()
                ]
            )
        );
        assert_eq!(complete("prompt review c"), (14, vec!["code=".into()]));
        assert_eq!(complete("read n"), (5, vec!["notes://all".into()]));
        // An unknown tool still gets the flags, and nothing made up.
        assert_eq!(complete("call nope --a"), (10, vec!["--args".into()]));
    }

    #[test]
    fn completion_scripts_cover_the_subcommands_for_each_shell() {
        for shell in ["bash", "zsh", "fish"] {
            let mut out = Vec::new();
            script(&[shell.to_string()], &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            for word in ["shell", "call", "inspect", "completions", "--example"] {
                assert!(text.contains(word), "{shell} script lacks `{word}`");
            }
        }
        let mut out = Vec::new();
        let err = script(&["tcsh".to_string()], &mut out).unwrap_err();
        assert!(err.contains("bash, zsh, fish"), "{err}");
        assert!(
            script(&[], &mut out)
                .unwrap_err()
                .contains("needs the shell")
        );
    }

    #[test]
    fn completion_in_the_middle_of_a_line_uses_the_text_before_the_cursor() {
        let c = catalog();
        let line = "call wr name=a";
        assert_eq!(c.complete(line, 7), (5, vec!["write_note".into()]));
    }
}
