//! Replicas of one server behind a load balancer with no sticky routing: what the HTTP
//! transport shares through the [`SharedState`] (see `docs/scale-out.md`).
//!
//! - A session's record is saved at `initialize` and whenever its log level or
//!   subscriptions change; a replica that gets a request for a session it does not hold
//!   rebuilds the session from the record (its time to live is renewed as it is used, so
//!   expiry is global), and DELETE removes it everywhere.
//! - Every SSE event is also appended to the shared event log (off the request path, through a
//!   bounded queue), and stream numbers are unique per replica, so `Last-Event-ID` resumes on
//!   any replica.
//! - The bus carries what must reach the replica that holds something: the client's response
//!   to a server-to-client request, `notifications/cancelled`, `list_changed` and
//!   `resources/updated` for every session, and the end of a session.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::sessions::HttpSession;
use super::{HttpOptions, Shared};
use crate::protocol::Encoded;
use crate::protocol::{Implementation, Incoming, ProtocolVersion, RequestId};
use crate::server::ServerCore;
use crate::server::dispatch::session::PendingReply;
use crate::server::registration::handle::Audience;
use crate::store::{SessionRecord, SharedState, StoreError};

/// Events waiting to be written to the shared event log.
const EVENT_QUEUE: usize = 8192;

/// The sequence number of a stream's marker event naming the request it answers.
pub(crate) const REQUEST_MARKER: u64 = 0;
/// The sequence number of the marker event that says a stream is finished.
pub(crate) const FINISHED_MARKER: u64 = u64::MAX;
/// How often a replica says it is alive, and how long that lasts.
const HEARTBEAT: Duration = Duration::from_secs(1);
const HEARTBEAT_TTL: Duration = Duration::from_secs(4);
/// How often a stream resumed on another replica than its own looks for new events.
const FOLLOW_PERIOD: Duration = Duration::from_millis(100);

/// How this replica takes part.
pub(crate) struct Scale {
    pub(crate) state: Arc<dyn SharedState>,
    /// Tells this replica's bus messages from the others'.
    replica: u64,
    /// This replica's POST streams are numbered from here (unique among replicas).
    pub(crate) stream_base: u64,
    writes: mpsc::Sender<EventWrite>,
    /// Bus messages to send, in order.
    outbox: mpsc::Sender<Vec<u8>>,
    /// How long a session record lives unused: the session idle timeout.
    pub(crate) ttl: Duration,
    /// How much of a session's events the shared log keeps.
    keep: crate::store::Keep,
    /// How long a shared budget's slot is held at most (a request's time limit).
    lease: Duration,
    /// Slots to give back, off the request path.
    releases: mpsc::Sender<(String, String)>,
}

struct EventWrite {
    session: Arc<str>,
    stream: u64,
    seq: u64,
    event: Bytes,
}

/// What replicas tell each other.
#[derive(Serialize, Deserialize)]
struct Envelope {
    from: u64,
    message: BusMessage,
}

#[derive(Serialize, Deserialize)]
enum BusMessage {
    /// The session ended (DELETE): drop it.
    Ended { session: String },
    /// The session's record changed (log level, subscriptions): read it again.
    Changed { session: String },
    /// The client's message (a response to a request of the server) for whoever waits.
    Response { session: String, message: String },
    /// `notifications/cancelled` for a request running somewhere.
    Cancel { session: String, request: RequestId },
    /// A notification for every session (`list_changed`, `resources/updated`), for those
    /// that may see the changed item.
    Notify {
        method: String,
        uri: Option<String>,
        #[serde(default)]
        audience: Audience,
    },
    /// `tasks/update` for the replica running the task.
    TaskUpdate {
        id: String,
        responses: serde_json::Value,
    },
    /// `tasks/cancel` for the replica running the task.
    TaskCancel { id: String },
    /// A change to what is served (`ServerHandle::disable_tool` and the like).
    Catalog { op: String, name: String },
}

use crate::store::fingerprint;

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    u64::from_le_bytes(bytes)
}

impl Scale {
    /// The shared state of `core` (the builder's, or Redis at `options.redis_url`), set up
    /// for this replica; `None` when there is none.
    pub(crate) async fn attach(
        core: &Arc<ServerCore>,
        options: &HttpOptions,
    ) -> Result<Option<Arc<Scale>>, crate::Error> {
        let Some(state) = Self::state_of(core, options)? else {
            return Ok(None);
        };
        share_state_key(core, &state).await;
        let (writes, mut queue) = mpsc::channel::<EventWrite>(EVENT_QUEUE);
        let (outbox, mut sending) = mpsc::channel::<Vec<u8>>(EVENT_QUEUE);
        let sender_state = Arc::clone(&state);
        tokio::spawn(async move {
            while let Some(payload) = sending.recv().await {
                if let Err(e) = sender_state.publish(payload).await {
                    tracing::warn!(error = %e, "a message to the other replicas was lost");
                }
            }
        });
        let (releases, mut releasing) = mpsc::channel::<(String, String)>(EVENT_QUEUE);
        let releaser = Arc::clone(&state);
        tokio::spawn(async move {
            while let Some((name, holder)) = releasing.recv().await {
                if let Err(e) = releaser.release(&name, &holder).await {
                    tracing::debug!(error = %e, "a budget slot is left to its lease");
                }
            }
        });
        let scale = Arc::new(Scale {
            lease: options.request_timeout.max(Duration::from_secs(1)),
            releases,
            outbox,
            state: Arc::clone(&state),
            replica: random_u64(),
            // 2^40 apart: a replica would need a trillion streams to reach the next one's.
            stream_base: (random_u64() & 0xF_FFFF) << 40,
            writes,
            ttl: options.session_idle_timeout,
            keep: crate::store::Keep {
                events: options.replay_buffer.max(1),
                stream_bytes: options.replay_bytes_per_stream,
                session_bytes: options.replay_bytes_per_session,
            },
        });
        let (ttl, keep) = (scale.ttl, scale.keep);
        let writer_state = Arc::clone(&state);
        tokio::spawn(async move {
            let mut failing = false;
            while let Some(w) = queue.recv().await {
                let written = writer_state
                    .append_event(&w.session, w.stream, w.seq, w.event, keep, ttl)
                    .await;
                match written {
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "SSE events are not reaching the shared event log");
                        failing = true;
                    }
                    Ok(()) if failing => {
                        tracing::info!("SSE events reach the shared event log again");
                        failing = false;
                    }
                    _ => {}
                }
            }
        });
        // The heartbeat: streams of a replica without one are reported lost, and so are
        // tasks whose snapshots stop coming.
        let beat = Arc::downgrade(&scale);
        let beat_core = Arc::downgrade(core);
        tokio::spawn(async move {
            loop {
                let (Some(scale), Some(core)) = (beat.upgrade(), beat_core.upgrade()) else {
                    return;
                };
                let key = heartbeat_key(scale.stream_base >> 40);
                let _ = scale.state.set_value(&key, b"1", HEARTBEAT_TTL).await;
                drop((scale, core));
                tokio::time::sleep(HEARTBEAT).await;
            }
        });
        let to_bus = Arc::downgrade(&scale);
        core.tasks.remote.connect(
            Arc::clone(&state),
            heartbeat_key(scale.stream_base >> 40),
            Box::new(move |op| {
                use crate::server::per_request::remote_tasks::RemoteOp;
                let Some(scale) = to_bus.upgrade() else {
                    return;
                };
                scale.publish(match op {
                    RemoteOp::Update { id, responses } => BusMessage::TaskUpdate { id, responses },
                    RemoteOp::Cancel { id } => BusMessage::TaskCancel { id },
                });
            }),
        );
        let replicating = Arc::downgrade(&scale);
        let _ = core.replicate.set(Box::new(move |op: &str, name: &str| {
            if let Some(scale) = replicating.upgrade() {
                scale.publish(BusMessage::Catalog {
                    op: op.to_string(),
                    name: name.to_string(),
                });
            }
        }));
        let weak = Arc::downgrade(&scale);
        let _ = core.fan_out.set(Box::new(
            move |method: &str, uri: Option<&str>, visibility| {
                if let Some(scale) = weak.upgrade() {
                    scale.publish(BusMessage::Notify {
                        method: method.to_string(),
                        uri: uri.map(str::to_string),
                        audience: Audience::from(visibility),
                    });
                }
            },
        ));
        Ok(Some(scale))
    }

    fn state_of(
        core: &ServerCore,
        options: &HttpOptions,
    ) -> Result<Option<Arc<dyn SharedState>>, crate::Error> {
        if let Some(state) = core.shared.get() {
            return Ok(Some(Arc::clone(state)));
        }
        let Some(url) = options.redis_url.as_deref() else {
            return Ok(None);
        };
        #[cfg(feature = "redis")]
        {
            let state: Arc<dyn SharedState> = Arc::new(
                crate::store::RedisState::open(url)
                    .map_err(|e| crate::Error::InvalidOption(format!("--redis-url: {e}")))?,
            );
            let _ = core.shared.set(Arc::clone(&state));
            Ok(Some(state))
        }
        #[cfg(not(feature = "redis"))]
        {
            let _ = url;
            Err(crate::Error::FeatureDisabled {
                feature: "redis",
                what: "`--redis-url` (MCP_REDIS_URL)",
            })
        }
    }

    /// Sends a message to the other replicas, off the request path.
    fn publish(&self, message: BusMessage) {
        let Ok(payload) = serde_json::to_vec(&Envelope {
            from: self.replica,
            message,
        }) else {
            return;
        };
        if self.outbox.try_send(payload).is_err() {
            tracing::warn!("the bus is behind: a message to the other replicas was dropped");
        }
    }

    /// Counts a request of `http` that runs on against the session's budget of requests in
    /// flight, across replicas: the future, holding its slot until it ends (or is stopped),
    /// or the refusal the budget's end gets. While the store is unreachable the replica's
    /// own count alone applies.
    pub(crate) async fn admit(
        self: &Arc<Self>,
        http: &HttpSession,
        id: &RequestId,
        future: PendingReply,
    ) -> Result<PendingReply, Encoded> {
        let max = http.session.core.limits.max_requests_in_flight;
        let name = format!("f:{}", http.id);
        let holder = format!("{:x}:{id}", self.replica);
        match self.state.acquire(&name, &holder, max, self.lease).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(Encoded::error(
                    Some(id),
                    &crate::server::dispatch::session::too_many_requests(max),
                ));
            }
            Err(e) => {
                tracing::debug!(error = %e, "requests in flight counted on this replica alone");
                return Ok(future);
            }
        }
        let slot = Slot {
            scale: Arc::clone(self),
            name,
            holder,
        };
        Ok(Box::pin(async move {
            let _slot = slot;
            future.await
        }))
    }

    /// Appends an event to the shared log (dropped, with a warning, if the queue is full).
    pub(crate) fn mirror(&self, session: &Arc<str>, stream: u64, seq: u64, event: &Bytes) {
        let write = EventWrite {
            session: Arc::clone(session),
            stream,
            seq,
            event: event.clone(),
        };
        if self.writes.try_send(write).is_err() {
            tracing::warn!("the shared event log is behind: an SSE event was not shared");
        }
    }

    /// The record of a session as it is now.
    pub(crate) fn record(http: &HttpSession) -> SessionRecord {
        let session = &http.session;
        let mut subscriptions: Vec<String> = session
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        subscriptions.sort();
        SessionRecord {
            revision: session.protocol_version().as_str().to_string(),
            client_info: session
                .client_info()
                .and_then(|i| serde_json::to_value(i).ok())
                .unwrap_or_default(),
            capabilities: session.client_capabilities().cloned().unwrap_or_default(),
            principal: fingerprint(session.principal()),
            log_level: session.log_level.load(Ordering::Relaxed),
            subscriptions,
        }
    }

    /// Saves a session's record for every replica.
    pub(crate) async fn save(&self, http: &HttpSession) -> Result<(), StoreError> {
        let record = Self::record(http);
        self.state.save_session(&http.id, &record, self.ttl).await?;
        Ok(())
    }

    /// Saves a session's record after a change, and tells the other replicas.
    pub(crate) async fn changed(&self, http: &HttpSession) -> Result<(), StoreError> {
        self.save(http).await?;
        self.publish(BusMessage::Changed {
            session: http.id.to_string(),
        });
        Ok(())
    }

    /// Whether a session this replica holds still exists for all of them (it may have been
    /// ended or have expired elsewhere), its time to live renewed. While the store is
    /// unreachable the replica that holds a session goes on serving it.
    pub(crate) async fn still_exists(&self, http: &HttpSession) -> bool {
        match self.state.touch_session(&http.id, self.ttl).await {
            Ok(exists) => exists,
            Err(e) => {
                tracing::debug!(error = %e, "a session held here is served without the store");
                true
            }
        }
    }

    /// The session `id` rebuilt from its record, registered here; `None` if no replica knows
    /// it (or another caller opened it).
    pub(crate) async fn restore(
        &self,
        shared: &Shared,
        id: &str,
        principal: &crate::Principal,
        peer: Option<std::net::SocketAddr>,
    ) -> Result<Option<Arc<HttpSession>>, StoreError> {
        let Some(record) = self.state.load_session(id, self.ttl).await? else {
            return Ok(None);
        };
        if record.principal != fingerprint(principal) {
            tracing::warn!(
                caller = ?crate::escape::Escaped(principal.subject()),
                "a session id was presented by a caller other than the one that opened it"
            );
            return Ok(None);
        }
        let Some(version) = ProtocolVersion::parse(&record.revision) else {
            return Err(StoreError::new(format!(
                "a session record names a revision this replica does not speak ({:?})",
                record.revision
            )));
        };
        let http = shared.sessions.create_with_id(
            Arc::clone(&shared.core),
            peer.map(|p| p.ip()),
            principal.clone(),
            id.into(),
        );
        let info: Implementation = serde_json::from_value(record.client_info).unwrap_or_default();
        http.session.set_peer(version, info, record.capabilities);
        apply(&http, record.log_level, record.subscriptions);
        if let Some(peer) = peer {
            http.session.set_peer_addr(peer);
        }
        let http = shared.sessions.adopt(http);
        shared.core.register(&http.session);
        tracing::debug!(
            session = http.short_id(),
            "session taken over from another replica"
        );
        Ok(Some(http))
    }

    /// Ends a session on every replica.
    pub(crate) async fn end(&self, id: &str) -> Result<(), StoreError> {
        self.state.delete_session(id).await?;
        self.publish(BusMessage::Ended {
            session: id.to_string(),
        });
        Ok(())
    }

    /// What an incoming message means for the other replicas: a response the server is
    /// waiting for elsewhere, or a cancellation of a request running elsewhere.
    pub(crate) fn forward(&self, http: &HttpSession, message: &Incoming<'_>, text: &str) {
        match message {
            Incoming::Response { id, .. } => {
                let waited_here = http
                    .session
                    .outgoing
                    .waiting
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains_key(id);
                if !waited_here {
                    self.publish(BusMessage::Response {
                        session: http.id.to_string(),
                        message: text.to_string(),
                    });
                }
            }
            Incoming::Notification { method, params } if method == "notifications/cancelled" => {
                if let Ok(p) = crate::server::dispatch::session::parse_params::<
                    crate::protocol::CancelledParams,
                >(*params)
                {
                    self.publish(BusMessage::Cancel {
                        session: http.id.to_string(),
                        request: p.request_id,
                    });
                }
            }
            _ => {}
        }
    }

    /// The events of stream `stream` of session `id` after `after`, from the shared log
    /// (markers left out); `None` if the log has no such stream.
    pub(crate) async fn events(
        &self,
        id: &str,
        stream: u64,
        after: u64,
    ) -> Result<Option<Vec<(u64, Bytes)>>, StoreError> {
        let all = self.state.events(id, stream).await?;
        if all.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            all.into_iter()
                .filter(|(seq, _)| *seq > after && *seq != FINISHED_MARKER)
                .collect(),
        ))
    }

    /// Follows stream `stream` of another replica on `live`, from the shared log: what came
    /// after `after`, then what comes, until the stream finishes, the client goes away, or
    /// `limit` passes. If the replica running the request stops, the client gets an error
    /// response for it rather than waiting forever.
    pub(crate) fn follow(
        self: &Arc<Self>,
        session: Arc<str>,
        stream: u64,
        mut after: u64,
        live: super::sse::Live,
        limit: Duration,
    ) {
        let scale = Arc::clone(self);
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + limit;
            let owner = heartbeat_key(stream >> 40);
            let mut checked = tokio::time::Instant::now();
            let mut request: Option<RequestId> = None;
            loop {
                let Ok(all) = scale.state.events(&session, stream).await else {
                    // The store is unreachable: the stream ends, and the client retries.
                    return;
                };
                let mut finished = false;
                for (seq, event) in all {
                    match seq {
                        REQUEST_MARKER => request = serde_json::from_slice(&event).ok(),
                        FINISHED_MARKER => finished = true,
                        seq if seq > after => {
                            after = seq;
                            // Gone, or too slow: the client resumes from the shared log.
                            if super::sse::send(&live, event) != super::sse::Sent::Queued {
                                return;
                            }
                        }
                        _ => {}
                    }
                }
                if finished || live.is_closed() || tokio::time::Instant::now() > deadline {
                    return;
                }
                if checked.elapsed() >= HEARTBEAT {
                    checked = tokio::time::Instant::now();
                    if let Ok(None) = scale.state.get_value(&owner).await {
                        let error = crate::protocol::ErrorObject::new(
                            crate::protocol::code::INTERNAL_ERROR,
                            "the server replica running this request stopped before it \
                             answered; the result is lost: send the request again",
                        );
                        let message = crate::protocol::encode_error(request.as_ref(), &error);
                        let id = format!("{stream}-{}", after + 1);
                        let _ = super::sse::send(&live, super::sse::event(Some(&id), &message));
                        tracing::info!(
                            stream,
                            "a resumed stream's replica is gone: its request was reported lost"
                        );
                        return;
                    }
                }
                tokio::time::sleep(FOLLOW_PERIOD).await;
            }
        });
    }
}

/// Whether a stream number names a replica's GET stream: its base, the low 40 bits zero
/// (POST streams count up from it).
pub(crate) fn is_listen_stream(stream: u64) -> bool {
    stream & 0xFF_FFFF_FFFF == 0
}

/// A slot of a shared budget, given back when dropped.
struct Slot {
    scale: Arc<Scale>,
    name: String,
    holder: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (name, holder) = (
            std::mem::take(&mut self.name),
            std::mem::take(&mut self.holder),
        );
        if self.scale.releases.try_send((name, holder)).is_err() {
            // Its lease ends it.
            tracing::debug!("a budget slot is left to its lease");
        }
    }
}

fn heartbeat_key(tag: u64) -> String {
    format!("replica:{tag}")
}

fn apply(http: &HttpSession, log_level: u8, subscriptions: Vec<String>) {
    http.session.log_level.store(log_level, Ordering::Relaxed);
    *http
        .session
        .subscriptions
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = subscriptions.into_iter().collect();
}

/// Every replica seals `requestState` with one key: the store's, set by the first replica
/// to start (unless the builder was given a key). While the store is unreachable this
/// replica keeps trying in the background, and seals with its own key meanwhile.
async fn share_state_key(core: &Arc<ServerCore>, state: &Arc<dyn SharedState>) {
    if core.per_request.state_key_set {
        return;
    }
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).expect("the operating system's random source");
    let try_once = {
        let state = Arc::clone(state);
        move || {
            let state = Arc::clone(&state);
            async move { state.get_or_set("request-state-key", &fresh).await }
        }
    };
    match try_once().await {
        Ok(key) => {
            let _ = core.shared_state_key.set(key.into());
        }
        Err(e) => {
            tracing::warn!(error = %e, "the shared requestState key is not available yet; retrying");
            let weak = Arc::downgrade(core);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let Some(core) = weak.upgrade() else { return };
                    if let Ok(key) = try_once().await {
                        let _ = core.shared_state_key.set(key.into());
                        tracing::info!("the shared requestState key is in use");
                        return;
                    }
                }
            });
        }
    }
}

/// Acts on what the other replicas say, until the server stops.
pub(crate) async fn listen(shared: Arc<Shared>, scale: Arc<Scale>) {
    let mut bus = scale.state.subscribe();
    while let Some(payload) = bus.recv().await {
        let Ok(envelope) = serde_json::from_slice::<Envelope>(&payload) else {
            tracing::debug!("an unreadable bus message ignored");
            continue;
        };
        if envelope.from == scale.replica {
            continue;
        }
        match envelope.message {
            BusMessage::Ended { session } => {
                if let Some(http) = shared.sessions.remove(&session) {
                    http.close().await;
                    tracing::debug!(
                        session = http.short_id(),
                        "session ended on another replica"
                    );
                }
            }
            BusMessage::Changed { session } => {
                let Some(http) = shared.sessions.peek(&session) else {
                    continue;
                };
                match scale.state.load_session(&session, scale.ttl).await {
                    Ok(Some(record)) => apply(&http, record.log_level, record.subscriptions),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "a changed session could not be read"),
                }
            }
            BusMessage::Response { session, message } => {
                let Some(http) = shared.sessions.peek(&session) else {
                    continue;
                };
                if let Ok(Incoming::Response { id, result }) = Incoming::parse(&message) {
                    let waited_here = http
                        .session
                        .outgoing
                        .waiting
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .contains_key(&id);
                    if waited_here {
                        http.session.outgoing.answer(&id, result);
                    }
                }
            }
            BusMessage::Cancel { session, request } => {
                if let Some(http) = shared.sessions.peek(&session) {
                    http.session.cancel(&request);
                }
            }
            BusMessage::TaskUpdate { id, responses } => {
                shared.core.tasks.apply_remote(&id, Some(&responses));
            }
            BusMessage::TaskCancel { id } => shared.core.tasks.apply_remote(&id, None),
            BusMessage::Catalog { op, name } => {
                crate::server::registration::handle::apply_catalog_change(&shared.core, &op, &name);
            }
            BusMessage::Notify {
                method,
                uri,
                audience,
            } => {
                crate::server::registration::handle::deliver_fanned_out(
                    &shared.core,
                    &method,
                    uri.as_deref(),
                    &audience,
                );
            }
        }
    }
}
