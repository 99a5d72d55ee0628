//! [`MemoryState`]: shared state in this process's memory.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::*;

/// How many bus messages a subscriber may have waiting.
pub(crate) const BUS_QUEUE: usize = 4096;
/// The most named values (and the most session records) kept.
const MAX_ENTRIES: usize = 100_000;

/// Shared state in memory: for one process, or several servers in one process (one
/// `Arc<MemoryState>` handed to each). Nothing survives the process. Expired entries are
/// dropped when next read and whenever the table is written.
#[derive(Default)]
pub struct MemoryState {
    inner: Mutex<Inner>,
}

/// A stream's kept events, until when, and when it began (whole streams of a session go
/// oldest first).
type Kept = (VecDeque<(u64, Bytes)>, Instant, Instant);

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, (SessionRecord, Instant)>,
    events: HashMap<(String, u64), Kept>,
    values: HashMap<String, (Vec<u8>, Option<Instant>)>,
    /// Budgets' held slots, each until its lease runs out.
    budgets: HashMap<String, HashMap<String, Instant>>,
    subscribers: Vec<mpsc::Sender<Vec<u8>>>,
}

impl std::fmt::Debug for MemoryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryState").finish_non_exhaustive()
    }
}

impl MemoryState {
    /// An empty store.
    pub fn new() -> MemoryState {
        MemoryState::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn sweep(&mut self, now: Instant) {
        self.sessions.retain(|_, (_, until)| *until > now);
        self.events.retain(|_, (_, until, _)| *until > now);
        self.values
            .retain(|_, (_, until)| until.is_none_or(|u| u > now));
        self.budgets.retain(|_, held| {
            held.retain(|_, until| *until > now);
            !held.is_empty()
        });
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl SessionStore for MemoryState {
    fn save_session<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.sweep(now);
        inner
            .sessions
            .insert(id.to_string(), (record.clone(), now + ttl));
        ready(())
    }

    fn load_session<'a>(
        &'a self,
        id: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<SessionRecord>> {
        let now = Instant::now();
        let mut inner = self.lock();
        let found = match inner.sessions.get_mut(id) {
            Some((record, until)) if *until > now => {
                *until = now + ttl;
                Some(record.clone())
            }
            _ => None,
        };
        ready(found)
    }

    fn touch_session<'a>(&'a self, id: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        let now = Instant::now();
        let mut inner = self.lock();
        let found = match inner.sessions.get_mut(id) {
            Some((_, until)) if *until > now => {
                *until = now + ttl;
                true
            }
            _ => false,
        };
        ready(found)
    }

    fn delete_session<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        let mut inner = self.lock();
        let existed = inner.sessions.remove(id).is_some();
        inner.events.retain(|(s, _), _| s != id);
        let prefix = value_key(id, "");
        inner.values.retain(|k, _| !k.starts_with(&prefix));
        ready(existed)
    }
}

impl EventLog for MemoryState {
    fn append_event<'a>(
        &'a self,
        session: &'a str,
        stream: u64,
        seq: u64,
        event: Bytes,
        keep: Keep,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let now = Instant::now();
        let mut inner = self.lock();
        let (events, until, _) = inner
            .events
            .entry((session.to_string(), stream))
            .or_insert_with(|| (VecDeque::new(), now, now));
        events.push_back((seq, event));
        let mut bytes: usize = events.iter().map(|(_, e)| e.len()).sum();
        while events.len() > 1 && (events.len() > keep.events.max(1) || bytes > keep.stream_bytes) {
            if let Some((_, old)) = events.pop_front() {
                bytes -= old.len();
            }
        }
        *until = now + ttl;
        // The session's bytes: whole older streams go, oldest first.
        loop {
            let mine = inner.events.iter().filter(|((s, _), _)| s == session);
            let total: usize = mine
                .clone()
                .flat_map(|(_, (e, _, _))| e.iter().map(|(_, b)| b.len()))
                .sum();
            if total <= keep.session_bytes {
                break;
            }
            let oldest = mine
                .filter(|((_, n), _)| *n != stream)
                .min_by_key(|(_, (_, _, began))| *began)
                .map(|(k, _)| k.clone());
            let Some(oldest) = oldest else { break };
            inner.events.remove(&oldest);
        }
        ready(())
    }

    fn events<'a>(&'a self, session: &'a str, stream: u64) -> StoreFuture<'a, Vec<(u64, Bytes)>> {
        let now = Instant::now();
        let inner = self.lock();
        let events = inner
            .events
            .get(&(session.to_string(), stream))
            .filter(|(_, until, _)| *until > now)
            .map(|(events, _, _)| events.iter().cloned().collect())
            .unwrap_or_default();
        ready(events)
    }
}

impl Bus for MemoryState {
    fn publish(&self, payload: Vec<u8>) -> StoreFuture<'_, ()> {
        let mut inner = self.lock();
        inner.subscribers.retain(|s| !s.is_closed());
        for s in &inner.subscribers {
            if s.try_send(payload.clone()).is_err() {
                tracing::warn!("a replica's bus queue is full: a message was dropped");
            }
        }
        ready(())
    }

    fn subscribe(&self) -> mpsc::Receiver<Vec<u8>> {
        let (tx, rx) = mpsc::channel(BUS_QUEUE);
        self.lock().subscribers.push(tx);
        rx
    }
}

impl ValueStore for MemoryState {
    fn get_or_set<'a>(&'a self, name: &'a str, fresh: &'a [u8]) -> StoreFuture<'a, Vec<u8>> {
        let mut inner = self.lock();
        let value = inner
            .values
            .entry(name.to_string())
            .or_insert_with(|| (fresh.to_vec(), None))
            .0
            .clone();
        ready(value)
    }

    fn get_value<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let now = Instant::now();
        let value = self
            .lock()
            .values
            .get(name)
            .filter(|(_, until)| until.is_none_or(|u| u > now))
            .map(|(v, _)| v.clone());
        ready(value)
    }

    fn set_value<'a>(
        &'a self,
        name: &'a str,
        value: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.sweep(now);
        if inner.values.len() >= MAX_ENTRIES && !inner.values.contains_key(name) {
            return Box::pin(std::future::ready(Err(StoreError::new(format!(
                "the in-memory store holds {MAX_ENTRIES} values, its limit"
            )))));
        }
        inner
            .values
            .insert(name.to_string(), (value.to_vec(), Some(now + ttl)));
        ready(())
    }
}

impl Budgets for MemoryState {
    fn acquire<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        max: usize,
        lease: Duration,
    ) -> StoreFuture<'a, bool> {
        let now = Instant::now();
        let mut inner = self.lock();
        if !inner.budgets.contains_key(name) && inner.budgets.len() >= MAX_ENTRIES {
            inner.sweep(now);
            if inner.budgets.len() >= MAX_ENTRIES {
                return Box::pin(std::future::ready(Err(StoreError::new(format!(
                    "the in-memory store holds {MAX_ENTRIES} budgets, its limit"
                )))));
            }
        }
        let held = inner.budgets.entry(name.to_string()).or_default();
        held.retain(|_, until| *until > now);
        let taken = held.contains_key(holder) || held.len() < max;
        if taken {
            held.insert(holder.to_string(), now + lease);
        }
        ready(taken)
    }

    fn release<'a>(&'a self, name: &'a str, holder: &'a str) -> StoreFuture<'a, ()> {
        let mut inner = self.lock();
        if let Some(held) = inner.budgets.get_mut(name) {
            held.remove(holder);
            if held.is_empty() {
                inner.budgets.remove(name);
            }
        }
        ready(())
    }
}

impl SharedState for MemoryState {
    fn healthy(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(std::future::ready(true))
    }

    fn session_bytes<'a>(&'a self, id: &'a str) -> StoreFuture<'a, u64> {
        let inner = self.lock();
        let record = inner.sessions.get(id).map_or(0, |(r, _)| {
            serde_json::to_vec(r).map_or(0, |v| v.len() as u64)
        });
        let events: u64 = inner
            .events
            .iter()
            .filter(|((s, _), _)| s == id)
            .flat_map(|(_, (e, _, _))| e.iter().map(|(_, b)| b.len() as u64))
            .sum();
        ready(record + events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now<T>(f: StoreFuture<'_, T>) -> T {
        poll_once(f).expect("the in-memory store answers")
    }

    /// The in-memory store's futures are ready at once.
    fn poll_once<T>(mut f: StoreFuture<'_, T>) -> Result<T, StoreError> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => panic!("an in-memory store future was pending"),
        }
    }

    #[test]
    fn a_budget_holds_max_slots_until_released_or_their_lease_ends() {
        let s = MemoryState::new();
        let lease = Duration::from_secs(60);
        assert!(now(s.acquire("f:s", "a", 2, lease)));
        assert!(now(s.acquire("f:s", "b", 2, lease)));
        assert!(!now(s.acquire("f:s", "c", 2, lease)), "the third slot");
        assert!(
            now(s.acquire("f:s", "a", 2, lease)),
            "a holder renews its own"
        );
        assert!(
            now(s.acquire("f:other", "c", 2, lease)),
            "budgets are apart"
        );
        now(s.release("f:s", "a"));
        assert!(now(s.acquire("f:s", "c", 2, lease)));
        // A lease that ended frees its slot (its holder's replica died, say).
        assert!(now(s.acquire("f:t", "x", 1, Duration::from_millis(1))));
        std::thread::sleep(Duration::from_millis(5));
        assert!(now(s.acquire("f:t", "y", 1, lease)));
    }

    #[test]
    fn the_event_log_keeps_streams_and_sessions_within_their_bytes() {
        let s = MemoryState::new();
        let keep = Keep {
            events: 10,
            stream_bytes: 2_500,
            session_bytes: 4_000,
        };
        let ttl = Duration::from_secs(60);
        let big = Bytes::from(vec![b'x'; 1_000]);
        for seq in 1..=5 {
            now(s.append_event("s", 1, seq, big.clone(), keep, ttl));
        }
        let seqs = |stream| -> Vec<u64> {
            now(s.events("s", stream))
                .into_iter()
                .map(|(q, _)| q)
                .collect()
        };
        assert_eq!(seqs(1), [4, 5], "2 500 bytes hold two events of 1 000");
        std::thread::sleep(Duration::from_millis(2));
        for seq in 1..=2 {
            now(s.append_event("s", 2, seq, big.clone(), keep, ttl));
        }
        assert_eq!(seqs(1), [4, 5]);
        now(s.append_event("s", 2, 3, Bytes::from(vec![b'y'; 1_500]), keep, ttl));
        // 4 500 bytes in the session: the older stream went, whole.
        assert!(seqs(1).is_empty());
        assert_eq!(seqs(2), [2, 3], "the stream within its 2 500 bytes");
        // One event larger than every bound is still kept.
        now(s.append_event("s", 2, 4, Bytes::from(vec![b'z'; 9_000]), keep, ttl));
        assert_eq!(seqs(2), [4]);
    }
}
