//! The bounded queue between a session and whatever writes its messages to the client.
//!
//! Slow-consumer policy. The queue holds at most [`SessionLimits::max_queued_messages`]
//! messages and [`SessionLimits::max_queued_bytes`] bytes (one message always fits in an empty
//! queue, however large).
//!
//! * The serve loops of the line transports wait, before they read the next message, until
//!   the queue is below half of both bounds: a client that stops reading stops being read,
//!   and its ready answers wait in the queue, not in ever more memory.
//! * Everything else is queued without waiting (a broadcast, a handler's notification, the
//!   answer of a spawned request cannot wait for one slow client). A message that finds the
//!   queue full means the client is a whole queue behind: the sink is closed, which closes
//!   the session. What was queued is dropped, the transport ends the connection (so the
//!   client sees its requests fail, nothing is lost silently), the requests in flight are
//!   cancelled, and a warning is logged.
//!
//! [`SessionLimits::max_queued_messages`]: crate::SessionLimits::max_queued_messages
//! [`SessionLimits::max_queued_bytes`]: crate::SessionLimits::max_queued_bytes

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::{Notify, mpsc};

/// A send on a closed sink: the client went away or fell a whole queue behind.
#[derive(Debug)]
pub(crate) struct Closed;

/// What the two ends of one queue share.
#[derive(Debug)]
struct Budget {
    messages: AtomicUsize,
    bytes: AtomicUsize,
    max_messages: usize,
    max_bytes: usize,
    closed: AtomicBool,
    /// Woken when the queue is closed.
    gone: Notify,
    /// Woken when the consumer takes a message while a serve loop waits for room.
    room: Notify,
    waiting: AtomicBool,
}

impl Budget {
    fn has_room(&self) -> bool {
        self.messages.load(Ordering::Acquire) <= self.max_messages / 2
            && self.bytes.load(Ordering::Acquire) <= self.max_bytes / 2
    }

    fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.gone.notify_waiters();
            self.room.notify_waiters();
        }
    }
}

/// Where a connection's (or one request's) outgoing messages go: one serialized JSON-RPC
/// message per item; an empty item tells the transport to end the stream.
///
/// Either a bounded queue its transport reads, or a function that takes each message at once
/// on the thread that sends it (HTTP's GET stream: its replay buffer, bounded in bytes, needs
/// no queue and no task of its own per idle session).
#[derive(Clone)]
pub(crate) struct Outbound(Sink);

#[derive(Clone)]
enum Sink {
    Queue {
        tx: mpsc::UnboundedSender<Vec<u8>>,
        budget: Arc<Budget>,
    },
    Direct(Arc<TakeMessage>),
}

/// What takes a message at once; gives it back when nothing takes messages any more.
pub(crate) type TakeMessage = dyn Fn(Vec<u8>) -> Result<(), Vec<u8>> + Send + Sync;

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Sink::Queue { budget, .. } => f.debug_tuple("Outbound").field(budget).finish(),
            Sink::Direct(_) => f.write_str("Outbound(direct)"),
        }
    }
}

/// The consuming end of an [`Outbound`].
#[derive(Debug)]
pub(crate) struct OutboundRx {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    budget: Arc<Budget>,
}

/// A queue of at most `max_messages` messages and `max_bytes` bytes.
pub(crate) fn channel(max_messages: usize, max_bytes: usize) -> (Outbound, OutboundRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(Budget {
        messages: AtomicUsize::new(0),
        bytes: AtomicUsize::new(0),
        max_messages: max_messages.max(2),
        max_bytes: max_bytes.max(2),
        closed: AtomicBool::new(false),
        gone: Notify::new(),
        room: Notify::new(),
        waiting: AtomicBool::new(false),
    });
    (
        Outbound(Sink::Queue {
            tx,
            budget: Arc::clone(&budget),
        }),
        OutboundRx { rx, budget },
    )
}

/// A queue bounded by the server's [`SessionLimits`](crate::SessionLimits).
pub(crate) fn for_session(limits: &crate::SessionLimits) -> (Outbound, OutboundRx) {
    channel(limits.max_queued_messages, limits.max_queued_bytes)
}

impl Outbound {
    /// A sink that hands each message to `take` at once.
    pub(crate) fn direct(take: Arc<TakeMessage>) -> Outbound {
        Outbound(Sink::Direct(take))
    }

    /// Queues `bytes` without waiting; closes the sink (and fails) when the queue is full.
    pub(crate) fn send(&self, bytes: Vec<u8>) -> Result<(), Closed> {
        let (tx, b) = match &self.0 {
            Sink::Queue { tx, budget } => (tx, budget),
            Sink::Direct(take) => return take(bytes).map_err(|_| Closed),
        };
        if b.closed.load(Ordering::Acquire) {
            return Err(Closed);
        }
        let len = bytes.len();
        let messages = b.messages.fetch_add(1, Ordering::AcqRel) + 1;
        let total = b.bytes.fetch_add(len, Ordering::AcqRel) + len;
        if messages > 1 && (messages > b.max_messages || total > b.max_bytes) {
            b.messages.fetch_sub(1, Ordering::AcqRel);
            b.bytes.fetch_sub(len, Ordering::AcqRel);
            tracing::warn!(
                queued_messages = messages - 1,
                queued_bytes = total - len,
                "messages for a client pile up faster than they are written (a client that \
                 reads too slowly): a whole queue waits, so its stream and session are closed \
                 (raise SessionLimits::max_queued_messages or max_queued_bytes if it is honest)"
            );
            b.close();
            return Err(Closed);
        }
        tx.send(bytes).map_err(|_| {
            b.messages.fetch_sub(1, Ordering::AcqRel);
            b.bytes.fetch_sub(len, Ordering::AcqRel);
            Closed
        })
    }

    /// Whether the sink was closed (the client fell a whole queue behind, or the consumer is
    /// gone). A direct sink is never closed here: its owner ends with the session.
    pub(crate) fn is_closed(&self) -> bool {
        match &self.0 {
            Sink::Queue { tx, budget } => budget.closed.load(Ordering::Acquire) || tx.is_closed(),
            Sink::Direct(_) => false,
        }
    }

    /// Waits until the queue is below half of its bounds (at once, usually; always for a
    /// direct sink). Fails when the sink is closed.
    pub(crate) async fn room(&self) -> Result<(), Closed> {
        let b = match &self.0 {
            Sink::Queue { budget, .. } => budget,
            Sink::Direct(_) => return Ok(()),
        };
        loop {
            if b.closed.load(Ordering::Acquire) {
                return Err(Closed);
            }
            if b.has_room() {
                return Ok(());
            }
            let notified = b.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            b.waiting.store(true, Ordering::Release);
            if b.closed.load(Ordering::Acquire) {
                return Err(Closed);
            }
            if b.has_room() {
                return Ok(());
            }
            notified.await;
        }
    }

    /// Completes when the sink is closed by the slow-consumer policy (never, for a direct
    /// sink).
    pub(crate) async fn overflowed(&self) {
        match &self.0 {
            Sink::Queue { budget, .. } => closed(budget).await,
            Sink::Direct(_) => std::future::pending().await,
        }
    }
}

/// Completes when the queue is closed by the slow-consumer policy.
async fn closed(b: &Budget) {
    loop {
        let notified = b.gone.notified();
        if b.closed.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }
}

impl OutboundRx {
    fn took(&self, message: &[u8]) {
        let b = &self.budget;
        b.messages.fetch_sub(1, Ordering::AcqRel);
        b.bytes.fetch_sub(message.len(), Ordering::AcqRel);
        if b.waiting.load(Ordering::Acquire) && b.has_room() {
            b.waiting.store(false, Ordering::Release);
            b.room.notify_waiters();
        }
    }

    /// The next message; `None` once every sender is gone, or at once when the sink was
    /// closed for a slow consumer (what was queued is dropped).
    pub(crate) async fn recv(&mut self) -> Option<Vec<u8>> {
        if self.budget.closed.load(Ordering::Acquire) {
            return None;
        }
        let budget = Arc::clone(&self.budget);
        let message = tokio::select! {
            biased;
            m = self.rx.recv() => m?,
            () = closed(&budget) => return None,
        };
        self.took(&message);
        Some(message)
    }

    /// The next message if one is queued.
    pub(crate) fn try_recv(&mut self) -> Result<Vec<u8>, mpsc::error::TryRecvError> {
        if self.budget.closed.load(Ordering::Acquire) {
            return Err(mpsc::error::TryRecvError::Disconnected);
        }
        let message = self.rx.try_recv()?;
        self.took(&message);
        Ok(message)
    }

    /// [`OutboundRx::recv`] for a thread outside the runtime.
    pub(crate) fn blocking_recv(&mut self) -> Option<Vec<u8>> {
        if self.budget.closed.load(Ordering::Acquire) {
            return None;
        }
        let message = self.rx.blocking_recv()?;
        if self.budget.closed.load(Ordering::Acquire) {
            return None;
        }
        self.took(&message);
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_closes_the_sink_and_ends_the_consumer() {
        let (tx, mut rx) = channel(4, 1 << 20);
        for i in 0..4u8 {
            tx.send(vec![i]).unwrap();
        }
        assert!(tx.send(vec![9]).is_err(), "the fifth message overflows");
        assert!(tx.is_closed());
        assert!(tx.send(vec![10]).is_err(), "a closed sink stays closed");
        assert_eq!(rx.recv().await, None, "queued messages are dropped");
        tokio::time::timeout(std::time::Duration::from_secs(1), tx.overflowed())
            .await
            .expect("overflowed completes");
    }

    #[tokio::test]
    async fn bytes_count_too_but_one_message_always_fits() {
        let (tx, mut rx) = channel(100, 10);
        tx.send(vec![0; 50]).unwrap();
        assert_eq!(rx.recv().await.map(|m| m.len()), Some(50));
        tx.send(vec![0; 6]).unwrap();
        assert!(tx.send(vec![0; 6]).is_err(), "12 bytes are over 10");
    }

    #[tokio::test]
    async fn room_waits_for_the_consumer() {
        let (tx, mut rx) = channel(4, 1 << 20);
        for i in 0..3u8 {
            tx.send(vec![i]).unwrap();
        }
        let waiter = {
            let tx = tx.clone();
            tokio::spawn(async move { tx.room().await.is_ok() })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "three of four is over half");
        rx.recv().await.unwrap();
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
                .await
                .expect("woken")
                .unwrap()
        );
    }
}
