//! The command-line client: `list`, `call`, `read`, `prompt` and `inspect`.

use std::io::{IsTerminal, Write};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use mcp_runtime::protocol::Implementation;
use mcp_runtime::{Client, ClientError, ClientOptions, LogLevel};
use serde_json::{Map, Value, json};

use crate::args::tool_arguments;
use crate::cli::{Command, Invocation, ListKind};
use crate::render;
use crate::target;

/// How a command ended.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server answered with an error, or the tool failed (exit code 1).
    Server(String),
    /// The command line was wrong (exit code 2).
    Usage(String),
    /// The server could not be built, started or reached (exit code 3).
    Connect(String),
}

impl Failure {
    pub(crate) fn exit(self) -> ExitCode {
        let (code, message) = match self {
            Failure::Server(m) => (1, m),
            Failure::Usage(m) => (2, format!("{m}; run `mcp-cli --help` for usage")),
            Failure::Connect(m) => (3, m),
        };
        if !message.is_empty() {
            eprintln!("mcp-cli: {message}");
        }
        ExitCode::from(code)
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Closed => {
                Failure::Connect("the server closed the connection before answering".into())
            }
            other => Failure::Server(other.to_string()),
        }
    }
}

/// The client's name and version, as sent in `initialize`.
pub(crate) fn client_info(suffix: &str) -> Implementation {
    Implementation {
        name: format!("mcp-cli{suffix}"),
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    }
}

/// Runs a client command against the invocation's server.
pub(crate) async fn run(inv: Invocation) -> Result<(), Failure> {
    let program = inv
        .target
        .prepare()
        .await
        .map_err(|e| Failure::Connect(e.to_string()))?;
    let mut options = ClientOptions {
        protocol_version: inv.revision.as_str().into(),
        client_info: client_info(""),
        ..Default::default()
    };
    // Elicitation forms are answered from `--elicit FILE`, or asked on the terminal (not in
    // the shell, whose stdin carries commands); otherwise the client does not offer it.
    let answers = match &inv.elicit {
        Some(path) => Some(crate::elicit::Answers::from_file(path).map_err(Failure::Usage)?),
        None => (std::io::stdin().is_terminal() && inv.command != Command::Shell)
            .then_some(crate::elicit::Answers::Terminal),
    };
    if let Some(answers) = answers {
        options.capabilities.insert("elicitation".into(), json!({}));
        options.on_request = Some(crate::elicit::handler(answers));
    }
    let (stderr, captured) = capture_stderr();
    let client = target::connect(&inv.target, program.as_ref(), options, stderr, inv.timeout)
        .await
        .map_err(|e| {
            // What the server said before it failed usually says why.
            std::thread::sleep(Duration::from_millis(50));
            let said = captured.lock().map(|l| l.join("\n")).unwrap_or_default();
            if said.trim().is_empty() {
                Failure::Connect(e.to_string())
            } else {
                Failure::Connect(format!("{e}\nthe server's stderr:\n{said}"))
            }
        })?;
    let show_activity = inv
        .progress
        .unwrap_or_else(|| std::io::stderr().is_terminal());
    if show_activity && client.is_per_request() {
        // Without a level a 2026-07-28 request gets no log messages; `info` is what a
        // handshake session gets by default.
        client.set_log_level(Some(LogLevel::Info)).await?;
    }
    let outcome = execute(&client, &inv, show_activity).await;
    // A server that ignores the end of its input is stopped when the client is dropped.
    let _ = tokio::time::timeout(Duration::from_secs(3), client.close()).await;
    outcome
}

/// The server's stderr, kept (the last 50 lines) to explain a failed start rather than
/// mixed into the command's output.
fn capture_stderr() -> (Stdio, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::BufRead;
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let Ok((reader, writer)) = std::io::pipe() else {
        return (Stdio::inherit(), lines);
    };
    let sink = std::sync::Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut l) = sink.lock() {
                if l.len() == 50 {
                    l.remove(0);
                }
                l.push(line);
            }
        }
    });
    (Stdio::from(writer), lines)
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn print_text(text: &str) {
    if text.ends_with('\n') {
        print!("{text}");
    } else if !text.is_empty() {
        println!("{text}");
    }
}

/// Every item of a paginated list.
pub(crate) async fn list_all(
    client: &Client,
    method: &str,
    key: &str,
) -> Result<Vec<Value>, Failure> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let params = match &cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        let page: Value = client.request(method, &params).await?;
        if let Some(items) = page[key].as_array() {
            all.extend(items.iter().cloned());
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return Ok(all),
        }
    }
}

/// `did you mean `x`? ` for the item whose `key` is closest to `wanted`, or nothing.
fn hint(wanted: &str, items: &[Value], key: &str) -> String {
    crate::suggest::hint(wanted, items.iter().filter_map(|i| i[key].as_str()))
}

fn names(items: &[Value]) -> String {
    let names: Vec<&str> = items.iter().filter_map(|i| i["name"].as_str()).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

pub(crate) async fn execute(
    client: &Client,
    inv: &Invocation,
    activity: bool,
) -> Result<(), Failure> {
    match &inv.command {
        Command::List(kind) => {
            let (method, key) = match kind {
                ListKind::Tools => ("tools/list", "tools"),
                ListKind::Resources => ("resources/list", "resources"),
                ListKind::Templates => ("resources/templates/list", "resourceTemplates"),
                ListKind::Prompts => ("prompts/list", "prompts"),
            };
            let items = list_all(client, method, key).await?;
            if !inv.json && items.is_empty() && matches!(kind, ListKind::Resources) {
                // A server with templates only would otherwise seem to have nothing.
                let templates = list_all(client, "resources/templates/list", "resourceTemplates")
                    .await
                    .unwrap_or_default();
                if !templates.is_empty() {
                    print_text(&render::only_templates(&templates));
                    return Ok(());
                }
            }
            if inv.json {
                print_json(&Value::Array(items));
            } else {
                print_text(&match kind {
                    ListKind::Tools => render::tools(&items),
                    ListKind::Resources => render::resources(&items),
                    ListKind::Templates => render::templates(&items),
                    ListKind::Prompts => render::prompts(&items),
                });
            }
            Ok(())
        }
        Command::Call { tool, pairs, args } => {
            let tools = list_all(client, "tools/list", "tools").await?;
            let Some(def) = tools.iter().find(|t| t["name"] == tool.as_str()) else {
                return Err(Failure::Server(format!(
                    "unknown tool `{tool}`; {}the server's tools are: {}",
                    hint(tool, &tools, "name"),
                    names(&tools)
                )));
            };
            let arguments = tool_arguments(tool, &def["inputSchema"], args.clone(), pairs)
                .map_err(Failure::Usage)?;
            let mut params = json!({ "name": tool, "arguments": arguments });
            if activity {
                params["_meta"] = json!({ "progressToken": "mcp-cli" });
            }
            let result = with_activity(
                client,
                activity,
                client.request::<_, Value>("tools/call", &params),
            )
            .await?;
            let failed = result["isError"] == true;
            if inv.json {
                print_json(&result);
            } else if failed {
                eprintln!("{}", render::tool_result(&result));
            } else {
                print_text(&render::tool_result(&result));
            }
            if failed {
                Err(Failure::Server(format!("tool `{tool}` returned an error")))
            } else {
                Ok(())
            }
        }
        Command::Read { uri } => {
            let result: Value = match client
                .request("resources/read", &json!({ "uri": uri }))
                .await
            {
                Ok(r) => r,
                Err(e)
                    if e.rpc()
                        .is_some_and(|r| r.code == -32002 || r.code == -32602) =>
                {
                    // A URI the server does not have: suggest one it lists.
                    let resources = list_all(client, "resources/list", "resources")
                        .await
                        .unwrap_or_default();
                    let suggestion = hint(uri, &resources, "uri");
                    return Err(Failure::Server(if suggestion.is_empty() {
                        e.to_string()
                    } else {
                        format!("{e}; {}", suggestion.trim_end())
                    }));
                }
                Err(e) => return Err(e.into()),
            };
            if inv.json {
                print_json(&result);
            } else {
                let items = result["contents"].as_array().cloned().unwrap_or_default();
                print_text(&render::contents(&items));
            }
            Ok(())
        }
        Command::Prompt { name, pairs } => {
            let prompts = list_all(client, "prompts/list", "prompts").await?;
            let Some(def) = prompts.iter().find(|p| p["name"] == name.as_str()) else {
                return Err(Failure::Server(format!(
                    "unknown prompt `{name}`; {}the server's prompts are: {}",
                    hint(name, &prompts, "name"),
                    names(&prompts)
                )));
            };
            let declared = def["arguments"].as_array().cloned().unwrap_or_default();
            let shape = || {
                render::prompts(std::slice::from_ref(def))
                    .trim_end()
                    .to_string()
            };
            let mut arguments = Map::new();
            for (k, v) in pairs {
                if !declared.iter().any(|a| a["name"] == k.as_str()) {
                    return Err(Failure::Usage(format!(
                        "prompt `{name}` has no argument `{k}`; it takes {}",
                        shape()
                    )));
                }
                arguments.insert(k.clone(), Value::String(v.clone()));
            }
            for a in &declared {
                let n = a["name"].as_str().unwrap_or_default();
                if a["required"] == true && !arguments.contains_key(n) {
                    return Err(Failure::Usage(format!(
                        "prompt `{name}` needs `{n}=…`; it takes {}",
                        shape()
                    )));
                }
            }
            let result: Value = client
                .request(
                    "prompts/get",
                    &json!({ "name": name, "arguments": arguments }),
                )
                .await?;
            if inv.json {
                print_json(&result);
            } else {
                print_text(&render::prompt(&result));
            }
            Ok(())
        }
        Command::Inspect { output } => {
            let m = manifest(client).await?;
            if let Some(path) = output {
                let text = serde_json::to_string_pretty(&m).expect("JSON serializes") + "\n";
                std::fs::write(path, text).map_err(|e| {
                    Failure::Usage(format!(
                        "cannot write the manifest to {}: {e}",
                        path.display()
                    ))
                })?;
                eprintln!("mcp-cli: wrote the manifest to {}", path.display());
            } else if inv.json {
                print_json(&m);
            } else {
                print_text(&render::summary(&m));
            }
            Ok(())
        }
        Command::Skills { action, skill } => {
            crate::skills::run(client, *action, skill.as_deref(), inv.json).await
        }
        Command::Shell => {
            // The shell runs lines through this function: boxed, to end the recursion.
            let shell: std::pin::Pin<Box<dyn std::future::Future<Output = _> + '_>> =
                Box::pin(crate::shell::run(client, inv, activity));
            shell.await
        }
        Command::Dev => unreachable!("`dev` is run by the inspector"),
        Command::Run { .. } => unreachable!("`run` relays for a client of its own"),
        Command::Install(_) => Err(Failure::Usage(
            "`install` writes a configuration; it does not run on a connection".into(),
        )),
    }
}

/// The server's identity, capabilities and everything it lists, as one JSON object.
pub(crate) async fn manifest(client: &Client) -> Result<Value, Failure> {
    let init = client.initialize_result();
    let mut m = json!({
        "protocolVersion": init.protocol_version,
        "serverInfo": init.server_info,
        "capabilities": init.capabilities,
    });
    if let Some(i) = &init.instructions {
        m["instructions"] = json!(i);
    }
    let caps = &init.capabilities;
    if caps.contains_key("tools") {
        m["tools"] = Value::Array(list_all(client, "tools/list", "tools").await?);
    }
    if caps.contains_key("resources") {
        m["resources"] = Value::Array(list_all(client, "resources/list", "resources").await?);
        m["resourceTemplates"] =
            Value::Array(list_all(client, "resources/templates/list", "resourceTemplates").await?);
    }
    if caps.contains_key("prompts") {
        m["prompts"] = Value::Array(list_all(client, "prompts/list", "prompts").await?);
    }
    Ok(m)
}

/// Awaits `fut`, showing the server's progress and log notifications on stderr meanwhile:
/// a bar redrawn in place on a terminal, one line per notification otherwise.
async fn with_activity<T>(
    client: &Client,
    show: bool,
    fut: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    if !show {
        return fut.await;
    }
    let tty = std::io::stderr().is_terminal();
    let mut drew_bar = false;
    tokio::pin!(fut);
    let mut show = |n: mcp_runtime::client::Notification| {
        let mut err = std::io::stderr().lock();
        match n.method.as_str() {
            "notifications/progress" => {
                let done = n.params["progress"].as_f64().unwrap_or(0.0);
                let total = n.params["total"].as_f64();
                let msg = n.params["message"].as_str().unwrap_or("");
                if tty {
                    let bar = match total {
                        Some(t) if t > 0.0 => {
                            let f = (done / t).clamp(0.0, 1.0);
                            let filled = (f * 30.0).round() as usize;
                            format!(
                                "[{}{}] {:>3.0}%",
                                "#".repeat(filled),
                                " ".repeat(30 - filled),
                                f * 100.0
                            )
                        }
                        _ => format!("[{done}]"),
                    };
                    let _ = write!(err, "\r\x1b[2K{bar} {msg}");
                    drew_bar = true;
                } else {
                    let of = total.map(|t| format!("/{t}")).unwrap_or_default();
                    let _ = writeln!(err, "progress {done}{of} {msg}");
                }
            }
            "notifications/message" => {
                if drew_bar {
                    let _ = write!(err, "\r\x1b[2K");
                }
                let level = n.params["level"].as_str().unwrap_or("info");
                let data = match &n.params["data"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let logger = n.params["logger"]
                    .as_str()
                    .map(|l| format!(" {l}:"))
                    .unwrap_or_default();
                let _ = writeln!(err, "[{level}]{logger} {data}");
            }
            _ => {}
        }
    };
    let result = loop {
        tokio::select! {
            // Notifications first: they were sent before the answer that follows them.
            biased;
            Some(n) = client.next_notification() => show(n),
            r = &mut fut => break r,
        }
    };
    // Whatever arrived with the answer is still shown.
    while let Ok(Some(n)) = tokio::time::timeout(Duration::ZERO, client.next_notification()).await {
        show(n);
    }
    if drew_bar {
        eprint!("\r\x1b[2K");
    }
    result
}
