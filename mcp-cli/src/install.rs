//! `mcp-cli install CLIENT`: adds the server to an MCP client's configuration file, merging
//! with what is there (a backup of the old file is kept), or prints the result (`--dry-run`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::cli::{InstallOptions, Invocation};
use crate::commands::Failure;
use crate::target::Target;

/// The clients `install` knows, as named on the command line.
pub(crate) const CLIENTS: &[&str] = &[
    "claude-desktop",
    "claude-code",
    "cursor",
    "vscode",
    "gemini-cli",
    "codex",
    "mcp-json",
];

/// What the configuration entry launches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Launch {
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    Http {
        url: String,
        headers: Vec<(String, String)>,
    },
}

/// Runs `install`: builds the server if it is a cargo target, then writes (or prints) the
/// client's configuration.
pub(crate) async fn run(inv: &Invocation, opts: &InstallOptions) -> Result<(), Failure> {
    let launch = match &inv.target {
        Target::Http { url, headers, .. } => Launch::Http {
            url: url.clone(),
            headers: headers.clone(),
        },
        target => {
            let program = target
                .prepare()
                .await
                .map_err(|e| Failure::Connect(e.to_string()))?
                .ok_or_else(|| Failure::Usage("no server to install".into()))?;
            let mut argv = program.argv.into_iter();
            let command = absolute(&argv.next().unwrap_or_default());
            Launch::Stdio {
                command,
                args: argv.collect(),
                env: opts.env.clone(),
            }
        }
    };
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => default_name(&launch),
    };
    let path = match &opts.config {
        Some(p) => p.clone(),
        None => default_path(&opts.client)?,
    };
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Failure::Usage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let new = merge(&opts.client, old.as_deref(), &name, &launch)
        .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
    if opts.dry_run {
        println!("# {} (not written: --dry-run)", path.display());
        print!("{new}");
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failure::Usage(format!("cannot create {}: {e}", parent.display())))?;
    }
    if let Some(old) = &old {
        let backup = backup_path(&path);
        std::fs::write(&backup, old)
            .map_err(|e| Failure::Usage(format!("cannot back up to {}: {e}", backup.display())))?;
        eprintln!(
            "mcp-cli: the previous configuration is in {}",
            backup.display()
        );
    }
    std::fs::write(&path, new)
        .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "mcp-cli: added `{name}` to {} ({}); restart the client to load it",
        path.display(),
        opts.client
    );
    Ok(())
}

fn absolute(command: &str) -> String {
    let p = Path::new(command);
    if p.components().count() > 1
        && p.is_relative()
        && let Ok(abs) = std::path::absolute(p)
    {
        return abs.to_string_lossy().into_owned();
    }
    command.to_string()
}

fn default_name(launch: &Launch) -> String {
    match launch {
        Launch::Stdio { command, .. } => Path::new(command)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "server".into()),
        Launch::Http { url, .. } => url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).next())
            .unwrap_or("server")
            .to_string(),
    }
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

/// Where each client reads its configuration (user scope, or the project for claude-code,
/// vscode and mcp-json).
fn default_path(client: &str) -> Result<PathBuf, Failure> {
    let home = || {
        std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from)
            .ok_or_else(|| {
                Failure::Usage("no home directory (HOME); give the file with --config".into())
            })
    };
    Ok(match client {
        "claude-desktop" => {
            if cfg!(target_os = "macos") {
                home()?.join("Library/Application Support/Claude/claude_desktop_config.json")
            } else if cfg!(windows) {
                let appdata = std::env::var_os("APPDATA").ok_or_else(|| {
                    Failure::Usage("no APPDATA; give the file with --config".into())
                })?;
                PathBuf::from(appdata).join("Claude/claude_desktop_config.json")
            } else {
                let config = std::env::var_os("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .map_or_else(|| home().map(|h| h.join(".config")), Ok)?;
                config.join("Claude/claude_desktop_config.json")
            }
        }
        "claude-code" => PathBuf::from(".mcp.json"),
        "cursor" => home()?.join(".cursor/mcp.json"),
        "vscode" => PathBuf::from(".vscode/mcp.json"),
        "gemini-cli" => home()?.join(".gemini/settings.json"),
        "codex" => std::env::var_os("CODEX_HOME")
            .map(PathBuf::from)
            .map_or_else(|| home().map(|h| h.join(".codex")), Ok)?
            .join("config.toml"),
        "mcp-json" => PathBuf::from("mcp.json"),
        other => return Err(Failure::Usage(unknown_client(other))),
    })
}

pub(crate) fn unknown_client(name: &str) -> String {
    format!(
        "unknown client `{name}`; {}install knows {}",
        crate::suggest::hint(name, CLIENTS.iter().copied()),
        CLIENTS.join(", ")
    )
}

/// The configuration file's new text: `old` (if any) with the entry `name` set to `launch`.
pub(crate) fn merge(
    client: &str,
    old: Option<&str>,
    name: &str,
    launch: &Launch,
) -> Result<String, String> {
    if client == "codex" {
        return merge_codex(old.unwrap_or_default(), name, launch);
    }
    let mut root: Map<String, Value> = match old.map(str::trim) {
        None | Some("") => Map::new(),
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err("the file is not a JSON object; fix or move it first".into()),
            Err(e) => {
                return Err(format!(
                    "the file is not valid JSON ({e}); fix or move it first"
                ));
            }
        },
    };
    let key = if client == "vscode" {
        "servers"
    } else {
        "mcpServers"
    };
    let servers = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
    let Some(servers) = servers.as_object_mut() else {
        return Err(format!("`{key}` is not a JSON object; fix it first"));
    };
    servers.insert(name.to_string(), entry(client, launch)?);
    Ok(serde_json::to_string_pretty(&Value::Object(root)).expect("JSON serializes") + "\n")
}

/// One server's entry in a JSON configuration, in the client's words.
fn entry(client: &str, launch: &Launch) -> Result<Value, String> {
    Ok(match launch {
        Launch::Stdio { command, args, env } => {
            let mut e = Map::new();
            if client == "vscode" || client == "claude-code" {
                e.insert("type".into(), "stdio".into());
            }
            e.insert("command".into(), command.clone().into());
            e.insert("args".into(), json!(args));
            if !env.is_empty() {
                let env: Map<String, Value> = env
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                e.insert("env".into(), Value::Object(env));
            }
            Value::Object(e)
        }
        Launch::Http { url, headers } => {
            let mut e = Map::new();
            match client {
                "vscode" | "claude-code" => {
                    e.insert("type".into(), "http".into());
                    e.insert("url".into(), url.clone().into());
                }
                "gemini-cli" => {
                    e.insert("httpUrl".into(), url.clone().into());
                }
                "claude-desktop" => {
                    return Err(
                        "Claude Desktop's configuration file runs local commands only; add a remote server in its settings (Connectors)".into(),
                    );
                }
                _ => {
                    e.insert("url".into(), url.clone().into());
                }
            }
            if !headers.is_empty() {
                let h: Map<String, Value> = headers
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                e.insert("headers".into(), Value::Object(h));
            }
            Value::Object(e)
        }
    })
}

/// Codex's `config.toml`: the `[mcp_servers.NAME]` table replaced (or added at the end), the
/// rest of the file kept as it is.
fn merge_codex(old: &str, name: &str, launch: &Launch) -> Result<String, String> {
    let Launch::Stdio { command, args, env } = launch else {
        return Err("codex runs MCP servers as local commands here; give one after `--`".into());
    };
    let header = format!("[mcp_servers.{}]", toml_key(name));
    let env_header = format!("[mcp_servers.{}.env]", toml_key(name));
    let mut kept = Vec::new();
    let mut skipping = false;
    for line in old.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            skipping = trimmed == header || trimmed == env_header;
        }
        if !skipping {
            kept.push(line);
        }
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    out.push_str(&header);
    out.push('\n');
    out.push_str(&format!("command = {}\n", toml_string(command)));
    let args: Vec<String> = args.iter().map(|a| toml_string(a)).collect();
    out.push_str(&format!("args = [{}]\n", args.join(", ")));
    if !env.is_empty() {
        let pairs: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{} = {}", toml_key(k), toml_string(v)))
            .collect();
        out.push_str(&format!("env = {{ {} }}\n", pairs.join(", ")));
    }
    Ok(out)
}

/// A TOML key: bare when it can be, quoted otherwise.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        toml_string(key)
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stdio() -> Launch {
        Launch::Stdio {
            command: "/opt/notes/bin/notes".into(),
            args: vec!["--log".into(), "a \"b\"".into()],
            env: vec![("NOTES_DIR".into(), "/tmp/notes".into())],
        }
    }

    /// Each client's file, as it looks with another server already in it (fixtures).
    const EXISTING: &[(&str, &str)] = &[
        (
            "claude-desktop",
            r#"{"globalShortcut": "Ctrl+Space", "mcpServers": {"other": {"command": "other"}}}"#,
        ),
        (
            "claude-code",
            r#"{"mcpServers": {"other": {"type": "stdio", "command": "other", "args": []}}}"#,
        ),
        (
            "cursor",
            r#"{"mcpServers": {"other": {"url": "https://other.example/mcp"}}}"#,
        ),
        (
            "vscode",
            r#"{"inputs": [], "servers": {"other": {"type": "stdio", "command": "other"}}}"#,
        ),
        (
            "gemini-cli",
            r#"{"theme": "Dracula", "mcpServers": {"other": {"command": "other"}}}"#,
        ),
        (
            "mcp-json",
            r#"{"mcpServers": {"other": {"command": "other"}}}"#,
        ),
    ];

    #[test]
    fn each_json_client_gets_its_entry_and_keeps_the_rest() {
        for (client, old) in EXISTING {
            let new: Value =
                serde_json::from_str(&merge(client, Some(old), "notes", &stdio()).unwrap())
                    .unwrap();
            let old: Value = serde_json::from_str(old).unwrap();
            let key = if *client == "vscode" {
                "servers"
            } else {
                "mcpServers"
            };
            assert_eq!(
                new[key]["other"], old[key]["other"],
                "{client}: the other server stays"
            );
            for (k, v) in old.as_object().unwrap() {
                if k != key {
                    assert_eq!(&new[k], v, "{client}: `{k}` stays");
                }
            }
            let e = &new[key]["notes"];
            assert_eq!(e["command"], "/opt/notes/bin/notes", "{client}");
            assert_eq!(e["args"], json!(["--log", "a \"b\""]), "{client}");
            assert_eq!(e["env"], json!({"NOTES_DIR": "/tmp/notes"}), "{client}");
            let typed = matches!(*client, "vscode" | "claude-code");
            assert_eq!(e.get("type").is_some(), typed, "{client}");
        }
    }

    #[test]
    fn a_new_file_is_made_and_a_broken_one_refused() {
        let new = merge("cursor", None, "notes", &stdio()).unwrap();
        let v: Value = serde_json::from_str(&new).unwrap();
        assert_eq!(v["mcpServers"]["notes"]["command"], "/opt/notes/bin/notes");
        let e = merge("cursor", Some("{not json"), "notes", &stdio()).unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
        let e = merge("cursor", Some(r#"{"mcpServers": []}"#), "notes", &stdio()).unwrap_err();
        assert!(e.contains("`mcpServers` is not a JSON object"), "{e}");
    }

    #[test]
    fn http_servers_are_written_in_each_clients_words() {
        let http = Launch::Http {
            url: "https://notes.example/mcp".into(),
            headers: vec![("Authorization".into(), "Bearer x".into())],
        };
        let get = |client: &str| -> Value {
            serde_json::from_str(&merge(client, None, "notes", &http).unwrap()).unwrap()
        };
        assert_eq!(
            get("vscode")["servers"]["notes"],
            json!({"type": "http", "url": "https://notes.example/mcp", "headers": {"Authorization": "Bearer x"}})
        );
        assert_eq!(
            get("gemini-cli")["mcpServers"]["notes"]["httpUrl"],
            "https://notes.example/mcp"
        );
        assert_eq!(
            get("cursor")["mcpServers"]["notes"]["url"],
            "https://notes.example/mcp"
        );
        assert!(merge("claude-desktop", None, "notes", &http).is_err());
        assert!(merge("codex", None, "notes", &http).is_err());
    }

    #[test]
    fn codex_tables_are_replaced_and_the_rest_of_the_toml_kept() {
        let old = "model = \"o3\"\n\n[mcp_servers.notes]\ncommand = \"old\"\nargs = []\n\n[mcp_servers.notes.env]\nA = \"1\"\n\n[mcp_servers.other]\ncommand = \"other\"\n";
        let new = merge("codex", Some(old), "notes", &stdio()).unwrap();
        assert_eq!(
            new,
            "model = \"o3\"\n\n[mcp_servers.other]\ncommand = \"other\"\n\n[mcp_servers.notes]\ncommand = \"/opt/notes/bin/notes\"\nargs = [\"--log\", \"a \\\"b\\\"\"]\nenv = { NOTES_DIR = \"/tmp/notes\" }\n"
        );
        let fresh = merge("codex", None, "my server", &stdio()).unwrap();
        assert!(
            fresh.starts_with("[mcp_servers.\"my server\"]\n"),
            "{fresh}"
        );
    }

    #[test]
    fn names_default_to_the_program_or_the_host() {
        assert_eq!(default_name(&stdio()), "notes");
        let http = Launch::Http {
            url: "https://notes.example:8443/mcp".into(),
            headers: vec![],
        };
        assert_eq!(default_name(&http), "notes.example");
        assert!(unknown_client("cursr").contains("did you mean `cursor`?"));
    }
}
