//! A request through the server's policies, observers and middleware: the rate limit, then
//! the request's span and metrics (`observe::watch`), then every
//! [`Middleware::on_request`](crate::Middleware::on_request), then dispatch.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use serde_json::value::RawValue;

use super::session::{Outbound, Reply, Session};
use crate::escape::Escaped;
use crate::middleware::{self, BoxFuture, Origin, Request, Response};
use crate::observe::watch::RequestWatch;
use crate::protocol::per_request::{Envelope, RequestMeta};
use crate::protocol::{Encoded, ErrorObject, RequestId};
use crate::server::HandlerFuture;

impl Session {
    /// Serves a request of a server with middleware, metrics, spans or a rate limit. `checked` is the
    /// `_meta` of a per-request (2026-07-28) request the transport has checked already.
    pub(crate) fn observed(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
        checked: Option<RequestMeta>,
    ) -> Reply {
        let stack = &self.core.stack;
        let origin = Origin::of(self, &id, Instant::now());
        if let Some(error) = stack.over_limit(&origin, method) {
            tracing::debug!(method = ?Escaped(method), "request refused by the rate limit");
            return Reply::Now(Encoded::error(Some(&id), &error));
        }
        let watch = stack
            .observes()
            .then(|| RequestWatch::start(stack, &origin, method, params));
        let reply = match &watch {
            Some(watch) => {
                watch.in_scope(|| self.through_chain(origin, id, method, params, out, checked))
            }
            None => self.through_chain(origin, id, method, params, out, checked),
        };
        match (watch, reply) {
            (None, reply) => reply,
            (Some(watch), Reply::Now(encoded)) => {
                watch.answered(encoded.error);
                Reply::Now(encoded)
            }
            (Some(watch), Reply::Later(id, fut)) => Reply::Later(id, watch.around(fut)),
            (Some(watch), Reply::None) => {
                watch.answered(None);
                Reply::None
            }
        }
    }

    /// Serves a request through the user's middleware, if there is any.
    fn through_chain(
        self: &Arc<Self>,
        origin: Origin,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
        checked: Option<RequestMeta>,
    ) -> Reply {
        let stack = &self.core.stack;
        let Some(chain) = stack.request_chain(method) else {
            return self.dispatch_checked(id, method, params, out, checked);
        };
        let request = Request {
            origin,
            method: method.into(),
            params: params.map(ToOwned::to_owned),
        };
        let session = Arc::clone(self);
        let sink = out.clone();
        let run = move |r: &mut Request| -> BoxFuture<'static, Response> {
            let reply = session.dispatch_checked(
                r.origin.id.clone(),
                &r.method,
                r.params.as_deref(),
                &sink,
                checked.clone(),
            );
            match reply {
                Reply::Now(encoded) => Box::pin(std::future::ready(Response { encoded })),
                Reply::Later(_, fut) => Box::pin(async move { Response { encoded: fut.await } }),
                Reply::None => Box::pin(std::future::ready(Response {
                    encoded: Encoded::error(
                        Some(&r.origin.id),
                        &ErrorObject::internal("the request was not answered"),
                    ),
                })),
            }
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| {
            middleware::run_chain(&chain, middleware::request_hook, request, run)
        })) {
            Ok(HandlerFuture::Ready(Some(response))) => Reply::Now(response.encoded),
            Ok(fut) => Reply::Later(id, Box::pin(async move { fut.await.encoded })),
            Err(panic) => {
                let message = super::session::panic_message(&panic);
                let show = self.core.show_panic_details;
                Reply::Now(Encoded::error(
                    Some(&id),
                    &ErrorObject::internal(super::session::panic_text(
                        "the middleware",
                        &message,
                        show,
                    )),
                ))
            }
        }
    }

    fn dispatch_checked(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
        checked: Option<RequestMeta>,
    ) -> Reply {
        match checked {
            None => self.dispatch_request(id, method, params, out),
            Some(meta) => {
                let envelope = Envelope::parse(params);
                self.serve_checked_now(id, method, params, &envelope, meta, None, out)
            }
        }
    }
}
