//! SSE responses to a POST: what the request says while it runs, then its result, into a
//! resumable stream of the session or a plain one.

use super::*;

/// Answers the POST with an SSE stream: `before` (already said), then whatever the request
/// says next, then its result. With a session the stream is resumable; without one, the
/// client going away cancels the request (`cancel`), since nothing could reach it.
#[allow(clippy::too_many_arguments)]
pub(super) fn stream(
    shared: &Arc<Shared>,
    http: Option<&Arc<HttpSession>>,
    session: &Arc<Session>,
    cancel: Option<RequestId>,
    before: Vec<Vec<u8>>,
    said: OutboundRx,
    done: oneshot::Receiver<Encoded>,
    log: &mut Log,
) -> HttpResponse {
    log.sse = true;
    let options = &shared.options;
    let (live, events) = sse::live_channel(options);
    let (sink, close_after) = match http {
        Some(http) => {
            let number = http.open_stream(live, options.sse_retry);
            if let Some(id) = &cancel {
                http.announce(number, id);
            }
            (
                Sink::Session {
                    http: Arc::clone(http),
                    stream: number,
                },
                options.sse_close_after,
            )
        }
        None => (
            Sink::Direct {
                live,
                cancel: cancel.map(|id| (Arc::clone(session), id)),
                core: Arc::clone(&shared.core),
            },
            None,
        ),
    };
    tokio::spawn(pump(sink, before, said, done));
    sse_response(SseBody::new(events, options.sse_keep_alive, close_after).counted(&shared.core))
}

/// Where a request's SSE stream goes.
pub(super) enum Sink {
    /// A session's resumable stream.
    Session { http: Arc<HttpSession>, stream: u64 },
    /// Straight to the connection (no session, no resumption).
    Direct {
        live: sse::Live,
        cancel: Option<(Arc<Session>, RequestId)>,
        core: Arc<crate::server::ServerCore>,
    },
}

impl Sink {
    /// Sends a message; `false` when it can never reach the client (a stream without a
    /// session whose client read too slowly: it cannot be resumed, so the request ends).
    fn send(&self, message: &[u8]) -> bool {
        if message.is_empty() {
            // `Context::close_sse_stream`: end the connection, keep the stream.
            if let Sink::Session { http, stream } = self {
                http.disconnect(*stream);
            }
            return true;
        }
        match self {
            Sink::Session { http, stream } => http.publish(*stream, message),
            Sink::Direct { live, core, .. } => {
                if sse::send(live, sse::event(None, message)) == sse::Sent::TooSlow {
                    sse::too_slow(core, None, 0);
                    return false;
                }
            }
        }
        true
    }

    /// Cancels the request of a stream nobody can receive any more.
    fn cancel(&self) {
        if let Sink::Direct {
            cancel: Some((session, id)),
            ..
        } = self
        {
            session.cancel(id);
        }
    }

    /// Completes when nobody can receive the stream any more.
    async fn abandoned(&self) {
        match self {
            // A session's stream can be resumed: the client going away is not the end.
            Sink::Session { .. } => std::future::pending().await,
            Sink::Direct { live, .. } => live.closed().await,
        }
    }
}

/// Moves what a request says, and then its result, onto its stream.
pub(super) async fn pump(
    sink: Sink,
    before: Vec<Vec<u8>>,
    mut said: OutboundRx,
    mut done: oneshot::Receiver<Encoded>,
) {
    for message in &before {
        if !sink.send(message) {
            return sink.cancel();
        }
    }
    let mut said_open = true;
    loop {
        tokio::select! {
            biased;
            m = said.recv(), if said_open => match m {
                Some(m) => if !sink.send(&m) {
                    return sink.cancel();
                },
                None => said_open = false,
            },
            result = &mut done => {
                for m in drain(&mut said) {
                    if !sink.send(&m) {
                        return;
                    }
                }
                if let Ok(encoded) = result {
                    sink.send(&encoded.bytes);
                }
                break;
            }
            () = sink.abandoned() => return sink.cancel(),
        }
    }
    if let Sink::Session { http, stream } = &sink {
        http.finish(*stream);
    }
}
