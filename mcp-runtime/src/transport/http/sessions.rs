//! HTTP sessions: their ids, lookup, idle expiry and the cap on how many exist; and each
//! session's SSE streams, kept for replay to a client that reconnects.
//!
//! A session's streams are numbered: 0 is the GET stream, for messages the server starts; every
//! POST answered with SSE gets the next number. With replicas, each numbers from its own base
//! (the GET stream is the base itself), so that ids stay unique across them. Event ids are `<stream>-<sequence>`, unique in
//! the session and naming their stream, so `Last-Event-ID` says which stream to resume and
//! from where. Each stream keeps its last [`HttpOptions::replay_buffer`] events; a finished
//! POST stream is kept (for a late resume) until [`FINISHED_KEPT`] newer ones finished.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use hyper::body::Bytes;

use super::sse;
use super::{HttpOptions, Shared};
use crate::server::ServerCore;
use crate::server::dispatch::session::{Outbound, Session};

/// Finished POST streams a session keeps for replay.
const FINISHED_KEPT: usize = 16;

/// The stream of messages the server starts (opened with GET).
const LISTEN_STREAM: u64 = 0;

/// Every live session of a server.
pub(crate) struct SessionStore {
    map: RwLock<HashMap<Arc<str>, Arc<HttpSession>>>,
    epoch: Instant,
    idle_timeout: Duration,
    max: usize,
    replay: usize,

    // Hardening against hostile clients.
    replay_bytes: ReplayBytes,
    /// Sessions per client address, and the most one may hold.
    by_address: Mutex<HashMap<IpAddr, usize>>,
    max_per_address: usize,
    unused_timeout: Duration,
    // ---- Scale out (issue 19)
    /// What this replica shares with the others, when it has replicas.
    scale: Option<Arc<super::scale::Scale>>,
}

/// Bytes of events kept for replay: per stream and per session.
#[derive(Clone, Copy)]
struct ReplayBytes {
    stream: usize,
    session: usize,
}

impl SessionStore {
    pub(crate) fn new(options: &HttpOptions) -> SessionStore {
        SessionStore {
            map: RwLock::new(HashMap::new()),
            epoch: Instant::now(),
            idle_timeout: options.session_idle_timeout,
            max: options.max_sessions,
            replay: options.replay_buffer.max(1),
            replay_bytes: ReplayBytes {
                stream: options.replay_bytes_per_stream,
                session: options.replay_bytes_per_session,
            },
            by_address: Mutex::new(HashMap::new()),
            max_per_address: options
                .max_sessions_per_address
                .unwrap_or((options.max_sessions / 10).max(options.max_sessions.min(100))),
            unused_timeout: options.unused_session_timeout,
            scale: None,
        }
    }

    /// Shares sessions and their events with other replicas.
    pub(crate) fn with_scale(mut self, scale: Option<Arc<super::scale::Scale>>) -> SessionStore {
        self.scale = scale;
        self
    }

    fn addresses(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.by_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `ip` holds as many sessions as one address may.
    pub(crate) fn address_is_full(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| {
            self.addresses()
                .get(&ip)
                .is_some_and(|&n| n >= self.max_per_address)
        })
    }

    /// Forgets a removed session's address.
    fn release(&self, session: &HttpSession) {
        let Some(ip) = session.peer else { return };
        let mut addresses = self.addresses();
        if let Some(n) = addresses.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                addresses.remove(&ip);
            }
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// A new session, not yet registered: it is registered with [`SessionStore::insert`] once
    /// its `initialize` succeeded.
    pub(crate) fn create(
        &self,
        core: Arc<ServerCore>,
        peer: Option<IpAddr>,
        principal: crate::Principal,
    ) -> Arc<HttpSession> {
        self.create_with_id(core, peer, principal, crate::protocol::random_id().into())
    }

    /// [`SessionStore::create`] under a given id (a session another replica started).
    pub(crate) fn create_with_id(
        &self,
        core: Arc<ServerCore>,
        peer: Option<IpAddr>,
        principal: crate::Principal,
        id: Arc<str>,
    ) -> Arc<HttpSession> {
        // What the session says outside any request goes to its GET stream, buffered for
        // replay while no GET is open: published by the sender itself, so that an idle
        // session holds no channel and no task.
        Arc::new_cyclic(|weak: &std::sync::Weak<HttpSession>| {
            let weak = weak.clone();
            let out = Outbound::direct(Arc::new(move |message: Vec<u8>| match weak.upgrade() {
                Some(http) => {
                    http.publish(LISTEN_STREAM, &message);
                    Ok(())
                }
                None => Err(message),
            }));
            let session = Session::new_for(core, out, principal);
            session.set_id(Arc::clone(&id));
            HttpSession {
                id,
                session,
                last_seen: AtomicU64::new(self.now()),
                streams: Mutex::new(Streams {
                    map: HashMap::from([(LISTEN_STREAM, Stream::default())]),
                    last: self.scale.as_ref().map_or(0, |s| s.stream_base),
                    ..Streams::default()
                }),
                replay: self.replay,
                replay_bytes: self.replay_bytes,
                peer,
                used_again: AtomicBool::new(false),
                listen_number: self.scale.as_ref().map_or(LISTEN_STREAM, |s| s.stream_base),
                mirror: self.scale.clone(),
            }
        })
    }

    /// Whether no more sessions may be started.
    pub(crate) fn is_full(&self) -> bool {
        self.read().len() >= self.max
    }

    /// Registers a session; gives it back when the cap is reached.
    pub(crate) fn insert(&self, session: Arc<HttpSession>) -> Result<(), Arc<HttpSession>> {
        let mut map = self.write();
        if map.len() >= self.max {
            return Err(session);
        }
        if let Some(ip) = session.peer {
            let mut addresses = self.addresses();
            let n = addresses.entry(ip).or_insert(0);
            if *n >= self.max_per_address {
                return Err(session);
            }
            *n += 1;
        }
        session.last_seen.store(self.now(), Ordering::Relaxed);
        map.insert(Arc::clone(&session.id), session);
        Ok(())
    }

    /// The session with this id, marked as used now.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<HttpSession>> {
        let session = self.read().get(id).cloned()?;
        session.last_seen.store(self.now(), Ordering::Relaxed);
        session.used_again.store(true, Ordering::Relaxed);
        Some(session)
    }

    /// The session with this id, if this replica holds it (not marked as used).
    pub(crate) fn peek(&self, id: &str) -> Option<Arc<HttpSession>> {
        self.read().get(id).cloned()
    }

    /// Registers a session rebuilt from its shared record, unless a concurrent request
    /// registered it first (that one is kept and returned). Past the cap it serves its
    /// request unregistered.
    pub(crate) fn adopt(&self, session: Arc<HttpSession>) -> Arc<HttpSession> {
        if let Some(existing) = self.read().get(&session.id) {
            return Arc::clone(existing);
        }
        {
            let map = self.read();
            if map.len() >= self.max {
                tracing::warn!(
                    "sessions are at the cap: one from another replica is served unregistered"
                );
                return session;
            }
        }
        let mut map = self.write();
        if let Some(existing) = map.get(&session.id) {
            return Arc::clone(existing);
        }
        if let Some(ip) = session.peer {
            *self.addresses().entry(ip).or_insert(0) += 1;
        }
        session.last_seen.store(self.now(), Ordering::Relaxed);
        session.used_again.store(true, Ordering::Relaxed);
        map.insert(Arc::clone(&session.id), Arc::clone(&session));
        session
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<HttpSession>> {
        let removed = self.write().remove(id);
        if let Some(s) = &removed {
            self.release(s);
        }
        removed
    }

    pub(crate) fn all(&self) -> Vec<Arc<HttpSession>> {
        self.read().values().cloned().collect()
    }

    /// Ends every open GET stream (at shutdown: they would never end by themselves), each
    /// with a last `retry` field, so that clients reconnect after `retry` (elsewhere).
    pub(crate) fn end_listening_streams(&self, retry: Duration) {
        for session in self.read().values() {
            if let Some(stream) = session.streams().map.get_mut(&LISTEN_STREAM)
                && let Some(live) = stream.live.take()
            {
                let _ = sse::send(&live, sse::retry_hint(retry));
            }
        }
    }

    /// Removes and returns the sessions idle for longer than the timeout with no stream open.
    fn take_expired(&self) -> Vec<Arc<HttpSession>> {
        let now = self.now();
        let limit = self.idle_timeout.as_millis() as u64;
        let unused_limit = limit.min(self.unused_timeout.as_millis() as u64);
        let expired: Vec<Arc<str>> = self
            .read()
            .values()
            .filter(|s| {
                let limit = if s.used_again.load(Ordering::Relaxed) {
                    limit
                } else {
                    unused_limit
                };
                now.saturating_sub(s.last_seen.load(Ordering::Relaxed)) > limit
                    && !s.has_open_stream()
            })
            .map(|s| Arc::clone(&s.id))
            .collect();
        if expired.is_empty() {
            return Vec::new();
        }
        let mut map = self.write();
        let removed: Vec<Arc<HttpSession>> =
            expired.iter().filter_map(|id| map.remove(id)).collect();
        drop(map);
        for s in &removed {
            self.release(s);
        }
        removed
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Arc<str>, Arc<HttpSession>>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Arc<str>, Arc<HttpSession>>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends idle sessions, forever; runs beside the server.
pub(crate) async fn reap(shared: Arc<Shared>) {
    let period = (shared
        .options
        .session_idle_timeout
        .min(shared.options.unused_session_timeout)
        / 2)
    .clamp(Duration::from_millis(50), Duration::from_secs(60));
    loop {
        tokio::time::sleep(period).await;
        for session in shared.sessions.take_expired() {
            tracing::info!(session = session.short_id(), "session expired");
            session.close().await;
        }
    }
}

/// One session of the HTTP transport: the MCP session and its SSE streams.
pub(crate) struct HttpSession {
    pub(crate) id: Arc<str>,
    pub(crate) session: Arc<Session>,
    /// Milliseconds since the store's epoch.
    last_seen: AtomicU64,
    streams: Mutex<Streams>,
    replay: usize,

    // Hardening against hostile clients.
    replay_bytes: ReplayBytes,
    /// The client address that started it.
    peer: Option<IpAddr>,
    /// A request came after `initialize`.
    used_again: AtomicBool,
    // ---- Scale out (issue 19)
    /// The number the GET stream's event ids carry: 0, or with replicas this replica's base
    /// (another replica's GET stream of the same session has its own).
    listen_number: u64,
    /// Where its events are shared with other replicas.
    mirror: Option<Arc<super::scale::Scale>>,
}

#[derive(Default)]
struct Streams {
    /// The number of the last POST stream opened.
    last: u64,
    map: HashMap<u64, Stream>,
    /// Finished POST streams, oldest first.
    finished: VecDeque<u64>,
    /// Bytes of the events kept for replay, in all streams.
    bytes: usize,
}

#[derive(Default)]
struct Stream {
    next_seq: u64,
    /// The last events, for replay.
    events: VecDeque<(u64, Bytes)>,
    /// Their bytes.
    bytes: usize,
    /// The connection the stream is delivered on, when one is open (a bounded queue: see
    /// [`sse::Live`]).
    live: Option<sse::Live>,
    /// The request was answered: nothing more will come.
    finished: bool,
    /// The first event published while no connection was open (the GET stream delivers
    /// these to the next GET).
    undelivered: Option<u64>,
}

impl Streams {
    /// Drops replay events until the session keeps at most `max` bytes: whole finished
    /// streams first, oldest first, then the oldest events of other streams; the newest event
    /// of stream `current` stays.
    fn trim(&mut self, max: usize, current: u64) {
        while self.bytes > max {
            if let Some(old) = self.finished.pop_front() {
                if let Some(s) = self.map.remove(&old) {
                    self.bytes -= s.bytes;
                }
                continue;
            }
            let victim = self
                .map
                .iter_mut()
                .filter(|(n, s)| !s.events.is_empty() && (**n != current || s.events.len() > 1))
                .max_by_key(|(_, s)| s.bytes);
            let Some((_, stream)) = victim else { return };
            if let Some((_, old)) = stream.events.pop_front() {
                stream.bytes -= old.len();
                self.bytes -= old.len();
            }
        }
    }
}

impl Stream {
    fn live(&self) -> Option<&sse::Live> {
        self.live.as_ref().filter(|l| !l.is_closed())
    }

    /// Sends the buffered events after `after` (all of them for `None`) to `to` (a fresh
    /// connection, whose queue holds a whole replay buffer).
    fn replay(&self, after: Option<u64>, to: &sse::Live) {
        for (seq, event) in &self.events {
            if after.is_none_or(|a| *seq > a) {
                let _ = sse::send(to, event.clone());
            }
        }
    }
}

/// Why a `Last-Event-ID` cannot be resumed.
#[derive(Debug)]
pub(crate) struct UnknownStream;

/// A GET stream is already open on the session.
#[derive(Debug)]
pub(crate) struct AlreadyListening;

impl HttpSession {
    /// The first characters of the id, enough to tell sessions apart in logs without logging
    /// the credential itself.
    pub(crate) fn short_id(&self) -> &str {
        &self.id[..8.min(self.id.len())]
    }

    /// The number stream `number` goes by in event ids.
    fn public_number(&self, number: u64) -> u64 {
        if number == LISTEN_STREAM {
            self.listen_number
        } else {
            number
        }
    }

    /// The stream an event id's number names here, if it is one of this replica's.
    fn local_number(&self, number: u64) -> Option<u64> {
        if number == self.listen_number {
            Some(LISTEN_STREAM)
        } else if number == LISTEN_STREAM {
            // Another replica's GET stream (its base is 0), never this one's.
            None
        } else {
            Some(number)
        }
    }

    fn streams(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens the SSE stream of a POST on `live`, and primes it.
    pub(crate) fn open_stream(&self, live: sse::Live, retry: Duration) -> u64 {
        let mut streams = self.streams();
        streams.last += 1;
        let number = streams.last;
        let _ = sse::send(&live, sse::priming(&format!("{number}-0"), retry));
        streams.map.insert(
            number,
            Stream {
                next_seq: 1,
                live: Some(live),
                ..Stream::default()
            },
        );
        number
    }

    /// Opens the GET stream on `live`: first what was said while nobody listened, or else a
    /// priming event.
    pub(crate) fn listen(&self, live: sse::Live, retry: Duration) -> Result<(), AlreadyListening> {
        let mut streams = self.streams();
        let stream = streams.map.entry(LISTEN_STREAM).or_default();
        if stream.live().is_some() {
            return Err(AlreadyListening);
        }
        match stream.undelivered.take() {
            Some(first) => stream.replay(first.checked_sub(1), &live),
            None => {
                let seq = stream.next_seq;
                stream.next_seq += 1;
                let _ = sse::send(
                    &live,
                    sse::priming(&format!("{}-{seq}", self.listen_number), retry),
                );
            }
        }
        stream.live = Some(live);
        Ok(())
    }

    /// Resumes stream `number` on `live` after event `after`: replays what came since, then
    /// goes on with what comes next (or ends, if the stream is finished).
    pub(crate) fn resume(
        &self,
        number: u64,
        after: u64,
        live: sse::Live,
    ) -> Result<(), UnknownStream> {
        let number = self.local_number(number).ok_or(UnknownStream)?;
        let mut streams = self.streams();
        let stream = streams.map.get_mut(&number).ok_or(UnknownStream)?;
        if after >= stream.next_seq {
            return Err(UnknownStream);
        }
        if let Some((oldest, _)) = stream.events.front()
            && *oldest > after + 1
        {
            tracing::warn!(
                session = self.short_id(),
                stream = number,
                lost = oldest - after - 1,
                "events past the replay buffer cannot be replayed"
            );
        }
        stream.replay(Some(after), &live);
        stream.undelivered = None;
        // A finished stream ends once replayed; otherwise this connection replaces any other.
        stream.live = (!stream.finished).then_some(live);
        Ok(())
    }

    /// Sends a message on a stream (and keeps it for replay).
    pub(crate) fn publish(&self, number: u64, message: &[u8]) {
        let replay = self.replay;
        let mut streams = self.streams();
        let Some(stream) = streams.map.get_mut(&number) else {
            return;
        };
        let seq = stream.next_seq;
        stream.next_seq += 1;
        let public = self.public_number(number);
        let event = sse::event(Some(&format!("{public}-{seq}")), message);
        let mut dropped = 0;
        while stream.events.len() >= replay
            || (!stream.events.is_empty() && stream.bytes + event.len() > self.replay_bytes.stream)
        {
            if let Some((_, old)) = stream.events.pop_front() {
                stream.bytes -= old.len();
                dropped += old.len();
            }
        }
        stream.bytes += event.len();
        if let Some(scale) = &self.mirror {
            scale.mirror(&self.id, public, seq, &event);
        }
        stream.events.push_back((seq, event.clone()));
        let sent = stream
            .live
            .as_ref()
            .map_or(sse::Sent::Gone, |l| sse::send(l, event.clone()));
        if sent != sse::Sent::Queued {
            // Dropping the sender ends the connection once it delivered what it queued; the
            // event stays in the replay buffer for a resume.
            stream.live = None;
            stream.undelivered.get_or_insert(seq);
            if sent == sse::Sent::TooSlow {
                sse::too_slow(&self.session.core, Some(self.short_id()), number);
            }
        }
        streams.bytes = streams.bytes + event.len() - dropped;
        streams.trim(self.replay_bytes.session, number);
    }

    /// Ends the connection a POST stream is delivered on; what follows is kept for the client
    /// to resume with `Last-Event-ID`.
    pub(crate) fn disconnect(&self, number: u64) {
        if let Some(stream) = self.streams().map.get_mut(&number) {
            stream.live = None;
        }
    }

    /// Marks a POST stream answered: its connection ends; its events stay for replay.
    pub(crate) fn finish(&self, number: u64) {
        let mut streams = self.streams();
        let Some(stream) = streams.map.get_mut(&number) else {
            return;
        };
        stream.finished = true;
        stream.live = None;
        if let Some(scale) = &self.mirror {
            scale.mirror(
                &self.id,
                number,
                super::scale::FINISHED_MARKER,
                &Bytes::new(),
            );
        }
        streams.finished.push_back(number);
        while streams.finished.len() > FINISHED_KEPT {
            if let Some(old) = streams.finished.pop_front()
                && let Some(s) = streams.map.remove(&old)
            {
                streams.bytes -= s.bytes;
            }
        }
    }

    /// Tells the shared event log which request stream `number` answers (its marker event,
    /// sequence 0), so that another replica can report it lost if this one dies.
    pub(crate) fn announce(&self, number: u64, request: &crate::protocol::RequestId) {
        if let Some(scale) = &self.mirror
            && let Ok(id) = serde_json::to_vec(request)
        {
            scale.mirror(
                &self.id,
                number,
                super::scale::REQUEST_MARKER,
                &Bytes::from(id),
            );
        }
    }

    /// Whether a client is connected to any of the session's streams.
    pub(crate) fn has_open_stream(&self) -> bool {
        self.streams().map.values().any(|s| s.live().is_some())
    }

    /// Ends the session: closes its streams and stops its requests.
    pub(crate) async fn close(&self) {
        {
            let mut streams = self.streams();
            streams.map.clear();
            streams.bytes = 0;
        }
        self.session.drain(Duration::ZERO).await;
    }
}

/// Parses a `Last-Event-ID`: `<stream>-<sequence>`.
pub(crate) fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (stream, seq) = id.trim().split_once('-')?;
    Some((stream.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Arc<HttpSession> {
        let store = SessionStore::new(&HttpOptions {
            replay_buffer: 3,
            ..HttpOptions::default()
        });
        store.create(
            crate::Server::empty("t").build().unwrap(),
            None,
            crate::Principal::local(),
        )
    }

    /// A connection's queue, roomier than any of these tests need.
    fn live() -> (sse::Live, tokio::sync::mpsc::Receiver<Bytes>) {
        tokio::sync::mpsc::channel(1024)
    }

    fn drain(rx: &mut tokio::sync::mpsc::Receiver<Bytes>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(b) = rx.try_recv() {
            out.push(String::from_utf8(b.to_vec()).unwrap());
        }
        out
    }

    #[tokio::test]
    async fn streams_replay_after_the_last_event_id() {
        let s = session();
        let (tx, mut rx) = live();
        let n = s.open_stream(tx, Duration::from_millis(5));
        assert_eq!(n, 1);
        assert_eq!(drain(&mut rx), ["id: 1-0\nretry: 5\ndata: \n\n"]);
        s.publish(n, b"a");
        drop(rx); // the client went away
        s.publish(n, b"b");
        s.publish(n, b"c");
        s.finish(n);
        let (tx, mut rx) = live();
        s.resume(n, 1, tx).unwrap();
        assert_eq!(
            drain(&mut rx),
            ["id: 1-2\ndata: b\n\n", "id: 1-3\ndata: c\n\n"]
        );
        // Finished: the replaying connection is not kept.
        assert!(rx.recv().await.is_none());
        assert!(s.resume(n, 9, live().0).is_err());
        assert!(s.resume(7, 0, live().0).is_err());
    }

    #[tokio::test]
    async fn the_replay_buffer_is_bounded() {
        let s = session();
        let (tx, _rx) = live();
        let n = s.open_stream(tx, Duration::from_secs(1));
        for m in ["1", "2", "3", "4", "5"] {
            s.publish(n, m.as_bytes());
        }
        let (tx, mut rx) = live();
        s.resume(n, 0, tx).unwrap();
        assert_eq!(
            drain(&mut rx),
            [
                "id: 1-3\ndata: 3\n\n",
                "id: 1-4\ndata: 4\n\n",
                "id: 1-5\ndata: 5\n\n"
            ]
        );
    }

    #[tokio::test]
    async fn the_get_stream_delivers_what_was_said_while_nobody_listened() {
        let s = session();
        let (tx, mut rx) = live();
        s.listen(tx.clone(), Duration::from_secs(1)).unwrap();
        assert_eq!(drain(&mut rx), ["id: 0-0\nretry: 1000\ndata: \n\n"]);
        assert!(s.listen(live().0, Duration::from_secs(1)).is_err());
        drop((tx, rx));
        s.publish(LISTEN_STREAM, b"while away");
        let (tx, mut rx) = live();
        s.listen(tx, Duration::from_secs(1)).unwrap();
        assert_eq!(drain(&mut rx), ["id: 0-1\ndata: while away\n\n"]);
        s.publish(LISTEN_STREAM, b"now");
        assert_eq!(drain(&mut rx), ["id: 0-2\ndata: now\n\n"]);

        // Before the first GET too.
        let s = session();
        s.publish(LISTEN_STREAM, b"early");
        let (tx, mut rx) = live();
        s.listen(tx, Duration::from_secs(1)).unwrap();
        assert_eq!(drain(&mut rx), ["id: 0-0\ndata: early\n\n"]);
    }

    #[tokio::test]
    async fn replay_is_bounded_in_bytes_per_stream_and_per_session() {
        let store = SessionStore::new(&HttpOptions {
            replay_bytes_per_stream: 3_000,
            replay_bytes_per_session: 4_000,
            ..HttpOptions::default()
        });
        let s = store.create(
            crate::Server::empty("t").build().unwrap(),
            None,
            crate::Principal::local(),
        );
        let big = vec![b'x'; 1_000];
        let (tx, _rx) = live();
        let first = s.open_stream(tx, Duration::from_secs(1));
        for _ in 0..10 {
            s.publish(first, &big);
        }
        let kept = |n: u64| s.streams().map.get(&n).map_or(0, |st| st.events.len());
        assert_eq!(kept(first), 2, "3 000 bytes hold two events of ~1 000");
        s.finish(first);
        let (tx, _rx2) = live();
        let second = s.open_stream(tx, Duration::from_secs(1));
        for _ in 0..3 {
            s.publish(second, &big);
        }
        // The session's 4 000 bytes: the finished stream went first, whole.
        assert_eq!(kept(first), 0);
        assert!(s.streams().bytes <= 4_000);
        // One event larger than every bound is still kept: the newest always is.
        s.publish(second, &vec![b'y'; 10_000]);
        assert_eq!(kept(second), 1);
        let accounted: usize = s.streams().map.values().map(|st| st.bytes).sum();
        assert_eq!(accounted, s.streams().bytes);
    }

    #[test]
    fn event_ids_round_trip() {
        assert_eq!(parse_event_id("3-17"), Some((3, 17)));
        assert_eq!(parse_event_id("x-1"), None);
        assert_eq!(parse_event_id("3"), None);
    }
}
