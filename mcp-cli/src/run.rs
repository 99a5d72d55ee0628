//! `mcp-cli run`: the server run for an MCP client, as the command in the client's
//! configuration.
//!
//! Without `--reload` the server gets mcp-cli's stdin, stdout and stderr, as if the client had
//! started it. With `--reload` over stdio, mcp-cli sits between the client and the server and
//! relays each line; when a watched file changes it rebuilds the server (the running one keeps
//! serving meanwhile, and is kept when the build fails, its compiler errors on stderr), stops
//! it, starts the new one, replays the client's `initialize` and `notifications/initialized`
//! to it (answering the replay itself), and sends the client `list_changed` for the tools,
//! resources and prompts the new server has. The client's standing requests carry over: its
//! resource subscriptions are made again on the new server (mcp-cli answers those itself), and
//! an open `subscriptions/listen` request is sent to it again under the client's id, so the
//! client keeps hearing of changes. Other requests the old server had not answered get an
//! error saying the server restarted. With `--http`, the server serves HTTP itself: it is
//! restarted with the same arguments, and so on the same address.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, watch};

use crate::cli::Invocation;
use crate::commands::Failure;
use crate::dev::watch::next_change;
use crate::target::{ConnectError, Program, Target};

/// How often the sources are looked at.
const INTERVAL: Duration = Duration::from_millis(500);
/// The longest message relayed, either way (the runtime's own default limit).
const MAX_LINE: usize = mcp_runtime::transport::DEFAULT_MAX_MESSAGE_SIZE;
/// The most requests of the client a server may have unanswered at once.
const MAX_PENDING: usize = 4096;
/// The most messages held while a restarted server answers the replayed `initialize`.
const MAX_HELD: usize = 1024;
/// The most resource subscriptions and open `subscriptions/listen` requests carried over a
/// restart.
const MAX_STANDING: usize = 1024;
/// How long a stopped server has to exit by itself before it is killed.
const GRACE: Duration = Duration::from_secs(3);

/// The list changes the client is told of after a restart, by the capability that has them.
const LISTS: [(&str, &str); 3] = [
    ("tools", "notifications/tools/list_changed"),
    ("resources", "notifications/resources/list_changed"),
    ("prompts", "notifications/prompts/list_changed"),
];

fn log(message: impl std::fmt::Display) {
    eprintln!("mcp-cli run: {message}");
}

/// Runs the invocation's server until it exits (without `--reload`), or until the client
/// closes stdin or mcp-cli is interrupted (with it).
pub(crate) async fn run(inv: &Invocation, reload: bool, http: bool) -> Result<(), Failure> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let program = first_build(&inv.target, reload, &cwd).await?;
    if !reload {
        let mut child = spawn_inherited(&program)?;
        let status = child
            .wait()
            .await
            .map_err(|e| Failure::Connect(format!("could not wait for the server: {e}")))?;
        return exit_status(status);
    }
    let (events, rx) = mpsc::channel(64);
    let dirs = watch_dirs(&program, &cwd);
    let (dirs_tx, dirs_rx) = watch::channel(dirs);
    tokio::spawn(watch_sources(dirs_rx, events.clone()));
    if http {
        serve_http(&inv.target, program, &cwd, rx, events, dirs_tx).await
    } else {
        let mut relay = Relay::new(events.clone());
        relay.start(&program).map_err(Failure::Connect)?;
        tokio::spawn(read_client(events));
        relay.serve(&inv.target, &cwd, rx, dirs_tx).await
    }
}

/// The first build: a failure ends the command, unless `--reload` waits for a change to try
/// again.
async fn first_build(
    target: &Target,
    reload: bool,
    cwd: &std::path::Path,
) -> Result<Program, Failure> {
    loop {
        match target.prepare().await {
            Ok(Some(program)) => return Ok(program),
            Ok(None) => {
                return Err(Failure::Usage(
                    "`run` starts a server: give a cargo target or `-- COMMAND`, not `--url`"
                        .into(),
                ));
            }
            Err(e) if reload => {
                log(&e);
                log("waiting for a change to build again");
                next_change(vec![cwd.to_path_buf()], INTERVAL).await;
            }
            Err(e) => return Err(Failure::Connect(e.to_string())),
        }
    }
}

/// The directories whose changes restart the server: those it was built from, or the
/// current directory for a plain command.
fn watch_dirs(program: &Program, cwd: &std::path::Path) -> Vec<PathBuf> {
    if program.sources.is_empty() {
        vec![cwd.to_path_buf()]
    } else {
        program.sources.clone()
    }
}

/// What a change leads to: a build, or for a plain command a restart.
fn changed(target: &Target, path: &std::path::Path) -> String {
    let next = if matches!(target, Target::Cargo { .. }) {
        "rebuilding"
    } else {
        "restarting"
    };
    format!("{} changed: {next}", path.display())
}

fn exit_status(status: ExitStatus) -> Result<(), Failure> {
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Server(format!("the server exited ({status})")))
    }
}

fn spawn_inherited(program: &Program) -> Result<Child, Failure> {
    tokio::process::Command::new(&program.argv[0])
        .args(&program.argv[1..])
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure::Connect(format!("could not start `{}`: {e}", program.argv.join(" "))))
}

/// What the relay reacts to.
enum Event {
    /// A line from the client.
    Client(Vec<u8>),
    /// The client closed stdin.
    ClientClosed,
    /// A line from the server of that generation.
    Server { generation: u64, line: Vec<u8> },
    /// The server of that generation closed its stdout.
    ServerClosed { generation: u64 },
    /// A watched file changed.
    Changed(PathBuf),
    /// A rebuild ended.
    Built(Result<Option<Program>, ConnectError>),
}

/// Sends a change of the watched files, again and again; the directories are those the
/// latest build reported.
async fn watch_sources(mut dirs: watch::Receiver<Vec<PathBuf>>, events: mpsc::Sender<Event>) {
    loop {
        let watched = dirs.borrow_and_update().clone();
        tokio::select! {
            path = next_change(watched, INTERVAL) => {
                if events.send(Event::Changed(path)).await.is_err() {
                    return;
                }
            }
            changed = dirs.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// The next line of `reader` without its line ending, at most [`MAX_LINE`] bytes; a longer
/// one is skipped (there is no id to answer it with before it is read whole). `None` at the
/// end of the stream.
async fn next_line<R: AsyncBufRead + Unpin>(reader: &mut R, from: &str) -> Option<Vec<u8>> {
    loop {
        let mut line = Vec::new();
        match (&mut *reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let complete = line.last() == Some(&b'\n');
        if !complete && line.len() >= MAX_LINE {
            log(format_args!(
                "a message of more than {} MiB from {from} was dropped",
                MAX_LINE >> 20
            ));
            loop {
                let buf = reader.fill_buf().await.ok()?;
                if buf.is_empty() {
                    return None;
                }
                if let Some(end) = buf.iter().position(|b| *b == b'\n') {
                    reader.consume(end + 1);
                    break;
                }
                let n = buf.len();
                reader.consume(n);
            }
            continue;
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            if complete {
                continue;
            }
            return None;
        }
        return Some(line);
    }
}

async fn read_client(events: mpsc::Sender<Event>) {
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    while let Some(line) = next_line(&mut stdin, "the client").await {
        if events.send(Event::Client(line)).await.is_err() {
            return;
        }
    }
    let _ = events.send(Event::ClientClosed).await;
}

async fn write_line<W: AsyncWrite + Unpin>(out: &mut W, line: &[u8]) -> std::io::Result<()> {
    out.write_all(line).await?;
    out.write_all(b"\n").await?;
    out.flush().await
}

/// A message's method and, for a request, its id as JSON text.
fn method_and_id(msg: &Value) -> (Option<&str>, Option<String>) {
    let method = msg.get("method").and_then(Value::as_str);
    let id = method
        .and(msg.get("id"))
        .filter(|id| !id.is_null())
        .map(Value::to_string);
    (method, id)
}

/// A JSON-RPC error answer to the request with id `id` (JSON text).
fn error_line(id: &str, message: &str) -> Vec<u8> {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32603,"message":{}}}}}"#,
        Value::String(message.into())
    )
    .into_bytes()
}

/// The running server of the relay.
struct Server {
    generation: u64,
    stdin: ChildStdin,
    process: Child,
}

/// The stdio relay between the client and the current server.
struct Relay {
    out: tokio::io::Stdout,
    events: mpsc::Sender<Event>,
    server: Option<Server>,
    generation: u64,
    /// The client's `initialize` request and `notifications/initialized`, as sent.
    initialize: Option<Vec<u8>>,
    initialized: Option<Vec<u8>>,
    /// Whether the client has sent anything (a 2026-07-28 client never sends `initialize`).
    spoken: bool,
    /// Ids (JSON text) of the client's requests the current server has not answered.
    pending: HashSet<String>,
    /// The id of the replayed `initialize` while the new server has not answered it.
    replay: Option<String>,
    /// The client's messages held meanwhile, with their request ids.
    held: VecDeque<(Vec<u8>, Option<String>)>,
    /// Whether the client can still be written to.
    client_open: bool,
    /// The client's resource subscriptions, by URI: the `resources/subscribe` line sent.
    subscribed: BTreeMap<String, Vec<u8>>,
    /// Ids of `resources/subscribe` requests not yet answered, with their URI.
    subscribing: HashMap<String, String>,
    /// The client's open `subscriptions/listen` requests, by id.
    listening: BTreeMap<String, Vec<u8>>,
    /// Ids of the subscriptions mcp-cli made again on a restarted server, with their URI.
    resubscribed: HashMap<String, String>,
}

impl Relay {
    fn new(events: mpsc::Sender<Event>) -> Relay {
        Relay {
            out: tokio::io::stdout(),
            events,
            server: None,
            generation: 0,
            initialize: None,
            initialized: None,
            spoken: false,
            pending: HashSet::new(),
            replay: None,
            held: VecDeque::new(),
            client_open: true,
            subscribed: BTreeMap::new(),
            subscribing: HashMap::new(),
            listening: BTreeMap::new(),
            resubscribed: HashMap::new(),
        }
    }

    /// Relays until the client leaves.
    async fn serve(
        mut self,
        target: &Target,
        cwd: &std::path::Path,
        mut events: mpsc::Receiver<Event>,
        dirs: watch::Sender<Vec<PathBuf>>,
    ) -> Result<(), Failure> {
        let mut building = false;
        let mut again = false;
        while let Some(event) = events.recv().await {
            match event {
                Event::Client(line) => self.client_said(line).await,
                Event::ClientClosed => break,
                Event::Server { generation, line } => self.server_said(generation, line).await,
                Event::ServerClosed { generation } => self.server_closed(generation).await,
                Event::Changed(path) => {
                    if building {
                        again = true;
                    } else {
                        log(changed(target, &path));
                        building = true;
                        self.build(target);
                    }
                }
                Event::Built(built) => {
                    building = false;
                    match built {
                        Ok(Some(program)) => {
                            let watched = watch_dirs(&program, cwd);
                            dirs.send_if_modified(|d| {
                                let differ = *d != watched;
                                if differ {
                                    *d = watched;
                                }
                                differ
                            });
                            if let Err(e) = self.restart(&program).await {
                                log(e);
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            log(format_args!(
                                "{e}\nmcp-cli run: the running server is kept; the next change builds again"
                            ));
                        }
                    }
                    if again {
                        again = false;
                        building = true;
                        self.build(target);
                    }
                }
            }
            if !self.client_open {
                break;
            }
        }
        self.stop("mcp-cli stopped").await;
        Ok(())
    }

    /// Builds in the background: the running server answers meanwhile.
    fn build(&self, target: &Target) {
        let target = target.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let built = target.prepare().await;
            let _ = events.send(Event::Built(built)).await;
        });
    }

    async fn send_client(&mut self, line: &[u8]) {
        if self.client_open && write_line(&mut self.out, line).await.is_err() {
            self.client_open = false;
        }
    }

    async fn client_said(&mut self, line: Vec<u8>) {
        self.spoken = true;
        let parsed: Option<Value> = serde_json::from_slice(&line).ok();
        let (method, id) = parsed.as_ref().map(method_and_id).unwrap_or_default();
        match method {
            Some("initialize") => self.initialize = Some(line.clone()),
            Some("notifications/initialized") => self.initialized = Some(line.clone()),
            Some(m @ ("resources/subscribe" | "resources/unsubscribe")) => {
                let uri = parsed.as_ref().and_then(|p| p["params"]["uri"].as_str());
                if let Some(uri) = uri {
                    if m == "resources/unsubscribe" {
                        self.subscribed.remove(uri);
                    } else if self.subscribed.len() < MAX_STANDING
                        || self.subscribed.contains_key(uri)
                    {
                        self.subscribed.insert(uri.to_string(), line.clone());
                        if let Some(id) = &id
                            && self.subscribing.len() < MAX_STANDING
                        {
                            self.subscribing.insert(id.clone(), uri.to_string());
                        }
                    }
                }
            }
            Some("subscriptions/listen") => {
                if let Some(id) = &id
                    && self.listening.len() < MAX_STANDING
                {
                    self.listening.insert(id.clone(), line.clone());
                }
            }
            Some("notifications/cancelled") => {
                if let Some(cancelled) = parsed.as_ref().map(|p| &p["params"]["requestId"]) {
                    self.listening.remove(&cancelled.to_string());
                }
            }
            _ => {}
        }
        if self.replay.is_some() {
            if self.held.len() < MAX_HELD {
                self.held.push_back((line, id));
            } else if let Some(id) = id {
                let refusal = error_line(
                    &id,
                    "the server is restarting and too many messages are waiting; send it again",
                );
                self.send_client(&refusal).await;
            }
            return;
        }
        self.forward(line, id).await;
    }

    /// Writes a client's message to the server, or answers a request that cannot reach it.
    async fn forward(&mut self, line: Vec<u8>, id: Option<String>) {
        let refusal = match (&mut self.server, &id) {
            (None, _) => Some(
                "the server is not running (it exited or did not start); `mcp-cli run --reload` starts it again when its sources change",
            ),
            (Some(_), Some(_)) if self.pending.len() >= MAX_PENDING => {
                Some("the server has too many requests unanswered; send it again later")
            }
            (Some(server), _) => {
                if write_line(&mut server.stdin, &line).await.is_ok() {
                    if let Some(id) = &id {
                        self.pending.insert(id.clone());
                    }
                    None
                } else {
                    Some("the server stopped reading its input")
                }
            }
        };
        if let (Some(why), Some(id)) = (refusal, id) {
            self.send_client(&error_line(&id, why)).await;
        }
    }

    async fn server_said(&mut self, generation: u64, line: Vec<u8>) {
        if generation != self.generation {
            // What a stopped server still wrote: its client has been answered for it.
            return;
        }
        if let Ok(msg) = serde_json::from_slice::<Value>(&line)
            && msg.get("method").is_none()
            && let Some(id) = msg.get("id")
        {
            let id = id.to_string();
            if self.replay.as_deref() == Some(id.as_str()) {
                self.replayed(&msg).await;
                return;
            }
            if let Some(uri) = self.resubscribed.remove(&id) {
                if let Some(error) = msg.get("error") {
                    log(format_args!(
                        "the restarted server refused the client's subscription to {}: {error}",
                        Value::String(uri.clone())
                    ));
                    self.subscribed.remove(&uri);
                }
                return;
            }
            if let Some(uri) = self.subscribing.remove(&id)
                && msg.get("error").is_some()
            {
                self.subscribed.remove(&uri);
            }
            self.listening.remove(&id);
            self.pending.remove(&id);
        }
        self.send_client(&line).await;
    }

    /// The new server answered the replayed `initialize`: the client's held messages go to
    /// it, and the client is told its lists changed.
    async fn replayed(&mut self, answer: &Value) {
        self.replay = None;
        if let Some(error) = answer.get("error") {
            log(format_args!(
                "the restarted server refused the client's `initialize`: {error}"
            ));
        }
        if let (Some(initialized), Some(server)) = (&self.initialized, &mut self.server) {
            let _ = write_line(&mut server.stdin, initialized).await;
        }
        self.resume_standing().await;
        while let Some((line, id)) = self.held.pop_front() {
            self.forward(line, id).await;
        }
        let capabilities = &answer["result"]["capabilities"];
        self.announce(|kind| capabilities.get(kind).is_some()).await;
    }

    /// Makes the client's subscriptions again on the current server (under ids of mcp-cli's
    /// own, answered here) and sends it the client's open `subscriptions/listen` requests.
    async fn resume_standing(&mut self) {
        let Some(server) = &mut self.server else {
            return;
        };
        for (n, (uri, line)) in self.subscribed.iter().enumerate() {
            let Ok(mut request) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            let id = json!(format!("mcp-cli-run-resubscribe-{}-{n}", server.generation));
            request["id"] = id.clone();
            if write_line(&mut server.stdin, request.to_string().as_bytes())
                .await
                .is_err()
            {
                return;
            }
            self.resubscribed.insert(id.to_string(), uri.clone());
        }
        for (id, line) in &self.listening {
            if write_line(&mut server.stdin, line).await.is_err() {
                return;
            }
            self.pending.insert(id.clone());
        }
        let (subscriptions, listens) = (self.subscribed.len(), self.listening.len());
        if subscriptions + listens > 0 {
            log(format_args!(
                "carried over {subscriptions} resource subscription(s) and {listens} open subscriptions/listen request(s)"
            ));
        }
    }

    /// Sends `list_changed` for each list `has` says the server has.
    async fn announce(&mut self, has: impl Fn(&str) -> bool) {
        let mut told = Vec::new();
        for (kind, method) in LISTS {
            if has(kind) {
                let note = json!({ "jsonrpc": "2.0", "method": method }).to_string();
                self.send_client(note.as_bytes()).await;
                told.push(kind);
            }
        }
        log(format_args!(
            "restarted the server{}",
            if told.is_empty() {
                String::new()
            } else {
                format!("; told the client its {} changed", told.join(", "))
            }
        ));
    }

    /// Starts `program` as the next generation.
    fn start(&mut self, program: &Program) -> Result<(), String> {
        let mut process = tokio::process::Command::new(&program.argv[0])
            .args(&program.argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start `{}`: {e}", program.argv.join(" ")))?;
        let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take()) else {
            return Err("the server's stdio was not piped".into());
        };
        self.generation += 1;
        let generation = self.generation;
        let events = self.events.clone();
        tokio::spawn(async move {
            let mut stdout = tokio::io::BufReader::new(stdout);
            while let Some(line) = next_line(&mut stdout, "the server").await {
                if events
                    .send(Event::Server { generation, line })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let _ = events.send(Event::ServerClosed { generation }).await;
        });
        self.server = Some(Server {
            generation,
            stdin,
            process,
        });
        Ok(())
    }

    /// Stops the current server (its end of input, then a kill after [`GRACE`]) and answers
    /// what it left unanswered.
    async fn stop(&mut self, why: &str) {
        self.end_server().await;
        self.listening.clear();
        self.answer_unanswered(why).await;
    }

    /// Stops the current server for a new one: what it left unanswered is answered, except
    /// the open `subscriptions/listen` requests, which go to the new server.
    async fn stop_for_restart(&mut self) {
        self.end_server().await;
        for id in self.listening.keys() {
            self.pending.remove(id);
        }
        self.subscribing.clear();
        self.resubscribed.clear();
        self.answer_unanswered("the server restarted").await;
    }

    async fn end_server(&mut self) {
        if let Some(Server {
            stdin, mut process, ..
        }) = self.server.take()
        {
            drop(stdin);
            if tokio::time::timeout(GRACE, process.wait()).await.is_err() {
                let _ = process.kill().await;
            }
        }
    }

    async fn answer_unanswered(&mut self, why: &str) {
        let message = format!("{why} before the server answered; send the request again");
        let pending: Vec<String> = self.pending.drain().collect();
        for id in pending {
            self.send_client(&error_line(&id, &message)).await;
        }
        if self.replay.take().is_some() {
            let held: Vec<_> = self.held.drain(..).collect();
            for id in held.into_iter().filter_map(|(_, id)| id) {
                self.listening.remove(&id);
                self.send_client(&error_line(&id, &message)).await;
            }
        }
    }

    async fn restart(&mut self, program: &Program) -> Result<(), String> {
        self.stop_for_restart().await;
        self.start(program)?;
        match &self.initialize {
            Some(initialize) => {
                let Ok(mut request) = serde_json::from_slice::<Value>(initialize) else {
                    return Ok(());
                };
                let id = json!(format!("mcp-cli-run-replay-{}", self.generation));
                request["id"] = id.clone();
                self.replay = Some(id.to_string());
                if let Some(server) = &mut self.server {
                    let _ = write_line(&mut server.stdin, request.to_string().as_bytes()).await;
                }
            }
            // A 2026-07-28 client has no handshake to replay: every list may have changed.
            None if self.spoken => {
                self.resume_standing().await;
                self.announce(|_| true).await;
            }
            None => log("restarted the server"),
        }
        Ok(())
    }

    async fn server_closed(&mut self, generation: u64) {
        if self.server.as_ref().map(|s| s.generation) != Some(generation) {
            return;
        }
        if let Some(Server { mut process, .. }) = self.server.take() {
            let status = tokio::time::timeout(GRACE, process.wait()).await;
            let how = match status {
                Ok(Ok(s)) => s.to_string(),
                _ => "its output closed".into(),
            };
            log(format_args!(
                "the server exited ({how}); a change to its sources starts it again"
            ));
        }
        self.listening.clear();
        self.answer_unanswered("the server exited").await;
    }
}

/// `--http`: the server serves HTTP on the address its arguments name; a change rebuilds it
/// (it keeps serving meanwhile) and restarts it with the same arguments.
async fn serve_http(
    target: &Target,
    program: Program,
    cwd: &std::path::Path,
    mut events: mpsc::Receiver<Event>,
    sender: mpsc::Sender<Event>,
    dirs: watch::Sender<Vec<PathBuf>>,
) -> Result<(), Failure> {
    drop(sender);
    let mut child = Some(spawn_inherited(&program)?);
    loop {
        let exited = async {
            match child.as_mut() {
                Some(c) => c.wait().await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            status = exited => {
                child = None;
                let how = status.map_or_else(|| "unknown status".into(), |s| s.to_string());
                log(format_args!("the server exited ({how}); a change to its sources starts it again"));
            }
            event = events.recv() => {
                let Some(Event::Changed(path)) = event else {
                    continue;
                };
                log(changed(target, &path));
                match target.prepare().await {
                    Ok(Some(program)) => {
                        dirs.send_if_modified(|d| {
                            let watched = watch_dirs(&program, cwd);
                            let differ = *d != watched;
                            if differ {
                                *d = watched;
                            }
                            differ
                        });
                        if let Some(old) = child.take() {
                            stop_http(old).await;
                        }
                        child = Some(spawn_inherited(&program)?);
                        log("restarted the server with the same arguments");
                    }
                    Ok(None) => {}
                    Err(e) => log(format_args!(
                        "{e}\nmcp-cli run: the running server is kept; the next change builds again"
                    )),
                }
            }
            _ = tokio::signal::ctrl_c() => {
                if let Some(old) = child.take() {
                    stop_http(old).await;
                }
                return Ok(());
            }
        }
    }
}

/// Stops an HTTP server: SIGTERM (the runtime drains in-flight requests and exits), then a
/// kill after [`GRACE`], and waits, so that its address is free for the next one.
async fn stop_http(mut child: Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded_and_blank_ones_skipped() {
        let mut input = std::io::Cursor::new(b"\n{\"a\":1}\r\n  \n{\"b\":2}".to_vec());
        assert_eq!(next_line(&mut input, "t").await.unwrap(), b"{\"a\":1}");
        assert_eq!(next_line(&mut input, "t").await.unwrap(), b"{\"b\":2}");
        assert_eq!(next_line(&mut input, "t").await, None);

        let mut long = vec![b'x'; MAX_LINE + 10];
        long.extend_from_slice(b"\n{\"c\":3}\n");
        let mut input = std::io::Cursor::new(long);
        assert_eq!(next_line(&mut input, "t").await.unwrap(), b"{\"c\":3}");
    }

    #[test]
    fn requests_are_told_from_notifications_and_answers() {
        let request = json!({"id": 7, "method": "tools/list"});
        let (m, id) = method_and_id(&request);
        assert_eq!((m, id.as_deref()), (Some("tools/list"), Some("7")));
        let note = json!({"method": "notifications/initialized"});
        let (m, id) = method_and_id(&note);
        assert_eq!((m, id), (Some("notifications/initialized"), None));
        let answer = json!({"id": "a", "result": {}});
        let (m, id) = method_and_id(&answer);
        assert_eq!((m, id), (None, None));
        let err: Value = serde_json::from_slice(&error_line("\"a\"", "why \"so\"")).unwrap();
        assert_eq!(err["id"], "a");
        assert_eq!(err["error"]["message"], "why \"so\"");
    }
}
