//! The supervisor: builds the server, starts it, connects, and starts over when the sources
//! change (with `--watch`), when the browser asks (another revision), or waits for either
//! when the server exits or the build fails.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use mcp_runtime::client::ListenFilter;
use mcp_runtime::protocol::{ErrorObject, JsonObject};
use mcp_runtime::{Client, ClientOptions, MessageTap, ServerRequestHandler};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::hub::{Control, Hub};
use super::watch;
use crate::commands::client_info;
use crate::target::{CargoTarget, Program, Target};

/// Why the current connection ended.
enum Next {
    Changed(PathBuf),
    Control(Control),
    Quit,
}

pub(super) fn capabilities() -> JsonObject {
    let caps = json!({
        "sampling": {},
        "elicitation": { "form": {}, "url": {} },
        "roots": { "listChanged": false },
        // A host of MCP App views (the Apps tab frames them): app-only tools are listed to it.
        "extensions": {
            "io.modelcontextprotocol/ui": { "mimeTypes": ["text/html;profile=mcp-app"] }
        },
    });
    caps.as_object().cloned().unwrap_or_default()
}

/// The client's roots: the directory the inspector runs in.
fn roots() -> Value {
    let cwd = std::env::current_dir().unwrap_or_default();
    let name = cwd
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    json!({ "roots": [{ "uri": format!("file://{}", cwd.display()), "name": name }] })
}

fn options(hub: &Arc<Hub>) -> ClientOptions {
    let tap_hub = Arc::clone(hub);
    let ask_hub = Arc::clone(hub);
    ClientOptions {
        protocol_version: hub.revision(),
        client_info: client_info(" dev"),
        capabilities: capabilities(),
        on_message: Some(MessageTap::new(move |dir, bytes| {
            tap_hub.record(dir == mcp_runtime::Direction::Sent, bytes)
        })),
        on_request: Some(ServerRequestHandler::new(move |method, params| {
            let hub = Arc::clone(&ask_hub);
            Box::pin(async move {
                match method.as_str() {
                    "roots/list" => Ok(roots()),
                    "sampling/createMessage" | "elicitation/create" => hub
                        .ask(method, params)
                        .await
                        .unwrap_or_else(|_| Err(ErrorObject::internal("the inspector restarted"))),
                    other => Err(ErrorObject::method_not_found(other)),
                }
            })
        })),
    }
}

/// Records the HTTP exchanges of a URL target in the hub (the Network view).
fn http_tap(hub: &Arc<Hub>) -> mcp_runtime::HttpTap {
    let hub = Arc::clone(hub);
    mcp_runtime::HttpTap::new(move |exchange| hub.http(exchange))
}

/// A URL target whose login's steps also go to the hub (the login panel).
fn with_login_panel(target: &Target, hub: &Arc<Hub>) -> Target {
    let mut target = target.clone();
    if let Target::Http { login, .. } = &mut target {
        let hub = Arc::clone(hub);
        login.events = Some(crate::login::AuthSink(Arc::new(move |event| {
            if let Some(step) = crate::login::step(event) {
                hub.auth(step);
            }
        })));
    }
    target
}

/// Copies the server's stderr lines into the hub.
fn stderr_pipe(hub: &Arc<Hub>) -> Stdio {
    match std::io::pipe() {
        Ok((reader, writer)) => {
            let hub = Arc::clone(hub);
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(reader).lines() {
                    match line {
                        Ok(l) => hub.stderr(l),
                        Err(_) => break,
                    }
                }
            });
            Stdio::from(writer)
        }
        Err(_) => Stdio::inherit(),
    }
}

async fn wait_for(dirs: &[PathBuf], controls: &mut mpsc::UnboundedReceiver<Control>) -> Next {
    let change = async {
        if dirs.is_empty() {
            std::future::pending::<PathBuf>().await
        } else {
            watch::next_change(dirs.to_vec(), Duration::from_millis(500)).await
        }
    };
    tokio::select! {
        p = change => Next::Changed(p),
        c = controls.recv() => c.map_or(Next::Quit, Next::Control),
    }
}

fn apply(hub: &Hub, next: &Next) {
    match next {
        Next::Changed(p) => hub.stderr(format!("[mcp-cli] {} changed: restarting", p.display())),
        Next::Control(Control::Reconnect { revision }) => {
            hub.set_revision(revision.clone());
            hub.stderr(format!("[mcp-cli] reconnecting with revision {revision}"));
        }
        Next::Quit => {}
    }
}

/// Runs the session until the inspector stops.
pub(super) async fn supervise(
    hub: Arc<Hub>,
    target: Target,
    watch: bool,
    timeout: Duration,
    mut controls: mpsc::UnboundedReceiver<Control>,
) {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut attempt: u64 = 0;
    loop {
        attempt += 1;
        let cargo = matches!(target, Target::Cargo { .. });
        if cargo {
            hub.set_status(json!({ "state": "building", "attempt": attempt }));
        }
        let program: Option<Program> = match target.prepare().await {
            Ok(p) => p,
            Err(e) => {
                hub.set_status(json!({
                    "state": "build_failed",
                    "attempt": attempt,
                    "message": e.message,
                    "output": e.build_output,
                }));
                // Without --watch there is nothing to wait for but a retry from the browser.
                let dirs = if watch { vec![cwd.clone()] } else { Vec::new() };
                let next = wait_for(&dirs, &mut controls).await;
                apply(&hub, &next);
                if matches!(next, Next::Quit) {
                    return;
                }
                continue;
            }
        };
        let watched: Vec<PathBuf> = match (&program, watch) {
            (Some(p), true) if !p.sources.is_empty() => p.sources.clone(),
            (Some(_), true) => vec![cwd.clone()],
            _ => Vec::new(),
        };
        hub.set_status(
            json!({ "state": "connecting", "attempt": attempt, "revision": hub.revision() }),
        );
        let stderr = if program.is_some() {
            stderr_pipe(&hub)
        } else {
            Stdio::null()
        };
        let conn = hub.new_connection(program.is_some());
        hub.set_setup(super::compare::Setup {
            target: target.clone(),
            program: program.clone(),
            timeout,
        });
        let client = match crate::target::connect_watched(
            &with_login_panel(&target, &hub),
            program.as_ref(),
            options(&hub),
            stderr,
            timeout,
            Some(http_tap(&hub)),
            // Servers built on mcp-runtime list each item's file and line (source links).
            &[("MCP_DEV_SOURCES", "1")],
        )
        .await
        {
            Ok(c) => Arc::new(c),
            Err(e) => {
                hub.set_status(json!({
                    "state": "failed",
                    "attempt": attempt,
                    "message": e.message,
                }));
                let next = wait_for(&watched, &mut controls).await;
                apply(&hub, &next);
                if matches!(next, Next::Quit) {
                    return;
                }
                continue;
            }
        };
        let init = client.initialize_result();
        let mode = if client.is_per_request() {
            "per-request"
        } else {
            "handshake"
        };
        if client.is_per_request() {
            listen_for_list_changes(&hub, &client).await;
        }
        hub.set_status(json!({
            "state": "connected",
            "attempt": attempt,
            "requested": hub.revision(),
            "protocolVersion": init.protocol_version,
            "mode": mode,
            "serverInfo": init.server_info,
            "capabilities": init.capabilities,
            "instructions": init.instructions,
            "sessionId": client.session_id(),
            "command": program.as_ref().map(|p| p.argv.join(" ")),
            // For "export as test": how a test starts the same server.
            "argv": program.as_ref().map(|p| &p.argv),
            "cargoBin": cargo_bin(&target, program.as_ref()),
            // The history's connection these messages belong to (schema checks by revision).
            "conn": conn,
        }));
        hub.set_client(Some(Arc::clone(&client)));
        let ended = async { while client.next_notification().await.is_some() {} };
        let next = tokio::select! {
            _ = ended => {
                hub.set_status(json!({
                    "state": "exited",
                    "attempt": attempt,
                    "message": "the server closed the connection",
                }));
                hub.set_client(None);
                hub.forget_pending();
                wait_for(&watched, &mut controls).await
            }
            n = wait_for(&watched, &mut controls) => n,
        };
        hub.set_client(None);
        hub.forget_pending();
        stop(client).await;
        apply(&hub, &next);
        if matches!(next, Next::Quit) {
            return;
        }
    }
}

/// The name of the package binary the server is, for `env!("CARGO_BIN_EXE_<name>")` in a test
/// of that package.
fn cargo_bin(target: &Target, program: Option<&Program>) -> Option<String> {
    match target {
        Target::Cargo {
            target: CargoTarget::Bin(name),
            ..
        } => Some(name.clone()),
        Target::Cargo {
            target: CargoTarget::DefaultBin,
            ..
        } => program
            .and_then(|p| p.argv.first())
            .and_then(|exe| std::path::Path::new(exe).file_stem())
            .map(|s| s.to_string_lossy().into_owned()),
        _ => None,
    }
}

/// Under 2026-07-28 list changes come only to those who listen: the inspector listens for
/// those the server says it sends, so that the page reloads its lists as it does in a session.
async fn listen_for_list_changes(hub: &Hub, client: &Client) {
    let caps = client.server_capabilities();
    let changes = |kind: &str| caps.get(kind).is_some_and(|c| c["listChanged"] == true);
    let filter = ListenFilter {
        tools_list_changed: changes("tools"),
        prompts_list_changed: changes("prompts"),
        resources_list_changed: changes("resources"),
        resource_subscriptions: Vec::new(),
    };
    if filter == ListenFilter::default() {
        return;
    }
    if let Err(e) = client.listen(&filter).await {
        hub.stderr(format!(
            "[mcp-cli] subscriptions/listen failed ({e}): list changes will not reload the lists"
        ));
    }
}

/// Ends a connection: a graceful close when nobody else holds the client, else it is dropped
/// (which stops a server process).
async fn stop(client: Arc<Client>) {
    if let Some(c) = Arc::into_inner(client) {
        let _ = tokio::time::timeout(Duration::from_secs(2), c.close()).await;
    }
}
