//! The deprecated HTTP+SSE transport of MCP 2024-11-05 (`--legacy-sse`), for clients that
//! speak nothing newer: `GET /sse` opens a session and its stream, whose first event,
//! `endpoint`, names where to POST (`/messages?session_id=…`); each POST is answered `202`
//! and what the server says (responses included) comes on the stream as `message` events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hyper::body::Bytes;
use tokio::sync::mpsc;

use crate::server::dispatch::session::{Reply, Session};

/// The legacy sessions, by id, at most `max` of them.
#[derive(Default)]
pub(crate) struct LegacySessions {
    map: Mutex<HashMap<Arc<str>, Arc<Session>>>,
}

impl LegacySessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Session>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a session for `principal`; its stream's frames come on the returned receiver
    /// (the `endpoint` event first), a queue of `queue` events. `None` when `max` sessions
    /// are open.
    ///
    /// This transport has no resumption: a client that reads so slowly that its queue fills
    /// loses its stream, and with it the session, rather than have the server hold ever more
    /// for it.
    pub(crate) fn open(
        self: &Arc<Self>,
        core: Arc<crate::server::ServerCore>,
        principal: crate::Principal,
        max: usize,
        queue: usize,
    ) -> Option<mpsc::Receiver<Bytes>> {
        let (out, mut said) = crate::server::dispatch::outbound::for_session(&core.limits);
        let id: Arc<str> = crate::protocol::random_id().into();
        let session = Session::new_for(core, out, principal);
        session.set_id(Arc::clone(&id));
        {
            let mut map = self.lock();
            if map.len() >= max {
                return None;
            }
            map.insert(Arc::clone(&id), Arc::clone(&session));
        }
        let (live, frames) = mpsc::channel(queue.max(2));
        let _ = live.try_send(Bytes::from(format!(
            "event: endpoint\ndata: /messages?session_id={id}\n\n"
        )));
        // Forwards what the session says to the stream until either ends; then the session
        // is gone.
        let sessions = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    message = said.recv() => match message {
                        Some(m) => match super::sse::send(&live, message_event(&m)) {
                            super::sse::Sent::Queued => {}
                            super::sse::Sent::Gone => break,
                            super::sse::Sent::TooSlow => {
                                tracing::warn!(
                                    "a 2024-11-05 SSE client reads too slowly: its stream and session are closed"
                                );
                                break;
                            }
                        },
                        None => break,
                    },
                    () = live.closed() => break,
                }
            }
            let removed = sessions.lock().remove(&id);
            if let Some(session) = removed {
                session.drain(std::time::Duration::ZERO).await;
            }
        });
        Some(frames)
    }

    /// The session `id` names, if `principal` opened it.
    pub(crate) fn get(&self, id: &str, principal: &crate::Principal) -> Option<Arc<Session>> {
        let session = self.lock().get(id).cloned()?;
        session
            .principal()
            .same_caller(principal)
            .then_some(session)
    }

    /// Ends every stream (at shutdown).
    pub(crate) fn close_all(&self) {
        self.lock().clear();
    }
}

/// A `message` event carrying one JSON-RPC message.
fn message_event(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(message.len() + 24);
    out.extend_from_slice(b"event: message\n");
    for line in message.split(|&b| b == b'\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
    Bytes::from(out)
}

/// Hands one POSTed message to `session`; its answer goes to the stream.
pub(crate) fn deliver(session: &Arc<Session>, caller: crate::auth::principal::Caller, text: &str) {
    let reply = crate::auth::principal::with_caller(caller, || {
        session.handle_message(text, session.outbound())
    });
    match reply {
        Reply::None => {}
        Reply::Now(encoded) => session.send(encoded.bytes),
        Reply::Later(id, fut) => {
            let s = Arc::clone(session);
            session.spawn_request(id, fut, move |encoded| s.send(encoded.bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_message_events() {
        assert_eq!(
            &super::message_event(br#"{"a":1}"#)[..],
            b"event: message\ndata: {\"a\":1}\n\n"
        );
    }
}
