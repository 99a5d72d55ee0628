//! Dispatch of a per-request (2026-07-28) request: the checks, the methods of the revision,
//! and a session made for the one request.

use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;

use super::session::{Outbound, PendingReply, Reply, Session};
use crate::protocol::lazy::LazyObject;
use crate::protocol::per_request::{CACHEABLE, Envelope, HANDSHAKE_ONLY, RequestMeta};
use crate::protocol::stamp::Wire;
use crate::protocol::{Encoded, ErrorObject, JsonObject, RequestId, code};
use crate::server::per_request::discover;
use crate::server::per_request::listen::listen;
use crate::server::per_request::rounds::{InputRound, WaitForInput, Waited, detach, stuck};
use crate::server::per_request::seal::open;
use crate::server::per_request::tasks::{self, TaskSupport};
use crate::server::registration::ToolEntry;

/// What a per-request request runs with besides its session.
pub(crate) struct Retry {
    pub(crate) method: &'static str,
    pub(crate) target: String,
    /// The request's arguments and caller, which its `requestState` is bound to: digested
    /// only when a state is opened or sealed, which most requests do neither of.
    arguments: Option<Box<RawValue>>,
    caller: crate::Principal,
    digest: std::sync::OnceLock<Vec<u8>>,
}

impl Retry {
    /// The digest of the request's arguments and caller (computed once, when first needed).
    pub(crate) fn arguments(&self) -> &[u8] {
        self.digest.get_or_init(|| {
            crate::server::per_request::seal::arguments_digest(
                self.arguments.as_deref(),
                &self.caller,
            )
        })
    }
}

impl Session {
    /// Serves a request of the per-request revision, whose params' `envelope` was read once
    /// at the edge. `header_version` is HTTP's `MCP-Protocol-Version`, which must agree with
    /// `_meta`.
    pub(crate) fn handle_per_request(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        mut envelope: Envelope<'_>,
        out: &Outbound,
        header_version: Option<&str>,
    ) -> Reply {
        match envelope.check(header_version) {
            Ok(meta) => self.serve_checked_now(id, method, params, &envelope, meta, None, out),
            Err(e) => Reply::Now(Encoded::error(Some(&id), &e)),
        }
    }

    /// [`Session::handle_per_request`] for a request whose `_meta` has passed the checks:
    /// through the server's middleware and policies when it has some. `tool` is the tool a
    /// `tools/call` names when the transport has looked it up already (a middleware may
    /// change the params, so it is looked up again behind one).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn serve_checked(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        envelope: &Envelope<'_>,
        meta: RequestMeta,
        tool: Option<Arc<ToolEntry>>,
        out: &Outbound,
    ) -> Reply {
        if self.core.stack.is_idle() {
            return self.serve_checked_now(id, method, params, envelope, meta, tool, out);
        }
        self.observed(id, method, params, out, Some(meta))
    }

    /// [`Session::serve_checked`] past the middleware.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn serve_checked_now(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        envelope: &Envelope<'_>,
        meta: RequestMeta,
        tool: Option<Arc<ToolEntry>>,
        out: &Outbound,
    ) -> Reply {
        match self.serve_per_request(id.clone(), method, params, envelope, meta, tool, out) {
            Ok(reply) => reply,
            Err(e) => Reply::Now(Encoded::error(Some(&id), &e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn serve_per_request(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        envelope: &Envelope<'_>,
        meta: RequestMeta,
        tool: Option<Arc<ToolEntry>>,
        out: &Outbound,
    ) -> Result<Reply, ErrorObject> {
        if HANDSHAKE_ONLY.contains(&method) {
            return Err(ErrorObject::new(
                code::METHOD_NOT_FOUND,
                format!(
                    "Method not found: `{}` does not exist in revision 2026-07-28",
                    crate::escape::Escaped(method)
                ),
            ));
        }
        let core = &self.core;
        let stamped = |hints| Wire::stamped(Arc::clone(&core.server_info), hints);
        match method {
            "server/discover" => {
                let wire = stamped(Some(core.per_request.lists));
                return Ok(Reply::Now(wire.result(&id, &discover(core))));
            }
            "subscriptions/listen" => {
                return listen(
                    core,
                    id,
                    params,
                    out.clone(),
                    meta.capabilities.get(),
                    self.owner(),
                    self.caller().principal,
                );
            }
            "tasks/get" | "tasks/update" | "tasks/cancel" => {
                if !tasks::declared(meta.capabilities.get()) {
                    return Err(tasks::missing_extension(&format!("`{method}`")));
                }
                core.task_owners.check(params, &self.caller().principal)?;
                // Scale out: a task this replica does not hold may be another's.
                if core.tasks.remote.shared()
                    && let Some(remote) = remote_task(params)
                    && !core.tasks.holds(&remote.0)
                {
                    let (core, wire, caller) =
                        (Arc::clone(core), stamped(None), self.caller().principal);
                    let method = method.to_string();
                    return Ok(Reply::Later(
                        id.clone(),
                        Box::pin(async move {
                            let (task, responses) = remote;
                            let served = core
                                .tasks
                                .remote
                                .serve(&method, &task, responses, &caller)
                                .await
                                .unwrap_or_else(|| {
                                    Err(ErrorObject::invalid_params(format!(
                                        "Invalid params: no task `{task}`; it never existed or has expired"
                                    )))
                                });
                            match served {
                                Ok(result) => wire.result(&id, &result),
                                Err(e) => Encoded::error(Some(&id), &e),
                            }
                        }),
                    ));
                }
                let result = core.tasks.serve(method, params, self.owner())?;
                return Ok(Reply::Now(stamped(None).result(&id, &result)));
            }
            _ => {}
        }
        // What a request that may be retried with answers is bound to. It is owned (built)
        // only when a `requestState` is opened or the handler is still running when it
        // returns: most requests are answered at once and need neither.
        let retried: Option<&'static str> = match method {
            "tools/call" => Some("tools/call"),
            "prompts/get" => Some("prompts/get"),
            "resources/read" => Some("resources/read"),
            _ => None,
        };
        let target = retried.map(|m| envelope.target(m).unwrap_or_default());
        let retry_of = |method: &'static str, target: &str| Retry {
            method,
            target: target.to_string(),
            arguments: envelope.arguments.map(ToOwned::to_owned),
            caller: self.caller().principal,
            digest: std::sync::OnceLock::new(),
        };
        // A `tools/call`'s tool, looked up once for the task check and the call.
        let tool = match &target {
            Some(target) if method == "tools/call" => tool.or_else(|| core.tools.get(target)),
            _ => None,
        };
        let task_capable = match &target {
            Some(target) if method == "tools/call" => match tool.as_ref().map(|t| t.def.task) {
                Some(TaskSupport::Required) if !tasks::declared(meta.capabilities.get()) => {
                    return Err(tasks::missing_extension(&format!(
                        "tool `{target}` runs as a task only, so calling it"
                    )));
                }
                Some(TaskSupport::Optional | TaskSupport::Required) => {
                    tasks::declared(meta.capabilities.get())
                }
                _ => false,
            },
            _ => false,
        };
        let mut retry = match (retried, &target) {
            (Some(m), Some(t)) if envelope.request_state.is_some() => Some(retry_of(m, t)),
            _ => None,
        };
        let answers = match &target {
            Some(_) => self.answers(retry.as_ref(), envelope)?,
            None => JsonObject::new(),
        };
        let hints = match method {
            "resources/read" => target
                .as_deref()
                .and_then(|t| self.find_resource(t))
                .and_then(|(entry, _)| core.per_request.resources.get(entry.def.uri).copied())
                .unwrap_or(core.per_request.lists),
            _ => core.per_request.lists,
        };
        let hints = CACHEABLE.contains(&method).then_some(hints);
        let session = self.for_request(
            out,
            meta,
            InputRound::new(answers, task_capable),
            stamped(hints),
        );
        // A `tools/call` is read from its envelope: the params are not parsed again, and its
        // `_meta` (which `_meta`'s checks have read) is kept for the `Context` with them.
        let call = match (method, params) {
            ("tools/call", Some(raw)) if envelope.has_meta() => envelope.call(raw),
            _ => None,
        };
        let reply = match call {
            Some((name, arguments)) => session.call_parsed(
                id,
                &name,
                arguments,
                params.map(LazyObject::meta_of),
                tool,
                out,
            ),
            None => session.dispatch_request(id, method, params, out),
        };
        Ok(match reply {
            Reply::Later(id, mut fut) => {
                if retry.is_none()
                    && let (Some(m), Some(t)) = (retried, &target)
                {
                    retry = Some(retry_of(m, t));
                }
                Reply::Later(
                    id.clone(),
                    Box::pin(async move {
                        let waited = WaitForInput {
                            fut: &mut fut,
                            session: &session,
                        }
                        .await;
                        match waited {
                            Waited::Done(encoded) => encoded,
                            Waited::Stuck => stuck(&id, &session, retry.as_ref()),
                            Waited::Detach => detach(&id, &session, fut),
                        }
                    }) as PendingReply,
                )
            }
            reply => reply,
        })
    }

    /// The answers of earlier rounds (from `requestState`, opened with `retry`, which a
    /// request carrying one has) and of this one (`inputResponses`).
    fn answers(
        &self,
        retry: Option<&Retry>,
        envelope: &Envelope<'_>,
    ) -> Result<JsonObject, ErrorObject> {
        let invalid =
            |e: serde_json::Error| ErrorObject::invalid_params(format!("Invalid params: {e}"));
        let config = &self.core.per_request;
        let state: Option<String> = envelope
            .request_state
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
            .map_err(invalid)?;
        let mut answers = match (&state, retry) {
            (Some(state), Some(retry)) => open(
                self.core.state_key(),
                config.state_max_age,
                state,
                retry.method,
                &retry.target,
                retry.arguments(),
            )
            .map_err(ErrorObject::invalid_params)?,
            _ => JsonObject::new(),
        };
        let given: Option<Value> = envelope
            .input_responses
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
            .map_err(invalid)?;
        match given {
            None | Some(Value::Null) => {}
            // Keys the handler does not ask for are ignored; a malformed answer to one it asks
            // for fails the request then. What earlier rounds sealed stays as sealed.
            Some(Value::Object(given)) => {
                if let Some(key) = given.keys().find(|k| answers.contains_key(*k)) {
                    return Err(ErrorObject::invalid_params(format!(
                        "Invalid params: `inputResponses.{}` was answered in an earlier round, \
                         and that answer is sealed in `requestState`; answer only what the last \
                         round asked",
                        crate::escape::Escaped(key)
                    )));
                }
                answers.extend(given)
            }
            Some(other) => {
                return Err(ErrorObject::invalid_params(format!(
                    "Invalid params: `inputResponses` must be an object of results by key, not {other}"
                )));
            }
        }
        Ok(answers)
    }

    /// The session of one per-request request made on `self`, told who sends it.
    fn for_request(
        self: &Arc<Self>,
        out: &Outbound,
        meta: RequestMeta,
        round: InputRound,
        wire: Wire,
    ) -> Arc<Session> {
        let session = self.for_one_request(out, round, wire);
        session.set_peer(
            meta.version,
            meta.info.unwrap_or_default(),
            meta.capabilities,
        );
        match meta.log_level {
            Some(level) => session
                .log_level
                .store(level as u8, std::sync::atomic::Ordering::Relaxed),
            None => session.silence_logs(),
        }
        session
    }
}

/// The `taskId` and `inputResponses` of a task request (scale out, issue 19).
fn remote_task(params: Option<&RawValue>) -> Option<(String, Option<Value>)> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Params {
        task_id: String,
        #[serde(default)]
        input_responses: Option<Value>,
    }
    let p: Params = serde_json::from_str(params?.get()).ok()?;
    Some((p.task_id, p.input_responses))
}
