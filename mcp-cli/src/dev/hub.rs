//! What the inspector knows, shared by the session supervisor and the web server: the
//! connection's status, the current client, the protocol history, the server's stderr and the
//! server's requests waiting for the developer. Every change is also an event for the browsers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use mcp_runtime::Client;
use mcp_runtime::protocol::{ErrorObject, RequestId};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot};

/// How many history entries and stderr lines a browser that connects late still sees.
const HISTORY: usize = 2000;
const STDERR: usize = 500;
/// How many HTTP exchanges a browser that connects late still sees.
const HTTP: usize = 1000;
/// How many outcomes of tagged requests are kept for pages that reload.
const FINISHED: usize = 64;
/// How many steps of logging in a page that connects late still sees.
const AUTH: usize = 200;

/// A request from the session's owner to the supervisor.
#[derive(Debug)]
pub(super) enum Control {
    /// Reconnect (restarting a stdio server), asking for this revision.
    Reconnect { revision: String },
}

type Answer = oneshot::Sender<Result<Value, ErrorObject>>;

#[derive(Default)]
struct State {
    status: Value,
    history: VecDeque<Value>,
    seq: u64,
    stderr: VecDeque<String>,
    pending: HashMap<u64, (Value, Answer)>,
    next_pending: u64,
    inflight: HashMap<String, (RequestId, Arc<Client>)>,
    /// Under 2026-07-28: the `subscriptions/listen` of each resource the page subscribed to.
    listening: HashMap<String, RequestId>,
    // --- history by connection, calls across a page reload ---
    /// The connection the history's messages belong to (1 for the first).
    conn: u64,
    /// The outcomes of the page's latest tagged requests, for a page that reloaded meanwhile.
    finished: VecDeque<(String, Value)>,
    // --- network view ---
    /// The latest HTTP exchanges of a URL target.
    http: VecDeque<Value>,
    // --- login panel ---
    /// The steps of logging in to a protected URL target (no secrets).
    auth: VecDeque<Value>,
}

/// The shared state of one inspector.
pub(super) struct Hub {
    started: Instant,
    events: broadcast::Sender<Arc<str>>,
    state: Mutex<State>,
    client: Mutex<Option<Arc<Client>>>,
    revision: Mutex<String>,
    pub control: mpsc::UnboundedSender<Control>,
    /// What the inspector runs, for the page's title bar.
    pub target: String,
    /// Whether sources are watched.
    pub watching: bool,
    // --- MCP App views ---
    /// The app views read for `/view/<id>`.
    pub views: super::apps::Views,
    // --- both eras side by side ---
    setup: Mutex<Option<super::compare::Setup>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    pub(super) fn new(
        target: String,
        watching: bool,
        revision: String,
    ) -> (Arc<Hub>, mpsc::UnboundedReceiver<Control>) {
        let (control, rx) = mpsc::unbounded_channel();
        let hub = Hub {
            started: Instant::now(),
            events: broadcast::channel(4096).0,
            state: Mutex::new(State {
                status: json!({ "state": "starting" }),
                ..State::default()
            }),
            client: Mutex::new(None),
            revision: Mutex::new(revision),
            control,
            target,
            watching,
            views: super::apps::Views::default(),
            setup: Mutex::new(None),
        };
        (Arc::new(hub), rx)
    }

    fn millis(&self) -> f64 {
        (self.started.elapsed().as_micros() as f64) / 1000.0
    }

    fn broadcast(&self, event: &Value) {
        let _ = self.events.send(Arc::from(event.to_string()));
    }

    /// Subscribes to events, with a snapshot of everything so far to send first.
    pub(super) fn subscribe(&self) -> (Value, broadcast::Receiver<Arc<str>>) {
        let state = lock(&self.state);
        let rx = self.events.subscribe();
        let pending: Vec<Value> = {
            let mut p: Vec<(&u64, &(Value, Answer))> = state.pending.iter().collect();
            p.sort_by_key(|(id, _)| **id);
            p.into_iter().map(|(_, (req, _))| req.clone()).collect()
        };
        let snapshot = json!({
            "type": "snapshot",
            "target": self.target,
            "watching": self.watching,
            "revision": *lock(&self.revision),
            "revisions": super::revisions(),
            "status": state.status,
            "history": state.history,
            "stderr": state.stderr,
            "pending": pending,
            "inflight": state.inflight.keys().collect::<Vec<_>>(),
            "http": state.http,
            "auth": state.auth,
            "finished": state.finished.iter().map(|(tag, outcome)| json!({ "tag": tag, "outcome": outcome })).collect::<Vec<_>>(),
            "version": env!("CARGO_PKG_VERSION"),
        });
        (snapshot, rx)
    }

    /// The revision the next connection asks for.
    pub(super) fn revision(&self) -> String {
        lock(&self.revision).clone()
    }

    pub(super) fn set_revision(&self, revision: String) {
        *lock(&self.revision) = revision;
    }

    /// Sets the connection status: `{"state": "building" | "connected" | …, …}`.
    pub(super) fn set_status(&self, status: Value) {
        let mut state = lock(&self.state);
        state.status = status.clone();
        self.broadcast(&json!({ "type": "status", "status": status }));
    }

    /// Records one JSON-RPC message.
    pub(super) fn record(&self, sent: bool, bytes: &[u8]) {
        let message: Value = serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
        let mut state = lock(&self.state);
        state.seq += 1;
        let entry = json!({
            "seq": state.seq,
            "t": self.millis(),
            "conn": state.conn,
            "dir": if sent { "out" } else { "in" },
            "msg": message,
        });
        if state.history.len() == HISTORY {
            state.history.pop_front();
        }
        state.history.push_back(entry.clone());
        self.broadcast(&json!({ "type": "message", "entry": entry }));
    }

    /// Starts a new connection in the history: its messages are paired among themselves, and
    /// the page marks where it began (`restarted`: a new server process, its state lost).
    pub(super) fn new_connection(&self, restarted: bool) -> u64 {
        let mut state = lock(&self.state);
        state.conn += 1;
        state.seq += 1;
        let entry = json!({
            "seq": state.seq,
            "t": self.millis(),
            "conn": state.conn,
            "marker": { "restarted": restarted && state.conn > 1 },
        });
        if state.history.len() == HISTORY {
            state.history.pop_front();
        }
        state.history.push_back(entry.clone());
        self.broadcast(&json!({ "type": "message", "entry": entry }));
        state.conn
    }

    /// What a comparison of eras connects to: set once the server is built.
    pub(super) fn set_setup(&self, setup: super::compare::Setup) {
        *lock(&self.setup) = Some(setup);
    }

    pub(super) fn setup(&self) -> Option<super::compare::Setup> {
        lock(&self.setup).clone()
    }

    /// Records one HTTP exchange of the connection.
    pub(super) fn http(&self, exchange: &mcp_runtime::HttpExchange) {
        let mut state = lock(&self.state);
        state.seq += 1;
        let headers = |h: &[(String, String)]| -> Vec<Value> {
            h.iter().map(|(k, v)| json!([k, v])).collect()
        };
        let entry = json!({
            "seq": state.seq,
            // When it was sent: the time now less the wait for the response.
            "t": self.millis() - exchange.elapsed.as_secs_f64() * 1000.0,
            "ms": exchange.elapsed.as_secs_f64() * 1000.0,
            "conn": state.conn,
            "method": exchange.method,
            "url": exchange.url,
            "status": exchange.status,
            "error": exchange.error,
            // What the POST carried, for revisions without the routing headers.
            "rpcMethod": exchange.rpc_method,
            "rpcName": exchange.rpc_name,
            "requestHeaders": headers(&exchange.request_headers),
            "responseHeaders": headers(&exchange.response_headers),
        });
        if state.http.len() == HTTP {
            state.http.pop_front();
        }
        state.http.push_back(entry.clone());
        self.broadcast(&json!({ "type": "http", "entry": entry }));
    }

    /// Records a step of logging in (the login panel): `{"kind", "text", "url"?}`.
    pub(super) fn auth(&self, mut step: Value) {
        let mut state = lock(&self.state);
        state.seq += 1;
        step["seq"] = json!(state.seq);
        step["t"] = json!(self.millis());
        step["conn"] = json!(state.conn);
        if state.auth.len() == AUTH {
            state.auth.pop_front();
        }
        state.auth.push_back(step.clone());
        self.broadcast(&json!({ "type": "auth", "step": step }));
    }

    /// Keeps the outcome of the page's request `tag` for a page that reloads while it runs,
    /// and tells the pages.
    pub(super) fn finish(&self, tag: &str, outcome: &Value) {
        let mut state = lock(&self.state);
        if state.finished.len() == FINISHED {
            state.finished.pop_front();
        }
        state.finished.push_back((tag.to_string(), outcome.clone()));
        self.broadcast(&json!({ "type": "finished", "tag": tag, "outcome": outcome }));
    }

    /// Records a line the server wrote to stderr, or a line of the inspector's own.
    pub(super) fn stderr(&self, line: String) {
        let mut state = lock(&self.state);
        if state.stderr.len() == STDERR {
            state.stderr.pop_front();
        }
        state.stderr.push_back(line.clone());
        self.broadcast(&json!({ "type": "stderr", "line": line }));
    }

    /// Shows a request of the server to the developer and waits for the answer.
    pub(super) fn ask(
        &self,
        method: String,
        params: Value,
    ) -> oneshot::Receiver<Result<Value, ErrorObject>> {
        let (tx, rx) = oneshot::channel();
        let mut state = lock(&self.state);
        state.next_pending += 1;
        let id = state.next_pending;
        let request = json!({ "id": id, "method": method, "params": params, "t": self.millis() });
        state.pending.insert(id, (request.clone(), tx));
        self.broadcast(&json!({ "type": "serverRequest", "request": request }));
        rx
    }

    /// Answers a pending request of the server; `false` when there is no such request.
    pub(super) fn answer(&self, id: u64, answer: Result<Value, ErrorObject>) -> bool {
        let entry = lock(&self.state).pending.remove(&id);
        match entry {
            Some((_, tx)) => {
                let _ = tx.send(answer);
                self.broadcast(&json!({ "type": "serverRequestDone", "id": id }));
                true
            }
            None => false,
        }
    }

    /// Drops every pending request of the server (its connection is gone).
    pub(super) fn forget_pending(&self) {
        let ids: Vec<u64> = lock(&self.state)
            .pending
            .drain()
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            self.broadcast(&json!({ "type": "serverRequestDone", "id": id }));
        }
    }

    pub(super) fn client(&self) -> Option<Arc<Client>> {
        lock(&self.client).clone()
    }

    /// Replaces the connection; what the page subscribed to ends with the old one.
    pub(super) fn set_client(&self, client: Option<Arc<Client>>) -> Option<Arc<Client>> {
        lock(&self.state).listening.clear();
        std::mem::replace(&mut *lock(&self.client), client)
    }

    /// Remembers the subscription to a resource's updates (2026-07-28).
    pub(super) fn listening(&self, uri: String, id: RequestId) -> Option<RequestId> {
        lock(&self.state).listening.insert(uri, id)
    }

    /// Forgets the subscription to a resource's updates, returning it to cancel.
    pub(super) fn stop_listening(&self, uri: &str) -> Option<RequestId> {
        lock(&self.state).listening.remove(uri)
    }

    /// Remembers a request the browser may cancel by its tag.
    pub(super) fn track(&self, tag: String, id: RequestId, client: Arc<Client>) {
        lock(&self.state).inflight.insert(tag, (id, client));
    }

    pub(super) fn untrack(&self, tag: &str) -> Option<(RequestId, Arc<Client>)> {
        lock(&self.state).inflight.remove(tag)
    }
}
